/*
 * kmod/io/vlapic.c and vlapic_timer.c, the local APIC, on a VM without an
 * engine (fake_vm.h) with four vCPUs: registers through the xAPIC page
 * and the x2APIC MSRs, IA32_APIC_BASE mode changes, message delivery
 * between APICs (physical, logical flat and cluster, lowest priority,
 * shorthands, NMI, INIT, SIPI), TPR/PPR/EOI, LINT0/LINT1, the timer on
 * the VM clock, and the checkpoint state (vlapic_state.c).  No /dev/kvm.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "cunit.h"
#include "fake_vm.h"

#define NCPU      4

#define ID        0x020
#define VER       0x030
#define TPR       0x080
#define PPR       0x0a0
#define EOI       0x0b0
#define LDR       0x0d0
#define DFR       0x0e0
#define SVR       0x0f0
#define ISR       0x100
#define IRR       0x200
#define ESR       0x280
#define ICR_LO    0x300
#define ICR_HI    0x310
#define LVTT      0x320
#define LINT0     0x350
#define LINT1     0x360
#define LVTERR    0x370
#define TICR      0x380
#define TCCR      0x390
#define TDCR      0x3e0

#define MASKED    0x10000u
#define LOGICAL   0x800u
#define SELF      0x40000u
#define ALL       0x80000u
#define ALL_BUT   0xc0000u
#define DM_LOWPRI 0x100u
#define DM_NMI    0x400u
#define DM_INIT   0x500u
#define DM_SIPI   0x600u
#define LEVEL     0x4000u
#define BUS_HZ    (128ULL * 1024 * 1024)
#define APICBASE  0x1b
#define BASE_BSP  0x100ULL
#define BASE_EXT  0x400ULL
#define BASE_EN   0x800ULL

static struct vm *
lapic_vm(void)
{
	struct vm *vm = fake_vm_create();

	for (int i = 1; i < NCPU; i++) {
		struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

		if (vcpu == NULL)
			abort();
		vcpu->vm = vm;
		vcpu->id = i;
		vcpu->sipi_vector = -1;
		pthread_mutex_init(&vcpu->mtx, NULL);
		pthread_cond_init(&vcpu->cv, NULL);
		callout_init(vm, &vcpu->window_kick);
		vm->vcpus[i] = vcpu;
	}
	vm->vcpus[0]->sipi_vector = -1;
	for (int i = 0; i < NCPU; i++)
		if (vlapic_init(vm->vcpus[i]) != 0)
			abort();
	return vm;
}

static void
lapic_vm_destroy(struct vm *vm)
{
	vm_callouts_cleanup(vm);
	for (int i = 0; i < NCPU; i++)
		vlapic_cleanup(vm->vcpus[i]);
	for (int i = 1; i < NCPU; i++) {
		pthread_mutex_destroy(&vm->vcpus[i]->mtx);
		pthread_cond_destroy(&vm->vcpus[i]->cv);
		free(vm->vcpus[i]);
		vm->vcpus[i] = NULL;
	}
	fake_vm_destroy(vm);
}

static uint32_t
rd(struct vm *vm, int cpu, uint32_t off)
{
	struct vm_exit ex;

	memset(&ex, 0, sizeof(ex));
	ex.exitcode = VM_EXITCODE_MMIO;
	ex.u.mmio.gpa = VLAPIC_BASE + off;
	ex.u.mmio.bytes = 4;
	CU_ASSERT_EQUAL(vm_iomem_emulate(vm->vcpus[cpu], &ex), 1);
	return (uint32_t)ex.u.mmio.data;
}

static void
wr(struct vm *vm, int cpu, uint32_t off, uint32_t v)
{
	struct vm_exit ex;

	memset(&ex, 0, sizeof(ex));
	ex.exitcode = VM_EXITCODE_MMIO;
	ex.u.mmio.gpa = VLAPIC_BASE + off;
	ex.u.mmio.bytes = 4;
	ex.u.mmio.write = true;
	ex.u.mmio.data = v;
	CU_ASSERT_EQUAL(vm_iomem_emulate(vm->vcpus[cpu], &ex), 1);
}

static bool
irr(struct vm *vm, int cpu, int v)
{
	return (rd(vm, cpu, IRR + (uint32_t)(v / 32) * 0x10) >> (v % 32)) & 1;
}

/* The vector vm_inject_pending() would inject now, taken (IRR -> ISR). */
static int
take(struct vm *vm, int cpu)
{
	int v = vlapic_pending_intr(vm->vcpus[cpu]);

	if (v >= 0)
		vlapic_intr_accepted(vm->vcpus[cpu], v);
	return v;
}

