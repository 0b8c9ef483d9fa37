/*
 * The single injection point.  Devices only mark interrupts pending (in
 * the PIC, the local APIC, a vCPU's NMI flag) and notify the vCPU; what
 * reaches the guest is decided here, at the vCPU's entry, and nowhere
 * else.  That is the point the recorder will log and the replayer feed.
 *
 * Order, as the CPU takes them: an NMI, then the local APIC's highest
 * deliverable vector, then the PIC's ExtINT, which reaches the CPU only
 * through LINT0 in ExtINT mode or with the APIC hardware-disabled.
 */
#include <errno.h>

#include "vmm_impl.h"
#include "io/vio.h"

void
vcpu_notify_event(struct vcpu *vcpu)
{
	bool asleep;

	pthread_mutex_lock(&vcpu->mtx);
	asleep = vcpu->halted || vcpu->parked || vcpu->hlt_intr_off;
	if (asleep)
		pthread_cond_signal(&vcpu->cv);
	pthread_mutex_unlock(&vcpu->mtx);
	/* One vCPU at a time: it may have its turn again (vmm_sched.c). */
	vm_sched_wake(vcpu);
	/*
	 * A running vCPU must come out so that the next entry injects.  A
	 * sleeping one looks before its next entry anyway: a kick would only
	 * cost it an empty exit right after it wakes (an asynchronous exit a
	 * replay has to find again), unless the monitor wants it out.
	 */
	if (!asleep || atomic_load(&vcpu->exit_request))
		vcpu->vm->engine->kick(vcpu->cookie);
}

void
vm_inject_nmi(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->nmi_pending = true;
	vm_vcpu_not_idle(vcpu);
	pthread_mutex_unlock(&vcpu->mtx);
	vcpu_notify_event(vcpu);
}

void
vm_inject_extint(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->extint_pending = true;
	pthread_mutex_unlock(&vcpu->mtx);
	vcpu_notify_event(vcpu);
}

/*
 * How long an interrupt may wait for the vCPU to open its interrupt
 * window before kmod forces an exit to look again.
 */
#define WINDOW_KICK_NS 100000

/* With the vCPU's lock held (a vlapic's lock may be taken under it). */
static bool
event_pending(struct vcpu *vcpu)
{
	/* INIT ends a HLT too: the vCPU goes to wait for a SIPI. */
	return vcpu->nmi_pending || vcpu->init_pending ||
	       (vcpu->extint_pending && vlapic_accepts_extint(vcpu)) ||
	       vlapic_pending_intr(vcpu) >= 0;
}

static void
window_kick(void *arg)
{
	struct vcpu *vcpu = arg;
	bool pending;

	pthread_mutex_lock(&vcpu->mtx);
	pending = event_pending(vcpu);
	pthread_mutex_unlock(&vcpu->mtx);
	if (pending)
		vcpu->vm->engine->kick(vcpu->cookie);
}

/*
 * The engine asked for an exit when the interrupt window opens.  Not
 * every host delivers that exit: PVM emulates guest kernel code in
 * batches and looks at the window only when IF changes, i.e. while STI's
 * shadow still blocks, so "sti; ...; cli" without an exit never gets the
 * interrupt.  The backstop: kick the vCPU every WINDOW_KICK_NS until it
 * takes the interrupt (APIC vector or ExtINT).
 */
static void
arm_window_kick(struct vcpu *vcpu)
{
	uint64_t now = vm_clock_ns(vcpu->vm);
	bool arm = false;

	pthread_mutex_lock(&vcpu->mtx);
	if (now >= vcpu->window_kick_at) {
		vcpu->window_kick_at = now + WINDOW_KICK_NS;
		arm = true;
	}
	pthread_mutex_unlock(&vcpu->mtx);
	if (arm)
		callout_reset(&vcpu->window_kick, now + WINDOW_KICK_NS,
			      window_kick, vcpu);
}

int
vm_inject_exception(struct vcpu *vcpu, int vector, bool has_ec, uint32_t ec)
{
	const struct vmm_engine *eng = vcpu->vm->engine;
	int error;

	if (vector < 0 || vector > 31 || eng->inject_exception == NULL)
		return EINVAL;
	/* A replay injects what the trace says, in its order. */
	if (vcpu->vm->replayer != NULL)
		return 0;
	error = eng->inject_exception(vcpu->cookie, vector, has_ec, ec);
	if (error == 0)
		vm_record_inject(vcpu, TRACE_INJECT_EXCEPTION, vector, has_ec,
				 ec);
	return error;
}

