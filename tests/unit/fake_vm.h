/*
 * A VM without an engine for kmod's platform-device tests: the devices
 * (kmod/io) run on a hand-made struct vm whose engine only counts kicks,
 * with vCPU 0 present so that ExtINT has somewhere to go.  Port accesses
 * go through vm_ioport_emulate() as in vm_run(); the VM clock can be moved
 * forward.  Needs kmod's private header: these are tests of kmod inside.
 */
#ifndef RHYVE_TESTS_FAKE_VM_H
#define RHYVE_TESTS_FAKE_VM_H

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm_impl.h"
#include "io/vio.h"

static _Atomic int fake_kicks;

static void
fake_kick(void *vcookie)
{
	(void)vcookie;
	atomic_fetch_add(&fake_kicks, 1);
}

static const struct vmm_engine fake_engine = {
	.name = "fake",
	.kick = fake_kick,
};

static inline struct vm *
fake_vm_create(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (vm == NULL || vcpu == NULL)
		abort();
	vm->engine = &fake_engine;
	vm->clock_base = vm_clock_ns(vm);
	vcpu->vm = vm;
	pthread_mutex_init(&vcpu->mtx, NULL);
	pthread_cond_init(&vcpu->cv, NULL);
	callout_init(vm, &vcpu->window_kick);
	vm->vcpus[0] = vcpu;
	if (vatpic_init(vm) != 0 || vatpit_init(vm) != 0)
		abort();
	return vm;
}

static inline void
fake_vm_destroy(struct vm *vm)
{
	vm_callouts_cleanup(vm);
	vatpit_cleanup(vm);
	vatpic_cleanup(vm);
	pthread_mutex_destroy(&vm->vcpus[0]->mtx);
	pthread_cond_destroy(&vm->vcpus[0]->cv);
	free(vm->vcpus[0]);
	free(vm);
}

/* The VM's clock jumps 'ns' ahead (as a replay may drive it). */
static inline void
fake_advance(struct vm *vm, uint64_t ns)
{
	vm->clock_base -= ns;
}

/* Port I/O as a vCPU exit would bring it; -1 if the device refused. */
static inline int
fake_io(struct vm *vm, bool in, int port, int bytes, uint32_t *val)
{
	uint8_t data[4];
	struct vm_exit ex;
	int rc;

	memset(&ex, 0, sizeof(ex));
	memcpy(data, val, sizeof(data));
	ex.exitcode = VM_EXITCODE_INOUT;
	ex.u.inout.port = (uint16_t)port;
	ex.u.inout.bytes = (uint8_t)bytes;
	ex.u.inout.in = in;
	ex.u.inout.count = 1;
	ex.u.inout.data = data;
	rc = vm_ioport_emulate(vm->vcpus[0], &ex);
	if (rc != 1)
		return -1;
	*val = 0;
	memcpy(val, data, (size_t)bytes);
	return 0;
}

static inline int
fake_outb(struct vm *vm, int port, uint8_t v)
{
	uint32_t val = v;

	return fake_io(vm, false, port, 1, &val);
}

static inline uint8_t
fake_inb(struct vm *vm, int port)
{
	uint32_t val = 0;

	if (fake_io(vm, true, port, 1, &val) != 0)
		return 0xee; /* refused: a value no register has here */
	return (uint8_t)val;
}

/* Did the PIC raise INTR towards vCPU 0 since the last look? */
static inline bool
fake_intr(struct vm *vm)
{
	struct vcpu *vcpu = vm->vcpus[0];
	bool p;

	pthread_mutex_lock(&vcpu->mtx);
	p = vcpu->extint_pending;
	vcpu->extint_pending = false;
	pthread_mutex_unlock(&vcpu->mtx);
	return p;
}

/* The INTA cycle kmod's injection point runs: the vector, or -1. */
static inline int
fake_inta(struct vm *vm)
{
	int vector = vatpic_pending_intr(vm);

	if (vector >= 0)
		vatpic_intr_accepted(vm, vector);
	return vector;
}

/* Both 8259s initialized: vector bases 0x20/0x28, 8086 mode, all masked. */
static inline void
fake_pic_init(struct vm *vm, uint8_t icw4)
{
	fake_outb(vm, 0x20, 0x11);
	fake_outb(vm, 0x21, 0x20);
	fake_outb(vm, 0x21, 0x04);
	fake_outb(vm, 0x21, icw4);
	fake_outb(vm, 0xa0, 0x11);
	fake_outb(vm, 0xa1, 0x28);
	fake_outb(vm, 0xa1, 0x02);
	fake_outb(vm, 0xa1, icw4 & 0x0f); /* SFNM is the master's */
	fake_outb(vm, 0x21, 0xff);
	fake_outb(vm, 0xa1, 0xff);
}

static inline void
fake_sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * What the guest's interrupt handler does between the INTA cycle and the
 * EOI (read a device's status, check the vector): NULL for nothing.
 */
typedef void fake_handler_fn(struct vm *vm, int vector, void *arg);

/* Take one interrupt: INTA, the handler, EOI (slave and master for
 * vectors 0x28 and up, as a guest's IRQ8-15 handler does); the vector. */
static inline int
fake_take_intr(struct vm *vm, fake_handler_fn *handler, void *arg)
{
	int vector = fake_inta(vm);

	if (handler != NULL)
		handler(vm, vector, arg);
	if (vector >= 0x28)
		fake_outb(vm, 0xa0, 0x20);
	fake_outb(vm, 0x20, 0x20);
	return vector;
}

/*
 * Take the interrupts that come during 'us' of real time (polling every
 * 50 us; the devices' callouts run on their own threads): how many;
 * *tookp (if not NULL) how long it really took, as a loaded host
 * oversleeps.
 */
static inline int
fake_take_for(struct vm *vm, long us, fake_handler_fn *handler, void *arg,
	      long *tookp)
{
	struct timespec t0, t;
	long took;
	int n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (fake_intr(vm)) {
			fake_take_intr(vm, handler, arg);
			n++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		took = (t.tv_sec - t0.tv_sec) * 1000000 +
		       (t.tv_nsec - t0.tv_nsec) / 1000;
		if (took >= us) {
			if (tookp != NULL)
				*tookp = took;
			return n;
		}
		fake_sleep_us(50);
	}
}

/*
 * Wait up to 2 s (a loaded host runs the callouts late) for one interrupt
 * and take it: its vector, or -1 if none came.
 */
static inline int
fake_take_one(struct vm *vm, fake_handler_fn *handler, void *arg)
{
	for (int i = 0; i < 40000; i++) {
		if (fake_intr(vm))
			return fake_take_intr(vm, handler, arg);
		fake_sleep_us(50);
	}
	return -1;
}

#endif