static bool
flag(struct vcpu *vcpu, bool *f)
{
	bool v;

	pthread_mutex_lock(&vcpu->mtx);
	v = *f;
	*f = false;
	pthread_mutex_unlock(&vcpu->mtx);
	return v;
}

static void
test_registers(void)
{
	struct vm *vm = lapic_vm();
	uint64_t v;

	CU_ASSERT_EQUAL(rd(vm, 2, ID), 2u << 24);
	CU_ASSERT_EQUAL(rd(vm, 0, VER), 0x14 | 6u << 16 | 1u << 24);
	CU_ASSERT_EQUAL(rd(vm, 1, SVR), 0x1ff);
	CU_ASSERT_EQUAL(rd(vm, 1, LINT0), 0x700);
	CU_ASSERT_EQUAL(rd(vm, 1, LINT1), 0x400);
	CU_ASSERT_EQUAL(rd(vm, 1, LVTT), MASKED);
	CU_ASSERT_EQUAL(rd(vm, 1, DFR), 0xffffffff);
	CU_ASSERT_EQUAL(vlapic_rdmsr(vm->vcpus[0], APICBASE, &v), 0);
	CU_ASSERT_EQUAL(v, VLAPIC_BASE | BASE_BSP | BASE_EN);
	CU_ASSERT_EQUAL(vlapic_rdmsr(vm->vcpus[1], APICBASE, &v), 0);
	CU_ASSERT_EQUAL(v, VLAPIC_BASE | BASE_EN);
	/* Writable bits only; delivery status and remote IRR read 0. */
	wr(vm, 0, LINT0, 0xffffffff);
	CU_ASSERT_EQUAL(rd(vm, 0, LINT0), 0x1a7ff);
	wr(vm, 0, LVTT, 0xffffffff);
	CU_ASSERT_EQUAL(rd(vm, 0, LVTT), 0x700ff);
	wr(vm, 0, LVTERR, 0xffffffff);
	CU_ASSERT_EQUAL(rd(vm, 0, LVTERR), 0x100ff);
	/*
	 * CMCI, thermal and performance-counter LVTs (no source raises
	 * them here): mask, delivery mode and vector; masked after reset.
	 */
	static const uint32_t lvts[] = { 0x2f0, 0x330, 0x340 };

	for (size_t i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++) {
		uint32_t off = lvts[i];

		CU_ASSERT_EQUAL(rd(vm, 1, off), MASKED);
		wr(vm, 0, off, 0xffffffff);
		CU_ASSERT_EQUAL(rd(vm, 0, off), 0x107ff);
		wr(vm, 0, off, 0x4e1);
		CU_ASSERT_EQUAL(rd(vm, 0, off), 0x4e1);
	}
	/* SVR: vector, enable, focus check and EOI-broadcast suppression. */
	wr(vm, 2, SVR, 0xffffffff);
	CU_ASSERT_EQUAL(rd(vm, 2, SVR), 0x13ff);
	wr(vm, 0, DFR, 0x0);
	CU_ASSERT_EQUAL(rd(vm, 0, DFR), 0x0fffffff);
	wr(vm, 0, TDCR, 0xff);
	CU_ASSERT_EQUAL(rd(vm, 0, TDCR), 0xb);
	/* Software disable masks every LVT, for good. */
	wr(vm, 0, SVR, 0xff);
	CU_ASSERT_EQUAL(rd(vm, 0, LINT1), 0x400 | MASKED);
	wr(vm, 0, LINT1, 0x400);
	CU_ASSERT_EQUAL(rd(vm, 0, LINT1), 0x400 | MASKED);
	/* ESR: errors show after the next write; reserved registers. */
	wr(vm, 0, SVR, 0x1ff);
	wr(vm, 0, ESR, 0);
	(void)rd(vm, 0, 0x3f0);
	CU_ASSERT_EQUAL(rd(vm, 0, ESR), 0);
	wr(vm, 0, ESR, 0);
	CU_ASSERT_EQUAL(rd(vm, 0, ESR), 0x80);
	wr(vm, 0, ESR, 0);
	CU_ASSERT_EQUAL(rd(vm, 0, ESR), 0);
	/* Byte reads see the register's bytes. */
	{
		struct vm_exit ex = { .exitcode = VM_EXITCODE_MMIO };

		ex.u.mmio.gpa = VLAPIC_BASE + ID + 3;
		ex.u.mmio.bytes = 1;
		CU_ASSERT_EQUAL(vm_iomem_emulate(vm->vcpus[3], &ex), 1);
		CU_ASSERT_EQUAL(ex.u.mmio.data, 3);
	}
	lapic_vm_destroy(vm);
}

