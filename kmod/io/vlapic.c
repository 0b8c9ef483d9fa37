/*
 * The local APIC, one per vCPU, as bhyve's sys/amd64/vmm/io/vlapic.c:
 * registers in the xAPIC page (MMIO at the address in IA32_APIC_BASE) or,
 * in x2APIC mode, as MSRs 0x800-0x8ff; IRR/ISR/TMR with TPR and PPR;
 * EOI; the LVT entries; interrupt messages between local APICs (IPIs)
 * and from the I/O APIC and MSIs.  The timer is in vlapic_timer.c.
 *
 * Interrupts become pending in IRR here; they enter the guest only at
 * vm_inject_pending() (vmm_intr.c), which asks vlapic_pending_intr().
 *
 * Each vlapic has one lock.  Nothing that takes another lock (a vCPU's,
 * another vlapic's, the I/O APIC's) is called with it held: what a
 * register write sets off is collected in a struct vlapic_post and done
 * by vlapic_post_run() once the lock is dropped.  A vCPU's lock may be
 * held while a vlapic's is taken (vm_handle_hlt() asks whether an
 * interrupt is pending), never the other way round.
 *
 * APIC IDs are the vCPU numbers.  The TPR is mirrored in CR8 (CR8 =
 * TPR[7:4]): a guest in 64-bit mode changes it with MOV CR8 without an
 * exit, so the TPR is taken from CR8 before every use on the vCPU's own
 * thread (vlapic_sync_tpr()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vlapic_priv.h"

#define PRIO(v)         ((uint32_t)(v) >> 4)
#define VLAPIC_VERSION  0x14 /* integrated APIC, as current Intel CPUs */
#define VLAPIC_PAGE     0x1000ULL
#define MSR_APICBASE    0x1b
#define MSR_TSCDEADLINE 0x6e0
#define MSR_X2APIC_BASE 0x800
#define MSR_X2APIC_LAST 0x8ff

static int vlapic_mmio(struct vcpu *vcpu, bool write, uint64_t gpa, int bytes,
		       uint64_t *val, void *arg);

static uint32_t
vlapic_id(const struct vlapic *vlapic)
{
	uint32_t id = (uint32_t)vlapic->vcpu->id;

	return vlapic_x2apic(vlapic) ? id : id << 24;
}

/* x2APIC LDR: cluster (ID[19:4]) in 31:16, one bit (ID[3:0]) in 15:0. */
static uint32_t
x2apic_ldr(uint32_t id)
{
	return ((id & 0xffff0) << 12) | (1u << (id & 0xf));
}

static int
highest_bit(const uint32_t reg[8])
{
	for (int i = 7; i >= 0; i--)
		if (reg[i] != 0)
			return i * 32 + 31 - __builtin_clz(reg[i]);
	return -1;
}

static bool
test_bit(const uint32_t reg[8], int v)
{
	return (reg[v / 32] >> (v % 32)) & 1;
}

static void
set_bit(uint32_t reg[8], int v, bool on)
{
	if (on)
		reg[v / 32] |= 1u << (v % 32);
	else
		reg[v / 32] &= ~(1u << (v % 32));
}

/* PPR from TPR and the highest in-service vector (SDM 10.8.3.1). */
static uint32_t
vlapic_ppr(const struct vlapic *vlapic)
{
	int isrv = highest_bit(vlapic->isr);
	uint32_t isr_prio = isrv < 0 ? 0 : PRIO(isrv);

	if (PRIO(vlapic->tpr) >= isr_prio)
		return vlapic->tpr;
	return isr_prio << 4;
}

/* APR (SDM 10.6.2.1, xAPIC only): which of TPR, ISRV, IRRV dominates. */
static uint32_t
vlapic_apr(const struct vlapic *vlapic)
{
	int isrv = highest_bit(vlapic->isr), irrv = highest_bit(vlapic->irr);
	uint32_t isr_prio = isrv < 0 ? 0 : PRIO(isrv);
	uint32_t irr_prio = irrv < 0 ? 0 : PRIO(irrv);

	if (PRIO(vlapic->tpr) >= irr_prio && PRIO(vlapic->tpr) > isr_prio)
		return vlapic->tpr;
	return (isr_prio > irr_prio ? isr_prio : irr_prio) << 4;
}

static void
vlapic_set_error(struct vlapic *vlapic, uint32_t bits, struct vlapic_post *post)
{
	vlapic->esr_pending |= bits;
	/* An illegal error-LVT vector must not recurse. */
	if (vlapic->esr_firing)
		return;
	vlapic->esr_firing = true;
	vlapic_fire_lvt(vlapic, LVT_ERROR, post);
	vlapic->esr_firing = false;
}

