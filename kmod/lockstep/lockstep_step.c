/*
 * One lockstep step: kvm single-stepped one KVM_RUN, then interp brought
 * to the same point by the actions that KVM_RUN may have taken (the last
 * exit's completion, an event, one instruction: see vmm_lockstep.c), with
 * the workarounds for what KVM on PVM hosts does differently (HLT under a
 * step, REP's empty last iteration, IRET and exception delivery in one
 * step, lost traps at CPL 3, null segments after IRET), then compared.
 */
#include <stdio.h>
#include <string.h>

#include "lockstep.h"

static bool
interp_event_due(const struct interp_cpu *c)
{
	return c->event.pending ||
	       (c->nmi_queued && !c->nmi_blocked && !c->intr_shadow);
}

/* interp: deliver the pending event and nothing more. */
static void
interp_deliver_only(struct ls_vcpu *lc, struct vm_exit *ix)
{
	memset(ix, 0, sizeof(*ix));
	atomic_store(&lc->ic->kicked, true);
	interp_exec(lc->ic, ix, 1);
	atomic_store(&lc->ic->kicked, false);
}

/* interp: one instruction (or the completion of the pending one). */
static void
interp_one(struct ls_vcpu *lc, struct vm_exit *ix)
{
	memset(ix, 0, sizeof(*ix));
	interp_exec(lc->ic, ix, 1);
	/*
	 * RDRAND/RDSEED ask kmod for their bits: any will do, the result
	 * registers are kvm's (values taken from kvm), so finish it here.
	 */
	if (ix->exitcode == VM_EXITCODE_RANDOM) {
		ix->u.random.value = 0;
		interp_take_results(lc->ic, ix);
		memset(ix, 0, sizeof(*ix));
		interp_exec(lc->ic, ix, 1);
	}
	if (ix->exitcode == VM_EXITCODE_INOUT)
		ix->u.inout.data = lc->ic->io_buf;
}

/*
 * The value an in-kernel RDMSR of kvm returned, for interp's exit to
 * kmod for the same MSR; a WRMSR kvm kept completes on interp as well.
 */
static void
interp_take_msr(struct ls_vcpu *lc, struct vm_exit *ix,
		const struct ls_state *k)
{
	ix->u.msr.value = (k->reg[VM_REG_GUEST_RDX] << 32) |
			  (k->reg[VM_REG_GUEST_RAX] & 0xffffffff);
	interp_take_results(lc->ic, ix);
	interp_one(lc, ix);
	lc->taken++;
}

/*
 * PVM keeps ES/DS/FS/GS where IRET (and RET far) to CPL 3 load them with
 * null because their DPL is below the new CPL (Intel SDM vol. 2, IRET:
 * RETURN-TO-OUTER-PRIVILEGE-LEVEL), as interp does: kvm's are taken, at
 * CPL 3 or in a step that was there (and trapped back to CPL 0).
 */
