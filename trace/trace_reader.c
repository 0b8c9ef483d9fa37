/*
 * The trace reader: open, iterate, seek, summarise (docs/trace-format.md,
 * "Reading").
 *
 * Frames are read with pread(2), not mmap(2): a trace that shrinks under
 * us (a writer cutting back after a full disk, a user truncating a file)
 * must give a damage report, not SIGBUS.  A cursor holds one decompressed
 * frame; trace_next() walks the main cursor, trace_summary() and the
 * checkpoint search use a private one so they do not move it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_int.h"

static struct trace_cursor *
trace_cursor_new(void)
{
	struct trace_cursor *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	trace_codec_init(&c->codec);
	c->frame = TRACE_NO_FRAME;
	return c;
}

static void
trace_cursor_free(struct trace_cursor *c)
{
	if (!c)
		return;
	free(c->raw);
	free(c->scratch.buf);
	free(c);
}

/* Forget the loaded frame: the next event comes from frame 'k'. */
static void
trace_cursor_rewind(struct trace_cursor *c, size_t k)
{
	c->frame = TRACE_NO_FRAME;
	c->next_frame = k;
	c->left = 0;
	c->done = false;
	c->in.p = c->in.end = NULL;
}

/*
 * Load frame 'k' into the cursor and check it against the index.  On
 * damage returns -1 with the damage recorded ('always': the main cursor's
 * damage replaces older reports).
 */
static int
trace_cursor_load(struct trace_reader *r, struct trace_cursor *c, size_t k,
		  bool always)
{
	const struct trace_frame_ent *f = &r->ix.frames[k];
	struct trace_frame_hdr h;
	char why[160];
	const char *bad;

	if (trace_read_frame(r, f->offset, f->payload_len) < 0) {
		trace_set_damage(
		    r, f->offset, always,
		    "frame cut short (the file ends or cannot be read)");
		return -1;
	}
	if (trace_frame_hdr_parse(r->comp, &h, why, sizeof(why)) < 0) {
		trace_set_damage(r, f->offset, always, "%s", why);
		return -1;
	}
	if (h.type != TRACE_FRAME_EVENTS || h.flags != f->flags ||
	    h.payload_len != f->payload_len || h.raw_len != f->raw_len ||
	    h.first_index != f->first_index || h.count != f->count) {
		trace_set_damage(r, f->offset, always,
				 "frame header disagrees with the index");
		return -1;
	}
	if (trace_frame_crc(r->comp, r->comp + TRACE_FRAME_HDR,
			    h.payload_len) != h.crc) {
		trace_set_damage(r, f->offset, always,
				 "frame checksum mismatch");
		return -1;
	}
	bad = trace_inflate(r, &h, &c->raw, &c->raw_cap);
	if (bad) {
		trace_set_damage(r, f->offset, always, "zstd: %s", bad);
		return -1;
	}
	c->in = (struct trace_in){ c->raw, c->raw + h.raw_len, NULL };
	trace_codec_reset(&c->codec);
	if (trace_prologue_decode(&c->in, c->exits) < 0) {
		trace_set_damage(r, f->offset, always, "%s", c->in.bad);
		return -1;
	}
	c->frame = k;
	c->next_frame = k + 1;
	c->left = h.count;
	c->next_index = h.first_index;
	return 0;
}

/*
 * The next event of the cursor, known or not.  1: *ev is an event, 2: an
 * extension event this reader skips, 0: the end, -1: damage.
 */
static int
trace_cursor_step(struct trace_reader *r, struct trace_cursor *c,
		  struct trace_event *ev, uint64_t *index, bool always)
{
	int rc;

