/*
 * Linux bzImage, the 64-bit boot protocol (Documentation/arch/x86/boot.rst):
 *
 *   - the setup header (offset 0x1f1 of the image) is checked and copied
 *     into the zero page (struct boot_params) at LOADER_INFO_ADDR, and
 *     the loader's fields filled in: type_of_loader, the command line at
 *     LOADER_CMDLINE_ADDR, the initrd (page-aligned, as high as
 *     initrd_addr_max and low memory allow, above the kernel) and the
 *     e820 map;
 *   - the kernel is either decompressed here (the payload named by
 *     payload_offset/payload_length; the vmlinux ELF inside is loaded at
 *     its physical addresses and entered at startup_64) or loaded whole
 *     at pref_address and entered at its 64-bit entry, load address +
 *     0x200, to decompress itself;
 *   - entry: long mode, the first 4 GiB identity-mapped (kernel, zero page,
 *     command line, initrd), __BOOT_CS 0x10 and __BOOT_DS 0x18, interrupts
 *     off, rsi = the zero page.
 *
 * The image is untrusted: every field is checked before anything is
 * written to guest memory, and every failure is one line.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "loader_int.h"

/* Setup header fields: offsets in the image and in the zero page alike. */
#define BP_SETUP_SECTS      0x1f1
#define BP_SYSSIZE          0x1f4
#define BP_BOOT_FLAG        0x1fe
#define BP_JUMP             0x200
#define BP_HEADER           0x202
#define BP_VERSION          0x206
#define BP_TYPE_OF_LOADER   0x210
#define BP_LOADFLAGS        0x211
#define BP_CODE32_START     0x214
#define BP_RAMDISK_IMAGE    0x218
#define BP_RAMDISK_SIZE     0x21c
#define BP_HEAP_END_PTR     0x224
#define BP_CMD_LINE_PTR     0x228
#define BP_INITRD_ADDR_MAX  0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE      0x234
#define BP_XLOADFLAGS       0x236
#define BP_CMDLINE_SIZE     0x238
#define BP_PAYLOAD_OFFSET   0x248
#define BP_PAYLOAD_LENGTH   0x24c
#define BP_SETUP_DATA       0x250
#define BP_PREF_ADDRESS     0x258
#define BP_INIT_SIZE        0x260
#define BP_HDR_LIMIT        0x290 /* where the zero page's header room ends */

/* The rest of struct boot_params that the loader fills in. */
#define ZP_ACPI_RSDP_ADDR    0x070 /* protocol 2.14+ */
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_ALT_MEM_K         0x1e0
#define ZP_E820_ENTRIES      0x1e8
#define ZP_E820_TABLE        0x2d0
#define ZP_E820_MAX          128
#define ZP_SIZE              4096

#define BZ_MAGIC             0x53726448u /* "HdrS" */
#define BZ_BOOT_FLAG         0xaa55
#define BZ_MIN_VERSION       0x020c /* 2.12: xloadflags, 64-bit entry */
#define BZ_LOADED_HIGH       0x01
#define BZ_CAN_USE_HEAP      0x80
#define BZ_XLF_KERNEL_64     0x0001
#define BZ_ENTRY64_OFFSET    0x200
#define BZ_TYPE_OF_LOADER    0xff /* undefined boot loader */

struct bz_hdr {
	uint16_t version;
	size_t hdr_end;    /* one past the setup header */
	size_t setup_size; /* real-mode part: (setup_sects + 1) * 512 */
	size_t ksize;      /* protected-mode part: the rest of the file */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t init_size;
	size_t payload_off, payload_len; /* in the file */
	uint64_t load;                   /* where the kernel goes */
	uint64_t run_end;                /* load + what it needs to run */
};

static int
bz_check(const unsigned char *p, size_t len, const struct loader_kernel_args *a,
	 struct bz_hdr *h, char *errbuf, size_t errlen)
{
	unsigned int sects;
	uint64_t syssize, need, pay_end, align;
	uint32_t pay_off;
	uint16_t xlf;
	uint8_t lf;

