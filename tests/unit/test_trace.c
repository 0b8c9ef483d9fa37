/*
 * The trace library: every event kind through writer and reader, several
 * producer threads, multi-frame traces, seeking, checkpoints, random
 * event streams, the header and the version check.  Damage handling is in
 * test_trace_damage.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cunit.h"
#include "trace.h"
#include "trace_util.h"

/* ---- helpers ------------------------------------------------------------ */

/* Files of this test go to the shared scratch folder. */
#define tpath unit_tmp_path

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* splitmix64: seeded, so a failure reproduces. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A value biased towards the edges: 0, 1, all ones, sign bits. */
static uint64_t
rnd_u64(void)
{
	switch (rnd() % 8) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return 1;
	case 3:
		return 1ull << 63;
	case 4:
		return rnd() >> (rnd() % 64);
	case 5:
		return UINT64_MAX - (rnd() % 3);
	default:
		return rnd();
	}
}

static uint32_t
rnd_u32(void)
{
	uint64_t v = rnd_u64();

	return rnd() % 2 ? (uint32_t)v : (uint32_t)(v >> 32);
}

static struct trace_writer *
wopen(const char *path, size_t frame_bytes)
{
	struct trace_writer_opts o = { .frame_bytes = frame_bytes };
	struct trace_kv kv[] = { { "trace.engine", "test" } };
	char err[256];
	struct trace_writer *w =
	    trace_writer_open(path, kv, 1, &o, err, sizeof(err));

	if (!w)
		printf("trace_writer_open: %s\n", err);
	return w;
}

static int
wclose(struct trace_writer *w)
{
	char err[256];
	int rc = trace_writer_close(w, err, sizeof(err));

	if (rc)
		printf("trace_writer_close: %s\n", err);
	return rc;
}

static bool
str_eq(const char *written, const char *read, bool null_is_empty)
{
	if (!written && null_is_empty)
		written = "";
	if (!written || !read)
		return written == read;
	return strcmp(written, read) == 0;
}

static bool
mem_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	return n == 0 || (a && b && memcmp(a, b, n) == 0);
}

/*
 * Does event 'r' (read) match 'w' (written)?  Reader-set fields (index,
 * exit_index) are not compared here.  Writes 'why' on mismatch.
 */
static bool
ev_match(const struct trace_event *w, const struct trace_event *r,
	 uint64_t tick, char *why, size_t whylen)
{
#define NE(cond, what)                                                         \
	do {                                                                   \
		if (cond) {                                                    \
			snprintf(why, whylen, "%s: %s",                        \
				 trace_kind_name(w->kind), what);              \
			return false;                                          \
		}                                                              \
	} while (0)
	NE(w->kind != r->kind, "kind");
	NE(w->vcpu != r->vcpu, "vcpu");
	NE(w->time_ns && w->time_ns / tick * tick != r->time_ns, "time");
	switch (w->kind) {
	case TRACE_EV_EXIT:
		NE(w->u.exit.exitcode != r->u.exit.exitcode, "exitcode");
		NE(w->u.exit.rip != r->u.exit.rip, "rip");
		NE(w->u.exit.inst_length != r->u.exit.inst_length,
		   "inst_length");
		NE(memcmp(w->u.exit.info, r->u.exit.info,
			  sizeof(w->u.exit.info)),
		   "info");
		NE(!str_eq(w->u.exit.msg, r->u.exit.msg, false), "msg");
		break;
	case TRACE_EV_PIO:
		NE(w->u.pio.port != r->u.pio.port, "port");
		NE(w->u.pio.bytes != r->u.pio.bytes, "bytes");
		NE(w->u.pio.in != r->u.pio.in ||
		       w->u.pio.string != r->u.pio.string ||
		       w->u.pio.rep != r->u.pio.rep,
		   "flags");
		NE(w->u.pio.count != r->u.pio.count, "count");
		NE(!mem_eq(w->u.pio.data, r->u.pio.data,
			   (size_t)w->u.pio.count * w->u.pio.bytes),
		   "data");
		break;
	case TRACE_EV_MMIO:
		NE(w->u.mmio.gpa != r->u.mmio.gpa, "gpa");
		NE(w->u.mmio.bytes != r->u.mmio.bytes, "bytes");
		NE(w->u.mmio.write != r->u.mmio.write, "write");
		NE(w->u.mmio.value != r->u.mmio.value, "value");
		break;
	case TRACE_EV_DECODE:
		NE(w->u.decode.len != r->u.decode.len, "len");
		NE(memcmp(w->u.decode.bytes, r->u.decode.bytes,
			  w->u.decode.len),
		   "bytes");
		NE(!str_eq(w->u.decode.text, r->u.decode.text, false), "text");
		break;
	case TRACE_EV_INJECT:
		NE(w->u.inject.type != r->u.inject.type, "type");
		NE(w->u.inject.vector != r->u.inject.vector, "vector");
		NE(w->u.inject.has_error_code != r->u.inject.has_error_code,
		   "has_error_code");
		NE(w->u.inject.has_error_code &&
		       w->u.inject.error_code != r->u.inject.error_code,
		   "error_code");
		NE(w->u.inject.point_kind != r->u.inject.point_kind,
		   "point_kind");
		NE(w->u.inject.point != r->u.inject.point, "point");
		break;
	case TRACE_EV_DMA:
		NE(w->u.dma.gpa != r->u.dma.gpa, "gpa");
		NE(w->u.dma.len != r->u.dma.len, "len");
		NE(!mem_eq(w->u.dma.data, r->u.dma.data, w->u.dma.len), "data");
		break;
	case TRACE_EV_CPUID:
		NE(memcmp(&w->u.cpuid, &r->u.cpuid, sizeof(w->u.cpuid)),
		   "values");
		break;
	case TRACE_EV_MSR:
		NE(w->u.msr.write != r->u.msr.write, "write");
		NE(w->u.msr.msr != r->u.msr.msr, "msr");
		NE(w->u.msr.value != r->u.msr.value, "value");
		break;
	case TRACE_EV_TSC:
		NE(w->u.tsc.value != r->u.tsc.value, "value");
		break;
	case TRACE_EV_RANDOM:
		NE(w->u.random.rdseed != r->u.random.rdseed, "rdseed");
		NE(w->u.random.bytes != r->u.random.bytes, "bytes");
		NE(w->u.random.value != r->u.random.value, "value");
		break;
	case TRACE_EV_INPUT:
		NE(w->u.input.source != r->u.input.source, "source");
		NE(w->u.input.len != r->u.input.len, "len");
		NE(!mem_eq(w->u.input.data, r->u.input.data, w->u.input.len),
		   "data");
		break;
	case TRACE_EV_REGS:
		NE(w->u.regs.count != r->u.regs.count, "count");
		NE(w->u.regs.count &&
		       memcmp(w->u.regs.regs, r->u.regs.regs,
			      w->u.regs.count * sizeof(struct trace_reg)),
		   "registers");
		break;
	case TRACE_EV_CKPT_BEGIN:
		NE(w->u.ckpt_begin.id != r->u.ckpt_begin.id, "id");
		NE(w->u.ckpt_begin.nvcpus != r->u.ckpt_begin.nvcpus, "nvcpus");
		break;
	case TRACE_EV_CKPT_DEVICE:
		NE(!str_eq(w->u.ckpt_device.name, r->u.ckpt_device.name, true),
		   "name");
		NE(w->u.ckpt_device.len != r->u.ckpt_device.len, "len");
		NE(!mem_eq(w->u.ckpt_device.data, r->u.ckpt_device.data,
			   w->u.ckpt_device.len),
		   "data");
		break;
	case TRACE_EV_CKPT_PAGES:
		NE(w->u.ckpt_pages.gpa != r->u.ckpt_pages.gpa, "gpa");
		NE(w->u.ckpt_pages.npages != r->u.ckpt_pages.npages, "npages");
		NE(!mem_eq(w->u.ckpt_pages.data, r->u.ckpt_pages.data,
			   (size_t)w->u.ckpt_pages.npages * TRACE_PAGE_SIZE),
		   "data");
		break;
	case TRACE_EV_CKPT_END:
		NE(w->u.ckpt_end.id != r->u.ckpt_end.id, "id");
		break;
	case TRACE_EV_MARKER:
		NE(!str_eq(w->u.marker.text, r->u.marker.text, true), "text");
		break;
	case TRACE_EV_END:
		NE(w->u.end.status != r->u.end.status, "status");
		break;
	case TRACE_EV_SCHED:
		NE(w->u.sched.from != r->u.sched.from, "from");
		NE(w->u.sched.icount != r->u.sched.icount, "icount");
		break;
	default:
		NE(true, "unexpected kind");
	}
	return true;
#undef NE
}

