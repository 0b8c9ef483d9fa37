/*
 * pio: port I/O of 1, 2 and 4 bytes, plain and string (REP INS/OUTS), on
 * the pc-testdev scratch register at 0xe0-0xe3 (little-endian bytes).
 */
#include "guest.h"

#define P TESTDEV_SCRATCH

/* The forms with the port in %dx (the helpers use imm8 for constants). */
static inline uint8_t
inb_dx(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %%dx, %0" : "=a"(v) : "d"(port));
	return v;
}

static inline uint32_t
inl_dx(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %%dx, %0" : "=a"(v) : "d"(port));
	return v;
}

static inline void
outw_dx(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %%dx" : : "a"(v), "d"(port));
}

static void
test_plain(void)
{
	outl(P, 0);
	GUEST_ASSERT_EQ(inl(P), 0);

	outb(P, 0x5a);
	GUEST_ASSERT_EQ(inb(P), 0x5a);
	GUEST_ASSERT_EQ(inl(P), 0x0000005a);

	outl(P, 0x11223344);
	GUEST_ASSERT_EQ(inl(P), 0x11223344);
	GUEST_ASSERT_EQ(inb(P + 0), 0x44);
	GUEST_ASSERT_EQ(inb(P + 1), 0x33);
	GUEST_ASSERT_EQ(inb(P + 2), 0x22);
	GUEST_ASSERT_EQ(inb(P + 3), 0x11);
	GUEST_ASSERT_EQ(inw(P + 0), 0x3344);
	GUEST_ASSERT_EQ(inw(P + 1), 0x2233);
	GUEST_ASSERT_EQ(inw(P + 2), 0x1122);

	/* Narrow writes change only their bytes. */
	outb(P + 2, 0xab);
	GUEST_ASSERT_EQ(inl(P), 0x11ab3344);
	outb(P + 3, 0xcd);
	GUEST_ASSERT_EQ(inl(P), 0xcdab3344);
	outw(P + 0, 0xbeef);
	GUEST_ASSERT_EQ(inl(P), 0xcdabbeef);
	outw(P + 2, 0x1234);
	GUEST_ASSERT_EQ(inl(P), 0x1234beef);
	outw(P + 1, 0x5678);
	GUEST_ASSERT_EQ(inl(P), 0x125678ef);

	/* Port in %dx. */
	outw_dx(P, 0xa55a);
	GUEST_ASSERT_EQ(inl_dx(P), 0x1256a55a);
	GUEST_ASSERT_EQ(inb_dx(P + 1), 0xa5);
	GUEST_ASSERT_EQ(inb_dx(P + 3), 0x12);

	/* Reads do not change it. */
	GUEST_ASSERT_EQ(inl(P), 0x1256a55a);
}

#define N 16

static void
test_string_out(void)
{
	uint8_t b[N];
	uint16_t w[N];
	uint32_t l[N];
	const void *end;
	int i;

	for (i = 0; i < N; i++) {
		b[i] = (uint8_t)(0xa0 + i);
		w[i] = (uint16_t)(0xb000 + i * 0x101);
		l[i] = 0xc0000000u + (uint32_t)i * 0x01010101u;
	}

	/* Each element is written in turn: the last one stays. */
	outl(P, 0x11223344);
	end = outsb(P, b, N);
	GUEST_ASSERT(end == b + N);
	GUEST_ASSERT_EQ(inl(P), 0x11223300 | b[N - 1]);

	outl(P, 0x11223344);
	end = outsw(P, w, N);
	GUEST_ASSERT(end == w + N);
	GUEST_ASSERT_EQ(inl(P), 0x11220000 | w[N - 1]);

	end = outsl(P, l, N);
	GUEST_ASSERT(end == l + N);
	GUEST_ASSERT_EQ(inl(P), l[N - 1]);

	/* Bytes 1-3 through their own ports. */
	outsb(P + 3, b, 3);
	GUEST_ASSERT_EQ(inb(P + 3), b[2]);
	GUEST_ASSERT_EQ(inl(P), (l[N - 1] & 0x00ffffff) | (uint32_t)b[2] << 24);

	/* A single element (count 1). */
	outsl(P, l, 1);
	GUEST_ASSERT_EQ(inl(P), l[0]);

	/* Count 0 does nothing. */
	end = outsl(P, l + 5, 0);
	GUEST_ASSERT(end == l + 5);
	GUEST_ASSERT_EQ(inl(P), l[0]);
}

