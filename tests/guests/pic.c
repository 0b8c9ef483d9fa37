/*
 * pic: the 8259A pair, cascaded, with interrupts from the pc-testdev IRQ
 * lines, COM1 and the PIT, taken through the IDT.
 *
 *   init      ICW1-4 with vector bases 0x20/0x28, IMR read back, IRR/ISR
 *             reads through OCW3, the ELCR's fixed-edge bits
 *   edge      a slave IRQ (10) through the cascade; an edge line held high
 *             interrupts once
 *   level     a level IRQ (11, ELCR) kept high re-interrupts after each
 *             EOI until it is lowered
 *   spurious  a level request that vanishes before the INTA: IRQ7 on the
 *             master, IRQ15 on the slave (master's IR2 in service)
 *   priority  slave (IR2) before IRQ3 before IRQ5; set-priority and
 *             rotate-on-EOI commands
 *   poll      the poll command acknowledges, and INTR drops with it
 *   mask      IRR latches a masked edge; unmasking delivers it
 *   smm       special mask mode lets a lower level through; specific EOI
 *   aeoi      automatic EOI leaves ISR clear
 *   uart      COM1's THRE interrupt on IRQ4
 *   spin      an interrupt pending while IF=0 arrives in a loop without
 *             exits after STI (the engine's interrupt window, or kmod's
 *             backstop kick where the host never opens the window)
 *   pit       IRQ0 at 1 kHz from PIT counter 0 (mode 2), with sti;hlt,
 *             timed against the PM timer
 */
#include "guest.h"
#include "pc.h"

#define COM1_IER 0x3f9
#define COM1_IIR 0x3fa
#define COM1_MCR 0x3fc

#define NSEQ     32

static volatile int hits[16];        /* per IRQ, real interrupts */
static volatile int spurious[2];     /* IRQ7, IRQ15 */
static volatile uint16_t isr_at[16]; /* ISR of the pair in the handler */
static volatile uint8_t seq[NSEQ];   /* order of IRQs taken */
static volatile int nseq;
static volatile bool rotate_eoi;           /* OCW2 0xa0 instead of 0x20 */
static void (*volatile irq_hook)(int irq); /* before the EOI */
static volatile bool no_eoi;               /* AEOI: no EOI at all */
static volatile uint8_t uart_iir;

static void
on_irq(struct guest_trap_frame *tf)
{
	int irq = (int)tf->vector - PIC_M_BASE;
	uint16_t isr = pic_isr();

	/* IRQ7 / IRQ15 without their ISR bit: spurious, as Linux checks. */
	if (irq == 7 && !(isr & 0x80)) {
		spurious[0]++;
		isr_at[7] = isr;
		return; /* no EOI */
	}
	if (irq == 15 && !(isr & 0x8000)) {
		spurious[1]++;
		isr_at[15] = isr;
		outb(PIC_M_CMD, PIC_EOI); /* the master's IR2 is in service */
		return;
	}
	hits[irq]++;
	isr_at[irq] = isr;
	if (nseq < NSEQ)
		seq[nseq++] = (uint8_t)irq;
	if (irq_hook != NULL)
		irq_hook(irq);
	if (no_eoi)
		return;
	if (irq >= 8)
		outb(PIC_S_CMD, rotate_eoi ? 0xa0 : PIC_EOI);
	outb(PIC_M_CMD, rotate_eoi ? 0xa0 : PIC_EOI);
}

/*
 * Interrupts on for 300 us, polling the PM timer: every poll is an exit,
 * where kmod injects what is pending.  (An interrupt window without exits
 * is test_spin's.)
 */
static void
window(void)
{
	sti();
	pm_delay_us(300);
	cli();
}

static inline uint64_t
rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void
reset_counts(void)
{
	for (int i = 0; i < 16; i++) {
		hits[i] = 0;
		isr_at[i] = 0;
	}
	spurious[0] = spurious[1] = 0;
	nseq = 0;
	irq_hook = NULL;
	rotate_eoi = no_eoi = false;
}

/* Unmask these IRQs (and the cascade), mask the rest. */
static void
unmask_only(uint16_t irqs)
{
	if (irqs & 0xff00)
		irqs |= 1u << 2;
	pic_set_mask((uint16_t)~irqs);
}

