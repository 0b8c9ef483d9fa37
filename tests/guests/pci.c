/*
 * pci: enumerate bus 0 through config mechanism #1 (0xcf8/0xcfc) and
 * through the ECAM window at 0xe0000000 (identity-mapped by the loader),
 * and check that both see the same functions and the same config space.
 * The test runs rhyve with
 *
 *   -s 0,hostbridge -s 1:0,amd_hostbridge
 *   -s 1:2,hostbridge,vendor=0x8086,devid=0x1237 -s 31,lpc
 *
 * and expects exactly those four functions, slot 1 multi-function.  None
 * of these models has a BAR (BAR moves are covered by unit.test_pci), so
 * every BAR reads 0 and stays 0 when sized.
 */
#include "guest.h"

#define CONF1_ADDR 0xcf8
#define CONF1_DATA 0xcfc
#define ECAM_BASE  0xe0000000UL

struct func {
	int slot, func;
	uint16_t vendor, device;
	uint8_t class, subclass;
	bool mf;
};

static const struct func expected[] = {
	{ 0, 0, 0x1275, 0x1275, 0x06, 0x00, false },
	{ 1, 0, 0x1022, 0x7432, 0x06, 0x00, true },
	{ 1, 2, 0x8086, 0x1237, 0x06, 0x00, true },
	{ 31, 0, 0x8086, 0x7000, 0x06, 0x01, false },
};
#define NEXPECTED (int)(sizeof(expected) / sizeof(expected[0]))

static uint32_t
conf1_addr(int bus, int slot, int func, int off)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)slot << 11 |
	       (uint32_t)func << 8 | (uint32_t)(off & 0xfc);
}

static uint32_t
conf1_read(int bus, int slot, int func, int off, int bytes)
{
	outl(CONF1_ADDR, conf1_addr(bus, slot, func, off));
	if (bytes == 1)
		return inb((uint16_t)(CONF1_DATA + (off & 3)));
	if (bytes == 2)
		return inw((uint16_t)(CONF1_DATA + (off & 2)));
	return inl(CONF1_DATA);
}

static void
conf1_write(int bus, int slot, int func, int off, int bytes, uint32_t v)
{
	outl(CONF1_ADDR, conf1_addr(bus, slot, func, off));
	if (bytes == 1)
		outb((uint16_t)(CONF1_DATA + (off & 3)), (uint8_t)v);
	else if (bytes == 2)
		outw((uint16_t)(CONF1_DATA + (off & 2)), (uint16_t)v);
	else
		outl(CONF1_DATA, v);
}

static volatile void *
ecam(int bus, int slot, int func, int off)
{
	return (volatile void *)(ECAM_BASE + ((unsigned long)bus << 20 |
					      (unsigned long)slot << 15 |
					      (unsigned long)func << 12 |
					      (unsigned long)off));
}

static uint32_t
ecam_read32(int bus, int slot, int func, int off)
{
	return *(volatile uint32_t *)ecam(bus, slot, func, off);
}

static struct func found[32 * 8];
static int nfound;

/* The usual scan: function 0 of each slot, the others if it says so. */
static void
test_enumerate(void)
{
	for (int s = 0; s < 32; s++) {
		uint8_t hdr;

		if ((conf1_read(0, s, 0, 0, 4) & 0xffff) == 0xffff)
			continue;
		hdr = (uint8_t)conf1_read(0, s, 0, 0x0e, 1);
		for (int f = 0; f < ((hdr & 0x80) ? 8 : 1); f++) {
			uint32_t id = conf1_read(0, s, f, 0, 4);
			uint32_t cls = conf1_read(0, s, f, 8, 4);
			struct func *p = &found[nfound];

			if ((id & 0xffff) == 0xffff)
				continue;
			p->slot = s;
			p->func = f;
			p->vendor = (uint16_t)id;
			p->device = (uint16_t)(id >> 16);
			p->class = (uint8_t)(cls >> 24);
			p->subclass = (uint8_t)(cls >> 16);
			p->mf = (conf1_read(0, s, f, 0x0e, 1) & 0x80) != 0;
			guest_printf(
			    "pci: 0:%02x.%d %04x:%04x class %02x%02x%s\n", s, f,
			    p->vendor, p->device, p->class, p->subclass,
			    p->mf ? " (multi-function)" : "");
			nfound++;
		}
	}
	GUEST_ASSERT_EQ(nfound, NEXPECTED);
	for (int i = 0; i < NEXPECTED; i++) {
		GUEST_ASSERT_EQ(found[i].slot, expected[i].slot);
		GUEST_ASSERT_EQ(found[i].func, expected[i].func);
		GUEST_ASSERT_EQ(found[i].vendor, expected[i].vendor);
		GUEST_ASSERT_EQ(found[i].device, expected[i].device);
		GUEST_ASSERT_EQ(found[i].class, expected[i].class);
		GUEST_ASSERT_EQ(found[i].subclass, expected[i].subclass);
		GUEST_ASSERT_EQ(found[i].mf, expected[i].mf);
	}
}

