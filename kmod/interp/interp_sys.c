/*
 * System instructions for the interp engine: control and debug
 * registers, descriptor tables, MSRs, CPUID, the TSC, HLT, interrupt
 * flag and direction flag, SWAPGS, SYSCALL/SYSRET, SYSENTER/SYSEXIT,
 * cache and TLB maintenance, and the #UD instructions.
 */
#include "interp.h"
#include "io/vio.h"

#define CR4_TSD      (1ULL << 2)
#define CR4_FSGSBASE (1ULL << 16)
#define CR4_OSXSAVE  (1ULL << 18)
/* CR4 bits the CPU accepts (VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR
 * OSXMMEXCPT UMIP LA57 FSGSBASE PCIDE OSXSAVE SMEP SMAP PKE). */
#define CR4_VALID      0x7f17ffULL
#define EFER_VALID     (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)
#define CR0_FIXED_ZERO 0xffffffff1ffaffc0ULL /* reserved CR0 bits */

static bool
cpl0(const struct interp_cpu *c)
{
	return interp_cpl(c) == 0;
}

static bool
long_mode64(const struct interp_cpu *c)
{
	return interp_code_mode(c) == X86_MODE_64;
}

/* ---- flags ---------------------------------------------------------- */

static bool
iopl_ok(struct interp_cpu *c)
{
	return !(c->cr0 & CR0_PE) ||
	       interp_cpl(c) <= ((c->rflags & PSL_IOPL) >> 12);
}

static int
op_cli(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	if (!iopl_ok(c))
		return interp_gp0(c);
	c->rflags &= ~PSL_I;
	return INTERP_OK;
}

static int
op_sti(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	if (!iopl_ok(c))
		return interp_gp0(c);
	if (!(c->rflags & PSL_I))
		c->shadow_set = true;
	c->rflags |= PSL_I;
	return INTERP_OK;
}

/* CLAC/STAC (SMAP): CPL 0 only, and only where CPUID has SMAP. */
static int
op_clac(struct interp_cpu *c, const struct x86_instr *insn)
{
	if (!cpl0(c))
		return interp_ud(c);
	c->rflags =
	    insn->mnem == X86_M_STAC ? c->rflags | PSL_AC : c->rflags & ~PSL_AC;
	return INTERP_OK;
}

static int
op_cld(struct interp_cpu *c, const struct x86_instr *insn)
{
	c->rflags =
	    insn->mnem == X86_M_STD ? c->rflags | PSL_D : c->rflags & ~PSL_D;
	return INTERP_OK;
}

static int
op_hlt(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	if (!cpl0(c))
		return interp_gp0(c);
	c->exit->exitcode = VM_EXITCODE_HLT;
	c->exit->u.hlt.rflags = interp_rflags(c);
	return INTERP_EXIT;
}

/* ---- control and debug registers ------------------------------------ */

static int
write_cr0(struct interp_cpu *c, uint64_t v)
{
	v |= CR0_ET;
	if ((v & CR0_FIXED_ZERO) || ((v & CR0_PG) && !(v & CR0_PE)) ||
	    ((v & CR0_NW) && !(v & CR0_CD)))
		return interp_gp0(c);
	if ((v & CR0_PG) && !(c->cr0 & CR0_PG) && (c->efer & EFER_LME)) {
		/* Entering IA-32e mode: PAE on, not from a 64-bit CS. */
		if (!(c->cr4 & CR4_PAE) ||
		    (c->seg[X86_R_CS - X86_R_ES].desc.access & X86_SEG_L))
			return interp_gp0(c);
		c->efer |= EFER_LMA;
	}
	if (!(v & CR0_PG) && (c->cr0 & CR0_PG) && (c->efer & EFER_LMA)) {
		if (long_mode64(c))
			return interp_gp0(c);
		c->efer &= ~EFER_LMA;
	}
	c->cr0 = v;
	interp_tlb_flush(c);
	return INTERP_OK;
}

static int
write_cr4(struct interp_cpu *c, uint64_t v)
{
	if ((v & ~CR4_VALID) || ((c->efer & EFER_LMA) && !(v & CR4_PAE)) ||
	    ((v & CR4_PCIDE) && !(c->cr4 & CR4_PCIDE) && (c->cr3 & 0xfff)))
		return interp_gp0(c);
	c->cr4 = v;
	interp_tlb_flush(c);
	return INTERP_OK;
}

