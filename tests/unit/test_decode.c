/*
 * Unit tests of the x86 decoder: lengths, operands, prefixes and their
 * rules, the fetch callback, #UD and #GP, and the formatter.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cunit.h"
#include "x86.h"

static struct x86_instr in;

static int
dec(int mode, const char *hex)
{
	uint8_t b[32];
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned int v;
		sscanf(hex, "%2x", &v);
		b[n++] = (uint8_t)v;
	}
	return x86_decode(&in, (enum x86_mode)mode, b, n);
}

/* Decodes and is that instruction. */
static bool
dec_is(int mode, const char *hex, unsigned int mnem)
{
	return dec(mode, hex) == X86_DEC_OK && in.mnem == mnem;
}

static const char *
fmt(void)
{
	static char buf[128];
	x86_format(&in, 0x1000, buf, sizeof(buf));
	return buf;
}

static void
test_basic(void)
{
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "8b4308"), X86_DEC_OK);
	CU_ASSERT_EQUAL(in.length, 3);
	CU_ASSERT_EQUAL(in.mnem, X86_M_MOV);
	CU_ASSERT_EQUAL(in.nops, 2);
	CU_ASSERT_EQUAL(in.ops[0].type, X86_OPND_REG);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_EAX);
	CU_ASSERT_EQUAL(in.ops[0].access, X86_ACC_W);
	CU_ASSERT_EQUAL(in.ops[1].type, X86_OPND_MEM);
	CU_ASSERT_EQUAL(in.ops[1].base, X86_R_RAX + 3);
	CU_ASSERT_EQUAL(in.ops[1].disp, 8);
	CU_ASSERT_EQUAL(in.ops[1].size, 4);
	CU_ASSERT_STRING_EQUAL(fmt(), "mov eax, dword ptr [rbx + 0x8]");
	/* movabs rax, imm64 */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "48b88877665544332211"), 0);
	CU_ASSERT_EQUAL(in.length, 10);
	CU_ASSERT_EQUAL(in.ops[1].imm, 0x1122334455667788LL);
	/* RIP-relative */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "488b0500100000"), 0);
	CU_ASSERT_EQUAL(in.ops[1].base, X86_R_RIP);
	CU_ASSERT_EQUAL(in.ops[1].disp, 0x1000);
	/* 16-bit addressing: [bp+si+1] with SS */
	CU_ASSERT_EQUAL(dec(X86_MODE_16, "8b4201"), 0);
	CU_ASSERT_EQUAL(in.ops[1].base, X86_R_AX + 5);
	CU_ASSERT_EQUAL(in.ops[1].index, X86_R_AX + 6);
	CU_ASSERT_EQUAL(in.ops[1].seg, X86_R_SS);
	/* moffs with address size: 67 A1 in 16-bit mode has a 32-bit moffs */
	CU_ASSERT_EQUAL(dec(X86_MODE_16, "67a178563412"), 0);
	CU_ASSERT_EQUAL(in.length, 6);
	CU_ASSERT_EQUAL(in.ops[1].disp, 0x12345678);
}

static void
test_prefixes(void)
{
	/* last segment override wins */
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "2e648b00"), 0);
	CU_ASSERT_EQUAL(in.ops[1].seg, X86_R_FS);
	/* REX not right before the opcode is ignored */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "48668b00"), 0);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_AX);
	CU_ASSERT_EQUAL(in.rex, 0);
	/* mandatory prefixes */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "f30f10c1"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_MOVSS);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "660f10c1"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_MOVUPD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "f30fbcc1"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_TZCNT);
	/* LOCK: fine on a memory destination, #UD on a register or a
	 * non-lockable instruction */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "f0010f"), X86_DEC_OK);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "f001c8"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "f08b00"), X86_DEC_UD);
	/* 16 prefixes: longer than 15 bytes */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "6666666666666666666666666666669090"),
			X86_DEC_GP);
	/* 66 with F2/F3: F2/F3 is the mandatory prefix, never the 66 form */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "66f20f38f1c1"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_CRC32);
	CU_ASSERT_EQUAL(in.ops[1].reg, X86_R_AX + 1);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "66f30f382bc1"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "66f30fd0c1"), X86_DEC_UD);
	/* 0F 38 F0/F1: MOVBE (none, 66), CRC32 (F2); F3 is #UD (SDM Vol. 2D
	 * table A-4), not MOVBE; F2 0F 38 F6 and 66/F2/F3 0F 38 F9 #UD too */
	CU_ASSERT(dec_is(X86_MODE_64, "0f38f000", X86_M_MOVBE));
	CU_ASSERT(dec_is(X86_MODE_64, "660f38f100", X86_M_MOVBE));
	CU_ASSERT_EQUAL(in.ops[1].reg, X86_R_AX);
	for (int mode = X86_MODE_16; mode <= X86_MODE_64; mode++) {
		static const char *const ud[] = {
			"f30f38f000", "f30f38f100", "66f30f38f000",
			"f20f38f600", "660f38f900", "f30f38f900"
		};

		for (size_t i = 0; i < sizeof(ud) / sizeof(ud[0]); i++)
			CU_ASSERT_EQUAL(dec(mode, ud[i]), X86_DEC_UD);
	}
	CU_ASSERT(dec_is(X86_MODE_64, "f3f20f38f000", X86_M_CRC32));
	CU_ASSERT(dec_is(X86_MODE_64, "f30f38f6c1", X86_M_ADOX));
	CU_ASSERT(dec_is(X86_MODE_64, "0f38f900", X86_M_MOVDIRI));
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "f2660fd6c1"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_MOVDQ2Q);
	/* LOCK on 3DNow!: #UD */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "f00f0f00a4"), X86_DEC_UD);
	/* LSS/LFS/LGS with REX.W: r64, m16:64 */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "480fb406"), 0);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_RAX);
	CU_ASSERT_EQUAL(in.ops[1].size, 10);
	/* AH vs SPL */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "88e0"), 0);
	CU_ASSERT_EQUAL(in.ops[1].reg, X86_R_AH);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "4088e0"), 0);
	CU_ASSERT_EQUAL(in.ops[1].reg, X86_R_SPL);
}

