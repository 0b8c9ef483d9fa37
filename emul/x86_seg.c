/*
 * Segmentation: logical (segment:offset) -> linear address with the limit
 * and type checks the CPU makes (Intel SDM vol. 3A 3.4.5, 5.3, 5.4; in
 * 64-bit mode 3.2.4 and 5.3.1).  See emul/x86.h.
 */
#include "x86.h"

enum x86_seg_mode
x86_seg_mode_of(uint64_t cr0, uint64_t cr4, uint64_t efer, uint64_t rflags,
		uint32_t cs_access)
{
	if (!(cr0 & CR0_PE) || (rflags & PSL_VM))
		return X86_SEGM_REAL;
	if ((efer & EFER_LMA) && (cs_access & X86_SEG_L))
		return (cr4 & CR4_LA57) ? X86_SEGM_64_LA57 : X86_SEGM_64;
	return X86_SEGM_PROT;
}

static int
seg_fault(unsigned int seg, int access, struct x86_fault *fault)
{
	fault->vector = (seg == X86_R_SS || (access & X86_MEM_STACK))
			    ? X86_VEC_SS
			    : X86_VEC_GP;
	fault->error_code = 0;
	return 1;
}

int
x86_seg_linear(const struct x86_segdesc *desc, unsigned int seg,
	       enum x86_seg_mode mode, unsigned int addrsize, uint64_t offset,
	       size_t size, int access, uint64_t *gla, struct x86_fault *fault)
{
	int type = access & X86_MEM_TYPE;
	uint64_t last, lo, hi;
	unsigned int t = X86_SEG_TYPE(desc->access);

	*fault = (struct x86_fault){ 0 };
	if (size == 0)
		size = 1;
	if (addrsize == 2)
		offset &= 0xffff;
	else if (addrsize == 4)
		offset &= 0xffffffffULL;

	if (mode == X86_SEGM_64 || mode == X86_SEGM_64_LA57) {
		bool la57 = mode == X86_SEGM_64_LA57;
		uint64_t a = offset;

		if (seg == X86_R_FS || seg == X86_R_GS)
			a += desc->base;
		/* first and last byte canonical: no access runs off the
		 * lower half */
		if (!x86_canonical(a, la57) ||
		    !x86_canonical(a + (size - 1), la57))
			return seg_fault(seg, access, fault);
		*gla = a;
		return 0;
	}

	if (type == X86_MEM_TYPE)
		return seg_fault(seg, access, fault);
	if (mode == X86_SEGM_PROT) {
		/* null selector (VMX: unusable), not present, system */
		if ((desc->access & X86_SEG_UNUSABLE) ||
		    !(desc->access & X86_SEG_P) || !(desc->access & X86_SEG_S))
			return seg_fault(seg, access, fault);
		if (type == X86_MEM_WRITE && (t & X86_SEG_TYPE_CODE))
			return seg_fault(seg, access, fault);
	}
	/* The type checks real mode keeps, after KVM's emulator: the hidden
	 * attributes still say read-only or execute-only. */
	if (type == X86_MEM_WRITE && !(t & X86_SEG_TYPE_CODE) &&
	    !(t & X86_SEG_TYPE_WR))
		return seg_fault(seg, access, fault);
	if (type == X86_MEM_READ &&
	    (t & (X86_SEG_TYPE_CODE | X86_SEG_TYPE_RD)) == X86_SEG_TYPE_CODE)
		return seg_fault(seg, access, fault);

	/* Limits: every byte, no wrap-around. */
	if (!(t & X86_SEG_TYPE_CODE) && (t & X86_SEG_TYPE_EXPDN)) {
		lo = (uint64_t)desc->limit + 1;
		hi = (desc->access & X86_SEG_DB) ? 0xffffffffULL : 0xffffULL;
	} else {
		lo = 0;
		hi = desc->limit;
	}
	last = offset + (size - 1);
	if (offset < lo || last < offset || last > hi)
		return seg_fault(seg, access, fault);
	*gla = (desc->base + offset) & 0xffffffffULL;
	return 0;
}
