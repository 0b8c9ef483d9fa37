/*
 * tasksw: hardware task switches and virtual-8086 mode in 32-bit
 * protected mode (Intel SDM vol. 3A ch. 7, vol. 3B ch. 20), on a GDT,
 * IDT and TSSes of the guest's own:
 *  - JMP to a TSS and back (state saved in the TSSes, busy bits, CR0.TS);
 *  - CALL through a task gate, IRET back through NT and the back link;
 *  - the busy-bit #GPs, #TS for a short TSS and for a task return to a
 *    task that is not busy, #NP for a TSS not present;
 *  - #DF through a task gate in the IDT (as 32-bit Linux has it), with
 *    its error code on the new task's stack;
 *  - an 8086 program entered by IRET with IOPL 0: CLI, INT n and an OUT
 *    the I/O bitmap refuses trap to the monitor (#GP(0)), an OUT it
 *    allows reaches the pc-testdev; the interrupt frame has the 8086
 *    segments and the handler runs with null data segments;
 *  - a virtual-8086 task (IOPL 3) entered by a task switch, leaving by
 *    INT 0x30 to a ring-0 handler that switches back.
 */
#include "guest.h"

#define V86_SEG   0x2000
#define V86_LIN   (V86_SEG << 4)
#define CR0_TS    0x8UL
#define FLAGS_NT  0x4000UL
#define FLAGS_VM  0x20000UL
#define SEL_MAIN  0x18
#define SEL_A     0x20
#define SEL_DF    0x28
#define SEL_GATE  0x30
#define SEL_V86   0x38
#define SEL_SHORT 0x40
#define SEL_NP    0x48

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
	uint8_t bitmap[0x400 / 8 + 1]; /* ports 0-0x3ff, then 0xff */
} __attribute__((packed));

static uint64_t gdt[10] __attribute__((aligned(16)));
static uint64_t idt[256] __attribute__((aligned(16)));
struct tss32 tss_main, tss_a, tss_df, tss_v86;
static uint8_t stack_a[4096] __attribute__((aligned(16)));
static uint8_t stack_df[4096] __attribute__((aligned(16)));
static uint8_t stack_mon[4096] __attribute__((aligned(16)));
static uint8_t stack_v86r0[4096] __attribute__((aligned(16)));

/* Shared with tasksw_asm.S. */
volatile uint32_t fault_vec, fault_ec, fault_resume, fault_clear_nt;
volatile uint32_t mon_ds, mon_es, mon_ec, mon_cli, mon_int, mon_io;
volatile uint32_t mon_unknown, v86_saved_esp;
volatile uint32_t int30_ds, int30_eflags, int30_cs, int30_ds_saved;
volatile uint32_t df_ec, df_flags, df_runs, df_resume;
extern void fault_10(void), fault_11(void), fault_13(void);
extern void v86_int30(void), df_task(void), v86_iret_run(void);
extern const uint8_t v86_code[], v86_code_end[], v86_code_b[];

/* Set by the tasks. */
static volatile uint32_t a_runs, a_flags, a_link, a_fault_vec, a_fault_ec;
static volatile uint64_t a_gdt_main, a_gdt_a;

static uint64_t
tss_desc(const struct tss32 *t, uint32_t limit, unsigned int access)
{
	uint32_t b = (uint32_t)t;

	return (limit & 0xffff) | (uint64_t)(b & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)(limit >> 16) << 48 |
	       (uint64_t)(b >> 24) << 56;
}

static uint64_t
gate(void (*fn)(void), unsigned int access)
{
	uint32_t o = (uint32_t)fn;

	return (o & 0xffff) | 0x08ULL << 16 | (uint64_t)access << 40 |
	       (uint64_t)(o >> 16) << 48;
}

static unsigned int
type_of(unsigned int sel)
{
	return (unsigned int)(gdt[sel >> 3] >> 40) & 0xf;
}

