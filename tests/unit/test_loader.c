/*
 * loader: ELF images built in memory are loaded into image_util.c's fake
 * guest memory through its loader_mem map callback, good ones and every kind of
 * bad one; the boot structures of loader_x86_setup() are decoded back.
 * With /dev/kvm, loader_boot() starts tiny 64-bit and 32-bit kernels.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elf.h>

#include "cunit.h"
#include "image_util.h"
#include "loader.h"
#include "x86.h"

#define MEM_SIZE (8u << 20)
#define FILL     FAKEMEM_FILL

/* Every test's guest memory: MEM_SIZE bytes of FILL, no hole. */
static void
mem_reset(void)
{
	fakemem_reset(MEM_SIZE);
}

/* ---- ELF images ------------------------------------------------------ */

static const unsigned char text[] = { 0x90, 0x90, 0xf4, 0xeb, 0xfd };
static const unsigned char data[] = "rhyve loader data";

/* Two segments: text at 1 MiB (entry), data + BSS at 2 MiB. */
static const struct image_seg good_segs[] = {
	{ PT_LOAD, 0x100000, 0x100000, text, sizeof(text), sizeof(text),
	  PF_R | PF_X },
	{ PT_LOAD, 0x200000, 0x200000, data, sizeof(data), 0x1000,
	  PF_R | PF_W },
};
#define GOOD_ENTRY   0x100000
#define GOOD_LOWEST  0x100000
#define GOOD_HIGHEST 0x201000

static unsigned char *
good64(size_t *lenp)
{
	return image_elf_build(ELFCLASS64, GOOD_ENTRY, EM_X86_64, good_segs, 2,
			       0, lenp);
}

static unsigned char *
good32(size_t *lenp)
{
	return image_elf_build(ELFCLASS32, GOOD_ENTRY, EM_386, good_segs, 2, 0,
			       lenp);
}

static Elf64_Ehdr *
eh64(unsigned char *img)
{
	return (Elf64_Ehdr *)img;
}

static Elf64_Phdr *
ph64(unsigned char *img, size_t i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

static Elf32_Phdr *
ph32(unsigned char *img, size_t i)
{
	return (Elf32_Phdr *)(img + sizeof(Elf32_Ehdr)) + i;
}

static char errbuf[256];

/* loader_elf_load() into the fake memory as it is now, errors to errbuf. */
static int
load(const void *img, size_t len, struct loader_image *out)
{
	return loader_elf_load(img, len, &fakemem_lmem, out, errbuf,
			       sizeof(errbuf));
}

/*
 * Load an image that must fail with 'want' in the message and leave the
 * guest memory alone.
 */
static void
expect_fail(const void *img, size_t len, const char *want)
{
	struct loader_image out;
	int rc;

	mem_reset();
	memset(errbuf, 0, sizeof(errbuf));
	rc = load(img, len, &out);
	CU_ASSERT_EQUAL(rc, -1);
	if (strstr(errbuf, want) == NULL)
		printf("\n  got \"%s\", want \"%s\"\n", errbuf, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, want));
	CU_ASSERT_PTR_NULL(strchr(errbuf, '\n'));
	CU_ASSERT_TRUE(fakemem_untouched());
	/* And the same without an error buffer must not crash. */
	CU_ASSERT_EQUAL(loader_elf_load(img, len, &fakemem_lmem, &out, NULL, 0),
			-1);
}

static void
check_good_load(const struct loader_image *out, enum loader_mode mode)
{
	CU_ASSERT_EQUAL(out->entry, GOOD_ENTRY);
	CU_ASSERT_EQUAL(out->mode, mode);
	CU_ASSERT_EQUAL(out->lowest, GOOD_LOWEST);
	CU_ASSERT_EQUAL(out->highest, GOOD_HIGHEST);
	CU_ASSERT_EQUAL(memcmp(fakemem.buf + 0x100000, text, sizeof(text)), 0);
	CU_ASSERT_EQUAL(fakemem.buf[0x100000 + sizeof(text)], FILL);
	CU_ASSERT_EQUAL(fakemem.buf[0x100000 - 1], FILL);
	CU_ASSERT_EQUAL(memcmp(fakemem.buf + 0x200000, data, sizeof(data)), 0);
	for (size_t i = sizeof(data); i < 0x1000; i++)
		if (fakemem.buf[0x200000 + i] != 0) {
			CU_FAIL("BSS not zeroed");
			break;
		}
	CU_ASSERT_EQUAL(fakemem.buf[0x201000], FILL);
}

/* ---- good images ----------------------------------------------------- */

