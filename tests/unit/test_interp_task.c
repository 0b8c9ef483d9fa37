/*
 * The interp engine's task switches (kmod/interp/interp_task.c) and
 * their exceptions, through the engine's own operations: the error
 * codes of #TS, #NP, #SS and #GP (Intel SDM vol. 3A table 7-1, vol. 2
 * "JMP", "IRET"), and in whose context each is raised: before the switch
 * commits, the old task's (TR, EIP unchanged); after, the new task's
 * (TR the new TSS, the frame's EIP the new task's).  The whole path in a
 * guest is tests/guests/tasksw.c's.
 *
 * A vCPU in 32-bit protected mode (paging off) on 64 KiB of RAM: GDT at
 * 0x1000, IDT at 0x2000 (vector v: an interrupt gate to a HLT at
 * HANDLER + v), the running task's TSS at 0x3000 (selector 0x18, busy),
 * the new one's at 0x3100 (0x20), code at 0x4000, the new task's EIP
 * NEW_EIP, stacks below 0x8000 (old) and 0x9000 (new).
 */
#include <stdlib.h>
#include <string.h>

#include "cunit.h"
#include "interp/interp.h"

#define RAM_SIZE  0x10000
#define GDT       0x1000
#define IDT       0x2000
#define TSS_OLD   0x3000
#define TSS_NEW   0x3100
#define CODE      0x4000
#define NEW_EIP   0x4800
#define HANDLER   0x5000
#define STACK_OLD 0x8000
#define STACK_NEW 0x9000

#define SEL_OLD   0x18
#define SEL_NEW   0x20
#define SEL_DPL3  0x28 /* data, DPL 3 */
#define SEL_CODEN 0x30 /* code, not present */
#define SEL_DATAN 0x38 /* data, not present */
#define SEL_SHORT 0x40 /* a TSS with limit 0x40 */

static const struct vmm_engine *eng = &vmm_engine_interp;
static uint8_t *ram;
static void *vm_cookie, *vc;
static struct vm_exit ex;

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

static uint64_t
tss_desc(uint32_t base, uint32_t limit, unsigned int access)
{
	return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40;
}

static void
put32(uint32_t at, uint32_t v)
{
	memcpy(ram + at, &v, 4);
}

static uint32_t
get32(uint32_t at)
{
	uint32_t v;

	memcpy(&v, ram + at, 4);
	return v;
}

/* The new task's TSS: flat ring 0 at NEW_EIP. */
static void
new_tss(uint16_t cs, uint16_t ss, uint16_t ds, uint16_t ldt)
{
	put32(TSS_NEW + 0x20, NEW_EIP);
	put32(TSS_NEW + 0x24, 0x2);
	put32(TSS_NEW + 0x38, STACK_NEW);
	put32(TSS_NEW + 0x48, 0x10);
	put32(TSS_NEW + 0x4c, cs);
	put32(TSS_NEW + 0x50, ss);
	put32(TSS_NEW + 0x54, ds);
	put32(TSS_NEW + 0x58, 0x10);
	put32(TSS_NEW + 0x5c, 0x10);
	put32(TSS_NEW + 0x60, ldt);
}

