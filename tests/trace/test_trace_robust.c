/*
 * Robustness of the trace reader and writer (issue 4, acceptance bullet 2):
 * damaged traces are read up to the last good frame, with the damage
 * reported at the right offset, and never crash or hang the reader.
 *
 *   test_trace_robust cut            cut at every byte of the last frames
 *   test_trace_robust flip           bit flips in header, frames, footer
 *   test_trace_robust sigkill GEN    gen_trace killed with SIGKILL
 *   test_trace_robust sigkill-slow GEN
 *                                    the same at 20000 events/s, where
 *                                    only the flush timer sends frames
 *   test_trace_robust enospc         full disk: a 1 MiB tmpfs (needs root
 *                                    and a private mount namespace, else
 *                                    exits 77: skipped)
 *   test_trace_robust efbig          full "disk": RLIMIT_FSIZE
 *   test_trace_robust variant CASE OUT
 *                                    write one damaged variant for
 *                                    verify.sh and print "offset N" (the
 *                                    damaged frame) or "offset -"
 *
 * The frame layout is found through the reader itself, and checked for
 * consistency: a trace cut exactly at a frame boundary reads cleanly; cut
 * one byte before it, the reader reports damage at the start of that
 * frame and returns the same events as the cut at that start.  Event
 * contents are compared with those of the undamaged trace, by index.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "synth.h"
#include "trace.h"
#include "trace_int.h"

#define MAX_FAIL_PRINT 25

static int failures;
static char tmpdir[256];

static void
fail(const char *fmt, ...)
{
	va_list ap;

	if (failures++ < MAX_FAIL_PRINT) {
		printf("FAIL: ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	} else if (failures == MAX_FAIL_PRINT + 1) {
		printf("FAIL: (further failures not shown)\n");
	}
	fflush(stdout);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	printf("FATAL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
cleanup_tmpdir(void)
{
	char cmd[300];

	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

static void
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/rhyve-trace-test.XXXXXX",
		 base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp %s: %s", tmpdir, strerror(errno));
	atexit(cleanup_tmpdir);
}

/* ---- the trace under test, in memory ------------------------------------- */

struct image {
	uint8_t *buf;
	size_t len;
};

static uint8_t *
slurp(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *buf;

	if (fd < 0 || fstat(fd, &st) != 0)
		die("%s: %s", path, strerror(errno));
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (buf == NULL)
		abort();
	for (size_t off = 0; off < (size_t)st.st_size;) {
		ssize_t n =
		    pread(fd, buf + off, (size_t)st.st_size - off, (off_t)off);

		if (n <= 0)
			die("%s: short read", path);
		off += (size_t)n;
	}
	close(fd);
	*lenp = (size_t)st.st_size;
	return buf;
}

/*
 * Write a synthetic trace of 'nevents' events (plus END) with small frames
 * and return its bytes.
 */
