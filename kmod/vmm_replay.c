/*
 * The replayer: the recorder's hooks run backwards.  vm_run() calls it at
 * the same points where a recording writes (vmm_record.c), and instead of
 * writing it reads the next event of the trace and
 *   - compares an exit with the recorded one (code, rip, instruction),
 *   - answers a read with the recorded value and compares a write's,
 *   - performs the recorded injections at the recorded exit index,
 *   - reaches a recorded asynchronous exit (a kick: no instruction caused
 *     it) by running to its rip under a hardware breakpoint and comparing
 *     the full register state at every hit -- or, where the engine counts
 *     instructions (interp: VM_REG_ICOUNT in the recorded registers), by
 *     stopping at exactly that count and comparing once,
 *   - compares every checkpoint register by register and page by page.
 * Devices keep seeing writes (that is how the console reproduces the
 * guest's output) but nothing they decide reaches the guest.  The first
 * difference stops the replay with a report.
 *
 * A debugger (monitor/gdb_target.c) shares the engine's debug state with
 * the replayer: its breakpoints take debug registers 0-2, the replayer's
 * own breakpoint register 3 (vm_replay_set_debug), a debug exit goes to
 * whoever's breakpoint or step it is, and a kick of the monitor's returns
 * to it without being taken for an exit of the recording.  A replay can be
 * restarted at an earlier point (vm_replay_restart) for reverse execution.
 *
 * One vCPU is replayed exactly; traces in which several vCPUs ran are
 * refused at the first event of a second vCPU (their interleaving through
 * shared memory is not in a kvm trace).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "trace.h"
#include "vmm_impl.h"
#include "io/vio.h"

/* The replayer's breakpoint: register 3, execute (R/W 00, LEN 00). */
#define REPLAY_SLOT 3
#define RFLAGS_RF   (1ULL << 16)
#define REPORT_SIZE 8192

/* The asynchronous exit the vCPU is running towards. */
struct replay_target {
	bool valid;
	uint64_t index; /* of its EXIT event */
	uint64_t rip, linear;
	/* Engines that count instructions recorded the exact count. */
	bool has_icount;
	uint64_t icount;
	uint32_t nregs;
	struct trace_reg regs[VM_STATE_MAX_REGS];
};

struct vm_replayer {
	struct trace_reader *r;
	struct trace_event ev; /* the next event, when 'have' */
	bool have;
	bool at_end; /* no more events */
	bool ended;  /* END consumed */
	int32_t end_status;
	bool diverged;
	char report[REPORT_SIZE];
	struct vm_replay_stats st;
	uint64_t first_ns;
	struct replay_target target;
	uint64_t checkpoint_id; /* of the last checkpoint read */
	bool bp_armed, stepping;
	/* How the state differed from the target's when first compared. */
	char target_diff[512];
	/* Past a breakpoint by RF: the state it was set at; RF ignored. */
	bool rf_pending, rf_broken;
	uint64_t rf_sig;
	/* The debugger's debug state, per vCPU (slots 0-2 and its step). */
	struct vm_guest_debug user[VM_MAXCPU];
	/*
	 * An injection not yet delivered (its vector), and the breakpoint on
	 * its handler that stands in for the debugger's single step then: a
	 * step on an entry that delivers an event would push RFLAGS with the
	 * step's TF onto the guest's stack, a write the recording lacks.
	 */
	bool inject_queued, handler_armed;
	/*
	 * The last exit's instruction is finished by the next KVM_RUN; under
	 * a step that run ends with the step (after the instruction, before
	 * any event), as a CPU's single-step trap comes before interrupts.
	 */
	bool io_pending;
	/*
	 * A HLT the recording exited on runs without the step (KVM would
	 * end the step instead of the HLT exit, and on PVM hosts later take
	 * the halt at the wrong moment).
	 */
	bool hlt_unstepped;
	/*
	 * Loaded from a checkpoint and not run since: KVM's view of whether
	 * the vCPU can take an interrupt is not the loaded state's yet.
	 */
	bool unsynced;
	int inject_vector;
	uint64_t handler_lin;
	/* vm_replay_restart(): vm_run returns once vCPU 0 is after exit N. */
	bool restarted, stop_set, stop_hit;
	uint64_t stop_exits;
	/* The checkpoints seen so far and vCPU 0's exit count at each. */
	struct replay_ckpt {
		uint64_t id, exits;
	} * ckpts;
	size_t nckpts, ckcap;
};

static int debug_apply(struct vcpu *vcpu);
static int complete_io(struct vcpu *vcpu, struct vm_exit *vmexit);
static bool next_is_recorded_hlt(struct vcpu *vcpu);

/* ---- reading ---------------------------------------------------------- */

/*
 * The next event the replay acts on.  Markers and host input are written
 * by other threads (signals, the console) wherever they fall, even
 * between an exit and its access; the guest never saw them, so they are
 * passed over here.
 */
static struct trace_event *
peek(struct vm_replayer *rp)
{
	while (!rp->have && !rp->at_end) {
		if (trace_next(rp->r, &rp->ev) != 1) {
			rp->at_end = true;
			break;
		}
		if (rp->ev.kind == TRACE_EV_MARKER ||
		    rp->ev.kind == TRACE_EV_INPUT)
			rp->st.events++;
		else
			rp->have = true;
	}
	return rp->have ? &rp->ev : NULL;
}

static void
consume(struct vm_replayer *rp)
{
	rp->have = false;
	rp->st.events++;
}

/* ---- the report -------------------------------------------------------- */

static void
report_add(struct vm_replayer *rp, const char *fmt, ...)
{
	size_t len = strlen(rp->report);
	va_list ap;

	if (len + 1 >= sizeof(rp->report))
		return;
	va_start(ap, fmt);
	vsnprintf(rp->report + len, sizeof(rp->report) - len, fmt, ap);
	va_end(ap);
}

static const char *
reg_id_name(uint64_t id, char *buf, size_t len)
{
	static const char *const parts[] = { "base", "limit", "access" };

	if (id & TRACE_REG_MSR(0))
		snprintf(buf, len, "msr 0x%x", (uint32_t)id);
	else if (id < 0x100)
		snprintf(buf, len, "%s", vm_reg_name((int)id));
	else if ((id - 0x100) % 4 < 3)
		snprintf(buf, len, "%s.%s",
			 vm_reg_name((int)((id - 0x100) / 4)),
			 parts[(id - 0x100) % 4]);
	else
		snprintf(buf, len, "reg 0x%llx", (unsigned long long)id);
	return buf;
}

static void
report_regs(struct vm_replayer *rp, struct vcpu *vcpu)
{
	static const int gprs[] = {
		VM_REG_GUEST_RAX, VM_REG_GUEST_RBX,  VM_REG_GUEST_RCX,
		VM_REG_GUEST_RDX, VM_REG_GUEST_RSI,  VM_REG_GUEST_RDI,
		VM_REG_GUEST_RBP, VM_REG_GUEST_RSP,  VM_REG_GUEST_R8,
		VM_REG_GUEST_R9,  VM_REG_GUEST_R10,  VM_REG_GUEST_R11,
		VM_REG_GUEST_R12, VM_REG_GUEST_R13,  VM_REG_GUEST_R14,
		VM_REG_GUEST_R15, VM_REG_GUEST_RIP,  VM_REG_GUEST_RFLAGS,
		VM_REG_GUEST_CR0, VM_REG_GUEST_CR3,  VM_REG_GUEST_CR4,
		VM_REG_GUEST_CS,  VM_REG_GUEST_EFER,
	};
	uint64_t v;

	report_add(rp, "  registers (replay, vcpu %d):", vcpu->id);
	for (size_t i = 0; i < sizeof(gprs) / sizeof(gprs[0]); i++) {
		if (vm_get_register(vcpu, gprs[i], &v) != 0)
			continue;
		report_add(rp, "%s%s=0x%llx", i % 4 == 0 ? "\n    " : " ",
			   vm_reg_name(gprs[i]), (unsigned long long)v);
	}
	report_add(rp, "\n");
}

/*
 * Divergence: the report's first line names the event and what was
 * recorded, the second what happened; then the registers.
 */
