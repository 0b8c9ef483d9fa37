/*
 * Guest memory for the interp engine: guest-physical RAM slots, linear
 * addresses through emul's page-table walker and segment checks, and
 * MMIO, which turns an access into an exit to kmod and the monitor.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "interp.h"

#define PAGE_SIZE 4096ULL

static void
mark_dirty(struct interp_slot *s, uint64_t gpa, size_t len)
{
	uint64_t first = (gpa - s->gpa) / PAGE_SIZE;
	uint64_t last = (gpa + len - 1 - s->gpa) / PAGE_SIZE;

	for (uint64_t p = first; p <= last; p++)
		atomic_fetch_or_explicit(&s->dirty[p / 64], 1ULL << (p % 64),
					 memory_order_relaxed);
}

uint8_t *
interp_gpa_host(struct interp_vm *ivm, uint64_t gpa, size_t len, bool write)
{
	for (int i = 0; i < INTERP_MAX_SLOTS; i++) {
		struct interp_slot *s = &ivm->slots[i];

		if (!s->used || gpa < s->gpa || gpa - s->gpa >= s->len ||
		    len > s->len - (gpa - s->gpa))
			continue;
		if (write) {
			if (s->readonly)
				return NULL;
			if (s->dirty != NULL)
				mark_dirty(s, gpa, len);
		}
		return s->host + (gpa - s->gpa);
	}
	return NULL;
}

/*
 * The host address of the guest-physical page at 'gpa' when all of it is
 * in one RAM slot the engine may access directly ('write': writable and
 * not dirty-logged), else NULL.
 */
static uint8_t *
page_host(struct interp_vm *ivm, uint64_t gpa, bool write)
{
	for (int i = 0; i < INTERP_MAX_SLOTS; i++) {
		struct interp_slot *s = &ivm->slots[i];

		if (!s->used || gpa < s->gpa || gpa - s->gpa >= s->len ||
		    PAGE_SIZE > s->len - (gpa - s->gpa))
			continue;
		if (write && (s->readonly || s->dirty != NULL))
			return NULL;
		return s->host + (gpa - s->gpa);
	}
	return NULL;
}

/* The walker's view of guest memory: RAM only, no dirty marking (the
 * walk's own A/D writes are marked from its result, see interp_translate()). */
static void *
walk_map(void *arg, uint64_t gpa, size_t len)
{
	return interp_gpa_host(arg, gpa, len, false);
}

enum x86_seg_mode
interp_seg_mode(const struct interp_cpu *c)
{
	return x86_seg_mode_of(c->cr0, c->cr4, c->efer, c->rflags,
			       c->seg[X86_R_CS - X86_R_ES].desc.access);
}

void
interp_paging(const struct interp_cpu *c, struct x86_paging *pg)
{
	*pg = (struct x86_paging){
		.cr0 = c->cr0,
		.cr3 = c->cr3,
		.cr4 = c->cr4,
		.efer = c->efer,
		.cpl = interp_cpl(c),
		.rflags_ac = (c->rflags & PSL_AC) != 0,
		.maxphyaddr = c->maxphyaddr,
		.no_page1gb = c->no_page1gb,
	};
}

int
interp_raise(struct interp_cpu *c, unsigned int vector, bool has_ec,
	     uint32_t ec)
{
	c->exc = (struct interp_exc){ .vector = (uint8_t)vector,
				      .has_ec = has_ec,
				      .ec = ec };
	return INTERP_FAULT;
}

int
interp_raise_fault(struct interp_cpu *c, const struct x86_fault *f)
{
	interp_raise(c, f->vector, true, f->error_code);
	c->exc.cr2 = f->cr2;
	return INTERP_FAULT;
}

int
interp_error(struct interp_cpu *c, const char *fmt, ...)
{
	struct vm_exit *e = c->exit;
	va_list ap;

	e->exitcode = VM_EXITCODE_ENGINE_ERROR;
	e->u.error.reason = 0;
	e->u.error.suberror = 0;
	va_start(ap, fmt);
	vsnprintf(e->u.error.msg, sizeof(e->u.error.msg), fmt, ap);
	va_end(ap);
	return INTERP_ERROR;
}

/*
 * Linear -> physical for one access within a page.  The walker's own
 * accessed/dirty-bit writes go to guest memory behind the dirty log's
 * back, so the pages of entries it had to update are marked here.
 */
