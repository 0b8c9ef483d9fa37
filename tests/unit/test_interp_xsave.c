/*
 * The interp engine's XSAVE feature set against the host CPU (the
 * harness of fpu_harness.c): XRSTOR then XSAVE/XSAVEOPT/XSAVEC from
 * random state on both sides, and directed tests of the checks, XSETBV/
 * XGETBV and what the host cannot run here (XSAVES/XRSTORS at CPL 0,
 * XCR0 with x87 only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit.h"
#include "fpu_harness.h"

#define CR4_OSXSAVE (1ULL << 18)
#define XS_B        0x240 /* the second XSAVE area (576 bytes after) */
#define XS_HDR      512

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void
xsave_on(void)
{
	cpu->cr4 |= CR4_OSXSAVE;
	cpu->xcr0 = 3;
}

/* An XRSTOR image at m: random, or the initial configuration of a
 * component (so that loaded state may be init: XINUSE), a valid header
 * in the standard or compacted form. */
static void
xs_image(uint8_t *m)
{
	uint64_t bv = fpu_rnd() & 3, comp = 0;
	uint32_t mxcsr = 0x1f80 | (uint32_t)(fpu_rnd() & 0xe07f);

	if (fpu_rnd() % 4 == 0) { /* x87 init values */
		memset(m, 0, 24);
		memset(m + 32, 0, 128);
		m[0] = 0x7f;
		m[1] = 0x03;
	}
	if (fpu_rnd() % 4 == 0) { /* SSE init values */
		memset(m + 160, 0, 256);
		mxcsr = 0x1f80;
	}
	memcpy(m + 24, &mxcsr, 4);
	if (fpu_rnd() % 2) {
		comp = (1ULL << 63) | bv | (fpu_rnd() & 3);
		memset(m + XS_HDR + 16, 0, 48);
	} else {
		memset(m + XS_HDR + 8, 0, 16); /* 24-63 are ignored */
	}
	memcpy(m + XS_HDR, &bv, 8);
	memcpy(m + XS_HDR + 8, &comp, 8);
}

/*
 * XINUSE: the host may report a component in use (XSTATE_BV 1) that
 * the engine finds in its initial configuration (0), never the reverse;
 * where so, the host's saved component must be the initial one, which
 * the engine's XSAVEOPT/XSAVEC did not write.  Make the engine's area
 * the host's there; false if the difference is not of that kind.
 */
static bool
xs_reconcile(uint8_t *nat, uint8_t *emu, uint64_t rfbm)
{
	uint64_t nbv = get64(nat + XS_HDR), ebv = get64(emu + XS_HDR);
	uint64_t diff = nbv ^ ebv;
	uint8_t init[416];

	memset(init, 0, sizeof(init));
	init[0] = 0x7f;
	init[1] = 0x03;
	init[25] = 0x1f;
	init[24] = 0x80;
	if ((diff & ~rfbm) || (ebv & diff))
		return false;
	if (diff & 1) {
		if (memcmp(nat, init, 24) || memcmp(nat + 32, init + 32, 128))
			return false;
		memcpy(emu, nat, 24);
		memcpy(emu + 32, nat + 32, 128);
	}
	if (diff & 2) {
		if (memcmp(nat + 24, init + 24, 4) ||
		    memcmp(nat + 160, init + 160, 256))
			return false;
		memcpy(emu + 24, nat + 24, 8);
		memcpy(emu + 160, nat + 160, 256);
	}
	memcpy(emu + XS_HDR, nat + XS_HDR, 8);
	return true;
}

/*
 * XRSTOR (standard or compacted, random XSTATE_BV and instruction mask)
 * from area 0, XOR EAX (another mask), then XSAVE, XSAVEOPT or XSAVEC
 * into area XS_B, on the host and in the engine: the registers, flags
 * and both areas must agree (XINUSE as xs_reconcile() allows).  The
 * host's XCR0 has more than x87 and SSE, so the masks stay within
 * them; XSAVES/XRSTORS are CPL 0 only (the directed tests below).
 */
