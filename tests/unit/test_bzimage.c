/*
 * loader: Linux bzImage and the e820 map.  Synthetic bzImages (every
 * payload format, every kind of malformed header) and Debian's own kernel
 * (package linux-image-amd64) are loaded into a plain buffer standing in
 * for guest memory; the zero page is read back through the kernel's own
 * struct boot_params (<asm/bootparam.h>), and the entry state through
 * loader_x86_setup().  Without Debian's kernel, and where
 * tests/linux/ensure-kernel.sh cannot install it, those tests print SKIP.
 */
#include <dirent.h>
#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <asm/bootparam.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "cunit.h"
#include "image_util.h"
#include "loader.h"
#include "x86.h"

#define MEM_SMALL FAKEMEM_SMALL /* synthetic tests */
#define FILL      FAKEMEM_FILL
#define PREF      0x1000000ULL
#define ZP        LOADER_INFO_ADDR

static char errbuf[512];

static struct boot_params *
zero_page(void)
{
	return (struct boot_params *)(fakemem.buf + ZP);
}

static uint64_t
get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, fakemem.buf + gpa, sizeof(v));
	return v;
}

/* ---- synthetic kernels --------------------------------------------------- */

/* hlt; jmp .-1 at the vmlinux's entry */
static const unsigned char vmlinux_code[] = { 0xf4, 0xeb, 0xfd, 0x90 };

/* A minimal vmlinux: one PT_LOAD at PREF, linked high, entry physical. */
static unsigned char *
build_vmlinux(size_t *lenp)
{
	static const struct image_seg seg = { PT_LOAD,
					      PREF,
					      0xffffffff81000000ULL,
					      vmlinux_code,
					      sizeof(vmlinux_code),
					      0x3000 /* with BSS */,
					      PF_R | PF_X };

	return image_elf_build(ELFCLASS64, PREF, EM_X86_64, &seg, 1, 0, lenp);
}

enum pfmt { P_GZIP, P_XZ, P_LZMA, P_ZSTD, P_NONE, P_LZ4, P_TEXT_GZIP };

/* The payload as the kernel's build makes it: compressed + size (LE32). */
static unsigned char *
build_payload(enum pfmt fmt, size_t *lenp)
{
	static const char text[] = "this is not a kernel, only text\n";
	size_t inlen, cap, outlen = 0;
	unsigned char *in, *out;

	if (fmt == P_TEXT_GZIP) {
		inlen = sizeof(text);
		in = malloc(inlen);
		memcpy(in, text, inlen);
		fmt = P_GZIP;
	} else {
		in = build_vmlinux(&inlen);
	}
	cap = inlen * 2 + 1024;
	out = calloc(1, cap + 4);
	switch (fmt) {
	case P_GZIP: {
		z_stream zs = { 0 };

		CU_ASSERT_FATAL(deflateInit2(&zs, 9, Z_DEFLATED, 31, 8,
					     Z_DEFAULT_STRATEGY) == Z_OK);
		zs.next_in = in;
		zs.avail_in = (unsigned int)inlen;
		zs.next_out = out;
		zs.avail_out = (unsigned int)cap;
		CU_ASSERT_FATAL(deflate(&zs, Z_FINISH) == Z_STREAM_END);
		outlen = zs.total_out;
		deflateEnd(&zs);
		*lenp = outlen; /* gzip carries its size itself */
		free(in);
		return out;
	}
	case P_XZ:
		CU_ASSERT_FATAL(lzma_easy_buffer_encode(
				    6, LZMA_CHECK_CRC32, NULL, in, inlen, out,
				    &outlen, cap) == LZMA_OK);
		break;
	case P_LZMA: {
		lzma_stream strm = LZMA_STREAM_INIT;
		lzma_options_lzma opt;

		lzma_lzma_preset(&opt, 6);
		CU_ASSERT_FATAL(lzma_alone_encoder(&strm, &opt) == LZMA_OK);
		strm.next_in = in;
		strm.avail_in = inlen;
		strm.next_out = out;
		strm.avail_out = cap;
		CU_ASSERT_FATAL(lzma_code(&strm, LZMA_FINISH) ==
				LZMA_STREAM_END);
		outlen = strm.total_out;
		lzma_end(&strm);
		break;
	}
	case P_ZSTD:
		outlen = ZSTD_compress(out, cap, in, inlen, 19);
		CU_ASSERT_FATAL(!ZSTD_isError(outlen));
		break;
	case P_NONE:
		memcpy(out, in, inlen);
		outlen = inlen;
		break;
	case P_LZ4:
		/* Only the magic: rhyve leaves lz4 to the guest. */
		memcpy(out, "\x02\x21\x4c\x18", 4);
		memset(out + 4, 0x55, 60);
		outlen = 64;
		break;
	default:
		break;
	}
	out[outlen] = (unsigned char)inlen;
	out[outlen + 1] = (unsigned char)(inlen >> 8);
	out[outlen + 2] = (unsigned char)(inlen >> 16);
	out[outlen + 3] = (unsigned char)(inlen >> 24);
	*lenp = outlen + 4;
	free(in);
	return out;
}

#define BZ_SETUP   1024  /* setup_sects 1 */
#define BZ_PAYLOAD 0x400 /* payload offset in the protected-mode part */

static void
put16(unsigned char *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, 2);
}

