/*
 * The engine's debug state during a replay, shared by the replayer and a
 * debugger.  The replayer reaches a recorded asynchronous exit by a
 * breakpoint in register 3 at its rip (a full register compare at each
 * hit, passed with RFLAGS.RF when the moment is wrong) or, where the engine
 * counts instructions, by the engine stopping at the recorded count
 * (stop_icount).  The debugger has registers 0-2 and its single step;
 * vm_replay_filter() routes each debug exit to whoever's it is, and a step
 * into an event being delivered is replaced by a breakpoint on the
 * event's handler.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm_replay_impl.h"

/*
 * The engine's debug state: the debugger's (registers 0-2, its step) with
 * the replayer's (register 3 at the asynchronous exit's rip or at the
 * handler of an event being delivered, its own step).
 */
int
replay_debug_apply(struct vcpu *vcpu)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct vm_guest_debug dbg = rp->user[vcpu->id];
	uint64_t mine = 0;
	int error;

	if (!dbg.enable)
		memset(&dbg, 0, sizeof(dbg));
	if (rp->handler_armed)
		mine = rp->handler_lin;
	else if (rp->bp_armed && rp->target.has_icount)
		dbg.stop_icount = rp->target.icount; /* the engine stops */
	else if (rp->bp_armed)
		mine = rp->target.linear;
	if (rp->handler_armed || (rp->bp_armed && !rp->target.has_icount)) {
		dbg.dr[REPLAY_SLOT] = mine;
		dbg.dr7 &= ~(0xfULL << DR7_RW_SHIFT(REPLAY_SLOT));
		dbg.dr7 |= DR7_L(REPLAY_SLOT);
	}
	if (rp->handler_armed || rp->hlt_unstepped)
		dbg.singlestep = false; /* the breakpoint steps instead */
	else if (rp->stepping)
		dbg.singlestep = true;
	dbg.enable = dbg.singlestep || (dbg.dr7 & 0xff) != 0;
	error = vcpu->vm->engine->set_debug(vcpu->cookie, &dbg);
	if (error == 0)
		vcpu->debug_step = dbg.singlestep;
	return error;
}

static int
arm(struct vcpu *vcpu, bool bp, bool step)
{
	struct vm_replayer *rp = vcpu->vm->replayer;

	rp->bp_armed = bp;
	rp->stepping = step;
	rp->rf_pending = false;
	return replay_debug_apply(vcpu);
}

/*
 * The engine's complete_io, with a single step of the debugger's held
 * off meanwhile: the KVM_RUN that finishes the last exit's instruction
 * would otherwise end with the step's debug exit instead.
 */
int
replay_complete_io(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct vm_guest_debug saved;
	bool stepping;
	int error;

	rp->io_pending = false;
	if (!vcpu->debug_step)
		return vcpu->vm->engine->complete_io(vcpu->cookie, vmexit);
	saved = rp->user[vcpu->id];
	stepping = rp->stepping;
	rp->user[vcpu->id].singlestep = false;
	rp->stepping = false;
	(void)replay_debug_apply(vcpu);
	error = vcpu->vm->engine->complete_io(vcpu->cookie, vmexit);
	rp->user[vcpu->id] = saved;
	rp->stepping = stepping;
	(void)replay_debug_apply(vcpu);
	return error;
}

/*
 * The debugger's vm_set_guest_debug() during a replay: registers 0-2 are
 * its own (EBUSY for register 3, the replayer's).
 */
int
vm_replay_set_debug(struct vcpu *vcpu, const struct vm_guest_debug *dbg)
{
	struct vm_replayer *rp = vcpu->vm->replayer;

	if (dbg->enable && (dbg->dr7 & (3ULL << (2 * REPLAY_SLOT))) != 0)
		return EBUSY;
	rp->user[vcpu->id] = *dbg;
	return replay_debug_apply(vcpu);
}

/* The debugger single-steps this vCPU. */
bool
replay_user_stepping(const struct vm_replayer *rp, const struct vcpu *vcpu)
{
	return rp->user[vcpu->id].enable && rp->user[vcpu->id].singlestep;
}

/* Guest linear memory, for the handler lookup (no page crossing). */
static int
read_linear(struct vcpu *vcpu, uint64_t gla, void *buf, size_t len)
{
	uint64_t gpa;
	bool fault;
	void *host;

	if (vm_gla2gpa_nofault(vcpu, gla, X86_MEM_PEEK, &gpa, &fault) != 0 ||
	    fault || (gpa & 0xfff) + len > 4096 ||
	    (host = vm_map_gpa(vcpu->vm, gpa, len)) == NULL)
		return -1;
	memcpy(buf, host, len);
	return 0;
}

