/*
 * mktrace: write the small deterministic trace the rhyvetrace tests run
 * against.  Every event kind, two vCPUs, a checkpoint, markers, strings
 * that need escaping, and small frames so that there are several of them
 * to damage.
 *
 *	mktrace [--change] [--short] [--no-footer] [--no-decode]
 *	    [--name N] [--slow] OUT
 *
 * --change    vCPU 0's exit #42 (event 264) has rip 0x100044, not 0x100040
 * --short     stop after loop iteration 50 (no tail events, no END)
 * --no-footer flush and leave without closing: a trace with no footer
 * --no-decode no DECODE events at all
 * --name N    config.name=N in the header (default mkvm)
 * --slow      600 ns between events instead of 500
 *
 * The layout (the test script relies on it):
 *   0..6    checkpoint 1 (BEGIN, REGS vcpu0, REGS vcpu1, DEVICE, PAGES,
 *           END) and MARKER "boot"
 *   then 100 iterations i, each: vcpu0 EXIT inout rip 0x100040, DECODE
 *           ee, PIO out 0x3f8 'A'+i%26; vcpu1 EXIT mmio rip 0x200010,
 *           DECODE 8b 03, MMIO read 0xfee00030 -> 0x50014; and after
 *           i % 10 == 0 an INJECT extint 0x20 on vcpu0
 *   then the tail: HLT exit + DECODE f4, DMA, CPUID, MSR, TSC, RANDOM,
 *           INPUT, INJECT exception 14, MARKER, ENGINE_ERROR exit,
 *           SUSPENDED exit, END.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"
#include "vmm.h"

#define ITERATIONS 100

static struct trace_writer *w;
static uint64_t now = 1000, step = 500;
static bool no_decode;

static void
put(struct trace_event *ev)
{
	ev->time_ns = now;
	now += step;
	if (trace_write(w, ev) != 0) {
		fprintf(stderr, "mktrace: %s\n", trace_writer_error(w));
		exit(1);
	}
}

static void
ev_init(struct trace_event *ev, enum trace_kind kind, uint32_t vcpu)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->vcpu = vcpu;
}

static void
put_exit(uint32_t vcpu, uint32_t code, uint64_t rip, uint8_t len,
	 const char *msg, uint64_t info0, uint64_t info1)
{
	struct trace_event ev;

	ev_init(&ev, TRACE_EV_EXIT, vcpu);
	ev.u.exit.exitcode = code;
	ev.u.exit.rip = rip;
	ev.u.exit.inst_length = len;
	ev.u.exit.msg = msg;
	ev.u.exit.info[0] = info0;
	ev.u.exit.info[1] = info1;
	put(&ev);
}

static void
put_decode(uint32_t vcpu, const uint8_t *bytes, uint8_t len)
{
	struct trace_event ev;

	if (no_decode)
		return;
	ev_init(&ev, TRACE_EV_DECODE, vcpu);
	ev.u.decode.len = len;
	memcpy(ev.u.decode.bytes, bytes, len);
	put(&ev);
}

/* Long mode, 64-bit code: what disasm reads the CPU mode from. */
static void
put_regs(uint32_t vcpu)
{
	struct trace_reg regs[] = {
		{ VM_REG_GUEST_RAX, 0x1234 + vcpu },
		{ VM_REG_GUEST_RIP, 0x100000 },
		{ VM_REG_GUEST_CR0, 0x80000011 },
		{ VM_REG_GUEST_EFER, 0x500 },
		{ TRACE_REG_SEG_ACCESS(VM_REG_GUEST_CS), 0xa09b },
		{ TRACE_REG_SEG_BASE(VM_REG_GUEST_CS), 0 },
		{ TRACE_REG_MSR(0xc0000080), 0x500 },
	};
	struct trace_event ev;

	ev_init(&ev, TRACE_EV_REGS, vcpu);
	ev.u.regs.count = sizeof(regs) / sizeof(regs[0]);
	ev.u.regs.regs = regs;
	put(&ev);
}

