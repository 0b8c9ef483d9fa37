/*
 * Registers, operands and the stack of the interp engine: what the
 * decoder names (emul's register ids, memory operands) read and written
 * with the architectural width rules.
 */
#include "interp.h"

uint64_t
interp_gpr_read(const struct interp_cpu *c, unsigned int num, unsigned int size)
{
	return c->gpr[num & 15] & interp_mask(size);
}

void
interp_gpr_write(struct interp_cpu *c, unsigned int num, unsigned int size,
		 uint64_t val)
{
	uint64_t *r = &c->gpr[num & 15];

	if (size >= 4)
		*r = size == 4 ? (uint32_t)val : val;
	else
		*r = (*r & ~interp_mask(size)) | (val & interp_mask(size));
}

uint64_t
interp_reg_read(const struct interp_cpu *c, unsigned int reg)
{
	int num;

	/* The common case first: a 64- or 32-bit GPR. */
	if (reg >= X86_R_RAX && reg < X86_R_IP)
		return c->gpr[reg - X86_R_RAX];
	if (reg >= X86_R_EAX && reg < X86_R_RAX)
		return (uint32_t)c->gpr[reg - X86_R_EAX];
	num = x86_reg_gpr_num(reg);
	switch (x86_reg_class(reg)) {
	case X86_RC_GPR8:
		if (reg >= X86_R_AH && reg < X86_R_SPL)
			return (c->gpr[reg - X86_R_AH] >> 8) & 0xff;
		return c->gpr[num] & 0xff;
	case X86_RC_GPR16:
		return c->gpr[num] & 0xffff;
	case X86_RC_GPR32:
		return c->gpr[num] & 0xffffffff;
	case X86_RC_GPR64:
		return c->gpr[num];
	case X86_RC_IP:
		return c->rip & interp_mask(x86_reg_size(reg));
	case X86_RC_SEG:
		return c->seg[reg - X86_R_ES].sel;
	case X86_RC_CR:
		switch (reg - X86_R_CR0) {
		case 0:
			return c->cr0;
		case 2:
			return c->cr2;
		case 3:
			return c->cr3;
		case 4:
			return c->cr4;
		case 8:
			return c->cr8;
		default:
			return 0;
		}
	case X86_RC_DR:
		switch (reg - X86_R_DR0) {
		case 0:
		case 1:
		case 2:
		case 3:
			return c->dr[reg - X86_R_DR0];
		case 4:
		case 6:
			return c->dr6;
		default:
			return c->dr7;
		}
	default:
		return 0;
	}
}

void
interp_reg_write(struct interp_cpu *c, unsigned int reg, uint64_t val)
{
	int num;

	if (reg >= X86_R_RAX && reg < X86_R_IP) {
		c->gpr[reg - X86_R_RAX] = val;
		return;
	}
	if (reg >= X86_R_EAX && reg < X86_R_RAX) {
		c->gpr[reg - X86_R_EAX] = (uint32_t)val;
		return;
	}
	num = x86_reg_gpr_num(reg);
	switch (x86_reg_class(reg)) {
	case X86_RC_GPR8:
		if (reg >= X86_R_AH && reg < X86_R_SPL) {
			uint64_t *r = &c->gpr[reg - X86_R_AH];

			*r = (*r & ~0xff00ULL) | ((val & 0xff) << 8);
		} else {
			interp_gpr_write(c, (unsigned)num, 1, val);
		}
		break;
	case X86_RC_GPR16:
		interp_gpr_write(c, (unsigned)num, 2, val);
		break;
	case X86_RC_GPR32:
		interp_gpr_write(c, (unsigned)num, 4, val);
		break;
	case X86_RC_GPR64:
		interp_gpr_write(c, (unsigned)num, 8, val);
		break;
	default:
		break; /* segment, control, debug: their instructions' job */
	}
}

/* A base or index register of an address, RIP-relative from next_rip. */
static uint64_t
addr_reg(const struct interp_cpu *c, unsigned int reg)
{
	if (reg >= X86_R_RAX && reg < X86_R_IP)
		return c->gpr[reg - X86_R_RAX];
	if (reg == X86_R_RIP || reg == X86_R_EIP || reg == X86_R_IP)
		return c->next_rip;
	return interp_reg_read(c, reg);
}

uint64_t
interp_ea(const struct interp_cpu *c, const struct x86_instr *insn,
	  const struct x86_operand *op)
{
	uint64_t ea = (uint64_t)op->disp;

	if (op->base != X86_R_NONE)
		ea += addr_reg(c, op->base);
	if (op->index != X86_R_NONE)
		ea += addr_reg(c, op->index) * (op->scale ? op->scale : 1);
	return ea & interp_mask(insn->addrsize);
}

/* Stack-segment accesses fault with #SS on a bad address. */
static int
opnd_access(const struct x86_operand *op, int type)
{
	return op->seg == X86_R_SS ? (type | X86_MEM_STACK) : type;
}

