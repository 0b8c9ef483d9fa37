/*
 * The live VM as a gdb target (gdb/gdb.h's struct gdb_target), and the
 * all-stop protocol of the vCPU threads that goes with it.
 *
 * Stopping: whoever stops the VM (a vCPU at a breakpoint or after a
 * step, a Ctrl-C from the debugger, a new connection) sets 'stopped',
 * notes the first reason and kicks every vCPU.  Each vCPU thread parks
 * in gdb_vcpu_before_run() outside vm_run(); the last one to park sends
 * the stop reply.  While all are parked their registers and memory are
 * the debugger's: the server thread reads and writes them directly (no
 * vCPU is inside vm_run(), and the mutex orders the accesses).
 *
 * Resuming: each vCPU gets an action (continue, step, or stay parked);
 * one that leaves the park loads the debug state (breakpoint slots,
 * single-step) into its engine itself, then runs.
 *
 * Breakpoints: on kvm every kind uses the debug registers (KVM's
 * KVM_SET_GUEST_DEBUG), 4 slots shared by all vCPUs.  Z0 software
 * breakpoints take a slot too: on PVM hosts such as ours an INT3 in
 * guest kernel mode ends KVM_RUN with an internal error instead of a #BP
 * exit, so an int3 written into guest code cannot be relied on.
 *
 * On a replay (--replay with -G) the replayer keeps debug register 3 for
 * itself (kmod/vmm_replay_debug.c): 3 slots are the debugger's.  The recording
 * decides what the guest does, so the debugger's writes to registers and
 * memory are refused.  Reverse execution (bs, bc) is gdb_reverse.c's, run
 * by vCPU 0's thread when it leaves the park with gt.reverse set.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gdb.h"
#include "rhyve.h"

#define GDB_NSLOTS 4

struct gdb_slot {
	bool used;
	enum gdb_bp_type type;
	uint64_t addr;
	int len;        /* 1, 2, 4, 8 */
	uint8_t old[8]; /* write watchpoints: the bytes at the last stop */
	bool old_valid;
};

