/*
 * kmod: the vmm core, the part of rhyve that bhyve keeps in vmm.ko.
 *
 * A VM owns memory segments and vCPUs; an execution engine (kvm today,
 * interp later) runs the vCPUs.  vm_run() returns one struct vm_exit per
 * event the monitor has to handle, shaped after bhyve's.
 *
 * Everything returns 0 or a positive errno value, as in bhyve's vmm.
 */
#ifndef RHYVE_KMOD_VMM_H
#define RHYVE_KMOD_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86.h"

#define VM_MAXCPU       64
#define VM_NAME_MAX     64
#define VM_LOWMEM_LIMIT (3ULL << 30) /* sysmem below 3 GiB ... */
#define VM_HIGHMEM_BASE (4ULL << 30) /* ... and the rest from 4 GiB */

struct vm;
struct vcpu;

/* Register names, in bhyve's order. */
enum vm_reg_name {
	VM_REG_GUEST_RAX,
	VM_REG_GUEST_RBX,
	VM_REG_GUEST_RCX,
	VM_REG_GUEST_RDX,
	VM_REG_GUEST_RSI,
	VM_REG_GUEST_RDI,
	VM_REG_GUEST_RBP,
	VM_REG_GUEST_R8,
	VM_REG_GUEST_R9,
	VM_REG_GUEST_R10,
	VM_REG_GUEST_R11,
	VM_REG_GUEST_R12,
	VM_REG_GUEST_R13,
	VM_REG_GUEST_R14,
	VM_REG_GUEST_R15,
	VM_REG_GUEST_CR0,
	VM_REG_GUEST_CR3,
	VM_REG_GUEST_CR4,
	VM_REG_GUEST_DR7,
	VM_REG_GUEST_RSP,
	VM_REG_GUEST_RIP,
	VM_REG_GUEST_RFLAGS,
	VM_REG_GUEST_ES,
	VM_REG_GUEST_CS,
	VM_REG_GUEST_SS,
	VM_REG_GUEST_DS,
	VM_REG_GUEST_FS,
	VM_REG_GUEST_GS,
	VM_REG_GUEST_LDTR,
	VM_REG_GUEST_TR,
	VM_REG_GUEST_IDTR,
	VM_REG_GUEST_GDTR,
	VM_REG_GUEST_EFER,
	VM_REG_GUEST_CR2,
	VM_REG_GUEST_CR8,
	VM_REG_GUEST_DR0,
	VM_REG_GUEST_DR1,
	VM_REG_GUEST_DR2,
	VM_REG_GUEST_DR3,
	VM_REG_GUEST_DR6,
	VM_REG_GUEST_INTR_SHADOW,
	/*
	 * Instructions the vCPU has retired, on engines that count them
	 * (interp; kvm: EINVAL).  Recorded with the registers, it pins an
	 * asynchronous exit to its exact instruction.
	 */
	VM_REG_ICOUNT,
	VM_REG_GUEST_XCR0, /* XSETBV's XCR0 (interp; kvm: EINVAL) */
	VM_REG_LAST
};

/*
 * A segment register or descriptor-table register.  'access' holds the
 * descriptor's attribute bits in the VMX access-rights layout, as bhyve
 * does: type[3:0] S[4] DPL[6:5] P[7] AVL[12] L[13] D/B[14] G[15]
 * unusable[16].  For GDTR/IDTR only base and limit matter.
 */
struct seg_desc {
	uint64_t base;
	uint32_t limit;
	uint32_t access;
};

#define SEG_ACC_TYPE(t)  ((t)&0xf)
#define SEG_ACC_S        (1u << 4)
#define SEG_ACC_DPL(d)   (((d)&3) << 5)
#define SEG_ACC_P        (1u << 7)
#define SEG_ACC_L        (1u << 13)
#define SEG_ACC_DB       (1u << 14)
#define SEG_ACC_G        (1u << 15)
#define SEG_ACC_UNUSABLE (1u << 16)

enum vm_exitcode {
	VM_EXITCODE_INOUT,     /* port I/O, plain or string */
	VM_EXITCODE_MMIO,      /* access to guest-physical memory with no RAM */
	VM_EXITCODE_HLT,       /* HLT executed */
	VM_EXITCODE_SUSPENDED, /* the VM stopped: reset, power-off, ... */
	VM_EXITCODE_BOGUS,     /* nothing to do: the engine was kicked */
	VM_EXITCODE_DEBUG,     /* a debug event (breakpoint, single step) */
	VM_EXITCODE_ENGINE_ERROR, /* the engine could not go on */
	VM_EXITCODE_RDMSR,        /* RDMSR of an MSR the engine leaves to us */
	VM_EXITCODE_WRMSR,        /* WRMSR of one */
	VM_EXITCODE_RANDOM,       /* RDRAND/RDSEED: kmod gives the value */
	VM_EXITCODE_MAX
};

