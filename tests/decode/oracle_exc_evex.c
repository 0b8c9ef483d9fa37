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
 * (N 16 for FV), the FMA and AVX512ER (VRCP28, VRSQRT28, VEXP2) forms
 * with a 64-bit broadcast (N 4 for 8), VCMPSS/VCMPSD (N 16 for T1S 4/8),
 * VGATHERPF0QPS and the other QPS prefetches (T1S: N 8 for 4). */
static int
cs_bad_n(const struct x86_instr *in)
{
	const char *n = x86_mnem_name(in->mnem);

	size_t l = strlen(n);

	/* the AVX512PF QPS prefetches: N 8 for 4 */
	if (strstr(n, "pf") && l > 3 && strcmp(n + l - 3, "qps") == 0)
		return 1;
	return strcmp(n, "vcmpss") == 0 || strcmp(n, "vcmpsd") == 0 ||
	       strncmp(n, "vpsllv", 6) == 0 || strncmp(n, "vpsrlv", 6) == 0 ||
	       strncmp(n, "vpsrav", 6) == 0 ||
	       ((strncmp(n, "vfm", 3) == 0 || strncmp(n, "vfnm", 4) == 0 ||
		 strncmp(n, "vrcp28", 6) == 0 ||
		 strncmp(n, "vrsqrt28", 8) == 0 ||
		 strncmp(n, "vexp2", 5) == 0) &&
		in->evex_b);
}

/* What evex_cs_fixups() changed. */
enum {
	FIX_VIDX = 1,  /* a register number (R', X, B, V' outside 64-bit) */
	FIX_DISPN = 2, /* the disp8*N of a cs_bad_n() form */
	FIX_GPR = 4,   /* a GPR operand's name */
	FIX_VSIB = 8,  /* a VSIB index named as a GPR */
};

/*
 * rhyve's x with capstone 4's EVEX operand bugs applied, so that the rest
 * can be compared: register numbers outside 64-bit mode and a SIB index
 * made a vector register when EVEX.V' is set (exc_evex_rr32,
 * exc_evex_vindex), the wrong disp8*N of cs_bad_n() forms
 * (exc_evex_disp8), GPR operands named mmN/xmmN or as 64-bit registers
 * (exc_evex_gpr), VSIB indexes named as GPRs or VSIB index 4 left out
 * (exc_evex_vsib_gpr).
 * Returns the FIX_* bits of what it changed.
 */
static unsigned int
evex_cs_fixups(const struct ctx *c, struct x86_instr *x, const cs_insn *ci,
	       const uint8_t *bytes)
{
	const cs_x86 *cx = &ci->detail->x86;
	int p = evex_at(c);
	unsigned int fix = 0;

	if (p < 0)
		return 0;
	/* Pair the register operands in order (capstone's {k} and the
	 * immediates left out).  Outside 64-bit mode capstone 4 honours
	 * EVEX.R', X and B for vector registers (ignored there:
	 * exc_evex_rr32): take capstone's where it is ours + 8, 16 or 24.
	 * A GPR operand (VPBROADCASTB/W/D/Q, VCVTSI2SD...): capstone 4
	 * names it mmN or xmmN with EVEX.X set, and as a 64-bit register in
	 * the W0 form (exc_evex_gpr). */
	{
		unsigned int j = 0;

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

			if (g >= 0) {
				const char *m = cn[0] == 'x' ? cn + 1 : cn;

				if (m[0] == 'm' && m[1] == 'm' &&
				    atoi(m + 2) == (g & 7)) {
					o->reg = (uint8_t)((cn[0] == 'x'
								? X86_R_XMM0
								: X86_R_MM0) +
							   (g & 7));
					fix |= FIX_GPR;
				} else if (strcmp(cn, x86_reg_name(
							  X86_R_RAX +
							  (unsigned)g)) == 0) {
					o->reg = (uint8_t)(X86_R_RAX + g);
					fix |= FIX_GPR;
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
					fix |= FIX_VIDX;
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
				fix |= FIX_VIDX;
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
				fix |= FIX_VIDX;
			}
			if (x->disp_size == 1 && cs_bad_n(x) &&
			    co->mem.disp != o->disp && co->mem.disp != 0 &&
			    o->disp != 0 &&
			    (co->mem.disp < 0) == (o->disp < 0) &&
			    (o->disp % co->mem.disp == 0 ||
			     co->mem.disp % o->disp == 0)) {
				o->disp = co->mem.disp;
				fix |= FIX_DISPN;
			}
			/* a VSIB index (its low 4 bits) named as a GPR */
			unsigned int vc =
			    o->index ? x86_reg_class(o->index) : 0;

			if (vc >= X86_RC_XMM && vc <= X86_RC_ZMM) {
				unsigned int gi =
				    (x->addrsize == 8 ? X86_R_RAX : X86_R_EAX) +
				    ((o->index - X86_R_XMM0) % 32 & 15);

				if (strcmp(n, x86_reg_name(gi)) == 0) {
					o->index = (uint8_t)gi;
					fix |= FIX_VSIB;
				} else if (n[0] == '\0' &&
					   (o->index - X86_R_XMM0) % 32 == 4) {
					/* SIB.index 100b: register 4 in VSIB,
					 * no index to capstone 4 */
					o->index = 0;
					fix |= FIX_VSIB;
				}
			}
		}
	}
	return fix;
}

