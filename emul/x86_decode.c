/*
 * The x86 instruction decoder: prefixes, VEX/EVEX/XOP, the ModRM/SIB engine
 * and the operand builder.  The opcode tables (x86_optab_gen.c, generated
 * by x86_optab_gen.py) are decision trees per opcode over mode, mandatory
 * prefix, ModRM.mod/reg/rm, W and L; this file walks them.
 *
 * References: Intel SDM Vol. 2, chapter 2 (instruction format), 2.1.1
 * (prefixes), 2.2.1 (REX), 2.3 (VEX), 2.7 (EVEX), Appendix A (opcode maps),
 * table 2-1/2-2 (16/32-bit ModRM), 2-3 (SIB).
 */
#include <string.h>

#include "x86.h"
#include "x86_optab.h"

#define X86_MAX_LEN 15

struct dstate {
	struct x86_instr *in;
	const uint8_t *b;
	unsigned int avail; /* bytes in b */
	unsigned int pos;
	int mode;
	uint8_t last_rep; /* last F2/F3 seen, 0 if none */
	bool vex;         /* C4/C5 */
	bool evex;        /* 62 */
	uint8_t rex_r, rex_x, rex_b, rex_w;
	uint8_t evex_rr; /* EVEX.R' (as 0/16) */
	uint8_t evex_x;  /* EVEX.X extending a register rm (0/16) */
	uint8_t evex_vv; /* EVEX.V' (as 0/16) */
	uint8_t evex_v3; /* EVEX.vvvv bit 3 (as 0/8), also outside 64-bit */
	uint8_t vex_pp;
	bool is4_read;
	bool rexany; /* REX, VEX or EVEX: SPL..DIL rather than AH..BH */
};

/* Decoding failures unwind by status; the byte reader reports them. */
#define NEED(st, n)                                                            \
	do {                                                                   \
		if ((st)->pos + (n) > (st)->avail)                             \
			return need_fail(st, (n));                             \
	} while (0)

static int
need_fail(struct dstate *st, unsigned int n)
{
	struct x86_instr *in = st->in;

	if (st->pos + n > X86_MAX_LEN) {
		in->status = X86_DEC_GP;
		in->length = X86_MAX_LEN;
		return X86_DEC_GP;
	}
	in->status = X86_DEC_FETCH;
	in->fault_offset = (uint8_t)st->avail;
	in->length = (uint8_t)st->avail;
	return X86_DEC_FETCH;
}

static int
ud(struct dstate *st)
{
	st->in->status = X86_DEC_UD;
	return X86_DEC_UD;
}

static inline unsigned int
gpr(unsigned int size, unsigned int n, bool rex)
{
	switch (size) {
	case 1:
		if (n < 4 || (n < 8 && !rex))
			return X86_R_AL + n;
		if (n < 8)
			return X86_R_SPL + (n - 4);
		return X86_R_R8B + (n - 8);
	case 2:
		return X86_R_AX + n;
	case 4:
		return X86_R_EAX + n;
	default:
		return X86_R_RAX + n;
	}
}

static inline unsigned int
vreg(unsigned int size, unsigned int n)
{
	if (size <= 16)
		return X86_R_XMM0 + n;
	if (size == 32)
		return X86_R_YMM0 + n;
	return X86_R_ZMM0 + n;
}

/* The byte size of an operand size code. */
static unsigned int
opsz_var(const struct dstate *st, unsigned int code)
{
	const struct x86_instr *in = st->in;
	unsigned int vl = 16u << in->vex_l;

	switch (code) {
	case OS_0:
		return 0;
	case OS_B:
		return 1;
	case OS_W:
		return 2;
	case OS_D:
		return 4;
	case OS_Q:
		return 8;
	case OS_T:
		return 10;
	case OS_DQ:
		return 16;
	case OS_QQ:
		return 32;
	case OS_V:
		return in->opsize;
	case OS_Z:
		return in->opsize == 2 ? 2 : 4;
	case OS_Y:
		return in->opsize == 8 ? 8 : 4;
	case OS_P:
		return in->opsize + 2;
	case OS_A:
		return in->opsize * 2;
	case OS_S:
		return st->mode == X86_MODE_64 ? 10 : 6;
	case OS_X:
		return vl;
	case OS_H:
		return vl / 2;
	case OS_QR:
		return vl / 4;
	case OS_E:
		return vl / 8;
	case OS_R:
		return st->mode == X86_MODE_64 ? 8 : 4;
	case OS_FX:
		return 512;
	case OS_XS:
		return 0;
	case OS_ENV:
		return in->opsize == 2 ? 14 : 28;
	case OS_ST:
		return in->opsize == 2 ? 94 : 108;
	case OS_ZO:
		return 64;
	case OS_DUP:
		return vl == 16 ? 8 : vl;
	}
	return 0;
}

/* Sizes that depend on nothing, plus one (0: ask opsz_var) */
static const uint16_t os_fixed1[OS_DUP + 1] = {
	[OS_0] = 0 + 1,    [OS_B] = 1 + 1,  [OS_W] = 2 + 1,   [OS_D] = 4 + 1,
	[OS_Q] = 8 + 1,    [OS_T] = 10 + 1, [OS_DQ] = 16 + 1, [OS_QQ] = 32 + 1,
	[OS_FX] = 512 + 1, [OS_XS] = 0 + 1, [OS_ZO] = 64 + 1,
};