/*
 * The TLB: what a walk allowed, per kind of access (read, write, fetch)
 * and per privilege context (user access, RFLAGS.AC, implicit supervisor
 * access), so a hit gives the same answer the walk would have.  A write
 * entry is only made after a write walk, when the dirty bit is set.  The
 * guest keeps it coherent as on hardware: INVLPG, CR3 and the paging
 * control bits flush it (interp_tlb_flush()).  interp_tlb_tag() and the
 * fast path interp_tlb_host() are in interp.h.
 */
void
interp_tlb_flush(struct interp_cpu *c)
{
	memset(c->tlb, 0, sizeof(c->tlb));
}

void
interp_tlb_flush_page(struct interp_cpu *c, uint64_t gla)
{
	for (int t = 0; t < 3; t++) {
		struct interp_tlb_entry *e =
		    &c->tlb[t][(gla >> 12) % INTERP_TLB_SIZE];

		if ((e->tag >> 4) == (gla >> 12))
			e->tag = 0;
	}
}

int
interp_translate(struct interp_cpu *c, uint64_t gla, int access, uint64_t *gpa)
{
	struct x86_mem mem = { walk_map, c->ivm };
	int type = access & X86_MEM_TYPE;
	struct interp_tlb_entry *e = NULL;
	struct x86_paging pg;
	struct x86_walk w;
	uint64_t tag = 0;
	int rc;

	if (!(c->cr0 & CR0_PG)) {
		*gpa = gla & 0xffffffffULL;
		return INTERP_OK;
	}
	if (!(access & (X86_MEM_NOSIDE | X86_MEM_NOPERM)) && type < 3) {
		tag = interp_tlb_tag(c, gla, access);
		e = &c->tlb[type][(gla >> 12) % INTERP_TLB_SIZE];
		if (e->tag == tag) {
			*gpa = e->gpa | (gla & 0xfff);
			return INTERP_OK;
		}
	}
	interp_paging(c, &pg);
	rc = x86_walk(&pg, &mem, gla, access, &w);
	if (rc > 0)
		return interp_raise_fault(c, &w.fault);
	if (rc < 0) {
		char why[128];

		x86_fault_format(&w.fault, why, sizeof(why));
		return interp_error(c, "page walk of 0x%llx: %s",
				    (unsigned long long)gla, why);
	}
	for (unsigned int i = 0; i < w.nent && !(access & X86_MEM_NOSIDE);
	     i++) {
		bool leaf = i + 1 == w.nent;
		uint64_t pte = w.ent[i].pte;

		if (!(pte & PG_A) ||
		    (leaf && (access & X86_MEM_TYPE) == X86_MEM_WRITE &&
		     !(pte & PG_M)))
			interp_gpa_host(c->ivm, w.ent[i].gpa, 8, true);
	}
	*gpa = w.gpa;
	if (e != NULL) {
		/* The generation first: a slot change from now on voids it. */
		e->gen = atomic_load_explicit(&c->ivm->slots_gen,
					      memory_order_acquire);
		e->tag = tag;
		e->gpa = w.gpa & ~0xfffULL;
		e->host = page_host(c->ivm, e->gpa, type == X86_MEM_WRITE);
	}
	return INTERP_OK;
}

/* The pieces of an access: at most one page boundary per 4 KiB. */
#define MAX_PIECES 3

struct piece {
	uint64_t gpa;
	size_t off, len;
};

static int
translate_all(struct interp_cpu *c, uint64_t gla, size_t size, int access,
	      struct piece *pc, int *npc)
{
	bool wrap32 = !(c->efer & EFER_LMA);
	size_t done = 0;
	int n = 0, rc;

	while (done < size) {
		size_t len = PAGE_SIZE - (gla & (PAGE_SIZE - 1));

		if (len > size - done)
			len = size - done;
		if (n == MAX_PIECES)
			return interp_error(c, "%zu-byte access too large",
					    size);
		rc = interp_translate(c, gla, access, &pc[n].gpa);
		if (rc != INTERP_OK)
			return rc;
		pc[n].off = done;
		pc[n].len = len;
		n++;
		done += len;
		gla += len;
		if (wrap32)
			gla &= 0xffffffffULL;
	}
	*npc = n;
	return INTERP_OK;
}

/*
 * MMIO pieces: at most 8 bytes, aligned or not, as KVM's instruction
 * emulator splits an access (the page split is translate_all's), so
 * that the monitor sees the same accesses on either engine.
 */
static size_t
mmio_chunk(uint64_t gpa, size_t len)
{
	(void)gpa;
	return len < 8 ? len : 8;
}

