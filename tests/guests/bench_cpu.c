/*
 * bench_cpu: the compute-bound guest of the CPU benchmark (tests/bench/
 * bench_cpu.c, `make bench`).  One binary boots on rhyve (kvm and interp)
 * and under qemu-system-x86_64, so that all of them run exactly the same
 * instructions: a multiboot v1 kernel with the a.out address fields
 * (QEMU loads a multiboot ELF only if it is ELF32; with the address fields
 * it does not look at the ELF header, and neither does rhyve), entered in
 * 32-bit protected mode at mb_entry, which maps the first GiB with 2 MiB
 * pages (user-accessible), enters long mode and jumps to the 64-bit
 * runtime's _start.
 *
 * The command line says what to run: "work=int|copy|sieve n=ROUNDS
 * cpl=0|3" (QEMU puts the kernel's file name first; only these words
 * count).  At cpl=3 the workload runs in user mode, entered with SYSRET
 * and left with UD2.  The guest prints
 *   bench_cpu: work=NAME cpl=C checksum=0x<16 hex digits>
 * and powers off through the isa-debug-exit port (status 1).  The
 * harness relies on a run's instruction count being linear in the
 * rounds: so ROUNDS comes zero-padded to a fixed width (the parse takes
 * as many steps whatever the value) and the checksum is printed with a
 * fixed number of digits by a loop without branches.
 */
#include "bench_work.h"
#include "guest.h"

#define MB_FLAGS    "0x00010002" /* memory information, address fields */
#define MBI_CMDLINE 0x004u

#define MSR_EFER    0xc0000080u
#define MSR_STAR    0xc0000081u
#define EFER_SCE    0x1u

/*
 * The 32-bit entry.  GDT: 0x08 kernel code (64-bit), 0x10 kernel data,
 * 0x18 user data, 0x20 user code (64-bit) -- the order SYSRET wants with
 * STAR[63:48] = 0x10.
 */
__asm__(".section .text.start, \"ax\", @progbits\n"
	".balign 4\n"
	"mb_header:\n"
	"	.long 0x1badb002\n"
	"	.long " MB_FLAGS "\n"
	"	.long -(0x1badb002 + " MB_FLAGS ")\n"
	"	.long mb_header\n"     /* header_addr */
	"	.long __guest_start\n" /* load_addr */
	"	.long __bss_start\n"   /* load_end_addr */
	"	.long __guest_end\n"   /* bss_end_addr */
	"	.long mb_entry\n"      /* entry_addr */
	"	.code32\n"
	"	.globl mb_entry\n"
	"mb_entry:\n"
	"	cli\n"
	"	movl %ebx, mb_info\n"
	/* PD: 512 2 MiB pages, present, writable, user, PS. */
	"	movl $bench_pd, %edi\n"
	"	movl $0x87, %eax\n"
	"	movl $512, %ecx\n"
	"1:	movl %eax, (%edi)\n"
	"	movl $0, 4(%edi)\n"
	"	addl $0x200000, %eax\n"
	"	addl $8, %edi\n"
	"	loop 1b\n"
	/* PDPT[0] -> PD, PML4[0] -> PDPT; the other entries are 0 (.bss,
	 * which the loader clears). */
	"	movl $bench_pd + 7, bench_pdpt\n"
	"	movl $bench_pdpt + 7, bench_pml4\n"
	"	movl %cr4, %eax\n"
	"	orl $0x20, %eax\n" /* PAE */
	"	movl %eax, %cr4\n"
	"	movl $bench_pml4, %eax\n"
	"	movl %eax, %cr3\n"
	"	movl $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	orl $0x100, %eax\n" /* LME */
	"	wrmsr\n"
	"	movl %cr0, %eax\n"
	"	orl $0x80000001, %eax\n" /* PG, PE */
	"	movl %eax, %cr0\n"
	"	lgdt bench_gdtr\n"
	"	ljmp $0x08, $2f\n"
	"	.code64\n"
	"2:	movl $0x10, %eax\n"
	"	movl %eax, %ds\n"
	"	movl %eax, %es\n"
	"	movl %eax, %ss\n"
	"	movl %eax, %fs\n"
	"	movl %eax, %gs\n"
	"	jmp _start\n"
	".previous\n"
	".section .data\n"
	".balign 16\n"
	".globl bench_gdt\n"
	"bench_gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00af9a000000ffff\n" /* 0x08 kernel code, 64-bit */
	"	.quad 0x00cf92000000ffff\n" /* 0x10 kernel data */
	"	.quad 0x00cff2000000ffff\n" /* 0x18 user data */
	"	.quad 0x00affa000000ffff\n" /* 0x20 user code, 64-bit */
	"	.quad 0, 0\n" /* 0x28 the TSS (guest_main fills it in) */
	"bench_gdtr:\n"
	"	.word bench_gdtr - bench_gdt - 1\n"
	"	.quad bench_gdt\n"
	".previous\n");

/*
 * user_call(fn, arg): run fn(arg) at CPL 3 on the user stack and return
 * its value.  SYSRET enters it with its return address at user_exit,
 * whose UD2 takes the vCPU back to CPL 0 (on_ud), at user_return with
 * the kernel stack: it returns from user_call.  (Not SYSCALL: on this
 * workplace's PVM-based KVM, SYSCALL from guest user mode stays at CPL 3.)
 * Interrupts stay off.
 */
