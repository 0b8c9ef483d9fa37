/*
 * loader: multiboot v1.  Kernels built in memory (ELF32 and ELF64 with a
 * multiboot header, raw images with the address fields of flag 16) are
 * loaded into a plain buffer standing in for guest memory; the multiboot
 * information is decoded back and checked field by field, and every kind
 * of malformed header gets its one-line error.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit.h"
#include "image_util.h"
#include "loader.h"
#include "x86.h"

#define MEM_SIZE (16u << 20)
#define FILL     FAKEMEM_FILL
#define KBASE    0x100000u
#define INFO     LOADER_INFO_ADDR

static char errbuf[512];

static uint32_t
rd32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, fakemem.buf + gpa, 4);
	return v;
}

static uint64_t
rd64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, fakemem.buf + gpa, 8);
	return v;
}

static void
put32(unsigned char *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

/* ---- kernels ------------------------------------------------------------ */

/* cli; hlt; jmp .-1 */
static const unsigned char code[] = { 0xfa, 0xf4, 0xeb, 0xfd };

#define HDR_OFF    0x80 /* the multiboot header inside the text */
#define TEXT_SIZE  0x200
#define BSS_SIZE   0x1000
#define MB_MAGIC   0x1badb002u
#define MB_AOUT    0x00010000u
#define MB_PAGEMEM 0x00000003u

/* Header: magic, flags, checksum; with flag 16 the address fields. */
static void
put_header(unsigned char *p, uint32_t flags, uint32_t header_addr,
	   uint32_t load, uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	put32(p, 0, MB_MAGIC);
	put32(p, 4, flags);
	put32(p, 8, -(MB_MAGIC + flags));
	if (flags & MB_AOUT) {
		put32(p, 12, header_addr);
		put32(p, 16, load);
		put32(p, 20, load_end);
		put32(p, 24, bss_end);
		put32(p, 28, entry);
	}
}

/*
 * An ELF32 (or ELF64) kernel: one PT_LOAD of TEXT_SIZE + BSS_SIZE at
 * KBASE from file offset 0x100, the entry at its start, the multiboot
 * header at HDR_OFF of it.
 */
static unsigned char *
build_elf(bool is64, uint32_t flags, size_t *lenp, size_t *hdroffp)
{
	unsigned char text[TEXT_SIZE] = { 0 };
	struct image_seg seg = { PT_LOAD,
				 KBASE,
				 KBASE,
				 text,
				 TEXT_SIZE,
				 TEXT_SIZE + BSS_SIZE,
				 PF_R | PF_W | PF_X };

	memcpy(text, code, sizeof(code));
	put_header(text + HDR_OFF, flags, 0, 0, 0, 0, 0);
	*hdroffp = 0x100 + HDR_OFF;
	return image_elf_build(is64 ? ELFCLASS64 : ELFCLASS32, KBASE,
			       is64 ? EM_X86_64 : EM_386, &seg, 1, 0x100, lenp);
}

/*
 * A raw image with the address fields: 0x40 bytes of something, then the
 * text (header at HDR_OFF), loaded so that the text lands at KBASE.
 */
#define RAW_PRE 0x40
static unsigned char *
build_raw(size_t *lenp)
{
	size_t len = RAW_PRE + TEXT_SIZE;
	unsigned char *img = calloc(1, len);

	memset(img, 0x90, RAW_PRE);
	memcpy(img + RAW_PRE, code, sizeof(code));
	put_header(img + RAW_PRE + HDR_OFF, MB_PAGEMEM | MB_AOUT,
		   KBASE + HDR_OFF, KBASE - RAW_PRE, KBASE + TEXT_SIZE,
		   KBASE + TEXT_SIZE + BSS_SIZE, KBASE);
	*lenp = len;
	return img;
}

/* ---- loading and checking ----------------------------------------------- */

static const char modtext[] = "the first multiboot module\n";

