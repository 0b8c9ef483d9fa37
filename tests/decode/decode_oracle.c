/*
 * The decoder against capstone (the oracle; capstone is never used by the
 * decoder itself).
 *
 *   decode_oracle elf [--limit N] FILE...   every instruction of the
 *       executable sections of each ELF (64-bit: 64-bit mode, 32-bit:
 *       32-bit mode), walked linearly with capstone's length as the sync
 *       point (a byte capstone cannot decode is stepped over by one).
 *   decode_oracle random MODE COUNT SEED   COUNT random 15-byte sequences
 *       in MODE (16, 32, 64): a third pure random, the rest shaped to hit
 *       the 0F/0F38/0F3A/VEX maps and prefix combinations.
 *   decode_oracle hex MODE HEX...   the comparison of single byte
 *       strings, each reported.
 *   decode_oracle evex MODE COUNT SEED   the same with EVEX-shaped
 *       sequences (62 and a mostly well-formed P0-P2, see gen_evex()).
 *
 * For each instruction: capstone and rhyve must agree on validity and
 * length, and on the explicit register and memory operands (register
 * names; memory base, index, scale, displacement).  Disagreements where
 * capstone 4 is wrong per the Intel SDM are listed in exceptions[] with the
 * SDM section and counted apart; any other disagreement fails the run.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <capstone/capstone.h>

#include "x86.h"

static csh cs[3];
static unsigned long n_total, n_match, n_bad, n_excused, n_both_invalid;
static unsigned long n_evex_len, n_evex_cs_invalid, n_evex_full;
static int verbose_left = 40;
static int verbose_env_init = 0;

/* ------------------------------------------------------------------ */
/* Exceptions: capstone 4 disagrees with the Intel SDM.                */

struct ctx {
	int mode;
	const uint8_t *b;
	size_t len;
	const struct x86_instr *in;
	int rc;
	const cs_insn *ci;  /* NULL: capstone said invalid */
	unsigned int op_at; /* index of the opcode byte (after prefixes) */
};

typedef int (*exc_fn)(const struct ctx *c);
static const char *cmp_operands(const struct ctx *c, char *why, size_t whysz);
static const char *csreg(int mode, unsigned int r);
static int evex_same_name(const struct x86_instr *in, const char *csname);

struct exception {
	const char *what;
	const char *sdm;
	exc_fn match;
	unsigned long count;
};

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

/* Capstone's decode of other bytes (for the checks below). */
static const cs_insn *
cs_other(int mode, const uint8_t *nb, size_t n)
{
	static cs_insn *x[3];
	const uint8_t *p = nb;
	uint64_t addr = 0x1000;

	if (x[mode] == NULL)
		x[mode] = cs_malloc(cs[mode]);
	return cs_disasm_iter(cs[mode], &p, &n, &addr, x[mode]) ? x[mode]
								: NULL;
}

/* Does capstone's ci2 (of bytes with `removed` prefix bytes fewer) say
 * what rhyve says of the original bytes?  Validity, length, operands. */
