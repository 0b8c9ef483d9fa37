/*
 * One vCPU at a time, on engines with virtual time (interp): the vCPU
 * threads pass a baton round-robin, so the guest's instructions, the
 * platform's timers and the devices run in one order that the instruction
 * counts fix.  That makes an SMP guest as deterministic as a uniprocessor
 * one: how the vCPUs' accesses to shared memory interleave is decided
 * here, not by the host's scheduler.
 *
 * A turn lasts VM_SCHED_QUANTUM instructions (config vm.quantum; the
 * engine stops there:
 * set_yield), or until the vCPU sleeps (HLT, wait-for-SIPI) or leaves to
 * its monitor for a debugger.  The next turn goes to the next vCPU after
 * it, in id order, that is neither asleep nor away; when every vCPU
 * sleeps, the clock jumps to the next timer deadline (idle skip) and the
 * timers due run, which may wake one.
 *
 * Only the host's own inputs (console bytes, signals, a debugger) wake a
 * vCPU at a moment no instruction count fixes, so the recorder writes
 * every change of turn as a SCHED event, and a replay hands the baton
 * over where the trace says (vm_replay_sched()), not where it would.
 *
 * Lock order: the scheduler's mutex is a leaf; wakers call
 * vm_sched_wake() with device or vCPU locks held.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "vmm_impl.h"

struct vm_sched {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	_Atomic int owner;    /* whose turn it is; -1: nobody's (all asleep) */
	int last;             /* whose turn it was last: the next is after it */
	uint64_t last_icount; /* its instruction count when it gave it up */
	uint64_t asleep;      /* bit n: vCPU n sleeps (HLT, wait-for-SIPI) */
	uint64_t away;        /* bit n: vCPU n's thread is out in its monitor */
	bool idling;          /* a thread runs the idle skip */
	uint64_t quantum;     /* instructions in a turn */
};

static uint64_t
vcpu_icount(struct vcpu *vcpu)
{
	uint64_t n = 0;

	vcpu->vm->engine->getreg(vcpu->cookie, VM_REG_ICOUNT, &n);
	return n;
}

/*
 * The engine stops once the vCPU's count reaches 'at' (an asynchronous
 * exit, recorded: interrupts may be injected after it).  Alone, a vCPU
 * has nobody to give its turn to: no stop.
 */
static void
set_yield(struct vcpu *vcpu, uint64_t at)
{
	if (vm_vcpu_count(vcpu->vm) == 1)
		at = UINT64_MAX;
	vcpu->vm->engine->set_yield(vcpu->cookie, at);
}

int
vm_sched_init(struct vm *vm)
{
	struct vm_sched *s;

	if (!vm->virtual_time)
		return 0;
	/* Nothing else would move a halted VM's clock on. */
	if (vm->engine->set_yield == NULL)
		return ENOTSUP;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ENOMEM;
	pthread_mutex_init(&s->mtx, NULL);
	pthread_cond_init(&s->cv, NULL);
	/*
	 * vCPU 0 boots; the others wait for their SIPI asleep.  A thread
	 * not in vm_run() yet still counts as there (it is on its way: how
	 * soon it arrives must not change the order); one the monitor holds
	 * says so (vm_vcpu_hold()).
	 */
	s->owner = s->last = 0;
	s->quantum =
	    vm->engine->quantum != 0 ? vm->engine->quantum : VM_SCHED_QUANTUM;
	s->asleep = ~1ULL;
	vm->sched = s;
	return 0;
}

int
vm_set_quantum(struct vm *vm, uint64_t insns)
{
	if (vm->sched == NULL)
		return ENOTSUP;
	if (insns == 0)
		return EINVAL;
	vm->sched->quantum = insns; /* before the vCPUs run */
	return 0;
}

void
vm_sched_cleanup(struct vm *vm)
{
	struct vm_sched *s = vm->sched;

	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->mtx);
	pthread_cond_destroy(&s->cv);
	free(s);
	vm->sched = NULL;
}

static bool
eligible(struct vm *vm, int id)
{
	struct vm_sched *s = vm->sched;

	return vm->vcpus[id] != NULL && !((s->asleep | s->away) & (1ULL << id));
}

/* The next vCPU after 'from' in id order that can run ('from' last). */
static int
pick_next(struct vm *vm, int from)
{
	for (int i = 1; i <= VM_MAXCPU; i++) {
		int id = (from + i) % VM_MAXCPU;

		if (eligible(vm, id))
			return id;
	}
	return -1;
}

/*
 * The baton to 'to' (-1: nobody).  A new vCPU's turn is written down for
 * a replay, with where the last one stopped.
 */
static void
hand_to(struct vm *vm, int to)
{
	struct vm_sched *s = vm->sched;

	s->owner = to;
	if (to >= 0 && to != s->last) {
		vm_record_sched(vm->vcpus[to], s->last, s->last_icount);
		s->last = to;
		vm->vcpus[to]->sched_new_turn = true;
	}
	pthread_cond_broadcast(&s->cv);
}

/*
 * Give the turn up: the vCPU's instruction count is where it stopped.  A
 * replay keeps it: only the trace passes it on (vm_replay_sched()).
 */
