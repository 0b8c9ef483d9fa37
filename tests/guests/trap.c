/*
 * trap: exceptions delivered through the runtime's IDT to installed
 * handlers, which resume the guest with IRETQ (through the selectors of
 * the loader's GDT): #UD, #DE, #PF (with error code and CR2) and #GP.
 *
 * No #BP: INT3 / INT n are not handled by the instruction emulation of
 * some nested KVM setups (e.g. PVM reports an internal error).
 */
#include "guest.h"

struct hit {
	uint64_t vector, error_code, rip, cr2;
	int count;
};

static volatile struct hit hit;
static volatile uint64_t resume_rip;

static void
on_fault(struct guest_trap_frame *tf)
{
	unsigned long cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	hit.vector = tf->vector;
	hit.error_code = tf->error_code;
	hit.rip = tf->rip;
	hit.cr2 = cr2;
	hit.count++;
	tf->rip = resume_rip;
	tf->rax = 0x600d;
}

static void
on_ud(struct guest_trap_frame *tf)
{
	hit.vector = tf->vector;
	hit.rip = tf->rip;
	hit.count++;
	tf->rip += 2; /* skip the ud2 */
	tf->rax = 0x600d;
}

static void
expect(unsigned int vector, uint64_t error_code, uint64_t rip)
{
	GUEST_ASSERT_EQ(hit.count, 1);
	GUEST_ASSERT_EQ(hit.vector, vector);
	GUEST_ASSERT_EQ(hit.error_code, error_code);
	GUEST_ASSERT_EQ(hit.rip, rip);
	hit.count = 0;
	hit.error_code = 0;
}

int
guest_main(void)
{
	uint64_t at, rax;

	guest_set_trap_handler(0, on_fault);  /* #DE */
	guest_set_trap_handler(6, on_ud);     /* #UD */
	guest_set_trap_handler(13, on_fault); /* #GP */
	guest_set_trap_handler(14, on_fault); /* #PF */

	/* #UD: a fault, rip is the ud2; the handler skips it. */
	__asm__ volatile("lea 0f(%%rip), %0\n\t"
			 "xor %%eax, %%eax\n"
			 "0:\tud2"
			 : "=&r"(at), "=a"(rax));
	expect(6, 0, at);
	GUEST_ASSERT_EQ(rax, 0x600d);

	/* #DE: divide by zero, resumed after the div. */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %2\n\t"
			 "lea 0f(%%rip), %0\n\t"
			 "xor %%edx, %%edx\n\t"
			 "mov $1, %%eax\n\t"
			 "xor %%ecx, %%ecx\n"
			 "0:\tdivl %%ecx\n"
			 "1:"
			 : "=&r"(at), "=&a"(rax), "=m"(resume_rip)
			 :
			 : "rcx", "rdx", "cc");
	expect(0, 0, at);
	GUEST_ASSERT_EQ(rax, 0x600d);

	/* #PF: 4 GiB and up are not mapped; read, not present: error 0. */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %2\n\t"
			 "lea 0f(%%rip), %0\n\t"
			 "movabs $0x100000008, %%rcx\n"
			 "0:\tmov (%%rcx), %%rax\n"
			 "1:"
			 : "=&r"(at), "=&a"(rax), "=m"(resume_rip)
			 :
			 : "rcx", "cc");
	expect(14, 0, at);
	GUEST_ASSERT_EQ(hit.cr2, 0x100000008ULL);
	GUEST_ASSERT_EQ(rax, 0x600d);

	/* #PF on a write: error code bit 1 (W). */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %2\n\t"
			 "lea 0f(%%rip), %0\n\t"
			 "movabs $0x200000010, %%rcx\n"
			 "0:\tmovl $1, (%%rcx)\n"
			 "1:"
			 : "=&r"(at), "=&a"(rax), "=m"(resume_rip)
			 :
			 : "rcx", "cc", "memory");
	expect(14, 2, at);
	GUEST_ASSERT_EQ(hit.cr2, 0x200000010ULL);

	/* #GP(0): a non-canonical address. */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %2\n\t"
			 "lea 0f(%%rip), %0\n\t"
			 "movabs $0x8000000000000000, %%rcx\n"
			 "0:\tmov (%%rcx), %%rax\n"
			 "1:"
			 : "=&r"(at), "=&a"(rax), "=m"(resume_rip)
			 :
			 : "rcx", "cc");
	expect(13, 0, at);

	/* Still in a sane state afterwards. */
	GUEST_ASSERT_EQ(read_cs(), 0x08);
	GUEST_ASSERT_EQ(read_ss(), 0x10);
	GUEST_ASSERT((read_flags() & 0x200) == 0);

	guest_set_trap_handler(0, NULL);
	guest_set_trap_handler(6, NULL);
	guest_set_trap_handler(13, NULL);
	guest_set_trap_handler(14, NULL);
	guest_printf("trap: ok\n");
	return 0;
}