static struct gdb_target_softc {
	struct vm *vm;
	int ncpu;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	atomic_bool stopped; /* vCPUs park (read unlocked on the fast path) */
	int parked;          /* vCPU threads in the park loop */
	int alive;           /* vCPU threads not yet finished */
	bool have_event;     /* 'event' is why the VM stops */
	bool reported;       /* ... and the debugger has been told */
	struct gdb_stop event;
	enum gdb_resume_action action[VM_MAXCPU];
	struct gdb_slot slot[GDB_NSLOTS];
	int nslots; /* the debugger's: 4, or 3 on a replay */
	bool replay;
	/* bs/bc asked for (vCPU 0's thread does it), and where the VM is. */
	enum { REV_NONE, REV_STEP, REV_CONT } reverse;
	struct gdb_replay_pos pos;
	bool watch_step; /* write watchpoints also by stepping (gdb.watch_step)
			  */
	struct gdb_session *session;
	void (*report)(struct gdb_session *s, const struct gdb_stop *stop);
} gt = {
	.mtx = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

static atomic_bool gdb_target_on;

static size_t access_mem(int thread, bool phys, uint64_t addr, uint8_t *rbuf,
			 const uint8_t *wbuf, size_t len);

/* ---- the stop protocol ------------------------------------------------ */

/*
 * Write watchpoints by stepping.  KVM's instruction emulator checks code
 * breakpoints but not data breakpoints, and PVM hosts (ours) run all
 * guest kernel code in it: a Z2 in the debug registers would never fire
 * there.  So while a write watchpoint is set the vCPUs also single-step
 * and compare the watched bytes after every instruction (slow: an exit
 * per instruction, and no interrupts are injected meanwhile).  Engines
 * that check data breakpoints on every access (interp,
 * vm_data_breakpoints()) need none of this going forward.
 */
static bool
have_write_watch(void)
{
	if (!gt.watch_step)
		return false;
	for (int i = 0; i < GDB_NSLOTS; i++)
		if (gt.slot[i].used && gt.slot[i].type == GDB_WP_WRITE)
			return true;
	return false;
}

static bool
watch_stepping(void)
{
	return have_write_watch() && !vm_data_breakpoints(gt.vm);
}

/* Reverse execution compares the watched bytes on every engine. */
bool
gdb_target_watch_stepping(void)
{
	return have_write_watch();
}

/* Take the watched bytes as they are now (through 'thread's tables). */
static void
watch_snapshot(int thread)
{
	for (int i = 0; i < GDB_NSLOTS; i++) {
		struct gdb_slot *sl = &gt.slot[i];

		if (sl->used && sl->type == GDB_WP_WRITE)
			sl->old_valid =
			    access_mem(thread, false, sl->addr, sl->old, NULL,
				       (size_t)sl->len) == (size_t)sl->len;
	}
}

/* The first write watchpoint whose bytes changed, or -1. */
static int
watch_changed(int thread)
{
	uint8_t now[8];

	for (int i = 0; i < GDB_NSLOTS; i++) {
		struct gdb_slot *sl = &gt.slot[i];

		if (!sl->used || sl->type != GDB_WP_WRITE || !sl->old_valid)
			continue;
		if (access_mem(thread, false, sl->addr, now, NULL,
			       (size_t)sl->len) == (size_t)sl->len &&
		    memcmp(now, sl->old, (size_t)sl->len) != 0)
			return i;
	}
	return -1;
}

/* With gt.mtx held: every live vCPU is parked and a stop is owed. */
static void
maybe_report(void)
{
	if (!atomic_load(&gt.stopped) || !gt.have_event || gt.reported ||
	    gt.parked < gt.alive)
		return;
	gt.reported = true;
	pthread_cond_broadcast(&gt.cv); /* a connection waiting for the stop */
	if (gt.session != NULL)
		gdb_stopped(gt.session, &gt.event);
}

/* With gt.mtx held: stop every vCPU for 'why' (first reason wins). */
static void
stop_all(const struct gdb_stop *why)
{
	if (!gt.have_event || !atomic_load(&gt.stopped)) {
		gt.event = *why;
		gt.have_event = true;
		gt.reported = false;
	}
	atomic_store(&gt.stopped, true);
	for (int i = 0; i < gt.ncpu; i++) {
		struct vcpu *vcpu = vm_vcpu(gt.vm, i);

		if (vcpu != NULL)
			vm_vcpu_kick(vcpu);
	}
	maybe_report();
}

/* The engine's debug state for one vCPU: the slots, and its step. */
static void
load_debug(struct vcpu *vcpu, bool step)
{
	static const uint64_t lenbits[9] = {
		[1] = 0, [2] = 1, [4] = 3, [8] = 2
	};
	struct vm_guest_debug dbg = { .singlestep = step };
	int error;

	for (int i = 0; i < GDB_NSLOTS; i++) {
		const struct gdb_slot *sl = &gt.slot[i];
		uint64_t rw;

		if (!sl->used)
			continue;
		/* R/W: 00 execute, 01 write, 11 read or write (no read-only) */
		rw = sl->type == GDB_WP_WRITE                               ? 1
		     : sl->type == GDB_WP_READ || sl->type == GDB_WP_ACCESS ? 3
									    : 0;
		dbg.dr[i] = sl->addr;
		dbg.dr7 |= DR7_L(i) | rw << DR7_RW_SHIFT(i) |
			   (rw == 0 ? 0 : lenbits[sl->len]) << DR7_LEN_SHIFT(i);
	}
	if (dbg.dr7 != 0)
		dbg.dr7 |= DR7_LE;
	step |= watch_stepping();
	dbg.singlestep = step;
	dbg.enable = step || dbg.dr7 != 0;
	error = vm_set_guest_debug(vcpu, &dbg);
	if (error != 0)
		rhyve_warnx("gdb: vcpu %d: cannot set the debug registers: %s",
			    vcpu_id(vcpu), strerror(error));
}

/*
 * A replay of several vCPUs hands the turn on as recorded: when it goes to
 * a vCPU the debugger keeps stopped (gdb resumed only some threads, e.g.
 * with scheduler-locking), the others cannot go on without it (kmod lets
 * them leave vm_run()).  The VM stops there, in the thread of the vCPU
 * whose turn it now is; resuming that one goes on as recorded.
 */
static void
turn_held_stop(struct vcpu *vcpu)
{
	struct vcpu *owner = vm_turn_vcpu(gt.vm);
	int id = vcpu_id(owner);
	struct gdb_stop st = { .reason = GDB_STOP_SIGNAL,
			       .signo = GDB_SIGTRAP,
			       .thread = id + 1 };

	if (gt.ncpu == 1 || owner == vcpu)
		return;
	pthread_mutex_lock(&gt.mtx);
	if (gt.session != NULL && !atomic_load(&gt.stopped) &&
	    gt.action[id] == GDB_RESUME_NONE) {
		gt.pos =
		    (struct gdb_replay_pos){ .exits = vm_replay_exits(vcpu) };
		stop_all(&st);
	}
	pthread_mutex_unlock(&gt.mtx);
}

void
gdb_vcpu_before_run(struct vcpu *vcpu)
{
	struct vm *vm = vcpu_vm(vcpu);
	int id = vcpu_id(vcpu);
	struct timespec ts;
	struct gdb_stop st;
	bool step;

	if (!atomic_load(&gdb_target_on))
		return;
	if (gt.replay && !atomic_load(&gt.stopped))
		turn_held_stop(vcpu);
	if (!atomic_load(&gt.stopped))
		return;
	/* Parked here: another vCPU may have the turn meanwhile. */
	vm_vcpu_hold(vcpu);
	pthread_mutex_lock(&gt.mtx);
	for (;;) {
		gt.parked++;
		maybe_report();
		/*
		 * Park until resumed with an action, or the VM ends (a timed
		 * wait: vm_suspend() does not know this condition variable).
		 */
		while (vm_suspended(vm) == VM_SUSPEND_NONE &&
		       (atomic_load(&gt.stopped) ||
			gt.action[id] == GDB_RESUME_NONE)) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&gt.cv, &gt.mtx, &ts);
		}
		gt.parked--;
		if (id != 0 || gt.reverse == REV_NONE ||
		    vm_suspended(vm) != VM_SUSPEND_NONE)
			break;
		/* Backwards (a replay): vCPU 0 goes there, then stops. */
		step = gt.reverse == REV_STEP;
		gt.reverse = REV_NONE;
		pthread_mutex_unlock(&gt.mtx);
		gdb_reverse(vcpu, step, &gt.pos, &st);
		pthread_mutex_lock(&gt.mtx);
		gt.action[id] = GDB_RESUME_NONE;
		stop_all(&st);
	}
	if (gt.replay && id == 0)
		gt.pos.exits = vm_replay_exits(vcpu); /* known: the same */
	load_debug(vcpu, gt.action[id] == GDB_RESUME_STEP);
	pthread_mutex_unlock(&gt.mtx);
}