static void
give_up(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_sched *s = vm->sched;

	if (vm->replayer != NULL)
		return;
	s->last_icount = vcpu_icount(vcpu);
	hand_to(vm, pick_next(vm, vcpu->id));
}

bool
vm_sched_has_turn(struct vcpu *vcpu)
{
	return atomic_load(&vcpu->vm->sched->owner) == vcpu->id;
}

/*
 * Every vCPU sleeps: nothing moves the clock, so it jumps to the next
 * timer deadline and the timers due run (or, without idle_skip, the
 * deadline is waited for in host time); with no timer pending, host input
 * is waited for.  With the mutex held; dropped meanwhile.
 */
static void
idle_skip(struct vm *vm)
{
	struct vm_sched *s = vm->sched;
	uint64_t next = vm_callout_next(vm), now = vm_clock_ns(vm);
	struct timespec ts;

	s->idling = true;
	if (next == UINT64_MAX || (!vm->idle_skip && next > now)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		if (next == UINT64_MAX) {
			ts.tv_sec += 1;
		} else {
			ts.tv_sec += (time_t)((next - now) / 1000000000ULL);
			ts.tv_nsec += (long)((next - now) % 1000000000ULL);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
		}
		pthread_cond_timedwait(&s->cv, &s->mtx, &ts);
		if (next == UINT64_MAX || pick_next(vm, s->last) >= 0) {
			s->idling = false;
			return; /* woken by host input, or look again */
		}
	}
	pthread_mutex_unlock(&s->mtx);
	vm_clock_set_at_least(vm, next);
	vm_callouts_run_due(vm);
	pthread_mutex_lock(&s->mtx);
	s->idling = false;
}

/*
 * Wait for the vCPU's turn.  0: it is its turn; -1: the VM is suspended
 * or the monitor wants the vCPU (vm_vcpu_kick()), which leaves without it.
 */
int
vm_sched_acquire(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_sched *s = vm->sched;
	uint64_t bit = 1ULL << vcpu->id;
	int ret = 0;

	pthread_mutex_lock(&s->mtx);
	s->away &= ~bit;
	for (;;) {
		if (s->owner == vcpu->id &&
		    atomic_load(&vm->suspend) == VM_SUSPEND_NONE)
			break;
		if (atomic_load(&vm->suspend) != VM_SUSPEND_NONE ||
		    atomic_load(&vcpu->exit_request) || vcpu->sched_return) {
			s->away |= bit;
			if (s->owner == vcpu->id)
				give_up(vcpu);
			ret = -1;
			break;
		}
		/*
		 * A replay hands the turn on only as recorded: while the
		 * vCPU whose turn it is stays away (held by a debugger that
		 * resumed only others), the others would wait for good.
		 * Leave, so that the monitor sees whose turn it is (the gdb
		 * stub stops the VM there).
		 */
		if (vm->replayer != NULL && s->owner >= 0 &&
		    (s->away & (1ULL << s->owner))) {
			s->away |= bit;
			ret = -1;
			break;
		}
		if (s->owner < 0 && vm->replayer == NULL) {
			int to = pick_next(vm, s->last);

			if (to >= 0) {
				hand_to(vm, to);
				continue;
			}
			/*
			 * All asleep, or stopped in a debugger: time goes on
			 * for those it stopped too, as on hardware (a step
			 * of one over HLT must see its timer).
			 */
			if (!s->idling) {
				idle_skip(vm);
				continue;
			}
		}
		pthread_cond_wait(&s->cv, &s->mtx);
	}
	pthread_mutex_unlock(&s->mtx);
	if (ret == 0 && vcpu->sched_new_turn) {
		vcpu->sched_new_turn = false;
		vcpu->sched_end = vcpu_icount(vcpu) + s->quantum;
	}
	if (ret == 0)
		set_yield(vcpu, vcpu->sched_end);
	return ret;
}

/* Before each entry, with the turn: end it where it is due. */
int
vm_sched_point(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_sched *s = vm->sched;
	uint64_t now = vcpu_icount(vcpu), at = UINT64_MAX;
	bool mine = true;
	int to, rc;

	/*
	 * A replay: where the trace says, as often as it says (a vCPU woken
	 * for nothing gave its turn up again at once).
	 */
	while (vm->replayer != NULL &&
	       (rc = vm_replay_sched(vcpu, now, &to, &at)) != 0) {
		if (rc < 0)
			return -1;
		pthread_mutex_lock(&s->mtx);
		s->last_icount = now;
		hand_to(vm, to);
		pthread_mutex_unlock(&s->mtx);
		if (vm_sched_acquire(vcpu) < 0)
			return 1;
	}
	if (vm->replayer == NULL && now >= vcpu->sched_end) {
		pthread_mutex_lock(&s->mtx);
		give_up(vcpu);
		mine = s->owner == vcpu->id;
		pthread_mutex_unlock(&s->mtx);
	}
	if (!mine)
		return vm_sched_acquire(vcpu) < 0 ? 1 : 0;
	/* The turn goes on (nobody else can run): another quantum. */
	while (now >= vcpu->sched_end)
		vcpu->sched_end += s->quantum;
	/* A replay stops where the recording changed turns, at the latest. */
	set_yield(vcpu, at < vcpu->sched_end ? at : vcpu->sched_end);
	return 0;
}

