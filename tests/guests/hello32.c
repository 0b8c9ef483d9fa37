/*
 * hello32: an ELF32 guest, entered in flat 32-bit protected mode with
 * paging off.  Prints a greeting, checks that state and powers off.
 */
#include "guest.h"

#define CR0_PE   0x00000001UL
#define CR0_PG   0x80000000UL
#define FLAGS_IF 0x00000200UL

static volatile uint8_t bss_probe[256];

int
guest_main(void)
{
	size_t i;

	guest_printf("Hello from the 32-bit rhyve guest\n");

	GUEST_ASSERT_EQ(sizeof(void *), 4);
	GUEST_ASSERT((read_cr0() & (CR0_PE | CR0_PG)) == CR0_PE);
	GUEST_ASSERT_EQ(read_cs(), 0x08);
	GUEST_ASSERT_EQ(read_ds(), 0x10);
	GUEST_ASSERT_EQ(read_es(), 0x10);
	GUEST_ASSERT_EQ(read_ss(), 0x10);
	GUEST_ASSERT_EQ(read_fs(), 0x10);
	GUEST_ASSERT_EQ(read_gs(), 0x10);
	GUEST_ASSERT((read_flags() & FLAGS_IF) == 0);
	for (i = 0; i < sizeof(bss_probe); i++)
		GUEST_ASSERT_EQ(bss_probe[i], 0);
	/* 64-bit formatting works without libgcc. */
	GUEST_ASSERT_EQ(sizeof(unsigned long long), 8);
	guest_printf("hello32: %llu 0x%llx %d\n", 18446744073709551615ULL,
		     0x123456789abcdef0ULL, -42);
	return 0;
}
