/*
 * SSE/SSE2/SSE3 and MMX data movement for the interp engine: whole
 * registers (MOVAPS & co., the non-temporal stores), scalars and halves
 * (MOVSS MOVSD MOVLPS MOVHPS ...), MOVD/MOVQ between every kind of
 * register and memory, masks (MOVMSKPS PMOVMSKB), word insert/extract,
 * byte-masked stores (MASKMOVQ MASKMOVDQU) and MOVNTI.
 *
 * An operand involving an MMX register makes the instruction an MMX one
 * (its checks, then TOP = 0 and all tags valid); else it is SSE.
 */
#include "interp.h"

static bool
is_mmx(const struct x86_operand *op)
{
	return op->type == X86_OPND_REG && x86_reg_class(op->reg) == X86_RC_MMX;
}

static bool
is_xmm(const struct x86_operand *op)
{
	return op->type == X86_OPND_REG && x86_reg_class(op->reg) == X86_RC_XMM;
}

/* The checks for the instruction's kind; MMX ones enter MMX mode (the
 * caller has nothing left that can fault but memory). */
static int
simd_enter(struct interp_cpu *c, const struct x86_instr *insn)
{
	bool mmx = false, xmm = false;
	int rc;

	for (int i = 0; i < insn->nops; i++) {
		mmx |= is_mmx(&insn->ops[i]);
		xmm |= is_xmm(&insn->ops[i]);
	}
	if (xmm && (rc = interp_sse_check(c)) != INTERP_OK)
		return rc;
	if (mmx) {
		if ((rc = interp_mmx_check(c)) != INTERP_OK)
			return rc;
	} else if (!xmm && (rc = interp_sse_check(c)) != INTERP_OK) {
		return rc;
	}
	return INTERP_OK;
}

/* Whether the instruction touches MMX registers (TOP = 0, tags valid
 * once nothing can fault any more). */
static void
simd_commit(struct interp_cpu *c, const struct x86_instr *insn)
{
	for (int i = 0; i < insn->nops; i++)
		if (is_mmx(&insn->ops[i])) {
			interp_mmx_enter(c);
			return;
		}
}

/*
 * dst <- src as a whole (16 bytes, or 8 with MMX); MOVD / MOVQ /
 * MOVQ2DQ / MOVDQ2Q: the low 4 or 8 bytes of the source, into an XMM
 * or MMX register zero-extended.
 */
static int
op_mov_full(struct interp_cpu *c, const struct x86_instr *insn)
{
	union interp_xmm v;
	int rc;

	if ((rc = simd_enter(c, insn)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &v)) != INTERP_OK)
		return rc;
	switch (insn->mnem) {
	case X86_M_MOVD:
		v.d[1] = 0;
		/* FALLTHROUGH */
	case X86_M_MOVQ:
	case X86_M_MOVQ2DQ:
	case X86_M_MOVDQ2Q:
		v.q[1] = 0;
		break;
	default:
		break;
	}
	if (insn->ops[0].type == X86_OPND_MEM &&
	    (rc = interp_simd_write(c, insn, 0, &v)) != INTERP_OK)
		return rc;
	simd_commit(c, insn);
	if (insn->ops[0].type != X86_OPND_MEM)
		return interp_simd_write(c, insn, 0, &v);
	return INTERP_OK;
}

/*
 * MOVSS / MOVSD: register to register moves the low element and keeps
 * the rest; a load zeroes the rest; a store writes the element.
 */
static int
op_movs_scalar(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int n = insn->mnem == X86_M_MOVSS ? 4 : 8;
	union interp_xmm v, d;
	int rc;

	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &v)) != INTERP_OK)
		return rc;
	if (insn->ops[0].type == X86_OPND_MEM)
		return interp_simd_write(c, insn, 0, &v);
	if (insn->ops[1].type == X86_OPND_MEM) {
		interp_xmm_set(c, insn->ops[0].reg - X86_R_XMM0, &v);
		return INTERP_OK;
	}
	interp_xmm_get(c, insn->ops[0].reg - X86_R_XMM0, &d);
	memcpy(d.b, v.b, n);
	interp_xmm_set(c, insn->ops[0].reg - X86_R_XMM0, &d);
	return INTERP_OK;
}

/*
 * Halves: MOVLPS/MOVLPD (low 8 bytes from or to memory), MOVHPS/MOVHPD
 * (high 8 bytes), MOVHLPS (low <- source's high), MOVLHPS (high <-
 * source's low).
 */
