/*
 * Virtual-8086 mode for the interp engine (Intel SDM vol. 3B ch. 20).
 *
 * Most of it lives where the mode matters: segment loads form base =
 * selector << 4 with 64 KiB limits (interp_set_seg_real), CPL is 3
 * (interp_cpl), code is 16-bit (interp_code_mode), CLI, STI, PUSHF,
 * POPF, INT n and IRET raise #GP(0) below IOPL 3 (interp_sys.c,
 * interp_data.c, interp_intr.c), IN and OUT always consult the TSS's
 * I/O permission bitmap (interp_io.c), an interrupt or exception goes to
 * a ring-0 handler with the 8086 segments on its stack (interp_intr.c),
 * and a task switch to a TSS whose EFLAGS has VM enters it
 * (interp_task.c).  This file enters it by IRET.
 *
 * Not modelled: CR4.VME and CR4.PVI (virtual interrupt flags,
 * interrupt redirection): CPUID does not list VME, so a guest has no
 * reason to set them, and they change nothing here.
 */
#include "interp.h"

/*
 * IRET at CPL 0 with a 32-bit frame whose EFLAGS has VM (SDM vol. 2
 * "IRET", RETURN-TO-VIRTUAL-8086-MODE): EIP CS EFLAGS (read by op_iret)
 * and ESP SS ES DS FS GS follow on the stack; every flag is taken,
 * VM, IOPL, VIF and VIP included, and the segments are loaded as 8086
 * ones.
 */
int
interp_vm86_enter(struct interp_cpu *c, uint64_t ip, uint64_t cs, uint64_t fl)
{
	static const unsigned int segs[4] = { X86_R_ES, X86_R_DS, X86_R_FS,
					      X86_R_GS };
	uint64_t sp, ss, sel[4];
	int rc;

	if ((rc = interp_stack_peek(c, 12, &sp, 4)) != INTERP_OK ||
	    (rc = interp_stack_peek(c, 16, &ss, 4)) != INTERP_OK)
		return rc;
	for (unsigned int i = 0; i < 4; i++)
		if ((rc = interp_stack_peek(c, 20 + 4 * i, &sel[i], 4)) !=
		    INTERP_OK)
			return rc;
	/* The 8086 CS limit is 64 KiB. */
	if (ip > 0xffff)
		return interp_gp0(c);
	interp_set_rflags(c, fl);
	interp_set_seg_real(c, X86_R_CS, (uint16_t)cs);
	interp_set_seg_real(c, X86_R_SS, (uint16_t)ss);
	for (unsigned int i = 0; i < 4; i++)
		interp_set_seg_real(c, segs[i], (uint16_t)sel[i]);
	c->gpr[4] = (uint32_t)sp;
	c->next_rip = ip;
	return INTERP_OK;
}