/*
 * A fixed interrupt arrives: into IRR (with its trigger mode in TMR),
 * unless the APIC is software-disabled (bhyve drops it) or the vector is
 * one of the reserved 0-15 (SDM: "receive illegal vector").
 */
static void
vlapic_set_intr_ready(struct vlapic *vlapic, int vector, bool level,
		      struct vlapic_post *post)
{
	if (!vlapic_sw_enabled(vlapic))
		return;
	if (vector < 16) {
		vlapic_set_error(vlapic, APIC_ESR_RECV_ILLEGAL, post);
		return;
	}
	set_bit(vlapic->irr, vector, true);
	set_bit(vlapic->tmr, vector, level);
	post->notify = true;
}

void
vlapic_fire_lvt(struct vlapic *vlapic, int lvt, struct vlapic_post *post)
{
	uint32_t val = vlapic->lvt[lvt];
	uint32_t mode = val & APIC_LVT_DM;
	int vector = (int)(val & APIC_LVT_VECTOR);

	if (val & APIC_LVT_M)
		return;
	/* The timer and error entries have no delivery mode: fixed. */
	if (lvt == LVT_TIMER || lvt == LVT_ERROR)
		mode = APIC_LVT_DM_FIX;
	switch (mode) {
	case APIC_LVT_DM_FIX:
		if (vector < 16) {
			vlapic_set_error(vlapic, APIC_ESR_SEND_ILLEGAL, post);
			return;
		}
		vlapic_set_intr_ready(vlapic, vector, false, post);
		break;
	case APIC_LVT_DM_NMI:
		post->nmi = true;
		break;
	case APIC_LVT_DM_EXT:
		post->extint = true;
		break;
	default:
		break; /* SMI, INIT: not for an LVT entry of ours */
	}
}

static void
vlapic_mask_lvts(struct vlapic *vlapic)
{
	for (int i = 0; i < LVT_COUNT; i++)
		vlapic->lvt[i] |= APIC_LVT_M;
}

/*
 * The state after RESET or INIT, and after a disable through
 * IA32_APIC_BASE (SDM 10.4.7.1): everything clear, LVTs masked, the APIC
 * software-disabled.  IA32_APIC_BASE and the ID stay.
 */
static void
vlapic_reset(struct vlapic *vlapic)
{
	vlapic->tpr = 0;
	vlapic->ldr = vlapic_x2apic(vlapic) ? x2apic_ldr(vlapic_id(vlapic)) : 0;
	vlapic->dfr = APIC_DFR_FLAT;
	vlapic->svr = APIC_SVR_VECTOR;
	vlapic->esr = vlapic->esr_pending = 0;
	vlapic->icr_lo = vlapic->icr_hi = 0;
	for (int i = 0; i < LVT_COUNT; i++)
		vlapic->lvt[i] = APIC_LVT_M;
	memset(vlapic->isr, 0, sizeof(vlapic->isr));
	memset(vlapic->tmr, 0, sizeof(vlapic->tmr));
	memset(vlapic->irr, 0, sizeof(vlapic->irr));
	vlapic_timer_reset(vlapic);
}

/* TPR from CR8, which the guest may have moved without an exit. */
static void
vlapic_tpr_from_cr8(struct vlapic *vlapic)
{
	uint64_t cr8;

	if (vlapic->vm->engine->getreg == NULL ||
	    vm_get_register(vlapic->vcpu, VM_REG_GUEST_CR8, &cr8) != 0)
		return;
	/* MOV to CR8 clears TPR[3:0]; leave them while CR8 is unchanged. */
	if ((cr8 & 0xf) != PRIO(vlapic->tpr))
		vlapic->tpr = (uint32_t)(cr8 & 0xf) << 4;
}

static void
vlapic_set_tpr(struct vlapic *vlapic, uint32_t tpr)
{
	vlapic->tpr = tpr & 0xff;
	if (vlapic->vm->engine->setreg != NULL)
		vm_set_register(vlapic->vcpu, VM_REG_GUEST_CR8,
				PRIO(tpr & 0xff));
}

void
vlapic_sync_tpr(struct vcpu *vcpu)
{
	struct vlapic *vlapic = vcpu->vlapic;

	if (vlapic == NULL)
		return;
	pthread_mutex_lock(&vlapic->mtx);
	vlapic_tpr_from_cr8(vlapic);
	pthread_mutex_unlock(&vlapic->mtx);
}