static int
op_mov_cr(struct interp_cpu *c, const struct x86_instr *insn, bool to_cr)
{
	const struct x86_operand *cr = &insn->ops[to_cr ? 0 : 1];
	unsigned int n = cr->reg - X86_R_CR0;
	uint64_t v;

	if (!cpl0(c))
		return interp_gp0(c);
	if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8)
		return interp_ud(c);
	if (!to_cr) {
		return interp_opnd_write(c, insn, 0,
					 interp_reg_read(c, cr->reg));
	}
	v = interp_reg_read(c, insn->ops[1].reg);
	if (!long_mode64(c))
		v &= 0xffffffffULL;
	switch (n) {
	case 0:
		return write_cr0(c, v);
	case 2:
		c->cr2 = v;
		return INTERP_OK;
	case 3:
		if ((c->efer & EFER_LMA) &&
		    (v & ~(1ULL << 63)) >> c->maxphyaddr)
			return interp_gp0(c);
		c->cr3 = v & ~(1ULL << 63);
		interp_tlb_flush(c);
		return INTERP_OK;
	case 4:
		return write_cr4(c, v);
	default:
		if (v > 15)
			return interp_gp0(c);
		c->cr8 = v;
		return INTERP_OK;
	}
}

static int
op_mov_special(struct interp_cpu *c, const struct x86_instr *insn)
{
	enum x86_reg_class c0 = x86_reg_class(insn->ops[0].reg);
	enum x86_reg_class c1 = x86_reg_class(insn->ops[1].reg);

	if (c0 == X86_RC_CR || c1 == X86_RC_CR)
		return op_mov_cr(c, insn, c0 == X86_RC_CR);
	return interp_db_mov(c, insn, c0 == X86_RC_DR);
}

static int
op_lmsw(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v;
	int rc;

	if (!cpl0(c))
		return interp_gp0(c);
	if ((rc = interp_opnd_read(c, insn, 0, &v)) != INTERP_OK)
		return rc;
	/* PE can be set, not cleared; MP EM TS as given. */
	v = (c->cr0 & ~0xeULL) | (v & 0xf) | (c->cr0 & CR0_PE);
	return write_cr0(c, v);
}

static int
op_smsw(struct interp_cpu *c, const struct x86_instr *insn)
{
	if ((c->cr4 & (1ULL << 11)) && !cpl0(c)) /* UMIP */
		return interp_gp0(c);
	return interp_opnd_write(c, insn, 0, c->cr0);
}

static int
op_clts(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	if (!cpl0(c))
		return interp_gp0(c);
	c->cr0 &= ~CR0_TS;
	return INTERP_OK;
}

/* WBINVD INVD: no caches to maintain. */
static int
op_cpl0_nop(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	return cpl0(c) ? INTERP_OK : interp_gp0(c);
}

static int
op_invlpg(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = &insn->ops[0];
	uint64_t lin = interp_ea(c, insn, m);

	if (m->type != X86_OPND_MEM)
		return interp_ud(c);
	if (!cpl0(c))
		return interp_gp0(c);
	if (!long_mode64(c) || m->seg == X86_R_FS || m->seg == X86_R_GS)
		lin += c->seg[m->seg - X86_R_ES].desc.base;
	interp_tlb_flush_page(c, long_mode64(c) ? lin : lin & 0xffffffffULL);
	return INTERP_OK;
}

/* INVPCID: every kind flushes at least what it names; all is enough. */
static int
op_invpcid(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	if (!cpl0(c))
		return interp_gp0(c);
	interp_tlb_flush(c);
	return INTERP_OK;
}

/* ---- descriptor tables ---------------------------------------------- */

