/*
 * kmod/io/vatpit.c, the 8254, on a VM without an engine (fake_vm.h): the
 * control word, latches and read-back, the counting modes as functions of
 * the VM clock (moved forward by the test), port 0x61, and IRQ0 from
 * counter 0's callout into the PIC.  No /dev/kvm.
 */

#include "cunit.h"
#include "fake_vm.h"

#define US(t) ((uint64_t)(t)*1000ULL)

static uint8_t
status(struct vm *vm, int ch)
{
	fake_outb(vm, 0x43, (uint8_t)(0xe0 | 2 << ch));
	return fake_inb(vm, 0x40 + ch);
}

static void
program(struct vm *vm, int ch, int mode, uint16_t count)
{
	fake_outb(vm, 0x43, (uint8_t)(ch << 6 | 0x30 | mode << 1));
	fake_outb(vm, 0x40 + ch, (uint8_t)count);
	fake_outb(vm, 0x40 + ch, (uint8_t)(count >> 8));
}

static uint16_t
latch(struct vm *vm, int ch)
{
	uint16_t v;

	fake_outb(vm, 0x43, (uint8_t)(ch << 6));
	v = fake_inb(vm, 0x40 + ch);
	return (uint16_t)(v | fake_inb(vm, 0x40 + ch) << 8);
}

/*
 * Real time passes between the test's steps, and the test thread may be
 * descheduled: every window below allows NOISE ticks (5 ms) per step.
 */
#define NOISE 5966

/* v in [lo, hi], give or take the tick an advance rounds to. */
static bool
within(uint32_t v, int64_t lo, int64_t hi)
{
	return (int64_t)v >= lo - 1 && (int64_t)v <= hi + 1;
}

static unsigned
bcd(uint16_t v)
{
	return (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 +
	       (v >> 4 & 0xf) * 10 + (v & 0xf);
}

static void
test_control(void)
{
	struct vm *vm = fake_vm_create();
	uint16_t v;

	/* Reads of the control port, and counts before a control word. */
	CU_ASSERT_EQUAL(fake_inb(vm, 0x43), 0xff);
	fake_outb(vm, 0x40, 0x12);
	CU_ASSERT_EQUAL(status(vm, 0) & 0x40, 0);

	fake_outb(vm, 0x43, 0x34);
	CU_ASSERT_EQUAL(status(vm, 0), 0xf4); /* OUT high, null count */
	fake_outb(vm, 0x40, 0x60);
	CU_ASSERT_EQUAL(status(vm, 0), 0xf4);
	fake_outb(vm, 0x40, 0xea); /* 60000 */
	CU_ASSERT_EQUAL(status(vm, 0), 0xb4);

	/* A latch holds its value; a second latch is ignored. */
	fake_outb(vm, 0x43, 0x00);
	fake_advance(vm, US(20000)); /* 23864 ticks */
	fake_outb(vm, 0x43, 0x00);
	v = fake_inb(vm, 0x40);
	v |= (uint16_t)(fake_inb(vm, 0x40) << 8);
	CU_ASSERT(within(v, 60000 - NOISE, 60000));
	v = latch(vm, 0);
	CU_ASSERT(within(v, 60000 - 23864 - 2 * NOISE, 60000 - 23864));

	/* Read-back of status and count: status first. */
	fake_outb(vm, 0x43, 0xc2);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x40), 0xb4);
	v = fake_inb(vm, 0x40);
	v |= (uint16_t)(fake_inb(vm, 0x40) << 8);
	CU_ASSERT(v >= 1 && v <= 60000);

	/* LSB only, MSB only, BCD. */
	fake_outb(vm, 0x43, 0x54); /* counter 1, LSB, mode 2 */
	fake_outb(vm, 0x41, 200);
	CU_ASSERT_EQUAL(status(vm, 1) & 0x7f, 0x14);
	v = fake_inb(vm, 0x41);
	CU_ASSERT(v >= 1 && v <= 200);
	fake_outb(vm, 0x43, 0x64); /* MSB only: 0x1000 */
	fake_outb(vm, 0x41, 0x10);
	CU_ASSERT(fake_inb(vm, 0x41) <= 0x10);
	fake_outb(vm, 0x43, 0x75); /* 16-bit, mode 2, BCD */
	fake_outb(vm, 0x41, 0x00);
	fake_outb(vm, 0x41, 0x90);  /* 9000 decimal */
	fake_advance(vm, US(2000)); /* 2386 ticks */
	v = latch(vm, 1);
	CU_ASSERT((v & 0xf) <= 9 && (v >> 4 & 0xf) <= 9 &&
		  (v >> 8 & 0xf) <= 9 && (v >> 12 & 0xf) <= 9);
	CU_ASSERT(within(bcd(v), 9000 - 2386 - NOISE, 9000 - 2386));
	fake_vm_destroy(vm);
}

