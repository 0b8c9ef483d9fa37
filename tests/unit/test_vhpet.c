/*
 * kmod/io/vhpet.c, the HPET, on a VM without an engine (fake_vm.h), and
 * kmod's MMIO dispatch (vmm_iomem.c) it sits on: registers, the main
 * counter on the VM clock, one-shot and periodic comparators, 32-bit
 * mode, level interrupts and the status register, legacy replacement
 * routing into the PIC (and away from the RTC).  No /dev/kvm.
 */

#include "cunit.h"
#include "fake_vm.h"

#define MS(t)     ((uint64_t)(t)*1000000ULL)

#define CAP       0x000
#define CONFIG    0x010
#define ISR       0x020
#define COUNTER   0x0f0
#define TCFG(n)   (0x100 + 0x20 * (n))
#define TCMP(n)   (0x108 + 0x20 * (n))
#define TFSB(n)   (0x110 + 0x20 * (n))

#define ENABLE    0x01
#define LEG_RT    0x02

#define T_LEVEL   (1u << 1)
#define T_ENB     (1u << 2)
#define T_PERIOD  (1u << 3)
#define T_VAL_SET (1u << 6)
#define T_32      (1u << 8)

#define HZ        10000000ULL /* ticks per second */
/*
 * Comparators go this far ahead of the counter read before: the host may
 * deschedule the test between the read and the write.
 */
#define AHEAD (HZ / 10)

static struct vm *
hpet_vm(void)
{
	struct vm *vm = fake_vm_create();

	if (vrtc_init(vm) != 0 || vhpet_init(vm) != 0)
		abort();
	return vm;
}

static void
hpet_vm_destroy(struct vm *vm)
{
	vm_callouts_cleanup(vm); /* no callout runs past here */
	vhpet_cleanup(vm);
	vrtc_cleanup(vm);
	fake_vm_destroy(vm);
}

/* An MMIO access as an exit brings it: 1 kmod's, 0 not, -1 refused. */
static int
mmio(struct vm *vm, bool write, uint64_t gpa, int bytes, uint64_t *val)
{
	struct vm_exit ex;
	int rc;

	memset(&ex, 0, sizeof(ex));
	ex.exitcode = VM_EXITCODE_MMIO;
	ex.u.mmio.gpa = gpa;
	ex.u.mmio.bytes = (uint8_t)bytes;
	ex.u.mmio.write = write;
	ex.u.mmio.data = write ? *val : 0xdeadbeefdeadbeefULL;
	rc = vm_iomem_emulate(vm->vcpus[0], &ex);
	if (rc == 1 && !write)
		*val = ex.u.mmio.data;
	return rc;
}

static uint64_t
rd(struct vm *vm, uint64_t off, int bytes)
{
	uint64_t v = 0;

	CU_ASSERT_EQUAL(mmio(vm, false, VHPET_BASE + off, bytes, &v), 1);
	return v;
}

static void
wr(struct vm *vm, uint64_t off, int bytes, uint64_t v)
{
	CU_ASSERT_EQUAL(mmio(vm, true, VHPET_BASE + off, bytes, &v), 1);
}

static void
noop(void *arg)
{
	(void)arg;
}

/* The VM clock jumps; the callout thread looks again. */
static void
advance(struct vm *vm, uint64_t ns)
{
	struct callout c;

	fake_advance(vm, ns);
	callout_init(vm, &c);
	callout_reset(&c, UINT64_MAX / 2, noop, NULL);
	callout_stop(&c);
}

/* How long the last take() took (a loaded host oversleeps). */
static long took_us;

/* The interrupts take() and take_one() expect, and how many came. */
struct want {
	int vector, n;
};

static void
check_vector(struct vm *vm, int vector, void *arg)
{
	struct want *w = arg;

	(void)vm;
	CU_ASSERT_EQUAL(vector, w->vector);
	w->n += vector == w->vector;
}

/* Take interrupts for 'us' of real time; count those with 'vector'. */
static int
take(struct vm *vm, long us, int vector)
{
	struct want w = { vector, 0 };

	fake_take_for(vm, us, check_vector, &w, &took_us);
	return w.n;
}