static int
op_lgdt(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = &insn->ops[0];
	unsigned int bsz = long_mode64(c) ? 8 : 4;
	uint8_t buf[10] = { 0 };
	uint64_t base = 0;
	int rc;

	if (m->type != X86_OPND_MEM)
		return interp_ud(c);
	if (!cpl0(c))
		return interp_gp0(c);
	rc = interp_mem_read(c, m->seg, interp_ea(c, insn, m), insn->addrsize,
			     buf, 2 + bsz, X86_MEM_READ);
	if (rc != INTERP_OK)
		return rc;
	for (unsigned int i = 0; i < bsz; i++)
		base |= (uint64_t)buf[2 + i] << (8 * i);
	if (insn->opsize == 2 && bsz == 4)
		base &= 0xffffff;
	if (bsz == 8 && !x86_canonical(base, c->cr4 & CR4_LA57))
		return interp_gp0(c);
	{
		struct x86_segdesc *t =
		    insn->mnem == X86_M_LGDT ? &c->gdtr : &c->idtr;

		t->base = base;
		t->limit = (uint32_t)(buf[0] | buf[1] << 8);
	}
	return INTERP_OK;
}

static int
op_sgdt(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = &insn->ops[0];
	const struct x86_segdesc *t =
	    insn->mnem == X86_M_SGDT ? &c->gdtr : &c->idtr;
	unsigned int bsz = long_mode64(c) ? 8 : 4;
	uint8_t buf[10];

	if (m->type != X86_OPND_MEM)
		return interp_ud(c);
	if ((c->cr4 & (1ULL << 11)) && !cpl0(c))
		return interp_gp0(c);
	buf[0] = (uint8_t)t->limit;
	buf[1] = (uint8_t)(t->limit >> 8);
	for (unsigned int i = 0; i < bsz; i++)
		buf[2 + i] = (uint8_t)(t->base >> (8 * i));
	return interp_mem_write(c, m->seg, interp_ea(c, insn, m),
				insn->addrsize, buf, 2 + bsz, X86_MEM_WRITE);
}

/* LLDT and LTR: a system descriptor from the GDT (16 bytes in IA-32e). */
static int
load_sysseg(struct interp_cpu *c, const struct x86_instr *insn, bool tr)
{
	bool lm = (c->efer & EFER_LMA) != 0;
	struct interp_seg *s = tr ? &c->tr : &c->ldtr;
	uint64_t v, desc, hi = 0;
	uint32_t base, limit, access;
	unsigned int type;
	uint16_t sel;
	int rc;

	if (!(c->cr0 & CR0_PE) || (c->rflags & PSL_VM))
		return interp_ud(c);
	if (!cpl0(c))
		return interp_gp0(c);
	if ((rc = interp_opnd_read(c, insn, 0, &v)) != INTERP_OK)
		return rc;
	sel = (uint16_t)v;
	if ((sel & ~3u) == 0) {
		if (tr)
			return interp_gp0(c);
		s->sel = sel;
		s->desc = (struct x86_segdesc){ 0, 0, X86_SEG_UNUSABLE };
		return INTERP_OK;
	}
	if (sel & 4)
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	if ((rc = interp_read_desc(c, sel, &desc, lm, &hi)) != INTERP_OK)
		return rc;
	x86_desc_unpack(desc, &base, &limit, &access);
	type = X86_SEG_TYPE(access);
	if ((access & X86_SEG_S) ||
	    (tr ? type != 0x9 && type != 0x1 : type != 0x2))
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	if (!(access & X86_SEG_P))
		return interp_raise(c, 11, true, sel & ~3u);
	if (tr) {
		/* Mark it busy in the GDT, as the CPU does. */
		desc |= 2ULL << 40;
		rc = interp_lin_write(c, c->gdtr.base + (sel & ~7u), &desc, 8,
				      X86_MEM_WRITE | X86_MEM_IMPLICIT);
		if (rc != INTERP_OK)
			return rc;
		access |= 2;
	}
	s->sel = sel;
	s->desc.base = base | (lm ? (hi & 0xffffffffULL) << 32 : 0);
	s->desc.limit = limit;
	s->desc.access = access;
	return INTERP_OK;
}

static int
op_lldt(struct interp_cpu *c, const struct x86_instr *insn)
{
	return load_sysseg(c, insn, insn->mnem == X86_M_LTR);
}

static int
op_sldt(struct interp_cpu *c, const struct x86_instr *insn)
{
	if (!(c->cr0 & CR0_PE) || (c->rflags & PSL_VM))
		return interp_ud(c);
	if ((c->cr4 & (1ULL << 11)) && !cpl0(c))
		return interp_gp0(c);
	return interp_opnd_write(
	    c, insn, 0, insn->mnem == X86_M_STR ? c->tr.sel : c->ldtr.sel);
}

