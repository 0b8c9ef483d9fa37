/*
 * pit: the 8254 against the ACPI PM timer.
 *
 *   status    read-back status bytes (OUT, null count, mode bits)
 *   latch     counter latch: the count runs at 1.193182 MHz; a second
 *             latch before the read is ignored; read-back latches two
 *             counters at once
 *   access    LSB-only, MSB-only and BCD counting
 *   mode 0    interrupt on terminal count: one IRQ0 after the count
 *   mode 2/3  rate generator and square wave: IRQ0 at the programmed rate
 *   mode 4    software strobe: one IRQ0
 *   port 0x61 counter 2's gate and output: mode 0 paused by the gate,
 *             mode 1 triggered by it, mode 3's square wave, mode 5 waiting
 *             for its trigger; the refresh bit toggles
 *
 * Timing: the vCPU may be descheduled at any point (a loaded host, and
 * the VM's clock goes on), so every action and every poll is bracketed by
 * PM-timer reads and checked against bounds that hold however long the
 * brackets are: an event in [a.lo, a.hi] and one in [b.lo, b.hi] that the
 * PIT puts T ticks apart need b.hi - a.lo >= T and b.lo - a.hi <= T.
 * Only the latency of an interrupt has a (generous) upper bound.
 */
#include "guest.h"
#include "pc.h"

#define SLACK 3 /* PIT ticks: PM/PIT rounding */

static volatile int irq0;

static void
on_irq0(struct guest_trap_frame *tf __attribute__((unused)))
{
	irq0++;
	outb(PIC_M_CMD, PIC_EOI);
}

/* Interrupts on for 300 us, with exits (PM-timer polls) to inject at. */
static void
window(void)
{
	sti();
	pm_delay_us(300);
	cli();
}

/*
 * Counter 0 stopped, and the PIC re-initialized: an IRQ0 edge latched in
 * IRR while it was masked (earlier tests) would otherwise come at once.
 */
static void
irq0_reset(void)
{
	pit_stop(0);
	pic_init(0x01, 0x01);
	pic_set_mask((uint16_t)~1u);
	irq0 = 0;
}

/* PM-timer ticks to PIT ticks, signed. */
static int64_t
pit_ticks(int64_t pm)
{
	return pm * (int64_t)PIT_HZ / (int64_t)PMTMR_HZ;
}

static uint64_t
pit_to_us(uint64_t ticks)
{
	return ticks * 1000000ULL / PIT_HZ;
}

/* A moment known to lie within [lo, hi] on the PM timer. */
struct span {
	uint64_t lo, hi;
};

static struct span
out_at(uint16_t port, uint8_t v)
{
	struct span s;

	s.lo = pm_now();
	outb(port, v);
	s.hi = pm_now();
	return s;
}

/*
 * Event b follows event a by 'ticks' PIT ticks plus any whole number of
 * 'period's (0: exactly 'ticks').  Returns the number of periods.
 */
static int64_t
expect_gap(const char *what, struct span a, struct span b, int64_t ticks,
	   int64_t period)
{
	int64_t lo = pit_ticks((int64_t)(b.lo - a.hi)) - SLACK;
	int64_t hi = pit_ticks((int64_t)(b.hi - a.lo)) + SLACK;
	int64_t k = 0;

	if (period > 0 && lo > ticks)
		k = (lo - ticks + period - 1) / period;
	if (ticks + k * period < lo || ticks + k * period > hi) {
		guest_printf("pit: %s: %ld ticks (+ n * %ld) not within "
			     "%ld..%ld\n",
			     what, (long)ticks, (long)period, (long)lo,
			     (long)hi);
		GUEST_ASSERT(0);
	}
	return k;
}

/* d = (x - y) mod m lies within [lo, hi] (hi - lo < m). */
static bool
mod_in(uint32_t d, int64_t lo, int64_t hi, uint32_t m)
{
	int64_t off = ((int64_t)d - lo) % m;

	if (off < 0)
		off += m;
	return off <= hi - lo;
}

