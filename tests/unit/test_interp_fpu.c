/*
 * The interp engine's x87/MMX/SSE instructions against the host CPU:
 * every instruction form runs natively (assembled into an executable
 * buffer between an FXRSTOR/FXSAVE prologue and epilogue) and in the
 * interpreter (a hand-built 64-bit vCPU with one RAM slot) from the
 * same random state -- NaNs, infinities, denormals, zeros, integer
 * extremes, every rounding mode, DAZ and FZ -- and the XMM, x87/MMX,
 * MXCSR, FSW/FTW, general registers, EFLAGS and memory must agree bit
 * for bit.  Directed tests cover what the host cannot show without
 * faulting: the CR0/CR4 checks, alignment, FXSAVE/FXRSTOR, unmasked
 * SIMD exceptions (#XM/#UD).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "cunit.h"
#include "interp/interp.h"
#include "test_rng.h"

/* ---- the state both sides start from and end in --------------------- */

struct state {
	uint8_t fx[512] __attribute__((aligned(16))); /* FXSAVE64 image */
	uint64_t gpr[16];
	uint64_t rflags;
};

#define OFF_GPR    512
#define OFF_RFLAGS (512 + 16 * 8)

#define MEM_SIZE   1280 /* two XSAVE areas: 0 and XS_B */
/* Guest layout (identity-mapped 4 MiB, 2 MiB pages). */
#define G_PML4  0x1000
#define G_PDPT  0x2000
#define G_PD    0x3000
#define G_IDT   0x4000
#define G_VEC   0x5000 /* HLT at G_VEC + 16 * vector */
#define G_GDT   0x6000
#define G_CODE  0x10000
#define G_DATA  0x20000
#define G_STACK 0x80000
#define G_RAM   (4u << 20)

static uint8_t *guest;
static struct interp_vm ivm;
static struct interp_cpu *cpu;
static uint8_t *natcode;
static uint8_t natmem[MEM_SIZE] __attribute__((aligned(64)));

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void
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
static void
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
static int
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
static void
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

static void
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

static size_t
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

static void
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

/* The SIMD exceptions the random cases unmask: IE, DE, ZE (see
 * docs/architecture.md for the post-computation ones). */
#define UNMASKABLE 0x0380u

/*
 * Native runs that may raise an unmasked SIMD exception: #XM arrives as
 * SIGFPE with the state at the fault in the signal frame.
 */
static sigjmp_buf fpe_jmp;
static uint32_t fpe_mxcsr;
static uint8_t fpe_xmm[16][16];

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
static bool
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

static void
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

static void
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

/* ---- instruction forms ---------------------------------------------- */

/*
 * A form: the bytes before ModRM (prefixes, 0F maps, opcode; "W" for
 * REX.W), and flags: register form only (R), memory form only (M), an
 * imm8 (I), /digit in the reg field (the /n flag), GPR operands in reg
 * or rm (G: no registers 4 or 3 there), rdi as the memory pointer (D),
 * strings (L: short lengths in EAX/EDX and null elements, more cases),
 * a byte register in rm (B: not BH, which holds the pointer's bits).
 */
struct form {
	const char *name;
	const char *op;
	const char *flags;
	int digit; /* -1: ModRM.reg is a register */
};

#define F(name, op, flags)                                                     \
	{                                                                      \
		name, op, flags, -1                                            \
	}
#define FD(name, op, flags, d)                                                 \
	{                                                                      \
		name, op, flags, d                                             \
	}