static void
make_trace(struct image *img, uint64_t nevents, size_t frame_bytes,
	   bool checkpoints, uint64_t seed)
{
	struct synth_opts so = { .seed = seed,
				 .vcpus = 2,
				 .checkpoints = checkpoints,
				 .ckpt_every = nevents / 3,
				 .marker_every = 499,
				 .only_vcpu = -1 };
	struct trace_writer_opts wo = { .frame_bytes = frame_bytes };
	struct synth *s = malloc(sizeof(*s));
	struct trace_writer *w;
	struct trace_event ev;
	char path[300], err[256];

	snprintf(path, sizeof(path), "%s/full.trace", tmpdir);
	w = trace_writer_open(path, synth_header, synth_nheader, &wo, err,
			      sizeof(err));
	if (w == NULL)
		die("trace_writer_open: %s", err);
	synth_init(s, &so);
	for (uint64_t i = 0; i < nevents; i++) {
		synth_next(s, &ev);
		if (ev.kind == TRACE_EV_CKPT_BEGIN &&
		    trace_writer_flush(w) != 0)
			die("trace_writer_flush: %s", trace_writer_error(w));
		if (trace_write(w, &ev) != 0)
			die("trace_write: %s", trace_writer_error(w));
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_EV_END;
	ev.time_ns = s->now_ns;
	if (trace_write(w, &ev) != 0)
		die("trace_write END: %s", trace_writer_error(w));
	if (trace_writer_close(w, err, sizeof(err)) != 0)
		die("trace_writer_close: %s", err);
	free(s);
	img->buf = slurp(path, &img->len);
	unlink(path);
}

/* ---- reading a (damaged) copy -------------------------------------------- */

static struct image full;       /* the undamaged trace */
static struct trace_event *ref; /* its events */
static uint64_t nref;
static int view_fd = -1; /* a memfd the copies are made in */
static char view_path[64];

struct result {
	bool opened;
	char err[256];
	bool footer;
	uint64_t n;       /* events returned */
	int rc;           /* what ended the reading: 0 or -1 */
	int after;        /* trace_next after the end */
	uint64_t dmg_off; /* rc == -1: the damage */
	char dmg_what[160];
	int64_t mismatch; /* first event differing from ref, or -1 */
	const char *field;
	uint64_t ref_total; /* ref events, for the mismatch check */
	int summary_rc;
	uint64_t summary_events;
};

static void
put_view(const uint8_t *buf, size_t len)
{
	if (view_fd < 0) {
		view_fd = memfd_create("trace-view", MFD_CLOEXEC);
		if (view_fd < 0)
			die("memfd_create: %s", strerror(errno));
		snprintf(view_path, sizeof(view_path), "/proc/self/fd/%d",
			 view_fd);
	}
	if (ftruncate(view_fd, 0) != 0)
		die("ftruncate: %s", strerror(errno));
	for (size_t off = 0; off < len;) {
		ssize_t n = pwrite(view_fd, buf + off, len - off, (off_t)off);

		if (n <= 0)
			die("pwrite: %s", strerror(errno));
		off += (size_t)n;
	}
}

/*
 * Read every event of the trace at 'path', comparing them with ref[] (if
 * 'compare').  'extra': also try the summary and seeks.
 */
static void
read_path(const char *path, struct result *res, bool compare, bool extra)
{
	struct trace_reader *r;
	struct trace_event ev;
	int rc;

	memset(res, 0, sizeof(*res));
	res->mismatch = -1;
	r = trace_open(path, res->err, sizeof(res->err));
	if (r == NULL)
		return;
	res->opened = true;
	res->footer = trace_has_footer(r);
	while ((rc = trace_next(r, &ev)) == 1) {
		if (compare && res->mismatch < 0) {
			if (res->n >= nref) {
				res->mismatch = (int64_t)res->n;
				res->field = "event beyond the original's end";
			} else if (ev.index != res->n) {
				res->mismatch = (int64_t)res->n;
				res->field = "index";
			} else if ((res->field = synth_event_diff(
					&ref[res->n], &ev, true)) != NULL) {
				res->mismatch = (int64_t)res->n;
			}
		}
		res->n++;
		if (res->n > 100000000)
			die("reader loops: over 1e8 events");
	}
	res->rc = rc;
	if (rc == -1) {
		const struct trace_damage *d = trace_reader_damage(r);

		if (d == NULL) {
			res->dmg_off = UINT64_MAX;
			snprintf(res->dmg_what, sizeof(res->dmg_what),
				 "(trace_reader_damage() gave NULL)");
		} else {
			res->dmg_off = d->offset;
			snprintf(res->dmg_what, sizeof(res->dmg_what), "%s",
				 d->what);
		}
	}
	res->after = trace_next(r, &ev);
	if (extra) {
		struct trace_summary sum;

		res->summary_rc = trace_summary(r, &sum);
		res->summary_events = res->summary_rc == 0 ? sum.events : 0;
		/* seek back into what was read: that event again */
		if (res->n > 0) {
			uint64_t to = res->n / 2;

			if (trace_seek(r, to) != 0)
				fail("%s: trace_seek(%" PRIu64 ") failed", path,
				     to);
			else if (trace_next(r, &ev) != 1 || ev.index != to ||
				 (compare &&
				  synth_event_diff(&ref[to], &ev, true)))
				fail("%s: after trace_seek(%" PRIu64
				     ") the next event is not that one",
				     path, to);
		}
	}
	trace_close(r);
}

static void
read_view(const uint8_t *buf, size_t len, struct result *res, bool extra)
{
	put_view(buf, len);
	read_path(view_path, res, true, extra);
}

static void
read_cut(size_t len, struct result *res, bool extra)
{
	read_view(full.buf, len, res, extra);
}

static const char *
describe(const struct result *r)
{
	static char buf[700];

	if (!r->opened)
		snprintf(buf, sizeof(buf), "open refused: %s", r->err);
	else
		snprintf(buf, sizeof(buf),
			 "footer=%d events=%" PRIu64 " rc=%d dmg_off=%" PRId64
			 " (%s) after=%d mismatch=%" PRId64 " (%s)",
			 r->footer, r->n, r->rc,
			 r->rc == -1 ? (int64_t)r->dmg_off : -1,
			 r->rc == -1 ? r->dmg_what : "", r->after, r->mismatch,
			 r->field ? r->field : "");
	return buf;
}

/* Clean: read to the end of what is there, or damage right at the cut. */
static bool
clean_end(const struct result *r, uint64_t len)
{
	return r->opened && r->mismatch < 0 && r->after == 0 &&
	       (r->rc == 0 || (r->rc == -1 && r->dmg_off == len));
}

/* ---- the frame layout ---------------------------------------------------- */

static uint64_t hdr_end;  /* the first frame starts here */
static uint64_t data_end; /* the last frame ends here (footer start) */
static uint64_t *fstart;  /* frame starts, ascending */
static uint64_t *fbefore; /* events before frame k */
static size_t nframes;

static void
load_reference(uint64_t nevents, size_t frame_bytes, bool checkpoints)
{
	struct trace_reader *r;
	struct trace_event ev;
	char err[256];
	int rc;

	make_trace(&full, nevents, frame_bytes, checkpoints, 11);
	put_view(full.buf, full.len);
	r = trace_open(view_path, err, sizeof(err));
	if (r == NULL)
		die("the undamaged trace does not open: %s", err);
	if (!trace_has_footer(r))
		die("the undamaged trace has no footer");
	ref = calloc(nevents + 2, sizeof(*ref));
	while ((rc = trace_next(r, &ev)) == 1) {
		if (nref >= nevents + 1)
			die("the undamaged trace has more events than written");
		if (ev.index != nref)
			die("event %" PRIu64 " has index %" PRIu64, nref,
			    ev.index);
		synth_event_copy(&ref[nref++], &ev);
	}
	if (rc != 0)
		die("the undamaged trace reads with damage at %" PRIu64 ": %s",
		    trace_reader_damage(r)->offset,
		    trace_reader_damage(r)->what);
	trace_close(r);
	if (nref != nevents + 1)
		die("%" PRIu64 " events read, %" PRIu64 " written", nref,
		    nevents + 1);
}

/*
 * Find the frames through the reader: the end of the data is the shortest
 * cut that still gives every event; one byte before a frame boundary the
 * reader must name the start of that frame.
 */
static void
discover_frames(void)
{
	struct result res, at;
	uint64_t lo = 0, hi = full.len, s;
	size_t cap = 64;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		read_cut(mid, &res, false);
		if (res.opened && res.n == nref)
			hi = mid;
		else
			lo = mid + 1;
	}
	data_end = lo;
	if (data_end >= full.len)
		die("no footer after the data (end of data %" PRIu64
		    ", size %zu)",
		    data_end, full.len);
	fstart = malloc(cap * sizeof(*fstart));
	fbefore = malloc(cap * sizeof(*fbefore));
	s = data_end;
	for (;;) {
		read_cut(s - 1, &res, false);
		if (!res.opened) {
			hdr_end = s;
			break;
		}
		if (res.rc != -1 || res.dmg_off >= s)
			die("cut at %" PRIu64 ", one byte before the frame "
			    "boundary %" PRIu64 ": %s",
			    s - 1, s, describe(&res));
		read_cut(res.dmg_off, &at, false);
		if (!clean_end(&at, res.dmg_off) || at.n != res.n)
			die("damage at %" PRIu64 " named for a cut at %" PRIu64
			    " is not a frame boundary: cut there, %s",
			    res.dmg_off, s - 1, describe(&at));
		if (nframes == cap) {
			cap *= 2;
			fstart = realloc(fstart, cap * sizeof(*fstart));
			fbefore = realloc(fbefore, cap * sizeof(*fbefore));
		}
		fstart[nframes] = res.dmg_off;
		fbefore[nframes] = res.n;
		nframes++;
		s = res.dmg_off;
	}
	/* reverse into ascending order */
	for (size_t i = 0; i < nframes / 2; i++) {
		uint64_t t = fstart[i];

		fstart[i] = fstart[nframes - 1 - i];
		fstart[nframes - 1 - i] = t;
		t = fbefore[i];
		fbefore[i] = fbefore[nframes - 1 - i];
		fbefore[nframes - 1 - i] = t;
	}
	if (nframes == 0 || fstart[0] != hdr_end || fbefore[0] != 0)
		die("the first frame does not start after the header");
	/* cross-check with the on-disk format (trace_int.h) */
	for (size_t i = 0; i < nframes; i++)
		if (memcmp(full.buf + fstart[i], TRACE_FRAME_MAGIC, 4) != 0)
			fail("frame %zu at %" PRIu64 " does not start with %s",
			     i, fstart[i], TRACE_FRAME_MAGIC);
	if (memcmp(full.buf + data_end, TRACE_FRAME_MAGIC, 4) != 0)
		fail("the footer at %" PRIu64 " does not start with %s",
		     data_end, TRACE_FRAME_MAGIC);
	printf("trace: %zu bytes, header 0..%" PRIu64 ", %zu frames, "
	       "footer %" PRIu64 "..%zu, %" PRIu64 " events\n",
	       full.len, hdr_end, nframes, data_end, full.len, nref);
}