static uint64_t
pvm_seg_quirk(struct ls_vcpu *lc, const struct ls_state *k,
	      const struct ls_state *i, uint64_t diff)
{
	static const int segs[] = { VM_REG_GUEST_ES, VM_REG_GUEST_DS,
				    VM_REG_GUEST_FS, VM_REG_GUEST_GS };
	const struct seg_desc *kss =
	    &k->desc[VM_REG_GUEST_SS - VM_REG_GUEST_ES];

	if (((kss->access >> 5) & 3) != 3 && !lc->user_seen)
		return diff;
	for (size_t n = 0; n < sizeof(segs) / sizeof(segs[0]); n++) {
		int r = segs[n];
		const struct seg_desc *kd = &k->desc[r - VM_REG_GUEST_ES];
		const struct seg_desc *id = &i->desc[r - VM_REG_GUEST_ES];

		/*
		 * At CPL 3 after an exit PVM may report the kernel's data
		 * segments (DPL 0) where the CPU has the user's (interp's,
		 * DPL 3): a DPL 0 data segment cannot be there (loading it
		 * at CPL 3 faults, IRET nulls it), so kvm's view is stale;
		 * interp keeps its own.
		 */
		if (((diff >> r) & 1) && ((kss->access >> 5) & 3) == 3 &&
		    !(kd->access & SEG_ACC_UNUSABLE) &&
		    !(id->access & SEG_ACC_UNUSABLE) &&
		    ((kd->access >> 5) & 3) == 0 &&
		    ((id->access >> 5) & 3) == 3) {
			diff &= ~(1ULL << r);
			continue;
		}
		if (!((diff >> r) & 1) || i->reg[r] != 0 ||
		    !(id->access & SEG_ACC_UNUSABLE) ||
		    (kd->access & SEG_ACC_UNUSABLE) ||
		    ((kd->access >> 5) & 3) == 3)
			continue;
		itp->setdesc(lc->ic, r, kd);
		itp->setreg(lc->ic, r, k->reg[r]);
		diff &= ~(1ULL << r);
		lc->taken++;
	}
	return diff;
}

/* interp's state now, against kvm's: the registers that differ. */
static uint64_t
compare_now(struct ls_vcpu *lc, const struct ls_state *ks, struct ls_state *is)
{
	uint64_t diff;

	ls_state_get(itp, lc->ic, is);
	diff = ls_state_diff(ks, is);
	if (diff != 0)
		diff = pvm_seg_quirk(lc, ks, is, diff);
	return diff;
}

/*
 * PVM pushes RF = 0 in the frame of the general-detect #DB (a MOV DR with
 * DR7.GD set) where the SDM has RF = 1, as for every fault but an
 * instruction breakpoint's (and interp pushes it): interp's frame takes
 * PVM's RF, just delivered (RFLAGS at RSP + 16; #DB has no error code).
 */
static void
pvm_gd_frame(struct ls_vcpu *lc, const struct x86_instr *insn)
{
	struct interp_cpu *ic = lc->ic;
	uint64_t rsp = ic->gpr[4], rflags;
	bool dr = false;

	if (insn == NULL || insn->mnem != X86_M_MOV || !(ic->dr6 & (1 << 13)))
		return;
	for (int n = 0; n < 2; n++)
		dr |= insn->ops[n].reg >= X86_R_DR0 &&
		      insn->ops[n].reg < X86_R_DR0 + 8;
	if (!dr ||
	    interp_lin_read(ic, rsp + 16, &rflags, 8,
			    X86_MEM_READ | X86_MEM_IMPLICIT) != INTERP_OK ||
	    !(rflags & PSL_RF))
		return;
	rflags &= ~(uint64_t)PSL_RF;
	if (interp_lin_write(ic, rsp + 16, &rflags, 8,
			     X86_MEM_WRITE | X86_MEM_IMPLICIT) == INTERP_OK)
		lc->taken++;
}

/* RDTSC and RDTSCP: the TSC in EDX:EAX. */
static bool
tsc_read(const struct x86_instr *insn)
{
	return insn != NULL &&
	       (insn->mnem == X86_M_RDTSC || insn->mnem == X86_M_RDTSCP);
}

static bool
at_cpl3(const struct interp_cpu *c)
{
	return ((c->seg[X86_R_CS - X86_R_ES].desc.access >> 5) & 3) == 3;
}

/*
 * Instructions after which PVM's single step does not stop (the next one
 * belongs to the same step): IRET, and RDRAND/RDSEED, which the host
 * emulates.
 */
static bool
step_runs_on(const struct x86_instr *insn)
{
	return insn != NULL &&
	       (insn->mnem == X86_M_IRET || insn->mnem == X86_M_IRETD ||
		insn->mnem == X86_M_IRETQ || insn->mnem == X86_M_RDRAND ||
		insn->mnem == X86_M_RDSEED);
}

/*
 * 1. interp completes the instruction behind kvm's last exit with the
 * monitor's answer.  A REP INS kvm batched (count elements in one exit)
 * is count executions of interp, one element each.
 */
