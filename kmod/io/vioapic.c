/*
 * The I/O APIC (82093AA), after bhyve's sys/amd64/vmm/io/vioapic.c: 24
 * pins, each with a redirection table entry, at VIOAPIC_BASE.
 *
 *   0x00  IOREGSEL  the register index
 *   0x10  IOWIN     the selected register: 0x00 ID (bits 27:24), 0x01
 *                   version (0x20, max redirection entry 23 in bits
 *                   23:16), 0x02 arbitration ID (reads as the ID),
 *                   0x10 + 2n / 0x11 + 2n the low / high half of pin n's
 *                   entry
 *   0x40  EOI       (version 0x20 on) write a vector: as the local APICs'
 *                   EOI broadcast for it, which a guest suppresses with
 *                   SVR bit 12 to send the EOI here itself
 *
 * An entry: vector (7:0), delivery mode (10:8), destination mode (11,
 * 1 logical), delivery status (12, read-only: always idle here, a message
 * goes out at once), polarity (13, 1 active-low), remote IRR (14,
 * read-only), trigger mode (15, 1 level), mask (16), destination (63:56).
 *
 * Pins.  Devices raise and lower their lines logically (asserted or not),
 * and several devices may share a pin (a count of asserters, as bhyve's
 * acnt: a wired OR).  On the wire ISA lines are active-high and the SCI
 * (pin 9) and the PCI pins 16-23 active-low, as the MADT's override and
 * PCI say; the pin is asserted when its wire level matches the polarity
 * the entry programs.  A guest that programs the other polarity sees an
 * idle line as asserted, as on hardware.
 *
 * Delivery: an edge-triggered pin sends a message on each rising edge of
 * its asserted state while unmasked (an edge while masked is lost).  A
 * level-triggered pin sends one while it is asserted, unmasked and remote
 * IRR is clear, and sets remote IRR; the local APICs' EOI of its vector
 * (vioapic_process_eoi(), from their broadcast of level-triggered
 * vectors, or our EOI register) clears remote IRR, and a pin still asserted
 * sends again.  Unmasking a level pin that is asserted sends too.
 * Messages go to vlapic_deliver_intr() under our lock (lock order: I/O
 * APIC, then local APIC), so message order is pin-change order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vlapic_priv.h"

#define IOREGSEL         0x00
#define IOWIN            0x10
#define IOEOI            0x40
#define IOAPIC_ID        0x00
#define IOAPIC_VER       0x01
#define IOAPIC_ARB       0x02
#define IOAPIC_REDTBL    0x10
#define IOAPIC_VERSION   0x20 /* with the EOI register */

#define IOART_INTVEC     0x000000ffULL
#define IOART_DELMOD     0x00000700ULL
#define IOART_DESTLOG    0x00000800ULL
#define IOART_DELIVS     0x00001000ULL
#define IOART_INTALO     0x00002000ULL
#define IOART_REM_IRR    0x00004000ULL
#define IOART_TRGRLVL    0x00008000ULL
#define IOART_INTMSET    0x00010000ULL
#define IOART_DEST_SHIFT 56
#define IOART_RO_BITS    (IOART_REM_IRR | IOART_DELIVS)
/* Bits 55:17 are reserved: they read as written, as bhyve keeps them. */

#define SCI_PIN       9
#define PCI_PIN_FIRST 16

struct vioapic_pin {
	uint64_t rte;
	int acnt;      /* devices asserting the line */
	bool wire_low; /* the line is active-low on the wire */
	bool asserted; /* as the entry's polarity reads the wire */
};

struct vioapic {
	struct vm *vm;
	pthread_mutex_t mtx;
	uint32_t id;
	uint32_t ioregsel;
	struct vioapic_pin pins[VIOAPIC_PINS];
};

static bool
pin_level_now(const struct vioapic_pin *p)
{
	bool wire_high = (p->acnt > 0) != p->wire_low;

	return (p->rte & IOART_INTALO) ? !wire_high : wire_high;
}

/* Send pin's message if its entry lets it; lock held. */
static void
vioapic_send_intr(struct vioapic *vioapic, int pin)
{
	struct vioapic_pin *p = &vioapic->pins[pin];
	uint64_t rte = p->rte;
	bool level = (rte & IOART_TRGRLVL) != 0;

	if (rte & IOART_INTMSET)
		return;
	if (level) {
		if (!p->asserted || (rte & IOART_REM_IRR))
			return;
		p->rte |= IOART_REM_IRR;
	}
	vlapic_deliver_intr(
	    vioapic->vm, level, (uint32_t)(rte >> IOART_DEST_SHIFT),
	    !(rte & IOART_DESTLOG), (int)((rte & IOART_DELMOD) >> 8),
	    (int)(rte & IOART_INTVEC));
}