/* The frame holding byte 'off' (hdr_end <= off < data_end). */
static size_t
frame_of(uint64_t off)
{
	size_t k = 0;

	while (k + 1 < nframes && fstart[k + 1] <= off)
		k++;
	return k;
}

static uint64_t
frame_end(size_t k)
{
	return k + 1 < nframes ? fstart[k + 1] : data_end;
}

static void
setup(uint64_t nevents, size_t frame_bytes, bool checkpoints)
{
	make_tmpdir();
	load_reference(nevents, frame_bytes, checkpoints);
	discover_frames();
}

/* ---- cut at every byte --------------------------------------------------- */

static void
check_cut(uint64_t len, const struct result *res)
{
	if (len == full.len) {
		if (!res->opened || !res->footer || res->rc != 0 ||
		    res->n != nref || res->mismatch >= 0)
			fail("uncut trace: %s", describe(res));
		return;
	}
	if (len < hdr_end) {
		if (res->opened || res->err[0] == '\0')
			fail("cut at %" PRIu64 " inside the header: expected a "
			     "refusal with a reason; %s",
			     len, describe(res));
		return;
	}
	if (!res->opened) {
		fail("cut at %" PRIu64 ": %s", len, describe(res));
		return;
	}
	if (res->footer)
		fail("cut at %" PRIu64 ": trace_has_footer() is true", len);
	if (res->mismatch >= 0)
		fail("cut at %" PRIu64 ": event %" PRId64 " differs (%s)", len,
		     res->mismatch, res->field);
	if (res->after != 0)
		fail("cut at %" PRIu64 ": trace_next after the end gave %d",
		     len, res->after);
	if (len >= data_end) {
		/* in the footer or trailer: every event, then the end or
		 * damage in there */
		if (res->n != nref ||
		    !(res->rc == 0 ||
		      (res->dmg_off >= data_end && res->dmg_off <= len)))
			fail("cut at %" PRIu64 " in the footer (%" PRIu64
			     "..%zu): %s",
			     len, data_end, full.len, describe(res));
		return;
	}
	{
		size_t k = frame_of(len);

		if (len == fstart[k]) {
			if (!clean_end(res, len) || res->n != fbefore[k])
				fail("cut at the frame boundary %" PRIu64
				     ": expected %" PRIu64
				     " events and a clean end; %s",
				     len, fbefore[k], describe(res));
		} else if (res->rc != -1 || res->dmg_off != fstart[k] ||
			   res->n != fbefore[k]) {
			fail("cut at %" PRIu64 " inside frame %zu (%" PRIu64
			     "..%" PRIu64 "): expected %" PRIu64
			     " events then damage at %" PRIu64 "; %s",
			     len, k, fstart[k], frame_end(k), fbefore[k],
			     fstart[k], describe(res));
		}
	}
}