static void
test_xsave(void)
{
	static const uint8_t save_modrm[] = { 0xa3, 0xb3, 0xa3 }; /* /4 /6 /4 */
	int bad = 0, total = 0, kinds[3] = { 0 };

	if (guest == NULL)
		guest_setup();
	for (int k = 0; k < 6000 && bad < 10; k++) {
		int kind = (int)(fpu_rnd() % 3); /* XSAVE XSAVEOPT XSAVEC */
		struct state s0, nat, emu;
		uint8_t m0[MEM_SIZE], code[32], x;
		uint32_t disp = XS_B;
		char err[400];
		size_t n = 0;
		int vec;

		rnd_state(&s0, true);
		if (fpu_rnd() % 4 == 0) /* the prologue's state: SSE init */
			memset(s0.fx + 160, 0, 256);
		s0.gpr[0] = (fpu_rnd() << 32) | (fpu_rnd() & 3);
		s0.gpr[2] = fpu_rnd() << 32;
		rnd_vec(m0, MEM_SIZE);
		xs_image(m0);
		x = (uint8_t)(fpu_rnd() & 3);
		/* xrstor[64] [rbx]; xor eax, x; save [rbx + XS_B] */
		if (fpu_rnd() % 2)
			code[n++] = 0x48;
		n = emit(code, n, "0fae2b");
		code[n++] = 0x83;
		code[n++] = 0xf0;
		code[n++] = x;
		if (fpu_rnd() % 2)
			code[n++] = 0x48;
		code[n++] = 0x0f;
		code[n++] = kind == 2 ? 0xc7 : 0xae;
		code[n++] = save_modrm[kind];
		memcpy(code + n, &disp, 4);
		n += 4;
		nat = s0;
		nat.gpr[3] = (uint64_t)(uintptr_t)natmem;
		memcpy(natmem, m0, MEM_SIZE);
		native_run(&nat, code, n);
		cpu_reset();
		xsave_on();
		emu = s0;
		emu.gpr[3] = G_DATA;
		state_to_cpu(&emu);
		memcpy(guest + G_DATA, m0, MEM_SIZE);
		total++;
		kinds[kind]++;
		vec = interp_run_code(code, n, err, sizeof(err));
		if (vec != -1) {
			printf("\n  xsave case %d: %s (vector %d)", k,
			       vec == -2 ? err : "fault", vec);
			bad++;
			continue;
		}
		cpu_to_state(&emu);
		/* FOP, FIP, FCS, FDP, FDS are the host's (the engine keeps
		 * no FCS/FDS, see test_x87); MXCSR_MASK is the host's where
		 * both wrote it. */
		memcpy(natmem + XS_B + 6, guest + G_DATA + XS_B + 6, 18);
		if (memcmp(natmem + XS_B + 28, m0 + XS_B + 28, 4) != 0)
			memcpy(natmem + XS_B + 28, guest + G_DATA + XS_B + 28,
			       4);
		if (!xs_reconcile(natmem + XS_B, guest + G_DATA + XS_B,
				  (s0.gpr[0] ^ x) & 3)) {
			printf(
			    "\n  xsave case %d: XSTATE_BV %llx vs %llx", k,
			    (unsigned long long)get64(natmem + XS_B + XS_HDR),
			    (unsigned long long)get64(guest + G_DATA + XS_B +
						      XS_HDR));
			bad++;
			continue;
		}
		if (!compare("xrstor/xsave", code, n, &nat, &emu, natmem,
			     guest + G_DATA))
			bad++;
	}
	printf("\n  %d cases (xsave %d, xsaveopt %d, xsavec %d), %d "
	       "differences\n",
	       total, kinds[0], kinds[1], kinds[2], bad);
	CU_ASSERT_EQUAL(bad, 0);
}

static void
set_xsave(void)
{
	xsave_on();
	cpu->gpr[0] = 3;
	cpu->gpr[2] = 0;
	memset(guest + G_DATA, 0, MEM_SIZE);
	guest[G_DATA + 24] = 0x80;
	guest[G_DATA + 25] = 0x1f;
}

