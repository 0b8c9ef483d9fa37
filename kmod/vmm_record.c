/*
 * The recorder: kmod's one hook into the trace.  Everything that enters
 * the guest passes through vm_run() and vm_inject_pending(), so that is
 * where it is written: each exit with the instruction behind it, the value
 * every port or MMIO access gave the guest (once the monitor or a kmod
 * device has completed it), every interrupt injected with its exit index,
 * and the checkpoints.  Devices never write to the trace themselves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trace.h"
#include "vmm_impl.h"
#include "io/vio.h"

#define CKPT_PAGES_PER_EVENT 64 /* 256 KiB of guest memory per event */

struct vm_recorder {
	struct trace_writer *w;
	uint64_t ckpt_id;
	/* Periodic checkpoints: every so many exits or ns (0: never). */
	uint64_t every_exits, every_ns;
	uint64_t exits;               /* of all vCPUs */
	uint64_t last_exits, last_ns; /* at the last checkpoint */
};

static void
record(struct vm *vm, struct trace_event *ev)
{
	/* A failed writer has stopped; its error is reported at the end. */
	trace_write(vm->recorder->w, ev);
}

int
vm_record_start(struct vm *vm, struct trace_writer *w)
{
	if (vm->recorder != NULL)
		return EBUSY;
	vm->recorder = calloc(1, sizeof(*vm->recorder));
	if (vm->recorder == NULL)
		return ENOMEM;
	vm->recorder->w = w;
	return 0;
}

bool
vm_recording(const struct vm *vm)
{
	return vm->recorder != NULL;
}

void
vm_record_stop(struct vm *vm)
{
	free(vm->recorder);
	vm->recorder = NULL;
}

/*
 * An event's time: the VM clock.  Time 0 asks the trace writer to stamp
 * the event with its own clock (trace_writer.c), so a virtual clock that
 * has not started yet (interp, before the first instruction) is 1 ns.
 */
static uint64_t
record_clock(struct vm *vm)
{
	uint64_t t = vm_clock_ns(vm);

	return t != 0 ? t : 1;
}

void
vm_record_exit(struct vcpu *vcpu, const struct vm_exit *vmexit)
{
	struct trace_event ev = { .kind = TRACE_EV_EXIT, .vcpu = vcpu->id };
	/*
	 * A debugger's stop (a breakpoint or single step of the gdb stub)
	 * is not the guest's doing: like a kick, it is an asynchronous
	 * exit, recorded with the registers, which a replay finds again
	 * without the debugger (interrupts held back during a step are
	 * then injected at the same instruction).
	 */
	bool async = vmexit->exitcode == VM_EXITCODE_BOGUS ||
		     vmexit->exitcode == VM_EXITCODE_DEBUG;

	if (vcpu->vm->recorder == NULL)
		return;
	vcpu->record_time = record_clock(vcpu->vm);
	ev.time_ns = vcpu->record_time;
	ev.u.exit.exitcode = async ? VM_EXITCODE_BOGUS : vmexit->exitcode;
	ev.u.exit.rip = vmexit->rip;
	ev.u.exit.inst_length = (uint8_t)vmexit->inst_length;
	switch (vmexit->exitcode) {
	case VM_EXITCODE_HLT:
		ev.u.exit.info[0] = vmexit->u.hlt.rflags;
		break;
	case VM_EXITCODE_SUSPENDED:
		ev.u.exit.info[0] = vmexit->u.suspended.how;
		break;
	case VM_EXITCODE_RDMSR:
	case VM_EXITCODE_WRMSR:
		ev.u.exit.info[0] = vmexit->u.msr.msr;
		break;
	case VM_EXITCODE_ENGINE_ERROR:
		ev.u.exit.info[0] = vmexit->u.error.reason;
		ev.u.exit.info[1] = vmexit->u.error.suberror;
		ev.u.exit.msg = vmexit->u.error.msg;
		break;
	default:
		break;
	}
	record(vcpu->vm, &ev);
	vcpu->exits++;
	vcpu->vm->recorder->exits++;
	if (async) {
		/*
		 * A kick stopped the guest at a point of the host's choosing:
		 * the full register state is what lets replay find it again.
		 */
		struct trace_reg regs[VM_STATE_MAX_REGS];

		ev = (struct trace_event){ .kind = TRACE_EV_REGS,
					   .vcpu = vcpu->id,
					   .time_ns = vcpu->record_time };
		ev.u.regs.count = vm_collect_regs(vcpu, regs);
		ev.u.regs.regs = regs;
		record(vcpu->vm, &ev);
	}
	if (vmexit->has_insn) {
		ev = (struct trace_event){ .kind = TRACE_EV_DECODE,
					   .vcpu = vcpu->id,
					   .time_ns = vcpu->record_time };
		ev.u.decode.len = (uint8_t)vmexit->inst_length;
		memcpy(ev.u.decode.bytes, vmexit->insn_bytes, ev.u.decode.len);
		record(vcpu->vm, &ev);
	}
}