	if (len < BP_HEADER + 4)
		return loader_fail(
		    errbuf, errlen,
		    "truncated bzImage: %zu bytes, too short for "
		    "a setup header",
		    len);
	if (ld_le32(p + BP_HEADER) != BZ_MAGIC)
		return loader_fail(errbuf, errlen,
				   "not a Linux bzImage: no \"HdrS\" signature "
				   "at 0x202");
	if (ld_le16(p + BP_BOOT_FLAG) != BZ_BOOT_FLAG)
		return loader_fail(errbuf, errlen,
				   "bad bzImage: boot_flag 0x%04x at 0x1fe, "
				   "want 0xaa55",
				   ld_le16(p + BP_BOOT_FLAG));
	if (len < BP_VERSION + 2)
		return loader_fail(
		    errbuf, errlen,
		    "truncated bzImage: %zu bytes, too short for "
		    "a setup header",
		    len);
	h->version = ld_le16(p + BP_VERSION);
	if (h->version < BZ_MIN_VERSION)
		return loader_fail(errbuf, errlen,
				   "Linux boot protocol %u.%02u is too old: "
				   "rhyve needs 2.12 or later (Linux 3.8+) for "
				   "the 64-bit entry",
				   h->version >> 8, h->version & 0xff);
	h->hdr_end = (size_t)BP_HEADER + p[BP_JUMP + 1];
	if (h->hdr_end < BP_INIT_SIZE + 4)
		return loader_fail(
		    errbuf, errlen,
		    "bad bzImage: the setup header ends at 0x%zx, "
		    "before the fields of protocol %u.%02u",
		    h->hdr_end, h->version >> 8, h->version & 0xff);
	if (h->hdr_end > BP_HDR_LIMIT)
		return loader_fail(
		    errbuf, errlen,
		    "bad bzImage: the setup header ends at 0x%zx, "
		    "past its room in the zero page (0x%x)",
		    h->hdr_end, BP_HDR_LIMIT);
	if (h->hdr_end > len)
		return loader_fail(
		    errbuf, errlen,
		    "truncated bzImage: the setup header ends at "
		    "0x%zx, past the end of the file (%zu bytes)",
		    h->hdr_end, len);
	sects = p[BP_SETUP_SECTS] != 0 ? p[BP_SETUP_SECTS] : 4;
	h->setup_size = ((size_t)sects + 1) * 512;
	if (h->setup_size >= len)
		return loader_fail(errbuf, errlen,
				   "truncated bzImage: the setup code (%u "
				   "sectors) ends at 0x%zx, the file at 0x%zx",
				   sects, h->setup_size, len);
	h->ksize = len - h->setup_size;
	syssize = (uint64_t)ld_le32(p + BP_SYSSIZE) * 16;
	if (syssize > h->ksize)
		return loader_fail(
		    errbuf, errlen,
		    "truncated bzImage: the kernel has %zu bytes, "
		    "the header says %" PRIu64 " (syssize)",
		    h->ksize, syssize);
	lf = p[BP_LOADFLAGS];
	if (!(lf & BZ_LOADED_HIGH))
		return loader_fail(errbuf, errlen,
				   "not a bzImage: loadflags 0x%02x without "
				   "LOADED_HIGH (a zImage, which loads below 1 "
				   "MiB)",
				   lf);
	xlf = ld_le16(p + BP_XLOADFLAGS);
	if (!(xlf & BZ_XLF_KERNEL_64))
		return loader_fail(errbuf, errlen,
				   "the kernel has no 64-bit entry point "
				   "(xloadflags 0x%x without XLF_KERNEL_64): "
				   "rhyve boots 64-bit Linux kernels",
				   xlf);

