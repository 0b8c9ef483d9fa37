/*
 * decode_oracle: the EVEX entries of exceptions[] (SDM Vol. 2A 2.6):
 * capstone 4's EVEX bugs and the EVEX forms it lacks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_oracle.h"

static int evex_same_name(const struct x86_instr *in, const char *csname);

/* Where the EVEX payload bytes P0-P2 are (after the legacy prefixes). */
static int
evex_at(const struct ctx *c)
{
	unsigned int k = c->op_at;

	if (!(c->in->prefixes & X86_PFX_EVEX) || k + 4 > c->len ||
	    c->b[k] != 0x62)
		return -1;
	return (int)k + 1;
}

/* Mnemonics whose disp8*N capstone 4 gets wrong: VPSLLV/VPSRLV/VPSRAV
 * (N 16 for FV), the FMA forms with a 64-bit broadcast (N 4 for 8),
 * VCMPSS/VCMPSD (N 16 for T1S 4/8). */
static int
cs_bad_n(const struct x86_instr *in)
{
	const char *n = x86_mnem_name(in->mnem);

	return strcmp(n, "vcmpss") == 0 || strcmp(n, "vcmpsd") == 0 ||
	       strncmp(n, "vpsllv", 6) == 0 || strncmp(n, "vpsrlv", 6) == 0 ||
	       strncmp(n, "vpsrav", 6) == 0 ||
	       ((strncmp(n, "vfm", 3) == 0 || strncmp(n, "vfnm", 4) == 0) &&
		in->evex_b);
}

/*
 * rhyve's x with capstone 4's two EVEX operand bugs applied, so that the
 * rest can be compared: a SIB index made a vector register when EVEX.V' is
 * set (exc_evex_vindex) and the wrong disp8*N of cs_bad_n() forms.  Sets
 * *vidx / *dispn when it changed something.
 */