void
vm_record_access(struct vcpu *vcpu, const struct vm_exit *vmexit)
{
	struct trace_event ev = { .vcpu = vcpu->id,
				  .time_ns = vcpu->record_time };

	if (vcpu->vm->recorder == NULL)
		return;
	if (vmexit->exitcode == VM_EXITCODE_INOUT) {
		const struct vm_inout *io = &vmexit->u.inout;

		ev.kind = TRACE_EV_PIO;
		ev.u.pio.port = io->port;
		ev.u.pio.bytes = io->bytes;
		ev.u.pio.in = io->in;
		ev.u.pio.string = io->string;
		ev.u.pio.rep = io->rep;
		ev.u.pio.count = io->count;
		ev.u.pio.data = io->data;
	} else if (vmexit->exitcode == VM_EXITCODE_MMIO) {
		ev.kind = TRACE_EV_MMIO;
		ev.u.mmio.gpa = vmexit->u.mmio.gpa;
		ev.u.mmio.bytes = vmexit->u.mmio.bytes;
		ev.u.mmio.write = vmexit->u.mmio.write;
		ev.u.mmio.value = vmexit->u.mmio.data;
	} else {
		return;
	}
	record(vcpu->vm, &ev);
}

void
vm_record_inject(struct vcpu *vcpu, int type, int vector, bool has_ec,
		 uint32_t ec)
{
	struct trace_event ev = { .kind = TRACE_EV_INJECT, .vcpu = vcpu->id };

	if (vcpu->vm->recorder == NULL)
		return;
	ev.time_ns = record_clock(vcpu->vm);
	ev.u.inject.type = (uint8_t)type;
	ev.u.inject.vector = (uint8_t)vector;
	ev.u.inject.has_error_code = has_ec;
	ev.u.inject.error_code = ec;
	/* Before the entry that follows exit number 'exits'. */
	ev.u.inject.point_kind = TRACE_POINT_EXIT;
	ev.u.inject.point = vcpu->exits;
	record(vcpu->vm, &ev);
}

void
vm_record_msr(struct vcpu *vcpu, bool write, uint32_t msr, uint64_t value)
{
	struct trace_event ev = { .kind = TRACE_EV_MSR,
				  .vcpu = vcpu->id,
				  .time_ns = vcpu->record_time };

	if (vcpu->vm->recorder == NULL)
		return;
	ev.u.msr.write = write;
	ev.u.msr.msr = msr;
	ev.u.msr.value = value;
	record(vcpu->vm, &ev);
}

void
vm_record_random(struct vcpu *vcpu, const struct vm_exit *vmexit)
{
	struct trace_event ev = { .kind = TRACE_EV_RANDOM,
				  .vcpu = vcpu->id,
				  .time_ns = vcpu->record_time };

	if (vcpu->vm->recorder == NULL)
		return;
	ev.u.random.rdseed = vmexit->u.random.rdseed;
	ev.u.random.bytes = vmexit->u.random.bytes;
	ev.u.random.value = vmexit->u.random.value;
	record(vcpu->vm, &ev);
}

void
vm_record_sched(struct vcpu *to, int from, uint64_t icount)
{
	struct trace_event ev = { .kind = TRACE_EV_SCHED, .vcpu = to->id };

	if (to->vm->recorder == NULL)
		return;
	ev.time_ns = record_clock(to->vm);
	ev.u.sched.from = (uint32_t)from;
	ev.u.sched.icount = icount;
	record(to->vm, &ev);
}

