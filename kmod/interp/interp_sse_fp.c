/*
 * SSE/SSE2/SSE3/SSE4.1 floating point for the interp engine: arithmetic,
 * square roots and approximations, min/max, compares into masks and
 * into EFLAGS, conversions (MXCSR.RC or truncating), ROUNDPS & co.
 *
 * Each is executed by the same instruction on the host's SSE unit with
 * the guest's MXCSR rounding, DAZ and FZ loaded and every exception
 * masked (interp_sse_fp_begin/end): IEEE results, NaN propagation,
 * denormal handling and the exception flags are then the
 * architecture's bit for bit, and an exception the guest left unmasked
 * becomes #XM before anything is written.  The MMX conversions
 * (CVTPI2PS ...) run as their XMM twins on the low elements, so the
 * host's own x87/MMX state is never touched.  RCPPS/RSQRTPS give the
 * host model's approximations, as they would on that CPU.
 */
#include <pthread.h>

#include "interp.h"

typedef long long interp_v2di __attribute__((vector_size(16)));

typedef void (*fp_fn)(union interp_xmm *d, const union interp_xmm *s,
		      unsigned int imm);

#define FP2(name)                                                              \
	static void fp_##name(union interp_xmm *d, const union interp_xmm *s,  \
			      unsigned int imm)                                \
	{                                                                      \
		interp_v2di a, b;                                              \
		(void)imm;                                                     \
		memcpy(&a, d, 16);                                             \
		memcpy(&b, s, 16);                                             \
		__asm__ volatile(#name " %1, %0" : "+x"(a) : "x"(b));          \
		memcpy(d, &a, 16);                                             \
	}

/* An immediate form: the predicate or rounding control is part of the
 * host instruction, one case per value. */
#define FPI_CASE(name, n)                                                      \
	case n:                                                                \
		__asm__ volatile(#name " %2, %1, %0"                           \
				 : "+x"(a)                                     \
				 : "x"(b), "i"(n));                            \
		break;
#define FPI_CASES8(name)                                                       \
	FPI_CASE(name, 0)                                                      \
	FPI_CASE(name, 1)                                                      \
	FPI_CASE(name, 2)                                                      \
	FPI_CASE(name, 3)                                                      \
	FPI_CASE(name, 4)                                                      \
	FPI_CASE(name, 5) FPI_CASE(name, 6) FPI_CASE(name, 7)
#define FPI(name, mask, CASES)                                                 \
	static void fp_##name(union interp_xmm *d, const union interp_xmm *s,  \
			      unsigned int imm)                                \
	{                                                                      \
		interp_v2di a, b;                                              \
		memcpy(&a, d, 16);                                             \
		memcpy(&b, s, 16);                                             \
		switch (imm & (mask)) {                                        \
			CASES                                                  \
		}                                                              \
		memcpy(d, &a, 16);                                             \
	}

enum { H_SSE2, H_SSE3, H_SSE41 };