enum vm_suspend_how {
	VM_SUSPEND_NONE,
	VM_SUSPEND_RESET,
	VM_SUSPEND_POWEROFF,
	VM_SUSPEND_HALT,
	VM_SUSPEND_TRIPLEFAULT,
	VM_SUSPEND_LAST
};

/*
 * Port I/O.  For IN the monitor fills 'data' (count * bytes bytes for string
 * I/O); vm_run() delivers it to the guest on the next entry.  For OUT,
 * 'data' holds what the guest wrote.
 */
struct vm_inout {
	uint16_t port;
	uint8_t bytes; /* 1, 2 or 4 */
	bool in;
	bool string;    /* INS/OUTS */
	bool rep;       /* string with REP, as far as the engine knows */
	uint32_t count; /* number of elements; 1 unless string */
	uint8_t *data;  /* engine-owned buffer of count * bytes */
};

struct vm_mmio {
	uint64_t gpa;
	uint8_t bytes; /* 1, 2, 4 or 8 */
	bool write;
	uint64_t data; /* written value, or the value to return for a read */
};

/*
 * One exit.  'rip' is the guest rip as the engine left it: for kvm that is
 * the instruction's own address on the hardware fast path but the next
 * instruction's where KVM emulated the instruction (OUT under KVM's
 * emulator, e.g. on PVM hosts), so only a decode of the instruction pins
 * it down.
 */
struct vm_exit {
	enum vm_exitcode exitcode;
	/*
	 * Length of the instruction behind the exit, 0 where the engine does
	 * not know it (kvm: KVM reports none; the decoder of the emul layer
	 * fills it in).
	 */
	int inst_length;
	uint64_t rip;
	/*
	 * The instruction behind an INOUT or MMIO exit, decoded by kmod and
	 * checked against the engine's report (rip and inst_length then
	 * name that instruction).
	 */
	bool has_insn;
	uint8_t insn_bytes[15];
	struct x86_instr insn;
	union {
		struct vm_inout inout;
		struct vm_mmio mmio;
		/*
		 * RDMSR/WRMSR: 'value' is what the guest wrote, or what a
		 * read returns (filled in by whoever handles it).  Unless
		 * the access faults (vm_inject_exception() with #GP), the
		 * next vm_run() completes the instruction.
		 */
		struct {
			uint32_t msr;
			uint64_t value;
		} msr;
		/*
		 * RDRAND/RDSEED (interp): kmod fills in 'value' from the
		 * host, recorded, or from the trace when replaying; the next
		 * vm_run() completes the instruction.
		 */
		struct {
			uint8_t bytes; /* 2, 4, 8 */
			bool rdseed;
			uint64_t value;
		} random;
		struct {
			uint64_t rflags;
		} hlt;
		struct {
			enum vm_suspend_how how;
		} suspended;
		struct {
			uint64_t dr6; /* which breakpoint, or BS for a step */
		} debug;
		struct {
			uint32_t reason; /* engine-specific code */
			uint32_t suberror;
			char msg[256];
		} error;
	} u;
};

/*
 * Execution engines ("kvm"; "interp" later) live in their own folders
 * under kmod/; vm_create() picks one by name.
 */
const char *vm_engine_name(const struct vm *vm);
/*
 * Virtual time: on engines that count instructions (interp) the VM's
 * clock, which every timer and the TSC follow, is the engine's -- one ns
 * per instruction retired, 1 us per port access, 140 ns per PAUSE -- not
 * the host's.  When
 * every vCPU is idle it jumps to the next timer deadline, unless
 * vm_set_idle_skip(vm, false) (config vm.idle_skip=false): then idle
 * vCPUs wait for that deadline in host time.
 */
bool vm_virtual_time(const struct vm *vm);
int vm_set_idle_skip(struct vm *vm, bool on);
/*
 * The interp engine's block translator (config interp.jit): hot guest
 * code runs as host code, with the same instruction counts, exits and
 * state as the interpreter's.  Before the vCPUs are created; ENOTSUP on
 * engines without one.
 */
