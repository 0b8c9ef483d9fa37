/*
 * MMIO ranges whose devices live in kmod (the HPET; the local APIC and
 * I/O APIC later): their exits are handled inside vm_run() and never
 * reach the monitor, as bhyve's vmm handles them in the kernel.  The
 * port twin of this file is vmm_ioport.c.
 */
#include <errno.h>
#include <stdio.h>

#include "vmm_impl.h"

int
vm_register_iomem(struct vm *vm, uint64_t base, uint64_t len,
		  vm_iomem_func_t fn, void *arg)
{
	if (len == 0 || base + len < base || fn == NULL)
		return EINVAL;
	if (vm->niomems == VM_MAX_IOMEMS)
		return ENOSPC;
	for (int i = 0; i < vm->niomems; i++) {
		const struct vm_iomem *r = &vm->iomems[i];

		if (base < r->base + r->len && r->base < base + len)
			return EEXIST;
	}
	vm->iomems[vm->niomems++] = (struct vm_iomem){ base, len, fn, arg };
	return 0;
}

static const struct vm_iomem *
find_iomem(const struct vm *vm, uint64_t gpa)
{
	for (int i = 0; i < vm->niomems; i++) {
		const struct vm_iomem *r = &vm->iomems[i];

		if (gpa >= r->base && gpa - r->base < r->len)
			return r;
	}
	return NULL;
}

static int
iomem_error(struct vm_exit *vmexit, const char *what)
{
	uint64_t gpa = vmexit->u.mmio.gpa;
	unsigned bytes = vmexit->u.mmio.bytes;
	bool write = vmexit->u.mmio.write;

	vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
	snprintf(vmexit->u.error.msg, sizeof(vmexit->u.error.msg),
		 "MMIO %s of %u bytes at 0x%llx %s", write ? "write" : "read",
		 bytes, (unsigned long long)gpa, what);
	return -1;
}

int
vm_iomem_emulate(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_mmio *mmio = &vmexit->u.mmio;
	const struct vm_iomem *r = find_iomem(vcpu->vm, mmio->gpa);
	uint64_t val;

	if (r == NULL)
		return 0;
	if (mmio->bytes != 1 && mmio->bytes != 2 && mmio->bytes != 4 &&
	    mmio->bytes != 8)
		return iomem_error(vmexit, "of an unsupported width");
	if (mmio->gpa - r->base + mmio->bytes > r->len)
		return iomem_error(vmexit, "crosses the end of its device");
	val = mmio->write ? mmio->data : 0;
	if (r->fn(vcpu, mmio->write, mmio->gpa, mmio->bytes, &val, r->arg) != 0)
		return iomem_error(vmexit, "refused by its device");
	if (!mmio->write) {
		/* Only the bytes read reach the guest's register. */
		if (mmio->bytes < 8)
			val &= (1ULL << (8 * mmio->bytes)) - 1;
		mmio->data = val;
	}
	return 1;
}
