/*
 * hlt: HLT with interrupts disabled can never wake up; rhyve stops the VM
 * with status 2 (halt).
 */
#include "guest.h"

int
guest_main(void)
{
	guest_printf("hlt: halting with interrupts disabled\n");
	cli();
	hlt();
	guest_printf("hlt: FAILED: still running after hlt\n");
	return GUEST_EXIT_FAIL;
}