	/* Where the kernel goes: pref_address, aligned if relocatable. */
	h->load = ld_le64(p + BP_PREF_ADDRESS);
	if (p[BP_RELOCATABLE] != 0) {
		align = ld_le32(p + BP_KERNEL_ALIGNMENT);
		if (align < LOADER_PAGE || (align & (align - 1)) != 0 ||
		    align > (1ULL << 30))
			return loader_fail(
			    errbuf, errlen,
			    "bad bzImage: kernel_alignment 0x%" PRIx64
			    " is not a power of two from 4 KiB to 1 GiB",
			    align);
		if (h->load < LOADER_1MIB)
			h->load = LOADER_1MIB;
		if (h->load <= LOADER_4GIB)
			h->load = (h->load + align - 1) & ~(align - 1);
	}
	if (h->load < LOADER_1MIB || h->load >= LOADER_4GIB ||
	    (h->load & (LOADER_PAGE - 1)) != 0)
		return loader_fail(errbuf, errlen,
				   "bad bzImage: pref_address 0x%" PRIx64
				   " is not a page-aligned address from 1 MiB "
				   "below 4 GiB",
				   ld_le64(p + BP_PREF_ADDRESS));
	h->init_size = ld_le32(p + BP_INIT_SIZE);
	need = h->init_size > h->ksize ? h->init_size : h->ksize;
	h->run_end = h->load + need;
	if (h->init_size == 0)
		return loader_fail(errbuf, errlen, "bad bzImage: init_size 0");
	if (h->run_end > a->lowmem || h->run_end > LOADER_4GIB)
		return loader_fail(
		    errbuf, errlen,
		    "the kernel needs [0x%" PRIx64 ", 0x%" PRIx64
		    ") (init_size 0x%x at 0x%" PRIx64
		    "), beyond low guest memory (0x%" PRIx64 " bytes)",
		    h->load, h->run_end, h->init_size, h->load, a->lowmem);

	/* The payload, even where the guest decompresses it. */
	pay_off = ld_le32(p + BP_PAYLOAD_OFFSET);
	h->payload_len = ld_le32(p + BP_PAYLOAD_LENGTH);
	pay_end = (uint64_t)pay_off + h->payload_len;
	if (h->payload_len == 0)
		return loader_fail(errbuf, errlen,
				   "bad bzImage: empty payload (payload_length "
				   "0)");
	if (pay_end > h->ksize)
		return loader_fail(errbuf, errlen,
				   "bad bzImage: the payload [0x%x, 0x%" PRIx64
				   ") lies outside the kernel (0x%zx bytes)",
				   pay_off, pay_end, h->ksize);
	h->payload_off = h->setup_size + pay_off;

	h->initrd_addr_max = ld_le32(p + BP_INITRD_ADDR_MAX);
	h->cmdline_size = ld_le32(p + BP_CMDLINE_SIZE);
	return 0;
}

/* The command line and the initrd against the header and memory. */
static int
bz_check_args(const struct bz_hdr *h, const struct loader_mem *mem,
	      const struct loader_kernel_args *a, uint64_t *initrdp,
	      char *errbuf, size_t errlen)
{
	size_t clen = a->cmdline != NULL ? strlen(a->cmdline) : 0;
	uint64_t top;

	if (clen > h->cmdline_size)
		return loader_fail(errbuf, errlen,
				   "the command line has %zu bytes, the kernel "
				   "takes at most %" PRIu32 " (cmdline_size)",
				   clen, h->cmdline_size);
	if (clen >= LOADER_CMDLINE_MAX)
		return loader_fail(
		    errbuf, errlen,
		    "the command line has %zu bytes, rhyve passes "
		    "at most %d",
		    clen, LOADER_CMDLINE_MAX - 1);
	if (mem->map(mem->arg, LOADER_INFO_ADDR,
		     LOADER_INFO_END - LOADER_INFO_ADDR) == NULL)
		return loader_fail(errbuf, errlen,
				   "guest memory does not cover the boot "
				   "information area [0x%llx, 0x%llx)",
				   LOADER_INFO_ADDR, LOADER_INFO_END);
	*initrdp = 0;
	if (a->initrd == NULL || a->initrd_len == 0)
		return 0;
	/* Highest page-aligned place below initrd_addr_max and lowmem. */
	top = (uint64_t)h->initrd_addr_max + 1;
	if (a->lowmem < top)
		top = a->lowmem;
	if (top > LOADER_4GIB)
		top = LOADER_4GIB;
	if (a->initrd_len > top ||
	    ((top - a->initrd_len) & ~(LOADER_PAGE - 1)) < h->run_end)
		return loader_fail(
		    errbuf, errlen,
		    "the initrd (%zu bytes) does not fit between "
		    "the kernel's end 0x%" PRIx64 " and 0x%" PRIx64
		    " (the end of low memory or initrd_addr_max)",
		    a->initrd_len, h->run_end, top);
	*initrdp = (top - a->initrd_len) & ~(LOADER_PAGE - 1);
	if (mem->map(mem->arg, *initrdp, a->initrd_len) == NULL)
		return loader_fail(errbuf, errlen,
				   "the initrd at [0x%" PRIx64 ", 0x%" PRIx64
				   ") lies outside guest memory",
				   *initrdp, *initrdp + a->initrd_len);
	return 0;
}