/* ECAM sees what mechanism #1 sees, for every function of bus 0. */
static void
test_ecam(void)
{
	for (int s = 0; s < 32; s++)
		for (int f = 0; f < 8; f++)
			GUEST_ASSERT_EQ(ecam_read32(0, s, f, 0),
					conf1_read(0, s, f, 0, 4));
	for (int i = 0; i < nfound; i++) {
		int s = found[i].slot, f = found[i].func;

		for (int off = 0; off < 256; off += 4)
			GUEST_ASSERT_EQ(ecam_read32(0, s, f, off),
					conf1_read(0, s, f, off, 4));
		/* Narrow ECAM reads. */
		GUEST_ASSERT_EQ(*(volatile uint16_t *)ecam(0, s, f, 2),
				found[i].device);
		GUEST_ASSERT_EQ(*(volatile uint8_t *)ecam(0, s, f, 0x0b),
				found[i].class);
		/* No extended capabilities: a zero header at 0x100. */
		GUEST_ASSERT_EQ(ecam_read32(0, s, f, 0x100), 0);
	}
	/* Only bus 0 has devices; the window covers buses 0-255. */
	GUEST_ASSERT_EQ(ecam_read32(1, 0, 0, 0), 0xffffffff);
	GUEST_ASSERT_EQ(ecam_read32(255, 31, 7, 0xffc), 0xffffffff);
	/* A write through ECAM shows through mechanism #1. */
	*(volatile uint8_t *)ecam(0, 31, 0, 0x3c) = 0x0b;
	GUEST_ASSERT_EQ(conf1_read(0, 31, 0, 0x3c, 1), 0x0b);
}

static void
test_conf1(void)
{
	uint32_t a = conf1_addr(0, 31, 0, 0x08);

	/* The address register reads back; reserved bits 30:24, 1:0 drop. */
	outl(CONF1_ADDR, a | 0x7f000003);
	GUEST_ASSERT_EQ(inl(CONF1_ADDR), a);
	/* Narrow accesses to the data window. */
	outl(CONF1_ADDR, conf1_addr(0, 31, 0, 0));
	GUEST_ASSERT_EQ(inw(CONF1_DATA), 0x8086);
	GUEST_ASSERT_EQ(inw(CONF1_DATA + 2), 0x7000);
	GUEST_ASSERT_EQ(inb(CONF1_DATA + 1), 0x80);
	GUEST_ASSERT_EQ(inb(CONF1_DATA + 3), 0x70);
	/* Enable bit clear: no config cycle, all-ones. */
	outl(CONF1_ADDR, conf1_addr(0, 31, 0, 0) & ~0x80000000u);
	GUEST_ASSERT_EQ(inl(CONF1_DATA), 0xffffffff);
	/* Absent functions and buses. */
	GUEST_ASSERT_EQ(conf1_read(0, 2, 0, 0, 4), 0xffffffff);
	GUEST_ASSERT_EQ(conf1_read(0, 1, 1, 0, 2), 0xffff);
	GUEST_ASSERT_EQ(conf1_read(3, 0, 0, 0, 4), 0xffffffff);
}

static void
test_writes(void)
{
	/* IDs and class are read-only. */
	conf1_write(0, 0, 0, 0, 4, 0x12345678);
	GUEST_ASSERT_EQ(conf1_read(0, 0, 0, 0, 4), 0x12751275);
	conf1_write(0, 0, 0, 0x08, 4, 0);
	GUEST_ASSERT_EQ(conf1_read(0, 0, 0, 0x0b, 1), 0x06);
	/* Interrupt line: read/write. */
	conf1_write(0, 0, 0, 0x3c, 1, 0x5a);
	GUEST_ASSERT_EQ(conf1_read(0, 0, 0, 0x3c, 1), 0x5a);
	/* Command: the writable bits only (I/O, memory, master, parity,
	 * SERR, INTx disable). */
	conf1_write(0, 0, 0, 0x04, 2, 0xffff);
	GUEST_ASSERT_EQ(conf1_read(0, 0, 0, 0x04, 2), 0x0547);
	conf1_write(0, 0, 0, 0x04, 2, 0);
	GUEST_ASSERT_EQ(conf1_read(0, 0, 0, 0x04, 2), 0);
	/* No BARs: they read 0 and stay 0 when sized. */
	for (int i = 0; i < nfound; i++) {
		for (int b = 0; b < 6; b++) {
			int s = found[i].slot, f = found[i].func;

			conf1_write(0, s, f, 0x10 + 4 * b, 4, 0xffffffff);
			GUEST_ASSERT_EQ(conf1_read(0, s, f, 0x10 + 4 * b, 4),
					0);
		}
	}
}

/* The host bridge carries a PCI Express capability, as bhyve's. */
static void
test_caps(void)
{
	uint8_t ptr;

	GUEST_ASSERT(conf1_read(0, 0, 0, 0x06, 2) & 0x10);
	ptr = (uint8_t)conf1_read(0, 0, 0, 0x34, 1);
	GUEST_ASSERT_EQ(ptr, 0x40);
	GUEST_ASSERT_EQ(conf1_read(0, 0, 0, ptr, 1), 0x10);     /* PCIe */
	GUEST_ASSERT_EQ(conf1_read(0, 0, 0, ptr + 1, 1), 0);    /* last */
	GUEST_ASSERT_EQ(conf1_read(0, 0, 0, ptr + 2, 1), 0x42); /* v2, RP */
	/* The LPC bridge has none. */
	GUEST_ASSERT_EQ(conf1_read(0, 31, 0, 0x06, 2) & 0x10, 0);
}

int
guest_main(void)
{
	test_enumerate();
	test_ecam();
	test_conf1();
	test_writes();
	test_caps();
	guest_printf("pci: %d functions on bus 0: ok\n", nfound);
	return 0;
}
