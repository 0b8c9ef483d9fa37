/*
 * apic: the local APIC of vCPU 0, timed against the ACPI PM timer.
 *
 *   regs      ID, version, the state rhyve leaves (as a PC BIOS: enabled,
 *             LINT0 ExtINT, LINT1 NMI), the CMCI, thermal and perf LVTs,
 *             SVR's EOI-broadcast suppression bit, IA32_APIC_BASE, SVR
 *             disable masking the LVTs and dropping interrupts
 *   self-IPI  xAPIC ICR with the self shorthand, and to its own ID
 *   ESR       an illegal vector sets "send illegal vector" once ESR is
 *             written, and raises the error LVT's interrupt
 *   TPR       a vector at or below the TPR's class waits in IRR until the
 *             TPR (through MMIO, then through CR8) is lowered
 *   nesting   in a handler, a higher vector preempts, a lower one waits
 *             for the EOI: ISR/EOI order
 *   one-shot  the count runs at 128 MiHz / 16; one interrupt, never early
 *   periodic  200 Hz for 40 periods
 *   TSC DL    IA32_TSC_DEADLINE 10 ms ahead, never early, disarms itself
 *   NMI       through LINT1 (pc-testdev port 0x2020) and through the ICR
 *   x2APIC    enabled through IA32_APIC_BASE: ID, version, LDR, SELF IPI,
 *             ICR, #GP on illegal accesses and mode changes, disable and
 *             back to xAPIC in its reset state
 *   ExtINT    the 8259's interrupt (IRQ5 from the pc-testdev) waits while
 *             LINT0 is masked, comes through LINT0 in ExtINT mode and
 *             with the APIC hardware-disabled
 *
 * Timing as in pit.c and hpet.c: events are bracketed by PM-timer reads;
 * "never early" bounds are strict, latency bounds generous.
 */
#include "guest.h"
#include "pc.h"

#define US_PER_S     1000000ULL

#define APIC_ID      0x020
#define APIC_VER     0x030
#define APIC_TPR     0x080
#define APIC_PPR     0x0a0
#define APIC_EOI     0x0b0
#define APIC_LDR     0x0d0
#define APIC_DFR     0x0e0
#define APIC_SVR     0x0f0
#define APIC_ISR     0x100
#define APIC_IRR     0x200
#define APIC_ESR     0x280
#define APIC_ICR_LO  0x300
#define APIC_ICR_HI  0x310
#define APIC_LVTT    0x320
#define APIC_LINT0   0x350
#define APIC_LINT1   0x360
#define APIC_LVTERR  0x370
#define APIC_TICR    0x380
#define APIC_TCCR    0x390
#define APIC_TDCR    0x3e0

#define LVT_MASKED   0x10000u
#define LVTT_PERIOD  0x20000u
#define LVTT_TSCDL   0x40000u
#define ICR_SELF     0x40000u
#define ICR_NMI      0x400u
#define SVR_ENABLE   0x100u
#define BUS_HZ       (128ULL * 1024 * 1024)
#define TIMER_DIV    16
#define TIMER_HZ     (BUS_HZ / TIMER_DIV)

#define MSR_APICBASE 0x1b
#define MSR_TSCDL    0x6e0
#define APICBASE_BSP 0x100ULL
#define APICBASE_EXT 0x400ULL
#define APICBASE_EN  0x800ULL

#define V_SELF       0x40
#define V_TPR        0x45
#define V_LOW        0x41
#define V_MID        0x50
#define V_HIGH       0x70
#define V_TIMER      0x60
#define V_TSCDL      0x61
#define V_ERROR      0x62
#define V_X2A        0x42
#define V_X2B        0x43

static volatile int count[256];
static volatile uint64_t irq_pm[256];
static volatile int order[8], norder;
static volatile int nmis, gps;
static bool x2mode;

#ifndef APIC_NO_TSC
static uint64_t
rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
#endif

static uint32_t
cpuid1_ecx(void)
{
	uint32_t a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return c;
}

