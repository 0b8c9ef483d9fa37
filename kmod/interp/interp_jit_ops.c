/*
 * The block translator's per-instruction translations: a decoded guest
 * instruction (64-bit mode) into host code working on the guest's
 * registers in struct interp_cpu (rbx points at it).  Host and guest are
 * both x86-64, so an ALU instruction becomes the same host instruction
 * on a copy of its operands, and the host's flags are the guest's: they
 * are saved (PUSHFQ) into c->jit_hf after every instruction that sets
 * them and come back (POPFQ) only when an instruction reads them and the
 * host's own are not still the guest's.
 *
 * Every instruction does its memory checks (the TLB, inline: the same
 * test as interp_tlb_host()) before it changes anything; where they fail
 * the block stops before the instruction (a side exit) and the
 * interpreter runs it: page faults, MMIO, accesses crossing a page, pages
 * without a host mapping all take the interpreter's path, so faults are
 * precise by construction.  Flags the SDM leaves undefined are made the
 * interpreter's (interp_alu.c, interp_shift.c, interp_muldiv.c), not the
 * host CPU's: AF after logic ops, OF/AF after shifts, SF/ZF/AF/PF after
 * IMUL.
 *
 * A translation checks everything it needs of the instruction before it
 * emits a byte, so 'false' leaves no code behind.
 */
#include "interp_jit.h"

#define TLB_ENTRY_SIZE 32
_Static_assert(sizeof(struct interp_tlb_entry) == TLB_ENTRY_SIZE,
	       "the inline TLB lookup scales the index by 32");
_Static_assert(INTERP_TLB_SIZE == 256, "the inline TLB index is a byte");
_Static_assert(X86_M_JG - X86_M_JO == 15, "Jcc ids in cc order");

/* Host opcodes (op r/m, r) of the two-operand ALU instructions. */
static int
alu_opcode(unsigned int mnem, bool *writes, bool *logic)
{
	*writes = true;
	*logic = false;
	switch (mnem) {
	case X86_M_ADD:
		return 0x01;
	case X86_M_OR:
		*logic = true;
		return 0x09;
	case X86_M_ADC:
		return 0x11;
	case X86_M_SBB:
		return 0x19;
	case X86_M_AND:
		*logic = true;
		return 0x21;
	case X86_M_SUB:
		return 0x29;
	case X86_M_XOR:
		*logic = true;
		return 0x31;
	case X86_M_CMP:
		*writes = false;
		return 0x39;
	case X86_M_TEST:
		*writes = false;
		*logic = true;
		return 0x85;
	default:
		return -1;
	}
}

/* ---- guest operands ------------------------------------------------- */

/* A guest general register by emul's id: its bytes in c->gpr. */
static bool
greg(unsigned int reg, int32_t *off, unsigned int *size)
{
	unsigned int idx, b = 0;

	if (reg >= X86_R_AL && reg < X86_R_AH) {
		idx = reg - X86_R_AL;
		*size = 1;
	} else if (reg >= X86_R_AH && reg < X86_R_SPL) {
		idx = reg - X86_R_AH; /* AH..BH: byte 1 of rAX..rBX */
		b = 1;
		*size = 1;
	} else if (reg >= X86_R_SPL && reg < X86_R_AX) {
		idx = 4 + reg - X86_R_SPL; /* SPL..DIL, R8B..R15B */
		*size = 1;
	} else if (reg >= X86_R_AX && reg < X86_R_EAX) {
		idx = reg - X86_R_AX;
		*size = 2;
	} else if (reg >= X86_R_EAX && reg < X86_R_RAX) {
		idx = reg - X86_R_EAX;
		*size = 4;
	} else if (reg >= X86_R_RAX && reg < X86_R_IP) {
		idx = reg - X86_R_RAX;
		*size = 8;
	} else {
		return false;
	}
	*off = JIT_OFF(gpr) + (int32_t)(idx * 8 + b);
	return true;
}

static bool
gpr64(unsigned int reg)
{
	return reg >= X86_R_RAX && reg < X86_R_IP;
}

/* A memory operand the inline path can address: 64-bit addressing from
 * 64-bit registers (or RIP), any segment. */
static bool
mem_ok(const struct x86_instr *insn, const struct x86_operand *op)
{
	if (insn->addrsize != 8 || op->bcst != 0)
		return false;
	if (op->base != X86_R_NONE && op->base != X86_R_RIP && !gpr64(op->base))
		return false;
	if (op->index != X86_R_NONE && !gpr64(op->index))
		return false;
	if (op->base == X86_R_RIP && op->index != X86_R_NONE)
		return false;
	if (op->seg < X86_R_ES || op->seg > X86_R_GS)
		return false;
	return op->disp == (int32_t)op->disp ||
	       (op->base == X86_R_NONE && op->index == X86_R_NONE);
}

