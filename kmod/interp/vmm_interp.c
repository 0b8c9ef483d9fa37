/*
 * The interp engine as kmod sees it (struct vmm_engine): rhyve's own CPU
 * (interp.h) behind the same operations as kvm, producing the same exits.
 *
 * Time: the VM's clock is virtual (vm_virtual_time()): it runs on as
 * instructions retire (interp_exec.c), and the guest TSC runs at
 * INTERP_TSC_HZ on it, as the platform's timers do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

#define INTERP_TSC_HZ 1000000000ULL /* 1 GHz: one tick per VM clock ns */

static int
interp_vm_init(struct vm *vm, void **cookiep, char *errbuf, size_t errlen)
{
	struct interp_vm *ivm;

	(void)errbuf;
	(void)errlen;
	interp_exec_init();
	ivm = calloc(1, sizeof(*ivm));
	if (ivm == NULL)
		return ENOMEM;
	ivm->vm = vm;
	*cookiep = ivm;
	return 0;
}

static void
interp_vm_cleanup(void *cookie)
{
	struct interp_vm *ivm = cookie;

	for (int i = 0; i < INTERP_MAX_SLOTS; i++)
		free(ivm->slots[i].dirty);
	free(ivm);
}

static int
interp_mem_map(void *cookie, int slot, uint64_t gpa, size_t len, void *host,
	       bool readonly)
{
	struct interp_vm *ivm = cookie;
	struct interp_slot *s;

	if (slot < 0 || slot >= INTERP_MAX_SLOTS || len == 0)
		return EINVAL;
	s = &ivm->slots[slot];
	free(s->dirty);
	*s = (struct interp_slot){ .used = true,
				   .readonly = readonly,
				   .gpa = gpa,
				   .len = len,
				   .host = host };
	atomic_fetch_add(&ivm->slots_gen, 1);
	return 0;
}

static int
interp_mem_unmap(void *cookie, int slot)
{
	struct interp_vm *ivm = cookie;

	if (slot < 0 || slot >= INTERP_MAX_SLOTS)
		return EINVAL;
	free(ivm->slots[slot].dirty);
	ivm->slots[slot] = (struct interp_slot){ 0 };
	atomic_fetch_add(&ivm->slots_gen, 1);
	return 0;
}

static size_t
dirty_words(const struct interp_slot *s)
{
	return (s->len / 4096 + 63) / 64;
}

static int
interp_dirty_logging(void *cookie, int slot, bool on)
{
	struct interp_vm *ivm = cookie;
	struct interp_slot *s;

	if (slot < 0 || slot >= INTERP_MAX_SLOTS || !ivm->slots[slot].used)
		return EINVAL;
	s = &ivm->slots[slot];
	if (!on) {
		free(s->dirty);
		s->dirty = NULL;
	} else if (s->dirty == NULL) {
		s->dirty = calloc(dirty_words(s), sizeof(*s->dirty));
		if (s->dirty == NULL)
			return ENOMEM;
	}
	/* Writes through the TLB's host pages would not be logged: none
	 * made before this (the log is on from here). */
	atomic_fetch_add(&ivm->slots_gen, 1);
	return 0;
}

static int
interp_get_dirty(void *cookie, int slot, uint64_t *bitmap)
{
	struct interp_vm *ivm = cookie;
	struct interp_slot *s;

	if (slot < 0 || slot >= INTERP_MAX_SLOTS ||
	    ivm->slots[slot].dirty == NULL)
		return EINVAL;
	s = &ivm->slots[slot];
	for (size_t i = 0; i < dirty_words(s); i++)
		bitmap[i] = atomic_exchange(&s->dirty[i], 0);
	return 0;
}

