/*
 * The XSAVE feature set for the interp engine (SDM vol. 1 ch. 13):
 * XCR0 (XSETBV; XGETBV is in interp_sys.c), XSAVE, XSAVEOPT, XSAVEC, XSAVES,
 * XRSTOR and XRSTORS over the state components the engine has, x87 (0) and SSE
 * (1); AVX and later stay out of XCR0's supported bits, so every XSAVE
 * area is the 512-byte legacy region and the 64-byte header (576 bytes,
 * CPUID leaf 0xD), and the compacted format equals the standard one.
 * IA32_XSS supports no supervisor component (vmm_interp.c: it holds 0).
 *
 * XINUSE is computed from the state itself: a component is in use
 * unless it is in its initial configuration (x87: FCW 037FH, everything
 * else 0, all registers empty; SSE: the XMM registers 0 -- MXCSR does
 * not count, as on the host, where an XRSTOR that puts SSE in its
 * initial configuration but loads MXCSR leaves XINUSE[1] 0).  The SDM
 * lets XINUSE[i] be 1 for a component in its initial configuration, so
 * a CPU may report more in use, never less; the tests compare so.
 */
#include "interp.h"

#define XCR0_SUPPORTED 0x3ULL /* x87, SSE */
#define XFEATURE_X87   0x1ULL
#define XFEATURE_SSE   0x2ULL
#define XCOMP_COMPACT  (1ULL << 63)
#define XSAVE_LEGACY   512
#define XSAVE_SIZE     576 /* legacy region + header */
#define MXCSR_INIT     0x1f80u
#define CR4_OSXSAVE    (1ULL << 18)
#define VEC_NM         7

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* How many XMM registers: XMM8-15 exist in 64-bit mode only. */
static unsigned int
xmm_count(const struct interp_cpu *c)
{
	return interp_code_mode(c) == X86_MODE_64 ? 16 : 8;
}

uint64_t
interp_xinuse(const struct interp_cpu *c)
{
	static const uint8_t zero[sizeof(c->fpu.xmm)];
	uint64_t in = 0;

	if (c->fpu.fcw != 0x37f || c->fpu.fsw != 0 || c->fpu.ftw != 0 ||
	    c->fpu.fop != 0 || c->fpu.fip != 0 || c->fpu.fdp != 0)
		in |= XFEATURE_X87;
	for (int i = 0; i < 8 && !(in & XFEATURE_X87); i++)
		if (memcmp(c->fpu.st[i], zero, 10) != 0)
			in |= XFEATURE_X87;
	if (memcmp(c->fpu.xmm, zero, sizeof(c->fpu.xmm)) != 0)
		in |= XFEATURE_SSE;
	return in;
}

/* EDX:EAX, the instruction mask. */
static uint64_t
edx_eax(const struct interp_cpu *c)
{
	return (uint32_t)c->gpr[0] | ((uint64_t)(uint32_t)c->gpr[2] << 32);
}

static bool
is_xsaves(unsigned int mnem)
{
	return mnem == X86_M_XSAVES || mnem == X86_M_XSAVES64 ||
	       mnem == X86_M_XRSTORS || mnem == X86_M_XRSTORS64;
}

/*
 * What every one of them checks, in the CPU's order: CR4.OSXSAVE (#UD;
 * a register operand is #UD too), CR0.TS (#NM), then CPL 0 for XSAVES
 * and XRSTORS and the area's 64-byte alignment (#GP(0)).  Then the
 * whole area must be accessible, so that a fault leaves nothing half
 * written or loaded.
 */
static int
xsave_check(struct interp_cpu *c, const struct x86_instr *insn, int access)
{
	const struct x86_operand *m = &insn->ops[0];
	int rc;

	if (!(c->cr4 & CR4_OSXSAVE) || m->type != X86_OPND_MEM)
		return interp_ud(c);
	if (c->cr0 & CR0_TS)
		return interp_raise(c, VEC_NM, false, 0);
	if (is_xsaves(insn->mnem) && interp_cpl(c) != 0)
		return interp_gp0(c);
	if ((rc = interp_simd_align(c, insn, 0, 64)) != INTERP_OK)
		return rc;
	return interp_mem_probe(c, m->seg, interp_ea(c, insn, m),
				insn->addrsize, XSAVE_SIZE,
				interp_simd_access(m, access));
}