static void
test_priority(void)
{
	struct vm *vm = lapic_vm();

	/* 0x50 in service; TPR 0x30: PPR 0x50. */
	wr(vm, 0, ICR_LO, SELF | 0x50);
	CU_ASSERT_EQUAL(take(vm, 0), 0x50);
	wr(vm, 0, TPR, 0x30);
	CU_ASSERT_EQUAL(rd(vm, 0, PPR), 0x50);
	wr(vm, 0, ICR_LO, SELF | 0x45);
	wr(vm, 0, ICR_LO, SELF | 0x5f);
	CU_ASSERT_EQUAL(vlapic_pending_intr(vm->vcpus[0]), -1);
	wr(vm, 0, ICR_LO, SELF | 0x61);
	CU_ASSERT_EQUAL(take(vm, 0), 0x61);
	CU_ASSERT_EQUAL(rd(vm, 0, PPR), 0x60);
	/* EOI retires the highest in service first. */
	wr(vm, 0, EOI, 0);
	CU_ASSERT_EQUAL(rd(vm, 0, PPR), 0x50);
	CU_ASSERT_EQUAL(vlapic_pending_intr(vm->vcpus[0]), -1);
	wr(vm, 0, EOI, 0);
	CU_ASSERT_EQUAL(take(vm, 0), 0x5f);
	wr(vm, 0, EOI, 0);
	CU_ASSERT_EQUAL(take(vm, 0), 0x45);
	wr(vm, 0, EOI, 0);
	wr(vm, 0, EOI, 0); /* none in service: ignored */
	CU_ASSERT_EQUAL(rd(vm, 0, PPR), 0x30);
	/* TPR above the vector holds it. */
	wr(vm, 0, TPR, 0x70);
	wr(vm, 0, ICR_LO, SELF | 0x70);
	CU_ASSERT_EQUAL(vlapic_pending_intr(vm->vcpus[0]), -1);
	CU_ASSERT(irr(vm, 0, 0x70));
	wr(vm, 0, TPR, 0x6f);
	CU_ASSERT_EQUAL(take(vm, 0), 0x70);
	/* Illegal vectors: send error at the sender. */
	wr(vm, 0, ICR_LO, SELF | 0x0f);
	wr(vm, 0, ESR, 0);
	CU_ASSERT_EQUAL(rd(vm, 0, ESR), 0x20);
	/* ... receive error at the receiver (an I/O APIC message). */
	vlapic_deliver_intr(vm, false, 1, true, 0, 0x03);
	wr(vm, 1, ESR, 0);
	CU_ASSERT_EQUAL(rd(vm, 1, ESR), 0x40);
	/* A level-triggered message sets TMR. */
	vlapic_deliver_intr(vm, true, 1, true, 0, 0x80);
	CU_ASSERT_EQUAL(rd(vm, 1, 0x180 + 0x40) & 1, 1);
	lapic_vm_destroy(vm);
}

/* Which vCPUs have 'v' in IRR (bit i: vCPU i); clears them. */
static unsigned
got(struct vm *vm, int v)
{
	unsigned mask = 0;

	for (int i = 0; i < NCPU; i++) {
		if (irr(vm, i, v)) {
			mask |= 1u << i;
			CU_ASSERT_EQUAL(take(vm, i), v);
			wr(vm, i, EOI, 0);
		}
	}
	return mask;
}

