/*
 * The interp engine's multiplies and divides: MUL, IMUL (one, two and
 * three operands), DIV, IDIV.  CF and OF tell whether a product needed
 * its upper half; the SDM leaves SF, ZF, AF, PF undefined after them
 * and all six flags undefined after a divide: the values here are this
 * engine's reference host's (AMD EPYC), see the comments and
 * tests/unit/test_interp_alu.c.  A divide by zero or a quotient that does
 * not fit raises #DE before anything is written.
 */
#include "interp.h"

#define X86_VEC_DE 0

typedef unsigned __int128 u128;
typedef __int128 s128;

/*
 * After a multiply CF = OF = the product did not fit the low half; SF,
 * ZF, AF, PF are undefined: this host leaves them as they were.
 */
static void
mul_flags(struct interp_cpu *c, bool ovf)
{
	interp_set_flags(c, PSL_C | PSL_V, ovf ? PSL_C | PSL_V : 0);
}

/*
 * After a divide all six flags are undefined: this host clears SF, ZF,
 * PF, sets AF and leaves CF and OF.
 */
static void
div_flags(struct interp_cpu *c)
{
	interp_set_flags(c, INTERP_PSL_S | PSL_Z | INTERP_PSL_P | INTERP_PSL_A,
			 INTERP_PSL_A);
}

/* rDX:rAX <- rAX * src (AX <- AL * src for bytes), signed or not. */
static int
mul_one(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size, bits = size * 8;
	uint64_t m = interp_mask(size), src, a = interp_gpr_read(c, 0, size);
	uint64_t lo, hi;
	bool ovf;
	int rc;

	rc = interp_opnd_read(c, insn, 0, &src);
	if (rc != INTERP_OK)
		return rc;
	if (insn->mnem == X86_M_MUL) {
		u128 p = (u128)a * src;

		lo = (uint64_t)p & m;
		hi = (uint64_t)(p >> bits) & m;
		ovf = hi != 0;
	} else {
		s128 p = (s128)interp_sext(a, size) * interp_sext(src, size);

		lo = (uint64_t)p & m;
		hi = (uint64_t)(p >> bits) & m;
		ovf = (s128)interp_sext(lo, size) != p;
	}
	if (size == 1) {
		interp_gpr_write(c, 0, 2, hi << 8 | lo);
	} else {
		interp_gpr_write(c, 0, size, lo);
		interp_gpr_write(c, 2, size, hi);
	}
	mul_flags(c, ovf);
	return INTERP_OK;
}

/* IMUL r, r/m (dest *= src) and IMUL r, r/m, imm: the truncated product. */
static int
imul_multi(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size;
	uint64_t a, b, lo;
	s128 p;
	int rc;

	if ((rc = interp_opnd_read(c, insn, 1, &a)) != INTERP_OK)
		return rc;
	if (insn->nops > 2)
		rc = interp_opnd_read(c, insn, 2, &b);
	else
		rc = interp_opnd_read(c, insn, 0, &b);
	if (rc != INTERP_OK)
		return rc;
	p = (s128)interp_sext(a, size) * interp_sext(b, size);
	lo = (uint64_t)p & interp_mask(size);
	if ((rc = interp_opnd_write(c, insn, 0, lo)) != INTERP_OK)
		return rc;
	mul_flags(c, (s128)interp_sext(lo, size) != p);
	return INTERP_OK;
}

static int
imul_op(struct interp_cpu *c, const struct x86_instr *insn)
{
	return insn->nops == 1 ? mul_one(c, insn) : imul_multi(c, insn);
}

/* rDX:rAX / src (AX / src for bytes): quotient to rAX, remainder to rDX. */
static int
div_op(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size, bits = size * 8;
	uint64_t m = interp_mask(size), src, q, r;
	u128 n;
	int rc;

	rc = interp_opnd_read(c, insn, 0, &src);
	if (rc != INTERP_OK)
		return rc;
	if (size == 1)
		n = interp_gpr_read(c, 0, 2);
	else
		n = (u128)interp_gpr_read(c, 2, size) << bits |
		    interp_gpr_read(c, 0, size);
	if (src == 0)
		return interp_raise(c, X86_VEC_DE, false, 0);
	if (insn->mnem == X86_M_DIV) {
		u128 uq = n / src;

		if (uq > m)
			return interp_raise(c, X86_VEC_DE, false, 0);
		q = (uint64_t)uq;
		r = (uint64_t)(n % src);
	} else {
		/* The dividend sign-extended from 2 * bits. */
		unsigned int sh = 128 - 2 * bits;
		s128 sn = (s128)(n << sh) >> sh;
		s128 sd = interp_sext(src, size), sq;
		s128 max = (s128)(interp_sign(size) - 1);

		/* By -1 the quotient is -sn: check it before negating, so
		 * that INT128_MIN / -1 is a #DE, not an overflow. */
		if (sd == -1 && (sn < -max || sn > max + 1))
			return interp_raise(c, X86_VEC_DE, false, 0);
		sq = sd == -1 ? -sn : sn / sd;
		if (sq > max || sq < -max - 1)
			return interp_raise(c, X86_VEC_DE, false, 0);
		q = (uint64_t)sq & m;
		r = (uint64_t)(sn - sq * sd) & m;
	}
	if (size == 1) {
		interp_gpr_write(c, 0, 2, r << 8 | q);
	} else {
		interp_gpr_write(c, 0, size, q);
		interp_gpr_write(c, 2, size, r);
	}
	div_flags(c);
	return INTERP_OK;
}

const struct interp_op interp_ops_muldiv[] = {
	{ X86_M_MUL, mul_one },
	{ X86_M_IMUL, imul_op },
	{ X86_M_DIV, div_op },
	{ X86_M_IDIV, div_op },
	{ 0, NULL },
};
