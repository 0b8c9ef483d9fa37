/*
 * decode_oracle: exceptions[], the disagreements where capstone 4 is wrong
 * per the Intel SDM (each with its SDM section), and the matchers of the
 * legacy and VEX ones (the EVEX ones: oracle_exc_evex.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

#include "decode_oracle.h"

static uint8_t
opc(const struct ctx *c, unsigned int k)
{
	return c->op_at + k < c->len ? c->b[c->op_at + k] : 0;
}

/* UD0 (0F FF /r) has a ModRM byte; capstone 4 gives it length 2. */
static int
exc_ud0(const struct ctx *c)
{
	return c->rc == 0 && c->in->map == X86_MAP_0F && c->in->opcode == 0xff;
}

/* 0F 0D /r PREFETCHW (and the AMD PREFETCH /0): capstone 4 says invalid */
static int
exc_prefetchw(const struct ctx *c)
{
	return c->rc == 0 && c->ci == NULL && c->in->map == X86_MAP_0F &&
	       c->in->opcode == 0x0d;
}

/* 66 + near branch in 64-bit mode: Intel ignores 66 (rel32). */
static int
exc_branch66(const struct ctx *c)
{
	const struct x86_instr *in = c->in;

	if (c->mode != X86_MODE_64 || c->rc != 0 ||
	    !(in->prefixes & X86_PFX_OPSZ))
		return 0;
	if (in->map == X86_MAP_1BYTE &&
	    (in->opcode == 0xe8 || in->opcode == 0xe9 ||
	     (in->opcode >= 0x70 && in->opcode <= 0x7f) ||
	     (in->opcode >= 0xe0 && in->opcode <= 0xe3) || in->opcode == 0xeb ||
	     in->opcode == 0xc2 || in->opcode == 0xc3 || in->opcode == 0xff))
		return 1;
	if (in->map == X86_MAP_0F && in->opcode >= 0x80 && in->opcode <= 0x8f)
		return 1;
	return 0;
}

/* Mask-register instructions of AVX512BW/DQ that capstone 4 lacks: the
 * W1 (q/d) forms, KADD, KTEST, KUNPCKWD/DQ and KMOVD (F2 0F 92/93 W0). */
static int
exc_kmask(const struct ctx *c)
{
	const char *n = x86_mnem_name(c->in->mnem);

	if (c->rc != 0 || c->ci != NULL || !(c->in->prefixes & X86_PFX_VEX) ||
	    n[0] != 'k')
		return 0;
	size_t l = strlen(n);

	return c->in->vex_w || n[l - 1] == 'd' || n[l - 1] == 'q' ||
	       strncmp(n, "kadd", 4) == 0 || strncmp(n, "ktest", 5) == 0 ||
	       strcmp(n, "kunpckwd") == 0 || strcmp(n, "kmovd") == 0;
}

/* Decode b with the bytes for which drop() is true left out of the prefix
 * area, or with one byte changed; true if that decodes to capstone's
 * length minus what was removed. */
static int
redecode_ok(const struct ctx *c, const uint8_t *nb, size_t nlen,
	    unsigned int removed)
{
	struct x86_instr in;

	return c->ci &&
	       x86_decode(&in, (enum x86_mode)c->mode, nb, nlen) == 0 &&
	       in.length + removed == c->ci->size;
}

static unsigned int
raw_prefix_len(const struct ctx *c)
{
	unsigned int k = 0;

	while (k < c->len && k < 14) {
		uint8_t b = c->b[k];
		if (b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x66 ||
		    b == 0x67 || b == 0x26 || b == 0x2e || b == 0x36 ||
		    b == 0x3e || b == 0x64 || b == 0x65 ||
		    (c->mode == X86_MODE_64 && (b & 0xf0) == 0x40))
			k++;
		else
			break;
	}
	return k;
}

/* LOCK on an instruction that is not lockable or has a register
 * destination: #UD.  Capstone 4 accepts it. */
static int
exc_lock(const struct ctx *c)
{
	uint8_t nb[16];
	unsigned int n = 0, k = raw_prefix_len(c), removed = 0;

	if (c->rc != X86_DEC_UD || c->ci == NULL)
		return 0;
	for (unsigned int i = 0; i < c->len; i++) {
		if (i < k && c->b[i] == 0xf0) {
			removed++;
			continue;
		}
		nb[n++] = c->b[i];
	}
	return removed && redecode_ok(c, nb, n, removed);
}

/* 66/F2/F3/REX/LOCK before VEX (C4/C5) or EVEX (62): #UD. */
static int
exc_pfx_vex(const struct ctx *c)
{
	unsigned int k = raw_prefix_len(c);
	uint8_t lead = k < c->len ? c->b[k] : 0;

	if (c->rc != X86_DEC_UD || c->ci == NULL || k == 0 ||
	    (lead != 0xc4 && lead != 0xc5 && lead != 0x62))
		return 0;
	if (c->mode != X86_MODE_64 &&
	    (k + 1 >= c->len || (c->b[k + 1] & 0xc0) != 0xc0))
		return 0;
	for (unsigned int i = 0; i < k; i++) {
		uint8_t b = c->b[i];
		if (b == 0x66 || b == 0xf2 || b == 0xf3 || b == 0xf0 ||
		    (b & 0xf0) == 0x40)
			return 1;
	}
	return 0;
}

/* VEX.W1 where the instruction is VEX.W0 only: #UD per its opcode line. */
static int
exc_vex_w(const struct ctx *c)
{
	uint8_t nb[16];
	unsigned int k = c->op_at;

	if (c->rc != X86_DEC_UD || c->ci == NULL || k + 2 >= c->len ||
	    c->b[k] != 0xc4 || !(c->b[k + 2] & 0x80))
		return 0;
	memcpy(nb, c->b, c->len);
	nb[k + 2] &= 0x7f;
	return redecode_ok(c, nb, c->len, 0);
}