static void
set_xsave_ts(void)
{
	set_xsave();
	cpu->cr0 |= CR0_TS;
}

static void
set_xsave_misaligned(void)
{
	set_xsave();
	cpu->gpr[3] = G_DATA + 16;
}

/*
 * A directed case: 'hex' after set_xsave() with EAX 'eax', ECX 'ecx' and
 * up to three bytes of the area at G_DATA changed (offset, value; offset
 * 0 ends), then the vector expected (-1: none).
 */
struct xs_case {
	const char *hex;
	uint32_t eax, ecx;
	uint16_t off[3];
	uint8_t val[3];
	int vec;
};

static const struct xs_case *xs_cur;

static void
set_xs_case(void)
{
	set_xsave();
	cpu->gpr[0] = xs_cur->eax;
	cpu->gpr[1] = xs_cur->ecx;
	for (int i = 0; i < 3 && xs_cur->off[i] != 0; i++)
		guest[G_DATA + xs_cur->off[i]] = xs_cur->val[i];
}

#define HDR(i) (XS_HDR + (i))
#define COMPACT                                                                \
	{ HDR(0), HDR(8), HDR(15) },                                           \
	{                                                                      \
		3, 3, 0x80                                                     \
	}

static const struct xs_case xs_cases[] = {
	/* XRSTOR [rbx], standard form: header bytes 8-23 must be 0 (24-63
	 * are ignored), XSTATE_BV within XCR0. */
	{ "0fae2b", 3, 0, { 0 }, { 0 }, -1 },
	{ "0fae2b", 3, 0, { HDR(16) }, { 1 }, 13 },
	{ "0fae2b", 3, 0, { HDR(30) }, { 1 }, -1 },
	{ "0fae2b", 3, 0, { HDR(0) }, { 4 }, 13 },
	/* compacted: bytes 16-63 0, XCOMP_BV within XCR0, XSTATE_BV
	 * within XCOMP_BV */
	{ "0fae2b", 3, 0, COMPACT, -1 },
	{ "0fae2b", 3, 0, { HDR(8), HDR(15), HDR(30) }, { 3, 0x80, 1 }, 13 },
	{ "0fae2b", 3, 0, { HDR(0), HDR(8), HDR(15) }, { 3, 1, 0x80 }, 13 },
	{ "0fae2b", 3, 0, { HDR(0), HDR(8), HDR(15) }, { 3, 7, 0x80 }, 13 },
	/* MXCSR with a reserved bit: #GP where SSE is requested */
	{ "0fae2b", 3, 0, { 26 }, { 1 }, 13 },
	{ "0fae2b", 1, 0, { 26 }, { 1 }, -1 },
	/* XRSTORS: compacted form only */
	{ "0fc71b", 3, 0, { 0 }, { 0 }, 13 },
	{ "0fc71b", 3, 0, COMPACT, -1 },
	/* XSETBV: x87 always, nothing but x87 and SSE, XCR0 only */
	{ "0f01d1", 0, 0, { 0 }, { 0 }, 13 },
	{ "0f01d1", 7, 0, { 0 }, { 0 }, 13 },
	{ "0f01d1", 3, 1, { 0 }, { 0 }, 13 },
	{ "0f01d1", 1, 0, { 0 }, { 0 }, -1 },
};

static void
set_xmm1(void)
{
	union interp_xmm v = { .d = { 1, 0, 0, 0 } };

	xsave_on();
	cpu->gpr[1] = 1;
	interp_xmm_set(cpu, 1, &v);
}

static void
set_xmm1_rfbm(void)
{
	set_xmm1();
	cpu->gpr[0] = 3;
}

static void
set_xgetbv1(void)
{
	xsave_on();
	cpu->gpr[1] = 1;
}

/*
 * The XSAVE feature set's checks (SDM vol. 1 13.7-13.12 and the
 * instructions' exception tables; the header rules also checked on the
 * host by hand: standard form header bytes 8-23, compacted 16-63),
 * XSETBV/XGETBV, and what the host cannot run here: XSAVES and XRSTORS
 * (CPL 0), XCR0 with x87 only.
 */
