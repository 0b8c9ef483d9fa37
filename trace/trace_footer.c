/*
 * The footer index: what the writer knows at close, so that a reader can
 * seek and summarise without touching the frames (docs/trace-format.md,
 * "Footer").
 *
 * The reader checks the footer against itself and the file before it
 * trusts it (frames inside the file and in order, counts adding up,
 * checkpoints inside their frames); a footer that fails any check is
 * ignored and the frames are scanned instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

uint8_t *
trace_footer_encode(const struct trace_index *ix, size_t *lenp)
{
	/* Every record is a few varints: 10 bytes each is an upper bound. */
	size_t cap = 16 + ix->nframes * (5 * TRACE_VARINT_MAX + 1) +
		     TRACE_EV_KIND_MAX * TRACE_VARINT_MAX +
		     ix->nckpts * 3 * TRACE_VARINT_MAX + 5 * TRACE_VARINT_MAX;
	uint8_t *buf = malloc(cap), *p = buf;
	uint64_t end, idx = 0, frame = 0;

	if (!buf)
		return NULL;
	p += trace_put_varint(p, ix->nframes);
	end = 0;
	for (size_t i = 0; i < ix->nframes; i++) {
		const struct trace_frame_ent *f = &ix->frames[i];

		/* Offsets as the gap after the previous frame (0: adjacent). */
		p += trace_put_varint(p, i ? f->offset - end : f->offset);
		p += trace_put_varint(p, f->payload_len);
		p += trace_put_varint(p, f->raw_len);
		p += trace_put_varint(p, f->count);
		*p++ = f->flags;
		end = f->offset + TRACE_FRAME_HDR + f->payload_len;
	}
	p += trace_put_varint(p, TRACE_EV_KIND_MAX - 1);
	for (int k = 1; k < TRACE_EV_KIND_MAX; k++)
		p += trace_put_varint(p, ix->per_kind[k]);
	p += trace_put_varint(p, ix->nckpts);
	for (size_t i = 0; i < ix->nckpts; i++) {
		const struct trace_ckpt_ent *c = &ix->ckpts[i];

		p += trace_put_varint(p, c->id);
		p += trace_put_varint(p, c->index - idx);
		p += trace_put_varint(p, c->frame - frame);
		idx = c->index;
		frame = c->frame;
	}
	p += trace_put_varint(p, ix->events);
	p += trace_put_varint(p, ix->raw_bytes);
	p += trace_put_varint(p, ix->first_ns);
	p += trace_put_varint(p, ix->last_ns);
	*lenp = (size_t)(p - buf);
	return buf;
}

#define FOOTER_BAD(...)                                                        \
	do {                                                                   \
		snprintf(why, whylen, "footer: " __VA_ARGS__);                 \
		goto bad;                                                      \
	} while (0)