static inline unsigned int
opsz(const struct dstate *st, unsigned int code)
{
	if (code == OS_V)
		return st->in->opsize;
	if (code < sizeof(os_fixed1) / sizeof(os_fixed1[0]) &&
	    os_fixed1[code] != 0)
		return os_fixed1[code] - 1u;
	return opsz_var(st, code);
}

static inline uint64_t
rd_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	switch (n) {
	case 1:
		return p[0];
	case 2: {
		uint16_t w;
		memcpy(&w, p, 2);
		return w;
	}
	case 4: {
		uint32_t d;
		memcpy(&d, p, 4);
		return d;
	}
	case 8:
		memcpy(&v, p, 8);
		return v;
	}
#endif
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline int64_t
sext(uint64_t v, unsigned int n)
{
	if (n >= 8)
		return (int64_t)v;
	unsigned int sh = 64 - 8 * n;
	return (int64_t)(v << sh) >> sh;
}

/* ModRM, SIB and displacement: fills the insn's mem fields. */
static inline __attribute__((always_inline)) int
decode_modrm(struct dstate *st, bool force_reg)
{
	struct x86_instr *in = st->in;
	uint8_t m;
	unsigned int dsz = 0;

	NEED(st, 1);
	m = st->b[st->pos++];
	in->has_modrm = true;
	in->modrm = m;
	in->mod = m >> 6;
	if (force_reg)
		in->mod = 3;
	in->reg = ((m >> 3) & 7) | st->rex_r;
	in->rm = (m & 7) | st->rex_b;
	if (in->mod == 3)
		return 0;
	if (in->addrsize == 2) {
		if (in->mod == 1)
			dsz = 1;
		else if (in->mod == 2 || (m & 7) == 6)
			dsz = 2;
	} else {
		unsigned int base = m & 7;

		if ((m & 7) == 4) {
			NEED(st, 1);
			in->sib = st->b[st->pos++];
			in->has_sib = true;
			base = in->sib & 7;
		}
		if (in->mod == 1)
			dsz = 1;
		else if (in->mod == 2 || (base == 5 && in->mod == 0))
			dsz = 4;
	}
	if (dsz) {
		NEED(st, dsz);
		if (dsz == 1) {
			in->disp = (int8_t)st->b[st->pos];
		} else if (dsz == 4) {
			in->disp = (int32_t)rd_le(st->b + st->pos, 4);
		} else {
			in->disp = (int16_t)rd_le(st->b + st->pos, 2);
		}
		in->disp_size = (uint8_t)dsz;
		st->pos += dsz;
	}
	return 0;
}

/* The memory operand of the ModRM (for E/M/W/Q/KM forms with mod != 3). */
static inline __attribute__((always_inline)) void
mem_operand(struct dstate *st, struct x86_operand *op, unsigned int vsib_size)
{
	struct x86_instr *in = st->in;
	unsigned int seg = X86_R_DS;

	op->type = X86_OPND_MEM;
	op->scale = 1;
	op->disp = in->disp;
	if (in->addrsize == 2) {
		static const uint8_t b16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
		static const uint8_t i16[8] = { 6, 7, 6, 7, 0, 0, 0, 0 };
		unsigned int rm = in->modrm & 7;

		if (!(in->mod == 0 && rm == 6)) {
			op->base = X86_R_AX + b16[rm];
			if (b16[rm] == 5)
				seg = X86_R_SS;
		}
		if (rm < 4)
			op->index = X86_R_AX + i16[rm];
	} else {
		unsigned int areg = in->addrsize == 8 ? X86_R_RAX : X86_R_EAX;

		if (in->has_sib) {
			unsigned int base = (in->sib & 7) | st->rex_b;
			unsigned int idx = ((in->sib >> 3) & 7) | st->rex_x;

			if (!((in->sib & 7) == 5 && in->mod == 0)) {
				op->base = areg + base;
				if ((base & 7) == 4 || (base & 7) == 5)
					seg = (base == 4 || base == 5)
						  ? X86_R_SS
						  : X86_R_DS;
			}
			if (vsib_size) {
				op->index = vreg(vsib_size, idx | st->evex_vv);
				op->scale = 1 << (in->sib >> 6);
			} else if (idx != 4) {
				op->index = areg + idx;
				op->scale = 1 << (in->sib >> 6);
			}
		} else if (in->mod == 0 && (in->modrm & 7) == 5) {
			if (st->mode == X86_MODE_64)
				op->base =
				    in->addrsize == 8 ? X86_R_RIP : X86_R_EIP;
		} else {
			op->base = areg + in->rm;
			if (in->rm == 5)
				seg = X86_R_SS;
		}
	}
	if (in->seg_override &&
	    (st->mode != X86_MODE_64 || in->seg_override >= X86_R_FS))
		seg = in->seg_override;
	op->seg = (uint8_t)seg;
	in->seg = (uint8_t)seg;
}

static inline int
read_imm(struct dstate *st, unsigned int n, int64_t *out, bool sign)
{
	struct x86_instr *in = st->in;
	unsigned int k = in->imm_size[0] ? 1 : 0;
	uint64_t v;
	int64_t s;

	NEED(st, n);
	v = rd_le(st->b + st->pos, n);
	st->pos += n;
	s = sext(v, n);
	*out = sign ? s : (int64_t)v;
	in->imm_size[k] = (uint8_t)n;
	in->imm[k] = s;
	return 0;
}