static void
test_xsave_checks(void)
{
	uint8_t a[576], b[576];

	if (guest == NULL)
		guest_setup();
	/* XSAVE [rbx]: no OSXSAVE #UD, TS #NM, misaligned #GP. */
	CU_ASSERT_EQUAL(run_hex("0fae23", NULL), 6);
	CU_ASSERT_EQUAL(run_hex("0fae23", set_xsave), -1);
	CU_ASSERT_EQUAL(run_hex("0fae23", set_xsave_ts), 7);
	CU_ASSERT_EQUAL(run_hex("0fae23", set_xsave_misaligned), 13);
	CU_ASSERT_EQUAL(run_hex("0fc723", set_xsave_misaligned), 13);
	/* XRSTOR [rbx]: the header. */
	CU_ASSERT_EQUAL(run_hex("0fae2b", set_xsave_misaligned), 13);
	for (size_t i = 0; i < sizeof(xs_cases) / sizeof(xs_cases[0]); i++) {
		xs_cur = &xs_cases[i];
		if (run_hex(xs_cur->hex, set_xs_case) != xs_cur->vec) {
			printf("\n  xsave directed case %zu: not vector %d", i,
			       xs_cur->vec);
			CU_FAIL("xsave directed case");
		}
	}
	CU_ASSERT_EQUAL(cpu->xcr0, 1);
	CU_ASSERT_EQUAL(run_hex("0f01d1", NULL), 6);
	/* XGETBV 1: XCR0 & XINUSE. */
	CU_ASSERT_EQUAL(run_hex("0f01d0", set_xgetbv1), -1);
	CU_ASSERT_EQUAL(cpu->gpr[0], 0);
	CU_ASSERT_EQUAL(run_hex("0f01d0", set_xmm1), -1);
	CU_ASSERT_EQUAL(cpu->gpr[0], 2);
	/* XSAVES = XSAVEC here (no supervisor state): the same area. */
	CU_ASSERT_EQUAL(run_hex("0fc723", set_xmm1_rfbm), -1); /* xsavec */
	memcpy(a, guest + G_DATA, sizeof(a));
	memset(guest + G_DATA, 0, sizeof(b));
	CU_ASSERT_EQUAL(run_hex("0fc72b", set_xmm1_rfbm), -1); /* xsaves */
	memcpy(b, guest + G_DATA, sizeof(b));
	CU_ASSERT_EQUAL(memcmp(a + 24, b + 24, 576 - 24), 0);
	CU_ASSERT_EQUAL(get64(b + XS_HDR), 2); /* SSE in use, x87 not */
	CU_ASSERT_EQUAL(get64(b + XS_HDR + 8), (1ULL << 63) | 3);
	CU_ASSERT_EQUAL(b[160 + 16], 1); /* XMM1 */
	/* XRSTORS of it: XMM1 back, x87 init. */
	cpu_reset();
	xsave_on();
	cpu->gpr[0] = 3;
	cpu->gpr[3] = G_DATA;
	cpu->fpu.fcw = 0x27f;
	memcpy(guest + G_DATA, b, sizeof(b));
	{
		char err[400];
		uint8_t code[] = { 0x0f, 0xc7, 0x1b };

		CU_ASSERT_EQUAL(
		    interp_run_code(code, sizeof(code), err, sizeof(err)), -1);
	}
	CU_ASSERT_EQUAL(cpu->fpu.fcw, 0x37f);
	CU_ASSERT_EQUAL(cpu->fpu.xmm[1][0], 1);
}

static CU_TestInfo xsave_tests[] = {
	{ "XRSTOR then XSAVE/XSAVEOPT/XSAVEC vs the host", test_xsave },
	{ "XSAVE family checks, XSETBV/XGETBV, XSAVES/XRSTORS",
	  test_xsave_checks },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "interp_xsave", xsave_tests },
	{ NULL, NULL },
};
