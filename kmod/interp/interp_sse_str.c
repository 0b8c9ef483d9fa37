/*
 * SSE4.2's string and checksum instructions for the interp engine:
 * PCMPESTRI, PCMPESTRM, PCMPISTRI, PCMPISTRM and CRC32 (PCMPGTQ and
 * POPCNT are with their kin in interp_sse_int.c and interp_bit.c).
 *
 * The string compares follow the SDM's description step by step (vol.
 * 2B 4.1, "Imm8 Control Byte Operation for PCMPESTRI / PCMPESTRM /
 * PCMPISTRI / PCMPISTRM"): the lengths, the element-pair comparisons
 * with their overrides for invalid elements, the aggregation, the
 * polarity, then the index or mask and the flags.  They raise no SIMD
 * exception and are plain C; like the rest of SSE4.2 they exist only
 * where the host has SSE4.2 (interp_cpuid.c advertises it then).
 */
#include "interp.h"

#define CRC32C_POLY 0x82f63b78u /* Castagnoli, bit-reflected */

static bool
host_sse42(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}

/* imm8 fields */
#define STR_WORDS  0x01 /* bit 0: words, else bytes */
#define STR_SIGNED 0x02 /* bit 1: signed elements */
#define STR_AGG(i) (((i) >> 2) & 3)
#define STR_POL(i) (((i) >> 4) & 3)
#define STR_MSB                                                                \
	0x40 /* bit 6: most significant index, or a                            \
	      * byte/word mask instead of a bit mask */
enum { AGG_EQUAL_ANY, AGG_RANGES, AGG_EQUAL_EACH, AGG_EQUAL_ORDERED };

/* Element i of v, sign- or zero-extended. */
static int32_t
str_elem(const union interp_xmm *v, unsigned int imm, unsigned int i)
{
	if (imm & STR_WORDS)
		return (imm & STR_SIGNED) ? (int16_t)v->w[i] : v->w[i];
	return (imm & STR_SIGNED) ? (int8_t)v->b[i] : v->b[i];
}

/* An implicit length: the index of the first null element. */
static unsigned int
str_implicit_len(const union interp_xmm *v, unsigned int imm, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n && str_elem(v, imm, i) != 0; i++)
		;
	return i;
}

/* An explicit length (RAX/RDX with REX.W, else EAX/EDX): its absolute
 * value, saturated to the element count. */
static unsigned int
str_explicit_len(uint64_t r, bool rexw, unsigned int n)
{
	uint64_t mag;

	if (rexw)
		mag = (int64_t)r < 0 ? -r : r;
	else
		mag = (int32_t)r < 0 ? -(uint64_t)(int32_t)r : (uint32_t)r;
	return mag < n ? (unsigned int)mag : n;
}

/*
 * IntRes1 of str1 (the register operand, la valid elements) against
 * str2 (the register or memory operand, lb valid elements): bit j for
 * element j of str2.  BoolRes[j][i] compares str2[j] with str1[i];
 * where an element is invalid the SDM's table 4-7 overrides it.
 */
static unsigned int
str_intres1(const union interp_xmm *a, unsigned int la,
	    const union interp_xmm *b, unsigned int lb, unsigned int imm,
	    unsigned int n)
{
	unsigned int agg = STR_AGG(imm), res = 0;

	for (unsigned int j = 0; j < n; j++) {
		int32_t e2 = str_elem(b, imm, j);
		bool bit = false;

		switch (agg) {
		case AGG_EQUAL_ANY:
			for (unsigned int i = 0; i < la && j < lb; i++)
				bit |= str_elem(a, imm, i) == e2;
			break;
		case AGG_RANGES:
			/* str1 holds pairs [lo, hi]; an invalid bound is
			 * false, so a half-valid pair matches nothing. */
			for (unsigned int i = 0; i + 1 < la && j < lb; i += 2)
				bit |= e2 >= str_elem(a, imm, i) &&
				       e2 <= str_elem(a, imm, i + 1);
			break;
		case AGG_EQUAL_EACH:
			if (j < la && j < lb)
				bit = str_elem(a, imm, j) == e2;
			else
				bit = j >= la && j >= lb;
			break;
		default: /* AGG_EQUAL_ORDERED: str1 found at str2[j] */
			bit = true;
			for (unsigned int i = 0; i + j < n && bit; i++) {
				if (i >= la)
					break; /* str1 invalid: true */
				if (i + j >= lb)
					bit = false;
				else
					bit = str_elem(a, imm, i) ==
					      str_elem(b, imm, i + j);
			}
			break;
		}
		res |= (unsigned int)bit << j;
	}
	return res;
}