static inline __attribute__((always_inline)) int
build_operand(struct dstate *st, const struct x86_opspec *sp,
	      struct x86_operand *op)
{
	struct x86_instr *in = st->in;
	unsigned int size = opsz(st, sp->size);
	bool rex = st->rexany;
	int rc;

	op->access = sp->access;
	op->size = (uint16_t)size;
	switch (sp->method) {
	case OM_E:
	case OM_M:
	case OM_W:
	case OM_Q:
	case OM_KM:
		if (in->mod != 3) {
			mem_operand(st, op, 0);
			break;
		}
		if (sp->method == OM_M)
			return ud(st);
		op->type = X86_OPND_REG;
		if (sp->method == OM_E)
			op->reg = (uint8_t)gpr(size, in->rm, rex);
		else if (sp->method == OM_W) {
			op->reg = (uint8_t)vreg(size, in->rm | st->evex_x);
			op->size = size <= 16 ? 16 : size;
		} else if (sp->method == OM_Q) {
			op->reg = (uint8_t)(X86_R_MM0 + (in->rm & 7));
			op->size = 8;
		} else {
			/* k0-k7 only: VEX.B set is #UD (as XED) */
			if (in->rm > 7)
				return ud(st);
			op->reg = (uint8_t)(X86_R_K0 + in->rm);
			op->size = 8;
		}
		break;
	case OM_R:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)gpr(size, in->rm, rex);
		break;
	case OM_G:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)gpr(size, in->reg, rex);
		break;
	case OM_U:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)vreg(size, in->rm | st->evex_x);
		op->size = size <= 16 ? 16 : size;
		break;
	case OM_V:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)vreg(size, in->reg | st->evex_rr);
		op->size = size <= 16 ? 16 : size;
		break;
	case OM_H:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)vreg(size, in->vvvv);
		op->size = size <= 16 ? 16 : size;
		break;
	case OM_L:
		if ((rc = read_imm(st, 1, &op->imm, false)) != 0)
			return rc;
		op->type = X86_OPND_REG;
		op->reg =
		    (uint8_t)vreg(size, (((uint64_t)op->imm >> 4) &
					 (st->mode == X86_MODE_64 ? 15 : 7)));
		op->size = size <= 16 ? 16 : size;
		op->imm = 0;
		break;
	case OM_P:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)(X86_R_MM0 + (in->reg & 7));
		op->size = 8;
		break;
	case OM_N:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)(X86_R_MM0 + (in->rm & 7));
		op->size = 8;
		break;
	case OM_S:
		if (in->reg > 5)
			return ud(st);
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)(X86_R_ES + (in->reg & 7));
		break;
	case OM_C: {
		unsigned int cr = in->reg;

		if (!(cr == 0 || cr == 2 || cr == 3 || cr == 4 || cr == 8))
			return ud(st);
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)(X86_R_CR0 + cr);
		op->size = (uint16_t)size;
		break;
	}
	case OM_D:
		if (in->reg > 7)
			return ud(st);
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)(X86_R_DR0 + in->reg);
		break;
	case OM_KR:
		if (in->reg > 7)
			return ud(st);
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)(X86_R_K0 + in->reg);
		op->size = 8;
		break;
	case OM_KH:
		if (in->vvvv > 7)
			return ud(st);
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)(X86_R_K0 + in->vvvv);
		op->size = 8;
		break;
	case OM_B:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)gpr(size, in->vvvv & 15, true);
		break;
	case OM_Z:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)gpr(size, (in->opcode & 7) | st->rex_b, rex);
		break;
	case OM_FIX:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)gpr(size, sp->arg, false);
		break;
	case OM_SEG:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)(X86_R_ES + sp->arg);
		break;
	case OM_ST0:
		op->type = X86_OPND_REG;
		op->reg = X86_R_ST0;
		break;
	case OM_STI:
		op->type = X86_OPND_REG;
		op->reg = (uint8_t)(X86_R_ST0 + (in->modrm & 7));
		break;
	case OM_ONE:
		op->type = X86_OPND_IMM;
		op->imm = 1;
		break;
	case OM_I:
		op->type = X86_OPND_IMM;
		if ((rc = read_imm(st, size, &op->imm, false)) != 0)
			return rc;
		if (sp->size == OS_Z && in->opsize == 8) {
			/* Iz with a 64-bit operand: sign-extended */
			op->imm = sext((uint64_t)op->imm, 4);
			op->size = 8;
		}
		break;
	case OM_IS:
		op->type = X86_OPND_IMM;
		if ((rc = read_imm(st, 1, &op->imm, true)) != 0)
			return rc;
		op->size = in->opsize;
		break;
	case OM_J: {
		unsigned int n = size == 1 ? 1 : (in->opsize == 2 ? 2 : 4);

		op->type = X86_OPND_REL;
		if ((rc = read_imm(st, n, &op->imm, true)) != 0)
			return rc;
		op->size = in->opsize;
		break;
	}
	case OM_O: {
		unsigned int seg = X86_R_DS;

		op->type = X86_OPND_MEM;
		if ((rc = read_imm(st, in->addrsize, &op->disp, false)) != 0)
			return rc;
		in->imm_size[0] = 0;
		in->disp_size = in->addrsize;
		in->disp = op->disp;
		op->scale = 1;
		if (in->seg_override &&
		    (st->mode != X86_MODE_64 || in->seg_override >= X86_R_FS))
			seg = in->seg_override;
		op->seg = (uint8_t)seg;
		in->seg = (uint8_t)seg;
		break;
	}
	case OM_A: {
		int64_t sel;

		op->type = X86_OPND_FAR;
		if ((rc = read_imm(st, in->opsize, &op->imm, false)) != 0)
			return rc;
		if ((rc = read_imm(st, 2, &sel, false)) != 0)
			return rc;
		op->sel = (uint16_t)sel;
		break;
	}
	case OM_X:
	case OM_Y: {
		unsigned int areg = in->addrsize == 2   ? X86_R_AX
				    : in->addrsize == 4 ? X86_R_EAX
							: X86_R_RAX;

		op->type = X86_OPND_MEM;
		op->scale = 1;
		if (sp->method == OM_X) {
			op->base = (uint8_t)(areg + 6);
			op->seg = X86_R_DS;
			if (in->seg_override && (st->mode != X86_MODE_64 ||
						 in->seg_override >= X86_R_FS))
				op->seg = in->seg_override;
		} else {
			op->base = (uint8_t)(areg + 7);
			op->seg = X86_R_ES;
		}
		in->seg = op->seg;
		break;
	}
	case OM_GVSIB:
		if (!in->has_sib)
			return ud(st);
		mem_operand(st, op, size);
		op->size = 0;
		break;
	default:
		op->type = X86_OPND_NONE;
		break;
	}
	return 0;
}

