/*
 * loader: kernel images -> guest memory + initial vCPU state.
 *
 * The image parsers work on a guest-memory view (a map callback), not on a
 * VM, so they are testable and fuzzable without /dev/kvm; loader_boot()
 * ties them to a kmod VM.
 */
#ifndef RHYVE_LOADER_LOADER_H
#define RHYVE_LOADER_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

/* Host address of guest-physical [gpa, gpa+len), or NULL if not RAM. */
typedef void *(*loader_map_func_t)(void *arg, uint64_t gpa, size_t len);

struct loader_mem {
	loader_map_func_t map;
	void *arg;
};

enum loader_mode {
	LOADER_MODE_PROT32, /* flat 32-bit protected mode, paging off */
	LOADER_MODE_LONG64, /* long mode, identity-mapped first 4 GiB */
};

/*
 * GDT layouts loader_x86_setup() builds.  The Linux boot protocol wants
 * its code and data descriptors at __BOOT_CS 0x10 and __BOOT_DS 0x18.
 */
enum loader_gdt {
	LOADER_GDT_DEFAULT, /* null, code 0x08, data 0x10, TSS 0x18 */
	LOADER_GDT_LINUX,   /* null, null, code 0x10, data 0x18, TSS 0x20 */
};

struct loader_image {
	uint64_t entry;
	enum loader_mode mode;
	uint64_t lowest;  /* lowest guest-physical byte loaded */
	uint64_t highest; /* one past the highest */
	/* What the boot protocol adds (all 0 for a plain ELF kernel): */
	enum loader_gdt gdt;
	uint64_t rax, rbx, rsi; /* entry arguments (multiboot, Linux) */
};

/*
 * Guest-physical area the loader keeps for its own boot structures (GDT,
 * page tables); a kernel segment that overlaps it is refused.
 */
#define LOADER_BOOT_AREA_BASE 0x1000ULL
#define LOADER_BOOT_AREA_END  0x9000ULL

/*
 * What loader_x86_setup() puts there: the GDT with a TSS right after it
 * (one page), then for long mode a PML4, a PDPT and four page directories
 * of 2 MiB pages identity-mapping the first 4 GiB.
 */
#define LOADER_GDT_ADDR  0x1000ULL
#define LOADER_TSS_ADDR  0x1080ULL
#define LOADER_TSS_LIMIT 0x67 /* 104-byte TSS */
#define LOADER_PML4_ADDR 0x2000ULL
#define LOADER_PDPT_ADDR 0x3000ULL
#define LOADER_PD_ADDR   0x4000ULL /* four pages */

/* GDT selectors */
#define LOADER_SEL_CODE 0x08
#define LOADER_SEL_DATA 0x10
#define LOADER_SEL_TSS  0x18 /* 16-byte system descriptor */
#define LOADER_GDT_SIZE 0x28 /* bytes: null, code, data, TSS (two slots) */

/* LOADER_GDT_LINUX selectors (__BOOT_CS, __BOOT_DS) */
#define LOADER_LINUX_SEL_CODE 0x10
#define LOADER_LINUX_SEL_DATA 0x18
#define LOADER_LINUX_SEL_TSS  0x20
#define LOADER_LINUX_GDT_SIZE 0x30

/*
 * Where the Linux and multiboot loaders put the boot information, right
 * above the boot area (Linux keeps the first 64 KiB to itself):
 * the zero page (struct boot_params) or the multiboot information with
 * its memory map, module list and loader name; the command line; the
 * multiboot module's string.  A kernel that overlaps [LOADER_BOOT_AREA_BASE,
 * LOADER_INFO_END) is refused.
 */
#define LOADER_INFO_ADDR    0x9000ULL
#define LOADER_CMDLINE_ADDR 0xa000ULL
#define LOADER_CMDLINE_MAX  4096 /* bytes, with the terminating NUL */
#define LOADER_MODSTR_ADDR  0xb000ULL
#define LOADER_MODSTR_MAX   4096
#define LOADER_INFO_END     0x10000ULL

