/*
 * Segment register loads for the interp engine: descriptors from the GDT
 * and LDT with the checks MOV/POP Sreg, far transfers and IRET make
 * (Intel SDM vol. 3A 5.5-5.8; vol. 2 "MOV", "POP"); and the instructions
 * that test a selector without loading it (LAR, LSL, VERR, VERW).
 */
#include "interp.h"

#define SEL_TI     0x4
#define SEL_RPL    0x3
#define ACC_DPL(a) (((a) >> 5) & 3)

int
interp_read_desc(struct interp_cpu *c, uint16_t sel, uint64_t *desc, bool wide,
		 uint64_t *hi)
{
	const struct x86_segdesc *tbl =
	    (sel & SEL_TI) ? &c->ldtr.desc : &c->gdtr;
	uint64_t off = sel & ~7u;
	uint64_t d[2] = { 0, 0 };
	size_t len = wide ? 16 : 8;
	int rc;

	if ((sel & SEL_TI) && (c->ldtr.desc.access & X86_SEG_UNUSABLE))
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	if (off + len - 1 > tbl->limit)
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	rc = interp_lin_read(c, tbl->base + off, d, len,
			     X86_MEM_READ | X86_MEM_IMPLICIT);
	if (rc != INTERP_OK)
		return rc;
	*desc = d[0];
	if (hi != NULL)
		*hi = d[1];
	return INTERP_OK;
}

void
interp_set_seg_real(struct interp_cpu *c, unsigned int seg, uint16_t sel)
{
	struct interp_seg *s = &c->seg[seg - X86_R_ES];

	s->sel = sel;
	s->desc.base = (uint64_t)sel << 4;
	if (c->rflags & PSL_VM) {
		/* Virtual-8086 mode: every segment a 64 KiB DPL-3 one. */
		s->desc.limit = 0xffff;
		s->desc.access = SEG_ACC_S | SEG_ACC_P | SEG_ACC_DPL(3) |
				 (seg == X86_R_CS ? SDT_MEMERA : SDT_MEMRWA);
	}
}

void
interp_desc_to_seg(uint64_t desc, struct x86_segdesc *d)
{
	uint32_t base, limit, access;

	x86_desc_unpack(desc, &base, &limit, &access);
	d->base = base;
	d->limit = limit;
	d->access = access;
}

int
interp_load_seg(struct interp_cpu *c, unsigned int seg, uint16_t sel)
{
	struct interp_seg *s = &c->seg[seg - X86_R_ES];
	unsigned int cpl = interp_cpl(c), rpl = sel & SEL_RPL, dpl;
	struct x86_segdesc d;
	uint64_t desc;
	int rc;

	if (!(c->cr0 & CR0_PE) || (c->rflags & PSL_VM)) {
		interp_set_seg_real(c, seg, sel);
		return INTERP_OK;
	}
	if ((sel & ~3u) == 0 && !(sel & SEL_TI)) {
		/* Null: fine for data segments (and SS in 64-bit mode below
		 * CPL 3); using it faults later. */
		if (seg == X86_R_SS && (interp_code_mode(c) != X86_MODE_64 ||
					cpl == 3 || rpl != cpl))
			return interp_gp0(c);
		if (seg == X86_R_CS)
			return interp_gp0(c);
		s->sel = sel;
		s->desc.base = 0;
		s->desc.limit = 0;
		s->desc.access =
		    X86_SEG_UNUSABLE | (seg == X86_R_SS ? SEG_ACC_DPL(cpl) : 0);
		return INTERP_OK;
	}
	rc = interp_read_desc(c, sel, &desc, false, NULL);
	if (rc != INTERP_OK)
		return rc;
	interp_desc_to_seg(desc, &d);
	dpl = ACC_DPL(d.access);
	if (!(d.access & X86_SEG_S))
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	if (seg == X86_R_SS) {
		if (rpl != cpl || dpl != cpl ||
		    (X86_SEG_TYPE(d.access) & X86_SEG_TYPE_CODE) ||
		    !(X86_SEG_TYPE(d.access) & X86_SEG_TYPE_WR))
			return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
		if (!(d.access & X86_SEG_P))
			return interp_raise(c, X86_VEC_SS, true, sel & ~3u);
	} else {
		unsigned int t = X86_SEG_TYPE(d.access);
		bool code = t & X86_SEG_TYPE_CODE;

		/* Execute-only code cannot be a data segment. */
		if (code && !(t & X86_SEG_TYPE_RD))
			return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
		/* Data and non-conforming code: privilege checks. */
		if ((!code || !(t & 0x4)) && (rpl > dpl || cpl > dpl))
			return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
		if (!(d.access & X86_SEG_P))
			return interp_raise(c, 11, true, sel & ~3u);
	}
	s->sel = sel;
	s->desc = d;
	return INTERP_OK;
}