/* ---- one of every kind ------------------------------------------------- */

static const uint8_t blob[] = "\x00\x01\x02\xff\xfe binary \n\\ data";
static const struct trace_reg regs3[] = {
	{ 16 /* VM_REG_GUEST_RIP-ish */, 0xffffffff81000000ull },
	{ TRACE_REG_SEG_BASE(1), 0 },
	{ TRACE_REG_MSR(0xc0000080), 0xd01 },
};
static uint8_t page2[2 * TRACE_PAGE_SIZE];

/* Fills ev[] with one event of each kind (and a few variants). */
static size_t
every_kind(struct trace_event *ev)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(page2); i++)
		page2[i] = (uint8_t)(i * 7 + i / 4096);
#define E(k) (ev[n] = (struct trace_event){ .kind = (k) }, &ev[n++])
	struct trace_event *e;

	e = E(TRACE_EV_EXIT);
	e->vcpu = 1;
	e->time_ns = 1000;
	e->u.exit.exitcode = 0;
	e->u.exit.rip = 0xffffffff81000010ull;
	e->u.exit.inst_length = 1;
	e = E(TRACE_EV_PIO);
	e->vcpu = 1;
	e->time_ns = 1050;
	e->u.pio = (typeof(e->u.pio)){
		.port = 0x3f8, .bytes = 1, .count = 1, .data = blob
	};
	e = E(TRACE_EV_EXIT);
	e->vcpu = 0;
	e->time_ns = 900; /* time going backwards: another vCPU's clock */
	e->u.exit.exitcode = 2;
	e->u.exit.rip = 0x1000;
	e->u.exit.info[0] = 0x202;
	e = E(TRACE_EV_EXIT);
	e->vcpu = 0;
	e->time_ns = 2000;
	e->u.exit.exitcode = 6;
	e->u.exit.rip = 0;
	e->u.exit.info[0] = 17;
	e->u.exit.info[1] = 3;
	e->u.exit.info[2] = UINT64_MAX;
	e->u.exit.msg = "KVM_EXIT_INTERNAL_ERROR: emulation failure";
	e = E(TRACE_EV_PIO);
	e->time_ns = 2100;
	e->u.pio = (typeof(e->u.pio)){ .port = 0x1f0,
				       .bytes = 2,
				       .in = true,
				       .string = true,
				       .rep = true,
				       .count = 8,
				       .data = blob };
	e = E(TRACE_EV_PIO);
	e->time_ns = 2100;
	e->u.pio = (typeof(e->u.pio)){ .port = 0xcfc,
				       .bytes = 4,
				       .in = true,
				       .count = 1,
				       .data = blob + 4 };
	e = E(TRACE_EV_MMIO);
	e->time_ns = 2200;
	e->u.mmio = (typeof(e->u.mmio)){
		.gpa = 0xfee000b0, .bytes = 4, .write = true, .value = 0
	};
	e = E(TRACE_EV_MMIO);
	e->time_ns = 2300;
	e->u.mmio = (typeof(e->u.mmio)){ .gpa = 0xfec00000,
					 .bytes = 8,
					 .value = UINT64_MAX };
	e = E(TRACE_EV_DECODE);
	e->time_ns = 2300;
	e->u.decode.len = 2;
	memcpy(e->u.decode.bytes, "\xee\x90", 2);
	e->u.decode.text = "out dx, al";
	e = E(TRACE_EV_DECODE);
	e->u.decode.len = 15;
	memset(e->u.decode.bytes, 0x66, 15);
	e->time_ns = 2301;
	e = E(TRACE_EV_INJECT);
	e->time_ns = 2400;
	e->u.inject = (typeof(e->u.inject)){ .type = TRACE_INJECT_EXCEPTION,
					     .vector = 14,
					     .has_error_code = true,
					     .error_code = 0xffffffff,
					     .point_kind = TRACE_POINT_EXIT,
					     .point = 12345 };
	e = E(TRACE_EV_INJECT);
	e->time_ns = 2400;
	e->u.inject = (typeof(e->u.inject)){ .type = TRACE_INJECT_EXTINT,
					     .vector = 0x20,
					     .point_kind = TRACE_POINT_ICOUNT,
					     .point = UINT64_MAX };
	e = E(TRACE_EV_DMA);
	e->time_ns = 2500;
	e->u.dma = (typeof(e->u.dma)){ .gpa = 0x7000,
				       .len = sizeof(blob),
				       .data = blob };
	e = E(TRACE_EV_CPUID);
	e->time_ns = 2600;
	e->u.cpuid =
	    (typeof(e->u.cpuid)){ 0x80000001, 0, 1, 2, 0xffffffff, 0x20100800 };
	e = E(TRACE_EV_MSR);
	e->time_ns = 2700;
	e->u.msr = (typeof(e->u.msr)){ .write = true,
				       .msr = 0xc0000080,
				       .value = 0x500 };
	e = E(TRACE_EV_TSC);
	e->time_ns = 2800;
	e->u.tsc.value = 123456789012ull;
	e = E(TRACE_EV_TSC);
	e->time_ns = 2800;
	e->u.tsc.value = 5; /* backwards */
	e = E(TRACE_EV_RANDOM);
	e->time_ns = 2900;
	e->u.random = (typeof(e->u.random)){ .rdseed = true,
					     .bytes = 8,
					     .value = 0xdeadbeefcafef00dull };
	e = E(TRACE_EV_INPUT);
	e->time_ns = 3000;
	e->u.input = (typeof(e->u.input)){ .source = 1,
					   .len = 3,
					   .data = (const uint8_t *)"ls\n" };
	e = E(TRACE_EV_REGS);
	e->vcpu = 1023;
	e->time_ns = 3100;
	e->u.regs.count = 3;
	e->u.regs.regs = regs3;
	e = E(TRACE_EV_REGS);
	e->vcpu = 1023;
	e->time_ns = 3100;
	e = E(TRACE_EV_CKPT_BEGIN);
	e->time_ns = 3200;
	e->u.ckpt_begin.id = 1;
	e->u.ckpt_begin.nvcpus = 2;
	e = E(TRACE_EV_CKPT_DEVICE);
	e->time_ns = 3201;
	e->u.ckpt_device = (typeof(e->u.ckpt_device)){ .name = "uart.com1",
						       .len = sizeof(blob),
						       .data = blob };
	e = E(TRACE_EV_CKPT_DEVICE);
	e->time_ns = 3201;
	e->u.ckpt_device.name = NULL; /* read back as "" */
	e = E(TRACE_EV_CKPT_PAGES);
	e->time_ns = 3202;
	e->u.ckpt_pages = (typeof(e->u.ckpt_pages)){ .gpa = 0x100000,
						     .npages = 2,
						     .data = page2 };
	e = E(TRACE_EV_CKPT_PAGES);
	e->time_ns = 3202;
	e->u.ckpt_pages.gpa = 0xfffffffffffff000ull;
	e = E(TRACE_EV_CKPT_END);
	e->time_ns = 3203;
	e->u.ckpt_end.id = 1;
	e = E(TRACE_EV_MARKER);
	e->time_ns = 3300;
	e->u.marker.text = "boot done: \"quotes\", tabs\t, UTF-8 \xc3\xa9";
	e = E(TRACE_EV_MARKER);
	e->time_ns = 3300;
	e = E(TRACE_EV_SCHED); /* 1.1: an extension event on disk */
	e->vcpu = 3;
	e->time_ns = 3301;
	e->u.sched.from = 0;
	e->u.sched.icount = 100000;
	e = E(TRACE_EV_SCHED);
	e->vcpu = 0;
	e->time_ns = 3301;
	e->u.sched.from = TRACE_MAX_VCPUS - 1;
	e->u.sched.icount = UINT64_MAX;
	e = E(TRACE_EV_END);
	e->time_ns = UINT64_MAX;
	e->u.end.status = -4;
	e = E(TRACE_EV_END);
	e->time_ns = 1;
	e->u.end.status = INT32_MIN;