static void
test_delivery(void)
{
	struct vm *vm = lapic_vm();
	int kicks = atomic_load(&fake_kicks);

	/* Physical, to vCPU 2; the target is notified. */
	wr(vm, 0, ICR_HI, 2u << 24);
	wr(vm, 0, ICR_LO, 0x41);
	CU_ASSERT_EQUAL(rd(vm, 0, ICR_LO), 0x41); /* delivery status idle */
	CU_ASSERT(atomic_load(&fake_kicks) > kicks);
	CU_ASSERT_EQUAL(got(vm, 0x41), 1u << 2);
	/* Physical broadcast; the shorthands. */
	wr(vm, 0, ICR_HI, 0xffu << 24);
	wr(vm, 0, ICR_LO, 0x42);
	CU_ASSERT_EQUAL(got(vm, 0x42), 0xf);
	wr(vm, 1, ICR_LO, ALL_BUT | 0x43);
	CU_ASSERT_EQUAL(got(vm, 0x43), 0xd);
	wr(vm, 1, ICR_LO, ALL | 0x43);
	CU_ASSERT_EQUAL(got(vm, 0x43), 0xf);
	wr(vm, 3, ICR_LO, SELF | 0x43);
	CU_ASSERT_EQUAL(got(vm, 0x43), 0x8);
	/* Logical flat: LDR bits 1, 2, 4, 8. */
	for (int i = 0; i < NCPU; i++)
		wr(vm, i, LDR, (1u << i) << 24);
	wr(vm, 0, ICR_HI, 0x06u << 24);
	wr(vm, 0, ICR_LO, LOGICAL | 0x44);
	CU_ASSERT_EQUAL(got(vm, 0x44), 0x6);
	/* Lowest priority: the lowest APIC ID among them. */
	wr(vm, 0, ICR_LO, LOGICAL | DM_LOWPRI | 0x44);
	CU_ASSERT_EQUAL(got(vm, 0x44), 0x2);
	/* Cluster: clusters 1 (vCPUs 0, 1) and 2 (vCPUs 2, 3). */
	for (int i = 0; i < NCPU; i++) {
		wr(vm, i, DFR, 0x0fffffff);
		wr(vm, i, LDR,
		   (uint32_t)((1 + i / 2) << 4 | 1 << (i % 2)) << 24);
	}
	wr(vm, 0, ICR_HI, 0x23u << 24);
	wr(vm, 0, ICR_LO, LOGICAL | 0x45);
	CU_ASSERT_EQUAL(got(vm, 0x45), 0xc);
	wr(vm, 0, ICR_HI, 0x12u << 24);
	wr(vm, 0, ICR_LO, LOGICAL | 0x45);
	CU_ASSERT_EQUAL(got(vm, 0x45), 0x2);
	/* A software-disabled APIC drops fixed interrupts. */
	wr(vm, 3, SVR, 0xff);
	wr(vm, 0, ICR_LO, ALL | 0x46);
	CU_ASSERT_EQUAL(got(vm, 0x46), 0x7);
	/* ... but takes NMIs. */
	wr(vm, 0, ICR_HI, 3u << 24);
	wr(vm, 0, ICR_LO, DM_NMI);
	CU_ASSERT(flag(vm->vcpus[3], &vm->vcpus[3]->nmi_pending));
	CU_ASSERT(!flag(vm->vcpus[0], &vm->vcpus[0]->nmi_pending));
	/* INIT resets the APIC and parks; a SIPI then carries its vector. */
	wr(vm, 0, ICR_HI, 2u << 24);
	wr(vm, 0, ICR_LO, DM_INIT | LEVEL);
	CU_ASSERT(vm->vcpus[2]->init_pending);
	CU_ASSERT_EQUAL(rd(vm, 2, SVR), 0xff);
	CU_ASSERT_EQUAL(rd(vm, 2, LDR), 0);
	CU_ASSERT_EQUAL(rd(vm, 2, LINT0), MASKED);
	wr(vm, 0, ICR_LO, DM_SIPI | 0x9a);
	CU_ASSERT_EQUAL(vm->vcpus[2]->sipi_vector, 0x9a);
	/* INIT level de-assert does nothing. */
	vm->vcpus[1]->init_pending = false;
	wr(vm, 0, ICR_HI, 1u << 24);
	wr(vm, 0, ICR_LO, DM_INIT);
	CU_ASSERT(!vm->vcpus[1]->init_pending);
	lapic_vm_destroy(vm);
}

