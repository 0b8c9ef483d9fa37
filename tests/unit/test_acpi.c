/*
 * ACPI (monitor/acpi.c, acpi_aml.c, pm.c): the AML builder's encodings,
 * the tables' checksums, lengths and links for 1 and 64 vCPUs, the DSDT's
 * devices, and the PM1 block's registers and power-off on a VM without
 * an engine.  With RHYVE_ACPI_DUMP=DIR the tables are also written there
 * (for `iasl -d`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit.h"
#include "fake_vm.h"
#include "rhyve.h"
#include "monitor_io.h"

#define BASE 0xf2400u

static void
test_aml_encodings(void)
{
	struct aml_buf b;
	size_t pos;
	static const uint8_t ints[] = { 0x00, 0x01, 0x0a, 0x2a, 0x0b, 0x34,
					0x12, 0x0c, 0x78, 0x56, 0x34, 0x12,
					0x0e, 1,    0,    0,    0,    1,
					0,    0,    0,    0xff };

	aml_init(&b);
	aml_integer(&b, 0);
	aml_integer(&b, 1);
	aml_integer(&b, 42);
	aml_integer(&b, 0x1234);
	aml_integer(&b, 0x12345678);
	aml_integer(&b, 0x100000001ULL);
	aml_integer(&b, UINT64_MAX);
	CU_ASSERT_EQUAL(aml_finish(&b), 0);
	CU_ASSERT_EQUAL(b.len, sizeof(ints));
	CU_ASSERT_EQUAL(memcmp(b.data, ints, sizeof(ints)), 0);
	aml_free(&b);

	/* Name strings: padding, root, dual and multi name prefixes. */
	aml_init(&b);
	aml_name(&b, "_S5");
	aml_name(&b, "\\_SB");
	aml_name(&b, "\\_SB.PC00");
	aml_name(&b, "_SB.PC00.ISA");
	CU_ASSERT_EQUAL(b.len, 4 + 5 + 10 + 14);
	CU_ASSERT_EQUAL(memcmp(b.data, "_S5_\\_SB_\\\x2e_SB_PC00", 19), 0);
	CU_ASSERT_EQUAL(memcmp(b.data + 19, "\x2f\x03_SB_PC00ISA_", 14), 0);
	aml_free(&b);

	/* EISA IDs as iasl compresses them. */
	CU_ASSERT_EQUAL(aml_eisaid_value("PNP0A03"), 0x030ad041u);
	CU_ASSERT_EQUAL(aml_eisaid_value("PNP0501"), 0x0105d041u);

	/* PkgLength: one byte up to 63, two bytes above (and 4096+). */
	for (size_t body = 0; body < 5000; body += 7) {
		uint8_t op = 0x10;
		size_t n, total;

		aml_init(&b);
		pos = aml_open(&b, &op, 1);
		for (size_t i = 0; i < body; i++)
			aml_byte(&b, 0x55);
		aml_close(&b, pos);
		n = body + 1 <= 63 ? 1 : body + 2 <= 0xfff ? 2 : 3;
		CU_ASSERT_EQUAL(b.len, 1 + n + body);
		total = n == 1 ? b.data[1]
			       : (size_t)(b.data[1] & 0xf) |
				     (size_t)b.data[2] << 4 |
				     (n == 3 ? (size_t)b.data[3] << 12 : 0);
		CU_ASSERT_EQUAL(b.data[1] >> 6, n - 1);
		CU_ASSERT_EQUAL(total, body + n);
		CU_ASSERT_EQUAL(b.data[b.len - 1], body ? 0x55 : b.data[1]);
		aml_free(&b);
	}

	/* A resource template: IO + IRQ + end tag inside a Buffer. */
	{
		struct aml_buf res;
		static const uint8_t want[] = { 0x11, 0x10, 0x0a, 0x0d, 0x47,
						0x01, 0xf8, 0x03, 0xf8, 0x03,
						0x01, 0x08, 0x22, 0x10, 0x00,
						0x79, 0x00 };

		aml_init(&b);
		aml_init(&res);
		aml_res_io(&res, 0x3f8, 0x3f8, 1, 8);
		aml_res_irq(&res, 4);
		aml_res_template(&b, &res);
		CU_ASSERT_EQUAL(b.len, sizeof(want));
		CU_ASSERT_EQUAL(memcmp(b.data, want, sizeof(want)), 0);
		aml_free(&b);
	}
}

