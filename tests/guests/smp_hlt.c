/*
 * smp_hlt: HLT with interrupts disabled on an SMP guest (-c 3), as
 * bhyve's vm_handle_hlt(): an AP that does "cli; hlt" sleeps until an NMI
 * or INIT wakes it, while the BSP goes on; the VM is not halted.
 *   - APs 1 and 2 check in and "cli; hlt"; the BSP runs on and sees them
 *     stay asleep, even with a fixed IPI sent to AP 1 (IF=0: not taken);
 *   - an NMI IPI wakes AP 1: its NMI handler runs and its HLT returns;
 *   - INIT-SIPI-SIPI starts AP 2 again from the trampoline;
 *   - the BSP powers off (status 1) with both APs halted again.
 */
#include "guest.h"
#include "pc.h"
#include "smp.h"

#define NCPUS 3
#define V_IPI 0x40

static volatile uint32_t starts[NCPUS];  /* ap_main() entered */
static volatile uint32_t halting[NCPUS]; /* about to HLT, n-th time */
static volatile uint32_t woke[NCPUS];    /* HLTs that returned */
static volatile uint32_t nmis[NCPUS];
static volatile uint32_t ipis[NCPUS];

static void
on_nmi(struct guest_trap_frame *tf)
{
	(void)tf;
	nmis[apic_id()]++;
}

static void
on_ipi(struct guest_trap_frame *tf)
{
	(void)tf;
	ipis[apic_id()]++;
	apic_write(APIC_EOI, 0);
}

void
ap_main(void)
{
	uint32_t id = apic_id();

	GUEST_ASSERT(id > 0 && id < NCPUS);
	apic_write(APIC_SVR, SVR_ENABLE | 0xff);
	starts[id]++;
	for (;;) {
		cli();
		halting[id]++;
		hlt();
		woke[id]++;
	}
}

/* Nothing changes for 20 ms: the APs really sleep. */
static void
expect_asleep(uint32_t woke1, uint32_t woke2)
{
	pm_delay_us(20000);
	GUEST_ASSERT_EQ(woke[1], woke1);
	GUEST_ASSERT_EQ(woke[2], woke2);
}

int
guest_main(void)
{
	guest_set_trap_handler(2, on_nmi);
	guest_set_trap_handler(V_IPI, on_ipi);
	smp_setup();
	for (uint32_t id = 1; id < NCPUS; id++) {
		smp_start_ap(id);
		GUEST_ASSERT(smp_wait_for(&halting[id], 1));
	}
	expect_asleep(0, 0);
	guest_printf("smp_hlt: APs halted with interrupts off, BSP runs\n");

	/* A fixed IPI stays pending in the IRR: IF=0 does not take it. */
	smp_send_ipi(1, V_IPI);
	expect_asleep(0, 0);
	GUEST_ASSERT_EQ(ipis[1], 0);

	/* An NMI wakes AP 1: the handler runs, the HLT returns. */
	smp_send_ipi(1, ICR_NMI | ICR_ASSERT);
	GUEST_ASSERT(smp_wait_for(&woke[1], 1));
	GUEST_ASSERT(smp_wait_for(&halting[1], 2));
	GUEST_ASSERT_EQ(nmis[1], 1);
	GUEST_ASSERT_EQ(nmis[2], 0);
	expect_asleep(1, 0);
	guest_printf("smp_hlt: NMI woke AP 1\n");

	/* INIT-SIPI-SIPI starts AP 2 over. */
	smp_start_ap(2);
	GUEST_ASSERT(smp_wait_for(&starts[2], 2));
	GUEST_ASSERT(smp_wait_for(&halting[2], 2));
	expect_asleep(1, 0);
	GUEST_ASSERT_EQ(starts[1], 1);
	GUEST_ASSERT_EQ(ipis[2], 0);
	guest_printf("smp_hlt: INIT-SIPI restarted AP 2\n");

	guest_printf("smp_hlt: ok\n");
	return 0;
}