int vm_set_jit(struct vm *vm, bool on);
/*
 * Such engines also run one vCPU at a time, in turns of 'insns'
 * instructions (100000 unless set; config vm.quantum), round-robin, so an
 * SMP guest runs (and replays) in one order.  ENOTSUP on other engines.
 */
int vm_set_quantum(struct vm *vm, uint64_t insns);

/* VM life cycle.  'errbuf' receives a one-line reason on failure. */
int vm_create(const char *name, const char *engine, struct vm **vmp,
	      char *errbuf, size_t errlen);
void vm_destroy(struct vm *vm);
const char *vm_name(const struct vm *vm);

/*
 * Memory segments as in bhyve: segment VM_SYSMEM is guest RAM; devmem
 * segments have a name and are mapped into the guest-physical space (or
 * not) by vm_mmap_memseg().  Segment memory is host memory owned by kmod.
 */
#define VM_SYSMEM     0
#define VM_MAX_MEMSEG 8
#define VM_MAX_MEMMAP 16

int vm_alloc_memseg(struct vm *vm, int segid, size_t len, bool sysmem,
		    const char *name);
int vm_mmap_memseg(struct vm *vm, uint64_t gpa, int segid, uint64_t off,
		   size_t len, bool readonly);
int vm_munmap_memseg(struct vm *vm, uint64_t gpa, size_t len);
void *vm_memseg_ptr(struct vm *vm, int segid, size_t *lenp);
/* System memory of 'len' bytes: below 3 GiB, then the rest from 4 GiB. */
int vm_setup_memory(struct vm *vm, size_t len);
size_t vm_lowmem_size(const struct vm *vm);
size_t vm_highmem_size(const struct vm *vm);
/* Host address of [gpa, gpa+len) if it is all mapped memory, else NULL. */
void *vm_map_gpa(struct vm *vm, uint64_t gpa, size_t len);

/* vCPUs */
int vm_vcpu_create(struct vm *vm, int id, struct vcpu **vcpup);
struct vcpu *vm_vcpu(struct vm *vm, int id);
int vm_vcpu_count(const struct vm *vm);
int vcpu_id(const struct vcpu *vcpu);
struct vm *vcpu_vm(struct vcpu *vcpu);

/*
 * Registers by enum vm_reg_name; for segment registers (ES..TR) the value
 * is the selector, as in bhyve.  Base, limit and attributes of segments
 * and the descriptor tables go through the seg_desc calls.
 */
int vm_get_register(struct vcpu *vcpu, int reg, uint64_t *val);
int vm_set_register(struct vcpu *vcpu, int reg, uint64_t val);
int vm_get_seg_desc(struct vcpu *vcpu, int reg, struct seg_desc *desc);
int vm_set_seg_desc(struct vcpu *vcpu, int reg, const struct seg_desc *desc);
int vm_get_msr(struct vcpu *vcpu, uint32_t msr, uint64_t *val);
int vm_set_msr(struct vcpu *vcpu, uint32_t msr, uint64_t val);
/*
 * The x87 and SSE registers, as FXSAVE keeps them: st[i] is ST(i) (80
 * bits in 16 bytes), ftw the abridged tag (a bit per physical register,
 * 1 = not empty), fip/fdp the 64-bit last instruction and operand
 * pointers.
 */
struct vm_fpu {
	uint8_t st[8][16];
	uint16_t fcw, fsw;
	uint8_t ftw;
	uint16_t fop;
	uint64_t fip, fdp;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
};
int vm_get_fpu(struct vcpu *vcpu, struct vm_fpu *fpu);
int vm_set_fpu(struct vcpu *vcpu, const struct vm_fpu *fpu);

/*
 * Run the vCPU until the next exit the monitor must see.  The exit stays
 * valid (including inout.data) until the next vm_run() on this vCPU, and
 * that call takes the results of reads from it (IN data in inout.data, an
 * MMIO read in mmio.data): pass the same struct back every time.
 */