/* A ring-0 flat task starting at fn on its own stack. */
static void
task_init(struct tss32 *t, void (*fn)(void), uint8_t *stack, size_t len)
{
	*t = (struct tss32){ 0 };
	t->eip = (uint32_t)fn;
	t->eflags = 0x2;
	t->esp = (uint32_t)(stack + len - 4);
	t->cs = 0x08;
	t->es = t->ss = t->ds = t->fs = t->gs = 0x10;
	t->iomap = sizeof(*t);
}

/* An I/O bitmap allowing the pc-testdev scratch port (0xe0-0xe3). */
static void
bitmap_init(struct tss32 *t)
{
	memset(t->bitmap, 0xff, sizeof(t->bitmap));
	t->bitmap[0xe0 / 8] &= (uint8_t)~0x0f;
	t->iomap = offsetof(struct tss32, bitmap);
}

static inline uint32_t
flags(void)
{
	uint32_t f;

	__asm__ volatile("pushfl; popl %0" : "=r"(f));
	return f;
}

/* A far JMP or CALL that faults: the vector and error code (~0: none). */
#define FAULTING(insn)                                                         \
	({                                                                     \
		fault_vec = ~0u;                                               \
		__asm__ volatile("movl $1f, fault_resume\n\t" insn "\n1:"      \
				 :                                             \
				 :                                             \
				 : "memory");                                  \
		fault_vec << 16 | fault_ec;                                    \
	})

/* Task A for JMP: count, back to the main task; again when resumed. */
static void __attribute__((noreturn)) task_a_jmp(void)
{
	for (;;) {
		a_runs++;
		a_flags = flags();
		__asm__ volatile("ljmp $0x18, $0" ::: "memory");
	}
}

/* Task A for CALL: nested (NT, link), the main task busy (JMP to it:
 * #GP), IRET back. */
static void __attribute__((noreturn)) task_a_call(void)
{
	for (;;) {
		a_runs++;
		a_flags = flags();
		a_link = tss_a.link;
		a_gdt_main = type_of(SEL_MAIN);
		a_gdt_a = type_of(SEL_A);
		fault_vec = ~0u;
		__asm__ volatile("movl $1f, fault_resume\n\t"
				 "ljmp $0x18, $0\n1:" ::
				     : "memory");
		a_fault_vec = fault_vec;
		a_fault_ec = fault_ec;
		__asm__ volatile("iret" ::: "memory");
	}
}

static void
test_jmp(void)
{
	uint32_t after;

	task_init(&tss_a, task_a_jmp, stack_a, sizeof(stack_a));
	__asm__ volatile("clts");
	__asm__ volatile("movl $0x600dcafe, %%ebx\n\t"
			 "ljmp $0x20, $0\n"
			 "1:\tmovl $1b, %0"
			 : "=r"(after)
			 :
			 : "ebx", "memory");
	GUEST_ASSERT_EQ(a_runs, 1);
	GUEST_ASSERT_EQ(a_flags & FLAGS_NT, 0);
	GUEST_ASSERT_EQ(tss_main.eip, after);
	GUEST_ASSERT_EQ(tss_main.ebx, 0x600dcafe);
	GUEST_ASSERT_EQ(tss_main.cs, 0x08);
	GUEST_ASSERT(tss_a.eip > (uint32_t)task_a_jmp);
	GUEST_ASSERT_EQ(type_of(SEL_A), 0x9);
	GUEST_ASSERT_EQ(type_of(SEL_MAIN), 0xb);
	GUEST_ASSERT(read_cr0() & CR0_TS);
	__asm__ volatile("clts");
	/* Resumed where it left off. */
	__asm__ volatile("ljmp $0x20, $0" ::: "memory");
	GUEST_ASSERT_EQ(a_runs, 2);
	GUEST_ASSERT_EQ(tss_main.link, 0);
}

