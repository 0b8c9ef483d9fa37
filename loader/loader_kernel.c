/*
 * Which boot protocol a kernel file speaks, and the helpers the Linux and
 * multiboot loaders share.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "loader_int.h"

int
loader_fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void
guard_hit(struct loader_guard *g, bool *which, uint64_t gpa, uint64_t end)
{
	if (!g->hit_info && !g->hit_floor && !g->hit_limit) {
		*which = true;
		g->bad_gpa = gpa;
		g->bad_end = end;
	}
}

static void *
guard_map(void *arg, uint64_t gpa, size_t len)
{
	struct loader_guard *g = arg;
	uint64_t end;

	if (__builtin_add_overflow(gpa, (uint64_t)len, &end))
		return NULL;
	if (len > 0 && gpa < LOADER_INFO_END && end > LOADER_INFO_ADDR) {
		guard_hit(g, &g->hit_info, gpa, end);
		return NULL;
	}
	if (gpa < g->floor) {
		guard_hit(g, &g->hit_floor, gpa, end);
		return NULL;
	}
	if (end > g->limit) {
		guard_hit(g, &g->hit_limit, gpa, end);
		return NULL;
	}
	return g->mem->map(g->mem->arg, gpa, len);
}

struct loader_mem
loader_guard_init(struct loader_guard *g, const struct loader_mem *mem,
		  uint64_t floor, uint64_t limit)
{
	struct loader_mem view = { .map = guard_map, .arg = g };

	memset(g, 0, sizeof(*g));
	g->mem = mem;
	g->floor = floor;
	g->limit = limit;
	return view;
}

void
loader_guard_explain(const struct loader_guard *g, const char *what,
		     char *errbuf, size_t errlen)
{
	if (g->hit_info)
		loader_fail(errbuf, errlen,
			    "%s [0x%" PRIx64 ", 0x%" PRIx64
			    ") overlaps the loader's boot information area "
			    "[0x%llx, 0x%llx)",
			    what, g->bad_gpa, g->bad_end, LOADER_INFO_ADDR,
			    LOADER_INFO_END);
	else if (g->hit_floor)
		loader_fail(errbuf, errlen,
			    "%s [0x%" PRIx64 ", 0x%" PRIx64
			    ") lies below 0x%" PRIx64,
			    what, g->bad_gpa, g->bad_end, g->floor);
	else if (g->hit_limit)
		loader_fail(errbuf, errlen,
			    "%s [0x%" PRIx64 ", 0x%" PRIx64
			    ") lies above 0x%" PRIx64
			    ", beyond the boot mappings",
			    what, g->bad_gpa, g->bad_end, g->limit);
}

enum loader_format
loader_probe(const void *image, size_t len)
{
	const unsigned char *p = image;
	bool elf;

	if (p == NULL)
		return LOADER_FORMAT_UNKNOWN;
	elf = len >= 4 && memcmp(p, "\x7f\x45\x4c\x46", 4) == 0;
	/* ELF first: program headers may happen to hold "HdrS" at 0x202. */
	if (!elf && len >= 0x206 && memcmp(p + 0x202, "HdrS", 4) == 0)
		return LOADER_FORMAT_BZIMAGE;
	if (loader_multiboot_find(image, len) >= 0)
		return LOADER_FORMAT_MULTIBOOT;
	return elf ? LOADER_FORMAT_ELF : LOADER_FORMAT_UNKNOWN;
}

int
loader_kernel_load(const void *image, size_t len, const struct loader_mem *mem,
		   const struct loader_kernel_args *args,
		   struct loader_image *out, const char **how, char *errbuf,
		   size_t errlen)
{
	bool extras = args != NULL &&
		      ((args->cmdline != NULL && args->cmdline[0] != '\0') ||
		       args->initrd != NULL);

	switch (loader_probe(image, len)) {
	case LOADER_FORMAT_BZIMAGE:
		return loader_bzimage_load(image, len, mem, args, out, how,
					   errbuf, errlen);
	case LOADER_FORMAT_MULTIBOOT:
		if (how != NULL)
			*how = "multiboot";
		return loader_multiboot_load(image, len, mem, args, out, errbuf,
					     errlen);
	case LOADER_FORMAT_ELF:
		if (extras)
			return loader_fail(
			    errbuf, errlen,
			    "a plain ELF kernel takes no command line or "
			    "initrd (those need a Linux bzImage or a "
			    "multiboot kernel)");
		if (how != NULL)
			*how = "elf";
		return loader_elf_load(image, len, mem, out, errbuf, errlen);
	default:
		return loader_fail(
		    errbuf, errlen,
		    "not an ELF file, Linux bzImage or multiboot "
		    "kernel");
	}
}
