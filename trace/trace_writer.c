/*
 * The trace writer: one per VM, one producer thread per vCPU, and a
 * background thread that compresses and writes (docs/trace-format.md,
 * "Writer behaviour").
 *
 * Producers encode each event under one mutex straight into the current
 * raw frame buffer; the delta state lives in the buffer, so whatever order
 * the producers take the lock in is the order of the trace.  Encoding a
 * few bytes under a lock is cheaper than per-vCPU buffers and a merge, and
 * keeps a single global event order without timestamps deciding it.
 *
 * Full buffers go to the background thread through a small queue of
 * TW_NBUF buffers.  When all are in use the producer waits for one: that
 * back-pressure bounds memory and means a disk slower than the guest slows
 * the guest rather than losing events.  The background thread also seals
 * the current buffer once its first event is flush_ms old, so a SIGKILL
 * loses at most about flush_ms of events.
 *
 * A failed write (disk full, I/O error) truncates the file back to the end
 * of the last complete frame and stops the recording: the file stays a
 * readable trace (without footer) and trace_write() returns -1 from then on.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "trace_int.h"

#define TW_NBUF             4
#define TW_DEFAULT_FRAME    (1u << 20)
#define TW_DEFAULT_FLUSH_MS 100
#define TW_DEFAULT_LEVEL    3

struct tw_buf {
	uint8_t *data;
	size_t len, cap;
	uint64_t first_index;
	uint32_t count;
	uint8_t flags;
	uint64_t seq; /* frame number, set when sealed */
	struct tw_buf *next;
	struct trace_codec codec; /* delta state of this frame */
};

struct trace_writer {
	char *path;
	int fd;
	size_t frame_bytes;
	uint64_t flush_ns;
	uint64_t tick_ns;
	uint64_t start_mono; /* time_ns 0 */

	pthread_mutex_t mu;
	pthread_cond_t prod_cv; /* a buffer became free, or failure */
	pthread_cond_t bg_cv;   /* work for the background thread */
	pthread_cond_t done_cv; /* a frame was written */
	pthread_t bg;
	bool bg_running;

	/* Under mu. */
	struct tw_buf bufs[TW_NBUF];
	struct tw_buf *free_list, *q_head, *q_tail, *cur;
	uint64_t cur_born; /* monotonic ns of cur's first event */
	uint64_t nsealed, nwritten;
	bool closing, failed;
	char err[384];
	uint64_t nevents;
	uint64_t exits[TRACE_MAX_VCPUS]; /* per-vCPU EXIT counts */
	uint32_t nvcpu;                  /* 1 + highest vCPU with an exit */
	uint64_t first_ns, last_ns;

	/*
	 * ix.frames and ix.raw_bytes belong to the background thread,
	 * ix.ckpts and ix.per_kind to mu; close uses all after the join.
	 */
	struct trace_index ix;

	/* Background thread only (and close, after the join). */
	ZSTD_CCtx *cctx;
	uint8_t *out;
	size_t out_cap;
	uint64_t offset; /* end of the last complete frame */
};

static uint64_t
tw_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
tw_pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int
tw_reserve(struct tw_buf *b, size_t need)
{
	uint8_t *d;

	if (need <= b->cap)
		return 0;
	d = realloc(b->data, need);
	if (!d)
		return -1;
	b->data = d;
	b->cap = need;
	return 0;
}

/* ---- the background thread -------------------------------------------- */

/* The writer's failure message (background thread, before 'failed'). */
static void
tw_fail_msg(struct trace_writer *w, char *err, size_t errlen, int e,
	    uint64_t events, const char *what)
{
	if (e == ENOSPC || e == EDQUOT || e == EFBIG)
		snprintf(
		    err, errlen,
		    "%s: disk full after %llu bytes: recording stopped; the "
		    "trace is readable up to event %llu",
		    w->path, (unsigned long long)w->offset,
		    (unsigned long long)events);
	else
		snprintf(err, errlen,
			 "%s: %s after %llu bytes (%s): recording stopped; the "
			 "trace is readable up to event %llu",
			 w->path, what, (unsigned long long)w->offset,
			 e ? strerror(e) : "?", (unsigned long long)events);
}

/*
 * Compress 'raw' into one frame of 'type' at w->offset, followed by
 * 'extra' bytes (the trailer after the footer).  On failure the file is
 * cut back to w->offset and err says why.
 */
