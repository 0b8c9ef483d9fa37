/*
 * The interp engine's block translator (kmod/interp/interp_jit*.c)
 * against the interpreter: two vCPUs, one with the translator and one
 * without, start from the same state (64-bit mode, 4-level paging) and
 * run the same code; registers, RFLAGS, rip, the instruction count, CR2
 * and all of guest RAM must come out the same, at the end and when the
 * run stops after any number of instructions (a budget, a replay's
 * stop_icount, the scheduler's yield_icount).  Random sequences of the
 * instructions the translator knows (random registers, operands, flags,
 * memory operands, branches), plus directed cases: self-modifying code
 * (behind and ahead in the same block), a code page remapped under the
 * same linear address, a page fault inside a block, the interpreter-only
 * conditions (TF).  Each case also requires that translated code really
 * ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit.h"
#include "interp/interp.h"

#define RAM_SIZE  0x100000
#define GDT       0x1000
#define IDT       0x2000
#define PML4      0x3000
#define PDPT      0x4000
#define PD        0x5000
#define PT        0x6000
#define CODE      0x10000
#define HANDLER   0x11000
#define DATA      0x20000 /* r15 points into it in the random cases */
#define DATA_BASE (DATA + 0x100)
#define STACK_TOP 0x80000
#define PAGE_A    0x40000 /* the remap case's linear page */
#define PAGE_B    0x41000

static const struct vmm_engine *eng = &vmm_engine_interp;

/* [0] the interpreter only, [1] with the translator */
struct side {
	void *vmc, *vc;
	uint8_t *ram;
	struct vm_exit ex;
};
static struct side S[2];

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static struct interp_cpu *
cpu(int i)
{
	return S[i].vc;
}

static void
teardown(void)
{
	for (int i = 0; i < 2; i++) {
		if (S[i].vc != NULL)
			eng->vcpu_cleanup(S[i].vc);
		if (S[i].vmc != NULL)
			eng->vm_cleanup(S[i].vmc);
		free(S[i].ram);
		memset(&S[i], 0, sizeof(S[i]));
	}
}

static void
side_setup(struct side *s, bool jit, const uint8_t *code, size_t len)
{
	const uint64_t gdt[3] = { 0, 0x00af9b000000ffffULL,
				  0x00cf93000000ffffULL };
	uint64_t gate[2];

	s->ram = aligned_alloc(4096, RAM_SIZE);
	CU_ASSERT_FATAL(s->ram != NULL);
	memset(s->ram, 0, RAM_SIZE);
	CU_ASSERT_FATAL(eng->vm_init(NULL, &s->vmc, NULL, 0) == 0);
	CU_ASSERT_FATAL(eng->set_jit(s->vmc, jit) == 0);
	CU_ASSERT_FATAL(eng->mem_map(s->vmc, 0, 0, RAM_SIZE, s->ram, false) ==
			0);
	CU_ASSERT_FATAL(eng->vcpu_init(s->vmc, NULL, 0, &s->vc) == 0);
	CU_ASSERT_FATAL((((struct interp_cpu *)s->vc)->jit != NULL) == jit);
	memcpy(s->ram + GDT, gdt, sizeof(gdt));
	/* #UD, #GP, #PF: a 64-bit interrupt gate to HANDLER, a HLT. */
	gate[0] = (HANDLER & 0xffff) | (uint64_t)(HANDLER >> 16) << 48 |
		  0x08ULL << 16 | 0x8eULL << 40;
	gate[1] = 0;
	memcpy(s->ram + IDT + 16 * 6, gate, sizeof(gate));
	memcpy(s->ram + IDT + 16 * 13, gate, sizeof(gate));
	memcpy(s->ram + IDT + 16 * 14, gate, sizeof(gate));
	s->ram[HANDLER] = 0xf4;
	/* Identity paging of RAM with 4 KiB pages. */
	*(uint64_t *)(s->ram + PML4) = PDPT | 3;
	*(uint64_t *)(s->ram + PDPT) = PD | 3;
	*(uint64_t *)(s->ram + PD) = PT | 3;
	for (uint64_t p = 0; p < RAM_SIZE / 4096; p++)
		((uint64_t *)(s->ram + PT))[p] = p << 12 | 3;
	memcpy(s->ram + CODE, code, len);

	eng->setreg(s->vc, VM_REG_GUEST_CR3, PML4);
	eng->setreg(s->vc, VM_REG_GUEST_CR4, CR4_PAE);
	eng->setreg(s->vc, VM_REG_GUEST_EFER, EFER_LME | EFER_LMA);
	eng->setreg(s->vc, VM_REG_GUEST_CR0, CR0_PE | CR0_ET | CR0_PG);
	eng->setdesc(s->vc, VM_REG_GUEST_GDTR,
		     &(struct seg_desc){ GDT, sizeof(gdt) - 1, 0 });
	eng->setdesc(s->vc, VM_REG_GUEST_IDTR,
		     &(struct seg_desc){ IDT, 0xfff, 0 });
	eng->setreg(s->vc, VM_REG_GUEST_CS, 0x08);
	eng->setdesc(
	    s->vc, VM_REG_GUEST_CS,
	    &(struct seg_desc){ 0, 0xffffffff, 0x9b | X86_SEG_L | 0x8000 });
	for (int r = VM_REG_GUEST_ES; r <= VM_REG_GUEST_GS; r++) {
		if (r == VM_REG_GUEST_CS)
			continue;
		eng->setreg(s->vc, r, 0x10);
		eng->setdesc(s->vc, r,
			     &(struct seg_desc){ 0, 0xffffffff,
						 0x93 | X86_SEG_DB | 0x8000 });
	}
	eng->setreg(s->vc, VM_REG_GUEST_RSP, STACK_TOP);
	eng->setreg(s->vc, VM_REG_GUEST_RIP, CODE);
	eng->setreg(s->vc, VM_REG_GUEST_RFLAGS, PSL_1);
}