/* The pin's inputs changed: follow its asserted state; lock held. */
static void
vioapic_update_pin(struct vioapic *vioapic, int pin)
{
	struct vioapic_pin *p = &vioapic->pins[pin];
	bool now = pin_level_now(p), rising = now && !p->asserted;

	p->asserted = now;
	if (rising || (now && (p->rte & IOART_TRGRLVL)))
		vioapic_send_intr(vioapic, pin);
}

enum pin_op { PIN_ASSERT, PIN_DEASSERT, PIN_PULSE };

static int
vioapic_set_pin(struct vm *vm, int pin, enum pin_op op)
{
	struct vioapic *vioapic = vm->vioapic;
	struct vioapic_pin *p;

	if (vioapic == NULL)
		return ENXIO;
	if (pin < 0 || pin >= VIOAPIC_PINS)
		return EINVAL;
	p = &vioapic->pins[pin];
	pthread_mutex_lock(&vioapic->mtx);
	if (op != PIN_DEASSERT) {
		p->acnt++;
		vioapic_update_pin(vioapic, pin);
	}
	if (op != PIN_ASSERT) {
		if (p->acnt > 0)
			p->acnt--;
		vioapic_update_pin(vioapic, pin);
	}
	pthread_mutex_unlock(&vioapic->mtx);
	return 0;
}

int
vm_ioapic_assert_irq(struct vm *vm, int pin)
{
	return vioapic_set_pin(vm, pin, PIN_ASSERT);
}

int
vm_ioapic_deassert_irq(struct vm *vm, int pin)
{
	return vioapic_set_pin(vm, pin, PIN_DEASSERT);
}

int
vm_ioapic_pulse_irq(struct vm *vm, int pin)
{
	return vioapic_set_pin(vm, pin, PIN_PULSE);
}

/*
 * A local APIC's EOI of a level-triggered 'vector': every level pin with
 * that vector and remote IRR set is done; one still asserted fires again.
 */
static void
vioapic_eoi_locked(struct vioapic *vioapic, int vector)
{
	for (int pin = 0; pin < VIOAPIC_PINS; pin++) {
		struct vioapic_pin *p = &vioapic->pins[pin];

		if ((p->rte & IOART_INTVEC) != (uint64_t)vector ||
		    !(p->rte & IOART_TRGRLVL) || !(p->rte & IOART_REM_IRR))
			continue;
		p->rte &= ~IOART_REM_IRR;
		vioapic_send_intr(vioapic, pin);
	}
}

void
vioapic_process_eoi(struct vm *vm, int vector)
{
	struct vioapic *vioapic = vm->vioapic;

	if (vioapic == NULL)
		return;
	pthread_mutex_lock(&vioapic->mtx);
	vioapic_eoi_locked(vioapic, vector);
	pthread_mutex_unlock(&vioapic->mtx);
}

/* ---- registers ---------------------------------------------------------- */

