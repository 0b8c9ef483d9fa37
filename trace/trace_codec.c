/*
 * The event codec, encoding side: one event -> its bytes inside a frame's
 * raw payload (docs/trace-format.md, "Events"); trace_decode.c is the
 * other direction.
 *
 * Fields are LEB128 varints, addresses and other slowly moving values are
 * zigzag deltas against the per-frame state in struct trace_codec.  An
 * exit at one of the vCPU's recently used exit sites is a one-byte slot
 * number, its access and instruction a delta against what followed the
 * last exit at the same site (usually nothing), and they take the exit's
 * time without a time field: a typical exit and its access are about 8 bytes
 * before zstd sees them.  The writer checks every event against the format's
 * limits first (trace_event_bound()), so what it encodes always decodes.
 */
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

void
trace_codec_init(struct trace_codec *c)
{
	memset(c, 0, sizeof(*c));
	c->gen = 1;
}

void
trace_codec_reset(struct trace_codec *c)
{
	c->vcpu = 0;
	c->ticks = 0;
	/* Entries of an older generation read as zero (trace_vs()). */
	if (++c->gen == 0) {
		memset(c->v, 0, sizeof(c->v));
		c->gen = 1;
	}
}

uint64_t
trace_in_varint_slow(struct trace_in *in)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (in->p >= in->end) {
			if (!in->bad)
				in->bad =
				    "event runs past the end of the frame";
			return 0;
		}
		b = *in->p++;
		/* The tenth byte holds bit 63 only. */
		if (shift == 63 && b > 1) {
			if (!in->bad)
				in->bad = "varint longer than 64 bits";
			return 0;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	return v; /* not reached: shift 63 returns above */
}

/* ---- encoding ----------------------------------------------------------- */

static size_t
trace_str_bound(const char *s)
{
	return TRACE_VARINT_MAX + (s ? strlen(s) : 0);
}

static uint8_t *
trace_put_str(uint8_t *p, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	p += trace_put_varint(p, n);
	if (n)
		memcpy(p, s, n);
	return p + n;
}

static uint8_t *
trace_put_blob(uint8_t *p, const uint8_t *data, uint64_t n)
{
	if (n)
		memcpy(p, data, n);
	return p + n;
}

static int
trace_pio_size_code(uint8_t bytes)
{
	switch (bytes) {
	case 1:
		return 0;
	case 2:
		return 1;
	case 4:
		return 2;
	default:
		return -1;
	}
}

