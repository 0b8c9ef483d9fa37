/*
 * The I/O APIC (kmod/io/vioapic.c) and MSI delivery on a VM without an
 * engine (fake_vm.h) whose vCPU 0 has a local APIC: registers through the
 * MMIO path vm_run() uses, pins shared by several asserters, level pins
 * with remote IRR and the local APIC's EOI, polarity, MSI decoding.
 */
#include <errno.h>
#include <string.h>

#include "cunit.h"
#include "fake_vm.h"

static struct vm *vm;

static uint64_t
mmio(bool write, uint64_t gpa, int bytes, uint64_t val)
{
	struct vm_exit ex;

	memset(&ex, 0, sizeof(ex));
	ex.exitcode = VM_EXITCODE_MMIO;
	ex.u.mmio = (struct vm_mmio){
		.gpa = gpa, .bytes = (uint8_t)bytes, .write = write, .data = val
	};
	CU_ASSERT_EQUAL(vm_iomem_emulate(vm->vcpus[0], &ex), 1);
	return ex.u.mmio.data;
}

static uint32_t
ioapic_read(uint32_t reg)
{
	mmio(true, VIOAPIC_BASE, 4, reg);
	return (uint32_t)mmio(false, VIOAPIC_BASE + 0x10, 4, 0);
}

static void
ioapic_write(uint32_t reg, uint32_t v)
{
	mmio(true, VIOAPIC_BASE, 4, reg);
	mmio(true, VIOAPIC_BASE + 0x10, 4, v);
}

/* Take the pending vector, as vm_inject_pending() does; -1 if none. */
static int
take(void)
{
	int v = vlapic_pending_intr(vm->vcpus[0]);

	if (v >= 0)
		vlapic_intr_accepted(vm->vcpus[0], v);
	return v;
}

static void
eoi(void)
{
	mmio(true, VLAPIC_BASE + 0xb0, 4, 0);
}

static void
setup(void)
{
	vm = fake_vm_create();
	CU_ASSERT_EQUAL_FATAL(vlapic_init(vm->vcpus[0]), 0);
	CU_ASSERT_EQUAL_FATAL(vioapic_init(vm), 0);
}

static void
teardown(void)
{
	vioapic_cleanup(vm);
	vlapic_cleanup(vm->vcpus[0]);
	vm->vcpus[0]->vlapic = NULL;
	fake_vm_destroy(vm);
}

static void
test_registers(void)
{
	setup();
	CU_ASSERT_EQUAL(ioapic_read(0x01), 0x00170020);
	CU_ASSERT_EQUAL(ioapic_read(0x00), 0);
	ioapic_write(0x00, 0xffffffff);
	CU_ASSERT_EQUAL(ioapic_read(0x00), 0x0f000000);
	CU_ASSERT_EQUAL(ioapic_read(0x02), 0x0f000000);
	ioapic_write(0x01, 0); /* read-only */
	CU_ASSERT_EQUAL(ioapic_read(0x01), 0x00170020);
	for (uint32_t pin = 0; pin < VIOAPIC_PINS; pin++) {
		CU_ASSERT_EQUAL(ioapic_read(0x10 + 2 * pin), 0x10000);
		CU_ASSERT_EQUAL(ioapic_read(0x11 + 2 * pin), 0);
	}
	ioapic_write(0x10, 0xffffffff);
	CU_ASSERT_EQUAL(ioapic_read(0x10), 0xffffffff & ~0x5000u);
	ioapic_write(0x11, 0x12345678);
	CU_ASSERT_EQUAL(ioapic_read(0x11), 0x12345678);
	/* Past the table, other widths and offsets: 0, ignored. */
	CU_ASSERT_EQUAL(ioapic_read(0x10 + 2 * VIOAPIC_PINS), 0);
	CU_ASSERT_EQUAL(mmio(false, VIOAPIC_BASE + 0x10, 1, 0), 0);
	CU_ASSERT_EQUAL(mmio(false, VIOAPIC_BASE + 0x20, 4, 0), 0);
	mmio(true, VIOAPIC_BASE, 4, 0x01);
	CU_ASSERT_EQUAL(mmio(false, VIOAPIC_BASE, 4, 0), 0x01);
	/* Bad pins; no I/O APIC. */
	CU_ASSERT_EQUAL(vm_ioapic_assert_irq(vm, 24), EINVAL);
	CU_ASSERT_EQUAL(vm_ioapic_pulse_irq(vm, -1), EINVAL);
	teardown();
	vm = fake_vm_create();
	CU_ASSERT_EQUAL(vm_ioapic_assert_irq(vm, 1), ENXIO);
	fake_vm_destroy(vm);
}

