/*
 * The x87, MMX and SSE state of the interp engine: the CR0/CR4 checks
 * every such instruction makes first, MMX registers inside the x87
 * stack, SIMD operands, the host SSE unit as the guest's (MXCSR), and
 * the state instructions: FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, FNINIT,
 * FNSTCW/FLDCW, FNSTSW, FNCLEX, FWAIT, EMMS.
 *
 * The state is c->fpu, struct vm_fpu in FXSAVE's layout, what
 * vm_get_fpu(), checkpoints and the gdb stub see; nothing is cached
 * beside it.
 */
#include "interp.h"

#define FSW_ES  0x0080u /* error summary */
#define FSW_B   0x8000u /* busy: mirrors ES */
#define FSW_EXC 0x003fu /* IE DE ZE OE UE PE */
#define FSW_SF  0x0040u /* stack fault */

#define VEC_NM  7
#define VEC_MF  16
#define VEC_XM  19

int
interp_sse_check(struct interp_cpu *c)
{
	/* EM or no OSFXSR: #UD, then TS: #NM (SDM vol. 2, "SIMD
	 * floating-point exceptions" and the #UD conditions of each SSE
	 * instruction). */
	if ((c->cr0 & CR0_EM) || !(c->cr4 & CR4_OSFXSR))
		return interp_ud(c);
	if (c->cr0 & CR0_TS)
		return interp_raise(c, VEC_NM, false, 0);
	return INTERP_OK;
}

int
interp_mmx_check(struct interp_cpu *c)
{
	if (c->cr0 & CR0_EM)
		return interp_ud(c);
	if (c->cr0 & CR0_TS)
		return interp_raise(c, VEC_NM, false, 0);
	if (c->fpu.fsw & FSW_ES)
		return interp_raise(c, VEC_MF, false, 0);
	return INTERP_OK;
}

int
interp_x87_check(struct interp_cpu *c, bool waiting)
{
	if (c->cr0 & (CR0_EM | CR0_TS))
		return interp_raise(c, VEC_NM, false, 0);
	if (waiting && (c->fpu.fsw & FSW_ES))
		return interp_raise(c, VEC_MF, false, 0);
	return INTERP_OK;
}

void
interp_fpu_set_top(struct interp_cpu *c, unsigned int top)
{
	unsigned int old = interp_fpu_top(c);
	uint8_t phys[8][16];

	if (old == (top & 7))
		return;
	/* st[] is relative to TOP: physical register p is st[(p - TOP) & 7]. */
	for (unsigned int i = 0; i < 8; i++)
		memcpy(phys[(old + i) & 7], c->fpu.st[i], 16);
	for (unsigned int i = 0; i < 8; i++)
		memcpy(c->fpu.st[i], phys[(top + i) & 7], 16);
	c->fpu.fsw = (uint16_t)((c->fpu.fsw & ~0x3800u) | ((top & 7) << 11));
}

void
interp_mmx_enter(struct interp_cpu *c)
{
	interp_fpu_set_top(c, 0);
	c->fpu.ftw = 0xff;
}

uint64_t
interp_mmx_get(const struct interp_cpu *c, unsigned int reg)
{
	uint64_t v;

	/* MMi is physical register i, wherever TOP is now. */
	memcpy(&v, c->fpu.st[(reg - X86_R_MM0 - interp_fpu_top(c)) & 7], 8);
	return v;
}

void
interp_mmx_set(struct interp_cpu *c, unsigned int reg, uint64_t val)
{
	uint8_t *st = c->fpu.st[(reg - X86_R_MM0 - interp_fpu_top(c)) & 7];

	/* An MMX write sets the exponent to all ones (a NaN as x87 sees it). */
	memcpy(st, &val, 8);
	st[8] = st[9] = 0xff;
}

/* ---- operands ------------------------------------------------------- */

int
interp_simd_access(const struct x86_operand *op, int type)
{
	return op->seg == X86_R_SS ? (type | X86_MEM_STACK) : type;
}

int
interp_simd_align(struct interp_cpu *c, const struct x86_instr *insn, int i,
		  unsigned int align)
{
	const struct x86_operand *op = &insn->ops[i];
	uint64_t lin = interp_ea(c, insn, op);

	if (interp_code_mode(c) != X86_MODE_64 || op->seg >= X86_R_FS)
		lin += c->seg[op->seg - X86_R_ES].desc.base;
	if (lin & (align - 1))
		return interp_gp0(c);
	return INTERP_OK;
}

