/*
 * The VM and its vCPUs: life cycle, register access and vm_run(), on top of
 * the engine the VM was created with.
 */
#include <errno.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_impl.h"
#include "io/vio.h"

static const struct vmm_engine *const vmm_engines[] = {
	&vmm_engine_kvm,
	&vmm_engine_interp,
	&vmm_engine_lockstep,
};

static const struct vmm_engine *
vmm_engine_find(const char *name)
{
	for (size_t i = 0; i < sizeof(vmm_engines) / sizeof(vmm_engines[0]);
	     i++)
		if (strcmp(vmm_engines[i]->name, name) == 0)
			return vmm_engines[i];
	return NULL;
}

int
vm_create(const char *name, const char *engine, struct vm **vmp, char *errbuf,
	  size_t errlen)
{
	const struct vmm_engine *eng;
	struct vm *vm;
	int error;

	eng = vmm_engine_find(engine);
	if (eng == NULL) {
		snprintf(errbuf, errlen, "unknown engine '%s'", engine);
		return EINVAL;
	}
	if (name == NULL || name[0] == '\0' || strlen(name) >= VM_NAME_MAX) {
		snprintf(errbuf, errlen, "VM name must be 1 to %d characters",
			 VM_NAME_MAX - 1);
		return EINVAL;
	}
	vm = calloc(1, sizeof(*vm));
	if (vm == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return ENOMEM;
	}
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->engine = eng;
	vm_mem_init(vm);
	vm_dma_init(vm);
	vm->clock_base = vm_clock_ns(vm); /* clock_base is 0 here */
	vm->virtual_time = eng->virtual_time;
	vm->idle_skip = true;
	error = eng->vm_init(vm, &vm->cookie, errbuf, errlen);
	if (error != 0) {
		vm_dma_cleanup(vm);
		vm_mem_cleanup(vm);
		free(vm);
		return error;
	}
	error = vm_cpuid_init(vm, errbuf, errlen);
	if (error != 0) {
		vm_destroy(vm);
		return error;
	}
	error = vm_platform_init(vm);
	if (error != 0) {
		snprintf(errbuf, errlen,
			 "cannot create the platform devices: %s",
			 strerror(error));
		vm_destroy(vm);
		return error;
	}
	error = vm_sched_init(vm);
	if (error != 0) {
		snprintf(errbuf, errlen, "cannot run the vCPUs in turns: %s",
			 strerror(error));
		vm_destroy(vm);
		return error;
	}
	*vmp = vm;
	return 0;
}

void
vm_destroy(struct vm *vm)
{
	if (vm == NULL)
		return;
	vm_record_stop(vm);
	vm_replay_stop(vm);
	/* Timers first: their functions touch devices and vCPUs. */
	vm_callouts_cleanup(vm);
	vm_platform_cleanup(vm);
	for (int i = 0; i < VM_MAXCPU; i++) {
		if (vm->vcpus[i] == NULL)
			continue;
		vlapic_cleanup(vm->vcpus[i]);
		vm->engine->vcpu_cleanup(vm->vcpus[i]->cookie);
		pthread_mutex_destroy(&vm->vcpus[i]->mtx);
		pthread_cond_destroy(&vm->vcpus[i]->cv);
		free(vm->vcpus[i]);
	}
	for (int slot = 0; slot < VM_MAX_MEMMAP; slot++)
		if (vm->memmaps[slot].segid >= 0)
			vm->engine->mem_unmap(vm->cookie, slot);
	vm->engine->vm_cleanup(vm->cookie);
	vm_sched_cleanup(vm);
	vm_cpuid_cleanup(vm);
	vm_dma_cleanup(vm);
	vm_mem_cleanup(vm);
	free(vm);
}

const char *
vm_name(const struct vm *vm)
{
	return vm->name;
}

int
vm_set_idle_skip(struct vm *vm, bool on)
{
	vm->idle_skip = on;
	return 0;
}

int
vm_set_jit(struct vm *vm, bool on)
{
	if (vm->engine->set_jit == NULL)
		return ENOTSUP;
	return vm->engine->set_jit(vm->cookie, on);
}

bool
vm_virtual_time(const struct vm *vm)
{
	return vm->virtual_time;
}

bool
vm_data_breakpoints(const struct vm *vm)
{
	return vm->engine->data_breakpoints;
}

const char *
vm_engine_name(const struct vm *vm)
{
	return vm->engine->name;
}

