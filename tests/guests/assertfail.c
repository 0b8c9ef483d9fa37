/*
 * assertfail: a guest assertion that fails on purpose, so the test harness
 * is seen to catch a failing guest (rhyve status 127).
 */
#include "guest.h"

int
guest_main(void)
{
	volatile int one = 1;

	guest_printf("assertfail: asserting 1 + 1 == 3\n");
	GUEST_ASSERT(one + one == 3);
	guest_printf("assertfail: FAILED: the assertion passed\n");
	return 0;
}
