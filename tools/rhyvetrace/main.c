/*
 * rhyvetrace: offline analysis of rhyve traces.
 *
 *	rhyvetrace [--help] [--version] COMMAND [ARGS]
 *
 * The subcommand table below is the whole dispatcher: each entry's
 * function parses its own options (and its own --help).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "rhyvetrace.h"

struct rt_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct rt_command commands[] = {
	{ "info", rt_cmd_info,
	  "header, config, duration, counts, size, integrity" },
	{ "dump", rt_cmd_dump, "events as text or JSON lines, with filters" },
	{ "stats", rt_cmd_stats,
	  "exits per reason and vCPU, top ports and MMIO, timeline" },
	{ "disasm", rt_cmd_disasm,
	  "the instructions behind exits, disassembled, with counts" },
	{ "diff", rt_cmd_diff, "the first event where two traces differ" },
	{ "export", rt_cmd_export,
	  "a Chrome/Perfetto trace-event JSON timeline" },
	{ "verify", rt_cmd_verify, "check every frame and the footer" },
};

static void
usage(FILE *fp)
{
	fprintf(fp, "Usage: rhyvetrace [--help] [--version] COMMAND [ARGS]\n"
		    "Offline analysis of rhyve traces.\n\n"
		    "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-8s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(fp,
		"\n'rhyvetrace COMMAND --help' describes a command.\n"
		"Exit status: 0 ok, 1 damage found or traces differ, 2 usage "
		"error,\n3 cannot open or read a file.\n");
}

static const struct rt_command *
find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct rt_command *cmd;
	int c;

	rt_getopt_reset();
	/* '+': stop at the command name; what follows is the command's. */
	while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return RT_EXIT_OK;
		case 'V':
			printf("rhyvetrace (rhyve) trace format %d.%d\n",
			       TRACE_VERSION_MAJOR, TRACE_VERSION_MINOR);
			return RT_EXIT_OK;
		default:
			return rt_option_error(NULL, c, argv);
		}
	}
	if (optind >= argc)
		return rt_usage_error(NULL, "no command given");
	/* 'rhyvetrace help [CMD]' as a courtesy. */
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 < argc) {
			cmd = find_command(argv[optind + 1]);
			if (cmd == NULL)
				return rt_usage_error(NULL,
						      "unknown command '%s'",
						      argv[optind + 1]);
			char *hargv[] = { argv[optind + 1], "--help", NULL };

			rt_getopt_reset();
			return cmd->fn(2, hargv);
		}
		usage(stdout);
		return RT_EXIT_OK;
	}
	cmd = find_command(argv[optind]);
	if (cmd == NULL)
		return rt_usage_error(NULL, "unknown command '%s'",
				      argv[optind]);
	argc -= optind;
	argv += optind;
	rt_getopt_reset();
	return cmd->fn(argc, argv);
}