/* X(mnemonic, host feature): dst = op(dst, src) */
#define FP_OPS(X)                                                              \
	X(ADDPS, H_SSE2)                                                       \
	X(ADDPD, H_SSE2)                                                       \
	X(ADDSS, H_SSE2)                                                       \
	X(ADDSD, H_SSE2)                                                       \
	X(SUBPS, H_SSE2)                                                       \
	X(SUBPD, H_SSE2)                                                       \
	X(SUBSS, H_SSE2)                                                       \
	X(SUBSD, H_SSE2)                                                       \
	X(MULPS, H_SSE2)                                                       \
	X(MULPD, H_SSE2)                                                       \
	X(MULSS, H_SSE2)                                                       \
	X(MULSD, H_SSE2)                                                       \
	X(DIVPS, H_SSE2)                                                       \
	X(DIVPD, H_SSE2)                                                       \
	X(DIVSS, H_SSE2)                                                       \
	X(DIVSD, H_SSE2)                                                       \
	X(MINPS, H_SSE2)                                                       \
	X(MINPD, H_SSE2)                                                       \
	X(MINSS, H_SSE2)                                                       \
	X(MINSD, H_SSE2)                                                       \
	X(MAXPS, H_SSE2)                                                       \
	X(MAXPD, H_SSE2)                                                       \
	X(MAXSS, H_SSE2)                                                       \
	X(MAXSD, H_SSE2)                                                       \
	X(SQRTPS, H_SSE2)                                                      \
	X(SQRTPD, H_SSE2)                                                      \
	X(SQRTSS, H_SSE2)                                                      \
	X(SQRTSD, H_SSE2)                                                      \
	X(RCPPS, H_SSE2)                                                       \
	X(RCPSS, H_SSE2)                                                       \
	X(RSQRTPS, H_SSE2)                                                     \
	X(RSQRTSS, H_SSE2)                                                     \
	X(CVTPS2PD, H_SSE2)                                                    \
	X(CVTPD2PS, H_SSE2)                                                    \
	X(CVTSS2SD, H_SSE2)                                                    \
	X(CVTSD2SS, H_SSE2)                                                    \
	X(CVTDQ2PS, H_SSE2)                                                    \
	X(CVTPS2DQ, H_SSE2)                                                    \
	X(CVTTPS2DQ, H_SSE2)                                                   \
	X(CVTDQ2PD, H_SSE2)                                                    \
	X(CVTPD2DQ, H_SSE2)                                                    \
	X(CVTTPD2DQ, H_SSE2)                                                   \
	X(ADDSUBPS, H_SSE3)                                                    \
	X(ADDSUBPD, H_SSE3)                                                    \
	X(HADDPS, H_SSE3)                                                      \
	X(HADDPD, H_SSE3)                                                      \
	X(HSUBPS, H_SSE3)                                                      \
	X(HSUBPD, H_SSE3)

#define X(name, host) FP2(name)
FP_OPS(X)
#undef X

FPI(CMPPS, 7, FPI_CASES8(CMPPS))
FPI(CMPPD, 7, FPI_CASES8(CMPPD))
FPI(CMPSS, 7, FPI_CASES8(CMPSS))
FPI(CMPSD, 7, FPI_CASES8(CMPSD))
#define FPI_CASES16(name)                                                      \
	FPI_CASES8(name)                                                       \
	FPI_CASE(name, 8)                                                      \
	FPI_CASE(name, 9)                                                      \
	FPI_CASE(name, 10)                                                     \
	FPI_CASE(name, 11)                                                     \
	FPI_CASE(name, 12)                                                     \
	FPI_CASE(name, 13) FPI_CASE(name, 14) FPI_CASE(name, 15)
FPI(ROUNDPS, 15, FPI_CASES16(ROUNDPS))
FPI(ROUNDPD, 15, FPI_CASES16(ROUNDPD))
FPI(ROUNDSS, 15, FPI_CASES16(ROUNDSS))
FPI(ROUNDSD, 15, FPI_CASES16(ROUNDSD))

struct fp_op {
	fp_fn fn;
	uint8_t host;
};

static struct fp_op fp_ops[X86_M_COUNT];
static bool host_has[H_SSE41 + 1];
static pthread_once_t fp_ops_once = PTHREAD_ONCE_INIT;

static void
fp_ops_build(void)
{
#define X(name, h) fp_ops[X86_M_##name] = (struct fp_op){ fp_##name, h };
	FP_OPS(X)
	X(CMPPS, H_SSE2)
	X(CMPPD, H_SSE2)
	X(CMPSS, H_SSE2)
	X(CMPSD, H_SSE2)
	X(ROUNDPS, H_SSE41)
	X(ROUNDPD, H_SSE41)
	X(ROUNDSS, H_SSE41)
	X(ROUNDSD, H_SSE41)
#undef X
	__builtin_cpu_init();
	host_has[H_SSE2] = true;
	host_has[H_SSE3] = __builtin_cpu_supports("sse3");
	host_has[H_SSE41] = __builtin_cpu_supports("sse4.1");
}

static bool
is_mmx(const struct x86_operand *op)
{
	return op->type == X86_OPND_REG && x86_reg_class(op->reg) == X86_RC_MMX;
}