static void
evex_cs_fixups(const struct ctx *c, struct x86_instr *x, const cs_insn *ci,
	       const uint8_t *bytes, bool *vidx, bool *dispn, bool *gpr)
{
	const cs_x86 *cx = &ci->detail->x86;
	int p = evex_at(c);

	if (p < 0)
		return;
	/* Pair the register operands in order (capstone's {k} and the
	 * immediates left out).  Outside 64-bit mode capstone 4 honours
	 * EVEX.R', X and B for vector registers (ignored there:
	 * exc_evex_rr32): take capstone's where it is ours + 8, 16 or 24.
	 * VPBROADCASTB/W/D/Q from a GPR: capstone 4 names it mmN with
	 * EVEX.X set and as a 64-bit register in the W0 form
	 * (exc_evex_bcgpr). */
	{
		unsigned int j = 0;
		bool bcgpr =
		    strncmp(x86_mnem_name(x->mnem), "vpbroadcast", 11) == 0;

		for (unsigned int i = 0; i < x->nops; i++) {
			struct x86_operand *o = &x->ops[i];
			unsigned int rc = x86_reg_class(o->reg);

			if (o->type == X86_OPND_IMM)
				continue;
			while (
			    j < cx->op_count &&
			    (cx->operands[j].type == X86_OP_IMM ||
			     (j == 1 && cx->operands[j].type == X86_OP_REG &&
			      csreg(c->mode, cx->operands[j].reg)[0] == 'k')))
				j++;
			if (j >= cx->op_count)
				break;
			const cs_x86_op *co = &cx->operands[j++];
			if (o->type != X86_OPND_REG || co->type != X86_OP_REG)
				continue;
			const char *cn = csreg(c->mode, co->reg);
			int g = x86_reg_gpr_num(o->reg);

			if (bcgpr && g >= 0 && x->opcode >= 0x7a &&
			    x->opcode <= 0x7c) {
				if (cn[0] == 'm' && cn[1] == 'm' &&
				    atoi(cn + 2) == (g & 7)) {
					o->reg = (uint8_t)(X86_R_MM0 + (g & 7));
					*gpr = true;
				} else if (strcmp(cn, x86_reg_name(
							  X86_R_RAX +
							  (unsigned)g)) == 0) {
					o->reg = (uint8_t)(X86_R_RAX + g);
					*gpr = true;
				}
				continue;
			}
			if (c->mode == X86_MODE_64 || rc < X86_RC_XMM ||
			    rc > X86_RC_ZMM)
				continue;
			for (unsigned int d = 8; d < 32; d += 8) {
				unsigned int r = o->reg + d;

				if ((r - X86_R_XMM0) / 32 ==
					(unsigned int)(o->reg - X86_R_XMM0) /
					    32 &&
				    strcmp(cn, x86_reg_name(r)) == 0) {
					o->reg = (uint8_t)r;
					*vidx = true;
				}
			}
		}
	}
	for (unsigned int i = 0; i < x->nops; i++) {
		struct x86_operand *o = &x->ops[i];

		if (o->type != X86_OPND_MEM)
			continue;
		for (unsigned int j = 0; j < cx->op_count; j++) {
			const cs_x86_op *co = &cx->operands[j];
			const char *n = csreg(c->mode, co->mem.index);
			int g = o->index ? x86_reg_gpr_num(o->index) : -1;

			/* outside 64-bit mode capstone 4 names a SIB index
			 * (and base) with EVEX.X/B as 64-bit registers */
			if (c->mode != X86_MODE_64 && g >= 0 && n[0] == 'r' &&
			    strcmp(n + 1, x86_reg_name(o->index) + 1) == 0) {
				o->index = (uint8_t)(X86_R_RAX + g);
				*vidx = true;
			}
			/* SIB without index (100b): capstone still names
			 * a vector register 4 (+8 with EVEX.X) */
			if (!o->index && x->has_sib && ((x->sib >> 3) & 7) == 4)
				g = (bytes[p] & 0x40) ? 4 : 12;

			if (co->type != X86_OP_MEM)
				continue;
			if (x->has_sib && !(bytes[p + 2] & 0x08) && g >= 0 &&
			    n[0] && n[1] == 'm' && atoi(n + 3) == g) {
				o->index =
				    (uint8_t)((n[0] == 'x'   ? X86_R_XMM0
					       : n[0] == 'y' ? X86_R_YMM0
							     : X86_R_ZMM0) +
					      g);
				o->scale = (uint8_t)(1u << (x->sib >> 6));
				*vidx = true;
			}
			if (x->disp_size == 1 && cs_bad_n(x) &&
			    co->mem.disp != o->disp && co->mem.disp != 0 &&
			    o->disp != 0 &&
			    (co->mem.disp < 0) == (o->disp < 0) &&
			    (o->disp % co->mem.disp == 0 ||
			     co->mem.disp % o->disp == 0)) {
				o->disp = co->mem.disp;
				*dispn = true;
			}
		}
	}
}

/* cs_agrees() allowing for capstone 4's EVEX operand bugs. */
static int
evex_cs_agrees(const struct ctx *c, const struct x86_instr *in,
	       const cs_insn *ci2, const uint8_t *bytes)
{
	struct x86_instr x = *in;
	bool vidx = false, dispn = false, gpr = false;

	if (cs_agrees(c, in, 0, ci2, 0))
		return 1;
	evex_cs_fixups(c, &x, ci2, bytes, &vidx, &dispn, &gpr);
	if ((vidx || dispn || gpr) && cs_agrees(c, &x, 0, ci2, 0))
		return 1;
	/* a rounding/SAE form: capstone takes one byte more
	 * (exc_evex_rc); the operands must agree */
	if (ci2 && (in->evex_rc || in->evex_sae) &&
	    ci2->size == in->length + 1) {
		x.length = (uint8_t)(x.length + 1);
		return cs_agrees(c, &x, 0, ci2, 0);
	}
	return 0;
}

/* rhyve's mnemonic is capstone's (capstone folds a compare predicate
 * into the name: vcmpltps, vpcmpequb). */
