/*
 * The 8259A pair of the PC, after bhyve's vatpic.c: a master at 0x20-0x21
 * and a slave at 0xa0-0xa1 cascaded on the master's IR2, with the PIIX
 * edge/level control registers (ELCR) at 0x4d0-0x4d1.
 *
 * Model:
 * - Each input pin counts its asserters (acnt), so two devices sharing an
 *   ISA line (COM1 and COM3 on IRQ4) work as a wired OR.
 * - Edge-triggered pins latch a request into IRR on a rising edge; the
 *   latch is cleared by the acknowledge (INTA), not by the line going low,
 *   as in bhyve and QEMU.  Level-triggered pins (ELCR) have IRR follow the
 *   line.  IRQ0, 1, 2, 8 and 13 cannot be made level (PIIX).  ICW1's LTIM
 *   bit is ignored: on the PIIX the ELCR decides, as on every PC since.
 * - A chip's INT output is raised when an unmasked request wins the
 *   priority resolution against the in-service levels; it stays raised
 *   until the INTA (or a poll) acknowledges it.  The slave's INT drives the
 *   master's IR2 (always edge).  The master's INT is the CPU's INTR: its
 *   rising edge marks ExtINT pending on vCPU 0 (through LINT0 once there
 *   is a local APIC), and kmod's injection point performs the INTA:
 *   vatpic_pending_intr() (first INTA: the vector) then, once the vCPU
 *   took it, vatpic_intr_accepted() (ISR set, IRR cleared, INT dropped).
 * - If the request that raised INT went away before the INTA (a level
 *   line deasserted, the IRQ masked), the INTA returns IR7 of that chip:
 *   the spurious IRQ7 (master) or IRQ15 (slave; the master then has its
 *   IR2 in service), and no ISR bit is set for it.
 *
 * Not modelled, as bhyve: single mode (ICW1 SNGL), MCS-80/85 mode (no
 * ICW4 or ICW4 without uPM) - those writes are refused and stop the VM;
 * buffered mode and ICW3 (the slave is always on IR2 with ID 2).
 *
 * Locking: one mutex for the pair.  ExtINT is signalled to the vCPU after
 * the mutex is dropped, since vm_inject_extint() takes the vCPU's lock and
 * vm_inject_pending() calls in here without it: the order is PIC, then
 * vCPU, never the reverse.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vio.h"

#define ICU_IMR_OFFSET 1 /* odd port: data (ICW2-4, OCW1, IMR) */

#define ICW1_IC4       0x01 /* ICW4 needed */
#define ICW1_SNGL      0x02 /* single (no cascade) */
#define ICW1_INIT      0x10 /* identifies ICW1 on the command port */

#define ICW4_UPM       0x01 /* 8086 mode */
#define ICW4_AEOI      0x02 /* automatic EOI */
#define ICW4_SFNM      0x10 /* special fully nested mode */

#define OCW3_SEL       0x08 /* identifies OCW3 (else OCW2) */
#define OCW3_RIS       0x01 /* read ISR (else IRR) */
#define OCW3_RR        0x02 /* read register command */
#define OCW3_P         0x04 /* poll command */
#define OCW3_SMM       0x20 /* special mask mode on (with ESMM) */
#define OCW3_ESMM      0x40 /* change special mask mode */

#define ELCR_PORT      0x4d0

#define CASCADE_PIN    2

struct atpic {
	bool ready;       /* initialization sequence complete */
	int icw_num;      /* the ICW the data port expects next, 0: none */
	bool rd_isr;      /* OCW3: the command port reads ISR, else IRR */
	bool poll;        /* OCW3: the next read is a poll */
	bool aeoi;        /* ICW4: automatic EOI */
	bool rotate_aeoi; /* OCW2: rotate in automatic EOI mode */
	bool sfnm;        /* ICW4: special fully nested mode (master) */
	bool smm;         /* OCW3: special mask mode */
	uint8_t irq_base; /* ICW2: vector of IR0 */
	uint8_t irr, isr, imr;
	int lowprio;      /* the lowest-priority pin; lowprio+1 is highest */
	int acnt[8];      /* asserters per input pin */
	bool intr_raised; /* INT output up, waiting for INTA */
};

struct vatpic {
	struct vm *vm;
	pthread_mutex_t mtx;
	struct atpic atpic[2]; /* master, slave */
	uint8_t elcr[2];
};

