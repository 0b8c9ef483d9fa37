/*
 * rhyvetrace dump: the events, one per line, as text or JSON.  Filters
 * combine with AND; --from seeks through the footer index instead of
 * decoding everything before it.  On damage, everything read so far has
 * been printed and the damage is the last line (on stderr).
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "rhyvetrace.h"

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: rhyvetrace dump [--json] [--kind K[,K...]] [--vcpu N]\n"
	    "                       [--from I] [--to I] [--port P[-Q]]\n"
	    "                       [--addr A[-B]] [--rip A[-B]] [--limit N] "
	    "FILE\n"
	    "Print events, one per line: \"#index t=seconds vcpuN kind "
	    "fields...\",\nor with --json one JSON object per line (addresses "
	    "and values as\n\"0x..\" strings, byte data as hex strings).\n\n"
	    "Filters (all must hold):\n"
	    "  --kind K,...   event kinds (listed below)\n"
	    "  --vcpu N       events of vCPU N\n"
	    "  --from I       events with index >= I (seeks)\n"
	    "  --to I         events with index <= I\n"
	    "  --port P[-Q]   port accesses (pio) to ports P..Q\n"
	    "  --addr A[-B]   guest-physical accesses meeting A..B (mmio, "
	    "dma,\n"
	    "                 checkpoint pages)\n"
	    "  --rip A[-B]    exits with rip in A..B\n"
	    "  --limit N      stop after N printed events\n"
	    "Numbers are decimal or 0x hex.\n"
	    "Exit status: 0, 1 if damage was met (after printing what was "
	    "read),\n2 usage, 3 if FILE cannot be read.\n"
	    "Event kinds:");
	for (int k = 1; k < TRACE_EV_KIND_MAX; k++)
		fprintf(fp, " %s", rt_kind_name((enum trace_kind)k));
	fputc('\n', fp);
}

enum {
	OPT_JSON = 256,
	OPT_KIND,
	OPT_VCPU,
	OPT_FROM,
	OPT_TO,
	OPT_PORT,
	OPT_ADDR,
	OPT_RIP,
	OPT_LIMIT,
};

static int
bad_value(const char *opt, const char *arg)
{
	return rt_usage_error("dump", "bad value '%s' for --%s", arg, opt);
}

int
rt_cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "addr", required_argument, NULL, OPT_ADDR },
		{ "rip", required_argument, NULL, OPT_RIP },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ NULL, 0, NULL, 0 },
	};
	struct rt_filter f;
	struct rt_progress prog;
	struct trace_reader *r;
	struct trace_event ev;
	uint64_t limit = UINT64_MAX, printed = 0, seen = 0, v;
	bool json = false;
	int c, rc, status = RT_EXIT_OK;

	rt_filter_init(&f);
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return RT_EXIT_OK;
		case OPT_JSON:
			json = true;
			break;
		case OPT_KIND:
			if (!rt_filter_kinds(&f, optarg))
				return RT_EXIT_USAGE;
			break;
		case OPT_VCPU:
			if (!rt_parse_u64(optarg, &v) || v > UINT32_MAX)
				return bad_value("vcpu", optarg);
			f.has_vcpu = true;
			f.vcpu = (uint32_t)v;
			break;
		case OPT_FROM:
			if (!rt_parse_u64(optarg, &f.from))
				return bad_value("from", optarg);
			break;
		case OPT_TO:
			if (!rt_parse_u64(optarg, &f.to))
				return bad_value("to", optarg);
			break;
		case OPT_PORT:
			if (!rt_parse_range(optarg, &f.port_lo, &f.port_hi) ||
			    f.port_hi > 0xffff)
				return bad_value("port", optarg);
			f.has_port = true;
			break;
		case OPT_ADDR:
			if (!rt_parse_range(optarg, &f.addr_lo, &f.addr_hi))
				return bad_value("addr", optarg);
			f.has_addr = true;
			break;
		case OPT_RIP:
			if (!rt_parse_range(optarg, &f.rip_lo, &f.rip_hi))
				return bad_value("rip", optarg);
			f.has_rip = true;
			break;
		case OPT_LIMIT:
			if (!rt_parse_u64(optarg, &limit))
				return bad_value("limit", optarg);
			break;
		default:
			return rt_option_error("dump", c, argv);
		}
	}
	if (argc - optind != 1)
		return rt_usage_error("dump", "expects one FILE");
	if (f.from > f.to)
		return rt_usage_error("dump", "--from is after --to");
	if ((r = rt_open(argv[optind])) == NULL)
		return RT_EXIT_IO;

	if (f.from > 0 && trace_seek(r, f.from) != 0) {
		/* Past the end is an empty result; damage is damage. */
		if (trace_reader_damage(r) != NULL) {
			rt_report_damage(r, argv[optind]);
			status = RT_EXIT_DAMAGE;
		}
		trace_close(r);
		return status;
	}
	rt_progress_start(&prog, "dump", r, true);
	while (printed < limit && (rc = trace_next(r, &ev)) != 0) {
		if (rc < 0) {
			rt_progress_end(&prog);
			rt_report_damage(r, argv[optind]);
			status = RT_EXIT_DAMAGE;
			break;
		}
		rt_progress_tick(&prog, ++seen);
		if (ev.index > f.to)
			break;
		if (!rt_filter_match(&f, &ev))
			continue;
		if (json)
			rt_print_event_json(stdout, &ev);
		else
			rt_print_event(stdout, &ev);
		printed++;
	}
	rt_progress_end(&prog);
	trace_close(r);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		rt_warnx("write error on stdout");
		return RT_EXIT_IO;
	}
	return status;
}