static int
evex_same_name(const struct x86_instr *in, const char *csname)
{
	const char *n = x86_mnem_name(in->mnem);
	size_t ln = strlen(n), lc = strlen(csname);

	if (strcmp(n, csname) == 0)
		return 1;
	/* vcmpps -> vcmp<pred>ps */
	if (strncmp(n, "vcmp", 4) == 0 && strncmp(csname, "vcmp", 4) == 0)
		return ln >= 2 && lc >= 2 &&
		       strcmp(n + ln - 2, csname + lc - 2) == 0;
	/* vpcmp[u]b -> vpcmp<pred>[u]b */
	if (strncmp(n, "vpcmp", 5) == 0 && strncmp(csname, "vpcmp", 5) == 0)
		return n[ln - 1] == csname[lc - 1] &&
		       (n[ln - 2] == 'u') == (csname[lc - 2] == 'u');
	return 0;
}

/* rhyve's decode of the bytes with EVEX payload byte `which` (0-2) set to
 * (byte & and) | or; true if it is valid and capstone's decode of the
 * original bytes agrees with it (length and operands). */
static bool efa_need_w; /* evex_fixed_agrees(): only with W flipped */

static int
evex_fixed_agrees(const struct ctx *c, unsigned int which, uint8_t and,
		  uint8_t or)
{
	int p = evex_at(c);

	if (p < 0 || c->ci == NULL)
		return 0;
	/* as given, and with EVEX.W flipped where capstone 4 ignores W
	 * (exc_evex_w): then the name must be capstone's; and with L'L =
	 * 00b where W1 makes capstone 4 take 128 bits (exc_evex_wig_vl) */
	for (unsigned int v = 0; v < 4; v++) {
		unsigned int w = v & 1;
		uint8_t nb[16];
		struct x86_instr in;

		if (efa_need_w && !w)
			continue;

		memcpy(nb, c->b, c->len);
		nb[p + which] = (uint8_t)((nb[p + which] & and) | or);
		/* and the other opcode-independent #UD bits made valid: z
		 * without a mask, L'L = 11b, V' outside 64-bit mode */
		if ((nb[p + 2] & 0x87) == 0x80)
			nb[p + 2] &= 0x7f;
		if ((nb[p + 2] & 0x60) == 0x60)
			nb[p + 2] = (uint8_t)((nb[p + 2] & 0x9f) | 0x40);
		if (c->mode != X86_MODE_64)
			nb[p + 2] |= 0x08;
		if (w)
			nb[p + 1] ^= 0x80;
		if (v & 2) {
			if (!(c->b[p + 1] & 0x80))
				continue;
			nb[p + 2] &= 0x9f;
		}
		if (x86_decode(&in, (enum x86_mode)c->mode, nb, c->len) != 0)
			continue;
		/* an opcode the tables do not describe: its length, as
		 * for any such opcode (check_one()) */
		if (in.mnem == X86_M_EVEX_UNKNOWN) {
			if (v == 0 && in.length == c->ci->size)
				return 1;
			continue;
		}
		if (w && !evex_same_name(&in, c->ci->mnemonic))
			continue;
		if (evex_cs_agrees(c, &in, c->ci, nb))
			return 1;
	}
	return 0;
}

/*
 * Capstone 4 lacks many EVEX forms the SDM lists: the 128/256-bit
 * (AVX512VL) forms of many instructions, the masked ({k}, {z}) forms of
 * many, scalar forms with EVEX.L'L other than 00b (the SDM: LIG), and the
 * register forms of the FMA instructions.  Excused when capstone decodes
 * the same bytes with masking cleared and/or EVEX.L'L made 10b or 00b (or
 * an FMA register form made a memory form [reg] without SIB or disp) to
 * what rhyve decodes of those bytes: the same name and length, and with
 * the same operands unless the ModRM was changed.
 */
static int cs_lacks_whole; /* set by evex_cs_variants(): none valid */