/* Wait for one interrupt and take it; 1 if it was 'vector'. */
static int
take_one(struct vm *vm, int vector)
{
	struct want w = { vector, 0 };

	fake_take_one(vm, check_vector, &w);
	return w.n;
}

/* PIC pair with IRQ0 and IRQ8 unmasked. */
static void
pic(struct vm *vm)
{
	fake_pic_init(vm, 0x01);
	fake_outb(vm, 0x21, 0xfa);
	fake_outb(vm, 0xa1, 0xfe);
}

static int
dummy_iomem(struct vcpu *vcpu, bool write, uint64_t gpa, int bytes,
	    uint64_t *val, void *arg)
{
	return 0;
}

static void
test_registers(void)
{
	struct vm *vm = hpet_vm();
	uint64_t v = 0;

	/* Rev 1, 8 timers, 64-bit, legacy capable, 8086, 100 ns. */
	CU_ASSERT_EQUAL(rd(vm, CAP, 8), 0x05f5e1008086a701ULL);
	CU_ASSERT_EQUAL(rd(vm, CAP, 4), 0x8086a701);
	CU_ASSERT_EQUAL(rd(vm, CAP + 4, 4), 0x05f5e100);
	CU_ASSERT_EQUAL(rd(vm, CAP + 1, 1), 0xa7);
	CU_ASSERT_EQUAL(rd(vm, CAP + 2, 2), 0x8086);
	CU_ASSERT_EQUAL(rd(vm, CAP + 1, 2), 0); /* misaligned */
	wr(vm, CAP, 8, 0);                      /* read-only */
	CU_ASSERT_EQUAL(rd(vm, CAP, 4), 0x8086a701);
	/* Reset state. */
	CU_ASSERT_EQUAL(rd(vm, CONFIG, 8), 0);
	CU_ASSERT_EQUAL(rd(vm, ISR, 8), 0);
	CU_ASSERT_EQUAL(rd(vm, COUNTER, 8), 0);
	for (int n = 0; n < 8; n++) {
		/* Periodic capable, 64-bit, no FSB, I/O APIC pins 20-23. */
		CU_ASSERT_EQUAL(rd(vm, TCFG(n), 8), 0x00f0000000000030ULL);
		CU_ASSERT_EQUAL(rd(vm, TCMP(n), 8), ~0ULL);
		CU_ASSERT_EQUAL(rd(vm, TFSB(n), 8), 0);
	}
	/* Only the defined bits stick; a route not offered reads 0. */
	wr(vm, CONFIG, 8, ~0ULL);
	CU_ASSERT_EQUAL(rd(vm, CONFIG, 8), 3);
	wr(vm, CONFIG, 8, 0);
	wr(vm, TCFG(2), 8, ~0ULL);
	CU_ASSERT_EQUAL(rd(vm, TCFG(2), 8), 0x00f0000000000030ULL | 0x14e);
	wr(vm, TCFG(2), 4, 21u << 9 | T_ENB);
	CU_ASSERT_EQUAL(rd(vm, TCFG(2), 4), 21u << 9 | 0x30 | T_ENB);
	wr(vm, TCFG(2), 2, 0);
	CU_ASSERT_EQUAL(rd(vm, TCFG(2), 4), 0x30);
	wr(vm, TFSB(2), 8, ~0ULL);
	CU_ASSERT_EQUAL(rd(vm, TFSB(2), 8), 0);
	/* Comparator halves. */
	wr(vm, TCMP(3), 4, 0x11223344);
	wr(vm, TCMP(3) + 4, 4, 0x55667788);
	CU_ASSERT_EQUAL(rd(vm, TCMP(3), 8), 0x5566778811223344ULL);
	CU_ASSERT_EQUAL(rd(vm, TCMP(3) + 6, 2), 0x5566);
	/* Reserved space reads 0; the dispatch's edges. */
	CU_ASSERT_EQUAL(rd(vm, 0x3f8, 8), 0);
	CU_ASSERT_EQUAL(mmio(vm, false, VHPET_BASE + 0x400, 4, &v), 0);
	CU_ASSERT_EQUAL(mmio(vm, false, VHPET_BASE - 4, 4, &v), 0);
	CU_ASSERT_EQUAL(mmio(vm, false, VHPET_BASE + 0x3fc, 8, &v), -1);
	CU_ASSERT_EQUAL(mmio(vm, false, VHPET_BASE, 3, &v), -1);
	CU_ASSERT_EQUAL(
	    vm_register_iomem(vm, VHPET_BASE + 0x3ff, 2, dummy_iomem, NULL),
	    EEXIST);
	CU_ASSERT_EQUAL(vm_register_iomem(vm, 0x1000, 0x10, NULL, NULL),
			EINVAL);
	CU_ASSERT_EQUAL(vm_register_iomem(vm, ~0ULL, 2, dummy_iomem, NULL),
			EINVAL);
	hpet_vm_destroy(vm);
}