static void
test_x2apic(void)
{
	struct vm *vm = lapic_vm();
	struct vcpu *c0 = vm->vcpus[0], *c2 = vm->vcpus[2];
	uint64_t v, base = VLAPIC_BASE | BASE_BSP | BASE_EN;

	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, 0x802, &v), -1); /* xAPIC mode */
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, base | 1), -1);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, base & ~BASE_EN), 0);
	/* Disabled -> x2APIC: #GP; the page is open bus. */
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, base | BASE_EXT), -1);
	CU_ASSERT_EQUAL(rd(vm, 0, VER), 0xffffffff);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, base), 0);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, base | BASE_EXT), 0);
	/* Re-enabled after a disable: software-disabled, as after reset. */
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, 0x80f, &v), 0);
	CU_ASSERT_EQUAL(v, 0xff);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x80f, 0x1ff), 0);
	CU_ASSERT_EQUAL(
	    vlapic_wrmsr(c2, APICBASE, VLAPIC_BASE | BASE_EN | BASE_EXT), 0);
	CU_ASSERT_EQUAL(vlapic_rdmsr(c2, 0x802, &v), 0);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(vlapic_rdmsr(c2, 0x80d, &v), 0);
	CU_ASSERT_EQUAL(v, 1u << 2);
	/* #GP: DFR, ICR high, APR; read-only, write-only, reserved. */
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, 0x80e, &v), -1);
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, 0x831, &v), -1);
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, 0x809, &v), -1);
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, 0x80b, &v), -1);
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, 0x83f, &v), -1);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x802, 0), -1);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x839, 0), -1);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x80b, 1), -1);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x828, 1), -1);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x808, 1ULL << 32), -1);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x83f, 0x100), -1);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x8ff, 0), -1);
	/* The 64-bit ICR: 32-bit physical destination 2. */
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x830, 2ULL << 32 | 0x51), 0);
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, 0x830, &v), 0);
	CU_ASSERT_EQUAL(v, 2ULL << 32 | 0x51);
	CU_ASSERT_EQUAL(take(vm, 2), 0x51);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c2, 0x80b, 0), 0);
	/* x2APIC logical: cluster 0, bit 2. */
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x830, 4ULL << 32 | LOGICAL | 0x52),
			0);
	CU_ASSERT_EQUAL(take(vm, 2), 0x52);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c2, 0x80b, 0), 0);
	/* SELF IPI. */
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, 0x83f, 0x53), 0);
	CU_ASSERT_EQUAL(take(vm, 0), 0x53);
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, 0x810 + 0x53 / 32, &v), 0);
	CU_ASSERT_EQUAL(v, 1u << (0x53 % 32));
	/* x2APIC -> xAPIC: #GP; -> disabled, then xAPIC, reset. */
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, base), -1);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, VLAPIC_BASE), 0);
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, APICBASE, &v), 0);
	CU_ASSERT_EQUAL(v, VLAPIC_BASE | BASE_BSP); /* BSP is read-only */
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, base), 0);
	CU_ASSERT_EQUAL(rd(vm, 0, ISR + 0x20), 0);
	CU_ASSERT_EQUAL(rd(vm, 0, SVR), 0xff);
	/* Relocated: the page follows. */
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, 0xfe000000ULL | BASE_EN), 0);
	CU_ASSERT_EQUAL(rd(vm, 0, VER), 0xffffffff);
	{
		struct vm_exit ex = { .exitcode = VM_EXITCODE_MMIO };

		ex.u.mmio.gpa = 0xfe000000ULL + VER;
		ex.u.mmio.bytes = 4;
		CU_ASSERT_EQUAL(vm_iomem_emulate(c0, &ex), 1);
		CU_ASSERT_EQUAL(ex.u.mmio.data, 0x14 | 6u << 16 | 1u << 24);
	}
	lapic_vm_destroy(vm);
}

