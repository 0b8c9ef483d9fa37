/*
 * kmod's private view: the VM and vCPU structures and the engine interface.
 * Only files under kmod/ include this; everyone else uses vmm.h.
 */
#ifndef RHYVE_KMOD_VMM_IMPL_H
#define RHYVE_KMOD_VMM_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "trace.h"
#include "vmm.h"

/*
 * An execution engine, as bhyve's vmm_ops.  Engine state hangs off opaque
 * cookies; registers are addressed by enum vm_reg_name.
 */
struct vmm_engine {
	const char *name;
	/* The engine drives the VM's clock (virtual time, vmm_callout.c). */
	bool virtual_time;
	/* Instructions in a vCPU's turn unless set (0: VM_SCHED_QUANTUM). */
	uint64_t quantum;
	/* set_debug's data breakpoints hit on every guest access (kvm's do
	 * not in KVM's instruction emulator, which runs guest kernel code
	 * on PVM hosts). */
	bool data_breakpoints;
	int (*vm_init)(struct vm *vm, void **cookiep, char *errbuf,
		       size_t errlen);
	void (*vm_cleanup)(void *cookie);
	/* Map host memory at a guest-physical range, in memory slot 'slot'. */
	int (*mem_map)(void *cookie, int slot, uint64_t gpa, size_t len,
		       void *host, bool readonly);
	int (*mem_unmap)(void *cookie, int slot);
	int (*vcpu_init)(void *cookie, struct vcpu *vcpu, int id,
			 void **vcookiep);
	void (*vcpu_cleanup)(void *vcookie);
	int (*run)(void *vcookie, struct vm_exit *vmexit);
	void (*kick)(void *vcookie);
	int (*getreg)(void *vcookie, int reg, uint64_t *val);
	int (*setreg)(void *vcookie, int reg, uint64_t val);
	int (*getdesc)(void *vcookie, int reg, struct seg_desc *desc);
	int (*setdesc)(void *vcookie, int reg, const struct seg_desc *desc);
	int (*getmsr)(void *vcookie, uint32_t msr, uint64_t *val);
	int (*setmsr)(void *vcookie, uint32_t msr, uint64_t val);
	/*
	 * Inject an external interrupt / an NMI on the next entry.  EBUSY:
	 * the vCPU cannot take it now (interrupts masked, shadow); the engine
	 * then arranges an exit as soon as it can (interrupt window) so that
	 * kmod tries again.
	 */
	int (*inject_intr)(void *vcookie, int vector);
	int (*inject_nmi)(void *vcookie);
	/*
	 * Raise exception 'vector' (with its error code if 'has_ec') on the
	 * next entry.  Where the instruction behind the last exit is still
	 * to be completed (an MSR access), a #GP faults that instruction.
	 */
	int (*inject_exception)(void *vcookie, int vector, bool has_ec,
				uint32_t ec);
	/* The guest TSC's rate in Hz (for IA32_TSC_DEADLINE). */
	int (*tsc_hz)(void *vcookie, uint64_t *hz);
	int (*set_debug)(void *vcookie, const struct vm_guest_debug *dbg);
	/*
	 * Optional, for engines with virtual time: end the run (a BOGUS
	 * exit) once the vCPU has retired 'icount' instructions, the end of
	 * its turn (vmm_sched.c).  UINT64_MAX: no end.
	 */
	int (*set_yield)(void *vcookie, uint64_t icount);
	/* Optional: the block translator on or off (vm_set_jit()). */
	int (*set_jit)(void *cookie, bool on);
	/*
	 * Complete the instruction behind the last exit (with the read
	 * value in *vmexit) without running the guest, so that the
	 * registers are a state to checkpoint and restore.
	 */
	int (*complete_io)(void *vcookie, struct vm_exit *vmexit);
	/*
	 * Optional: whether an event the engine was given (inject_*) has
	 * not reached the guest yet (a run can end before the entry that
	 * delivers it).  A checkpoint cannot hold one: the recorder takes
	 * it at a later exit.
	 */
	bool (*event_queued)(void *vcookie);
	/*
	 * Dirty-page logging of a memory slot: on or off; get_dirty copies
	 * the slot's bitmap (bit n: page n of the slot was written) of the
	 * pages written since the last call, or since logging went on.
	 */
	int (*dirty_logging)(void *cookie, int slot, bool on);
	int (*get_dirty)(void *cookie, int slot, uint64_t *bitmap);
	/*
	 * CPUID (vmm_cpuid.c decides the guest's table): what the engine
	 * can run, up to 'max' entries (the count, or -errno); and install
	 * a vCPU's table before it first runs.
	 */
	int (*cpuid_supported)(void *cookie, struct vm_cpuid_entry *out,
			       int max);
	int (*set_cpuid)(void *vcookie, const struct vm_cpuid_entry *table,
			 int n);
	int (*getfpu)(void *vcookie, struct vm_fpu *fpu);
	int (*setfpu)(void *vcookie, const struct vm_fpu *fpu);
	/*
	 * Optional: device data was written into guest RAM (vm_dma_apply),
	 * for an engine that keeps its own copy of it (lockstep).
	 */
	void (*dma_done)(void *cookie, uint64_t gpa, const uint8_t *data,
			 size_t len);
};

