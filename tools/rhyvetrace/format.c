/*
 * The text form of events, for people: "#index t=seconds vcpuN kind
 * fields...".  Everything printed comes from an untrusted file: lengths
 * are clamped to what the event holds and strings are escaped, never
 * printed raw.
 */
#include <inttypes.h>
#include <string.h>

#include "rhyvetrace.h"

/* How many data bytes a text line shows before "..." (JSON shows all). */
#define RT_TEXT_BYTES 32

/* ---- low-level printing ------------------------------------------------ */

void
rt_print_time(FILE *fp, uint64_t ns)
{
	fprintf(fp, "%" PRIu64 ".%09" PRIu64, ns / 1000000000, ns % 1000000000);
}

void
rt_print_hex(FILE *fp, const uint8_t *p, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	if (p == NULL)
		n = 0;
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%02x", p[i]);
	if (n < len)
		fputs("...", fp);
	if (len == 0)
		fputs("-", fp);
}

void
rt_print_quoted(FILE *fp, const uint8_t *p, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	if (p == NULL)
		n = 0;
	fputc('"', fp);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		switch (c) {
		case '"':
			fputs("\\\"", fp);
			break;
		case '\\':
			fputs("\\\\", fp);
			break;
		case '\n':
			fputs("\\n", fp);
			break;
		case '\r':
			fputs("\\r", fp);
			break;
		case '\t':
			fputs("\\t", fp);
			break;
		default:
			if (c < 0x20 || c >= 0x7f)
				fprintf(fp, "\\x%02x", c);
			else
				fputc(c, fp);
		}
	}
	fputc('"', fp);
	if (n < len)
		fputs("...", fp);
}

static size_t
cstrlen(const char *s)
{
	return s == NULL ? 0 : strlen(s);
}

/* ---- text -------------------------------------------------------------- */

/*
 * The run states a checkpoint holds (kmod/vmm_run_state.c, layout 1 in
 * docs/trace-format.md): a vCPU's, the scheduler's.  Other layouts are
 * printed by length only.
 */
static uint64_t
le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
print_run_state(FILE *fp, const char *name, const uint8_t *b, uint32_t len)
{
	if (name == NULL || b == NULL || len < 4 || le_get(b, 4) != 1)
		return;
	if (strcmp(name, "vcpu") == 0 && len == 32)
		fprintf(fp, " flags=0x%" PRIx64 " sipi=%d exits=%" PRIu64,
			le_get(b + 4, 4), (int32_t)le_get(b + 8, 4),
			le_get(b + 16, 8));
	else if (strcmp(name, "sched") == 0 && len == 56)
		fprintf(fp,
			" turn=%d last=%d asleep=0x%" PRIx64
			" turn_end=%" PRIu64 " clock_ns=%" PRIu64,
			(int32_t)le_get(b + 4, 4), (int32_t)le_get(b + 8, 4),
			le_get(b + 16, 8), le_get(b + 32, 8),
			le_get(b + 48, 8));
}

static void
print_regs(FILE *fp, const struct trace_event *ev)
{
	char name[48];

	fprintf(fp, "count=%" PRIu32, ev->u.regs.count);
	for (uint32_t i = 0; ev->u.regs.regs != NULL && i < ev->u.regs.count;
	     i++) {
		rt_reg_name(ev->u.regs.regs[i].id, name, sizeof(name));
		fprintf(fp, " %s=0x%" PRIx64, name, ev->u.regs.regs[i].value);
	}
}