static uint32_t
ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t
ld64(const uint8_t *p)
{
	return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

/* The table at guest address 'a', its checksum and signature checked. */
static const uint8_t *
table(const uint8_t *buf, size_t len, uint64_t a, const char *sig)
{
	const uint8_t *t;

	CU_ASSERT_FATAL(a >= BASE && a + 36 <= BASE + len);
	t = buf + (a - BASE);
	CU_ASSERT_EQUAL(memcmp(t, sig, 4), 0);
	CU_ASSERT_FATAL(a + ld32(t + 4) <= BASE + len);
	CU_ASSERT_EQUAL(acpi_checksum(t, ld32(t + 4)), 0);
	return t;
}

static bool
has_bytes(const uint8_t *p, size_t len, const void *what, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(p + i, what, n) == 0)
			return true;
	return false;
}

static void
dump(const char *name, const uint8_t *t)
{
	const char *dir = getenv("RHYVE_ACPI_DUMP");
	char path[512];
	FILE *fp;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	fp = fopen(path, "wb");
	if (fp == NULL)
		return;
	fwrite(t, 1, ld32(t + 4), fp);
	fclose(fp);
}

static void
check_tables(int ncpus, bool coms, int lpc_slot)
{
	static uint8_t buf[ACPI_TABLES_END - ACPI_TABLES_BASE];
	struct acpi_params p = {
		.ncpus = ncpus,
		.hpet_id = 0x8086a701,
		.lpc_slot = lpc_slot,
		.lpc_func = lpc_slot >= 0 ? 0 : -1,
		.mem64_base = 32ULL << 30,
		.mem64_limit = 64ULL << 30,
	};
	const uint8_t *xsdt, *rsdt, *fadt = NULL, *madt = NULL, *dsdt, *e;
	size_t len = 0;
	uint8_t eisa[5] = { 0x0c };
	int n, lapics = 0;

	if (coms) {
		p.com_port[0] = 0x3f8;
		p.com_irq[0] = 4;
		p.com_port[3] = 0x2e8;
		p.com_irq[3] = 3;
	}
	memset(buf, 0xee, sizeof(buf));
	CU_ASSERT_EQUAL_FATAL(
	    acpi_build_tables(&p, buf, sizeof(buf), BASE, &len), 0);
	CU_ASSERT(len > 0 && len <= sizeof(buf));
	/* RSDP: both checksums, revision 2, links. */
	CU_ASSERT_EQUAL(memcmp(buf, "RSD PTR ", 8), 0);
	CU_ASSERT_EQUAL(acpi_checksum(buf, 20), 0);
	CU_ASSERT_EQUAL(acpi_checksum(buf, 36), 0);
	CU_ASSERT_EQUAL(buf[15], 2);
	rsdt = table(buf, len, ld32(buf + 16), "RSDT");
	xsdt = table(buf, len, ld64(buf + 24), "XSDT");
	n = (int)(ld32(xsdt + 4) - 36) / 8;
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(ld32(rsdt + 4), 36 + 4 * (uint32_t)n);
	for (int i = 0; i < n; i++) {
		uint64_t a = ld64(xsdt + 36 + 8 * i);
		const uint8_t *t = buf + (a - BASE);

		CU_ASSERT_EQUAL(ld32(rsdt + 36 + 4 * i), a);
		if (memcmp(t, "FACP", 4) == 0)
			fadt = table(buf, len, a, "FACP");
		else if (memcmp(t, "APIC", 4) == 0)
			madt = table(buf, len, a, "APIC");
		else if (memcmp(t, "HPET", 4) == 0) {
			table(buf, len, a, "HPET");
			CU_ASSERT_EQUAL(ld32(t + 36), 0x8086a701);
			CU_ASSERT_EQUAL(ld64(t + 44), 0xfed00000);
			dump("hpet", t);
		} else if (memcmp(t, "MCFG", 4) == 0) {
			table(buf, len, a, "MCFG");
			CU_ASSERT_EQUAL(ld32(t + 4), 60);
			CU_ASSERT_EQUAL(ld64(t + 44), 0xe0000000);
			CU_ASSERT_EQUAL(t[55], 255);
			dump("mcfg", t);
		} else
			CU_FAIL("unexpected table");
	}
	CU_ASSERT_FATAL(fadt != NULL && madt != NULL);
	dump("facp", fadt);
	dump("apic", madt);
	/* FADT: length 276, revision 6, the PM blocks, FACS, DSDT. */
	CU_ASSERT_EQUAL(ld32(fadt + 4), ACPI_FADT_LEN);
	CU_ASSERT_EQUAL(fadt[8], 6);
	CU_ASSERT_EQUAL(ld32(fadt + 56), 0x400);
	CU_ASSERT_EQUAL(ld32(fadt + 64), 0x404);
	CU_ASSERT_EQUAL(ld32(fadt + 76), 0x408);
	CU_ASSERT_EQUAL(fadt[88], 4);
	CU_ASSERT_EQUAL(fadt[89], 2);
	CU_ASSERT_EQUAL(fadt[91], 4);
	CU_ASSERT_EQUAL(ld64(fadt + 132), ld32(fadt + 36));
	CU_ASSERT_EQUAL(ld64(fadt + 140), ld32(fadt + 40));
	CU_ASSERT_EQUAL(ld64(fadt + 132) % 64, 0);
	CU_ASSERT_EQUAL(memcmp(buf + (ld64(fadt + 132) - BASE), "FACS", 4), 0);
	CU_ASSERT_EQUAL(ld64(fadt + 172 + 4), 0x404); /* X_PM1a_CNT_BLK */
	dsdt = table(buf, len, ld64(fadt + 140), "DSDT");
	dump("dsdt", dsdt);
	/* MADT: ncpus local APICs, one I/O APIC, 2 overrides, 1 NMI. */
	CU_ASSERT_EQUAL(ld32(madt + 4), 44 + 8 * (uint32_t)ncpus + 12 + 20 + 6);
	for (e = madt + 44; e < madt + ld32(madt + 4); e += e[1]) {
		CU_ASSERT_FATAL(e[1] >= 2);
		if (e[0] == 0) {
			CU_ASSERT_EQUAL(e[3], lapics);
			lapics++;
		}
	}
	CU_ASSERT_EQUAL(lapics, ncpus);
	/* DSDT: the PCI root, the devices, the processors and \_S5. */
	CU_ASSERT(has_bytes(dsdt, ld32(dsdt + 4), "PC00", 4));
	CU_ASSERT(has_bytes(dsdt, ld32(dsdt + 4), "\x08_S5_\x12", 6) ||
		  has_bytes(dsdt, ld32(dsdt + 4), "\x08\\_S5_\x12", 7));
	CU_ASSERT_EQUAL(has_bytes(dsdt, ld32(dsdt + 4), "COM1", 4), coms);
	CU_ASSERT_FALSE(has_bytes(dsdt, ld32(dsdt + 4), "COM2", 4));
	CU_ASSERT_EQUAL(has_bytes(dsdt, ld32(dsdt + 4), "COM4", 4), coms);
	CU_ASSERT_EQUAL(has_bytes(dsdt, ld32(dsdt + 4), "ISA_", 4),
			lpc_slot >= 0);
	memcpy(eisa + 1, (uint32_t[]){ aml_eisaid_value("PNP0103") }, 4);
	CU_ASSERT(has_bytes(dsdt, ld32(dsdt + 4), eisa, 5)); /* HPET */
	CU_ASSERT(has_bytes(dsdt, ld32(dsdt + 4), "ACPI0007", 8));
	{
		char last[5];

		snprintf(last, sizeof(last), "C%03X", ncpus - 1);
		CU_ASSERT(has_bytes(dsdt, ld32(dsdt + 4), last, 4));
	}
}

