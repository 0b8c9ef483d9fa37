/*
 * Finding the frames of a trace being opened (docs/trace-format.md,
 * "Reading"): through the trailer and footer when both check out, else by
 * walking the frame headers from the end of the file header.
 *
 * Every offset and length is checked against the file size before it is
 * used, with arithmetic that cannot overflow (lengths are capped far below
 * 2^63 first).  The walk stops at the first thing that is not a good frame
 * and records it as damage; the frames before it stay readable.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

void
trace_set_damage(struct trace_reader *r, uint64_t off, bool always,
		 const char *fmt, ...)
{
	va_list ap;

	if (r->damaged && !always)
		return;
	r->damaged = true;
	r->damage.offset = off;
	va_start(ap, fmt);
	vsnprintf(r->damage.what, sizeof(r->damage.what), fmt, ap);
	va_end(ap);
}

int
trace_read_frame(struct trace_reader *r, uint64_t off, uint32_t plen)
{
	size_t need = TRACE_FRAME_HDR + (size_t)plen;

	if (off > r->size || need > r->size - off)
		return -1;
	if (need > r->comp_cap) {
		uint8_t *p = realloc(r->comp, need);

		if (!p)
			return -1;
		r->comp = p;
		r->comp_cap = need;
	}
	return trace_pread_all(r->fd, r->comp, need, off);
}

const char *
trace_inflate(struct trace_reader *r, const struct trace_frame_hdr *h,
	      uint8_t **raw, size_t *cap)
{
	const uint8_t *src = r->comp + TRACE_FRAME_HDR;
	unsigned long long csize;
	size_t n;

	csize = ZSTD_getFrameContentSize(src, h->payload_len);
	if (csize == ZSTD_CONTENTSIZE_ERROR)
		return "payload is not a zstd frame";
	if (csize != h->raw_len)
		return "zstd frame size does not match the raw length";
	n = ZSTD_findFrameCompressedSize(src, h->payload_len);
	if (ZSTD_isError(n) || n != h->payload_len)
		return "payload is not exactly one zstd frame";
	/* raw_len is capped (TRACE_MAX_FRAME_RAW): a bounded allocation. */
	if (h->raw_len + 1u > *cap) {
		uint8_t *p = realloc(*raw, h->raw_len + 1u);

		if (!p)
			return "out of memory";
		*raw = p;
		*cap = h->raw_len + 1u;
	}
	n = ZSTD_decompressDCtx(r->dctx, *raw, *cap, src, h->payload_len);
	if (ZSTD_isError(n))
		return ZSTD_getErrorName(n);
	if (n != h->raw_len)
		return "zstd frame size does not match the raw length";
	return NULL;
}

/* Header at 'off', read with its payload and checked (crc included). */
static int
trace_frame_at(struct trace_reader *r, uint64_t off, struct trace_frame_hdr *h,
	       char *why, size_t whylen)
{
	uint8_t hdr[TRACE_FRAME_HDR];

	if (r->size - off < TRACE_FRAME_HDR) {
		snprintf(why, whylen,
			 "truncated frame header (%llu bytes left in the file)",
			 (unsigned long long)(r->size - off));
		return -1;
	}
	if (trace_pread_all(r->fd, hdr, sizeof(hdr), off) < 0) {
		snprintf(why, whylen, "cannot read the frame header");
		return -1;
	}
	if (trace_frame_hdr_parse(hdr, h, why, whylen) < 0)
		return -1;
	if (h->payload_len > r->size - off - TRACE_FRAME_HDR) {
		snprintf(
		    why, whylen,
		    "truncated frame: %u payload bytes, %llu left in the file",
		    h->payload_len,
		    (unsigned long long)(r->size - off - TRACE_FRAME_HDR));
		return -1;
	}
	if (trace_read_frame(r, off, h->payload_len) < 0) {
		snprintf(why, whylen, "cannot read the frame");
		return -1;
	}
	if (trace_frame_crc(r->comp, r->comp + TRACE_FRAME_HDR,
			    h->payload_len) != h->crc) {
		snprintf(why, whylen, "frame checksum mismatch");
		return -1;
	}
	return 0;
}

/* The footer frame at 'off' (already read into r->comp), decoded. */
static int
trace_footer_load(struct trace_reader *r, uint64_t off,
		  const struct trace_frame_hdr *h, struct trace_index *ix,
		  char *why, size_t whylen)
{
	uint8_t *raw = NULL;
	size_t cap = 0;
	const char *bad;
	int rc;

	if (h->count != 0) {
		snprintf(why, whylen, "footer frame with events");
		return -1;
	}
	bad = trace_inflate(r, h, &raw, &cap);
	if (bad) {
		snprintf(why, whylen, "footer: %s", bad);
		free(raw);
		return -1;
	}
	rc = trace_footer_decode(raw, h->raw_len, r->data_start, off, ix, why,
				 whylen);
	free(raw);
	if (rc == 0 && ix->events != h->first_index) {
		snprintf(why, whylen, "footer: event count disagrees");
		trace_index_free(ix);
		rc = -1;
	}
	return rc;
}

