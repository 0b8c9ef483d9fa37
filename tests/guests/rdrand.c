/*
 * rdrand: RDRAND and RDSEED where CPUID lists them, in every operand size
 * (16, 32, 64 bits): CF says the value is valid, the other arithmetic
 * flags are clear, and 64-bit values do not repeat.  It prints a hash of
 * what it got: a replay must print the same (on interp the bits come from
 * an exit and are in the trace; on kvm the host's RNG runs unseen, so
 * only the live run is tested there).
 */
#include "guest.h"

#define ROUNDS    32
#define FLAGS_ALU 0x8d5 /* CF PF AF ZF SF OF */

static uint64_t hash = 1469598103934665603ULL;

static void
mix(uint64_t v)
{
	hash = (hash ^ v) * 1099511628211ULL;
}

#define RNG(insn, reg, type)                                                   \
	static uint64_t insn##_##type(void)                                    \
	{                                                                      \
		type v;                                                        \
		uint64_t flags;                                                \
                                                                               \
		for (int tries = 0; tries < 100; tries++) {                    \
			__asm__ volatile(#insn " %0; pushfq; popq %1"          \
					 : "=r"(v), "=r"(flags)                \
					 :                                     \
					 : "cc");                              \
			if (flags & 1) {                                       \
				GUEST_ASSERT_EQ(flags &FLAGS_ALU & ~1ULL, 0);  \
				return v;                                      \
			}                                                      \
		}                                                              \
		GUEST_ASSERT(!"no valid value in 100 tries");                  \
		return 0;                                                      \
	}
RNG(rdrand, r, uint16_t)
RNG(rdrand, r, uint32_t)
RNG(rdrand, r, uint64_t)
RNG(rdseed, r, uint16_t)
RNG(rdseed, r, uint32_t)
RNG(rdseed, r, uint64_t)

static void
cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

int
guest_main(void)
{
	uint64_t seen[ROUNDS];
	uint32_t r[4];
	bool has_rdrand, has_rdseed;
	int n = 0;

	cpuid(1, 0, r);
	has_rdrand = (r[2] >> 30) & 1;
	cpuid(7, 0, r);
	has_rdseed = (r[1] >> 18) & 1;
	guest_printf("rdrand: RDRAND %s, RDSEED %s\n",
		     has_rdrand ? "listed" : "not listed",
		     has_rdseed ? "listed" : "not listed");
	for (int i = 0; i < ROUNDS; i++) {
		if (has_rdrand) {
			mix(rdrand_uint16_t());
			mix(rdrand_uint32_t());
			seen[n] = rdrand_uint64_t();
			mix(seen[n]);
			for (int j = 0; j < n; j++)
				GUEST_ASSERT(seen[j] != seen[n]);
			n++;
		}
		if (has_rdseed) {
			mix(rdseed_uint16_t());
			mix(rdseed_uint32_t());
			mix(rdseed_uint64_t());
		}
	}
	guest_printf("rdrand: %d rounds, hash %lx\n", ROUNDS,
		     (unsigned long)hash);
	guest_printf("rdrand: ok\n");
	return 0;
}