/* Legacy SSE: a 16-byte memory operand must be aligned but for these. */
static bool
simd_unaligned_ok(unsigned int mnem)
{
	switch (mnem) {
	case X86_M_MOVUPS:
	case X86_M_MOVUPD:
	case X86_M_MOVDQU:
	case X86_M_LDDQU:
	case X86_M_PCMPESTRI:
	case X86_M_PCMPESTRM:
	case X86_M_PCMPISTRI:
	case X86_M_PCMPISTRM:
		return true;
	default:
		return false;
	}
}

/* A 16-byte memory operand's alignment. */
static int
simd_mem_check(struct interp_cpu *c, const struct x86_instr *insn, int i)
{
	if (insn->ops[i].size == 16 && !simd_unaligned_ok(insn->mnem))
		return interp_simd_align(c, insn, i, 16);
	return INTERP_OK;
}

int
interp_simd_read(struct interp_cpu *c, const struct x86_instr *insn, int i,
		 union interp_xmm *v)
{
	const struct x86_operand *op = &insn->ops[i];
	int rc;

	memset(v, 0, sizeof(*v));
	switch (op->type) {
	case X86_OPND_REG:
		switch (x86_reg_class(op->reg)) {
		case X86_RC_XMM:
			interp_xmm_get(c, op->reg - X86_R_XMM0, v);
			break;
		case X86_RC_MMX:
			v->q[0] = interp_mmx_get(c, op->reg);
			break;
		default:
			v->q[0] = interp_reg_read(c, op->reg);
			break;
		}
		return INTERP_OK;
	case X86_OPND_MEM:
		if (op->size > 16)
			return interp_error(c, "%s: %u-byte SIMD operand",
					    x86_mnem_name(insn->mnem),
					    op->size);
		if ((rc = simd_mem_check(c, insn, i)) != INTERP_OK)
			return rc;
		return interp_mem_read(c, op->seg, interp_ea(c, insn, op),
				       insn->addrsize, v, op->size,
				       interp_simd_access(op, X86_MEM_READ));
	case X86_OPND_IMM:
		v->q[0] = (uint64_t)op->imm;
		return INTERP_OK;
	default:
		return interp_error(c, "operand %d of %s is missing", i,
				    x86_mnem_name(insn->mnem));
	}
}

int
interp_simd_write(struct interp_cpu *c, const struct x86_instr *insn, int i,
		  const union interp_xmm *v)
{
	const struct x86_operand *op = &insn->ops[i];
	int rc;

	switch (op->type) {
	case X86_OPND_REG:
		switch (x86_reg_class(op->reg)) {
		case X86_RC_XMM:
			interp_xmm_set(c, op->reg - X86_R_XMM0, v);
			return INTERP_OK;
		case X86_RC_MMX:
			interp_mmx_set(c, op->reg, v->q[0]);
			return INTERP_OK;
		case X86_RC_GPR8:
		case X86_RC_GPR16:
		case X86_RC_GPR32:
		case X86_RC_GPR64:
			interp_reg_write(c, op->reg, v->q[0]);
			return INTERP_OK;
		default:
			break;
		}
		break;
	case X86_OPND_MEM:
		if (op->size > 16)
			break;
		if ((rc = simd_mem_check(c, insn, i)) != INTERP_OK)
			return rc;
		return interp_mem_write(c, op->seg, interp_ea(c, insn, op),
					insn->addrsize, v, op->size,
					interp_simd_access(op, X86_MEM_WRITE));
	default:
		break;
	}
	return interp_error(c, "%s writes a bad operand %d",
			    x86_mnem_name(insn->mnem), i);
}

/* ---- the host's SSE unit -------------------------------------------- */

static inline uint32_t
host_stmxcsr(void)
{
	uint32_t m;

	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

static inline void
host_ldmxcsr(uint32_t m)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(m));
}

uint32_t
interp_sse_fp_begin(const struct interp_cpu *c)
{
	uint32_t host = host_stmxcsr();

	host_ldmxcsr((c->fpu.mxcsr &
		      (INTERP_MXCSR_DAZ | INTERP_MXCSR_RC | INTERP_MXCSR_FZ)) |
		     INTERP_MXCSR_MASKS);
	return host;
}

