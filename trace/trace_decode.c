/*
 * The event codec, decoding side: bytes of a frame's raw payload -> events
 * (docs/trace-format.md, "Events").
 *
 * The decoder trusts nothing: every read is bounded by struct trace_in,
 * every value is range-checked before it lands in a narrower field, and
 * allocation is bounded by the frame size (strings) or TRACE_MAX_REGS.
 */
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

/* ---- decoding ----------------------------------------------------------- */

/* Room for one allocation per event: pointers from it stay valid. */
static void *
trace_scratch_get(struct trace_scratch *s, size_t n, struct trace_in *in)
{
	if (n > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		uint8_t *b;

		while (cap < n)
			cap *= 2;
		b = realloc(s->buf, cap);
		if (!b) {
			if (!in->bad)
				in->bad = "out of memory";
			return NULL;
		}
		s->buf = b;
		s->cap = cap;
	}
	return s->buf;
}

/* A length-prefixed string, copied out and NUL-terminated. */
static const char *
trace_in_str(struct trace_in *in, struct trace_scratch *s)
{
	uint64_t n = trace_in_varint(in);
	const uint8_t *src;
	char *dst;

	if (in->bad)
		return NULL;
	src = trace_in_bytes(in, n);
	if (!src)
		return NULL;
	dst = trace_scratch_get(s, (size_t)n + 1, in);
	if (!dst)
		return NULL;
	memcpy(dst, src, (size_t)n);
	dst[n] = '\0';
	return dst;
}

static uint32_t
trace_in_u32(struct trace_in *in, const char *what)
{
	uint64_t v = trace_in_varint(in);

	if (v > UINT32_MAX) {
		if (!in->bad)
			in->bad = what;
		return 0;
	}
	return (uint32_t)v;
}

static void
trace_in_fail(struct trace_in *in, const char *why)
{
	if (!in->bad)
		in->bad = why;
}

static void
trace_decode_exit(struct trace_in *in, struct trace_event *ev,
		  struct trace_vstate *vs, struct trace_scratch *s,
		  uint64_t *exits)
{
	uint64_t head = trace_in_varint(in), slot;

	if (in->bad)
		return;
	slot = head >> TRACE_EXIT_SITE_SHIFT;
	if (slot > vs->nsites) {
		trace_in_fail(in, "exit site not in the table");
		return;
	}
	if (slot) {
		const struct trace_site *st = trace_site_at(vs, slot - 1);

		ev->u.exit.rip = st->rip;
		ev->u.exit.exitcode = st->exitcode;
		ev->u.exit.inst_length = st->inst_length;
		trace_site_use(vs, (unsigned)slot - 1);
	} else {
		ev->u.exit.rip =
		    vs->rip + (uint64_t)trace_unzigzag(trace_in_varint(in));
		ev->u.exit.exitcode =
		    trace_in_u32(in, "exit code out of range");
		ev->u.exit.inst_length = trace_in_byte(in);
		if (in->bad)
			return;
		trace_site_add(vs, ev->u.exit.rip, ev->u.exit.exitcode,
			       ev->u.exit.inst_length);
	}
	vs->rip = ev->u.exit.rip;
	for (unsigned i = 0; i < (head & TRACE_EXIT_NINFO); i++)
		ev->u.exit.info[i] = trace_in_varint(in);
	if (head & TRACE_EXIT_MSG)
		ev->u.exit.msg = trace_in_str(in, s);
	ev->u.exit.exit_index = exits[ev->vcpu]++;
}

static void
trace_decode_pio(struct trace_in *in, struct trace_event *ev,
		 struct trace_vstate *vs)
{
	uint16_t *port = trace_acc_port(vs);
	int64_t d = trace_unzigzag(trace_in_varint(in));
	uint8_t f;
	uint64_t len;

