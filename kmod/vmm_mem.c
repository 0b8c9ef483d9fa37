/*
 * Guest memory as bhyve's vmm_mem: segments of host memory (sysmem or
 * named devmem) and mappings of segment ranges into guest-physical space.
 * Each mapping is one engine memory slot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm_impl.h"

#define PAGE_SIZE 4096ULL
#define PAGE_MASK 0xfffULL

void
vm_mem_init(struct vm *vm)
{
	pthread_rwlock_init(&vm->mem_lock, NULL);
	for (int i = 0; i < VM_MAX_MEMMAP; i++)
		vm->memmaps[i].segid = -1;
}

void
vm_mem_cleanup(struct vm *vm)
{
	for (int i = 0; i < VM_MAX_MEMSEG; i++) {
		struct vm_memseg *seg = &vm->memsegs[i];

		if (seg->host != NULL)
			munmap(seg->host, seg->len);
		seg->host = NULL;
	}
	pthread_rwlock_destroy(&vm->mem_lock);
}

int
vm_alloc_memseg(struct vm *vm, int segid, size_t len, bool sysmem,
		const char *name)
{
	struct vm_memseg *seg;
	void *host;

	if (segid < 0 || segid >= VM_MAX_MEMSEG || len == 0 ||
	    (len & PAGE_MASK) != 0 || (segid == VM_SYSMEM) != sysmem)
		return EINVAL;
	if (!sysmem &&
	    (name == NULL || name[0] == '\0' || strlen(name) >= VM_NAME_MAX))
		return EINVAL;
	seg = &vm->memsegs[segid];
	if (seg->host != NULL)
		return EEXIST;
	/* Lazily backed: a 4 GiB guest that touches 10 MiB costs 10 MiB. */
	host = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED)
		return errno;
	seg->host = host;
	seg->len = len;
	seg->sysmem = sysmem;
	snprintf(seg->name, sizeof(seg->name), "%s", sysmem ? "sysmem" : name);
	return 0;
}

void *
vm_memseg_ptr(struct vm *vm, int segid, size_t *lenp)
{
	if (segid < 0 || segid >= VM_MAX_MEMSEG ||
	    vm->memsegs[segid].host == NULL)
		return NULL;
	if (lenp != NULL)
		*lenp = vm->memsegs[segid].len;
	return vm->memsegs[segid].host;
}

static bool
ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int
vm_mmap_memseg(struct vm *vm, uint64_t gpa, int segid, uint64_t off, size_t len,
	       bool readonly)
{
	struct vm_memseg *seg;
	int slot = -1, error;

	if (segid < 0 || segid >= VM_MAX_MEMSEG)
		return EINVAL;
	seg = &vm->memsegs[segid];
	if (seg->host == NULL)
		return ENOENT;
	if (len == 0 || ((gpa | off | len) & PAGE_MASK) != 0 ||
	    off > seg->len || len > seg->len - off || gpa + len < gpa)
		return EINVAL;

	pthread_rwlock_wrlock(&vm->mem_lock);
	for (int i = 0; i < VM_MAX_MEMMAP; i++) {
		struct vm_memmap *mm = &vm->memmaps[i];

		if (mm->segid < 0) {
			if (slot < 0)
				slot = i;
			continue;
		}
		if (ranges_overlap(gpa, len, mm->gpa, mm->len)) {
			pthread_rwlock_unlock(&vm->mem_lock);
			return EEXIST;
		}
	}
	if (slot < 0) {
		pthread_rwlock_unlock(&vm->mem_lock);
		return ENOSPC;
	}
	error = vm->engine->mem_map(vm->cookie, slot, gpa, len,
				    (char *)seg->host + off, readonly);
	if (error == 0)
		vm->memmaps[slot] =
		    (struct vm_memmap){ gpa, segid, off, len, readonly };
	pthread_rwlock_unlock(&vm->mem_lock);
	return error;
}

int
vm_munmap_memseg(struct vm *vm, uint64_t gpa, size_t len)
{
	int error = ENOENT;

	pthread_rwlock_wrlock(&vm->mem_lock);
	for (int i = 0; i < VM_MAX_MEMMAP; i++) {
		struct vm_memmap *mm = &vm->memmaps[i];

		if (mm->segid >= 0 && mm->gpa == gpa && mm->len == len) {
			error = vm->engine->mem_unmap(vm->cookie, i);
			if (error == 0)
				mm->segid = -1;
			break;
		}
	}
	pthread_rwlock_unlock(&vm->mem_lock);
	return error;
}

