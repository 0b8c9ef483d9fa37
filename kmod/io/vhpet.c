/*
 * The HPET (IA-PC High Precision Event Timers 1.0a), after bhyve's
 * vhpet.c: one block of 8 timers at 0xfed00000, 1 KiB of MMIO emulated
 * inside kmod (vm_register_iomem()).
 *
 * Registers: general capabilities and ID (revision 1, 8 timers, a 64-bit
 * main counter, legacy replacement capable, vendor 8086 as bhyve's),
 * the general configuration (ENABLE_CNF, LEG_RT_CNF), the general
 * interrupt status (write 1 to clear), the main counter (read/write),
 * and per timer its configuration and capabilities, its comparator and
 * its FSB route (FSB delivery is not offered: Tn_FSB_INT_DEL_CAP is 0,
 * the route registers read 0).  Every timer is 64-bit and periodic
 * capable; Tn_32MODE_CNF makes one a 32-bit timer.  Accesses of 1 to 8
 * bytes, naturally aligned, reach any part of a register; misaligned
 * ones read 0 and write nothing (the spec allows only 4 and 8 bytes).
 *
 * The counter runs at 10 MHz (a period of exactly 100 ns = 10^8 fs, the
 * longest the spec allows; bhyve's 2^24 Hz has no exact period in fs),
 * derived from the VM clock: count = base + (now - base_ns) / 100, so a
 * replay that drives vm_clock_ns() reproduces it.
 *
 * Timers.  A timer matches when the main counter steps onto its
 * comparator (the low 32 bits of both in 32-bit mode); a comparator
 * written equal to the counter matches only after a wrap.  One-shot: a
 * match per wrap (2^32 ticks, 429 s, in 32-bit mode; never in 64-bit
 * mode).  Periodic: at a match the comparator advances by the value last
 * written to it; matches missed (a stalled host) are coalesced into one.
 * A comparator write sets that period and, unless the timer is periodic
 * without Tn_VAL_SET_CNF, the comparator; it clears Tn_VAL_SET_CNF (as
 * bhyve, QEMU and the AMD 81xx that Linux writes twice for).
 * Matches are accounted lazily from the VM clock at every access, and by
 * a callout per timer at its next match, so what the guest reads does not
 * depend on how late a callout runs.
 *
 * Interrupts.  Edge timers pulse their line at a match if Tn_INT_ENB_CNF
 * is set.  Level timers set their bit in the interrupt status at a match
 * (also with the interrupt disabled, as the spec says); the line is high
 * while the bit is set and the interrupt enabled, and falls when the
 * guest writes 1 to the bit.  Routing: with LEG_RT_CNF timer 0 drives
 * IRQ0 and timer 1 IRQ8 of the 8259 pair and the I/O APIC's pins 2 and
 * 8; the RTC's IRQ8 and the PIT's IRQ0 are then disconnected (vrtc and
 * vatpit ask vhpet_legacy_routing()).  Otherwise Tn_INT_ROUTE_CNF names
 * an I/O APIC pin: the timers offer pins 20-23 as bhyve's do with a
 * 24-pin I/O APIC, a route outside them reads back as 0.
 *
 * Locking: one mutex for the state.  Interrupt lines change after it is
 * dropped, in the order decided under it: a second mutex, taken before
 * the first is dropped, keeps a deassert from overtaking its assert.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "vio.h"

#define HPET_NTIMERS       8
#define HPET_PERIOD_FS     100000000ULL /* 100 ns: 10 MHz */
#define NS_PER_TICK        100

#define HPET_CAP           0x000
#define HPET_CONFIG        0x010
#define HPET_ISR           0x020
#define HPET_COUNTER       0x0f0
#define HPET_TIMER0        0x100
#define HPET_TIMER_STRIDE  0x20
#define HPET_TIMER_CONFIG  0x00 /* within a timer's registers */
#define HPET_TIMER_COMP    0x08
#define HPET_TIMER_FSB     0x10

#define CAP_REV            0x01
#define CAP_NUM_TIM_SHIFT  8
#define CAP_COUNT_SIZE     (1ULL << 13)
#define CAP_LEG_RT         (1ULL << 15)
#define CAP_VENDOR_SHIFT   16
#define CAP_PERIOD_SHIFT   32

#define CNF_ENABLE         0x01ULL
#define CNF_LEG_RT         0x02ULL