	if (c->done)
		return 0;
	while (c->left == 0) {
		if (c->frame != TRACE_NO_FRAME && c->in.p != c->in.end) {
			trace_set_damage(r, r->ix.frames[c->frame].offset,
					 always,
					 "%zu bytes after the last event",
					 (size_t)(c->in.end - c->in.p));
			c->done = true;
			return -1;
		}
		if (c->next_frame >= r->ix.nframes) {
			c->done = true;
			c->frame = TRACE_NO_FRAME;
			return r->tail_damage ? -1 : 0;
		}
		if (trace_cursor_load(r, c, c->next_frame, always) < 0) {
			c->done = true;
			return -1;
		}
	}
	rc = trace_event_decode(&c->codec, &c->in, ev, &c->scratch, c->exits,
				r->tick_ns);
	if (rc < 0) {
		trace_set_damage(r, r->ix.frames[c->frame].offset, always,
				 "event %llu: %s",
				 (unsigned long long)c->next_index, c->in.bad);
		c->done = true;
		return -1;
	}
	*index = c->next_index++;
	c->left--;
	return rc ? 1 : 2;
}

int
trace_next(struct trace_reader *r, struct trace_event *ev)
{
	uint64_t index;
	int rc;

	if (!r || !ev)
		return -1;
	do
		rc = trace_cursor_step(r, r->cur, ev, &index, true);
	while (rc == 2);
	if (rc == 1)
		ev->index = index;
	return rc;
}

/* The frame holding event 'index' (< r->nevents). */
static size_t
trace_find_frame(const struct trace_reader *r, uint64_t index)
{
	size_t lo = 0, hi = r->ix.nframes;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->ix.frames[mid].first_index <= index)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int
trace_seek(struct trace_reader *r, uint64_t index)
{
	struct trace_cursor *c;
	struct trace_event ev;
	size_t k;

	if (!r)
		return -1;
	c = r->cur;
	if (index > r->nevents) {
		errno = ERANGE;
		return -1;
	}
	if (index == r->nevents) {
		trace_cursor_rewind(c, r->ix.nframes);
		return 0;
	}
	k = trace_find_frame(r, index);
	trace_cursor_rewind(c, k);
	if (trace_cursor_load(r, c, k, true) < 0) {
		c->done = true;
		return -1;
	}
	/* Deltas make events decodable only in order: skip up to 'index'. */
	while (c->next_index < index) {
		uint64_t i;

		/* The index guarantees the events exist: 0 is damage too. */
		if (trace_cursor_step(r, c, &ev, &i, true) <= 0) {
			c->done = true;
			return -1;
		}
	}
	return 0;
}

/*
 * Without a footer: decode frames (all of them, or only those flagged as
 * holding a checkpoint) to learn checkpoints, counts and times.
 */
static int
trace_scan_events(struct trace_reader *r, bool only_ckpt,
		  struct trace_summary *sum)
{
	struct trace_cursor *c = trace_cursor_new();
	struct trace_event ev;
	bool first = true;

	if (!c)
		return -1;
	r->ix.nckpts = 0;
	for (size_t k = 0; k < r->ix.nframes; k++) {
		if (only_ckpt && !(r->ix.frames[k].flags & TRACE_FRAME_F_CKPT))
			continue;
		trace_cursor_rewind(c, k);
		if (trace_cursor_load(r, c, k, false) < 0)
			goto out;
		/* left > 0: a step never loads another frame. */
		while (c->left > 0) {
			uint64_t index;
			int rc = trace_cursor_step(r, c, &ev, &index, false);

			if (rc < 0)
				goto out;
			if (sum)
				sum->events++;
			if (rc != 1)
				continue;
			if (sum) {
				sum->per_kind[ev.kind]++;
				if (first)
					sum->first_ns = ev.time_ns;
				sum->last_ns = ev.time_ns;
				first = false;
			}
			if (ev.kind == TRACE_EV_CKPT_BEGIN) {
				struct trace_ckpt_ent ce = { ev.u.ckpt_begin.id,
							     index, k };

				if (trace_index_add_ckpt(&r->ix, &ce) < 0)
					goto out;
			}
		}
		if (c->in.p != c->in.end) {
			trace_set_damage(r, r->ix.frames[k].offset, false,
					 "%zu bytes after the last event",
					 (size_t)(c->in.end - c->in.p));
			goto out;
		}
	}
out:
	trace_cursor_free(c);
	r->ckpts_known = true;
	return 0;
}