static void
test_edge_shared(void)
{
	setup();
	ioapic_write(0x10 + 2 * 4, 0x40); /* pin 4: edge, vector 0x40 */
	CU_ASSERT_EQUAL(vm_ioapic_assert_irq(vm, 4), 0);
	CU_ASSERT_EQUAL(take(), 0x40);
	eoi();
	/* A second asserter: no new edge; one left: still up. */
	vm_ioapic_assert_irq(vm, 4);
	vm_ioapic_deassert_irq(vm, 4);
	CU_ASSERT_EQUAL(take(), -1);
	vm_ioapic_deassert_irq(vm, 4);
	vm_ioapic_deassert_irq(vm, 4); /* extra: no underflow */
	vm_ioapic_pulse_irq(vm, 4);
	CU_ASSERT_EQUAL(take(), 0x40);
	eoi();
	/* vm_isa_*: the pin too (the PIC's IRQ stays masked). */
	vm_isa_pulse_irq(vm, 4, 4);
	CU_ASSERT_EQUAL(take(), 0x40);
	eoi();
	teardown();
}

static void
test_level_eoi(void)
{
	setup();
	ioapic_write(0x10 + 2 * 9, 0x8000 | 0x2000 | 0x51); /* SCI-like */
	CU_ASSERT_EQUAL(take(), -1); /* idle active-low wire: not asserted */
	vm_ioapic_assert_irq(vm, 9);
	CU_ASSERT_TRUE(ioapic_read(0x10 + 2 * 9) & 0x4000);
	CU_ASSERT_EQUAL(take(), 0x51);
	eoi(); /* still asserted: again */
	CU_ASSERT_TRUE(ioapic_read(0x10 + 2 * 9) & 0x4000);
	CU_ASSERT_EQUAL(take(), 0x51);
	vm_ioapic_deassert_irq(vm, 9);
	CU_ASSERT_TRUE(ioapic_read(0x10 + 2 * 9) & 0x4000); /* until EOI */
	eoi();
	CU_ASSERT_FALSE(ioapic_read(0x10 + 2 * 9) & 0x4000);
	CU_ASSERT_EQUAL(take(), -1);
	/* The EOI of another vector leaves remote IRR alone. */
	vm_ioapic_assert_irq(vm, 9);
	CU_ASSERT_EQUAL(take(), 0x51);
	vioapic_process_eoi(vm, 0x52);
	CU_ASSERT_TRUE(ioapic_read(0x10 + 2 * 9) & 0x4000);
	/* Masking keeps it; unmasked and EOI'd while asserted: again. */
	ioapic_write(0x10 + 2 * 9, 0x10000 | 0x8000 | 0x2000 | 0x51);
	eoi();
	CU_ASSERT_EQUAL(take(), -1);
	ioapic_write(0x10 + 2 * 9, 0x8000 | 0x2000 | 0x51);
	CU_ASSERT_EQUAL(take(), 0x51);
	teardown();
}

/*
 * EOI-broadcast suppression: with SVR bit 12 (the local APIC's version
 * advertises it in bit 24) the local EOI of a level vector leaves remote
 * IRR set; the I/O APIC's own EOI register (0x40) clears it, and a pin
 * still asserted fires again.  A write of another vector does nothing.
 */
