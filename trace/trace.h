/*
 * trace: rhyve's recording format (docs/trace-format.md), its writer and
 * its reader.
 *
 * A trace is a header, a sequence of independently decodable zstd frames
 * of events, and a footer index.  Every event has a global index (its
 * position in the trace, from 0) and belongs to a vCPU.  The writer is
 * safe with one producer per vCPU; the reader never trusts the file.
 */
#ifndef RHYVE_TRACE_TRACE_H
#define RHYVE_TRACE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_VERSION_MAJOR 1
#define TRACE_VERSION_MINOR 1

/*
 * Limits of format 1.x (docs/trace-format.md, "Limits").  trace_write()
 * refuses an event beyond them with EINVAL; the recorder splits large
 * CKPT_PAGES and DMA writes into several events.
 */
#define TRACE_MAX_VCPUS       1024        /* vCPU ids are below this */
#define TRACE_MAX_FRAME_RAW   (64u << 20) /* raw bytes in one frame */
#define TRACE_MAX_EVENT_BYTES (TRACE_MAX_FRAME_RAW - (1u << 16))
#define TRACE_MAX_REGS        65536 /* registers in one REGS event */
#define TRACE_PAGE_SIZE       4096  /* CKPT_PAGES page size */

enum trace_kind {
	TRACE_EV_EXIT = 1,         /* a VM exit */
	TRACE_EV_PIO = 2,          /* port access and the value seen */
	TRACE_EV_MMIO = 3,         /* MMIO access and the value seen */
	TRACE_EV_DECODE = 4,       /* the instruction behind an exit */
	TRACE_EV_INJECT = 5,       /* interrupt / NMI / exception injected */
	TRACE_EV_DMA = 6,          /* device write into guest memory */
	TRACE_EV_CPUID = 7,        /* a CPUID result */
	TRACE_EV_MSR = 8,          /* an MSR read or write and its value */
	TRACE_EV_TSC = 9,          /* a TSC value given to the guest */
	TRACE_EV_RANDOM = 10,      /* an RDRAND/RDSEED value */
	TRACE_EV_INPUT = 11,       /* host input (console bytes) */
	TRACE_EV_REGS = 12,        /* full register state of a vCPU */
	TRACE_EV_CKPT_BEGIN = 13,  /* a checkpoint starts */
	TRACE_EV_CKPT_DEVICE = 14, /* device state blob in a checkpoint */
	TRACE_EV_CKPT_PAGES = 15,  /* guest pages in a checkpoint */
	TRACE_EV_CKPT_END = 16,    /* the checkpoint is complete */
	TRACE_EV_MARKER = 17,      /* user marker text */
	TRACE_EV_END = 18,         /* the run ended */
	/* 1.1, written as extension kind 64 (docs/trace-format.md): */
	TRACE_EV_SCHED = 19, /* another vCPU runs now (interp) */
	TRACE_EV_KIND_MAX
};

enum trace_inject_type {
	TRACE_INJECT_EXTINT = 0,
	TRACE_INJECT_NMI = 1,
	TRACE_INJECT_EXCEPTION = 2,
	TRACE_INJECT_SOFTINT = 3,
	TRACE_INJECT_INIT = 4, /* INIT: the vCPU waits for a SIPI */
	TRACE_INJECT_SIPI = 5, /* SIPI: starts at vector << 12, real mode */
};

enum trace_point_kind {
	TRACE_POINT_EXIT = 0,   /* after the vCPU's exit number 'point' */
	TRACE_POINT_ICOUNT = 1, /* at instruction count 'point' (interp) */
};

/* Register identifiers in REGS and checkpoints: enum vm_reg_name values,
 * and for the segment and table registers their descriptor parts. */
