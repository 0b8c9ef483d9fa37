/*
 * bench_cpu: guest MIPS of the interp engine on compute-bound guests,
 * beside QEMU's TCG and the kvm engine running the same binary.
 *
 * The guest (tests/guests/bench_cpu.c) runs a workload of
 * tests/guests/bench_work.h -- an integer loop, a memory copy, a sieve --
 * for N rounds at CPL 0 or 3 and prints a checksum, which must equal the
 * one this program computes natively.  Each workload executes the same
 * instructions every round, so a run's instruction count is i1 + b * (N - 1)
 * (from one round on: a loop's set-up is skipped for 0 rounds); the
 * interp engine counts them exactly (rhyve -o vm.report_icount=true),
 * and since every engine runs the same binary, b holds for all of them.
 *
 * Timing: the wall time of a whole process includes start-up, boot (for
 * QEMU its firmware) and exit, none of which is guest compute, and time
 * inside the guest is no help (on interp the guest's clocks are virtual:
 * they follow the instruction count, not the host).  So every engine runs
 * the workload with 1 and with N rounds, and
 *   MIPS = b * (N - 1) / (t(N) - t(1)) / 1e6,
 * the best (smallest) t of R runs each, t the process's CPU time (user +
 * system, all threads; the work is one vCPU thread's), which a loaded
 * host disturbs far less than wall time; the wall-time ratio is printed
 * too.  N is chosen per engine so that the compute part takes about T
 * seconds of CPU.
 *
 * usage: bench_cpu [-n runs] [-t seconds] RHYVE GUEST
 *        bench_cpu -c interp|kvm RHYVE GUEST
 * -c: the correctness check ctest runs: every workload at CPL 0 and 3 for
 * a few round counts on that engine, checksums against native, and (on
 * interp) the instruction count linear in the rounds.
 *
 * The runs default to $RHYVE_BENCH_RUNS, else 3.  QEMU is $QEMU, else
 * qemu-system-x86_64 from PATH; without it (or without /dev/kvm for the
 * kvm column) that column says why it is missing.  Exit status 0 when the
 * figures were measured, 1 when a run failed or a checksum was wrong.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_child.h"
#include "bench_work.h"

#define DEFAULT_RUNS    3
#define DEFAULT_SECONDS 1.0
#define GUEST_POWEROFF  1 /* rhyve's and QEMU's status: guest_exit(0) */
#define TARGET_RATIO    0.5

const char *bench_prog = "bench_cpu";

enum engine { ENG_INTERP, ENG_QEMU, ENG_KVM, ENG_COUNT };
static const char *const engine_name[ENG_COUNT] = { "interp", "qemu-tcg",
						    "kvm" };

struct work {
	const char *name;
	uint64_t n_start; /* rounds of a first timing run */
};
static const struct work works[] = {
	{ "int", 200000 },
	{ "copy", 20 },
	{ "sieve", 2 },
};
#define NWORKS (sizeof(works) / sizeof(works[0]))

static const char *rhyve, *guest, *qemu;
static struct child_result res;

static void
usage(void)
{
	fprintf(stderr, "usage: bench_cpu [-n runs] [-t seconds] RHYVE GUEST\n"
			"       bench_cpu -c interp|kvm RHYVE GUEST\n");
	exit(1);
}

/* The workload's checksum, computed natively. */
static uint64_t
native(const char *work, uint64_t n)
{
	static uint64_t *a, *b;
	static uint8_t *sieve;

	if (a == NULL) {
		a = malloc(BENCH_COPY_WORDS * sizeof(*a));
		b = malloc(BENCH_COPY_WORDS * sizeof(*b));
		sieve = malloc(BENCH_SIEVE_SIZE);
		if (a == NULL || b == NULL || sieve == NULL)
			bench_fail("out of memory");
	}
	if (strcmp(work, "int") == 0)
		return bench_int(n);
	if (strcmp(work, "copy") == 0)
		return bench_copy(n, a, b);
	return bench_sieve(n, sieve);
}

/* A run's times (ns): wall, and CPU (user + system, all threads). */
struct times {
	uint64_t wall, cpu;
};

