/*
 * emul's page-table walker (x86_walk / x86_gla2gpa): every paging mode and
 * page size, every #PF error-code bit, reserved bits, U/S, R/W with WP,
 * NX, SMEP, SMAP, protection keys, accessed/dirty updates (atomic, and
 * none with X86_MEM_NOSIDE), and the host errors.  Page tables are built
 * in a host buffer that stands for guest RAM.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cunit.h"
#include "loader.h"
#include "x86.h"

#define RAM_SIZE (8ULL << 20) /* guest RAM: [0, 8 MiB) */

static uint8_t *ram;
static uint64_t next_page;
static unsigned int map_calls;

/* Optional hook run on every map() (races, contention). */
static void (*map_hook)(uint64_t gpa);

static void *
ram_map(void *arg, uint64_t gpa, size_t len)
{
	__atomic_fetch_add(&map_calls, 1, __ATOMIC_RELAXED);
	if (map_hook != NULL)
		map_hook(gpa);
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return ram + gpa;
}

static const struct x86_mem mem = { ram_map, NULL };

/* Fresh RAM; page tables are allocated from 1 MiB up. */
static void
ram_reset(void)
{
	if (ram == NULL) {
		ram = aligned_alloc(4096, RAM_SIZE);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
	}
	memset(ram, 0, RAM_SIZE);
	next_page = 1 << 20;
	map_calls = 0;
	map_hook = NULL;
}

static uint64_t
alloc_page(void)
{
	uint64_t p = next_page;

	next_page += 4096;
	CU_ASSERT_FATAL(next_page <= RAM_SIZE);
	return p;
}

static uint64_t
rd64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram + gpa, 8);
	return v;
}

static void
wr64(uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

static uint32_t
rd32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram + gpa, 4);
	return v;
}

/* ---- building page tables ------------------------------------------------ */

struct pt {
	enum x86_paging_mode mode;
	uint64_t root; /* what goes into CR3 */
};

static unsigned int
top_level(enum x86_paging_mode m)
{
	switch (m) {
	case X86_PAGING_32:
		return 2;
	case X86_PAGING_PAE:
		return 3;
	case X86_PAGING_4LVL:
		return 4;
	default:
		return 5;
	}
}

static unsigned int
esize(enum x86_paging_mode m)
{
	return m == X86_PAGING_32 ? 4 : 8;
}

static uint64_t
entry_gpa(enum x86_paging_mode m, uint64_t table, unsigned int level,
	  uint64_t gla)
{
	uint64_t idx;

	if (m == X86_PAGING_32)
		idx = (gla >> (12 + 10 * (level - 1))) & 0x3ff;
	else if (m == X86_PAGING_PAE && level == 3)
		idx = (gla >> 30) & 3;
	else
		idx = (gla >> (12 + 9 * (level - 1))) & 0x1ff;
	return table + idx * esize(m);
}

static uint64_t
rd_ent(enum x86_paging_mode m, uint64_t gpa)
{
	return m == X86_PAGING_32 ? rd32(gpa) : rd64(gpa);
}

static void
wr_ent(enum x86_paging_mode m, uint64_t gpa, uint64_t v)
{
	if (m == X86_PAGING_32) {
		uint32_t w = (uint32_t)v;

		memcpy(ram + gpa, &w, 4);
	} else {
		wr64(gpa, v);
	}
}

static void
pt_init(struct pt *t, enum x86_paging_mode m)
{
	t->mode = m;
	if (m == X86_PAGING_PAE) {
		/* a 32-byte aligned PDPT, not page aligned, to check that */
		t->root = alloc_page() + 0x20;
	} else {
		t->root = alloc_page();
	}
}

#define UPPER (PG_V | PG_RW | PG_U)

/*
 * Map 'gla' to 'pa' with a leaf at 'leaf_level' (1: 4 KiB; 2: 2/4 MiB;
 * 3: 1 GiB) carrying 'leaf_flags' (PS added); intermediate entries get
 * 'upper' (PAE PDPTEs just P).  path[] receives the entry addresses, top
 * level first.  Returns the leaf entry's address.
 */
static uint64_t
pt_map(struct pt *t, uint64_t gla, uint64_t pa, unsigned int leaf_level,
       uint64_t leaf_flags, uint64_t upper, uint64_t *path)
{
	uint64_t table = t->root, e = 0, v;
	unsigned int level, n = 0;

	for (level = top_level(t->mode); level > leaf_level; level--) {
		e = entry_gpa(t->mode, table, level, gla);
		if (path)
			path[n++] = e;
		v = rd_ent(t->mode, e);
		if (!(v & PG_V)) {
			uint64_t f = t->mode == X86_PAGING_PAE && level == 3
					 ? PG_V
					 : upper;

			v = alloc_page() | f;
			wr_ent(t->mode, e, v);
		}
		table = t->mode == X86_PAGING_32 ? v & 0xfffff000
						 : v & 0x000ffffffffff000ULL;
	}
	e = entry_gpa(t->mode, table, leaf_level, gla);
	if (path)
		path[n] = e;
	if (t->mode == X86_PAGING_32 && leaf_level == 2)
		v = (pa & 0xffc00000) | ((pa >> 32) << 13) | leaf_flags | PG_PS;
	else
		v = pa | leaf_flags | (leaf_level > 1 ? PG_PS : 0);
	wr_ent(t->mode, e, v);
	return e;
}

static struct x86_paging
paging(enum x86_paging_mode m, const struct pt *t)
{
	struct x86_paging pg = { 0 };

	pg.cr0 = CR0_PE | CR0_PG | CR0_WP;
	switch (m) {
	case X86_PAGING_NONE:
		pg.cr0 = CR0_PE;
		break;
	case X86_PAGING_32:
		pg.cr4 = CR4_PSE;
		break;
	case X86_PAGING_PAE:
		pg.cr4 = CR4_PAE;
		pg.efer = EFER_NXE;
		break;
	case X86_PAGING_4LVL:
		pg.cr4 = CR4_PAE;
		pg.efer = EFER_LME | EFER_LMA | EFER_NXE;
		break;
	case X86_PAGING_5LVL:
		pg.cr4 = CR4_PAE | CR4_LA57;
		pg.efer = EFER_LME | EFER_LMA | EFER_NXE;
		break;
	}
	if (t)
		pg.cr3 = t->root;
	return pg;
}

/* Walk, expecting a translation to 'gpa'. */
#define XLATE_OK(pg, gla, acc, want)                                           \
	do {                                                                   \
		uint64_t g_ = ~0ULL;                                           \
		struct x86_fault f_;                                           \
		int r_ = x86_gla2gpa((pg), &mem, (gla), (acc), &g_, &f_);      \
		CU_ASSERT_EQUAL(r_, 0);                                        \
		CU_ASSERT_EQUAL(g_, (uint64_t)(want));                         \
	} while (0)

/* Walk, expecting #PF with error code 'ec'. */
#define XLATE_PF(pg, gla, acc, ec)                                             \
	do {                                                                   \
		uint64_t g_ = 0;                                               \
		struct x86_fault f_;                                           \
		int r_ = x86_gla2gpa((pg), &mem, (gla), (acc), &g_, &f_);      \
		CU_ASSERT_EQUAL(r_, 1);                                        \
		CU_ASSERT_EQUAL(f_.vector, X86_VEC_PF);                        \
		CU_ASSERT_EQUAL(f_.error_code, (uint32_t)(ec));                \
		CU_ASSERT_EQUAL(f_.host, X86_HOST_OK);                         \
	} while (0)

