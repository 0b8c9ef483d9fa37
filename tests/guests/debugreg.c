/*
 * debugreg: the guest's own debug facilities (Intel SDM vol. 3B ch. 17),
 * each check printed as "debugreg: NAME: ok" or "... FAILED (why)":
 *  - MOV to/from DR0-DR3, DR6, DR7 (fixed and reserved bits), DR4/DR5 as
 *    DR6/DR7 without CR4.DE and #UD with it, #GP for upper DR6/DR7 bits;
 *  - DR7.GD: a #DB fault before the MOV DR, DR6.BD, RF = 1 in the frame,
 *    GD clear in the handler;
 *  - instruction breakpoints: a fault before the instruction, RF = 0 in
 *    the frame, and the handler's RF passing it exactly once;
 *  - single-step by TF: the POPF that sets TF gets no trap, the one that
 *    clears it does; IRET that sets TF gets none;
 *  - with the fw_cfg file opt/rhyve/debugreg holding "full" (the interp
 *    engine's test), also what PVM-based KVM does not do for guest kernel
 *    code, which it runs in KVM's instruction emulator: data breakpoints
 *    (the emulator ignores them), the MOV SS hold (it traps right after
 *    MOV SS), RF = 1 in the frame of the general-detect fault (it pushes
 *    0), INT n, INT3 and INT1 (ICEBP) under TF (PVM reports an internal
 *    error for them in guest kernel mode), I/O breakpoints (CR4.DE), a
 *    data breakpoint inside REP MOVSB (RF = 1 in the frame of an
 *    iteration but the last).
 * Prints "debugreg: all N checks ok" and powers off, or fails.
 */
#include "guest.h"

#define FW_CFG_SEL      0x510
#define FW_CFG_DATA     0x511
#define FW_CFG_FILE_DIR 0x19

#define RF              (1UL << 16)
#define TF              (1UL << 8)
#define DR6_BD          (1UL << 13)
#define DR6_BS          (1UL << 14)
#define DR7_GD          (1UL << 13)
#define CR4_DE          (1UL << 3)

/* DR7 bits for breakpoint n: L enable, R/W, LEN (00 1, 01 2, 11 4, 10 8) */
#define DR7_BP(n, rw, len)                                                     \
	((1UL << (2 * (n))) | ((unsigned long)(rw) << (16 + 4 * (n))) |        \
	 ((unsigned long)(len) << (18 + 4 * (n))))
#define RW_EXEC      0
#define RW_WRITE     1
#define RW_IO        2
#define RW_RW        3
#define LEN1         0
#define LEN2         1
#define LEN8         2
#define LEN4         3

