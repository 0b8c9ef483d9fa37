/*
 * mmio_insn: every memory-operand instruction of mmio_insn_cases.S once on
 * RAM and once on MMIO (mem-testdev's window, which behaves like RAM but
 * makes every access an exit), from the same registers, RFLAGS, x87/SSE
 * state and memory; the two runs must end with the same registers, RFLAGS,
 * x87/SSE state, exception and memory.  Issue 8's check that the engine's
 * MMIO path (restartable loads, queued stores, split accesses) executes
 * instructions exactly as its RAM path does.
 *
 * The cases run at CPL 3: under PVM, KVM runs guest kernel code through
 * its instruction emulator, and only user mode makes the RAM run the
 * hardware's.  Under kvm (and lockstep, whose kvm side is the same) the
 * MMIO run is KVM's instruction emulator: what it cannot do is listed and
 * not run (KVM_NOEMUL, KVM_HANG, KVM_READS), what it gets wrong is
 * printed as KVM's and not counted (KVM_WRONG, KVM_UD, KVM_SEG); see
 * mmio_insn.h.  Instructions CPUID does not list are not run either.
 */
#include "guest.h"
#include "mmio_insn.h"

#define MEMTEST_WIN  0xff100000UL /* mem-testdev's 8 KiB window */
#define MEMTEST_CTL  0xff103000UL /* its control page */
#define MT_REGION    0x2000
#define MT_BASE      0xf80 /* %r15's offset in the region */
#define MT_CMP_LO    0xe00 /* the compared part of the region */
#define MT_CMP_HI    0x1200
#define MT_RAM2      0x400 /* the RAM-in-both-runs buffer (%r14) */
#define MT_RAM2_BASE 0x200
#define MT_STACK     0x400 /* the case's stack (%rsp) */
#define MT_STACK_TOP 0x300
#define MT_STACK_CMP 32 /* compared each side of the stack top */
#define MT_FX        512
#define MT_MAX_FAILS 20 /* mismatches printed in full */

struct mt_case {
	const void *code;
	const char *text;
	uint64_t flags;
};

struct mt_result {
	uint64_t gpr[MT_NREGS];
	uint8_t fx[MT_FX];
	uint8_t win[MT_CMP_HI - MT_CMP_LO]; /* the RAM run's */
	uint64_t win_diff; /* MMIO run: the first byte unlike RAM's, or ~0 */
	uint8_t ram2[MT_RAM2];
	uint8_t stack[2 * MT_STACK_CMP];
	uint64_t accesses; /* to the MMIO window, by the case */
	int64_t vector;    /* the exception the case raised, or -1 */
	uint64_t error_code;
};

/* Shared with mmio_insn_cases.S. */
extern const struct mt_case mt_table[], mt_table_end[];
extern const char mt_return[];
void mt_run(void);
uint64_t mt_in[MT_NREGS], mt_out[MT_NREGS];
uint8_t mt_in_fx[MT_FX] __attribute__((aligned(16)));
uint8_t mt_out_fx[MT_FX] __attribute__((aligned(16)));
uint64_t mt_host_rsp;
const void *mt_case;

static uint8_t ram_win[MT_REGION] __attribute__((aligned(4096)));
static uint8_t ram2[MT_RAM2] __attribute__((aligned(64)));
static uint8_t tstack[MT_STACK] __attribute__((aligned(64)));
/* The region's initial contents; mem-testdev loads its window from it. */
static uint8_t init_win[MT_REGION] __attribute__((aligned(4096)));
static uint8_t init_ram2[MT_RAM2];
static uint8_t init_stack[MT_STACK];
static uint8_t base_fx[MT_FX] __attribute__((aligned(16)));
static struct mt_result res_ram, res_mmio;
static uint8_t trap_stack[8192] __attribute__((aligned(16)));
static uint8_t user_stack[16384] __attribute__((aligned(16)));
static uint64_t gdt[7] __attribute__((aligned(16)));
static volatile bool mt_running;
static uint64_t have; /* the NEED_* features CPUID lists */
static volatile int64_t mt_vector;
static volatile uint64_t mt_error_code;

