/*
 * hello: the smallest guest.  Prints a greeting, checks the state the
 * loader promises for ELF64 kernels and powers off (status 1).
 */
#include "guest.h"

#define CR0_PE   0x00000001UL
#define CR0_PG   0x80000000UL
#define CR4_PAE  0x00000020UL
#define FLAGS_IF 0x00000200UL

static volatile uint8_t bss_probe[256];

int
guest_main(void)
{
	size_t i;

	guest_printf("Hello from the rhyve hello guest\n");

	/* Long mode, paging on, flat segments, interrupts off. */
	GUEST_ASSERT((read_cr0() & (CR0_PE | CR0_PG)) == (CR0_PE | CR0_PG));
	GUEST_ASSERT((read_cr4() & CR4_PAE) != 0);
	GUEST_ASSERT_EQ(read_cs(), 0x08);
	GUEST_ASSERT_EQ(read_ds(), 0x10);
	GUEST_ASSERT_EQ(read_es(), 0x10);
	GUEST_ASSERT_EQ(read_ss(), 0x10);
	GUEST_ASSERT_EQ(read_fs(), 0x10);
	GUEST_ASSERT_EQ(read_gs(), 0x10);
	GUEST_ASSERT((read_flags() & FLAGS_IF) == 0);
	/* The loader zeroes the BSS. */
	for (i = 0; i < sizeof(bss_probe); i++)
		GUEST_ASSERT_EQ(bss_probe[i], 0);
	return 0;
}
