/*
 * rtc: the MC146818 RTC against the ACPI PM timer.
 *
 *   date      read at an update (UIP seen high, then low): a valid date,
 *             year 2024 or later, a day of week that fits it; UIP is high
 *             no longer than 244 us; two updates later the date moved on
 *             by exactly the time between them (binary, 12-hour format)
 *   periodic  IRQ 8 at 64 Hz (register A rate 10) for 32 periods, timed
 *             by the PM timer; C shows IRQF and PF in the handler
 *   update    the update-ended interrupt
 *   alarm     the alarm interrupt two seconds ahead (don't-care minutes
 *             and hours)
 *   set       SET, a new date (2099-12-31 23:59:59), SET cleared: the
 *             clock counts from it into the next century
 *
 * Run with `-o rtc.time=S` the date printed is S (give or take the
 * seconds the boot took); the checks hold for any date from 2024 on.
 *
 * Timing: every poll is bracketed by PM-timer reads; bounds hold however
 * long the brackets are (a vCPU may be descheduled anywhere), and only an
 * interrupt's latency has a (generous) upper bound.
 */
#include "guest.h"
#include "pc.h"

#define US_PER_S 1000000LL

static volatile int irq8;
static volatile uint8_t irq8_c;   /* register C in the last handler */
static volatile uint64_t irq8_pm; /* PM time in the last handler */
static volatile uint8_t irq8_sec; /* the seconds register then */

static void
on_irq8(struct guest_trap_frame *tf __attribute__((unused)))
{
	irq8_pm = pm_now();
	irq8_c = cmos_read(RTC_REG_C); /* and the next interrupt may come */
	irq8_sec = cmos_read(RTC_SEC);
	irq8++;
	pic_eoi(RTC_IRQ);
}

struct date {
	int64_t year;
	int mon, day, hour, min, sec, dow;
};

/* A moment known to lie within [lo, hi] on the PM timer. */
struct span {
	uint64_t lo, hi;
};

static int
from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t
to_bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | v % 10);
}

/* Days since 1970-01-01 (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t
date_secs(const struct date *d)
{
	return days_from_civil(d->year, d->mon, d->day) * 86400 +
	       d->hour * 3600 + d->min * 60 + d->sec;
}

/* The date as register B's format has it. */
static struct date
read_date(void)
{
	uint8_t b = cmos_read(RTC_REG_B), h;
	int (*conv)(uint8_t) = from_bcd;
	struct date d;

	if (b & RTCB_BIN)
		conv = NULL;
#define CONV(v) (conv != NULL ? conv(v) : (int)(v))
	d.sec = CONV(cmos_read(RTC_SEC));
	d.min = CONV(cmos_read(RTC_MIN));
	h = cmos_read(RTC_HOUR);
	if (b & RTCB_24H) {
		d.hour = CONV(h);
	} else {
		d.hour = CONV(h & 0x7f);
		GUEST_ASSERT(d.hour >= 1 && d.hour <= 12);
		d.hour = d.hour % 12 + (h & 0x80 ? 12 : 0);
	}
	d.dow = CONV(cmos_read(RTC_DOW));
	d.day = CONV(cmos_read(RTC_DAY));
	d.mon = CONV(cmos_read(RTC_MONTH));
	d.year = CONV(cmos_read(RTC_YEAR)) + 100 * CONV(cmos_read(RTC_CENTURY));
#undef CONV
	return d;
}

static void
print_date(const char *what, const struct date *d)
{
	guest_printf("rtc: %s %04ld-%02d-%02d %02d:%02d:%02d", what,
		     (long)d->year, d->mon, d->day, d->hour, d->min, d->sec);
}

