/* The synthetic event stream of synth.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

enum synth_pending {
	PEND_NONE,
	PEND_ACCESS, /* next_access is due */
	PEND_CKPT,   /* a checkpoint is being emitted */
};

/* enum vm_exitcode values (kmod/vmm.h); the trace stores them as is. */
#define EXITCODE_INOUT 0
#define EXITCODE_MMIO  1
#define EXITCODE_HLT   2

const struct trace_kv synth_header[] = {
	{ "trace.engine", "kvm" },
	{ "trace.generator", "gen_trace" },
	{ "host.cpu", "synthetic" },
	{ "config.name", "synth" },
	{ "config.memory.size", "64M" },
	{ "config.lpc.com1.path", "stdio" },
	{ "mem.0", "0x0-0x4000000 sysmem" },
};
const size_t synth_nheader = sizeof(synth_header) / sizeof(synth_header[0]);

static uint64_t
rnd(struct synth *s)
{
	/* xorshift64* */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1DULL;
}

/* A uniform value in [0, n). */
static unsigned
below(struct synth *s, unsigned n)
{
	return (unsigned)(((rnd(s) >> 32) * n) >> 32);
}

void
synth_init(struct synth *s, const struct synth_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = *o;
	if (s->o.vcpus == 0)
		s->o.vcpus = 1;
	if (s->o.vcpus > SYNTH_MAX_VCPUS)
		s->o.vcpus = SYNTH_MAX_VCPUS;
	if (s->o.ckpt_every == 0)
		s->o.ckpt_every = 50000;
	/* splitmix64 of the seed, never 0 */
	s->rng = o->seed + 0x9E3779B97F4A7C15ULL;
	s->rng = (s->rng ^ (s->rng >> 30)) * 0xBF58476D1CE4E5B9ULL;
	s->rng = (s->rng ^ (s->rng >> 27)) * 0x94D049BB133111EBULL;
	s->rng ^= s->rng >> 31;
	if (s->rng == 0)
		s->rng = 1;
	s->now_ns = 1000;
	s->next_ckpt = s->o.checkpoints ? 0 : UINT64_MAX;
	s->next_marker = s->o.marker_every ? s->o.marker_every : UINT64_MAX;
}

static const char guest_text[] =
    "rhyve synthetic guest: hello from the serial console, "
    "counting exits and sleeping in between.\r\n";

/* Guest time from an exit at 'rip' to the next exit, jitter aside. */
static uint64_t
path_ns(uint64_t rip)
{
	switch (rip) {
	case 0x100a3c: /* UART THR write, then the next character */
		return 1800;
	case 0x100a29: /* LSR poll */
		return 1400;
	case 0x100b10:
		return 2600;
	case 0x100b2c:
		return 1100;
	case 0x101400: /* EOI */
		return 2000;
	default: /* APIC register reads */
		return 2400 + (rip & 0xff) * 4;
	}
}