static int
tw_put_frame(struct trace_writer *w, const struct trace_frame_hdr *hin,
	     const uint8_t *raw, size_t rawlen, const uint8_t *extra,
	     size_t extralen, char *err, size_t errlen)
{
	size_t bound = ZSTD_compressBound(rawlen), n, total;
	struct trace_frame_hdr h = *hin;

	total = TRACE_FRAME_HDR + bound + extralen;
	if (total > w->out_cap) {
		uint8_t *o = realloc(w->out, total);

		if (!o) {
			tw_fail_msg(w, err, errlen, ENOMEM, h.first_index,
				    "out of memory");
			return -1;
		}
		w->out = o;
		w->out_cap = total;
	}
	n = ZSTD_compress2(w->cctx, w->out + TRACE_FRAME_HDR, bound, raw,
			   rawlen);
	if (ZSTD_isError(n)) {
		snprintf(
		    err, errlen,
		    "%s: zstd: %s: recording stopped; the trace is readable "
		    "up to event %llu",
		    w->path, ZSTD_getErrorName(n),
		    (unsigned long long)h.first_index);
		return -1;
	}
	h.payload_len = (uint32_t)n;
	h.raw_len = (uint32_t)rawlen;
	h.crc = 0;
	trace_frame_hdr_pack(&h, w->out);
	trace_put32(w->out + 28,
		    trace_frame_crc(w->out, w->out + TRACE_FRAME_HDR, n));
	if (extralen)
		memcpy(w->out + TRACE_FRAME_HDR + n, extra, extralen);
	if (tw_pwrite_all(w->fd, w->out, TRACE_FRAME_HDR + n + extralen,
			  w->offset) < 0) {
		int e = errno;

		/* Keep only complete frames: a reader sees a clean end. */
		if (ftruncate(w->fd, (off_t)w->offset) < 0) {
			/* Nothing better to do: the scan reports the tail. */
		}
		/* Events: those before this frame; footer: all of them. */
		tw_fail_msg(w, err, errlen, e, h.first_index, "write error");
		return -1;
	}
	return 0;
}

static int
tw_write_buf(struct trace_writer *w, struct tw_buf *b, char *err, size_t errlen)
{
	struct trace_frame_hdr h = {
		.type = TRACE_FRAME_EVENTS,
		.flags = b->flags,
		.first_index = b->first_index,
		.count = b->count,
	};
	struct trace_frame_ent f;

	if (tw_put_frame(w, &h, b->data, b->len, NULL, 0, err, errlen) < 0)
		return -1;
	f = (struct trace_frame_ent){
		.offset = w->offset,
		.first_index = b->first_index,
		.count = b->count,
		.payload_len = trace_get32(w->out + 8),
		.raw_len = (uint32_t)b->len,
		.flags = b->flags,
	};
	if (trace_index_add_frame(&w->ix, &f) < 0) {
		if (ftruncate(w->fd, (off_t)w->offset) < 0) {
			/* as above */
		}
		tw_fail_msg(w, err, errlen, ENOMEM, b->first_index,
			    "out of memory");
		return -1;
	}
	w->offset += TRACE_FRAME_HDR + f.payload_len;
	w->ix.raw_bytes += b->len;
	return 0;
}

/* Called with mu held: hand the current buffer to the background thread. */
static void
tw_seal(struct trace_writer *w)
{
	struct tw_buf *b = w->cur;

	w->cur = NULL;
	b->seq = w->nsealed++;
	b->next = NULL;
	if (w->q_tail)
		w->q_tail->next = b;
	else
		w->q_head = b;
	w->q_tail = b;
	pthread_cond_signal(&w->bg_cv);
}

static void
tw_recycle(struct trace_writer *w, struct tw_buf *b)
{
	/* Give back what a single huge event (checkpoint pages) took. */
	if (b->cap > 2 * w->frame_bytes + TRACE_MAX_PROLOGUE) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
	b->next = w->free_list;
	w->free_list = b;
}

