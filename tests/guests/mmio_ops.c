/*
 * mmio_ops: instructions other than plain MOV on the pc-testdev MMIO
 * region: zero/sign-extending loads, read-modify-write arithmetic, XCHG,
 * LOCK CMPXCHG, CMP/TEST with a memory operand, and REP STOS/MOVS to and
 * from MMIO.  Under KVM the kernel's emulator splits these into read and
 * write exits; the values must come out right.
 */
#include "guest.h"

#define MMIO(off) ((volatile void *)(TESTDEV_MMIO + (off)))
#define M8(off)   (*(volatile uint8_t *)MMIO(off))
#define M16(off)  (*(volatile uint16_t *)MMIO(off))
#define M32(off)  (*(volatile uint32_t *)MMIO(off))
#define M64(off)  (*(volatile uint64_t *)MMIO(off))

static void
test_extending_loads(void)
{
	uint64_t v;

	M64(0x0) = 0x00000000f00080f0ULL;
	__asm__ volatile("movzbl %1, %k0" : "=r"(v) : "m"(M8(0x0)));
	GUEST_ASSERT_EQ(v, 0xf0);
	__asm__ volatile("movzwl %1, %k0" : "=r"(v) : "m"(M16(0x0)));
	GUEST_ASSERT_EQ(v, 0x80f0);
	__asm__ volatile("movsbq %1, %0" : "=r"(v) : "m"(M8(0x0)));
	GUEST_ASSERT_EQ(v, 0xfffffffffffffff0ULL);
	__asm__ volatile("movswq %1, %0" : "=r"(v) : "m"(M16(0x0)));
	GUEST_ASSERT_EQ(v, 0xffffffffffff80f0ULL);
	__asm__ volatile("movslq %1, %0" : "=r"(v) : "m"(M32(0x0)));
	GUEST_ASSERT_EQ(v, 0xfffffffff00080f0ULL);
	/* A 32-bit load zero-extends into the 64-bit register. */
	v = ~0ULL;
	__asm__ volatile("movl %1, %k0" : "+r"(v) : "m"(M32(0x0)));
	GUEST_ASSERT_EQ(v, 0xf00080f0);
	/* An 8-bit load leaves the rest of the register alone. */
	v = 0x1111111111111111ULL;
	__asm__ volatile("movb %1, %b0" : "+q"(v) : "m"(M8(0x1)));
	GUEST_ASSERT_EQ(v, 0x1111111111111180ULL);
	/* Immediate stores, a sign-extended imm32 for 8 bytes. */
	__asm__ volatile("movq $-2, %0" : "=m"(M64(0x8)));
	GUEST_ASSERT_EQ(M64(0x8), 0xfffffffffffffffeULL);
	__asm__ volatile("movw $0x1234, %0" : "=m"(M16(0x9)));
	GUEST_ASSERT_EQ(M64(0x8), 0xffffffffff1234feULL);
}