static int
op_mov_half(struct interp_cpu *c, const struct x86_instr *insn)
{
	bool high_dst = insn->mnem == X86_M_MOVHPS ||
			insn->mnem == X86_M_MOVHPD ||
			insn->mnem == X86_M_MOVLHPS;
	bool high_src = insn->mnem == X86_M_MOVHPS ||
			insn->mnem == X86_M_MOVHPD ||
			insn->mnem == X86_M_MOVHLPS;
	union interp_xmm s, d;
	int rc;

	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK)
		return rc;
	if (insn->ops[0].type == X86_OPND_MEM) {
		/* A store: the register's low or high half. */
		if (high_src)
			s.q[0] = s.q[1];
		return interp_simd_write(c, insn, 0, &s);
	}
	/* A load from memory has its 8 bytes in s.q[0]. */
	if (insn->ops[1].type == X86_OPND_MEM)
		high_src = false;
	interp_xmm_get(c, insn->ops[0].reg - X86_R_XMM0, &d);
	d.q[high_dst] = s.q[high_src];
	interp_xmm_set(c, insn->ops[0].reg - X86_R_XMM0, &d);
	return INTERP_OK;
}

/* SSE3: MOVDDUP (low double twice), MOVSLDUP / MOVSHDUP (even / odd
 * singles twice). */
static int
op_movdup(struct interp_cpu *c, const struct x86_instr *insn)
{
	union interp_xmm s, d;
	int rc;

	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK)
		return rc;
	switch (insn->mnem) {
	case X86_M_MOVDDUP:
		d.q[0] = d.q[1] = s.q[0];
		break;
	case X86_M_MOVSLDUP:
		for (int i = 0; i < 4; i++)
			d.d[i] = s.d[i & ~1];
		break;
	default:
		for (int i = 0; i < 4; i++)
			d.d[i] = s.d[i | 1];
		break;
	}
	return interp_simd_write(c, insn, 0, &d);
}

/* MOVMSKPS / MOVMSKPD / PMOVMSKB: the sign bits into a GPR. */
static int
op_movmsk(struct interp_cpu *c, const struct x86_instr *insn)
{
	union interp_xmm s;
	uint64_t m = 0;
	int rc;

	if (insn->ops[1].type != X86_OPND_REG)
		return interp_ud(c);
	if ((rc = simd_enter(c, insn)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK)
		return rc;
	switch (insn->mnem) {
	case X86_M_MOVMSKPS:
		for (int i = 0; i < 4; i++)
			m |= (uint64_t)(s.d[i] >> 31) << i;
		break;
	case X86_M_MOVMSKPD:
		for (int i = 0; i < 2; i++)
			m |= (s.q[i] >> 63) << i;
		break;
	default:
		for (int i = 0; i < (is_mmx(&insn->ops[1]) ? 8 : 16); i++)
			m |= (uint64_t)(s.b[i] >> 7) << i;
		break;
	}
	simd_commit(c, insn);
	interp_gpr_write(c, (unsigned)x86_reg_gpr_num(insn->ops[0].reg),
			 x86_reg_size(insn->ops[0].reg), m);
	return INTERP_OK;
}

/* PINSRW xmm/mm, r32/m16, imm8 (and SSE4.1's PINSRB/PINSRD/PINSRQ). */
static int
op_pinsr(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int sz = insn->mnem == X86_M_PINSRB   ? 1
			  : insn->mnem == X86_M_PINSRW ? 2
			  : insn->mnem == X86_M_PINSRD ? 4
						       : 8;
	unsigned int lanes = (is_mmx(&insn->ops[0]) ? 8 : 16) / sz;
	unsigned int idx = (unsigned int)insn->ops[2].imm & (lanes - 1);
	union interp_xmm s, d;
	int rc;

	if ((rc = simd_enter(c, insn)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 0, &d)) != INTERP_OK)
		return rc;
	memcpy(d.b + idx * sz, s.b, sz);
	simd_commit(c, insn);
	return interp_simd_write(c, insn, 0, &d);
}

/* PEXTRW r32, xmm/mm, imm8 (and PEXTRB/PEXTRD/PEXTRQ/EXTRACTPS, which
 * may store to memory): zero-extended into a register. */