static void
test_lint(void)
{
	struct vm *vm = lapic_vm();
	struct vcpu *c0 = vm->vcpus[0];
	uint64_t v;

	CU_ASSERT(vlapic_accepts_extint(c0));
	CU_ASSERT_EQUAL(vm_lapic_local_irq(c0, 1), 0);
	CU_ASSERT(flag(c0, &c0->nmi_pending));
	CU_ASSERT_EQUAL(vm_lapic_local_irq(c0, 0), 0);
	CU_ASSERT(flag(c0, &c0->extint_pending));
	/* Masked: nothing; fixed: a vector. */
	wr(vm, 0, LINT0, MASKED | 0x700);
	CU_ASSERT(!vlapic_accepts_extint(c0));
	CU_ASSERT_EQUAL(vm_lapic_local_irq(c0, 0), 0);
	CU_ASSERT(!flag(c0, &c0->extint_pending));
	wr(vm, 0, LINT1, 0x66);
	CU_ASSERT_EQUAL(vm_lapic_local_irq(c0, 1), 0);
	CU_ASSERT(!flag(c0, &c0->nmi_pending));
	CU_ASSERT_EQUAL(take(vm, 0), 0x66);
	/* An ExtINT message is not LINT0: it passes until the INTA. */
	vlapic_deliver_intr(vm, false, 0, true, 7, 0);
	CU_ASSERT(flag(c0, &c0->extint_pending));
	CU_ASSERT(vlapic_accepts_extint(c0));
	vlapic_extint_accepted(c0);
	CU_ASSERT(!vlapic_accepts_extint(c0));
	/* Hardware-disabled: LINT0 is INTR, LINT1 NMI. */
	CU_ASSERT_EQUAL(vlapic_rdmsr(c0, APICBASE, &v), 0);
	CU_ASSERT_EQUAL(vlapic_wrmsr(c0, APICBASE, v & ~BASE_EN), 0);
	CU_ASSERT(vlapic_accepts_extint(c0));
	CU_ASSERT_EQUAL(vlapic_pending_intr(c0), -1);
	CU_ASSERT_EQUAL(vm_lapic_local_irq(c0, 1), 0);
	CU_ASSERT(flag(c0, &c0->nmi_pending));
	CU_ASSERT_EQUAL(vm_lapic_local_irq(c0, 2), EINVAL);
	lapic_vm_destroy(vm);
}