int vm_run(struct vcpu *vcpu, struct vm_exit *vmexit);
/*
 * Guest debugging, as KVM_SET_GUEST_DEBUG: up to four hardware
 * breakpoints/watchpoints in the debug registers' own encoding (dr[0-3]
 * addresses, dr7 with the L0-L3 enables and R/W, LEN fields), and
 * single-stepping.  A hit or a step ends vm_run() with VM_EXITCODE_DEBUG
 * (u.debug.dr6 says which).  While it is on, the guest's own debug
 * registers are not in effect on kvm; the interp engine keeps them in
 * effect beside the debugger's, which are checked first.  Data
 * breakpoints (R/W 01, 11) hit on every access where
 * vm_data_breakpoints() (interp); on kvm not in code KVM's instruction
 * emulator runs.  While single-stepping, kmod injects no
 * interrupts (they stay pending), so a step executes the next
 * instruction and not the first of a handler.  enable = false turns it
 * all off.
 */
struct vm_guest_debug {
	bool enable;
	bool singlestep;
	uint64_t dr[4];
	uint64_t dr7;
	/*
	 * Engines that count instructions (VM_REG_ICOUNT): when the count
	 * reaches stop_icount (0: never), stop before the next instruction
	 * with VM_EXITCODE_DEBUG, dr6 0.  Independent of 'enable'.
	 */
	uint64_t stop_icount;
};
int vm_set_guest_debug(struct vcpu *vcpu, const struct vm_guest_debug *dbg);
bool vm_data_breakpoints(const struct vm *vm);
/*
 * Guest linear -> physical through the vCPU's current paging state (CR0,
 * CR3, CR4, EFER, CPL), emul's walker with 'access' (X86_MEM_*; a
 * debugger passes X86_MEM_PEEK).  0 with *fault false and *gpa, or
 * *fault true where the guest would fault; EIO if the state is not
 * readable.  From the vCPU's thread, or while it is stopped.
 */
int vm_gla2gpa_nofault(struct vcpu *vcpu, uint64_t gla, int access,
		       uint64_t *gpa, bool *fault);

/*
 * The monitor holds the vCPU's thread outside vm_run() (a debugger's
 * stop): where vCPUs run one at a time (vm_set_quantum()), the others
 * may run meanwhile.  The next vm_run() takes its turn back.
 */
void vm_vcpu_hold(struct vcpu *vcpu);
/*
 * One vCPU at a time (interp): the vCPU whose turn it is (vCPU 0 where
 * vCPUs run at once, or nobody has it).  With 'on', the vCPU's vm_run()
 * returns (VM_EXITCODE_BOGUS) when its turn ends instead of waiting for
 * the next one: one thread runs every vCPU in turn (reverse execution on
 * a replay), the vCPUs' own threads held outside vm_run().
 */
struct vcpu *vm_turn_vcpu(struct vm *vm);
void vm_vcpu_return_on_turn_end(struct vcpu *vcpu, bool on);
/* Make a vm_run() in another thread return soon with VM_EXITCODE_BOGUS. */
void vm_vcpu_kick(struct vcpu *vcpu);

/*
 * Interrupt lines for the monitor's devices, as bhyve's vm_isa_*_irq():
 * an ISA IRQ on the PIC pair (and later the same line on the I/O APIC;
 * ioapic_irq -1: none).  Edge devices pulse; level devices assert and
 * deassert.
 */
int vm_isa_assert_irq(struct vm *vm, int atpic_irq, int ioapic_irq);
int vm_isa_deassert_irq(struct vm *vm, int atpic_irq, int ioapic_irq);
int vm_isa_pulse_irq(struct vm *vm, int atpic_irq, int ioapic_irq);
/* The I/O APIC's pins (0-23), as bhyve's vm_ioapic_*_irq(). */
int vm_ioapic_assert_irq(struct vm *vm, int pin);
int vm_ioapic_deassert_irq(struct vm *vm, int pin);
int vm_ioapic_pulse_irq(struct vm *vm, int pin);
/* An MSI: address and data as the Intel SDM 10.11 lays them out. */
int vm_lapic_msi(struct vm *vm, uint64_t addr, uint64_t data);
/* Pulse a local APIC's LINT0/LINT1 pin (as its LVT entry says). */
int vm_lapic_local_irq(struct vcpu *vcpu, int lint);
/*
 * DMA: a device's write into guest RAM.  Devices hand finished data over
 * instead of writing guest memory themselves; vCPU 0 writes it at its
 * next event boundary (before an interrupt raised after this call) and
 * the recorder logs it there (vmm_dma.c).  0, or EFAULT where the range
 * is not all RAM, ENOMEM.
 */
