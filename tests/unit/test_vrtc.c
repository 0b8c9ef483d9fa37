/*
 * kmod/io/vrtc.c, the MC146818 RTC, on a VM without an engine (fake_vm.h):
 * the date in BCD and binary, 24- and 12-hour, update-in-progress, SET
 * and divider reset, the periodic, alarm and update-ended flags and IRQ 8,
 * NVRAM and the ports, all on the VM clock moved forward by the test.
 * No /dev/kvm.
 *
 * The VM clock is the host's plus what the test adds, so real time passes
 * between steps: checks that need the clock at a precise point of the
 * RTC's second bracket their reads with the VM clock and retry when the
 * host was too slow to tell.
 */
#include <time.h>

#include "cunit.h"
#include "fake_vm.h"

#define MS(t)   ((int64_t)(t)*1000000LL)
#define US(t)   ((int64_t)(t)*1000LL)

#define REG_A   0x0a
#define REG_B   0x0b
#define REG_C   0x0c
#define REG_D   0x0d
#define CENTURY 0x32

#define B_SET   0x80
#define B_PIE   0x40
#define B_AIE   0x20
#define B_UIE   0x10
#define B_BIN   0x04
#define B_24H   0x02

#define C_IRQF  0x80
#define C_PF    0x40
#define C_AF    0x20
#define C_UF    0x10

#define TRIES   50

/* 2024-02-29 13:45:50 UTC, a Thursday. */
#define LEAPDAY 1709214350LL
/* 2099-12-31 23:59:59 UTC, a Thursday. */
#define CENT_END 4102444799LL
/* 2000-01-01 00:00:00 UTC */
#define Y2K 946684800LL

struct rtc {
	struct vm *vm;
	uint64_t a0, a1; /* the RTC's second began within [a0, a1] */
};

static struct vm *
rtc_vm(void)
{
	struct vm *vm = fake_vm_create();

	if (vrtc_init(vm) != 0)
		abort();
	return vm;
}

static void
rtc_vm_destroy(struct vm *vm)
{
	vm_callouts_cleanup(vm); /* no callout runs past here */
	vrtc_cleanup(vm);
	fake_vm_destroy(vm);
}

static uint8_t
rd(struct vm *vm, int off)
{
	fake_outb(vm, 0x70, (uint8_t)off);
	return fake_inb(vm, 0x71);
}

static void
wr(struct vm *vm, int off, uint8_t v)
{
	fake_outb(vm, 0x70, (uint8_t)off);
	fake_outb(vm, 0x71, v);
}

static void
rtc_set(struct rtc *r, int64_t secs)
{
	r->a0 = vm_clock_ns(r->vm);
	CU_ASSERT_EQUAL(vm_rtc_set_time(r->vm, secs), 0);
	r->a1 = vm_clock_ns(r->vm);
}

static void
noop(void *arg)
{
	(void)arg;
}

/*
 * The callout thread sleeps until a deadline on the host's clock: after
 * the test moved the VM clock, make it look again.
 */
static void
nudge_callouts(struct vm *vm)
{
	struct callout c;

	callout_init(vm, &c);
	callout_reset(&c, UINT64_MAX / 2, noop, NULL);
	callout_stop(&c);
}

/* The VM clock jumps 'ns' ahead. */
static void
advance(struct vm *vm, int64_t ns)
{
	fake_advance(vm, (uint64_t)ns);
	nudge_callouts(vm);
}

/*
 * The VM clock to 'ns' or a little more after the RTC's second began (if
 * not past it).
 */
static void
rtc_goto(struct rtc *r, int64_t ns)
{
	uint64_t now = vm_clock_ns(r->vm);

	if (r->a1 + (uint64_t)ns > now)
		fake_advance(r->vm, r->a1 + (uint64_t)ns - now);
	nudge_callouts(r->vm);
}

/*
 * Read 'off' at 'ns' into the RTC's second; true if the read certainly
 * happened within [ns, ns + slack].
 */
static bool
rtc_read_at(struct rtc *r, int off, int64_t ns, int64_t slack, uint8_t *v)
{
	uint64_t t0, t1;

	fake_outb(r->vm, 0x70, (uint8_t)off);
	rtc_goto(r, ns);
	t0 = vm_clock_ns(r->vm);
	*v = fake_inb(r->vm, 0x71);
	t1 = vm_clock_ns(r->vm);
	return (int64_t)(t0 - r->a1) >= ns &&
	       (int64_t)(t1 - r->a0) <= ns + slack;
}

