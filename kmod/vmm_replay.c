/*
 * The replayer: the recorder's hooks run backwards.  vm_run() calls it at
 * the same points where a recording writes (vmm_record.c), and instead of
 * writing it reads the next event of the trace and
 *   - compares an exit with the recorded one (code, rip, instruction),
 *   - answers a read with the recorded value and compares a write's,
 *   - performs the recorded injections at the recorded exit index,
 *   - reaches a recorded asynchronous exit (a kick: no instruction caused
 *     it) by running to its rip under a hardware breakpoint and comparing
 *     the full register state at every hit -- or, where the engine counts
 *     instructions (interp: VM_REG_ICOUNT in the recorded registers), by
 *     stopping at exactly that count and comparing once,
 *   - compares every checkpoint register by register and page by page.
 * Devices keep seeing writes (that is how the console reproduces the
 * guest's output) but nothing they decide reaches the guest.  The first
 * difference stops the replay with a report.
 *
 * A debugger (monitor/gdb_target.c) shares the engine's debug state with
 * the replayer: its breakpoints take debug registers 0-2, the replayer's
 * own breakpoint register 3 (vm_replay_set_debug), a debug exit goes to
 * whoever's breakpoint or step it is, and a kick of the monitor's returns
 * to it without being taken for an exit of the recording.  A replay can be
 * restarted at an earlier point (vm_replay_restart) for reverse execution.
 *
 * Several vCPUs are replayed where they ran one at a time (the interp
 * engine's scheduler, vmm_sched.c): the trace says where each turn ended
 * (SCHED), and the replay hands the turn over at exactly that instruction
 * count (vm_replay_sched()).  A kvm trace of several vCPUs is refused at
 * the first event of a second vCPU (their interleaving through shared
 * memory is not in it).
 *
 * The replayer's files, one job each (vmm_replay_impl.h is what they
 * share):
 *   vmm_replay.c        starting a replay (the first checkpoint loaded, on
 *                       to a later one), restarting and finishing it
 *   vmm_replay_trace.c  the event cursor, registers compared with recorded
 *                       ones, the divergence report
 *   vmm_replay_ckpt.c   checkpoints, loaded or compared
 *   vmm_replay_hooks.c  the hooks in vm_run(): before an entry (injections,
 *                       DMA, checkpoints), exits, accesses, MSRs
 *   vmm_replay_debug.c  the engine's debug state: running to asynchronous
 *                       exits, the debugger's breakpoints and steps
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_replay_impl.h"

/*
 * Start at checkpoint 'from' instead of the first: the later checkpoints
 * up to it, each the pages written since the one before, bring memory and
 * registers there; the exits of each vCPU on the way set its exit count
 * (the checkpoint's run state has it too, where recorded), and with
 * several vCPUs its scheduler state makes the turn the recorded vCPU's.
 */
static int
replay_forward(struct vm *vm, uint64_t from, char *errbuf, size_t errlen)
{
	struct vm_replayer *rp = vm->replayer;
	struct trace_event *ev;
	struct vcpu *v;
	uint64_t cindex;

	while (rp->checkpoint_id < from) {
		if ((ev = replay_peek(rp)) == NULL) {
			snprintf(errbuf, errlen,
				 "the trace has no checkpoint %llu (its last "
				 "is %llu)",
				 (unsigned long long)from,
				 (unsigned long long)rp->checkpoint_id);
			return -1;
		}
		if (ev->kind == TRACE_EV_EXIT &&
		    (v = vm_vcpu(vm, (int)ev->vcpu)) != NULL)
			v->exits++;
		if (ev->kind != TRACE_EV_CKPT_BEGIN) {
			replay_consume(rp);
			continue;
		}
		if (replay_checkpoint(vm, CKPT_APPLY, &cindex, errbuf,
				      errlen) != 0)
			return -1;
	}
	/* What ran before is not replayed: count from here. */
	rp->st.events = 0;
	return 0;
}

