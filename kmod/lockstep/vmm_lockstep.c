/*
 * The lockstep engine (--engine lockstep): a differential tester that runs
 * the guest on kvm and on interp side by side, one instruction at a time,
 * and stops the VM at the first instruction after which the two CPUs
 * disagree, naming it and printing both register states.
 *
 * kvm is the primary: its exits go to kmod and the monitor as usual, the
 * guest's memory is its memory, and every register getter answers from
 * it.  interp runs on a private copy of guest RAM (the shadow, copied from
 * the primary when the vCPU first runs, after the loader has written it;
 * device DMA is mirrored into it), and every setter and injection goes to
 * both engines.  run() single-steps kvm (KVM_GUESTDBG_SINGLESTEP), then
 * brings interp to the same point and compares:
 *
 *  - the registers after every step: GPRs, rip, rflags, segment
 *    selectors and descriptors, GDTR/IDTR, CR0/2/3/4/8, EFER, interrupt
 *    shadow (kvm's come from its sync-register area, so a step costs no
 *    ioctl beyond KVM_RUN);
 *  - each exit (port, size, direction, written value; MMIO address, size,
 *    direction, written value; HLT; MSR number and written value), and
 *    at each non-step exit the debug registers and the MSRs the CPU
 *    keeps; the value the monitor answers goes to both CPUs;
 *  - memory: the pages interp wrote after every step, the pages kvm wrote
 *    (its dirty log) at every non-step exit, every LS_MEMCHECK_STEPS
 *    steps and at the end.
 *
 * One KVM_RUN returns after some prefix of what interp does as separate
 * actions: complete the instruction behind the last exit (always: KVM
 * completes it first thing on entry), deliver a pending event (interrupt,
 * NMI, injected exception), execute one instruction.  interp takes the
 * actions in that order and stops at the first point where its state
 * equals kvm's; only executing an instruction is never skipped, unless
 * kvm stopped before it (a hardware breakpoint, or after an exit whose
 * instruction interp had already retired).  So the one thing this cannot
 * catch is an instruction that changes no state at all.
 *
 * Legitimate differences, taken from kvm (interp's copy is overwritten):
 * the result registers of RDTSC, RDTSCP, RDRAND, RDSEED, RDPMC and of
 * RDMSR of the TSC (the host's values); of CPUID (PVM overrides some of
 * leaves 1 and 7 on this host, docs/architecture.md); the arithmetic
 * flags the SDM leaves undefined for the instruction just executed (see
 * undefined_flags()); and the value of an RDMSR kvm answers itself where
 * interp exits to kmod (the write of a WRMSR kvm kept is not reported).
 *
 * Several vCPUs step one instruction at a time under one lock, so both
 * engines see the same interleaving of their memory accesses.  Not
 * supported: recording (the dirty log is the tester's), memory a
 * debugger writes (not mirrored: reported as a difference).
 *
 * Test hook: RHYVE_LOCKSTEP_CORRUPT=N flips bit 0 of interp's RBX after N
 * compared instructions, to prove a difference is found and reported
 * (tests/lockstep); only this engine reads it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../interp/interp.h"

#define LS_PAGE           4096ULL
#define LS_MEMCHECK_STEPS 4096 /* kvm's dirty log every so many steps */
#define LS_USER_CATCHUP   2    /* see ls_step(), 6. */
#define LS_NREGS          (VM_REG_GUEST_INTR_SHADOW + 1)

struct ls_slot {
	bool used;
	uint64_t gpa;
	size_t len;
	uint8_t *host;   /* the primary's (kvm's) memory */
	uint8_t *shadow; /* interp's copy */
	uint64_t *bits;  /* scratch dirty bitmap */
};

struct ls_vm {
	struct vm *vm;
	void *kvm; /* the engines' cookies */
	struct interp_vm *ivm;
	struct ls_slot slots[VM_MAX_MEMMAP];
	/*
	 * One instruction of one vCPU at a time, handed out in turn (a
	 * ticket lock: a vCPU stepping in a loop must not starve the
	 * others); also guards the slots once running.
	 */
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	uint64_t ticket_next, ticket_serving;
	bool started;        /* the shadow holds the guest's memory */
	bool failed;         /* a difference was reported: stop every vCPU */
	uint64_t corrupt_at; /* test hook; 0: off */
};

/* What interp still has to do for kvm's last exit. */
enum ls_after {
	LS_AFTER_NONE = 0,
	LS_AFTER_RETIRED, /* interp retired the exit's instruction */
	LS_AFTER_RESTART, /* it completes on the next run (IN, MMIO load) */
};

struct ls_vcpu {
	struct ls_vm *lvm;
	struct vcpu *vcpu;
	int id;
	void *kvc;
	struct interp_cpu *ic;
	enum ls_after after;
	bool want_window; /* kvm refused an interrupt */
	bool user_step;   /* the debugger single-steps */
	struct vm_guest_debug dbg;
	_Atomic bool kicked;
	char diverged[256];  /* an injection interp refused, for run() */
	struct vm_exit prev; /* kvm's last exit, answered, for interp */
	bool rep_lag;        /* kvm has an empty REP iteration to go */
	bool user_seen;      /* this step ran at CPL 3 (pvm_seg_quirk) */
	uint8_t inbuf[4096]; /* its IN data (a REP INS: several elements) */
	uint64_t steps, events, exits, taken;
	uint64_t since_memcheck;
	struct timespec t0;
};

