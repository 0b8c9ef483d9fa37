/*
 * Fuzz target: PCI configuration space as a guest reaches it, through
 * mechanism #1 (0xcf8 address, 0xcfc-0xcff data) and the ECAM window,
 * and the BARs that config writes move, on a VM without an engine
 * (tests/unit/fake_vm.h).  The bus: hostbridge 0:0.0, lpc 0:31.0, a
 * multi-function slot 4 and "fuzz-bars" at 0:3.0, a model of this program
 * with an I/O, a 32-bit and a 64-bit memory BAR.
 *
 * The input is a sequence of operations, one opcode byte each:
 *   op & 7 == 0   4 bytes: 32-bit write to 0xcf8
 *   1, 2          1 byte + 4 bytes: write / read 0xcfc + (b & 3), size
 *                 1 << ((b >> 2) % 3)
 *   3             1 byte: a 1- or 2-byte access to 0xcf8-0xcfb
 *   4, 5          4 + 1 + 8 bytes: ECAM write / read at offset & 0xfffffff
 *                 of size 1, 2, 4 or 8
 *   6             2 + 1 bytes: an access to port 0xc000 + (v & 0xfff)
 *   7             4 + 1 bytes: an access at 0xc0000000 + (v & 0x3fffffff)
 * After every input the fixed facts must hold: the host bridge's IDs,
 * all-ones for absent functions, through both paths.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"
#include "rhyve.h"
#include "monitor_io.h"

static uint64_t
fuzzbars_read(struct pci_devinst *pi, int idx, uint64_t off, int size)
{
	(void)pi;
	(void)size;
	return (uint64_t)idx << 32 | off;
}

static void
fuzzbars_write(struct pci_devinst *pi, int idx, uint64_t off, int size,
	       uint64_t val)
{
	(void)pi;
	(void)idx;
	(void)off;
	(void)size;
	(void)val;
}

static int
fuzzbars_init(struct pci_devinst *pi, const struct config_node *node)
{
	static const uint8_t cap[8] = {
		0x09, 0, 6, 1, 2, 3, 4, 5
	}; /* vendor */

	(void)node;
	pci_set_cfgdata16(pi, PCIR_VENDOR, 0x1af4);
	pci_set_cfgdata16(pi, PCIR_DEVICE, 0x10fe);
	if (pci_emul_alloc_bar(pi, 0, PCIBAR_IO, 64) != 0 ||
	    pci_emul_alloc_bar(pi, 1, PCIBAR_MEM32, 8192) != 0 ||
	    pci_emul_alloc_bar(pi, 2, PCIBAR_MEM64, 1 << 20) != 0 ||
	    pci_emul_add_capability(pi, cap, sizeof(cap)) != 0)
		return -1;
	return 0;
}

static const struct pci_devemu fuzzbars = {
	.pe_emu = "fuzz-bars",
	.pe_init = fuzzbars_init,
	.pe_barread = fuzzbars_read,
	.pe_barwrite = fuzzbars_write,
};
PCI_EMUL_REGISTER(fuzzbars)

static struct vm *vm;

static uint32_t
pio(bool in, int port, int bytes, uint32_t val)
{
	if (monitor_pio(vm, in, port, bytes, &val) != 0)
		abort(); /* no guest access may stop the VM here */
	return val;
}

static uint64_t
mmio(bool write, uint64_t gpa, int bytes, uint64_t val)
{
	struct vm_mmio m = {
		.gpa = gpa, .bytes = (uint8_t)bytes, .write = write, .data = val
	};

	emulate_mem(vm->vcpus[0], &m); /* ESRCH off the BARs is fine */
	return m.data;
}

/* Little-endian bytes from the input; 0 past its end. */
static uint64_t
take(const uint8_t **p, const uint8_t *end, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n && *p < end; i++, (*p)++)
		v |= (uint64_t) * *p << (8 * i);
	return v;
}

static void
check_facts(void)
{
	static const int sizes[] = { 1, 2, 4, 8 };

	pio(false, 0xcf8, 4, 0x80000000u);
	if (pio(true, 0xcfc, 4, 0) != 0x12751275u)
		abort();
	if (mmio(false, PCI_EMUL_ECFG_BASE, 4, 0) != 0x12751275u)
		abort();
	pio(false, 0xcf8, 4, 0x80000000u | 9u << 11);
	if (pio(true, 0xcfc, 4, 0) != 0xffffffffu)
		abort();
	for (int i = 0; i < 4; i++)
		if (mmio(false, PCI_EMUL_ECFG_BASE + (9u << 15), sizes[i], 0) !=
		    (sizes[i] == 8 ? UINT64_MAX : (1ULL << (8 * sizes[i])) - 1))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const slots[] = { "0,hostbridge", "3,fuzz-bars",
					     "4:0,hostbridge",
					     "4:1,amd_hostbridge", "31,lpc" };
	const uint8_t *p = data, *end = data + size;

	init_config();
	init_inout();
	init_mem(1);
	vm = fake_vm_create();
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (pci_parse_slot(slots[i]) != 0)
			abort();
	if (pci_check_config() != 0 || pci_init(vm) != 0)
		abort();
	while (p < end) {
		uint8_t op = *p++, b;
		uint64_t v, a;

		switch (op & 7) {
		case 0:
			pio(false, 0xcf8, 4, (uint32_t)take(&p, end, 4));
			break;
		case 1:
		case 2:
			b = (uint8_t)take(&p, end, 1);
			v = take(&p, end, 4);
			pio((op & 7) == 2, 0xcfc + (b & 3), 1 << ((b >> 2) % 3),
			    (uint32_t)v);
			break;
		case 3:
			b = (uint8_t)take(&p, end, 1);
			pio(b & 0x80, 0xcf8 + (b & 3), 1 + ((b >> 2) & 1),
			    b * 0x01010101u);
			break;
		case 4:
		case 5:
			a = take(&p, end, 4) & 0x0fffffff;
			b = (uint8_t)take(&p, end, 1);
			v = take(&p, end, 8);
			mmio((op & 7) == 4, PCI_EMUL_ECFG_BASE + a,
			     1 << (b & 3), v);
			break;
		case 6:
			v = take(&p, end, 2);
			b = (uint8_t)take(&p, end, 1);
			pio(b & 0x80, 0xc000 + (int)(v & 0xfff),
			    1 << ((b & 3) % 3), b);
			break;
		case 7:
			v = take(&p, end, 4);
			b = (uint8_t)take(&p, end, 1);
			mmio(b & 0x80, 0xc0000000ULL + (v & 0x3fffffff),
			     1 << (b & 3), b);
			break;
		}
	}
	check_facts();
	pci_deinit();
	fake_vm_destroy(vm);
	vm = NULL;
	free_config();
	return 0;
}