int
interp_sse_fp_end(struct interp_cpu *c, uint32_t host_mxcsr)
{
	uint32_t flags = host_stmxcsr() & INTERP_MXCSR_FLAGS;
	uint32_t unmasked = flags & ~(c->fpu.mxcsr >> 7);
	/* Invalid, denormal and divide-by-zero are found before the
	 * operation; when one of them is unmasked the CPU does not go on
	 * to find overflow, underflow or precision (SDM vol. 1 11.5.2). */
	uint32_t pre = flags & 0x7;

	host_ldmxcsr(host_mxcsr);
	if (unmasked == 0) {
		c->fpu.mxcsr |= flags;
		return INTERP_OK;
	}
	c->fpu.mxcsr |= (unmasked & pre) ? pre : flags;
	if (!(c->cr4 & CR4_OSXMMEXCPT))
		return interp_ud(c);
	return interp_raise(c, VEC_XM, false, 0);
}

/* ---- state instructions --------------------------------------------- */

/* FSW.ES and B: whether an exception is pending unmasked. */
void
interp_fpu_update_es(struct interp_cpu *c)
{
	uint16_t fsw = c->fpu.fsw & ~(FSW_ES | FSW_B);

	if (fsw & FSW_EXC & ~c->fpu.fcw)
		fsw |= FSW_ES | FSW_B;
	c->fpu.fsw = fsw;
}

static void
put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* FXSAVE and FXRSTOR's checks: a memory operand (else #UD), EM or TS
 * #NM (OSFXSR is not needed), the image aligned (#GP(0)). */
static int
fx_check(struct interp_cpu *c, const struct x86_instr *insn, unsigned int align)
{
	if (insn->ops[0].type != X86_OPND_MEM)
		return interp_ud(c);
	if (c->cr0 & (CR0_EM | CR0_TS))
		return interp_raise(c, VEC_NM, false, 0);
	return interp_simd_align(c, insn, 0, align);
}

/* Copy n bytes between the image and the state, 'save' says which way. */
static void
fx_xfer(uint8_t *img, void *state, size_t n, bool save)
{
	if (save)
		memcpy(img, state, n);
	else
		memcpy(state, img, n);
}

/*
 * The x87 part of FXSAVE's image (bytes 0-23 but MXCSR, and the
 * registers at 32-159), 'save' into a zeroed image or restore from it:
 * the 64-bit format with REX.W (64-bit FIP/FDP), else 32-bit offsets
 * with FCS/FDS, which rhyve does not keep (stored 0, as CPUs that
 * deprecate them do).  XSAVE's x87 component is the same
 * (interp_xsave.c).
 */
void
interp_fx_x87(struct interp_cpu *c, uint8_t *img, bool rexw, bool save)
{
	size_t ptr = rexw ? 8 : 4;

	if (!save) {
		c->fpu.fip = c->fpu.fdp = 0;
		memset(c->fpu.st, 0, sizeof(c->fpu.st));
	}
	fx_xfer(img, &c->fpu.fcw, 2, save);
	fx_xfer(img + 2, &c->fpu.fsw, 2, save);
	fx_xfer(img + 4, &c->fpu.ftw, 1, save);
	fx_xfer(img + 6, &c->fpu.fop, 2, save);
	fx_xfer(img + 8, &c->fpu.fip, ptr, save);
	fx_xfer(img + 16, &c->fpu.fdp, ptr, save);
	for (int i = 0; i < 8; i++)
		fx_xfer(img + 32 + 16 * i, c->fpu.st[i], 10, save);
	if (save)
		return;
	/* As FLDCW: bit 6 reads 1, 7 and 13-15 read 0; ES and B follow
	 * from the flags and masks loaded. */
	c->fpu.fcw = (uint16_t)((c->fpu.fcw & 0x1f3f) | 0x40);
	interp_fpu_update_es(c);
	c->fpu.fop &= 0x7ff;
}

/* FXSAVE / FXRSTOR: the image is 512 bytes of which the CPU uses the
 * first 416 (288 outside 64-bit mode: XMM8-15 exist there only). */
