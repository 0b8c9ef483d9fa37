/*
 * The replayer's internal API, shared by its files (see vmm_replay.c for
 * which does what).  Only vmm_replay*.c include this.
 */
#ifndef RHYVE_KMOD_VMM_REPLAY_IMPL_H
#define RHYVE_KMOD_VMM_REPLAY_IMPL_H

#include "trace.h"
#include "vmm_impl.h"

/* The replayer's breakpoint: register 3, execute (R/W 00, LEN 00). */
#define REPLAY_SLOT 3
#define RFLAGS_RF   (1ULL << 16)
#define REPORT_SIZE 8192

/* The asynchronous exit the vCPU is running towards. */
struct replay_target {
	bool valid;
	uint64_t index; /* of its EXIT event */
	uint64_t rip, linear;
	/* Engines that count instructions recorded the exact count. */
	bool has_icount;
	uint64_t icount;
	uint32_t nregs;
	struct trace_reg regs[VM_STATE_MAX_REGS];
};

struct vm_replayer {
	struct trace_reader *r;
	struct trace_event ev; /* the next event, when 'have' */
	bool have;
	bool at_end; /* no more events */
	bool ended;  /* END consumed */
	int32_t end_status;
	bool diverged;
	char report[REPORT_SIZE];
	struct vm_replay_stats st;
	uint64_t first_ns;
	struct replay_target target;
	uint64_t checkpoint_id; /* of the last checkpoint read */
	bool bp_armed, stepping;
	/* How the state differed from the target's when first compared. */
	char target_diff[512];
	/* Past a breakpoint by RF: the state it was set at; RF ignored. */
	bool rf_pending, rf_broken;
	uint64_t rf_sig;
	/* The debugger's debug state, per vCPU (slots 0-2 and its step). */
	struct vm_guest_debug user[VM_MAXCPU];
	/*
	 * An injection not yet delivered (its vector), and the breakpoint on
	 * its handler that stands in for the debugger's single step then: a
	 * step on an entry that delivers an event would push RFLAGS with the
	 * step's TF onto the guest's stack, a write the recording lacks.
	 */
	bool inject_queued, handler_armed;
	/*
	 * The last exit's instruction is finished by the next KVM_RUN; under
	 * a step that run ends with the step (after the instruction, before
	 * any event), as a CPU's single-step trap comes before interrupts.
	 */
	bool io_pending;
	/*
	 * A HLT the recording exited on runs without the step (KVM would
	 * end the step instead of the HLT exit, and on PVM hosts later take
	 * the halt at the wrong moment).
	 */
	bool hlt_unstepped;
	/*
	 * Loaded from a checkpoint and not run since: KVM's view of whether
	 * the vCPU can take an interrupt is not the loaded state's yet.
	 */
	bool unsynced;
	int inject_vector;
	uint64_t handler_lin;
	/* vm_replay_restart(): vm_run returns once the VM is after exit N
	 * (of all vCPUs, replay_total_exits()). */
	bool restarted, stop_set, stop_hit;
	uint64_t stop_exits;
	/* The checkpoints seen so far and the VM's exit count at each. */
	struct replay_ckpt {
		uint64_t id, exits;
	} * ckpts;
	size_t nckpts, ckcap;
};

/* ---- vmm_replay.c ------------------------------------------------------ */

/*
 * The exits of all vCPUs so far: where the replay is (one vCPU runs
 * between two exits of the trace, whose order they have).
 */
uint64_t replay_total_exits(const struct vm *vm);

/* ---- vmm_replay_trace.c ---------------------------------------------- */

/* The next event the replay acts on (NULL at the end), and past it. */
struct trace_event *replay_peek(struct vm_replayer *rp);
void replay_consume(struct vm_replayer *rp);
/* The END event: the run is over; what rhyve exited with is recorded. */
void replay_reach_end(struct vm_replayer *rp, const struct trace_event *ev);

void replay_report_add(struct vm_replayer *rp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Divergence at event 'index': the report says what was recorded and what
 * the replay did, then the registers; returns -1.
 */
int replay_diverge(struct vcpu *vcpu, uint64_t index, const char *recorded,
		   const char *replayed);
const char *replay_exit_text(uint32_t code, uint64_t rip, char *buf,
			     size_t len);
const char *replay_event_text(const struct trace_event *ev, char *buf,
			      size_t len);

/*
 * Compare a recorded register list with the vCPU's state.  With 'why'
 * the first differences are described there.
 */
bool replay_regs_match(struct vcpu *vcpu, const struct trace_reg *regs,
		       uint32_t n, char *why, size_t whylen);
/* A hash of the general registers, rip and rflags (less RF). */
uint64_t replay_regs_signature(struct vcpu *vcpu);

/* ---- vmm_replay_ckpt.c ----------------------------------------------- */

enum ckpt_mode {
	CKPT_VERIFY, /* compare the VM with it */
	CKPT_LOAD,   /* the first: the VM's whole state */
	CKPT_APPLY,  /* a later one, on the way to a replay's start */
};

/*
 * The checkpoint at the cursor (its CKPT_BEGIN), in 'mode'; *cindex is
 * its event index.  Returns 0, or -1 (errbuf says why).
 */
int replay_checkpoint(struct vm *vm, enum ckpt_mode mode, uint64_t *cindex,
		      char *errbuf, size_t errlen);

/* ---- vmm_replay_debug.c ---------------------------------------------- */

/* The replayer's and the debugger's debug state into the engine. */
int replay_debug_apply(struct vcpu *vcpu);
/* The engine's complete_io, the debugger's step held off meanwhile. */
int replay_complete_io(struct vcpu *vcpu, struct vm_exit *vmexit);
/* The debugger single-steps this vCPU. */
bool replay_user_stepping(const struct vm_replayer *rp,
			  const struct vcpu *vcpu);
/* Take the recorded asynchronous exit (EXIT, REGS) as the target. */
int replay_take_target(struct vcpu *vcpu, struct trace_event *ev);
/*
 * Before an entry with a target: 1 when the vCPU is at it (*vmexit the
 * asynchronous exit), 0 to enter the guest (armed to reach it), -1
 * diverged.
 */
int replay_target_enter(struct vcpu *vcpu, struct vm_exit *vmexit);
/*
 * Before an entry the debugger single-steps: its step, or a breakpoint on
 * the handler of the event being delivered.  0, or -1 diverged.
 */
int replay_step_entry(struct vcpu *vcpu);

#endif
