/*
 * The lockstep engine (--engine lockstep): a differential tester that runs
 * the guest on kvm and on interp side by side, one instruction at a time,
 * and stops the VM at the first instruction after which the two CPUs
 * disagree, naming it and printing both register states.
 *
 * kvm is the primary: its exits go to kmod and the monitor as usual, the
 * guest's memory is its memory, and every register getter answers from
 * it.  interp runs on a private copy of guest RAM (the shadow, copied from
 * the primary when the vCPU first runs, after the loader has written it;
 * device DMA is mirrored into it), and every setter and injection goes to
 * both engines.  run() single-steps kvm (KVM_GUESTDBG_SINGLESTEP), then
 * brings interp to the same point and compares:
 *
 *  - the registers after every step: GPRs, rip, rflags, segment
 *    selectors and descriptors, GDTR/IDTR, CR0/2/3/4/8, EFER, interrupt
 *    shadow (kvm's come from its sync-register area, so a step costs no
 *    ioctl beyond KVM_RUN);
 *  - each exit (port, size, direction, written value; MMIO address, size,
 *    direction, written value; HLT; MSR number and written value), and
 *    at each non-step exit the debug registers and the MSRs the CPU
 *    keeps; the value the monitor answers goes to both CPUs;
 *  - memory: the pages interp wrote after every step, the pages kvm wrote
 *    (its dirty log) at every non-step exit, every LS_MEMCHECK_STEPS
 *    steps and at the end.
 *
 * One KVM_RUN returns after some prefix of what interp does as separate
 * actions: complete the instruction behind the last exit (always: KVM
 * completes it first thing on entry), deliver a pending event (interrupt,
 * NMI, injected exception), execute one instruction.  interp takes the
 * actions in that order and stops at the first point where its state
 * equals kvm's; only executing an instruction is never skipped, unless
 * kvm stopped before it (a hardware breakpoint, or after an exit whose
 * instruction interp had already retired).  So the one thing this cannot
 * catch is an instruction that changes no state at all.
 *
 * Legitimate differences, taken from kvm (interp's copy is overwritten):
 * the result registers of RDTSC, RDTSCP, RDRAND, RDSEED, RDPMC and of
 * RDMSR of the TSC (the host's values); of CPUID (PVM overrides some of
 * leaves 1 and 7 on this host, docs/architecture.md); the arithmetic
 * flags the SDM leaves undefined for the instruction just executed (see
 * ls_undefined_flags()); and the value of an RDMSR kvm answers itself where
 * interp exits to kmod (the write of a WRMSR kvm kept is not reported).
 *
 * Several vCPUs step one instruction at a time under one lock, so both
 * engines see the same interleaving of their memory accesses.  Not
 * supported: recording (the dirty log is the tester's), memory a
 * debugger writes (not mirrored: reported as a difference).
 *
 * Test hook: RHYVE_LOCKSTEP_CORRUPT=N flips bit 0 of interp's RBX after N
 * compared instructions, to prove a difference is found and reported
 * (tests/lockstep); only this engine reads it.
 *
 * Files: this one is the engine (the VM, memory and its shadow, vCPUs, the
 * run loop, the setters and injections that go to both); lockstep_step.c
 * one step of both CPUs; lockstep_compare.c what is compared and the
 * report; lockstep.h what they share.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "lockstep.h"

/* ---- the VM and memory ---------------------------------------------- */