static unsigned long
read_cr8(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void
write_cr8(unsigned long v)
{
	__asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

static void
eoi(void)
{
	if (x2mode)
		wrmsr(0x80b, 0);
	else
		apic_write(APIC_EOI, 0);
}

static bool
reg_bit(uint32_t base, int v)
{
	uint32_t r =
	    x2mode ? (uint32_t)rdmsr(0x800 + ((base + (v / 32) * 0x10) >> 4))
		   : apic_read(base + (v / 32) * 0x10);

	return (r >> (v % 32)) & 1;
}

static void
on_vector(struct guest_trap_frame *tf)
{
	int v = (int)tf->vector;

	irq_pm[v] = pm_now();
	count[v]++;
	if (norder < 8)
		order[norder++] = v;
	eoi();
}

/* V_MID: a higher vector preempts it, a lower one waits for its EOI. */
static void
on_mid(struct guest_trap_frame *tf)
{
	order[norder++] = (int)tf->vector;
	GUEST_ASSERT(reg_bit(APIC_ISR, V_MID));
	apic_write(APIC_ICR_LO, ICR_SELF | V_LOW);
	apic_write(APIC_ICR_LO, ICR_SELF | V_HIGH);
	sti();
	pm_delay_us(500);
	cli();
	GUEST_ASSERT_EQ(count[V_HIGH], 1);
	GUEST_ASSERT_EQ(count[V_LOW], 0);
	GUEST_ASSERT(reg_bit(APIC_IRR, V_LOW));
	GUEST_ASSERT(reg_bit(APIC_ISR, V_MID));
	GUEST_ASSERT(!reg_bit(APIC_ISR, V_HIGH));
	count[V_MID]++;
	eoi();
}

static void
on_nmi(struct guest_trap_frame *tf)
{
	(void)tf;
	nmis++;
}

/* RDMSR/WRMSR (2 bytes) that fault: note it and go on. */
static void
on_gp(struct guest_trap_frame *tf)
{
	GUEST_ASSERT_EQ(tf->error_code, 0);
	gps++;
	tf->rip += 2;
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
vec_wait(int v, int n)
{
	uint64_t end = pm_now() + us_to_pm(5 * US_PER_S);

	while (count[v] < n) {
		sti_hlt();
		cli();
		GUEST_ASSERT(pm_now() < end);
	}
}

/* NMIs ignore IF: poll the PM timer (exits) until number n came. */
static void
nmi_wait(int n)
{
	uint64_t end = pm_now() + us_to_pm(5 * US_PER_S);

	while (nmis < n)
		GUEST_ASSERT(pm_now() < end);
	pm_delay_us(300);
	GUEST_ASSERT_EQ(nmis, n);
}

static void
test_regs(void)
{
	uint32_t ver = apic_read(APIC_VER);

	GUEST_ASSERT_EQ(rdmsr(MSR_APICBASE),
			APIC_BASE | APICBASE_BSP | APICBASE_EN);
	GUEST_ASSERT_EQ(apic_read(APIC_ID), 0);
	GUEST_ASSERT_EQ(ver & 0xff, 0x14);
	GUEST_ASSERT_EQ((ver >> 16) & 0xff, 6); /* 7 LVT entries */
	GUEST_ASSERT(ver & (1u << 24));         /* EOI-broadcast suppression */
	GUEST_ASSERT_EQ(apic_read(APIC_SVR), SVR_ENABLE | 0xff);
	GUEST_ASSERT_EQ(apic_read(APIC_LINT0), 0x700);
	GUEST_ASSERT_EQ(apic_read(APIC_LINT1), 0x400);
	GUEST_ASSERT_EQ(apic_read(APIC_LVTT), LVT_MASKED);
	GUEST_ASSERT_EQ(apic_read(APIC_LVTERR), LVT_MASKED);
	GUEST_ASSERT_EQ(apic_read(APIC_DFR), 0xffffffff);
	GUEST_ASSERT_EQ(apic_read(APIC_LDR), 0);
	GUEST_ASSERT_EQ(apic_read(APIC_TPR), 0);
	/*
	 * CMCI, thermal and performance-counter LVTs: masked after reset,
	 * mask, delivery mode and vector writable (nothing raises them).
	 */
	for (uint32_t off = 0x2f0; off <= 0x340; off += 0x10) {
		if (off >= 0x300 && off < 0x330)
			continue; /* ICR, timer LVT */
		GUEST_ASSERT_EQ(apic_read(off), LVT_MASKED);
		apic_write(off, 0xffffffff);
		GUEST_ASSERT_EQ(apic_read(off), LVT_MASKED | 0x7ff);
		apic_write(off, LVT_MASKED);
	}
	/* SVR bit 12 (suppress EOI broadcasts) is writable. */
	apic_write(APIC_SVR, 0x1000 | SVR_ENABLE | 0xff);
	GUEST_ASSERT_EQ(apic_read(APIC_SVR), 0x1000 | SVR_ENABLE | 0xff);
	apic_write(APIC_SVR, SVR_ENABLE | 0xff);
	/* The ID is fixed; LDR keeps its top byte. */
	apic_write(APIC_ID, 5u << 24);
	GUEST_ASSERT_EQ(apic_read(APIC_ID), 0);
	apic_write(APIC_LDR, 0x01ffffff);
	GUEST_ASSERT_EQ(apic_read(APIC_LDR), 0x01000000);
	/* Software-disabled: LVTs stay masked, interrupts are dropped. */
	apic_write(APIC_SVR, 0xff);
	GUEST_ASSERT_EQ(apic_read(APIC_LINT0), 0x700 | LVT_MASKED);
	apic_write(APIC_LVTT, V_TIMER);
	GUEST_ASSERT_EQ(apic_read(APIC_LVTT), V_TIMER | LVT_MASKED);
	apic_write(APIC_ICR_LO, ICR_SELF | V_SELF);
	window(300);
	GUEST_ASSERT_EQ(count[V_SELF], 0);
	apic_write(APIC_SVR, SVR_ENABLE | 0xff);
	GUEST_ASSERT_EQ(apic_read(APIC_LINT1), 0x400 | LVT_MASKED);
	apic_write(APIC_LINT0, 0x700);
	apic_write(APIC_LINT1, 0x400);
	apic_write(APIC_LVTT, LVT_MASKED);
	guest_printf("apic: registers ok\n");
}

static void
test_self_ipi(void)
{
	apic_write(APIC_ICR_LO, ICR_SELF | V_SELF);
	/* Delivered at once: the delivery status reads idle. */
	GUEST_ASSERT_EQ(apic_read(APIC_ICR_LO) & (1u << 12), 0);
	GUEST_ASSERT(reg_bit(APIC_IRR, V_SELF));
	vec_wait(V_SELF, 1);
	GUEST_ASSERT(!reg_bit(APIC_IRR, V_SELF));
	GUEST_ASSERT(!reg_bit(APIC_ISR, V_SELF));
	/* Physical destination: its own ID (0), no shorthand. */
	apic_write(APIC_ICR_HI, 0);
	apic_write(APIC_ICR_LO, V_SELF);
	vec_wait(V_SELF, 2);
	/* Logical, flat: LDR bit 0 named in the destination. */
	apic_write(APIC_LDR, 0x01000000);
	apic_write(APIC_ICR_HI, 0x01000000);
	apic_write(APIC_ICR_LO, (1u << 11) | V_SELF);
	apic_write(APIC_ICR_HI, 0x02000000); /* another APIC's bit */
	apic_write(APIC_ICR_LO, (1u << 11) | V_SELF);
	vec_wait(V_SELF, 3);
	window(300);
	GUEST_ASSERT_EQ(count[V_SELF], 3);
	guest_printf("apic: self-IPI ok\n");
}

static void
test_esr(void)
{
	apic_write(APIC_ESR, 0);
	GUEST_ASSERT_EQ(apic_read(APIC_ESR), 0);
	apic_write(APIC_LVTERR, V_ERROR);
	apic_write(APIC_ICR_LO, ICR_SELF | 5); /* vectors 0-15 are illegal */
	/* Not in ESR until it is written. */
	GUEST_ASSERT_EQ(apic_read(APIC_ESR), 0);
	apic_write(APIC_ESR, 0);
	GUEST_ASSERT_EQ(apic_read(APIC_ESR), 0x20); /* send illegal vector */
	vec_wait(V_ERROR, 1);
	GUEST_ASSERT_EQ(count[5], 0);
	apic_write(APIC_ESR, 0);
	GUEST_ASSERT_EQ(apic_read(APIC_ESR), 0);
	apic_write(APIC_LVTERR, LVT_MASKED);
	guest_printf("apic: ESR ok\n");
}

static void
test_tpr(void)
{
	apic_write(APIC_TPR, 0x50);
	GUEST_ASSERT_EQ(read_cr8(), 5);
	apic_write(APIC_ICR_LO, ICR_SELF | V_TPR);
	window(500);
	GUEST_ASSERT_EQ(count[V_TPR], 0);
	GUEST_ASSERT(reg_bit(APIC_IRR, V_TPR));
	GUEST_ASSERT_EQ(apic_read(APIC_PPR), 0x50);
	/* Lowered to class 4 through CR8: still masked (4 <= 4). */
	write_cr8(4);
	GUEST_ASSERT_EQ(apic_read(APIC_TPR), 0x40);
	window(500);
	GUEST_ASSERT_EQ(count[V_TPR], 0);
	/*
	 * Lowered through CR8 right before HLT, with no exit in between:
	 * the HLT must see the new TPR and wake (a hang fails on timeout).
	 */
	write_cr8(3);
	sti_hlt();
	cli();
	GUEST_ASSERT_EQ(count[V_TPR], 1);
	apic_write(APIC_TPR, 0);
	GUEST_ASSERT_EQ(read_cr8(), 0);
	guest_printf("apic: TPR ok\n");
}

static void
test_nesting(void)
{
	norder = 0;
	apic_write(APIC_ICR_LO, ICR_SELF | V_MID);
	vec_wait(V_LOW, 1);
	GUEST_ASSERT_EQ(count[V_MID], 1);
	GUEST_ASSERT_EQ(count[V_LOW], 1);
	GUEST_ASSERT_EQ(norder, 3);
	GUEST_ASSERT_EQ(order[0], V_MID);
	GUEST_ASSERT_EQ(order[1], V_HIGH);
	GUEST_ASSERT_EQ(order[2], V_LOW);
	for (int v = 0; v < 256; v += 32)
		GUEST_ASSERT_EQ(apic_read(APIC_ISR + v / 2), 0);
	guest_printf("apic: nesting ok\n");
}

/* The count rate against the PM timer, then one interrupt. */
static void
test_oneshot(void)
{
	uint64_t a_lo, a_hi, b_lo, b_hi, lo, hi, ticks;
	uint32_t c0, c1, icr = (uint32_t)(TIMER_HZ / 100); /* 10 ms */

	apic_write(APIC_TDCR, 0x3); /* divide by 16 */
	apic_write(APIC_LVTT, LVT_MASKED | V_TIMER);
	apic_write(APIC_TICR, 0xffffffff);
	a_lo = pm_now();
	c0 = apic_read(APIC_TCCR);
	a_hi = pm_now();
	pm_delay_us(20000);
	b_lo = pm_now();
	c1 = apic_read(APIC_TCCR);
	b_hi = pm_now();
	ticks = c0 - c1;
	lo = (b_lo - a_hi) * TIMER_HZ / PMTMR_HZ;
	hi = (b_hi - a_lo) * TIMER_HZ / PMTMR_HZ + 2;
	guest_printf("apic: 20 ms = %lu timer ticks (%lu..%lu)\n",
		     (unsigned long)ticks, (unsigned long)lo,
		     (unsigned long)hi);
	GUEST_ASSERT(ticks + 2 >= lo && ticks <= hi);
	apic_write(APIC_TICR, 0);
	GUEST_ASSERT_EQ(apic_read(APIC_TCCR), 0);

	apic_write(APIC_LVTT, V_TIMER);
	a_lo = pm_now();
	apic_write(APIC_TICR, icr);
	a_hi = pm_now();
	GUEST_ASSERT(apic_read(APIC_TCCR) <= icr);
	vec_wait(V_TIMER, 1);
	guest_printf("apic: one-shot: interrupt after %lu us\n",
		     (unsigned long)pm_to_us(irq_pm[V_TIMER] - a_lo));
	/* Never early; late only by an interrupt's latency. */
	GUEST_ASSERT((irq_pm[V_TIMER] - a_lo) * TIMER_HZ / PMTMR_HZ + 2 >= icr);
	GUEST_ASSERT(pm_to_us(irq_pm[V_TIMER] - a_hi) <= 110000);
	GUEST_ASSERT_EQ(apic_read(APIC_TCCR), 0);
	pm_delay_us(20000);
	window(300);
	GUEST_ASSERT_EQ(count[V_TIMER], 1);
	guest_printf("apic: one-shot ok\n");
}

static void
test_periodic(void)
{
	const int n = 40;
	const uint64_t period_us = 5000; /* 200 Hz */
	uint64_t t0, t1, us;
	uint32_t ccr;

	count[V_TIMER] = 0;
	apic_write(APIC_LVTT, LVTT_PERIOD | V_TIMER);
	apic_write(APIC_TICR, (uint32_t)(TIMER_HZ / 200));
	ccr = apic_read(APIC_TCCR);
	GUEST_ASSERT(ccr > 0 && ccr <= TIMER_HZ / 200);
	vec_wait(V_TIMER, 1);
	t0 = irq_pm[V_TIMER];
	vec_wait(V_TIMER, n + 1);
	t1 = irq_pm[V_TIMER];
	ccr = apic_read(APIC_TCCR);
	GUEST_ASSERT(ccr > 0 && ccr <= TIMER_HZ / 200); /* reloads */
	apic_write(APIC_TICR, 0);
	apic_write(APIC_LVTT, LVT_MASKED);
	us = pm_to_us(t1 - t0);
	guest_printf("apic: periodic: %d periods of %lu us in %lu us\n", n,
		     (unsigned long)period_us, (unsigned long)us);
	GUEST_ASSERT(us >= (n - 1) * period_us);
	/* Late only by latencies; a loaded host delays and merges ticks. */
	GUEST_ASSERT(us <= n * period_us * 5);
	window(300); /* an interrupt raised before the stop */
	guest_printf("apic: periodic ok\n");
}

#ifndef APIC_NO_TSC
static void
test_tsc_deadline(void)
{
	uint64_t p0, p1, t0, t1, hz, start, dl, v;

	GUEST_ASSERT(cpuid1_ecx() & (1u << 24));
	/* The TSC's rate, against the PM timer. */
	p0 = pm_now();
	t0 = rdtsc();
	pm_delay_us(20000);
	p1 = pm_now();
	t1 = rdtsc();
	hz = (t1 - t0) * PMTMR_HZ / (p1 - p0);
	guest_printf("apic: TSC at %lu kHz\n", (unsigned long)(hz / 1000));

	/* Outside TSC-deadline mode the MSR is inert. */
	wrmsr(MSR_TSCDL, rdtsc() + hz);
	GUEST_ASSERT_EQ(rdmsr(MSR_TSCDL), 0);
	apic_write(APIC_LVTT, LVTT_TSCDL | V_TSCDL);
	apic_write(APIC_TICR, 1000); /* ignored in this mode */
	GUEST_ASSERT_EQ(apic_read(APIC_TICR), 0);
	start = pm_now();
	dl = rdtsc() + hz / 100; /* 10 ms */
	wrmsr(MSR_TSCDL, dl);
	/* Armed: it reads back, unless a loaded host let the time pass. */
	v = rdmsr(MSR_TSCDL);
	GUEST_ASSERT(v == dl || (v == 0 && rdtsc() >= dl));
	vec_wait(V_TSCDL, 1);
	guest_printf("apic: TSC deadline: interrupt after %lu us\n",
		     (unsigned long)pm_to_us(irq_pm[V_TSCDL] - start));
	/* Not early (by more than the calibration's error). */
	GUEST_ASSERT(rdtsc() >= dl);
	GUEST_ASSERT(pm_to_us(irq_pm[V_TSCDL] - start) >= 9500);
	GUEST_ASSERT(pm_to_us(irq_pm[V_TSCDL] - start) <= 120000);
	GUEST_ASSERT_EQ(rdmsr(MSR_TSCDL), 0); /* disarmed */
	/* A deadline in the past fires at once; leaving the mode disarms. */
	wrmsr(MSR_TSCDL, 1);
	vec_wait(V_TSCDL, 2);
	wrmsr(MSR_TSCDL, rdtsc() + hz / 20); /* 50 ms */
	apic_write(APIC_LVTT, V_TSCDL);
	pm_delay_us(100000);
	window(300);
	GUEST_ASSERT_EQ(count[V_TSCDL], 2);
	apic_write(APIC_LVTT, LVT_MASKED);
	guest_printf("apic: TSC deadline ok\n");
}
#endif

static void
test_nmi(void)
{
	/* LINT1 as NMI, pulsed by the pc-testdev. */
	outb(0x2020, 1);
	nmi_wait(1);
	apic_write(APIC_LINT1, LVT_MASKED | 0x400);
	outb(0x2020, 1);
	nmi_wait(1);
	apic_write(APIC_LINT1, 0x400);
	/* An NMI IPI to its own ID (NMIs are not masked by IF). */
	apic_write(APIC_ICR_HI, 0);
	apic_write(APIC_ICR_LO, ICR_NMI);
	nmi_wait(2);
	guest_printf("apic: NMI ok\n");
}

static void
test_x2apic(void)
{
	uint64_t base = rdmsr(MSR_APICBASE);
	uint32_t ver;

	GUEST_ASSERT(cpuid1_ecx() & (1u << 21));
	/* x2APIC MSRs are #GP in xAPIC mode. */
	rdmsr(0x802);
	GUEST_ASSERT_EQ(gps, 1);
	/* Disabled -> x2APIC and "x2APIC, not enabled" are illegal. */
	wrmsr(MSR_APICBASE, (base | APICBASE_EXT) & ~APICBASE_EN);
	GUEST_ASSERT_EQ(gps, 2);
	wrmsr(MSR_APICBASE, base | APICBASE_EXT);
	x2mode = true;
	GUEST_ASSERT_EQ(rdmsr(MSR_APICBASE), base | APICBASE_EXT);
	GUEST_ASSERT_EQ(rdmsr(0x802), 0); /* 32-bit ID */
	ver = (uint32_t)rdmsr(0x803);
	GUEST_ASSERT_EQ(ver & 0xff, 0x14);
	GUEST_ASSERT_EQ(rdmsr(0x80d), 1); /* LDR: cluster 0, bit 0 */
	GUEST_ASSERT_EQ(rdmsr(0x80f), SVR_ENABLE | 0xff);
	/* The MMIO page is gone. */
	GUEST_ASSERT_EQ(apic_read(APIC_VER), 0xffffffff);
	/* SELF IPI, then the 64-bit ICR to its own ID. */
	wrmsr(0x83f, V_X2A);
	vec_wait(V_X2A, 1);
	wrmsr(0x830, V_X2B);
	GUEST_ASSERT_EQ(rdmsr(0x830), V_X2B);
	vec_wait(V_X2B, 1);
	/* TPR through its MSR. */
	wrmsr(0x808, 0x50);
	GUEST_ASSERT_EQ(read_cr8(), 5);
	wrmsr(0x83f, V_TPR);
	window(300);
	GUEST_ASSERT_EQ(count[V_TPR], 1);
	GUEST_ASSERT_EQ(rdmsr(0x80a), 0x50); /* PPR */
	wrmsr(0x808, 0);
	vec_wait(V_TPR, 2);
	/* #GP: no DFR, read-only ID, write-only EOI/SELF IPI, no ICR high
	 * half, a non-zero EOI, reserved SELF IPI bits. */
	gps = 0;
	rdmsr(0x80e);
	wrmsr(0x802, 1);
	rdmsr(0x80b);
	rdmsr(0x83f);
	rdmsr(0x831);
	wrmsr(0x80b, 1);
	wrmsr(0x83f, 0x100);
	wrmsr(0x80d, 2);
	GUEST_ASSERT_EQ(gps, 8);
	/* x2APIC -> xAPIC is illegal; -> disabled is not. */
	wrmsr(MSR_APICBASE, base);
	GUEST_ASSERT_EQ(gps, 9);
	wrmsr(MSR_APICBASE, base & ~(APICBASE_EN | APICBASE_EXT));
	x2mode = false;
	GUEST_ASSERT_EQ(rdmsr(MSR_APICBASE), APIC_BASE | APICBASE_BSP);
	GUEST_ASSERT_EQ(apic_read(APIC_VER), 0xffffffff);
	/* Back to xAPIC: in its reset state. */
	wrmsr(MSR_APICBASE, base);
	GUEST_ASSERT_EQ(gps, 9);
	GUEST_ASSERT_EQ(apic_read(APIC_SVR), 0xff);
	GUEST_ASSERT_EQ(apic_read(APIC_LINT0), LVT_MASKED);
	GUEST_ASSERT_EQ(apic_read(APIC_LDR), 0);
	apic_write(APIC_SVR, SVR_ENABLE | 0xff);
	apic_write(APIC_LINT0, 0x700);
	apic_write(APIC_LINT1, 0x400);
	guest_printf("apic: x2APIC ok\n");
}

static void
on_pic(struct guest_trap_frame *tf)
{
	count[tf->vector]++;
	pic_eoi((int)tf->vector - PIC_M_BASE);
}

static void
test_extint(void)
{
	const int v = PIC_M_BASE + 5;
	uint64_t base = rdmsr(MSR_APICBASE);

	guest_set_trap_handler((unsigned)v, on_pic);
	pic_set_mask((uint16_t) ~(1u << 5));
	apic_write(APIC_LINT0, LVT_MASKED | 0x700);
	testdev_irq_pulse(5);
	window(500);
	GUEST_ASSERT_EQ(count[v], 0);
	GUEST_ASSERT(pic_irr() & (1u << 5));
	apic_write(APIC_LINT0, 0x700);
	vec_wait(v, 1);
	/* Without the APIC the INTR pin is the CPU's own. */
	apic_write(APIC_LINT0, LVT_MASKED | 0x700);
	wrmsr(MSR_APICBASE, base & ~APICBASE_EN);
	testdev_irq_pulse(5);
	vec_wait(v, 2);
	wrmsr(MSR_APICBASE, base);
	GUEST_ASSERT_EQ(apic_read(APIC_SVR), 0xff);
	apic_write(APIC_SVR, SVR_ENABLE | 0xff);
	apic_write(APIC_LINT0, 0x700);
	apic_write(APIC_LINT1, 0x400);
	pic_set_mask(0xffff);
	guest_printf("apic: ExtINT ok\n");
}

int
guest_main(void)
{
	static const int vectors[] = { V_SELF,  V_TPR,   V_LOW, V_HIGH, V_TIMER,
				       V_TSCDL, V_ERROR, V_X2A, V_X2B };

	for (unsigned i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		guest_set_trap_handler((unsigned)vectors[i], on_vector);
	guest_set_trap_handler(V_MID, on_mid);
	guest_set_trap_handler(2, on_nmi);
	guest_set_trap_handler(13, on_gp);
	/* The 8259s stay quiet: all IRQs masked. */
	pic_init(0x01, 0x01);
	pic_set_mask(0xffff);
	test_regs();
	test_self_ipi();
	test_esr();
	test_tpr();
	test_nesting();
	test_oneshot();
	test_periodic();
#ifndef APIC_NO_TSC
	test_tsc_deadline();
#endif
	test_nmi();
	test_x2apic();
	test_extint();
	guest_printf("apic: ok\n");
	return 0;
}
