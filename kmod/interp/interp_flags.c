/*
 * RFLAGS for the interp engine: the arithmetic flags are computed from the
 * last ALU operation when something reads them (Jcc, PUSHF, an interrupt),
 * not by every instruction that sets them.
 */
#include "interp.h"

/* RFLAGS bits that exist (ID, VIP, VIF, AC, VM, RF, NT, IOPL, OF..CF). */
#define RFLAGS_DEFINED 0x3f7fd7ULL

bool
interp_parity(uint64_t res)
{
	return !__builtin_parityll(res & 0xff);
}

/* The arithmetic flags of the recorded operation. */
static uint64_t
lf_compute(const struct interp_lflags *lf)
{
	uint64_t mask = interp_mask(lf->size), sign = interp_sign(lf->size);
	uint64_t res = lf->res, a = lf->src1, b = lf->src2;
	uint64_t f = 0;
	bool cf = false, of = false;

	switch (lf->op) {
	case INTERP_LF_ADD:
		cf = res < a;
		of = ((a ^ res) & (b ^ res) & sign) != 0;
		break;
	case INTERP_LF_ADC:
		cf = lf->aux ? res <= a : res < a;
		of = ((a ^ res) & (b ^ res) & sign) != 0;
		break;
	case INTERP_LF_SUB:
		cf = a < b;
		of = ((a ^ b) & (a ^ res) & sign) != 0;
		break;
	case INTERP_LF_SBB:
		cf = lf->aux ? a <= b : a < b;
		of = ((a ^ b) & (a ^ res) & sign) != 0;
		break;
	case INTERP_LF_LOGIC:
		break;
	case INTERP_LF_INC:
		cf = lf->aux != 0;
		of = res == sign;
		b = 1;
		break;
	case INTERP_LF_DEC:
		cf = lf->aux != 0;
		of = res == sign - 1;
		b = 1;
		break;
	case INTERP_LF_NEG:
		cf = a != 0;
		of = res == sign && a == sign;
		b = a;
		a = 0;
		break;
	default:
		return 0;
	}
	if (cf)
		f |= PSL_C;
	if (of)
		f |= PSL_V;
	if (interp_parity(res))
		f |= INTERP_PSL_P;
	if (lf->op != INTERP_LF_LOGIC && ((a ^ b ^ res) & 0x10))
		f |= INTERP_PSL_A;
	if ((res & mask) == 0)
		f |= PSL_Z;
	if (res & sign)
		f |= INTERP_PSL_S;
	return f;
}

/* Fold the lazy flags into rflags. */
static void
lf_settle(struct interp_cpu *c)
{
	if (c->lf.op == INTERP_LF_NONE)
		return;
	c->rflags = (c->rflags & ~INTERP_ARITH_FLAGS) | lf_compute(&c->lf);
	c->lf.op = INTERP_LF_NONE;
}

uint64_t
interp_rflags(struct interp_cpu *c)
{
	lf_settle(c);
	return c->rflags;
}

void
interp_set_rflags(struct interp_cpu *c, uint64_t val)
{
	c->lf.op = INTERP_LF_NONE;
	c->rflags = (val & RFLAGS_DEFINED) | PSL_1;
}

void
interp_set_flags(struct interp_cpu *c, uint64_t mask, uint64_t val)
{
	lf_settle(c);
	c->rflags = ((c->rflags & ~mask) | (val & mask)) & RFLAGS_DEFINED;
	c->rflags |= PSL_1;
}

bool
interp_cond(struct interp_cpu *c, unsigned int cc)
{
	uint64_t f;
	bool r;

	/* The frequent case, CMP/TEST then Jcc, without computing it all. */
	if (c->lf.op == INTERP_LF_SUB || c->lf.op == INTERP_LF_LOGIC) {
		uint64_t a = c->lf.src1, b = c->lf.src2, res = c->lf.res;
		int64_t sa = interp_sext(a, c->lf.size);
		int64_t sb = interp_sext(b, c->lf.size);
		bool sub = c->lf.op == INTERP_LF_SUB;

		switch (cc >> 1) {
		case 1: /* B */
			r = sub && a < b;
			return (cc & 1) ? !r : r;
		case 2: /* E */
			r = res == 0;
			return (cc & 1) ? !r : r;
		case 3: /* BE */
			r = sub ? a <= b : res == 0;
			return (cc & 1) ? !r : r;
		case 6: /* L */
			r = sub ? sa < sb : interp_sext(res, c->lf.size) < 0;
			return (cc & 1) ? !r : r;
		case 7: /* LE */
			r = sub ? sa <= sb : interp_sext(res, c->lf.size) <= 0;
			return (cc & 1) ? !r : r;
		default:
			break;
		}
	}
	f = interp_rflags(c);
	switch (cc >> 1) {
	case 0:
		r = f & PSL_V;
		break;
	case 1:
		r = f & PSL_C;
		break;
	case 2:
		r = f & PSL_Z;
		break;
	case 3:
		r = f & (PSL_C | PSL_Z);
		break;
	case 4:
		r = f & INTERP_PSL_S;
		break;
	case 5:
		r = f & INTERP_PSL_P;
		break;
	case 6:
		r = !(f & INTERP_PSL_S) != !(f & PSL_V);
		break;
	default:
		r = (f & PSL_Z) || (!(f & INTERP_PSL_S) != !(f & PSL_V));
		break;
	}
	return (cc & 1) ? !r : r;
}