static int
diverge(struct vcpu *vcpu, uint64_t index, const char *recorded,
	const char *replayed)
{
	struct vm_replayer *rp = vcpu->vm->replayer;

	if (rp->diverged)
		return -1;
	rp->diverged = true;
	report_add(rp,
		   "replay diverged at event %llu (vcpu %d, exit %llu):\n"
		   "  recorded: %s\n"
		   "  replayed: %s\n",
		   (unsigned long long)index, vcpu->id,
		   (unsigned long long)vcpu->exits, recorded, replayed);
	report_regs(rp, vcpu);
	return -1;
}

static const char *
exit_text(uint32_t code, uint64_t rip, char *buf, size_t len)
{
	snprintf(buf, len, "%s exit at rip 0x%llx", vm_exitcode_name(code),
		 (unsigned long long)rip);
	return buf;
}

static const char *
event_text(const struct trace_event *ev, char *buf, size_t len)
{
	if (ev == NULL)
		snprintf(buf, len, "the end of the trace");
	else if (ev->kind == TRACE_EV_EXIT)
		exit_text(ev->u.exit.exitcode, ev->u.exit.rip, buf, len);
	else
		snprintf(buf, len, "a %s event (vcpu %u)",
			 trace_kind_name(ev->kind), ev->vcpu);
	return buf;
}

void
vm_replay_diverged_exit(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	uint64_t rip = vmexit->rip;

	memset(vmexit, 0, sizeof(*vmexit));
	vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
	vmexit->rip = rip;
	snprintf(vmexit->u.error.msg, sizeof(vmexit->u.error.msg), "%.*s",
		 (int)strcspn(rp->report, ":"), rp->report);
}

/* ---- registers ------------------------------------------------------- */

/*
 * Registers that are not part of the guest's deterministic state: the TSC
 * runs on, and the debug status/control registers are rhyve's own while
 * it places breakpoints.
 */
static bool
reg_compared(uint64_t id)
{
	return id != TRACE_REG_MSR(MSR_TSC) && id != VM_REG_GUEST_DR6 &&
	       id != VM_REG_GUEST_DR7;
}

static uint64_t
reg_value_masked(uint64_t id, uint64_t v)
{
	/* RF only says whether an instruction breakpoint may fire now. */
	return id == VM_REG_GUEST_RFLAGS ? v & ~RFLAGS_RF : v;
}

/*
 * Compare a recorded register list with the vCPU's state.  With 'why'
 * the first differences are described there.
 */
static bool
regs_match(struct vcpu *vcpu, const struct trace_reg *regs, uint32_t n,
	   char *why, size_t whylen)
{
	struct trace_reg now[VM_STATE_MAX_REGS];
	uint32_t nnow;
	int ndiff = 0;
	char name[48];
	size_t off = 0;
	uint64_t v;

	/*
	 * The general registers first, which the engine has at hand: at a
	 * breakpoint in a loop they differ on every hit but the last, and
	 * the whole state costs ioctls.
	 */
	for (uint32_t i = 0; why == NULL && i < n; i++)
		if (regs[i].id <= VM_REG_GUEST_RFLAGS &&
		    (regs[i].id <= VM_REG_GUEST_R15 ||
		     regs[i].id >= VM_REG_GUEST_RSP) &&
		    vm_get_register(vcpu, (int)regs[i].id, &v) == 0 &&
		    reg_value_masked(regs[i].id, v) !=
			reg_value_masked(regs[i].id, regs[i].value))
			return false;
	nnow = vm_collect_regs(vcpu, now);
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j;

		if (!reg_compared(regs[i].id))
			continue;
		for (j = 0; j < nnow && now[j].id != regs[i].id; j++)
			;
		if (j < nnow && reg_value_masked(regs[i].id, now[j].value) ==
				    reg_value_masked(regs[i].id, regs[i].value))
			continue;
		if (why == NULL)
			return false;
		if (ndiff++ < 6 && off < whylen)
			off += (size_t)snprintf(
			    why + off, whylen - off,
			    "%s%s 0x%llx (replay 0x%llx)",
			    ndiff > 1 ? ", " : "",
			    reg_id_name(regs[i].id, name, sizeof(name)),
			    (unsigned long long)regs[i].value,
			    j < nnow ? (unsigned long long)now[j].value : 0ULL);
	}
	return ndiff == 0;
}

/* A hash of the general registers, rip and rflags (less RF). */
static uint64_t
regs_signature(struct vcpu *vcpu)
{
	uint64_t h = 0xcbf29ce484222325ULL, v;

	for (int r = VM_REG_GUEST_RAX; r <= VM_REG_GUEST_RFLAGS; r++) {
		if ((r > VM_REG_GUEST_R15 && r < VM_REG_GUEST_RSP) ||
		    vm_get_register(vcpu, r, &v) != 0)
			continue;
		v = reg_value_masked((uint64_t)r, v);
		h = (h ^ v) * 0x100000001b3ULL;
	}
	return h;
}

/* ---- checkpoints ------------------------------------------------------ */

static uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* The guest RAM of [gpa, gpa + npages pages), or NULL outside it. */
static uint8_t *
ram_pages(struct vm *vm, uint64_t gpa, uint32_t npages)
{
	uint64_t len = (uint64_t)npages * TRACE_PAGE_SIZE;

	if (npages == 0 || gpa % TRACE_PAGE_SIZE != 0 ||
	    len / npages != TRACE_PAGE_SIZE)
		return NULL;
	return vm_map_gpa(vm, gpa, len);
}

/* Page number of 'gpa' in a flat numbering of RAM (lowmem, then high). */
static uint64_t
ram_page_index(struct vm *vm, uint64_t gpa)
{
	if (gpa < vm->lowmem)
		return gpa / TRACE_PAGE_SIZE;
	return (vm->lowmem + gpa - VM_HIGHMEM_BASE) / TRACE_PAGE_SIZE;
}

static bool
page_zero(const uint8_t *p)
{
	static const uint8_t zero[TRACE_PAGE_SIZE];

	return memcmp(p, zero, TRACE_PAGE_SIZE) == 0;
}

/*
 * The first checkpoint's CPUID events, one vCPU's after another: the
 * table each vCPU ran with, installed as recorded (vmm_cpuid.c).
 */
struct cpuid_load {
	int vcpu; /* -1: none collected */
	int n;
	struct vm_cpuid_entry e[VM_CPUID_MAX];
};

static int
cpuid_load_flush(struct vm *vm, struct cpuid_load *cl, char *errbuf,
		 size_t errlen)
{
	int error;

	if (cl == NULL || cl->vcpu < 0)
		return 0;
	error = vm_set_cpuid_table(vm_vcpu(vm, cl->vcpu), cl->e, cl->n);
	if (error != 0) {
		snprintf(errbuf, errlen,
			 "cannot install the recorded CPUID table of vCPU %d: "
			 "%s",
			 cl->vcpu, strerror(error));
		return -1;
	}
	cl->vcpu = -1;
	cl->n = 0;
	return 0;
}

static int
cpuid_load_add(struct vm *vm, struct cpuid_load *cl,
	       const struct trace_event *ev, char *errbuf, size_t errlen)
{
	if (vm_vcpu(vm, (int)ev->vcpu) == NULL) {
		snprintf(errbuf, errlen,
			 "event %llu: CPUID of vCPU %u, which the VM does not "
			 "have",
			 (unsigned long long)ev->index, ev->vcpu);
		return -1;
	}
	if (cl->vcpu != (int)ev->vcpu &&
	    cpuid_load_flush(vm, cl, errbuf, errlen) != 0)
		return -1;
	if (cl->n == VM_CPUID_MAX) {
		snprintf(errbuf, errlen,
			 "event %llu: more than %d CPUID entries for vCPU %u",
			 (unsigned long long)ev->index, VM_CPUID_MAX, ev->vcpu);
		return -1;
	}
	cl->vcpu = (int)ev->vcpu;
	cl->e[cl->n++] =
	    (struct vm_cpuid_entry){ ev->u.cpuid.leaf, ev->u.cpuid.subleaf,
				     ev->u.cpuid.eax,  ev->u.cpuid.ebx,
				     ev->u.cpuid.ecx,  ev->u.cpuid.edx };
	return 0;
}

