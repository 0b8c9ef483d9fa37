/*
 * pc-testdev, as bhyve's: the devices kvm-unit-tests style test kernels
 * expect.
 *   0xf4        isa-debug-exit: writing v ends rhyve with status (v<<1)|1
 *   0xe0-0xe3   a 4-byte scratch register, byte-addressable
 *   0xe4-0xe7   (rhyve's) host-random bytes on every read, from
 *               getrandom(2): an input no replay can reproduce but
 *               from the trace
 *   0xff000000  64 KiB of RAM-like MMIO (every access exits)
 *   0x2000-0x2017  IRQ lines: writing non-zero to 0x2000 + n raises line
 *               n, zero lowers it (reads give the line's state; bhyve
 *               reads 0).  A line, not a counter: writing 1 twice raises it
 *               once.  Lines 0-15 are ISA IRQ n on the 8259 pair and the
 *               I/O APIC's pin n (as bhyve's; IRQ2 is the PIC's cascade,
 *               so only the pin), lines 16-23 the I/O APIC's pins 16-23.
 *   0x2020      LINT1 of vCPU 0: a write pulses it (an NMI as the local
 *               APIC's LVT LINT1 is set up on PCs); reads give 0.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

#define DEBUGEXIT_BASE 0xf4
#define DEBUGEXIT_LEN  4
#define IOPORT_BASE    0xe0
#define IOPORT_LEN     4
#define RANDOM_BASE    0xe4
#define RANDOM_LEN     4
#define IOMEM_BASE     0xff000000ULL
#define IOMEM_LEN      0x10000
#define IRQ_BASE       0x2000
#define IRQ_LEN        24 /* ISA IRQs 0-15, then the I/O APIC's pins */
#define IRQ_ISA        16
#define LINT1_PORT     0x2020

static struct pctestdev_softc {
	struct vm *vm;
	uint32_t ioport_data;
	uint8_t *iomem;
	pthread_mutex_t irq_mtx;
	uint32_t irq_lines; /* the state of each line */
} pctestdev_sc = { .irq_mtx = PTHREAD_MUTEX_INITIALIZER };

static int
pctestdev_debugexit(struct vcpu *vcpu, bool in, int port, int bytes,
		    uint32_t *eax, void *arg)
{
	struct pctestdev_softc *sc = arg;

	if (in) {
		*eax = 0xffffffff;
		return 0;
	}
	rhyve_request_exit(sc->vm, (int)(((*eax & 0x7f) << 1) | 1));
	return 0;
}

static int
pctestdev_ioport(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
		 void *arg)
{
	struct pctestdev_softc *sc = arg;
	int lsb = (port & 3) * 8;
	uint64_t mask = ((1ULL << (bytes * 8)) - 1) << lsb;

	if (in) {
		*eax = (uint32_t)((sc->ioport_data & mask) >> lsb);
	} else {
		sc->ioport_data &= ~(uint32_t)mask;
		sc->ioport_data |= (uint32_t)(((uint64_t)*eax << lsb) & mask);
	}
	return 0;
}

/* One byte port per IRQ line; a wider access covers the lines above. */
static int
pctestdev_irq(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	      void *arg)
{
	struct pctestdev_softc *sc = arg;
	uint32_t val = 0;

	pthread_mutex_lock(&sc->irq_mtx);
	for (int i = 0; i < bytes; i++) {
		int irq = port - IRQ_BASE + i;
		bool up, was;

		if (irq >= IRQ_LEN)
			break;
		was = (sc->irq_lines >> irq) & 1;
		if (in) {
			val |= (uint32_t)was << (8 * i);
			continue;
		}
		up = ((*eax >> (8 * i)) & 0xff) != 0;
		if (up == was)
			continue;
		sc->irq_lines ^= 1u << irq;
		/* As bhyve: the ISA IRQ and the I/O APIC pin of that number. */
		if (up)
			vm_isa_assert_irq(sc->vm, irq < IRQ_ISA ? irq : -1,
					  irq);
		else
			vm_isa_deassert_irq(sc->vm, irq < IRQ_ISA ? irq : -1,
					    irq);
	}
	pthread_mutex_unlock(&sc->irq_mtx);
	if (in)
		*eax = val;
	return 0;
}