	if (d < -65535 || d > 65535 || *port + d < 0 || *port + d > 65535) {
		trace_in_fail(in, "PIO port out of range");
		return;
	}
	*port = vs->port = (uint16_t)(*port + d);
	ev->u.pio.port = vs->port;
	f = trace_in_byte(in);
	if ((f & 3) == 3 || (f & 0xc0)) {
		trace_in_fail(in, "bad PIO flags");
		return;
	}
	ev->u.pio.bytes = (uint8_t)(1u << (f & 3));
	ev->u.pio.in = f & 4;
	ev->u.pio.string = f & 8;
	ev->u.pio.rep = f & 16;
	ev->u.pio.count = 1;
	if (f & 32)
		ev->u.pio.count = trace_in_u32(in, "PIO count out of range");
	len = (uint64_t)ev->u.pio.count * ev->u.pio.bytes;
	if (len)
		ev->u.pio.data = trace_in_bytes(in, len);
}

static void
trace_decode_mmio(struct trace_in *in, struct trace_event *ev,
		  struct trace_vstate *vs)
{
	uint64_t *gpa = trace_acc_gpa(vs), *value = trace_acc_value(vs);
	uint8_t f;

	*gpa = vs->gpa = *gpa + (uint64_t)trace_unzigzag(trace_in_varint(in));
	ev->u.mmio.gpa = vs->gpa;
	f = trace_in_byte(in);
	if (f & 0xf0)
		trace_in_fail(in, "bad MMIO flags");
	ev->u.mmio.bytes = (f & 7) + 1;
	ev->u.mmio.write = f & 8;
	*value = vs->value =
	    *value + (uint64_t)trace_unzigzag(trace_in_varint(in));
	ev->u.mmio.value = vs->value;
}

static void
trace_decode_insn(struct trace_in *in, struct trace_event *ev,
		  struct trace_vstate *vs, struct trace_scratch *s)
{
	struct trace_insn *insn = trace_acc_insn(vs);
	uint8_t f = trace_in_byte(in);

	if ((f & TRACE_DEC_RSVD) ||
	    ((f & TRACE_DEC_SAME) && (f & TRACE_DEC_LEN))) {
		trace_in_fail(in, "bad DECODE flags");
		return;
	}
	if (!(f & TRACE_DEC_SAME)) {
		const uint8_t *b = trace_in_bytes(in, f & TRACE_DEC_LEN);

		if (!b)
			return;
		insn->len = f & TRACE_DEC_LEN;
		memcpy(insn->bytes, b, insn->len);
	}
	vs->insn = *insn;
	ev->u.decode.len = insn->len;
	memcpy(ev->u.decode.bytes, insn->bytes, insn->len);
	if (f & TRACE_DEC_TEXT)
		ev->u.decode.text = trace_in_str(in, s);
}

static void
trace_decode_regs(struct trace_in *in, struct trace_event *ev,
		  struct trace_scratch *s)
{
	uint64_t n = trace_in_varint(in), prev = 0;
	struct trace_reg *regs;

	/* Each register takes at least two bytes: bounds the allocation. */
	if (n > TRACE_MAX_REGS || n > (uint64_t)(in->end - in->p) / 2) {
		trace_in_fail(in, "bad register count");
		return;
	}
	ev->u.regs.count = (uint32_t)n;
	if (!n)
		return;
	regs = trace_scratch_get(s, (size_t)n * sizeof(*regs), in);
	if (!regs)
		return;
	for (uint64_t i = 0; i < n; i++) {
		prev += (uint64_t)trace_unzigzag(trace_in_varint(in));
		regs[i].id = prev;
		regs[i].value = trace_in_varint(in);
	}
	ev->u.regs.regs = regs;
}

/* SCHED (1.1, extension kind 64): its body of 'len' bytes. */
static int
trace_decode_sched(struct trace_in *in, struct trace_event *ev, uint32_t vcpu,
		   uint64_t len, uint64_t time_ns)
{
	const uint8_t *start = in->p;

	ev->kind = TRACE_EV_SCHED;
	ev->vcpu = vcpu;
	ev->time_ns = time_ns;
	ev->u.sched.from = trace_in_u32(in, "vCPU id out of range");
	ev->u.sched.icount = trace_in_varint(in);
	if (!in->bad && (ev->u.sched.from >= TRACE_MAX_VCPUS ||
			 (uint64_t)(in->p - start) != len))
		trace_in_fail(in, "bad SCHED event");
	return in->bad ? -1 : 1;
}