/*
 * Run the guest: 'work' for n rounds at 'cpl' on engine e.  Checks the
 * exit status and the checksum; returns the times and, on interp, the
 * instructions vCPU 0 retired.
 */
static struct times
run_guest(enum engine e, const char *work, uint64_t n, unsigned int cpl,
	  uint64_t *icount)
{
	char cmdline[96], what[128], wname[16];
	const char *line;
	unsigned long long sum, ic;
	unsigned int gcpl;
	uint64_t want;

	/* n has a fixed width: see tests/guests/bench_cpu.c. */
	snprintf(cmdline, sizeof(cmdline), "work=%s n=%020" PRIu64 " cpl=%u",
		 work, n, cpl);
	snprintf(what, sizeof(what), "%s (%s)", engine_name[e], cmdline);
	if (e == ENG_QEMU) {
		char *argv[] = { (char *)qemu,
				 "-accel",
				 "tcg",
				 "-m",
				 "64",
				 "-nodefaults",
				 "-display",
				 "none",
				 "-serial",
				 "stdio",
				 "-no-reboot",
				 "-device",
				 "isa-debug-exit,iobase=0xf4,iosize=4",
				 "-kernel",
				 (char *)guest,
				 "-append",
				 cmdline,
				 NULL };

		run_child(argv, &res);
	} else {
		char *argv[] = { (char *)rhyve,
				 "-m",
				 "64M",
				 "-l",
				 "com1,stdio",
				 "-l",
				 "pc-testdev",
				 "--engine",
				 e == ENG_INTERP ? "interp" : "kvm",
				 "-o",
				 "vm.report_icount=true",
				 "--cmdline",
				 cmdline,
				 "--kernel",
				 (char *)guest,
				 "bench",
				 NULL };

		run_child(argv, &res);
	}
	check_status(what, 1, &res, GUEST_POWEROFF);
	line = strstr(res.out, "bench_cpu: work=");
	if (line == NULL ||
	    sscanf(line, "bench_cpu: work=%15s cpl=%u checksum=0x%llx", wname,
		   &gcpl, &sum) != 3 ||
	    strcmp(wname, work) != 0 || gcpl != cpl)
		bench_fail("%s: no result line for it in the output:\n%s", what,
			   res.out);
	want = native(work, n);
	if (sum != want)
		bench_fail("%s: checksum 0x%llx, expected 0x%" PRIx64
			   " (computed natively)",
			   what, sum, want);
	if (e == ENG_INTERP) {
		line = strstr(res.out, "rhyve: vcpu 0: ");
		if (line == NULL ||
		    sscanf(line, "rhyve: vcpu 0: %llu instructions", &ic) != 1)
			bench_fail(
			    "%s: no instruction count in the output:\n%s", what,
			    res.out);
		*icount = ic;
	}
	return (struct times){ res.wall_ns, res.cpu_ns };
}

/* Instructions of a run: i1 + b * (rounds - 1), from interp's counts. */
struct icounts {
	uint64_t i1, b;
};

static struct icounts
count_insns(const char *work, unsigned int cpl, uint64_t n)
{
	struct icounts ic;
	uint64_t in;

	run_guest(ENG_INTERP, work, 1, cpl, &ic.i1);
	run_guest(ENG_INTERP, work, n + 1, cpl, &in);
	if (in <= ic.i1 || (in - ic.i1) % n != 0)
		bench_fail("%s at cpl %u: %" PRIu64 " instructions for 1 "
			   "round, %" PRIu64 " for %" PRIu64 ": not a whole "
			   "number per round",
			   work, cpl, ic.i1, in, n + 1);
	ic.b = (in - ic.i1) / n;
	return ic;
}

static double
mips(uint64_t insns, uint64_t t1, uint64_t tn)
{
	return (double)insns / ((double)(tn > t1 ? tn - t1 : 1) / 1e9) / 1e6;
}

/* Guest MIPS of engine e on 'work' at 'cpl' by CPU time; *wall_mips by
 * wall time. */