/*
 * Where the VM is after a stop on a replay (see gdb_replay_step()); a
 * stop other than a step is somewhere after the last exit, found again
 * by its registers (gdb_reverse.c).
 */
static void
pos_after_stop(struct vcpu *vcpu, const struct vm_exit *vmexit, bool step)
{
	uint64_t e = vm_replay_exits(vcpu);

	/*
	 * With several vCPUs a step that crossed exits may have waited for
	 * its turn meanwhile: only one within the exit interval counts.
	 */
	if (step && (gt.ncpu == 1 || e == gt.pos.exits))
		gdb_replay_step(&gt.pos, vmexit, e);
	else
		gt.pos = (struct gdb_replay_pos){ .exits = e };
}

bool
gdb_vcpu_debug_exit(struct vcpu *vcpu, const struct vm_exit *vmexit)
{
	uint64_t dr6 = vmexit->u.debug.dr6;
	struct gdb_stop st = { .thread = vcpu_id(vcpu) + 1,
			       .signo = GDB_SIGTRAP };
	bool ours = false;

	if (!atomic_load(&gdb_target_on))
		return false;
	pthread_mutex_lock(&gt.mtx);
	for (int i = 0; i < GDB_NSLOTS && !ours; i++) {
		const struct gdb_slot *sl = &gt.slot[i];

		if (!(dr6 & DR6_B(i)) || !sl->used)
			continue;
		ours = true;
		st.addr = sl->addr;
		st.reason = sl->type == GDB_BP_SW      ? GDB_STOP_SWBREAK
			    : sl->type == GDB_BP_HW    ? GDB_STOP_HWBREAK
			    : sl->type == GDB_WP_WRITE ? GDB_STOP_WATCH
			    : sl->type == GDB_WP_READ  ? GDB_STOP_RWATCH
						       : GDB_STOP_AWATCH;
	}
	if (!ours && (dr6 & DR6_BS)) {
		int w = watch_stepping() ? watch_changed(st.thread) : -1;

		if (w >= 0) {
			ours = true;
			st.reason = GDB_STOP_WATCH;
			st.addr = gt.slot[w].addr;
		} else if (gt.action[vcpu_id(vcpu)] == GDB_RESUME_STEP) {
			ours = true;
			st.reason = GDB_STOP_STEP;
		} else if (watch_stepping() && gt.session != NULL) {
			/* A step of the watch: nothing changed, run on. */
			pthread_mutex_unlock(&gt.mtx);
			return true;
		}
	}
	/*
	 * A stale event (the breakpoint was removed, the debugger left):
	 * nothing to stop for; the vCPU runs on.
	 */
	if (ours && gt.session != NULL) {
		if (gt.replay)
			pos_after_stop(vcpu, vmexit,
				       st.reason == GDB_STOP_STEP);
		stop_all(&st);
	} else {
		if (gt.session == NULL)
			gt.action[vcpu_id(vcpu)] = GDB_RESUME_CONT;
		load_debug(vcpu, gt.action[vcpu_id(vcpu)] == GDB_RESUME_STEP);
	}
	pthread_mutex_unlock(&gt.mtx);
	return true;
}

void
gdb_vcpu_done(struct vcpu *vcpu)
{
	if (!atomic_load(&gdb_target_on))
		return;
	pthread_mutex_lock(&gt.mtx);
	gt.alive--;
	pthread_cond_broadcast(&gt.cv);
	pthread_mutex_unlock(&gt.mtx);
}

/* ---- the target operations (called with gt.mtx held) ------------------- */

static struct vcpu *
thread_vcpu(int thread)
{
	if (thread < 1 || thread > gt.ncpu)
		return NULL;
	return vm_vcpu(gt.vm, thread - 1);
}

static int
op_nthreads(void *arg)
{
	return gt.ncpu;
}

/* gdb register -> vm_reg_name, for the plain ones. */
static const int gdb_vmreg[GDB_X86_NREGS] = {
	[GDB_X86_RAX] = VM_REG_GUEST_RAX,
	[GDB_X86_RBX] = VM_REG_GUEST_RBX,
	[GDB_X86_RCX] = VM_REG_GUEST_RCX,
	[GDB_X86_RDX] = VM_REG_GUEST_RDX,
	[GDB_X86_RSI] = VM_REG_GUEST_RSI,
	[GDB_X86_RDI] = VM_REG_GUEST_RDI,
	[GDB_X86_RBP] = VM_REG_GUEST_RBP,
	[GDB_X86_RSP] = VM_REG_GUEST_RSP,
	[GDB_X86_R8] = VM_REG_GUEST_R8,
	[GDB_X86_R9] = VM_REG_GUEST_R9,
	[GDB_X86_R10] = VM_REG_GUEST_R10,
	[GDB_X86_R11] = VM_REG_GUEST_R11,
	[GDB_X86_R12] = VM_REG_GUEST_R12,
	[GDB_X86_R13] = VM_REG_GUEST_R13,
	[GDB_X86_R14] = VM_REG_GUEST_R14,
	[GDB_X86_R15] = VM_REG_GUEST_R15,
	[GDB_X86_RIP] = VM_REG_GUEST_RIP,
	[GDB_X86_EFLAGS] = VM_REG_GUEST_RFLAGS,
	[GDB_X86_CS] = VM_REG_GUEST_CS,
	[GDB_X86_SS] = VM_REG_GUEST_SS,
	[GDB_X86_DS] = VM_REG_GUEST_DS,
	[GDB_X86_ES] = VM_REG_GUEST_ES,
	[GDB_X86_FS] = VM_REG_GUEST_FS,
	[GDB_X86_GS] = VM_REG_GUEST_GS,
	[GDB_X86_CR0] = VM_REG_GUEST_CR0,
	[GDB_X86_CR2] = VM_REG_GUEST_CR2,
	[GDB_X86_CR3] = VM_REG_GUEST_CR3,
	[GDB_X86_CR4] = VM_REG_GUEST_CR4,
	[GDB_X86_CR8] = VM_REG_GUEST_CR8,
	[GDB_X86_EFER] = VM_REG_GUEST_EFER,
};

