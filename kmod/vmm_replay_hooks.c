/*
 * The replayer's hooks in vm_run(), where a recording writes: before an
 * entry the recorded injections, DMA writes and checkpoints of that point
 * (and the asynchronous exit to run to next); at an exit the recorded exit
 * and instruction compared; each port, MMIO and MSR access answered from
 * the trace (reads) or compared with it (writes).
 */
#include <stdio.h>
#include <string.h>

#include "vmm_replay_impl.h"

static int
perform_inject(struct vcpu *vcpu, const struct trace_event *ev)
{
	const struct vmm_engine *eng = vcpu->vm->engine;
	char what[128], buf[128];
	int error;

	snprintf(what, sizeof(what),
		 "injection of %s vector %u after exit "
		 "%llu",
		 ev->u.inject.type == TRACE_INJECT_NMI ? "NMI" : "interrupt",
		 ev->u.inject.vector, (unsigned long long)ev->u.inject.point);
	if (ev->u.inject.point_kind != TRACE_POINT_EXIT ||
	    ev->u.inject.point != vcpu->exits) {
		snprintf(buf, sizeof(buf), "the vCPU is after exit %llu",
			 (unsigned long long)vcpu->exits);
		return replay_diverge(vcpu, ev->index, what, buf);
	}
	switch (ev->u.inject.type) {
	case TRACE_INJECT_EXTINT:
		error = eng->inject_intr(vcpu->cookie, ev->u.inject.vector);
		break;
	case TRACE_INJECT_NMI:
		error = eng->inject_nmi(vcpu->cookie);
		break;
	case TRACE_INJECT_EXCEPTION:
		error = eng->inject_exception(vcpu->cookie, ev->u.inject.vector,
					      ev->u.inject.has_error_code,
					      ev->u.inject.error_code);
		break;
	default:
		snprintf(buf, sizeof(buf),
			 "injection type %u is not "
			 "replayed yet",
			 ev->u.inject.type);
		return replay_diverge(vcpu, ev->index, what, buf);
	}
	if (error != 0) {
		snprintf(buf, sizeof(buf), "the vCPU cannot take it (%s)",
			 strerror(error));
		return replay_diverge(vcpu, ev->index, what, buf);
	}
	vcpu->vm->replayer->inject_queued = true;
	vcpu->vm->replayer->inject_vector =
	    ev->u.inject.type == TRACE_INJECT_NMI ? 2 : ev->u.inject.vector;
	return 0;
}