static void
setup(const uint8_t *code, size_t len)
{
	teardown();
	side_setup(&S[0], false, code, len);
	side_setup(&S[1], true, code, len);
}

/* The same register on both sides. */
static void
set_both(int reg, uint64_t v)
{
	for (int i = 0; i < 2; i++)
		CU_ASSERT(eng->setreg(S[i].vc, reg, v) == 0);
}

static int
run(int i, uint64_t budget)
{
	memset(&S[i].ex, 0, sizeof(S[i].ex));
	/* (No case runs 20000 instructions: a bound, not a hang.) */
	interp_exec(cpu(i), &S[i].ex, budget != 0 ? budget : 20000);
	return S[i].ex.exitcode;
}

/* Both sides in the same state?  Prints the first difference. */
static bool
same(const char *what)
{
	struct interp_cpu *a = cpu(0), *b = cpu(1);
	uint64_t fa = interp_rflags(a), fb = interp_rflags(b);

	if (S[0].ex.exitcode != S[1].ex.exitcode) {
		printf("\n%s: exit %d vs %d\n", what, S[0].ex.exitcode,
		       S[1].ex.exitcode);
		return false;
	}
	for (int r = 0; r < 16; r++)
		if (a->gpr[r] != b->gpr[r]) {
			printf("\n%s: gpr %d 0x%llx vs 0x%llx\n", what, r,
			       (unsigned long long)a->gpr[r],
			       (unsigned long long)b->gpr[r]);
			return false;
		}
	if (a->rip != b->rip || fa != fb || a->icount != b->icount ||
	    a->cr2 != b->cr2) {
		printf("\n%s: rip 0x%llx/0x%llx rflags 0x%llx/0x%llx icount "
		       "%llu/%llu cr2 0x%llx/0x%llx\n",
		       what, (unsigned long long)a->rip,
		       (unsigned long long)b->rip, (unsigned long long)fa,
		       (unsigned long long)fb, (unsigned long long)a->icount,
		       (unsigned long long)b->icount,
		       (unsigned long long)a->cr2, (unsigned long long)b->cr2);
		return false;
	}
	for (size_t o = 0; o < RAM_SIZE; o++)
		if (S[0].ram[o] != S[1].ram[o]) {
			printf("\n%s: RAM at 0x%zx 0x%02x vs 0x%02x\n", what, o,
			       S[0].ram[o], S[1].ram[o]);
			return false;
		}
	return true;
}