/* The state after RESET (Intel SDM 9.1.1, table 9-1). */
static void
interp_reset(struct interp_cpu *c)
{
	const uint32_t data = SEG_ACC_TYPE(SDT_MEMRWA) | SEG_ACC_S | SEG_ACC_P;

	c->rflags = PSL_1;
	c->rip = 0xfff0;
	c->cr0 = CR0_CD | CR0_NW | CR0_ET;
	c->gpr[2] = 0x600; /* EDX: the processor signature (kmod resets it) */
	for (int i = 0; i < 6; i++)
		c->seg[i] = (struct interp_seg){ 0, { 0, 0xffff, data } };
	c->seg[X86_R_CS - X86_R_ES] = (struct interp_seg){
		0xf000,
		{ 0xffff0000, 0xffff,
		  SEG_ACC_TYPE(SDT_MEMERA) | SEG_ACC_S | SEG_ACC_P }
	};
	c->ldtr.desc =
	    (struct x86_segdesc){ 0, 0xffff,
				  SEG_ACC_TYPE(SDT_SYSLDT) | SEG_ACC_P };
	c->tr.desc =
	    (struct x86_segdesc){ 0, 0xffff,
				  SEG_ACC_TYPE(SDT_SYSBSY) | SEG_ACC_P };
	c->gdtr.limit = c->idtr.limit = 0xffff;
	c->dr6 = 0xffff0ff0;
	c->dr7 = 0x400;
	c->xcr0 = 1;
	c->pat = 0x0007040600070406ULL;
	c->fpu.fcw = 0x37f;
	c->fpu.mxcsr = 0x1f80;
	c->maxphyaddr = 36;
}

static int
interp_vcpu_init(void *cookie, struct vcpu *vcpu, int id, void **vcookiep)
{
	struct interp_cpu *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return ENOMEM;
	c->dcache = calloc(INTERP_DCACHE_SIZE, sizeof(*c->dcache));
	if (c->dcache == NULL) {
		free(c);
		return ENOMEM;
	}
	c->ivm = cookie;
	c->vcpu = vcpu;
	c->id = id;
	interp_reset(c);
	if (c->ivm->jit && interp_jit_init(c) != 0) {
		free(c->dcache);
		free(c);
		return ENOMEM;
	}
	*vcookiep = c;
	return 0;
}

static void
interp_vcpu_cleanup(void *vcookie)
{
	struct interp_cpu *c = vcookie;

	interp_jit_free(c);
	free(c->dcache);
	free(c);
}

static int
interp_set_jit(void *cookie, bool on)
{
	struct interp_vm *ivm = cookie;

	ivm->jit = on;
	return 0;
}

static int
interp_run(void *vcookie, struct vm_exit *vmexit)
{
	struct interp_cpu *c = vcookie;

	interp_take_results(c, vmexit);
	memset(vmexit, 0, sizeof(*vmexit));
	c->exit = vmexit;
	/* The last instruction's further MMIO stores, one exit each. */
	if (interp_store_pending(c)) {
		vmexit->rip = c->rip;
		return 0;
	}
	interp_exec(c, vmexit, 0);
	if (vmexit->exitcode == VM_EXITCODE_INOUT)
		vmexit->u.inout.data = c->io_buf;
	return 0;
}

static void
interp_kick(void *vcookie)
{
	struct interp_cpu *c = vcookie;

	atomic_store(&c->kicked, true);
}

/* ---- registers ------------------------------------------------------ */

static struct interp_seg *
seg_of(struct interp_cpu *c, int reg)
{
	switch (reg) {
	case VM_REG_GUEST_ES:
	case VM_REG_GUEST_CS:
	case VM_REG_GUEST_SS:
	case VM_REG_GUEST_DS:
	case VM_REG_GUEST_FS:
	case VM_REG_GUEST_GS:
		return &c->seg[reg - VM_REG_GUEST_ES];
	case VM_REG_GUEST_LDTR:
		return &c->ldtr;
	case VM_REG_GUEST_TR:
		return &c->tr;
	default:
		return NULL;
	}
}

/* rax..r15 in bhyve's order -> the hardware numbering of gpr[]. */
static const int gpr_num[] = {
	[VM_REG_GUEST_RAX] = 0,  [VM_REG_GUEST_RBX] = 3,
	[VM_REG_GUEST_RCX] = 1,  [VM_REG_GUEST_RDX] = 2,
	[VM_REG_GUEST_RSI] = 6,  [VM_REG_GUEST_RDI] = 7,
	[VM_REG_GUEST_RBP] = 5,  [VM_REG_GUEST_R8] = 8,
	[VM_REG_GUEST_R9] = 9,   [VM_REG_GUEST_R10] = 10,
	[VM_REG_GUEST_R11] = 11, [VM_REG_GUEST_R12] = 12,
	[VM_REG_GUEST_R13] = 13, [VM_REG_GUEST_R14] = 14,
	[VM_REG_GUEST_R15] = 15,
};

