/*
 * random: reads host-random data from the pc-testdev random port (0xe4)
 * in 1, 2 and 4-byte reads, prints it and writes it back to the scratch
 * register, and reads the same through a string instruction.  A recorded
 * run must replay with the same numbers: they come from the trace.
 */
#include "guest.h"

#define RANDOM_PORT 0xe4

static int
random_round(int round)
{
	uint32_t a = inl(RANDOM_PORT);
	uint16_t b = inw(RANDOM_PORT);
	uint8_t c = inb(RANDOM_PORT);
	uint32_t buf[4], *dst = buf;
	uint64_t n = 4;

	__asm__ volatile("rep insl"
			 : "+D"(dst), "+c"(n)
			 : "d"(RANDOM_PORT)
			 : "memory");
	outl(TESTDEV_SCRATCH, a ^ b ^ c ^ buf[0] ^ buf[3]);
	guest_printf("random %d: %08x %04x %02x %08x..%08x\n", round, a, b, c,
		     buf[0], buf[3]);
	return (a | b | c | buf[0] | buf[1] | buf[2] | buf[3]) != 0;
}

int
guest_main(void)
{
	int nonzero = 0;

	for (int i = 0; i < 8; i++)
		nonzero += random_round(i);
	/* 8 rounds of 15 random bytes, all zero: the port is broken. */
	GUEST_ASSERT(nonzero > 0);
	guest_printf("random: ok\n");
	return 0;
}
