/*
 * DMA: device writes into guest RAM.  A device never writes guest memory
 * from its own thread while vCPUs run (where the write lands between two
 * guest instructions would be the host's choice, and no replay could
 * find it again).  It hands the finished data to vm_dma_write(); vCPU 0
 * writes it at its next event boundary, before its next entry and before
 * any interrupt that announces the data, and the recorder logs it there.
 * A replay writes the recorded data at the same boundary instead, and
 * drops what the devices hand over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_impl.h"

struct vm_dma {
	uint64_t gpa;
	size_t len;
	struct vm_dma *next;
	uint8_t data[];
};

int
vm_dma_write(struct vm *vm, uint64_t gpa, const void *data, size_t len)
{
	struct vcpu *bsp = vm_vcpu(vm, 0);
	struct vm_dma *d, **tail;

	if (len == 0 || vm_map_gpa(vm, gpa, len) == NULL)
		return EFAULT;
	if (vm->replayer != NULL)
		return 0; /* the trace has what this run's devices made */
	d = malloc(sizeof(*d) + len);
	if (d == NULL)
		return ENOMEM;
	d->gpa = gpa;
	d->len = len;
	d->next = NULL;
	memcpy(d->data, data, len);
	pthread_mutex_lock(&vm->dma_mtx);
	for (tail = &vm->dma_queue; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = d;
	pthread_mutex_unlock(&vm->dma_mtx);
	/* Out of the guest (or a HLT) to write it. */
	if (bsp != NULL)
		vm_vcpu_kick(bsp);
	return 0;
}

/* Mark the RAM pages of [gpa, gpa+len) written, for the next checkpoint. */
static void
dma_mark_dirty(struct vm *vm, uint64_t gpa, size_t len)
{
	uint64_t first = gpa / 4096, last = (gpa + len - 1) / 4096;

	for (uint64_t pg = first; pg <= last; pg++) {
		uint64_t gpg = pg * 4096;
		uint64_t n = gpg < vm->lowmem
				 ? pg
				 : (vm->lowmem + gpg - VM_HIGHMEM_BASE) / 4096;

		vm->dma_dirty[n / 64] |= 1ULL << (n % 64);
	}
}

int
vm_dma_apply(struct vm *vm, uint64_t gpa, const uint8_t *data, size_t len)
{
	uint8_t *host = vm_map_gpa(vm, gpa, len);

	if (len == 0 || host == NULL)
		return EFAULT;
	memcpy(host, data, len);
	if (vm->engine->dma_done != NULL)
		vm->engine->dma_done(vm->cookie, gpa, data, len);
	pthread_mutex_lock(&vm->dma_mtx);
	if (vm->dma_dirty != NULL)
		dma_mark_dirty(vm, gpa, len);
	pthread_mutex_unlock(&vm->dma_mtx);
	return 0;
}

void
vm_dma_flush(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_dma *d;

	if (vcpu->id != 0 || vm->dma_queue == NULL)
		return;
	for (;;) {
		pthread_mutex_lock(&vm->dma_mtx);
		d = vm->dma_queue;
		if (d != NULL)
			vm->dma_queue = d->next;
		pthread_mutex_unlock(&vm->dma_mtx);
		if (d == NULL)
			break;
		if (vm_dma_apply(vm, d->gpa, d->data, d->len) == 0)
			vm_record_dma(vcpu, d->gpa, d->data, d->len);
		free(d);
	}
}

int
vm_dma_init(struct vm *vm)
{
	pthread_mutex_init(&vm->dma_mtx, NULL);
	return 0;
}

void
vm_dma_cleanup(struct vm *vm)
{
	struct vm_dma *d;

	while ((d = vm->dma_queue) != NULL) {
		vm->dma_queue = d->next;
		free(d);
	}
	free(vm->dma_dirty);
	vm->dma_dirty = NULL;
	pthread_mutex_destroy(&vm->dma_mtx);
}