static void
make_exit(struct synth *s, struct trace_event *ev)
{
	static const uint64_t pio_rip[] = { 0x100a3c, 0x100a29, 0x100b10,
					    0x100b2c };
	static const uint16_t mmio_off[] = { 0x20, 0x30, 0x390, 0x300 };
	static const uint64_t mmio_rip[] = { 0x101200, 0x101208, 0x101310,
					     0x101318, 0x101400 };
	uint32_t vcpu = s->o.only_vcpu >= 0 ? (uint32_t)s->o.only_vcpu
					    : below(s, s->o.vcpus);
	struct trace_event *a = &s->next_access;
	unsigned r = below(s, 100), k;

	memset(ev, 0, sizeof(*ev));
	ev->kind = TRACE_EV_EXIT;
	ev->vcpu = vcpu;
	memset(a, 0, sizeof(*a));
	a->vcpu = vcpu;
	s->exits++;
	if (r < 70) {
		/* port I/O: mostly UART output, some LSR polls */
		ev->u.exit.exitcode = EXITCODE_INOUT;
		ev->u.exit.inst_length = 1;
		a->kind = TRACE_EV_PIO;
		a->u.pio.bytes = 1;
		a->u.pio.count = 1;
		a->u.pio.data = s->pio_data;
		k = below(s, 100);
		if (k < 55) {
			unsigned *p = &s->text_pos[vcpu];

			a->u.pio.port = 0x3f8;
			s->pio_data[0] = (uint8_t)guest_text[*p];
			*p = (*p + 1) % (sizeof(guest_text) - 1);
			ev->u.exit.rip = pio_rip[0];
		} else if (k < 80) {
			a->u.pio.port = 0x3fd;
			a->u.pio.in = true;
			s->pio_data[0] = 0x60;
			ev->u.exit.rip = pio_rip[1];
		} else if (k < 90) {
			a->u.pio.port = 0xe0;
			s->pio_data[0] = (uint8_t)(s->exits >> 4);
			ev->u.exit.rip = pio_rip[2];
		} else {
			a->u.pio.port = 0x80;
			s->pio_data[0] = (uint8_t)below(s, 4);
			ev->u.exit.rip = pio_rip[3];
		}
	} else if (r < 95) {
		/* local APIC: register reads, EOI writes */
		ev->u.exit.exitcode = EXITCODE_MMIO;
		a->kind = TRACE_EV_MMIO;
		a->u.mmio.bytes = 4;
		k = below(s, 10);
		if (k == 0) {
			a->u.mmio.gpa = 0xfee000b0;
			a->u.mmio.write = true;
			a->u.mmio.value = 0;
			ev->u.exit.rip = mmio_rip[4];
			ev->u.exit.inst_length = 6;
		} else {
			k = below(s, 4);
			a->u.mmio.gpa = 0xfee00000 + mmio_off[k];
			ev->u.exit.rip = mmio_rip[k];
			ev->u.exit.inst_length = 6;
			switch (k) {
			case 0:
				a->u.mmio.value = (uint64_t)vcpu << 24;
				break;
			case 1:
				a->u.mmio.value = 0x50014;
				break;
			case 2:
				a->u.mmio.value =
				    0x100000 -
				    (uint32_t)((s->now_ns / 64) & 0xfffff);
				break;
			default:
				a->u.mmio.value = 0x000c4500 | (vcpu & 0xff);
				break;
			}
		}
	} else {
		ev->u.exit.exitcode = EXITCODE_HLT;
		ev->u.exit.rip = 0x100f00;
		ev->u.exit.inst_length = 1;
	}
	/* the time since the previous exit, by the code path before it */
	if (s->o.time_model == SYNTH_TIME_UNIFORM) {
		s->now_ns += 1000 + below(s, 9001);
	} else {
		s->now_ns += path_ns(s->prev_rip) + below(s, 256);
		if (s->prev_rip == 0x100f00)
			s->now_ns += 1000 + below(s, 19001); /* a HLT */
	}
	s->prev_rip = ev->u.exit.rip;
	/* The recorder stamps an exit's access with the exit's time. */
	ev->time_ns = a->time_ns = s->now_ns;
	if (s->o.real_time)
		ev->time_ns = a->time_ns = 0;
	if (ev->u.exit.exitcode != EXITCODE_HLT)
		s->pending = PEND_ACCESS;
}

