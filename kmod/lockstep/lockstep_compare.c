/*
 * What the lockstep tester compares between kvm and interp, and the
 * report of the first difference: the registers after each step (with
 * the differences that are legitimate: undefined flags, results that are
 * the host's), each exit's access, the debug registers, MSRs and x87/SSE
 * state at exits, and the memory each wrote.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockstep.h"

/* ---- state ------------------------------------------------------------ */

static bool
is_seg(int reg)
{
	return reg >= VM_REG_GUEST_ES && reg <= VM_REG_GUEST_GDTR;
}

void
ls_state_get(const struct vmm_engine *eng, void *vc, struct ls_state *st)
{
	memset(st, 0, sizeof(*st));
	for (int r = 0; r < LS_NREGS; r++) {
		/* Debug registers are an ioctl on kvm: at exits only. */
		if (r == VM_REG_GUEST_DR7 ||
		    (r >= VM_REG_GUEST_DR0 && r <= VM_REG_GUEST_DR6))
			continue;
		if (r != VM_REG_GUEST_IDTR && r != VM_REG_GUEST_GDTR)
			eng->getreg(vc, r, &st->reg[r]);
		if (is_seg(r))
			eng->getdesc(vc, r, &st->desc[r - VM_REG_GUEST_ES]);
	}
	st->reg[VM_REG_GUEST_INTR_SHADOW] =
	    st->reg[VM_REG_GUEST_INTR_SHADOW] != 0;
}

/*
 * A segment register loaded with null.  KVM on this host reports the null
 * SS an interrupt to CPL 0 loads in 64-bit mode as usable with all
 * attributes 0; no usable segment is not present, so that counts too.
 */
static bool
seg_unusable(const struct seg_desc *d)
{
	return (d->access & SEG_ACC_UNUSABLE) || !(d->access & SEG_ACC_P);
}

/*
 * Segment registers compare by selector and, where the register is
 * usable, by its hidden part; an unusable register's other attributes
 * mean nothing (VMX leaves them as they were).  The accessed bit of a
 * data/code type is the CPU's to set: compared too.
 */
static bool
desc_equal(int reg, const struct seg_desc *a, const struct seg_desc *b)
{
	if (reg == VM_REG_GUEST_GDTR || reg == VM_REG_GUEST_IDTR)
		return a->base == b->base &&
		       (a->limit & 0xffff) == (b->limit & 0xffff);
	if (seg_unusable(a) || seg_unusable(b))
		return seg_unusable(a) == seg_unusable(b);
	return a->base == b->base && a->limit == b->limit &&
	       (a->access & 0x1f0ff) == (b->access & 0x1f0ff);
}

/* The registers that differ, as a bit mask by enum vm_reg_name. */
uint64_t
ls_state_diff(const struct ls_state *k, const struct ls_state *i)
{
	uint64_t diff = 0;

	for (int r = 0; r < LS_NREGS; r++) {
		bool same = k->reg[r] == i->reg[r];

		/*
		 * RF in the live RFLAGS: KVM sets it where it stops in the
		 * middle of an instruction (a REP batch); interp keeps it
		 * only in the frames of faults (compared in memory).  It
		 * matters to instruction breakpoints only.
		 */
		if (r == VM_REG_GUEST_RFLAGS)
			same = ((k->reg[r] ^ i->reg[r]) & ~PSL_RF) == 0;

		if (is_seg(r))
			same =
			    same && desc_equal(r, &k->desc[r - VM_REG_GUEST_ES],
					       &i->desc[r - VM_REG_GUEST_ES]);
		if (!same)
			diff |= 1ULL << r;
	}
	return diff;
}

/*
 * The arithmetic flags the SDM leaves undefined after the instruction
 * (Intel SDM vol. 2, each instruction's "Flags Affected"); a shift or
 * rotate's OF is defined for a count of 1 only, and AF never: both are
 * taken as undefined for any count.
 */