/*
 * The vCPU is about to sleep (HLT, wait-for-SIPI): from now on a waker
 * (vm_sched_wake()) makes it eligible again.  Mark it before looking for
 * a pending event, so that no wake-up falls in between.
 */
void
vm_sched_mark_asleep(struct vcpu *vcpu)
{
	struct vm_sched *s = vcpu->vm->sched;

	pthread_mutex_lock(&s->mtx);
	s->asleep |= 1ULL << vcpu->id;
	pthread_mutex_unlock(&s->mtx);
}

/*
 * Sleep: the turn goes to another vCPU, and comes back once a waker has
 * made this one eligible and its turn is next.  0: its turn again; -1:
 * the VM is suspended or the monitor wants the vCPU; ESRCH: a replay
 * whose trace does not say where the turn goes (diverged).
 */
int
vm_sched_sleep(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_sched *s = vm->sched;
	uint64_t at;
	int to;

	if (vm->replayer != NULL) {
		/*
		 * The recording gave its turn up here too: nothing but
		 * another vCPU wakes a sleeping one in a replay.
		 */
		if (vm_replay_sched(vcpu, vcpu_icount(vcpu), &to, &at) != 1)
			return ESRCH;
		pthread_mutex_lock(&s->mtx);
		s->last_icount = vcpu_icount(vcpu);
		hand_to(vm, to);
		pthread_mutex_unlock(&s->mtx);
	} else {
		pthread_mutex_lock(&s->mtx);
		give_up(vcpu);
		pthread_mutex_unlock(&s->mtx);
	}
	return vm_sched_acquire(vcpu);
}

void
vm_sched_wake(struct vcpu *vcpu)
{
	struct vm_sched *s = vcpu->vm->sched;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mtx);
	s->asleep &= ~(1ULL << vcpu->id);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mtx);
}

/*
 * The scheduler's state for a checkpoint (vmm_run_state.c), taken by the
 * vCPU whose turn it is: the others wait for theirs.
 */
void
vm_sched_get_state(struct vm *vm, struct vm_sched_state *st)
{
	struct vm_sched *s = vm->sched;
	struct vcpu *owner;

	pthread_mutex_lock(&s->mtx);
	st->owner = s->owner;
	st->last = s->last;
	st->last_icount = s->last_icount;
	st->asleep = s->asleep;
	st->quantum = s->quantum;
	owner = st->owner >= 0 ? vm->vcpus[st->owner] : NULL;
	st->turn_end = owner != NULL ? owner->sched_end : 0;
	pthread_mutex_unlock(&s->mtx);
}

/*
 * A checkpoint's: the turn is the recorded vCPU's again, where it was in
 * it (a replay that starts there; the vCPU threads wait for their turn
 * or are not running yet).  Which threads are away stays as it is.
 */
int
vm_sched_set_state(struct vm *vm, const struct vm_sched_state *st)
{
	struct vm_sched *s = vm->sched;

	if (st->owner >= VM_MAXCPU || st->last < 0 || st->last >= VM_MAXCPU ||
	    (st->owner >= 0 && vm->vcpus[st->owner] == NULL) ||
	    vm->vcpus[st->last] == NULL)
		return EINVAL;
	pthread_mutex_lock(&s->mtx);
	s->owner = st->owner < 0 ? -1 : st->owner;
	s->last = st->last;
	s->last_icount = st->last_icount;
	s->asleep = st->asleep;
	if (st->owner >= 0) {
		vm->vcpus[st->owner]->sched_end = st->turn_end;
		vm->vcpus[st->owner]->sched_new_turn = false;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mtx);
	return 0;
}

struct vcpu *
vm_turn_vcpu(struct vm *vm)
{
	int owner = vm->sched != NULL ? atomic_load(&vm->sched->owner) : -1;

	return vm->vcpus[owner >= 0 ? owner : 0];
}

void
vm_vcpu_return_on_turn_end(struct vcpu *vcpu, bool on)
{
	struct vm_sched *s = vcpu->vm->sched;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mtx);
	vcpu->sched_return = on;
	pthread_mutex_unlock(&s->mtx);
}

/* The vCPU's thread is in vm_run(): it may be given the turn. */
void
vm_sched_enter(struct vcpu *vcpu)
{
	struct vm_sched *s = vcpu->vm->sched;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mtx);
	s->away &= ~(1ULL << vcpu->id);
	pthread_mutex_unlock(&s->mtx);
}

/*
 * The vCPU's thread leaves for its monitor (a kick, a debugger's stop):
 * the turn goes on without it until it is back in vm_run().
 */
void
vm_sched_leave(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_sched *s = vm->sched;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mtx);
	s->away |= 1ULL << vcpu->id;
	if (s->owner == vcpu->id)
		give_up(vcpu);
	pthread_mutex_unlock(&s->mtx);
}