extern const struct vmm_engine vmm_engine_kvm;
extern const struct vmm_engine vmm_engine_interp;
extern const struct vmm_engine vmm_engine_lockstep;

struct vm_memseg {
	size_t len;
	bool sysmem;
	char name[VM_NAME_MAX];
	void *host; /* NULL: segment not allocated */
};

struct vm_memmap {
	uint64_t gpa;
	int segid; /* -1: slot free */
	uint64_t off;
	size_t len;
	bool readonly;
};

/*
 * Recent decodes of a vCPU (vmm_decode.c): a guest exits from the same few
 * instructions over and over, so a hit costs a compare, not a page walk.
 */
#define VM_DECODE_CACHE 4

struct vm_decode_entry {
	bool valid;
	uint64_t rip; /* as the engine reported it */
	uint64_t cr0, cr3, cr4, efer, cs_base;
	uint64_t start; /* the instruction's own rip */
	uint64_t gpa;   /* where its bytes are */
	struct x86_instr insn;
	uint8_t bytes[15];
};

/* ---- vmm_callout.c: timers on the VM's clock ------------------------ */

struct vm_callouts;
typedef void (*callout_func_t)(void *arg);

struct callout {
	struct vm *vm;
	uint64_t deadline; /* vm_clock_ns() time */
	callout_func_t fn;
	void *arg;
	bool pending;
	struct callout *next;
};

void callout_init(struct vm *vm, struct callout *c);
/* Call fn(arg) on the VM's timer thread once vm_clock_ns() >= deadline. */
void callout_reset(struct callout *c, uint64_t deadline, callout_func_t fn,
		   void *arg);
/* Cancel; on return fn is not running (unless called from fn itself). */
void callout_stop(struct callout *c);
/*
 * Virtual time (struct vm.virtual_time): the earliest pending deadline
 * (UINT64_MAX: none); run the expired callouts on this thread; move the
 * clock on by 'ns', or to 't' if it is earlier.
 */
uint64_t vm_callout_next(struct vm *vm);
void vm_callouts_run_due(struct vm *vm);
void vm_clock_advance(struct vm *vm, uint64_t ns);
void vm_clock_set_at_least(struct vm *vm, uint64_t t);
bool callout_pending(const struct callout *c);
void vm_callouts_cleanup(struct vm *vm);

/* ---- vmm_ioport.c: ports emulated inside kmod -------------------------- */

/*
 * A kmod port handler, as the monitor's inout_func_t: *eax in/out, the
 * low 'bytes' bytes used.  Return 0, or -1 for an access the device
 * refuses (the VM stops with an error).
 */
