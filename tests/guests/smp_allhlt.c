/*
 * smp_allhlt: every vCPU of a 2-vCPU guest (-c 2) halts with interrupts
 * disabled, the BSP first: nothing can wake any of them, so the VM halts
 * (status 2) once the last one, the AP, halts.
 */
#include "guest.h"
#include "pc.h"
#include "smp.h"

static volatile uint32_t ap_in, bsp_halting;

void
ap_main(void)
{
	ap_in = 1;
	/* Halt after the BSP has, so that the AP is the last one. */
	GUEST_ASSERT(smp_wait_for(&bsp_halting, 1));
	pm_delay_us(20000);
	guest_printf("smp_allhlt: AP halting last\n");
	cli();
	hlt();
	guest_printf("smp_allhlt: FAILED: AP still running after hlt\n");
	guest_exit(GUEST_EXIT_FAIL);
}

int
guest_main(void)
{
	smp_setup();
	smp_start_ap(1);
	GUEST_ASSERT(smp_wait_for(&ap_in, 1));
	guest_printf("smp_allhlt: BSP halting with interrupts disabled\n");
	cli();
	bsp_halting = 1;
	hlt();
	guest_printf("smp_allhlt: FAILED: BSP still running after hlt\n");
	return GUEST_EXIT_FAIL;
}
