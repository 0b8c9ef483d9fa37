/*
 * The LPC (ISA) bridge as a PCI function, after bhyve's pci_lpc.c: Intel's
 * 82371SB PIIX3 ISA bridge IDs (0x8086/0x7000), class bridge/ISA, on bus
 * 0, at most one.  -s 31,lpc is the usual place.
 *
 * The LPC devices themselves (COM1-COM4, pc-testdev; lpc.c) and the RTC
 * (kmod) sit at their fixed legacy ports whether or not this function is
 * configured: bhyve creates the -l devices from this function's init and
 * so requires an lpc slot, rhyve does not (its test guests use -l without
 * -s).  The function is the bridge's face in config space, for guests
 * that look for it and for the ACPI tables that will describe what sits
 * behind it.  The PIRQ routing registers (0x60-0x63, 0x68-0x6b) come with
 * the first model that raises INTx.
 */
#include "rhyve.h"

#define LPC_VENDOR 0x8086
#define LPC_DEV    0x7000

static struct pci_devinst *pci_lpc_pi;

static int
pci_lpc_init(struct pci_devinst *pi, const struct config_node *node)
{
	if (pci_lpc_pi != NULL) {
		rhyve_warnx("pci.0.%u.%u: only one LPC bridge is allowed "
			    "(one is at 0:%u.%u)",
			    pi->pi_slot, pi->pi_func, pci_lpc_pi->pi_slot,
			    pci_lpc_pi->pi_func);
		return -1;
	}
	pci_set_cfgdata16(pi, PCIR_VENDOR, LPC_VENDOR);
	pci_set_cfgdata16(pi, PCIR_DEVICE, LPC_DEV);
	pci_set_cfgdata8(pi, PCIR_HDRTYPE, PCIM_HDRTYPE_NORMAL);
	pci_set_cfgdata8(pi, PCIR_CLASS, PCIC_BRIDGE);
	pci_set_cfgdata8(pi, PCIR_SUBCLASS, PCIS_BRIDGE_ISA);
	pci_lpc_pi = pi;
	return 0;
}

static void
pci_lpc_deinit(struct pci_devinst *pi)
{
	if (pci_lpc_pi == pi)
		pci_lpc_pi = NULL;
}

const struct pci_devinst *
pci_lpc_bridge(void)
{
	return pci_lpc_pi;
}

static const struct pci_devemu pci_de_lpc = {
	.pe_emu = "lpc",
	.pe_help = "LPC/ISA bridge 0x8086/0x7000 (the -l devices work "
		   "without it)",
	.pe_init = pci_lpc_init,
	.pe_deinit = pci_lpc_deinit,
};
PCI_EMUL_REGISTER(pci_de_lpc)