static const char *
bz_host_how(const char *fmt)
{
	static const char *const names[][2] = {
		{ "gzip", "host-gzip" }, { "xz", "host-xz" },
		{ "lzma", "host-lzma" }, { "zstd", "host-zstd" },
		{ "none", "host-none" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(fmt, names[i][0]) == 0)
			return names[i][1];
	return "host";
}

/*
 * Decompress the payload and load the vmlinux inside.  Returns 0 (loaded,
 * *img set), 1 (the host cannot decompress this format) or -1.
 */
static int
bz_load_vmlinux(const unsigned char *p, const struct bz_hdr *h,
		const struct loader_mem *mem,
		const struct loader_kernel_args *a, struct loader_image *img,
		const char **how, char *errbuf, size_t errlen)
{
	unsigned char *elf = NULL;
	size_t elflen = 0, maxout = h->init_size;
	struct loader_guard guard;
	struct loader_mem view;
	const char *fmt = "unknown";
	char reason[384];
	int ret;

	if (maxout > a->lowmem + a->highmem)
		maxout = (size_t)(a->lowmem + a->highmem);
	ret = loader_decompress(p + h->payload_off, h->payload_len, maxout,
				&elf, &elflen, &fmt, reason, sizeof(reason));
	if (ret == 1)
		return 1;
	if (ret != 0)
		return loader_fail(errbuf, errlen, "%s", reason);
	if (elflen < 20 || memcmp(elf, "\x7f\x45\x4c\x46\x02\x01", 6) != 0 ||
	    ld_le16(elf + 18) != 62 /* EM_X86_64 */) {
		free(elf);
		return loader_fail(errbuf, errlen,
				   "the %s payload does not hold an x86-64 ELF "
				   "kernel (vmlinux)",
				   fmt);
	}
	/* A Linux kernel lives from 1 MiB up, within the boot mappings. */
	view = loader_guard_init(&guard, mem, LOADER_1MIB, LOADER_4GIB);
	ret = loader_elf_load(elf, elflen, &view, img, reason, sizeof(reason));
	free(elf);
	if (ret != 0) {
		loader_guard_explain(&guard, "a vmlinux segment", reason,
				     sizeof(reason));
		return loader_fail(errbuf, errlen, "vmlinux (%s payload): %s",
				   fmt, reason);
	}
	*how = bz_host_how(fmt);
	return 0;
}

static void
bz_zero_page(unsigned char *zp, const unsigned char *p, const struct bz_hdr *h,
	     const struct loader_kernel_args *a, uint64_t initrd)
{
	struct loader_e820_entry e820[LOADER_E820_MAX];
	size_t n;

	memset(zp, 0, ZP_SIZE);
	memcpy(zp + BP_SETUP_SECTS, p + BP_SETUP_SECTS,
	       h->hdr_end - BP_SETUP_SECTS);
	/* The loader's fields. */
	zp[BP_TYPE_OF_LOADER] = BZ_TYPE_OF_LOADER;
	zp[BP_LOADFLAGS] &= (unsigned char)~BZ_CAN_USE_HEAP;
	st_le16(zp + BP_HEAP_END_PTR, 0);
	st_le32(zp + BP_CODE32_START, (uint32_t)h->load);
	st_le32(zp + BP_CMD_LINE_PTR, (uint32_t)LOADER_CMDLINE_ADDR);
	st_le32(zp + ZP_EXT_CMD_LINE_PTR,
		(uint32_t)(LOADER_CMDLINE_ADDR >> 32));
	st_le32(zp + BP_RAMDISK_IMAGE, (uint32_t)initrd);
	st_le32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd >> 32));
	st_le32(zp + BP_RAMDISK_SIZE, (uint32_t)a->initrd_len);
	st_le32(zp + ZP_EXT_RAMDISK_SIZE,
		(uint32_t)((uint64_t)a->initrd_len >> 32));
	st_le64(zp + BP_SETUP_DATA, 0); /* no setup_data list */
	/* Older kernels scan the BIOS area for the RSDP themselves. */
	if (h->version >= 0x020e)
		st_le64(zp + ZP_ACPI_RSDP_ADDR, a->acpi_rsdp);
	/* Extended memory above 1 MiB in KiB (the pre-e820 way). */
	if (a->lowmem > LOADER_1MIB)
		st_le32(zp + ZP_ALT_MEM_K,
			(uint32_t)((a->lowmem - LOADER_1MIB) >> 10));
	n = loader_e820(a->lowmem, a->highmem, e820, LOADER_E820_MAX);
	zp[ZP_E820_ENTRIES] = (unsigned char)n;
	for (size_t i = 0; i < n && i < ZP_E820_MAX; i++) {
		unsigned char *e = zp + ZP_E820_TABLE + 20 * i;

		st_le64(e, e820[i].addr);
		st_le64(e + 8, e820[i].size);
		st_le32(e + 16, e820[i].type);
	}
}