int
main(int argc, char **argv)
{
	struct trace_kv header[] = {
		{ "trace.engine", "kvm" },
		{ "host.cpu", "mktrace" },
		{ "config.name", "mkvm" },
		{ "config.cpus", "2" },
		{ "config.memory.size", "64M" },
		{ "config.lpc.com1.path", "stdio" },
		{ "mem.0", "0x0-0x4000000 sysmem" },
	};
	static const uint8_t out_al[] = { 0xee }, mov[] = { 0x8b, 0x03 },
			     hlt[] = { 0xf4 };
	static uint8_t pages[2 * 4096], blob[16], dma[8];
	struct trace_writer_opts opts = { .frame_bytes = 1024 };
	struct trace_event ev;
	bool change = false, shorter = false, no_footer = false;
	const char *out = NULL;
	char err[256];
	uint8_t pio;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--change") == 0)
			change = true;
		else if (strcmp(argv[i], "--short") == 0)
			shorter = true;
		else if (strcmp(argv[i], "--no-footer") == 0)
			no_footer = true;
		else if (strcmp(argv[i], "--no-decode") == 0)
			no_decode = true;
		else if (strcmp(argv[i], "--slow") == 0)
			step = 600;
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			header[2].value = argv[++i];
		else if (argv[i][0] != '-' && out == NULL)
			out = argv[i];
		else
			out = NULL, i = argc;
	}
	if (out == NULL) {
		fprintf(stderr, "usage: mktrace [--change] [--short] "
				"[--no-footer] [--no-decode] [--name N] "
				"[--slow] OUT\n");
		return 2;
	}
	w = trace_writer_open(out, header, sizeof(header) / sizeof(header[0]),
			      &opts, err, sizeof(err));
	if (w == NULL) {
		fprintf(stderr, "mktrace: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(dma); i++)
		dma[i] = (uint8_t)(0xd0 + i);

	/* 0..6: the initial checkpoint and a marker */
	ev_init(&ev, TRACE_EV_CKPT_BEGIN, 0);
	ev.u.ckpt_begin.id = 1;
	ev.u.ckpt_begin.nvcpus = 2;
	put(&ev);
	put_regs(0);
	put_regs(1);
	ev_init(&ev, TRACE_EV_CKPT_DEVICE, 0);
	ev.u.ckpt_device.name = "uart0";
	ev.u.ckpt_device.len = sizeof(blob);
	ev.u.ckpt_device.data = blob;
	put(&ev);
	ev_init(&ev, TRACE_EV_CKPT_PAGES, 0);
	ev.u.ckpt_pages.gpa = 0x100000;
	ev.u.ckpt_pages.npages = 2;
	ev.u.ckpt_pages.data = pages;
	put(&ev);
	ev_init(&ev, TRACE_EV_CKPT_END, 0);
	ev.u.ckpt_end.id = 1;
	put(&ev);
	ev_init(&ev, TRACE_EV_MARKER, 0);
	ev.u.marker.text = "boot";
	put(&ev);

	for (int i = 0; i < ITERATIONS; i++) {
		put_exit(0, VM_EXITCODE_INOUT,
			 change && i == 42 ? 0x100044 : 0x100040, 1, NULL, 0,
			 0);
		put_decode(0, out_al, 1);
		pio = (uint8_t)('A' + i % 26);
		ev_init(&ev, TRACE_EV_PIO, 0);
		ev.u.pio.port = 0x3f8;
		ev.u.pio.bytes = 1;
		ev.u.pio.count = 1;
		ev.u.pio.data = &pio;
		put(&ev);

		put_exit(1, VM_EXITCODE_MMIO, 0x200010, 2, NULL, 0, 0);
		put_decode(1, mov, 2);
		ev_init(&ev, TRACE_EV_MMIO, 1);
		ev.u.mmio.gpa = 0xfee00030;
		ev.u.mmio.bytes = 4;
		ev.u.mmio.value = 0x50014;
		put(&ev);

		if (i % 10 == 0) {
			ev_init(&ev, TRACE_EV_INJECT, 0);
			ev.u.inject.type = TRACE_INJECT_EXTINT;
			ev.u.inject.vector = 0x20;
			ev.u.inject.point_kind = TRACE_POINT_EXIT;
			ev.u.inject.point = (uint64_t)i + 1;
			put(&ev);
		}
		if (shorter && i == 50)
			goto done;
	}

	put_exit(0, VM_EXITCODE_HLT, 0x100050, 1, NULL, 0x202, 0);
	put_decode(0, hlt, 1);
	ev_init(&ev, TRACE_EV_DMA, 1);
	ev.u.dma.gpa = 0x300000;
	ev.u.dma.len = sizeof(dma);
	ev.u.dma.data = dma;
	put(&ev);
	ev_init(&ev, TRACE_EV_CPUID, 1);
	ev.u.cpuid.leaf = 1;
	ev.u.cpuid.eax = 0x906ea;
	ev.u.cpuid.ebx = 0x10800;
	ev.u.cpuid.ecx = 0xfeda3203;
	ev.u.cpuid.edx = 0x178bfbff;
	put(&ev);
	ev_init(&ev, TRACE_EV_MSR, 0);
	ev.u.msr.msr = 0xc0000080;
	ev.u.msr.value = 0x500;
	put(&ev);
	ev_init(&ev, TRACE_EV_TSC, 0);
	ev.u.tsc.value = 123456789;
	put(&ev);
	ev_init(&ev, TRACE_EV_RANDOM, 1);
	ev.u.random.bytes = 8;
	ev.u.random.value = 0x0123456789abcdefULL;
	put(&ev);
	ev_init(&ev, TRACE_EV_INPUT, 0);
	ev.u.input.source = 0;
	ev.u.input.len = 3;
	ev.u.input.data = (const uint8_t *)"hi\n";
	put(&ev);
	ev_init(&ev, TRACE_EV_INJECT, 0);
	ev.u.inject.type = TRACE_INJECT_EXCEPTION;
	ev.u.inject.vector = 14;
	ev.u.inject.has_error_code = true;
	ev.u.inject.error_code = 2;
	ev.u.inject.point_kind = TRACE_POINT_ICOUNT;
	ev.u.inject.point = 12345;
	put(&ev);
	/* Quotes, a backslash, a control character and UTF-8 for JSON. */
	ev_init(&ev, TRACE_EV_MARKER, 1);
	ev.u.marker.text = "done \"q\" \\ \x01 \xc3\xbc";
	put(&ev);
	put_exit(1, VM_EXITCODE_ENGINE_ERROR, 0x200020, 0,
		 "KVM_RUN: \"internal\" error", 17, 3);
	put_exit(0, VM_EXITCODE_SUSPENDED, 0x100051, 0, NULL,
		 VM_SUSPEND_POWEROFF, 0);
	ev_init(&ev, TRACE_EV_END, 0);
	ev.u.end.status = 1;
	put(&ev);

done:
	if (no_footer) {
		/* A recorder that died: frames on disk, no footer. */
		if (trace_writer_flush(w) != 0) {
			fprintf(stderr, "mktrace: %s\n", trace_writer_error(w));
			return 1;
		}
		_exit(0);
	}
	if (trace_writer_close(w, err, sizeof(err)) != 0) {
		fprintf(stderr, "mktrace: %s\n", err);
		return 1;
	}
	return 0;
}
