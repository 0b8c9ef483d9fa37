/*
 * The 8254 programmable interval timer, after bhyve's vatpit.c: three
 * counters at 0x40-0x42, the control word at 0x43, and port 0x61 (NMI
 * status and control) for counter 2's gate and output.
 *
 * Time: a counter is not stepped; its count and OUT are computed from the
 * VM's clock (vm_clock_ns(), 1.193182 MHz ticks), which a replay drives.
 * A counter keeps the tick its current count was loaded at and the ticks
 * it has counted before a pause (gate low in modes 0 and 4); everything
 * else follows from the mode.
 *
 * Counter 0's OUT is IRQ0: a callout fires at each rising edge of OUT
 * and pulses IRQ0 on the PIC (the I/O APIC's pin 2 later).  Edges lie on
 * the grid of the load tick plus multiples of the period, so a periodic
 * timer does not drift however late the callouts run; edges missed
 * entirely (a stalled host) are coalesced into one, as an edge-triggered
 * PIC would see them anyway.
 *
 * Modes: 0 (interrupt on terminal count), 1 (hardware one-shot), 2 (rate
 * generator), 3 (square wave), 4 (software strobe), 5 (hardware strobe),
 * binary or BCD; LSB, MSB or LSB-then-MSB access; counter latch and
 * read-back (count and status) commands.  The gates of counters 0 and 1
 * are tied high as on a PC, so modes 1 and 5 only ever start on counter
 * 2, whose gate is port 0x61 bit 0.
 *
 * Port 0x61: bit 0 gate 2, bit 1 speaker data enable, bits 2-3 (parity
 * and I/O channel check enables) stored; bit 4 toggles with every DRAM
 * refresh request (15.085 us, counter 1 as a BIOS programs it), bit 5 is
 * OUT2; bits 6-7 (NMI sources) read 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vio.h"

#define PIT_FREQ      1193182ULL
#define NS_PER_S      1000000000ULL

#define TIMER_CNTR0   0x40
#define TIMER_MODE    0x43
#define NMISC_PORT    0x61

#define CW_SEL_SHIFT  6
#define CW_SEL_RB     3 /* SC = 11: read-back */
#define CW_RW_SHIFT   4
#define CW_RW_LATCH   0 /* RW = 00: counter latch */
#define CW_RW_LSB     1
#define CW_RW_MSB     2
#define CW_RW_16BIT   3
#define CW_MODE_SHIFT 1
#define CW_BCD        0x01

#define RB_NCOUNT     0x20 /* read-back: do NOT latch the count */
#define RB_NSTAT      0x10 /* read-back: do NOT latch the status */

#define STS_OUT       0x80
#define STS_NULLCNT   0x40

#define NMISC_GATE2   0x01
#define NMISC_SPKR    0x02
#define NMISC_RW_MASK 0x0f
#define NMISC_REFRESH 0x10
#define NMISC_OUT2    0x20
#define REFRESH_NS    15085 /* half a refresh cycle of counter 1 */

/* Coalesce IRQ0 edges closer than this (a guest asking for 1.19 MHz). */
#define MIN_IRQ_TICKS 24 /* ~20 us */

struct channel {
	int mode; /* 0-5 */
	bool bcd;
	int rw;        /* CW_RW_LSB, _MSB or _16BIT */
	bool loaded;   /* an initial count was written (else: no count) */
	bool nullcnt;  /* count written but not yet in the counting element */
	bool counting; /* modes 1 and 5: triggered; others: loaded */
	bool gate;
	uint32_t n;      /* initial count in the counting element, 1..65536 */
	uint32_t next;   /* the count register, decoded */
	bool next_valid; /* 'next' waits for a reload or trigger */
	uint64_t next_tick; /* modes 2, 3: the reload that takes it */
	uint16_t cr;        /* count register as written (raw) */
	bool wr_msb;        /* LSB-then-MSB write: MSB next */
	bool rd_msb;        /* LSB-then-MSB read: MSB next */
	uint64_t start;     /* tick at which 'elapsed' was 'base' */
	uint64_t base;      /* ticks counted before 'start' (pauses) */
	bool running;       /* the counting element runs (gate, mode) */
	uint16_t ol;        /* output latch */
	int ol_bytes;       /* bytes of 'ol' left to read: 0, 1 or 2 */
	bool ol_msb;        /* LSB-then-MSB: the MSB of 'ol' is next */
	uint8_t status;     /* latched status byte */
	bool st_latched;
	/* counter 0 only: the IRQ0 callout */
	struct callout callout;
	bool armed;    /* a callout is meant to be pending */
	uint64_t edge; /* the tick of the next OUT rising edge */
};