typedef int (*vm_ioport_func_t)(struct vm *vm, struct vcpu *vcpu, bool in,
				int port, int bytes, uint32_t *eax, void *arg);

int vm_register_ioport(struct vm *vm, int port, int len, vm_ioport_func_t fn,
		       void *arg);
/*
 * Handle an INOUT exit if a kmod device owns the port: returns 1 handled,
 * 0 not ours (the monitor's), -1 error (vmexit turned into an error).
 */
int vm_ioport_emulate(struct vcpu *vcpu, struct vm_exit *vmexit);

/* ---- vmm_iomem.c: MMIO ranges emulated inside kmod ------------------- */

/*
 * A kmod MMIO handler: 'bytes' (1, 2, 4 or 8) at 'gpa', which lies in the
 * registered range with the whole access.  A write passes the value in
 * *val; a read returns it there (bytes above 'bytes' are dropped).
 * Return 0, or -1 for an access the device refuses (the VM stops with
 * an error).
 */
typedef int (*vm_iomem_func_t)(struct vcpu *vcpu, bool write, uint64_t gpa,
			       int bytes, uint64_t *val, void *arg);

int vm_register_iomem(struct vm *vm, uint64_t base, uint64_t len,
		      vm_iomem_func_t fn, void *arg);
/*
 * Handle an MMIO exit if a kmod device owns the address: returns 1
 * handled (a read's value in mmio.data), 0 not ours (the monitor's), -1
 * error (vmexit turned into an error).
 */
int vm_iomem_emulate(struct vcpu *vcpu, struct vm_exit *vmexit);

/* ---- vmm_intr.c: the single injection point --------------------------- */

/* Make the vCPU notice new pending events (wake it from HLT, kick it). */
void vcpu_notify_event(struct vcpu *vcpu);
/* Inject what is pending and deliverable before entering the guest. */
void vm_inject_pending(struct vcpu *vcpu);
/* HLT with interrupts enabled: sleep until an event is pending. */
void vm_handle_hlt(struct vcpu *vcpu);
/* The PIC asserts INTR towards this vCPU (ExtINT through LINT0). */
void vm_inject_extint(struct vcpu *vcpu);

/*
 * SMP bring-up (vmm.c): an application processor starts parked, waiting
 * for INIT-SIPI-SIPI; the local APIC delivers those through these calls.
 * INIT parks the vCPU again (in its INIT state, registers as after
 * RESET/INIT in the Intel SDM 9.1.1); a SIPI to a parked vCPU starts it in
 * real mode at CS:IP = (vector << 8):0000.  A SIPI to a running vCPU is
 * ignored, as on hardware.
 */
void vm_vcpu_init_signal(struct vcpu *vcpu);
void vm_vcpu_sipi(struct vcpu *vcpu, int vector);
/*
 * A wake-up event (NMI, INIT, SIPI) was made pending: the vCPU no longer
 * counts as idle.  With the vCPU's lock held.
 */
void vm_vcpu_not_idle(struct vcpu *vcpu);

struct vlapic;

/* ---- vmm_cpuid.c: rhyve's CPUID table -------------------------------- */

#define VM_CPUID_MAX 256 /* entries per table */

struct vm_cpuid_config {
	uint32_t cores, threads; /* per package, per core */
	bool deterministic;      /* hide TSC, RDRAND & co. */
};

/*
 * Build vCPU 'vcpuid''s table from the engine's supported entries: the
 * number of entries written to 'out', or -errno.  Pure: no VM needed.
 */
int vm_cpuid_build(const struct vm_cpuid_entry *base, int nbase,
		   const struct vm_cpuid_config *cfg, int vcpuid,
		   struct vm_cpuid_entry *out, int max);
/* CPUID(leaf, subleaf) from a table: 0, or ENOENT with zeros. */
int vm_cpuid_lookup(const struct vm_cpuid_entry *table, int n, uint32_t leaf,
		    uint32_t subleaf, uint32_t regs[4]);
