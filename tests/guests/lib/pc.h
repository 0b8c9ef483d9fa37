/*
 * PC platform helpers for the test guests: the 8259 pair, the 8254, the
 * ACPI PM timer and the pc-testdev IRQ lines.  Header-only; include after
 * guest.h.
 */
#ifndef RHYVE_GUEST_PC_H
#define RHYVE_GUEST_PC_H

#include "guest.h"

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

#endif