/* Both sides to the end (no budget); true when they end in one state. */
static bool
run_both(const char *what)
{
	run(0, 0);
	run(1, 0);
	return same(what);
}

/* ---- random sequences ------------------------------------------------ */

/* One instruction of the translator's repertoire, random operands; its
 * memory operands are [r15 + disp8]. */
static size_t
gen_one(uint8_t *b)
{
	static const uint8_t alu[] = { 0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a,
				       0x0b, 0x10, 0x11, 0x12, 0x13, 0x18, 0x19,
				       0x1a, 0x1b, 0x20, 0x21, 0x22, 0x23, 0x28,
				       0x29, 0x2a, 0x2b, 0x30, 0x31, 0x32, 0x33,
				       0x38, 0x39, 0x3a, 0x3b, 0x84, 0x85, 0x88,
				       0x89, 0x8a, 0x8b, 0x63, 0x86, 0x87 };
	size_t n = 0;
	bool opsz = rnd() % 6 == 0, mem = rnd() % 3 == 0;
	uint8_t rex = rnd() % 3 ? (uint8_t)(0x40 | (rnd() & 0xe)) : 0;
	uint8_t modrm;
	unsigned int k = (unsigned int)(rnd() % 22);

	/* Memory operands: mod 01, rm 111 with REX.B: [r15 + disp8]. */
	if (mem)
		rex |= 0x41;
	modrm = mem ? (uint8_t)(0x47 | (rnd() & 0x38))
		    : (uint8_t)(0xc0 | (rnd() & 0x3f));
#define MODRM()                                                                \
	do {                                                                   \
		b[n++] = modrm;                                                \
		if (mem)                                                       \
			b[n++] = (uint8_t)rnd();                               \
	} while (0)
	if (opsz)
		b[n++] = 0x66;
	if (k < 6) {
		if (rex)
			b[n++] = rex;
		b[n++] = alu[rnd() % sizeof(alu)];
		MODRM();
		return n;
	}
	switch (k) {
	case 6: /* 80 / 81 / 83 group 1 */
	case 7: {
		uint8_t op = (uint8_t[]){ 0x80, 0x81, 0x83 }[rnd() % 3];

		if (rex)
			b[n++] = rex;
		b[n++] = op;
		MODRM();
		for (int i = 0; i < (op == 0x81 ? (opsz ? 2 : 4) : 1); i++)
			b[n++] = (uint8_t)rnd();
		return n;
	}
	case 8: /* shifts by imm / by 1 */
		if (rex)
			b[n++] = rex;
		b[n++] = (uint8_t[]){ 0xc0, 0xc1, 0xd0, 0xd1 }[rnd() % 4];
		modrm = (uint8_t)((modrm & 0xc7) |
				  (uint8_t[]){ 0x20, 0x28, 0x38 }[rnd() % 3]);
		MODRM();
		if (b[opsz + (rex != 0)] < 0xd0)
			b[n++] = (uint8_t)(rnd() % 3 ? rnd() % 16 : rnd());
		return n;
	case 9: /* INC DEC NOT NEG */
		if (rex)
			b[n++] = rex;
		b[n++] = rnd() & 1 ? 0xff : 0xfe;
		modrm = (uint8_t)((modrm & 0xc7) | (rnd() & 0x08));
		if (rnd() & 1) {
			b[n - 1] ^= 0x08; /* F6/F7 */
			modrm |= 0x10;    /* /2 /3 */
		}
		MODRM();
		return n;
	case 10: /* MOV r/m, imm */
		if (rex)
			b[n++] = rex;
		b[n++] = rnd() & 1 ? 0xc7 : 0xc6;
		modrm &= 0xc7;
		MODRM();
		for (int i = 0; i < (b[opsz + (rex != 0)] == 0xc6 ? 1
				     : opsz                       ? 2
								  : 4);
		     i++)
			b[n++] = (uint8_t)rnd();
		return n;
	case 11: /* MOVZX MOVSX IMUL CMOVcc SETcc */
		if (rex)
			b[n++] = rex;
		b[n++] = 0x0f;
		b[n++] = (uint8_t[]){ 0xb6,
				      0xb7,
				      0xbe,
				      0xbf,
				      0xaf,
				      (uint8_t)(0x40 + rnd() % 16),
				      (uint8_t)(0x90 + rnd() % 16) }[rnd() % 7];
		MODRM();
		return n;
	case 12: /* IMUL r, r/m, imm */
		if (rex)
			b[n++] = rex;
		b[n++] = rnd() & 1 ? 0x69 : 0x6b;
		MODRM();
		for (int i = 0; i < (b[opsz + (rex != 0)] == 0x6b ? 1
				     : opsz                       ? 2
								  : 4);
		     i++)
			b[n++] = (uint8_t)rnd();
		return n;
	case 13: /* MOV r, imm32/imm64 */
		rex = (uint8_t)(rex & ~1);
		if (rex)
			b[n++] = rex;
		b[n++] = (uint8_t)(0xb8 + rnd() % 8);
		for (int i = 0; i < ((rex & 8) ? 8 : opsz ? 2 : 4); i++)
			b[n++] = (uint8_t)rnd();
		return n;
	case 14: /* LEA */
		if (rex)
			b[n++] = rex;
		b[n++] = 0x8d;
		b[n++] = (uint8_t)((rnd() & 0x38) | 0x44 | (rnd() & 0x80));
		b[n++] = (uint8_t)rnd(); /* SIB */
		b[n++] = (uint8_t)rnd();
		if (b[n - 3] & 0x80)
			for (int i = 0; i < 3; i++)
				b[n++] = (uint8_t)rnd();
		return n;
	case 15: /* CBW.., CWD.. */
		if (rex)
			b[n++] = rex;
		b[n++] = rnd() & 1 ? 0x98 : 0x99;
		return n;
	case 16: /* PUSH r / imm, then POP r */
		n = 0;
		if (rnd() & 1) {
			b[n++] = 0x6a;
			b[n++] = (uint8_t)rnd();
		} else {
			if (rnd() & 1)
				b[n++] = 0x41;
			b[n++] = (uint8_t)(0x50 + rnd() % 8);
		}
		if (rnd() & 1)
			b[n++] = 0x41;
		b[n++] = (uint8_t)(0x58 + rnd() % 8);
		return n;
	case 17: /* Jcc over INC EAX */
		n = 0;
		b[n++] = (uint8_t)(0x70 + rnd() % 16);
		b[n++] = 2;
		b[n++] = 0xff;
		b[n++] = 0xc0;
		return n;
	case 18: /* CALL next; POP r */
		n = 0;
		b[n++] = 0xe8;
		memset(b + n, 0, 4);
		n += 4;
		b[n++] = (uint8_t)(0x58 + rnd() % 8);
		return n;
	case 19: /* LEA rax, [rip + 3]; PUSH rax; RET; (a skipped byte) */
		n = 0;
		memcpy(b,
		       (const uint8_t[]){ 0x48, 0x8d, 0x05, 0x03, 0, 0, 0, 0x50,
					  0xc3, 0xcc },
		       10);
		return 10;
	case 20: /* NOP forms */
		n = 0;
		if (rnd() & 1) {
			b[n++] = 0x90;
		} else {
			memcpy(b, (const uint8_t[]){ 0x0f, 0x1f, 0x44, 0, 0 },
			       5);
			n = 5;
		}
		return n;
	default: /* JMP +0; or LEA rax, [rip + 9]; MOV [r15], rax; JMP
		  * [r15] */
		n = 0;
		if (rnd() & 1) {
			b[n++] = 0xeb;
			b[n++] = 0;
			return n;
		}
		memcpy(b,
		       (const uint8_t[]){ 0x48, 0x8d, 0x05, 0x07, 0, 0, 0, 0x49,
					  0x89, 0x07, 0x41, 0xff, 0x27 },
		       13);
		return 13;
	}
#undef MODRM
}

