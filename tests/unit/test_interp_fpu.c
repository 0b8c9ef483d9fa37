/*
 * The interp engine's x87/MMX/SSE instructions against the host CPU:
 * every instruction form runs natively (assembled into an executable
 * buffer between an FXRSTOR/FXSAVE prologue and epilogue) and in the
 * interpreter (a hand-built 64-bit vCPU with one RAM slot) from the
 * same random state -- NaNs, infinities, denormals, zeros, integer
 * extremes, every rounding mode, DAZ and FZ -- and the XMM, x87/MMX,
 * MXCSR, FSW/FTW, general registers, EFLAGS and memory must agree bit
 * for bit.  Directed tests cover what the host cannot show without
 * faulting: the CR0/CR4 checks, alignment, FXSAVE/FXRSTOR, unmasked
 * SIMD exceptions (#XM/#UD).  The harness is fpu_harness.c; the XSAVE
 * feature set is test_interp_xsave.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit.h"
#include "fpu_harness.h"

/* The SIMD exceptions the random cases unmask: IE, DE, ZE (see
 * docs/architecture.md for the post-computation ones). */
#define UNMASKABLE 0x0380u

/* ---- instruction forms ---------------------------------------------- */

/*
 * A form: the bytes before ModRM (prefixes, 0F maps, opcode; "W" for
 * REX.W), and flags: register form only (R), memory form only (M), an
 * imm8 (I), /digit in the reg field (the /n flag), GPR operands in reg
 * or rm (G: no registers 4 or 3 there), rdi as the memory pointer (D),
 * strings (L: short lengths in EAX/EDX and null elements, more cases),
 * a byte register in rm (B: not BH, which holds the pointer's bits).
 */
struct form {
	const char *name;
	const char *op;
	const char *flags;
	int digit; /* -1: ModRM.reg is a register */
};

#define F(name, op, flags)                                                     \
	{                                                                      \
		name, op, flags, -1                                            \
	}
#define FD(name, op, flags, d)                                                 \
	{                                                                      \
		name, op, flags, d                                             \
	}