static void
test_status(void)
{
	uint16_t c;

	outb(PIT_CMD, 0x34); /* counter 0, LSB then MSB, mode 2 */
	/* Mode 2's OUT starts high; no count yet. */
	GUEST_ASSERT_EQ(pit_status(0), 0x80 | 0x40 | 0x34);
	outb(PIT_CH0, 0);
	GUEST_ASSERT_EQ(pit_status(0), 0x80 | 0x40 | 0x34); /* half a count */
	outb(PIT_CH0, 0);
	GUEST_ASSERT_EQ(pit_status(0), 0x80 | 0x34);
	outb(PIT_CMD, 0x30); /* mode 0: OUT starts low */
	GUEST_ASSERT_EQ(pit_status(0), 0x40 | 0x30);
	/* BCD and the access mode show in the status. */
	outb(PIT_CMD, 0x97); /* counter 2, LSB only, mode 3, BCD */
	GUEST_ASSERT_EQ(pit_status(2) & 0x7f, 0x40 | 0x17);
	/* Read-back of status and count: the status comes first. */
	pit_program(0, 2, 60000);
	outb(PIT_CMD, 0xc2);
	GUEST_ASSERT_EQ(inb(PIT_CH0) & 0x7f, 0x34);
	c = inb(PIT_CH0);
	c |= (uint16_t)(inb(PIT_CH0) << 8);
	GUEST_ASSERT(c >= 1 && c <= 60000);
	pit_stop(0);
	guest_printf("pit: status ok\n");
}

/* Latch counter 'ch' (bracketed) and read the latch. */
static uint16_t
latch_at(int ch, struct span *s)
{
	uint16_t v;

	*s = out_at(PIT_CMD, (uint8_t)(ch << 6));
	v = inb((uint16_t)(PIT_CH0 + ch));
	return (uint16_t)(v | inb((uint16_t)(PIT_CH0 + ch)) << 8);
}

static uint16_t
read_latched(int ch)
{
	uint16_t v = inb((uint16_t)(PIT_CH0 + ch));

	return (uint16_t)(v | inb((uint16_t)(PIT_CH0 + ch)) << 8);
}

/* Counter 'ch' runs mode 2 from 65536: b's count is a's less the gap. */
static void
expect_count_gap(const char *what, uint16_t ca, struct span a, uint16_t cb,
		 struct span b)
{
	int64_t lo = pit_ticks((int64_t)(b.lo - a.hi)) - SLACK;
	int64_t hi = pit_ticks((int64_t)(b.hi - a.lo)) + SLACK;

	if (hi - lo >= 65536)
		return; /* descheduled for a whole period: no information */
	if (!mod_in((uint16_t)(ca - cb), lo, hi, 65536)) {
		guest_printf("pit: %s: %u - %u not within %ld..%ld\n", what, ca,
			     cb, (long)lo, (long)hi);
		GUEST_ASSERT(0);
	}
}

static void
test_latch(void)
{
	struct span a, b, d0, d2;
	uint16_t c1, c2, c0, c0n, c2n;

	pit_program(0, 2, 0); /* 65536: 54.9 ms per period */
	for (int round = 0; round < 3; round++) {
		c1 = latch_at(0, &a);
		pm_delay_us(20000);
		c2 = latch_at(0, &b);
		expect_count_gap("20 ms", c1, a, c2, b);
	}
	guest_printf("pit: 20 ms = %u PIT ticks\n", (uint16_t)(c1 - c2));

	/* A latch not yet read holds; a second latch command is ignored. */
	c1 = latch_at(0, &a);
	b = out_at(PIT_CMD, 0x00);
	pm_delay_us(5000);
	outb(PIT_CMD, 0x00);
	c2 = read_latched(0);
	expect_count_gap("held latch", c1, a, c2, b);

	/* Read-back: counters 0 and 2 latched by one command. */
	outb(NMISC, NMISC_GATE2);
	pit_program(2, 2, 0);
	c0 = latch_at(0, &a); /* a reference on each counter */
	c2 = latch_at(2, &d2);
	b = out_at(PIT_CMD, 0xda); /* latch the count of 0 and 2 */
	pm_delay_us(3000);
	c0n = read_latched(0);
	c2n = read_latched(2);
	expect_count_gap("read-back 0", c0, a, c0n, b);
	expect_count_gap("read-back 2", c2, d2, c2n, b);
	/* And the latches are consumed: reads follow the counter again. */
	c1 = latch_at(0, &d0);
	expect_count_gap("after read-back", c0, a, c1, d0);
	pit_stop(0);
	pit_stop(2);
	outb(NMISC, 0);
	guest_printf("pit: latch ok\n");
}

static bool
bcd_ok(uint16_t v)
{
	for (int i = 0; i < 4; i++)
		if (((v >> (4 * i)) & 0xf) > 9)
			return false;
	return true;
}