static int
cs_agrees(const struct ctx *c, const struct x86_instr *in, int rc,
	  const cs_insn *ci2, unsigned int removed)
{
	struct ctx c2 = *c;
	char why[160];

	if (rc != 0)
		return ci2 == NULL;
	if (ci2 == NULL || ci2->size + removed != in->length)
		return 0;
	c2.in = in;
	c2.ci = ci2;
	return *cmp_operands(&c2, why, sizeof(why)) == '\0';
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
	if (c->rc == 0 && !mem && (seg || a67)) {
		uint8_t l2[8], tail2[16];
		unsigned int n2 = 0;
		size_t t2 = 0;

		if (lock)
			l2[n2++] = 0xf0;
		if (rep)
			l2[n2++] = rep;
		if (o66)
			l2[n2++] = 0x66;
		if (rex)
			tail2[t2++] = rex;
		memcpy(tail2 + t2, c->b + k, c->len - k);
		t2 += c->len - k;
		if (permute_try(c, l2, n2, 0, tail2, t2,
				k - n2 - (rex ? 1 : 0)))
			return 1;
	}
	if (lock)
		l[n++] = 0xf0;
	if (rep)
		l[n++] = rep;
	if (o66)
		l[n++] = 0x66;
	if (a67)
		l[n++] = 0x67;
	if (seg)
		l[n++] = seg;
	uint8_t tail[16];
	size_t tlen = 0;

	if (rex)
		tail[tlen++] = rex;
	memcpy(tail + tlen, c->b + k, c->len - k);
	tlen += c->len - k;
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

/* ENDBR32/64 with other prefixes too (66, 67, a segment): capstone 4 knows
 * only the exact bytes F3 0F 1E FB/FA. */
static int
exc_endbr(const struct ctx *c)
{
	return c->rc == 0 && c->ci == NULL &&
	       (c->in->mnem == X86_M_ENDBR64 || c->in->mnem == X86_M_ENDBR32);
}

/* ---- EVEX (SDM Vol. 2A 2.6) ---- */

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

static int
exc_evex_cs_lacks(const struct ctx *c)
{
	return evex_cs_variants(c);
}

/* Outside 64-bit mode capstone 4 ignores EVEX.W (the W0 form: VINSERTI32X8
 * for VINSERTI64X4), as the SDM has it only for VEX.W of VMOVD/VPEXTRD and
 * similar; with W inverted capstone and rhyve agree. */
static int
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
static int
exc_evex_cs_unknown(const struct ctx *c)
{
	evex_cs_variants(c);
	return cs_lacks_whole;
}

/* EVEX.z with EVEX.aaa = 000 (zeroing without a mask): #UD; capstone 4
 * accepts it ({k0} {z}).  With z cleared the rest agrees. */
static int
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
static int
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
static int
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
static int
exc_evex_ll3(const struct ctx *c)
{
	int p = evex_at(c);

	return p >= 0 && c->rc == X86_DEC_UD && c->ci &&
	       ((c->b[p + 2] >> 5) & 3) == 3 &&
	       evex_fixed_agrees(c, 2, 0x9f, 0x40);
}

/* Outside 64-bit mode EVEX.V' must be 1 (#UD); capstone 4 ignores it. */
static int
exc_evex_vv32(const struct ctx *c)
{
	int p = evex_at(c);

	return p >= 0 && c->mode != X86_MODE_64 && c->rc == X86_DEC_UD &&
	       c->ci && !(c->b[p + 2] & 0x08) &&
	       evex_fixed_agrees(c, 2, 0xff, 0x08);
}

/* EVEX.W on a W0- or W1-only form: #UD; capstone 4 ignores W for some
 * (vaddps with W1).  The same instruction by name with W flipped. */
static int
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
static int
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
static int
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
static int
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

/* EVEX.V' extends vvvv and a VSIB index only; capstone 4 makes a SIB
 * index of a non-VSIB instruction a vector register when V' is set. */
static int
exc_evex_vindex(const struct ctx *c)
{
	struct x86_instr x;
	bool vidx = false, dispn = false, gpr = false;

	if (evex_at(c) < 0 || c->rc != 0 || c->ci == NULL)
		return 0;
	x = *c->in;
	evex_cs_fixups(c, &x, c->ci, c->b, &vidx, &dispn, &gpr);
	return vidx && !gpr && cs_agrees(c, &x, 0, c->ci, 0);
}

/* Capstone 4's disp8*N is wrong for VPSLLV/VPSRLV/VPSRAV (N = 16 where
 * the tuple type FV gives the vector length) and the FMA forms with a
 * 64-bit broadcast (N = 4 where the element is 8). */
static int
exc_evex_disp8(const struct ctx *c)
{
	struct x86_instr x;
	bool vidx = false, dispn = false, gpr = false;

	if (evex_at(c) < 0 || c->rc != 0 || c->ci == NULL)
		return 0;
	x = *c->in;
	evex_cs_fixups(c, &x, c->ci, c->b, &vidx, &dispn, &gpr);
	return dispn && !gpr && cs_agrees(c, &x, 0, c->ci, 0);
}

/* VPBROADCASTB/W/D/Q from a GPR (EVEX 0F38 7A-7C): capstone 4 names the
 * GPR mmN when EVEX.X is set, and a 64-bit register for the W0 form. */
static int
exc_evex_bcgpr(const struct ctx *c)
{
	struct x86_instr x;
	bool vidx = false, dispn = false, gpr = false;

	if (evex_at(c) < 0 || c->rc != 0 || c->ci == NULL)
		return 0;
	x = *c->in;
	evex_cs_fixups(c, &x, c->ci, c->b, &vidx, &dispn, &gpr);
	return gpr && cs_agrees(c, &x, 0, c->ci, 0);
}

static struct exception exceptions[] = {
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
	  "FMA with a 64-bit broadcast (the element: 8)",
	  "SDM Vol. 2A 2.6.5 tables 2-34/2-35; the VPSLLVD/Q, VPSRLVD/Q, "
	  "VPSRAVD/Q, VFMADD* (FV) and VCMPSS/VCMPSD (T1S) pages",
	  exc_evex_disp8, 0 },
	{ "VPBROADCASTB/W/D/Q from a GPR: capstone 4 names it mmN with EVEX.X "
	  "set, a 64-bit register in the W0 form",
	  "SDM Vol. 2C VPBROADCAST (EVEX.66.0F38.W0 7A-7C /r: r32 source; "
	  "W1 7C: r64); 2.6.2 (EVEX.X with mod 11b: rm bit 4, ignored for a "
	  "GPR)",
	  exc_evex_bcgpr, 0 },
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
#define NEXC (sizeof(exceptions) / sizeof(exceptions[0]))

/* ------------------------------------------------------------------ */

static const char *
csreg(int mode, unsigned int r)
{
	const char *n = r ? cs_reg_name(cs[mode], r) : NULL;
	return n ? n : "";
}

static const char *
myreg(unsigned int r)
{
	return r ? x86_reg_name(r) : "";
}

/* Operand agreement: "" if they agree, else what differs. */
static const char *
cmp_operands(const struct ctx *c, char *why, size_t whysz)
{
	const cs_x86 *x = &c->ci->detail->x86;
	const struct x86_instr *in = c->in;
	unsigned int i, j = 0;
	/* x87 register forms: capstone 4 leaves out or reorders st(0) */
	bool x87 = in->map == X86_MAP_X87 && in->mod == 3;
	/* capstone's "{kN}" after the destination (also {k0} {z}) */
	const char *kp =
	    (in->prefixes & X86_PFX_EVEX) ? strstr(c->ci->op_str, "{k") : NULL;
	bool evex_k = kp != NULL && kp[2] >= '0' && kp[2] <= '7';
	char kname[4] = { 'k', evex_k ? kp[2] : '0', 0, 0 };

	/* Compare capstone's register and memory operands in order with ours;
	 * immediates are skipped on both sides (they differ in extension). */
	for (i = 0; i < x->op_count; i++) {
		const cs_x86_op *o = &x->operands[i];
		const struct x86_operand *m;

		if (o->type == X86_OP_IMM)
			continue;
		/* EVEX: capstone lists the opmask {k1} as an operand after
		 * the destination; rhyve keeps it in evex_aaa/evex_z */
		if (evex_k && i == 1 && o->type == X86_OP_REG &&
		    strcmp(csreg(c->mode, o->reg), kname) == 0)
			continue;
		if (x87 && o->type == X86_OP_REG &&
		    strcmp(csreg(c->mode, o->reg), "st(0)") == 0)
			continue;
		while (x87 && j < in->nops && in->ops[j].type == X86_OPND_REG &&
		       in->ops[j].reg == X86_R_ST0)
			j++;
		while (j < in->nops && (in->ops[j].type == X86_OPND_IMM ||
					in->ops[j].type == X86_OPND_REL ||
					in->ops[j].type == X86_OPND_FAR))
			j++;
		if (j >= in->nops) {
			snprintf(why, whysz, "capstone has more operands");
			return why;
		}
		m = &in->ops[j++];
		if (o->type == X86_OP_REG) {
			if (m->type != X86_OPND_REG ||
			    strcmp(csreg(c->mode, o->reg), myreg(m->reg))) {
				snprintf(why, whysz, "op%u reg %s vs %s", i,
					 csreg(c->mode, o->reg),
					 m->type == X86_OPND_REG ? myreg(m->reg)
								 : "(not reg)");
				return why;
			}
		} else if (o->type == X86_OP_MEM) {
			if (m->type != X86_OPND_MEM) {
				snprintf(why, whysz, "op%u mem vs non-mem", i);
				return why;
			}
			if (strcmp(csreg(c->mode, o->mem.base),
				   myreg(m->base)) ||
			    strcmp(csreg(c->mode, o->mem.index),
				   myreg(m->index)) ||
			    (o->mem.index && o->mem.scale != m->scale) ||
			    (o->mem.disp != m->disp &&
			     (uint64_t)o->mem.disp !=
				 ((uint64_t)m->disp &
				  (in->addrsize == 8
				       ? ~0ULL
				       : (1ULL << (8 * in->addrsize)) - 1)))) {
				snprintf(why, whysz,
					 "op%u mem [%s+%s*%d+%" PRId64
					 "] vs [%s+%s*%u+%" PRId64 "]",
					 i, csreg(c->mode, o->mem.base),
					 csreg(c->mode, o->mem.index),
					 o->mem.scale, o->mem.disp,
					 myreg(m->base), myreg(m->index),
					 m->scale, m->disp);
				return why;
			}
		}
	}
	while (j < in->nops && (in->ops[j].type == X86_OPND_IMM ||
				in->ops[j].type == X86_OPND_REL ||
				in->ops[j].type == X86_OPND_FAR ||
				(x87 && in->ops[j].type == X86_OPND_REG &&
				 in->ops[j].reg == X86_R_ST0)))
		j++;
	if (j < in->nops) {
		snprintf(why, whysz, "rhyve has more operands");
		return why;
	}
	return "";
}

static void
report(const struct ctx *c, const char *what, uint64_t where)
{
	char mine[128];
	char hex[64];
	size_t k, n = c->len < 15 ? c->len : 15;

	if (!verbose_env_init) {
		verbose_env_init = 1;
		if (getenv("ORACLE_VERBOSE"))
			verbose_left = atoi(getenv("ORACLE_VERBOSE"));
	}
	if (verbose_left <= 0)
		return;
	verbose_left--;
	for (k = 0; k < n; k++)
		sprintf(hex + 2 * k, "%02x", c->b[k]);
	x86_format(c->in, where, mine, sizeof(mine));
	fprintf(stderr,
		"MISMATCH mode%d @%#" PRIx64
		" %s: %s\n  capstone: %s%s%s%s (len "
		"%u)\n  rhyve:    %s (len %u, %s)\n",
		c->mode == 0   ? 16
		: c->mode == 1 ? 32
			       : 64,
		where, hex, what, c->ci ? c->ci->mnemonic : "(invalid)",
		c->ci ? " " : "", c->ci ? c->ci->op_str : "", "",
		c->ci ? c->ci->size : 0, mine, c->in->length,
		x86_dec_status_name(c->rc));
}

/* One comparison; returns capstone's length (0 if invalid). */
static unsigned int
check_one(int mode, const uint8_t *b, size_t len, uint64_t where, cs_insn *ci)
{
	struct x86_instr in;
	struct ctx c = { mode, b, len, &in, 0, NULL, 0 };
	const uint8_t *p = b;
	size_t n = len;
	uint64_t addr = where;
	char why[160];
	const char *diff = NULL;

	c.rc = x86_decode(&in, (enum x86_mode)mode, b, len);
	c.op_at = in.npfx;
	if (cs_disasm_iter(cs[mode], &p, &n, &addr, ci))
		c.ci = ci;
	n_total++;
	if (c.ci == NULL && c.rc != 0) {
		n_both_invalid++;
		n_match++;
		return 0;
	}
	if ((in.prefixes & X86_PFX_EVEX) && c.rc == 0 &&
	    in.mnem == X86_M_EVEX_UNKNOWN) {
		/* EVEX opcodes the tables do not describe: rhyve decodes the
		 * length only; compare it where capstone knows the insn. */
		if (c.ci == NULL) {
			n_evex_cs_invalid++;
			return 0;
		}
		if (c.ci->size == in.length) {
			n_evex_len++;
			n_match++;
			return c.ci->size;
		}
	}
	if (c.ci == NULL)
		diff = "capstone invalid, rhyve decodes";
	else if (c.rc != 0)
		diff = "rhyve invalid, capstone decodes";
	else if (c.ci->size != in.length)
		diff = "length";
	else if (*(diff = cmp_operands(&c, why, sizeof(why))) == '\0')
		diff = NULL;
	if (diff == NULL) {
		if (in.prefixes & X86_PFX_EVEX)
			n_evex_full++;
		n_match++;
		return c.ci->size;
	}
	for (size_t e = 0; e < NEXC; e++) {
		if (exceptions[e].match(&c)) {
			exceptions[e].count++;
			n_excused++;
			return c.ci ? c.ci->size : 0;
		}
	}
	n_bad++;
	report(&c, diff, where);
	return c.ci ? c.ci->size : 0;
}

/* ------------------------------------------------------------------ */

static unsigned long insn_limit = ~0UL;

static int
run_elf(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat sb;
	uint8_t *m;
	unsigned long before = n_total;
	cs_insn *ci;

	if (fd < 0 || fstat(fd, &sb) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED || sb.st_size < (off_t)sizeof(Elf32_Ehdr) ||
	    memcmp(m, ELFMAG, SELFMAG) != 0) {
		fprintf(stderr, "%s: not an ELF file\n", path);
		return -1;
	}
	ci = cs_malloc(cs[0]);
	int is64 = m[EI_CLASS] == ELFCLASS64;
	int mode = is64 ? X86_MODE_64 : X86_MODE_32;
	unsigned int shnum;
	uint64_t shoff;
	size_t shentsize;

	if (is64) {
		Elf64_Ehdr *eh = (Elf64_Ehdr *)m;
		shnum = eh->e_shnum;
		shoff = eh->e_shoff;
		shentsize = sizeof(Elf64_Shdr);
	} else {
		Elf32_Ehdr *eh = (Elf32_Ehdr *)m;
		shnum = eh->e_shnum;
		shoff = eh->e_shoff;
		shentsize = sizeof(Elf32_Shdr);
	}
	if (shoff + (uint64_t)shnum * shentsize > (uint64_t)sb.st_size)
		shnum = 0;
	for (unsigned int s = 0; s < shnum; s++) {
		uint64_t off, size, addr, flags;
		uint32_t type;

		if (is64) {
			Elf64_Shdr *sh = (Elf64_Shdr *)(m + shoff) + s;
			off = sh->sh_offset, size = sh->sh_size;
			addr = sh->sh_addr, flags = sh->sh_flags;
			type = sh->sh_type;
		} else {
			Elf32_Shdr *sh = (Elf32_Shdr *)(m + shoff) + s;
			off = sh->sh_offset, size = sh->sh_size;
			addr = sh->sh_addr, flags = sh->sh_flags;
			type = sh->sh_type;
		}
		if (type != SHT_PROGBITS || !(flags & SHF_EXECINSTR) ||
		    off + size > (uint64_t)sb.st_size)
			continue;
		for (uint64_t i = 0; i < size && n_total < insn_limit;) {
			unsigned int l;

			l = check_one(mode, m + off + i,
				      size - i < 15 ? size - i : 15, addr + i,
				      ci);
			i += l ? l : 1;
		}
	}
	cs_free(ci, 1);
	munmap(m, (size_t)sb.st_size);
	printf("  %-60s %9lu insns (%s)\n", path, n_total - before,
	       is64 ? "64-bit" : "32-bit");
	return 0;
}

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
gen(uint8_t *b)
{
	static const uint8_t pfx[] = { 0x66, 0x67, 0xf2, 0xf3, 0xf0,
				       0x2e, 0x3e, 0x26, 0x64, 0x65,
				       0x36, 0x48, 0x41, 0x4c, 0x40 };
	uint64_t r = rng();
	unsigned int k = 0, shape = r % 8;

	r >>= 3;
	for (unsigned int i = 0; i < 16; i += 8) {
		uint64_t v = rng();
		memcpy(b + i, &v, i + 8 <= 15 ? 8 : 7);
	}
	if (shape < 3)
		return; /* pure random */
	/* 0-2 prefixes */
	for (unsigned int n = r % 3; n > 0; n--) {
		r >>= 2;
		b[k++] = pfx[(r >> 4) % sizeof(pfx)];
		r >>= 4;
	}
	switch (shape) {
	case 3:
	case 4:
		b[k++] = 0x0f;
		break;
	case 5:
		b[k++] = 0x0f;
		b[k++] = (r & 1) ? 0x38 : 0x3a;
		break;
	case 6:
		b[k] = (r & 1) ? 0xc4 : 0xc5;
		b[k + 1] |= 0xc0 & (r & 2 ? 0xc0 : 0xff);
		if (b[k] == 0xc4)
			b[k + 1] =
			    (uint8_t)((b[k + 1] & 0xe0) | (1 + (r >> 2) % 3));
		break;
	case 7:
		break; /* random after prefixes */
	}
}

/*
 * An EVEX-shaped sequence: 62, P0-P2 with the fixed bits mostly right (a
 * few per cent left random to exercise the #UD checks), a map 1-3, then
 * random opcode, ModRM, SIB and the rest; outside 64-bit mode P0's R and
 * X set (else it is BOUND).  Half the time the ModRM is a memory form with
 * an 8-bit displacement, to exercise disp8*N.
 */
static void
gen_evex(int mode, uint8_t *b)
{
	uint64_t r = rng();

	for (unsigned int i = 0; i < 16; i += 8) {
		uint64_t v = rng();
		memcpy(b + i, &v, i + 8 <= 15 ? 8 : 7);
	}
	b[0] = 0x62;
	if (r % 16 != 0) {
		b[1] = (uint8_t)((b[1] & 0xf0) | (1 + (r >> 4) % 3));
		b[2] |= 0x04;
	}
	if (mode != X86_MODE_64)
		b[1] |= 0xc0;
	if ((r >> 8) % 4 != 0 && mode != X86_MODE_64)
		b[3] |= 0x08; /* V' = 1 */
	if ((r >> 10) % 2)
		b[5] = (uint8_t)((b[5] & 0x3f) | 0x40); /* mod 01: disp8 */
}

static int
run_random(int mode, unsigned long count, uint64_t seed, bool evex)
{
	cs_insn *ci = cs_malloc(cs[mode]);
	uint8_t b[16];

	rng_state = seed;
	for (unsigned long i = 0; i < count; i++) {
		if (evex)
			gen_evex(mode, b);
		else
			gen(b);
		check_one(mode, b, 15, 0x1000, ci);
	}
	cs_free(ci, 1);
	return 0;
}

static void
summary(void)
{
	printf("instructions %lu: agree %lu (both invalid %lu), excused %lu, "
	       "MISMATCHES %lu\n",
	       n_total, n_match, n_both_invalid, n_excused, n_bad);
	if (n_evex_len || n_evex_cs_invalid || n_evex_full)
		printf("  EVEX: %lu compared in full (operands, disp8*N); "
		       "opcodes not in rhyve's EVEX tables: %lu agree on "
		       "length, %lu capstone-invalid not judged\n",
		       n_evex_full, n_evex_len, n_evex_cs_invalid);
	for (size_t e = 0; e < NEXC; e++)
		if (exceptions[e].count)
			printf("  excused %8lu  %s [%s]\n", exceptions[e].count,
			       exceptions[e].what, exceptions[e].sdm);
}

int
main(int argc, char **argv)
{
	static const cs_mode modes[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };
	unsigned long min_insns = 0;
	unsigned long max_bad = 0;

	for (int i = 0; i < 3; i++) {
		if (cs_open(CS_ARCH_X86, modes[i], &cs[i]) != CS_ERR_OK)
			return 2;
		cs_option(cs[i], CS_OPT_DETAIL, CS_OPT_ON);
	}
	if (argc >= 2 && strcmp(argv[1], "elf") == 0) {
		int a = 2, nfiles = 0;

		for (; a + 1 < argc && argv[a][0] == '-'; a += 2) {
			if (strcmp(argv[a], "--limit") == 0)
				insn_limit = strtoul(argv[a + 1], NULL, 0);
			else if (strcmp(argv[a], "--max-mismatch") == 0)
				max_bad = strtoul(argv[a + 1], NULL, 0);
			else if (strcmp(argv[a], "--min") == 0)
				min_insns = strtoul(argv[a + 1], NULL, 0);
		}
		for (; a < argc && n_total < insn_limit; a++)
			if (access(argv[a], R_OK) == 0 && run_elf(argv[a]) == 0)
				nfiles++;
		printf("%d files\n", nfiles);
	} else if (argc >= 4 && strcmp(argv[1], "hex") == 0) {
		/* one comparison per hex string, reported in full */
		int bits = atoi(argv[2]);
		int mode = bits == 16 ? 0 : bits == 32 ? 1 : 2;
		cs_insn *ci = cs_malloc(cs[mode]);

		verbose_env_init = 1;
		verbose_left = 1 << 30;
		for (int a = 3; a < argc; a++) {
			uint8_t b[15] = { 0 };
			size_t n = 0;

			for (const char *h = argv[a]; h[0] && h[1] && n < 15;
			     h += 2) {
				unsigned int v;

				if (sscanf(h, "%2x", &v) != 1)
					break;
				b[n++] = (uint8_t)v;
			}
			check_one(mode, b, n, 0x1000, ci);
		}
		cs_free(ci, 1);
	} else if ((argc == 5 || argc == 7) &&
		   (strcmp(argv[1], "random") == 0 ||
		    strcmp(argv[1], "evex") == 0)) {
		if (argc == 7 && strcmp(argv[5], "--max-mismatch") == 0)
			max_bad = strtoul(argv[6], NULL, 0);
		int bits = atoi(argv[2]);
		int mode = bits == 16 ? 0 : bits == 32 ? 1 : 2;

		run_random(mode, strtoul(argv[3], NULL, 0),
			   strtoull(argv[4], NULL, 0),
			   strcmp(argv[1], "evex") == 0);
	} else {
		fprintf(
		    stderr,
		    "usage: decode_oracle elf [--limit N] [--min N] FILE...\n"
		    "       decode_oracle random|evex 16|32|64 COUNT SEED "
		    "[--max-mismatch N]\n"
		    "       decode_oracle hex 16|32|64 HEXBYTES...\n");
		return 2;
	}
	summary();
	if (n_total < min_insns) {
		printf("FAIL: only %lu instructions (wanted %lu)\n", n_total,
		       min_insns);
		return 1;
	}
	if (n_bad > max_bad) {
		printf("FAIL: %lu unexplained mismatches (allowed %lu)\n",
		       n_bad, max_bad);
		return 1;
	}
	if (n_bad)
		printf("NOTE: %lu known unexplained mismatches (ratchet %lu; "
		       "the goal is 0)\n",
		       n_bad, max_bad);
	return 0;
}