static void
test_counter(void)
{
	struct vm *vm = hpet_vm();
	uint64_t a, b;

	/* Stopped until enabled. */
	advance(vm, MS(10));
	CU_ASSERT_EQUAL(rd(vm, COUNTER, 8), 0);
	wr(vm, CONFIG, 4, ENABLE);
	advance(vm, MS(1));
	a = rd(vm, COUNTER, 8);
	CU_ASSERT(a >= 10000 && a < 10000 + HZ / 20);
	advance(vm, MS(1000));
	b = rd(vm, COUNTER, 8);
	CU_ASSERT(b - a >= HZ && b - a < HZ + HZ / 20);
	a = rd(vm, COUNTER, 4);
	b = rd(vm, COUNTER, 8);
	CU_ASSERT((uint32_t)(b - a) < HZ / 20);
	CU_ASSERT_EQUAL(rd(vm, COUNTER + 4, 4), b >> 32);
	/* Stopped, it holds; written, it goes on from there. */
	wr(vm, CONFIG, 4, 0);
	a = rd(vm, COUNTER, 8);
	advance(vm, MS(100));
	CU_ASSERT_EQUAL(rd(vm, COUNTER, 8), a);
	wr(vm, COUNTER, 8, 0xfffffffffffffff0ULL);
	CU_ASSERT_EQUAL(rd(vm, COUNTER, 8), 0xfffffffffffffff0ULL);
	wr(vm, COUNTER + 4, 4, 0x12345678);
	CU_ASSERT_EQUAL(rd(vm, COUNTER, 8), 0x12345678fffffff0ULL);
	wr(vm, COUNTER, 8, 0xfffffffffffffff0ULL);
	wr(vm, CONFIG, 4, ENABLE);
	advance(vm, MS(1));
	a = rd(vm, COUNTER, 8);
	CU_ASSERT(a >= 10000 - 16 && a < HZ / 20); /* wrapped past 2^64 */
	hpet_vm_destroy(vm);
}