size_t
trace_event_bound(const struct trace_event *ev, const char **why)
{
	const size_t V = TRACE_VARINT_MAX;
	uint64_t n = 1 + 2 * V; /* kind byte, vCPU, time delta */
	uint64_t len;

	if (ev->vcpu >= TRACE_MAX_VCPUS) {
		*why = "vCPU id out of range";
		return 0;
	}
	switch (ev->kind) {
	case TRACE_EV_EXIT:
		n += 2 * V + 2 + 3 * V;
		if (ev->u.exit.msg)
			n += trace_str_bound(ev->u.exit.msg);
		break;
	case TRACE_EV_PIO:
		if (trace_pio_size_code(ev->u.pio.bytes) < 0) {
			*why = "PIO size is not 1, 2 or 4";
			return 0;
		}
		len = (uint64_t)ev->u.pio.count * ev->u.pio.bytes;
		if (len && !ev->u.pio.data) {
			*why = "PIO data is NULL";
			return 0;
		}
		n += V + 1 + V + len;
		break;
	case TRACE_EV_MMIO:
		if (ev->u.mmio.bytes < 1 || ev->u.mmio.bytes > 8) {
			*why = "MMIO size is not 1..8";
			return 0;
		}
		n += V + 1 + V;
		break;
	case TRACE_EV_DECODE:
		if (ev->u.decode.len > 15) {
			*why = "instruction longer than 15 bytes";
			return 0;
		}
		n += 1 + 15;
		if (ev->u.decode.text)
			n += trace_str_bound(ev->u.decode.text);
		break;
	case TRACE_EV_INJECT:
		n += 4 + 2 * V;
		break;
	case TRACE_EV_DMA:
		if (ev->u.dma.len && !ev->u.dma.data) {
			*why = "DMA data is NULL";
			return 0;
		}
		n += 2 * V + ev->u.dma.len;
		break;
	case TRACE_EV_CPUID:
		n += 6 * V;
		break;
	case TRACE_EV_MSR:
		n += 1 + 2 * V;
		break;
	case TRACE_EV_TSC:
		n += V;
		break;
	case TRACE_EV_RANDOM:
		n += 2 + V;
		break;
	case TRACE_EV_INPUT:
		if (ev->u.input.len && !ev->u.input.data) {
			*why = "input data is NULL";
			return 0;
		}
		n += 2 * V + ev->u.input.len;
		break;
	case TRACE_EV_REGS:
		if (ev->u.regs.count > TRACE_MAX_REGS) {
			*why = "too many registers in one REGS event";
			return 0;
		}
		if (ev->u.regs.count && !ev->u.regs.regs) {
			*why = "register list is NULL";
			return 0;
		}
		n += V + (uint64_t)ev->u.regs.count * 2 * V;
		break;
	case TRACE_EV_CKPT_BEGIN:
		n += 2 * V;
		break;
	case TRACE_EV_CKPT_DEVICE:
		if (ev->u.ckpt_device.len && !ev->u.ckpt_device.data) {
			*why = "device state is NULL";
			return 0;
		}
		n += trace_str_bound(ev->u.ckpt_device.name) + V +
		     ev->u.ckpt_device.len;
		break;
	case TRACE_EV_CKPT_PAGES:
		if (ev->u.ckpt_pages.gpa % TRACE_PAGE_SIZE) {
			*why = "checkpoint pages not page aligned";
			return 0;
		}
		if (ev->u.ckpt_pages.npages && !ev->u.ckpt_pages.data) {
			*why = "checkpoint page data is NULL";
			return 0;
		}
		n +=
		    2 * V + (uint64_t)ev->u.ckpt_pages.npages * TRACE_PAGE_SIZE;
		break;
	case TRACE_EV_CKPT_END:
		n += V;
		break;
	case TRACE_EV_MARKER:
		n += trace_str_bound(ev->u.marker.text);
		break;
	case TRACE_EV_END:
		n += V;
		break;
	case TRACE_EV_SCHED:
		if (ev->u.sched.from >= TRACE_MAX_VCPUS) {
			*why = "SCHED names a vCPU id out of range";
			return 0;
		}
		n += 4 * V; /* ext kind, length, from, icount */
		break;
	default:
		*why = "unknown event kind";
		return 0;
	}
	if (n > TRACE_MAX_EVENT_BYTES) {
		*why = "event larger than the format allows (split it)";
		return 0;
	}
	return (size_t)n;
}

/*
 * EXIT: the head names the site (a slot of the vCPU's table, or 0 for a
 * new one spelled out after it) and says which optional fields follow.
 */
static uint8_t *
trace_put_exit(uint8_t *p, struct trace_vstate *vs,
	       const struct trace_event *ev)
{
	const uint64_t rip = ev->u.exit.rip;
	const uint32_t code = ev->u.exit.exitcode;
	const uint8_t len = ev->u.exit.inst_length;
	const unsigned ns = vs->nsites;
	unsigned n, slot = 0;

	/* Most recent first: a loop finds its site in the first few slots. */
	for (unsigned k = 0; k < ns; k++) {
		const struct trace_site *st = trace_site_at(vs, k);

		if (st->rip == rip && st->exitcode == code &&
		    st->inst_length == len) {
			slot = k + 1;
			break;
		}
	}
	/* Trailing zero info[] fields are left out. */
	for (n = 3; n > 0 && ev->u.exit.info[n - 1] == 0; n--)
		;
	*p++ = (uint8_t)(slot << TRACE_EXIT_SITE_SHIFT | n |
			 (ev->u.exit.msg ? TRACE_EXIT_MSG : 0));
	if (slot) {
		trace_site_use(vs, slot - 1);
	} else {
		p += trace_put_varint(
		    p, trace_zigzag((int64_t)(ev->u.exit.rip - vs->rip)));
		p += trace_put_varint(p, ev->u.exit.exitcode);
		*p++ = ev->u.exit.inst_length;
		trace_site_add(vs, ev->u.exit.rip, ev->u.exit.exitcode,
			       ev->u.exit.inst_length);
	}
	vs->rip = ev->u.exit.rip;
	for (unsigned i = 0; i < n; i++)
		p += trace_put_varint(p, ev->u.exit.info[i]);
	if (ev->u.exit.msg)
		p = trace_put_str(p, ev->u.exit.msg);
	return p;
}