static void
test_call(void)
{
	a_runs = 0;
	task_init(&tss_a, task_a_call, stack_a, sizeof(stack_a));
	__asm__ volatile("lcall $0x30, $0" ::: "memory");
	GUEST_ASSERT_EQ(a_runs, 1);
	GUEST_ASSERT(a_flags & FLAGS_NT);
	GUEST_ASSERT_EQ(a_link, SEL_MAIN);
	GUEST_ASSERT_EQ(a_gdt_main, 0xb);
	GUEST_ASSERT_EQ(a_gdt_a, 0xb);
	/* JMP to the busy main task. */
	GUEST_ASSERT_EQ(a_fault_vec, 13);
	GUEST_ASSERT_EQ(a_fault_ec, SEL_MAIN);
	/* IRET came back: A available again, no NT here. */
	GUEST_ASSERT_EQ(type_of(SEL_A), 0x9);
	GUEST_ASSERT_EQ(type_of(SEL_MAIN), 0xb);
	GUEST_ASSERT_EQ(flags() & FLAGS_NT, 0);
	/* And again, through the TSS itself. */
	__asm__ volatile("lcall $0x20, $0" ::: "memory");
	GUEST_ASSERT_EQ(a_runs, 2);
	GUEST_ASSERT_EQ(type_of(SEL_A), 0x9);
}

static void
test_faults(void)
{
	/* CALL to itself: busy. */
	GUEST_ASSERT_EQ(FAULTING("lcall $0x18, $0"), 13 << 16 | SEL_MAIN);
	/* A TSS with a limit below 0x67. */
	GUEST_ASSERT_EQ(FAULTING("ljmp $0x40, $0"), 10 << 16 | SEL_SHORT);
	/* Not present. */
	GUEST_ASSERT_EQ(FAULTING("ljmp $0x48, $0"), 11 << 16 | SEL_NP);
	/* IRET with NT to a task that is not busy: #TS(link). */
	tss_main.link = SEL_A;
	fault_clear_nt = 1;
	GUEST_ASSERT_EQ(FAULTING("pushfl\n\torl $0x4000, (%%esp)\n\t"
				 "popfl\n\tiret"),
			10 << 16 | SEL_A);
	fault_clear_nt = 0;
	GUEST_ASSERT_EQ(flags() & FLAGS_NT, 0);
	GUEST_ASSERT_EQ(type_of(SEL_MAIN), 0xb);
	GUEST_ASSERT_EQ(type_of(SEL_A), 0x9);
}

/* #DF: INT 0x80 through a gate not present raises #NP, whose gate is
 * made not present too: #NP while delivering #NP is a double fault, which
 * the IDT sends to the #DF task. */
static void
test_df(void)
{
	uint64_t np = idt[11];

	task_init(&tss_df, df_task, stack_df, sizeof(stack_df));
	idt[11] &= ~(1ULL << 47);
	__asm__ volatile("movl $1f, df_resume\n\t"
			 "int $0x80\n1:" ::
			     : "memory");
	idt[11] = np;
	GUEST_ASSERT_EQ(df_runs, 1);
	GUEST_ASSERT_EQ(df_ec, 0);
	GUEST_ASSERT(df_flags & FLAGS_NT);
	GUEST_ASSERT_EQ(tss_df.link, SEL_MAIN);
	GUEST_ASSERT_EQ(type_of(SEL_DF), 0x9);
	GUEST_ASSERT_EQ(flags() & FLAGS_NT, 0);
}

static void
test_v86_iret(void)
{
	volatile uint16_t *data = (volatile uint16_t *)(V86_LIN + 0x100);

	v86_iret_run();
	GUEST_ASSERT_EQ(mon_unknown, 0);
	GUEST_ASSERT_EQ(data[0], 0x1234);
	GUEST_ASSERT_EQ(data[1], V86_SEG); /* SS as 8086 code sees it */
	GUEST_ASSERT_EQ(inl(TESTDEV_SCRATCH), 0x76543210);
	GUEST_ASSERT_EQ(mon_cli, 1);
	GUEST_ASSERT_EQ(mon_int, 0x21);
	GUEST_ASSERT_EQ(mon_io, 0x80);
	GUEST_ASSERT_EQ(mon_ec, 0);
	GUEST_ASSERT_EQ(mon_ds, 0);
	GUEST_ASSERT_EQ(mon_es, V86_SEG);
}