/* The VEX/EVEX/XOP prefix bytes after C4/C5/62/8F. Returns the table. */
static int
decode_vex(struct dstate *st, uint8_t lead, int *tab)
{
	struct x86_instr *in = st->in;
	bool m64 = st->mode == X86_MODE_64;
	uint8_t b1, b2, b3;
	unsigned int map;

	/* 66, F2, F3 and REX before VEX/EVEX: #UD (SDM 2.3.2) */
	if ((in->prefixes & (X86_PFX_OPSZ | X86_PFX_LOCK)) || st->last_rep ||
	    in->rex)
		return ud(st);
	if (lead == 0xc5) {
		NEED(st, 1);
		b1 = st->b[st->pos++];
		st->rex_r = (b1 & 0x80) ? 0 : 8;
		in->vvvv = (~b1 >> 3) & 15;
		in->vex_l = (b1 >> 2) & 1;
		st->vex_pp = b1 & 3;
		map = 1;
		in->prefixes |= X86_PFX_VEX;
		st->vex = true;
		st->rexany = true;
	} else if (lead == 0xc4 || lead == 0x8f) {
		NEED(st, 2);
		b1 = st->b[st->pos++];
		b2 = st->b[st->pos++];
		st->rex_r = (b1 & 0x80) ? 0 : 8;
		st->rex_x = (b1 & 0x40) ? 0 : 8;
		st->rex_b = (b1 & 0x20) ? 0 : 8;
		map = b1 & 0x1f;
		st->rex_w = b2 >> 7;
		in->vvvv = (~b2 >> 3) & 15;
		in->vex_l = (b2 >> 2) & 1;
		st->vex_pp = b2 & 3;
		st->vex = true;
		st->rexany = true;
		if (lead == 0x8f) {
			in->prefixes |= X86_PFX_XOP;
			return ud(st); /* AMD XOP: no such map on Intel */
		}
		in->prefixes |= X86_PFX_VEX;
		if (map < 1 || map > 3)
			return ud(st);
	} else { /* 62: EVEX */
		NEED(st, 3);
		b1 = st->b[st->pos++];
		b2 = st->b[st->pos++];
		b3 = st->b[st->pos++];
		st->rex_r = (b1 & 0x80) ? 0 : 8;
		st->rex_x = (b1 & 0x40) ? 0 : 8;
		st->rex_b = (b1 & 0x20) ? 0 : 8;
		st->evex_rr = (b1 & 0x10) ? 0 : 16;
		st->evex_x = (b1 & 0x40) ? 0 : 16;
		map = b1 & 3;
		st->rex_w = b2 >> 7;
		in->vvvv = (~b2 >> 3) & 15;
		st->vex_pp = b2 & 3;
		in->evex_z = b3 >> 7;
		in->vex_l = (b3 >> 5) & 3;
		in->evex_b = (b3 >> 4) & 1;
		st->evex_vv = (b3 & 8) ? 0 : 16;
		in->vvvv |= st->evex_vv;
		st->evex_v3 = in->vvvv & 8;
		in->evex_aaa = b3 & 7;
		in->prefixes |= X86_PFX_EVEX;
		/* outside 64-bit mode EVEX.V' must be 1 (SDM Vol. 2A
		 * 2.6.11.2, table 2-38; XED: BAD_EVEX_V_PRIME); R' and B
		 * are ignored there.  Zeroing needs a mask: EVEX.z with
		 * aaa = 000 is #UD for every opcode (XED:
		 * BAD_EVEX_Z_NO_MASKING; SDM 2.6.4) */
		if ((!m64 && st->evex_vv) || (in->evex_z && !in->evex_aaa))
			return ud(st);
		st->evex = true;
		st->rexany = true;
		if ((b1 & 0x0c) || !(b2 & 0x04) || map == 0)
			return ud(st);
	}
	if (!m64) {
		st->rex_r = st->rex_x = st->rex_b = 0;
		st->evex_rr = st->evex_x = 0;
		in->vvvv &= 7;
	}
	in->vex_w = st->rex_w;
	*tab = (st->evex ? X86_TAB_E0F : X86_TAB_V0F) + (int)map - 1;
	return 0;
}

