/*
 * ioapic: the I/O APIC at 0xfec00000, driven by pc-testdev's IRQ lines
 * (port 0x2000 + n raises or lowers line n: ISA IRQ n and pin n, or pin
 * n alone for 16-23) and by the PIT (IRQ0 on pin 2), the interrupts taken
 * through vCPU 0's local APIC (EOI at 0xfee000b0).  The 8259 pair is
 * masked, so nothing arrives through LINT0.
 *
 *   regs      ID, version (0x20, 24 pins), entries masked after reset,
 *             read-only remote IRR and delivery status
 *   edge      one interrupt per rising edge, none while the line stays up
 *   mask      an edge while masked is lost; a masked level pin waits
 *   level     remote IRR set at delivery (before the CPU takes it), no
 *             second message until the EOI; a line still up fires again
 *             after the EOI; lowered, the EOI clears remote IRR for good
 *   directed  with the local APIC's SVR bit 12 its EOI does not reach the
 *             I/O APIC: remote IRR stays until the I/O APIC's own EOI
 *             register (0x40) gets the vector
 *   polarity  an active-low entry on an idle ISA line is asserted; raising
 *             the line releases it; pin 16 (PCI, active-low wire) works
 *             with its active-low entry
 *   logical   flat logical destination through the APIC's LDR
 *   PIT       IRQ0 arrives on pin 2 (the MADT's override)
 *   HPET      timer 2 routed (Tn_INT_ROUTE_CNF) to pin 20
 *
 * Negative checks look at the local APIC's IRR with interrupts disabled:
 * the I/O APIC delivers while the OUT that raised the line is handled.
 */
#include "guest.h"
#include "pc.h"

#define IOEOI            0x40
#define APIC_EOI         0x0b0
#define APIC_SVR         0x0f0
#define SVR_EOI_SUPPRESS 0x1000u
#define APIC_LDR         0x0d0
#define APIC_DFR         0x0e0
#define APIC_ISR         0x100
#define APIC_TMR         0x180
#define APIC_IRR         0x200
#define APIC_LINT0       0x350

#define RTE_MASKED       0x10000u
#define RTE_LEVEL        0x8000u
#define RTE_REMOTEIRR    0x4000u
#define RTE_ACTLOW       0x2000u
#define RTE_DELIVS       0x1000u
#define RTE_LOGICAL      0x800u

#define V_EDGE           0x41
#define V_LEVEL          0x52
#define V_POL            0x63
#define V_PCI            0x74
#define V_LOG            0x85
#define V_PIT            0x96
#define V_HPET           0xa7

static volatile int count[256];
static volatile uint32_t rirr_in_handler;
static volatile int level_stop_at;

static void
rte_set(int pin, uint32_t lo, uint8_t dest)
{
	ioapic_write(0x11 + 2 * (uint32_t)pin, (uint32_t)dest << 24);
	ioapic_write(0x10 + 2 * (uint32_t)pin, lo);
}

static uint32_t
rte_lo(int pin)
{
	return ioapic_read(0x10 + 2 * (uint32_t)pin);
}

static bool
apic_bit(uint32_t base, int v)
{
	return (apic_read(base + 0x10 * ((uint32_t)v / 32)) >> (v % 32)) & 1;
}

/* Enable interrupts until count[v] reaches n (at most 200 ms). */
static void
wait_count(int v, int n)
{
	uint64_t end = pm_now() + us_to_pm(200000);

	sti();
	while (count[v] < n && pm_now() < end)
		__asm__ volatile("pause");
	cli();
	GUEST_ASSERT_EQ(count[v], n);
}

static void
on_simple(struct guest_trap_frame *tf)
{
	count[tf->vector]++;
	apic_write(APIC_EOI, 0);
}

/*
 * The level pin's handler: remote IRR is set while the vector is in
 * service; the EOI with the line still up fires again, until the
 * level_stop_at'th interrupt lowers the line first.
 */