static const struct form forms[] = {
	/* moves */
	F("movaps", "0f28", ""),
	F("movaps st", "0f29", "M"),
	F("movups", "0f10", ""),
	F("movups st", "0f11", "M"),
	F("movapd", "660f28", ""),
	F("movapd st", "660f29", "M"),
	F("movupd", "660f10", ""),
	F("movupd st", "660f11", "M"),
	F("movdqa", "660f6f", ""),
	F("movdqa st", "660f7f", ""),
	F("movdqu", "f30f6f", ""),
	F("movdqu st", "f30f7f", ""),
	F("lddqu", "f20ff0", "M"),
	F("movntps", "0f2b", "M"),
	F("movntpd", "660f2b", "M"),
	F("movntdq", "660fe7", "M"),
	F("movntq", "0fe7", "M"),
	F("movss", "f30f10", ""),
	F("movss st", "f30f11", "M"),
	F("movsd", "f20f10", ""),
	F("movsd st", "f20f11", "M"),
	F("movlps/movhlps", "0f12", ""),
	F("movlps st", "0f13", "M"),
	F("movlpd", "660f12", "M"),
	F("movlpd st", "660f13", "M"),
	F("movhps/movlhps", "0f16", ""),
	F("movhps st", "0f17", "M"),
	F("movhpd", "660f16", "M"),
	F("movhpd st", "660f17", "M"),
	F("movddup", "f20f12", ""),
	F("movsldup", "f30f12", ""),
	F("movshdup", "f30f16", ""),
	F("movd x,r/m", "660f6e", "G"),
	F("movq x,r/m", "66W0f6e", "G"),
	F("movd r/m,x", "660f7e", "G"),
	F("movq r/m,x", "66W0f7e", "G"),
	F("movq x,x/m", "f30f7e", ""),
	F("movq x/m,x", "660fd6", ""),
	F("movd mm,r/m", "0f6e", "G"),
	F("movq mm,r/m", "W0f6e", "G"),
	F("movd r/m,mm", "0f7e", "G"),
	F("movq r/m,mm", "W0f7e", "G"),
	F("movq mm,mm/m", "0f6f", ""),
	F("movq mm/m,mm", "0f7f", ""),
	F("movq2dq", "f30fd6", "R"),
	F("movdq2q", "f20fd6", "R"),
	F("movmskps", "0f50", "RG"),
	F("movmskpd", "660f50", "RG"),
	F("pmovmskb x", "660fd7", "RG"),
	F("pmovmskb mm", "0fd7", "RG"),
	F("pinsrw x", "660fc4", "IG"),
	F("pinsrw mm", "0fc4", "IG"),
	F("pextrw x", "660fc5", "RIG"),
	F("pextrw mm", "0fc5", "RIG"),
	F("pextrw m", "660f3a15", "IG"),
	F("pextrb", "660f3a14", "IG"),
	F("pextrd", "660f3a16", "IG"),
	F("pextrq", "66W0f3a16", "IG"),
	F("extractps", "660f3a17", "IG"),
	F("pinsrb", "660f3a20", "IG"),
	F("pinsrd", "660f3a22", "IG"),
	F("pinsrq", "66W0f3a22", "IG"),
	F("maskmovdqu", "660ff7", "RD"),
	F("maskmovq", "0ff7", "RD"),
	F("movnti", "0fc3", "MG"),
	F("movnti q", "W0fc3", "MG"),
	/* integer, MMX and SSE forms */
	F("punpcklbw", "0f60", "X"),
	F("punpcklwd", "0f61", "X"),
	F("punpckldq", "0f62", "X"),
	F("packsswb", "0f63", "X"),
	F("pcmpgtb", "0f64", "X"),
	F("pcmpgtw", "0f65", "X"),
	F("pcmpgtd", "0f66", "X"),
	F("packuswb", "0f67", "X"),
	F("punpckhbw", "0f68", "X"),
	F("punpckhwd", "0f69", "X"),
	F("punpckhdq", "0f6a", "X"),
	F("packssdw", "0f6b", "X"),
	F("punpcklqdq", "660f6c", ""),
	F("punpckhqdq", "660f6d", ""),
	F("pshufd", "660f70", "I"),
	F("pshufhw", "f30f70", "I"),
	F("pshuflw", "f20f70", "I"),
	F("pshufw", "0f70", "I"),
	FD("psrlw i", "0f71", "XRI", 2),
	FD("psraw i", "0f71", "XRI", 4),
	FD("psllw i", "0f71", "XRI", 6),
	FD("psrld i", "0f72", "XRI", 2),
	FD("psrad i", "0f72", "XRI", 4),
	FD("pslld i", "0f72", "XRI", 6),
	FD("psrlq i", "0f73", "XRI", 2),
	FD("psllq i", "0f73", "XRI", 6),
	FD("psrldq", "660f73", "RI", 3),
	FD("pslldq", "660f73", "RI", 7),
	F("pcmpeqb", "0f74", "X"),
	F("pcmpeqw", "0f75", "X"),
	F("pcmpeqd", "0f76", "X"),
	F("psrlw", "0fd1", "X"),
	F("psrld", "0fd2", "X"),
	F("psrlq", "0fd3", "X"),
	F("paddq", "0fd4", "X"),
	F("pmullw", "0fd5", "X"),
	F("psubusb", "0fd8", "X"),
	F("psubusw", "0fd9", "X"),
	F("pminub", "0fda", "X"),
	F("pand", "0fdb", "X"),
	F("paddusb", "0fdc", "X"),
	F("paddusw", "0fdd", "X"),
	F("pmaxub", "0fde", "X"),
	F("pandn", "0fdf", "X"),
	F("pavgb", "0fe0", "X"),
	F("psraw", "0fe1", "X"),
	F("psrad", "0fe2", "X"),
	F("pavgw", "0fe3", "X"),
	F("pmulhuw", "0fe4", "X"),
	F("pmulhw", "0fe5", "X"),
	F("psubsb", "0fe8", "X"),
	F("psubsw", "0fe9", "X"),
	F("pminsw", "0fea", "X"),
	F("por", "0feb", "X"),
	F("paddsb", "0fec", "X"),
	F("paddsw", "0fed", "X"),
	F("pmaxsw", "0fee", "X"),
	F("pxor", "0fef", "X"),
	F("psllw", "0ff1", "X"),
	F("pslld", "0ff2", "X"),
	F("psllq", "0ff3", "X"),
	F("pmuludq", "0ff4", "X"),
	F("pmaddwd", "0ff5", "X"),
	F("psadbw", "0ff6", "X"),
	F("psubb", "0ff8", "X"),
	F("psubw", "0ff9", "X"),
	F("psubd", "0ffa", "X"),
	F("psubq", "0ffb", "X"),
	F("paddb", "0ffc", "X"),
	F("paddw", "0ffd", "X"),
	F("paddd", "0ffe", "X"),
	/* SSSE3 */
	F("pshufb", "0f3800", "X"),
	F("phaddw", "0f3801", "X"),
	F("phaddd", "0f3802", "X"),
	F("phaddsw", "0f3803", "X"),
	F("pmaddubsw", "0f3804", "X"),
	F("phsubw", "0f3805", "X"),
	F("phsubd", "0f3806", "X"),
	F("phsubsw", "0f3807", "X"),
	F("psignb", "0f3808", "X"),
	F("psignw", "0f3809", "X"),
	F("psignd", "0f380a", "X"),
	F("pmulhrsw", "0f380b", "X"),
	F("pabsb", "0f381c", "X"),
	F("pabsw", "0f381d", "X"),
	F("pabsd", "0f381e", "X"),
	F("palignr", "0f3a0f", "XI"),
	/* SSE4.1 / 4.2 integer */
	F("pblendvb", "660f3810", ""),
	F("blendvps", "660f3814", ""),
	F("blendvpd", "660f3815", ""),
	F("ptest", "660f3817", ""),
	F("pmovsxbw", "660f3820", ""),
	F("pmovsxbd", "660f3821", ""),
	F("pmovsxbq", "660f3822", ""),
	F("pmovsxwd", "660f3823", ""),
	F("pmovsxwq", "660f3824", ""),
	F("pmovsxdq", "660f3825", ""),
	F("pmuldq", "660f3828", ""),
	F("pcmpeqq", "660f3829", ""),
	F("packusdw", "660f382b", ""),
	F("pmovzxbw", "660f3830", ""),
	F("pmovzxbd", "660f3831", ""),
	F("pmovzxbq", "660f3832", ""),
	F("pmovzxwd", "660f3833", ""),
	F("pmovzxwq", "660f3834", ""),
	F("pmovzxdq", "660f3835", ""),
	F("pcmpgtq", "660f3837", ""),
	/* SSE4.2 strings (random lengths, embedded nulls) and CRC32 */
	F("pcmpestrm", "660f3a60", "IL"),
	F("pcmpestrm q", "66W0f3a60", "IL"),
	F("pcmpestri", "660f3a61", "IL"),
	F("pcmpestri q", "66W0f3a61", "IL"),
	F("pcmpistrm", "660f3a62", "IL"),
	F("pcmpistri", "660f3a63", "IL"),
	F("crc32 r32,r/m8", "f20f38f0", "GB"),
	F("crc32 r32,r/m16", "66f20f38f1", "G"),
	F("crc32 r32,r/m32", "f20f38f1", "G"),
	F("crc32 r64,r/m8", "f2W0f38f0", "GB"),
	F("crc32 r64,r/m64", "f2W0f38f1", "G"),
	F("pminsb", "660f3838", ""),
	F("pminsd", "660f3839", ""),
	F("pminuw", "660f383a", ""),
	F("pminud", "660f383b", ""),
	F("pmaxsb", "660f383c", ""),
	F("pmaxsd", "660f383d", ""),
	F("pmaxuw", "660f383e", ""),
	F("pmaxud", "660f383f", ""),
	F("pmulld", "660f3840", ""),
	F("phminposuw", "660f3841", ""),
	F("blendps", "660f3a0c", "I"),
	F("blendpd", "660f3a0d", "I"),
	F("pblendw", "660f3a0e", "I"),
	F("dpps", "660f3a40", "IE"),
	F("dppd", "660f3a41", "IE"),
	F("mpsadbw", "660f3a42", "I"),
	F("insertps", "660f3a21", "I"),
	F("movntdqa", "660f382a", "M"),
	/* floating-point bitwise, unpack, shuffle */
	F("andps", "0f54", "P"),
	F("andnps", "0f55", "P"),
	F("orps", "0f56", "P"),
	F("xorps", "0f57", "P"),
	F("unpcklps", "0f14", "P"),
	F("unpckhps", "0f15", "P"),
	F("shufps", "0fc6", "PI"),
	/* floating point: the four prefixes */
	F("sqrt", "0f51", "SE"),
	F("rsqrt", "0f52", "QE"),
	F("rcp", "0f53", "QE"),
	F("add", "0f58", "SE"),
	F("mul", "0f59", "SE"),
	F("cvt ps/pd/ss/sd", "0f5a", "SE"),
	F("sub", "0f5c", "SE"),
	F("min", "0f5d", "SE"),
	F("div", "0f5e", "SE"),
	F("max", "0f5f", "SE"),
	F("cmp", "0fc2", "SIE"),
	F("cvtdq2ps", "0f5b", "E"),
	F("cvtps2dq", "660f5b", "E"),
	F("cvttps2dq", "f30f5b", "E"),
	F("cvttpd2dq", "660fe6", "E"),
	F("cvtdq2pd", "f30fe6", "E"),
	F("cvtpd2dq", "f20fe6", "E"),
	F("ucomiss", "0f2e", "E"),
	F("ucomisd", "660f2e", "E"),
	F("comiss", "0f2f", "E"),
	F("comisd", "660f2f", "E"),
	F("cvtsi2ss", "f30f2a", "GE"),
	F("cvtsi2ss q", "f3W0f2a", "GE"),
	F("cvtsi2sd", "f20f2a", "GE"),
	F("cvtsi2sd q", "f2W0f2a", "GE"),
	F("cvttss2si", "f30f2c", "GE"),
	F("cvttss2si q", "f3W0f2c", "GE"),
	F("cvtss2si", "f30f2d", "GE"),
	F("cvtss2si q", "f3W0f2d", "GE"),
	F("cvttsd2si", "f20f2c", "GE"),
	F("cvttsd2si q", "f2W0f2c", "GE"),
	F("cvtsd2si", "f20f2d", "GE"),
	F("cvtsd2si q", "f2W0f2d", "GE"),
	F("cvtpi2ps", "0f2a", "E"),
	F("cvtpi2pd", "660f2a", "E"),
	F("cvttps2pi", "0f2c", "E"),
	F("cvtps2pi", "0f2d", "E"),
	F("cvttpd2pi", "660f2c", "E"),
	F("cvtpd2pi", "660f2d", "E"),
	F("haddps", "f20f7c", "E"),
	F("haddpd", "660f7c", "E"),
	F("hsubps", "f20f7d", "E"),
	F("hsubpd", "660f7d", "E"),
	F("addsubps", "f20fd0", "E"),
	F("addsubpd", "660fd0", "E"),
	F("roundps", "660f3a08", "IE"),
	F("roundpd", "660f3a09", "IE"),
	F("roundss", "660f3a0a", "IE"),
	F("roundsd", "660f3a0b", "IE"),
	/* state */
	FD("fxsave", "0fae", "MF", 0),
	FD("fxsave64", "W0fae", "MF", 0),
	FD("fxrstor", "0fae", "MF", 1),
	FD("fxrstor64", "W0fae", "MF", 1),
	F("emms", "0f77", "N"),
	F("ldmxcsr/stmxcsr", "0fae", "C"),
	F("fnstcw", "d9", "K7"),
	F("fnstsw m", "dd", "K7"),
	F("fnstsw ax", "dfe0", "N"),
	F("fnclex", "dbe2", "N"),
	F("fninit", "dbe3", "N"),
	F("fwait", "9b", "N"),
};