/* dst(xmm) = op(dst, src [, imm]) on the host with the guest's MXCSR. */
static int
op_fp(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct fp_op *o;
	union interp_xmm d, s;
	uint32_t host;
	int rc;

	pthread_once(&fp_ops_once, fp_ops_build);
	o = &fp_ops[insn->mnem];
	if (!host_has[o->host] || insn->ops[0].type != X86_OPND_REG)
		return interp_ud(c);
	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 0, &d)) != INTERP_OK)
		return rc;
	host = interp_sse_fp_begin(c);
	o->fn(&d, &s, insn->nops > 2 ? (unsigned int)insn->ops[2].imm : 0);
	if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
		return rc;
	return interp_simd_write(c, insn, 0, &d);
}

/*
 * The MMX conversions as their XMM twins: CVTPI2PS (CVTDQ2PS into the
 * low two singles), CVTPI2PD (CVTDQ2PD), CVT(T)PS2PI (CVT(T)PS2DQ of
 * the low two), CVT(T)PD2PI (CVT(T)PD2DQ).  The zero elements added
 * convert exactly and raise nothing.  An MMX register operand makes
 * them MMX instructions (CVTPI2Px from memory is not).
 */
static int
op_cvt_mmx(struct interp_cpu *c, const struct x86_instr *insn)
{
	bool mmx_src = is_mmx(&insn->ops[1]), mmx_dst = is_mmx(&insn->ops[0]);
	union interp_xmm d, s, t;
	uint32_t host;
	int rc;

	if ((rc = interp_sse_check(c)) != INTERP_OK)
		return rc;
	if ((mmx_src || mmx_dst) && (c->fpu.fsw & 0x80))
		return interp_raise(c, 16, false, 0);
	if ((rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 0, &d)) != INTERP_OK)
		return rc;
	if (insn->mnem == X86_M_CVTPI2PS || insn->mnem == X86_M_CVTPS2PI ||
	    insn->mnem == X86_M_CVTTPS2PI)
		s.q[1] = 0;
	t = d;
	host = interp_sse_fp_begin(c);
	switch (insn->mnem) {
	case X86_M_CVTPI2PS:
		fp_CVTDQ2PS(&t, &s, 0);
		t.q[1] = d.q[1];
		break;
	case X86_M_CVTPI2PD:
		fp_CVTDQ2PD(&t, &s, 0);
		break;
	case X86_M_CVTPS2PI:
		fp_CVTPS2DQ(&t, &s, 0);
		break;
	case X86_M_CVTTPS2PI:
		fp_CVTTPS2DQ(&t, &s, 0);
		break;
	case X86_M_CVTPD2PI:
		fp_CVTPD2DQ(&t, &s, 0);
		break;
	default:
		fp_CVTTPD2DQ(&t, &s, 0);
		break;
	}
	if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
		return rc;
	if (mmx_src || mmx_dst)
		interp_mmx_enter(c);
	return interp_simd_write(c, insn, 0, &t);
}

/* CVTSI2SS / CVTSI2SD xmm, r/m32 or r/m64. */
static int
op_cvtsi2s(struct interp_cpu *c, const struct x86_instr *insn)
{
	bool q = insn->ops[1].size == 8;
	interp_v2di a;
	union interp_xmm d, s;
	uint32_t host;
	int rc;

	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK)
		return rc;
	interp_xmm_get(c, insn->ops[0].reg - X86_R_XMM0, &d);
	memcpy(&a, &d, 16);
	host = interp_sse_fp_begin(c);
	if (insn->mnem == X86_M_CVTSI2SS) {
		if (q)
			__asm__ volatile("cvtsi2ssq %1, %0"
					 : "+x"(a)
					 : "r"((int64_t)s.q[0]));
		else
			__asm__ volatile("cvtsi2ssl %1, %0"
					 : "+x"(a)
					 : "r"((int32_t)s.d[0]));
	} else {
		if (q)
			__asm__ volatile("cvtsi2sdq %1, %0"
					 : "+x"(a)
					 : "r"((int64_t)s.q[0]));
		else
			__asm__ volatile("cvtsi2sdl %1, %0"
					 : "+x"(a)
					 : "r"((int32_t)s.d[0]));
	}
	if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
		return rc;
	memcpy(&d, &a, 16);
	interp_xmm_set(c, insn->ops[0].reg - X86_R_XMM0, &d);
	return INTERP_OK;
}