void
vm_record_dma(struct vcpu *vcpu, uint64_t gpa, const uint8_t *data, size_t len)
{
	struct trace_event ev = { .kind = TRACE_EV_DMA, .vcpu = vcpu->id };
	size_t chunk;

	if (vcpu->vm->recorder == NULL)
		return;
	ev.time_ns = record_clock(vcpu->vm);
	/* The format bounds an event: large writes go as several. */
	for (size_t off = 0; off < len; off += chunk) {
		chunk = len - off < (1u << 20) ? len - off : (1u << 20);
		ev.u.dma.gpa = gpa + off;
		ev.u.dma.len = (uint32_t)chunk;
		ev.u.dma.data = data + off;
		record(vcpu->vm, &ev);
	}
}

void
vm_record_input(struct vm *vm, uint32_t source, const uint8_t *data, size_t len)
{
	struct trace_event ev = { .kind = TRACE_EV_INPUT };

	if (vm->recorder == NULL || len == 0)
		return;
	ev.time_ns = record_clock(vm);
	ev.u.input.source = source;
	ev.u.input.len = (uint32_t)len;
	ev.u.input.data = data;
	record(vm, &ev);
}

void
vm_record_marker(struct vm *vm, const char *text)
{
	struct trace_event ev = { .kind = TRACE_EV_MARKER };

	if (vm->recorder == NULL)
		return;
	ev.time_ns = record_clock(vm);
	ev.u.marker.text = text;
	record(vm, &ev);
}

/*
 * The end: a last checkpoint (the state replay must end in), then END.
 * The vCPUs have stopped.
 */
void
vm_record_end(struct vm *vm, int status)
{
	struct trace_event ev = { .kind = TRACE_EV_END };

	if (vm->recorder == NULL)
		return;
	vm_record_checkpoint(vm);
	ev.time_ns = record_clock(vm);
	ev.u.end.status = status;
	record(vm, &ev);
}

/* ---- checkpoints ---------------------------------------------------- */

static const int ckpt_scalar_regs[] = {
	VM_REG_GUEST_RAX,         VM_REG_GUEST_RBX, VM_REG_GUEST_RCX,
	VM_REG_GUEST_RDX,         VM_REG_GUEST_RSI, VM_REG_GUEST_RDI,
	VM_REG_GUEST_RBP,         VM_REG_GUEST_R8,  VM_REG_GUEST_R9,
	VM_REG_GUEST_R10,         VM_REG_GUEST_R11, VM_REG_GUEST_R12,
	VM_REG_GUEST_R13,         VM_REG_GUEST_R14, VM_REG_GUEST_R15,
	VM_REG_GUEST_RSP,         VM_REG_GUEST_RIP, VM_REG_GUEST_RFLAGS,
	VM_REG_GUEST_CR0,         VM_REG_GUEST_CR2, VM_REG_GUEST_CR3,
	VM_REG_GUEST_CR4,         VM_REG_GUEST_CR8, VM_REG_GUEST_EFER,
	VM_REG_GUEST_DR0,         VM_REG_GUEST_DR1, VM_REG_GUEST_DR2,
	VM_REG_GUEST_DR3,         VM_REG_GUEST_DR6, VM_REG_GUEST_DR7,
	VM_REG_GUEST_INTR_SHADOW, VM_REG_ICOUNT,    VM_REG_GUEST_XCR0,
};

static const uint32_t ckpt_msrs[] = {
	MSR_STAR,           MSR_LSTAR,       MSR_CSTAR,
	MSR_SFMASK,         MSR_FS_BASE,     MSR_GS_BASE,
	MSR_KERNEL_GS_BASE, MSR_SYSENTER_CS, MSR_SYSENTER_ESP,
	MSR_SYSENTER_EIP,   MSR_PAT,         MSR_TSC,
};