static struct loader_kernel_args
std_args(void)
{
	struct loader_kernel_args a = {
		.lowmem = MEM_SIZE,
		.cmdline = "root=/dev/null quiet",
		.initrd = modtext,
		.initrd_len = sizeof(modtext) - 1,
		.initrd_name = "/boot/module.bin arg",
	};

	return a;
}

static int
mb_load(const void *img, size_t len, const struct loader_kernel_args *a,
	struct loader_image *out)
{
	errbuf[0] = '\0';
	return loader_multiboot_load(img, len, &fakemem_lmem, a, out, errbuf,
				     sizeof(errbuf));
}

static void
expect_fail_args(const void *img, size_t len,
		 const struct loader_kernel_args *a, const char *want)
{
	struct loader_image out;

	fakemem_reset(MEM_SIZE);
	CU_ASSERT_EQUAL(mb_load(img, len, a, &out), -1);
	if (strstr(errbuf, want) == NULL)
		printf("\n  got \"%s\", want \"%s\"\n", errbuf, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, want));
	CU_ASSERT_PTR_NULL(strchr(errbuf, '\n'));
}

static void
expect_fail(const void *img, size_t len, const char *want, bool untouched)
{
	struct loader_kernel_args a = std_args();

	expect_fail_args(img, len, &a, want);
	if (untouched)
		CU_ASSERT_TRUE(fakemem_untouched());
}

/* The multiboot information, as a kernel would read it. */
static void
check_info(const struct loader_kernel_args *a, uint64_t kend)
{
	uint32_t flags = rd32(INFO), mmap, mlen, mods, name;
	uint64_t mod_start;

	CU_ASSERT_EQUAL(flags, 0x1 | 0x4 | 0x40 | 0x200 |
				   (a->initrd != NULL ? 0x8 : 0));
	CU_ASSERT_EQUAL(rd32(INFO + 4), 639); /* mem_lower */
	CU_ASSERT_EQUAL(rd32(INFO + 8), (a->lowmem >> 10) - 1024); /* upper */
	CU_ASSERT_EQUAL(rd32(INFO + 16), LOADER_CMDLINE_ADDR);
	CU_ASSERT_STRING_EQUAL((char *)fakemem.buf + rd32(INFO + 16),
			       a->cmdline != NULL ? a->cmdline : "");
	name = rd32(INFO + 64);
	CU_ASSERT_TRUE(name >= INFO && name < LOADER_INFO_END);
	CU_ASSERT_STRING_EQUAL((char *)fakemem.buf + name, "rhyve");

	/* mmap: size, base, length, type; the e820 map of this memory. */
	mmap = rd32(INFO + 48);
	mlen = rd32(INFO + 44);
	CU_ASSERT_EQUAL_FATAL(mlen, 5 * 24);
	CU_ASSERT_TRUE(mmap >= INFO && mmap + mlen <= LOADER_INFO_END);
	{
		static const uint64_t want[5][3] = {
			{ 0, 0x9fc00, 1 },
			{ 0x9fc00, 0x100000 - 0x9fc00, 2 },
			{ 0x100000, MEM_SIZE - 0x100000, 1 },
			{ 0xe0000000, 0x10000000, 2 },
			{ 0xfec00000, 0x100000000ULL - 0xfec00000, 2 },
		};

		for (uint32_t i = 0; i < 5; i++) {
			uint64_t e = mmap + 24 * i;

			CU_ASSERT_EQUAL(rd32(e), 20);
			CU_ASSERT_EQUAL(rd64(e + 4), want[i][0]);
			CU_ASSERT_EQUAL(rd64(e + 12), want[i][1]);
			CU_ASSERT_EQUAL(rd32(e + 20), want[i][2]);
		}
	}

	/* Module 0: the initrd, page-aligned at the top, with its string. */
	if (a->initrd == NULL) {
		CU_ASSERT_EQUAL(rd32(INFO + 20), 0);
		return;
	}
	CU_ASSERT_EQUAL(rd32(INFO + 20), 1);
	mods = rd32(INFO + 24);
	CU_ASSERT_TRUE(mods >= INFO && mods + 16 <= LOADER_INFO_END);
	mod_start = rd32(mods);
	CU_ASSERT_EQUAL(mod_start & 0xfff, 0);
	CU_ASSERT_EQUAL(mod_start, (a->lowmem - a->initrd_len) & ~0xfffULL);
	CU_ASSERT_TRUE(mod_start >= kend);
	CU_ASSERT_EQUAL(rd32(mods + 4), mod_start + a->initrd_len);
	CU_ASSERT_EQUAL(
	    memcmp(fakemem.buf + mod_start, a->initrd, a->initrd_len), 0);
	CU_ASSERT_STRING_EQUAL((char *)fakemem.buf + rd32(mods + 8),
			       a->initrd_name);
	CU_ASSERT_EQUAL(rd32(mods + 12), 0);
}

