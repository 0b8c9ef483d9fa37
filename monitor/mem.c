/*
 * The MMIO range tree, as bhyve's mem.c: ranges of guest-physical space
 * without RAM, each served by a handler.  The tree is glibc's tsearch (a
 * red-black tree) keyed by range, with a last-hit cache per vCPU because
 * a vCPU tends to hammer one device.
 */
#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdlib.h>

#include "rhyve.h"

static void *mem_tree;
static pthread_rwlock_t mem_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct mem_range **mem_hint; /* per vCPU; under mem_lock */
static int mem_ncpu;

/* Ranges compare equal when they overlap, so lookups find the container. */
static int
range_cmp(const void *a, const void *b)
{
	const struct mem_range *x = a, *y = b;

	if (x->base + x->size <= y->base)
		return -1;
	if (y->base + y->size <= x->base)
		return 1;
	return 0;
}

static void
free_range(void *p)
{
	free(p);
}

void
init_mem(int ncpu)
{
	pthread_rwlock_wrlock(&mem_lock);
	tdestroy(mem_tree, free_range);
	mem_tree = NULL;
	free(mem_hint);
	mem_hint = calloc((size_t)ncpu, sizeof(*mem_hint));
	mem_ncpu = mem_hint != NULL ? ncpu : 0;
	pthread_rwlock_unlock(&mem_lock);
}

int
register_mem(const struct mem_range *mr)
{
	struct mem_range *copy;
	void *slot;
	int error = 0;

	if (mr->size == 0 || mr->base + mr->size < mr->base ||
	    mr->handler == NULL)
		return EINVAL;
	copy = malloc(sizeof(*copy));
	if (copy == NULL)
		return ENOMEM;
	*copy = *mr;
	pthread_rwlock_wrlock(&mem_lock);
	slot = tsearch(copy, &mem_tree, range_cmp);
	if (slot == NULL)
		error = ENOMEM;
	else if (*(struct mem_range **)slot != copy)
		error = EEXIST; /* overlaps a registered range */
	pthread_rwlock_unlock(&mem_lock);
	if (error != 0)
		free(copy);
	return error;
}

int
unregister_mem(const struct mem_range *mr)
{
	struct mem_range *found;
	void *slot;
	int error = 0;

	pthread_rwlock_wrlock(&mem_lock);
	slot = tfind(mr, &mem_tree, range_cmp);
	if (slot == NULL) {
		error = ENOENT;
	} else {
		found = *(struct mem_range **)slot;
		if (found->base != mr->base || found->size != mr->size)
			error = EINVAL;
		else if (found->flags & MEM_F_IMMUTABLE)
			error = EPERM;
		if (error == 0) {
			tdelete(mr, &mem_tree, range_cmp);
			for (int i = 0; i < mem_ncpu; i++)
				if (mem_hint[i] == found)
					mem_hint[i] = NULL;
			free(found);
		}
	}
	pthread_rwlock_unlock(&mem_lock);
	return error;
}

int
emulate_mem(struct vcpu *vcpu, struct vm_mmio *mmio)
{
	struct mem_range key = { .base = mmio->gpa, .size = 1 };
	struct mem_range *mr = NULL, range;
	int id = vcpu_id(vcpu);
	void *slot;

	pthread_rwlock_rdlock(&mem_lock);
	if (id < mem_ncpu && mem_hint[id] != NULL &&
	    range_cmp(&key, mem_hint[id]) == 0) {
		mr = mem_hint[id];
	} else if ((slot = tfind(&key, &mem_tree, range_cmp)) != NULL) {
		mr = *(struct mem_range **)slot;
		if (id < mem_ncpu)
			mem_hint[id] = mr;
	}
	if (mr != NULL)
		range = *mr; /* the handler runs without the lock */
	pthread_rwlock_unlock(&mem_lock);
	if (mr == NULL)
		return ESRCH;
	if (!(range.flags & (mmio->write ? MEM_F_WRITE : MEM_F_READ)))
		return EPERM;
	if (range.handler(vcpu, mmio->write, mmio->gpa, mmio->bytes,
			  &mmio->data, range.arg1, range.arg2) != 0)
		return EIO;
	return 0;
}