static double
measure(enum engine e, const char *work, unsigned int cpl,
	const struct icounts *ic, uint64_t n, long runs, double seconds,
	double *wall_mips)
{
	struct times t, t1 = { UINT64_MAX, UINT64_MAX },
			tn = { UINT64_MAX, UINT64_MAX };
	uint64_t icount = 0;

	/* Scale n until the compute part takes about 'seconds' (CPU). */
	for (;;) {
		uint64_t base = run_guest(e, work, 1, cpl, &icount).cpu;
		uint64_t full = run_guest(e, work, n, cpl, &icount).cpu;
		double part = full > base ? (double)(full - base) / 1e9 : 0;

		if (part > seconds * 2) {
			n = (uint64_t)((double)n * seconds / part);
			n = n > 0 ? n : 1;
			break;
		}
		if (part >= seconds / 2 || n > (UINT64_MAX >> 8))
			break;
		n = part < seconds / 16
			? n * 16
			: (uint64_t)((double)n * seconds / part);
	}
	for (long r = 0; r < runs; r++) {
		t = run_guest(e, work, 1, cpl, &icount);
		t1.wall = t.wall < t1.wall ? t.wall : t1.wall;
		t1.cpu = t.cpu < t1.cpu ? t.cpu : t1.cpu;
		t = run_guest(e, work, n, cpl, &icount);
		tn.wall = t.wall < tn.wall ? t.wall : tn.wall;
		tn.cpu = t.cpu < tn.cpu ? t.cpu : tn.cpu;
		if (e == ENG_INTERP && icount != ic->i1 + ic->b * (n - 1))
			bench_fail("interp: %s at cpl %u: %" PRIu64
				   " instructions for %" PRIu64
				   " rounds, expected %" PRIu64,
				   work, cpl, icount, n,
				   ic->i1 + ic->b * (n - 1));
	}
	*wall_mips = mips(ic->b * (n - 1), t1.wall, tn.wall);
	return mips(ic->b * (n - 1), t1.cpu, tn.cpu);
}

/*
 * kvm on this workplace's PVM hosts runs guest kernel code at a fraction
 * of a MIPS: there only the integer loop at CPL 0.
 */
static bool
kvm_skips(enum engine e, const char *work, unsigned int cpl)
{
	return e == ENG_KVM && cpl == 0 && strcmp(work, "int") != 0;
}

/* -c ENGINE: correctness only, quick. */
static int
check(enum engine e)
{
	for (size_t w = 0; w < NWORKS; w++) {
		for (unsigned int cpl = 0; cpl <= 3; cpl += 3) {
			if (kvm_skips(e, works[w].name, cpl))
				continue;
			uint64_t n =
			    strcmp(works[w].name, "int") == 0 ? 1000 : 1;
			uint64_t i[3] = { 0 };

			for (uint64_t k = 0; k < 3; k++)
				run_guest(e, works[w].name, (k + 1) * n, cpl,
					  &i[k]);
			if (e == ENG_INTERP &&
			    (i[1] <= i[0] || i[2] - i[1] != i[1] - i[0]))
				bench_fail("interp: %s at cpl %u: %" PRIu64
					   ", %" PRIu64 ", %" PRIu64
					   " instructions for %" PRIu64
					   ", %" PRIu64 ", %" PRIu64
					   " rounds: not linear",
					   works[w].name, cpl, i[0], i[1], i[2],
					   n, 2 * n, 3 * n);
			printf("bench_cpu: %s %s at cpl %u: checksums of "
			       "%" PRIu64 ", %" PRIu64 ", %" PRIu64
			       " rounds ok\n",
			       engine_name[e], works[w].name, cpl, n, 2 * n,
			       3 * n);
		}
	}
	printf("bench_cpu: %s ok\n", engine_name[e]);
	return 0;
}

static long
parse_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 1 || v > 1000)
		bench_fail("bad %s: '%s'", what, s);
	return v;
}

/* Is qemu (a path, or a name in PATH) a program we can run? */
static bool
have_program(const char *prog)
{
	char path[4096];
	const char *p, *colon;

	if (strchr(prog, '/') != NULL)
		return access(prog, X_OK) == 0;
	for (p = getenv("PATH"); p != NULL && *p != '\0'; p = colon + 1) {
		colon = strchrnul(p, ':');
		snprintf(path, sizeof(path), "%.*s/%s", (int)(colon - p), p,
			 prog);
		if (access(path, X_OK) == 0)
			return true;
		if (*colon == '\0')
			break;
	}
	return false;
}

