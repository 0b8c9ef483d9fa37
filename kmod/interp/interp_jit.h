/*
 * The interp engine's block translator, private to interp_jit*.c.
 *
 * interp_jit.c keeps the code buffer and the block cache and decides when
 * a block may run; interp_jit_ops.c translates a decoded guest
 * instruction into host code with the encoder of interp_jit_emit.c.  The
 * public side (what interp_exec.c calls) is in interp.h.
 */
#ifndef RHYVE_KMOD_INTERP_JIT_H
#define RHYVE_KMOD_INTERP_JIT_H

#include "interp.h"

/* Host registers, as the encoding numbers them. */
enum {
	JR_AX = 0,
	JR_CX,
	JR_DX,
	JR_BX, /* the struct interp_cpu while a block runs */
	JR_SP,
	JR_BP,
	JR_SI, /* the host address of the guest memory operand */
	JR_DI,
	JR_R8,
};

/* Most guest instructions in a block; its guest bytes (one page). */
#define JIT_BLOCK_INSNS 48
#define JIT_BLOCK_BYTES 256

/*
 * A block's return value: the instructions it retired (bits 0-15) and
 * JIT_RET_SIDE when it stopped before an instruction it cannot run here
 * (a TLB miss, MMIO, a page-crossing access): the interpreter runs that
 * one next.  Without JIT_RET_SIDE the block set c->rip itself.
 */
#define JIT_RET_SIDE 0x10000u

typedef uint32_t (*jit_block_fn)(struct interp_cpu *c);

/* Forward jumps to an exit stub, patched when the block is finished. */
/* (An instruction has at most 6: two memory operands' checks, SMC.) */
#define JIT_MAX_EXITS (JIT_BLOCK_INSNS * 6 + 8)

struct jit_exit {
	uint32_t at;    /* offset of the rel32 to patch */
	uint16_t index; /* instructions retired before it */
	bool side;      /* JIT_RET_SIDE */
	bool af_clear;  /* AF of the guest is 0 there (logic ops) */
	bool has_rip;   /* store rip (else c->rip is already right) */
	uint64_t rip;   /* where the guest goes on */
};

/* The code being emitted for one block. */
struct jit_emit {
	uint8_t *buf, *p, *end;
	bool overflow;
	/* Translation state between instructions. */
	bool flags_live; /* host flags hold the guest's CF PF ZF SF OF */
	bool af_clear;   /* the last flag-setting instruction was a logic op */
	unsigned int index; /* instruction being translated */
	uint64_t tlb_ctx;   /* interp_tlb_tag()'s context bits + valid */
	struct jit_exit exits[JIT_MAX_EXITS];
	unsigned int nexits;
};

/* ---- interp_jit_emit.c: the host encoder ---------------------------- */

void jit_byte(struct jit_emit *e, uint8_t b);
void jit_u32(struct jit_emit *e, uint32_t v);
void jit_u64(struct jit_emit *e, uint64_t v);
/*
 * One instruction 'op' (1-3 opcode bytes, in order, low byte first) of
 * operand size 'size' (1, 2, 4, 8: the 66 prefix or REX.W; 0: neither)
 * with ModRM reg field 'reg' (a register or an opcode extension) and r/m
 * a host register ('rm', base < 0) or memory [base + index*scale + disp]
 * (index < 0: none).
 */
void jit_modrm(struct jit_emit *e, unsigned int size, uint32_t op, int oplen,
	       int reg, int rm, int base, int index, int scale, int32_t disp);
/* Register-register and register-memory shorthands. */
void jit_rr(struct jit_emit *e, unsigned int size, uint32_t op, int oplen,
	    int reg, int rm);
void jit_rm(struct jit_emit *e, unsigned int size, uint32_t op, int oplen,
	    int reg, int base, int32_t disp);
/* mov reg, imm64 (the shortest form). */
void jit_mov_imm(struct jit_emit *e, int reg, uint64_t imm);
/* A 32-bit relative jump (op: E9, or 0F 8x) to be patched; returns where
 * its rel32 is. */
uint32_t jit_jump32(struct jit_emit *e, uint32_t op, int oplen);
void jit_patch32(struct jit_emit *e, uint32_t at, uint32_t target);

/* ---- interp_jit_ops.c: per-instruction translations ----------------- */

/*
 * Emit the host code of 'insn' (at guest rip, next at next_rip): true
 * when translated, false when the interpreter must run it (nothing
 * emitted then).  *ends: the instruction ends the block (a branch; it
 * then sets c->rip on every path).
 */
bool jit_translate(struct jit_emit *e, const struct x86_instr *insn,
		   uint64_t rip, uint64_t next_rip, bool *ends);
/* Leave the block (to the exit stubs) with rip: retired = e->index (+1
 * with 'after'). */
void jit_exit_to(struct jit_emit *e, uint32_t jop, int oplen, bool side,
		 bool after, uint64_t rip, bool has_rip);
/* Emit the exit stubs and patch the jumps to them. */
void jit_finish(struct jit_emit *e);

/* Offsets in struct interp_cpu the code addresses from rbx. */
#define JIT_OFF(field) ((int32_t)offsetof(struct interp_cpu, field))

#endif