static int
mmio_load(struct interp_cpu *c, uint64_t gpa, uint8_t *buf, size_t len)
{
	while (len > 0) {
		size_t n = mmio_chunk(gpa, len);
		struct interp_mmio_done *d;

		if (c->mmio_used < c->nmmio_done) {
			d = &c->mmio_done[c->mmio_used++];
			if (d->gpa != gpa || d->bytes != n)
				return interp_error(c,
						    "MMIO load at 0x%llx (%zu "
						    "bytes) re-executed "
						    "as 0x%llx (%u bytes)",
						    (unsigned long long)d->gpa,
						    n, (unsigned long long)gpa,
						    d->bytes);
			memcpy(buf, &d->value, n);
		} else {
			if (c->nmmio_done == INTERP_MMIO_DONE_MAX)
				return interp_error(c, "too many MMIO loads");
			c->exit->exitcode = VM_EXITCODE_MMIO;
			c->exit->u.mmio.gpa = gpa;
			c->exit->u.mmio.bytes = (uint8_t)n;
			c->exit->u.mmio.write = false;
			c->exit->u.mmio.data = 0;
			return INTERP_RESTART;
		}
		gpa += n;
		buf += n;
		len -= n;
	}
	return INTERP_OK;
}

static int
mmio_store(struct interp_cpu *c, uint64_t gpa, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		size_t n = mmio_chunk(gpa, len);
		struct interp_mmio_done *d;

		if (c->nmmio_stores == INTERP_MMIO_STORES_MAX)
			return interp_error(c, "too many MMIO stores");
		d = &c->mmio_stores[c->nmmio_stores++];
		d->gpa = gpa;
		d->bytes = (uint8_t)n;
		d->value = 0;
		memcpy(&d->value, buf, n);
		gpa += n;
		buf += n;
		len -= n;
	}
	return INTERP_OK;
}

int
interp_lin_read(struct interp_cpu *c, uint64_t gla, void *buf, size_t size,
		int access)
{
	struct piece pc[MAX_PIECES];
	int n, rc;

	rc = translate_all(c, gla, size, access, pc, &n);
	if (c->db_watch && rc == INTERP_OK &&
	    (access & X86_MEM_TYPE) != X86_MEM_EXEC &&
	    !(access & X86_MEM_IMPLICIT))
		interp_db_access(c, gla, size, false);
	for (int i = 0; i < n && rc == INTERP_OK; i++) {
		uint8_t *dst = (uint8_t *)buf + pc[i].off;
		uint8_t *h =
		    interp_gpa_host(c->ivm, pc[i].gpa, pc[i].len, false);

		if (h != NULL)
			memcpy(dst, h, pc[i].len);
		else if ((access & X86_MEM_TYPE) == X86_MEM_EXEC)
			rc = interp_error(c,
					  "instruction fetch from 0x%llx, "
					  "which is not RAM",
					  (unsigned long long)pc[i].gpa);
		else
			rc = mmio_load(c, pc[i].gpa, dst, pc[i].len);
	}
	return rc;
}

int
interp_lin_write(struct interp_cpu *c, uint64_t gla, const void *buf,
		 size_t size, int access)
{
	struct piece pc[MAX_PIECES];
	int n, rc;

	rc = translate_all(c, gla, size, access, pc, &n);
	if (c->db_watch && rc == INTERP_OK && !(access & X86_MEM_IMPLICIT))
		interp_db_access(c, gla, size, true);
	for (int i = 0; i < n && rc == INTERP_OK; i++) {
		const uint8_t *src = (const uint8_t *)buf + pc[i].off;
		uint8_t *h =
		    interp_gpa_host(c->ivm, pc[i].gpa, pc[i].len, true);

		if (h != NULL)
			memcpy(h, src, pc[i].len);
		else
			rc = mmio_store(c, pc[i].gpa, src, pc[i].len);
	}
	return rc;
}

static int
seg_linear(struct interp_cpu *c, unsigned int seg, uint64_t off,
	   unsigned int asz, size_t size, int access, uint64_t *gla)
{
	struct x86_fault f;

	if (x86_seg_linear(&c->seg[seg - X86_R_ES].desc, seg,
			   interp_seg_mode(c), asz, off, size, access, gla,
			   &f) != 0)
		return interp_raise_fault(c, &f);
	return INTERP_OK;
}

/*
 * The fast path's segmentation: in 64-bit mode (4-level paging), the
 * linear address x86_seg_linear() gives when it gives one (canonical
 * first and last byte); false for everything else, which the slow path
 * handles (faults included).
 */