/* A CPU's state, as compared after each step. */
struct ls_state {
	uint64_t reg[LS_NREGS];
	struct seg_desc desc[VM_REG_GUEST_GDTR - VM_REG_GUEST_ES + 1];
};

static const struct vmm_engine *const kvm = &vmm_engine_kvm;
static const struct vmm_engine *const itp = &vmm_engine_interp;

/* ---- the VM and memory ---------------------------------------------- */

static int
ls_vm_init(struct vm *vm, void **cookiep, char *errbuf, size_t errlen)
{
	struct ls_vm *lvm = calloc(1, sizeof(*lvm));
	const char *corrupt = getenv("RHYVE_LOCKSTEP_CORRUPT");
	void *ivm = NULL;
	int error;

	if (lvm == NULL)
		return ENOMEM;
	lvm->vm = vm;
	error = kvm->vm_init(vm, &lvm->kvm, errbuf, errlen);
	if (error == 0) {
		error = itp->vm_init(vm, &ivm, errbuf, errlen);
		if (error != 0)
			kvm->vm_cleanup(lvm->kvm);
	}
	if (error != 0) {
		free(lvm);
		return error;
	}
	lvm->ivm = ivm;
	pthread_mutex_init(&lvm->mtx, NULL);
	pthread_cond_init(&lvm->cv, NULL);
	if (corrupt != NULL)
		lvm->corrupt_at = strtoull(corrupt, NULL, 0);
	*cookiep = lvm;
	return 0;
}

static void
slot_free(struct ls_slot *s)
{
	if (s->shadow != NULL)
		munmap(s->shadow, s->len);
	free(s->bits);
	*s = (struct ls_slot){ 0 };
}

static void
ls_vm_cleanup(void *cookie)
{
	struct ls_vm *lvm = cookie;

	itp->vm_cleanup(lvm->ivm);
	kvm->vm_cleanup(lvm->kvm);
	for (int i = 0; i < VM_MAX_MEMMAP; i++)
		slot_free(&lvm->slots[i]);
	pthread_mutex_destroy(&lvm->mtx);
	pthread_cond_destroy(&lvm->cv);
	free(lvm);
}

static size_t
slot_words(const struct ls_slot *s)
{
	return (s->len / LS_PAGE + 63) / 64;
}

static int
ls_mem_map(void *cookie, int slot, uint64_t gpa, size_t len, void *host,
	   bool readonly)
{
	struct ls_vm *lvm = cookie;
	struct ls_slot *s;
	int error;

	if (slot < 0 || slot >= VM_MAX_MEMMAP || len == 0)
		return EINVAL;
	s = &lvm->slots[slot];
	slot_free(s);
	s->shadow = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->shadow == MAP_FAILED) {
		s->shadow = NULL;
		return ENOMEM;
	}
	s->len = len;
	s->bits = calloc(slot_words(s), sizeof(*s->bits));
	if (s->bits == NULL) {
		slot_free(s);
		return ENOMEM;
	}
	s->used = true;
	s->gpa = gpa;
	s->host = host;
	/* Mapped while running (a BAR, a ROM): its contents now. */
	if (lvm->started)
		memcpy(s->shadow, host, len);
	error = kvm->mem_map(lvm->kvm, slot, gpa, len, host, readonly);
	if (error == 0)
		error = kvm->dirty_logging(lvm->kvm, slot, true);
	if (error == 0)
		error =
		    itp->mem_map(lvm->ivm, slot, gpa, len, s->shadow, readonly);
	if (error == 0)
		error = itp->dirty_logging(lvm->ivm, slot, true);
	if (error != 0)
		slot_free(s);
	return error;
}

static int
ls_mem_unmap(void *cookie, int slot)
{
	struct ls_vm *lvm = cookie;
	int error;

	if (slot < 0 || slot >= VM_MAX_MEMMAP)
		return EINVAL;
	error = kvm->mem_unmap(lvm->kvm, slot);
	itp->mem_unmap(lvm->ivm, slot);
	slot_free(&lvm->slots[slot]);
	return error;
}

/* The recorder's dirty log would take the tester's: not with lockstep. */
static int
ls_dirty_logging(void *cookie, int slot, bool on)
{
	(void)cookie;
	(void)slot;
	(void)on;
	return ENOTSUP;
}

static int
ls_get_dirty(void *cookie, int slot, uint64_t *bitmap)
{
	(void)cookie;
	(void)slot;
	(void)bitmap;
	return ENOTSUP;
}

static void
ls_dma_done(void *cookie, uint64_t gpa, const uint8_t *data, size_t len)
{
	struct ls_vm *lvm = cookie;

	for (int i = 0; i < VM_MAX_MEMMAP; i++) {
		struct ls_slot *s = &lvm->slots[i];

		if (s->used && gpa >= s->gpa && gpa + len <= s->gpa + s->len) {
			memcpy(s->shadow + (gpa - s->gpa), data, len);
			return;
		}
	}
}

/* ---- vCPUs ------------------------------------------------------------ */

