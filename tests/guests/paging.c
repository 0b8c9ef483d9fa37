/*
 * paging: the guest builds its own 4-level page tables -- 4 KiB, 2 MiB
 * and (where CPUID.80000001H:EDX.Page1GB[26] says so) 1 GiB pages, user
 * and supervisor, read-only, NX -- loads CR3, and checks that accesses
 * through aliases see the memory they should: RAM, and the pc-testdev
 * MMIO region at 0xff000000 (written through one virtual alias, read back
 * through another), from CPL 0 and CPL 3, with code fetched through an
 * alias too.  Faults (#PF error code and CR2) are checked for WP,
 * not-present, NX and user accesses to supervisor pages, and the A/D
 * bits the CPU sets in RAM aliases.
 *
 * Every mapping and every MMIO access is printed with its virtual and
 * physical address, so rhyve's walker (emul/x86_walk.c) can be checked
 * against them: every MMIO exit here comes from a non-identity virtual
 * address, some with the instruction fetched through an alias or at CPL 3.
 */
#include "guest.h"

/* Page-table entry bits */
#define P        (1ULL << 0)
#define RW       (1ULL << 1)
#define US       (1ULL << 2)
#define A        (1ULL << 5)
#define D        (1ULL << 6)
#define PS       (1ULL << 7)
#define NXB      (1ULL << 63)

#define CR0_WP   (1UL << 16)
#define MSR_EFER 0xc0000080
#define EFER_NXE (1ULL << 11)

#define PF_P     0x1
#define PF_W     0x2
#define PF_U     0x4
#define PF_I     0x10

#define MMIO     TESTDEV_MMIO

/*
 * Virtual bases of the aliases (PML4 slots 254 and 256).  Everything CPL 3
 * touches is in the lower half: PVM (the nested KVM of our CI) does not
 * map the upper half for guest user mode -- a CPL 3 access there takes a
 * not-present #PF whatever the tables say.
 */
#define U4K  0x00007f0000000000UL /* 4 KiB aliases, and a user 2 MiB one */
#define K2M  0xffff800000000000UL /* 2 MiB aliases */
#define K1G  0xffff800040000000UL /* 1 GiB: MMIO (0xc0000000) */
#define K1GR 0xffff800080000000UL /* 1 GiB: RAM (0) */

/* The 4 KiB alias slots in pt_u */
enum {
	S_RAM_USER,  /* buf: user, RW, NX */
	S_RAM_RO,    /* buf: supervisor, read-only, NX */
	S_MMIO_SUP,  /* 0xff000000: supervisor, RW, NX */
	S_MMIO_USER, /* 0xff000000: user, RW, NX */
	S_MMIO_RO,   /* 0xff001000: supervisor, read-only, NX */
	S_RAM_EXEC,  /* buf: supervisor, RW, executable */
	S_RAM_NX,    /* buf: supervisor, RW, NX */
	S_ABSENT,    /* not present */
	S_KCODE,     /* k_code_page: supervisor, read-only, executable */
	S_UCODE,     /* user_code_page: user, read-only, executable */
	S_USTACK,    /* user_stack: user, RW, NX */
};
#define VA(slot) (U4K + ((unsigned long)(slot) << 12))

/* 2 MiB alias slots in pd_k */
#define SCRATCH    0x200000UL /* 2 MiB of otherwise unused RAM */
#define VA_RAM2M   (K2M + (0UL << 21))
#define VA_MMIO2M  (K2M + (1UL << 21))
#define VA_MMIO2MU (U4K + (1UL << 21)) /* user: lower half */

#define PAGE       __attribute__((aligned(4096)))
/* volatile: the CPU writes A/D bits into them behind the compiler */
static volatile uint64_t pml4[512] PAGE, pdpt_lo[512] PAGE, pd_lo[512] PAGE,
    pt_lo[512] PAGE, pd_hi[512] PAGE, pdpt_u[512] PAGE, pd_u[512] PAGE,
    pt_u[512] PAGE, pdpt_k[512] PAGE, pd_k[512] PAGE;