/*
 * The descriptor of a code segment to transfer to (far JMP/CALL/RET,
 * interrupts, IRET): present, code, not L and D together in long mode.
 * Privilege rules are the caller's; nothing is loaded yet.
 */
int
interp_code_desc(struct interp_cpu *c, uint16_t sel, struct x86_segdesc *d)
{
	uint64_t desc;
	int rc;

	if ((sel & ~3u) == 0 && !(sel & SEL_TI))
		return interp_gp0(c);
	rc = interp_read_desc(c, sel, &desc, false, NULL);
	if (rc != INTERP_OK)
		return rc;
	interp_desc_to_seg(desc, d);
	if (!(d->access & X86_SEG_S) ||
	    !(X86_SEG_TYPE(d->access) & X86_SEG_TYPE_CODE))
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	if (!(d->access & X86_SEG_P))
		return interp_raise(c, 11, true, sel & ~3u);
	if ((c->efer & EFER_LMA) && (d->access & X86_SEG_L) &&
	    (d->access & X86_SEG_DB))
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	return INTERP_OK;
}

/*
 * The descriptor of the stack segment 'sel' for privilege level 'cpl'
 * (inter-privilege transfers): a writable data segment with RPL = DPL =
 * cpl; in 64-bit mode a null selector below CPL 3.  Nothing is loaded.
 */
int
interp_stack_desc(struct interp_cpu *c, uint16_t sel, unsigned int cpl,
		  struct x86_segdesc *d)
{
	uint64_t desc;
	int rc;

	if ((sel & ~3u) == 0 && !(sel & SEL_TI)) {
		if (!(c->efer & EFER_LMA) || cpl == 3)
			return interp_gp0(c);
		*d = (struct x86_segdesc){
			0, 0, X86_SEG_UNUSABLE | SEG_ACC_DPL(cpl) | X86_SEG_DB
		};
		return INTERP_OK;
	}
	rc = interp_read_desc(c, sel, &desc, false, NULL);
	if (rc != INTERP_OK)
		return rc;
	interp_desc_to_seg(desc, d);
	if ((sel & SEL_RPL) != cpl || ACC_DPL(d->access) != cpl ||
	    !(d->access & X86_SEG_S) ||
	    (X86_SEG_TYPE(d->access) & X86_SEG_TYPE_CODE) ||
	    !(X86_SEG_TYPE(d->access) & X86_SEG_TYPE_WR))
		return interp_raise(c, 10, true, sel & ~3u);
	if (!(d->access & X86_SEG_P))
		return interp_raise(c, X86_VEC_SS, true, sel & ~3u);
	return INTERP_OK;
}

/* ---- LAR, LSL, VERR, VERW ------------------------------------------- */

/*
 * The selector in operand 'i' of an instruction that tests one (Intel SDM
 * vol. 2 "LAR", "LSL", "VERR/VERW") and its descriptor; *found is false
 * where there is none to look at (null, past the table's limit: ZF=0, no
 * fault).  INTERP_OK, or the fault: #UD outside protected mode, or one of
 * reading the operand or the descriptor.
 */