/*
 * Called by the vCPU's own thread before each entry.  Device locks are
 * taken without the vCPU's lock held (devices take the vCPU's lock when
 * they notify it), and a pending flag is cleared before the device is
 * asked, so that an assertion racing with us is never lost.
 */
void
vm_inject_pending(struct vcpu *vcpu)
{
	const struct vmm_engine *eng = vcpu->vm->engine;
	bool nmi, extint;
	int vector;

	vlapic_sync_tpr(vcpu);
	pthread_mutex_lock(&vcpu->mtx);
	nmi = vcpu->nmi_pending;
	extint = vcpu->extint_pending;
	vcpu->extint_pending = false;
	pthread_mutex_unlock(&vcpu->mtx);

	if (nmi) {
		/* One event per entry: the INTR line waits for the next. */
		pthread_mutex_lock(&vcpu->mtx);
		if (eng->inject_nmi(vcpu->cookie) == 0) {
			vcpu->nmi_pending = false;
			vm_record_inject(vcpu, TRACE_INJECT_NMI, 2, false, 0);
		}
		vcpu->extint_pending |= extint;
		pthread_mutex_unlock(&vcpu->mtx);
		return;
	}
	vector = vlapic_pending_intr(vcpu);
	if (vector >= 0) {
		/* The PIC's INTR, if any, waits for the next entry. */
		if (extint) {
			pthread_mutex_lock(&vcpu->mtx);
			vcpu->extint_pending = true;
			pthread_mutex_unlock(&vcpu->mtx);
		}
		if (eng->inject_intr(vcpu->cookie, vector) == 0) {
			vm_record_inject(vcpu, TRACE_INJECT_EXTINT, vector,
					 false, 0);
			vlapic_intr_accepted(vcpu, vector);
		} else {
			arm_window_kick(vcpu);
		}
		return;
	}
	if (!extint)
		return;
	if (!vlapic_accepts_extint(vcpu)) {
		/* LINT0 masked: INTR stays up until the guest opens it. */
		pthread_mutex_lock(&vcpu->mtx);
		vcpu->extint_pending = true;
		pthread_mutex_unlock(&vcpu->mtx);
		return;
	}
	vector = vatpic_pending_intr(vcpu->vm);
	if (vector < 0)
		return; /* withdrawn before we got to it */
	if (eng->inject_intr(vcpu->cookie, vector) == 0) {
		vm_record_inject(vcpu, TRACE_INJECT_EXTINT, vector, false, 0);
		/* Asserts INTR again if more is pending. */
		vatpic_intr_accepted(vcpu->vm, vector);
		vlapic_extint_accepted(vcpu);
	} else {
		pthread_mutex_lock(&vcpu->mtx);
		vcpu->extint_pending = true;
		pthread_mutex_unlock(&vcpu->mtx);
		arm_window_kick(vcpu);
	}
}

void
vm_handle_hlt(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	int error;

	/* The guest may have lowered CR8 just before the HLT. */
	vlapic_sync_tpr(vcpu);
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->halted = true;
	for (;;) {
		/* One vCPU at a time: asleep before looking (no lost wake). */
		if (vm->sched != NULL)
			vm_sched_mark_asleep(vcpu);
		if (event_pending(vcpu) || atomic_load(&vcpu->exit_request) ||
		    atomic_load(&vm->suspend) != VM_SUSPEND_NONE) {
			if (vm->sched != NULL)
				vm_sched_wake(vcpu);
			break;
		}
		if (vm->sched == NULL) {
			pthread_cond_wait(&vcpu->cv, &vcpu->mtx);
			continue;
		}
		/* Another vCPU's turn, or the idle skip's (virtual time). */
		pthread_mutex_unlock(&vcpu->mtx);
		error = vm_sched_sleep(vcpu);
		pthread_mutex_lock(&vcpu->mtx);
		if (error != 0)
			break;
	}
	vcpu->halted = false;
	pthread_mutex_unlock(&vcpu->mtx);
}
