/*
 * The MC146818A real-time clock and its CMOS RAM, after bhyve's vrtc.c:
 * index 0x70 and data 0x71 for bytes 0-127, index 0x72 and data 0x73 for
 * bytes 128-255, the interrupt on ISA IRQ 8 (the slave 8259's IR0).
 *
 * Bytes: 0-9 the clock (seconds, alarm seconds, minutes, alarm minutes,
 * hours, alarm hours, day of week, day of month, month, year), 10-13
 * registers A-D, 0x32 the century (as ACPI's FADT will say), the rest
 * NVRAM.  Bit 7 of the index (NMI disable on a PC) is ignored, as is the
 * same bit of 0x72: 0x72/0x73 reach bytes 128 + (index & 0x7f).
 *
 * Time.  Nothing steps: the clock is a function of the VM clock
 * (vm_clock_ns()), which a replay drives.  The divider chain runs at
 * 32.768 kHz from 'anchor', a VM-clock instant at a second boundary; the
 * time updates at anchor + k seconds and shows 'secs' + k from there.
 * Update-in-progress (A bit 7) is high for the 8 time-base ticks (244 us)
 * before each update; a reader that waits for it to fall has 244 us or
 * more of stable registers.  The update itself is instantaneous.
 *
 * Who owns the clock bytes: while the clock counts (dividers running,
 * DV = 010; SET clear; a valid date) 'secs' does, and reads render it in
 * the current format (binary or BCD, 12- or 24-hour); otherwise the bytes
 * do, as the guest wrote them, and nothing counts.  SET = 1 freezes the
 * clock (its bytes show the moment SET rose, in the format written with
 * it) and the bytes become the new time when SET falls, keeping the
 * divider's phase: the next update comes at the next boundary.  Divider
 * reset (DV = 11x, or any value but 010) also stops the clock; out of
 * reset the first update is half a second later, as on the part.  A write
 * to a clock byte while counting changes the time at once (the phase
 * stays).  A date that does not parse (BCD digits above 9, day 31 in
 * April, ...) stops the clock until a write makes it valid again (bhyve
 * instead stops the VM).  The day of week is computed, not kept: what
 * the guest writes there is lost when the clock counts again (bhyve does
 * the same; Linux never sets it).  DSE (daylight saving) and SQWE (the
 * square-wave pin) are stored and have no effect.
 *
 * Interrupts.  Register C's flags are set as on the part, whether or not
 * their interrupt is enabled: PF at the periodic rate whenever the
 * dividers run and RS is not 0, UF at each update, AF at an update whose
 * time matches the alarm bytes (a byte 0xc0-0xff matches anything).
 * They are accounted lazily, from the VM clock, up to every access; a
 * read of C returns and clears them.  IRQF (C bit 7) = PF.PIE | AF.AIE |
 * UF.UIE; its rising edge pulses IRQ 8, as bhyve does, so the next
 * interrupt comes only after the guest has read C.  A callout on the VM
 * clock stands at the next moment IRQF can rise.  RS 1 and 2 give 256
 * and 128 Hz as on the MC146818 with a 32.768 kHz time base; 3-15 give
 * 8192 Hz down to 2 Hz.
 *
 * With the HPET's legacy replacement routing on, IRQ 8 belongs to HPET
 * timer 1 and the RTC's interrupt is not connected (its flags still set).
 *
 * The date at creation is the host's, UTC; the monitor then sets the
 * configured one (vm_rtc_set_time()).
 *
 * Locking: one mutex; IRQ 8 is pulsed after it is dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vio.h"

#define RTC_INDEX      0x70
#define RTC_DATA       0x71
#define RTC_INDEX2     0x72
#define RTC_DATA2      0x73

#define RTC_SEC        0x00
#define RTC_SEC_ALARM  0x01
#define RTC_MIN        0x02
#define RTC_MIN_ALARM  0x03
#define RTC_HOUR       0x04
#define RTC_HOUR_ALARM 0x05
#define RTC_DOW        0x06
#define RTC_DAY        0x07
#define RTC_MONTH      0x08
#define RTC_YEAR       0x09
#define RTC_REG_A      0x0a
#define RTC_REG_B      0x0b
#define RTC_REG_C      0x0c
#define RTC_REG_D      0x0d
#define RTC_NVRAM      0x0e /* first NVRAM byte */
#define RTC_CENTURY    0x32
#define RTC_CMOS_SIZE  256

