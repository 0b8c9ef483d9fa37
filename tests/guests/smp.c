/*
 * smp: the BSP starts the three APs of a 4-vCPU VM (-c 4) with
 * INIT-SIPI-SIPI through its local APIC's ICR, as an OS does: each AP
 * runs a real-mode trampoline copied below 1 MiB, which enters long mode
 * straight from real mode (CR0.PE and PG together) with the BSP's GDT
 * and page tables, and calls ap_main() on its own stack.  All four check
 * in; fw_cfg's CPU count says 4 as well.
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

#define NCPUS          4
#define TRAMP_GPA      0x10000UL /* SIPI vector 0x10 */
#define AP_STACK_SIZE  4096

#define APIC_BASE      0xfee00000UL
#define APIC_ID        0x020
#define APIC_EOI       0x0b0
#define APIC_LDR       0x0d0
#define APIC_DFR       0x0e0
#define APIC_SVR       0x0f0
#define APIC_ICR_LO    0x300
#define APIC_ICR_HI    0x310

#define ICR_INIT       0x500u
#define ICR_SIPI       0x600u
#define ICR_LOGICAL    0x800u
#define ICR_PENDING    0x1000u
#define ICR_ASSERT     0x4000u
#define SVR_ENABLE     0x100u
#define DFR_FLAT       0xffffffffu
#define DFR_CLUSTER    0x0fffffffu

#define V_IPI          0x40

#define FW_CFG_SEL     0x510
#define FW_CFG_DATA    0x511
#define FW_CFG_NB_CPUS 0x05

static uint32_t
apic_read(uint32_t off)
{
	return *(volatile uint32_t *)(APIC_BASE + off);
}

static void
apic_write(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(APIC_BASE + off) = v;
}

/* What the trampoline needs, filled in by the BSP (shared with asm). */
struct guest_dtr smp_idtr;
uint32_t smp_cr3;
uint32_t smp_next_stack; /* AP stacks handed out in order */
uint8_t smp_stacks[NCPUS][AP_STACK_SIZE] __attribute__((aligned(16)));

static volatile uint32_t checked_in[NCPUS];
static volatile uint32_t hits[NCPUS];
/* What the APs do when they wake: set up flat or cluster mode, or send. */
enum ap_cmd { CMD_NONE, CMD_FLAT, CMD_CLUSTER, CMD_SEND };
static volatile int ap_cmd[NCPUS];
static volatile uint32_t ap_done[NCPUS];

void ap_main(void);

/*
 * The trampoline, assembled into .text and copied to TRAMP_GPA: it runs
 * at CS = TRAMP_GPA >> 4, IP 0, so it addresses its own data relative
 * to its start.  The far jump lands in ap_entry64 (below, in place).
 */
__asm__(".pushsection .text\n"
	".code16\n"
	".globl smp_tramp_start, smp_tramp_end, smp_tramp_gdtr, smp_tramp_cr3\n"
	"smp_tramp_start:\n"
	"	cli\n"
	"	mov %cs, %ax\n"
	"	mov %ax, %ds\n"
	"	lgdtl smp_tramp_gdtr - smp_tramp_start\n"
	"	mov %cr4, %eax\n"
	"	or $0x20, %eax\n" /* PAE */
	"	mov %eax, %cr4\n"
	"	mov smp_tramp_cr3 - smp_tramp_start, %eax\n"
	"	mov %eax, %cr3\n"
	"	mov $0xc0000080, %ecx\n" /* EFER.LME */
	"	rdmsr\n"
	"	or $0x100, %eax\n"
	"	wrmsr\n"
	"	mov %cr0, %eax\n"
	"	and $0x9fffffff, %eax\n" /* caches on (CD, NW clear) */
	"	or $0x80000001, %eax\n"  /* PG and PE at once */
	"	mov %eax, %cr0\n"
	"	ljmpl $0x08, $ap_entry64\n"
	"	.balign 8\n"
	"smp_tramp_gdtr: .word 0\n"
	"	.long 0\n"
	"	.balign 4\n"
	"smp_tramp_cr3: .long 0\n"
	"smp_tramp_end:\n"
	".code64\n"
	"ap_entry64:\n"
	"	mov $0x10, %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	mov %eax, %ss\n"
	"	mov %eax, %fs\n"
	"	mov %eax, %gs\n"
	"	mov $1, %eax\n"
	"	lock xadd %eax, smp_next_stack(%rip)\n"
	"	add $1, %eax\n"
	"	shl $12, %eax\n" /* AP_STACK_SIZE */
	"	lea smp_stacks(%rip), %rsp\n"
	"	add %rax, %rsp\n"
	"	lidt smp_idtr(%rip)\n"
	"	xor %ebp, %ebp\n"
	"	call ap_main\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n"
	".popsection\n");

extern const uint8_t smp_tramp_start[], smp_tramp_end[];
extern uint8_t smp_tramp_gdtr[], smp_tramp_cr3[];

static void
on_ipi(struct guest_trap_frame *tf)
{
	(void)tf;
	hits[apic_read(APIC_ID) >> 24]++;
	apic_write(APIC_EOI, 0);
}

static void
send_ipi(uint32_t dest, uint32_t lo)
{
	apic_write(APIC_ICR_HI, dest << 24);
	apic_write(APIC_ICR_LO, lo);
	while (apic_read(APIC_ICR_LO) & ICR_PENDING)
		;
}

