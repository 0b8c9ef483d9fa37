/*
 * SMP bring-up for the test guests (lib/smp.c, linked into the guests
 * that use it): the BSP starts APs with INIT-SIPI-SIPI through its local
 * APIC's ICR, as an OS does.  Each AP runs a real-mode trampoline copied
 * below 1 MiB, enters long mode straight from real mode with the BSP's
 * GDT, IDT and page tables, and calls the guest's ap_main() on its own
 * stack (chosen by APIC ID, so an AP started again reuses its own).
 * When ap_main() returns, the AP does "cli; hlt" for good.
 */
#ifndef RHYVE_GUEST_SMP_H
#define RHYVE_GUEST_SMP_H

#include "guest.h"
#include "pc.h"

#define SMP_MAX_CPUS  8
#define SMP_TRAMP_GPA 0x10000UL /* SIPI vector 0x10 */

#define APIC_ID       0x020
#define APIC_EOI      0x0b0
#define APIC_LDR      0x0d0
#define APIC_DFR      0x0e0
#define APIC_SVR      0x0f0
#define APIC_ICR_LO   0x300
#define APIC_ICR_HI   0x310

#define ICR_NMI       0x400u
#define ICR_INIT      0x500u
#define ICR_SIPI      0x600u
#define ICR_LOGICAL   0x800u
#define ICR_PENDING   0x1000u
#define ICR_ASSERT    0x4000u
#define SVR_ENABLE    0x100u

/* Defined by the guest: what an AP runs once in long mode. */
void ap_main(void);

static inline uint32_t
apic_id(void)
{
	return apic_read(APIC_ID) >> 24;
}

/* An IPI by physical destination (or logical, with ICR_LOGICAL in lo). */
void smp_send_ipi(uint32_t dest, uint32_t lo);
/* Copy the trampoline below 1 MiB; once, before smp_start_ap(). */
void smp_setup(void);
/* INIT, 10 ms, SIPI, 200 us, SIPI (Intel SDM 8.4.4.1) to AP 'id'. */
void smp_start_ap(uint32_t id);
/* Wait (up to 2 s of PM time) for *p to reach v. */
bool smp_wait_for(volatile uint32_t *p, uint32_t v);

#endif