/*
 * FXSAVE keeps an abridged tag (a bit per physical register); gdb's ftag
 * is the full tag word: 2 bits per register, from its contents (SDM vol.
 * 1 10.5.1.1: 00 valid, 01 zero, 10 special, 11 empty).
 */
static uint16_t
fpu_full_tag(const struct vm_fpu *fpu)
{
	unsigned int top = (fpu->fsw >> 11) & 7;
	uint16_t tag = 0;

	for (unsigned int p = 0; p < 8; p++) {
		const uint8_t *r = fpu->st[(p - top) & 7];
		uint64_t mant;
		unsigned int exp, t;

		memcpy(&mant, r, 8);
		exp = ((unsigned int)r[9] << 8 | r[8]) & 0x7fff;
		if (!(fpu->ftw & (1u << p)))
			t = 3;
		else if (exp == 0x7fff)
			t = 2;
		else if (exp == 0)
			t = mant == 0 ? 1 : 2;
		else
			t = (mant >> 63) ? 0 : 2;
		tag |= (uint16_t)(t << (2 * p));
	}
	return tag;
}

/* The x87/SSE registers: 'buf' to or from the FXSAVE image. */
static int
fpu_reg(struct vcpu *vcpu, int regno, uint8_t *buf, bool write)
{
	struct vm_fpu fpu;
	uint64_t v = 0;
	uint8_t *field = NULL;
	int size = gdb_x86_reg_size(regno), error;

	error = vm_get_fpu(vcpu, &fpu);
	if (error != 0)
		return error == ENOTSUP ? ENOENT : error;
	if (regno >= GDB_X86_ST0 && regno < GDB_X86_ST0 + 8)
		field = fpu.st[regno - GDB_X86_ST0];
	else if (regno >= GDB_X86_XMM0 && regno < GDB_X86_XMM0 + 16)
		field = fpu.xmm[regno - GDB_X86_XMM0];
	if (field != NULL) {
		if (!write) {
			memcpy(buf, field, (size_t)size);
			return 0;
		}
		memcpy(field, buf, (size_t)size);
		return vm_set_fpu(vcpu, &fpu);
	}
	switch (regno) {
	case GDB_X86_FCTRL:
		v = fpu.fcw;
		break;
	case GDB_X86_FSTAT:
		v = fpu.fsw;
		break;
	case GDB_X86_FTAG:
		v = fpu_full_tag(&fpu);
		break;
	case GDB_X86_FISEG: /* 64-bit FXSAVE: the pointers' upper halves */
		v = fpu.fip >> 32;
		break;
	case GDB_X86_FIOFF:
		v = (uint32_t)fpu.fip;
		break;
	case GDB_X86_FOSEG:
		v = fpu.fdp >> 32;
		break;
	case GDB_X86_FOOFF:
		v = (uint32_t)fpu.fdp;
		break;
	case GDB_X86_FOP:
		v = fpu.fop;
		break;
	case GDB_X86_MXCSR:
		v = fpu.mxcsr;
		break;
	default:
		return ENOENT;
	}
	if (!write) {
		for (int i = 0; i < 4; i++)
			buf[i] = (uint8_t)(v >> (8 * i));
		return 0;
	}
	v = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
	    (uint32_t)buf[3] << 24;
	switch (regno) {
	case GDB_X86_FCTRL:
		fpu.fcw = (uint16_t)v;
		break;
	case GDB_X86_FSTAT:
		fpu.fsw = (uint16_t)v;
		break;
	case GDB_X86_FTAG:
		/* back to abridged: a register is in use unless tagged 11 */
		fpu.ftw = 0;
		for (int p = 0; p < 8; p++)
			if (((v >> (2 * p)) & 3) != 3)
				fpu.ftw |= (uint8_t)(1u << p);
		break;
	case GDB_X86_FISEG:
		fpu.fip = (uint32_t)fpu.fip | v << 32;
		break;
	case GDB_X86_FIOFF:
		fpu.fip = (fpu.fip & ~0xffffffffULL) | v;
		break;
	case GDB_X86_FOSEG:
		fpu.fdp = (uint32_t)fpu.fdp | v << 32;
		break;
	case GDB_X86_FOOFF:
		fpu.fdp = (fpu.fdp & ~0xffffffffULL) | v;
		break;
	case GDB_X86_FOP:
		fpu.fop = (uint16_t)(v & 0x7ff);
		break;
	case GDB_X86_MXCSR:
		fpu.mxcsr = (uint32_t)v;
		break;
	}
	return vm_set_fpu(vcpu, &fpu);
}

