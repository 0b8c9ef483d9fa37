/*
 * trace.sites: a random stream that works the codec's per-frame delta
 * state hard (the per-vCPU exit-site tables with hits, misses and
 * evictions, the per-vCPU time rule, vCPU switches, extreme values,
 * small frames) round-trips exactly, and seeks land on the right event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth.h"
#include "trace.h"

static uint64_t st = 88172645463325252ull;
static uint64_t
rnd(void)
{
	st ^= st << 13;
	st ^= st >> 7;
	st ^= st << 17;
	return st;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], 0, 0) : 200000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], 0, 0) : 1;
	size_t fb = argc > 3 ? strtoul(argv[3], 0, 0) : 512;
	char path[] = "/tmp/rhyve-sites-XXXXXX";
	struct trace_writer_opts o = { .frame_bytes = fb, .tick_ns = 1 };
	struct trace_event *evs = calloc(n, sizeof(*evs));
	uint8_t *data = malloc(n * 4);
	uint64_t vt[8] = { 0 }, gt = 5;
	char err[256];
	int fd = mkstemp(path);

	if (fd < 0 || evs == NULL || data == NULL)
		return 1;
	close(fd);
	st ^= seed * 0x9E3779B97F4A7C15ull;
	struct trace_writer *w =
	    trace_writer_open(path, NULL, 0, &o, err, sizeof(err));
	if (!w) {
		puts(err);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct trace_event *e = &evs[i];
		unsigned v = rnd() % 7 == 0 ? 7 : rnd() % 3; /* vCPU index */
		uint32_t vcpu = v == 7 ? 1000 : v;
		unsigned r = rnd() % 100;
		e->vcpu = vcpu;
		/* time: same as vCPU's last, same as global, forward, backward
		 */
		unsigned tm = rnd() % 4;
		uint64_t t = tm == 0   ? vt[v]
			     : tm == 1 ? gt
			     : tm == 2 ? gt + rnd() % 5000
				       : gt - rnd() % 300;
		if (t == 0)
			t = 1;
		e->time_ns = t;
		vt[v] = t;
		gt = t;
		if (r < 40) {
			unsigned k = rnd() % 24;
			e->kind = TRACE_EV_EXIT;
			e->u.exit.rip =
			    0x1000 + k * 0x10 + (rnd() % 50 == 0 ? rnd() : 0);
			e->u.exit.exitcode =
			    rnd() % 30 == 0 ? (uint32_t)rnd() : k % 3;
			e->u.exit.inst_length =
			    rnd() % 30 == 0 ? (uint8_t)rnd() : 1 + k % 4;
			if (rnd() % 5 == 0)
				e->u.exit.info[0] = 0x202;
			if (rnd() % 20 == 0)
				e->u.exit.info[2] = rnd();
			if (rnd() % 50 == 0)
				e->u.exit.msg = "engine says no";
		} else if (r < 70) {
			e->kind = TRACE_EV_PIO;
			e->u.pio.port =
			    rnd() % 4 ? 0x3f8 + rnd() % 8 : (uint16_t)rnd();
			e->u.pio.bytes = 1 << (rnd() % 3);
			e->u.pio.in = rnd() % 2;
			e->u.pio.count = 1;
			data[i * 4] = (uint8_t)rnd();
			data[i * 4 + 1] = 7;
			data[i * 4 + 2] = 9;
			data[i * 4 + 3] = 1;
			e->u.pio.data = data + i * 4;
		} else if (r < 95) {
			e->kind = TRACE_EV_MMIO;
			e->u.mmio.gpa =
			    rnd() % 4 ? 0xfee00000 + (rnd() % 8) * 0x10 : rnd();
			e->u.mmio.bytes = 1 + rnd() % 8;
			e->u.mmio.write = rnd() % 2;
			e->u.mmio.value = rnd() % 3 ? rnd() % 4 : rnd();
		} else if (r < 97) {
			unsigned k = rnd() % 5;
			e->kind = TRACE_EV_DECODE;
			e->u.decode.len = k == 4 ? rnd() % 16 : k + 1;
			for (unsigned j = 0; j < e->u.decode.len; j++)
				e->u.decode.bytes[j] =
				    k == 4 ? (uint8_t)rnd()
					   : (uint8_t)(0xe0 + j + k);
			if (rnd() % 3 == 0)
				e->u.decode.text = "out dx, al";
		} else if (r < 98) {
			e->kind = TRACE_EV_MARKER;
			e->u.marker.text = "m";
		} else {
			e->kind = TRACE_EV_END;
			e->u.end.status = (int32_t)rnd();
		}
		if (trace_write(w, e) != 0) {
			printf("write %zu failed\n", i);
			return 1;
		}
	}
	if (trace_writer_close(w, err, sizeof(err))) {
		puts(err);
		return 1;
	}
	struct trace_reader *rd = trace_open(path, err, sizeof(err));
	struct trace_event ev;
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		if (trace_next(rd, &ev) != 1) {
			printf("short at %zu\n", i);
			return 1;
		}
		const char *d = synth_event_diff(&evs[i], &ev, false);
		if (d && bad++ < 5)
			printf("event %zu: %s\n", i, d);
	}
	if (trace_next(rd, &ev) != 0) {
		puts("extra");
		bad++;
	}
	/* seek checks */
	for (int k = 0; k < 2000; k++) {
		size_t i = rnd() % n;
		if (trace_seek(rd, i) || trace_next(rd, &ev) != 1 ||
		    ev.index != i || synth_event_diff(&evs[i], &ev, false)) {
			if (bad++ < 10)
				printf("seek %zu bad\n", i);
		}
	}
	trace_close(rd);
	printf("%zu events, %zu bad\n", n, bad);
	free(evs);
	free(data);
	unlink(path);
	return bad != 0;
}
