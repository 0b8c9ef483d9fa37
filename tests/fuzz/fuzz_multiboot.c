/*
 * Fuzz target: the multiboot v1 loader (header search and checks, the
 * a.out address fields, ELF kernels through the guard, the information
 * structure) against 16 MiB of fake guest memory.  Besides crashes and
 * sanitizer reports it checks what a successful load promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

#define FUZZ_MEM_SIZE (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_loader_mem.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char module[5000] = "module";
	struct loader_mem mem = { .map = fuzz_map, .arg = NULL };
	struct loader_kernel_args args = {
		.lowmem = FUZZ_MEM_SIZE,
		.cmdline = "multiboot fuzz",
		.initrd = module,
		.initrd_len = sizeof(module),
		.initrd_name = "module.bin",
	};
	struct loader_image img;
	struct loader_regs regs;
	char errbuf[512];
	uint32_t mods, mod_start;

	if (fuzz_mem == NULL && (fuzz_mem = malloc(FUZZ_MEM_SIZE)) == NULL)
		abort();
	errbuf[0] = '\0';
	if (loader_multiboot_load(data, size, &mem, &args, &img, errbuf,
				  sizeof(errbuf)) != 0) {
		if (errbuf[0] == '\0' || strchr(errbuf, '\n') != NULL)
			abort();
		return 0;
	}
	if (img.mode != LOADER_MODE_PROT32 || img.gdt != LOADER_GDT_DEFAULT ||
	    img.rax != LOADER_MULTIBOOT_EAX || img.rbx != LOADER_INFO_ADDR ||
	    img.entry >= (1ULL << 32) || img.highest > FUZZ_MEM_SIZE ||
	    img.lowest >= img.highest)
		abort();
	/* The information: flags, command line, module above the kernel. */
	if ((rd32(LOADER_INFO_ADDR) & 0x24d) != 0x24d ||
	    strcmp((char *)fuzz_mem + rd32(LOADER_INFO_ADDR + 16),
		   args.cmdline) != 0 ||
	    rd32(LOADER_INFO_ADDR + 20) != 1)
		abort();
	mods = rd32(LOADER_INFO_ADDR + 24);
	mod_start = rd32(mods);
	if (mod_start < img.highest || (mod_start & 0xfff) != 0 ||
	    rd32(mods + 4) != mod_start + sizeof(module) ||
	    memcmp(fuzz_mem + mod_start, module, sizeof(module)) != 0)
		abort();
	if (loader_x86_setup(&mem, &img, &regs, errbuf, sizeof(errbuf)) != 0)
		abort();
	if (regs.rip != img.entry || regs.rax != LOADER_MULTIBOOT_EAX)
		abort();
	return 0;
}
