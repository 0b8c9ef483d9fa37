/*
 * gdb: the GDB remote serial protocol engine of rhyve's built-in stub.
 *
 * The engine knows the protocol (packets, acks, the commands, the x86-64
 * target description) and nothing of kmod: what it debugs is a struct
 * gdb_target, a table of operations on "threads" (vCPUs, numbered from 1
 * as gdb wants) that a live VM implements today (monitor/gdb_target.c)
 * and a replay can implement later.
 *
 * Bytes from the debugger go in through gdb_input(); replies leave
 * through the session's send callback.  Stops of a running target come
 * in through gdb_stopped() and gdb_exited().  The engine keeps no lock:
 * the caller serialises the calls on one session (the monitor holds one
 * mutex around them).
 */
#ifndef RHYVE_GDB_H
#define RHYVE_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest packet accepted (and advertised as PacketSize): payload bytes. */
#define GDB_PACKET_MAX 16384

/* The registers of the i386:x86-64 description, in its (and g's) order. */
enum gdb_x86_reg {
	GDB_X86_RAX,
	GDB_X86_RBX,
	GDB_X86_RCX,
	GDB_X86_RDX,
	GDB_X86_RSI,
	GDB_X86_RDI,
	GDB_X86_RBP,
	GDB_X86_RSP,
	GDB_X86_R8,
	GDB_X86_R9,
	GDB_X86_R10,
	GDB_X86_R11,
	GDB_X86_R12,
	GDB_X86_R13,
	GDB_X86_R14,
	GDB_X86_R15,
	GDB_X86_RIP,
	GDB_X86_EFLAGS,
	GDB_X86_CS,
	GDB_X86_SS,
	GDB_X86_DS,
	GDB_X86_ES,
	GDB_X86_FS,
	GDB_X86_GS,
	GDB_X86_ST0, /* st0-st7: 10 bytes each */
	GDB_X86_FCTRL = GDB_X86_ST0 + 8,
	GDB_X86_FSTAT,
	GDB_X86_FTAG,
	GDB_X86_FISEG,
	GDB_X86_FIOFF,
	GDB_X86_FOSEG,
	GDB_X86_FOOFF,
	GDB_X86_FOP,
	GDB_X86_XMM0, /* xmm0-xmm15: 16 bytes each */
	GDB_X86_MXCSR = GDB_X86_XMM0 + 16,
	GDB_X86_FS_BASE,
	GDB_X86_GS_BASE,
	GDB_X86_CR0,
	GDB_X86_CR2,
	GDB_X86_CR3,
	GDB_X86_CR4,
	GDB_X86_CR8,
	GDB_X86_EFER,
	GDB_X86_NREGS
};

/* Size in bytes of register 'regno' (0 if there is no such register). */
int gdb_x86_reg_size(int regno);
const char *gdb_x86_reg_name(int regno);
/* The target description XML (qXfer:features:read:target.xml). */
const char *gdb_x86_target_xml(void);

/* Breakpoint and watchpoint kinds, as the Z packets number them. */
enum gdb_bp_type {
	GDB_BP_SW = 0,     /* Z0 */
	GDB_BP_HW = 1,     /* Z1 */
	GDB_WP_WRITE = 2,  /* Z2 */
	GDB_WP_READ = 3,   /* Z3 */
	GDB_WP_ACCESS = 4, /* Z4 */
};

/* Why the target stopped: the stop reply's signal and extra fields. */
enum gdb_stop_reason {
	GDB_STOP_SIGNAL,  /* a stop request (Ctrl-C), or the initial stop */
	GDB_STOP_STEP,    /* a single step completed */
	GDB_STOP_SWBREAK, /* a Z0 breakpoint */
	GDB_STOP_HWBREAK, /* a Z1 breakpoint */
	GDB_STOP_WATCH,   /* a Z2 watchpoint, at 'addr' */
	GDB_STOP_RWATCH,  /* Z3 */
	GDB_STOP_AWATCH,  /* Z4 */
};

struct gdb_stop {
	enum gdb_stop_reason reason;
	int thread;    /* 1.. */
	int signo;     /* GDB_SIGTRAP or GDB_SIGINT */
	uint64_t addr; /* the watched address */
	/* Reverse execution reached the start of the recording. */
	bool replay_begin;
	/* A line for the debugger's console ("O") before the stop reply. */
	const char *note;
};

#define GDB_SIGINT  2
#define GDB_SIGTRAP 5

/* What a thread does when resumed. */
enum gdb_resume_action {
	GDB_RESUME_NONE, /* stays stopped */
	GDB_RESUME_CONT,
	GDB_RESUME_STEP,
};