/*
 * Usable: decodes in 64-bit mode, and leaves RSP and R15 alone (but for
 * PUSH/POP/CALL/RET, which keep RSP balanced within their group).
 */
static bool
gen_ok(const uint8_t *b, size_t len)
{
	struct x86_instr in;
	size_t off = 0;

	while (off < len) {
		if (x86_decode(&in, X86_MODE_64, b + off, len - off) !=
		    X86_DEC_OK)
			return false;
		for (int i = 0; i < in.nops; i++) {
			const struct x86_operand *o = &in.ops[i];
			unsigned int r = o->reg;

			if (o->type != X86_OPND_REG || !(o->access & X86_ACC_W))
				continue;
			if (r == X86_R_RAX + 4 || r == X86_R_EAX + 4 ||
			    r == X86_R_AX + 4 || r == X86_R_SPL ||
			    r == X86_R_RAX + 15 || r == X86_R_EAX + 15 ||
			    r == X86_R_AX + 15 || r == X86_R_R8B + 7)
				return false;
		}
		off += in.length;
	}
	return true;
}

static size_t
gen_seq(uint8_t *code, size_t max, unsigned int count)
{
	size_t n = 0;

	for (unsigned int i = 0; i < count; i++) {
		uint8_t b[32];
		size_t len;

		do
			len = gen_one(b);
		while (!gen_ok(b, len));
		if (n + len + 1 > max)
			break;
		memcpy(code + n, b, len);
		n += len;
	}
	code[n++] = 0xf4; /* hlt */
	return n;
}

