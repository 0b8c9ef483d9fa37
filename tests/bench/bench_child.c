/*
 * Child processes for the benchmark harnesses: see bench_child.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "bench_child.h"

void
bench_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: FAIL: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ULL +
	       (uint64_t)tv->tv_usec * 1000ULL;
}

const char *
kvm_unusable(void)
{
	static char why[128];
	int fd, vm, api;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof(why), "open: %s", strerror(errno));
		return why;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(why, sizeof(why), "API version %d", api);
		close(fd);
		return why;
	}
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(why, sizeof(why), "KVM_CREATE_VM: %s",
			 strerror(errno));
		close(fd);
		return why;
	}
	close(vm);
	close(fd);
	return NULL;
}

void
run_child(char *const argv[], struct child_result *res)
{
	int in[2], out[2], err;
	uint64_t t0;
	ssize_t n;
	char drain[4096];
	struct rusage ru;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		bench_fail("pipe: %s", strerror(errno));
	res->outlen = 0;
	fflush(stdout);
	fflush(stderr);

	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(in[0], STDIN_FILENO) < 0 ||
		    dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(out[1], STDERR_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		err = errno;
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(err));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	for (;;) {
		size_t room = sizeof(res->out) - 1 - res->outlen;

		if (room > 0)
			n = read(out[0], res->out + res->outlen, room);
		else
			n = read(out[0], drain, sizeof(drain));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room > 0)
			res->outlen += (size_t)n;
	}
	while (wait4(pid, &res->status, 0, &ru) < 0)
		if (errno != EINTR)
			bench_fail("wait4: %s", strerror(errno));
	res->wall_ns = now_ns() - t0;
	res->cpu_ns = tv_ns(&ru.ru_utime) + tv_ns(&ru.ru_stime);
	close(in[1]);
	close(out[0]);
	res->out[res->outlen] = '\0';
}

void
check_status(const char *what, int run, const struct child_result *res,
	     int want)
{
	if (WIFEXITED(res->status) && WEXITSTATUS(res->status) == want)
		return;
	fprintf(stderr, "---- output of %s, run %d ----\n%s", what, run,
		res->out);
	if (res->outlen > 0 && res->out[res->outlen - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "----\n");
	if (WIFEXITED(res->status))
		bench_fail("%s run %d exited with status %d, expected %d", what,
			   run, WEXITSTATUS(res->status), want);
	if (WIFSIGNALED(res->status))
		bench_fail("%s run %d killed by signal %d (%s), expected exit "
			   "status %d",
			   what, run, WTERMSIG(res->status),
			   strsignal(WTERMSIG(res->status)), want);
	bench_fail("%s run %d: wait status 0x%x", what, run, res->status);
}