static const char *const reg_names[MT_NREGS] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",    "r8",
	"r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rflags",
};

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: the same sequence in both runs of a case. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void
rng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng();

		for (size_t j = 0; j < 8 && i + j < n; j++)
			p[i + j] = (uint8_t)(v >> (8 * j));
	}
}

static volatile uint64_t *
ctl(unsigned int off)
{
	return (volatile uint64_t *)(MEMTEST_CTL + off);
}

/*
 * The harness's byte port I/O (console, exit port) from CPL 3 with IOPL
 * 0 raises #GP; do it here.  (IOPL 3 would do on interp, but PVM gives
 * user mode no port access.)  true: done.
 */
static bool
mt_user_io(struct guest_trap_frame *tf)
{
	const uint8_t *ip = (const uint8_t *)(unsigned long)tf->rip;
	uint16_t port = (uint16_t)tf->rdx;

	if (!(tf->cs & 3) || tf->vector != 13)
		return false;
	switch (ip[0]) {
	case 0xe4: /* in $imm8, %al */
	case 0xe6: /* out %al, $imm8 */
		port = ip[1];
		break;
	case 0xec: /* in (%dx), %al */
	case 0xee: /* out %al, (%dx) */
		break;
	default:
		return false;
	}
	if (ip[0] == 0xe4 || ip[0] == 0xec)
		tf->rax = (tf->rax & ~0xffUL) | inb(port);
	else
		outb(port, (uint8_t)tf->rax);
	tf->rip += ip[0] == 0xe4 || ip[0] == 0xe6 ? 2 : 1;
	return true;
}

/* An exception inside a case ends it: the registers as they were. */
static void
mt_trap(struct guest_trap_frame *tf)
{
	if (!mt_running && mt_user_io(tf))
		return;
	if (!mt_running) {
		guest_printf("mmio_insn: exception %lu outside a case at rip "
			     "0x%lx\n",
			     tf->vector, tf->rip);
		guest_exit(GUEST_EXIT_EXCEPTION);
	}
	mt_vector = (int64_t)tf->vector;
	mt_error_code = tf->error_code;
	tf->rip = (uint64_t)(unsigned long)mt_return;
}

/* The state every case starts from, drawn from its number. */
static void
mt_prepare(unsigned int n)
{
	rng_state = 0x9e3779b97f4a7c15ULL * (n + 1);
	for (int i = 0; i < 16; i++)
		mt_in[i] = rng();
	/* Small values in a few registers too: shift counts, bit offsets. */
	mt_in[1] = rng() & 0xff; /* rcx */
	mt_in[7] = rng() & 0x3f; /* rdi */
	/* The status flags at random; DF, TF, IF, AC clear. */
	mt_in[MT_RFLAGS] = 0x2 | (rng() & 0x8d5);
	memcpy(mt_in_fx, base_fx, MT_FX);
	rng_fill(mt_in_fx + 160, 256); /* XMM0-15 */
	rng_fill(init_win + MT_CMP_LO, MT_CMP_HI - MT_CMP_LO);
	rng_fill(init_ram2, sizeof(init_ram2));
	rng_fill(init_stack, sizeof(init_stack));
}