size_t
trace_event_encode(struct trace_codec *c, const struct trace_event *ev,
		   uint64_t ticks, uint8_t *out)
{
	struct trace_vstate *vs;
	uint8_t *p = out + 1;
	uint8_t kb =
	    ev->kind == TRACE_EV_SCHED ? TRACE_KB_EXT : (uint8_t)ev->kind;
	uint64_t prev;

	if (ev->vcpu != c->vcpu) {
		kb |= TRACE_KB_VCPU;
		p += trace_put_varint(p, ev->vcpu);
		c->vcpu = ev->vcpu;
	}
	vs = trace_vs(c, ev->vcpu);
	/* Without T an event has the time of its vCPU's previous event. */
	if (ticks != vs->ticks) {
		kb |= TRACE_KB_TIME;
		p += trace_put_varint(
		    p, trace_zigzag((int64_t)(ticks - c->ticks)));
	}
	c->ticks = vs->ticks = ticks;
	out[0] = kb;

	switch (ev->kind) {
	case TRACE_EV_EXIT:
		p = trace_put_exit(p, vs, ev);
		break;
	case TRACE_EV_PIO: {
		uint16_t *port = trace_acc_port(vs);

		p += trace_put_varint(
		    p, trace_zigzag((int32_t)ev->u.pio.port - (int32_t)*port));
		*port = vs->port = ev->u.pio.port;
		*p++ =
		    (uint8_t)(trace_pio_size_code(ev->u.pio.bytes) |
			      ev->u.pio.in << 2 | ev->u.pio.string << 3 |
			      ev->u.pio.rep << 4 | (ev->u.pio.count != 1) << 5);
		if (ev->u.pio.count != 1)
			p += trace_put_varint(p, ev->u.pio.count);
		p = trace_put_blob(p, ev->u.pio.data,
				   (uint64_t)ev->u.pio.count * ev->u.pio.bytes);
		break;
	}
	case TRACE_EV_MMIO: {
		uint64_t *gpa = trace_acc_gpa(vs), *value = trace_acc_value(vs);

		p += trace_put_varint(
		    p, trace_zigzag((int64_t)(ev->u.mmio.gpa - *gpa)));
		*gpa = vs->gpa = ev->u.mmio.gpa;
		*p++ =
		    (uint8_t)((ev->u.mmio.bytes - 1) | ev->u.mmio.write << 3);
		p += trace_put_varint(
		    p, trace_zigzag((int64_t)(ev->u.mmio.value - *value)));
		*value = vs->value = ev->u.mmio.value;
		break;
	}
	case TRACE_EV_DECODE: {
		struct trace_insn *insn = trace_acc_insn(vs);
		uint8_t text = ev->u.decode.text ? TRACE_DEC_TEXT : 0;

		/* The same instruction as last time at this site: a flag. */
		if (insn->len == ev->u.decode.len &&
		    memcmp(insn->bytes, ev->u.decode.bytes, insn->len) == 0) {
			*p++ = (uint8_t)(TRACE_DEC_SAME | text);
		} else {
			*p++ = (uint8_t)(ev->u.decode.len | text);
			p = trace_put_blob(p, ev->u.decode.bytes,
					   ev->u.decode.len);
			insn->len = ev->u.decode.len;
			memcpy(insn->bytes, ev->u.decode.bytes, insn->len);
		}
		vs->insn = *insn;
		if (ev->u.decode.text)
			p = trace_put_str(p, ev->u.decode.text);
		break;
	}
	case TRACE_EV_INJECT:
		*p++ = ev->u.inject.type;
		*p++ = ev->u.inject.vector;
		*p++ = ev->u.inject.has_error_code ? 1 : 0;
		*p++ = ev->u.inject.point_kind;
		if (ev->u.inject.has_error_code)
			p += trace_put_varint(p, ev->u.inject.error_code);
		p += trace_put_varint(p, ev->u.inject.point);
		break;
	case TRACE_EV_DMA:
		p += trace_put_varint(p, ev->u.dma.gpa);
		p += trace_put_varint(p, ev->u.dma.len);
		p = trace_put_blob(p, ev->u.dma.data, ev->u.dma.len);
		break;
	case TRACE_EV_CPUID:
		p += trace_put_varint(p, ev->u.cpuid.leaf);
		p += trace_put_varint(p, ev->u.cpuid.subleaf);
		p += trace_put_varint(p, ev->u.cpuid.eax);
		p += trace_put_varint(p, ev->u.cpuid.ebx);
		p += trace_put_varint(p, ev->u.cpuid.ecx);
		p += trace_put_varint(p, ev->u.cpuid.edx);
		break;
	case TRACE_EV_MSR:
		*p++ = ev->u.msr.write ? 1 : 0;
		p += trace_put_varint(p, ev->u.msr.msr);
		p += trace_put_varint(p, ev->u.msr.value);
		break;
	case TRACE_EV_TSC:
		p += trace_put_varint(
		    p, trace_zigzag((int64_t)(ev->u.tsc.value - vs->tsc)));
		vs->tsc = ev->u.tsc.value;
		break;
	case TRACE_EV_RANDOM:
		*p++ = ev->u.random.rdseed ? 1 : 0;
		*p++ = ev->u.random.bytes;
		p += trace_put_varint(p, ev->u.random.value);
		break;
	case TRACE_EV_INPUT:
		p += trace_put_varint(p, ev->u.input.source);
		p += trace_put_varint(p, ev->u.input.len);
		p = trace_put_blob(p, ev->u.input.data, ev->u.input.len);
		break;
	case TRACE_EV_REGS:
		p += trace_put_varint(p, ev->u.regs.count);
		prev = 0;
		for (uint32_t i = 0; i < ev->u.regs.count; i++) {
			const struct trace_reg *r = &ev->u.regs.regs[i];

			p += trace_put_varint(
			    p, trace_zigzag((int64_t)(r->id - prev)));
			prev = r->id;
			p += trace_put_varint(p, r->value);
		}
		break;
	case TRACE_EV_CKPT_BEGIN:
		p += trace_put_varint(p, ev->u.ckpt_begin.id);
		p += trace_put_varint(p, ev->u.ckpt_begin.nvcpus);
		break;
	case TRACE_EV_CKPT_DEVICE:
		p = trace_put_str(p, ev->u.ckpt_device.name);
		p += trace_put_varint(p, ev->u.ckpt_device.len);
		p = trace_put_blob(p, ev->u.ckpt_device.data,
				   ev->u.ckpt_device.len);
		break;
	case TRACE_EV_CKPT_PAGES:
		p +=
		    trace_put_varint(p, ev->u.ckpt_pages.gpa / TRACE_PAGE_SIZE);
		p += trace_put_varint(p, ev->u.ckpt_pages.npages);
		p = trace_put_blob(p, ev->u.ckpt_pages.data,
				   (uint64_t)ev->u.ckpt_pages.npages *
				       TRACE_PAGE_SIZE);
		break;
	case TRACE_EV_CKPT_END:
		p += trace_put_varint(p, ev->u.ckpt_end.id);
		break;
	case TRACE_EV_MARKER:
		p = trace_put_str(p, ev->u.marker.text);
		break;
	case TRACE_EV_END:
		p += trace_put_varint(p, trace_zigzag(ev->u.end.status));
		break;
	case TRACE_EV_SCHED: {
		/* An extension event (1.1): a 1.0 reader skips it whole. */
		uint8_t body[2 * TRACE_VARINT_MAX];
		size_t len = trace_put_varint(body, ev->u.sched.from);

		len += trace_put_varint(body + len, ev->u.sched.icount);
		p += trace_put_varint(p, TRACE_EXT_SCHED);
		p += trace_put_varint(p, len);
		p = trace_put_blob(p, body, len);
		break;
	}
	default:
		break; /* refused by trace_event_bound() */
	}
	return (size_t)(p - out);
}

size_t
trace_prologue_encode(uint8_t *out, const uint64_t *exits, uint32_t nvcpu)
{
	uint8_t *p = out;
	uint32_t n = 0, prev = 0;
	bool first = true;

	for (uint32_t i = 0; i < nvcpu; i++)
		n += exits[i] != 0;
	p += trace_put_varint(p, n);
	for (uint32_t i = 0; i < nvcpu; i++) {
		if (!exits[i])
			continue;
		/* Ascending ids: the first absolute, then the gap - 1. */
		p += trace_put_varint(p, first ? i : i - prev - 1);
		p += trace_put_varint(p, exits[i]);
		prev = i;
		first = false;
	}
	return (size_t)(p - out);
}
