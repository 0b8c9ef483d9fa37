/*
 * Multiboot v1 (the Multiboot Specification 0.6.96), as GRUB and QEMU
 * boot it:
 *
 *   - the header: magic 0x1BADB002 at a 4-byte aligned offset in the
 *     first 8 KiB, flags, checksum (the three add up to 0); requirement
 *     flags 0 (page-aligned modules), 1 (memory information) and 2 (video
 *     mode: none is set up, the kernel finds no video fields) are
 *     accepted, others in the low 16 bits refused;
 *   - the kernel: with flag 16 the header's address fields say where the
 *     file goes (the "a.out kludge", any file format); otherwise it must
 *     be ELF, loaded at its physical addresses; below 4 GiB either way;
 *   - the multiboot information at LOADER_INFO_ADDR: mem_lower/mem_upper,
 *     the e820 map as mmap, the command line, the initrd as module 0
 *     (page-aligned, at the top of low memory), the boot loader's name;
 *   - entry in flat 32-bit protected mode, paging off, interrupts off,
 *     eax 0x2BADB002, ebx the information's address.
 */
#include <inttypes.h>
#include <string.h>

#include "loader_int.h"

#define MB_HDR_SIZE      12
#define MB_HDR_AOUT_SIZE 32
#define MB_PAGE_ALIGN    0x00000001u
#define MB_MEMORY_INFO   0x00000002u
#define MB_VIDEO_MODE    0x00000004u
#define MB_AOUT_KLUDGE   0x00010000u
#define MB_SUPPORTED     (MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_VIDEO_MODE)

/* struct multiboot_info: flags and field offsets */
#define MBI_F_MEM         0x001u
#define MBI_F_CMDLINE     0x004u
#define MBI_F_MODS        0x008u
#define MBI_F_MMAP        0x040u
#define MBI_F_LOADER_NAME 0x200u
#define MBI_FLAGS         0
#define MBI_MEM_LOWER     4
#define MBI_MEM_UPPER     8
#define MBI_CMDLINE       16
#define MBI_MODS_COUNT    20
#define MBI_MODS_ADDR     24
#define MBI_MMAP_LENGTH   44
#define MBI_MMAP_ADDR     48
#define MBI_LOADER_NAME   64

/* Where the pieces go inside the information page. */
#define MB_INFO_ADDR   LOADER_INFO_ADDR
#define MB_MMAP_ADDR   (LOADER_INFO_ADDR + 0x100)
#define MB_MODS_ADDR   (LOADER_INFO_ADDR + 0x200)
#define MB_NAME_ADDR   (LOADER_INFO_ADDR + 0x300)
#define MB_INFO_SIZE   0x1000
#define MB_LOADER_NAME "rhyve"

long
loader_multiboot_find(const void *image, size_t len)
{
	const unsigned char *p = image;
	size_t end =
	    len < LOADER_MULTIBOOT_SEARCH ? len : LOADER_MULTIBOOT_SEARCH;

	if (p == NULL)
		return -1;
	for (size_t off = 0; off + MB_HDR_SIZE <= end; off += 4)
		if (ld_le32(p + off) == LOADER_MULTIBOOT_MAGIC)
			return (long)off;
	return -1;
}

