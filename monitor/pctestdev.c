/*
 * pc-testdev, as bhyve's: the devices kvm-unit-tests style test kernels
 * expect.
 *   0xf4        isa-debug-exit: writing v ends rhyve with status (v<<1)|1
 *   0xe0-0xe3   a 4-byte scratch register, byte-addressable
 *   0xff000000  64 KiB of RAM-like MMIO (every access exits)
 * The IRQ-line ports at 0x2000 come with the interrupt controllers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

#define DEBUGEXIT_BASE 0xf4
#define DEBUGEXIT_LEN  4
#define IOPORT_BASE    0xe0
#define IOPORT_LEN     4
#define IOMEM_BASE     0xff000000ULL
#define IOMEM_LEN      0x10000

static struct pctestdev_softc {
	struct vm *vm;
	uint32_t ioport_data;
	uint8_t *iomem;
} pctestdev_sc;

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
pctestdev_init(struct vm *vm, const struct config_node *node)
{
	struct pctestdev_softc *sc = &pctestdev_sc;
	struct inout_port debugexit = { "isa-debug-exit",    DEBUGEXIT_BASE,
					DEBUGEXIT_LEN,       IOPORT_F_INOUT,
					pctestdev_debugexit, sc };
	struct inout_port ioport = { "pc-testdev-ioport", IOPORT_BASE,
				     IOPORT_LEN,          IOPORT_F_INOUT,
				     pctestdev_ioport,    sc };
	struct mem_range iomem = {
		"pc-testdev-iomem", MEM_F_RW, pctestdev_iomem, sc, 0,
		IOMEM_BASE,         IOMEM_LEN
	};
	int error;

	sc->vm = vm;
	sc->ioport_data = 0;
	sc->iomem = calloc(1, IOMEM_LEN);
	if (sc->iomem == NULL)
		return ENOMEM;
	if ((error = register_inout(&debugexit)) != 0 ||
	    (error = register_inout(&ioport)) != 0 ||
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
		"0xe0, 64 KiB MMIO at 0xff000000",
	.init = pctestdev_init,
	.deinit = pctestdev_deinit,
};
LPC_DEV_REGISTER(pctestdev)
