/*
 * The guest's e820 memory map, for the Linux zero page and the multiboot
 * mmap: RAM where vm_setup_memory() put it (from 0 up to 3 GiB, the rest
 * from 4 GiB), less the EBDA and BIOS area below 1 MiB (which holds the
 * ACPI tables), and the PCI ECAM window and the device window at the top
 * of the 3-4 GiB hole marked reserved.
 */
#include "loader_int.h"

static size_t
e820_add(struct loader_e820_entry *tab, size_t n, size_t max, uint64_t addr,
	 uint64_t end, uint32_t type)
{
	if (end <= addr || n >= max)
		return n;
	tab[n].addr = addr;
	tab[n].size = end - addr;
	tab[n].type = type;
	return n + 1;
}

size_t
loader_e820(uint64_t lowmem, uint64_t highmem, struct loader_e820_entry *tab,
	    size_t max)
{
	uint64_t low_end = lowmem < VM_LOWMEM_LIMIT ? lowmem : VM_LOWMEM_LIMIT;
	size_t n = 0;

	if (tab == NULL)
		return 0;
	/* Conventional memory up to the EBDA (less if there is less RAM). */
	n = e820_add(tab, n, max, 0,
		     low_end < LOADER_E820_EBDA ? low_end : LOADER_E820_EBDA,
		     LOADER_E820_RAM);
	/* EBDA, VGA window, option ROMs and the BIOS. */
	n = e820_add(tab, n, max, LOADER_E820_EBDA, LOADER_E820_HIGH_BIOS,
		     LOADER_E820_RESERVED);
	n = e820_add(tab, n, max, LOADER_E820_HIGH_BIOS, low_end,
		     LOADER_E820_RAM);
	/* PCI Express ECAM (the MCFG window): no RAM, and not for BARs. */
	n = e820_add(tab, n, max, LOADER_E820_ECAM_BASE,
		     LOADER_E820_ECAM_BASE + LOADER_E820_ECAM_SIZE,
		     LOADER_E820_RESERVED);
	/* I/O APIC, HPET, local APIC, pc-testdev, flash. */
	n = e820_add(tab, n, max, LOADER_E820_MMIO_BASE, LOADER_E820_4G,
		     LOADER_E820_RESERVED);
	if (highmem <= UINT64_MAX - LOADER_E820_4G)
		n = e820_add(tab, n, max, LOADER_E820_4G,
			     LOADER_E820_4G + highmem, LOADER_E820_RAM);
	return n;
}