static void
test_vex_evex(void)
{
	/* VMOVNTPS/PD exist in VEX form */
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "c5f82b2f"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VMOVNTPS);
	/* VZEROUPPER/VZEROALL: VEX.pp must be 0, vvvv 1111 */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c5f877"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VZEROUPPER);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c5fa77"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c5f077"), X86_DEC_UD);
	/* VEX.W1 VMOVD outside 64-bit mode: W ignored (r32) */
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "c4e1f97ec0"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VMOVD);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_EAX);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c4e1f97ec0"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VMOVQ);
	/* but VEX.W as an opcode extension counts in every mode */
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "c4e2f145c2"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VPSRLVQ);
	/* mask registers k0-k7 only */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c5f441c2"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_KANDW);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c4e1f441c2"), X86_DEC_OK);
	CU_ASSERT_EQUAL(in.mnem, X86_M_KANDQ);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c4e1b441c2"), X86_DEC_UD); /* k9 */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c461f441c2"), X86_DEC_UD); /* R */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c4c1f441c2"), X86_DEC_UD); /* B */

	/* VEX vs LES in 32-bit mode */
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "c400"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_LES);
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "c5f877"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VZEROUPPER);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "c4e27d18c0"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VBROADCASTSS);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_YMM0);
	/* EVEX vs BOUND */
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "6200"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_BOUND);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c4858c1"), 0);
	CU_ASSERT_EQUAL(in.length, 6);
	/* 66 before VEX: #UD */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "66c5f877"), X86_DEC_UD);
	/* 3DNow! */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "0f0fc00d"), 0);
	CU_ASSERT_EQUAL(in.length, 4);
	CU_ASSERT_EQUAL(in.mnem, X86_M_PI2FD);
}

/* EVEX: operands, masking, broadcast, rounding, disp8*N, #UD rules and
 * the formatter (SDM Vol. 2A 2.6). */