struct vatpit {
	struct vm *vm;
	pthread_mutex_t mtx;
	struct channel ch[3];
	uint8_t nmisc; /* port 0x61 bits 0-3 */
};

/* ---- time ---------------------------------------------------------------- */

static uint64_t
ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_FREQ / NS_PER_S);
}

/* The first ns at which ns_to_ticks() reaches 'ticks'. */
static uint64_t
ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * NS_PER_S + PIT_FREQ - 1) /
			  PIT_FREQ);
}

static uint64_t
vatpit_now(struct vatpit *vatpit)
{
	return ns_to_ticks(vm_clock_ns(vatpit->vm));
}

/* Ticks counted since the count was loaded (or triggered). */
static uint64_t
elapsed(const struct channel *c, uint64_t now)
{
	return c->base + (c->running && now > c->start ? now - c->start : 0);
}

/* ---- count and OUT from the elapsed ticks -------------------------------- */

static uint32_t
modulus(const struct channel *c)
{
	return c->bcd ? 10000 : 65536;
}

/* Modes 2, 3: a count written while counting is taken at the reload. */
static void
channel_sync(struct channel *c, uint64_t now)
{
	if (!c->next_valid || !c->counting || !c->running || now < c->next_tick)
		return;
	c->start = c->next_tick;
	c->base = 0;
	c->n = c->next;
	c->next_valid = false;
	c->nullcnt = false;
}

/* Mode 3: the count in the current half period of a square wave. */
static uint32_t
sqwave_count(uint32_t n, uint64_t phase)
{
	uint32_t high = (n + 1) / 2, h;

	if (phase < high) {
		h = (uint32_t)phase;
		if (n & 1)
			return h == 0 ? n : n - 1 - 2 * (h - 1);
		return n - 2 * h;
	}
	h = (uint32_t)(phase - high);
	if (n & 1)
		return h == 0 ? n : n - 3 - 2 * (h - 1);
	return n - 2 * h;
}

/* The counting element's value, in binary (0..modulus-1). */
static uint32_t
channel_count(struct channel *c, uint64_t now)
{
	uint32_t m = modulus(c);
	uint64_t e;

	if (!c->loaded)
		return 0;
	if (!c->counting)
		return c->n % m; /* loaded, waiting for the gate trigger */
	channel_sync(c, now);
	e = elapsed(c, now);
	switch (c->mode) {
	case 2:
		return (uint32_t)(c->n - e % c->n) % m;
	case 3:
		return sqwave_count(c->n, e % c->n) % m;
	default: /* 0, 1, 4, 5: count down through 0 and wrap */
		return (uint32_t)((c->n + m - e % m) % m);
	}
}

static bool
channel_out(struct channel *c, uint64_t now)
{
	uint64_t e;

	switch (c->mode) {
	case 0:
		if (!c->loaded)
			return false;
		return elapsed(c, now) >= c->n;
	case 1:
		if (!c->counting)
			return true;
		return elapsed(c, now) >= c->n;
	case 2:
	case 3:
		if (!c->counting || !c->gate)
			return true;
		channel_sync(c, now);
		e = elapsed(c, now) % c->n;
		return c->mode == 2 ? e != c->n - 1 : e < (c->n + 1) / 2;
	default: /* 4, 5: low for the one tick at terminal count */
		if (!c->counting)
			return true;
		return elapsed(c, now) != c->n;
	}
}

/*
 * The tick of the first rising edge of OUT after tick 'after' (with the
 * gate high and no pause: counter 0), or 0 if there is none.
 */