static int
test_cut(void)
{
	struct result res;
	uint64_t from, n = 0, footer_dmg = 0, summary_bad = 0;
	double t0;

	setup(3000, 4096, true);
	from = fstart[nframes >= 3 ? nframes - 3 : 0];
	t0 = now_s();
	/* the header: every cut is refused */
	for (uint64_t len = 0; len < hdr_end; len++) {
		read_cut(len, &res, false);
		check_cut(len, &res);
	}
	for (uint64_t len = from; len <= full.len; len++) {
		bool extra = len % 53 == 0 || len == data_end;

		read_cut(len, &res, extra);
		check_cut(len, &res);
		if (len >= data_end && len < full.len && res.rc == -1)
			footer_dmg++;
		if (extra && len < full.len && res.summary_rc == 0 &&
		    res.summary_events != res.n) {
			if (summary_bad++ == 0)
				fail("cut at %" PRIu64 ": trace_summary() "
				     "counts %" PRIu64 " events, %" PRIu64
				     " readable",
				     len, res.summary_events, res.n);
		}
		n++;
	}
	printf("cut: %" PRIu64 " cuts from %" PRIu64 " (third-last frame) "
	       "to %zu, and %" PRIu64 " in the header, in %.1f s; cuts in "
	       "the footer: %" PRIu64 " reported as damage in %" PRIu64
	       "..%zu, %" PRIu64 " as a clean end\n",
	       n, from, full.len, hdr_end, now_s() - t0, footer_dmg, data_end,
	       full.len, full.len - data_end - footer_dmg);
	return failures ? 1 : 0;
}

