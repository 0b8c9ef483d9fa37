/*
 * hpet: the HPET at 0xfed00000 against the ACPI PM timer, with legacy
 * replacement routing (timer 0 on IRQ0, timer 1 on IRQ8) into the 8259
 * pair.  The PIT is never programmed, so IRQ0 is the HPET's alone.
 *
 *   caps      revision, 8 timers, 64-bit counter, legacy replacement,
 *             the counter period; every timer periodic and 64-bit capable
 *   counter   the main counter runs at its period (64- and 32-bit reads)
 *   one-shot  timer 0: one IRQ0, never before the comparator
 *   periodic  timer 0 at 200 Hz (Linux's VAL_SET sequence) for 40
 *             periods, timed by the PM timer; the comparator moves on
 *   level     timer 0 level-triggered: the status bit is set in the
 *             handler and cleared by writing 1
 *   timer 1   32-bit mode, on IRQ8
 *
 * Timing as in pit.c: events are bracketed by PM-timer reads; "never
 * early" bounds are strict, latency bounds generous.
 */
#include "guest.h"
#include "pc.h"

#define US_PER_S 1000000ULL

static uint64_t freq; /* counter ticks per second */
static volatile int irqs[16];
static volatile uint64_t irq_pm[16]; /* PM time in the last handler */
static volatile uint64_t isr_seen;   /* the status register in it */
static volatile bool clear_status;   /* write it back (level mode) */

static void
on_irq(struct guest_trap_frame *tf)
{
	int irq = (int)tf->vector - PIC_M_BASE;

	irq_pm[irq] = pm_now();
	if (clear_status) {
		isr_seen = hpet_read64(HPET_ISR);
		hpet_write32(HPET_ISR, (uint32_t)isr_seen);
	}
	irqs[irq]++;
	pic_eoi(irq);
}

/* A moment known to lie within [lo, hi] on the PM timer. */
struct span {
	uint64_t lo, hi;
};

static uint64_t
counter_at(struct span *s)
{
	uint64_t c;

	s->lo = pm_now();
	c = hpet_read64(HPET_COUNTER);
	s->hi = pm_now();
	return c;
}

/*
 * The 8259 pair initialised afresh, which drops the requests it latched,
 * with IRQ0, the cascade and IRQ8 unmasked (the HPET's legacy lines).
 */
static void
pic_legacy(void)
{
	pic_init(0x01, 0x01);
	pic_set_mask((uint16_t) ~(1u << 0 | 1u << 2 | 1u << 8));
}

/*
 * Timer n's comparator 'delta' counter ticks ahead of a counter read
 * (64 or 32 bits wide), with interrupts off; *a brackets that read.  A
 * one-shot comparator matches when the counter reaches it, so one the
 * counter has already passed (the vCPU was descheduled for 'delta')
 * would match only after the counter wraps and the guest would halt for
 * good: then it is set again, as Linux's HPET driver does when it sees
 * -ETIME.  The counter may also have passed it after the write landed:
 * that match fired, so its status bit and the request the 8259 latched
 * are dropped first, else the interrupt would come early.
 */
static void
arm_comparator(int n, uint64_t delta, bool wide, struct span *a)
{
	uint64_t c;

	for (;;) {
		c = counter_at(a);
		if (wide)
			hpet_write64(HPET_TCMP(n), c + delta);
		else
			hpet_write32(HPET_TCMP(n), (uint32_t)(c + delta));
		if (hpet_read64(HPET_COUNTER) < c + delta)
			return;
		hpet_write32(HPET_ISR, 1u << n);
		pic_legacy();
	}
}

/* PM ticks (of spans up to minutes) to counter ticks. */
static uint64_t
pm_to_hpet(uint64_t pm)
{
	return pm / PMTMR_HZ * freq + pm % PMTMR_HZ * freq / PMTMR_HZ;
}

/* Wait with sti;hlt for interrupt number n on 'irq'. */
static void
irq_wait(int irq, int n)
{
	uint64_t end = pm_now() + us_to_pm(5 * US_PER_S);

	while (irqs[irq] < n) {
		sti_hlt();
		cli();
		GUEST_ASSERT(pm_now() < end);
	}
}