static int64_t
rtc_time(struct vm *vm)
{
	int64_t t = -1;

	CU_ASSERT_EQUAL(vm_rtc_get_time(vm, &t), 0);
	return t;
}

/* t is x, or x + 1 if an update came in between. */
static bool
near(int64_t t, int64_t x)
{
	return t == x || t == x + 1;
}

static void
test_date(void)
{
	struct vm *vm = rtc_vm();
	struct rtc r = { vm, 0, 0 };

	/* As a BIOS leaves it: 32.768 kHz, 1024 Hz; 24-hour BCD. */
	CU_ASSERT_EQUAL(rd(vm, REG_A) & 0x7f, 0x26);
	CU_ASSERT_EQUAL(rd(vm, REG_B), B_24H);
	CU_ASSERT_EQUAL(rd(vm, REG_D), 0x80);
	/* The host's date at creation. */
	CU_ASSERT(rtc_time(vm) >= (int64_t)time(NULL) - 2);
	CU_ASSERT(rtc_time(vm) <= (int64_t)time(NULL) + 2);

	rtc_set(&r, LEAPDAY);
	CU_ASSERT_EQUAL(rd(vm, 0x00), 0x50);
	CU_ASSERT_EQUAL(rd(vm, 0x02), 0x45);
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x13);
	CU_ASSERT_EQUAL(rd(vm, 0x06), 5); /* Thursday; Sunday is 1 */
	CU_ASSERT_EQUAL(rd(vm, 0x07), 0x29);
	CU_ASSERT_EQUAL(rd(vm, 0x08), 0x02);
	CU_ASSERT_EQUAL(rd(vm, 0x09), 0x24);
	CU_ASSERT_EQUAL(rd(vm, CENTURY), 0x20);
	/* Binary: the same fields, read in the new format at once. */
	wr(vm, REG_B, B_24H | B_BIN);
	CU_ASSERT_EQUAL(rd(vm, 0x00), 50);
	CU_ASSERT_EQUAL(rd(vm, 0x04), 13);
	CU_ASSERT_EQUAL(rd(vm, 0x07), 29);
	CU_ASSERT_EQUAL(rd(vm, 0x09), 24);
	CU_ASSERT_EQUAL(rd(vm, CENTURY), 20);
	/* 12-hour binary: 1 PM; BCD: 0x81 as well. */
	wr(vm, REG_B, B_BIN);
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x81);
	wr(vm, REG_B, 0);
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x81);
	rtc_set(&r, LEAPDAY + 10 * 3600); /* 23:45:50 */
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x91);
	wr(vm, REG_B, B_BIN);
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x8b);
	wr(vm, REG_B, 0);
	rtc_set(&r, LEAPDAY - 13 * 3600 - 45 * 60); /* 00:00:50: 12 AM */
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x12);
	rtc_set(&r, LEAPDAY - 3600 - 45 * 60); /* 12:00:50: 12 PM */
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x92);
	rtc_set(&r, LEAPDAY - 2 * 3600 - 45 * 60); /* 11:00:50 AM */
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x11);
	wr(vm, REG_B, B_24H);

	/* Out of range for the API. */
	CU_ASSERT_EQUAL(vm_rtc_set_time(vm, 253402300800LL), EINVAL);
	CU_ASSERT_EQUAL(vm_rtc_set_time(vm, -62167219201LL), EINVAL);
	rtc_set(&r, -62167219200LL); /* 0000-01-01, a Saturday */
	CU_ASSERT_EQUAL(rd(vm, 0x07), 0x01);
	CU_ASSERT_EQUAL(rd(vm, 0x09), 0x00);
	CU_ASSERT_EQUAL(rd(vm, CENTURY), 0x00);
	CU_ASSERT_EQUAL(rd(vm, 0x06), 7);
	rtc_vm_destroy(vm);
}