/* The trailer at the end of the file points at a good footer. */
static int
trace_try_footer(struct trace_reader *r)
{
	uint8_t tr[TRACE_TRAILER];
	struct trace_frame_hdr h;
	char why[160];
	uint64_t off;

	if (r->size - r->data_start < TRACE_FRAME_HDR + TRACE_TRAILER ||
	    trace_pread_all(r->fd, tr, sizeof(tr), r->size - TRACE_TRAILER) <
		0 ||
	    memcmp(tr, TRACE_TRAILER_MAGIC, 8) != 0)
		return -1;
	off = trace_get64(tr + 8);
	if (off < r->data_start ||
	    off > r->size - TRACE_TRAILER - TRACE_FRAME_HDR)
		return -1;
	if (trace_frame_at(r, off, &h, why, sizeof(why)) < 0 ||
	    h.type != TRACE_FRAME_FOOTER ||
	    off + TRACE_FRAME_HDR + h.payload_len != r->size - TRACE_TRAILER)
		return -1;
	return trace_footer_load(r, off, &h, &r->ix, why, sizeof(why));
}

/* Same frames in the footer as found by the walk. */
static bool
trace_footer_matches(const struct trace_index *a, const struct trace_index *b)
{
	if (a->nframes != b->nframes)
		return false;
	for (size_t i = 0; i < a->nframes; i++) {
		const struct trace_frame_ent *x = &a->frames[i],
					     *y = &b->frames[i];

		if (x->offset != y->offset || x->count != y->count ||
		    x->payload_len != y->payload_len ||
		    x->raw_len != y->raw_len || x->flags != y->flags)
			return false;
	}
	return true;
}

/* The walk that ends at a footer frame: check it and the trailer. */
static void
trace_scan_footer(struct trace_reader *r, uint64_t off,
		  const struct trace_frame_hdr *h)
{
	struct trace_index fix;
	uint64_t end = off + TRACE_FRAME_HDR + h->payload_len;
	uint8_t tr[TRACE_TRAILER];
	char why[160];

	if (trace_footer_load(r, off, h, &fix, why, sizeof(why)) < 0) {
		trace_set_damage(r, off, false, "%s", why);
		r->tail_damage = true;
		return;
	}
	if (!trace_footer_matches(&fix, &r->ix)) {
		trace_index_free(&fix);
		trace_set_damage(
		    r, off, false,
		    "footer: frame list disagrees with the frames");
		r->tail_damage = true;
		return;
	}
	/* A good footer with a bad trailer still gives the totals. */
	trace_index_free(&r->ix);
	r->ix = fix;
	r->ix_full = true;
	r->ckpts_known = true;
	if (r->size - end != TRACE_TRAILER ||
	    trace_pread_all(r->fd, tr, sizeof(tr), end) < 0 ||
	    memcmp(tr, TRACE_TRAILER_MAGIC, 8) != 0 ||
	    trace_get64(tr + 8) != off) {
		trace_set_damage(
		    r, end, false,
		    "trailer missing or damaged (%llu bytes after the footer)",
		    (unsigned long long)(r->size - end));
		r->tail_damage = true;
	}
}

/* Walk the frames from the end of the header. */
static int
trace_scan(struct trace_reader *r)
{
	uint64_t off = r->data_start, expect = 0;
	struct trace_frame_hdr h;
	char why[160];

	while (off < r->size) {
		struct trace_frame_ent f;

		if (trace_frame_at(r, off, &h, why, sizeof(why)) < 0) {
			trace_set_damage(r, off, false, "%s", why);
			r->tail_damage = true;
			break;
		}
		if (h.type == TRACE_FRAME_FOOTER) {
			trace_scan_footer(r, off, &h);
			break;
		}
		if (h.first_index != expect) {
			trace_set_damage(
			    r, off, false,
			    "frame starts at event %llu, expected %llu",
			    (unsigned long long)h.first_index,
			    (unsigned long long)expect);
			r->tail_damage = true;
			break;
		}
		f = (struct trace_frame_ent){
			.offset = off,
			.first_index = h.first_index,
			.count = h.count,
			.payload_len = h.payload_len,
			.raw_len = h.raw_len,
			.flags = h.flags,
		};
		if (trace_index_add_frame(&r->ix, &f) < 0)
			return -1;
		r->ix.raw_bytes += h.raw_len;
		expect += h.count;
		off += TRACE_FRAME_HDR + h.payload_len;
	}
	return 0;
}

int
trace_index_open(struct trace_reader *r)
{
	if (trace_try_footer(r) == 0) {
		r->has_footer = true;
		r->ix_full = true;
		r->ckpts_known = true;
	} else if (trace_scan(r) < 0)
		return -1;
	if (r->ix.nframes) {
		const struct trace_frame_ent *f =
		    &r->ix.frames[r->ix.nframes - 1];

		r->nevents = f->first_index + f->count;
	}
	return 0;
}