static int
ls_vcpu_init(void *cookie, struct vcpu *vcpu, int id, void **vcookiep)
{
	struct ls_vm *lvm = cookie;
	struct ls_vcpu *lc = calloc(1, sizeof(*lc));
	void *ic = NULL;
	int error;

	if (lc == NULL)
		return ENOMEM;
	lc->lvm = lvm;
	lc->vcpu = vcpu;
	lc->id = id;
	error = kvm->vcpu_init(lvm->kvm, vcpu, id, &lc->kvc);
	if (error == 0) {
		error = itp->vcpu_init(lvm->ivm, vcpu, id, &ic);
		if (error != 0)
			kvm->vcpu_cleanup(lc->kvc);
	}
	if (error == 0) {
		lc->ic = ic;
		error = kvm->set_debug(
		    lc->kvc, &(struct vm_guest_debug){ .enable = true,
						       .singlestep = true });
		if (error != 0) {
			itp->vcpu_cleanup(ic);
			kvm->vcpu_cleanup(lc->kvc);
		}
	}
	if (error != 0) {
		free(lc);
		return error;
	}
	*vcookiep = lc;
	return 0;
}

static void
ls_vcpu_cleanup(void *vcookie)
{
	struct ls_vcpu *lc = vcookie;
	struct timespec t1;
	double secs;

	if (lc->steps > 0 && !lc->lvm->failed) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double)(t1.tv_sec - lc->t0.tv_sec) +
		       (double)(t1.tv_nsec - lc->t0.tv_nsec) / 1e9;
		fprintf(
		    stderr,
		    "lockstep: vcpu %d: %" PRIu64 " instructions, %" PRIu64
		    " events, %" PRIu64 " exits compared in %.1f s, %" PRIu64
		    " values taken from kvm: no difference\n",
		    lc->id, lc->steps, lc->events, lc->exits, secs, lc->taken);
	}
	itp->vcpu_cleanup(lc->ic);
	kvm->vcpu_cleanup(lc->kvc);
	free(lc);
}

/* ---- state ------------------------------------------------------------ */

static bool
is_seg(int reg)
{
	return reg >= VM_REG_GUEST_ES && reg <= VM_REG_GUEST_GDTR;
}

static void
state_get(const struct vmm_engine *eng, void *vc, struct ls_state *st)
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
static uint64_t
state_diff(const struct ls_state *k, const struct ls_state *i)
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
static uint64_t
undefined_flags(const struct x86_instr *insn)
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
static uint64_t
host_result_regs(const struct x86_instr *insn, const struct ls_state *before)
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

static void
insn_text(const struct x86_instr *insn, uint64_t rip, char *buf, size_t len)
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
static void
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
		words = slot_words(s);
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