/* Entry: flat 32-bit protected mode, paging off, eax/ebx. */
static void
check_entry(const struct loader_image *img, uint64_t entry)
{
	struct loader_regs r;

	CU_ASSERT_EQUAL(img->entry, entry);
	CU_ASSERT_EQUAL(img->mode, LOADER_MODE_PROT32);
	memset(&r, 0xff, sizeof(r));
	CU_ASSERT_EQUAL_FATAL(
	    loader_x86_setup(&fakemem_lmem, img, &r, errbuf, sizeof(errbuf)),
	    0);
	CU_ASSERT_EQUAL(r.rip, entry);
	CU_ASSERT_EQUAL(r.rax, 0x2badb002);
	CU_ASSERT_EQUAL(r.rbx, INFO);
	CU_ASSERT_EQUAL(r.cr0, CR0_PE | CR0_ET | CR0_NE);
	CU_ASSERT_EQUAL(r.cr4, 0);
	CU_ASSERT_EQUAL(r.efer, 0);
	CU_ASSERT_EQUAL(r.rflags, 0x2);
	CU_ASSERT_EQUAL(r.cs.base, 0);
	CU_ASSERT_EQUAL(r.cs.limit, 0xffffffff);
	CU_ASSERT_EQUAL(r.cs.access, 0xc09b); /* 32-bit code */
	CU_ASSERT_EQUAL(r.ds.limit, 0xffffffff);
	CU_ASSERT_EQUAL(r.ss.access, 0xc093);
	CU_ASSERT_EQUAL(r.sel.cs, 0x08);
	CU_ASSERT_EQUAL(r.sel.ds, 0x10);
	/* The boot information survives loader_x86_setup(). */
	CU_ASSERT_EQUAL(rd32(INFO + 64) >= INFO, true);
}

static void
load_elf_ok(bool is64)
{
	struct loader_kernel_args a = std_args();
	struct loader_image out;
	unsigned char *img;
	size_t len, hoff;
	const char *how = NULL;

	img = build_elf(is64, MB_PAGEMEM, &len, &hoff);
	CU_ASSERT_EQUAL(loader_multiboot_find(img, len), (long)hoff);
	CU_ASSERT_EQUAL(loader_probe(img, len), LOADER_FORMAT_MULTIBOOT);
	fakemem_reset(MEM_SIZE);
	CU_ASSERT_EQUAL_FATAL(loader_kernel_load(img, len, &fakemem_lmem, &a,
						 &out, &how, errbuf,
						 sizeof(errbuf)),
			      0);
	CU_ASSERT_STRING_EQUAL(how, "multiboot");
	CU_ASSERT_EQUAL(memcmp(fakemem.buf + KBASE, img + 0x100, TEXT_SIZE), 0);
	CU_ASSERT_EQUAL(fakemem.buf[KBASE + TEXT_SIZE], 0); /* BSS */
	CU_ASSERT_EQUAL(fakemem.buf[KBASE + TEXT_SIZE + BSS_SIZE], FILL);
	CU_ASSERT_EQUAL(out.lowest, KBASE);
	CU_ASSERT_EQUAL(out.highest, KBASE + TEXT_SIZE + BSS_SIZE);
	check_info(&a, out.highest);
	check_entry(&out, KBASE);
	free(img);
}

