/*
 * x87 instructions for the interp engine: loads and stores (FLD FST
 * FSTP FILD FIST FISTP FISTTP FBLD FBSTP), arithmetic, compares
 * (also into EFLAGS), FXCH, FCMOVcc, constants, FSQRT, FRNDINT, FSCALE,
 * FPREM/FPREM1, FXTRACT, the transcendental instructions, FFREE,
 * FINCSTP/FDECSTP, FNOP.
 *
 * They are executed by the host's x87 unit itself: the guest's x87
 * state is loaded into the host (FXRSTOR), the same opcode and ModRM
 * run (register forms as they are, memory forms on a host buffer at
 * [rsi] that holds the guest's operand), and the state comes back
 * (FXSAVE) -- stack overflow and underflow, tags, C0-C3, the masked
 * responses, the precision and rounding control, the "unmasked
 * exception pending" states, transcendental results: all the host
 * CPU's, as if the guest ran there.  The host's own x87/SSE state is
 * saved around it and no exception is ever taken on the host (the
 * instruction is not a waiting one for a pending exception: the engine
 * has already raised #MF for that, and nothing waits after it).
 *
 * FIP, FDP and FOP are the engine's: the guest's instruction address,
 * operand offset and opcode.
 */
#include <stddef.h>

#include "interp.h"

/*
 * The snippets: for each x87 opcode D8-DF, its 8 memory forms with
 * ModRM [rsi] and its 64 register forms, each "opcode modrm; ret; int3".
 */
__asm__(".pushsection .text\n"
	".balign 16\n"
	".type interp_x87_snippets, @function\n"
	"interp_x87_snippets:\n"
	".irp op, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	".irp r, 0, 1, 2, 3, 4, 5, 6, 7\n"
	".byte \\op, (\\r << 3) | 6, 0xc3, 0xcc\n"
	".endr\n"
	".irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, "
	"16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, "
	"32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, "
	"48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63\n"
	".byte \\op, 0xc0 | \\r, 0xc3, 0xcc\n"
	".endr\n"
	".endr\n"
	".size interp_x87_snippets, . - interp_x87_snippets\n"
	".popsection\n");

extern const uint8_t interp_x87_snippets[];

#define FSW_ES 0x0080u

/* The host's run of one snippet. */
struct x87_run {
	uint8_t host[512] __attribute__((aligned(16))); /* host's state */
	uint8_t img[512] __attribute__((aligned(16)));  /* guest's x87 */
	uint8_t buf[16];                                /* [rsi] */
	uint64_t rflags;                                /* in and out */
};

_Static_assert(offsetof(struct x87_run, img) == 512 &&
		   offsetof(struct x87_run, buf) == 1024 &&
		   offsetof(struct x87_run, rflags) == 1040,
	       "x87_host_run's offsets");

static void
x87_host_run(struct x87_run *r, const uint8_t *snippet)
{
	/* Below the red zone: the snippet is called. */
	__asm__ volatile("fxsave64 (%[r])\n\t"
			 "fxrstor64 512(%[r])\n\t"
			 "sub $128, %%rsp\n\t"
			 "pushq 1040(%[r])\n\t"
			 "popfq\n\t"
			 "call *%[s]\n\t"
			 "pushfq\n\t"
			 "popq 1040(%[r])\n\t"
			 "add $128, %%rsp\n\t"
			 "fxsave64 512(%[r])\n\t"
			 "fxrstor64 (%[r])\n\t"
			 :
			 : [r] "r"(r), [s] "r"(snippet), "S"(r->buf)
			 : "memory", "cc");
}

/* The guest's x87 state <-> an FXSAVE64 image (the host's MXCSR and
 * XMM registers stay as they were in it). */
static void
fpu_to_img(const struct interp_cpu *c, uint8_t *img)
{
	memcpy(img, &c->fpu.fcw, 2);
	memcpy(img + 2, &c->fpu.fsw, 2);
	img[4] = c->fpu.ftw;
	img[5] = 0;
	memset(img + 6, 0, 18); /* FOP FIP FDP: the engine's */
	for (int i = 0; i < 8; i++) {
		memcpy(img + 32 + 16 * i, c->fpu.st[i], 10);
		memset(img + 42 + 16 * i, 0, 6);
	}
}