static void
test_oneshot(void)
{
	struct vm *vm = hpet_vm();
	uint64_t c;

	pic(vm);
	wr(vm, CONFIG, 4, ENABLE | LEG_RT);
	wr(vm, TCFG(0), 4, T_ENB);
	/* Ahead of the counter: one IRQ0, none after that. */
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(0), 8, c + AHEAD);
	advance(vm, MS(200));
	CU_ASSERT_EQUAL(take_one(vm, 0x20), 1);
	CU_ASSERT_EQUAL(rd(vm, ISR, 8), 0); /* edge: no status */
	advance(vm, MS(1000));
	CU_ASSERT_EQUAL(take(vm, 20000, 0x20), 0);
	CU_ASSERT_EQUAL(rd(vm, TCMP(0), 8), c + AHEAD);
	/* Never early: 1 s ahead, 0.5 s on (and real time) is not it. */
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(0), 8, c + HZ);
	advance(vm, MS(500));
	CU_ASSERT_EQUAL(take(vm, 10000, 0x20), 0);
	advance(vm, MS(500));
	CU_ASSERT_EQUAL(take_one(vm, 0x20), 1);
	/* A comparator equal to the counter, or behind it: no match. */
	wr(vm, CONFIG, 4, LEG_RT);
	wr(vm, COUNTER, 8, 5000000);
	wr(vm, TCMP(0), 8, 5000000);
	wr(vm, CONFIG, 4, ENABLE | LEG_RT);
	advance(vm, MS(100));
	CU_ASSERT_EQUAL(take(vm, 10000, 0x20), 0);
	/* Interrupt disabled: it matches, quietly. */
	wr(vm, TCFG(0), 4, 0);
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(0), 8, c + AHEAD);
	advance(vm, MS(200));
	CU_ASSERT_EQUAL(take(vm, 10000, 0x20), 0);
	/* Timer 1 is IRQ8 under legacy routing. */
	wr(vm, TCFG(1), 4, T_ENB);
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(1), 8, c + AHEAD);
	advance(vm, MS(200));
	CU_ASSERT_EQUAL(take_one(vm, 0x28), 1);
	/* Without it, timers 0 and 1 go to I/O APIC pins: none yet. */
	wr(vm, CONFIG, 4, ENABLE);
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(1), 8, c + AHEAD);
	advance(vm, MS(200));
	CU_ASSERT_EQUAL(take(vm, 10000, 0x28), 0);
	hpet_vm_destroy(vm);
}

static void
test_periodic(void)
{
	struct vm *vm = hpet_vm();
	uint64_t c, comp, first;
	int n;

	pic(vm);
	wr(vm, CONFIG, 4, LEG_RT); /* programmed with the counter stopped */
	/* Linux's sequence: VAL_SET, comparator, then the period. */
	wr(vm, TCFG(0), 4, T_ENB | T_PERIOD | T_VAL_SET);
	c = rd(vm, COUNTER, 8);
	first = c + HZ / 200;
	wr(vm, TCMP(0), 8, first);
	CU_ASSERT_EQUAL(rd(vm, TCFG(0), 4) & T_VAL_SET, 0);
	wr(vm, TCMP(0), 8, HZ / 200);
	CU_ASSERT_EQUAL(rd(vm, TCMP(0), 8), first);
	wr(vm, CONFIG, 4, ENABLE | LEG_RT);
	/* 200 Hz for 200 ms: about 40, never more than the rate. */
	n = take(vm, 200000, 0x20);
	CU_ASSERT(n >= 10 && n <= took_us / 5000 + 2);
	/* The comparator moved on by whole periods, ahead of the counter. */
	comp = rd(vm, TCMP(0), 8);
	c = rd(vm, COUNTER, 8);
	CU_ASSERT_EQUAL((comp - first) % (HZ / 200), 0);
	CU_ASSERT(comp >= first + 8 * (HZ / 200));
	CU_ASSERT(comp + HZ / 200 > c);
	/* A second's jump: the missed periods are one interrupt. */
	advance(vm, MS(1000));
	CU_ASSERT_EQUAL(take_one(vm, 0x20), 1);
	CU_ASSERT(take(vm, 4000, 0x20) <= took_us / 5000 + 2);
	comp = rd(vm, TCMP(0), 8);
	c = rd(vm, COUNTER, 8);
	CU_ASSERT_EQUAL((comp - first) % (HZ / 200), 0);
	CU_ASSERT(comp + HZ / 200 > c && comp <= c + HZ / 200);
	/* The counter stopped, the interrupts stop. */
	wr(vm, CONFIG, 4, LEG_RT);
	take(vm, 5000, 0x20);
	CU_ASSERT_EQUAL(take(vm, 20000, 0x20), 0);
	/* Periodic without VAL_SET: a write sets the period only. */
	wr(vm, COUNTER, 8, 0);
	wr(vm, TCFG(0), 4, T_ENB); /* one-shot: it sets the comparator */
	wr(vm, TCMP(0), 8, 1000);
	wr(vm, TCFG(0), 4, T_ENB | T_PERIOD);
	wr(vm, TCMP(0), 8, 2000);
	CU_ASSERT_EQUAL(rd(vm, TCMP(0), 8), 1000);
	wr(vm, CONFIG, 4, ENABLE | LEG_RT);
	advance(vm, MS(100));
	CU_ASSERT_EQUAL(take_one(vm, 0x20), 1);
	comp = rd(vm, TCMP(0), 8);
	CU_ASSERT_EQUAL(comp % 2000, 1000);
	CU_ASSERT(comp > HZ / 10);
	hpet_vm_destroy(vm);
}

