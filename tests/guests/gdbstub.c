/*
 * gdbstub: the guest the gdb tests (tests/gdb) debug with the real gdb.
 * Built with -g like every test guest.  It
 *  - loads page tables of its own (the loader's identity map plus an
 *    alias: virtual GDB_ALIAS_VA is the page of gdb_pattern[]), sets
 *    FS_BASE and GS_BASE, and prints CR3, FS_BASE and GS_BASE, which the
 *    tests compare with gdb's registers;
 *  - runs the PIT at 1 kHz with interrupts enabled from then on, so a
 *    timer interrupt is pending whenever the debugger single-steps;
 *  - calls gdb_break_here() three times, each writing gdb_counter
 *    (3, 6, 9): a function to break at and a variable to watch;
 *  - spins in gdb_spin() while gdb_hold is non-zero (0 unless the
 *    debugger sets it), for Ctrl-C;
 *  - has x87 and SSE state for the debugger to read: pi and 1 on the x87
 *    stack, GDB_XMM3 in xmm3, and checks at the end that xmm3 holds
 *    gdb_xmm3_expect (a test that writes xmm3 changes both);
 *  - checks that gdb_counter is 9 and prints "gdbstub: ok".
 */
#include "guest.h"
#include "pc.h"

#define GDB_ALIAS_VA 0x8000000000UL /* PML4 slot 1 */
#define MSR_FS_BASE  0xc0000100
#define MSR_GS_BASE  0xc0000101
#define PTE_P        0x1UL
#define PTE_RW       0x2UL

uint64_t gdb_pattern[512] __attribute__((aligned(4096)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t fx[512] __attribute__((aligned(16)));

/* Global, for gdb; prototypes for -Wmissing-prototypes. */
uint64_t gdb_break_here(uint64_t x);
void gdb_spin(void);

#define GDB_XMM3 0x0123456789abcdefULL
volatile uint64_t gdb_xmm3_expect = GDB_XMM3;
volatile uint64_t gdb_counter;
volatile int gdb_hold;
volatile uint64_t gdb_ticks;

static void
on_irq0(struct guest_trap_frame *tf)
{
	(void)tf;
	gdb_ticks++;
	outb(PIC_M_CMD, PIC_EOI);
}

__attribute__((noinline)) uint64_t
gdb_break_here(uint64_t x)
{
	gdb_counter = x * 3;
	return gdb_counter + 1;
}

__attribute__((noinline)) void
gdb_spin(void)
{
	while (gdb_hold != 0)
		__asm__ volatile("pause");
}

int
guest_main(void)
{
	const uint64_t *old = (const uint64_t *)read_cr3();
	uint64_t sum = 0;

	for (int i = 0; i < 512; i++)
		gdb_pattern[i] = 0x1111111111111111ULL * (uint64_t)(i % 15 + 1);
	/* The loader's low half, and the alias in slot 1. */
	pml4[0] = old[0];
	pml4[1] = (uintptr_t)pdpt | PTE_P | PTE_RW;
	pdpt[0] = (uintptr_t)pd | PTE_P | PTE_RW;
	pd[0] = (uintptr_t)pt | PTE_P | PTE_RW;
	pt[0] = (uintptr_t)gdb_pattern | PTE_P | PTE_RW;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(GDB_ALIAS_VA + 8),
			gdb_pattern[1]);
	wrmsr(MSR_FS_BASE, 0x0000123456789000ULL);
	wrmsr(MSR_GS_BASE, 0x0000234567890000ULL);
	guest_printf("gdbstub: cr3 0x%lx fs_base 0x%lx gs_base 0x%lx pattern "
		     "0x%lx\n",
		     read_cr3(), 0x0000123456789000UL, 0x0000234567890000UL,
		     (unsigned long)(uintptr_t)gdb_pattern);

	/* SSE on (CR4.OSFXSR, OSXMMEXCPT; CR0.EM off, MP on), x87 state. */
	{
		unsigned long cr0 = read_cr0(), cr4 = read_cr4();

		cr0 = (cr0 & ~(1UL << 2)) | (1UL << 1);
		cr4 |= (1UL << 9) | (1UL << 10);
		__asm__ volatile("mov %0, %%cr0; mov %1, %%cr4"
				 :
				 : "r"(cr0), "r"(cr4)
				 : "memory");
		/*
		 * One FXRSTOR: KVM's instruction emulator, which runs this
		 * code on PVM hosts, has no FLD1/FLDPI.  ST(0) pi, ST(1) 1
		 * (TOP 6, physical registers 6 and 7 in use), xmm3.
		 */
		static const uint8_t pi80[10] = {
			0x35, 0xc2, 0x68, 0x21, 0xa2,
			0xda, 0x0f, 0xc9, 0x00, 0x40
		};
		static const uint8_t one80[10] = { 0, 0, 0,    0,    0,
						   0, 0, 0x80, 0xff, 0x3f };
		uint64_t xmm3 = GDB_XMM3;

		fx[0] = 0x7f; /* FCW 0x037f */
		fx[1] = 0x03;
		fx[3] = 0x30;  /* FSW: TOP 6 */
		fx[4] = 0xc0;  /* abridged tag: R6, R7 */
		fx[24] = 0x80; /* MXCSR 0x1f80 */
		fx[25] = 0x1f;
		memcpy(fx + 32, pi80, 10);
		memcpy(fx + 48, one80, 10);
		memcpy(fx + 160 + 3 * 16, &xmm3, 8);
		__asm__ volatile("fxrstor64 %0" : : "m"(*fx) : "memory");
	}

	guest_idt_init();
	guest_set_trap_handler(PIC_M_BASE, on_irq0);
	pic_init(0x01, 0x01);
	pic_set_mask((uint16_t)~1u);
	pit_program(0, 2, 1193); /* 1 kHz */
	sti();

	for (uint64_t i = 1; i <= 3; i++)
		sum += gdb_break_here(i);
	gdb_spin();
	cli();
	pit_stop(0);
	GUEST_ASSERT_EQ(gdb_counter, 9);
	{
		uint64_t xmm3;

		/* FXSAVE: KVM's emulator has no MOVQ from an xmm register */
		__asm__ volatile("fxsave64 %0" : "=m"(*fx) : : "memory");
		memcpy(&xmm3, fx + 160 + 3 * 16, 8);
		GUEST_ASSERT_EQ(xmm3, gdb_xmm3_expect);
	}
	GUEST_ASSERT_EQ(sum, 4 + 7 + 10);
	guest_printf("gdbstub: %lu ticks\n", (unsigned long)gdb_ticks);
	guest_printf("gdbstub: ok\n");
	return 0;
}