/* EOI: retire the highest in-service vector (SDM 10.8.5). */
static void
vlapic_eoi(struct vlapic *vlapic, struct vlapic_post *post)
{
	int vector = highest_bit(vlapic->isr);

	if (vector < 0)
		return; /* no interrupt in service: ignored */
	set_bit(vlapic->isr, vector, false);
	/*
	 * A level-triggered vector's EOI goes to the I/O APIC, unless the
	 * guest suppressed the broadcast (SVR bit 12, SDM 10.8.5): it then
	 * writes the I/O APIC's EOI register itself.
	 */
	if (test_bit(vlapic->tmr, vector) &&
	    !(vlapic->svr & APIC_SVR_EOI_SUPPRESS))
		post->eoi_vector = vector;
	/* A lower-priority vector may now be deliverable. */
	if (highest_bit(vlapic->irr) >= 0)
		post->notify = true;
}

static void
vlapic_write_lvt(struct vlapic *vlapic, int lvt, uint32_t val)
{
	uint32_t old = vlapic->lvt[lvt];
	uint32_t mask = APIC_LVT_M | APIC_LVT_VECTOR;

	switch (lvt) {
	case LVT_TIMER:
		mask |= APIC_LVTT_MODE;
		break;
	case LVT_ERROR:
		break;
	case LVT_LINT0:
	case LVT_LINT1:
		mask |= APIC_LVT_TM | APIC_LVT_IIPP | APIC_LVT_DM;
		break;
	default:
		mask |= APIC_LVT_DM;
		break;
	}
	val &= mask;
	/* Software-disabled: the mask bits stay set (SDM 10.4.7.2). */
	if (!vlapic_sw_enabled(vlapic))
		val |= APIC_LVT_M;
	vlapic->lvt[lvt] = val;
	if (lvt == LVT_TIMER)
		vlapic_timer_lvt_changed(vlapic, old);
}

/*
 * The ICR was written: the message goes out once the lock is dropped.
 * Delivery is immediate, so the delivery-status bit always reads idle.
 */
static void
vlapic_icr_send(struct vlapic *vlapic, struct vlapic_post *post)
{
	uint32_t lo = vlapic->icr_lo;
	int vector = (int)(lo & APIC_ICR_VECTOR);
	int mode = (int)((lo & APIC_ICR_DELMODE) >> 8);

	if ((mode == APIC_DELMODE_FIXED || mode == APIC_DELMODE_LOWPRI) &&
	    vector < 16) {
		vlapic_set_error(vlapic, APIC_ESR_SEND_ILLEGAL, post);
		return;
	}
	/* INIT level de-assert: an old arbitration-ID sync, nothing here. */
	if (mode == APIC_DELMODE_INIT && !(lo & APIC_ICR_LEVEL))
		return;
	post->ipi = true;
	post->ipi_level = (lo & APIC_ICR_TRIGGER) != 0;
	post->ipi_dest =
	    vlapic_x2apic(vlapic) ? vlapic->icr_hi : vlapic->icr_hi >> 24;
	post->ipi_phys = !(lo & APIC_ICR_LOGICAL);
	post->ipi_delmode = mode;
	post->ipi_vector = vector;
	post->ipi_shorthand = lo & APIC_ICR_SHORTHAND;
}

/*
 * Read the register at xAPIC offset 'off' (x2: through its MSR).
 * Returns -1 for a register that does not exist in that mode, or is
 * write-only there.
 */
