/*
 * The 64-bit guests' IDT: all 256 vectors go to the stubs of isr64.S,
 * which call guest_trap().  Exceptions and interrupts without a handler
 * are reported on the console and end the guest with GUEST_EXIT_EXCEPTION.
 */
#include "guest.h"

#define IDT_NEXC    32 /* exceptions: 0-31 */
#define IDT_NVEC    256
#define IRQ_STUB_SZ 16   /* isr64.S: the stubs of 32-255, 16 bytes apart */
#define GATE_INTR64 0x8e /* present, DPL 0, 64-bit interrupt gate */

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");
_Static_assert(sizeof(struct guest_trap_frame) == 22 * 8,
	       "guest_trap_frame must match isr64.S");

extern const uint64_t guest_isr_table[IDT_NEXC];
extern const char guest_irq_stubs[];
void guest_trap(struct guest_trap_frame *tf);

static struct idt_gate idt[IDT_NVEC] __attribute__((aligned(16)));
static guest_trap_handler_t handlers[IDT_NVEC];
static int trap_depth;

static const char *const exc_names[IDT_NEXC] = {
	"#DE",       "#DB",       "NMI",       "#BP",       "#OF",
	"#BR",       "#UD",       "#NM",       "#DF",       "vector 9",
	"#TS",       "#NP",       "#SS",       "#GP",       "#PF",
	"vector 15", "#MF",       "#AC",       "#MC",       "#XM",
	"#VE",       "#CP",       "vector 22", "vector 23", "vector 24",
	"vector 25", "vector 26", "vector 27", "#HV",       "#VC",
	"#SX",       "vector 31",
};

void
guest_idt_init(void)
{
	struct guest_dtr dtr;
	uint16_t cs = read_cs();
	unsigned int i;

	for (i = 0; i < IDT_NVEC; i++) {
		uint64_t off = i < IDT_NEXC
				   ? guest_isr_table[i]
				   : (uint64_t)(unsigned long)(guest_irq_stubs +
							       (i - IDT_NEXC) *
								   IRQ_STUB_SZ);

		idt[i].off_lo = (uint16_t)off;
		idt[i].sel = cs;
		idt[i].ist = 0;
		idt[i].type_attr = GATE_INTR64;
		idt[i].off_mid = (uint16_t)(off >> 16);
		idt[i].off_hi = (uint32_t)(off >> 32);
		idt[i].reserved = 0;
	}
	dtr.limit = sizeof(idt) - 1;
	dtr.base = (unsigned long)idt;
	lidt(&dtr);
}

void
guest_set_trap_handler(unsigned int vector, guest_trap_handler_t fn)
{
	GUEST_ASSERT(vector < IDT_NVEC);
	handlers[vector] = fn;
}

void
guest_trap(struct guest_trap_frame *tf)
{
	unsigned long cr2;

	/* Interrupt handlers nest (one that enables interrupts). */
	if (tf->vector < IDT_NVEC && handlers[tf->vector] != NULL &&
	    (trap_depth == 0 || tf->vector >= IDT_NEXC)) {
		trap_depth++;
		handlers[tf->vector](tf);
		trap_depth--;
		return;
	}
	if (trap_depth++ > 1) /* faulting while reporting a fault */
		guest_exit(GUEST_EXIT_EXCEPTION);
	if (tf->vector >= IDT_NEXC)
		guest_printf("UNHANDLED INTERRUPT: vector %lu rip 0x%lx\n",
			     (unsigned long)tf->vector, (unsigned long)tf->rip);
	else
		guest_printf("UNHANDLED EXCEPTION: vector %lu (%s) error code "
			     "0x%lx rip 0x%lx\n",
			     (unsigned long)tf->vector, exc_names[tf->vector],
			     (unsigned long)tf->error_code,
			     (unsigned long)tf->rip);
	if (tf->vector == 14) {
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		guest_printf("  cr2 0x%lx\n", cr2);
	}
	guest_printf("  cs 0x%lx rflags 0x%lx rsp 0x%lx ss 0x%lx\n",
		     (unsigned long)tf->cs, (unsigned long)tf->rflags,
		     (unsigned long)tf->rsp, (unsigned long)tf->ss);
	guest_printf("  rax 0x%lx rbx 0x%lx rcx 0x%lx rdx 0x%lx\n",
		     (unsigned long)tf->rax, (unsigned long)tf->rbx,
		     (unsigned long)tf->rcx, (unsigned long)tf->rdx);
	guest_printf("  rsi 0x%lx rdi 0x%lx rbp 0x%lx\n",
		     (unsigned long)tf->rsi, (unsigned long)tf->rdi,
		     (unsigned long)tf->rbp);
	guest_exit(GUEST_EXIT_EXCEPTION);
}