static const struct form forms[] = {
	/* moves */
	F("movaps", "0f28", ""),
	F("movaps st", "0f29", "M"),
	F("movups", "0f10", ""),
	F("movups st", "0f11", "M"),
	F("movapd", "660f28", ""),
	F("movapd st", "660f29", "M"),
	F("movupd", "660f10", ""),
	F("movupd st", "660f11", "M"),
	F("movdqa", "660f6f", ""),
	F("movdqa st", "660f7f", ""),
	F("movdqu", "f30f6f", ""),
	F("movdqu st", "f30f7f", ""),
	F("lddqu", "f20ff0", "M"),
	F("movntps", "0f2b", "M"),
	F("movntpd", "660f2b", "M"),
	F("movntdq", "660fe7", "M"),
	F("movntq", "0fe7", "M"),
	F("movss", "f30f10", ""),
	F("movss st", "f30f11", "M"),
	F("movsd", "f20f10", ""),
	F("movsd st", "f20f11", "M"),
	F("movlps/movhlps", "0f12", ""),
	F("movlps st", "0f13", "M"),
	F("movlpd", "660f12", "M"),
	F("movlpd st", "660f13", "M"),
	F("movhps/movlhps", "0f16", ""),
	F("movhps st", "0f17", "M"),
	F("movhpd", "660f16", "M"),
	F("movhpd st", "660f17", "M"),
	F("movddup", "f20f12", ""),
	F("movsldup", "f30f12", ""),
	F("movshdup", "f30f16", ""),
	F("movd x,r/m", "660f6e", "G"),
	F("movq x,r/m", "66W0f6e", "G"),
	F("movd r/m,x", "660f7e", "G"),
	F("movq r/m,x", "66W0f7e", "G"),
	F("movq x,x/m", "f30f7e", ""),
	F("movq x/m,x", "660fd6", ""),
	F("movd mm,r/m", "0f6e", "G"),
	F("movq mm,r/m", "W0f6e", "G"),
	F("movd r/m,mm", "0f7e", "G"),
	F("movq r/m,mm", "W0f7e", "G"),
	F("movq mm,mm/m", "0f6f", ""),
	F("movq mm/m,mm", "0f7f", ""),
	F("movq2dq", "f30fd6", "R"),
	F("movdq2q", "f20fd6", "R"),
	F("movmskps", "0f50", "RG"),
	F("movmskpd", "660f50", "RG"),
	F("pmovmskb x", "660fd7", "RG"),
	F("pmovmskb mm", "0fd7", "RG"),
	F("pinsrw x", "660fc4", "IG"),
	F("pinsrw mm", "0fc4", "IG"),
	F("pextrw x", "660fc5", "RIG"),
	F("pextrw mm", "0fc5", "RIG"),
	F("pextrw m", "660f3a15", "IG"),
	F("pextrb", "660f3a14", "IG"),
	F("pextrd", "660f3a16", "IG"),
	F("pextrq", "66W0f3a16", "IG"),
	F("extractps", "660f3a17", "IG"),
	F("pinsrb", "660f3a20", "IG"),
	F("pinsrd", "660f3a22", "IG"),
	F("pinsrq", "66W0f3a22", "IG"),
	F("maskmovdqu", "660ff7", "RD"),
	F("maskmovq", "0ff7", "RD"),
	F("movnti", "0fc3", "MG"),
	F("movnti q", "W0fc3", "MG"),
	/* integer, MMX and SSE forms */
	F("punpcklbw", "0f60", "X"),
	F("punpcklwd", "0f61", "X"),
	F("punpckldq", "0f62", "X"),
	F("packsswb", "0f63", "X"),
	F("pcmpgtb", "0f64", "X"),
	F("pcmpgtw", "0f65", "X"),
	F("pcmpgtd", "0f66", "X"),
	F("packuswb", "0f67", "X"),
	F("punpckhbw", "0f68", "X"),
	F("punpckhwd", "0f69", "X"),
	F("punpckhdq", "0f6a", "X"),
	F("packssdw", "0f6b", "X"),
	F("punpcklqdq", "660f6c", ""),
	F("punpckhqdq", "660f6d", ""),
	F("pshufd", "660f70", "I"),
	F("pshufhw", "f30f70", "I"),
	F("pshuflw", "f20f70", "I"),
	F("pshufw", "0f70", "I"),
	FD("psrlw i", "0f71", "XRI", 2),
	FD("psraw i", "0f71", "XRI", 4),
	FD("psllw i", "0f71", "XRI", 6),
	FD("psrld i", "0f72", "XRI", 2),
	FD("psrad i", "0f72", "XRI", 4),
	FD("pslld i", "0f72", "XRI", 6),
	FD("psrlq i", "0f73", "XRI", 2),
	FD("psllq i", "0f73", "XRI", 6),
	FD("psrldq", "660f73", "RI", 3),
	FD("pslldq", "660f73", "RI", 7),
	F("pcmpeqb", "0f74", "X"),
	F("pcmpeqw", "0f75", "X"),
	F("pcmpeqd", "0f76", "X"),
	F("psrlw", "0fd1", "X"),
	F("psrld", "0fd2", "X"),
	F("psrlq", "0fd3", "X"),
	F("paddq", "0fd4", "X"),
	F("pmullw", "0fd5", "X"),
	F("psubusb", "0fd8", "X"),
	F("psubusw", "0fd9", "X"),
	F("pminub", "0fda", "X"),
	F("pand", "0fdb", "X"),
	F("paddusb", "0fdc", "X"),
	F("paddusw", "0fdd", "X"),
	F("pmaxub", "0fde", "X"),
	F("pandn", "0fdf", "X"),
	F("pavgb", "0fe0", "X"),
	F("psraw", "0fe1", "X"),
	F("psrad", "0fe2", "X"),
	F("pavgw", "0fe3", "X"),
	F("pmulhuw", "0fe4", "X"),
	F("pmulhw", "0fe5", "X"),
	F("psubsb", "0fe8", "X"),
	F("psubsw", "0fe9", "X"),
	F("pminsw", "0fea", "X"),
	F("por", "0feb", "X"),
	F("paddsb", "0fec", "X"),
	F("paddsw", "0fed", "X"),
	F("pmaxsw", "0fee", "X"),
	F("pxor", "0fef", "X"),
	F("psllw", "0ff1", "X"),
	F("pslld", "0ff2", "X"),
	F("psllq", "0ff3", "X"),
	F("pmuludq", "0ff4", "X"),
	F("pmaddwd", "0ff5", "X"),
	F("psadbw", "0ff6", "X"),
	F("psubb", "0ff8", "X"),
	F("psubw", "0ff9", "X"),
	F("psubd", "0ffa", "X"),
	F("psubq", "0ffb", "X"),
	F("paddb", "0ffc", "X"),
	F("paddw", "0ffd", "X"),
	F("paddd", "0ffe", "X"),
	/* SSSE3 */
	F("pshufb", "0f3800", "X"),
	F("phaddw", "0f3801", "X"),
	F("phaddd", "0f3802", "X"),
	F("phaddsw", "0f3803", "X"),
	F("pmaddubsw", "0f3804", "X"),
	F("phsubw", "0f3805", "X"),
	F("phsubd", "0f3806", "X"),
	F("phsubsw", "0f3807", "X"),
	F("psignb", "0f3808", "X"),
	F("psignw", "0f3809", "X"),
	F("psignd", "0f380a", "X"),
	F("pmulhrsw", "0f380b", "X"),
	F("pabsb", "0f381c", "X"),
	F("pabsw", "0f381d", "X"),
	F("pabsd", "0f381e", "X"),
	F("palignr", "0f3a0f", "XI"),
	/* SSE4.1 / 4.2 integer */
	F("pblendvb", "660f3810", ""),
	F("blendvps", "660f3814", ""),
	F("blendvpd", "660f3815", ""),
	F("ptest", "660f3817", ""),
	F("pmovsxbw", "660f3820", ""),
	F("pmovsxbd", "660f3821", ""),
	F("pmovsxbq", "660f3822", ""),
	F("pmovsxwd", "660f3823", ""),
	F("pmovsxwq", "660f3824", ""),
	F("pmovsxdq", "660f3825", ""),
	F("pmuldq", "660f3828", ""),
	F("pcmpeqq", "660f3829", ""),
	F("packusdw", "660f382b", ""),
	F("pmovzxbw", "660f3830", ""),
	F("pmovzxbd", "660f3831", ""),
	F("pmovzxbq", "660f3832", ""),
	F("pmovzxwd", "660f3833", ""),
	F("pmovzxwq", "660f3834", ""),
	F("pmovzxdq", "660f3835", ""),
	F("pcmpgtq", "660f3837", ""),
	/* SSE4.2 strings (random lengths, embedded nulls) and CRC32 */
	F("pcmpestrm", "660f3a60", "IL"),
	F("pcmpestrm q", "66W0f3a60", "IL"),
	F("pcmpestri", "660f3a61", "IL"),
	F("pcmpestri q", "66W0f3a61", "IL"),
	F("pcmpistrm", "660f3a62", "IL"),
	F("pcmpistri", "660f3a63", "IL"),
	F("crc32 r32,r/m8", "f20f38f0", "GB"),
	F("crc32 r32,r/m16", "66f20f38f1", "G"),
	F("crc32 r32,r/m32", "f20f38f1", "G"),
	F("crc32 r64,r/m8", "f2W0f38f0", "GB"),
	F("crc32 r64,r/m64", "f2W0f38f1", "G"),
	F("pminsb", "660f3838", ""),
	F("pminsd", "660f3839", ""),
	F("pminuw", "660f383a", ""),
	F("pminud", "660f383b", ""),
	F("pmaxsb", "660f383c", ""),
	F("pmaxsd", "660f383d", ""),
	F("pmaxuw", "660f383e", ""),
	F("pmaxud", "660f383f", ""),
	F("pmulld", "660f3840", ""),
	F("phminposuw", "660f3841", ""),
	F("blendps", "660f3a0c", "I"),
	F("blendpd", "660f3a0d", "I"),
	F("pblendw", "660f3a0e", "I"),
	F("dpps", "660f3a40", "IE"),
	F("dppd", "660f3a41", "IE"),
	F("mpsadbw", "660f3a42", "I"),
	F("insertps", "660f3a21", "I"),
	F("movntdqa", "660f382a", "M"),
	/* floating-point bitwise, unpack, shuffle */
	F("andps", "0f54", "P"),
	F("andnps", "0f55", "P"),
	F("orps", "0f56", "P"),
	F("xorps", "0f57", "P"),
	F("unpcklps", "0f14", "P"),
	F("unpckhps", "0f15", "P"),
	F("shufps", "0fc6", "PI"),
	/* floating point: the four prefixes */
	F("sqrt", "0f51", "SE"),
	F("rsqrt", "0f52", "QE"),
	F("rcp", "0f53", "QE"),
	F("add", "0f58", "SE"),
	F("mul", "0f59", "SE"),
	F("cvt ps/pd/ss/sd", "0f5a", "SE"),
	F("sub", "0f5c", "SE"),
	F("min", "0f5d", "SE"),
	F("div", "0f5e", "SE"),
	F("max", "0f5f", "SE"),
	F("cmp", "0fc2", "SIE"),
	F("cvtdq2ps", "0f5b", "E"),
	F("cvtps2dq", "660f5b", "E"),
	F("cvttps2dq", "f30f5b", "E"),
	F("cvttpd2dq", "660fe6", "E"),
	F("cvtdq2pd", "f30fe6", "E"),
	F("cvtpd2dq", "f20fe6", "E"),
	F("ucomiss", "0f2e", "E"),
	F("ucomisd", "660f2e", "E"),
	F("comiss", "0f2f", "E"),
	F("comisd", "660f2f", "E"),
	F("cvtsi2ss", "f30f2a", "GE"),
	F("cvtsi2ss q", "f3W0f2a", "GE"),
	F("cvtsi2sd", "f20f2a", "GE"),
	F("cvtsi2sd q", "f2W0f2a", "GE"),
	F("cvttss2si", "f30f2c", "GE"),
	F("cvttss2si q", "f3W0f2c", "GE"),
	F("cvtss2si", "f30f2d", "GE"),
	F("cvtss2si q", "f3W0f2d", "GE"),
	F("cvttsd2si", "f20f2c", "GE"),
	F("cvttsd2si q", "f2W0f2c", "GE"),
	F("cvtsd2si", "f20f2d", "GE"),
	F("cvtsd2si q", "f2W0f2d", "GE"),
	F("cvtpi2ps", "0f2a", "E"),
	F("cvtpi2pd", "660f2a", "E"),
	F("cvttps2pi", "0f2c", "E"),
	F("cvtps2pi", "0f2d", "E"),
	F("cvttpd2pi", "660f2c", "E"),
	F("cvtpd2pi", "660f2d", "E"),
	F("haddps", "f20f7c", "E"),
	F("haddpd", "660f7c", "E"),
	F("hsubps", "f20f7d", "E"),
	F("hsubpd", "660f7d", "E"),
	F("addsubps", "f20fd0", "E"),
	F("addsubpd", "660fd0", "E"),
	F("roundps", "660f3a08", "IE"),
	F("roundpd", "660f3a09", "IE"),
	F("roundss", "660f3a0a", "IE"),
	F("roundsd", "660f3a0b", "IE"),
	/* state */
	FD("fxsave", "0fae", "MF", 0),
	FD("fxsave64", "W0fae", "MF", 0),
	FD("fxrstor", "0fae", "MF", 1),
	FD("fxrstor64", "W0fae", "MF", 1),
	F("emms", "0f77", "N"),
	F("ldmxcsr/stmxcsr", "0fae", "C"),
	F("fnstcw", "d9", "K7"),
	F("fnstsw m", "dd", "K7"),
	F("fnstsw ax", "dfe0", "N"),
	F("fnclex", "dbe2", "N"),
	F("fninit", "dbe3", "N"),
	F("fwait", "9b", "N"),
};

