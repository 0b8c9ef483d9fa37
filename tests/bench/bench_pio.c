/*
 * bench_pio: the port-I/O exit round trip benchmark.
 *
 * Runs the guest bench_pio.elf (1,000,000 OUTs to port 0xe0, then 0 to the
 * isa-debug-exit port 0xf4) as a whole process under rhyve and under
 * rawkvm (the minimal raw KVM loop), N times each, interleaved, and prints
 * ns per exit = process wall time / number of OUTs for both, their ratio,
 * rawkvm's own figure for its run loop alone, and both processes' CPU
 * time (user + system) per exit, which a loaded host disturbs less than
 * wall time.  The process figures include process start-up, VM creation
 * and kernel load.
 *
 * usage: bench_pio [-n runs] [-e outs] RHYVE RAWKVM GUEST
 *
 * The number of runs defaults to $RHYVE_BENCH_RUNS, else 3.  Exit status:
 * 0 when the figures were measured (whether or not the target ratio is
 * met) or /dev/kvm is not usable ("SKIP: ..."), 1 when a run failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "bench_child.h"

#define DEFAULT_RUNS        3
#define DEFAULT_OUTS        1000000
#define TARGET_RATIO        1.10
#define TARGET_RECORD_RATIO 1.25
#define TARGET_REPLAY_RATIO 1.5
#define RHYVE_POWEROFF      1   /* rhyve's exit status when the guest exits */
#define PLAUSIBLE_MIN       0.5 /* rhyve time per exit vs the raw loop's */

/* Per run, all in ns per exit. */
enum figure {
	FIG_RHYVE,     /* rhyve: process wall time */
	FIG_RAW,       /* rawkvm: process wall time */
	FIG_RATIO,     /* the two above: rhyve / raw */
	FIG_LOOP,      /* rawkvm's run loop alone, as it measured it */
	FIG_RHYVE_CPU, /* rhyve: process CPU time (user + system) */
	FIG_RAW_CPU,   /* rawkvm: process CPU time */
	FIG_CPU_RATIO,
	FIG_COUNT
};

static void
usage(void)
{
	fprintf(stderr,
		"usage: bench_pio [-n runs] [-e outs] RHYVE RAWKVM GUEST\n");
	exit(1);
}

