/*
 * The local APIC's state in a checkpoint (as bhyve's vlapic snapshot):
 * the recorder writes one CKPT_DEVICE "vlapic" event per vCPU, a replay
 * that starts at a checkpoint loads it, and a replay that passes a
 * checkpoint compares it.  The layout (VLAPIC_STATE_VERSION, all fields
 * little-endian) is in docs/trace-format.md.
 *
 * The timer's times are relative, so that they mean the same on the
 * replay's VM clock: how long ago the count was loaded and how long
 * until the next expiry.
 *
 * What a replay compares is what the guest's own accesses decide: the
 * registers it programs (IA32_APIC_BASE, LDR, DFR, SVR, ICR, the LVT, the
 * timer's initial count and divide configuration).  IRR, ISR, TMR, ESR,
 * TPR and the timer's progress are restored but not compared: in a
 * replay interrupts come from the trace and bypass the local APIC, device
 * timers run on host time, and the TPR lives in CR8 (which the register
 * state compares).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vlapic_priv.h"

#define VLAPIC_STATE_VERSION 1

enum {
	ST_VERSION = 0,  /* u32 */
	ST_APICBASE = 4, /* u64 */
	ST_TPR = 12,     /* u32 each, to ST_ICR_HI */
	ST_LDR = 16,
	ST_DFR = 20,
	ST_SVR = 24,
	ST_ESR = 28,
	ST_ESR_PENDING = 32,
	ST_ICR_LO = 36,
	ST_ICR_HI = 40,
	ST_LVT = 44,  /* u32 x LVT_COUNT (7), enum LVT_* order */
	ST_ISR = 72,  /* u32 x 8 */
	ST_TMR = 104, /* u32 x 8 */
	ST_IRR = 136, /* u32 x 8 */
	ST_TIMER_ICR = 168,
	ST_TIMER_DCR = 172,
	ST_TIMER_DIV = 176,
	ST_FLAGS = 180,        /* u32: ST_F_* */
	ST_ELAPSED = 184,      /* u64 ns since the count was loaded */
	ST_REMAINING = 192,    /* u64 ns to the next expiry (armed) */
	ST_TSC_DEADLINE = 200, /* u64 */
	ST_SIZE = 208
};

#define ST_F_TIMER_ARMED 0x1u
#define ST_F_EXTINT_MSG  0x2u
#define ST_F_ESR_FIRING  0x4u

_Static_assert(ST_SIZE == VLAPIC_STATE_SIZE, "vlapic state layout");
_Static_assert(LVT_COUNT == 7, "vlapic state layout: 7 LVT entries");

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

size_t
vlapic_get_state(struct vcpu *vcpu, uint8_t *buf)
{
	struct vlapic *vlapic = vcpu->vlapic;
	uint64_t now = vm_clock_ns(vcpu->vm);
	uint32_t flags = 0;

	memset(buf, 0, VLAPIC_STATE_SIZE);
	if (vlapic == NULL)
		return 0;
	pthread_mutex_lock(&vlapic->mtx);
	put32(buf + ST_VERSION, VLAPIC_STATE_VERSION);
	put64(buf + ST_APICBASE, vlapic->apicbase);
	put32(buf + ST_TPR, vlapic->tpr);
	put32(buf + ST_LDR, vlapic->ldr);
	put32(buf + ST_DFR, vlapic->dfr);
	put32(buf + ST_SVR, vlapic->svr);
	put32(buf + ST_ESR, vlapic->esr);
	put32(buf + ST_ESR_PENDING, vlapic->esr_pending);
	put32(buf + ST_ICR_LO, vlapic->icr_lo);
	put32(buf + ST_ICR_HI, vlapic->icr_hi);
	for (int i = 0; i < LVT_COUNT; i++)
		put32(buf + ST_LVT + 4 * i, vlapic->lvt[i]);
	for (int i = 0; i < 8; i++) {
		put32(buf + ST_ISR + 4 * i, vlapic->isr[i]);
		put32(buf + ST_TMR + 4 * i, vlapic->tmr[i]);
		put32(buf + ST_IRR + 4 * i, vlapic->irr[i]);
	}
	put32(buf + ST_TIMER_ICR, vlapic->timer_icr);
	put32(buf + ST_TIMER_DCR, vlapic->timer_dcr);
	put32(buf + ST_TIMER_DIV, vlapic->timer_div);
	if (vlapic->timer_armed) {
		flags |= ST_F_TIMER_ARMED;
		put64(buf + ST_REMAINING,
		      vlapic->timer_next > now ? vlapic->timer_next - now : 0);
	}
	flags |= vlapic->extint_msg ? ST_F_EXTINT_MSG : 0;
	flags |= vlapic->esr_firing ? ST_F_ESR_FIRING : 0;
	put32(buf + ST_FLAGS, flags);
	put64(buf + ST_ELAPSED, now - vlapic->timer_start);
	put64(buf + ST_TSC_DEADLINE, vlapic->tsc_deadline);
	pthread_mutex_unlock(&vlapic->mtx);
	return VLAPIC_STATE_SIZE;
}

static bool
state_valid(const uint8_t *buf, size_t len)
{
	uint64_t base;

	if (len != VLAPIC_STATE_SIZE ||
	    get32(buf + ST_VERSION) != VLAPIC_STATE_VERSION)
		return false;
	base = get64(buf + ST_APICBASE);
	/* x2APIC needs the APIC enabled; nothing outside the known bits. */
	return !(base & ~(APICBASE_BSP | APICBASE_X2APIC | APICBASE_ENABLED |
			  APICBASE_ADDR)) &&
	       (!(base & APICBASE_X2APIC) || (base & APICBASE_ENABLED));
}