#define TN_INT_TYPE        (1ULL << 1) /* level */
#define TN_INT_ENB         (1ULL << 2)
#define TN_TYPE            (1ULL << 3) /* periodic */
#define TN_PER_INT_CAP     (1ULL << 4)
#define TN_SIZE_CAP        (1ULL << 5) /* 64-bit */
#define TN_VAL_SET         (1ULL << 6)
#define TN_32MODE          (1ULL << 8)
#define TN_INT_ROUTE_SHIFT 9
#define TN_INT_ROUTE       (0x1fULL << TN_INT_ROUTE_SHIFT)
#define TN_ROUTE_CAP_SHIFT 32
#define TN_WRITABLE                                                            \
	(TN_INT_TYPE | TN_INT_ENB | TN_TYPE | TN_VAL_SET | TN_32MODE |         \
	 TN_INT_ROUTE)
/* I/O APIC pins 20-23, as bhyve offers with a 24-pin I/O APIC. */
#define TN_ROUTE_CAP 0x00f00000ULL

/* Matches further ahead than this (228 years) never come. */
#define MAX_DELTA (1ULL << 56)

struct vhpet;

struct timer {
	struct vhpet *vhpet;
	int n;
	uint64_t config; /* the writable bits */
	uint64_t comp;   /* comparator (32-bit mode: 32 bits) */
	uint64_t period; /* the value last written to the comparator */
	bool armed;      /* a match is due at tick 'next' */
	uint64_t next;   /* ticks since base_ns */
	uint64_t deadline;
	int line; /* the IRQ this timer holds high, or -1 */
	struct callout callout;
};

struct vhpet {
	struct vm *vm;
	pthread_mutex_t mtx;
	pthread_mutex_t deliver_mtx; /* orders line changes; see above */
	uint64_t config;
	uint64_t isr;
	uint64_t base;    /* the main counter at base_ns (or stopped) */
	uint64_t base_ns; /* VM clock */
	_Atomic bool legacy;
	struct timer timer[HPET_NTIMERS];
};

/* Interrupt line changes decided under the lock, made after it. */
enum line_op { LINE_ASSERT, LINE_DEASSERT, LINE_PULSE };

struct line_ops {
	int n;
	struct {
		enum line_op op;
		int irq;
	} op[4 * HPET_NTIMERS];
};

#define LINE_IOAPIC 0x100 /* an I/O APIC pin, not an ISA IRQ */

static void
line_op(struct line_ops *ops, enum line_op op, int irq)
{
	if (ops->n < (int)(sizeof(ops->op) / sizeof(ops->op[0]))) {
		ops->op[ops->n].op = op;
		ops->op[ops->n].irq = irq;
		ops->n++;
	}
}

static void
vhpet_unlock_deliver(struct vhpet *vhpet, const struct line_ops *ops)
{
	if (ops->n == 0) {
		pthread_mutex_unlock(&vhpet->mtx);
		return;
	}
	pthread_mutex_lock(&vhpet->deliver_mtx);
	pthread_mutex_unlock(&vhpet->mtx);
	for (int i = 0; i < ops->n; i++) {
		int irq = ops->op[i].irq;
		/*
		 * Legacy IRQ0 and IRQ8 on the 8259 pair and the I/O APIC's
		 * pins 2 and 8 (the MADT's override), else a pin alone.
		 */
		int atpic = irq & LINE_IOAPIC ? -1 : irq;
		int pin = irq & LINE_IOAPIC ? irq & ~LINE_IOAPIC
			  : irq == 0        ? 2
					    : irq;

		switch (ops->op[i].op) {
		case LINE_ASSERT:
			vm_isa_assert_irq(vhpet->vm, atpic, pin);
			break;
		case LINE_DEASSERT:
			vm_isa_deassert_irq(vhpet->vm, atpic, pin);
			break;
		case LINE_PULSE:
			vm_isa_pulse_irq(vhpet->vm, atpic, pin);
			break;
		}
	}
	pthread_mutex_unlock(&vhpet->deliver_mtx);
}

/* ---- the main counter ---------------------------------------------------- */

static bool
enabled(const struct vhpet *vhpet)
{
	return (vhpet->config & CNF_ENABLE) != 0;
}

/* Ticks since base_ns (counting). */
static uint64_t
ticks(const struct vhpet *vhpet, uint64_t now)
{
	return now > vhpet->base_ns ? (now - vhpet->base_ns) / NS_PER_TICK : 0;
}

static uint64_t
counter(const struct vhpet *vhpet, uint64_t now)
{
	if (!enabled(vhpet))
		return vhpet->base;
	return vhpet->base + ticks(vhpet, now);
}

