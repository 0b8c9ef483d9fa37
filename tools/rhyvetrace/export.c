/*
 * rhyvetrace export --format=chrome: the trace as a Chrome trace-event
 * JSON timeline ({"traceEvents":[...]}), which Perfetto UI and
 * chrome://tracing open.
 *
 * One process (the VM, named from config.name), one thread per vCPU
 * (tid = vCPU + 1) and a "vm" thread (tid 0) for checkpoints.  Each exit
 * is a complete event ("X") named by its reason, from the exit to the
 * vCPU's next later-timed event; the events that complete the exit (its
 * port or MMIO access, decode, register values) become its args, so a
 * slice is written only when the vCPU's next exit (or an instant event,
 * or the end) shows up.  Injections, markers and the end are instant
 * events ("i") on the vCPU's thread.  Writing a vCPU's pending slice
 * before any later event of that thread keeps "ts" in order per thread.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rhyvetrace.h"

/* Duration of a slice with no later event on its vCPU, in ns. */
#define EPSILON_NS 1000

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: rhyvetrace export [--format=chrome] [-o OUT] [--from I] "
	    "[--to I] FILE\n"
	    "Write the trace as a Chrome/Perfetto trace-event JSON timeline "
	    "(open\nit in https://ui.perfetto.dev or chrome://tracing): a "
	    "thread per vCPU,\neach exit a slice named by its reason (args: "
	    "rip, port, gpa, value,\ninstruction bytes), injections and "
	    "markers as instant events,\ncheckpoints on a \"vm\" thread.\n"
	    "  --format=chrome  the output format (the only one, the "
	    "default)\n"
	    "  -o OUT           write to OUT instead of stdout\n"
	    "  --from I, --to I only events I.. and ..I (inclusive): a long "
	    "trace\n"
	    "                   makes more JSON than a browser can load "
	    "(~100 bytes\n"
	    "                   per event)\n"
	    "Exit status: 0, 1 if damage was met (the JSON is complete and "
	    "covers\nwhat was read), 2 usage, 3 if a file cannot be read or "
	    "written.\n");
}

/* A vCPU's exit that is waiting for its end and its details. */
struct pending {
	bool active, has_end;
	uint64_t t, end, index, exit_index, rip;
	uint32_t exitcode;
	uint8_t len;
	/* details */
	bool has_pio, pio_in;
	uint16_t port;
	uint8_t pio_bytes;
	uint32_t pio_count;
	uint64_t pio_value;
	bool has_mmio, mmio_write;
	uint8_t mmio_bytes;
	uint64_t gpa, mmio_value;
	uint8_t ilen, ibytes[15];
	bool has_msr, msr_write;
	uint32_t msr;
	uint64_t msr_value;
	bool has_cpuid;
	uint32_t leaf, subleaf;
	char msg[128];
	struct rt_field info[3]; /* the exit's info[], named */
	size_t ninfo;
};

struct exporter {
	FILE *out;
	bool first;          /* no event written yet: no comma */
	struct rt_map vcpus; /* vcpu -> index + 1 into 'pend' */
	struct pending *pend;
	size_t npend, cappend;
	/* the checkpoint in progress */
	bool ckpt, ckpt_had;
	uint64_t ckpt_t, ckpt_id, ckpt_pages, ckpt_devices, ckpt_index;
	uint32_t ckpt_nvcpus;
	uint64_t last_t; /* latest event time seen */
};

static void
ts(FILE *fp, const char *key, uint64_t ns)
{
	/* microseconds, exactly: ns / 1000 with three decimals */
	fprintf(fp, ",\"%s\":%" PRIu64 ".%03u", key, ns / 1000,
		(unsigned)(ns % 1000));
}

/* Start one event object; the caller writes the rest and the '}'. */
static void
begin(struct exporter *x, const char *ph, const char *name, uint64_t tid)
{
	fputs(x->first ? "\n" : ",\n", x->out);
	x->first = false;
	fprintf(x->out,
		"{\"ph\":\"%s\",\"pid\":1,\"tid\":%" PRIu64 ",\"name\":", ph,
		tid);
	rt_json_string(x->out, name, strlen(name));
}

static void
meta(struct exporter *x, const char *what, uint64_t tid, const char *key,
     const char *str, int64_t num)
{
	begin(x, "M", what, tid);
	fprintf(x->out, ",\"args\":{\"%s\":", key);
	if (str != NULL)
		rt_json_string(x->out, str, strlen(str));
	else
		fprintf(x->out, "%" PRId64, num);
	fputs("}}", x->out);
}