/* ELCR bits that can be set: not IRQ0, 1, 2 (master), 8, 13 (slave). */
static const uint8_t elcr_mask[2] = { 0xf8, 0xde };

#define MASTER(v) (&(v)->atpic[0])
#define SLAVE(v)  (&(v)->atpic[1])

static bool
pin_is_level(const struct vatpic *vatpic, int irq)
{
	return (vatpic->elcr[irq >> 3] >> (irq & 7)) & 1;
}

/* Pins in priority order, highest first: lowprio+1, ..., lowprio. */
#define ATPIC_PIN_FOREACH(pin, atpic, i)                                       \
	for ((i) = 0, (pin) = ((atpic)->lowprio + 1) & 7; (i) < 8;             \
	     (i)++, (pin) = ((pin) + 1) & 7)

/* The in-service pin a non-specific EOI clears, or -1. */
static int
highest_isr_pin(const struct atpic *atpic)
{
	int pin, i;

	ATPIC_PIN_FOREACH(pin, atpic, i)
	{
		if (!(atpic->isr & (1u << pin)))
			continue;
		/* In special mask mode a masked in-service level is skipped. */
		if (atpic->smm && (atpic->imr & (1u << pin)))
			continue;
		return pin;
	}
	return -1;
}

/*
 * The priority resolver: the highest-priority unmasked request that no
 * in-service level of equal or higher priority blocks, or -1.
 */
static int
highest_irr_pin(const struct atpic *atpic, bool master)
{
	uint8_t blocking = atpic->isr;
	int pin, i;

	/* SFNM: a slave in service does not lock out more from the slave. */
	if (master && atpic->sfnm)
		blocking &= ~(1u << CASCADE_PIN);
	/* Special mask mode: in-service levels block nothing. */
	if (atpic->smm)
		blocking = 0;
	ATPIC_PIN_FOREACH(pin, atpic, i)
	{
		uint8_t bit = 1u << pin;

		if (blocking & bit)
			break;
		if ((atpic->irr & bit) && !(atpic->imr & bit))
			return pin;
	}
	return -1;
}

/*
 * Re-evaluate the INT outputs: the slave's into the master's IR2, the
 * master's towards the CPU.  True if the master's INT just went up: the
 * caller signals ExtINT once the lock is dropped.
 */
static bool
vatpic_update(struct vatpic *vatpic)
{
	struct atpic *m = MASTER(vatpic), *s = SLAVE(vatpic);

	if (s->ready && !s->intr_raised && highest_irr_pin(s, false) >= 0) {
		s->intr_raised = true;
		m->irr |= 1u << CASCADE_PIN; /* IR2 is edge-triggered */
	}
	if (m->ready && !m->intr_raised && highest_irr_pin(m, true) >= 0) {
		m->intr_raised = true;
		return true;
	}
	return false;
}

static void
vatpic_signal_extint(struct vatpic *vatpic)
{
	struct vcpu *vcpu = vm_vcpu(vatpic->vm, 0);

	if (vcpu != NULL)
		vm_inject_extint(vcpu);
}

/* Unlock, then tell vCPU 0 if INTR went up.  Lock order: PIC, vCPU. */
static void
vatpic_unlock_notify(struct vatpic *vatpic, bool raise)
{
	pthread_mutex_unlock(&vatpic->mtx);
	if (raise)
		vatpic_signal_extint(vatpic);
}

/* A level-triggered pin's IRR bit follows its line. */
static void
vatpic_sync_level(struct vatpic *vatpic, int irq)
{
	struct atpic *atpic = &vatpic->atpic[irq >> 3];
	uint8_t bit = 1u << (irq & 7);

	if (!atpic->ready || !pin_is_level(vatpic, irq))
		return;
	if (atpic->acnt[irq & 7] > 0)
		atpic->irr |= bit;
	else
		atpic->irr &= ~bit;
}

/* One asserter more (assert) or fewer on an input pin. */
static void
vatpic_set_pin(struct vatpic *vatpic, int irq, bool assert)
{
	struct atpic *atpic = &vatpic->atpic[irq >> 3];
	int *cnt = &atpic->acnt[irq & 7];
	int old = *cnt;

	if (assert)
		(*cnt)++;
	else if (*cnt > 0)
		(*cnt)--; /* a deassert without an assert is ignored */
	if (pin_is_level(vatpic, irq))
		vatpic_sync_level(vatpic, irq);
	else if (old == 0 && *cnt > 0 && atpic->ready)
		atpic->irr |= 1u << (irq & 7); /* rising edge */
}

