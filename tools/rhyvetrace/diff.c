/*
 * rhyvetrace diff: walk two traces in step and name the first event where
 * they differ, field by field.  This is the offline twin of the
 * replayer's divergence check: two recordings of the same guest should be
 * identical except for host times, so times are ignored unless --time.
 *
 * Headers are compared too, but only reported as notes: two runs of the
 * same guest on different hosts or days differ there legitimately, and
 * whether the runs behaved the same is decided by the events.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rhyvetrace.h"

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: rhyvetrace diff [--time] A B\n"
	    "Compare two traces event by event and report the first event "
	    "that\ndiffers: its index, vCPU and kind, and each field that "
	    "differs with\nboth values.  A trace that ends early differs at "
	    "its end.  Differences\nin the headers (config, memory layout) "
	    "are printed as notes.\n"
	    "  --time   compare event times too (ignored by default)\n"
	    "Exit status: 0 identical, 1 the traces differ (or damage was "
	    "met),\n2 usage, 3 if a file cannot be read.\n");
}

/* A growing "field a vs b; field a vs b" description. */
struct why {
	char buf[1024];
	size_t len;
	unsigned n;
};

static void __attribute__((format(printf, 3, 4)))
add(struct why *w, const char *field, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (w->len >= sizeof(w->buf) - 1)
		return;
	k = snprintf(w->buf + w->len, sizeof(w->buf) - w->len, "%s%s ",
		     w->n > 0 ? "; " : "", field);
	if (k > 0)
		w->len += (size_t)k;
	if (w->len < sizeof(w->buf)) {
		va_start(ap, fmt);
		k = vsnprintf(w->buf + w->len, sizeof(w->buf) - w->len, fmt,
			      ap);
		va_end(ap);
		if (k > 0)
			w->len += (size_t)k;
	}
	if (w->len >= sizeof(w->buf))
		w->len = sizeof(w->buf) - 1;
	w->n++;
}

#define CMP_HEX(field, x, y)                                                   \
	do {                                                                   \
		if ((x) != (y))                                                \
			add(w, field, "0x%" PRIx64 " vs 0x%" PRIx64,           \
			    (uint64_t)(x), (uint64_t)(y));                     \
	} while (0)
#define CMP_DEC(field, x, y)                                                   \
	do {                                                                   \
		if ((x) != (y))                                                \
			add(w, field, "%" PRId64 " vs %" PRId64, (int64_t)(x), \
			    (int64_t)(y));                                     \
	} while (0)
#define CMP_STR(field, x, y, yes, no)                                          \
	do {                                                                   \
		if ((x) != (y))                                                \
			add(w, field, "%s vs %s", (x) ? yes : no,              \
			    (y) ? yes : no);                                   \
	} while (0)

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Byte data: equal length and content, else where they part. */
static void
cmp_bytes(struct why *w, const char *field, const uint8_t *a, size_t alen,
	  const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen, i = 0;

	if (a == NULL || b == NULL) {
		if (a != b && alen + blen > 0)
			add(w, field, "missing in one trace");
		return;
	}
	while (i < n && a[i] == b[i])
		i++;
	if (i == n && alen == blen)
		return;
	if (i == n)
		add(w, field, "length %zu vs %zu", alen, blen);
	else
		add(w, field, "byte %zu: %02x vs %02x", i, a[i], b[i]);
}

static void
cmp_text(struct why *w, const char *field, const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || strcmp(nz(a), nz(b)) != 0)
		add(w, field, "\"%.60s\" vs \"%.60s\"",
		    a != NULL ? a : "(none)", b != NULL ? b : "(none)");
}

static void
cmp_regs(struct why *w, const struct trace_event *a,
	 const struct trace_event *b)
{
	uint32_t n = a->u.regs.count < b->u.regs.count ? a->u.regs.count
						       : b->u.regs.count;
	char name[48];

	CMP_DEC("register count", a->u.regs.count, b->u.regs.count);
	if (a->u.regs.regs == NULL || b->u.regs.regs == NULL)
		return;
	for (uint32_t i = 0; i < n; i++) {
		const struct trace_reg *x = &a->u.regs.regs[i];
		const struct trace_reg *y = &b->u.regs.regs[i];

		if (x->id != y->id) {
			CMP_HEX("register id", x->id, y->id);
			return;
		}
		rt_reg_name(x->id, name, sizeof(name));
		CMP_HEX(name, x->value, y->value);
	}
}