/* ---- bit flips ----------------------------------------------------------- */

static uint8_t *flipbuf;

static void
read_flipped(const uint8_t *base, size_t len, uint64_t bit, struct result *res)
{
	memcpy(flipbuf, base, len);
	flipbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	read_view(flipbuf, len, res, false);
}

/* Flips in frame k: every bit of its first 40 and last 4 bytes, and 24
 * random bits in between. */
static size_t
frame_flip_bits(size_t k, uint64_t *bits, size_t cap, unsigned *seed)
{
	uint64_t s = fstart[k], e = frame_end(k), n = 0;

	for (uint64_t b = s * 8; b < e * 8 && b < (s + 40) * 8 && n < cap; b++)
		bits[n++] = b;
	for (uint64_t b = (e > s + 44 ? e - 4 : s + 40) * 8;
	     b < e * 8 && n < cap; b++)
		bits[n++] = b;
	for (int i = 0; i < 24 && e > s + 44 && n < cap; i++)
		bits[n++] =
		    (s + 40 + (uint64_t)rand_r(seed) % (e - s - 44)) * 8 +
		    (uint64_t)(rand_r(seed) % 8);
	return n;
}

static int
test_flip(void)
{
	struct result res;
	uint64_t bits[512], nflips = 0, accepted_hdr = 0, fdmg = 0;
	unsigned seed = 1;
	double t0;

	setup(1500, 2048, true);
	flipbuf = malloc(full.len);
	t0 = now_s();

	/* header: refused, with a reason */
	for (uint64_t b = 0; b < hdr_end * 8; b++) {
		read_flipped(full.buf, full.len, b, &res);
		nflips++;
		if (res.opened) {
			if (accepted_hdr++ < 10)
				fail("header bit %" PRIu64 " (byte %" PRIu64
				     ") flipped: the trace still opens (%s)",
				     b % 8, b / 8, describe(&res));
		} else if (res.err[0] == '\0') {
			fail("header bit %" PRIu64 " (byte %" PRIu64
			     ") flipped: refused without a reason",
			     b % 8, b / 8);
		}
	}
	if (accepted_hdr)
		printf("header: %" PRIu64 " of %" PRIu64
		       " flipped bits accepted\n",
		       accepted_hdr, hdr_end * 8);

	/* frames, with the footer and without it (scanned) */
	for (int scanned = 0; scanned < 2; scanned++) {
		size_t len = scanned ? data_end : full.len;

		for (size_t k = 0; k < nframes; k++) {
			size_t nb = frame_flip_bits(k, bits, 512, &seed);

			for (size_t i = 0; i < nb; i++) {
				read_flipped(full.buf, len, bits[i], &res);
				nflips++;
				if (!res.opened || res.footer == scanned ||
				    res.rc != -1 || res.dmg_off != fstart[k] ||
				    res.n != fbefore[k] || res.mismatch >= 0 ||
				    res.after != 0)
					fail("%s: frame %zu (%" PRIu64
					     "..%" PRIu64 ") byte %" PRIu64
					     " bit %" PRIu64
					     " flipped: expected %" PRIu64
					     " events then damage at "
					     "%" PRIu64 "; %s",
					     scanned ? "no footer" : "footer",
					     k, fstart[k], frame_end(k),
					     bits[i] / 8, bits[i] % 8,
					     fbefore[k], fstart[k],
					     describe(&res));
			}
		}
	}

	/* footer and trailer: scanned instead, every event still there */
	for (uint64_t b = data_end * 8; b < full.len * 8; b++) {
		read_flipped(full.buf, full.len, b, &res);
		nflips++;
		if (res.rc == -1)
			fdmg++;
		if (!res.opened || res.footer || res.n != nref ||
		    res.mismatch >= 0 || res.after != 0 ||
		    !(res.rc == 0 ||
		      (res.dmg_off >= data_end && res.dmg_off < full.len)))
			fail("footer byte %" PRIu64 " bit %" PRIu64
			     " flipped: expected all %" PRIu64
			     " events without the footer; %s",
			     b / 8, b % 8, nref, describe(&res));
	}
	printf("flip: %" PRIu64 " single-bit flips (header %" PRIu64
	       " bits, %zu frames with and without footer, footer %" PRIu64
	       " bits: %" PRIu64 " reported as damage there) in "
	       "%.1f s\n",
	       nflips, hdr_end * 8, nframes, (full.len - data_end) * 8, fdmg,
	       now_s() - t0);
	free(flipbuf);
	return failures ? 1 : 0;
}