static bool
has(const struct form *f, char flag)
{
	return strchr(f->flags, flag) != NULL;
}

/*
 * Encode one random instance of form f with the given opcode prefix
 * (for X, P, S, Q variants) into buf.  Returns its length.
 */
static size_t
encode(const struct form *f, const char *prefix, uint8_t *buf, bool mem)
{
	static const int ok[] = { 0, 1, 2, 5, 6, 7 }; /* not rsp, rbx */
	const char *op = f->op;
	bool rexw = false;
	size_t n = 0;
	uint8_t rex = 0x40;
	int reg, rm;
	uint8_t tmp[8];
	size_t nt = 0;

	n = emit(buf, n, prefix);
	/* Legacy prefixes, then REX, then the opcode. */
	while (op[0] &&
	       (strncmp(op, "66", 2) == 0 || strncmp(op, "f3", 2) == 0 ||
		strncmp(op, "f2", 2) == 0)) {
		n = emit(buf, n, (char[]){ op[0], op[1], 0 });
		op += 2;
	}
	if (op[0] == 'W') {
		rexw = true;
		op++;
	}
	nt = emit(tmp, 0, op);
	if (has(f, 'N')) {
		memcpy(buf + n, tmp, nt);
		return n + nt;
	}
	reg = f->digit >= 0 ? f->digit : ok[fpu_rnd() % 6];
	rm = mem ? 3 : ok[fpu_rnd() % 6];
	if (has(f, 'D'))
		reg = ok[fpu_rnd() % 5]; /* not rdi as a data register */
	if (has(f, 'C'))
		reg = fpu_rnd() % 2 ? 2 : 3; /* LDMXCSR / STMXCSR */
	if (has(f, 'K'))
		reg = 7;
	if (rexw)
		rex |= 8;
	if (f->digit < 0 && !has(f, 'C') && !has(f, 'K') && fpu_rnd() % 3 == 0)
		rex |= 4; /* REX.R: xmm8-15 or r8-r15 */
	if (!mem && fpu_rnd() % 3 == 0)
		rex |= 1; /* REX.B */
	if (has(f, 'B') && !mem && rm == 7)
		rex |= 1; /* r15b: without REX rm 7 is BH, the pointer's */
	if (rex != 0x40 || fpu_rnd() % 8 == 0)
		buf[n++] = rex;
	memcpy(buf + n, tmp, nt);
	n += nt;
	buf[n++] = (uint8_t)((mem ? 0 : 0xc0) | (reg << 3) | rm);
	if (has(f, 'I'))
		buf[n++] = (uint8_t)fpu_rnd();
	return n;
}

