/*
 * The compressed kernel inside a bzImage (payload_offset/payload_length
 * in the setup header), decompressed on the host so that the guest does
 * not spend its time on it.  Formats by their magic bytes, as the
 * kernel's own decompressor knows them; gzip (zlib), xz and lzma
 * (liblzma) and zstd (libzstd) are done here, the others (bzip2, lz4,
 * lzo) are left to the guest.  The kernel's build appends the
 * uncompressed size as 4 little-endian bytes (gzip has it in its trailer);
 * it is only a hint for the first buffer size, never trusted.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "loader_int.h"

#define DEC_MIN_BUF (1u << 20)

struct dec_out {
	unsigned char *buf;
	size_t len, cap, max;
};

/* Room for more output: double the buffer, up to out->max. */
static int
dec_grow(struct dec_out *out)
{
	size_t ncap;
	unsigned char *nbuf;

	if (out->cap >= out->max)
		return -1;
	ncap = out->cap > out->max / 2 ? out->max : out->cap * 2;
	if (ncap < DEC_MIN_BUF && out->max >= DEC_MIN_BUF)
		ncap = DEC_MIN_BUF;
	nbuf = realloc(out->buf, ncap);
	if (nbuf == NULL)
		return -2;
	out->buf = nbuf;
	out->cap = ncap;
	return 0;
}

static int
dec_start(struct dec_out *out, const unsigned char *in, size_t inlen,
	  size_t maxout)
{
	size_t hint = inlen >= 4 ? ld_le32(in + inlen - 4) : 0;

	out->len = 0;
	out->max = maxout;
	/* The size hint plus a little; never more than allowed. */
	out->cap = hint < DEC_MIN_BUF ? DEC_MIN_BUF : hint + 4096;
	if (out->cap > maxout)
		out->cap = maxout;
	if (out->cap == 0)
		out->cap = 1;
	out->buf = malloc(out->cap);
	return out->buf == NULL ? -1 : 0;
}

static int
dec_too_big(struct dec_out *out, int grow, const char *fmt, char *errbuf,
	    size_t errlen)
{
	if (grow == -2)
		return loader_fail(errbuf, errlen,
				   "out of memory decompressing the %s payload",
				   fmt);
	return loader_fail(errbuf, errlen,
			   "the %s payload decompresses to more than %zu "
			   "bytes (the kernel's init_size or guest memory)",
			   fmt, out->max);
}

static int
dec_gzip(const unsigned char *in, size_t inlen, struct dec_out *out,
	 char *errbuf, size_t errlen)
{
	z_stream zs;
	int zret, grow;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return loader_fail(errbuf, errlen, "zlib: cannot initialise");
	zs.next_in = (unsigned char *)in;
	zs.avail_in = inlen > UINT_MAX ? UINT_MAX : (unsigned int)inlen;
	for (;;) {
		size_t room = out->cap - out->len;

		zs.next_out = out->buf + out->len;
		zs.avail_out = room > UINT_MAX ? UINT_MAX : (unsigned int)room;
		zret = inflate(&zs, Z_NO_FLUSH);
		out->len = (size_t)(zs.next_out - out->buf);
		if (zret == Z_STREAM_END)
			break;
		if (zret == Z_OK && zs.avail_out == 0) {
			if ((grow = dec_grow(out)) != 0) {
				inflateEnd(&zs);
				return dec_too_big(out, grow, "gzip", errbuf,
						   errlen);
			}
			continue;
		}
		if (zret == Z_OK && zs.avail_out != 0)
			continue;
		inflateEnd(&zs);
		if (zret == Z_BUF_ERROR)
			return loader_fail(errbuf, errlen,
					   "the gzip payload is truncated");
		return loader_fail(errbuf, errlen,
				   "the gzip payload is corrupt (zlib: %s)",
				   zs.msg != NULL ? zs.msg : "error");
	}
	inflateEnd(&zs);
	return 0;
}

static const char *
lzma_reason(lzma_ret ret)
{
	switch (ret) {
	case LZMA_MEM_ERROR:
		return "out of memory";
	case LZMA_FORMAT_ERROR:
		return "not in the expected format";
	case LZMA_OPTIONS_ERROR:
		return "unsupported compression options";
	case LZMA_DATA_ERROR:
		return "corrupt data";
	case LZMA_BUF_ERROR:
		return "truncated";
	case LZMA_UNSUPPORTED_CHECK:
		return "unsupported integrity check";
	default:
		return "decoder error";
	}
}

static int
dec_lzma(const unsigned char *in, size_t inlen, bool xz, struct dec_out *out,
	 char *errbuf, size_t errlen)
{
	const char *fmt = xz ? "xz" : "lzma";
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_ret ret;
	int grow;

	ret = xz ? lzma_stream_decoder(&strm, UINT64_MAX, 0)
		 : lzma_alone_decoder(&strm, UINT64_MAX);
	if (ret != LZMA_OK)
		return loader_fail(errbuf, errlen,
				   "liblzma: cannot initialise (%s)",
				   lzma_reason(ret));
	strm.next_in = in;
	strm.avail_in = inlen;
	for (;;) {
		strm.next_out = out->buf + out->len;
		strm.avail_out = out->cap - out->len;
		ret = lzma_code(&strm, LZMA_FINISH);
		out->len = (size_t)(strm.next_out - out->buf);
		if (ret == LZMA_STREAM_END)
			break;
		if ((ret == LZMA_OK || ret == LZMA_BUF_ERROR) &&
		    strm.avail_out == 0) {
			if ((grow = dec_grow(out)) != 0) {
				lzma_end(&strm);
				return dec_too_big(out, grow, fmt, errbuf,
						   errlen);
			}
			continue;
		}
		if (ret == LZMA_OK)
			continue;
		lzma_end(&strm);
		return loader_fail(errbuf, errlen,
				   "the %s payload cannot be decompressed: %s",
				   fmt, lzma_reason(ret));
	}
	lzma_end(&strm);
	return 0;
}