static void
test_init(void)
{
	pic_init(0x01, 0x01);
	pic_set_mask(0xfffb);
	GUEST_ASSERT_EQ(pic_get_mask(), 0xfffb);
	pic_set_mask(0x5aa5);
	GUEST_ASSERT_EQ(pic_get_mask(), 0x5aa5);
	pic_set_mask(0xffff);
	GUEST_ASSERT_EQ(pic_irr(), 0);
	GUEST_ASSERT_EQ(pic_isr(), 0);
	/* IRQ0, 1, 2, 8 and 13 cannot be level-triggered. */
	pic_set_elcr(0xffff);
	GUEST_ASSERT_EQ(pic_get_elcr(), 0xdef8);
	pic_set_elcr(0);
	GUEST_ASSERT_EQ(pic_get_elcr(), 0);
	/* A 16-bit access covers both ELCRs. */
	outw(PIC_ELCR_M, 0x0820);
	GUEST_ASSERT_EQ(inw(PIC_ELCR_M), 0x0820);
	pic_set_elcr(0);
	/* Re-initialization clears the mask. */
	pic_init(0x01, 0x01);
	GUEST_ASSERT_EQ(pic_get_mask(), 0);
	pic_set_mask(0xffff);
	guest_printf("pic: init ok\n");
}

static void
test_edge(void)
{
	reset_counts();
	unmask_only(1u << 10);
	testdev_irq_line(10, 1);
	/* The slave's request, and the cascade's on the master. */
	GUEST_ASSERT_EQ(pic_irr(), (1u << 10) | (1u << 2));
	window();
	GUEST_ASSERT_EQ(hits[10], 1);
	GUEST_ASSERT_EQ(isr_at[10], (1u << 10) | (1u << 2));
	GUEST_ASSERT_EQ(pic_isr(), 0);
	GUEST_ASSERT_EQ(pic_irr(), 0);
	/* Still high: an edge interrupts once. */
	window();
	GUEST_ASSERT_EQ(hits[10], 1);
	testdev_irq_line(10, 0);
	testdev_irq_line(10, 1);
	window();
	GUEST_ASSERT_EQ(hits[10], 2);
	testdev_irq_line(10, 0);
	GUEST_ASSERT_EQ(spurious[0] + spurious[1], 0);
	pic_set_mask(0xffff);
	guest_printf("pic: edge ok\n");
}

static void
lower_11_third_time(int irq)
{
	if (irq == 11 && hits[11] == 3)
		testdev_irq_line(11, 0);
}

static void
test_level(void)
{
	reset_counts();
	pic_set_elcr(1u << 11);
	unmask_only(1u << 11);
	irq_hook = lower_11_third_time;
	testdev_irq_line(11, 1);
	GUEST_ASSERT(pic_irr() & (1u << 11));
	/* Each EOI with the line still high brings it back. */
	for (int i = 0; i < 10 && hits[11] < 3; i++)
		window();
	GUEST_ASSERT_EQ(hits[11], 3);
	window();
	GUEST_ASSERT_EQ(hits[11], 3);
	GUEST_ASSERT_EQ(pic_irr(), 0);
	/* A level request follows the line: gone when it is lowered. */
	pic_set_mask(0xffff);
	testdev_irq_line(11, 1);
	GUEST_ASSERT_EQ(pic_irr() & (1u << 11), 1u << 11);
	testdev_irq_line(11, 0);
	GUEST_ASSERT_EQ(pic_irr() & (1u << 11), 0);
	pic_set_elcr(0);
	GUEST_ASSERT_EQ(spurious[0] + spurious[1], 0);
	guest_printf("pic: level ok\n");
}

static void
test_spurious(void)
{
	reset_counts();
	/* Master: IRQ5 level, up (INTR rises) and down before the INTA. */
	pic_set_elcr(1u << 5);
	unmask_only(1u << 5);
	testdev_irq_line(5, 1);
	testdev_irq_line(5, 0);
	window();
	GUEST_ASSERT_EQ(hits[5], 0);
	GUEST_ASSERT_EQ(spurious[0], 1);
	GUEST_ASSERT_EQ(isr_at[7], 0);
	GUEST_ASSERT_EQ(pic_isr(), 0);
	window();
	GUEST_ASSERT_EQ(spurious[0], 1);

	/* Slave: IRQ11 the same way, IRQ15 with the master's IR2 in service. */
	pic_set_elcr(1u << 11);
	unmask_only(1u << 11);
	testdev_irq_line(11, 1);
	testdev_irq_line(11, 0);
	window();
	GUEST_ASSERT_EQ(hits[11], 0);
	GUEST_ASSERT_EQ(spurious[1], 1);
	GUEST_ASSERT_EQ(isr_at[15], 1u << 2);
	GUEST_ASSERT_EQ(pic_isr(), 0);

	/* Masking the IRQ before the INTA: spurious as well. */
	pic_set_elcr(0);
	unmask_only(1u << 5);
	testdev_irq_pulse(5);
	pic_set_mask(0xffff);
	window();
	GUEST_ASSERT_EQ(hits[5], 0);
	GUEST_ASSERT_EQ(spurious[0], 2);
	/* The request is still latched; unmasked, it arrives. */
	unmask_only(1u << 5);
	window();
	GUEST_ASSERT_EQ(hits[5], 1);
	pic_set_mask(0xffff);
	guest_printf("pic: spurious ok\n");
}

