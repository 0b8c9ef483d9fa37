/*
 * ACPI tables, after bhyve's acpi.c but without iasl: rhyve writes the
 * tables itself, the DSDT's AML with acpi_aml.c, and copies them into
 * guest memory in the BIOS area at ACPI_TABLES_BASE (bhyve's 0xf2400),
 * where an OS finds the RSDP by scanning 0xe0000-0xfffff; a Linux kernel
 * is also told its address in the zero page (acpi_rsdp_addr).
 *
 *   RSDP (ACPI 2.0+) -> RSDT and XSDT -> FADT (-> FACS, DSDT), MADT,
 *                                         HPET, MCFG
 *
 * FADT: the PM1a event and control blocks (pm.c, 0x400/0x404), the PM
 *   timer (kmod's vpmtmr, 0x408, 24 bits), SCI IRQ 9, no SMI command port
 *   (always in ACPI mode), the reset register 0xcf9, the RTC century at
 *   CMOS 0x32.
 * MADT: a local APIC per vCPU (APIC ID = vCPU number), the I/O APIC at
 *   0xfec00000 (ID 0, GSI base 0), the overrides IRQ0 -> GSI 2 and SCI
 *   (IRQ 9) level active-low, LINT1 as NMI on every processor.
 * HPET: kmod's vhpet at 0xfed00000 with its capabilities' ID.
 * MCFG: the ECAM window of pci_emul.c, bus 0-255.
 * DSDT: \_SB.PC00 (the PCI root, its bus, I/O and memory windows in
 *   _CRS), the LPC devices (the configured COM ports, the RTC, the PIT,
 *   the PIC pair, the HPET, fw_cfg) under \_SB.PC00.ISA (the lpc
 *   function's address) or directly under PC00 when there is no lpc
 *   function, a processor device per vCPU, and \_S5.
 */
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

#define ACPI_OEM_ID      "RHYVE "
#define ACPI_CREATOR_ID  "RHYV"
#define ACPI_HDR_LEN     36
#define ACPI_ALIGN       64 /* the FACS must be 64-byte aligned */

#define ACPI_SCI_IRQ     9
#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_LAPIC_ADDR  0xfee00000u
#define ACPI_HPET_ADDR   0xfed00000u
#define ACPI_PMTMR_PORT  0x408
#define ACPI_RTC_CENTURY 0x32

struct acpi_builder {
	uint8_t *buf;
	size_t cap, len;
	uint64_t gpa; /* guest address of buf[0] */
	bool overflow;
};

static void
put8(uint8_t *p, uint64_t v)
{
	p[0] = (uint8_t)v;
}

static void
put16(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 2; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put32(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint8_t
acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

/* Room for 'len' bytes at the next aligned offset; NULL if full. */
static uint8_t *
acpi_alloc(struct acpi_builder *ab, size_t len, size_t *offp)
{
	size_t off = (ab->len + ACPI_ALIGN - 1) & ~(size_t)(ACPI_ALIGN - 1);

	if (ab->overflow || off > ab->cap || len > ab->cap - off) {
		ab->overflow = true;
		return NULL;
	}
	memset(ab->buf + off, 0, len);
	ab->len = off + len;
	*offp = off;
	return ab->buf + off;
}

/* The common header; the checksum is set by acpi_table_done(). */
static void
acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev,
	    const char *table_id)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	put8(t + 8, rev);
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, table_id, 8);
	put32(t + 24, 1); /* OEM revision */
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	put32(t + 32, 1); /* creator revision */
}