static bool
is_fpu_reg(int regno)
{
	return regno >= GDB_X86_ST0 && regno <= GDB_X86_MXCSR;
}

static int
op_read_reg(void *arg, int thread, int regno, uint8_t *buf)
{
	struct vcpu *vcpu = thread_vcpu(thread);
	int size = gdb_x86_reg_size(regno);
	struct seg_desc desc;
	uint64_t val;
	int error;

	if (vcpu == NULL || size == 0)
		return EINVAL;
	if (is_fpu_reg(regno))
		return fpu_reg(vcpu, regno, buf, false);
	if (regno == GDB_X86_FS_BASE || regno == GDB_X86_GS_BASE) {
		error =
		    vm_get_seg_desc(vcpu,
				    regno == GDB_X86_FS_BASE ? VM_REG_GUEST_FS
							     : VM_REG_GUEST_GS,
				    &desc);
		val = desc.base;
	} else if (regno == GDB_X86_RAX || gdb_vmreg[regno] != 0) {
		error = vm_get_register(vcpu, gdb_vmreg[regno], &val);
	} else {
		return ENOENT;
	}
	if (error != 0)
		return error;
	for (int i = 0; i < size; i++)
		buf[i] = (uint8_t)(val >> (8 * i));
	return 0;
}

/* A replay's guest does what the recording says: no writes. */
static bool
replay_refuses(const char *what)
{
	if (!gt.replay)
		return false;
	rhyve_warnx("gdb: refused a write to %s: a replay runs as recorded "
		    "(a write would make it diverge)",
		    what);
	return true;
}

static int
op_write_reg(void *arg, int thread, int regno, const uint8_t *buf)
{
	struct vcpu *vcpu = thread_vcpu(thread);
	int size = gdb_x86_reg_size(regno), reg;
	struct seg_desc desc;
	uint64_t val = 0, old;
	int error;

	if (vcpu == NULL || size == 0)
		return EINVAL;
	if (replay_refuses(gdb_x86_reg_name(regno)))
		return EPERM;
	if (is_fpu_reg(regno))
		return fpu_reg(vcpu, regno, (uint8_t *)buf, true);
	for (int i = 0; i < size && i < 8; i++)
		val |= (uint64_t)buf[i] << (8 * i);
	if (regno == GDB_X86_FS_BASE || regno == GDB_X86_GS_BASE) {
		reg = regno == GDB_X86_FS_BASE ? VM_REG_GUEST_FS
					       : VM_REG_GUEST_GS;
		error = vm_get_seg_desc(vcpu, reg, &desc);
		if (error != 0)
			return error;
		desc.base = val;
		return vm_set_seg_desc(vcpu, reg, &desc);
	}
	if (regno != GDB_X86_RAX && gdb_vmreg[regno] == 0)
		return ENOENT;
	reg = gdb_vmreg[regno];
	if (regno == GDB_X86_EFLAGS) {
		/* gdb has 32 bits of RFLAGS; the upper ones are reserved. */
		error = vm_get_register(vcpu, reg, &old);
		if (error != 0)
			return error;
		val |= old & ~0xffffffffULL;
	}
	return vm_set_register(vcpu, reg, val);
}

/*
 * Memory a page at a time: guest-physical, or linear through the
 * thread's page tables (emul's walker without side effects).
 */
static size_t
access_mem(int thread, bool phys, uint64_t addr, uint8_t *rbuf,
	   const uint8_t *wbuf, size_t len)
{
	struct vcpu *vcpu = thread_vcpu(thread);
	size_t done = 0;

	if (vcpu == NULL)
		return 0;
	while (done < len) {
		uint64_t a = addr + done, gpa = a;
		size_t chunk = 4096 - (a & 0xfff);
		bool fault;
		void *host;

		if (chunk > len - done)
			chunk = len - done;
		if (!phys &&
		    (vm_gla2gpa_nofault(vcpu, a,
					wbuf != NULL
					    ? X86_MEM_WRITE | X86_MEM_NOSIDE |
						  X86_MEM_NOPERM
					    : X86_MEM_PEEK,
					&gpa, &fault) != 0 ||
		     fault))
			break;
		host = vm_map_gpa(gt.vm, gpa, chunk);
		if (host == NULL)
			break; /* not RAM: MMIO is not read for a debugger */
		if (wbuf != NULL)
			memcpy(host, wbuf + done, chunk);
		else
			memcpy(rbuf + done, host, chunk);
		done += chunk;
	}
	return done;
}

static size_t
op_read_mem(void *arg, int thread, bool phys, uint64_t addr, uint8_t *buf,
	    size_t len)
{
	return access_mem(thread, phys, addr, buf, NULL, len);
}

static size_t
op_write_mem(void *arg, int thread, bool phys, uint64_t addr,
	     const uint8_t *buf, size_t len)
{
	if (replay_refuses("guest memory"))
		return 0;
	return access_mem(thread, phys, addr, NULL, buf, len);
}