static void
expect_seq(int n, const int *irqs)
{
	GUEST_ASSERT_EQ(nseq, n);
	for (int i = 0; i < n; i++)
		GUEST_ASSERT_EQ(seq[i], irqs[i]);
	nseq = 0;
}

static void
test_priority(void)
{
	static const int fixed[] = { 10, 3, 5 };
	static const int five_first[] = { 5, 3 };
	static const int three[] = { 3 };

	reset_counts();
	unmask_only((1u << 3) | (1u << 5) | (1u << 10));
	testdev_irq_pulse(5);
	testdev_irq_pulse(3);
	testdev_irq_pulse(10);
	GUEST_ASSERT_EQ(pic_irr(), (1u << 10) | (1u << 5) | (1u << 3) | 4u);
	for (int i = 0; i < 5; i++)
		window();
	expect_seq(3, fixed);

	/* Set priority: IR4 lowest, so IR5 comes first. */
	outb(PIC_M_CMD, 0xc4);
	testdev_irq_pulse(3);
	testdev_irq_pulse(5);
	for (int i = 0; i < 5; i++)
		window();
	expect_seq(2, five_first);
	outb(PIC_M_CMD, 0xc7); /* back to IR0 highest */

	/* Rotate on non-specific EOI: IR3, once served, becomes lowest. */
	rotate_eoi = true;
	testdev_irq_pulse(3);
	for (int i = 0; i < 3; i++)
		window();
	expect_seq(1, three);
	rotate_eoi = false;
	testdev_irq_pulse(3);
	testdev_irq_pulse(5);
	for (int i = 0; i < 5; i++)
		window();
	expect_seq(2, five_first);
	outb(PIC_M_CMD, 0xc7);
	pic_set_mask(0xffff);
	guest_printf("pic: priority ok\n");
}

static void
test_poll(void)
{
	reset_counts();
	unmask_only(1u << 5);
	testdev_irq_pulse(5);
	outb(PIC_M_CMD, PIC_POLL);
	GUEST_ASSERT_EQ(inb(PIC_M_CMD), 0x85);
	GUEST_ASSERT_EQ(pic_isr(), 1u << 5);
	GUEST_ASSERT_EQ(pic_irr(), 0);
	outb(PIC_M_CMD, PIC_EOI);
	/* Nothing left to poll; and INTR went down with the poll. */
	outb(PIC_M_CMD, PIC_POLL);
	GUEST_ASSERT_EQ(inb(PIC_M_CMD), 0);
	window();
	GUEST_ASSERT_EQ(hits[5] + spurious[0], 0);
	pic_set_mask(0xffff);
	guest_printf("pic: poll ok\n");
}

static void
test_mask(void)
{
	reset_counts();
	pic_set_mask(0xffff);
	testdev_irq_pulse(6);
	GUEST_ASSERT_EQ(pic_irr(), 1u << 6);
	window();
	GUEST_ASSERT_EQ(hits[6], 0);
	unmask_only(1u << 6);
	window();
	GUEST_ASSERT_EQ(hits[6], 1);
	GUEST_ASSERT_EQ(pic_irr(), 0);
	pic_set_mask(0xffff);
	guest_printf("pic: mask ok\n");
}

static void
test_smm(void)
{
	reset_counts();
	unmask_only((1u << 5) | (1u << 6));
	testdev_irq_pulse(5);
	outb(PIC_M_CMD, PIC_POLL);
	GUEST_ASSERT_EQ(inb(PIC_M_CMD), 0x85); /* IR5 in service */
	testdev_irq_pulse(6);
	outb(PIC_M_CMD, PIC_POLL);
	GUEST_ASSERT_EQ(inb(PIC_M_CMD), 0); /* IR6 is blocked by IR5 */
	/* Special mask mode, IR5 masked: IR6 gets through. */
	outb(PIC_M_DATA, (uint8_t) ~(1u << 6));
	outb(PIC_M_CMD, 0x68);
	outb(PIC_M_CMD, PIC_POLL);
	GUEST_ASSERT_EQ(inb(PIC_M_CMD), 0x86);
	GUEST_ASSERT_EQ(pic_isr(), (1u << 5) | (1u << 6));
	outb(PIC_M_CMD, 0x48); /* special mask mode off */
	/* Specific EOIs. */
	outb(PIC_M_CMD, 0x65);
	GUEST_ASSERT_EQ(pic_isr(), 1u << 6);
	outb(PIC_M_CMD, 0x66);
	GUEST_ASSERT_EQ(pic_isr(), 0);
	window();
	GUEST_ASSERT_EQ(hits[5] + hits[6] + spurious[0], 0);
	pic_set_mask(0xffff);
	guest_printf("pic: smm ok\n");
}