/* UD1 0F B9 /r has ModRM; capstone 4 decodes "ud2b" of 2 bytes. */
static int
exc_ud1(const struct ctx *c)
{
	return (c->rc == 0 || c->rc == X86_DEC_UD) && c->ci &&
	       c->in->map == X86_MAP_0F && c->in->opcode == 0xb9 &&
	       strncmp(c->ci->mnemonic, "ud2b", 4) == 0;
}

/* 8F with ModRM.reg != 0 is AMD XOP; on Intel, group 1A has only POP. */
static int
exc_xop(const struct ctx *c)
{
	unsigned int k = raw_prefix_len(c);

	return c->rc == X86_DEC_UD &&
	       ((c->in->prefixes & X86_PFX_XOP) ||
		(k + 1 < c->len && c->b[k] == 0x8f && (c->b[k + 1] & 0x38)));
}

/* MOV CS, r/m (8E /1): #UD. */
static int
exc_movcs(const struct ctx *c)
{
	return c->rc == X86_DEC_UD && c->ci && c->in->map == X86_MAP_1BYTE &&
	       opc(c, 0) == 0x8e && ((opc(c, 1) >> 3) & 7) == 1;
}

/* Capstone 4 lacks VBROADCASTI128, RDPKRU/WRPKRU, 0F 1E hint NOPs. */
static int
exc_cs_lacks(const struct ctx *c)
{
	unsigned int m = c->in->mnem;

	if (c->rc == 0 && m == X86_M_RDPID && c->ci &&
	    strcmp(c->ci->mnemonic, "rdseed") == 0)
		return 1; /* F3 0F C7 /7: capstone 4 ignores the F3 */
	if (c->rc == 0 &&
	    (m == X86_M_TPAUSE || m == X86_M_UMWAIT || m == X86_M_UMONITOR) &&
	    c->ci && strstr(c->ci->mnemonic, "fence") != NULL)
		return 1; /* 66/F2/F3 0F AE /6: capstone 4 ignores the prefix */
	if (c->rc != 0 || c->ci != NULL)
		return 0;
	return m == X86_M_VBROADCASTI128 || m == X86_M_RDPKRU ||
	       m == X86_M_WRPKRU || m == X86_M_WRSS || m == X86_M_WRUSS ||
	       m == X86_M_MOVDIRI || m == X86_M_MOVDIR64B ||
	       m == X86_M_UMONITOR || m == X86_M_UMWAIT || m == X86_M_TPAUSE ||
	       m == X86_M_CLZERO || m == X86_M_RDPID || m == X86_M_RDSSP ||
	       m == X86_M_MONITORX || m == X86_M_MWAITX ||
	       (m == X86_M_NOP && c->in->map == X86_MAP_0F &&
		c->in->opcode >= 0x18 && c->in->opcode <= 0x1f);
}

/* MOV to/from CR1, CR5-CR7, CR9-CR15: #UD (capstone 4 decodes them). */
static int
exc_movcr(const struct ctx *c)
{
	return c->rc == X86_DEC_UD && c->ci && c->in->map == X86_MAP_0F &&
	       (c->in->opcode & 0xfc) == 0x20;
}

/* AMD FMA4 (VEX 0F3A 5C-7F, 4 operands): #UD on Intel. */
static int
exc_fma4(const struct ctx *c)
{
	return c->rc == X86_DEC_UD && c->ci && c->in->map == X86_MAP_0F3A &&
	       (c->in->prefixes & X86_PFX_VEX) &&
	       ((c->in->opcode >= 0x5c && c->in->opcode <= 0x7f) ||
		c->in->opcode == 0x48 || c->in->opcode == 0x49);
}

/* MOVSXD without REX.W: 32-bit destination; capstone 4 says r64. */
static int
exc_movsxd(const struct ctx *c)
{
	return c->rc == 0 && c->mode == X86_MODE_64 &&
	       c->in->mnem == X86_M_MOVSXD && c->in->opsize != 8;
}

/* Capstone 4 rejects several SSE2/SSE3/SSE4 instructions in 16-bit
 * mode; the SDM lists them valid in real-address mode (their "Real-Address
 * Mode Exceptions" name only CR0/CR4 conditions). */
static int
exc_sse16(const struct ctx *c)
{
	if (c->mode != X86_MODE_16 || c->rc != 0 || c->ci != NULL ||
	    (c->in->prefixes & (X86_PFX_VEX | X86_PFX_EVEX)) ||
	    c->in->map == X86_MAP_1BYTE || c->in->map == X86_MAP_X87)
		return 0;
	for (unsigned int i = 0; i < c->in->nops; i++)
		if (c->in->ops[i].type == X86_OPND_REG &&
		    x86_reg_class(c->in->ops[i].reg) == X86_RC_XMM)
			return 1;
	return 0;
}

static int
permute_try(const struct ctx *c, uint8_t *l, unsigned int n, unsigned int k,
	    const uint8_t *tail, size_t tlen, unsigned int removed)
{
	uint8_t nb[32];

	if (k == n) {
		memcpy(nb, l, n);
		memcpy(nb + n, tail, tlen);
		const cs_insn *o = cs_other(c->mode, nb, n + tlen);
		struct ctx c2 = *c;

		c2.ci = NULL;
		if (o == NULL && c->rc == 0 && exc_cs_lacks(&c2))
			return 1;
		return cs_agrees(c, c->in, c->rc, o, removed);
	}
	for (unsigned int i = k; i < n; i++) {
		uint8_t t = l[k];
		int ok;

		l[k] = l[i];
		l[i] = t;
		ok = permute_try(c, l, n, k + 1, tail, tlen, removed);
		l[i] = l[k];
		l[k] = t;
		if (ok)
			return 1;
	}
	return 0;
}