/* Wait (real time, at most 2 s) for vCPU 'cpu' to have a vector. */
static int
wait_vector(struct vm *vm, int cpu)
{
	struct timespec ts = { 0, 1000000 };

	for (int i = 0; i < 2000; i++) {
		int v = take(vm, cpu);

		if (v >= 0)
			return v;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static void
test_timer(void)
{
	struct vm *vm = lapic_vm();
	uint32_t c0, c1;

	/* Divide by 1: 2^27 Hz; a count of 2^27 is one second. */
	wr(vm, 0, TDCR, 0xb);
	wr(vm, 0, LVTT, 0x70);
	wr(vm, 0, TICR, (uint32_t)BUS_HZ);
	c0 = rd(vm, 0, TCCR);
	fake_advance(vm, 250000000); /* a quarter second */
	c1 = rd(vm, 0, TCCR);
	CU_ASSERT(c0 - c1 >= BUS_HZ / 4 && c0 - c1 <= BUS_HZ / 4 + BUS_HZ / 50);
	CU_ASSERT_EQUAL(vlapic_pending_intr(vm->vcpus[0]), -1);
	fake_advance(vm, 800000000);
	CU_ASSERT_EQUAL(rd(vm, 0, TCCR), 0);
	/* The callout thread may sleep out the deadline in host time. */
	CU_ASSERT_EQUAL(wait_vector(vm, 0), 0x70);
	wr(vm, 0, EOI, 0);
	/* Divide by 2 (DCR 0): half the rate; periodic reloads. */
	wr(vm, 0, TDCR, 0x0);
	wr(vm, 0, LVTT, 0x20000 | 0x71);
	wr(vm, 0, TICR, 1000000);
	fake_advance(vm, 1000000000ULL * 1500000 / (BUS_HZ / 2));
	c1 = rd(vm, 0, TCCR);
	CU_ASSERT(c1 > 480000 && c1 <= 500000);
	CU_ASSERT_EQUAL(wait_vector(vm, 0), 0x71);
	wr(vm, 0, EOI, 0);
	/* Stopped by a zero count; into TSC-deadline mode: count ignored. */
	wr(vm, 0, TICR, 0);
	CU_ASSERT_EQUAL(rd(vm, 0, TCCR), 0);
	wr(vm, 0, LVTT, 0x40000 | 0x72);
	wr(vm, 0, TICR, 5);
	CU_ASSERT_EQUAL(rd(vm, 0, TICR), 0);
	lapic_vm_destroy(vm);
}

/*
 * The checkpoint state (vlapic_state.c): what one APIC holds loads into
 * another, timer running; a replay's comparison sees a register the guest
 * programmed differently; blobs of another layout are refused.
 */
static void
test_state(void)
{
	struct vm *vm = lapic_vm();
	uint8_t st[VLAPIC_STATE_SIZE], bad[VLAPIC_STATE_SIZE];
	char why[128];
	uint64_t v;

	wr(vm, 0, LDR, 0x03000000);
	wr(vm, 0, TDCR, 0xb);
	wr(vm, 0, LVTT, 0x20000 | 0x55); /* periodic */
	wr(vm, 0, TICR, (uint32_t)(BUS_HZ / 10));
	CU_ASSERT_EQUAL(vlapic_get_state(vm->vcpus[0], st), VLAPIC_STATE_SIZE);
	CU_ASSERT_TRUE(vlapic_state_matches(vm->vcpus[0], st, sizeof(st), why,
					    sizeof(why)));
	CU_ASSERT_FALSE(vlapic_state_matches(vm->vcpus[1], st, sizeof(st), why,
					     sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "LDR 0x3000000 (replay 0x0)"));
	CU_ASSERT_EQUAL(vlapic_set_state(vm->vcpus[1], st, sizeof(st)), 0);
	CU_ASSERT_TRUE(vlapic_state_matches(vm->vcpus[1], st, sizeof(st), why,
					    sizeof(why)));
	CU_ASSERT_EQUAL(rd(vm, 1, LDR), 0x03000000);
	CU_ASSERT_EQUAL(rd(vm, 1, LVTT), 0x20055);
	CU_ASSERT_EQUAL(rd(vm, 1, TICR), BUS_HZ / 10);
	v = rd(vm, 1, TCCR);
	CU_ASSERT_TRUE(v > 0 && v <= BUS_HZ / 10); /* counting */
	/* The BSP flag stays the vCPU's own. */
	CU_ASSERT_EQUAL(vlapic_rdmsr(vm->vcpus[1], APICBASE, &v), 0);
	CU_ASSERT_EQUAL(v, VLAPIC_BASE | BASE_EN);
	/* Short, another version, x2APIC without enable, a bad divider. */
	CU_ASSERT_EQUAL(vlapic_set_state(vm->vcpus[1], st, sizeof(st) - 1),
			EINVAL);
	memcpy(bad, st, sizeof(bad));
	bad[0] = 2;
	CU_ASSERT_EQUAL(vlapic_set_state(vm->vcpus[1], bad, sizeof(bad)),
			EINVAL);
	CU_ASSERT_FALSE(vlapic_state_matches(vm->vcpus[1], bad, sizeof(bad),
					     why, sizeof(why)));
	memcpy(bad, st, sizeof(bad));
	bad[5] = (uint8_t)((bad[5] | 0x04) & ~0x08); /* EXTD, not EN */
	CU_ASSERT_EQUAL(vlapic_set_state(vm->vcpus[1], bad, sizeof(bad)),
			EINVAL);
	memcpy(bad, st, sizeof(bad));
	bad[176] = 3; /* divider 3 */
	CU_ASSERT_EQUAL(vlapic_set_state(vm->vcpus[1], bad, sizeof(bad)),
			EINVAL);
	CU_ASSERT_EQUAL(rd(vm, 1, LDR), 0x03000000); /* unchanged */
	lapic_vm_destroy(vm);
}

static CU_TestInfo vlapic_tests[] = {
	{ "registers, masks, ESR", test_registers },
	{ "TPR, PPR, ISR and EOI; illegal vectors", test_priority },
	{ "delivery: destinations, shorthands, NMI, INIT, SIPI",
	  test_delivery },
	{ "x2APIC MSRs and IA32_APIC_BASE", test_x2apic },
	{ "LINT0 and LINT1", test_lint },
	{ "the timer on the VM clock", test_timer },
	{ "checkpoint state: save, load, compare", test_state },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "kmod/vlapic", vlapic_tests },
	{ NULL, NULL },
};