static void
test_advance(void)
{
	struct vm *vm = rtc_vm();
	struct rtc r = { vm, 0, 0 };

	rtc_set(&r, LEAPDAY);
	rtc_goto(&r, MS(1500));
	CU_ASSERT_EQUAL(rd(vm, 0x00), 0x51);
	rtc_goto(&r, MS(11500)); /* 13:46:01 */
	CU_ASSERT_EQUAL(rd(vm, 0x00), 0x01);
	CU_ASSERT_EQUAL(rd(vm, 0x02), 0x46);
	CU_ASSERT_EQUAL(rtc_time(vm), LEAPDAY + 11);
	/* Leap day to March 1st. */
	rtc_goto(&r, MS(11500) + MS(1000) * (10 * 3600 + 14 * 60 + 10));
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x00);
	CU_ASSERT_EQUAL(rd(vm, 0x07), 0x01);
	CU_ASSERT_EQUAL(rd(vm, 0x08), 0x03);
	CU_ASSERT_EQUAL(rd(vm, 0x06), 6);

	/* The century rolls over. */
	rtc_set(&r, CENT_END);
	CU_ASSERT_EQUAL(rd(vm, 0x09), 0x99);
	rtc_goto(&r, MS(1500));
	CU_ASSERT_EQUAL(rd(vm, 0x00), 0x00);
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x00);
	CU_ASSERT_EQUAL(rd(vm, 0x07), 0x01);
	CU_ASSERT_EQUAL(rd(vm, 0x08), 0x01);
	CU_ASSERT_EQUAL(rd(vm, 0x09), 0x00);
	CU_ASSERT_EQUAL(rd(vm, CENTURY), 0x21);
	CU_ASSERT_EQUAL(rd(vm, 0x06), 6); /* Friday */
	rtc_vm_destroy(vm);
}

static void
test_uip(void)
{
	struct vm *vm = rtc_vm();
	struct rtc r = { vm, 0, 0 };
	uint8_t v = 0;
	int i;

	/* UIP: the 8 ticks of 32.768 kHz (244.1 us) before the update. */
	for (i = 0; i < TRIES; i++) {
		rtc_set(&r, LEAPDAY);
		if (rtc_read_at(&r, REG_A, MS(999), US(600), &v))
			break;
	}
	CU_ASSERT(i < TRIES);
	CU_ASSERT_EQUAL(v, 0x26); /* 1 ms before: not yet */
	for (i = 0; i < TRIES; i++) {
		rtc_set(&r, LEAPDAY);
		if (rtc_read_at(&r, REG_A, US(999770), US(220), &v))
			break;
	}
	CU_ASSERT(i < TRIES);
	CU_ASSERT_EQUAL(v, 0xa6);
	/* The registers still show the old second. */
	CU_ASSERT(rd(vm, 0x00) == 0x50 || rd(vm, 0x00) == 0x51);
	for (i = 0; i < TRIES; i++) {
		rtc_set(&r, LEAPDAY);
		if (rtc_read_at(&r, REG_A, MS(1000), US(700), &v))
			break;
	}
	CU_ASSERT(i < TRIES);
	CU_ASSERT_EQUAL(v, 0x26); /* updated */
	/* Not while SET holds the clock, nor with the dividers in reset. */
	for (i = 0; i < TRIES; i++) {
		rtc_set(&r, LEAPDAY);
		wr(vm, REG_B, B_24H | B_SET);
		if (rtc_read_at(&r, REG_A, US(999770), US(220), &v))
			break;
		wr(vm, REG_B, B_24H);
	}
	CU_ASSERT(i < TRIES);
	CU_ASSERT_EQUAL(v, 0x26);
	wr(vm, REG_B, B_24H);
	rtc_vm_destroy(vm);
}

/* Write a date while SET holds the clock (BCD, 24-hour). */
static void
write_date(struct vm *vm, uint8_t b, const uint8_t f[8])
{
	static const int off[8] = { 0x00, 0x02, 0x04,    0x07,
				    0x08, 0x09, CENTURY, 0x06 };

	wr(vm, REG_B, B_SET | b);
	for (int i = 0; i < 8; i++)
		wr(vm, off[i], f[i]);
}

