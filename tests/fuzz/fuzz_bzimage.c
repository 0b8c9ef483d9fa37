/*
 * Fuzz target: the Linux bzImage loader (setup header checks, the payload
 * decompressors, the vmlinux inside, zero page, initrd placement) against
 * 32 MiB of fake guest memory.  Bit 0 of the first byte (boot sector
 * code, which the loader never reads) picks host or guest decompression.
 * Besides crashes and sanitizer reports it checks what a successful load
 * promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

#define FUZZ_MEM_SIZE (32u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_loader_mem.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char initrd[8192] = "initrd";
	struct loader_mem mem = { .map = fuzz_map, .arg = NULL };
	struct loader_kernel_args args = {
		.lowmem = FUZZ_MEM_SIZE,
		.cmdline = "console=ttyS0 earlyprintk=serial",
		.initrd = initrd,
		.initrd_len = sizeof(initrd),
	};
	struct loader_image img;
	struct loader_regs regs;
	const char *how = NULL;
	char errbuf[512];
	uint32_t rd;

	if (fuzz_mem == NULL && (fuzz_mem = malloc(FUZZ_MEM_SIZE)) == NULL)
		abort();
	args.guest_decompress = size > 0 && (data[0] & 1);
	errbuf[0] = '\0';
	if (loader_bzimage_load(data, size, &mem, &args, &img, &how, errbuf,
				sizeof(errbuf)) != 0) {
		/* A failure always says why, on one line. */
		if (errbuf[0] == '\0' || strchr(errbuf, '\n') != NULL)
			abort();
		return 0;
	}
	if (how == NULL || img.mode != LOADER_MODE_LONG64 ||
	    img.gdt != LOADER_GDT_LINUX || img.rsi != LOADER_INFO_ADDR ||
	    img.lowest >= img.highest || img.highest > FUZZ_MEM_SIZE ||
	    img.entry < img.lowest || img.entry >= img.highest ||
	    img.lowest < LOADER_INFO_END)
		abort();
	/* Zero page: our fields; the initrd above the kernel, in memory. */
	if (fuzz_mem[LOADER_INFO_ADDR + 0x210] != 0xff ||
	    rd32(LOADER_INFO_ADDR + 0x228) != LOADER_CMDLINE_ADDR ||
	    strcmp((char *)fuzz_mem + LOADER_CMDLINE_ADDR, args.cmdline) != 0)
		abort();
	rd = rd32(LOADER_INFO_ADDR + 0x218);
	if (rd < img.highest || (rd & 0xfff) != 0 ||
	    rd32(LOADER_INFO_ADDR + 0x21c) != sizeof(initrd) ||
	    rd + sizeof(initrd) > FUZZ_MEM_SIZE ||
	    memcmp(fuzz_mem + rd, initrd, sizeof(initrd)) != 0)
		abort();
	if (loader_x86_setup(&mem, &img, &regs, errbuf, sizeof(errbuf)) != 0)
		abort();
	if (regs.rip != img.entry || regs.rsi != LOADER_INFO_ADDR ||
	    regs.sel.cs != LOADER_LINUX_SEL_CODE)
		abort();
	return 0;
}
