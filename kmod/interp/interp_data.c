/*
 * Data movement for the interp engine: MOV (also to and from segment
 * registers), LEA, the stack (PUSH, POP, PUSHF, POPF, PUSHA, POPA, ENTER,
 * LEAVE), far pointers (LDS & co.), XLAT, and the instructions that do
 * nothing an emulator can see (NOP, fences, prefetches, ENDBR); PAUSE.
 */
#include "interp.h"

static int
op_mov(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *dst = &insn->ops[0];
	uint64_t v;
	int rc;

	if ((dst->type == X86_OPND_REG &&
	     (interp_reg_class(dst->reg) == X86_RC_CR ||
	      interp_reg_class(dst->reg) == X86_RC_DR)) ||
	    (insn->ops[1].type == X86_OPND_REG &&
	     (interp_reg_class(insn->ops[1].reg) == X86_RC_CR ||
	      interp_reg_class(insn->ops[1].reg) == X86_RC_DR)))
		return interp_mov_special(c, insn);
	if ((rc = interp_opnd_read(c, insn, 1, &v)) != INTERP_OK)
		return rc;
	if (dst->type == X86_OPND_REG &&
	    interp_reg_class(dst->reg) == X86_RC_SEG) {
		if (dst->reg == X86_R_CS)
			return interp_ud(c);
		rc = interp_load_seg(c, dst->reg, (uint16_t)v);
		if (rc == INTERP_OK && dst->reg == X86_R_SS)
			c->shadow_set = true;
		return rc;
	}
	/* MOV r32/m16, Sreg: a register gets the selector zero-extended. */
	return interp_opnd_write(c, insn, 0, v);
}

static int
op_lea(struct interp_cpu *c, const struct x86_instr *insn)
{
	if (insn->ops[1].type != X86_OPND_MEM)
		return interp_ud(c);
	return interp_opnd_write(c, insn, 0, interp_ea(c, insn, &insn->ops[1]));
}

static int
op_push(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *op = &insn->ops[0];
	unsigned int size = insn->opsize;
	uint64_t v;
	int rc;

	if ((rc = interp_opnd_read(c, insn, 0, &v)) != INTERP_OK)
		return rc;
	/* PUSH imm8/imm16/imm32: sign-extended to the operand size. */
	if (op->type == X86_OPND_IMM)
		v = (uint64_t)op->imm;
	return interp_push(c, v & interp_mask(size), size);
}

static int
op_pop(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *op = &insn->ops[0];
	unsigned int size = insn->opsize;
	uint64_t v, sp = c->gpr[4];
	int rc;

	if ((rc = interp_stack_peek(c, 0, &v, size)) != INTERP_OK)
		return rc;
	if (op->type == X86_OPND_REG && x86_reg_class(op->reg) == X86_RC_SEG) {
		if ((rc = interp_load_seg(c, op->reg, (uint16_t)v)) !=
		    INTERP_OK)
			return rc;
		if (op->reg == X86_R_SS)
			c->shadow_set = true;
		interp_sp_add(c, size);
		return INTERP_OK;
	}
	/* POP [rsp+d] addresses with RSP already incremented. */
	interp_sp_add(c, size);
	rc = interp_opnd_write(c, insn, 0, v);
	if (rc != INTERP_OK)
		c->gpr[4] = sp;
	return rc;
}

static int
op_pushf(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t f = interp_rflags(c) & ~(PSL_VM | PSL_RF);

	if ((c->rflags & PSL_VM) && ((c->rflags & PSL_IOPL) >> 12) < 3)
		return interp_gp0(c);
	return interp_push(c, f & interp_mask(insn->opsize), insn->opsize);
}

static int
op_popf(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->opsize, cpl = interp_cpl(c);
	uint64_t v, old = interp_rflags(c), mask;
	unsigned int iopl = (old & PSL_IOPL) >> 12;
	int rc;

	if ((c->rflags & PSL_VM) && iopl < 3)
		return interp_gp0(c);
	if ((rc = interp_pop(c, &v, size)) != INTERP_OK)
		return rc;
	/* VM, VIF, VIP, RF never change; IOPL only at CPL 0; IF only when
	 * CPL <= IOPL (SDM vol. 2 "POPF"). */
	mask = PSL_C | PSL_1 | INTERP_PSL_P | INTERP_PSL_A | PSL_Z |
	       INTERP_PSL_S | PSL_T | PSL_I | PSL_D | PSL_V | PSL_IOPL |
	       (1ULL << 14) | PSL_AC | (1ULL << 21);
	if (cpl > 0)
		mask &= ~PSL_IOPL;
	if (cpl > iopl)
		mask &= ~PSL_I;
	if (size == 2)
		mask &= 0xffff;
	interp_set_rflags(c, (old & ~mask) | (v & mask));
	return INTERP_OK;
}

static int
op_pusha(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->opsize, ssz = interp_stack_size(c);
	uint64_t sp = c->gpr[4], buf[8];
	uint8_t bytes[32];
	int rc;

	if (interp_code_mode(c) == X86_MODE_64)
		return interp_ud(c);
	/* EAX ECX EDX EBX (original) ESP EBP ESI EDI, EAX highest. */
	for (int i = 0; i < 8; i++)
		buf[i] = c->gpr[i];
	for (int i = 0; i < 8; i++)
		for (unsigned int b = 0; b < size; b++)
			bytes[(7 - i) * size + b] =
			    (uint8_t)(buf[i] >> (8 * b));
	sp = (sp - 8 * size) & interp_mask(ssz);
	rc = interp_mem_write(c, X86_R_SS, sp, ssz, bytes, 8 * size,
			      X86_MEM_WRITE | X86_MEM_STACK);
	if (rc == INTERP_OK)
		interp_gpr_write(c, 4, ssz, sp);
	return rc;
}