/* Does ECX select a subleaf of this leaf? */
bool vm_cpuid_indexed(uint32_t leaf);
int vm_cpuid_init(struct vm *vm, char *errbuf, size_t errlen);
void vm_cpuid_cleanup(struct vm *vm);
int vm_cpuid_vcpu_init(struct vcpu *vcpu);
/* The processor signature (leaf 1 EAX), EDX after INIT. */
uint32_t vm_cpuid_signature(struct vcpu *vcpu);

struct vcpu {
	struct vm *vm;
	int id;
	void *cookie;
	struct vlapic *vlapic; /* its local APIC (kmod/io/vlapic.c) */
	struct vm_decode_entry dcache[VM_DECODE_CACHE];
	unsigned int dcache_next;
	pthread_mutex_t mtx; /* the fields below */
	pthread_cond_t cv;
	bool halted; /* sleeping in vm_handle_hlt() */
	/*
	 * SMP bring-up (vmm.c): 'parked' while in the wait-for-SIPI state,
	 * 'init_pending' until the vCPU's own thread has taken an INIT,
	 * 'sipi_vector' (-1: none) until it has taken a SIPI.
	 */
	bool parked;
	bool init_pending;
	int sipi_vector;
	/*
	 * HLT with RFLAGS.IF clear (vmm.c): asleep before the next entry
	 * until an NMI or INIT, as bhyve's vm_handle_hlt(intr_disabled).
	 */
	bool hlt_intr_off;
	bool nmi_pending;
	bool extint_pending;        /* the PIC asserts INTR */
	_Atomic bool exit_request;  /* vm_vcpu_kick(): back to the monitor */
	struct callout window_kick; /* see vm_inject_pending() */
	/* The recorder's (vmm_record.c); owned by the vCPU's thread. */
	uint64_t exits;       /* exits so far: the exit index */
	uint64_t record_time; /* time of the last exit recorded */
	bool record_pending;  /* the last exit's access is not recorded yet */
	uint64_t window_kick_at; /* its deadline (vm_clock_ns) */
	/* Single-stepping for a debugger: nothing is injected meanwhile. */
	bool debug_step;
	/* vmm_sched.c, the vCPU's thread's: where its turn ends. */
	uint64_t sched_end;
	bool sched_new_turn; /* set when it was handed the turn */
	bool sched_return;   /* vm_vcpu_return_on_turn_end() */
	/*
	 * The last exit's instruction is completed by the next entry (an
	 * access's, an MSR's): the state is no checkpoint's until then.
	 */
	bool insn_pending;
	/* The vCPU's CPUID table (vmm_cpuid.c), as the engine has it. */
	struct vm_cpuid_entry cpuid[VM_CPUID_MAX];
	int ncpuid;
};

#define VM_MAX_IOPORTS 16

struct vm_ioport {
	int port, len;
	vm_ioport_func_t fn;
	void *arg;
};

#define VM_MAX_IOMEMS 8

struct vm_iomem {
	uint64_t base, len;
	vm_iomem_func_t fn;
	void *arg;
};

struct vatpic;
struct vioapic;
struct vatpit;
struct vpmtmr;
struct vrtc;
struct vhpet;