static int
vlapic_read(struct vlapic *vlapic, uint32_t off, bool x2, uint64_t *val)
{
	*val = 0;
	switch (off) {
	case APIC_OFF_ID:
		*val = vlapic_id(vlapic);
		break;
	case APIC_OFF_VER:
		*val = VLAPIC_VERSION | (uint32_t)(LVT_COUNT - 1) << 16 |
		       APIC_VER_EOI_SUPPRESS;
		break;
	case APIC_OFF_TPR:
		*val = vlapic->tpr;
		break;
	case APIC_OFF_APR:
		if (x2)
			return -1;
		*val = vlapic_apr(vlapic);
		break;
	case APIC_OFF_PPR:
		*val = vlapic_ppr(vlapic);
		break;
	case APIC_OFF_EOI:
	case APIC_OFF_RRD:
		if (x2)
			return -1;
		break;
	case APIC_OFF_LDR:
		*val = vlapic->ldr;
		break;
	case APIC_OFF_DFR:
		if (x2)
			return -1;
		*val = vlapic->dfr;
		break;
	case APIC_OFF_SVR:
		*val = vlapic->svr;
		break;
	case APIC_OFF_ISR ... APIC_OFF_ISR + 0x70:
		*val = vlapic->isr[(off - APIC_OFF_ISR) >> 4];
		break;
	case APIC_OFF_TMR ... APIC_OFF_TMR + 0x70:
		*val = vlapic->tmr[(off - APIC_OFF_TMR) >> 4];
		break;
	case APIC_OFF_IRR ... APIC_OFF_IRR + 0x70:
		*val = vlapic->irr[(off - APIC_OFF_IRR) >> 4];
		break;
	case APIC_OFF_ESR:
		*val = vlapic->esr;
		break;
	case APIC_OFF_CMCI:
		*val = vlapic->lvt[LVT_CMCI];
		break;
	case APIC_OFF_ICR_LO:
		*val = vlapic->icr_lo;
		if (x2)
			*val |= (uint64_t)vlapic->icr_hi << 32;
		break;
	case APIC_OFF_ICR_HI:
		if (x2)
			return -1;
		*val = vlapic->icr_hi;
		break;
	case APIC_OFF_TIMER ... APIC_OFF_ERROR:
		*val = vlapic->lvt[LVT_TIMER + ((off - APIC_OFF_TIMER) >> 4)];
		break;
	case APIC_OFF_TICR:
		*val = vlapic->timer_icr;
		break;
	case APIC_OFF_TCCR:
		*val = vlapic_timer_ccr(vlapic);
		break;
	case APIC_OFF_TDCR:
		*val = vlapic->timer_dcr;
		break;
	default:
		return -1;
	}
	return 0;
}

/*
 * Write the register at xAPIC offset 'off'.  xAPIC ignores writes to
 * read-only registers; x2APIC answers them, reserved bits and missing
 * registers with #GP (returns -1).
 */
static int
vlapic_write(struct vlapic *vlapic, uint32_t off, uint64_t val, bool x2,
	     struct vlapic_post *post)
{
	uint32_t v32 = (uint32_t)val;

	if (x2 && off != APIC_OFF_ICR_LO && (val >> 32) != 0)
		return -1;
	switch (off) {
	case APIC_OFF_TPR:
		vlapic_set_tpr(vlapic, v32);
		break;
	case APIC_OFF_EOI:
		if (x2 && val != 0)
			return -1;
		vlapic_eoi(vlapic, post);
		break;
	case APIC_OFF_LDR:
		if (x2)
			return -1; /* derived from the ID */
		vlapic->ldr = v32 & 0xff000000;
		break;
	case APIC_OFF_DFR:
		if (x2)
			return -1;
		vlapic->dfr = (v32 & 0xf0000000) | 0x0fffffff;
		break;
	case APIC_OFF_SVR:
		vlapic->svr = v32 & (APIC_SVR_VECTOR | APIC_SVR_ENABLE |
				     APIC_SVR_FOCUS | APIC_SVR_EOI_SUPPRESS);
		if (!vlapic_sw_enabled(vlapic))
			vlapic_mask_lvts(vlapic);
		break;
	case APIC_OFF_ESR:
		if (x2 && val != 0)
			return -1;
		/* A write latches the errors since the last one. */
		vlapic->esr = vlapic->esr_pending;
		vlapic->esr_pending = 0;
		break;
	case APIC_OFF_CMCI:
		vlapic_write_lvt(vlapic, LVT_CMCI, v32);
		break;
	case APIC_OFF_TIMER ... APIC_OFF_ERROR:
		vlapic_write_lvt(vlapic,
				 LVT_TIMER + (int)((off - APIC_OFF_TIMER) >> 4),
				 v32);
		break;
	case APIC_OFF_ICR_LO:
		vlapic->icr_lo = v32 & (APIC_ICR_VECTOR | APIC_ICR_DELMODE |
					APIC_ICR_LOGICAL | APIC_ICR_LEVEL |
					APIC_ICR_TRIGGER | APIC_ICR_SHORTHAND);
		if (x2)
			vlapic->icr_hi = (uint32_t)(val >> 32);
		vlapic_icr_send(vlapic, post);
		break;
	case APIC_OFF_ICR_HI:
		if (x2)
			return -1;
		vlapic->icr_hi = v32 & 0xff000000;
		break;
	case APIC_OFF_TICR:
		vlapic_timer_set_icr(vlapic, v32);
		break;
	case APIC_OFF_TDCR:
		vlapic_timer_set_dcr(vlapic, v32 & 0xb);
		break;
	case APIC_OFF_SELF:
		if (!x2)
			return -1;
		if (val & ~0xffULL)
			return -1;
		/* As an ICR write: fixed, edge, to self. */
		vlapic->icr_lo = APIC_DEST_SELF | v32;
		vlapic_icr_send(vlapic, post);
		break;
	case APIC_OFF_ID:
	case APIC_OFF_VER:
	case APIC_OFF_PPR:
	case APIC_OFF_ISR ... APIC_OFF_IRR + 0x70:
	case APIC_OFF_TCCR:
		if (x2)
			return -1;
		break; /* read-only: ignored (the ID is fixed, as bhyve's) */
	case APIC_OFF_APR:
	case APIC_OFF_RRD:
		if (x2)
			return -1;
		break;
	default:
		return -1;
	}
	return 0;
}

