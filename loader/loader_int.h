/*
 * Helpers the loader's files share; not part of the public interface.
 */
#ifndef RHYVE_LOADER_INT_H
#define RHYVE_LOADER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

#define LOADER_PAGE 4096ULL
#define LOADER_1MIB (1ULL << 20)
#define LOADER_4GIB (1ULL << 32)

/* vsnprintf into errbuf (if any); returns -1. */
int loader_fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline uint16_t
ld_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
ld_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t
ld_le64(const unsigned char *p)
{
	return (uint64_t)ld_le32(p) | (uint64_t)ld_le32(p + 4) << 32;
}

static inline void
st_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void
st_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void
st_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * A view of guest memory for loading a kernel that refuses (map returns
 * NULL) ranges overlapping the boot information area [LOADER_INFO_ADDR,
 * LOADER_INFO_END), starting below 'floor' or reaching past 'limit', and
 * remembers the first such range, so that the caller can replace the ELF
 * loader's "outside guest memory" by the real reason
 * (loader_guard_explain()).
 */
struct loader_guard {
	const struct loader_mem *mem;
	uint64_t floor, limit;
	bool hit_info, hit_floor, hit_limit;
	uint64_t bad_gpa, bad_end;
};

struct loader_mem loader_guard_init(struct loader_guard *g,
				    const struct loader_mem *mem,
				    uint64_t floor, uint64_t limit);
/* After a failed load through the guard: the reason, if it was ours. */
void loader_guard_explain(const struct loader_guard *g, const char *what,
			  char *errbuf, size_t errlen);

/*
 * The Linux payload, decompressed on the host (loader_decompress.c).
 * Returns 0 with a malloc'd buffer, 1 if the host cannot decompress this
 * format (the guest then does), or -1 with a reason.  'fmt' receives
 * the format's name ("gzip", "xz", "lzma", "zstd", "none", "bzip2",
 * "lz4", "lzo" or "unknown").  At most 'maxout' bytes are produced.
 */
int loader_decompress(const unsigned char *in, size_t inlen, size_t maxout,
		      unsigned char **outp, size_t *outlenp, const char **fmt,
		      char *errbuf, size_t errlen);

#endif