/* The kernel by the header's address fields (flag 16). */
static int
mb_load_aout(const unsigned char *p, size_t len, size_t off,
	     const struct loader_mem *mem, struct loader_image *img,
	     char *errbuf, size_t errlen)
{
	uint32_t header_addr, load_addr, load_end, bss_end, entry;
	uint64_t file_start, size;
	unsigned char *dst;

	if (off + MB_HDR_AOUT_SIZE > len ||
	    off + MB_HDR_AOUT_SIZE > LOADER_MULTIBOOT_SEARCH)
		return loader_fail(errbuf, errlen,
				   "multiboot header at 0x%zx: the address "
				   "fields (flag 16) are cut off",
				   off);
	header_addr = ld_le32(p + off + 12);
	load_addr = ld_le32(p + off + 16);
	load_end = ld_le32(p + off + 20);
	bss_end = ld_le32(p + off + 24);
	entry = ld_le32(p + off + 28);
	if (load_addr > header_addr)
		return loader_fail(
		    errbuf, errlen,
		    "multiboot header at 0x%zx: load_addr 0x%" PRIx32
		    " lies above header_addr 0x%" PRIx32,
		    off, load_addr, header_addr);
	if (header_addr - load_addr > off)
		return loader_fail(
		    errbuf, errlen,
		    "multiboot header at 0x%zx: load_addr 0x%" PRIx32
		    " lies before the start of the file "
		    "(header_addr 0x%" PRIx32 ")",
		    off, load_addr, header_addr);
	file_start = off - (header_addr - load_addr);
	if (load_end == 0)
		load_end = (uint32_t)(len - file_start > UINT32_MAX - load_addr
					  ? UINT32_MAX
					  : load_addr + (len - file_start));
	if (load_end <= load_addr)
		return loader_fail(errbuf, errlen,
				   "multiboot header at 0x%zx: load_end_addr "
				   "0x%" PRIx32
				   " is not above load_addr 0x%" PRIx32,
				   off, load_end, load_addr);
	size = (uint64_t)load_end - load_addr;
	if (file_start + size > len)
		return loader_fail(errbuf, errlen,
				   "truncated multiboot kernel: [load_addr, "
				   "load_end_addr) needs 0x%" PRIx64
				   " bytes from file offset 0x%" PRIx64
				   ", the file has 0x%zx",
				   size, file_start, len);
	if (bss_end == 0)
		bss_end = load_end;
	if (bss_end < load_end)
		return loader_fail(
		    errbuf, errlen,
		    "multiboot header at 0x%zx: bss_end_addr 0x%" PRIx32
		    " lies below load_end_addr 0x%" PRIx32,
		    off, bss_end, load_end);
	if (entry < load_addr || entry >= load_end)
		return loader_fail(
		    errbuf, errlen,
		    "multiboot header at 0x%zx: entry_addr 0x%" PRIx32
		    " lies outside the loaded kernel [0x%" PRIx32 ", 0x%" PRIx32
		    ")",
		    off, entry, load_addr, load_end);
	if (load_addr < LOADER_INFO_END && bss_end > LOADER_BOOT_AREA_BASE)
		return loader_fail(
		    errbuf, errlen,
		    "the multiboot kernel [0x%" PRIx32 ", 0x%" PRIx32
		    ") overlaps the loader's boot area [0x%llx, "
		    "0x%llx)",
		    load_addr, bss_end, LOADER_BOOT_AREA_BASE, LOADER_INFO_END);
	dst = mem->map(mem->arg, load_addr, (size_t)(bss_end - load_addr));
	if (dst == NULL)
		return loader_fail(errbuf, errlen,
				   "the multiboot kernel [0x%" PRIx32
				   ", 0x%" PRIx32 ") lies outside guest memory",
				   load_addr, bss_end);
	memcpy(dst, p + file_start, (size_t)size);
	memset(dst + size, 0, (size_t)(bss_end - load_end));
	memset(img, 0, sizeof(*img));
	img->entry = entry;
	img->lowest = load_addr;
	img->highest = bss_end;
	return 0;
}

static int
mb_load_elf(const unsigned char *p, size_t len, size_t off,
	    const struct loader_mem *mem, struct loader_image *img,
	    char *errbuf, size_t errlen)
{
	struct loader_guard guard;
	struct loader_mem view;
	char reason[384];

	if (len < 4 || memcmp(p, "\x7f\x45\x4c\x46", 4) != 0)
		return loader_fail(errbuf, errlen,
				   "multiboot header at 0x%zx: no address "
				   "fields (flag 16) and not an ELF file",
				   off);
	view = loader_guard_init(&guard, mem, 0, LOADER_4GIB);
	if (loader_elf_load(p, len, &view, img, reason, sizeof(reason)) != 0) {
		loader_guard_explain(&guard, "a segment", reason,
				     sizeof(reason));
		return loader_fail(errbuf, errlen, "multiboot kernel: %s",
				   reason);
	}
	return 0;
}