/* ---- MSRs, CPUID, TSC ----------------------------------------------- */

static int
write_efer(struct interp_cpu *c, uint64_t v)
{
	if (v & ~EFER_VALID)
		return interp_gp0(c);
	/* LME cannot change while paging is on; LMA is the CPU's. */
	if ((c->cr0 & CR0_PG) && ((v ^ c->efer) & EFER_LME))
		return interp_gp0(c);
	c->efer = (v & ~EFER_LMA) | (c->efer & EFER_LMA);
	interp_tlb_flush(c);
	return INTERP_OK;
}

/*
 * The local APIC's MSRs are kmod's: the first execution exits, kmod
 * answers (or injects #GP, which drops the restart) and the instruction
 * is executed again with the value.
 */
static int
msr_exit(struct interp_cpu *c, bool write, uint32_t msr, uint64_t v,
	 uint64_t *out)
{
	if (c->msr_done) {
		*out = c->msr_value;
		return INTERP_OK;
	}
	c->exit->exitcode = write ? VM_EXITCODE_WRMSR : VM_EXITCODE_RDMSR;
	c->exit->u.msr.msr = msr;
	c->exit->u.msr.value = write ? v : 0;
	return INTERP_RESTART;
}

static int
op_rdmsr(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint32_t msr = (uint32_t)c->gpr[1];
	uint64_t v;
	int rc;

	(void)insn;
	if (!cpl0(c))
		return interp_gp0(c);
	if (vlapic_owns_msr(msr)) {
		if ((rc = msr_exit(c, false, msr, 0, &v)) != INTERP_OK)
			return rc;
	} else if (interp_msr_get(c, msr, &v) != 0) {
		return interp_gp0(c);
	}
	interp_gpr_write(c, 0, 4, v);
	interp_gpr_write(c, 2, 4, v >> 32);
	return INTERP_OK;
}

static int
op_wrmsr(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint32_t msr = (uint32_t)c->gpr[1];
	uint64_t v = (uint32_t)c->gpr[0] | (c->gpr[2] << 32), out;

	(void)insn;
	if (!cpl0(c))
		return interp_gp0(c);
	if (vlapic_owns_msr(msr))
		return msr_exit(c, true, msr, v, &out);
	switch (msr) {
	case MSR_EFER:
		return write_efer(c, v);
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
		if (!x86_canonical(v, c->cr4 & CR4_LA57))
			return interp_gp0(c);
		break;
	default:
		break;
	}
	if (interp_msr_set(c, msr, v) != 0)
		return interp_gp0(c);
	return INTERP_OK;
}

static int
op_cpuid(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint32_t r[4];

	(void)insn;
	vm_cpuid_lookup(c->cpuid, c->ncpuid, (uint32_t)c->gpr[0],
			(uint32_t)c->gpr[1], r);
	/* OSXSAVE mirrors CR4. */
	if ((uint32_t)c->gpr[0] == 1)
		r[2] = (r[2] & ~(1u << 27)) |
		       ((c->cr4 & CR4_OSXSAVE) ? 1u << 27 : 0);
	interp_gpr_write(c, 0, 4, r[0]); /* EAX */
	interp_gpr_write(c, 3, 4, r[1]); /* EBX */
	interp_gpr_write(c, 1, 4, r[2]); /* ECX */
	interp_gpr_write(c, 2, 4, r[3]); /* EDX */
	return INTERP_OK;
}

static int
op_rdtsc(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t tsc;

	if ((c->cr4 & CR4_TSD) && !cpl0(c))
		return interp_gp0(c);
	tsc = interp_tsc(c);
	interp_gpr_write(c, 0, 4, tsc);
	interp_gpr_write(c, 2, 4, tsc >> 32);
	if (insn->mnem == X86_M_RDTSCP)
		interp_gpr_write(c, 1, 4, c->tsc_aux);
	return INTERP_OK;
}

/*
 * RDRAND/RDSEED: the bits come from kmod (an exit; the host's entropy,
 * recorded, or the trace's when replaying), then the instruction runs
 * again with them: CF=1 (valid), the other arithmetic flags clear.
 */