void
ap_main(void)
{
	uint32_t id = apic_read(APIC_ID) >> 24;

	GUEST_ASSERT(id > 0 && id < NCPUS);
	apic_write(APIC_SVR, SVR_ENABLE | 0xff);
	apic_write(APIC_DFR, DFR_FLAT);
	apic_write(APIC_LDR, (1u << id) << 24);
	checked_in[id] = 1;
	/*
	 * Wait for IPIs with interrupts on (HLT with them off would halt
	 * the VM); a command comes with an IPI that wakes us.
	 */
	for (;;) {
		int cmd = ap_cmd[id];

		if (cmd == CMD_CLUSTER) {
			/* Cluster 0, member bit id - 1. */
			apic_write(APIC_DFR, DFR_CLUSTER);
			apic_write(APIC_LDR, (1u << (id - 1)) << 24);
		} else if (cmd == CMD_SEND) {
			send_ipi(3, V_IPI); /* to AP 3, physical */
		}
		if (cmd != CMD_NONE) {
			ap_cmd[id] = CMD_NONE;
			ap_done[id]++;
		}
		sti_hlt();
		cli();
	}
}

/* Wait (up to 2 s of PM time) for *p to reach v. */
static bool
wait_for(volatile uint32_t *p, uint32_t v)
{
	uint64_t end = pm_now() + us_to_pm(2000000);

	while (*p != v)
		if (pm_now() > end)
			return false;
	return true;
}

static void
start_aps(void)
{
	struct guest_dtr gdtr;
	unsigned long cr3;
	uint64_t t0;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	GUEST_ASSERT(gdtr.base < (1ULL << 32) && cr3 < (1ULL << 32));
	sidt(&smp_idtr);
	memcpy((void *)TRAMP_GPA, smp_tramp_start,
	       (size_t)(smp_tramp_end - smp_tramp_start));
	memcpy((void *)(TRAMP_GPA + (smp_tramp_gdtr - smp_tramp_start)),
	       &gdtr.limit, 2);
	memcpy((void *)(TRAMP_GPA + (smp_tramp_gdtr - smp_tramp_start) + 2),
	       &gdtr.base, 4);
	memcpy((void *)(TRAMP_GPA + (smp_tramp_cr3 - smp_tramp_start)), &cr3,
	       4);

	t0 = pm_now();
	for (uint32_t id = 1; id < NCPUS; id++) {
		/* INIT, 10 ms, SIPI, 200 us, SIPI (Intel SDM 8.4.4.1). */
		send_ipi(id, ICR_INIT | ICR_ASSERT);
		pm_delay_us(10000);
		send_ipi(id, ICR_SIPI | (TRAMP_GPA >> 12));
		pm_delay_us(200);
		send_ipi(id, ICR_SIPI | (TRAMP_GPA >> 12));
	}
	for (uint32_t id = 1; id < NCPUS; id++)
		GUEST_ASSERT(wait_for(&checked_in[id], 1));
	guest_printf("smp: %d vCPUs checked in after %lu us\n", NCPUS,
		     (unsigned long)pm_to_us(pm_now() - t0));
}

static void
expect_hits(uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3)
{
	const uint32_t want[NCPUS] = { a0, a1, a2, a3 };

	for (int i = 0; i < NCPUS; i++)
		GUEST_ASSERT(wait_for(&hits[i], want[i]));
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
	send_ipi(id, V_IPI);
	GUEST_ASSERT(wait_for(&ap_done[id], done + 1));
}

int
guest_main(void)
{
	uint16_t ncpus;

	outw(FW_CFG_SEL, FW_CFG_NB_CPUS);
	insb(FW_CFG_DATA, (uint8_t *)&ncpus, 2);
	GUEST_ASSERT_EQ(ncpus, NCPUS);
	GUEST_ASSERT_EQ(apic_read(APIC_ID) >> 24, 0);
	guest_set_trap_handler(V_IPI, on_ipi);
	start_aps();

	/* Physical: each AP by ID, then AP 1 sends to AP 3. */
	for (uint32_t id = 1; id < NCPUS; id++)
		send_ipi(id, V_IPI);
	expect_hits(0, 1, 1, 1);
	ap_command(1, CMD_SEND); /* one hit on AP 1 (wake), one on AP 3 */
	expect_hits(0, 2, 1, 2);
	guest_printf("smp: physical IPIs ok\n");

	/* Flat logical: LDR bits 1-3 (set by the APs), one IPI to all. */
	send_ipi(0x0e, ICR_LOGICAL | V_IPI);
	expect_hits(0, 3, 2, 3);
	send_ipi(0x04, ICR_LOGICAL | V_IPI); /* AP 2 alone */
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
	send_ipi(0x03, ICR_LOGICAL | V_IPI); /* cluster 0: APs 1 and 2 */
	expect_hits(0, 5, 5, 4);
	send_ipi(0x14, ICR_LOGICAL | V_IPI); /* cluster 1: nobody */
	expect_hits(0, 5, 5, 4);
	send_ipi(0x04, ICR_LOGICAL | V_IPI); /* cluster 0, AP 3 */
	expect_hits(0, 5, 5, 5);
	guest_printf("smp: cluster logical IPIs ok\n");

	guest_printf("smp: ok\n");
	return 0;
}