static void *
tw_main(void *arg)
{
	struct trace_writer *w = arg;
	char err[sizeof(w->err)];

	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->q_head) {
			struct tw_buf *b = w->q_head;
			bool skip = w->failed;
			int rc = 0;

			w->q_head = b->next;
			if (!w->q_head)
				w->q_tail = NULL;
			pthread_mutex_unlock(&w->mu);
			if (!skip)
				rc = tw_write_buf(w, b, err, sizeof(err));
			pthread_mutex_lock(&w->mu);
			if (rc < 0 && !w->failed) {
				w->failed = true;
				memcpy(w->err, err, sizeof(w->err));
			}
			tw_recycle(w, b);
			w->nwritten = b->seq + 1;
			pthread_cond_broadcast(&w->prod_cv);
			pthread_cond_broadcast(&w->done_cv);
			continue;
		}
		if (w->closing)
			break;
		if (w->cur && w->cur->count) {
			uint64_t deadline = w->cur_born + w->flush_ns;
			struct timespec ts;

			if (tw_mono() >= deadline) {
				tw_seal(w);
				continue;
			}
			ts.tv_sec = (time_t)(deadline / 1000000000u);
			ts.tv_nsec = (long)(deadline % 1000000000u);
			pthread_cond_timedwait(&w->bg_cv, &w->mu, &ts);
		} else
			pthread_cond_wait(&w->bg_cv, &w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- opening --------------------------------------------------------- */

static void tw_free(struct trace_writer *w);

/* A decimal tick of 1 ns .. 1 s, as trace.tick_ns holds it. */
static int
tw_parse_tick(const char *s, uint64_t *tick)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > 1000000000u)
		return -1;
	*tick = v;
	return 0;
}

/*
 * The header bytes: the caller's pairs, then trace.start_unix_ns (unless
 * given) and trace.tick_ns (unless given).  Everything is checked here,
 * before the file is created.
 */
static uint8_t *
tw_build_header(struct trace_writer *w, const struct trace_kv *header,
		size_t nheader, uint32_t opt_tick, size_t *lenp, char *errbuf,
		size_t errlen)
{
	struct trace_kv *kv;
	const char *given;
	char start[32], tick[32];
	struct timespec now;
	uint8_t *buf = NULL;
	size_t n = 0;

	for (size_t i = 0; i < nheader; i++) {
		if (!header[i].key) {
			snprintf(errbuf, errlen, "header key is NULL");
			return NULL;
		}
	}
	/* trace.tick_ns from the options or the caller, not both apart. */
	w->tick_ns = opt_tick ? opt_tick : 1;
	given = NULL;
	for (size_t i = 0; i < nheader && !given; i++)
		if (strcmp(header[i].key, "trace.tick_ns") == 0)
			given = header[i].value ? header[i].value : "";
	if (given && (tw_parse_tick(given, &w->tick_ns) < 0 ||
		      (opt_tick && w->tick_ns != opt_tick))) {
		snprintf(errbuf, errlen,
			 "bad trace.tick_ns \"%s\": ns from 1 to 1000000000, "
			 "as the tick_ns option if that is set",
			 given);
		return NULL;
	}
	if (w->tick_ns > 1000000000u) {
		snprintf(errbuf, errlen, "tick_ns %llu is more than a second",
			 (unsigned long long)w->tick_ns);
		return NULL;
	}
	kv = calloc(nheader + 2, sizeof(*kv));
	if (!kv) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < nheader; i++)
		kv[n++] = header[i];
	if (!trace_kv_find(header, nheader, "trace.start_unix_ns")) {
		clock_gettime(CLOCK_REALTIME, &now);
		snprintf(start, sizeof(start), "%llu",
			 (unsigned long long)now.tv_sec * 1000000000ull +
			     (unsigned long long)now.tv_nsec);
		kv[n++] = (struct trace_kv){ "trace.start_unix_ns", start };
	}
	if (!given) {
		snprintf(tick, sizeof(tick), "%llu",
			 (unsigned long long)w->tick_ns);
		kv[n++] = (struct trace_kv){ "trace.tick_ns", tick };
	}
	buf = trace_header_build(kv, n, lenp, errbuf, errlen);
	free(kv);
	return buf;
}