static int
ls_vm_init(struct vm *vm, void **cookiep, char *errbuf, size_t errlen)
{
	struct ls_vm *lvm = calloc(1, sizeof(*lvm));
	const char *corrupt = getenv("RHYVE_LOCKSTEP_CORRUPT");
	void *ivm = NULL;
	int error;

	if (lvm == NULL)
		return ENOMEM;
	lvm->vm = vm;
	error = kvm->vm_init(vm, &lvm->kvm, errbuf, errlen);
	if (error == 0) {
		error = itp->vm_init(vm, &ivm, errbuf, errlen);
		if (error != 0)
			kvm->vm_cleanup(lvm->kvm);
	}
	if (error != 0) {
		free(lvm);
		return error;
	}
	lvm->ivm = ivm;
	pthread_mutex_init(&lvm->mtx, NULL);
	pthread_cond_init(&lvm->cv, NULL);
	if (corrupt != NULL)
		lvm->corrupt_at = strtoull(corrupt, NULL, 0);
	*cookiep = lvm;
	return 0;
}

static void
slot_free(struct ls_slot *s)
{
	if (s->shadow != NULL)
		munmap(s->shadow, s->len);
	free(s->bits);
	*s = (struct ls_slot){ 0 };
}

static void
ls_vm_cleanup(void *cookie)
{
	struct ls_vm *lvm = cookie;

	/* Every vCPU's comparisons, so a test can check all of them. */
	if (lvm->nran > 0 && !lvm->failed)
		fprintf(stderr,
			"lockstep: %d vCPUs, %d ran: %" PRIu64
			" instructions, %" PRIu64 " events, %" PRIu64
			" exits compared, %" PRIu64
			" values taken from kvm, %" PRIu64 " resyncs (%" PRIu64
			" instructions): no difference\n",
			lvm->nvcpus, lvm->nran, lvm->steps, lvm->events,
			lvm->exits, lvm->taken, lvm->resyncs, lvm->resynced);

	itp->vm_cleanup(lvm->ivm);
	kvm->vm_cleanup(lvm->kvm);
	for (int i = 0; i < VM_MAX_MEMMAP; i++)
		slot_free(&lvm->slots[i]);
	pthread_mutex_destroy(&lvm->mtx);
	pthread_cond_destroy(&lvm->cv);
	free(lvm);
}

static int
ls_mem_map(void *cookie, int slot, uint64_t gpa, size_t len, void *host,
	   bool readonly)
{
	struct ls_vm *lvm = cookie;
	struct ls_slot *s;
	int error;

	if (slot < 0 || slot >= VM_MAX_MEMMAP || len == 0)
		return EINVAL;
	s = &lvm->slots[slot];
	slot_free(s);
	s->shadow = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->shadow == MAP_FAILED) {
		s->shadow = NULL;
		return ENOMEM;
	}
	s->len = len;
	s->bits = calloc(ls_slot_words(s), sizeof(*s->bits));
	if (s->bits == NULL) {
		slot_free(s);
		return ENOMEM;
	}
	s->used = true;
	s->gpa = gpa;
	s->host = host;
	/* Mapped while running (a BAR, a ROM): its contents now. */
	if (lvm->started)
		memcpy(s->shadow, host, len);
	error = kvm->mem_map(lvm->kvm, slot, gpa, len, host, readonly);
	if (error == 0)
		error = kvm->dirty_logging(lvm->kvm, slot, true);
	if (error == 0)
		error =
		    itp->mem_map(lvm->ivm, slot, gpa, len, s->shadow, readonly);
	if (error == 0)
		error = itp->dirty_logging(lvm->ivm, slot, true);
	if (error != 0)
		slot_free(s);
	return error;
}

static int
ls_mem_unmap(void *cookie, int slot)
{
	struct ls_vm *lvm = cookie;
	int error;

	if (slot < 0 || slot >= VM_MAX_MEMMAP)
		return EINVAL;
	error = kvm->mem_unmap(lvm->kvm, slot);
	itp->mem_unmap(lvm->ivm, slot);
	slot_free(&lvm->slots[slot]);
	return error;
}

/* The recorder's dirty log would take the tester's: not with lockstep. */
static int
ls_dirty_logging(void *cookie, int slot, bool on)
{
	(void)cookie;
	(void)slot;
	(void)on;
	return ENOTSUP;
}