static struct pending *
track(struct exporter *x, uint32_t vcpu)
{
	struct rt_key k = { { vcpu } };
	struct rt_entry *e = rt_map_get(&x->vcpus, &k);
	char name[32];

	if (e->v[0] == 0) {
		if (x->npend == x->cappend) {
			size_t ncap = x->cappend ? x->cappend * 2 : 16;
			struct pending *np = rt_xcalloc(ncap, sizeof(*np));

			if (x->npend > 0)
				memcpy(np, x->pend, x->npend * sizeof(*np));
			free(x->pend);
			x->pend = np;
			x->cappend = ncap;
		}
		memset(&x->pend[x->npend], 0, sizeof(x->pend[0]));
		e->v[0] = ++x->npend;
		snprintf(name, sizeof(name), "vcpu %" PRIu32, vcpu);
		meta(x, "thread_name", (uint64_t)vcpu + 1, "name", name, 0);
		meta(x, "thread_sort_index", (uint64_t)vcpu + 1, "sort_index",
		     NULL, (int64_t)vcpu + 1);
	}
	return &x->pend[e->v[0] - 1];
}

static void
arg_hex(FILE *fp, const char *key, uint64_t v)
{
	fprintf(fp, ",\"%s\":\"0x%" PRIx64 "\"", key, v);
}

/* Write vCPU 'vcpu's pending exit slice, if any. */
static void
flush(struct exporter *x, uint32_t vcpu, struct pending *p)
{
	uint64_t dur;
	FILE *fp = x->out;

	if (!p->active)
		return;
	dur = p->has_end && p->end > p->t ? p->end - p->t : EPSILON_NS;
	begin(x, "X", rt_exit_name(p->exitcode), (uint64_t)vcpu + 1);
	fputs(",\"cat\":\"exit\"", fp);
	ts(fp, "ts", p->t);
	ts(fp, "dur", dur);
	fprintf(fp, ",\"args\":{\"index\":%" PRIu64 ",\"exit\":%" PRIu64,
		p->index, p->exit_index);
	arg_hex(fp, "rip", p->rip);
	if (p->len != 0)
		fprintf(fp, ",\"len\":%u", p->len);
	if (p->has_pio) {
		arg_hex(fp, "port", p->port);
		fprintf(fp, ",\"dir\":\"%s\",\"bytes\":%u",
			p->pio_in ? "in" : "out", p->pio_bytes);
		arg_hex(fp, "value", p->pio_value);
		if (p->pio_count != 1)
			fprintf(fp, ",\"count\":%" PRIu32, p->pio_count);
	}
	if (p->has_mmio) {
		arg_hex(fp, "gpa", p->gpa);
		fprintf(fp, ",\"dir\":\"%s\",\"bytes\":%u",
			p->mmio_write ? "write" : "read", p->mmio_bytes);
		arg_hex(fp, "value", p->mmio_value);
	}
	if (p->has_msr) {
		arg_hex(fp, "msr", p->msr);
		fprintf(fp, ",\"msr_dir\":\"%s\"",
			p->msr_write ? "wrmsr" : "rdmsr");
		arg_hex(fp, "msr_value", p->msr_value);
	}
	if (p->has_cpuid) {
		arg_hex(fp, "leaf", p->leaf);
		arg_hex(fp, "subleaf", p->subleaf);
	}
	if (p->ilen > 0) {
		fputs(",\"insn\":", fp);
		rt_json_hex(fp, p->ibytes, p->ilen);
	}
	for (size_t i = 0; i < p->ninfo; i++) {
		if (p->info[i].text != NULL)
			fprintf(fp, ",\"%s\":\"%s\"", p->info[i].name,
				p->info[i].text);
		else
			arg_hex(fp, p->info[i].name, p->info[i].value);
	}
	if (p->msg[0] != '\0') {
		fputs(",\"msg\":", fp);
		rt_json_string(fp, p->msg, strlen(p->msg));
	}
	fputs("}}", fp);
	p->active = false;
}

static void
instant(struct exporter *x, const struct trace_event *ev, const char *name)
{
	begin(x, "i", name, (uint64_t)ev->vcpu + 1);
	fprintf(x->out, ",\"cat\":\"%s\",\"s\":\"t\"", rt_kind_name(ev->kind));
	ts(x->out, "ts", ev->time_ns);
	fprintf(x->out, ",\"args\":{\"index\":%" PRIu64, ev->index);
}

static void
ckpt_flush(struct exporter *x, uint64_t end)
{
	char name[48];

	if (!x->ckpt)
		return;
	snprintf(name, sizeof(name), "checkpoint %" PRIu64, x->ckpt_id);
	begin(x, "X", name, 0);
	fputs(",\"cat\":\"checkpoint\"", x->out);
	ts(x->out, "ts", x->ckpt_t);
	ts(x->out, "dur", end > x->ckpt_t ? end - x->ckpt_t : EPSILON_NS);
	fprintf(x->out,
		",\"args\":{\"index\":%" PRIu64 ",\"id\":%" PRIu64
		",\"nvcpus\":%" PRIu32 ",\"devices\":%" PRIu64
		",\"pages\":%" PRIu64 "}}",
		x->ckpt_index, x->ckpt_id, x->ckpt_nvcpus, x->ckpt_devices,
		x->ckpt_pages);
	x->ckpt = false;
}