#define RTCA_UIP       0x80
#define RTCA_DV        0x70
#define RTCA_DV_RUN    0x20 /* 32.768 kHz time base, dividers running */
#define RTCA_RS        0x0f

#define RTCB_SET       0x80
#define RTCB_PIE       0x40
#define RTCB_AIE       0x20
#define RTCB_UIE       0x10
#define RTCB_BIN       0x04 /* DM: binary, else BCD */
#define RTCB_24H       0x02

#define RTCC_IRQF      0x80
#define RTCC_PF        0x40 /* the flags sit at their enables' bits */
#define RTCC_AF        0x20
#define RTCC_UF        0x10
#define RTCC_FLAGS     (RTCC_PF | RTCC_AF | RTCC_UF)

#define RTCD_VRT       0x80 /* valid RAM and time */

#define ALARM_ANY      0xc0 /* alarm bytes 0xc0-0xff: don't care */

#define RTC_IRQ        8
#define TB_HZ          32768 /* the time base */
#define NS_PER_S       1000000000LL
#define UIP_TICKS      8 /* 244.14 us */
#define SECS_PER_DAY   86400

/* Years 0000-9999: seconds of 0000-01-01 and 10000-01-01 from 1970. */
#define RTC_MIN_SECS (-62167219200LL)
#define RTC_END_SECS 253402300800LL
#define NEVER        INT64_MAX

struct vrtc {
	struct vm *vm;
	pthread_mutex_t mtx;
	struct callout callout;
	bool armed;       /* the callout stands for 'deadline' */
	int64_t deadline; /* VM-clock ns */
	uint8_t index;    /* port 0x70: byte 0-127 */
	uint8_t index2;   /* port 0x72: byte 128-255 */
	uint8_t cmos[RTC_CMOS_SIZE];
	bool counting;    /* 'secs' owns the clock bytes */
	int64_t anchor;   /* VM-clock ns of a second boundary */
	int64_t secs;     /* the time shown from 'anchor' on */
	int64_t flags_ns; /* C's flags account for the VM clock up to here */
};

/* ---- arithmetic ---------------------------------------------------------- */

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t
floormod(int64_t a, int64_t b)
{
	return a - floordiv(a, b) * b;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floordiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *yp, int *mp, int *dp)
{
	int64_t era, doe, yoe, doy, mp5;

	z += 719468;
	era = floordiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp5 = (5 * doy + 2) / 153;
	*dp = (int)(doy - (153 * mp5 + 2) / 5 + 1);
	*mp = (int)(mp5 < 10 ? mp5 + 3 : mp5 - 9);
	*yp = yoe + era * 400 + (*mp <= 2);
}