static int
op_rdrand(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v;
	int rc;

	if (!c->msr_done) {
		c->exit->exitcode = VM_EXITCODE_RANDOM;
		c->exit->u.random.bytes = insn->opsize;
		c->exit->u.random.rdseed = insn->mnem == X86_M_RDSEED;
		return INTERP_RESTART;
	}
	v = c->msr_value;
	if ((rc = interp_opnd_write(c, insn, 0, v)) != INTERP_OK)
		return rc;
	interp_set_flags(c, INTERP_ARITH_FLAGS, PSL_C);
	return INTERP_OK;
}

/* XGETBV: ECX 0 is XCR0, ECX 1 XCR0 & XINUSE (CPUID.(0DH,1):EAX[2];
 * interp_xsave.c). */
static int
op_xgetbv(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v = c->xcr0;

	(void)insn;
	if (!(c->cr4 & CR4_OSXSAVE))
		return interp_ud(c);
	if ((uint32_t)c->gpr[1] == 1)
		v &= interp_xinuse(c);
	else if ((uint32_t)c->gpr[1] != 0)
		return interp_gp0(c);
	interp_gpr_write(c, 0, 4, v);
	interp_gpr_write(c, 2, 4, v >> 32);
	return INTERP_OK;
}

static int
op_ud(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	return interp_ud(c);
}

/* ---- fast system calls ---------------------------------------------- */

static const struct x86_segdesc flat_code64 = { 0, 0xffffffff,
						SEG_ACC_TYPE(SDT_MEMERA) |
						    SEG_ACC_S | SEG_ACC_P |
						    SEG_ACC_L | SEG_ACC_G };
static const struct x86_segdesc flat_code32 = { 0, 0xffffffff,
						SEG_ACC_TYPE(SDT_MEMERA) |
						    SEG_ACC_S | SEG_ACC_P |
						    SEG_ACC_DB | SEG_ACC_G };
static const struct x86_segdesc flat_data = { 0, 0xffffffff,
					      SEG_ACC_TYPE(SDT_MEMRWA) |
						  SEG_ACC_S | SEG_ACC_P |
						  SEG_ACC_DB | SEG_ACC_G };

static void
set_flat(struct interp_cpu *c, unsigned int seg, uint16_t sel,
	 struct x86_segdesc d, unsigned int dpl)
{
	d.access |= SEG_ACC_DPL(dpl);
	c->seg[seg - X86_R_ES] = (struct interp_seg){ sel, d };
}

static int
op_swapgs(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t *gs = &c->seg[X86_R_GS - X86_R_ES].desc.base, t;

	(void)insn;
	if (!long_mode64(c))
		return interp_ud(c);
	if (!cpl0(c))
		return interp_gp0(c);
	t = *gs;
	*gs = c->kernel_gs_base;
	c->kernel_gs_base = t;
	return INTERP_OK;
}

static int
op_syscall(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint16_t sel = (uint16_t)(c->star >> 32);
	uint64_t f;

	(void)insn;
	if (!(c->efer & EFER_SCE) || !(c->efer & EFER_LMA))
		return interp_ud(c);
	f = interp_rflags(c);
	/* From 64-bit code to LSTAR, from compatibility mode to CSTAR. */
	c->gpr[1] = c->next_rip;
	c->gpr[11] = f;
	c->next_rip = long_mode64(c) ? c->lstar : c->cstar;
	set_flat(c, X86_R_CS, sel & ~3u, flat_code64, 0);
	set_flat(c, X86_R_SS, (uint16_t)((sel + 8) & ~3u), flat_data, 0);
	interp_set_rflags(c, f & ~(c->sfmask | PSL_RF));
	return INTERP_OK;
}

static int
op_sysret(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint16_t sel = (uint16_t)(c->star >> 48);

	if (!(c->efer & EFER_SCE) || !long_mode64(c))
		return interp_ud(c);
	if (!cpl0(c))
		return interp_gp0(c);
	if (insn->opsize == 8) {
		if (!x86_canonical(c->gpr[1], c->cr4 & CR4_LA57))
			return interp_gp0(c);
		set_flat(c, X86_R_CS, (uint16_t)((sel + 16) | 3), flat_code64,
			 3);
		c->next_rip = c->gpr[1];
	} else {
		set_flat(c, X86_R_CS, (uint16_t)(sel | 3), flat_code32, 3);
		c->next_rip = (uint32_t)c->gpr[1];
	}
	/* SS keeps its selector's descriptor shape: flat, DPL 3. */
	set_flat(c, X86_R_SS, (uint16_t)((sel + 8) | 3), flat_data, 3);
	interp_set_rflags(c, (c->gpr[11] & ~(PSL_RF | PSL_VM)) | PSL_1);
	return INTERP_OK;
}