static uint64_t *
reg_field(struct interp_cpu *c, int reg)
{
	if (reg >= VM_REG_GUEST_RAX && reg <= VM_REG_GUEST_R15)
		return &c->gpr[gpr_num[reg]];
	switch (reg) {
	case VM_REG_GUEST_RSP:
		return &c->gpr[4];
	case VM_REG_GUEST_RIP:
		return &c->rip;
	case VM_REG_GUEST_CR0:
		return &c->cr0;
	case VM_REG_GUEST_CR2:
		return &c->cr2;
	case VM_REG_GUEST_CR3:
		return &c->cr3;
	case VM_REG_GUEST_CR4:
		return &c->cr4;
	case VM_REG_GUEST_CR8:
		return &c->cr8;
	case VM_REG_GUEST_EFER:
		return &c->efer;
	case VM_REG_GUEST_DR0:
	case VM_REG_GUEST_DR1:
	case VM_REG_GUEST_DR2:
	case VM_REG_GUEST_DR3:
		return &c->dr[reg - VM_REG_GUEST_DR0];
	case VM_REG_GUEST_DR6:
		return &c->dr6;
	case VM_REG_GUEST_DR7:
		return &c->dr7;
	default:
		return NULL;
	}
}

static int
interp_getreg(void *vcookie, int reg, uint64_t *val)
{
	struct interp_cpu *c = vcookie;
	struct interp_seg *s = seg_of(c, reg);
	uint64_t *f = reg_field(c, reg);

	if (s != NULL)
		*val = s->sel;
	else if (f != NULL)
		*val = *f;
	else if (reg == VM_REG_GUEST_RFLAGS)
		*val = interp_rflags(c);
	else if (reg == VM_REG_GUEST_INTR_SHADOW)
		*val = c->intr_shadow;
	else if (reg == VM_REG_ICOUNT)
		*val = c->icount;
	else if (reg == VM_REG_GUEST_XCR0)
		*val = c->xcr0;
	else
		return EINVAL;
	return 0;
}

static int
interp_setreg(void *vcookie, int reg, uint64_t val)
{
	struct interp_cpu *c = vcookie;
	struct interp_seg *s = seg_of(c, reg);
	uint64_t *f = reg_field(c, reg);

	if (s != NULL)
		s->sel = (uint16_t)val;
	else if (f != NULL)
		*f = val;
	else if (reg == VM_REG_GUEST_RFLAGS)
		interp_set_rflags(c, val);
	else if (reg == VM_REG_GUEST_INTR_SHADOW)
		c->intr_shadow = val != 0;
	else if (reg == VM_REG_ICOUNT)
		c->icount = val;
	else if (reg == VM_REG_GUEST_XCR0 && (val & 1) && !(val & ~3ULL))
		c->xcr0 = val; /* x87 always, SSE: what XSETBV accepts */
	else
		return EINVAL;
	if (reg == VM_REG_GUEST_DR7)
		interp_db_update(c);
	/* Whatever changed, the cached translations may be stale. */
	interp_tlb_flush(c);
	return 0;
}

static int
interp_getdesc(void *vcookie, int reg, struct seg_desc *desc)
{
	struct interp_cpu *c = vcookie;
	struct interp_seg *s = seg_of(c, reg);
	const struct x86_segdesc *d = s != NULL                  ? &s->desc
				      : reg == VM_REG_GUEST_GDTR ? &c->gdtr
				      : reg == VM_REG_GUEST_IDTR ? &c->idtr
								 : NULL;

	if (d == NULL)
		return EINVAL;
	*desc = (struct seg_desc){ d->base, d->limit, d->access };
	return 0;
}