/* One step of a checkpoint: BEGIN, REGS per vCPU, DEVICEs, PAGES, END. */
static void
make_ckpt(struct synth *s, struct trace_event *ev)
{
	unsigned step = s->ckpt_step++;
	unsigned nvcpus = s->o.only_vcpu >= 0 ? 1 : s->o.vcpus;
	unsigned ndev = 2;

	memset(ev, 0, sizeof(*ev));
	ev->time_ns = s->o.real_time ? 0 : s->now_ns;
	ev->vcpu = s->o.only_vcpu >= 0 ? (uint32_t)s->o.only_vcpu : 0;
	if (step == 0) {
		s->ckpt_id++;
		/* the first holds more memory (the initial image) */
		s->ckpt_pages_left = s->ckpt_id == 1 ? 6 : 2 + below(s, 3);
		ev->kind = TRACE_EV_CKPT_BEGIN;
		ev->u.ckpt_begin.id = s->ckpt_id;
		ev->u.ckpt_begin.nvcpus = nvcpus;
		return;
	}
	step--;
	if (step < nvcpus) {
		uint32_t v =
		    s->o.only_vcpu >= 0 ? (uint32_t)s->o.only_vcpu : step;

		ev->kind = TRACE_EV_REGS;
		ev->vcpu = v;
		for (unsigned i = 0; i < SYNTH_NREGS; i++) {
			s->regs[i].id = i < 30 ? i : TRACE_REG_SEG_BASE(i - 30);
			s->regs[i].value =
			    i == 0 ? s->now_ns : (uint64_t)(i * 0x1000 + v);
		}
		s->regs[1].value = rnd(s);
		ev->u.regs.count = SYNTH_NREGS;
		ev->u.regs.regs = s->regs;
		return;
	}
	step -= nvcpus;
	if (step < ndev) {
		uint32_t len = step == 0 ? 64 : 256;

		for (uint32_t i = 0; i < len; i++)
			s->blob[i] = (uint8_t)(i * 7 + s->ckpt_id);
		s->blob[0] = (uint8_t)rnd(s);
		ev->kind = TRACE_EV_CKPT_DEVICE;
		ev->u.ckpt_device.name = step == 0 ? "uart0" : "lapic0";
		ev->u.ckpt_device.len = len;
		ev->u.ckpt_device.data = s->blob;
		return;
	}
	if (s->ckpt_pages_left > 0) {
		uint32_t np = 1 + below(s, SYNTH_PAGES);

		s->ckpt_pages_left--;
		/* mostly zero pages with some code/data-looking bytes */
		memset(s->pages, 0, np * 4096);
		for (uint32_t i = 0; i < np * 4096; i += 1 + below(s, 512))
			s->pages[i] = (uint8_t)rnd(s);
		ev->kind = TRACE_EV_CKPT_PAGES;
		ev->u.ckpt_pages.gpa = 0x100000 + 0x1000 * below(s, 1024);
		ev->u.ckpt_pages.npages = np;
		ev->u.ckpt_pages.data = s->pages;
		return;
	}
	ev->kind = TRACE_EV_CKPT_END;
	ev->u.ckpt_end.id = s->ckpt_id;
	s->pending = PEND_NONE;
	s->ckpt_step = 0;
	s->next_ckpt = s->emitted + 1 + s->o.ckpt_every;
}

void
synth_next(struct synth *s, struct trace_event *ev)
{
	if (s->pending == PEND_ACCESS) {
		*ev = s->next_access;
		s->pending = PEND_NONE;
	} else if (s->pending == PEND_CKPT || s->emitted >= s->next_ckpt) {
		s->pending = PEND_CKPT;
		make_ckpt(s, ev);
	} else if (s->emitted >= s->next_marker) {
		memset(ev, 0, sizeof(*ev));
		ev->kind = TRACE_EV_MARKER;
		ev->vcpu = s->o.only_vcpu >= 0 ? (uint32_t)s->o.only_vcpu : 0;
		ev->time_ns = s->o.real_time ? 0 : s->now_ns;
		snprintf(s->text, sizeof(s->text), "synthetic marker %llu",
			 (unsigned long long)s->emitted);
		ev->u.marker.text = s->text;
		s->next_marker = s->emitted + s->o.marker_every;
	} else {
		make_exit(s, ev);
	}
	s->emitted++;
}

/* ---- comparison and copies ------------------------------------------ */

static int
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b || (a == NULL && b[0] == '\0') ||
		       (b == NULL && a[0] == '\0');
	return strcmp(a, b) == 0;
}

static int
memeq(const void *a, const void *b, size_t len)
{
	if (len == 0)
		return 1;
	if (a == NULL || b == NULL)
		return 0;
	return memcmp(a, b, len) == 0;
}

#define DIFF(cond, name)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			return name;                                           \
	} while (0)

