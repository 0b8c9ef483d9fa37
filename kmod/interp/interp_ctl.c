/*
 * Control transfer for the interp engine: near JMP, Jcc, CALL, RET, LOOP
 * and JCXZ; far JMP, CALL and RET between code segments of the same
 * privilege (RET also to an outer one); far JMP and CALL to a TSS or a
 * task gate switch tasks (interp_task.c).  Call gates are not modelled:
 * they stop the VM with a message.
 */
#include "interp.h"

/* A near target, truncated to the operand size (16-bit: IP wraps). */
static uint64_t
near_target(const struct x86_instr *insn, uint64_t ip)
{
	return insn->opsize == 8 ? ip : ip & interp_mask(insn->opsize);
}

/* Outside the CS limit (not in 64-bit mode): #GP(0). */
static int
check_limit(struct interp_cpu *c, uint64_t ip)
{
	if (interp_code_mode(c) != X86_MODE_64 &&
	    ip > c->seg[X86_R_CS - X86_R_ES].desc.limit)
		return interp_gp0(c);
	return INTERP_OK;
}

/*
 * The target of a relative or indirect near branch, checked against the
 * CS limit before the branch changes anything.
 */
static int
branch_target(struct interp_cpu *c, const struct x86_instr *insn, uint64_t *ip)
{
	const struct x86_operand *op = &insn->ops[0];
	uint64_t v;
	int rc;

	if (op->type == X86_OPND_REL)
		v = c->next_rip + (uint64_t)op->imm;
	else if ((rc = interp_opnd_read(c, insn, 0, &v)) != INTERP_OK)
		return rc;
	*ip = near_target(insn, v);
	return check_limit(c, *ip);
}

static int
op_jmp(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t ip;
	int rc;

	if ((rc = branch_target(c, insn, &ip)) != INTERP_OK)
		return rc;
	c->next_rip = ip;
	return INTERP_OK;
}

static int
op_jcc(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int cc = (unsigned int)(insn->mnem - X86_M_JO);

	if (!interp_cond(c, cc))
		return INTERP_OK;
	return op_jmp(c, insn);
}

static int
op_call(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t ip;
	int rc;

	if ((rc = branch_target(c, insn, &ip)) != INTERP_OK)
		return rc;
	rc = interp_push(c, c->next_rip & interp_mask(insn->opsize),
			 insn->opsize);
	if (rc == INTERP_OK)
		c->next_rip = ip;
	return rc;
}

static int
op_ret(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t ip;
	int rc;

	if ((rc = interp_stack_peek(c, 0, &ip, insn->opsize)) != INTERP_OK ||
	    (rc = check_limit(c, ip)) != INTERP_OK)
		return rc;
	interp_sp_add(c,
		      insn->opsize +
			  (insn->nops > 0 ? (insn->ops[0].imm & 0xffff) : 0));
	c->next_rip = ip;
	return INTERP_OK;
}

/* LOOP LOOPE LOOPNE JCXZ JECXZ JRCXZ: the count is CX/ECX/RCX by the
 * address size. */
static int
op_loop(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int asz = insn->addrsize;
	uint64_t cx = c->gpr[1] & interp_mask(asz);
	bool take;

	switch (insn->mnem) {
	case X86_M_JCXZ:
	case X86_M_JECXZ:
	case X86_M_JRCXZ:
		take = cx == 0;
		break;
	default:
		cx = (cx - 1) & interp_mask(asz);
		take = cx != 0;
		if (insn->mnem == X86_M_LOOPE)
			take = take && interp_cond(c, 4);
		else if (insn->mnem == X86_M_LOOPNE)
			take = take && interp_cond(c, 5);
		if (take) {
			uint64_t ip;
			int rc;

			if ((rc = branch_target(c, insn, &ip)) != INTERP_OK)
				return rc;
			interp_gpr_write(c, 1, asz, cx);
			c->next_rip = ip;
			return INTERP_OK;
		}
		interp_gpr_write(c, 1, asz, cx);
		return INTERP_OK;
	}
	return take ? op_jmp(c, insn) : INTERP_OK;
}

/* ---- far transfers -------------------------------------------------- */

/*
 * Checks for a far JMP/CALL to a code segment at the same privilege; a
 * system descriptor is a task switch, done here (*task set: the
 * transfer is complete, or faulted).
 */
static int
far_code(struct interp_cpu *c, uint16_t sel, struct x86_segdesc *d, bool call,
	 bool *task)
{
	unsigned int cpl = interp_cpl(c), dpl;
	uint64_t desc;
	int rc;

	if (!(c->cr0 & CR0_PE) || (c->rflags & PSL_VM)) {
		*d = c->seg[X86_R_CS - X86_R_ES].desc;
		d->base = (uint64_t)sel << 4;
		return INTERP_OK;
	}
	rc = interp_read_desc(c, sel, &desc, false, NULL);
	if (rc != INTERP_OK)
		return rc;
	if (!((desc >> 44) & 1)) {
		*task = true;
		return interp_task_far(c, sel, desc, call);
	}
	if ((rc = interp_code_desc(c, sel, d)) != INTERP_OK)
		return rc;
	dpl = (d->access >> 5) & 3;
	if ((X86_SEG_TYPE(d->access) & 0x4) ? dpl > cpl
					    : ((sel & 3) > cpl || dpl != cpl))
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	return INTERP_OK;
}