static int
op_resume(void *arg, const enum gdb_resume_action *actions)
{
	bool any = false;

	for (int i = 0; i < gt.ncpu; i++) {
		gt.action[i] = actions[i];
		any |= actions[i] != GDB_RESUME_NONE;
	}
	if (!any)
		return EINVAL;
	if (gt.replay && actions[0] != GDB_RESUME_STEP)
		gt.pos.known = false; /* found again by gdb_reverse.c */
	watch_snapshot(1);
	gt.have_event = false;
	gt.reported = false;
	atomic_store(&gt.stopped, false);
	pthread_cond_broadcast(&gt.cv);
	return 0;
}

static void
op_interrupt(void *arg)
{
	struct gdb_stop st = { .reason = GDB_STOP_SIGNAL,
			       .signo = GDB_SIGINT,
			       .thread = 1 };

	/* Name a vCPU that was running. */
	for (int i = 0; i < gt.ncpu; i++) {
		if (gt.action[i] != GDB_RESUME_NONE) {
			st.thread = i + 1;
			break;
		}
	}
	stop_all(&st);
}

static int
slots_full(void)
{
	if (gt.replay)
		rhyve_warnx("gdb: no debug register free: a replay keeps one "
			    "of the 4 for itself, %d are the debugger's",
			    gt.nslots);
	return ENOSPC;
}

static int
op_insert_bp(void *arg, enum gdb_bp_type type, uint64_t addr, int kind)
{
	int freeslot[GDB_NSLOTS], nfree = 0, need = 0;
	uint64_t a = addr, end = addr + (uint64_t)(kind < 1 ? 1 : kind);
	struct gdb_slot want[GDB_NSLOTS];

	if (type == GDB_BP_SW || type == GDB_BP_HW) {
		want[need++] = (struct gdb_slot){ true, type, addr, 1 };
	} else {
		/* A watched range as aligned pieces of 1, 2, 4 or 8 bytes. */
		while (a < end) {
			int len = 8;

			while (len > 1 && ((a & (uint64_t)(len - 1)) != 0 ||
					   a + (uint64_t)len > end))
				len /= 2;
			if (need == gt.nslots)
				return slots_full();
			want[need++] = (struct gdb_slot){ true, type, a, len };
			a += (uint64_t)len;
		}
	}
	for (int i = 0; i < gt.nslots; i++)
		if (!gt.slot[i].used)
			freeslot[nfree++] = i;
	if (nfree < need)
		return slots_full(); /* the fifth: "E1c" */
	for (int i = 0; i < need; i++)
		gt.slot[freeslot[i]] = want[i];
	return 0;
}

static int
op_remove_bp(void *arg, enum gdb_bp_type type, uint64_t addr, int kind)
{
	uint64_t end = addr + (uint64_t)(kind < 1 ? 1 : kind);
	bool found = false;

	for (int i = 0; i < GDB_NSLOTS; i++) {
		struct gdb_slot *sl = &gt.slot[i];

		if (sl->used && sl->type == type && sl->addr >= addr &&
		    sl->addr < end) {
			sl->used = false;
			found = true;
		}
	}
	return found ? 0 : ENOENT;
}

static void
op_thread_info(void *arg, int thread, char *buf, size_t len)
{
	struct vcpu *vcpu = thread_vcpu(thread);
	uint64_t cr0 = 0, efer = 0, rflags = 0;
	struct seg_desc cs = { 0 };
	const char *mode;

	if (vcpu == NULL) {
		snprintf(buf, len, "no such vCPU");
		return;
	}
	vm_get_register(vcpu, VM_REG_GUEST_CR0, &cr0);
	vm_get_register(vcpu, VM_REG_GUEST_EFER, &efer);
	vm_get_register(vcpu, VM_REG_GUEST_RFLAGS, &rflags);
	vm_get_seg_desc(vcpu, VM_REG_GUEST_CS, &cs);
	if (!(cr0 & CR0_PE))
		mode = "real mode";
	else if ((efer & EFER_LMA) && (cs.access & SEG_ACC_L))
		mode = "64-bit mode";
	else if (efer & EFER_LMA)
		mode = "compatibility mode";
	else if (rflags & PSL_VM)
		mode = "virtual-8086 mode";
	else
		mode = "protected mode";
	snprintf(buf, len, "vCPU %d, %s%s", thread - 1, mode,
		 (cr0 & CR0_PG) ? ", paging" : "");
}

static const char gdb_target_help[] =
    "regs          the main registers of every vCPU\n"
    "trace status  is the run being recorded or replayed\n"
    "marker TEXT   write a marker with TEXT into the trace being recorded\n"
    "replay        where a replay is: after which exit, how many steps\n";