int
vm_vcpu_create(struct vm *vm, int id, struct vcpu **vcpup)
{
	struct vcpu *vcpu;
	int error;

	if (id < 0 || id >= VM_MAXCPU)
		return EINVAL;
	if (vm->vcpus[id] != NULL)
		return EEXIST;
	vcpu = calloc(1, sizeof(*vcpu));
	if (vcpu == NULL)
		return ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	pthread_mutex_init(&vcpu->mtx, NULL);
	pthread_cond_init(&vcpu->cv, NULL);
	callout_init(vm, &vcpu->window_kick);
	/* The BSP runs at once; APs wait for INIT-SIPI-SIPI, as on hardware. */
	vcpu->parked = id != 0;
	vcpu->sipi_vector = -1;
	error = vm->engine->vcpu_init(vm->cookie, vcpu, id, &vcpu->cookie);
	if (error == 0 && (error = vm_cpuid_vcpu_init(vcpu)) != 0)
		vm->engine->vcpu_cleanup(vcpu->cookie);
	if (error == 0) {
		error = vlapic_init(vcpu);
		if (error != 0)
			vm->engine->vcpu_cleanup(vcpu->cookie);
	}
	if (error != 0) {
		pthread_mutex_destroy(&vcpu->mtx);
		pthread_cond_destroy(&vcpu->cv);
		free(vcpu);
		return error;
	}
	vm->vcpus[id] = vcpu;
	/* A parked AP is idle before its thread even gets to the wait. */
	if (vcpu->parked)
		atomic_fetch_or(&vm->idle_cpus, 1ULL << id);
	if (vcpup != NULL)
		*vcpup = vcpu;
	return 0;
}

struct vcpu *
vm_vcpu(struct vm *vm, int id)
{
	if (id < 0 || id >= VM_MAXCPU)
		return NULL;
	return vm->vcpus[id];
}

int
vm_vcpu_count(const struct vm *vm)
{
	int n = 0;

	for (int i = 0; i < VM_MAXCPU; i++)
		n += vm->vcpus[i] != NULL;
	return n;
}

int
vcpu_id(const struct vcpu *vcpu)
{
	return vcpu->id;
}

struct vm *
vcpu_vm(struct vcpu *vcpu)
{
	return vcpu->vm;
}

static bool
is_segment_reg(int reg)
{
	return reg >= VM_REG_GUEST_ES && reg <= VM_REG_GUEST_GDTR;
}

/* Segment registers go through vm_get_register() as their selector. */
static bool
is_register(int reg)
{
	return reg >= 0 && reg < VM_REG_LAST && reg != VM_REG_GUEST_IDTR &&
	       reg != VM_REG_GUEST_GDTR;
}

int
vm_get_register(struct vcpu *vcpu, int reg, uint64_t *val)
{
	if (!is_register(reg))
		return EINVAL;
	return vcpu->vm->engine->getreg(vcpu->cookie, reg, val);
}

int
vm_set_register(struct vcpu *vcpu, int reg, uint64_t val)
{
	if (!is_register(reg) || (is_segment_reg(reg) && val > 0xffff))
		return EINVAL;
	return vcpu->vm->engine->setreg(vcpu->cookie, reg, val);
}

int
vm_get_seg_desc(struct vcpu *vcpu, int reg, struct seg_desc *desc)
{
	if (!is_segment_reg(reg))
		return EINVAL;
	return vcpu->vm->engine->getdesc(vcpu->cookie, reg, desc);
}

int
vm_set_seg_desc(struct vcpu *vcpu, int reg, const struct seg_desc *desc)
{
	if (!is_segment_reg(reg))
		return EINVAL;
	return vcpu->vm->engine->setdesc(vcpu->cookie, reg, desc);
}

int
vm_get_msr(struct vcpu *vcpu, uint32_t msr, uint64_t *val)
{
	return vcpu->vm->engine->getmsr(vcpu->cookie, msr, val);
}

int
vm_set_msr(struct vcpu *vcpu, uint32_t msr, uint64_t val)
{
	return vcpu->vm->engine->setmsr(vcpu->cookie, msr, val);
}

int
vm_get_fpu(struct vcpu *vcpu, struct vm_fpu *fpu)
{
	if (vcpu->vm->engine->getfpu == NULL)
		return ENOTSUP;
	return vcpu->vm->engine->getfpu(vcpu->cookie, fpu);
}

int
vm_set_fpu(struct vcpu *vcpu, const struct vm_fpu *fpu)
{
	if (vcpu->vm->engine->setfpu == NULL)
		return ENOTSUP;
	return vcpu->vm->engine->setfpu(vcpu->cookie, fpu);
}

