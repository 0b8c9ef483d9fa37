/*
 * rhyvetrace verify: read every event of every frame (the reader checks
 * each frame's checksum, its zstd data and the event encoding) and hold
 * the result against the footer index.  Any problem is reported with its
 * byte offset and makes the exit status 1; so does a missing footer,
 * because a trace without one did not close cleanly even if every frame
 * that made it to disk is intact.
 *
 * After damage, reading goes on at the next frame that can be read, found
 * by seeking through the footer index, so one bad frame does not hide the
 * state of the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "rhyvetrace.h"

/* Past this many problems the file is junk: stop listing. */
#define MAX_PROBLEMS 50

static void
usage(FILE *fp)
{
	fprintf(fp,
		"Usage: rhyvetrace verify FILE\n"
		"Check every frame (checksum, compression, event decoding) and "
		"the\nfooter index.  Prints \"ok: N events in M frames, footer "
		"ok\", or each\nproblem with its byte offset.\n"
		"Exit status: 0 ok, 1 damage or no footer, 2 usage, 3 if FILE "
		"cannot be\nopened.\n");
}

struct verifier {
	unsigned problems;
	uint64_t last_offset;
	bool any_offset;
};

static void
problem_at(struct verifier *v, const struct trace_damage *d)
{
	/* The same damage met twice (seek then read) is one problem. */
	if (v->any_offset && d->offset == v->last_offset)
		return;
	v->any_offset = true;
	v->last_offset = d->offset;
	if (++v->problems <= MAX_PROBLEMS)
		printf("damage at offset %" PRIu64 ": %s\n", d->offset,
		       d->what);
	else if (v->problems == MAX_PROBLEMS + 1)
		printf("(more problems not listed)\n");
}

/* Whether event 'i' can be read (leaves the reader positioned after it). */
static bool
readable(struct trace_reader *r, uint64_t i)
{
	struct trace_event ev;

	/* >=: an extension event at i is skipped, the next one counts. */
	return trace_seek(r, i) == 0 && trace_next(r, &ev) == 1 &&
	       ev.index >= i;
}

/*
 * The first readable event index in (bad, total), or total.  Frames are
 * independent, so readability is constant within a frame: probe forward in
 * growing steps, then bisect back to the frame's first event.
 */
static uint64_t
resync(struct trace_reader *r, uint64_t bad, uint64_t total)
{
	uint64_t lo = bad, hi = total, step = 1;

	while (lo + step < total) {
		if (readable(r, lo + step)) {
			hi = lo + step;
			break;
		}
		lo += step;
		step *= 2;
	}
	if (hi == total && total > 0 && lo + 1 < total &&
	    readable(r, total - 1))
		hi = total - 1;
	while (hi < total && lo + 1 < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (readable(r, mid))
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

int
rt_cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verifier v = { 0 };
	struct trace_summary sum;
	struct trace_reader *r;
	struct trace_event ev;
	struct rt_progress prog;
	uint64_t per_kind[TRACE_EV_KIND_MAX] = { 0 };
	uint64_t n = 0, next = 0, skipped = 0;
	char err[256] = "";
	const char *path;
	bool footer, have_sum = false;
	int c, fd, rc;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return RT_EXIT_OK;
		}
		return rt_option_error("verify", c, argv);
	}
	if (argc - optind != 1)
		return rt_usage_error("verify", "expects one FILE");
	path = argv[optind];

	/* Cannot open (3) and opens but is not a trace (1) differ here. */
	if ((fd = open(path, O_RDONLY)) < 0) {
		rt_warnx("%s: %s", path, strerror(errno));
		return RT_EXIT_IO;
	}
	close(fd);
	if ((r = trace_open(path, err, sizeof(err))) == NULL) {
		printf("damage in the header (offset 0): %s\n",
		       err[0] != '\0' ? err : "not a trace");
		return RT_EXIT_DAMAGE;
	}
	footer = trace_has_footer(r);
	if (footer && trace_summary(r, &sum) == 0)
		have_sum = true;

	rt_progress_start(&prog, "verify", r, false);
	for (;;) {
		rc = trace_next(r, &ev);
		if (rc == 0)
			break;
		if (rc < 0) {
			const struct trace_damage *d = trace_reader_damage(r);
			struct trace_damage copy = { 0, "read error" };
			uint64_t resume;

			if (d != NULL)
				copy = *d;
			rt_progress_end(&prog);
			problem_at(&v, &copy);
			if (!have_sum || next >= sum.events ||
			    v.problems > MAX_PROBLEMS)
				break;
			resume = resync(r, next, sum.events);
			if (resume >= sum.events ||
			    trace_seek(r, resume) != 0) {
				skipped += sum.events - next;
				break;
			}
			skipped += resume - next;
			next = resume;
			continue;
		}
		/*
		 * Indexes may jump ahead (an extension event of a later minor
		 * version is skipped but keeps its index); never back.
		 */
		if (ev.index < next) {
			printf("event index %" PRIu64 " after %" PRIu64 "\n",
			       ev.index, next - 1);
			v.problems++;
		}
		next = ev.index;
		if ((unsigned)ev.kind < TRACE_EV_KIND_MAX)
			per_kind[ev.kind]++;
		n++;
		next++;
		rt_progress_tick(&prog, n);
	}
	rt_progress_end(&prog);

	if (!footer && v.problems == 0) {
		printf("no footer index (the recording did not close cleanly); "
		       "%" PRIu64 " events readable\n",
		       n);
		v.problems++;
	} else if (!footer) {
		/* The file was cut, or the footer is what was hit. */
		printf("no usable footer index (cut off or damaged); %" PRIu64
		       " events readable\n",
		       n);
		v.problems++;
	} else if (!have_sum) {
		printf("footer index unreadable\n");
		v.problems++;
	} else if (v.problems == 0) {
		/* Every frame read: the footer must agree with them. */
		/*
		 * Fewer indexes than the footer counts can be skipped
		 * extension events at the end; missing events of known kinds
		 * show in the per-kind comparison below.
		 */
		if (next > sum.events) {
			printf("footer index: says %" PRIu64
			       " events, the frames hold %" PRIu64 "\n",
			       sum.events, next);
			v.problems++;
		}
		for (int k = 1; k < TRACE_EV_KIND_MAX; k++) {
			if (per_kind[k] == sum.per_kind[k])
				continue;
			printf("footer index: says %" PRIu64 " %s events, the "
			       "frames hold %" PRIu64 "\n",
			       sum.per_kind[k],
			       rt_kind_name((enum trace_kind)k), per_kind[k]);
			v.problems++;
		}
	}
	trace_close(r);
	if (v.problems > 0) {
		printf("damaged: %u problem%s; %" PRIu64 " events readable",
		       v.problems, v.problems == 1 ? "" : "s", n);
		if (skipped > 0)
			printf(", %" PRIu64 " lost", skipped);
		printf("\n");
		return RT_EXIT_DAMAGE;
	}
	printf("ok: %" PRIu64 " events in %" PRIu64 " frames, footer ok\n", n,
	       sum.frames);
	return RT_EXIT_OK;
}