static void
mt_exec(const struct mt_case *c, uint8_t *region, struct mt_result *r,
	bool mmio)
{
	uint64_t base = (uint64_t)(unsigned long)region + MT_BASE;

	if (mmio)
		*ctl(0x20) = (uint64_t)(unsigned long)init_win; /* load */
	else
		memcpy(region, init_win, MT_REGION);
	memcpy(ram2, init_ram2, sizeof(ram2));
	memcpy(tstack, init_stack, sizeof(tstack));
	mt_in[4] = (uint64_t)(unsigned long)(tstack + MT_STACK_TOP);
	mt_in[14] = (uint64_t)(unsigned long)(ram2 + MT_RAM2_BASE);
	mt_in[15] = base;
	mt_case = c->code;
	memset(mt_out_fx, 0, sizeof(mt_out_fx));
	mt_vector = -1;
	mt_error_code = 0;
	if (mmio)
		*ctl(0) = 0; /* clear the device's log */
	mt_running = true;
	mt_run();
	mt_running = false;
	if (mmio) {
		r->accesses = *ctl(0);
		*ctl(0x18) = 0; /* the log keeps the case's accesses */
	}
	memcpy(r->gpr, mt_out, sizeof(r->gpr));
	memcpy(r->fx, mt_out_fx, sizeof(r->fx));
	r->vector = mt_vector;
	r->error_code = mt_error_code;
	/* Addresses in the region compare as offsets. */
	r->gpr[15] -= base;
	if (c->flags & NORM_SI)
		r->gpr[6] -= base;
	if (c->flags & NORM_DI)
		r->gpr[7] -= base;
	if (c->flags & NORM_BX)
		r->gpr[3] -= base;
	/* So does FXSAVE's last data pointer (FDP) where it points there. */
	{
		uint64_t fdp;

		memcpy(&fdp, r->fx + 16, 8);
		if (fdp - (base - MT_BASE) < MT_REGION)
			fdp -= base - MT_BASE;
		memcpy(r->fx + 16, &fdp, 8);
	}
	if (mmio) {
		/* Compared with the RAM run's region by the device. */
		*ctl(0x28) = (uint64_t)(unsigned long)ram_win;
		r->win_diff = *ctl(0x28);
	} else {
		memcpy(r->win, region + MT_CMP_LO, sizeof(r->win));
	}
	memcpy(r->ram2, ram2, sizeof(r->ram2));
	memcpy(r->stack, tstack + MT_STACK_TOP - MT_STACK_CMP,
	       sizeof(r->stack));
}

static void
mt_diff_bytes(const char *what, const uint8_t *a, const uint8_t *b, size_t n,
	      long bias)
{
	int shown = 0;

	for (size_t i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		if (shown++ == 16) {
			guest_printf("    %s: more differing bytes\n", what);
			return;
		}
		guest_printf("    %s %ld: ram %02x mmio %02x\n", what,
			     (long)i + bias, a[i], b[i]);
	}
}

/* The parts of the FXSAVE image that must match: all but reserved bytes
 * and FIP/FCS (the same code anyway). */
static bool
mt_fx_equal(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 8) == 0 &&            /* FCW FSW FTW FOP */
	       memcmp(a + 16, b + 16, 12) == 0 && /* FDP, MXCSR */
	       memcmp(a + 32, b + 32, 384) == 0;  /* ST0-7, XMM0-15 */
}

static unsigned int kvm_differs;