static void
test_access(void)
{
	uint16_t v;

	outb(NMISC, NMISC_GATE2);
	/* LSB only: 200.  (OUT is low one tick in 200: not checked.) */
	outb(PIT_CMD, 0x94);
	outb(PIT_CH2, 200);
	GUEST_ASSERT_EQ(pit_status(2) & 0x7f, 0x14);
	for (int i = 0; i < 20; i++) {
		v = inb(PIT_CH2);
		GUEST_ASSERT(v >= 1 && v <= 200);
	}
	/* MSB only: 0x1000. */
	outb(PIT_CMD, 0xa4);
	outb(PIT_CH2, 0x10);
	for (int i = 0; i < 20; i++)
		GUEST_ASSERT(inb(PIT_CH2) <= 0x10);
	/* BCD: 1000 decimal, read back in BCD. */
	outb(PIT_CMD, 0xb5);
	outb(PIT_CH2, 0x00);
	outb(PIT_CH2, 0x10);
	for (int i = 0; i < 20; i++) {
		v = pit_latch_read(2);
		GUEST_ASSERT(bcd_ok(v));
		GUEST_ASSERT(v >= 1 && v <= 0x1000);
	}
	/* Unlatched 16-bit reads alternate LSB, MSB. */
	pit_program(2, 2, 0x8000);
	v = inb(PIT_CH2);
	v |= (uint16_t)(inb(PIT_CH2) << 8);
	GUEST_ASSERT(v >= 1 && v <= 0x8000);
	pit_stop(2);
	outb(NMISC, 0);
	guest_printf("pit: access ok\n");
}

/* Program counter 'ch' with the MSB write bracketed: the count starts. */
static struct span
program_at(int ch, int mode, uint16_t count)
{
	outb(PIT_CMD, (uint8_t)(ch << 6 | 0x30 | mode << 1));
	outb((uint16_t)(PIT_CH0 + ch), (uint8_t)count);
	return out_at((uint16_t)(PIT_CH0 + ch), (uint8_t)(count >> 8));
}

/* Wait for the next IRQ0 with sti;hlt; when it was seen (bracket end). */
static struct span
irq0_at(int n)
{
	struct span s;

	s.lo = pm_now(); /* refined by the caller where it knows better */
	while (irq0 < n) {
		sti_hlt();
		cli();
	}
	s.hi = pm_now();
	return s;
}

static void
test_mode0(void)
{
	struct span p, irq, r;
	uint16_t c;
	int64_t lo, hi;

	irq0_reset();
	p = program_at(0, 0, 59659); /* 50 ms: outlasts a descheduled vCPU */
	GUEST_ASSERT_EQ(pit_status(0) & 0xc0, 0); /* OUT low, counting */
	irq = irq0_at(1);
	irq.lo = p.lo; /* the edge is not before the count started */
	guest_printf("pit: mode 0: IRQ0 after %lu us\n",
		     (unsigned long)pm_to_us(irq.hi - p.lo));
	/* Never early; late only by an interrupt's latency (< 1 s on a loaded
	 * host). */
	GUEST_ASSERT(pit_ticks((int64_t)(irq.hi - p.lo)) >= 59659 - SLACK);
	GUEST_ASSERT(pm_to_us(irq.hi - p.hi) <= 1000000);
	GUEST_ASSERT_EQ(pit_status(0) & 0xc0, 0x80); /* OUT high */
	/* One interrupt only; the count wraps past zero and goes on. */
	pm_delay_us(20000);
	window();
	GUEST_ASSERT_EQ(irq0, 1);
	c = latch_at(0, &r);
	lo = pit_ticks((int64_t)(r.lo - p.hi)) - SLACK;
	hi = pit_ticks((int64_t)(r.hi - p.lo)) + SLACK;
	GUEST_ASSERT(hi - lo >= 65536 ||
		     mod_in((uint16_t)(59659 - c), lo, hi, 65536));
	pit_stop(0);
	pic_set_mask(0xffff);
	guest_printf("pit: mode 0 ok\n");
}

