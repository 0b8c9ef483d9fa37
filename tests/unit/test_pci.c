/*
 * The PCI bus (monitor/pci_emul.c) and its models, driven through the
 * real port table (0xcf8/0xcfc, I/O BARs) and MMIO range tree (ECAM,
 * memory BARs) with synthetic exits, on a VM without an engine
 * (fake_vm.h): no /dev/kvm.
 *
 * No real model has BARs yet, so this file registers one of its own,
 * "test-bars", that exists only in this test program: BAR0 I/O 32 bytes,
 * BAR1 MEM32 8 KiB, BAR2/3 MEM64 1 MiB, BAR5 I/O 3 bytes (rounded to 4).
 */
#include <errno.h>
#include <string.h>

#include "cunit.h"
#include "fake_vm.h"
#include "rhyve.h"
#include "monitor_io.h"

/* ---- the test model ------------------------------------------------------ */

static struct {
	int reads, writes;
	int idx;
	uint64_t off, val;
	int size;
} bt;
/* pci_emul_alloc_bar() results for bad requests, checked by a test. */
static int bad_alloc[6];

static uint64_t
testbars_read(struct pci_devinst *pi, int idx, uint64_t off, int size)
{
	bt.reads++;
	bt.idx = idx;
	bt.off = off;
	bt.size = size;
	return 0x1000u * (unsigned)idx + off;
}

static void
testbars_write(struct pci_devinst *pi, int idx, uint64_t off, int size,
	       uint64_t val)
{
	bt.writes++;
	bt.idx = idx;
	bt.off = off;
	bt.size = size;
	bt.val = val;
}

static int
testbars_init(struct pci_devinst *pi, const struct config_node *node)
{
	pci_set_cfgdata16(pi, PCIR_VENDOR, 0x1af4);
	pci_set_cfgdata16(pi, PCIR_DEVICE, 0x10ff);
	pci_set_cfgdata8(pi, PCIR_CLASS, 0xff);
	if (pci_emul_alloc_bar(pi, 0, PCIBAR_IO, 32) != 0 ||
	    pci_emul_alloc_bar(pi, 1, PCIBAR_MEM32, 8192) != 0 ||
	    pci_emul_alloc_bar(pi, 2, PCIBAR_MEM64, 1 << 20) != 0 ||
	    pci_emul_alloc_bar(pi, 5, PCIBAR_IO, 3) != 0)
		return -1;
	bad_alloc[0] = pci_emul_alloc_bar(pi, 0, PCIBAR_IO, 32); /* taken */
	bad_alloc[1] = pci_emul_alloc_bar(pi, 3, PCIBAR_MEM32, 4096);
	bad_alloc[2] = pci_emul_alloc_bar(pi, 4, PCIBAR_IO, 512);
	bad_alloc[3] = pci_emul_alloc_bar(pi, 4, PCIBAR_MEM32, 1ULL << 30);
	bad_alloc[4] = pci_emul_alloc_bar(pi, 6, PCIBAR_IO, 4);
	bad_alloc[5] = pci_emul_alloc_bar(pi, 4, PCIBAR_MEMHI64, 4096);
	return 0;
}

static const struct pci_devemu testbars = {
	.pe_emu = "test-bars",
	.pe_init = testbars_init,
	.pe_barread = testbars_read,
	.pe_barwrite = testbars_write,
};
PCI_EMUL_REGISTER(testbars)

/* "test-msi": an MSI capability with 4 messages, and nothing else. */
static int msicap_bad[3];

static int
testmsi_init(struct pci_devinst *pi, const struct config_node *node)
{
	pci_set_cfgdata16(pi, PCIR_VENDOR, 0x1af4);
	pci_set_cfgdata16(pi, PCIR_DEVICE, 0x10fd);
	msicap_bad[0] = pci_emul_add_msicap(pi, 3);
	msicap_bad[1] = pci_emul_add_msicap(pi, 64);
	msicap_bad[2] = pci_generate_msi(pi, 0); /* no capability yet */
	return pci_emul_add_msicap(pi, 4);
}