static bool
size_ok(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* A register or memory operand of a GPR instruction. */
static bool
rm_ok(const struct x86_instr *insn, const struct x86_operand *op)
{
	int32_t off;
	unsigned int sz;

	if (!size_ok(op->size))
		return false;
	if (op->type == X86_OPND_REG)
		return greg(op->reg, &off, &sz) && sz == op->size;
	return op->type == X86_OPND_MEM && mem_ok(insn, op);
}

/* The offset (no segment base) of a memory operand into rsi. */
static void
emit_ea(struct jit_emit *e, const struct x86_operand *op, uint64_t next_rip)
{
	int32_t off;
	unsigned int sz;

	if (op->base == X86_R_RIP) {
		jit_mov_imm(e, JR_SI, next_rip + (uint64_t)op->disp);
		return;
	}
	if (op->base == X86_R_NONE && op->index == X86_R_NONE) {
		jit_mov_imm(e, JR_SI, (uint64_t)op->disp);
		return;
	}
	if (op->base != X86_R_NONE) {
		greg(op->base, &off, &sz);
		jit_rm(e, 8, 0x8b, 1, JR_SI, JR_BX, off); /* mov rsi, base */
	} else {
		jit_mov_imm(e, JR_SI, 0);
	}
	if (op->index != X86_R_NONE) {
		int scale = op->scale == 8   ? 3
			    : op->scale == 4 ? 2
			    : op->scale == 2 ? 1
					     : 0;

		greg(op->index, &off, &sz);
		jit_rm(e, 8, 0x8b, 1, JR_DX, JR_BX, off); /* mov rdx, index */
		/* lea rsi, [rsi + rdx*scale + disp] */
		jit_modrm(e, 8, 0x8d, 1, JR_SI, 0, JR_SI, JR_DX, scale,
			  (int32_t)op->disp);
	} else if (op->disp != 0) {
		jit_rm(e, 8, 0x8d, 1, JR_SI, JR_SI, (int32_t)op->disp);
	}
}

/*
 * rsi (a linear address) -> the host address of 'size' bytes there for
 * an access of 'type' (X86_MEM_READ/WRITE), or a side exit: the TLB
 * entry must be this page's in this privilege context, have a host page
 * of the current slots generation, and the access must stay in the page.
 */
static void
emit_tlb(struct jit_emit *e, int type, unsigned int size, uint64_t rip)
{
	int32_t tlb = JIT_OFF(tlb) + type * INTERP_TLB_SIZE * TLB_ENTRY_SIZE;

	jit_rr(e, 8, 0x8b, 1, JR_AX, JR_SI); /* mov rax, rsi */
	jit_rr(e, 8, 0xc1, 1, 5, JR_AX);     /* shr rax, 12 */
	jit_byte(e, 12);
	jit_rr(e, 4, 0xb60f, 2, JR_DX, JR_AX); /* movzx edx, al */
	jit_rr(e, 4, 0xc1, 1, 4, JR_DX);       /* shl edx, 5 */
	jit_byte(e, 5);
	jit_rr(e, 8, 0xc1, 1, 4, JR_AX); /* shl rax, 4 */
	jit_byte(e, 4);
	jit_rr(e, 8, 0x83, 1, 1, JR_AX); /* or rax, ctx */
	jit_byte(e, (uint8_t)e->tlb_ctx);
	/* cmp rax, [rbx + rdx + tag] */
	jit_modrm(e, 8, 0x3b, 1, JR_AX, 0, JR_BX, JR_DX, 0,
		  tlb + (int32_t)offsetof(struct interp_tlb_entry, tag));
	jit_exit_to(e, 0x850f, 2, true, false, rip, true); /* jne */
	/* mov rax, [rbx + rdx + host]; test rax, rax; jz */
	jit_modrm(e, 8, 0x8b, 1, JR_AX, 0, JR_BX, JR_DX, 0,
		  tlb + (int32_t)offsetof(struct interp_tlb_entry, host));
	jit_rr(e, 8, 0x85, 1, JR_AX, JR_AX);
	jit_exit_to(e, 0x840f, 2, true, false, rip, true);
	/* The entry's generation against ivm->slots_gen. */
	jit_modrm(e, 4, 0x8b, 1, JR_CX, 0, JR_BX, JR_DX, 0,
		  tlb + (int32_t)offsetof(struct interp_tlb_entry, gen));
	jit_rm(e, 8, 0x8b, 1, JR_DI, JR_BX, JIT_OFF(ivm));
	jit_rm(e, 4, 0x3b, 1, JR_CX, JR_DI,
	       (int32_t)offsetof(struct interp_vm, slots_gen));
	jit_exit_to(e, 0x850f, 2, true, false, rip, true);
	/* Within the page: (rsi & 0xfff) + size <= 4096. */
	jit_rr(e, 4, 0x8b, 1, JR_CX, JR_SI); /* mov ecx, esi */
	jit_rr(e, 4, 0x81, 1, 4, JR_CX);     /* and ecx, 0xfff */
	jit_u32(e, 0xfff);
	if (size > 1) {
		jit_rr(e, 4, 0x81, 1, 7, JR_CX); /* cmp ecx, 4096 - size */
		jit_u32(e, 4096 - size);
		jit_exit_to(e, 0x870f, 2, true, false, rip, true); /* ja */
	}
	/* lea rsi, [rax + rcx] */
	jit_modrm(e, 8, 0x8d, 1, JR_SI, 0, JR_AX, JR_CX, 0, 0);
	e->flags_live = false;
}

/* Memory operand 'op' to a host address in rsi (or a side exit). */
static void
emit_mem(struct jit_emit *e, const struct x86_operand *op, int type,
	 uint64_t rip, uint64_t next_rip)
{
	emit_ea(e, op, next_rip);
	if (op->seg == X86_R_FS || op->seg == X86_R_GS)
		/* add rsi, [seg base] (clobbers flags: emit_tlb's anyway) */
		jit_rm(e, 8, 0x03, 1, JR_SI, JR_BX,
		       JIT_OFF(seg[op->seg - X86_R_ES].desc.base));
	emit_tlb(e, type, op->size, rip);
}

/* Load operand 'op' (register, memory at rsi, immediate) into host
 * register r, 'size' bytes (a 32-bit load zero-extends). */
static void
emit_load(struct jit_emit *e, const struct x86_operand *op, unsigned int size,
	  int r)
{
	int32_t off;
	unsigned int sz;
	uint32_t mov = size == 1 ? 0x8a : 0x8b;

	switch (op->type) {
	case X86_OPND_REG:
		greg(op->reg, &off, &sz);
		jit_rm(e, size, mov, 1, r, JR_BX, off);
		break;
	case X86_OPND_MEM:
		jit_rm(e, size, mov, 1, r, JR_SI, 0);
		break;
	default: /* IMM */
		jit_mov_imm(e, r, (uint64_t)op->imm & interp_mask(size));
		break;
	}
}

/*
 * Store host register r to operand 'op' (register or memory at rsi),
 * 'size' bytes; a 32-bit register destination gets all 8 (r holds the
 * value zero-extended, as every 32-bit host operation leaves it).
 */
static void
emit_store(struct jit_emit *e, const struct x86_operand *op, unsigned int size,
	   int r)
{
	int32_t off;
	unsigned int sz;

	if (op->type == X86_OPND_REG) {
		greg(op->reg, &off, &sz);
		jit_rm(e, size == 4 ? 8 : size, size == 1 ? 0x88 : 0x89, 1, r,
		       JR_BX, off);
	} else {
		jit_rm(e, size, size == 1 ? 0x88 : 0x89, 1, r, JR_SI, 0);
	}
}

/* The guest's flags into the host's, unless they are there already. */
static void
emit_flags_in(struct jit_emit *e)
{
	if (e->flags_live)
		return;
	jit_rm(e, 0, 0xff, 1, 6, JR_BX, JIT_OFF(jit_hf)); /* push [hf] */
	jit_byte(e, 0x9d);                                /* popfq */
	e->flags_live = true;
}

/* The host's flags (the guest's now) out to c->jit_hf. */
static void
emit_flags_out(struct jit_emit *e, bool logic)
{
	jit_byte(e, 0x9c);                                /* pushfq */
	jit_rm(e, 0, 0x8f, 1, 0, JR_BX, JIT_OFF(jit_hf)); /* pop [hf] */
	e->flags_live = true;
	e->af_clear = logic;
}

/*
 * After a store to guest memory at rsi: if it hit the block's own page
 * the rest of the block may be stale, so leave it after this instruction
 * (the next lookup compares the bytes again).
 */
static void
emit_smc_check(struct jit_emit *e, uint64_t next_rip)
{
	jit_rr(e, 8, 0x8b, 1, JR_AX, JR_SI); /* mov rax, rsi */
	jit_rm(e, 8, 0x33, 1, JR_AX, JR_BX, JIT_OFF(jit_page));
	jit_rr(e, 8, 0xc1, 1, 5, JR_AX); /* shr rax, 12 */
	jit_byte(e, 12);
	jit_exit_to(e, 0x840f, 2, false, true, next_rip, true); /* jz */
	e->flags_live = false;
}

/* rsi <- the host address of the stack slot at rsp + delta. */
static void
emit_stack(struct jit_emit *e, int type, int32_t delta, uint64_t rip)
{
	jit_rm(e, 8, 0x8b, 1, JR_SI, JR_BX, JIT_OFF(gpr[4]));
	if (delta != 0)
		jit_rm(e, 8, 0x8d, 1, JR_SI, JR_SI, delta);
	emit_tlb(e, type, 8, rip);
}

/* rsp += delta (LEA: the flags stay). */
static void
emit_rsp_add(struct jit_emit *e, int32_t delta)
{
	jit_rm(e, 8, 0x8b, 1, JR_DX, JR_BX, JIT_OFF(gpr[4]));
	jit_rm(e, 8, 0x8d, 1, JR_DX, JR_DX, delta);
	jit_rm(e, 8, 0x89, 1, JR_DX, JR_BX, JIT_OFF(gpr[4]));
}

/* ---- the instructions ----------------------------------------------- */

/* ADD OR ADC SBB AND SUB XOR CMP TEST: dst op= src. */
static bool
tr_alu(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
       uint64_t next_rip)
{
	const struct x86_operand *d = &insn->ops[0], *s = &insn->ops[1];
	unsigned int size = d->size;
	bool writes, logic;
	int opc = alu_opcode(insn->mnem, &writes, &logic);

	if (opc < 0 || insn->nops != 2 || !rm_ok(insn, d) ||
	    (s->type != X86_OPND_IMM && !rm_ok(insn, s)) ||
	    (s->type != X86_OPND_IMM && s->size != size) ||
	    (d->type == X86_OPND_MEM && s->type == X86_OPND_MEM))
		return false;
	if (d->type == X86_OPND_MEM)
		emit_mem(e, d, writes ? X86_MEM_WRITE : X86_MEM_READ, rip,
			 next_rip);
	else if (s->type == X86_OPND_MEM)
		emit_mem(e, s, X86_MEM_READ, rip, next_rip);
	emit_load(e, s, size, JR_CX);
	emit_load(e, d, size, JR_AX);
	if (insn->mnem == X86_M_ADC || insn->mnem == X86_M_SBB)
		emit_flags_in(e);
	jit_rr(e, size, (uint32_t)(size == 1 ? opc - 1 : opc), 1, JR_CX, JR_AX);
	emit_flags_out(e, logic);
	if (writes) {
		emit_store(e, d, size, JR_AX);
		if (d->type == X86_OPND_MEM)
			emit_smc_check(e, next_rip);
	}
	return true;
}

/* INC DEC NEG NOT */
static bool
tr_unary(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
	 uint64_t next_rip)
{
	const struct x86_operand *d = &insn->ops[0];
	unsigned int size = d->size, ext, opc;

	if (insn->nops != 1 || !rm_ok(insn, d))
		return false;
	switch (insn->mnem) {
	case X86_M_INC:
		opc = 0xff, ext = 0;
		break;
	case X86_M_DEC:
		opc = 0xff, ext = 1;
		break;
	case X86_M_NOT:
		opc = 0xf7, ext = 2;
		break;
	default: /* NEG */
		opc = 0xf7, ext = 3;
		break;
	}
	if (d->type == X86_OPND_MEM)
		emit_mem(e, d, X86_MEM_WRITE, rip, next_rip);
	emit_load(e, d, size, JR_AX);
	/* INC and DEC keep CF. */
	if (insn->mnem == X86_M_INC || insn->mnem == X86_M_DEC)
		emit_flags_in(e);
	jit_rr(e, size, size == 1 ? opc - 1 : opc, 1, (int)ext, JR_AX);
	if (insn->mnem != X86_M_NOT)
		emit_flags_out(e, false);
	emit_store(e, d, size, JR_AX);
	if (d->type == X86_OPND_MEM)
		emit_smc_check(e, next_rip);
	return true;
}

/* MOV, and MOVZX/MOVSX/MOVSXD. */
static bool
tr_mov(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
       uint64_t next_rip)
{
	const struct x86_operand *d = &insn->ops[0], *s = &insn->ops[1];
	unsigned int dsz = d->size, ssz = s->size;
	bool ext = insn->mnem != X86_M_MOV;

	if (insn->nops != 2 || !rm_ok(insn, d) ||
	    (s->type != X86_OPND_IMM && !rm_ok(insn, s)) ||
	    (d->type == X86_OPND_MEM && s->type == X86_OPND_MEM))
		return false;
	if (ext &&
	    (d->type != X86_OPND_REG || s->type == X86_OPND_IMM || ssz > dsz))
		return false;
	if (!ext && s->type != X86_OPND_IMM && ssz != dsz)
		return false;
	if (d->type == X86_OPND_MEM)
		emit_mem(e, d, X86_MEM_WRITE, rip, next_rip);
	else if (s->type == X86_OPND_MEM)
		emit_mem(e, s, X86_MEM_READ, rip, next_rip);
	if (!ext || ssz == dsz) {
		emit_load(e, s, dsz, JR_AX);
	} else {
		emit_load(e, s, ssz, JR_CX);
		if (insn->mnem == X86_M_MOVZX)
			/* movzx eax, cl/cx (zero-extends to 64 bits) */
			jit_rr(e, dsz == 8 ? 4 : dsz,
			       ssz == 1 ? 0xb60f : 0xb70f, 2, JR_AX, JR_CX);
		else if (ssz == 4)
			jit_rr(e, 8, 0x63, 1, JR_AX, JR_CX); /* movsxd */
		else
			jit_rr(e, dsz, ssz == 1 ? 0xbe0f : 0xbf0f, 2, JR_AX,
			       JR_CX);
	}
	emit_store(e, d, dsz, JR_AX);
	if (d->type == X86_OPND_MEM)
		emit_smc_check(e, next_rip);
	return true;
}

/* LEA: the offset, no segment base, truncated to the operand size. */
static bool
tr_lea(struct jit_emit *e, const struct x86_instr *insn, uint64_t next_rip)
{
	const struct x86_operand *d = &insn->ops[0], *s = &insn->ops[1];

	if (insn->nops != 2 || d->type != X86_OPND_REG || d->size < 2 ||
	    !rm_ok(insn, d) || s->type != X86_OPND_MEM || !mem_ok(insn, s))
		return false;
	emit_ea(e, s, next_rip);
	if (d->size == 4)
		jit_rr(e, 4, 0x8b, 1, JR_SI, JR_SI); /* mov esi, esi */
	emit_store(e, d, d->size, JR_SI);
	return true;
}

/* SHL SAL SHR SAR by an immediate count. */
static bool
tr_shift(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
	 uint64_t next_rip)
{
	const struct x86_operand *d = &insn->ops[0];
	unsigned int size = d->size, bits = size * 8, n, ext;

	if (insn->nops != 2 || insn->ops[1].type != X86_OPND_IMM ||
	    !rm_ok(insn, d))
		return false;
	n = (unsigned int)insn->ops[1].imm & (size == 8 ? 0x3f : 0x1f);
	/* (A count beyond a byte's or word's width: the interpreter's.) */
	if (n >= bits)
		return false;
	ext = insn->mnem == X86_M_SHR ? 5 : insn->mnem == X86_M_SAR ? 7 : 4;
	if (d->type == X86_OPND_MEM)
		emit_mem(e, d, X86_MEM_WRITE, rip, next_rip);
	emit_load(e, d, size, JR_AX);
	if (n != 0) {
		/* shl/shr/sar rax, n */
		jit_rr(e, size, size == 1 ? 0xc0 : 0xc1, 1, (int)ext, JR_AX);
		jit_byte(e, (uint8_t)n);
		/*
		 * CF SF ZF PF are defined; AF is set and OF (defined for a
		 * count of 1 only) is computed as interp_shift.c does: SHL
		 * MSB(res) ^ CF, SHR the top two bits of res differing, SAR
		 * 0.
		 */
		jit_byte(e, 0x9c);               /* pushfq */
		jit_byte(e, 0x58 + JR_DX);       /* pop rdx */
		jit_rr(e, 4, 0x81, 1, 4, JR_DX); /* and edx, ~OF */
		jit_u32(e, ~(uint32_t)PSL_V);
		jit_rr(e, 4, 0x83, 1, 1, JR_DX); /* or edx, AF */
		jit_byte(e, (uint8_t)INTERP_PSL_A);
		if (insn->mnem != X86_M_SAR) {
			jit_rr(e, 8, 0x8b, 1, JR_CX, JR_AX); /* mov rcx, rax */
			if (insn->mnem == X86_M_SHR) {
				/* rcx = res ^ (res << 1) */
				jit_rm(e, 8, 0x8d, 1, JR_DI, JR_AX, 0);
				jit_rr(e, 8, 0x01, 1, JR_DI, JR_DI);
				jit_rr(e, 8, 0x31, 1, JR_DI, JR_CX);
			} else {
				/* rcx = res ^ (CF << (bits - 1)) */
				jit_rr(e, 8, 0x8b, 1, JR_DI, JR_DX);
				jit_rr(e, 8, 0xc1, 1, 4, JR_DI); /* shl */
				jit_byte(e, (uint8_t)(bits - 1));
				jit_rr(e, 8, 0x31, 1, JR_DI, JR_CX);
			}
			/* rcx = bit (bits-1) of rcx, at OF's place (11) */
			jit_rr(e, 8, 0xc1, 1, 5, JR_CX); /* shr rcx, bits-1 */
			jit_byte(e, (uint8_t)(bits - 1));
			jit_rr(e, 4, 0x83, 1, 4, JR_CX); /* and ecx, 1 */
			jit_byte(e, 1);
			jit_rr(e, 4, 0xc1, 1, 4, JR_CX); /* shl ecx, 11 */
			jit_byte(e, 11);
			jit_rr(e, 4, 0x09, 1, JR_CX, JR_DX); /* or edx, ecx */
		}
		jit_rm(e, 8, 0x89, 1, JR_DX, JR_BX, JIT_OFF(jit_hf));
		e->flags_live = false;
		e->af_clear = false;
	}
	emit_store(e, d, size, JR_AX);
	if (d->type == X86_OPND_MEM)
		emit_smc_check(e, next_rip);
	return true;
}

/* IMUL r, r/m and IMUL r, r/m, imm: CF = OF = truncated; the rest kept
 * (as interp_muldiv.c, where the SDM leaves them undefined). */
static bool
tr_imul(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
	uint64_t next_rip)
{
	const struct x86_operand *d = &insn->ops[0], *s = &insn->ops[1];
	unsigned int size = d->size;

	if ((insn->nops != 2 && insn->nops != 3) || d->type != X86_OPND_REG ||
	    size < 2 || !rm_ok(insn, d) || !rm_ok(insn, s) || s->size != size ||
	    (insn->nops == 3 && insn->ops[2].type != X86_OPND_IMM))
		return false;
	if (s->type == X86_OPND_MEM)
		emit_mem(e, s, X86_MEM_READ, rip, next_rip);
	emit_load(e, s, size, JR_CX);
	emit_load(e, insn->nops == 3 ? &insn->ops[2] : d, size, JR_AX);
	jit_rr(e, size, 0xaf0f, 2, JR_AX, JR_CX); /* imul rax, rcx */
	jit_byte(e, 0x9c);                        /* pushfq */
	jit_byte(e, 0x58 + JR_DX);                /* pop rdx */
	jit_rr(e, 4, 0x81, 1, 4, JR_DX);          /* and edx, CF|OF */
	jit_u32(e, (uint32_t)(PSL_C | PSL_V));
	jit_rm(e, 8, 0x8b, 1, JR_CX, JR_BX, JIT_OFF(jit_hf));
	jit_rr(e, 8, 0x81, 1, 4, JR_CX); /* and rcx, ~(CF|OF) */
	jit_u32(e, ~(uint32_t)(PSL_C | PSL_V));
	jit_rr(e, 8, 0x09, 1, JR_DX, JR_CX); /* or rcx, rdx */
	jit_rm(e, 8, 0x89, 1, JR_CX, JR_BX, JIT_OFF(jit_hf));
	e->flags_live = false;
	emit_store(e, d, size, JR_AX);
	return true;
}

/* CMOVcc r, r/m (the source is read whatever the condition). */
static bool
tr_cmov(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
	uint64_t next_rip)
{
	const struct x86_operand *d = &insn->ops[0], *s = &insn->ops[1];
	unsigned int cc = insn->mnem - X86_M_CMOVO, size = d->size;

	if (insn->nops != 2 || d->type != X86_OPND_REG || size < 2 ||
	    !rm_ok(insn, d) || !rm_ok(insn, s) || s->size != size)
		return false;
	if (s->type == X86_OPND_MEM)
		emit_mem(e, s, X86_MEM_READ, rip, next_rip);
	emit_load(e, s, size, JR_CX);
	emit_load(e, d, size, JR_AX);
	emit_flags_in(e);
	jit_rr(e, size, 0x400f | (cc << 8), 2, JR_AX, JR_CX);
	emit_store(e, d, size, JR_AX);
	return true;
}

/* SETcc r/m8 */
static bool
tr_setcc(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
	 uint64_t next_rip)
{
	const struct x86_operand *d = &insn->ops[0];
	unsigned int cc = insn->mnem - X86_M_SETO;

	if (insn->nops != 1 || d->size != 1 || !rm_ok(insn, d))
		return false;
	if (d->type == X86_OPND_MEM)
		emit_mem(e, d, X86_MEM_WRITE, rip, next_rip);
	emit_flags_in(e);
	jit_rr(e, 1, 0x900f | (cc << 8), 2, 0, JR_AX); /* setcc al */
	emit_store(e, d, 1, JR_AX);
	if (d->type == X86_OPND_MEM)
		emit_smc_check(e, next_rip);
	return true;
}

/* CBW/CWDE/CDQE and CWD/CDQ/CQO: the host's own on a copy of rAX. */
static bool
tr_cbw(struct jit_emit *e, const struct x86_instr *insn)
{
	unsigned int sz = insn->opsize;

	if (!size_ok(sz) || sz == 1)
		return false;
	jit_rm(e, 8, 0x8b, 1, JR_AX, JR_BX, JIT_OFF(gpr[0]));
	if (sz == 2)
		jit_byte(e, 0x66);
	else if (sz == 8)
		jit_byte(e, 0x48);
	if (insn->mnem == X86_M_CBW) {
		jit_byte(e, 0x98);
		jit_rm(e, sz == 4 ? 8 : sz, 0x89, 1, JR_AX, JR_BX,
		       JIT_OFF(gpr[0]));
	} else {
		jit_byte(e, 0x99);
		jit_rm(e, sz == 4 ? 8 : sz, 0x89, 1, JR_DX, JR_BX,
		       JIT_OFF(gpr[2]));
	}
	return true;
}

/* XCHG r, r (with memory it is a locked operation: the interpreter's). */
static bool
tr_xchg(struct jit_emit *e, const struct x86_instr *insn)
{
	const struct x86_operand *a = &insn->ops[0], *b = &insn->ops[1];

	if (insn->nops != 2 || a->type != X86_OPND_REG ||
	    b->type != X86_OPND_REG || !rm_ok(insn, a) || !rm_ok(insn, b) ||
	    a->size != b->size || a->reg == b->reg)
		return false;
	emit_load(e, a, a->size, JR_AX);
	emit_load(e, b, a->size, JR_CX);
	emit_store(e, a, a->size, JR_CX);
	emit_store(e, b, a->size, JR_AX);
	return true;
}

/* PUSH r64 / imm, POP r64. */
static bool
tr_push_pop(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
	    uint64_t next_rip)
{
	const struct x86_operand *o = &insn->ops[0];

	if (insn->nops != 1 || insn->opsize != 8)
		return false;
	if (insn->mnem == X86_M_PUSH) {
		if (o->type != X86_OPND_IMM &&
		    (o->type != X86_OPND_REG || !rm_ok(insn, o) ||
		     o->size != 8))
			return false;
		emit_stack(e, X86_MEM_WRITE, -8, rip);
		emit_load(e, o, 8, JR_CX);
		jit_rm(e, 8, 0x89, 1, JR_CX, JR_SI, 0);
		emit_rsp_add(e, -8);
		emit_smc_check(e, next_rip);
		return true;
	}
	if (o->type != X86_OPND_REG || !rm_ok(insn, o) || o->size != 8)
		return false;
	emit_stack(e, X86_MEM_READ, 0, rip);
	jit_rm(e, 8, 0x8b, 1, JR_CX, JR_SI, 0);
	emit_rsp_add(e, 8);
	emit_store(e, o, 8, JR_CX); /* after: POP RSP takes the value */
	return true;
}

/* Jcc, JMP, CALL, RET (near, 64-bit): they end the block. */
static bool
tr_branch(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
	  uint64_t next_rip)
{
	const struct x86_operand *o = &insn->ops[0];
	uint64_t target = next_rip + (uint64_t)o->imm;

	if (insn->opsize != 8)
		return false;
	if (insn->mnem >= X86_M_JO && insn->mnem <= X86_M_JG) {
		unsigned int cc = insn->mnem - X86_M_JO;

		if (o->type != X86_OPND_REL)
			return false;
		emit_flags_in(e);
		jit_exit_to(e, 0x0f | ((0x80 + cc) << 8), 2, false, true,
			    target, true);
		jit_exit_to(e, 0xe9, 1, false, true, next_rip, true);
		return true;
	}
	if (insn->mnem == X86_M_RET) {
		if (insn->nops != 0)
			return false;
		emit_stack(e, X86_MEM_READ, 0, rip);
		jit_rm(e, 8, 0x8b, 1, JR_CX, JR_SI, 0);
		emit_rsp_add(e, 8);
		jit_rm(e, 8, 0x89, 1, JR_CX, JR_BX, JIT_OFF(rip));
		jit_exit_to(e, 0xe9, 1, false, true, 0, false);
		return true;
	}
	/* JMP and CALL: an indirect target (register or memory) goes to
	 * r8 first, before anything changes. */
	if (o->type != X86_OPND_REL) {
		if (!rm_ok(insn, o) || o->size != 8)
			return false;
		if (o->type == X86_OPND_MEM)
			emit_mem(e, o, X86_MEM_READ, rip, next_rip);
		emit_load(e, o, 8, JR_R8);
	} else {
		jit_mov_imm(e, JR_R8, target);
	}
	switch (insn->mnem) {
	case X86_M_JMP:
		if (o->type == X86_OPND_REL) {
			jit_exit_to(e, 0xe9, 1, false, true, target, true);
			return true;
		}
		jit_rm(e, 8, 0x89, 1, JR_R8, JR_BX, JIT_OFF(rip));
		jit_exit_to(e, 0xe9, 1, false, true, 0, false);
		return true;
	case X86_M_CALL:
		emit_stack(e, X86_MEM_WRITE, -8, rip);
		jit_mov_imm(e, JR_AX, next_rip);
		jit_rm(e, 8, 0x89, 1, JR_AX, JR_SI, 0);
		emit_rsp_add(e, -8);
		jit_rm(e, 8, 0x89, 1, JR_R8, JR_BX, JIT_OFF(rip));
		jit_exit_to(e, 0xe9, 1, false, true, 0, false);
		return true;
	default:
		return false;
	}
}

bool
jit_translate(struct jit_emit *e, const struct x86_instr *insn, uint64_t rip,
	      uint64_t next_rip, bool *ends)
{
	*ends = false;
	if (insn->status != X86_DEC_OK || insn->mode != X86_MODE_64 ||
	    (insn->prefixes & (X86_PFX_LOCK | X86_PFX_REP | X86_PFX_REPNE |
			       X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP)))
		return false;
	switch (insn->mnem) {
	case X86_M_ADD:
	case X86_M_OR:
	case X86_M_ADC:
	case X86_M_SBB:
	case X86_M_AND:
	case X86_M_SUB:
	case X86_M_XOR:
	case X86_M_CMP:
	case X86_M_TEST:
		return tr_alu(e, insn, rip, next_rip);
	case X86_M_INC:
	case X86_M_DEC:
	case X86_M_NEG:
	case X86_M_NOT:
		return tr_unary(e, insn, rip, next_rip);
	case X86_M_MOV:
	case X86_M_MOVZX:
	case X86_M_MOVSX:
	case X86_M_MOVSXD:
		return tr_mov(e, insn, rip, next_rip);
	case X86_M_LEA:
		return tr_lea(e, insn, next_rip);
	case X86_M_SHL:
	case X86_M_SAL:
	case X86_M_SHR:
	case X86_M_SAR:
		return tr_shift(e, insn, rip, next_rip);
	case X86_M_IMUL:
		return tr_imul(e, insn, rip, next_rip);
	case X86_M_CBW:
	case X86_M_CWD:
		return tr_cbw(e, insn);
	case X86_M_XCHG:
		return tr_xchg(e, insn);
	case X86_M_PUSH:
	case X86_M_POP:
		return tr_push_pop(e, insn, rip, next_rip);
	case X86_M_NOP:
		return true;
	default:
		break;
	}
	if (insn->mnem >= X86_M_CMOVO && insn->mnem <= X86_M_CMOVO + 15)
		return tr_cmov(e, insn, rip, next_rip);
	if (insn->mnem >= X86_M_SETO && insn->mnem <= X86_M_SETO + 15)
		return tr_setcc(e, insn, rip, next_rip);
	if ((insn->mnem >= X86_M_JO && insn->mnem <= X86_M_JG) ||
	    insn->mnem == X86_M_JMP || insn->mnem == X86_M_CALL ||
	    insn->mnem == X86_M_RET) {
		*ends = true;
		return tr_branch(e, insn, rip, next_rip);
	}
	return false;
}

/* ---- exits ---------------------------------------------------------- */

void
jit_exit_to(struct jit_emit *e, uint32_t jop, int oplen, bool side, bool after,
	    uint64_t rip, bool has_rip)
{
	struct jit_exit *x;

	if (e->nexits == JIT_MAX_EXITS) {
		e->overflow = true;
		return;
	}
	x = &e->exits[e->nexits++];
	x->at = jit_jump32(e, jop, oplen);
	x->index = (uint16_t)(e->index + (after ? 1 : 0));
	x->side = side;
	x->af_clear = e->af_clear;
	x->has_rip = has_rip;
	x->rip = rip;
}

void
jit_finish(struct jit_emit *e)
{
	for (unsigned int i = 0; i < e->nexits; i++) {
		const struct jit_exit *x = &e->exits[i];

		jit_patch32(e, x->at, (uint32_t)(e->p - e->buf));
		/* The guest's AF after a logic op is 0 (interp_flags.c). */
		if (x->af_clear) {
			jit_rm(e, 8, 0x83, 1, 4, JR_BX, JIT_OFF(jit_hf));
			jit_byte(e, (uint8_t)~INTERP_PSL_A);
		}
		if (x->has_rip) {
			jit_mov_imm(e, JR_AX, x->rip);
			jit_rm(e, 8, 0x89, 1, JR_AX, JR_BX, JIT_OFF(rip));
		}
		jit_mov_imm(e, JR_AX, x->index | (x->side ? JIT_RET_SIDE : 0));
		jit_byte(e, 0x58 + JR_BX); /* pop rbx */
		jit_byte(e, 0xc3);         /* ret */
	}
}