enum irqstate { IRQ_ASSERT, IRQ_DEASSERT, IRQ_PULSE };

static int
vatpic_set_irqstate(struct vm *vm, int irq, enum irqstate how)
{
	struct vatpic *vatpic = vm->vatpic;
	bool raise;

	/* IRQ2 is the cascade: no ISA device can drive it. */
	if (irq < 0 || irq > 15 || irq == CASCADE_PIN)
		return EINVAL;
	if (vatpic == NULL)
		return ENXIO;
	pthread_mutex_lock(&vatpic->mtx);
	switch (how) {
	case IRQ_ASSERT:
		vatpic_set_pin(vatpic, irq, true);
		break;
	case IRQ_DEASSERT:
		vatpic_set_pin(vatpic, irq, false);
		break;
	case IRQ_PULSE:
		/* Both edges before the resolver looks: a no-op if level. */
		vatpic_set_pin(vatpic, irq, true);
		vatpic_set_pin(vatpic, irq, false);
		break;
	}
	raise = vatpic_update(vatpic);
	vatpic_unlock_notify(vatpic, raise);
	return 0;
}

int
vatpic_assert_irq(struct vm *vm, int irq)
{
	return vatpic_set_irqstate(vm, irq, IRQ_ASSERT);
}

int
vatpic_deassert_irq(struct vm *vm, int irq)
{
	return vatpic_set_irqstate(vm, irq, IRQ_DEASSERT);
}

int
vatpic_pulse_irq(struct vm *vm, int irq)
{
	return vatpic_set_irqstate(vm, irq, IRQ_PULSE);
}

/* The vector of the first INTA cycle (the caller holds the lock). */
static int
vatpic_inta_vector(struct vatpic *vatpic)
{
	struct atpic *m = MASTER(vatpic), *s = SLAVE(vatpic);
	int pin;

	if (!m->ready || !m->intr_raised)
		return -1; /* INTR is not up */
	pin = highest_irr_pin(m, true);
	if (pin < 0)
		return m->irq_base + 7; /* spurious IRQ7 */
	if (pin != CASCADE_PIN)
		return m->irq_base + pin;
	pin = highest_irr_pin(s, false);
	return s->irq_base + (pin < 0 ? 7 : pin); /* < 0: spurious IRQ15 */
}

int
vatpic_pending_intr(struct vm *vm)
{
	struct vatpic *vatpic = vm->vatpic;
	int vector;

	if (vatpic == NULL)
		return -1;
	pthread_mutex_lock(&vatpic->mtx);
	vector = vatpic_inta_vector(vatpic);
	pthread_mutex_unlock(&vatpic->mtx);
	return vector;
}

/*
 * The acknowledge of 'pin' (INTA or poll): the INT output drops, an edge
 * request is consumed, and the level goes in service unless AEOI.  An IR7
 * that is not (any longer) the winning request is spurious: nothing is
 * set in service.
 */
static void
vatpic_pin_accepted(struct vatpic *vatpic, struct atpic *atpic, int pin)
{
	bool master = atpic == MASTER(vatpic);
	uint8_t bit = 1u << pin;

	atpic->intr_raised = false;
	if (pin == 7 && highest_irr_pin(atpic, master) != 7)
		return; /* spurious */
	if (master && pin == CASCADE_PIN)
		atpic->irr &= ~bit; /* the cascade input is edge */
	else if (pin_is_level(vatpic, pin + (master ? 0 : 8)))
		vatpic_sync_level(vatpic, pin + (master ? 0 : 8));
	else
		atpic->irr &= ~bit;
	if (!atpic->aeoi)
		atpic->isr |= bit;
	else if (atpic->rotate_aeoi)
		atpic->lowprio = pin;
}

void
vatpic_intr_accepted(struct vm *vm, int vector)
{
	struct vatpic *vatpic = vm->vatpic;
	struct atpic *m, *s;
	bool raise;

	if (vatpic == NULL)
		return;
	m = MASTER(vatpic);
	s = SLAVE(vatpic);
	pthread_mutex_lock(&vatpic->mtx);
	if ((vector & ~7) == s->irq_base && s->irq_base != m->irq_base) {
		/* From the slave: both chips see the INTA. */
		vatpic_pin_accepted(vatpic, s, vector & 7);
		vatpic_pin_accepted(vatpic, m, CASCADE_PIN);
	} else if ((vector & ~7) == m->irq_base) {
		vatpic_pin_accepted(vatpic, m, vector & 7);
	} else {
		m->intr_raised = false; /* the bases moved under us */
	}
	raise = vatpic_update(vatpic);
	vatpic_unlock_notify(vatpic, raise);
}

