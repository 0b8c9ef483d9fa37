/*
 * The harness of the interp engine's x87/SSE/XSAVE tests against the host
 * CPU (test_interp_fpu.c, test_interp_xsave.c): a hand-built 64-bit vCPU
 * with one RAM slot, native execution of the same instruction between an
 * FXRSTOR/FXSAVE prologue and epilogue, random operands, and the
 * comparison of both sides' state.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "fpu_harness.h"
#include "test_rng.h"

uint8_t *guest;
struct interp_cpu *cpu;
uint8_t natmem[MEM_SIZE] __attribute__((aligned(64)));
static struct interp_vm ivm;
static uint8_t *natcode;

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

void
guest_setup(void)
{
	/* Another seed: INTERP_FPU_SEED=n (the default run is fixed). */
	if (getenv("INTERP_FPU_SEED") != NULL)
		rng = strtoull(getenv("INTERP_FPU_SEED"), NULL, 0) | 1;
	guest = aligned_alloc(1 << 21, G_RAM);
	CU_ASSERT_FATAL(guest != NULL);
	memset(guest, 0, G_RAM);
	put64(guest + G_PML4, G_PDPT | 3);
	put64(guest + G_PDPT, G_PD | 3);
	put64(guest + G_PD, 0 | 0x83);
	put64(guest + G_PD + 8, (2u << 20) | 0x83);
	/* GDT: null, 64-bit code 0x08, data 0x10. */
	put64(guest + G_GDT + 8, 0x00209a0000000000ULL);
	put64(guest + G_GDT + 16, 0x0000920000000000ULL);
	for (int v = 0; v < 32; v++) {
		uint64_t h = G_VEC + 16 * v;
		uint8_t *g = guest + G_IDT + 16 * v;

		put64(g, (h & 0xffff) | (0x08ULL << 16) | (0x8eULL << 40) |
			     ((h >> 16 & 0xffff) << 48));
		put64(g + 8, h >> 32);
		guest[h] = 0xf4; /* HLT */
	}
	ivm.slots[0] = (struct interp_slot){
		.used = true, .gpa = 0, .len = G_RAM, .host = guest
	};
	interp_exec_init();
	natcode = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(natcode != MAP_FAILED);
	cpu = calloc(1, sizeof(*cpu));
	CU_ASSERT_FATAL(cpu != NULL);
}

/* A fresh 64-bit CPL0 vCPU with SSE enabled. */
void
cpu_reset(void)
{
	const uint32_t code = 0x9b | SEG_ACC_L | SEG_ACC_G;
	const uint32_t data = 0x93 | SEG_ACC_DB | SEG_ACC_G;

	static struct interp_dcache_entry *dcache;

	if (dcache == NULL)
		dcache = calloc(INTERP_DCACHE_SIZE, sizeof(*dcache));
	CU_ASSERT_FATAL(dcache != NULL);
	for (int i = 0; i < INTERP_DCACHE_SIZE; i++)
		dcache[i].gpa = ~0ULL; /* empty */
	memset(cpu, 0, sizeof(*cpu));
	cpu->dcache = dcache;
	cpu->ivm = &ivm;
	cpu->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
	cpu->cr3 = G_PML4;
	cpu->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	cpu->efer = EFER_LME | EFER_LMA;
	cpu->rflags = PSL_1;
	cpu->maxphyaddr = 40;
	for (int i = 0; i < 6; i++)
		cpu->seg[i] =
		    (struct interp_seg){ 0x10, { 0, 0xffffffff, data } };
	cpu->seg[X86_R_CS - X86_R_ES] =
	    (struct interp_seg){ 0x08, { 0, 0xffffffff, code } };
	cpu->gdtr = (struct x86_segdesc){ G_GDT, 23, 0 };
	cpu->idtr = (struct x86_segdesc){ G_IDT, 32 * 16 - 1, 0 };
	cpu->fpu.fcw = 0x37f;
	cpu->fpu.mxcsr = 0x1f80;
	interp_tlb_flush(cpu);
}

/* Run the bytes at G_CODE (followed by HLT) in the interpreter: -1 if
 * it completed, else the vector it raised; -2 on an engine error. */