static int
op_fx(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = &insn->ops[0];
	bool save = insn->mnem == X86_M_FXSAVE || insn->mnem == X86_M_FXSAVE64;
	size_t nxmm = interp_code_mode(c) == X86_MODE_64 ? 16 : 8;
	uint64_t ea = interp_ea(c, insn, m);
	uint8_t img[416];
	uint32_t mxcsr;
	int rc;

	if ((rc = fx_check(c, insn, 16)) != INTERP_OK)
		return rc;
	if (save) {
		memset(img, 0, sizeof(img));
		interp_fx_x87(c, img, insn->opsize == 8, true);
		put32(img + 24, c->fpu.mxcsr);
		put32(img + 28, interp_mxcsr_mask(c));
		memcpy(img + 160, c->fpu.xmm, nxmm * 16);
		return interp_mem_write(c, m->seg, ea, insn->addrsize, img,
					160 + nxmm * 16,
					interp_simd_access(m, X86_MEM_WRITE));
	}
	rc =
	    interp_mem_read(c, m->seg, ea, insn->addrsize, img, 160 + nxmm * 16,
			    interp_simd_access(m, X86_MEM_READ));
	if (rc != INTERP_OK)
		return rc;
	mxcsr = get32(img + 24);
	if (mxcsr & ~interp_mxcsr_mask(c))
		return interp_gp0(c);
	interp_fx_x87(c, img, insn->opsize == 8, false);
	c->fpu.mxcsr = mxcsr;
	memcpy(c->fpu.xmm, img + 160, nxmm * 16);
	return INTERP_OK;
}

static int
op_ldmxcsr(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v;
	int rc;

	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_opnd_read(c, insn, 0, &v)) != INTERP_OK)
		return rc;
	if (v & ~(uint64_t)interp_mxcsr_mask(c))
		return interp_gp0(c);
	c->fpu.mxcsr = (uint32_t)v;
	return INTERP_OK;
}

static int
op_stmxcsr(struct interp_cpu *c, const struct x86_instr *insn)
{
	int rc;

	if ((rc = interp_sse_check(c)) != INTERP_OK)
		return rc;
	return interp_opnd_write(c, insn, 0, c->fpu.mxcsr);
}

/* What FNINIT does (FNSAVE too, after storing). */
static void
fpu_init(struct interp_cpu *c)
{
	/* The registers keep their contents; TOP = 0 without rotating
	 * them is what FNINIT does to the physical stack, so rotate. */
	interp_fpu_set_top(c, 0);
	c->fpu.fcw = 0x37f;
	c->fpu.fsw = 0;
	c->fpu.ftw = 0;
	c->fpu.fop = 0;
	c->fpu.fip = c->fpu.fdp = 0;
}

/*
 * The x87 control instructions without a wait (FNINIT FNSTCW FLDCW
 * FNSTSW FNCLEX): EM or TS #NM; a pending exception is ignored.
 */
static int
op_x87_ctl(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v;
	int rc;

	if ((rc = interp_x87_check(c, false)) != INTERP_OK)
		return rc;
	switch (insn->mnem) {
	case X86_M_FNINIT:
		fpu_init(c);
		return INTERP_OK;
	case X86_M_FNSTCW:
		return interp_opnd_write(c, insn, 0, c->fpu.fcw);
	case X86_M_FNSTSW:
		return interp_opnd_write(c, insn, 0, c->fpu.fsw);
	case X86_M_FLDCW:
		if ((rc = interp_opnd_read(c, insn, 0, &v)) != INTERP_OK)
			return rc;
		/* Bit 6 reads as 1, bits 7 and 13-15 as 0. */
		c->fpu.fcw = (uint16_t)((v & 0x1f3f) | 0x40);
		interp_fpu_update_es(c);
		return INTERP_OK;
	default: /* FNCLEX */
		c->fpu.fsw &= (uint16_t) ~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
		return INTERP_OK;
	}
}

