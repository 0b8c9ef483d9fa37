/*
 * emul's segmentation checks (x86_seg_linear): limits incl. expand-down
 * and the big flag, types, null/unusable segments, real mode, 64-bit
 * mode's flat segments with FS/GS bases and the canonical check.
 */
#include "cunit.h"
#include "x86.h"

#define ACC(type) (X86_SEG_TYPE(type) | X86_SEG_S | X86_SEG_P)
#define DATA_RW   0x3 /* read/write, accessed */
#define DATA_RO   0x1
#define DATA_RWED 0x7 /* read/write, expand-down */
#define CODE_XR   0xb /* execute/read */
#define CODE_X    0x9 /* execute-only */

#define R         X86_MEM_READ
#define W         X86_MEM_WRITE
#define X         X86_MEM_EXEC

static const struct x86_segdesc flat = { 0, 0xffffffff,
					 ACC(DATA_RW) | X86_SEG_DB };

static int
lin(const struct x86_segdesc *d, unsigned int seg, enum x86_seg_mode mode,
    unsigned int asz, uint64_t off, size_t size, int acc, uint64_t *gla,
    unsigned int *vec)
{
	struct x86_fault f = { .vector = 99 };
	int r;

	*gla = 0xbad;
	r = x86_seg_linear(d, seg, mode, asz, off, size, acc, gla, &f);
	*vec = r ? f.vector : 0;
	if (r) {
		CU_ASSERT_EQUAL(f.error_code, 0);
	}
	return r;
}

#define SEG_OK(d, seg, mode, asz, off, size, acc, want)                        \
	do {                                                                   \
		uint64_t g_;                                                   \
		unsigned int v_;                                               \
		CU_ASSERT_EQUAL(                                               \
		    lin(d, seg, mode, asz, off, size, acc, &g_, &v_), 0);      \
		CU_ASSERT_EQUAL(g_, (uint64_t)(want));                         \
	} while (0)

#define SEG_FAULT(d, seg, mode, asz, off, size, acc, vec)                      \
	do {                                                                   \
		uint64_t g_;                                                   \
		unsigned int v_;                                               \
		CU_ASSERT_EQUAL(                                               \
		    lin(d, seg, mode, asz, off, size, acc, &g_, &v_), 1);      \
		CU_ASSERT_EQUAL(v_, (vec));                                    \
	} while (0)

#define PROT X86_SEGM_PROT
#define DS   X86_R_DS
#define SS   X86_R_SS
#define GP   X86_VEC_GP
#define SSV  X86_VEC_SS

static void
test_flat32(void)
{
	SEG_OK(&flat, DS, PROT, 4, 0x1000, 4, R, 0x1000);
	SEG_OK(&flat, DS, PROT, 4, 0xfffffffc, 4, W, 0xfffffffc);
	SEG_OK(&flat, SS, PROT, 4, 0xffffffff, 1, W, 0xffffffff);
	/* no wrap-around at 4 GiB */
	SEG_FAULT(&flat, DS, PROT, 4, 0xfffffffd, 4, R, GP);
	SEG_FAULT(&flat, SS, PROT, 4, 0xffffffff, 2, W, SSV);
	/* size 0 counts as 1 */
	SEG_OK(&flat, DS, PROT, 4, 0xffffffff, 0, R, 0xffffffff);
	/* the base is added modulo 2^32 */
	{
		struct x86_segdesc d = flat;

		d.base = 0xfffff000;
		SEG_OK(&d, DS, PROT, 4, 0x2000, 4, R, 0x1000);
	}
	/* the address size truncates the offset */
	SEG_OK(&flat, DS, PROT, 2, 0x12345, 2, R, 0x2345);
	SEG_OK(&flat, DS, PROT, 4, 0x123456789ULL, 2, R, 0x23456789);
}