uint32_t
vm_collect_regs(struct vcpu *vcpu, struct trace_reg *regs)
{
	uint32_t n = 0;
	uint64_t v;

	for (size_t i = 0; i < sizeof(ckpt_scalar_regs) / sizeof(int); i++)
		if (vm_get_register(vcpu, ckpt_scalar_regs[i], &v) == 0)
			regs[n++] =
			    (struct trace_reg){ ckpt_scalar_regs[i], v };
	for (int r = VM_REG_GUEST_ES; r <= VM_REG_GUEST_GDTR; r++) {
		struct seg_desc d;

		if (r != VM_REG_GUEST_IDTR && r != VM_REG_GUEST_GDTR &&
		    vm_get_register(vcpu, r, &v) == 0)
			regs[n++] = (struct trace_reg){ (uint64_t)r, v };
		if (vm_get_seg_desc(vcpu, r, &d) != 0)
			continue;
		regs[n++] = (struct trace_reg){ TRACE_REG_SEG_BASE(r), d.base };
		regs[n++] =
		    (struct trace_reg){ TRACE_REG_SEG_LIMIT(r), d.limit };
		regs[n++] =
		    (struct trace_reg){ TRACE_REG_SEG_ACCESS(r), d.access };
	}
	for (size_t i = 0; i < sizeof(ckpt_msrs) / sizeof(ckpt_msrs[0]); i++)
		if (vm_get_msr(vcpu, ckpt_msrs[i], &v) == 0)
			regs[n++] =
			    (struct trace_reg){ TRACE_REG_MSR(ckpt_msrs[i]),
						v };
	return n;
}

int
vm_restore_reg(struct vcpu *vcpu, const struct trace_reg *reg)
{
	uint64_t id = reg->id;
	struct seg_desc d;
	int r, error;

	if (id & TRACE_REG_MSR(0))
		return vm_set_msr(vcpu, (uint32_t)id, reg->value);
	if (id < 0x100)
		return vm_set_register(vcpu, (int)id, reg->value);
	r = (int)((id - 0x100) / 4);
	if ((error = vm_get_seg_desc(vcpu, r, &d)) != 0)
		return error;
	switch ((id - 0x100) % 4) {
	case 0:
		d.base = reg->value;
		break;
	case 1:
		d.limit = (uint32_t)reg->value;
		break;
	case 2:
		d.access = (uint32_t)reg->value;
		break;
	default:
		return EINVAL;
	}
	return vm_set_seg_desc(vcpu, r, &d);
}

static bool
page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < TRACE_PAGE_SIZE / 8; i++)
		if (q[i] != 0)
			return false;
	return true;
}

/*
 * Guest pages [gpa, gpa+len), in runs: with 'dirty' the pages whose bit
 * is set there (bit 'first' is this range's first page), else the pages
 * that are not all zero (pages the host never backed, by mincore, are
 * zero without being read).
 */
static void
record_pages(struct vm *vm, uint64_t gpa, uint8_t *host, size_t len,
	     const uint64_t *dirty, uint64_t first)
{
	size_t npages = len / TRACE_PAGE_SIZE;
	unsigned char *resident = dirty == NULL ? malloc(npages) : NULL;
	struct trace_event ev = { .kind = TRACE_EV_CKPT_PAGES };
	size_t run = 0, start = 0;

	if (resident != NULL && mincore(host, len, resident) != 0) {
		free(resident);
		resident = NULL;
	}
	for (size_t i = 0; i <= npages; i++) {
		uint64_t pg = first + i;
		bool data;

		if (i == npages)
			data = false;
		else if (dirty != NULL)
			data = (dirty[pg / 64] >> (pg % 64)) & 1;
		else
			data = (resident == NULL || (resident[i] & 1)) &&
			       !page_is_zero(host + i * TRACE_PAGE_SIZE);
		if (data && run == 0)
			start = i;
		if (data)
			run++;
		if (run > 0 && (!data || run == CKPT_PAGES_PER_EVENT)) {
			ev.time_ns = record_clock(vm);
			ev.u.ckpt_pages.gpa = gpa + start * TRACE_PAGE_SIZE;
			ev.u.ckpt_pages.npages = (uint32_t)run;
			ev.u.ckpt_pages.data = host + start * TRACE_PAGE_SIZE;
			record(vm, &ev);
			run = 0;
		}
	}
	free(resident);
}

static void
record_cpuid(struct vcpu *vcpu)
{
	const struct vm_cpuid_entry *t;
	int n = vm_get_cpuid_table(vcpu, &t);

	for (int i = 0; i < n; i++) {
		struct trace_event ev = { .kind = TRACE_EV_CPUID,
					  .vcpu = (uint32_t)vcpu->id,
					  .time_ns = record_clock(vcpu->vm) };

		ev.u.cpuid.leaf = t[i].leaf;
		ev.u.cpuid.subleaf = t[i].subleaf;
		ev.u.cpuid.eax = t[i].eax;
		ev.u.cpuid.ebx = t[i].ebx;
		ev.u.cpuid.ecx = t[i].ecx;
		ev.u.cpuid.edx = t[i].edx;
		record(vcpu->vm, &ev);
	}
}

