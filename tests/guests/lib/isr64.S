/*
 * Entry stubs for exception vectors 0-31 and interrupt vectors 32-255.
 * Each pushes an error code (0 where the CPU pushes none) and its vector,
 * then the common path saves the general registers as struct
 * guest_trap_frame (guest.h), calls guest_trap() with it and returns with
 * IRETQ.
 */
	.code64
	.text

.macro	ISR_NOERR vec
	.balign	16
isr\vec:
	pushq	$0
	pushq	$\vec
	jmp	isr_common
.endm

.macro	ISR_ERR vec
	.balign	16
isr\vec:
	pushq	$\vec
	jmp	isr_common
.endm

	ISR_NOERR 0
	ISR_NOERR 1
	ISR_NOERR 2
	ISR_NOERR 3
	ISR_NOERR 4
	ISR_NOERR 5
	ISR_NOERR 6
	ISR_NOERR 7
	ISR_ERR   8
	ISR_NOERR 9
	ISR_ERR   10
	ISR_ERR   11
	ISR_ERR   12
	ISR_ERR   13
	ISR_ERR   14
	ISR_NOERR 15
	ISR_NOERR 16
	ISR_ERR   17
	ISR_NOERR 18
	ISR_NOERR 19
	ISR_NOERR 20
	ISR_ERR   21
	ISR_NOERR 22
	ISR_NOERR 23
	ISR_NOERR 24
	ISR_NOERR 25
	ISR_NOERR 26
	ISR_NOERR 27
	ISR_NOERR 28
	ISR_ERR   29
	ISR_ERR   30
	ISR_NOERR 31

/*
 * Vectors 32-255, exactly 16 bytes apart from guest_irq_stubs (idt.c
 * computes their addresses): no error code.  The jump is encoded by hand
 * (JMP rel32) so that every stub has a known size.
 */
	.balign	16
	.globl	guest_irq_stubs
guest_irq_stubs:
	.set	vec, 32
	.rept	224
1:	pushq	$0
	pushq	$vec
	.byte	0xe9
	.long	isr_common - (. + 4)
	.fill	16 - (. - 1b), 1, 0xcc
	.set	vec, vec + 1
	.endr

	.balign	16
	.type	isr_common, @function
isr_common:
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r12
	pushq	%r11
	pushq	%r10
	pushq	%r9
	pushq	%r8
	pushq	%rbp
	pushq	%rdi
	pushq	%rsi
	pushq	%rdx
	pushq	%rcx
	pushq	%rbx
	pushq	%rax
	cld
	movq	%rsp, %rdi	/* struct guest_trap_frame * */
	movq	%rsp, %rbx	/* callee-saved: the frame across the call */
	andq	$-16, %rsp
	call	guest_trap
	movq	%rbx, %rsp
	popq	%rax
	popq	%rbx
	popq	%rcx
	popq	%rdx
	popq	%rsi
	popq	%rdi
	popq	%rbp
	popq	%r8
	popq	%r9
	popq	%r10
	popq	%r11
	popq	%r12
	popq	%r13
	popq	%r14
	popq	%r15
	addq	$16, %rsp	/* vector and error code */
	iretq
	.size	isr_common, . - isr_common

	.section .rodata
	.balign	8
	.globl	guest_isr_table
guest_isr_table:
	.irp	vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	isr\vec
	.endr

	.section .note.GNU-stack, "", @progbits