#define R X86_MEM_READ
#define W X86_MEM_WRITE
#define X X86_MEM_EXEC

/* ---- modes -----------------------------------------------------------------
 */

static void
test_nopaging(void)
{
	struct x86_paging pg;
	struct x86_walk w;

	ram_reset();
	pg = paging(X86_PAGING_NONE, NULL);
	XLATE_OK(&pg, 0x12345678, R, 0x12345678);
	XLATE_OK(&pg, 0xfffffffc, W, 0xfffffffc);
	XLATE_OK(&pg, 0xff000000, X, 0xff000000);
	/* linear addresses are 32-bit */
	XLATE_OK(&pg, 0x100001000ULL, R, 0x1000);
	CU_ASSERT_EQUAL(map_calls, 0);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0x5000, W, &w), 0);
	CU_ASSERT_EQUAL(w.nent, 0);
	CU_ASSERT_EQUAL(w.page_size, 0);
	CU_ASSERT_EQUAL(x86_paging_mode(&pg), X86_PAGING_NONE);
	/* PAE/LMA bits do not matter without CR0.PG */
	pg.cr4 = CR4_PAE | CR4_LA57;
	XLATE_OK(&pg, 0xdead0000, R, 0xdead0000);
}

static void
test_mode_select(void)
{
	struct x86_paging pg = { 0 };

	CU_ASSERT_EQUAL(x86_paging_mode(&pg), X86_PAGING_NONE);
	pg.cr0 = CR0_PG | CR0_PE;
	CU_ASSERT_EQUAL(x86_paging_mode(&pg), X86_PAGING_32);
	pg.cr4 = CR4_PAE;
	CU_ASSERT_EQUAL(x86_paging_mode(&pg), X86_PAGING_PAE);
	pg.efer = EFER_LME; /* LME without LMA: still PAE */
	CU_ASSERT_EQUAL(x86_paging_mode(&pg), X86_PAGING_PAE);
	pg.efer |= EFER_LMA;
	CU_ASSERT_EQUAL(x86_paging_mode(&pg), X86_PAGING_4LVL);
	pg.cr4 |= CR4_LA57;
	CU_ASSERT_EQUAL(x86_paging_mode(&pg), X86_PAGING_5LVL);
	CU_ASSERT_STRING_EQUAL(x86_paging_mode_name(X86_PAGING_PAE), "PAE");
	CU_ASSERT_STRING_EQUAL(x86_paging_mode_name(X86_PAGING_5LVL),
			       "5-level");
}

static void
test_32bit(void)
{
	struct x86_paging pg;
	struct pt t;
	uint64_t path[2], pde, pte;
	struct x86_walk w;

	ram_reset();
	pt_init(&t, X86_PAGING_32);
	pg = paging(X86_PAGING_32, &t);
	pte = pt_map(&t, 0xc0001000, 0x345000, 1, PG_V | PG_RW, UPPER, path);
	pde = path[0];
	XLATE_OK(&pg, 0xc0001abc, R, 0x345abc);
	/* A on both levels, no D on a read */
	CU_ASSERT_EQUAL(rd32(pde) & (PG_A | PG_M), PG_A);
	CU_ASSERT_EQUAL(rd32(pte) & (PG_A | PG_M), PG_A);
	XLATE_OK(&pg, 0xc0001ffc, W, 0x345ffc);
	CU_ASSERT_EQUAL(rd32(pde) & (PG_A | PG_M), PG_A); /* never D */
	CU_ASSERT_EQUAL(rd32(pte) & (PG_A | PG_M), PG_A | PG_M);
	/* 4-byte entries: the neighbours are untouched */
	CU_ASSERT_EQUAL(rd32(pte + 4), 0);
	CU_ASSERT_EQUAL(rd32(pte - 4), 0);
	/* the upper 32 bits of a linear address are dropped */
	XLATE_OK(&pg, 0x77000000c0001004ULL, R, 0x345004);

	/* walk details */
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0xc0001010, R, &w), 0);
	CU_ASSERT_EQUAL(w.nent, 2);
	CU_ASSERT_EQUAL(w.ent[0].gpa, pde);
	CU_ASSERT_EQUAL(w.ent[0].level, 2);
	CU_ASSERT_EQUAL(w.ent[1].gpa, pte);
	CU_ASSERT_EQUAL(w.ent[1].level, 1);
	CU_ASSERT_EQUAL(w.page_size, 4096);
	CU_ASSERT(w.writable);
	CU_ASSERT(!w.user);

	/* not present PDE / PTE */
	XLATE_PF(&pg, 0x00400000, R, 0);
	XLATE_PF(&pg, 0xc0002000, W, X86_PF_W);
	/* no XD in 4-byte entries: bit 31 of a PTE is address, the error
	 * code has no I bit without SMEP even with EFER.NXE */
	pg.efer = EFER_NXE;
	XLATE_PF(&pg, 0xc0002000, X, 0);
	pg.cr4 |= CR4_SMEP;
	XLATE_PF(&pg, 0xc0002000, X, X86_PF_I);
	pt_map(&t, 0xc0003000, 0x80003000, 1, PG_V, UPPER, NULL);
	XLATE_OK(&pg, 0xc0003008, X, 0x80003008);
}

static void
test_32bit_pse(void)
{
	struct x86_paging pg;
	struct pt t;
	uint64_t pde, tbl;

	ram_reset();
	pt_init(&t, X86_PAGING_32);
	pg = paging(X86_PAGING_32, &t);
	pde = pt_map(&t, 0x80000000, 0x00c00000, 2, PG_V | PG_RW, UPPER, NULL);
	XLATE_OK(&pg, 0x80123456, R, 0x00d23456);
	XLATE_OK(&pg, 0x803ffffc, W, 0x00fffffc);
	CU_ASSERT_EQUAL(rd32(pde) & (PG_A | PG_M), PG_A | PG_M);

	/* PSE-36: bits 20:13 give physical bits 39:32 */
	pt_map(&t, 0x40000000, 0xab00400000ULL, 2, PG_V | PG_RW, UPPER, NULL);
	XLATE_OK(&pg, 0x40000010, R, 0xab00400010ULL);
	/* ... up to MAXPHYADDR: with 36 bits, bits 20:17 are reserved */
	pg.maxphyaddr = 36;
	XLATE_PF(&pg, 0x40000010, R, X86_PF_P | X86_PF_RSVD);
	pt_map(&t, 0x40000000, 0xf00400000ULL, 2, PG_V | PG_RW, UPPER, NULL);
	XLATE_OK(&pg, 0x40000010, R, 0xf00400010ULL);
	/* bit 21 is always reserved */
	pg.maxphyaddr = 0;
	wr_ent(X86_PAGING_32, pde, rd32(pde) | (1u << 21));
	XLATE_PF(&pg, 0x80000000, W, X86_PF_P | X86_PF_RSVD | X86_PF_W);
	pg.cpl = 3;
	XLATE_PF(&pg, 0x80000000, R, X86_PF_P | X86_PF_RSVD | X86_PF_U);
	pg.cpl = 0;

	/* without CR4.PSE the PS bit is ignored: the PDE points to a table */
	tbl = 0x400000; /* 4 MiB aligned: bits 21:13 clear for the PSE read */
	wr_ent(X86_PAGING_32, pde, tbl | PG_V | PG_RW | PG_PS);
	wr_ent(X86_PAGING_32, entry_gpa(X86_PAGING_32, tbl, 1, 0x80005000),
	       0x7000 | PG_V);
	pg.cr4 &= ~CR4_PSE;
	XLATE_OK(&pg, 0x80005123, R, 0x7123);
	XLATE_PF(&pg, 0x80006000, R, 0);
	pg.cr4 |= CR4_PSE; /* now a 4 MiB page at tbl */
	XLATE_OK(&pg, 0x80006000, R, 0x406000);
}