static bool
interp_complete(struct ls_vcpu *lc, struct vm_exit *ix, const char *text,
		uint64_t rip0, struct vm_exit *vmexit)
{
	struct interp_cpu *ic = lc->ic;
	struct vm_exit *prev = &lc->prev;
	unsigned int count = 1, bytes;
	char what[200], id[120];

	if (prev->exitcode == VM_EXITCODE_INOUT && prev->u.inout.count > 1)
		count = prev->u.inout.count;
	for (unsigned int k = 0; k < count; k++) {
		if (k > 0) {
			interp_one(lc, ix);
			if (ix->exitcode != VM_EXITCODE_INOUT ||
			    !ix->u.inout.in ||
			    ix->u.inout.port != prev->u.inout.port ||
			    ix->u.inout.bytes != prev->u.inout.bytes) {
				ls_describe_exit(ix, id, sizeof(id));
				snprintf(what, sizeof(what),
					 "kvm's REP INS took %u elements, "
					 "interp's element %u is %.100s",
					 count, k, id);
				ls_fail(lc, vmexit, what, text, rip0, NULL,
					NULL, 0);
				return false;
			}
		}
		if (prev->exitcode == VM_EXITCODE_INOUT) {
			bytes = prev->u.inout.bytes;
			memcpy(ic->io_buf, lc->inbuf + k * bytes, bytes);
		}
		interp_take_results(ic, prev);
		interp_one(lc, ix);
	}
	return true;
}

/*
 * KVM's instruction emulator ends a REP string instruction with one more
 * execution that finds the count 0 and only moves rip on: after the last
 * element of a REP INS it stops at the instruction (RF set, count 0)
 * where interp (and the hardware) has gone past it.  kvm's state then
 * counts as interp's, and interp waits for kvm's empty iteration.
 */
static void
rep_lag(struct ls_vcpu *lc, const struct vm_exit *vmexit, struct ls_state *ks,
	const struct x86_instr *insn)
{
	uint64_t rip = lc->prev.rip, cnt = ks->reg[VM_REG_GUEST_RCX];

	if (vmexit->exitcode != VM_EXITCODE_DEBUG || insn == NULL ||
	    !(insn->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) ||
	    ks->reg[VM_REG_GUEST_RIP] != rip ||
	    !(ks->reg[VM_REG_GUEST_RFLAGS] & PSL_RF) ||
	    (cnt & interp_mask(insn->addrsize)) != 0 ||
	    lc->ic->rip != ((rip + insn->length) &
			    (insn->mode == X86_MODE_64   ? ~0ULL
			     : insn->mode == X86_MODE_32 ? 0xffffffffULL
							 : 0xffffULL)))
		return;
	ks->reg[VM_REG_GUEST_RIP] = lc->ic->rip;
	ks->reg[VM_REG_GUEST_RFLAGS] &= ~PSL_RF;
	lc->rep_lag = true;
}

/*
 * The VM's clock (virtual, see vmm_lockstep.c) runs LS_NS_PER_INSN per
 * instruction compared, LS_NS_PER_EXIT per exit: a slow CPU's, so that
 * a guest waiting for time by polling or spinning waits 100 times fewer
 * instructions than on interp (1 ns each, 1 us a port access), at the
 * tester's speed of some 30000 a second.
 */
static void
ls_account(struct ls_vcpu *lc, unsigned int nexec)
{
	lc->steps += nexec;
	vm_clock_advance(lc->lvm->vm,
			 nexec * (LS_NS_PER_INSN - INTERP_NS_PER_INSN));
}

/*
 * One step of both CPUs.  Returns true to go on stepping, false to return
 * *vmexit to kmod.
 */