static int
selector_probe(struct interp_cpu *c, const struct x86_instr *insn, int i,
	       uint16_t *sel, uint64_t *desc, bool *found)
{
	const struct x86_segdesc *tbl;
	uint64_t v;
	int rc;

	*found = false;
	if (!(c->cr0 & CR0_PE) || (c->rflags & PSL_VM))
		return interp_ud(c);
	if ((rc = interp_opnd_read(c, insn, i, &v)) != INTERP_OK)
		return rc;
	*sel = (uint16_t)v;
	tbl = (*sel & SEL_TI) ? &c->ldtr.desc : &c->gdtr;
	if (((*sel & ~3u) == 0 && !(*sel & SEL_TI)) ||
	    ((*sel & SEL_TI) && (c->ldtr.desc.access & X86_SEG_UNUSABLE)) ||
	    (uint64_t)(*sel & ~7u) + 7 > tbl->limit)
		return INTERP_OK;
	*found = true;
	return interp_read_desc(c, *sel, desc, false, NULL);
}

/* Code or data that the current privilege (and the RPL) may see. */
static bool
desc_visible(struct interp_cpu *c, uint16_t sel, uint32_t access)
{
	unsigned int t = X86_SEG_TYPE(access), dpl = ACC_DPL(access);
	bool conforming =
	    (access & X86_SEG_S) && (t & X86_SEG_TYPE_CODE) && (t & 0x4);

	return conforming ||
	       (dpl >= interp_cpl(c) && dpl >= (unsigned int)(sel & SEL_RPL));
}

/* System descriptor types LAR (and, 'lsl', LSL) accepts in this mode. */
static bool
system_type_ok(struct interp_cpu *c, unsigned int t, bool lsl)
{
	if (c->efer & EFER_LMA)
		return t == 2 || t == 9 || t == 0xb || (!lsl && t == 0xc);
	switch (t) {
	case 1:
	case 2:
	case 3:
	case 9:
	case 0xb:
		return true;
	case 4:
	case 5:
	case 0xc:
		return !lsl;
	default:
		return false;
	}
}

static int
op_lar_lsl(struct interp_cpu *c, const struct x86_instr *insn)
{
	bool lsl = insn->mnem == X86_M_LSL, found;
	uint32_t base, limit, access = 0;
	uint64_t desc = 0;
	uint16_t sel;
	int rc;

	rc = selector_probe(c, insn, 1, &sel, &desc, &found);
	if (rc != INTERP_OK)
		return rc;
	if (found)
		x86_desc_unpack(desc, &base, &limit, &access);
	if (!found || !desc_visible(c, sel, access) ||
	    (!(access & X86_SEG_S) &&
	     !system_type_ok(c, X86_SEG_TYPE(access), lsl))) {
		interp_set_flags(c, PSL_Z, 0);
		return INTERP_OK;
	}
	/* LSL: the limit in bytes; LAR: the access rights, in place. */
	rc = interp_opnd_write(c, insn, 0,
			       lsl ? limit : (desc >> 32) & 0x00f0ff00);
	if (rc != INTERP_OK)
		return rc;
	interp_set_flags(c, PSL_Z, PSL_Z);
	return INTERP_OK;
}

static int
op_verr_verw(struct interp_cpu *c, const struct x86_instr *insn)
{
	bool write = insn->mnem == X86_M_VERW, found, ok;
	uint32_t base, limit, access = 0;
	uint64_t desc = 0;
	unsigned int t;
	uint16_t sel;
	int rc;

	rc = selector_probe(c, insn, 0, &sel, &desc, &found);
	if (rc != INTERP_OK)
		return rc;
	if (found)
		x86_desc_unpack(desc, &base, &limit, &access);
	t = X86_SEG_TYPE(access);
	/* Code: readable (VERR only); data: readable, writable for VERW. */
	ok = found && (access & X86_SEG_S) && desc_visible(c, sel, access) &&
	     ((t & X86_SEG_TYPE_CODE) ? !write && (t & X86_SEG_TYPE_RD)
				      : !write || (t & X86_SEG_TYPE_WR));
	interp_set_flags(c, PSL_Z, ok ? PSL_Z : 0);
	return INTERP_OK;
}

const struct interp_op interp_ops_seg[] = {
	{ X86_M_LAR, op_lar_lsl },
	{ X86_M_LSL, op_lar_lsl },
	{ X86_M_VERR, op_verr_verw },
	{ X86_M_VERW, op_verr_verw },
	{ 0, NULL },
};