static void
test_limits(void)
{
	struct x86_segdesc d = { 0x10000, 0xfff, ACC(DATA_RW) | X86_SEG_DB };

	SEG_OK(&d, DS, PROT, 4, 0, 1, R, 0x10000);
	SEG_OK(&d, DS, PROT, 4, 0xffc, 4, R, 0x10ffc);
	SEG_FAULT(&d, DS, PROT, 4, 0xffd, 4, R, GP);
	SEG_FAULT(&d, DS, PROT, 4, 0x1000, 1, W, GP);
	SEG_FAULT(&d, SS, PROT, 4, 0x1000, 1, W, SSV);
	SEG_FAULT(&d, X86_R_ES, PROT, 4, 0xfff, 2, R, GP);
	/* a big access (FXSAVE-sized) */
	SEG_OK(&d, DS, PROT, 4, 0xe00, 512, W, 0x10e00);
	SEG_FAULT(&d, DS, PROT, 4, 0xe01, 512, W, GP);
	/* a code segment's limit counts for fetches */
	d.access = ACC(CODE_XR) | X86_SEG_DB;
	SEG_OK(&d, X86_R_CS, PROT, 4, 0xff0, 15, X, 0x10ff0);
	SEG_FAULT(&d, X86_R_CS, PROT, 4, 0xff2, 15, X, GP);
}

static void
test_expand_down(void)
{
	/* B=1: valid offsets limit+1 .. 0xffffffff */
	struct x86_segdesc d = { 0, 0xfff, ACC(DATA_RWED) | X86_SEG_DB };

	SEG_FAULT(&d, DS, PROT, 4, 0xfff, 1, R, GP);
	SEG_FAULT(&d, DS, PROT, 4, 0xffe, 4, R, GP);
	SEG_OK(&d, DS, PROT, 4, 0x1000, 4, R, 0x1000);
	SEG_OK(&d, DS, PROT, 4, 0xfffffffc, 4, W, 0xfffffffc);
	SEG_FAULT(&d, DS, PROT, 4, 0xfffffffd, 4, W, GP);
	/* the stack case */
	SEG_FAULT(&d, SS, PROT, 4, 0x0, 4, W, SSV);
	SEG_OK(&d, SS, PROT, 4, 0x10000, 4, W, 0x10000);
	/* B=0: the upper bound is 0xffff */
	d.access = ACC(DATA_RWED);
	SEG_OK(&d, SS, PROT, 4, 0xfffe, 2, W, 0xfffe);
	SEG_FAULT(&d, SS, PROT, 4, 0xffff, 2, W, SSV);
	SEG_FAULT(&d, DS, PROT, 4, 0x10000, 1, R, GP);
	/* limit 0xffffffff (G=1, all ones) expand-down: nothing is valid */
	d.limit = 0xffffffff;
	d.access |= X86_SEG_DB;
	SEG_FAULT(&d, DS, PROT, 4, 0xffffffff, 1, R, GP);
	/* limit 0: everything but offset 0 */
	d.limit = 0;
	SEG_FAULT(&d, DS, PROT, 4, 0, 1, R, GP);
	SEG_OK(&d, DS, PROT, 4, 1, 1, R, 1);
}

static void
test_types(void)
{
	struct x86_segdesc d = flat;

	d.access = ACC(DATA_RO) | X86_SEG_DB;
	SEG_OK(&d, DS, PROT, 4, 0x100, 4, R, 0x100);
	SEG_FAULT(&d, DS, PROT, 4, 0x100, 4, W, GP);
	SEG_FAULT(&d, SS, PROT, 4, 0x100, 4, W, SSV);
	d.access = ACC(CODE_XR) | X86_SEG_DB;
	SEG_OK(&d, X86_R_CS, PROT, 4, 0x100, 4, R, 0x100);
	SEG_OK(&d, DS, PROT, 4, 0x100, 4, R, 0x100); /* readable code in DS */
	SEG_FAULT(&d, X86_R_CS, PROT, 4, 0x100, 4, W, GP);
	SEG_OK(&d, X86_R_CS, PROT, 4, 0x100, 4, X, 0x100);
	d.access = ACC(CODE_X) | X86_SEG_DB;
	SEG_FAULT(&d, X86_R_CS, PROT, 4, 0x100, 4, R, GP);
	SEG_OK(&d, X86_R_CS, PROT, 4, 0x100, 4, X, 0x100);
	/* conforming code (type 0xe/0xf): the same rules */
	d.access = ACC(0xf) | X86_SEG_DB;
	SEG_OK(&d, X86_R_CS, PROT, 4, 0x100, 4, R, 0x100);
	SEG_FAULT(&d, X86_R_CS, PROT, 4, 0x100, 4, W, GP);
	/* an invalid access type */
	d = flat;
	SEG_FAULT(&d, DS, PROT, 4, 0x100, 4, 3, GP);
}