static int
op_monitor(void *arg, const char *cmd, gdb_output_fn out, void *outarg)
{
	char line[256];

	if (strcmp(cmd, "regs") == 0) {
		for (int i = 0; i < gt.ncpu; i++) {
			struct vcpu *vcpu = vm_vcpu(gt.vm, i);
			uint64_t v[8];
			static const int regs[8] = {
				VM_REG_GUEST_RIP,    VM_REG_GUEST_RSP,
				VM_REG_GUEST_RFLAGS, VM_REG_GUEST_CR0,
				VM_REG_GUEST_CR3,    VM_REG_GUEST_CR4,
				VM_REG_GUEST_EFER,   VM_REG_GUEST_CS,
			};

			for (int r = 0; r < 8; r++)
				if (vcpu == NULL ||
				    vm_get_register(vcpu, regs[r], &v[r]) != 0)
					v[r] = 0;
			snprintf(line, sizeof(line),
				 "vcpu %d: rip %#lx rsp %#lx rflags %#lx cs "
				 "%#lx cr0 %#lx cr3 %#lx cr4 %#lx efer %#lx\n",
				 i, (unsigned long)v[0], (unsigned long)v[1],
				 (unsigned long)v[2], (unsigned long)v[7],
				 (unsigned long)v[3], (unsigned long)v[4],
				 (unsigned long)v[5], (unsigned long)v[6]);
			out(outarg, line);
		}
		return 0;
	}
	if (strcmp(cmd, "trace status") == 0) {
		if (vm_replaying(gt.vm))
			snprintf(line, sizeof(line), "replaying %s\n",
				 get_config_value_default("replay.file", "?"));
		else if (vm_recording(gt.vm))
			snprintf(line, sizeof(line), "recording to %s\n",
				 get_config_value_default("record.file", "?"));
		else
			snprintf(line, sizeof(line),
				 "not recording (--record FILE records)\n");
		out(outarg, line);
		return 0;
	}
	if (strcmp(cmd, "replay") == 0) {
		if (!gt.replay)
			snprintf(line, sizeof(line), "not a replay\n");
		else if (gt.pos.known)
			snprintf(line, sizeof(line),
				 "replay: after exit %llu, %llu steps\n",
				 (unsigned long long)gt.pos.exits,
				 (unsigned long long)gt.pos.steps);
		else
			snprintf(line, sizeof(line),
				 "replay: after exit %llu, steps unknown\n",
				 (unsigned long long)vm_replay_exits(
				     vm_vcpu(gt.vm, 0)));
		out(outarg, line);
		return 0;
	}
	if (strncmp(cmd, "marker", 6) == 0 &&
	    (cmd[6] == '\0' || cmd[6] == ' ')) {
		const char *text = cmd[6] == ' ' ? cmd + 7 : "";

		if (!vm_recording(gt.vm)) {
			out(outarg, "not recording: no marker written\n");
			return 0;
		}
		vm_record_marker(gt.vm, text);
		snprintf(line, sizeof(line), "marker '%.200s' written\n", text);
		out(outarg, line);
		return 0;
	}
	return ENOENT;
}

/* D, or the debugger went away: no breakpoints, everything runs. */
static void
op_detach(void *arg)
{
	memset(gt.slot, 0, sizeof(gt.slot));
	for (int i = 0; i < gt.ncpu; i++)
		gt.action[i] = GDB_RESUME_CONT;
	gt.have_event = false;
	atomic_store(&gt.stopped, false);
	pthread_cond_broadcast(&gt.cv);
}

/* k: the VM is powered off. */
static void
op_kill(void *arg)
{
	op_detach(arg);
	rhyve_request_exit(gt.vm, RHYVE_EXIT_POWEROFF);
}

static bool
op_can_reverse(void *arg)
{
	return gt.replay;
}

/* bs/bc: vCPU 0 goes back (gdb_vcpu_before_run()), the others wait. */
static int
op_reverse(void *arg, int thread, bool step)
{
	if (!gt.replay || gt.alive == 0)
		return EINVAL;
	for (int i = 0; i < gt.ncpu; i++)
		gt.action[i] = GDB_RESUME_NONE;
	gt.action[0] = GDB_RESUME_CONT;
	gt.reverse = step ? REV_STEP : REV_CONT;
	gt.have_event = false;
	gt.reported = false;
	atomic_store(&gt.stopped, false);
	pthread_cond_broadcast(&gt.cv);
	return 0;
}

static const struct gdb_target_ops gdb_live_ops = {
	.nthreads = op_nthreads,
	.read_reg = op_read_reg,
	.write_reg = op_write_reg,
	.read_mem = op_read_mem,
	.write_mem = op_write_mem,
	.resume = op_resume,
	.interrupt = op_interrupt,
	.insert_bp = op_insert_bp,
	.remove_bp = op_remove_bp,
	.thread_info = op_thread_info,
	.monitor = op_monitor,
	.monitor_help = gdb_target_help,
	.detach = op_detach,
	.kill = op_kill,
	.can_reverse = op_can_reverse,
	.reverse = op_reverse,
};

/* ---- for the server (gdb_server.c) ------------------------------------ */

void
gdb_target_init(struct vm *vm, bool wait)
{
	gt.vm = vm;
	gt.ncpu = vm_vcpu_count(vm);
	gt.alive = gt.ncpu;
	gt.watch_step = get_config_bool_default("gdb.watch_step", true);
	gt.replay = vm_replaying(vm);
	gt.nslots = gt.replay ? VM_REPLAY_DEBUG_SLOTS : GDB_NSLOTS;
	/* -G w on a replay: at the start, exit 0, no instruction run. */
	if (gt.replay)
		gt.pos = (struct gdb_replay_pos){
			.known = wait, .exits = vm_replay_exits(vm_vcpu(vm, 0))
		};
	for (int i = 0; i < gt.ncpu; i++)
		gt.action[i] = GDB_RESUME_CONT;
	if (wait) {
		/* -G w...: nothing runs before the debugger is there. */
		gt.event = (struct gdb_stop){ .reason = GDB_STOP_SIGNAL,
					      .signo = GDB_SIGTRAP,
					      .thread = 1 };
		gt.have_event = true;
		atomic_store(&gt.stopped, true);
	}
	atomic_store(&gdb_target_on, true);
}

