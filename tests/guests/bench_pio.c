/*
 * bench_pio: exactly 1,000,000 `out %al, %dx` to the pc-testdev scratch
 * port 0xe0, then exit through the debug-exit port with 0 (rhyve status
 * 1).  Prints nothing, so that a bare KVM loop that handles only ports
 * 0xe0 and 0xf4 can run it too.
 */
#include "guest.h"

#define BENCH_PIO_COUNT 1000000

int
guest_main(void)
{
	uint32_t n = BENCH_PIO_COUNT;

	__asm__ volatile("1: outb %%al, %%dx\n\t"
			 "decl %0\n\t"
			 "jnz 1b"
			 : "+r"(n)
			 : "a"((uint8_t)0), "d"((uint16_t)TESTDEV_SCRATCH)
			 : "cc");
	return 0;
}