static void
test_pae(void)
{
	struct x86_paging pg;
	struct pt t;
	uint64_t path[3], pdpte, pde, pte, saved;
	struct x86_walk w;

	ram_reset();
	pt_init(&t, X86_PAGING_PAE);
	CU_ASSERT_EQUAL(t.root & 0xfff, 0x20);
	pg = paging(X86_PAGING_PAE, &t);
	pte =
	    pt_map(&t, 0xc0201000, 0x12345000ULL, 1, PG_V | PG_RW, UPPER, path);
	pdpte = path[0];
	pde = path[1];
	CU_ASSERT_EQUAL(pdpte, t.root + 3 * 8);
	XLATE_OK(&pg, 0xc0201abc, W, 0x12345abc);
	/* PDPTEs have no A bit: untouched */
	CU_ASSERT_EQUAL(rd64(pdpte) & (PG_A | PG_M), 0);
	CU_ASSERT_EQUAL(rd64(pde) & (PG_A | PG_M), PG_A);
	CU_ASSERT_EQUAL(rd64(pte) & (PG_A | PG_M), PG_A | PG_M);

	/* 2 MiB pages, physical addresses above 4 GiB */
	pt_map(&t, 0x40200000, 0x5600200000ULL, 2, PG_V | PG_RW, UPPER, NULL);
	XLATE_OK(&pg, 0x402fedcb, R, 0x56002fedcbULL);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0x40200000, R, &w), 0);
	CU_ASSERT_EQUAL(w.nent, 2);
	CU_ASSERT_EQUAL(w.page_size, 2 << 20);
	CU_ASSERT_EQUAL(w.ent[0].level, 3);
	CU_ASSERT_EQUAL(w.ent[1].level, 2);

	/* PDPTE not present; reserved bits in PDPTEs (R/W, U/S, A, PS) */
	XLATE_PF(&pg, 0x00000000, R, 0);
	wr64(pdpte, rd64(pdpte) | PG_RW);
	XLATE_PF(&pg, 0xc0201000, R, X86_PF_P | X86_PF_RSVD);
	wr64(pdpte, rd64(pdpte) & ~PG_RW);
	wr64(pdpte, rd64(pdpte) | PG_NX); /* bit 63: reserved in a PDPTE */
	XLATE_PF(&pg, 0xc0201000, R, X86_PF_P | X86_PF_RSVD);
	wr64(pdpte, rd64(pdpte) & ~PG_NX);

	/* the PDPTE registers: memory is not read for them */
	saved = rd64(pdpte);
	pg.pdpte_valid = true;
	pg.pdpte[3] = saved;
	wr64(pdpte, 0);
	XLATE_OK(&pg, 0xc0201abc, R, 0x12345abc);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0xc0201abc, R, &w), 0);
	CU_ASSERT_EQUAL(w.nent, 3);
	CU_ASSERT_EQUAL(w.ent[0].pte, pg.pdpte[3]);
	pg.pdpte[3] = 0; /* not present in the register */
	XLATE_PF(&pg, 0xc0201abc, R, 0);
	pg.pdpte_valid = false; /* memory again: not present there */
	XLATE_PF(&pg, 0xc0201abc, R, 0);
	wr64(pdpte, saved);
	XLATE_OK(&pg, 0xc0201abc, R, 0x12345abc);

	/* bits 62:M are reserved in PAE entries (ignored in 4-level) */
	wr64(pte, rd64(pte) | (1ULL << 60));
	XLATE_PF(&pg, 0xc0201000, R, X86_PF_P | X86_PF_RSVD);
	wr64(pte, rd64(pte) & ~(1ULL << 60));
	/* 2 MiB page with bit 13 set */
	pde = pt_map(&t, 0x40200000, 0x5600200000ULL | (1ULL << 13), 2,
		     PG_V | PG_RW, UPPER, NULL);
	XLATE_PF(&pg, 0x40200000, R, X86_PF_P | X86_PF_RSVD);
	/* bit 12 of a large page is PAT, not reserved */
	wr64(pde, 0x5600200000ULL | (1ULL << 12) | PG_V | PG_PS);
	XLATE_OK(&pg, 0x40200000, R, 0x5600200000ULL);

	/* XD: reserved without NXE, enforced with it */
	wr64(pte, rd64(pte) | PG_NX);
	XLATE_OK(&pg, 0xc0201000, R, 0x12345000);
	XLATE_PF(&pg, 0xc0201000, X, X86_PF_P | X86_PF_I);
	pg.efer = 0;
	XLATE_PF(&pg, 0xc0201000, R, X86_PF_P | X86_PF_RSVD);
	/* no NXE, no SMEP: the error code has no I bit */
	XLATE_PF(&pg, 0xc0201000, X, X86_PF_P | X86_PF_RSVD);
}