/* Fill 'w' with every field of a and b (same kind) that differs. */
static void
cmp_fields(struct why *w, const struct trace_event *a,
	   const struct trace_event *b)
{
	__typeof__(a->u) *x = &a->u, *y = &b->u;

	switch (a->kind) {
	case TRACE_EV_EXIT:
		if (x->exit.exitcode != y->exit.exitcode)
			add(w, "reason", "%s vs %s",
			    rt_exit_name(x->exit.exitcode),
			    rt_exit_name(y->exit.exitcode));
		CMP_HEX("rip", x->exit.rip, y->exit.rip);
		CMP_DEC("len", x->exit.inst_length, y->exit.inst_length);
		for (unsigned i = 0; i < 3; i++) {
			const char *name =
			    rt_exit_info_name(x->exit.exitcode, i);
			static const char *const raw[3] = { "info[0]",
							    "info[1]",
							    "info[2]" };

			CMP_HEX(name != NULL ? name : raw[i], x->exit.info[i],
				y->exit.info[i]);
		}
		cmp_text(w, "msg", x->exit.msg, y->exit.msg);
		break;
	case TRACE_EV_PIO:
		CMP_HEX("port", x->pio.port, y->pio.port);
		CMP_DEC("bytes", x->pio.bytes, y->pio.bytes);
		CMP_STR("direction", x->pio.in, y->pio.in, "in", "out");
		CMP_STR("string", x->pio.string, y->pio.string, "yes", "no");
		CMP_STR("rep", x->pio.rep, y->pio.rep, "yes", "no");
		CMP_DEC("count", x->pio.count, y->pio.count);
		cmp_bytes(w, "data", x->pio.data,
			  (size_t)x->pio.count * x->pio.bytes, y->pio.data,
			  (size_t)y->pio.count * y->pio.bytes);
		break;
	case TRACE_EV_MMIO:
		CMP_HEX("gpa", x->mmio.gpa, y->mmio.gpa);
		CMP_DEC("bytes", x->mmio.bytes, y->mmio.bytes);
		CMP_STR("direction", x->mmio.write, y->mmio.write, "write",
			"read");
		CMP_HEX("value", x->mmio.value, y->mmio.value);
		break;
	case TRACE_EV_DECODE:
		cmp_bytes(w, "instruction bytes", x->decode.bytes,
			  x->decode.len <= 15 ? x->decode.len : 15,
			  y->decode.bytes,
			  y->decode.len <= 15 ? y->decode.len : 15);
		cmp_text(w, "text", x->decode.text, y->decode.text);
		break;
	case TRACE_EV_INJECT:
		if (x->inject.type != y->inject.type)
			add(w, "type", "%s vs %s",
			    rt_inject_type_name(x->inject.type),
			    rt_inject_type_name(y->inject.type));
		CMP_HEX("vector", x->inject.vector, y->inject.vector);
		CMP_STR("error code", x->inject.has_error_code,
			y->inject.has_error_code, "present", "absent");
		if (x->inject.has_error_code && y->inject.has_error_code)
			CMP_HEX("error code", x->inject.error_code,
				y->inject.error_code);
		CMP_DEC("point kind", x->inject.point_kind,
			y->inject.point_kind);
		CMP_DEC("point", x->inject.point, y->inject.point);
		break;
	case TRACE_EV_DMA:
		CMP_HEX("gpa", x->dma.gpa, y->dma.gpa);
		cmp_bytes(w, "data", x->dma.data, x->dma.len, y->dma.data,
			  y->dma.len);
		break;
	case TRACE_EV_CPUID:
		CMP_HEX("leaf", x->cpuid.leaf, y->cpuid.leaf);
		CMP_HEX("subleaf", x->cpuid.subleaf, y->cpuid.subleaf);
		CMP_HEX("eax", x->cpuid.eax, y->cpuid.eax);
		CMP_HEX("ebx", x->cpuid.ebx, y->cpuid.ebx);
		CMP_HEX("ecx", x->cpuid.ecx, y->cpuid.ecx);
		CMP_HEX("edx", x->cpuid.edx, y->cpuid.edx);
		break;
	case TRACE_EV_MSR:
		CMP_STR("direction", x->msr.write, y->msr.write, "wrmsr",
			"rdmsr");
		CMP_HEX("msr", x->msr.msr, y->msr.msr);
		CMP_HEX("value", x->msr.value, y->msr.value);
		break;
	case TRACE_EV_TSC:
		CMP_HEX("value", x->tsc.value, y->tsc.value);
		break;
	case TRACE_EV_RANDOM:
		CMP_STR("instruction", x->random.rdseed, y->random.rdseed,
			"rdseed", "rdrand");
		CMP_DEC("bytes", x->random.bytes, y->random.bytes);
		CMP_HEX("value", x->random.value, y->random.value);
		break;
	case TRACE_EV_INPUT:
		CMP_DEC("source", x->input.source, y->input.source);
		cmp_bytes(w, "data", x->input.data, x->input.len, y->input.data,
			  y->input.len);
		break;
	case TRACE_EV_REGS:
		cmp_regs(w, a, b);
		break;
	case TRACE_EV_CKPT_BEGIN:
		CMP_DEC("id", x->ckpt_begin.id, y->ckpt_begin.id);
		CMP_DEC("nvcpus", x->ckpt_begin.nvcpus, y->ckpt_begin.nvcpus);
		break;
	case TRACE_EV_CKPT_DEVICE:
		cmp_text(w, "device", x->ckpt_device.name, y->ckpt_device.name);
		cmp_bytes(w, "state", x->ckpt_device.data, x->ckpt_device.len,
			  y->ckpt_device.data, y->ckpt_device.len);
		break;
	case TRACE_EV_CKPT_PAGES:
		CMP_HEX("gpa", x->ckpt_pages.gpa, y->ckpt_pages.gpa);
		CMP_DEC("npages", x->ckpt_pages.npages, y->ckpt_pages.npages);
		if (x->ckpt_pages.npages == y->ckpt_pages.npages)
			cmp_bytes(w, "page data", x->ckpt_pages.data,
				  (size_t)x->ckpt_pages.npages * 4096,
				  y->ckpt_pages.data,
				  (size_t)y->ckpt_pages.npages * 4096);
		break;
	case TRACE_EV_CKPT_END:
		CMP_DEC("id", x->ckpt_end.id, y->ckpt_end.id);
		break;
	case TRACE_EV_MARKER:
		cmp_text(w, "text", x->marker.text, y->marker.text);
		break;
	case TRACE_EV_END:
		CMP_DEC("status", x->end.status, y->end.status);
		break;
	case TRACE_EV_SCHED:
		CMP_DEC("from", x->sched.from, y->sched.from);
		CMP_DEC("icount", x->sched.icount, y->sched.icount);
		break;
	default:
		break;
	}
}