static void
load_cs(struct interp_cpu *c, uint16_t sel, const struct x86_segdesc *d)
{
	struct interp_seg *cs = &c->seg[X86_R_CS - X86_R_ES];

	if (!(c->cr0 & CR0_PE) || (c->rflags & PSL_VM)) {
		interp_set_seg_real(c, X86_R_CS, sel);
		return;
	}
	cs->sel = (uint16_t)((sel & ~3u) | interp_cpl(c));
	cs->desc = *d;
}

static int
op_jmpf(struct interp_cpu *c, const struct x86_instr *insn)
{
	struct x86_segdesc d;
	bool task = false;
	uint16_t sel;
	uint64_t off;
	int rc;

	if ((rc = interp_far_pointer(c, insn, 0, &sel, &off)) != INTERP_OK ||
	    (rc = far_code(c, sel, &d, false, &task)) != INTERP_OK || task)
		return rc;
	if (!(d.access & X86_SEG_L) && off > d.limit)
		return interp_gp0(c);
	load_cs(c, sel, &d);
	c->next_rip = off;
	return INTERP_OK;
}

static int
op_callf(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->opsize;
	struct x86_segdesc d;
	uint64_t off, sp = c->gpr[4];
	bool task = false;
	uint16_t sel;
	int rc;

	if ((rc = interp_far_pointer(c, insn, 0, &sel, &off)) != INTERP_OK ||
	    (rc = far_code(c, sel, &d, true, &task)) != INTERP_OK || task)
		return rc;
	if (!(d.access & X86_SEG_L) && off > d.limit)
		return interp_gp0(c);
	rc = interp_push(c, c->seg[X86_R_CS - X86_R_ES].sel, size);
	if (rc == INTERP_OK)
		rc = interp_push(c, c->next_rip & interp_mask(size), size);
	if (rc != INTERP_OK) {
		c->gpr[4] = sp;
		return rc;
	}
	load_cs(c, sel, &d);
	c->next_rip = off;
	return INTERP_OK;
}

static int
op_retf(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->opsize, cpl = interp_cpl(c), rpl;
	uint64_t ip, sel, sp, ss_sel;
	uint64_t imm = insn->nops > 0 ? (uint64_t)insn->ops[0].imm & 0xffff : 0;
	struct x86_segdesc d, ssd;
	struct interp_seg *ss = &c->seg[X86_R_SS - X86_R_ES];
	int rc;

	if ((rc = interp_stack_peek(c, 0, &ip, size)) != INTERP_OK ||
	    (rc = interp_stack_peek(c, size, &sel, size)) != INTERP_OK)
		return rc;
	if (!(c->cr0 & CR0_PE) || (c->rflags & PSL_VM)) {
		interp_set_seg_real(c, X86_R_CS, (uint16_t)sel);
		interp_sp_add(c, 2 * size + imm);
		c->next_rip = ip;
		return INTERP_OK;
	}
	rpl = sel & 3;
	if (rpl < cpl)
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	if ((rc = interp_code_desc(c, (uint16_t)sel, &d)) != INTERP_OK)
		return rc;
	if (rpl == cpl) {
		c->seg[X86_R_CS - X86_R_ES] =
		    (struct interp_seg){ (uint16_t)sel, d };
		interp_sp_add(c, 2 * size + imm);
		c->next_rip = ip;
		return INTERP_OK;
	}
	/* To an outer privilege level: SS:SP follow on the stack. */
	if ((rc = interp_stack_peek(c, 2 * size + imm, &sp, size)) !=
		INTERP_OK ||
	    (rc = interp_stack_peek(c, 3 * size + imm, &ss_sel, size)) !=
		INTERP_OK ||
	    (rc = interp_stack_desc(c, (uint16_t)ss_sel, rpl, &ssd)) !=
		INTERP_OK)
		return rc;
	c->seg[X86_R_CS - X86_R_ES] = (struct interp_seg){ (uint16_t)sel, d };
	ss->sel = (uint16_t)ss_sel;
	ss->desc = ssd;
	c->gpr[4] = sp + imm;
	c->next_rip = ip;
	return INTERP_OK;
}

const struct interp_op interp_ops_ctl[] = {
	{ X86_M_JMP, op_jmp },
	{ X86_M_JO, op_jcc },
	{ X86_M_JNO, op_jcc },
	{ X86_M_JB, op_jcc },
	{ X86_M_JAE, op_jcc },
	{ X86_M_JE, op_jcc },
	{ X86_M_JNE, op_jcc },
	{ X86_M_JBE, op_jcc },
	{ X86_M_JA, op_jcc },
	{ X86_M_JS, op_jcc },
	{ X86_M_JNS, op_jcc },
	{ X86_M_JP, op_jcc },
	{ X86_M_JNP, op_jcc },
	{ X86_M_JL, op_jcc },
	{ X86_M_JGE, op_jcc },
	{ X86_M_JLE, op_jcc },
	{ X86_M_JG, op_jcc },
	{ X86_M_CALL, op_call },
	{ X86_M_RET, op_ret },
	{ X86_M_LOOP, op_loop },
	{ X86_M_LOOPE, op_loop },
	{ X86_M_LOOPNE, op_loop },
	{ X86_M_JCXZ, op_loop },
	{ X86_M_JECXZ, op_loop },
	{ X86_M_JRCXZ, op_loop },
	{ X86_M_JMPF, op_jmpf },
	{ X86_M_CALLF, op_callf },
	{ X86_M_RETF, op_retf },
	{ 0, NULL },
};