static void
mb_write_info(const struct loader_mem *mem, const struct loader_kernel_args *a,
	      uint64_t mod_addr, size_t clen, size_t slen)
{
	unsigned char *info = mem->map(mem->arg, MB_INFO_ADDR, MB_INFO_SIZE);
	struct loader_e820_entry e820[LOADER_E820_MAX];
	uint32_t flags =
	    MBI_F_MEM | MBI_F_CMDLINE | MBI_F_MMAP | MBI_F_LOADER_NAME;
	uint64_t low =
	    a->lowmem < VM_LOWMEM_LIMIT ? a->lowmem : VM_LOWMEM_LIMIT;
	unsigned char *dst;
	size_t n;

	memset(info, 0, MB_INFO_SIZE);
	/* KiB below 640 KiB (up to the EBDA), and from 1 MiB to the hole. */
	st_le32(info + MBI_MEM_LOWER,
		(uint32_t)((low < LOADER_E820_EBDA ? low : LOADER_E820_EBDA) >>
			   10));
	st_le32(info + MBI_MEM_UPPER,
		low > LOADER_1MIB ? (uint32_t)((low - LOADER_1MIB) >> 10) : 0);

	st_le32(info + MBI_CMDLINE, (uint32_t)LOADER_CMDLINE_ADDR);
	dst = mem->map(mem->arg, LOADER_CMDLINE_ADDR, clen + 1);
	if (clen > 0)
		memcpy(dst, a->cmdline, clen);
	dst[clen] = '\0';

	n = loader_e820(a->lowmem, a->highmem, e820, LOADER_E820_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char *e =
		    info + (MB_MMAP_ADDR - MB_INFO_ADDR) + 24 * i;

		st_le32(e, 20); /* size of the rest of the entry */
		st_le64(e + 4, e820[i].addr);
		st_le64(e + 12, e820[i].size);
		st_le32(e + 20, e820[i].type);
	}
	st_le32(info + MBI_MMAP_LENGTH, (uint32_t)(24 * n));
	st_le32(info + MBI_MMAP_ADDR, (uint32_t)MB_MMAP_ADDR);

	memcpy(info + (MB_NAME_ADDR - MB_INFO_ADDR), MB_LOADER_NAME,
	       sizeof(MB_LOADER_NAME));
	st_le32(info + MBI_LOADER_NAME, (uint32_t)MB_NAME_ADDR);

	if (mod_addr != 0) {
		unsigned char *mod = info + (MB_MODS_ADDR - MB_INFO_ADDR);
		const char *name =
		    a->initrd_name != NULL ? a->initrd_name : "initrd";

		flags |= MBI_F_MODS;
		st_le32(info + MBI_MODS_COUNT, 1);
		st_le32(info + MBI_MODS_ADDR, (uint32_t)MB_MODS_ADDR);
		st_le32(mod, (uint32_t)mod_addr);
		st_le32(mod + 4, (uint32_t)(mod_addr + a->initrd_len));
		st_le32(mod + 8, (uint32_t)LOADER_MODSTR_ADDR);
		dst = mem->map(mem->arg, LOADER_MODSTR_ADDR, slen + 1);
		memcpy(dst, name, slen);
		dst[slen] = '\0';
		dst = mem->map(mem->arg, mod_addr, a->initrd_len);
		memcpy(dst, a->initrd, a->initrd_len);
	}
	st_le32(info + MBI_FLAGS, flags);
}

int
loader_multiboot_load(const void *image, size_t len,
		      const struct loader_mem *mem,
		      const struct loader_kernel_args *args,
		      struct loader_image *out, char *errbuf, size_t errlen)
{
	static const struct loader_kernel_args noargs;
	const unsigned char *p = image;
	struct loader_image img;
	uint32_t flags, sum;
	uint64_t top, mod_addr = 0, kend;
	size_t clen, slen = 0;
	long found;
	size_t off;
	int ret;

