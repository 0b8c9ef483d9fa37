/*
 * The lockstep tester's internal API, shared by its files:
 *   vmm_lockstep.c      the engine: the VM, memory and its shadow, vCPUs,
 *                       the run loop (one vCPU's step at a time), the
 *                       setters and injections that go to both engines
 *   lockstep_step.c     one step: kvm single-stepped, interp brought to
 *                       the same point (the completions, events and PVM
 *                       workarounds that takes), then compared
 *   lockstep_compare.c  what is compared (registers, exits, memory, the
 *                       debug registers, MSRs and x87/SSE at exits) and
 *                       the report of a difference
 * Only kmod/lockstep includes this.
 */
#ifndef RHYVE_KMOD_LOCKSTEP_H
#define RHYVE_KMOD_LOCKSTEP_H

#include <pthread.h>
#include <time.h>

#include "../interp/interp.h"

#define LS_PAGE            4096ULL
#define LS_MEMCHECK_STEPS  4096       /* kvm's dirty log every so many steps */
#define LS_USER_CATCHUP    2          /* see ls_step(), 6. */
#define LS_RESYNC_MAX      64         /* see ls_step(), 7. */
#define LS_RESYNC_EXIT_MAX 1000000ULL /* the same, up to an exit */
#define LS_NS_PER_INSN     100        /* the VM clock per instruction */
#define LS_NS_PER_EXIT     10000      /* and per exit (ls_account()) */
#define LS_NREGS           (VM_REG_GUEST_INTR_SHADOW + 1)

struct ls_slot {
	bool used;
	uint64_t gpa;
	size_t len;
	uint8_t *host;   /* the primary's (kvm's) memory */
	uint8_t *shadow; /* interp's copy */
	uint64_t *bits;  /* scratch dirty bitmap */
};

struct ls_vm {
	struct vm *vm;
	void *kvm; /* the engines' cookies */
	struct interp_vm *ivm;
	struct ls_slot slots[VM_MAX_MEMMAP];
	/*
	 * One instruction of one vCPU at a time, handed out in turn (a
	 * ticket lock: a vCPU stepping in a loop must not starve the
	 * others); also guards the slots once running.
	 */
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	uint64_t ticket_next, ticket_serving;
	bool started;        /* the shadow holds the guest's memory */
	bool failed;         /* a difference was reported: stop every vCPU */
	uint64_t corrupt_at; /* test hook; 0: off */
	/* The vCPUs' counts as they go, for the VM's summary line. */
	int nvcpus, nran;
	uint64_t steps, events, exits, taken, resyncs, resynced;
};

/* What interp still has to do for kvm's last exit. */
enum ls_after {
	LS_AFTER_NONE = 0,
	LS_AFTER_RETIRED, /* interp retired the exit's instruction */
	LS_AFTER_RESTART, /* it completes on the next run (IN, MMIO load) */
};

struct ls_vcpu {
	struct ls_vm *lvm;
	struct vcpu *vcpu;
	int id;
	void *kvc;
	struct interp_cpu *ic;
	enum ls_after after;
	bool want_window; /* kvm refused an interrupt */
	bool user_step;   /* the debugger single-steps */
	struct vm_guest_debug dbg;
	_Atomic bool kicked;
	char diverged[256];  /* an injection interp refused, for run() */
	struct vm_exit prev; /* kvm's last exit, answered, for interp */
	bool rep_lag;        /* kvm has an empty REP iteration to go */
	bool user_seen;      /* this step ran at CPL 3 (pvm_seg_quirk) */
	uint8_t inbuf[4096]; /* its IN data (a REP INS: several elements) */
	uint64_t steps, events, exits, taken;
	uint64_t resyncs, resynced; /* ls_step() 7.: steps, instructions */
	uint64_t yield_icount; /* the end of its turn (vmm_sched.c); 0: none */
	uint64_t since_memcheck;
	struct timespec t0;
};

/* A CPU's state, as compared after each step. */
struct ls_state {
	uint64_t reg[LS_NREGS];
	struct seg_desc desc[VM_REG_GUEST_GDTR - VM_REG_GUEST_ES + 1];
};

/* The two engines: kvm the primary, interp compared with it. */
static const struct vmm_engine *const kvm = &vmm_engine_kvm;
static const struct vmm_engine *const itp = &vmm_engine_interp;

/* The bitmap words of a slot's dirty log. */
static inline size_t
ls_slot_words(const struct ls_slot *s)
{
	return (s->len / LS_PAGE + 63) / 64;
}

/* ---- lockstep_compare.c ---------------------------------------------- */

/* A CPU's state as compared; the registers that differ, by bit. */
void ls_state_get(const struct vmm_engine *eng, void *vc, struct ls_state *st);
uint64_t ls_state_diff(const struct ls_state *k, const struct ls_state *i);
/* Arithmetic flags the SDM leaves undefined after the instruction. */
uint64_t ls_undefined_flags(const struct x86_instr *insn);
/* Registers whose values are the host's after the instruction (kvm's). */
uint64_t ls_host_result_regs(const struct x86_instr *insn,
			     const struct ls_state *before);

void ls_insn_text(const struct x86_instr *insn, uint64_t rip, char *buf,
		  size_t len);
/*
 * Stop the VM on the first difference: the whole report on stderr, its
 * first line as the engine error (rhyve exits 4).
 */
void ls_fail(struct ls_vcpu *lc, struct vm_exit *vmexit, const char *what,
	     const char *insn, uint64_t rip, const struct ls_state *k,
	     const struct ls_state *i, uint64_t diff);

/*
 * Memory: the pages interp wrote (and with 'kvm_too' those kvm wrote)
 * compared; false when they differ (reported).
 */
bool ls_mem_check(struct ls_vcpu *lc, struct vm_exit *vmexit, bool kvm_too,
		  const char *insn, uint64_t rip);

void ls_describe_exit(const struct vm_exit *e, char *buf, size_t len);
/* Do the exits describe the same access? */
bool ls_exit_equal(const struct vm_exit *k, const struct vm_exit *i);
/* Does this exit stop its instruction halfway (to complete later)? */
bool ls_exit_restarts(const struct vm_exit *e);
/*
 * At an exit: the debug registers, the MSRs both CPUs keep and the
 * x87/SSE state compared; false when they differ (reported).
 */
bool ls_exit_state_check(struct ls_vcpu *lc, struct vm_exit *vmexit,
			 const char *insn, uint64_t rip);

/* ---- lockstep_step.c ------------------------------------------------- */

/*
 * One step of both CPUs.  Returns true to go on stepping, false to return
 * *vmexit to kmod.
 */
bool ls_step(struct ls_vcpu *lc, struct vm_exit *vmexit);

#endif