static bool
mem_check(struct ls_vcpu *lc, struct vm_exit *vmexit, bool kvm_too,
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

static void
describe_exit(const struct vm_exit *e, char *buf, size_t len)
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
static bool
exit_equal(const struct vm_exit *k, const struct vm_exit *i)
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
static bool
exit_restarts(const struct vm_exit *e)
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

static bool
exit_state_check(struct ls_vcpu *lc, struct vm_exit *vmexit, const char *insn,
		 uint64_t rip)
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

/* ---- stepping --------------------------------------------------------- */

static bool
interp_event_due(const struct interp_cpu *c)
{
	return c->event.pending ||
	       (c->nmi_queued && !c->nmi_blocked && !c->intr_shadow);
}

/* interp: deliver the pending event and nothing more. */
static void
interp_deliver_only(struct ls_vcpu *lc, struct vm_exit *ix)
{
	memset(ix, 0, sizeof(*ix));
	atomic_store(&lc->ic->kicked, true);
	interp_exec(lc->ic, ix, 1);
	atomic_store(&lc->ic->kicked, false);
}

/* interp: one instruction (or the completion of the pending one). */
static void
interp_one(struct ls_vcpu *lc, struct vm_exit *ix)
{
	memset(ix, 0, sizeof(*ix));
	interp_exec(lc->ic, ix, 1);
	if (ix->exitcode == VM_EXITCODE_INOUT)
		ix->u.inout.data = lc->ic->io_buf;
}

/*
 * The value an in-kernel RDMSR of kvm returned, for interp's exit to
 * kmod for the same MSR; a WRMSR kvm kept completes on interp as well.
 */
static void
interp_take_msr(struct ls_vcpu *lc, struct vm_exit *ix,
		const struct ls_state *k)
{
	ix->u.msr.value = (k->reg[VM_REG_GUEST_RDX] << 32) |
			  (k->reg[VM_REG_GUEST_RAX] & 0xffffffff);
	interp_take_results(lc->ic, ix);
	interp_one(lc, ix);
	lc->taken++;
}

/*
 * PVM keeps ES/DS/FS/GS where IRET (and RET far) to CPL 3 load them with
 * null because their DPL is below the new CPL (Intel SDM vol. 2, IRET:
 * RETURN-TO-OUTER-PRIVILEGE-LEVEL), as interp does: kvm's are taken, at
 * CPL 3 or in a step that was there (and trapped back to CPL 0).
 */
static uint64_t
pvm_seg_quirk(struct ls_vcpu *lc, const struct ls_state *k,
	      const struct ls_state *i, uint64_t diff)
{
	static const int segs[] = { VM_REG_GUEST_ES, VM_REG_GUEST_DS,
				    VM_REG_GUEST_FS, VM_REG_GUEST_GS };
	const struct seg_desc *kss =
	    &k->desc[VM_REG_GUEST_SS - VM_REG_GUEST_ES];

	if (((kss->access >> 5) & 3) != 3 && !lc->user_seen)
		return diff;
	for (size_t n = 0; n < sizeof(segs) / sizeof(segs[0]); n++) {
		int r = segs[n];
		const struct seg_desc *kd = &k->desc[r - VM_REG_GUEST_ES];
		const struct seg_desc *id = &i->desc[r - VM_REG_GUEST_ES];

		if (!((diff >> r) & 1) || i->reg[r] != 0 ||
		    !(id->access & SEG_ACC_UNUSABLE) ||
		    (kd->access & SEG_ACC_UNUSABLE) ||
		    ((kd->access >> 5) & 3) == 3)
			continue;
		itp->setdesc(lc->ic, r, kd);
		itp->setreg(lc->ic, r, k->reg[r]);
		diff &= ~(1ULL << r);
		lc->taken++;
	}
	return diff;
}

/* interp's state now, against kvm's: the registers that differ. */
static uint64_t
compare_now(struct ls_vcpu *lc, const struct ls_state *ks, struct ls_state *is)
{
	uint64_t diff;

	state_get(itp, lc->ic, is);
	diff = state_diff(ks, is);
	if (diff != 0)
		diff = pvm_seg_quirk(lc, ks, is, diff);
	return diff;
}

static bool
at_cpl3(const struct interp_cpu *c)
{
	return ((c->seg[X86_R_CS - X86_R_ES].desc.access >> 5) & 3) == 3;
}

static bool
is_iret(const struct x86_instr *insn)
{
	return insn != NULL &&
	       (insn->mnem == X86_M_IRET || insn->mnem == X86_M_IRETD ||
		insn->mnem == X86_M_IRETQ);
}

/*
 * 1. interp completes the instruction behind kvm's last exit with the
 * monitor's answer.  A REP INS kvm batched (count elements in one exit)
 * is count executions of interp, one element each.
 */
static bool
interp_complete(struct ls_vcpu *lc, struct vm_exit *ix, const char *text,
		uint64_t rip0, struct vm_exit *vmexit)
{
	struct interp_cpu *ic = lc->ic;
	struct vm_exit *prev = &lc->prev;
	unsigned int count = 1, bytes;
	char what[200], id[120];

	if (prev->exitcode == VM_EXITCODE_INOUT && prev->u.inout.count > 1)
		count = prev->u.inout.count;
	for (unsigned int k = 0; k < count; k++) {
		if (k > 0) {
			interp_one(lc, ix);
			if (ix->exitcode != VM_EXITCODE_INOUT ||
			    !ix->u.inout.in ||
			    ix->u.inout.port != prev->u.inout.port ||
			    ix->u.inout.bytes != prev->u.inout.bytes) {
				describe_exit(ix, id, sizeof(id));
				snprintf(what, sizeof(what),
					 "kvm's REP INS took %u elements, "
					 "interp's element %u is %.100s",
					 count, k, id);
				ls_fail(lc, vmexit, what, text, rip0, NULL,
					NULL, 0);
				return false;
			}
		}
		if (prev->exitcode == VM_EXITCODE_INOUT) {
			bytes = prev->u.inout.bytes;
			memcpy(ic->io_buf, lc->inbuf + k * bytes, bytes);
		}
		interp_take_results(ic, prev);
		interp_one(lc, ix);
	}
	return true;
}

/*
 * KVM's instruction emulator ends a REP string instruction with one more
 * execution that finds the count 0 and only moves rip on: after the last
 * element of a REP INS it stops at the instruction (RF set, count 0)
 * where interp (and the hardware) has gone past it.  kvm's state then
 * counts as interp's, and interp waits for kvm's empty iteration.
 */
static void
rep_lag(struct ls_vcpu *lc, const struct vm_exit *vmexit, struct ls_state *ks,
	const struct x86_instr *insn)
{
	uint64_t rip = lc->prev.rip, cnt = ks->reg[VM_REG_GUEST_RCX];

	if (vmexit->exitcode != VM_EXITCODE_DEBUG || insn == NULL ||
	    !(insn->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) ||
	    ks->reg[VM_REG_GUEST_RIP] != rip ||
	    !(ks->reg[VM_REG_GUEST_RFLAGS] & PSL_RF) ||
	    (cnt & interp_mask(insn->addrsize)) != 0 ||
	    lc->ic->rip != ((rip + insn->length) &
			    (insn->mode == X86_MODE_64   ? ~0ULL
			     : insn->mode == X86_MODE_32 ? 0xffffffffULL
							 : 0xffffULL)))
		return;
	ks->reg[VM_REG_GUEST_RIP] = lc->ic->rip;
	ks->reg[VM_REG_GUEST_RFLAGS] &= ~PSL_RF;
	lc->rep_lag = true;
}

/*
 * One step of both CPUs.  Returns true to go on stepping, false to return
 * *vmexit to kmod.
 */
static bool
ls_step(struct ls_vcpu *lc, struct vm_exit *vmexit)
{
	struct interp_cpu *ic = lc->ic;
	struct ls_state ks, is;
	struct vm_exit ix;
	uint64_t diff = 0, rip0 = ic->rip, undef, take, icount;
	const struct x86_instr *insn = NULL;
	enum ls_after after = lc->after;
	bool executed = false, faulted, lag = lc->rep_lag, bogus = false, full;
	unsigned int nexec = 0;
	char text[96], what[256], kd[120], id[120];
	int error;

	if (lc->diverged[0] != '\0') {
		state_get(kvm, lc->kvc, &ks);
		state_get(itp, ic, &is);
		ls_fail(lc, vmexit, lc->diverged, "(an injection)",
			ks.reg[VM_REG_GUEST_RIP], &ks, &is,
			state_diff(&ks, &is));
		return false;
	}
	/* The monitor's answer to the last exit, before kvm's next exit. */
	if (after == LS_AFTER_RESTART) {
		lc->prev = *vmexit;
		if (vmexit->exitcode == VM_EXITCODE_INOUT) {
			size_t n =
			    (size_t)vmexit->u.inout.bytes *
			    (vmexit->u.inout.count ? vmexit->u.inout.count : 1);

			if (n > sizeof(lc->inbuf)) {
				ls_fail(lc, vmexit, "IN data too large", "?",
					rip0, NULL, NULL, 0);
				return false;
			}
			memcpy(lc->inbuf, vmexit->u.inout.data, n);
		}
	}
	error = kvm->run(lc->kvc, vmexit);
	if (error != 0) {
		snprintf(what, sizeof(what), "kvm's run failed: %s",
			 strerror(error));
		ls_fail(lc, vmexit, what, "?", rip0, NULL, NULL, 0);
		return false;
	}
	/*
	 * KVM's HLT exits under single-stepping are unreliable on this
	 * host: a stepped HLT is reported as the step, and an HLT exit may
	 * come later where nothing halts (after the interrupt that woke
	 * the guest returns).  A HLT exit counts as a step; the HLT kmod
	 * sees is interp's (below).
	 */
	if (vmexit->exitcode == VM_EXITCODE_HLT) {
		vmexit->exitcode = VM_EXITCODE_DEBUG;
		vmexit->u.debug.dr6 = DR6_BS;
	}
	lc->after = LS_AFTER_NONE;
	lc->rep_lag = false;
	lc->user_seen = false;
	if (vmexit->exitcode == VM_EXITCODE_ENGINE_ERROR)
		return false;
	if (!vmexit->has_insn &&
	    (vmexit->exitcode == VM_EXITCODE_INOUT ||
	     vmexit->exitcode == VM_EXITCODE_MMIO) &&
	    vm_exit_decode(lc->vcpu, vmexit) != 0) {
		ls_fail(lc, vmexit, "kvm's exit does not decode", "?", rip0,
			NULL, NULL, 0);
		return false;
	}
	if (vmexit->exitcode == VM_EXITCODE_ENGINE_ERROR)
		return false;
	state_get(kvm, lc->kvc, &ks);
	memset(&ix, 0, sizeof(ix));
	ix.exitcode = VM_EXITCODE_BOGUS;

	/* 0. The rest of an instruction's MMIO stores, one exit each. */
	ic->exit = &ix;
	if (interp_store_pending(ic)) {
		ix.rip = ic->rip;
		state_get(itp, ic, &is);
		goto compare;
	}
	/* 1. The instruction behind the last exit: KVM always completes it. */
	if (after == LS_AFTER_RESTART) {
		if (!interp_complete(lc, &ix, "(the last exit's instruction)",
				     rip0, vmexit))
			return false;
		insn = ic->last_insn;
		executed = true;
		nexec++;
		rep_lag(lc, vmexit, &ks, insn);
	}
	/*
	 * kvm's BOGUS exits: a kick before entering (nothing ran), or an
	 * interrupt-window or host-interrupt exit after a step.
	 */
	bogus = vmexit->exitcode == VM_EXITCODE_BOGUS;
	if (bogus) {

		if ((diff = compare_now(lc, &ks, &is)) == 0 ||
		    ix.exitcode != VM_EXITCODE_BOGUS)
			goto compare;
		vmexit->exitcode = VM_EXITCODE_DEBUG;
		vmexit->u.debug.dr6 = DR6_BS;
	}
	/*
	 * 2. Stopping here: after a completion, after an exit whose
	 * instruction interp had retired already, or at a breakpoint.
	 */
	if (vmexit->exitcode == VM_EXITCODE_DEBUG &&
	    ix.exitcode == VM_EXITCODE_BOGUS &&
	    (executed || after == LS_AFTER_RETIRED || lag ||
	     (vmexit->u.debug.dr6 & 0xf))) {

		if ((diff = compare_now(lc, &ks, &is)) == 0)
			goto compared;
	}
	/* 3. A pending event. */
	if (interp_event_due(ic) && ix.exitcode == VM_EXITCODE_BOGUS) {
		interp_deliver_only(lc, &ix);
		lc->events++;
		if (ix.exitcode == VM_EXITCODE_BOGUS &&
		    vmexit->exitcode == VM_EXITCODE_DEBUG) {

			if ((diff = compare_now(lc, &ks, &is)) == 0)
				goto compared;
		}
	}
	/* 4. One instruction. */
	if (ix.exitcode == VM_EXITCODE_BOGUS) {
		rip0 = ic->rip;
		icount = ic->icount;
		lc->user_seen |= at_cpl3(ic);
		interp_one(lc, &ix);
		lc->user_seen |= at_cpl3(ic);
		insn = ic->last_insn;
		executed = true;
		nexec++;
		faulted =
		    ix.exitcode == VM_EXITCODE_BOGUS && ic->icount == icount;

		diff = compare_now(lc, &ks, &is);
		/*
		 * 5. PVM does not stop after an IRET or after delivering an
		 * exception the instruction raised: the next instruction
		 * belongs to the same step.
		 */
		if ((faulted ||
		     (is_iret(insn) && ix.exitcode == VM_EXITCODE_BOGUS)) &&
		    (vmexit->exitcode != VM_EXITCODE_DEBUG || diff != 0)) {
			interp_one(lc, &ix);
			lc->user_seen |= at_cpl3(ic);
			nexec++;
			if (ic->last_insn != NULL) {
				insn = ic->last_insn;
				rip0 = is.reg[VM_REG_GUEST_RIP];
			}
			diff = compare_now(lc, &ks, &is);
		}
		/*
		 * 6. At CPL 3 PVM runs the guest on the CPU and may lose a
		 * single-step trap before an instruction that faults: the
		 * step then also holds the fault's delivery and the
		 * handler's first instruction.  interp catches up by up to
		 * LS_USER_CATCHUP instructions while it differs.
		 */
		for (int n = 0;
		     n < LS_USER_CATCHUP && lc->user_seen && diff != 0 &&
		     vmexit->exitcode == VM_EXITCODE_DEBUG &&
		     ix.exitcode == VM_EXITCODE_BOGUS;
		     n++) {
			rip0 = is.reg[VM_REG_GUEST_RIP];
			interp_one(lc, &ix);
			nexec++;
			if (ic->last_insn != NULL)
				insn = ic->last_insn;
			diff = compare_now(lc, &ks, &is);
		}
	}

	diff = compare_now(lc, &ks, &is);

compare:
	insn_text(insn, rip0, text, sizeof(text));
	/* An MSR kvm keeps in-kernel and interp leaves to kmod. */
	if (vmexit->exitcode == VM_EXITCODE_DEBUG &&
	    (ix.exitcode == VM_EXITCODE_RDMSR ||
	     ix.exitcode == VM_EXITCODE_WRMSR)) {
		interp_take_msr(lc, &ix, &ks);

		diff = compare_now(lc, &ks, &is);
	}
	/* A HLT: kmod gets it once interp and kvm agree on the state. */
	if (vmexit->exitcode == VM_EXITCODE_DEBUG &&
	    ix.exitcode == VM_EXITCODE_HLT && diff == 0) {
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = VM_EXITCODE_HLT;
		vmexit->rip = ks.reg[VM_REG_GUEST_RIP];
		vmexit->u.hlt.rflags = ks.reg[VM_REG_GUEST_RFLAGS];
	}
	/* Exits: the same access on both. */
	if (vmexit->exitcode != VM_EXITCODE_DEBUG &&
	    vmexit->exitcode != VM_EXITCODE_BOGUS) {
		lc->exits++;
		lc->steps += nexec;
		if (!exit_equal(vmexit, &ix)) {
			describe_exit(vmexit, kd, sizeof(kd));
			describe_exit(&ix, id, sizeof(id));
			snprintf(what, sizeof(what),
				 "different exits: kvm %.100s; interp %.100s",
				 kd, id);
			ls_fail(lc, vmexit, what, text, rip0, &ks, &is, diff);
			return false;
		}
		lc->after =
		    exit_restarts(vmexit) ? LS_AFTER_RESTART : LS_AFTER_RETIRED;
		if (!exit_state_check(lc, vmexit, text, rip0) ||
		    !mem_check(lc, vmexit, true, text, rip0))
			return false;
		/*
		 * Registers at an exit: kvm may report the instruction's
		 * own rip or the next one (see vmm_decode.c) and may or may
		 * not have retired it; they are compared at the next step.
		 */
		return false;
	}
	if (vmexit->exitcode == VM_EXITCODE_DEBUG &&
	    ix.exitcode != VM_EXITCODE_BOGUS) {
		describe_exit(&ix, id, sizeof(id));
		snprintf(what, sizeof(what),
			 "kvm stepped the instruction, interp exited: %.120s",
			 id);
		ls_fail(lc, vmexit, what, text, rip0, &ks, &is, diff);
		return false;
	}
	if (diff != 0 && executed) {
		/* What the host decides, and flags the SDM leaves open. */
		take = host_result_regs(insn, &ks) & diff;
		undef = undefined_flags(insn);
		if ((diff & (1ULL << VM_REG_GUEST_RFLAGS)) &&
		    ((ks.reg[VM_REG_GUEST_RFLAGS] ^
		      is.reg[VM_REG_GUEST_RFLAGS]) &
		     ~undef) == 0)
			take |= 1ULL << VM_REG_GUEST_RFLAGS;
		if (take != 0 && (diff & ~take) == 0) {
			for (int r = 0; r < LS_NREGS; r++)
				if ((take >> r) & 1)
					itp->setreg(ic, r, ks.reg[r]);
			lc->taken++;
			diff = 0;
		}
	}
	if (diff != 0) {
		ls_fail(lc, vmexit, "registers differ", text, rip0, &ks, &is,
			diff);
		return false;
	}
	lc->steps += nexec;
compared:
	if (bogus) {
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		vmexit->rip = ks.reg[VM_REG_GUEST_RIP];
	}
	if (lc->lvm->corrupt_at != 0 && lc->steps >= lc->lvm->corrupt_at) {
		/* The test hook: interp's RBX goes wrong from here. */
		lc->lvm->corrupt_at = 0;
		ic->gpr[3] ^= 1;
	}
	insn_text(insn, rip0, text, sizeof(text));
	/* Every so often the checks of an exit too. */
	full = ++lc->since_memcheck >= LS_MEMCHECK_STEPS;
	if ((full && !exit_state_check(lc, vmexit, text, rip0)) ||
	    !mem_check(lc, vmexit, full, text, rip0))
		return false;
	if (vmexit->exitcode == VM_EXITCODE_BOGUS)
		return false;
	/* A debugger's step or breakpoint goes to kmod. */
	if (lc->user_step || (vmexit->u.debug.dr6 & 0xf))
		return false;
	/* kmod has an interrupt to inject and the window is open. */
	if (lc->want_window && (ks.reg[VM_REG_GUEST_RFLAGS] & PSL_I) &&
	    !ks.reg[VM_REG_GUEST_INTR_SHADOW]) {
		lc->want_window = false;
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		vmexit->rip = ks.reg[VM_REG_GUEST_RIP];
		return false;
	}
	return true;
}

static void
ls_lock(struct ls_vm *lvm)
{
	uint64_t t;

	pthread_mutex_lock(&lvm->mtx);
	t = lvm->ticket_next++;
	while (lvm->ticket_serving != t)
		pthread_cond_wait(&lvm->cv, &lvm->mtx);
	pthread_mutex_unlock(&lvm->mtx);
}

static void
ls_unlock(struct ls_vm *lvm)
{
	pthread_mutex_lock(&lvm->mtx);
	lvm->ticket_serving++;
	pthread_cond_broadcast(&lvm->cv);
	pthread_mutex_unlock(&lvm->mtx);
}

/* The first run: the shadow takes what the loader wrote. */
static bool
ls_start(struct ls_vcpu *lc, struct vm_exit *vmexit)
{
	struct ls_vm *lvm = lc->lvm;
	struct ls_state ks, is;
	struct vm_fpu fpu;
	uint64_t diff;

	if (!lvm->started) {
		for (int n = 0; n < VM_MAX_MEMMAP; n++) {
			struct ls_slot *s = &lvm->slots[n];

			if (!s->used)
				continue;
			memcpy(s->shadow, s->host, s->len);
			itp->get_dirty(lvm->ivm, n, s->bits);
			kvm->get_dirty(lvm->kvm, n, s->bits);
		}
		lvm->started = true;
	}
	/*
	 * The x87/SSE state nobody set: kvm's, for a start (KVM on this
	 * host reports MXCSR 0 after creation where RESET gives 0x1f80).
	 */
	if (kvm->getfpu(lc->kvc, &fpu) == 0)
		itp->setfpu(lc->ic, &fpu);
	clock_gettime(CLOCK_MONOTONIC, &lc->t0);
	state_get(kvm, lc->kvc, &ks);
	state_get(itp, lc->ic, &is);
	diff = state_diff(&ks, &is);
	if (diff != 0) {
		ls_fail(lc, vmexit, "the initial registers differ",
			"(before the first instruction)",
			ks.reg[VM_REG_GUEST_RIP], &ks, &is, diff);
		return false;
	}
	return true;
}

static int
ls_run(void *vcookie, struct vm_exit *vmexit)
{
	struct ls_vcpu *lc = vcookie;
	struct ls_vm *lvm = lc->lvm;
	bool more;

	do {
		ls_lock(lvm);
		if (lvm->failed) {
			/* Another vCPU found a difference. */
			ls_unlock(lvm);
			memset(vmexit, 0, sizeof(*vmexit));
			vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
			snprintf(vmexit->u.error.msg,
				 sizeof(vmexit->u.error.msg),
				 "lockstep: stopped by another vCPU's "
				 "difference");
			return 0;
		}
		if (lc->t0.tv_sec == 0 && !ls_start(lc, vmexit)) {
			ls_unlock(lvm);
			return 0;
		}
		more = ls_step(lc, vmexit);
		ls_unlock(lvm);
		if (more && atomic_exchange(&lc->kicked, false)) {
			memset(vmexit, 0, sizeof(*vmexit));
			vmexit->exitcode = VM_EXITCODE_BOGUS;
			more = false;
		}
	} while (more);
	return 0;
}

static void
ls_kick(void *vcookie)
{
	struct ls_vcpu *lc = vcookie;

	atomic_store(&lc->kicked, true);
	kvm->kick(lc->kvc);
}

/* ---- registers: read from kvm, written to both -------------------------- */

static int
ls_getreg(void *vcookie, int reg, uint64_t *val)
{
	return kvm->getreg(((struct ls_vcpu *)vcookie)->kvc, reg, val);
}

static int
ls_setreg(void *vcookie, int reg, uint64_t val)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->setreg(lc->kvc, reg, val);

	return error != 0 ? error : itp->setreg(lc->ic, reg, val);
}