static void
setup(const uint8_t *code, size_t len)
{
	const uint64_t gdt[] = {
		0,
		0x00cf9b000000ffffULL, /* 0x08 code */
		0x00cf93000000ffffULL, /* 0x10 data */
		tss_desc(TSS_OLD, 0x67, 0x8b),
		tss_desc(TSS_NEW, 0x67, 0x89),
		0x00cff3000000ffffULL, /* 0x28 data, DPL 3 */
		0x00cf1b000000ffffULL, /* 0x30 code, not present */
		0x00cf13000000ffffULL, /* 0x38 data, not present */
		tss_desc(TSS_NEW, 0x40, 0x89),
	};

	teardown();
	ram = aligned_alloc(4096, RAM_SIZE);
	CU_ASSERT_FATAL(ram != NULL);
	CU_ASSERT_FATAL(eng->vm_init(NULL, &vm_cookie, NULL, 0) == 0);
	CU_ASSERT_FATAL(eng->mem_map(vm_cookie, 0, 0, RAM_SIZE, ram, false) ==
			0);
	CU_ASSERT_FATAL(eng->vcpu_init(vm_cookie, NULL, 0, &vc) == 0);
	memset(ram, 0, RAM_SIZE);
	memcpy(ram + GDT, gdt, sizeof(gdt));
	for (unsigned int v = 0; v < 32; v++) {
		uint32_t h = HANDLER + v;
		uint64_t g = (h & 0xffff) | 0x08ULL << 16 | 0x8eULL << 40 |
			     (uint64_t)(h >> 16) << 48;

		memcpy(ram + IDT + 8 * v, &g, 8);
		ram[h] = 0xf4;
	}
	ram[NEW_EIP] = 0xf4;
	memcpy(ram + CODE, code, len);
	new_tss(0x08, 0x10, 0x10, 0);

	eng->setreg(vc, VM_REG_GUEST_CR0, CR0_PE | CR0_ET);
	eng->setdesc(vc, VM_REG_GUEST_GDTR,
		     &(struct seg_desc){ GDT, sizeof(gdt) - 1, 0 });
	eng->setdesc(vc, VM_REG_GUEST_IDTR, &(struct seg_desc){ IDT, 0xff, 0 });
	for (int r = VM_REG_GUEST_ES; r <= VM_REG_GUEST_GS; r++) {
		bool cs = r == VM_REG_GUEST_CS;

		eng->setreg(vc, r, cs ? 0x08 : 0x10);
		eng->setdesc(vc, r,
			     &(struct seg_desc){ 0, 0xffffffff,
						 (cs ? 0x9b : 0x93) |
						     X86_SEG_DB | 0x8000 });
	}
	eng->setreg(vc, VM_REG_GUEST_TR, SEL_OLD);
	eng->setdesc(vc, VM_REG_GUEST_TR,
		     &(struct seg_desc){ TSS_OLD, 0x67, 0x8b });
	eng->setreg(vc, VM_REG_GUEST_LDTR, 0);
	eng->setdesc(vc, VM_REG_GUEST_LDTR,
		     &(struct seg_desc){ 0, 0, X86_SEG_UNUSABLE });
	eng->setreg(vc, VM_REG_GUEST_RSP, STACK_OLD);
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

/* ljmp $sel, $0; hlt */
static void
setup_jmp(uint16_t sel)
{
	const uint8_t jmp[] = {
		0xea, 0, 0, 0, 0, (uint8_t)sel, (uint8_t)(sel >> 8), 0xf4
	};

	setup(jmp, sizeof(jmp));
}

/*
 * Run to the handler of 'vec' and check its frame: the error code, the
 * EIP it returns to, TR; new: raised in the new task (on its stack).
 */
static void
expect(unsigned int vec, uint32_t ec, bool new)
{
	uint32_t sp;

	CU_ASSERT_FATAL(eng->run(vc, &ex) == 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), HANDLER + vec + 1);
	sp = (uint32_t)reg(VM_REG_GUEST_RSP);
	CU_ASSERT_EQUAL(sp, (new ? STACK_NEW : STACK_OLD) - 16);
	CU_ASSERT_EQUAL(get32(sp), ec);
	CU_ASSERT_EQUAL(get32(sp + 4), new ? NEW_EIP : CODE);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_TR), new ? SEL_NEW : SEL_OLD);
}

/* Before the commit: the old task's. */
static void
test_old_context(void)
{
	/* A TSS below the minimum limit: #TS(sel). */
	setup_jmp(SEL_SHORT);
	expect(10, SEL_SHORT, false);
	/* A busy TSS: #GP(sel); the running one is. */
	setup_jmp(SEL_OLD);
	expect(13, SEL_OLD, false);
	/* Not present: #NP(sel). */
	setup_jmp(SEL_NEW);
	ram[GDT + SEL_NEW + 5] &= 0x7f;
	expect(11, SEL_NEW, false);
	teardown();
}