/* Keys whose values differ between any two runs: not worth a note. */
static bool
volatile_key(const char *key)
{
	return strncmp(key, "host.", 5) == 0 || strstr(key, "time") != NULL ||
	       strstr(key, "start") != NULL || strstr(key, "date") != NULL;
}

static void
diff_headers(struct trace_reader *ra, struct trace_reader *rb)
{
	const struct trace_kv *kv;
	size_t n;
	int amaj, amin, bmaj, bmin;

	trace_version(ra, &amaj, &amin);
	trace_version(rb, &bmaj, &bmin);
	if (amaj != bmaj || amin != bmin)
		printf("note: format versions differ: %d.%d vs %d.%d\n", amaj,
		       amin, bmaj, bmin);
	kv = trace_header(ra, &n);
	for (size_t i = 0; i < n; i++) {
		const char *bv;

		if (kv[i].key == NULL || volatile_key(kv[i].key))
			continue;
		bv = trace_header_get(rb, kv[i].key);
		if (bv == NULL)
			printf("note: header %s=%s only in A\n", kv[i].key,
			       nz(kv[i].value));
		else if (strcmp(nz(kv[i].value), bv) != 0)
			printf("note: header %s differs: %s vs %s\n", kv[i].key,
			       nz(kv[i].value), bv);
	}
	kv = trace_header(rb, &n);
	for (size_t i = 0; i < n; i++)
		if (kv[i].key != NULL && !volatile_key(kv[i].key) &&
		    trace_header_get(ra, kv[i].key) == NULL)
			printf("note: header %s=%s only in B\n", kv[i].key,
			       nz(kv[i].value));
}

/* "vcpu 0 exit #617" or "vcpu 0 pio after exit #617". */
static void
where(char *buf, size_t len, const struct trace_event *ev,
      struct rt_map *last_exit)
{
	struct rt_key k = { { ev->vcpu } };
	struct rt_entry *e = rt_map_find(last_exit, &k);