static uint64_t
channel_next_edge(const struct channel *c, uint64_t after)
{
	uint64_t e, t0;

	if (!c->counting || !c->running)
		return 0;
	t0 = c->start - c->base; /* where elapsed() is 0 */
	e = elapsed(c, after);
	switch (c->mode) {
	case 0:
	case 1:
		return e < c->n ? t0 + c->n : 0;
	case 4:
	case 5:
		return e < c->n + 1 ? t0 + c->n + 1 : 0;
	default: /* 2, 3: OUT rises at every reload */
		if (c->next_valid && after >= c->next_tick)
			return c->next_tick +
			       ((after - c->next_tick) / c->next + 1) * c->next;
		return t0 + (e / c->n + 1) * c->n;
	}
}

/* ---- counter 0 -> IRQ0 --------------------------------------------------- */

static void vatpit_callout(void *arg);

/* (Re)arm counter 0's callout at its next edge after 'after'. */
static void
vatpit_arm(struct vatpit *vatpit, uint64_t after)
{
	struct channel *c = &vatpit->ch[0];
	uint64_t edge = channel_next_edge(c, after);

	c->armed = edge != 0;
	c->edge = edge;
	if (c->armed)
		callout_reset(&c->callout, ticks_to_ns(edge), vatpit_callout,
			      vatpit);
	/*
	 * Disarming leaves a pending callout in place: callout_stop() waits
	 * for a running handler, which may be waiting for our lock.  The
	 * handler finds 'armed' false and does nothing.
	 */
}

static void
vatpit_callout(void *arg)
{
	struct vatpit *vatpit = arg;
	struct channel *c = &vatpit->ch[0];
	uint64_t now;
	bool fire = false;

	pthread_mutex_lock(&vatpit->mtx);
	now = vatpit_now(vatpit);
	/* Stale (disarmed, or re-armed for a later edge): nothing to do. */
	if (c->armed && c->edge <= now) {
		fire = true;
		/* The next edge on the same grid, at a bounded rate. */
		vatpit_arm(vatpit, now + MIN_IRQ_TICKS - 1 > c->edge
				       ? now + MIN_IRQ_TICKS - 1
				       : c->edge);
	}
	pthread_mutex_unlock(&vatpit->mtx);
	/*
	 * Outside our lock: the PIC signals the vCPU.  With the HPET's
	 * legacy replacement routing on, IRQ0 is the HPET's, not ours.
	 */
	if (fire && !vhpet_legacy_routing(vatpit->vm))
		vm_isa_pulse_irq(vatpit->vm, 0, 2); /* the MADT's override */
}

/* ---- programming --------------------------------------------------------- */

/* The counting element takes the count register: the count starts now. */
static void
channel_start(struct channel *c, uint64_t now)
{
	c->n = c->next;
	c->next_valid = false;
	c->nullcnt = false;
	c->start = now;
	c->base = 0;
	c->counting = true;
	c->running = c->gate || c->mode == 1 || c->mode == 5;
}

static uint32_t
decode_count(const struct channel *c, uint16_t raw)
{
	uint32_t v = raw;

	if (c->bcd)
		v = (raw >> 12 & 0xf) * 1000 + (raw >> 8 & 0xf) * 100 +
		    (raw >> 4 & 0xf) * 10 + (raw & 0xf);
	v %= modulus(c);
	return v == 0 ? modulus(c) : v;
}

static uint16_t
encode_count(const struct channel *c, uint32_t v)
{
	if (!c->bcd)
		return (uint16_t)v;
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 |
			  (v / 10 % 10) << 4 | (v % 10));
}

/* A complete initial count was written. */
static void
channel_load(struct channel *c, uint64_t now)
{
	channel_sync(c, now); /* an earlier count may be due first */
	c->next = decode_count(c, c->cr);
	c->nullcnt = true;
	c->loaded = true;
	switch (c->mode) {
	case 1:
	case 5:
		/* Taken on the next gate trigger. */
		c->next_valid = true;
		if (!c->counting)
			c->n = c->next;
		return;
	case 2:
	case 3:
		if (c->counting && c->running) {
			/* Taken at the end of the current period. */
			c->next_tick = c->start - c->base +
				       (elapsed(c, now) / c->n + 1) * c->n;
			c->next_valid = true;
			return;
		}
		break;
	default:
		break;
	}
	channel_start(c, now);
}