/* Output of a monitor command (qRcmd), line by line. */
typedef void (*gdb_output_fn)(void *arg, const char *text);

/*
 * The debugged machine.  Every operation gets 'arg' first; 'thread'
 * counts from 1.  Memory and registers are only touched while the target
 * is stopped (all threads, all-stop mode).  Errors are positive errno
 * values.
 */
struct gdb_target_ops {
	int (*nthreads)(void *arg);
	/* Register 'regno' (enum gdb_x86_reg) into buf (its size); ENOENT
	 * when the target does not have it (the reply says "unavailable"). */
	int (*read_reg)(void *arg, int thread, int regno, uint8_t *buf);
	int (*write_reg)(void *arg, int thread, int regno, const uint8_t *buf);
	/*
	 * Memory: virtual (through the thread's page tables) or, with
	 * 'phys', guest-physical.  Returns the bytes done, which may be
	 * fewer than asked where a page is not mapped.
	 */
	size_t (*read_mem)(void *arg, int thread, bool phys, uint64_t addr,
			   uint8_t *buf, size_t len);
	size_t (*write_mem)(void *arg, int thread, bool phys, uint64_t addr,
			    const uint8_t *buf, size_t len);
	/*
	 * Resume: actions[t - 1] for thread t.  The target runs until a
	 * thread stops, then stops them all and calls gdb_stopped().
	 */
	int (*resume)(void *arg, const enum gdb_resume_action *actions);
	/* Ask a running target to stop (Ctrl-C); it calls gdb_stopped(). */
	void (*interrupt)(void *arg);
	/* 0, ENOSPC (no slot free: "E" reply), ENOTSUP (empty reply). */
	int (*insert_bp)(void *arg, enum gdb_bp_type type, uint64_t addr,
			 int kind);
	int (*remove_bp)(void *arg, enum gdb_bp_type type, uint64_t addr,
			 int kind);
	/* A line about the thread for qThreadExtraInfo ("vCPU 0, long"). */
	void (*thread_info)(void *arg, int thread, char *buf, size_t len);
	/*
	 * A monitor command other than the engine's own (help, phys):
	 * 0 when it was one of the target's (output through 'out'), ENOENT
	 * when unknown.
	 */
	int (*monitor)(void *arg, const char *cmd, gdb_output_fn out,
		       void *outarg);
	/* The target's own "monitor help" lines, or NULL. */
	const char *monitor_help;
	/* The debugger leaves (D): remove everything and let it run. */
	void (*detach)(void *arg);
	/* k: end the machine. */
	void (*kill)(void *arg);
	/*
	 * Reverse execution (a replay): true when the target can go back
	 * now (qSupported then has ReverseStep+ and ReverseContinue+).
	 * reverse() goes back one step ('step', bs) or to the last
	 * breakpoint or watchpoint before the current point (bc), then
	 * stops as resume() does.  NULL: not supported.
	 */
	bool (*can_reverse)(void *arg);
	int (*reverse)(void *arg, int thread, bool step);
};

struct gdb_target {
	const struct gdb_target_ops *ops;
	void *arg;
};

/* Bytes to the debugger; false when the connection is gone. */
typedef bool (*gdb_send_fn)(void *arg, const uint8_t *buf, size_t len);

struct gdb_session;

/*
 * A session with a stopped target ('stop' says why, for '?').
 * NULL when out of memory.
 */
struct gdb_session *gdb_session_new(const struct gdb_target *target,
				    const struct gdb_stop *stop,
				    gdb_send_fn send, void *sendarg);
void gdb_session_free(struct gdb_session *s);
/* Bytes from the debugger, any amount, any split. */
void gdb_input(struct gdb_session *s, const uint8_t *buf, size_t len);
/* The target stopped after a resume or an interrupt: the stop reply. */
void gdb_stopped(struct gdb_session *s, const struct gdb_stop *stop);
/*
 * The machine ended: "W" with 'status' when 'exited', "X" with 'signo'
 * when killed.  The session is over afterwards.
 */
void gdb_exited(struct gdb_session *s, bool exited, int status, int signo);
/* Is the target running on the session's behalf (a c/s is pending)? */
bool gdb_session_running(const struct gdb_session *s);
/* The debugger detached or killed: the connection should close. */
bool gdb_session_done(const struct gdb_session *s);
/* Memory accesses are guest-physical ("monitor phys on"). */
bool gdb_session_phys(const struct gdb_session *s);

#endif