static int
before_entry(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev;
	char what[128], buf[512];
	uint64_t cindex;

	while (!rp->target.valid) {
		ev = replay_peek(rp);
		if (ev == NULL) {
			/* A cut recording: replayed as far as it goes. */
			rp->ended = true;
			rp->end_status = -1;
			vm_suspend(vcpu->vm, VM_SUSPEND_HALT);
			return 2;
		}
		if (ev->kind == TRACE_EV_SCHED &&
		    ev->u.sched.from == (uint32_t)vcpu->id) {
			/*
			 * The turn ends later: vm_replay_sched().  The engine
			 * stops there (vm_sched_point() did not see it when a
			 * checkpoint came first).
			 */
			if (ev->u.sched.icount != 0 &&
			    vcpu->vm->engine->set_yield != NULL)
				vcpu->vm->engine->set_yield(vcpu->cookie,
							    ev->u.sched.icount);
			return 0;
		}
		/*
		 * The VM's own events come in whoever's turn it is: a
		 * checkpoint too, with one vCPU running at a time (the one
		 * with the turn takes it; the recording's last one is vCPU
		 * 0's even when another halted last).
		 */
		if (ev->vcpu != (uint32_t)vcpu->id &&
		    ev->kind != TRACE_EV_MARKER && ev->kind != TRACE_EV_END &&
		    ev->kind != TRACE_EV_INPUT &&
		    !(ev->kind == TRACE_EV_CKPT_BEGIN &&
		      vcpu->vm->sched != NULL))
			return replay_diverge(
			    vcpu, ev->index,
			    replay_event_text(ev, what, sizeof(what)),
			    vcpu->vm->sched != NULL
				? "the vCPU still has its turn"
				: "replay of runs in which several vCPUs "
				  "ran at once (kvm) is not supported");
		switch (ev->kind) {
		case TRACE_EV_INJECT:
			/* Virtual time: the recording's clock jumped here
			 * while every vCPU slept. */
			if (vcpu->vm->virtual_time)
				vm_clock_set_at_least(vcpu->vm, ev->time_ns);
			/* INIT and SIPI: taken before this (vcpu_wait_idle). */
			if (ev->u.inject.type == TRACE_INJECT_INIT ||
			    ev->u.inject.type == TRACE_INJECT_SIPI) {
				replay_consume(rp);
				continue;
			}
			/*
			 * Right where the replay started: a KVM_RUN that
			 * enters nothing brings KVM's view of the loaded
			 * state up to date, as the recorder's checkpoint
			 * did before it injected.
			 */
			if (rp->unsynced &&
			    replay_complete_io(vcpu, vmexit) != 0)
				return replay_diverge(
				    vcpu, ev->index, "an injection",
				    "the engine cannot take the "
				    "checkpoint's state");
			rp->unsynced = false;
			if (perform_inject(vcpu, ev) != 0)
				return -1;
			replay_consume(rp);
			continue;
		case TRACE_EV_CKPT_BEGIN:
			cindex = ev->index;
			/* As the recorder: the last exit's access done. */
			if (replay_complete_io(vcpu, vmexit) != 0 ||
			    replay_checkpoint(vcpu->vm, CKPT_VERIFY, &cindex,
					      buf, sizeof(buf)) != 0)
				return replay_diverge(
				    vcpu, cindex, "the state of the checkpoint",
				    buf);
			continue;
		case TRACE_EV_DMA:
			if (vm_dma_apply(vcpu->vm, ev->u.dma.gpa,
					 ev->u.dma.data, ev->u.dma.len) != 0)
				return replay_diverge(vcpu, ev->index,
						      "a DMA write into RAM",
						      "the range is not RAM");
			replay_consume(rp);
			continue;
		case TRACE_EV_MARKER:
		case TRACE_EV_INPUT:
			replay_consume(rp);
			continue;
		case TRACE_EV_END:
			replay_reach_end(rp, ev);
			replay_consume(rp);
			vm_suspend(vcpu->vm, VM_SUSPEND_HALT);
			return 2;
		case TRACE_EV_EXIT:
			if (ev->u.exit.exitcode != VM_EXITCODE_BOGUS)
				return 0; /* the guest will make it */
			if (replay_take_target(vcpu, ev) != 0)
				return -1;
			break;
		default:
			return replay_diverge(
			    vcpu, ev->index,
			    replay_event_text(ev, what, sizeof(what)),
			    "the vCPU is about to enter the "
			    "guest");
		}
	}
	return replay_target_enter(vcpu, vmexit);
}

/*
 * vm_run() returns to the monitor here with 'code' (3), the last exit's
 * instruction finished first; -1 when the engine cannot finish it.
 */
static int
return_here(struct vcpu *vcpu, struct vm_exit *vmexit, enum vm_exitcode code,
	    const char *what)
{
	if (replay_complete_io(vcpu, vmexit) != 0)
		return replay_diverge(vcpu, 0, what,
				      "the engine cannot complete the last "
				      "exit");
	memset(vmexit, 0, sizeof(*vmexit));
	vmexit->exitcode = code;
	return 3;
}

int
vm_replay_before_entry(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	int rc;

	/* A restart's point reached: the monitor's, before its injections. */
	if (rp->stop_set && replay_total_exits(vcpu->vm) >= rp->stop_exits) {
		rp->stop_set = false;
		rp->stop_hit = true;
		return return_here(vcpu, vmexit, VM_EXITCODE_BOGUS,
				   "a point to stop at");
	}
	/*
	 * A step of the debugger's made an exit: it ends right after that
	 * instruction, before the events that follow (as a CPU's trap comes
	 * first), whether or not KVM would trap there (after an OUT it has
	 * already finished it can run one more instruction).
	 */
	if (rp->io_pending && replay_user_stepping(rp, vcpu)) {
		if (return_here(vcpu, vmexit, VM_EXITCODE_DEBUG,
				"a debugger's step") != 3)
			return -1;
		vmexit->u.debug.dr6 = DR6_BS;
		vm_get_register(vcpu, VM_REG_GUEST_RIP, &vmexit->rip);
		return 3;
	}
	rc = before_entry(vcpu, vmexit);
	if (rc != 0)
		return rc;
	return replay_step_entry(vcpu);
}