/* ---- timers -------------------------------------------------------------- */

static bool
is32(const struct timer *t)
{
	return (t->config & TN_32MODE) != 0;
}

static bool
periodic(const struct timer *t)
{
	return (t->config & TN_TYPE) != 0;
}

static bool
level(const struct timer *t)
{
	return (t->config & TN_INT_TYPE) != 0;
}

/*
 * The line a timer drives: a legacy ISA IRQ (0 or 8), or LINE_IOAPIC |
 * the I/O APIC pin of Tn_INT_ROUTE_CNF.
 */
static int
timer_irq(const struct vhpet *vhpet, const struct timer *t)
{
	if (vhpet->config & CNF_LEG_RT) {
		if (t->n == 0)
			return 0;
		if (t->n == 1)
			return 8;
	}
	return LINE_IOAPIC |
	       (int)((t->config & TN_INT_ROUTE) >> TN_INT_ROUTE_SHIFT);
}

/* Make the timer's level line what its state says. */
static void
timer_line(struct vhpet *vhpet, struct timer *t, struct line_ops *ops)
{
	int want = -1;

	if (level(t) && (t->config & TN_INT_ENB) &&
	    (vhpet->isr & (1ULL << t->n)))
		want = timer_irq(vhpet, t);
	if (want == t->line)
		return;
	if (t->line >= 0)
		line_op(ops, LINE_DEASSERT, t->line);
	if (want >= 0)
		line_op(ops, LINE_ASSERT, want);
	t->line = want;
}

static void vhpet_callout(void *arg);

static void
timer_schedule(struct vhpet *vhpet, struct timer *t)
{
	t->deadline = vhpet->base_ns + t->next * NS_PER_TICK;
	callout_reset(&t->callout, t->deadline, vhpet_callout, t);
}

/*
 * Arm for the first match after tick 'now_t' (a pending callout of a
 * disarmed timer finds 'armed' false and does nothing).
 */
static void
timer_arm(struct vhpet *vhpet, struct timer *t, uint64_t now)
{
	uint64_t now_t = ticks(vhpet, now), delta;

	t->armed = false;
	if (!enabled(vhpet))
		return;
	if (is32(t)) {
		delta = (uint32_t)(t->comp - (vhpet->base + now_t));
		if (delta == 0)
			delta = 1ULL << 32;
	} else {
		delta = t->comp - (vhpet->base + now_t);
		if (delta == 0 || delta > MAX_DELTA)
			return;
	}
	t->next = now_t + delta;
	t->armed = true;
	timer_schedule(vhpet, t);
}

/* A match of timer 't': status, interrupt. */
static void
timer_fire(struct vhpet *vhpet, struct timer *t, struct line_ops *ops)
{
	int irq;

	if (level(t)) {
		vhpet->isr |= 1ULL << t->n;
		timer_line(vhpet, t, ops);
		return;
	}
	irq = timer_irq(vhpet, t);
	if ((t->config & TN_INT_ENB) && irq >= 0)
		line_op(ops, LINE_PULSE, irq);
}

/* Matches due by 'now': fire once each, then on to the next match. */
static void
vhpet_sync(struct vhpet *vhpet, uint64_t now, struct line_ops *ops)
{
	uint64_t now_t = ticks(vhpet, now), wrap, p, k;

	if (!enabled(vhpet))
		return;
	for (int n = 0; n < HPET_NTIMERS; n++) {
		struct timer *t = &vhpet->timer[n];

		if (!t->armed || t->next > now_t)
			continue;
		timer_fire(vhpet, t, ops);
		wrap = is32(t) ? 1ULL << 32 : 0;
		p = is32(t) ? (uint32_t)t->period : t->period;
		if (periodic(t) && p != 0) {
			if (p > MAX_DELTA) {
				t->comp += p;
				t->armed = false;
				continue;
			}
			k = (now_t - t->next) / p + 1;
			t->comp += k * p;
			if (wrap != 0)
				t->comp = (uint32_t)t->comp;
			t->next += k * p;
		} else if (wrap != 0) {
			t->next += ((now_t - t->next) / wrap + 1) * wrap;
		} else {
			t->armed = false; /* 64-bit one-shot: done */
			continue;
		}
		timer_schedule(vhpet, t);
	}
}

