/*
 * PC platform helpers for the test guests: the 8259 pair, the 8254, the
 * ACPI PM timer, the pc-testdev IRQ lines, the RTC, the HPET, and the
 * local APIC's and I/O APIC's registers (xAPIC MMIO).
 * Header-only; include after guest.h.
 */
#ifndef RHYVE_GUEST_PC_H
#define RHYVE_GUEST_PC_H

#include "guest.h"

/* ---- local APIC and I/O APIC (MMIO) -------------------------------------- */

#define APIC_BASE   0xfee00000UL
#define IOAPIC_BASE 0xfec00000UL
#define IOREGSEL    0x00 /* the I/O APIC's index register */
#define IOWIN       0x10 /* and its data window */

static inline uint32_t
apic_read(uint32_t off)
{
	return *(volatile uint32_t *)(APIC_BASE + off);
}

static inline void
apic_write(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(APIC_BASE + off) = v;
}

static inline uint32_t
ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)(IOAPIC_BASE + IOREGSEL) = reg;
	return *(volatile uint32_t *)(IOAPIC_BASE + IOWIN);
}

static inline void
ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(IOAPIC_BASE + IOREGSEL) = reg;
	*(volatile uint32_t *)(IOAPIC_BASE + IOWIN) = v;
}

/* ---- 8259A pair ---------------------------------------------------------- */

#define PIC_M_CMD    0x20
#define PIC_M_DATA   0x21
#define PIC_S_CMD    0xa0
#define PIC_S_DATA   0xa1
#define PIC_ELCR_M   0x4d0
#define PIC_ELCR_S   0x4d1
#define PIC_EOI      0x20 /* OCW2: non-specific EOI */
#define PIC_READ_IRR 0x0a /* OCW3 */
#define PIC_READ_ISR 0x0b /* OCW3 */
#define PIC_POLL     0x0c /* OCW3 */

#define PIC_M_BASE   0x20 /* vectors of IRQ0-7 */
#define PIC_S_BASE   0x28 /* vectors of IRQ8-15 */

/* ICW1-ICW4 on both chips; 'icw4' 0x01 (8086) or 0x03 (8086 + AEOI). */
static inline void
pic_init(uint8_t icw4_master, uint8_t icw4_slave)
{
	outb(PIC_M_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(PIC_M_DATA, PIC_M_BASE);
	outb(PIC_M_DATA, 0x04); /* ICW3: a slave on IR2 */
	outb(PIC_M_DATA, icw4_master);
	outb(PIC_S_CMD, 0x11);
	outb(PIC_S_DATA, PIC_S_BASE);
	outb(PIC_S_DATA, 0x02); /* ICW3: slave ID 2 */
	outb(PIC_S_DATA, icw4_slave);
}

/* IMR of the pair as one 16-bit mask (bit n: IRQ n). */
static inline void
pic_set_mask(uint16_t mask)
{
	outb(PIC_M_DATA, (uint8_t)mask);
	outb(PIC_S_DATA, (uint8_t)(mask >> 8));
}

static inline uint16_t
pic_get_mask(void)
{
	return (uint16_t)(inb(PIC_M_DATA) | inb(PIC_S_DATA) << 8);
}

static inline uint16_t
pic_read_reg(uint8_t ocw3)
{
	outb(PIC_M_CMD, ocw3);
	outb(PIC_S_CMD, ocw3);
	return (uint16_t)(inb(PIC_M_CMD) | inb(PIC_S_CMD) << 8);
}

static inline uint16_t
pic_irr(void)
{
	return pic_read_reg(PIC_READ_IRR);
}

static inline uint16_t
pic_isr(void)
{
	return pic_read_reg(PIC_READ_ISR);
}

/* The EOI for 'irq' the usual way: the slave's, then the master's. */
static inline void
pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC_S_CMD, PIC_EOI);
	outb(PIC_M_CMD, PIC_EOI);
}

static inline void
pic_set_elcr(uint16_t elcr)
{
	outb(PIC_ELCR_M, (uint8_t)elcr);
	outb(PIC_ELCR_S, (uint8_t)(elcr >> 8));
}

static inline uint16_t
pic_get_elcr(void)
{
	return (uint16_t)(inb(PIC_ELCR_M) | inb(PIC_ELCR_S) << 8);
}

/* ---- pc-testdev IRQ lines (0x2000 + n) ----------------------------------- */

#define TESTDEV_IRQ_BASE 0x2000

static inline void
testdev_irq_line(int irq, int level)
{
	outb((uint16_t)(TESTDEV_IRQ_BASE + irq), (uint8_t)level);
}

static inline void
testdev_irq_pulse(int irq)
{
	testdev_irq_line(irq, 1);
	testdev_irq_line(irq, 0);
}

/* ---- ACPI PM timer: 24 bits at 3.579545 MHz, 32-bit reads ---------------- */

#define PMTMR_PORT 0x408
#define PMTMR_HZ   3579545ULL

/* A 64-bit PM-timer clock; call it at least every 4.6 s. */
static inline uint64_t
pm_now(void)
{
	static uint64_t high;
	static uint32_t last;
	uint32_t now = inl(PMTMR_PORT) & 0xffffff;

	if (now < last)
		high += 1u << 24;
	last = now;
	return high | now;
}

