/*
 * mem-testdev (-l mem-testdev): MMIO that behaves exactly like RAM, for
 * tests that run the same instruction on RAM and on MMIO and compare
 * (tests/guests/mmio_insn.c).  Every access to it is an exit, so the
 * engine's MMIO path (KVM's instruction emulator, or the interp engine's
 * restartable loads and queued stores) is what the test exercises.
 *   0xff100000-0xff101fff  the window: two pages of bytes; reads return
 *               them, writes store them, any size the engine issues (1-8)
 *               at any alignment, so accesses can straddle the boundary
 *               between the pages
 *   0xff103000  the control page, 8-byte registers:
 *      +0x00    read: accesses to the window logged since the log was
 *               cleared; write: clears the log and starts logging
 *      +0x08    write: prints the log (the last MEMTEST_NLOG accesses:
 *               direction, window offset, size, value) on stderr
 *      +0x10    read: the name of the engine that serves the accesses
 *               ("kvm", "interp", "lockstep"; NUL-padded to 8 bytes):
 *               under kvm they go through KVM's instruction emulator,
 *               whose coverage of the instruction set is KVM's
 *      +0x18    write: stops logging (accesses are still served)
 *      +0x20    write: a guest-physical address: the window is loaded
 *               with the 8 KiB of guest RAM there (not logged)
 *      +0x28    write: a guest-physical address: the window is compared
 *               with the 8 KiB of guest RAM there; read: the offset of
 *               the first differing byte, or all-ones if none
 * The last two spare a test writing and reading the window 8 bytes (one
 * exit) at a time for every case; the device reads guest RAM but never
 * writes it (that would be DMA).
 * The page between the window and the control page is left unclaimed, so
 * an access running off the window's end is not served by it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

#define MEMTEST_BASE       0xff100000ULL
#define MEMTEST_LEN        0x2000
#define MEMTEST_CTL_BASE   0xff103000ULL
#define MEMTEST_CTL_LEN    0x1000
#define MEMTEST_CTL_COUNT  0x00
#define MEMTEST_CTL_DUMP   0x08
#define MEMTEST_CTL_ENGINE 0x10
#define MEMTEST_CTL_STOP   0x18
#define MEMTEST_CTL_LOAD   0x20
#define MEMTEST_CTL_CMP    0x28
#define MEMTEST_NLOG       64 /* a ring of the last accesses */

struct memtest_access {
	uint32_t off;
	uint8_t size;
	bool write;
	uint64_t val;
};

static struct memtest_softc {
	struct vm *vm;
	uint8_t *win;
	pthread_mutex_t mtx;
	uint64_t count; /* accesses logged since the log was cleared */
	bool logging;
	uint64_t cmp; /* MEMTEST_CTL_CMP's result */
	struct memtest_access log[MEMTEST_NLOG];
} memtest_sc = { .mtx = PTHREAD_MUTEX_INITIALIZER };

