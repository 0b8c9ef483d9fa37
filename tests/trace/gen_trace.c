/*
 * gen_trace: write a synthetic trace (see synth.h) for tests, the fuzz
 * corpus and by hand.
 *
 *   gen_trace OUT [--events N] [--vcpus N] [--seed S] [--frame-bytes B]
 *       [--flush-ms M] [--level L] [--checkpoints] [--ckpt-every N]
 *       [--markers N] [--threads] [--rate EV_PER_S] [--no-close]
 *       [--kill-after-ms T]
 *
 * --no-close exits without trace_writer_close (no END, no footer).
 * --kill-after-ms T writes forever with event times from gen_trace's own
 * monotonic clock (ns since just before trace_writer_open); T ms after the
 * start it prints "running NS" (that clock) on stdout, so that a test can
 * SIGKILL it then.  --threads writes from one thread per vCPU.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "synth.h"
#include "trace.h"

static struct {
	const char *out;
	uint64_t events;
	unsigned vcpus;
	uint64_t seed;
	struct trace_writer_opts wopts;
	bool checkpoints;
	uint64_t ckpt_every;
	uint64_t marker_every;
	bool threads;
	uint64_t rate;
	bool no_close;
	long kill_after_ms;
} opt = { .events = 10000,
	  .vcpus = 1,
	  .seed = 1,
	  .marker_every = 997,
	  .kill_after_ms = -1 };

static struct trace_writer *writer;
static uint64_t t0_ns;
static uint64_t last_ns; /* time of the last event written (thread 0) */

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: gen_trace OUT [--events N] [--vcpus N] [--seed S]\n"
		"    [--frame-bytes B] [--flush-ms M] [--level L] "
		"[--checkpoints]\n"
		"    [--ckpt-every N] [--markers N] [--threads] [--rate EV/S]\n"
		"    [--no-close] [--kill-after-ms T]\n");
	exit(2);
}

static uint64_t
num(const char *name, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
		fprintf(stderr, "gen_trace: %s: bad number '%s'\n", name, s);
		exit(2);
	}
	return v;
}

struct producer {
	pthread_t tid;
	int vcpu; /* -1: all vCPUs from this thread */
	uint64_t events;
	bool main;
};

static void *
produce(void *arg)
{
	struct producer *p = arg;
	struct synth_opts so = { .seed = opt.seed + (uint64_t)(p->vcpu + 1),
				 .vcpus = opt.vcpus,
				 .checkpoints = opt.checkpoints && p->vcpu <= 0,
				 .ckpt_every = opt.ckpt_every,
				 .marker_every = opt.marker_every,
				 .only_vcpu = p->vcpu };
	struct synth *s = malloc(sizeof(*s));
	struct trace_event ev;
	bool forever = opt.kill_after_ms >= 0, announced = false;
	uint64_t start = mono_ns();

	if (s == NULL)
		abort();
	synth_init(s, &so);
	for (uint64_t i = 0; forever || i < p->events; i++) {
		synth_next(s, &ev);
		if (ev.kind == TRACE_EV_CKPT_BEGIN &&
		    trace_writer_flush(writer) != 0)
			break;
		if (forever) {
			uint64_t now = mono_ns();

			ev.time_ns = now - t0_ns + 1;
			if (p->main && !announced &&
			    now - start >=
				(uint64_t)opt.kill_after_ms * 1000000) {
				printf("running %" PRIu64 "\n", now - t0_ns);
				fflush(stdout);
				announced = true;
			}
		}
		if (trace_write(writer, &ev) != 0)
			break;
		if (p->main)
			last_ns = ev.time_ns;
		if (opt.rate && (i & 63) == 63) {
			/* keep to the rate: sleep while ahead of it */
			uint64_t due =
			    start + (i + 1) * 1000000000ULL / opt.rate;
			uint64_t now = mono_ns();

			if (due > now) {
				struct timespec ts = {
					.tv_sec = (time_t)((due - now) /
							   1000000000ULL),
					.tv_nsec =
					    (long)((due - now) % 1000000000ULL)
				};
				nanosleep(&ts, NULL);
			}
		}
	}
	free(s);
	return NULL;
}

int
main(int argc, char **argv)
{
	char err[256];
	struct producer *prod;
	unsigned nthreads;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define ARG(name) (strcmp(a, name) == 0 && (v != NULL || (usage(), 0)) && ++i)
		if (ARG("--events"))
			opt.events = num(a, v);
		else if (ARG("--vcpus"))
			opt.vcpus = (unsigned)num(a, v);
		else if (ARG("--seed"))
			opt.seed = num(a, v);
		else if (ARG("--frame-bytes"))
			opt.wopts.frame_bytes = num(a, v);
		else if (ARG("--flush-ms"))
			opt.wopts.flush_ms = (unsigned)num(a, v);
		else if (ARG("--level"))
			opt.wopts.zstd_level = (int)num(a, v);
		else if (ARG("--ckpt-every"))
			opt.ckpt_every = num(a, v);
		else if (ARG("--markers"))
			opt.marker_every = num(a, v);
		else if (ARG("--rate"))
			opt.rate = num(a, v);
		else if (ARG("--kill-after-ms"))
			opt.kill_after_ms = (long)num(a, v);
		else if (strcmp(a, "--checkpoints") == 0)
			opt.checkpoints = true;
		else if (strcmp(a, "--threads") == 0)
			opt.threads = true;
		else if (strcmp(a, "--no-close") == 0)
			opt.no_close = true;
		else if (a[0] == '-' || opt.out != NULL)
			usage();
		else
			opt.out = a;
#undef ARG
	}
	if (opt.out == NULL || opt.vcpus == 0 || opt.vcpus > SYNTH_MAX_VCPUS)
		usage();

	t0_ns = mono_ns();
	writer = trace_writer_open(opt.out, synth_header, synth_nheader,
				   &opt.wopts, err, sizeof(err));
	if (writer == NULL) {
		fprintf(stderr, "gen_trace: %s\n", err);
		return 1;
	}
	nthreads = opt.threads ? opt.vcpus : 1;
	prod = calloc(nthreads, sizeof(*prod));
	if (prod == NULL)
		abort();
	for (unsigned t = 0; t < nthreads; t++) {
		prod[t].vcpu = opt.threads ? (int)t : -1;
		prod[t].events =
		    opt.events / nthreads + (t < opt.events % nthreads);
		prod[t].main = t == 0;
	}
	for (unsigned t = 1; t < nthreads; t++)
		if (pthread_create(&prod[t].tid, NULL, produce, &prod[t]) != 0)
			abort();
	produce(&prod[0]);
	for (unsigned t = 1; t < nthreads; t++)
		pthread_join(prod[t].tid, NULL);
	free(prod);
	if (trace_writer_error(writer) != NULL &&
	    trace_writer_error(writer)[0] != '\0') {
		fprintf(stderr, "gen_trace: recording stopped: %s\n",
			trace_writer_error(writer));
		return 1;
	}
	if (opt.no_close) {
		/* Seal what there is, give the background thread time to
		 * write it, and leave without the END and the footer. */
		trace_writer_flush(writer);
		usleep(300000);
		_exit(0);
	}
	{
		struct trace_event end = { .kind = TRACE_EV_END };

		end.time_ns = last_ns;
		if (trace_write(writer, &end) != 0) {
			fprintf(stderr, "gen_trace: %s\n",
				trace_writer_error(writer));
			return 1;
		}
	}
	if (trace_writer_close(writer, err, sizeof(err)) != 0) {
		fprintf(stderr, "gen_trace: %s\n", err);
		return 1;
	}
	return 0;
}