struct vm {
	char name[VM_NAME_MAX];
	const struct vmm_engine *engine;
	void *cookie;
	struct vm_memseg memsegs[VM_MAX_MEMSEG];
	struct vm_memmap memmaps[VM_MAX_MEMMAP];
	pthread_rwlock_t mem_lock; /* memmaps */
	size_t lowmem, highmem;
	struct vcpu *vcpus[VM_MAXCPU];
	_Atomic int suspend; /* enum vm_suspend_how */
	/*
	 * vmm.c: bit n set while vCPU n is parked without a SIPI pending,
	 * or halted with interrupts off without an NMI or INIT pending (set
	 * when it goes to sleep, and for APs at creation).  All of them:
	 * the VM halts for good.
	 */
	_Atomic uint64_t idle_cpus;
	uint64_t clock_base; /* host CLOCK_MONOTONIC ns at creation */
	/*
	 * Virtual time, on engines that count instructions (the engine's
	 * virtual_time): vm_clock_ns() is vclock_ns, which the engine moves
	 * on as instructions retire and which jumps to the next timer
	 * deadline when every vCPU is idle (idle_skip, config vm.idle_skip).
	 */
	bool virtual_time, idle_skip;
	_Atomic uint64_t vclock_ns;
	/* One vCPU at a time, on engines with virtual time (vmm_sched.c). */
	struct vm_sched *sched;
	struct vm_callouts *callouts;
	struct vm_recorder *recorder; /* NULL: not recording */
	struct vm_replayer *replayer; /* NULL: not replaying */
	/* CPUID (vmm_cpuid.c): the engine's supported set, the topology. */
	struct vm_cpuid_entry *cpuid_base;
	int cpuid_nbase;
	int cpuid_sockets, cpuid_cores, cpuid_threads;
	bool deterministic;
	/* vmm_dma.c: device writes waiting for vCPU 0's next boundary. */
	pthread_mutex_t dma_mtx;
	struct vm_dma *dma_queue;
	uint64_t *dma_dirty; /* RAM pages DMA wrote, while logging dirt */
	struct vm_ioport ioports[VM_MAX_IOPORTS];
	int nioports;
	struct vm_iomem iomems[VM_MAX_IOMEMS];
	int niomems;
	/* The platform devices kmod owns (kmod/io). */
	struct vatpic *vatpic;
	struct vatpit *vatpit;
	struct vpmtmr *vpmtmr;
	struct vrtc *vrtc;
	struct vhpet *vhpet;
	struct vioapic *vioapic;
};

/* The VM's clock: ns since creation.  Every device timer uses it. */
uint64_t vm_clock_ns(struct vm *vm);
/*
 * vmm_record.c: the recorder hooks, no-ops unless recording.  An exit is
 * recorded when it happens, its access (with the value the guest got)
 * once it is complete: by a kmod device at once, by the monitor at the
 * next vm_run().
 */
void vm_record_exit(struct vcpu *vcpu, const struct vm_exit *vmexit);
void vm_record_access(struct vcpu *vcpu, const struct vm_exit *vmexit);
/* 'type' is enum trace_inject_type; an error code for exceptions. */
void vm_record_inject(struct vcpu *vcpu, int type, int vector, bool has_ec,
		      uint32_t ec);
/*
 * vmm_fpu_state.c: a vCPU's x87/SSE registers in a checkpoint (a
 * CKPT_DEVICE "fpu", FXSAVE64's image, docs/trace-format.md): get
 * (VM_FPU_STATE_SIZE bytes, 0 if the engine has none), load, compare
 * (false: 'why' says what differs).
 */
#define VM_FPU_STATE_NAME "fpu"
#define VM_FPU_STATE_SIZE 512
size_t vm_fpu_get_state(struct vcpu *vcpu, uint8_t *buf);
int vm_fpu_set_state(struct vcpu *vcpu, const uint8_t *buf, size_t len);
bool vm_fpu_state_matches(struct vcpu *vcpu, const uint8_t *buf, size_t len,
			  char *why, size_t whylen);
/*
 * vmm_dma.c: write what devices handed to vm_dma_write() (vCPU 0, before
 * an entry; recorded); write one device write (also the replay's).
 */
int vm_dma_init(struct vm *vm);
void vm_dma_cleanup(struct vm *vm);
void vm_dma_flush(struct vcpu *vcpu);
int vm_dma_apply(struct vm *vm, uint64_t gpa, const uint8_t *data, size_t len);
void vm_record_dma(struct vcpu *vcpu, uint64_t gpa, const uint8_t *data,
		   size_t len);
/*
 * Between exits: a periodic checkpoint if one is due (the last exit's
 * instruction completed first, with the value in *vmexit).
 */