int
vm_set_guest_debug(struct vcpu *vcpu, const struct vm_guest_debug *dbg)
{
	int error;

	/* A replay shares the debug registers with the debugger. */
	if (vcpu->vm->replayer != NULL)
		return vm_replay_set_debug(vcpu, dbg);
	error = vcpu->vm->engine->set_debug(vcpu->cookie, dbg);

	if (error == 0)
		vcpu->debug_step = dbg->enable && dbg->singlestep;
	return error;
}

static bool
exit_is_write(const struct vm_exit *vmexit)
{
	return (vmexit->exitcode == VM_EXITCODE_INOUT && !vmexit->u.inout.in) ||
	       (vmexit->exitcode == VM_EXITCODE_MMIO && vmexit->u.mmio.write);
}

/*
 * An MSR exit: the local APIC's MSRs are kmod's (an access the CPU would
 * refuse gets #GP); the others are the monitor's.
 */
static bool
vm_msr_emulate(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	bool write = vmexit->exitcode == VM_EXITCODE_WRMSR;
	uint32_t msr = vmexit->u.msr.msr;
	int error;

	if (!vlapic_owns_msr(msr))
		return false;
	error = write ? vlapic_wrmsr(vcpu, msr, vmexit->u.msr.value)
		      : vlapic_rdmsr(vcpu, msr, &vmexit->u.msr.value);
	if (error != 0) {
		vm_inject_exception(vcpu, X86_VEC_GP, true, 0);
	} else if (vcpu->vm->replayer == NULL) {
		vm_record_msr(vcpu, write, msr, vmexit->u.msr.value);
	} else if (vm_replay_msr(vcpu, write, msr, &vmexit->u.msr.value) != 0) {
		vm_replay_diverged_exit(vcpu, vmexit);
		return false;
	}
	return true;
}

/*
 * RDRAND/RDSEED: random bits from the host (getrandom(2): the entropy a
 * hardware RNG would give), recorded; a replay gives the recorded ones.
 */
static bool
vm_random_emulate(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	uint64_t v = 0;
	size_t n = vmexit->u.random.bytes;
	int error = 0;

	if (vcpu->vm->replayer != NULL) {
		if (vm_replay_random(vcpu, vmexit) == 0)
			return true;
		vm_replay_diverged_exit(vcpu, vmexit);
		return false;
	}
	if (n > sizeof(v))
		error = EINVAL;
	else
		while (getrandom(&v, n, 0) != (ssize_t)n &&
		       (error = errno) == EINTR)
			error = 0;
	if (error != 0) {
		/* The monitor sees an engine error, with the reason. */
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
		snprintf(vmexit->u.error.msg, sizeof(vmexit->u.error.msg),
			 "no random bits for RDRAND: %s", strerror(error));
		return false;
	}
	vmexit->u.random.value = v;
	vm_record_random(vcpu, vmexit);
	return true;
}

/*
 * An access is complete (the value the guest gets is known): record it, or
 * when replaying compare it with the recording and give the guest the
 * recorded value.  -1: the replay diverged, and the exit is now an error.
 */
static int
exit_access_done(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	if (vcpu->vm->replayer == NULL) {
		vm_record_access(vcpu, vmexit);
		return 0;
	}
	if (vm_replay_access(vcpu, vmexit) == 0)
		return 0;
	vm_replay_diverged_exit(vcpu, vmexit);
	return -1;
}

/* The exits kmod handles itself; true: go back into the guest. */
static bool
vm_exit_handled(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	switch (vmexit->exitcode) {
	case VM_EXITCODE_INOUT:
		if (vm_ioport_emulate(vcpu, vmexit) != 1)
			return false;
		return exit_access_done(vcpu, vmexit) == 0;
	case VM_EXITCODE_MMIO:
		if (vm_iomem_emulate(vcpu, vmexit) != 1)
			return false;
		return exit_access_done(vcpu, vmexit) == 0;
	case VM_EXITCODE_HLT:
		/* A replay knows what wakes it: the trace's next event. */
		if (vcpu->vm->replayer != NULL)
			return true;
		if (vmexit->u.hlt.rflags & PSL_I) {
			vm_handle_hlt(vcpu);
		} else {
			/* Only an NMI or INIT wakes it: vcpu_wait_idle(). */
			pthread_mutex_lock(&vcpu->mtx);
			vcpu->hlt_intr_off = true;
			pthread_mutex_unlock(&vcpu->mtx);
		}
		return true;
	case VM_EXITCODE_RDMSR:
	case VM_EXITCODE_WRMSR:
		return vm_msr_emulate(vcpu, vmexit);
	case VM_EXITCODE_RANDOM:
		return vm_random_emulate(vcpu, vmexit);
	case VM_EXITCODE_BOGUS:
		/* A kick for an interrupt, or for the monitor? */
		return !atomic_exchange(&vcpu->exit_request, false);
	default:
		return false;
	}
}