/*
 * Operands of the SSE4.2 string compares: lengths in RAX/RDX mostly
 * near the element counts (negative ones too, and out of range), and
 * null bytes or words in the registers and the memory operand, mostly
 * from small alphabets so that the compares find matches.
 */
static void
rnd_strings(struct state *s, uint8_t *m)
{
	static const int64_t lens[] = { 0,  1,  7,  8,   9,   15,  16,
					17, -1, -8, -16, -17, 255, 1LL << 32 };

	for (int r = 0; r <= 2; r += 2)
		if (fpu_rnd() % 4)
			s->gpr[r] =
			    fpu_rnd() % 2
				? (uint64_t)lens[fpu_rnd() % 14]
				: (uint64_t)(int64_t)((int)(fpu_rnd() % 41) -
						      20);
	for (int i = 0; i < 17; i++) {
		uint8_t *v = i < 16 ? s->fx + 160 + 16 * i : m;
		unsigned int alpha = 1u + (unsigned int)(fpu_rnd() % 8);

		if (fpu_rnd() % 4 == 0)
			continue;
		for (int k = 0; k < 16; k++) {
			if (fpu_rnd() % 3)
				v[k] = (uint8_t)(fpu_rnd() % alpha +
						 (fpu_rnd() % 2 ? 0x7e : 0x30));
			if (fpu_rnd() % 16 == 0)
				v[k] = 0;
		}
	}
}

