/*
 * COM1-COM4 on LPC, after bhyve's lpc_uart code in lpc.c: each is a 16550
 * (uart_16550.c) at its legacy I/O base, with the console backend named by
 * "lpc.comN.path" (-l comN,BACKEND).
 *
 * The UART's registers are bytes.  A 2- or 4-byte access is split into
 * byte accesses at ascending ports, as an 8-bit ISA device sees a wide
 * cycle (bhyve splits 2-byte ones too); the bytes that fall past the
 * UART's eight ports read as 0xff and their writes are dropped.  A guest
 * thus never stops the VM through a UART access.
 *
 * The UART's interrupt line is its ISA IRQ (COM1/COM3 4, COM2/COM4 3) on
 * the 8259 pair and the I/O APIC pin of the same number: the 16550 model
 * calls back on each change of the line, which asserts or deasserts the
 * IRQ (both count asserters, so COM1 and COM3 share IRQ4 as a wired OR).
 */
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

#define UART_LPC_NPORTS 8

struct uart_lpc {
	struct vm *vm;
	const char *name;
	int unit;
	int iobase, irq;
	struct uart_softc *sc;
	struct inout_port iop;
};

static struct uart_lpc uart_lpc_units[4] = {
	{ .name = "com1", .unit = 0 },
	{ .name = "com2", .unit = 1 },
	{ .name = "com3", .unit = 2 },
	{ .name = "com4", .unit = 3 },
};

static int
uart_lpc_io(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	    void *arg)
{
	struct uart_lpc *ul = arg;
	uint32_t val = 0;
	int off;

	for (int i = 0; i < bytes; i++) {
		off = port - ul->iobase + i;
		if (in) {
			val |= (uint32_t)(off >= 0 && off < UART_LPC_NPORTS
					      ? uart_read(ul->sc, off)
					      : 0xff)
			       << (8 * i);
		} else if (off >= 0 && off < UART_LPC_NPORTS) {
			uart_write(ul->sc, off, (uint8_t)(*eax >> (8 * i)));
		}
	}
	if (in)
		*eax = val;
	return 0;
}

/* Called with the UART's lock held: lock order UART, PIC, vCPU. */
static void
uart_lpc_intr_assert(void *arg)
{
	struct uart_lpc *ul = arg;

	vm_isa_assert_irq(ul->vm, ul->irq, ul->irq);
}

static void
uart_lpc_intr_deassert(void *arg)
{
	struct uart_lpc *ul = arg;

	vm_isa_deassert_irq(ul->vm, ul->irq, ul->irq);
}

static int
uart_lpc_init(struct uart_lpc *ul, struct vm *vm,
	      const struct config_node *node)
{
	char errbuf[256];
	const char *path;

	if (uart_legacy_alloc(ul->unit, &ul->iobase, &ul->irq) != 0) {
		rhyve_warnx("%s: no legacy I/O resources", ul->name);
		return -1;
	}
	ul->vm = vm;
	ul->sc = uart_init(uart_lpc_intr_assert, uart_lpc_intr_deassert, ul);
	if (ul->sc == NULL) {
		rhyve_warnx("%s: out of memory", ul->name);
		return -1;
	}
	path = get_config_value_node(node, "path");
	if (uart_set_backend(ul->sc, path, ul->name, errbuf, sizeof(errbuf)) !=
	    0) {
		rhyve_warnx("%s: %s", ul->name, errbuf);
		goto fail;
	}
	memset(&ul->iop, 0, sizeof(ul->iop));
	ul->iop.name = ul->name;
	ul->iop.port = ul->iobase;
	ul->iop.size = UART_LPC_NPORTS;
	ul->iop.flags = IOPORT_F_INOUT;
	ul->iop.handler = uart_lpc_io;
	ul->iop.arg = ul;
	if (register_inout(&ul->iop) != 0) {
		rhyve_warnx("%s: cannot register ports %#x-%#x", ul->name,
			    ul->iobase, ul->iobase + UART_LPC_NPORTS - 1);
		goto fail;
	}
	return 0;
fail:
	uart_deinit(ul->sc);
	ul->sc = NULL;
	return -1;
}

static void
uart_lpc_deinit(struct uart_lpc *ul)
{
	if (ul->sc == NULL)
		return;
	unregister_inout(&ul->iop);
	uart_deinit(ul->sc);
	ul->sc = NULL;
}

#define UART_LPC_DEV(n, idx, help_text)                                        \
	static int uart_lpc_init_##n(struct vm *vm,                            \
				     const struct config_node *node)           \
	{                                                                      \
		return uart_lpc_init(&uart_lpc_units[idx], vm, node);          \
	}                                                                      \
	static void uart_lpc_deinit_##n(void)                                  \
	{                                                                      \
		uart_lpc_deinit(&uart_lpc_units[idx]);                         \
	}                                                                      \
	static const struct lpc_dev uart_lpc_dev_##n = {                       \
		.name = #n,                                                    \
		.help = help_text,                                             \
		.init = uart_lpc_init_##n,                                     \
		.deinit = uart_lpc_deinit_##n,                                 \
	};                                                                     \
	LPC_DEV_REGISTER(uart_lpc_dev_##n)

UART_LPC_DEV(com1, 0,
	     "16550 UART at 0x3f8, IRQ 4 (com1,stdio|file:PATH|pty[:LINK])")
UART_LPC_DEV(com2, 1, "16550 UART at 0x2f8, IRQ 3 (com2,BACKEND as com1)")
UART_LPC_DEV(com3, 2, "16550 UART at 0x3e8, IRQ 4 (com3,BACKEND as com1)")
UART_LPC_DEV(com4, 3, "16550 UART at 0x2e8, IRQ 3 (com4,BACKEND as com1)")
