/*
 * pwrbtn: the ACPI power button and the SCI.  The guest routes the SCI
 * as the FADT and MADT say (SCI_INT 9; the override makes GSI 9 level,
 * active-low) through the I/O APIC, enables PM1_EN.PWRBTN_EN, says it is
 * ready and waits; run-pwrbtn.sh then sends SIGTERM to rhyve, which sets
 * PM1_STS.PWRBTN_STS and raises the SCI.  The handler sees PWRBTN_STS and
 * clears it by writing 1 (the SCI goes down: the EOI does not fire it
 * again), and the guest powers off through PM1_CNT (status 1).
 */
#include "guest.h"
#include "pc.h"

#define PM1_STS    0x400
#define PM1_EN     0x402
#define PM1_CNT    0x404
#define PM1_PWRBTN 0x0100
#define PM1_SLP_EN 0x2000
#define SLP_TYP_S5 5

#define APIC_EOI   0x0b0
#define APIC_IRR   0x200
#define APIC_LINT0 0x350
#define RTE_MASKED 0x10000u
#define RTE_LEVEL  0x8000u
#define RTE_REMOTE 0x4000u
#define RTE_ACTLOW 0x2000u
#define SCI_PIN    9
#define V_SCI      0x59

static volatile int scis;
static volatile uint16_t sts_seen;

static void
on_sci(struct guest_trap_frame *tf)
{
	(void)tf;
	scis++;
	sts_seen = inw(PM1_STS);
	outw(PM1_STS, PM1_PWRBTN); /* write 1 to clear: the SCI goes down */
	apic_write(APIC_EOI, 0);
}

int
guest_main(void)
{
	cli();
	pic_init(0x01, 0x01);
	pic_set_mask(0xffff);
	apic_write(APIC_LINT0, 0x10000); /* masked: no ExtINT */
	guest_set_trap_handler(V_SCI, on_sci);
	GUEST_ASSERT_EQ(inw(PM1_STS) & PM1_PWRBTN, 0);
	GUEST_ASSERT_EQ(inw(PM1_EN), 0);
	ioapic_write(0x11 + 2 * SCI_PIN, 0);
	ioapic_write(0x10 + 2 * SCI_PIN, RTE_LEVEL | RTE_ACTLOW | V_SCI);
	GUEST_ASSERT(!(apic_read(APIC_IRR + 0x10 * (V_SCI / 32)) &
		       (1u << (V_SCI % 32))));
	outw(PM1_EN, PM1_PWRBTN);
	GUEST_ASSERT_EQ(inw(PM1_EN), PM1_PWRBTN);
	guest_printf("pwrbtn: ready\n");
	while (scis == 0)
		sti_hlt();
	cli();
	GUEST_ASSERT(sts_seen & PM1_PWRBTN);
	GUEST_ASSERT_EQ(inw(PM1_STS) & PM1_PWRBTN, 0);
	/* Cleared: no second SCI, and remote IRR is clear after the EOI. */
	sti();
	pm_delay_us(20000);
	cli();
	GUEST_ASSERT_EQ(scis, 1);
	GUEST_ASSERT_EQ(ioapic_read(0x10 + 2 * SCI_PIN) & RTE_REMOTE, 0);
	guest_printf("pwrbtn: power button pressed, powering off\n");
	outw(PM1_CNT, SLP_TYP_S5 << 10 | PM1_SLP_EN);
	for (;;)
		hlt();
}
