/*
 * The local APIC's private state, shared by vlapic.c (registers, delivery)
 * and vlapic_timer.c (the APIC timer and IA32_TSC_DEADLINE), as bhyve's
 * vlapic_priv.h.
 */
#ifndef RHYVE_KMOD_IO_VLAPIC_PRIV_H
#define RHYVE_KMOD_IO_VLAPIC_PRIV_H

#include "vio.h"

/* Register offsets in the xAPIC page; MSR 0x800 + (offset >> 4). */
#define APIC_OFF_ID     0x020
#define APIC_OFF_VER    0x030
#define APIC_OFF_TPR    0x080
#define APIC_OFF_APR    0x090
#define APIC_OFF_PPR    0x0a0
#define APIC_OFF_EOI    0x0b0
#define APIC_OFF_RRD    0x0c0
#define APIC_OFF_LDR    0x0d0
#define APIC_OFF_DFR    0x0e0
#define APIC_OFF_SVR    0x0f0
#define APIC_OFF_ISR    0x100 /* 8 registers, 0x10 apart */
#define APIC_OFF_TMR    0x180
#define APIC_OFF_IRR    0x200
#define APIC_OFF_ESR    0x280
#define APIC_OFF_CMCI   0x2f0
#define APIC_OFF_ICR_LO 0x300
#define APIC_OFF_ICR_HI 0x310
#define APIC_OFF_TIMER  0x320 /* LVT timer .. error, 0x10 apart */
#define APIC_OFF_ERROR  0x370
#define APIC_OFF_TICR   0x380
#define APIC_OFF_TCCR   0x390
#define APIC_OFF_TDCR   0x3e0
#define APIC_OFF_SELF   0x3f0 /* x2APIC SELF IPI (MSR 0x83f) */

/* The LVT entries, in the order of vlapic.lvt[]. */
enum {
	LVT_CMCI,
	LVT_TIMER,
	LVT_THERMAL,
	LVT_PERF,
	LVT_LINT0,
	LVT_LINT1,
	LVT_ERROR,
	LVT_COUNT
};

#define APIC_LVT_VECTOR       0x000000ffu
#define APIC_LVT_DM           0x00000700u
#define APIC_LVT_DM_FIX       0x00000000u
#define APIC_LVT_DM_SMI       0x00000200u
#define APIC_LVT_DM_NMI       0x00000400u
#define APIC_LVT_DM_INIT      0x00000500u
#define APIC_LVT_DM_EXT       0x00000700u
#define APIC_LVT_DS           0x00001000u /* delivery status (read-only) */
#define APIC_LVT_IIPP         0x00002000u
#define APIC_LVT_RIRR         0x00004000u
#define APIC_LVT_TM           0x00008000u
#define APIC_LVT_M            0x00010000u
#define APIC_LVTT_MODE        0x00060000u
#define APIC_LVTT_ONE         0x00000000u
#define APIC_LVTT_PER         0x00020000u
#define APIC_LVTT_TSCDL       0x00040000u

#define APIC_SVR_VECTOR       0x000000ffu
#define APIC_SVR_ENABLE       0x00000100u
#define APIC_SVR_FOCUS        0x00000200u
#define APIC_SVR_EOI_SUPPRESS 0x00001000u /* no EOI broadcast */

/* Version register: EOI-broadcast suppression is supported. */
#define APIC_VER_EOI_SUPPRESS 0x01000000u

#define APIC_ESR_SEND_ILLEGAL 0x20u
#define APIC_ESR_RECV_ILLEGAL 0x40u
#define APIC_ESR_ILLEGAL_REG  0x80u

#define APIC_ICR_VECTOR       0x000000ffu
#define APIC_ICR_DELMODE      0x00000700u
#define APIC_ICR_LOGICAL      0x00000800u
#define APIC_ICR_DS           0x00001000u
#define APIC_ICR_LEVEL        0x00004000u
#define APIC_ICR_TRIGGER      0x00008000u
#define APIC_ICR_SHORTHAND    0x000c0000u
#define APIC_DEST_NONE        0x00000000u
#define APIC_DEST_SELF        0x00040000u
#define APIC_DEST_ALL         0x00080000u
#define APIC_DEST_ALL_BUT     0x000c0000u

#define APIC_DELMODE_FIXED    0
#define APIC_DELMODE_LOWPRI   1
#define APIC_DELMODE_SMI      2
#define APIC_DELMODE_NMI      4
#define APIC_DELMODE_INIT     5
#define APIC_DELMODE_SIPI     6
#define APIC_DELMODE_EXTINT   7

