/*
 * Fuzz target: the trace reader (trace/trace.h).  The trace is put in a
 * memfd and read like a file: open, every event to the end or the damage,
 * seeks to a few indexes and to the last checkpoint, and the summary.  The
 * reader must never crash, hang, leak, or contradict what it reported.
 *
 * An input that starts with the file magic is a whole trace file, read
 * as is.  Frame checksums stop most mutations of those at the crc check,
 * so any other input describes a trace that this target assembles with
 * valid checksums around fuzzed contents, to reach the event, prologue,
 * footer and header decoders:
 *
 *   byte 0     bit 0: a trailer after the last frame (naming the last
 *              frame as the footer); bit 1: the first chunk is the header
 *              text (else a fixed header); bits 4-5: trace.tick_ns 1, 16,
 *              1000 or absent (fixed header only)
 *   chunks     tag (1 byte), count (2, LE), len (2, LE), len raw bytes;
 *              tag bit 0: a footer frame (else events), bit 1: the
 *              checkpoint flag, bit 2: a wrong crc, bit 3: a first index
 *              one off.  Each chunk's bytes are zstd-compressed into one
 *              frame; a short last chunk keeps what there is.
 *
 * With FUZZ_TRACE_SAVE=FILE in the environment the assembled trace is
 * also written to FILE (e.g. to look at a crasher with rhyvetrace).
 *
 * tests/fuzz/corpus/trace holds both kinds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "trace.h"
#include "trace_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where what is read goes, so that nothing is optimised away. */
volatile unsigned fuzz_trace_sink;

/* Every event is read through its fields, so sanitizers see bad data. */
static unsigned
touch(const struct trace_event *ev)
{
	unsigned sum = (unsigned)ev->kind + (unsigned)ev->vcpu;
	size_t len = 0;
	const uint8_t *p = NULL;

	if (ev->kind < TRACE_EV_EXIT || ev->kind >= TRACE_EV_KIND_MAX)
		abort(); /* callers index per-kind tables with it */
	if (trace_kind_name(ev->kind) == NULL)
		abort();
	switch (ev->kind) {
	case TRACE_EV_EXIT:
		if (ev->u.exit.msg)
			sum += (unsigned)strlen(ev->u.exit.msg);
		break;
	case TRACE_EV_PIO:
		p = ev->u.pio.data;
		len = (size_t)ev->u.pio.count * ev->u.pio.bytes;
		break;
	case TRACE_EV_DECODE:
		if (ev->u.decode.len > 15)
			abort();
		if (ev->u.decode.text)
			sum += (unsigned)strlen(ev->u.decode.text);
		break;
	case TRACE_EV_DMA:
		p = ev->u.dma.data;
		len = ev->u.dma.len;
		break;
	case TRACE_EV_INPUT:
		p = ev->u.input.data;
		len = ev->u.input.len;
		break;
	case TRACE_EV_REGS:
		p = (const uint8_t *)ev->u.regs.regs;
		len = ev->u.regs.count * sizeof(struct trace_reg);
		break;
	case TRACE_EV_CKPT_DEVICE:
		if (ev->u.ckpt_device.name)
			sum += (unsigned)strlen(ev->u.ckpt_device.name);
		p = ev->u.ckpt_device.data;
		len = ev->u.ckpt_device.len;
		break;
	case TRACE_EV_CKPT_PAGES:
		p = ev->u.ckpt_pages.data;
		len = (size_t)ev->u.ckpt_pages.npages * 4096;
		break;
	case TRACE_EV_MARKER:
		if (ev->u.marker.text)
			sum += (unsigned)strlen(ev->u.marker.text);
		break;
	default:
		break;
	}
	if (len > 0 && p == NULL)
		abort(); /* a length without data */
	for (size_t i = 0; i < len; i += 61)
		sum += p[i];
	if (len > 0)
		sum += p[len - 1];
	return sum;
}

/* ---- assembling a trace around fuzzed contents ---------------------- */

