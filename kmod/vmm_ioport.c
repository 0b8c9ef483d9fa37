/*
 * Ports whose devices live in kmod (PIC, PIT, PM timer, ...): their exits
 * are handled inside vm_run() and never reach the monitor, as bhyve's
 * vmm_ioport.c handles them in the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm_impl.h"

int
vm_register_ioport(struct vm *vm, int port, int len, vm_ioport_func_t fn,
		   void *arg)
{
	if (port < 0 || len <= 0 || port + len > 0x10000 || fn == NULL)
		return EINVAL;
	if (vm->nioports == VM_MAX_IOPORTS)
		return ENOSPC;
	for (int i = 0; i < vm->nioports; i++) {
		const struct vm_ioport *p = &vm->ioports[i];

		if (port < p->port + p->len && p->port < port + len)
			return EEXIST;
	}
	vm->ioports[vm->nioports++] = (struct vm_ioport){ port, len, fn, arg };
	return 0;
}

static const struct vm_ioport *
find_ioport(const struct vm *vm, int port)
{
	for (int i = 0; i < vm->nioports; i++) {
		const struct vm_ioport *p = &vm->ioports[i];

		if (port >= p->port && port < p->port + p->len)
			return p;
	}
	return NULL;
}

int
vm_ioport_emulate(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_inout *io = &vmexit->u.inout;
	const struct vm_ioport *p = find_ioport(vcpu->vm, io->port);

	if (p == NULL)
		return 0;
	/* String I/O arrives as 'count' elements, as in the monitor. */
	for (uint32_t i = 0; i < io->count; i++) {
		uint8_t *elem = io->data + (size_t)i * io->bytes;
		uint32_t eax = 0;

		if (!io->in)
			memcpy(&eax, elem, io->bytes);
		if (p->fn(vcpu->vm, vcpu, io->in, io->port, io->bytes, &eax,
			  p->arg) != 0) {
			uint16_t port = io->port;
			bool in = io->in;

			vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
			snprintf(vmexit->u.error.msg,
				 sizeof(vmexit->u.error.msg),
				 "%s of port 0x%x refused by its device",
				 in ? "read" : "write", port);
			return -1;
		}
		if (io->in)
			memcpy(elem, &eax, io->bytes);
	}
	return 1;
}