/* Load the first checkpoint, then go forward to checkpoint 'from'. */
static int
replay_begin(struct vm *vm, uint64_t from, char *errbuf, size_t errlen)
{
	struct vm_replayer *rp = vm->replayer;
	struct trace_event *ev = replay_peek(rp);
	uint64_t cindex;

	if (ev == NULL || ev->kind != TRACE_EV_CKPT_BEGIN) {
		snprintf(errbuf, errlen,
			 "the trace does not start with a checkpoint "
			 "(found %s)",
			 ev == NULL ? "nothing" : trace_kind_name(ev->kind));
		return -1;
	}
	rp->first_ns = ev->time_ns;
	if (replay_checkpoint(vm, CKPT_LOAD, &cindex, errbuf, errlen) != 0 ||
	    replay_forward(vm, from, errbuf, errlen) != 0)
		return -1;
	rp->unsynced = true;
	return 0;
}

int
vm_replay_start(struct vm *vm, struct trace_reader *r, uint64_t from,
		char *errbuf, size_t errlen)
{
	struct vm_replayer *rp;

	if (vm->replayer != NULL || vm->recorder != NULL) {
		snprintf(errbuf, errlen, "the VM is already %s",
			 vm->replayer != NULL ? "replaying" : "recording");
		return EBUSY;
	}
	rp = calloc(1, sizeof(*rp));
	if (rp == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return ENOMEM;
	}
	rp->r = r;
	vm->replayer = rp;
	if (replay_begin(vm, from, errbuf, errlen) != 0) {
		vm->replayer = NULL;
		free(rp->ckpts);
		free(rp);
		return EINVAL;
	}
	return 0;
}

/*
 * Back to an earlier point: the VM's state from the nearest checkpoint at
 * or before exit 'exits' (read again from 'r', a fresh reader of the same
 * trace: the first checkpoint and those after it up to there; EBUSY when
 * 'r' was not taken, otherwise the replayer reads it from now on), then
 * vm_run() replays forward and returns (VM_EXITCODE_BOGUS,
 * vm_replay_at_stop() true) once the VM is after exit 'exits' (of all
 * vCPUs: with several, one runs at a time and the trace orders their
 * exits).  The debugger's debug state stays.  From a vCPU thread, with
 * every vCPU outside vm_run().
 */
int
vm_replay_restart(struct vm *vm, struct trace_reader *r, uint64_t exits,
		  char *errbuf, size_t errlen)
{
	struct vm_replayer *rp = vm->replayer, keep;
	struct vm_exit scratch;
	uint64_t from = 0, *dirty;

	if (rp == NULL || rp->diverged) {
		snprintf(errbuf, errlen, "%s",
			 rp == NULL ? "not replaying" : "the replay diverged");
		return EBUSY; /* 'r' not taken */
	}
	for (size_t i = 0; i < rp->nckpts; i++)
		if (rp->ckpts[i].exits <= exits)
			from = rp->ckpts[i].id;
	/*
	 * What the engine still holds of each vCPU's last exit (an IN's
	 * data) goes first: the checkpoint's state replaces it.
	 */
	for (int i = 0; i < VM_MAXCPU; i++) {
		if (vm->vcpus[i] == NULL)
			continue;
		memset(&scratch, 0, sizeof(scratch));
		replay_complete_io(vm->vcpus[i], &scratch);
	}
	keep = *rp;
	memset(rp, 0, sizeof(*rp));
	rp->r = r;
	memcpy(rp->user, keep.user, sizeof(rp->user));
	rp->ckpts = keep.ckpts;
	rp->nckpts = keep.nckpts;
	rp->ckcap = keep.ckcap;
	rp->rf_broken = keep.rf_broken;
	rp->restarted = true;
	for (int i = 0; i < VM_MAXCPU; i++) {
		if (vm->vcpus[i] == NULL)
			continue;
		vm->vcpus[i]->exits = 0;
		vm->vcpus[i]->record_pending = false;
	}
	if (replay_begin(vm, from, errbuf, errlen) != 0) {
		rp->diverged = true;
		replay_report_add(rp, "replay diverged: cannot restart: %s\n",
				  errbuf);
		return EINVAL;
	}
	/* The pages written since the checkpoint were the other run's. */
	dirty =
	    calloc((vm->lowmem + vm->highmem) / TRACE_PAGE_SIZE / 64 + 1, 8);
	if (dirty != NULL)
		vm_dirty_pages(vm, dirty);
	free(dirty);
	rp->stop_set = true;
	rp->stop_exits = exits;
	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i] != NULL)
			replay_debug_apply(vm->vcpus[i]);
	return 0;
}