/* ---- the guest's side: ICWs, OCWs, register reads ------------------------ */

static int
vatpic_icw1(struct vatpic *vatpic, struct atpic *atpic, uint8_t val)
{
	/*
	 * The chip resets: IMR, ISR and the edge latches clear, IR7 gets
	 * the lowest priority, special mask mode is off, reads give IRR.
	 */
	atpic->ready = false;
	atpic->icw_num = 2;
	atpic->irr = atpic->isr = atpic->imr = 0;
	atpic->lowprio = 7;
	atpic->rd_isr = atpic->poll = atpic->smm = false;
	atpic->aeoi = atpic->rotate_aeoi = atpic->sfnm = false;
	atpic->intr_raised = false;
	/*
	 * A slave whose INT is up keeps it up: the master, its IR2 edge
	 * forgotten, sees no new one until the slave is acknowledged or
	 * initialized itself, as on the real pair (operating systems
	 * initialize the master, then the slave).
	 */
	if ((val & ICW1_SNGL) || !(val & ICW1_IC4)) {
		atpic->icw_num = 0;
		return -1; /* single or MCS-80/85 mode: not a PC */
	}
	return 0;
}

static int
vatpic_icw4(struct vatpic *vatpic, struct atpic *atpic, uint8_t val)
{
	int base = atpic == MASTER(vatpic) ? 0 : 8;

	atpic->icw_num = 0;
	if (!(val & ICW4_UPM))
		return -1; /* MCS-80/85 mode */
	atpic->aeoi = (val & ICW4_AEOI) != 0;
	atpic->sfnm = base == 0 && (val & ICW4_SFNM) != 0;
	atpic->ready = true;
	/* Level inputs that are already up request at once. */
	for (int pin = 0; pin < 8; pin++)
		vatpic_sync_level(vatpic, base + pin);
	return 0;
}