int
vlapic_set_state(struct vcpu *vcpu, const uint8_t *buf, size_t len)
{
	struct vlapic *vlapic = vcpu->vlapic;
	struct vlapic_post post = { .eoi_vector = -1 };
	uint32_t flags, div;
	uint64_t base;

	if (vlapic == NULL)
		return ENXIO;
	if (!state_valid(buf, len))
		return EINVAL;
	div = get32(buf + ST_TIMER_DIV);
	if (div == 0 || div > 128 || (div & (div - 1)) != 0)
		return EINVAL;
	pthread_mutex_lock(&vlapic->mtx);
	/* The BSP flag is the vCPU's, not the recording's to change. */
	vlapic->apicbase = (get64(buf + ST_APICBASE) & ~APICBASE_BSP) |
			   (vlapic->apicbase & APICBASE_BSP);
	vlapic->tpr = get32(buf + ST_TPR) & 0xff;
	vlapic->ldr = get32(buf + ST_LDR);
	vlapic->dfr = get32(buf + ST_DFR);
	vlapic->svr = get32(buf + ST_SVR);
	vlapic->esr = get32(buf + ST_ESR);
	vlapic->esr_pending = get32(buf + ST_ESR_PENDING);
	vlapic->icr_lo = get32(buf + ST_ICR_LO);
	vlapic->icr_hi = get32(buf + ST_ICR_HI);
	for (int i = 0; i < LVT_COUNT; i++)
		vlapic->lvt[i] = get32(buf + ST_LVT + 4 * i);
	for (int i = 0; i < 8; i++) {
		vlapic->isr[i] = get32(buf + ST_ISR + 4 * i);
		vlapic->tmr[i] = get32(buf + ST_TMR + 4 * i);
		vlapic->irr[i] = get32(buf + ST_IRR + 4 * i);
	}
	vlapic->timer_icr = get32(buf + ST_TIMER_ICR);
	vlapic->timer_dcr = get32(buf + ST_TIMER_DCR) & 0xb;
	vlapic->timer_div = div;
	flags = get32(buf + ST_FLAGS);
	vlapic->extint_msg = (flags & ST_F_EXTINT_MSG) != 0;
	vlapic->esr_firing = (flags & ST_F_ESR_FIRING) != 0;
	vlapic->tsc_deadline = get64(buf + ST_TSC_DEADLINE);
	vlapic_timer_restore(vlapic, get64(buf + ST_ELAPSED),
			     (flags & ST_F_TIMER_ARMED) != 0,
			     get64(buf + ST_REMAINING));
	base = vlapic->apicbase & APICBASE_ADDR;
	post.notify = true; /* IRR may hold vectors */
	pthread_mutex_unlock(&vlapic->mtx);
	/* A relocated page exits to the local APICs too. */
	if (base != VLAPIC_BASE)
		vlapic_register_page(vcpu->vm, base);
	vlapic_notify(vcpu, &post);
	return 0;
}

bool
vlapic_state_matches(struct vcpu *vcpu, const uint8_t *rec, size_t len,
		     char *why, size_t whylen)
{
	static const struct {
		int off;
		const char *name;
	} fields[] = {
		{ ST_LDR, "LDR" },
		{ ST_DFR, "DFR" },
		{ ST_SVR, "SVR" },
		{ ST_ICR_LO, "ICR low" },
		{ ST_ICR_HI, "ICR high" },
		{ ST_LVT + 4 * LVT_CMCI, "LVT CMCI" },
		{ ST_LVT + 4 * LVT_TIMER, "LVT timer" },
		{ ST_LVT + 4 * LVT_THERMAL, "LVT thermal" },
		{ ST_LVT + 4 * LVT_PERF, "LVT perf" },
		{ ST_LVT + 4 * LVT_LINT0, "LVT LINT0" },
		{ ST_LVT + 4 * LVT_LINT1, "LVT LINT1" },
		{ ST_LVT + 4 * LVT_ERROR, "LVT error" },
		{ ST_TIMER_ICR, "timer initial count" },
		{ ST_TIMER_DCR, "timer divide configuration" },
	};
	uint8_t now[VLAPIC_STATE_SIZE];

	if (!state_valid(rec, len)) {
		snprintf(why, whylen, "a local APIC state rhyve cannot read");
		return false;
	}
	vlapic_get_state(vcpu, now);
	/* The BSP flag is the vCPU's, as vlapic_set_state() keeps it. */
	if ((get64(rec + ST_APICBASE) ^ get64(now + ST_APICBASE)) &
	    ~APICBASE_BSP) {
		snprintf(why, whylen, "IA32_APIC_BASE 0x%llx (replay 0x%llx)",
			 (unsigned long long)get64(rec + ST_APICBASE),
			 (unsigned long long)get64(now + ST_APICBASE));
		return false;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint32_t a = get32(rec + fields[i].off);
		uint32_t b = get32(now + fields[i].off);

		if (a != b) {
			snprintf(why, whylen, "%s 0x%x (replay 0x%x)",
				 fields[i].name, a, b);
			return false;
		}
	}
	return true;
}