static void
img_to_fpu(struct interp_cpu *c, const uint8_t *img)
{
	memcpy(&c->fpu.fcw, img, 2);
	memcpy(&c->fpu.fsw, img + 2, 2);
	c->fpu.ftw = img[4];
	for (int i = 0; i < 8; i++) {
		memcpy(c->fpu.st[i], img + 32 + 16 * i, 10);
		memset(c->fpu.st[i] + 10, 0, 6);
	}
}

/* Stores to memory: FST FSTP FIST FISTP FISTTP FBSTP. */
static bool
x87_stores(unsigned int mnem)
{
	switch (mnem) {
	case X86_M_FST:
	case X86_M_FSTP:
	case X86_M_FIST:
	case X86_M_FISTP:
	case X86_M_FISTTP:
	case X86_M_FBSTP:
		return true;
	default:
		return false;
	}
}

/* Instructions that read EFLAGS (FCMOVcc) or write them (FCOMI...). */
#define X87_EFLAGS (PSL_C | INTERP_PSL_P | PSL_Z)

static int
op_x87(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = NULL;
	struct x87_run r;
	unsigned int idx, op = insn->opcode - 0xd8, size = 0;
	bool store = x87_stores(insn->mnem), written = true;
	uint64_t ea = 0;
	int rc;

	if ((rc = interp_x87_check(c, true)) != INTERP_OK)
		return rc;
	if (insn->map != X86_MAP_X87 || !insn->has_modrm)
		return interp_ud(c);
	for (int i = 0; i < insn->nops; i++)
		if (insn->ops[i].type == X86_OPND_MEM)
			m = &insn->ops[i];
	memset(r.buf, 0, sizeof(r.buf));
	if (m != NULL) {
		size = m->size;
		if (size > sizeof(r.buf))
			return interp_error(c, "x87 %u-byte operand", size);
		ea = interp_ea(c, insn, m);
		if (!store &&
		    (rc = interp_mem_read(
			 c, m->seg, ea, insn->addrsize, r.buf, size,
			 m->seg == X86_R_SS ? X86_MEM_READ | X86_MEM_STACK
					    : X86_MEM_READ)) != INTERP_OK)
			return rc;
		idx = op * 72 + ((insn->modrm >> 3) & 7);
	} else {
		idx = op * 72 + 8 + (insn->modrm & 63);
	}
	memset(r.img, 0, sizeof(r.img));
	fpu_to_img(c, r.img);
	/* The host's MXCSR in the image: FXRSTOR checks it. */
	{
		uint32_t mx;

		__asm__ volatile("stmxcsr %0" : "=m"(mx));
		memcpy(r.img + 24, &mx, 4);
	}
	r.rflags = (interp_rflags(c) & X87_EFLAGS) | PSL_1;
	x87_host_run(&r, interp_x87_snippets + 4 * idx);
	if (store && m != NULL) {
		/* A store an unmasked exception suppressed leaves memory
		 * alone: run again over other bytes to tell. */
		struct x87_run r2 = r;
		uint8_t first[16];

		memcpy(first, r.buf, sizeof(first));
		fpu_to_img(c, r2.img);
		memset(r2.buf, 0xa5, sizeof(r2.buf));
		r2.rflags = (interp_rflags(c) & X87_EFLAGS) | PSL_1;
		x87_host_run(&r2, interp_x87_snippets + 4 * idx);
		written = memcmp(first, r2.buf, size) == 0;
		if (written &&
		    (rc = interp_mem_write(
			 c, m->seg, ea, insn->addrsize, first, size,
			 m->seg == X86_R_SS ? X86_MEM_WRITE | X86_MEM_STACK
					    : X86_MEM_WRITE)) != INTERP_OK)
			return rc;
	}
	img_to_fpu(c, r.img);
	/* FOP: the opcode's low 3 bits and ModRM; FIP/FDP the guest's. */
	c->fpu.fop = (uint16_t)((insn->opcode & 7) << 8 | insn->modrm);
	c->fpu.fip = c->rip;
	if (m != NULL)
		c->fpu.fdp = ea;
	if (insn->mnem == X86_M_FCOMI || insn->mnem == X86_M_FCOMIP ||
	    insn->mnem == X86_M_FUCOMI || insn->mnem == X86_M_FUCOMIP)
		interp_set_flags(c, INTERP_ARITH_FLAGS, r.rflags & X87_EFLAGS);
	return INTERP_OK;
}

/* FENI, FDISI, FSETPM: 8087/80287 leftovers, no-ops since the 80387. */
static int
op_x87_nop(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	return interp_x87_check(c, false);
}