static uint8_t buf[4096] PAGE;
static uint8_t user_stack[4096] PAGE;
static uint8_t trap_stack[8192] __attribute__((aligned(16)));
static uint64_t gdt[7] __attribute__((aligned(16)));

static bool have_nx, have_1g;
static uint64_t nx; /* NXB where NX is supported, else 0 */

extern char __guest_end[];

/* ---- assembly helpers ------------------------------------------------ */

/*
 * k_*: leaf functions that fault (if they do) on their first instruction
 * with the return address on top of the stack, so the #PF handler can
 * return to the caller with FAULT_MARK.  user_*: CPL 3 code that ends in
 * ud2, which takes the vCPU back to CPL 0 (see on_ud).  Each group has a
 * page of its own for the executable aliases.
 */
uint64_t k_read64(uintptr_t p);
uint64_t k_write64(uintptr_t p, uint64_t v);
uint64_t enter_user(uintptr_t rip, uintptr_t rsp, uint64_t a0, uint64_t a1);
extern char k_code_page[], k_mmio_rw32[], user_code_page[], user_rw32[],
    user_read64[], user_write64[];
uint64_t user_saved_rsp, user_saved_rip;

__asm__(".text\n"
	"	.globl	k_read64, k_write64, enter_user\n"
	"	.balign	16\n"
	"k_read64:\n"
	"	movq	(%rdi), %rax\n"
	"	ret\n"
	"k_write64:\n"
	"	movq	%rsi, (%rdi)\n"
	"	xorl	%eax, %eax\n"
	"	ret\n"
	/* enter_user(rip, rsp, a0, a1): IRETQ to CPL 3 with a0/a1 in
	 * rdi/rsi; returns the user code's rax when it is back. */
	"enter_user:\n"
	"	pushq	%rbx\n"
	"	pushq	%rbp\n"
	"	pushq	%r12\n"
	"	pushq	%r13\n"
	"	pushq	%r14\n"
	"	pushq	%r15\n"
	"	movq	%rsp, user_saved_rsp(%rip)\n"
	"	leaq	1f(%rip), %rax\n"
	"	movq	%rax, user_saved_rip(%rip)\n"
	"	pushq	$0x2b\n" /* SS: user data */
	"	pushq	%rsi\n"
	"	pushq	$0x2\n"  /* RFLAGS: IF=0 */
	"	pushq	$0x33\n" /* CS: user code */
	"	pushq	%rdi\n"
	"	movq	%rdx, %rdi\n"
	"	movq	%rcx, %rsi\n"
	"	iretq\n"
	"1:	movl	$0x10, %ecx\n"
	"	movl	%ecx, %ds\n"
	"	movl	%ecx, %es\n"
	"	popq	%r15\n"
	"	popq	%r14\n"
	"	popq	%r13\n"
	"	popq	%r12\n"
	"	popq	%rbp\n"
	"	popq	%rbx\n"
	"	ret\n"
	"	.balign	4096\n"
	"	.globl	k_code_page, k_mmio_rw32\n"
	"k_code_page:\n"
	"k_mmio_rw32:\n" /* (p, v): *p = v, return *p */
	"	movl	%esi, (%rdi)\n"
	"	movl	(%rdi), %eax\n"
	"	ret\n"
	"	.balign	4096\n"
	"	.globl	user_code_page, user_rw32, user_read64, user_write64\n"
	"user_code_page:\n"
	"user_rw32:\n"
	"	movl	%esi, (%rdi)\n"
	"	movl	(%rdi), %eax\n"
	"	ud2\n"
	"user_read64:\n"
	"	movq	(%rdi), %rax\n"
	"	ud2\n"
	"user_write64:\n"
	"	movq	%rsi, (%rdi)\n"
	"	xorl	%eax, %eax\n"
	"	ud2\n"
	"	.balign	4096\n");

/* ---- CPU ---------------------------------------------------------------- */

static inline void
cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid"
			 : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
			 : "a"(leaf), "c"(0));
}

