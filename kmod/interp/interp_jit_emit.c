/*
 * The block translator's x86-64 encoder: just the forms the translations
 * use (ModRM with any base/index/disp, immediates, rel32 jumps), written
 * into the block's part of the code buffer.  Running out of room sets
 * 'overflow' and writes nothing more: interp_jit.c then flushes the
 * buffer and translates again.
 */
#include "interp_jit.h"

void
jit_byte(struct jit_emit *e, uint8_t b)
{
	if (e->p >= e->end) {
		e->overflow = true;
		return;
	}
	*e->p++ = b;
}

void
jit_u32(struct jit_emit *e, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		jit_byte(e, (uint8_t)(v >> (8 * i)));
}

void
jit_u64(struct jit_emit *e, uint64_t v)
{
	jit_u32(e, (uint32_t)v);
	jit_u32(e, (uint32_t)(v >> 32));
}

void
jit_modrm(struct jit_emit *e, unsigned int size, uint32_t op, int oplen,
	  int reg, int rm, int base, int index, int scale, int32_t disp)
{
	bool mem = base >= 0;
	uint8_t rex = 0;
	int mod;

	if (size == 2)
		jit_byte(e, 0x66);
	if (size == 8)
		rex |= 0x48;
	if (reg >= 8)
		rex |= 0x44;
	if (mem && index >= 8)
		rex |= 0x42;
	if ((mem ? base : rm) >= 8)
		rex |= 0x41;
	/* SPL..DIL (never AH..BH) for byte registers 4-7. */
	if (size == 1 && (reg >= 4 || (!mem && rm >= 4)))
		rex |= 0x40;
	if (rex != 0)
		jit_byte(e, rex);
	for (int i = 0; i < oplen; i++)
		jit_byte(e, (uint8_t)(op >> (8 * i)));
	if (!mem) {
		jit_byte(e, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
		return;
	}
	if (disp == 0 && (base & 7) != 5)
		mod = 0;
	else if (disp >= -128 && disp <= 127)
		mod = 1;
	else
		mod = 2;
	if (index >= 0 || (base & 7) == 4) {
		jit_byte(e, (uint8_t)(mod << 6 | (reg & 7) << 3 | 4));
		jit_byte(e, (uint8_t)(scale << 6 |
				      (index >= 0 ? (index & 7) : 4) << 3 |
				      (base & 7)));
	} else {
		jit_byte(e, (uint8_t)(mod << 6 | (reg & 7) << 3 | (base & 7)));
	}
	if (mod == 1)
		jit_byte(e, (uint8_t)disp);
	else if (mod == 2)
		jit_u32(e, (uint32_t)disp);
}

void
jit_rr(struct jit_emit *e, unsigned int size, uint32_t op, int oplen, int reg,
       int rm)
{
	jit_modrm(e, size, op, oplen, reg, rm, -1, -1, 0, 0);
}

void
jit_rm(struct jit_emit *e, unsigned int size, uint32_t op, int oplen, int reg,
       int base, int32_t disp)
{
	jit_modrm(e, size, op, oplen, reg, 0, base, -1, 0, disp);
}

void
jit_mov_imm(struct jit_emit *e, int reg, uint64_t imm)
{
	if (imm <= 0xffffffffULL) {
		/* mov r32, imm32 (zero-extends) */
		if (reg >= 8)
			jit_byte(e, 0x41);
		jit_byte(e, (uint8_t)(0xb8 + (reg & 7)));
		jit_u32(e, (uint32_t)imm);
	} else if ((int64_t)imm == (int32_t)imm) {
		/* mov r64, simm32 */
		jit_rr(e, 8, 0xc7, 1, 0, reg);
		jit_u32(e, (uint32_t)imm);
	} else {
		jit_byte(e, reg >= 8 ? 0x49 : 0x48);
		jit_byte(e, (uint8_t)(0xb8 + (reg & 7)));
		jit_u64(e, imm);
	}
}

uint32_t
jit_jump32(struct jit_emit *e, uint32_t op, int oplen)
{
	uint32_t at;

	for (int i = 0; i < oplen; i++)
		jit_byte(e, (uint8_t)(op >> (8 * i)));
	at = (uint32_t)(e->p - e->buf);
	jit_u32(e, 0);
	return at;
}

void
jit_patch32(struct jit_emit *e, uint32_t at, uint32_t target)
{
	int32_t rel = (int32_t)(target - (at + 4));

	if (e->overflow || e->buf + at + 4 > e->end)
		return;
	memcpy(e->buf + at, &rel, 4);
}
