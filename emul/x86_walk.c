/*
 * The guest page-table walker: linear -> guest-physical, as the CPU
 * translates (Intel SDM vol. 3A ch. 4; AMD APM vol. 2 ch. 5), with the
 * exception the CPU would raise when it does not.  See emul/x86.h.
 *
 * One loop serves all four paging modes; what differs per mode is the
 * entry size, the index width per level, where the address bits are and
 * which bits are reserved (mode_setup() and rsvd_mask()).
 */
#include <stdio.h>
#include <string.h>

#include "x86.h"

#define PAGE_4K 0x1000ULL
#define PAGE_2M 0x200000ULL
#define PAGE_4M 0x400000ULL
#define PAGE_1G 0x40000000ULL

/* A/D compare-and-swap attempts before giving up (X86_HOST_CONTENDED). */
#define WALK_MAX_RETRIES 64

/* Bits lo..hi (inclusive) set; none if lo > hi. */
static inline uint64_t
bits(unsigned int lo, unsigned int hi)
{
	if (lo > hi || lo > 63)
		return 0;
	if (hi > 63)
		hi = 63;
	return (~0ULL >> (63 - hi)) & (~0ULL << lo);
}

enum x86_paging_mode
x86_paging_mode(const struct x86_paging *pg)
{
	if (!(pg->cr0 & CR0_PG))
		return X86_PAGING_NONE;
	if (!(pg->cr4 & CR4_PAE))
		return X86_PAGING_32;
	if (!(pg->efer & EFER_LMA))
		return X86_PAGING_PAE;
	return (pg->cr4 & CR4_LA57) ? X86_PAGING_5LVL : X86_PAGING_4LVL;
}

const char *
x86_paging_mode_name(enum x86_paging_mode mode)
{
	switch (mode) {
	case X86_PAGING_NONE:
		return "none";
	case X86_PAGING_32:
		return "32-bit";
	case X86_PAGING_PAE:
		return "PAE";
	case X86_PAGING_4LVL:
		return "4-level";
	case X86_PAGING_5LVL:
		return "5-level";
	}
	return "?";
}

bool
x86_canonical(uint64_t gla, bool la57)
{
	unsigned int shift = la57 ? 7 : 16; /* 64 - 57, 64 - 48 */

	return (uint64_t)((int64_t)(gla << shift) >> shift) == gla;
}

/* The mode's shape. */
struct walk_mode {
	enum x86_paging_mode mode;
	unsigned int levels; /* top level number */
	unsigned int esize;  /* entry bytes: 4 or 8 */
	unsigned int m;      /* MAXPHYADDR as the mode sees it */
	uint64_t addr_mask;  /* bits (M-1):12 of an entry or CR3 */
	uint64_t high_rsvd;  /* reserved high bits of every 8-byte entry */
	bool nxe;            /* XD bits in use (8-byte entries, NXE) */
	bool pke;            /* protection keys on user pages */
	bool fetch_i;        /* the error code reports fetches (I bit) */
};

static void
mode_setup(const struct x86_paging *pg, enum x86_paging_mode mode,
	   struct walk_mode *wm)
{
	unsigned int m = pg->maxphyaddr ? pg->maxphyaddr : 52;

	if (m < 32)
		m = 32;
	if (m > 52)
		m = 52;
	memset(wm, 0, sizeof(*wm));
	wm->mode = mode;
	wm->nxe = (pg->efer & EFER_NXE) != 0;
	switch (mode) {
	case X86_PAGING_32:
		wm->levels = 2;
		wm->esize = 4;
		wm->m = m > 40 ? 40 : m; /* PSE-36: up to 40 bits */
		wm->addr_mask = 0xfffff000ULL;
		wm->nxe = false; /* 4-byte entries have no XD bit */
		break;
	case X86_PAGING_PAE:
		wm->levels = 3;
		wm->esize = 8;
		wm->m = m;
		wm->addr_mask = bits(12, m - 1);
		wm->high_rsvd = bits(m, 62);
		break;
	case X86_PAGING_4LVL:
	case X86_PAGING_5LVL:
		wm->levels = mode == X86_PAGING_5LVL ? 5 : 4;
		wm->esize = 8;
		wm->m = m;
		wm->addr_mask = bits(12, m - 1);
		wm->high_rsvd = bits(m, 51); /* 62:52 ignored / keys */
		wm->pke = (pg->cr4 & CR4_PKE) != 0;
		break;
	case X86_PAGING_NONE:
		break;
	}
	if (mode != X86_PAGING_32 && !wm->nxe)
		wm->high_rsvd |= 1ULL << 63;
	wm->fetch_i = (pg->cr4 & CR4_SMEP) ||
		      ((pg->cr4 & CR4_PAE) && (pg->efer & EFER_NXE));
}