int vm_dma_write(struct vm *vm, uint64_t gpa, const void *data, size_t len);
/* Raise an NMI on a vCPU. */
void vm_inject_nmi(struct vcpu *vcpu);
/*
 * Raise exception 'vector' (with error code 'ec' if 'has_ec') on the
 * vCPU's next entry, from its own thread between vm_run() calls: e.g.
 * #GP (13) for an MSR exit nobody handles.  Recorded as an injection.
 */
int vm_inject_exception(struct vcpu *vcpu, int vector, bool has_ec,
			uint32_t ec);

/*
 * The RTC (MC146818, kmod/io/vrtc.c), as bhyve's vm_rtc_settime() and
 * friends.  Its time is seconds since 1970-01-01 00:00:00 as the RTC's
 * registers show it, read as UTC (a localtime RTC is the caller's
 * conversion): the RTC starts a new second at the call and counts on
 * the VM clock from there.  A VM starts with the host's UTC time;
 * the monitor sets the configured time before the vCPUs run.  EINVAL:
 * outside years 0000-9999; EBUSY: the guest has halted the clock (SET or
 * divider reset), its registers are the guest's.
 */
int vm_rtc_set_time(struct vm *vm, int64_t secs);
/* The RTC's time now; EINVAL if the guest left it an invalid date. */
int vm_rtc_get_time(struct vm *vm, int64_t *secs);
/*
 * CMOS bytes 14-255 (NVRAM; 0x32 is the century and reads as the clock
 * does), for firmware data such as bhyve's memory sizes.  Writes to the
 * clock and the control registers (0-13, 0x32) are refused: EINVAL.
 */
int vm_rtc_nvram_write(struct vm *vm, int offset, uint8_t value);
int vm_rtc_nvram_read(struct vm *vm, int offset, uint8_t *value);

/* The HPET's capabilities and ID register (kmod/io/vhpet.c). */
int vm_hpet_capabilities(struct vm *vm, uint64_t *cap);

/*
 * Recording (vmm_record.c): from vm_record_start() on, every exit, the
 * instruction behind it, every access with the value the guest got and
 * every injection go to the trace writer (trace/trace.h), which stays the
 * caller's to close.  vm_record_checkpoint() writes the vCPUs' registers
 * and the non-zero guest memory.
 */
struct trace_writer;
int vm_record_start(struct vm *vm, struct trace_writer *w);
bool vm_recording(const struct vm *vm);
int vm_record_checkpoint(struct vm *vm);
/*
 * Further checkpoints, each with the pages written since the one before:
 * every 'exits' exits or 'ns' ns of the VM's clock, whichever comes
 * first (0: not by that measure), between two exits of the vCPU that
 * runs (exits of all vCPUs count).  ENOTSUP for a VM whose several vCPUs
 * run at once (kvm): only one at a time (interp) can be stopped for one.
 */
int vm_record_set_checkpoints(struct vm *vm, uint64_t exits, uint64_t ns);
void vm_record_marker(struct vm *vm, const char *text);
/*
 * Host input as it arrived (console bytes; 'source' says from where, a
 * COM unit for a UART): for the record.  What the guest made of it is in
 * the values its reads got.
 */
void vm_record_input(struct vm *vm, uint32_t source, const uint8_t *data,
		     size_t len);
void vm_record_end(struct vm *vm, int status);
void vm_record_stop(struct vm *vm);

/*
 * Replay (vmm_replay.c): vm_replay_start() loads the trace's first
 * checkpoint into a VM built from the trace header (same memory size and
 * vCPU count), and the later ones up to checkpoint 'from' (0: start at
 * the beginning), and turns vm_run() into a replayer: reads are answered and
 * interrupts injected from the trace, not by devices; every exit is
 * compared with the recorded one, asynchronous exits are reached again
 * with a hardware breakpoint and a full register compare, checkpoints
 * are compared register by register and page by page.  The first
 * difference turns the exit into VM_EXITCODE_ENGINE_ERROR ("replay
 * diverged ...") and vm_replay_report() holds the full report.  When the
 * trace's end is reached the VM is suspended.  vm_replay_finish() checks
 * what remains (the final checkpoint, the end) once the vCPUs have
 * stopped: 0 and the recorded exit status in *status, or -1 (diverged;
 * see the report).
 */
struct trace_reader;
int vm_replay_start(struct vm *vm, struct trace_reader *r, uint64_t from,
		    char *errbuf, size_t errlen);