/*
 * Where the guest's handler of 'vector' starts (linear): real mode's
 * IVT, a 64-bit IDT gate, or a 32-bit one with its code segment's base
 * from the GDT.
 */
static int
handler_linear(struct vcpu *vcpu, int vector, uint64_t *lin)
{
	struct seg_desc idtr, gdtr;
	uint64_t cr0 = 0, efer = 0;
	uint8_t g[16], d[8];
	uint64_t off, base;

	if (vm_get_seg_desc(vcpu, VM_REG_GUEST_IDTR, &idtr) != 0 ||
	    vm_get_register(vcpu, VM_REG_GUEST_CR0, &cr0) != 0 ||
	    vm_get_register(vcpu, VM_REG_GUEST_EFER, &efer) != 0)
		return -1;
	if (!(cr0 & CR0_PE)) {
		if (read_linear(vcpu, idtr.base + 4 * (uint64_t)vector, g, 4))
			return -1;
		*lin = ((uint64_t)(g[2] | g[3] << 8) << 4) + (g[0] | g[1] << 8);
		return 0;
	}
	if (efer & EFER_LMA) {
		if (read_linear(vcpu, idtr.base + 16 * (uint64_t)vector, g, 16))
			return -1;
		*lin = (uint64_t)(g[0] | g[1] << 8) |
		       (uint64_t)(g[6] | g[7] << 8) << 16 |
		       (uint64_t)((uint32_t)g[8] | (uint32_t)g[9] << 8 |
				  (uint32_t)g[10] << 16 | (uint32_t)g[11] << 24)
			   << 32;
		return 0;
	}
	if (read_linear(vcpu, idtr.base + 8 * (uint64_t)vector, g, 8) ||
	    vm_get_seg_desc(vcpu, VM_REG_GUEST_GDTR, &gdtr) != 0 ||
	    read_linear(vcpu, gdtr.base + (uint64_t)((g[2] | g[3] << 8) & ~7),
			d, 8))
		return -1;
	off = (uint64_t)(g[0] | g[1] << 8) | (uint64_t)(g[6] | g[7] << 8) << 16;
	base = (uint64_t)(d[2] | d[3] << 8 | d[4] << 16) | (uint64_t)d[7] << 24;
	*lin = (uint32_t)(base + off);
	return 0;
}

/* Take the recorded asynchronous exit (EXIT, REGS) as the target. */
int
replay_take_target(struct vcpu *vcpu, struct trace_event *ev)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct replay_target *t = &rp->target;
	uint64_t index = ev->index;
	char what[128];

	t->index = index;
	t->rip = ev->u.exit.rip;
	replay_consume(rp);
	ev = replay_peek(rp);
	if (ev == NULL || ev->kind != TRACE_EV_REGS ||
	    ev->vcpu != (uint32_t)vcpu->id)
		return replay_diverge(
		    vcpu, index, "an asynchronous exit without its registers",
		    replay_event_text(ev, what, sizeof(what)));
	t->nregs = ev->u.regs.count < VM_STATE_MAX_REGS ? ev->u.regs.count
							: VM_STATE_MAX_REGS;
	memcpy(t->regs, ev->u.regs.regs, t->nregs * sizeof(t->regs[0]));
	replay_consume(rp);
	t->linear = t->rip;
	t->has_icount = false;
	for (uint32_t i = 0; i < t->nregs; i++) {
		if (t->regs[i].id == TRACE_REG_SEG_BASE(VM_REG_GUEST_CS))
			t->linear = t->rip + t->regs[i].value;
		if (t->regs[i].id == VM_REG_ICOUNT) {
			t->has_icount = true;
			t->icount = t->regs[i].value;
		}
	}
	t->valid = true;
	rp->target_diff[0] = '\0';
	return 0;
}

/* A debug exit for the debugger: a breakpoint of its own, or its step. */
static bool
user_debug_exit(struct vm_replayer *rp, struct vcpu *vcpu, uint64_t dr6)
{
	const struct vm_guest_debug *u = &rp->user[vcpu->id];

	if (!u->enable)
		return false;
	for (int i = 0; i < REPLAY_SLOT; i++)
		if ((dr6 & DR6_B(i)) && (u->dr7 & DR7_L(i)))
			return true;
	return (dr6 & DR6_BS) && u->singlestep;
}