static int
interp_setdesc(void *vcookie, int reg, const struct seg_desc *desc)
{
	struct interp_cpu *c = vcookie;
	struct interp_seg *s = seg_of(c, reg);
	struct x86_segdesc *d = s != NULL                  ? &s->desc
				: reg == VM_REG_GUEST_GDTR ? &c->gdtr
				: reg == VM_REG_GUEST_IDTR ? &c->idtr
							   : NULL;

	if (d == NULL)
		return EINVAL;
	*d = (struct x86_segdesc){ desc->base, desc->limit, desc->access };
	return 0;
}

#define MSR_XSS 0xda0 /* IA32_XSS: XSAVES's supervisor components */

/* The MSRs the CPU itself keeps; NULL for others. */
static uint64_t *
msr_field(struct interp_cpu *c, uint32_t msr)
{
	switch (msr) {
	case MSR_EFER:
		return &c->efer;
	case MSR_STAR:
		return &c->star;
	case MSR_LSTAR:
		return &c->lstar;
	case MSR_CSTAR:
		return &c->cstar;
	case MSR_SFMASK:
		return &c->sfmask;
	case MSR_FS_BASE:
		return &c->seg[X86_R_FS - X86_R_ES].desc.base;
	case MSR_GS_BASE:
		return &c->seg[X86_R_GS - X86_R_ES].desc.base;
	case MSR_KERNEL_GS_BASE:
		return &c->kernel_gs_base;
	case MSR_SYSENTER_CS:
		return &c->sysenter_cs;
	case MSR_SYSENTER_ESP:
		return &c->sysenter_esp;
	case MSR_SYSENTER_EIP:
		return &c->sysenter_eip;
	case MSR_PAT:
		return &c->pat;
	case 0xc0000103: /* TSC_AUX */
		return &c->tsc_aux;
	case 0x1a0: /* MISC_ENABLE */
		return &c->misc_enable;
	case 0x2ff: /* MTRR_DEF_TYPE */
		return &c->mtrr_def_type;
	default:
		return NULL;
	}
}

uint64_t
interp_tsc(struct interp_cpu *c)
{
	return vm_clock_ns(c->ivm->vm) + c->tsc_offset;
}

int
interp_msr_get(struct interp_cpu *c, uint32_t msr, uint64_t *val)
{
	uint64_t *f = msr_field(c, msr);

	if (msr == MSR_TSC) {
		*val = interp_tsc(c);
		return 0;
	}
	if (msr == MSR_XSS) {
		*val = 0; /* no supervisor XSAVE component */
		return 0;
	}
	if (f == NULL)
		return ENOENT;
	*val = *f;
	return 0;
}

int
interp_msr_set(struct interp_cpu *c, uint32_t msr, uint64_t val)
{
	uint64_t *f = msr_field(c, msr);

	if (msr == MSR_TSC) {
		c->tsc_offset = val - vm_clock_ns(c->ivm->vm);
		return 0;
	}
	if (msr == MSR_XSS)
		return val == 0 ? 0 : EINVAL;
	if (f == NULL)
		return ENOENT;
	*f = val;
	return 0;
}

static int
interp_getmsr(void *vcookie, uint32_t msr, uint64_t *val)
{
	return interp_msr_get(vcookie, msr, val) == 0 ? 0 : EINVAL;
}

static int
interp_setmsr(void *vcookie, uint32_t msr, uint64_t val)
{
	if (interp_msr_set(vcookie, msr, val) != 0)
		return EINVAL;
	interp_tlb_flush(vcookie); /* EFER's paging bits */
	return 0;
}

static int
interp_getfpu(void *vcookie, struct vm_fpu *fpu)
{
	struct interp_cpu *c = vcookie;

	*fpu = c->fpu;
	return 0;
}

static int
interp_setfpu(void *vcookie, const struct vm_fpu *fpu)
{
	struct interp_cpu *c = vcookie;

	c->fpu = *fpu;
	return 0;
}

/* ---- events --------------------------------------------------------- */

static int
interp_inject_intr(void *vcookie, int vector)
{
	struct interp_cpu *c = vcookie;

	if (c->event.pending || !(c->rflags & PSL_I) || c->intr_shadow) {
		c->want_window = true;
		return EBUSY;
	}
	c->want_window = false;
	c->event = (struct interp_event){ .pending = true,
					  .type = INTERP_EV_EXTINT,
					  .vector = (uint8_t)vector };
	return 0;
}