struct trace_writer *
trace_writer_open(const char *path, const struct trace_kv *header,
		  size_t nheader, const struct trace_writer_opts *opts,
		  char *errbuf, size_t errlen)
{
	struct trace_writer *w;
	pthread_condattr_t ca;
	sigset_t all, old;
	uint8_t *hdr = NULL;
	size_t hlen = 0;
	int level;

	if (!path || (nheader && !header)) {
		snprintf(errbuf, errlen, "no trace path or header");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	w->fd = -1;
	w->path = strdup(path);
	w->frame_bytes =
	    opts && opts->frame_bytes ? opts->frame_bytes : TW_DEFAULT_FRAME;
	if (w->frame_bytes > TRACE_MAX_EVENT_BYTES)
		w->frame_bytes = TRACE_MAX_EVENT_BYTES;
	w->flush_ns = (uint64_t)(opts && opts->flush_ms ? opts->flush_ms
							: TW_DEFAULT_FLUSH_MS) *
		      1000000u;
	level = opts && opts->zstd_level ? opts->zstd_level : TW_DEFAULT_LEVEL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->bg_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&w->prod_cv, NULL);
	pthread_cond_init(&w->done_cv, NULL);
	if (!w->path)
		goto nomem;
	hdr = tw_build_header(w, header, nheader, opts ? opts->tick_ns : 0,
			      &hlen, errbuf, errlen);
	if (!hdr)
		goto fail;
	for (int i = 0; i < TW_NBUF; i++) {
		struct tw_buf *b = &w->bufs[i];

		trace_codec_init(&b->codec);
		b->next = w->free_list;
		w->free_list = b;
	}
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(
		w->cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(
		ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1))) {
		snprintf(errbuf, errlen, "cannot set up zstd (level %d)",
			 level);
		goto fail;
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	/* time_ns counts from here (trace.start_unix_ns is the same moment). */
	w->start_mono = tw_mono();
	if (tw_pwrite_all(w->fd, hdr, hlen, 0) < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	w->offset = hlen;
	free(hdr);
	hdr = NULL;
	/* The background thread takes none of the process's signals. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	w->bg_running = pthread_create(&w->bg, NULL, tw_main, w) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!w->bg_running) {
		snprintf(errbuf, errlen, "cannot start the trace thread");
		goto fail;
	}
	return w;
nomem:
	snprintf(errbuf, errlen, "out of memory");
fail:
	if (w->fd >= 0)
		unlink(path);
	free(hdr);
	tw_free(w);
	return NULL;
}

/* ---- producing ---------------------------------------------------------- */

/* With mu held and a free buffer: make it w->cur, prologue written. */
static int
tw_take(struct trace_writer *w)
{
	struct tw_buf *b = w->free_list;
	size_t need = TRACE_VARINT_MAX + (size_t)w->nvcpu * 15;

	if (tw_reserve(b, need > w->frame_bytes ? need : w->frame_bytes) < 0)
		return -1;
	w->free_list = b->next;
	b->next = NULL;
	b->first_index = w->nevents;
	b->count = 0;
	b->flags = 0;
	trace_codec_reset(&b->codec);
	b->len = trace_prologue_encode(b->data, w->exits, w->nvcpu);
	w->cur = b;
	return 0;
}

int
trace_write(struct trace_writer *w, const struct trace_event *ev)
{
	const char *why = NULL;
	struct tw_buf *b;
	uint64_t ticks, index;
	size_t bound;

	if (!w || !ev) {
		errno = EINVAL;
		return -1;
	}
	bound = trace_event_bound(ev, &why);
	if (!bound) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->failed)
			goto failed;
		b = w->cur;
		/* A checkpoint starts a frame: seeking to it decodes less. */
		if (b && b->count &&
		    (b->len + bound > w->frame_bytes ||
		     ev->kind == TRACE_EV_CKPT_BEGIN)) {
			tw_seal(w);
			continue;
		}
		if (b)
			break;
		if (w->free_list) {
			if (tw_take(w) < 0)
				goto failed;
			continue;
		}
		/*
		 * Back-pressure: every buffer waits for the disk.  Another
		 * producer may install a new current buffer meanwhile, so
		 * look again from the top after waking.
		 */
		pthread_cond_wait(&w->prod_cv, &w->mu);
	}
	if (tw_reserve(b, b->len + bound) < 0) {
		pthread_mutex_unlock(&w->mu);
		errno = ENOMEM;
		return -1;
	}
	ticks = (ev->time_ns ? ev->time_ns : tw_mono() - w->start_mono) /
		w->tick_ns;
	b->len += trace_event_encode(&b->codec, ev, ticks, b->data + b->len);
	if (b->count++ == 0) {
		w->cur_born = tw_mono();
		pthread_cond_signal(&w->bg_cv);
	}
	index = w->nevents++;
	if (index == 0)
		w->first_ns = ticks * w->tick_ns;
	w->last_ns = ticks * w->tick_ns;
	w->ix.per_kind[ev->kind]++;
	if (ev->kind == TRACE_EV_EXIT) {
		w->exits[ev->vcpu]++;
		if (ev->vcpu >= w->nvcpu)
			w->nvcpu = ev->vcpu + 1;
	} else if (ev->kind == TRACE_EV_CKPT_BEGIN) {
		struct trace_ckpt_ent c = { ev->u.ckpt_begin.id, index,
					    w->nsealed };

		b->flags |= TRACE_FRAME_F_CKPT;
		/* Without memory for the list the footer loses it: scan. */
		(void)trace_index_add_ckpt(&w->ix, &c);
	}
	if (b->len >= w->frame_bytes)
		tw_seal(w);
	pthread_mutex_unlock(&w->mu);
	return 0;
failed:
	errno = w->failed ? EIO : ENOMEM;
	pthread_mutex_unlock(&w->mu);
	return -1;
}