static void
test_4level(void)
{
	struct x86_paging pg;
	struct pt t;
	uint64_t path[4], e4k, e2m, e1g;
	struct x86_walk w;
	const uint64_t va4k = 0x00007f1234567000ULL;
	const uint64_t va2m = 0xffff800040200000ULL;
	const uint64_t va1g = 0xffffffffc0000000ULL;

	ram_reset();
	pt_init(&t, X86_PAGING_4LVL);
	pg = paging(X86_PAGING_4LVL, &t);
	e4k = pt_map(&t, va4k, 0x000f123456789000ULL, 1, PG_V | PG_RW, UPPER,
		     path);
	e2m = pt_map(&t, va2m, 0x0000004000000000ULL, 2, PG_V | PG_RW, UPPER,
		     NULL);
	e1g = pt_map(&t, va1g, 0x0000008040000000ULL, 3, PG_V | PG_RW, UPPER,
		     NULL);
	XLATE_OK(&pg, va4k + 0xabc, R, 0x000f123456789abcULL);
	XLATE_OK(&pg, va2m + 0x1fffff, R, 0x00000040001fffffULL);
	XLATE_OK(&pg, va1g + 0x3ffffff8, W, 0x000000807ffffff8ULL);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, va4k, R, &w), 0);
	CU_ASSERT_EQUAL(w.nent, 4);
	for (unsigned int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(w.ent[i].gpa, path[i]);
		CU_ASSERT_EQUAL(w.ent[i].level, 4 - i);
		CU_ASSERT(rd64(path[i]) & PG_A);
	}
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, va2m, R, &w), 0);
	CU_ASSERT_EQUAL(w.nent, 3);
	CU_ASSERT_EQUAL(w.page_size, 2ULL << 20);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, va1g, R, &w), 0);
	CU_ASSERT_EQUAL(w.nent, 2);
	CU_ASSERT_EQUAL(w.page_size, 1ULL << 30);
	CU_ASSERT_EQUAL(rd64(e1g) & (PG_A | PG_M), PG_A | PG_M);
	CU_ASSERT_EQUAL(rd64(e2m) & (PG_A | PG_M), PG_A);

	/* 1 GiB pages where the CPU has none: PS is reserved in a PDPTE */
	pg.no_page1gb = true;
	XLATE_PF(&pg, va1g, R, X86_PF_P | X86_PF_RSVD);
	pg.no_page1gb = false;
	/* large-page reserved bits: 29:13 (1 GiB), 20:13 (2 MiB) */
	wr64(e1g, rd64(e1g) | (1ULL << 29));
	XLATE_PF(&pg, va1g, R, X86_PF_P | X86_PF_RSVD);
	wr64(e1g, rd64(e1g) & ~(1ULL << 29));
	wr64(e2m, rd64(e2m) | (1ULL << 20));
	XLATE_PF(&pg, va2m, R, X86_PF_P | X86_PF_RSVD);
	wr64(e2m, rd64(e2m) & ~(1ULL << 20));
	/* PS in a PML4E is reserved */
	wr64(path[0], rd64(path[0]) | PG_PS);
	XLATE_PF(&pg, va4k, R, X86_PF_P | X86_PF_RSVD);
	wr64(path[0], rd64(path[0]) & ~PG_PS);
	/* MAXPHYADDR: bit 51:M reserved; 62:52 ignored (keys off) */
	pg.maxphyaddr = 40;
	XLATE_PF(&pg, va4k, R, X86_PF_P | X86_PF_RSVD);
	XLATE_OK(&pg, va2m, R, 0x0000004000000000ULL);
	XLATE_OK(&pg, va1g, R, 0x0000008040000000ULL);
	pg.maxphyaddr = 39;
	XLATE_PF(&pg, va1g, R, X86_PF_P | X86_PF_RSVD);
	XLATE_OK(&pg, va2m, R, 0x0000004000000000ULL);
	pg.maxphyaddr = 38;
	XLATE_PF(&pg, va2m, R, X86_PF_P | X86_PF_RSVD);
	pg.maxphyaddr = 0;
	wr64(e4k, rd64(e4k) | (0x7fULL << 52) | (0xfULL << 59));
	XLATE_OK(&pg, va4k, R, 0x000f123456789000ULL);
	/* ... and a reserved bit in an intermediate entry */
	pg.maxphyaddr = 36;
	wr64(path[1], rd64(path[1]) | (1ULL << 40));
	XLATE_PF(&pg, va4k, W, X86_PF_P | X86_PF_RSVD | X86_PF_W);
	pg.maxphyaddr = 52; /* bit 40 is an address bit again */
	wr64(path[1], rd64(path[1]) & ~(1ULL << 40));

	/* not present at each level */
	XLATE_PF(&pg, 0x0000000000001000ULL, R, 0); /* PML4E */
	XLATE_PF(&pg, 0x00007f0000000000ULL, R, 0); /* PDPTE */
	XLATE_PF(&pg, 0x00007f1200000000ULL, R, 0); /* PDE */
	XLATE_PF(&pg, 0x00007f1234568000ULL, W, 2); /* PTE */
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0x00007f1234568000ULL, R, &w), 1);
	CU_ASSERT_EQUAL(w.nent, 4);
	CU_ASSERT_EQUAL(w.fault.cr2, 0x00007f1234568000ULL);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0x00007f0000000000ULL, R, &w), 1);
	CU_ASSERT_EQUAL(w.nent, 2);

	/* PCID bits and bit 63 of CR3 are not address bits */
	pg.cr3 = t.root | 0x123 | (1ULL << 63);
	pg.cr4 |= CR4_PCIDE;
	XLATE_OK(&pg, va4k + 8, R, 0x000f123456789008ULL);
}

static void
test_5level(void)
{
	struct x86_paging pg;
	struct pt t;
	uint64_t path[5];
	struct x86_walk w;
	const uint64_t va = 0x00ff800000201000ULL; /* 57-bit canonical */
	const uint64_t vahi = 0xff00000000000000ULL;

	ram_reset();
	pt_init(&t, X86_PAGING_5LVL);
	pg = paging(X86_PAGING_5LVL, &t);
	pt_map(&t, va, 0x1000, 1, PG_V | PG_RW, UPPER, path);
	pt_map(&t, vahi, 0x40000000, 3, PG_V | PG_RW, UPPER, NULL);
	pt_map(&t, 0x200000, 0x600000, 2, PG_V | PG_RW, UPPER, NULL);
	XLATE_OK(&pg, va + 0x10, W, 0x1010);
	XLATE_OK(&pg, vahi + 0x12345678, R, 0x52345678);
	XLATE_OK(&pg, 0x200008, R, 0x600008);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, va, R, &w), 0);
	CU_ASSERT_EQUAL(w.nent, 5);
	CU_ASSERT_EQUAL(w.ent[0].level, 5);
	for (unsigned int i = 0; i < 5; i++)
		CU_ASSERT(rd64(path[i]) & PG_A);
	CU_ASSERT(rd64(path[4]) & PG_M);
	/* PS in a PML5E is reserved */
	wr64(path[0], rd64(path[0]) | PG_PS);
	XLATE_PF(&pg, va, R, X86_PF_P | X86_PF_RSVD);
	wr64(path[0], rd64(path[0]) & ~PG_PS);
	/* the same tables are a 4-level walk from the PML4 */
	pg.cr4 &= ~CR4_LA57;
	pg.cr3 = rd64(path[0]) & ~0xfffULL;
	XLATE_OK(&pg, 0xffff800000201000ULL, R, 0x1000);
}

static void
test_canonical(void)
{
	struct x86_paging pg;
	struct x86_fault f;
	uint64_t gpa;
	struct pt t;

	CU_ASSERT(x86_canonical(0, false));
	CU_ASSERT(x86_canonical(0x00007fffffffffffULL, false));
	CU_ASSERT(!x86_canonical(0x0000800000000000ULL, false));
	CU_ASSERT(x86_canonical(0xffff800000000000ULL, false));
	CU_ASSERT(!x86_canonical(0xfeff800000000000ULL, false));
	CU_ASSERT(x86_canonical(0x00ffffffffffffffULL, true));
	CU_ASSERT(!x86_canonical(0x0100000000000000ULL, true));
	CU_ASSERT(x86_canonical(0xff00000000000000ULL, true));
	CU_ASSERT(!x86_canonical(0xff00000000000000ULL, false));

	ram_reset();
	pt_init(&t, X86_PAGING_4LVL);
	pg = paging(X86_PAGING_4LVL, &t);
	CU_ASSERT_EQUAL(
	    x86_gla2gpa(&pg, &mem, 0x0000800000000000ULL, R, &gpa, &f), 1);
	CU_ASSERT_EQUAL(f.vector, X86_VEC_GP);
	CU_ASSERT_EQUAL(f.error_code, 0);
	CU_ASSERT_EQUAL(map_calls, 0); /* before any table is read */
	CU_ASSERT_EQUAL(x86_gla2gpa(&pg, &mem, 0x0000800000000000ULL,
				    W | X86_MEM_STACK, &gpa, &f),
			1);
	CU_ASSERT_EQUAL(f.vector, X86_VEC_SS);
	CU_ASSERT_EQUAL(f.error_code, 0);
	/* canonical in 5-level paging: a (not-present) #PF instead */
	pg.cr4 |= CR4_LA57;
	XLATE_PF(&pg, 0x0000800000000000ULL, R, 0);
	CU_ASSERT_EQUAL(
	    x86_gla2gpa(&pg, &mem, 0x0100000000000000ULL, X, &gpa, &f), 1);
	CU_ASSERT_EQUAL(f.vector, X86_VEC_GP);
	/* 32-bit modes have no canonical check: the address is truncated */
	pg = paging(X86_PAGING_PAE, &t);
	XLATE_PF(&pg, 0x0000800000000000ULL, R, 0);
}

