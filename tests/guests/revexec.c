/*
 * revexec: the guest the reverse-execution tests (tests/gdb/reverse.py)
 * record and then debug on the replay.  Built with -g like every test
 * guest.  The PIT runs at 1 kHz; four rounds each
 *  - call rev_round(i), a function to break at, which writes rev_value
 *    (i * 7), a variable to watch;
 *  - print a line on COM1 (port exits) and wait for a timer interrupt
 *    with HLT (an exit, then an injection and the handler),
 * so that between two breakpoint hits there are exits, interrupts and
 * instructions for reverse execution to go back over.  At the end it
 * checks rev_value and the sum of rev_round()'s results and prints
 * "revexec: ok".
 */
#include "guest.h"
#include "pc.h"

#define ROUNDS 4

/* Global, for gdb; prototypes for -Wmissing-prototypes. */
uint64_t rev_round(uint64_t i);

volatile uint64_t rev_value;
volatile uint64_t rev_ticks;

static void
on_irq0(struct guest_trap_frame *tf)
{
	(void)tf;
	rev_ticks++;
	outb(PIC_M_CMD, PIC_EOI);
}

__attribute__((noinline)) uint64_t
rev_round(uint64_t i)
{
	rev_value = i * 7;
	return rev_value + 1;
}

int
guest_main(void)
{
	uint64_t sum = 0;

	guest_idt_init();
	guest_set_trap_handler(PIC_M_BASE, on_irq0);
	pic_init(0x01, 0x01);
	pic_set_mask((uint16_t)~1u);
	pit_program(0, 2, 1193); /* 1 kHz */
	sti();
	for (uint64_t i = 1; i <= ROUNDS; i++) {
		uint64_t t = rev_ticks;

		sum += rev_round(i);
		guest_printf("revexec: round %lu value %lu\n", (unsigned long)i,
			     (unsigned long)rev_value);
		while (rev_ticks == t)
			__asm__ volatile("hlt");
	}
	cli();
	pit_stop(0);
	GUEST_ASSERT_EQ(rev_value, ROUNDS * 7);
	GUEST_ASSERT_EQ(sum, 7 + 14 + 21 + 28 + ROUNDS);
	guest_printf("revexec: ok\n");
	return 0;
}