static int
op_pextr(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int sz = insn->mnem == X86_M_PEXTRB   ? 1
			  : insn->mnem == X86_M_PEXTRW ? 2
			  : insn->mnem == X86_M_PEXTRQ ? 8
						       : 4;
	unsigned int lanes = (is_mmx(&insn->ops[1]) ? 8 : 16) / sz;
	unsigned int idx = (unsigned int)insn->ops[2].imm & (lanes - 1);
	union interp_xmm s, d = { 0 };
	int rc;

	if ((rc = simd_enter(c, insn)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK)
		return rc;
	memcpy(d.b, s.b + idx * sz, sz);
	if (insn->ops[0].type == X86_OPND_MEM)
		return interp_simd_write(c, insn, 0, &d);
	simd_commit(c, insn);
	interp_gpr_write(c, (unsigned)x86_reg_gpr_num(insn->ops[0].reg),
			 x86_reg_size(insn->ops[0].reg), d.q[0]);
	return INTERP_OK;
}

/* MASKMOVQ / MASKMOVDQU: the bytes whose mask byte has its top bit set
 * go to DS:[rDI] (a segment override applies).  Every byte is checked
 * before the first is stored. */
static int
op_maskmov(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int seg =
	    insn->seg_override != X86_R_NONE ? insn->seg_override : X86_R_DS;
	unsigned int n = is_mmx(&insn->ops[0]) ? 8 : 16;
	uint64_t base = c->gpr[7];
	union interp_xmm v, m;
	int rc;

	if ((rc = simd_enter(c, insn)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 0, &v)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &m)) != INTERP_OK)
		return rc;
	for (unsigned int i = 0; i < n; i++)
		if ((m.b[i] & 0x80) &&
		    (rc = interp_mem_probe(
			 c, seg, (base + i) & interp_mask(insn->addrsize),
			 insn->addrsize, 1, X86_MEM_WRITE)) != INTERP_OK)
			return rc;
	for (unsigned int i = 0; i < n; i++)
		if ((m.b[i] & 0x80) &&
		    (rc = interp_mem_write(
			 c, seg, (base + i) & interp_mask(insn->addrsize),
			 insn->addrsize, &v.b[i], 1, X86_MEM_WRITE)) !=
			INTERP_OK)
			return rc;
	simd_commit(c, insn);
	return INTERP_OK;
}

/* MOVNTI m32/m64, r32/r64: an ordinary store as far as rhyve sees. */
static int
op_movnti(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v;
	int rc;

	if ((rc = interp_opnd_read(c, insn, 1, &v)) != INTERP_OK)
		return rc;
	return interp_opnd_write(c, insn, 0, v);
}

const struct interp_op interp_ops_sse_move[] = {
	{ X86_M_MOVAPS, op_mov_full },
	{ X86_M_MOVAPD, op_mov_full },
	{ X86_M_MOVUPS, op_mov_full },
	{ X86_M_MOVUPD, op_mov_full },
	{ X86_M_MOVDQA, op_mov_full },
	{ X86_M_MOVDQU, op_mov_full },
	{ X86_M_LDDQU, op_mov_full },
	{ X86_M_MOVNTPS, op_mov_full },
	{ X86_M_MOVNTPD, op_mov_full },
	{ X86_M_MOVNTDQ, op_mov_full },
	{ X86_M_MOVNTQ, op_mov_full },
	{ X86_M_MOVD, op_mov_full },
	{ X86_M_MOVQ, op_mov_full },
	{ X86_M_MOVQ2DQ, op_mov_full },
	{ X86_M_MOVDQ2Q, op_mov_full },
	{ X86_M_MOVSS, op_movs_scalar },
	{ X86_M_MOVSD, op_movs_scalar },
	{ X86_M_MOVLPS, op_mov_half },
	{ X86_M_MOVLPD, op_mov_half },
	{ X86_M_MOVHPS, op_mov_half },
	{ X86_M_MOVHPD, op_mov_half },
	{ X86_M_MOVHLPS, op_mov_half },
	{ X86_M_MOVLHPS, op_mov_half },
	{ X86_M_MOVDDUP, op_movdup },
	{ X86_M_MOVSLDUP, op_movdup },
	{ X86_M_MOVSHDUP, op_movdup },
	{ X86_M_MOVMSKPS, op_movmsk },
	{ X86_M_MOVMSKPD, op_movmsk },
	{ X86_M_PMOVMSKB, op_movmsk },
	{ X86_M_PINSRW, op_pinsr },
	{ X86_M_PEXTRW, op_pextr },
	{ X86_M_MASKMOVQ, op_maskmov },
	{ X86_M_MASKMOVDQU, op_maskmov },
	{ X86_M_MOVNTI, op_movnti },
	{ X86_M_MOVNTDQA, op_mov_full },
	{ X86_M_PINSRB, op_pinsr },
	{ X86_M_PINSRD, op_pinsr },
	{ X86_M_PINSRQ, op_pinsr },
	{ X86_M_PEXTRB, op_pextr },
	{ X86_M_PEXTRD, op_pextr },
	{ X86_M_PEXTRQ, op_pextr },
	{ X86_M_EXTRACTPS, op_pextr },
	{ 0, NULL },
};