int
interp_run_code(const uint8_t *code, size_t len, char *err, size_t errlen)
{
	struct vm_exit e;

	memcpy(guest + G_CODE, code, len);
	guest[G_CODE + len] = 0xf4;
	cpu->rip = G_CODE;
	cpu->gpr[4] = G_STACK;
	memset(&e, 0, sizeof(e));
	interp_exec(cpu, &e, 16);
	if (e.exitcode != VM_EXITCODE_HLT) {
		snprintf(err, errlen, "exit %d: %s", e.exitcode,
			 e.exitcode == VM_EXITCODE_ENGINE_ERROR ? e.u.error.msg
								: "");
		return -2;
	}
	if (cpu->rip == G_CODE + len + 1)
		return -1;
	if (cpu->rip >= G_VEC + 1 && cpu->rip < G_VEC + 32 * 16)
		return (int)((cpu->rip - G_VEC - 1) / 16);
	snprintf(err, errlen, "halted at 0x%llx", (unsigned long long)cpu->rip);
	return -2;
}

/* FXSAVE64 image <-> the vCPU's state. */
void
state_to_cpu(const struct state *s)
{
	const uint8_t *fx = s->fx;

	memcpy(&cpu->fpu.fcw, fx, 2);
	memcpy(&cpu->fpu.fsw, fx + 2, 2);
	cpu->fpu.ftw = fx[4];
	memcpy(&cpu->fpu.mxcsr, fx + 24, 4);
	for (int i = 0; i < 8; i++) {
		memset(cpu->fpu.st[i], 0, 16);
		memcpy(cpu->fpu.st[i], fx + 32 + 16 * i, 10);
	}
	memcpy(cpu->fpu.xmm, fx + 160, 256);
	memcpy(cpu->gpr, s->gpr, sizeof(s->gpr));
	interp_set_rflags(cpu, s->rflags);
}

void
cpu_to_state(struct state *s)
{
	uint8_t *fx = s->fx;

	memset(fx, 0, 512);
	memcpy(fx, &cpu->fpu.fcw, 2);
	memcpy(fx + 2, &cpu->fpu.fsw, 2);
	fx[4] = cpu->fpu.ftw;
	memcpy(fx + 24, &cpu->fpu.mxcsr, 4);
	for (int i = 0; i < 8; i++)
		memcpy(fx + 32 + 16 * i, cpu->fpu.st[i], 10);
	memcpy(fx + 160, cpu->fpu.xmm, 256);
	memcpy(s->gpr, cpu->gpr, sizeof(s->gpr));
	s->rflags = interp_rflags(cpu);
}

/* ---- native execution ----------------------------------------------- */