void
gdb_target_lock(void)
{
	pthread_mutex_lock(&gt.mtx);
}

void
gdb_target_unlock(void)
{
	pthread_mutex_unlock(&gt.mtx);
}

/*
 * With the lock held: a debugger connects.  Stop the VM and wait until
 * every vCPU is parked; returns false when the VM ended meanwhile.
 */
bool
gdb_target_attach(struct gdb_stop *stop)
{
	struct gdb_stop st = { .reason = GDB_STOP_SIGNAL,
			       .signo = GDB_SIGTRAP,
			       .thread = 1 };

	if (!atomic_load(&gt.stopped) || !gt.have_event)
		stop_all(&st);
	while (gt.parked < gt.alive && vm_suspended(gt.vm) == VM_SUSPEND_NONE)
		pthread_cond_wait(&gt.cv, &gt.mtx);
	if (vm_suspended(gt.vm) != VM_SUSPEND_NONE || gt.alive == 0)
		return false;
	gt.reported = true; /* the debugger asks with '?' */
	*stop = gt.event;
	return true;
}

/* With the lock held: the session the stops go to (NULL: none). */
void
gdb_target_set_session(struct gdb_session *s)
{
	gt.session = s;
}

void
gdb_target_get(struct gdb_target *t)
{
	t->ops = &gdb_live_ops;
	t->arg = &gt;
}

/* The VM is gone: wake anyone waiting for vCPUs to park. */
void
gdb_target_vm_ended(void)
{
	pthread_mutex_lock(&gt.mtx);
	pthread_cond_broadcast(&gt.cv);
	pthread_mutex_unlock(&gt.mtx);
}

/* ---- for reverse execution (gdb_reverse.c) ------------------------------ */

/*
 * The debugger's debug state into vCPU 0 as a resume would load it, with
 * or without its breakpoints and watchpoints ('bps'), write watchpoints
 * by stepping or not ('watch'), and a step.
 */
void
gdb_target_load_debug(struct vcpu *vcpu, bool bps, bool watch, bool step)
{
	struct gdb_slot saved[GDB_NSLOTS];
	bool ws = gt.watch_step;

	memcpy(saved, gt.slot, sizeof(saved));
	if (!bps)
		memset(gt.slot, 0, sizeof(gt.slot));
	/* Write watchpoints found by their bytes instead: not natively. */
	for (int i = 0; i < GDB_NSLOTS && !watch && ws; i++)
		if (gt.slot[i].type == GDB_WP_WRITE)
			gt.slot[i].used = false;
	gt.watch_step = ws && watch;
	load_debug(vcpu, step);
	memcpy(gt.slot, saved, sizeof(saved));
	gt.watch_step = ws;
}

/* A write watchpoint's bytes changed since the snapshot (taken again). */
bool
gdb_target_watch_changed(void)
{
	bool changed = watch_changed(1) >= 0;

	watch_snapshot(1);
	return changed;
}

/* Which stop a slot's hit is. */
static void
slot_stop(int i, struct gdb_stop *st)
{
	const struct gdb_slot *sl = &gt.slot[i];

	*st = (struct gdb_stop){ .thread = 1, .signo = GDB_SIGTRAP };
	st->addr = sl->addr;
	st->reason = sl->type == GDB_BP_SW      ? GDB_STOP_SWBREAK
		     : sl->type == GDB_BP_HW    ? GDB_STOP_HWBREAK
		     : sl->type == GDB_WP_WRITE ? GDB_STOP_WATCH
		     : sl->type == GDB_WP_READ  ? GDB_STOP_RWATCH
						: GDB_STOP_AWATCH;
}

/*
 * A debug exit of a vCPU while it replays for reverse execution: true
 * with *st when a breakpoint or watchpoint of the debugger's hit (a write
 * watchpoint by stepping: its bytes changed since the last snapshot).
 */
bool
gdb_target_hit(const struct vm_exit *vmexit, struct gdb_stop *st)
{
	uint64_t dr6 = vmexit->u.debug.dr6;
	int w;

	for (int i = 0; i < gt.nslots; i++) {
		if ((dr6 & DR6_B(i)) && gt.slot[i].used) {
			slot_stop(i, st);
			return true;
		}
	}
	if ((dr6 & DR6_BS) && have_write_watch() &&
	    (w = watch_changed(1)) >= 0) {
		slot_stop(w, st);
		watch_snapshot(1);
		return true;
	}
	return false;
}

/* An execution breakpoint of the debugger's at linear address 'lin'. */
bool
gdb_target_bp_at(uint64_t lin, struct gdb_stop *st)
{
	for (int i = 0; i < gt.nslots; i++) {
		const struct gdb_slot *sl = &gt.slot[i];

		if (sl->used && sl->addr == lin &&
		    (sl->type == GDB_BP_SW || sl->type == GDB_BP_HW)) {
			slot_stop(i, st);
			return true;
		}
	}
	return false;
}

/* Any breakpoint or watchpoint at all. */
bool
gdb_target_have_bps(void)
{
	for (int i = 0; i < gt.nslots; i++)
		if (gt.slot[i].used)
			return true;
	return false;
}

void
gdb_target_watch_snapshot(void)
{
	watch_snapshot(1);
}