static void
check_good(bool is64)
{
	struct loader_image out;
	unsigned char *img;
	size_t len;

	img = is64 ? good64(&len) : good32(&len);
	mem_reset();
	CU_ASSERT_EQUAL_FATAL(load(img, len, &out), 0);
	check_good_load(&out, is64 ? LOADER_MODE_LONG64 : LOADER_MODE_PROT32);
	CU_ASSERT_EQUAL(fakemem.buf[LOADER_BOOT_AREA_BASE], FILL);
	free(img);
}

static void
test_good64(void)
{
	check_good(true);
}

static void
test_good32(void)
{
	check_good(false);
}

/* A kernel linked high: e_entry virtual, translated through its segment. */
static void
test_virtual_entry(void)
{
	struct image_seg segs[2];
	struct loader_image out;
	unsigned char *img;
	size_t len;

	memcpy(segs, good_segs, sizeof(segs));
	segs[0].vaddr = 0xffffffff80100000ULL;
	segs[1].vaddr = 0xffffffff80200000ULL;
	img = image_elf_build(ELFCLASS64, 0xffffffff80100002ULL, EM_X86_64,
			      segs, 2, 0, &len);
	mem_reset();
	CU_ASSERT_EQUAL_FATAL(load(img, len, &out), 0);
	CU_ASSERT_EQUAL(out.entry, 0x100002);
	free(img);
}

/* Non-PT_LOAD headers and empty PT_LOADs are skipped; sections ignored. */
static void
test_skip_and_sections(void)
{
	struct image_seg segs[4];
	struct loader_image out;
	unsigned char *img;
	size_t len;

	segs[0] = (struct image_seg){ PT_NOTE, 0, 0, data, 4, 4, PF_R };
	segs[1] = good_segs[0];
	segs[2] = (struct image_seg){ PT_LOAD, 0x7fff0000000ULL, 0, NULL, 0, 0,
				      PF_R };
	segs[3] = good_segs[1];
	img = image_elf_build(ELFCLASS64, GOOD_ENTRY, EM_X86_64, segs, 4, 0,
			      &len);
	/* Section headers past the end of the file do not matter. */
	eh64(img)->e_shoff = 0x10000000;
	eh64(img)->e_shnum = 12;
	eh64(img)->e_shentsize = sizeof(Elf64_Shdr);
	eh64(img)->e_shstrndx = 11;
	mem_reset();
	CU_ASSERT_EQUAL_FATAL(load(img, len, &out), 0);
	check_good_load(&out, LOADER_MODE_LONG64);
	free(img);
}

/* Pure BSS: no file data, so its p_offset does not matter (fuzz find). */
static void
test_bss_only(void)
{
	struct image_seg segs[2] = { good_segs[0],
				     { PT_LOAD, 0x300000, 0x300000, NULL, 0,
				       0x2000, PF_R | PF_W } };
	struct loader_image out;
	unsigned char *img;
	size_t len;

	img = image_elf_build(ELFCLASS64, GOOD_ENTRY, EM_X86_64, segs, 2, 0,
			      &len);
	ph64(img, 1)->p_offset = UINT64_MAX - 0x10;
	mem_reset();
	CU_ASSERT_EQUAL_FATAL(load(img, len, &out), 0);
	CU_ASSERT_EQUAL(out.highest, 0x302000);
	CU_ASSERT_EQUAL(fakemem.buf[0x300000], 0);
	CU_ASSERT_EQUAL(fakemem.buf[0x301fff], 0);
	CU_ASSERT_EQUAL(fakemem.buf[0x302000], FILL);
	free(img);
}

/* A segment that ends exactly at the end of guest memory is fine. */
static void
test_segment_at_end(void)
{
	struct image_seg segs[1] = { good_segs[0] };
	struct loader_image out;
	unsigned char *img;
	size_t len;

	segs[0].paddr = segs[0].vaddr = MEM_SIZE - sizeof(text);
	img = image_elf_build(ELFCLASS64, MEM_SIZE - 2, EM_X86_64, segs, 1, 0,
			      &len);
	mem_reset();
	CU_ASSERT_EQUAL(load(img, len, &out), 0);
	CU_ASSERT_EQUAL(out.highest, MEM_SIZE);
	free(img);
}

/* ---- bad images ------------------------------------------------------ */

static void
test_not_elf(void)
{
	static const char txt[] = "#!/bin/sh\necho this is not a kernel\n";

	expect_fail(txt, sizeof(txt) - 1, "not an ELF file");
	expect_fail("", 0, "not an ELF file");
	expect_fail(NULL, 0, "not an ELF file");
	expect_fail("\177EL", 3, "not an ELF file");
}

static void
test_truncated_header(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	expect_fail(img, 10, "truncated ELF file");
	expect_fail(img, 40, "truncated ELF file: header");
	expect_fail(img, sizeof(Elf64_Ehdr) - 1, "truncated ELF file: header");
	/* Header whole, program headers cut. */
	expect_fail(img, sizeof(Elf64_Ehdr) + 60,
		    "truncated ELF file: program headers");
	free(img);
	img = good32(&len);
	expect_fail(img, sizeof(Elf32_Ehdr) - 1, "truncated ELF file: header");
	free(img);
}