static void
on_level(struct guest_trap_frame *tf)
{
	int n = ++count[tf->vector];

	if (rte_lo(10) & RTE_REMOTEIRR)
		rirr_in_handler++;
	if (n == level_stop_at)
		testdev_irq_line(10, 0);
	apic_write(APIC_EOI, 0);
}

/* Polarity: the handler raises the line, which releases the pin. */
static void
on_pol(struct guest_trap_frame *tf)
{
	count[tf->vector]++;
	testdev_irq_line(7, 1);
	apic_write(APIC_EOI, 0);
}

static void
test_regs(void)
{
	uint32_t ver = ioapic_read(0x01);

	GUEST_ASSERT_EQ(ver & 0xff, 0x20); /* with the EOI register */
	GUEST_ASSERT_EQ((ver >> 16) & 0xff, 23);
	GUEST_ASSERT_EQ(ioapic_read(0x00), 0);
	ioapic_write(0x00, 0x0f000000 | 0xff);
	GUEST_ASSERT_EQ(ioapic_read(0x00), 0x0f000000); /* ID bits 27:24 */
	GUEST_ASSERT_EQ(ioapic_read(0x02), 0x0f000000); /* arbitration */
	ioapic_write(0x00, 0);
	for (int pin = 0; pin < 24; pin++)
		GUEST_ASSERT(rte_lo(pin) & RTE_MASKED);
	/* Remote IRR and delivery status cannot be written. */
	rte_set(3, RTE_MASKED | RTE_REMOTEIRR | RTE_DELIVS | RTE_LEVEL | 0x33,
		0xab);
	GUEST_ASSERT_EQ(rte_lo(3), RTE_MASKED | RTE_LEVEL | 0x33);
	GUEST_ASSERT_EQ(ioapic_read(0x11 + 6), 0xab000000);
	rte_set(3, RTE_MASKED, 0);
	guest_printf("ioapic: version 0x%x, 24 pins\n", ver);
}

static void
test_edge(void)
{
	rte_set(5, V_EDGE, 0); /* edge, active-high, fixed, physical 0 */
	testdev_irq_line(5, 1);
	GUEST_ASSERT(apic_bit(APIC_IRR, V_EDGE));
	GUEST_ASSERT(!apic_bit(APIC_TMR, V_EDGE)); /* edge in TMR */
	wait_count(V_EDGE, 1);
	/* The line stays up: no new edge, no interrupt. */
	testdev_irq_line(5, 1);
	GUEST_ASSERT(!apic_bit(APIC_IRR, V_EDGE));
	testdev_irq_line(5, 0);
	testdev_irq_line(5, 1);
	wait_count(V_EDGE, 2);
	testdev_irq_line(5, 0);
	GUEST_ASSERT_EQ(rte_lo(5) & RTE_REMOTEIRR, 0);

	/* Masked: the edge is lost, also after unmasking. */
	rte_set(5, RTE_MASKED | V_EDGE, 0);
	testdev_irq_pulse(5);
	rte_set(5, V_EDGE, 0);
	GUEST_ASSERT(!apic_bit(APIC_IRR, V_EDGE));
	sti();
	pm_delay_us(2000);
	cli();
	GUEST_ASSERT_EQ(count[V_EDGE], 2);
	rte_set(5, RTE_MASKED, 0);
	guest_printf("ioapic: edge ok\n");
}