static void
test_rmw(void)
{
	uint64_t v;
	uint32_t old;
	uint8_t zf;

	M32(0x100) = 1000;
	__asm__ volatile("addl $5, %0" : "+m"(M32(0x100)));
	GUEST_ASSERT_EQ(M32(0x100), 1005);
	__asm__ volatile("subl $10, %0" : "+m"(M32(0x100)));
	GUEST_ASSERT_EQ(M32(0x100), 995);
	__asm__ volatile("incl %0" : "+m"(M32(0x100)));
	GUEST_ASSERT_EQ(M32(0x100), 996);
	__asm__ volatile("decw %0" : "+m"(M16(0x100)));
	GUEST_ASSERT_EQ(M32(0x100), 995);

	M8(0x108) = 0x0f;
	__asm__ volatile("orb $0x80, %0" : "+m"(M8(0x108)));
	GUEST_ASSERT_EQ(M8(0x108), 0x8f);
	__asm__ volatile("andb $0xf3, %0" : "+m"(M8(0x108)));
	GUEST_ASSERT_EQ(M8(0x108), 0x83);

	M64(0x110) = 0x00ff00ff00ff00ffULL;
	v = 0xffffffff00000000ULL;
	__asm__ volatile("xorq %1, %0" : "+m"(M64(0x110)) : "r"(v));
	GUEST_ASSERT_EQ(M64(0x110), 0xff00ff0000ff00ffULL);
	v = 1;
	__asm__ volatile("addq %1, %0" : "+r"(v) : "m"(M64(0x110)));
	GUEST_ASSERT_EQ(v, 0xff00ff0000ff0100ULL);

	/* XCHG (implicitly locked) swaps register and memory. */
	M32(0x120) = 0xaaaa5555;
	old = 0x12345678;
	__asm__ volatile("xchgl %0, %1" : "+r"(old), "+m"(M32(0x120)));
	GUEST_ASSERT_EQ(old, 0xaaaa5555);
	GUEST_ASSERT_EQ(M32(0x120), 0x12345678);

	/* LOCK CMPXCHG: equal -> store, ZF=1; different -> load, ZF=0. */
	old = 0x12345678;
	__asm__ volatile("lock cmpxchgl %3, %1; sete %0"
			 : "=q"(zf), "+m"(M32(0x120)), "+a"(old)
			 : "r"(0xcafebabeu)
			 : "cc");
	GUEST_ASSERT_EQ(zf, 1);
	GUEST_ASSERT_EQ(M32(0x120), 0xcafebabe);
	old = 0x12345678;
	__asm__ volatile("lock cmpxchgl %3, %1; sete %0"
			 : "=q"(zf), "+m"(M32(0x120)), "+a"(old)
			 : "r"(0xdeadbeefu)
			 : "cc");
	GUEST_ASSERT_EQ(zf, 0);
	GUEST_ASSERT_EQ(old, 0xcafebabe);
	GUEST_ASSERT_EQ(M32(0x120), 0xcafebabe);

	/* CMP and TEST read memory and set flags only. */
	__asm__ volatile("cmpl $0xcafebabe, %1; sete %0"
			 : "=q"(zf)
			 : "m"(M32(0x120))
			 : "cc");
	GUEST_ASSERT_EQ(zf, 1);
	__asm__ volatile("testb $0x01, %1; setz %0"
			 : "=q"(zf)
			 : "m"(M8(0x120))
			 : "cc");
	GUEST_ASSERT_EQ(zf, 1); /* 0xbe & 1 == 0 */
	GUEST_ASSERT_EQ(M32(0x120), 0xcafebabe);
}

static void
test_string(void)
{
	static uint8_t src[64], dst[64];
	volatile void *p;
	size_t n;
	int i;

	/* REP STOSL into MMIO. */
	p = MMIO(0x400);
	n = 8;
	__asm__ volatile("rep stosl"
			 : "+D"(p), "+c"(n)
			 : "a"(0x5a5a0000u)
			 : "memory");
	GUEST_ASSERT_EQ(n, 0);
	GUEST_ASSERT(p == MMIO(0x420));
	for (i = 0; i < 8; i++)
		GUEST_ASSERT_EQ(M32(0x400 + 4 * i), 0x5a5a0000);
	GUEST_ASSERT_EQ(M32(0x420), 0);

	/* REP MOVSB from RAM to MMIO ... */
	for (i = 0; i < 64; i++)
		src[i] = (uint8_t)(3 * i + 1);
	p = MMIO(0x501);
	{
		const void *s = src;

		n = sizeof(src);
		__asm__ volatile("rep movsb"
				 : "+D"(p), "+S"(s), "+c"(n)
				 :
				 : "memory");
		GUEST_ASSERT(s == src + sizeof(src));
	}
	GUEST_ASSERT_EQ(n, 0);
	for (i = 0; i < 64; i++)
		GUEST_ASSERT_EQ(M8(0x501 + i), src[i]);
	GUEST_ASSERT_EQ(M8(0x500), 0);
	GUEST_ASSERT_EQ(M8(0x541), 0);

	/* ... and back from MMIO to RAM, 8 bytes at a time. */
	{
		volatile void *s = MMIO(0x501);
		void *d = dst;

		n = sizeof(dst) / 8;
		__asm__ volatile("rep movsq"
				 : "+D"(d), "+S"(s), "+c"(n)
				 :
				 : "memory");
		GUEST_ASSERT(d == dst + sizeof(dst));
	}
	GUEST_ASSERT_EQ(n, 0);
	GUEST_ASSERT(memcmp(src, dst, sizeof(src)) == 0);

	/* LODSW from MMIO. */
	{
		volatile void *s = MMIO(0x502);
		uint16_t v;

		__asm__ volatile("lodsw" : "=a"(v), "+S"(s) : : "memory");
		GUEST_ASSERT_EQ(v, (uint16_t)(src[1] | src[2] << 8));
		GUEST_ASSERT(s == MMIO(0x504));
	}
}

int
guest_main(void)
{
	test_extending_loads();
	test_rmw();
	test_string();
	guest_printf("mmio_ops: ok\n");
	return 0;
}
