/*
 * The instructions mmio_insn.c runs once on RAM and once on mem-testdev's
 * MMIO window, and the harness that runs one of them (mt_run).
 *
 * Every case is a few instructions with a memory operand based on %r15
 * (the region under test: RAM in the first run, the MMIO window in the
 * second, at the same offset) and sometimes %r14 (a second buffer that is
 * RAM in both runs: string moves between RAM and MMIO).  MT FLAGS, CODE
 * (its instructions as separate quoted arguments, at most eight) puts
 * CODE into .text.mtcases followed by a jump back to the harness,
 * and a table entry {code, the text of CODE, FLAGS} into .data.mttab,
 * between mt_table and mt_table_end.  The harness enters a case with
 * every GPR, RFLAGS and the FXSAVE image (x87, MXCSR, XMM) from mt_in
 * and stores them to mt_out when it comes back; an exception inside a
 * case is caught by mmio_insn.c and resumes at mt_return too.
 *
 * 0xf80 is %r15's offset in its 8 KiB region, so disp 0x7c..0x7f with 4 or
 * 8 bytes straddle the page boundary in the middle of the region.
 */
#include "mmio_insn.h"

/* The flags of the bit scans and POPCNT. */
	.set	BITSCAN_FLAGS_bsf, 0
	.set	BITSCAN_FLAGS_bsr, 0
	.set	BITSCAN_FLAGS_tzcnt, KVM_WRONG|NEED_BMI1
	.set	BITSCAN_FLAGS_lzcnt, KVM_WRONG|NEED_LZCNT
	.set	BITSCAN_FLAGS_popcnt, KVM_NOEMUL|NEED_POPCNT

	.macro MT flags:req, i1:req, i2, i3, i4, i5, i6, i7, i8
	.pushsection .text.mtcases, "ax", @progbits
.Lmt_code\@:
	\i1
	\i2
	\i3
	\i4
	\i5
	\i6
	\i7
	\i8
	jmp	mt_return
	.popsection
	.pushsection .rodata.mtname, "a", @progbits
.Lmt_name\@:
	.ascii	"\i1"
	.irp	insn, "\i2", "\i3", "\i4", "\i5", "\i6", "\i7", "\i8"
	.ifnb	\insn
	.ascii	"; \insn"
	.endif
	.endr
	.byte	0
	.popsection
	.pushsection .data.mttab, "aw", @progbits
	.quad	.Lmt_code\@, .Lmt_name\@, \flags
	.popsection
	.endm

	.pushsection .data.mttab, "aw", @progbits
	.balign	8
	.globl	mt_table
mt_table:
	.popsection

/* ---- ADD..CMP, TEST ----------------------------------------------------- */
	.irp op, add, or, adc, sbb, and, sub, xor, cmp
	MT 0, "\op\()b %bl, 3(%r15)"
	MT 0, "\op\()w %cx, 0x7f(%r15)"
	MT 0, "\op\()l %edx, 0x10(%r15)"
	MT 0, "\op\()q %rsi, 0x7c(%r15)"
	MT 0, "\op\()q 0x20(%r15), %rdi"
	MT 0, "\op\()b 0x21(%r15), %r8b"
	MT 0, "\op\()w 0x7e(%r15), %r9w"
	MT 0, "\op\()l $0x12345678, 0x28(%r15)"
	MT 0, "\op\()w $-3, 0x2a(%r15)"
	MT 0, "\op\()q $-0x70000000, 0x7a(%r15)"
	MT 0, "\op\()b $0x81, -0x41(%r15)"
	.endr
	.irp op, add, or, adc, sbb, and, sub, xor
	MT 0, "lock \op\()q %r8, 0x30(%r15)"
	MT 0, "lock \op\()b $0x7f, 0x7f(%r15)"
	MT 0, "lock \op\()l %r10d, 0x7d(%r15)"
	.endr
	MT 0, "testb $0x81, 5(%r15)"
	MT 0, "testw $0x8001, 0x7f(%r15)"
	MT 0, "testl %r11d, 0x14(%r15)"
	MT 0, "testq %r9, 0x7b(%r15)"
	MT 0, "testq $-2, 0x18(%r15)"

/* ---- INC/DEC/NEG/NOT ----------------------------------------------------- */
	.irp op, inc, dec, neg, not
	MT 0, "\op\()b 0x11(%r15)"
	MT 0, "\op\()w 0x7f(%r15)"
	MT 0, "\op\()l 0x14(%r15)"
	MT 0, "\op\()q 0x7c(%r15)"
	MT 0, "lock \op\()q 0x38(%r15)"
	MT 0, "lock \op\()w 0x7f(%r15)"
	.endr