void vm_record_maybe_checkpoint(struct vcpu *vcpu, struct vm_exit *vmexit);
/* An MSR access kmod answered, with the value read or written. */
void vm_record_msr(struct vcpu *vcpu, bool write, uint32_t msr, uint64_t value);
/* An RDRAND/RDSEED value given to the guest (VM_EXITCODE_RANDOM). */
void vm_record_random(struct vcpu *vcpu, const struct vm_exit *vmexit);
/* vCPU 'to' runs from now on; 'from' ran until 'icount' (vmm_sched.c). */
void vm_record_sched(struct vcpu *to, int from, uint64_t icount);

/*
 * vmm_record.c: a vCPU's full register state as (id, value) pairs in the
 * trace's REGS numbering, at most VM_STATE_MAX_REGS; returns the count.
 */
#define VM_STATE_MAX_REGS 128
uint32_t vm_collect_regs(struct vcpu *vcpu, struct trace_reg *regs);
/* Set one register given in REGS numbering. */
int vm_restore_reg(struct vcpu *vcpu, const struct trace_reg *reg);

/*
 * vmm_replay_hooks.c, the replayer's side of the recorder hooks (vm_run calls
 * them where recording calls vm_record_*).  Each returns 0, or -1 when
 * the replay diverged (vm_run turns the exit into an error).
 */
int vm_replay_exit(struct vcpu *vcpu, struct vm_exit *vmexit);
int vm_replay_access(struct vcpu *vcpu, struct vm_exit *vmexit);
/*
 * Before an entry: perform the injections and checks due at this point.
 * Returns 0 to enter the guest, 1 when the next recorded exit is already
 * reached (an asynchronous exit at this very state: *vmexit is filled),
 * 2 when the trace has ended (the VM is suspended), 3 when the point of
 * vm_replay_restart()/vm_replay_set_stop() is reached (*vmexit is BOGUS,
 * for the monitor), -1 on divergence.
 */
int vm_replay_before_entry(struct vcpu *vcpu, struct vm_exit *vmexit);
/*
 * After the engine returned: 1 when this exit is rhyve's own (a breakpoint
 * on the way to an asynchronous exit not yet reached, a kick the recording
 * does not have) and the vCPU should simply re-enter; 0 to go on with it
 * (an asynchronous exit reached becomes BOGUS); 2 when it is the
 * monitor's and not an exit of the recording (a debugger's breakpoint or
 * step, a vm_vcpu_kick()); -1 on divergence.
 */
int vm_replay_filter(struct vcpu *vcpu, struct vm_exit *vmexit);
/* vm_set_guest_debug() while replaying: the debugger's part. */
int vm_replay_set_debug(struct vcpu *vcpu, const struct vm_guest_debug *dbg);
void vm_replay_diverged_exit(struct vcpu *vcpu, struct vm_exit *vmexit);
void vm_replay_stop(struct vm *vm);
/* An MSR access kmod answered: the recorded value for a read. */
int vm_replay_msr(struct vcpu *vcpu, bool write, uint32_t msr, uint64_t *value);
/* RDRAND/RDSEED: the recorded value into vmexit->u.random.value. */
int vm_replay_random(struct vcpu *vcpu, struct vm_exit *vmexit);
/*
 * vmm_sched.c's question at a point where the vCPU, at instruction count
 * 'icount', may give up its turn: 1 when the recording's next change of
 * turn is here (consumed; *to is the next vCPU), 0 when not (*at is where
 * it is due, UINT64_MAX: not yet known), -1 on divergence.
 */
int vm_replay_sched(struct vcpu *vcpu, uint64_t icount, int *to, uint64_t *at);

/*
 * vmm_sched.c: one vCPU at a time, on engines with virtual time (NULL
 * vm->sched elsewhere: every vCPU thread runs at once).  The vCPU's
 * thread waits for its turn (acquire: 0, or -1 when the VM is suspended
 * or the monitor wants it); ends it where due before an entry (point: 0,
 * 1 to leave for the monitor, -1 on a replay's divergence); sleeps (mark
 * first, then sleep: 0 its turn again, -1 leave, ESRCH diverged); leaves
 * for the monitor.  Wakers make a sleeping vCPU eligible again.
 */
