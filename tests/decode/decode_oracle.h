/*
 * decode_oracle: the decoder against capstone (see decode_oracle.c).
 * Shared between its files:
 *   oracle_compare.c   one comparison (check_one()) and the operand match
 *   oracle_exc.c       exceptions[]: where capstone 4 is wrong per the SDM
 *                      (legacy, VEX), and the table itself
 *   oracle_exc_evex.c  the same for EVEX
 *   oracle_corpus.c    the walkers: ELF .text sections, random bytes
 *   decode_oracle.c    the commands and the summary
 */
#ifndef RHYVE_DECODE_ORACLE_H
#define RHYVE_DECODE_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <capstone/capstone.h>

#include "x86.h"

/* One comparison: the bytes, rhyve's decode and capstone's. */
struct ctx {
	int mode;
	const uint8_t *b;
	size_t len;
	const struct x86_instr *in;
	int rc;
	const cs_insn *ci;  /* NULL: capstone said invalid */
	unsigned int op_at; /* index of the opcode byte (after prefixes) */
};

/* An exception: capstone 4 disagrees with the Intel SDM. */
typedef int (*exc_fn)(const struct ctx *c);
struct exception {
	const char *what;
	const char *sdm;
	exc_fn match;
	unsigned long count;
};

/* oracle_compare.c */
extern csh cs[3];
extern unsigned long n_total, n_match, n_bad, n_excused, n_both_invalid;
extern unsigned long n_evex_full;
extern int verbose_left;
extern int verbose_env_init;
const char *csreg(int mode, unsigned int r);
const char *cmp_operands(const struct ctx *c, char *why, size_t whysz);
const cs_insn *cs_other(int mode, const uint8_t *nb, size_t n);
int cs_agrees(const struct ctx *c, const struct x86_instr *in, int rc,
	      const cs_insn *ci2, unsigned int removed);
unsigned int check_one(int mode, const uint8_t *b, size_t len, uint64_t where,
		       cs_insn *ci);

/* oracle_exc.c */
extern struct exception exceptions[];
extern const size_t n_exceptions;

/* oracle_exc_evex.c: the EVEX entries of exceptions[] */
int exc_evex_67(const struct ctx *c);
int exc_evex_ll3(const struct ctx *c);
int exc_evex_vv32(const struct ctx *c);
int exc_evex_z0(const struct ctx *c);
int exc_evex_w(const struct ctx *c);
int exc_evex_wig_vl(const struct ctx *c);
int exc_evex_rc(const struct ctx *c);
int exc_evex_x(const struct ctx *c);
int exc_evex_vindex(const struct ctx *c);
int exc_evex_disp8(const struct ctx *c);
int exc_evex_gpr(const struct ctx *c);
int exc_evex_cs_lacks(const struct ctx *c);
int exc_evex_cs_unknown(const struct ctx *c);
int exc_evex_w32(const struct ctx *c);
int exc_evex_rr32(const struct ctx *c);
int exc_evex_gather(const struct ctx *c);
int exc_evex_vsib_gpr(const struct ctx *c);
int exc_evex_movlpd(const struct ctx *c);
int exc_evex_vvvv(const struct ctx *c);

/* oracle_corpus.c */
extern unsigned long insn_limit;
int run_elf(const char *path);
int run_random(int mode, unsigned long count, uint64_t seed, bool evex);

#endif