static void
test_truncated_segment(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	expect_fail(
	    img, len - 1,
	    "truncated ELF file: segment 1 data [0xb5, 0xc7) lies past the end "
	    "of the file (198 bytes)");
	ph64(img, 0)->p_offset = UINT64_MAX - 2; /* offset + size wraps */
	expect_fail(img, len, "truncated ELF file: segment 0");
	free(img);
}

static void
test_wrong_machine(void)
{
	unsigned char *img;
	size_t len;

	img = image_elf_build(ELFCLASS64, GOOD_ENTRY, 183 /* EM_AARCH64 */,
			      good_segs, 2, 0, &len);
	expect_fail(img, len, "unsupported machine 183 (need x86-64 or i386)");
	free(img);
	img = image_elf_build(ELFCLASS32, GOOD_ENTRY, EM_ARM, good_segs, 2, 0,
			      &len);
	expect_fail(img, len, "unsupported machine 40");
	free(img);
	/* Class and machine disagree. */
	img = image_elf_build(ELFCLASS32, GOOD_ENTRY, EM_X86_64, good_segs, 2,
			      0, &len);
	expect_fail(img, len, "x32");
	free(img);
	img = image_elf_build(ELFCLASS64, GOOD_ENTRY, EM_386, good_segs, 2, 0,
			      &len);
	expect_fail(img, len, "64-bit ELF file for i386");
	free(img);
}

static void
test_wrong_ident(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	img[EI_CLASS] = 3;
	expect_fail(img, len, "unsupported ELF class 3");
	img[EI_CLASS] = ELFCLASSNONE;
	expect_fail(img, len, "unsupported ELF class 0");
	img[EI_CLASS] = ELFCLASS64;
	img[EI_DATA] = ELFDATA2MSB;
	expect_fail(img, len, "big-endian");
	img[EI_DATA] = 7;
	expect_fail(img, len, "data encoding 7");
	img[EI_DATA] = ELFDATA2LSB;
	img[EI_VERSION] = 2;
	expect_fail(img, len, "unsupported ELF version 2");
	img[EI_VERSION] = EV_CURRENT;
	eh64(img)->e_version = 9;
	expect_fail(img, len, "unsupported ELF version 9");
	free(img);
}

static void
test_not_exec(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	eh64(img)->e_type = ET_DYN;
	expect_fail(img, len, "not an executable (e_type 3");
	eh64(img)->e_type = ET_REL;
	expect_fail(img, len, "not an executable (e_type 1");
	eh64(img)->e_type = ET_CORE;
	expect_fail(img, len, "not an executable (e_type 4");
	free(img);
	/* An object file (no program headers) is told apart as such. */
	img = image_elf_build(ELFCLASS64, 0, EM_X86_64, good_segs, 0, 0, &len);
	eh64(img)->e_type = ET_REL;
	expect_fail(img, len, "not an executable (e_type 1");
	free(img);
}

static void
test_outside_memory(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	ph64(img, 1)->p_paddr = 0x7fff0000000ULL;
	expect_fail(
	    img, len,
	    "segment 1 [0x7fff0000000, 0x7fff0001000) lies outside guest "
	    "memory");
	/* Straddles the end of memory. */
	ph64(img, 1)->p_paddr = MEM_SIZE - 0x800;
	expect_fail(img, len, "segment 1 [0x7ff800, 0x800800) lies outside");
	/* A hole in the middle of memory. */
	ph64(img, 1)->p_paddr = 0x200000;
	mem_reset();
	fakemem.hole_base = 0x200800;
	fakemem.hole_end = 0x300000;
	{
		struct loader_image out;

		CU_ASSERT_EQUAL(load(img, len, &out), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "outside guest memory"));
	}
	free(img);
	/* A 32-bit segment past 4 GiB. */
	img = good32(&len);
	ph32(img, 1)->p_paddr = 0xfffff800;
	expect_fail(img, len, "above 4 GiB");
	free(img);
}

static void
test_boot_area(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	ph64(img, 1)->p_paddr = 0x8000;
	expect_fail(
	    img, len,
	    "segment 1 [0x8000, 0x9000) overlaps the loader's boot area "
	    "[0x1000, 0x9000)");
	ph64(img, 1)->p_paddr = 0x100;
	expect_fail(img, len, "overlaps the loader's boot area");
	ph64(img, 1)->p_paddr = 0x0;
	ph64(img, 1)->p_memsz = 0x1001;
	expect_fail(img, len, "overlaps the loader's boot area");
	/* Right up to it, and right after it, are fine. */
	ph64(img, 1)->p_memsz = 0x1000;
	mem_reset();
	{
		struct loader_image out;

		CU_ASSERT_EQUAL(load(img, len, &out), 0);
		ph64(img, 1)->p_paddr = LOADER_BOOT_AREA_END;
		CU_ASSERT_EQUAL(load(img, len, &out), 0);
		CU_ASSERT_EQUAL(out.lowest, LOADER_BOOT_AREA_END);
	}
	free(img);
}