#define SET_DR(n, v) __asm__ volatile("mov %0, %%dr" #n : : "r"((uint64_t)(v)))
#define GET_DR(n)                                                              \
	({                                                                     \
		uint64_t v_;                                                   \
		__asm__ volatile("mov %%dr" #n ", %0" : "=r"(v_));             \
		v_;                                                            \
	})

/* What the #DB handler saw, per exception. */
#define MAXDB 8
static volatile struct {
	int n;
	uint64_t dr6[MAXDB], dr7[MAXDB], rip[MAXDB], rflags[MAXDB];
	uint64_t rcx[MAXDB];
	bool set_rf; /* the handler sets RF in the frame */
} db;

/* #UD, #GP: the vector and rip, resumed 'skip' bytes on. */
static volatile struct {
	int n;
	uint64_t vector, rip, error_code;
	unsigned int skip;
} flt;

static volatile int soft_hits;
static int nchecks, nfailed;
static bool full;

/* Global for the gdb test (tests/gdb/guestdr.py). */
volatile uint64_t debugreg_stage;
void debugreg_done(void);

static volatile uint64_t dvar[4] __attribute__((aligned(32)));
static volatile uint8_t rep_src[8], rep_dst[8];

static void
on_db(struct guest_trap_frame *tf)
{
	int i = db.n++;

	if (i < MAXDB) {
		db.dr6[i] = GET_DR(6);
		db.dr7[i] = GET_DR(7);
		db.rip[i] = tf->rip;
		db.rflags[i] = tf->rflags;
		db.rcx[i] = tf->rcx;
	}
	SET_DR(6, 0); /* as the SDM asks of handlers */
	if (db.set_rf)
		tf->rflags |= RF;
}

static void
on_fault(struct guest_trap_frame *tf)
{
	flt.n++;
	flt.vector = tf->vector;
	flt.rip = tf->rip;
	flt.error_code = tf->error_code;
	tf->rip += flt.skip;
}

/* INT n / INT3 handlers (a #DB before them would show in db.n). */
static void
on_soft(struct guest_trap_frame *tf)
{
	(void)tf;
	soft_hits++;
}

static void
reset(void)
{
	SET_DR(7, 0x400);
	SET_DR(6, 0);
	db.n = 0;
	db.set_rf = false;
	flt.n = 0;
	flt.skip = 0;
}

static void
result(const char *name, const char *why)
{
	nchecks++;
	if (why == NULL) {
		guest_printf("debugreg: %s: ok\n", name);
		return;
	}
	nfailed++;
	guest_printf("debugreg: %s: FAILED (%s)\n", name, why);
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			return #cond;                                          \
	} while (0)

/* ---- MOV DRn -------------------------------------------------------- */

static const char *
check_mov(void)
{
	SET_DR(0, 0x1000);
	SET_DR(1, 0xffffffff12345678UL);
	SET_DR(2, 0x7fff0003);
	SET_DR(3, 0xffff800000000000UL);
	CHECK(GET_DR(0) == 0x1000);
	CHECK(GET_DR(1) == 0xffffffff12345678UL);
	CHECK(GET_DR(2) == 0x7fff0003);
	CHECK(GET_DR(3) == 0xffff800000000000UL);
	SET_DR(6, 0);
	CHECK(GET_DR(6) == 0xffff0ff0);
	SET_DR(6, 0xffffffff);
	CHECK(GET_DR(6) == 0xffffefff); /* bit 12 reads 0 */
	SET_DR(6, 0);
	SET_DR(7, 0);
	CHECK(GET_DR(7) == 0x400); /* bit 10 reads 1 */
	SET_DR(7, 0xd400);         /* reserved bits 12, 14, 15 */
	CHECK(GET_DR(7) == 0x400);
	return NULL;
}

static const char *
check_alias(void)
{
	unsigned long cr4 = read_cr4();
	uint64_t at;

	/* Without CR4.DE, DR4 and DR5 are DR6 and DR7. */
	SET_DR(4, 0x1);
	CHECK(GET_DR(6) == 0xffff0ff1);
	CHECK(GET_DR(4) == 0xffff0ff1);
	SET_DR(6, 0);
	SET_DR(5, 0x400);
	CHECK(GET_DR(5) == 0x400 && GET_DR(7) == 0x400);
	/* With it, #UD. */
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_DE));
	flt.n = 0;
	flt.skip = 3;
	__asm__ volatile("lea 1f(%%rip), %0\n"
			 "1:\tmov %%dr4, %%rax"
			 : "=&r"(at)
			 :
			 : "rax");
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	CHECK(flt.n == 1 && flt.vector == 6 && flt.rip == at);
	return NULL;
}

static const char *
check_gp(void)
{
	uint64_t at;

	flt.n = 0;
	flt.skip = 3;
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %1, %%rax\n"
			 "1:\tmov %%rax, %%dr7"
			 : "=&r"(at)
			 : "r"(1UL << 32 | 0x400)
			 : "rax");
	CHECK(flt.n == 1 && flt.vector == 13 && flt.rip == at &&
	      flt.error_code == 0);
	CHECK(GET_DR(7) == 0x400);
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %1, %%rax\n"
			 "1:\tmov %%rax, %%dr6"
			 : "=&r"(at)
			 : "r"(1UL << 40)
			 : "rax");
	CHECK(flt.n == 2 && flt.vector == 13 && flt.rip == at);
	return NULL;
}

/* MOV from DR0 with DR7.GD set; at: its address, *v: what it read. */
static void
gd_fault(uint64_t *at, uint64_t *v)
{
	reset();
	SET_DR(0, 0x1234);
	SET_DR(7, 0x400 | DR7_GD);
	/* A fault before the MOV, which runs after the handler returns. */
	__asm__ volatile("lea 1f(%%rip), %0\n"
			 "1:\tmov %%dr0, %1"
			 : "=&r"(*at), "=r"(*v));
}