int
trace_footer_decode(const uint8_t *p, size_t len, uint64_t data_start,
		    uint64_t footer_off, struct trace_index *ix, char *why,
		    size_t whylen)
{
	struct trace_in in = { .p = p, .end = p + len };
	uint64_t n, end = data_start, first = 0, raw = 0, nk, sum = 0;
	uint64_t idx = 0, frame = 0;

	memset(ix, 0, sizeof(*ix));
	n = trace_in_varint(&in);
	/* Each frame takes at least a header and a byte of payload. */
	if (in.bad || n > (footer_off - data_start) / (TRACE_FRAME_HDR + 1))
		FOOTER_BAD("bad frame count");
	ix->frames = calloc(n ? n : 1, sizeof(*ix->frames));
	if (!ix->frames)
		FOOTER_BAD("out of memory");
	ix->frames_cap = n ? n : 1;
	for (uint64_t i = 0; i < n; i++) {
		struct trace_frame_ent f = { 0 };
		uint64_t gap = trace_in_varint(&in), pl, rl, cnt;

		if (i == 0)
			gap = gap - data_start; /* the first is absolute */
		pl = trace_in_varint(&in);
		rl = trace_in_varint(&in);
		cnt = trace_in_varint(&in);
		f.flags = trace_in_byte(&in);
		if (in.bad)
			FOOTER_BAD("%s", in.bad);
		if (gap > footer_off - end || pl == 0 ||
		    pl > TRACE_MAX_PAYLOAD || rl > TRACE_MAX_FRAME_RAW ||
		    cnt == 0 || cnt > UINT32_MAX ||
		    (f.flags & ~TRACE_FRAME_F_CKPT))
			FOOTER_BAD("bad entry for frame %llu",
				   (unsigned long long)i);
		f.offset = end + gap;
		if (TRACE_FRAME_HDR + pl > footer_off - f.offset)
			FOOTER_BAD("frame %llu lies outside the file",
				   (unsigned long long)i);
		f.payload_len = (uint32_t)pl;
		f.raw_len = (uint32_t)rl;
		f.count = (uint32_t)cnt;
		if (first > UINT64_MAX - cnt)
			FOOTER_BAD("event count overflows");
		f.first_index = first;
		first += cnt;
		raw += rl;
		end = f.offset + TRACE_FRAME_HDR + pl;
		ix->frames[ix->nframes++] = f;
	}
	nk = trace_in_varint(&in);
	if (in.bad || nk > len)
		FOOTER_BAD("bad kind count");
	for (uint64_t k = 1; k <= nk; k++) {
		uint64_t c = trace_in_varint(&in);

		/* Kinds this reader does not know are skipped (newer minor). */
		if (k < TRACE_EV_KIND_MAX)
			ix->per_kind[k] = c;
		if (c > first || sum > first - c)
			FOOTER_BAD("per-kind counts exceed the event count");
		sum += c;
	}
	ix->nckpts = trace_in_varint(&in);
	if (in.bad || ix->nckpts > first || ix->nckpts > len)
		FOOTER_BAD("bad checkpoint count");
	ix->ckpts = calloc(ix->nckpts ? ix->nckpts : 1, sizeof(*ix->ckpts));
	if (!ix->ckpts)
		FOOTER_BAD("out of memory");
	ix->ckpts_cap = ix->nckpts ? ix->nckpts : 1;
	for (size_t i = 0; i < ix->nckpts; i++) {
		struct trace_ckpt_ent *c = &ix->ckpts[i];
		uint64_t di, df;
		const struct trace_frame_ent *f;

		c->id = trace_in_varint(&in);
		di = trace_in_varint(&in);
		df = trace_in_varint(&in);
		if (in.bad)
			FOOTER_BAD("%s", in.bad);
		/* Strictly ascending event indexes, ascending frames. */
		if ((i && di == 0) || di >= first - idx || df >= n - frame)
			FOOTER_BAD("bad checkpoint %zu", i);
		c->index = idx + di;
		c->frame = frame + df;
		f = &ix->frames[c->frame];
		if (c->index < f->first_index ||
		    c->index - f->first_index >= f->count ||
		    !(f->flags & TRACE_FRAME_F_CKPT))
			FOOTER_BAD("checkpoint %zu is not in its frame", i);
		idx = c->index;
		frame = c->frame;
	}
	ix->events = trace_in_varint(&in);
	ix->raw_bytes = trace_in_varint(&in);
	ix->first_ns = trace_in_varint(&in);
	ix->last_ns = trace_in_varint(&in);
	if (in.bad)
		FOOTER_BAD("%s", in.bad);
	if (ix->events != first)
		FOOTER_BAD("total %llu events, frames hold %llu",
			   (unsigned long long)ix->events,
			   (unsigned long long)first);
	if (ix->raw_bytes != raw)
		FOOTER_BAD("raw byte total does not match the frames");
	/* Bytes after these fields belong to newer minor versions. */
	return 0;
bad:
	trace_index_free(ix);
	return -1;
}