#define TRACE_REG_SEG_BASE(r)   (0x100 + (r)*4 + 0)
#define TRACE_REG_SEG_LIMIT(r)  (0x100 + (r)*4 + 1)
#define TRACE_REG_SEG_ACCESS(r) (0x100 + (r)*4 + 2)
#define TRACE_REG_MSR(msr)      (0x100000000ULL | (uint32_t)(msr))

struct trace_reg {
	uint64_t id;
	uint64_t value;
};

/*
 * One event.  Variable-length data (bytes, text, register lists) points at
 * memory owned by the writer's caller (when writing) or by the reader
 * (when reading, valid until the next read call).
 */
struct trace_event {
	enum trace_kind kind;
	uint64_t index; /* set by the reader; ignored by the writer */
	uint32_t vcpu;
	uint64_t time_ns; /* host monotonic ns since the trace started */
	union {
		struct {
			uint32_t exitcode; /* enum vm_exitcode */
			uint64_t rip;
			uint8_t inst_length;
			uint64_t exit_index; /* per-vCPU ordinal, reader-set */
			uint64_t info[3];    /* exitcode-specific (doc) */
			const char *msg;     /* engine error text, or NULL */
		} exit;
		struct {
			uint16_t port;
			uint8_t bytes; /* 1, 2, 4 */
			bool in;
			bool string;
			bool rep;
			uint32_t count;
			const uint8_t *data; /* count * bytes */
		} pio;
		struct {
			uint64_t gpa;
			uint8_t bytes; /* 1..8 */
			bool write;
			uint64_t value;
		} mmio;
		struct {
			uint8_t len; /* 1..15 */
			uint8_t bytes[15];
			const char *text; /* "mov eax, [rbx]" or NULL */
		} decode;
		struct {
			uint8_t type; /* enum trace_inject_type */
			uint8_t vector;
			bool has_error_code;
			uint32_t error_code;
			uint8_t point_kind; /* enum trace_point_kind */
			uint64_t point;
		} inject;
		struct {
			uint64_t gpa;
			uint32_t len;
			const uint8_t *data;
		} dma;
		struct {
			uint32_t leaf, subleaf;
			uint32_t eax, ebx, ecx, edx;
		} cpuid;
		struct {
			bool write;
			uint32_t msr;
			uint64_t value;
		} msr;
		struct {
			uint64_t value;
		} tsc;
		struct {
			bool rdseed;
			uint8_t bytes; /* 2, 4, 8 */
			uint64_t value;
		} random;
		struct {
			uint32_t source; /* e.g. COM unit */
			uint32_t len;
			const uint8_t *data;
		} input;
		struct {
			uint32_t count;
			const struct trace_reg *regs;
		} regs;
		struct {
			uint64_t id;
			uint32_t nvcpus;
		} ckpt_begin;
		struct {
			const char *name;
			uint32_t len;
			const uint8_t *data;
		} ckpt_device;
		struct {
			uint64_t gpa; /* page aligned */
			uint32_t npages;
			const uint8_t *data; /* npages * 4096 bytes */
		} ckpt_pages;
		struct {
			uint64_t id;
		} ckpt_end;
		struct {
			const char *text;
		} marker;
		struct {
			int32_t status; /* rhyve's exit status */
		} end;
		struct {
			uint32_t from;   /* the vCPU that ran until now */
			uint64_t icount; /* ... and its instruction count */
		} sched;
	} u;
};

const char *trace_kind_name(enum trace_kind kind);
/* The kind named 'name' ("exit", "pio", ...), or 0. */
enum trace_kind trace_kind_from_name(const char *name);

/* ---- header ---------------------------------------------------------- */

/*
 * The header is a list of key=value pairs: "trace.*" (engine, start time),
 * "host.*" (host description), "config.*" (the VM's config tree) and
 * "mem.*" (memory layout), see docs/trace-format.md.
 */
struct trace_kv {
	const char *key;
	const char *value;
};

/* ---- writer ---------------------------------------------------------- */

struct trace_writer;