static int
ls_getdesc(void *vcookie, int reg, struct seg_desc *desc)
{
	return kvm->getdesc(((struct ls_vcpu *)vcookie)->kvc, reg, desc);
}

static int
ls_setdesc(void *vcookie, int reg, const struct seg_desc *desc)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->setdesc(lc->kvc, reg, desc);

	return error != 0 ? error : itp->setdesc(lc->ic, reg, desc);
}

static int
ls_getmsr(void *vcookie, uint32_t msr, uint64_t *val)
{
	return kvm->getmsr(((struct ls_vcpu *)vcookie)->kvc, msr, val);
}

/* interp keeps fewer MSRs than kvm: those it has not are kvm's alone. */
static int
ls_setmsr(void *vcookie, uint32_t msr, uint64_t val)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->setmsr(lc->kvc, msr, val);

	if (error == 0)
		itp->setmsr(lc->ic, msr, val);
	return error;
}

static int
ls_getfpu(void *vcookie, struct vm_fpu *fpu)
{
	return kvm->getfpu(((struct ls_vcpu *)vcookie)->kvc, fpu);
}

static int
ls_setfpu(void *vcookie, const struct vm_fpu *fpu)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->setfpu(lc->kvc, fpu);

	return error != 0 ? error : itp->setfpu(lc->ic, fpu);
}