/* ---- SMP bring-up: INIT and SIPI ------------------------------------ */

/*
 * The register state after INIT (Intel SDM 9.1.1, table 9-1), with CS:IP
 * as given: F000:FFF0 with base FFFF0000 after INIT, (vector << 8):0000
 * with base vector << 12 after a SIPI.  INIT leaves the MSRs, x87/SSE
 * state and caches alone, as hardware does; KVM keeps its own.
 */
static int
vcpu_set_init_state(struct vcpu *vcpu, uint16_t cs_sel, uint64_t cs_base,
		    uint64_t rip)
{
	static const struct {
		int reg;
		uint64_t val;
	} regs[] = {
		{ VM_REG_GUEST_RFLAGS, PSL_1 },
		{ VM_REG_GUEST_CR0, CR0_CD | CR0_NW | CR0_ET },
		{ VM_REG_GUEST_CR2, 0 },
		{ VM_REG_GUEST_CR3, 0 },
		{ VM_REG_GUEST_CR4, 0 },
		{ VM_REG_GUEST_CR8, 0 },
		{ VM_REG_GUEST_EFER, 0 },
		{ VM_REG_GUEST_DR0, 0 },
		{ VM_REG_GUEST_DR1, 0 },
		{ VM_REG_GUEST_DR2, 0 },
		{ VM_REG_GUEST_DR3, 0 },
		{ VM_REG_GUEST_DR6, 0xffff0ff0 },
		{ VM_REG_GUEST_DR7, 0x400 },
		{ VM_REG_GUEST_INTR_SHADOW, 0 },
	};
	const uint32_t data = SEG_ACC_TYPE(SDT_MEMRWA) | SEG_ACC_S | SEG_ACC_P;
	struct seg_desc d = { .base = cs_base,
			      .limit = 0xffff,
			      .access = SEG_ACC_TYPE(SDT_MEMERA) | SEG_ACC_S |
					SEG_ACC_P };
	int error = 0;

	for (int r = VM_REG_GUEST_RAX; r <= VM_REG_GUEST_R15; r++)
		error = error ? error : vm_set_register(vcpu, r, 0);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		error = error ? error
			      : vm_set_register(vcpu, regs[i].reg, regs[i].val);
	/* EDX holds the processor signature, as CPUID leaf 1 EAX. */
	error = error ? error
		      : vm_set_register(vcpu, VM_REG_GUEST_RDX,
					vm_cpuid_signature(vcpu));
	error = error ? error : vm_set_register(vcpu, VM_REG_GUEST_RSP, 0);
	error = error ? error : vm_set_register(vcpu, VM_REG_GUEST_RIP, rip);
	error = error ? error : vm_set_seg_desc(vcpu, VM_REG_GUEST_CS, &d);
	error = error ? error : vm_set_register(vcpu, VM_REG_GUEST_CS, cs_sel);
	/* Data segments: selector 0, base 0, 64 KiB, read/write. */
	d = (struct seg_desc){ .base = 0, .limit = 0xffff, .access = data };
	for (int r = VM_REG_GUEST_ES; r <= VM_REG_GUEST_GS; r++) {
		if (r == VM_REG_GUEST_CS)
			continue;
		error = error ? error : vm_set_seg_desc(vcpu, r, &d);
		error = error ? error : vm_set_register(vcpu, r, 0);
	}
	d.access = SEG_ACC_TYPE(SDT_SYSLDT) | SEG_ACC_P;
	error = error ? error : vm_set_seg_desc(vcpu, VM_REG_GUEST_LDTR, &d);
	error = error ? error : vm_set_register(vcpu, VM_REG_GUEST_LDTR, 0);
	/* A busy TSS, not the SDM's 16-bit one: VMX refuses that type. */
	d.access = SEG_ACC_TYPE(SDT_SYSBSY) | SEG_ACC_P;
	error = error ? error : vm_set_seg_desc(vcpu, VM_REG_GUEST_TR, &d);
	error = error ? error : vm_set_register(vcpu, VM_REG_GUEST_TR, 0);
	d.access = 0;
	error = error ? error : vm_set_seg_desc(vcpu, VM_REG_GUEST_GDTR, &d);
	error = error ? error : vm_set_seg_desc(vcpu, VM_REG_GUEST_IDTR, &d);
	return error;
}

