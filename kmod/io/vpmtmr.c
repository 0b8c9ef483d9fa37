/*
 * The ACPI PM timer, as bhyve's vpmtmr.c: a free-running 24-bit counter
 * at 3.579545 MHz, read-only at port 0x408 (the FADT will point there).
 * It is derived from the VM's clock, so a replay that drives the clock
 * reproduces it.
 */
#include <errno.h>
#include <stdlib.h>

#include "vio.h"

#define PMTMR_FREQ 3579545ULL

struct vpmtmr {
	struct vm *vm;
};

static int
vpmtmr_handler(struct vm *vm, struct vcpu *vcpu, bool in, int port, int bytes,
	       uint32_t *eax, void *arg)
{
	uint64_t ns;

	if (!in)
		return 0; /* read-only: writes are ignored, as on hardware */
	ns = vm_clock_ns(vm);
	/* ticks = ns * f / 1e9, split to avoid overflow for long runs. */
	*eax = (uint32_t)(((ns / 1000000000ULL) * PMTMR_FREQ +
			   (ns % 1000000000ULL) * PMTMR_FREQ / 1000000000ULL) &
			  0xffffff);
	return 0;
}

int
vpmtmr_init(struct vm *vm)
{
	vm->vpmtmr = calloc(1, sizeof(*vm->vpmtmr));
	if (vm->vpmtmr == NULL)
		return ENOMEM;
	vm->vpmtmr->vm = vm;
	return vm_register_ioport(vm, VPMTMR_PORT, 4, vpmtmr_handler,
				  vm->vpmtmr);
}

void
vpmtmr_cleanup(struct vm *vm)
{
	free(vm->vpmtmr);
	vm->vpmtmr = NULL;
}