static void
test_level(void)
{
	/* Masked level pin: the asserted line waits for the unmask. */
	rte_set(10, RTE_MASKED | RTE_LEVEL | V_LEVEL, 0);
	testdev_irq_line(10, 1);
	GUEST_ASSERT(!apic_bit(APIC_IRR, V_LEVEL));
	GUEST_ASSERT_EQ(rte_lo(10) & RTE_REMOTEIRR, 0);
	rte_set(10, RTE_LEVEL | V_LEVEL, 0);
	/* Delivered at once: remote IRR set before the CPU takes it. */
	GUEST_ASSERT(apic_bit(APIC_IRR, V_LEVEL));
	GUEST_ASSERT(apic_bit(APIC_TMR, V_LEVEL)); /* level in TMR */
	GUEST_ASSERT(rte_lo(10) & RTE_REMOTEIRR);
	/* Lowering and raising the line again sends nothing before EOI. */
	testdev_irq_line(10, 0);
	testdev_irq_line(10, 1);
	GUEST_ASSERT(rte_lo(10) & RTE_REMOTEIRR);
	/*
	 * The handler EOIs with the line up twice (each EOI fires again),
	 * and lowers it before the third EOI.
	 */
	level_stop_at = 3;
	wait_count(V_LEVEL, 3);
	GUEST_ASSERT_EQ(rirr_in_handler, 3);
	GUEST_ASSERT_EQ(rte_lo(10) & RTE_REMOTEIRR, 0);
	GUEST_ASSERT(!apic_bit(APIC_IRR, V_LEVEL));
	sti();
	pm_delay_us(2000);
	cli();
	GUEST_ASSERT_EQ(count[V_LEVEL], 3);
	rte_set(10, RTE_MASKED, 0);
	guest_printf("ioapic: level ok (remote IRR, EOI, re-fire)\n");
}

/* EOI-broadcast suppression: the handler EOIs the local APIC only. */
static void
on_level_local(struct guest_trap_frame *tf)
{
	count[tf->vector]++;
	apic_write(APIC_EOI, 0);
}

static void
test_directed_eoi(void)
{
	int n = count[V_LEVEL];

	guest_set_trap_handler(V_LEVEL, on_level_local);
	apic_write(APIC_SVR, apic_read(APIC_SVR) | SVR_EOI_SUPPRESS);
	rte_set(10, RTE_LEVEL | V_LEVEL, 0);
	testdev_irq_line(10, 1);
	wait_count(V_LEVEL, n + 1);
	/* EOI'd locally with the line up: no broadcast, no second one. */
	GUEST_ASSERT(rte_lo(10) & RTE_REMOTEIRR);
	GUEST_ASSERT(!apic_bit(APIC_IRR, V_LEVEL));
	sti();
	pm_delay_us(2000);
	cli();
	GUEST_ASSERT_EQ(count[V_LEVEL], n + 1);
	/* Another vector's EOI leaves it; its own fires again. */
	*(volatile uint32_t *)(IOAPIC_BASE + IOEOI) = V_LEVEL + 1;
	GUEST_ASSERT(rte_lo(10) & RTE_REMOTEIRR);
	*(volatile uint32_t *)(IOAPIC_BASE + IOEOI) = V_LEVEL;
	wait_count(V_LEVEL, n + 2);
	testdev_irq_line(10, 0);
	*(volatile uint32_t *)(IOAPIC_BASE + IOEOI) = V_LEVEL;
	GUEST_ASSERT_EQ(rte_lo(10) & RTE_REMOTEIRR, 0);
	apic_write(APIC_SVR, apic_read(APIC_SVR) & ~SVR_EOI_SUPPRESS);
	rte_set(10, RTE_MASKED, 0);
	guest_set_trap_handler(V_LEVEL, on_level);
	guest_printf("ioapic: EOI-broadcast suppression ok (EOI register)\n");
}