const struct interp_op interp_ops_x87[] = {
	{ X86_M_FLD, op_x87 },
	{ X86_M_FST, op_x87 },
	{ X86_M_FSTP, op_x87 },
	{ X86_M_FSTPNCE, op_x87 },
	{ X86_M_FILD, op_x87 },
	{ X86_M_FIST, op_x87 },
	{ X86_M_FISTP, op_x87 },
	{ X86_M_FISTTP, op_x87 },
	{ X86_M_FBLD, op_x87 },
	{ X86_M_FBSTP, op_x87 },
	{ X86_M_FXCH, op_x87 },
	{ X86_M_FADD, op_x87 },
	{ X86_M_FADDP, op_x87 },
	{ X86_M_FIADD, op_x87 },
	{ X86_M_FSUB, op_x87 },
	{ X86_M_FSUBP, op_x87 },
	{ X86_M_FISUB, op_x87 },
	{ X86_M_FSUBR, op_x87 },
	{ X86_M_FSUBRP, op_x87 },
	{ X86_M_FISUBR, op_x87 },
	{ X86_M_FMUL, op_x87 },
	{ X86_M_FMULP, op_x87 },
	{ X86_M_FIMUL, op_x87 },
	{ X86_M_FDIV, op_x87 },
	{ X86_M_FDIVP, op_x87 },
	{ X86_M_FIDIV, op_x87 },
	{ X86_M_FDIVR, op_x87 },
	{ X86_M_FDIVRP, op_x87 },
	{ X86_M_FIDIVR, op_x87 },
	{ X86_M_FCOM, op_x87 },
	{ X86_M_FCOMP, op_x87 },
	{ X86_M_FCOMPP, op_x87 },
	{ X86_M_FICOM, op_x87 },
	{ X86_M_FICOMP, op_x87 },
	{ X86_M_FUCOM, op_x87 },
	{ X86_M_FUCOMP, op_x87 },
	{ X86_M_FUCOMPP, op_x87 },
	{ X86_M_FCOMI, op_x87 },
	{ X86_M_FCOMIP, op_x87 },
	{ X86_M_FUCOMI, op_x87 },
	{ X86_M_FUCOMIP, op_x87 },
	{ X86_M_FCHS, op_x87 },
	{ X86_M_FABS, op_x87 },
	{ X86_M_FTST, op_x87 },
	{ X86_M_FXAM, op_x87 },
	{ X86_M_FLD1, op_x87 },
	{ X86_M_FLDL2T, op_x87 },
	{ X86_M_FLDL2E, op_x87 },
	{ X86_M_FLDPI, op_x87 },
	{ X86_M_FLDLG2, op_x87 },
	{ X86_M_FLDLN2, op_x87 },
	{ X86_M_FLDZ, op_x87 },
	{ X86_M_F2XM1, op_x87 },
	{ X86_M_FYL2X, op_x87 },
	{ X86_M_FPTAN, op_x87 },
	{ X86_M_FPATAN, op_x87 },
	{ X86_M_FXTRACT, op_x87 },
	{ X86_M_FPREM1, op_x87 },
	{ X86_M_FDECSTP, op_x87 },
	{ X86_M_FINCSTP, op_x87 },
	{ X86_M_FPREM, op_x87 },
	{ X86_M_FYL2XP1, op_x87 },
	{ X86_M_FSQRT, op_x87 },
	{ X86_M_FSINCOS, op_x87 },
	{ X86_M_FRNDINT, op_x87 },
	{ X86_M_FSCALE, op_x87 },
	{ X86_M_FSIN, op_x87 },
	{ X86_M_FCOS, op_x87 },
	{ X86_M_FCMOVB, op_x87 },
	{ X86_M_FCMOVE, op_x87 },
	{ X86_M_FCMOVBE, op_x87 },
	{ X86_M_FCMOVU, op_x87 },
	{ X86_M_FCMOVNB, op_x87 },
	{ X86_M_FCMOVNE, op_x87 },
	{ X86_M_FCMOVNBE, op_x87 },
	{ X86_M_FCMOVNU, op_x87 },
	{ X86_M_FFREE, op_x87 },
	{ X86_M_FFREEP, op_x87 },
	{ X86_M_FNOP, op_x87 },
	{ X86_M_FENI8087_NOP, op_x87_nop },
	{ X86_M_FDISI8087_NOP, op_x87_nop },
	{ X86_M_FSETPM, op_x87_nop },
	{ 0, NULL },
};