static void
channel_control(struct channel *c, int rw, int mode, bool bcd)
{
	c->rw = rw;
	c->mode = mode > 5 ? mode - 4 : mode; /* 6, 7 are 2, 3 */
	c->bcd = bcd;
	/* Control logic resets: no count, OUT to its initial level. */
	c->loaded = c->counting = c->running = c->next_valid = false;
	c->nullcnt = true;
	c->wr_msb = c->rd_msb = false;
	c->ol_bytes = 0;
	c->st_latched = false;
	c->base = 0;
}

static void
channel_latch_count(struct channel *c, uint64_t now)
{
	if (c->ol_bytes != 0)
		return; /* the previous latch has not been read */
	c->ol = encode_count(c, channel_count(c, now));
	c->ol_bytes = c->rw == CW_RW_16BIT ? 2 : 1;
	c->ol_msb = c->rw == CW_RW_MSB;
}

static void
channel_latch_status(struct channel *c, uint64_t now)
{
	if (c->st_latched)
		return;
	channel_sync(c, now); /* a pending count may load: null count */
	c->status = (channel_out(c, now) ? STS_OUT : 0) |
		    (c->nullcnt ? STS_NULLCNT : 0) | c->rw << CW_RW_SHIFT |
		    c->mode << CW_MODE_SHIFT | (c->bcd ? CW_BCD : 0);
	c->st_latched = true;
}

static void
vatpit_control_word(struct vatpit *vatpit, uint8_t val, uint64_t now)
{
	int sel = val >> CW_SEL_SHIFT, rw = (val >> CW_RW_SHIFT) & 3;
	struct channel *c;

	if (sel == CW_SEL_RB) {
		for (int i = 0; i < 3; i++) {
			if (!(val & (2 << i)))
				continue;
			c = &vatpit->ch[i];
			if (!(val & RB_NSTAT))
				channel_latch_status(c, now);
			if (!(val & RB_NCOUNT))
				channel_latch_count(c, now);
		}
		return;
	}
	c = &vatpit->ch[sel];
	if (rw == CW_RW_LATCH) {
		channel_latch_count(c, now);
		return;
	}
	channel_control(c, rw, (val >> CW_MODE_SHIFT) & 7, val & CW_BCD);
	if (sel == 0)
		vatpit_arm(vatpit, now);
}

static void
vatpit_write_count(struct vatpit *vatpit, int n, uint8_t val, uint64_t now)
{
	struct channel *c = &vatpit->ch[n];

	switch (c->rw) {
	case CW_RW_LSB:
		c->cr = val;
		break;
	case CW_RW_MSB:
		c->cr = (uint16_t)(val << 8);
		break;
	case CW_RW_16BIT:
		if (!c->wr_msb) {
			c->cr = (c->cr & 0xff00) | val;
			c->wr_msb = true;
			/* Mode 0: the first byte stops the count, OUT low. */
			if (c->mode == 0)
				c->loaded = c->counting = c->running = false;
			if (n == 0)
				vatpit_arm(vatpit, now);
			return;
		}
		c->cr = (uint16_t)((c->cr & 0xff) | val << 8);
		c->wr_msb = false;
		break;
	default:
		return; /* no control word written yet */
	}
	channel_load(c, now);
	if (n == 0)
		vatpit_arm(vatpit, now);
}

static uint8_t
vatpit_read_count(struct vatpit *vatpit, int n, uint64_t now)
{
	struct channel *c = &vatpit->ch[n];
	uint16_t v;
	uint8_t b;

	if (c->st_latched) {
		c->st_latched = false;
		return c->status;
	}
	if (c->ol_bytes > 0) {
		b = c->ol_msb ? c->ol >> 8 : c->ol & 0xff;
		c->ol_msb = !c->ol_msb;
		c->ol_bytes--;
		return b;
	}
	/* Not latched: the counting element as it runs. */
	v = encode_count(c, channel_count(c, now));
	switch (c->rw) {
	case CW_RW_LSB:
		return v & 0xff;
	case CW_RW_MSB:
		return v >> 8;
	default:
		b = c->rd_msb ? v >> 8 : v & 0xff;
		c->rd_msb = !c->rd_msb;
		return b;
	}
}

