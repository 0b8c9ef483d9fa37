/*
 * MMX and SSE integer instructions (and the bitwise and unpack ones of
 * SSE floating point) for the interp engine: PADD*, PSUB*, PMUL*,
 * compares, logic, unpacks, packs, shifts, min/max, averages, SSSE3's
 * and SSE4.1's integer additions, plus the shuffles (PSHUF*, SHUFPS,
 * SHUFPD, PSLLDQ, PSRLDQ, PALIGNR).
 *
 * The element-wise ones are executed by the host's own instruction on
 * the guest's operands in host registers: x86-64 hosts have SSE2, the
 * results are the architecture's by construction, and these
 * instructions raise no SIMD exceptions.  Instructions beyond SSE2 are
 * executed only where the host has them (else #UD, as a CPU without
 * them; interp_cpuid.c advertises them only then).  MMX forms run as
 * the SSE form on the low 8 bytes (never touching the host's x87/MMX
 * state); the few whose MMX form is not the low half of the SSE form
 * (high unpacks, packs, horizontal adds, PSHUFB) rearrange their
 * operands first.  The shuffles with an immediate are plain C.
 */
#include <pthread.h>

#include "interp.h"

typedef long long interp_v2di __attribute__((vector_size(16)));

typedef void (*host_fn)(union interp_xmm *d, const union interp_xmm *s);