/* After the commit: the new task's, with the selector at fault. */
static void
test_new_context(void)
{
	/* CS a data segment: #TS(cs). */
	setup_jmp(SEL_NEW);
	new_tss(0x10, 0x10, 0x10, 0);
	expect(10, 0x10, true);
	/* CS not present: #NP(cs). */
	setup_jmp(SEL_NEW);
	new_tss(SEL_CODEN, 0x10, 0x10, 0);
	expect(11, SEL_CODEN, true);
	/* SS of DPL 3 for CPL 0: #TS(ss). */
	setup_jmp(SEL_NEW);
	new_tss(0x08, SEL_DPL3, 0x10, 0);
	expect(10, SEL_DPL3, true);
	/* SS not present: #SS(ss). */
	setup_jmp(SEL_NEW);
	new_tss(0x08, SEL_DATAN, 0x10, 0);
	expect(12, SEL_DATAN, true);
	/* DS not present: #NP(ds). */
	setup_jmp(SEL_NEW);
	new_tss(0x08, 0x10, SEL_DATAN, 0);
	expect(11, SEL_DATAN, true);
	/* LDTR a code segment: #TS(ldt). */
	setup_jmp(SEL_NEW);
	new_tss(0x08, 0x10, 0x10, 0x08);
	expect(10, 0x08, true);
	/* A selector past the GDT limit: #TS, not #GP. */
	setup_jmp(SEL_NEW);
	new_tss(0x08, 0x10, 0x1f8, 0);
	expect(10, 0x1f8, true);
	teardown();
}

/* A clean switch: state saved and loaded, busy bits, link, NT, TS. */
static void
test_switch(void)
{
	static const uint8_t call[] = { 0x9a, 0, 0, 0, 0, SEL_NEW, 0, 0xf4 };

	setup(call, sizeof(call));
	eng->setreg(vc, VM_REG_GUEST_RBX, 0x600dcafe);
	put32(TSS_NEW + 0x28, 0x1234); /* EAX */
	CU_ASSERT_FATAL(eng->run(vc, &ex) == 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), NEW_EIP + 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RAX), 0x1234);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RSP), STACK_NEW);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_TR), SEL_NEW);
	CU_ASSERT(reg(VM_REG_GUEST_RFLAGS) & (1u << 14)); /* NT */
	CU_ASSERT(reg(VM_REG_GUEST_CR0) & CR0_TS);
	CU_ASSERT_EQUAL(get32(TSS_OLD + 0x20), CODE + 7); /* EIP */
	CU_ASSERT_EQUAL(get32(TSS_OLD + 0x34), 0x600dcafe);
	CU_ASSERT_EQUAL(get32(TSS_NEW) & 0xffff, SEL_OLD); /* link */
	CU_ASSERT_EQUAL(ram[GDT + SEL_NEW + 5], 0x8b);     /* busy */
	CU_ASSERT_EQUAL(ram[GDT + SEL_OLD + 5], 0x8b);     /* nested */
	teardown();
}

/* An exception through a task gate: its error code on the new task's
 * stack, EXT in the error code of a fault before the switch. */
static void
test_task_gate(void)
{
	uint64_t g = (uint64_t)SEL_NEW << 16 | 0x85ULL << 40;

	setup_jmp(SEL_OLD); /* busy: #GP(0x18) */
	memcpy(ram + IDT + 8 * 13, &g, 8);
	CU_ASSERT_FATAL(eng->run(vc, &ex) == 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), NEW_EIP + 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RSP), STACK_NEW - 4);
	CU_ASSERT_EQUAL(get32(STACK_NEW - 4), SEL_OLD);
	CU_ASSERT_EQUAL(get32(TSS_OLD + 0x20), CODE); /* a fault: at it */
	CU_ASSERT_EQUAL(get32(TSS_NEW) & 0xffff, SEL_OLD);
	/* The gate's TSS busy already: #GP(sel | EXT) in the old task. */
	setup_jmp(SEL_OLD);
	memcpy(ram + IDT + 8 * 13, &g, 8);
	ram[GDT + SEL_NEW + 5] = 0x8b;
	CU_ASSERT_FATAL(eng->run(vc, &ex) == 0);
	/* #GP while delivering #GP: #DF, through its interrupt gate. */
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), HANDLER + 8 + 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_TR), SEL_OLD);
	teardown();
}

