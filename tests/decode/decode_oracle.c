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
 *
 * The files (decode_oracle.h): this one the commands and the summary,
 * oracle_compare.c one comparison, oracle_exc.c and oracle_exc_evex.c the
 * exceptions, oracle_corpus.c the ELF and random-byte walkers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode_oracle.h"

static void
summary(void)
{
	printf("instructions %lu: agree %lu (both invalid %lu), excused %lu, "
	       "MISMATCHES %lu\n",
	       n_total, n_match, n_both_invalid, n_excused, n_bad);
	if (n_evex_full)
		printf("  EVEX: %lu compared in full (operands, masking, "
		       "disp8*N)\n",
		       n_evex_full);
	for (size_t e = 0; e < n_exceptions; e++)
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