/* ---- shifts and rotates -------------------------------------------------- */
	.irp op, rol, ror, rcl, rcr, shl, shr, sar
	MT 0, "\op\()b 1(%r15)"
	MT 0, "\op\()w $5, 0x7f(%r15)"
	MT 0, "\op\()l %cl, 4(%r15)"
	MT 0, "\op\()q $13, 8(%r15)"
	MT 0, "\op\()q %cl, 0x7d(%r15)"
	MT 0, "movb $1, %cl", "\op\()l %cl, 0x24(%r15)"
	MT 0, "movb $17, %cl", "\op\()w %cl, 0x26(%r15)"
	MT 0, "movb $9, %cl", "\op\()b %cl, 0x27(%r15)"
	.endr
	MT 0, "shldl $7, %eax, 0x10(%r15)"
	MT 0, "shldq %cl, %rdx, 0x7b(%r15)"
	MT 0, "shldw $3, %si, 0x1e(%r15)"
	MT 0, "movb $20, %cl", "shldw %cl, %di, 0x7f(%r15)"
	MT 0, "shrdl $31, %eax, 0x10(%r15)"
	MT 0, "shrdq %cl, %r8, 0x18(%r15)"
	MT 0, "shrdw $3, %si, 0x1e(%r15)"
	MT 0, "movb $1, %cl", "shrdq %cl, %r8, 0x7c(%r15)"

/* ---- MUL/IMUL/DIV/IDIV --------------------------------------------------- */
	MT 0, "mulb 1(%r15)"
	MT 0, "mulw 0x7f(%r15)"
	MT 0, "mull 4(%r15)"
	MT 0, "mulq 0x7c(%r15)"
	MT 0, "imulb 1(%r15)"
	MT 0, "imulw 2(%r15)"
	MT 0, "imull 0x7e(%r15)"
	MT 0, "imulq 8(%r15)"
	MT 0, "imulw 2(%r15), %si"
	MT 0, "imull 0x7d(%r15), %ecx"
	MT 0, "imulq 8(%r15), %r12"
	MT 0, "imulq $-7, 8(%r15), %rdx"
	MT 0, "imulw $300, 0x7f(%r15), %si"
	MT 0, "imull $0x1234567, 4(%r15), %r13d"
	MT 0, "movzbl 1(%r15), %eax", "divb 1(%r15)"
	MT 0, "movl $7, %eax", "divb 1(%r15)"
	MT 0, "xorl %edx, %edx", "divw 0x7f(%r15)"
	MT 0, "xorl %edx, %edx", "divl 4(%r15)"
	MT 0, "xorl %edx, %edx", "divq 0x7c(%r15)"
	MT 0, "divq 8(%r15)"
	MT 0, "movq $0, 0x40(%r15)", "divl 0x40(%r15)"
	MT 0, "movw $0, 0x7f(%r15)", "idivw 0x7f(%r15)"
	MT 0, "movsbw %bl, %ax", "idivb 2(%r15)"
	MT 0, "movl %esi, %eax", "cltd", "idivl 4(%r15)"
	MT 0, "movq %rsi, %rax", "cqto", "idivq 0x7d(%r15)"
	MT 0, "movq $1, 8(%r15)", "idivq 8(%r15)"
	MT 0, "movq $-1, 8(%r15)", "movabsq $0x8000000000000000, %rax", "cqto", "idivq 8(%r15)"

/* ---- BT/BTS/BTR/BTC, the bit scans, POPCNT ------------------------------- */
	.irp op, bt, bts, btr, btc
	MT 0, "\op\()w $13, 3(%r15)"
	MT 0, "\op\()l $37, 0x7c(%r15)"
	MT 0, "\op\()q $63, 8(%r15)"
	MT 0, "movl $-700, %ecx", "\op\()l %ecx, 0x80(%r15)"
	MT 0, "movq $1000, %rax", "\op\()q %rax, (%r15)"
	MT 0, "movw $-129, %dx", "\op\()w %dx, 0x7f(%r15)"
	MT 0, "movq $0x3ff, %r9", "\op\()q %r9, -0x80(%r15)"
	.endr
	.irp op, bts, btr, btc
	MT 0, "movl $99, %ecx", "lock \op\()l %ecx, 0x10(%r15)"
	MT 0, "lock \op\()q $3, 0x7b(%r15)"
	.endr
	.irp op, bsf, bsr, tzcnt, lzcnt, popcnt
	MT BITSCAN_FLAGS_\op, "\op\()w 0x7f(%r15), %ax"
	MT BITSCAN_FLAGS_\op, "\op\()l 4(%r15), %ecx"
	MT BITSCAN_FLAGS_\op, "\op\()q 0x7c(%r15), %rdx"
	MT BITSCAN_FLAGS_\op, "movq $0, 8(%r15)", "\op\()q 8(%r15), %rsi"
	MT BITSCAN_FLAGS_\op, "movl $0x100, 4(%r15)", "\op\()l 4(%r15), %edi"
	.endr