static const struct pci_devemu testmsi = {
	.pe_emu = "test-msi",
	.pe_init = testmsi_init,
};
PCI_EMUL_REGISTER(testmsi)

/* ---- helpers --------------------------------------------------------------
 */

static struct vm *vm;

static uint32_t
pio(bool in, int port, int bytes, uint32_t val)
{
	CU_ASSERT_EQUAL(monitor_pio(vm, in, port, bytes, &val), 0);
	return val;
}

static uint32_t
cfg_read(int slot, int func, int off, int bytes)
{
	pio(false, 0xcf8, 4,
	    0x80000000u | (uint32_t)slot << 11 | (uint32_t)func << 8 |
		(uint32_t)(off & 0xfc));
	return pio(true, 0xcfc + (off & 3), bytes, 0);
}

static void
cfg_write(int slot, int func, int off, int bytes, uint32_t val)
{
	pio(false, 0xcf8, 4,
	    0x80000000u | (uint32_t)slot << 11 | (uint32_t)func << 8 |
		(uint32_t)(off & 0xfc));
	pio(false, 0xcfc + (off & 3), bytes, val);
}

static int mmio_error;

static uint64_t
mmio(bool write, uint64_t gpa, int bytes, uint64_t val)
{
	struct vm_mmio m = {
		.gpa = gpa, .bytes = (uint8_t)bytes, .write = write, .data = val
	};

	mmio_error = emulate_mem(vm->vcpus[0], &m);
	return m.data;
}

static uint64_t
ecam_addr(int bus, int slot, int func, int off)
{
	return PCI_EMUL_ECFG_BASE + ((uint64_t)bus << 20 |
				     (uint64_t)slot << 15 |
				     (uint64_t)func << 12 | (uint64_t)off);
}

/* A fresh monitor with the -s options in 'slots' (NULL-terminated). */
static int
setup(const char *const *slots)
{
	init_config();
	init_inout();
	init_mem(1);
	vm = fake_vm_create();
	memset(&bt, 0, sizeof(bt));
	for (; *slots != NULL; slots++)
		if (pci_parse_slot(*slots) != 0)
			return -1;
	if (pci_check_config() != 0)
		return -1;
	return pci_init(vm);
}

static void
teardown(void)
{
	pci_deinit();
	fake_vm_destroy(vm);
	vm = NULL;
	free_config();
}

static const char *const platform[] = {
	"0,hostbridge",       "3,test-bars", "4:0,hostbridge",
	"4:1,amd_hostbridge", "31,lpc",      NULL,
};

/* ---- tests ----------------------------------------------------------------
 */