/* ---- protection ------------------------------------------------------------
 */

/* A 4-level setup with pages of each kind; returns the tables. */
#define VA_SUP   0x0000000000400000ULL /* supervisor, RW */
#define VA_SUPRO 0x0000000000401000ULL /* supervisor, read-only */
#define VA_USR   0x0000000000402000ULL /* user, RW */
#define VA_USRRO 0x0000000000403000ULL /* user, read-only */
#define VA_USRNX 0x0000000000404000ULL /* user, RW, NX */
#define VA_SUPNX 0x0000000000405000ULL /* supervisor, RW, NX */

static struct x86_paging
prot_setup(struct pt *t)
{
	ram_reset();
	pt_init(t, X86_PAGING_4LVL);
	pt_map(t, VA_SUP, 0x10000, 1, PG_V | PG_RW, UPPER, NULL);
	pt_map(t, VA_SUPRO, 0x11000, 1, PG_V, UPPER, NULL);
	pt_map(t, VA_USR, 0x12000, 1, PG_V | PG_RW | PG_U, UPPER, NULL);
	pt_map(t, VA_USRRO, 0x13000, 1, PG_V | PG_U, UPPER, NULL);
	pt_map(t, VA_USRNX, 0x14000, 1, PG_V | PG_RW | PG_U | PG_NX, UPPER,
	       NULL);
	pt_map(t, VA_SUPNX, 0x15000, 1, PG_V | PG_RW | PG_NX, UPPER, NULL);
	return paging(X86_PAGING_4LVL, t);
}

static void
test_user_supervisor(void)
{
	struct pt t;
	struct x86_paging pg = prot_setup(&t);
	const uint32_t P = X86_PF_P, WR = X86_PF_W, U = X86_PF_U;

	/* CPL 0 */
	XLATE_OK(&pg, VA_SUP, R, 0x10000);
	XLATE_OK(&pg, VA_SUP, W, 0x10000);
	XLATE_OK(&pg, VA_USR, W, 0x12000);
	XLATE_OK(&pg, VA_SUPRO, R, 0x11000);
	XLATE_PF(&pg, VA_SUPRO, W, P | WR); /* CR0.WP */
	XLATE_PF(&pg, VA_USRRO, W, P | WR);
	pg.cr0 &= ~CR0_WP;
	XLATE_OK(&pg, VA_SUPRO, W, 0x11000);
	XLATE_OK(&pg, VA_USRRO, W, 0x13000);
	pg.cr0 |= CR0_WP;
	/* CPL 3 */
	pg.cpl = 3;
	XLATE_OK(&pg, VA_USR, R, 0x12000);
	XLATE_OK(&pg, VA_USR, W, 0x12000);
	XLATE_OK(&pg, VA_USR, X, 0x12000);
	XLATE_PF(&pg, VA_SUP, R, P | U);
	XLATE_PF(&pg, VA_SUP, W, P | WR | U);
	XLATE_PF(&pg, VA_SUP, X, P | U | X86_PF_I);
	XLATE_PF(&pg, VA_USRRO, W, P | WR | U);
	pg.cr0 &= ~CR0_WP; /* WP does not matter at CPL 3 */
	XLATE_PF(&pg, VA_USRRO, W, P | WR | U);
	pg.cr0 |= CR0_WP;
	/* CPL 1 and 2 are supervisor too */
	pg.cpl = 2;
	XLATE_OK(&pg, VA_SUP, W, 0x10000);
	/* implicit supervisor accesses at CPL 3 */
	pg.cpl = 3;
	XLATE_OK(&pg, VA_SUP, R | X86_MEM_IMPLICIT, 0x10000);
	XLATE_OK(&pg, VA_SUP, W | X86_MEM_IMPLICIT, 0x10000);
	XLATE_PF(&pg, VA_SUPRO, W | X86_MEM_IMPLICIT, P | WR);

	/* U/S and R/W combine over the levels: clear U in the PDPTE */
	{
		uint64_t path[4];

		pt_map(&t, VA_USR, 0x12000, 1, PG_V | PG_RW | PG_U, UPPER,
		       path);
		wr64(path[1], rd64(path[1]) & ~PG_U);
		XLATE_PF(&pg, VA_USR, R, P | U);
		wr64(path[1], rd64(path[1]) | PG_U);
		wr64(path[2], rd64(path[2]) & ~PG_RW);
		XLATE_OK(&pg, VA_USR, R, 0x12000);
		XLATE_PF(&pg, VA_USR, W, P | WR | U);
		pg.cpl = 0;
		XLATE_PF(&pg, VA_USR, W, P | WR);
		pg.cr0 &= ~CR0_WP;
		XLATE_OK(&pg, VA_USR, W, 0x12000);
	}
}

static void
test_nx(void)
{
	struct pt t;
	struct x86_paging pg = prot_setup(&t);
	const uint32_t P = X86_PF_P, I = X86_PF_I;
	uint64_t path[4];

	XLATE_OK(&pg, VA_SUPNX, R, 0x15000);
	XLATE_OK(&pg, VA_SUPNX, W, 0x15000);
	XLATE_PF(&pg, VA_SUPNX, X, P | I);
	XLATE_PF(&pg, VA_USRNX, X, P | I);
	pg.cpl = 3;
	XLATE_PF(&pg, VA_USRNX, X, P | I | X86_PF_U);
	XLATE_OK(&pg, VA_USRNX, R, 0x14000);
	pg.cpl = 0;
	/* NX in an upper level only */
	pt_map(&t, VA_SUP, 0x10000, 1, PG_V | PG_RW, UPPER, path);
	XLATE_OK(&pg, VA_SUP, X, 0x10000);
	wr64(path[0], rd64(path[0]) | PG_NX);
	XLATE_PF(&pg, VA_SUP, X, P | I);
	/* without NXE, bit 63 is reserved at every level */
	pg.efer &= ~EFER_NXE;
	XLATE_PF(&pg, VA_SUP, R, P | X86_PF_RSVD);
	XLATE_PF(&pg, VA_SUP, X, P | X86_PF_RSVD); /* no I without NXE */
	pg.cr4 |= CR4_SMEP;
	XLATE_PF(&pg, VA_SUP, X, P | X86_PF_RSVD | I);
	wr64(path[0], rd64(path[0]) & ~PG_NX);
	XLATE_OK(&pg, VA_SUP, X, 0x10000);
	/* not present fetches say I with NXE (or SMEP) */
	pg.cr4 &= ~CR4_SMEP;
	XLATE_PF(&pg, 0x800000, X, 0);
	pg.efer |= EFER_NXE;
	XLATE_PF(&pg, 0x800000, X, I);
}