/*
 * Load an ELF32 or ELF64 x86 executable from memory: PT_LOAD segments
 * copied to their physical addresses (p_paddr), BSS zeroed.  Returns 0, or
 * -1 with a one-line reason in errbuf.
 */
int loader_elf_load(const void *image, size_t len, const struct loader_mem *mem,
		    struct loader_image *out, char *errbuf, size_t errlen);

/* Register state a kernel is entered with. */
struct loader_regs {
	uint64_t rip, rsp, rflags;
	uint64_t cr0, cr3, cr4, efer;
	struct seg_desc cs, ds, es, fs, gs, ss, tr, ldtr, gdtr, idtr;
	/* Selectors, set with vm_set_register(VM_REG_GUEST_CS, ...) etc. */
	struct {
		uint16_t cs, ds, es, fs, gs, ss, tr, ldtr;
	} sel;
	uint64_t rax, rbx, rsi; /* from struct loader_image */
};

/*
 * Build the GDT (and for long mode the identity page tables) in the boot
 * area and compute the entry register state.  Returns 0 or -1 + errbuf.
 */
int loader_x86_setup(const struct loader_mem *mem,
		     const struct loader_image *img, struct loader_regs *regs,
		     char *errbuf, size_t errlen);

/*
 * Apply 'regs' to a vCPU: control registers and EFER, then segments
 * (descriptor, then selector), then rip, rsp, rflags.  Returns 0 or the
 * errno value of the first vm_set_register()/vm_set_seg_desc() that failed.
 */
int loader_set_regs(struct vcpu *vcpu, const struct loader_regs *regs);

/*
 * Read the kernel file at 'path', load it into 'vm' and set up vCPU 0 to
 * enter it.  Returns 0, or -1 with "PATH: reason" in errbuf.
 */
int loader_boot(struct vm *vm, const char *path, char *errbuf, size_t errlen);

/* ---- the e820 memory map (loader_e820.c) ---------------------------- */

#define LOADER_E820_RAM      1
#define LOADER_E820_RESERVED 2
#define LOADER_E820_MAX      8

/*
 * Where guest RAM is not: the EBDA and BIOS area below 1 MiB (with the
 * ACPI tables at 0xf2400), the PCI ECAM window at 0xe0000000 (256 MiB,
 * reserved as the MCFG table's window must be), and the devices at the
 * top of the 3-4 GiB hole (I/O APIC 0xfec00000, HPET, local APIC
 * 0xfee00000, pc-testdev, BIOS flash).  The rest of the hole is left out
 * of the map, free for PCI.
 */
#define LOADER_E820_EBDA      0x9fc00ULL
#define LOADER_E820_HIGH_BIOS 0x100000ULL
#define LOADER_E820_ECAM_BASE 0xe0000000ULL /* as PCI_EMUL_ECFG_BASE */
#define LOADER_E820_ECAM_SIZE (256ULL << 20)
#define LOADER_E820_MMIO_BASE 0xfec00000ULL
#define LOADER_E820_4G        (1ULL << 32)

struct loader_e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/*
 * The map of a guest with 'lowmem' bytes of RAM from 0 (at most 3 GiB)
 * and 'highmem' bytes from 4 GiB, as vm_setup_memory() lays it out, in
 * ascending order.  Returns the number of entries written: at most 'max',
 * and LOADER_E820_MAX is always enough.
 */
size_t loader_e820(uint64_t lowmem, uint64_t highmem,
		   struct loader_e820_entry *tab, size_t max);

/* ---- Linux bzImage and multiboot kernels ---------------------------- */

/* What the boot protocols hand a kernel besides its image. */
struct loader_kernel_args {
	uint64_t lowmem;     /* RAM [0, lowmem), at most 3 GiB */
	uint64_t highmem;    /* RAM [4 GiB, 4 GiB + highmem) */
	const char *cmdline; /* NULL: none */
	const void *initrd;  /* initrd (multiboot: module 0); NULL: none */
	size_t initrd_len;
	const char *initrd_name; /* multiboot module string; NULL: "initrd" */
	/*
	 * bzImage: load the whole image and let the kernel decompress
	 * itself, instead of decompressing the payload on the host and
	 * entering the vmlinux inside at startup_64.
	 */
	bool guest_decompress;
	/* bzImage: the ACPI RSDP's address for the zero page; 0: none. */
	uint64_t acpi_rsdp;
};