static void
test_parse(void)
{
	init_config();
	CU_ASSERT_EQUAL(pci_parse_slot("0,hostbridge"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("pci.0.0.0.device"),
			       "hostbridge");
	CU_ASSERT_EQUAL(pci_parse_slot("0:3:2,lpc,x=1,flag"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("pci.0.3.2.device"), "lpc");
	CU_ASSERT_STRING_EQUAL(get_config_value("pci.0.3.2.x"), "1");
	CU_ASSERT_STRING_EQUAL(get_config_value("pci.0.3.2.flag"), "true");
	/* An alias is stored under its target's name, with its settings. */
	CU_ASSERT_EQUAL(pci_parse_slot("5:1,amd_hostbridge"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("pci.0.5.1.device"),
			       "hostbridge");
	CU_ASSERT_STRING_EQUAL(get_config_value("pci.0.5.1.vendor"), "0x1022");
	CU_ASSERT_STRING_EQUAL(get_config_value("pci.0.5.1.devid"), "0x7432");

	CU_ASSERT_EQUAL(pci_parse_slot("0:0,lpc"), -1); /* taken */
	CU_ASSERT_EQUAL(pci_parse_slot("32,lpc"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("1:8,lpc"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("1:0:0,lpc"), -1); /* bus 1 */
	CU_ASSERT_EQUAL(pci_parse_slot("0:0:0:0,lpc"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("-1,lpc"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("1234,lpc"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("1x,lpc"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot(":1,lpc"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot(",lpc"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("7"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("7,"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("7,virtio-net"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("7,lpc,device=hostbridge"), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("8,lpc,a..b=1"), -1);
	/* Functions 2 of slot 3 and 1 of slot 5 need a function 0. */
	CU_ASSERT_EQUAL(pci_check_config(), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("3,hostbridge"), 0);
	CU_ASSERT_EQUAL(pci_check_config(), -1);
	CU_ASSERT_EQUAL(pci_parse_slot("5:0,hostbridge"), 0);
	CU_ASSERT_EQUAL(pci_check_config(), 0);
	free_config();
}

/* What -o and -k can write that -s cannot. */
static void
test_check_config(void)
{
	static const char *const bad[][2] = {
		{ "pci.1.0.0.device", "lpc" },  { "pci.0.32.0.device", "lpc" },
		{ "pci.0.3.8.device", "lpc" },  { "pci.0.03x.0.device", "lpc" },
		{ "pci.0.3.0.device", "nope" }, { "pci.0.3.0.vendor", "1" },
		{ "pci.0.3.1.device", "lpc" }, /* no function 0 */
		{ "pci.0.3", "lpc" },           { "pci", "x" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		init_config();
		CU_ASSERT_EQUAL(set_config_value(bad[i][0], bad[i][1]), 0);
		CU_ASSERT_EQUAL(pci_check_config(), -1);
		free_config();
	}
	/* Errors of the models themselves come at pci_init(). */
	init_config();
	CU_ASSERT_EQUAL(set_config_value("pci.0.0.0.device", "hostbridge"), 0);
	CU_ASSERT_EQUAL(set_config_value("pci.0.0.0.vendor", "0x10000"), 0);
	CU_ASSERT_EQUAL(pci_check_config(), 0);
	init_inout();
	init_mem(1);
	vm = fake_vm_create();
	CU_ASSERT_EQUAL(pci_init(vm), -1);
	CU_ASSERT_EQUAL(pio(true, 0xcf8, 4, 0), 0xffffffff); /* cleaned up */
	teardown();
	/* Two LPC bridges. */
	CU_ASSERT_EQUAL(setup((const char *const[]){ "1,lpc", "2,lpc", NULL }),
			-1);
	teardown();
}

static void
test_config_space(void)
{
	CU_ASSERT_FATAL(setup(platform) == 0);
	/* IDs through mechanism #1 at every width. */
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0, 4), 0x12751275);
	CU_ASSERT_EQUAL(cfg_read(31, 0, 0, 2), 0x8086);
	CU_ASSERT_EQUAL(cfg_read(31, 0, 2, 2), 0x7000);
	CU_ASSERT_EQUAL(cfg_read(31, 0, 0x0a, 2), 0x0601);
	CU_ASSERT_EQUAL(cfg_read(4, 1, 0, 4), 0x74321022);
	CU_ASSERT_EQUAL(cfg_read(31, 0, 0x0b, 1), 0x06);
	/* Absent functions, buses, unaligned accesses: all-ones. */
	CU_ASSERT_EQUAL(cfg_read(5, 0, 0, 4), 0xffffffff);
	CU_ASSERT_EQUAL(cfg_read(0, 1, 0, 2), 0xffff);
	pio(false, 0xcf8, 4, 0x80010000);
	CU_ASSERT_EQUAL(pio(true, 0xcfc, 4, 0), 0xffffffff);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 1, 2), 0xffff);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 2, 4), 0xffffffff);
	/* The address register: reserved bits dropped, 4 bytes only. */
	pio(false, 0xcf8, 4, 0xffffffff);
	CU_ASSERT_EQUAL(pio(true, 0xcf8, 4, 0), 0x80fffffc);
	CU_ASSERT_EQUAL(pio(true, 0xcf8, 2, 0), 0xffff);
	pio(false, 0xcf8, 1, 0);
	CU_ASSERT_EQUAL(pio(true, 0xcf8, 4, 0), 0x80fffffc);
	pio(false, 0xcf8, 4, 0x00000000); /* enable off */
	CU_ASSERT_EQUAL(pio(true, 0xcfc, 4, 0), 0xffffffff);
	/* 0xcf9 (the reset register's port) is not PCI's. */
	pio(false, 0xcf8, 4, 0x80000000);
	CU_ASSERT_EQUAL(pio(true, 0xcf9, 1, 0), 0xff);

	/* Multi-function: slot 4 says so on both functions, others not. */
	CU_ASSERT_EQUAL(cfg_read(4, 0, 0x0e, 1), 0x80);
	CU_ASSERT_EQUAL(cfg_read(4, 1, 0x0e, 1), 0x80);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x0e, 1), 0x00);

	/* Writes: only the writable bits. */
	cfg_write(0, 0, 0, 4, 0);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0, 4), 0x12751275);
	cfg_write(0, 0, 0x3c, 1, 0x0a);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x3c, 2), 0x000a); /* pin read-only */
	cfg_write(0, 0, 0x3c, 2, 0xffff);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x3c, 2), 0x00ff);
	cfg_write(0, 0, 0x04, 4, 0xffffffff);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x04, 4), 0x00100547); /* caps bit */
	cfg_write(0, 0, 0x0c, 2, 0x4010);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x0c, 2), 0x4010);
	cfg_write(0, 0, 0x30, 4, 0xffffffff); /* no expansion ROM */
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x30, 4), 0);

	/* The capability list: one PCI Express capability at 0x40. */
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x34, 1), 0x40);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x40, 4), 0x00420010);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x4c, 4), 0x00000411);
	cfg_write(0, 0, 0x40, 4, 0xffffffff); /* header read-only */
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x40, 4), 0x00420010);
	cfg_write(0, 0, 0x48, 2, 0x1234); /* device control writable */
	CU_ASSERT_EQUAL(cfg_read(0, 0, 0x48, 2), 0x1234);
	CU_ASSERT_EQUAL(cfg_read(31, 0, 0x06, 2) & PCIM_STATUS_CAPPRESENT, 0);
	CU_ASSERT_EQUAL(cfg_read(31, 0, 0x34, 1), 0);

	/* ECAM: the same space, and 4 KiB of it. */
	for (int s = 0; s < 32; s++)
		for (int f = 0; f < 8; f++)
			CU_ASSERT_EQUAL(
			    mmio(false, ecam_addr(0, s, f, 0), 4, 0),
			    cfg_read(s, f, 0, 4));
	for (int off = 0; off < 256; off += 4)
		CU_ASSERT_EQUAL(mmio(false, ecam_addr(0, 0, 0, off), 4, 0),
				cfg_read(0, 0, off, 4));
	CU_ASSERT_EQUAL(mmio(false, ecam_addr(0, 31, 0, 2), 2, 0), 0x7000);
	CU_ASSERT_EQUAL(mmio(false, ecam_addr(0, 31, 0, 0xa), 1, 0), 0x01);
	CU_ASSERT_EQUAL(mmio(false, ecam_addr(0, 0, 0, 0x100), 4, 0), 0);
	CU_ASSERT_EQUAL(mmio(false, ecam_addr(0, 0, 0, 0xffc), 4, 0), 0);
	CU_ASSERT_EQUAL(mmio(false, ecam_addr(1, 0, 0, 0), 4, 0), 0xffffffff);
	CU_ASSERT_EQUAL(mmio(false, ecam_addr(255, 31, 7, 0xfff), 1, 0), 0xff);
	CU_ASSERT_EQUAL(mmio(false, ecam_addr(0, 0, 0, 0), 8, 0), ~0ULL);
	CU_ASSERT_EQUAL(mmio(false, ecam_addr(0, 0, 0, 2), 4, 0), 0xffffffff);
	mmio(true, ecam_addr(0, 31, 0, 0x3c), 1, 0x0b);
	CU_ASSERT_EQUAL(cfg_read(31, 0, 0x3c, 1), 0x0b);
	mmio(true, ecam_addr(0, 31, 0, 0x3c), 8, 0);
	CU_ASSERT_EQUAL(cfg_read(31, 0, 0x3c, 1), 0x0b);
	CU_ASSERT_EQUAL(mmio_error, 0);
	/* The model's hooks and the finder. */
	CU_ASSERT_PTR_NOT_NULL(pci_emul_find(3, 0));
	CU_ASSERT_PTR_NULL(pci_emul_find(3, 1));
	CU_ASSERT_PTR_NULL(pci_emul_find(32, 0));
	CU_ASSERT_PTR_EQUAL(pci_lpc_bridge(), pci_emul_find(31, 0));
	teardown();
	CU_ASSERT_PTR_NULL(pci_lpc_bridge());
}