/* Bit position of the index of 'level' and its width. */
static inline unsigned int
level_shift(const struct walk_mode *wm, unsigned int level)
{
	return wm->esize == 4 ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1);
}

static inline uint64_t
level_index(const struct walk_mode *wm, unsigned int level, uint64_t gla)
{
	if (wm->mode == X86_PAGING_PAE && level == 3)
		return (gla >> 30) & 3;
	return (gla >> level_shift(wm, level)) &
	       (wm->esize == 4 ? 0x3ff : 0x1ff);
}

/*
 * Reserved bits of a present entry at 'level' given its PS bit; *leaf set
 * if the entry maps a page.
 */
static uint64_t
rsvd_mask(const struct x86_paging *pg, const struct walk_mode *wm,
	  unsigned int level, uint64_t pte, bool *leaf)
{
	bool ps = (pte & PG_PS) != 0;

	*leaf = level == 1;
	switch (wm->mode) {
	case X86_PAGING_32:
		if (level == 2 && ps && (pg->cr4 & CR4_PSE)) {
			/* 4 MiB page: 20:13 are address bits 39:32 up to M */
			*leaf = true;
			return bits(wm->m - 32 + 13, 21);
		}
		return 0; /* PS ignored without CR4.PSE; PAT in a PTE */
	case X86_PAGING_PAE:
		if (level == 3) /* PDPTE: no R/W, U/S, A, PS, XD */
			return bits(wm->m, 63) | bits(1, 2) | bits(5, 8);
		if (level == 2 && ps) {
			*leaf = true;
			return wm->high_rsvd | bits(13, 20);
		}
		return wm->high_rsvd;
	case X86_PAGING_4LVL:
	case X86_PAGING_5LVL:
		if (level >= 4) /* PML5E, PML4E: PS must be 0 */
			return wm->high_rsvd | PG_PS;
		if (level == 3 && ps) {
			if (pg->no_page1gb)
				return wm->high_rsvd | PG_PS;
			*leaf = true;
			return wm->high_rsvd | bits(13, 29);
		}
		if (level == 2 && ps) {
			*leaf = true;
			return wm->high_rsvd | bits(13, 20);
		}
		return wm->high_rsvd;
	case X86_PAGING_NONE:
		break;
	}
	return 0;
}

/* The first paging structure, from CR3. */
static uint64_t
root_table(const struct x86_paging *pg, const struct walk_mode *wm)
{
	switch (wm->mode) {
	case X86_PAGING_32:
		return pg->cr3 & 0xfffff000ULL;
	case X86_PAGING_PAE:
		return pg->cr3 & 0xffffffe0ULL; /* 32-byte aligned PDPT */
	default:
		return pg->cr3 & wm->addr_mask;
	}
}

static void
set_pf(struct x86_walk *w, uint32_t code)
{
	w->fault.vector = X86_VEC_PF;
	w->fault.error_code = code;
	w->fault.cr2 = w->gla;
}

static int
host_error(struct x86_walk *w, enum x86_host_error err, uint64_t gpa)
{
	w->fault.host = err;
	w->fault.host_gpa = gpa;
	return -1;
}

/* Map one entry; NULL with *err set if it cannot be used. */
static void *
map_entry(const struct x86_mem *mem, uint64_t gpa, unsigned int esize,
	  enum x86_host_error *err)
{
	void *p = mem->map(mem->arg, gpa, esize);

	if (p == NULL) {
		*err = X86_HOST_NOT_RAM;
		return NULL;
	}
	if (((uintptr_t)p & (esize - 1)) != 0) {
		*err = X86_HOST_MISALIGNED;
		return NULL;
	}
	return p;
}

static inline uint64_t
load_entry(const void *p, unsigned int esize)
{
	if (esize == 4)
		return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
}

