/*
 * rhyvetrace stats: where the exits come from.  One pass over the events:
 * exits per reason and per vCPU, the busiest ports and MMIO addresses, and
 * a histogram of exits over time.  Memory stays bounded by the number of
 * distinct vCPUs/addresses, not by the trace length.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rhyvetrace.h"
#include "vmm.h"

/* Exit codes beyond the known ones are counted together. */
#define NREASONS (VM_EXITCODE_MAX + 1)
/* Auto histogram: at most this many fine buckets before coarsening ... */
#define HIST_FINE 4000
/* ... and at most this many rows printed. */
#define HIST_ROWS 40
/* A user-chosen interval may not need more buckets than this. */
#define HIST_MAX (1u << 24)

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: rhyvetrace stats [--top N] [--interval MS] [--mmio-page] "
	    "FILE\n"
	    "Exits per exit reason and per vCPU, the top N ports (with the "
	    "in/out\nsplit) and MMIO addresses (read/write), and exits over "
	    "time.\n"
	    "  --top N        rows in the port and MMIO tables (default 10)\n"
	    "  --interval MS  histogram bucket width in milliseconds "
	    "(fractions ok;\n"
	    "                 default: chosen for at most 40 rows)\n"
	    "  --mmio-page    group MMIO accesses by 4 KiB page\n"
	    "Exit status: 0, 1 if damage was met (the figures cover what was "
	    "read),\n2 usage, 3 if FILE cannot be read.\n");
}

/* Exits over time: counts per bucket of 'width' ns from 't0'. */
struct hist {
	bool fixed; /* --interval: never coarsen */
	uint64_t width;
	uint64_t t0;
	bool started;
	uint64_t *n;
	size_t len, cap;
};

static bool
hist_add(struct hist *h, uint64_t t)
{
	uint64_t i;

	if (!h->started) {
		h->started = true;
		h->t0 = t;
	}
	i = t > h->t0 ? (t - h->t0) / h->width : 0;
	/* Auto mode: coarsen tenfold until the bucket fits. */
	while (!h->fixed && i >= HIST_FINE) {
		size_t nlen = (h->len + 9) / 10;

		for (size_t j = 0; j < nlen; j++) {
			uint64_t s = 0;

			for (size_t k = j * 10; k < j * 10 + 10 && k < h->len;
			     k++)
				s += h->n[k];
			h->n[j] = s;
		}
		h->len = nlen;
		h->width *= 10;
		i = (t - h->t0) / h->width;
	}
	if (i >= HIST_MAX)
		return false;
	if (i >= h->cap) {
		size_t ncap = h->cap == 0 ? 64 : h->cap;

		while (ncap <= i)
			ncap *= 2;
		uint64_t *nn = rt_xcalloc(ncap, sizeof(*nn));

		if (h->len > 0)
			memcpy(nn, h->n, h->len * sizeof(*nn));
		free(h->n);
		h->n = nn;
		h->cap = ncap;
	}
	if (i >= h->len)
		h->len = i + 1;
	h->n[i]++;
	return true;
}

static void
hist_print(struct hist *h)
{
	static const unsigned steps[] = { 1, 2, 5 };
	uint64_t f = 1, max = 0, w;
	size_t rows;
	int dec;

	if (h->len == 0) {
		printf("\nexits over time: no exits\n");
		return;
	}
	/*
	 * Auto mode: merge by 1, 2, 5, 10, 20, ... buckets, the first that
	 * fits in HIST_ROWS, so the widths stay round numbers.
	 */
	if (!h->fixed) {
		uint64_t mag = 1;

		for (;;) {
			bool done = false;

			for (unsigned s = 0; s < 3; s++) {
				f = steps[s] * mag;
				if ((h->len + f - 1) / f <= HIST_ROWS) {
					done = true;
					break;
				}
			}
			if (done)
				break;
			mag *= 10;
		}
	}
	rows = (h->len + f - 1) / f;
	for (size_t r = 0; r < rows; r++) {
		uint64_t s = 0;

		for (size_t k = r * f; k < r * f + f && k < h->len; k++)
			s += h->n[k];
		h->n[r] = s;
		if (s > max)
			max = s;
	}
	/* Row labels in ms with just the decimals the width needs. */
	w = h->width * f;
	for (dec = 0; dec < 6 && w % 1000000 != 0; dec++)
		w *= 10;
	printf("\nexits over time (interval %.6g ms, from t=",
	       (double)(h->width * f) / 1e6);
	rt_print_time(stdout, h->t0);
	printf(" s):\n");
	for (size_t r = 0; r < rows; r++) {
		unsigned bar = max > 0 ? (unsigned)(h->n[r] * 50 / max) : 0;

		printf("  %*.*f ms %10" PRIu64 " ", 12, dec,
		       (double)(r * h->width * f) / 1e6, h->n[r]);
		for (unsigned b = 0; b < bar; b++)
			putchar('#');
		putchar('\n');
	}
}