const char *
synth_event_diff(const struct trace_event *a, const struct trace_event *b,
		 bool reader_fields)
{
	DIFF(a->kind == b->kind, "kind");
	DIFF(a->vcpu == b->vcpu, "vcpu");
	DIFF(a->time_ns == b->time_ns, "time_ns");
	if (reader_fields)
		DIFF(a->index == b->index, "index");
	switch (a->kind) {
	case TRACE_EV_EXIT:
		DIFF(a->u.exit.exitcode == b->u.exit.exitcode, "exit.exitcode");
		DIFF(a->u.exit.rip == b->u.exit.rip, "exit.rip");
		DIFF(a->u.exit.inst_length == b->u.exit.inst_length,
		     "exit.inst_length");
		if (reader_fields)
			DIFF(a->u.exit.exit_index == b->u.exit.exit_index,
			     "exit.exit_index");
		DIFF(memcmp(a->u.exit.info, b->u.exit.info,
			    sizeof(a->u.exit.info)) == 0,
		     "exit.info");
		DIFF(streq(a->u.exit.msg, b->u.exit.msg), "exit.msg");
		break;
	case TRACE_EV_PIO:
		DIFF(a->u.pio.port == b->u.pio.port, "pio.port");
		DIFF(a->u.pio.bytes == b->u.pio.bytes, "pio.bytes");
		DIFF(a->u.pio.in == b->u.pio.in, "pio.in");
		DIFF(a->u.pio.string == b->u.pio.string, "pio.string");
		DIFF(a->u.pio.rep == b->u.pio.rep, "pio.rep");
		DIFF(a->u.pio.count == b->u.pio.count, "pio.count");
		DIFF(memeq(a->u.pio.data, b->u.pio.data,
			   (size_t)a->u.pio.count * a->u.pio.bytes),
		     "pio.data");
		break;
	case TRACE_EV_MMIO:
		DIFF(a->u.mmio.gpa == b->u.mmio.gpa, "mmio.gpa");
		DIFF(a->u.mmio.bytes == b->u.mmio.bytes, "mmio.bytes");
		DIFF(a->u.mmio.write == b->u.mmio.write, "mmio.write");
		DIFF(a->u.mmio.value == b->u.mmio.value, "mmio.value");
		break;
	case TRACE_EV_REGS:
		DIFF(a->u.regs.count == b->u.regs.count, "regs.count");
		DIFF(memeq(a->u.regs.regs, b->u.regs.regs,
			   a->u.regs.count * sizeof(struct trace_reg)),
		     "regs.regs");
		break;
	case TRACE_EV_CKPT_BEGIN:
		DIFF(a->u.ckpt_begin.id == b->u.ckpt_begin.id, "ckpt_begin.id");
		DIFF(a->u.ckpt_begin.nvcpus == b->u.ckpt_begin.nvcpus,
		     "ckpt_begin.nvcpus");
		break;
	case TRACE_EV_CKPT_DEVICE:
		DIFF(streq(a->u.ckpt_device.name, b->u.ckpt_device.name),
		     "ckpt_device.name");
		DIFF(a->u.ckpt_device.len == b->u.ckpt_device.len,
		     "ckpt_device.len");
		DIFF(memeq(a->u.ckpt_device.data, b->u.ckpt_device.data,
			   a->u.ckpt_device.len),
		     "ckpt_device.data");
		break;
	case TRACE_EV_CKPT_PAGES:
		DIFF(a->u.ckpt_pages.gpa == b->u.ckpt_pages.gpa,
		     "ckpt_pages.gpa");
		DIFF(a->u.ckpt_pages.npages == b->u.ckpt_pages.npages,
		     "ckpt_pages.npages");
		DIFF(memeq(a->u.ckpt_pages.data, b->u.ckpt_pages.data,
			   (size_t)a->u.ckpt_pages.npages * 4096),
		     "ckpt_pages.data");
		break;
	case TRACE_EV_CKPT_END:
		DIFF(a->u.ckpt_end.id == b->u.ckpt_end.id, "ckpt_end.id");
		break;
	case TRACE_EV_MARKER:
		DIFF(streq(a->u.marker.text, b->u.marker.text), "marker.text");
		break;
	case TRACE_EV_END:
		DIFF(a->u.end.status == b->u.end.status, "end.status");
		break;
	case TRACE_EV_SCHED:
		DIFF(a->u.sched.from == b->u.sched.from, "sched.from");
		DIFF(a->u.sched.icount == b->u.sched.icount, "sched.icount");
		break;
	case TRACE_EV_DECODE:
		DIFF(a->u.decode.len == b->u.decode.len, "decode.len");
		DIFF(a->u.decode.len <= 15 &&
			 memcmp(a->u.decode.bytes, b->u.decode.bytes,
				a->u.decode.len) == 0,
		     "decode.bytes");
		DIFF(streq(a->u.decode.text, b->u.decode.text), "decode.text");
		break;
	case TRACE_EV_DMA:
		DIFF(a->u.dma.gpa == b->u.dma.gpa, "dma.gpa");
		DIFF(a->u.dma.len == b->u.dma.len, "dma.len");
		DIFF(memeq(a->u.dma.data, b->u.dma.data, a->u.dma.len),
		     "dma.data");
		break;
	case TRACE_EV_INPUT:
		DIFF(a->u.input.source == b->u.input.source, "input.source");
		DIFF(a->u.input.len == b->u.input.len, "input.len");
		DIFF(memeq(a->u.input.data, b->u.input.data, a->u.input.len),
		     "input.data");
		break;
	default:
		/* kinds the generator does not make */
		break;
	}
	return NULL;
}