static inline uint64_t
pm_to_us(uint64_t ticks)
{
	return ticks * 1000000ULL / PMTMR_HZ;
}

static inline uint64_t
us_to_pm(uint64_t us)
{
	return us * PMTMR_HZ / 1000000ULL;
}

/* Busy-wait 'us' microseconds on the PM timer. */
static inline void
pm_delay_us(uint64_t us)
{
	uint64_t end = pm_now() + us_to_pm(us);

	while (pm_now() < end)
		;
}

/* ---- 8254 ---------------------------------------------------------------- */

#define PIT_CH0       0x40
#define PIT_CH2       0x42
#define PIT_CMD       0x43
#define PIT_HZ        1193182ULL
#define NMISC         0x61
#define NMISC_GATE2   0x01
#define NMISC_SPKR    0x02
#define NMISC_REFRESH 0x10
#define NMISC_OUT2    0x20

/* Control word for counter 'ch': LSB-then-MSB, 'mode', binary. */
static inline void
pit_program(int ch, int mode, uint16_t count)
{
	outb(PIT_CMD, (uint8_t)(ch << 6 | 0x30 | mode << 1));
	outb((uint16_t)(PIT_CH0 + ch), (uint8_t)count);
	outb((uint16_t)(PIT_CH0 + ch), (uint8_t)(count >> 8));
}

/* Counter latch command, then the latched LSB and MSB. */
static inline uint16_t
pit_latch_read(int ch)
{
	uint16_t v;

	outb(PIT_CMD, (uint8_t)(ch << 6));
	v = inb((uint16_t)(PIT_CH0 + ch));
	return (uint16_t)(v | inb((uint16_t)(PIT_CH0 + ch)) << 8);
}

/* Read-back command: the status byte of counter 'ch'. */
static inline uint8_t
pit_status(int ch)
{
	outb(PIT_CMD, (uint8_t)(0xe0 | 2 << ch)); /* latch status only */
	return inb((uint16_t)(PIT_CH0 + ch));
}

/* Counter 0 idle: a control word without a count stops it. */
static inline void
pit_stop(int ch)
{
	outb(PIT_CMD, (uint8_t)(ch << 6 | 0x30));
}

/* ---- MC146818 RTC and CMOS (0x72/0x73: the upper 128 bytes) -------------- */

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
#define RTC_DOW        0x06 /* 1 = Sunday */
#define RTC_DAY        0x07
#define RTC_MONTH      0x08
#define RTC_YEAR       0x09
#define RTC_REG_A      0x0a
#define RTC_REG_B      0x0b
#define RTC_REG_C      0x0c
#define RTC_REG_D      0x0d
#define RTC_CENTURY    0x32
#define RTC_IRQ        8

#define RTCA_UIP       0x80
#define RTCA_DV_32K    0x20 /* divider: 32.768 kHz time base, running */
#define RTCB_SET       0x80
#define RTCB_PIE       0x40
#define RTCB_AIE       0x20
#define RTCB_UIE       0x10
#define RTCB_BIN       0x04
#define RTCB_24H       0x02
#define RTCC_IRQF      0x80
#define RTCC_PF        0x40
#define RTCC_AF        0x20
#define RTCC_UF        0x10

static inline uint8_t
cmos_read(uint8_t reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

static inline void
cmos_write(uint8_t reg, uint8_t v)
{
	outb(RTC_INDEX, reg);
	outb(RTC_DATA, v);
}

/* ---- HPET (MMIO at 0xfed00000) ------------------------------------------- */

#define HPET_BASE       0xfed00000UL
#define HPET_CAP        0x000
#define HPET_CONFIG     0x010
#define HPET_ISR        0x020
#define HPET_COUNTER    0x0f0
#define HPET_TCFG(n)    (0x100 + 0x20 * (n))
#define HPET_TCMP(n)    (0x108 + 0x20 * (n))
#define HPET_CNF_ENABLE 0x01
#define HPET_CNF_LEG_RT 0x02
#define HPET_TN_LEVEL   (1u << 1)
#define HPET_TN_ENB     (1u << 2)
#define HPET_TN_PERIOD  (1u << 3)
#define HPET_TN_PER_CAP (1u << 4)
#define HPET_TN_64_CAP  (1u << 5)
#define HPET_TN_VAL_SET (1u << 6)
#define HPET_TN_32MODE  (1u << 8)

static inline uint64_t
hpet_read64(unsigned long off)
{
	return *(volatile uint64_t *)(HPET_BASE + off);
}

static inline uint32_t
hpet_read32(unsigned long off)
{
	return *(volatile uint32_t *)(HPET_BASE + off);
}

static inline void
hpet_write64(unsigned long off, uint64_t v)
{
	*(volatile uint64_t *)(HPET_BASE + off) = v;
}

static inline void
hpet_write32(unsigned long off, uint32_t v)
{
	*(volatile uint32_t *)(HPET_BASE + off) = v;
}

#endif