static void
test_null(void)
{
	struct x86_segdesc d = flat;

	d.access |= X86_SEG_UNUSABLE;
	SEG_FAULT(&d, DS, PROT, 4, 0, 1, R, GP);
	SEG_FAULT(&d, X86_R_FS, PROT, 4, 0, 1, W, GP);
	SEG_FAULT(&d, SS, PROT, 4, 0, 1, R, SSV);
	/* not present, system descriptor */
	d = flat;
	d.access &= ~X86_SEG_P;
	SEG_FAULT(&d, DS, PROT, 4, 0, 1, R, GP);
	d = flat;
	d.access &= ~X86_SEG_S;
	SEG_FAULT(&d, DS, PROT, 4, 0, 1, R, GP);
	/* 64-bit mode does not look at any of it */
	d.access = X86_SEG_UNUSABLE;
	SEG_OK(&d, DS, X86_SEGM_64, 8, 0x1234, 8, W, 0x1234);
	SEG_OK(&d, SS, X86_SEGM_64, 8, 0x1234, 8, W, 0x1234);
}

static void
test_real(void)
{
	struct x86_segdesc d = { 0x12340, 0xffff, ACC(DATA_RW) };
	struct x86_segdesc cs = { 0xf0000, 0xffff, ACC(CODE_XR) };

	SEG_OK(&d, DS, X86_SEGM_REAL, 2, 0x10, 2, R, 0x12350);
	SEG_OK(&d, DS, X86_SEGM_REAL, 2, 0xfffe, 2, W, 0x2233e);
	/* segment overrun: exception 13 (or 12 for SS) */
	SEG_FAULT(&d, DS, X86_SEGM_REAL, 2, 0xffff, 2, R, GP);
	SEG_FAULT(&d, SS, X86_SEGM_REAL, 2, 0xffff, 2, W, SSV);
	/* a write through CS is allowed in real mode */
	SEG_OK(&cs, X86_R_CS, X86_SEGM_REAL, 2, 0x100, 2, W, 0xf0100);
	SEG_FAULT(&cs, X86_R_CS, PROT, 2, 0x100, 2, W, GP);
	/* "unreal" mode: the cached 4 GiB limit holds */
	d.base = 0;
	d.limit = 0xffffffff;
	SEG_OK(&d, DS, X86_SEGM_REAL, 4, 0x100000, 4, R, 0x100000);
	/* real mode takes no unusable/present checks */
	d.access |= X86_SEG_UNUSABLE;
	SEG_OK(&d, DS, X86_SEGM_REAL, 4, 0x100000, 4, R, 0x100000);
}

static void
test_64bit(void)
{
	struct x86_segdesc d = { 0x1000, 0x10, ACC(DATA_RO) };
	const enum x86_seg_mode M = X86_SEGM_64;

	/* no base, no limit, no type checks for ES/CS/SS/DS */
	SEG_OK(&d, DS, M, 8, 0x7fff00000000ULL, 8, W, 0x7fff00000000ULL);
	SEG_OK(&d, X86_R_ES, M, 8, 0x100, 8, W, 0x100);
	SEG_OK(&d, X86_R_CS, M, 8, 0x100, 8, X, 0x100);
	SEG_OK(&d, SS, M, 8, 0xffff800000000000ULL, 8, W,
	       0xffff800000000000ULL);
	/* FS and GS bases */
	d.base = 0xffff888000000000ULL;
	SEG_OK(&d, X86_R_FS, M, 8, 0x28, 8, R, 0xffff888000000028ULL);
	SEG_OK(&d, X86_R_GS, M, 8, 0x10, 8, W, 0xffff888000000010ULL);
	/* the base wraps modulo 2^64 */
	d.base = 0xfffffffffffff000ULL;
	SEG_OK(&d, X86_R_GS, M, 8, 0x2000, 8, R, 0x1000);
	/* 32-bit address size: offset truncated, then the base added */
	d.base = 0x100000000ULL;
	SEG_OK(&d, X86_R_FS, M, 4, 0x1ffffffffULL, 1, R, 0x1ffffffffULL);
	/* non-canonical: #GP(0), #SS(0) for SS or stack references */
	SEG_FAULT(&d, DS, M, 8, 0x0000800000000000ULL, 1, R, GP);
	SEG_FAULT(&d, SS, M, 8, 0x0000800000000000ULL, 8, W, SSV);
	SEG_FAULT(&d, DS, M, 8, 0x0000800000000000ULL, 8, R | X86_MEM_STACK,
		  SSV);
	d.base = 0x00007ffffffff000ULL;
	SEG_FAULT(&d, X86_R_FS, M, 8, 0x1000, 1, R, GP);
	/* an access that runs off the lower half */
	SEG_FAULT(&d, DS, M, 8, 0x00007ffffffffffcULL, 8, R, GP);
	SEG_OK(&d, DS, M, 8, 0x00007ffffffffff8ULL, 8, R,
	       0x00007ffffffffff8ULL);
	/* 57-bit addresses */
	SEG_OK(&d, DS, X86_SEGM_64_LA57, 8, 0x0000800000000000ULL, 8, R,
	       0x0000800000000000ULL);
	SEG_FAULT(&d, DS, X86_SEGM_64_LA57, 8, 0x0100000000000000ULL, 8, R, GP);
}