int
trace_writer_flush(struct trace_writer *w)
{
	uint64_t target;
	int rc;

	if (!w)
		return -1;
	pthread_mutex_lock(&w->mu);
	if (w->cur && w->cur->count && !w->failed)
		tw_seal(w);
	target = w->nsealed;
	while (w->nwritten < target && !w->failed)
		pthread_cond_wait(&w->done_cv, &w->mu);
	rc = w->failed ? -1 : 0;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

const char *
trace_writer_error(const struct trace_writer *cw)
{
	struct trace_writer *w = (struct trace_writer *)cw;
	const char *e;

	if (!w)
		return NULL;
	pthread_mutex_lock(&w->mu);
	e = w->failed ? w->err : NULL;
	pthread_mutex_unlock(&w->mu);
	return e;
}

uint64_t
trace_writer_events(const struct trace_writer *cw)
{
	struct trace_writer *w = (struct trace_writer *)cw;
	uint64_t n;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	n = w->nevents;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* ---- closing ------------------------------------------------------------ */

static int
tw_write_footer(struct trace_writer *w, char *err, size_t errlen)
{
	struct trace_frame_hdr h = {
		.type = TRACE_FRAME_FOOTER,
		.first_index = w->nevents,
	};
	uint8_t trailer[TRACE_TRAILER], *raw;
	size_t len;
	int rc;

	w->ix.events = w->nevents;
	w->ix.first_ns = w->first_ns;
	w->ix.last_ns = w->last_ns;
	raw = trace_footer_encode(&w->ix, &len);
	if (!raw) {
		tw_fail_msg(w, err, errlen, ENOMEM, w->nevents,
			    "out of memory for the footer");
		return -1;
	}
	memcpy(trailer, TRACE_TRAILER_MAGIC, 8);
	trace_put64(trailer + 8, w->offset);
	rc = tw_put_frame(w, &h, raw, len, trailer, sizeof(trailer), err,
			  errlen);
	free(raw);
	return rc;
}

static void
tw_free(struct trace_writer *w)
{
	for (int i = 0; i < TW_NBUF; i++)
		free(w->bufs[i].data);
	trace_index_free(&w->ix);
	ZSTD_freeCCtx(w->cctx);
	free(w->out);
	if (w->fd >= 0)
		close(w->fd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->prod_cv);
	pthread_cond_destroy(&w->bg_cv);
	pthread_cond_destroy(&w->done_cv);
	free(w->path);
	free(w);
}

int
trace_writer_close(struct trace_writer *w, char *errbuf, size_t errlen)
{
	int rc = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	if (w->cur && w->cur->count && !w->failed)
		tw_seal(w);
	w->closing = true;
	pthread_cond_signal(&w->bg_cv);
	pthread_mutex_unlock(&w->mu);
	if (w->bg_running)
		pthread_join(w->bg, NULL);

	/* Alone from here on. */
	if (!w->failed && tw_write_footer(w, w->err, sizeof(w->err)) < 0)
		w->failed = true;
	if (close(w->fd) < 0 && !w->failed) {
		snprintf(w->err, sizeof(w->err), "%s: %s", w->path,
			 strerror(errno));
		w->failed = true;
	}
	w->fd = -1;
	if (w->failed) {
		rc = -1;
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s", w->err);
	}
	tw_free(w);
	return rc;
}