static void
put32(unsigned char *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static void
put64(unsigned char *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

/*
 * A bzImage the way arch/x86/boot/tools/build.c lays it out: setup
 * (header at 0x1f1), then the protected-mode part (entry stub at +0x200,
 * the payload at BZ_PAYLOAD), padded to 16 bytes.
 */
static unsigned char *
build_bz(enum pfmt fmt, size_t *lenp)
{
	size_t plen, klen, len;
	unsigned char *payload = build_payload(fmt, &plen), *img;

	klen = (BZ_PAYLOAD + plen + 15) & ~(size_t)15;
	len = BZ_SETUP + klen;
	img = calloc(1, len);
	img[0x1f1] = 1; /* setup_sects */
	put32(img, 0x1f4, (uint32_t)(klen / 16));
	put16(img, 0x1fe, 0xaa55);
	img[0x200] = 0xeb; /* jmp to the end of the header */
	img[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put16(img, 0x206, 0x020f);
	img[0x211] = 0x01; /* LOADED_HIGH */
	put32(img, 0x214, 0x100000);
	put32(img, 0x22c, 0x7fffffff);
	put32(img, 0x230, 0x200000);
	img[0x234] = 1;          /* relocatable */
	img[0x235] = 21;         /* min_alignment */
	put16(img, 0x236, 0x7f); /* XLF_KERNEL_64 and the rest */
	put32(img, 0x238, 0x7ff);
	put32(img, 0x248, BZ_PAYLOAD);
	put32(img, 0x24c, (uint32_t)plen);
	put64(img, 0x258, PREF);
	put32(img, 0x260, 0x400000); /* init_size */
	/* The 64-bit entry stub the guest would run: hlt; jmp. */
	memcpy(img + BZ_SETUP + 0x200, "\xf4\xeb\xfd", 3);
	memcpy(img + BZ_SETUP + BZ_PAYLOAD, payload, plen);
	free(payload);
	*lenp = len;
	return img;
}

/* Where rhyve's ACPI tables put the RSDP (2.14+ kernels are told). */
#define TEST_RSDP 0xf2400

static struct loader_kernel_args
small_args(void)
{
	struct loader_kernel_args a = {
		.lowmem = MEM_SMALL,
		.cmdline = "console=ttyS0 earlyprintk=serial",
		.acpi_rsdp = TEST_RSDP,
	};

	return a;
}

static int
bz_load(const void *img, size_t len, const struct loader_kernel_args *a,
	struct loader_image *out, const char **how)
{
	errbuf[0] = '\0';
	return loader_bzimage_load(img, len, &fakemem_lmem, a, out, how, errbuf,
				   sizeof(errbuf));
}

/* The load fails with 'want' in the message and guest memory untouched. */
static void
expect_fail_args(const void *img, size_t len,
		 const struct loader_kernel_args *a, const char *want,
		 bool untouched)
{
	struct loader_image out;

	fakemem_reset(MEM_SMALL);
	CU_ASSERT_EQUAL(bz_load(img, len, a, &out, NULL), -1);
	if (strstr(errbuf, want) == NULL)
		printf("\n  got \"%s\", want \"%s\"\n", errbuf, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, want));
	CU_ASSERT_PTR_NULL(strchr(errbuf, '\n'));
	if (untouched)
		CU_ASSERT_TRUE(fakemem_untouched());
}

static void
expect_fail(const void *img, size_t len, const char *want)
{
	struct loader_kernel_args a = small_args();

	expect_fail_args(img, len, &a, want, true);
}

/* ---- checks shared by the synthetic and the real kernel ---------------- */

static void
check_e820_zp(const struct boot_params *bp, uint64_t lowmem)
{
	CU_ASSERT_EQUAL(bp->e820_entries, 5);
	CU_ASSERT_EQUAL(bp->e820_table[0].addr, 0);
	CU_ASSERT_EQUAL(bp->e820_table[0].size, 0x9fc00);
	CU_ASSERT_EQUAL(bp->e820_table[0].type, 1);
	CU_ASSERT_EQUAL(bp->e820_table[1].addr, 0x9fc00);
	CU_ASSERT_EQUAL(bp->e820_table[1].size, 0x100000 - 0x9fc00);
	CU_ASSERT_EQUAL(bp->e820_table[1].type, 2);
	CU_ASSERT_EQUAL(bp->e820_table[2].addr, 0x100000);
	CU_ASSERT_EQUAL(bp->e820_table[2].size, lowmem - 0x100000);
	CU_ASSERT_EQUAL(bp->e820_table[2].type, 1);
	CU_ASSERT_EQUAL(bp->e820_table[3].addr, 0xe0000000); /* ECAM */
	CU_ASSERT_EQUAL(bp->e820_table[3].size, 0x10000000);
	CU_ASSERT_EQUAL(bp->e820_table[3].type, 2);
	CU_ASSERT_EQUAL(bp->e820_table[4].addr, 0xfec00000);
	CU_ASSERT_EQUAL(bp->e820_table[4].size, 0x100000000ULL - 0xfec00000);
	CU_ASSERT_EQUAL(bp->e820_table[4].type, 2);
	CU_ASSERT_EQUAL(bp->alt_mem_k, (lowmem - 0x100000) >> 10);
}

/*
 * The zero page: the image's setup header, with the loader's fields
 * filled in and nothing else changed.
 */
static void
check_zero_page(const unsigned char *img, uint64_t load, const char *cmdline,
		uint64_t initrd, size_t initrd_len, uint64_t lowmem)
{
	const struct boot_params *bp = zero_page();
	const struct setup_header *h = &bp->hdr;
	size_t hdr_end = 0x202 + img[0x201];
	struct boot_params want;

	/* Everything up to the header is zero but what the loader sets. */
	memset(&want, 0, sizeof(want));
	want.alt_mem_k = bp->alt_mem_k;
	want.e820_entries = bp->e820_entries;
	want.ext_ramdisk_image = bp->ext_ramdisk_image;
	want.ext_ramdisk_size = bp->ext_ramdisk_size;
	want.ext_cmd_line_ptr = bp->ext_cmd_line_ptr;
	want.acpi_rsdp_addr = bp->acpi_rsdp_addr;
	CU_ASSERT_EQUAL(memcmp(bp, &want, 0x1f1), 0);
	CU_ASSERT_EQUAL(bp->acpi_rsdp_addr,
			h->version >= 0x020e ? TEST_RSDP : 0);
	CU_ASSERT_EQUAL(bp->sentinel, 0);

	/* The header as the image has it, less the loader's fields. */
	memcpy(&want, bp, sizeof(want));
	memcpy((unsigned char *)&want + 0x1f1, img + 0x1f1, hdr_end - 0x1f1);
	want.hdr.type_of_loader = h->type_of_loader;
	want.hdr.loadflags = h->loadflags;
	want.hdr.code32_start = h->code32_start;
	want.hdr.ramdisk_image = h->ramdisk_image;
	want.hdr.ramdisk_size = h->ramdisk_size;
	want.hdr.heap_end_ptr = h->heap_end_ptr;
	want.hdr.cmd_line_ptr = h->cmd_line_ptr;
	want.hdr.setup_data = h->setup_data;
	CU_ASSERT_EQUAL(memcmp(bp, &want, sizeof(want)), 0);
	/* Past the header, up to the e820 table: zero. */
	for (size_t i = hdr_end; i < offsetof(struct boot_params, e820_table);
	     i++)
		if (((const unsigned char *)bp)[i] != 0) {
			CU_FAIL("zero page not zero after the setup header");
			break;
		}

	CU_ASSERT_EQUAL(h->header, 0x53726448);
	CU_ASSERT_EQUAL(h->boot_flag, 0xaa55);
	CU_ASSERT_EQUAL(h->type_of_loader, 0xff);
	CU_ASSERT_TRUE(h->loadflags & LOADED_HIGH);
	CU_ASSERT_FALSE(h->loadflags & CAN_USE_HEAP);
	CU_ASSERT_EQUAL(h->code32_start, load);
	CU_ASSERT_EQUAL(h->heap_end_ptr, 0);
	CU_ASSERT_EQUAL(h->setup_data, 0);
	CU_ASSERT_EQUAL(h->cmd_line_ptr, LOADER_CMDLINE_ADDR);
	CU_ASSERT_EQUAL(bp->ext_cmd_line_ptr, 0);
	CU_ASSERT_STRING_EQUAL((const char *)fakemem.buf + LOADER_CMDLINE_ADDR,
			       cmdline);
	CU_ASSERT_EQUAL(h->ramdisk_image, (uint32_t)initrd);
	CU_ASSERT_EQUAL(bp->ext_ramdisk_image, 0);
	CU_ASSERT_EQUAL(h->ramdisk_size, initrd_len);
	CU_ASSERT_EQUAL(bp->ext_ramdisk_size, 0);
	check_e820_zp(bp, lowmem);
}

/* The Linux entry state: long mode, __BOOT_CS/__BOOT_DS, rsi. */
static void
check_entry(const struct loader_image *img, uint64_t entry, uint64_t kend)
{
	struct loader_regs r;
	uint32_t base, limit, access;

	CU_ASSERT_EQUAL(img->entry, entry);
	CU_ASSERT_EQUAL(img->mode, LOADER_MODE_LONG64);
	CU_ASSERT_EQUAL(img->gdt, LOADER_GDT_LINUX);
	memset(&r, 0xff, sizeof(r));
	CU_ASSERT_EQUAL_FATAL(
	    loader_x86_setup(&fakemem_lmem, img, &r, errbuf, sizeof(errbuf)),
	    0);
	CU_ASSERT_EQUAL(r.rip, entry);
	CU_ASSERT_EQUAL(r.rsi, ZP);
	CU_ASSERT_EQUAL(r.rax, 0);
	CU_ASSERT_EQUAL(r.rbx, 0);
	CU_ASSERT_EQUAL(r.rflags, 0x2); /* interrupts off */
	CU_ASSERT_EQUAL(r.cr0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
	CU_ASSERT_EQUAL(r.cr4, CR4_PAE);
	CU_ASSERT_EQUAL(r.efer, EFER_LME | EFER_LMA);
	CU_ASSERT_EQUAL(r.cr3, LOADER_PML4_ADDR);
	CU_ASSERT_EQUAL(r.sel.cs, 0x10);
	CU_ASSERT_EQUAL(r.sel.ds, 0x18);
	CU_ASSERT_EQUAL(r.sel.es, 0x18);
	CU_ASSERT_EQUAL(r.sel.ss, 0x18);
	CU_ASSERT_EQUAL(r.sel.tr, 0x20);
	CU_ASSERT_EQUAL(r.cs.access, 0xa09b); /* 64-bit code, L, no D */
	CU_ASSERT_EQUAL(r.ds.access, 0xc093);
	CU_ASSERT_EQUAL(r.gdtr.base, LOADER_GDT_ADDR);
	CU_ASSERT_EQUAL(r.gdtr.limit, 0x2f);
	/* The GDT holds __BOOT_CS and __BOOT_DS, flat. */
	CU_ASSERT_EQUAL(get64(LOADER_GDT_ADDR), 0);
	CU_ASSERT_EQUAL(get64(LOADER_GDT_ADDR + 8), 0);
	x86_desc_unpack(get64(LOADER_GDT_ADDR + 0x10), &base, &limit, &access);
	CU_ASSERT_EQUAL(base, 0);
	CU_ASSERT_EQUAL(limit, 0xffffffff);
	CU_ASSERT_EQUAL(access, 0xa09b);
	x86_desc_unpack(get64(LOADER_GDT_ADDR + 0x18), &base, &limit, &access);
	CU_ASSERT_EQUAL(base, 0);
	CU_ASSERT_EQUAL(limit, 0xffffffff);
	CU_ASSERT_EQUAL(access, 0xc093);
	x86_desc_unpack(get64(LOADER_GDT_ADDR + 0x20), &base, &limit, &access);
	CU_ASSERT_EQUAL(base, LOADER_TSS_ADDR);
	CU_ASSERT_EQUAL(access, 0x8b);
	/*
	 * Identity mappings for what the protocol names: the kernel up to
	 * its end, the zero page and the command line.
	 */
	for (uint64_t va = 0; va < kend; va += 2 << 20) {
		uint64_t pml4e = get64(r.cr3 + 8 * ((va >> 39) & 511));
		uint64_t pdpte =
		    get64((pml4e & ~0xfffULL) + 8 * ((va >> 30) & 511));
		uint64_t pde =
		    get64((pdpte & ~0xfffULL) + 8 * ((va >> 21) & 511));

		if (!(pml4e & 1) || !(pdpte & 1) || (pde & 0x83) != 0x83 ||
		    (pde & ~0x1fffffULL) != va) {
			CU_FAIL("kernel, zero page or command line not "
				"identity-mapped");
			break;
		}
	}
}

/* ---- synthetic bzImages ------------------------------------------------- */

static void
load_good(enum pfmt fmt, const char *want_how)
{
	struct loader_kernel_args a = small_args();
	struct loader_image out;
	const char *how = NULL;
	unsigned char *img;
	size_t len;

	img = build_bz(fmt, &len);
	fakemem_reset(MEM_SMALL);
	if (bz_load(img, len, &a, &out, &how) != 0)
		printf("\n  %s\n", errbuf);
	CU_ASSERT_EQUAL_FATAL(errbuf[0], '\0');
	CU_ASSERT_STRING_EQUAL(how, want_how);
	if (strcmp(want_how, "guest") == 0) {
		/* The whole protected-mode part at pref_address. */
		CU_ASSERT_EQUAL(
		    memcmp(fakemem.buf + PREF, img + BZ_SETUP, len - BZ_SETUP),
		    0);
		CU_ASSERT_EQUAL(out.lowest, PREF);
		CU_ASSERT_EQUAL(out.highest, PREF + 0x400000);
		check_entry(&out, PREF + 0x200, PREF + 0x400000);
	} else {
		/* The vmlinux, its BSS zeroed; nothing else of the image. */
		CU_ASSERT_EQUAL(memcmp(fakemem.buf + PREF, vmlinux_code,
				       sizeof(vmlinux_code)),
				0);
		CU_ASSERT_EQUAL(fakemem.buf[PREF + sizeof(vmlinux_code)], 0);
		CU_ASSERT_EQUAL(fakemem.buf[PREF + 0x2fff], 0);
		CU_ASSERT_EQUAL(fakemem.buf[PREF + 0x3000], FILL);
		CU_ASSERT_EQUAL(out.lowest, PREF);
		CU_ASSERT_EQUAL(out.highest, PREF + 0x3000);
		check_entry(&out, PREF, PREF + 0x400000);
	}
	check_zero_page(img, PREF, a.cmdline, 0, 0, MEM_SMALL);
	/* Around the kernel and the boot information: untouched. */
	CU_ASSERT_EQUAL(fakemem.buf[PREF - 1], FILL);
	CU_ASSERT_EQUAL(
	    fakemem.buf[LOADER_CMDLINE_ADDR + strlen(a.cmdline) + 1], FILL);
	CU_ASSERT_EQUAL(fakemem.buf[LOADER_INFO_END], FILL);
	CU_ASSERT_EQUAL(fakemem.buf[0x100000], FILL);
	free(img);
}

static void
test_host_gzip(void)
{
	load_good(P_GZIP, "host-gzip");
}

static void
test_host_xz(void)
{
	load_good(P_XZ, "host-xz");
}

static void
test_host_lzma(void)
{
	load_good(P_LZMA, "host-lzma");
}

static void
test_host_zstd(void)
{
	load_good(P_ZSTD, "host-zstd");
}

static void
test_host_none(void)
{
	load_good(P_NONE, "host-none");
}

/* lz4 is not decompressed here: the kernel does it. */
static void
test_guest_lz4(void)
{
	load_good(P_LZ4, "guest");
}

static void
test_guest_decompress(void)
{
	struct loader_kernel_args a = small_args();
	struct loader_image out;
	const char *how = NULL;
	unsigned char *img;
	size_t len;

	img = build_bz(P_XZ, &len);
	a.guest_decompress = true;
	fakemem_reset(MEM_SMALL);
	CU_ASSERT_EQUAL_FATAL(bz_load(img, len, &a, &out, &how), 0);
	CU_ASSERT_STRING_EQUAL(how, "guest");
	CU_ASSERT_EQUAL(
	    memcmp(fakemem.buf + PREF, img + BZ_SETUP, len - BZ_SETUP), 0);
	check_entry(&out, PREF + 0x200, PREF + 0x400000);
	check_zero_page(img, PREF, a.cmdline, 0, 0, MEM_SMALL);
	free(img);
}

/* No command line: an empty string; loader_kernel_load() dispatches. */
static void
test_no_cmdline_dispatch(void)
{
	struct loader_kernel_args a = { .lowmem = MEM_SMALL };
	struct loader_image out;
	const char *how = NULL;
	unsigned char *img;
	size_t len;

	img = build_bz(P_GZIP, &len);
	CU_ASSERT_EQUAL(loader_probe(img, len), LOADER_FORMAT_BZIMAGE);
	fakemem_reset(MEM_SMALL);
	CU_ASSERT_EQUAL_FATAL(loader_kernel_load(img, len, &fakemem_lmem, &a,
						 &out, &how, errbuf,
						 sizeof(errbuf)),
			      0);
	CU_ASSERT_STRING_EQUAL(how, "host-gzip");
	CU_ASSERT_EQUAL(fakemem.buf[LOADER_CMDLINE_ADDR], '\0');
	CU_ASSERT_EQUAL(zero_page()->hdr.cmd_line_ptr, LOADER_CMDLINE_ADDR);
	/* NULL args: no memory sizes, so the kernel does not fit. */
	fakemem_reset(MEM_SMALL);
	CU_ASSERT_EQUAL(loader_bzimage_load(img, len, &fakemem_lmem, NULL, &out,
					    NULL, errbuf, sizeof(errbuf)),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "beyond low guest memory"));
	free(img);
}

static void
test_initrd(void)
{
	struct loader_kernel_args a = small_args();
	struct loader_image out;
	unsigned char *img, *rd;
	uint64_t want;
	size_t len;

	img = build_bz(P_GZIP, &len);
	a.initrd_len = (1 << 20) + 123;
	rd = malloc(a.initrd_len);
	for (size_t i = 0; i < a.initrd_len; i++)
		rd[i] = (unsigned char)(i * 7);
	a.initrd = rd;
	fakemem_reset(MEM_SMALL);
	CU_ASSERT_EQUAL_FATAL(bz_load(img, len, &a, &out, NULL), 0);
	/* Highest page-aligned place below the end of memory. */
	want = (MEM_SMALL - a.initrd_len) & ~0xfffULL;
	check_zero_page(img, PREF, a.cmdline, want, a.initrd_len, MEM_SMALL);
	CU_ASSERT_EQUAL(memcmp(fakemem.buf + want, rd, a.initrd_len), 0);
	CU_ASSERT_EQUAL(fakemem.buf[want - 1], FILL);

	/* Below initrd_addr_max where that is lower than memory. */
	put32(img, 0x22c, 0x00ffffff + PREF + 0x400000);
	fakemem_reset(MEM_SMALL);
	CU_ASSERT_EQUAL_FATAL(bz_load(img, len, &a, &out, NULL), 0);
	want = (PREF + 0x400000 + 0x1000000 - a.initrd_len) & ~0xfffULL;
	CU_ASSERT_EQUAL(zero_page()->hdr.ramdisk_image, want);
	CU_ASSERT_EQUAL(memcmp(fakemem.buf + want, rd, a.initrd_len), 0);

	/* initrd_addr_max right at the kernel's end: no room. */
	put32(img, 0x22c, PREF + 0x400000 + 0xfffff);
	expect_fail_args(img, len, &a,
			 "the initrd (1048699 bytes) does not fit between the "
			 "kernel's end 0x1400000 and 0x1500000",
			 true);
	put32(img, 0x22c, 0x7fffffff);
	/* Larger than memory. */
	a.initrd_len = MEM_SMALL + 1;
	expect_fail_args(img, len, &a, "does not fit between the kernel's end",
			 true);
	free(rd);
	free(img);
}

/* ---- malformed bzImages ------------------------------------------------ */

static void
test_bad_header(void)
{
	unsigned char *img;
	size_t len;

	img = build_bz(P_GZIP, &len);
	expect_fail(img, 0x100, "truncated bzImage: 256 bytes, too short");
	expect_fail(img, 0x205, "truncated bzImage");
	expect_fail(img, 0x250,
		    "truncated bzImage: the setup header ends at 0x26c, past "
		    "the end of the file (592 bytes)");
	img[0x203] = 'X';
	expect_fail(img, len,
		    "not a Linux bzImage: no \"HdrS\" signature at 0x202");
	CU_ASSERT_EQUAL(loader_probe(img, len), LOADER_FORMAT_UNKNOWN);
	img[0x203] = 'd';
	put16(img, 0x1fe, 0x1234);
	expect_fail(img, len, "boot_flag 0x1234 at 0x1fe, want 0xaa55");
	put16(img, 0x1fe, 0xaa55);
	/* The header says it is shorter than protocol 2.12's. */
	img[0x201] = 0x30;
	expect_fail(img, len,
		    "the setup header ends at 0x232, before the "
		    "fields of protocol 2.15");
	img[0x201] = 0xf0;
	expect_fail(img, len, "the setup header ends at 0x2f2, past its room");
	img[0x201] = 0x6a;
	free(img);
}

static void
test_old_protocol(void)
{
	unsigned char *img;
	size_t len;

	img = build_bz(P_GZIP, &len);
	put16(img, 0x206, 0x0204);
	expect_fail(img, len,
		    "Linux boot protocol 2.04 is too old: rhyve needs 2.12 "
		    "or later");
	put16(img, 0x206, 0x020b);
	expect_fail(img, len, "Linux boot protocol 2.11 is too old");
	put16(img, 0x206, 0x020c);
	{
		struct loader_kernel_args a = small_args();
		struct loader_image out;

		fakemem_reset(MEM_SMALL);
		CU_ASSERT_EQUAL(bz_load(img, len, &a, &out, NULL), 0);
	}
	free(img);
}

static void
test_not_64bit(void)
{
	unsigned char *img;
	size_t len;

	img = build_bz(P_GZIP, &len);
	put16(img, 0x236, 0x0006);
	expect_fail(img, len,
		    "the kernel has no 64-bit entry point (xloadflags 0x6 "
		    "without XLF_KERNEL_64)");
	put16(img, 0x236, 0x0001);
	img[0x211] = 0;
	expect_fail(img, len,
		    "not a bzImage: loadflags 0x00 without "
		    "LOADED_HIGH");
	free(img);
}

static void
test_truncated(void)
{
	unsigned char *img;
	size_t len;

	img = build_bz(P_GZIP, &len);
	/* Setup code longer than the file. */
	img[0x1f1] = 200;
	expect_fail(img, len,
		    "truncated bzImage: the setup code (200 "
		    "sectors) ends at 0x19200");
	img[0x1f1] = 1;
	/* Cut in the protected-mode part: syssize says more. */
	expect_fail(img, len - 16, "truncated bzImage: the kernel has");
	expect_fail(img, len - 16, "(syssize)");
	expect_fail(img, BZ_SETUP, "the setup code (1 sectors) ends at 0x400");
	free(img);
}

static void
test_bad_layout(void)
{
	struct loader_kernel_args a = small_args();
	unsigned char *img;
	size_t len;

	img = build_bz(P_GZIP, &len);
	put32(img, 0x230, 0x3000);
	expect_fail(img, len, "kernel_alignment 0x3000 is not a power of two");
	put32(img, 0x230, 0);
	expect_fail(img, len, "kernel_alignment 0x0 is not a power of two");
	put32(img, 0x230, 0x200000);
	/* A relocatable kernel's pref_address is aligned up. */
	{
		struct loader_image out;

		put64(img, 0x258, 0x1234567);
		fakemem_reset(MEM_SMALL);
		CU_ASSERT_EQUAL(bz_load(img, len, &a, &out, NULL), 0);
		CU_ASSERT_EQUAL(zero_page()->hdr.code32_start, 0x1400000);
	}
	img[0x234] = 0; /* not relocatable: pref_address as it is */
	expect_fail(img, len,
		    "pref_address 0x1234567 is not a page-aligned address "
		    "from 1 MiB below 4 GiB");
	put64(img, 0x258, 0x80000);
	expect_fail(img, len, "pref_address 0x80000 is not");
	put64(img, 0x258, 0x100000000ULL);
	expect_fail(img, len, "pref_address 0x100000000 is not");
	img[0x234] = 1;
	put64(img, 0x258, PREF);
	free(img);
}

static void
test_init_size(void)
{
	struct loader_kernel_args a = small_args();
	unsigned char *img;
	size_t len;

	img = build_bz(P_GZIP, &len);
	put32(img, 0x260, 0xf0000000);
	expect_fail(img, len,
		    "the kernel needs [0x1000000, 0xf1000000) (init_size "
		    "0xf0000000 at 0x1000000), beyond low guest memory "
		    "(0x4000000 bytes)");
	put32(img, 0x260, MEM_SMALL - PREF + 1);
	expect_fail(img, len, "beyond low guest memory");
	put32(img, 0x260, 0);
	expect_fail(img, len, "init_size 0");
	/* Exactly up to the end of memory is fine. */
	put32(img, 0x260, MEM_SMALL - PREF);
	{
		struct loader_image out;

		fakemem_reset(MEM_SMALL);
		CU_ASSERT_EQUAL(bz_load(img, len, &a, &out, NULL), 0);
	}
	/* A hole in guest memory under the kernel. */
	put32(img, 0x260, 0x400000);
	fakemem_reset(MEM_SMALL);
	fakemem.hole_base = PREF + 0x100000;
	fakemem.hole_end = PREF + 0x101000;
	{
		struct loader_image out;

		CU_ASSERT_EQUAL(bz_load(img, len, &a, &out, NULL), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(
		    errbuf, "the kernel's [0x1000000, 0x1400000) lies outside "
			    "guest memory"));
	}
	free(img);
}

static void
test_bad_payload(void)
{
	unsigned char *img;
	size_t len;

	img = build_bz(P_XZ, &len);
	put32(img, 0x248, 0x7ffffff0);
	expect_fail(img, len, "the payload [0x7ffffff0, 0x");
	expect_fail(img, len, ") lies outside the kernel (0x");
	put32(img, 0x248, 0xfffffff0);
	put32(img, 0x24c, 0x100); /* offset + length past 4 GiB */
	expect_fail(img, len, "lies outside the kernel");
	put32(img, 0x248, BZ_PAYLOAD);
	put32(img, 0x24c, 0);
	expect_fail(img, len, "empty payload (payload_length 0)");
	free(img);

	/* Corrupt xz data: the check catches it. */
	img = build_bz(P_XZ, &len);
	img[BZ_SETUP + BZ_PAYLOAD + 40] ^= 0x55;
	{
		struct loader_kernel_args a = small_args();

		expect_fail_args(img, len, &a,
				 "the xz payload cannot be decompressed",
				 false);
		/* The guest may try. */
		a.guest_decompress = true;
		{
			struct loader_image out;

			fakemem_reset(MEM_SMALL);
			CU_ASSERT_EQUAL(bz_load(img, len, &a, &out, NULL), 0);
		}
	}
	free(img);

	/* Truncated streams. */
	img = build_bz(P_GZIP, &len);
	put32(img, 0x24c, 30);
	expect_fail(img, len, "the gzip payload is truncated");
	free(img);
	img = build_bz(P_ZSTD, &len);
	put32(img, 0x24c, 20);
	expect_fail(img, len, "the zstd payload");
	free(img);

	/* Decompresses to something that is not a kernel. */
	img = build_bz(P_TEXT_GZIP, &len);
	expect_fail(img, len,
		    "the gzip payload does not hold an x86-64 ELF kernel");
	free(img);

	/* Decompresses to more than init_size. */
	img = build_bz(P_XZ, &len);
	put32(img, 0x260, 0x40);
	expect_fail(img, len,
		    "the xz payload decompresses to more than 64 "
		    "bytes");
	free(img);
}

static void
test_bad_vmlinux(void)
{
	unsigned char *elf, *img;
	size_t elen, len;

	/* An uncompressed payload whose vmlinux sits in the info area. */
	img = build_bz(P_NONE, &len);
	elf = img + BZ_SETUP + BZ_PAYLOAD;
	elen = len - BZ_SETUP - BZ_PAYLOAD;
	CU_ASSERT_FATAL(elen > sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr));
	((Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)))->p_paddr = 0xa000;
	((Elf64_Ehdr *)elf)->e_entry = 0xa000;
	expect_fail(img, len,
		    "vmlinux (none payload): a vmlinux segment [0xa000, "
		    "0xd000) overlaps the loader's boot information area "
		    "[0x9000, 0x10000)");
	((Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)))->p_paddr = 0x2000;
	expect_fail(img, len, "overlaps the loader's boot area");
	((Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)))->p_paddr = 0x10000;
	((Elf64_Ehdr *)elf)->e_entry = 0x10000;
	expect_fail(img, len,
		    "a vmlinux segment [0x10000, 0x13000) lies below 0x100000");
	((Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)))->p_paddr = 0x100000000ULL;
	expect_fail(img, len,
		    "a vmlinux segment [0x100000000, 0x100003000) lies above "
		    "0x100000000");
	((Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)))->p_paddr = PREF;
	((Elf64_Ehdr *)elf)->e_entry = PREF;
	((Elf64_Ehdr *)elf)->e_machine = EM_386;
	expect_fail(img, len, "does not hold an x86-64 ELF kernel");
	free(img);
}

