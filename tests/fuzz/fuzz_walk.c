/*
 * Fuzz target for emul's page-table walker and segmentation checks.
 *
 * Input: an 80-byte header (control registers, linear address, PKRU, CPL,
 * flags, MAXPHYADDR, the RAM size, PAE PDPTE registers), then up to 64 KiB
 * of guest memory.  The image is mirrored through guest-physical space up
 * to the RAM size, so fuzzed entries mostly point back into it; above the
 * RAM size map() fails (the walker's host error).
 *
 * Each input is walked in every paging mode, for reads, writes and fetches,
 * explicit and implicit, and checked:
 *  - against a reference model written separately from the SDM (per mode,
 *    with the access-rights rules as a table): result, gpa, vector, error
 *    code -- without side effects;
 *  - gpa inside the physical address space, page offset kept;
 *  - fault fields consistent (CR2, error-code bits, #GP/#SS only for
 *    non-canonical addresses);
 *  - X86_MEM_NOSIDE never writes; a walk with side effects gives the same
 *    answer, writes only A/D bits (0 -> 1) of the entries it walked, and
 *    nothing when it faults; afterwards every entry walked has A, the leaf
 *    D on a write;
 *  - X86_MEM_NOPERM succeeds exactly where only a protection check failed.
 * Then x86_seg_linear() on a descriptor taken from the same bytes, against
 * its own small model.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x86.h"

#define HDR     80
#define IMG     0x10000ULL /* 64 KiB of memory image */
#define IMGMASK (IMG - 1)

static uint8_t *img;  /* the image walked (aligned) */
static uint8_t *orig; /* the input's image */
static uint64_t ram_limit;

static void
check(bool ok, const char *what, uint64_t a, uint64_t b)
{
	if (!ok) {
		fprintf(stderr, "fuzz_walk: %s (%#llx, %#llx)\n", what,
			(unsigned long long)a, (unsigned long long)b);
		abort();
	}
}

static void *
fz_map(void *arg, uint64_t gpa, size_t len)
{
	check(len == 4 || len == 8, "map length", len, gpa);
	check((gpa & (len - 1)) == 0, "entry misaligned", gpa, len);
	if (gpa >= ram_limit)
		return NULL;
	return img + (gpa & IMGMASK);
}

static const struct x86_mem fz_mem = { fz_map, NULL };

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---- the reference model ---------------------------------------------------
 */

struct ref {
	int ret;      /* 0, 1, -1 */
	uint64_t gpa; /* ret 0 */
	unsigned int vector;
	uint32_t ec;
};

/* Read an entry; false if outside RAM. */
static bool
ref_read(uint64_t gpa, unsigned int size, uint64_t *v)
{
	if (gpa >= ram_limit)
		return false;
	if (size == 4) {
		uint32_t w;

		memcpy(&w, img + (gpa & IMGMASK), 4);
		*v = w;
	} else {
		memcpy(v, img + (gpa & IMGMASK), 8);
	}
	return true;
}

struct rights {
	bool user, rw, nx, pk_leaf;
	unsigned int key;
};

/*
 * SDM 4.6.1 as a table: may this access go to a page with these rights?
 * *pk is set when the protection-key condition of the PK error bit holds.
 */
static bool
ref_allowed(const struct x86_paging *pg, bool keys, const struct rights *r,
	    int acc, bool *pk)
{
	int t = acc & X86_MEM_TYPE;
	bool implicit = (acc & X86_MEM_IMPLICIT) != 0;
	bool sup = pg->cpl < 3 || implicit;
	bool wp = pg->cr0 & CR0_WP, smap = pg->cr4 & CR4_SMAP,
	     smep = pg->cr4 & CR4_SMEP;
	bool ad = false, wd = false;

	*pk = false;
	if (keys && r->user && t != X86_MEM_EXEC) {
		ad = (pg->pkru >> (r->key * 2)) & 1;
		wd = (pg->pkru >> (r->key * 2 + 1)) & 1;
		*pk = ad || (wd && t == X86_MEM_WRITE && (!sup || wp));
	}
	if (!sup) {
		switch (t) {
		case X86_MEM_READ:
			return r->user && !ad;
		case X86_MEM_WRITE:
			return r->user && r->rw && !ad && !wd;
		default:
			return r->user && !r->nx;
		}
	}
	switch (t) {
	case X86_MEM_READ:
		if (!r->user)
			return true;
		return (!smap || (!implicit && pg->rflags_ac)) && !ad;
	case X86_MEM_WRITE:
		if (!r->user)
			return !wp || r->rw;
		return (!smap || (!implicit && pg->rflags_ac)) &&
		       (!wp || r->rw) && !ad && !(wd && wp);
	default:
		if (!r->user)
			return !r->nx;
		return !smep && !r->nx;
	}
}

