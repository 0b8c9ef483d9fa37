/*
 * The interp engine's shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR
 * SHLD SHRD, with the SDM's flag rules: the count is masked to 5 bits (6
 * with a 64-bit operand), a masked count of 0 changes nothing (not even
 * the flags), CF is the last bit shifted out, OF is defined for a count
 * of 1 only.  Where the SDM leaves a flag undefined (OF for other counts,
 * AF, CF past the operand width, SHLD/SHRD beyond 16 bits) the value is
 * the one this engine's reference host (AMD EPYC) gives; the comments
 * say which and tests/unit/test_interp_alu.c compares with it.
 */
#include "interp.h"

/* The count operand (an immediate, 1 or CL) masked as the CPU does. */
static int
shift_count(struct interp_cpu *c, const struct x86_instr *insn, int i,
	    unsigned int *count)
{
	uint64_t n;
	int rc;

	rc = interp_opnd_read(c, insn, i, &n);
	if (rc != INTERP_OK)
		return rc;
	*count = (unsigned int)(n & (insn->ops[0].size == 8 ? 0x3f : 0x1f));
	return INTERP_OK;
}

static uint64_t
szp(uint64_t res, unsigned int size)
{
	uint64_t f = 0;

	if ((res & interp_mask(size)) == 0)
		f |= PSL_Z;
	if (res & interp_sign(size))
		f |= INTERP_PSL_S;
	if (interp_parity(res))
		f |= INTERP_PSL_P;
	return f;
}

/*
 * Result and flags of one shift or rotate of 'a' by masked count n > 0.
 * 'f' holds the flags before; the function returns which flags it sets
 * in *mask and their values in *f.
 */
static uint64_t
shift_calc(unsigned int mnem, unsigned int size, uint64_t a, unsigned int n,
	   uint64_t *f, uint64_t *mask)
{
	unsigned int bits = size * 8;
	uint64_t m = interp_mask(size), sign = interp_sign(size);
	uint64_t res = 0, cf = *f & PSL_C ? 1 : 0, of = 0, nf = 0;

	a &= m;
	switch (mnem) {
	case X86_M_ROL:
	case X86_M_ROR: {
		unsigned int r = n % bits;

		if (mnem == X86_M_ROL) {
			res = r ? ((a << r) | (a >> (bits - r))) & m : a;
			cf = res & 1;
			of = ((res & sign) != 0) ^ cf;
		} else {
			res = r ? ((a >> r) | (a << (bits - r))) & m : a;
			cf = (res & sign) != 0;
			of = ((res ^ (res << 1)) & sign) != 0;
		}
		/* Rotates change only CF and OF. */
		*mask = PSL_C | PSL_V;
		*f = (cf ? PSL_C : 0) | (of ? PSL_V : 0);
		return res;
	}
	case X86_M_RCL:
	case X86_M_RCR: {
		/* Through CF: a (bits+1)-bit rotate. */
		unsigned int r = n % (bits + 1);

		res = a;
		for (unsigned int i = 0; i < r; i++) {
			uint64_t out;

			if (mnem == X86_M_RCL) {
				out = (res & sign) != 0;
				res = ((res << 1) | cf) & m;
			} else {
				out = res & 1;
				res = (res >> 1) | (cf ? sign : 0);
			}
			cf = out;
		}
		if (mnem == X86_M_RCL)
			of = ((res & sign) != 0) ^ cf;
		else
			of = ((res ^ (res << 1)) & sign) != 0;
		*mask = PSL_C | PSL_V;
		*f = (cf ? PSL_C : 0) | (of ? PSL_V : 0);
		return res;
	}
	case X86_M_SHL:
	case X86_M_SAL:
		res = n < 64 ? (a << n) & m : 0;
		cf = n <= bits ? (a >> (bits - n)) & 1 : 0;
		of = ((res & sign) != 0) ^ cf;
		break;
	case X86_M_SHR:
		res = n < 64 ? a >> n : 0;
		cf = n <= bits ? (a >> (n - 1)) & 1 : 0;
		/* MSB(a) for a count of 1; as after ROR (0 from 2 up) on
		 * this host. */
		of = ((res ^ (res << 1)) & sign) != 0;
		break;
	default: { /* SAR */
		int64_t s = interp_sext(a, size);

		res = (uint64_t)(s >> (n < bits ? n : bits - 1)) & m;
		cf = (uint64_t)(s >> (n <= bits ? n - 1 : bits - 1)) & 1;
		of = 0;
		break;
	}
	}
	nf = szp(res, size) | (cf ? PSL_C : 0) | (of ? PSL_V : 0);
	/* AF is undefined: this host sets it. */
	nf |= INTERP_PSL_A;
	*mask = INTERP_ARITH_FLAGS;
	*f = nf;
	return res;
}