/* flip_w: EVEX.W inverted in every variant (exc_evex_w32) */
static int
evex_cs_variants_w(const struct ctx *c, bool flip_w)
{
	static const uint8_t lls[3] = { 0xff, 0x40, 0x00 };
	int p = evex_at(c);
	bool any_valid = false;

	cs_lacks_whole = 0;
	if (p < 0 || c->rc != 0 || c->ci != NULL || c->in->evex_rc ||
	    c->in->evex_sae || c->in->mnem == X86_M_EVEX_UNKNOWN)
		return 0;
	for (unsigned int v = 1; v < 24; v++) {
		uint8_t nb[16];
		struct x86_instr in;
		const cs_insn *ci2;
		bool mod_changed = false;

		memcpy(nb, c->b, c->len);
		if (flip_w)
			nb[p + 1] ^= 0x80;
		if (v & 1)
			nb[p + 2] &= 0x78; /* z = 0, aaa = 0 */
		if (lls[(v >> 1) % 3] != 0xff)
			nb[p + 2] =
			    (uint8_t)((nb[p + 2] & 0x9f) | lls[(v >> 1) % 3]);
		if ((v / 6) & 1) {
			/* register form -> [rax] / [bx]: no SIB, no disp */
			uint8_t *m = &nb[p + 4];

			if (c->in->mod != 3)
				continue;
			*m = (uint8_t)((*m & 0x38) |
				       (c->mode == X86_MODE_16 ? 7 : 0));
			mod_changed = true;
		}
		if (v / 12) {
			/* EVEX.X cleared where it is ignored (no SIB) */
			if (c->in->mod == 3 || c->in->has_sib || (nb[p] & 0x40))
				continue;
			nb[p] |= 0x40;
		}
		ci2 = cs_other(c->mode, nb, c->len);
		if (ci2 == NULL)
			continue;
		any_valid = true;
		if (x86_decode(&in, (enum x86_mode)c->mode, nb, c->len) != 0 ||
		    !evex_same_name(&in, ci2->mnemonic) ||
		    ci2->size != in.length || in.length != c->in->length)
			continue;
		if (mod_changed || evex_cs_agrees(c, &in, ci2, nb))
			return 1;
	}
	cs_lacks_whole = !any_valid;
	return 0;
}

static int
evex_cs_variants(const struct ctx *c)
{
	return evex_cs_variants_w(c, false);
}

int
exc_evex_cs_lacks(const struct ctx *c)
{
	return evex_cs_variants(c);
}

/* Outside 64-bit mode capstone 4 ignores EVEX.W (the W0 form: VINSERTI32X8
 * for VINSERTI64X4), as the SDM has it only for VEX.W of VMOVD/VPEXTRD and
 * similar; with W inverted capstone and rhyve agree. */
int
exc_evex_w32(const struct ctx *c)
{
	int p = evex_at(c);
	int r;

	if (p < 0 || c->mode == X86_MODE_64 || !(c->b[p + 1] & 0x80) ||
	    c->rc != 0 || c->ci != NULL)
		return 0;
	r = evex_cs_variants_w(c, true);
	cs_lacks_whole = 0;
	return r;
}

/* Capstone 4 has no EVEX form of the instruction at all (no variant of
 * masking, L'L, ModRM.mod decodes): nothing to compare against. */
int
exc_evex_cs_unknown(const struct ctx *c)
{
	evex_cs_variants(c);
	return cs_lacks_whole;
}

/* EVEX.z with EVEX.aaa = 000 (zeroing without a mask): #UD; capstone 4
 * accepts it ({k0} {z}).  With z cleared the rest agrees. */
int
exc_evex_z0(const struct ctx *c)
{
	int p = evex_at(c);

	return p >= 0 && c->rc == X86_DEC_UD && c->ci &&
	       (c->b[p + 2] & 0x87) == 0x80 &&
	       (evex_fixed_agrees(c, 2, 0x7f, 0) ||
		evex_fixed_agrees(c, 2, 0x1f, 0x40));
}

/* Outside 64-bit mode EVEX.R' is ignored; capstone 4 honours it (zmm16-31
 * in 32-bit code).  With R' = 1 (no extension) capstone agrees. */
int
exc_evex_rr32(const struct ctx *c)
{
	int p = evex_at(c);
	uint8_t nb[16];

	if (p < 0 || c->mode == X86_MODE_64 || (c->b[p] & 0x10))
		return 0;
	memcpy(nb, c->b, c->len);
	nb[p] |= 0x10;
	return cs_agrees(c, c->in, c->rc, cs_other(c->mode, nb, c->len), 0) ||
	       (c->rc == 0 && exc_evex_cs_lacks(c));
}