bool
vm_replay_at_stop(struct vcpu *vcpu)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	bool hit = rp != NULL && rp->stop_hit;

	if (hit)
		rp->stop_hit = false;
	return hit;
}

void
vm_replay_set_stop(struct vcpu *vcpu, uint64_t exits)
{
	struct vm_replayer *rp = vcpu->vm->replayer;

	if (rp == NULL)
		return;
	rp->stop_set = true;
	rp->stop_exits = exits;
	rp->stop_hit = false;
}

size_t
vm_replay_checkpoints(const struct vm *vm, uint64_t *exits, size_t max)
{
	const struct vm_replayer *rp = vm->replayer;
	size_t n = 0;

	for (size_t i = 0; rp != NULL && i < rp->nckpts && n < max; i++)
		exits[n++] = rp->ckpts[i].exits;
	return n;
}

uint64_t
replay_total_exits(const struct vm *vm)
{
	uint64_t n = 0;

	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i] != NULL)
			n += vm->vcpus[i]->exits;
	return n;
}

uint64_t
vm_replay_exits(const struct vcpu *vcpu)
{
	return replay_total_exits(vcpu->vm);
}

void
vm_replay_stop(struct vm *vm)
{
	if (vm->replayer == NULL)
		return;
	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i] != NULL)
			vm->engine->set_debug(
			    vm->vcpus[i]->cookie,
			    &(struct vm_guest_debug){ .enable = false });
	free(vm->replayer->ckpts);
	free(vm->replayer);
	vm->replayer = NULL;
}

bool
vm_replaying(const struct vm *vm)
{
	return vm->replayer != NULL;
}

const char *
vm_replay_report(const struct vm *vm)
{
	return vm->replayer != NULL ? vm->replayer->report : "";
}

void
vm_replay_stats(const struct vm *vm, struct vm_replay_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (vm->replayer != NULL)
		*st = vm->replayer->st;
}

static uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t
mem_hash(struct vm *vm)
{
	uint8_t *mem = vm_memseg_ptr(vm, VM_SYSMEM, NULL);

	return fnv1a(0xcbf29ce484222325ULL, mem, vm->lowmem + vm->highmem);
}

int
vm_replay_finish(struct vm *vm, int status, int *recorded_status)
{
	struct vm_replayer *rp = vm->replayer;
	struct vcpu *vcpu0 = vm_vcpu(vm, 0);
	struct trace_event *ev;
	char buf[512], what[128];
	uint64_t cindex;

	if (rp == NULL)
		return -1;
	if (rp->diverged)
		return -1;
	while (!rp->ended && (ev = replay_peek(rp)) != NULL) {
		if (ev->kind == TRACE_EV_CKPT_BEGIN) {
			if (replay_checkpoint(vm, CKPT_VERIFY, &cindex, buf,
					      sizeof(buf)) != 0)
				return replay_diverge(
				    vcpu0, cindex,
				    "the state of the checkpoint", buf);
			continue;
		}
		if (ev->kind == TRACE_EV_END) {
			replay_reach_end(rp, ev);
			replay_consume(rp);
			if (status != rp->end_status) {
				snprintf(buf, sizeof(buf), "exit status %d",
					 status);
				snprintf(what, sizeof(what), "exit status %d",
					 rp->end_status);
				return replay_diverge(vcpu0, ev->index - 1,
						      what, buf);
			}
			break;
		}
		if (ev->kind == TRACE_EV_MARKER) {
			replay_consume(rp);
			continue;
		}
		snprintf(buf, sizeof(buf), "the run ended with status %d",
			 status);
		return replay_diverge(vcpu0, ev->index,
				      replay_event_text(ev, what, sizeof(what)),
				      buf);
	}
	if (!rp->ended) {
		const struct trace_damage *d = trace_reader_damage(rp->r);

		snprintf(buf, sizeof(buf), "the trace ends without an END%s%s",
			 d != NULL ? ": " : " event (the recording was cut)",
			 d != NULL ? d->what : "");
		replay_report_add(rp, "%s\n", buf);
		rp->diverged = true;
		return -1;
	}
	rp->st.mem_hash = mem_hash(vm);
	*recorded_status = rp->end_status;
	return 0;
}