/* Where checkpoint 'id' is (vCPU 0's exits), for restarts. */
static void
ckpt_note(struct vm_replayer *rp, uint64_t id, uint64_t exits)
{
	struct replay_ckpt *n;

	if (rp->nckpts > 0 && rp->ckpts[rp->nckpts - 1].id >= id)
		return; /* seen before a restart */
	if (rp->nckpts == rp->ckcap) {
		n = realloc(rp->ckpts,
			    (rp->ckcap * 2 + 16) * sizeof(rp->ckpts[0]));
		if (n == NULL)
			return; /* a restart then starts further back */
		rp->ckpts = n;
		rp->ckcap = rp->ckcap * 2 + 16;
	}
	rp->ckpts[rp->nckpts++] = (struct replay_ckpt){ id, exits };
}

/*
 * A device's state in a checkpoint: loaded, or compared with the VM's.
 * Devices rhyve does not know (a later format's) are passed over; traces
 * from before a device's state was recorded simply have none.
 */
static int
checkpoint_device(struct vm *vm, const struct trace_event *ev, bool load,
		  char *errbuf, size_t errlen)
{
	struct vcpu *vcpu = vm_vcpu(vm, (int)ev->vcpu);
	char why[256];
	int error;

	if (strcmp(ev->u.ckpt_device.name, VLAPIC_STATE_NAME) != 0)
		return 0;
	if (vcpu == NULL) {
		snprintf(errbuf, errlen,
			 "event %llu: local APIC of vCPU %u, which the VM "
			 "does not have",
			 (unsigned long long)ev->index, ev->vcpu);
		return -1;
	}
	if (load) {
		error = vlapic_set_state(vcpu, ev->u.ckpt_device.data,
					 ev->u.ckpt_device.len);
		if (error == 0)
			return 0;
		snprintf(errbuf, errlen,
			 "event %llu: cannot load the local APIC state of "
			 "vCPU %d: %s",
			 (unsigned long long)ev->index, vcpu->id,
			 strerror(error));
		return -1;
	}
	if (vlapic_state_matches(vcpu, ev->u.ckpt_device.data,
				 ev->u.ckpt_device.len, why, sizeof(why)))
		return 0;
	snprintf(errbuf, errlen,
		 "checkpoint local APIC of vCPU %d (event %llu): recorded %s",
		 vcpu->id, (unsigned long long)ev->index, why);
	return -1;
}

/*
 * A checkpoint in the event stream, from its CKPT_BEGIN: with 'load' it
 * becomes the VM's state (the first one, which holds every non-zero page:
 * the others are zeroed), otherwise the VM's state is compared with it
 * (a later one holds the pages written since the one before: each must
 * be equal, and every page the replay wrote since must be among them).
 * Returns 0, or -1 (errbuf says why).
 */
enum ckpt_mode {
	CKPT_VERIFY, /* compare the VM with it */
	CKPT_LOAD,   /* the first: the VM's whole state */
	CKPT_APPLY,  /* a later one, on the way to a replay's start */
};