static void
on_event(struct exporter *x, const struct trace_event *ev)
{
	struct pending *p = track(x, ev->vcpu);
	char name[96];

	/* The first later event on this vCPU ends its exit's slice. */
	if (p->active && !p->has_end && ev->time_ns > p->t) {
		p->end = ev->time_ns;
		p->has_end = true;
	}
	switch (ev->kind) {
	case TRACE_EV_EXIT:
		flush(x, ev->vcpu, p);
		memset(p, 0, sizeof(*p));
		p->active = true;
		p->t = ev->time_ns;
		p->index = ev->index;
		p->exit_index = ev->u.exit.exit_index;
		p->rip = ev->u.exit.rip;
		p->exitcode = ev->u.exit.exitcode;
		p->len = ev->u.exit.inst_length;
		if (ev->u.exit.msg != NULL)
			snprintf(p->msg, sizeof(p->msg), "%s", ev->u.exit.msg);
		p->ninfo = rt_exit_info(ev, p->info);
		return;
	case TRACE_EV_PIO:
		p->has_pio = true;
		p->port = ev->u.pio.port;
		p->pio_in = ev->u.pio.in;
		p->pio_bytes = ev->u.pio.bytes;
		p->pio_count = ev->u.pio.count;
		p->pio_value = 0;
		/* The first element, little-endian as the guest sees it. */
		for (unsigned i = 0;
		     ev->u.pio.data != NULL && ev->u.pio.count > 0 &&
		     i < ev->u.pio.bytes && i < 8;
		     i++)
			p->pio_value |= (uint64_t)ev->u.pio.data[i] << (8 * i);
		return;
	case TRACE_EV_MMIO:
		p->has_mmio = true;
		p->gpa = ev->u.mmio.gpa;
		p->mmio_write = ev->u.mmio.write;
		p->mmio_bytes = ev->u.mmio.bytes;
		p->mmio_value = ev->u.mmio.value;
		return;
	case TRACE_EV_DECODE:
		p->ilen = ev->u.decode.len <= 15 ? ev->u.decode.len : 15;
		memcpy(p->ibytes, ev->u.decode.bytes, p->ilen);
		return;
	case TRACE_EV_MSR:
		p->has_msr = true;
		p->msr_write = ev->u.msr.write;
		p->msr = ev->u.msr.msr;
		p->msr_value = ev->u.msr.value;
		return;
	case TRACE_EV_CPUID:
		p->has_cpuid = true;
		p->leaf = ev->u.cpuid.leaf;
		p->subleaf = ev->u.cpuid.subleaf;
		return;
	case TRACE_EV_INJECT:
		flush(x, ev->vcpu, p);
		snprintf(name, sizeof(name), "inject %s %u",
			 rt_inject_type_name(ev->u.inject.type),
			 ev->u.inject.vector);
		instant(x, ev, name);
		fprintf(x->out, ",\"vector\":%u", ev->u.inject.vector);
		if (ev->u.inject.has_error_code)
			arg_hex(x->out, "error_code", ev->u.inject.error_code);
		fprintf(x->out, ",\"at\":\"%s:%" PRIu64 "\"}}",
			ev->u.inject.point_kind == TRACE_POINT_ICOUNT ? "icount"
								      : "exit",
			ev->u.inject.point);
		return;
	case TRACE_EV_MARKER: {
		const char *text =
		    ev->u.marker.text != NULL ? ev->u.marker.text : "";

		flush(x, ev->vcpu, p);
		instant(x, ev, text[0] != '\0' ? text : "marker");
		fputs("}}", x->out);
		return;
	}
	case TRACE_EV_END:
		flush(x, ev->vcpu, p);
		snprintf(name, sizeof(name), "end (status %" PRId32 ")",
			 ev->u.end.status);
		instant(x, ev, name);
		fprintf(x->out, ",\"status\":%" PRId32 "}}", ev->u.end.status);
		return;
	case TRACE_EV_CKPT_BEGIN:
		flush(x, ev->vcpu, p);
		ckpt_flush(x, ev->time_ns); /* one never ended: damage */
		if (!x->ckpt_had)
			meta(x, "thread_name", 0, "name", "vm", 0);
		x->ckpt_had = true;
		x->ckpt = true;
		x->ckpt_t = ev->time_ns;
		x->ckpt_id = ev->u.ckpt_begin.id;
		x->ckpt_nvcpus = ev->u.ckpt_begin.nvcpus;
		x->ckpt_index = ev->index;
		x->ckpt_pages = x->ckpt_devices = 0;
		return;
	case TRACE_EV_CKPT_DEVICE:
		x->ckpt_devices++;
		return;
	case TRACE_EV_CKPT_PAGES:
		x->ckpt_pages += ev->u.ckpt_pages.npages;
		return;
	case TRACE_EV_CKPT_END:
		ckpt_flush(x, ev->time_ns);
		return;
	default:
		/* DMA, TSC, RANDOM, INPUT, REGS, SCHED: no mark of their own.
		 */
		return;
	}
}