/* One random case of form f: false on a difference. */
static bool
run_case(const struct form *f, const char *prefix, bool mem)
{
	uint8_t code[16];
	size_t len = encode(f, prefix, code, mem);
	struct state s0, nat, emu;
	uint8_t m0[MEM_SIZE];
	char err[400];
	bool xm;
	int vec;

	rnd_state(&s0, has(f, 'X') || has(f, 'N'));
	rnd_vec(m0, MEM_SIZE);
	if (has(f, 'L'))
		rnd_strings(&s0, m0);
	if (has(f, 'C') && ((code[len - 1] >> 3) & 7) == 2) {
		/* LDMXCSR: a valid value with every exception masked. */
		uint32_t m = 0x1f80 | (uint32_t)(fpu_rnd() & 0xe07f);

		memcpy(m0, &m, 4);
	}
	if (has(f, 'F')) {
		/* FXRSTOR's image: a valid MXCSR, masked. */
		uint32_t m = 0x1f80 | (uint32_t)(fpu_rnd() & 0xe07f);

		memcpy(m0 + 24, &m, 4);
	}
	if (has(f, 'E') && fpu_rnd() % 2) {
		/* Some SIMD exceptions unmasked. */
		uint32_t m;

		memcpy(&m, s0.fx + 24, 4);
		m &= ~(uint32_t)(fpu_rnd() & UNMASKABLE);
		memcpy(s0.fx + 24, &m, 4);
	}
	/* Native. */
	nat = s0;
	nat.gpr[3] = (uint64_t)(uintptr_t)natmem;
	if (has(f, 'D'))
		nat.gpr[7] = nat.gpr[3];
	memcpy(natmem, m0, MEM_SIZE);
	xm = native_run_xm(&nat, code, len);
	/* Interpreted. */
	cpu_reset();
	emu = s0;
	emu.gpr[3] = G_DATA;
	if (has(f, 'D'))
		emu.gpr[7] = G_DATA;
	state_to_cpu(&emu);
	memcpy(guest + G_DATA, m0, MEM_SIZE);
	vec = interp_run_code(code, len, err, sizeof(err));
	if (xm) {
		/* #XM: the same flags, nothing written. */
		if (vec == 19 && cpu->fpu.mxcsr == fpe_mxcsr &&
		    memcmp(cpu->fpu.xmm, fpe_xmm, sizeof(fpe_xmm)) == 0 &&
		    memcmp(guest + G_DATA, m0, MEM_SIZE) == 0)
			return true;
		printf("\n  %s [", f->name);
		for (size_t i = 0; i < len; i++)
			printf("%02x", code[i]);
		printf("]: #XM natively (mxcsr %08x), here vector %d mxcsr "
		       "%08x",
		       fpe_mxcsr, vec, cpu->fpu.mxcsr);
		return false;
	}
	if (vec != -1) {
		printf("\n  %s [", f->name);
		for (size_t i = 0; i < len; i++)
			printf("%02x", code[i]);
		printf("]: %s (vector %d)", vec == -2 ? err : "fault", vec);
		return false;
	}
	cpu_to_state(&emu);
	if (has(f, 'D'))
		nat.gpr[7] = emu.gpr[7];
	/* MXCSR_MASK is the host's (AMD has bit 17, MM). */
	if (has(f, 'F'))
		memcpy(natmem + 28, guest + G_DATA + 28, 4);
	return compare(f->name, code, len, &nat, &emu, natmem, guest + G_DATA);
}