static int
interp_inject_nmi(void *vcookie)
{
	struct interp_cpu *c = vcookie;

	/* Held until the CPU can take it (NMIs do not queue up). */
	c->nmi_queued = true;
	return 0;
}

static int
interp_inject_exception(void *vcookie, int vector, bool has_ec, uint32_t ec)
{
	struct interp_cpu *c = vcookie;

	/* The instruction behind the last exit faults instead. */
	c->pending_restart = false;
	c->io_done = c->msr_done = false;
	c->nmmio_done = 0;
	c->event = (struct interp_event){ .pending = true,
					  .type = INTERP_EV_EXC,
					  .vector = (uint8_t)vector,
					  .has_ec = has_ec,
					  .ec = ec };
	return 0;
}

static int
interp_tsc_hz(void *vcookie, uint64_t *hz)
{
	(void)vcookie;
	*hz = INTERP_TSC_HZ;
	return 0;
}

static int
interp_set_debug(void *vcookie, const struct vm_guest_debug *dbg)
{
	struct interp_cpu *c = vcookie;

	c->debug = *dbg;
	interp_db_update(c);
	return 0;
}

static int
interp_set_yield(void *vcookie, uint64_t icount)
{
	struct interp_cpu *c = vcookie;

	c->yield_icount = icount == UINT64_MAX ? 0 : icount;
	return 0;
}

static int
interp_complete_io(void *vcookie, struct vm_exit *vmexit)
{
	return interp_exec_complete(vcookie, vmexit);
}

/* An event to deliver, or a #DB trap (the guest's or the debugger's)
 * due after the last exit's instruction: neither is in a checkpoint. */
static bool
interp_event_queued(void *vcookie)
{
	struct interp_cpu *c = vcookie;

	return c->event.pending || (c->db_pending | c->db_host_pending) != 0;
}

static int
interp_set_cpuid(void *vcookie, const struct vm_cpuid_entry *table, int n)
{
	struct interp_cpu *c = vcookie;
	uint32_t r[4];

	if (n < 0 || n > VM_CPUID_MAX)
		return EINVAL;
	memcpy(c->cpuid, table, (size_t)n * sizeof(*table));
	c->ncpuid = n;
	if (vm_cpuid_lookup(table, n, 0x80000008, 0, r) == 0 && (r[0] & 0xff))
		c->maxphyaddr = r[0] & 0xff;
	vm_cpuid_lookup(table, n, 0x80000001, 0, r);
	c->no_page1gb = !(r[3] & (1u << 26));
	return 0;
}

const struct vmm_engine vmm_engine_interp = {
	.name = "interp",
	.virtual_time = true,
	.data_breakpoints = true,
	.vm_init = interp_vm_init,
	.vm_cleanup = interp_vm_cleanup,
	.mem_map = interp_mem_map,
	.mem_unmap = interp_mem_unmap,
	.vcpu_init = interp_vcpu_init,
	.vcpu_cleanup = interp_vcpu_cleanup,
	.run = interp_run,
	.kick = interp_kick,
	.getreg = interp_getreg,
	.setreg = interp_setreg,
	.getdesc = interp_getdesc,
	.setdesc = interp_setdesc,
	.getmsr = interp_getmsr,
	.setmsr = interp_setmsr,
	.inject_intr = interp_inject_intr,
	.inject_nmi = interp_inject_nmi,
	.inject_exception = interp_inject_exception,
	.tsc_hz = interp_tsc_hz,
	.set_debug = interp_set_debug,
	.set_yield = interp_set_yield,
	.set_jit = interp_set_jit,
	.complete_io = interp_complete_io,
	.event_queued = interp_event_queued,
	.dirty_logging = interp_dirty_logging,
	.get_dirty = interp_get_dirty,
	.cpuid_supported = interp_cpuid_supported,
	.set_cpuid = interp_set_cpuid,
	.getfpu = interp_getfpu,
	.setfpu = interp_setfpu,
};