/* ---- XCHG, XADD, CMPXCHG, CMPXCHG8B/16B ---------------------------------- */
	MT 0, "xchgb %cl, 3(%r15)"
	MT 0, "xchgw %dx, 0x7f(%r15)"
	MT 0, "xchgl %esi, 4(%r15)"
	MT 0, "xchgq %rax, 0x7c(%r15)"
	MT 0, "lock xaddb %dl, 5(%r15)"
	MT 0, "xaddw %r8w, 6(%r15)"
	MT 0, "lock xaddl %edx, 0x7d(%r15)"
	MT 0, "lock xaddq %r9, 8(%r15)"
	MT 0, "cmpxchgb %cl, 3(%r15)"
	MT 0, "movb 3(%r15), %al", "cmpxchgb %cl, 3(%r15)"
	MT 0, "cmpxchgw %cx, 0x7f(%r15)"
	MT 0, "movl 4(%r15), %eax", "lock cmpxchgl %ecx, 4(%r15)"
	MT 0, "lock cmpxchgq %rcx, 8(%r15)"
	MT 0, "movq 0x7c(%r15), %rax", "lock cmpxchgq %rcx, 0x7c(%r15)"
	MT 0, "cmpxchg8b 0x10(%r15)"
	MT 0, "movl 0x10(%r15), %eax", "movl 0x14(%r15), %edx", "lock cmpxchg8b 0x10(%r15)"
	MT 0, "movl 0x7c(%r15), %eax", "movl 0x80(%r15), %edx", "lock cmpxchg8b 0x7c(%r15)"
	MT KVM_NOEMUL|NEED_CX16, "cmpxchg16b 0x20(%r15)"
	MT KVM_NOEMUL|NEED_CX16, "movq 0x20(%r15), %rax", "movq 0x28(%r15), %rdx", "lock cmpxchg16b 0x20(%r15)"
	MT NOACCESS|NEED_CX16, "cmpxchg16b 0x28(%r15)"

/* ---- MOV, MOVZX, MOVSX, MOVSXD, MOVBE ------------------------------------ */
	MT 0, "movb %cl, 1(%r15)"
	MT 0, "movw 2(%r15), %dx"
	MT 0, "movl $0x89abcdef, 0x7e(%r15)"
	MT 0, "movq 0x7c(%r15), %rax"
	MT 0, "movq %rsi, 0x7d(%r15)"
	MT 0, "movq $-5, 0x7f(%r15)"
	MT 0, "movb 0x7f(%r15), %r10b"
	MT 0, "movl 0x7d(%r15), %r11d"
	MT 0, "movzbl 0x7f(%r15), %eax"
	MT 0, "movzbw 3(%r15), %cx"
	MT 0, "movzwq 0x7f(%r15), %rdx"
	MT 0, "movzwl 6(%r15), %esi"
	MT 0, "movsbw 3(%r15), %di"
	MT 0, "movsbq 0x7f(%r15), %r8"
	MT 0, "movswl 0x7f(%r15), %r9d"
	MT 0, "movswq 6(%r15), %r10"
	MT 0, "movslq 0x7e(%r15), %rdx"
	MT 0, "movslq 4(%r15), %r12"
	MT NEED_MOVBE|KVM_UD, "movbew 0x7f(%r15), %ax"
	MT NEED_MOVBE|KVM_UD, "movbel 4(%r15), %ecx"
	MT NEED_MOVBE|KVM_UD, "movbeq 0x7b(%r15), %rdx"
	MT NEED_MOVBE|KVM_UD, "movbew %si, 6(%r15)"
	MT NEED_MOVBE|KVM_UD, "movbel %edi, 0x7d(%r15)"
	MT NEED_MOVBE|KVM_UD, "movbeq %r8, 8(%r15)"

/* ---- PUSH/POP m, CMOVcc/SETcc, indirect branches, XLAT ------------------- */
	MT 0, "pushq 8(%r15)"
	MT 0, "pushq 0x7c(%r15)"
	MT 0, "pushw 0x7f(%r15)"
	MT 0, "popq 0x10(%r15)"
	MT 0, "popq 0x7a(%r15)"
	MT 0, "popw 6(%r15)"
	MT 0, "pushq 8(%r15)", "popq 0x7d(%r15)"
	.irp cc, a, be, e, ne, l, ge, s, o, p, b
	MT 0, "cmov\cc\()q 0x7c(%r15), %rax"
	MT 0, "cmov\cc\()l 4(%r15), %ecx"
	MT 0, "cmov\cc\()w 0x7f(%r15), %dx"
	MT 0, "set\cc 0x7f(%r15)"
	.endr
	MT 0, "leaq 1f(%rip), %rax", "movq %rax, 0x7c(%r15)", "xorl %eax, %eax", "jmpq *0x7c(%r15)", "ud2", "1:"
	MT 0, "leaq 1f(%rip), %rax", "movq %rax, 8(%r15)", "xorl %eax, %eax", "callq *8(%r15)", "1:"
	MT NORM_BX, "leaq 0x40(%r15), %rbx", "xlatb"