void
vm_vcpu_init_signal(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->init_pending = true;
	vcpu->sipi_vector = -1; /* only a SIPI after this INIT counts */
	vm_vcpu_not_idle(vcpu);
	pthread_mutex_unlock(&vcpu->mtx);
	vcpu_notify_event(vcpu);
}

void
vm_vcpu_sipi(struct vcpu *vcpu, int vector)
{
	bool wake;

	if (vector < 0 || vector > 0xff)
		return;
	pthread_mutex_lock(&vcpu->mtx);
	/*
	 * Only a vCPU waiting for a SIPI takes one, and only the first:
	 * the second SIPI of INIT-SIPI-SIPI finds it running and is ignored.
	 */
	wake = (vcpu->parked || vcpu->init_pending) && vcpu->sipi_vector < 0;
	if (wake) {
		vcpu->sipi_vector = vector;
		vm_vcpu_not_idle(vcpu);
	}
	pthread_mutex_unlock(&vcpu->mtx);
	if (wake)
		vcpu_notify_event(vcpu);
}

void
vm_vcpu_not_idle(struct vcpu *vcpu)
{
	atomic_fetch_and(&vcpu->vm->idle_cpus, ~(1ULL << vcpu->id));
}

static uint64_t
vm_active_cpus(const struct vm *vm)
{
	uint64_t mask = 0;

	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i] != NULL)
			mask |= 1ULL << i;
	return mask;
}

/*
 * The vCPU goes to sleep with nothing pending that could wake it.  If it
 * is the last one awake, nothing ever will: the VM halts for good, as
 * bhyve's vm_handle_hlt() suspends the VM once every active vCPU halted
 * with interrupts off.  A waker clears the bit (vm_vcpu_not_idle()) as it
 * makes its event pending, so a vCPU woken but not yet running never
 * counts as idle; each vCPU that sets its bit looks at all of them, so
 * the last one to go idle sees it.  True: the VM is to be suspended.
 */
static bool
vcpu_go_idle(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	uint64_t bit = 1ULL << vcpu->id, was;

	was = atomic_fetch_or(&vm->idle_cpus, bit);
	return !(was & bit) && (was | bit) == vm_active_cpus(vm);
}

/*
 * Called by the vCPU's own thread before each entry (registers belong to
 * it): take a pending INIT, and sleep while in the wait-for-SIPI state
 * until a SIPI starts the vCPU, or while halted with interrupts off
 * until an NMI or INIT (rhyve raises no SMI).  Returns -1 with *vmexit
 * filled in when vm_run() must return instead (the VM is suspended, or
 * vm_vcpu_kick() wants the monitor: the vCPU goes on sleeping at the
 * next vm_run()), 0 to enter the guest, or an errno.
 */