int
trace_event_decode(struct trace_codec *c, struct trace_in *in,
		   struct trace_event *ev, struct trace_scratch *s,
		   uint64_t *exits, uint64_t tick_ns)
{
	struct trace_vstate *vs;
	uint8_t kb, kind, f;
	uint64_t v;
	int64_t d;

	memset(ev, 0, sizeof(*ev));
	kb = trace_in_byte(in);
	if (in->bad)
		return -1;
	kind = kb & TRACE_KB_KIND;
	if (kb & TRACE_KB_VCPU) {
		v = trace_in_varint(in);
		if (v >= TRACE_MAX_VCPUS) {
			trace_in_fail(in, "vCPU id out of range");
			return -1;
		}
		c->vcpu = (uint32_t)v;
	}
	vs = trace_vs(c, c->vcpu);
	/* Without T the time of the vCPU's previous event in the frame. */
	if (kb & TRACE_KB_TIME)
		c->ticks += (uint64_t)trace_unzigzag(trace_in_varint(in));
	else
		c->ticks = vs->ticks;
	vs->ticks = c->ticks;
	if (in->bad)
		return -1;
	if (kind == TRACE_KB_EXT) {
		uint64_t ext = trace_in_varint(in);

		v = trace_in_varint(in);
		if (!in->bad && ext == TRACE_EXT_SCHED)
			return trace_decode_sched(in, ev, c->vcpu, v,
						  c->ticks * tick_ns);
		/* An extension kind from a newer minor version: skip it. */
		if (!in->bad)
			(void)trace_in_bytes(in, v);
		return in->bad ? -1 : 0;
	}
	if (kind == 0 || kind >= TRACE_EV_KIND_MAX) {
		trace_in_fail(in, "unknown event kind");
		return -1;
	}
	ev->kind = kind;
	ev->vcpu = c->vcpu;
	ev->time_ns = c->ticks * tick_ns;
	s->len = 0;

	switch (ev->kind) {
	case TRACE_EV_EXIT:
		trace_decode_exit(in, ev, vs, s, exits);
		break;
	case TRACE_EV_PIO:
		trace_decode_pio(in, ev, vs);
		break;
	case TRACE_EV_MMIO:
		trace_decode_mmio(in, ev, vs);
		break;
	case TRACE_EV_DECODE:
		trace_decode_insn(in, ev, vs, s);
		break;
	case TRACE_EV_INJECT:
		ev->u.inject.type = trace_in_byte(in);
		ev->u.inject.vector = trace_in_byte(in);
		f = trace_in_byte(in);
		if (f & ~1)
			trace_in_fail(in, "bad injection flags");
		ev->u.inject.has_error_code = f & 1;
		ev->u.inject.point_kind = trace_in_byte(in);
		if (f & 1)
			ev->u.inject.error_code =
			    trace_in_u32(in, "error code out of range");
		ev->u.inject.point = trace_in_varint(in);
		break;
	case TRACE_EV_DMA:
		ev->u.dma.gpa = trace_in_varint(in);
		ev->u.dma.len = trace_in_u32(in, "DMA length out of range");
		if (ev->u.dma.len)
			ev->u.dma.data = trace_in_bytes(in, ev->u.dma.len);
		break;
	case TRACE_EV_CPUID:
		ev->u.cpuid.leaf = trace_in_u32(in, "CPUID value out of range");
		ev->u.cpuid.subleaf =
		    trace_in_u32(in, "CPUID value out of range");
		ev->u.cpuid.eax = trace_in_u32(in, "CPUID value out of range");
		ev->u.cpuid.ebx = trace_in_u32(in, "CPUID value out of range");
		ev->u.cpuid.ecx = trace_in_u32(in, "CPUID value out of range");
		ev->u.cpuid.edx = trace_in_u32(in, "CPUID value out of range");
		break;
	case TRACE_EV_MSR:
		f = trace_in_byte(in);
		if (f & ~1)
			trace_in_fail(in, "bad MSR flags");
		ev->u.msr.write = f & 1;
		ev->u.msr.msr = trace_in_u32(in, "MSR number out of range");
		ev->u.msr.value = trace_in_varint(in);
		break;
	case TRACE_EV_TSC:
		vs->tsc += (uint64_t)trace_unzigzag(trace_in_varint(in));
		ev->u.tsc.value = vs->tsc;
		break;
	case TRACE_EV_RANDOM:
		f = trace_in_byte(in);
		if (f & ~1)
			trace_in_fail(in, "bad random flags");
		ev->u.random.rdseed = f & 1;
		ev->u.random.bytes = trace_in_byte(in);
		ev->u.random.value = trace_in_varint(in);
		break;
	case TRACE_EV_INPUT:
		ev->u.input.source =
		    trace_in_u32(in, "input source out of range");
		ev->u.input.len = trace_in_u32(in, "input length out of range");
		if (ev->u.input.len)
			ev->u.input.data = trace_in_bytes(in, ev->u.input.len);
		break;
	case TRACE_EV_REGS:
		trace_decode_regs(in, ev, s);
		break;
	case TRACE_EV_CKPT_BEGIN:
		ev->u.ckpt_begin.id = trace_in_varint(in);
		ev->u.ckpt_begin.nvcpus =
		    trace_in_u32(in, "checkpoint vCPU count out of range");
		break;
	case TRACE_EV_CKPT_DEVICE:
		ev->u.ckpt_device.name = trace_in_str(in, s);
		ev->u.ckpt_device.len =
		    trace_in_u32(in, "device state length out of range");
		if (ev->u.ckpt_device.len)
			ev->u.ckpt_device.data =
			    trace_in_bytes(in, ev->u.ckpt_device.len);
		break;
	case TRACE_EV_CKPT_PAGES:
		v = trace_in_varint(in);
		if (v > UINT64_MAX / TRACE_PAGE_SIZE)
			trace_in_fail(in, "page address out of range");
		ev->u.ckpt_pages.gpa = v * TRACE_PAGE_SIZE;
		ev->u.ckpt_pages.npages =
		    trace_in_u32(in, "page count out of range");
		if (ev->u.ckpt_pages.npages && !in->bad)
			ev->u.ckpt_pages.data = trace_in_bytes(
			    in, (uint64_t)ev->u.ckpt_pages.npages *
				    TRACE_PAGE_SIZE);
		break;
	case TRACE_EV_CKPT_END:
		ev->u.ckpt_end.id = trace_in_varint(in);
		break;
	case TRACE_EV_MARKER:
		ev->u.marker.text = trace_in_str(in, s);
		break;
	case TRACE_EV_END:
		d = trace_unzigzag(trace_in_varint(in));
		if (d < INT32_MIN || d > INT32_MAX)
			trace_in_fail(in, "exit status out of range");
		ev->u.end.status = (int32_t)d;
		break;
	default:
		break;
	}
	return in->bad ? -1 : 1;
}

int
trace_prologue_decode(struct trace_in *in, uint64_t *exits)
{
	uint64_t n = trace_in_varint(in), id = 0;

	memset(exits, 0, TRACE_MAX_VCPUS * sizeof(*exits));
	if (n > TRACE_MAX_VCPUS) {
		trace_in_fail(in, "bad frame prologue: too many vCPUs");
		return -1;
	}
	for (uint64_t i = 0; i < n && !in->bad; i++) {
		uint64_t gap = trace_in_varint(in);

		/* Ascending ids: the first absolute, then the gap - 1. */
		if (gap >= TRACE_MAX_VCPUS ||
		    (i ? id + 1 + gap : gap) >= TRACE_MAX_VCPUS) {
			trace_in_fail(in, "bad frame prologue: vCPU id");
			return -1;
		}
		id = i ? id + 1 + gap : gap;
		exits[id] = trace_in_varint(in);
	}
	return in->bad ? -1 : 0;
}