static void
test_smep(void)
{
	struct pt t;
	struct x86_paging pg = prot_setup(&t);
	const uint32_t P = X86_PF_P, I = X86_PF_I;

	XLATE_OK(&pg, VA_USR, X, 0x12000);
	pg.cr4 |= CR4_SMEP;
	XLATE_PF(&pg, VA_USR, X, P | I);
	XLATE_PF(&pg, VA_USRRO, X, P | I);
	XLATE_OK(&pg, VA_USR, R, 0x12000); /* data: not SMEP's */
	XLATE_OK(&pg, VA_SUP, X, 0x10000);
	pg.cpl = 3; /* user fetches are not affected */
	XLATE_OK(&pg, VA_USR, X, 0x12000);
	/* SMEP in 32-bit paging, with the I bit */
	{
		struct pt t32;
		struct x86_paging pg32;

		pt_init(&t32, X86_PAGING_32);
		pt_map(&t32, 0x1000, 0x12000, 1, PG_V | PG_U, UPPER, NULL);
		pg32 = paging(X86_PAGING_32, &t32);
		XLATE_OK(&pg32, 0x1000, X, 0x12000);
		pg32.cr4 |= CR4_SMEP;
		XLATE_PF(&pg32, 0x1000, X, P | I);
	}
}

static void
test_smap(void)
{
	struct pt t;
	struct x86_paging pg = prot_setup(&t);
	const uint32_t P = X86_PF_P, WR = X86_PF_W;

	pg.cr4 |= CR4_SMAP;
	XLATE_PF(&pg, VA_USR, R, P);
	XLATE_PF(&pg, VA_USR, W, P | WR);
	XLATE_OK(&pg, VA_SUP, R, 0x10000);
	XLATE_OK(&pg, VA_USR, X, 0x12000); /* fetches are SMEP's */
	pg.rflags_ac = true;
	XLATE_OK(&pg, VA_USR, R, 0x12000);
	XLATE_OK(&pg, VA_USR, W, 0x12000);
	/* AC=1 does not lift WP */
	XLATE_PF(&pg, VA_USRRO, W, P | WR);
	pg.cr0 &= ~CR0_WP;
	XLATE_OK(&pg, VA_USRRO, W, 0x13000);
	pg.cr0 |= CR0_WP;
	/* implicit supervisor accesses: always blocked, AC or not */
	XLATE_PF(&pg, VA_USR, R | X86_MEM_IMPLICIT, P);
	pg.cpl = 3;
	XLATE_PF(&pg, VA_USR, R | X86_MEM_IMPLICIT, P);
	XLATE_PF(&pg, VA_USR, W | X86_MEM_IMPLICIT, P | WR);
	/* user accesses: no SMAP */
	pg.rflags_ac = false;
	XLATE_OK(&pg, VA_USR, R, 0x12000);
	XLATE_OK(&pg, VA_USR, W, 0x12000);
	/* SMAP in PAE paging too */
	{
		struct pt tp;
		struct x86_paging pgp;

		pt_init(&tp, X86_PAGING_PAE);
		pt_map(&tp, 0x1000, 0x12000, 1, PG_V | PG_U | PG_RW, UPPER,
		       NULL);
		pgp = paging(X86_PAGING_PAE, &tp);
		pgp.cr4 |= CR4_SMAP;
		XLATE_PF(&pgp, 0x1000, R, P);
		pgp.rflags_ac = true;
		XLATE_OK(&pgp, 0x1000, R, 0x12000);
	}
}

static void
test_pkeys(void)
{
	struct pt t;
	struct x86_paging pg = prot_setup(&t);
	const uint32_t P = X86_PF_P, WR = X86_PF_W, U = X86_PF_U,
		       PK = X86_PF_PK;
	uint64_t e_usr, e_sup, e_usrro;
	struct x86_walk w;

	/* key 5 on the user pages, key 6 on a supervisor page */
	e_usr = pt_map(&t, VA_USR, 0x12000, 1,
		       PG_V | PG_RW | PG_U | (5ULL << 59), UPPER, NULL);
	e_usrro = pt_map(&t, VA_USRRO, 0x13000, 1, PG_V | PG_U | (5ULL << 59),
			 UPPER, NULL);
	e_sup = pt_map(&t, VA_SUP, 0x10000, 1, PG_V | PG_RW | (6ULL << 59),
		       UPPER, NULL);
	(void)e_usr;
	(void)e_usrro;
	(void)e_sup;
	pg.pkru = (1u << 10) | (3u << 12); /* AD5; AD6 and WD6 */
	/* keys off: nothing */
	pg.cpl = 3;
	XLATE_OK(&pg, VA_USR, R, 0x12000);
	pg.cr4 |= CR4_PKE;
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, VA_USR, X, &w), 0);
	CU_ASSERT_EQUAL(w.pkey, 5);
	XLATE_PF(&pg, VA_USR, R, P | U | PK);
	XLATE_PF(&pg, VA_USR, W, P | WR | U | PK);
	XLATE_OK(&pg, VA_USR, X, 0x12000); /* fetches ignore keys */
	/* WD only: reads allowed, writes not */
	pg.pkru = 2u << 10; /* WD5 */
	XLATE_OK(&pg, VA_USR, R, 0x12000);
	XLATE_PF(&pg, VA_USR, W, P | WR | U | PK);
	/* both a R/W and a key violation: both in the error code */
	XLATE_PF(&pg, VA_USRRO, W, P | WR | U | PK);
	/* supervisor accesses to user pages: WD counts only with WP */
	pg.cpl = 0;
	XLATE_OK(&pg, VA_USR, R, 0x12000);
	XLATE_PF(&pg, VA_USR, W, P | WR | PK);
	pg.cr0 &= ~CR0_WP;
	XLATE_OK(&pg, VA_USR, W, 0x12000);
	pg.cr0 |= CR0_WP;
	pg.pkru = 1u << 10; /* AD5: supervisor reads too */
	XLATE_PF(&pg, VA_USR, R, P | PK);
	XLATE_PF(&pg, VA_USR, R | X86_MEM_IMPLICIT, P | PK);
	/* supervisor pages ignore keys (PKS is not modelled) */
	pg.pkru = ~0u;
	XLATE_OK(&pg, VA_SUP, R, 0x10000);
	XLATE_OK(&pg, VA_SUP, W, 0x10000);
	/* SMAP and PK together */
	pg.cr4 |= CR4_SMAP;
	XLATE_PF(&pg, VA_USR, R, P | PK);
	pg.pkru = 0;
	XLATE_PF(&pg, VA_USR, R, P);
	pg.rflags_ac = true;
	XLATE_OK(&pg, VA_USR, R, 0x12000);
	/* keys are a 4/5-level feature: bits 62:59 are reserved in PAE */
	{
		struct pt tp;
		struct x86_paging pgp;

		pt_init(&tp, X86_PAGING_PAE);
		pt_map(&tp, 0x1000, 0x12000, 1,
		       PG_V | PG_U | PG_RW | (5ULL << 59), UPPER, NULL);
		pgp = paging(X86_PAGING_PAE, &tp);
		pgp.cr4 |= CR4_PKE;
		pgp.pkru = ~0u;
		pgp.cpl = 3;
		XLATE_PF(&pgp, 0x1000, R, P | U | X86_PF_RSVD);
	}
}

/* ---- accessed and dirty bits -----------------------------------------------
 */