static int
shift_op(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size, n;
	uint64_t a, res, f, mask;
	int rc;

	if ((rc = shift_count(c, insn, 1, &n)) != INTERP_OK ||
	    (rc = interp_opnd_read(c, insn, 0, &a)) != INTERP_OK)
		return rc;
	if (n == 0) {
		/* Nothing changes, but a 32-bit register is still written
		 * (its upper half cleared), as the hardware does. */
		return interp_opnd_write(c, insn, 0, a);
	}
	f = interp_rflags(c);
	res = shift_calc(insn->mnem, size, a, n, &f, &mask);
	if ((rc = interp_opnd_write(c, insn, 0, res)) != INTERP_OK)
		return rc;
	interp_set_flags(c, mask, f);
	return INTERP_OK;
}

/*
 * SHLD/SHRD dest, src, count: dest shifted with src's bits coming in.
 */
static int
shift_double(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size, bits = size * 8, n;
	uint64_t m = interp_mask(size), sign = interp_sign(size);
	uint64_t a, b, res, cf, of, f;
	int rc;

	if ((rc = shift_count(c, insn, 2, &n)) != INTERP_OK ||
	    (rc = interp_opnd_read(c, insn, 1, &b)) != INTERP_OK ||
	    (rc = interp_opnd_read(c, insn, 0, &a)) != INTERP_OK)
		return rc;
	if (n == 0)
		return interp_opnd_write(c, insn, 0, a);
	if (size == 2 && n > 16) {
		/*
		 * Undefined in the SDM.  This host shifts the 48 bits
		 * dest:src:src (SHLD; src:src:dest for SHRD), so the result
		 * is src rotated by n - 16, and clears CF.
		 */
		uint64_t w;

		if (insn->mnem == X86_M_SHLD) {
			w = a << 32 | b << 16 | b;
			res = (w >> (32 - n)) & m;
		} else {
			w = b << 32 | b << 16 | a;
			res = (w >> n) & m;
		}
		cf = 0;
	} else if (insn->mnem == X86_M_SHLD) {
		res = ((a << n) | (b >> (bits - n))) & m;
		cf = (a >> (bits - n)) & 1;
	} else {
		res = ((a >> n) | (b << (bits - n))) & m;
		cf = (a >> (n - 1)) & 1;
	}
	/* OF: a sign change for a count of 1; for other counts this host
	 * computes it as SHL and ROR do (16 bits, SHLD by 16 up: CF). */
	if (insn->mnem == X86_M_SHLD)
		of = size == 2 && n >= 16 ? cf : ((res & sign) != 0) ^ cf;
	else
		of = ((res ^ (res << 1)) & sign) != 0;
	f = szp(res, size) | (cf ? PSL_C : 0) | (of ? PSL_V : 0) | INTERP_PSL_A;
	if ((rc = interp_opnd_write(c, insn, 0, res)) != INTERP_OK)
		return rc;
	interp_set_flags(c, INTERP_ARITH_FLAGS, f);
	return INTERP_OK;
}

const struct interp_op interp_ops_shift[] = {
	{ X86_M_ROL, shift_op },
	{ X86_M_ROR, shift_op },
	{ X86_M_RCL, shift_op },
	{ X86_M_RCR, shift_op },
	{ X86_M_SHL, shift_op },
	{ X86_M_SAL, shift_op },
	{ X86_M_SHR, shift_op },
	{ X86_M_SAR, shift_op },
	{ X86_M_SHLD, shift_double },
	{ X86_M_SHRD, shift_double },
	{ 0, NULL },
};