static void
test_mode_of(void)
{
	const uint32_t l = X86_SEG_L | ACC(CODE_XR),
		       c32 = ACC(CODE_XR) | X86_SEG_DB;

	CU_ASSERT_EQUAL(x86_seg_mode_of(0, 0, 0, 0, c32), X86_SEGM_REAL);
	CU_ASSERT_EQUAL(x86_seg_mode_of(CR0_PE, 0, 0, 0, c32), X86_SEGM_PROT);
	CU_ASSERT_EQUAL(x86_seg_mode_of(CR0_PE, 0, 0, PSL_VM, c32),
			X86_SEGM_REAL);
	CU_ASSERT_EQUAL(x86_seg_mode_of(CR0_PE | CR0_PG, CR4_PAE,
					EFER_LME | EFER_LMA, 0, c32),
			X86_SEGM_PROT); /* compatibility mode */
	CU_ASSERT_EQUAL(x86_seg_mode_of(CR0_PE | CR0_PG, CR4_PAE,
					EFER_LME | EFER_LMA, 0, l),
			X86_SEGM_64);
	CU_ASSERT_EQUAL(x86_seg_mode_of(CR0_PE | CR0_PG, CR4_PAE | CR4_LA57,
					EFER_LME | EFER_LMA, 0, l),
			X86_SEGM_64_LA57);
	/* CS.L without LMA means nothing */
	CU_ASSERT_EQUAL(x86_seg_mode_of(CR0_PE, 0, 0, 0, l), X86_SEGM_PROT);
}

/* Segmentation then paging, as an access goes. */
static uint32_t pd_page[1024] __attribute__((aligned(4096)));

static void *
pd_map(void *arg, uint64_t gpa, size_t len)
{
	return gpa + len <= sizeof(pd_page) ? (uint8_t *)pd_page + gpa : NULL;
}

static void
test_with_paging(void)
{
	struct x86_segdesc d = { 0x400000, 0xffff, ACC(DATA_RW) | X86_SEG_DB };
	struct x86_paging pg = { .cr0 = CR0_PE | CR0_PG, .cr4 = CR4_PSE };
	struct x86_mem m = { pd_map, NULL };
	struct x86_fault f;
	uint64_t gla, gpa;

	/* 32-bit paging, the PD at 0, one 4 MiB page 0x400000 -> 16 MiB */
	pd_page[1] = 0x1000000 | (uint32_t)(PG_V | PG_RW | PG_PS);
	CU_ASSERT_EQUAL(x86_seg_linear(&d, DS, PROT, 4, 0x1234, 4, W, &gla, &f),
			0);
	CU_ASSERT_EQUAL(gla, 0x401234);
	CU_ASSERT_EQUAL(x86_gla2gpa(&pg, &m, gla, W, &gpa, &f), 0);
	CU_ASSERT_EQUAL(gpa, 0x1001234);
	CU_ASSERT_EQUAL(pd_page[1] & (PG_A | PG_M), PG_A | PG_M);
	/* beyond the limit, paging is never asked */
	CU_ASSERT_EQUAL(
	    x86_seg_linear(&d, DS, PROT, 4, 0x10000, 1, R, &gla, &f), 1);
	CU_ASSERT_EQUAL(f.vector, X86_VEC_GP);
}

static CU_TestInfo seg_tests[] = {
	{ "flat 32-bit", test_flat32 },      { "limits", test_limits },
	{ "expand-down", test_expand_down }, { "types", test_types },
	{ "null and unusable", test_null },  { "real mode", test_real },
	{ "64-bit mode", test_64bit },       { "mode", test_mode_of },
	{ "with paging", test_with_paging }, CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "walk_segments", seg_tests },
	{ NULL, NULL },
};
