/*
 * exception: an exception with no handler is reported by the runtime's
 * IDT stubs, which exit with GUEST_EXIT_EXCEPTION (rhyve status 125).
 */
#include "guest.h"

int
guest_main(void)
{
	guest_printf("exception: raising #UD without a handler\n");
	__asm__ volatile("ud2");
	guest_printf("exception: FAILED: still running after ud2\n");
	return GUEST_EXIT_FAIL;
}