int
trace_seek_checkpoint(struct trace_reader *r, uint64_t index,
		      uint64_t *ckpt_index)
{
	size_t lo = 0, hi;

	if (!r)
		return -1;
	if (!r->ckpts_known && trace_scan_events(r, true, NULL) < 0)
		return -1;
	hi = r->ix.nckpts;
	if (hi == 0 || r->ix.ckpts[0].index > index) {
		errno = ENOENT;
		return -1;
	}
	/* The last checkpoint at or before 'index'. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->ix.ckpts[mid].index <= index)
			lo = mid;
		else
			hi = mid;
	}
	if (ckpt_index)
		*ckpt_index = r->ix.ckpts[lo].index;
	return trace_seek(r, r->ix.ckpts[lo].index);
}

int
trace_summary(struct trace_reader *r, struct trace_summary *sum)
{
	if (!r || !sum)
		return -1;
	memset(sum, 0, sizeof(*sum));
	if (r->ix_full) {
		sum->events = r->ix.events;
		memcpy(sum->per_kind, r->ix.per_kind, sizeof(sum->per_kind));
		sum->first_ns = r->ix.first_ns;
		sum->last_ns = r->ix.last_ns;
	} else {
		if (trace_scan_events(r, false, sum) < 0)
			return -1;
		/* Keep the result: later calls need no second scan. */
		r->ix.events = sum->events;
		memcpy(r->ix.per_kind, sum->per_kind, sizeof(sum->per_kind));
		r->ix.first_ns = sum->first_ns;
		r->ix.last_ns = sum->last_ns;
		r->ix_full = true;
	}
	sum->frames = r->ix.nframes;
	sum->checkpoints = r->ix.nckpts;
	sum->raw_bytes = r->ix.raw_bytes;
	sum->file_bytes = r->size;
	return 0;
}

const struct trace_damage *
trace_reader_damage(const struct trace_reader *r)
{
	return r && r->damaged ? &r->damage : NULL;
}

/* ---- opening ------------------------------------------------------------ */

/* trace.tick_ns: a decimal number of nanoseconds, 1 when absent. */
static int
trace_parse_tick(const char *s, uint64_t *tick)
{
	uint64_t v = 0;

	if (!s) {
		*tick = 1;
		return 0;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000000u)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v == 0 || v > 1000000000u)
		return -1;
	*tick = v;
	return 0;
}

struct trace_reader *
trace_open(const char *path, char *errbuf, size_t errlen)
{
	struct trace_reader *r;
	struct stat st;

	if (!path) {
		snprintf(errbuf, errlen, "no trace path");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "%s: not a regular file", path);
		goto fail;
	}
	r->size = (uint64_t)st.st_size;
	if (trace_header_read(r->fd, r->size, &r->hi, errbuf, errlen) < 0)
		goto fail;
	if (trace_parse_tick(
		trace_kv_find(r->hi.kv, r->hi.nkv, "trace.tick_ns"),
		&r->tick_ns) < 0) {
		snprintf(errbuf, errlen,
			 "damaged trace header: bad trace.tick_ns");
		goto fail;
	}
	r->data_start = TRACE_FILE_FIXED + (uint64_t)r->hi.body_len + 4;
	r->dctx = ZSTD_createDCtx();
	r->cur = trace_cursor_new();
	if (!r->dctx || !r->cur || trace_index_open(r) < 0) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	return r;
fail:
	trace_close(r);
	return NULL;
}

void
trace_close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	trace_header_free(&r->hi);
	trace_index_free(&r->ix);
	ZSTD_freeDCtx(r->dctx);
	free(r->comp);
	trace_cursor_free(r->cur);
	free(r);
}

const struct trace_kv *
trace_header(const struct trace_reader *r, size_t *count)
{
	if (count)
		*count = r ? r->hi.nkv : 0;
	return r ? r->hi.kv : NULL;
}

const char *
trace_header_get(const struct trace_reader *r, const char *key)
{
	return r ? trace_kv_find(r->hi.kv, r->hi.nkv, key) : NULL;
}

void
trace_version(const struct trace_reader *r, int *major, int *minor)
{
	if (major)
		*major = r ? r->hi.major : 0;
	if (minor)
		*minor = r ? r->hi.minor : 0;
}

bool
trace_has_footer(const struct trace_reader *r)
{
	return r && r->has_footer;
}