#define IOBAR  PCI_EMUL_IOBASE
#define MEMBAR PCI_EMUL_MEMBASE32
#define BAR64  (32ULL << 30) /* highmem 0: the window starts at 32 GiB */

static void
test_bar_alloc(void)
{
	uint64_t base, limit;

	CU_ASSERT_FATAL(setup(platform) == 0);
	CU_ASSERT_EQUAL(bad_alloc[0], EINVAL);
	CU_ASSERT_EQUAL(bad_alloc[1], EINVAL); /* the MEM64's upper half */
	CU_ASSERT_EQUAL(bad_alloc[2], EINVAL); /* I/O BARs <= 256 bytes */
	CU_ASSERT_EQUAL(bad_alloc[3], ENOSPC);
	CU_ASSERT_EQUAL(bad_alloc[4], EINVAL);
	CU_ASSERT_EQUAL(bad_alloc[5], EINVAL);
	pci_emul_mem64_window(&base, &limit);
	CU_ASSERT_EQUAL(base, BAR64);
	CU_ASSERT_EQUAL(limit, BAR64 + PCI_EMUL_MEMSIZE64);

	/* Where they went, with decode on. */
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(0), 4), IOBAR | 1);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(1), 4), MEMBAR);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(2), 4), 0x4);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(3), 4), BAR64 >> 32);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(4), 4), 0);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(5), 4), (IOBAR + 0x20) | 1);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_COMMAND, 2),
			PCIM_CMD_PORTEN | PCIM_CMD_MEMEN);

	/* Accesses reach the model with BAR index and offset. */
	CU_ASSERT_EQUAL(pio(true, IOBAR + 4, 4, 0), 4);
	CU_ASSERT_EQUAL(bt.idx, 0);
	CU_ASSERT_EQUAL(bt.size, 4);
	pio(false, IOBAR + 0x1f, 1, 0x5a);
	CU_ASSERT_EQUAL(bt.off, 0x1f);
	CU_ASSERT_EQUAL(bt.val, 0x5a);
	CU_ASSERT_EQUAL(pio(true, IOBAR + 0x22, 2, 0), 0x5002);
	/* Straddling the end of a BAR: all-ones, not the model. */
	bt.reads = 0;
	CU_ASSERT_EQUAL(pio(true, IOBAR + 0x1e, 4, 0), 0xffffffff);
	CU_ASSERT_EQUAL(bt.reads, 0);
	CU_ASSERT_EQUAL(mmio(false, MEMBAR + 0x1ff8, 8, 0), 0x2ff8);
	CU_ASSERT_EQUAL(bt.idx, 1);
	CU_ASSERT_EQUAL(mmio(false, BAR64 + 0xfffff, 1, 0), 0x2000 + 0xfffff);
	CU_ASSERT_EQUAL(bt.idx, 2);
	mmio(true, BAR64 + 8, 8, 0x1122334455667788ULL);
	CU_ASSERT_EQUAL(bt.val, 0x1122334455667788ULL);
	CU_ASSERT_EQUAL(mmio_error, 0);
	teardown();
	/* pci_deinit() gave everything back. */
	vm = fake_vm_create();
	CU_ASSERT_EQUAL(pio(true, 0xcfc, 4, 0), 0xffffffff);
	CU_ASSERT_EQUAL(pio(true, IOBAR, 4, 0), 0xffffffff);
	mmio(false, MEMBAR, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	mmio(false, PCI_EMUL_ECFG_BASE, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	fake_vm_destroy(vm);
}

/* Sizing, as a guest does it: decode off, all-ones, read, restore. */
static void
test_bar_sizing(void)
{
	CU_ASSERT_FATAL(setup(platform) == 0);
	cfg_write(3, 0, PCIR_COMMAND, 2, 0);
	/* Decode off: nothing answers at the BARs. */
	bt.reads = 0;
	CU_ASSERT_EQUAL(pio(true, IOBAR, 4, 0), 0xffffffff);
	mmio(false, MEMBAR, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	mmio(false, BAR64, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	CU_ASSERT_EQUAL(bt.reads, 0);
	for (int i = 0; i < 6; i++)
		cfg_write(3, 0, PCIR_BAR(i), 4, 0xffffffff);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(0), 4), 0xffe1);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(1), 4), 0xffffe000);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(2), 4), 0xfff00004);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(3), 4), 0xffffffff);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(4), 4), 0);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(5), 4), 0xfffd);
	/* Restore, decode on: back where they were. */
	cfg_write(3, 0, PCIR_BAR(0), 4, IOBAR);
	cfg_write(3, 0, PCIR_BAR(1), 4, MEMBAR);
	cfg_write(3, 0, PCIR_BAR(2), 4, 0);
	cfg_write(3, 0, PCIR_BAR(3), 4, BAR64 >> 32);
	cfg_write(3, 0, PCIR_BAR(5), 4, IOBAR + 0x20);
	cfg_write(3, 0, PCIR_COMMAND, 2, PCIM_CMD_PORTEN | PCIM_CMD_MEMEN);
	CU_ASSERT_EQUAL(pio(true, IOBAR + 8, 4, 0), 8);
	CU_ASSERT_EQUAL(pio(true, IOBAR + 0x20, 2, 0), 0x5000);
	CU_ASSERT_EQUAL(mmio(false, MEMBAR + 8, 4, 0), 0x1008);
	CU_ASSERT_EQUAL(mmio(false, BAR64 + 8, 4, 0), 0x2008);
	CU_ASSERT_EQUAL(mmio_error, 0);

	/* Sizing with decode on: the BAR moves to the top and back. */
	cfg_write(3, 0, PCIR_BAR(1), 4, 0xffffffff);
	mmio(false, MEMBAR, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	CU_ASSERT_EQUAL(mmio(false, 0xffffe000, 4, 0), 0x1000);
	cfg_write(3, 0, PCIR_BAR(1), 4, MEMBAR);
	CU_ASSERT_EQUAL(mmio(false, MEMBAR, 4, 0), 0x1000);
	mmio(false, 0xffffe000, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	teardown();
}

static void
test_bar_move(void)
{
	CU_ASSERT_FATAL(setup(platform) == 0);
	/* I/O: the old ports fall back to the default handler. */
	cfg_write(3, 0, PCIR_BAR(0), 4, 0xd000);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(0), 4), 0xd001);
	bt.reads = 0;
	CU_ASSERT_EQUAL(pio(true, IOBAR, 4, 0), 0xffffffff);
	CU_ASSERT_EQUAL(bt.reads, 0);
	CU_ASSERT_EQUAL(pio(true, 0xd010, 2, 0), 0x10);
	CU_ASSERT_EQUAL(bt.reads, 1);
	/* Low bits below the size are dropped. */
	cfg_write(3, 0, PCIR_BAR(0), 4, 0xd11f);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(0), 4), 0xd101);
	CU_ASSERT_EQUAL(pio(true, 0xd100, 1, 0), 0);

	/* MEM32, by a byte write to its top byte. */
	cfg_write(3, 0, PCIR_BAR(1) + 3, 1, 0xd0);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(1), 4), 0xd0000000);
	mmio(false, MEMBAR, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	CU_ASSERT_EQUAL(mmio(false, 0xd0000004, 4, 0), 0x1004);

	/* MEM64: the upper half moves it across 4 GiB boundaries. */
	cfg_write(3, 0, PCIR_BAR(3), 4, 0x10);
	CU_ASSERT_EQUAL(mmio(false, 0x1000000000ULL + 4, 4, 0), 0x2004);
	mmio(false, BAR64, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	cfg_write(3, 0, PCIR_BAR(2), 4, 0x00300000);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(2), 4), 0x00300004);
	CU_ASSERT_EQUAL(mmio(false, 0x1000300000ULL, 4, 0), 0x2000);
	/* Below 4 GiB too. */
	cfg_write(3, 0, PCIR_BAR(3), 4, 0);
	CU_ASSERT_EQUAL(mmio(false, 0x00300010, 4, 0), 0x2010);

	/* Decode: memory off leaves I/O on, and back. */
	cfg_write(3, 0, PCIR_COMMAND, 2, PCIM_CMD_PORTEN);
	mmio(false, 0xd0000000, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	CU_ASSERT_EQUAL(pio(true, 0xd104, 1, 0), 4);
	cfg_write(3, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	CU_ASSERT_EQUAL(pio(true, 0xd104, 1, 0), 0xff);
	CU_ASSERT_EQUAL(mmio(false, 0xd0000000, 4, 0), 0x1000);
	CU_ASSERT_EQUAL(mmio_error, 0);
	teardown();
}

static int
other_port(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	   void *arg)
{
	if (in)
		*eax = 0x77;
	return 0;
}

/* Moved onto someone else's range: not decoded, until it moves away. */
static void
test_bar_collision(void)
{
	struct inout_port other = { "other",        0xe000,     0x100,
				    IOPORT_F_INOUT, other_port, NULL };

	CU_ASSERT_FATAL(setup(platform) == 0);
	CU_ASSERT_EQUAL(register_inout(&other), 0);
	cfg_write(3, 0, PCIR_BAR(0), 4, 0xe040);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(0), 4), 0xe041);
	CU_ASSERT_EQUAL(pio(true, 0xe040, 1, 0), 0x77);
	CU_ASSERT_EQUAL(pio(true, IOBAR, 1, 0), 0xff);
	cfg_write(3, 0, PCIR_BAR(0), 4, 0xe100);
	CU_ASSERT_EQUAL(pio(true, 0xe104, 1, 0), 4);
	CU_ASSERT_EQUAL(pio(true, 0xe040, 1, 0), 0x77);
	/* Back onto it, then the other range goes away: re-enabling decode
	 * places the BAR. */
	cfg_write(3, 0, PCIR_BAR(0), 4, 0xe0e0);
	CU_ASSERT_EQUAL(pio(true, 0xe0e0, 1, 0), 0x77);
	CU_ASSERT_EQUAL(unregister_inout(&other), 0);
	CU_ASSERT_EQUAL(pio(true, 0xe0e0, 1, 0), 0xff);
	cfg_write(3, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	cfg_write(3, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	CU_ASSERT_EQUAL(pio(true, 0xe0e0, 1, 0), 0);
	/* Over the config ports themselves: they stay PCI's. */
	cfg_write(3, 0, PCIR_BAR(5), 4, 0xcf8);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(5), 4), 0xcf9);
	CU_ASSERT_EQUAL(cfg_read(31, 0, 0, 2), 0x8086);
	/* A memory BAR over the ECAM window: ECAM keeps answering. */
	cfg_write(3, 0, PCIR_BAR(1), 4, PCI_EMUL_ECFG_BASE);
	CU_ASSERT_EQUAL(mmio(false, ecam_addr(0, 31, 0, 0), 2, 0), 0x8086);
	cfg_write(3, 0, PCIR_BAR(1), 4, MEMBAR);
	CU_ASSERT_EQUAL(mmio(false, MEMBAR, 4, 0), 0x1000);
	/* A 64-bit BAR at the very top would wrap: not decoded. */
	cfg_write(3, 0, PCIR_BAR(2), 4, 0xfff00000);
	cfg_write(3, 0, PCIR_BAR(3), 4, 0xffffffff);
	CU_ASSERT_EQUAL(cfg_read(3, 0, PCIR_BAR(3), 4), 0xffffffff);
	mmio(false, 0xfffffffffff00000ULL, 4, 0);
	CU_ASSERT_EQUAL(mmio_error, ESRCH);
	teardown();
}