/* Capstone's answer depends on the order of the legacy prefixes (it reads
 * 66 followed by F2/F3 or by a segment prefix differently from the other
 * order, rejects SSE forms with a prefix between the mandatory prefix and
 * 0F...).  If the same prefixes in some order (one of each group, the last
 * segment and the last F2/F3 kept, REX last, a REX not last dropped as the
 * CPU ignores it) make capstone agree with rhyve, capstone is wrong. */
static int
exc_pfx_order(const struct ctx *c)
{
	unsigned int k = raw_prefix_len(c), n = 0;
	uint8_t l[8], rex = 0, seg = 0, rep = 0;
	bool lock = false, o66 = false, a67 = false;

	if (k == 0 || k >= c->len)
		return 0;
	for (unsigned int i = 0; i < k; i++) {
		uint8_t b = c->b[i];

		if (c->mode == X86_MODE_64 && (b & 0xf0) == 0x40) {
			rex = i == k - 1 ? b : 0;
			continue;
		}
		if (b == 0xf0)
			lock = true;
		else if (b == 0xf2 || b == 0xf3)
			rep = b;
		else if (b == 0x66)
			o66 = true;
		else if (b == 0x67)
			a67 = true;
		else
			seg = b;
	}
	/* no memory operand: also without 67 and segment prefixes, which
	 * then do nothing */
	bool mem = false;

	for (unsigned int i = 0; i < c->in->nops; i++)
		mem |= c->in->ops[i].type == X86_OPND_MEM;
	if (lock)
		l[n++] = 0xf0;
	if (rep)
		l[n++] = rep;
	if (o66)
		l[n++] = 0x66;
	/* the REX (if last) and the rest after the reordered prefixes */
	uint8_t tail[16];
	size_t tlen = 0;

	if (rex)
		tail[tlen++] = rex;
	memcpy(tail + tlen, c->b + k, c->len - k);
	tlen += c->len - k;
	/* (permute_try() leaves l as it found it) */
	if (c->rc == 0 && !mem && (seg || a67) &&
	    permute_try(c, l, n, 0, tail, tlen, k - n - (rex ? 1 : 0)))
		return 1;
	if (a67)
		l[n++] = 0x67;
	if (seg)
		l[n++] = seg;
	return permute_try(c, l, n, 0, tail, tlen, k - n - (rex ? 1 : 0));
}

/* 16-bit mode: capstone 4 reads a mandatory 66/F2/F3 as a plain operand
 * size / REP prefix (PADDQ xmm becomes PADDQ mm, CRC32 becomes MOVBE,
 * RDPID becomes RDSEED) or rejects the instruction.  Mandatory prefixes
 * select the instruction in every mode.  Checked: without those prefixes
 * rhyve decodes what capstone says, or capstone's 32-bit mode decodes the
 * same bytes to rhyve's mnemonic. */
static int
exc_cs16_mandatory(const struct ctx *c)
{
	uint8_t nb[16];
	unsigned int k = raw_prefix_len(c), n = 0, removed = 0;
	struct x86_instr in2;
	int rc2;

	if (c->mode != X86_MODE_16 || c->rc != 0 ||
	    c->in->map == X86_MAP_1BYTE || c->in->map == X86_MAP_X87 ||
	    !(c->in->prefixes & (X86_PFX_OPSZ | X86_PFX_REP | X86_PFX_REPNE)))
		return 0;
	if (c->ci == NULL) {
		/* capstone's 32-bit mode, the mandatory prefix right before
		 * the opcode (capstone wants it there), 66 before it */
		uint8_t rep = 0;
		bool o66 = false;

		for (unsigned int i = 0; i < k; i++) {
			uint8_t b = c->b[i];

			if (b == 0xf2 || b == 0xf3)
				rep = b;
			else if (b == 0x66)
				o66 = true;
			else
				nb[n++] = b;
		}
		if (o66)
			nb[n++] = 0x66;
		if (rep)
			nb[n++] = rep;
		memcpy(nb + n, c->b + k, c->len - k);
		n += (unsigned int)(c->len - k);

		const cs_insn *c32 = cs_other(X86_MODE_32, nb, n);
		struct x86_instr i32;

		return c32 && x86_decode(&i32, X86_MODE_32, nb, n) == 0 &&
		       i32.mnem == c->in->mnem && c32->size == i32.length &&
		       strcmp(c32->mnemonic, x86_mnem_name(c->in->mnem)) == 0;
	}
	/* drop F2/F3, or 66, or all three */
	for (unsigned int v = 0; v < 3; v++) {
		struct ctx c2 = *c;
		char why[160];

		n = removed = 0;
		for (unsigned int i = 0; i < c->len; i++) {
			uint8_t b = c->b[i];
			bool rep = b == 0xf2 || b == 0xf3;

			if (i < k &&
			    ((v != 1 && rep) || (v != 0 && b == 0x66))) {
				removed++;
				continue;
			}
			nb[n++] = b;
		}
		rc2 = x86_decode(&in2, X86_MODE_16, nb, n);
		if (removed == 0 || rc2 != 0 ||
		    in2.length + removed != c->ci->size)
			continue;
		c2.in = &in2;
		if (*cmp_operands(&c2, why, sizeof(why)) == '\0')
			return 1;
	}
	return 0;
}

/* /is4: outside 64-bit mode only imm8[6:4] names the register. */
static int
exc_is4(const struct ctx *c)
{
	uint8_t nb[16];
	unsigned int at;

	if (c->mode == X86_MODE_64 || c->rc != 0 || c->ci == NULL ||
	    !(c->in->prefixes & X86_PFX_VEX) || c->in->imm_size[0] != 1)
		return 0;
	at = c->in->length - 1u;
	if (!(c->b[at] & 0x80))
		return 0;
	memcpy(nb, c->b, c->len);
	nb[at] &= 0x7f;
	return cs_agrees(c, c->in, c->rc, cs_other(c->mode, nb, c->len), 0);
}