/* ---- the stack in MMIO: PUSH/POP/CALL/RET/PUSHF/POPF/ENTER/LEAVE (ENTER
 * at level 0 only: a nested frame stores frame pointers, addresses in the
 * region that differ between the runs) --------------------------------- */
	MT KVM_STACK, "movq %rsp, %rbx", "leaq 0x84(%r15), %rsp", "pushq %rax", "pushq %rcx", "popq %rdx", "popq %rsi", "movq %rbx, %rsp"
	MT KVM_STACK, "movq %rsp, %rbx", "leaq 0x82(%r15), %rsp", "pushw %ax", "pushfq", "popq %rcx", "popw %dx", "movq %rbx, %rsp"
	/* (TF cleared in the random image: POPF would set it, and the CPU
	 * would single-step the rest with #DB traps.) */
	MT KVM_STACK, "movq %rsp, %rbx", "andb $0xfe, 0x85(%r15)", "leaq 0x84(%r15), %rsp", "popfq", "pushfq", "popq %rcx", "movq %rbx, %rsp"
	MT KVM_STACK, "movq %rsp, %rbx", "leaq 0x84(%r15), %rsp", "callq 1f", "1:", "popq %rcx", "movq %rbx, %rsp"
	MT KVM_STACK, "leaq 1f(%rip), %rax", "movq %rsp, %rbx", "leaq 0x84(%r15), %rsp", "pushq %rax", "retq", "1:", "movq %rbx, %rsp"
	MT KVM_STACK, "leaq 1f(%rip), %rax", "movq %rsp, %rbx", "leaq 0x84(%r15), %rsp", "pushq %rax", "retq $16", "1:", "movq %rbx, %rsp"
	MT KVM_STACK, "movq %rsp, %rbx", "leaq 0x84(%r15), %rsp", "enterq $24, $0", "pushq %rdi", "leaveq", "movq %rbx, %rsp"
	MT KVM_STACK, "movq %rsp, %rbx", "leaq 0x7f(%r15), %rsp", "enterq $0, $0", "leaveq", "movq %rbx, %rsp"

/* ---- string instructions ------------------------------------------------- */
	MT NORM_SI, "movl $9, %ecx", "leaq 3(%r15), %rsi", "leaq 0x10(%r14), %rdi", "rep movsb"
	MT NORM_DI, "movl $5, %ecx", "leaq (%r14), %rsi", "leaq 0x79(%r15), %rdi", "rep movsq"
	MT NORM_SI|NORM_DI, "movl $7, %ecx", "leaq 0x40(%r15), %rsi", "leaq 0x71(%r15), %rdi", "rep movsw"
	MT NORM_SI, "std", "movl $6, %ecx", "leaq 0x84(%r15), %rsi", "leaq 0x100(%r14), %rdi", "rep movsl"
	MT NORM_DI, "std", "movl $6, %ecx", "leaq 0x20(%r14), %rsi", "leaq 0x82(%r15), %rdi", "rep movsq"
	MT NORM_SI|NORM_DI, "std", "movl $5, %ecx", "leaq 0x30(%r15), %rsi", "leaq 0x36(%r15), %rdi", "rep movsb"
	MT NORM_SI|NORM_DI, "leaq 0x7e(%r15), %rsi", "leaq 0x10(%r15), %rdi", "movsl"
	MT NORM_DI, "movl $11, %ecx", "leaq 0x75(%r15), %rdi", "rep stosb"
	MT NORM_DI, "movl $3, %ecx", "leaq 0x77(%r15), %rdi", "rep stosq"
	MT NORM_DI, "std", "movl $4, %ecx", "leaq 0x82(%r15), %rdi", "rep stosw"
	MT NORM_DI, "leaq 0x7e(%r15), %rdi", "stosl"
	MT NORM_DI|NOACCESS, "xorl %ecx, %ecx", "leaq (%r15), %rdi", "rep stosb"
	MT NORM_SI, "leaq 0x7e(%r15), %rsi", "lodsl"
	MT NORM_SI, "movl $3, %ecx", "leaq 0x78(%r15), %rsi", "rep lodsq"
	MT NORM_SI, "std", "leaq 0x7f(%r15), %rsi", "lodsw"
	MT NORM_DI, "movb 0x18(%r15), %al", "movl $32, %ecx", "leaq (%r15), %rdi", "repne scasb"
	MT NORM_DI, "movw 0x7e(%r15), %ax", "movl $64, %ecx", "leaq 0x40(%r15), %rdi", "repne scasw"
	MT NORM_DI, "movl 0x44(%r15), %eax", "movl $5, %ecx", "leaq 0x44(%r15), %rdi", "repe scasl"
	MT NORM_DI, "std", "movq 0x60(%r15), %rax", "movl $40, %ecx", "leaq 0x88(%r15), %rdi", "repne scasq"
	MT NORM_SI|NORM_DI, "movl $8, %ecx", "leaq 0x40(%r15), %rsi", "leaq 0x40(%r15), %rdi", "repe cmpsq"
	MT NORM_SI, "movl $16, %ecx", "leaq 0x7a(%r15), %rsi", "leaq (%r14), %rdi", "repe cmpsb"
	MT NORM_DI, "movq 0x20(%r15), %rax", "movq %rax, 0x28(%r14)", "movl $4, %ecx", "leaq 0x28(%r14), %rsi", "leaq 0x20(%r15), %rdi", "repe cmpsl"
	MT NORM_SI|NORM_DI, "std", "movl $6, %ecx", "leaq 0x86(%r15), %rsi", "leaq 0x86(%r15), %rdi", "repe cmpsw"
	MT NORM_SI|NORM_DI, "leaq 0x7f(%r15), %rsi", "leaq 1(%r15), %rdi", "cmpsb"