#define CASES 300

static void
test_forms(void)
{
	static const char *const pfx_x[] = { "", "66" };
	static const char *const pfx_s[] = { "", "66", "f3", "f2" };
	static const char *const pfx_q[] = { "", "f3" };
	int bad = 0, total = 0;

	if (guest == NULL)
		guest_setup();
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const struct form *f = &forms[i];
		const char *const *pfx = has(f, 'X')   ? pfx_x
					 : has(f, 'S') ? pfx_s
					 : has(f, 'Q') ? pfx_q
					 : has(f, 'P') ? pfx_x
						       : NULL;
		int npfx = has(f, 'S') ? 4 : pfx ? 2 : 1;
		int fbad = 0;

		int cases = has(f, 'L') ? 20 * CASES : CASES;

		for (int p = 0; p < npfx; p++)
			for (int k = 0; k < cases && fbad < 3; k++) {
				bool mem = has(f, 'M') || has(f, 'C') ||
					   has(f, 'K') ||
					   (!has(f, 'R') && !has(f, 'N') &&
					    fpu_rnd() % 2);

				total++;
				if (!run_case(f, pfx ? pfx[p] : "", mem))
					fbad++;
			}
		bad += fbad;
	}
	printf("\n  %d cases, %d differences\n", total, bad);
	CU_ASSERT_EQUAL(bad, 0);
}

/*
 * x87: random opcodes D8-DF with random ModRM (memory forms on [rbx]),
 * every one the decoder accepts, with and without 66; random TOP, tags,
 * control word (precision, rounding, masks) and masked flags.
 */
static void
test_x87(void)
{
	int bad = 0, total = 0;

	if (guest == NULL)
		guest_setup();
	for (int k = 0; k < 60000 && bad < 20; k++) {
		uint8_t code[4];
		struct x86_instr in;
		struct state s0, nat, emu;
		uint8_t m0[MEM_SIZE];
		char err[400];
		uint16_t fcw, fsw;
		size_t n = 0;
		bool o16 = fpu_rnd() % 4 == 0;
		int vec;

		if (o16)
			code[n++] = 0x66;
		code[n] = (uint8_t)(0xd8 + fpu_rnd() % 8);
		code[n + 1] = (uint8_t)fpu_rnd();
		if (code[n + 1] < 0xc0)
			code[n + 1] = (uint8_t)((code[n + 1] & 0x38) | 3);
		n += 2;
		if (x86_decode(&in, X86_MODE_64, code, n) != X86_DEC_OK)
			continue;
		rnd_state(&s0, true);
		fcw = (uint16_t)((fpu_rnd() & 0x0f3f) | 0x40);
		if (fpu_rnd() % 2)
			fcw |= 0x3f; /* often all masked */
		fsw = (uint16_t)((fpu_rnd() & 7) << 11 |
				 (fpu_rnd() & 0x3f & fcw));
		memcpy(s0.fx, &fcw, 2);
		memcpy(s0.fx + 2, &fsw, 2);
		rnd_vec(m0, MEM_SIZE);
		nat = s0;
		nat.gpr[3] = (uint64_t)(uintptr_t)natmem;
		memcpy(natmem, m0, MEM_SIZE);
		native_run(&nat, code, n);
		cpu_reset();
		emu = s0;
		emu.gpr[3] = G_DATA;
		state_to_cpu(&emu);
		memcpy(guest + G_DATA, m0, MEM_SIZE);
		total++;
		vec = interp_run_code(code, n, err, sizeof(err));
		if (vec != -1) {
			printf("\n  x87 [%02x%02x]: %s (vector %d)",
			       code[n - 2], code[n - 1],
			       vec == -2 ? err : "fault", vec);
			bad++;
			continue;
		}
		/* FIP, FCS, FOP, FDP, FDS in a stored environment are the
		 * host's natively. */
		if (in.mnem == X86_M_FNSTENV || in.mnem == X86_M_FNSAVE) {
			if (o16)
				memcpy(natmem + 6, guest + G_DATA + 6, 8);
			else
				memcpy(natmem + 12, guest + G_DATA + 12, 14);
		}
		cpu_to_state(&emu);
		if (!compare(x86_mnem_name(in.mnem), code, n, &nat, &emu,
			     natmem, guest + G_DATA))
			bad++;
	}
	printf("\n  %d cases, %d differences\n", total, bad);
	CU_ASSERT_EQUAL(bad, 0);
}