static int
dec_zstd(const unsigned char *in, size_t inlen, struct dec_out *out,
	 char *errbuf, size_t errlen)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	ZSTD_inBuffer zin = { in, inlen, 0 };
	size_t ret;
	int grow;

	if (ds == NULL)
		return loader_fail(errbuf, errlen, "libzstd: out of memory");
	/* Kernels are compressed with -22 --ultra: allow large windows. */
	ZSTD_DCtx_setParameter(
	    ds, ZSTD_d_windowLogMax,
	    ZSTD_dParam_getBounds(ZSTD_d_windowLogMax).upperBound);
	for (;;) {
		ZSTD_outBuffer zout = { out->buf, out->cap, out->len };

		ret = ZSTD_decompressStream(ds, &zout, &zin);
		out->len = zout.pos;
		if (ZSTD_isError(ret)) {
			ZSTD_freeDStream(ds);
			return loader_fail(
			    errbuf, errlen,
			    "the zstd payload cannot be decompressed: %s",
			    ZSTD_getErrorName(ret));
		}
		if (ret == 0)
			break; /* end of the first frame: the size trailer
				  follows */
		if (zout.pos == zout.size) {
			if ((grow = dec_grow(out)) != 0) {
				ZSTD_freeDStream(ds);
				return dec_too_big(out, grow, "zstd", errbuf,
						   errlen);
			}
			continue;
		}
		if (zin.pos == zin.size) {
			ZSTD_freeDStream(ds);
			return loader_fail(errbuf, errlen,
					   "the zstd payload is truncated");
		}
	}
	ZSTD_freeDStream(ds);
	return 0;
}

int
loader_decompress(const unsigned char *in, size_t inlen, size_t maxout,
		  unsigned char **outp, size_t *outlenp, const char **fmtp,
		  char *errbuf, size_t errlen)
{
	static const struct {
		const char *name;
		const unsigned char *magic;
		size_t len;
	} other[] = {
		{ "bzip2", (const unsigned char *)"BZh", 3 },
		{ "lz4", (const unsigned char *)"\x02\x21\x4c\x18", 4 },
		{ "lzo", (const unsigned char *)"\x89LZO", 4 },
	};
	struct dec_out out = { NULL, 0, 0, 0 };
	const char *fmt = "unknown";
	int ret;

	*outp = NULL;
	*outlenp = 0;
	if (inlen >= 2 && in[0] == 0x1f && in[1] == 0x8b)
		fmt = "gzip";
	else if (inlen >= 6 && memcmp(in, "\xfd\x37\x7a\x58\x5a\x00", 6) == 0)
		fmt = "xz";
	else if (inlen >= 4 && memcmp(in, "\x28\xb5\x2f\xfd", 4) == 0)
		fmt = "zstd";
	else if (inlen >= 3 && memcmp(in, "\x5d\x00\x00", 3) == 0)
		fmt = "lzma";
	else if (inlen >= 4 && memcmp(in, "\x7f\x45\x4c\x46", 4) == 0)
		fmt = "none";
	else
		for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
			if (inlen >= other[i].len &&
			    memcmp(in, other[i].magic, other[i].len) == 0)
				fmt = other[i].name;
	if (fmtp != NULL)
		*fmtp = fmt;

	if (strcmp(fmt, "none") == 0) {
		if (inlen > maxout)
			return loader_fail(
			    errbuf, errlen,
			    "the uncompressed payload (%zu bytes) is larger "
			    "than %zu bytes (the kernel's init_size or guest "
			    "memory)",
			    inlen, maxout);
		if ((*outp = malloc(inlen)) == NULL)
			return loader_fail(errbuf, errlen, "out of memory");
		memcpy(*outp, in, inlen);
		*outlenp = inlen;
		return 0;
	}
	if (strcmp(fmt, "gzip") != 0 && strcmp(fmt, "xz") != 0 &&
	    strcmp(fmt, "zstd") != 0 && strcmp(fmt, "lzma") != 0)
		return 1; /* the guest's decompressor may know it */
	if (maxout == 0)
		return loader_fail(errbuf, errlen,
				   "no room for the decompressed kernel");
	if (dec_start(&out, in, inlen, maxout) != 0)
		return loader_fail(errbuf, errlen, "out of memory");
	if (strcmp(fmt, "gzip") == 0)
		ret = dec_gzip(in, inlen, &out, errbuf, errlen);
	else if (strcmp(fmt, "zstd") == 0)
		ret = dec_zstd(in, inlen, &out, errbuf, errlen);
	else
		ret = dec_lzma(in, inlen, strcmp(fmt, "xz") == 0, &out, errbuf,
			       errlen);
	if (ret != 0) {
		free(out.buf);
		return -1;
	}
	*outp = out.buf;
	*outlenp = out.len;
	return 0;
}
