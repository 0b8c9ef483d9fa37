/*
 * The compute-bound workloads of the CPU benchmark (tests/bench/
 * bench_cpu.c), shared by the guest that runs them (bench_cpu.c here) and
 * the host harness that computes the same checksums natively to check the
 * guest's result.  Each takes its round count and returns a checksum of
 * everything it computed; plain C over caller-supplied buffers, no libc.
 */
#ifndef RHYVE_BENCH_WORK_H
#define RHYVE_BENCH_WORK_H

#include <stdint.h>

#define BENCH_COPY_WORDS   (64 * 1024 / 8) /* 64 KiB per buffer */
#define BENCH_SIEVE_SIZE   (1u << 20)      /* numbers below 2^20 */
#define BENCH_SIEVE_PRIMES 82025u          /* primes below 2^20 */

/*
 * Integer loop: xorshift64, a multiply, a data-dependent select.  Every
 * workload runs the same instructions in each round (no data-dependent
 * branch in the loops' counts), so a run's instruction count is linear in
 * the rounds: the harness relies on it.
 */
static inline uint64_t
bench_int(uint64_t rounds)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, acc = 0;

	for (uint64_t i = 0; i < rounds; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		acc += (x * 0x2545f4914f6cdd1dULL) >> 32;
		acc ^= i & (0 - (x & 1)); /* no branch: a fixed count */
	}
	return acc ^ x;
}

/*
 * Memory copy: 64 KiB back and forth between a and b, 8 bytes at a time,
 * one word changed per round so that every round's copy matters.
 */
static inline uint64_t
bench_copy(uint64_t rounds, uint64_t *a, uint64_t *b)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < BENCH_COPY_WORDS; i++)
		a[i] = i * 0x0101010101010101ULL;
	for (uint64_t r = 0; r < rounds; r++) {
		uint64_t *src = (r & 1) ? b : a, *dst = (r & 1) ? a : b;

		for (uint64_t i = 0; i < BENCH_COPY_WORDS; i++)
			dst[i] = src[i];
		dst[r % BENCH_COPY_WORDS] += r;
	}
	for (uint64_t i = 0; i < BENCH_COPY_WORDS; i++)
		sum = (sum << 1 | sum >> 63) ^ a[i] ^ (b[i] << 7);
	return sum;
}

/* Sieve of Eratosthenes below 2^20, 'rounds' times: the primes found. */
static inline uint64_t
bench_sieve(uint64_t rounds, uint8_t *composite)
{
	uint64_t total = 0;

	for (uint64_t r = 0; r < rounds; r++) {
		for (uint32_t i = 0; i < BENCH_SIEVE_SIZE; i++)
			composite[i] = 0;
		for (uint32_t i = 2; i * i < BENCH_SIEVE_SIZE; i++)
			if (!composite[i])
				for (uint32_t j = i * i; j < BENCH_SIEVE_SIZE;
				     j += i)
					composite[j] = 1;
		for (uint32_t i = 2; i < BENCH_SIEVE_SIZE; i++)
			total += !composite[i];
	}
	return total;
}

#endif