/* ---- x87 ----------------------------------------------------------------- */
	MT KVM_NOEMUL, "flds 4(%r15)"
	MT KVM_NOEMUL, "fldl 0x7c(%r15)"
	MT KVM_NOEMUL, "fldt 0x10(%r15)"
	MT KVM_NOEMUL, "movq $0x3fff, 0x18(%r15)", "fldt 0x10(%r15)"
	MT KVM_NOEMUL, "filds 0x7f(%r15)"
	MT KVM_NOEMUL, "fildl 4(%r15)"
	MT KVM_NOEMUL, "fildll 0x7d(%r15)"
	MT KVM_NOEMUL, "fsts 0x20(%r15)"
	MT KVM_NOEMUL, "fstl 0x7b(%r15)"
	MT KVM_NOEMUL, "fstps 0x20(%r15)"
	MT KVM_NOEMUL, "fstpl 0x28(%r15)"
	MT KVM_NOEMUL, "fstpt 0x7a(%r15)"
	MT KVM_NOEMUL, "fists 0x7f(%r15)"
	MT KVM_NOEMUL, "fistpl 0x30(%r15)"
	MT KVM_NOEMUL, "fistpll 0x38(%r15)"
	MT KVM_NOEMUL|NEED_SSE3, "fisttpl 0x30(%r15)"
	MT KVM_NOEMUL, "fbld 0x40(%r15)"
	MT KVM_NOEMUL, "movabsq $0x1234567890, %rax", "movq %rax, 0x40(%r15)", "movw $0x8000, 0x48(%r15)", "fbld 0x40(%r15)"
	MT KVM_NOEMUL, "fbstp 0x79(%r15)"
	MT KVM_NOEMUL, "fadds 4(%r15)"
	MT KVM_NOEMUL, "fmull 0x7c(%r15)"
	MT KVM_NOEMUL, "fdivrl 8(%r15)"
	MT KVM_NOEMUL, "fiaddl 4(%r15)"
	MT KVM_NOEMUL, "fcomps 0x7e(%r15)"
	MT KVM_NOEMUL, "ficoml 4(%r15)"
	MT 0, "fnstcw 0x7f(%r15)"
	MT 0, "fnstsw 6(%r15)"
	MT KVM_NOEMUL, "movw $0x0c7f, 6(%r15)", "fldcw 6(%r15)"
	MT KVM_NOEMUL, "fnstenv 0x60(%r15)"
	MT KVM_NOEMUL, "fnstenv 0x60(%r15)", "fldenv 0x60(%r15)"
	MT KVM_NOEMUL, "fnstenv 0x6c(%r15)", "movw $0x0040, 0x70(%r15)", "fldenv 0x6c(%r15)"
	MT KVM_NOEMUL, "fnsave -0x100(%r15)"
	MT KVM_NOEMUL, "fnsave -0x100(%r15)", "frstor -0x100(%r15)"
	MT KVM_NOEMUL, "fxsave -0x180(%r15)"
	MT KVM_NOEMUL, "fxsave64 -0x180(%r15)"
	MT KVM_NOEMUL, "fxsave -0x180(%r15)", "fxrstor -0x180(%r15)"
	MT KVM_NOEMUL, "fxsave64 -0x180(%r15)", "movl $0x1234, -0x180+0xa0(%r15)", "fxrstor64 -0x180(%r15)"
	MT KVM_NOEMUL, "fxrstor -0x180(%r15)"
	MT NOACCESS|KVM_NOEMUL, "fxsave -0x178(%r15)"