static int
vcpu_wait_idle(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm *vm = vcpu->vm;
	enum vm_suspend_how how = VM_SUSPEND_NONE;
	int vector = -1, error, ret = 0;
	bool init;

	pthread_mutex_lock(&vcpu->mtx);
	init = false;
	for (;;) {
		if (vcpu->init_pending) {
			/* INIT drops what was pending and parks the vCPU. */
			init = true;
			vcpu->init_pending = false;
			vcpu->parked = true;
			vcpu->hlt_intr_off = false;
			vcpu->nmi_pending = false;
			vcpu->extint_pending = false;
		}
		if (vcpu->hlt_intr_off && vcpu->nmi_pending) {
			/* The NMI is injected on this entry. */
			vcpu->hlt_intr_off = false;
			break;
		}
		if (!vcpu->parked && !vcpu->hlt_intr_off)
			break;
		if (vcpu->parked && vcpu->sipi_vector >= 0) {
			vector = vcpu->sipi_vector;
			vcpu->sipi_vector = -1;
			vcpu->parked = false;
			break;
		}
		how = atomic_load(&vm->suspend);
		if (how != VM_SUSPEND_NONE ||
		    atomic_exchange(&vcpu->exit_request, false)) {
			ret = -1;
			break;
		}
		if (vcpu_go_idle(vcpu)) {
			/* vm_suspend() kicks every vCPU, this one too. */
			pthread_mutex_unlock(&vcpu->mtx);
			vm_suspend(vm, VM_SUSPEND_HALT);
			pthread_mutex_lock(&vcpu->mtx);
			continue;
		}
		if (vm->sched == NULL) {
			pthread_cond_wait(&vcpu->cv, &vcpu->mtx);
			continue;
		}
		/* Asleep before the lock goes: no wake-up is lost. */
		vm_sched_mark_asleep(vcpu);
		pthread_mutex_unlock(&vcpu->mtx);
		error = vm_sched_sleep(vcpu);
		pthread_mutex_lock(&vcpu->mtx);
		if (error == ESRCH) {
			/* A replay whose trace has the vCPU awake. */
			pthread_mutex_unlock(&vcpu->mtx);
			vm_replay_diverged_exit(vcpu, vmexit);
			return -1;
		}
		if (error != 0) {
			/* Left without its turn: the monitor's, or the end. */
			how = atomic_load(&vm->suspend);
			if (how == VM_SUSPEND_NONE)
				atomic_exchange(&vcpu->exit_request, false);
			ret = -1;
			break;
		}
	}
	vm_vcpu_not_idle(vcpu);
	pthread_mutex_unlock(&vcpu->mtx);

	if (init) {
		vm_record_inject(vcpu, TRACE_INJECT_INIT, 0, false, 0);
		error = vcpu_set_init_state(vcpu, 0xf000, 0xffff0000, 0xfff0);
		if (error != 0)
			return error;
	}
	if (vector >= 0) {
		vm_record_inject(vcpu, TRACE_INJECT_SIPI, vector, false, 0);
		error = vcpu_set_init_state(vcpu, (uint16_t)(vector << 8),
					    (uint64_t)vector << 12, 0);
		if (error != 0)
			return error;
	}
	if (ret < 0) {
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = how != VM_SUSPEND_NONE
				       ? VM_EXITCODE_SUSPENDED
				       : VM_EXITCODE_BOGUS;
		vmexit->u.suspended.how = how;
	}
	return ret;
}

/*
 * Before an entry: inject what is pending, or when replaying what the
 * trace says.  Returns 0 to enter the guest, 1 when *vmexit already holds
 * the next exit (replay), 2 to look at the VM's state again (the replay
 * reached the trace's end), 3 to return *vmexit to the monitor (a
 * restarted replay reached its point), -1 when the replay diverged
 * (*vmexit is the error).
 */
static int
vm_before_entry(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	int rc;

	if (vcpu->vm->replayer == NULL) {
		/*
		 * A debugger's single step runs with interrupts held back
		 * (they stay pending), so that it lands on the next
		 * instruction and not in an interrupt handler.
		 */
		vm_dma_flush(vcpu);
		if (!vcpu->debug_step)
			vm_inject_pending(vcpu);
		return 0;
	}
	rc = vm_replay_before_entry(vcpu, vmexit);
	if (rc < 0)
		vm_replay_diverged_exit(vcpu, vmexit);
	return rc;
}

/*
 * One vCPU at a time (vmm_sched.c): the vCPU left without its turn (the
 * VM is suspended, or the monitor wants it): the exit that says so.
 */
static void
sched_left(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	enum vm_suspend_how how = atomic_load(&vcpu->vm->suspend);

	memset(vmexit, 0, sizeof(*vmexit));
	vmexit->exitcode =
	    how != VM_SUSPEND_NONE ? VM_EXITCODE_SUSPENDED : VM_EXITCODE_BOGUS;
	vmexit->u.suspended.how = how;
	if (how == VM_SUSPEND_NONE)
		atomic_exchange(&vcpu->exit_request, false);
}