static const char *
check_gd(void)
{
	uint64_t at, v;

	gd_fault(&at, &v);
	CHECK(db.n == 1);
	CHECK(db.rip[0] == at);
	CHECK(db.dr6[0] & DR6_BD);
	CHECK((db.dr6[0] & (DR6_BS | 0xf)) == 0);
	CHECK((db.dr7[0] & DR7_GD) == 0);
	CHECK(v == 0x1234);
	CHECK(GET_DR(7) == 0x400);
	return NULL;
}

/* ---- breakpoints ----------------------------------------------------- */

static const char *
check_ibp(void)
{
	uint64_t at, n = 0;

	reset();
	db.set_rf = true;
	/* Twice through a breakpointed instruction: two faults, each
	 * before it runs, each passed once by RF. */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %%dr0\n\t"
			 "mov %2, %%rax\n\t"
			 "mov %%rax, %%dr7\n\t"
			 "mov $2, %%edx\n"
			 "1:\tinc %1\n\t"
			 "dec %%edx\n\t"
			 "jnz 1b\n\t"
			 "mov $0x400, %%eax\n\t"
			 "mov %%rax, %%dr7"
			 : "=&r"(at), "+r"(n)
			 : "i"(0x400 | DR7_BP(0, RW_EXEC, LEN1))
			 : "rax", "rdx");
	CHECK(n == 2);
	CHECK(db.n == 2);
	CHECK(db.rip[0] == at && db.rip[1] == at);
	CHECK((db.dr6[0] & 0xf) == 1 && (db.dr6[1] & 0xf) == 1);
	CHECK((db.dr6[0] & DR6_BS) == 0);
	CHECK((db.rflags[0] & RF) == 0); /* an instruction breakpoint's */
	return NULL;
}

static const char *
check_dbp_write(void)
{
	volatile uint8_t *p = (volatile uint8_t *)&dvar[0];
	uint64_t at, v;

	reset();
	dvar[0] = 0;
	SET_DR(1, &dvar[0]);
	SET_DR(7, 0x400 | DR7_BP(1, RW_WRITE, LEN4));
	/* A write inside the 4 bytes: a trap after it, the byte written. */
	__asm__ volatile("movb $0x5a, 2(%1)\n"
			 "1:\tlea 1b(%%rip), %0"
			 : "=r"(at)
			 : "r"(p)
			 : "memory");
	CHECK(db.n == 1);
	CHECK(db.rip[0] == at);
	CHECK((db.dr6[0] & 0xf) == 2);
	CHECK(p[2] == 0x5a);
	/* A read, and a write beside the 4 bytes: nothing. */
	v = dvar[0];
	p[4] = 1;
	CHECK(db.n == 1);
	CHECK(v == 0x5a0000);
	SET_DR(7, 0x400);
	return NULL;
}

static const char *
check_dbp_rw(void)
{
	volatile uint8_t *p = (volatile uint8_t *)&dvar[1];
	volatile uint8_t *q = (volatile uint8_t *)&dvar[2];
	uint8_t x;

	reset();
	/* LEN 2 at an odd address: masked to bytes 2-3. */
	SET_DR(2, p + 3);
	SET_DR(7, 0x400 | DR7_BP(2, RW_RW, LEN2));
	x = p[3];
	CHECK(db.n == 1 && (db.dr6[0] & 0xf) == 4);
	x = p[2];
	CHECK(db.n == 2);
	x = p[4];
	x = p[1];
	CHECK(db.n == 2);
	/* LEN 8 anywhere in the quadword: masked to its start. */
	SET_DR(2, q + 5);
	SET_DR(7, 0x400 | DR7_BP(2, RW_RW, LEN8));
	x = q[0];
	CHECK(db.n == 3);
	/* A 2-byte read that ends in it. */
	x = (uint8_t) * (volatile uint16_t *)(p + 7);
	CHECK(db.n == 4);
	x = p[6];
	CHECK(db.n == 4);
	(void)x;
	SET_DR(7, 0x400);
	return NULL;
}

/* ---- single-step ----------------------------------------------------- */