static int
days_in_month(int64_t y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

/* ---- the time base --------------------------------------------------------
 */

static int64_t
vrtc_now(struct vrtc *vrtc)
{
	return (int64_t)vm_clock_ns(vrtc->vm);
}

static bool
dividers_run(const struct vrtc *vrtc)
{
	return (vrtc->cmos[RTC_REG_A] & RTCA_DV) == RTCA_DV_RUN;
}

/* Time-base ticks since 'anchor' at VM-clock 'ns' (floor). */
static int64_t
tb_ticks(const struct vrtc *vrtc, int64_t ns)
{
	__int128 x = (__int128)(ns - vrtc->anchor) * TB_HZ;
	__int128 q = x / NS_PER_S;

	if (x % NS_PER_S != 0 && x < 0)
		q--;
	return (int64_t)q;
}

/* The first VM-clock ns at which tb_ticks() reaches 'tick'. */
static int64_t
tb_ns(const struct vrtc *vrtc, int64_t tick)
{
	__int128 x = (__int128)tick * NS_PER_S;
	__int128 q = x / TB_HZ;

	if (x % TB_HZ != 0 && x > 0)
		q++;
	return vrtc->anchor + (int64_t)q;
}

/* Updates since 'anchor' at VM-clock 'ns'. */
static int64_t
updates(const struct vrtc *vrtc, int64_t ns)
{
	return floordiv(ns - vrtc->anchor, NS_PER_S);
}

/* The periodic rate in time-base ticks, 0 for none. */
static int64_t
period_ticks(const struct vrtc *vrtc)
{
	int rs = vrtc->cmos[RTC_REG_A] & RTCA_RS;

	if (rs == 0)
		return 0;
	if (rs <= 2)
		return 1 << (rs + 6); /* 256 and 128 Hz, as RS 8 and 9 */
	return 1 << (rs - 1);         /* 3: 8192 Hz ... 15: 2 Hz */
}

/* The clock's time at 'now' (counting). */
static int64_t
cur_secs(const struct vrtc *vrtc, int64_t now)
{
	return vrtc->secs + updates(vrtc, now);
}

/* A new time from 'now' on, keeping the divider's phase. */
static void
set_secs_keep_phase(struct vrtc *vrtc, int64_t now, int64_t secs)
{
	vrtc->anchor += updates(vrtc, now) * NS_PER_S;
	vrtc->secs = secs;
}

/* ---- the clock bytes ------------------------------------------------------
 */

static uint8_t
encode(const struct vrtc *vrtc, int v)
{
	if (vrtc->cmos[RTC_REG_B] & RTCB_BIN)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

/* A byte in the current format, or -1 if it is not one (BCD 0x1a). */
static int
decode(const struct vrtc *vrtc, uint8_t b)
{
	if (vrtc->cmos[RTC_REG_B] & RTCB_BIN)
		return b;
	if ((b & 0xf) > 9 || (b >> 4) > 9)
		return -1;
	return (b >> 4) * 10 + (b & 0xf);
}

static uint8_t
encode_hour(const struct vrtc *vrtc, int h)
{
	if (vrtc->cmos[RTC_REG_B] & RTCB_24H)
		return encode(vrtc, h);
	/* 12 AM is 0:00, 12 PM noon; bit 7 is PM. */
	return (uint8_t)(encode(vrtc, h % 12 == 0 ? 12 : h % 12) |
			 (h >= 12 ? 0x80 : 0));
}

static int
decode_hour(const struct vrtc *vrtc, uint8_t b)
{
	int h;

	if (vrtc->cmos[RTC_REG_B] & RTCB_24H) {
		h = decode(vrtc, b);
		return h >= 0 && h <= 23 ? h : -1;
	}
	h = decode(vrtc, b & 0x7f);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + (b & 0x80 ? 12 : 0);
}

/* The clock bytes show 'secs' (within years 0000-9999). */
static void
render(struct vrtc *vrtc, int64_t secs)
{
	int64_t days = floordiv(secs, SECS_PER_DAY), y;
	int sod = (int)(secs - days * SECS_PER_DAY), m, d;
	uint8_t *c = vrtc->cmos;

	civil_from_days(days, &y, &m, &d);
	c[RTC_SEC] = encode(vrtc, sod % 60);
	c[RTC_MIN] = encode(vrtc, sod / 60 % 60);
	c[RTC_HOUR] = encode_hour(vrtc, sod / 3600);
	c[RTC_DOW] = encode(vrtc, (int)floormod(days + 4, 7) + 1); /* Sun 1 */
	c[RTC_DAY] = encode(vrtc, d);
	c[RTC_MONTH] = encode(vrtc, m);
	c[RTC_YEAR] = encode(vrtc, (int)(y % 100));
	c[RTC_CENTURY] = encode(vrtc, (int)(y / 100));
}

/* The time the clock bytes show; false if they are not a valid date. */
static bool
parse(const struct vrtc *vrtc, int64_t *secsp)
{
	const uint8_t *c = vrtc->cmos;
	int sec = decode(vrtc, c[RTC_SEC]), min = decode(vrtc, c[RTC_MIN]);
	int hour = decode_hour(vrtc, c[RTC_HOUR]);
	int day = decode(vrtc, c[RTC_DAY]), mon = decode(vrtc, c[RTC_MONTH]);
	int year = decode(vrtc, c[RTC_YEAR]);
	int cent = decode(vrtc, c[RTC_CENTURY]);
	int64_t y;

	if (sec < 0 || sec > 59 || min < 0 || min > 59 || hour < 0 || mon < 1 ||
	    mon > 12 || year < 0 || year > 99 || cent < 0 || cent > 99)
		return false;
	y = (int64_t)cent * 100 + year;
	if (day < 1 || day > days_in_month(y, mon))
		return false;
	*secsp = days_from_civil(y, mon, day) * SECS_PER_DAY + hour * 3600 +
		 min * 60 + sec;
	return true;
}

/* The bytes are the guest's from now on (the clock stops counting). */
static void
freeze(struct vrtc *vrtc, int64_t now)
{
	if (vrtc->counting)
		render(vrtc, cur_secs(vrtc, now));
	vrtc->counting = false;
}

/*
 * The clock counts again if it can: from the bytes, at the divider's
 * phase.
 */
static void
try_count(struct vrtc *vrtc, int64_t now)
{
	int64_t secs;

	if (vrtc->counting || !dividers_run(vrtc) ||
	    (vrtc->cmos[RTC_REG_B] & RTCB_SET) || !parse(vrtc, &secs))
		return;
	set_secs_keep_phase(vrtc, now, secs);
	vrtc->counting = true;
}

/* ---- the alarm ----------------------------------------------------------- */

/*
 * The value of an alarm field (0..n-1) whose encoding is the alarm byte,
 * -1 for don't care, -2 if no value has that encoding (never matches).
 */
static int
alarm_value(const struct vrtc *vrtc, int off, int n)
{
	uint8_t b = vrtc->cmos[off];

	if (b >= ALARM_ANY)
		return -1;
	for (int v = 0; v < n; v++)
		if ((off == RTC_HOUR_ALARM ? encode_hour(vrtc, v)
					   : encode(vrtc, v)) == b)
			return v;
	return -2;
}

/* The first time after 'secs' that the alarm matches, or NEVER. */
static int64_t
alarm_next(const struct vrtc *vrtc, int64_t secs)
{
	int s = alarm_value(vrtc, RTC_SEC_ALARM, 60);
	int m = alarm_value(vrtc, RTC_MIN_ALARM, 60);
	int h = alarm_value(vrtc, RTC_HOUR_ALARM, 24);
	int64_t day = floordiv(secs, SECS_PER_DAY);
	int sod = (int)(secs - day * SECS_PER_DAY);

	if (s == -2 || m == -2 || h == -2)
		return NEVER;
	/* The minutes of the next 24 hours, from the current one. */
	for (int i = 0; i <= 1440; i++) {
		int minute = sod / 60 + i, first = i == 0 ? sod % 60 + 1 : 0;
		int mh = minute % 1440 / 60, mm = minute % 60;

		if ((h >= 0 && mh != h) || (m >= 0 && mm != m))
			continue;
		if (s >= 0 ? s < first : first > 59)
			continue;
		return day * SECS_PER_DAY + minute * 60LL +
		       (s >= 0 ? s : first);
	}
	return NEVER;
}

/* ---- register C, IRQF and the callout ----------------------------------- */

/*
 * Account C's flags for the VM clock from 'flags_ns' to 'now', with the
 * state as it was in between: call before every change of state.
 */
static void
vrtc_sync(struct vrtc *vrtc, int64_t now)
{
	int64_t a = vrtc->flags_ns, p = period_ticks(vrtc), ka, kb;

	if (now <= a)
		return;
	if (p != 0 && dividers_run(vrtc) &&
	    floordiv(tb_ticks(vrtc, now), p) > floordiv(tb_ticks(vrtc, a), p))
		vrtc->cmos[RTC_REG_C] |= RTCC_PF;
	if (vrtc->counting) {
		ka = updates(vrtc, a);
		kb = updates(vrtc, now);
		if (kb > ka) {
			vrtc->cmos[RTC_REG_C] |= RTCC_UF;
			if (alarm_next(vrtc, vrtc->secs + ka) <=
			    vrtc->secs + kb)
				vrtc->cmos[RTC_REG_C] |= RTCC_AF;
		}
	}
	vrtc->flags_ns = now;
}

/* IRQF from the flags and enables; true if it just rose. */
static bool
vrtc_update_irqf(struct vrtc *vrtc)
{
	uint8_t *c = &vrtc->cmos[RTC_REG_C];
	bool old = *c & RTCC_IRQF;
	bool irqf = (*c & vrtc->cmos[RTC_REG_B] & RTCC_FLAGS) != 0;

	*c = (uint8_t)((*c & RTCC_FLAGS) | (irqf ? RTCC_IRQF : 0));
	return irqf && !old;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The next VM-clock ns at which IRQF can rise, or NEVER. */
static int64_t
vrtc_next_event(const struct vrtc *vrtc, int64_t now)
{
	uint8_t b = vrtc->cmos[RTC_REG_B];
	int64_t next = NEVER, p = period_ticks(vrtc), t;

	if (vrtc->cmos[RTC_REG_C] & RTCC_IRQF)
		return NEVER; /* no edge until C is read */
	if ((b & RTCB_PIE) && p != 0 && dividers_run(vrtc))
		next = tb_ns(vrtc, (floordiv(tb_ticks(vrtc, now), p) + 1) * p);
	if (!vrtc->counting)
		return next;
	if (b & RTCB_UIE)
		next = min64(next, vrtc->anchor +
				       (updates(vrtc, now) + 1) * NS_PER_S);
	if (b & RTCB_AIE) {
		t = alarm_next(vrtc, cur_secs(vrtc, now));
		if (t != NEVER)
			next = min64(next, vrtc->anchor +
					       (t - vrtc->secs) * NS_PER_S);
	}
	return next;
}

static void vrtc_callout(void *arg);

static void
vrtc_arm(struct vrtc *vrtc, int64_t now)
{
	int64_t next = vrtc_next_event(vrtc, now);

	vrtc->armed = next != NEVER;
	if (!vrtc->armed)
		return; /* a pending callout finds 'armed' false */
	vrtc->deadline = next;
	callout_reset(&vrtc->callout, (uint64_t)(next < 0 ? 0 : next),
		      vrtc_callout, vrtc);
}

/* IRQF rose and IRQ 8 is the RTC's: pulse it. */
static bool
vrtc_irqf_edge(struct vrtc *vrtc)
{
	return vrtc_update_irqf(vrtc) && !vhpet_legacy_routing(vrtc->vm);
}

/*
 * After any change: IRQF, the callout.  Returns true if IRQ 8 is to be
 * pulsed (once the lock is dropped).
 */
static bool
vrtc_settle(struct vrtc *vrtc, int64_t now)
{
	bool pulse = vrtc_irqf_edge(vrtc);

	vrtc_arm(vrtc, now);
	return pulse;
}

static void
vrtc_unlock_pulse(struct vrtc *vrtc, bool pulse)
{
	pthread_mutex_unlock(&vrtc->mtx);
	if (pulse)
		vm_isa_pulse_irq(vrtc->vm, RTC_IRQ, RTC_IRQ);
}

static void
vrtc_callout(void *arg)
{
	struct vrtc *vrtc = arg;
	bool pulse = false;
	int64_t now;

	pthread_mutex_lock(&vrtc->mtx);
	now = vrtc_now(vrtc);
	/* Stale (disarmed, or moved to a later event): nothing to do. */
	if (vrtc->armed && vrtc->deadline <= now) {
		vrtc_sync(vrtc, now);
		pulse = vrtc_settle(vrtc, now);
	}
	vrtc_unlock_pulse(vrtc, pulse);
}

/* ---- registers ------------------------------------------------------------
 */

static void
vrtc_write_a(struct vrtc *vrtc, uint8_t val, int64_t now)
{
	bool ran = dividers_run(vrtc);

	if (ran && (val & RTCA_DV) != RTCA_DV_RUN)
		freeze(vrtc, now);
	vrtc->cmos[RTC_REG_A] = val & ~RTCA_UIP;
	if (!ran && dividers_run(vrtc)) {
		/* Out of reset: the first update half a second later. */
		vrtc->anchor = now - NS_PER_S / 2;
		try_count(vrtc, now);
	}
}

static void
vrtc_write_b(struct vrtc *vrtc, uint8_t val, int64_t now)
{
	uint8_t old = vrtc->cmos[RTC_REG_B];

	if ((val & RTCB_SET) && !(old & RTCB_SET)) {
		/* SET clears UIE; the bytes show now, in the new format. */
		val &= ~RTCB_UIE;
		if (vrtc->counting) {
			int64_t secs = cur_secs(vrtc, now);

			vrtc->cmos[RTC_REG_B] = val;
			render(vrtc, secs);
		}
		vrtc->counting = false;
	}
	vrtc->cmos[RTC_REG_B] = val;
	if (!(val & RTCB_SET))
		try_count(vrtc, now);
}

/* A write to a clock byte (0, 2, 4, 6-9, the century). */
static void
vrtc_write_clock(struct vrtc *vrtc, int off, uint8_t val, int64_t now)
{
	if (off == RTC_SEC)
		val &= 0x7f; /* bit 7 of the seconds is read-only */
	freeze(vrtc, now);
	vrtc->cmos[off] = val;
	try_count(vrtc, now);
}

static bool
is_clock_byte(int off)
{
	return (off < RTC_REG_A && off != RTC_SEC_ALARM &&
		off != RTC_MIN_ALARM && off != RTC_HOUR_ALARM) ||
	       off == RTC_CENTURY;
}

static uint8_t
vrtc_read(struct vrtc *vrtc, int off, int64_t now, bool *pulse)
{
	uint8_t v;

	if (off == RTC_REG_A) {
		v = vrtc->cmos[RTC_REG_A];
		if (dividers_run(vrtc) && !(vrtc->cmos[RTC_REG_B] & RTCB_SET) &&
		    floormod(tb_ticks(vrtc, now), TB_HZ) >= TB_HZ - UIP_TICKS)
			v |= RTCA_UIP;
		return v;
	}
	if (off == RTC_REG_C) {
		/*
		 * IRQF may rise here, ahead of the callout: the edge
		 * happened (and reaches the PIC) even though this read
		 * drops it again at once.
		 */
		vrtc_sync(vrtc, now);
		*pulse |= vrtc_irqf_edge(vrtc);
		v = vrtc->cmos[RTC_REG_C];
		vrtc->cmos[RTC_REG_C] = 0;
		*pulse |= vrtc_settle(vrtc, now);
		return v;
	}
	if (off == RTC_REG_D)
		return RTCD_VRT;
	if (is_clock_byte(off) && vrtc->counting)
		render(vrtc, cur_secs(vrtc, now));
	return vrtc->cmos[off];
}

static void
vrtc_write(struct vrtc *vrtc, int off, uint8_t val, int64_t now, bool *pulse)
{
	switch (off) {
	case RTC_REG_A:
		vrtc_sync(vrtc, now);
		vrtc_write_a(vrtc, val, now);
		break;
	case RTC_REG_B:
		vrtc_sync(vrtc, now);
		vrtc_write_b(vrtc, val, now);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		return; /* read-only */
	case RTC_SEC_ALARM:
	case RTC_MIN_ALARM:
	case RTC_HOUR_ALARM:
		vrtc_sync(vrtc, now); /* up to now, the old alarm */
		vrtc->cmos[off] = val;
		break;
	default:
		if (!is_clock_byte(off)) {
			vrtc->cmos[off] = val; /* NVRAM */
			return;
		}
		vrtc_sync(vrtc, now);
		vrtc_write_clock(vrtc, off, val, now);
		break;
	}
	*pulse |= vrtc_settle(vrtc, now);
}

static int
vrtc_handler(struct vm *vm, struct vcpu *vcpu, bool in, int port, int bytes,
	     uint32_t *eax, void *arg)
{
	struct vrtc *vrtc = arg;
	uint32_t val = 0;
	bool pulse = false;
	int64_t now;

	pthread_mutex_lock(&vrtc->mtx);
	now = vrtc_now(vrtc);
	/* Byte registers: a wider access goes to ascending ports. */
	for (int i = 0; i < bytes; i++) {
		int p = port + i;
		uint8_t b = (uint8_t)(*eax >> (8 * i));
		int off;

		if (p == RTC_INDEX || p == RTC_INDEX2 || p > RTC_DATA2) {
			if (in)
				val |= 0xffu << (8 * i); /* write-only */
			else if (p == RTC_INDEX)
				vrtc->index = b & 0x7f; /* bit 7: NMI mask */
			else if (p == RTC_INDEX2)
				vrtc->index2 = b & 0x7f;
			continue;
		}
		off = p == RTC_DATA ? vrtc->index : 0x80 + vrtc->index2;
		if (in)
			val |= (uint32_t)vrtc_read(vrtc, off, now, &pulse)
			       << (8 * i);
		else
			vrtc_write(vrtc, off, b, now, &pulse);
	}
	vrtc_unlock_pulse(vrtc, pulse);
	if (in)
		*eax = val;
	return 0;
}

/* ---- kmod API -------------------------------------------------------------
 */

int
vm_rtc_set_time(struct vm *vm, int64_t secs)
{
	struct vrtc *vrtc = vm->vrtc;
	bool pulse;
	int64_t now;

	if (vrtc == NULL)
		return ENXIO;
	if (secs < RTC_MIN_SECS || secs >= RTC_END_SECS)
		return EINVAL;
	pthread_mutex_lock(&vrtc->mtx);
	if (!dividers_run(vrtc) || (vrtc->cmos[RTC_REG_B] & RTCB_SET)) {
		pthread_mutex_unlock(&vrtc->mtx);
		return EBUSY;
	}
	now = vrtc_now(vrtc);
	vrtc_sync(vrtc, now);
	/* A new second starts now. */
	vrtc->anchor = now;
	vrtc->secs = secs;
	vrtc->counting = true;
	pulse = vrtc_settle(vrtc, now);
	vrtc_unlock_pulse(vrtc, pulse);
	return 0;
}

int
vm_rtc_get_time(struct vm *vm, int64_t *secs)
{
	struct vrtc *vrtc = vm->vrtc;
	int error = 0;

	if (vrtc == NULL)
		return ENXIO;
	pthread_mutex_lock(&vrtc->mtx);
	if (vrtc->counting)
		*secs = cur_secs(vrtc, vrtc_now(vrtc));
	else if (!parse(vrtc, secs))
		error = EINVAL;
	pthread_mutex_unlock(&vrtc->mtx);
	return error;
}

static bool
nvram_offset_ok(int offset)
{
	return offset >= RTC_NVRAM && offset < RTC_CMOS_SIZE &&
	       offset != RTC_CENTURY;
}

int
vm_rtc_nvram_write(struct vm *vm, int offset, uint8_t value)
{
	struct vrtc *vrtc = vm->vrtc;

	if (vrtc == NULL)
		return ENXIO;
	if (!nvram_offset_ok(offset))
		return EINVAL;
	pthread_mutex_lock(&vrtc->mtx);
	vrtc->cmos[offset] = value;
	pthread_mutex_unlock(&vrtc->mtx);
	return 0;
}

int
vm_rtc_nvram_read(struct vm *vm, int offset, uint8_t *value)
{
	struct vrtc *vrtc = vm->vrtc;

	if (vrtc == NULL)
		return ENXIO;
	if (offset < RTC_NVRAM || offset >= RTC_CMOS_SIZE)
		return EINVAL;
	pthread_mutex_lock(&vrtc->mtx);
	if (offset == RTC_CENTURY && vrtc->counting)
		render(vrtc, cur_secs(vrtc, vrtc_now(vrtc)));
	*value = vrtc->cmos[offset];
	pthread_mutex_unlock(&vrtc->mtx);
	return 0;
}

int
vrtc_init(struct vm *vm)
{
	struct vrtc *vrtc = calloc(1, sizeof(*vrtc));
	int64_t now;

	if (vrtc == NULL)
		return ENOMEM;
	vrtc->vm = vm;
	pthread_mutex_init(&vrtc->mtx, NULL);
	callout_init(vm, &vrtc->callout);
	/* As a PC BIOS leaves it: 32.768 kHz, 1024 Hz, 24-hour BCD. */
	vrtc->cmos[RTC_REG_A] = RTCA_DV_RUN | 0x06;
	vrtc->cmos[RTC_REG_B] = RTCB_24H;
	vrtc->index = RTC_REG_D;
	now = vrtc_now(vrtc);
	vrtc->anchor = now;
	vrtc->secs = (int64_t)time(NULL); /* the host's, UTC */
	vrtc->counting = true;
	vrtc->flags_ns = now;
	vm->vrtc = vrtc;
	return vm_register_ioport(vm, RTC_INDEX, 4, vrtc_handler, vrtc);
}

void
vrtc_cleanup(struct vm *vm)
{
	struct vrtc *vrtc = vm->vrtc;

	if (vrtc == NULL)
		return;
	callout_stop(&vrtc->callout);
	pthread_mutex_destroy(&vrtc->mtx);
	free(vrtc);
	vm->vrtc = NULL;
}