static bool
has(const struct form *f, char flag)
{
	return strchr(f->flags, flag) != NULL;
}

/*
 * Encode one random instance of form f with the given opcode prefix
 * (for X, P, S, Q variants) into buf.  Returns its length.
 */
static size_t
encode(const struct form *f, const char *prefix, uint8_t *buf, bool mem)
{
	static const int ok[] = { 0, 1, 2, 5, 6, 7 }; /* not rsp, rbx */
	const char *op = f->op;
	bool rexw = false;
	size_t n = 0;
	uint8_t rex = 0x40;
	int reg, rm;
	uint8_t tmp[8];
	size_t nt = 0;

	n = emit(buf, n, prefix);
	/* Legacy prefixes, then REX, then the opcode. */
	while (op[0] &&
	       (strncmp(op, "66", 2) == 0 || strncmp(op, "f3", 2) == 0 ||
		strncmp(op, "f2", 2) == 0)) {
		n = emit(buf, n, (char[]){ op[0], op[1], 0 });
		op += 2;
	}
	if (op[0] == 'W') {
		rexw = true;
		op++;
	}
	nt = emit(tmp, 0, op);
	if (has(f, 'N')) {
		memcpy(buf + n, tmp, nt);
		return n + nt;
	}
	reg = f->digit >= 0 ? f->digit : ok[rnd() % 6];
	rm = mem ? 3 : ok[rnd() % 6];
	if (has(f, 'D'))
		reg = ok[rnd() % 5]; /* not rdi as a data register */
	if (has(f, 'C'))
		reg = rnd() % 2 ? 2 : 3; /* LDMXCSR / STMXCSR */
	if (has(f, 'K'))
		reg = 7;
	if (rexw)
		rex |= 8;
	if (f->digit < 0 && !has(f, 'C') && !has(f, 'K') && rnd() % 3 == 0)
		rex |= 4; /* REX.R: xmm8-15 or r8-r15 */
	if (!mem && rnd() % 3 == 0)
		rex |= 1; /* REX.B */
	if (has(f, 'B') && !mem && rm == 7)
		rex |= 1; /* r15b: without REX rm 7 is BH, the pointer's */
	if (rex != 0x40 || rnd() % 8 == 0)
		buf[n++] = rex;
	memcpy(buf + n, tmp, nt);
	n += nt;
	buf[n++] = (uint8_t)((mem ? 0 : 0xc0) | (reg << 3) | rm);
	if (has(f, 'I'))
		buf[n++] = (uint8_t)rnd();
	return n;
}