static void
ref_pf(struct ref *o, uint32_t ec)
{
	o->ret = 1;
	o->vector = X86_VEC_PF;
	o->ec = ec;
}

static void
ref_walk(const struct x86_paging *pg, int mode, uint64_t gla, int acc,
	 struct ref *o)
{
	unsigned int m = pg->maxphyaddr ? pg->maxphyaddr : 52;
	int t = acc & X86_MEM_TYPE;
	bool nxe = pg->efer & EFER_NXE;
	uint32_t base;
	struct rights r = { true, true, false, false, 0 };
	uint64_t e, pa = 0;
	bool pk;

	memset(o, 0, sizeof(*o));
	m = m < 32 ? 32 : m > 52 ? 52 : m;
	if (mode == X86_PAGING_NONE) {
		o->gpa = (uint32_t)gla;
		return;
	}
	base = (t == X86_MEM_WRITE ? 2 : 0) |
	       (pg->cpl == 3 && !(acc & X86_MEM_IMPLICIT) ? 4 : 0) |
	       (t == X86_MEM_EXEC &&
			(pg->cr4 & CR4_SMEP || (mode != X86_PAGING_32 && nxe))
		    ? 0x10
		    : 0);

	if (mode == X86_PAGING_32) {
		unsigned int m32 = m > 40 ? 40 : m;
		uint32_t la = (uint32_t)gla;

		if (!ref_read((pg->cr3 & 0xfffff000) | ((la >> 22) << 2), 4,
			      &e)) {
			o->ret = -1;
			return;
		}
		if (!(e & 1))
			return ref_pf(o, base);
		r.user = e & 4;
		r.rw = e & 2;
		if ((e & 0x80) && (pg->cr4 & CR4_PSE)) {
			uint64_t hi = (e >> 13) & 0xff;

			if ((e & (1u << 21)) || (hi >> (m32 - 32)))
				return ref_pf(o, base | 9);
			pa = (e & 0xffc00000) | (hi << 32) | (la & 0x3fffff);
		} else {
			if (!ref_read((e & 0xfffff000) |
					  (((la >> 12) & 0x3ff) << 2),
				      4, &e)) {
				o->ret = -1;
				return;
			}
			if (!(e & 1))
				return ref_pf(o, base);
			r.user = r.user && (e & 4);
			r.rw = r.rw && (e & 2);
			pa = (e & 0xfffff000) | (la & 0xfff);
		}
	} else if (mode == X86_PAGING_PAE) {
		uint32_t la = (uint32_t)gla;
		uint64_t amask = ((1ULL << m) - 1) & ~0xfffULL;
		/* PAE entries: bits 62:M reserved, 63 unless NXE */
		uint64_t hr = (~0ULL << m) & ~(nxe ? 1ULL << 63 : 0);
		int lvl;

		if (pg->pdpte_valid) {
			e = pg->pdpte[la >> 30];
		} else if (!ref_read((pg->cr3 & 0xffffffe0) + (la >> 30) * 8, 8,
				     &e)) {
			o->ret = -1;
			return;
		}
		if (!(e & 1))
			return ref_pf(o, base);
		if ((e >> m) || (e & 0x1e6))
			return ref_pf(o, base | 9);
		for (lvl = 2; lvl >= 1; lvl--) {
			unsigned int sh = lvl == 2 ? 21 : 12;

			if (!ref_read((e & amask) + ((la >> sh) & 511) * 8, 8,
				      &e)) {
				o->ret = -1;
				return;
			}
			if (!(e & 1))
				return ref_pf(o, base);
			if (e & hr)
				return ref_pf(o, base | 9);
			r.user = r.user && (e & 4);
			r.rw = r.rw && (e & 2);
			r.nx = r.nx || (nxe && (e >> 63));
			if (lvl == 2 && (e & 0x80)) {
				if (e & 0x1fe000)
					return ref_pf(o, base | 9);
				pa = (e & amask & ~0x1fffffULL) |
				     (la & 0x1fffff);
				break;
			}
			pa = (e & amask) | (la & 0xfff);
		}
	} else {
		int top = mode == X86_PAGING_5LVL ? 5 : 4;
		int va = top == 5 ? 57 : 48;
		uint64_t amask = ((1ULL << m) - 1) & ~0xfffULL;
		uint64_t hr = (((1ULL << 52) - 1) & ~((1ULL << m) - 1)) |
			      (nxe ? 0 : 1ULL << 63);
		uint64_t table = pg->cr3 & amask;
		int64_t sx = (int64_t)(gla << (64 - va)) >> (64 - va);

		if ((uint64_t)sx != gla) {
			o->ret = 1;
			o->vector =
			    (acc & X86_MEM_STACK) ? X86_VEC_SS : X86_VEC_GP;
			return;
		}
		for (int lvl = top; lvl >= 1; lvl--) {
			unsigned int sh = 12 + 9 * (lvl - 1);

			if (!ref_read(table + ((gla >> sh) & 511) * 8, 8, &e)) {
				o->ret = -1;
				return;
			}
			if (!(e & 1))
				return ref_pf(o, base);
			if (e & hr)
				return ref_pf(o, base | 9);
			if (lvl >= 4 && (e & 0x80))
				return ref_pf(o, base | 9);
			r.user = r.user && (e & 4);
			r.rw = r.rw && (e & 2);
			r.nx = r.nx || (nxe && (e >> 63));
			if (lvl == 1 || (lvl <= 3 && (e & 0x80))) {
				uint64_t psz = 1ULL << sh;

				if (lvl == 3 && pg->no_page1gb)
					return ref_pf(o, base | 9);
				/* bits sh-1:13 of a large page */
				if (lvl > 1 && (e & (psz - 1) & ~0x1fffULL))
					return ref_pf(o, base | 9);
				pa = (e & amask & ~(psz - 1)) |
				     (gla & (psz - 1));
				r.key = (e >> 59) & 15;
				break;
			}
			table = e & amask;
		}
	}
	if (!(acc & X86_MEM_NOPERM) &&
	    !ref_allowed(pg,
			 (pg->cr4 & CR4_PKE) && (mode == X86_PAGING_4LVL ||
						 mode == X86_PAGING_5LVL),
			 &r, acc, &pk))
		return ref_pf(o, base | 1 | (pk ? 0x20 : 0));
	o->gpa = pa;
}