/* 'n' periods of IRQ0 in 'mode' at 'count', timed by the PM timer. */
static void
measure_irq0(int mode, uint16_t count, int n)
{
	uint64_t tp, t0, t1, us, period_us = pit_to_us(count);
	uint16_t c;

	irq0_reset();
	tp = pm_now();
	pit_program(0, mode, count);
	for (int i = 0; i < 20; i++) {
		c = pit_latch_read(0);
		GUEST_ASSERT(c >= 1 && c <= count);
		if (mode == 3)
			GUEST_ASSERT((c & 1) == 0); /* even count: steps of 2 */
	}
	/* Time from an interrupt to an interrupt. */
	irq0_at(1);
	t0 = pm_now();
	irq0_at(n + 1);
	t1 = pm_now();
	pit_stop(0);
	pic_set_mask(0xffff);
	us = pm_to_us(t1 - t0);
	guest_printf("pit: mode %d: %d periods of %lu us in %lu us\n", mode, n,
		     (unsigned long)period_us, (unsigned long)us);
	/*
	 * Never early: the (n+1)th interrupt comes n+1 periods after the
	 * programming at the soonest (the first one may have been taken
	 * late, by more than a period on a busy host, so the span between
	 * interrupts proves nothing).  Late by lost (coalesced) periods of
	 * a busy host.
	 */
	GUEST_ASSERT(pm_to_us(t1 - tp) >= (n + 1) * period_us);
	GUEST_ASSERT(us <= n * period_us * 3);
}

static void
test_periodic(void)
{
	measure_irq0(2, 2386, 50); /* 500 Hz */
	guest_printf("pit: mode 2 ok\n");
	measure_irq0(3, 2386, 50);
	guest_printf("pit: mode 3 ok\n");
}

static void
test_mode4(void)
{
	struct span p, irq;

	irq0_reset();
	p = program_at(0, 4, 5966); /* 5 ms */
	irq = irq0_at(1);
	guest_printf("pit: mode 4: IRQ0 after %lu us\n",
		     (unsigned long)pm_to_us(irq.hi - p.lo));
	/* OUT goes low at the count and back up (the edge) a tick later. */
	GUEST_ASSERT(pit_ticks((int64_t)(irq.hi - p.lo)) >= 5967 - SLACK);
	GUEST_ASSERT(pm_to_us(irq.hi - p.hi) <= 1000000);
	pm_delay_us(15000);
	window();
	GUEST_ASSERT_EQ(irq0, 1);
	pit_stop(0);
	pic_set_mask(0xffff);
	guest_printf("pit: mode 4 ok\n");
}

static bool
out2(void)
{
	return (inb(NMISC) & NMISC_OUT2) != 0;
}

/*
 * An edge of OUT2 lies within [lo, hi]; OUT2 had its new level when the
 * poll that began at 'seen' (<= hi) read it: the next edge is later.
 */
struct edge {
	uint64_t lo, hi, seen;
};

/*
 * Poll OUT2 until it shows 'level'.  OUT2 was known to be !level at
 * 'since' (0: find out first).
 */
static struct edge
wait_edge(bool level, uint64_t since)
{
	uint64_t end = pm_now() + us_to_pm(500000), t0, t1;
	struct edge e = { since, 0, 0 };
	bool seen_old = since != 0;

	for (;;) {
		t0 = pm_now();
		bool v = out2();
		t1 = pm_now();
		if (v != level) {
			seen_old = true;
			e.lo = t0;
		} else if (seen_old) {
			e.hi = t1;
			e.seen = t0;
			return e;
		}
		GUEST_ASSERT(t1 < end);
	}
}

static struct span
edge_span(struct edge e)
{
	return (struct span){ e.lo, e.hi };
}