/* 67 before EVEX in 64-bit mode: 32-bit addressing (only 66, F2, F3, REX
 * and LOCK are #UD before EVEX); capstone 4 ignores the 67 and names the
 * 64-bit registers.  With those names the rest agrees. */
int
exc_evex_67(const struct ctx *c)
{
	struct x86_instr x;

	if (evex_at(c) < 0 || c->rc != 0 || c->ci == NULL ||
	    c->mode != X86_MODE_64 || !(c->in->prefixes & X86_PFX_ADSZ))
		return 0;
	x = *c->in;
	for (unsigned int i = 0; i < x.nops; i++) {
		struct x86_operand *o = &x.ops[i];

		if (o->type != X86_OPND_MEM)
			continue;
		if (o->base && x86_reg_class(o->base) == X86_RC_GPR32)
			o->base = (uint8_t)(X86_R_RAX + (o->base - X86_R_EAX));
		if (o->base == X86_R_EIP)
			o->base = X86_R_RIP;
		if (o->index && x86_reg_class(o->index) == X86_RC_GPR32)
			o->index =
			    (uint8_t)(X86_R_RAX + (o->index - X86_R_EAX));
	}
	return cs_agrees(c, &x, 0, c->ci, 0) ||
	       evex_cs_agrees(c, &x, c->ci, c->b);
}

/* EVEX.L'L = 11b is reserved (#UD); capstone 4 takes it as 512 bits. */
int
exc_evex_ll3(const struct ctx *c)
{
	int p = evex_at(c);

	return p >= 0 && c->rc == X86_DEC_UD && c->ci &&
	       ((c->b[p + 2] >> 5) & 3) == 3 &&
	       evex_fixed_agrees(c, 2, 0x9f, 0x40);
}

/* Outside 64-bit mode EVEX.V' must be 1 (#UD); capstone 4 ignores it. */
int
exc_evex_vv32(const struct ctx *c)
{
	int p = evex_at(c);

	return p >= 0 && c->mode != X86_MODE_64 && c->rc == X86_DEC_UD &&
	       c->ci && !(c->b[p + 2] & 0x08) &&
	       evex_fixed_agrees(c, 2, 0xff, 0x08);
}

/* EVEX.W on a W0- or W1-only form: #UD; capstone 4 ignores W for some
 * (vaddps with W1).  The same instruction by name with W flipped. */
int
exc_evex_w(const struct ctx *c)
{
	if (evex_at(c) < 0 || c->ci == NULL ||
	    (c->rc != X86_DEC_UD &&
	     !(c->rc == 0 && c->in->mnem == X86_M_EVEX_UNKNOWN)))
		return 0;
	efa_need_w = true;
	int r = evex_fixed_agrees(c, 1, 0xff, 0);
	efa_need_w = false;
	return r;
}

/* Capstone 4 decodes the EVEX.W1 forms of some W-ignored (WIG) AVX512BW
 * instructions at 128 bits whatever EVEX.L'L: rhyve's decode with L'L =
 * 00b is capstone's. */
int
exc_evex_wig_vl(const struct ctx *c)
{
	int p = evex_at(c);

	return p >= 0 && c->rc == 0 && c->ci && (c->b[p + 1] & 0x80) &&
	       c->in->vex_l != 0 && !c->in->evex_rc && !c->in->evex_sae &&
	       evex_fixed_agrees(c, 2, 0x9f, 0x00);
}

/* EVEX.b with a register operand is static rounding (RC in EVEX.L'L) or
 * SAE; capstone 4 reads the rounding control from an extra byte after
 * the ModRM (one byte too long) or calls the encoding invalid. */
