/*
 * The x86 entry state: a flat GDT with a TSS (rhyve's layout, or the
 * Linux boot protocol's with __BOOT_CS 0x10 and __BOOT_DS 0x18) and, for
 * long mode, page tables identity-mapping the first 4 GiB with 2 MiB
 * pages, all in the boot area; and the register values that enter a
 * kernel through them, with the boot protocol's arguments in rax, rbx and
 * rsi.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "loader.h"
#include "loader_int.h"
#include "x86.h"

#define GIB4 (1ULL << 32)

/* Access rights (struct seg_desc layout) of what the GDT holds. */
#define ACC_CODE64                                                             \
	(SEG_ACC_TYPE(SDT_MEMERA) | SEG_ACC_S | SEG_ACC_P | SEG_ACC_L |        \
	 SEG_ACC_G)
#define ACC_CODE32                                                             \
	(SEG_ACC_TYPE(SDT_MEMERA) | SEG_ACC_S | SEG_ACC_P | SEG_ACC_DB |       \
	 SEG_ACC_G)
#define ACC_DATA                                                               \
	(SEG_ACC_TYPE(SDT_MEMRWA) | SEG_ACC_S | SEG_ACC_P | SEG_ACC_DB |       \
	 SEG_ACC_G)
#define ACC_TSS (SEG_ACC_TYPE(SDT_SYSBSY) | SEG_ACC_P)

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static struct seg_desc
seg(uint64_t base, uint32_t limit, uint32_t access)
{
	struct seg_desc d = { .base = base, .limit = limit, .access = access };

	return d;
}

int
loader_x86_setup(const struct loader_mem *mem, const struct loader_image *img,
		 struct loader_regs *regs, char *errbuf, size_t errlen)
{
	const size_t area_len = LOADER_BOOT_AREA_END - LOADER_BOOT_AREA_BASE;
	unsigned char *area, *gdt;
	uint16_t sel_code, sel_data, sel_tss, gdt_size;
	uint32_t code_acc;
	bool long64;

	if (mem == NULL || mem->map == NULL || img == NULL || regs == NULL)
		return loader_fail(errbuf, errlen, "no guest memory or image");
	switch (img->mode) {
	case LOADER_MODE_LONG64:
		long64 = true;
		break;
	case LOADER_MODE_PROT32:
		long64 = false;
		break;
	default:
		return loader_fail(errbuf, errlen, "unknown entry mode %d",
				   (int)img->mode);
	}
	switch (img->gdt) {
	case LOADER_GDT_DEFAULT:
		sel_code = LOADER_SEL_CODE;
		sel_data = LOADER_SEL_DATA;
		sel_tss = LOADER_SEL_TSS;
		gdt_size = LOADER_GDT_SIZE;
		break;
	case LOADER_GDT_LINUX:
		sel_code = LOADER_LINUX_SEL_CODE;
		sel_data = LOADER_LINUX_SEL_DATA;
		sel_tss = LOADER_LINUX_SEL_TSS;
		gdt_size = LOADER_LINUX_GDT_SIZE;
		break;
	default:
		return loader_fail(errbuf, errlen, "unknown GDT layout %d",
				   (int)img->gdt);
	}
	/* Both modes run the entry through flat 4 GiB (identity) mappings. */
	if (img->entry >= GIB4)
		return loader_fail(
		    errbuf, errlen,
		    "entry point 0x%" PRIx64
		    " lies above 4 GiB, outside the boot mappings",
		    img->entry);
	area = mem->map(mem->arg, LOADER_BOOT_AREA_BASE, area_len);
	if (area == NULL)
		return loader_fail(errbuf, errlen,
				   "guest memory does not cover the boot area "
				   "[0x%llx, 0x%llx)",
				   LOADER_BOOT_AREA_BASE, LOADER_BOOT_AREA_END);
	memset(area, 0, area_len);

	/*
	 * GDT: null (two for Linux), code, data, 16-byte TSS descriptor;
	 * the TSS after it.
	 */
	code_acc = long64 ? ACC_CODE64 : ACC_CODE32;
	gdt = area + (LOADER_GDT_ADDR - LOADER_BOOT_AREA_BASE);
	put64(gdt + sel_code, x86_desc_pack(0, 0xffffffff, code_acc));
	put64(gdt + sel_data, x86_desc_pack(0, 0xffffffff, ACC_DATA));
	put64(gdt + sel_tss, x86_desc_pack((uint32_t)LOADER_TSS_ADDR,
					   LOADER_TSS_LIMIT, ACC_TSS));
	put64(gdt + sel_tss + 8, LOADER_TSS_ADDR >> 32);
	/* The TSS stays zero but for its I/O map base: no I/O bitmap. */
	area[LOADER_TSS_ADDR - LOADER_BOOT_AREA_BASE + 102] =
	    LOADER_TSS_LIMIT + 1;

