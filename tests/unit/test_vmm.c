/*
 * kmod with the kvm and interp engines: VM life cycle, memory segments,
 * registers and vm_run() on a few real-mode instructions, the same on
 * both engines (interp needs no /dev/kvm).
 */
#include <errno.h>
#include <string.h>

#include "cunit.h"
#include "vmm.h"
#include "vmm_impl.h" /* vm_exit_decode(), tested directly */
#include "x86.h"

static void
test_create_errors(void)
{
	char err[256];
	struct vm *vm;

	CU_ASSERT_EQUAL(vm_create("x", "nosuchengine", &vm, err, sizeof(err)),
			EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nosuchengine"));
	if (!unit_have_kvm())
		return;
	CU_ASSERT_EQUAL(vm_create("", "kvm", &vm, err, sizeof(err)), EINVAL);
}

static void
test_memory(void)
{
	char err[256];
	struct vm *vm;
	uint8_t *lo, *hi, *dev;
	size_t len;

	if (!unit_have_kvm())
		return;
	CU_ASSERT_FATAL(vm_create("mem", "kvm", &vm, err, sizeof(err)) == 0);
	/* 4 GiB + 64 MiB: 3 GiB low, the rest from 4 GiB. */
	CU_ASSERT_EQUAL_FATAL(vm_setup_memory(vm, (4ULL << 30) + (64 << 20)),
			      0);
	CU_ASSERT_EQUAL(vm_lowmem_size(vm), 3ULL << 30);
	CU_ASSERT_EQUAL(vm_highmem_size(vm), (1ULL << 30) + (64 << 20));
	lo = vm_map_gpa(vm, 0, 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lo);
	CU_ASSERT_PTR_NULL(vm_map_gpa(vm, 3ULL << 30, 1));       /* the hole */
	CU_ASSERT_PTR_NULL(vm_map_gpa(vm, (3ULL << 30) - 1, 2)); /* straddles */
	hi = vm_map_gpa(vm, 4ULL << 30, 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hi);
	CU_ASSERT_PTR_EQUAL(hi, lo + (3ULL << 30)); /* one segment, in order */
	CU_ASSERT_PTR_NULL(vm_map_gpa(vm, ~0ULL - 1, 4));
	CU_ASSERT_EQUAL(vm_setup_memory(vm, 1 << 20), EEXIST);

	/* A named devmem segment, mapped, moved and unmapped. */
	CU_ASSERT_EQUAL(vm_alloc_memseg(vm, 1, 1 << 16, false, "bootrom"), 0);
	CU_ASSERT_EQUAL(vm_alloc_memseg(vm, 1, 1 << 16, false, "again"),
			EEXIST);
	CU_ASSERT_EQUAL(vm_alloc_memseg(vm, 2, 100, false, "odd"), EINVAL);
	CU_ASSERT_EQUAL(vm_alloc_memseg(vm, 2, 4096, false, ""), EINVAL);
	dev = vm_memseg_ptr(vm, 1, &len);
	CU_ASSERT_EQUAL(len, 1 << 16);
	dev[5] = 0x5a;
	CU_ASSERT_EQUAL(vm_mmap_memseg(vm, 0xfff00000, 1, 0, 1 << 16, true), 0);
	CU_ASSERT_EQUAL(((uint8_t *)vm_map_gpa(vm, 0xfff00000, 8))[5], 0x5a);
	CU_ASSERT_EQUAL(vm_mmap_memseg(vm, 0x1000, 1, 0, 4096, false), EEXIST);
	CU_ASSERT_EQUAL(vm_mmap_memseg(vm, 0xe0000000, 1, 0, 1 << 17, false),
			EINVAL); /* longer than the segment */
	CU_ASSERT_EQUAL(vm_munmap_memseg(vm, 0xfff00000, 1 << 16), 0);
	CU_ASSERT_PTR_NULL(vm_map_gpa(vm, 0xfff00000, 8));
	CU_ASSERT_EQUAL(vm_mmap_memseg(vm, 0xe0000000, 1, 0, 1 << 16, false),
			0);
	CU_ASSERT_EQUAL(((uint8_t *)vm_map_gpa(vm, 0xe0000000, 8))[5], 0x5a);
	vm_destroy(vm);
}

static bool
engine_usable(const char *engine)
{
	return strcmp(engine, "kvm") != 0 || unit_have_kvm();
}

static void
registers(const char *engine)
{
	struct seg_desc d,
	    cs = { .base = 0x10000,
		   .limit = 0xffff,
		   .access = SEG_ACC_TYPE(SDT_MEMERA) | SEG_ACC_S | SEG_ACC_P };
	char err[256];
	struct vm *vm;
	struct vcpu *vcpu;
	uint64_t v;

	if (!engine_usable(engine))
		return;
	CU_ASSERT_FATAL(vm_create("regs", engine, &vm, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL_FATAL(vm_vcpu_create(vm, 0, &vcpu), 0);
	CU_ASSERT_EQUAL(vm_vcpu_create(vm, 0, NULL), EEXIST);
	CU_ASSERT_EQUAL(vm_vcpu_create(vm, VM_MAXCPU, NULL), EINVAL);
	CU_ASSERT_PTR_EQUAL(vm_vcpu(vm, 0), vcpu);
	CU_ASSERT_EQUAL(vm_vcpu_count(vm), 1);

	/* Architectural reset state, as KVM creates it (and interp). */
	CU_ASSERT_EQUAL(vm_get_register(vcpu, VM_REG_GUEST_RIP, &v), 0);
	CU_ASSERT_EQUAL(v, 0xfff0);
	CU_ASSERT_EQUAL(vm_get_seg_desc(vcpu, VM_REG_GUEST_CS, &d), 0);
	CU_ASSERT_EQUAL(d.base, 0xffff0000);

	for (int r = VM_REG_GUEST_RAX; r <= VM_REG_GUEST_R15; r++) {
		CU_ASSERT_EQUAL(vm_set_register(vcpu, r, 0x1000 + r), 0);
	}
	for (int r = VM_REG_GUEST_RAX; r <= VM_REG_GUEST_R15; r++) {
		CU_ASSERT_EQUAL(vm_get_register(vcpu, r, &v), 0);
		CU_ASSERT_EQUAL(v, 0x1000 + (uint64_t)r);
	}
	CU_ASSERT_EQUAL(vm_set_register(vcpu, VM_REG_GUEST_CR3, 0x5000), 0);
	CU_ASSERT_EQUAL(vm_get_register(vcpu, VM_REG_GUEST_CR3, &v), 0);
	CU_ASSERT_EQUAL(v, 0x5000);
	CU_ASSERT_EQUAL(vm_set_register(vcpu, VM_REG_GUEST_DR0, 0xdead0), 0);
	CU_ASSERT_EQUAL(vm_get_register(vcpu, VM_REG_GUEST_DR0, &v), 0);
	CU_ASSERT_EQUAL(v, 0xdead0);
	CU_ASSERT_EQUAL(vm_set_register(vcpu, VM_REG_GUEST_SS, 0x18), 0);
	CU_ASSERT_EQUAL(vm_get_register(vcpu, VM_REG_GUEST_SS, &v), 0);
	CU_ASSERT_EQUAL(v, 0x18); /* segment registers: the selector */
	CU_ASSERT_EQUAL(vm_set_register(vcpu, VM_REG_GUEST_SS, 0x10000),
			EINVAL);
	CU_ASSERT_EQUAL(vm_get_register(vcpu, VM_REG_GUEST_GDTR, &v), EINVAL);
	CU_ASSERT_EQUAL(vm_get_register(vcpu, VM_REG_LAST, &v), EINVAL);

	CU_ASSERT_EQUAL(vm_set_seg_desc(vcpu, VM_REG_GUEST_CS, &cs), 0);
	CU_ASSERT_EQUAL(vm_get_seg_desc(vcpu, VM_REG_GUEST_CS, &d), 0);
	CU_ASSERT_EQUAL(d.base, cs.base);
	CU_ASSERT_EQUAL(d.limit, cs.limit);
	CU_ASSERT_EQUAL(d.access, cs.access);
	CU_ASSERT_EQUAL(vm_get_seg_desc(vcpu, VM_REG_GUEST_RAX, &d), EINVAL);

	CU_ASSERT_EQUAL(vm_set_msr(vcpu, MSR_LSTAR, 0xffffffff81000000ULL), 0);
	CU_ASSERT_EQUAL(vm_get_msr(vcpu, MSR_LSTAR, &v), 0);
	CU_ASSERT_EQUAL(v, 0xffffffff81000000ULL);
	CU_ASSERT_NOT_EQUAL(vm_get_msr(vcpu, 0xdeadbeef, &v), 0);
	vm_destroy(vm);
}

/*
 * Real-mode code at 0x1000 with 64 KiB of RAM: OUT, IN (from 0x62: kmod
 * owns 0x61), an MMIO read and an MMIO write to unbacked 0x20000, then
 * HLT with interrupts off.
 */
static const uint8_t realmode_code[] = {
	0xb0, 0x42,                         /* mov al, 0x42 */
	0xe6, 0xe0,                         /* out 0xe0, al */
	0xe4, 0x99,                         /* in al, 0x99 */
	0xe6, 0xe1,                         /* out 0xe1, al */
	0xb8, 0x00, 0x20,                   /* mov ax, 0x2000 */
	0x8e, 0xd8,                         /* mov ds, ax */
	0xa1, 0x00, 0x00,                   /* mov ax, [0] */
	0xe7, 0xe2,                         /* out 0xe2, ax */
	0xc7, 0x06, 0x10, 0x00, 0x34, 0x12, /* mov word [0x10], 0x1234 */
	0xf4,                               /* hlt */
};

static void
run_realmode(const char *engine)
{
	struct seg_desc cs = { .base = 0,
			       .limit = 0xffff,
			       .access = SEG_ACC_TYPE(SDT_MEMERA) | SEG_ACC_S |
					 SEG_ACC_P };
	struct vm_exit ex;
	char err[256];
	struct vm *vm;
	struct vcpu *vcpu;
	uint8_t *mem;

	if (!engine_usable(engine))
		return;
	CU_ASSERT_FATAL(vm_create("run", engine, &vm, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL_FATAL(vm_setup_memory(vm, 1 << 16), 0);
	CU_ASSERT_EQUAL_FATAL(vm_vcpu_create(vm, 0, &vcpu), 0);
	mem = vm_map_gpa(vm, 0x1000, sizeof(realmode_code));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	memcpy(mem, realmode_code, sizeof(realmode_code));
	CU_ASSERT_EQUAL(vm_set_seg_desc(vcpu, VM_REG_GUEST_CS, &cs), 0);
	CU_ASSERT_EQUAL(vm_set_register(vcpu, VM_REG_GUEST_RIP, 0x1000), 0);
	CU_ASSERT_EQUAL(vm_set_register(vcpu, VM_REG_GUEST_RFLAGS, PSL_1), 0);

	memset(&ex, 0, sizeof(ex));
	CU_ASSERT_EQUAL_FATAL(vm_run(vcpu, &ex), 0);
	CU_ASSERT_EQUAL_FATAL(ex.exitcode, VM_EXITCODE_INOUT);
	/*
	 * KVM reports the OUT's own address on the VT-x fast path, the next
	 * one where its emulator ran the OUT (PVM hosts); kmod's decode
	 * pins the exit to the instruction either way.
	 */
	CU_ASSERT_EQUAL(ex.rip, 0x1002);
	CU_ASSERT_TRUE(ex.has_insn);
	CU_ASSERT_EQUAL(ex.inst_length, 2);
	CU_ASSERT_EQUAL(ex.insn.mnem, X86_M_OUT);
	CU_ASSERT_EQUAL(memcmp(ex.insn_bytes, "\xe6\xe0", 2), 0);
	CU_ASSERT_EQUAL(ex.u.inout.port, 0xe0);
	CU_ASSERT_EQUAL(ex.u.inout.bytes, 1);
	CU_ASSERT_FALSE(ex.u.inout.in);
	CU_ASSERT_EQUAL(ex.u.inout.data[0], 0x42);

	CU_ASSERT_EQUAL_FATAL(vm_run(vcpu, &ex), 0);
	CU_ASSERT_EQUAL_FATAL(ex.exitcode, VM_EXITCODE_INOUT);
	CU_ASSERT_TRUE(ex.u.inout.in);
	CU_ASSERT_EQUAL(ex.u.inout.port, 0x99);
	ex.u.inout.data[0] = 0x77; /* the value IN returns */

	CU_ASSERT_EQUAL_FATAL(vm_run(vcpu, &ex), 0);
	CU_ASSERT_EQUAL_FATAL(ex.exitcode, VM_EXITCODE_INOUT);
	CU_ASSERT_EQUAL(ex.u.inout.port, 0xe1);
	CU_ASSERT_EQUAL(ex.u.inout.data[0], 0x77);

	CU_ASSERT_EQUAL_FATAL(vm_run(vcpu, &ex), 0);
	CU_ASSERT_EQUAL_FATAL(ex.exitcode, VM_EXITCODE_MMIO);
	CU_ASSERT_EQUAL(ex.u.mmio.gpa, 0x20000);
	CU_ASSERT_EQUAL(ex.u.mmio.bytes, 2);
	CU_ASSERT_FALSE(ex.u.mmio.write);
	CU_ASSERT_EQUAL(ex.rip, 0x100d); /* mov ax, [0] in 16-bit mode */
	CU_ASSERT_EQUAL(ex.inst_length, 3);
	CU_ASSERT_EQUAL(ex.insn.mode, X86_MODE_16);
	ex.u.mmio.data = 0xbeef; /* the value the load returns */

	CU_ASSERT_EQUAL_FATAL(vm_run(vcpu, &ex), 0);
	CU_ASSERT_EQUAL_FATAL(ex.exitcode, VM_EXITCODE_INOUT);
	CU_ASSERT_EQUAL(ex.u.inout.port, 0xe2);
	CU_ASSERT_EQUAL(ex.u.inout.bytes, 2);
	CU_ASSERT_EQUAL(ex.u.inout.data[0] | ex.u.inout.data[1] << 8, 0xbeef);

	CU_ASSERT_EQUAL_FATAL(vm_run(vcpu, &ex), 0);
	CU_ASSERT_EQUAL_FATAL(ex.exitcode, VM_EXITCODE_MMIO);
	CU_ASSERT_EQUAL(ex.u.mmio.gpa, 0x20010);
	CU_ASSERT_TRUE(ex.u.mmio.write);
	CU_ASSERT_EQUAL(ex.rip, 0x1012); /* mov word [0x10], 0x1234 */
	CU_ASSERT_EQUAL(ex.inst_length, 6);
	CU_ASSERT_EQUAL(ex.u.mmio.data, 0x1234);

	/*
	 * HLT with interrupts off on the only vCPU: nothing can wake it,
	 * so kmod halts the VM itself.
	 */
	CU_ASSERT_EQUAL_FATAL(vm_run(vcpu, &ex), 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_SUSPENDED);
	CU_ASSERT_EQUAL(ex.u.suspended.how, VM_SUSPEND_HALT);
	CU_ASSERT_EQUAL(vm_suspended(vm), VM_SUSPEND_HALT);

	/* A suspended VM does not run again. */
	CU_ASSERT_EQUAL(vm_suspend(vm, VM_SUSPEND_RESET), EALREADY);
	CU_ASSERT_EQUAL(vm_run(vcpu, &ex), 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_SUSPENDED);
	CU_ASSERT_EQUAL(ex.u.suspended.how, VM_SUSPEND_HALT);
	vm_destroy(vm);
}

static void
test_registers_kvm(void)
{
	registers("kvm");
}

static void
test_registers_interp(void)
{
	registers("interp");
}

static void
test_run_kvm(void)
{
	run_realmode("kvm");
}

static void
test_run_interp(void)
{
	run_realmode("interp");
}

/*
 * vm_exit_decode() on made-up exits: it finds the instruction before or at
 * rip, and names both sides when the report does not match it.
 */
static void
test_decode_check(void)
{
	static const uint8_t code[] = { 0x90, 0xe6, 0xe0 }; /* nop; out 0xe0 */
	struct seg_desc cs = { .base = 0,
			       .limit = 0xffff,
			       .access = SEG_ACC_TYPE(SDT_MEMERA) | SEG_ACC_S |
					 SEG_ACC_P };
	uint8_t data = 0x42;
	struct vm_exit ex;
	char err[256];
	struct vm *vm;
	struct vcpu *vcpu;

	if (!unit_have_kvm())
		return;
	CU_ASSERT_FATAL(vm_create("dec", "kvm", &vm, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL_FATAL(vm_setup_memory(vm, 1 << 16), 0);
	CU_ASSERT_EQUAL_FATAL(vm_vcpu_create(vm, 0, &vcpu), 0);
	memcpy(vm_map_gpa(vm, 0x2000, sizeof(code)), code, sizeof(code));
	CU_ASSERT_EQUAL(vm_set_seg_desc(vcpu, VM_REG_GUEST_CS, &cs), 0);

	/* Reported after the OUT, as KVM's emulator does: found at 0x2001. */
	for (uint64_t rip = 0x2001; rip <= 0x2003; rip += 2) {
		memset(&ex, 0, sizeof(ex));
		ex.exitcode = VM_EXITCODE_INOUT;
		ex.rip = rip;
		ex.u.inout = (struct vm_inout){
			.port = 0xe0, .bytes = 1, .count = 1, .data = &data
		};
		CU_ASSERT_EQUAL(vm_exit_decode(vcpu, &ex), 0);
		CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_INOUT);
		CU_ASSERT_TRUE(ex.has_insn);
		CU_ASSERT_EQUAL(ex.rip, 0x2001);
		CU_ASSERT_EQUAL(ex.inst_length, 2);
	}

	/* The engine says port 0x99: no instruction there does that. */
	memset(&ex, 0, sizeof(ex));
	ex.exitcode = VM_EXITCODE_INOUT;
	ex.rip = 0x2001;
	ex.u.inout = (struct vm_inout){
		.port = 0x99, .bytes = 1, .count = 1, .data = &data
	};
	CU_ASSERT_EQUAL(vm_exit_decode(vcpu, &ex), 0);
	CU_ASSERT_EQUAL_FATAL(ex.exitcode, VM_EXITCODE_ENGINE_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(ex.u.error.msg, "port 0x99"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ex.u.error.msg, "out 0xe0, al"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ex.u.error.msg, "another port"));

	/* An MMIO read reported at an OUT. */
	memset(&ex, 0, sizeof(ex));
	ex.exitcode = VM_EXITCODE_MMIO;
	ex.rip = 0x2001;
	ex.u.mmio = (struct vm_mmio){ .gpa = 0x30000, .bytes = 4 };
	CU_ASSERT_EQUAL(vm_exit_decode(vcpu, &ex), 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_ENGINE_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(ex.u.error.msg, "MMIO read"));
	vm_destroy(vm);
}

/*
 * The x87/SSE state a checkpoint holds (CKPT_DEVICE "fpu") and XCR0 as
 * a register, on interp: the state round-trips, a difference in what
 * the guest decides is found, the last instruction's pointers are not
 * compared, a bad blob or XCR0 is refused.
 */
static void
test_fpu_state(void)
{
	uint8_t blob[VM_FPU_STATE_SIZE], blob2[VM_FPU_STATE_SIZE];
	struct vm_fpu f, g;
	char err[256], why[256];
	struct vcpu *vcpu;
	struct vm *vm;
	uint64_t v;

	CU_ASSERT_FATAL(vm_create("fpu", "interp", &vm, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL_FATAL(vm_vcpu_create(vm, 0, &vcpu), 0);
	CU_ASSERT_EQUAL_FATAL(vm_get_fpu(vcpu, &f), 0);
	f.fcw = 0x27f;
	f.fsw = 0x3800;
	f.ftw = 0x81;
	f.fop = 0x123;
	f.fip = 0x1234567890ULL;
	f.mxcsr = 0x9fc0;
	for (int i = 0; i < 16; i++)
		memset(f.xmm[i], i + 1, 16);
	memset(f.st[7], 0x77, 10);
	CU_ASSERT_EQUAL(vm_set_fpu(vcpu, &f), 0);
	CU_ASSERT_EQUAL(vm_fpu_get_state(vcpu, blob), VM_FPU_STATE_SIZE);
	CU_ASSERT_TRUE(
	    vm_fpu_state_matches(vcpu, blob, sizeof(blob), why, sizeof(why)));
	/* Something else, then the checkpoint's loaded back. */
	memset(f.xmm[5], 0, 16);
	f.fop = 0;
	CU_ASSERT_EQUAL(vm_set_fpu(vcpu, &f), 0);
	CU_ASSERT_FALSE(
	    vm_fpu_state_matches(vcpu, blob, sizeof(blob), why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "XMM5"));
	CU_ASSERT_EQUAL(vm_fpu_set_state(vcpu, blob, sizeof(blob)), 0);
	CU_ASSERT_EQUAL(vm_get_fpu(vcpu, &g), 0);
	CU_ASSERT_EQUAL(g.xmm[5][0], 6);
	CU_ASSERT_EQUAL(g.fop, 0x123);
	CU_ASSERT_EQUAL(g.fip, 0x1234567890ULL);
	CU_ASSERT_EQUAL(g.mxcsr, 0x9fc0);
	CU_ASSERT_EQUAL(g.st[7][9], 0x77);
	/* FOP/FIP/FDP are not compared; MXCSR is. */
	memcpy(blob2, blob, sizeof(blob));
	blob2[6] ^= 1;
	blob2[8] ^= 1;
	CU_ASSERT_TRUE(
	    vm_fpu_state_matches(vcpu, blob2, sizeof(blob2), why, sizeof(why)));
	blob2[24] ^= 1;
	CU_ASSERT_FALSE(
	    vm_fpu_state_matches(vcpu, blob2, sizeof(blob2), why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "MXCSR"));
	CU_ASSERT_EQUAL(vm_fpu_set_state(vcpu, blob, 100), EINVAL);
	CU_ASSERT_FALSE(
	    vm_fpu_state_matches(vcpu, blob, 100, why, sizeof(why)));
	/* XCR0: x87 always, SSE, nothing else. */
	CU_ASSERT_EQUAL(vm_get_register(vcpu, VM_REG_GUEST_XCR0, &v), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(vm_set_register(vcpu, VM_REG_GUEST_XCR0, 3), 0);
	CU_ASSERT_EQUAL(vm_get_register(vcpu, VM_REG_GUEST_XCR0, &v), 0);
	CU_ASSERT_EQUAL(v, 3);
	CU_ASSERT_EQUAL(vm_set_register(vcpu, VM_REG_GUEST_XCR0, 2), EINVAL);
	CU_ASSERT_EQUAL(vm_set_register(vcpu, VM_REG_GUEST_XCR0, 7), EINVAL);
	vm_destroy(vm);
}

/*
 * The run states of a checkpoint (vmm_run_state.c): an AP waiting for its
 * SIPI and its exit count, and whose turn it is, taken, compared, loaded
 * into another VM; blobs of a wrong size or layout refused.
 */
static void
test_run_state(void)
{
	uint8_t v1[VM_VCPU_STATE_SIZE], sc[VM_SCHED_STATE_SIZE];
	uint8_t bad[VM_SCHED_STATE_SIZE];
	struct vcpu *a0, *a1, *b0, *b1;
	char err[256], why[256];
	struct vm *a, *b;

	CU_ASSERT_FATAL(vm_create("rsa", "interp", &a, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(vm_create("rsb", "interp", &b, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL_FATAL(vm_vcpu_create(a, 0, &a0), 0);
	CU_ASSERT_EQUAL_FATAL(vm_vcpu_create(a, 1, &a1), 0);
	CU_ASSERT_EQUAL_FATAL(vm_vcpu_create(b, 0, &b0), 0);
	CU_ASSERT_EQUAL_FATAL(vm_vcpu_create(b, 1, &b1), 0);
	/* VM a: its AP got a SIPI (vector 0x10) and made 7 exits. */
	vm_vcpu_sipi(a1, 0x10);
	a1->exits = 7;
	CU_ASSERT_EQUAL(vm_vcpu_get_state(a1, v1), VM_VCPU_STATE_SIZE);
	CU_ASSERT_TRUE(
	    vm_vcpu_state_matches(a1, v1, sizeof(v1), why, sizeof(why)));
	/* b's AP waits without one: differs, then loaded. */
	CU_ASSERT_FALSE(
	    vm_vcpu_state_matches(b1, v1, sizeof(v1), why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "SIPI vector 16"));
	CU_ASSERT_EQUAL(vm_vcpu_set_state(b1, v1, sizeof(v1)), 0);
	CU_ASSERT_EQUAL(b1->sipi_vector, 0x10);
	CU_ASSERT_TRUE(b1->parked);
	CU_ASSERT_EQUAL(b1->exits, 7);
	CU_ASSERT_TRUE(
	    vm_vcpu_state_matches(b1, v1, sizeof(v1), why, sizeof(why)));
	b1->exits = 8;
	CU_ASSERT_FALSE(
	    vm_vcpu_state_matches(b1, v1, sizeof(v1), why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "7 exits"));
	CU_ASSERT_EQUAL(vm_vcpu_set_state(b1, v1, 31), EINVAL);
	memcpy(bad, v1, sizeof(v1));
	bad[0] = 2; /* a later layout */
	CU_ASSERT_EQUAL(vm_vcpu_set_state(b1, bad, sizeof(v1)), EINVAL);
	bad[0] = 1;
	bad[8] = 0x00, bad[9] = 0x01; /* SIPI vector 256 */
	CU_ASSERT_EQUAL(vm_vcpu_set_state(b1, bad, sizeof(v1)), EINVAL);

	/* The turn: vCPU 1's in a, loaded into b (vCPU 0's there). */
	CU_ASSERT_EQUAL(vm_turn_vcpu(b), b0);
	{
		struct vm_sched_state st;

		vm_sched_get_state(a, &st);
		st.owner = st.last = 1;
		st.turn_end = 12345;
		CU_ASSERT_EQUAL(vm_sched_set_state(a, &st), 0);
		st.owner = 5; /* a vCPU a does not have */
		CU_ASSERT_EQUAL(vm_sched_set_state(a, &st), EINVAL);
	}
	CU_ASSERT_EQUAL(vm_sched_get_blob(a1, sc), VM_SCHED_STATE_SIZE);
	CU_ASSERT_FALSE(
	    vm_sched_blob_matches(b0, sc, sizeof(sc), why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "vCPU 1's turn"));
	CU_ASSERT_EQUAL(vm_sched_set_blob(b1, sc, sizeof(sc)), 0);
	CU_ASSERT_EQUAL(vm_turn_vcpu(b), b1);
	CU_ASSERT_EQUAL(b1->sched_end, 12345);
	CU_ASSERT_TRUE(
	    vm_sched_blob_matches(b0, sc, sizeof(sc), why, sizeof(why)));
	CU_ASSERT_EQUAL(vm_sched_set_blob(b1, sc, 40), EINVAL);
	vm_destroy(a);
	vm_destroy(b);
}

static CU_TestInfo vmm_tests[] = {
	{ "create errors", test_create_errors },
	{ "memory segments", test_memory },
	{ "kvm: registers, segments, MSRs", test_registers_kvm },
	{ "interp: registers, segments, MSRs", test_registers_interp },
	{ "kvm run: port I/O, MMIO, HLT", test_run_kvm },
	{ "interp run: port I/O, MMIO, HLT", test_run_interp },
	{ "decode checked against the exit", test_decode_check },
	{ "interp: x87/SSE state and XCR0 in checkpoints", test_fpu_state },
	{ "interp: vCPU and scheduler run states in checkpoints",
	  test_run_state },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "kmod", vmm_tests },
	{ NULL, NULL },
};