static int
ls_get_dirty(void *cookie, int slot, uint64_t *bitmap)
{
	(void)cookie;
	(void)slot;
	(void)bitmap;
	return ENOTSUP;
}

static void
ls_dma_done(void *cookie, uint64_t gpa, const uint8_t *data, size_t len)
{
	struct ls_vm *lvm = cookie;

	for (int i = 0; i < VM_MAX_MEMMAP; i++) {
		struct ls_slot *s = &lvm->slots[i];

		if (s->used && gpa >= s->gpa && gpa + len <= s->gpa + s->len) {
			memcpy(s->shadow + (gpa - s->gpa), data, len);
			return;
		}
	}
}

/* ---- vCPUs ------------------------------------------------------------ */

/*
 * The MXCSR bits this CPU has, as FXSAVE stores them (0x2ffff on AMD,
 * with MXCSR.MM): kvm's guest saves the host's, so interp models it.
 */
static uint32_t
host_mxcsr_mask(void)
{
	uint8_t img[512] __attribute__((aligned(16))) = { 0 };
	uint32_t mask;

	__asm__ volatile("fxsave64 %0" : "=m"(img));
	memcpy(&mask, img + 28, 4);
	return mask != 0 ? mask : 0xffbf; /* 0: the SDM's default */
}

static int
ls_vcpu_init(void *cookie, struct vcpu *vcpu, int id, void **vcookiep)
{
	struct ls_vm *lvm = cookie;
	struct ls_vcpu *lc = calloc(1, sizeof(*lc));
	void *ic = NULL;
	int error;

	if (lc == NULL)
		return ENOMEM;
	lc->lvm = lvm;
	lc->vcpu = vcpu;
	lc->id = id;
	error = kvm->vcpu_init(lvm->kvm, vcpu, id, &lc->kvc);
	if (error == 0) {
		error = itp->vcpu_init(lvm->ivm, vcpu, id, &ic);
		if (error != 0)
			kvm->vcpu_cleanup(lc->kvc);
	}
	if (error == 0) {
		lc->ic = ic;
		lc->ic->mxcsr_mask = host_mxcsr_mask();
		error = kvm->set_debug(
		    lc->kvc, &(struct vm_guest_debug){ .enable = true,
						       .singlestep = true });
		if (error != 0) {
			itp->vcpu_cleanup(ic);
			kvm->vcpu_cleanup(lc->kvc);
		}
	}
	if (error != 0) {
		free(lc);
		return error;
	}
	*vcookiep = lc;
	return 0;
}

static void
ls_vcpu_cleanup(void *vcookie)
{
	struct ls_vcpu *lc = vcookie;
	struct ls_vm *lvm = lc->lvm;
	struct timespec t1;
	double secs;

	lvm->nvcpus++;
	if (lc->steps > 0) {
		lvm->nran++;
		lvm->steps += lc->steps;
		lvm->events += lc->events;
		lvm->exits += lc->exits;
		lvm->taken += lc->taken;
		lvm->resyncs += lc->resyncs;
		lvm->resynced += lc->resynced;
	}
	if (lc->steps > 0 && !lvm->failed) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double)(t1.tv_sec - lc->t0.tv_sec) +
		       (double)(t1.tv_nsec - lc->t0.tv_nsec) / 1e9;
		fprintf(stderr,
			"lockstep: vcpu %d: %" PRIu64 " instructions, %" PRIu64
			" events, %" PRIu64
			" exits compared in %.1f s, %" PRIu64
			" values taken from kvm, %" PRIu64 " resyncs (%" PRIu64
			" instructions): no difference\n",
			lc->id, lc->steps, lc->events, lc->exits, secs,
			lc->taken, lc->resyncs, lc->resynced);
	}
	itp->vcpu_cleanup(lc->ic);
	kvm->vcpu_cleanup(lc->kvc);
	free(lc);
}

/* ---- running: one vCPU's step at a time ---------------------------- */