/* cs_agrees() allowing for capstone 4's EVEX operand bugs. */
static int
evex_cs_agrees(const struct ctx *c, const struct x86_instr *in,
	       const cs_insn *ci2, const uint8_t *bytes)
{
	struct x86_instr x = *in;

	if (cs_agrees(c, in, 0, ci2, 0))
		return 1;
	if (evex_cs_fixups(c, &x, ci2, bytes) && cs_agrees(c, &x, 0, ci2, 0))
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
	    c->in->evex_sae)
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
	if (evex_at(c) < 0 || c->ci == NULL || c->rc != X86_DEC_UD)
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
	 * EVEX.b clear) rounding forms with the extra byte */
	if (p >= 0 && c->ci && c->rc == X86_DEC_UD &&
	    strstr(c->ci->op_str, "sae}")) {
		/* the length once the opcode-independent #UD bits are made
		 * valid */
		uint8_t nb[16];
		struct x86_instr in;

		memcpy(nb, c->b, c->len);
		if (c->mode != X86_MODE_64)
			nb[p + 2] |= 0x08;
		if ((nb[p + 2] & 0x87) == 0x80)
			nb[p + 2] &= 0x7f;
		nb[p + 1] ^= 0x80;
		if (x86_decode(&in, (enum x86_mode)c->mode, nb, c->len) == 0 &&
		    c->ci->size == in.length + 1)
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
static unsigned int
evex_fixups_agree(const struct ctx *c)
{
	struct x86_instr x;
	unsigned int fix;

	if (evex_at(c) < 0 || c->rc != 0 || c->ci == NULL)
		return 0;
	x = *c->in;
	fix = evex_cs_fixups(c, &x, c->ci, c->b);
	return fix && cs_agrees(c, &x, 0, c->ci, 0) ? fix : 0;
}

/* EVEX.V' extends vvvv and a VSIB index only; capstone 4 makes a SIB
 * index of a non-VSIB instruction a vector register when V' is set. */
int
exc_evex_vindex(const struct ctx *c)
{
	unsigned int f = evex_fixups_agree(c);

	return (f & FIX_VIDX) && !(f & (FIX_GPR | FIX_VSIB));
}

/* Capstone 4's disp8*N is wrong for VPSLLV/VPSRLV/VPSRAV (N = 16 where
 * the tuple type FV gives the vector length) and the FMA forms with a
 * 64-bit broadcast (N = 4 where the element is 8). */
int
exc_evex_disp8(const struct ctx *c)
{
	unsigned int f = evex_fixups_agree(c);

	return (f & FIX_DISPN) && !(f & (FIX_GPR | FIX_VSIB));
}

/* A GPR operand of an EVEX form (VPBROADCASTB/W/D/Q from a GPR,
 * VCVTSI2SD, VCVTUSI2SS...): capstone 4 names the GPR mmN or xmmN when
 * EVEX.X is set, and a 64-bit register for the W0 form. */
int
exc_evex_gpr(const struct ctx *c)
{
	return (evex_fixups_agree(c) & FIX_GPR) != 0;
}

/* EVEX gathers and scatters (and the AVX512PF prefetches): #UD without a
 * SIB byte (no VSIB index), with 16-bit addressing, or (gathers) with the
 * destination as the index register; capstone 4 decodes them. */
int
exc_evex_gather(const struct ctx *c)
{
	const char *n = c->ci ? c->ci->mnemonic : "";
	const cs_x86 *x;

	if (evex_at(c) < 0 || c->rc != X86_DEC_UD || c->ci == NULL ||
	    (strncmp(n, "vgather", 7) != 0 && strncmp(n, "vpgather", 8) != 0 &&
	     strncmp(n, "vscatter", 8) != 0 && strncmp(n, "vpscatter", 9) != 0))
		return 0;
	if (!c->in->has_sib || c->in->addrsize == 2)
		return 1;
	x = &c->ci->detail->x86;
	/* capstone: destination, {k}, memory */
	return x->op_count == 3 && x->operands[0].type == X86_OP_REG &&
	       x->operands[2].type == X86_OP_MEM &&
	       strcmp(csreg(c->mode, x->operands[0].reg) + 3,
		      csreg(c->mode, x->operands[2].mem.index) + 3) == 0;
}

/* Scatters and the AVX512PF prefetches (VPSCATTERDD, VGATHERPF0DPS...):
 * capstone 4 names a general register as the VSIB index (the vector
 * register's number, low 4 bits), and leaves out index register 4
 * (SIB.index 100b); with that index they agree. */
int
exc_evex_vsib_gpr(const struct ctx *c)
{
	return (evex_fixups_agree(c) & FIX_VSIB) != 0;
}

/* EVEX.128.66.0F.W1 12 /m is VMOVLPD (load); capstone 4 calls it invalid
 * and decodes the other 66.0F.W1 12 encodings (#UD: VMOVLPD is 128-bit
 * and memory only) as VMOVDDUP, which is F2.0F 12. */
int
exc_evex_movlpd(const struct ctx *c)
{
	int p = evex_at(c);

	/* (from the bytes: a #UD may come before the opcode is read) */
	if (p < 0 || p + 3 >= (int)c->len || (c->b[p] & 3) != 1 ||
	    c->b[p + 3] != 0x12 || (c->b[p + 1] & 0x83) != 0x81)
		return 0;
	if (c->rc == 0)
		return c->ci == NULL && c->in->mnem == X86_M_VMOVLPD;
	return c->rc == X86_DEC_UD && c->ci &&
	       strcmp(c->ci->mnemonic, "vmovddup") == 0;
}

/* EVEX.vvvv other than 1111b where the form has no vvvv operand (the
 * VSIB forms among them): #UD; capstone 4 ignores it for some forms.
 * With vvvv = 1111b the rest agrees. */
int
exc_evex_vvvv(const struct ctx *c)
{
	int p = evex_at(c);

	return p >= 0 && c->rc == X86_DEC_UD && c->ci &&
	       (c->b[p + 1] & 0x78) != 0x78 &&
	       evex_fixed_agrees(c, 1, 0x87, 0x78);
}
