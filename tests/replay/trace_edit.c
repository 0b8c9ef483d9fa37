/*
 * trace_edit IN OUT INDEX: copy trace IN to OUT with one input changed,
 * for the replay divergence tests.  Event INDEX must be a port or MMIO
 * read; the value the guest got is changed (its lowest bit flipped).
 * Prints the index of the first EXIT after it: where a guest that writes
 * back what it read diverges.  Exits 1 on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int
main(int argc, char **argv)
{
	struct trace_reader *r;
	struct trace_writer *w;
	struct trace_event ev;
	const struct trace_kv *hdr;
	uint64_t target, next_exit = 0;
	bool edited = false;
	uint8_t buf[4096];
	char err[256];
	size_t n;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: trace_edit IN OUT INDEX\n");
		return 1;
	}
	target = strtoull(argv[3], NULL, 0);
	if ((r = trace_open(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "trace_edit: %s\n", err);
		return 1;
	}
	hdr = trace_header(r, &n);
	if ((w = trace_writer_open(argv[2], hdr, n, NULL, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "trace_edit: %s\n", err);
		return 1;
	}
	while ((rc = trace_next(r, &ev)) == 1) {
		if (ev.index == target) {
			if (ev.kind == TRACE_EV_PIO && ev.u.pio.in) {
				size_t len =
				    (size_t)ev.u.pio.count * ev.u.pio.bytes;

				if (len == 0 || len > sizeof(buf))
					break;
				memcpy(buf, ev.u.pio.data, len);
				buf[0] ^= 1;
				ev.u.pio.data = buf;
			} else if (ev.kind == TRACE_EV_MMIO &&
				   !ev.u.mmio.write) {
				ev.u.mmio.value ^= 1;
			} else {
				break;
			}
			edited = true;
		}
		if (edited && next_exit == 0 && ev.index > target &&
		    ev.kind == TRACE_EV_EXIT)
			next_exit = ev.index;
		if (trace_write(w, &ev) != 0) {
			fprintf(stderr, "trace_edit: write failed\n");
			return 1;
		}
	}
	if (trace_writer_close(w, err, sizeof(err)) != 0) {
		fprintf(stderr, "trace_edit: %s\n", err);
		return 1;
	}
	trace_close(r);
	if (!edited || rc < 0 || next_exit == 0) {
		fprintf(stderr,
			"trace_edit: event %llu is not a read followed by an "
			"exit\n",
			(unsigned long long)target);
		return 1;
	}
	printf("%llu\n", (unsigned long long)next_exit);
	return 0;
}