static void
vhpet_callout(void *arg)
{
	struct timer *t = arg;
	struct vhpet *vhpet = t->vhpet;
	struct line_ops ops = { 0 };
	uint64_t now;

	pthread_mutex_lock(&vhpet->mtx);
	now = vm_clock_ns(vhpet->vm);
	/* Stale (disarmed, or moved to a later match): nothing to do. */
	if (t->armed && t->deadline <= now)
		vhpet_sync(vhpet, now, &ops);
	vhpet_unlock_deliver(vhpet, &ops);
}

/* ---- registers ----------------------------------------------------------- */

static uint64_t
merge(uint64_t old, uint64_t data, uint64_t mask)
{
	return (old & ~mask) | (data & mask);
}

static void
vhpet_write_config(struct vhpet *vhpet, uint64_t val, uint64_t now,
		   struct line_ops *ops)
{
	uint64_t old = vhpet->config;

	vhpet->config = val & (CNF_ENABLE | CNF_LEG_RT);
	atomic_store(&vhpet->legacy, (vhpet->config & CNF_LEG_RT) != 0);
	if ((old ^ vhpet->config) & CNF_ENABLE) {
		if (enabled(vhpet)) {
			vhpet->base_ns = now; /* 'base' held the count */
		} else {
			vhpet->base += ticks(vhpet, now);
		}
		for (int n = 0; n < HPET_NTIMERS; n++)
			timer_arm(vhpet, &vhpet->timer[n], now);
	}
	if ((old ^ vhpet->config) & CNF_LEG_RT)
		for (int n = 0; n < HPET_NTIMERS; n++)
			timer_line(vhpet, &vhpet->timer[n], ops);
}

static void
vhpet_write_timer_config(struct vhpet *vhpet, struct timer *t, uint64_t val,
			 uint64_t now, struct line_ops *ops)
{
	uint64_t route;

	t->config = val & TN_WRITABLE;
	route = (t->config & TN_INT_ROUTE) >> TN_INT_ROUTE_SHIFT;
	if (!(TN_ROUTE_CAP & (1ULL << route)))
		t->config &= ~TN_INT_ROUTE; /* not offered: 0, as bhyve */
	if (is32(t)) {
		t->comp = (uint32_t)t->comp;
		t->period = (uint32_t)t->period;
	}
	timer_line(vhpet, t, ops);
	timer_arm(vhpet, t, now);
}

static void
vhpet_write_comp(struct vhpet *vhpet, struct timer *t, uint64_t data,
		 uint64_t mask, uint64_t now)
{
	t->period = merge(t->period, data, mask);
	if (!periodic(t) || (t->config & TN_VAL_SET))
		t->comp = merge(t->comp, data, mask);
	if (is32(t)) {
		t->comp = (uint32_t)t->comp;
		t->period = (uint32_t)t->period;
	}
	t->config &= ~TN_VAL_SET;
	timer_arm(vhpet, t, now);
}

static uint64_t
vhpet_timer_read(const struct timer *t, int reg)
{
	switch (reg) {
	case HPET_TIMER_CONFIG:
		return t->config | TN_PER_INT_CAP | TN_SIZE_CAP |
		       TN_ROUTE_CAP << TN_ROUTE_CAP_SHIFT;
	case HPET_TIMER_COMP:
		return t->comp;
	default:
		return 0; /* FSB route: not offered */
	}
}

/* The 64-bit register at 'off' (8-aligned). */
static uint64_t
vhpet_capabilities(void)
{
	return CAP_REV | (HPET_NTIMERS - 1ULL) << CAP_NUM_TIM_SHIFT |
	       CAP_COUNT_SIZE | CAP_LEG_RT | 0x8086ULL << CAP_VENDOR_SHIFT |
	       HPET_PERIOD_FS << CAP_PERIOD_SHIFT;
}

static uint64_t
vhpet_read_reg(struct vhpet *vhpet, uint64_t off, uint64_t now)
{
	uint64_t toff;

	switch (off) {
	case HPET_CAP:
		return vhpet_capabilities();
	case HPET_CONFIG:
		return vhpet->config;
	case HPET_ISR:
		return vhpet->isr;
	case HPET_COUNTER:
		return counter(vhpet, now);
	default:
		break;
	}
	if (off < HPET_TIMER0 ||
	    off >= HPET_TIMER0 + HPET_NTIMERS * HPET_TIMER_STRIDE)
		return 0;
	toff = off - HPET_TIMER0;
	return vhpet_timer_read(&vhpet->timer[toff / HPET_TIMER_STRIDE],
				(int)(toff % HPET_TIMER_STRIDE));
}