static void
test_set(void)
{
	struct vm *vm = rtc_vm();
	struct rtc r = { vm, 0, 0 };
	static const uint8_t y2k[8] = { 0x00, 0x00, 0x00, 0x01,
					0x01, 0x00, 0x20, 0x07 };
	uint8_t v = 0;
	int i;

	/* SET freezes the clock; the bytes show the moment it rose. */
	rtc_set(&r, LEAPDAY);
	wr(vm, REG_B, B_24H | B_SET | B_UIE);
	CU_ASSERT_EQUAL(rd(vm, REG_B), B_24H | B_SET); /* SET clears UIE */
	rtc_goto(&r, MS(3000));
	CU_ASSERT_EQUAL(rd(vm, 0x00), 0x50);
	CU_ASSERT_EQUAL(vm_rtc_set_time(vm, Y2K), EBUSY);
	/* A new date takes effect when SET falls, at the divider's phase. */
	for (i = 0; i < TRIES; i++) {
		wr(vm, REG_B, B_24H);
		rtc_set(&r, LEAPDAY);
		write_date(vm, B_24H, y2k);
		rtc_goto(&r, MS(200));
		wr(vm, REG_B, B_24H);
		if (rtc_read_at(&r, 0x00, MS(900), MS(90), &v))
			break;
	}
	CU_ASSERT(i < TRIES);
	CU_ASSERT_EQUAL(v, 0x00);
	CU_ASSERT(rtc_read_at(&r, 0x00, MS(1100), MS(899), &v));
	CU_ASSERT_EQUAL(v, 0x01); /* the next update came on the old grid */
	CU_ASSERT_EQUAL(rtc_time(vm), Y2K + 1);
	CU_ASSERT_EQUAL(rd(vm, 0x06), 7); /* computed: a Saturday */

	/* Written in binary 12-hour: 7:30:15 PM. */
	write_date(vm, B_BIN, (const uint8_t[8]){ 15, 30, 0x87, 1, 1, 0, 20 });
	wr(vm, REG_B, B_BIN);
	CU_ASSERT(near(rtc_time(vm), Y2K + 19 * 3600 + 30 * 60 + 15));
	wr(vm, REG_B, B_24H);
	CU_ASSERT_EQUAL(rd(vm, 0x04), 0x19);

	/* An invalid date stops the clock until it is made valid. */
	write_date(vm, B_24H,
		   (const uint8_t[8]){ 0, 0, 0, 0x30, 0x02, 0x23, 0x20 });
	wr(vm, REG_B, B_24H);
	CU_ASSERT_EQUAL(vm_rtc_get_time(vm, &(int64_t){ 0 }), EINVAL);
	advance(vm, MS(2000));
	CU_ASSERT_EQUAL(rd(vm, 0x07), 0x30);
	CU_ASSERT_EQUAL(rd(vm, 0x00), 0x00);
	wr(vm, 0x07, 0x28); /* 2023-02-28: counts again */
	CU_ASSERT(near(rtc_time(vm), 1677542400LL));
	/* BCD digits above 9 do not parse either. */
	wr(vm, 0x02, 0x5a);
	CU_ASSERT_EQUAL(vm_rtc_get_time(vm, &(int64_t){ 0 }), EINVAL);
	wr(vm, 0x02, 0x59);
	CU_ASSERT_EQUAL(rtc_time(vm) / 60 % 60, 59);
	/* A byte written while counting changes the time at once. */
	rtc_set(&r, LEAPDAY);
	wr(vm, 0x09, 0x28);
	CU_ASSERT(near(rtc_time(vm), 1835444750LL)); /* 2028-02-29 */
	wr(vm, 0x09, 0x25);                          /* 2025-02-29 is no date */
	CU_ASSERT_EQUAL(vm_rtc_get_time(vm, &(int64_t){ 0 }), EINVAL);
	rtc_vm_destroy(vm);
}

static void
test_divider(void)
{
	struct vm *vm = rtc_vm();
	struct rtc r = { vm, 0, 0 };
	uint8_t v = 0;
	int i;

	/* Divider reset holds the time; out of it, an update 0.5 s later. */
	for (i = 0; i < TRIES; i++) {
		wr(vm, REG_A, 0x26);
		rtc_set(&r, LEAPDAY);
		wr(vm, REG_A, 0x76);
		rtc_goto(&r, MS(3000));
		CU_ASSERT_EQUAL(rd(vm, 0x00), 0x50);
		CU_ASSERT_EQUAL(vm_rtc_set_time(vm, Y2K), EBUSY);
		r.a0 = vm_clock_ns(vm);
		wr(vm, REG_A, 0x26);
		r.a1 = vm_clock_ns(vm);
		if (rtc_read_at(&r, 0x00, MS(400), MS(90), &v))
			break;
	}
	CU_ASSERT(i < TRIES);
	CU_ASSERT_EQUAL(v, 0x50);
	CU_ASSERT(rtc_read_at(&r, 0x00, MS(600), MS(390), &v));
	CU_ASSERT_EQUAL(v, 0x51);
	rtc_vm_destroy(vm);
}