static int
op_fwait(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	/* WAIT faults #NM only with MP and TS (SDM vol. 3A table 2-2). */
	if ((c->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
		return interp_raise(c, VEC_NM, false, 0);
	if (c->fpu.fsw & FSW_ES)
		return interp_raise(c, VEC_MF, false, 0);
	return INTERP_OK;
}

static int
op_emms(struct interp_cpu *c, const struct x86_instr *insn)
{
	int rc;

	(void)insn;
	if ((rc = interp_mmx_check(c)) != INTERP_OK)
		return rc;
	/* Like every MMX instruction it sets TOP to 0 (then all empty). */
	interp_mmx_enter(c);
	c->fpu.ftw = 0;
	return INTERP_OK;
}

/* ---- x87 environment: FNSTENV FLDENV FNSAVE FRSTOR ----------------- */

/* The full tag of physical register p (SDM vol. 1 8.1.7): 0 valid,
 * 1 zero, 2 special (NaN, infinity, denormal, unnormal), 3 empty. */
static unsigned int
fpu_tag(const struct interp_cpu *c, unsigned int p)
{
	const uint8_t *r = c->fpu.st[(p - interp_fpu_top(c)) & 7];
	uint64_t mant;
	uint16_t exp;

	if (!(c->fpu.ftw & (1u << p)))
		return 3;
	memcpy(&mant, r, 8);
	memcpy(&exp, r + 8, 2);
	exp &= 0x7fff;
	if (exp == 0x7fff)
		return 2;
	if (exp == 0)
		return mant == 0 ? 1 : 2;
	return (mant >> 63) ? 0 : 2;
}

/*
 * The environment image (SDM vol. 1 figures 8-9 to 8-12): 28 bytes with
 * a 32-bit operand size, 14 with 16; protected-mode layouts give FIP
 * and FDP as offsets with selectors (rhyve keeps none: 0), real-mode
 * ones as linear addresses split around the opcode.  Reserved halves
 * read as ones, as the CPU writes them.
 */
static unsigned int
fpu_env_store(const struct interp_cpu *c, bool o32, uint8_t *env)
{
	bool real = !(c->cr0 & CR0_PE) || (c->rflags & PSL_VM);
	uint16_t tw = 0;
	uint32_t fip = (uint32_t)c->fpu.fip, fdp = (uint32_t)c->fpu.fdp;

	for (unsigned int p = 0; p < 8; p++)
		tw |= (uint16_t)(fpu_tag(c, p) << (2 * p));
	if (!o32) {
		put16(env, c->fpu.fcw);
		put16(env + 2, c->fpu.fsw);
		put16(env + 4, tw);
		put16(env + 6, (uint16_t)fip);
		put16(env + 10, (uint16_t)fdp);
		if (real) {
			put16(env + 8, (uint16_t)((fip >> 16 & 0xf) << 12 |
						  (c->fpu.fop & 0x7ff)));
			put16(env + 12, (uint16_t)((fdp >> 16 & 0xf) << 12));
		} else {
			put16(env + 8, 0);  /* FCS */
			put16(env + 12, 0); /* FDS */
		}
		return 14;
	}
	memset(env, 0xff, 28);
	put16(env, c->fpu.fcw);
	put16(env + 4, c->fpu.fsw);
	put16(env + 8, tw);
	if (real) {
		put16(env + 12, (uint16_t)fip);
		put32(env + 16, (fip >> 16) << 12 | (c->fpu.fop & 0x7ff));
		put16(env + 20, (uint16_t)fdp);
		put32(env + 24, (fdp >> 16) << 12);
	} else {
		put32(env + 12, fip);
		put32(env + 16, (uint32_t)(c->fpu.fop & 0x7ff) << 16);
		put32(env + 20, fdp);
		put16(env + 24, 0); /* FDS */
	}
	return 28;
}

static void
fpu_env_load(struct interp_cpu *c, bool o32, const uint8_t *env)
{
	bool real = !(c->cr0 & CR0_PE) || (c->rflags & PSL_VM);
	uint16_t fcw, fsw, tw, w;
	uint32_t fip, fdp, x;

	if (!o32) {
		memcpy(&fcw, env, 2);
		memcpy(&fsw, env + 2, 2);
		memcpy(&tw, env + 4, 2);
		memcpy(&w, env + 6, 2);
		fip = w;
		memcpy(&w, env + 10, 2);
		fdp = w;
		if (real) {
			memcpy(&w, env + 8, 2);
			fip |= (uint32_t)(w >> 12) << 16;
			c->fpu.fop = w & 0x7ff;
			memcpy(&w, env + 12, 2);
			fdp |= (uint32_t)(w >> 12) << 16;
		}
	} else {
		memcpy(&fcw, env, 2);
		memcpy(&fsw, env + 4, 2);
		memcpy(&tw, env + 8, 2);
		if (real) {
			memcpy(&w, env + 12, 2);
			x = get32(env + 16);
			fip = w | (x >> 12) << 16;
			c->fpu.fop = x & 0x7ff;
			memcpy(&w, env + 20, 2);
			fdp = w | (get32(env + 24) >> 12) << 16;
		} else {
			fip = get32(env + 12);
			c->fpu.fop = (get32(env + 16) >> 16) & 0x7ff;
			fdp = get32(env + 20);
		}
	}
	c->fpu.fcw = (uint16_t)((fcw & 0x1f3f) | 0x40);
	interp_fpu_set_top(c, (fsw >> 11) & 7); /* st[] follows TOP */
	c->fpu.fsw = fsw;
	c->fpu.ftw = 0;
	for (unsigned int p = 0; p < 8; p++)
		if (((tw >> (2 * p)) & 3) != 3)
			c->fpu.ftw |= (uint8_t)(1u << p);
	c->fpu.fip = fip;
	c->fpu.fdp = fdp;
	interp_fpu_update_es(c);
}

/* FNSTENV / FNSAVE (the environment, then with FNSAVE the registers
 * ST(0)..ST(7) and an FNINIT); FLDENV / FRSTOR the other way. */
static int
op_fpu_env(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = &insn->ops[0];
	bool o32 = insn->opsize != 2;
	bool save = insn->mnem == X86_M_FNSTENV || insn->mnem == X86_M_FNSAVE;
	bool regs = insn->mnem == X86_M_FNSAVE || insn->mnem == X86_M_FRSTOR;
	unsigned int envlen = o32 ? 28 : 14, len = envlen + (regs ? 80 : 0);
	int access = (m->seg == X86_R_SS ? X86_MEM_STACK : 0) |
		     (save ? X86_MEM_WRITE : X86_MEM_READ);
	uint8_t img[108];
	int rc;

	if (m->type != X86_OPND_MEM)
		return interp_ud(c);
	if ((rc = interp_x87_check(c, false)) != INTERP_OK)
		return rc;
	if (save) {
		fpu_env_store(c, o32, img);
		for (int i = 0; regs && i < 8; i++)
			memcpy(img + envlen + 10 * i, c->fpu.st[i], 10);
		rc = interp_mem_write(c, m->seg, interp_ea(c, insn, m),
				      insn->addrsize, img, len, access);
		if (rc != INTERP_OK)
			return rc;
		if (regs) {
			fpu_init(c);
		} else {
			/* FNSTENV masks every exception afterwards. */
			c->fpu.fcw |= 0x3f;
			interp_fpu_update_es(c);
		}
		return INTERP_OK;
	}
	rc = interp_mem_read(c, m->seg, interp_ea(c, insn, m), insn->addrsize,
			     img, len, access);
	if (rc != INTERP_OK)
		return rc;
	fpu_env_load(c, o32, img);
	for (int i = 0; regs && i < 8; i++) {
		memset(c->fpu.st[i], 0, 16);
		memcpy(c->fpu.st[i], img + envlen + 10 * i, 10);
	}
	return INTERP_OK;
}

const struct interp_op interp_ops_fpu[] = {
	{ X86_M_FNSTENV, op_fpu_env }, { X86_M_FLDENV, op_fpu_env },
	{ X86_M_FNSAVE, op_fpu_env },  { X86_M_FRSTOR, op_fpu_env },
	{ X86_M_FXSAVE, op_fx },       { X86_M_FXSAVE64, op_fx },
	{ X86_M_FXRSTOR, op_fx },      { X86_M_FXRSTOR64, op_fx },
	{ X86_M_LDMXCSR, op_ldmxcsr }, { X86_M_STMXCSR, op_stmxcsr },
	{ X86_M_FNINIT, op_x87_ctl },  { X86_M_FNSTCW, op_x87_ctl },
	{ X86_M_FLDCW, op_x87_ctl },   { X86_M_FNSTSW, op_x87_ctl },
	{ X86_M_FNCLEX, op_x87_ctl },  { X86_M_FWAIT, op_fwait },
	{ X86_M_EMMS, op_emms },       { 0, NULL },
};