static int
op_popa(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->opsize;
	uint64_t v[8];
	int rc;

	if (interp_code_mode(c) == X86_MODE_64)
		return interp_ud(c);
	for (int i = 0; i < 8; i++)
		if ((rc = interp_stack_peek(c, (uint64_t)(7 - i) * size, &v[i],
					    size)) != INTERP_OK)
			return rc;
	for (int i = 0; i < 8; i++)
		if (i != 4) /* the saved ESP is skipped */
			interp_gpr_write(c, (unsigned)i, size, v[i]);
	interp_sp_add(c, 8 * size);
	return INTERP_OK;
}

static int
op_enter(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->opsize, ssz = interp_stack_size(c);
	uint64_t alloc = (uint64_t)insn->ops[0].imm & 0xffff;
	unsigned int level = (unsigned int)insn->ops[1].imm & 31;
	uint64_t sp0 = c->gpr[4], bp = c->gpr[5], frame, v;
	int rc;

	if ((rc = interp_push(c, bp & interp_mask(size), size)) != INTERP_OK)
		return rc;
	frame = c->gpr[4];
	for (unsigned int i = 1; i < level; i++) {
		bp = (bp - size) & interp_mask(ssz);
		rc = interp_mem_read(c, X86_R_SS, bp, ssz, &v, size,
				     X86_MEM_READ | X86_MEM_STACK);
		if (rc == INTERP_OK)
			rc = interp_push(c, v, size);
		if (rc != INTERP_OK) {
			c->gpr[4] = sp0;
			return rc;
		}
	}
	if (level > 0 && (rc = interp_push(c, frame, size)) != INTERP_OK) {
		c->gpr[4] = sp0;
		return rc;
	}
	interp_gpr_write(c, 5, size, frame);
	interp_sp_add(c, -(int64_t)alloc);
	return INTERP_OK;
}

static int
op_leave(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->opsize, ssz = interp_stack_size(c);
	uint64_t v, sp = c->gpr[4];
	int rc;

	interp_gpr_write(c, 4, ssz, c->gpr[5]);
	if ((rc = interp_pop(c, &v, size)) != INTERP_OK) {
		c->gpr[4] = sp;
		return rc;
	}
	interp_gpr_write(c, 5, size, v);
	return INTERP_OK;
}

/* LDS LES LSS LFS LGS: a far pointer from memory. */
static int
op_lseg(struct interp_cpu *c, const struct x86_instr *insn)
{
	static const unsigned int seg_of[] = {
		[X86_M_LDS] = X86_R_DS, [X86_M_LES] = X86_R_ES,
		[X86_M_LSS] = X86_R_SS, [X86_M_LFS] = X86_R_FS,
		[X86_M_LGS] = X86_R_GS,
	};
	uint64_t off;
	uint16_t sel;
	int rc;

	if (insn->ops[1].type != X86_OPND_MEM)
		return interp_ud(c);
	if ((rc = interp_far_pointer(c, insn, 1, &sel, &off)) != INTERP_OK)
		return rc;
	if ((rc = interp_load_seg(c, seg_of[insn->mnem], sel)) != INTERP_OK)
		return rc;
	interp_reg_write(c, insn->ops[0].reg, off);
	return INTERP_OK;
}

static int
op_xlat(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint8_t v;
	uint64_t off =
	    (c->gpr[3] + (c->gpr[0] & 0xff)) & interp_mask(insn->addrsize);
	unsigned int seg =
	    insn->seg_override != X86_R_NONE ? insn->seg_override : X86_R_DS;
	int rc =
	    interp_mem_read(c, seg, off, insn->addrsize, &v, 1, X86_MEM_READ);

	if (rc == INTERP_OK)
		interp_gpr_write(c, 0, 1, v);
	return rc;
}

static int
op_nop(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)c;
	(void)insn;
	return INTERP_OK;
}

/* PAUSE: a spin-wait hint that takes time, ~140 cycles on Skylake and
 * later; so delay loops built on it cost guest time, not host time. */
static int
op_pause(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	c->vtime_pending += INTERP_NS_PER_PAUSE - INTERP_NS_PER_INSN;
	return INTERP_OK;
}

const struct interp_op interp_ops_data[] = {
	{ X86_M_MOV, op_mov },        { X86_M_LEA, op_lea },
	{ X86_M_PUSH, op_push },      { X86_M_POP, op_pop },
	{ X86_M_PUSHF, op_pushf },    { X86_M_POPF, op_popf },
	{ X86_M_PUSHA, op_pusha },    { X86_M_POPA, op_popa },
	{ X86_M_ENTER, op_enter },    { X86_M_LEAVE, op_leave },
	{ X86_M_LDS, op_lseg },       { X86_M_LES, op_lseg },
	{ X86_M_LSS, op_lseg },       { X86_M_LFS, op_lseg },
	{ X86_M_LGS, op_lseg },       { X86_M_XLATB, op_xlat },
	{ X86_M_NOP, op_nop },        { X86_M_PAUSE, op_pause },
	{ X86_M_ENDBR64, op_nop },    { X86_M_ENDBR32, op_nop },
	{ X86_M_LFENCE, op_nop },     { X86_M_MFENCE, op_nop },
	{ X86_M_SFENCE, op_nop },     { X86_M_PREFETCH, op_nop },
	{ X86_M_PREFETCHW, op_nop },  { X86_M_PREFETCHNTA, op_nop },
	{ X86_M_PREFETCHT0, op_nop }, { X86_M_PREFETCHT1, op_nop },
	{ X86_M_PREFETCHT2, op_nop }, { 0, NULL },
};