uint64_t
ls_undefined_flags(const struct x86_instr *insn)
{
	const uint64_t af = INTERP_PSL_A, pf = INTERP_PSL_P, sf = INTERP_PSL_S;

	if (insn == NULL)
		return 0;
	switch (insn->mnem) {
	case X86_M_MUL:
	case X86_M_IMUL: /* SF ZF AF PF */
		return sf | PSL_Z | af | pf;
	case X86_M_DIV:
	case X86_M_IDIV: /* all six */
		return INTERP_ARITH_FLAGS;
	case X86_M_SHL:
	case X86_M_SAL:
	case X86_M_SHR:
	case X86_M_SAR:
	case X86_M_SHLD:
	case X86_M_SHRD: /* OF for counts > 1, AF */
		return PSL_V | af;
	case X86_M_ROL:
	case X86_M_ROR:
	case X86_M_RCL:
	case X86_M_RCR: /* OF for counts > 1 */
		return PSL_V;
	case X86_M_BSF:
	case X86_M_BSR: /* all but ZF */
		return PSL_C | PSL_V | sf | af | pf;
	case X86_M_BT:
	case X86_M_BTS:
	case X86_M_BTR:
	case X86_M_BTC: /* OF SF AF PF */
		return PSL_V | sf | af | pf;
	case X86_M_AND:
	case X86_M_OR:
	case X86_M_XOR:
	case X86_M_TEST: /* AF */
		return af;
	case X86_M_AAA:
	case X86_M_AAS: /* OF SF ZF PF */
		return PSL_V | sf | PSL_Z | pf;
	case X86_M_AAM:
	case X86_M_AAD: /* OF AF CF */
		return PSL_V | af | PSL_C;
	case X86_M_DAA:
	case X86_M_DAS: /* OF */
		return PSL_V;
	case X86_M_LZCNT:
	case X86_M_TZCNT: /* OF SF PF AF */
		return PSL_V | sf | pf | af;
	case X86_M_ANDN:
	case X86_M_BEXTR:
	case X86_M_BZHI: /* AF PF */
		return af | pf;
	case X86_M_BLSI:
	case X86_M_BLSMSK:
	case X86_M_BLSR: /* AF PF */
		return af | pf;
	default:
		return 0;
	}
}

/* Instructions whose results are the host's: take kvm's registers. */
uint64_t
ls_host_result_regs(const struct x86_instr *insn, const struct ls_state *before)
{
	const uint64_t ax = 1ULL << VM_REG_GUEST_RAX,
		       bx = 1ULL << VM_REG_GUEST_RBX,
		       cx = 1ULL << VM_REG_GUEST_RCX,
		       dx = 1ULL << VM_REG_GUEST_RDX;

	if (insn == NULL)
		return 0;
	switch (insn->mnem) {
	case X86_M_RDTSC:
	case X86_M_RDPMC:
		return ax | dx;
	case X86_M_RDTSCP:
		return ax | cx | dx;
	case X86_M_CPUID:
		return ax | bx | cx | dx;
	case X86_M_RDMSR:
		return (before->reg[VM_REG_GUEST_RCX] & 0xffffffff) == MSR_TSC
			   ? ax | dx
			   : 0;
	case X86_M_RDRAND:
	case X86_M_RDSEED:
		/* The destination and CF: every GPR may be it. */
		return ((1ULL << (VM_REG_GUEST_R15 + 1)) - 1) |
		       (1ULL << VM_REG_GUEST_RFLAGS);
	default:
		return 0;
	}
}

static void
print_state(struct ls_vcpu *lc, const struct ls_state *k,
	    const struct ls_state *i, uint64_t diff)
{
	for (int r = 0; r < LS_NREGS; r++) {
		const char *mark = (diff >> r) & 1 ? "  <-- differs" : "";

		if (r >= VM_REG_GUEST_DR0 && r <= VM_REG_GUEST_DR6)
			continue;
		if (r == VM_REG_GUEST_DR7)
			continue;
		if (is_seg(r)) {
			const struct seg_desc *a =
			    &k->desc[r - VM_REG_GUEST_ES];
			const struct seg_desc *b =
			    &i->desc[r - VM_REG_GUEST_ES];

			fprintf(stderr,
				"lockstep: vcpu %d:   %-6s %04" PRIx64
				" %016" PRIx64 "/%08x/%05x   %04" PRIx64
				" %016" PRIx64 "/%08x/%05x%s\n",
				lc->id, vm_reg_name(r), k->reg[r], a->base,
				a->limit, a->access, i->reg[r], b->base,
				b->limit, b->access, mark);
			continue;
		}
		fprintf(stderr,
			"lockstep: vcpu %d:   %-6s %016" PRIx64 "   %016" PRIx64
			"%s\n",
			lc->id, vm_reg_name(r), k->reg[r], i->reg[r], mark);
	}
}