/* The new TSS's T bit: #DB (DR6.BT) before its first instruction. */
static void
test_trap_bit(void)
{
	setup_jmp(SEL_NEW);
	ram[TSS_NEW + 0x64] = 1;
	CU_ASSERT_FATAL(eng->run(vc, &ex) == 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), HANDLER + 1 + 1);
	CU_ASSERT_EQUAL(get32(STACK_NEW - 12), NEW_EIP);
	CU_ASSERT(reg(VM_REG_GUEST_DR6) & (1u << 15));
	teardown();
}

/* A 16-bit TSS: IP, FLAGS, the registers' low halves (the high ones
 * become ones), ES CS SS DS; FS and GS null. */
static void
test_tss16(void)
{
	const uint64_t d16 = tss_desc(TSS_NEW, 0x2b, 0x81);
	const uint16_t img[] = { NEW_EIP, 0x2,       0x1234, 0,   0,
				 0,       STACK_NEW, 0,      0,   0,
				 0x10,    0x08,      0x10,   0x10 };

	setup_jmp(SEL_NEW);
	memcpy(ram + GDT + SEL_NEW, &d16, 8);
	memset(ram + TSS_NEW, 0, 0x68);
	memcpy(ram + TSS_NEW + 0x0e, img, sizeof(img));
	CU_ASSERT_FATAL(eng->run(vc, &ex) == 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), NEW_EIP + 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RAX), 0xffff1234);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RSP), 0xffff0000 | STACK_NEW);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_FS), 0);
	CU_ASSERT_EQUAL(ram[GDT + SEL_NEW + 5], 0x83); /* busy */
	CU_ASSERT_EQUAL(ram[GDT + SEL_OLD + 5], 0x89); /* JMP: not */
	teardown();
}

/* IRET with NT: the link must name a busy TSS (#TS(link)). */
static void
test_iret(void)
{
	static const uint8_t iret[] = { 0xcf, 0xf4 };

	setup(iret, sizeof(iret));
	eng->setreg(vc, VM_REG_GUEST_RFLAGS, PSL_1 | (1u << 14));
	put32(TSS_OLD, SEL_NEW); /* available */
	expect(10, SEL_NEW, false);
	/* A busy one: back to it, the running task no longer busy. */
	setup(iret, sizeof(iret));
	eng->setreg(vc, VM_REG_GUEST_RFLAGS, PSL_1 | (1u << 14));
	put32(TSS_OLD, SEL_NEW);
	ram[GDT + SEL_NEW + 5] = 0x8b;
	CU_ASSERT_FATAL(eng->run(vc, &ex) == 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_HLT);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_RIP), NEW_EIP + 1);
	CU_ASSERT_EQUAL(reg(VM_REG_GUEST_TR), SEL_NEW);
	CU_ASSERT_EQUAL(ram[GDT + SEL_OLD + 5], 0x89);
	CU_ASSERT_EQUAL(ram[GDT + SEL_NEW + 5], 0x8b);
	CU_ASSERT_EQUAL(get32(TSS_OLD + 0x24) & (1u << 14), 0); /* NT */
	teardown();
}

static CU_TestInfo tests[] = {
	{ "faults before the switch", test_old_context },
	{ "faults in the new task", test_new_context },
	{ "CALL to a TSS", test_switch },
	{ "exception through a task gate", test_task_gate },
	{ "IRET to the linked task", test_iret },
	{ "T bit", test_trap_bit },
	{ "16-bit TSS", test_tss16 },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "interp_task", tests },
	{ NULL, NULL },
};