size_t
emit(uint8_t *p, size_t n, const char *hex)
{
	unsigned int v;

	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		sscanf(hex, "%2x", &v);
		p[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static size_t
emit32(uint8_t *p, size_t n, uint32_t v)
{
	memcpy(p + n, &v, 4);
	return n + 4;
}

/* mov reg, [rdi + off] (load) or mov [rdi + off], reg (store). */
static size_t
emit_mov(uint8_t *p, size_t n, int reg, uint32_t off, bool store)
{
	p[n++] = (uint8_t)(0x48 | (reg >= 8 ? 4 : 0));
	p[n++] = store ? 0x89 : 0x8b;
	p[n++] = (uint8_t)(0x87 | ((reg & 7) << 3));
	return emit32(p, n, off);
}

typedef void (*natfn)(struct state *);

void
native_run(struct state *s, const uint8_t *insn, size_t len)
{
	uint8_t *p = natcode;
	size_t n = 0;

	n = emit(p, n, "53 55 4154 4155 4156 4157 57"); /* save, push rdi */
	n = emit(p, n, "480fae0f");                     /* fxrstor64 [rdi] */
	n = emit(p, n, "ffb7");                         /* push [rdi+rfl] */
	n = emit32(p, n, OFF_RFLAGS);
	n = emit(p, n, "9d"); /* popfq */
	for (int r = 0; r < 16; r++)
		if (r != 4 && r != 7)
			n = emit_mov(p, n, r, OFF_GPR + 8 * r, false);
	n = emit_mov(p, n, 7, OFF_GPR + 8 * 7, false);
	memcpy(p + n, insn, len);
	n += len;
	n = emit(p, n, "48873c24"); /* xchg rdi, [rsp] */
	for (int r = 0; r < 16; r++)
		if (r != 4 && r != 7)
			n = emit_mov(p, n, r, OFF_GPR + 8 * r, true);
	n = emit(p, n, "9c 58"); /* pushfq; pop rax */
	n = emit_mov(p, n, 0, OFF_RFLAGS, true);
	n = emit(p, n, "58"); /* pop rax: the instruction's rdi */
	n = emit_mov(p, n, 0, OFF_GPR + 8 * 7, true);
	n = emit(p, n, "480fae07"); /* fxsave64 [rdi] */
	emit(p, n, "415f 415e 415d 415c 5d 5b c3");
	((natfn)(void *)natcode)(s);
}

/*
 * Native runs that may raise an unmasked SIMD exception: #XM arrives as
 * SIGFPE with the state at the fault in the signal frame.
 */
static sigjmp_buf fpe_jmp;
uint32_t fpe_mxcsr;
uint8_t fpe_xmm[16][16];

static void
fpe_handler(int sig, siginfo_t *si, void *ucp)
{
	ucontext_t *uc = ucp;

	(void)sig;
	(void)si;
	fpe_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
	memcpy(fpe_xmm, uc->uc_mcontext.fpregs->_xmm, sizeof(fpe_xmm));
	siglongjmp(fpe_jmp, 1);
}

/* native_run(); true if the instruction raised #XM. */
bool
native_run_xm(struct state *s, const uint8_t *insn, size_t len)
{
	struct sigaction sa, old;
	bool xm = false;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fpe_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGFPE, &sa, &old);
	if (sigsetjmp(fpe_jmp, 1) == 0)
		native_run(s, insn, len);
	else
		xm = true;
	sigaction(SIGFPE, &old, NULL);
	return xm;
}

/* ---- random operands ------------------------------------------------ */

uint64_t
fpu_rnd(void)
{
	return rnd();
}

static uint32_t
rnd_f32(void)
{
	static const uint32_t special[] = {
		0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000,
		0xffc00000, 0x7f800001, 0x7fa00000, 0x00000001, 0x807fffff,
		0x00400000, 0x3f800000, 0xbf800000, 0x7f7fffff, 0x00800000,
		0x4f000000, 0xcf000000, 0x5f000000, 0xdf000000, 0x3f000000,
		0x4effffff, 0x3fc00000, 0x40490fdb, 0x4b800000,
	};

	switch (rnd() % 4) {
	case 0:
		return special[rnd() % (sizeof(special) / sizeof(special[0]))];
	case 1: /* an ordinary number of moderate size */
		return (uint32_t)((rnd() & 0x807fffff) |
				  ((uint64_t)(100 + rnd() % 56) << 23));
	default:
		return (uint32_t)rnd();
	}
}

static uint64_t
rnd_f64(void)
{
	static const uint64_t special[] = {
		0,
		1ULL << 63,
		0x7ff0000000000000ULL,
		0xfff0000000000000ULL,
		0x7ff8000000000000ULL,
		0x7ff0000000000001ULL,
		0x7ff4000000000000ULL,
		1,
		0x800fffffffffffffULL,
		0x3ff0000000000000ULL,
		0xbff0000000000000ULL,
		0x7fefffffffffffffULL,
		0x0010000000000000ULL,
		0x41e0000000000000ULL,
		0xc1e0000000000000ULL,
		0x43e0000000000000ULL,
		0xc3e0000000000000ULL,
		0x3fe0000000000000ULL,
		0x41dfffffffffffffULL,
		0x3ff8000000000000ULL,
		0x47efffffe0000000ULL,
		0x36a0000000000000ULL,
	};

	switch (rnd() % 4) {
	case 0:
		return special[rnd() % (sizeof(special) / sizeof(special[0]))];
	case 1:
		return (rnd() & 0x800fffffffffffffULL) |
		       ((uint64_t)(0x3c0 + rnd() % 0x80) << 52);
	default:
		return rnd();
	}
}

void
rnd_vec(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v;

		switch (rnd() % 4) {
		case 0:
			v = rnd_f32() | (uint64_t)rnd_f32() << 32;
			break;
		case 1:
			v = rnd_f64();
			break;
		case 2: /* small integers, extremes */
			v = rnd() % 5 == 0 ? 0x8000000080000000ULL
					   : (rnd() & 0x000f00ff00ff000fULL);
			break;
		default:
			v = rnd();
			break;
		}
		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

void
rnd_state(struct state *s, bool x87_random)
{
	memset(s, 0, sizeof(*s));
	rnd_vec(s->fx + 160, 256);
	for (int i = 0; i < 8; i++) {
		rnd_vec(s->fx + 32 + 16 * i, 10);
		memset(s->fx + 32 + 16 * i + 10, 0, 6);
	}
	s->fx[0] = 0x7f;
	s->fx[1] = 0x03;
	if (x87_random) {
		uint16_t fsw = (uint16_t)((rnd() & 7) << 11);

		memcpy(s->fx + 2, &fsw, 2);
		s->fx[4] = (uint8_t)rnd();
	}
	/* MXCSR: masked, random flags, rounding, DAZ, FZ. */
	{
		uint32_t m = 0x1f80 | (uint32_t)(rnd() & 0xe07f);

		if (rnd() % 2)
			m &= ~0x3fu;
		memcpy(s->fx + 24, &m, 4);
	}
	for (int i = 0; i < 16; i++)
		s->gpr[i] = rnd() % 3 == 0
				? (uint64_t)(int64_t)(int32_t)rnd_f32()
			    : rnd() % 2 ? rnd_f64()
					: rnd();
	s->rflags = 0x202 | (rnd() & 0x8d5);
}

/* XMM, x87/MMX registers, MXCSR, GPRs (not rsp/rbx), flags, memory. */
bool
compare(const char *what, const uint8_t *code, size_t len,
	const struct state *nat, const struct state *emu, const uint8_t *natm,
	const uint8_t *emum)
{
	char diff[256] = "";

	if (memcmp(nat->fx, emu->fx, 5) != 0)
		snprintf(diff, sizeof(diff),
			 "fcw/fsw/ftw %02x%02x %02x%02x %02x vs "
			 "%02x%02x %02x%02x %02x",
			 nat->fx[1], nat->fx[0], nat->fx[3], nat->fx[2],
			 nat->fx[4], emu->fx[1], emu->fx[0], emu->fx[3],
			 emu->fx[2], emu->fx[4]);
	else if (memcmp(nat->fx + 24, emu->fx + 24, 4) != 0)
		snprintf(diff, sizeof(diff), "mxcsr %08x vs %08x",
			 *(const uint32_t *)(nat->fx + 24),
			 *(const uint32_t *)(emu->fx + 24));
	for (int i = 0; i < 8 && !diff[0]; i++)
		if (memcmp(nat->fx + 32 + 16 * i, emu->fx + 32 + 16 * i, 10))
			snprintf(diff, sizeof(diff), "st(%d)", i);
	for (int i = 0; i < 16 && !diff[0]; i++)
		if (memcmp(nat->fx + 160 + 16 * i, emu->fx + 160 + 16 * i, 16))
			snprintf(diff, sizeof(diff),
				 "xmm%d %016llx%016llx vs %016llx%016llx", i,
				 *(const unsigned long long *)(nat->fx + 168 +
							       16 * i),
				 *(const unsigned long long *)(nat->fx + 160 +
							       16 * i),
				 *(const unsigned long long *)(emu->fx + 168 +
							       16 * i),
				 *(const unsigned long long *)(emu->fx + 160 +
							       16 * i));
	for (int i = 0; i < 16 && !diff[0]; i++)
		if (i != 3 && i != 4 && nat->gpr[i] != emu->gpr[i])
			snprintf(diff, sizeof(diff), "gpr%d %llx vs %llx", i,
				 (unsigned long long)nat->gpr[i],
				 (unsigned long long)emu->gpr[i]);
	if (!diff[0] && (nat->rflags & 0xcd5) != (emu->rflags & 0xcd5))
		snprintf(diff, sizeof(diff), "rflags %llx vs %llx",
			 (unsigned long long)nat->rflags,
			 (unsigned long long)emu->rflags);
	for (int i = 0; i < MEM_SIZE && !diff[0]; i++)
		if (natm[i] != emum[i])
			snprintf(diff, sizeof(diff),
				 "memory at +%d: %02x vs %02x", i, natm[i],
				 emum[i]);
	if (!diff[0])
		return true;
	printf("\n  %s [", what);
	for (size_t i = 0; i < len; i++)
		printf("%02x", code[i]);
	printf("]: %s", diff);
	return false;
}

/* Run 'hex' in a fresh vCPU after 'setup': the vector it raised or -1. */
int
run_hex(const char *hex, void (*setup)(void))
{
	uint8_t code[16];
	size_t len = emit(code, 0, hex);
	char err[400];
	int v;

	cpu_reset();
	cpu->gpr[3] = G_DATA;
	if (setup != NULL)
		setup();
	v = interp_run_code(code, len, err, sizeof(err));
	if (v == -2)
		printf("\n  %s: %s", hex, err);
	return v;
}
