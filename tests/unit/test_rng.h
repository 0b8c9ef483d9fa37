/*
 * The random numbers of the native-compared interp tests: xorshift64
 * from a fixed seed, so that a default run is the same every time and a
 * difference can be reproduced (a test may reseed 'rng' from its
 * environment).
 */
#ifndef RHYVE_TESTS_TEST_RNG_H
#define RHYVE_TESTS_TEST_RNG_H

#include <stdint.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static inline uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#endif
