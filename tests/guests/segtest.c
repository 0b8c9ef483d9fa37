/*
 * segtest: LAR, LSL, VERR and VERW on a GDT of the guest's own (Intel SDM
 * vol. 2): what each gives for code and data segments of both privilege
 * levels, a conforming segment, a byte-granular limit, system
 * descriptors valid in IA-32e mode (LDT, 64-bit TSS) and one that is not
 * (a 16-bit TSS), null and out-of-limit selectors and an RPL above the
 * DPL.  Interrupts stay off while the guest's GDT is loaded (CS keeps
 * its hidden part; nothing reloads it).
 */
#include "guest.h"

static const uint64_t gdt[] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffULL, /* 0x08 code, DPL 0, 64-bit */
	0x00cf92000000ffffULL, /* 0x10 data, DPL 0, writable, 4 GiB */
	0x00cff0000000ffffULL, /* 0x18 data, DPL 3, read-only */
	0x00cff8000000ffffULL, /* 0x20 code, DPL 3, execute-only */
	0x00cffe000000ffffULL, /* 0x28 code, DPL 3, conforming, readable */
	0x0041920000002345ULL, /* 0x30 data, DPL 0, byte limit 0x12345 */
	0x0000890000000067ULL, /* 0x38 64-bit TSS (16 bytes) */
	0,
	0x0000820000000fffULL, /* 0x48 LDT (16 bytes) */
	0,
	0x0000830000000067ULL, /* 0x58 16-bit busy TSS: not in IA-32e mode */
};

static inline void
lgdt(const struct guest_dtr *dtr)
{
	__asm__ volatile("lgdt %0" : : "m"(*dtr) : "memory");
}

static inline void
sgdt(struct guest_dtr *dtr)
{
	__asm__ volatile("sgdt %0" : "=m"(*dtr));
}

struct result {
	uint64_t val;
	bool zf;
};

/* LAR or LSL of 'sel' into a register that starts as 'untouched'. */
#define SELECTOR_RESULT(insn, sel)                                             \
	({                                                                     \
		uint64_t v_ = 0xdeadbeefcafef00dULL;                           \
		uint8_t zf_;                                                   \
                                                                               \
		__asm__ volatile(insn " %2, %0; setz %1"                       \
				 : "+r"(v_), "=r"(zf_)                         \
				 : "r"((uint64_t)(sel))                        \
				 : "cc");                                      \
		(struct result){ v_, zf_ };                                    \
	})
#define lar(sel) SELECTOR_RESULT("larq", sel)
#define lsl(sel) SELECTOR_RESULT("lslq", sel)

static bool
verr(uint16_t sel)
{
	uint8_t zf;

	__asm__ volatile("verr %1; setz %0" : "=r"(zf) : "r"(sel) : "cc");
	return zf;
}

static bool
verw(uint16_t sel)
{
	uint8_t zf;

	__asm__ volatile("verw %1; setz %0" : "=r"(zf) : "m"(sel) : "cc");
	return zf;
}

#define EXPECT(r, want_zf, want_val)                                           \
	do {                                                                   \
		struct result r_ = (r);                                        \
		GUEST_ASSERT_EQ(r_.zf, (want_zf));                             \
		GUEST_ASSERT_EQ(r_.val, (want_val));                           \
	} while (0)

int
guest_main(void)
{
	const uint64_t untouched = 0xdeadbeefcafef00dULL;
	struct guest_dtr saved, mine = { sizeof(gdt) - 1, (uint64_t)gdt };
	struct result r[12];
	bool rd[12], wr[12];

	cli();
	sgdt(&saved);
	lgdt(&mine);
	for (int i = 0; i < 12; i++) {
		r[i] = lar((uint16_t)(i * 8));
		rd[i] = verr((uint16_t)(i * 8));
		wr[i] = verw((uint16_t)(i * 8));
	}
	struct result l10 = lsl(0x10), l30 = lsl(0x30), l38 = lsl(0x38);
	struct result l48 = lsl(0x48), l58 = lsl(0x58), l20 = lsl(0x20);
	struct result rpl = lar(0x13), out = lar(0x60), ldt = lar(0x04);
	bool rpl_r = verr(0x13), conf_r = verr(0x2b);
	lgdt(&saved);

	EXPECT(r[0], false, untouched); /* null */
	EXPECT(r[1], true, 0x00a09a00);
	EXPECT(r[2], true, 0x00c09200);
	EXPECT(r[3], true, 0x00c0f000);
	EXPECT(r[4], true, 0x00c0f800);
	EXPECT(r[5], true, 0x00c0fe00);
	EXPECT(r[6], true, 0x00409200);
	EXPECT(r[7], true, 0x00008900);  /* 64-bit TSS */
	EXPECT(r[9], true, 0x00008200);  /* LDT */
	EXPECT(r[11], false, untouched); /* 16-bit TSS: not in IA-32e */
	EXPECT(rpl, false, untouched);   /* RPL 3 > DPL 0 */
	EXPECT(out, false, untouched);   /* past the GDT's limit */
	EXPECT(ldt, false, untouched);   /* no LDT loaded */
	EXPECT(l10, true, 0xffffffffULL);
	EXPECT(l30, true, 0x12345);
	EXPECT(l38, true, 0x67);
	EXPECT(l48, true, 0xfff);
	EXPECT(l58, false, untouched);
	EXPECT(l20, true, 0xffffffffULL);
	/* VERR: readable code and data; VERW: writable data only. */
	GUEST_ASSERT(!rd[0] && !wr[0]);
	GUEST_ASSERT(rd[1] && !wr[1]);
	GUEST_ASSERT(rd[2] && wr[2]);
	GUEST_ASSERT(rd[3] && !wr[3]);
	GUEST_ASSERT(!rd[4] && !wr[4]); /* execute-only */
	GUEST_ASSERT(rd[5] && !wr[5]);
	GUEST_ASSERT(rd[6] && wr[6]);
	GUEST_ASSERT(!rd[7] && !wr[7]); /* system */
	GUEST_ASSERT(!rpl_r);
	GUEST_ASSERT(conf_r); /* conforming: no privilege check */
	guest_printf("segtest: LAR, LSL, VERR, VERW ok\n");
	return 0;
}