/* ---- reporting -------------------------------------------------------- */

void
ls_insn_text(const struct x86_instr *insn, uint64_t rip, char *buf, size_t len)
{
	if (insn == NULL)
		snprintf(buf, len, "(no instruction: an event)");
	else
		x86_format(insn, rip, buf, len);
}

/*
 * Stop the VM on the first difference: the whole report on stderr, its
 * first line as the engine error (rhyve exits 4).
 */
void
ls_fail(struct ls_vcpu *lc, struct vm_exit *vmexit, const char *what,
	const char *insn, uint64_t rip, const struct ls_state *k,
	const struct ls_state *i, uint64_t diff)
{
	char msg[sizeof(vmexit->u.error.msg)];

	snprintf(msg, sizeof(msg),
		 "lockstep: difference after %" PRIu64
		 " instructions, at rip 0x%" PRIx64 " '%.64s': %s",
		 lc->steps, rip, insn, what);
	fprintf(stderr, "lockstep: vcpu %d: %s\n", lc->id, msg);
	if (k != NULL) {
		fprintf(stderr,
			"lockstep: vcpu %d:   reg    kvm                "
			"interp\n",
			lc->id);
		print_state(lc, k, i, diff);
	}
	lc->lvm->failed = true;
	memset(vmexit, 0, sizeof(*vmexit));
	vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
	vmexit->rip = rip;
	snprintf(vmexit->u.error.msg, sizeof(vmexit->u.error.msg), "%s", msg);
}

/* ---- memory comparison ------------------------------------------------ */

/* Compare the pages in each slot's bitmap: 0, or -1 with the first. */
static int
mem_compare(struct ls_vcpu *lc, bool kvm_too, uint64_t *gpap, uint64_t *kv,
	    uint64_t *iv)
{
	struct ls_vm *lvm = lc->lvm;

	for (int n = 0; n < VM_MAX_MEMMAP; n++) {
		struct ls_slot *s = &lvm->slots[n];
		size_t words;

		if (!s->used)
			continue;
		words = ls_slot_words(s);
		if (itp->get_dirty(lvm->ivm, n, s->bits) != 0)
			continue;
		if (kvm_too) {
			uint64_t *kb = calloc(words, sizeof(*kb));

			if (kb != NULL && kvm->get_dirty(lvm->kvm, n, kb) == 0)
				for (size_t w = 0; w < words; w++)
					s->bits[w] |= kb[w];
			free(kb);
		}
		for (size_t w = 0; w < words; w++) {
			for (uint64_t b = s->bits[w]; b != 0; b &= b - 1) {
				uint64_t off =
				    (w * 64 + (uint64_t)__builtin_ctzll(b)) *
				    LS_PAGE;

				if (off >= s->len ||
				    memcmp(s->host + off, s->shadow + off,
					   LS_PAGE) == 0)
					continue;
				for (uint64_t j = 0; j < LS_PAGE; j += 8) {
					memcpy(kv, s->host + off + j, 8);
					memcpy(iv, s->shadow + off + j, 8);
					if (*kv != *iv) {
						*gpap = s->gpa + off + j;
						return -1;
					}
				}
			}
		}
	}
	return 0;
}