static void
acpi_table_done(uint8_t *t)
{
	uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 |
		       (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;

	t[9] = 0;
	t[9] = acpi_checksum(t, len);
}

/* A Generic Address Structure: system I/O or memory. */
static void
acpi_gas(uint8_t *p, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr)
{
	put8(p, space);
	put8(p + 1, bits);
	put8(p + 2, 0); /* bit offset */
	put8(p + 3, access);
	put64(p + 4, addr);
}

#define GAS_MEMORY 0
#define GAS_IO     1

/* ---- the DSDT ----------------------------------------------------------- */

static void
dsdt_name_int(struct aml_buf *b, const char *name, uint64_t v)
{
	aml_name_decl(b, name);
	aml_integer(b, v);
}

static void
dsdt_name_eisaid(struct aml_buf *b, const char *name, const char *id)
{
	aml_name_decl(b, name);
	aml_eisaid(b, id);
}

/* Name(_CRS, ResourceTemplate() { ... }) from a finished template. */
static void
dsdt_crs(struct aml_buf *b, struct aml_buf *res)
{
	aml_name_decl(b, "_CRS");
	aml_res_template(b, res);
}

static void
dsdt_pci_root(struct aml_buf *b, const struct acpi_params *p)
{
	struct aml_buf res;

	dsdt_name_eisaid(b, "_HID", "PNP0A08"); /* PCI Express */
	dsdt_name_eisaid(b, "_CID", "PNP0A03"); /* PCI */
	dsdt_name_int(b, "_ADR", 0);
	dsdt_name_int(b, "_UID", 0);
	dsdt_name_int(b, "_BBN", 0);
	dsdt_name_int(b, "_SEG", 0);
	aml_init(&res);
	aml_res_addr(&res, 2, 2, 0, 0, 0xff); /* buses 0-255 */
	aml_res_io(&res, PCI_CONF1_ADDR_PORT, PCI_CONF1_ADDR_PORT, 1, 8);
	/* The port space around the config ports, to the guest's PCI. */
	aml_res_addr(&res, 2, 1, 3, 0, PCI_CONF1_ADDR_PORT - 1);
	aml_res_addr(&res, 2, 1, 3, PCI_CONF1_ADDR_PORT + 8, 0xffff);
	/* The VGA window, then the 32-bit and 64-bit BAR windows. */
	aml_res_addr(&res, 4, 0, 0x03, 0xa0000, 0xbffff);
	aml_res_addr(&res, 4, 0, 0x03, PCI_EMUL_MEMBASE32,
		     PCI_EMUL_MEMLIMIT32 - 1);
	if (p->mem64_limit > p->mem64_base)
		aml_res_addr(&res, 8, 0, 0x03, p->mem64_base,
			     p->mem64_limit - 1);
	dsdt_crs(b, &res);
}

/* One legacy device: _HID, optional _UID, a _CRS of ports and an IRQ. */
static void
dsdt_legacy(struct aml_buf *b, const char *name, const char *hid, int uid,
	    const uint16_t *ports, const uint8_t *lens, int nports, int irq)
{
	struct aml_buf res;
	size_t dev = aml_device(b, name);

	dsdt_name_eisaid(b, "_HID", hid);
	if (uid >= 0)
		dsdt_name_int(b, "_UID", (uint64_t)uid);
	aml_init(&res);
	for (int i = 0; i < nports; i++)
		aml_res_io(&res, ports[i], ports[i], 1, lens[i]);
	if (irq >= 0)
		aml_res_irq(&res, irq);
	dsdt_crs(b, &res);
	aml_close(b, dev);
}

static void
dsdt_lpc_devices(struct aml_buf *b, const struct acpi_params *p)
{
	static const uint16_t rtc_ports[] = { 0x70, 0x72 },
			      pit_ports[] = { 0x40 },
			      pic_ports[] = { 0x20, 0xa0, 0x4d0 };
	static const uint8_t rtc_lens[] = { 2, 2 }, pit_lens[] = { 4 },
			     pic_lens[] = { 2, 2, 2 };
	struct aml_buf res;
	size_t dev;

	for (int i = 0; i < 4; i++) {
		char name[5] = { 'C', 'O', 'M', (char)('1' + i), '\0' };
		uint8_t len = 8;

		if (p->com_port[i] == 0)
			continue;
		dsdt_legacy(b, name, "PNP0501", i + 1, &p->com_port[i], &len, 1,
			    p->com_irq[i]);
	}
	dsdt_legacy(b, "RTC", "PNP0B00", -1, rtc_ports, rtc_lens, 2, 8);
	dsdt_legacy(b, "TIMR", "PNP0100", -1, pit_ports, pit_lens, 1, 0);
	dsdt_legacy(b, "PIC", "PNP0000", -1, pic_ports, pic_lens, 3, 2);

	dev = aml_device(b, "HPET");
	dsdt_name_eisaid(b, "_HID", "PNP0103");
	dsdt_name_int(b, "_UID", 0);
	aml_init(&res);
	aml_res_mem32_fixed(&res, false, ACPI_HPET_ADDR, 0x400);
	dsdt_crs(b, &res);
	aml_close(b, dev);

	/* QEMU's fw_cfg device, which Linux's qemu_fw_cfg driver finds. */
	dev = aml_device(b, "FWCF");
	aml_name_decl(b, "_HID");
	aml_string(b, "QEMU0002");
	dsdt_name_int(b, "_STA", 0x0b); /* present, enabled, not shown */
	aml_init(&res);
	aml_res_io(&res, FWCFG_SELECTOR_PORT, FWCFG_SELECTOR_PORT, 1, 2);
	dsdt_crs(b, &res);
	aml_close(b, dev);
}

static int
acpi_dsdt(struct aml_buf *b, const struct acpi_params *p)
{
	size_t sb, pci, isa, pkg;

	sb = aml_scope(b, "\\_SB");
	pci = aml_device(b, "PC00");
	dsdt_pci_root(b, p);
	if (p->lpc_slot >= 0) {
		isa = aml_device(b, "ISA");
		dsdt_name_int(b, "_ADR",
			      (uint64_t)p->lpc_slot << 16 |
				  (uint64_t)p->lpc_func);
		dsdt_lpc_devices(b, p);
		aml_close(b, isa);
	} else {
		dsdt_lpc_devices(b, p);
	}
	aml_close(b, pci);
	for (int i = 0; i < p->ncpus; i++) {
		char name[5];
		size_t cpu;

		name[0] = 'C';
		name[1] = "0123456789ABCDEF"[(i >> 8) & 15];
		name[2] = "0123456789ABCDEF"[(i >> 4) & 15];
		name[3] = "0123456789ABCDEF"[i & 15];
		name[4] = '\0';
		cpu = aml_device(b, name);
		aml_name_decl(b, "_HID");
		aml_string(b, "ACPI0007");
		dsdt_name_int(b, "_UID", (uint64_t)i);
		aml_close(b, cpu);
	}
	aml_close(b, sb);
	/* \_S5: SLP_TYP for PM1a and PM1b, two reserved. */
	aml_name_decl(b, "\\_S5");
	pkg = aml_package(b, 4);
	aml_integer(b, PM_SLP_TYP_S5);
	aml_integer(b, PM_SLP_TYP_S5);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_close(b, pkg);
	return aml_finish(b);
}

/* ---- the tables ---------------------------------------------------------- */

static uint8_t *
acpi_madt(struct acpi_builder *ab, const struct acpi_params *p, size_t *offp)
{
	uint32_t len = 44 + 8 * (uint32_t)p->ncpus + 12 + 2 * 10 + 6;
	uint8_t *t = acpi_alloc(ab, len, offp), *e;

	if (t == NULL)
		return NULL;
	acpi_header(t, "APIC", len, 5, "RVMADT  ");
	put32(t + 36, ACPI_LAPIC_ADDR);
	put32(t + 40, 1); /* PCAT_COMPAT: there is an 8259 pair */
	e = t + 44;
	for (int i = 0; i < p->ncpus; i++, e += 8) {
		put8(e, 0); /* processor local APIC */
		put8(e + 1, 8);
		put8(e + 2, (uint64_t)i); /* ACPI processor UID */
		put8(e + 3, (uint64_t)i); /* APIC ID */
		put32(e + 4, 1);          /* enabled */
	}
	put8(e, 1); /* I/O APIC */
	put8(e + 1, 12);
	put8(e + 2, 0); /* I/O APIC ID */
	put32(e + 4, ACPI_IOAPIC_ADDR);
	put32(e + 8, 0); /* GSI base */
	e += 12;
	/* Interrupt source overrides: ISA bus, IRQ, GSI, MPS INTI flags. */
	put8(e, 2);
	put8(e + 1, 10);
	put8(e + 3, 0);
	put32(e + 4, 2);
	put16(e + 8, 0); /* conforms to the bus: edge, active-high */
	e += 10;
	put8(e, 2);
	put8(e + 1, 10);
	put8(e + 3, ACPI_SCI_IRQ);
	put32(e + 4, ACPI_SCI_IRQ);
	put16(e + 8, 0x000f); /* level-triggered, active-low */
	e += 10;
	put8(e, 4); /* local APIC NMI */
	put8(e + 1, 6);
	put8(e + 2, 0xff);    /* every processor */
	put16(e + 3, 0x0005); /* edge, active-high */
	put8(e + 5, 1);       /* LINT1 */
	acpi_table_done(t);
	return t;
}

static uint8_t *
acpi_fadt(struct acpi_builder *ab, uint64_t facs, uint64_t dsdt, size_t *offp)
{
	uint8_t *t = acpi_alloc(ab, ACPI_FADT_LEN, offp);

	if (t == NULL)
		return NULL;
	acpi_header(t, "FACP", ACPI_FADT_LEN, 6, "RVFACP  ");
	put32(t + 36, facs);
	put32(t + 40, dsdt);
	put8(t + 45, 0); /* preferred PM profile: unspecified */
	put16(t + 46, ACPI_SCI_IRQ);
	put32(t + 48, 0); /* no SMI command port: always in ACPI mode */
	put32(t + 56, PM_PM1A_EVT_PORT);
	put32(t + 64, PM_PM1A_CNT_PORT);
	put32(t + 76, ACPI_PMTMR_PORT);
	put8(t + 88, 4);     /* PM1_EVT_LEN */
	put8(t + 89, 2);     /* PM1_CNT_LEN */
	put8(t + 91, 4);     /* PM_TMR_LEN */
	put16(t + 96, 101);  /* P_LVL2_LAT > 100: no C2 */
	put16(t + 98, 1001); /* P_LVL3_LAT > 1000: no C3 */
	put8(t + 108, ACPI_RTC_CENTURY);
	/* IAPC_BOOT_ARCH: legacy devices, no 8042, no VGA. */
	put16(t + 109, 0x0005);
	/*
	 * WBINVD, PROC_C1, SLP_BUTTON (no fixed sleep button; PWR_BUTTON
	 * clear: the fixed power button is pm.c's, SIGTERM presses it),
	 * FIX_RTC, RESET_REG_SUP; TMR_VAL_EXT clear: a 24-bit PM timer.
	 */
	put32(t + 112, 1u << 0 | 1u << 2 | 1u << 5 | 1u << 6 | 1u << 10);
	acpi_gas(t + 116, GAS_IO, 8, 1, PM_RESET_PORT);
	put8(t + 128, 0x06); /* SYS_RST | RST_CPU */
	put8(t + 131, 3);    /* FADT minor version: 6.3 */
	put64(t + 132, facs);
	put64(t + 140, dsdt);
	acpi_gas(t + 148, GAS_IO, 32, 2, PM_PM1A_EVT_PORT);
	acpi_gas(t + 172, GAS_IO, 16, 2, PM_PM1A_CNT_PORT);
	acpi_gas(t + 208, GAS_IO, 32, 3, ACPI_PMTMR_PORT);
	memcpy(t + 268, "rhyve   ", 8); /* hypervisor vendor identity */
	acpi_table_done(t);
	return t;
}

static uint8_t *
acpi_hpet(struct acpi_builder *ab, const struct acpi_params *p, size_t *offp)
{
	uint8_t *t = acpi_alloc(ab, 56, offp);

	if (t == NULL)
		return NULL;
	acpi_header(t, "HPET", 56, 1, "RVHPET  ");
	put32(t + 36, p->hpet_id);
	acpi_gas(t + 40, GAS_MEMORY, 64, 0, ACPI_HPET_ADDR);
	put8(t + 52, 0);  /* HPET number */
	put16(t + 53, 0); /* minimum periodic tick: no limit */
	put8(t + 55, 0);  /* no page protection */
	acpi_table_done(t);
	return t;
}

static uint8_t *
acpi_mcfg(struct acpi_builder *ab, size_t *offp)
{
	uint8_t *t = acpi_alloc(ab, 60, offp);

	if (t == NULL)
		return NULL;
	acpi_header(t, "MCFG", 60, 1, "RVMCFG  ");
	put64(t + 44, PCI_EMUL_ECFG_BASE);
	put16(t + 52, 0); /* segment */
	put8(t + 54, 0);  /* first bus */
	put8(t + 55, (PCI_EMUL_ECFG_SIZE >> 20) - 1);
	acpi_table_done(t);
	return t;
}

int
acpi_build_tables(const struct acpi_params *p, uint8_t *buf, size_t cap,
		  uint64_t gpa, size_t *lenp)
{
	struct acpi_builder ab = { buf, cap, 0, gpa, false };
	struct aml_buf aml;
	size_t rsdp, facs, dsdt, fadt, madt, hpet, mcfg, rsdt, xsdt;
	uint64_t tables[4];
	uint8_t *t, *r;
	int ntables = 4;

	if (p->ncpus < 1 || p->ncpus > 255)
		return -1;
	if ((r = acpi_alloc(&ab, 36, &rsdp)) == NULL)
		return -1;
	/* FACS: no checksum; version 2, no firmware waking vector. */
	if ((t = acpi_alloc(&ab, 64, &facs)) == NULL)
		return -1;
	memcpy(t, "FACS", 4);
	put32(t + 4, 64);
	put8(t + 32, 2);

	aml_init(&aml);
	if (acpi_dsdt(&aml, p) != 0 ||
	    (t = acpi_alloc(&ab, ACPI_HDR_LEN + aml.len, &dsdt)) == NULL) {
		aml_free(&aml);
		return -1;
	}
	acpi_header(t, "DSDT", (uint32_t)(ACPI_HDR_LEN + aml.len), 2,
		    "RVDSDT  ");
	memcpy(t + ACPI_HDR_LEN, aml.data, aml.len);
	aml_free(&aml);
	acpi_table_done(t);

	if (acpi_fadt(&ab, gpa + facs, gpa + dsdt, &fadt) == NULL ||
	    acpi_madt(&ab, p, &madt) == NULL ||
	    acpi_hpet(&ab, p, &hpet) == NULL || acpi_mcfg(&ab, &mcfg) == NULL)
		return -1;
	tables[0] = gpa + fadt;
	tables[1] = gpa + madt;
	tables[2] = gpa + hpet;
	tables[3] = gpa + mcfg;

	if ((t = acpi_alloc(&ab, ACPI_HDR_LEN + 4 * ntables, &rsdt)) == NULL)
		return -1;
	acpi_header(t, "RSDT", (uint32_t)(ACPI_HDR_LEN + 4 * ntables), 1,
		    "RVRSDT  ");
	for (int i = 0; i < ntables; i++)
		put32(t + ACPI_HDR_LEN + 4 * i, tables[i]);
	acpi_table_done(t);
	if ((t = acpi_alloc(&ab, ACPI_HDR_LEN + 8 * ntables, &xsdt)) == NULL)
		return -1;
	acpi_header(t, "XSDT", (uint32_t)(ACPI_HDR_LEN + 8 * ntables), 1,
		    "RVXSDT  ");
	for (int i = 0; i < ntables; i++)
		put64(t + ACPI_HDR_LEN + 8 * i, tables[i]);
	acpi_table_done(t);

	/* The RSDP, ACPI 2.0: checksum of the first 20 bytes, then all. */
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	put8(r + 15, 2);
	put32(r + 16, gpa + rsdt);
	put32(r + 20, 36);
	put64(r + 24, gpa + xsdt);
	r[8] = acpi_checksum(r, 20);
	r[32] = acpi_checksum(r, 36);
	*lenp = ab.len;
	return 0;
}

/* ---- the VM's tables ---------------------------------------------------- */

static uint64_t acpi_rsdp_gpa;

int
acpi_init(struct vm *vm)
{
	struct acpi_params p;
	const struct pci_devinst *lpc = pci_lpc_bridge();
	size_t cap = ACPI_TABLES_END - ACPI_TABLES_BASE, len;
	uint8_t *buf, *dst;
	uint64_t cap64 = 0;

	acpi_rsdp_gpa = 0;
	if (!get_config_bool_default("acpi_tables", true))
		return 0;
	memset(&p, 0, sizeof(p));
	p.ncpus = vm_vcpu_count(vm);
	if (vm_hpet_capabilities(vm, &cap64) != 0) {
		rhyve_warnx("ACPI: no HPET capabilities");
		return -1;
	}
	p.hpet_id = (uint32_t)cap64;
	for (int i = 0; i < 4; i++) {
		char path[16];
		int port, irq;

		snprintf(path, sizeof(path), "lpc.com%d", i + 1);
		if (find_config_node(path) == NULL ||
		    uart_legacy_alloc(i, &port, &irq) != 0)
			continue;
		p.com_port[i] = (uint16_t)port;
		p.com_irq[i] = irq;
	}
	p.lpc_slot = lpc != NULL ? lpc->pi_slot : -1;
	p.lpc_func = lpc != NULL ? lpc->pi_func : -1;
	pci_emul_mem64_window(&p.mem64_base, &p.mem64_limit);

	buf = malloc(cap);
	if (buf == NULL) {
		rhyve_warnx("ACPI: out of memory");
		return -1;
	}
	if (acpi_build_tables(&p, buf, cap, ACPI_TABLES_BASE, &len) != 0) {
		free(buf);
		rhyve_warnx("ACPI: the tables do not fit in 0x%x-0x%x",
			    ACPI_TABLES_BASE, ACPI_TABLES_END - 1);
		return -1;
	}
	dst = vm_map_gpa(vm, ACPI_TABLES_BASE, len);
	if (dst == NULL) {
		free(buf);
		rhyve_warnx("ACPI: no guest RAM at 0x%x for the tables",
			    ACPI_TABLES_BASE);
		return -1;
	}
	memcpy(dst, buf, len);
	free(buf);
	acpi_rsdp_gpa = ACPI_TABLES_BASE;
	return 0;
}

uint64_t
acpi_rsdp_addr(void)
{
	return acpi_rsdp_gpa;
}
