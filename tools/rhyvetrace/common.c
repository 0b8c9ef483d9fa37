/*
 * What every rhyvetrace subcommand shares: error lines, option and number
 * parsing, opening a trace, progress output and the aggregation map.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rhyvetrace.h"

void
rt_warnx(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout); /* keep the order of output and error when merged */
	fputs("rhyvetrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
rt_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("rhyvetrace: ", stderr);
	if (cmd != NULL)
		fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd != NULL)
		fprintf(stderr, " (try 'rhyvetrace %s --help')\n", cmd);
	else
		fputs(" (try 'rhyvetrace --help')\n", stderr);
	return RT_EXIT_USAGE;
}

int
rt_option_error(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return rt_usage_error(cmd, "option '%s' needs a value", arg);
	/* getopt sets optopt for an unknown short option, 0 for a long one. */
	if (optopt > 0 && optopt < 128)
		return rt_usage_error(cmd, "unknown option '-%c'", optopt);
	return rt_usage_error(cmd, "unknown option '%s'", arg);
}

void
rt_getopt_reset(void)
{
	/* glibc: 0 also re-reads the optstring flags ('+', '-'). */
	optind = 0;
	opterr = 0; /* we report bad options ourselves, on one line */
}

bool
rt_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	/* Hex with 0x, else decimal: a leading zero is not octal here. */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (s[2] == '\0' || s[2] == '-' || s[2] == '+' || s[2] == ' ')
			return false;
		v = strtoull(s + 2, &end, 16);
	} else {
		v = strtoull(s, &end, 10);
	}
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

bool
rt_parse_range(const char *s, uint64_t *lo, uint64_t *hi)
{
	const char *dash = strchr(s, '-');
	char buf[64];
	size_t n;

	if (dash == NULL) {
		if (!rt_parse_u64(s, lo))
			return false;
		*hi = *lo;
		return true;
	}
	n = (size_t)(dash - s);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return rt_parse_u64(buf, lo) && rt_parse_u64(dash + 1, hi) &&
	       *lo <= *hi;
}

struct trace_reader *
rt_open(const char *path)
{
	char err[256] = "";
	struct trace_reader *r = trace_open(path, err, sizeof(err));

	if (r == NULL)
		rt_warnx("%s: %s", path, err[0] != '\0' ? err : "cannot open");
	return r;
}

void
rt_report_damage(const struct trace_reader *r, const char *path)
{
	const struct trace_damage *d = trace_reader_damage(r);

	if (d != NULL)
		rt_warnx("damage at offset %llu: %s",
			 (unsigned long long)d->offset, d->what);
	else
		rt_warnx("%s: read error", path);
}

/* ---- progress ---------------------------------------------------------- */

/* How many events between looks at the clock: cheap enough to ignore. */
#define RT_PROGRESS_STEP (1u << 16)
#define RT_PROGRESS_MS   200

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
rt_progress_start(struct rt_progress *p, const char *what,
		  struct trace_reader *r, bool streams)
{
	struct trace_summary sum;

	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO) && !(streams && isatty(STDOUT_FILENO));
	p->what = what;
	p->next_check = RT_PROGRESS_STEP;
	p->last_ms = now_ms();
	/* Without a footer the summary is a full scan: not worth it here. */
	if (p->on && trace_has_footer(r) && trace_summary(r, &sum) == 0)
		p->total = sum.events;
}

void
rt_progress_draw(struct rt_progress *p, uint64_t n)
{
	uint64_t t = now_ms();

	p->next_check = n + RT_PROGRESS_STEP;
	if (t - p->last_ms < RT_PROGRESS_MS)
		return;
	p->last_ms = t;
	if (p->total > 0)
		fprintf(stderr, "\rrhyvetrace: %s: %llu events (%u%%)\033[K",
			p->what, (unsigned long long)n,
			(unsigned)(n >= p->total ? 100 : n * 100 / p->total));
	else
		fprintf(stderr, "\rrhyvetrace: %s: %llu events\033[K", p->what,
			(unsigned long long)n);
	p->drawn = true;
}

void
rt_progress_end(struct rt_progress *p)
{
	if (p->drawn)
		fputs("\r\033[K", stderr); /* leave no half line behind */
	p->drawn = false;
}

/* ---- the map ----------------------------------------------------------- */

void *
rt_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL) {
		rt_warnx("out of memory");
		exit(RT_EXIT_IO);
	}
	return p;
}

void
rt_map_init(struct rt_map *m)
{
	memset(m, 0, sizeof(*m));
}

void
rt_map_free(struct rt_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static uint64_t
key_hash(const struct rt_key *key)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < 4; i++) {
		h ^= key->k[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h;
}

static bool
key_eq(const struct rt_key *a, const struct rt_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static struct rt_entry *
probe(struct rt_entry *slots, size_t cap, const struct rt_key *key)
{
	size_t i = key_hash(key) & (cap - 1);

	while (slots[i].used && !key_eq(&slots[i].key, key))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

struct rt_entry *
rt_map_find(const struct rt_map *m, const struct rt_key *key)
{
	struct rt_entry *e;

	if (m->cap == 0)
		return NULL;
	e = probe(m->slots, m->cap, key);
	return e->used ? e : NULL;
}

struct rt_entry *
rt_map_get(struct rt_map *m, const struct rt_key *key)
{
	struct rt_entry *e;

	/* Keep the load under 1/2 so probes stay short. */
	if ((m->count + 1) * 2 > m->cap) {
		size_t ncap = m->cap == 0 ? 64 : m->cap * 2;
		struct rt_entry *ns = rt_xcalloc(ncap, sizeof(*ns));

		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].used)
				*probe(ns, ncap, &m->slots[i].key) =
				    m->slots[i];
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	e = probe(m->slots, m->cap, key);
	if (!e->used) {
		memset(e, 0, sizeof(*e));
		e->key = *key;
		e->used = true;
		m->count++;
	}
	return e;
}

struct rt_entry *
rt_map_sorted(const struct rt_map *m, int (*cmp)(const void *, const void *),
	      size_t *n)
{
	struct rt_entry *out = rt_xcalloc(m->count, sizeof(*out));
	size_t j = 0;

	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			out[j++] = m->slots[i];
	qsort(out, j, sizeof(*out), cmp);
	*n = j;
	return out;
}