/* The next instruction is a HLT the recording exited on next. */
static bool
next_is_recorded_hlt(struct vcpu *vcpu)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev;
	struct seg_desc cs;
	uint64_t rip;
	uint8_t op;

	return !rp->inject_queued && !rp->target.valid &&
	       (ev = replay_peek(rp)) != NULL && ev->kind == TRACE_EV_EXIT &&
	       ev->vcpu == (uint32_t)vcpu->id &&
	       ev->u.exit.exitcode == VM_EXITCODE_HLT &&
	       vm_get_register(vcpu, VM_REG_GUEST_RIP, &rip) == 0 &&
	       ev->u.exit.rip == rip + 1 &&
	       vm_get_seg_desc(vcpu, VM_REG_GUEST_CS, &cs) == 0 &&
	       read_linear(vcpu, cs.base + rip, &op, 1) == 0 && op == 0xf4;
}

/*
 * A single step over HLT: KVM finishes the instruction with the step's
 * debug exit and never reports the HLT exit the recording has (nor
 * halts).  When that exit is next, at this rip, the step becomes it, and
 * the replay goes on to the interrupt that woke the recording.
 */
static bool
stepped_over_hlt(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev;
	struct seg_desc cs;
	uint64_t rflags;
	uint8_t op;

	if (rp->target.valid || (ev = replay_peek(rp)) == NULL ||
	    ev->kind != TRACE_EV_EXIT || ev->vcpu != (uint32_t)vcpu->id ||
	    ev->u.exit.exitcode != VM_EXITCODE_HLT ||
	    ev->u.exit.rip != vmexit->rip ||
	    vm_get_seg_desc(vcpu, VM_REG_GUEST_CS, &cs) != 0 ||
	    read_linear(vcpu, cs.base + vmexit->rip - 1, &op, 1) != 0 ||
	    op != 0xf4 ||
	    vm_get_register(vcpu, VM_REG_GUEST_RFLAGS, &rflags) != 0)
		return false;
	/*
	 * Past the HLT for KVM too: on PVM hosts the step's exit reports
	 * the next rip while the vCPU would take an interrupt at the HLT.
	 */
	if (vm_set_register(vcpu, VM_REG_GUEST_RIP, ev->u.exit.rip) != 0)
		return false;
	memset(vmexit, 0, sizeof(*vmexit));
	vmexit->exitcode = VM_EXITCODE_HLT;
	vmexit->rip = ev->u.exit.rip;
	vmexit->inst_length = ev->u.exit.inst_length;
	vmexit->u.hlt.rflags = rflags;
	return true;
}

int
replay_target_enter(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;

	/*
	 * Already there: a kick that came before the guest ran at all.  The
	 * recording's KVM_RUN finished the last exit's instruction (an IN
	 * writes its register on the way back in) before it saw the kick,
	 * so finish it here too, then compare.
	 */
	if (!rp->bp_armed && !rp->stepping &&
	    replay_complete_io(vcpu, vmexit) != 0)
		return replay_diverge(
		    vcpu, rp->target.index, "an asynchronous exit",
		    "the engine cannot complete the last exit");
	if (replay_regs_match(vcpu, rp->target.regs, rp->target.nregs, NULL,
			      0)) {
		if (rp->bp_armed || rp->stepping)
			arm(vcpu, false, false);
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		vmexit->rip = rp->target.rip;
		return 1;
	}
	/*
	 * Then the breakpoint does the running.  (Not a single step: an
	 * interrupt injected on this entry would push RFLAGS with the
	 * step's TF, and the guest's IRET would take it back.)
	 */
	if (!rp->bp_armed && !rp->stepping && arm(vcpu, true, false) != 0)
		return replay_diverge(vcpu, rp->target.index,
				      "an asynchronous exit",
				      "the engine cannot set a breakpoint");
	return 0;
}

int
replay_step_entry(struct vcpu *vcpu)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	uint64_t lin;

	/*
	 * The debugger steps into an event being delivered: a breakpoint on
	 * its handler's first instruction takes the step's place.
	 */
	if (!replay_user_stepping(rp, vcpu) || rp->handler_armed)
		return 0;
	if (next_is_recorded_hlt(vcpu)) {
		rp->hlt_unstepped = true;
		return replay_debug_apply(vcpu) == 0
			   ? 0
			   : replay_diverge(
				 vcpu, 0, "a debugger's step",
				 "the engine cannot stop single-stepping");
	}
	if (!rp->inject_queued || rp->io_pending ||
	    handler_linear(vcpu, rp->inject_vector, &lin) != 0) {
		/*
		 * The step's TF again: an IRET that returned from a handler
		 * entered under the stand-in popped RFLAGS without it.
		 */
		return replay_debug_apply(vcpu) == 0
			   ? 0
			   : replay_diverge(vcpu, 0, "a debugger's step",
					    "the engine cannot single-step");
	}
	rp->handler_armed = true;
	rp->handler_lin = lin;
	if (replay_debug_apply(vcpu) != 0)
		return replay_diverge(vcpu, 0, "a debugger's step",
				      "the engine cannot set a breakpoint");
	return 0;
}