static void
test_filesz_gt_memsz(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	ph64(img, 1)->p_memsz = 4;
	expect_fail(
	    img, len,
	    "segment 1: file size 0x12 is larger than its memory size 0x4");
	free(img);
}

static void
test_wrap(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	ph64(img, 1)->p_paddr = 0xfffffffffffff000ULL;
	ph64(img, 1)->p_memsz = 0x2000;
	expect_fail(img, len,
		    "segment 1: address 0xfffffffffffff000 + size "
		    "0x2000 wraps around");
	ph64(img, 1)->p_paddr = 0x200000;
	ph64(img, 1)->p_memsz = UINT64_MAX;
	expect_fail(img, len, "wraps around");
	/* Exactly to the top of the address space: does not wrap, no RAM. */
	ph64(img, 1)->p_paddr = 0xfffffffffffff000ULL;
	ph64(img, 1)->p_memsz = 0xfff;
	expect_fail(img, len, "outside guest memory");
	free(img);
}

static void
test_no_load(void)
{
	struct image_seg segs[2] = {
		{ PT_NOTE, 0, 0, data, 4, 4, PF_R },
		{ PT_GNU_STACK, 0, 0, NULL, 0, 0, PF_R | PF_W },
	};
	unsigned char *img;
	size_t len;

	img = image_elf_build(ELFCLASS64, GOOD_ENTRY, EM_X86_64, segs, 2, 0,
			      &len);
	expect_fail(img, len, "no loadable segments");
	/* PT_LOADs of size 0 load nothing either. */
	segs[0] = (struct image_seg){ PT_LOAD, 0x100000, 0x100000,   NULL,
				      0,       0,        PF_R | PF_X };
	free(img);
	img = image_elf_build(ELFCLASS64, GOOD_ENTRY, EM_X86_64, segs, 2, 0,
			      &len);
	expect_fail(img, len, "no loadable segments");
	free(img);
	img = image_elf_build(ELFCLASS64, GOOD_ENTRY, EM_X86_64, segs, 0, 0,
			      &len);
	expect_fail(img, len, "no program headers");
	free(img);
}

static void
test_huge_phnum(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	eh64(img)->e_phnum = 0xffff; /* PN_XNUM */
	expect_fail(img, len, "too many program headers (65535, at most 512)");
	eh64(img)->e_phnum = 513;
	expect_fail(img, len, "too many program headers");
	eh64(img)->e_phnum = 400;
	expect_fail(img, len, "truncated ELF file: program headers [0x40, ");
	eh64(img)->e_phnum = 2;
	eh64(img)->e_phoff = UINT64_MAX - 8;
	expect_fail(img, len, "truncated ELF file: program headers");
	eh64(img)->e_phoff = sizeof(Elf64_Ehdr);
	eh64(img)->e_phentsize = 32;
	expect_fail(img, len, "bad program header entry size 32 (need 56)");
	free(img);

	/* 512 headers are fine, as long as the file holds them. */
	{
		size_t n = 512;
		struct image_seg *segs = calloc(n, sizeof(*segs));
		struct loader_image out;

		for (size_t i = 0; i < n; i++) {
			segs[i] = good_segs[0];
			segs[i].paddr = segs[i].vaddr = 0x100000 + 0x10 * i;
		}
		img = image_elf_build(ELFCLASS64, GOOD_ENTRY, EM_X86_64, segs,
				      n, 0, &len);
		mem_reset();
		CU_ASSERT_EQUAL(load(img, len, &out), 0);
		CU_ASSERT_EQUAL(out.highest, 0x100000 + 0x10 * 511 + 5);
		free(img);
		free(segs);
	}
}

static void
test_bad_entry(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	eh64(img)->e_entry = 0x500000;
	expect_fail(img, len,
		    "entry point 0x500000 lies outside every loaded segment");
	eh64(img)->e_entry = 0x200010;
	expect_fail(
	    img, len,
	    "entry point 0x200010 lies in segment 1, which is not executable");
	eh64(img)->e_entry = 0x100000 + sizeof(text); /* one past the end */
	expect_fail(img, len, "lies outside every loaded segment");
	free(img);
}