enum loader_format {
	LOADER_FORMAT_UNKNOWN,
	LOADER_FORMAT_ELF,       /* plain ELF32/ELF64 kernel */
	LOADER_FORMAT_BZIMAGE,   /* Linux/x86 boot protocol */
	LOADER_FORMAT_MULTIBOOT, /* multiboot v1 (ELF or a.out kludge) */
};

/* What kind of kernel 'image' claims to be (nothing is validated). */
enum loader_format loader_probe(const void *image, size_t len);

/*
 * Linux bzImage, 64-bit boot protocol (2.12 or later): the zero page at
 * LOADER_INFO_ADDR (setup header copied, e820 map, command line, initrd
 * below initrd_addr_max), the kernel at pref_address, and the entry state
 * in 'out': long mode, LOADER_GDT_LINUX, rsi = zero page.  The payload is
 * decompressed on the host where its format allows (gzip, xz, lzma,
 * zstd, none) and the vmlinux inside entered at startup_64; otherwise, or
 * with guest_decompress, the kernel decompresses itself (entry at the
 * load address + 0x200).  'how', if not NULL, receives "host-xz",
 * "guest" etc.  Returns 0, or -1 with a one-line reason in errbuf.
 */
int loader_bzimage_load(const void *image, size_t len,
			const struct loader_mem *mem,
			const struct loader_kernel_args *args,
			struct loader_image *out, const char **how,
			char *errbuf, size_t errlen);

/*
 * Offset of the multiboot v1 header (magic 0x1BADB002 at a 4-byte
 * aligned offset in the first 8 KiB), or -1 if there is none.
 */
long loader_multiboot_find(const void *image, size_t len);

/*
 * Multiboot v1: an ELF kernel, or any file with the address fields
 * (flag 16, the a.out kludge), loaded below 4 GiB; the multiboot
 * information (memory sizes, the e820 map as mmap, command line, the
 * initrd as module 0, loader name) at LOADER_INFO_ADDR; entered in flat
 * 32-bit protected mode, paging off, eax 0x2BADB002, ebx the info.
 */
#define LOADER_MULTIBOOT_MAGIC  0x1BADB002u
#define LOADER_MULTIBOOT_EAX    0x2BADB002u
#define LOADER_MULTIBOOT_SEARCH 8192
int loader_multiboot_load(const void *image, size_t len,
			  const struct loader_mem *mem,
			  const struct loader_kernel_args *args,
			  struct loader_image *out, char *errbuf,
			  size_t errlen);

/*
 * Any kernel: a bzImage, a multiboot kernel or a plain ELF kernel (which
 * takes no command line or initrd).  'how' as for loader_bzimage_load()
 * ("elf", "multiboot" otherwise).
 */
int loader_kernel_load(const void *image, size_t len,
		       const struct loader_mem *mem,
		       const struct loader_kernel_args *args,
		       struct loader_image *out, const char **how, char *errbuf,
		       size_t errlen);

/* What loader_boot_opts() boots. */
struct loader_boot_opts {
	const char *kernel;  /* path */
	const char *initrd;  /* path or NULL */
	const char *cmdline; /* or NULL */
	bool guest_decompress;
	uint64_t acpi_rsdp; /* for a Linux kernel's zero page; 0: none */
};

/*
 * loader_boot() with an initrd and a command line: read the files, load
 * the kernel (any format) into 'vm' and set up vCPU 0.  Returns 0, or -1
 * with "PATH: reason" in errbuf.
 */
int loader_boot_opts(struct vm *vm, const struct loader_boot_opts *opts,
		     char *errbuf, size_t errlen);

#endif