static void
check_date(const struct date *d)
{
	static const int dim[12] = { 31, 29, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int64_t days;

	GUEST_ASSERT(d->sec >= 0 && d->sec <= 59);
	GUEST_ASSERT(d->min >= 0 && d->min <= 59);
	GUEST_ASSERT(d->hour >= 0 && d->hour <= 23);
	GUEST_ASSERT(d->mon >= 1 && d->mon <= 12);
	GUEST_ASSERT(d->day >= 1 && d->day <= dim[d->mon - 1]);
	GUEST_ASSERT(d->year >= 2024 && d->year <= 9999);
	/* 1970-01-01 was a Thursday: day of week 5 with Sunday 1. */
	days = days_from_civil(d->year, d->mon, d->day);
	GUEST_ASSERT_EQ(d->dow, (days + 4) % 7 + 1);
}

static int updates_seen, uip_seen;

/*
 * Wait for an update by the update-ended flag: for a host too busy to let
 * the vCPU see UIP's 244 us.  The update came after the previous read of
 * C and by the one that shows UF.
 */
static struct span
wait_uf(void)
{
	uint64_t end = pm_now() + us_to_pm(5 * US_PER_S), t0, t1, prev = 0;
	uint8_t c;

	for (;;) {
		t0 = pm_now();
		c = cmos_read(RTC_REG_C);
		t1 = pm_now();
		if ((c & RTCC_UF) && prev != 0)
			return (struct span){ prev, t1 };
		prev = t0;
		GUEST_ASSERT(t1 < end); /* no update in 5 s */
	}
}

/*
 * Wait for an update: UIP seen high, then low.  Returns when the update
 * (UIP's fall) happened; *uip_min is a lower bound on how long UIP was
 * high (0: unknown).  Polls before the window are one exit (the index
 * stays on A), so that several land in UIP's 244 us even where an exit
 * costs tens of us; but a host that keeps the vCPU off its CPU for ms at
 * a time can hide UIP for seconds: after 3 s the flag in C tells instead.
 */
static struct span
wait_update(uint64_t *uip_min)
{
	uint64_t end = pm_now() + us_to_pm(3 * US_PER_S), t0, t1, last;
	uint64_t first_end;

	*uip_min = 0;
	updates_seen++;
	outb(RTC_INDEX, RTC_REG_A);
	for (;;) {
		bool seen = false;

		for (int i = 0; i < 1000 && !seen; i++)
			seen = (inb(RTC_DATA) & RTCA_UIP) != 0;
		first_end = pm_now();
		/* Still high after the PM read: the fall is yet to come. */
		if (seen && (inb(RTC_DATA) & RTCA_UIP))
			break;
		if (first_end >= end)
			return wait_uf();
	}
	uip_seen++;
	/* High reads began after 'last'; the first ended by first_end. */
	last = first_end;
	for (;;) {
		t0 = pm_now();
		uint8_t a = inb(RTC_DATA);
		t1 = pm_now();
		if (!(a & RTCA_UIP))
			return (struct span){ last, t1 };
		last = t0;
		/* Descheduled from one UIP window into the next: no span. */
		*uip_min =
		    last - first_end < us_to_pm(500000) ? last - first_end : 0;
	}
}

/* Read the date right after an update; consistent if UIP stayed low. */
static struct date
date_at_update(struct span *at)
{
	uint64_t uip;
	struct date d;

	for (;;) {
		*at = wait_update(&uip);
		/* Strict: the observed high span lies inside the 244 us. */
		if (pm_to_us(uip) > 245) {
			guest_printf("rtc: UIP high for %lu us\n",
				     (unsigned long)pm_to_us(uip));
			GUEST_ASSERT(0);
		}
		d = read_date();
		if (!(cmos_read(RTC_REG_A) & RTCA_UIP) &&
		    pm_to_us(pm_now() - at->hi) < 500000)
			return d;
	}
}

/* Updates a and b are 'secs' seconds apart: check against the PM timer. */
static void
expect_seconds(const char *what, struct span a, struct span b, int64_t secs)
{
	int64_t lo = (int64_t)pm_to_us(b.lo - a.hi) - 5;
	int64_t hi = (int64_t)pm_to_us(b.hi - a.lo) + 5;

	if (secs * US_PER_S < lo || secs * US_PER_S > hi) {
		guest_printf("rtc: %s: %ld s between updates %ld..%ld us "
			     "apart\n",
			     what, (long)secs, (long)lo, (long)hi);
		GUEST_ASSERT(0);
	}
}

static void
test_date(void)
{
	struct span u1, u2;
	struct date d1, d2;

	GUEST_ASSERT_EQ(cmos_read(RTC_REG_A) & 0x70, RTCA_DV_32K);
	GUEST_ASSERT_EQ(cmos_read(RTC_REG_B), RTCB_24H);
	GUEST_ASSERT_EQ(cmos_read(RTC_REG_D), 0x80);
	d1 = date_at_update(&u1);
	print_date("date", &d1);
	guest_printf(" (day %d)\n", d1.dow);
	check_date(&d1);
	/* The same clock in binary, 12-hour, at a later update. */
	cmos_write(RTC_REG_B, RTCB_BIN);
	d2 = date_at_update(&u2);
	cmos_write(RTC_REG_B, RTCB_24H);
	check_date(&d2);
	expect_seconds("then", u1, u2, date_secs(&d2) - date_secs(&d1));
	print_date("then", &d2);
	guest_printf(", %lu us later\n",
		     (unsigned long)pm_to_us(u2.hi - u1.lo));
	guest_printf("rtc: date ok\n");
}

static void
irq8_on(void)
{
	guest_set_trap_handler(PIC_S_BASE + 0, on_irq8);
	pic_init(0x01, 0x01);
	pic_set_mask((uint16_t) ~(1u << 2 | 1u << RTC_IRQ));
	irq8 = 0;
	irq8_c = 0;
}

static void
irq8_off(void)
{
	cmos_write(RTC_REG_B, RTCB_24H);
	cmos_read(RTC_REG_C);
	pic_set_mask(0xffff);
}

/* Wait with sti;hlt for interrupt number n; the PM time after it. */
static uint64_t
irq8_wait(int n)
{
	uint64_t end = pm_now() + us_to_pm(5 * US_PER_S);

	while (irq8 < n) {
		sti_hlt();
		cli();
		GUEST_ASSERT(pm_now() < end);
	}
	return pm_now();
}

static void
test_periodic(void)
{
	const int n = 32;
	const uint64_t period_us = 15625; /* 64 Hz */
	uint64_t t0, t1, us;

	irq8_on();
	cmos_write(RTC_REG_A, RTCA_DV_32K | 10);
	cmos_read(RTC_REG_C); /* no stale flag */
	cmos_write(RTC_REG_B, RTCB_24H | RTCB_PIE);
	irq8_wait(1);
	t0 = irq8_pm;
	irq8_wait(n + 1);
	t1 = irq8_pm;
	GUEST_ASSERT_EQ(irq8_c & (RTCC_IRQF | RTCC_PF), RTCC_IRQF | RTCC_PF);
	irq8_off();
	cmos_write(RTC_REG_A, RTCA_DV_32K | 6);
	us = pm_to_us(t1 - t0);
	guest_printf("rtc: periodic: %d periods of %lu us in %lu us\n", n,
		     (unsigned long)period_us, (unsigned long)us);
	/*
	 * At most one period early (the first interrupt may have been taken
	 * late); late by periods lost on a busy host.
	 */
	GUEST_ASSERT(us >= (n - 1) * period_us);
	GUEST_ASSERT(us <= n * period_us * 3);
	guest_printf("rtc: periodic ok\n");
}

static void
test_update_alarm(void)
{
	uint64_t at, since;
	uint8_t alarm;

	/*
	 * Update-ended: an interrupt at the next update, whose seconds the
	 * handler read; then the alarm at the update after it (any minute
	 * and hour).  A vCPU descheduled past that update tries again.
	 */
	for (;;) {
		irq8_on();
		since = pm_now(); /* the update comes after this */
		cmos_read(RTC_REG_C);
		cmos_write(RTC_REG_B, RTCB_24H | RTCB_UIE);
		irq8_wait(1);
		GUEST_ASSERT_EQ(irq8_c & (RTCC_IRQF | RTCC_UF),
				RTCC_IRQF | RTCC_UF);
		at = irq8_pm;
		alarm = to_bcd((from_bcd(irq8_sec) + 1) % 60);
		cmos_write(RTC_REG_B, RTCB_24H);
		cmos_write(RTC_SEC_ALARM, alarm);
		cmos_write(RTC_MIN_ALARM, 0xc0);
		cmos_write(RTC_HOUR_ALARM, 0xff);
		cmos_read(RTC_REG_C);
		irq8 = 0;
		cmos_write(RTC_REG_B, RTCB_24H | RTCB_AIE);
		if (pm_to_us(pm_now() - at) < 800000)
			break;
		irq8_off();
	}
	irq8_wait(1);
	GUEST_ASSERT_EQ(irq8_c & (RTCC_IRQF | RTCC_AF), RTCC_IRQF | RTCC_AF);
	GUEST_ASSERT_EQ(irq8_sec, alarm);
	/* Never early: the alarm's update is a second after the first. */
	GUEST_ASSERT(pm_to_us(irq8_pm - since) >= US_PER_S - 5);
	guest_printf("rtc: alarm %lu us after the update interrupt\n",
		     (unsigned long)pm_to_us(irq8_pm - at));
	irq8_off();
	guest_printf("rtc: update and alarm ok\n");
}

static void
test_set(void)
{
	struct span c, u;
	struct date d;
	int64_t k;

	cmos_write(RTC_REG_B, RTCB_24H | RTCB_SET);
	cmos_write(RTC_SEC, 0x59);
	cmos_write(RTC_MIN, 0x59);
	cmos_write(RTC_HOUR, 0x23);
	cmos_write(RTC_DAY, 0x31);
	cmos_write(RTC_MONTH, 0x12);
	cmos_write(RTC_YEAR, 0x99);
	cmos_write(RTC_CENTURY, 0x20);
	/* Held while SET is on. */
	pm_delay_us(20000);
	GUEST_ASSERT_EQ(cmos_read(RTC_SEC), 0x59);
	GUEST_ASSERT_EQ(cmos_read(RTC_YEAR), 0x99);
	c.lo = pm_now();
	cmos_write(RTC_REG_B, RTCB_24H);
	c.hi = pm_now();
	d = date_at_update(&u);
	print_date("set", &d);
	guest_printf("\n");
	check_date(&d);
	/* The first update comes within a second of SET's fall. */
	k = date_secs(&d) - (days_from_civil(2099, 12, 31) * 86400 + 86399);
	GUEST_ASSERT(k >= 1);
	GUEST_ASSERT((k - 1) * US_PER_S <= (int64_t)pm_to_us(u.hi - c.lo));
	if (k == 1) {
		GUEST_ASSERT_EQ(d.year, 2100);
		GUEST_ASSERT_EQ(d.dow, 6); /* a Friday */
		GUEST_ASSERT_EQ(cmos_read(RTC_CENTURY), 0x21);
	}
	guest_printf("rtc: set ok\n");
}

int
guest_main(void)
{
	pic_init(0x01, 0x01);
	pic_set_mask(0xffff);
	test_date();
	test_periodic();
	test_update_alarm();
	test_set();
	guest_printf("rtc: UIP seen at %d of %d updates\n", uip_seen,
		     updates_seen);
	guest_printf("rtc: ok\n");
	return 0;
}