/* XMM, x87/MMX registers, MXCSR, GPRs (not rsp/rbx), flags, memory. */
static bool
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

/*
 * Operands of the SSE4.2 string compares: lengths in RAX/RDX mostly
 * near the element counts (negative ones too, and out of range), and
 * null bytes or words in the registers and the memory operand, mostly
 * from small alphabets so that the compares find matches.
 */
static void
rnd_strings(struct state *s, uint8_t *m)
{
	static const int64_t lens[] = { 0,  1,  7,  8,   9,   15,  16,
					17, -1, -8, -16, -17, 255, 1LL << 32 };

	for (int r = 0; r <= 2; r += 2)
		if (rnd() % 4)
			s->gpr[r] =
			    rnd() % 2
				? (uint64_t)lens[rnd() % 14]
				: (uint64_t)(int64_t)((int)(rnd() % 41) - 20);
	for (int i = 0; i < 17; i++) {
		uint8_t *v = i < 16 ? s->fx + 160 + 16 * i : m;
		unsigned int alpha = 1u + (unsigned int)(rnd() % 8);

		if (rnd() % 4 == 0)
			continue;
		for (int k = 0; k < 16; k++) {
			if (rnd() % 3)
				v[k] = (uint8_t)(rnd() % alpha +
						 (rnd() % 2 ? 0x7e : 0x30));
			if (rnd() % 16 == 0)
				v[k] = 0;
		}
	}
}

/* One random case of form f: false on a difference. */
static bool
run_case(const struct form *f, const char *prefix, bool mem)
{
	uint8_t code[16];
	size_t len = encode(f, prefix, code, mem);
	struct state s0, nat, emu;
	uint8_t m0[MEM_SIZE];
	char err[400];
	bool xm;
	int vec;

	rnd_state(&s0, has(f, 'X') || has(f, 'N'));
	rnd_vec(m0, MEM_SIZE);
	if (has(f, 'L'))
		rnd_strings(&s0, m0);
	if (has(f, 'C') && ((code[len - 1] >> 3) & 7) == 2) {
		/* LDMXCSR: a valid value with every exception masked. */
		uint32_t m = 0x1f80 | (uint32_t)(rnd() & 0xe07f);

		memcpy(m0, &m, 4);
	}
	if (has(f, 'F')) {
		/* FXRSTOR's image: a valid MXCSR, masked. */
		uint32_t m = 0x1f80 | (uint32_t)(rnd() & 0xe07f);

		memcpy(m0 + 24, &m, 4);
	}
	if (has(f, 'E') && rnd() % 2) {
		/* Some SIMD exceptions unmasked. */
		uint32_t m;

		memcpy(&m, s0.fx + 24, 4);
		m &= ~(uint32_t)(rnd() & UNMASKABLE);
		memcpy(s0.fx + 24, &m, 4);
	}
	/* Native. */
	nat = s0;
	nat.gpr[3] = (uint64_t)(uintptr_t)natmem;
	if (has(f, 'D'))
		nat.gpr[7] = nat.gpr[3];
	memcpy(natmem, m0, MEM_SIZE);
	xm = native_run_xm(&nat, code, len);
	/* Interpreted. */
	cpu_reset();
	emu = s0;
	emu.gpr[3] = G_DATA;
	if (has(f, 'D'))
		emu.gpr[7] = G_DATA;
	state_to_cpu(&emu);
	memcpy(guest + G_DATA, m0, MEM_SIZE);
	vec = interp_run_code(code, len, err, sizeof(err));
	if (xm) {
		/* #XM: the same flags, nothing written. */
		if (vec == 19 && cpu->fpu.mxcsr == fpe_mxcsr &&
		    memcmp(cpu->fpu.xmm, fpe_xmm, sizeof(fpe_xmm)) == 0 &&
		    memcmp(guest + G_DATA, m0, MEM_SIZE) == 0)
			return true;
		printf("\n  %s [", f->name);
		for (size_t i = 0; i < len; i++)
			printf("%02x", code[i]);
		printf("]: #XM natively (mxcsr %08x), here vector %d mxcsr "
		       "%08x",
		       fpe_mxcsr, vec, cpu->fpu.mxcsr);
		return false;
	}
	if (vec != -1) {
		printf("\n  %s [", f->name);
		for (size_t i = 0; i < len; i++)
			printf("%02x", code[i]);
		printf("]: %s (vector %d)", vec == -2 ? err : "fault", vec);
		return false;
	}
	cpu_to_state(&emu);
	if (has(f, 'D'))
		nat.gpr[7] = emu.gpr[7];
	/* MXCSR_MASK is the host's (AMD has bit 17, MM). */
	if (has(f, 'F'))
		memcpy(natmem + 28, guest + G_DATA + 28, 4);
	return compare(f->name, code, len, &nat, &emu, natmem, guest + G_DATA);
}

#define CASES 300

static void
test_forms(void)
{
	static const char *const pfx_x[] = { "", "66" };
	static const char *const pfx_s[] = { "", "66", "f3", "f2" };
	static const char *const pfx_q[] = { "", "f3" };
	int bad = 0, total = 0;

	if (guest == NULL)
		guest_setup();
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const struct form *f = &forms[i];
		const char *const *pfx = has(f, 'X')   ? pfx_x
					 : has(f, 'S') ? pfx_s
					 : has(f, 'Q') ? pfx_q
					 : has(f, 'P') ? pfx_x
						       : NULL;
		int npfx = has(f, 'S') ? 4 : pfx ? 2 : 1;
		int fbad = 0;

		int cases = has(f, 'L') ? 20 * CASES : CASES;

		for (int p = 0; p < npfx; p++)
			for (int k = 0; k < cases && fbad < 3; k++) {
				bool mem =
				    has(f, 'M') || has(f, 'C') || has(f, 'K') ||
				    (!has(f, 'R') && !has(f, 'N') && rnd() % 2);

				total++;
				if (!run_case(f, pfx ? pfx[p] : "", mem))
					fbad++;
			}
		bad += fbad;
	}
	printf("\n  %d cases, %d differences\n", total, bad);
	CU_ASSERT_EQUAL(bad, 0);
}

