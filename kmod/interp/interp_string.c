/*
 * The interp engine's string instructions: MOVS STOS LODS CMPS SCAS (byte
 * to quadword).  With a REP prefix each execution does one element and,
 * while the count (rCX at the address size) is not exhausted and, for
 * CMPS/SCAS, the REPE/REPNE condition holds, leaves rip on the
 * instruction (next_rip = rip) so that it runs again: a long REP stays
 * interruptible, and an MMIO exit covers one element.  rSI/rDI/rCX are
 * used at the address size and step by the element size, down with DF.
 * The decoder gives the operands' segments: the source's may be
 * overridden, ES:rDI cannot.
 */
#include "interp.h"

enum { STR_RCX = 1, STR_RSI = 6, STR_RDI = 7 };

static int
string_op(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int asz = insn->addrsize, size = insn->ops[0].size;
	bool rep = (insn->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) != 0;
	bool rsi = false, rdi = false, cmp = false;
	uint64_t step, a = 0, b = 0, cnt = 0;
	int rc = INTERP_OK;

	if (rep) {
		cnt = interp_gpr_read(c, STR_RCX, asz);
		if (cnt == 0)
			return INTERP_OK;
	}
	switch (insn->mnem) {
	case X86_M_MOVSB:
	case X86_M_MOVS: /* es:[rdi] <- [rsi] */
		rc = interp_opnd_read(c, insn, 1, &a);
		if (rc == INTERP_OK)
			rc = interp_opnd_write(c, insn, 0, a);
		rsi = rdi = true;
		break;
	case X86_M_STOSB:
	case X86_M_STOS: /* es:[rdi] <- rAX */
		rc = interp_opnd_read(c, insn, 1, &a);
		if (rc == INTERP_OK)
			rc = interp_opnd_write(c, insn, 0, a);
		rdi = true;
		break;
	case X86_M_LODSB:
	case X86_M_LODS: /* rAX <- [rsi] */
		rc = interp_opnd_read(c, insn, 1, &a);
		if (rc == INTERP_OK)
			rc = interp_opnd_write(c, insn, 0, a);
		rsi = true;
		break;
	case X86_M_CMPSB:
	case X86_M_CMPS: /* [rsi] - es:[rdi] */
		rsi = true;
		/* fall through */
	default: /* SCAS: rAX - es:[rdi] */
		rc = interp_opnd_read(c, insn, 0, &a);
		if (rc == INTERP_OK)
			rc = interp_opnd_read(c, insn, 1, &b);
		rdi = cmp = true;
		break;
	}
	if (rc != INTERP_OK)
		return rc;
	step = (c->rflags & PSL_D) ? (uint64_t) - (int64_t)size : size;
	if (rsi)
		interp_gpr_write(c, STR_RSI, asz, c->gpr[STR_RSI] + step);
	if (rdi)
		interp_gpr_write(c, STR_RDI, asz, c->gpr[STR_RDI] + step);
	if (cmp)
		interp_lf_set(c, INTERP_LF_SUB, size, a - b, a, b, 0);
	if (!rep)
		return INTERP_OK;
	interp_gpr_write(c, STR_RCX, asz, --cnt);
	/* Again while the count lasts and (CMPS, SCAS) REPE finds equal
	 * elements, REPNE different ones. */
	if (cnt != 0 &&
	    (!cmp || ((a & interp_mask(size)) == (b & interp_mask(size))) ==
			 !!(insn->prefixes & X86_PFX_REP)))
		c->next_rip = c->rip;
	return INTERP_OK;
}

const struct interp_op interp_ops_string[] = {
	{ X86_M_MOVSB, string_op },
	{ X86_M_MOVS, string_op },
	{ X86_M_STOSB, string_op },
	{ X86_M_STOS, string_op },
	{ X86_M_LODSB, string_op },
	{ X86_M_LODS, string_op },
	{ X86_M_CMPSB, string_op },
	{ X86_M_CMPS, string_op },
	{ X86_M_SCASB, string_op },
	{ X86_M_SCAS, string_op },
	{ 0, NULL },
};