static void
test_elf32(void)
{
	load_elf_ok(false);
}

/* ELF64 multiboot kernels (as GRUB takes them) run in 32-bit mode too. */
static void
test_elf64(void)
{
	load_elf_ok(true);
}

static void
test_aout(void)
{
	struct loader_kernel_args a = std_args();
	struct loader_image out;
	unsigned char *img;
	size_t len;

	img = build_raw(&len);
	CU_ASSERT_EQUAL(loader_probe(img, len), LOADER_FORMAT_MULTIBOOT);
	fakemem_reset(MEM_SIZE);
	CU_ASSERT_EQUAL_FATAL(mb_load(img, len, &a, &out), 0);
	/* The whole file from load_addr, BSS zeroed up to bss_end_addr. */
	CU_ASSERT_EQUAL(memcmp(fakemem.buf + KBASE - RAW_PRE, img, len), 0);
	CU_ASSERT_EQUAL(fakemem.buf[KBASE - RAW_PRE - 1], FILL);
	CU_ASSERT_EQUAL(fakemem.buf[KBASE + TEXT_SIZE], 0);
	CU_ASSERT_EQUAL(fakemem.buf[KBASE + TEXT_SIZE + BSS_SIZE - 1], 0);
	CU_ASSERT_EQUAL(fakemem.buf[KBASE + TEXT_SIZE + BSS_SIZE], FILL);
	CU_ASSERT_EQUAL(out.lowest, KBASE - RAW_PRE);
	CU_ASSERT_EQUAL(out.highest, KBASE + TEXT_SIZE + BSS_SIZE);
	check_info(&a, out.highest);
	check_entry(&out, KBASE);

	/* load_end_addr 0: to the end of the file; bss_end_addr 0: none. */
	put_header(img + RAW_PRE + HDR_OFF, MB_AOUT, KBASE + HDR_OFF,
		   KBASE - RAW_PRE, 0, 0, KBASE + 2);
	fakemem_reset(MEM_SIZE);
	CU_ASSERT_EQUAL_FATAL(mb_load(img, len, &a, &out), 0);
	CU_ASSERT_EQUAL(out.highest, KBASE + TEXT_SIZE);
	CU_ASSERT_EQUAL(fakemem.buf[KBASE + TEXT_SIZE], FILL);
	check_entry(&out, KBASE + 2);
	free(img);
}

/* No command line, no module; a NULL name for the module. */
static void
test_minimal(void)
{
	struct loader_kernel_args a = { .lowmem = MEM_SIZE };
	struct loader_image out;
	unsigned char *img;
	size_t len, hoff;

	img = build_elf(false, 0, &len, &hoff);
	fakemem_reset(MEM_SIZE);
	CU_ASSERT_EQUAL_FATAL(mb_load(img, len, &a, &out), 0);
	check_info(&a, out.highest);
	a = std_args();
	a.initrd_name = NULL;
	fakemem_reset(MEM_SIZE);
	CU_ASSERT_EQUAL_FATAL(mb_load(img, len, &a, &out), 0);
	CU_ASSERT_STRING_EQUAL((char *)fakemem.buf + rd32(rd32(INFO + 24) + 8),
			       "initrd");
	/* Video mode requested: accepted, no video information given. */
	put_header(img + hoff, 0x4, 0, 0, 0, 0, 0);
	fakemem_reset(MEM_SIZE);
	CU_ASSERT_EQUAL(mb_load(img, len, &a, &out), 0);
	CU_ASSERT_EQUAL(rd32(INFO) & 0x800, 0);
	free(img);
}

/* ---- malformed ---------------------------------------------------------- */

