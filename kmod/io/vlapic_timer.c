/*
 * The local APIC timer (SDM 10.5.4), as bhyve's vlapic callout: one-shot
 * and periodic counts at VLAPIC_BUS_FREQ / divider, and TSC-deadline
 * mode through IA32_TSC_DEADLINE.  The current count is computed from the
 * VM clock, never counted down, so what the guest reads does not depend
 * on how late a callout runs; the callout only raises the interrupt.
 *
 * A new divide configuration takes effect when the count is next loaded
 * (as in bhyve).  In TSC-deadline mode the deadline is turned into VM
 * clock time with the guest TSC read when it is written and the TSC's
 * rate from the engine.
 */
#include "vlapic_priv.h"

#define NS_PER_S 1000000000ULL
/*
 * A periodic count expires at most this often in VM time: a guest asking
 * for a period of a few ns would keep the timer thread busy for nothing
 * (KVM has a similar floor).  Shorter periods give one interrupt per
 * floor; the current count still runs at the programmed rate.
 */
#define VLAPIC_MIN_PERIOD_NS 50000ULL

/* Divide configuration (bits 0, 1, 3) to divider: 2, 4, ... 128, 1. */
static uint32_t
dcr_divider(uint32_t dcr)
{
	uint32_t code = (dcr & 3) | ((dcr & 8) >> 1);

	return code == 7 ? 1 : 2u << code;
}