static void
test_overlap(void)
{
	unsigned char *img;
	size_t len;

	img = good64(&len);
	ph64(img, 1)->p_paddr = 0x100004;
	expect_fail(
	    img, len,
	    "segment 1 [0x100004, 0x101004) overlaps segment 0 [0x100000, "
	    "0x100005)");
	free(img);
}

/* ---- loader_x86_setup ----------------------------------------------- */

static uint64_t
get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, fakemem.buf + gpa, sizeof(v));
	return v;
}

static void
check_desc(uint64_t gpa, uint32_t want_base, uint32_t want_limit,
	   uint32_t want_access)
{
	uint32_t base, limit, access;

	x86_desc_unpack(get64(gpa), &base, &limit, &access);
	CU_ASSERT_EQUAL(base, want_base);
	CU_ASSERT_EQUAL(limit, want_limit);
	CU_ASSERT_EQUAL(access, want_access);
}

static void
check_common_regs(const struct loader_regs *r)
{
	CU_ASSERT_EQUAL(r->rip, GOOD_ENTRY);
	CU_ASSERT_EQUAL(r->rsp, 0);
	CU_ASSERT_EQUAL(r->rflags, 0x2);
	CU_ASSERT_EQUAL(r->sel.cs, 0x08);
	CU_ASSERT_EQUAL(r->sel.ds, 0x10);
	CU_ASSERT_EQUAL(r->sel.es, 0x10);
	CU_ASSERT_EQUAL(r->sel.fs, 0x10);
	CU_ASSERT_EQUAL(r->sel.gs, 0x10);
	CU_ASSERT_EQUAL(r->sel.ss, 0x10);
	CU_ASSERT_EQUAL(r->sel.tr, 0x18);
	CU_ASSERT_EQUAL(r->sel.ldtr, 0);
	CU_ASSERT_EQUAL(r->ds.base, 0);
	CU_ASSERT_EQUAL(r->ds.limit, 0xffffffff);
	CU_ASSERT_EQUAL(r->ds.access, 0xc093);
	CU_ASSERT_EQUAL(r->ss.access, 0xc093);
	CU_ASSERT_EQUAL(r->es.access, 0xc093);
	CU_ASSERT_EQUAL(r->fs.access, 0xc093);
	CU_ASSERT_EQUAL(r->gs.access, 0xc093);
	CU_ASSERT_EQUAL(r->tr.base, LOADER_TSS_ADDR);
	CU_ASSERT_EQUAL(r->tr.limit, 0x67);
	CU_ASSERT_EQUAL(r->tr.access, SEG_ACC_P | SEG_ACC_TYPE(11));
	CU_ASSERT_TRUE(r->ldtr.access & SEG_ACC_UNUSABLE);
	CU_ASSERT_EQUAL(r->gdtr.base, LOADER_GDT_ADDR);
	CU_ASSERT_EQUAL(r->gdtr.limit, 0x27);
	CU_ASSERT_EQUAL(r->idtr.base, 0);
	CU_ASSERT_EQUAL(r->idtr.limit, 0);

	/* The GDT says what the registers say. */
	CU_ASSERT_EQUAL(get64(LOADER_GDT_ADDR), 0);
	check_desc(LOADER_GDT_ADDR + 0x08, 0, 0xffffffff, r->cs.access);
	check_desc(LOADER_GDT_ADDR + 0x10, 0, 0xffffffff, 0xc093);
	check_desc(LOADER_GDT_ADDR + 0x18, LOADER_TSS_ADDR, 0x67, 0x8b);
	CU_ASSERT_EQUAL(get64(LOADER_GDT_ADDR + 0x20), 0); /* base 63:32 */
	/* TSS: I/O map base past the limit (no bitmap). */
	CU_ASSERT_EQUAL(fakemem.buf[LOADER_TSS_ADDR + 102], 0x68);
	CU_ASSERT_EQUAL(fakemem.buf[LOADER_TSS_ADDR + 103], 0);
	CU_ASSERT_EQUAL(get64(LOADER_TSS_ADDR + 4), 0); /* rsp0 */
}

static void
setup_image(enum loader_mode mode, struct loader_regs *regs)
{
	struct loader_image out;
	unsigned char *img;
	size_t len;

	img = mode == LOADER_MODE_LONG64 ? good64(&len) : good32(&len);
	mem_reset();
	CU_ASSERT_EQUAL_FATAL(load(img, len, &out), 0);
	free(img);
	memset(regs, 0xff, sizeof(*regs));
	CU_ASSERT_EQUAL_FATAL(
	    loader_x86_setup(&fakemem_lmem, &out, regs, errbuf, sizeof(errbuf)),
	    0);
	/* The kernel itself is left alone. */
	check_good_load(&out, mode);
}