/* CVT(T)SS2SI / CVT(T)SD2SI r32/r64, xmm/m: the "integer indefinite"
 * (0x80000000...) for NaNs and out-of-range values, from the host. */
static int
op_cvts2si(struct interp_cpu *c, const struct x86_instr *insn)
{
	bool q = insn->ops[0].size == 8;
	interp_v2di b;
	union interp_xmm s;
	uint64_t r;
	uint32_t host;
	int rc;

	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK)
		return rc;
	memcpy(&b, &s, 16);
	host = interp_sse_fp_begin(c);
#define CVT(insn_name)                                                         \
	do {                                                                   \
		if (q) {                                                       \
			int64_t v;                                             \
			__asm__ volatile(insn_name " %1, %0"                   \
					 : "=r"(v)                             \
					 : "x"(b));                            \
			r = (uint64_t)v;                                       \
		} else {                                                       \
			int32_t v;                                             \
			__asm__ volatile(insn_name " %1, %0"                   \
					 : "=r"(v)                             \
					 : "x"(b));                            \
			r = (uint32_t)v;                                       \
		}                                                              \
	} while (0)
	switch (insn->mnem) {
	case X86_M_CVTSS2SI:
		CVT("cvtss2si");
		break;
	case X86_M_CVTTSS2SI:
		CVT("cvttss2si");
		break;
	case X86_M_CVTSD2SI:
		CVT("cvtsd2si");
		break;
	default:
		CVT("cvttsd2si");
		break;
	}
#undef CVT
	if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
		return rc;
	interp_reg_write(c, insn->ops[0].reg, r);
	return INTERP_OK;
}

/* COMISS / UCOMISS / COMISD / UCOMISD: ZF PF CF from the compare (all
 * three for unordered), OF SF AF cleared. */
static int
op_comis(struct interp_cpu *c, const struct x86_instr *insn)
{
	interp_v2di a, b;
	union interp_xmm d, s;
	bool zf, pf, cf;
	uint32_t host;
	int rc;

	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 0, &d)) != INTERP_OK)
		return rc;
	memcpy(&a, &d, 16);
	memcpy(&b, &s, 16);
	host = interp_sse_fp_begin(c);
	switch (insn->mnem) {
	case X86_M_COMISS:
		__asm__ volatile("comiss %3, %4"
				 : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
				 : "x"(b), "x"(a));
		break;
	case X86_M_UCOMISS:
		__asm__ volatile("ucomiss %3, %4"
				 : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
				 : "x"(b), "x"(a));
		break;
	case X86_M_COMISD:
		__asm__ volatile("comisd %3, %4"
				 : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
				 : "x"(b), "x"(a));
		break;
	default:
		__asm__ volatile("ucomisd %3, %4"
				 : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
				 : "x"(b), "x"(a));
		break;
	}
	if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
		return rc;
	interp_set_flags(c, INTERP_ARITH_FLAGS,
			 (zf ? PSL_Z : 0) | (pf ? INTERP_PSL_P : 0) |
			     (cf ? PSL_C : 0));
	return INTERP_OK;
}

/* One scalar step on the host (MXCSR already the guest's). */
static uint32_t
host_ss(bool mul, uint32_t a, uint32_t b)
{
	float fa, fb;

	memcpy(&fa, &a, 4);
	memcpy(&fb, &b, 4);
	if (mul)
		__asm__ volatile("mulss %1, %0" : "+x"(fa) : "x"(fb));
	else
		__asm__ volatile("addss %1, %0" : "+x"(fa) : "x"(fb));
	memcpy(&a, &fa, 4);
	return a;
}

static uint64_t
host_sd(bool mul, uint64_t a, uint64_t b)
{
	double fa, fb;

	memcpy(&fa, &a, 8);
	memcpy(&fb, &b, 8);
	if (mul)
		__asm__ volatile("mulsd %1, %0" : "+x"(fa) : "x"(fb));
	else
		__asm__ volatile("addsd %1, %0" : "+x"(fa) : "x"(fb));
	memcpy(&a, &fa, 8);
	return a;
}