bool
ls_mem_check(struct ls_vcpu *lc, struct vm_exit *vmexit, bool kvm_too,
	     const char *insn, uint64_t rip)
{
	uint64_t gpa, kv, iv;
	char what[160];

	if (kvm_too)
		lc->since_memcheck = 0;
	if (mem_compare(lc, kvm_too, &gpa, &kv, &iv) == 0)
		return true;
	snprintf(what, sizeof(what),
		 "memory differs at gpa 0x%" PRIx64 ": kvm %016" PRIx64
		 ", interp %016" PRIx64 " (8 bytes, little-endian)",
		 gpa, kv, iv);
	ls_fail(lc, vmexit, what, insn, rip, NULL, NULL, 0);
	return false;
}

/* ---- exits ------------------------------------------------------------ */

void
ls_describe_exit(const struct vm_exit *e, char *buf, size_t len)
{
	uint64_t data = 0;

	switch (e->exitcode) {
	case VM_EXITCODE_INOUT:
		if (!e->u.inout.in && e->u.inout.data != NULL)
			memcpy(&data, e->u.inout.data,
			       e->u.inout.bytes <= 8 ? e->u.inout.bytes : 8);
		snprintf(buf, len, "%s port 0x%x, %u bytes, data 0x%" PRIx64,
			 e->u.inout.in ? "IN" : "OUT", e->u.inout.port,
			 e->u.inout.bytes, data);
		break;
	case VM_EXITCODE_MMIO:
		snprintf(buf, len,
			 "MMIO %s gpa 0x%" PRIx64 ", %u bytes, data 0x%" PRIx64,
			 e->u.mmio.write ? "write" : "read", e->u.mmio.gpa,
			 e->u.mmio.bytes, e->u.mmio.write ? e->u.mmio.data : 0);
		break;
	case VM_EXITCODE_RDMSR:
	case VM_EXITCODE_WRMSR:
		snprintf(buf, len, "%s 0x%x value 0x%" PRIx64,
			 e->exitcode == VM_EXITCODE_RDMSR ? "RDMSR" : "WRMSR",
			 e->u.msr.msr,
			 e->exitcode == VM_EXITCODE_WRMSR ? e->u.msr.value : 0);
		break;
	case VM_EXITCODE_SUSPENDED:
		snprintf(buf, len, "suspended (%d)", e->u.suspended.how);
		break;
	case VM_EXITCODE_ENGINE_ERROR:
		snprintf(buf, len, "error: %.100s", e->u.error.msg);
		break;
	default:
		snprintf(buf, len, "%s", vm_exitcode_name(e->exitcode));
		break;
	}
}

/* Do the exits describe the same access? */
bool
ls_exit_equal(const struct vm_exit *k, const struct vm_exit *i)
{
	uint64_t kd = 0, id = 0;

	if (k->exitcode != i->exitcode)
		return false;
	switch (k->exitcode) {
	case VM_EXITCODE_INOUT:
		if (k->u.inout.port != i->u.inout.port ||
		    k->u.inout.bytes != i->u.inout.bytes ||
		    k->u.inout.in != i->u.inout.in || k->u.inout.bytes > 8)
			return false;
		if (!k->u.inout.in) {
			memcpy(&kd, k->u.inout.data, k->u.inout.bytes);
			memcpy(&id, i->u.inout.data, i->u.inout.bytes);
		}
		return kd == id;
	case VM_EXITCODE_MMIO:
		return k->u.mmio.gpa == i->u.mmio.gpa &&
		       k->u.mmio.bytes == i->u.mmio.bytes &&
		       k->u.mmio.write == i->u.mmio.write &&
		       (!k->u.mmio.write || k->u.mmio.data == i->u.mmio.data);
	case VM_EXITCODE_RDMSR:
		return k->u.msr.msr == i->u.msr.msr;
	case VM_EXITCODE_WRMSR:
		return k->u.msr.msr == i->u.msr.msr &&
		       k->u.msr.value == i->u.msr.value;
	case VM_EXITCODE_SUSPENDED:
		return k->u.suspended.how == i->u.suspended.how;
	default:
		return true;
	}
}

/* Does this exit stop its instruction halfway (to complete later)? */
bool
ls_exit_restarts(const struct vm_exit *e)
{
	return (e->exitcode == VM_EXITCODE_INOUT && e->u.inout.in) ||
	       (e->exitcode == VM_EXITCODE_MMIO && !e->u.mmio.write) ||
	       e->exitcode == VM_EXITCODE_RDMSR ||
	       e->exitcode == VM_EXITCODE_WRMSR;
}