static int
memtest_window(struct vcpu *vcpu, bool write, uint64_t gpa, int size,
	       uint64_t *val, void *arg1, long arg2)
{
	struct memtest_softc *sc = arg1;
	uint64_t off = gpa - MEMTEST_BASE;
	struct memtest_access *a;

	if (size < 1 || size > 8 || off + (uint64_t)size > MEMTEST_LEN)
		return -1;
	pthread_mutex_lock(&sc->mtx);
	if (write) {
		memcpy(sc->win + off, val, (size_t)size);
	} else {
		*val = 0;
		memcpy(val, sc->win + off, (size_t)size);
	}
	if (sc->logging) {
		a = &sc->log[sc->count % MEMTEST_NLOG];
		a->off = (uint32_t)off;
		a->size = (uint8_t)size;
		a->write = write;
		a->val = *val;
		sc->count++;
	}
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

static void
memtest_dump(struct memtest_softc *sc)
{
	uint64_t first;

	first = sc->count > MEMTEST_NLOG ? sc->count - MEMTEST_NLOG : 0;
	rhyve_warnx("mem-testdev: %llu accesses since the log was cleared%s",
		    (unsigned long long)sc->count,
		    first != 0 ? ", the last ones:" : "");
	for (uint64_t i = first; i < sc->count; i++) {
		const struct memtest_access *a = &sc->log[i % MEMTEST_NLOG];

		rhyve_warnx("mem-testdev:   #%llu %s +0x%04x size %u: 0x%0*llx",
			    (unsigned long long)i, a->write ? "write" : "read ",
			    a->off, a->size, 2 * a->size,
			    (unsigned long long)a->val);
	}
}

static int
memtest_ctl(struct vcpu *vcpu, bool write, uint64_t gpa, int size,
	    uint64_t *val, void *arg1, long arg2)
{
	struct memtest_softc *sc = arg1;
	uint64_t off = gpa - MEMTEST_CTL_BASE;
	const char *engine;
	const uint8_t *ram;
	int error = 0;

	if (size != 8 || (off & 7) != 0)
		return -1; /* 8-byte registers, accessed whole */
	pthread_mutex_lock(&sc->mtx);
	if (write) {
		if (off == MEMTEST_CTL_COUNT) {
			sc->count = 0;
			sc->logging = true;
		} else if (off == MEMTEST_CTL_STOP) {
			sc->logging = false;
		} else if (off == MEMTEST_CTL_LOAD || off == MEMTEST_CTL_CMP) {
			ram = vm_map_gpa(sc->vm, *val, MEMTEST_LEN);
			if (ram == NULL) {
				error = -1; /* not RAM */
			} else if (off == MEMTEST_CTL_LOAD) {
				memcpy(sc->win, ram, MEMTEST_LEN);
			} else {
				sc->cmp = ~0ULL;
				for (size_t i = 0; i < MEMTEST_LEN; i++)
					if (sc->win[i] != ram[i]) {
						sc->cmp = i;
						break;
					}
			}
		} else if (off == MEMTEST_CTL_DUMP)
			memtest_dump(sc);
	} else {
		*val = 0;
		if (off == MEMTEST_CTL_COUNT) {
			*val = sc->count;
		} else if (off == MEMTEST_CTL_CMP) {
			*val = sc->cmp;
		} else if (off == MEMTEST_CTL_ENGINE) {
			engine = vm_engine_name(sc->vm);
			memcpy(val, engine, strnlen(engine, sizeof(*val)));
		}
	}
	pthread_mutex_unlock(&sc->mtx);
	return error;
}

static int
memtest_init(struct vm *vm, const struct config_node *node)
{
	struct memtest_softc *sc = &memtest_sc;
	struct mem_range win = {
		"mem-testdev", MEM_F_RW,   memtest_window, sc, 0,
		MEMTEST_BASE,  MEMTEST_LEN
	};
	struct mem_range ctl = {
		"mem-testdev-ctl", MEM_F_RW,       memtest_ctl, sc, 0,
		MEMTEST_CTL_BASE,  MEMTEST_CTL_LEN
	};

	sc->vm = vm;
	sc->count = 0;
	sc->logging = true;
	sc->win = calloc(1, MEMTEST_LEN);
	if (sc->win == NULL)
		return ENOMEM;
	if (register_mem(&win) != 0 || register_mem(&ctl) != 0) {
		rhyve_warnx("mem-testdev: 0x%llx-0x%llx is taken", MEMTEST_BASE,
			    MEMTEST_CTL_BASE + MEMTEST_CTL_LEN - 1);
		return EEXIST;
	}
	return 0;
}

static void
memtest_deinit(void)
{
	free(memtest_sc.win);
	memtest_sc.win = NULL;
}

static const struct lpc_dev memtestdev = {
	.name = "mem-testdev",
	.help = "RAM-like MMIO for instruction tests: 8 KiB at 0xff100000, "
		"an access log and counter at 0xff103000",
	.init = memtest_init,
	.deinit = memtest_deinit,
};
LPC_DEV_REGISTER(memtestdev)