static inline bool
cas_entry(void *p, unsigned int esize, uint64_t old, uint64_t new)
{
	if (esize == 4) {
		uint32_t o = (uint32_t)old;

		return __atomic_compare_exchange_n(
		    (uint32_t *)p, &o, (uint32_t) new, false, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE);
	}
	return __atomic_compare_exchange_n((uint64_t *)p, &old, new, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/*
 * Page-level protection (SDM 4.6), given the rights combined over the
 * walk.  Returns the #PF error-code bits beyond the access's own (P, PK)
 * or 0 if the access is allowed.
 */
static uint32_t
check_rights(const struct x86_paging *pg, const struct walk_mode *wm,
	     const struct x86_walk *w, int access)
{
	int type = access & X86_MEM_TYPE;
	bool write = type == X86_MEM_WRITE, fetch = type == X86_MEM_EXEC;
	bool umode = pg->cpl == 3 && !(access & X86_MEM_IMPLICIT);
	bool wp = (pg->cr0 & CR0_WP) != 0;
	bool fault = false;
	uint32_t code = 0;

	if (fetch) {
		if (umode ? !w->user : (w->user && (pg->cr4 & CR4_SMEP)))
			fault = true;
		if (w->nx)
			fault = true;
	} else {
		if (umode) {
			if (!w->user || (write && !w->writable))
				fault = true;
		} else {
			if (write && !w->writable && wp)
				fault = true;
			/* SMAP: explicit accesses may use AC=1, implicit
			 * ones never */
			if (w->user && (pg->cr4 & CR4_SMAP) &&
			    ((access & X86_MEM_IMPLICIT) || !pg->rflags_ac))
				fault = true;
		}
		/* Protection keys: data accesses to user pages, any CPL. */
		if (wm->pke && w->user) {
			bool ad = (pg->pkru >> (2 * w->pkey)) & 1;
			bool wd = (pg->pkru >> (2 * w->pkey + 1)) & 1;

			if (ad || (wd && write && (umode || wp))) {
				fault = true;
				code |= X86_PF_PK;
			}
		}
	}
	return fault ? code | X86_PF_P : 0;
}

int
x86_walk(const struct x86_paging *pg, const struct x86_mem *mem, uint64_t gla,
	 int access, struct x86_walk *w)
{
	enum x86_paging_mode mode = x86_paging_mode(pg);
	int type = access & X86_MEM_TYPE;
	bool write = type == X86_MEM_WRITE;
	struct walk_mode wm;
	void *hp[5];
	uint32_t code;
	unsigned int tries = 0;

	memset(w, 0, sizeof(*w));
	if (type == X86_MEM_TYPE)
		return host_error(w, X86_HOST_BAD_ACCESS, 0);
	if (mode == X86_PAGING_NONE || mode == X86_PAGING_32 ||
	    mode == X86_PAGING_PAE)
		gla &= 0xffffffffULL; /* 32-bit linear addresses */
	w->gla = gla;
	if (mode == X86_PAGING_NONE) {
		w->gpa = gla;
		w->user = w->writable = true;
		return 0;
	}
	if ((mode == X86_PAGING_4LVL || mode == X86_PAGING_5LVL) &&
	    !x86_canonical(gla, mode == X86_PAGING_5LVL)) {
		w->fault.vector =
		    (access & X86_MEM_STACK) ? X86_VEC_SS : X86_VEC_GP;
		return 1;
	}
	mode_setup(pg, mode, &wm);

	/* The access's own error-code bits. */
	code = (write ? X86_PF_W : 0) |
	       (pg->cpl == 3 && !(access & X86_MEM_IMPLICIT) ? X86_PF_U : 0) |
	       (type == X86_MEM_EXEC && wm.fetch_i ? X86_PF_I : 0);

retry:
	w->nent = 0;
	w->user = w->writable = true;
	w->nx = false;
	w->pkey = 0;
	{
		uint64_t table = root_table(pg, &wm), pte = 0;
		unsigned int level;
		bool leaf = false;

		for (level = wm.levels; level >= 1; level--) {
			uint64_t egpa =
			    table + level_index(&wm, level, gla) * wm.esize;
			unsigned int n = w->nent;
			uint64_t rsvd;

			hp[n] = NULL;
			if (wm.mode == X86_PAGING_PAE && level == 3 &&
			    pg->pdpte_valid) {
				/* the PDPTE registers */
				pte = pg->pdpte[level_index(&wm, level, gla)];
			} else {
				enum x86_host_error err = X86_HOST_OK;

				hp[n] = map_entry(mem, egpa, wm.esize, &err);
				if (hp[n] == NULL)
					return host_error(w, err, egpa);
				pte = load_entry(hp[n], wm.esize);
			}
			w->ent[n].gpa = egpa;
			w->ent[n].pte = pte;
			w->ent[n].level = level;
			w->nent = n + 1;

			if (!(pte & PG_V)) {
				set_pf(w, code);
				return 1;
			}
			rsvd = rsvd_mask(pg, &wm, level, pte, &leaf);
			if (pte & rsvd) {
				set_pf(w, code | X86_PF_P | X86_PF_RSVD);
				return 1;
			}
			if (!(wm.mode == X86_PAGING_PAE && level == 3)) {
				w->user &= (pte & PG_U) != 0;
				w->writable &= (pte & PG_RW) != 0;
				w->nx |= wm.nxe && (pte & PG_NX);
			}
			if (leaf)
				break;
			table = pte & wm.addr_mask;
		}

		/* The page. */
		w->page_size = 1ULL << level_shift(&wm, level);
		if (wm.mode == X86_PAGING_32 && level == 2) {
			w->gpa = (pte & 0xffc00000ULL) |
				 (((pte >> 13) & 0xff) << 32) |
				 (gla & (PAGE_4M - 1));
		} else {
			uint64_t pmask = w->page_size - 1;

			w->gpa = (pte & wm.addr_mask & ~pmask) | (gla & pmask);
		}
		if (wm.pke)
			w->pkey = PG_PKEY(pte);
	}

	if (!(access & X86_MEM_NOPERM)) {
		uint32_t pcode = check_rights(pg, &wm, w, access);

		if (pcode) {
			set_pf(w, code | pcode);
			return 1;
		}
	}

	/*
	 * Accessed bits top down, then the leaf's dirty bit on a write, as
	 * the CPU sets them: locked, and only on entries that still hold
	 * what the walk read.  PAE PDPTEs have no A bit.
	 */
	if (!(access & X86_MEM_NOSIDE)) {
		for (unsigned int i = 0; i < w->nent; i++) {
			uint64_t old = w->ent[i].pte, new = old | PG_A;

			if (hp[i] == NULL ||
			    (wm.mode == X86_PAGING_PAE && w->ent[i].level == 3))
				continue;
			if (i == w->nent - 1 && write)
				new |= PG_M;
			if (new == old)
				continue;
			if (!cas_entry(hp[i], wm.esize, old, new)) {
				if (++tries >= WALK_MAX_RETRIES)
					return host_error(w, X86_HOST_CONTENDED,
							  w->ent[i].gpa);
				goto retry;
			}
		}
	}
	return 0;
}

int
x86_gla2gpa(const struct x86_paging *pg, const struct x86_mem *mem,
	    uint64_t gla, int access, uint64_t *gpa, struct x86_fault *fault)
{
	struct x86_walk w;
	int ret = x86_walk(pg, mem, gla, access, &w);

	if (ret == 0)
		*gpa = w.gpa;
	if (fault != NULL)
		*fault = w.fault;
	return ret;
}

int
x86_fault_format(const struct x86_fault *f, char *buf, size_t size)
{
	static const char *const host[] = {
		[X86_HOST_OK] = "no error",
		[X86_HOST_NOT_RAM] = "paging-structure entry not in guest RAM",
		[X86_HOST_MISALIGNED] = "paging-structure entry misaligned",
		[X86_HOST_CONTENDED] = "accessed/dirty update contended",
		[X86_HOST_BAD_ACCESS] = "invalid access type",
	};

	if (f->host != X86_HOST_OK) {
		const char *why =
		    (unsigned int)f->host < sizeof(host) / sizeof(host[0])
			? host[f->host]
			: "host error";

		if (f->host == X86_HOST_NOT_RAM ||
		    f->host == X86_HOST_MISALIGNED ||
		    f->host == X86_HOST_CONTENDED)
			return snprintf(buf, size, "%s (gpa %#llx)", why,
					(unsigned long long)f->host_gpa);
		return snprintf(buf, size, "%s", why);
	}
	if (f->vector == X86_VEC_PF) {
		uint32_t e = f->error_code;

		return snprintf(
		    buf, size, "#PF(%#x%s%s%s%s%s%s) at %#llx", e,
		    e & X86_PF_P ? " P" : " NP", e & X86_PF_W ? " W" : " R",
		    e & X86_PF_U ? " U" : " S", e & X86_PF_RSVD ? " RSVD" : "",
		    e & X86_PF_I ? " I" : "", e & X86_PF_PK ? " PK" : "",
		    (unsigned long long)f->cr2);
	}
	return snprintf(buf, size, "%s(%#x)",
			x86_exception_name(f->vector)
			    ? x86_exception_name(f->vector)
			    : "exception",
			f->error_code);
}