static int
vnum(const char *n)
{
	/* "xmm12" / "ymm3" -> 12 / 3; -1 otherwise */
	if ((n[0] == 'x' || n[0] == 'y' || n[0] == 'z') && n[1] == 'm' &&
	    n[2] == 'm')
		return atoi(n + 3);
	return -1;
}

/* AVX2 gathers: #UD without a SIB byte (no VSIB index), with 16-bit
 * addressing, or with two of destination, index and mask the same. */
static int
exc_gather(const struct ctx *c)
{
	const cs_x86 *x;
	int d, ix, m;

	if (c->rc != X86_DEC_UD || c->ci == NULL ||
	    !(c->in->prefixes & X86_PFX_VEX) ||
	    (strncmp(c->ci->mnemonic, "vgather", 7) != 0 &&
	     strncmp(c->ci->mnemonic, "vpgather", 8) != 0))
		return 0;
	x = &c->ci->detail->x86;
	if (x->op_count != 3 || x->operands[1].type != X86_OP_MEM)
		return 0;
	d = vnum(csreg(c->mode, x->operands[0].reg));
	m = vnum(csreg(c->mode, x->operands[2].reg));
	ix = vnum(csreg(c->mode, x->operands[1].mem.index));
	return ix < 0 || d == ix || d == m || ix == m || c->in->addrsize == 2;
}

/* VIA PadLock 0F A6/A7 (XSTORE, XCRYPT*, XSHA*, MONTMUL): not Intel. */
static int
exc_padlock(const struct ctx *c)
{
	return c->rc == X86_DEC_UD && c->ci && c->in->map == X86_MAP_0F &&
	       (c->in->opcode == 0xa6 || c->in->opcode == 0xa7) &&
	       !(c->in->prefixes & (X86_PFX_VEX | X86_PFX_EVEX));
}

/* AMD SVM: capstone prints the implicit rAX (and ECX) as operands. */
static int
exc_svm(const struct ctx *c)
{
	const char *m = c->ci ? c->ci->mnemonic : "";

	return c->rc == 0 && c->in->nops == 0 && c->in->map == X86_MAP_0F &&
	       c->in->opcode == 0x01 &&
	       (strcmp(m, "vmrun") == 0 || strcmp(m, "vmload") == 0 ||
		strcmp(m, "vmsave") == 0 || strcmp(m, "invlpga") == 0 ||
		strcmp(m, "skinit") == 0);
}

/* 66 0F 78 with ModRM.reg != 0: not EXTRQ (66 0F 78 /0 ib ib only); the
 * 66 does not select anything else, so it is VMREAD (0F 78). */
static int
exc_extrq(const struct ctx *c)
{
	return c->rc == 0 && c->ci && c->in->mnem == X86_M_VMREAD &&
	       (c->in->prefixes & X86_PFX_OPSZ) &&
	       ((c->in->modrm >> 3) & 7) != 0 &&
	       strcmp(c->ci->mnemonic, "extrq") == 0;
}

/* 64-bit mode, 67 together with REX.W: capstone 4 reads them as a 66
 * without REX.W (the 66 form of SSE instructions, 16-bit IN/OUT, rel16
 * branches, RET imm).  Checked: capstone says the same of the bytes with
 * REX.W cleared and a 66 added; per the SDM neither 67 nor REX.W means
 * that. */
static int
exc_cs_67rexw(const struct ctx *c)
{
	unsigned int k = raw_prefix_len(c);
	uint8_t nb[20];
	const cs_insn *o;
	char mn[32], ops[160];
	uint16_t size;
	bool a67 = false;

	if (c->mode != X86_MODE_64 || c->ci == NULL || k == 0 ||
	    (c->b[k - 1] & 0xf8) != 0x48)
		return 0;
	for (unsigned int i = 0; i < k; i++)
		a67 |= c->b[i] == 0x67;
	if (!a67)
		return 0;
	bool rel = false;

	for (unsigned int i = 0; i < c->in->nops; i++)
		rel |= c->in->ops[i].type == X86_OPND_REL;
	snprintf(mn, sizeof(mn), "%s", c->ci->mnemonic);
	/* branch targets depend on the length: not compared */
	snprintf(ops, sizeof(ops), "%s", rel ? "" : c->ci->op_str);
	size = c->ci->size;
	memcpy(nb, c->b, k - 1);
	nb[k - 1] = 0x66;
	nb[k] = c->b[k - 1] & 0xf7;
	memcpy(nb + k + 1, c->b + k, c->len - k);
	o = cs_other(c->mode, nb, c->len + 1);
	return o && o->size == size + 1 && strcmp(o->mnemonic, mn) == 0 &&
	       (rel || strcmp(o->op_str, ops) == 0);
}

/* 0F 0F with a suffix byte that is no 3DNow! opcode: #UD; capstone 4
 * prints FEMMS. */
static int
exc_3dnow_femms(const struct ctx *c)
{
	return c->rc == X86_DEC_UD && c->ci && c->in->map == X86_MAP_3DNOW &&
	       strcmp(c->ci->mnemonic, "femms") == 0;
}

/* LAR/LSL r64, r32/m16: the source register is 32-bit with REX.W. */
static int
exc_larlsl(const struct ctx *c)
{
	return c->rc == 0 && c->mode == X86_MODE_64 && c->in->mod == 3 &&
	       (c->in->mnem == X86_M_LAR || c->in->mnem == X86_M_LSL) &&
	       c->in->ops[1].type == X86_OPND_REG &&
	       x86_reg_class(c->in->ops[1].reg) == X86_RC_GPR32;
}

/* F3 REX.W 90: PAUSE (90 is NOP/PAUSE whatever REX.W says). */
static int
exc_pause_rexw(const struct ctx *c)
{
	return c->rc == 0 && c->in->mnem == X86_M_PAUSE && c->ci &&
	       strcmp(c->ci->mnemonic, "xchg") == 0;
}

