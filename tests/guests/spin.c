/*
 * spin: a busy loop that only interrupts stop.  The PIT runs at 1 kHz on
 * IRQ0 and the guest counts loop iterations, with no exit inside the
 * loop, until 50 interrupts have come; each interrupt records the count
 * it interrupted.  On kvm every one of those interrupts lands where a
 * host timer kicked the vCPU out, so a replay of this run has to find
 * each point again (by breakpoint and full register compare) to print
 * the same counts.  The count lives in a register: the compare can tell
 * one iteration from the next (a loop whose progress is only in memory
 * is where a replay on kvm can land in the wrong iteration; see
 * docs/usage.md).
 */
#include "guest.h"
#include "pc.h"

#define TICKS 50

static uint64_t at[TICKS];
static volatile int ticks;

static void
on_irq0(struct guest_trap_frame *tf)
{
	/* The interrupted loop's count: r12 in the saved registers. */
	if (ticks < TICKS)
		at[ticks] = tf->r12;
	ticks++;
	outb(PIC_M_CMD, PIC_EOI);
}

int
guest_main(void)
{
	register uint64_t count __asm__("r12") = 0;
	uint64_t sum = 0;

	guest_idt_init();
	guest_set_trap_handler(PIC_M_BASE, on_irq0);
	pic_init(0x01, 0x01);
	pic_set_mask((uint16_t)~1u);
	pit_program(0, 2, 1193); /* rate generator, 1 kHz */
	sti();
	__asm__ volatile("1: incq %0\n\t"
			 "cmpl %1, %2\n\t"
			 "jl 1b"
			 : "+r"(count)
			 : "i"(TICKS), "m"(ticks));
	cli();
	pit_stop(0);
	for (int i = 0; i < TICKS; i++)
		sum = sum * 31 + at[i];
	GUEST_ASSERT(at[TICKS - 1] > at[0]);
	guest_printf("spin: %d interrupts, first at %lu, last at %lu, "
		     "hash %lx\n",
		     TICKS, (unsigned long)at[0], (unsigned long)at[TICKS - 1],
		     (unsigned long)sum);
	guest_printf("spin: ok\n");
	return 0;
}