	if (long64) {
		unsigned char *pml4 =
		    area + (LOADER_PML4_ADDR - LOADER_BOOT_AREA_BASE);
		unsigned char *pdpt =
		    area + (LOADER_PDPT_ADDR - LOADER_BOOT_AREA_BASE);
		unsigned char *pd =
		    area + (LOADER_PD_ADDR - LOADER_BOOT_AREA_BASE);

		put64(pml4, LOADER_PDPT_ADDR | PG_V | PG_RW);
		for (uint64_t i = 0; i < 4; i++)
			put64(pdpt + 8 * i,
			      (LOADER_PD_ADDR + 4096 * i) | PG_V | PG_RW);
		/* 4 directories x 512 entries x 2 MiB = 4 GiB. */
		for (uint64_t i = 0; i < 4 * 512; i++)
			put64(pd + 8 * i, (i << 21) | PG_V | PG_RW | PG_PS);
	}

	memset(regs, 0, sizeof(*regs));
	regs->rip = img->entry;
	regs->rax = img->rax;
	regs->rbx = img->rbx;
	regs->rsi = img->rsi;
	regs->rsp = 0;
	regs->rflags = PSL_1;
	if (long64) {
		regs->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
		regs->cr3 = LOADER_PML4_ADDR;
		regs->cr4 = CR4_PAE;
		regs->efer = EFER_LME | EFER_LMA;
	} else {
		regs->cr0 = CR0_PE | CR0_ET | CR0_NE;
	}
	regs->cs = seg(0, 0xffffffff, code_acc);
	regs->ds = regs->es = regs->fs = regs->gs = regs->ss =
	    seg(0, 0xffffffff, ACC_DATA);
	regs->tr = seg(LOADER_TSS_ADDR, LOADER_TSS_LIMIT, ACC_TSS);
	regs->ldtr = seg(0, 0, SEG_ACC_UNUSABLE);
	regs->gdtr = seg(LOADER_GDT_ADDR, gdt_size - 1u, 0);
	regs->idtr = seg(0, 0, 0);
	regs->sel.cs = sel_code;
	regs->sel.ds = regs->sel.es = regs->sel.fs = regs->sel.gs =
	    regs->sel.ss = sel_data;
	regs->sel.tr = sel_tss;
	regs->sel.ldtr = 0;
	return 0;
}

static int
set_regs(struct vcpu *vcpu, const struct loader_regs *regs)
{
	const struct {
		int reg;
		uint64_t val;
	} cregs[] = {
		{ VM_REG_GUEST_CR0, regs->cr0 },
		{ VM_REG_GUEST_CR3, regs->cr3 },
		{ VM_REG_GUEST_CR4, regs->cr4 },
		{ VM_REG_GUEST_EFER, regs->efer },
	};
	const struct {
		int reg;
		const struct seg_desc *desc;
		uint16_t sel;
		bool has_sel;
	} segs[] = {
		{ VM_REG_GUEST_CS, &regs->cs, regs->sel.cs, true },
		{ VM_REG_GUEST_DS, &regs->ds, regs->sel.ds, true },
		{ VM_REG_GUEST_ES, &regs->es, regs->sel.es, true },
		{ VM_REG_GUEST_FS, &regs->fs, regs->sel.fs, true },
		{ VM_REG_GUEST_GS, &regs->gs, regs->sel.gs, true },
		{ VM_REG_GUEST_SS, &regs->ss, regs->sel.ss, true },
		{ VM_REG_GUEST_TR, &regs->tr, regs->sel.tr, true },
		{ VM_REG_GUEST_LDTR, &regs->ldtr, regs->sel.ldtr, true },
		{ VM_REG_GUEST_GDTR, &regs->gdtr, 0, false },
		{ VM_REG_GUEST_IDTR, &regs->idtr, 0, false },
	};
	const struct {
		int reg;
		uint64_t val;
	} gregs[] = {
		{ VM_REG_GUEST_RAX, regs->rax },
		{ VM_REG_GUEST_RBX, regs->rbx },
		{ VM_REG_GUEST_RSI, regs->rsi },
		{ VM_REG_GUEST_RIP, regs->rip },
		{ VM_REG_GUEST_RSP, regs->rsp },
		{ VM_REG_GUEST_RFLAGS, regs->rflags },
	};
	int error;

	for (size_t i = 0; i < sizeof(cregs) / sizeof(cregs[0]); i++)
		if ((error = vm_set_register(vcpu, cregs[i].reg,
					     cregs[i].val)) != 0)
			return error;
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		if ((error =
			 vm_set_seg_desc(vcpu, segs[i].reg, segs[i].desc)) != 0)
			return error;
		if (segs[i].has_sel &&
		    (error = vm_set_register(vcpu, segs[i].reg, segs[i].sel)) !=
			0)
			return error;
	}
	for (size_t i = 0; i < sizeof(gregs) / sizeof(gregs[0]); i++)
		if ((error = vm_set_register(vcpu, gregs[i].reg,
					     gregs[i].val)) != 0)
			return error;
	return 0;
}

int
loader_set_regs(struct vcpu *vcpu, const struct loader_regs *regs)
{
	if (vcpu == NULL || regs == NULL)
		return EINVAL;
	return set_regs(vcpu, regs);
}
