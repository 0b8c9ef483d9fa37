/*
 * Port I/O into the monitor's port table (monitor/inout.c) as a vCPU exit
 * would bring it, for the tests and fuzz targets of monitor devices (PCI,
 * fw_cfg, ACPI PM) on tests/unit/fake_vm.h.  Include after rhyve.h.
 */
#ifndef RHYVE_TESTS_MONITOR_IO_H
#define RHYVE_TESTS_MONITOR_IO_H

#include <string.h>

/* emulate_inout()'s result; *val is written, or read (zero-extended). */
static inline int
monitor_pio(struct vm *vm, bool in, int port, int bytes, uint32_t *val)
{
	struct vm_exit ex;
	uint8_t data[4];
	int error;

	memset(&ex, 0, sizeof(ex));
	memcpy(data, val, sizeof(data));
	ex.exitcode = VM_EXITCODE_INOUT;
	ex.u.inout = (struct vm_inout){ .port = (uint16_t)port,
					.bytes = (uint8_t)bytes,
					.in = in,
					.count = 1,
					.data = data };
	error = emulate_inout(vm->vcpus[0], &ex, false);
	*val = 0;
	memcpy(val, data, (size_t)bytes);
	return error;
}

#endif