static void
ls_lock(struct ls_vm *lvm)
{
	uint64_t t;

	pthread_mutex_lock(&lvm->mtx);
	t = lvm->ticket_next++;
	while (lvm->ticket_serving != t)
		pthread_cond_wait(&lvm->cv, &lvm->mtx);
	pthread_mutex_unlock(&lvm->mtx);
}

static void
ls_unlock(struct ls_vm *lvm)
{
	pthread_mutex_lock(&lvm->mtx);
	lvm->ticket_serving++;
	pthread_cond_broadcast(&lvm->cv);
	pthread_mutex_unlock(&lvm->mtx);
}

/* The first run: the shadow takes what the loader wrote. */
static bool
ls_start(struct ls_vcpu *lc, struct vm_exit *vmexit)
{
	struct ls_vm *lvm = lc->lvm;
	struct ls_state ks, is;
	struct vm_fpu fpu;
	uint64_t diff;

	if (!lvm->started) {
		for (int n = 0; n < VM_MAX_MEMMAP; n++) {
			struct ls_slot *s = &lvm->slots[n];

			if (!s->used)
				continue;
			memcpy(s->shadow, s->host, s->len);
			itp->get_dirty(lvm->ivm, n, s->bits);
			kvm->get_dirty(lvm->kvm, n, s->bits);
		}
		lvm->started = true;
	}
	/*
	 * The x87/SSE state nobody set: kvm's, for a start (KVM on this
	 * host reports MXCSR 0 after creation where RESET gives 0x1f80).
	 */
	if (kvm->getfpu(lc->kvc, &fpu) == 0)
		itp->setfpu(lc->ic, &fpu);
	clock_gettime(CLOCK_MONOTONIC, &lc->t0);
	ls_state_get(kvm, lc->kvc, &ks);
	ls_state_get(itp, lc->ic, &is);
	diff = ls_state_diff(&ks, &is);
	if (diff != 0) {
		ls_fail(lc, vmexit, "the initial registers differ",
			"(before the first instruction)",
			ks.reg[VM_REG_GUEST_RIP], &ks, &is, diff);
		return false;
	}
	return true;
}

/*
 * Virtual time, as on the interp engine: the VM's clock runs on as interp
 * retires instructions, so timers fire and vCPUs take turns
 * (vmm_sched.c) at instruction counts, the same points on both CPUs.
 * Back to kmod when the vCPU's turn is over (set_yield) and when a timer
 * is due (kmod runs it between runs).
 */
static bool
ls_yield_due(struct ls_vcpu *lc)
{
	struct vm *vm = lc->lvm->vm;

	return (lc->yield_icount != 0 && lc->ic->icount >= lc->yield_icount) ||
	       vm_clock_ns(vm) >= vm_callout_next(vm);
}

static int
ls_run(void *vcookie, struct vm_exit *vmexit)
{
	struct ls_vcpu *lc = vcookie;
	struct ls_vm *lvm = lc->lvm;
	bool more;

	do {
		ls_lock(lvm);
		if (lvm->failed) {
			/* Another vCPU found a difference. */
			ls_unlock(lvm);
			memset(vmexit, 0, sizeof(*vmexit));
			vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
			snprintf(vmexit->u.error.msg,
				 sizeof(vmexit->u.error.msg),
				 "lockstep: stopped by another vCPU's "
				 "difference");
			return 0;
		}
		if (lc->t0.tv_sec == 0 && !ls_start(lc, vmexit)) {
			ls_unlock(lvm);
			return 0;
		}
		more = ls_step(lc, vmexit);
		ls_unlock(lvm);
		if (more &&
		    (atomic_exchange(&lc->kicked, false) || ls_yield_due(lc))) {
			memset(vmexit, 0, sizeof(*vmexit));
			vmexit->exitcode = VM_EXITCODE_BOGUS;
			vmexit->rip = lc->ic->rip;
			more = false;
		}
	} while (more);
	return 0;
}

