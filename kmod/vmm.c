/*
 * The VM and its vCPUs: life cycle, register access and vm_run(), on top of
 * the engine the VM was created with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_impl.h"
#include "io/vio.h"

static const struct vmm_engine *const vmm_engines[] = {
	&vmm_engine_kvm,
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
	vm->clock_base = vm_clock_ns(vm); /* clock_base is 0 here */
	error = eng->vm_init(vm, &vm->cookie, errbuf, errlen);
	if (error != 0) {
		vm_mem_cleanup(vm);
		free(vm);
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
	*vmp = vm;
	return 0;
}

void
vm_destroy(struct vm *vm)
{
	if (vm == NULL)
		return;
	vm_record_stop(vm);
	/* Timers first: their functions touch devices and vCPUs. */
	vm_callouts_cleanup(vm);
	vm_platform_cleanup(vm);
	for (int i = 0; i < VM_MAXCPU; i++) {
		if (vm->vcpus[i] == NULL)
			continue;
		vm->engine->vcpu_cleanup(vm->vcpus[i]->cookie);
		pthread_mutex_destroy(&vm->vcpus[i]->mtx);
		pthread_cond_destroy(&vm->vcpus[i]->cv);
		free(vm->vcpus[i]);
	}
	for (int slot = 0; slot < VM_MAX_MEMMAP; slot++)
		if (vm->memmaps[slot].segid >= 0)
			vm->engine->mem_unmap(vm->cookie, slot);
	vm->engine->vm_cleanup(vm->cookie);
	vm_mem_cleanup(vm);
	free(vm);
}

const char *
vm_name(const struct vm *vm)
{
	return vm->name;
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
	error = vm->engine->vcpu_init(vm->cookie, vcpu, id, &vcpu->cookie);
	if (error != 0) {
		pthread_mutex_destroy(&vcpu->mtx);
		pthread_cond_destroy(&vcpu->cv);
		free(vcpu);
		return error;
	}
	vm->vcpus[id] = vcpu;
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

static bool
exit_is_write(const struct vm_exit *vmexit)
{
	return (vmexit->exitcode == VM_EXITCODE_INOUT && !vmexit->u.inout.in) ||
	       (vmexit->exitcode == VM_EXITCODE_MMIO && vmexit->u.mmio.write);
}

/* The exits kmod handles itself; true: go back into the guest. */
static bool
vm_exit_handled(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	switch (vmexit->exitcode) {
	case VM_EXITCODE_INOUT:
		if (vm_ioport_emulate(vcpu, vmexit) != 1)
			return false;
		vm_record_access(vcpu, vmexit);
		return true;
	case VM_EXITCODE_MMIO:
		if (vm_iomem_emulate(vcpu, vmexit) != 1)
			return false;
		vm_record_access(vcpu, vmexit);
		return true;
	case VM_EXITCODE_HLT:
		/* With interrupts masked nothing wakes it: the monitor's. */
		if (!(vmexit->u.hlt.rflags & (1u << 9)))
			return false;
		vm_handle_hlt(vcpu);
		return true;
	case VM_EXITCODE_BOGUS:
		/* A kick for an interrupt, or for the monitor? */
		return !atomic_exchange(&vcpu->exit_request, false);
	default:
		return false;
	}
}

int
vm_run(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm *vm = vcpu->vm;
	int error;

	for (;;) {
		enum vm_suspend_how how = atomic_load(&vm->suspend);

		/* The monitor has completed the last exit's access. */
		if (vcpu->record_pending) {
			vm_record_access(vcpu, vmexit);
			vcpu->record_pending = false;
		}

		if (how != VM_SUSPEND_NONE) {
			memset(vmexit, 0, sizeof(*vmexit));
			vmexit->exitcode = VM_EXITCODE_SUSPENDED;
			vmexit->u.suspended.how = how;
			return 0;
		}
		vm_inject_pending(vcpu);
		error = vm->engine->run(vcpu->cookie, vmexit);
		/* The instruction behind I/O exits, checked, for everyone. */
		if (error == 0 && !vmexit->has_insn &&
		    (vmexit->exitcode == VM_EXITCODE_INOUT ||
		     vmexit->exitcode == VM_EXITCODE_MMIO))
			error = vm_exit_decode(vcpu, vmexit);
		if (error != 0)
			return error;
		vm_record_exit(vcpu, vmexit);
		if (!vm_exit_handled(vcpu, vmexit)) {
			/*
			 * A write is complete now; a read once the monitor
			 * has filled in the value (the next vm_run()).
			 */
			if (exit_is_write(vmexit))
				vm_record_access(vcpu, vmexit);
			else
				vcpu->record_pending =
				    vmexit->exitcode == VM_EXITCODE_INOUT ||
				    vmexit->exitcode == VM_EXITCODE_MMIO;
			return 0;
		}
	}
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
	};

	if ((unsigned)code >= VM_EXITCODE_MAX || names[code] == NULL)
		return "unknown";
	return names[code];
}

const char *
vm_reg_name(int reg)
{
	static const char *const names[VM_REG_LAST] = {
		"rax",    "rbx", "rcx",  "rdx",  "rsi",  "rdi",         "rbp",
		"r8",     "r9",  "r10",  "r11",  "r12",  "r13",         "r14",
		"r15",    "cr0", "cr3",  "cr4",  "dr7",  "rsp",         "rip",
		"rflags", "es",  "cs",   "ss",   "ds",   "fs",          "gs",
		"ldtr",   "tr",  "idtr", "gdtr", "efer", "cr2",         "cr8",
		"dr0",    "dr1", "dr2",  "dr3",  "dr6",  "intr_shadow",
	};

	if (reg < 0 || reg >= VM_REG_LAST)
		return "unknown";
	return names[reg];
}

/* The devices every VM has, as bhyve creates them with the VM. */
int
vm_platform_init(struct vm *vm)
{
	int error;

	if ((error = vatpic_init(vm)) != 0 || (error = vatpit_init(vm)) != 0 ||
	    (error = vpmtmr_init(vm)) != 0 || (error = vrtc_init(vm)) != 0 ||
	    (error = vhpet_init(vm)) != 0)
		return error;
	return 0;
}

void
vm_platform_cleanup(struct vm *vm)
{
	vhpet_cleanup(vm);
	vrtc_cleanup(vm);
	vpmtmr_cleanup(vm);
	vatpit_cleanup(vm);
	vatpic_cleanup(vm);
}

int
vm_isa_assert_irq(struct vm *vm, int atpic_irq, int ioapic_irq)
{
	return atpic_irq >= 0 ? vatpic_assert_irq(vm, atpic_irq) : 0;
}

int
vm_isa_deassert_irq(struct vm *vm, int atpic_irq, int ioapic_irq)
{
	return atpic_irq >= 0 ? vatpic_deassert_irq(vm, atpic_irq) : 0;
}

int
vm_isa_pulse_irq(struct vm *vm, int atpic_irq, int ioapic_irq)
{
	return atpic_irq >= 0 ? vatpic_pulse_irq(vm, atpic_irq) : 0;
}