/* ---- events: the same event at the same point on both ------------------- */

static void
diverged(struct ls_vcpu *lc, const char *what)
{
	snprintf(lc->diverged, sizeof(lc->diverged), "%s", what);
}

static int
ls_inject_intr(void *vcookie, int vector)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->inject_intr(lc->kvc, vector);

	if (error == EBUSY) {
		lc->want_window = true;
		return error;
	}
	if (error == 0 && itp->inject_intr(lc->ic, vector) != 0) {
		lc->ic->want_window = false;
		diverged(lc, "kvm takes an interrupt that interp cannot take "
			     "now");
	}
	return error;
}

static int
ls_inject_nmi(void *vcookie)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->inject_nmi(lc->kvc);

	if (error == 0)
		itp->inject_nmi(lc->ic);
	return error;
}

static int
ls_inject_exception(void *vcookie, int vector, bool has_ec, uint32_t ec)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->inject_exception(lc->kvc, vector, has_ec, ec);

	if (error == 0) {
		itp->inject_exception(lc->ic, vector, has_ec, ec);
		/* The faulting MSR access does not complete. */
		lc->after = LS_AFTER_NONE;
	}
	return error;
}

static int
ls_tsc_hz(void *vcookie, uint64_t *hz)
{
	return kvm->tsc_hz(((struct ls_vcpu *)vcookie)->kvc, hz);
}