static bool
mt_compare(unsigned int n, const struct mt_case *c, bool kvm_emulator)
{
	const struct mt_result *a = &res_ram, *b = &res_mmio;
	bool regs = memcmp(a->gpr, b->gpr, sizeof(a->gpr)) == 0;
	bool fx = mt_fx_equal(a->fx, b->fx);
	bool exc = a->vector == b->vector &&
		   (a->vector < 0 || a->error_code == b->error_code);
	bool mem = b->win_diff == ~0ULL &&
		   memcmp(a->ram2, b->ram2, sizeof(a->ram2)) == 0 &&
		   memcmp(a->stack, b->stack, sizeof(a->stack)) == 0;
	bool used = b->accesses != 0 || (c->flags & NOACCESS);

	if (regs && fx && exc && mem && used)
		return true;
	if (kvm_emulator && (c->flags & (KVM_WRONG | KVM_UD | KVM_SEG))) {
		guest_printf("mmio_insn: case %u: %s: differs on MMIO, as "
			     "KVM's instruction emulator %s (rflags ram %lx "
			     "mmio %lx, exception ram %ld mmio %ld)\n",
			     n, c->text,
			     c->flags & KVM_UD    ? "raises #UD for it"
			     : c->flags & KVM_SEG ? "stores a stale DS (PVM)"
						  : "runs it as BSF/BSR",
			     a->gpr[MT_RFLAGS], b->gpr[MT_RFLAGS],
			     (long)a->vector, (long)b->vector);
		kvm_differs++;
		return true;
	}
	guest_printf("MISMATCH case %u: %s\n", n, c->text);
	if (!used)
		guest_printf("  no access reached the MMIO window\n");
	if (!exc || a->vector >= 0)
		guest_printf("  exception: ram %ld (error %lx), mmio %ld "
			     "(error %lx)\n",
			     (long)a->vector, a->error_code, (long)b->vector,
			     b->error_code);
	for (int i = 0; i < MT_NREGS; i++)
		guest_printf("  %-6s ram %016lx mmio %016lx%s\n", reg_names[i],
			     a->gpr[i], b->gpr[i],
			     a->gpr[i] != b->gpr[i] ? "  <--" : "");
	if (!fx)
		mt_diff_bytes("fxsave", a->fx, b->fx, MT_FX, 0);
	if (b->win_diff != ~0ULL) {
		/* The window's bytes, read back (each read an exit). */
		volatile uint64_t *win =
		    (volatile uint64_t *)(MEMTEST_WIN + MT_CMP_LO);
		static uint8_t back[MT_CMP_HI - MT_CMP_LO];
		uint64_t *out = (uint64_t *)back;

		guest_printf("  region: first difference at %ld\n",
			     (long)b->win_diff - MT_BASE);
		for (size_t i = 0; i < sizeof(back) / 8; i++)
			out[i] = win[i];
		mt_diff_bytes("region", a->win, back, sizeof(back),
			      (long)MT_CMP_LO - MT_BASE);
	}
	mt_diff_bytes("ram2", a->ram2, b->ram2, sizeof(a->ram2),
		      -(long)MT_RAM2_BASE);
	mt_diff_bytes("stack", a->stack, b->stack, sizeof(a->stack),
		      -(long)MT_STACK_CMP);
	*ctl(8) = 1; /* the device prints its log of the MMIO run */
	return false;
}

/*
 * CPL 3 for the cases: user segments in a GDT of our own (the loader's
 * has none), RSP0 in the loader's TSS for the exceptions they raise, and
 * the loader's identity map made user-accessible (no SMEP or SMAP here).
 */
