/*
 * The interp engine's debug facilities (kmod/interp/interp_debug.c)
 * through the engine's own operations, as kmod drives them: the host's
 * (vm_guest_debug: data watchpoints checked on every access, their
 * priority over the guest's own debug registers, single-step) beside the
 * guest's (debug registers set with setreg, #DB through the IDT).  The
 * guest's view of its debug facilities is tests/guests/debugreg.c's.
 *
 * A vCPU in 64-bit mode (paging off, as the unit tests of the engine
 * run it) on 64 KiB of RAM: GDT at 0x1000, IDT at 0x2000 (#DB to a HLT
 * at 0x5000), code at 0x4000, data at 0x6000, stack below 0x8000.
 */
#include <stdlib.h>
#include <string.h>

#include "cunit.h"
#include "interp/interp.h"

#define RAM_SIZE   0x10000
#define CODE       0x4000
#define DB_HANDLER 0x5000
#define DATA       0x6000
#define STACK_TOP  0x8000

static const struct vmm_engine *eng = &vmm_engine_interp;
static uint8_t *ram;
static void *vm_cookie, *vc;
static struct vm_exit ex;

/* DR7 bits for breakpoint n: L, R/W (0 exec 1 write 3 rw), LEN (0 1,
 * 1 2, 3 4, 2 8 bytes). */
static uint64_t
bp(int n, unsigned int rw, unsigned int len)
{
	return DR7_L(n) | (uint64_t)rw << DR7_RW_SHIFT(n) |
	       (uint64_t)len << DR7_LEN_SHIFT(n);
}

static void
teardown(void)
{
	if (vc != NULL)
		eng->vcpu_cleanup(vc);
	if (vm_cookie != NULL)
		eng->vm_cleanup(vm_cookie);
	free(ram);
	vc = vm_cookie = NULL;
	ram = NULL;
}

static void
setup(const uint8_t *code, size_t len)
{
	const uint64_t gdt[3] = { 0, 0x00af9b000000ffffULL,
				  0x00cf93000000ffffULL };
	uint64_t gate[2];

	teardown();
	ram = aligned_alloc(4096, RAM_SIZE);
	CU_ASSERT_FATAL(ram != NULL);
	CU_ASSERT_FATAL(eng->vm_init(NULL, &vm_cookie, NULL, 0) == 0);
	CU_ASSERT_FATAL(eng->mem_map(vm_cookie, 0, 0, RAM_SIZE, ram, false) ==
			0);
	CU_ASSERT_FATAL(eng->vcpu_init(vm_cookie, NULL, 0, &vc) == 0);
	memset(ram, 0, RAM_SIZE);
	memcpy(ram + 0x1000, gdt, sizeof(gdt));
	/* #DB: a 64-bit interrupt gate to DB_HANDLER, a HLT. */
	gate[0] = (DB_HANDLER & 0xffff) | 0x08ULL << 16 | 0x8eULL << 40;
	gate[1] = 0;
	memcpy(ram + 0x2000 + 16, gate, sizeof(gate));
	ram[DB_HANDLER] = 0xf4;
	memcpy(ram + CODE, code, len);

	eng->setreg(vc, VM_REG_GUEST_CR0, CR0_PE | CR0_ET);
	eng->setreg(vc, VM_REG_GUEST_EFER, EFER_LME | EFER_LMA);
	eng->setdesc(vc, VM_REG_GUEST_GDTR,
		     &(struct seg_desc){ 0x1000, sizeof(gdt) - 1, 0 });
	eng->setdesc(vc, VM_REG_GUEST_IDTR,
		     &(struct seg_desc){ 0x2000, 0xfff, 0 });
	eng->setreg(vc, VM_REG_GUEST_CS, 0x08);
	eng->setdesc(
	    vc, VM_REG_GUEST_CS,
	    &(struct seg_desc){ 0, 0xffffffff, 0x9b | X86_SEG_L | 0x8000 });
	for (int r = VM_REG_GUEST_ES; r <= VM_REG_GUEST_GS; r++) {
		if (r == VM_REG_GUEST_CS)
			continue;
		eng->setreg(vc, r, 0x10);
		eng->setdesc(vc, r,
			     &(struct seg_desc){ 0, 0xffffffff,
						 0x93 | X86_SEG_DB | 0x8000 });
	}
	eng->setreg(vc, VM_REG_GUEST_RSP, STACK_TOP);
	eng->setreg(vc, VM_REG_GUEST_RIP, CODE);
	eng->setreg(vc, VM_REG_GUEST_RFLAGS, PSL_1);
}

static uint64_t
reg(int r)
{
	uint64_t v = 0;

	CU_ASSERT(eng->getreg(vc, r, &v) == 0);
	return v;
}

static int
run(void)
{
	CU_ASSERT_FATAL(eng->run(vc, &ex) == 0);
	return ex.exitcode;
}

static void
host_debug(bool step, uint64_t dr0, uint64_t dr7)
{
	struct vm_guest_debug d = {
		.enable = true, .singlestep = step, .dr = { dr0 }, .dr7 = dr7
	};

	CU_ASSERT(eng->set_debug(vc, &d) == 0);
}

/* mov qword [DATA], 1; mov rax, [DATA]; hlt */
static const uint8_t store_load[] = {
	0x48, 0xc7, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00, 0xf4
};
#define AFTER_STORE (CODE + 12)
#define AFTER_LOAD  (CODE + 20)

/* A write watchpoint: an exit after the store, none for the load; the
 * guest's debug registers keep their own values. */