static uint32_t
vioapic_read(struct vioapic *vioapic, uint32_t reg)
{
	int pin;

	switch (reg) {
	case IOAPIC_ID:
	case IOAPIC_ARB:
		return vioapic->id;
	case IOAPIC_VER:
		return (VIOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
	}
	if (reg < IOAPIC_REDTBL || reg >= IOAPIC_REDTBL + 2 * VIOAPIC_PINS)
		return 0;
	pin = (int)(reg - IOAPIC_REDTBL) / 2;
	return (uint32_t)(vioapic->pins[pin].rte >> (reg & 1 ? 32 : 0));
}

static void
vioapic_write(struct vioapic *vioapic, uint32_t reg, uint32_t val)
{
	struct vioapic_pin *p;
	uint64_t rte, mask;
	int pin;

	if (reg == IOAPIC_ID) {
		vioapic->id = val & 0x0f000000;
		return;
	}
	if (reg < IOAPIC_REDTBL || reg >= IOAPIC_REDTBL + 2 * VIOAPIC_PINS)
		return; /* version, arbitration: read-only */
	pin = (int)(reg - IOAPIC_REDTBL) / 2;
	p = &vioapic->pins[pin];
	mask = reg & 1 ? 0xffffffff00000000ULL : 0x00000000ffffffffULL;
	mask &= ~IOART_RO_BITS;
	rte = (uint64_t)val << (reg & 1 ? 32 : 0);
	p->rte = (p->rte & ~mask) | (rte & mask);
	/*
	 * An edge entry has no remote IRR (the SDM leaves it undefined;
	 * bhyve clears it too), and a new polarity may assert or release
	 * the pin; unmasking an asserted level pin sends its message.
	 */
	if (!(p->rte & IOART_TRGRLVL))
		p->rte &= ~IOART_REM_IRR;
	vioapic_update_pin(vioapic, pin);
}

static int
vioapic_mmio(struct vcpu *vcpu, bool write, uint64_t gpa, int bytes,
	     uint64_t *val, void *arg)
{
	struct vioapic *vioapic = vcpu->vm->vioapic;
	uint64_t off = gpa - VIOAPIC_BASE;

	(void)arg;
	if (vioapic == NULL)
		return -1;
	pthread_mutex_lock(&vioapic->mtx);
	/*
	 * The registers are 32-bit; other sizes and offsets (the SDM says
	 * they are undefined) read as 0 and are ignored, as bhyve does.
	 */
	if (!write)
		*val = 0;
	if (bytes == 4 && off == IOREGSEL) {
		if (write)
			vioapic->ioregsel = (uint32_t)*val & 0xff;
		else
			*val = vioapic->ioregsel;
	} else if (bytes == 4 && off == IOWIN) {
		if (write)
			vioapic_write(vioapic, vioapic->ioregsel,
				      (uint32_t)*val);
		else
			*val = vioapic_read(vioapic, vioapic->ioregsel);
	} else if (bytes == 4 && off == IOEOI && write) {
		vioapic_eoi_locked(vioapic, (int)(*val & IOART_INTVEC));
	}
	pthread_mutex_unlock(&vioapic->mtx);
	return 0;
}

/* ---- MSI ----------------------------------------------------------------- */

#define MSI_ADDR_MASK  0xfff00000ULL
#define MSI_ADDR_BASE  0xfee00000ULL
#define MSI_ADDR_RH    0x8ULL /* redirection hint */
#define MSI_ADDR_LOG   0x4ULL /* destination mode logical */
#define MSI_DATA_LEVEL 0x8000ULL

/*
 * An MSI (SDM 10.11): the address names the destination (bits 19:12),
 * its mode (bit 2) and the redirection hint (bit 3: with logical mode,
 * lowest priority among the destinations); the data the vector and the
 * delivery mode.  As bhyve's lapic_intr_msi(): fixed and lowest-priority
 * messages only, delivered edge-triggered.
 */
int
vm_lapic_msi(struct vm *vm, uint64_t addr, uint64_t data)
{
	int delmode = (int)((data >> 8) & 7), vector = (int)(data & 0xff);
	bool phys;

	if ((addr & MSI_ADDR_MASK) != MSI_ADDR_BASE)
		return EINVAL;
	if (delmode != APIC_DELMODE_FIXED && delmode != APIC_DELMODE_LOWPRI)
		return EINVAL;
	phys = (addr & (MSI_ADDR_RH | MSI_ADDR_LOG)) !=
	       (MSI_ADDR_RH | MSI_ADDR_LOG);
	vlapic_deliver_intr(vm, false, (uint32_t)((addr >> 12) & 0xff), phys,
			    delmode, vector);
	return 0;
}

/* ---- life cycle ------------------------------------------------------------
 */

int
vioapic_init(struct vm *vm)
{
	struct vioapic *vioapic = calloc(1, sizeof(*vioapic));
	int error;

	if (vioapic == NULL)
		return ENOMEM;
	vioapic->vm = vm;
	pthread_mutex_init(&vioapic->mtx, NULL);
	/* After reset every entry is masked (SDM, 82093AA data sheet). */
	for (int pin = 0; pin < VIOAPIC_PINS; pin++) {
		vioapic->pins[pin].rte = IOART_INTMSET;
		vioapic->pins[pin].wire_low =
		    pin == SCI_PIN || pin >= PCI_PIN_FIRST;
	}
	error = vm_register_iomem(vm, VIOAPIC_BASE, VIOAPIC_SIZE, vioapic_mmio,
				  NULL);
	if (error != 0) {
		pthread_mutex_destroy(&vioapic->mtx);
		free(vioapic);
		return error;
	}
	vm->vioapic = vioapic;
	return 0;
}

void
vioapic_cleanup(struct vm *vm)
{
	struct vioapic *vioapic = vm->vioapic;

	if (vioapic == NULL)
		return;
	vm->vioapic = NULL;
	pthread_mutex_destroy(&vioapic->mtx);
	free(vioapic);
}
