/*
 * rhyvetrace info: what a trace is, at a glance.  Everything comes from the
 * header and the footer's summary, so it is instant on a healthy trace;
 * only a trace without a footer is scanned (by the reader), and then the
 * damage that scan met is reported.  'verify' is the full check.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "rhyvetrace.h"

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: rhyvetrace info FILE\n"
	    "Print a trace's header (format, engine, host, start time, the "
	    "VM's\nconfig tree config.* and memory layout mem.*), its "
	    "duration, event\ncounts per kind, frames, checkpoints, file and "
	    "raw size, compression\nratio and integrity (footer present, "
	    "damage met while scanning).\n"
	    "Exit status: 0, or 1 if damage was found, 3 if FILE cannot be "
	    "read.\n");
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The header entries whose key starts with 'prefix' (NULL: the rest). */
static void
print_section(const struct trace_kv *kv, size_t n, const char *title,
	      const char *prefix)
{
	static const char *const known[] = { "trace.", "host.", "config.",
					     "mem." };
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		bool match;

		if (prefix != NULL) {
			match = has_prefix(kv[i].key, prefix);
		} else {
			match = true;
			for (size_t k = 0; k < 4; k++)
				if (has_prefix(kv[i].key, known[k]))
					match = false;
		}
		if (!match)
			continue;
		if (!any)
			printf("%s:\n", title);
		any = true;
		printf("  %s = %s\n", kv[i].key != NULL ? kv[i].key : "",
		       kv[i].value != NULL ? kv[i].value : "");
	}
}

/* The recording's wall-clock start, readable, from trace.start_unix_ns. */
static void
print_start(const char *ns)
{
	uint64_t v;
	time_t sec;
	struct tm tm;
	char buf[64];

	if (!rt_parse_u64(ns, &v))
		return;
	sec = (time_t)(v / 1000000000);
	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return;
	printf("start: %s.%03u UTC\n", buf,
	       (unsigned)(v % 1000000000 / 1000000));
}

int
rt_cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_reader *r;
	struct trace_summary sum;
	const struct trace_kv *kv;
	const struct trace_damage *dmg;
	size_t nkv;
	int c, major, minor, status = RT_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return RT_EXIT_OK;
		}
		return rt_option_error("info", c, argv);
	}
	if (argc - optind != 1)
		return rt_usage_error("info", "expects one FILE");
	if ((r = rt_open(argv[optind])) == NULL)
		return RT_EXIT_IO;

	trace_version(r, &major, &minor);
	kv = trace_header(r, &nkv);
	printf("file: %s\n", argv[optind]);
	printf("format: rhyve trace %d.%d\n", major, minor);
	print_start(trace_header_get(r, "trace.start_unix_ns"));
	print_section(kv, nkv, "trace", "trace.");
	print_section(kv, nkv, "host", "host.");
	print_section(kv, nkv, "config", "config.");
	print_section(kv, nkv, "memory", "mem.");
	print_section(kv, nkv, "other header keys", NULL);

	if (trace_summary(r, &sum) != 0) {
		rt_report_damage(r, argv[optind]);
		trace_close(r);
		return RT_EXIT_DAMAGE;
	}
	printf("duration: ");
	rt_print_time(stdout, sum.last_ns >= sum.first_ns
				  ? sum.last_ns - sum.first_ns
				  : 0);
	printf(" s (t=");
	rt_print_time(stdout, sum.first_ns);
	printf(" .. ");
	rt_print_time(stdout, sum.last_ns);
	printf(")\n");
	printf("events: %" PRIu64 "\n", sum.events);
	for (int k = 1; k < TRACE_EV_KIND_MAX; k++)
		if (sum.per_kind[k] != 0)
			printf("  %-12s %" PRIu64 "\n",
			       rt_kind_name((enum trace_kind)k),
			       sum.per_kind[k]);
	printf("frames: %" PRIu64 "\n", sum.frames);
	printf("checkpoints: %" PRIu64 "\n", sum.checkpoints);
	printf("file size: %" PRIu64 " bytes\n", sum.file_bytes);
	printf("raw size: %" PRIu64 " bytes (events before compression)\n",
	       sum.raw_bytes);
	if (sum.file_bytes > 0)
		printf("compression: %.2fx\n",
		       (double)sum.raw_bytes / (double)sum.file_bytes);
	if (sum.events > 0)
		printf("bytes/event: %.2f in the file, %.2f raw\n",
		       (double)sum.file_bytes / (double)sum.events,
		       (double)sum.raw_bytes / (double)sum.events);

	dmg = trace_reader_damage(r);
	if (dmg != NULL) {
		printf("integrity: damage at offset %" PRIu64 ": %s\n",
		       dmg->offset, dmg->what);
		status = RT_EXIT_DAMAGE;
	} else if (!trace_has_footer(r)) {
		printf("integrity: no footer index (the recording did not "
		       "close cleanly); frames scanned, no damage\n");
	} else {
		printf("integrity: footer ok (frames not checked: use "
		       "'rhyvetrace verify')\n");
	}
	trace_close(r);
	return status;
}