static inline void
write_cr0(unsigned long v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline void
write_cr3(unsigned long v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void
invlpg(unsigned long va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* ---- faults ---------------------------------------------------------------
 */

#define FAULT_MARK 0xfa0175fa0175ULL

static volatile int expect_pf;
static volatile uint64_t pf_err, pf_cr2, pf_count;

/* Back to the kernel context enter_user() left. */
static void
return_to_kernel(struct guest_trap_frame *tf)
{
	tf->rip = user_saved_rip;
	tf->rsp = user_saved_rsp;
	tf->cs = 0x08;
	tf->ss = 0x10;
}

static void
on_pf(struct guest_trap_frame *tf)
{
	unsigned long cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	if (!expect_pf) {
		guest_printf("paging: unexpected #PF error 0x%lx cr2 0x%lx rip "
			     "0x%lx cs 0x%lx\n",
			     (unsigned long)tf->error_code, cr2,
			     (unsigned long)tf->rip, (unsigned long)tf->cs);
		guest_exit(GUEST_EXIT_FAIL);
	}
	expect_pf = 0;
	pf_err = tf->error_code;
	pf_cr2 = cr2;
	pf_count++;
	if (tf->cs & 3) {
		return_to_kernel(tf);
	} else {
		/* a k_* helper or a call: return to its caller */
		tf->rip = *(uint64_t *)tf->rsp;
		tf->rsp += 8;
	}
	tf->rax = FAULT_MARK;
}

static void
on_ud(struct guest_trap_frame *tf)
{
	if (!(tf->cs & 3)) {
		guest_printf("paging: #UD at CPL 0, rip 0x%lx\n",
			     (unsigned long)tf->rip);
		guest_exit(GUEST_EXIT_FAIL);
	}
	return_to_kernel(tf); /* rax: the user code's result */
}

/* Expect the next access to raise #PF with 'err' at 'va'. */
#define EXPECT_PF(expr, err, va)                                               \
	do {                                                                   \
		uint64_t n_ = pf_count;                                        \
		expect_pf = 1;                                                 \
		GUEST_ASSERT_EQ((expr), FAULT_MARK);                           \
		GUEST_ASSERT_EQ(pf_count, n_ + 1);                             \
		GUEST_ASSERT_EQ(pf_err, (err));                                \
		GUEST_ASSERT_EQ(pf_cr2, (va));                                 \
		guest_printf("paging: #PF error 0x%lx at va 0x%lx, as "        \
			     "expected\n",                                     \
			     (unsigned long)(err), (unsigned long)(va));       \
	} while (0)

/* ---- building the tables ---------------------------------------------------
 */

#define TBL(t) ((uint64_t)(uintptr_t)(t) | P | RW | US)

static void
show_map(const char *name, unsigned long va, uint64_t pa, const char *size,
	 uint64_t f)
{
	guest_printf("paging: map %-11s va 0x%016lx -> pa 0x%09lx %s %c %s%s\n",
		     name, va, (unsigned long)pa, size, (f & US) ? 'U' : 'S',
		     (f & RW) ? "RW" : "RO", (f & NXB) ? " NX" : "");
}

static void
map4k(unsigned int slot, const char *name, uint64_t pa, uint64_t f)
{
	pt_u[slot] = pa | f;
	show_map(name, VA(slot), pa, "4K", f);
}

static void
build_tables(void)
{
	unsigned int i;

	/* identity: 4 KiB pages for [4K, 2M) (page 0 absent), 2 MiB pages
	 * for [2M, 64M), one 2 MiB page over the MMIO region */
	for (i = 1; i < 512; i++)
		pt_lo[i] = ((uint64_t)i << 12) | P | RW;
	pd_lo[0] = TBL(pt_lo);
	for (i = 1; i < 32; i++)
		pd_lo[i] = ((uint64_t)i << 21) | P | RW | PS | nx;
	pd_hi[(MMIO >> 21) & 511] = MMIO | P | RW | PS | nx;
	pdpt_lo[0] = TBL(pd_lo);
	pdpt_lo[3] = TBL(pd_hi);
	pml4[0] = TBL(pdpt_lo);
	guest_printf("paging: map identity    va 0x0000000000001000 -> pa "
		     "0x000001000 4K S RW (to 2M), 2M S RW%s (to 64M)\n",
		     nx ? " NX" : "");
	show_map("mmio-ident", MMIO, MMIO, "2M", P | RW | nx);

	/* 4 KiB aliases */
	pml4[(U4K >> 39) & 511] = TBL(pdpt_u);
	pdpt_u[0] = TBL(pd_u);
	pd_u[0] = TBL(pt_u);
	pd_u[1] = MMIO | P | RW | US | PS | nx;
	map4k(S_RAM_USER, "ram-user", (uintptr_t)buf, P | RW | US | nx);
	map4k(S_RAM_RO, "ram-ro", (uintptr_t)buf, P | nx);
	map4k(S_MMIO_SUP, "mmio-sup", MMIO, P | RW | nx);
	map4k(S_MMIO_USER, "mmio-user", MMIO, P | RW | US | nx);
	map4k(S_MMIO_RO, "mmio-ro", MMIO + 0x1000, P | nx);
	map4k(S_RAM_EXEC, "ram-exec", (uintptr_t)buf, P | RW);
	if (nx)
		map4k(S_RAM_NX, "ram-nx", (uintptr_t)buf, P | RW | nx);
	map4k(S_KCODE, "kcode", (uintptr_t)k_code_page, P);
	map4k(S_UCODE, "ucode", (uintptr_t)user_code_page, P | US);
	map4k(S_USTACK, "ustack", (uintptr_t)user_stack, P | RW | US | nx);
	guest_printf("paging: map %-11s va 0x%016lx not present\n", "absent",
		     VA(S_ABSENT));
	show_map("mmio-2m-u", VA_MMIO2MU, MMIO, "2M", P | RW | US | nx);

	/* 2 MiB and 1 GiB aliases */
	pml4[(K2M >> 39) & 511] = TBL(pdpt_k);
	pdpt_k[0] = TBL(pd_k);
	pd_k[0] = SCRATCH | P | RW | PS | nx;
	show_map("ram-2m", VA_RAM2M, SCRATCH, "2M", P | RW | nx);
	pd_k[1] = MMIO | P | RW | PS | nx;
	show_map("mmio-2m", VA_MMIO2M, MMIO, "2M", P | RW | nx);
	if (have_1g) {
		pdpt_k[1] = 0xc0000000ULL | P | RW | PS | nx;
		show_map("mmio-1g", K1G, 0xc0000000ULL, "1G", P | RW | nx);
		pdpt_k[2] = 0 | P | RW | PS | nx;
		show_map("ram-1g", K1GR, 0, "1G", P | RW | nx);
	}
}

/* A GDT with user segments (the loader's has none): its null, code,
 * data and TSS entries, then user data 0x2b and user code 0x33. */
static void
load_gdt(void)
{
	const uint64_t *old = (const uint64_t *)0x1000;
	struct guest_dtr dtr;

	for (int i = 0; i < 5; i++)
		gdt[i] = old[i];
	gdt[5] = 0x00cff2000000ffffULL; /* data, DPL 3 */
	gdt[6] = 0x00affa000000ffffULL; /* 64-bit code, DPL 3 */
	dtr.limit = sizeof(gdt) - 1;
	dtr.base = (unsigned long)gdt;
	__asm__ volatile("lgdt %0" : : "m"(dtr) : "memory");
	/* RSP0 of the loader's TSS (at 0x1080): traps from CPL 3 */
	*(volatile uint64_t *)0x1084 =
	    (uintptr_t)(trap_stack + sizeof(trap_stack));
}

/* ---- the checks ------------------------------------------------------------
 */

static inline uint32_t
rd32(unsigned long va)
{
	return *(volatile uint32_t *)va;
}

static inline void
wr32(unsigned long va, uint32_t v)
{
	*(volatile uint32_t *)va = v;
}

static inline uint64_t
rd64(unsigned long va)
{
	return *(volatile uint64_t *)va;
}

static inline void
wr64(unsigned long va, uint64_t v)
{
	*(volatile uint64_t *)va = v;
}

static void
test_ram_4k(void)
{
	volatile uint64_t *ident = (volatile uint64_t *)buf;

	ident[3] = 0x1122334455667788ULL;
	GUEST_ASSERT_EQ(rd64(VA(S_RAM_USER) + 24), 0x1122334455667788ULL);
	GUEST_ASSERT_EQ(rd64(VA(S_RAM_RO) + 24), 0x1122334455667788ULL);
	wr64(VA(S_RAM_USER) + 4088, 0xa5a5a5a55a5a5a5aULL);
	GUEST_ASSERT_EQ(ident[511], 0xa5a5a5a55a5a5a5aULL);
	GUEST_ASSERT_EQ(rd32(VA(S_RAM_RO) + 4092), 0xa5a5a5a5);
	guest_printf("paging: ram 4K aliases of pa 0x%lx agree\n",
		     (unsigned long)(uintptr_t)buf);

	/* accessed and dirty bits */
	pt_u[S_RAM_USER] &= ~(A | D);
	pd_u[0] &= ~A;
	pdpt_u[0] &= ~A;
	pml4[(U4K >> 39) & 511] &= ~A;
	invlpg(VA(S_RAM_USER));
	(void)rd64(VA(S_RAM_USER));
	GUEST_ASSERT_EQ(pt_u[S_RAM_USER] & (A | D), A);
	GUEST_ASSERT(pd_u[0] & A);
	GUEST_ASSERT(pdpt_u[0] & A);
	GUEST_ASSERT(pml4[(U4K >> 39) & 511] & A);
	GUEST_ASSERT_EQ(pd_u[0] & D, 0);
	wr64(VA(S_RAM_USER), 1);
	GUEST_ASSERT_EQ(pt_u[S_RAM_USER] & (A | D), A | D);
	GUEST_ASSERT_EQ(pd_u[0] & D, 0); /* D only in the leaf */
	guest_printf("paging: A set on every level, D on the leaf only\n");
}

static void
test_faults(void)
{
	/* CR0.WP: supervisor writes to read-only pages fault */
	EXPECT_PF(k_write64(VA(S_RAM_RO) + 8, 1), PF_P | PF_W,
		  VA(S_RAM_RO) + 8);
	write_cr0(read_cr0() & ~CR0_WP);
	GUEST_ASSERT_EQ(k_write64(VA(S_RAM_RO) + 8, 0x77), 0);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(buf + 8), 0x77);
	write_cr0(read_cr0() | CR0_WP);
	guest_printf("paging: CR0.WP=0 lets CPL 0 write a read-only page\n");

	/* not present */
	EXPECT_PF(k_read64(VA(S_ABSENT) + 0x10), 0, VA(S_ABSENT) + 0x10);
	EXPECT_PF(k_write64(VA(S_ABSENT), 0), PF_W, VA(S_ABSENT));
	EXPECT_PF(k_read64(0x8), 0, 0x8); /* page 0 */

	/* MMIO through a read-only alias: the #PF comes first, no exit */
	EXPECT_PF(k_write64(VA(S_MMIO_RO) + 0x20, 1), PF_P | PF_W,
		  VA(S_MMIO_RO) + 0x20);
}

static void
test_exec(void)
{
	/* mov $0x600d, %eax; ret */
	static const uint8_t code[] = { 0xb8, 0x0d, 0x60, 0x00, 0x00, 0xc3 };
	uint64_t (*fn)(void);

	memcpy(buf + 0x100, code, sizeof(code));
	fn = (uint64_t(*)(void))(VA(S_RAM_EXEC) + 0x100);
	GUEST_ASSERT_EQ(fn() & 0xffffffff, 0x600d);
	guest_printf("paging: executed code at va 0x%lx (pa 0x%lx)\n",
		     VA(S_RAM_EXEC) + 0x100,
		     (unsigned long)(uintptr_t)buf + 0x100);
	if (!nx) {
		guest_printf("paging: no NX (CPUID.80000001H:EDX[20]=0): NX "
			     "part skipped\n");
		return;
	}
	fn = (uint64_t(*)(void))(VA(S_RAM_NX) + 0x100);
	EXPECT_PF(fn(), PF_P | PF_I, VA(S_RAM_NX) + 0x100);
}

static void
test_ram_large(void)
{
	volatile uint32_t *ident = (volatile uint32_t *)(SCRATCH + 0x12344);

	*ident = 0xc0ffee11;
	GUEST_ASSERT_EQ(rd32(VA_RAM2M + 0x12344), 0xc0ffee11);
	wr32(VA_RAM2M + 0x1ffffc, 0xfeedf00d);
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(SCRATCH + 0x1ffffc), 0xfeedf00d);
	guest_printf("paging: ram 2M alias va 0x%lx -> pa 0x%lx agrees\n",
		     VA_RAM2M, SCRATCH);
	if (have_1g) {
		unsigned long va = K1GR + (uintptr_t)buf;

		GUEST_ASSERT_EQ(rd64(va + 24), 0x1122334455667788ULL);
		wr64(va + 32, 0x1);
		GUEST_ASSERT_EQ(*(volatile uint64_t *)(buf + 32), 1);
		guest_printf("paging: ram 1G alias va 0x%lx -> pa 0x%lx "
			     "agrees\n",
			     va, (unsigned long)(uintptr_t)buf);
	}
}

/* One MMIO write through one alias and reads through others. */
static void
mmio_check(unsigned long off, uint32_t v, unsigned long wva,
	   const unsigned long *rva, int nr)
{
	guest_printf("paging: mmio write32 0x%x at va 0x%016lx (pa 0x%lx) "
		     "cpl 0\n",
		     v, wva + off, MMIO + off);
	wr32(wva + off, v);
	for (int i = 0; i < nr; i++) {
		guest_printf("paging: mmio read32 at va 0x%016lx (pa 0x%lx) "
			     "cpl 0\n",
			     rva[i] + off, MMIO + off);
		GUEST_ASSERT_EQ(rd32(rva[i] + off), v);
	}
}

static void
test_mmio(void)
{
	unsigned long all[6] = { VA(S_MMIO_USER), MMIO,
				 VA_MMIO2M,       VA_MMIO2MU,
				 VA(S_MMIO_SUP),  K1G + 0x3f000000 };
	int n = have_1g ? 6 : 5;
	uint32_t (*rw)(unsigned long, uint32_t);

	mmio_check(0x10, 0x11223344, VA(S_MMIO_SUP), all, n);
	mmio_check(0x14, 0x55667788, VA_MMIO2MU, all, n);
	if (have_1g)
		mmio_check(0x18, 0x99aabbcc, K1G + 0x3f000000, all, n);
	else
		guest_printf("paging: 1 GiB pages not supported "
			     "(CPUID.80000001H:EDX.Page1GB[26]=0): 1 GiB part "
			     "skipped\n");

	/* the second MMIO page: 2 MiB alias vs the read-only 4 KiB one */
	guest_printf("paging: mmio write64 at va 0x%016lx (pa 0x%lx), read at "
		     "va 0x%016lx\n",
		     VA_MMIO2M + 0x1008, MMIO + 0x1008, VA(S_MMIO_RO) + 8);
	wr64(VA_MMIO2M + 0x1008, 0x0123456789abcdefULL);
	GUEST_ASSERT_EQ(rd64(VA(S_MMIO_RO) + 8), 0x0123456789abcdefULL);
	GUEST_ASSERT_EQ(rd32(MMIO + 0x100c), 0x01234567);

	/* the accessing code itself fetched through an alias */
	rw = (uint32_t(*)(unsigned long, uint32_t))(
	    VA(S_KCODE) + (k_mmio_rw32 - k_code_page));
	guest_printf("paging: mmio rw32 from code at va 0x%016lx (pa 0x%lx) "
		     "to va 0x%016lx (pa 0x%lx) cpl 0\n",
		     (unsigned long)rw, (unsigned long)(uintptr_t)k_mmio_rw32,
		     VA_MMIO2M + 0x40, MMIO + 0x40);
	GUEST_ASSERT_EQ(rw(VA_MMIO2M + 0x40, 0xdecade01), 0xdecade01);
	GUEST_ASSERT_EQ(rd32(VA(S_MMIO_USER) + 0x40), 0xdecade01);
	guest_printf("paging: mmio aliases agree\n");
}

static unsigned long
ucode(const char *sym)
{
	return VA(S_UCODE) + (unsigned long)(sym - user_code_page);
}

static void
test_user(void)
{
	unsigned long usp = VA(S_USTACK) + 4096 - 16;
	uint64_t r;

	guest_printf("paging: mmio rw32 from code at va 0x%016lx (pa 0x%lx) "
		     "to va 0x%016lx (pa 0x%lx) cpl 3\n",
		     ucode(user_rw32), (unsigned long)(uintptr_t)user_rw32,
		     VA(S_MMIO_USER) + 0x50, MMIO + 0x50);
	r = enter_user(ucode(user_rw32), usp, VA(S_MMIO_USER) + 0x50,
		       0x5e5e0003);
	GUEST_ASSERT_EQ(r & 0xffffffff, 0x5e5e0003);
	GUEST_ASSERT_EQ(rd32(VA(S_MMIO_SUP) + 0x50), 0x5e5e0003);
	guest_printf("paging: mmio rw32 from code at va 0x%016lx to va "
		     "0x%016lx (pa 0x%lx) cpl 3\n",
		     ucode(user_rw32), VA_MMIO2MU + 0x54, MMIO + 0x54);
	r = enter_user(ucode(user_rw32), usp, VA_MMIO2MU + 0x54, 0x5e5e0004);
	GUEST_ASSERT_EQ(r & 0xffffffff, 0x5e5e0004);
	GUEST_ASSERT_EQ(rd32(MMIO + 0x54), 0x5e5e0004);
	/* user RAM page */
	*(volatile uint64_t *)(buf + 48) = 0xabcdef;
	GUEST_ASSERT_EQ(
	    enter_user(ucode(user_read64), usp, VA(S_RAM_USER) + 48, 0),
	    0xabcdef);

	/* user accesses to supervisor pages */
	EXPECT_PF(enter_user(ucode(user_read64), usp, VA(S_MMIO_SUP) + 0x50, 0),
		  PF_P | PF_U, VA(S_MMIO_SUP) + 0x50);
	EXPECT_PF(enter_user(ucode(user_write64), usp, VA(S_RAM_RO), 5),
		  PF_P | PF_W | PF_U, VA(S_RAM_RO));
	EXPECT_PF(enter_user(ucode(user_read64), usp, (uintptr_t)buf, 0),
		  PF_P | PF_U, (unsigned long)(uintptr_t)buf);
	guest_printf("paging: cpl 3 accesses ok\n");
}

int
guest_main(void)
{
	uint32_t a, b, c, d;

	GUEST_ASSERT((uintptr_t)__guest_end <= SCRATCH);
	cpuid(0x80000000, &a, &b, &c, &d);
	if (a >= 0x80000001) {
		cpuid(0x80000001, &a, &b, &c, &d);
		have_nx = (d >> 20) & 1;
		have_1g = (d >> 26) & 1;
	}
	guest_printf("paging: NX %s, 1 GiB pages %s\n",
		     have_nx ? "supported" : "not supported",
		     have_1g ? "supported" : "not supported");
	if (have_nx) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		nx = NXB;
	}
	guest_set_trap_handler(14, on_pf);
	guest_set_trap_handler(6, on_ud);
	load_gdt();
	build_tables();
	write_cr0(read_cr0() | CR0_WP);
	write_cr3((uintptr_t)pml4);
	guest_printf("paging: CR3 = 0x%lx (own 4-level tables), CR0.WP=1%s\n",
		     (unsigned long)(uintptr_t)pml4, nx ? ", EFER.NXE=1" : "");

	test_ram_4k();
	test_faults();
	test_exec();
	test_ram_large();
	test_mmio();
	test_user();
	guest_printf("paging: ok\n");
	return 0;
}
