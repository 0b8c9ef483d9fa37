/*
 * decode_oracle: one comparison of rhyve's decode with capstone's
 * (validity, length, register and memory operands), and what to do with a
 * disagreement (an exception, or a reported mismatch).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_oracle.h"

csh cs[3];
unsigned long n_total, n_match, n_bad, n_excused, n_both_invalid;
unsigned long n_evex_full;
int verbose_left = 40;
int verbose_env_init = 0;

/* Capstone's decode of other bytes (for the checks below). */
const cs_insn *
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
int
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

const char *
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
const char *
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
		 * the destination (first without one: the AVX512PF
		 * prefetches); rhyve keeps it in evex_aaa/evex_z */
		if (evex_k &&
		    (i == 1 || (i == 0 && in->nops > 0 &&
				in->ops[0].type == X86_OPND_MEM)) &&
		    o->type == X86_OP_REG &&
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
unsigned int
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
	for (size_t e = 0; e < n_exceptions; e++) {
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