#define APIC_DFR_FLAT         0xffffffffu
#define APIC_DFR_CLUSTER      0x0fffffffu

/* IA32_APIC_BASE */
#define APICBASE_BSP     0x100ULL
#define APICBASE_X2APIC  0x400ULL
#define APICBASE_ENABLED 0x800ULL
#define APICBASE_ADDR    0x000ffffffffff000ULL /* 52-bit physical */

/*
 * The timer's input clock: bhyve's 128 Mi Hz (2^27 Hz, "in the ballpark
 * of contemporary hardware"), which guests calibrate against the PIT,
 * the PM timer or CPUID leaf 0x15 anyway.
 */
#define VLAPIC_BUS_FREQ (128ULL * 1024 * 1024)

/*
 * What a register access decided that has to happen after the vlapic's
 * lock is dropped: notifying vCPUs takes their locks, and the I/O APIC
 * (on an EOI) and other local APICs (an IPI) take their own.
 */
struct vlapic_post {
	bool notify;    /* this vCPU has a new interrupt in IRR */
	bool nmi;       /* raise an NMI on this vCPU */
	bool extint;    /* the PIC's INTR through LINT0 */
	int eoi_vector; /* a level-triggered vector's EOI, or -1 */
	bool ipi;       /* send the message below */
	bool ipi_level;
	uint32_t ipi_dest;
	bool ipi_phys;
	int ipi_delmode;
	int ipi_vector;
	uint32_t ipi_shorthand;
};

struct vlapic {
	struct vm *vm;
	struct vcpu *vcpu;
	pthread_mutex_t mtx; /* everything below */
	uint64_t apicbase;   /* IA32_APIC_BASE */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending; /* ESR and what the next write latches */
	bool esr_firing;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LVT_COUNT];
	uint32_t isr[8], tmr[8], irr[8];
	bool extint_msg; /* an ExtINT message waits for the PIC's INTA */
	/* The timer (vlapic_timer.c). */
	uint32_t timer_icr, timer_dcr;
	uint32_t timer_div;   /* divider latched when the count was loaded */
	bool timer_armed;     /* a count (or a deadline) is running */
	uint64_t timer_start; /* vm_clock_ns() when the count was loaded */
	uint64_t timer_next;  /* expiry the callout waits for */
	uint64_t tsc_deadline;
	uint64_t tsc_hz; /* the guest TSC's rate, 0 until asked */
	struct callout callout;
};

static inline bool
vlapic_x2apic(const struct vlapic *vlapic)
{
	return (vlapic->apicbase & APICBASE_X2APIC) != 0;
}

static inline bool
vlapic_hw_enabled(const struct vlapic *vlapic)
{
	return (vlapic->apicbase & APICBASE_ENABLED) != 0;
}

static inline bool
vlapic_sw_enabled(const struct vlapic *vlapic)
{
	return (vlapic->svr & APIC_SVR_ENABLE) != 0;
}

/* vlapic.c, with the lock held: raise an LVT entry's interrupt. */
void vlapic_fire_lvt(struct vlapic *vlapic, int lvt, struct vlapic_post *post);

/* With no lock held: raise what 'post' says on 'vcpu'. */
void vlapic_notify(struct vcpu *vcpu, const struct vlapic_post *post);

/* vlapic.c, no lock held: make the xAPIC page at 'base' exit to us. */
int vlapic_register_page(struct vm *vm, uint64_t base);

/* vlapic_timer.c, all with the lock held. */
void vlapic_timer_init(struct vlapic *vlapic);
void vlapic_timer_reset(struct vlapic *vlapic);
void vlapic_timer_cleanup(struct vlapic *vlapic);
uint32_t vlapic_timer_ccr(struct vlapic *vlapic);
void vlapic_timer_set_icr(struct vlapic *vlapic, uint32_t icr);
void vlapic_timer_set_dcr(struct vlapic *vlapic, uint32_t dcr);
/* The timer LVT changed from 'old': a mode change disarms. */
void vlapic_timer_lvt_changed(struct vlapic *vlapic, uint32_t old);
uint64_t vlapic_tsc_deadline_read(struct vlapic *vlapic);
/*
 * A checkpoint's timer (vlapic_state.c): the count loaded 'elapsed' ns
 * ago, and if 'armed' the next expiry 'remaining' ns from now.
 */
void vlapic_timer_restore(struct vlapic *vlapic, uint64_t elapsed, bool armed,
			  uint64_t remaining);
void vlapic_tsc_deadline_write(struct vlapic *vlapic, uint64_t deadline);

#endif