/* ---- SSE/SSE2/SSSE3 ------------------------------------------------------ */
	MT 0, "movups 7(%r15), %xmm1"
	MT 0, "movups %xmm2, 0x79(%r15)"
	MT 0, "movupd 0x70(%r15), %xmm9"
	MT 0, "movaps (%r15), %xmm3"
	MT 0, "movaps %xmm4, 0x10(%r15)"
	MT 0, "movapd %xmm12, 0x70(%r15)"
	MT NOACCESS, "movaps 8(%r15), %xmm0"
	MT 0, "movdqu 0x7b(%r15), %xmm5"
	MT 0, "movdqu %xmm6, 0x75(%r15)"
	MT 0, "movdqa 0x20(%r15), %xmm7"
	MT 0, "movdqa %xmm8, 0x30(%r15)"
	MT 0, "movntdq %xmm1, 0x40(%r15)"
	MT 0, "movntps %xmm11, 0x50(%r15)"
	MT KVM_NOEMUL|NEED_SSE3, "lddqu 0x71(%r15), %xmm13"
	MT KVM_NOEMUL, "movq 0x7c(%r15), %xmm5"
	MT KVM_NOEMUL, "movq %xmm6, 8(%r15)"
	MT KVM_NOEMUL, "movd 4(%r15), %xmm7"
	MT KVM_NOEMUL, "movd %xmm8, 0x7e(%r15)"
	MT KVM_NOEMUL, "movq 8(%r15), %mm0"
	MT KVM_NOEMUL, "movq %mm1, 0x7d(%r15)"
	MT KVM_NOEMUL, "movsd 0x7c(%r15), %xmm2"
	MT KVM_NOEMUL, "movsd %xmm3, 0x10(%r15)"
	MT KVM_NOEMUL, "movss 0x7e(%r15), %xmm4"
	MT KVM_NOEMUL, "movss %xmm10, 0x14(%r15)"
	MT KVM_NOEMUL, "movlps 0x7c(%r15), %xmm1"
	MT KVM_NOEMUL, "movhps %xmm2, 0x18(%r15)"
	MT KVM_NOEMUL, "movhpd 0x7a(%r15), %xmm14"
	MT KVM_NOEMUL, "movnti %rax, 0x7c(%r15)"
	MT KVM_NOEMUL, "movnti %ecx, 0x14(%r15)"
	MT KVM_NOEMUL|NEED_SSSE3, "pshufb 0x10(%r15), %xmm1"
	MT KVM_NOEMUL, "addps 0x20(%r15), %xmm2"
	MT KVM_NOEMUL, "addsd 0x7c(%r15), %xmm3"
	MT KVM_NOEMUL, "mulss 0x7e(%r15), %xmm9"
	MT KVM_NOEMUL, "paddd 0x30(%r15), %xmm4"
	MT KVM_NOEMUL, "pxor 0x40(%r15), %xmm15"
	MT KVM_NOEMUL, "pcmpeqb 0x50(%r15), %xmm5"
	MT KVM_NOEMUL, "pshufd $0x1b, 0x60(%r15), %xmm6"
	MT KVM_NOEMUL, "punpcklbw 0x70(%r15), %xmm7"
	MT KVM_NOEMUL, "cvtsi2sdq 0x7c(%r15), %xmm4"
	MT KVM_NOEMUL, "cvtsi2ssl 4(%r15), %xmm5"
	MT KVM_NOEMUL, "cvttsd2si 0x10(%r15), %rax"
	MT KVM_NOEMUL, "cvtsd2si 0x7b(%r15), %ecx"
	MT KVM_NOEMUL, "cvtss2sd 4(%r15), %xmm5"
	MT KVM_NOEMUL, "cvtps2pd 8(%r15), %xmm6"
	MT KVM_NOEMUL, "cvtdq2ps 0x30(%r15), %xmm7"
	MT KVM_NOEMUL, "cvtpd2dq 0x40(%r15), %xmm8"
	MT KVM_NOEMUL, "ucomisd 8(%r15), %xmm1"
	MT KVM_NOEMUL, "comiss 0x7e(%r15), %xmm2"
	MT KVM_NOEMUL, "pinsrw $3, 0x7f(%r15), %xmm1"
	MT KVM_NOEMUL, "stmxcsr 0x7e(%r15)"
	MT KVM_NOEMUL, "stmxcsr 4(%r15)", "ldmxcsr 4(%r15)"
	MT KVM_NOEMUL, "movl $0x7f80, 4(%r15)", "ldmxcsr 4(%r15)"
	MT KVM_NOEMUL, "ldmxcsr 4(%r15)"

	MT KVM_NOEMUL|NEED_SSE41, "pextrb $3, %xmm1, 0x7f(%r15)"
	MT KVM_NOEMUL|NEED_SSE41, "pextrd $2, %xmm2, 0x7d(%r15)"
	MT KVM_NOEMUL|NEED_SSE41, "pinsrq $1, 0x7c(%r15), %xmm3"
	MT KVM_NOEMUL|NEED_SSE41, "pmovzxbw 0x7c(%r15), %xmm4"
	MT KVM_NOEMUL|NEED_SSE41, "movntdqa 0x20(%r15), %xmm5"
	MT KVM_NOEMUL|NEED_SSE41, "ptest 0x30(%r15), %xmm6"
	MT KVM_NOEMUL|NEED_SSE42, "pcmpistri $0x0c, 0x75(%r15), %xmm1"
	MT KVM_NOEMUL|NEED_SSE42, "movl $9, %eax", "movl $13, %edx", "pcmpestrm $0x44, 0x71(%r15), %xmm2"
	MT KVM_NOEMUL|NEED_SSE42, "crc32b 0x7f(%r15), %eax"
	MT KVM_NOEMUL|NEED_SSE42, "crc32w 0x7f(%r15), %ecx"
	MT KVM_NOEMUL|NEED_SSE42, "crc32q 0x7c(%r15), %rdx"
	MT KVM_NOEMUL|NORM_DI, "leaq 0x77(%r15), %rdi", "maskmovdqu %xmm1, %xmm2"
	MT KVM_NOEMUL|NEED_XSAVE, "movl $3, %eax", "xorl %edx, %edx", "xsave -0x180(%r15)"
	MT KVM_NOEMUL|NEED_XSAVE, "movl $3, %eax", "xorl %edx, %edx", "xsave64 -0x180(%r15)", "xrstor64 -0x180(%r15)"
	MT KVM_NOEMUL|NEED_XSAVE, "movl $3, %eax", "xorl %edx, %edx", "xsave -0x180(%r15)", "movl $0x2345, -0x180+0xa0(%r15)", "movq $2, -0x180+0x200(%r15)", "xrstor -0x180(%r15)"
	MT KVM_NOEMUL|NEED_XSAVE|NOACCESS, "movl $3, %eax", "xorl %edx, %edx", "xrstor -0x180(%r15)"
	MT KVM_NOEMUL|NEED_XSAVEOPT, "movl $3, %eax", "xorl %edx, %edx", "xsaveopt -0x180(%r15)"
	MT KVM_NOEMUL|NEED_XSAVEC, "movl $3, %eax", "xorl %edx, %edx", "xsavec -0x180(%r15)"

