/*
 * Shared by the loader tests (test_loader.c, test_bzimage.c,
 * test_multiboot.c): a plain buffer standing in for guest memory behind a
 * loader_mem map callback, and one ELF image builder for both classes.
 */
#ifndef RHYVE_TESTS_IMAGE_UTIL_H
#define RHYVE_TESTS_IMAGE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

#define FAKEMEM_MAX   (512u << 20) /* the reservation */
#define FAKEMEM_SMALL (64u << 20)  /* refilled in place */
#define FAKEMEM_FILL  0xaa

/* RAM [0, size), minus the unmapped range [hole_base, hole_end). */
struct fakemem {
	unsigned char *buf;
	size_t size;
	size_t filled; /* bytes set to FAKEMEM_FILL by fakemem_reset() */
	uint64_t hole_base, hole_end;
};

extern struct fakemem fakemem;
extern struct loader_mem fakemem_lmem; /* maps through 'fakemem' */

/*
 * 'size' bytes of RAM and no hole: filled with FAKEMEM_FILL up to
 * FAKEMEM_SMALL, zero beyond (fresh pages cost a fault each).
 */
void fakemem_reset(size_t size);
/* True if nothing changed the fill since the last fakemem_reset(). */
bool fakemem_untouched(void);
void fakemem_free(void);

/* One program header of image_elf_build(). */
struct image_seg {
	uint32_t type;
	uint64_t paddr, vaddr;
	const void *data; /* filesz bytes in the file; NULL: none */
	uint64_t filesz, memsz;
	uint32_t flags;
};

/*
 * A little-endian ET_EXEC image of 'elfclass' (ELFCLASS32 or ELFCLASS64):
 * ELF header and program headers (written by libelf, no section headers),
 * then each segment's data in order from 'data_off' (0: right after the
 * headers).  Returns a malloc'd image; tests corrupt it afterwards
 * through the Elf*_Ehdr / Elf*_Phdr in it (libelf would refuse to write
 * most of the malformed layouts they need).
 */
unsigned char *image_elf_build(int elfclass, uint64_t entry, uint16_t machine,
			       const struct image_seg *segs, size_t nseg,
			       size_t data_off, size_t *lenp);

#endif