static void
test_x86_long64(void)
{
	struct loader_regs r;

	setup_image(LOADER_MODE_LONG64, &r);
	check_common_regs(&r);
	CU_ASSERT_EQUAL(r.cr0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
	CU_ASSERT_EQUAL(r.cr3, LOADER_PML4_ADDR);
	CU_ASSERT_EQUAL(r.cr4, CR4_PAE);
	CU_ASSERT_EQUAL(r.efer, EFER_LME | EFER_LMA);
	CU_ASSERT_EQUAL(r.cs.base, 0);
	CU_ASSERT_EQUAL(r.cs.access, 0xa09b); /* G L P S type 11, no D */
	CU_ASSERT_FALSE(r.cs.access & SEG_ACC_DB);

	/* Page tables: PML4[0] -> PDPT, PDPT[0..3] -> four directories. */
	CU_ASSERT_EQUAL(get64(LOADER_PML4_ADDR), 0x3003);
	for (uint64_t i = 1; i < 512; i++)
		CU_ASSERT_EQUAL(get64(LOADER_PML4_ADDR + 8 * i), 0);
	for (uint64_t i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(get64(LOADER_PDPT_ADDR + 8 * i),
				(0x4000 + 0x1000 * i) | 3);
	CU_ASSERT_EQUAL(get64(LOADER_PDPT_ADDR + 8 * 4), 0);
	CU_ASSERT_EQUAL(get64(LOADER_PD_ADDR), 0x83);
	CU_ASSERT_EQUAL(get64(LOADER_PD_ADDR + 8), 0x200083);
	/* The PDE for 0xff000000: directory 3, entry 504. */
	CU_ASSERT_EQUAL(get64(0x7000 + 8 * 504), 0xff000083);
	CU_ASSERT_EQUAL(get64(LOADER_PD_ADDR + 8 * ((0xff000000ULL >> 21))),
			0xff000083);
	CU_ASSERT_EQUAL(get64(0x7ff8), 0xffe00083); /* last 2 MiB page */
	/* Walk every 2 MiB page: identity. */
	for (uint64_t va = 0; va < (4ULL << 30); va += 2 << 20) {
		uint64_t pdpte = get64(LOADER_PDPT_ADDR + 8 * (va >> 30));
		uint64_t pde =
		    get64((pdpte & ~0xfffULL) + 8 * ((va >> 21) & 511));

		if ((pde & ~0xfffULL) != va || (pde & 0xfff) != 0x83) {
			CU_FAIL("page tables are not an identity map");
			break;
		}
	}
	CU_ASSERT_EQUAL(fakemem.buf[LOADER_BOOT_AREA_END], FILL);
	CU_ASSERT_EQUAL(fakemem.buf[LOADER_BOOT_AREA_BASE - 1], FILL);
}

static void
test_x86_prot32(void)
{
	struct loader_regs r;

	setup_image(LOADER_MODE_PROT32, &r);
	check_common_regs(&r);
	CU_ASSERT_EQUAL(r.cr0, CR0_PE | CR0_ET | CR0_NE);
	CU_ASSERT_EQUAL(r.cr3, 0);
	CU_ASSERT_EQUAL(r.cr4, 0);
	CU_ASSERT_EQUAL(r.efer, 0);
	CU_ASSERT_EQUAL(r.cs.access, 0xc09b); /* G D P S type 11, no L */
	CU_ASSERT_EQUAL(r.cs.limit, 0xffffffff);
	/* No page tables for a flat 32-bit kernel; the area is cleared. */
	CU_ASSERT_EQUAL(get64(LOADER_PML4_ADDR), 0);
	CU_ASSERT_EQUAL(get64(LOADER_PD_ADDR), 0);
	CU_ASSERT_EQUAL(fakemem.buf[LOADER_BOOT_AREA_END], FILL);
}

static void
test_x86_errors(void)
{
	struct loader_image img = { .entry = GOOD_ENTRY,
				    .mode = LOADER_MODE_LONG64 };
	struct loader_regs r;

	mem_reset();
	fakemem.hole_base = 0x8000;
	fakemem.hole_end = 0x8001;
	CU_ASSERT_EQUAL(
	    loader_x86_setup(&fakemem_lmem, &img, &r, errbuf, sizeof(errbuf)),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    errbuf,
	    "guest memory does not cover the boot area [0x1000, 0x9000)"));
	CU_ASSERT_TRUE(fakemem_untouched());

	mem_reset();
	img.entry = 1ULL << 32;
	CU_ASSERT_EQUAL(
	    loader_x86_setup(&fakemem_lmem, &img, &r, errbuf, sizeof(errbuf)),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "above 4 GiB"));
	img.entry = GOOD_ENTRY;
	img.mode = (enum loader_mode)7;
	CU_ASSERT_EQUAL(loader_x86_setup(&fakemem_lmem, &img, &r, NULL, 0), -1);
	CU_ASSERT_TRUE(fakemem_untouched());
	CU_ASSERT_EQUAL(loader_set_regs(NULL, &r), EINVAL);
}