static void
test_v86_task(void)
{
	volatile uint16_t *data = (volatile uint16_t *)(V86_LIN + 0x104);

	tss_v86 = (struct tss32){ 0 };
	tss_v86.eip = (uint32_t)(v86_code_b - v86_code);
	tss_v86.eflags = FLAGS_VM | 0x3000 | 0x2;
	tss_v86.esp = 0xfff0;
	tss_v86.cs = tss_v86.ss = tss_v86.ds = tss_v86.es = V86_SEG;
	tss_v86.esp0 = (uint32_t)(stack_v86r0 + sizeof(stack_v86r0));
	tss_v86.ss0 = 0x10;
	bitmap_init(&tss_v86);
	__asm__ volatile("ljmp $0x38, $0" ::: "memory");
	GUEST_ASSERT_EQ(*data, 0x5678);
	GUEST_ASSERT_EQ(inl(TESTDEV_SCRATCH), 0xfeedf00d);
	GUEST_ASSERT(int30_eflags & FLAGS_VM);
	GUEST_ASSERT_EQ(int30_eflags & 0x3000, 0x3000);
	GUEST_ASSERT_EQ(int30_cs, V86_SEG);
	GUEST_ASSERT_EQ(int30_ds_saved, V86_SEG);
	GUEST_ASSERT_EQ(int30_ds, 0);
	GUEST_ASSERT_EQ(type_of(SEL_V86), 0x9);
	GUEST_ASSERT_EQ(mon_unknown, 0);
	GUEST_ASSERT_EQ(mon_cli, 1); /* IOPL 3: no more traps */
}

int
guest_main(void)
{
	struct guest_dtr gd = { sizeof(gdt) - 1, (unsigned long)gdt };
	struct guest_dtr id = { sizeof(idt) - 1, (unsigned long)idt };

	gdt[1] = 0x00cf9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	/* The main task (TR), its ring-0 stack for the 8086 monitor. */
	tss_main = (struct tss32){ 0 };
	tss_main.esp0 = (uint32_t)(stack_mon + sizeof(stack_mon));
	tss_main.ss0 = 0x10;
	bitmap_init(&tss_main);
	gdt[SEL_MAIN >> 3] = tss_desc(&tss_main, sizeof(tss_main) - 1, 0x89);
	gdt[SEL_A >> 3] = tss_desc(&tss_a, 0x67, 0x89);
	gdt[SEL_DF >> 3] = tss_desc(&tss_df, 0x67, 0x89);
	gdt[SEL_GATE >> 3] = (uint64_t)SEL_A << 16 | 0x85ULL << 40;
	gdt[SEL_V86 >> 3] = tss_desc(&tss_v86, sizeof(tss_v86) - 1, 0x89);
	gdt[SEL_SHORT >> 3] = tss_desc(&tss_df, 0x40, 0x89);
	gdt[SEL_NP >> 3] = tss_desc(&tss_df, 0x67, 0x09);
	idt[8] = (uint64_t)SEL_DF << 16 | 0x85ULL << 40;
	idt[10] = gate(fault_10, 0x8e);
	idt[11] = gate(fault_11, 0x8e);
	idt[13] = gate(fault_13, 0x8e);
	idt[0x30] = gate(v86_int30, 0xee);
	idt[0x80] = gate(v86_int30, 0x0e); /* not present: #NP */
	__asm__ volatile("lgdt %0" : : "m"(gd) : "memory");
	lidt(&id);
	__asm__ volatile("ltr %w0" : : "r"(SEL_MAIN) : "memory");
	memcpy((void *)V86_LIN, v86_code, (size_t)(v86_code_end - v86_code));

	test_jmp();
	test_call();
	test_faults();
	test_df();
	test_v86_iret();
	test_v86_task();
	guest_printf("tasksw: ok\n");
	return 0;
}