static void
test_32bit(void)
{
	struct vm *vm = hpet_vm();
	uint64_t comp;

	pic(vm);
	/* 32-bit mode keeps 32 bits of the comparator. */
	wr(vm, TCFG(1), 4, T_32);
	wr(vm, TCMP(1), 8, 0x123456789ULL);
	CU_ASSERT_EQUAL(rd(vm, TCMP(1), 8), 0x23456789);
	wr(vm, TCMP(1) + 4, 4, 0xffffffff);
	CU_ASSERT_EQUAL(rd(vm, TCMP(1), 8), 0x23456789);
	/* It matches the low 32 bits: past 2^33 + 0x10. */
	wr(vm, COUNTER, 8, 0x1ffffff00ULL);
	wr(vm, TCFG(1), 4, T_32 | T_ENB);
	wr(vm, TCMP(1), 4, 0x10);
	wr(vm, TCFG(0), 4, T_ENB); /* 64-bit: 0x10 is behind it */
	wr(vm, TCMP(0), 8, 0x10);
	wr(vm, CONFIG, 4, ENABLE | LEG_RT);
	advance(vm, MS(1));
	CU_ASSERT_EQUAL(take_one(vm, 0x28), 1);
	CU_ASSERT_EQUAL(take(vm, 5000, 0x20), 0);
	/* Periodic: the comparator wraps at 32 bits. */
	wr(vm, CONFIG, 4, LEG_RT);
	take(vm, 2000, 0x28);
	wr(vm, COUNTER, 8, 0xffff0000ULL);
	wr(vm, TCFG(1), 4, T_32 | T_ENB | T_PERIOD | T_VAL_SET);
	wr(vm, TCMP(1), 4, 0xffff8000);
	wr(vm, TCMP(1), 4, 0x10000);
	wr(vm, CONFIG, 4, ENABLE | LEG_RT);
	advance(vm, MS(4)); /* 40000 ticks: a match at 32768 */
	CU_ASSERT_EQUAL(take_one(vm, 0x28), 1);
	CU_ASSERT(take(vm, 5000, 0x28) <= took_us / 6553 + 1);
	comp = rd(vm, TCMP(1), 8);
	CU_ASSERT(comp < 0x100000000ULL);
	CU_ASSERT_EQUAL(comp % 0x10000, 0x8000);
	CU_ASSERT(comp >= 0x8000 && comp < 0x8000 + 0x10000 * 100);
	hpet_vm_destroy(vm);
}

