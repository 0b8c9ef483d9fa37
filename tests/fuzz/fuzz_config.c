/*
 * Fuzz target: -k config files.  A file is parsed into a fresh tree, which
 * is then dumped and read back: the round trip must give the same dump.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

static char *
dump(size_t *lenp)
{
	char *buf = NULL;
	FILE *fp = open_memstream(&buf, lenp);

	if (fp == NULL)
		abort();
	dump_config(fp);
	fclose(fp);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	char *first, *second;
	size_t len1, len2;

	init_config();
	if (load_config_buffer((const char *)data, size, "fuzz", err,
			       sizeof(err)) != 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort(); /* an error must say why */
		free_config();
		return 0;
	}
	first = dump(&len1);
	init_config();
	if (load_config_buffer(first, len1, "dump", err, sizeof(err)) != 0)
		abort(); /* a dump must read back */
	second = dump(&len2);
	if (len1 != len2 || memcmp(first, second, len1) != 0)
		abort();
	free(first);
	free(second);
	free_config();
	return 0;
}
