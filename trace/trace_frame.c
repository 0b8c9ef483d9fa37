/*
 * Frame headers and the in-memory index of frames and checkpoints
 * (docs/trace-format.md, "Frames").
 *
 * The frame header is fixed-size and self-checking (magic, reserved bits,
 * capped lengths, a crc32 that also covers the payload) so that a scan of
 * a footer-less trace can walk from frame to frame and tell a good frame
 * from garbage without decompressing anything.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "trace_int.h"

void
trace_frame_hdr_pack(const struct trace_frame_hdr *h, uint8_t *out)
{
	memcpy(out, TRACE_FRAME_MAGIC, 4);
	out[4] = h->type;
	out[5] = h->flags;
	trace_put16(out + 6, 0);
	trace_put32(out + 8, h->payload_len);
	trace_put32(out + 12, h->raw_len);
	trace_put64(out + 16, h->first_index);
	trace_put32(out + 24, h->count);
	trace_put32(out + 28, h->crc);
}

int
trace_frame_hdr_parse(const uint8_t *in, struct trace_frame_hdr *h, char *why,
		      size_t whylen)
{
	if (memcmp(in, TRACE_FRAME_MAGIC, 4) != 0) {
		snprintf(why, whylen, "bad frame magic");
		return -1;
	}
	h->type = in[4];
	h->flags = in[5];
	h->payload_len = trace_get32(in + 8);
	h->raw_len = trace_get32(in + 12);
	h->first_index = trace_get64(in + 16);
	h->count = trace_get32(in + 24);
	h->crc = trace_get32(in + 28);
	if (h->type != TRACE_FRAME_EVENTS && h->type != TRACE_FRAME_FOOTER) {
		snprintf(why, whylen, "unknown frame type %u", h->type);
		return -1;
	}
	if (trace_get16(in + 6) != 0 ||
	    (h->flags &
	     ~(h->type == TRACE_FRAME_EVENTS ? TRACE_FRAME_F_CKPT : 0))) {
		snprintf(why, whylen, "reserved frame header bits set");
		return -1;
	}
	if (h->payload_len == 0 || h->payload_len > TRACE_MAX_PAYLOAD) {
		snprintf(why, whylen, "bad frame payload length %u",
			 h->payload_len);
		return -1;
	}
	if (h->raw_len > TRACE_MAX_FRAME_RAW) {
		snprintf(why, whylen, "bad frame raw length %u", h->raw_len);
		return -1;
	}
	if (h->type == TRACE_FRAME_EVENTS && h->count == 0) {
		snprintf(why, whylen, "event frame with no events");
		return -1;
	}
	if (h->type == TRACE_FRAME_EVENTS &&
	    h->first_index > UINT64_MAX - h->count) {
		snprintf(why, whylen, "frame event index overflows");
		return -1;
	}
	return 0;
}

uint32_t
trace_frame_crc(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
	uLong crc = crc32(0, hdr, TRACE_FRAME_HDR - 4);

	/* zlib takes uInt lengths; payloads are capped well below 4 GiB. */
	return (uint32_t)crc32(crc, payload, (uInt)len);
}

/* ---- the index ----------------------------------------------------------- */

static int
trace_grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	p = reallocarray(*arr, ncap, size);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

int
trace_index_add_frame(struct trace_index *ix, const struct trace_frame_ent *f)
{
	if (trace_grow((void **)&ix->frames, &ix->frames_cap, ix->nframes,
		       sizeof(*f)) < 0)
		return -1;
	ix->frames[ix->nframes++] = *f;
	return 0;
}

int
trace_index_add_ckpt(struct trace_index *ix, const struct trace_ckpt_ent *c)
{
	if (trace_grow((void **)&ix->ckpts, &ix->ckpts_cap, ix->nckpts,
		       sizeof(*c)) < 0)
		return -1;
	ix->ckpts[ix->nckpts++] = *c;
	return 0;
}

void
trace_index_free(struct trace_index *ix)
{
	free(ix->frames);
	free(ix->ckpts);
	memset(ix, 0, sizeof(*ix));
}