static int
by_v0_desc(const void *a, const void *b)
{
	const struct rt_entry *x = a, *y = b;

	if (x->v[0] != y->v[0])
		return x->v[0] < y->v[0] ? 1 : -1;
	return x->key.k[0] < y->key.k[0] ? -1 : x->key.k[0] > y->key.k[0];
}

static int
by_key(const void *a, const void *b)
{
	const struct rt_entry *x = a, *y = b;

	return x->key.k[0] < y->key.k[0] ? -1 : x->key.k[0] > y->key.k[0];
}

static double
pct(uint64_t part, uint64_t whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

struct stats {
	uint64_t events, exits;
	uint64_t per_kind[TRACE_EV_KIND_MAX];
	uint64_t reasons[NREASONS];
	struct rt_map vcpus;   /* vcpu -> events, exits */
	struct rt_map vreason; /* (vcpu, reason) -> exits */
	uint64_t (*ports)[2];  /* [port][in, out] */
	uint64_t pio;
	struct rt_map mmio; /* gpa or page -> total, reads, writes */
	uint64_t mmio_n;
};

static void
print_stats(struct stats *st, size_t top, bool page)
{
	struct rt_entry *e;
	size_t n;

	printf("events: %" PRIu64 ", exits: %" PRIu64 "\n", st->events,
	       st->exits);
	for (int k = 1; k < TRACE_EV_KIND_MAX; k++)
		if (st->per_kind[k] != 0)
			printf("  %-12s %12" PRIu64 "\n",
			       rt_kind_name((enum trace_kind)k),
			       st->per_kind[k]);

	printf("\nexits per reason:\n");
	for (int i = 0; i < NREASONS; i++)
		if (st->reasons[i] != 0)
			printf("  %-12s %12" PRIu64 " %6.2f%%\n",
			       rt_exit_name((uint32_t)i), st->reasons[i],
			       pct(st->reasons[i], st->exits));

	printf("\nper vCPU:\n  %-6s %12s %12s", "vcpu", "events", "exits");
	for (int i = 0; i < NREASONS; i++)
		if (st->reasons[i] != 0)
			printf(" %12s", rt_exit_name((uint32_t)i));
	putchar('\n');
	e = rt_map_sorted(&st->vcpus, by_key, &n);
	for (size_t j = 0; j < n; j++) {
		printf("  %-6" PRIu64 " %12" PRIu64 " %12" PRIu64,
		       e[j].key.k[0], e[j].v[0], e[j].v[1]);
		for (int i = 0; i < NREASONS; i++) {
			struct rt_key k = { { e[j].key.k[0], (uint64_t)i } };
			struct rt_entry *x;

			if (st->reasons[i] == 0)
				continue;
			x = rt_map_find(&st->vreason, &k);
			printf(" %12" PRIu64, x != NULL ? x->v[0] : 0);
		}
		putchar('\n');
	}
	free(e);

	printf("\ntop ports (%" PRIu64 " accesses):\n", st->pio);
	if (st->pio > 0) {
		struct rt_map pm;

		/* Sort the used ports through a map: at most 65536 rows. */
		rt_map_init(&pm);
		for (uint32_t p = 0; p < 65536; p++) {
			if (st->ports[p][0] + st->ports[p][1] == 0)
				continue;
			struct rt_key k = { { p } };
			struct rt_entry *x = rt_map_get(&pm, &k);

			x->v[0] = st->ports[p][0] + st->ports[p][1];
			x->v[1] = st->ports[p][0];
			x->v[2] = st->ports[p][1];
		}
		e = rt_map_sorted(&pm, by_v0_desc, &n);
		printf("  %-8s %12s %7s %12s %12s\n", "port", "count", "share",
		       "in", "out");
		for (size_t j = 0; j < n && j < top; j++)
			printf("  0x%-6" PRIx64 " %12" PRIu64
			       " %6.2f%% %12" PRIu64 " %12" PRIu64 "\n",
			       e[j].key.k[0], e[j].v[0],
			       pct(e[j].v[0], st->pio), e[j].v[1], e[j].v[2]);
		if (n > top)
			printf("  (%zu more ports)\n", n - top);
		free(e);
		rt_map_free(&pm);
	}

	printf("\ntop MMIO %s (%" PRIu64 " accesses):\n",
	       page ? "pages" : "addresses", st->mmio_n);
	if (st->mmio_n > 0) {
		e = rt_map_sorted(&st->mmio, by_v0_desc, &n);
		printf("  %-18s %12s %7s %12s %12s\n", page ? "page" : "gpa",
		       "count", "share", "read", "write");
		for (size_t j = 0; j < n && j < top; j++)
			printf("  0x%-16" PRIx64 " %12" PRIu64
			       " %6.2f%% %12" PRIu64 " %12" PRIu64 "\n",
			       e[j].key.k[0], e[j].v[0],
			       pct(e[j].v[0], st->mmio_n), e[j].v[1],
			       e[j].v[2]);
		if (n > top)
			printf("  (%zu more)\n", n - top);
		free(e);
	}
}

int
rt_cmd_stats(int argc, char **argv)
{
	enum { OPT_TOP = 256, OPT_INTERVAL, OPT_PAGE };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "mmio-page", no_argument, NULL, OPT_PAGE },
		{ NULL, 0, NULL, 0 },
	};
	struct stats st;
	struct hist h = { .width = 1000 }; /* auto: start at 1 us */
	struct rt_progress prog;
	struct trace_reader *r;
	struct trace_event ev;
	uint64_t top = 10;
	bool page = false;
	int c, rc, status = RT_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return RT_EXIT_OK;
		case OPT_TOP:
			if (!rt_parse_u64(optarg, &top) || top == 0)
				return rt_usage_error(
				    "stats", "bad value '%s' for --top",
				    optarg);
			break;
		case OPT_INTERVAL: {
			char *end;
			double ms = strtod(optarg, &end);

			if (*optarg == '\0' || *end != '\0' || !isfinite(ms) ||
			    ms * 1e6 < 1 || ms * 1e6 > 1e18)
				return rt_usage_error(
				    "stats", "bad value '%s' for --interval",
				    optarg);
			h.width = (uint64_t)(ms * 1e6);
			h.fixed = true;
			break;
		}
		case OPT_PAGE:
			page = true;
			break;
		default:
			return rt_option_error("stats", c, argv);
		}
	}
	if (argc - optind != 1)
		return rt_usage_error("stats", "expects one FILE");
	if ((r = rt_open(argv[optind])) == NULL)
		return RT_EXIT_IO;

	memset(&st, 0, sizeof(st));
	rt_map_init(&st.vcpus);
	rt_map_init(&st.vreason);
	rt_map_init(&st.mmio);
	st.ports = rt_xcalloc(65536, sizeof(*st.ports));
	rt_progress_start(&prog, "stats", r, false);
	while ((rc = trace_next(r, &ev)) != 0) {
		struct rt_key vk = { { ev.vcpu } };
		struct rt_entry *v;

		if (rc < 0) {
			status = RT_EXIT_DAMAGE;
			break;
		}
		rt_progress_tick(&prog, ++st.events);
		if ((unsigned)ev.kind < TRACE_EV_KIND_MAX)
			st.per_kind[ev.kind]++;
		v = rt_map_get(&st.vcpus, &vk);
		v->v[0]++;
		switch (ev.kind) {
		case TRACE_EV_EXIT: {
			uint32_t reason = ev.u.exit.exitcode < VM_EXITCODE_MAX
					      ? ev.u.exit.exitcode
					      : VM_EXITCODE_MAX;
			struct rt_key rk = { { ev.vcpu, reason } };

			st.exits++;
			st.reasons[reason]++;
			v->v[1]++;
			rt_map_get(&st.vreason, &rk)->v[0]++;
			if (!hist_add(&h, ev.time_ns)) {
				rt_progress_end(&prog);
				rt_warnx("stats: --interval too small for this "
					 "trace (more than %u buckets)",
					 HIST_MAX);
				status = RT_EXIT_USAGE;
				goto out;
			}
			break;
		}
		case TRACE_EV_PIO:
			st.pio++;
			st.ports[ev.u.pio.port][ev.u.pio.in ? 0 : 1]++;
			break;
		case TRACE_EV_MMIO: {
			struct rt_key mk = { { page ? ev.u.mmio.gpa &
							  ~(uint64_t)0xfff
						    : ev.u.mmio.gpa } };
			struct rt_entry *m = rt_map_get(&st.mmio, &mk);

			st.mmio_n++;
			m->v[0]++;
			m->v[ev.u.mmio.write ? 2 : 1]++;
			break;
		}
		default:
			break;
		}
	}
	rt_progress_end(&prog);
	print_stats(&st, top, page);
	hist_print(&h);
	if (status == RT_EXIT_DAMAGE)
		rt_report_damage(r, argv[optind]);
out:
	free(h.n);
	free(st.ports);
	rt_map_free(&st.vcpus);
	rt_map_free(&st.vreason);
	rt_map_free(&st.mmio);
	trace_close(r);
	return status;
}
