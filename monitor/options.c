/*
 * rhyve's command line, as bhyve(8)'s where bhyve has the flag.  Options
 * only fill the config tree; nothing is acted on here.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

enum {
	OPT_KERNEL = 256,
	OPT_ENGINE,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_RECORD,
	OPT_REPLAY,
	OPT_DETERMINISTIC
};

static const struct option long_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "engine", required_argument, NULL, OPT_ENGINE },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "deterministic", no_argument, NULL, OPT_DETERMINISTIC },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
rhyve_usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: rhyve [-Aehu] [-c [[cpus=]n][,sockets=n][,cores=n]"
	    "[,threads=n]]\n"
	    "             [-f name,string=text|file=path] [-G [w][addr:]port]\n"
	    "             [-k config_file] [-l lpc] [-m mem] [-o var=value]\n"
	    "             [-p vcpu:hostcpu] [-s slot,emulation[,conf]]\n"
	    "             [--engine kvm] [--initrd PATH] [--cmdline STRING]\n"
	    "             [--record FILE] [--deterministic]\n"
	    "             --kernel PATH vmname\n"
	    "       rhyve --replay FILE [-l lpc] [-o var=value]\n"
	    "       -A: ACPI tables (the default; config acpi_tables)\n"
	    "       -c: number of cpus and/or topology specification\n"
	    "       -e: exit on unhandled I/O access (strict I/O)\n"
	    "       -f: add a fw_cfg file (name,string=text or "
	    "name,file=path)\n"
	    "       -G: gdb stub: [w][addr:]port (TCP) or [w]pty[:link]; "
	    "w: wait for the debugger\n"
	    "       -h: help\n"
	    "       -k: key=value flat config file\n"
	    "       -l: LPC device configuration (-l help lists them)\n"
	    "       -m: memory size (K/M/G/T suffix; default unit MiB)\n"
	    "       -o: set config 'var' to 'value' (-o config.dump=1 prints "
	    "the config)\n"
	    "       -p: pin vCPU 'vcpu' to host CPU 'hostcpu' (config "
	    "vcpu.N.cpuset)\n"
	    "       -s: <slot,driver,configinfo> PCI slot config (-s help "
	    "lists the models)\n"
	    "       -u: RTC keeps UTC time (config rtc.use_localtime=false)\n"
	    "       --kernel: kernel to boot: ELF, Linux bzImage or multiboot "
	    "(config loader.kernel)\n"
	    "       --initrd: initrd, or multiboot module (config "
	    "loader.initrd)\n"
	    "       --cmdline: kernel command line (config loader.cmdline)\n"
	    "       --engine: execution engine (config vm.engine): kvm, "
	    "interp\n"
	    "       --record: record the run to a trace file (config "
	    "record.file)\n"
	    "       --replay: replay a recorded run; the VM comes from the "
	    "trace (config replay.file)\n"
	    "       --deterministic: hide TSC, RDRAND, RDSEED, RDPID, RDTSCP "
	    "from CPUID\n"
	    "         (config x86.deterministic)\n");
}

static int
set_or_warn(const char *key, const char *value)
{
	if (set_config_value(key, value) != 0) {
		rhyve_warnx("cannot set %s=%s", key, value);
		return -1;
	}
	return 0;
}

/* -c: "n" or "cpus=n,sockets=n,cores=n,threads=n", as bhyve. */
static int
parse_cpus(const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int error = 0;

	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL && error == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		const char *key = "cpus", *val = tok;
		long n;

		if (eq != NULL) {
			*eq = '\0';
			key = tok;
			val = eq + 1;
			if (strcmp(key, "cpus") != 0 &&
			    strcmp(key, "sockets") != 0 &&
			    strcmp(key, "cores") != 0 &&
			    strcmp(key, "threads") != 0) {
				rhyve_warnx("-c: unknown topology key '%s'",
					    key);
				error = -1;
				break;
			}
		}
		n = strtol(val, &end, 10);
		if (*val == '\0' || *end != '\0' || n < 1 || n > VM_MAXCPU) {
			rhyve_warnx("-c: '%s' is not a count from 1 to %d", val,
				    VM_MAXCPU);
			error = -1;
			break;
		}
		error = set_or_warn(key, val);
	}
	free(copy);
	return error;
}

int
rhyve_parse_args(int argc, char **argv)
{
	char errbuf[256];
	size_t memsize;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "Ac:ef:G:hk:l:m:o:p:s:u",
				long_options, NULL)) != -1) {
		switch (c) {
		case 'A':
			/* bhyve's -A; rhyve builds the tables by default. */
			set_config_bool("acpi_tables", true);
			break;
		case 'c':
			if (parse_cpus(optarg) != 0)
				return -1;
			break;
		case 'e':
			set_config_bool("x86.strictio", true);
			break;
		case 'G':
			if (gdb_parse_opt(optarg) != 0)
				return -1;
			break;
		case 'h':
			rhyve_usage(stdout);
			exit(0);
		case 'k':
			if (load_config_file(optarg, errbuf, sizeof(errbuf))) {
				rhyve_warnx("%s", errbuf);
				return -1;
			}
			break;
		case 'l':
			if (strcmp(optarg, "help") == 0) {
				lpc_print_supported(stdout);
				exit(0);
			}
			if (lpc_device_parse(optarg) != 0)
				return -1;
			break;
		case 'm':
			if (parse_memsize(optarg, &memsize) != 0) {
				rhyve_warnx("-m %s: invalid memory size",
					    optarg);
				return -1;
			}
			if (set_or_warn("memory.size", optarg) != 0)
				return -1;
			break;
		case 'o':
			if (config_parse_option(optarg, errbuf,
						sizeof(errbuf))) {
				rhyve_warnx("-o %s", errbuf);
				return -1;
			}
			break;
		case 's':
			/* -s slot[:func],model[,conf]: pci.0.SLOT.FUNC.* */
			if (strcmp(optarg, "help") == 0) {
				pci_print_supported(stdout);
				exit(0);
			}
			if (pci_parse_slot(optarg) != 0)
				return -1;
			break;
		case 'p':
			if (pincpu_parse(optarg) != 0)
				return -1;
			break;
		case 'f':
			if (fwcfg_parse_opt(optarg) != 0)
				return -1;
			break;
		case 'u':
			/* bhyve's -u: the RTC keeps UTC. */
			set_config_bool("rtc.use_localtime", false);
			break;
		case OPT_KERNEL:
			if (set_or_warn("loader.kernel", optarg) != 0)
				return -1;
			break;
		case OPT_ENGINE:
			if (set_or_warn("vm.engine", optarg) != 0)
				return -1;
			break;
		case OPT_INITRD:
			if (set_or_warn("loader.initrd", optarg) != 0)
				return -1;
			break;
		case OPT_CMDLINE:
			if (set_or_warn("loader.cmdline", optarg) != 0)
				return -1;
			break;
		case OPT_RECORD:
			if (set_or_warn("record.file", optarg) != 0)
				return -1;
			break;
		case OPT_REPLAY:
			if (set_or_warn("replay.file", optarg) != 0)
				return -1;
			break;
		case OPT_DETERMINISTIC:
			set_config_bool("x86.deterministic", true);
			break;
		default:
			rhyve_usage(stderr);
			return -1;
		}
	}
	if (optind == argc - 1) {
		if (set_or_warn("name", argv[optind]) != 0)
			return -1;
	} else if (optind < argc - 1) {
		rhyve_warnx("one VM name expected, got '%s' and more",
			    argv[optind]);
		return -1;
	}
	return 0;
}