/*
 * x87: random opcodes D8-DF with random ModRM (memory forms on [rbx]),
 * every one the decoder accepts, with and without 66; random TOP, tags,
 * control word (precision, rounding, masks) and masked flags.
 */
static void
test_x87(void)
{
	int bad = 0, total = 0;

	if (guest == NULL)
		guest_setup();
	for (int k = 0; k < 60000 && bad < 20; k++) {
		uint8_t code[4];
		struct x86_instr in;
		struct state s0, nat, emu;
		uint8_t m0[MEM_SIZE];
		char err[400];
		uint16_t fcw, fsw;
		size_t n = 0;
		bool o16 = rnd() % 4 == 0;
		int vec;

		if (o16)
			code[n++] = 0x66;
		code[n] = (uint8_t)(0xd8 + rnd() % 8);
		code[n + 1] = (uint8_t)rnd();
		if (code[n + 1] < 0xc0)
			code[n + 1] = (uint8_t)((code[n + 1] & 0x38) | 3);
		n += 2;
		if (x86_decode(&in, X86_MODE_64, code, n) != X86_DEC_OK)
			continue;
		rnd_state(&s0, true);
		fcw = (uint16_t)((rnd() & 0x0f3f) | 0x40);
		if (rnd() % 2)
			fcw |= 0x3f; /* often all masked */
		fsw = (uint16_t)((rnd() & 7) << 11 | (rnd() & 0x3f & fcw));
		memcpy(s0.fx, &fcw, 2);
		memcpy(s0.fx + 2, &fsw, 2);
		rnd_vec(m0, MEM_SIZE);
		nat = s0;
		nat.gpr[3] = (uint64_t)(uintptr_t)natmem;
		memcpy(natmem, m0, MEM_SIZE);
		native_run(&nat, code, n);
		cpu_reset();
		emu = s0;
		emu.gpr[3] = G_DATA;
		state_to_cpu(&emu);
		memcpy(guest + G_DATA, m0, MEM_SIZE);
		total++;
		vec = interp_run_code(code, n, err, sizeof(err));
		if (vec != -1) {
			printf("\n  x87 [%02x%02x]: %s (vector %d)",
			       code[n - 2], code[n - 1],
			       vec == -2 ? err : "fault", vec);
			bad++;
			continue;
		}
		/* FIP, FCS, FOP, FDP, FDS in a stored environment are the
		 * host's natively. */
		if (in.mnem == X86_M_FNSTENV || in.mnem == X86_M_FNSAVE) {
			if (o16)
				memcpy(natmem + 6, guest + G_DATA + 6, 8);
			else
				memcpy(natmem + 12, guest + G_DATA + 12, 14);
		}
		cpu_to_state(&emu);
		if (!compare(x86_mnem_name(in.mnem), code, n, &nat, &emu,
			     natmem, guest + G_DATA))
			bad++;
	}
	printf("\n  %d cases, %d differences\n", total, bad);
	CU_ASSERT_EQUAL(bad, 0);
}

/* Run 'hex' in a fresh vCPU after 'setup': the vector it raised or -1. */
static int
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

static void
set_em(void)
{
	cpu->cr0 |= CR0_EM;
}

static void
set_ts(void)
{
	cpu->cr0 |= CR0_TS;
}

static void
clear_osfxsr(void)
{
	cpu->cr4 &= ~CR4_OSFXSR;
}

static void
set_es(void)
{
	cpu->fpu.fcw = 0x37e; /* IE unmasked */
	cpu->fpu.fsw = 0x8081;
}

static void
set_ts_no_mp(void)
{
	cpu->cr0 = (cpu->cr0 | CR0_TS) & ~CR0_MP;
}

/* CR0.EM/TS/MP, CR4.OSFXSR and pending x87 exceptions (SDM vol. 3A
 * 2.5 and 13.2, the instructions' exception tables). */