/* ---- message delivery ---------------------------------------------- */

void
vlapic_notify(struct vcpu *vcpu, const struct vlapic_post *post)
{
	if (post->nmi)
		vm_inject_nmi(vcpu);
	if (post->extint)
		vm_inject_extint(vcpu);
	if (post->notify)
		vcpu_notify_event(vcpu);
}

/* Does the message's destination name this APIC? (SDM 10.6.2) */
static bool
vlapic_is_dest(struct vlapic *vlapic, uint32_t dest, bool phys)
{
	uint32_t id = (uint32_t)vlapic->vcpu->id, ldr, d8 = dest & 0xff;
	bool match;

	pthread_mutex_lock(&vlapic->mtx);
	ldr = vlapic->ldr;
	if (!vlapic_hw_enabled(vlapic)) {
		match = false;
	} else if (vlapic_x2apic(vlapic)) {
		if (dest == 0xffffffff)
			match = true;
		else if (phys)
			match = dest == id;
		else
			match = (dest >> 16) == (ldr >> 16) &&
				(dest & ldr & 0xffff) != 0;
	} else if (dest > 0xff && dest != 0xffffffff) {
		match = false; /* an x2APIC ID no xAPIC can have */
	} else if (d8 == 0xff) {
		match = true; /* broadcast, physical or logical */
	} else if (phys) {
		match = d8 == id;
	} else if (vlapic->dfr == APIC_DFR_FLAT) {
		match = ((ldr >> 24) & d8) != 0;
	} else {
		match = (d8 >> 4) == (ldr >> 28) && ((ldr >> 24) & d8 & 0xf);
	}
	pthread_mutex_unlock(&vlapic->mtx);
	return match;
}

/* One message to one APIC; called with no lock held. */
static void
vlapic_deliver_one(struct vlapic *vlapic, bool level, int delmode, int vector)
{
	struct vlapic_post post = { .eoi_vector = -1 };

	switch (delmode) {
	case APIC_DELMODE_FIXED:
	case APIC_DELMODE_LOWPRI:
		pthread_mutex_lock(&vlapic->mtx);
		if (vlapic_hw_enabled(vlapic))
			vlapic_set_intr_ready(vlapic, vector, level, &post);
		pthread_mutex_unlock(&vlapic->mtx);
		break;
	case APIC_DELMODE_NMI:
		post.nmi = true;
		break;
	case APIC_DELMODE_EXTINT:
		/* A message, not the LINT0 pin: LINT0's mask does not apply. */
		pthread_mutex_lock(&vlapic->mtx);
		vlapic->extint_msg = true;
		pthread_mutex_unlock(&vlapic->mtx);
		post.extint = true;
		break;
	case APIC_DELMODE_INIT:
		/*
		 * INIT resets the APIC (ID and IA32_APIC_BASE stay) and parks
		 * the vCPU until a SIPI (vm_vcpu_init_signal(), vmm.c).
		 */
		pthread_mutex_lock(&vlapic->mtx);
		vlapic_reset(vlapic);
		pthread_mutex_unlock(&vlapic->mtx);
		vm_vcpu_init_signal(vlapic->vcpu);
		break;
	case APIC_DELMODE_SIPI:
		vm_vcpu_sipi(vlapic->vcpu, vector);
		break;
	default:
		break; /* SMI: no SMM here */
	}
	vlapic_notify(vlapic->vcpu, &post);
}

/*
 * Lowest priority goes to the lowest APIC ID among the destinations:
 * deterministic (the same run replays the same way), which the SDM
 * allows as the APICs' arbitration is model-specific.
 */