static void
test_bad_header(void)
{
	unsigned char *img;
	size_t len, hoff;

	img = build_elf(false, MB_PAGEMEM, &len, &hoff);
	img[hoff + 8] ^= 1;
	expect_fail(img, len,
		    "multiboot header at 0x180: bad checksum 0xe4524ffa "
		    "(magic + flags + checksum is 0xffffffff, not 0)",
		    true);
	put_header(img + hoff, 0x00000103, 0, 0, 0, 0, 0);
	expect_fail(img, len,
		    "multiboot header at 0x180: the kernel requires features "
		    "rhyve does not provide (flags 0x00000103, unknown "
		    "0x0100)",
		    true);
	free(img);
	/* Header past the first 8 KiB: not a multiboot kernel. */
	img = calloc(1, 0x3000);
	put_header(img + 0x2000, 0, 0, 0, 0, 0, 0);
	CU_ASSERT_EQUAL(loader_multiboot_find(img, 0x3000), -1);
	CU_ASSERT_EQUAL(loader_probe(img, 0x3000), LOADER_FORMAT_UNKNOWN);
	expect_fail(img, 0x3000, "no multiboot header in the first 8 KiB",
		    true);
	/* Magic cut off at the end of the file, or not 4-byte aligned. */
	put_header(img + 0x1ff4, 0, 0, 0, 0, 0, 0);
	CU_ASSERT_EQUAL(loader_multiboot_find(img, 0x1ff4 + 11), -1);
	CU_ASSERT_EQUAL(loader_multiboot_find(img, 0x1ff4 + 12), 0x1ff4);
	memset(img, 0, 0x3000);
	put_header(img + 0x102, 0, 0, 0, 0, 0, 0);
	CU_ASSERT_EQUAL(loader_multiboot_find(img, 0x3000), -1);
	CU_ASSERT_EQUAL(loader_multiboot_find(NULL, 0), -1);
	/* No address fields and not ELF. */
	put_header(img + 0x100, 0, 0, 0, 0, 0, 0);
	expect_fail(img, 0x200,
		    "multiboot header at 0x100: no address fields (flag 16) "
		    "and not an ELF file",
		    true);
	free(img);
}

static void
test_bad_aout(void)
{
	unsigned char *img, *h;
	size_t len;

	img = build_raw(&len);
	h = img + RAW_PRE + HDR_OFF;
	/* Address fields cut off by the end of the file. */
	expect_fail(img, RAW_PRE + HDR_OFF + 20,
		    "multiboot header at 0xc0: the address fields (flag 16) "
		    "are cut off",
		    true);
	put_header(h, MB_AOUT, KBASE + HDR_OFF, KBASE + HDR_OFF + 4,
		   KBASE + TEXT_SIZE, 0, KBASE);
	expect_fail(img, len,
		    "load_addr 0x100084 lies above header_addr 0x100080", true);
	put_header(h, MB_AOUT, KBASE + HDR_OFF, KBASE - 0x1000,
		   KBASE + TEXT_SIZE, 0, KBASE);
	expect_fail(img, len,
		    "load_addr 0xff000 lies before the start of the file",
		    true);
	put_header(h, MB_AOUT, KBASE + HDR_OFF, KBASE - RAW_PRE,
		   KBASE - RAW_PRE, 0, KBASE);
	expect_fail(img, len, "load_end_addr 0xfffc0 is not above load_addr",
		    true);
	put_header(h, MB_AOUT, KBASE + HDR_OFF, KBASE - RAW_PRE,
		   KBASE + TEXT_SIZE + 1, 0, KBASE);
	expect_fail(img, len,
		    "truncated multiboot kernel: [load_addr, load_end_addr) "
		    "needs 0x241 bytes from file offset 0x0, the file has "
		    "0x240",
		    true);
	put_header(h, MB_AOUT, KBASE + HDR_OFF, KBASE - RAW_PRE,
		   KBASE + TEXT_SIZE, KBASE + 4, KBASE);
	expect_fail(img, len, "bss_end_addr 0x100004 lies below load_end_addr",
		    true);
	put_header(h, MB_AOUT, KBASE + HDR_OFF, KBASE - RAW_PRE,
		   KBASE + TEXT_SIZE, 0, KBASE + TEXT_SIZE);
	expect_fail(img, len,
		    "entry_addr 0x100200 lies outside the loaded kernel "
		    "[0xfffc0, 0x100200)",
		    true);
	/* Over the boot area and the boot information. */
	put_header(h, MB_AOUT, 0x8000 + HDR_OFF + RAW_PRE, 0x8000,
		   0x8000 + RAW_PRE + TEXT_SIZE, 0, 0x8000 + RAW_PRE);
	expect_fail(img, len,
		    "the multiboot kernel [0x8000, 0x8240) overlaps the "
		    "loader's boot area [0x1000, 0x10000)",
		    true);
	put_header(h, MB_AOUT, 0xf000 + HDR_OFF + RAW_PRE, 0xf000,
		   0xf000 + RAW_PRE + TEXT_SIZE, 0, 0xf000 + RAW_PRE);
	expect_fail(img, len, "overlaps the loader's boot area", true);
	/* Outside guest memory; BSS into the hole above 4 GiB. */
	put_header(h, MB_AOUT, 0xf00000 + HDR_OFF + RAW_PRE, 0xf00000,
		   0xf00000 + RAW_PRE + TEXT_SIZE, 0x1000000 + 1,
		   0xf00000 + RAW_PRE);
	expect_fail(img, len,
		    "the multiboot kernel [0xf00000, 0x1000001) lies outside "
		    "guest memory",
		    true);
	put_header(h, MB_AOUT, 0xfffff000 + HDR_OFF + RAW_PRE, 0xfffff000,
		   0xfffff000 + RAW_PRE + TEXT_SIZE, 0xffffffff,
		   0xfffff000 + RAW_PRE);
	expect_fail(img, len, "lies outside guest memory", true);
	free(img);
}