static void
check_fmt(const char *want)
{
	char buf[128];

	x86_format(&in, 0, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fprintf(stderr, "format: got '%s', want '%s'\n", buf, want);
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void
test_evex(void)
{
	/* vaddps zmm0 {k1}, zmm0, zmm1 */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c4958c1"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VADDPS);
	CU_ASSERT_EQUAL(in.nops, 3);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_ZMM0);
	CU_ASSERT_EQUAL(in.ops[2].reg, X86_R_ZMM0 + 1);
	CU_ASSERT_EQUAL(in.evex_aaa, 1);
	/* merging-masking reads the destination */
	CU_ASSERT_EQUAL(in.ops[0].access, X86_ACC_RW);
	check_fmt("vaddps zmm0 {k1}, zmm0, zmm1");
	/* zeroing: write only */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17cc958c1"), 0);
	CU_ASSERT_EQUAL(in.ops[0].access, X86_ACC_W);
	check_fmt("vaddps zmm0 {k1} {z}, zmm0, zmm1");
	/* broadcast: disp8 1 * N (4) and {1to16} */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c5958410162"), 0);
	CU_ASSERT_EQUAL(in.length, 7);
	CU_ASSERT_EQUAL(in.ops[2].disp, 4);
	CU_ASSERT_EQUAL(in.ops[2].size, 4);
	CU_ASSERT_EQUAL(in.ops[2].bcst, 16);
	check_fmt("vaddps zmm0 {k1}, zmm0, dword ptr [rcx + 0x4]{1to16}");
	/* full vector: disp8 1 * 64; 128-bit: * 16; vaddpd qword {1to8} */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c48584101"), 0);
	CU_ASSERT_EQUAL(in.disp, 64);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c08584101"), 0);
	CU_ASSERT_EQUAL(in.disp, 16);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_XMM0);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f1fd58584101"), 0);
	CU_ASSERT_EQUAL(in.disp, 8);
	check_fmt("vaddpd zmm0, zmm0, qword ptr [rcx + 0x8]{1to8}");
	/* scalar T1S: N = 4; disp8 -1 */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17e085841ff"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VADDSS);
	CU_ASSERT_EQUAL(in.disp, -4);
	/* VPSLLD by xmm count (M128): N = 16 whatever the length */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17d48f24101"), 0);
	CU_ASSERT_EQUAL(in.disp, 16);
	/* R', X and V': zmm31, zmm31 (vvvv+V'), zmm24 (rm with X) */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "6201744058c0"), 0);
	check_fmt("vaddps zmm24, zmm17, zmm24");
	/* static rounding: RC from L'L, 512 bits */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c7858c1"), 0);
	CU_ASSERT_EQUAL(in.evex_rc, 4);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_ZMM0);
	check_fmt("vaddps zmm0, zmm0, zmm1, {rz-sae}");
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c185dc1"), 0);
	check_fmt("vminps zmm0, zmm0, zmm1, {sae}");
	/* compare into k, VPTERNLOGD, VMOVDQU64 masked store */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c4ac2c101"), 0);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_K0);
	check_fmt("vcmpps k0 {k2}, zmm0, zmm1, 1");
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f37d4825c1e8"), 0);
	check_fmt("vpternlogd zmm0, zmm0, zmm1, 0xe8");
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f1fe4f7f4101"), 0);
	CU_ASSERT_EQUAL(in.ops[0].type, X86_OPND_MEM);
	CU_ASSERT_EQUAL(in.ops[0].access, X86_ACC_RW);
	check_fmt("vmovdqu64 zmmword ptr [rcx + 0x40] {k7}, zmm0");
	/* 32-bit mode: R' and B ignored */
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "62e17c4858c1"), 0);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_ZMM0);

	/* #UD: L'L = 11b; z without a mask; V' = 0 outside 64-bit mode;
	 * EVEX.b on a register form without rounding/SAE; zeroing of a
	 * compare into k; a store with zeroing; broadcast on a load;
	 * W1 on a W0 form; an opcode no EVEX form has */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c6858c1"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17c8858c1"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "62f17c4058c1"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17d18fec1"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17cc9c2c101"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17ccf1101"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f1fe5f6f4101"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f1fc4858c1"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17d48f7c1"), X86_DEC_UD);
	/* vmovd: L'L must be 0; masking not allowed */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17d086ec1"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VMOVD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f17d096ec1"), X86_DEC_UD);
}

/* The EVEX groups beyond the compiler core: VSIB gathers and scatters,
 * compress, down-converts, GPR conversions, VNNI, 4VNNIW, VGETMANT,
 * VFIXUPIMM, T4 broadcasts (bytes from GNU as). */