/* MSI: the capability as the guest sees it, and messages to the APIC. */
static void
test_msi(void)
{
	static const char *const slots[] = { "0,hostbridge", "5,test-msi",
					     NULL };
	struct pci_devinst *pi;
	int cap;

	CU_ASSERT_EQUAL_FATAL(setup(slots), 0);
	CU_ASSERT_EQUAL_FATAL(vlapic_init(vm->vcpus[0]), 0);
	CU_ASSERT_EQUAL(msicap_bad[0], EINVAL);
	CU_ASSERT_EQUAL(msicap_bad[1], EINVAL);
	CU_ASSERT_EQUAL(msicap_bad[2], EINVAL);
	pi = pci_emul_find(5, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pi);
	CU_ASSERT_TRUE(cfg_read(5, 0, PCIR_STATUS, 2) & PCIM_STATUS_CAPPRESENT);
	cap = (int)cfg_read(5, 0, PCIR_CAP_PTR, 1);
	CU_ASSERT_EQUAL(cfg_read(5, 0, cap, 1), PCIY_MSI);
	CU_ASSERT_EQUAL(cfg_read(5, 0, cap + 1, 1), 0); /* the last */
	/* 64-bit, 4 messages capable (MMC 2), disabled. */
	CU_ASSERT_EQUAL(cfg_read(5, 0, cap + 2, 2), 0x0084);
	/* MMC and 64-bit are read-only; address bits 1:0 too. */
	cfg_write(5, 0, cap + 2, 2, 0xffff);
	CU_ASSERT_EQUAL(cfg_read(5, 0, cap + 2, 2), 0x00f5);
	cfg_write(5, 0, cap + 2, 2, 0);
	cfg_write(5, 0, cap + 4, 4, 0xfee00003);
	CU_ASSERT_EQUAL(cfg_read(5, 0, cap + 4, 4), 0xfee00000);
	cfg_write(5, 0, cap + 8, 4, 0);
	cfg_write(5, 0, cap + 12, 2, 0x0051);
	/* Disabled: nothing.  Enabled without bus mastering: nothing. */
	CU_ASSERT_EQUAL(pci_generate_msi(pi, 0), ENXIO);
	cfg_write(5, 0, cap + 2, 2, PCIM_MSICTRL_MSI_ENABLE | 2 << 4);
	CU_ASSERT_EQUAL(pci_generate_msi(pi, 0), ENXIO);
	CU_ASSERT_EQUAL(vlapic_pending_intr(vm->vcpus[0]), -1);
	cfg_write(5, 0, PCIR_COMMAND, 2, PCIM_CMD_BUSMASTEREN);
	/* Message 2 of 4: data 0x51 with its low 2 bits replaced. */
	CU_ASSERT_EQUAL(pci_generate_msi(pi, 2), 0);
	CU_ASSERT_EQUAL(vlapic_pending_intr(vm->vcpus[0]), 0x52);
	vlapic_intr_accepted(vm->vcpus[0], 0x52);
	CU_ASSERT_EQUAL(pci_generate_msi(pi, 4), EINVAL);
	/* One message enabled (MME 0): index 1 is out of range. */
	cfg_write(5, 0, cap + 2, 2, PCIM_MSICTRL_MSI_ENABLE);
	CU_ASSERT_EQUAL(pci_generate_msi(pi, 1), EINVAL);
	/* Another APIC ID: nobody takes it. */
	cfg_write(5, 0, cap + 4, 4, 0xfee03000);
	CU_ASSERT_EQUAL(pci_generate_msi(pi, 0), 0);
	CU_ASSERT_EQUAL(vlapic_pending_intr(vm->vcpus[0]), -1);
	vlapic_cleanup(vm->vcpus[0]);
	vm->vcpus[0]->vlapic = NULL;
	teardown();
}

static CU_TestInfo pci_tests[] = {
	{ "-s parsing", test_parse },
	{ "config checks", test_check_config },
	{ "config space: mechanism #1 and ECAM", test_config_space },
	{ "BAR allocation and accesses", test_bar_alloc },
	{ "BAR sizing", test_bar_sizing },
	{ "BAR moves and decode", test_bar_move },
	{ "BAR collisions", test_bar_collision },
	{ "MSI capability and messages", test_msi },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "pci", pci_tests },
	{ NULL, NULL },
};
