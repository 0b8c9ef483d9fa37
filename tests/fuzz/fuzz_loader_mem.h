/*
 * Fake guest memory for the loader fuzz targets: FUZZ_MEM_SIZE bytes
 * (the includer defines it) behind a struct loader_mem map function, and
 * a little-endian 32-bit read for checking what a load wrote.
 */
#ifndef RHYVE_TESTS_FUZZ_LOADER_MEM_H
#define RHYVE_TESTS_FUZZ_LOADER_MEM_H

#include <stdint.h>
#include <string.h>

static unsigned char *fuzz_mem; /* allocated by the first input */

static void *
fuzz_map(void *arg, uint64_t gpa, size_t len)
{
	(void)arg;
	if (gpa > FUZZ_MEM_SIZE || len > FUZZ_MEM_SIZE - gpa)
		return NULL;
	return fuzz_mem + gpa;
}

static uint32_t
rd32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, fuzz_mem + gpa, 4);
	return v;
}

#endif