static int
pctestdev_lint1(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
		void *arg)
{
	struct pctestdev_softc *sc = arg;

	if (in) {
		*eax = 0;
		return 0;
	}
	return vm_lapic_local_irq(vm_vcpu(sc->vm, 0), 1) == 0 ? 0 : -1;
}

static int
pctestdev_iomem(struct vcpu *vcpu, bool write, uint64_t gpa, int size,
		uint64_t *val, void *arg1, long arg2)
{
	struct pctestdev_softc *sc = arg1;
	uint64_t off = gpa - IOMEM_BASE;

	if (size < 1 || size > 8 || off + (uint64_t)size > IOMEM_LEN)
		return -1;
	if (write)
		memcpy(sc->iomem + off, val, (size_t)size);
	else
		memcpy(val, sc->iomem + off, (size_t)size);
	return 0;
}

static int
pctestdev_random(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
		 void *arg)
{
	uint32_t v = 0;

	if (!in)
		return 0; /* writes are ignored */
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		return -1;
	*eax = v;
	return 0;
}

static int
pctestdev_init(struct vm *vm, const struct config_node *node)
{
	struct pctestdev_softc *sc = &pctestdev_sc;
	struct inout_port debugexit = { "isa-debug-exit",    DEBUGEXIT_BASE,
					DEBUGEXIT_LEN,       IOPORT_F_INOUT,
					pctestdev_debugexit, sc };
	struct inout_port ioport = { "pc-testdev-ioport", IOPORT_BASE,
				     IOPORT_LEN,          IOPORT_F_INOUT,
				     pctestdev_ioport,    sc };
	struct inout_port random = { "pc-testdev-random", RANDOM_BASE,
				     RANDOM_LEN,          IOPORT_F_INOUT,
				     pctestdev_random,    sc };
	struct inout_port irq = { "pc-testdev-irq-line", IRQ_BASE,      IRQ_LEN,
				  IOPORT_F_INOUT,        pctestdev_irq, sc };
	struct inout_port lint1 = { "pc-testdev-lint1", LINT1_PORT,      1,
				    IOPORT_F_INOUT,     pctestdev_lint1, sc };
	struct mem_range iomem = {
		"pc-testdev-iomem", MEM_F_RW, pctestdev_iomem, sc, 0,
		IOMEM_BASE,         IOMEM_LEN
	};
	int error;

	sc->vm = vm;
	sc->ioport_data = 0;
	sc->irq_lines = 0;
	sc->iomem = calloc(1, IOMEM_LEN);
	if (sc->iomem == NULL)
		return ENOMEM;
	if ((error = register_inout(&debugexit)) != 0 ||
	    (error = register_inout(&ioport)) != 0 ||
	    (error = register_inout(&random)) != 0 ||
	    (error = register_inout(&irq)) != 0 ||
	    (error = register_inout(&lint1)) != 0 ||
	    (error = register_mem(&iomem)) != 0) {
		rhyve_warnx("pc-testdev: its ports or memory are taken");
		return error;
	}
	return 0;
}

static void
pctestdev_deinit(void)
{
	free(pctestdev_sc.iomem);
	pctestdev_sc.iomem = NULL;
}

static const struct lpc_dev pctestdev = {
	.name = "pc-testdev",
	.help = "test-kernel devices: debug-exit port 0xf4, scratch port "
		"0xe0, random port 0xe4, 64 KiB MMIO at 0xff000000, IRQ lines "
		"at 0x2000, LINT1 (NMI) of vCPU 0 at 0x2020",
	.init = pctestdev_init,
	.deinit = pctestdev_deinit,
};
LPC_DEV_REGISTER(pctestdev)