static void
test_accessed_dirty(void)
{
	struct pt t;
	struct x86_paging pg;
	uint64_t path[4], e2m, before[4];
	struct x86_walk w;

	ram_reset();
	pt_init(&t, X86_PAGING_4LVL);
	pg = paging(X86_PAGING_4LVL, &t);
	pt_map(&t, 0x1000, 0x20000, 1, PG_V | PG_RW, UPPER, path);
	e2m = pt_map(&t, 0x40000000, 0x400000, 2, PG_V | PG_RW, UPPER, NULL);

	/* no side effects: nothing changes */
	XLATE_OK(&pg, 0x1000, W | X86_MEM_NOSIDE, 0x20000);
	XLATE_OK(&pg, 0x1000, R | X86_MEM_NOSIDE, 0x20000);
	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rd64(path[i]) & (PG_A | PG_M), 0);
	/* a fault: nothing changes either */
	pg.cpl = 3;
	XLATE_PF(&pg, 0x1000, W, X86_PF_P | X86_PF_W | X86_PF_U);
	pg.cpl = 0;
	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rd64(path[i]) & (PG_A | PG_M), 0);
	/* a fetch: A everywhere, no D */
	XLATE_OK(&pg, 0x1000, X, 0x20000);
	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rd64(path[i]) & (PG_A | PG_M), PG_A);
	/* x86_walk reports the values it read, before its update */
	for (unsigned int i = 0; i < 4; i++)
		wr64(path[i], rd64(path[i]) & ~PG_A);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0x1000, W, &w), 0);
	for (unsigned int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(w.ent[i].pte & (PG_A | PG_M), 0);
		CU_ASSERT_EQUAL(rd64(path[i]) & (PG_A | PG_M),
				i == 3 ? PG_A | PG_M : PG_A);
	}
	/* nothing more to set: no writes (other bits untouched) */
	for (unsigned int i = 0; i < 4; i++)
		before[i] = rd64(path[i]);
	XLATE_OK(&pg, 0x1000, W, 0x20000);
	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rd64(path[i]), before[i]);
	/* D on a 2 MiB leaf; an already dirty page keeps D on reads */
	XLATE_OK(&pg, 0x40000000, W, 0x400000);
	CU_ASSERT_EQUAL(rd64(e2m) & (PG_A | PG_M), PG_A | PG_M);
	wr64(e2m, rd64(e2m) & ~PG_A);
	XLATE_OK(&pg, 0x40000000, R, 0x400000);
	CU_ASSERT_EQUAL(rd64(e2m) & (PG_A | PG_M), PG_A | PG_M);
	/* NOPERM|NOSIDE (a debugger's peek) changes nothing */
	for (unsigned int i = 0; i < 4; i++)
		wr64(path[i], rd64(path[i]) & ~(PG_A | PG_M));
	XLATE_OK(&pg, 0x1000, X86_MEM_PEEK, 0x20000);
	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rd64(path[i]) & (PG_A | PG_M), 0);
}

/* The walk re-reads when an entry changes between its read and its CAS. */
static uint64_t race_gpa, race_target;
static int race_count;

static void
race_hook(uint64_t gpa)
{
	/* on reading the PTE, flip an ignored bit of the (read) PDE */
	if (gpa == race_target && race_count > 0) {
		race_count--;
		wr64(race_gpa, rd64(race_gpa) ^ (1ULL << 9));
	}
}

static void
test_ad_race(void)
{
	struct pt t;
	struct x86_paging pg;
	uint64_t path[4];
	struct x86_walk w;

	ram_reset();
	pt_init(&t, X86_PAGING_4LVL);
	pg = paging(X86_PAGING_4LVL, &t);
	pt_map(&t, 0x1000, 0x20000, 1, PG_V | PG_RW, UPPER, path);
	race_gpa = path[2];
	race_target = path[3];
	race_count = 1;
	map_hook = race_hook;
	map_calls = 0;
	XLATE_OK(&pg, 0x1000, W, 0x20000);
	CU_ASSERT_EQUAL(map_calls, 8); /* walked twice */
	CU_ASSERT_EQUAL(rd64(path[2]) & (PG_A | (1ULL << 9)),
			PG_A | (1ULL << 9));
	CU_ASSERT_EQUAL(rd64(path[3]) & (PG_A | PG_M), PG_A | PG_M);

	/* an entry that changes on every walk: give up, say so */
	for (unsigned int i = 0; i < 4; i++)
		wr64(path[i], rd64(path[i]) & ~(PG_A | PG_M));
	race_count = 1000;
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0x1000, W, &w), -1);
	CU_ASSERT_EQUAL(w.fault.host, X86_HOST_CONTENDED);
	CU_ASSERT_EQUAL(w.fault.host_gpa, path[2]);
	/* without side effects there is nothing to contend */
	XLATE_OK(&pg, 0x1000, W | X86_MEM_NOSIDE, 0x20000);
	map_hook = NULL;
}

/*
 * Real concurrency: vCPU threads setting A/D bits while another thread
 * toggles an ignored bit in the same entries with atomic XORs.  With a
 * plain read-modify-write some toggles would be lost; with the CAS none
 * is, and A/D end up set.
 */
#define TOGGLES 200000

struct race_arg {
	const struct x86_paging *pg;
	uint64_t pte_gpa, pde_gpa;
	volatile int stop;
	unsigned int errors;
};

static void *
toggler(void *p)
{
	struct race_arg *a = p;
	uint64_t *pte = (uint64_t *)(ram + a->pte_gpa);
	uint64_t *pde = (uint64_t *)(ram + a->pde_gpa);

	for (int i = 0; i < TOGGLES; i++) {
		__atomic_fetch_xor(pte, 1ULL << 10, __ATOMIC_SEQ_CST);
		__atomic_fetch_xor(pde, 1ULL << 10, __ATOMIC_SEQ_CST);
		/* give the walkers something to set again */
		if ((i & 63) == 0) {
			__atomic_fetch_and(pte, ~(PG_A | PG_M),
					   __ATOMIC_SEQ_CST);
			__atomic_fetch_and(pde, ~PG_A, __ATOMIC_SEQ_CST);
		}
	}
	a->stop = 1;
	return NULL;
}

static void *
walker(void *p)
{
	struct race_arg *a = p;
	struct x86_fault f;
	uint64_t gpa;

	while (!a->stop) {
		int r = x86_gla2gpa(a->pg, &(struct x86_mem){ ram_map, NULL },
				    0x1000, W, &gpa, &f);

		if (r == -1 && f.host == X86_HOST_CONTENDED)
			continue; /* allowed, rare */
		if (r != 0 || gpa != 0x20000)
			a->errors++;
	}
	return NULL;
}

static void
test_ad_threads(void)
{
	struct pt t;
	struct x86_paging pg;
	uint64_t path[4];
	struct race_arg a = { 0 };
	pthread_t th[3];

	ram_reset();
	pt_init(&t, X86_PAGING_4LVL);
	pg = paging(X86_PAGING_4LVL, &t);
	pt_map(&t, 0x1000, 0x20000, 1, PG_V | PG_RW, UPPER, path);
	a.pg = &pg;
	a.pte_gpa = path[3];
	a.pde_gpa = path[2];
	pthread_create(&th[1], NULL, walker, &a);
	pthread_create(&th[2], NULL, walker, &a);
	pthread_create(&th[0], NULL, toggler, &a);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(a.errors, 0);
	/* TOGGLES is even: bit 10 is back where it was */
	CU_ASSERT_EQUAL(rd64(path[3]) & (1ULL << 10), 0);
	CU_ASSERT_EQUAL(rd64(path[2]) & (1ULL << 10), 0);
	XLATE_OK(&pg, 0x1000, W, 0x20000);
	CU_ASSERT_EQUAL(rd64(path[3]) & (PG_A | PG_M), PG_A | PG_M);
}