/* Legacy and REX prefix classes (SDM 2.1.1, 2.2.1); PK_NONE: the opcode */
enum {
	PK_NONE,
	PK_ES, /* ES CS SS DS FS GS: in X86_R_ES order */
	PK_CS,
	PK_SS,
	PK_DS,
	PK_FS,
	PK_GS,
	PK_LOCK,
	PK_F2,
	PK_F3,
	PK_66,
	PK_67,
	PK_REX, /* 40-4F: REX in 64-bit mode, an opcode elsewhere */
};

static const uint8_t pfx_kind[256] = {
	[0x26] = PK_ES,  [0x2e] = PK_CS,  [0x36] = PK_SS,   [0x3e] = PK_DS,
	[0x64] = PK_FS,  [0x65] = PK_GS,  [0xf0] = PK_LOCK, [0xf2] = PK_F2,
	[0xf3] = PK_F3,  [0x66] = PK_66,  [0x67] = PK_67,   [0x40] = PK_REX,
	[0x41] = PK_REX, [0x42] = PK_REX, [0x43] = PK_REX,  [0x44] = PK_REX,
	[0x45] = PK_REX, [0x46] = PK_REX, [0x47] = PK_REX,  [0x48] = PK_REX,
	[0x49] = PK_REX, [0x4a] = PK_REX, [0x4b] = PK_REX,  [0x4c] = PK_REX,
	[0x4d] = PK_REX, [0x4e] = PK_REX, [0x4f] = PK_REX,
};

/* Opcode bytes that escape to another map or a VEX/EVEX/XOP/x87 form */
static const uint8_t op_esc[256] = {
	[0x0f] = 1, [0x62] = 1, [0x8f] = 1, [0xc4] = 1, [0xc5] = 1,
	[0xd8] = 1, [0xd9] = 1, [0xda] = 1, [0xdb] = 1, [0xdc] = 1,
	[0xdd] = 1, [0xde] = 1, [0xdf] = 1,
};

/* Address size by mode, without and with 67 */
static const uint8_t asz_of[3][2] = { { 2, 4 }, { 4, 2 }, { 8, 4 } };

/* The opcode byte after the VEX/EVEX prefix. */
static int
decode_core(struct dstate *st, int *tabp)
{
	struct x86_instr *in = st->in;
	bool m64 = st->mode == X86_MODE_64;
	int tab = X86_TAB_1;
	uint8_t op;
	int rc;

	/* Legacy and REX prefixes (SDM 2.1.1, 2.2.1) */
	for (;;) {
		unsigned int k;

		NEED(st, 1);
		op = st->b[st->pos];
		k = pfx_kind[op];
		if (k == PK_NONE)
			break;
		if (k == PK_REX) {
			if (!m64)
				break;
			in->rex = op;
			st->pos++;
			continue;
		}
		switch (k) {
		case PK_LOCK:
			in->prefixes |= X86_PFX_LOCK;
			break;
		case PK_F2:
			st->last_rep = op;
			in->prefixes |= X86_PFX_REPNE;
			break;
		case PK_F3:
			st->last_rep = op;
			in->prefixes |= X86_PFX_REP;
			break;
		case PK_66:
			in->prefixes |= X86_PFX_OPSZ;
			break;
		case PK_67:
			in->prefixes |= X86_PFX_ADSZ;
			break;
		default: /* segment overrides */
			in->prefixes |= X86_PFX_SEG;
			in->seg_override = (uint8_t)(X86_R_ES + (k - PK_ES));
			break;
		}
		in->rex = 0; /* a REX not right before the opcode is ignored */
		st->pos++;
	}
	in->npfx = (uint8_t)st->pos;
	if (in->rex) {
		unsigned int r = in->rex;

		in->prefixes |= X86_PFX_REX;
		st->rex_w = (r >> 3) & 1;
		st->rex_r = (uint8_t)((r & 4) << 1);
		st->rex_x = (uint8_t)((r & 2) << 2);
		st->rex_b = (uint8_t)((r & 1) << 3);
		st->rexany = true;
	}
	in->addrsize = asz_of[(unsigned int)st->mode < 3 ? st->mode : 2]
			     [(in->prefixes & X86_PFX_ADSZ) != 0];

	op = st->b[st->pos++];
	in->map = X86_MAP_1BYTE;
	if (!op_esc[op]) {
		/* the common case: a one-byte-map opcode */
	} else if (op == 0x0f) {
		NEED(st, 1);
		op = st->b[st->pos++];
		in->map = X86_MAP_0F;
		tab = X86_TAB_0F;
		if (op == 0x38 || op == 0x3a) {
			in->map = op == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
			tab = op == 0x38 ? X86_TAB_38 : X86_TAB_3A;
			NEED(st, 1);
			op = st->b[st->pos++];
		} else if (op == 0x0f) {
			in->map = X86_MAP_3DNOW;
		}
	} else if (op == 0xc4 || op == 0xc5 || op == 0x62 || op == 0x8f) {
		bool is_vex = m64 && op != 0x8f;

		if (!is_vex) {
			NEED(st, 1);
			if (op == 0x8f)
				is_vex = (st->b[st->pos] & 0x38) != 0;
			else
				is_vex = (st->b[st->pos] & 0xc0) == 0xc0;
		}
		if (is_vex) {
			uint8_t lead = op;

			if ((rc = decode_vex(st, lead, &tab)) != 0)
				return rc;
			NEED(st, 1);
			op = st->b[st->pos++];
			in->map =
			    (uint8_t)(tab -
				      (st->evex ? X86_TAB_E0F : X86_TAB_V0F) +
				      X86_MAP_0F);
		}
	} else if (op >= 0xd8 && op <= 0xdf) {
		in->map = X86_MAP_X87;
	}
	in->opcode = op;
	*tabp = tab;
	return 0;
}