/* Random registers and flags on both sides; r15 at the data. */
static void
random_state(void)
{
	static const uint64_t edges[] = {
		0,          1,          ~0ULL,      0x7f,
		0x80,       0xff,       0x7fff,     0x8000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x8000000000000000ULL
	};

	for (int r = 0; r < 16; r++) {
		uint64_t v = rnd() % 4 == 0 ? edges[rnd() % 12] : rnd();

		if (r == 4 || r == 15)
			continue;
		for (int i = 0; i < 2; i++)
			cpu(i)->gpr[r] = v;
	}
	set_both(VM_REG_GUEST_R15, DATA_BASE);
	set_both(VM_REG_GUEST_RFLAGS, PSL_1 | (rnd() & 0x8d5));
	for (int o = 0; o < 512; o++) {
		uint8_t v = (uint8_t)rnd();

		S[0].ram[DATA + o] = S[1].ram[DATA + o] = v;
	}
}

static void
test_random(void)
{
	uint8_t code[512];
	uint64_t total = 0;
	int halted = 0;
	int iters = getenv("JIT_ITERS") ? atoi(getenv("JIT_ITERS")) : 1500;

	for (int iter = 0; iter < iters; iter++) {
		size_t len = gen_seq(code, sizeof(code) - 1,
				     2 + (unsigned int)(rnd() % 24));
		char what[64];

		setup(code, len);
		random_state();
		/* A stop part way through (a budget) on some. */
		if (iter % 3 == 0) {
			uint64_t k = 1 + rnd() % 30;

			run(0, k);
			run(1, k);
			snprintf(what, sizeof(what), "random %d at %llu", iter,
				 (unsigned long long)k);
			if (!same(what)) {
				CU_FAIL("state differs part way");
				break;
			}
		}
		snprintf(what, sizeof(what), "random %d", iter);
		if (!run_both(what)) {
			for (size_t i = 0; i < len; i++)
				printf("%02x ", code[i]);
			printf("\n");
			CU_FAIL("state differs");
			break;
		}
		halted += S[1].ex.exitcode == VM_EXITCODE_HLT;
		total += interp_jit_retired(cpu(1));
	}
	/* Most of it ran as translated code. */
	CU_ASSERT(total > (uint64_t)iters * 5);
	/* (Some end elsewhere: a random jump, an #UD; the same on both.) */
	CU_ASSERT(halted > iters * 9 / 10);
	teardown();
}

/* ---- directed cases -------------------------------------------------- */