int
main(int argc, char **argv)
{
	const char *env, *check_engine = NULL, *kvm_why;
	long runs = DEFAULT_RUNS;
	double seconds = DEFAULT_SECONDS;
	bool have_qemu;
	int c;

	env = getenv("RHYVE_BENCH_RUNS");
	if (env != NULL && *env != '\0')
		runs = parse_long(env, "RHYVE_BENCH_RUNS");
	while ((c = getopt(argc, argv, "n:t:c:h")) != -1) {
		switch (c) {
		case 'n':
			runs = parse_long(optarg, "run count");
			break;
		case 't':
			seconds = (double)parse_long(optarg, "seconds");
			break;
		case 'c':
			check_engine = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	rhyve = argv[optind];
	guest = argv[optind + 1];
	if (access(rhyve, X_OK) != 0)
		bench_fail("%s: %s", rhyve, strerror(errno));
	if (access(guest, R_OK) != 0)
		bench_fail("%s: %s", guest, strerror(errno));
	kvm_why = kvm_unusable();
	if (check_engine != NULL) {
		if (strcmp(check_engine, "interp") == 0)
			return check(ENG_INTERP);
		if (strcmp(check_engine, "kvm") != 0)
			usage();
		if (kvm_why != NULL) {
			printf("SKIP: /dev/kvm not usable (%s)\n", kvm_why);
			return 77;
		}
		return check(ENG_KVM);
	}
	qemu = getenv("QEMU");
	if (qemu == NULL || *qemu == '\0')
		qemu = "qemu-system-x86_64";
	have_qemu = have_program(qemu);

	printf("guest MIPS on compute-bound guests: %s\n", guest);
	printf("MIPS = instructions of N - 1 rounds (interp's exact count) / "
	       "(t(N rounds) - t(1 round)),\n"
	       "t the CPU time (user + system) of the whole run, best of %ld "
	       "each (wall time: the\n"
	       "wall ratio); N gives about %.0f s of compute per engine.\n",
	       runs, seconds);
	if (!have_qemu)
		printf("qemu-tcg: %s not found (make bench installs "
		       "qemu-system-x86)\n",
		       qemu);
	if (kvm_why != NULL)
		printf("kvm: /dev/kvm not usable (%s)\n", kvm_why);
	printf("\n%-6s %3s %9s %9s %9s %12s %10s %9s\n", "work", "cpl",
	       "insn/rnd", "interp", "qemu-tcg", "interp/qemu", "wall ratio",
	       "kvm");
	for (size_t w = 0; w < NWORKS; w++) {
		for (unsigned int cpl = 0; cpl <= 3; cpl += 3) {
			const char *name = works[w].name;
			uint64_t n = works[w].n_start;
			struct icounts ic = count_insns(name, cpl, n);
			double mi, mq = 0, mk = 0, wi, wq = 0, wk;

			mi = measure(ENG_INTERP, name, cpl, &ic, n, runs,
				     seconds, &wi);
			if (have_qemu)
				mq = measure(ENG_QEMU, name, cpl, &ic, n, runs,
					     seconds, &wq);
			if (kvm_why == NULL && !kvm_skips(ENG_KVM, name, cpl))
				mk = measure(ENG_KVM, name, cpl, &ic, n, runs,
					     seconds, &wk);
			printf("%-6s %3u %9" PRIu64 " %9.1f ", name, cpl, ic.b,
			       mi);
			if (have_qemu)
				printf("%9.1f %12.3f %10.3f ", mq, mi / mq,
				       wi / wq);
			else
				printf("%9s %12s %10s ", "-", "-", "-");
			if (mk > 0)
				printf("%9.1f\n", mk);
			else
				printf("%9s\n", "-");
			fflush(stdout);
		}
	}
	printf("\ntarget: interp >= %.1f x QEMU TCG\n", TARGET_RATIO);
	if (kvm_why == NULL)
		printf("kvm at cpl 0: the integer loop only (guest kernel "
		       "code is slow on PVM hosts)\n");
	return 0;
}