static void
ls_kick(void *vcookie)
{
	struct ls_vcpu *lc = vcookie;

	atomic_store(&lc->kicked, true);
	kvm->kick(lc->kvc);
}

/* ---- registers: read from kvm, written to both -------------------------- */

/* The instruction count is interp's (kvm has none). */
static int
ls_getreg(void *vcookie, int reg, uint64_t *val)
{
	struct ls_vcpu *lc = vcookie;

	if (reg == VM_REG_ICOUNT)
		return itp->getreg(lc->ic, reg, val);
	return kvm->getreg(lc->kvc, reg, val);
}

static int
ls_setreg(void *vcookie, int reg, uint64_t val)
{
	struct ls_vcpu *lc = vcookie;
	int error;

	if (reg == VM_REG_ICOUNT)
		return itp->setreg(lc->ic, reg, val);
	error = kvm->setreg(lc->kvc, reg, val);
	return error != 0 ? error : itp->setreg(lc->ic, reg, val);
}

/* The end of the vCPU's turn: ls_run() checks it after each step. */
static int
ls_set_yield(void *vcookie, uint64_t icount)
{
	struct ls_vcpu *lc = vcookie;

	lc->yield_icount = icount == UINT64_MAX ? 0 : icount;
	return 0;
}

static int
ls_getdesc(void *vcookie, int reg, struct seg_desc *desc)
{
	return kvm->getdesc(((struct ls_vcpu *)vcookie)->kvc, reg, desc);
}

static int
ls_setdesc(void *vcookie, int reg, const struct seg_desc *desc)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->setdesc(lc->kvc, reg, desc);

	return error != 0 ? error : itp->setdesc(lc->ic, reg, desc);
}

/* The TSC is interp's: it runs on the VM's virtual clock. */
static int
ls_getmsr(void *vcookie, uint32_t msr, uint64_t *val)
{
	struct ls_vcpu *lc = vcookie;

	if (msr == MSR_TSC)
		return itp->getmsr(lc->ic, msr, val);
	return kvm->getmsr(lc->kvc, msr, val);
}

/* interp keeps fewer MSRs than kvm: those it has not are kvm's alone. */
static int
ls_setmsr(void *vcookie, uint32_t msr, uint64_t val)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->setmsr(lc->kvc, msr, val);

	if (error == 0)
		itp->setmsr(lc->ic, msr, val);
	return error;
}

static int
ls_getfpu(void *vcookie, struct vm_fpu *fpu)
{
	return kvm->getfpu(((struct ls_vcpu *)vcookie)->kvc, fpu);
}

static int
ls_setfpu(void *vcookie, const struct vm_fpu *fpu)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->setfpu(lc->kvc, fpu);

	return error != 0 ? error : itp->setfpu(lc->ic, fpu);
}

/* ---- events: the same event at the same point on both ------------------- */

static void
diverged(struct ls_vcpu *lc, const char *what)
{
	snprintf(lc->diverged, sizeof(lc->diverged), "%s", what);
}

static int
ls_inject_intr(void *vcookie, int vector)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->inject_intr(lc->kvc, vector);

	if (error == EBUSY) {
		lc->want_window = true;
		return error;
	}
	if (error == 0 && itp->inject_intr(lc->ic, vector) != 0) {
		lc->ic->want_window = false;
		diverged(lc, "kvm takes an interrupt that interp cannot take "
			     "now");
	}
	return error;
}

static int
ls_inject_nmi(void *vcookie)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->inject_nmi(lc->kvc);

	if (error == 0)
		itp->inject_nmi(lc->ic);
	return error;
}

static int
ls_inject_exception(void *vcookie, int vector, bool has_ec, uint32_t ec)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->inject_exception(lc->kvc, vector, has_ec, ec);

	if (error == 0) {
		itp->inject_exception(lc->ic, vector, has_ec, ec);
		/* The faulting MSR access does not complete. */
		lc->after = LS_AFTER_NONE;
	}
	return error;
}