static int
checkpoint(struct vm *vm, enum ckpt_mode mode, uint64_t *cindex, char *errbuf,
	   size_t errlen)
{
	bool load = mode != CKPT_VERIFY, first = mode == CKPT_LOAD;
	struct vm_replayer *rp = vm->replayer;
	uint64_t npages = (vm->lowmem + vm->highmem) / TRACE_PAGE_SIZE;
	uint8_t *listed = calloc(npages / 8 + 1, 1);
	uint64_t *dirty = calloc(npages / 64 + 1, 8);
	/* A restart keeps the table installed (KVM takes it only once). */
	bool cpuid = first && !rp->restarted;
	struct cpuid_load *cl = cpuid ? calloc(1, sizeof(*cl)) : NULL;
	struct trace_event *ev = peek(rp);
	uint64_t begin_index;
	char why[512];
	int error = -1;

	if (cl != NULL)
		cl->vcpu = -1;
	begin_index = ev->index;
	*cindex = begin_index;
	rp->checkpoint_id = ev->u.ckpt_begin.id;
	ckpt_note(rp, rp->checkpoint_id, vm_vcpu(vm, 0)->exits);
	if (listed == NULL || dirty == NULL || (cpuid && cl == NULL)) {
		snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	if (ev->u.ckpt_begin.nvcpus != (uint32_t)vm_vcpu_count(vm)) {
		snprintf(errbuf, errlen,
			 "checkpoint at event %llu has %u vCPUs, the VM %d",
			 (unsigned long long)ev->index, ev->u.ckpt_begin.nvcpus,
			 vm_vcpu_count(vm));
		goto out;
	}
	consume(rp);
	while ((ev = peek(rp)) != NULL && ev->kind != TRACE_EV_CKPT_END) {
		struct vcpu *vcpu = vm_vcpu(vm, (int)ev->vcpu);
		uint8_t *host;

		switch (ev->kind) {
		case TRACE_EV_REGS:
			if (vcpu == NULL) {
				snprintf(errbuf, errlen,
					 "event %llu: registers of vCPU %u, "
					 "which the VM does not have",
					 (unsigned long long)ev->index,
					 ev->vcpu);
				goto out;
			}
			if (load) {
				for (uint32_t i = 0; i < ev->u.regs.count; i++)
					vm_restore_reg(vcpu,
						       &ev->u.regs.regs[i]);
			} else if (!regs_match(vcpu, ev->u.regs.regs,
					       ev->u.regs.count, why,
					       sizeof(why))) {
				snprintf(errbuf, errlen,
					 "checkpoint registers of vCPU %d "
					 "(event %llu): recorded %s",
					 vcpu->id,
					 (unsigned long long)ev->index, why);
				goto out;
			}
			break;
		case TRACE_EV_CKPT_PAGES:
			host = ram_pages(vm, ev->u.ckpt_pages.gpa,
					 ev->u.ckpt_pages.npages);
			if (host == NULL) {
				snprintf(
				    errbuf, errlen,
				    "event %llu: pages at 0x%llx outside "
				    "the VM's RAM",
				    (unsigned long long)ev->index,
				    (unsigned long long)ev->u.ckpt_pages.gpa);
				goto out;
			}
			for (uint32_t i = 0; i < ev->u.ckpt_pages.npages; i++) {
				uint64_t pg = ram_page_index(
				    vm, ev->u.ckpt_pages.gpa +
					    (uint64_t)i * TRACE_PAGE_SIZE);
				const uint8_t *want =
				    ev->u.ckpt_pages.data +
				    (size_t)i * TRACE_PAGE_SIZE;
				uint8_t *have =
				    host + (size_t)i * TRACE_PAGE_SIZE;

				listed[pg / 8] |= (uint8_t)(1u << (pg % 8));
				if (load) {
					memcpy(have, want, TRACE_PAGE_SIZE);
				} else if (memcmp(have, want,
						  TRACE_PAGE_SIZE) != 0) {
					snprintf(
					    errbuf, errlen,
					    "memory page 0x%llx differs "
					    "from the checkpoint's "
					    "(event %llu)",
					    (unsigned long long)(ev->u
								     .ckpt_pages
								     .gpa +
								 (uint64_t)i *
								     TRACE_PAGE_SIZE),
					    (unsigned long long)ev->index);
					goto out;
				}
			}
			break;
		case TRACE_EV_CPUID:
			if (cpuid &&
			    cpuid_load_add(vm, cl, ev, errbuf, errlen) != 0)
				goto out;
			break;
		case TRACE_EV_CKPT_DEVICE:
			if (checkpoint_device(vm, ev, load, errbuf, errlen) !=
			    0)
				goto out;
			break;
		default:
			/* What later formats add. */
			break;
		}
		consume(rp);
	}
	if (cpuid_load_flush(vm, cl, errbuf, errlen) != 0)
		goto out;
	if (ev == NULL) {
		snprintf(errbuf, errlen,
			 "the trace ends inside the checkpoint at event %llu",
			 (unsigned long long)begin_index);
		goto out;
	}
	consume(rp);
	if (!load && vm_dirty_pages(vm, dirty) != 0) {
		snprintf(errbuf, errlen, "cannot read the dirty-page log");
		goto out;
	}
	for (uint64_t pg = 0; mode != CKPT_APPLY && pg < npages; pg++) {
		uint64_t gpa = pg * TRACE_PAGE_SIZE;
		uint8_t *host;

		if (listed[pg / 8] & (1u << (pg % 8)))
			continue;
		if (gpa >= vm->lowmem)
			gpa = gpa - vm->lowmem + VM_HIGHMEM_BASE;
		if (!load) {
			if (!((dirty[pg / 64] >> (pg % 64)) & 1))
				continue;
			snprintf(errbuf, errlen,
				 "the replay wrote memory page 0x%llx, which "
				 "the recording did not (checkpoint at event "
				 "%llu)",
				 (unsigned long long)gpa,
				 (unsigned long long)begin_index);
			goto out;
		}
		host = vm_map_gpa(vm, gpa, TRACE_PAGE_SIZE);
		if (host != NULL && !page_zero(host))
			memset(host, 0, TRACE_PAGE_SIZE);
	}
	/* From the first checkpoint on, the replay logs what it writes. */
	if (first && vm_dirty_start(vm) != 0) {
		snprintf(errbuf, errlen, "the engine cannot log dirty pages");
		goto out;
	}
	rp->st.checkpoints++;
	error = 0;
out:
	free(cl);
	free(listed);
	free(dirty);
	return error;
}

static uint64_t
mem_hash(struct vm *vm)
{
	uint8_t *mem = vm_memseg_ptr(vm, VM_SYSMEM, NULL);

	return fnv1a(0xcbf29ce484222325ULL, mem, vm->lowmem + vm->highmem);
}

/* ---- start and finish ------------------------------------------------- */

/*
 * Start at checkpoint 'from' instead of the first: the later checkpoints
 * up to it, each the pages written since the one before, bring memory and
 * registers there; the exits of vCPU 0 on the way set its exit count.
 */
static int
replay_forward(struct vm *vm, uint64_t from, char *errbuf, size_t errlen)
{
	struct vm_replayer *rp = vm->replayer;
	struct vcpu *vcpu0 = vm_vcpu(vm, 0);
	struct trace_event *ev;
	uint64_t cindex;

	while (rp->checkpoint_id < from) {
		if ((ev = peek(rp)) == NULL) {
			snprintf(errbuf, errlen,
				 "the trace has no checkpoint %llu (its last "
				 "is %llu)",
				 (unsigned long long)from,
				 (unsigned long long)rp->checkpoint_id);
			return -1;
		}
		if (ev->kind == TRACE_EV_EXIT && ev->vcpu == 0)
			vcpu0->exits++;
		if (ev->kind != TRACE_EV_CKPT_BEGIN) {
			consume(rp);
			continue;
		}
		if (checkpoint(vm, CKPT_APPLY, &cindex, errbuf, errlen) != 0)
			return -1;
	}
	/* What ran before is not replayed: count from here. */
	rp->st.events = 0;
	return 0;
}

/* Load the first checkpoint, then go forward to checkpoint 'from'. */
static int
replay_begin(struct vm *vm, uint64_t from, char *errbuf, size_t errlen)
{
	struct vm_replayer *rp = vm->replayer;
	struct trace_event *ev = peek(rp);
	uint64_t cindex;

	if (ev == NULL || ev->kind != TRACE_EV_CKPT_BEGIN) {
		snprintf(errbuf, errlen,
			 "the trace does not start with a checkpoint "
			 "(found %s)",
			 ev == NULL ? "nothing" : trace_kind_name(ev->kind));
		return -1;
	}
	rp->first_ns = ev->time_ns;
	if (checkpoint(vm, CKPT_LOAD, &cindex, errbuf, errlen) != 0 ||
	    replay_forward(vm, from, errbuf, errlen) != 0)
		return -1;
	rp->unsynced = true;
	return 0;
}

int
vm_replay_start(struct vm *vm, struct trace_reader *r, uint64_t from,
		char *errbuf, size_t errlen)
{
	struct vm_replayer *rp;

	if (vm->replayer != NULL || vm->recorder != NULL) {
		snprintf(errbuf, errlen, "the VM is already %s",
			 vm->replayer != NULL ? "replaying" : "recording");
		return EBUSY;
	}
	rp = calloc(1, sizeof(*rp));
	if (rp == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return ENOMEM;
	}
	rp->r = r;
	vm->replayer = rp;
	if (replay_begin(vm, from, errbuf, errlen) != 0) {
		vm->replayer = NULL;
		free(rp->ckpts);
		free(rp);
		return EINVAL;
	}
	return 0;
}

/*
 * Back to an earlier point: the VM's state from the nearest checkpoint at
 * or before exit 'exits' (read again from 'r', a fresh reader of the same
 * trace: the first checkpoint and those after it up to there; EBUSY when
 * 'r' was not taken, otherwise the replayer reads it from now on), then
 * vm_run() replays forward and returns (VM_EXITCODE_BOGUS,
 * vm_replay_at_stop() true) once vCPU 0 is after exit 'exits'.  The
 * debugger's debug state stays.  From vCPU 0's thread, outside vm_run().
 */
int
vm_replay_restart(struct vm *vm, struct trace_reader *r, uint64_t exits,
		  char *errbuf, size_t errlen)
{
	struct vm_replayer *rp = vm->replayer, keep;
	struct vcpu *vcpu0 = vm_vcpu(vm, 0);
	struct vm_exit scratch;
	uint64_t from = 0, *dirty;

	if (rp == NULL || rp->diverged) {
		snprintf(errbuf, errlen, "%s",
			 rp == NULL ? "not replaying" : "the replay diverged");
		return EBUSY; /* 'r' not taken */
	}
	for (size_t i = 0; i < rp->nckpts; i++)
		if (rp->ckpts[i].exits <= exits)
			from = rp->ckpts[i].id;
	/* What KVM still holds of the last exit (an IN's data) goes first. */
	memset(&scratch, 0, sizeof(scratch));
	complete_io(vcpu0, &scratch);
	keep = *rp;
	memset(rp, 0, sizeof(*rp));
	rp->r = r;
	memcpy(rp->user, keep.user, sizeof(rp->user));
	rp->ckpts = keep.ckpts;
	rp->nckpts = keep.nckpts;
	rp->ckcap = keep.ckcap;
	rp->rf_broken = keep.rf_broken;
	rp->restarted = true;
	for (int i = 0; i < VM_MAXCPU; i++) {
		if (vm->vcpus[i] == NULL)
			continue;
		vm->vcpus[i]->exits = 0;
		vm->vcpus[i]->record_pending = false;
	}
	if (replay_begin(vm, from, errbuf, errlen) != 0) {
		rp->diverged = true;
		report_add(rp, "replay diverged: cannot restart: %s\n", errbuf);
		return EINVAL;
	}
	/* The pages written since the checkpoint were the other run's. */
	dirty =
	    calloc((vm->lowmem + vm->highmem) / TRACE_PAGE_SIZE / 64 + 1, 8);
	if (dirty != NULL)
		vm_dirty_pages(vm, dirty);
	free(dirty);
	rp->stop_set = true;
	rp->stop_exits = exits;
	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i] != NULL)
			debug_apply(vm->vcpus[i]);
	return 0;
}

bool
vm_replay_at_stop(struct vcpu *vcpu)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	bool hit = rp != NULL && rp->stop_hit;

	if (hit)
		rp->stop_hit = false;
	return hit;
}

void
vm_replay_set_stop(struct vcpu *vcpu, uint64_t exits)
{
	struct vm_replayer *rp = vcpu->vm->replayer;

	if (rp == NULL)
		return;
	rp->stop_set = true;
	rp->stop_exits = exits;
	rp->stop_hit = false;
}

size_t
vm_replay_checkpoints(const struct vm *vm, uint64_t *exits, size_t max)
{
	const struct vm_replayer *rp = vm->replayer;
	size_t n = 0;

	for (size_t i = 0; rp != NULL && i < rp->nckpts && n < max; i++)
		exits[n++] = rp->ckpts[i].exits;
	return n;
}

uint64_t
vm_replay_exits(const struct vcpu *vcpu)
{
	return vcpu->exits;
}

void
vm_replay_stop(struct vm *vm)
{
	if (vm->replayer == NULL)
		return;
	for (int i = 0; i < VM_MAXCPU; i++)
		if (vm->vcpus[i] != NULL)
			vm->engine->set_debug(
			    vm->vcpus[i]->cookie,
			    &(struct vm_guest_debug){ .enable = false });
	free(vm->replayer->ckpts);
	free(vm->replayer);
	vm->replayer = NULL;
}