	if (ev->kind == TRACE_EV_EXIT)
		snprintf(buf, len, "vcpu %" PRIu32 " exit #%" PRIu64, ev->vcpu,
			 ev->u.exit.exit_index);
	else if (e != NULL)
		snprintf(buf, len, "vcpu %" PRIu32 " %s after exit #%" PRIu64,
			 ev->vcpu, rt_kind_name(ev->kind), e->v[0]);
	else
		snprintf(buf, len, "vcpu %" PRIu32 " %s", ev->vcpu,
			 rt_kind_name(ev->kind));
}

int
rt_cmd_diff(int argc, char **argv)
{
	enum { OPT_TIME = 256 };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "time", no_argument, NULL, OPT_TIME },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_reader *ra, *rb;
	struct trace_event a, b;
	struct rt_progress prog;
	struct rt_map last_exit;
	const char *pa, *pb;
	uint64_t n = 0;
	bool times = false;
	int c, status = RT_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return RT_EXIT_OK;
		case OPT_TIME:
			times = true;
			break;
		default:
			return rt_option_error("diff", c, argv);
		}
	}
	if (argc - optind != 2)
		return rt_usage_error("diff", "expects two FILEs");
	pa = argv[optind];
	pb = argv[optind + 1];
	if ((ra = rt_open(pa)) == NULL)
		return RT_EXIT_IO;
	if ((rb = rt_open(pb)) == NULL) {
		trace_close(ra);
		return RT_EXIT_IO;
	}
	diff_headers(ra, rb);

	rt_map_init(&last_exit);
	rt_progress_start(&prog, "diff", ra, false);
	for (;;) {
		int rca = trace_next(ra, &a), rcb = trace_next(rb, &b);
		struct why w = { .len = 0 };
		char ctx[96];

		if (rca < 0 || rcb < 0) {
			rt_progress_end(&prog);
			printf("compared %" PRIu64 " events before damage\n",
			       n);
			if (rca < 0)
				rt_report_damage(ra, pa);
			if (rcb < 0)
				rt_report_damage(rb, pb);
			status = RT_EXIT_DAMAGE;
			break;
		}
		if (rca == 0 && rcb == 0) {
			rt_progress_end(&prog);
			printf("identical (%" PRIu64 " events)\n", n);
			break;
		}
		rt_progress_tick(&prog, n);
		if (rca == 0 || rcb == 0) {
			const struct trace_event *more = rca ? &a : &b;

			rt_progress_end(&prog);
			printf("traces differ at event %" PRIu64 ": %s ends "
			       "after %" PRIu64 " events, %s goes on\n",
			       n, rca ? "B" : "A", n, rca ? "A" : "B");
			printf("  %s: ", rca ? "A" : "B");
			rt_print_event(stdout, more);
			status = RT_EXIT_DAMAGE;
			break;
		}
		/* Indexes part where one trace has an extension event. */
		if (a.index != b.index)
			add(&w, "index", "%" PRIu64 " vs %" PRIu64, a.index,
			    b.index);
		if (a.kind != b.kind)
			add(&w, "kind", "%s vs %s", rt_kind_name(a.kind),
			    rt_kind_name(b.kind));
		if (a.vcpu != b.vcpu)
			add(&w, "vcpu", "%" PRIu32 " vs %" PRIu32, a.vcpu,
			    b.vcpu);
		if (w.n == 0)
			cmp_fields(&w, &a, &b);
		if (times && a.time_ns != b.time_ns)
			add(&w, "time", "%" PRIu64 " vs %" PRIu64 " ns",
			    a.time_ns, b.time_ns);
		if (w.n > 0) {
			rt_progress_end(&prog);
			where(ctx, sizeof(ctx), &a, &last_exit);
			printf("traces differ at event %" PRIu64 " (%s): %s\n",
			       a.index, ctx, w.buf);
			printf("  A: ");
			rt_print_event(stdout, &a);
			printf("  B: ");
			rt_print_event(stdout, &b);
			status = RT_EXIT_DAMAGE;
			break;
		}
		if (a.kind == TRACE_EV_EXIT) {
			struct rt_key k = { { a.vcpu } };

			rt_map_get(&last_exit, &k)->v[0] = a.u.exit.exit_index;
		}
		n++;
	}
	rt_map_free(&last_exit);
	trace_close(ra);
	trace_close(rb);
	return status;
}