static inline bool
lin64(const struct interp_cpu *c, unsigned int seg, uint64_t off,
      unsigned int asz, size_t size, uint64_t *gla)
{
	uint64_t a, last;

	if (!(c->efer & EFER_LMA) ||
	    !(c->seg[X86_R_CS - X86_R_ES].desc.access & X86_SEG_L) ||
	    !(c->cr0 & CR0_PE) || (c->rflags & PSL_VM) || (c->cr4 & CR4_LA57))
		return false;
	if (asz == 4)
		off &= 0xffffffffULL;
	else if (asz == 2)
		off &= 0xffffULL;
	a = off;
	if (seg == X86_R_FS || seg == X86_R_GS)
		a += c->seg[seg - X86_R_ES].desc.base;
	last = a + (size > 0 ? size - 1 : 0);
	if ((uint64_t)((int64_t)(a << 16) >> 16) != a ||
	    (uint64_t)((int64_t)(last << 16) >> 16) != last)
		return false;
	*gla = a;
	return true;
}

int
interp_mem_read(struct interp_cpu *c, unsigned int seg, uint64_t off,
		unsigned int asz, void *buf, size_t size, int access)
{
	uint64_t gla, gpa;
	const uint8_t *h;
	int rc;

	/* (Data breakpoints armed: the slow path, which checks them.) */
	if (!c->db_watch && lin64(c, seg, off, asz, size, &gla) &&
	    (h = interp_tlb_host(c, gla, size, access, &gpa)) != NULL) {
		switch (size) {
		case 1:
			*(uint8_t *)buf = *h;
			break;
		case 8:
			memcpy(buf, h, 8);
			break;
		case 4:
			memcpy(buf, h, 4);
			break;
		case 2:
			memcpy(buf, h, 2);
			break;
		default:
			memcpy(buf, h, size);
		}
		return INTERP_OK;
	}
	rc = seg_linear(c, seg, off, asz, size, access, &gla);
	return rc != INTERP_OK ? rc
			       : interp_lin_read(c, gla, buf, size, access);
}

int
interp_mem_write(struct interp_cpu *c, unsigned int seg, uint64_t off,
		 unsigned int asz, const void *buf, size_t size, int access)
{
	uint64_t gla, gpa;
	uint8_t *h;
	int rc;

	/* (Data breakpoints armed: the slow path, which checks them.) */
	if (!c->db_watch && lin64(c, seg, off, asz, size, &gla) &&
	    (h = interp_tlb_host(c, gla, size, access, &gpa)) != NULL) {
		switch (size) {
		case 1:
			*h = *(const uint8_t *)buf;
			break;
		case 8:
			memcpy(h, buf, 8);
			break;
		case 4:
			memcpy(h, buf, 4);
			break;
		case 2:
			memcpy(h, buf, 2);
			break;
		default:
			memcpy(h, buf, size);
		}
		return INTERP_OK;
	}
	rc = seg_linear(c, seg, off, asz, size, access, &gla);
	return rc != INTERP_OK ? rc
			       : interp_lin_write(c, gla, buf, size, access);
}

int
interp_mem_probe(struct interp_cpu *c, unsigned int seg, uint64_t off,
		 unsigned int asz, size_t size, int access)
{
	struct piece pc[MAX_PIECES];
	uint64_t gla;
	int n, rc = seg_linear(c, seg, off, asz, size, access, &gla);

	if (rc != INTERP_OK)
		return rc;
	return translate_all(c, gla, size, access | X86_MEM_NOSIDE, pc, &n);
}

int
interp_mem_host(struct interp_cpu *c, unsigned int seg, uint64_t off,
		unsigned int asz, size_t size, int access, void **hp)
{
	uint64_t gla, gpa;
	int rc;

	*hp = NULL;
	rc = seg_linear(c, seg, off, asz, size, access, &gla);
	if (rc != INTERP_OK)
		return rc;
	if (c->db_watch)
		interp_db_access(c, gla, size, true);
	/* Naturally aligned: within a page, and no host split lock. */
	if ((gla & (size - 1)) != 0)
		return INTERP_OK;
	rc = interp_translate(c, gla, access, &gpa);
	if (rc != INTERP_OK)
		return rc;
	*hp = interp_gpa_host(c->ivm, gpa, size, true);
	if (((uintptr_t)*hp & (size - 1)) != 0)
		*hp = NULL;
	return INTERP_OK;
}