static int
vm_run_loop(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm *vm = vcpu->vm;
	int error, rc;

	for (;;) {
		enum vm_suspend_how how;

		/* Its turn first: everything below is in the run's order. */
		if (vm->sched != NULL && !vm_sched_has_turn(vcpu) &&
		    vm_sched_acquire(vcpu) != 0) {
			sched_left(vcpu, vmexit);
			return 0;
		}
		how = atomic_load(&vm->suspend);

		/* The monitor has completed the last exit's access. */
		if (vcpu->record_pending) {
			vcpu->record_pending = false;
			if (exit_access_done(vcpu, vmexit) != 0)
				return 0;
		}

		if (how != VM_SUSPEND_NONE) {
			memset(vmexit, 0, sizeof(*vmexit));
			vmexit->exitcode = VM_EXITCODE_SUSPENDED;
			vmexit->u.suspended.how = how;
			return 0;
		}
		if (vm->recorder != NULL)
			vm_record_maybe_checkpoint(vcpu, vmexit);
		/* Virtual time: the timers due run here, between exits. */
		if (vm->virtual_time)
			vm_callouts_run_due(vm);
		/* The end of its turn, or (replaying) where the trace's is. */
		if (vm->sched != NULL && (rc = vm_sched_point(vcpu)) != 0) {
			if (rc < 0)
				vm_replay_diverged_exit(vcpu, vmexit);
			else
				sched_left(vcpu, vmexit);
			return 0;
		}
		error = vcpu_wait_idle(vcpu, vmexit);
		if (error != 0)
			return error > 0 ? error : 0;
		rc = vm_before_entry(vcpu, vmexit);
		if (rc < 0 || rc == 3)
			return 0;
		if (rc == 2)
			continue;
		if (rc == 0) {
			error = vm->engine->run(vcpu->cookie, vmexit);
			if (error != 0)
				return error;
			/* Completed by the next entry (for checkpoints). */
			vcpu->insn_pending =
			    vmexit->exitcode == VM_EXITCODE_INOUT ||
			    vmexit->exitcode == VM_EXITCODE_MMIO ||
			    vmexit->exitcode == VM_EXITCODE_RDMSR ||
			    vmexit->exitcode == VM_EXITCODE_WRMSR ||
			    vmexit->exitcode == VM_EXITCODE_RANDOM;
			rc = vm->replayer != NULL
				 ? vm_replay_filter(vcpu, vmexit)
				 : 0;
			if (rc == 1)
				continue;
			if (rc == 2)
				return 0; /* the monitor's, not the recording's
					   */
		}
		/* The instruction behind I/O exits, checked, for everyone. */
		if (!vmexit->has_insn &&
		    (vmexit->exitcode == VM_EXITCODE_INOUT ||
		     vmexit->exitcode == VM_EXITCODE_MMIO) &&
		    (error = vm_exit_decode(vcpu, vmexit)) != 0)
			return error;
		if (vm->replayer == NULL) {
			vm_record_exit(vcpu, vmexit);
		} else if (vm_replay_exit(vcpu, vmexit) != 0) {
			vm_replay_diverged_exit(vcpu, vmexit);
			return 0;
		}
		if (!vm_exit_handled(vcpu, vmexit)) {
			/*
			 * A write is complete now; a read once the monitor
			 * has filled in the value (the next vm_run()).
			 */
			if (exit_is_write(vmexit))
				exit_access_done(vcpu, vmexit);
			else
				vcpu->record_pending =
				    vmexit->exitcode == VM_EXITCODE_INOUT ||
				    vmexit->exitcode == VM_EXITCODE_MMIO;
			return 0;
		}
	}
}

int
vm_run(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	int error;

	vm_sched_enter(vcpu);
	error = vm_run_loop(vcpu, vmexit);

	/*
	 * Out to the monitor for a debugger, a kick or the end: the turn
	 * goes on without this vCPU (it may be held there).  An exit the
	 * monitor serves keeps it: devices run in the run's order too.
	 */
	if (vcpu->vm->sched != NULL &&
	    (error != 0 || vmexit->exitcode == VM_EXITCODE_BOGUS ||
	     vmexit->exitcode == VM_EXITCODE_DEBUG ||
	     vmexit->exitcode == VM_EXITCODE_SUSPENDED ||
	     vmexit->exitcode == VM_EXITCODE_ENGINE_ERROR))
		vm_sched_leave(vcpu);
	return error;
}

void
vm_vcpu_hold(struct vcpu *vcpu)
{
	vm_sched_leave(vcpu);
}

void
vm_vcpu_kick(struct vcpu *vcpu)
{
	atomic_store(&vcpu->exit_request, true);
	vcpu_notify_event(vcpu);
}

int
vm_suspend(struct vm *vm, enum vm_suspend_how how)
{
	int none = VM_SUSPEND_NONE;

	if (how <= VM_SUSPEND_NONE || how >= VM_SUSPEND_LAST)
		return EINVAL;
	if (!atomic_compare_exchange_strong(&vm->suspend, &none, how))
		return EALREADY;
	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i] != NULL)
			vm_vcpu_kick(vm->vcpus[i]);
	return 0;
}

enum vm_suspend_how
vm_suspended(const struct vm *vm)
{
	return atomic_load(&vm->suspend);
}