struct trace_writer_opts {
	size_t frame_bytes; /* raw bytes per frame (0: 1 MiB) */
	unsigned flush_ms;  /* max age of unflushed events (0: 100) */
	int zstd_level;     /* 0: 3 */
	/*
	 * Time resolution in ns (0: 1, exact; at most 1e9).  Times are
	 * stored in ticks (header key trace.tick_ns) and read back rounded
	 * down to a multiple of it; a coarser tick compresses better when
	 * event times jitter (docs/trace-format.md, "Time").
	 */
	uint32_t tick_ns;
};

/*
 * Create 'path' and write the header.  Returns NULL with a one-line
 * reason in errbuf.
 */
struct trace_writer *trace_writer_open(const char *path,
				       const struct trace_kv *header,
				       size_t nheader,
				       const struct trace_writer_opts *opts,
				       char *errbuf, size_t errlen);
/*
 * Append one event; safe from several threads.  time_ns is taken from the
 * event if nonzero, else from the clock.  Returns 0, or -1 once the writer
 * has failed (disk full, I/O error): recording has stopped, the trace up to
 * the last complete frame stays readable, trace_writer_error() says why.
 */
int trace_write(struct trace_writer *w, const struct trace_event *ev);
/*
 * (Also -1, with errno EINVAL, for an event the format cannot hold: an
 * unknown kind, a field out of range, beyond the TRACE_MAX_* limits.  That
 * event is dropped and recording goes on.)
 */
/* Seal the current frame now (e.g. before a checkpoint). */
int trace_writer_flush(struct trace_writer *w);
/* (It returns once that frame is in the file: write(2) done, no fsync.) */
const char *trace_writer_error(const struct trace_writer *w);
/* (NULL while recording works; the text lives until trace_writer_close.) */
uint64_t trace_writer_events(const struct trace_writer *w);
/* Flush, write the footer index, close.  Returns 0 or -1 (see error). */
int trace_writer_close(struct trace_writer *w, char *errbuf, size_t errlen);

/* ---- reader ---------------------------------------------------------- */

struct trace_reader;

struct trace_damage {
	uint64_t offset; /* byte offset of the damaged frame or region */
	char what[160];
};

/* Open and check the header.  NULL with a one-line reason on failure. */
struct trace_reader *trace_open(const char *path, char *errbuf, size_t errlen);
void trace_close(struct trace_reader *r);

const struct trace_kv *trace_header(const struct trace_reader *r,
				    size_t *count);
const char *trace_header_get(const struct trace_reader *r, const char *key);
void trace_version(const struct trace_reader *r, int *major, int *minor);
/* False when the footer was missing or bad and frames were scanned. */
bool trace_has_footer(const struct trace_reader *r);

/*
 * Next event.  Returns 1 with *ev filled, 0 at the end of the trace, -1
 * at damage (trace_reader_damage() says where and what; a further call
 * returns 0).
 */
int trace_next(struct trace_reader *r, struct trace_event *ev);
/* Position so that the next trace_next() returns event 'index'. */
int trace_seek(struct trace_reader *r, uint64_t index);
/*
 * Position at the CKPT_BEGIN of the last checkpoint at or before event
 * 'index'; *ckpt_index receives its event index.  -1 if there is none.
 */
int trace_seek_checkpoint(struct trace_reader *r, uint64_t index,
			  uint64_t *ckpt_index);
const struct trace_damage *trace_reader_damage(const struct trace_reader *r);

/* Totals from the footer (or from a full scan when there is none). */
struct trace_summary {
	uint64_t events;
	uint64_t frames;
	uint64_t per_kind[TRACE_EV_KIND_MAX];
	uint64_t checkpoints;
	uint64_t raw_bytes; /* events before compression */
	uint64_t file_bytes;
	uint64_t first_ns, last_ns; /* time of first and last event */
};
int trace_summary(struct trace_reader *r, struct trace_summary *sum);

#endif
