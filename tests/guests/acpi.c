/*
 * acpi: find the RSDP in the BIOS area as an OS does (0xe0000-0xfffff,
 * 16-byte steps), walk RSDP -> XSDT (and RSDT) -> MADT, FADT, HPET, MCFG,
 * verify every checksum, find every vCPU's local APIC in the MADT, the
 * I/O APIC, the overrides and LINT1 as NMI, read \_S5's SLP_TYP from the
 * DSDT's AML and power off through FADT's PM1a control block.
 *
 * The test runs rhyve with -c 4 and without pc-testdev, so rhyve's exit
 * status 1 can only come from the ACPI power-off: a failed assertion
 * (or power-off returning) halts the vCPU instead (status 2).
 */
#include "guest.h"

#define EXPECT_CPUS 4

struct acpi_hdr {
	char sig[4];
	uint32_t len;
	uint8_t rev, csum;
	char oem[6], table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static uint8_t
sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len-- > 0)
		s = (uint8_t)(s + *b++);
	return s;
}

static uint16_t
ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
ld32(const uint8_t *p)
{
	return (uint32_t)ld16(p) | (uint32_t)ld16(p + 2) << 16;
}

static uint64_t
ld64(const uint8_t *p)
{
	return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static const struct acpi_hdr *
table_at(uint64_t addr, const char *sig)
{
	const struct acpi_hdr *h = (const struct acpi_hdr *)addr;

	GUEST_ASSERT(addr >= 0xe0000 && addr < 0x100000);
	GUEST_ASSERT(memcmp(h->sig, sig, 4) == 0);
	GUEST_ASSERT(h->len >= sizeof(*h) && addr + h->len <= 0x100000);
	GUEST_ASSERT_EQ(sum(h, h->len), 0);
	return h;
}

static const uint8_t *
find_rsdp(void)
{
	const uint8_t *found = NULL;

	for (uintptr_t a = 0xe0000; a < 0x100000; a += 16) {
		const uint8_t *p = (const uint8_t *)a;

		if (memcmp(p, "RSD PTR ", 8) != 0)
			continue;
		GUEST_ASSERT(found == NULL); /* exactly one */
		found = p;
	}
	GUEST_ASSERT(found != NULL);
	GUEST_ASSERT_EQ(sum(found, 20), 0);
	GUEST_ASSERT_EQ(found[15], 2); /* ACPI 2.0+: an XSDT */
	GUEST_ASSERT_EQ(ld32(found + 20), 36);
	GUEST_ASSERT_EQ(sum(found, 36), 0);
	return found;
}

static const struct acpi_hdr *madt, *fadt, *hpet, *mcfg;

static void
walk_xsdt(const uint8_t *rsdp)
{
	const struct acpi_hdr *xsdt = table_at(ld64(rsdp + 24), "XSDT");
	const struct acpi_hdr *rsdt = table_at(ld32(rsdp + 16), "RSDT");
	const uint8_t *x = (const uint8_t *)xsdt + sizeof(*xsdt);
	const uint8_t *r = (const uint8_t *)rsdt + sizeof(*rsdt);
	int n = (int)(xsdt->len - sizeof(*xsdt)) / 8;

	GUEST_ASSERT_EQ((rsdt->len - sizeof(*rsdt)) / 4, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		uint64_t a = ld64(x + 8 * i);
		const struct acpi_hdr *h = (const struct acpi_hdr *)a;

		GUEST_ASSERT_EQ(ld32(r + 4 * i), a); /* RSDT agrees */
		if (memcmp(h->sig, "APIC", 4) == 0)
			madt = table_at(a, "APIC");
		else if (memcmp(h->sig, "FACP", 4) == 0)
			fadt = table_at(a, "FACP");
		else if (memcmp(h->sig, "HPET", 4) == 0)
			hpet = table_at(a, "HPET");
		else if (memcmp(h->sig, "MCFG", 4) == 0)
			mcfg = table_at(a, "MCFG");
		guest_printf("acpi: %c%c%c%c at 0x%lx, %u bytes, rev %u\n",
			     h->sig[0], h->sig[1], h->sig[2], h->sig[3],
			     (unsigned long)a, h->len, h->rev);
	}
	GUEST_ASSERT(madt != NULL && fadt != NULL && hpet != NULL &&
		     mcfg != NULL);
}

static void
check_madt(void)
{
	const uint8_t *p = (const uint8_t *)madt + 44;
	const uint8_t *end = (const uint8_t *)madt + madt->len;
	uint32_t apics = 0;
	int ncpus = 0, nioapic = 0, nmi = 0;
	bool irq0 = false, sci = false;

	GUEST_ASSERT_EQ(ld32((const uint8_t *)madt + 36), 0xfee00000);
	while (p < end) {
		GUEST_ASSERT(p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case 0: /* processor local APIC */
			GUEST_ASSERT_EQ(p[1], 8);
			GUEST_ASSERT_EQ(ld32(p + 4) & 1, 1);
			GUEST_ASSERT(p[3] < 32 && !(apics & (1u << p[3])));
			apics |= 1u << p[3];
			ncpus++;
			break;
		case 1: /* I/O APIC */
			GUEST_ASSERT_EQ(ld32(p + 4), 0xfec00000);
			GUEST_ASSERT_EQ(ld32(p + 8), 0);
			nioapic++;
			break;
		case 2: /* interrupt source override */
			if (p[3] == 0 && ld32(p + 4) == 2)
				irq0 = true;
			if (p[3] == ld16((const uint8_t *)fadt + 46) &&
			    ld16(p + 8) == 0xf)
				sci = true;
			break;
		case 4: /* local APIC NMI */
			GUEST_ASSERT_EQ(p[2], 0xff);
			GUEST_ASSERT_EQ(p[5], 1); /* LINT1 */
			nmi++;
			break;
		}
		p += p[1];
	}
	GUEST_ASSERT_EQ(ncpus, EXPECT_CPUS);
	GUEST_ASSERT_EQ(apics, (1u << EXPECT_CPUS) - 1); /* IDs 0..n-1 */
	GUEST_ASSERT_EQ(nioapic, 1);
	GUEST_ASSERT(irq0 && sci);
	GUEST_ASSERT_EQ(nmi, 1);
	guest_printf("acpi: MADT: %d local APICs (ids 0x%x), 1 I/O APIC, "
		     "IRQ0->GSI2, SCI level/low, LINT1 NMI\n",
		     ncpus, apics);
}

/*
 * \_S5 in the DSDT: NameOp, (root prefix,) "_S5_", PackageOp PkgLength
 * NumElements, then the first element, PM1a's SLP_TYP.
 */
static int
s5_slp_typ(const struct acpi_hdr *dsdt)
{
	const uint8_t *p = (const uint8_t *)dsdt + sizeof(*dsdt);
	const uint8_t *end = (const uint8_t *)dsdt + dsdt->len;

	for (; p + 8 < end; p++) {
		if (memcmp(p, "_S5_", 4) != 0 || p[4] != 0x12)
			continue;
		p += 5;
		p += 1 + (*p >> 6); /* PkgLength */
		p++;                /* NumElements */
		if (p[0] == 0x0a)   /* BytePrefix */
			return p[1];
		GUEST_ASSERT(p[0] <= 1); /* ZeroOp, OneOp */
		return p[0];
	}
	GUEST_ASSERT(!"no \\_S5 package in the DSDT");
	return -1;
}

int
guest_main(void)
{
	const uint8_t *rsdp = find_rsdp(), *f;
	const struct acpi_hdr *dsdt;
	uint32_t pm1a_cnt;
	int slp_typ;

	guest_printf("acpi: RSDP at 0x%lx\n", (unsigned long)rsdp);
	walk_xsdt(rsdp);
	f = (const uint8_t *)fadt;
	check_madt();
	GUEST_ASSERT_EQ(ld64((const uint8_t *)hpet + 44), 0xfed00000);
	GUEST_ASSERT_EQ(ld64((const uint8_t *)mcfg + 44), 0xe0000000);
	GUEST_ASSERT_EQ(ld32(f + 76), 0x408); /* PM timer */
	GUEST_ASSERT_EQ(ld16(f + 46), 9);     /* SCI_INT */
	/* A fixed power button (PWR_BUTTON clear), no fixed sleep button. */
	GUEST_ASSERT_EQ(ld32(f + 112) & (3u << 4), 2u << 4);
	dsdt = table_at(ld64(f + 140), "DSDT");
	GUEST_ASSERT_EQ(ld32(f + 40), (uint64_t)(uintptr_t)dsdt);
	/* The FACS has no checksum; it must be 64-byte aligned. */
	GUEST_ASSERT_EQ(ld64(f + 132), ld32(f + 36));
	GUEST_ASSERT_EQ(ld64(f + 132) & 63, 0);
	GUEST_ASSERT(memcmp((const void *)ld64(f + 132), "FACS", 4) == 0);
	slp_typ = s5_slp_typ(dsdt);
	pm1a_cnt = ld32(f + 64);
	GUEST_ASSERT(pm1a_cnt != 0);
	GUEST_ASSERT_EQ(inw((uint16_t)pm1a_cnt) & 1, 1); /* SCI_EN */
	guest_printf("acpi: %d cpus in the MADT; powering off: SLP_TYP %d "
		     "to PM1a_CNT 0x%x\n",
		     EXPECT_CPUS, slp_typ, pm1a_cnt);
	outw((uint16_t)pm1a_cnt, (uint16_t)(slp_typ << 10 | 1 << 13));
	GUEST_ASSERT(!"still running after the ACPI power-off");
	return 1;
}
