/*
 * tasksw.c's assembly: the fault handlers (which resume the main code at
 * fault_resume, or act as the virtual-8086 monitor), the #DF task, the
 * ring-0 handler of INT 0x30 from virtual-8086 mode, the IRET into
 * virtual-8086 mode and its way back, and the 8086 code itself (copied
 * to V86_SEG:0 by tasksw.c).
 */
#define V86_SEG 0x2000
#define FLAGS_VM 0x20000
#define FLAGS_NT 0x4000

	.text
	.code32

/*
 * #TS, #NP and #GP (interrupt gates, all with an error code).  From
 * virtual-8086 mode: the monitor.  Else record the vector and error
 * code and resume at fault_resume (clearing NT in the frame if
 * fault_clear_nt: a failed task return leaves it set).
 */
.macro FAULT vec
	.globl	fault_\vec
fault_\vec:
	testl	$FLAGS_VM, 12(%esp)
	jnz	v86_monitor
	pushl	%eax
	movl	4(%esp), %eax
	movl	%eax, fault_ec
	movl	$\vec, fault_vec
	movl	fault_resume, %eax
	movl	%eax, 8(%esp)
	cmpl	$0, fault_clear_nt
	je	1f
	andl	$~FLAGS_NT, 16(%esp)
1:	popl	%eax
	addl	$4, %esp
	iret
.endm
	FAULT	10
	FAULT	11
	FAULT	13

/*
 * The virtual-8086 monitor, on the ring-0 stack of the TSS: error code,
 * EIP CS EFLAGS ESP SS ES DS FS GS of the 8086 program.  It emulates
 * CLI (counts it), records INT n and a refused OUT and skips them;
 * HLT ends the 8086 program (v86_back).
 */
v86_monitor:
	pushl	%eax
	pushl	%ebx
	pushl	%ecx
	movw	%ds, %bx		/* null: recorded once DS is usable */
	movl	$0x10, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movzwl	%bx, %ebx
	movl	%ebx, mon_ds
	movl	12(%esp), %eax
	movl	%eax, mon_ec
	movl	12+24(%esp), %eax
	movl	%eax, mon_es
	movzwl	12+8(%esp), %eax
	shll	$4, %eax
	addl	12+4(%esp), %eax
	movzbl	(%eax), %ecx
	movl	$1, %ebx
	cmpb	$0xf4, %cl		/* HLT */
	je	v86_back
	cmpb	$0xfa, %cl		/* CLI */
	jne	1f
	incl	mon_cli
	jmp	2f
1:	cmpb	$0xcd, %cl		/* INT n */
	jne	1f
	movzbl	1(%eax), %ecx
	movl	%ecx, mon_int
	movl	$2, %ebx
	jmp	2f
1:	cmpb	$0xe6, %cl		/* OUT imm8, AL */
	jne	1f
	movzbl	1(%eax), %ecx
	movl	%ecx, mon_io
	movl	$2, %ebx
	jmp	2f
1:	incl	mon_unknown
	jmp	v86_back
2:	addl	%ebx, 12+4(%esp)
	popl	%ecx
	popl	%ebx
	popl	%eax
	addl	$4, %esp
	iret

/* void v86_iret_run(void): enter the 8086 program by IRET (IOPL 0) and
 * come back when it halts. */
	.globl	v86_iret_run
v86_iret_run:
	pushal
	movl	%esp, v86_saved_esp
	pushl	$0			/* GS */
	pushl	$0			/* FS */
	pushl	$V86_SEG		/* DS */
	pushl	$V86_SEG		/* ES */
	pushl	$V86_SEG		/* SS */
	pushl	$0xfffe			/* ESP */
	pushl	$(FLAGS_VM | 0x2)	/* EFLAGS: VM, IOPL 0 */
	pushl	$V86_SEG		/* CS */
	pushl	$(v86_code_a - v86_code)	/* EIP */
	iret
v86_back:
	movl	$0x10, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	movl	v86_saved_esp, %esp
	popal
	ret

/* INT 0x30 from the virtual-8086 task (IOPL 3: through the IDT, a DPL-3
 * gate): record the frame and the data segments, back to the main task. */
	.globl	v86_int30
v86_int30:
	movw	%ds, %bx
	movl	$0x10, %eax
	movw	%ax, %ds
	movzwl	%bx, %ebx
	movl	%ebx, int30_ds
	movl	8(%esp), %eax
	movl	%eax, int30_eflags
	movl	4(%esp), %eax
	movl	%eax, int30_cs
	movl	24(%esp), %eax		/* EIP CS EFLAGS ESP SS ES DS */
	movl	%eax, int30_ds_saved
	ljmp	$0x18, $0
	/* Never resumed. */
1:	hlt
	jmp	1b

/* The #DF task: the error code on its stack, resume the main task at
 * df_resume through the back link (IRET with NT). */
	.globl	df_task
df_task:
	popl	%eax
	movl	%eax, df_ec
	pushfl
	popl	df_flags
	incl	df_runs
	movl	df_resume, %eax
	movl	%eax, tss_main + 0x20
	iret
	jmp	df_task

/* The 8086 program, copied to V86_SEG:0. */
	.code16
	.globl	v86_code, v86_code_end, v86_code_a, v86_code_b
v86_code:
v86_code_a:			/* IOPL 0: the monitor sees CLI, INT, OUT */
	movw	$0x1234, %ax
	movw	%ax, 0x100
	movw	$0xe0, %dx
	movl	$0x76543210, %eax
	outl	%eax, %dx	/* allowed by the I/O bitmap */
	cli
	int	$0x21
	outb	%al, $0x80	/* refused by the I/O bitmap */
	movw	%ss, %ax
	movw	%ax, 0x102
	hlt
v86_code_b:			/* IOPL 3, a task of its own */
	pushfw
	popfw
	cli
	sti
	movw	$0xe0, %dx
	movl	$0xfeedf00d, %eax
	outl	%eax, %dx
	movw	$0x5678, 0x104
	int	$0x30
v86_code_end:

	.section .note.GNU-stack, "", @progbits