static int
ls_tsc_hz(void *vcookie, uint64_t *hz)
{
	return itp->tsc_hz(((struct ls_vcpu *)vcookie)->ic, hz);
}

/* kvm single-steps always; a debugger's own steps and breakpoints added. */
static int
ls_set_debug(void *vcookie, const struct vm_guest_debug *dbg)
{
	struct ls_vcpu *lc = vcookie;
	struct vm_guest_debug d = *dbg;

	lc->dbg = *dbg;
	lc->user_step = dbg->enable && dbg->singlestep;
	if (!d.enable) {
		d = (struct vm_guest_debug){ 0 };
		d.enable = true;
	}
	d.singlestep = true;
	return kvm->set_debug(lc->kvc, &d);
}

static int
ls_complete_io(void *vcookie, struct vm_exit *vmexit)
{
	struct ls_vcpu *lc = vcookie;
	struct interp_cpu *ic = lc->ic;
	int error;

	if (lc->after == LS_AFTER_RESTART &&
	    vmexit->exitcode == VM_EXITCODE_INOUT &&
	    vmexit->u.inout.bytes <= sizeof(ic->io_buf))
		memcpy(ic->io_buf, vmexit->u.inout.data, vmexit->u.inout.bytes);
	error = kvm->complete_io(lc->kvc, vmexit);
	if (error == 0)
		error = itp->complete_io(ic, vmexit);
	if (lc->after == LS_AFTER_RESTART)
		lc->after = LS_AFTER_NONE;
	return error;
}

static bool
ls_event_queued(void *vcookie)
{
	struct ls_vcpu *lc = vcookie;

	return kvm->event_queued(lc->kvc) || itp->event_queued(lc->ic);
}

static int
ls_cpuid_supported(void *cookie, struct vm_cpuid_entry *out, int max)
{
	return kvm->cpuid_supported(((struct ls_vm *)cookie)->kvm, out, max);
}

static int
ls_set_cpuid(void *vcookie, const struct vm_cpuid_entry *table, int n)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->set_cpuid(lc->kvc, table, n);

	return error != 0 ? error : itp->set_cpuid(lc->ic, table, n);
}

const struct vmm_engine vmm_engine_lockstep = {
	.name = "lockstep",
	.virtual_time = true,
	/*
	 * Short turns: a vCPU spinning on a flag another one sets waits
	 * for the rest of its turn, which costs the tester 40 times what
	 * it costs interp.
	 */
	.quantum = 1000,
	.vm_init = ls_vm_init,
	.vm_cleanup = ls_vm_cleanup,
	.mem_map = ls_mem_map,
	.mem_unmap = ls_mem_unmap,
	.vcpu_init = ls_vcpu_init,
	.vcpu_cleanup = ls_vcpu_cleanup,
	.run = ls_run,
	.kick = ls_kick,
	.getreg = ls_getreg,
	.setreg = ls_setreg,
	.getdesc = ls_getdesc,
	.setdesc = ls_setdesc,
	.getmsr = ls_getmsr,
	.setmsr = ls_setmsr,
	.inject_intr = ls_inject_intr,
	.inject_nmi = ls_inject_nmi,
	.inject_exception = ls_inject_exception,
	.tsc_hz = ls_tsc_hz,
	.set_debug = ls_set_debug,
	.set_yield = ls_set_yield,
	.complete_io = ls_complete_io,
	.event_queued = ls_event_queued,
	.dirty_logging = ls_dirty_logging,
	.get_dirty = ls_get_dirty,
	.cpuid_supported = ls_cpuid_supported,
	.set_cpuid = ls_set_cpuid,
	.getfpu = ls_getfpu,
	.setfpu = ls_setfpu,
	.dma_done = ls_dma_done,
};