/* A device's state, a CKPT_DEVICE: the local APIC (io/vlapic_state.c),
 * the x87/SSE registers (vmm_fpu_state.c), the vCPU's run state and the
 * scheduler's (vmm_run_state.c). */
static void
record_device(struct vcpu *vcpu, const char *name,
	      size_t (*get)(struct vcpu *, uint8_t *))
{
	uint8_t state[VLAPIC_STATE_SIZE > VM_FPU_STATE_SIZE
			  ? VLAPIC_STATE_SIZE
			  : VM_FPU_STATE_SIZE];

	_Static_assert(VM_VCPU_STATE_SIZE <= sizeof(state) &&
			   VM_SCHED_STATE_SIZE <= sizeof(state),
		       "checkpoint device state buffer");
	struct trace_event ev = { .kind = TRACE_EV_CKPT_DEVICE,
				  .vcpu = (uint32_t)vcpu->id,
				  .time_ns = record_clock(vcpu->vm) };

	ev.u.ckpt_device.len = (uint32_t)get(vcpu, state);
	if (ev.u.ckpt_device.len == 0)
		return;
	ev.u.ckpt_device.name = name;
	ev.u.ckpt_device.data = state;
	record(vcpu->vm, &ev);
}

int
vm_record_checkpoint(struct vm *vm)
{
	struct vm_recorder *rec = vm->recorder;
	struct trace_reg regs[VM_STATE_MAX_REGS];
	struct trace_event ev = { .kind = TRACE_EV_CKPT_BEGIN };
	uint64_t *dirty = NULL;
	uint8_t *mem;
	int error;

	if (rec == NULL)
		return EINVAL;
	/*
	 * The first checkpoint holds the whole memory, sparse; the later
	 * ones the pages written since the one before (KVM's dirty log,
	 * which goes on with the first).  The vCPUs are stopped.
	 */
	if (rec->ckpt_id == 0) {
		if ((error = vm_dirty_start(vm)) != 0)
			return error;
	} else {
		dirty = calloc((vm_ram_pages(vm) + 63) / 64, 8);
		if (dirty == NULL)
			return ENOMEM;
		if ((error = vm_dirty_pages(vm, dirty)) != 0) {
			free(dirty);
			return error;
		}
	}
	ev.time_ns = record_clock(vm);
	ev.u.ckpt_begin.id = rec->ckpt_id;
	ev.u.ckpt_begin.nvcpus = (uint32_t)vm_vcpu_count(vm);
	record(vm, &ev);
	for (int i = 0; i < VM_MAXCPU; i++) {
		if (vm->vcpus[i] == NULL)
			continue;
		ev = (struct trace_event){ .kind = TRACE_EV_REGS,
					   .vcpu = i,
					   .time_ns = record_clock(vm) };
		ev.u.regs.count = vm_collect_regs(vm->vcpus[i], regs);
		ev.u.regs.regs = regs;
		record(vm, &ev);
		/*
		 * The CPUID table the vCPU runs with, in the first one:
		 * a replay installs the same (vm_set_cpuid_table()).
		 */
		if (rec->ckpt_id == 0)
			record_cpuid(vm->vcpus[i]);
		record_device(vm->vcpus[i], VLAPIC_STATE_NAME,
			      vlapic_get_state);
		record_device(vm->vcpus[i], VM_FPU_STATE_NAME,
			      vm_fpu_get_state);
		record_device(vm->vcpus[i], VM_VCPU_STATE_NAME,
			      vm_vcpu_get_state);
	}
	/* Whose turn it is, on that vCPU (vCPU 0's when nobody's). */
	if (vm->sched != NULL) {
		struct vm_sched_state st;

		vm_sched_get_state(vm, &st);
		record_device(vm->vcpus[st.owner >= 0 ? st.owner : 0],
			      VM_SCHED_STATE_NAME, vm_sched_get_blob);
	}
	mem = vm_memseg_ptr(vm, VM_SYSMEM, NULL);
	record_pages(vm, 0, mem, vm->lowmem, dirty, 0);
	if (vm->highmem > 0)
		record_pages(vm, VM_HIGHMEM_BASE, mem + vm->lowmem, vm->highmem,
			     dirty, vm->lowmem / TRACE_PAGE_SIZE);
	free(dirty);
	ev = (struct trace_event){ .kind = TRACE_EV_CKPT_END,
				   .time_ns = record_clock(vm) };
	ev.u.ckpt_end.id = rec->ckpt_id++;
	record(vm, &ev);
	return 0;
}