static void
test_polarity(void)
{
	/* ISA IRQ7's line is idle (low): active-low reads it asserted. */
	testdev_irq_line(7, 0);
	rte_set(7, RTE_MASKED | RTE_LEVEL | RTE_ACTLOW | V_POL, 0);
	GUEST_ASSERT(!apic_bit(APIC_IRR, V_POL));
	rte_set(7, RTE_LEVEL | RTE_ACTLOW | V_POL, 0);
	GUEST_ASSERT(apic_bit(APIC_IRR, V_POL));
	/* The handler raises the line: released, no second message. */
	wait_count(V_POL, 1);
	GUEST_ASSERT_EQ(rte_lo(7) & RTE_REMOTEIRR, 0);
	/* Lowering it asserts the pin again. */
	testdev_irq_line(7, 0);
	GUEST_ASSERT(apic_bit(APIC_IRR, V_POL));
	wait_count(V_POL, 2);
	rte_set(7, RTE_MASKED, 0);
	testdev_irq_line(7, 0);

	/* Pin 16's wire is active-low (PCI): active-low, edge. */
	rte_set(16, RTE_ACTLOW | V_PCI, 0);
	GUEST_ASSERT(!apic_bit(APIC_IRR, V_PCI));
	testdev_irq_line(16, 1);
	wait_count(V_PCI, 1);
	testdev_irq_line(16, 0);
	rte_set(16, RTE_MASKED, 0);
	guest_printf("ioapic: polarity ok\n");
}

static void
test_logical(void)
{
	apic_write(APIC_DFR, 0xffffffff);  /* flat */
	apic_write(APIC_LDR, 0x02u << 24); /* logical ID bit 1 */
	rte_set(11, RTE_LOGICAL | V_LOG, 0x01);
	testdev_irq_pulse(11);
	GUEST_ASSERT(!apic_bit(APIC_IRR, V_LOG)); /* not us */
	rte_set(11, RTE_LOGICAL | V_LOG, 0x06);
	testdev_irq_pulse(11);
	wait_count(V_LOG, 1);
	rte_set(11, RTE_MASKED, 0);
	guest_printf("ioapic: logical destination ok\n");
}

static void
test_pit(void)
{
	rte_set(2, V_PIT, 0);
	pit_program(0, 2, 11932); /* 100 Hz */
	wait_count(V_PIT, 1);
	rte_set(2, RTE_MASKED, 0);
	pit_stop(0);
	guest_printf("ioapic: PIT IRQ0 on pin 2 ok\n");
}

static void
test_hpet(void)
{
	uint64_t cfg = hpet_read64(HPET_TCFG(2));

	GUEST_ASSERT((cfg >> 32) & (1u << 20)); /* pin 20 offered */
	rte_set(20, RTE_ACTLOW | V_HPET, 0);
	hpet_write64(HPET_CONFIG, HPET_CNF_ENABLE); /* no legacy routing */
	hpet_write64(HPET_TCFG(2), HPET_TN_ENB | 20u << 9);
	GUEST_ASSERT_EQ((hpet_read64(HPET_TCFG(2)) >> 9) & 0x1f, 20);
	hpet_write64(HPET_TCMP(2),
		     hpet_read64(HPET_COUNTER) + 10000); /* 1 ms */
	wait_count(V_HPET, 1);
	hpet_write64(HPET_TCFG(2), 0);
	hpet_write64(HPET_CONFIG, 0);
	rte_set(20, RTE_MASKED, 0);
	guest_printf("ioapic: HPET timer 2 on pin 20 ok\n");
}

int
guest_main(void)
{
	cli();
	pic_init(0x01, 0x01);
	pic_set_mask(0xffff);
	apic_write(APIC_LINT0, 0x10000); /* masked: no ExtINT */
	guest_set_trap_handler(V_EDGE, on_simple);
	guest_set_trap_handler(V_LEVEL, on_level);
	guest_set_trap_handler(V_POL, on_pol);
	guest_set_trap_handler(V_PCI, on_simple);
	guest_set_trap_handler(V_LOG, on_simple);
	guest_set_trap_handler(V_PIT, on_simple);
	guest_set_trap_handler(V_HPET, on_simple);
	test_regs();
	test_edge();
	test_level();
	test_directed_eoi();
	test_polarity();
	test_logical();
	test_pit();
	test_hpet();
	GUEST_ASSERT(!apic_bit(APIC_ISR, V_LEVEL));
	guest_printf("ioapic: ok\n");
	return 0;
}