/* ---- flags and interrupts ------------------------------------------------ */

static void
test_flags(void)
{
	struct vm *vm = rtc_vm();
	struct rtc r = { vm, 0, 0 };
	uint8_t c = 0;
	int i;

	/* PF sets at the rate whether or not PIE is on: 2 Hz. */
	for (i = 0; i < TRIES; i++) {
		rtc_set(&r, LEAPDAY);
		wr(vm, REG_A, 0x2f);
		rd(vm, REG_C);
		if (rtc_read_at(&r, REG_C, MS(450), MS(40), &c))
			break;
	}
	CU_ASSERT(i < TRIES);
	CU_ASSERT_EQUAL(c, 0);
	CU_ASSERT(rtc_read_at(&r, REG_C, MS(550), MS(440), &c));
	CU_ASSERT_EQUAL(c, C_PF);
	CU_ASSERT_EQUAL(rd(vm, REG_C), 0); /* cleared by the read */
	/* RS 1 is 256 Hz (3.906 ms), not 32768 Hz: as RS 8. */
	for (i = 0; i < TRIES; i++) {
		rtc_set(&r, LEAPDAY);
		wr(vm, REG_A, 0x21);
		rd(vm, REG_C);
		if (rtc_read_at(&r, REG_C, MS(2), US(1500), &c))
			break;
	}
	CU_ASSERT(i < TRIES);
	CU_ASSERT_EQUAL(c, 0);
	/* RS 3 is 8192 Hz; RS 0 none. */
	wr(vm, REG_A, 0x23);
	rd(vm, REG_C);
	advance(vm, US(200));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_PF);
	wr(vm, REG_A, 0x20);
	rd(vm, REG_C);
	advance(vm, MS(600));
	CU_ASSERT_EQUAL(rd(vm, REG_C) & C_PF, 0);

	/* UF at every update; AF when the alarm matches. */
	rtc_set(&r, LEAPDAY);
	wr(vm, 0x01, 0x55); /* 13:45:55 */
	wr(vm, 0x03, 0x45);
	wr(vm, 0x05, 0x13);
	rd(vm, REG_C);
	rtc_goto(&r, MS(1500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF);
	rtc_goto(&r, MS(4500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF);
	rtc_goto(&r, MS(5500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF | C_AF);
	rtc_goto(&r, MS(6500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF);
	/* A day later: it matched once more on the way. */
	rtc_goto(&r, MS(6500) + MS(86400000));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF | C_AF);
	/* Don't-care bytes: every second. */
	wr(vm, 0x01, 0xc0);
	wr(vm, 0x03, 0xff);
	wr(vm, 0x05, 0xff);
	advance(vm, MS(1000));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF | C_AF);
	/* Only the minutes: 13:46:xx, 60 times. */
	rtc_set(&r, LEAPDAY);
	wr(vm, 0x03, 0x46);
	rd(vm, REG_C);
	rtc_goto(&r, MS(9500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF);
	rtc_goto(&r, MS(10500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF | C_AF);
	rtc_goto(&r, MS(69500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF | C_AF);
	rtc_goto(&r, MS(70500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF);
	/* An alarm byte no time has (BCD 0x5a) never matches. */
	wr(vm, 0x01, 0x5a);
	wr(vm, 0x03, 0xff);
	advance(vm, MS(3000));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF);
	/* 12-hour mode: 1 PM is 0x81. */
	rtc_set(&r, LEAPDAY);
	wr(vm, REG_B, 0);
	wr(vm, 0x01, 0xff);
	wr(vm, 0x03, 0xff);
	wr(vm, 0x05, 0x81);
	rd(vm, REG_C);
	rtc_goto(&r, MS(1500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF | C_AF);
	wr(vm, 0x05, 0x01); /* 1 AM */
	rtc_goto(&r, MS(2500));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_UF);
	wr(vm, REG_B, B_24H);
	/* No updates while SET holds the clock. */
	wr(vm, REG_B, B_24H | B_SET);
	rd(vm, REG_C);
	advance(vm, MS(2000));
	CU_ASSERT_EQUAL(rd(vm, REG_C) & (C_UF | C_AF), 0);
	wr(vm, REG_B, B_24H);
	/* IRQF only with the interrupt enabled; C's low bits read 0. */
	wr(vm, REG_B, B_24H | B_UIE);
	rd(vm, REG_C);
	advance(vm, MS(1000));
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_IRQF | C_UF);
	wr(vm, REG_C, 0xff); /* read-only */
	wr(vm, REG_D, 0x00);
	CU_ASSERT_EQUAL(rd(vm, REG_C), 0);
	CU_ASSERT_EQUAL(rd(vm, REG_D), 0x80);
	wr(vm, REG_B, B_24H);
	rtc_vm_destroy(vm);
}

static void
pic_irq8(struct vm *vm)
{
	fake_pic_init(vm, 0x01);
	fake_outb(vm, 0x21, 0xfb); /* the cascade */
	fake_outb(vm, 0xa1, 0xfe); /* IRQ8 */
}

/* How long the last take_irq8() took (a loaded host oversleeps). */
static long took_us;

/*
 * An IRQ8 handler: reads C if 'c' is not NULL (into *c), as a guest's
 * handler does.
 */
static void
irq8_read_c(struct vm *vm, int vector, void *c)
{
	CU_ASSERT_EQUAL(vector, 0x28);
	if (c != NULL)
		*(int *)c = rd(vm, REG_C);
}

/* An IRQ8 handler that checks that C has the flags 'expect_c'. */
static void
irq8_check_c(struct vm *vm, int vector, void *expect_c)
{
	uint8_t want = *(uint8_t *)expect_c;

	CU_ASSERT_EQUAL(vector, 0x28);
	CU_ASSERT_EQUAL(rd(vm, REG_C) & want, want);
}

/* Take IRQ8s for 'us' of real time, reading C as a handler does. */
static int
take_irq8(struct vm *vm, long us, uint8_t expect_c)
{
	return fake_take_for(vm, us, irq8_check_c, &expect_c, &took_us);
}

/*
 * Wait (up to 2 s: a loaded host runs the callout thread late) for one
 * IRQ8 and take it, reading C as a handler does if 'read_c'; C, or -1 if
 * none came.
 */
static int
take_one_irq8(struct vm *vm, bool read_c)
{
	int c = 0;

	if (fake_take_one(vm, irq8_read_c, read_c ? &c : NULL) < 0)
		return -1;
	return c;
}

static void
test_irq8(void)
{
	struct vm *vm = rtc_vm();
	struct rtc r = { vm, 0, 0 };
	int n;

	pic_irq8(vm);
	rtc_set(&r, LEAPDAY);
	/* 64 Hz for 300 ms: about 19, never more than the rate allows. */
	wr(vm, REG_A, 0x2a);
	rd(vm, REG_C);
	wr(vm, REG_B, B_24H | B_PIE);
	n = take_irq8(vm, 300000, C_IRQF | C_PF);
	CU_ASSERT(n >= 5 && n <= took_us * 64 / 1000000 + 2);
	/* Without a read of C, IRQF stays up: one interrupt, no more. */
	wr(vm, REG_B, B_24H);
	rd(vm, REG_C);
	take_irq8(vm, 20000, 0); /* nothing latched in the PIC */
	wr(vm, REG_B, B_24H | B_PIE);
	advance(vm, MS(20));
	CU_ASSERT_EQUAL(take_one_irq8(vm, false), 0);
	fake_sleep_us(100000);
	CU_ASSERT(!fake_intr(vm));
	/* PIE off: quiet (IRQF falls with it). */
	wr(vm, REG_B, B_24H);
	rd(vm, REG_C);
	CU_ASSERT_EQUAL(take_irq8(vm, 100000, 0), 0);
	/* A flag already set raises IRQF when its interrupt is enabled. */
	advance(vm, MS(20));
	wr(vm, REG_B, B_24H | B_PIE);
	fake_sleep_us(1000);
	CU_ASSERT(fake_intr(vm));
	CU_ASSERT_EQUAL(fake_inta(vm), 0x28);
	CU_ASSERT_EQUAL(rd(vm, REG_C), C_IRQF | C_PF);
	fake_outb(vm, 0xa0, 0x20);
	fake_outb(vm, 0x20, 0x20);
	wr(vm, REG_B, B_24H);
	wr(vm, REG_A, 0x20);
	rd(vm, REG_C);
	take_irq8(vm, 20000, 0);

	/* The update-ended interrupt: once a second. */
	wr(vm, REG_B, B_24H | B_UIE);
	advance(vm, MS(2500));
	CU_ASSERT_EQUAL(take_one_irq8(vm, true), C_IRQF | C_UF);
	CU_ASSERT(take_irq8(vm, 20000, C_IRQF | C_UF) <= 1);
	wr(vm, REG_B, B_24H);
	/* The alarm interrupt at 13:45:55 (the clock is past it: +1 day). */
	rtc_set(&r, LEAPDAY);
	wr(vm, 0x01, 0x55);
	wr(vm, 0x03, 0x45);
	wr(vm, 0x05, 0x13);
	rd(vm, REG_C);
	wr(vm, REG_B, B_24H | B_AIE);
	rtc_goto(&r, MS(4500));
	CU_ASSERT_EQUAL(take_irq8(vm, 20000, 0), 0);
	rtc_goto(&r, MS(5500));
	CU_ASSERT_EQUAL(take_one_irq8(vm, true) & (C_IRQF | C_AF),
			C_IRQF | C_AF);
	wr(vm, REG_B, B_24H);
	rtc_vm_destroy(vm);
}

static void
test_nvram(void)
{
	struct vm *vm = rtc_vm();
	uint8_t v = 0;

	for (int i = 0x0e; i < 0x80; i++)
		if (i != CENTURY)
			wr(vm, i, (uint8_t)(i ^ 0x5a));
	for (int i = 0; i < 0x80; i++) {
		fake_outb(vm, 0x72, (uint8_t)i);
		fake_outb(vm, 0x73, (uint8_t)(i ^ 0xa5));
	}
	for (int i = 0x0e; i < 0x80; i++)
		if (i != CENTURY)
			CU_ASSERT_EQUAL(rd(vm, i), i ^ 0x5a);
	for (int i = 0; i < 0x80; i++) {
		fake_outb(vm, 0x72, (uint8_t)(i | 0x80)); /* bit 7 ignored */
		CU_ASSERT_EQUAL(fake_inb(vm, 0x73), i ^ 0xa5);
	}
	/* Bit 7 of 0x70 (NMI disable) does not select a register. */
	wr(vm, 0x80 | 0x20, 0x77);
	CU_ASSERT_EQUAL(rd(vm, 0x20), 0x77);
	/* The index ports read as all-ones. */
	CU_ASSERT_EQUAL(fake_inb(vm, 0x70), 0xff);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x72), 0xff);
	/* A 16-bit OUT to 0x70 writes index and data. */
	{
		uint32_t w = 0x3340;

		fake_io(vm, false, 0x70, 2, &w);
		CU_ASSERT_EQUAL(rd(vm, 0x40), 0x33);
	}
	/* The kmod calls: NVRAM only. */
	CU_ASSERT_EQUAL(vm_rtc_nvram_write(vm, 0x34, 0x12), 0);
	CU_ASSERT_EQUAL(rd(vm, 0x34), 0x12);
	CU_ASSERT_EQUAL(vm_rtc_nvram_write(vm, 0xff, 0x34), 0);
	fake_outb(vm, 0x72, 0x7f);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x73), 0x34);
	CU_ASSERT_EQUAL(vm_rtc_nvram_read(vm, 0x34, &v), 0);
	CU_ASSERT_EQUAL(v, 0x12);
	CU_ASSERT_EQUAL(vm_rtc_nvram_write(vm, 0x0d, 0), EINVAL);
	CU_ASSERT_EQUAL(vm_rtc_nvram_write(vm, CENTURY, 0), EINVAL);
	CU_ASSERT_EQUAL(vm_rtc_nvram_write(vm, 0x100, 0), EINVAL);
	CU_ASSERT_EQUAL(vm_rtc_nvram_read(vm, 0x05, &v), EINVAL);
	CU_ASSERT_EQUAL(vm_rtc_nvram_read(vm, CENTURY, &v), 0);
	CU_ASSERT_EQUAL(v, 0x20);
	rtc_vm_destroy(vm);
}

static CU_TestInfo vrtc_tests[] = {
	{ "the date: BCD, binary, 24- and 12-hour", test_date },
	{ "the clock counts on the VM clock", test_advance },
	{ "update in progress", test_uip },
	{ "SET, writes, invalid dates", test_set },
	{ "divider reset", test_divider },
	{ "periodic, alarm and update flags", test_flags },
	{ "IRQ 8", test_irq8 },
	{ "NVRAM and the ports", test_nvram },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "kmod/vrtc", vrtc_tests },
	{ NULL, NULL },
};