static void
test_port61(void)
{
	struct span g, l, h, p;
	struct edge e, r1, f1, r2;
	int toggles = 0, tries;
	int64_t cmin, cmax, periods;
	uint16_t c1, c2;
	uint8_t v, last;

	/* Bits 0-3 are stored, 6-7 read 0. */
	outb(NMISC, 0x0f);
	GUEST_ASSERT_EQ(inb(NMISC) & 0xcf, 0x0f);
	outb(NMISC, 0x00);
	GUEST_ASSERT_EQ(inb(NMISC) & 0xcf, 0x00);
	/* The refresh bit toggles every 15 us. */
	last = inb(NMISC) & NMISC_REFRESH;
	for (int i = 0; i < 200; i++) {
		v = inb(NMISC) & NMISC_REFRESH;
		toggles += v != last;
		last = v;
	}
	GUEST_ASSERT(toggles > 0);

	/* Mode 0 with the gate low does not count. */
	pit_program(2, 0, 11932); /* 10 ms */
	GUEST_ASSERT(!out2());
	pm_delay_us(15000);
	GUEST_ASSERT(!out2());
	/* Gate high: OUT2 rises 10 ms later (Linux's PIT calibration). */
	g = out_at(NMISC, NMISC_GATE2);
	e = wait_edge(true, g.lo);
	guest_printf("pit: counter 2 mode 0: OUT2 after %lu us\n",
		     (unsigned long)pm_to_us(e.hi - g.lo));
	expect_gap("mode 0 from the gate", g, edge_span(e), 11932, 0);

	/* Lowering the gate pauses mode 0: ~4 ms, a pause, the rest. */
	/* Each try is valid or retried: a loaded host may need many. */
	for (tries = 0; tries < 20; tries++) {
		p = program_at(2, 0, 11932);
		pm_delay_us(4000);
		l = out_at(NMISC, 0);
		cmin = pit_ticks((int64_t)(l.lo - p.hi)) - SLACK;
		cmax = pit_ticks((int64_t)(l.hi - p.lo)) + SLACK;
		if (cmax < 11932)
			break;
		outb(NMISC, NMISC_GATE2); /* descheduled past the count */
	}
	GUEST_ASSERT(tries < 20);
	pm_delay_us(10000);
	GUEST_ASSERT(!out2());
	h = out_at(NMISC, NMISC_GATE2);
	e = wait_edge(true, h.lo);
	if (pit_ticks((int64_t)(e.hi - h.lo)) + SLACK < 11932 - cmax ||
	    pit_ticks((int64_t)(e.lo - h.hi)) - SLACK > 11932 - cmin) {
		guest_printf("pit: paused mode 0 resumed wrongly\n");
		GUEST_ASSERT(0);
	}

	/* Mode 1: the gate's rising edge starts a 5 ms low pulse. */
	outb(NMISC, 0);
	pit_program(2, 1, 5966);
	GUEST_ASSERT(out2());
	pm_delay_us(2000);
	GUEST_ASSERT(out2()); /* not triggered */
	g = out_at(NMISC, NMISC_GATE2);
	e = wait_edge(true, g.lo);
	expect_gap("mode 1 pulse", g, edge_span(e), 5966, 0);
	/* Retriggered. */
	outb(NMISC, 0);
	g = out_at(NMISC, NMISC_GATE2);
	e = wait_edge(true, g.lo);
	expect_gap("mode 1 retriggered", g, edge_span(e), 5966, 0);

	/* Mode 3 at 100 Hz: 5 ms high, 5 ms low. */
	pit_program(2, 3, 11932);
	r1 = wait_edge(true, 0);
	f1 = wait_edge(false, r1.seen);
	expect_gap("mode 3 high half", edge_span(r1), edge_span(f1), 5966,
		   11932);
	r2 = r1;
	for (int i = 0; i < 5; i++) {
		e = wait_edge(false, r2.seen);
		r2 = wait_edge(true, e.seen);
	}
	periods = expect_gap("mode 3 periods", edge_span(r1), edge_span(r2),
			     11932, 11932) +
		  1;
	guest_printf("pit: counter 2 mode 3: %ld periods in %lu us\n",
		     (long)periods, (unsigned long)pm_to_us(r2.hi - r1.lo));

	/* Mode 5 waits for its trigger, then counts. */
	outb(NMISC, 0);
	pit_program(2, 5, 50000);
	c1 = pit_latch_read(2);
	pm_delay_us(2000);
	c2 = pit_latch_read(2);
	GUEST_ASSERT_EQ(c1, c2);
	g = out_at(NMISC, NMISC_GATE2);
	pm_delay_us(2000);
	c2 = latch_at(2, &l);
	cmin = pit_ticks((int64_t)(l.lo - g.hi)) - SLACK;
	cmax = pit_ticks((int64_t)(l.hi - g.lo)) + SLACK;
	GUEST_ASSERT(cmax - cmin >= 65536 ||
		     mod_in((uint16_t)(50000 - c2), cmin, cmax, 65536));
	pit_stop(2);
	outb(NMISC, 0);
	guest_printf("pit: port 0x61 ok\n");
}

int
guest_main(void)
{
	guest_set_trap_handler(PIC_M_BASE, on_irq0);
	pic_init(0x01, 0x01);
	pic_set_mask(0xffff);
	test_status();
	test_latch();
	test_access();
	test_mode0();
	test_periodic();
	test_mode4();
	test_port61();
	guest_printf("pit: ok\n");
	return 0;
}