static void
test_evex_groups(void)
{
	/* vpgatherdd zmm1 {k2}, [rax + zmm3*4 + 0x100]: disp8 0x40 * 4 */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27d4a904c9840"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VPGATHERDD);
	CU_ASSERT_EQUAL(in.ops[1].index, X86_R_ZMM0 + 3);
	CU_ASSERT_EQUAL(in.ops[1].disp, 0x100);
	CU_ASSERT_EQUAL(in.ops[0].access, X86_ACC_RW);
	check_fmt("vpgatherdd zmm1 {k2}, ptr [rax + zmm3*4 + 0x100]");
	/* index 25 with V', base r8; W1: disp8 -1 * 8 */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "6282fd41934cc8ff"), 0);
	CU_ASSERT_EQUAL(in.ops[0].reg, X86_R_ZMM0 + 17);
	CU_ASSERT_EQUAL(in.ops[1].index, X86_R_ZMM0 + 25);
	CU_ASSERT_EQUAL(in.ops[1].disp, -8);
	/* gathers: k0, zeroing, no SIB, destination = index: #UD */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27d48904c9840"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27dca904c9840"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27d4a904840"), X86_DEC_UD);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27d4a904c8840"), X86_DEC_UD);
	/* vpscatterdq [rdi + ymm2*8 + 0x40] {k3}, zmm4 */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f2fd4ba064d708"), 0);
	CU_ASSERT_EQUAL(in.ops[0].type, X86_OPND_MEM);
	CU_ASSERT_EQUAL(in.ops[0].index, X86_R_YMM0 + 2);
	CU_ASSERT_EQUAL(in.ops[0].disp, 0x40);
	CU_ASSERT_EQUAL(in.ops[1].reg, X86_R_ZMM0 + 4);
	/* compress (T1S: N 4), down-convert to memory (HVM: N 32) */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27d498b5102"), 0);
	check_fmt("vpcompressd zmmword ptr [rcx + 0x8] {k1}, zmm2");
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27e49305a02"), 0);
	check_fmt("vpmovwb ymmword ptr [rdx + 0x40] {k1}, zmm3");
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27ec932f5"), 0);
	check_fmt("vpmovqb xmm5 {k1} {z}, zmm6");
	/* zeroing with a memory destination: #UD */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27ec9305a02"), X86_DEC_UD);
	/* GPR conversions: EVEX.W as REX.W, ignored outside 64-bit mode */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f1ef087bc8"), 0);
	check_fmt("vcvtusi2sd xmm1, xmm2, rax");
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "62f1fe082ac8"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VCVTSI2SS);
	CU_ASSERT_EQUAL(in.ops[2].reg, X86_R_EAX);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f1fe182cc3"), 0);
	check_fmt("vcvttss2si rax, xmm3, {sae}");
	/* masking is #UD on them */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f1ef097bc8"), X86_DEC_UD);
	/* VNNI with broadcast, VGETMANT with SAE, VFIXUPIMM, 4VNNIW (m128:
	 * N 16), VBROADCASTI32X4 (T4: N 16) */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f26d59504810"), 0);
	check_fmt("vpdpbusd zmm1 {k1}, zmm2, dword ptr [rax + 0x40]{1to16}");
	CU_ASSERT_EQUAL(in.ops[0].access, X86_ACC_RW);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f37d1826ca03"), 0);
	check_fmt("vgetmantps zmm1, zmm2, 3, {sae}");
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f3edd9540807"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VFIXUPIMMPD);
	CU_ASSERT_EQUAL(in.ops[2].bcst, 8);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f25f49524101"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VP4DPWSSD);
	CU_ASSERT_EQUAL(in.ops[2].disp, 0x10);
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f27d485a4801"), 0);
	check_fmt("vbroadcasti32x4 zmm1, xmmword ptr [rax + 0x10]");
	/* unused vvvv must be 1111b, its bit 3 too outside 64-bit mode
	 * (vpmovm2d xmm5, k7 with vvvv 0111b) */
	CU_ASSERT_EQUAL(dec(X86_MODE_32, "62d23e0838ef"), X86_DEC_UD);
	CU_ASSERT(dec_is(X86_MODE_32, "62d27e0838ef", X86_M_VPMOVM2D));
	/* vpextrq [rax + 8], xmm1, 1 (T1S: N 8) */
	CU_ASSERT_EQUAL(dec(X86_MODE_64, "62f3fd0816480101"), 0);
	CU_ASSERT_EQUAL(in.mnem, X86_M_VPEXTRQ);
	CU_ASSERT_EQUAL(in.ops[0].disp, 8);
}

struct pages {
	const uint8_t *b;
	size_t present;
};

static int
fetch(void *arg, uint64_t off, uint8_t *buf, size_t len)
{
	struct pages *p = arg;

	if (off >= p->present)
		return -1;
	if (len > p->present - off)
		len = p->present - off;
	memcpy(buf, p->b + off, len);
	return (int)len;
}

static void
test_fetch(void)
{
	static const uint8_t code[] = { 0x48, 0x8b, 0x84, 0xc8,
					0x00, 0x01, 0x00, 0x00 };
	struct pages p = { code, 5 };

	CU_ASSERT_EQUAL(x86_decode_fetch(&in, X86_MODE_64, fetch, &p),
			X86_DEC_FETCH);
	CU_ASSERT_EQUAL(in.fault_offset, 5);
	p.present = 8;
	CU_ASSERT_EQUAL(x86_decode_fetch(&in, X86_MODE_64, fetch, &p), 0);
	CU_ASSERT_EQUAL(in.length, 8);
	CU_ASSERT_EQUAL(in.ops[1].index, X86_R_RAX + 1);
	CU_ASSERT_EQUAL(in.ops[1].scale, 8);
}

static CU_TestInfo decode_tests[] = {
	{ "basic forms", test_basic },
	{ "prefix rules", test_prefixes },
	{ "VEX, EVEX, 3DNow!", test_vex_evex },
	{ "EVEX operands, masks, broadcast, disp8*N", test_evex },
	{ "EVEX gathers, compress, down-converts, VNNI and others",
	  test_evex_groups },
	{ "fetch callback", test_fetch },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "decode", decode_tests },
	{ NULL, NULL },
};