bool
vm_replaying(const struct vm *vm)
{
	return vm->replayer != NULL;
}

const char *
vm_replay_report(const struct vm *vm)
{
	return vm->replayer != NULL ? vm->replayer->report : "";
}

void
vm_replay_stats(const struct vm *vm, struct vm_replay_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (vm->replayer != NULL)
		*st = vm->replayer->st;
}

/* The END event: the run is over; what rhyve exited with is recorded. */
static void
reach_end(struct vm_replayer *rp, const struct trace_event *ev)
{
	rp->ended = true;
	rp->end_status = ev->u.end.status;
	rp->st.recorded_ns = ev->time_ns - rp->first_ns;
}

int
vm_replay_finish(struct vm *vm, int status, int *recorded_status)
{
	struct vm_replayer *rp = vm->replayer;
	struct vcpu *vcpu0 = vm_vcpu(vm, 0);
	struct trace_event *ev;
	char buf[512], what[128];
	uint64_t cindex;

	if (rp == NULL)
		return -1;
	if (rp->diverged)
		return -1;
	while (!rp->ended && (ev = peek(rp)) != NULL) {
		if (ev->kind == TRACE_EV_CKPT_BEGIN) {
			if (checkpoint(vm, CKPT_VERIFY, &cindex, buf,
				       sizeof(buf)) != 0)
				return diverge(vcpu0, cindex,
					       "the state of the checkpoint",
					       buf);
			continue;
		}
		if (ev->kind == TRACE_EV_END) {
			reach_end(rp, ev);
			consume(rp);
			if (status != rp->end_status) {
				snprintf(buf, sizeof(buf), "exit status %d",
					 status);
				snprintf(what, sizeof(what), "exit status %d",
					 rp->end_status);
				return diverge(vcpu0, ev->index - 1, what, buf);
			}
			break;
		}
		if (ev->kind == TRACE_EV_MARKER) {
			consume(rp);
			continue;
		}
		snprintf(buf, sizeof(buf), "the run ended with status %d",
			 status);
		return diverge(vcpu0, ev->index,
			       event_text(ev, what, sizeof(what)), buf);
	}
	if (!rp->ended) {
		const struct trace_damage *d = trace_reader_damage(rp->r);

		snprintf(buf, sizeof(buf), "the trace ends without an END%s%s",
			 d != NULL ? ": " : " event (the recording was cut)",
			 d != NULL ? d->what : "");
		report_add(rp, "%s\n", buf);
		rp->diverged = true;
		return -1;
	}
	rp->st.mem_hash = mem_hash(vm);
	*recorded_status = rp->end_status;
	return 0;
}

/* ---- the hooks in vm_run() --------------------------------------------- */

/*
 * The engine's debug state: the debugger's (registers 0-2, its step) with
 * the replayer's (register 3 at the asynchronous exit's rip or at the
 * handler of an event being delivered, its own step).
 */
static int
debug_apply(struct vcpu *vcpu)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct vm_guest_debug dbg = rp->user[vcpu->id];
	uint64_t mine = 0;
	int error;

	if (!dbg.enable)
		memset(&dbg, 0, sizeof(dbg));
	if (rp->handler_armed)
		mine = rp->handler_lin;
	else if (rp->bp_armed && rp->target.has_icount)
		dbg.stop_icount = rp->target.icount; /* the engine stops */
	else if (rp->bp_armed)
		mine = rp->target.linear;
	if (rp->handler_armed || (rp->bp_armed && !rp->target.has_icount)) {
		dbg.dr[REPLAY_SLOT] = mine;
		dbg.dr7 &= ~(0xfULL << DR7_RW_SHIFT(REPLAY_SLOT));
		dbg.dr7 |= DR7_L(REPLAY_SLOT);
	}
	if (rp->handler_armed || rp->hlt_unstepped)
		dbg.singlestep = false; /* the breakpoint steps instead */
	else if (rp->stepping)
		dbg.singlestep = true;
	dbg.enable = dbg.singlestep || (dbg.dr7 & 0xff) != 0;
	error = vcpu->vm->engine->set_debug(vcpu->cookie, &dbg);
	if (error == 0)
		vcpu->debug_step = dbg.singlestep;
	return error;
}

static int
arm(struct vcpu *vcpu, bool bp, bool step)
{
	struct vm_replayer *rp = vcpu->vm->replayer;

	rp->bp_armed = bp;
	rp->stepping = step;
	rp->rf_pending = false;
	return debug_apply(vcpu);
}

/*
 * The engine's complete_io, with a single step of the debugger's held
 * off meanwhile: the KVM_RUN that finishes the last exit's instruction
 * would otherwise end with the step's debug exit instead.
 */
static int
complete_io(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct vm_guest_debug saved;
	bool stepping;
	int error;

	rp->io_pending = false;
	if (!vcpu->debug_step)
		return vcpu->vm->engine->complete_io(vcpu->cookie, vmexit);
	saved = rp->user[vcpu->id];
	stepping = rp->stepping;
	rp->user[vcpu->id].singlestep = false;
	rp->stepping = false;
	(void)debug_apply(vcpu);
	error = vcpu->vm->engine->complete_io(vcpu->cookie, vmexit);
	rp->user[vcpu->id] = saved;
	rp->stepping = stepping;
	(void)debug_apply(vcpu);
	return error;
}

/*
 * The debugger's vm_set_guest_debug() during a replay: registers 0-2 are
 * its own (EBUSY for register 3, the replayer's).
 */
int
vm_replay_set_debug(struct vcpu *vcpu, const struct vm_guest_debug *dbg)
{
	struct vm_replayer *rp = vcpu->vm->replayer;

	if (dbg->enable && (dbg->dr7 & (3ULL << (2 * REPLAY_SLOT))) != 0)
		return EBUSY;
	rp->user[vcpu->id] = *dbg;
	return debug_apply(vcpu);
}

/* The debugger single-steps this vCPU. */
static bool
user_stepping(const struct vm_replayer *rp, const struct vcpu *vcpu)
{
	return rp->user[vcpu->id].enable && rp->user[vcpu->id].singlestep;
}

/* Guest linear memory, for the handler lookup (no page crossing). */
static int
read_linear(struct vcpu *vcpu, uint64_t gla, void *buf, size_t len)
{
	uint64_t gpa;
	bool fault;
	void *host;

	if (vm_gla2gpa_nofault(vcpu, gla, X86_MEM_PEEK, &gpa, &fault) != 0 ||
	    fault || (gpa & 0xfff) + len > 4096 ||
	    (host = vm_map_gpa(vcpu->vm, gpa, len)) == NULL)
		return -1;
	memcpy(buf, host, len);
	return 0;
}

/*
 * Where the guest's handler of 'vector' starts (linear): real mode's
 * IVT, a 64-bit IDT gate, or a 32-bit one with its code segment's base
 * from the GDT.
 */
static int
handler_linear(struct vcpu *vcpu, int vector, uint64_t *lin)
{
	struct seg_desc idtr, gdtr;
	uint64_t cr0 = 0, efer = 0;
	uint8_t g[16], d[8];
	uint64_t off, base;

	if (vm_get_seg_desc(vcpu, VM_REG_GUEST_IDTR, &idtr) != 0 ||
	    vm_get_register(vcpu, VM_REG_GUEST_CR0, &cr0) != 0 ||
	    vm_get_register(vcpu, VM_REG_GUEST_EFER, &efer) != 0)
		return -1;
	if (!(cr0 & CR0_PE)) {
		if (read_linear(vcpu, idtr.base + 4 * (uint64_t)vector, g, 4))
			return -1;
		*lin = ((uint64_t)(g[2] | g[3] << 8) << 4) + (g[0] | g[1] << 8);
		return 0;
	}
	if (efer & EFER_LMA) {
		if (read_linear(vcpu, idtr.base + 16 * (uint64_t)vector, g, 16))
			return -1;
		*lin = (uint64_t)(g[0] | g[1] << 8) |
		       (uint64_t)(g[6] | g[7] << 8) << 16 |
		       (uint64_t)((uint32_t)g[8] | (uint32_t)g[9] << 8 |
				  (uint32_t)g[10] << 16 | (uint32_t)g[11] << 24)
			   << 32;
		return 0;
	}
	if (read_linear(vcpu, idtr.base + 8 * (uint64_t)vector, g, 8) ||
	    vm_get_seg_desc(vcpu, VM_REG_GUEST_GDTR, &gdtr) != 0 ||
	    read_linear(vcpu, gdtr.base + (uint64_t)((g[2] | g[3] << 8) & ~7),
			d, 8))
		return -1;
	off = (uint64_t)(g[0] | g[1] << 8) | (uint64_t)(g[6] | g[7] << 8) << 16;
	base = (uint64_t)(d[2] | d[3] << 8 | d[4] << 16) | (uint64_t)d[7] << 24;
	*lin = (uint32_t)(base + off);
	return 0;
}