int
rt_cmd_export(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_FROM, OPT_TO };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "output", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ NULL, 0, NULL, 0 },
	};
	struct exporter x;
	struct rt_progress prog;
	struct trace_reader *r;
	struct trace_event ev;
	const char *outpath = NULL, *vmname;
	uint64_t seen = 0, from = 0, to = UINT64_MAX;
	int c, rc, status = RT_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return RT_EXIT_OK;
		case OPT_FORMAT:
			if (strcmp(optarg, "chrome") != 0)
				return rt_usage_error(
				    "export", "unknown format '%s' (chrome)",
				    optarg);
			break;
		case 'o':
			outpath = optarg;
			break;
		case OPT_FROM:
		case OPT_TO:
			if (!rt_parse_u64(optarg, c == OPT_FROM ? &from : &to))
				return rt_usage_error(
				    "export", "bad value '%s' for --%s", optarg,
				    c == OPT_FROM ? "from" : "to");
			break;
		default:
			return rt_option_error("export", c, argv);
		}
	}
	if (argc - optind != 1)
		return rt_usage_error("export", "expects one FILE");
	if (from > to)
		return rt_usage_error("export", "--from is after --to");
	if ((r = rt_open(argv[optind])) == NULL)
		return RT_EXIT_IO;

	memset(&x, 0, sizeof(x));
	x.out = stdout;
	x.first = true;
	if (outpath != NULL && strcmp(outpath, "-") != 0 &&
	    (x.out = fopen(outpath, "w")) == NULL) {
		rt_warnx("%s: %m", outpath);
		trace_close(r);
		return RT_EXIT_IO;
	}
	rt_map_init(&x.vcpus);

	vmname = trace_header_get(r, "config.name");
	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{", x.out);
	{
		size_t n;
		const struct trace_kv *kv = trace_header(r, &n);
		bool any = false;

		/* The header as metadata: Perfetto shows it under info. */
		for (size_t i = 0; i < n; i++) {
			if (kv[i].key == NULL)
				continue;
			fputs(any ? "," : "", x.out);
			rt_json_string(x.out, kv[i].key, strlen(kv[i].key));
			fputc(':', x.out);
			rt_json_string(x.out, kv[i].value ? kv[i].value : "",
				       kv[i].value ? strlen(kv[i].value) : 0);
			any = true;
		}
	}
	fputs("},\"traceEvents\":[", x.out);
	meta(&x, "process_name", 0, "name",
	     vmname != NULL && vmname[0] != '\0' ? vmname : "rhyve VM", 0);

	rt_progress_start(&prog, "export", r, outpath == NULL);
	rc = from > 0 && trace_seek(r, from) != 0 ? -1 : 1;
	if (rc < 0 && trace_reader_damage(r) == NULL)
		rc = 0; /* past the end: an empty timeline */
	while (rc > 0 && (rc = trace_next(r, &ev)) != 0) {
		if (rc < 0)
			break;
		if (ev.index > to)
			break;
		rt_progress_tick(&prog, ++seen);
		if (ev.time_ns > x.last_t)
			x.last_t = ev.time_ns;
		on_event(&x, &ev);
	}
	rt_progress_end(&prog);
	/* What is still open ends here, so the JSON is always whole. */
	for (size_t i = 0; i < x.vcpus.cap; i++)
		if (x.vcpus.slots[i].used)
			flush(&x, (uint32_t)x.vcpus.slots[i].key.k[0],
			      &x.pend[x.vcpus.slots[i].v[0] - 1]);
	ckpt_flush(&x, x.last_t);
	fputs("\n]}\n", x.out);
	if (rc < 0) {
		rt_report_damage(r, argv[optind]);
		status = RT_EXIT_DAMAGE;
	}
	if (fflush(x.out) != 0 || ferror(x.out)) {
		rt_warnx("%s: write error", outpath ? outpath : "stdout");
		status = RT_EXIT_IO;
	}
	if (x.out != stdout && fclose(x.out) != 0 && status == RT_EXIT_OK) {
		rt_warnx("%s: write error", outpath);
		status = RT_EXIT_IO;
	}
	rt_map_free(&x.vcpus);
	free(x.pend);
	trace_close(r);
	return status;
}