static void
mt_setup_user(void)
{
	const uint64_t *old = (const uint64_t *)0x1000;
	struct guest_dtr dtr;
	unsigned long cr3;
	uint64_t *pml4, *pdpt, *pd, *pt;

	for (int i = 0; i < 5; i++)
		gdt[i] = old[i];        /* null, code, data, TSS (16 bytes) */
	gdt[5] = 0x00cff2000000ffffULL; /* data, DPL 3: MT_USER_DS */
	gdt[6] = 0x00affa000000ffffULL; /* 64-bit code, DPL 3: MT_USER_CS */
	dtr.limit = sizeof(gdt) - 1;
	dtr.base = (unsigned long)gdt;
	__asm__ volatile("lgdt %0" : : "m"(dtr) : "memory");
	*(volatile uint64_t *)0x1084 =
	    (uintptr_t)(trap_stack + sizeof(trap_stack));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(cr3 & ~0xfffUL);
	for (int i = 0; i < 512; i++) {
		if (!(pml4[i] & 1))
			continue;
		pml4[i] |= 4;
		pdpt = (uint64_t *)(pml4[i] & 0x000ffffffffff000ULL);
		for (int j = 0; j < 512; j++) {
			if (!(pdpt[j] & 1))
				continue;
			pdpt[j] |= 4;
			if (pdpt[j] & 0x80)
				continue;
			pd = (uint64_t *)(pdpt[j] & 0x000ffffffffff000ULL);
			for (int k = 0; k < 512; k++) {
				if (!(pd[k] & 1))
					continue;
				pd[k] |= 4;
				if (pd[k] & 0x80)
					continue;
				pt =
				    (uint64_t *)(pd[k] & 0x000ffffffffff000ULL);
				for (int l = 0; l < 512; l++)
					pt[l] |= pt[l] & 1 ? 4 : 0;
			}
		}
	}
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

/*
 * The x87/SSE state every case starts from (made by hand: under PVM, KVM
 * runs CPL 0 through its instruction emulator, which has no x87): FNINIT's
 * with pi in ST0 and 1.0 in ST1 (FLD1; FLDPI), MXCSR's default.
 */
static void
mt_base_fx(void)
{
	static const uint8_t pi[10] = { 0x35, 0xc2, 0x68, 0x21, 0xa2,
					0xda, 0x0f, 0xc9, 0x00, 0x40 };
	static const uint8_t one[10] = {
		0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f
	};
	uint16_t fcw = 0x37f, fsw = 6 << 11; /* TOP = 6 */
	uint32_t mxcsr = 0x1f80;

	memset(base_fx, 0, sizeof(base_fx));
	memcpy(base_fx, &fcw, 2);
	memcpy(base_fx + 2, &fsw, 2);
	base_fx[4] = 0xc0; /* physical registers 6 and 7 in use */
	memcpy(base_fx + 24, &mxcsr, 4);
	memcpy(base_fx + 32, pi, 10);  /* ST0 */
	memcpy(base_fx + 48, one, 10); /* ST1 */
}

static void
mt_setup_cpu(void)
{
	static const unsigned int vectors[] = { 0,  4,  5,  6,  7,
						13, 14, 16, 17, 19 };
	unsigned long cr0, cr4;

	/* SSE on, x87 native errors (#MF), no lazy switching. */
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~(1UL << 2 | 1UL << 3)) | 1UL << 1 | 1UL << 5;
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= 1UL << 9 | 1UL << 10; /* OSFXSR, OSXMMEXCPT */
	if (have & NEED_XSAVE)
		cr4 |= 1UL << 18; /* OSXSAVE */
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	if (have & NEED_XSAVE) /* XCR0: x87 and SSE */
		__asm__ volatile("xsetbv" : : "a"(3), "d"(0), "c"(0));
	mt_base_fx();
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		guest_set_trap_handler(vectors[i], mt_trap);
	mt_setup_user();
}

static void
cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

/* The NEED_* features CPUID lists. */
static uint64_t
mt_features(void)
{
	uint32_t r[4];
	uint64_t f = 0;

	uint32_t max;

	cpuid(0, 0, r);
	max = r[0];
	if (max >= 7) {
		cpuid(7, 0, r);
		f |= (r[1] & 1u << 3 ? NEED_BMI1 : 0) |
		     (r[1] & 1u << 8 ? NEED_BMI2 : 0) |
		     (r[1] & 1u << 19 ? NEED_ADX : 0);
	}
	if (max >= 0xd) {
		cpuid(0xd, 1, r);
		f |= (r[0] & 1u << 0 ? NEED_XSAVEOPT : 0) |
		     (r[0] & 1u << 1 ? NEED_XSAVEC : 0);
	}
	cpuid(1, 0, r);
	f |= (r[2] & 1u << 19 ? NEED_SSE41 : 0) |
	     (r[2] & 1u << 20 ? NEED_SSE42 : 0) |
	     (r[2] & 1u << 26 ? NEED_XSAVE : 0) |
	     (r[2] & 1u << 22 ? NEED_MOVBE : 0) |
	     (r[2] & 1u << 23 ? NEED_POPCNT : 0) |
	     (r[2] & 1u << 0 ? NEED_SSE3 : 0) |
	     (r[2] & 1u << 9 ? NEED_SSSE3 : 0) |
	     (r[2] & 1u << 13 ? NEED_CX16 : 0);
	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		f |= r[2] & 1u << 5 ? NEED_LZCNT : 0;
	}
	return f;
}

