/*
 * Entry of 64-bit guests.  The loader enters in long mode with the first
 * 4 GiB identity-mapped, CS=0x08, the data segments 0x10, interrupts off,
 * no IDT and no stack.  Set up a stack and the exception IDT, run
 * guest_main() and exit with its return value.
 */
	.section .text.start, "ax", @progbits
	.code64
	.globl	_start
	.type	_start, @function
_start:
	cli
	cld
	movq	$guest_stack_top, %rsp
	xorl	%ebp, %ebp
	call	guest_idt_init
	call	guest_main
	movl	%eax, %edi
	call	guest_exit
1:	cli
	hlt
	jmp	1b
	.size	_start, . - _start

	.section .bss.stack, "aw", @nobits
	.balign	16
	.globl	guest_stack_bottom
guest_stack_bottom:
	.skip	16384
	.globl	guest_stack_top
guest_stack_top:

	.section .note.GNU-stack, "", @progbits
