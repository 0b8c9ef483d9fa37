/*
 * kmod's private view: the VM and vCPU structures and the engine interface.
 * Only files under kmod/ include this; everyone else uses vmm.h.
 */
#ifndef RHYVE_KMOD_VMM_IMPL_H
#define RHYVE_KMOD_VMM_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "vmm.h"

/*
 * An execution engine, as bhyve's vmm_ops.  Engine state hangs off opaque
 * cookies; registers are addressed by enum vm_reg_name.
 */
struct vmm_engine {
	const char *name;
	int (*vm_init)(struct vm *vm, void **cookiep, char *errbuf,
		       size_t errlen);
	void (*vm_cleanup)(void *cookie);
	/* Map host memory at a guest-physical range, in memory slot 'slot'. */
	int (*mem_map)(void *cookie, int slot, uint64_t gpa, size_t len,
		       void *host, bool readonly);
	int (*mem_unmap)(void *cookie, int slot);
	int (*vcpu_init)(void *cookie, struct vcpu *vcpu, int id,
			 void **vcookiep);
	void (*vcpu_cleanup)(void *vcookie);
	int (*run)(void *vcookie, struct vm_exit *vmexit);
	void (*kick)(void *vcookie);
	int (*getreg)(void *vcookie, int reg, uint64_t *val);
	int (*setreg)(void *vcookie, int reg, uint64_t val);
	int (*getdesc)(void *vcookie, int reg, struct seg_desc *desc);
	int (*setdesc)(void *vcookie, int reg, const struct seg_desc *desc);
	int (*getmsr)(void *vcookie, uint32_t msr, uint64_t *val);
	int (*setmsr)(void *vcookie, uint32_t msr, uint64_t val);
};

extern const struct vmm_engine vmm_engine_kvm;

struct vm_memseg {
	size_t len;
	bool sysmem;
	char name[VM_NAME_MAX];
	void *host; /* NULL: segment not allocated */
};

struct vm_memmap {
	uint64_t gpa;
	int segid; /* -1: slot free */
	uint64_t off;
	size_t len;
	bool readonly;
};

/*
 * Recent decodes of a vCPU (vmm_decode.c): a guest exits from the same few
 * instructions over and over, so a hit costs a compare, not a page walk.
 */
#define VM_DECODE_CACHE 4

struct vm_decode_entry {
	bool valid;
	uint64_t rip; /* as the engine reported it */
	uint64_t cr0, cr3, cr4, efer, cs_base;
	uint64_t start; /* the instruction's own rip */
	uint64_t gpa;   /* where its bytes are */
	struct x86_instr insn;
	uint8_t bytes[15];
};

struct vcpu {
	struct vm *vm;
	int id;
	void *cookie;
	struct vm_decode_entry dcache[VM_DECODE_CACHE];
	unsigned int dcache_next;
};

struct vm {
	char name[VM_NAME_MAX];
	const struct vmm_engine *engine;
	void *cookie;
	struct vm_memseg memsegs[VM_MAX_MEMSEG];
	struct vm_memmap memmaps[VM_MAX_MEMMAP];
	pthread_rwlock_t mem_lock; /* memmaps */
	size_t lowmem, highmem;
	struct vcpu *vcpus[VM_MAXCPU];
	_Atomic int suspend; /* enum vm_suspend_how */
};

void vm_mem_init(struct vm *vm);
/*
 * vmm_decode.c: decode the instruction behind an INOUT/MMIO exit and check
 * it against the exit; a disagreement turns the exit into an engine error
 * naming both.  Returns 0, or an errno when the state cannot be read.
 */
int vm_exit_decode(struct vcpu *vcpu, struct vm_exit *vmexit);
void vm_mem_cleanup(struct vm *vm);

#endif