/* ---- BMI1, BMI2, ADX ----------------------------------------------------- */
	MT KVM_NOEMUL|NEED_BMI1, "andnq 0x7c(%r15), %rax, %rcx"
	MT KVM_NOEMUL|NEED_BMI1, "andnl 4(%r15), %edx, %esi"
	MT KVM_NOEMUL|NEED_BMI1, "movl $0x0c04, %edx", "bextrq %rdx, 0x7b(%r15), %rsi"
	MT KVM_NOEMUL|NEED_BMI1, "bextrl %edi, 4(%r15), %r8d"
	MT KVM_NOEMUL|NEED_BMI1, "blsiq 8(%r15), %rax"
	MT KVM_NOEMUL|NEED_BMI1, "blsrl 0x7e(%r15), %ecx"
	MT KVM_NOEMUL|NEED_BMI1, "blsmskq 8(%r15), %rdx"
	MT KVM_NOEMUL|NEED_BMI1, "movq $0, 8(%r15)", "blsrq 8(%r15), %rdx"
	MT KVM_NOEMUL|NEED_BMI2, "movl $37, %eax", "bzhiq %rax, 0x7c(%r15), %rcx"
	MT KVM_NOEMUL|NEED_BMI2, "pdepq 8(%r15), %rax, %rdx"
	MT KVM_NOEMUL|NEED_BMI2, "pextl 0x7d(%r15), %esi, %edi"
	MT KVM_NOEMUL|NEED_BMI2, "mulxq 0x7c(%r15), %rax, %rcx"
	MT KVM_NOEMUL|NEED_BMI2, "mulxl 4(%r15), %r8d, %r9d"
	MT KVM_NOEMUL|NEED_BMI2, "rorxq $13, 8(%r15), %rax"
	MT KVM_NOEMUL|NEED_BMI2, "rorxl $3, 0x7f(%r15), %ecx"
	MT KVM_NOEMUL|NEED_BMI2, "sarxq %rcx, 0x7c(%r15), %rdx"
	MT KVM_NOEMUL|NEED_BMI2, "shlxl %eax, 4(%r15), %esi"
	MT KVM_NOEMUL|NEED_BMI2, "shrxq %rdi, 8(%r15), %r10"
	MT KVM_NOEMUL|NEED_ADX, "adcxq 0x7c(%r15), %rax"
	MT KVM_NOEMUL|NEED_ADX, "adcxl 4(%r15), %ecx"
	MT KVM_NOEMUL|NEED_ADX, "adoxq 8(%r15), %rdx"
	MT KVM_NOEMUL|NEED_ADX, "adoxl 0x7e(%r15), %esi"