struct out {
	uint8_t *p;
	size_t len, cap;
};

static void
out_put(struct out *o, const void *p, size_t len)
{
	if (o->len + len > o->cap) {
		o->cap = (o->len + len) * 2 + 4096;
		o->p = realloc(o->p, o->cap);
		if (o->p == NULL)
			abort();
	}
	memcpy(o->p + o->len, p, len);
	o->len += len;
}

static void
put_header(struct out *o, const uint8_t *text, size_t len)
{
	uint8_t fixed[TRACE_FILE_FIXED], crc[4];
	uint32_t c;

	memcpy(fixed, TRACE_FILE_MAGIC, 8);
	trace_put16(fixed + 8, TRACE_VERSION_MAJOR);
	trace_put16(fixed + 10, TRACE_VERSION_MINOR);
	trace_put32(fixed + 12, (uint32_t)len);
	c = (uint32_t)crc32(0, fixed, sizeof(fixed));
	c = (uint32_t)crc32(c, text, (uInt)len);
	trace_put32(crc, c);
	out_put(o, fixed, sizeof(fixed));
	out_put(o, text, len);
	out_put(o, crc, 4);
}

static uint8_t *
assemble(const uint8_t *data, size_t size, size_t *lenp)
{
	static ZSTD_CCtx *cctx;
	static const char *const ticks[] = { "1", "16", "1000", NULL };
	struct out o = { 0 };
	uint8_t flags = data[0], hdr[TRACE_FRAME_HDR], trailer[TRACE_TRAILER];
	uint64_t index = 0, last = 0;
	size_t pos = 1;
	bool header_done = false;

	if (cctx == NULL) {
		/* as the writer compresses, so that the offsets of a footer
		 * taken from a real trace still fit */
		cctx = ZSTD_createCCtx();
		if (cctx == NULL ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(
			cctx, ZSTD_c_compressionLevel, 3)) ||
		    ZSTD_isError(
			ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)))
			abort();
	}
	if (!(flags & 2)) {
		char text[256];
		const char *tick = ticks[(flags >> 4) & 3];

		snprintf(text, sizeof(text),
			 "trace.engine=kvm\nconfig.name=fuzz\n%s%s%s",
			 tick ? "trace.tick_ns=" : "", tick ? tick : "",
			 tick ? "\n" : "");
		put_header(&o, (const uint8_t *)text, strlen(text));
		header_done = true;
	}
	while (pos + 5 <= size) {
		uint8_t tag = data[pos];
		uint16_t count = trace_get16(data + pos + 1);
		size_t len = trace_get16(data + pos + 3), bound, n;
		struct trace_frame_hdr h = { 0 };
		uint8_t *comp;

		pos += 5;
		if (len > size - pos)
			len = size - pos;
		if (!header_done) {
			put_header(&o, data + pos, len);
			header_done = true;
			pos += len;
			continue;
		}
		bound = ZSTD_compressBound(len);
		comp = malloc(bound);
		if (comp == NULL)
			abort();
		n = ZSTD_compress2(cctx, comp, bound, data + pos, len);
		if (ZSTD_isError(n))
			abort();
		pos += len;
		h.type = tag & 1 ? TRACE_FRAME_FOOTER : TRACE_FRAME_EVENTS;
		h.flags = tag & 2 ? TRACE_FRAME_F_CKPT : 0;
		h.payload_len = (uint32_t)n;
		h.raw_len = (uint32_t)len;
		h.first_index = index + (tag & 8 ? 1 : 0);
		h.count = h.type == TRACE_FRAME_EVENTS ? count : 0;
		trace_frame_hdr_pack(&h, hdr);
		trace_put32(hdr + 28,
			    trace_frame_crc(hdr, comp, n) ^ (tag & 4 ? 1 : 0));
		last = o.len;
		out_put(&o, hdr, sizeof(hdr));
		out_put(&o, comp, n);
		free(comp);
		if (h.type == TRACE_FRAME_EVENTS)
			index += count;
	}
	if (!header_done)
		put_header(&o, (const uint8_t *)"", 0);
	if (flags & 1) {
		memcpy(trailer, TRACE_TRAILER_MAGIC, 8);
		trace_put64(trailer + 8, last);
		out_put(&o, trailer, sizeof(trailer));
	}
	*lenp = o.len;
	return o.p;
}