static void
vatpic_ocw2(struct atpic *atpic, uint8_t val)
{
	int level = val & 7, pin;

	switch (val >> 5) {
	case 0: /* rotate in AEOI mode: clear */
		atpic->rotate_aeoi = false;
		break;
	case 4: /* rotate in AEOI mode: set */
		atpic->rotate_aeoi = true;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		pin = highest_isr_pin(atpic);
		if (pin >= 0) {
			atpic->isr &= ~(1u << pin);
			if (val & 0x80)
				atpic->lowprio = pin;
		}
		break;
	case 3: /* specific EOI */
		atpic->isr &= ~(1u << level);
		break;
	case 7: /* rotate on specific EOI */
		atpic->isr &= ~(1u << level);
		atpic->lowprio = level;
		break;
	case 6: /* set priority: 'level' becomes the lowest */
		atpic->lowprio = level;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void
vatpic_ocw3(struct atpic *atpic, uint8_t val)
{
	if (val & OCW3_ESMM)
		atpic->smm = (val & OCW3_SMM) != 0;
	atpic->poll = (val & OCW3_P) != 0;
	if (val & OCW3_RR)
		atpic->rd_isr = (val & OCW3_RIS) != 0;
}

static int
vatpic_write(struct vatpic *vatpic, struct atpic *atpic, int reg, uint8_t val)
{
	if (reg == ICU_IMR_OFFSET) {
		switch (atpic->icw_num) {
		case 2:
			atpic->irq_base = val & 0xf8;
			atpic->icw_num = 3;
			return 0;
		case 3:
			/* ICW3: the cascade is fixed on IR2 / slave ID 2. */
			atpic->icw_num = 4;
			return 0;
		case 4:
			return vatpic_icw4(vatpic, atpic, val);
		default:
			if (atpic->ready)
				atpic->imr = val; /* OCW1 */
			return 0;
		}
	}
	if (val & ICW1_INIT)
		return vatpic_icw1(vatpic, atpic, val);
	if (!atpic->ready)
		return 0; /* OCWs before the ICWs end are ignored */
	if (val & OCW3_SEL)
		vatpic_ocw3(atpic, val);
	else
		vatpic_ocw2(atpic, val);
	return 0;
}

static uint8_t
vatpic_read(struct vatpic *vatpic, struct atpic *atpic, int reg)
{
	int pin;

	if (atpic->poll) {
		/* A poll is an INTA by reading: 0x80 | level, or 0. */
		atpic->poll = false;
		pin = highest_irr_pin(atpic, atpic == MASTER(vatpic));
		if (pin < 0)
			return 0;
		vatpic_pin_accepted(vatpic, atpic, pin);
		return 0x80 | pin;
	}
	if (reg == ICU_IMR_OFFSET)
		return atpic->imr;
	return atpic->rd_isr ? atpic->isr : atpic->irr;
}

/*
 * 0x20-0x21 and 0xa0-0xa1.  The registers are bytes: a wider access is
 * split into byte accesses at ascending ports, as on the ISA bus; bytes
 * beyond the chip read as 0xff and their writes are dropped.
 */
static int
vatpic_handler(struct vm *vm, struct vcpu *vcpu, bool in, int port, int bytes,
	       uint32_t *eax, void *arg)
{
	struct vatpic *vatpic = arg;
	struct atpic *atpic = port >= 0xa0 ? SLAVE(vatpic) : MASTER(vatpic);
	int base = port & ~1, error = 0;
	uint32_t val = 0;
	bool raise;

	pthread_mutex_lock(&vatpic->mtx);
	for (int i = 0; i < bytes && error == 0; i++) {
		int p = port + i;

		if (p - base > 1) {
			val |= 0xffu << (8 * i);
			continue;
		}
		if (in)
			val |= (uint32_t)vatpic_read(vatpic, atpic, p & 1)
			       << (8 * i);
		else
			error = vatpic_write(vatpic, atpic, p & 1,
					     (uint8_t)(*eax >> (8 * i)));
	}
	raise = vatpic_update(vatpic);
	vatpic_unlock_notify(vatpic, raise);
	if (in)
		*eax = val;
	return error;
}

/* 0x4d0-0x4d1: the edge/level control registers, one bit per IRQ. */
static int
vatpic_elcr_handler(struct vm *vm, struct vcpu *vcpu, bool in, int port,
		    int bytes, uint32_t *eax, void *arg)
{
	struct vatpic *vatpic = arg;
	uint32_t val = 0;
	bool raise;

	pthread_mutex_lock(&vatpic->mtx);
	for (int i = 0; i < bytes; i++) {
		int idx = port + i - ELCR_PORT;

		if (idx > 1) {
			val |= 0xffu << (8 * i);
			continue;
		}
		if (in) {
			val |= (uint32_t)vatpic->elcr[idx] << (8 * i);
			continue;
		}
		vatpic->elcr[idx] = (uint8_t)(*eax >> (8 * i)) & elcr_mask[idx];
		for (int pin = 0; pin < 8; pin++)
			vatpic_sync_level(vatpic, idx * 8 + pin);
	}
	raise = vatpic_update(vatpic);
	vatpic_unlock_notify(vatpic, raise);
	if (in)
		*eax = val;
	return 0;
}

int
vatpic_init(struct vm *vm)
{
	struct vatpic *vatpic;
	int error;

	vatpic = calloc(1, sizeof(*vatpic));
	if (vatpic == NULL)
		return ENOMEM;
	vatpic->vm = vm;
	pthread_mutex_init(&vatpic->mtx, NULL);
	for (int i = 0; i < 2; i++)
		vatpic->atpic[i].lowprio = 7;
	vm->vatpic = vatpic;
	if ((error = vm_register_ioport(vm, 0x20, 2, vatpic_handler, vatpic)) !=
		0 ||
	    (error = vm_register_ioport(vm, 0xa0, 2, vatpic_handler, vatpic)) !=
		0 ||
	    (error = vm_register_ioport(vm, ELCR_PORT, 2, vatpic_elcr_handler,
					vatpic)) != 0)
		return error; /* vatpic_cleanup() frees it */
	return 0;
}

void
vatpic_cleanup(struct vm *vm)
{
	struct vatpic *vatpic = vm->vatpic;

	if (vatpic == NULL)
		return;
	pthread_mutex_destroy(&vatpic->mtx);
	free(vatpic);
	vm->vatpic = NULL;
}