/* SWAPGS outside 64-bit mode: #UD. */
static int
exc_swapgs(const struct ctx *c)
{
	return c->rc == X86_DEC_UD && c->mode != X86_MODE_64 && c->ci &&
	       strcmp(c->ci->mnemonic, "swapgs") == 0;
}

/* 64-bit mode: capstone 4 drops a mandatory F2/F3 followed by REX.W (F3
 * REX.W 0F 7E is MOVQ xmm, xmm/m64, not MOVD r64, mm).  Checked: capstone
 * says the same without the F2/F3. */
static int
exc_cs_rexw_rep(const struct ctx *c)
{
	unsigned int k = raw_prefix_len(c), n = 0, removed = 0;
	uint8_t nb[16];
	char mn[32], ops[160];
	uint16_t size;
	const cs_insn *o;

	if (c->mode != X86_MODE_64 || c->ci == NULL || c->rc != 0 || k == 0 ||
	    (c->b[k - 1] & 0xf8) != 0x48 ||
	    !(c->in->prefixes & (X86_PFX_REP | X86_PFX_REPNE)))
		return 0;
	for (unsigned int i = 0; i < c->len; i++) {
		if (i < k && (c->b[i] == 0xf2 || c->b[i] == 0xf3)) {
			removed++;
			continue;
		}
		nb[n++] = c->b[i];
	}
	snprintf(mn, sizeof(mn), "%s", c->ci->mnemonic);
	snprintf(ops, sizeof(ops), "%s", c->ci->op_str);
	size = c->ci->size;
	o = cs_other(c->mode, nb, n);
	return o && o->size + removed == size && strcmp(o->mnemonic, mn) == 0 &&
	       strcmp(o->op_str, ops) == 0;
}

/* RET imm16 (C2 iw): the immediate is 16 bits whatever the prefixes. */
static int
exc_ret_iw(const struct ctx *c)
{
	return c->rc == 0 && c->in->map == X86_MAP_1BYTE &&
	       c->in->opcode == 0xc2 && c->in->imm_size[0] == 2;
}

/* 64-bit mode IN/OUT with 66 and REX.W: REX.W wins, 32-bit (EAX). */
static int
exc_inout_rexw(const struct ctx *c)
{
	unsigned int m = c->in->mnem;

	return c->rc == 0 && c->mode == X86_MODE_64 && (c->in->rex & 8) &&
	       (c->in->prefixes & X86_PFX_OPSZ) &&
	       (m == X86_M_IN || m == X86_M_OUT);
}

/* VMOVD/VPEXTRD/VPINSRD outside 64-bit mode: VEX.W1 is ignored (the
 * W1 forms with 64-bit operands exist in 64-bit mode only). */
static int
exc_vex_w1_32(const struct ctx *c)
{
	unsigned int m = c->in->mnem;

	return c->rc == 0 && c->mode != X86_MODE_64 && c->ci &&
	       (c->in->prefixes & X86_PFX_VEX) && c->in->vex_w &&
	       (m == X86_M_VMOVD || m == X86_M_VPEXTRD || m == X86_M_VPINSRD);
}

/* F3 0F 38 F0/F1: no instruction (MOVBE has no F3 form): #UD; capstone 4
 * ignores the F3 and decodes MOVBE. */
static int
exc_movbe_f3(const struct ctx *c)
{
	return c->rc == X86_DEC_UD && c->ci &&
	       strcmp(c->ci->mnemonic, "movbe") == 0 &&
	       (c->in->prefixes & X86_PFX_REP);
}

/* ENDBR32/64 with other prefixes too (66, 67, a segment): capstone 4 knows
 * only the exact bytes F3 0F 1E FB/FA. */
static int
exc_endbr(const struct ctx *c)
{
	return c->rc == 0 && c->ci == NULL &&
	       (c->in->mnem == X86_M_ENDBR64 || c->in->mnem == X86_M_ENDBR32);
}