const char *
vm_exitcode_name(enum vm_exitcode code)
{
	static const char *const names[VM_EXITCODE_MAX] = {
		[VM_EXITCODE_INOUT] = "inout",
		[VM_EXITCODE_MMIO] = "mmio",
		[VM_EXITCODE_HLT] = "hlt",
		[VM_EXITCODE_SUSPENDED] = "suspended",
		[VM_EXITCODE_BOGUS] = "bogus",
		[VM_EXITCODE_DEBUG] = "debug",
		[VM_EXITCODE_ENGINE_ERROR] = "engine-error",
		[VM_EXITCODE_RDMSR] = "rdmsr",
		[VM_EXITCODE_WRMSR] = "wrmsr",
		[VM_EXITCODE_RANDOM] = "random",
	};

	if ((unsigned)code >= VM_EXITCODE_MAX || names[code] == NULL)
		return "unknown";
	return names[code];
}

const char *
vm_reg_name(int reg)
{
	static const char *const names[VM_REG_LAST] = {
		"rax",  "rbx",  "rcx",  "rdx",    "rsi",         "rdi",
		"rbp",  "r8",   "r9",   "r10",    "r11",         "r12",
		"r13",  "r14",  "r15",  "cr0",    "cr3",         "cr4",
		"dr7",  "rsp",  "rip",  "rflags", "es",          "cs",
		"ss",   "ds",   "fs",   "gs",     "ldtr",        "tr",
		"idtr", "gdtr", "efer", "cr2",    "cr8",         "dr0",
		"dr1",  "dr2",  "dr3",  "dr6",    "intr_shadow", "icount",
		"xcr0",
	};

	if (reg < 0 || reg >= VM_REG_LAST)
		return "unknown";
	return names[reg];
}

const int vm_point_regs[VM_POINT_NREGS] = {
	VM_REG_GUEST_RAX, VM_REG_GUEST_RBX, VM_REG_GUEST_RCX,
	VM_REG_GUEST_RDX, VM_REG_GUEST_RSI, VM_REG_GUEST_RDI,
	VM_REG_GUEST_RBP, VM_REG_GUEST_RSP, VM_REG_GUEST_R8,
	VM_REG_GUEST_R9,  VM_REG_GUEST_R10, VM_REG_GUEST_R11,
	VM_REG_GUEST_R12, VM_REG_GUEST_R13, VM_REG_GUEST_R14,
	VM_REG_GUEST_R15, VM_REG_GUEST_RIP, VM_REG_GUEST_RFLAGS,
	VM_REG_GUEST_CR0, VM_REG_GUEST_CR3, VM_REG_GUEST_CR4,
};

/* The devices every VM has, as bhyve creates them with the VM. */
int
vm_platform_init(struct vm *vm)
{
	int error;

	if ((error = vatpic_init(vm)) != 0 || (error = vatpit_init(vm)) != 0 ||
	    (error = vpmtmr_init(vm)) != 0 || (error = vrtc_init(vm)) != 0 ||
	    (error = vhpet_init(vm)) != 0 || (error = vioapic_init(vm)) != 0)
		return error;
	return 0;
}

void
vm_platform_cleanup(struct vm *vm)
{
	vioapic_cleanup(vm);
	vhpet_cleanup(vm);
	vrtc_cleanup(vm);
	vpmtmr_cleanup(vm);
	vatpit_cleanup(vm);
	vatpic_cleanup(vm);
}

/* As bhyve's: the 8259 pair first, then the I/O APIC's pin. */
int
vm_isa_assert_irq(struct vm *vm, int atpic_irq, int ioapic_irq)
{
	int error = atpic_irq >= 0 ? vatpic_assert_irq(vm, atpic_irq) : 0;

	if (error == 0 && ioapic_irq >= 0)
		error = vm_ioapic_assert_irq(vm, ioapic_irq);
	return error;
}

int
vm_isa_deassert_irq(struct vm *vm, int atpic_irq, int ioapic_irq)
{
	int error = atpic_irq >= 0 ? vatpic_deassert_irq(vm, atpic_irq) : 0;

	if (error == 0 && ioapic_irq >= 0)
		error = vm_ioapic_deassert_irq(vm, ioapic_irq);
	return error;
}

int
vm_isa_pulse_irq(struct vm *vm, int atpic_irq, int ioapic_irq)
{
	int error = atpic_irq >= 0 ? vatpic_pulse_irq(vm, atpic_irq) : 0;

	if (error == 0 && ioapic_irq >= 0)
		error = vm_ioapic_pulse_irq(vm, ioapic_irq);
	return error;
}