static void
test_bad_elf(void)
{
	unsigned char *img;
	size_t len, hoff;

	img = build_elf(false, MB_PAGEMEM, &len, &hoff);
	/* A segment in the boot information area. */
	((Elf32_Phdr *)(img + sizeof(Elf32_Ehdr)))->p_paddr = 0xc000;
	((Elf32_Ehdr *)img)->e_entry = 0xc000;
	expect_fail(img, len,
		    "multiboot kernel: a segment [0xc000, 0xd200) overlaps "
		    "the loader's boot information area [0x9000, 0x10000)",
		    true);
	((Elf32_Phdr *)(img + sizeof(Elf32_Ehdr)))->p_paddr = 0x2000;
	expect_fail(img, len,
		    "multiboot kernel: segment 0 [0x2000, 0x3200) overlaps "
		    "the loader's boot area",
		    true);
	((Elf32_Phdr *)(img + sizeof(Elf32_Ehdr)))->p_paddr = KBASE;
	((Elf32_Ehdr *)img)->e_entry = KBASE;
	((Elf32_Ehdr *)img)->e_machine = EM_ARM;
	expect_fail(img, len, "multiboot kernel: unsupported machine 40", true);
	free(img);
	/* ELF64 beyond 4 GiB: out of reach of 32-bit code. */
	img = build_elf(true, MB_PAGEMEM, &len, &hoff);
	((Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)))->p_paddr = 0x100000000ULL;
	((Elf64_Ehdr *)img)->e_entry = 0x100000000ULL;
	expect_fail(img, len,
		    "multiboot kernel: a segment [0x100000000, 0x100001200) "
		    "lies above 0x100000000",
		    true);
	free(img);
}