bool vm_replaying(const struct vm *vm);
int vm_replay_finish(struct vm *vm, int status, int *recorded_status);
const char *vm_replay_report(const struct vm *vm);
struct vm_replay_stats {
	uint64_t events; /* trace events consumed */
	uint64_t exits;  /* exits compared */
	uint64_t async; /* of those, asynchronous exits reached by breakpoint */
	uint64_t checkpoints; /* checkpoints compared */
	uint64_t recorded_ns; /* the recording's duration */
	uint64_t mem_hash;    /* FNV-1a of guest RAM at the end */
};
void vm_replay_stats(const struct vm *vm, struct vm_replay_stats *st);
/*
 * Debugging a replay.  The debugger has debug registers 0-2
 * (VM_REPLAY_DEBUG_SLOTS; vm_set_guest_debug() refuses register 3 with
 * EBUSY, the replayer's); its breakpoints and steps and vm_vcpu_kick()
 * end vm_run() without counting as exits of the recording.
 * vm_replay_restart() goes back: the state of the nearest checkpoint at
 * or before the VM's exit 'exits' (exits of all vCPUs: one runs at a time
 * in a replay of several, in the trace's order), read again through 'r'
 * (a new reader of the same trace), after which vm_run() replays forward
 * and returns VM_EXITCODE_BOGUS with vm_replay_at_stop() true once the VM
 * is after that exit (its access complete, the injections after it not
 * yet done), in whichever vCPU runs next.  vm_replay_set_stop() asks for
 * such a stop later on.
 * vm_replay_exits() is the VM's exit count (all vCPUs'),
 * vm_replay_checkpoints() vCPU 0's at each checkpoint seen so far (up to 'max';
 * their number). A debugger's single step that ends in the handler of an event
 * the replay delivered (the step's stand-in is a breakpoint there) has DR6 B3
 * set besides BS.
 */
#define VM_REPLAY_DEBUG_SLOTS 3
int vm_replay_restart(struct vm *vm, struct trace_reader *r, uint64_t exits,
		      char *errbuf, size_t errlen);
void vm_replay_set_stop(struct vcpu *vcpu, uint64_t exits);
bool vm_replay_at_stop(struct vcpu *vcpu);
uint64_t vm_replay_exits(const struct vcpu *vcpu);
size_t vm_replay_checkpoints(const struct vm *vm, uint64_t *exits, size_t max);

/*
 * CPUID (vmm_cpuid.c): every vCPU gets rhyve's own table, decided from
 * what the engine supports, the topology and the deterministic flag (set
 * them before the vCPUs run).  vm_set_topology(): 'sockets' packages of
 * 'cores' cores of 'threads' threads, at most VM_MAXCPU in all (EINVAL).
 * Deterministic: TSC, TSC-deadline, RDRAND, RDSEED, RDPID, RDTSCP and
 * the invariant TSC are hidden, so that well-behaved guests take time
 * and randomness from rhyve's devices, whose reads are recorded.
 */
struct vm_cpuid_entry {
	uint32_t leaf, subleaf;
	uint32_t eax, ebx, ecx, edx;
};

int vm_set_topology(struct vm *vm, int sockets, int cores, int threads);
void vm_get_topology(const struct vm *vm, int *sockets, int *cores,
		     int *threads);
int vm_set_deterministic(struct vm *vm, bool on);
bool vm_deterministic(const struct vm *vm);
/* The vCPU's table: its entry count, *tablep valid until it changes. */
int vm_get_cpuid_table(struct vcpu *vcpu, const struct vm_cpuid_entry **tablep);
/* Install a table (a replay's, from the trace) in place of rhyve's. */
int vm_set_cpuid_table(struct vcpu *vcpu, const struct vm_cpuid_entry *table,
		       int n);
/* CPUID as the vCPU sees it: 0, or ENOENT (a leaf not there: zeros). */
int vm_cpuid(struct vcpu *vcpu, uint32_t leaf, uint32_t subleaf,
	     uint32_t regs[4]);

/* Suspension: the first reason set wins; every vCPU then stops. */
int vm_suspend(struct vm *vm, enum vm_suspend_how how);
enum vm_suspend_how vm_suspended(const struct vm *vm);

const char *vm_exitcode_name(enum vm_exitcode code);
const char *vm_reg_name(int reg);
/*
 * The registers that tell one point of a run from another: the general
 * registers, rip, rflags, CR0, CR3 and CR4 (a replay's divergence report
 * prints them, reverse execution recognises a point by them).
 */
#define VM_POINT_NREGS 21
extern const int vm_point_regs[VM_POINT_NREGS];

#endif