static const char *
check_tf(void)
{
	uint64_t a2, a6;

	reset();
	__asm__ volatile("lea 2f(%%rip), %0\n\t"
			 "lea 6f(%%rip), %1\n\t"
			 "pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n" /* sets TF: no trap after it */
			 "1:\tnop\n"
			 "2:\tnop\n"
			 "3:\tpushfq\n"
			 "4:\tandq $~0x100, (%%rsp)\n"
			 "5:\tpopfq\n" /* clears TF: a trap after it */
			 "6:"
			 : "=&r"(a2), "=&r"(a6)
			 :
			 : "memory", "cc");
	CHECK(db.n == 5);
	CHECK(db.rip[0] == a2);
	CHECK(db.rip[4] == a6);
	CHECK((db.dr6[0] & (DR6_BS | 0xf)) == DR6_BS);
	CHECK(db.rflags[0] & TF);
	CHECK((db.rflags[4] & TF) == 0);
	CHECK((read_flags() & TF) == 0);
	return NULL;
}

static const char *
check_movss(void)
{
	uint64_t b1, b2;

	reset();
	/* MOV SS: no trap after it, one after the instruction after it. */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "lea 2f(%%rip), %1\n\t"
			 "pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"
			 "mov %%ss, %%eax\n\t"
			 "mov %%eax, %%ss\n"
			 "1:\tnop\n"
			 "2:\tpushfq\n\t"
			 "andq $~0x100, (%%rsp)\n\t"
			 "popfq"
			 : "=&r"(b1), "=&r"(b2)
			 :
			 : "rax", "memory", "cc");
	CHECK(db.n == 5); /* mov from ss, nop, pushfq, andq, popfq */
	for (int i = 0; i < db.n; i++)
		CHECK(db.rip[i] != b1);
	CHECK(db.rip[1] == b2);
	return NULL;
}

static const char *
check_iret_tf(void)
{
	uint64_t c1, c2;

	reset();
	/* IRETQ to 1: with TF set in the frame: no trap after the IRETQ. */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "lea 2f(%%rip), %1\n\t"
			 "mov %%ss, %%eax\n\t"
			 "push %%rax\n\t"
			 "lea 8(%%rsp), %%rax\n\t"
			 "push %%rax\n\t"
			 "pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "mov %%cs, %%eax\n\t"
			 "push %%rax\n\t"
			 "push %0\n\t"
			 "iretq\n"
			 "1:\tnop\n"
			 "2:\tpushfq\n\t"
			 "andq $~0x100, (%%rsp)\n\t"
			 "popfq"
			 : "=&r"(c1), "=&r"(c2)
			 :
			 : "rax", "memory", "cc");
	CHECK(db.n == 4);
	CHECK(db.rip[0] == c2);
	return NULL;
}

/* ---- interp only (see the top) --------------------------------------- */

/* RF = 1 in the frame, as for every fault but an instruction
 * breakpoint's (KVM's emulation of general detect pushes 0). */
static const char *
check_gd_rf(void)
{
	uint64_t at, v;

	gd_fault(&at, &v);
	CHECK(db.n == 1 && (db.rflags[0] & RF));
	return NULL;
}

static const char *
check_soft_int(void)
{
	uint64_t after;

	reset();
	soft_hits = 0;
	/* INT n and INT3 clear TF: the handlers run unstepped (no #DB
	 * before their first instruction), and the IRETQ that sets TF
	 * again gets no trap either: the first is after the next NOP. */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"
			 "int $0x81\n\t"
			 "nop\n"
			 "1:\tint3\n\t"
			 "pushfq\n\t"
			 "andq $~0x100, (%%rsp)\n\t"
			 "popfq"
			 : "=&r"(after)
			 :
			 : "memory", "cc");
	CHECK(soft_hits == 2);
	CHECK(db.n == 4); /* nop, pushfq, andq, popfq */
	CHECK(db.rip[0] == after);
	return NULL;
}

static const char *
check_icebp(void)
{
	uint64_t after;

	reset();
	SET_DR(6, 0);
	/* INT1: a #DB trap after it, no DR6 condition bits of its own. */
	__asm__ volatile(".byte 0xf1\n"
			 "1:\tlea 1b(%%rip), %0"
			 : "=r"(after));
	CHECK(db.n == 1);
	CHECK(db.rip[0] == after);
	CHECK((db.dr6[0] & (DR6_BS | DR6_BD | 0xf)) == 0);
	return NULL;
}