/* Why case c is not run on MMIO here, or NULL. */
static const char *
mt_skip(const struct mt_case *c, bool kvm_emulator)
{
	if (c->flags & NEED_ANY & ~have)
		return "CPUID does not list it";
	if (kvm_emulator && (c->flags & KVM_NOEMUL))
		return "KVM's instruction emulator does not emulate it";
	if (kvm_emulator && (c->flags & KVM_HANG))
		return "PVM hangs the vCPU on it at CPL 3, on RAM too";
	if (kvm_emulator && (c->flags & KVM_STACK))
		return "kmod's decode check does not know implicit stack "
		       "operands in MMIO";
	if (kvm_emulator && (c->flags & KVM_READS))
		return "KVM's emulator reads its destination, which kmod's "
		       "decode check refuses";
	return NULL;
}

/* The tests, at CPL 3 (port I/O through mt_user_io()). */
static void __attribute__((noreturn)) mt_user_main(void)
{
	uint8_t *mmio = (uint8_t *)MEMTEST_WIN;
	uint64_t engine_id = *ctl(0x10);
	char engine[9] = { 0 };
	bool kvm_emulator;
	unsigned int n = 0, fails = 0, skipped = 0, total;
	const struct mt_case *c;

	memcpy(engine, &engine_id, 8);
	kvm_emulator = strlen(engine) != 6 || memcmp(engine, "interp", 6) != 0;
	/* The user data segment in DS and ES (IRETQ left them null), so
	 * MOV from DS stores the same on every engine. */
	__asm__ volatile("movl %0, %%ds; movl %0, %%es" : : "r"(MT_USER_DS));
	for (c = mt_table; c < mt_table_end; c++, n++) {
		if (mt_skip(c, kvm_emulator) != NULL) {
			skipped++;
			continue;
		}
		mt_prepare(n);
		mt_exec(c, ram_win, &res_ram, false);
		mt_prepare(n);
		mt_exec(c, mmio, &res_mmio, true);
		if (!mt_compare(n, c, kvm_emulator) &&
		    ++fails == MT_MAX_FAILS) {
			guest_printf("mmio_insn: stopping after %u "
				     "mismatches\n",
				     fails);
			break;
		}
	}
	total = (unsigned int)(mt_table_end - mt_table);
	n = 0;
	for (c = mt_table; c < mt_table_end && skipped != 0; c++, n++) {
		const char *why = mt_skip(c, kvm_emulator);

		if (why != NULL)
			guest_printf("mmio_insn: case %u not run on %s (%s): "
				     "%s\n",
				     n, engine, why, c->text);
	}
	guest_printf("mmio_insn: %u instructions, %u checked on RAM and MMIO "
		     "on %s, %u not run, %u differ as KVM's emulator does, "
		     "%u mismatches\n",
		     total, total - skipped, engine, skipped, kvm_differs,
		     fails);
	if (fails != 0)
		guest_exit(GUEST_EXIT_FAIL);
	guest_printf("mmio_insn: ok\n");
	guest_exit(0);
}

int
guest_main(void)
{
	have = mt_features();
	mt_setup_cpu();
	__asm__ volatile(
	    "pushq %0\n\t" /* SS */
	    "pushq %1\n\t" /* RSP */
	    /*
	     * RFLAGS: IOPL 0, IF 1 (nothing interrupts: no timer is
	     * programmed).  PVM runs CPL 3 on the CPU with IF 1 whatever
	     * the guest's is, and PUSHF there stores it: with IF 0 the
	     * lockstep tester would see PUSHF differ on every case.
	     */
	    "pushq $0x202\n\t"
	    "pushq %2\n\t" /* CS */
	    "pushq %3\n\t" /* RIP */
	    "iretq"
	    :
	    : "i"(MT_USER_DS),
	      "r"((uint64_t)(unsigned long)(user_stack + sizeof(user_stack))),
	      "i"(MT_USER_CS), "r"((uint64_t)(unsigned long)mt_user_main)
	    : "memory");
	__builtin_unreachable();
}