/* ---- loader_boot with /dev/kvm --------------------------------------- */

static char tmpdir[] = "/tmp/rhyve-test-loader-XXXXXX";

static const char *
write_tmp(const char *name, const void *buf, size_t len)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	if (len > 0)
		CU_ASSERT_EQUAL(fwrite(buf, 1, len, fp), len);
	fclose(fp);
	return path;
}

static struct vm *
kvm_vm(struct vcpu **vcpup)
{
	char err[256];
	struct vm *vm = NULL;
	int error;

	error = vm_create("test-loader", "kvm", &vm, err, sizeof(err));
	if (error != 0)
		printf("\n  vm_create: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(error, 0);
	CU_ASSERT_EQUAL_FATAL(vm_setup_memory(vm, 16 << 20), 0);
	CU_ASSERT_EQUAL_FATAL(vm_vcpu_create(vm, 0, vcpup), 0);
	return vm;
}

/*
 * Run until an exit other than BOGUS; the test guests only do port and
 * MMIO accesses the test checks.
 */
static void
kvm_run(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	int error;

	do {
		error = vm_run(vcpu, vmexit);
		CU_ASSERT_EQUAL_FATAL(error, 0);
	} while (vmexit->exitcode == VM_EXITCODE_BOGUS);
}

static void
boot_and_check(const unsigned char *code, size_t codelen, bool is64)
{
	struct image_seg seg = { PT_LOAD, 0x100000, 0x100000,   code,
				 codelen, codelen,  PF_R | PF_X };
	struct vm_exit vmexit;
	struct vcpu *vcpu;
	unsigned char *img;
	const char *path;
	struct vm *vm;
	uint32_t val;
	size_t len;

	img = image_elf_build(is64 ? ELFCLASS64 : ELFCLASS32, 0x100000,
			      is64 ? EM_X86_64 : EM_386, &seg, 1, 0, &len);
	path = write_tmp(is64 ? "k64.elf" : "k32.elf", img, len);
	free(img);

	vm = kvm_vm(&vcpu);
	errbuf[0] = '\0';
	if (loader_boot(vm, path, errbuf, sizeof(errbuf)) != 0)
		printf("\n  loader_boot: %s\n", errbuf);
	CU_ASSERT_EQUAL_FATAL(errbuf[0], '\0');

	/* out %eax, $0x80 with the value only the right mode computes. */
	kvm_run(vcpu, &vmexit);
	CU_ASSERT_EQUAL(vmexit.exitcode, VM_EXITCODE_INOUT);
	if (vmexit.exitcode == VM_EXITCODE_INOUT) {
		CU_ASSERT_EQUAL(vmexit.u.inout.port, 0x80);
		CU_ASSERT_EQUAL(vmexit.u.inout.bytes, 4);
		CU_ASSERT_FALSE(vmexit.u.inout.in);
		memcpy(&val, vmexit.u.inout.data, 4);
		CU_ASSERT_EQUAL(val, is64 ? 0x11223344 : 0x12345678);
	}
	/* A read of 0xff000000: the boot mappings reach it (no RAM). */
	kvm_run(vcpu, &vmexit);
	CU_ASSERT_EQUAL(vmexit.exitcode, VM_EXITCODE_MMIO);
	if (vmexit.exitcode == VM_EXITCODE_MMIO) {
		CU_ASSERT_EQUAL(vmexit.u.mmio.gpa, 0xff000000);
		CU_ASSERT_FALSE(vmexit.u.mmio.write);
		CU_ASSERT_EQUAL(vmexit.u.mmio.bytes, 4);
	}
	vm_destroy(vm);
}

static void
test_boot_kvm64(void)
{
	static const unsigned char code[] = {
		/* movabs $0x1122334455667788, %rax */
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		0x48, 0xc1, 0xe8, 0x20, /* shr $32, %rax */
		0xe7, 0x80,             /* out %eax, $0x80 */
		/* movabs $0xff000000, %rax */
		0x48, 0xb8, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00,
		0x8b, 0x00, /* mov (%rax), %eax */
		0xf4,       /* hlt */
		0xeb, 0xfd, /* jmp hlt */
	};

	if (!unit_have_kvm())
		return;
	boot_and_check(code, sizeof(code), true);
}

static void
test_boot_kvm32(void)
{
	static const unsigned char code[] = {
		0xb8, 0x78, 0x56, 0x34, 0x12, /* mov $0x12345678, %eax */
		0xe7, 0x80,                   /* out %eax, $0x80 */
		0xa1, 0x00, 0x00, 0x00, 0xff, /* mov 0xff000000, %eax */
		0xf4,                         /* hlt */
		0xeb, 0xfd,                   /* jmp hlt */
	};

	if (!unit_have_kvm())
		return;
	boot_and_check(code, sizeof(code), false);
}

static void
expect_boot_fail(struct vm *vm, const char *path, const char *want)
{
	char expect[512];

	errbuf[0] = '\0';
	CU_ASSERT_EQUAL(loader_boot(vm, path, errbuf, sizeof(errbuf)), -1);
	snprintf(expect, sizeof(expect), "%s: %s", path, want);
	if (strncmp(errbuf, expect, strlen(expect)) != 0)
		printf("\n  got \"%s\", want \"%s\"\n", errbuf, expect);
	CU_ASSERT_EQUAL(strncmp(errbuf, expect, strlen(expect)), 0);
	CU_ASSERT_PTR_NULL(strchr(errbuf, '\n'));
}

static void
test_boot_errors(void)
{
	char path[256];
	struct vcpu *vcpu;
	unsigned char *img;
	struct vm *vm;
	size_t len;
	int fd;

	if (!unit_have_kvm())
		return;
	vm = kvm_vm(&vcpu);
	snprintf(path, sizeof(path), "%s/missing.elf", tmpdir);
	expect_boot_fail(vm, path, "No such file or directory");
	expect_boot_fail(vm, tmpdir, "is a directory");
	expect_boot_fail(vm, "/dev/null", "not a regular file");
	expect_boot_fail(vm, write_tmp("empty.elf", "", 0), "empty file");
	expect_boot_fail(vm, write_tmp("text.elf", "hello\n", 6),
			 "not an ELF file");
	img = good64(&len);
	eh64(img)->e_machine = 183;
	expect_boot_fail(vm, write_tmp("arm.elf", img, len),
			 "unsupported machine 183");
	eh64(img)->e_machine = EM_X86_64;
	expect_boot_fail(vm, write_tmp("trunc.elf", img, len - 3),
			 "truncated ELF file: segment 1");
	ph64(img, 0)->p_paddr = 0x7fff0000000ULL;
	expect_boot_fail(
	    vm, write_tmp("far.elf", img, len),
	    "segment 0 [0x7fff0000000, 0x7fff0000005) lies outside guest "
	    "memory");
	free(img);
	/* Bigger than the VM's 16 MiB (sparse). */
	snprintf(path, sizeof(path), "%s/huge.elf", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 32 << 20), 0);
	close(fd);
	expect_boot_fail(
	    vm, path,
	    "file is 33554432 bytes, larger than guest memory (16777216 "
	    "bytes)");
	vm_destroy(vm);
}