/* Take the recorded asynchronous exit (EXIT, REGS) as the target. */
static int
take_target(struct vcpu *vcpu, struct trace_event *ev)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct replay_target *t = &rp->target;
	uint64_t index = ev->index;
	char what[128];

	t->index = index;
	t->rip = ev->u.exit.rip;
	consume(rp);
	ev = peek(rp);
	if (ev == NULL || ev->kind != TRACE_EV_REGS ||
	    ev->vcpu != (uint32_t)vcpu->id)
		return diverge(vcpu, index,
			       "an asynchronous exit without its registers",
			       event_text(ev, what, sizeof(what)));
	t->nregs = ev->u.regs.count < VM_STATE_MAX_REGS ? ev->u.regs.count
							: VM_STATE_MAX_REGS;
	memcpy(t->regs, ev->u.regs.regs, t->nregs * sizeof(t->regs[0]));
	consume(rp);
	t->linear = t->rip;
	t->has_icount = false;
	for (uint32_t i = 0; i < t->nregs; i++) {
		if (t->regs[i].id == TRACE_REG_SEG_BASE(VM_REG_GUEST_CS))
			t->linear = t->rip + t->regs[i].value;
		if (t->regs[i].id == VM_REG_ICOUNT) {
			t->has_icount = true;
			t->icount = t->regs[i].value;
		}
	}
	t->valid = true;
	rp->target_diff[0] = '\0';
	return 0;
}

static int
perform_inject(struct vcpu *vcpu, const struct trace_event *ev)
{
	const struct vmm_engine *eng = vcpu->vm->engine;
	char what[128], buf[128];
	int error;

	snprintf(what, sizeof(what),
		 "injection of %s vector %u after exit "
		 "%llu",
		 ev->u.inject.type == TRACE_INJECT_NMI ? "NMI" : "interrupt",
		 ev->u.inject.vector, (unsigned long long)ev->u.inject.point);
	if (ev->u.inject.point_kind != TRACE_POINT_EXIT ||
	    ev->u.inject.point != vcpu->exits) {
		snprintf(buf, sizeof(buf), "the vCPU is after exit %llu",
			 (unsigned long long)vcpu->exits);
		return diverge(vcpu, ev->index, what, buf);
	}
	switch (ev->u.inject.type) {
	case TRACE_INJECT_EXTINT:
		error = eng->inject_intr(vcpu->cookie, ev->u.inject.vector);
		break;
	case TRACE_INJECT_NMI:
		error = eng->inject_nmi(vcpu->cookie);
		break;
	case TRACE_INJECT_EXCEPTION:
		error = eng->inject_exception(vcpu->cookie, ev->u.inject.vector,
					      ev->u.inject.has_error_code,
					      ev->u.inject.error_code);
		break;
	default:
		snprintf(buf, sizeof(buf),
			 "injection type %u is not "
			 "replayed yet",
			 ev->u.inject.type);
		return diverge(vcpu, ev->index, what, buf);
	}
	if (error != 0) {
		snprintf(buf, sizeof(buf), "the vCPU cannot take it (%s)",
			 strerror(error));
		return diverge(vcpu, ev->index, what, buf);
	}
	vcpu->vm->replayer->inject_queued = true;
	vcpu->vm->replayer->inject_vector =
	    ev->u.inject.type == TRACE_INJECT_NMI ? 2 : ev->u.inject.vector;
	return 0;
}

static int
before_entry(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev;
	char what[128], buf[512];
	uint64_t cindex;

	while (!rp->target.valid) {
		ev = peek(rp);
		if (ev == NULL) {
			/* A cut recording: replayed as far as it goes. */
			rp->ended = true;
			rp->end_status = -1;
			vm_suspend(vcpu->vm, VM_SUSPEND_HALT);
			return 2;
		}
		if (ev->vcpu != (uint32_t)vcpu->id &&
		    ev->kind != TRACE_EV_MARKER && ev->kind != TRACE_EV_END)
			return diverge(vcpu, ev->index,
				       event_text(ev, what, sizeof(what)),
				       "replay of runs in which several "
				       "vCPUs ran is not supported yet");
		switch (ev->kind) {
		case TRACE_EV_INJECT:
			/*
			 * Right where the replay started: a KVM_RUN that
			 * enters nothing brings KVM's view of the loaded
			 * state up to date, as the recorder's checkpoint
			 * did before it injected.
			 */
			if (rp->unsynced && complete_io(vcpu, vmexit) != 0)
				return diverge(vcpu, ev->index, "an injection",
					       "the engine cannot take the "
					       "checkpoint's state");
			rp->unsynced = false;
			if (perform_inject(vcpu, ev) != 0)
				return -1;
			consume(rp);
			continue;
		case TRACE_EV_CKPT_BEGIN:
			cindex = ev->index;
			/* As the recorder: the last exit's access done. */
			if (complete_io(vcpu, vmexit) != 0 ||
			    checkpoint(vcpu->vm, CKPT_VERIFY, &cindex, buf,
				       sizeof(buf)) != 0)
				return diverge(vcpu, cindex,
					       "the state of the checkpoint",
					       buf);
			continue;
		case TRACE_EV_DMA:
			if (vm_dma_apply(vcpu->vm, ev->u.dma.gpa,
					 ev->u.dma.data, ev->u.dma.len) != 0)
				return diverge(vcpu, ev->index,
					       "a DMA write into RAM",
					       "the range is not RAM");
			consume(rp);
			continue;
		case TRACE_EV_MARKER:
		case TRACE_EV_INPUT:
			consume(rp);
			continue;
		case TRACE_EV_END:
			reach_end(rp, ev);
			consume(rp);
			vm_suspend(vcpu->vm, VM_SUSPEND_HALT);
			return 2;
		case TRACE_EV_EXIT:
			if (ev->u.exit.exitcode != VM_EXITCODE_BOGUS)
				return 0; /* the guest will make it */
			if (take_target(vcpu, ev) != 0)
				return -1;
			break;
		default:
			return diverge(vcpu, ev->index,
				       event_text(ev, what, sizeof(what)),
				       "the vCPU is about to enter the "
				       "guest");
		}
	}
	/*
	 * Already there: a kick that came before the guest ran at all.  The
	 * recording's KVM_RUN finished the last exit's instruction (an IN
	 * writes its register on the way back in) before it saw the kick,
	 * so finish it here too, then compare.
	 */
	if (!rp->bp_armed && !rp->stepping && complete_io(vcpu, vmexit) != 0)
		return diverge(vcpu, rp->target.index, "an asynchronous exit",
			       "the engine cannot complete the last exit");
	if (regs_match(vcpu, rp->target.regs, rp->target.nregs, NULL, 0)) {
		if (rp->bp_armed || rp->stepping)
			arm(vcpu, false, false);
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		vmexit->rip = rp->target.rip;
		return 1;
	}
	/*
	 * Then the breakpoint does the running.  (Not a single step: an
	 * interrupt injected on this entry would push RFLAGS with the
	 * step's TF, and the guest's IRET would take it back.)
	 */
	if (!rp->bp_armed && !rp->stepping && arm(vcpu, true, false) != 0)
		return diverge(vcpu, rp->target.index, "an asynchronous exit",
			       "the engine cannot set a breakpoint");
	return 0;
}

