/*
 * smp: the BSP starts the three APs of a 4-vCPU VM (-c 4) with
 * INIT-SIPI-SIPI through its local APIC's ICR, as an OS does (lib/smp.c:
 * each AP runs a real-mode trampoline copied below 1 MiB, which enters
 * long mode straight from real mode, CR0.PE and PG together, with the
 * BSP's GDT and page tables, and calls ap_main() on its own stack).  All
 * four check in; fw_cfg's CPU count says 4 as well.
 *
 * Then fixed IPIs between the vCPUs in each destination mode:
 *   physical  the BSP to each AP by APIC ID, and AP 1 to AP 3
 *   flat      LDR bit per AP (DFR flat): one IPI to APs 1-3 at once
 *   cluster   DFR cluster, all APs in cluster 0: an IPI to APs 1 and 2
 *             reaches those two and not AP 3
 * Every IPI is counted by the receiver's handler; the BSP checks the
 * counts, and that nothing arrives where it should not.
 */
#include "guest.h"
#include "pc.h"
#include "smp.h"

#define NCPUS          4

#define DFR_FLAT       0xffffffffu
#define DFR_CLUSTER    0x0fffffffu

#define V_IPI          0x40

#define FW_CFG_SEL     0x510
#define FW_CFG_DATA    0x511
#define FW_CFG_NB_CPUS 0x05

static volatile uint32_t checked_in[NCPUS];
static volatile uint32_t hits[NCPUS];
/* What the APs do when they wake: set up flat or cluster mode, or send. */
enum ap_cmd { CMD_NONE, CMD_FLAT, CMD_CLUSTER, CMD_SEND };
static volatile int ap_cmd[NCPUS];
static volatile uint32_t ap_done[NCPUS];

static void
on_ipi(struct guest_trap_frame *tf)
{
	(void)tf;
	hits[apic_id()]++;
	apic_write(APIC_EOI, 0);
}

void
ap_main(void)
{
	uint32_t id = apic_id();

	GUEST_ASSERT(id > 0 && id < NCPUS);
	apic_write(APIC_SVR, SVR_ENABLE | 0xff);
	apic_write(APIC_DFR, DFR_FLAT);
	apic_write(APIC_LDR, (1u << id) << 24);
	checked_in[id] = 1;
	/*
	 * Wait for IPIs with interrupts on (HLT with them off waits for
	 * an NMI or INIT); a command comes with an IPI that wakes us.
	 */
	for (;;) {
		int cmd = ap_cmd[id];

		if (cmd == CMD_CLUSTER) {
			/* Cluster 0, member bit id - 1. */
			apic_write(APIC_DFR, DFR_CLUSTER);
			apic_write(APIC_LDR, (1u << (id - 1)) << 24);
		} else if (cmd == CMD_SEND) {
			smp_send_ipi(3, V_IPI); /* to AP 3, physical */
		}
		if (cmd != CMD_NONE) {
			ap_cmd[id] = CMD_NONE;
			ap_done[id]++;
		}
		sti_hlt();
		cli();
	}
}

static void
start_aps(void)
{
	uint64_t t0 = pm_now();

	smp_setup();
	for (uint32_t id = 1; id < NCPUS; id++)
		smp_start_ap(id);
	for (uint32_t id = 1; id < NCPUS; id++)
		GUEST_ASSERT(smp_wait_for(&checked_in[id], 1));
	guest_printf("smp: %d vCPUs checked in after %lu us\n", NCPUS,
		     (unsigned long)pm_to_us(pm_now() - t0));
}

static void
expect_hits(uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3)
{
	const uint32_t want[NCPUS] = { a0, a1, a2, a3 };

	for (int i = 0; i < NCPUS; i++)
		GUEST_ASSERT(smp_wait_for(&hits[i], want[i]));
	pm_delay_us(20000); /* and no more come */
	for (int i = 0; i < NCPUS; i++)
		GUEST_ASSERT_EQ(hits[i], want[i]);
}

/* Have AP 'id' run a command; the IPI that wakes it counts as a hit. */
static void
ap_command(uint32_t id, int cmd)
{
	uint32_t done = ap_done[id];

	ap_cmd[id] = cmd;
	smp_send_ipi(id, V_IPI);
	GUEST_ASSERT(smp_wait_for(&ap_done[id], done + 1));
}

int
guest_main(void)
{
	uint16_t ncpus;

	outw(FW_CFG_SEL, FW_CFG_NB_CPUS);
	insb(FW_CFG_DATA, (uint8_t *)&ncpus, 2);
	GUEST_ASSERT_EQ(ncpus, NCPUS);
	GUEST_ASSERT_EQ(apic_id(), 0);
	guest_set_trap_handler(V_IPI, on_ipi);
	start_aps();

	/* Physical: each AP by ID, then AP 1 sends to AP 3. */
	for (uint32_t id = 1; id < NCPUS; id++)
		smp_send_ipi(id, V_IPI);
	expect_hits(0, 1, 1, 1);
	ap_command(1, CMD_SEND); /* one hit on AP 1 (wake), one on AP 3 */
	expect_hits(0, 2, 1, 2);
	guest_printf("smp: physical IPIs ok\n");

	/* Flat logical: LDR bits 1-3 (set by the APs), one IPI to all. */
	smp_send_ipi(0x0e, ICR_LOGICAL | V_IPI);
	expect_hits(0, 3, 2, 3);
	smp_send_ipi(0x04, ICR_LOGICAL | V_IPI); /* AP 2 alone */
	expect_hits(0, 3, 3, 3);
	guest_printf("smp: flat logical IPIs ok\n");

	/*
	 * Cluster logical: every APIC in the system must use the same
	 * model; the BSP's LDR is 0 (in no cluster member set).
	 */
	apic_write(APIC_DFR, DFR_CLUSTER);
	for (uint32_t id = 1; id < NCPUS; id++)
		ap_command(id, CMD_CLUSTER);
	expect_hits(0, 4, 4, 4);
	smp_send_ipi(0x03, ICR_LOGICAL | V_IPI); /* cluster 0: APs 1 and 2 */
	expect_hits(0, 5, 5, 4);
	smp_send_ipi(0x14, ICR_LOGICAL | V_IPI); /* cluster 1: nobody */
	expect_hits(0, 5, 5, 4);
	smp_send_ipi(0x04, ICR_LOGICAL | V_IPI); /* cluster 0, AP 3 */
	expect_hits(0, 5, 5, 5);
	guest_printf("smp: cluster logical IPIs ok\n");

	guest_printf("smp: ok\n");
	return 0;
}