void
rt_print_fields(FILE *fp, const struct trace_event *ev)
{
	__typeof__(ev->u) *u = &ev->u; /* const, as ev */
	struct rt_field f[3];
	size_t nf;

	switch (ev->kind) {
	case TRACE_EV_EXIT:
		fprintf(fp, "%s rip=0x%" PRIx64 " len=%u exit#=%" PRIu64,
			rt_exit_name(u->exit.exitcode), u->exit.rip,
			u->exit.inst_length, u->exit.exit_index);
		nf = rt_exit_info(ev, f);
		for (size_t i = 0; i < nf; i++) {
			if (f[i].text != NULL)
				fprintf(fp, " %s=%s", f[i].name, f[i].text);
			else
				fprintf(fp, " %s=0x%" PRIx64, f[i].name,
					f[i].value);
		}
		if (u->exit.msg != NULL) {
			fputs(" msg=", fp);
			rt_print_quoted(fp, (const uint8_t *)u->exit.msg,
					strlen(u->exit.msg), 256);
		}
		break;
	case TRACE_EV_PIO:
		fprintf(fp, "%s port=0x%x bytes=%u", u->pio.in ? "in" : "out",
			u->pio.port, u->pio.bytes);
		if (u->pio.string)
			fprintf(fp, " string%s count=%" PRIu32,
				u->pio.rep ? " rep" : "", u->pio.count);
		fputs(" data=", fp);
		rt_print_hex(fp, u->pio.data,
			     (size_t)u->pio.count * u->pio.bytes,
			     RT_TEXT_BYTES);
		break;
	case TRACE_EV_MMIO:
		fprintf(fp, "%s gpa=0x%" PRIx64 " bytes=%u value=0x%" PRIx64,
			u->mmio.write ? "write" : "read", u->mmio.gpa,
			u->mmio.bytes, u->mmio.value);
		break;
	case TRACE_EV_DECODE:
		fputs("bytes=", fp);
		rt_print_hex(fp, u->decode.bytes,
			     u->decode.len <= 15 ? u->decode.len : 15, 15);
		if (u->decode.text != NULL) {
			fputs(" text=", fp);
			rt_print_quoted(fp, (const uint8_t *)u->decode.text,
					strlen(u->decode.text), 128);
		}
		break;
	case TRACE_EV_INJECT:
		fprintf(fp, "%s vector=%u", rt_inject_type_name(u->inject.type),
			u->inject.vector);
		if (u->inject.has_error_code)
			fprintf(fp, " error=0x%" PRIx32, u->inject.error_code);
		fprintf(fp, " at=%s:%" PRIu64,
			u->inject.point_kind == TRACE_POINT_ICOUNT ? "icount"
								   : "exit",
			u->inject.point);
		break;
	case TRACE_EV_DMA:
		fprintf(fp,
			"gpa=0x%" PRIx64 " len=%" PRIu32 " data=", u->dma.gpa,
			u->dma.len);
		rt_print_hex(fp, u->dma.data, u->dma.len, RT_TEXT_BYTES);
		break;
	case TRACE_EV_CPUID:
		fprintf(fp,
			"leaf=0x%" PRIx32 " subleaf=0x%" PRIx32
			" eax=0x%" PRIx32 " ebx=0x%" PRIx32 " ecx=0x%" PRIx32
			" edx=0x%" PRIx32,
			u->cpuid.leaf, u->cpuid.subleaf, u->cpuid.eax,
			u->cpuid.ebx, u->cpuid.ecx, u->cpuid.edx);
		break;
	case TRACE_EV_MSR:
		fprintf(fp, "%s msr=0x%" PRIx32 " value=0x%" PRIx64,
			u->msr.write ? "wrmsr" : "rdmsr", u->msr.msr,
			u->msr.value);
		break;
	case TRACE_EV_TSC:
		fprintf(fp, "value=0x%" PRIx64, u->tsc.value);
		break;
	case TRACE_EV_RANDOM:
		fprintf(fp, "%s bytes=%u value=0x%" PRIx64,
			u->random.rdseed ? "rdseed" : "rdrand", u->random.bytes,
			u->random.value);
		break;
	case TRACE_EV_INPUT:
		fprintf(fp, "source=%" PRIu32 " len=%" PRIu32 " data=",
			u->input.source, u->input.len);
		rt_print_quoted(fp, u->input.data, u->input.len, 64);
		break;
	case TRACE_EV_REGS:
		print_regs(fp, ev);
		break;
	case TRACE_EV_CKPT_BEGIN:
		fprintf(fp, "id=%" PRIu64 " nvcpus=%" PRIu32, u->ckpt_begin.id,
			u->ckpt_begin.nvcpus);
		break;
	case TRACE_EV_CKPT_DEVICE:
		fputs("name=", fp);
		rt_print_quoted(fp, (const uint8_t *)u->ckpt_device.name,
				cstrlen(u->ckpt_device.name), 64);
		fprintf(fp, " len=%" PRIu32, u->ckpt_device.len);
		print_run_state(fp, u->ckpt_device.name, u->ckpt_device.data,
				u->ckpt_device.len);
		break;
	case TRACE_EV_CKPT_PAGES:
		fprintf(fp, "gpa=0x%" PRIx64 " npages=%" PRIu32,
			u->ckpt_pages.gpa, u->ckpt_pages.npages);
		break;
	case TRACE_EV_CKPT_END:
		fprintf(fp, "id=%" PRIu64, u->ckpt_end.id);
		break;
	case TRACE_EV_MARKER:
		fputs("text=", fp);
		rt_print_quoted(fp, (const uint8_t *)u->marker.text,
				cstrlen(u->marker.text), 256);
		break;
	case TRACE_EV_END:
		fprintf(fp, "status=%" PRId32, u->end.status);
		break;
	case TRACE_EV_SCHED:
		fprintf(fp, "from=%" PRIu32 " icount=%" PRIu64, u->sched.from,
			u->sched.icount);
		break;
	default:
		break;
	}
}

void
rt_print_event(FILE *fp, const struct trace_event *ev)
{
	fprintf(fp, "#%" PRIu64 " t=", ev->index);
	rt_print_time(fp, ev->time_ns);
	fprintf(fp, " vcpu%" PRIu32 " %s ", ev->vcpu, rt_kind_name(ev->kind));
	rt_print_fields(fp, ev);
	fputc('\n', fp);
}
