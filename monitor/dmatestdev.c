/*
 * dma-testdev (-l dma-testdev): a device that writes into guest memory,
 * for tests of the DMA path (kmod's vm_dma_write) and its recording.
 *   0xe8-0xeb  the guest-physical address to write to (32-bit)
 *   0xec-0xef  write: a length (1..4096) starts a transfer of that many
 *              host-random bytes; read: 1 while a transfer runs, else 0
 * The transfer runs on the device's own thread and ends after about a
 * millisecond, as a real device's would: the data reach the guest
 * through kmod, at an event boundary of vCPU 0, before the status reads 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "rhyve.h"

#define DMATEST_BASE 0xe8
#define DMATEST_LEN  8
#define DMATEST_MAX  4096

static struct dmatest_softc {
	struct vm *vm;
	uint32_t gpa;
	uint32_t len;
	_Atomic bool busy;
	bool thread_valid;
	pthread_t thread;
} dmatest_sc;

static void *
dmatest_transfer(void *arg)
{
	struct dmatest_softc *sc = arg;
	struct timespec ms = { 0, 1000000 };
	uint8_t buf[DMATEST_MAX];
	int error;

	nanosleep(&ms, NULL);
	if (getrandom(buf, sc->len, 0) != (ssize_t)sc->len)
		error = EIO;
	else
		error = vm_dma_write(sc->vm, sc->gpa, buf, sc->len);
	if (error != 0)
		rhyve_warnx("dma-testdev: %u bytes at 0x%x: %s", sc->len,
			    sc->gpa, strerror(error));
	atomic_store(&sc->busy, false);
	return NULL;
}

static void
dmatest_join(struct dmatest_softc *sc)
{
	if (sc->thread_valid)
		pthread_join(sc->thread, NULL);
	sc->thread_valid = false;
}

static int
dmatest_port(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	     void *arg)
{
	struct dmatest_softc *sc = arg;

	if (bytes != 4 || (port != DMATEST_BASE && port != DMATEST_BASE + 4))
		return -1; /* 32-bit registers, accessed whole */
	if (port == DMATEST_BASE) {
		if (in)
			*eax = sc->gpa;
		else
			sc->gpa = *eax;
		return 0;
	}
	if (in) {
		*eax = atomic_load(&sc->busy);
		return 0;
	}
	if (atomic_load(&sc->busy) || *eax == 0 || *eax > DMATEST_MAX)
		return 0; /* busy or a bad length: ignored, as hardware */
	dmatest_join(sc);
	sc->len = *eax;
	atomic_store(&sc->busy, true);
	if (pthread_create(&sc->thread, NULL, dmatest_transfer, sc) != 0) {
		atomic_store(&sc->busy, false);
		return -1;
	}
	sc->thread_valid = true;
	return 0;
}

static int
dmatest_init(struct vm *vm, const struct config_node *node)
{
	struct dmatest_softc *sc = &dmatest_sc;
	struct inout_port iop = { "dma-testdev",  DMATEST_BASE, DMATEST_LEN,
				  IOPORT_F_INOUT, dmatest_port, sc };

	sc->vm = vm;
	atomic_store(&sc->busy, false);
	if (register_inout(&iop) != 0) {
		rhyve_warnx("dma-testdev: ports 0x%x-0x%x are taken",
			    DMATEST_BASE, DMATEST_BASE + DMATEST_LEN - 1);
		return EEXIST;
	}
	return 0;
}

static void
dmatest_deinit(void)
{
	dmatest_join(&dmatest_sc);
}

static const struct lpc_dev dmatestdev = {
	.name = "dma-testdev",
	.help = "test device writing host-random bytes into guest memory "
		"(DMA), ports 0xe8-0xef",
	.init = dmatest_init,
	.deinit = dmatest_deinit,
};
LPC_DEV_REGISTER(dmatestdev)
