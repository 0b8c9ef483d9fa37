/*
 * The trace library against damage: missing footer and trailer, cut and
 * corrupted frames, hand-made frames with bad events, extension events of
 * a newer minor version, a full disk during recording, and the flush
 * interval that bounds what a killed recorder loses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cunit.h"
#include "trace.h"
#include "trace_util.h"
#include "trace_int.h"

/* ---- helpers ------------------------------------------------------------ */

/* Files of this test go to the shared scratch folder. */
#define tpath unit_tmp_path

static uint64_t
fsize(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void
flip(const char *path, uint64_t off, uint8_t mask)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, &b, 1, (off_t)off), 1);
	b ^= mask;
	CU_ASSERT_EQUAL(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

static void
copy_file(const char *from, const char *to, uint64_t len)
{
	int in = open(from, O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char buf[65536];
	ssize_t n;

	CU_ASSERT_FATAL(in >= 0 && out >= 0);
	while (len &&
	       (n = read(in, buf, len < sizeof(buf) ? len : sizeof(buf))) > 0) {
		CU_ASSERT_EQUAL(write(out, buf, (size_t)n), n);
		len -= (uint64_t)n;
	}
	close(in);
	close(out);
}

/*
 * Read everything; returns the number of events and the last trace_next()
 * result in *last.  Checks indexes are consecutive.
 */
static uint64_t
read_all(struct trace_reader *r, int *last)
{
	struct trace_event ev;
	uint64_t n = 0;
	int rc;

	while ((rc = trace_next(r, &ev)) == 1) {
		CU_ASSERT_EQUAL(ev.index, n);
		n++;
	}
	*last = rc;
	/* After the end or damage: 0, and it stays 0. */
	CU_ASSERT_EQUAL(trace_next(r, &ev), 0);
	return n;
}

/*
 * A reference trace: 'n' exits with accesses, a checkpoint every 1000
 * events, small frames.  Returns the frame list (from the footer).
 */
static struct trace_index
make_reference(const char *path, uint64_t n)
{
	struct trace_writer_opts o = { .frame_bytes = 1024 };
	struct trace_index ix = { 0 };
	struct trace_writer *w;
	struct trace_reader *r;
	char err[256];
	uint8_t b = 'x';

	w = trace_writer_open(path, NULL, 0, &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	for (uint64_t i = 0; i < n; i++) {
		struct trace_event ev = { .time_ns = 1 + i * 100 };

		if (i % 1000 == 10) {
			ev.kind = TRACE_EV_CKPT_BEGIN;
			ev.u.ckpt_begin.id = i;
		} else if (i % 2 == 0) {
			ev.kind = TRACE_EV_EXIT;
			ev.u.exit.rip = 0x1000 + (i % 5);
		} else {
			ev.kind = TRACE_EV_PIO;
			ev.u.pio = (typeof(ev.u.pio)){ .port = 0x3f8,
						       .bytes = 1,
						       .count = 1,
						       .data = &b };
		}
		CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
	}
	CU_ASSERT_EQUAL_FATAL(trace_writer_close(w, err, sizeof(err)), 0);
	/* The frame list, as the library sees it (white box). */
	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_TRUE(trace_has_footer(r));
	ix.nframes = r->ix.nframes;
	ix.frames = calloc(ix.nframes, sizeof(*ix.frames));
	memcpy(ix.frames, r->ix.frames, ix.nframes * sizeof(*ix.frames));
	trace_close(r);
	return ix;
}

static uint64_t
footer_offset(const struct trace_index *ix)
{
	const struct trace_frame_ent *f = &ix->frames[ix->nframes - 1];

	return f->offset + TRACE_FRAME_HDR + f->payload_len;
}

/* ---- missing footer ------------------------------------------------------ */

static void
test_missing_trailer(void)
{
	const char *ref = tpath("ref.rtr"), *cut = tpath("cut.rtr");
	struct trace_index ix = make_reference(ref, 5000);
	struct trace_summary s1, s2;
	struct trace_reader *r;
	uint64_t size = fsize(ref), ck;
	int last;

	r = unit_trace_open(ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(trace_summary(r, &s1), 0);
	trace_close(r);
	CU_ASSERT(s1.frames > 10);

	/* Trailer cut off: the scan finds every frame and the footer. */
	copy_file(ref, cut, size - TRACE_TRAILER);
	r = unit_trace_open(cut);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_FALSE(trace_has_footer(r));
	CU_ASSERT_EQUAL(read_all(r, &last), 5000);
	/* Every event is there, but the file is cut: say so. */
	CU_ASSERT_EQUAL(last, -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(trace_reader_damage(r));
	CU_ASSERT_EQUAL(trace_reader_damage(r)->offset, size - TRACE_TRAILER);
	CU_ASSERT_PTR_NOT_NULL(strstr(trace_reader_damage(r)->what, "trailer"));
	CU_ASSERT_EQUAL(trace_summary(r, &s2), 0);
	CU_ASSERT_EQUAL(s2.events, s1.events);
	CU_ASSERT_EQUAL(s2.frames, s1.frames);
	CU_ASSERT_EQUAL(s2.checkpoints, 5);
	CU_ASSERT(memcmp(s1.per_kind, s2.per_kind, sizeof(s1.per_kind)) == 0);
	CU_ASSERT_EQUAL(trace_seek_checkpoint(r, 4000, &ck), 0);
	CU_ASSERT_EQUAL(ck, 3010);
	trace_close(r);

	/* Footer and trailer gone (a killed recorder): a clean scan. */
	copy_file(ref, cut, footer_offset(&ix));
	r = unit_trace_open(cut);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_FALSE(trace_has_footer(r));
	CU_ASSERT_EQUAL(read_all(r, &last), 5000);
	CU_ASSERT_EQUAL(last, 0);
	CU_ASSERT_PTR_NULL(trace_reader_damage(r));
	/* Checkpoints and totals come from decoding the frames. */
	CU_ASSERT_EQUAL(trace_seek_checkpoint(r, 2500, &ck), 0);
	CU_ASSERT_EQUAL(ck, 2010);
	CU_ASSERT_EQUAL(trace_seek_checkpoint(r, 9, &ck), -1);
	CU_ASSERT_EQUAL(trace_summary(r, &s2), 0);
	CU_ASSERT_EQUAL(s2.events, s1.events);
	CU_ASSERT_EQUAL(s2.frames, s1.frames);
	CU_ASSERT_EQUAL(s2.checkpoints, s1.checkpoints);
	CU_ASSERT_EQUAL(s2.raw_bytes, s1.raw_bytes);
	CU_ASSERT_EQUAL(s2.first_ns, s1.first_ns);
	CU_ASSERT_EQUAL(s2.last_ns, s1.last_ns);
	CU_ASSERT(memcmp(s1.per_kind, s2.per_kind, sizeof(s1.per_kind)) == 0);
	CU_ASSERT_EQUAL(trace_seek(r, 4321), 0);
	{
		struct trace_event ev;

		CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
		CU_ASSERT_EQUAL(ev.index, 4321);
		CU_ASSERT_EQUAL(ev.time_ns, 1 + 4321 * 100);
	}
	trace_close(r);

	/* Header only: no events, nothing damaged. */
	copy_file(ref, cut, ix.frames[0].offset);
	r = unit_trace_open(cut);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(read_all(r, &last), 0);
	CU_ASSERT_EQUAL(last, 0);
	CU_ASSERT_EQUAL(trace_summary(r, &s2), 0);
	CU_ASSERT_EQUAL(s2.events, 0);
	trace_close(r);
	free(ix.frames);
	unlink(ref);
	unlink(cut);
}

/* ---- cut at every byte of the tail ----------------------------------- */

static void
test_truncation(void)
{
	const char *ref = tpath("ref.rtr"), *cut = tpath("cut.rtr");
	struct trace_index ix = make_reference(ref, 3000);
	const struct trace_frame_ent *lastf = &ix.frames[ix.nframes - 1];
	uint64_t size = fsize(ref), foot = footer_offset(&ix);
	uint64_t before = lastf->first_index;
	int last;

	/* From inside the second-to-last frame to the very end. */
	for (uint64_t len = ix.frames[ix.nframes - 2].offset + 5; len <= size;
	     len++) {
		struct trace_reader *r;
		uint64_t n;

		copy_file(ref, cut, len);
		r = unit_trace_open(cut);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		n = read_all(r, &last);
		if (len < lastf->offset) {
			CU_ASSERT_EQUAL(n,
					ix.frames[ix.nframes - 2].first_index);
			CU_ASSERT_EQUAL(last, -1);
		} else if (len == lastf->offset) {
			CU_ASSERT_EQUAL(n, before);
			CU_ASSERT_EQUAL(last, 0); /* a clean frame boundary */
		} else if (len < foot + TRACE_FRAME_HDR + 1) {
			/* Inside the last frame: damage at its offset. */
			if (len < foot) {
				CU_ASSERT_EQUAL(n, before);
				CU_ASSERT_EQUAL(last, -1);
				CU_ASSERT_EQUAL(trace_reader_damage(r)->offset,
						lastf->offset);
			} else {
				CU_ASSERT_EQUAL(n, 3000);
				CU_ASSERT_EQUAL(last, len == foot ? 0 : -1);
			}
		} else {
			CU_ASSERT_EQUAL(n, 3000);
			CU_ASSERT_EQUAL(last, len == size ? 0 : -1);
		}
		CU_ASSERT_EQUAL(trace_has_footer(r), len == size);
		trace_close(r);
	}
	free(ix.frames);
	unlink(ref);
	unlink(cut);
}

/* ---- corrupted frames, footer, header -------------------------------- */

static void
test_corruption(void)
{
	const char *ref = tpath("ref.rtr"), *bad = tpath("bad.rtr");
	struct trace_index ix = make_reference(ref, 4000);
	uint64_t size = fsize(ref), foot = footer_offset(&ix);
	const struct trace_frame_ent *f = &ix.frames[ix.nframes / 2];
	struct trace_reader *r;
	struct trace_event ev;
	char err[256];
	int last;

	/* A flipped bit in a frame's payload: read up to it, then damage. */
	copy_file(ref, bad, size);
	flip(bad, f->offset + TRACE_FRAME_HDR + f->payload_len / 2, 0x10);
	r = unit_trace_open(bad);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_TRUE(trace_has_footer(r));
	CU_ASSERT_EQUAL(read_all(r, &last), f->first_index);
	CU_ASSERT_EQUAL(last, -1);
	CU_ASSERT_EQUAL(trace_reader_damage(r)->offset, f->offset);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(trace_reader_damage(r)->what, "checksum"));
	/* Before it, seeking works; into it, it fails. */
	CU_ASSERT_EQUAL(trace_seek(r, 3), 0);
	CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
	CU_ASSERT_EQUAL(ev.index, 3);
	CU_ASSERT_EQUAL(trace_seek(r, f->first_index + 1), -1);
	CU_ASSERT_EQUAL(trace_next(r, &ev), 0);
	CU_ASSERT_EQUAL(trace_seek(r, f->first_index + f->count), 0);
	CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
	trace_close(r);

	/* The same without the trailer: the scan stops at the bad frame. */
	copy_file(bad, ref, size - 3);
	r = unit_trace_open(ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_FALSE(trace_has_footer(r));
	CU_ASSERT_EQUAL(read_all(r, &last), f->first_index);
	CU_ASSERT_EQUAL(last, -1);
	CU_ASSERT_EQUAL(trace_reader_damage(r)->offset, f->offset);
	trace_close(r);
	free(ix.frames);

	/* A flipped bit in a frame header's magic. */
	ix = make_reference(ref, 4000);
	size = fsize(ref);
	foot = footer_offset(&ix);
	f = &ix.frames[1];
	copy_file(ref, bad, size);
	flip(bad, f->offset, 0x01);
	r = unit_trace_open(bad);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(read_all(r, &last), f->first_index);
	CU_ASSERT_EQUAL(trace_reader_damage(r)->offset, f->offset);
	trace_close(r);

	/* A flipped bit in the footer: scan, all events, damage at it. */
	copy_file(ref, bad, size);
	flip(bad, foot + TRACE_FRAME_HDR + 2, 0x80);
	r = unit_trace_open(bad);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_FALSE(trace_has_footer(r));
	CU_ASSERT_EQUAL(read_all(r, &last), 4000);
	CU_ASSERT_EQUAL(last, -1);
	CU_ASSERT_EQUAL(trace_reader_damage(r)->offset, foot);
	trace_close(r);

	/* A flipped bit in the trailer's offset. */
	copy_file(ref, bad, size);
	flip(bad, size - 5, 0x04);
	r = unit_trace_open(bad);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_FALSE(trace_has_footer(r));
	CU_ASSERT_EQUAL(read_all(r, &last), 4000);
	CU_ASSERT_EQUAL(last, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(trace_reader_damage(r)->what, "trailer"));
	trace_close(r);

	/* A flipped bit in the header: refused, with the reason. */
	copy_file(ref, bad, size);
	flip(bad, 20, 0x02);
	CU_ASSERT_PTR_NULL(trace_open(bad, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "checksum mismatch"));
	/* A header length beyond the file. */
	copy_file(ref, bad, size);
	flip(bad, 15, 0x40);
	CU_ASSERT_PTR_NULL(trace_open(bad, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "damaged trace header"));
	/* Too short to be a trace at all. */
	copy_file(ref, bad, 7);
	CU_ASSERT_PTR_NULL(trace_open(bad, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a rhyve trace"));
	/* A directory. */
	CU_ASSERT_PTR_NULL(trace_open("/tmp", err, sizeof(err)));
	free(ix.frames);
	unlink(ref);
	unlink(bad);
}

/* ---- hand-made frames ------------------------------------------------- */

struct hframe {
	const char *raw; /* raw payload: prologue and events */
	size_t len;
	uint64_t first;
	uint32_t count;
	int raw_len_delta; /* lie about raw_len */
};

#define HF(s, first, count)                                                    \
	{                                                                      \
		s, sizeof(s) - 1, first, count, 0                              \
	}

/* A trace of the given frames and no footer; frame offsets in off[]. */
static void
make_frames(const char *path, const struct hframe *fr, size_t n, uint64_t *off)
{
	struct trace_kv kv[] = { { "trace.engine", "hand" } };
	char err[256];
	size_t hlen;
	uint8_t *hdr = trace_header_build(kv, 1, &hlen, err, sizeof(err));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint64_t pos = hlen;

	CU_ASSERT_FATAL(hdr && fd >= 0);
	CU_ASSERT_EQUAL(write(fd, hdr, hlen), (ssize_t)hlen);
	free(hdr);
	for (size_t i = 0; i < n; i++) {
		size_t cap = ZSTD_compressBound(fr[i].len);
		uint8_t *buf = malloc(TRACE_FRAME_HDR + cap);
		size_t c = ZSTD_compress(buf + TRACE_FRAME_HDR, cap, fr[i].raw,
					 fr[i].len, 1);
		struct trace_frame_hdr h = {
			.type = TRACE_FRAME_EVENTS,
			.payload_len = (uint32_t)c,
			.raw_len =
			    (uint32_t)((int)fr[i].len + fr[i].raw_len_delta),
			.first_index = fr[i].first,
			.count = fr[i].count,
		};

		CU_ASSERT_FATAL(!ZSTD_isError(c));
		trace_frame_hdr_pack(&h, buf);
		trace_put32(buf + 28,
			    trace_frame_crc(buf, buf + TRACE_FRAME_HDR, c));
		CU_ASSERT_EQUAL(write(fd, buf, TRACE_FRAME_HDR + c),
				(ssize_t)(TRACE_FRAME_HDR + c));
		off[i] = pos;
		pos += TRACE_FRAME_HDR + c;
		free(buf);
	}
	close(fd);
}

/*
 * The events of the hand-made trace: 'kinds' lists the expected kinds
 * (0-terminated) before damage 'what' (NULL: a clean end) in frame
 * 'dframe'.
 */
static void
expect_frames(const struct hframe *fr, size_t n, const int *kinds,
	      const char *what, size_t dframe)
{
	const char *path = tpath("hand.rtr");
	uint64_t off[8];
	struct trace_reader *r;
	struct trace_event ev;
	int rc, i = 0;

	make_frames(path, fr, n, off);
	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	while ((rc = trace_next(r, &ev)) == 1) {
		CU_ASSERT_EQUAL((int)ev.kind, kinds[i]);
		if (!kinds[i])
			break;
		i++;
	}
	CU_ASSERT_EQUAL(kinds[i], 0);
	if (what) {
		const struct trace_damage *d = trace_reader_damage(r);

		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL(d->offset, off[dframe]);
		if (!strstr(d->what, what)) {
			printf("damage \"%s\", expected \"%s\"\n", d->what,
			       what);
			CU_FAIL("wrong damage report");
		}
	} else {
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_PTR_NULL(trace_reader_damage(r));
	}
	CU_ASSERT_EQUAL(trace_next(r, &ev), 0);
	trace_close(r);
	unlink(path);
}

/* Prologue (no exits), then events. */
#define P      "\x00"
#define EXIT0  "\x01\x00\x00\x00\x00" /* exit code 0, rip 0 */
#define MARKHI "\x11\x02hi"

static void
test_handmade(void)
{
	static const int exit_mark[] = { TRACE_EV_EXIT, TRACE_EV_MARKER, 0 };
	static const int exit_only[] = { TRACE_EV_EXIT, 0 };
	static const int none[] = { 0 };
	const char *path = tpath("hand.rtr");
	uint64_t off[2];
	struct trace_reader *r;
	struct trace_event ev;

	/* Good: two frames. */
	{
		struct hframe f[] = { HF(P EXIT0, 0, 1), HF(P MARKHI, 1, 1) };

		expect_frames(f, 2, exit_mark, NULL, 0);
	}
	/* An extension event (a newer minor version) is skipped. */
	{
		struct hframe f[] = { HF(P EXIT0 "\x3f\x46\x03xyz" MARKHI, 0,
					 3) };

		make_frames(path, f, 1, off);
		r = unit_trace_open(path);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
		CU_ASSERT_EQUAL(ev.index, 0);
		CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
		CU_ASSERT_EQUAL(ev.kind, TRACE_EV_MARKER);
		CU_ASSERT_EQUAL(ev.index,
				2); /* the skipped one keeps its index */
		CU_ASSERT_EQUAL(trace_next(r, &ev), 0);
		CU_ASSERT_EQUAL(trace_seek(r, 1), 0);
		CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
		CU_ASSERT_EQUAL(ev.index, 2);
		trace_close(r);
	}
	/* Delta state and vCPU/time flags, exit counts from the prologue. */
	{
		/* vCPU 3 has 7 exits before this frame; time 100 then +5. */
		struct hframe f[] = { HF("\x01\x03\x07"
					 "\xc1\x03\xc8\x01\x00\x20\x00\x00"
					 "\x41\x0a\x00\x04\x00\x00",
					 0, 2) };

		make_frames(path, f, 1, off);
		r = unit_trace_open(path);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
		CU_ASSERT_EQUAL(ev.vcpu, 3);
		CU_ASSERT_EQUAL(ev.time_ns, 100);
		CU_ASSERT_EQUAL(ev.u.exit.rip, 0x10);
		CU_ASSERT_EQUAL(ev.u.exit.exit_index, 7);
		CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
		CU_ASSERT_EQUAL(ev.vcpu, 3);
		CU_ASSERT_EQUAL(ev.time_ns, 105);
		CU_ASSERT_EQUAL(ev.u.exit.rip, 0x12);
		CU_ASSERT_EQUAL(ev.u.exit.exit_index, 8);
		trace_close(r);
	}
	/* Damage of every sort, each after the good events before it. */
	{
		struct hframe f[] = { HF(P EXIT0, 0, 1), HF(P "\x1e", 1, 1) };

		expect_frames(f, 2, exit_only, "unknown event kind", 1);
	}
	{
		struct hframe f[] = { HF(P "\x00", 0, 1) };

		expect_frames(f, 1, none, "unknown event kind", 0);
	}
	{
		struct hframe f[] = { HF(P EXIT0 "\x81\x88\x27" EXIT0, 0, 2) };

		expect_frames(f, 1, exit_only, "vCPU id out of range", 0);
	}
	{
		struct hframe f[] = { HF(P EXIT0 MARKHI, 0, 3) };

		expect_frames(f, 1, exit_mark, "past the end", 0);
	}
	{
		struct hframe f[] = { HF(P EXIT0 "\x00", 0, 1) };

		expect_frames(f, 1, exit_only, "after the last event", 0);
	}
	{
		struct hframe f[] = { HF(P "\x01\x00"
					   "\xff\xff\xff\xff\xff\xff\xff\xff"
					   "\xff\x7f\x00\x00",
					 0, 1) };

		expect_frames(f, 1, none, "varint longer than 64 bits", 0);
	}
	{
		/* Port 0 + 70000. */
		struct hframe f[] = { HF(P "\x02\xe0\xc5\x08\x00\x41", 0, 1) };

		expect_frames(f, 1, none, "port out of range", 0);
	}
	{
		struct hframe f[] = { HF(P "\x02\x02\x03\x41", 0, 1) };

		expect_frames(f, 1, none, "bad PIO flags", 0);
	}
	{
		/* A string running past the frame. */
		struct hframe f[] = { HF(P "\x11\x7fhi", 0, 1) };

		expect_frames(f, 1, none, "past the end", 0);
	}
	{
		/* REGS claiming more registers than bytes. */
		struct hframe f[] = { HF(P "\x0c\x7f\x00\x00", 0, 1) };

		expect_frames(f, 1, none, "register count", 0);
	}
	{
		struct hframe f[] = { HF("\x82\x10", 0, 1) };

		expect_frames(f, 1, none, "prologue", 0);
	}
	{
		struct hframe f[] = { HF(P EXIT0, 0, 1), HF(P EXIT0, 5, 1) };

		expect_frames(f, 2, exit_only, "expected 1", 1);
	}
	{
		struct hframe f[] = { HF(P EXIT0, 0, 1), HF(P EXIT0, 1, 1) };

		f[1].raw_len_delta = 1;
		expect_frames(f, 2, exit_only, "raw length", 1);
	}
	{
		struct hframe f[] = { HF(P EXIT0, 0, 1), HF(P EXIT0, 1, 0) };

		expect_frames(f, 2, exit_only, "no events", 1);
	}
	unlink(path);
}

/* ---- disk full ------------------------------------------------------- */

static void
test_disk_full(void)
{
	const char *path = tpath("full.rtr");
	const rlim_t limit = 300000;
	char msg[512] = "";
	int pfd[2], status;
	unsigned long long n = 0;
	const char *p;
	pid_t pid;

	CU_ASSERT_FATAL(pipe(pfd) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* The child records onto a "disk" of 'limit' bytes. */
		struct rlimit rl = { limit, limit };
		struct trace_writer_opts o = { .frame_bytes = 16384 };
		struct trace_writer *w;
		static uint8_t data[4096];
		uint64_t x = 1;
		const char *e;
		char err[256];
		int rc = 1, i;

		close(pfd[0]);
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		w = trace_writer_open(path, NULL, 0, &o, err, sizeof(err));
		if (!w)
			_exit(2);
		for (i = 0; i < 1000; i++) {
			struct trace_event ev = { .kind = TRACE_EV_DMA };

			for (size_t j = 0; j < sizeof(data); j++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				data[j] = (uint8_t)x; /* incompressible */
			}
			ev.u.dma.len = sizeof(data);
			ev.u.dma.data = data;
			if (trace_write(w, &ev) < 0)
				break;
			if (i % 4 == 0)
				trace_writer_flush(w);
		}
		e = trace_writer_error(w);
		if (i < 1000 && e &&
		    trace_write(w, &(struct trace_event){
				       .kind = TRACE_EV_END }) == -1) {
			char copy[512];

			/* The error text lives in the writer: copy it. */
			snprintf(copy, sizeof(copy), "%s", e);
			if (write(pfd[1], copy, strlen(copy)) < 0)
				_exit(3);
			rc = trace_writer_close(w, err, sizeof(err)) == -1 &&
				     strcmp(err, copy) == 0
				 ? 0
				 : 4;
		} else
			trace_writer_close(w, err, sizeof(err));
		_exit(rc);
	}
	close(pfd[1]);
	CU_ASSERT(read(pfd[0], msg, sizeof(msg) - 1) > 0);
	close(pfd[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("  [%s] ", msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "full.rtr: disk full after "));
	p = strstr(msg, "readable up to event ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	n = strtoull(p + strlen("readable up to event "), NULL, 10);
	CU_ASSERT(n > 10);
	CU_ASSERT(fsize(path) <= limit);
	/* Only complete frames: a clean, footer-less trace of n events. */
	{
		struct trace_reader *r = unit_trace_open(path);
		int last;

		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_FALSE(trace_has_footer(r));
		CU_ASSERT_EQUAL(read_all(r, &last), n);
		CU_ASSERT_EQUAL(last, 0);
		CU_ASSERT_PTR_NULL(trace_reader_damage(r));
		trace_close(r);
	}
	unlink(path);
}

/* ---- the flush interval ----------------------------------------------- */

static uint64_t
count_events(const char *path)
{
	struct trace_reader *r = trace_open(path, NULL, 0);
	struct trace_event ev;
	uint64_t n = 0;

	if (!r)
		return 0;
	while (trace_next(r, &ev) == 1)
		n++;
	trace_close(r);
	return n;
}

static void
test_flush_interval(void)
{
	const char *path = tpath("flush.rtr");
	struct trace_writer_opts o = { .flush_ms = 20 };
	struct trace_event ev = { .kind = TRACE_EV_MARKER };
	struct trace_writer *w;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char err[256];
	int waited = 0;

	w = trace_writer_open(path, NULL, 0, &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	ev.u.marker.text = "tick";
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
	/* Without a flush, the background thread seals within flush_ms. */
	while (count_events(path) != 10 && waited++ < 500)
		nanosleep(&ts, NULL);
	CU_ASSERT_EQUAL(count_events(path), 10);
	/* An explicit flush is synchronous. */
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
	CU_ASSERT_EQUAL(trace_writer_flush(w), 0);
	CU_ASSERT_EQUAL(count_events(path), 15);
	CU_ASSERT_EQUAL(trace_writer_flush(w), 0); /* nothing to do */
	CU_ASSERT_EQUAL(trace_writer_close(w, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(count_events(path), 15);
	unlink(path);
}

static CU_TestInfo damage_tests[] = {
	{ "missing trailer and footer", test_missing_trailer },
	{ "cut at every byte of the tail", test_truncation },
	{ "flipped bits in frame, footer, trailer, header", test_corruption },
	{ "hand-made frames: damage and extensions", test_handmade },
	{ "disk full stops recording, trace stays readable", test_disk_full },
	{ "frames sealed every flush_ms", test_flush_interval },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "trace damage", damage_tests },
	{ NULL, NULL },
};