#undef E
	return n;
}

static void
check_roundtrip(size_t frame_bytes)
{
	struct trace_event ev[64], rd;
	const char *path = tpath("kinds.rtr");
	size_t n = every_kind(ev);
	struct trace_writer *w = wopen(path, frame_bytes);
	struct trace_reader *r;
	struct trace_summary sum;
	uint64_t exits[1024] = { 0 };
	bool seen[TRACE_EV_KIND_MAX] = { false };
	char why[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(trace_write(w, &ev[i]), 0);
	CU_ASSERT_EQUAL(trace_writer_events(w), n);
	CU_ASSERT_PTR_NULL(trace_writer_error(w));
	CU_ASSERT_EQUAL(wclose(w), 0);

	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_TRUE(trace_has_footer(r));
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL_FATAL(trace_next(r, &rd), 1);
		CU_ASSERT_EQUAL(rd.index, i);
		if (!ev_match(&ev[i], &rd, 1, why, sizeof(why))) {
			printf("event %zu: %s\n", i, why);
			CU_FAIL("event differs");
		}
		if (rd.kind == TRACE_EV_EXIT)
			CU_ASSERT_EQUAL(rd.u.exit.exit_index, exits[rd.vcpu]++);
		seen[rd.kind] = true;
	}
	CU_ASSERT_EQUAL(trace_next(r, &rd), 0);
	CU_ASSERT_EQUAL(trace_next(r, &rd), 0);
	CU_ASSERT_PTR_NULL(trace_reader_damage(r));
	for (int k = 1; k < TRACE_EV_KIND_MAX; k++)
		CU_ASSERT_TRUE(seen[k]);
	CU_ASSERT_EQUAL(trace_summary(r, &sum), 0);
	CU_ASSERT_EQUAL(sum.events, n);
	CU_ASSERT_EQUAL(sum.per_kind[TRACE_EV_EXIT], 3);
	CU_ASSERT_EQUAL(sum.per_kind[TRACE_EV_PIO], 3);
	CU_ASSERT_EQUAL(sum.per_kind[TRACE_EV_END], 2);
	CU_ASSERT_EQUAL(sum.checkpoints, 1);
	CU_ASSERT_EQUAL(sum.first_ns, 1000);
	CU_ASSERT_EQUAL(sum.last_ns, 1);
	CU_ASSERT(sum.raw_bytes > 2 * TRACE_PAGE_SIZE);
	CU_ASSERT(sum.file_bytes > 0);
	if (frame_bytes == 1)
		CU_ASSERT_EQUAL(sum.frames, n);
	trace_close(r);
	unlink(path);
}

static void
test_every_kind(void)
{
	check_roundtrip(0);
}

static void
test_every_kind_tiny_frames(void)
{
	/* One event per frame: every delta starts from scratch. */
	check_roundtrip(1);
	check_roundtrip(100);
}