static void
test_level(void)
{
	struct vm *vm = hpet_vm();
	uint64_t c;

	pic(vm);
	wr(vm, CONFIG, 4, ENABLE | LEG_RT);
	/* Level: status set, the line high until the status is cleared. */
	wr(vm, TCFG(0), 4, T_ENB | T_LEVEL);
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(0), 8, c + AHEAD);
	advance(vm, MS(200));
	CU_ASSERT_EQUAL(take_one(vm, 0x20), 1);
	CU_ASSERT_EQUAL(rd(vm, ISR, 8), 1);
	/* The line is still high: another match makes no new edge. */
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(0), 8, c + AHEAD);
	advance(vm, MS(200));
	CU_ASSERT_EQUAL(take(vm, 10000, 0x20), 0);
	wr(vm, ISR, 4, 0xfe); /* 0 bits clear nothing */
	CU_ASSERT_EQUAL(rd(vm, ISR, 8), 1);
	wr(vm, ISR, 4, 1);
	CU_ASSERT_EQUAL(rd(vm, ISR, 8), 0);
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(0), 8, c + AHEAD);
	advance(vm, MS(200));
	CU_ASSERT_EQUAL(take_one(vm, 0x20), 1);
	wr(vm, ISR, 8, ~0ULL);
	/* Disabled, a level timer still sets its status bit. */
	wr(vm, TCFG(2), 4, T_LEVEL);
	wr(vm, TCFG(5), 4, T_LEVEL | T_ENB | 22u << 9);
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(2), 8, c + AHEAD);
	wr(vm, TCMP(5), 8, c + AHEAD);
	advance(vm, MS(200));
	CU_ASSERT_EQUAL(take(vm, 10000, 0x20), 0);
	CU_ASSERT_EQUAL(rd(vm, ISR, 8), 0x24);
	wr(vm, ISR, 1, 0x20);
	CU_ASSERT_EQUAL(rd(vm, ISR, 8), 0x04);
	/* Enabling the interrupt of a set status raises the line. */
	wr(vm, ISR, 8, ~0ULL);
	wr(vm, TCFG(0), 4, T_LEVEL);
	c = rd(vm, COUNTER, 8);
	wr(vm, TCMP(0), 8, c + AHEAD);
	advance(vm, MS(200));
	CU_ASSERT_EQUAL(take(vm, 10000, 0x20), 0);
	CU_ASSERT_EQUAL(rd(vm, ISR, 8) & 1, 1);
	wr(vm, TCFG(0), 4, T_LEVEL | T_ENB);
	CU_ASSERT_EQUAL(take_one(vm, 0x20), 1);
	/* Leaving legacy routing drops the line; coming back raises it. */
	wr(vm, CONFIG, 4, ENABLE);
	wr(vm, CONFIG, 4, ENABLE | LEG_RT);
	CU_ASSERT_EQUAL(take_one(vm, 0x20), 1);
	wr(vm, ISR, 8, 1);
	CU_ASSERT_EQUAL(take(vm, 5000, 0x20), 0);
	hpet_vm_destroy(vm);
}

/* Legacy replacement takes IRQ8 away from the RTC. */
static void
test_legacy_rtc(void)
{
	struct vm *vm = hpet_vm();

	pic(vm);
	fake_outb(vm, 0x70, 0x0a);
	fake_outb(vm, 0x71, 0x2a); /* 64 Hz */
	fake_outb(vm, 0x70, 0x0c);
	fake_inb(vm, 0x71);
	fake_outb(vm, 0x70, 0x0b);
	fake_outb(vm, 0x71, 0x42); /* PIE */
	fake_outb(vm, 0x70, 0x0c);
	/* No read of C in between: one. */
	CU_ASSERT_EQUAL(take_one(vm, 0x28), 1);
	CU_ASSERT_EQUAL(take(vm, 50000, 0x28), 0);
	fake_inb(vm, 0x71);
	wr(vm, CONFIG, 4, LEG_RT);
	fake_inb(vm, 0x71);
	take(vm, 1000, 0x28);
	fake_inb(vm, 0x71);
	CU_ASSERT_EQUAL(take(vm, 50000, 0x28), 0);
	/* The RTC's flags still set. */
	CU_ASSERT_EQUAL(fake_inb(vm, 0x71), 0xc0);
	wr(vm, CONFIG, 4, 0);
	fake_inb(vm, 0x71);
	CU_ASSERT_EQUAL(take_one(vm, 0x28), 1);
	hpet_vm_destroy(vm);
}

static CU_TestInfo vhpet_tests[] = {
	{ "registers and the MMIO dispatch", test_registers },
	{ "the main counter", test_counter },
	{ "one-shot comparators, routing", test_oneshot },
	{ "periodic comparators", test_periodic },
	{ "32-bit mode", test_32bit },
	{ "level interrupts and the status register", test_level },
	{ "legacy replacement and the RTC", test_legacy_rtc },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "kmod/vhpet", vhpet_tests },
	{ NULL, NULL },
};