void
vlapic_deliver_intr(struct vm *vm, bool level, uint32_t dest, bool phys,
		    int delmode, int vector)
{
	for (int i = 0; i < VM_MAXCPU; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (vcpu == NULL || vcpu->vlapic == NULL ||
		    !vlapic_is_dest(vcpu->vlapic, dest, phys))
			continue;
		vlapic_deliver_one(vcpu->vlapic, level, delmode, vector);
		if (delmode == APIC_DELMODE_LOWPRI)
			break;
	}
}

static void
vlapic_send_ipi(struct vlapic *vlapic, const struct vlapic_post *post)
{
	struct vm *vm = vlapic->vm;

	if (post->ipi_shorthand == APIC_DEST_NONE) {
		vlapic_deliver_intr(vm, post->ipi_level, post->ipi_dest,
				    post->ipi_phys, post->ipi_delmode,
				    post->ipi_vector);
		return;
	}
	for (int i = 0; i < VM_MAXCPU; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (vcpu == NULL || vcpu->vlapic == NULL)
			continue;
		if (post->ipi_shorthand == APIC_DEST_SELF &&
		    vcpu != vlapic->vcpu)
			continue;
		if (post->ipi_shorthand == APIC_DEST_ALL_BUT &&
		    vcpu == vlapic->vcpu)
			continue;
		vlapic_deliver_one(vcpu->vlapic, post->ipi_level,
				   post->ipi_delmode, post->ipi_vector);
	}
}

/*
 * What a register access set off, now that the lock is dropped.  On the
 * vCPU's own thread 'notify' is not needed: it goes through
 * vm_inject_pending() before it enters the guest again.
 */
static void
vlapic_post_run(struct vlapic *vlapic, struct vlapic_post *post)
{
	/*
	 * A level-triggered vector's EOI: the I/O APIC re-checks the pin it
	 * came from (as bhyve's vioapic_process_eoi()).
	 */
	if (post->eoi_vector >= 0)
		vioapic_process_eoi(vlapic->vm, post->eoi_vector);
	if (post->ipi)
		vlapic_send_ipi(vlapic, post);
	post->notify = false;
	vlapic_notify(vlapic->vcpu, post);
}

/* ---- the xAPIC page -------------------------------------------------- */

/* Make sure the page at 'base' exits to vlapic_mmio(). */
int
vlapic_register_page(struct vm *vm, uint64_t base)
{
	for (int i = 0; i < vm->niomems; i++) {
		const struct vm_iomem *r = &vm->iomems[i];

		if (r->fn == vlapic_mmio && base >= r->base &&
		    base - r->base < r->len)
			return 0;
	}
	return vm_register_iomem(vm, base, VLAPIC_PAGE, vlapic_mmio, NULL);
}

/*
 * One range per page serves every vCPU's APIC: each access goes to the
 * APIC of the vCPU that made it.  Where that APIC is not there (disabled,
 * x2APIC mode, its page elsewhere) the page is open bus.
 */
static int
vlapic_mmio(struct vcpu *vcpu, bool write, uint64_t gpa, int bytes,
	    uint64_t *val, void *arg)
{
	struct vlapic *vlapic = vcpu->vlapic;
	struct vlapic_post post = { .eoi_vector = -1 };
	uint32_t off = (uint32_t)(gpa & (VLAPIC_PAGE - 1));
	uint64_t reg;

	(void)arg;
	if (vlapic == NULL) {
		*val = write ? *val : ~0ULL;
		return 0;
	}
	pthread_mutex_lock(&vlapic->mtx);
	if (!vlapic_hw_enabled(vlapic) || vlapic_x2apic(vlapic) ||
	    (gpa & ~(VLAPIC_PAGE - 1)) != (vlapic->apicbase & APICBASE_ADDR)) {
		pthread_mutex_unlock(&vlapic->mtx);
		if (!write)
			*val = ~0ULL;
		return 0;
	}
	vlapic_tpr_from_cr8(vlapic);
	if (write) {
		/* Registers are 32 bits at 16-byte boundaries. */
		if ((off & 0xf) == 0 &&
		    vlapic_write(vlapic, off, (uint32_t)*val, false, &post) !=
			0)
			vlapic_set_error(vlapic, APIC_ESR_ILLEGAL_REG, &post);
	} else {
		if (vlapic_read(vlapic, off & ~0xfu, false, &reg) != 0) {
			vlapic_set_error(vlapic, APIC_ESR_ILLEGAL_REG, &post);
			reg = 0;
		}
		*val = (off & 0xf) < 4 ? (uint32_t)reg >> (8 * (off & 3)) : 0;
	}
	pthread_mutex_unlock(&vlapic->mtx);
	vlapic_post_run(vlapic, &post);
	(void)bytes;
	return 0;
}

