/*
 * A synthetic, deterministic event stream for the trace tests, the
 * generator program and the benchmark: what a small guest printing on its
 * UART and talking to its local APIC makes rhyve record.
 *
 * Per exit: an EXIT (inout ~70%, mmio ~25%, hlt ~5%) followed by its PIO
 * or MMIO access (nothing after a HLT).  Optionally a checkpoint at the
 * start and every 'ckpt_every' events, and a MARKER now and then.
 *
 * Time: with SYNTH_TIME_REAL an exit comes a fixed time after the previous
 * one that depends on the guest code path (1.1-3 us; 1-20 us more after a
 * HLT) plus 0-255 ns of jitter: what a host clock shows for a guest in a
 * loop.  SYNTH_TIME_UNIFORM draws every gap uniformly from 1-10 us: the
 * worst case for compression.  Either way the access carries its exit's
 * time, as the recorder stamps it (the time the exit was taken; the
 * access is part of handling it), so it is written without a time delta.
 */
#ifndef RHYVE_TESTS_TRACE_SYNTH_H
#define RHYVE_TESTS_TRACE_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "trace.h"

#define SYNTH_MAX_VCPUS 64
#define SYNTH_NREGS     40
#define SYNTH_PAGES     4 /* pages per CKPT_PAGES event, at most */

enum synth_time {
	SYNTH_TIME_REAL = 0,
	SYNTH_TIME_UNIFORM = 1,
};

struct synth_opts {
	uint64_t seed;
	unsigned vcpus;        /* 1..SYNTH_MAX_VCPUS */
	bool checkpoints;      /* one at the start, then every ckpt_every */
	uint64_t ckpt_every;   /* events between checkpoints (0: 50000) */
	uint64_t marker_every; /* events between markers (0: none) */
	bool real_time;        /* time_ns = 0: the writer's clock decides */
	int only_vcpu;         /* >= 0: one stream for that vCPU alone */
	enum synth_time time_model;
};

struct synth {
	struct synth_opts o;
	uint64_t rng;
	uint64_t now_ns;    /* synthetic clock */
	uint64_t emitted;   /* events produced so far */
	uint64_t exits;     /* EXIT events produced so far */
	uint64_t next_ckpt; /* event count at which the next one starts */
	uint64_t next_marker;
	uint64_t ckpt_id;
	uint64_t prev_rip; /* of the previous exit */
	/* Pending second half of an exit, or checkpoint steps. */
	int pending; /* enum synth_pending */
	unsigned ckpt_step;
	unsigned ckpt_pages_left;
	uint32_t pend_vcpu;
	uint64_t pend_time;
	unsigned text_pos[SYNTH_MAX_VCPUS];
	/* Storage the events point into, valid until the next call. */
	uint8_t pio_data[4];
	char text[64];
	struct trace_reg regs[SYNTH_NREGS];
	uint8_t blob[256];
	uint8_t pages[SYNTH_PAGES * 4096];
	struct trace_event next_access;
};

void synth_init(struct synth *s, const struct synth_opts *o);
/* The next event of the stream (always succeeds). */
void synth_next(struct synth *s, struct trace_event *ev);

/* The header a synthetic trace is written with. */
extern const struct trace_kv synth_header[];
extern const size_t synth_nheader;

/*
 * Deep comparison of two events (variable-length data by content, the
 * reader-set fields index and exit_index only if 'reader_fields').
 * Returns NULL if equal, else the name of the first field that differs.
 */
const char *synth_event_diff(const struct trace_event *a,
			     const struct trace_event *b, bool reader_fields);

/* Deep copy of an event and its data (free with synth_event_free). */
void synth_event_copy(struct trace_event *dst, const struct trace_event *src);
void synth_event_free(struct trace_event *ev);

#endif