static void *
dup_mem(const void *p, size_t len)
{
	void *q;

	if (p == NULL)
		return NULL;
	q = malloc(len ? len : 1);
	if (q == NULL)
		abort();
	memcpy(q, p, len);
	return q;
}

static char *
dup_str(const char *s)
{
	return s ? dup_mem(s, strlen(s) + 1) : NULL;
}

void
synth_event_copy(struct trace_event *dst, const struct trace_event *src)
{
	*dst = *src;
	switch (src->kind) {
	case TRACE_EV_EXIT:
		dst->u.exit.msg = dup_str(src->u.exit.msg);
		break;
	case TRACE_EV_PIO:
		dst->u.pio.data =
		    dup_mem(src->u.pio.data,
			    (size_t)src->u.pio.count * src->u.pio.bytes);
		break;
	case TRACE_EV_REGS:
		dst->u.regs.regs =
		    dup_mem(src->u.regs.regs,
			    src->u.regs.count * sizeof(struct trace_reg));
		break;
	case TRACE_EV_CKPT_DEVICE:
		dst->u.ckpt_device.name = dup_str(src->u.ckpt_device.name);
		dst->u.ckpt_device.data =
		    dup_mem(src->u.ckpt_device.data, src->u.ckpt_device.len);
		break;
	case TRACE_EV_CKPT_PAGES:
		dst->u.ckpt_pages.data =
		    dup_mem(src->u.ckpt_pages.data,
			    (size_t)src->u.ckpt_pages.npages * 4096);
		break;
	case TRACE_EV_MARKER:
		dst->u.marker.text = dup_str(src->u.marker.text);
		break;
	case TRACE_EV_DECODE:
		dst->u.decode.text = dup_str(src->u.decode.text);
		break;
	case TRACE_EV_DMA:
		dst->u.dma.data = dup_mem(src->u.dma.data, src->u.dma.len);
		break;
	case TRACE_EV_INPUT:
		dst->u.input.data =
		    dup_mem(src->u.input.data, src->u.input.len);
		break;
	default:
		break;
	}
}

void
synth_event_free(struct trace_event *ev)
{
	switch (ev->kind) {
	case TRACE_EV_EXIT:
		free((void *)ev->u.exit.msg);
		break;
	case TRACE_EV_PIO:
		free((void *)ev->u.pio.data);
		break;
	case TRACE_EV_REGS:
		free((void *)ev->u.regs.regs);
		break;
	case TRACE_EV_CKPT_DEVICE:
		free((void *)ev->u.ckpt_device.name);
		free((void *)ev->u.ckpt_device.data);
		break;
	case TRACE_EV_CKPT_PAGES:
		free((void *)ev->u.ckpt_pages.data);
		break;
	case TRACE_EV_MARKER:
		free((void *)ev->u.marker.text);
		break;
	case TRACE_EV_DECODE:
		free((void *)ev->u.decode.text);
		break;
	case TRACE_EV_DMA:
		free((void *)ev->u.dma.data);
		break;
	case TRACE_EV_INPUT:
		free((void *)ev->u.input.data);
		break;
	default:
		break;
	}
	memset(ev, 0, sizeof(*ev));
}