/* A leaf that selects nothing: the F2/F3/66 fallback to the prefix-less
 * form applies (not to an explicit #UD leaf, EF_UD: MOVBE has no F3 form,
 * SDM Vol. 2D table A-4 0F38 F0/F1). */
static bool
leaf_empty(unsigned int i)
{
	return x86_opents[i].kind == EK_LEAF && x86_opents[i].mnem == 0 &&
	       !(x86_opents[i].flags & EF_UD);
}

static int
opsize_of(struct dstate *st, uint16_t flags)
{
	struct x86_instr *in = st->in;
	bool p66 = (in->prefixes & X86_PFX_OPSZ) && !(flags & EF_P66);

	if (st->mode == X86_MODE_64) {
		if (flags & EF_F64)
			return 8;
		if (st->rex_w)
			return 8;
		if (flags & EF_D64)
			return p66 ? 2 : 8;
		return p66 ? 2 : 4;
	}
	if (st->mode == X86_MODE_32)
		return p66 ? 2 : 4;
	return p66 ? 4 : 2;
}

/* disp8*N (SDM Vol. 2A 2.6.5, tables 2-34 and 2-35): N from the tuple
 * type of the form (EVF_TUPLE), the vector length and broadcast. */
static unsigned int
evex_n(const struct x86_instr *in, unsigned int fl)
{
	unsigned int t = fl & EVF_TUPLE, vl = 16u << in->vex_l;

	if (in->evex_b && (fl & EVF_BC))
		return (fl & EVF_BC8) ? 8 : 4;
	if (t < 8)
		return vl >> t;
	if (t < 16)
		return 1u << (t - 8);
	return vl == 16 ? 8 : vl; /* MOVDDUP */
}

/*
 * EVEX instructions (SDM Vol. 2A 2.6): the form from the EVEX tables, its
 * operands with EVEX.R'/X/V' (32 vector registers), masking, broadcast,
 * rounding/SAE and the disp8*N displacement.  An encoding the tables do
 * not hold is #UD.  Not inlined into decode(): the EVEX path stays out of the
 * hot legacy/VEX path (inlined it cost ~5% of bench_decode).
 */