/* The MSRs both CPUs keep, compared at exits (an ioctl each on kvm). */
static const uint32_t ls_msrs[] = {
	MSR_STAR,         MSR_LSTAR,          MSR_CSTAR,
	MSR_SFMASK,       MSR_KERNEL_GS_BASE, MSR_SYSENTER_CS,
	MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,   MSR_PAT,
};

/*
 * The x87/SSE state (an ioctl on kvm): the control, status and tag words,
 * MXCSR, the 80 bits of each x87 register and the XMM registers; the
 * last instruction and operand pointers differ in format (FXSAVE64 or
 * not) and are left out.  NULL: the same, else what differs.
 */
static bool
fpu_diff(struct ls_vcpu *lc, char *buf, size_t len)
{
	struct vm_fpu k, i;

	if (kvm->getfpu(lc->kvc, &k) != 0 || itp->getfpu(lc->ic, &i) != 0)
		return false;
	/*
	 * KVM_GET_FPU on this PVM host reports MXCSR 0 whatever the guest
	 * loaded (its own FXSAVE and STMXCSR show the real value, which
	 * the registers and memory compare): a 0 is not compared.
	 */
	if (k.mxcsr == 0)
		k.mxcsr = i.mxcsr;
	if (k.fcw != i.fcw || k.fsw != i.fsw || k.ftw != i.ftw ||
	    k.mxcsr != i.mxcsr) {
		snprintf(buf, len,
			 "x87/SSE control differs: kvm fcw %04x fsw %04x ftw "
			 "%02x mxcsr %08x, interp fcw %04x fsw %04x ftw %02x "
			 "mxcsr %08x",
			 k.fcw, k.fsw, k.ftw, k.mxcsr, i.fcw, i.fsw, i.ftw,
			 i.mxcsr);
		return true;
	}
	for (int r = 0; r < 8; r++)
		if (memcmp(k.st[r], i.st[r], 10) != 0) {
			snprintf(buf, len, "x87 register st(%d) differs", r);
			return true;
		}
	for (int r = 0; r < 16; r++)
		if (memcmp(k.xmm[r], i.xmm[r], 16) != 0) {
			snprintf(buf, len, "xmm%d differs", r);
			return true;
		}
	return false;
}

bool
ls_exit_state_check(struct ls_vcpu *lc, struct vm_exit *vmexit,
		    const char *insn, uint64_t rip)
{
	char what[160];
	uint64_t kv, iv;

	for (int r = VM_REG_GUEST_DR0; r <= VM_REG_GUEST_DR3 + 1; r++) {
		int reg = r <= VM_REG_GUEST_DR3 ? r : VM_REG_GUEST_DR7;

		if (kvm->getreg(lc->kvc, reg, &kv) != 0 ||
		    itp->getreg(lc->ic, reg, &iv) != 0 || kv == iv)
			continue;
		snprintf(what, sizeof(what),
			 "%s differs: kvm 0x%" PRIx64 ", interp 0x%" PRIx64,
			 vm_reg_name(reg), kv, iv);
		ls_fail(lc, vmexit, what, insn, rip, NULL, NULL, 0);
		return false;
	}
	for (size_t n = 0; n < sizeof(ls_msrs) / sizeof(ls_msrs[0]); n++) {
		if (kvm->getmsr(lc->kvc, ls_msrs[n], &kv) != 0 ||
		    itp->getmsr(lc->ic, ls_msrs[n], &iv) != 0 || kv == iv)
			continue;
		snprintf(what, sizeof(what),
			 "MSR 0x%x differs: kvm 0x%" PRIx64
			 ", interp 0x%" PRIx64,
			 ls_msrs[n], kv, iv);
		ls_fail(lc, vmexit, what, insn, rip, NULL, NULL, 0);
		return false;
	}
	if (fpu_diff(lc, what, sizeof(what))) {
		ls_fail(lc, vmexit, what, insn, rip, NULL, NULL, 0);
		return false;
	}
	return true;
}