int
vm_replay_exit(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev;
	char what[768], buf[256];

	if (rp->target.valid) {
		if (vmexit->exitcode == VM_EXITCODE_BOGUS) {
			rp->target.valid = false;
			rp->st.async++;
			rp->st.exits++;
			vcpu->exits++;
			return 0;
		}
		snprintf(what, sizeof(what),
			 "an asynchronous exit at rip 0x%llx%s%s",
			 (unsigned long long)rp->target.rip,
			 rp->target_diff[0] != '\0'
			     ? "; when first there the replay differed: "
			     : "",
			 rp->target_diff);
		return replay_diverge(vcpu, rp->target.index, what,
				      replay_exit_text(vmexit->exitcode,
						       vmexit->rip, buf,
						       sizeof(buf)));
	}
	ev = replay_peek(rp);
	if (ev == NULL || ev->kind != TRACE_EV_EXIT ||
	    ev->vcpu != (uint32_t)vcpu->id ||
	    ev->u.exit.exitcode != (uint32_t)vmexit->exitcode ||
	    ev->u.exit.rip != vmexit->rip ||
	    ev->u.exit.inst_length != (uint8_t)vmexit->inst_length ||
	    (vmexit->exitcode == VM_EXITCODE_HLT &&
	     ev->u.exit.info[0] != vmexit->u.hlt.rflags)) {
		replay_exit_text(vmexit->exitcode, vmexit->rip, buf,
				 sizeof(buf));
		if (vmexit->has_insn) {
			size_t len = strlen(buf);

			snprintf(buf + len, sizeof(buf) - len, " (");
			len += 2;
			x86_format(&vmexit->insn, vmexit->rip, buf + len,
				   sizeof(buf) - len - 1);
			strcat(buf, ")");
		}
		return replay_diverge(vcpu, ev != NULL ? ev->index : 0,
				      replay_event_text(ev, what, sizeof(what)),
				      buf);
	}
	replay_consume(rp);
	if (vmexit->has_insn) {
		ev = replay_peek(rp);
		if (ev == NULL || ev->kind != TRACE_EV_DECODE ||
		    ev->u.decode.len != (uint8_t)vmexit->inst_length ||
		    memcmp(ev->u.decode.bytes, vmexit->insn_bytes,
			   ev->u.decode.len) != 0)
			return replay_diverge(
			    vcpu, ev != NULL ? ev->index : 0,
			    replay_event_text(ev, what, sizeof(what)),
			    "a different instruction");
		replay_consume(rp);
	}
	rp->st.exits++;
	vcpu->exits++;
	rp->io_pending = vmexit->exitcode == VM_EXITCODE_INOUT ||
			 vmexit->exitcode == VM_EXITCODE_MMIO ||
			 vmexit->exitcode == VM_EXITCODE_RDMSR ||
			 vmexit->exitcode == VM_EXITCODE_WRMSR;
	return 0;
}

static const char *
pio_text(uint16_t port, uint8_t bytes, bool in, uint32_t count,
	 const uint8_t *data, char *buf, size_t len)
{
	uint64_t v = 0;

	memcpy(&v, data, bytes <= 8 ? bytes : 8);
	snprintf(buf, len, "port 0x%x %s of %u byte%s x %u, 0x%llx", port,
		 in ? "read" : "write", bytes, bytes == 1 ? "" : "s", count,
		 (unsigned long long)v);
	return buf;
}

static const char *
mmio_text(uint64_t gpa, uint8_t bytes, bool write, uint64_t value, char *buf,
	  size_t len)
{
	snprintf(buf, len, "MMIO %s of %u bytes at 0x%llx, 0x%llx",
		 write ? "write" : "read", bytes, (unsigned long long)gpa,
		 (unsigned long long)value);
	return buf;
}

/* The access the vCPU made, for a report. */
static const char *
access_text(const struct vm_exit *vmexit, char *buf, size_t len)
{
	const struct vm_inout *io = &vmexit->u.inout;
	const struct vm_mmio *mmio = &vmexit->u.mmio;

	if (vmexit->exitcode == VM_EXITCODE_INOUT)
		return pio_text(io->port, io->bytes, io->in, io->count,
				io->data, buf, len);
	return mmio_text(mmio->gpa, mmio->bytes, mmio->write, mmio->data, buf,
			 len);
}

static int
access_diverged(struct vcpu *vcpu, const struct trace_event *ev,
		const struct vm_exit *vmexit)
{
	char what[160], buf[160];

	if (ev == NULL ||
	    (ev->kind != TRACE_EV_PIO && ev->kind != TRACE_EV_MMIO))
		replay_event_text(ev, what, sizeof(what));
	else if (ev->kind == TRACE_EV_PIO)
		pio_text(ev->u.pio.port, ev->u.pio.bytes, ev->u.pio.in,
			 ev->u.pio.count, ev->u.pio.data, what, sizeof(what));
	else
		mmio_text(ev->u.mmio.gpa, ev->u.mmio.bytes, ev->u.mmio.write,
			  ev->u.mmio.value, what, sizeof(what));
	return replay_diverge(vcpu, ev != NULL ? ev->index : 0, what,
			      access_text(vmexit, buf, sizeof(buf)));
}