static void
set_em(void)
{
	cpu->cr0 |= CR0_EM;
}

static void
set_ts(void)
{
	cpu->cr0 |= CR0_TS;
}

static void
clear_osfxsr(void)
{
	cpu->cr4 &= ~CR4_OSFXSR;
}

static void
set_es(void)
{
	cpu->fpu.fcw = 0x37e; /* IE unmasked */
	cpu->fpu.fsw = 0x8081;
}

static void
set_ts_no_mp(void)
{
	cpu->cr0 = (cpu->cr0 | CR0_TS) & ~CR0_MP;
}

/* CR0.EM/TS/MP, CR4.OSFXSR and pending x87 exceptions (SDM vol. 3A
 * 2.5 and 13.2, the instructions' exception tables). */
static void
test_checks(void)
{
	if (guest == NULL)
		guest_setup();
	/* SSE: EM or !OSFXSR #UD, TS #NM. */
	CU_ASSERT_EQUAL(run_hex("0f58ca", NULL), -1);
	CU_ASSERT_EQUAL(run_hex("0f58ca", set_em), 6);
	CU_ASSERT_EQUAL(run_hex("0f58ca", clear_osfxsr), 6);
	CU_ASSERT_EQUAL(run_hex("0f58ca", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("660fefc1", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("0fae13", clear_osfxsr), 6); /* LDMXCSR */
	/* MMX: EM #UD, TS #NM, pending x87 exception #MF; no OSFXSR
	 * needed. */
	CU_ASSERT_EQUAL(run_hex("0ffcc1", clear_osfxsr), -1);
	CU_ASSERT_EQUAL(run_hex("0ffcc1", set_em), 6);
	CU_ASSERT_EQUAL(run_hex("0ffcc1", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("0ffcc1", set_es), 16);
	CU_ASSERT_EQUAL(run_hex("0f77", set_es), 16);
	/* x87 control: EM or TS #NM; FNINIT/FNCLEX ignore a pending
	 * exception, FWAIT raises it and faults #NM only with MP and TS. */
	CU_ASSERT_EQUAL(run_hex("dbe3", set_em), 7);
	CU_ASSERT_EQUAL(run_hex("dbe3", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("dbe2", set_es), -1);
	CU_ASSERT_EQUAL(cpu->fpu.fsw, 0);
	CU_ASSERT_EQUAL(run_hex("9b", set_es), 16);
	CU_ASSERT_EQUAL(run_hex("9b", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("9b", set_ts_no_mp), -1);
	/* SSE4.2: the string compares are SSE instructions; CRC32 is a
	 * general-purpose one (no CR0/CR4 check), #UD with LOCK. */
	CU_ASSERT_EQUAL(run_hex("660f3a63ca0c", clear_osfxsr), 6);
	CU_ASSERT_EQUAL(run_hex("660f3a61ca0c", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("f20f38f1c1", clear_osfxsr), -1);
	CU_ASSERT_EQUAL(run_hex("f20f38f1c1", set_ts), -1);
	CU_ASSERT_EQUAL(run_hex("f0f20f38f1c1", NULL), 6);
	/* FXSAVE: EM or TS #NM; no OSFXSR needed. */
	CU_ASSERT_EQUAL(run_hex("0fae03", set_em), 7);
	CU_ASSERT_EQUAL(run_hex("0fae03", set_ts), 7);
	CU_ASSERT_EQUAL(run_hex("0fae03", clear_osfxsr), -1);
}

/* MXCSR with the exceptions 'unmask' unmasked, XMM1 and XMM2. */
static void
set_sse_operands(uint32_t unmask, const union interp_xmm *x1,
		 const union interp_xmm *x2)
{
	cpu->fpu.mxcsr = 0x1f80 & ~unmask;
	interp_xmm_set(cpu, 1, x1);
	interp_xmm_set(cpu, 2, x2);
}

static void
set_zm_unmasked(void)
{
	static const union interp_xmm one = { .d = { 0x3f800000, 0x3f800000, 0,
						     0 } };
	static const union interp_xmm zero = { .d = { 0x40000000, 0, 0x40000000,
						      0 } };

	set_sse_operands(0x200, &one, &zero); /* ZM clear */
}

static void
set_zm_unmasked_noxmm(void)
{
	set_zm_unmasked();
	cpu->cr4 &= ~CR4_OSXMMEXCPT;
}

static void
set_im_unmasked(void)
{
	static const union interp_xmm snan = { .d = { 0x7f800001, 0, 0, 0 } };
	static const union interp_xmm big = { .d = { 0x7f7fffff, 0, 0, 0 } };

	set_sse_operands(0x80, &snan, &big); /* IM clear */
}

static void
set_misaligned(void)
{
	cpu->gpr[3] = G_DATA + 8;
}

/* Unmasked SIMD exceptions: #XM (#UD without OSXMMEXCPT), nothing
 * written, the flags set; alignment of 16-byte operands. */
static void
test_exceptions(void)
{
	union interp_xmm v;

	if (guest == NULL)
		guest_setup();
	/* DIVPS xmm1, xmm2: 1/2 and 1/0. */
	CU_ASSERT_EQUAL(run_hex("0f5eca", set_zm_unmasked), 19);
	interp_xmm_get(cpu, 1, &v);
	CU_ASSERT_EQUAL(v.d[0], 0x3f800000);
	CU_ASSERT_EQUAL(v.d[1], 0x3f800000);
	/* ZE (1/0) and the masked IE of 0/0: both found before the
	 * operation, so both set. */
	CU_ASSERT_EQUAL(cpu->fpu.mxcsr & 0x3f, 0x5);
	CU_ASSERT_EQUAL(run_hex("0f5eca", set_zm_unmasked_noxmm), 6);
	/* ADDSS with an SNaN: IE (unmasked) and nothing else. */
	CU_ASSERT_EQUAL(run_hex("f30f58ca", set_im_unmasked), 19);
	CU_ASSERT_EQUAL(cpu->fpu.mxcsr & 0x3f, 0x1);
	/* ... masked: the quieted NaN and IE. */
	CU_ASSERT_EQUAL(run_hex("f30f58ca", NULL), -1);
	/* Alignment: MOVAPS/PADDB/FXSAVE #GP(0) on [rbx+8]; MOVUPS not. */
	CU_ASSERT_EQUAL(run_hex("0f280b", set_misaligned), 13);
	CU_ASSERT_EQUAL(run_hex("660ffc0b", set_misaligned), 13);
	CU_ASSERT_EQUAL(run_hex("0fae03", set_misaligned), 13);
	CU_ASSERT_EQUAL(run_hex("0f100b", set_misaligned), -1);
	CU_ASSERT_EQUAL(run_hex("f30f100b", set_misaligned), -1);
	/* AVX and 3DNow! are not there: #UD. */
	CU_ASSERT_EQUAL(run_hex("c5f858ca", NULL), 6); /* vaddps */
	CU_ASSERT_EQUAL(run_hex("0f0ec1", NULL), 6);   /* femms */
	CU_ASSERT_EQUAL(run_hex("0f0fc1b4", NULL), 6); /* pfmul */
	/* LDMXCSR with a reserved bit: #GP(0). */
	memset(guest + G_DATA, 0, 4);
	guest[G_DATA + 2] = 1;
	CU_ASSERT_EQUAL(run_hex("0fae13", NULL), 13);
}

static CU_TestInfo fpu_tests[] = {
	{ "every form vs the host, random operands", test_forms },
	{ "x87 vs the host, random opcodes and operands", test_x87 },
	{ "CR0/CR4 checks, #NM, #MF", test_checks },
	{ "#XM, #UD, alignment", test_exceptions },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "interp_fpu", fpu_tests },
	{ NULL, NULL },
};
