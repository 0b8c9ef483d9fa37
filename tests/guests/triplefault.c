/*
 * triplefault: load an IDT with limit 0 and raise #UD.  The #UD cannot be
 * delivered (#GP), nor can the #GP (#DF), nor the #DF: a triple fault,
 * which rhyve reports with status 3.
 */
#include "guest.h"

int
guest_main(void)
{
	struct guest_dtr empty = { .limit = 0, .base = 0 };

	guest_printf("triplefault: raising #UD with an empty IDT\n");
	lidt(&empty);
	__asm__ volatile("ud2");
	guest_printf("triplefault: FAILED: still running after ud2\n");
	return GUEST_EXIT_FAIL;
}
