/*
 * mmio: loads and stores of 1, 2, 4 and 8 bytes to the pc-testdev MMIO
 * region (64 KiB of RAM-like, byte-addressed, little-endian storage at
 * 0xff000000 that is not backed by RAM: every access is an MMIO exit).
 */
#include "guest.h"

#define BASE TESTDEV_MMIO

static inline uint8_t
rd8(unsigned long off)
{
	return *(volatile uint8_t *)(BASE + off);
}

static inline uint16_t
rd16(unsigned long off)
{
	return *(volatile uint16_t *)(BASE + off);
}

static inline uint32_t
rd32(unsigned long off)
{
	return *(volatile uint32_t *)(BASE + off);
}

static inline uint64_t
rd64(unsigned long off)
{
	return *(volatile uint64_t *)(BASE + off);
}

static inline void
wr8(unsigned long off, uint8_t v)
{
	*(volatile uint8_t *)(BASE + off) = v;
}

static inline void
wr16(unsigned long off, uint16_t v)
{
	*(volatile uint16_t *)(BASE + off) = v;
}

static inline void
wr32(unsigned long off, uint32_t v)
{
	*(volatile uint32_t *)(BASE + off) = v;
}

static inline void
wr64(unsigned long off, uint64_t v)
{
	*(volatile uint64_t *)(BASE + off) = v;
}

static void
test_initial(void)
{
	/* Nothing written yet: zero, at any size. */
	GUEST_ASSERT_EQ(rd64(0), 0);
	GUEST_ASSERT_EQ(rd32(0x1234), 0);
	GUEST_ASSERT_EQ(rd16(0x8000), 0);
	GUEST_ASSERT_EQ(rd8(0xffff), 0);
}

static void
test_sizes(void)
{
	wr8(0x00, 0x12);
	GUEST_ASSERT_EQ(rd8(0x00), 0x12);

	wr16(0x10, 0xbeef);
	GUEST_ASSERT_EQ(rd16(0x10), 0xbeef);
	GUEST_ASSERT_EQ(rd8(0x10), 0xef);
	GUEST_ASSERT_EQ(rd8(0x11), 0xbe);

	wr32(0x20, 0xdeadbeef);
	GUEST_ASSERT_EQ(rd32(0x20), 0xdeadbeef);
	GUEST_ASSERT_EQ(rd16(0x20), 0xbeef);
	GUEST_ASSERT_EQ(rd16(0x22), 0xdead);
	GUEST_ASSERT_EQ(rd8(0x23), 0xde);

	wr64(0x40, 0x0123456789abcdefULL);
	GUEST_ASSERT_EQ(rd64(0x40), 0x0123456789abcdefULL);
	GUEST_ASSERT_EQ(rd32(0x40), 0x89abcdef);
	GUEST_ASSERT_EQ(rd32(0x44), 0x01234567);
	GUEST_ASSERT_EQ(rd16(0x42), 0x89ab);
	GUEST_ASSERT_EQ(rd16(0x46), 0x0123);
	GUEST_ASSERT_EQ(rd8(0x40), 0xef);
	GUEST_ASSERT_EQ(rd8(0x43), 0x89);
	GUEST_ASSERT_EQ(rd8(0x47), 0x01);
	/* Inner, unaligned reads of it. */
	GUEST_ASSERT_EQ(rd32(0x42), 0x456789ab);
	GUEST_ASSERT_EQ(rd16(0x45), 0x2345);
	GUEST_ASSERT_EQ(rd64(0x41), 0x000123456789abcdULL);
	/* Neighbours untouched. */
	GUEST_ASSERT_EQ(rd8(0x3f), 0);
	GUEST_ASSERT_EQ(rd8(0x48), 0);

	/* Narrow writes into a wide value. */
	wr8(0x45, 0xaa);
	wr16(0x40, 0x5555);
	GUEST_ASSERT_EQ(rd64(0x40), 0x0123aa6789ab5555ULL);
}

static void
test_unaligned(void)
{
	wr64(0x101, 0xfedcba9876543210ULL);
	GUEST_ASSERT_EQ(rd64(0x101), 0xfedcba9876543210ULL);
	GUEST_ASSERT_EQ(rd8(0x100), 0);
	GUEST_ASSERT_EQ(rd8(0x101), 0x10);
	GUEST_ASSERT_EQ(rd8(0x108), 0xfe);
	GUEST_ASSERT_EQ(rd8(0x109), 0);
	GUEST_ASSERT_EQ(rd32(0x104), 0xdcba9876);

	wr32(0x203, 0xcafef00d);
	GUEST_ASSERT_EQ(rd32(0x203), 0xcafef00d);
	GUEST_ASSERT_EQ(rd16(0x204), 0xfef0);
	GUEST_ASSERT_EQ(rd32(0x200), 0x0d000000);

	wr16(0x301, 0x4321);
	GUEST_ASSERT_EQ(rd16(0x301), 0x4321);
	GUEST_ASSERT_EQ(rd32(0x300), 0x00432100);

	/* Accesses that cross a 4 KiB page boundary (split by KVM). */
	wr64(0x0ffc, 0x1122334455667788ULL);
	GUEST_ASSERT_EQ(rd64(0x0ffc), 0x1122334455667788ULL);
	GUEST_ASSERT_EQ(rd32(0x0ffc), 0x55667788);
	GUEST_ASSERT_EQ(rd32(0x1000), 0x11223344);
	wr32(0x1ffe, 0xa1b2c3d4);
	GUEST_ASSERT_EQ(rd32(0x1ffe), 0xa1b2c3d4);
	GUEST_ASSERT_EQ(rd16(0x2000), 0xa1b2);
}

static void
test_end(void)
{
	/* The last bytes of the region. */
	wr8(0xffff, 0x99);
	GUEST_ASSERT_EQ(rd8(0xffff), 0x99);
	wr16(0xfffe, 0x8877);
	GUEST_ASSERT_EQ(rd16(0xfffe), 0x8877);
	GUEST_ASSERT_EQ(rd8(0xffff), 0x88);
	wr32(0xfffc, 0x66554433);
	GUEST_ASSERT_EQ(rd32(0xfffc), 0x66554433);
	wr64(0xfff8, 0xf0e0d0c0b0a09080ULL);
	GUEST_ASSERT_EQ(rd64(0xfff8), 0xf0e0d0c0b0a09080ULL);
	GUEST_ASSERT_EQ(rd32(0xfffc), 0xf0e0d0c0);
	GUEST_ASSERT_EQ(rd16(0xfffe), 0xf0e0);
	GUEST_ASSERT_EQ(rd8(0xffff), 0xf0);
	wr32(0xfffb, 0x0a0b0c0d);
	GUEST_ASSERT_EQ(rd64(0xfff8), 0xf00a0b0c0da09080ULL);
}

int
guest_main(void)
{
	test_initial();
	test_sizes();
	test_unaligned();
	test_end();
	guest_printf("mmio: ok\n");
	return 0;
}