struct exception exceptions[] = {
	{ "F3 0F 38 F0/F1 is #UD (capstone 4: MOVBE, the F3 ignored)",
	  "SDM Vol. 2D A.3 table A-4 (0F38 F0/F1: MOVBE with no prefix or "
	  "66, CRC32 with F2; the F3 cell is empty); Vol. 2B MOVBE (0F 38 "
	  "F0/F1, NFx)",
	  exc_movbe_f3, 0 },
	{ "ENDBR32/64 with 66/67/segment prefixes as well (capstone 4: "
	  "invalid)",
	  "SDM Vol. 2A ENDBR32/ENDBR64 (F3 0F 1E FB/FA; other prefixes are not "
	  "excluded); Vol. 2D A.3 table A-3 (0F 1E: hint NOP space)",
	  exc_endbr, 0 },
	{ "VMOVD/VPEXTRD/VPINSRD with VEX.W1 outside 64-bit mode: W is "
	  "ignored (capstone 4: the 64-bit forms)",
	  "SDM Vol. 2B MOVD/MOVQ (\"VEX.W1 in non-64 bit is ignored, the "
	  "instructions behaves as if the W0 version is used\"); PEXTRD/Q, "
	  "PINSRD/Q opcode lines (W1 forms: N.E. outside 64-bit mode)",
	  exc_vex_w1_32, 0 },
	{ "64-bit mode: capstone 4 drops a mandatory F2/F3 followed by REX.W "
	  "(verified: capstone says the same without it)",
	  "SDM Vol. 2A 2.2.1 (REX after the mandatory prefix), 2.1.2; "
	  "Vol. 2D A.3 table A-3",
	  exc_cs_rexw_rep, 0 },
	{ "RET imm16: the immediate is 16 bits with 67/REX.W (capstone 4: 32)",
	  "SDM Vol. 2B RET (C2 iw)", exc_ret_iw, 0 },
	{ "64-bit mode IN/OUT with 66 and REX.W: 32-bit EAX (capstone 4: AX)",
	  "SDM Vol. 2A 2.2.1.2 (REX.W takes precedence over 66); IN/OUT pages "
	  "(8/16/32-bit operands)",
	  exc_inout_rexw, 0 },
	{ "64-bit mode, 67 + REX.W: capstone 4 reads them as 66 without "
	  "REX.W (verified: same as capstone's decode with 66, REX.W clear)",
	  "SDM Vol. 2A 2.2.1.2 (REX.W: 64-bit operand size, 66 ignored), "
	  "2.1.1 (67: address size only)",
	  exc_cs_67rexw, 0 },
	{ "0F 0F with a suffix that is no 3DNow! opcode: #UD (capstone 4: "
	  "femms)",
	  "AMD APM Vol. 3 appendix A.3 (3DNow! opcodes); SDM Vol. 2D A.3 table "
	  "A-3 (0F 0F: no entry)",
	  exc_3dnow_femms, 0 },
	{ "LAR/LSL r64, r32/m16: a register source is 32-bit (capstone 4: r64)",
	  "SDM Vol. 2A 3.3 LAR (REX.W 0F 02 /r LAR r64, r32/m16), Vol. 2B "
	  "LSL (REX.W 0F 03 /r LSL r64, r32/m16)",
	  exc_larlsl, 0 },
	{ "F3 REX.W 90 is PAUSE (capstone 4: xchg rax, rax)",
	  "SDM Vol. 2B XCHG (90 is NOP whatever the prefixes, REX.W included) "
	  "and PAUSE (F3 90)",
	  exc_pause_rexw, 0 },
	{ "SWAPGS outside 64-bit mode: #UD",
	  "SDM Vol. 2B SWAPGS (#UD: if not in 64-bit mode; 64-bit mode only)",
	  exc_swapgs, 0 },
	{ "capstone 4's answer depends on the order of the legacy prefixes "
	  "(66 before F2/F3 or a segment prefix, a prefix between the "
	  "mandatory prefix and 0F): some order of the same prefixes agrees",
	  "SDM Vol. 2A 2.1.1 (prefixes of groups 1-4 in any order; REX "
	  "immediately before the opcode, 2.2.1: a REX elsewhere is ignored)",
	  exc_pfx_order, 0 },
	{ "16-bit mode: capstone 4 reads a mandatory 66/F2/F3 as operand size "
	  "/ REP (MMX form, MOVBE for CRC32, RDSEED for RDPID, VMREAD for "
	  "INSERTQ) or rejects the instruction",
	  "SDM Vol. 2A 2.1.2 / 3.1.1.1 (66/F2/F3 in the opcode column select "
	  "the instruction in every mode); Vol. 2D A.2.5, tables A-3/A-4/A-5",
	  exc_cs16_mandatory, 0 },
	{ "/is4 outside 64-bit mode: imm8[7] is ignored (capstone 4: xmm8-15)",
	  "SDM Vol. 2A 3.1.1.1 (/is4: register in imm8[7:4] in 64-bit mode, "
	  "imm8[6:4] in 32-bit mode)",
	  exc_is4, 0 },
	{ "AVX2 gathers without a SIB byte, with 16-bit addressing or with two "
	  "of destination/index/mask equal: #UD",
	  "SDM Vol. 2A 2.3.12 (VSIB: SIB required, no 16-bit addressing); "
	  "Vol. 2C VPGATHERDD/VGATHERDPS pages (#UD if any two of the "
	  "registers are the same); table 2-39 type 12 exceptions",
	  exc_gather, 0 },
	{ "VIA PadLock 0F A6/A7 (XSTORE, XCRYPT*, XSHA*, MONTMUL): #UD on "
	  "Intel",
	  "SDM Vol. 2D A.3 table A-3 (0F A6, 0F A7: no entries)", exc_padlock,
	  0 },
	{ "AMD SVM VMRUN/VMLOAD/VMSAVE/INVLPGA/SKINIT: capstone 4 lists the "
	  "implicit rAX/ECX as operands",
	  "AMD APM Vol. 3 (implicit operands; not in the encoding)", exc_svm,
	  0 },
	{ "66 0F 78 /1-/7 is VMREAD (66 not a mandatory prefix of it), not "
	  "EXTRQ (capstone 4)",
	  "SDM Vol. 3C 31.3 VMREAD (0F 78); AMD APM Vol. 4 EXTRQ (66 0F 78 "
	  "/0 ib ib)",
	  exc_extrq, 0 },
	{ "SSE2/SSE3/SSE4 in 16-bit mode (capstone 4: invalid)",
	  "SDM Vol. 2 each instruction's Real-Address Mode Exceptions (valid, "
	  "#UD only for CR0.EM / CR4.OSFXSR)",
	  exc_sse16, 0 },
	{ "LOCK on a non-lockable instruction or register destination: #UD",
	  "SDM Vol. 2A 3.2 LOCK (#UD: not in the lockable list, or the "
	  "destination is not memory)",
	  exc_lock, 0 },
	{ "66/F2/F3/REX/LOCK before VEX/EVEX: #UD",
	  "SDM Vol. 2A 2.3.2 (VEX: #UD if preceded by LOCK/66/F2/F3/REX) and "
	  "2.7.1 (EVEX, same rule)",
	  exc_pfx_vex, 0 },
	{ "VEX.W1 on a VEX.W0-only instruction: #UD",
	  "SDM Vol. 2A 2.3.6.2 / the instruction's opcode line (VEX.W0)",
	  exc_vex_w, 0 },
	{ "UD1 0F B9 has ModRM (capstone 4: ud2b, 2 bytes)",
	  "SDM Vol. 2B 4.3 UD (UD1 0F B9 /r)", exc_ud1, 0 },
	{ "8F /1-/7 (AMD XOP) is #UD on Intel",
	  "SDM Vol. 2D A.4 table A-6 group 1A (8F: only /0 POP)", exc_xop, 0 },
	{ "MOV CS, r/m is #UD", "SDM Vol. 2B 4.3 MOV: loading CS with MOV #UD",
	  exc_movcs, 0 },
	{ "capstone 4 lacks VBROADCASTI128, RDPKRU/WRPKRU, CET (WRSS, WRUSS, "
	  "RDSSP), MOVDIRI/MOVDIR64B, WAITPKG, RDPID, CLZERO, MONITORX/MWAITX, "
	  "reserved-NOP 0F 18-1F forms",
	  "SDM Vol. 2C VPBROADCAST (VEX.256.66.0F38.W0 5A); Vol. 2B RDPKRU, "
	  "WRPKRU, WRSS, WRUSS, RDSSP, MOVDIRI, MOVDIR64B, UMONITOR, UMWAIT, "
	  "TPAUSE, RDPID pages; AMD APM Vol. 3 CLZERO, MONITORX/MWAITX; Vol. "
	  "2D table A-3 (0F 18-1F NOP Ev)",
	  exc_cs_lacks, 0 },
	{ "MOV CR1/CR5-7/CR9-15, MOV DR8-15 (REX.R): #UD",
	  "SDM Vol. 2B 4.3 MOV-Move to/from Control Registers (#UD: CR1, "
	  "CR5-CR7, CR9-CR15); MOV-Move to/from Debug Registers (#UD: REX.R)",
	  exc_movcr, 0 },
	{ "AMD FMA4 (VEX.0F3A 5C-7F) and VPERMIL2PS/PD (VEX.0F3A 48/49) are "
	  "#UD on Intel",
	  "SDM Vol. 2D A.3 table A-5 (0F3A 48, 49, 5C-7F: no entries)",
	  exc_fma4, 0 },
	{ "MOVSXD without REX.W has a 32-bit destination",
	  "SDM Vol. 2B 4.3 MOVSX/MOVSXD (63 /r MOVSXD r32, r/m32)", exc_movsxd,
	  0 },
	{ "AVX512BW/DQ mask instructions (KMOVQ/D, K*Q/D, KADD, KTEST, "
	  "KUNPCKWD/DQ): capstone 4 lacks them",
	  "SDM Vol. 2A 3.3 KADDW-KXORW pages (VEX.L1.0F.W1 41-4B, 90-99); "
	  "Vol. 2D A.3 table A-3",
	  exc_kmask, 0 },
	{ "UD0 0F FF has ModRM (capstone 4: 2 bytes)",
	  "SDM Vol. 2B 4.3 UD (UD0 0F FF /r); Vol. 2D A.3 table A-3", exc_ud0,
	  0 },
	{ "PREFETCHW/PREFETCH 0F 0D /1 /0 (capstone 4: invalid)",
	  "SDM Vol. 2B 4.3 PREFETCHW (0F 0D /1); table A-3 0F 0D",
	  exc_prefetchw, 0 },
	{ "66 on a near branch in 64-bit mode is ignored (capstone 4: rel16)",
	  "SDM Vol. 2A 3.2 CALL/Jcc/JMP/RET: 64-bit mode operand size fixed "
	  "at 64 bits; Vol. 1 3.6 / Vol. 2A 2.2.1.7",
	  exc_branch66, 0 },
	{ "67 before EVEX in 64-bit mode: 32-bit addressing (capstone 4 "
	  "ignores the 67)",
	  "SDM Vol. 2A 2.6 / 2.3.2 (only 66, F2, F3, REX, LOCK before EVEX "
	  "are #UD), 2.1.1 and 3.3.5 (67: address size)",
	  exc_evex_67, 0 },
	{ "EVEX.L'L = 11b: #UD (capstone 4: 512 bits)",
	  "SDM Vol. 2A 2.6.10 table 2-36 (EVEX.L'L 11b: reserved, #UD)",
	  exc_evex_ll3, 0 },
	{ "EVEX.V' = 0 outside 64-bit mode: #UD (capstone 4 ignores it)",
	  "SDM Vol. 2A 2.6.11.2 table 2-38 (EVEX.V' in non-64-bit mode)",
	  exc_evex_vv32, 0 },
	{ "EVEX.z with EVEX.aaa = 000 (zeroing without a mask): #UD (capstone "
	  "4: {k0} {z})",
	  "SDM Vol. 2A 2.6.4 (k0 is no predicate); Intel XED "
	  "BAD_EVEX_Z_NO_MASKING",
	  exc_evex_z0, 0 },
	{ "EVEX.W other than the form's W0/W1: #UD (capstone 4 ignores W "
	  "for some forms)",
	  "SDM Vol. 2A 3.1.1.2 (EVEX.W0/W1 in the opcode column); each "
	  "instruction's opcode line",
	  exc_evex_w, 0 },
	{ "EVEX.W1 of a W-ignored AVX512BW instruction: capstone 4 takes it "
	  "as 128 bits whatever L'L",
	  "SDM Vol. 2A 2.6.10 table 2-36 (EVEX.L'L: vector length); the "
	  "instructions' EVEX.WIG opcode lines",
	  exc_evex_wig_vl, 0 },
	{ "EVEX.b with register operands (static rounding in EVEX.L'L, SAE): "
	  "capstone 4 reads the rounding control from an extra byte or calls "
	  "it invalid",
	  "SDM Vol. 2A 2.6.8 and table 2-36 (EVEX.RC is EVEX.L'L; no "
	  "immediate)",
	  exc_evex_rc, 0 },
	{ "EVEX.X with a memory operand without SIB is ignored (capstone 4: "
	  "invalid)",
	  "SDM Vol. 2A 2.6.2 (EVEX.X: high bit of the SIB index, or of rm "
	  "with mod 11b); 2.2.1.2 (REX.X without SIB: ignored)",
	  exc_evex_x, 0 },
	{ "EVEX.V' extends the index only for VSIB (capstone 4: a vector "
	  "index register for any SIB)",
	  "SDM Vol. 2A 2.6.2 table 2-30 (V' with vvvv; VSIB index with V')",
	  exc_evex_vindex, 0 },
	{ "EVEX disp8*N: capstone 4 uses N = 16 for VPSLLV/VPSRLV/VPSRAV "
	  "(FV: the vector length) and for VCMPSS/SD (T1S: 4/8), N = 4 for "
	  "FMA and AVX512ER with a 64-bit broadcast (the element: 8), N = 8 "
	  "for the QPS prefetches (the element: 4)",
	  "SDM Vol. 2A 2.6.5 tables 2-34/2-35; the VPSLLVD/Q, VPSRLVD/Q, "
	  "VPSRAVD/Q, VFMADD* (FV), VRCP28PD, VRSQRT28PD, VEXP2PD (FV), "
	  "VCMPSS/VCMPSD and VGATHERPF0QPS/VSCATTERPF0QPS (T1S) pages",
	  exc_evex_disp8, 0 },
	{ "EVEX gathers/scatters without SIB, with 16-bit addressing or "
	  "(gathers) the destination as index: #UD (capstone 4 decodes them)",
	  "SDM Vol. 2A 2.6.5 / 2.3.12 (VSIB: SIB required, no 16-bit "
	  "addressing); Vol. 2C VPGATHERDD/VPGATHERDQ, VGATHERDPS/DPD, "
	  "VPSCATTERDD, VSCATTERDPS pages (#UD conditions)",
	  exc_evex_gather, 0 },
	{ "EVEX scatters and AVX512PF VGATHERPF*/VSCATTERPF*: capstone 4 "
	  "names a general register as the VSIB index, or none for index "
	  "register 4 (SIB.index 100b)",
	  "SDM Vol. 2A 2.6.5 / 3.1.1.3 (vm32x/y/z, vm64x/y/z: a vector index "
	  "register); Vol. 2C VPSCATTERDD/DQ/QD/QQ, VSCATTERDPS/DPD/QPS/QPD, "
	  "VGATHERPF0DPS, VSCATTERPF0DPS pages",
	  exc_evex_vsib_gpr, 0 },
	{ "EVEX VMOVLPD load (66.0F.W1 12 /m): capstone 4 calls it invalid "
	  "at 128 bits and the other 66.0F.W1 12 encodings VMOVDDUP "
	  "(VMOVDDUP is F2.0F 12)",
	  "SDM Vol. 2B MOVLPD (EVEX.128.66.0F.W1 12 /r VMOVLPD xmm2, xmm1, "
	  "m64), MOVDDUP (EVEX.F2.0F.W1 12)",
	  exc_evex_movlpd, 0 },
	{ "EVEX.vvvv not 1111b where the form has no vvvv operand: #UD "
	  "(capstone 4 ignores it for some forms, e.g. VGATHERPF0DPS)",
	  "SDM Vol. 2A 2.6.1 / figure 2-11 (EVEX.vvvv: 1111b if unused), "
	  "2.8 exception types (#UD if EVEX.vvvv != 1111B); Vol. 2C "
	  "VGATHERPF0DPS, VPGATHERDD pages",
	  exc_evex_vvvv, 0 },
	{ "EVEX forms with a GPR operand (VPBROADCASTB/W/D/Q, VCVTSI2SS/SD, "
	  "VCVTUSI2SS/SD...): capstone 4 names it mmN/xmmN with EVEX.X set, "
	  "a 64-bit register in the W0 form",
	  "SDM Vol. 2C VPBROADCAST (EVEX.66.0F38.W0 7A-7C /r: r32 source; "
	  "W1 7C: r64), Vol. 2C VCVTUSI2SD/SS, Vol. 2A CVTSI2SD/SS (EVEX.W0: "
	  "r/m32); 2.6.2 (EVEX.X with mod 11b: rm bit 4, ignored for a GPR)",
	  exc_evex_gpr, 0 },
	{ "capstone 4 lacks EVEX forms: 128/256-bit (AVX512VL), masked, "
	  "scalar with L'L != 00b, FMA register forms (the form without "
	  "them agrees)",
	  "SDM Vol. 2 the instructions' EVEX.128/256 (AVX512VL) opcode lines "
	  "with {k1}{z}; EVEX.LLIG scalar lines; VFMADD*/VFMSUB*/VFNM* "
	  "zmm1, zmm2, zmm3 lines",
	  exc_evex_cs_lacks, 0 },
	{ "capstone 4 has no EVEX form of the instruction at all (no mask, "
	  "L'L, ModRM.mod variant decodes; e.g. VPACKSSWB, VPMULHW, VPAVGB)",
	  "SDM Vol. 2 the instruction's EVEX opcode lines (AVX512F/BW/DQ/CD)",
	  exc_evex_cs_unknown, 0 },
	{ "EVEX.W outside 64-bit mode: capstone 4 takes the W0 form "
	  "(VINSERTI32X8 for VINSERTI64X4)",
	  "SDM Vol. 2A 3.1.1.2 (EVEX.W0/W1 in the opcode column select the "
	  "instruction in every mode); VINSERTI32x4/32x8/64x2/64x4 page",
	  exc_evex_w32, 0 },
	{ "EVEX.R'/X/B outside 64-bit mode are ignored (capstone 4: "
	  "registers 8-31)",
	  "SDM Vol. 2A 2.6.2 / table 2-38 (EVEX.R', X, B encode registers "
	  "8-31 in 64-bit mode only)",
	  exc_evex_rr32, 0 },
};
const size_t n_exceptions = sizeof(exceptions) / sizeof(exceptions[0]);
