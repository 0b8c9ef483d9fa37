/*
 * Fuzz target for the interp engine: random instruction bytes executed in
 * a sandboxed interp VM (issue #8).
 *
 * Input: up to 4 KiB of code, placed at CODE_GPA in a 4 MiB VM entered in
 * 64-bit mode at CPL 0 (the loader's long-mode state: identity-mapped
 * memory, flat GDT), with an IDT whose handlers skip the faulting byte
 * and return, so one input runs many instructions.  Everything the code
 * does to itself -- page tables, descriptor tables, control registers,
 * MSRs, port and MMIO accesses, self-modifying code -- is allowed; rhyve
 * must answer with guest-visible exceptions or clean exits, never crash,
 * hang or read outside guest memory.  Exits are answered as a monitor
 * without devices would (IN and MMIO loads read all-ones, an unhandled
 * MSR gets #GP); each input runs at most BUDGET instructions, and a
 * timer on the VM's clock ends a vCPU that halts for good.  Inputs of
 * even size run with the block translator (interp.jit), odd ones without.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "vmm.h"
#include "vmm_impl.h"

#define RAM_SIZE  (4ULL << 20)
#define CODE_GPA  0x200000ULL
#define IDT_GPA   0x10000ULL
#define STUB_GPA  0x11000ULL /* the exception handlers */
#define STACK_TOP 0x3ff000ULL
#define BUDGET    20000 /* instructions */
#define MAX_EXITS 4000

static void *
fuzz_map(void *arg, uint64_t gpa, size_t len)
{
	return vm_map_gpa(arg, gpa, len);
}

/* Exceptions: skip the byte at the faulting rip and go on. */
static const uint8_t stub_noerr[] = {
	0x48, 0x83, 0x04, 0x24, 0x01, /* add qword [rsp], 1 */
	0x48, 0xcf,                   /* iretq */
};
static const uint8_t stub_err[] = {
	0x48, 0x83, 0xc4, 0x08,       /* add rsp, 8 (the error code) */
	0x48, 0x83, 0x04, 0x24, 0x01, /* add qword [rsp], 1 */
	0x48, 0xcf,                   /* iretq */
};

static bool
has_error_code(int v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21;
}

static void
setup_idt(struct vm *vm)
{
	uint8_t *stubs = vm_map_gpa(vm, STUB_GPA, 64);
	uint64_t *idt = vm_map_gpa(vm, IDT_GPA, 256 * 16);

	memcpy(stubs, stub_noerr, sizeof(stub_noerr));
	memcpy(stubs + 32, stub_err, sizeof(stub_err));
	for (int v = 0; v < 256; v++) {
		uint64_t off = STUB_GPA + (has_error_code(v) ? 32 : 0);

		/* 64-bit interrupt gate, DPL 3 (INT n from anywhere), CS 8. */
		idt[2 * v] = (off & 0xffff) | (uint64_t)LOADER_SEL_CODE << 16 |
			     (0xeeULL << 40) | ((off >> 16) & 0xffff) << 48;
		idt[2 * v + 1] = off >> 32;
	}
}

/* The watchdog: a vCPU halted for good (HLT with nothing to wake it). */
static void
fuzz_watchdog(void *arg)
{
	vm_suspend(arg, VM_SUSPEND_HALT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct loader_image img = { .entry = CODE_GPA,
				    .mode = LOADER_MODE_LONG64 };
	struct vm_guest_debug dbg = { .stop_icount = BUDGET };
	struct loader_regs regs;
	struct seg_desc idtr = { .base = IDT_GPA, .limit = 256 * 16 - 1 };
	struct loader_mem mem;
	struct callout watchdog;
	struct vm_exit ex;
	struct vcpu *vcpu;
	struct vm *vm;
	char err[256];

	if (size > 4096)
		size = 4096;
	if (vm_create("fuzz", "interp", &vm, err, sizeof(err)) != 0)
		return 0;
	/* The block translator on for half the inputs (by size), so both
	 * it and the interpreter alone see everything. */
	vm_set_jit(vm, (size & 1) == 0);
	mem = (struct loader_mem){ fuzz_map, vm };
	if (vm_setup_memory(vm, RAM_SIZE) != 0 ||
	    vm_vcpu_create(vm, 0, &vcpu) != 0 ||
	    loader_x86_setup(&mem, &img, &regs, err, sizeof(err)) != 0)
		abort();
	regs.rsp = STACK_TOP;
	regs.idtr = idtr;
	if (loader_set_regs(vcpu, &regs) != 0)
		abort();
	setup_idt(vm);
	memcpy(vm_map_gpa(vm, CODE_GPA, size > 0 ? size : 1), data, size);
	vm_set_guest_debug(vcpu, &dbg);
	callout_init(vm, &watchdog);
	callout_reset(&watchdog, 10000000 /* 10 ms of VM time */, fuzz_watchdog,
		      vm);

	memset(&ex, 0, sizeof(ex));
	for (int n = 0; n < MAX_EXITS; n++) {
		if (vm_run(vcpu, &ex) != 0)
			break;
		if (ex.exitcode == VM_EXITCODE_INOUT) {
			if (ex.u.inout.in)
				memset(ex.u.inout.data, 0xff,
				       (size_t)ex.u.inout.count *
					   ex.u.inout.bytes);
			continue;
		}
		if (ex.exitcode == VM_EXITCODE_MMIO) {
			ex.u.mmio.data = ~0ULL;
			continue;
		}
		if (ex.exitcode == VM_EXITCODE_RDMSR ||
		    ex.exitcode == VM_EXITCODE_WRMSR) {
			vm_inject_exception(vcpu, 13, true, 0);
			continue;
		}
		/* HLT with interrupts off, the budget, a triple fault, an
		 * error: the end of this input. */
		break;
	}
	callout_stop(&watchdog);
	vm_destroy(vm);
	return 0;
}