/* ---- system: descriptor tables, segment registers (at CPL 3: LGDT and
 * LIDT raise #GP) ------------------------------------------------------ */
	MT KVM_HANG, "sgdt 0x7a(%r15)"
	MT KVM_HANG, "sidt 0x10(%r15)"
	MT KVM_HANG, "sgdt 0x10(%r15)", "lgdt 0x10(%r15)"
	MT KVM_HANG, "sidt 0x7b(%r15)", "lidt 0x7b(%r15)"
	MT 0, "smsww 0x7f(%r15)"
	MT KVM_READS, "strw 6(%r15)"
	MT KVM_READS, "sldtw 6(%r15)"
	MT KVM_SEG, "movw %ds, 0x7f(%r15)"
	MT 0, "movw $0x2b, 6(%r15)", "movw 6(%r15), %es"

	.pushsection .data.mttab, "aw", @progbits
	.globl	mt_table_end
mt_table_end:
	.popsection

/*
 * void mt_run(void): run the case mt_case with mt_in's state (GPRs,
 * RFLAGS, the x87/SSE state of mt_in_fx), leave the state it ends with in
 * mt_out and mt_out_fx.  Called at CPL 3, as everything after the set-up:
 * where KVM runs the guest kernel through its own instruction emulator
 * (PVM), user mode is where the RAM run is the hardware's.  Callee-saved
 * registers stay on the caller's stack, which is left for the case's own
 * (mt_in's rsp); an exception in the case resumes at mt_return.
 */
	.text
	.globl	mt_run
	.type	mt_run, @function
mt_run:
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, mt_host_rsp(%rip)
	fxrstor64 mt_in_fx(%rip)
	pushq	mt_in + MT_RFLAGS * 8(%rip)
	popfq
	movq	mt_in + 0 * 8(%rip), %rax
	movq	mt_in + 1 * 8(%rip), %rcx
	movq	mt_in + 2 * 8(%rip), %rdx
	movq	mt_in + 3 * 8(%rip), %rbx
	movq	mt_in + 5 * 8(%rip), %rbp
	movq	mt_in + 6 * 8(%rip), %rsi
	movq	mt_in + 7 * 8(%rip), %rdi
	movq	mt_in + 8 * 8(%rip), %r8
	movq	mt_in + 9 * 8(%rip), %r9
	movq	mt_in + 10 * 8(%rip), %r10
	movq	mt_in + 11 * 8(%rip), %r11
	movq	mt_in + 12 * 8(%rip), %r12
	movq	mt_in + 13 * 8(%rip), %r13
	movq	mt_in + 14 * 8(%rip), %r14
	movq	mt_in + 15 * 8(%rip), %r15
	movq	mt_in + 4 * 8(%rip), %rsp
	jmpq	*mt_case(%rip)

	.globl	mt_return
mt_return:
	movq	%rax, mt_out + 0 * 8(%rip)
	movq	%rcx, mt_out + 1 * 8(%rip)
	movq	%rdx, mt_out + 2 * 8(%rip)
	movq	%rbx, mt_out + 3 * 8(%rip)
	movq	%rsp, mt_out + 4 * 8(%rip)
	movq	%rbp, mt_out + 5 * 8(%rip)
	movq	%rsi, mt_out + 6 * 8(%rip)
	movq	%rdi, mt_out + 7 * 8(%rip)
	movq	%r8, mt_out + 8 * 8(%rip)
	movq	%r9, mt_out + 9 * 8(%rip)
	movq	%r10, mt_out + 10 * 8(%rip)
	movq	%r11, mt_out + 11 * 8(%rip)
	movq	%r12, mt_out + 12 * 8(%rip)
	movq	%r13, mt_out + 13 * 8(%rip)
	movq	%r14, mt_out + 14 * 8(%rip)
	movq	%r15, mt_out + 15 * 8(%rip)
	movq	mt_host_rsp(%rip), %rsp /* off the compared stack */
	pushfq
	popq	mt_out + MT_RFLAGS * 8(%rip)
	cld
	fxsave64 mt_out_fx(%rip)
	movl	$MT_USER_DS, %eax
	movl	%eax, %es /* a case may have loaded it */
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret
	.size	mt_run, . - mt_run

	.section .note.GNU-stack, "", @progbits