static void
test_aeoi(void)
{
	reset_counts();
	pic_init(0x03, 0x03);
	no_eoi = true;
	unmask_only((1u << 5) | (1u << 12));
	testdev_irq_pulse(5);
	testdev_irq_pulse(12);
	for (int i = 0; i < 4; i++)
		window();
	GUEST_ASSERT_EQ(hits[5], 1);
	GUEST_ASSERT_EQ(hits[12], 1);
	GUEST_ASSERT_EQ(isr_at[5], 0);
	GUEST_ASSERT_EQ(isr_at[12], 0);
	GUEST_ASSERT_EQ(pic_isr(), 0);
	no_eoi = false;
	pic_init(0x01, 0x01);
	pic_set_mask(0xffff);
	guest_printf("pic: aeoi ok\n");
}

static void
ack_uart(int irq)
{
	if (irq == 4)
		uart_iir = inb(COM1_IIR); /* reading IIR acknowledges THRE */
}

static void
test_uart(void)
{
	reset_counts();
	irq_hook = ack_uart;
	unmask_only(1u << 4);
	outb(COM1_MCR, 0x0b); /* DTR, RTS, OUT2 */
	/* Enabling the THRE interrupt with THR empty raises IRQ4. */
	outb(COM1_IER, 0x02);
	window();
	GUEST_ASSERT_EQ(hits[4], 1);
	GUEST_ASSERT_EQ(isr_at[4], 1u << 4);
	GUEST_ASSERT_EQ(uart_iir & 0x0f, 0x02); /* IIR: THRE */
	window();
	GUEST_ASSERT_EQ(hits[4], 1);
	outb(COM1_IER, 0x00);
	outb(COM1_IER, 0x02);
	window();
	GUEST_ASSERT_EQ(hits[4], 2);
	outb(COM1_IER, 0x00);
	window();
	GUEST_ASSERT_EQ(hits[4], 2);
	pic_set_mask(0xffff);
	guest_printf("pic: uart ok\n");
}

static void
test_spin(void)
{
	uint64_t t0, tsc0, tsc_per_ms, end;

	/* The TSC's rate, from 10 ms of PM timer. */
	t0 = pm_now();
	tsc0 = rdtsc();
	pm_delay_us(10000);
	tsc_per_ms = (rdtsc() - tsc0) * 1000 / pm_to_us(pm_now() - t0);
	GUEST_ASSERT(tsc_per_ms > 0);

	reset_counts();
	unmask_only(1u << 5);
	testdev_irq_pulse(5);
	/* No port I/O and no HLT here: nothing but RDTSC and the loop. */
	tsc0 = rdtsc();
	end = tsc0 + 200 * tsc_per_ms; /* ~0.1 ms normally; a busy host */
	sti();
	while (hits[5] == 0 && rdtsc() < end)
		;
	cli();
	GUEST_ASSERT_EQ(hits[5], 1);
	guest_printf("pic: spin ok (%lu us)\n",
		     (unsigned long)((rdtsc() - tsc0) * 1000 / tsc_per_ms));
	pic_set_mask(0xffff);
}

#define PIT_TICKS 200 /* at 1 kHz */

static void
test_pit(void)
{
	uint64_t t0, t1, us;

	reset_counts();
	unmask_only(1u << 0);
	pit_program(0, 2, (uint16_t)((PIT_HZ + 500) / 1000));
	/* Start timing at an interrupt. */
	while (hits[0] == 0)
		sti_hlt();
	cli();
	t0 = pm_now();
	GUEST_ASSERT_EQ(isr_at[0], 1u << 0);
	while (hits[0] < 1 + PIT_TICKS) {
		sti_hlt();
		cli();
	}
	t1 = pm_now();
	pit_stop(0);
	pic_set_mask(0xffff);
	us = pm_to_us(t1 - t0);
	guest_printf("pic: %d IRQ0 in %lu us\n", PIT_TICKS, (unsigned long)us);
	/*
	 * Never faster than the rate.  Slower only by ticks lost (coalesced
	 * in IRR) while a busy host did not run the vCPU.
	 */
	GUEST_ASSERT(us >= (PIT_TICKS - 1) * 1000ULL);
	GUEST_ASSERT(us <= PIT_TICKS * 1000ULL * 3);
	GUEST_ASSERT_EQ(spurious[0] + spurious[1], 0);
	guest_printf("pic: pit ok\n");
}

int
guest_main(void)
{
	for (unsigned int v = PIC_M_BASE; v < PIC_M_BASE + 16; v++)
		guest_set_trap_handler(v, on_irq);
	test_init();
	test_edge();
	test_level();
	test_spurious();
	test_priority();
	test_poll();
	test_mask();
	test_smm();
	test_aeoi();
	test_uart();
	test_spin();
	test_pit();
	guest_printf("pic: ok\n");
	return 0;
}