/* ---- the rest ---------------------------------------------------------- */

static void
test_noperm(void)
{
	struct pt t;
	struct x86_paging pg = prot_setup(&t);

	pg.cpl = 3;
	pg.cr4 |= CR4_SMAP | CR4_SMEP;
	XLATE_OK(&pg, VA_SUP, R | X86_MEM_NOPERM, 0x10000);
	XLATE_OK(&pg, VA_SUPRO, W | X86_MEM_NOPERM | X86_MEM_NOSIDE, 0x11000);
	XLATE_OK(&pg, VA_SUPNX, X | X86_MEM_NOPERM, 0x15000);
	XLATE_PF(&pg, 0x800000, X86_MEM_PEEK, X86_PF_U);
}

static void
test_host_errors(void)
{
	struct pt t;
	struct x86_paging pg;
	struct x86_walk w;
	struct x86_fault f;
	uint64_t path[4], gpa;
	char buf[128];

	ram_reset();
	pt_init(&t, X86_PAGING_4LVL);
	pg = paging(X86_PAGING_4LVL, &t);
	pt_map(&t, 0x1000, 0x20000, 1, PG_V | PG_RW, UPPER, path);
	/* the page table outside RAM (e.g. in MMIO) */
	wr64(path[2], 0xfee00000ULL | UPPER);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0x1008, R, &w), -1);
	CU_ASSERT_EQUAL(w.fault.host, X86_HOST_NOT_RAM);
	CU_ASSERT_EQUAL(w.fault.host_gpa, 0xfee00008ULL);
	CU_ASSERT_EQUAL(w.nent, 3);
	x86_fault_format(&w.fault, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "paging-structure entry not in guest RAM "
				    "(gpa 0xfee00008)");
	/* CR3 outside RAM */
	pg.cr3 = 0x100000000ULL;
	CU_ASSERT_EQUAL(x86_gla2gpa(&pg, &mem, 0x1000, R, &gpa, &f), -1);
	CU_ASSERT_EQUAL(f.host, X86_HOST_NOT_RAM);
	CU_ASSERT_EQUAL(f.host_gpa, 0x100000000ULL);
	/* but a final address outside RAM is fine: that is MMIO */
	pg.cr3 = t.root;
	wr64(path[2], (path[3] & ~0xfffULL) | UPPER);
	pt_map(&t, 0x1000, 0xff000000ULL, 1, PG_V | PG_RW, UPPER, NULL);
	XLATE_OK(&pg, 0x1010, W, 0xff000010ULL);
	/* a bad access type */
	CU_ASSERT_EQUAL(x86_gla2gpa(&pg, &mem, 0x1000, 3, &gpa, &f), -1);
	CU_ASSERT_EQUAL(f.host, X86_HOST_BAD_ACCESS);
}

static void *
misaligned_map(void *arg, uint64_t gpa, size_t len)
{
	return ram + 1;
}

static void
test_misaligned(void)
{
	struct x86_paging pg = paging(X86_PAGING_4LVL, NULL);
	struct x86_mem bad = { misaligned_map, NULL };
	struct x86_fault f;
	uint64_t gpa;

	ram_reset();
	CU_ASSERT_EQUAL(x86_gla2gpa(&pg, &bad, 0, R, &gpa, &f), -1);
	CU_ASSERT_EQUAL(f.host, X86_HOST_MISALIGNED);
}

static void
test_format(void)
{
	struct x86_fault f = { .vector = X86_VEC_PF,
			       .error_code = X86_PF_P | X86_PF_W | X86_PF_U,
			       .cr2 = 0x1234 };
	char buf[128];

	x86_fault_format(&f, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "#PF(0x7 P W U) at 0x1234");
	f.error_code = X86_PF_I | X86_PF_RSVD | X86_PF_P;
	x86_fault_format(&f, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "#PF(0x19 P R S RSVD I) at 0x1234");
	f = (struct x86_fault){ .vector = X86_VEC_SS };
	x86_fault_format(&f, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "#SS(0)");
	f.vector = X86_VEC_GP;
	x86_fault_format(&f, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "#GP(0)");
}

/* The loader's long-mode identity map, walked. */
static void *
loader_map(void *arg, uint64_t gpa, size_t len)
{
	return ram_map(arg, gpa, len);
}

static void
test_loader_tables(void)
{
	struct loader_mem lm = { loader_map, NULL };
	struct loader_image img = { .entry = 0x100000,
				    .mode = LOADER_MODE_LONG64,
				    .lowest = 0x100000,
				    .highest = 0x101000 };
	struct loader_regs regs;
	struct x86_paging pg = { 0 };
	struct x86_walk w;
	char err[128];

	ram_reset();
	CU_ASSERT_EQUAL_FATAL(
	    loader_x86_setup(&lm, &img, &regs, err, sizeof(err)), 0);
	pg.cr0 = regs.cr0;
	pg.cr3 = regs.cr3;
	pg.cr4 = regs.cr4;
	pg.efer = regs.efer;
	XLATE_OK(&pg, 0x100000, X, 0x100000);
	XLATE_OK(&pg, 0xff000010ULL, W, 0xff000010ULL);
	XLATE_OK(&pg, 0xfffffff0ULL, R, 0xfffffff0ULL);
	CU_ASSERT_EQUAL(x86_walk(&pg, &mem, 0xff000000ULL, R, &w), 0);
	CU_ASSERT_EQUAL(w.page_size, 2ULL << 20);
	CU_ASSERT_EQUAL(w.ent[0].gpa, LOADER_PML4_ADDR);
	/* beyond 4 GiB nothing is mapped */
	XLATE_PF(&pg, 0x100000000ULL, R, 0);
}

static CU_TestInfo mode_tests[] = {
	{ "mode selection", test_mode_select },
	{ "no paging", test_nopaging },
	{ "32-bit, 4 KiB", test_32bit },
	{ "32-bit, PSE 4 MiB and PSE-36", test_32bit_pse },
	{ "PAE", test_pae },
	{ "4-level, 4 KiB/2 MiB/1 GiB", test_4level },
	{ "5-level", test_5level },
	{ "canonical addresses", test_canonical },
	{ "the loader's tables", test_loader_tables },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo prot_tests[] = {
	{ "U/S, R/W, WP", test_user_supervisor },
	{ "NX", test_nx },
	{ "SMEP", test_smep },
	{ "SMAP", test_smap },
	{ "protection keys", test_pkeys },
	{ "NOPERM", test_noperm },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo ad_tests[] = {
	{ "accessed and dirty bits", test_accessed_dirty },
	{ "entry changed under the walk", test_ad_race },
	{ "concurrent walkers", test_ad_threads },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo err_tests[] = {
	{ "host errors", test_host_errors },
	{ "misaligned host memory", test_misaligned },
	{ "fault format", test_format },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "walk_modes", mode_tests },
	{ "walk_protection", prot_tests },
	{ "walk_accessed_dirty", ad_tests },
	{ "walk_errors", err_tests },
	{ NULL, NULL },
};