/* ---- MSRs -------------------------------------------------------------- */

bool
vlapic_owns_msr(uint32_t msr)
{
	return msr == MSR_APICBASE || msr == MSR_TSCDEADLINE ||
	       (msr >= MSR_X2APIC_BASE && msr <= MSR_X2APIC_LAST);
}

/*
 * IA32_APIC_BASE: the legal mode changes (SDM 10.12.5): disabled <->
 * xAPIC -> x2APIC -> disabled; x2APIC -> xAPIC, disabled -> x2APIC and
 * "x2APIC without enable" are #GP, as are reserved bits.  The BSP flag
 * is read-only.
 */
static int
vlapic_set_apicbase(struct vlapic *vlapic, uint64_t val, bool *moved)
{
	uint64_t old = vlapic->apicbase;
	bool en = val & APICBASE_ENABLED, x2 = val & APICBASE_X2APIC;
	bool was_en = old & APICBASE_ENABLED, was_x2 = old & APICBASE_X2APIC;

	if (val & ~(APICBASE_BSP | APICBASE_X2APIC | APICBASE_ENABLED |
		    APICBASE_ADDR))
		return -1;
	if ((x2 && !en) || (was_x2 && en && !x2) || (!was_en && x2))
		return -1;
	vlapic->apicbase = (val & ~APICBASE_BSP) | (old & APICBASE_BSP);
	*moved = (val & APICBASE_ADDR) != (old & APICBASE_ADDR);
	if (!en) {
		if (was_en)
			vlapic_reset(vlapic);
		return 0;
	}
	if (x2 && !was_x2) {
		/* Into x2APIC: 32-bit ID, LDR from it, no DFR. */
		vlapic->ldr = x2apic_ldr(vlapic_id(vlapic));
		vlapic->dfr = 0;
		vlapic->icr_hi = 0;
	}
	return 0;
}

int
vlapic_rdmsr(struct vcpu *vcpu, uint32_t msr, uint64_t *val)
{
	struct vlapic *vlapic = vcpu->vlapic;
	struct vlapic_post post = { .eoi_vector = -1 };
	int error = 0;

	if (vlapic == NULL || !vlapic_owns_msr(msr))
		return -1;
	pthread_mutex_lock(&vlapic->mtx);
	if (msr == MSR_APICBASE) {
		*val = vlapic->apicbase;
	} else if (msr == MSR_TSCDEADLINE) {
		*val = vlapic_tsc_deadline_read(vlapic);
	} else if (!vlapic_x2apic(vlapic)) {
		error = -1;
	} else {
		vlapic_tpr_from_cr8(vlapic);
		error = vlapic_read(vlapic, (msr - MSR_X2APIC_BASE) << 4, true,
				    val);
	}
	pthread_mutex_unlock(&vlapic->mtx);
	vlapic_post_run(vlapic, &post);
	return error;
}

int
vlapic_wrmsr(struct vcpu *vcpu, uint32_t msr, uint64_t val)
{
	struct vlapic *vlapic = vcpu->vlapic;
	struct vlapic_post post = { .eoi_vector = -1 };
	bool moved = false;
	uint64_t base = 0;
	int error = 0;

	if (vlapic == NULL || !vlapic_owns_msr(msr))
		return -1;
	pthread_mutex_lock(&vlapic->mtx);
	if (msr == MSR_APICBASE) {
		error = vlapic_set_apicbase(vlapic, val, &moved);
		base = vlapic->apicbase & APICBASE_ADDR;
	} else if (msr == MSR_TSCDEADLINE) {
		vlapic_tsc_deadline_write(vlapic, val);
	} else if (!vlapic_x2apic(vlapic)) {
		error = -1;
	} else {
		vlapic_tpr_from_cr8(vlapic);
		error = vlapic_write(vlapic, (msr - MSR_X2APIC_BASE) << 4, val,
				     true, &post);
	}
	pthread_mutex_unlock(&vlapic->mtx);
	/*
	 * A relocated page exits to us as well (no OS is known to move it;
	 * the registry's slots are few, so a failure leaves the page
	 * unreachable rather than the guest stopped).
	 */
	if (moved && error == 0)
		vlapic_register_page(vlapic->vm, base);
	vlapic_post_run(vlapic, &post);
	return error;
}

/* ---- the injection point's view --------------------------------------- */