/* ---- reading ------------------------------------------------------------ */

static void
check_damage(struct trace_reader *r, size_t size)
{
	const struct trace_damage *d = trace_reader_damage(r);

	if (d == NULL)
		abort(); /* -1 without saying where */
	if (memchr(d->what, '\0', sizeof(d->what)) == NULL)
		abort();
	if (d->offset > size)
		abort(); /* damage outside the file */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[256];
	struct trace_reader *r;
	struct trace_event ev;
	struct trace_summary sum;
	uint64_t n = 0, ck;
	int fd, rc, major, minor;
	size_t nkv;
	const struct trace_kv *kv;
	uint8_t *built = NULL;

	if (size == 0)
		return 0;
	if (size < 8 || memcmp(data, TRACE_FILE_MAGIC, 8) != 0) {
		const char *save = getenv("FUZZ_TRACE_SAVE");

		built = assemble(data, size, &size);
		data = built;
		if (save != NULL) {
			/* the assembled trace, to reproduce with other tools */
			FILE *fp = fopen(save, "wb");

			if (fp == NULL || fwrite(data, 1, size, fp) != size ||
			    fclose(fp) != 0)
				perror(save);
		}
	}
	fd = memfd_create("fuzz_trace", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	free(built);
	data = NULL;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	r = trace_open(path, err, sizeof(err));
	if (r == NULL) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort(); /* a refusal must say why */
		close(fd);
		return 0;
	}

	kv = trace_header(r, &nkv);
	for (size_t i = 0; i < nkv; i++)
		fuzz_trace_sink +=
		    (unsigned)(strlen(kv[i].key) + strlen(kv[i].value));
	trace_version(r, &major, &minor);
	if (major != TRACE_VERSION_MAJOR)
		abort(); /* unknown majors are refused */
	(void)trace_header_get(r, "trace.engine");
	(void)trace_has_footer(r);

	/*
	 * Everything, in order.  Indexes count up from 0; they skip the
	 * extension events (of a newer minor version) the reader passes
	 * over.
	 */
	while ((rc = trace_next(r, &ev)) == 1) {
		if (ev.index < n)
			abort();
		fuzz_trace_sink += touch(&ev);
		n = ev.index + 1;
	}
	if (rc == -1) {
		check_damage(r, size);
		if (trace_next(r, &ev) != 0)
			abort(); /* after the damage: the end */
	} else if (rc != 0) {
		abort();
	}

	/*
	 * Seeks: the first, middle and last events read, past them (which a
	 * footer may still reach beyond a damaged frame), far beyond.
	 */
	{
		uint64_t last = n ? n - 1 : 0;
		uint64_t to[] = { 0, n / 2, last, n, n + 1000, UINT64_MAX };

		for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
			if (trace_seek(r, to[i]) != 0)
				continue;
			rc = trace_next(r, &ev);
			if (rc == 1) {
				if (ev.index < to[i])
					abort();
				fuzz_trace_sink += touch(&ev);
			} else if (rc == -1) {
				check_damage(r, size);
			}
		}
	}
	if (trace_seek_checkpoint(r, n ? n - 1 : 0, &ck) == 0) {
		rc = trace_next(r, &ev);
		if (rc == 1 && ev.kind != TRACE_EV_CKPT_BEGIN)
			abort();
		if (rc == 1 && ev.index != ck)
			abort();
	}
	if (trace_summary(r, &sum) == 0)
		fuzz_trace_sink += (unsigned)(sum.events + sum.frames);
	trace_close(r);
	close(fd);
	return 0;
}