int
loader_bzimage_load(const void *image, size_t len, const struct loader_mem *mem,
		    const struct loader_kernel_args *args,
		    struct loader_image *out, const char **how, char *errbuf,
		    size_t errlen)
{
	static const struct loader_kernel_args noargs;
	const unsigned char *p = image;
	const char *howp = "guest";
	struct loader_image img;
	struct bz_hdr h;
	uint64_t initrd = 0;
	unsigned char *zp, *dst;
	size_t clen;
	int ret = 1;

	if (image == NULL)
		return loader_fail(errbuf, errlen, "no image");
	if (mem == NULL || mem->map == NULL || out == NULL)
		return loader_fail(errbuf, errlen,
				   "no guest memory to load into");
	if (args == NULL)
		args = &noargs;
	memset(&h, 0, sizeof(h));
	if (bz_check(p, len, args, &h, errbuf, errlen) != 0 ||
	    bz_check_args(&h, mem, args, &initrd, errbuf, errlen) != 0)
		return -1;
	if ((dst = mem->map(mem->arg, h.load, (size_t)(h.run_end - h.load))) ==
	    NULL)
		return loader_fail(errbuf, errlen,
				   "the kernel's [0x%" PRIx64 ", 0x%" PRIx64
				   ") lies outside guest memory",
				   h.load, h.run_end);

	memset(&img, 0, sizeof(img));
	if (!args->guest_decompress) {
		ret = bz_load_vmlinux(p, &h, mem, args, &img, &howp, errbuf,
				      errlen);
		if (ret < 0)
			return -1;
		if (ret == 0 && img.highest > initrd && initrd != 0)
			return loader_fail(errbuf, errlen,
					   "the vmlinux ends at 0x%" PRIx64
					   ", above the initrd at 0x%" PRIx64,
					   img.highest, initrd);
	}
	if (ret == 1) {
		/* The kernel decompresses itself: load it whole. */
		memcpy(dst, p + h.setup_size, h.ksize);
		img.entry = h.load + BZ_ENTRY64_OFFSET;
		img.lowest = h.load;
		img.highest = h.run_end;
		howp = "guest";
	}
	img.mode = LOADER_MODE_LONG64;
	img.gdt = LOADER_GDT_LINUX;
	img.rsi = LOADER_INFO_ADDR;
	img.rax = img.rbx = 0;

	zp = mem->map(mem->arg, LOADER_INFO_ADDR, ZP_SIZE);
	bz_zero_page(zp, p, &h, args, initrd);
	clen = args->cmdline != NULL ? strlen(args->cmdline) : 0;
	dst = mem->map(mem->arg, LOADER_CMDLINE_ADDR, clen + 1);
	if (clen > 0)
		memcpy(dst, args->cmdline, clen);
	dst[clen] = '\0';
	if (initrd != 0) {
		dst = mem->map(mem->arg, initrd, args->initrd_len);
		memcpy(dst, args->initrd, args->initrd_len);
	}
	*out = img;
	if (how != NULL)
		*how = howp;
	return 0;
}