/* kvm single-steps always; a debugger's own steps and breakpoints added. */
static int
ls_set_debug(void *vcookie, const struct vm_guest_debug *dbg)
{
	struct ls_vcpu *lc = vcookie;
	struct vm_guest_debug d = *dbg;

	lc->dbg = *dbg;
	lc->user_step = dbg->enable && dbg->singlestep;
	if (!d.enable) {
		d = (struct vm_guest_debug){ 0 };
		d.enable = true;
	}
	d.singlestep = true;
	return kvm->set_debug(lc->kvc, &d);
}

static int
ls_complete_io(void *vcookie, struct vm_exit *vmexit)
{
	struct ls_vcpu *lc = vcookie;
	struct interp_cpu *ic = lc->ic;
	int error;

	if (lc->after == LS_AFTER_RESTART &&
	    vmexit->exitcode == VM_EXITCODE_INOUT &&
	    vmexit->u.inout.bytes <= sizeof(ic->io_buf))
		memcpy(ic->io_buf, vmexit->u.inout.data, vmexit->u.inout.bytes);
	error = kvm->complete_io(lc->kvc, vmexit);
	if (error == 0)
		error = itp->complete_io(ic, vmexit);
	if (lc->after == LS_AFTER_RESTART)
		lc->after = LS_AFTER_NONE;
	return error;
}