static const char *
check_iobp(void)
{
	unsigned long cr4 = read_cr4();
	uint64_t at;

	reset();
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_DE));
	/* Ports 0xe2-0xe3 of the pc-testdev's scratch register, 0xe0-0xe3 */
	SET_DR(3, 0xe3);
	SET_DR(7, 0x400 | DR7_BP(3, RW_IO, LEN2));
	__asm__ volatile("mov $0xe2, %%edx\n\t"
			 "outb %%al, %%dx\n"
			 "1:\tlea 1b(%%rip), %0"
			 : "=r"(at)
			 :
			 : "rdx", "rax");
	CHECK(db.n == 1 && db.rip[0] == at && (db.dr6[0] & 0xf) == 8);
	(void)inb(0xe0);
	(void)inw(0xe0);
	CHECK(db.n == 1);
	(void)inl(0xe0);
	CHECK(db.n == 2);
	SET_DR(7, 0x400);
	/* Without CR4.DE, R/W 10 is no I/O breakpoint. */
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	SET_DR(7, 0x400 | DR7_BP(3, RW_IO, LEN2));
	outb(0xe2, 1);
	SET_DR(7, 0x400);
	CHECK(db.n == 2);
	return NULL;
}

static const char *
check_rep(void)
{
	uint64_t at;

	reset();
	for (int i = 0; i < 8; i++) {
		rep_src[i] = (uint8_t)(i + 1);
		rep_dst[i] = 0;
	}
	SET_DR(0, &rep_dst[2]);
	SET_DR(7, 0x400 | DR7_BP(0, RW_WRITE, LEN1));
	/* The trap comes after the third iteration, at the REP MOVSB (RCX
	 * 5, RF 1: an iteration but the last). */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov $8, %%ecx\n"
			 "1:\trep movsb"
			 : "=&r"(at)
			 : "S"(rep_src), "D"(rep_dst)
			 : "rcx", "memory");
	SET_DR(7, 0x400);
	CHECK(db.n == 1);
	CHECK(db.rip[0] == at);
	CHECK(db.rcx[0] == 5);
	CHECK(db.rflags[0] & RF);
	for (int i = 0; i < 8; i++)
		CHECK(rep_dst[i] == i + 1);
	return NULL;
}

/* ---- fw_cfg: opt/rhyve/debugreg = "full" ------------------------------ */

static bool
fw_full(void)
{
	uint32_t n;
	struct {
		uint32_t size;
		uint16_t select, reserved;
		char name[56];
	} f;
	static const char want[] = "opt/rhyve/debugreg";
	char v[4];

	outw(FW_CFG_SEL, FW_CFG_FILE_DIR);
	insb(FW_CFG_DATA, (uint8_t *)&n, 4);
	n = __builtin_bswap32(n);
	for (uint32_t i = 0; i < n && i < 64; i++) {
		insb(FW_CFG_DATA, (uint8_t *)&f, sizeof(f));
		if (memcmp(f.name, want, sizeof(want)) != 0)
			continue;
		outw(FW_CFG_SEL, __builtin_bswap16(f.select));
		insb(FW_CFG_DATA, (uint8_t *)v, 4);
		return memcmp(v, "full", 4) == 0;
	}
	return false;
}

__attribute__((noinline)) void
debugreg_done(void)
{
	__asm__ volatile("" ::: "memory");
}

int
guest_main(void)
{
	full = fw_full();
	guest_set_trap_handler(1, on_db);
	guest_set_trap_handler(6, on_fault);
	guest_set_trap_handler(13, on_fault);
	guest_set_trap_handler(0x81, on_soft);
	guest_set_trap_handler(3, on_soft);

	result("mov", check_mov());
	result("dr4-dr5", check_alias());
	result("gp", check_gp());
	result("gd", check_gd());
	debugreg_stage = 1;
	result("instruction breakpoint", check_ibp());
	debugreg_stage = 2;
	result("tf", check_tf());
	result("iret tf", check_iret_tf());
	if (full) {
		result("gd rf", check_gd_rf());
		result("data breakpoint write", check_dbp_write());
		result("data breakpoint read/write", check_dbp_rw());
		result("mov ss", check_movss());
		result("int n, int3", check_soft_int());
		result("icebp", check_icebp());
		result("i/o breakpoint", check_iobp());
		result("rep movsb", check_rep());
	}
	reset();
	debugreg_done();
	if (nfailed != 0) {
		guest_printf("debugreg: %d of %d checks FAILED\n", nfailed,
			     nchecks);
		return GUEST_EXIT_FAIL;
	}
	guest_printf("debugreg: all %d checks ok%s\n", nchecks,
		     full ? "" : " (without the interp-only ones)");
	return 0;
}