static void
test_modes(void)
{
	struct vm *vm = fake_vm_create();
	uint16_t v;

	/* Mode 0: OUT rises at the terminal count; the count wraps. */
	program(vm, 0, 0, 30000);
	CU_ASSERT_EQUAL(status(vm, 0) & 0xc0, 0x00);
	fake_advance(vm, US(15000)); /* 17898 ticks */
	CU_ASSERT_EQUAL(status(vm, 0) & 0x80, 0x00);
	fake_advance(vm, US(15000));
	CU_ASSERT_EQUAL(status(vm, 0) & 0x80, 0x80);
	v = latch(vm, 0);
	CU_ASSERT(within(v, 65536 + 30000 - 35796 - 2 * NOISE,
			 65536 + 30000 - 35796));

	/* Mode 2: a count written while counting waits for the reload. */
	program(vm, 0, 2, 60000);
	fake_advance(vm, US(20000)); /* 23864 */
	v = latch(vm, 0);
	CU_ASSERT(within(v, 60000 - 23864 - NOISE, 60000 - 23864));
	fake_outb(vm, 0x40, 0x30);
	fake_outb(vm, 0x40, 0x75); /* 30000 */
	CU_ASSERT_EQUAL(status(vm, 0) & 0x40, 0x40);
	fake_advance(vm, US(20000)); /* 47727: still the first period */
	v = latch(vm, 0);
	CU_ASSERT(within(v, 60000 - 47727 - 2 * NOISE, 60000 - 47727));
	fake_advance(vm, US(20000)); /* 71591: 11591 into the new count */
	v = latch(vm, 0);
	CU_ASSERT(within(v, 30000 - 11591 - 3 * NOISE, 30000 - 11591));
	CU_ASSERT_EQUAL(status(vm, 0) & 0x40, 0x00);

	/* Mode 3: the low half, counting down by 2. */
	program(vm, 0, 3, 60000);
	fake_advance(vm, US(30000)); /* 35795: 5795 into the low half */
	CU_ASSERT_EQUAL(status(vm, 0) & 0x80, 0x00);
	v = latch(vm, 0);
	CU_ASSERT(within(v, 60000 - 2 * (5795 + NOISE), 60000 - 2 * 5795));
	CU_ASSERT_EQUAL(v & 1, 0);
	fake_advance(vm, US(25000)); /* the next high half */
	CU_ASSERT_EQUAL(status(vm, 0) & 0x80, 0x80);

	/* Counter 2 and port 0x61: mode 0 waits for the gate. */
	fake_outb(vm, 0x61, 0x00);
	program(vm, 2, 0, 30000);
	fake_advance(vm, US(30000));
	CU_ASSERT_EQUAL(fake_inb(vm, 0x61) & 0x20, 0);
	fake_outb(vm, 0x61, 0x01);
	fake_advance(vm, US(10000));
	fake_outb(vm, 0x61, 0x00); /* paused at 11932.. */
	fake_advance(vm, US(30000));
	CU_ASSERT_EQUAL(fake_inb(vm, 0x61) & 0x20, 0);
	fake_outb(vm, 0x61, 0x03);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x61) & 0x0f, 0x03);
	fake_advance(vm, US(20000)); /* 35796.. counted */
	CU_ASSERT_EQUAL(fake_inb(vm, 0x61) & 0x20, 0x20);
	/* Mode 1: OUT low from the gate's rising edge for the count. */
	fake_outb(vm, 0x61, 0x00);
	program(vm, 2, 1, 30000);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x61) & 0x20, 0x20);
	fake_outb(vm, 0x61, 0x01);
	CU_ASSERT_EQUAL(fake_inb(vm, 0x61) & 0x20, 0);
	fake_advance(vm, US(30000));
	CU_ASSERT_EQUAL(fake_inb(vm, 0x61) & 0x20, 0x20);
	/* Mode 5 counts only once triggered. */
	fake_outb(vm, 0x61, 0x00);
	program(vm, 2, 5, 50000);
	fake_advance(vm, US(2000));
	CU_ASSERT_EQUAL(latch(vm, 2), 50000);
	fake_outb(vm, 0x61, 0x01);
	fake_advance(vm, US(20000));
	v = latch(vm, 2);
	CU_ASSERT(within(v, 50000 - 23864 - NOISE, 50000 - 23864));
	/* Mode 2 stops with the gate low, and restarts on its rise. */
	program(vm, 2, 2, 60000);
	fake_advance(vm, US(10000));
	fake_outb(vm, 0x61, 0x00);
	v = latch(vm, 2);
	fake_advance(vm, US(10000));
	CU_ASSERT_EQUAL(latch(vm, 2), v);
	fake_outb(vm, 0x61, 0x01);
	CU_ASSERT(latch(vm, 2) >= 60000 - NOISE);
	fake_vm_destroy(vm);
}