static void
test_boot_cleanup(void)
{
	static const char *const names[] = { "k64.elf",  "k32.elf", "empty.elf",
					     "text.elf", "arm.elf", "trunc.elf",
					     "far.elf",  "huge.elf" };
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	CU_ASSERT_EQUAL(rmdir(tmpdir), 0);
	fakemem_free();
}

static void
test_boot_init(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
}

static CU_TestInfo elf_tests[] = {
	{ "good ELF64", test_good64 },
	{ "good ELF32", test_good32 },
	{ "virtual entry point", test_virtual_entry },
	{ "other headers skipped, sections ignored", test_skip_and_sections },
	{ "BSS-only segment", test_bss_only },
	{ "segment at the end of memory", test_segment_at_end },
	{ "not ELF", test_not_elf },
	{ "truncated header", test_truncated_header },
	{ "truncated segment data", test_truncated_segment },
	{ "wrong machine", test_wrong_machine },
	{ "wrong class/endianness/version", test_wrong_ident },
	{ "not ET_EXEC", test_not_exec },
	{ "segment outside memory", test_outside_memory },
	{ "segment overlapping the boot area", test_boot_area },
	{ "filesz > memsz", test_filesz_gt_memsz },
	{ "address wrap-around", test_wrap },
	{ "no PT_LOAD", test_no_load },
	{ "huge phnum", test_huge_phnum },
	{ "bad entry point", test_bad_entry },
	{ "overlapping segments", test_overlap },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo x86_tests[] = {
	{ "long mode setup", test_x86_long64 },
	{ "32-bit protected mode setup", test_x86_prot32 },
	{ "setup errors", test_x86_errors },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo boot_tests[] = {
	{ "init", test_boot_init },
	{ "64-bit kernel under kvm", test_boot_kvm64 },
	{ "32-bit kernel under kvm", test_boot_kvm32 },
	{ "loader_boot errors", test_boot_errors },
	{ "cleanup", test_boot_cleanup },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "loader_elf", elf_tests },
	{ "loader_x86", x86_tests },
	{ "loader_boot", boot_tests },
	{ NULL, NULL },
};