int
vlapic_pending_intr(struct vcpu *vcpu)
{
	struct vlapic *vlapic = vcpu->vlapic;
	int vector = -1;

	if (vlapic == NULL)
		return -1;
	pthread_mutex_lock(&vlapic->mtx);
	if (vlapic_hw_enabled(vlapic)) {
		vector = highest_bit(vlapic->irr);
		if (vector >= 0 && PRIO(vector) <= PRIO(vlapic_ppr(vlapic)))
			vector = -1;
	}
	pthread_mutex_unlock(&vlapic->mtx);
	return vector;
}

void
vlapic_intr_accepted(struct vcpu *vcpu, int vector)
{
	struct vlapic *vlapic = vcpu->vlapic;

	if (vlapic == NULL || vector < 0 || vector > 255)
		return;
	pthread_mutex_lock(&vlapic->mtx);
	set_bit(vlapic->irr, vector, false);
	set_bit(vlapic->isr, vector, true);
	pthread_mutex_unlock(&vlapic->mtx);
}

bool
vlapic_accepts_extint(struct vcpu *vcpu)
{
	struct vlapic *vlapic = vcpu->vlapic;
	bool accepts;

	if (vlapic == NULL)
		return true;
	pthread_mutex_lock(&vlapic->mtx);
	accepts = !vlapic_hw_enabled(vlapic) || vlapic->extint_msg ||
		  (vlapic->lvt[LVT_LINT0] & (APIC_LVT_M | APIC_LVT_DM)) ==
		      APIC_LVT_DM_EXT;
	pthread_mutex_unlock(&vlapic->mtx);
	return accepts;
}

void
vlapic_extint_accepted(struct vcpu *vcpu)
{
	struct vlapic *vlapic = vcpu->vlapic;

	if (vlapic == NULL)
		return;
	pthread_mutex_lock(&vlapic->mtx);
	vlapic->extint_msg = false;
	pthread_mutex_unlock(&vlapic->mtx);
}

int
vm_lapic_local_irq(struct vcpu *vcpu, int lint)
{
	struct vlapic *vlapic;
	struct vlapic_post post = { .eoi_vector = -1 };

	if (vcpu == NULL || (lint != 0 && lint != 1))
		return EINVAL;
	vlapic = vcpu->vlapic;
	if (vlapic == NULL)
		return ENXIO;
	pthread_mutex_lock(&vlapic->mtx);
	if (!vlapic_hw_enabled(vlapic)) {
		/* Without the APIC, LINT0 is the INTR pin, LINT1 the NMI. */
		if (lint == 0)
			post.extint = true;
		else
			post.nmi = true;
	} else {
		vlapic_fire_lvt(vlapic, lint == 0 ? LVT_LINT0 : LVT_LINT1,
				&post);
	}
	pthread_mutex_unlock(&vlapic->mtx);
	vlapic_notify(vcpu, &post);
	return 0;
}

/* ---- life cycle -------------------------------------------------------- */

int
vlapic_init(struct vcpu *vcpu)
{
	struct vlapic *vlapic;
	int error;

	error = vlapic_register_page(vcpu->vm, VLAPIC_BASE);
	if (error != 0)
		return error;
	vlapic = calloc(1, sizeof(*vlapic));
	if (vlapic == NULL)
		return ENOMEM;
	vlapic->vm = vcpu->vm;
	vlapic->vcpu = vcpu;
	pthread_mutex_init(&vlapic->mtx, NULL);
	vlapic_timer_init(vlapic);
	vlapic->apicbase =
	    VLAPIC_BASE | APICBASE_ENABLED | (vcpu->id == 0 ? APICBASE_BSP : 0);
	vlapic_reset(vlapic);
	/*
	 * rhyve boots kernels without firmware, so it leaves the APIC as a
	 * PC BIOS does (SeaBIOS's smp_setup(); "virtual wire mode" of the
	 * MP specification): software-enabled, LINT0 ExtINT so that the
	 * 8259's INTR reaches the CPU, LINT1 NMI.
	 */
	vlapic->svr = APIC_SVR_ENABLE | APIC_SVR_VECTOR;
	vlapic->lvt[LVT_LINT0] = APIC_LVT_DM_EXT;
	vlapic->lvt[LVT_LINT1] = APIC_LVT_DM_NMI;
	vcpu->vlapic = vlapic;
	return 0;
}

void
vlapic_cleanup(struct vcpu *vcpu)
{
	struct vlapic *vlapic = vcpu->vlapic;

	if (vlapic == NULL)
		return;
	vlapic_timer_cleanup(vlapic);
	pthread_mutex_destroy(&vlapic->mtx);
	free(vlapic);
	vcpu->vlapic = NULL;
}