/* ---- the checks ------------------------------------------------------------
 */

static uint64_t
phys_limit(const struct x86_paging *pg, int mode)
{
	unsigned int m = pg->maxphyaddr ? pg->maxphyaddr : 52;

	m = m < 32 ? 32 : m > 52 ? 52 : m;
	if (mode == X86_PAGING_NONE)
		return 1ULL << 32;
	if (mode == X86_PAGING_32)
		return 1ULL << (m > 40 ? 40 : m);
	return 1ULL << m;
}

static void
check_walk(const struct x86_paging *pg, int mode, uint64_t gla, int acc)
{
	struct x86_walk w, w2;
	struct ref ref;
	int r, t = acc & X86_MEM_TYPE;
	uint64_t la = mode <= X86_PAGING_PAE ? (uint32_t)gla : gla;
	bool pae_alias = mode == X86_PAGING_PAE && !pg->pdpte_valid;
	char buf[160];

	/* no side effects, against the model */
	r = x86_walk(pg, &fz_mem, gla, acc | X86_MEM_NOSIDE, &w);
	check(memcmp(img, orig, IMG) == 0, "NOSIDE walk wrote memory", gla,
	      acc);
	ref_walk(pg, mode, gla, acc, &ref);
	check(r == ref.ret, "result differs from the model", r, ref.ret);
	x86_fault_format(&w.fault, buf, sizeof(buf));
	if (r == 0) {
		check(w.gpa == ref.gpa, "gpa differs from the model", w.gpa,
		      ref.gpa);
		check(w.gpa < phys_limit(pg, mode), "gpa beyond MAXPHYADDR",
		      w.gpa, mode);
		check((w.gpa & 0xfff) == (la & 0xfff), "page offset lost",
		      w.gpa, la);
		check(w.gla == la, "gla", w.gla, la);
		check(mode == X86_PAGING_NONE ? w.page_size == 0
					      : w.page_size >= 4096,
		      "page size", w.page_size, mode);
	} else if (r == 1) {
		uint32_t ec = w.fault.error_code;

		check(w.fault.vector == ref.vector, "vector differs", r,
		      w.fault.vector);
		check(ec == ref.ec, "error code differs from the model", ec,
		      ref.ec);
		if (w.fault.vector == X86_VEC_PF) {
			check(w.fault.cr2 == la, "cr2", w.fault.cr2, la);
			check((ec & ~0x3fu) == 0, "error code bits", ec, 0);
			check(!!(ec & X86_PF_W) == (t == X86_MEM_WRITE), "W",
			      ec, acc);
			check(!!(ec & X86_PF_U) ==
				  (pg->cpl == 3 && !(acc & X86_MEM_IMPLICIT)),
			      "U", ec, acc);
			check(!(ec & X86_PF_I) || t == X86_MEM_EXEC, "I", ec,
			      acc);
			check(!(ec & X86_PF_RSVD) || (ec & X86_PF_P),
			      "RSVD without P", ec, 0);
			check(!(ec & X86_PF_PK) ||
				  ((ec & X86_PF_P) && !(ec & X86_PF_RSVD) &&
				   t != X86_MEM_EXEC &&
				   mode >= X86_PAGING_4LVL),
			      "PK", ec, mode);
			check(mode != X86_PAGING_NONE, "#PF without paging", ec,
			      0);
		} else {
			check(w.fault.vector == X86_VEC_GP ||
				  w.fault.vector == X86_VEC_SS,
			      "vector", w.fault.vector, 0);
			check(ec == 0 && mode >= X86_PAGING_4LVL &&
				  !x86_canonical(gla, mode == X86_PAGING_5LVL),
			      "#GP/#SS for a canonical address", gla, mode);
			check((w.fault.vector == X86_VEC_SS) ==
				  !!(acc & X86_MEM_STACK),
			      "#SS iff stack", w.fault.vector, acc);
		}
	} else {
		check(r == -1 && w.fault.host == X86_HOST_NOT_RAM, "host error",
		      r, w.fault.host);
		check(w.fault.host_gpa >= ram_limit, "NOT_RAM inside RAM",
		      w.fault.host_gpa, ram_limit);
	}

	/* NOPERM: only protection faults go away */
	{
		int r2 = x86_walk(pg, &fz_mem, gla,
				  acc | X86_MEM_NOSIDE | X86_MEM_NOPERM, &w2);
		bool prot = r == 1 && w.fault.vector == X86_VEC_PF &&
			    (w.fault.error_code & X86_PF_P) &&
			    !(w.fault.error_code & X86_PF_RSVD);

		if (r == 0 || prot) {
			check(r2 == 0, "NOPERM failed", r2, r);
			check(r == 0 ? w2.gpa == w.gpa : 1, "NOPERM gpa",
			      w2.gpa, w.gpa);
		} else {
			check(r2 == r, "NOPERM result", r2, r);
			check(w2.fault.error_code == w.fault.error_code,
			      "NOPERM error code", w2.fault.error_code,
			      w.fault.error_code);
		}
	}

	/* with side effects */
	{
		int r3 = x86_walk(pg, &fz_mem, gla, acc, &w2);
		bool changed = memcmp(img, orig, IMG) != 0;

		/* tables that alias each other only make progress (bits
		 * get set): never contended without a second vCPU */
		check(r3 != -1 || w2.fault.host != X86_HOST_CONTENDED,
		      "contended without a second vCPU", gla, acc);
		/*
		 * A PAE PDPT read from memory may alias a PD or PT whose A/D
		 * bits the walk sets; those are reserved in a PDPTE, so the
		 * redone walk may fault after a first pass set A bits.  A
		 * CPU reads PDPTEs at CR3 load and cannot see this.
		 */
		if (!pae_alias) {
			check(r3 == r, "side effects changed the result", r3,
			      r);
			if (r == 0)
				check(w2.gpa == w.gpa, "side effects gpa",
				      w2.gpa, w.gpa);
			if (r3 != 0)
				check(!changed, "a faulting walk wrote memory",
				      gla, acc);
		}
		/* only A/D bits, only set, and (success) of walked entries */
		for (uint64_t i = 0; changed && i < IMG; i++) {
			uint8_t d = img[i] ^ orig[i];
			bool ours = r3 != 0;

			if (!d)
				continue;
			check((img[i] & d) == d, "a bit was cleared", i, d);
			for (unsigned int k = 0; k < w2.nent; k++)
				if ((w2.ent[k].gpa & IMGMASK) == i)
					ours = true;
			check(ours && (d & ~0x60) == 0,
			      "write outside the A/D bits of an entry", i, d);
		}
		/* afterwards: A on all entries walked, D on a written leaf */
		if (r3 == 0 && !pae_alias && mode != X86_PAGING_NONE) {
			struct x86_walk w3;

			check(x86_walk(pg, &fz_mem, gla, acc | X86_MEM_NOSIDE,
				       &w3) == 0,
			      "re-walk", gla, acc);
			for (unsigned int k = 0; k < w3.nent; k++) {
				uint64_t v = w3.ent[k].pte;

				if (mode == X86_PAGING_PAE &&
				    w3.ent[k].level == 3)
					continue;
				check(v & PG_A, "A not set", w3.ent[k].gpa, v);
				if (k == w3.nent - 1 && t == X86_MEM_WRITE)
					check(v & PG_M, "D not set",
					      w3.ent[k].gpa, v);
			}
		}
		if (changed)
			memcpy(img, orig, IMG);
	}
}

