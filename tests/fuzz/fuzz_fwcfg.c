/*
 * Fuzz target: fw_cfg's ports as a guest reaches them (selector 0x510,
 * data 0x511; accesses of every width at both, and REP INSB/INSW string
 * reads of the data port), on a VM without an engine
 * (tests/unit/fake_vm.h), with two files besides the standard items.
 *
 * The input is a sequence of operations, one opcode byte each:
 *   op & 3 == 0   2 bytes: 16-bit write to the selector
 *   1             1 byte: a read or write of port 0x510 + (b & 1) with
 *                 size 1, 2 or 4 and the byte as value
 *   2             2 bytes: a string read of the data port: count & 0x1fff
 *                 elements of 1 or 2 bytes
 *   3             nothing: select the signature and check "QEMU"
 * After every input the signature and the directory must read as set up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"
#include "rhyve.h"
#include "monitor_io.h"

static struct vm *vm;
static uint8_t strbuf[2 * 0x2000];

static uint32_t
pio(bool in, int port, int bytes, uint32_t val)
{
	if (monitor_pio(vm, in, port, bytes, &val) != 0)
		abort(); /* no guest access may stop the VM here */
	return val;
}

static void
pio_string(int bytes, uint32_t count)
{
	struct vm_exit ex;

	memset(&ex, 0, sizeof(ex));
	ex.exitcode = VM_EXITCODE_INOUT;
	ex.u.inout = (struct vm_inout){ .port = FWCFG_DATA_PORT,
					.bytes = (uint8_t)bytes,
					.in = true,
					.string = true,
					.rep = true,
					.count = count,
					.data = strbuf };
	if (emulate_inout(vm->vcpus[0], &ex, false) != 0)
		abort();
}

static void
check_signature(void)
{
	char sig[4];

	pio(false, FWCFG_SELECTOR_PORT, 2, FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)pio(true, FWCFG_DATA_PORT, 1, 0);
	if (memcmp(sig, "QEMU", 4) != 0)
		abort();
}

static void
check_dir(void)
{
	uint32_t n = 0;

	pio(false, FWCFG_SELECTOR_PORT, 2, FW_CFG_FILE_DIR);
	for (int i = 0; i < 4; i++)
		n = n << 8 | pio(true, FWCFG_DATA_PORT, 1, 0);
	if (n != 2)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char blob[] = "0123456789abcdef0123456789abcdef";
	const uint8_t *p = data, *end = data + size;

	init_config();
	init_inout();
	vm = fake_vm_create();
	if (fwcfg_init(vm) != 0 ||
	    fwcfg_add_file("opt/fuzz/a", blob, sizeof(blob)) != 0 ||
	    fwcfg_add_file("opt/fuzz/empty", NULL, 0) != 0)
		abort();
	while (p < end) {
		uint8_t op = *p++;
		uint32_t v;

		switch (op & 3) {
		case 0:
			v = p < end ? *p++ : 0;
			v |= (uint32_t)(p < end ? *p++ : 0) << 8;
			pio(false, FWCFG_SELECTOR_PORT, 2, v);
			break;
		case 1:
			v = p < end ? *p++ : 0;
			pio(v & 0x80, FWCFG_SELECTOR_PORT + (v & 1),
			    1 << ((v >> 1) % 3), v * 0x01010101u);
			break;
		case 2:
			v = p < end ? *p++ : 0;
			v |= (uint32_t)(p < end ? *p++ : 0) << 8;
			pio_string(1 + (int)(v >> 15), v & 0x1fff);
			break;
		case 3:
			check_signature();
			break;
		}
	}
	check_signature();
	check_dir();
	fwcfg_deinit();
	fake_vm_destroy(vm);
	vm = NULL;
	free_config();
	return 0;
}