/*
 * XSAVE XSAVEOPT XSAVEC XSAVES (and their REX.W forms: 64-bit FIP/FDP).
 * RFBM = XCR0 & EDX:EAX.  XSAVE writes every requested component and
 * XSTATE_BV's requested bits (the others stay); XSAVEOPT skips the
 * components not in use (its init optimization; rhyve does not track
 * modifications, which the SDM leaves optional) but writes MXCSR as
 * XSAVE does; XSAVEC and XSAVES write the components in use only,
 * MXCSR with SSE, and the header's XSTATE_BV and XCOMP_BV in full.
 */
static int
op_xsave(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = &insn->ops[0];
	bool compact = insn->mnem == X86_M_XSAVEC ||
		       insn->mnem == X86_M_XSAVEC64 || is_xsaves(insn->mnem);
	bool opt =
	    insn->mnem == X86_M_XSAVEOPT || insn->mnem == X86_M_XSAVEOPT64;
	uint64_t rfbm = c->xcr0 & edx_eax(c), in = interp_xinuse(c);
	uint64_t ea = interp_ea(c, insn, m), save = rfbm, hdr[2];
	int access = interp_simd_access(m, X86_MEM_WRITE);
	unsigned int nxmm = xmm_count(c);
	uint8_t img[XSAVE_LEGACY];
	int rc;

	if ((rc = xsave_check(c, insn, X86_MEM_WRITE)) != INTERP_OK)
		return rc;
	/* XSAVEC and XSAVES count SSE in use where MXCSR is not 1F80H:
	 * their XRSTOR would else put 1F80H there. */
	if (compact && c->fpu.mxcsr != MXCSR_INIT)
		in |= XFEATURE_SSE;
	if (compact || opt)
		save &= in;
	memset(img, 0, sizeof(img));
	interp_fx_x87(c, img, insn->opsize == 8, true);
	memcpy(img + 24, &c->fpu.mxcsr, 4);
	memcpy(img + 28, &(uint32_t){ interp_mxcsr_mask(c) }, 4);
	memcpy(img + 160, c->fpu.xmm, nxmm * 16);
	if (save & XFEATURE_X87) {
		if ((rc = interp_mem_write(c, m->seg, ea, insn->addrsize, img,
					   24, access)) != INTERP_OK ||
		    (rc = interp_mem_write(c, m->seg, ea + 32, insn->addrsize,
					   img + 32, 128, access)) != INTERP_OK)
			return rc;
	}
	if (((compact ? save : rfbm) & XFEATURE_SSE) &&
	    (rc = interp_mem_write(c, m->seg, ea + 24, insn->addrsize, img + 24,
				   8, access)) != INTERP_OK)
		return rc;
	if ((save & XFEATURE_SSE) &&
	    (rc = interp_mem_write(c, m->seg, ea + 160, insn->addrsize,
				   img + 160, nxmm * 16, access)) != INTERP_OK)
		return rc;
	if (compact) {
		hdr[0] = rfbm & in;
		hdr[1] = rfbm | XCOMP_COMPACT;
	} else {
		rc = interp_mem_read(c, m->seg, ea + XSAVE_LEGACY,
				     insn->addrsize, hdr, 8,
				     interp_simd_access(m, X86_MEM_READ));
		if (rc != INTERP_OK)
			return rc;
		hdr[0] = (hdr[0] & ~rfbm) | (rfbm & in);
	}
	return interp_mem_write(c, m->seg, ea + XSAVE_LEGACY, insn->addrsize,
				hdr, compact ? 16 : 8, access);
}

/*
 * XRSTOR XRSTORS: the header decides the form.  Standard (XCOMP_BV[63]
 * clear; XRSTORS has no standard form): #GP(0) if XSTATE_BV has a bit
 * XCR0 lacks or header bytes 8-23 are not 0.  Compacted: #GP(0) if
 * XCOMP_BV has a bit XCR0 (| IA32_XSS, 0) lacks, XSTATE_BV a bit
 * XCOMP_BV lacks, or header bytes 16-63 are not 0.  A loaded MXCSR with
 * a reserved bit is #GP(0).  Then each requested component is loaded
 * where XSTATE_BV has it and put in its initial configuration where
 * not; MXCSR is loaded whenever SSE is requested in the standard form,
 * with the SSE component in the compacted one (else 1F80H).
 */