int
vm_replay_before_entry(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	uint64_t lin;
	int rc;

	/* A restart's point reached: the monitor's, before its injections. */
	if (rp->stop_set && vcpu->exits >= rp->stop_exits) {
		rp->stop_set = false;
		rp->stop_hit = true;
		if (complete_io(vcpu, vmexit) != 0)
			return diverge(vcpu, 0, "a point to stop at",
				       "the engine cannot complete the last "
				       "exit");
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		return 3;
	}
	/*
	 * A step of the debugger's made an exit: it ends right after that
	 * instruction, before the events that follow (as a CPU's trap comes
	 * first), whether or not KVM would trap there (after an OUT it has
	 * already finished it can run one more instruction).
	 */
	if (rp->io_pending && user_stepping(rp, vcpu)) {
		if (complete_io(vcpu, vmexit) != 0)
			return diverge(vcpu, 0, "a debugger's step",
				       "the engine cannot complete the last "
				       "exit");
		memset(vmexit, 0, sizeof(*vmexit));
		vmexit->exitcode = VM_EXITCODE_DEBUG;
		vmexit->u.debug.dr6 = DR6_BS;
		vm_get_register(vcpu, VM_REG_GUEST_RIP, &vmexit->rip);
		return 3;
	}
	rc = before_entry(vcpu, vmexit);
	if (rc != 0)
		return rc;
	/*
	 * The debugger steps into an event being delivered: a breakpoint on
	 * its handler's first instruction takes the step's place.
	 */
	if (!user_stepping(rp, vcpu) || rp->handler_armed)
		return 0;
	if (next_is_recorded_hlt(vcpu)) {
		rp->hlt_unstepped = true;
		return debug_apply(vcpu) == 0
			   ? 0
			   : diverge(vcpu, 0, "a debugger's step",
				     "the engine cannot stop single-stepping");
	}
	if (!rp->inject_queued || rp->io_pending ||
	    handler_linear(vcpu, rp->inject_vector, &lin) != 0) {
		/*
		 * The step's TF again: an IRET that returned from a handler
		 * entered under the stand-in popped RFLAGS without it.
		 */
		return debug_apply(vcpu) == 0
			   ? 0
			   : diverge(vcpu, 0, "a debugger's step",
				     "the engine cannot single-step");
	}
	rp->handler_armed = true;
	rp->handler_lin = lin;
	if (debug_apply(vcpu) != 0)
		return diverge(vcpu, 0, "a debugger's step",
			       "the engine cannot set a breakpoint");
	return 0;
}

/* A debug exit for the debugger: a breakpoint of its own, or its step. */
static bool
user_debug_exit(struct vm_replayer *rp, struct vcpu *vcpu, uint64_t dr6)
{
	const struct vm_guest_debug *u = &rp->user[vcpu->id];

	if (!u->enable)
		return false;
	for (int i = 0; i < REPLAY_SLOT; i++)
		if ((dr6 & DR6_B(i)) && (u->dr7 & DR7_L(i)))
			return true;
	return (dr6 & DR6_BS) && u->singlestep;
}

/* The next instruction is a HLT the recording exited on next. */
static bool
next_is_recorded_hlt(struct vcpu *vcpu)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev;
	struct seg_desc cs;
	uint64_t rip;
	uint8_t op;

	return !rp->inject_queued && !rp->target.valid &&
	       (ev = peek(rp)) != NULL && ev->kind == TRACE_EV_EXIT &&
	       ev->vcpu == (uint32_t)vcpu->id &&
	       ev->u.exit.exitcode == VM_EXITCODE_HLT &&
	       vm_get_register(vcpu, VM_REG_GUEST_RIP, &rip) == 0 &&
	       ev->u.exit.rip == rip + 1 &&
	       vm_get_seg_desc(vcpu, VM_REG_GUEST_CS, &cs) == 0 &&
	       read_linear(vcpu, cs.base + rip, &op, 1) == 0 && op == 0xf4;
}

/*
 * A single step over HLT: KVM finishes the instruction with the step's
 * debug exit and never reports the HLT exit the recording has (nor
 * halts).  When that exit is next, at this rip, the step becomes it, and
 * the replay goes on to the interrupt that woke the recording.
 */
static bool
stepped_over_hlt(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev;
	struct seg_desc cs;
	uint64_t rflags;
	uint8_t op;

	if (rp->target.valid || (ev = peek(rp)) == NULL ||
	    ev->kind != TRACE_EV_EXIT || ev->vcpu != (uint32_t)vcpu->id ||
	    ev->u.exit.exitcode != VM_EXITCODE_HLT ||
	    ev->u.exit.rip != vmexit->rip ||
	    vm_get_seg_desc(vcpu, VM_REG_GUEST_CS, &cs) != 0 ||
	    read_linear(vcpu, cs.base + vmexit->rip - 1, &op, 1) != 0 ||
	    op != 0xf4 ||
	    vm_get_register(vcpu, VM_REG_GUEST_RFLAGS, &rflags) != 0)
		return false;
	/*
	 * Past the HLT for KVM too: on PVM hosts the step's exit reports
	 * the next rip while the vCPU would take an interrupt at the HLT.
	 */
	if (vm_set_register(vcpu, VM_REG_GUEST_RIP, ev->u.exit.rip) != 0)
		return false;
	memset(vmexit, 0, sizeof(*vmexit));
	vmexit->exitcode = VM_EXITCODE_HLT;
	vmexit->rip = ev->u.exit.rip;
	vmexit->inst_length = ev->u.exit.inst_length;
	vmexit->u.hlt.rflags = rflags;
	return true;
}

int
vm_replay_filter(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	uint64_t dr6 = vmexit->u.debug.dr6;
	bool handler_hit;

	rp->unsynced = false;

	/*
	 * A kick: the monitor's (vm_vcpu_kick(), a debugger stopping the VM)
	 * returns to it, rhyve's own (devices) is not in the recording.
	 * Neither is an exit of the recording.
	 */
	if (vmexit->exitcode == VM_EXITCODE_BOGUS)
		return atomic_exchange(&vcpu->exit_request, false) ? 2 : 1;
	/* The guest ran: an event queued is delivered (not when a step
	 * ended with the last exit's instruction). */
	if (!rp->io_pending || vmexit->exitcode != VM_EXITCODE_DEBUG)
		rp->inject_queued = false;
	rp->io_pending = false;
	rp->hlt_unstepped = false;
	if (vmexit->exitcode != VM_EXITCODE_DEBUG)
		return 0;
	handler_hit = rp->handler_armed && (dr6 & DR6_B(REPLAY_SLOT));
	if (handler_hit) {
		/*
		 * The debugger's step into a handler: a step to it (B3 stays
		 * to say an event was delivered: the state is not the one
		 * right after the last exit even if the step made one).
		 */
		rp->handler_armed = false;
		dr6 |= DR6_BS;
		vmexit->u.debug.dr6 = dr6;
	}
	if (!handler_hit && user_stepping(rp, vcpu) && (dr6 & DR6_BS) &&
	    stepped_over_hlt(vcpu, vmexit))
		return 0; /* now the recorded HLT exit */
	if (handler_hit || user_debug_exit(rp, vcpu, dr6)) {
		/*
		 * The debugger's stop.  When it is at the asynchronous exit
		 * the replay runs towards, that exit is taken here.
		 */
		if (rp->target.valid && regs_match(vcpu, rp->target.regs,
						   rp->target.nregs, NULL, 0)) {
			rp->target.valid = false;
			rp->st.async++;
			rp->st.exits++;
			vcpu->exits++;
			rp->bp_armed = rp->stepping = false;
			vmexit->u.debug.dr6 &= ~DR6_B(REPLAY_SLOT);
		} else if (rp->stepping) {
			rp->stepping = false;
			rp->bp_armed = true;
		}
		rp->rf_pending = false;
		debug_apply(vcpu);
		return 2;
	}
	if (!rp->bp_armed && !rp->stepping)
		return 2; /* a stale one of the debugger's: the monitor drops it
			   */
	if (regs_match(vcpu, rp->target.regs, rp->target.nregs, NULL, 0)) {
		arm(vcpu, false, false);
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		return 0;
	}
	if (rp->target_diff[0] == '\0')
		regs_match(vcpu, rp->target.regs, rp->target.nregs,
			   rp->target_diff, sizeof(rp->target_diff));
	/* At the recorded instruction count, a difference is divergence. */
	if (rp->target.has_icount) {
		arm(vcpu, false, false);
		return 0;
	}
	if (rp->stepping) {
		/* Stepped over the breakpoint's instruction: put it back. */
		arm(vcpu, true, false);
		return 1;
	}
	/*
	 * The right rip at the wrong moment (a loop): go on past it with
	 * RFLAGS.RF, which suppresses the instruction breakpoint for one
	 * instruction.  A host that ignores RF stops at the same state
	 * again; then step over the instruction with the breakpoint off
	 * and put it back, at the cost of two more exits per hit.
	 */
	if (!rp->rf_broken) {
		uint64_t rflags, sig = regs_signature(vcpu);

		if (rp->rf_pending && sig == rp->rf_sig) {
			rp->rf_broken = true;
		} else if (vm_get_register(vcpu, VM_REG_GUEST_RFLAGS,
					   &rflags) == 0 &&
			   vm_set_register(vcpu, VM_REG_GUEST_RFLAGS,
					   rflags | RFLAGS_RF) == 0) {
			rp->rf_pending = true;
			rp->rf_sig = sig;
			return 1;
		}
	}
	arm(vcpu, false, true);
	return 1;
}