int
vm_record_set_checkpoints(struct vm *vm, uint64_t every_exits,
			  uint64_t every_ns)
{
	if (vm->recorder == NULL)
		return EINVAL;
	/*
	 * A checkpoint needs every vCPU stopped between two instructions.
	 * With one vCPU at a time (vmm_sched.c) the others wait for their
	 * turn, so the one that has it takes it; vCPUs that run at once
	 * (kvm) would all have to be stopped, which the recorder does not
	 * do: none between the first and the last.
	 */
	if (vm_vcpu_count(vm) != 1 && vm->sched == NULL &&
	    (every_exits != 0 || every_ns != 0))
		return ENOTSUP;
	vm->recorder->every_exits = every_exits;
	vm->recorder->every_ns = every_ns;
	vm->recorder->last_ns = vm_clock_ns(vm);
	return 0;
}

/*
 * Several vCPUs, one at a time: a checkpoint is a state a replay can
 * start from only where this vCPU's turn goes on (a change of turn right
 * after it would come before the replay, which starts with this vCPU's
 * turn, could make it: the next one is taken), it does not go to sleep
 * now (wait-for-SIPI, HLT with interrupts off), no other vCPU has an
 * event waiting in the engine for its entry, and no other vCPU's last
 * instruction waits to be completed (its access's value is in its
 * thread's exit, which a checkpoint cannot hold; only a vCPU the monitor
 * held with one pending has that).
 */
static bool
smp_point_ok(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	uint64_t icount = 0;
	bool sleeps;

	vm->engine->getreg(vcpu->cookie, VM_REG_ICOUNT, &icount);
	if (icount >= vcpu->sched_end)
		return false;
	pthread_mutex_lock(&vcpu->mtx);
	sleeps = vcpu->parked || vcpu->init_pending || vcpu->hlt_intr_off;
	pthread_mutex_unlock(&vcpu->mtx);
	if (sleeps)
		return false;
	for (int i = 0; i < VM_MAXCPU; i++) {
		struct vcpu *o = vm->vcpus[i];

		if (o == NULL || o == vcpu)
			continue;
		if (o->insn_pending || (vm->engine->event_queued != NULL &&
					vm->engine->event_queued(o->cookie)))
			return false;
	}
	return true;
}

/*
 * Between two exits of the vCPU that runs: a checkpoint when one is due.
 * On every exit, so it reads no clock: the time of the last exit recorded
 * will do.
 */
void
vm_record_maybe_checkpoint(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_recorder *rec = vcpu->vm->recorder;
	const struct vmm_engine *eng = vcpu->vm->engine;

	if (rec == NULL ||
	    !((rec->every_exits != 0 &&
	       rec->exits - rec->last_exits >= rec->every_exits) ||
	      (rec->every_ns != 0 &&
	       vcpu->record_time >= rec->last_ns + rec->every_ns)))
		return;
	/*
	 * Not while an injected interrupt waits in the engine for its
	 * entry (the run ended first): a replay starting here would never
	 * deliver it.  The next exit will do.
	 */
	if (eng->event_queued != NULL && eng->event_queued(vcpu->cookie))
		return;
	/* Due, but not here: at a later exit. */
	if (vcpu->vm->sched != NULL && vm_vcpu_count(vcpu->vm) > 1 &&
	    !smp_point_ok(vcpu))
		return;
	rec->last_exits = rec->exits;
	rec->last_ns = vcpu->record_time;
	/* A state to restore: not half-way through an IN. */
	if (eng->complete_io(vcpu->cookie, vmexit) == 0) {
		vcpu->insn_pending = false;
		vm_record_checkpoint(vcpu->vm);
	}
}