int
vm_replay_filter(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	uint64_t dr6 = vmexit->u.debug.dr6;
	bool handler_hit;

	rp->unsynced = false;

	/*
	 * A kick: the monitor's (vm_vcpu_kick(), a debugger stopping the VM)
	 * returns to it, rhyve's own (devices) is not in the recording.
	 * Neither is an exit of the recording.
	 */
	if (vmexit->exitcode == VM_EXITCODE_BOGUS)
		return atomic_exchange(&vcpu->exit_request, false) ? 2 : 1;
	/* The guest ran: an event queued is delivered (not when a step
	 * ended with the last exit's instruction). */
	if (!rp->io_pending || vmexit->exitcode != VM_EXITCODE_DEBUG)
		rp->inject_queued = false;
	rp->io_pending = false;
	rp->hlt_unstepped = false;
	if (vmexit->exitcode != VM_EXITCODE_DEBUG)
		return 0;
	handler_hit = rp->handler_armed && (dr6 & DR6_B(REPLAY_SLOT));
	if (handler_hit) {
		/*
		 * The debugger's step into a handler: a step to it (B3 stays
		 * to say an event was delivered: the state is not the one
		 * right after the last exit even if the step made one).
		 */
		rp->handler_armed = false;
		dr6 |= DR6_BS;
		vmexit->u.debug.dr6 = dr6;
	}
	if (!handler_hit && replay_user_stepping(rp, vcpu) && (dr6 & DR6_BS) &&
	    stepped_over_hlt(vcpu, vmexit))
		return 0; /* now the recorded HLT exit */
	if (handler_hit || user_debug_exit(rp, vcpu, dr6)) {
		/*
		 * The debugger's stop.  When it is at the asynchronous exit
		 * the replay runs towards, that exit is taken here.
		 */
		if (rp->target.valid &&
		    replay_regs_match(vcpu, rp->target.regs, rp->target.nregs,
				      NULL, 0)) {
			rp->target.valid = false;
			rp->st.async++;
			rp->st.exits++;
			vcpu->exits++;
			rp->bp_armed = rp->stepping = false;
			vmexit->u.debug.dr6 &= ~DR6_B(REPLAY_SLOT);
		} else if (rp->stepping) {
			rp->stepping = false;
			rp->bp_armed = true;
		}
		rp->rf_pending = false;
		replay_debug_apply(vcpu);
		return 2;
	}
	if (!rp->bp_armed && !rp->stepping)
		return 2; /* a stale one of the debugger's: the monitor drops it
			   */
	if (replay_regs_match(vcpu, rp->target.regs, rp->target.nregs, NULL,
			      0)) {
		arm(vcpu, false, false);
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		return 0;
	}
	if (rp->target_diff[0] == '\0')
		replay_regs_match(vcpu, rp->target.regs, rp->target.nregs,
				  rp->target_diff, sizeof(rp->target_diff));
	/* At the recorded instruction count, a difference is divergence. */
	if (rp->target.has_icount) {
		arm(vcpu, false, false);
		return 0;
	}
	if (rp->stepping) {
		/* Stepped over the breakpoint's instruction: put it back. */
		arm(vcpu, true, false);
		return 1;
	}
	/*
	 * The right rip at the wrong moment (a loop): go on past it with
	 * RFLAGS.RF, which suppresses the instruction breakpoint for one
	 * instruction.  A host that ignores RF stops at the same state
	 * again; then step over the instruction with the breakpoint off
	 * and put it back, at the cost of two more exits per hit.
	 */
	if (!rp->rf_broken) {
		uint64_t rflags, sig = replay_regs_signature(vcpu);

		if (rp->rf_pending && sig == rp->rf_sig) {
			rp->rf_broken = true;
		} else if (vm_get_register(vcpu, VM_REG_GUEST_RFLAGS,
					   &rflags) == 0 &&
			   vm_set_register(vcpu, VM_REG_GUEST_RFLAGS,
					   rflags | RFLAGS_RF) == 0) {
			rp->rf_pending = true;
			rp->rf_sig = sig;
			return 1;
		}
	}
	arm(vcpu, false, true);
	return 1;
}