int
vm_replay_exit(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev;
	char what[768], buf[256];

	if (rp->target.valid) {
		if (vmexit->exitcode == VM_EXITCODE_BOGUS) {
			rp->target.valid = false;
			rp->st.async++;
			rp->st.exits++;
			vcpu->exits++;
			return 0;
		}
		snprintf(what, sizeof(what),
			 "an asynchronous exit at rip 0x%llx%s%s",
			 (unsigned long long)rp->target.rip,
			 rp->target_diff[0] != '\0'
			     ? "; when first there the replay differed: "
			     : "",
			 rp->target_diff);
		return diverge(
		    vcpu, rp->target.index, what,
		    exit_text(vmexit->exitcode, vmexit->rip, buf, sizeof(buf)));
	}
	ev = peek(rp);
	if (ev == NULL || ev->kind != TRACE_EV_EXIT ||
	    ev->vcpu != (uint32_t)vcpu->id ||
	    ev->u.exit.exitcode != (uint32_t)vmexit->exitcode ||
	    ev->u.exit.rip != vmexit->rip ||
	    ev->u.exit.inst_length != (uint8_t)vmexit->inst_length ||
	    (vmexit->exitcode == VM_EXITCODE_HLT &&
	     ev->u.exit.info[0] != vmexit->u.hlt.rflags)) {
		exit_text(vmexit->exitcode, vmexit->rip, buf, sizeof(buf));
		if (vmexit->has_insn) {
			size_t len = strlen(buf);

			snprintf(buf + len, sizeof(buf) - len, " (");
			len += 2;
			x86_format(&vmexit->insn, vmexit->rip, buf + len,
				   sizeof(buf) - len - 1);
			strcat(buf, ")");
		}
		return diverge(vcpu, ev != NULL ? ev->index : 0,
			       event_text(ev, what, sizeof(what)), buf);
	}
	consume(rp);
	if (vmexit->has_insn) {
		ev = peek(rp);
		if (ev == NULL || ev->kind != TRACE_EV_DECODE ||
		    ev->u.decode.len != (uint8_t)vmexit->inst_length ||
		    memcmp(ev->u.decode.bytes, vmexit->insn_bytes,
			   ev->u.decode.len) != 0)
			return diverge(vcpu, ev != NULL ? ev->index : 0,
				       event_text(ev, what, sizeof(what)),
				       "a different instruction");
		consume(rp);
	}
	rp->st.exits++;
	vcpu->exits++;
	rp->io_pending = vmexit->exitcode == VM_EXITCODE_INOUT ||
			 vmexit->exitcode == VM_EXITCODE_MMIO ||
			 vmexit->exitcode == VM_EXITCODE_RDMSR ||
			 vmexit->exitcode == VM_EXITCODE_WRMSR;
	return 0;
}

static const char *
pio_text(uint16_t port, uint8_t bytes, bool in, uint32_t count,
	 const uint8_t *data, char *buf, size_t len)
{
	uint64_t v = 0;

	memcpy(&v, data, bytes <= 8 ? bytes : 8);
	snprintf(buf, len, "port 0x%x %s of %u byte%s x %u, 0x%llx", port,
		 in ? "read" : "write", bytes, bytes == 1 ? "" : "s", count,
		 (unsigned long long)v);
	return buf;
}

static const char *
mmio_text(uint64_t gpa, uint8_t bytes, bool write, uint64_t value, char *buf,
	  size_t len)
{
	snprintf(buf, len, "MMIO %s of %u bytes at 0x%llx, 0x%llx",
		 write ? "write" : "read", bytes, (unsigned long long)gpa,
		 (unsigned long long)value);
	return buf;
}

/* The access the vCPU made, for a report. */
static const char *
access_text(const struct vm_exit *vmexit, char *buf, size_t len)
{
	const struct vm_inout *io = &vmexit->u.inout;
	const struct vm_mmio *mmio = &vmexit->u.mmio;

	if (vmexit->exitcode == VM_EXITCODE_INOUT)
		return pio_text(io->port, io->bytes, io->in, io->count,
				io->data, buf, len);
	return mmio_text(mmio->gpa, mmio->bytes, mmio->write, mmio->data, buf,
			 len);
}

static int
access_diverged(struct vcpu *vcpu, const struct trace_event *ev,
		const struct vm_exit *vmexit)
{
	char what[160], buf[160];

	if (ev == NULL ||
	    (ev->kind != TRACE_EV_PIO && ev->kind != TRACE_EV_MMIO))
		event_text(ev, what, sizeof(what));
	else if (ev->kind == TRACE_EV_PIO)
		pio_text(ev->u.pio.port, ev->u.pio.bytes, ev->u.pio.in,
			 ev->u.pio.count, ev->u.pio.data, what, sizeof(what));
	else
		mmio_text(ev->u.mmio.gpa, ev->u.mmio.bytes, ev->u.mmio.write,
			  ev->u.mmio.value, what, sizeof(what));
	return diverge(vcpu, ev != NULL ? ev->index : 0, what,
		       access_text(vmexit, buf, sizeof(buf)));
}

int
vm_replay_access(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev = peek(rp);

	if (vmexit->exitcode == VM_EXITCODE_INOUT) {
		struct vm_inout *io = &vmexit->u.inout;
		size_t n = (size_t)io->count * io->bytes;

		if (ev == NULL || ev->kind != TRACE_EV_PIO ||
		    ev->u.pio.port != io->port ||
		    ev->u.pio.bytes != io->bytes || ev->u.pio.in != io->in ||
		    ev->u.pio.count != io->count ||
		    (!io->in && memcmp(ev->u.pio.data, io->data, n) != 0))
			return access_diverged(vcpu, ev, vmexit);
		if (io->in)
			memcpy(io->data, ev->u.pio.data, n);
	} else if (vmexit->exitcode == VM_EXITCODE_MMIO) {
		struct vm_mmio *mmio = &vmexit->u.mmio;

		if (ev == NULL || ev->kind != TRACE_EV_MMIO ||
		    ev->u.mmio.gpa != mmio->gpa ||
		    ev->u.mmio.bytes != mmio->bytes ||
		    ev->u.mmio.write != mmio->write ||
		    (mmio->write && ev->u.mmio.value != mmio->data))
			return access_diverged(vcpu, ev, vmexit);
		if (!mmio->write)
			mmio->data = ev->u.mmio.value;
	} else {
		return 0;
	}
	consume(rp);
	return 0;
}

int
vm_replay_msr(struct vcpu *vcpu, bool write, uint32_t msr, uint64_t *value)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	struct trace_event *ev = peek(rp);
	char what[128], buf[128];

	snprintf(buf, sizeof(buf), "%s of MSR 0x%x, 0x%llx",
		 write ? "write" : "read", msr, (unsigned long long)*value);
	if (ev == NULL || ev->kind != TRACE_EV_MSR)
		return diverge(vcpu, ev != NULL ? ev->index : 0,
			       event_text(ev, what, sizeof(what)), buf);
	snprintf(what, sizeof(what), "%s of MSR 0x%x, 0x%llx",
		 ev->u.msr.write ? "write" : "read", ev->u.msr.msr,
		 (unsigned long long)ev->u.msr.value);
	if (ev->u.msr.write != write || ev->u.msr.msr != msr ||
	    (write && ev->u.msr.value != *value))
		return diverge(vcpu, ev->index, what, buf);
	if (!write)
		*value = ev->u.msr.value;
	consume(rp);
	return 0;
}
