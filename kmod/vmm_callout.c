/*
 * Timers for kmod's devices, as bhyve's callout(9) use: one thread per VM
 * sleeps until the earliest deadline on the VM's clock and runs the
 * expired callouts' functions.  Devices raise interrupts from there; the
 * interrupts reach the guest through vm_inject_pending() only.
 *
 * With virtual time (engines that count instructions) the VM's clock is
 * what the engine says, not the host's: the vCPU threads run the expired
 * callouts themselves (vm_callouts_run_due()) at points fixed by the
 * instruction stream, and the thread only waits to be stopped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "vmm_impl.h"

struct vm_callouts {
	struct vm *vm;
	pthread_mutex_t mtx;
	pthread_cond_t cv;   /* the list changed, or stop */
	pthread_cond_t done; /* a function finished running */
	pthread_t thread;
	bool stop;
	struct callout *head;    /* pending, sorted by deadline */
	struct callout *running; /* whose function runs now */
	pthread_t runner;        /* ... on this thread */
	_Atomic uint64_t next;   /* head's deadline, UINT64_MAX: none */
};

uint64_t
vm_clock_ns(struct vm *vm)
{
	struct timespec ts;

	if (vm->virtual_time)
		return atomic_load_explicit(&vm->vclock_ns,
					    memory_order_relaxed);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec -
	       vm->clock_base;
}

static void
set_next(struct vm_callouts *co)
{
	atomic_store(&co->next,
		     co->head != NULL ? co->head->deadline : UINT64_MAX);
}

static void
unlink_callout(struct vm_callouts *co, struct callout *c)
{
	for (struct callout **pp = &co->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	c->pending = false;
	c->next = NULL;
	set_next(co);
}

/* Run the first expired callout (co->mtx held); false: none expired. */
static bool
run_one(struct vm_callouts *co, uint64_t now)
{
	struct callout *c = co->head;

	if (c == NULL || c->deadline > now)
		return false;
	unlink_callout(co, c);
	co->running = c;
	co->runner = pthread_self();
	pthread_mutex_unlock(&co->mtx);
	c->fn(c->arg);
	pthread_mutex_lock(&co->mtx);
	co->running = NULL;
	pthread_cond_broadcast(&co->done);
	return true;
}

static void *
callout_thread(void *arg)
{
	struct vm_callouts *co = arg;

	pthread_mutex_lock(&co->mtx);
	while (!co->stop) {
		struct callout *c = co->head;
		uint64_t now = vm_clock_ns(co->vm);

		if (c == NULL || co->vm->virtual_time) {
			pthread_cond_wait(&co->cv, &co->mtx);
			continue;
		}
		if (c->deadline > now) {
			uint64_t abs = co->vm->clock_base + c->deadline;
			struct timespec ts = { (time_t)(abs / 1000000000ULL),
					       (long)(abs % 1000000000ULL) };

			pthread_cond_timedwait(&co->cv, &co->mtx, &ts);
			continue;
		}
		run_one(co, now);
	}
	pthread_mutex_unlock(&co->mtx);
	return NULL;
}

static struct vm_callouts *
callouts_get(struct vm *vm)
{
	static pthread_mutex_t create_mtx = PTHREAD_MUTEX_INITIALIZER;
	struct vm_callouts *co;
	pthread_condattr_t attr;

	pthread_mutex_lock(&create_mtx);
	co = vm->callouts;
	if (co == NULL) {
		co = calloc(1, sizeof(*co));
		if (co == NULL)
			abort(); /* a VM without timers cannot run */
		co->vm = vm;
		atomic_init(&co->next, UINT64_MAX);
		pthread_mutex_init(&co->mtx, NULL);
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&co->cv, &attr);
		pthread_condattr_destroy(&attr);
		pthread_cond_init(&co->done, NULL);
		if (pthread_create(&co->thread, NULL, callout_thread, co) != 0)
			abort();
		vm->callouts = co;
	}
	pthread_mutex_unlock(&create_mtx);
	return co;
}

void
callout_init(struct vm *vm, struct callout *c)
{
	c->vm = vm;
	c->pending = false;
	c->next = NULL;
	c->fn = NULL;
}

void
callout_reset(struct callout *c, uint64_t deadline, callout_func_t fn,
	      void *arg)
{
	struct vm_callouts *co = callouts_get(c->vm);
	struct callout **pp;

	pthread_mutex_lock(&co->mtx);
	if (c->pending)
		unlink_callout(co, c);
	c->deadline = deadline;
	c->fn = fn;
	c->arg = arg;
	c->pending = true;
	for (pp = &co->head; *pp != NULL && (*pp)->deadline <= deadline;
	     pp = &(*pp)->next)
		;
	c->next = *pp;
	*pp = c;
	set_next(co);
	pthread_cond_signal(&co->cv);
	pthread_mutex_unlock(&co->mtx);
}

void
callout_stop(struct callout *c)
{
	struct vm_callouts *co = c->vm->callouts;

	if (co == NULL)
		return;
	pthread_mutex_lock(&co->mtx);
	if (c->pending)
		unlink_callout(co, c);
	/* Wait out a running function, unless we are that function. */
	while (co->running == c && !pthread_equal(pthread_self(), co->runner))
		pthread_cond_wait(&co->done, &co->mtx);
	pthread_mutex_unlock(&co->mtx);
}

bool
callout_pending(const struct callout *c)
{
	return c->pending;
}

uint64_t
vm_callout_next(struct vm *vm)
{
	struct vm_callouts *co = vm->callouts;

	return co != NULL ? atomic_load(&co->next) : UINT64_MAX;
}

void
vm_callouts_run_due(struct vm *vm)
{
	struct vm_callouts *co = vm->callouts;

	if (co == NULL || atomic_load(&co->next) > vm_clock_ns(vm))
		return;
	pthread_mutex_lock(&co->mtx);
	while (run_one(co, vm_clock_ns(vm)))
		;
	pthread_mutex_unlock(&co->mtx);
}

void
vm_clock_advance(struct vm *vm, uint64_t ns)
{
	atomic_fetch_add_explicit(&vm->vclock_ns, ns, memory_order_relaxed);
}

void
vm_clock_set_at_least(struct vm *vm, uint64_t t)
{
	uint64_t now = atomic_load(&vm->vclock_ns);

	while (now < t &&
	       !atomic_compare_exchange_weak(&vm->vclock_ns, &now, t))
		;
}

void
vm_callouts_cleanup(struct vm *vm)
{
	struct vm_callouts *co = vm->callouts;

	if (co == NULL)
		return;
	pthread_mutex_lock(&co->mtx);
	co->stop = true;
	pthread_cond_signal(&co->cv);
	pthread_mutex_unlock(&co->mtx);
	pthread_join(co->thread, NULL);
	pthread_mutex_destroy(&co->mtx);
	pthread_cond_destroy(&co->cv);
	pthread_cond_destroy(&co->done);
	free(co);
	vm->callouts = NULL;
}