/* ---- many frames, big events, checkpoints across frames -------------- */

static void
test_multiframe(void)
{
	const char *path = tpath("multi.rtr");
	struct trace_writer *w = wopen(path, 512);
	struct trace_reader *r;
	struct trace_event ev, rd;
	struct trace_summary sum;
	static uint8_t pages[40 * TRACE_PAGE_SIZE];
	uint64_t i, n = 0, ckpt_at = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	for (i = 0; i < sizeof(pages); i++)
		pages[i] = (uint8_t)(i % 251);
	for (i = 0; i < 5000; i++) {
		ev = (struct trace_event){ .kind = TRACE_EV_EXIT,
					   .time_ns = 10 + i * 3 };
		ev.vcpu = i % 3;
		ev.u.exit.rip = 0x400000 + (i % 17) * 4;
		CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
		n++;
		if (i == 2500) {
			/* A checkpoint larger than a frame, spanning several.
			 */
			ckpt_at = n;
			ev = (struct trace_event){ .kind = TRACE_EV_CKPT_BEGIN,
						   .time_ns = 10 + i * 3 };
			ev.u.ckpt_begin.id = 7;
			CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
			ev.kind = TRACE_EV_CKPT_PAGES;
			ev.u.ckpt_pages.gpa = 0;
			ev.u.ckpt_pages.npages = 40;
			ev.u.ckpt_pages.data = pages;
			CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
			ev.kind = TRACE_EV_CKPT_DEVICE;
			ev.u.ckpt_device.name = "big";
			ev.u.ckpt_device.len = 3000;
			ev.u.ckpt_device.data = pages + 1;
			CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
			ev.kind = TRACE_EV_CKPT_END;
			ev.u.ckpt_end.id = 7;
			CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
			n += 4;
		}
	}
	CU_ASSERT_EQUAL(wclose(w), 0);

	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(trace_summary(r, &sum), 0);
	CU_ASSERT_EQUAL(sum.events, n);
	CU_ASSERT(sum.frames > 20);
	CU_ASSERT_EQUAL(sum.checkpoints, 1);
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL_FATAL(trace_next(r, &rd), 1);
		CU_ASSERT_EQUAL(rd.index, i);
		if (i == ckpt_at + 1) {
			CU_ASSERT_EQUAL(rd.kind, TRACE_EV_CKPT_PAGES);
			CU_ASSERT_EQUAL(rd.u.ckpt_pages.npages, 40);
			CU_ASSERT(rd.u.ckpt_pages.data &&
				  memcmp(rd.u.ckpt_pages.data, pages,
					 sizeof(pages)) == 0);
		}
		if (rd.kind == TRACE_EV_EXIT) {
			CU_ASSERT_EQUAL(rd.u.exit.rip,
					0x400000 +
					    ((rd.time_ns - 10) / 3 % 17) * 4);
			CU_ASSERT_EQUAL(rd.u.exit.exit_index,
					(rd.time_ns - 10) / 3 / 3);
		}
	}
	CU_ASSERT_EQUAL(trace_next(r, &rd), 0);
	trace_close(r);
	unlink(path);
}

/* ---- several producer threads ------------------------------------------ */

#define NTHREADS   4
#define PER_THREAD 20000

struct producer {
	struct trace_writer *w;
	uint32_t vcpu;
	int failures;
};

static void *
producer_main(void *arg)
{
	struct producer *p = arg;
	uint8_t b = (uint8_t)p->vcpu;

	for (uint64_t i = 0; i < PER_THREAD; i++) {
		struct trace_event ev = { .vcpu = p->vcpu };

		switch (i % 3) {
		case 0:
			ev.kind = TRACE_EV_EXIT;
			ev.u.exit.rip = 0x1000 * p->vcpu + i;
			ev.u.exit.info[0] = i; /* sequence */
			break;
		case 1:
			ev.kind = TRACE_EV_PIO;
			ev.u.pio = (typeof(ev.u.pio)){
				.port = 0x80, .bytes = 1, .count = 1, .data = &b
			};
			break;
		default:
			ev.kind = TRACE_EV_MMIO;
			ev.u.mmio = (typeof(ev.u.mmio)){ .gpa = 0xfee00000 +
								p->vcpu * 16,
							 .bytes = 4,
							 .value = i };
			break;
		}
		if (trace_write(p->w, &ev) != 0)
			p->failures++;
	}
	return NULL;
}

