/*
 * The platform devices kmod owns (bhyve's sys/amd64/vmm/io), one per
 * file.  They are created with the VM, emulate their ports inside
 * vm_run(), run their timers on the VM's callouts and raise interrupts
 * only by marking them pending and notifying vCPUs: the interrupt itself
 * enters the guest in vm_inject_pending().
 */
#ifndef RHYVE_KMOD_IO_VIO_H
#define RHYVE_KMOD_IO_VIO_H

#include "../vmm_impl.h"

/* vatpic.c: the 8259A pair (0x20-0x21, 0xa0-0xa1, ELCR 0x4d0-0x4d1). */
int vatpic_init(struct vm *vm);
void vatpic_cleanup(struct vm *vm);
int vatpic_assert_irq(struct vm *vm, int irq);
int vatpic_deassert_irq(struct vm *vm, int irq);
int vatpic_pulse_irq(struct vm *vm, int irq);
/* The vector the PIC pair presents on INTA, or -1 if none. */
int vatpic_pending_intr(struct vm *vm);
/* The vCPU took 'vector': set ISR, clear IRR, re-evaluate INTR. */
void vatpic_intr_accepted(struct vm *vm, int vector);

/* vatpit.c: the 8254 (0x40-0x43) and the speaker/gate port 0x61. */
int vatpit_init(struct vm *vm);
void vatpit_cleanup(struct vm *vm);

/* vpmtmr.c: the ACPI PM timer, 24-bit at 3.579545 MHz, at port 0x408. */
#define VPMTMR_PORT 0x408
int vpmtmr_init(struct vm *vm);
void vpmtmr_cleanup(struct vm *vm);

/*
 * vrtc.c: the MC146818 RTC and CMOS at 0x70-0x71 (index, data; bytes
 * 0-127) and 0x72-0x73 (bytes 128-255), IRQ8.  The public calls are in
 * vmm.h (vm_rtc_*).
 */
int vrtc_init(struct vm *vm);
void vrtc_cleanup(struct vm *vm);

/*
 * vhpet.c: the HPET, 8 timers with a 64-bit main counter at 10 MHz, 1 KiB
 * of MMIO at VHPET_BASE.
 */
#define VHPET_BASE 0xfed00000ULL
#define VHPET_SIZE 0x400ULL
int vhpet_init(struct vm *vm);
void vhpet_cleanup(struct vm *vm);
/*
 * Legacy replacement routing is on (timers 0 and 1 own IRQ0 and IRQ8):
 * the RTC's IRQ8 (and the PIT's IRQ0) are then not connected.
 */
bool vhpet_legacy_routing(struct vm *vm);

/*
 * vlapic.c: the local APIC of each vCPU, created with the vCPU.  The xAPIC
 * page sits at the address in IA32_APIC_BASE (VLAPIC_BASE after reset);
 * in x2APIC mode the registers are MSRs 0x800-0x8ff, which the engine
 * hands to kmod as RDMSR/WRMSR exits, as are IA32_APIC_BASE (0x1b) and
 * IA32_TSC_DEADLINE (0x6e0).
 */
#define VLAPIC_BASE 0xfee00000ULL
int vlapic_init(struct vcpu *vcpu);
void vlapic_cleanup(struct vcpu *vcpu);
/*
 * vlapic_state.c: the local APIC's state in a checkpoint (a CKPT_DEVICE
 * "vlapic" per vCPU, docs/trace-format.md).  vlapic_get_state() writes
 * VLAPIC_STATE_SIZE bytes (0: the vCPU has no APIC); vlapic_set_state()
 * loads them (EINVAL: not a state of this layout); vlapic_state_matches()
 * compares what the guest programs with a recorded state ('why' says
 * what differs).
 */
#define VLAPIC_STATE_NAME "vlapic"
#define VLAPIC_STATE_SIZE 208
size_t vlapic_get_state(struct vcpu *vcpu, uint8_t *buf);
int vlapic_set_state(struct vcpu *vcpu, const uint8_t *buf, size_t len);
bool vlapic_state_matches(struct vcpu *vcpu, const uint8_t *rec, size_t len,
			  char *why, size_t whylen);
/*
 * An interrupt message to the local APICs it names, as bhyve's
 * vlapic_deliver_intr(): from the I/O APIC, an MSI or an IPI.  'dest' is
 * a physical APIC ID ('phys') or a logical destination (flat or cluster,
 * as each target's DFR says); 0xff (xAPIC) / 0xffffffff (x2APIC) is a
 * broadcast.  'delmode' is the APIC_DELMODE_* value of ICR bits 10:8.
 */
void vlapic_deliver_intr(struct vm *vm, bool level, uint32_t dest, bool phys,
			 int delmode, int vector);
/*
 * For vm_inject_pending(): the vector the APIC would present now (highest
 * IRR above PPR), or -1; and the vCPU took it (IRR -> ISR).
 */
int vlapic_pending_intr(struct vcpu *vcpu);
void vlapic_intr_accepted(struct vcpu *vcpu, int vector);
/*
 * Take the TPR from CR8, where a 64-bit guest moves it without an exit;
 * on the vCPU's own thread, before interrupts are looked at.
 */
void vlapic_sync_tpr(struct vcpu *vcpu);
/*
 * Does the PIC's INTR reach the vCPU (LINT0 ExtINT, APIC disabled, or an
 * ExtINT message from the I/O APIC or an IPI waiting)?  And the vCPU ran
 * the PIC's INTA, which ends such a message.
 */
bool vlapic_accepts_extint(struct vcpu *vcpu);
void vlapic_extint_accepted(struct vcpu *vcpu);
/* x2APIC/APIC MSRs: 0, or -1 for an access the CPU answers with #GP. */
bool vlapic_owns_msr(uint32_t msr);
int vlapic_rdmsr(struct vcpu *vcpu, uint32_t msr, uint64_t *val);
int vlapic_wrmsr(struct vcpu *vcpu, uint32_t msr, uint64_t val);

/*
 * vioapic.c: the I/O APIC, 24 pins, MMIO at VIOAPIC_BASE.  Its messages go
 * to vlapic_deliver_intr(); the local APICs report EOIs of level-triggered
 * vectors with vioapic_process_eoi().  The public pin calls are in vmm.h.
 */
#define VIOAPIC_BASE 0xfec00000ULL
#define VIOAPIC_SIZE 0x1000ULL
#define VIOAPIC_PINS 24
int vioapic_init(struct vm *vm);
void vioapic_cleanup(struct vm *vm);
void vioapic_process_eoi(struct vm *vm, int vector);

#endif