uint64_t user_call(uint64_t (*fn)(uint64_t), uint64_t arg);
extern char user_exit[], user_return[];
uint64_t kernel_rsp;
__asm__(".text\n"
	".globl user_call, user_exit, user_return\n"
	"user_call:\n"
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, kernel_rsp(%rip)\n"
	"	movq %rdi, %rcx\n"
	"	movq %rsi, %rdi\n"
	"	movl $2, %r11d\n" /* RFLAGS: IF = 0 */
	"	movq user_stack_top(%rip), %rsp\n"
	"	leaq user_exit(%rip), %rax\n"
	"	pushq %rax\n"
	"	sysretq\n"
	"user_exit:\n"
	"	ud2\n"
	"user_return:\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	ret\n"
	".previous\n");

extern uint64_t bench_gdt[7];
uint32_t mb_info;
/* The 64-bit TSS: RSP0 for an exception at CPL 3 (reported as usual). */
static uint8_t tss[104] __attribute__((aligned(16)));
static uint8_t trap_stack[8192] __attribute__((aligned(16)));
uint64_t bench_pml4[512] __attribute__((aligned(4096)));
uint64_t bench_pdpt[512] __attribute__((aligned(4096)));
uint64_t bench_pd[512] __attribute__((aligned(4096)));
static uint8_t user_stack[16384] __attribute__((aligned(16)));
uint8_t *const user_stack_top = user_stack + sizeof(user_stack);

static uint64_t copy_a[BENCH_COPY_WORDS], copy_b[BENCH_COPY_WORDS];
static uint8_t sieve_buf[BENCH_SIEVE_SIZE];

static uint64_t
run_int(uint64_t n)
{
	return bench_int(n);
}

static uint64_t
run_copy(uint64_t n)
{
	return bench_copy(n, copy_a, copy_b);
}

static uint64_t
run_sieve(uint64_t n)
{
	return bench_sieve(n, sieve_buf);
}

/* The UD2 at user_exit: back to CPL 0 at user_return, rax kept. */
static void
on_ud(struct guest_trap_frame *tf)
{
	if (tf->cs != 0x23 || tf->rip != (uintptr_t)user_exit) {
		guest_printf("bench_cpu: #UD at rip 0x%llx cs 0x%llx\n",
			     (unsigned long long)tf->rip,
			     (unsigned long long)tf->cs);
		guest_exit(GUEST_EXIT_EXCEPTION);
	}
	tf->rip = (uintptr_t)user_return;
	tf->cs = 0x08;
	tf->rsp = kernel_rsp;
	tf->ss = 0x10;
}

/* The value of "key=" in the command line (a word of its own), or NULL. */
static const char *
cmdline_arg(const char *cmdline, const char *key)
{
	for (const char *p = cmdline; *p != '\0'; p++) {
		const char *k = key, *q = p;

		if (p != cmdline && p[-1] != ' ')
			continue;
		while (*k != '\0' && *q == *k) {
			k++;
			q++;
		}
		if (*k == '\0')
			return q;
	}
	return NULL;
}

static bool
word_is(const char *v, const char *w)
{
	while (*w != '\0' && *v == *w) {
		v++;
		w++;
	}
	return *w == '\0' && (*v == '\0' || *v == ' ');
}

static uint64_t
parse_u64(const char *v)
{
	uint64_t n = 0;

	while (*v >= '0' && *v <= '9')
		n = n * 10 + (uint64_t)(*v++ - '0');
	return n;
}

int
guest_main(void)
{
	const uint32_t *mbi = (const uint32_t *)(uintptr_t)mb_info;
	const char *cmdline, *work, *arg;
	uint64_t (*fn)(uint64_t);
	uint64_t n, sum;
	unsigned int cpl;
	char hex[17];

	GUEST_ASSERT(mbi != NULL && (mbi[0] & MBI_CMDLINE));
	cmdline = (const char *)(uintptr_t)mbi[4];
	work = cmdline_arg(cmdline, "work=");
	arg = cmdline_arg(cmdline, "n=");
	n = arg != NULL ? parse_u64(arg) : 1;
	arg = cmdline_arg(cmdline, "cpl=");
	cpl = arg != NULL && word_is(arg, "3") ? 3 : 0;
	if (work != NULL && word_is(work, "int")) {
		fn = run_int;
		work = "int";
	} else if (work != NULL && word_is(work, "copy")) {
		fn = run_copy;
		work = "copy";
	} else if (work != NULL && word_is(work, "sieve")) {
		fn = run_sieve;
		work = "sieve";
	} else {
		guest_printf("bench_cpu: command line \"%s\": no "
			     "work=int|copy|sieve\n",
			     cmdline);
		return GUEST_EXIT_FAIL;
	}
	if (cpl == 3) {
		uint64_t base = (uint64_t)(uintptr_t)tss;
		uint64_t rsp0 =
		    (uint64_t)(uintptr_t)(trap_stack + sizeof(trap_stack));

		memcpy(tss + 4, &rsp0, 8);
		tss[102] = sizeof(tss); /* no I/O bitmap */
		bench_gdt[5] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 |
			       0x89ULL << 40 | ((base >> 24) & 0xff) << 56;
		bench_gdt[6] = base >> 32;
		__asm__ volatile("ltr %w0" : : "r"(0x28));
		wrmsr(MSR_STAR, 0x0010000800000000ULL);
		guest_set_trap_handler(6, on_ud);
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
		sum = user_call(fn, n);
		GUEST_ASSERT_EQ(read_cs(), 0x08);
	} else {
		sum = fn(n);
	}
	for (int i = 0; i < 16; i++)
		hex[i] = "0123456789abcdef"[(sum >> (60 - 4 * i)) & 0xf];
	hex[16] = '\0';
	guest_printf("bench_cpu: work=%s cpl=%u checksum=0x%s\n", work, cpl,
		     hex);
	return GUEST_EXIT_OK;
}