static __attribute__((noinline)) int
decode_evex(struct dstate *st, int tab)
{
	struct x86_instr *in = st->in;
	const struct x86_opent *e;
	unsigned int root, fl, nops;
	bool mem;
	int rc;

	in->opsize = st->rex_w ? 8 : 4;
	if ((rc = decode_modrm(st, false)) != 0)
		return rc;
	mem = in->mod != 3;
	root = x86_oproots[tab][in->opcode];
	e = &x86_opents[root & 0x7fff];
	while (e->kind != EK_LEAF) {
		unsigned int v = 0;

		switch (e->kind) {
		case EK_PFX:
			v = st->vex_pp;
			break;
		case EK_MOD:
			v = !mem;
			break;
		case EK_REG:
			v = (in->modrm >> 3) & 7;
			break;
		case EK_RM:
			v = in->modrm & 7;
			break;
		case EK_W:
			v = st->rex_w;
			break;
		case EK_WX:
			v = st->rex_w & (st->mode == X86_MODE_64);
			break;
		case EK_LL:
			v = in->vex_l;
			break;
		}
		e = &x86_opents[e->idx + v];
	}
	/* every EVEX form of the SDM (maps 0F, 0F38, 0F3A) is in the tables:
	 * anything else is #UD */
	if (e->mnem == 0)
		return ud(st);
	fl = e->flags;
	in->mnem = e->mnem;
	/* EVEX.b (table 2-36): broadcast with memory, rounding or SAE with
	 * a register (then L'L is the rounding control and the length 512
	 * bits), else #UD */
	if (in->evex_b) {
		if (mem) {
			if (!(fl & EVF_BC))
				return ud(st);
		} else if (fl & EVF_ER) {
			in->evex_rc = (uint8_t)(in->vex_l + 1);
			in->vex_l = 2;
		} else if (fl & EVF_SAE) {
			in->evex_sae = 1;
			in->vex_l = 2;
		} else {
			return ud(st);
		}
	}
	/* L'L = 11b is reserved (table 2-36) */
	if (in->vex_l == 3)
		return ud(st);
	/* masking (2.6.4): k0 cannot be a predicate; no masking, or no
	 * zeroing, where the form has none; no zeroing with a memory
	 * destination */
	if (in->evex_aaa == 0 ? (fl & EVF_KREQ) != 0 : (fl & EVF_NOK) != 0)
		return ud(st);
	if (in->evex_z && (fl & (EVF_NOK | EVF_NOZ)))
		return ud(st);
	if (mem && in->disp_size == 1)
		in->disp *= (int64_t)evex_n(in, fl);
	nops = e->nops;
	const uint8_t *set = x86_opsets[e->idx];
	bool uses_v = false, vsib = false;

	in->nops = (uint8_t)nops;
	for (unsigned int i = 0; i < nops; i++) {
		const struct x86_opspec *sp = &x86_opspecs[set[i]];
		struct x86_operand *op = &in->ops[i];

		if (sp->method == OM_H)
			uses_v = true;
		if (sp->method == OM_GVSIB)
			vsib = true;
		/* an opmask in ModRM.reg: EVEX.R' set is #UD as REX.R */
		if (sp->method == OM_KR && st->evex_rr)
			return ud(st);
		if ((rc = build_operand(st, sp, op)) != 0)
			return rc;
		if (op->type == X86_OPND_MEM) {
			if (i == 0 && in->evex_z)
				return ud(st);
			if (in->evex_b) {
				unsigned int el = (fl & EVF_BC8) ? 8 : 4;
				unsigned int vl = 16u << in->vex_l;

				op->size = (uint16_t)el;
				op->bcst =
				    (uint8_t)(vl /
					      ((fl & EVF_TUPLE) == 1 ? 8 : el));
			}
		}
	}
	/* vvvv (with V', unless V' extends a VSIB index) unused must be
	 * 1111b (inverted: 0), its bit 3 too outside 64-bit mode, where it
	 * names no register */
	if (!uses_v && ((in->vvvv & (vsib ? 15 : 31)) != 0 || st->evex_v3))
		return ud(st);
	/* a gather whose destination is its index register: #UD (VPGATHERDD
	 * and the others: "if any pair of the index, mask, or destination
	 * registers are the same") */
	if (vsib && nops == 2 && in->ops[1].type == X86_OPND_MEM &&
	    in->ops[0].type == X86_OPND_REG &&
	    (in->ops[0].reg - X86_R_XMM0) % 32 ==
		(in->ops[1].index - X86_R_XMM0) % 32)
		return ud(st);
	/* merging-masking keeps the unselected elements: the destination is
	 * read as well */
	if (in->evex_aaa && !in->evex_z && nops > 0 &&
	    (in->ops[0].type == X86_OPND_MEM ||
	     (x86_reg_class(in->ops[0].reg) >= X86_RC_XMM &&
	      x86_reg_class(in->ops[0].reg) <= X86_RC_ZMM)))
		in->ops[0].access |= X86_ACC_R;
	return 0;
}

