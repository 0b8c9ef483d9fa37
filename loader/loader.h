/*
 * loader: kernel images -> guest memory + initial vCPU state.
 *
 * The image parsers work on a guest-memory view (a map callback), not on a
 * VM, so they are testable and fuzzable without /dev/kvm; loader_boot()
 * ties them to a kmod VM.
 */
#ifndef RHYVE_LOADER_LOADER_H
#define RHYVE_LOADER_LOADER_H

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

struct loader_image {
	uint64_t entry;
	enum loader_mode mode;
	uint64_t lowest;  /* lowest guest-physical byte loaded */
	uint64_t highest; /* one past the highest */
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

#endif