static void
check_irq0(struct vm *vm, int vector, void *arg)
{
	(void)vm;
	(void)arg;
	CU_ASSERT_EQUAL(vector, 0x20);
}

/* Accept IRQ0s for 'us' of real time; how many came. */
static int
take_irq0(struct vm *vm, long us)
{
	return fake_take_for(vm, us, check_irq0, NULL, NULL);
}

static void
test_irq0(void)
{
	struct vm *vm = fake_vm_create();
	int n;

	fake_pic_init(vm, 0x01);
	fake_outb(vm, 0x21, 0xfe);
	/*
	 * 200 Hz for 200 ms.  A loaded host running this test's acceptor
	 * late coalesces edges in IRR, so fewer is fine; more is not.
	 */
	program(vm, 0, 2, 5966);
	n = take_irq0(vm, 200000);
	CU_ASSERT(n >= 10 && n <= 41); /* periodic; never above the rate */
	/* A control word stops it. */
	fake_outb(vm, 0x43, 0x34);
	take_irq0(vm, 20000);
	CU_ASSERT_EQUAL(take_irq0(vm, 20000), 0);
	/* The clock jumps a second: the missed edges are one, no burst. */
	program(vm, 0, 2, 1193);
	take_irq0(vm, 2500);
	fake_advance(vm, US(1000000));
	n = take_irq0(vm, 20000);
	CU_ASSERT(n >= 1 && n <= 25);
	/* Mode 0: one interrupt. */
	program(vm, 0, 0, 1193);
	CU_ASSERT_EQUAL(take_irq0(vm, 100000), 1);
	/* Square wave: the same rate as mode 2. */
	program(vm, 0, 3, 5966);
	n = take_irq0(vm, 200000);
	CU_ASSERT(n >= 10 && n <= 41);
	fake_vm_destroy(vm);
}

static CU_TestInfo vatpit_tests[] = {
	{ "control word, latches, read-back, access modes", test_control },
	{ "counting modes and port 0x61 on the VM clock", test_modes },
	{ "IRQ0 from counter 0", test_irq0 },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "kmod/vatpit", vatpit_tests },
	{ NULL, NULL },
};
