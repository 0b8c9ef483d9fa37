/*
 * The PCI host bridge, after bhyve's pci_hostbridge.c: a function with
 * class bridge/host, no BARs, and a PCI Express capability (root port, as
 * bhyve's).  Guests look for it at 0:0.0 (-s 0,hostbridge).
 *
 *   -s 0,hostbridge                        vendor/device 0x1275/0x1275
 *   -s 0,hostbridge,vendor=0x8086,devid=0x1237
 *   -s 0,amd_hostbridge                    vendor/device 0x1022/0x7432,
 *                                          stored as device=hostbridge
 *
 * Config: pci.0.SLOT.FUNC.vendor and .devid (16-bit numbers, C syntax).
 */
#include <stdlib.h>

#include "rhyve.h"

#define HOSTBRIDGE_VENDOR     0x1275 /* NetApp, as bhyve */
#define HOSTBRIDGE_DEVICE     0x1275
#define AMD_HOSTBRIDGE_VENDOR 0x1022
#define AMD_HOSTBRIDGE_DEVICE 0x7432 /* made up, as bhyve's */

static int
pci_hostbridge_id(struct pci_devinst *pi, const struct config_node *node,
		  const char *key, uint16_t def, uint16_t *idp)
{
	const char *value = get_config_value_node(node, key);
	unsigned long v;
	char *end;

	*idp = def;
	if (value == NULL)
		return 0;
	v = strtoul(value, &end, 0);
	/* 0xffff is what an absent function reads: no vendor may have it. */
	if (*value == '\0' || *value == '-' || *end != '\0' || v >= 0xffff) {
		rhyve_warnx("pci.0.%u.%u.%s=%s: not a 16-bit ID below 0xffff",
			    pi->pi_slot, pi->pi_func, key, value);
		return -1;
	}
	*idp = (uint16_t)v;
	return 0;
}

static int
pci_hostbridge_setup(struct pci_devinst *pi, const struct config_node *node,
		     uint16_t def_vendor, uint16_t def_device)
{
	uint16_t vendor, device;

	if (pci_hostbridge_id(pi, node, "vendor", def_vendor, &vendor) != 0 ||
	    pci_hostbridge_id(pi, node, "devid", def_device, &device) != 0)
		return -1;
	pci_set_cfgdata16(pi, PCIR_VENDOR, vendor);
	pci_set_cfgdata16(pi, PCIR_DEVICE, device);
	pci_set_cfgdata8(pi, PCIR_HDRTYPE, PCIM_HDRTYPE_NORMAL);
	pci_set_cfgdata8(pi, PCIR_CLASS, PCIC_BRIDGE);
	pci_set_cfgdata8(pi, PCIR_SUBCLASS, PCIS_BRIDGE_HOST);
	return pci_emul_add_pciecap(pi, PCIEM_TYPE_ROOT_PORT) == 0 ? 0 : -1;
}

static int
pci_hostbridge_init(struct pci_devinst *pi, const struct config_node *node)
{
	return pci_hostbridge_setup(pi, node, HOSTBRIDGE_VENDOR,
				    HOSTBRIDGE_DEVICE);
}

/*
 * bhyve's amd_hostbridge: AMD's vendor ID, for guests that want one.  -s
 * writes the IDs into the config (device=hostbridge); a config that names
 * amd_hostbridge itself gets them as defaults.
 */
static int
pci_amd_hostbridge_init(struct pci_devinst *pi, const struct config_node *node)
{
	return pci_hostbridge_setup(pi, node, AMD_HOSTBRIDGE_VENDOR,
				    AMD_HOSTBRIDGE_DEVICE);
}

static int
pci_amd_hostbridge_legacy_config(struct config_node *node, const char *opts)
{
	if (set_config_value_node(node, "vendor", "0x1022") != 0 ||
	    set_config_value_node(node, "devid", "0x7432") != 0)
		return -1;
	return opts != NULL ? pci_parse_legacy_config(node, opts) : 0;
}

static const struct pci_devemu pci_de_hostbridge = {
	.pe_emu = "hostbridge",
	.pe_help = "PCI host bridge (vendor=ID,devid=ID; default "
		   "0x1275/0x1275)",
	.pe_init = pci_hostbridge_init,
};
PCI_EMUL_REGISTER(pci_de_hostbridge)

static const struct pci_devemu pci_de_amd_hostbridge = {
	.pe_emu = "amd_hostbridge",
	.pe_help = "hostbridge with AMD's IDs 0x1022/0x7432",
	.pe_alias = "hostbridge",
	.pe_legacy_config = pci_amd_hostbridge_legacy_config,
	.pe_init = pci_amd_hostbridge_init,
};
PCI_EMUL_REGISTER(pci_de_amd_hostbridge)
