/*
 * The interp engine's bit instructions: BT BTS BTR BTC (a register bit
 * offset reaches memory beyond the operand, signed, as the SDM says),
 * BSF BSR TZCNT LZCNT POPCNT and BSWAP.  Flags the SDM leaves undefined
 * take this engine's reference host's values (AMD EPYC; see
 * tests/unit/test_interp_alu.c).
 */
#include "interp.h"

static uint64_t
bit_calc(unsigned int mnem, uint64_t a, uint64_t mask)
{
	switch (mnem) {
	case X86_M_BTS:
		return a | mask;
	case X86_M_BTR:
		return a & ~mask;
	case X86_M_BTC:
		return a ^ mask;
	default:
		return a;
	}
}

/*
 * BT BTS BTR BTC: CF <- the bit (then set, cleared, complemented).  OF
 * SF AF PF are undefined: this host leaves them (and ZF) as they were.
 */
static int
bit_test(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *dst = &insn->ops[0];
	unsigned int size = dst->size, bits = size * 8;
	int acc = dst->seg == X86_R_SS ? X86_MEM_STACK : 0;
	uint64_t off, a = 0, res, mask, ea;
	void *hp = NULL;
	int rc;

	if ((rc = interp_opnd_read(c, insn, 1, &off)) != INTERP_OK)
		return rc;
	if (dst->type != X86_OPND_MEM) {
		mask = 1ULL << (off & (bits - 1));
		if ((rc = interp_opnd_read(c, insn, 0, &a)) != INTERP_OK)
			return rc;
		if (insn->mnem != X86_M_BT &&
		    (rc = interp_opnd_write(c, insn, 0,
					    bit_calc(insn->mnem, a, mask))) !=
			INTERP_OK)
			return rc;
		interp_set_flags(c, PSL_C, (a & mask) ? PSL_C : 0);
		return INTERP_OK;
	}
	ea = interp_ea(c, insn, dst);
	if (insn->ops[1].type == X86_OPND_REG) {
		/* A register offset is signed and selects the operand-sized
		 * unit at ea + (offset >> log2(bits)) * size. */
		int64_t so = interp_sext(off, insn->ops[1].size);

		ea += (uint64_t)((so >> __builtin_ctz(bits)) * (int64_t)size);
		ea &= interp_mask(insn->addrsize);
	}
	mask = 1ULL << (off & (bits - 1));
	if (insn->mnem != X86_M_BT && (insn->prefixes & X86_PFX_LOCK)) {
		rc = interp_mem_host(c, dst->seg, ea, insn->addrsize, size,
				     acc | X86_MEM_WRITE, &hp);
		if (rc != INTERP_OK)
			return rc;
	}
	if (hp != NULL) {
		a = interp_host_load(hp, size);
		while (!interp_host_cas(hp, size, &a,
					bit_calc(insn->mnem, a, mask)))
			;
	} else {
		rc = interp_mem_read(c, dst->seg, ea, insn->addrsize, &a, size,
				     acc | X86_MEM_READ);
		if (rc != INTERP_OK)
			return rc;
		res = bit_calc(insn->mnem, a, mask);
		if (insn->mnem != X86_M_BT &&
		    (rc = interp_mem_write(c, dst->seg, ea, insn->addrsize,
					   &res, size, acc | X86_MEM_WRITE)) !=
			INTERP_OK)
			return rc;
	}
	interp_set_flags(c, PSL_C, (a & mask) ? PSL_C : 0);
	return INTERP_OK;
}

/*
 * BSF/BSR: ZF <- src == 0, and then the destination is left unchanged
 * (AMD documents it; Intel leaves it "undefined" and does the same).
 * CF OF SF AF PF are undefined: this host clears them but PF, which is
 * the parity of the index (of 0 for a zero source).  TZCNT/LZCNT: CF
 * and ZF defined, OF kept and SF AF PF cleared here.  POPCNT clears all
 * but ZF.
 */
static int
bit_scan(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size, bits = size * 8;
	uint64_t src, res = 0, f = 0;
	int rc;

	if ((rc = interp_opnd_read(c, insn, 1, &src)) != INTERP_OK)
		return rc;
	switch (insn->mnem) {
	case X86_M_BSF:
	case X86_M_BSR:
		if (src == 0) {
			interp_set_flags(c, INTERP_ARITH_FLAGS,
					 PSL_Z | INTERP_PSL_P);
			return INTERP_OK;
		}
		res = insn->mnem == X86_M_BSF
			  ? (uint64_t)__builtin_ctzll(src)
			  : (uint64_t)(63 - __builtin_clzll(src));
		if ((rc = interp_opnd_write(c, insn, 0, res)) != INTERP_OK)
			return rc;
		interp_set_flags(c, INTERP_ARITH_FLAGS,
				 interp_parity(res) ? INTERP_PSL_P : 0);
		return INTERP_OK;
	case X86_M_TZCNT:
		res = src == 0 ? bits : (uint64_t)__builtin_ctzll(src);
		f = (src == 0 ? PSL_C : 0) | (res == 0 ? PSL_Z : 0);
		break;
	case X86_M_LZCNT:
		res = src == 0 ? bits
			       : (uint64_t)(__builtin_clzll(src) - (64 - bits));
		f = (src == 0 ? PSL_C : 0) | (res == 0 ? PSL_Z : 0);
		break;
	default: /* POPCNT: the others cleared */
		res = (uint64_t)__builtin_popcountll(src);
		f = src == 0 ? PSL_Z : 0;
		break;
	}
	if ((rc = interp_opnd_write(c, insn, 0, res)) != INTERP_OK)
		return rc;
	interp_set_flags(c,
			 insn->mnem == X86_M_POPCNT
			     ? INTERP_ARITH_FLAGS
			     : INTERP_ARITH_FLAGS & ~PSL_V,
			 f);
	return INTERP_OK;
}

/* BSWAP r32/r64; with a 16-bit operand the SDM says undefined: the
 * register's low half becomes 0 on this host. */
static int
bit_bswap(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v;

	(void)interp_opnd_read(c, insn, 0, &v);
	switch (insn->ops[0].size) {
	case 2:
		v = 0;
		break;
	case 4:
		v = __builtin_bswap32((uint32_t)v);
		break;
	default:
		v = __builtin_bswap64(v);
		break;
	}
	return interp_opnd_write(c, insn, 0, v);
}

const struct interp_op interp_ops_bit[] = {
	{ X86_M_BT, bit_test },
	{ X86_M_BTS, bit_test },
	{ X86_M_BTR, bit_test },
	{ X86_M_BTC, bit_test },
	{ X86_M_BSF, bit_scan },
	{ X86_M_BSR, bit_scan },
	{ X86_M_TZCNT, bit_scan },
	{ X86_M_LZCNT, bit_scan },
	{ X86_M_POPCNT, bit_scan },
	{ X86_M_BSWAP, bit_bswap },
	{ 0, NULL },
};
