/* SMP bring-up for the test guests; see smp.h. */
#include "smp.h"
#include "pc.h"

#define AP_STACK_SIZE 4096

/* What the trampoline needs, filled in by smp_setup() (shared with asm). */
struct guest_dtr smp_idtr;
uint8_t smp_stacks[SMP_MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));

/*
 * The trampoline, assembled into .text and copied to SMP_TRAMP_GPA: it
 * runs at CS = SMP_TRAMP_GPA >> 4, IP 0, so it addresses its own data
 * relative to its start.  The far jump lands in ap_entry64 (in place).
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
	/* The stack of APIC ID n ends at smp_stacks[n + 1]. */
	"	mov $0xfee00020, %eax\n"
	"	mov (%rax), %eax\n"
	"	shr $24, %eax\n"
	"	and $7, %eax\n" /* SMP_MAX_CPUS - 1 */
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

void
smp_send_ipi(uint32_t dest, uint32_t lo)
{
	apic_write(APIC_ICR_HI, dest << 24);
	apic_write(APIC_ICR_LO, lo);
	while (apic_read(APIC_ICR_LO) & ICR_PENDING)
		;
}

void
smp_setup(void)
{
	uint8_t *tramp = (uint8_t *)SMP_TRAMP_GPA;
	struct guest_dtr gdtr;
	unsigned long cr3;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	GUEST_ASSERT(gdtr.base < (1ULL << 32) && cr3 < (1ULL << 32));
	sidt(&smp_idtr);
	memcpy(tramp, smp_tramp_start,
	       (size_t)(smp_tramp_end - smp_tramp_start));
	memcpy(tramp + (smp_tramp_gdtr - smp_tramp_start), &gdtr.limit, 2);
	memcpy(tramp + (smp_tramp_gdtr - smp_tramp_start) + 2, &gdtr.base, 4);
	memcpy(tramp + (smp_tramp_cr3 - smp_tramp_start), &cr3, 4);
}

void
smp_start_ap(uint32_t id)
{
	GUEST_ASSERT(id > 0 && id < SMP_MAX_CPUS);
	smp_send_ipi(id, ICR_INIT | ICR_ASSERT);
	pm_delay_us(10000);
	smp_send_ipi(id, ICR_SIPI | (SMP_TRAMP_GPA >> 12));
	pm_delay_us(200);
	smp_send_ipi(id, ICR_SIPI | (SMP_TRAMP_GPA >> 12));
}

bool
smp_wait_for(volatile uint32_t *p, uint32_t v)
{
	uint64_t end = pm_now() + us_to_pm(2000000);

	while (*p != v)
		if (pm_now() > end)
			return false;
	return true;
}
