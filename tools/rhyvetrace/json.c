/*
 * The JSON form of events, for programs: one object per line.  Strings
 * from the file are escaped and made valid UTF-8 whatever they hold, so
 * every line parses.
 */
#include <inttypes.h>
#include <string.h>

#include "rhyvetrace.h"

/* Length of the valid UTF-8 sequence at p (at most 'left' bytes), or 0. */
static size_t
utf8_len(const uint8_t *p, size_t left)
{
	uint8_t c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void
rt_json_string(FILE *fp, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	fputc('"', fp);
	while (p != NULL && i < len) {
		uint8_t c = p[i];
		size_t n;

		if (c == '"' || c == '\\') {
			fputc('\\', fp);
			fputc(c, fp);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(fp, "\\u%04x", c);
			i++;
		} else if ((n = utf8_len(p + i, len - i)) > 0) {
			fwrite(p + i, 1, n, fp);
			i += n;
		} else {
			/* A stray byte: keep its value, as Latin-1. */
			fprintf(fp, "\\u%04x", c);
			i++;
		}
	}
	fputc('"', fp);
}

void
rt_json_hex(FILE *fp, const uint8_t *p, size_t len)
{
	fputc('"', fp);
	for (size_t i = 0; p != NULL && i < len; i++)
		fprintf(fp, "%02x", p[i]);
	fputc('"', fp);
}

/* ---- JSON -------------------------------------------------------------- */

/*
 * 64-bit addresses and values are hex strings: JSON numbers lose precision
 * above 2^53 in most parsers.  Counts and sizes are numbers.
 */
static void
jhex(FILE *fp, const char *key, uint64_t v)
{
	fprintf(fp, ",\"%s\":\"0x%" PRIx64 "\"", key, v);
}

static void
jnum(FILE *fp, const char *key, uint64_t v)
{
	fprintf(fp, ",\"%s\":%" PRIu64, key, v);
}

static void
jbool(FILE *fp, const char *key, bool v)
{
	fprintf(fp, ",\"%s\":%s", key, v ? "true" : "false");
}

static void
jstr(FILE *fp, const char *key, const char *s)
{
	fprintf(fp, ",\"%s\":", key);
	if (s == NULL)
		fputs("null", fp);
	else
		rt_json_string(fp, s, strlen(s));
}

static void
jbytes(FILE *fp, const char *key, const uint8_t *p, size_t len)
{
	fprintf(fp, ",\"%s\":", key);
	rt_json_hex(fp, p, len);
}

void
rt_print_event_json(FILE *fp, const struct trace_event *ev)
{
	__typeof__(ev->u) *u = &ev->u; /* const, as ev */
	struct rt_field f[3];
	size_t nf;
	char name[48];

	fprintf(fp,
		"{\"index\":%" PRIu64 ",\"t_ns\":%" PRIu64 ",\"vcpu\":%" PRIu32,
		ev->index, ev->time_ns, ev->vcpu);
	jstr(fp, "kind", rt_kind_name(ev->kind));
	switch (ev->kind) {
	case TRACE_EV_EXIT:
		jstr(fp, "reason", rt_exit_name(u->exit.exitcode));
		jnum(fp, "exitcode", u->exit.exitcode);
		jhex(fp, "rip", u->exit.rip);
		jnum(fp, "inst_length", u->exit.inst_length);
		jnum(fp, "exit_index", u->exit.exit_index);
		fprintf(fp,
			",\"info\":[\"0x%" PRIx64 "\",\"0x%" PRIx64
			"\",\"0x%" PRIx64 "\"]",
			u->exit.info[0], u->exit.info[1], u->exit.info[2]);
		nf = rt_exit_info(ev, f);
		for (size_t i = 0; i < nf; i++) {
			if (f[i].text != NULL)
				jstr(fp, f[i].name, f[i].text);
			else
				jhex(fp, f[i].name, f[i].value);
		}
		if (u->exit.msg != NULL)
			jstr(fp, "msg", u->exit.msg);
		break;
	case TRACE_EV_PIO:
		jhex(fp, "port", u->pio.port);
		jnum(fp, "bytes", u->pio.bytes);
		jbool(fp, "in", u->pio.in);
		jbool(fp, "string", u->pio.string);
		jbool(fp, "rep", u->pio.rep);
		jnum(fp, "count", u->pio.count);
		jbytes(fp, "data", u->pio.data,
		       (size_t)u->pio.count * u->pio.bytes);
		break;
	case TRACE_EV_MMIO:
		jhex(fp, "gpa", u->mmio.gpa);
		jnum(fp, "bytes", u->mmio.bytes);
		jbool(fp, "write", u->mmio.write);
		jhex(fp, "value", u->mmio.value);
		break;
	case TRACE_EV_DECODE:
		jbytes(fp, "bytes", u->decode.bytes,
		       u->decode.len <= 15 ? u->decode.len : 15);
		if (u->decode.text != NULL)
			jstr(fp, "text", u->decode.text);
		break;
	case TRACE_EV_INJECT:
		jstr(fp, "type", rt_inject_type_name(u->inject.type));
		jnum(fp, "vector", u->inject.vector);
		if (u->inject.has_error_code)
			jhex(fp, "error_code", u->inject.error_code);
		jstr(fp, "point_kind",
		     u->inject.point_kind == TRACE_POINT_ICOUNT ? "icount"
								: "exit");
		jnum(fp, "point", u->inject.point);
		break;
	case TRACE_EV_DMA:
		jhex(fp, "gpa", u->dma.gpa);
		jnum(fp, "len", u->dma.len);
		jbytes(fp, "data", u->dma.data, u->dma.len);
		break;
	case TRACE_EV_CPUID:
		jhex(fp, "leaf", u->cpuid.leaf);
		jhex(fp, "subleaf", u->cpuid.subleaf);
		jhex(fp, "eax", u->cpuid.eax);
		jhex(fp, "ebx", u->cpuid.ebx);
		jhex(fp, "ecx", u->cpuid.ecx);
		jhex(fp, "edx", u->cpuid.edx);
		break;
	case TRACE_EV_MSR:
		jbool(fp, "write", u->msr.write);
		jhex(fp, "msr", u->msr.msr);
		jhex(fp, "value", u->msr.value);
		break;
	case TRACE_EV_TSC:
		jhex(fp, "value", u->tsc.value);
		break;
	case TRACE_EV_RANDOM:
		jbool(fp, "rdseed", u->random.rdseed);
		jnum(fp, "bytes", u->random.bytes);
		jhex(fp, "value", u->random.value);
		break;
	case TRACE_EV_INPUT:
		jnum(fp, "source", u->input.source);
		jnum(fp, "len", u->input.len);
		jbytes(fp, "data", u->input.data, u->input.len);
		break;
	case TRACE_EV_REGS:
		jnum(fp, "count", u->regs.count);
		fputs(",\"regs\":{", fp);
		for (uint32_t i = 0; u->regs.regs != NULL && i < u->regs.count;
		     i++) {
			rt_reg_name(u->regs.regs[i].id, name, sizeof(name));
			fprintf(fp, "%s\"%s\":\"0x%" PRIx64 "\"",
				i > 0 ? "," : "", name, u->regs.regs[i].value);
		}
		fputc('}', fp);
		break;
	case TRACE_EV_CKPT_BEGIN:
		jnum(fp, "id", u->ckpt_begin.id);
		jnum(fp, "nvcpus", u->ckpt_begin.nvcpus);
		break;
	case TRACE_EV_CKPT_DEVICE:
		jstr(fp, "name", u->ckpt_device.name);
		jnum(fp, "len", u->ckpt_device.len);
		jbytes(fp, "data", u->ckpt_device.data, u->ckpt_device.len);
		break;
	case TRACE_EV_CKPT_PAGES:
		jhex(fp, "gpa", u->ckpt_pages.gpa);
		jnum(fp, "npages", u->ckpt_pages.npages);
		/* Page contents would be megabytes of hex: not in a dump. */
		break;
	case TRACE_EV_CKPT_END:
		jnum(fp, "id", u->ckpt_end.id);
		break;
	case TRACE_EV_MARKER:
		jstr(fp, "text", u->marker.text);
		break;
	case TRACE_EV_END:
		fprintf(fp, ",\"status\":%" PRId32, u->end.status);
		break;
	case TRACE_EV_SCHED:
		jnum(fp, "from", u->sched.from);
		jnum(fp, "icount", u->sched.icount);
		break;
	default:
		break;
	}
	fputs("}\n", fp);
}