/* Counter 2's gate (port 0x61 bit 0) changed. */
static void
channel_set_gate(struct channel *c, bool gate, uint64_t now)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->loaded)
		return;
	switch (c->mode) {
	case 0:
	case 4:
		/* The gate enables counting: pause or resume. */
		if (!c->counting)
			return;
		if (!gate) {
			c->base = elapsed(c, now);
			c->running = false;
		} else {
			c->start = now;
			c->running = true;
		}
		return;
	case 1:
	case 5:
		/* A rising edge (re)triggers with the initial count. */
		if (gate)
			channel_start(c, now); /* from the count register */
		return;
	default:
		/* 2, 3: low stops (OUT high), a rising edge reloads. */
		if (!gate) {
			channel_sync(c, now);
			c->base = elapsed(c, now); /* the count holds */
			c->running = false;
			return;
		}
		channel_start(c, now);
		return;
	}
}

static int
vatpit_handler(struct vm *vm, struct vcpu *vcpu, bool in, int port, int bytes,
	       uint32_t *eax, void *arg)
{
	struct vatpit *vatpit = arg;
	uint32_t val = 0;
	uint64_t now;

	pthread_mutex_lock(&vatpit->mtx);
	now = vatpit_now(vatpit);
	/* Byte registers: wider accesses are split over ascending ports. */
	for (int i = 0; i < bytes; i++) {
		int p = port + i;

		if (p > TIMER_MODE) {
			val |= 0xffu << (8 * i);
		} else if (p == TIMER_MODE) {
			if (in)
				val |= 0xffu << (8 * i); /* write-only */
			else
				vatpit_control_word(
				    vatpit, (uint8_t)(*eax >> (8 * i)), now);
		} else if (in) {
			val |= (uint32_t)vatpit_read_count(vatpit,
							   p - TIMER_CNTR0, now)
			       << (8 * i);
		} else {
			vatpit_write_count(vatpit, p - TIMER_CNTR0,
					   (uint8_t)(*eax >> (8 * i)), now);
		}
	}
	pthread_mutex_unlock(&vatpit->mtx);
	if (in)
		*eax = val;
	return 0;
}

static int
vatpit_nmisc_handler(struct vm *vm, struct vcpu *vcpu, bool in, int port,
		     int bytes, uint32_t *eax, void *arg)
{
	struct vatpit *vatpit = arg;
	uint64_t now;
	uint8_t val;

	pthread_mutex_lock(&vatpit->mtx);
	now = vatpit_now(vatpit);
	if (in) {
		val = vatpit->nmisc;
		if ((vm_clock_ns(vm) / REFRESH_NS) & 1)
			val |= NMISC_REFRESH;
		if (channel_out(&vatpit->ch[2], now))
			val |= NMISC_OUT2;
		/* A wider read sees the ports above as unclaimed. */
		*eax = val | (bytes > 1 ? 0xffffff00u : 0);
	} else {
		vatpit->nmisc = (uint8_t)*eax & NMISC_RW_MASK;
		channel_set_gate(&vatpit->ch[2], *eax & NMISC_GATE2, now);
	}
	pthread_mutex_unlock(&vatpit->mtx);
	return 0;
}

int
vatpit_init(struct vm *vm)
{
	struct vatpit *vatpit;
	int error;

	vatpit = calloc(1, sizeof(*vatpit));
	if (vatpit == NULL)
		return ENOMEM;
	vatpit->vm = vm;
	pthread_mutex_init(&vatpit->mtx, NULL);
	for (int i = 0; i < 3; i++) {
		/* No control word yet: writes of a count are ignored. */
		vatpit->ch[i].rw = 0;
		vatpit->ch[i].gate = i != 2; /* 0 and 1 tied high */
		callout_init(vm, &vatpit->ch[i].callout);
	}
	vm->vatpit = vatpit;
	if ((error = vm_register_ioport(vm, TIMER_CNTR0, 4, vatpit_handler,
					vatpit)) != 0 ||
	    (error = vm_register_ioport(vm, NMISC_PORT, 1, vatpit_nmisc_handler,
					vatpit)) != 0)
		return error; /* vatpit_cleanup() frees it */
	return 0;
}

void
vatpit_cleanup(struct vm *vm)
{
	struct vatpit *vatpit = vm->vatpit;

	if (vatpit == NULL)
		return;
	/* No lock held: the handler may be waiting for the PIT's. */
	callout_stop(&vatpit->ch[0].callout);
	pthread_mutex_destroy(&vatpit->mtx);
	free(vatpit);
	vm->vatpit = NULL;
}