static void
test_host_write(void)
{
	setup(store_load, sizeof(store_load));
	eng->setreg(vc, VM_REG_GUEST_DR0, 0x1234);
	host_debug(false, DATA, bp(0, 1, 2));
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_DEBUG);
	CU_ASSERT_EQUAL(ex.u.debug.dr6 & 0xf, 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), AFTER_STORE);
	CU_ASSERT_EQUAL(ram[DATA], 1);
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_DR0), 0x1234);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_DR6), 0xffff0ff0);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_DR7), 0x400);
	teardown();
}

/* A read/write watchpoint (LEN 2 inside the quadword): both accesses. */
static void
test_host_access(void)
{
	setup(store_load, sizeof(store_load));
	host_debug(false, DATA + 4, bp(0, 3, 1));
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_DEBUG);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), AFTER_STORE);
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_DEBUG);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), AFTER_LOAD);
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_HLT);
	/* Beside it: nothing. */
	setup(store_load, sizeof(store_load));
	host_debug(false, DATA + 8, bp(0, 3, 2));
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_HLT);
	teardown();
}

/* The guest's data breakpoint: its #DB trap through the IDT, with the
 * return address after the store and DR6.B0. */
static void
test_guest_trap(void)
{
	uint64_t frame_rip;

	setup(store_load, sizeof(store_load));
	eng->setreg(vc, VM_REG_GUEST_DR0, DATA);
	eng->setreg(vc, VM_REG_GUEST_DR7, 0x400 | bp(0, 1, 0));
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), DB_HANDLER + 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_DR6), 0xffff0ff1);
	memcpy(&frame_rip, ram + STACK_TOP - 40, 8);
	CU_ASSERT_EQUAL(frame_rip, AFTER_STORE);
	teardown();
}

/* Both hit on one store: the host's exit first, the guest's #DB still
 * owed (its state untouched), delivered on the next run. */
static void
test_both(void)
{
	setup(store_load, sizeof(store_load));
	eng->setreg(vc, VM_REG_GUEST_DR1, DATA);
	eng->setreg(vc, VM_REG_GUEST_DR7, 0x400 | bp(1, 1, 2));
	host_debug(false, DATA, bp(0, 1, 2));
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_DEBUG);
	CU_ASSERT_EQUAL(ex.u.debug.dr6 & 0xf, 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), AFTER_STORE);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_DR6), 0xffff0ff0);
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), DB_HANDLER + 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_DR6), 0xffff0ff2);
	teardown();
}

/* The host's instruction breakpoint and the guest's on one address:
 * the host's exit, then (RF clear) the guest's fault. */
static void
test_exec_priority(void)
{
	uint64_t frame_rip, frame_rflags;

	setup(store_load, sizeof(store_load));
	eng->setreg(vc, VM_REG_GUEST_DR2, AFTER_STORE);
	eng->setreg(vc, VM_REG_GUEST_DR7, 0x400 | bp(2, 0, 0));
	host_debug(false, AFTER_STORE, bp(0, 0, 0));
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_DEBUG);
	CU_ASSERT_EQUAL(ex.u.debug.dr6 & 0xf, 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), AFTER_STORE);
	host_debug(false, 0, 0);
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), DB_HANDLER + 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_DR6) & 0xf, 4);
	memcpy(&frame_rip, ram + STACK_TOP - 40, 8);
	memcpy(&frame_rflags, ram + STACK_TOP - 24, 8);
	CU_ASSERT_EQUAL(frame_rip, AFTER_STORE);   /* a fault: before it */
	CU_ASSERT_EQUAL(frame_rflags & PSL_RF, 0); /* RF as it was */
	teardown();
}

/* The host single-steps an instruction under the guest's TF: the step
 * ends in the guest's #DB handler (the trap is part of the step). */
static void
test_step_tf(void)
{
	setup(store_load, sizeof(store_load));
	eng->setreg(vc, VM_REG_GUEST_RFLAGS, PSL_1 | PSL_T);
	host_debug(true, 0, 0);
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_DEBUG);
	CU_ASSERT(ex.u.debug.dr6 & DR6_BS);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), DB_HANDLER);
	CU_ASSERT(reg(VM_REG_GUEST_DR6) & DR6_BS);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RFLAGS) & PSL_T, 0);
	teardown();
}

/* A watchpoint inside REP STOSB: after the iteration that wrote it, at
 * the instruction (RCX counts what is left). */
static void
test_rep(void)
{
	static const uint8_t rep_stos[] = {
		0xb9, 0x08, 0x00, 0x00, 0x00,             /* mov ecx, 8 */
		0x48, 0xc7, 0xc7, 0x00, 0x60, 0x00, 0x00, /* mov rdi, DATA */
		0xb0, 0x77,                               /* mov al, 0x77 */
		0xf3, 0xaa,                               /* rep stosb */
		0xf4
	};

	setup(rep_stos, sizeof(rep_stos));
	host_debug(false, DATA + 2, bp(0, 1, 0));
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_DEBUG);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), CODE + 14);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RCX), 5);
	CU_ASSERT_EQUAL(ram[DATA + 2], 0x77);
	CU_ASSERT_EQUAL(ram[DATA + 3], 0);
	CU_ASSERT_EQUAL(run(), VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(ram[DATA + 7], 0x77);
	teardown();
}

static CU_TestInfo tests[] = {
	{ "host write watchpoint", test_host_write },
	{ "host access watchpoint", test_host_access },
	{ "guest data breakpoint", test_guest_trap },
	{ "host and guest on one store", test_both },
	{ "instruction breakpoints: host first", test_exec_priority },
	{ "host step over guest TF", test_step_tf },
	{ "watchpoint in REP STOSB", test_rep },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "interp_debug", tests },
	{ NULL, NULL },
};