#define VM_SCHED_QUANTUM 100000 /* instructions in a turn */
int vm_sched_init(struct vm *vm);
void vm_sched_cleanup(struct vm *vm);
bool vm_sched_has_turn(struct vcpu *vcpu);
int vm_sched_acquire(struct vcpu *vcpu);
int vm_sched_point(struct vcpu *vcpu);
void vm_sched_mark_asleep(struct vcpu *vcpu);
int vm_sched_sleep(struct vcpu *vcpu);
void vm_sched_wake(struct vcpu *vcpu);
void vm_sched_enter(struct vcpu *vcpu);
void vm_sched_leave(struct vcpu *vcpu);

/*
 * vmm_sched.c: the scheduler's state, for checkpoints (vmm_run_state.c):
 * whose turn it is (-1: nobody's, all asleep), who had it last and at
 * which instruction count it ended, who sleeps, and where the current
 * turn ends.  Set: EINVAL for a vCPU the VM does not have.
 */
struct vm_sched_state {
	int owner, last;
	uint64_t last_icount;
	uint64_t asleep; /* bit n: vCPU n sleeps */
	uint64_t quantum;
	uint64_t turn_end; /* the owner's instruction count at its turn's end */
};
void vm_sched_get_state(struct vm *vm, struct vm_sched_state *st);
int vm_sched_set_state(struct vm *vm, const struct vm_sched_state *st);

/*
 * vmm_run_state.c: what a checkpoint holds besides registers and memory
 * (CKPT_DEVICE, docs/trace-format.md): a vCPU's run state ("vcpu": asleep
 * in wait-for-SIPI or HLT, INIT/SIPI/NMI pending, its exit count) and the
 * scheduler's ("sched", on the vCPU whose turn it is; 0 bytes without
 * one).  get, load, compare (false: 'why' says what differs), as the
 * fpu's.
 */
#define VM_VCPU_STATE_NAME  "vcpu"
#define VM_VCPU_STATE_SIZE  32
#define VM_SCHED_STATE_NAME "sched"
#define VM_SCHED_STATE_SIZE 56
size_t vm_vcpu_get_state(struct vcpu *vcpu, uint8_t *buf);
int vm_vcpu_set_state(struct vcpu *vcpu, const uint8_t *buf, size_t len);
bool vm_vcpu_state_matches(struct vcpu *vcpu, const uint8_t *buf, size_t len,
			   char *why, size_t whylen);
size_t vm_sched_get_blob(struct vcpu *vcpu, uint8_t *buf);
int vm_sched_set_blob(struct vcpu *vcpu, const uint8_t *buf, size_t len);
bool vm_sched_blob_matches(struct vcpu *vcpu, const uint8_t *buf, size_t len,
			   char *why, size_t whylen);

/* Create / destroy the kmod platform devices (kmod/io). */
int vm_platform_init(struct vm *vm);
void vm_platform_cleanup(struct vm *vm);

void vm_mem_init(struct vm *vm);
/*
 * Pages of guest RAM written since the last call (vmm_mem.c), for the
 * recorder's and replayer's checkpoints.  vm_dirty_start() turns logging
 * on; vm_dirty_pages() fills 'bits' (one bit per RAM page: lowmem's pages,
 * then highmem's, as vm_ram_pages() counts them) and clears the log.
 */
uint64_t vm_ram_pages(const struct vm *vm);
int vm_dirty_start(struct vm *vm);
int vm_dirty_pages(struct vm *vm, uint64_t *bits);
/*
 * vmm_decode.c: decode the instruction behind an INOUT/MMIO exit and check
 * it against the exit; a disagreement turns the exit into an engine error
 * naming both.  Returns 0, or an errno when the state cannot be read.
 */
int vm_exit_decode(struct vcpu *vcpu, struct vm_exit *vmexit);
void vm_mem_cleanup(struct vm *vm);

#endif