/* A loop of ALU work with loads and stores: stop at every count. */
static const uint8_t loop[] = {
	0xb9, 0x20, 0x00, 0x00, 0x00,                /* mov ecx, 32 */
	0x48, 0x8d, 0x3c, 0x25, 0,    0x00, 0x02, 0, /* lea rdi, [DATA] */
	0x48, 0x89, 0xc8,                            /* L: mov rax, rcx */
	0x48, 0xc1, 0xe0, 0x03,                      /* shl rax, 3 */
	0x48, 0x01, 0xc3,                            /* add rbx, rax */
	0x48, 0x89, 0x1c, 0xcf,                      /* mov [rdi+rcx*8], rbx */
	0x48, 0x33, 0x1c, 0xcf,                      /* xor rbx, [rdi+rcx*8] */
	0xff, 0xc9,                                  /* dec ecx */
	0x75, 0xe9,                                  /* jnz L */
	0xf4,                                        /* hlt */
};

static void
test_stops(void)
{
	/* Budgets, replay stops and turn ends at every count. */
	for (int how = 0; how < 3; how++) {
		for (uint64_t k = 1; k < 32 * 7 + 4; k += 1 + k / 40) {
			setup(loop, sizeof(loop));
			if (how == 0) {
				run(0, k);
				run(1, k);
			} else {
				for (int i = 0; i < 2; i++) {
					if (how == 1)
						cpu(i)->debug.stop_icount = k;
					else
						cpu(i)->yield_icount = k;
					run(i, 0);
				}
			}
			if (!same("stop")) {
				printf("how %d at %llu\n", how,
				       (unsigned long long)k);
				CU_FAIL("state differs at a stop");
				teardown();
				return;
			}
			CU_ASSERT_EQUAL(cpu(1)->icount, k);
		}
		CU_ASSERT(interp_jit_retired(cpu(1)) > 100);
	}
	setup(loop, sizeof(loop));
	CU_ASSERT(run_both("loop"));
	CU_ASSERT(interp_jit_retired(cpu(1)) > 32 * 5);
	teardown();
}

/*
 * Self-modifying code: a store behind (the loop's INC becomes two NOPs
 * after the first round) and one just ahead in the same block.
 */
static void
test_smc(void)
{
	static const uint8_t behind[] = {
		0xb9,
		0x05,
		0x00,
		0x00,
		0x00, /* mov ecx, 5 */
		0x31,
		0xc0, /* xor eax, eax */
		0xff,
		0xc0, /* L: inc eax */
		/* mov word [rip - 11], 0x9090 (the INC) */
		0x66,
		0xc7,
		0x05,
		0xf5,
		0xff,
		0xff,
		0xff,
		0x90,
		0x90,
		0xff,
		0xc9, /* dec ecx */
		0x75,
		0xf1, /* jnz L */
		0xf4,
	};
	static const uint8_t ahead[] = {
		0xb9,
		0x05,
		0x00,
		0x00,
		0x00, /* mov ecx, 5 */
		0x31,
		0xc0, /* xor eax, eax */
		0x31,
		0xd2, /* L: xor edx, edx */
		/* mov word [rip + 0], 0x9090: the INC right after it */
		0x66,
		0xc7,
		0x05,
		0x00,
		0x00,
		0x00,
		0x00,
		0x90,
		0x90,
		0xff,
		0xc0, /* inc eax */
		0x66,
		0xc7,
		0x05,
		0xf5,
		0xff,
		0xff,
		0xff,
		0xff,
		0xc0, /* mov word [rip - 11], 0xc0ff: INC again */
		0xff,
		0xc9, /* dec ecx */
		0x75,
		0xe6, /* jnz L */
		0xf4,
	};

	setup(behind, sizeof(behind));
	CU_ASSERT(run_both("smc behind"));
	CU_ASSERT_EQUAL(cpu(1)->gpr[0], 1);
	CU_ASSERT(interp_jit_retired(cpu(1)) > 0);

	setup(ahead, sizeof(ahead));
	CU_ASSERT(run_both("smc ahead"));
	CU_ASSERT_EQUAL(cpu(1)->gpr[0], 0);
	CU_ASSERT(interp_jit_retired(cpu(1)) > 0);
	teardown();
}