static void
vhpet_write_reg(struct vhpet *vhpet, uint64_t off, uint64_t data, uint64_t mask,
		uint64_t now, struct line_ops *ops)
{
	struct timer *t;
	uint64_t toff, clear;

	switch (off) {
	case HPET_CONFIG:
		vhpet_write_config(vhpet, merge(vhpet->config, data, mask), now,
				   ops);
		return;
	case HPET_ISR:
		clear = vhpet->isr & data & mask;
		vhpet->isr &= ~clear;
		for (int n = 0; n < HPET_NTIMERS; n++)
			if (clear & (1ULL << n))
				timer_line(vhpet, &vhpet->timer[n], ops);
		return;
	case HPET_COUNTER:
		vhpet->base = merge(counter(vhpet, now), data, mask);
		vhpet->base_ns = now;
		for (int n = 0; n < HPET_NTIMERS; n++)
			timer_arm(vhpet, &vhpet->timer[n], now);
		return;
	default:
		break;
	}
	if (off < HPET_TIMER0 ||
	    off >= HPET_TIMER0 + HPET_NTIMERS * HPET_TIMER_STRIDE)
		return; /* read-only or reserved */
	toff = off - HPET_TIMER0;
	t = &vhpet->timer[toff / HPET_TIMER_STRIDE];
	switch (toff % HPET_TIMER_STRIDE) {
	case HPET_TIMER_CONFIG:
		vhpet_write_timer_config(vhpet, t, merge(t->config, data, mask),
					 now, ops);
		break;
	case HPET_TIMER_COMP:
		vhpet_write_comp(vhpet, t, data, mask, now);
		break;
	default:
		break; /* FSB route: not offered */
	}
}

static int
vhpet_handler(struct vcpu *vcpu, bool write, uint64_t gpa, int bytes,
	      uint64_t *val, void *arg)
{
	struct vhpet *vhpet = arg;
	struct line_ops ops = { 0 };
	uint64_t off = gpa - VHPET_BASE, shift, mask, now;

	(void)vcpu;
	if (off & (uint64_t)(bytes - 1)) {
		if (!write)
			*val = 0; /* misaligned */
		return 0;
	}
	shift = (off & 7) * 8;
	mask = (bytes == 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1) << shift;
	pthread_mutex_lock(&vhpet->mtx);
	now = vm_clock_ns(vhpet->vm);
	vhpet_sync(vhpet, now, &ops); /* matches due come first */
	if (write)
		vhpet_write_reg(vhpet, off & ~7ULL, *val << shift, mask, now,
				&ops);
	else
		*val =
		    (vhpet_read_reg(vhpet, off & ~7ULL, now) & mask) >> shift;
	vhpet_unlock_deliver(vhpet, &ops);
	return 0;
}

bool
vhpet_legacy_routing(struct vm *vm)
{
	return vm->vhpet != NULL && atomic_load(&vm->vhpet->legacy);
}

/* For the ACPI HPET table, as bhyve's vm_get_hpet_capabilities(). */
int
vm_hpet_capabilities(struct vm *vm, uint64_t *cap)
{
	if (vm->vhpet == NULL)
		return ENXIO;
	*cap = vhpet_capabilities();
	return 0;
}

int
vhpet_init(struct vm *vm)
{
	struct vhpet *vhpet = calloc(1, sizeof(*vhpet));

	if (vhpet == NULL)
		return ENOMEM;
	vhpet->vm = vm;
	pthread_mutex_init(&vhpet->mtx, NULL);
	pthread_mutex_init(&vhpet->deliver_mtx, NULL);
	atomic_init(&vhpet->legacy, false);
	for (int n = 0; n < HPET_NTIMERS; n++) {
		struct timer *t = &vhpet->timer[n];

		t->vhpet = vhpet;
		t->n = n;
		t->comp = ~0ULL; /* as after reset */
		t->line = -1;
		callout_init(vm, &t->callout);
	}
	vm->vhpet = vhpet;
	return vm_register_iomem(vm, VHPET_BASE, VHPET_SIZE, vhpet_handler,
				 vhpet);
}

void
vhpet_cleanup(struct vm *vm)
{
	struct vhpet *vhpet = vm->vhpet;

	if (vhpet == NULL)
		return;
	for (int n = 0; n < HPET_NTIMERS; n++)
		callout_stop(&vhpet->timer[n].callout);
	vm->vhpet = NULL;
	pthread_mutex_destroy(&vhpet->mtx);
	pthread_mutex_destroy(&vhpet->deliver_mtx);
	free(vhpet);
}