static void
test_tables(void)
{
	check_tables(1, false, -1);
	check_tables(4, true, 31);
	check_tables(VM_MAXCPU, true, -1);
}

static void
test_tables_too_small(void)
{
	uint8_t buf[512];
	struct acpi_params p = { .ncpus = 2, .lpc_slot = -1, .lpc_func = -1 };
	size_t len;

	CU_ASSERT_NOT_EQUAL(acpi_build_tables(&p, buf, sizeof(buf), BASE, &len),
			    0);
	p.ncpus = 0;
	CU_ASSERT_NOT_EQUAL(acpi_build_tables(&p, buf, sizeof(buf), BASE, &len),
			    0);
}

static struct vm *vm;

static uint32_t
pio(bool in, int port, int bytes, uint32_t val)
{
	CU_ASSERT_EQUAL(monitor_pio(vm, in, port, bytes, &val), 0);
	return val;
}

static void
test_pm1(void)
{
	init_inout();
	vm = fake_vm_create();
	CU_ASSERT_EQUAL_FATAL(pm_init(vm), 0);
	/* SCI_EN reads set and stays set; SLP_EN reads 0. */
	CU_ASSERT_EQUAL(pio(true, 0x404, 2, 0), 1);
	pio(false, 0x404, 2, 0);
	CU_ASSERT_EQUAL(pio(true, 0x404, 2, 0), 1);
	/* Enables keep their defined bits; status is write-1-to-clear. */
	pio(false, 0x402, 2, 0xffff);
	CU_ASSERT_EQUAL(pio(true, 0x402, 2, 0), 0x0721);
	CU_ASSERT_EQUAL(pio(true, 0x400, 4, 0), 0x07210000);
	pio(false, 0x400, 2, 0xffff);
	CU_ASSERT_EQUAL(pio(true, 0x400, 2, 0), 0);
	/* Another sleep type with SLP_EN does nothing. */
	pio(false, 0x404, 2, 1 << 10 | 1 << 13);
	CU_ASSERT_EQUAL(vm_suspended(vm), VM_SUSPEND_NONE);
	CU_ASSERT_EQUAL(pio(true, 0x404, 2, 0), 1 << 10 | 1);
	/* S5 without SLP_EN only sets SLP_TYP ... */
	pio(false, 0x405, 1, PM_SLP_TYP_S5 << 2);
	CU_ASSERT_EQUAL(vm_suspended(vm), VM_SUSPEND_NONE);
	CU_ASSERT_EQUAL(pio(true, 0x404, 2, 0), PM_SLP_TYP_S5 << 10 | 1);
	/* ... and SLP_EN with it (a byte write to the high half) powers off. */
	pio(false, 0x405, 1, PM_SLP_TYP_S5 << 2 | 0x20);
	CU_ASSERT_EQUAL(vm_suspended(vm), VM_SUSPEND_POWEROFF);
	/* The reset register keeps its bits. */
	pio(false, 0xcf9, 1, 0x02);
	CU_ASSERT_EQUAL(pio(true, 0xcf9, 1, 0), 0x02);
	pm_deinit();
	CU_ASSERT_EQUAL(pio(true, 0x404, 2, 0), 0xffff);
	fake_vm_destroy(vm);
}

static CU_TestInfo acpi_tests[] = {
	{ "AML encodings", test_aml_encodings },
	{ "tables: checksums, lengths, links, contents", test_tables },
	{ "tables that do not fit", test_tables_too_small },
	{ "PM1 registers and power-off", test_pm1 },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "acpi", acpi_tests },
	{ NULL, NULL },
};