static void
test_cmdline(void)
{
	struct loader_kernel_args a = small_args();
	char *line;
	unsigned char *img;
	size_t len;

	img = build_bz(P_GZIP, &len);
	line = malloc(LOADER_CMDLINE_MAX + 1);
	memset(line, 'x', LOADER_CMDLINE_MAX);
	line[0x800] = '\0';
	a.cmdline = line;
	expect_fail_args(img, len, &a,
			 "the command line has 2048 bytes, the kernel takes at "
			 "most 2047 (cmdline_size)",
			 true);
	line[0x7ff] = '\0';
	{
		struct loader_image out;

		fakemem_reset(MEM_SMALL);
		CU_ASSERT_EQUAL(bz_load(img, len, &a, &out, NULL), 0);
		CU_ASSERT_STRING_EQUAL(
		    (char *)fakemem.buf + LOADER_CMDLINE_ADDR, line);
	}
	put32(img, 0x238, 0xffffffff);
	memset(line, 'x', LOADER_CMDLINE_MAX);
	line[LOADER_CMDLINE_MAX] = '\0';
	expect_fail_args(img, len, &a,
			 "the command line has 4096 bytes, rhyve passes at "
			 "most 4095",
			 true);
	free(line);
	free(img);
}

static void
test_info_area(void)
{
	struct loader_kernel_args a = small_args();
	struct loader_image out;
	unsigned char *img;
	size_t len;

	img = build_bz(P_GZIP, &len);
	fakemem_reset(MEM_SMALL);
	fakemem.hole_base = 0xf000;
	fakemem.hole_end = 0x10000;
	CU_ASSERT_EQUAL(bz_load(img, len, &a, &out, NULL), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf,
				      "guest memory does not cover the boot "
				      "information area [0x9000, 0x10000)"));
	CU_ASSERT_EQUAL(loader_bzimage_load(NULL, 0, &fakemem_lmem, &a, &out,
					    NULL, errbuf, sizeof(errbuf)),
			-1);
	CU_ASSERT_EQUAL(loader_bzimage_load(img, len, NULL, &a, &out, NULL,
					    errbuf, sizeof(errbuf)),
			-1);
	free(img);
}