int
exc_evex_rc(const struct ctx *c)
{
	char why[160];

	int p = evex_at(c);

	/* capstone 4 also makes some EVEX.W1 scalar forms (vaddss with W1,
	 * EVEX.b clear) rounding forms with the extra byte, and does the
	 * same for rounding forms of opcodes rhyve's tables do not describe
	 * (decoded to their length) */
	if (p >= 0 && c->ci && strstr(c->ci->op_str, "sae}")) {
		unsigned int len = c->in->length;

		if (c->rc == X86_DEC_UD) {
			/* the length once the opcode-independent #UD bits
			 * are made valid */
			uint8_t nb[16];
			struct x86_instr in;

			memcpy(nb, c->b, c->len);
			if (c->mode != X86_MODE_64)
				nb[p + 2] |= 0x08;
			if ((nb[p + 2] & 0x87) == 0x80)
				nb[p + 2] &= 0x7f;
			nb[p + 1] ^= 0x80;
			if (x86_decode(&in, (enum x86_mode)c->mode, nb,
				       c->len) != 0)
				return 0;
			len = in.length;
		} else if (c->rc != 0 || c->in->mnem != X86_M_EVEX_UNKNOWN) {
			len = 0;
		}
		if (len && c->ci->size == len + 1)
			return 1;
	}
	if (p < 0 || c->rc != 0 || !(c->in->evex_rc || c->in->evex_sae))
		return 0;
	if (c->ci == NULL)
		return 1;
	(void)why;
	return c->ci->size == c->in->length + 1 &&
	       evex_cs_agrees(c, c->in, c->ci, c->b);
}

/* EVEX.X (P0[6] = 0) with a memory operand without SIB is ignored, as
 * REX.X is; capstone 4 calls it invalid.  Capstone with X = 1 agrees. */
int
exc_evex_x(const struct ctx *c)
{
	int p = evex_at(c);
	uint8_t nb[16];

	if (p < 0 || c->rc != 0 || c->ci != NULL || c->in->mod == 3 ||
	    c->in->has_sib || (c->b[p] & 0x40) || c->mode != X86_MODE_64)
		return 0;
	memcpy(nb, c->b, c->len);
	nb[p] |= 0x40;
	return cs_agrees(c, c->in, 0, cs_other(c->mode, nb, c->len), 0);
}

/* Which of evex_cs_fixups()' corrections (FIX_*) make rhyve's decode
 * capstone's; 0 if none or they do not agree even then. */
enum { FIX_VIDX = 1, FIX_DISPN = 2, FIX_GPR = 4 };

static unsigned int
evex_fixups_agree(const struct ctx *c)
{
	struct x86_instr x;
	bool vidx = false, dispn = false, gpr = false;

	if (evex_at(c) < 0 || c->rc != 0 || c->ci == NULL)
		return 0;
	x = *c->in;
	evex_cs_fixups(c, &x, c->ci, c->b, &vidx, &dispn, &gpr);
	if (!(vidx || dispn || gpr) || !cs_agrees(c, &x, 0, c->ci, 0))
		return 0;
	return (vidx ? FIX_VIDX : 0) | (dispn ? FIX_DISPN : 0) |
	       (gpr ? FIX_GPR : 0);
}

/* EVEX.V' extends vvvv and a VSIB index only; capstone 4 makes a SIB
 * index of a non-VSIB instruction a vector register when V' is set. */
int
exc_evex_vindex(const struct ctx *c)
{
	unsigned int f = evex_fixups_agree(c);

	return (f & FIX_VIDX) && !(f & FIX_GPR);
}

/* Capstone 4's disp8*N is wrong for VPSLLV/VPSRLV/VPSRAV (N = 16 where
 * the tuple type FV gives the vector length) and the FMA forms with a
 * 64-bit broadcast (N = 4 where the element is 8). */
int
exc_evex_disp8(const struct ctx *c)
{
	unsigned int f = evex_fixups_agree(c);

	return (f & FIX_DISPN) && !(f & FIX_GPR);
}

/* VPBROADCASTB/W/D/Q from a GPR (EVEX 0F38 7A-7C): capstone 4 names the
 * GPR mmN when EVEX.X is set, and a 64-bit register for the W0 form. */
int
exc_evex_bcgpr(const struct ctx *c)
{
	return (evex_fixups_agree(c) & FIX_GPR) != 0;
}