#define HOST2(name)                                                            \
	static void host_##name(union interp_xmm *d,                           \
				const union interp_xmm *s)                     \
	{                                                                      \
		interp_v2di a, b;                                              \
		memcpy(&a, d, 16);                                             \
		memcpy(&b, s, 16);                                             \
		__asm__(#name " %1, %0" : "+x"(a) : "x"(b));                   \
		memcpy(d, &a, 16);                                             \
	}

/* How the MMX form relates to the SSE form (see the header comment). */
enum {
	K_SSE,   /* no MMX form */
	K_LOW,   /* the SSE form's low 8 bytes */
	K_HIGH,  /* PUNPCKH*: the low unpack of the operands' high dwords */
	K_CAT,   /* packs, horizontal ops: the SSE form of a:b with itself */
	K_SHUFB, /* PSHUFB: indices taken modulo 8 */
};

/* What the host must have. */
enum { H_SSE2, H_SSE3, H_SSSE3, H_SSE41, H_SSE42 };

struct int_op {
	host_fn fn, mmx_fn; /* mmx_fn: for K_HIGH */
	uint8_t kind, host;
};

/* X(mnemonic, kind, host feature) */
#define INT_OPS(X)                                                             \
	X(PADDB, K_LOW, H_SSE2)                                                \
	X(PADDW, K_LOW, H_SSE2)                                                \
	X(PADDD, K_LOW, H_SSE2)                                                \
	X(PADDQ, K_LOW, H_SSE2)                                                \
	X(PSUBB, K_LOW, H_SSE2)                                                \
	X(PSUBW, K_LOW, H_SSE2)                                                \
	X(PSUBD, K_LOW, H_SSE2)                                                \
	X(PSUBQ, K_LOW, H_SSE2)                                                \
	X(PADDSB, K_LOW, H_SSE2)                                               \
	X(PADDSW, K_LOW, H_SSE2)                                               \
	X(PADDUSB, K_LOW, H_SSE2)                                              \
	X(PADDUSW, K_LOW, H_SSE2)                                              \
	X(PSUBSB, K_LOW, H_SSE2)                                               \
	X(PSUBSW, K_LOW, H_SSE2)                                               \
	X(PSUBUSB, K_LOW, H_SSE2)                                              \
	X(PSUBUSW, K_LOW, H_SSE2)                                              \
	X(PMULLW, K_LOW, H_SSE2)                                               \
	X(PMULHW, K_LOW, H_SSE2)                                               \
	X(PMULHUW, K_LOW, H_SSE2)                                              \
	X(PMULUDQ, K_LOW, H_SSE2)                                              \
	X(PMADDWD, K_LOW, H_SSE2)                                              \
	X(PSADBW, K_LOW, H_SSE2)                                               \
	X(PAVGB, K_LOW, H_SSE2)                                                \
	X(PAVGW, K_LOW, H_SSE2)                                                \
	X(PMINUB, K_LOW, H_SSE2)                                               \
	X(PMAXUB, K_LOW, H_SSE2)                                               \
	X(PMINSW, K_LOW, H_SSE2)                                               \
	X(PMAXSW, K_LOW, H_SSE2)                                               \
	X(PAND, K_LOW, H_SSE2)                                                 \
	X(PANDN, K_LOW, H_SSE2)                                                \
	X(POR, K_LOW, H_SSE2)                                                  \
	X(PXOR, K_LOW, H_SSE2)                                                 \
	X(PCMPEQB, K_LOW, H_SSE2)                                              \
	X(PCMPEQW, K_LOW, H_SSE2)                                              \
	X(PCMPEQD, K_LOW, H_SSE2)                                              \
	X(PCMPGTB, K_LOW, H_SSE2)                                              \
	X(PCMPGTW, K_LOW, H_SSE2)                                              \
	X(PCMPGTD, K_LOW, H_SSE2)                                              \
	X(PUNPCKLBW, K_LOW, H_SSE2)                                            \
	X(PUNPCKLWD, K_LOW, H_SSE2)                                            \
	X(PUNPCKLDQ, K_LOW, H_SSE2)                                            \
	X(PUNPCKHBW, K_HIGH, H_SSE2)                                           \
	X(PUNPCKHWD, K_HIGH, H_SSE2)                                           \
	X(PUNPCKHDQ, K_HIGH, H_SSE2)                                           \
	X(PUNPCKLQDQ, K_SSE, H_SSE2)                                           \
	X(PUNPCKHQDQ, K_SSE, H_SSE2)                                           \
	X(PACKSSWB, K_CAT, H_SSE2)                                             \
	X(PACKSSDW, K_CAT, H_SSE2)                                             \
	X(PACKUSWB, K_CAT, H_SSE2)                                             \
	X(PSRLW, K_LOW, H_SSE2)                                                \
	X(PSRLD, K_LOW, H_SSE2)                                                \
	X(PSRLQ, K_LOW, H_SSE2)                                                \
	X(PSRAW, K_LOW, H_SSE2)                                                \
	X(PSRAD, K_LOW, H_SSE2)                                                \
	X(PSLLW, K_LOW, H_SSE2)                                                \
	X(PSLLD, K_LOW, H_SSE2)                                                \
	X(PSLLQ, K_LOW, H_SSE2)                                                \
	X(ANDPS, K_SSE, H_SSE2)                                                \
	X(ANDPD, K_SSE, H_SSE2)                                                \
	X(ANDNPS, K_SSE, H_SSE2)                                               \
	X(ANDNPD, K_SSE, H_SSE2)                                               \
	X(ORPS, K_SSE, H_SSE2)                                                 \
	X(ORPD, K_SSE, H_SSE2)                                                 \
	X(XORPS, K_SSE, H_SSE2)                                                \
	X(XORPD, K_SSE, H_SSE2)                                                \
	X(UNPCKLPS, K_SSE, H_SSE2)                                             \
	X(UNPCKLPD, K_SSE, H_SSE2)                                             \
	X(UNPCKHPS, K_SSE, H_SSE2)                                             \
	X(UNPCKHPD, K_SSE, H_SSE2)                                             \
	X(PSHUFB, K_SHUFB, H_SSSE3)                                            \
	X(PHADDW, K_CAT, H_SSSE3)                                              \
	X(PHADDD, K_CAT, H_SSSE3)                                              \
	X(PHADDSW, K_CAT, H_SSSE3)                                             \
	X(PHSUBW, K_CAT, H_SSSE3)                                              \
	X(PHSUBD, K_CAT, H_SSSE3)                                              \
	X(PHSUBSW, K_CAT, H_SSSE3)                                             \
	X(PMADDUBSW, K_LOW, H_SSSE3)                                           \
	X(PMULHRSW, K_LOW, H_SSSE3)                                            \
	X(PSIGNB, K_LOW, H_SSSE3)                                              \
	X(PSIGNW, K_LOW, H_SSSE3)                                              \
	X(PSIGND, K_LOW, H_SSSE3)                                              \
	X(PABSB, K_LOW, H_SSSE3)                                               \
	X(PABSW, K_LOW, H_SSSE3)                                               \
	X(PABSD, K_LOW, H_SSSE3)                                               \
	X(PMINSB, K_SSE, H_SSE41)                                              \
	X(PMINSD, K_SSE, H_SSE41)                                              \
	X(PMINUW, K_SSE, H_SSE41)                                              \
	X(PMINUD, K_SSE, H_SSE41)                                              \
	X(PMAXSB, K_SSE, H_SSE41)                                              \
	X(PMAXSD, K_SSE, H_SSE41)                                              \
	X(PMAXUW, K_SSE, H_SSE41)                                              \
	X(PMAXUD, K_SSE, H_SSE41)                                              \
	X(PMULLD, K_SSE, H_SSE41)                                              \
	X(PMULDQ, K_SSE, H_SSE41)                                              \
	X(PCMPEQQ, K_SSE, H_SSE41)                                             \
	X(PACKUSDW, K_SSE, H_SSE41)                                            \
	X(PMOVSXBW, K_SSE, H_SSE41)                                            \
	X(PMOVSXBD, K_SSE, H_SSE41)                                            \
	X(PMOVSXBQ, K_SSE, H_SSE41)                                            \
	X(PMOVSXWD, K_SSE, H_SSE41)                                            \
	X(PMOVSXWQ, K_SSE, H_SSE41)                                            \
	X(PMOVSXDQ, K_SSE, H_SSE41)                                            \
	X(PMOVZXBW, K_SSE, H_SSE41)                                            \
	X(PMOVZXBD, K_SSE, H_SSE41)                                            \
	X(PMOVZXBQ, K_SSE, H_SSE41)                                            \
	X(PMOVZXWD, K_SSE, H_SSE41)                                            \
	X(PMOVZXWQ, K_SSE, H_SSE41)                                            \
	X(PMOVZXDQ, K_SSE, H_SSE41)                                            \
	X(PCMPGTQ, K_SSE, H_SSE42)

#define X(name, kind, host) HOST2(name)
INT_OPS(X)
#undef X

static struct int_op int_ops[X86_M_COUNT];
static bool host_has[H_SSE42 + 1];
static pthread_once_t int_ops_once = PTHREAD_ONCE_INIT;

static void
int_ops_build(void)
{
#define X(name, k, h)                                                          \
	int_ops[X86_M_##name] =                                                \
	    (struct int_op){ .fn = host_##name, .kind = k, .host = h };
	INT_OPS(X)
#undef X
	int_ops[X86_M_PUNPCKHBW].mmx_fn = host_PUNPCKLBW;
	int_ops[X86_M_PUNPCKHWD].mmx_fn = host_PUNPCKLWD;
	int_ops[X86_M_PUNPCKHDQ].mmx_fn = host_PUNPCKLDQ;
	__builtin_cpu_init();
	host_has[H_SSE2] = true;
	host_has[H_SSE3] = __builtin_cpu_supports("sse3");
	host_has[H_SSSE3] = __builtin_cpu_supports("ssse3");
	host_has[H_SSE41] = __builtin_cpu_supports("sse4.1");
	host_has[H_SSE42] = __builtin_cpu_supports("sse4.2");
}

static bool
is_mmx(const struct x86_operand *op)
{
	return op->type == X86_OPND_REG && x86_reg_class(op->reg) == X86_RC_MMX;
}

/* The checks of an MMX (destination an MMX register) or SSE form. */
static int
simd_check(struct interp_cpu *c, const struct x86_instr *insn)
{
	return is_mmx(&insn->ops[0]) ? interp_mmx_check(c)
				     : interp_sse_check(c);
}

/* Operands 0 and 1 (an immediate shift count: its byte). */
static int
read_two(struct interp_cpu *c, const struct x86_instr *insn,
	 union interp_xmm *d, union interp_xmm *s)
{
	int rc;

	if ((rc = interp_simd_read(c, insn, 1, s)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 0, d)) != INTERP_OK)
		return rc;
	if (insn->ops[1].type == X86_OPND_IMM)
		s->q[0] &= 0xff;
	return INTERP_OK;
}

/* Write the destination register; an MMX one enters MMX mode. */
static int
write_dst(struct interp_cpu *c, const struct x86_instr *insn,
	  union interp_xmm *d)
{
	if (is_mmx(&insn->ops[0])) {
		d->q[1] = 0;
		interp_mmx_enter(c);
	}
	return interp_simd_write(c, insn, 0, d);
}

/* The start of every instruction here: the host must have the
 * extension (else #UD, as a CPU without it), then the MMX or SSE checks
 * and operands 0 and 1. */
static int
int_begin(struct interp_cpu *c, const struct x86_instr *insn, unsigned int host,
	  union interp_xmm *d, union interp_xmm *s)
{
	int rc;

	pthread_once(&int_ops_once, int_ops_build);
	if (!host_has[host])
		return interp_ud(c);
	if ((rc = simd_check(c, insn)) != INTERP_OK)
		return rc;
	return read_two(c, insn, d, s);
}

static int
op_int(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct int_op *o;
	bool mmx = is_mmx(&insn->ops[0]);
	union interp_xmm d, s;
	host_fn fn;
	int rc;

	pthread_once(&int_ops_once, int_ops_build);
	o = &int_ops[insn->mnem];
	fn = o->fn;
	if ((mmx && o->kind == K_SSE) || insn->ops[0].type != X86_OPND_REG)
		return interp_ud(c);
	if ((rc = int_begin(c, insn, o->host, &d, &s)) != INTERP_OK)
		return rc;
	if (mmx) {
		switch (o->kind) {
		case K_HIGH:
			d.q[0] >>= 32;
			s.q[0] >>= 32;
			fn = o->mmx_fn;
			break;
		case K_CAT:
			d.q[1] = s.q[0];
			s = d;
			break;
		case K_SHUFB:
			for (int i = 0; i < 8; i++)
				s.b[i] &= 0x87;
			break;
		default:
			break;
		}
	}
	fn(&d, &s);
	return write_dst(c, insn, &d);
}

/* PSLLDQ / PSRLDQ xmm, imm8: byte shifts of the whole register. */
static int
op_byteshift(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int n = (unsigned int)insn->ops[1].imm & 0xff;
	union interp_xmm d, s, r = { 0 };
	int rc;

	if ((rc = int_begin(c, insn, H_SSE2, &d, &s)) != INTERP_OK)
		return rc;
	if (n < 16) {
		if (insn->mnem == X86_M_PSLLDQ)
			memcpy(r.b + n, d.b, 16 - n);
		else
			memcpy(r.b, d.b + n, 16 - n);
	}
	return write_dst(c, insn, &r);
}

/* PSHUFD PSHUFLW PSHUFHW PSHUFW SHUFPS SHUFPD PALIGNR: immediate
 * shuffles. */
static int
op_shuffle(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int imm = (unsigned int)insn->ops[2].imm & 0xff;
	union interp_xmm d, s, r;
	uint8_t cat[32];
	int rc;

	rc = int_begin(c, insn, insn->mnem == X86_M_PALIGNR ? H_SSSE3 : H_SSE2,
		       &d, &s);
	if (rc != INTERP_OK)
		return rc;
	r = d;
	switch (insn->mnem) {
	case X86_M_PSHUFD:
		for (int i = 0; i < 4; i++)
			r.d[i] = s.d[(imm >> (2 * i)) & 3];
		break;
	case X86_M_PSHUFW:
	case X86_M_PSHUFLW:
		r = s;
		for (int i = 0; i < 4; i++)
			r.w[i] = s.w[(imm >> (2 * i)) & 3];
		break;
	case X86_M_PSHUFHW:
		r = s;
		for (int i = 0; i < 4; i++)
			r.w[4 + i] = s.w[4 + ((imm >> (2 * i)) & 3)];
		break;
	case X86_M_SHUFPS:
		r.d[0] = d.d[imm & 3];
		r.d[1] = d.d[(imm >> 2) & 3];
		r.d[2] = s.d[(imm >> 4) & 3];
		r.d[3] = s.d[(imm >> 6) & 3];
		break;
	case X86_M_SHUFPD:
		r.q[0] = d.q[imm & 1];
		r.q[1] = s.q[(imm >> 1) & 1];
		break;
	default: { /* PALIGNR: (dst:src) >> imm bytes */
		unsigned int n = is_mmx(&insn->ops[0]) ? 8 : 16;

		memset(cat, 0, sizeof(cat));
		memcpy(cat, s.b, n);
		memcpy(cat + n, d.b, n);
		memset(&r, 0, sizeof(r));
		if (imm < 2 * n)
			memcpy(r.b, cat + imm,
			       2 * n - imm < n ? 2 * n - imm : n);
		break;
	}
	}
	return write_dst(c, insn, &r);
}

/* SSE4.1 blends: by immediate (PBLENDW BLENDPS BLENDPD) or by XMM0's
 * element sign bits (PBLENDVB BLENDVPS BLENDVPD). */
static int
op_blend(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int esz, imm = 0;
	union interp_xmm d, s, m;
	int rc;

	if ((rc = int_begin(c, insn, H_SSE41, &d, &s)) != INTERP_OK)
		return rc;
	switch (insn->mnem) {
	case X86_M_PBLENDW:
		esz = 2;
		break;
	case X86_M_BLENDPS:
	case X86_M_BLENDVPS:
		esz = 4;
		break;
	case X86_M_BLENDPD:
	case X86_M_BLENDVPD:
		esz = 8;
		break;
	default:
		esz = 1;
		break;
	}
	if (insn->mnem == X86_M_PBLENDW || insn->mnem == X86_M_BLENDPS ||
	    insn->mnem == X86_M_BLENDPD) {
		imm = (unsigned int)insn->ops[2].imm & 0xff;
	} else {
		interp_xmm_get(c, 0, &m);
		for (unsigned int i = 0; i < 16 / esz; i++)
			imm |= (unsigned int)(m.b[i * esz + esz - 1] >> 7) << i;
	}
	for (unsigned int i = 0; i < 16 / esz; i++)
		if (imm & (1u << i))
			memcpy(d.b + i * esz, s.b + i * esz, esz);
	return write_dst(c, insn, &d);
}

/* PTEST: ZF = !(dst & src), CF = !(~dst & src), the rest cleared. */
static int
op_ptest(struct interp_cpu *c, const struct x86_instr *insn)
{
	union interp_xmm d, s;
	uint64_t f = 0;
	int rc;

	if ((rc = int_begin(c, insn, H_SSE41, &d, &s)) != INTERP_OK)
		return rc;
	if (((d.q[0] & s.q[0]) | (d.q[1] & s.q[1])) == 0)
		f |= PSL_Z;
	if (((~d.q[0] & s.q[0]) | (~d.q[1] & s.q[1])) == 0)
		f |= PSL_C;
	interp_set_flags(c, INTERP_ARITH_FLAGS, f);
	return INTERP_OK;
}

/* PHMINPOSUW: the smallest unsigned word and its index. */
static int
op_phminposuw(struct interp_cpu *c, const struct x86_instr *insn)
{
	union interp_xmm d, s, r = { 0 };
	unsigned int best = 0;
	int rc;

	if ((rc = int_begin(c, insn, H_SSE41, &d, &s)) != INTERP_OK)
		return rc;
	for (unsigned int i = 1; i < 8; i++)
		if (s.w[i] < s.w[best])
			best = i;
	r.w[0] = s.w[best];
	r.w[1] = (uint16_t)best;
	return write_dst(c, insn, &r);
}

/* MPSADBW: eight sums of absolute differences of 4-byte blocks. */
static int
op_mpsadbw(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int imm = (unsigned int)insn->ops[2].imm;
	unsigned int doff = (imm & 4) ? 4 : 0, soff = (imm & 3) * 4;
	union interp_xmm d, s, r;
	int rc;

	if ((rc = int_begin(c, insn, H_SSE41, &d, &s)) != INTERP_OK)
		return rc;
	for (unsigned int i = 0; i < 8; i++) {
		unsigned int sum = 0;

		for (unsigned int j = 0; j < 4; j++) {
			int a = d.b[doff + i + j], b = s.b[soff + j];

			sum += (unsigned int)(a > b ? a - b : b - a);
		}
		r.w[i] = (uint16_t)sum;
	}
	return write_dst(c, insn, &r);
}

/* INSERTPS: one single (imm8[7:6] of a register, or m32) into element
 * imm8[5:4], then the elements imm8[3:0] zeroed. */
static int
op_insertps(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int imm = (unsigned int)insn->ops[2].imm & 0xff;
	union interp_xmm d, s;
	int rc;

	if ((rc = int_begin(c, insn, H_SSE41, &d, &s)) != INTERP_OK)
		return rc;
	d.d[(imm >> 4) & 3] =
	    insn->ops[1].type == X86_OPND_MEM ? s.d[0] : s.d[imm >> 6];
	for (int i = 0; i < 4; i++)
		if (imm & (1u << i))
			d.d[i] = 0;
	return write_dst(c, insn, &d);
}

const struct interp_op interp_ops_sse_int[] = {
	{ X86_M_MPSADBW, op_mpsadbw },
	{ X86_M_INSERTPS, op_insertps },
#define X(name, kind, host) { X86_M_##name, op_int },
	INT_OPS(X)
#undef X
	    { X86_M_PSLLDQ, op_byteshift },
	{ X86_M_PSRLDQ, op_byteshift },
	{ X86_M_PSHUFD, op_shuffle },
	{ X86_M_PSHUFLW, op_shuffle },
	{ X86_M_PSHUFHW, op_shuffle },
	{ X86_M_PSHUFW, op_shuffle },
	{ X86_M_SHUFPS, op_shuffle },
	{ X86_M_SHUFPD, op_shuffle },
	{ X86_M_PALIGNR, op_shuffle },
	{ X86_M_PBLENDW, op_blend },
	{ X86_M_BLENDPS, op_blend },
	{ X86_M_BLENDPD, op_blend },
	{ X86_M_PBLENDVB, op_blend },
	{ X86_M_BLENDVPS, op_blend },
	{ X86_M_BLENDVPD, op_blend },
	{ X86_M_PTEST, op_ptest },
	{ X86_M_PHMINPOSUW, op_phminposuw },
	{ 0, NULL },
};
