/*
 * Entry of 32-bit guests.  The loader enters in flat 32-bit protected mode
 * with paging off, CS=0x08, the data segments 0x10, interrupts off and no
 * stack.  Set up a stack, run guest_main() and exit with its return value.
 * No IDT: an exception triple-faults (rhyve status 3).
 */
	.section .text.start, "ax", @progbits
	.code32
	.globl	_start
	.type	_start, @function
_start:
	cli
	cld
	movl	$guest_stack_top, %esp
	xorl	%ebp, %ebp
	call	guest_main
	subl	$12, %esp	/* keep %esp 16-byte aligned at the call */
	pushl	%eax
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