/* ---- SIGKILL ------------------------------------------------------------- */

#define KILL_SEED  7
#define KILL_VCPUS 2

/*
 * 'rate' 0: gen_trace writes as fast as it can, so frames fill and go out
 * on size; else that many events per second, so that only the flush
 * timer sends them out.
 */
static int
test_sigkill(const char *gen, unsigned rate)
{
	char path[300], line[128], seedarg[16], vcpuarg[16], ratearg[16];
	int pfd[2], status;
	pid_t pid;
	FILE *fp;
	uint64_t announced = 0, last_ns = 0, n = 0, prev_ns = 0;
	double t_ann, t_kill;
	struct trace_reader *r;
	struct trace_event ev;
	struct synth *s = malloc(sizeof(*s));
	struct synth_opts so = { .seed = KILL_SEED,
				 .vcpus = KILL_VCPUS,
				 .checkpoints = true,
				 .ckpt_every = 200000,
				 .marker_every = 997,
				 .only_vcpu = -1 };
	struct stat st;
	int rc;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/killed.trace", tmpdir);
	snprintf(seedarg, sizeof(seedarg), "%d", KILL_SEED);
	snprintf(vcpuarg, sizeof(vcpuarg), "%d", KILL_VCPUS);
	snprintf(ratearg, sizeof(ratearg), "%u", rate);
	if (pipe(pfd) != 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(gen, gen, path, "--seed", seedarg, "--vcpus", vcpuarg,
		      "--checkpoints", "--ckpt-every", "200000", "--markers",
		      "997", "--kill-after-ms", "300", "--rate", ratearg,
		      (char *)NULL);
		perror(gen);
		_exit(127);
	}
	close(pfd[1]);
	fp = fdopen(pfd[0], "r");
	alarm(60);
	if (fgets(line, sizeof(line), fp) == NULL ||
	    sscanf(line, "running %" SCNu64, &announced) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		die("gen_trace did not announce itself (status %d)", status);
	}
	t_ann = now_s();
	kill(pid, SIGKILL);
	t_kill = now_s();
	waitpid(pid, &status, 0);
	fclose(fp);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		die("gen_trace was not killed by SIGKILL (status %d)", status);
	if (stat(path, &st) != 0)
		die("%s: %s", path, strerror(errno));

	/* the stream it wrote, times aside */
	synth_init(s, &so);
	{
		char err[256];

		r = trace_open(path, err, sizeof(err));
		if (r == NULL)
			die("killed trace does not open: %s", err);
	}
	if (trace_has_footer(r))
		fail("killed trace: trace_has_footer() is true");
	while ((rc = trace_next(r, &ev)) == 1) {
		struct trace_event want;
		const char *diff;

		synth_next(s, &want);
		want.time_ns = ev.time_ns;
		if (ev.index != n)
			fail("killed trace: event %" PRIu64
			     " has index %" PRIu64,
			     n, ev.index);
		if ((diff = synth_event_diff(&want, &ev, false)) != NULL)
			fail("killed trace: event %" PRIu64
			     " is not the one written (%s)",
			     n, diff);
		if (ev.time_ns < prev_ns)
			fail("killed trace: event %" PRIu64
			     " goes back in time",
			     n);
		prev_ns = ev.time_ns;
		last_ns = ev.time_ns;
		n++;
		if (failures > MAX_FAIL_PRINT)
			break;
	}
	if (rc == -1)
		printf("sigkill: reading stopped at the damage at %" PRIu64
		       " of %lld bytes: %s\n",
		       trace_reader_damage(r)->offset, (long long)st.st_size,
		       trace_reader_damage(r)->what);
	else if (rc == 0)
		printf("sigkill: read to a clean end (%lld bytes)\n",
		       (long long)st.st_size);
	trace_close(r);
	free(s);
	printf("sigkill: killed %.0f ms after the announcement at %.3f s; "
	       "%" PRIu64 " events readable, the last at %.3f s (%.0f ms "
	       "before the announcement)\n",
	       (t_kill - t_ann) * 1e3, announced / 1e9, n, last_ns / 1e9,
	       ((double)announced - (double)last_ns) / 1e6);
	if (n == 0)
		fail("killed trace: no events readable");
	/*
	 * Everything older than ~100 ms (the flush interval) must be there;
	 * 200 ms leaves room for a loaded machine.  SIGKILL came after the
	 * announcement, so what was lost is at most announcement - last.
	 */
	if (last_ns + 200000000ULL < announced)
		fail("killed trace: the last readable event is %.0f ms older "
		     "than the kill (at most 200 ms expected)",
		     ((double)announced - (double)last_ns) / 1e6);
	return failures ? 1 : 0;
}