static int
ls_cpuid_supported(void *cookie, struct vm_cpuid_entry *out, int max)
{
	return kvm->cpuid_supported(((struct ls_vm *)cookie)->kvm, out, max);
}

static int
ls_set_cpuid(void *vcookie, const struct vm_cpuid_entry *table, int n)
{
	struct ls_vcpu *lc = vcookie;
	int error = kvm->set_cpuid(lc->kvc, table, n);

	return error != 0 ? error : itp->set_cpuid(lc->ic, table, n);
}

const struct vmm_engine vmm_engine_lockstep = {
	.name = "lockstep",
	.vm_init = ls_vm_init,
	.vm_cleanup = ls_vm_cleanup,
	.mem_map = ls_mem_map,
	.mem_unmap = ls_mem_unmap,
	.vcpu_init = ls_vcpu_init,
	.vcpu_cleanup = ls_vcpu_cleanup,
	.run = ls_run,
	.kick = ls_kick,
	.getreg = ls_getreg,
	.setreg = ls_setreg,
	.getdesc = ls_getdesc,
	.setdesc = ls_setdesc,
	.getmsr = ls_getmsr,
	.setmsr = ls_setmsr,
	.inject_intr = ls_inject_intr,
	.inject_nmi = ls_inject_nmi,
	.inject_exception = ls_inject_exception,
	.tsc_hz = ls_tsc_hz,
	.set_debug = ls_set_debug,
	.complete_io = ls_complete_io,
	.dirty_logging = ls_dirty_logging,
	.get_dirty = ls_get_dirty,
	.cpuid_supported = ls_cpuid_supported,
	.set_cpuid = ls_set_cpuid,
	.getfpu = ls_getfpu,
	.setfpu = ls_setfpu,
	.dma_done = ls_dma_done,
};