static int
op_sysenter(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint16_t sel = (uint16_t)c->sysenter_cs;
	bool lm = (c->efer & EFER_LMA) != 0;

	(void)insn;
	if (!(c->cr0 & CR0_PE) || (sel & ~3u) == 0)
		return interp_gp0(c);
	c->rflags &= ~(PSL_VM | PSL_I | PSL_RF);
	set_flat(c, X86_R_CS, sel & ~3u, lm ? flat_code64 : flat_code32, 0);
	set_flat(c, X86_R_SS, (uint16_t)((sel + 8) & ~3u), flat_data, 0);
	c->gpr[4] = lm ? c->sysenter_esp : (uint32_t)c->sysenter_esp;
	c->next_rip = lm ? c->sysenter_eip : (uint32_t)c->sysenter_eip;
	return INTERP_OK;
}

static int
op_sysexit(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint16_t sel = (uint16_t)c->sysenter_cs;
	bool to64 = insn->opsize == 8;

	if (!(c->cr0 & CR0_PE) || (sel & ~3u) == 0 || !cpl0(c))
		return interp_gp0(c);
	set_flat(c, X86_R_CS, (uint16_t)((sel + (to64 ? 32 : 16)) | 3),
		 to64 ? flat_code64 : flat_code32, 3);
	set_flat(c, X86_R_SS, (uint16_t)((sel + (to64 ? 40 : 24)) | 3),
		 flat_data, 3);
	c->gpr[4] = to64 ? c->gpr[1] : (uint32_t)c->gpr[1];
	c->next_rip = to64 ? c->gpr[2] : (uint32_t)c->gpr[2];
	return INTERP_OK;
}

const struct interp_op interp_ops_sys[] = {
	{ X86_M_CLI, op_cli },
	{ X86_M_STI, op_sti },
	{ X86_M_CLD, op_cld },
	{ X86_M_CLAC, op_clac },
	{ X86_M_STAC, op_clac },
	{ X86_M_STD, op_cld },
	{ X86_M_HLT, op_hlt },
	{ X86_M_LMSW, op_lmsw },
	{ X86_M_SMSW, op_smsw },
	{ X86_M_CLTS, op_clts },
	{ X86_M_INVLPG, op_invlpg },
	{ X86_M_INVPCID, op_invpcid },
	{ X86_M_WBINVD, op_cpl0_nop },
	{ X86_M_INVD, op_cpl0_nop },
	{ X86_M_LGDT, op_lgdt },
	{ X86_M_LIDT, op_lgdt },
	{ X86_M_SGDT, op_sgdt },
	{ X86_M_SIDT, op_sgdt },
	{ X86_M_LLDT, op_lldt },
	{ X86_M_LTR, op_lldt },
	{ X86_M_SLDT, op_sldt },
	{ X86_M_STR, op_sldt },
	{ X86_M_RDMSR, op_rdmsr },
	{ X86_M_WRMSR, op_wrmsr },
	{ X86_M_CPUID, op_cpuid },
	{ X86_M_RDTSC, op_rdtsc },
	{ X86_M_RDTSCP, op_rdtsc },
	{ X86_M_XGETBV, op_xgetbv },
	{ X86_M_RDRAND, op_rdrand },
	{ X86_M_RDSEED, op_rdrand },
	{ X86_M_UD2, op_ud },
	{ X86_M_UD0, op_ud },
	{ X86_M_UD1, op_ud },
	{ X86_M_SWAPGS, op_swapgs },
	{ X86_M_SYSCALL, op_syscall },
	{ X86_M_SYSRET, op_sysret },
	{ X86_M_SYSENTER, op_sysenter },
	{ X86_M_SYSEXIT, op_sysexit },
	{ 0, NULL },
};

/* MOV to/from CR and DR share X86_M_MOV with data moves: interp_data.c
 * hands them here. */
int
interp_mov_special(struct interp_cpu *c, const struct x86_instr *insn)
{
	return op_mov_special(c, insn);
}
