/*
 * rhyvetrace: the offline trace tool.  This header is its whole internal
 * API: what every subcommand shares (errors, opening a trace, number and
 * filter parsing, event formatting, progress, a small hash map).  Each
 * subcommand lives in its own file and has one entry point, rt_cmd_NAME().
 */
#ifndef RHYVE_TOOLS_RHYVETRACE_H
#define RHYVE_TOOLS_RHYVETRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace.h"

/* Exit statuses, the same for every subcommand. */
enum {
	RT_EXIT_OK = 0,
	RT_EXIT_DAMAGE = 1, /* damage found, or the traces differ (diff) */
	RT_EXIT_USAGE = 2,
	RT_EXIT_IO = 3, /* cannot open or read a file */
};

/* ---- subcommands ------------------------------------------------------- */

int rt_cmd_info(int argc, char **argv);
int rt_cmd_dump(int argc, char **argv);
int rt_cmd_stats(int argc, char **argv);
int rt_cmd_disasm(int argc, char **argv);
int rt_cmd_diff(int argc, char **argv);
int rt_cmd_export(int argc, char **argv);
int rt_cmd_verify(int argc, char **argv);

/* ---- errors and options ------------------------------------------------ */

/* One line "rhyvetrace: ..." on stderr. */
void rt_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A usage error: the message, then "try 'rhyvetrace CMD --help'".
 * Returns RT_EXIT_USAGE so callers can 'return rt_usage_error(...)'.
 */
int rt_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * getopt_long returned '?' or ':' (optstrings start with ':'): say which
 * option was wrong.  Returns RT_EXIT_USAGE.
 */
int rt_option_error(const char *cmd, int c, char **argv);

/*
 * getopt_long keeps its state in globals; every subcommand parses its own
 * argv from the start, so reset it first.
 */
void rt_getopt_reset(void);

/* Unsigned numbers: decimal or 0x hex; the whole string must parse. */
bool rt_parse_u64(const char *s, uint64_t *out);
/* "A" or "A-B" (inclusive); A <= B. */
bool rt_parse_range(const char *s, uint64_t *lo, uint64_t *hi);

/*
 * Open a trace for reading; on failure print "rhyvetrace: PATH: why" and
 * return NULL.
 */
struct trace_reader *rt_open(const char *path);
/* Print "rhyvetrace: damage at offset X: what" for the reader's damage. */
void rt_report_damage(const struct trace_reader *r, const char *path);

/* ---- names ------------------------------------------------------------- */

/* Exit reason names from enum vm_exitcode ("inout", "mmio", ...). */
const char *rt_exit_name(uint32_t exitcode);
/*
 * What an EXIT's info[] means (docs/trace-format.md): up to three named
 * fields, e.g. rflags of a HLT, 'how' of a SUSPENDED (with a symbolic
 * value in 'text').  Nonzero fields the format does not explain come out
 * as info0..info2.  Returns the count.
 */
struct rt_field {
	const char *name;
	uint64_t value;
	const char *text; /* symbolic value, or NULL: show the number */
};
size_t rt_exit_info(const struct trace_event *ev, struct rt_field f[3]);
/* The name of info[i] for an exit code, or NULL if the format has none. */
const char *rt_exit_info_name(uint32_t exitcode, unsigned i);

/* trace_kind_name(), never NULL. */
const char *rt_kind_name(enum trace_kind kind);
const char *rt_inject_type_name(uint8_t type);
/* A register id from REGS events: "rax", "cs.base", "msr:0xc0000080". */
void rt_reg_name(uint64_t id, char *buf, size_t len);

/* ---- filters (dump) ---------------------------------------------------- */

struct rt_filter {
	uint64_t kinds; /* bit per enum trace_kind; 0: all */
	bool has_vcpu;
	uint32_t vcpu;
	uint64_t from, to; /* event index range, inclusive */
	bool has_port;
	uint64_t port_lo, port_hi;
	bool has_addr; /* guest-physical: MMIO, DMA, checkpoint pages */
	uint64_t addr_lo, addr_hi;
	bool has_rip; /* exits */
	uint64_t rip_lo, rip_hi;
};

