/*
 * What the benchmark harnesses (bench_pio, bench_cpu) share: running a
 * program as a whole process with its output captured and its wall and
 * CPU time measured, checking how it exited, whether /dev/kvm can run a
 * VM, and failing with a message.
 */
#ifndef RHYVE_BENCH_CHILD_H
#define RHYVE_BENCH_CHILD_H

#include <stddef.h>
#include <stdint.h>

#define OUTPUT_MAX (64 * 1024)

/* One finished child process. */
struct child_result {
	uint64_t wall_ns;
	uint64_t cpu_ns;      /* user + system time, all threads */
	int status;           /* as from wait4() */
	char out[OUTPUT_MAX]; /* stdout + stderr, truncated */
	size_t outlen;
};

/* The name bench_fail() puts before its message ("bench_pio"). */
extern const char *bench_prog;

/* Print "PROG: FAIL: message" on stderr and exit with status 1. */
void bench_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
uint64_t now_ns(void);
/* NULL if /dev/kvm can run a VM, else the reason it cannot. */
const char *kvm_unusable(void);
/*
 * Run argv[0] (argv[0] is a path; execvp: a bare name is looked up in
 * PATH) with its stdin an idle pipe and stdout + stderr captured.  The
 * wall time spans fork to reaped exit.
 */
void run_child(char *const argv[], struct child_result *res);
/* Fail, showing its output, unless run 'run' of 'what' exited with 'want'. */
void check_status(const char *what, int run, const struct child_result *res,
		  int want);

#endif