int
vm_setup_memory(struct vm *vm, size_t len)
{
	int error;

	if (len == 0 || (len & PAGE_MASK) != 0)
		return EINVAL;
	vm->lowmem = len < VM_LOWMEM_LIMIT ? len : VM_LOWMEM_LIMIT;
	vm->highmem = len - vm->lowmem;
	error = vm_alloc_memseg(vm, VM_SYSMEM, len, true, NULL);
	if (error == 0)
		error = vm_mmap_memseg(vm, 0, VM_SYSMEM, 0, vm->lowmem, false);
	if (error == 0 && vm->highmem > 0)
		error = vm_mmap_memseg(vm, VM_HIGHMEM_BASE, VM_SYSMEM,
				       vm->lowmem, vm->highmem, false);
	return error;
}

size_t
vm_lowmem_size(const struct vm *vm)
{
	return vm->lowmem;
}

size_t
vm_highmem_size(const struct vm *vm)
{
	return vm->highmem;
}

void *
vm_map_gpa(struct vm *vm, uint64_t gpa, size_t len)
{
	void *host = NULL;

	if (gpa + len < gpa)
		return NULL;
	pthread_rwlock_rdlock(&vm->mem_lock);
	for (int i = 0; i < VM_MAX_MEMMAP; i++) {
		struct vm_memmap *mm = &vm->memmaps[i];

		if (mm->segid >= 0 && gpa >= mm->gpa &&
		    gpa + len <= mm->gpa + mm->len) {
			host = (char *)vm->memsegs[mm->segid].host + mm->off +
			       (gpa - mm->gpa);
			break;
		}
	}
	pthread_rwlock_unlock(&vm->mem_lock);
	return host;
}

/* ---- dirty pages ------------------------------------------------------ */

uint64_t
vm_ram_pages(const struct vm *vm)
{
	return (vm->lowmem + vm->highmem) / PAGE_SIZE;
}

/* The system-memory slots: lowmem at 0, highmem at VM_HIGHMEM_BASE. */
static int
ram_slot(struct vm *vm, uint64_t gpa)
{
	for (int i = 0; i < VM_MAX_MEMMAP; i++)
		if (vm->memmaps[i].segid == VM_SYSMEM &&
		    vm->memmaps[i].gpa == gpa)
			return i;
	return -1;
}

int
vm_dirty_start(struct vm *vm)
{
	int slot, error = 0;

	if (vm->engine->dirty_logging == NULL)
		return ENOTSUP;
	pthread_rwlock_rdlock(&vm->mem_lock);
	if ((slot = ram_slot(vm, 0)) >= 0)
		error = vm->engine->dirty_logging(vm->cookie, slot, true);
	if (error == 0 && vm->highmem > 0 &&
	    (slot = ram_slot(vm, VM_HIGHMEM_BASE)) >= 0)
		error = vm->engine->dirty_logging(vm->cookie, slot, true);
	pthread_rwlock_unlock(&vm->mem_lock);
	/* Pages kmod writes for devices (DMA) are not in KVM's log. */
	pthread_mutex_lock(&vm->dma_mtx);
	if (error == 0 && vm->dma_dirty == NULL &&
	    (vm->dma_dirty = calloc((vm_ram_pages(vm) + 63) / 64, 8)) == NULL)
		error = ENOMEM;
	pthread_mutex_unlock(&vm->dma_mtx);
	return error;
}

int
vm_dirty_pages(struct vm *vm, uint64_t *bits)
{
	uint64_t lowpages = vm->lowmem / PAGE_SIZE;
	uint64_t highpages = vm->highmem / PAGE_SIZE;
	uint64_t *high = NULL;
	int slot, error = 0;

	memset(bits, 0, (vm_ram_pages(vm) + 63) / 64 * 8);
	pthread_rwlock_rdlock(&vm->mem_lock);
	if ((slot = ram_slot(vm, 0)) >= 0)
		error = vm->engine->get_dirty(vm->cookie, slot, bits);
	if (error == 0 && highpages > 0 &&
	    (slot = ram_slot(vm, VM_HIGHMEM_BASE)) >= 0) {
		/* Its bits follow lowmem's, which need not end on a word. */
		high = calloc((highpages + 63) / 64, 8);
		if (high == NULL)
			error = ENOMEM;
		else
			error = vm->engine->get_dirty(vm->cookie, slot, high);
		for (uint64_t p = 0; error == 0 && p < highpages; p++)
			if (high[p / 64] & (1ULL << (p % 64)))
				bits[(lowpages + p) / 64] |=
				    1ULL << ((lowpages + p) % 64);
	}
	pthread_rwlock_unlock(&vm->mem_lock);
	free(high);
	pthread_mutex_lock(&vm->dma_mtx);
	for (uint64_t i = 0;
	     vm->dma_dirty != NULL && i < (vm_ram_pages(vm) + 63) / 64; i++) {
		bits[i] |= vm->dma_dirty[i];
		vm->dma_dirty[i] = 0;
	}
	pthread_mutex_unlock(&vm->dma_mtx);
	return error;
}