void rt_filter_init(struct rt_filter *f);
/* "exit,pio,..." into f->kinds; false (with a message) on a bad name. */
bool rt_filter_kinds(struct rt_filter *f, const char *list);
bool rt_filter_match(const struct rt_filter *f, const struct trace_event *ev);

/* ---- event formatting -------------------------------------------------- */

/* "#index t=time vcpuN kind fields..." and a newline. */
void rt_print_event(FILE *fp, const struct trace_event *ev);
/* The fields part only (no index, time, vcpu, kind, newline). */
void rt_print_fields(FILE *fp, const struct trace_event *ev);
/* One JSON object and a newline. */
void rt_print_event_json(FILE *fp, const struct trace_event *ev);

/* A JSON string literal (quotes included); invalid UTF-8 as \u00XX. */
void rt_json_string(FILE *fp, const char *s, size_t len);
/* A JSON string of lowercase hex digits. */
void rt_json_hex(FILE *fp, const uint8_t *p, size_t len);
/* Bytes as hex, at most 'max' of them, then "..." if there were more. */
void rt_print_hex(FILE *fp, const uint8_t *p, size_t len, size_t max);
/* A C-style quoted string, at most 'max' bytes shown. */
void rt_print_quoted(FILE *fp, const uint8_t *p, size_t len, size_t max);
/* Nanoseconds as seconds with nine decimals. */
void rt_print_time(FILE *fp, uint64_t ns);

/* ---- progress ---------------------------------------------------------- */

/*
 * A "rhyvetrace: CMD: N events (P%)" line on stderr, redrawn at most a
 * few times a second, only when stderr is a terminal: piped or logged
 * output stays clean.
 */
struct rt_progress {
	bool on;
	const char *what;
	uint64_t total; /* 0: unknown */
	uint64_t next_check;
	uint64_t last_ms;
	bool drawn;
};

/*
 * 'total' from the footer when there is one (cheap), else 0.  A command
 * that streams its output to stdout passes 'streams': no progress then if
 * stdout is a terminal too, as the lines would mix.
 */
void rt_progress_start(struct rt_progress *p, const char *what,
		       struct trace_reader *r, bool streams);
static inline void rt_progress_tick(struct rt_progress *p, uint64_t n);
void rt_progress_draw(struct rt_progress *p, uint64_t n);
void rt_progress_end(struct rt_progress *p);

static inline void
rt_progress_tick(struct rt_progress *p, uint64_t n)
{
	if (p->on && n >= p->next_check)
		rt_progress_draw(p, n);
}

/* ---- a hash map with 32-byte keys and four counters -------------------- */

/*
 * Everything the tool aggregates (exits per vCPU, MMIO addresses, distinct
 * instructions) is keyed by values from the file, which are untrusted and
 * sparse, so arrays indexed by them are out; this map is.
 */
struct rt_key {
	uint64_t k[4];
};

struct rt_entry {
	struct rt_key key;
	uint64_t v[4];
	bool used;
};

struct rt_map {
	struct rt_entry *slots;
	size_t cap; /* a power of two */
	size_t count;
};

void rt_map_init(struct rt_map *m);
void rt_map_free(struct rt_map *m);
/* The entry for 'key', created zeroed if absent; exits on no memory. */
struct rt_entry *rt_map_get(struct rt_map *m, const struct rt_key *key);
struct rt_entry *rt_map_find(const struct rt_map *m, const struct rt_key *key);
/*
 * The used entries, copied into a new array sorted with 'cmp'; *n gets the
 * count.  The caller frees it.
 */
struct rt_entry *rt_map_sorted(const struct rt_map *m,
			       int (*cmp)(const void *, const void *),
			       size_t *n);

/* Allocation that cannot fail (prints and exits 3 on no memory). */
void *rt_xcalloc(size_t n, size_t size);

#endif
