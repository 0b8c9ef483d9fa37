/*
 * ACPI fixed power-management hardware, after bhyve's pm.c: the PM1a
 * event block (status and enable) at 0x400 and the PM1a control block at
 * 0x404, which the FADT names (acpi.c), and the reset register at 0xcf9.
 * The PM timer of the same block (0x408) is kmod's vpmtmr.
 *
 *   0x400  PM1_STS  status, write 1 to clear
 *   0x402  PM1_EN   enables
 *   0x404  PM1_CNT  SCI_EN (always set: there is no SMI command port, so
 *                   the guest finds the system in ACPI mode), SLP_TYP,
 *                   SLP_EN (write-only)
 *   0xcf9  reset control: writing RST_CPU (bit 2) resets the VM
 *
 * Writing SLP_EN with SLP_TYP = PM_SLP_TYP_S5 (the _S5 object of the
 * DSDT) powers the VM off: rhyve exits with status 1.  Other sleep types
 * are not offered (no _S1-_S4) and are ignored, as bhyve does.
 *
 * The SCI is a level interrupt that follows PM1_STS & PM1_EN, as bhyve's
 * sci_update(): asserted on ISA IRQ 9 and I/O APIC pin 9 (the FADT's
 * SCI_INT, which the MADT's override makes level, active-low) while an
 * enabled status bit is set, deasserted when the guest clears the bit
 * (writing 1) or its enable.  The one event that sets a status bit is the
 * fixed power button (PWRBTN_STS), pressed by SIGTERM (pm_power_button(),
 * as bhyve's power_button_handler()); no timer-overflow event.
 */
#include <pthread.h>
#include <string.h>

#include "rhyve.h"

#define PM1_STS        0
#define PM1_EN         2
#define PM1_CNT        4
#define PM1_LEN        6
#define PM1_STS_MASK   0x8731 /* WAK, RTC, SLPBTN, PWRBTN, GBL, BM, TMR */
#define PM1_EN_MASK    0x0721 /* RTC, SLPBTN, PWRBTN, GBL, TMR */
#define PM1_PWRBTN     0x0100 /* PWRBTN_STS, PWRBTN_EN */
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_MASK   0x1c07 /* SLP_TYP, GBL_RLS, BM_RLD, SCI_EN */
#define PM1_SLP_TYP(v) (((v) >> 10) & 7)
#define PM1_SLP_EN     0x2000
#define RESET_RST_CPU  0x04
#define RESET_MASK     0x0e /* FULL_RST, RST_CPU, SYS_RST */
#define SCI_IRQ        9    /* the FADT's SCI_INT: ISA IRQ 9, GSI 9 */

static struct pm_softc {
	struct vm *vm;
	pthread_mutex_t mtx;
	uint16_t sts, en, cnt;
	uint8_t reset;
	bool sci_asserted;
	bool registered;
} pm_sc = { .mtx = PTHREAD_MUTEX_INITIALIZER };

/* A 16-bit register written 'bytes' bytes at byte 'off' within it. */
static uint16_t
pm_merge(uint16_t old, int off, int bytes, uint32_t val, uint16_t *written)
{
	uint16_t mask = 0, v = 0;

	for (int i = 0; i < bytes && off + i < 2; i++) {
		mask |= (uint16_t)(0xff << (8 * (off + i)));
		v |= (uint16_t)(((val >> (8 * i)) & 0xff) << (8 * (off + i)));
	}
	*written = mask;
	return (uint16_t)((old & ~mask) | (v & mask));
}

/* Make the SCI line follow PM1_STS & PM1_EN; lock held. */
static void
pm_sci_update(struct pm_softc *sc)
{
	bool need = (sc->sts & sc->en) != 0;

	if (need == sc->sci_asserted)
		return;
	sc->sci_asserted = need;
	/* Lock order: pm, then kmod's PIC and I/O APIC. */
	if (need)
		vm_isa_assert_irq(sc->vm, SCI_IRQ, SCI_IRQ);
	else
		vm_isa_deassert_irq(sc->vm, SCI_IRQ, SCI_IRQ);
}

bool
pm_power_button(void)
{
	struct pm_softc *sc = &pm_sc;
	bool listens;

	pthread_mutex_lock(&sc->mtx);
	listens = sc->registered && (sc->en & PM1_PWRBTN) != 0;
	if (listens) {
		sc->sts |= PM1_PWRBTN;
		pm_sci_update(sc);
	}
	pthread_mutex_unlock(&sc->mtx);
	return listens;
}