static void
test_directed_eoi(void)
{
	setup();
	CU_ASSERT_TRUE(mmio(false, VLAPIC_BASE + 0x30, 4, 0) & (1u << 24));
	mmio(true, VLAPIC_BASE + 0xf0, 4, 0x11ff); /* SVR: on, suppress */
	CU_ASSERT_EQUAL(mmio(false, VLAPIC_BASE + 0xf0, 4, 0), 0x11ff);
	ioapic_write(0x10 + 2 * 10, 0x8000 | 0x53); /* level, active-high */
	vm_ioapic_assert_irq(vm, 10);
	CU_ASSERT_EQUAL(take(), 0x53);
	eoi();
	CU_ASSERT_TRUE(ioapic_read(0x10 + 2 * 10) & 0x4000);
	CU_ASSERT_EQUAL(take(), -1); /* no broadcast: no second message */
	mmio(true, VIOAPIC_BASE + 0x40, 4, 0x54);
	CU_ASSERT_TRUE(ioapic_read(0x10 + 2 * 10) & 0x4000);
	mmio(true, VIOAPIC_BASE + 0x40, 4, 0x53); /* still asserted: again */
	CU_ASSERT_EQUAL(take(), 0x53);
	vm_ioapic_deassert_irq(vm, 10);
	eoi();
	CU_ASSERT_TRUE(ioapic_read(0x10 + 2 * 10) & 0x4000);
	mmio(true, VIOAPIC_BASE + 0x40, 4, 0x53);
	CU_ASSERT_FALSE(ioapic_read(0x10 + 2 * 10) & 0x4000);
	CU_ASSERT_EQUAL(take(), -1);
	/* The EOI register reads as 0. */
	CU_ASSERT_EQUAL(mmio(false, VIOAPIC_BASE + 0x40, 4, 0), 0);
	/* Broadcast back on: the local EOI clears remote IRR again. */
	mmio(true, VLAPIC_BASE + 0xf0, 4, 0x1ff);
	vm_ioapic_assert_irq(vm, 10);
	CU_ASSERT_EQUAL(take(), 0x53);
	vm_ioapic_deassert_irq(vm, 10);
	eoi();
	CU_ASSERT_FALSE(ioapic_read(0x10 + 2 * 10) & 0x4000);
	teardown();
}

static void
test_msi(void)
{
	setup();
	CU_ASSERT_EQUAL(vm_lapic_msi(vm, 0xfee00000, 0x0061), 0);
	CU_ASSERT_EQUAL(take(), 0x61);
	eoi();
	/* Another APIC ID: not us. */
	CU_ASSERT_EQUAL(vm_lapic_msi(vm, 0xfee01000, 0x0062), 0);
	CU_ASSERT_EQUAL(take(), -1);
	/* Not an MSI address; NMI/INIT/... delivery modes refused. */
	CU_ASSERT_EQUAL(vm_lapic_msi(vm, 0xfed00000, 0x0063), EINVAL);
	CU_ASSERT_EQUAL(vm_lapic_msi(vm, 0xfee00000, 0x0463), EINVAL);
	CU_ASSERT_EQUAL(vm_lapic_msi(vm, 0xfee00000, 0x0563), EINVAL);
	/* Lowest priority, logical with the redirection hint. */
	mmio(true, VLAPIC_BASE + 0xd0, 4, 0x01000000); /* LDR */
	CU_ASSERT_EQUAL(vm_lapic_msi(vm, 0xfee0100c, 0x0164), 0);
	CU_ASSERT_EQUAL(take(), 0x64);
	eoi();
	teardown();
}

static CU_TestInfo vioapic_tests[] = {
	{ "registers", test_registers },
	{ "edge pins, shared lines", test_edge_shared },
	{ "level pins, remote IRR, EOI, polarity", test_level_eoi },
	{ "EOI-broadcast suppression, EOI register", test_directed_eoi },
	{ "MSI", test_msi },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "vioapic", vioapic_tests },
	{ NULL, NULL },
};