bool
ls_step(struct ls_vcpu *lc, struct vm_exit *vmexit)
{
	struct interp_cpu *ic = lc->ic;
	struct ls_state ks, is;
	struct vm_exit ix;
	uint64_t diff = 0, rip0 = ic->rip, undef, take, icount, run_on = 0;
	const struct x86_instr *insn = NULL;
	enum ls_after after = lc->after;
	bool executed = false, faulted, lag = lc->rep_lag, bogus = false, full;
	bool resync = false;
	unsigned int nexec = 0;
	char text[96], what[256], kd[120], id[120];
	int error;

	if (lc->diverged[0] != '\0') {
		ls_state_get(kvm, lc->kvc, &ks);
		ls_state_get(itp, ic, &is);
		ls_fail(lc, vmexit, lc->diverged, "(an injection)",
			ks.reg[VM_REG_GUEST_RIP], &ks, &is,
			ls_state_diff(&ks, &is));
		return false;
	}
	/* The monitor's answer to the last exit, before kvm's next exit. */
	if (after == LS_AFTER_RESTART) {
		lc->prev = *vmexit;
		if (vmexit->exitcode == VM_EXITCODE_INOUT) {
			size_t n =
			    (size_t)vmexit->u.inout.bytes *
			    (vmexit->u.inout.count ? vmexit->u.inout.count : 1);

			if (n > sizeof(lc->inbuf)) {
				ls_fail(lc, vmexit, "IN data too large", "?",
					rip0, NULL, NULL, 0);
				return false;
			}
			memcpy(lc->inbuf, vmexit->u.inout.data, n);
		}
	}
	error = kvm->run(lc->kvc, vmexit);
	if (error != 0) {
		snprintf(what, sizeof(what), "kvm's run failed: %s",
			 strerror(error));
		ls_fail(lc, vmexit, what, "?", rip0, NULL, NULL, 0);
		return false;
	}
	/*
	 * KVM's HLT exits under single-stepping are unreliable on this
	 * host: a stepped HLT is reported as the step, and an HLT exit may
	 * come later where nothing halts (after the interrupt that woke
	 * the guest returns).  A HLT exit counts as a step; the HLT kmod
	 * sees is interp's (below).
	 */
	if (vmexit->exitcode == VM_EXITCODE_HLT) {
		vmexit->exitcode = VM_EXITCODE_DEBUG;
		vmexit->u.debug.dr6 = DR6_BS;
	}
	lc->after = LS_AFTER_NONE;
	lc->rep_lag = false;
	lc->user_seen = false;
	if (vmexit->exitcode == VM_EXITCODE_ENGINE_ERROR)
		return false;
	if (!vmexit->has_insn &&
	    (vmexit->exitcode == VM_EXITCODE_INOUT ||
	     vmexit->exitcode == VM_EXITCODE_MMIO) &&
	    vm_exit_decode(lc->vcpu, vmexit) != 0) {
		ls_fail(lc, vmexit, "kvm's exit does not decode", "?", rip0,
			NULL, NULL, 0);
		return false;
	}
	if (vmexit->exitcode == VM_EXITCODE_ENGINE_ERROR)
		return false;
	ls_state_get(kvm, lc->kvc, &ks);
	memset(&ix, 0, sizeof(ix));
	ix.exitcode = VM_EXITCODE_BOGUS;

	/* 0. The rest of an instruction's MMIO stores, one exit each. */
	ic->exit = &ix;
	if (interp_store_pending(ic)) {
		ix.rip = ic->rip;
		ls_state_get(itp, ic, &is);
		goto compare;
	}
	/* 1. The instruction behind the last exit: KVM always completes it. */
	if (after == LS_AFTER_RESTART) {
		if (!interp_complete(lc, &ix, "(the last exit's instruction)",
				     rip0, vmexit))
			return false;
		insn = ic->last_insn;
		executed = true;
		nexec++;
		rep_lag(lc, vmexit, &ks, insn);
	}
	/*
	 * kvm's BOGUS exits: a kick before entering (nothing ran), or an
	 * interrupt-window or host-interrupt exit after a step.
	 */
	bogus = vmexit->exitcode == VM_EXITCODE_BOGUS;
	if (bogus) {

		if ((diff = compare_now(lc, &ks, &is)) == 0 ||
		    ix.exitcode != VM_EXITCODE_BOGUS)
			goto compare;
		vmexit->exitcode = VM_EXITCODE_DEBUG;
		vmexit->u.debug.dr6 = DR6_BS;
	}
	/*
	 * 2. Stopping here: after a completion, after an exit whose
	 * instruction interp had retired already, or at a breakpoint.
	 */
	if (vmexit->exitcode == VM_EXITCODE_DEBUG &&
	    ix.exitcode == VM_EXITCODE_BOGUS &&
	    (executed || after == LS_AFTER_RETIRED || lag ||
	     (vmexit->u.debug.dr6 & 0xf))) {

		if ((diff = compare_now(lc, &ks, &is)) == 0)
			goto compared;
	}
	/* 3. A pending event. */
	if (interp_event_due(ic) && ix.exitcode == VM_EXITCODE_BOGUS) {
		interp_deliver_only(lc, &ix);
		lc->events++;
		if (ix.exitcode == VM_EXITCODE_BOGUS &&
		    vmexit->exitcode == VM_EXITCODE_DEBUG) {

			if ((diff = compare_now(lc, &ks, &is)) == 0)
				goto compared;
		}
	}
	/* 4. One instruction. */
	if (ix.exitcode == VM_EXITCODE_BOGUS) {
		rip0 = ic->rip;
		icount = ic->icount;
		lc->user_seen |= at_cpl3(ic);
		interp_one(lc, &ix);
		lc->user_seen |= at_cpl3(ic);
		insn = ic->last_insn;
		executed = true;
		nexec++;
		faulted =
		    ix.exitcode == VM_EXITCODE_BOGUS && ic->icount == icount;
		if (faulted)
			pvm_gd_frame(lc, insn);

		diff = compare_now(lc, &ks, &is);
		/*
		 * 5. PVM does not stop after an IRET, RDRAND or RDSEED, or
		 * after delivering an exception the instruction raised: the
		 * next instruction belongs to the same step.
		 */
		if ((faulted || (step_runs_on(insn) &&
				 ix.exitcode == VM_EXITCODE_BOGUS)) &&
		    (vmexit->exitcode != VM_EXITCODE_DEBUG || diff != 0)) {
			/* (What the host decided in the first, taken.) */
			run_on = ls_host_result_regs(insn, &ks);
			interp_one(lc, &ix);
			lc->user_seen |= at_cpl3(ic);
			nexec++;
			if (ic->last_insn != NULL) {
				insn = ic->last_insn;
				rip0 = is.reg[VM_REG_GUEST_RIP];
			}
			diff = compare_now(lc, &ks, &is);
		}
		/*
		 * 6. At CPL 3 PVM runs the guest on the CPU and may lose a
		 * single-step trap before an instruction that faults: the
		 * step then also holds the fault's delivery and the
		 * handler's first instruction.  interp catches up by up to
		 * LS_USER_CATCHUP instructions while it differs.
		 */
		for (int n = 0;
		     n < LS_USER_CATCHUP && lc->user_seen && diff != 0 &&
		     vmexit->exitcode == VM_EXITCODE_DEBUG &&
		     ix.exitcode == VM_EXITCODE_BOGUS;
		     n++) {
			rip0 = is.reg[VM_REG_GUEST_RIP];
			interp_one(lc, &ix);
			nexec++;
			if (ic->last_insn != NULL)
				insn = ic->last_insn;
			diff = compare_now(lc, &ks, &is);
		}
		/*
		 * 7. PVM ran on past the one instruction: kvm stopped
		 * elsewhere (another rip) or at an exit interp's step did
		 * not make (at CPL 3, where PVM runs the guest on the CPU,
		 * the step trap can be lost until the next exit or entry
		 * to the kernel, loops and all; FXRSTOR at CPL 0 runs on
		 * into the next instruction).  interp steps on, instruction
		 * by instruction, until its state equals kvm's or, when kvm
		 * stopped at an exit, until it makes one, which is then
		 * compared as usual with the memory both wrote: a resync,
		 * counted.  At most LS_RESYNC_MAX instructions from CPL 0,
		 * where a rip kvm's equals with other registers differing
		 * is a difference (no run-on there goes back to the same
		 * rip); LS_RESYNC_EXIT_MAX from CPL 3 or to an exit.
		 */
		if (ix.exitcode == VM_EXITCODE_BOGUS &&
		    ((vmexit->exitcode == VM_EXITCODE_DEBUG && diff != 0 &&
		      ks.reg[VM_REG_GUEST_RIP] != ic->rip) ||
		     vmexit->exitcode == VM_EXITCODE_INOUT ||
		     vmexit->exitcode == VM_EXITCODE_MMIO)) {
			lc->resyncs++;
			resync = true;
			for (uint64_t n = 0;
			     n < (vmexit->exitcode == VM_EXITCODE_DEBUG &&
					  !lc->user_seen
				      ? LS_RESYNC_MAX
				      : LS_RESYNC_EXIT_MAX);
			     n++) {
				rip0 = ic->rip;
				lc->user_seen |= at_cpl3(ic);
				interp_one(lc, &ix);
				lc->user_seen |= at_cpl3(ic);
				nexec++;
				lc->resynced++;
				if (ic->last_insn != NULL)
					insn = ic->last_insn;
				if (ix.exitcode != VM_EXITCODE_BOGUS)
					break;
				diff = compare_now(lc, &ks, &is);
				if (vmexit->exitcode == VM_EXITCODE_DEBUG &&
				    (diff == 0 ||
				     (ks.reg[VM_REG_GUEST_RIP] == ic->rip &&
				      !lc->user_seen)))
					break;
			}
		}
	}

	diff = compare_now(lc, &ks, &is);

compare:
	ls_insn_text(insn, rip0, text, sizeof(text));
	/* An MSR kvm keeps in-kernel and interp leaves to kmod. */
	if (vmexit->exitcode == VM_EXITCODE_DEBUG &&
	    (ix.exitcode == VM_EXITCODE_RDMSR ||
	     ix.exitcode == VM_EXITCODE_WRMSR)) {
		interp_take_msr(lc, &ix, &ks);

		diff = compare_now(lc, &ks, &is);
	}
	/* A HLT: kmod gets it once interp and kvm agree on the state. */
	if (vmexit->exitcode == VM_EXITCODE_DEBUG &&
	    ix.exitcode == VM_EXITCODE_HLT && diff == 0) {
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = VM_EXITCODE_HLT;
		vmexit->rip = ks.reg[VM_REG_GUEST_RIP];
		vmexit->u.hlt.rflags = ks.reg[VM_REG_GUEST_RFLAGS];
	}
	/* Exits: the same access on both. */
	if (vmexit->exitcode != VM_EXITCODE_DEBUG &&
	    vmexit->exitcode != VM_EXITCODE_BOGUS) {
		lc->exits++;
		ls_account(lc, nexec);
		vm_clock_advance(lc->lvm->vm, LS_NS_PER_EXIT);
		if (!ls_exit_equal(vmexit, &ix)) {
			ls_describe_exit(vmexit, kd, sizeof(kd));
			ls_describe_exit(&ix, id, sizeof(id));
			snprintf(what, sizeof(what),
				 "different exits: kvm %.100s; interp %.100s",
				 kd, id);
			ls_fail(lc, vmexit, what, text, rip0, &ks, &is, diff);
			return false;
		}
		lc->after = ls_exit_restarts(vmexit) ? LS_AFTER_RESTART
						     : LS_AFTER_RETIRED;
		if (!ls_exit_state_check(lc, vmexit, text, rip0) ||
		    !ls_mem_check(lc, vmexit, true, text, rip0))
			return false;
		/*
		 * Registers at an exit: kvm may report the instruction's
		 * own rip or the next one (see vmm_decode.c) and may or may
		 * not have retired it; they are compared at the next step.
		 */
		return false;
	}
	if (vmexit->exitcode == VM_EXITCODE_DEBUG &&
	    ix.exitcode != VM_EXITCODE_BOGUS) {
		ls_describe_exit(&ix, id, sizeof(id));
		snprintf(what, sizeof(what),
			 "kvm stepped the instruction, interp exited: %.120s",
			 id);
		ls_fail(lc, vmexit, what, text, rip0, &ks, &is, diff);
		return false;
	}
	if (diff != 0 && executed && tsc_read(insn)) {
		/*
		 * The guest's TSC runs on the VM's virtual clock, as
		 * interp's does (the local APIC's TSC deadline is in it):
		 * kvm gets interp's value.
		 */
		static const int r[] = { VM_REG_GUEST_RAX, VM_REG_GUEST_RDX };

		for (size_t n = 0; n < 2; n++) {
			kvm->setreg(lc->kvc, r[n], is.reg[r[n]]);
			ks.reg[r[n]] = is.reg[r[n]];
		}
		diff = ls_state_diff(&ks, &is);
		if (diff != 0)
			diff = pvm_seg_quirk(lc, &ks, &is, diff);
		lc->taken++;
	}
	if (diff != 0 && executed) {
		/* What the host decides, and flags the SDM leaves open. */
		take = (ls_host_result_regs(insn, &ks) | run_on) & diff;
		undef = ls_undefined_flags(insn);
		if ((diff & (1ULL << VM_REG_GUEST_RFLAGS)) &&
		    ((ks.reg[VM_REG_GUEST_RFLAGS] ^
		      is.reg[VM_REG_GUEST_RFLAGS]) &
		     ~undef) == 0)
			take |= 1ULL << VM_REG_GUEST_RFLAGS;
		if (take != 0 && (diff & ~take) == 0) {
			for (int r = 0; r < LS_NREGS; r++)
				if ((take >> r) & 1)
					itp->setreg(ic, r, ks.reg[r]);
			lc->taken++;
			diff = 0;
		}
	}
	if (diff != 0) {
		ls_fail(lc, vmexit,
			resync ? "registers differ (kvm ran on past the "
				 "instruction; interp stepped on to catch up)"
			       : "registers differ",
			text, rip0, &ks, &is, diff);
		return false;
	}
	ls_account(lc, nexec);
compared:
	if (bogus) {
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		vmexit->rip = ks.reg[VM_REG_GUEST_RIP];
	}
	if (lc->lvm->corrupt_at != 0 && lc->steps >= lc->lvm->corrupt_at) {
		/* The test hook: interp's RBX goes wrong from here. */
		lc->lvm->corrupt_at = 0;
		ic->gpr[3] ^= 1;
	}
	ls_insn_text(insn, rip0, text, sizeof(text));
	/* Every so often the checks of an exit too. */
	full = ++lc->since_memcheck >= LS_MEMCHECK_STEPS;
	if ((full && !ls_exit_state_check(lc, vmexit, text, rip0)) ||
	    !ls_mem_check(lc, vmexit, full, text, rip0))
		return false;
	if (vmexit->exitcode == VM_EXITCODE_BOGUS)
		return false;
	/* A debugger's step or breakpoint goes to kmod. */
	if (lc->user_step || (vmexit->u.debug.dr6 & 0xf))
		return false;
	/* kmod has an interrupt to inject and the window is open. */
	if (lc->want_window && (ks.reg[VM_REG_GUEST_RFLAGS] & PSL_I) &&
	    !ks.reg[VM_REG_GUEST_INTR_SHADOW]) {
		lc->want_window = false;
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		vmexit->rip = ks.reg[VM_REG_GUEST_RIP];
		return false;
	}
	return true;
}