/*
 * The PM1 block, byte-addressable: a wide access covers the registers
 * above its port, as the chipset's does.  SLP_EN is acted on after the
 * lock is dropped.
 */
static int
pm1_io(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
       void *arg)
{
	struct pm_softc *sc = arg;
	bool poweroff = false;
	uint32_t val = 0;

	(void)vcpu;
	pthread_mutex_lock(&sc->mtx);
	for (int i = 0; i < bytes;) {
		int off = port - PM_PM1A_EVT_PORT + i;
		int reg = off & ~1, n = 2 - (off & 1);
		uint16_t *r, old, mask, neww;

		if (n > bytes - i)
			n = bytes - i;
		if (off >= PM1_LEN) {
			val |= (uint32_t)(0xffff >> (16 - 8 * n)) << (8 * i);
			i += n;
			continue;
		}
		r = reg == PM1_STS  ? &sc->sts
		    : reg == PM1_EN ? &sc->en
				    : &sc->cnt;
		if (in) {
			val |= (uint32_t)((*r >> (8 * (off & 1))) &
					  (0xffff >> (16 - 8 * n)))
			       << (8 * i);
			i += n;
			continue;
		}
		old = *r;
		neww = pm_merge(old, off & 1, n, *eax >> (8 * i), &mask);
		if (reg == PM1_STS) {
			/* Write 1 to clear. */
			*r = (uint16_t)(old & ~(neww & mask & PM1_STS_MASK));
		} else if (reg == PM1_EN) {
			*r = neww & PM1_EN_MASK;
		} else {
			*r = (uint16_t)((neww & PM1_CNT_MASK) | PM1_CNT_SCI_EN);
			if ((neww & mask & PM1_SLP_EN) &&
			    PM1_SLP_TYP(neww) == PM_SLP_TYP_S5)
				poweroff = true;
		}
		i += n;
	}
	if (!in)
		pm_sci_update(sc);
	pthread_mutex_unlock(&sc->mtx);
	if (in)
		*eax = val;
	if (poweroff)
		rhyve_request_exit(sc->vm, RHYVE_EXIT_POWEROFF);
	return 0;
}

static int
pm_reset_io(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	    void *arg)
{
	struct pm_softc *sc = arg;
	bool reset;

	(void)vcpu;
	(void)port;
	(void)bytes;
	pthread_mutex_lock(&sc->mtx);
	if (in) {
		*eax = sc->reset;
		pthread_mutex_unlock(&sc->mtx);
		return 0;
	}
	sc->reset = (uint8_t)(*eax & RESET_MASK);
	reset = (*eax & RESET_RST_CPU) != 0;
	pthread_mutex_unlock(&sc->mtx);
	if (reset)
		rhyve_request_exit(sc->vm, RHYVE_EXIT_RESET);
	return 0;
}

static const struct inout_port pm1_port = { "pm1",   PM_PM1A_EVT_PORT,
					    PM1_LEN, IOPORT_F_INOUT,
					    pm1_io,  &pm_sc };
static const struct inout_port pm_reset_port = { "reset",     PM_RESET_PORT,
						 1,           IOPORT_F_INOUT,
						 pm_reset_io, &pm_sc };

int
pm_init(struct vm *vm)
{
	struct pm_softc *sc = &pm_sc;

	sc->vm = vm;
	sc->sts = 0;
	sc->en = 0;
	sc->cnt = PM1_CNT_SCI_EN;
	sc->reset = 0;
	sc->sci_asserted = false;
	if (register_inout(&pm1_port) != 0) {
		rhyve_warnx("ACPI PM1 ports 0x%x-0x%x are taken",
			    PM_PM1A_EVT_PORT, PM_PM1A_EVT_PORT + PM1_LEN - 1);
		return -1;
	}
	if (register_inout(&pm_reset_port) != 0) {
		unregister_inout(&pm1_port);
		rhyve_warnx("the reset register 0x%x is taken", PM_RESET_PORT);
		return -1;
	}
	sc->registered = true;
	return 0;
}

void
pm_deinit(void)
{
	if (!pm_sc.registered)
		return;
	unregister_inout(&pm_reset_port);
	unregister_inout(&pm1_port);
	pm_sc.registered = false;
}