int
vm_replay_access(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev = replay_peek(rp);

	if (vmexit->exitcode == VM_EXITCODE_INOUT) {
		struct vm_inout *io = &vmexit->u.inout;
		size_t n = (size_t)io->count * io->bytes;

		if (ev == NULL || ev->kind != TRACE_EV_PIO ||
		    ev->u.pio.port != io->port ||
		    ev->u.pio.bytes != io->bytes || ev->u.pio.in != io->in ||
		    ev->u.pio.count != io->count ||
		    (!io->in && memcmp(ev->u.pio.data, io->data, n) != 0))
			return access_diverged(vcpu, ev, vmexit);
		if (io->in)
			memcpy(io->data, ev->u.pio.data, n);
	} else if (vmexit->exitcode == VM_EXITCODE_MMIO) {
		struct vm_mmio *mmio = &vmexit->u.mmio;

		if (ev == NULL || ev->kind != TRACE_EV_MMIO ||
		    ev->u.mmio.gpa != mmio->gpa ||
		    ev->u.mmio.bytes != mmio->bytes ||
		    ev->u.mmio.write != mmio->write ||
		    (mmio->write && ev->u.mmio.value != mmio->data))
			return access_diverged(vcpu, ev, vmexit);
		if (!mmio->write)
			mmio->data = ev->u.mmio.value;
	} else {
		return 0;
	}
	replay_consume(rp);
	return 0;
}

int
vm_replay_msr(struct vcpu *vcpu, bool write, uint32_t msr, uint64_t *value)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev = replay_peek(rp);
	char what[128], buf[128];

	snprintf(buf, sizeof(buf), "%s of MSR 0x%x, 0x%llx",
		 write ? "write" : "read", msr, (unsigned long long)*value);
	if (ev == NULL || ev->kind != TRACE_EV_MSR)
		return replay_diverge(vcpu, ev != NULL ? ev->index : 0,
				      replay_event_text(ev, what, sizeof(what)),
				      buf);
	snprintf(what, sizeof(what), "%s of MSR 0x%x, 0x%llx",
		 ev->u.msr.write ? "write" : "read", ev->u.msr.msr,
		 (unsigned long long)ev->u.msr.value);
	if (ev->u.msr.write != write || ev->u.msr.msr != msr ||
	    (write && ev->u.msr.value != *value))
		return replay_diverge(vcpu, ev->index, what, buf);
	if (!write)
		*value = ev->u.msr.value;
	replay_consume(rp);
	return 0;
}

int
vm_replay_random(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev = replay_peek(rp);
	const char *name = vmexit->u.random.rdseed ? "RDSEED" : "RDRAND";
	char what[128], buf[128];

	snprintf(buf, sizeof(buf), "%s of %u bytes", name,
		 vmexit->u.random.bytes);
	if (ev == NULL || ev->kind != TRACE_EV_RANDOM ||
	    ev->vcpu != (uint32_t)vcpu->id)
		return replay_diverge(vcpu, ev != NULL ? ev->index : 0,
				      replay_event_text(ev, what, sizeof(what)),
				      buf);
	snprintf(what, sizeof(what), "%s of %u bytes",
		 ev->u.random.rdseed ? "RDSEED" : "RDRAND", ev->u.random.bytes);
	if (ev->u.random.rdseed != vmexit->u.random.rdseed ||
	    ev->u.random.bytes != vmexit->u.random.bytes)
		return replay_diverge(vcpu, ev->index, what, buf);
	vmexit->u.random.value = ev->u.random.value;
	replay_consume(rp);
	return 0;
}

int
vm_replay_sched(struct vcpu *vcpu, uint64_t icount, int *to, uint64_t *at)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev = replay_peek(rp);
	char what[128], buf[128];

	*at = UINT64_MAX;
	/* An asynchronous exit to reach first (it may be right here). */
	if (rp->target.valid || ev == NULL || ev->kind != TRACE_EV_SCHED)
		return 0;
	snprintf(buf, sizeof(buf), "vcpu %d is at instruction %llu", vcpu->id,
		 (unsigned long long)icount);
	snprintf(what, sizeof(what), "vcpu %u's turn after vcpu %u's %llu",
		 ev->vcpu, ev->u.sched.from,
		 (unsigned long long)ev->u.sched.icount);
	if (ev->u.sched.from != (uint32_t)vcpu->id ||
	    ev->u.sched.icount < icount || ev->vcpu >= VM_MAXCPU ||
	    vcpu->vm->vcpus[ev->vcpu] == NULL)
		return replay_diverge(vcpu, ev->index, what, buf);
	if (ev->u.sched.icount > icount) {
		*at = ev->u.sched.icount;
		return 0;
	}
	*to = (int)ev->vcpu;
	if (vcpu->vm->virtual_time)
		vm_clock_set_at_least(vcpu->vm, ev->time_ns);
	replay_consume(rp);
	return 1;
}
