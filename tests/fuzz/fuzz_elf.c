/*
 * Fuzz target: the ELF loader (and, for what it accepts, the x86 boot
 * setup) against an 8 MiB fake guest memory.  Besides crashes and
 * sanitizer reports it checks what a successful load promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

#define FUZZ_MEM_SIZE (8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *fuzz_mem;

static void *
fuzz_map(void *arg, uint64_t gpa, size_t len)
{
	if (gpa > FUZZ_MEM_SIZE || len > FUZZ_MEM_SIZE - gpa)
		return NULL;
	return fuzz_mem + gpa;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct loader_mem mem = { .map = fuzz_map, .arg = NULL };
	struct loader_image img;
	struct loader_regs regs;
	char errbuf[256];

	if (fuzz_mem == NULL && (fuzz_mem = malloc(FUZZ_MEM_SIZE)) == NULL)
		abort();
	errbuf[0] = '\0';
	if (loader_elf_load(data, size, &mem, &img, errbuf, sizeof(errbuf)) !=
	    0) {
		/* A failure always says why, on one line. */
		if (errbuf[0] == '\0' || strchr(errbuf, '\n') != NULL)
			abort();
		return 0;
	}
	if (img.lowest >= img.highest || img.highest > FUZZ_MEM_SIZE ||
	    img.entry < img.lowest || img.entry >= img.highest ||
	    (img.lowest < LOADER_BOOT_AREA_END &&
	     img.highest > LOADER_BOOT_AREA_BASE &&
	     img.lowest >= LOADER_BOOT_AREA_BASE))
		abort();
	if (img.mode != LOADER_MODE_LONG64 && img.mode != LOADER_MODE_PROT32)
		abort();
	if (loader_x86_setup(&mem, &img, &regs, errbuf, sizeof(errbuf)) != 0)
		abort(); /* entry < 8 MiB and the boot area is RAM here */
	if (regs.rip != img.entry)
		abort();
	return 0;
}