	if (image == NULL)
		return loader_fail(errbuf, errlen, "no image");
	if (mem == NULL || mem->map == NULL || out == NULL)
		return loader_fail(errbuf, errlen,
				   "no guest memory to load into");
	if (args == NULL)
		args = &noargs;
	if ((found = loader_multiboot_find(image, len)) < 0)
		return loader_fail(errbuf, errlen,
				   "no multiboot header in the first 8 KiB");
	off = (size_t)found;
	flags = ld_le32(p + off + 4);
	sum = LOADER_MULTIBOOT_MAGIC + flags + ld_le32(p + off + 8);
	if (sum != 0)
		return loader_fail(errbuf, errlen,
				   "multiboot header at 0x%zx: bad checksum "
				   "0x%08" PRIx32 " (magic + flags + checksum "
				   "is 0x%08" PRIx32 ", not 0)",
				   off, ld_le32(p + off + 8), sum);
	if ((flags & 0xffff) & ~MB_SUPPORTED)
		return loader_fail(
		    errbuf, errlen,
		    "multiboot header at 0x%zx: the kernel "
		    "requires features rhyve does not provide "
		    "(flags 0x%08" PRIx32 ", unknown 0x%04" PRIx32 ")",
		    off, flags, (flags & 0xffff) & ~MB_SUPPORTED);

	/* Command line, module name and the information area first. */
	clen = args->cmdline != NULL ? strlen(args->cmdline) : 0;
	if (clen >= LOADER_CMDLINE_MAX)
		return loader_fail(
		    errbuf, errlen,
		    "the command line has %zu bytes, rhyve passes "
		    "at most %d",
		    clen, LOADER_CMDLINE_MAX - 1);
	if (args->initrd != NULL && args->initrd_len > 0) {
		slen = strlen(args->initrd_name != NULL ? args->initrd_name
							: "initrd");
		if (slen >= LOADER_MODSTR_MAX)
			return loader_fail(errbuf, errlen,
					   "the module's name has %zu bytes, "
					   "rhyve passes at most %d",
					   slen, LOADER_MODSTR_MAX - 1);
	}
	if (mem->map(mem->arg, LOADER_INFO_ADDR,
		     LOADER_INFO_END - LOADER_INFO_ADDR) == NULL)
		return loader_fail(errbuf, errlen,
				   "guest memory does not cover the boot "
				   "information area [0x%llx, 0x%llx)",
				   LOADER_INFO_ADDR, LOADER_INFO_END);

	ret = (flags & MB_AOUT_KLUDGE)
		  ? mb_load_aout(p, len, off, mem, &img, errbuf, errlen)
		  : mb_load_elf(p, len, off, mem, &img, errbuf, errlen);
	if (ret != 0)
		return -1;

	/* The module (initrd), page-aligned at the top of low memory. */
	if (args->initrd != NULL && args->initrd_len > 0) {
		top = args->lowmem < VM_LOWMEM_LIMIT ? args->lowmem
						     : VM_LOWMEM_LIMIT;
		kend = (img.highest + LOADER_PAGE - 1) & ~(LOADER_PAGE - 1);
		if (args->initrd_len > top ||
		    ((top - args->initrd_len) & ~(LOADER_PAGE - 1)) < kend)
			return loader_fail(
			    errbuf, errlen,
			    "the module (%zu bytes) does not fit between the "
			    "kernel's end 0x%" PRIx64 " and the end of low "
			    "memory 0x%" PRIx64,
			    args->initrd_len, img.highest, top);
		mod_addr = (top - args->initrd_len) & ~(LOADER_PAGE - 1);
		if (mem->map(mem->arg, mod_addr, args->initrd_len) == NULL)
			return loader_fail(errbuf, errlen,
					   "the module at 0x%" PRIx64
					   " lies outside guest memory",
					   mod_addr);
	}
	mb_write_info(mem, args, mod_addr, clen, slen);

	img.mode = LOADER_MODE_PROT32;
	img.gdt = LOADER_GDT_DEFAULT;
	img.rax = LOADER_MULTIBOOT_EAX;
	img.rbx = MB_INFO_ADDR;
	img.rsi = 0;
	*out = img;
	return 0;
}