/* The code page under a linear address remapped (PTE write, INVLPG). */
static void
test_remap(void)
{
	static const uint8_t main_code[] = {
		0x31,
		0xc0, /* xor eax, eax */
		0xbb,
		0x00,
		0x00,
		0x04,
		0x00, /* mov ebx, PAGE_A */
		0xff,
		0xd3, /* call rbx */
		0xff,
		0xd3, /* call rbx */
		/* mov qword [PT + 0x40*8], PAGE_B | 3 */
		0x48,
		0xc7,
		0x04,
		0x25,
		0x00,
		0x62,
		0x00,
		0x00,
		0x03,
		0x10,
		0x04,
		0x00,
		0x0f,
		0x01,
		0x3b, /* invlpg [rbx] */
		0xff,
		0xd3, /* call rbx */
		0xf4,
	};
	static const uint8_t fn_a[] = { 0x83, 0xc0, 0x01, 0xc3 };
	static const uint8_t fn_b[] = { 0x05, 0x00, 0x01, 0x00, 0x00, 0xc3 };

	setup(main_code, sizeof(main_code));
	for (int i = 0; i < 2; i++) {
		memcpy(S[i].ram + PAGE_A, fn_a, sizeof(fn_a));
		memcpy(S[i].ram + PAGE_B, fn_b, sizeof(fn_b));
	}
	CU_ASSERT(run_both("remap"));
	CU_ASSERT_EQUAL(cpu(1)->gpr[0], 0x102);
	CU_ASSERT(interp_jit_retired(cpu(1)) > 0);
	teardown();
}

/* A page fault in the middle of a block: the faulting instruction's rip,
 * the registers before it, CR2 and the frame as the interpreter has
 * them. */
static void
test_fault(void)
{
	static const uint8_t code[] = {
		0xb8, 0x07, 0x00, 0x00, 0x00,       /* mov eax, 7 */
		0x48, 0x83, 0xc0, 0x05,             /* add rax, 5 */
		0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00, /* mov rbx, [0x90000] */
		0x09, 0x00, 0x48, 0xff, 0xc0,       /* inc rax */
		0xf4,
	};

	for (int pass = 0; pass < 2; pass++) {
		setup(code, sizeof(code));
		/* 0x90000 not present (RAM ends at 1 MiB; the PTE is 0) on
		 * pass 0, present and then made not present on pass 1 (a
		 * stale TLB entry would still hit). */
		for (int i = 0; i < 2; i++)
			((uint64_t *)(S[i].ram + PT))[0x90] = 0;
		if (pass == 1) {
			for (int i = 0; i < 2; i++)
				((uint64_t *)(S[i].ram + PT))[0x90] =
				    0x90000 | 3;
			CU_ASSERT(run_both("fault: mapped"));
			CU_ASSERT_EQUAL(cpu(1)->gpr[0], 13);
		} else {
			CU_ASSERT(run_both("fault"));
			CU_ASSERT_EQUAL(cpu(1)->rip, HANDLER + 1);
			CU_ASSERT_EQUAL(cpu(1)->cr2, 0x90000);
			CU_ASSERT_EQUAL(cpu(1)->gpr[0], 12);
			/* The frame's rip: the MOV. */
			CU_ASSERT_EQUAL(
			    *(uint64_t *)(S[1].ram + STACK_TOP - 40), CODE + 9);
		}
		CU_ASSERT(interp_jit_retired(cpu(1)) > 0);
	}
	teardown();
}

/* TF (and the debug registers, the host's debugger): one instruction at
 * a time in the interpreter, never a block. */
static void
test_interp_only(void)
{
	setup(loop, sizeof(loop));
	set_both(VM_REG_GUEST_RFLAGS, PSL_1 | PSL_T);
	run(0, 10);
	run(1, 10);
	CU_ASSERT(same("tf"));
	CU_ASSERT_EQUAL(interp_jit_retired(cpu(1)), 0);
	teardown();
}

static CU_TestInfo tests[] = {
	{ "random sequences against the interpreter", test_random },
	{ "stops at every count", test_stops },
	{ "self-modifying code", test_smc },
	{ "code page remapped", test_remap },
	{ "page fault in a block", test_fault },
	{ "TF keeps the interpreter", test_interp_only },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "interp_jit", tests },
	{ NULL, NULL },
};