/* (Apart, so that the register and immediate cases stay light.) */
static __attribute__((noinline)) int
opnd_read_mem(struct interp_cpu *c, const struct x86_instr *insn,
	      const struct x86_operand *op, uint64_t *val)
{
	*val = 0;
	if (op->size > 8)
		return interp_error(c, "%u-byte operand read as integer",
				    op->size);
	return interp_mem_read(c, op->seg, interp_ea(c, insn, op),
			       insn->addrsize, val, op->size,
			       opnd_access(op, X86_MEM_READ));
}

int
interp_opnd_read(struct interp_cpu *c, const struct x86_instr *insn, int i,
		 uint64_t *val)
{
	const struct x86_operand *op = &insn->ops[i];

	switch (op->type) {
	case X86_OPND_REG:
		*val = interp_reg_read(c, op->reg);
		return INTERP_OK;
	case X86_OPND_MEM:
		return opnd_read_mem(c, insn, op, val);
	case X86_OPND_IMM:
	case X86_OPND_REL:
	case X86_OPND_FAR:
		*val = (uint64_t)op->imm & interp_mask(op->size ? op->size : 8);
		return INTERP_OK;
	default:
		return interp_error(c, "operand %d of %s is missing", i,
				    x86_mnem_name(insn->mnem));
	}
}

int
interp_opnd_write(struct interp_cpu *c, const struct x86_instr *insn, int i,
		  uint64_t val)
{
	const struct x86_operand *op = &insn->ops[i];

	switch (op->type) {
	case X86_OPND_REG:
		if (interp_reg_class(op->reg) > X86_RC_GPR64)
			return interp_error(c, "%s writes register %s",
					    x86_mnem_name(insn->mnem),
					    x86_reg_name(op->reg));
		interp_reg_write(c, op->reg, val);
		return INTERP_OK;
	case X86_OPND_MEM:
		if (op->size > 8)
			return interp_error(
			    c, "%u-byte operand written as integer", op->size);
		return interp_mem_write(c, op->seg, interp_ea(c, insn, op),
					insn->addrsize, &val, op->size,
					opnd_access(op, X86_MEM_WRITE));
	default:
		return interp_error(c, "%s writes a non-lvalue operand %d",
				    x86_mnem_name(insn->mnem), i);
	}
}

int
interp_far_pointer(struct interp_cpu *c, const struct x86_instr *insn, int i,
		   uint16_t *sel, uint64_t *off)
{
	const struct x86_operand *op = &insn->ops[i];
	unsigned int size = insn->opsize;
	uint8_t buf[10] = { 0 };
	int rc;

	if (op->type == X86_OPND_FAR) {
		*sel = op->sel;
		*off = (uint64_t)op->imm & interp_mask(size);
		return INTERP_OK;
	}
	if (op->type != X86_OPND_MEM)
		return interp_ud(c);
	rc = interp_mem_read(c, op->seg, interp_ea(c, insn, op), insn->addrsize,
			     buf, size + 2, X86_MEM_READ);
	if (rc != INTERP_OK)
		return rc;
	*off = 0;
	for (unsigned int b = 0; b < size; b++)
		*off |= (uint64_t)buf[b] << (8 * b);
	*sel = (uint16_t)(buf[size] | buf[size + 1] << 8);
	return INTERP_OK;
}

/* ---- the stack ------------------------------------------------------ */

unsigned int
interp_stack_size(const struct interp_cpu *c)
{
	if (interp_code_mode(c) == X86_MODE_64)
		return 8;
	return (c->seg[X86_R_SS - X86_R_ES].desc.access & X86_SEG_DB) ? 4 : 2;
}

void
interp_sp_add(struct interp_cpu *c, int64_t delta)
{
	unsigned int ssz = interp_stack_size(c);

	interp_gpr_write(c, 4, ssz, c->gpr[4] + (uint64_t)delta);
}

int
interp_push(struct interp_cpu *c, uint64_t val, unsigned int size)
{
	unsigned int ssz = interp_stack_size(c);
	uint64_t sp = (c->gpr[4] - size) & interp_mask(ssz);
	int rc;

	rc = interp_mem_write(c, X86_R_SS, sp, ssz, &val, size,
			      X86_MEM_WRITE | X86_MEM_STACK);
	if (rc == INTERP_OK || rc == INTERP_EXIT)
		interp_gpr_write(c, 4, ssz, sp);
	return rc;
}

int
interp_stack_peek(struct interp_cpu *c, uint64_t off, uint64_t *val,
		  unsigned int size)
{
	unsigned int ssz = interp_stack_size(c);
	uint64_t sp = (c->gpr[4] + off) & interp_mask(ssz);

	*val = 0;
	return interp_mem_read(c, X86_R_SS, sp, ssz, val, size,
			       X86_MEM_READ | X86_MEM_STACK);
}

int
interp_pop(struct interp_cpu *c, uint64_t *val, unsigned int size)
{
	int rc = interp_stack_peek(c, 0, val, size);

	if (rc == INTERP_OK)
		interp_sp_add(c, size);
	return rc;
}