/* x86_seg_linear against a small model. */
static void
check_seg(const uint8_t *h, size_t n)
{
	struct x86_segdesc d;
	struct x86_fault f;
	uint64_t gla, off;
	unsigned int seg, asz, mode, size;
	int acc, r;

	if (n < 40)
		return;
	d.base = get64(h + 0);
	memcpy(&d.limit, h + 8, 4);
	memcpy(&d.access, h + 12, 4);
	off = get64(h + 16);
	seg = X86_R_ES + h[24] % 6;
	asz = 2u << (h[25] % 3);
	mode = h[26] % 4;
	size = h[27] % 64;
	acc = h[28] & (X86_MEM_TYPE | X86_MEM_STACK);
	r = x86_seg_linear(&d, seg, (enum x86_seg_mode)mode, asz, off, size,
			   acc, &gla, &f);
	check(r == 0 || r == 1, "seg result", r, 0);
	if (asz < 8)
		off &= (1ULL << (asz * 8)) - 1;
	if (size == 0)
		size = 1;
	if (r == 1) {
		check(f.error_code == 0, "seg error code", f.error_code, 0);
		check(f.vector == X86_VEC_GP || f.vector == X86_VEC_SS,
		      "seg vector", f.vector, 0);
		if (f.vector == X86_VEC_SS)
			check(seg == X86_R_SS || (acc & X86_MEM_STACK),
			      "#SS not for SS", seg, acc);
		return;
	}
	if (mode >= X86_SEGM_64) {
		uint64_t a =
		    off + ((seg == X86_R_FS || seg == X86_R_GS) ? d.base : 0);

		check(gla == a, "64-bit gla", gla, a);
		check(x86_canonical(a, mode == X86_SEGM_64_LA57) &&
			  x86_canonical(a + size - 1, mode == X86_SEGM_64_LA57),
		      "non-canonical accepted", a, size);
		return;
	}
	check(gla == ((d.base + off) & 0xffffffffULL), "gla", gla, off);
	check((acc & X86_MEM_TYPE) != X86_MEM_TYPE, "bad access accepted", acc,
	      0);
	{
		unsigned int t = d.access & 0xf;
		bool code = t & 8, expdn = !code && (t & 4);
		uint64_t last = off + size - 1;

		if (expdn) {
			uint64_t hi =
			    (d.access & X86_SEG_DB) ? 0xffffffffULL : 0xffff;
			check(off > d.limit && last <= hi, "expand-down limit",
			      off, d.limit);
		} else {
			check(last <= d.limit, "limit", last, d.limit);
		}
		if ((acc & X86_MEM_TYPE) == X86_MEM_WRITE)
			check(code ? mode == X86_SEGM_REAL : (t & 2) != 0,
			      "write to read-only", t, mode);
		if ((acc & X86_MEM_TYPE) == X86_MEM_READ)
			check(!code || (t & 2), "read of execute-only", t, 0);
		if (mode == X86_SEGM_PROT)
			check((d.access &
			       (X86_SEG_P | X86_SEG_S | X86_SEG_UNUSABLE)) ==
				  (X86_SEG_P | X86_SEG_S),
			      "unusable accepted", d.access, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int accs[] = {
		X86_MEM_READ,
		X86_MEM_WRITE,
		X86_MEM_EXEC,
		X86_MEM_READ | X86_MEM_IMPLICIT,
		X86_MEM_WRITE | X86_MEM_IMPLICIT,
		X86_MEM_WRITE | X86_MEM_STACK,
	};
	struct x86_paging base = { 0 };
	uint8_t h[HDR] = { 0 };
	uint64_t gla;

	if (img == NULL) {
		img = aligned_alloc(4096, IMG);
		orig = aligned_alloc(4096, IMG);
		if (img == NULL || orig == NULL)
			abort();
	}
	memcpy(h, data, size < HDR ? size : HDR);
	memset(orig, 0, IMG);
	if (size > HDR)
		memcpy(orig, data + HDR, size - HDR < IMG ? size - HDR : IMG);
	memcpy(img, orig, IMG);

	base.cr0 = get64(h + 0);
	base.cr3 = get64(h + 8);
	base.cr4 = get64(h + 16);
	base.efer = get64(h + 24);
	gla = get64(h + 32);
	memcpy(&base.pkru, h + 40, 4);
	base.cpl = h[44] & 3;
	base.rflags_ac = h[45] & 1;
	base.no_page1gb = h[45] & 2;
	base.pdpte_valid = h[45] & 4;
	base.maxphyaddr = h[46] % 64; /* out of range values clamp */
	ram_limit = 1ULL << (12 + h[47] % 41);
	for (int i = 0; i < 4; i++)
		base.pdpte[i] = get64(h + 48 + 8 * i);

	for (int mode = X86_PAGING_NONE; mode <= X86_PAGING_5LVL; mode++) {
		struct x86_paging pg = base;

		pg.cr0 &= ~CR0_PG;
		pg.cr4 &= ~(CR4_PAE | CR4_LA57);
		pg.efer &= ~EFER_LMA;
		if (mode != X86_PAGING_NONE)
			pg.cr0 |= CR0_PG;
		if (mode >= X86_PAGING_PAE)
			pg.cr4 |= CR4_PAE;
		if (mode >= X86_PAGING_4LVL)
			pg.efer |= EFER_LMA;
		if (mode == X86_PAGING_5LVL)
			pg.cr4 |= CR4_LA57;
		check(x86_paging_mode(&pg) == (enum x86_paging_mode)mode,
		      "mode", mode, 0);
		for (size_t i = 0; i < sizeof(accs) / sizeof(accs[0]); i++)
			check_walk(&pg, mode, gla, accs[i]);
		/* the same address in the other half, for the 64-bit modes */
		if (mode >= X86_PAGING_4LVL)
			check_walk(&pg, mode, gla ^ (1ULL << 63), X86_MEM_READ);
	}
	check_seg(h, HDR);
	return 0;
}