/* PCMPESTRI PCMPESTRM PCMPISTRI PCMPISTRM xmm1, xmm2/m128, imm8 */
static int
op_pcmpstr(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int imm = (unsigned int)insn->ops[2].imm & 0xff;
	unsigned int n = (imm & STR_WORDS) ? 8 : 16, la, lb, r1, r2;
	bool expl =
	    insn->mnem == X86_M_PCMPESTRI || insn->mnem == X86_M_PCMPESTRM;
	bool rexw = insn->opsize == 8;
	union interp_xmm a, b, m;
	uint64_t f = 0;
	int rc;

	if (!host_sse42())
		return interp_ud(c);
	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &b)) != INTERP_OK)
		return rc;
	interp_xmm_get(c, insn->ops[0].reg - X86_R_XMM0, &a);
	if (expl) {
		la = str_explicit_len(c->gpr[0], rexw, n);
		lb = str_explicit_len(c->gpr[2], rexw, n);
	} else {
		la = str_implicit_len(&a, imm, n);
		lb = str_implicit_len(&b, imm, n);
	}
	r1 = str_intres1(&a, la, &b, lb, imm, n);
	switch (STR_POL(imm)) {
	case 1: /* negative */
		r2 = ~r1 & ((1u << n) - 1);
		break;
	case 3: /* masked negative: only str2's valid elements */
		r2 = r1 ^ ((1u << lb) - 1);
		break;
	default:
		r2 = r1;
		break;
	}
	if (insn->mnem == X86_M_PCMPESTRI || insn->mnem == X86_M_PCMPISTRI) {
		unsigned int idx = n;

		if (r2 != 0)
			idx = (imm & STR_MSB)
				  ? 31u - (unsigned)__builtin_clz(r2)
				  : (unsigned)__builtin_ctz(r2);
		interp_gpr_write(c, 1, 4, idx); /* ECX */
	} else {
		memset(&m, 0, sizeof(m));
		if (!(imm & STR_MSB))
			m.d[0] = r2;
		else
			for (unsigned int i = 0; i < n; i++)
				if (r2 & (1u << i))
					memset(m.b + i * (16 / n), 0xff,
					       16 / n);
		interp_xmm_set(c, 0, &m);
	}
	if (r2 != 0)
		f |= PSL_C;
	if (lb < n)
		f |= PSL_Z;
	if (la < n)
		f |= 0x80; /* SF */
	if (r2 & 1)
		f |= PSL_V;
	interp_set_flags(c, INTERP_ARITH_FLAGS, f);
	return INTERP_OK;
}

/* CRC32 r32/r64, r/m8/16/32/64: CRC-32C of the source's bytes, least
 * significant first, into the destination's low 32 bits (no initial or
 * final inversion; a 64-bit destination's upper half is cleared).  The
 * flags are untouched. */
static int
op_crc32(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t crc, src;
	int rc;

	if (!host_sse42())
		return interp_ud(c);
	if ((rc = interp_opnd_read(c, insn, 0, &crc)) != INTERP_OK ||
	    (rc = interp_opnd_read(c, insn, 1, &src)) != INTERP_OK)
		return rc;
	crc = (uint32_t)crc;
	for (unsigned int i = 0; i < insn->ops[1].size * 8u; i++, src >>= 1)
		crc = (crc >> 1) ^ (CRC32C_POLY & -((crc ^ src) & 1));
	return interp_opnd_write(c, insn, 0, crc);
}

const struct interp_op interp_ops_sse_str[] = {
	{ X86_M_PCMPESTRI, op_pcmpstr }, { X86_M_PCMPESTRM, op_pcmpstr },
	{ X86_M_PCMPISTRI, op_pcmpstr }, { X86_M_PCMPISTRM, op_pcmpstr },
	{ X86_M_CRC32, op_crc32 },       { 0, NULL },
};