static int
decode(struct dstate *st)
{
	struct x86_instr *in = st->in;
	const struct x86_opent *e;
	unsigned int root;
	uint16_t flags;
	int tab, rc;

	if ((rc = decode_core(st, &tab)) != 0)
		return rc;
	if (st->evex) {
		if ((rc = decode_evex(st, tab)) != 0)
			return rc;
		goto done;
	}
	if (in->map == X86_MAP_3DNOW) {
		in->opsize = 8;
		if ((rc = decode_modrm(st, false)) != 0)
			return rc;
		NEED(st, 1);
		in->opcode = st->b[st->pos++];
		in->mnem = x86_3dnow[in->opcode];
		if (in->mnem == 0 || (in->prefixes & X86_PFX_LOCK))
			return ud(st);
		in->nops = 2;
		in->ops[0].type = X86_OPND_REG;
		in->ops[0].reg = (uint8_t)(X86_R_MM0 + (in->reg & 7));
		in->ops[0].size = 8;
		in->ops[0].access = X86_ACC_RW;
		in->ops[1].access = X86_ACC_R;
		in->ops[1].size = 8;
		if (in->mod == 3) {
			in->ops[1].type = X86_OPND_REG;
			in->ops[1].reg = (uint8_t)(X86_R_MM0 + (in->rm & 7));
		} else {
			mem_operand(st, &in->ops[1], 0);
		}
		goto done;
	}
	root = x86_oproots[tab][in->opcode];
	if (root & X86_ROOT_MODRM) {
		bool force_reg =
		    tab == X86_TAB_0F && (in->opcode & 0xfc) == 0x20;

		if ((rc = decode_modrm(st, force_reg)) != 0)
			return rc;
	}
	e = &x86_opents[root & 0x7fff];
	const struct x86_opent *pfx_node = NULL;
	unsigned int pfx_v = 0;
retry:
	while (e->kind != EK_LEAF) {
		unsigned int v = 0;

		switch (e->kind) {
		case EK_MODE:
			v = st->mode == X86_MODE_64;
			break;
		case EK_PFX:
			if (st->vex)
				v = st->vex_pp;
			else if (st->last_rep)
				v = st->last_rep == 0xf3 ? 2 : 3;
			else
				v = (in->prefixes & X86_PFX_OPSZ) ? 1 : 0;
			/* F2/F3 that select nothing fall back to the
			 * prefix-less form (MMX and others without an F2/F3
			 * form).  With 66 as well, F2/F3 is the mandatory
			 * prefix and 66 the operand size (66 F2 0F 38 F1
			 * CRC32 r32, r/m16): never the 66 form (XED's
			 * refining-prefix rule; 66 F3 0F 38 2B is #UD). */
			if (v >= 2 && !st->vex && leaf_empty(e->idx + v))
				v = 0;
			/* and 66 that selects nothing to the prefix-less form
			 */
			if (v == 1 && !st->vex && leaf_empty(e->idx + 1))
				v = 0;
			if (pfx_node == e)
				v = pfx_v;
			else if (!st->vex) {
				pfx_node = e;
				pfx_v = v;
			}
			break;
		case EK_MOD:
			v = in->mod == 3;
			break;
		case EK_REG:
			v = (in->modrm >> 3) & 7;
			break;
		case EK_RM:
			v = in->modrm & 7;
			break;
		case EK_W:
			v = st->rex_w;
			break;
		case EK_WX:
			v = st->rex_w & (st->mode == X86_MODE_64);
			break;
		case EK_L:
			v = in->vex_l;
			break;
		}
		e = &x86_opents[e->idx + v];
	}
	if (e->mnem == 0 && !(e->flags & EF_UD) && pfx_node != NULL &&
	    pfx_v != 0) {
		/* nothing under that prefix deeper down: the same fallback */
		pfx_v = 0;
		e = pfx_node;
		goto retry;
	}
	if (e->mnem == 0)
		return ud(st);
	flags = e->flags;
	in->mnem = e->mnem;
	in->opsize = (uint8_t)opsize_of(st, flags);
	if (st->vex) {
		bool uses_v = false;

		for (unsigned int i = 0; i < e->nops; i++) {
			unsigned int m =
			    x86_opspecs[x86_opsets[e->idx][i]].method;
			if (m == OM_H || m == OM_B || m == OM_KH)
				uses_v = true;
		}
		if (!uses_v && in->vvvv != 0)
			return ud(st);
	}
	/* LOCK: only lockable instructions with a memory destination */
	if ((in->prefixes & X86_PFX_LOCK) &&
	    (!(flags & EF_LOCK) || in->mod == 3))
		return ud(st);
	if ((flags & EF_MOVSEG) && (in->modrm & 0x38) == 0x08)
		return ud(st); /* MOV CS, r/m */
	unsigned int nops = e->nops;
	const uint8_t *set = x86_opsets[e->idx];

	in->nops = (uint8_t)nops;
	for (unsigned int i = 0; i < nops; i++) {
		const struct x86_opspec *sp = &x86_opspecs[set[i]];

		if ((rc = build_operand(st, sp, &in->ops[i])) != 0)
			return rc;
	}
	if (flags & EF_NOP90) {
		if (st->rex_b == 0) {
			in->nops = 0;
			in->mnem =
			    st->last_rep == 0xf3 ? X86_M_PAUSE : X86_M_NOP;
		}
	}
done:
	if (st->pos > X86_MAX_LEN)
		return need_fail(st, 0);
	in->length = (uint8_t)st->pos;
	in->status = X86_DEC_OK;
	return 0;
}

/*
 * Zeroes the whole insn with 16-byte stores: a memset of its 192 bytes
 * becomes `rep stos`, whose start-up is a good part of a decode.  The
 * stores go through a byte pointer: with a pointer to a 16-byte vector
 * type the compiler may assume 16-byte alignment (movaps), which a
 * struct x86_instr inside another struct need not have.
 */
typedef long long x86_v16 __attribute__((vector_size(16)));

static inline void
insn_init(struct x86_instr *in, enum x86_mode mode)
{
	const x86_v16 z = { 0, 0 };
	unsigned char *p = (unsigned char *)in;

	if (sizeof(*in) % sizeof(z) != 0) {
		memset(in, 0, sizeof(*in));
	} else {
		for (size_t i = 0; i < sizeof(*in); i += sizeof(z))
			__builtin_memcpy(p + i, &z, sizeof(z));
	}
	in->mode = (uint8_t)mode;
}

int
x86_decode(struct x86_instr *insn, enum x86_mode mode, const uint8_t *buf,
	   size_t len)
{
	struct dstate st;
	int rc;

	insn_init(insn, mode);
	memset(&st, 0, sizeof(st));
	st.in = insn;
	st.b = buf;
	st.avail = len > X86_MAX_LEN ? X86_MAX_LEN : (unsigned int)len;
	st.mode = mode;
	rc = decode(&st);
	if (rc != 0 && insn->status == X86_DEC_UD)
		insn->length = (uint8_t)st.pos;
	return insn->status;
}

int
x86_decode_fetch(struct x86_instr *insn, enum x86_mode mode, x86_fetch_fn fetch,
		 void *arg)
{
	uint8_t buf[X86_MAX_LEN];
	size_t n = 0;

	/* As much as there is, up to the limit; callers may stop at a page */
	while (n < sizeof(buf)) {
		int r = fetch(arg, n, buf + n, sizeof(buf) - n);

		if (r <= 0)
			break;
		n += (size_t)r > sizeof(buf) - n ? sizeof(buf) - n : (size_t)r;
	}
	return x86_decode(insn, mode, buf, n);
}