static void
test_bad_args(void)
{
	struct loader_kernel_args a = std_args();
	unsigned char *img;
	char *s;
	size_t len, hoff;

	img = build_elf(false, MB_PAGEMEM, &len, &hoff);
	s = malloc(LOADER_CMDLINE_MAX + 1);
	memset(s, 'y', LOADER_CMDLINE_MAX);
	s[LOADER_CMDLINE_MAX] = '\0';
	a.cmdline = s;
	expect_fail_args(img, len, &a,
			 "the command line has 4096 bytes, rhyve passes at "
			 "most 4095");
	CU_ASSERT_TRUE(fakemem_untouched());
	a = std_args();
	a.initrd_name = s;
	expect_fail_args(img, len, &a, "the module's name has 4096 bytes");
	CU_ASSERT_TRUE(fakemem_untouched());
	s[LOADER_CMDLINE_MAX - 1] = '\0';
	a.cmdline = s;
	a.initrd_name = s;
	{
		struct loader_image out;

		fakemem_reset(MEM_SIZE);
		CU_ASSERT_EQUAL(mb_load(img, len, &a, &out), 0);
		check_info(&a, out.highest);
	}
	/* A module larger than the memory above the kernel. */
	a = std_args();
	a.initrd = s;
	a.initrd_len = MEM_SIZE - KBASE - TEXT_SIZE;
	expect_fail_args(img, len, &a,
			 "the module (15728128 bytes) does not fit between the "
			 "kernel's end 0x101200 and the end of low memory "
			 "0x1000000");
	a.initrd_len = MEM_SIZE + 1;
	expect_fail_args(img, len, &a, "does not fit");
	/* No memory for the boot information. */
	a = std_args();
	fakemem_reset(MEM_SIZE);
	fakemem.size = 0xf000;
	{
		struct loader_image out;

		CU_ASSERT_EQUAL(mb_load(img, len, &a, &out), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(
		    errbuf, "guest memory does not cover the boot information "
			    "area"));
		CU_ASSERT_EQUAL(mb_load(NULL, 0, &a, &out), -1);
		CU_ASSERT_EQUAL(loader_multiboot_load(img, len, NULL, &a, &out,
						      errbuf, sizeof(errbuf)),
				-1);
	}
	free(s);
	free(img);
}

/* A plain ELF (no multiboot header) takes no command line or initrd. */
static void
test_plain_elf(void)
{
	struct loader_kernel_args a = std_args();
	struct loader_image out;
	unsigned char *img;
	size_t len, hoff;

	img = build_elf(false, 0, &len, &hoff);
	memset(img + hoff, 0, 12);
	CU_ASSERT_EQUAL(loader_probe(img, len), LOADER_FORMAT_ELF);
	fakemem_reset(MEM_SIZE);
	CU_ASSERT_EQUAL(loader_kernel_load(img, len, &fakemem_lmem, &a, &out,
					   NULL, errbuf, sizeof(errbuf)),
			-1);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(errbuf, "a plain ELF kernel takes no command line or "
			   "initrd (those need a Linux bzImage or a multiboot "
			   "kernel)"));
	a.initrd = NULL;
	a.cmdline = "";
	CU_ASSERT_EQUAL(loader_kernel_load(img, len, &fakemem_lmem, &a, &out,
					   NULL, errbuf, sizeof(errbuf)),
			0);
	CU_ASSERT_EQUAL(out.rax, 0);
	CU_ASSERT_EQUAL(out.gdt, LOADER_GDT_DEFAULT);
	CU_ASSERT_EQUAL(loader_kernel_load("text", 4, &fakemem_lmem, NULL, &out,
					   NULL, errbuf, sizeof(errbuf)),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    errbuf, "not an ELF file, Linux bzImage or multiboot kernel"));
	CU_ASSERT_EQUAL(loader_probe(NULL, 0), LOADER_FORMAT_UNKNOWN);
	free(img);
}

static void
test_cleanup(void)
{
	fakemem_free();
}

static CU_TestInfo mb_tests[] = {
	{ "ELF32 kernel", test_elf32 },
	{ "ELF64 kernel", test_elf64 },
	{ "address fields (a.out kludge)", test_aout },
	{ "no command line or module", test_minimal },
	{ "bad header", test_bad_header },
	{ "bad address fields", test_bad_aout },
	{ "bad ELF kernel", test_bad_elf },
	{ "command line and module limits", test_bad_args },
	{ "plain ELF with extras", test_plain_elf },
	{ "cleanup", test_cleanup },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "multiboot", mb_tests },
	{ NULL, NULL },
};