/* Interrupts on for 'us' with exits (PM-timer polls) to inject at. */
static void
window(uint64_t us)
{
	sti();
	pm_delay_us(us);
	cli();
}

static void
test_caps(void)
{
	uint64_t cap = hpet_read64(HPET_CAP), period = cap >> 32;
	uint64_t tcfg;

	GUEST_ASSERT((cap & 0xff) != 0);                 /* revision */
	GUEST_ASSERT_EQ(((cap >> 8) & 0x1f) + 1, 8);     /* timers */
	GUEST_ASSERT(cap & (1u << 13));                  /* 64-bit */
	GUEST_ASSERT(cap & (1u << 15));                  /* legacy route */
	GUEST_ASSERT(period > 0 && period <= 100000000); /* <= 100 ns */
	GUEST_ASSERT_EQ(hpet_read32(HPET_CAP + 4), period);
	freq = 1000000000000000ULL / period;
	for (int n = 0; n < 8; n++) {
		tcfg = hpet_read64(HPET_TCFG(n));
		GUEST_ASSERT_EQ(tcfg & (HPET_TN_PER_CAP | HPET_TN_64_CAP),
				HPET_TN_PER_CAP | HPET_TN_64_CAP);
		GUEST_ASSERT((tcfg >> 32) != 0); /* some I/O APIC route */
		GUEST_ASSERT((tcfg & (1u << 15)) == 0); /* no FSB */
	}
	guest_printf("hpet: 8 timers, %lu fs per tick (%lu Hz)\n",
		     (unsigned long)period, (unsigned long)freq);
}

static void
test_counter(void)
{
	struct span a, b;
	uint64_t c0, c1, lo, hi;
	uint32_t l0, l1;

	hpet_write64(HPET_CONFIG, 0);
	hpet_write64(HPET_COUNTER, 0);
	c0 = hpet_read64(HPET_COUNTER);
	pm_delay_us(2000);
	GUEST_ASSERT_EQ(hpet_read64(HPET_COUNTER), c0); /* stopped */
	hpet_write64(HPET_CONFIG, HPET_CNF_ENABLE);
	for (int round = 0; round < 3; round++) {
		c0 = counter_at(&a);
		pm_delay_us(20000);
		c1 = counter_at(&b);
		lo = pm_to_hpet(b.lo - a.hi);
		hi = pm_to_hpet(b.hi - a.lo) + 2;
		if (c1 - c0 + 2 < lo || c1 - c0 > hi) {
			guest_printf("hpet: %lu ticks in %lu..%lu\n",
				     (unsigned long)(c1 - c0),
				     (unsigned long)lo, (unsigned long)hi);
			GUEST_ASSERT(0);
		}
	}
	guest_printf("hpet: 20 ms = %lu ticks\n", (unsigned long)(c1 - c0));
	l0 = hpet_read32(HPET_COUNTER);
	pm_delay_us(1000);
	l1 = hpet_read32(HPET_COUNTER);
	GUEST_ASSERT((uint32_t)(l1 - l0) >= freq / 1000 - 2);
	guest_printf("hpet: counter ok\n");
}

static void
legacy_on(void)
{
	hpet_write64(HPET_CONFIG, HPET_CNF_ENABLE | HPET_CNF_LEG_RT);
	pic_legacy();
	for (int i = 0; i < 16; i++)
		irqs[i] = 0;
}

static void
test_oneshot(void)
{
	struct span a;
	uint64_t us;

	legacy_on();
	hpet_write64(HPET_TCFG(0), HPET_TN_ENB);
	arm_comparator(0, freq / 100, true, &a); /* 10 ms */
	irq_wait(0, 1);
	us = pm_to_us(irq_pm[0] - a.lo);
	guest_printf("hpet: one-shot: IRQ0 after %lu us\n", (unsigned long)us);
	/* Never early; late only by an interrupt's latency (< 100 ms). */
	GUEST_ASSERT(pm_to_hpet(irq_pm[0] - a.lo) + 2 >= freq / 100);
	GUEST_ASSERT(pm_to_us(irq_pm[0] - a.hi) <= 110000);
	/* Once. */
	pm_delay_us(20000);
	window(300);
	GUEST_ASSERT_EQ(irqs[0], 1);
	GUEST_ASSERT_EQ(hpet_read64(HPET_ISR), 0); /* edge: no status */
	hpet_write64(HPET_TCFG(0), 0);
	guest_printf("hpet: one-shot ok\n");
}

