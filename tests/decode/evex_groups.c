/*
 * Compiled code (not run) for the decoder oracle: the EVEX groups beyond
 * the compiler's usual AVX-512 output -- VSIB gathers and scatters,
 * compress/expand, down-converts, VRCP14/VRSQRT14, VGETEXP/VGETMANT,
 * VRNDSCALE, VSCALEF, VRANGE, VREDUCE, VFIXUPIMM, VFPCLASS, VBMI, VBMI2,
 * VNNI, BITALG/VPOPCNTDQ, IFMA, GFNI, VAES, VPCLMULQDQ, BF16, T4
 * broadcasts, scalar <-> GPR conversions.  Built for 32- and 64-bit mode
 * (tests/decode/CMakeLists.txt); decode_oracle compares every
 * instruction with capstone.
 */
#include <immintrin.h>

/* memory: gathers, scatters, compress, expand, down-converts */
__m512i
evex_mem(int *p, const double *d, __m512i idx, __mmask16 k, __m512i v,
	 __m512d *out, const __m128i *q)
{
	__m512i r = _mm512_mask_i32gather_epi32(v, k, idx, p, 4);

	*out = _mm512_i32gather_pd(_mm512_castsi512_si256(idx), d, 8);
	_mm512_i32scatter_epi32(p, idx, r, 4);
	_mm512_mask_compressstoreu_epi32(p + 64, k, r);
	r = _mm512_add_epi32(r, _mm512_maskz_expandloadu_epi32(k, p + 128));
	_mm512_mask_cvtepi32_storeu_epi8(p + 192, 0xff, r);
	r = _mm512_add_epi32(r, _mm512_broadcast_i32x4(_mm_loadu_si128(q)));
	return _mm512_castsi256_si512(_mm512_cvtusepi32_epi16(r));
}

/* floating point: the AVX512F/DQ special operations */
__m512
evex_fp(__m512 a, __m512 b, __m512i c, __mmask16 *k)
{
	a = _mm512_rcp14_ps(a);
	a = _mm512_rsqrt14_ps(a);
	a = _mm512_getexp_ps(a);
	a = _mm512_getmant_ps(a, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
	a = _mm512_roundscale_ps(a, 1);
	a = _mm512_scalef_ps(a, b);
	a = _mm512_range_ps(a, b, 3);
	a = _mm512_reduce_ps(a, 3);
	a = _mm512_fixupimm_ps(a, b, c, 5);
	*k = _mm512_fpclass_ps_mask(a, 3);
	return _mm512_dpbf16_ps(a, (__m512bh)b, (__m512bh)c);
}

/* integer: VBMI, VBMI2, VNNI, VPOPCNTDQ, IFMA, GFNI, VAES, VPCLMULQDQ */
__m512i
evex_int(__m512i a, __m512i b, __m512i c)
{
	a = _mm512_multishift_epi64_epi8(a, b);
	a = _mm512_dpbusd_epi32(a, b, c);
	a = _mm512_popcnt_epi32(a);
	a = _mm512_shldi_epi32(a, b, 3);
	a = _mm512_madd52lo_epu64(a, b, c);
	a = _mm512_gf2p8mul_epi8(a, b);
	a = _mm512_aesenc_epi128(a, b);
	a = _mm512_clmulepi64_epi128(a, b, 1);
	a = _mm512_shuffle_i32x4(a, b, 1);
	a = _mm512_permutex2var_epi8(a, b, c);
	return _mm512_sllv_epi16(a, b);
}

/* scalar <-> GPR conversions, dword extract */
__m128d
evex_scalar(__m128 a, __m128d d, __m512d e, unsigned *u, __m128i x, int *i,
	    __m512i *q)
{
	*u = _mm_cvtss_u32(a);
	*i = _mm_extract_epi32(x, 1);
	*q = _mm512_cvtpd_epi64(e);
	return _mm_cvtu32_sd(d, *u);
}