/*
 * DPPS / DPPD: the products imm8[7:4] selects (others +0.0), summed
 * pairwise in the SDM's order, into the elements imm8[3:0] selects
 * (others +0.0); each step rounds as MXCSR says.
 */
static int
op_dpp(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int imm = (unsigned int)insn->ops[2].imm & 0xff;
	union interp_xmm d, s, r = { 0 };
	uint32_t host;
	int rc;

	pthread_once(&fp_ops_once, fp_ops_build);
	if (!host_has[H_SSE41])
		return interp_ud(c);
	if ((rc = interp_sse_check(c)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 1, &s)) != INTERP_OK ||
	    (rc = interp_simd_read(c, insn, 0, &d)) != INTERP_OK)
		return rc;
	/* The products, the pairwise sums and the last sum are separate
	 * steps to the CPU: each finds its exceptions (a denormal product
	 * is a denormal operand of the sum) and an unmasked one ends the
	 * instruction there. */
	if (insn->mnem == X86_M_DPPS) {
		uint32_t t[4], u[2];

		host = interp_sse_fp_begin(c);
		for (int i = 0; i < 4; i++)
			t[i] = (imm >> (4 + i)) & 1
				   ? host_ss(true, d.d[i], s.d[i])
				   : 0;
		if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
			return rc;
		host = interp_sse_fp_begin(c);
		u[0] = host_ss(false, t[0], t[1]);
		u[1] = host_ss(false, t[2], t[3]);
		if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
			return rc;
		host = interp_sse_fp_begin(c);
		u[0] = host_ss(false, u[0], u[1]);
		if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
			return rc;
		for (int i = 0; i < 4; i++)
			r.d[i] = (imm >> i) & 1 ? u[0] : 0;
	} else {
		uint64_t t[2];

		host = interp_sse_fp_begin(c);
		for (int i = 0; i < 2; i++)
			t[i] = (imm >> (4 + i)) & 1
				   ? host_sd(true, d.q[i], s.q[i])
				   : 0;
		if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
			return rc;
		host = interp_sse_fp_begin(c);
		t[0] = host_sd(false, t[0], t[1]);
		if ((rc = interp_sse_fp_end(c, host)) != INTERP_OK)
			return rc;
		for (int i = 0; i < 2; i++)
			r.q[i] = (imm >> i) & 1 ? t[0] : 0;
	}
	return interp_simd_write(c, insn, 0, &r);
}

const struct interp_op interp_ops_sse_fp[] = {
	{ X86_M_DPPS, op_dpp },
	{ X86_M_DPPD, op_dpp },
#define X(name, host) { X86_M_##name, op_fp },
	FP_OPS(X)
#undef X
	    { X86_M_CMPPS, op_fp },
	{ X86_M_CMPPD, op_fp },
	{ X86_M_CMPSS, op_fp },
	{ X86_M_CMPSD, op_fp },
	{ X86_M_ROUNDPS, op_fp },
	{ X86_M_ROUNDPD, op_fp },
	{ X86_M_ROUNDSS, op_fp },
	{ X86_M_ROUNDSD, op_fp },
	{ X86_M_CVTPI2PS, op_cvt_mmx },
	{ X86_M_CVTPI2PD, op_cvt_mmx },
	{ X86_M_CVTPS2PI, op_cvt_mmx },
	{ X86_M_CVTTPS2PI, op_cvt_mmx },
	{ X86_M_CVTPD2PI, op_cvt_mmx },
	{ X86_M_CVTTPD2PI, op_cvt_mmx },
	{ X86_M_CVTSI2SS, op_cvtsi2s },
	{ X86_M_CVTSI2SD, op_cvtsi2s },
	{ X86_M_CVTSS2SI, op_cvts2si },
	{ X86_M_CVTTSS2SI, op_cvts2si },
	{ X86_M_CVTSD2SI, op_cvts2si },
	{ X86_M_CVTTSD2SI, op_cvts2si },
	{ X86_M_COMISS, op_comis },
	{ X86_M_UCOMISS, op_comis },
	{ X86_M_COMISD, op_comis },
	{ X86_M_UCOMISD, op_comis },
	{ 0, NULL },
};