static int
op_xrstor(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = &insn->ops[0];
	uint64_t rfbm = c->xcr0 & edx_eax(c), bv, comp;
	unsigned int nxmm = xmm_count(c);
	uint8_t img[XSAVE_SIZE];
	bool compact, rsvd = false;
	uint32_t mxcsr = MXCSR_INIT;
	int rc;

	if ((rc = xsave_check(c, insn, X86_MEM_READ)) != INTERP_OK)
		return rc;
	rc = interp_mem_read(c, m->seg, interp_ea(c, insn, m), insn->addrsize,
			     img, XSAVE_SIZE,
			     interp_simd_access(m, X86_MEM_READ));
	if (rc != INTERP_OK)
		return rc;
	bv = get64(img + XSAVE_LEGACY);
	comp = get64(img + XSAVE_LEGACY + 8);
	compact = (comp & XCOMP_COMPACT) != 0;
	for (int i = compact ? 16 : 8; i < (compact ? 64 : 24); i++)
		rsvd |= img[XSAVE_LEGACY + i] != 0;
	if (rsvd || (is_xsaves(insn->mnem) && !compact) ||
	    (!compact && (bv & ~c->xcr0)) ||
	    (compact && ((comp & ~XCOMP_COMPACT & ~c->xcr0) ||
			 (bv & ~(comp & ~XCOMP_COMPACT)))))
		return interp_gp0(c);
	if ((rfbm & XFEATURE_SSE) && (!compact || (bv & XFEATURE_SSE))) {
		memcpy(&mxcsr, img + 24, 4);
		if (mxcsr & ~interp_mxcsr_mask(c))
			return interp_gp0(c);
	}
	if (rfbm & XFEATURE_X87) {
		if (bv & XFEATURE_X87) {
			interp_fx_x87(c, img, insn->opsize == 8, false);
		} else {
			memset(c->fpu.st, 0, sizeof(c->fpu.st));
			c->fpu.fcw = 0x37f;
			c->fpu.fsw = c->fpu.fop = 0;
			c->fpu.ftw = 0;
			c->fpu.fip = c->fpu.fdp = 0;
		}
	}
	if (rfbm & XFEATURE_SSE) {
		c->fpu.mxcsr = mxcsr;
		if (bv & XFEATURE_SSE)
			memcpy(c->fpu.xmm, img + 160, nxmm * 16);
		else
			memset(c->fpu.xmm, 0, nxmm * 16);
	}
	return INTERP_OK;
}

/* XSETBV: CPL 0, XCR0 only (ECX 0); x87 always on, nothing beyond the
 * supported components (#GP(0)). */
static int
op_xsetbv(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v = edx_eax(c);

	(void)insn;
	if (!(c->cr4 & CR4_OSXSAVE))
		return interp_ud(c);
	if (interp_cpl(c) != 0 || (uint32_t)c->gpr[1] != 0 ||
	    !(v & XFEATURE_X87) || (v & ~XCR0_SUPPORTED))
		return interp_gp0(c);
	c->xcr0 = v;
	return INTERP_OK;
}

const struct interp_op interp_ops_xsave[] = {
	{ X86_M_XSAVE, op_xsave },    { X86_M_XSAVE64, op_xsave },
	{ X86_M_XSAVEOPT, op_xsave }, { X86_M_XSAVEOPT64, op_xsave },
	{ X86_M_XSAVEC, op_xsave },   { X86_M_XSAVEC64, op_xsave },
	{ X86_M_XSAVES, op_xsave },   { X86_M_XSAVES64, op_xsave },
	{ X86_M_XRSTOR, op_xrstor },  { X86_M_XRSTOR64, op_xrstor },
	{ X86_M_XRSTORS, op_xrstor }, { X86_M_XRSTORS64, op_xrstor },
	{ X86_M_XSETBV, op_xsetbv },  { 0, NULL },
};