static void
test_periodic(void)
{
	const int n = 40;
	const uint64_t period_us = 5000; /* 200 Hz */
	uint64_t period = freq / 200, t0, t1, us, comp, c;

	legacy_on();
	/* As Linux: VAL_SET, the first comparator, then the period. */
	hpet_write64(HPET_TCFG(0),
		     HPET_TN_ENB | HPET_TN_PERIOD | HPET_TN_VAL_SET);
	c = hpet_read64(HPET_COUNTER);
	hpet_write64(HPET_TCMP(0), c + period);
	hpet_write64(HPET_TCMP(0), period);
	irq_wait(0, 1);
	t0 = irq_pm[0];
	irq_wait(0, n + 1);
	t1 = irq_pm[0];
	comp = hpet_read64(HPET_TCMP(0));
	c = hpet_read64(HPET_COUNTER);
	hpet_write64(HPET_TCFG(0), 0);
	us = pm_to_us(t1 - t0);
	guest_printf("hpet: periodic: %d periods of %lu us in %lu us\n", n,
		     (unsigned long)period_us, (unsigned long)us);
	GUEST_ASSERT(us >= (n - 1) * period_us);
	GUEST_ASSERT(us <= n * period_us * 3);
	/* The comparator is the next match: ahead, by whole periods. */
	GUEST_ASSERT(comp + period > c);
	guest_printf("hpet: periodic ok\n");
}

static void
test_level(void)
{
	struct span a;

	legacy_on();
	clear_status = true;
	/*
	 * The comparator still holds the periodic test's next match, up to
	 * a period ahead: park it far away before enabling the timer, or a
	 * vCPU descheduled before the write below sees that match fire.
	 */
	hpet_write64(HPET_TCMP(0), hpet_read64(HPET_COUNTER) + freq * 3600);
	hpet_write64(HPET_TCFG(0), HPET_TN_ENB | HPET_TN_LEVEL);
	arm_comparator(0, freq / 500, true, &a); /* 2 ms */
	irq_wait(0, 1);
	GUEST_ASSERT_EQ(isr_seen & 1, 1);
	GUEST_ASSERT_EQ(hpet_read64(HPET_ISR) & 1, 0);
	GUEST_ASSERT(pm_to_hpet(irq_pm[0] - a.lo) + 2 >= freq / 500);
	/* Cleared, the line fell: the next match interrupts again. */
	arm_comparator(0, freq / 500, true, &a);
	irq_wait(0, 2);
	clear_status = false;
	hpet_write64(HPET_TCFG(0), 0);
	guest_printf("hpet: level ok\n");
}

static void
test_timer1(void)
{
	struct span a;

	legacy_on();
	hpet_write64(HPET_TCFG(1), HPET_TN_ENB | HPET_TN_32MODE);
	arm_comparator(1, freq / 200, false, &a);
	GUEST_ASSERT_EQ(hpet_read32(HPET_TCMP(1) + 4), 0);
	irq_wait(8, 1);
	GUEST_ASSERT(pm_to_hpet(irq_pm[8] - a.lo) + 2 >= freq / 200);
	GUEST_ASSERT_EQ(irqs[0], 0);
	hpet_write64(HPET_TCFG(1), 0);
	hpet_write64(HPET_CONFIG, 0);
	pic_set_mask(0xffff);
	guest_printf("hpet: timer 1 ok\n");
}

int
guest_main(void)
{
	for (int i = 0; i < 16; i++)
		guest_set_trap_handler(PIC_M_BASE + i, on_irq);
	pic_init(0x01, 0x01);
	pic_set_mask(0xffff);
	test_caps();
	test_counter();
	test_oneshot();
	test_periodic();
	test_level();
	test_timer1();
	guest_printf("hpet: ok\n");
	return 0;
}