/* ---- full disk ----------------------------------------------------------- */

static int
fill_disk(const char *dir, int expect_errno)
{
	struct synth_opts so = { .seed = 3,
				 .vcpus = 2,
				 .checkpoints = true,
				 .ckpt_every = 20000,
				 .marker_every = 997,
				 .only_vcpu = -1 };
	struct trace_writer_opts wo = { .frame_bytes = 64 * 1024 };
	struct synth *s = malloc(sizeof(*s));
	struct trace_writer *w;
	struct trace_event ev;
	char path[300], err[256];
	const char *msg;
	uint64_t written = 0, n = 0, accepted;
	struct result res;
	struct stat st;

	snprintf(path, sizeof(path), "%s/full-disk.trace", dir);
	w = trace_writer_open(path, synth_header, synth_nheader, &wo, err,
			      sizeof(err));
	if (w == NULL)
		die("trace_writer_open: %s", err);
	synth_init(s, &so);
	for (;;) {
		synth_next(s, &ev);
		if (ev.kind == TRACE_EV_CKPT_BEGIN &&
		    trace_writer_flush(w) != 0)
			break;
		if (trace_write(w, &ev) != 0)
			break;
		written++;
		if (written > 50000000)
			die("50 M events written to a full disk: no error");
	}
	msg = trace_writer_error(w);
	accepted = trace_writer_events(w);
	printf("full disk: the writer stopped after %" PRIu64
	       " events (it counts %" PRIu64 "): %s\n",
	       written, accepted, msg ? msg : "(NULL)");
	if (msg == NULL || msg[0] == '\0')
		fail("trace_writer_error() gives no reason");
	else if (strstr(msg, strerror(expect_errno)) == NULL &&
		 strcasestr(msg, "space") == NULL &&
		 strcasestr(msg, "full") == NULL)
		fail("the reason does not say the disk is full: %s", msg);
	synth_next(s, &ev);
	if (trace_write(w, &ev) != -1)
		fail("trace_write after the failure did not return -1");
	err[0] = '\0';
	if (trace_writer_close(w, err, sizeof(err)) != -1)
		fail("trace_writer_close after the failure returned 0");
	else
		printf("full disk: trace_writer_close: %s\n", err);
	if (err[0] == '\0')
		fail("trace_writer_close gives no reason");
	free(s);

	/* what is on disk reads back, up to the last complete frame */
	if (stat(path, &st) != 0)
		die("%s: %s", path, strerror(errno));
	read_path(path, &res, false, true);
	if (!res.opened)
		fail("the trace of a full disk does not open: %s", res.err);
	if (res.footer)
		fail("the trace of a full disk has a footer");
	if (res.after != 0)
		fail("trace_next after the end gave %d", res.after);
	n = res.n;
	printf("full disk: %lld bytes on disk, %" PRIu64 " events readable "
	       "(%s)\n",
	       (long long)st.st_size, n, describe(&res));
	if (n == 0 || n > written)
		fail("%" PRIu64 " events readable of %" PRIu64 " written", n,
		     written);
	/* and they are the ones written */
	{
		struct trace_reader *r = trace_open(path, err, sizeof(err));
		struct synth *s2 = malloc(sizeof(*s2));
		struct trace_event want;
		uint64_t i = 0;

		synth_init(s2, &so);
		while (r && trace_next(r, &ev) == 1) {
			const char *diff;

			synth_next(s2, &want);
			if ((diff = synth_event_diff(&want, &ev, false)) !=
			    NULL) {
				fail("full disk: event %" PRIu64
				     " is not the one written (%s)",
				     i, diff);
				break;
			}
			i++;
		}
		if (r)
			trace_close(r);
		free(s2);
	}
	return failures ? 1 : 0;
}