/* ---- e820 --------------------------------------------------------------- */

static void
test_e820(void)
{
	struct loader_e820_entry t[LOADER_E820_MAX];
	size_t n;

	n = loader_e820(512 << 20, 0, t, LOADER_E820_MAX);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(t[2].addr, 0x100000);
	CU_ASSERT_EQUAL(t[2].size, (512 << 20) - 0x100000);

	/* 4 GiB of RAM: 3 GiB low, 1 GiB from 4 GiB. */
	n = loader_e820(3ULL << 30, 1ULL << 30, t, LOADER_E820_MAX);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	CU_ASSERT_EQUAL(t[0].addr, 0);
	CU_ASSERT_EQUAL(t[0].size, 0x9fc00);
	CU_ASSERT_EQUAL(t[0].type, LOADER_E820_RAM);
	CU_ASSERT_EQUAL(t[1].addr, 0x9fc00);
	CU_ASSERT_EQUAL(t[1].type, LOADER_E820_RESERVED);
	CU_ASSERT_EQUAL(t[2].addr + t[2].size, 3ULL << 30);
	/* The PCI ECAM window (MCFG) is reserved, not a hole. */
	CU_ASSERT_EQUAL(t[3].addr, 0xe0000000);
	CU_ASSERT_EQUAL(t[3].size, 256 << 20);
	CU_ASSERT_EQUAL(t[3].type, LOADER_E820_RESERVED);
	CU_ASSERT_EQUAL(t[4].addr, 0xfec00000);
	CU_ASSERT_EQUAL(t[4].addr + t[4].size, 1ULL << 32);
	CU_ASSERT_EQUAL(t[4].type, LOADER_E820_RESERVED);
	CU_ASSERT_EQUAL(t[5].addr, 1ULL << 32);
	CU_ASSERT_EQUAL(t[5].size, 1ULL << 30);
	CU_ASSERT_EQUAL(t[5].type, LOADER_E820_RAM);
	for (size_t i = 1; i < n; i++)
		CU_ASSERT_TRUE(t[i].addr >= t[i - 1].addr + t[i - 1].size);

	/* Less than 640 KiB: what there is, then the reserved areas. */
	n = loader_e820(0x80000, 0, t, LOADER_E820_MAX);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(t[0].size, 0x80000);
	CU_ASSERT_EQUAL(t[1].addr, 0x9fc00);
	CU_ASSERT_EQUAL(t[2].addr, 0xe0000000);
	CU_ASSERT_EQUAL(t[3].addr, 0xfec00000);
	n = loader_e820(0, 0, t, LOADER_E820_MAX);
	CU_ASSERT_EQUAL(n, 3);
	/* A short table is filled as far as it goes. */
	CU_ASSERT_EQUAL(loader_e820(3ULL << 30, 1ULL << 30, t, 2), 2);
	CU_ASSERT_EQUAL(loader_e820(3ULL << 30, 1ULL << 30, NULL, 8), 0);
}