static void
test_checks(void)
{
	if (guest == NULL)
		guest_setup();
	/* SSE: EM or !OSFXSR #UD, TS #NM. */
	CU_ASSERT_EQUAL(run_hex("0f58ca", NULL), -1);
	CU_ASSERT_EQUAL(run_hex("0f58ca", set_em), 6);
	CU_ASSERT_EQUAL(run_hex("0f58ca", clear_osfxsr), 6);
	CU_ASSERT_EQUAL(run_hex("0f58ca", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("660fefc1", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("0fae13", clear_osfxsr), 6); /* LDMXCSR */
	/* MMX: EM #UD, TS #NM, pending x87 exception #MF; no OSFXSR
	 * needed. */
	CU_ASSERT_EQUAL(run_hex("0ffcc1", clear_osfxsr), -1);
	CU_ASSERT_EQUAL(run_hex("0ffcc1", set_em), 6);
	CU_ASSERT_EQUAL(run_hex("0ffcc1", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("0ffcc1", set_es), 16);
	CU_ASSERT_EQUAL(run_hex("0f77", set_es), 16);
	/* x87 control: EM or TS #NM; FNINIT/FNCLEX ignore a pending
	 * exception, FWAIT raises it and faults #NM only with MP and TS. */
	CU_ASSERT_EQUAL(run_hex("dbe3", set_em), 7);
	CU_ASSERT_EQUAL(run_hex("dbe3", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("dbe2", set_es), -1);
	CU_ASSERT_EQUAL(cpu->fpu.fsw, 0);
	CU_ASSERT_EQUAL(run_hex("9b", set_es), 16);
	CU_ASSERT_EQUAL(run_hex("9b", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("9b", set_ts_no_mp), -1);
	/* SSE4.2: the string compares are SSE instructions; CRC32 is a
	 * general-purpose one (no CR0/CR4 check), #UD with LOCK. */
	CU_ASSERT_EQUAL(run_hex("660f3a63ca0c", clear_osfxsr), 6);
	CU_ASSERT_EQUAL(run_hex("660f3a61ca0c", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("f20f38f1c1", clear_osfxsr), -1);
	CU_ASSERT_EQUAL(run_hex("f20f38f1c1", set_ts), -1);
	CU_ASSERT_EQUAL(run_hex("f0f20f38f1c1", NULL), 6);
	/* FXSAVE: EM or TS #NM; no OSFXSR needed. */
	CU_ASSERT_EQUAL(run_hex("0fae03", set_em), 7);
	CU_ASSERT_EQUAL(run_hex("0fae03", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("0fae03", clear_osfxsr), -1);
}

/* MXCSR with the exceptions 'unmask' unmasked, XMM1 and XMM2. */
static void
set_sse_operands(uint32_t unmask, const union interp_xmm *x1,
		 const union interp_xmm *x2)
{
	cpu->fpu.mxcsr = 0x1f80 & ~unmask;
	interp_xmm_set(cpu, 1, x1);
	interp_xmm_set(cpu, 2, x2);
}

static void
set_zm_unmasked(void)
{
	static const union interp_xmm one = { .d = { 0x3f800000, 0x3f800000, 0,
						     0 } };
	static const union interp_xmm zero = { .d = { 0x40000000, 0, 0x40000000,
						      0 } };

	set_sse_operands(0x200, &one, &zero); /* ZM clear */
}

static void
set_zm_unmasked_noxmm(void)
{
	set_zm_unmasked();
	cpu->cr4 &= ~CR4_OSXMMEXCPT;
}

static void
set_im_unmasked(void)
{
	static const union interp_xmm snan = { .d = { 0x7f800001, 0, 0, 0 } };
	static const union interp_xmm big = { .d = { 0x7f7fffff, 0, 0, 0 } };

	set_sse_operands(0x80, &snan, &big); /* IM clear */
}

static void
set_misaligned(void)
{
	cpu->gpr[3] = G_DATA + 8;
}

/* Unmasked SIMD exceptions: #XM (#UD without OSXMMEXCPT), nothing
 * written, the flags set; alignment of 16-byte operands. */
static void
test_exceptions(void)
{
	union interp_xmm v;

	if (guest == NULL)
		guest_setup();
	/* DIVPS xmm1, xmm2: 1/2 and 1/0. */
	CU_ASSERT_EQUAL(run_hex("0f5eca", set_zm_unmasked), 19);
	interp_xmm_get(cpu, 1, &v);
	CU_ASSERT_EQUAL(v.d[0], 0x3f800000);
	CU_ASSERT_EQUAL(v.d[1], 0x3f800000);
	/* ZE (1/0) and the masked IE of 0/0: both found before the
	 * operation, so both set. */
	CU_ASSERT_EQUAL(cpu->fpu.mxcsr & 0x3f, 0x5);
	CU_ASSERT_EQUAL(run_hex("0f5eca", set_zm_unmasked_noxmm), 6);
	/* ADDSS with an SNaN: IE (unmasked) and nothing else. */
	CU_ASSERT_EQUAL(run_hex("f30f58ca", set_im_unmasked), 19);
	CU_ASSERT_EQUAL(cpu->fpu.mxcsr & 0x3f, 0x1);
	/* ... masked: the quieted NaN and IE. */
	CU_ASSERT_EQUAL(run_hex("f30f58ca", NULL), -1);
	/* Alignment: MOVAPS/PADDB/FXSAVE #GP(0) on [rbx+8]; MOVUPS not. */
	CU_ASSERT_EQUAL(run_hex("0f280b", set_misaligned), 13);
	CU_ASSERT_EQUAL(run_hex("660ffc0b", set_misaligned), 13);
	CU_ASSERT_EQUAL(run_hex("0fae03", set_misaligned), 13);
	CU_ASSERT_EQUAL(run_hex("0f100b", set_misaligned), -1);
	CU_ASSERT_EQUAL(run_hex("f30f100b", set_misaligned), -1);
	/* AVX and 3DNow! are not there: #UD. */
	CU_ASSERT_EQUAL(run_hex("c5f858ca", NULL), 6); /* vaddps */
	CU_ASSERT_EQUAL(run_hex("0f0ec1", NULL), 6);   /* femms */
	CU_ASSERT_EQUAL(run_hex("0f0fc1b4", NULL), 6); /* pfmul */
	/* LDMXCSR with a reserved bit: #GP(0). */
	memset(guest + G_DATA, 0, 4);
	guest[G_DATA + 2] = 1;
	CU_ASSERT_EQUAL(run_hex("0fae13", NULL), 13);
}

/* ---- XSAVE ---------------------------------------------------------- */

#define CR4_OSXSAVE (1ULL << 18)
#define XS_B        0x240 /* the second XSAVE area (576 bytes after) */
#define XS_HDR      512

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void
xsave_on(void)
{
	cpu->cr4 |= CR4_OSXSAVE;
	cpu->xcr0 = 3;
}

/* An XRSTOR image at m: random, or the initial configuration of a
 * component (so that loaded state may be init: XINUSE), a valid header
 * in the standard or compacted form. */
static void
xs_image(uint8_t *m)
{
	uint64_t bv = rnd() & 3, comp = 0;
	uint32_t mxcsr = 0x1f80 | (uint32_t)(rnd() & 0xe07f);

	if (rnd() % 4 == 0) { /* x87 init values */
		memset(m, 0, 24);
		memset(m + 32, 0, 128);
		m[0] = 0x7f;
		m[1] = 0x03;
	}
	if (rnd() % 4 == 0) { /* SSE init values */
		memset(m + 160, 0, 256);
		mxcsr = 0x1f80;
	}
	memcpy(m + 24, &mxcsr, 4);
	if (rnd() % 2) {
		comp = (1ULL << 63) | bv | (rnd() & 3);
		memset(m + XS_HDR + 16, 0, 48);
	} else {
		memset(m + XS_HDR + 8, 0, 16); /* 24-63 are ignored */
	}
	memcpy(m + XS_HDR, &bv, 8);
	memcpy(m + XS_HDR + 8, &comp, 8);
}

/*
 * XINUSE: the host may report a component in use (XSTATE_BV 1) that
 * the engine finds in its initial configuration (0), never the reverse;
 * where so, the host's saved component must be the initial one, which
 * the engine's XSAVEOPT/XSAVEC did not write.  Make the engine's area
 * the host's there; false if the difference is not of that kind.
 */
static bool
xs_reconcile(uint8_t *nat, uint8_t *emu, uint64_t rfbm)
{
	uint64_t nbv = get64(nat + XS_HDR), ebv = get64(emu + XS_HDR);
	uint64_t diff = nbv ^ ebv;
	uint8_t init[416];

	memset(init, 0, sizeof(init));
	init[0] = 0x7f;
	init[1] = 0x03;
	init[25] = 0x1f;
	init[24] = 0x80;
	if ((diff & ~rfbm) || (ebv & diff))
		return false;
	if (diff & 1) {
		if (memcmp(nat, init, 24) || memcmp(nat + 32, init + 32, 128))
			return false;
		memcpy(emu, nat, 24);
		memcpy(emu + 32, nat + 32, 128);
	}
	if (diff & 2) {
		if (memcmp(nat + 24, init + 24, 4) ||
		    memcmp(nat + 160, init + 160, 256))
			return false;
		memcpy(emu + 24, nat + 24, 8);
		memcpy(emu + 160, nat + 160, 256);
	}
	memcpy(emu + XS_HDR, nat + XS_HDR, 8);
	return true;
}

/*
 * XRSTOR (standard or compacted, random XSTATE_BV and instruction mask)
 * from area 0, XOR EAX (another mask), then XSAVE, XSAVEOPT or XSAVEC
 * into area XS_B, on the host and in the engine: the registers, flags
 * and both areas must agree (XINUSE as xs_reconcile() allows).  The
 * host's XCR0 has more than x87 and SSE, so the masks stay within
 * them; XSAVES/XRSTORS are CPL 0 only (the directed tests below).
 */
static void
test_xsave(void)
{
	static const uint8_t save_modrm[] = { 0xa3, 0xb3, 0xa3 }; /* /4 /6 /4 */
	int bad = 0, total = 0, kinds[3] = { 0 };

	if (guest == NULL)
		guest_setup();
	for (int k = 0; k < 6000 && bad < 10; k++) {
		int kind = (int)(rnd() % 3); /* XSAVE XSAVEOPT XSAVEC */
		struct state s0, nat, emu;
		uint8_t m0[MEM_SIZE], code[32], x;
		uint32_t disp = XS_B;
		char err[400];
		size_t n = 0;
		int vec;

		rnd_state(&s0, true);
		if (rnd() % 4 == 0) /* the prologue's state: SSE init */
			memset(s0.fx + 160, 0, 256);
		s0.gpr[0] = (rnd() << 32) | (rnd() & 3);
		s0.gpr[2] = rnd() << 32;
		rnd_vec(m0, MEM_SIZE);
		xs_image(m0);
		x = (uint8_t)(rnd() & 3);
		/* xrstor[64] [rbx]; xor eax, x; save [rbx + XS_B] */
		if (rnd() % 2)
			code[n++] = 0x48;
		n = emit(code, n, "0fae2b");
		code[n++] = 0x83;
		code[n++] = 0xf0;
		code[n++] = x;
		if (rnd() % 2)
			code[n++] = 0x48;
		code[n++] = 0x0f;
		code[n++] = kind == 2 ? 0xc7 : 0xae;
		code[n++] = save_modrm[kind];
		memcpy(code + n, &disp, 4);
		n += 4;
		nat = s0;
		nat.gpr[3] = (uint64_t)(uintptr_t)natmem;
		memcpy(natmem, m0, MEM_SIZE);
		native_run(&nat, code, n);
		cpu_reset();
		xsave_on();
		emu = s0;
		emu.gpr[3] = G_DATA;
		state_to_cpu(&emu);
		memcpy(guest + G_DATA, m0, MEM_SIZE);
		total++;
		kinds[kind]++;
		vec = interp_run_code(code, n, err, sizeof(err));
		if (vec != -1) {
			printf("\n  xsave case %d: %s (vector %d)", k,
			       vec == -2 ? err : "fault", vec);
			bad++;
			continue;
		}
		cpu_to_state(&emu);
		/* FOP, FIP, FCS, FDP, FDS are the host's (the engine keeps
		 * no FCS/FDS, see test_x87); MXCSR_MASK is the host's where
		 * both wrote it. */
		memcpy(natmem + XS_B + 6, guest + G_DATA + XS_B + 6, 18);
		if (memcmp(natmem + XS_B + 28, m0 + XS_B + 28, 4) != 0)
			memcpy(natmem + XS_B + 28, guest + G_DATA + XS_B + 28,
			       4);
		if (!xs_reconcile(natmem + XS_B, guest + G_DATA + XS_B,
				  (s0.gpr[0] ^ x) & 3)) {
			printf(
			    "\n  xsave case %d: XSTATE_BV %llx vs %llx", k,
			    (unsigned long long)get64(natmem + XS_B + XS_HDR),
			    (unsigned long long)get64(guest + G_DATA + XS_B +
						      XS_HDR));
			bad++;
			continue;
		}
		if (!compare("xrstor/xsave", code, n, &nat, &emu, natmem,
			     guest + G_DATA))
			bad++;
	}
	printf("\n  %d cases (xsave %d, xsaveopt %d, xsavec %d), %d "
	       "differences\n",
	       total, kinds[0], kinds[1], kinds[2], bad);
	CU_ASSERT_EQUAL(bad, 0);
}

static void
set_xsave(void)
{
	xsave_on();
	cpu->gpr[0] = 3;
	cpu->gpr[2] = 0;
	memset(guest + G_DATA, 0, MEM_SIZE);
	guest[G_DATA + 24] = 0x80;
	guest[G_DATA + 25] = 0x1f;
}

static void
set_xsave_ts(void)
{
	set_xsave();
	cpu->cr0 |= CR0_TS;
}

static void
set_xsave_misaligned(void)
{
	set_xsave();
	cpu->gpr[3] = G_DATA + 16;
}

/*
 * A directed case: 'hex' after set_xsave() with EAX 'eax', ECX 'ecx' and
 * up to three bytes of the area at G_DATA changed (offset, value; offset
 * 0 ends), then the vector expected (-1: none).
 */
struct xs_case {
	const char *hex;
	uint32_t eax, ecx;
	uint16_t off[3];
	uint8_t val[3];
	int vec;
};

static const struct xs_case *xs_cur;

static void
set_xs_case(void)
{
	set_xsave();
	cpu->gpr[0] = xs_cur->eax;
	cpu->gpr[1] = xs_cur->ecx;
	for (int i = 0; i < 3 && xs_cur->off[i] != 0; i++)
		guest[G_DATA + xs_cur->off[i]] = xs_cur->val[i];
}

#define HDR(i) (XS_HDR + (i))
#define COMPACT                                                                \
	{ HDR(0), HDR(8), HDR(15) },                                           \
	{                                                                      \
		3, 3, 0x80                                                     \
	}

static const struct xs_case xs_cases[] = {
	/* XRSTOR [rbx], standard form: header bytes 8-23 must be 0 (24-63
	 * are ignored), XSTATE_BV within XCR0. */
	{ "0fae2b", 3, 0, { 0 }, { 0 }, -1 },
	{ "0fae2b", 3, 0, { HDR(16) }, { 1 }, 13 },
	{ "0fae2b", 3, 0, { HDR(30) }, { 1 }, -1 },
	{ "0fae2b", 3, 0, { HDR(0) }, { 4 }, 13 },
	/* compacted: bytes 16-63 0, XCOMP_BV within XCR0, XSTATE_BV
	 * within XCOMP_BV */
	{ "0fae2b", 3, 0, COMPACT, -1 },
	{ "0fae2b", 3, 0, { HDR(8), HDR(15), HDR(30) }, { 3, 0x80, 1 }, 13 },
	{ "0fae2b", 3, 0, { HDR(0), HDR(8), HDR(15) }, { 3, 1, 0x80 }, 13 },
	{ "0fae2b", 3, 0, { HDR(0), HDR(8), HDR(15) }, { 3, 7, 0x80 }, 13 },
	/* MXCSR with a reserved bit: #GP where SSE is requested */
	{ "0fae2b", 3, 0, { 26 }, { 1 }, 13 },
	{ "0fae2b", 1, 0, { 26 }, { 1 }, -1 },
	/* XRSTORS: compacted form only */
	{ "0fc71b", 3, 0, { 0 }, { 0 }, 13 },
	{ "0fc71b", 3, 0, COMPACT, -1 },
	/* XSETBV: x87 always, nothing but x87 and SSE, XCR0 only */
	{ "0f01d1", 0, 0, { 0 }, { 0 }, 13 },
	{ "0f01d1", 7, 0, { 0 }, { 0 }, 13 },
	{ "0f01d1", 3, 1, { 0 }, { 0 }, 13 },
	{ "0f01d1", 1, 0, { 0 }, { 0 }, -1 },
};

static void
set_xmm1(void)
{
	union interp_xmm v = { .d = { 1, 0, 0, 0 } };

	xsave_on();
	cpu->gpr[1] = 1;
	interp_xmm_set(cpu, 1, &v);
}

static void
set_xmm1_rfbm(void)
{
	set_xmm1();
	cpu->gpr[0] = 3;
}

static void
set_xgetbv1(void)
{
	xsave_on();
	cpu->gpr[1] = 1;
}

/*
 * The XSAVE feature set's checks (SDM vol. 1 13.7-13.12 and the
 * instructions' exception tables; the header rules also checked on the
 * host by hand: standard form header bytes 8-23, compacted 16-63),
 * XSETBV/XGETBV, and what the host cannot run here: XSAVES and XRSTORS
 * (CPL 0), XCR0 with x87 only.
 */
static void
test_xsave_checks(void)
{
	uint8_t a[576], b[576];

	if (guest == NULL)
		guest_setup();
	/* XSAVE [rbx]: no OSXSAVE #UD, TS #NM, misaligned #GP. */
	CU_ASSERT_EQUAL(run_hex("0fae23", NULL), 6);
	CU_ASSERT_EQUAL(run_hex("0fae23", set_xsave), -1);
	CU_ASSERT_EQUAL(run_hex("0fae23", set_xsave_ts), 7);
	CU_ASSERT_EQUAL(run_hex("0fae23", set_xsave_misaligned), 13);
	CU_ASSERT_EQUAL(run_hex("0fc723", set_xsave_misaligned), 13);
	/* XRSTOR [rbx]: the header. */
	CU_ASSERT_EQUAL(run_hex("0fae2b", set_xsave_misaligned), 13);
	for (size_t i = 0; i < sizeof(xs_cases) / sizeof(xs_cases[0]); i++) {
		xs_cur = &xs_cases[i];
		if (run_hex(xs_cur->hex, set_xs_case) != xs_cur->vec) {
			printf("\n  xsave directed case %zu: not vector %d", i,
			       xs_cur->vec);
			CU_FAIL("xsave directed case");
		}
	}
	CU_ASSERT_EQUAL(cpu->xcr0, 1);
	CU_ASSERT_EQUAL(run_hex("0f01d1", NULL), 6);
	/* XGETBV 1: XCR0 & XINUSE. */
	CU_ASSERT_EQUAL(run_hex("0f01d0", set_xgetbv1), -1);
	CU_ASSERT_EQUAL(cpu->gpr[0], 0);
	CU_ASSERT_EQUAL(run_hex("0f01d0", set_xmm1), -1);
	CU_ASSERT_EQUAL(cpu->gpr[0], 2);
	/* XSAVES = XSAVEC here (no supervisor state): the same area. */
	CU_ASSERT_EQUAL(run_hex("0fc723", set_xmm1_rfbm), -1); /* xsavec */
	memcpy(a, guest + G_DATA, sizeof(a));
	memset(guest + G_DATA, 0, sizeof(b));
	CU_ASSERT_EQUAL(run_hex("0fc72b", set_xmm1_rfbm), -1); /* xsaves */
	memcpy(b, guest + G_DATA, sizeof(b));
	CU_ASSERT_EQUAL(memcmp(a + 24, b + 24, 576 - 24), 0);
	CU_ASSERT_EQUAL(get64(b + XS_HDR), 2); /* SSE in use, x87 not */
	CU_ASSERT_EQUAL(get64(b + XS_HDR + 8), (1ULL << 63) | 3);
	CU_ASSERT_EQUAL(b[160 + 16], 1); /* XMM1 */
	/* XRSTORS of it: XMM1 back, x87 init. */
	cpu_reset();
	xsave_on();
	cpu->gpr[0] = 3;
	cpu->gpr[3] = G_DATA;
	cpu->fpu.fcw = 0x27f;
	memcpy(guest + G_DATA, b, sizeof(b));
	{
		char err[400];
		uint8_t code[] = { 0x0f, 0xc7, 0x1b };

		CU_ASSERT_EQUAL(
		    interp_run_code(code, sizeof(code), err, sizeof(err)), -1);
	}
	CU_ASSERT_EQUAL(cpu->fpu.fcw, 0x37f);
	CU_ASSERT_EQUAL(cpu->fpu.xmm[1][0], 1);
}

static CU_TestInfo fpu_tests[] = {
	{ "every form vs the host, random operands", test_forms },
	{ "x87 vs the host, random opcodes and operands", test_x87 },
	{ "CR0/CR4 checks, #NM, #MF", test_checks },
	{ "#XM, #UD, alignment", test_exceptions },
	{ "XRSTOR then XSAVE/XSAVEOPT/XSAVEC vs the host", test_xsave },
	{ "XSAVE family checks, XSETBV/XGETBV, XSAVES/XRSTORS",
	  test_xsave_checks },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "interp_fpu", fpu_tests },
	{ NULL, NULL },
};