static int
run_child(int (*fn)(void))
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		alarm(120);
		_exit(fn());
	}
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status)) {
		printf("FAIL: the test child died of signal %d\n",
		       WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}

static int
enospc_child(void)
{
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/mnt", tmpdir);
	if (mkdir(dir, 0700) != 0)
		die("mkdir %s: %s", dir, strerror(errno));
	if (unshare(CLONE_NEWNS) != 0) {
		printf("SKIP: unshare(CLONE_NEWNS): %s\n", strerror(errno));
		return 77;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		printf("SKIP: making / private: %s\n", strerror(errno));
		return 77;
	}
	if (mount("rhyve-test", dir, "tmpfs", 0, "size=1m") != 0) {
		printf("SKIP: mount tmpfs: %s\n", strerror(errno));
		return 77;
	}
	printf("full disk: a 1 MiB tmpfs at %s\n", dir);
	return fill_disk(dir, ENOSPC);
}

static int
efbig_child(void)
{
	struct rlimit rl = { .rlim_cur = 1 << 20, .rlim_max = 1 << 20 };

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		die("setrlimit: %s", strerror(errno));
	printf("full disk: RLIMIT_FSIZE 1 MiB, SIGXFSZ ignored\n");
	return fill_disk(tmpdir, EFBIG);
}

/* ---- damaged variants for verify.sh -------------------------------------- */

static int
make_variant(const char *what, const char *out)
{
	uint8_t *buf;
	size_t len;
	int64_t off = -1;
	FILE *fp;

	setup(3000, 4096, true);
	buf = malloc(full.len);
	memcpy(buf, full.buf, full.len);
	len = full.len;
	if (strcmp(what, "clean") == 0) {
	} else if (strcmp(what, "cut-frame") == 0) {
		size_t k = nframes - 1;

		len = (fstart[k] + data_end) / 2;
		off = (int64_t)fstart[k];
	} else if (strcmp(what, "cut-footer") == 0) {
		len = (data_end + full.len) / 2;
	} else if (strcmp(what, "no-footer") == 0) {
		len = data_end;
	} else if (strcmp(what, "flip-header") == 0) {
		buf[hdr_end / 2] ^= 0x10;
	} else if (strcmp(what, "flip-frame") == 0) {
		size_t k = 0;

		/* the frame with the most events */
		for (size_t i = 1; i < nframes; i++)
			if ((i + 1 < nframes ? fbefore[i + 1] : nref) -
				fbefore[i] >
			    (k + 1 < nframes ? fbefore[k + 1] : nref) -
				fbefore[k])
				k = i;

		buf[(fstart[k] + frame_end(k)) / 2] ^= 0x04;
		off = (int64_t)fstart[k];
	} else if (strcmp(what, "flip-footer") == 0) {
		buf[(data_end + full.len) / 2] ^= 0x01;
	} else {
		die("unknown variant %s", what);
	}
	fp = fopen(out, "wb");
	if (fp == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0)
		die("%s: %s", out, strerror(errno));
	free(buf);
	if (off >= 0)
		printf("offset %" PRId64 "\n", off);
	else
		printf("offset -\n");
	return 0;
}

int
main(int argc, char **argv)
{
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(300); /* a hung reader fails instead of blocking ctest */
	if (argc >= 2 && strcmp(argv[1], "cut") == 0)
		rc = test_cut();
	else if (argc >= 2 && strcmp(argv[1], "flip") == 0)
		rc = test_flip();
	else if (argc >= 3 && strcmp(argv[1], "sigkill") == 0)
		rc = test_sigkill(argv[2], 0);
	else if (argc >= 3 && strcmp(argv[1], "sigkill-slow") == 0)
		rc = test_sigkill(argv[2], 20000);
	else if (argc >= 2 && strcmp(argv[1], "enospc") == 0) {
		make_tmpdir();
		rc = run_child(enospc_child);
	} else if (argc >= 2 && strcmp(argv[1], "efbig") == 0) {
		make_tmpdir();
		rc = run_child(efbig_child);
	} else if (argc >= 4 && strcmp(argv[1], "variant") == 0)
		return make_variant(argv[2], argv[3]);
	else {
		fprintf(stderr,
			"usage: test_trace_robust cut|flip|enospc|efbig"
			"|sigkill GEN|sigkill-slow GEN|variant CASE OUT\n");
		return 2;
	}
	if (rc == 0 && failures == 0)
		printf("PASS\n");
	else if (rc != 77)
		printf("FAILED (%d failures)\n", failures);
	return rc == 77 ? 77 : (rc || failures) ? 1 : 0;
}