/* rawkvm's result line: "rawkvm: exits=N outs=M loop_ns=T ..." */
static void
parse_raw(int run, const struct child_result *res, uint64_t want_outs,
	  double *loop_ns_per_out)
{
	const char *line;
	uint64_t exits, outs, loop_ns;

	line = strstr(res->out, "rawkvm: exits=");
	if (line == NULL || sscanf(line,
				   "rawkvm: exits=%" SCNu64 " outs=%" SCNu64
				   " loop_ns=%" SCNu64,
				   &exits, &outs, &loop_ns) != 3)
		bench_fail("rawkvm run %d: no result line in its output:\n%s",
			   run, res->out);
	if (exits != outs + 1)
		bench_fail("rawkvm run %d: %" PRIu64 " exits for %" PRIu64
			   " OUTs, "
			   "expected one more (the exit port)",
			   run, exits, outs);
	if (outs != want_outs)
		bench_fail("rawkvm run %d: the guest did %" PRIu64
			   " OUTs to port "
			   "0xe0, expected %" PRIu64,
			   run, outs, want_outs);
	*loop_ns_per_out = (double)loop_ns / (double)outs;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(const double *v, int n)
{
	double *s;
	double m;

	s = malloc(sizeof(*s) * (size_t)n);
	if (s == NULL)
		bench_fail("out of memory");
	memcpy(s, v, sizeof(*s) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	m = (n % 2) ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

static long
parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 1 ||
	    v > 1000000000L)
		bench_fail("bad %s: '%s'", what, s);
	return v;
}

static void
print_row(const char *label, const double *f)
{
	printf("%-7s %10.1f %10.1f %7.3f %10.1f   %10.1f %10.1f %7.3f\n", label,
	       f[FIG_RHYVE], f[FIG_RAW], f[FIG_RATIO], f[FIG_LOOP],
	       f[FIG_RHYVE_CPU], f[FIG_RAW_CPU], f[FIG_CPU_RATIO]);
}

/*
 * The same guest under rhyve --record: the cost of recording every exit
 * (with its decode and port access) against the plain runs, and the
 * trace's size per exit; then rhyve --replay of the last trace: the cost
 * of replaying against recording.  Targets from the record/replay work.
 */
static void
bench_replay(const char *rhyve, const char *trace, long runs, long outs,
	     double record_ns)
{
	char *argv[] = { (char *)rhyve, "--replay", (char *)trace, NULL };
	struct child_result *res = malloc(sizeof(*res));
	double *ns = calloc((size_t)runs, sizeof(*ns)), rep;

	if (res == NULL || ns == NULL)
		bench_fail("out of memory");
	printf("\nreplaying that trace (rhyve --replay, %ld runs):\n", runs);
	for (long i = 0; i < runs; i++) {
		run_child(argv, res);
		check_status("rhyve --replay", (int)i + 1, res, RHYVE_POWEROFF);
		ns[i] = (double)res->wall_ns / outs;
		printf("%-7ld %10.1f ns/exit\n", i + 1, ns[i]);
	}
	rep = median(ns, (int)runs);
	printf("replay / record, median: %.3f (target <= %.2f: %s)\n",
	       rep / record_ns, TARGET_REPLAY_RATIO,
	       rep / record_ns <= TARGET_REPLAY_RATIO ? "met" : "NOT met");
	free(ns);
	free(res);
}

static void
bench_record(const char *rhyve, const char *guest, long runs, long outs,
	     double plain_ns)
{
	char path[] = "/tmp/rhyve-bench-XXXXXX.rtr";
	char *argv[] = { (char *)rhyve, "-m",       "64M",         "-l",
			 "com1,stdio",  "-l",       "pc-testdev",  "--record",
			 path,          "--kernel", (char *)guest, "bench",
			 NULL };
	struct child_result *res = malloc(sizeof(*res));
	double *ns = calloc((size_t)runs, sizeof(*ns)), rec, bytes = 0;
	struct stat st;
	int fd = mkstemps(path, 4);

	if (res == NULL || ns == NULL || fd < 0)
		bench_fail("out of memory or no temporary file");
	close(fd);
	printf("\nrecording (rhyve --record, %ld runs):\n", runs);
	for (long i = 0; i < runs; i++) {
		run_child(argv, res);
		check_status("rhyve --record", (int)i + 1, res, RHYVE_POWEROFF);
		ns[i] = (double)res->wall_ns / outs;
		if (stat(path, &st) == 0)
			bytes = (double)st.st_size / outs;
		printf("%-7ld %10.1f ns/exit\n", i + 1, ns[i]);
	}
	rec = median(ns, (int)runs);
	printf("record / no-record, median: %.3f (target <= %.2f: %s)\n",
	       rec / plain_ns, TARGET_RECORD_RATIO,
	       rec / plain_ns <= TARGET_RECORD_RATIO ? "met" : "NOT met");
	printf("trace bytes per exit: %.2f (target <= 4: %s)\n", bytes,
	       bytes <= 4 ? "met" : "NOT met");
	bench_replay(rhyve, path, runs, outs, rec);
	unlink(path);
	free(ns);
	free(res);
}

const char *bench_prog = "bench_pio";

int
main(int argc, char **argv)
{
	struct child_result *rres, *xres;
	double(*fig)[FIG_COUNT], *col, med[FIG_COUNT];
	const char *env, *why, *rhyve, *rawkvm, *guest;
	long runs = DEFAULT_RUNS, outs = DEFAULT_OUTS;
	char label[24];
	int c, i, k;

	env = getenv("RHYVE_BENCH_RUNS");
	if (env != NULL && *env != '\0')
		runs = parse_count(env, "RHYVE_BENCH_RUNS");
	while ((c = getopt(argc, argv, "n:e:h")) != -1) {
		switch (c) {
		case 'n':
			runs = parse_count(optarg, "run count");
			break;
		case 'e':
			outs = parse_count(optarg, "OUT count");
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3)
		usage();
	rhyve = argv[optind];
	rawkvm = argv[optind + 1];
	guest = argv[optind + 2];

	why = kvm_unusable();
	if (why != NULL) {
		printf("SKIP: /dev/kvm not usable (%s)\n", why);
		return 0;
	}
	if (access(rhyve, X_OK) != 0)
		bench_fail("%s: %s", rhyve, strerror(errno));
	if (access(rawkvm, X_OK) != 0)
		bench_fail("%s: %s", rawkvm, strerror(errno));
	if (access(guest, R_OK) != 0)
		bench_fail("%s: %s", guest, strerror(errno));

	char *rhyve_argv[] = { (char *)rhyve, "-m",    "64M",        "-l",
			       "com1,stdio",  "-l",    "pc-testdev", "--kernel",
			       (char *)guest, "bench", NULL };
	char *raw_argv[] = { (char *)rawkvm, (char *)guest, NULL };

	rres = malloc(sizeof(*rres));
	xres = malloc(sizeof(*xres));
	fig = calloc((size_t)runs, sizeof(*fig));
	col = calloc((size_t)runs, sizeof(*col));
	if (rres == NULL || xres == NULL || fig == NULL || col == NULL)
		bench_fail("out of memory");

	printf("port-I/O exit round trip: %s\n", guest);
	printf("%ld OUTs to port 0xe0 per run; %ld runs each of rhyve and "
	       "rawkvm, interleaved.\n",
	       outs, runs);
	printf("ns/exit = whole-process time / %ld (start-up, VM creation "
	       "and load included);\n",
	       outs);
	printf("raw loop = rawkvm's own timing of its KVM_RUN loop alone; "
	       "cpu = user + sys time.\n\n");
	printf("%-7s %10s %10s %7s %10s   %10s %10s %7s\n", "", "rhyve", "raw",
	       "", "raw loop", "rhyve cpu", "raw cpu", "cpu");
	printf("%-7s %10s %10s %7s %10s   %10s %10s %7s\n", "run", "ns/exit",
	       "ns/exit", "ratio", "ns/exit", "ns/exit", "ns/exit", "ratio");
	for (i = 0; i < runs; i++) {
		double *f = fig[i];

		/* Alternate the order so that drift hits both alike. */
		for (k = 0; k < 2; k++) {
			if ((k == 0) == (i % 2 == 0)) {
				run_child(rhyve_argv, rres);
				check_status("rhyve", i + 1, rres,
					     RHYVE_POWEROFF);
				f[FIG_RHYVE] = (double)rres->wall_ns / outs;
				f[FIG_RHYVE_CPU] = (double)rres->cpu_ns / outs;
			} else {
				run_child(raw_argv, xres);
				check_status("rawkvm", i + 1, xres, 0);
				parse_raw(i + 1, xres, (uint64_t)outs,
					  &f[FIG_LOOP]);
				f[FIG_RAW] = (double)xres->wall_ns / outs;
				f[FIG_RAW_CPU] = (double)xres->cpu_ns / outs;
			}
		}
		/*
		 * rhyve's status 1 alone does not prove it ran the guest
		 * (an early exit could share it); no monitor can take the
		 * exits in much less time than the bare loop.
		 */
		if (f[FIG_RHYVE] < PLAUSIBLE_MIN * f[FIG_LOOP])
			bench_fail(
			    "rhyve run %d exited with status %d after %.3f s, "
			    "far too fast for %ld exits (the raw loop needs "
			    "%.3f s): did it run the guest?\n%s",
			    i + 1, RHYVE_POWEROFF, f[FIG_RHYVE] * outs / 1e9,
			    outs, f[FIG_LOOP] * outs / 1e9, rres->out);
		f[FIG_RATIO] = f[FIG_RHYVE] / f[FIG_RAW];
		f[FIG_CPU_RATIO] = f[FIG_RHYVE_CPU] / f[FIG_RAW_CPU];
		snprintf(label, sizeof(label), "%d", i + 1);
		print_row(label, f);
		fflush(stdout);
	}

	for (k = 0; k < FIG_COUNT; k++) {
		for (i = 0; i < runs; i++)
			col[i] = fig[i][k];
		med[k] = median(col, (int)runs);
	}
	/* The median row's ratios are of the medians. */
	med[FIG_RATIO] = med[FIG_RHYVE] / med[FIG_RAW];
	med[FIG_CPU_RATIO] = med[FIG_RHYVE_CPU] / med[FIG_RAW_CPU];
	print_row("median", med);
	printf("\nratio = rhyve / raw, whole process, median: %.3f\n",
	       med[FIG_RATIO]);
	printf("target ratio <= %.2f: %s\n", TARGET_RATIO,
	       med[FIG_RATIO] <= TARGET_RATIO ? "met" : "NOT met");

	bench_record(rhyve, guest, runs, outs, med[FIG_RHYVE]);

	free(col);
	free(fig);
	free(xres);
	free(rres);
	return 0;
}