/* Timer ticks to ns, rounded up: an expiry is never early. */
static uint64_t
ticks_to_ns(uint64_t ticks, uint32_t div)
{
	unsigned __int128 ns = (unsigned __int128)ticks * div * NS_PER_S;

	ns = (ns + VLAPIC_BUS_FREQ - 1) / VLAPIC_BUS_FREQ;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static uint64_t
ns_to_ticks(uint64_t ns, uint32_t div)
{
	return (uint64_t)((unsigned __int128)ns * VLAPIC_BUS_FREQ /
			  ((unsigned __int128)div * NS_PER_S));
}

static bool
tsc_deadline_mode(const struct vlapic *vlapic)
{
	return (vlapic->lvt[LVT_TIMER] & APIC_LVTT_MODE) == APIC_LVTT_TSCDL;
}

static bool
periodic_mode(const struct vlapic *vlapic)
{
	return (vlapic->lvt[LVT_TIMER] & APIC_LVTT_MODE) == APIC_LVTT_PER;
}

static void vlapic_timer_callout(void *arg);

static void
timer_schedule(struct vlapic *vlapic, uint64_t when)
{
	vlapic->timer_armed = true;
	vlapic->timer_next = when;
	callout_reset(&vlapic->callout, when, vlapic_timer_callout, vlapic);
}

/*
 * Expiry: raise the timer LVT's interrupt; a periodic count goes on to
 * its next expiry after now (periods the callout missed are dropped, one
 * interrupt stands for them, as a pending IRR bit would on hardware).  A
 * stale callout (disarmed, reloaded) finds the state moved on.
 */
static void
vlapic_timer_callout(void *arg)
{
	struct vlapic *vlapic = arg;
	struct vlapic_post post = { .eoi_vector = -1 };
	uint64_t now, n, next;

	pthread_mutex_lock(&vlapic->mtx);
	now = vm_clock_ns(vlapic->vm);
	if (!vlapic->timer_armed || vlapic->timer_next > now) {
		pthread_mutex_unlock(&vlapic->mtx);
		return;
	}
	vlapic_fire_lvt(vlapic, LVT_TIMER, &post);
	if (tsc_deadline_mode(vlapic)) {
		vlapic->timer_armed = false;
		vlapic->tsc_deadline = 0;
	} else if (periodic_mode(vlapic) && vlapic->timer_icr != 0) {
		n = ns_to_ticks(now - vlapic->timer_start, vlapic->timer_div) /
			vlapic->timer_icr +
		    1;
		next = vlapic->timer_start +
		       ticks_to_ns(n * vlapic->timer_icr, vlapic->timer_div);
		if (next < now + VLAPIC_MIN_PERIOD_NS)
			next = now + VLAPIC_MIN_PERIOD_NS;
		timer_schedule(vlapic, next);
	} else {
		vlapic->timer_armed = false;
	}
	pthread_mutex_unlock(&vlapic->mtx);
	vlapic_notify(vlapic->vcpu, &post);
}

uint32_t
vlapic_timer_ccr(struct vlapic *vlapic)
{
	uint64_t elapsed;

	if (!vlapic->timer_armed || tsc_deadline_mode(vlapic) ||
	    vlapic->timer_icr == 0)
		return 0;
	elapsed = ns_to_ticks(vm_clock_ns(vlapic->vm) - vlapic->timer_start,
			      vlapic->timer_div);
	if (periodic_mode(vlapic))
		return vlapic->timer_icr -
		       (uint32_t)(elapsed % vlapic->timer_icr);
	return elapsed >= vlapic->timer_icr
		   ? 0
		   : vlapic->timer_icr - (uint32_t)elapsed;
}

/* Writing the initial count (re)starts the count; 0 stops it. */
void
vlapic_timer_set_icr(struct vlapic *vlapic, uint32_t icr)
{
	if (tsc_deadline_mode(vlapic))
		return; /* ignored in TSC-deadline mode */
	vlapic->timer_icr = icr;
	vlapic->timer_armed = false;
	if (icr == 0)
		return;
	vlapic->timer_div = dcr_divider(vlapic->timer_dcr);
	vlapic->timer_start = vm_clock_ns(vlapic->vm);
	timer_schedule(vlapic, vlapic->timer_start +
				   ticks_to_ns(icr, vlapic->timer_div));
}

void
vlapic_timer_set_dcr(struct vlapic *vlapic, uint32_t dcr)
{
	vlapic->timer_dcr = dcr;
}

/* Between TSC-deadline and the other modes the timer is disarmed. */
void
vlapic_timer_lvt_changed(struct vlapic *vlapic, uint32_t old)
{
	bool was_tscdl = (old & APIC_LVTT_MODE) == APIC_LVTT_TSCDL;

	if (was_tscdl == tsc_deadline_mode(vlapic))
		return;
	vlapic->timer_armed = false;
	vlapic->timer_icr = 0;
	vlapic->tsc_deadline = 0;
}

uint64_t
vlapic_tsc_deadline_read(struct vlapic *vlapic)
{
	/* Other modes read 0 (SDM 10.5.4.1). */
	return tsc_deadline_mode(vlapic) ? vlapic->tsc_deadline : 0;
}

/*
 * Arm at guest TSC 'deadline' (0 disarms).  Called on the vCPU's own
 * thread (a WRMSR), where the engine can read the guest's TSC.
 */
void
vlapic_tsc_deadline_write(struct vlapic *vlapic, uint64_t deadline)
{
	const struct vmm_engine *eng = vlapic->vm->engine;
	uint64_t tsc, now, delta_ns = 0;

	if (!tsc_deadline_mode(vlapic))
		return; /* ignored in the other modes */
	vlapic->tsc_deadline = deadline;
	vlapic->timer_armed = false;
	if (deadline == 0)
		return;
	if (vlapic->tsc_hz == 0 &&
	    (eng->tsc_hz == NULL ||
	     eng->tsc_hz(vlapic->vcpu->cookie, &vlapic->tsc_hz) != 0))
		vlapic->tsc_hz = 0;
	if (vlapic->tsc_hz == 0 ||
	    vm_get_msr(vlapic->vcpu, MSR_TSC, &tsc) != 0) {
		/* No TSC to compare with: expire at once. */
		tsc = deadline;
	}
	now = vm_clock_ns(vlapic->vm);
	if (deadline > tsc) {
		unsigned __int128 ns =
		    (unsigned __int128)(deadline - tsc) * NS_PER_S;

		ns = (ns + vlapic->tsc_hz - 1) / vlapic->tsc_hz;
		delta_ns =
		    ns > UINT64_MAX - now ? UINT64_MAX - now : (uint64_t)ns;
	}
	timer_schedule(vlapic, now + delta_ns);
}

void
vlapic_timer_restore(struct vlapic *vlapic, uint64_t elapsed, bool armed,
		     uint64_t remaining)
{
	uint64_t now = vm_clock_ns(vlapic->vm);

	/* Modulo 2^64: the replay's VM clock may be younger than that. */
	vlapic->timer_start = now - elapsed;
	/* A pending callout finds the state moved on. */
	vlapic->timer_armed = false;
	if (armed)
		timer_schedule(vlapic, now + remaining);
}

void
vlapic_timer_init(struct vlapic *vlapic)
{
	callout_init(vlapic->vm, &vlapic->callout);
}

void
vlapic_timer_reset(struct vlapic *vlapic)
{
	vlapic->timer_icr = 0;
	vlapic->timer_dcr = 0;
	vlapic->timer_div = 2;
	vlapic->timer_armed = false;
	vlapic->tsc_deadline = 0;
}

void
vlapic_timer_cleanup(struct vlapic *vlapic)
{
	callout_stop(&vlapic->callout);
}