/* Our zero-page offsets against the kernel's struct boot_params. */
static void
test_layout(void)
{
	CU_ASSERT_EQUAL(sizeof(struct boot_params), 4096);
	CU_ASSERT_EQUAL(offsetof(struct boot_params, hdr), 0x1f1);
	CU_ASSERT_EQUAL(offsetof(struct boot_params, e820_table), 0x2d0);
	CU_ASSERT_EQUAL(offsetof(struct boot_params, e820_entries), 0x1e8);
	CU_ASSERT_EQUAL(offsetof(struct boot_params, hdr.init_size), 0x260);
	CU_ASSERT_EQUAL(offsetof(struct boot_params, hdr.pref_address), 0x258);
	CU_ASSERT_EQUAL(offsetof(struct boot_params, hdr.payload_offset),
			0x248);
	CU_ASSERT_EQUAL(LOADER_CMDLINE_ADDR, LOADER_INFO_ADDR + 4096);
	CU_ASSERT_TRUE(LOADER_INFO_ADDR >= LOADER_BOOT_AREA_END);
}

/* ---- Debian's kernel --------------------------------------------------- */

static unsigned char *deb_img;
static size_t deb_len;
static char deb_path[512];

/* RHYVE_LINUX_KERNEL, or the last /boot/vmlinuz-* in version order. */
static bool
find_kernel(void)
{
	const char *env = getenv("RHYVE_LINUX_KERNEL");
	struct dirent **names;
	int n;

	if (env != NULL && env[0] != '\0') {
		snprintf(deb_path, sizeof(deb_path), "%s", env);
		return true;
	}
	deb_path[0] = '\0';
	n = scandir("/boot", &names, NULL, versionsort);
	for (int i = 0; i < n; i++) {
		if (strncmp(names[i]->d_name, "vmlinuz-", 8) == 0)
			snprintf(deb_path, sizeof(deb_path), "/boot/%s",
				 names[i]->d_name);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return deb_path[0] != '\0';
}

static bool
have_debian_kernel(void)
{
	static int state = -1;
	FILE *fp;
	long sz;

	if (state >= 0)
		return state;
	state = 0;
	if (!find_kernel()) {
		/* The tests install it where they can (root, apt). */
		if (system("bash " RHYVE_SOURCE_DIR
			   "/tests/linux/ensure-kernel.sh >/dev/null") != 0 ||
		    !find_kernel()) {
			printf("SKIP: no /boot/vmlinuz-* and "
			       "linux-image-amd64 could not be installed; "
			       "Debian kernel tests skipped\n");
			return false;
		}
	}
	fp = fopen(deb_path, "rb");
	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 ||
	    (sz = ftell(fp)) <= 0) {
		printf("SKIP: cannot read %s\n", deb_path);
		if (fp != NULL)
			fclose(fp);
		return false;
	}
	rewind(fp);
	deb_img = malloc((size_t)sz);
	if (deb_img == NULL ||
	    fread(deb_img, 1, (size_t)sz, fp) != (size_t)sz) {
		printf("SKIP: cannot read %s\n", deb_path);
		fclose(fp);
		return false;
	}
	fclose(fp);
	deb_len = (size_t)sz;
	state = 1;
	return true;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#define DEB_MEM     (512u << 20)
#define DEB_CMDLINE "earlyprintk=serial console=ttyS0 rhyve-test"

static void
test_debian_host(void)
{
	struct loader_kernel_args a = {
		.lowmem = DEB_MEM,
		.cmdline = DEB_CMDLINE,
		.acpi_rsdp = TEST_RSDP,
	};
	const struct setup_header *h;
	struct loader_image out;
	const char *how = NULL, *ver;
	unsigned char *rd;
	char banner[128];
	uint64_t pref, rdaddr;
	double t0;

	if (!have_debian_kernel())
		return;
	printf("\n  kernel %s (%zu bytes)", deb_path, deb_len);
	h = (const struct setup_header *)(deb_img + 0x1f1);
	CU_ASSERT_EQUAL(loader_probe(deb_img, deb_len), LOADER_FORMAT_BZIMAGE);
	CU_ASSERT_TRUE(h->version >= 0x020c);
	pref = h->pref_address;

	a.initrd_len = 3 << 20;
	rd = malloc(a.initrd_len);
	memset(rd, 0x5a, a.initrd_len);
	a.initrd = rd;
	fakemem_reset(DEB_MEM);
	t0 = now_ms();
	if (bz_load(deb_img, deb_len, &a, &out, &how) != 0)
		printf("\n  %s\n", errbuf);
	CU_ASSERT_EQUAL_FATAL(errbuf[0], '\0');
	printf("; %s: decompressed and loaded in %.0f ms; ", how,
	       now_ms() - t0);
	CU_ASSERT_EQUAL(strncmp(how, "host-", 5), 0);
	/* vmlinux at its link address, LOAD_PHYSICAL_ADDR = pref_address. */
	CU_ASSERT_EQUAL(out.lowest, pref);
	CU_ASSERT_TRUE(out.highest > pref &&
		       out.highest <= pref + h->init_size);
	rdaddr = (DEB_MEM - a.initrd_len) & ~0xfffULL;
	check_zero_page(deb_img, pref, DEB_CMDLINE, rdaddr, a.initrd_len,
			DEB_MEM);
	CU_ASSERT_EQUAL(memcmp(fakemem.buf + rdaddr, rd, a.initrd_len), 0);
	check_entry(&out, pref, out.highest);
	/*
	 * The decompressed kernel is the one the header names: its banner
	 * holds the setup header's kernel_version string.
	 */
	ver = (const char *)deb_img + 0x200 + h->kernel_version;
	snprintf(banner, sizeof(banner), "Linux version %.*s",
		 (int)strcspn(ver, " "), ver);
	CU_ASSERT_PTR_NOT_NULL(memmem(fakemem.buf + out.lowest,
				      out.highest - out.lowest, banner,
				      strlen(banner)));
	/* startup_64 is the first byte of .text: not zero, not filler. */
	CU_ASSERT_NOT_EQUAL(get64(pref), 0);
	free(rd);
}

static void
test_debian_guest(void)
{
	struct loader_kernel_args a = {
		.lowmem = DEB_MEM,
		.cmdline = DEB_CMDLINE,
		.guest_decompress = true,
		.acpi_rsdp = TEST_RSDP,
	};
	const struct setup_header *h;
	struct loader_image out;
	const char *how = NULL;
	size_t setup;

	if (!have_debian_kernel())
		return;
	h = (const struct setup_header *)(deb_img + 0x1f1);
	setup = ((size_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	fakemem_reset(DEB_MEM);
	CU_ASSERT_EQUAL_FATAL(bz_load(deb_img, deb_len, &a, &out, &how), 0);
	CU_ASSERT_STRING_EQUAL(how, "guest");
	CU_ASSERT_EQUAL(memcmp(fakemem.buf + h->pref_address, deb_img + setup,
			       deb_len - setup),
			0);
	check_zero_page(deb_img, h->pref_address, DEB_CMDLINE, 0, 0, DEB_MEM);
	check_entry(&out, h->pref_address + 0x200,
		    h->pref_address + h->init_size);
}

/* Debian's kernel, damaged in each way the header checks catch. */
static void
test_debian_bad(void)
{
	struct loader_kernel_args a = { .lowmem = DEB_MEM };
	struct loader_image out;
	unsigned char *img;
	size_t setup;

	if (!have_debian_kernel())
		return;
	img = malloc(deb_len);
	setup = ((size_t)(deb_img[0x1f1] ? deb_img[0x1f1] : 4) + 1) * 512;
#define DEB_EXPECT(len, want)                                                  \
	do {                                                                   \
		fakemem_reset(DEB_MEM);                                        \
		CU_ASSERT_EQUAL(bz_load(img, (len), &a, &out, NULL), -1);      \
		if (strstr(errbuf, (want)) == NULL)                            \
			printf("\n  got \"%s\", want \"%s\"\n", errbuf,        \
			       (want));                                        \
		CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, (want)));                \
		memcpy(img, deb_img, deb_len);                                 \
	} while (0)
	memcpy(img, deb_img, deb_len);
	DEB_EXPECT(0x230, "truncated bzImage");
	DEB_EXPECT(setup + 4096,
		   "truncated bzImage: the kernel has 4096 bytes");
	memcpy(img + 0x202, "HdrZ", 4);
	DEB_EXPECT(deb_len, "not a Linux bzImage");
	put16(img, 0x206, 0x0209);
	DEB_EXPECT(deb_len, "Linux boot protocol 2.09 is too old");
	put16(img, 0x236, 0);
	DEB_EXPECT(deb_len, "no 64-bit entry point");
	/* init_size larger than the 512 MiB of memory */
	put32(img, 0x260, 0x20000000);
	DEB_EXPECT(deb_len, "beyond low guest memory");
	put32(img, 0x248, (uint32_t)deb_len);
	DEB_EXPECT(deb_len, "lies outside the kernel");
	/* Damage inside the compressed data. */
	{
		uint32_t off = 0, plen = 0;

		memcpy(&off, deb_img + 0x248, 4);
		memcpy(&plen, deb_img + 0x24c, 4);
		for (uint32_t i = plen / 2; i < plen / 2 + 64; i++)
			img[setup + off + i] ^= 0xa5;
		DEB_EXPECT(deb_len, "payload cannot be decompressed");
	}
#undef DEB_EXPECT
	free(img);
}

static void
test_cleanup(void)
{
	free(deb_img);
	deb_img = NULL;
	fakemem_free();
}

static CU_TestInfo synth_tests[] = {
	{ "gzip payload, host", test_host_gzip },
	{ "xz payload, host", test_host_xz },
	{ "lzma payload, host", test_host_lzma },
	{ "zstd payload, host", test_host_zstd },
	{ "uncompressed payload", test_host_none },
	{ "lz4 payload left to the guest", test_guest_lz4 },
	{ "guest decompression", test_guest_decompress },
	{ "no command line; dispatch", test_no_cmdline_dispatch },
	{ "initrd placement", test_initrd },
	{ "bad header", test_bad_header },
	{ "old protocol", test_old_protocol },
	{ "not 64-bit", test_not_64bit },
	{ "truncated", test_truncated },
	{ "bad alignment and load address", test_bad_layout },
	{ "init_size", test_init_size },
	{ "bad payload", test_bad_payload },
	{ "bad vmlinux inside", test_bad_vmlinux },
	{ "command line limits", test_cmdline },
	{ "boot information area", test_info_area },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo e820_tests[] = {
	{ "e820 map", test_e820 },
	{ "zero page layout", test_layout },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo debian_tests[] = {
	{ "Debian kernel, host decompression", test_debian_host },
	{ "Debian kernel, guest decompression", test_debian_guest },
	{ "Debian kernel, damaged", test_debian_bad },
	{ "cleanup", test_cleanup },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "bzimage", synth_tests },
	{ "e820", e820_tests },
	{ "bzimage_debian", debian_tests },
	{ NULL, NULL },
};