static void
test_threads(void)
{
	const char *path = tpath("threads.rtr");
	struct trace_writer_opts o = { .frame_bytes = 4096, .flush_ms = 5 };
	struct producer p[NTHREADS];
	pthread_t t[NTHREADS];
	struct trace_writer *w;
	struct trace_reader *r;
	struct trace_event rd;
	uint64_t next[NTHREADS] = { 0 }, exits[NTHREADS] = { 0 };
	uint64_t n = 0, last_ns = 0;
	bool order_ok = true, time_ok = true;
	char err[256];

	w = trace_writer_open(path, NULL, 0, &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	for (int i = 0; i < NTHREADS; i++) {
		p[i] = (struct producer){ w, (uint32_t)i * 5, 0 };
		pthread_create(&t[i], NULL, producer_main, &p[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(p[i].failures, 0);
	}
	CU_ASSERT_EQUAL(trace_writer_events(w), NTHREADS * PER_THREAD);
	CU_ASSERT_EQUAL(wclose(w), 0);

	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	while (trace_next(r, &rd) == 1) {
		uint32_t tid = rd.vcpu / 5;

		n++;
		/* The writer stamps times under its lock: never backwards. */
		if (rd.time_ns < last_ns)
			time_ok = false;
		last_ns = rd.time_ns;
		if (rd.vcpu % 5 || tid >= NTHREADS) {
			order_ok = false;
			continue;
		}
		/* Each producer's events keep their order. */
		if (rd.kind == TRACE_EV_EXIT) {
			if (rd.u.exit.info[0] != next[tid] ||
			    rd.u.exit.exit_index != exits[tid]++ ||
			    rd.u.exit.rip != 0x1000 * rd.vcpu + next[tid])
				order_ok = false;
		} else if (rd.kind == TRACE_EV_MMIO) {
			if (rd.u.mmio.value != next[tid] ||
			    rd.u.mmio.gpa != 0xfee00000 + rd.vcpu * 16)
				order_ok = false;
		}
		next[tid]++;
	}
	CU_ASSERT_TRUE(order_ok);
	CU_ASSERT_TRUE(time_ok);
	CU_ASSERT_EQUAL(n, NTHREADS * PER_THREAD);
	CU_ASSERT_PTR_NULL(trace_reader_damage(r));
	if (trace_reader_damage(r))
		printf("damage at %llu: %s\n",
		       (unsigned long long)trace_reader_damage(r)->offset,
		       trace_reader_damage(r)->what);
	trace_close(r);
	unlink(path);
}

/* ---- seeking ----------------------------------------------------------- */

static void
test_seek(void)
{
	const char *path = tpath("seek.rtr");
	struct trace_writer *w = wopen(path, 300);
	struct trace_reader *r;
	struct trace_event ev, rd;
	const uint64_t n = 3000;
	uint64_t ck;

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	for (uint64_t i = 0; i < n; i++) {
		ev = (struct trace_event){ .kind = TRACE_EV_MMIO,
					   .vcpu = (uint32_t)(i % 2),
					   .time_ns = 100 + i };
		ev.u.mmio.gpa = 0x1000 + (i % 7) * 8;
		ev.u.mmio.bytes = 8;
		ev.u.mmio.value = i;
		if (i % 10 == 0) {
			ev.kind = TRACE_EV_EXIT;
			ev.u.exit.rip = i * 16;
			ev.u.exit.info[0] = i;
		}
		if (i % 500 == 250) {
			ev.kind = TRACE_EV_CKPT_BEGIN;
			ev.u.ckpt_begin.id = i;
		}
		CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
	}
	CU_ASSERT_EQUAL(wclose(w), 0);
	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);

	rng_state = 42;
	for (int k = 0; k < 300; k++) {
		uint64_t i = rnd() % n;

		CU_ASSERT_EQUAL_FATAL(trace_seek(r, i), 0);
		CU_ASSERT_EQUAL_FATAL(trace_next(r, &rd), 1);
		CU_ASSERT_EQUAL(rd.index, i);
		CU_ASSERT_EQUAL(rd.time_ns, 100 + i);
		if (rd.kind == TRACE_EV_MMIO) {
			CU_ASSERT_EQUAL(rd.u.mmio.value, i);
			CU_ASSERT_EQUAL(rd.u.mmio.gpa, 0x1000 + (i % 7) * 8);
		} else if (rd.kind == TRACE_EV_EXIT) {
			CU_ASSERT_EQUAL(rd.u.exit.rip, i * 16);
			/* exit_index survives the seek (frame prologue). */
			CU_ASSERT_EQUAL(rd.u.exit.exit_index,
					i / 10 - (i + 249) / 500);
		}
		/* And reading on from there continues in order. */
		if (i + 1 < n) {
			CU_ASSERT_EQUAL(trace_next(r, &rd), 1);
			CU_ASSERT_EQUAL(rd.index, i + 1);
		}
	}
	/* The end, and beyond it. */
	CU_ASSERT_EQUAL(trace_seek(r, n), 0);
	CU_ASSERT_EQUAL(trace_next(r, &rd), 0);
	CU_ASSERT_EQUAL(trace_seek(r, n + 1), -1);
	CU_ASSERT_EQUAL(trace_seek(r, 0), 0);
	CU_ASSERT_EQUAL(trace_next(r, &rd), 1);
	CU_ASSERT_EQUAL(rd.index, 0);

	/* Checkpoints at 250, 750, ... */
	CU_ASSERT_EQUAL(trace_seek_checkpoint(r, 249, &ck), -1);
	CU_ASSERT_EQUAL(trace_seek_checkpoint(r, 250, &ck), 0);
	CU_ASSERT_EQUAL(ck, 250);
	CU_ASSERT_EQUAL(trace_next(r, &rd), 1);
	CU_ASSERT_EQUAL(rd.kind, TRACE_EV_CKPT_BEGIN);
	CU_ASSERT_EQUAL(rd.u.ckpt_begin.id, 250);
	CU_ASSERT_EQUAL(trace_seek_checkpoint(r, 1999, &ck), 0);
	CU_ASSERT_EQUAL(ck, 1750);
	CU_ASSERT_EQUAL(trace_next(r, &rd), 1);
	CU_ASSERT_EQUAL(rd.index, 1750);
	CU_ASSERT_EQUAL(trace_seek_checkpoint(r, UINT64_MAX, &ck), 0);
	CU_ASSERT_EQUAL(ck, 2750);
	trace_close(r);
	unlink(path);
}

/* ---- random streams (property test) ------------------------------------- */

struct rnd_ev {
	struct trace_event ev;
	uint8_t *data; /* owned copies the event points at */
	char *text;
	struct trace_reg *regs;
};

static char *
rnd_text(size_t max)
{
	size_t n = rnd() % (max + 1);
	char *s = malloc(n + 1);

	for (size_t i = 0; i < n; i++)
		s[i] = (char)(1 + rnd() % 255); /* any byte but NUL */
	s[n] = '\0';
	return s;
}

static uint8_t *
rnd_bytes(size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
	return b;
}

static void
rnd_event(struct rnd_ev *re)
{
	struct trace_event *e = &re->ev;
	static const uint8_t pio_sizes[] = { 1, 2, 4 };

	memset(re, 0, sizeof(*re));
	e->kind = 1 + rnd() % (TRACE_EV_KIND_MAX - 1);
	e->vcpu = rnd() % 4 ? rnd() % 4 : rnd() % TRACE_MAX_VCPUS;
	e->time_ns = rnd_u64();
	if (!e->time_ns)
		e->time_ns = 1;
	switch (e->kind) {
	case TRACE_EV_EXIT:
		e->u.exit.exitcode = rnd_u32();
		e->u.exit.rip =
		    rnd() % 2 ? rnd_u64() : 0xffffffff81000000ull + rnd() % 64;
		e->u.exit.inst_length = (uint8_t)rnd();
		for (int i = 0; i < 3; i++)
			e->u.exit.info[i] = rnd() % 2 ? rnd_u64() : 0;
		if (rnd() % 4 == 0)
			e->u.exit.msg = re->text = rnd_text(120);
		break;
	case TRACE_EV_PIO:
		e->u.pio.port = (uint16_t)(rnd() % 2 ? rnd() : 0x3f8);
		e->u.pio.bytes = pio_sizes[rnd() % 3];
		e->u.pio.in = rnd() % 2;
		e->u.pio.string = rnd() % 2;
		e->u.pio.rep = rnd() % 2;
		e->u.pio.count = rnd() % 3 ? 1 : (uint32_t)(rnd() % 300);
		e->u.pio.data = re->data =
		    rnd_bytes(e->u.pio.count * e->u.pio.bytes);
		break;
	case TRACE_EV_MMIO:
		e->u.mmio.gpa = rnd_u64();
		e->u.mmio.bytes = 1 + rnd() % 8;
		e->u.mmio.write = rnd() % 2;
		e->u.mmio.value = rnd_u64();
		break;
	case TRACE_EV_DECODE:
		e->u.decode.len = rnd() % 16;
		for (int i = 0; i < e->u.decode.len; i++)
			e->u.decode.bytes[i] = (uint8_t)rnd();
		if (rnd() % 2)
			e->u.decode.text = re->text = rnd_text(40);
		break;
	case TRACE_EV_INJECT:
		e->u.inject.type = (uint8_t)rnd();
		e->u.inject.vector = (uint8_t)rnd();
		e->u.inject.has_error_code = rnd() % 2;
		if (e->u.inject.has_error_code)
			e->u.inject.error_code = rnd_u32();
		e->u.inject.point_kind = (uint8_t)rnd();
		e->u.inject.point = rnd_u64();
		break;
	case TRACE_EV_DMA:
		e->u.dma.gpa = rnd_u64();
		e->u.dma.len = rnd() % 2000;
		e->u.dma.data = re->data = rnd_bytes(e->u.dma.len);
		break;
	case TRACE_EV_CPUID:
		e->u.cpuid =
		    (typeof(e->u.cpuid)){ rnd_u32(), rnd_u32(), rnd_u32(),
					  rnd_u32(), rnd_u32(), rnd_u32() };
		break;
	case TRACE_EV_MSR:
		e->u.msr.write = rnd() % 2;
		e->u.msr.msr = rnd_u32();
		e->u.msr.value = rnd_u64();
		break;
	case TRACE_EV_TSC:
		e->u.tsc.value = rnd_u64();
		break;
	case TRACE_EV_RANDOM:
		e->u.random.rdseed = rnd() % 2;
		e->u.random.bytes = (uint8_t)rnd();
		e->u.random.value = rnd_u64();
		break;
	case TRACE_EV_INPUT:
		e->u.input.source = rnd_u32();
		e->u.input.len = rnd() % 100;
		e->u.input.data = re->data = rnd_bytes(e->u.input.len);
		break;
	case TRACE_EV_REGS:
		e->u.regs.count = rnd() % 60;
		re->regs = calloc(e->u.regs.count + 1, sizeof(*re->regs));
		for (uint32_t i = 0; i < e->u.regs.count; i++)
			re->regs[i] =
			    (struct trace_reg){ rnd_u64(), rnd_u64() };
		e->u.regs.regs = re->regs;
		break;
	case TRACE_EV_CKPT_BEGIN:
		e->u.ckpt_begin.id = rnd_u64();
		e->u.ckpt_begin.nvcpus = rnd_u32();
		break;
	case TRACE_EV_CKPT_DEVICE:
		e->u.ckpt_device.name = re->text = rnd_text(30);
		e->u.ckpt_device.len = rnd() % 500;
		e->u.ckpt_device.data = re->data =
		    rnd_bytes(e->u.ckpt_device.len);
		break;
	case TRACE_EV_CKPT_PAGES:
		e->u.ckpt_pages.gpa =
		    rnd_u64() & ~(uint64_t)(TRACE_PAGE_SIZE - 1);
		e->u.ckpt_pages.npages = rnd() % 3;
		e->u.ckpt_pages.data = re->data =
		    rnd_bytes(e->u.ckpt_pages.npages * TRACE_PAGE_SIZE);
		break;
	case TRACE_EV_CKPT_END:
		e->u.ckpt_end.id = rnd_u64();
		break;
	case TRACE_EV_MARKER:
		e->u.marker.text = re->text = rnd_text(200);
		break;
	case TRACE_EV_END:
		e->u.end.status = (int32_t)rnd_u32();
		break;
	case TRACE_EV_SCHED:
		e->u.sched.from = rnd() % TRACE_MAX_VCPUS;
		e->u.sched.icount = rnd_u64();
		break;
	default:
		break;
	}
}

static void
random_stream(uint64_t seed, size_t n, size_t frame_bytes, uint32_t tick)
{
	const char *path = tpath("random.rtr");
	struct trace_writer_opts o = { .frame_bytes = frame_bytes,
				       .tick_ns = tick };
	struct rnd_ev *evs = calloc(n, sizeof(*evs));
	struct trace_writer *w;
	struct trace_reader *r;
	struct trace_event rd;
	struct trace_summary sum;
	uint64_t per_kind[TRACE_EV_KIND_MAX] = { 0 }, ckpts = 0;
	char err[256], why[128];
	size_t bad = 0;

	rng_state = seed;
	w = trace_writer_open(path, NULL, 0, &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	for (size_t i = 0; i < n; i++) {
		rnd_event(&evs[i]);
		per_kind[evs[i].ev.kind]++;
		ckpts += evs[i].ev.kind == TRACE_EV_CKPT_BEGIN;
		CU_ASSERT_EQUAL(trace_write(w, &evs[i].ev), 0);
	}
	CU_ASSERT_EQUAL(wclose(w), 0);

	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	for (size_t i = 0; i < n; i++) {
		if (trace_next(r, &rd) != 1) {
			CU_FAIL("trace ends early");
			break;
		}
		if (rd.index != i || !ev_match(&evs[i].ev, &rd, tick ? tick : 1,
					       why, sizeof(why))) {
			if (bad++ < 5)
				printf("seed %llu event %zu: %s\n",
				       (unsigned long long)seed, i, why);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(trace_next(r, &rd), 0);
	CU_ASSERT_EQUAL(trace_summary(r, &sum), 0);
	CU_ASSERT_EQUAL(sum.events, n);
	CU_ASSERT_EQUAL(sum.checkpoints, ckpts);
	CU_ASSERT(memcmp(sum.per_kind, per_kind, sizeof(per_kind)) == 0);

	/* Random seeks land on the right event. */
	for (int k = 0; k < 200; k++) {
		size_t i = rnd() % n;

		CU_ASSERT_EQUAL_FATAL(trace_seek(r, i), 0);
		CU_ASSERT_EQUAL_FATAL(trace_next(r, &rd), 1);
		CU_ASSERT_EQUAL(rd.index, i);
		CU_ASSERT_TRUE(ev_match(&evs[i].ev, &rd, tick ? tick : 1, why,
					sizeof(why)));
	}
	trace_close(r);
	unlink(path);
	for (size_t i = 0; i < n; i++) {
		free(evs[i].data);
		free(evs[i].text);
		free(evs[i].regs);
	}
	free(evs);
}

static void
test_random_streams(void)
{
	random_stream(1, 5000, 0, 0);
	random_stream(2, 5000, 1, 0);
	random_stream(3, 5000, 700, 0);
	random_stream(4, 5000, 64 << 10, 0);
	random_stream(5, 3000, 2000, 1000);
	random_stream(6, 3000, 3, 7);
}

/* ---- header ------------------------------------------------------------- */

static void
test_header(void)
{
	const char *path = tpath("header.rtr");
	struct trace_kv kv[] = {
		{ "trace.engine", "kvm" },
		{ "host.sysname", "Linux" },
		{ "config.lpc.com1.path", "back\\slash and\nnewline \\n" },
		{ "config.empty", "" },
		{ "config.null", NULL },
		{ "config.eq", "a=b=c" },
		{ "mem.0", "gpa=0x0 len=0xc0000000 \xe2\x9c\x93" },
		{ "trace.start_unix_ns", "1700000000000000000" },
	};
	const size_t n = sizeof(kv) / sizeof(kv[0]);
	struct trace_kv bad[] = { { "a=b", "x" } };
	struct trace_kv bad2[] = { { "a\nb", "x" } };
	struct trace_kv bad3[] = { { "", "x" } };
	struct trace_kv bad4[] = { { "trace.tick_ns", "5" } };
	struct trace_writer_opts o = { .tick_ns = 10 };
	const struct trace_kv *got;
	struct trace_writer *w;
	struct trace_reader *r;
	size_t count;
	int major, minor;
	char err[256];

	w = trace_writer_open(path, kv, n, &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(wclose(w), 0);
	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	got = trace_header(r, &count);
	/* The caller's pairs in order, then the writer's trace.tick_ns. */
	CU_ASSERT_EQUAL_FATAL(count, n + 1);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_STRING_EQUAL(got[i].key, kv[i].key);
		CU_ASSERT_STRING_EQUAL(got[i].value,
				       kv[i].value ? kv[i].value : "");
	}
	CU_ASSERT_STRING_EQUAL(trace_header_get(r, "config.lpc.com1.path"),
			       "back\\slash and\nnewline \\n");
	CU_ASSERT_STRING_EQUAL(trace_header_get(r, "trace.tick_ns"), "10");
	CU_ASSERT_STRING_EQUAL(trace_header_get(r, "trace.start_unix_ns"),
			       "1700000000000000000");
	CU_ASSERT_PTR_NULL(trace_header_get(r, "nope"));
	trace_version(r, &major, &minor);
	CU_ASSERT_EQUAL(major, TRACE_VERSION_MAJOR);
	CU_ASSERT_EQUAL(minor, TRACE_VERSION_MINOR);
	trace_close(r);

	/* Without trace.start_unix_ns the writer adds one. */
	w = trace_writer_open(path, kv, 2, NULL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(wclose(w), 0);
	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL(trace_header_get(r, "trace.start_unix_ns"));
	CU_ASSERT_STRING_EQUAL(trace_header_get(r, "trace.tick_ns"), "1");
	trace_close(r);

	CU_ASSERT_PTR_NULL(
	    trace_writer_open(path, bad, 1, NULL, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad header key"));
	CU_ASSERT_PTR_NULL(
	    trace_writer_open(path, bad2, 1, NULL, err, sizeof(err)));
	CU_ASSERT_PTR_NULL(
	    trace_writer_open(path, bad3, 1, NULL, err, sizeof(err)));
	/* trace.tick_ns from the caller: a number, and as the options say. */
	CU_ASSERT_PTR_NULL(
	    trace_writer_open(path, bad4, 1, &o, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "trace.tick_ns"));
	bad4[0].value = "x";
	CU_ASSERT_PTR_NULL(
	    trace_writer_open(path, bad4, 1, NULL, err, sizeof(err)));
	bad4[0].value = "5";
	w = trace_writer_open(path, bad4, 1, NULL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(wclose(w), 0);
	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	trace_header(r, &count);
	CU_ASSERT_EQUAL(count, 2); /* trace.tick_ns=5, trace.start_unix_ns */
	CU_ASSERT_STRING_EQUAL(trace_header_get(r, "trace.tick_ns"), "5");
	trace_close(r);
	CU_ASSERT_PTR_NULL(trace_writer_open(tpath("no/such/dir"), NULL, 0,
					     NULL, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
	unlink(path);
}

/* Patch the file's bytes [off, off+len) and, if asked, fix the header crc. */
static void
patch(const char *path, long off, const void *bytes, size_t len,
      bool fix_header_crc)
{
	int fd = open(path, O_RDWR);
	uint8_t hdr[16], *body;
	uint32_t body_len, crc;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, bytes, len, off), (ssize_t)len);
	if (fix_header_crc) {
		CU_ASSERT_EQUAL(pread(fd, hdr, 16, 0), 16);
		body_len = hdr[12] | hdr[13] << 8 | hdr[14] << 16 |
			   (uint32_t)hdr[15] << 24;
		body = malloc(body_len + 4);
		CU_ASSERT_EQUAL(pread(fd, body, body_len, 16),
				(ssize_t)body_len);
		crc = (uint32_t)crc32(crc32(0, hdr, 16), body, body_len);
		for (int i = 0; i < 4; i++)
			body[i] = (uint8_t)(crc >> (8 * i));
		CU_ASSERT_EQUAL(pwrite(fd, body, 4, 16 + body_len), 4);
		free(body);
	}
	close(fd);
}

static void
test_version(void)
{
	const char *path = tpath("version.rtr");
	struct trace_writer *w = wopen(path, 0);
	struct trace_event ev = { .kind = TRACE_EV_MARKER, .time_ns = 5 };
	struct trace_reader *r;
	int major, minor;
	char err[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	ev.u.marker.text = "hello";
	CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
	CU_ASSERT_EQUAL(wclose(w), 0);

	/* A newer minor version reads (the crc must match it). */
	patch(path, 10, "\x07\x00", 2, true);
	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	trace_version(r, &major, &minor);
	CU_ASSERT_EQUAL(major, 1);
	CU_ASSERT_EQUAL(minor, 7);
	CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
	CU_ASSERT_STRING_EQUAL(ev.u.marker.text, "hello");
	trace_close(r);

	/* Another major is refused, crc or not, with a clear message. */
	patch(path, 8, "\x02\x00", 2, false);
	r = trace_open(path, err, sizeof(err));
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_STRING_EQUAL(
	    err, "unsupported trace format version 2.7 (this rhyve reads 1.x)");
	patch(path, 8, "\x00\x00", 2, true);
	CU_ASSERT_PTR_NULL(trace_open(path, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "version 0.7"));

	/* Not a trace at all. */
	patch(path, 0, "RHYVETRX", 8, false);
	CU_ASSERT_PTR_NULL(trace_open(path, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a rhyve trace"));
	unlink(path);
}

/* ---- the writer refuses bad events but goes on ------------------------- */

static void
test_bad_events(void)
{
	const char *path = tpath("bad.rtr");
	struct trace_writer *w = wopen(path, 0);
	struct trace_event ev;
	struct trace_reader *r;
	uint8_t b = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	ev = (struct trace_event){ .kind = 0 };
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	ev = (struct trace_event){ .kind = TRACE_EV_KIND_MAX };
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1);
	ev = (struct trace_event){ .kind = TRACE_EV_EXIT,
				   .vcpu = TRACE_MAX_VCPUS };
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1);
	ev = (struct trace_event){ .kind = TRACE_EV_PIO };
	ev.u.pio = (typeof(ev.u.pio)){ .bytes = 3, .count = 1, .data = &b };
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1);
	ev.u.pio = (typeof(ev.u.pio)){ .bytes = 1, .count = 1, .data = NULL };
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1);
	ev = (struct trace_event){ .kind = TRACE_EV_MMIO };
	ev.u.mmio.bytes = 9;
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1);
	ev = (struct trace_event){ .kind = TRACE_EV_DECODE };
	ev.u.decode.len = 16;
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1);
	ev = (struct trace_event){ .kind = TRACE_EV_CKPT_PAGES };
	ev.u.ckpt_pages = (typeof(ev.u.ckpt_pages)){ .gpa = 0x1001,
						     .npages = 1,
						     .data = page2 };
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1);
	ev.u.ckpt_pages = (typeof(ev.u.ckpt_pages)){ .gpa = 0,
						     .npages = 1 << 20,
						     .data = page2 };
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1); /* 4 GiB: split it */
	ev = (struct trace_event){ .kind = TRACE_EV_REGS };
	ev.u.regs.count = TRACE_MAX_REGS + 1;
	ev.u.regs.regs = regs3;
	CU_ASSERT_EQUAL(trace_write(w, &ev), -1);
	CU_ASSERT_EQUAL(trace_write(NULL, &ev), -1);
	CU_ASSERT_EQUAL(trace_write(w, NULL), -1);
	/* None of that stopped the recording. */
	CU_ASSERT_PTR_NULL(trace_writer_error(w));
	ev = (struct trace_event){ .kind = TRACE_EV_END, .time_ns = 9 };
	CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
	CU_ASSERT_EQUAL(trace_writer_events(w), 1);
	CU_ASSERT_EQUAL(wclose(w), 0);
	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
	CU_ASSERT_EQUAL(ev.kind, TRACE_EV_END);
	CU_ASSERT_EQUAL(trace_next(r, &ev), 0);
	trace_close(r);
	unlink(path);
}

/* ---- time ------------------------------------------------------------- */

static void
test_time(void)
{
	const char *path = tpath("time.rtr");
	struct trace_writer_opts o = { .tick_ns = 1000 };
	struct trace_event ev = { .kind = TRACE_EV_TSC };
	struct trace_writer *w;
	struct trace_reader *r;
	uint64_t prev = 0;
	char err[256];

	w = trace_writer_open(path, NULL, 0, &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	ev.time_ns = 123456789;
	CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
	ev.time_ns = 999;
	CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
	ev.time_ns = 0; /* the writer's clock */
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(trace_write(w, &ev), 0);
	CU_ASSERT_EQUAL(wclose(w), 0);
	r = unit_trace_open(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
	CU_ASSERT_EQUAL(ev.time_ns, 123456000); /* rounded down to ticks */
	CU_ASSERT_EQUAL(trace_next(r, &ev), 1);
	CU_ASSERT_EQUAL(ev.time_ns, 0);
	while (trace_next(r, &ev) == 1) {
		CU_ASSERT(ev.time_ns >= prev);
		CU_ASSERT(ev.time_ns < 60000000000ull);
		CU_ASSERT_EQUAL(ev.time_ns % 1000, 0);
		prev = ev.time_ns;
	}
	trace_close(r);
	o.tick_ns = 2000000000u;
	CU_ASSERT_PTR_NULL(
	    trace_writer_open(path, NULL, 0, &o, err, sizeof(err)));
	unlink(path);
}

/* ---- kind names ------------------------------------------------------- */

static void
test_kind_names(void)
{
	for (int k = 1; k < TRACE_EV_KIND_MAX; k++)
		CU_ASSERT_EQUAL((int)trace_kind_from_name(trace_kind_name(k)),
				k);
	CU_ASSERT_STRING_EQUAL(trace_kind_name(TRACE_EV_EXIT), "exit");
	CU_ASSERT_STRING_EQUAL(trace_kind_name(TRACE_EV_CKPT_BEGIN),
			       "ckpt_begin");
	CU_ASSERT_EQUAL(trace_kind_from_name("CKPT-Begin"),
			TRACE_EV_CKPT_BEGIN);
	CU_ASSERT_EQUAL(trace_kind_from_name("nope"), 0);
	CU_ASSERT_EQUAL(trace_kind_from_name(""), 0);
	CU_ASSERT_EQUAL(trace_kind_from_name(NULL), 0);
	CU_ASSERT_STRING_EQUAL(trace_kind_name(0), "unknown");
	CU_ASSERT_STRING_EQUAL(trace_kind_name(TRACE_EV_KIND_MAX), "unknown");
}

static CU_TestInfo trace_tests[] = {
	{ "every event kind round trips", test_every_kind },
	{ "every kind with one event per frame", test_every_kind_tiny_frames },
	{ "many frames, checkpoint spanning frames", test_multiframe },
	{ "several producer threads", test_threads },
	{ "seek by index and to checkpoints", test_seek },
	{ "random event streams", test_random_streams },
	{ "header key=value round trip", test_header },
	{ "format version check", test_version },
	{ "bad events refused, recording goes on", test_bad_events },
	{ "time ticks and the writer's clock", test_time },
	{ "kind names", test_kind_names },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "trace", trace_tests },
	{ NULL, NULL },
};