static void
test_string_in(void)
{
	uint8_t b[N + 4];
	uint16_t w[N + 4];
	uint32_t l[N + 4];
	const void *end;
	int i;

	memset(b, 0x77, sizeof(b));
	memset(w, 0x77, sizeof(w));
	memset(l, 0x77, sizeof(l));

	outl(P, 0x89abcdef);
	end = insb(P, b, N);
	GUEST_ASSERT(end == b + N);
	end = insw(P, w, N);
	GUEST_ASSERT(end == w + N);
	end = insl(P, l, N);
	GUEST_ASSERT(end == l + N);
	for (i = 0; i < N; i++) {
		GUEST_ASSERT_EQ(b[i], 0xef);
		GUEST_ASSERT_EQ(w[i], 0xcdef);
		GUEST_ASSERT_EQ(l[i], 0x89abcdef);
	}
	/* Nothing written past the count. */
	for (i = N; i < N + 4; i++) {
		GUEST_ASSERT_EQ(b[i], 0x77);
		GUEST_ASSERT_EQ(w[i], 0x7777);
		GUEST_ASSERT_EQ(l[i], 0x77777777);
	}

	/* From inner ports. */
	insb(P + 2, b, 4);
	for (i = 0; i < 4; i++)
		GUEST_ASSERT_EQ(b[i], 0xab);
	insw(P + 1, w, 4);
	for (i = 0; i < 4; i++)
		GUEST_ASSERT_EQ(w[i], 0xabcd);
	GUEST_ASSERT_EQ(inl(P), 0x89abcdef);
}

/*
 * A REP INS/OUTS whose buffer crosses a page boundary (KVM splits those
 * into several exits), and string I/O with DF set (descending addresses).
 */
static uint32_t big[2048] __attribute__((aligned(4096)));

static void
test_string_edges(void)
{
	uint32_t *buf = big + 1024 - 10; /* 40 bytes before a page boundary */
	uint32_t *p;
	size_t count;
	int i;

	for (i = 0; i < 2048; i++)
		big[i] = 0x55555555;
	outl(P, 0x0badf00d);
	p = insl(P, buf, 64);
	GUEST_ASSERT(p == buf + 64);
	for (i = 0; i < 64; i++)
		GUEST_ASSERT_EQ(buf[i], 0x0badf00d);
	GUEST_ASSERT_EQ(buf[-1], 0x55555555);
	GUEST_ASSERT_EQ(buf[64], 0x55555555);

	for (i = 0; i < 64; i++)
		buf[i] = 0x1000 + (uint32_t)i;
	outsl(P, buf, 64);
	GUEST_ASSERT_EQ(inl(P), 0x1000 + 63);

	/* DF=1: OUTS goes downwards, so the element at the lowest address
	 * is written last. */
	p = &buf[63];
	count = 64;
	__asm__ volatile("std; rep outsl (%%rsi), %%dx; cld"
			 : "+S"(p), "+c"(count)
			 : "d"((uint16_t)P)
			 : "memory", "cc");
	GUEST_ASSERT_EQ(count, 0);
	GUEST_ASSERT(p == buf - 1);
	GUEST_ASSERT_EQ(inl(P), 0x1000);

	outl(P, 0xfeedface);
	p = &buf[63];
	count = 64;
	__asm__ volatile("std; rep insl %%dx, (%%rdi); cld"
			 : "+D"(p), "+c"(count)
			 : "d"((uint16_t)P)
			 : "memory", "cc");
	GUEST_ASSERT_EQ(count, 0);
	GUEST_ASSERT(p == buf - 1);
	for (i = 0; i < 64; i++)
		GUEST_ASSERT_EQ(buf[i], 0xfeedface);
	GUEST_ASSERT_EQ(buf[-1], 0x55555555);
	GUEST_ASSERT_EQ(buf[64], 0x55555555);
}

int
guest_main(void)
{
	test_plain();
	test_string_out();
	test_string_in();
	test_string_edges();
	guest_printf("pio: ok\n");
	return 0;
}
