/*
 * Segment register loads for the interp engine: descriptors from the GDT
 * and LDT with the checks MOV/POP Sreg, far transfers and IRET make
 * (Intel SDM vol. 3A 5.5-5.8; vol. 2 "MOV", "POP").
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

/* A descriptor as the hidden part keeps it. */
static void
desc_to_seg(uint64_t desc, struct x86_segdesc *d)
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
	desc_to_seg(desc, &d);
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
	desc_to_seg(desc, d);
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
	desc_to_seg(desc, d);
	if ((sel & SEL_RPL) != cpl || ACC_DPL(d->access) != cpl ||
	    !(d->access & X86_SEG_S) ||
	    (X86_SEG_TYPE(d->access) & X86_SEG_TYPE_CODE) ||
	    !(X86_SEG_TYPE(d->access) & X86_SEG_TYPE_WR))
		return interp_raise(c, 10, true, sel & ~3u);
	if (!(d->access & X86_SEG_P))
		return interp_raise(c, X86_VEC_SS, true, sel & ~3u);
	return INTERP_OK;
}
