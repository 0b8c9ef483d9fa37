/*
 * kmod/interp: rhyve's own x86-64 CPU, the "interp" engine.
 *
 * This header is the whole internal API of the engine: the vCPU state,
 * what an instruction's execution comes to, guest memory and operand
 * access, the lazily computed arithmetic flags, and the instruction
 * tables each file contributes.  vmm_interp.c turns it into a struct
 * vmm_engine; nothing outside kmod/interp includes it.
 *
 * Execution is decode (emul's decoder) then dispatch on the mnemonic id.
 * An instruction handler follows one rule that makes exceptions precise
 * and lets an instruction stop halfway for an exit: every read and every
 * check that can fault comes before the first architectural write, and
 * guest memory is written before registers.  A handler that returns
 * anything but INTERP_OK has changed nothing but (possibly) memory it had
 * already finished with; with INTERP_RESTART the instruction is executed
 * again from its start once the monitor has supplied what it needed.
 */
#ifndef RHYVE_KMOD_INTERP_H
#define RHYVE_KMOD_INTERP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vmm_impl.h"
#include "x86.h"

struct interp_vm;
struct interp_cpu;

/* What executing one instruction came to. */
enum interp_rc {
	INTERP_OK = 0,  /* done: rip <- next_rip */
	INTERP_FAULT,   /* it raised c->exc; nothing changed */
	INTERP_RESTART, /* it needs a value from outside (an MMIO load, IN,
			 * an MSR kmod owns): c->exit is filled in; it is
			 * executed again once the value is there */
	INTERP_EXIT,    /* done (rip <- next_rip), then exit with c->exit
			 * (OUT, an MMIO store, HLT) */
	INTERP_ERROR,   /* rhyve cannot go on (c->exit: engine error) */
};

/* An exception an instruction raises (INTERP_FAULT). */
struct interp_exc {
	uint8_t vector;
	bool has_ec;
	uint32_t ec;
	uint64_t cr2; /* #PF */
};

/* A segment register: selector and hidden part. */
struct interp_seg {
	uint16_t sel;
	struct x86_segdesc desc; /* base, byte limit, VMX access rights */
};

/*
 * Lazy arithmetic flags (CF PF AF ZF SF OF), as Bochs and QEMU keep them:
 * the common ALU instructions record their operands and result, and the
 * flags are computed when something reads them.  INTERP_LF_NONE: the
 * flags are exact in rflags.
 */
enum interp_lf_op {
	INTERP_LF_NONE = 0,
	INTERP_LF_ADD,   /* res = src1 + src2 */
	INTERP_LF_ADC,   /* res = src1 + src2 + CF(aux) */
	INTERP_LF_SUB,   /* res = src1 - src2 (also CMP) */
	INTERP_LF_SBB,   /* res = src1 - src2 - CF(aux) */
	INTERP_LF_LOGIC, /* AND OR XOR TEST: CF = OF = 0, AF = 0 */
	INTERP_LF_INC,   /* res = src1 + 1; CF kept (aux) */
	INTERP_LF_DEC,   /* res = src1 - 1; CF kept (aux) */
	INTERP_LF_NEG,   /* res = 0 - src1 */
};

struct interp_lflags {
	uint8_t op;   /* enum interp_lf_op */
	uint8_t size; /* operand size in bytes: 1, 2, 4, 8 */
	uint64_t res, src1, src2;
	uint64_t aux; /* carry in (ADC, SBB), old CF (INC, DEC) */
};

#define INTERP_ARITH_FLAGS (PSL_C | 0x4 | 0x10 | PSL_Z | 0x80 | PSL_V)
#define INTERP_PSL_P       0x4ULL
#define INTERP_PSL_A       0x10ULL
#define INTERP_PSL_S       0x80ULL

/* Guest-physical memory slots, as the engine's mem_map() gets them. */
#define INTERP_MAX_SLOTS VM_MAX_MEMMAP

struct interp_slot {
	bool used, readonly;
	uint64_t gpa, len;
	uint8_t *host;
	_Atomic(uint64_t) *dirty; /* one bit per page while logging */
};

struct interp_vm {
	struct vm *vm;
	struct interp_slot slots[INTERP_MAX_SLOTS];
	/* Bumped when a slot or its dirty logging changes: the host pages
	 * TLB entries made before are no longer to be used. */
	_Atomic uint32_t slots_gen;
	/* interp.jit: new vCPUs run translated blocks (interp_jit.c). */
	bool jit;
};

/* A pending event to deliver before the next instruction. */
struct interp_event {
	bool pending;
	uint8_t type; /* INTERP_EV_* */
	uint8_t vector;
	bool has_ec;
	uint32_t ec;
};
#define INTERP_EV_EXTINT 0 /* external interrupt */
#define INTERP_EV_NMI    1
#define INTERP_EV_EXC    2 /* exception (kmod's inject_exception) */

/* One completed MMIO load, for the instruction's re-execution. */
struct interp_mmio_done {
	uint64_t gpa;
	uint8_t bytes;
	uint64_t value;
};
/*
 * Pieces of at most 8 bytes: FXSAVE/FXRSTOR's 512 bytes (FNSAVE's 108)
 * are 64 of them, one more where the area straddles a page; XSAVE's
 * legacy area and header 73.
 */
#define INTERP_MMIO_DONE_MAX   80
#define INTERP_MMIO_STORES_MAX 80

/*
 * A TLB entry (interp_mem.c): a linear page's guest-physical page and,
 * where the whole page is RAM the access may use directly (for a write:
 * writable and not dirty-logged), its host address, valid while the
 * slots are those of generation 'gen'.
 */
struct interp_tlb_entry {
	uint64_t tag; /* page number, privilege context, valid; 0: empty */
	uint64_t gpa;
	uint8_t *host; /* NULL: not directly usable (MMIO, dirty log, ...) */
	uint32_t gen;  /* ivm->slots_gen when made */
};
#define INTERP_TLB_SIZE 256

/*
 * The decoded-instruction cache (interp_exec.c), by guest-physical
 * address.  An entry keeps the instruction's bytes and is used only while
 * memory still holds them, so code written by the guest, DMA or a
 * debugger is decoded again without any invalidation protocol.
 */
struct interp_dcache_entry {
	uint64_t gpa; /* ~0: empty */
	uint8_t mode, len;
	uint8_t bytes[15];
	/* The bytes as two words and the mask of the instruction's part, to
	 * compare with memory in two loads. */
	uint64_t word[2], mask[2];
	struct x86_instr insn;
};
#define INTERP_DCACHE_SIZE 2048

struct interp_cpu {
	struct interp_vm *ivm;
	struct vcpu *vcpu;
	int id;

	/* Architectural state. */
	uint64_t gpr[16]; /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
	uint64_t rip;
	uint64_t rflags; /* arithmetic bits exact only with LF_NONE */
	struct interp_lflags lf;
	struct interp_seg seg[6]; /* es cs ss ds fs gs (X86_R_ES + i) */
	struct interp_seg ldtr, tr;
	struct x86_segdesc gdtr, idtr; /* base and limit */
	uint64_t cr0, cr2, cr3, cr4, cr8, efer, xcr0;
	uint32_t mxcsr_mask; /* MXCSR's bits; 0: INTERP_MXCSR_MASK */
	uint64_t dr[4], dr6, dr7;
	/* MSRs the CPU keeps (the rest are kmod's or #GP). */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t pat, tsc_offset, tsc_aux, misc_enable, mtrr_def_type;
	struct vm_fpu fpu; /* x87/SSE, FXSAVE's layout */

	/* Interrupt state. */
	bool intr_shadow; /* after STI / MOV SS / POP SS */
	bool nmi_blocked; /* in an NMI handler until IRET */
	bool nmi_queued;  /* an NMI waits for nmi_blocked to clear */
	bool want_window; /* exit once interrupts can be taken */
	struct interp_event event;

	/* The instruction being executed. */
	uint64_t next_rip;
	struct interp_exc exc;
	struct vm_exit *exit;
	/* MMIO loads the monitor answered, for the re-execution. */
	struct interp_mmio_done mmio_done[INTERP_MMIO_DONE_MAX];
	unsigned int nmmio_done, mmio_used;
	/* MMIO stores of the instruction, reported one exit each after it
	 * has completed. */
	struct interp_mmio_done mmio_stores[INTERP_MMIO_STORES_MAX];
	unsigned int nmmio_stores, mmio_store_next;
	/* ... and the instruction they came from (its rip, decode, bytes). */
	uint64_t store_rip;
	struct x86_instr store_insn;
	uint8_t store_bytes[15];
	/* The last exit's values for the restarted instruction: IN data
	 * (io_buf is the exit's inout.data), an RDMSR's value, RDRAND's
	 * bits (msr_value). */
	bool io_done, msr_done;
	uint8_t io_buf[8];
	uint64_t msr_value;
	bool pending_restart; /* the last exit restarts its instruction */
	bool shadow_set;      /* this instruction blocks interrupts (STI) */

	/* Debugging (vm_set_guest_debug). */
	struct vm_guest_debug debug;
	/* The debug facilities between instructions (interp_debug.c). */
	bool db_armed;     /* the guest's DR7 or the host has a breakpoint */
	bool db_watch;     /* ... a data or I/O one: accesses are checked */
	bool db_ss_shadow; /* this instruction follows MOV SS / POP SS */
	bool soft_int;     /* this instruction delivered INT n/INT3/INTO/INT1 */
	uint64_t db_hits, db_host_hits; /* B0-B3 this instruction hit */
	uint64_t db_shadow;             /* traps MOV SS / POP SS hold back */
	uint64_t db_pending;      /* DR6 bits of the guest's #DB trap due */
	uint64_t db_host_pending; /* DR6 bits of a debug exit due */

	/* CPUID as kmod decided it (set_cpuid). */
	struct vm_cpuid_entry cpuid[VM_CPUID_MAX];
	int ncpuid;

	/* From CPUID: MAXPHYADDR and whether 1 GiB pages exist. */
	unsigned int maxphyaddr;
	bool no_page1gb;

	struct interp_dcache_entry *dcache; /* INTERP_DCACHE_SIZE */
	struct x86_instr slow_insn;         /* one not from the cache */
	/* The TLB per access type (read, write, fetch). */
	struct interp_tlb_entry tlb[3][INTERP_TLB_SIZE];

	_Atomic bool kicked;
	uint64_t icount; /* instructions retired */
	/* kmod's scheduler (vmm_sched.c): the turn ends at this count
	 * (0: no end). */
	uint64_t yield_icount;
	/* The instruction step() last fetched (NULL: its fetch faulted),
	 * valid until the next one; for the lockstep tester. */
	const struct x86_instr *last_insn;
	/* Virtual time not yet added to the VM's clock (ns), and the next
	 * timer deadline as last read. */
	uint64_t vtime_pending, deadline;
	/* The block translator (interp_jit.c; NULL: off), the guest's
	 * arithmetic flags as host RFLAGS while a block runs, and the host
	 * page of the running block's code (its stores there end it). */
	struct interp_jit *jit;
	uint64_t jit_hf, jit_page;
};

/* ---- interp_mem.c: guest memory ------------------------------------- */

/* Host address of guest-physical [gpa, gpa+len) if it is all one RAM
 * slot, else NULL; 'write' refuses read-only slots and marks pages dirty. */
uint8_t *interp_gpa_host(struct interp_vm *ivm, uint64_t gpa, size_t len,
			 bool write);
/* Forget cached translations: all (CR3, CR0/CR4/EFER paging bits, a
 * full INVPCID) or one linear page (INVLPG). */
void interp_tlb_flush(struct interp_cpu *c);
void interp_tlb_flush_page(struct interp_cpu *c, uint64_t gla);
/* Linear -> guest-physical for one access within a page (TLB, then the
 * walker): INTERP_OK, INTERP_FAULT or INTERP_ERROR. */
int interp_translate(struct interp_cpu *c, uint64_t gla, int access,
		     uint64_t *gpa);
/* The paging state now, for emul's walker. */
void interp_paging(const struct interp_cpu *c, struct x86_paging *pg);

/* Current privilege level (SS.DPL, which is CPL in protected mode). */
static inline unsigned int
interp_cpl(const struct interp_cpu *c)
{
	if (!(c->cr0 & CR0_PE))
		return 0;
	if (c->rflags & PSL_VM)
		return 3;
	return (c->seg[X86_R_SS - X86_R_ES].desc.access >> 5) & 3;
}

/* A TLB tag: the linear page and the privilege context of the access
 * (user, RFLAGS.AC, implicit supervisor access), so that a hit gives the
 * answer a walk would. */
static inline uint64_t
interp_tlb_tag(const struct interp_cpu *c, uint64_t gla, int access)
{
	uint64_t ctx = (access & X86_MEM_IMPLICIT) ? 4
		       : interp_cpl(c) == 3        ? 1
						   : 0;

	if (c->rflags & PSL_AC)
		ctx |= 2;
	return (gla >> 12) << 4 | ctx | 8; /* 8: valid */
}

/*
 * The fast path: the host address of linear [gla, gla+size) (within one
 * page) when the TLB already holds the translation for this access and
 * its page is RAM to use directly (the whole page is then in host
 * memory), with *gpa; else NULL, and the slow path (interp_translate(),
 * interp_gpa_host()) gives the answer, faults and MMIO included.
 */
static inline uint8_t *
interp_tlb_host(struct interp_cpu *c, uint64_t gla, size_t size, int access,
		uint64_t *gpa)
{
	int type = access & X86_MEM_TYPE;
	const struct interp_tlb_entry *e;

	if ((gla & 0xfff) + size > 4096 || !(c->cr0 & CR0_PG) ||
	    type == X86_MEM_TYPE ||
	    (access & (X86_MEM_NOSIDE | X86_MEM_NOPERM)))
		return NULL;
	e = &c->tlb[type][(gla >> 12) % INTERP_TLB_SIZE];
	if (e->tag != interp_tlb_tag(c, gla, access) || e->host == NULL ||
	    e->gen !=
		atomic_load_explicit(&c->ivm->slots_gen, memory_order_relaxed))
		return NULL;
	*gpa = e->gpa | (gla & 0xfff);
	return e->host + (gla & 0xfff);
}
enum x86_seg_mode interp_seg_mode(const struct interp_cpu *c);

/* The decoding mode (16/32/64) from CS and EFER. */
static inline enum x86_mode
interp_code_mode(const struct interp_cpu *c)
{
	uint32_t cs = c->seg[X86_R_CS - X86_R_ES].desc.access;

	if (!(c->cr0 & CR0_PE) || (c->rflags & PSL_VM))
		return X86_MODE_16;
	if ((c->efer & EFER_LMA) && (cs & X86_SEG_L))
		return X86_MODE_64;
	return (cs & X86_SEG_DB) ? X86_MODE_32 : X86_MODE_16;
}

/*
 * Guest memory by linear address: 'access' is X86_MEM_READ/WRITE/EXEC
 * with X86_MEM_IMPLICIT / X86_MEM_STACK.  RAM is read and written
 * directly; guest-physical addresses without RAM become MMIO: a load
 * returns INTERP_RESTART with an MMIO exit the first time and the
 * monitor's value on the re-execution; a store is queued (INTERP_OK) and
 * reported as MMIO exits, one per piece of at most 8 bytes, once the
 * instruction has completed.  Every page is translated (and may fault)
 * before anything is written.  Returns INTERP_OK, INTERP_FAULT (#PF/#GP/
 * #SS in c->exc), INTERP_RESTART, or INTERP_ERROR.
 */
int interp_lin_read(struct interp_cpu *c, uint64_t gla, void *buf, size_t size,
		    int access);
int interp_lin_write(struct interp_cpu *c, uint64_t gla, const void *buf,
		     size_t size, int access);
/* Through segment 'seg' (X86_R_ES..X86_R_GS) at offset 'off' with
 * address size 'asz' (2, 4, 8): the segment checks first. */
int interp_mem_read(struct interp_cpu *c, unsigned int seg, uint64_t off,
		    unsigned int asz, void *buf, size_t size, int access);
int interp_mem_write(struct interp_cpu *c, unsigned int seg, uint64_t off,
		     unsigned int asz, const void *buf, size_t size,
		     int access);
/* Check that an access would succeed (segment, paging) without making
 * it: INTERP_OK or INTERP_FAULT. */
int interp_mem_probe(struct interp_cpu *c, unsigned int seg, uint64_t off,
		     unsigned int asz, size_t size, int access);
/*
 * For a locked read-modify-write (LOCK, XCHG with memory): the host
 * address of the 'size' bytes at seg:off after the segment and paging
 * checks of 'access' (a write: accessed and dirty bits set, the page
 * marked dirty).  *hp is NULL when they are not RAM, not naturally
 * aligned or not writable RAM: the caller then reads and writes them as
 * usual (an MMIO or split lock is not atomic against other vCPUs).
 */
int interp_mem_host(struct interp_cpu *c, unsigned int seg, uint64_t off,
		    unsigned int asz, size_t size, int access, void **hp);
/* Raise an exception from a handler: always returns INTERP_FAULT. */
int interp_raise(struct interp_cpu *c, unsigned int vector, bool has_ec,
		 uint32_t ec);
int interp_raise_fault(struct interp_cpu *c, const struct x86_fault *f);
#define interp_ud(c)  interp_raise((c), 6, false, 0)
#define interp_gp0(c) interp_raise((c), X86_VEC_GP, true, 0)
/* Turn the current exit into an engine error: returns INTERP_ERROR. */
int interp_error(struct interp_cpu *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- interp_opnd.c: registers and operands -------------------------- */

/* A register by emul's id (any GPR size, AH..BH, segment selectors, CRs
 * read as stored); reads zero-extend. */
uint64_t interp_reg_read(const struct interp_cpu *c, unsigned int reg);
/* x86_reg_class() with the general registers (the common case) without
 * a call. */
static inline enum x86_reg_class
interp_reg_class(unsigned int reg)
{
	if (reg >= X86_R_EAX && reg < X86_R_IP)
		return reg >= X86_R_RAX ? X86_RC_GPR64 : X86_RC_GPR32;
	return x86_reg_class(reg);
}
/* Write with the architectural width rules: 32-bit writes zero the upper
 * half, 8/16-bit writes keep the rest. GPRs only. */
void interp_reg_write(struct interp_cpu *c, unsigned int reg, uint64_t val);
/* A GPR by number (0-15) and size (1, 2, 4, 8); size 1 means the low
 * byte (AL, CL.., SPL.. with REX, as x86_regid's R8B block does not). */
uint64_t interp_gpr_read(const struct interp_cpu *c, unsigned int num,
			 unsigned int size);
void interp_gpr_write(struct interp_cpu *c, unsigned int num, unsigned int size,
		      uint64_t val);
/* The offset (effective address) of a memory operand, truncated to the
 * address size; RIP-relative from next_rip. */
uint64_t interp_ea(const struct interp_cpu *c, const struct x86_instr *insn,
		   const struct x86_operand *op);
/* Operand i (register, memory, immediate) of op->size bytes, zero-
 * extended (immediates: as the decoder extended them, masked to size). */
int interp_opnd_read(struct interp_cpu *c, const struct x86_instr *insn, int i,
		     uint64_t *val);
int interp_opnd_write(struct interp_cpu *c, const struct x86_instr *insn, int i,
		      uint64_t val);
/* A far pointer, operand i: ptr16:16/32 in the instruction or m16:xx in
 * memory (offset of the operand size, then the selector). */
int interp_far_pointer(struct interp_cpu *c, const struct x86_instr *insn,
		       int i, uint16_t *sel, uint64_t *off);
/* The stack: push/pop 'size' bytes with the stack-address size of SS
 * (64-bit mode: 8-byte RSP); RSP moves only when the access succeeds.
 * POP into memory peeks, writes, then moves RSP (interp_sp_add). */
int interp_push(struct interp_cpu *c, uint64_t val, unsigned int size);
int interp_pop(struct interp_cpu *c, uint64_t *val, unsigned int size);
/* Stack pointer width in bytes: 8 in 64-bit mode, else SS.B ? 4 : 2. */
unsigned int interp_stack_size(const struct interp_cpu *c);
/* Read [SP + off] without moving SP. */
int interp_stack_peek(struct interp_cpu *c, uint64_t off, uint64_t *val,
		      unsigned int size);
/* SP += delta with the stack width. */
void interp_sp_add(struct interp_cpu *c, int64_t delta);

/* interp_mem_host() for memory operand i, as a read-modify-write. */
static inline int
interp_opnd_host(struct interp_cpu *c, const struct x86_instr *insn, int i,
		 void **hp)
{
	const struct x86_operand *op = &insn->ops[i];
	int acc = op->seg == X86_R_SS ? X86_MEM_STACK : 0;

	return interp_mem_host(c, op->seg, interp_ea(c, insn, op),
			       insn->addrsize, op->size, acc | X86_MEM_WRITE,
			       hp);
}
/* interp_alu.c: atomic load and compare-and-swap of 1, 2, 4 or 8 bytes
 * at a host address interp_mem_host() gave; *old gets the value found. */
uint64_t interp_host_load(const void *hp, unsigned int size);
bool interp_host_cas(void *hp, unsigned int size, uint64_t *old, uint64_t val);

/* Mask of the low 'size' bytes; sign bit of a 'size'-byte value. */
static inline uint64_t
interp_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static inline uint64_t
interp_sign(unsigned int size)
{
	return 1ULL << (size * 8 - 1);
}

/* Sign-extend the low 'size' bytes of v. */
static inline int64_t
interp_sext(uint64_t v, unsigned int size)
{
	unsigned int shift = 64 - size * 8;

	return (int64_t)(v << shift) >> shift;
}

/* ---- interp_flags.c: RFLAGS ----------------------------------------- */

/* The full RFLAGS now (lazy bits computed). */
uint64_t interp_rflags(struct interp_cpu *c);
/* Set RFLAGS exactly (bit 1 forced on, reserved bits off). */
void interp_set_rflags(struct interp_cpu *c, uint64_t val);
/* Replace the flags in 'mask' by those of 'val' (arithmetic bits too). */
void interp_set_flags(struct interp_cpu *c, uint64_t mask, uint64_t val);
/* Condition code cc (0-15, as in Jcc/SETcc/CMOVcc: O NO B AE E NE BE A
 * S NS P NP L GE LE G). */
bool interp_cond(struct interp_cpu *c, unsigned int cc);
/* Record an ALU result lazily. */
static inline void
interp_lf_set(struct interp_cpu *c, enum interp_lf_op op, unsigned int size,
	      uint64_t res, uint64_t src1, uint64_t src2, uint64_t aux)
{
	c->lf.op = (uint8_t)op;
	c->lf.size = (uint8_t)size;
	c->lf.res = res & interp_mask(size);
	c->lf.src1 = src1 & interp_mask(size);
	c->lf.src2 = src2 & interp_mask(size);
	c->lf.aux = aux;
}
/* PF of a result: even parity of its low byte. */
bool interp_parity(uint64_t res);

/* ---- instruction tables --------------------------------------------- */

typedef int (*interp_op_fn)(struct interp_cpu *c, const struct x86_instr *insn);

struct interp_op {
	uint16_t mnem; /* enum x86_mnem */
	interp_op_fn fn;
};

/*
 * Each file's instructions, ended by { 0, NULL }; interp_exec.c builds
 * the dispatch table from them.  A mnemonic may appear once only.
 */
extern const struct interp_op interp_ops_alu[];      /* interp_alu.c */
extern const struct interp_op interp_ops_shift[];    /* interp_shift.c */
extern const struct interp_op interp_ops_muldiv[];   /* interp_muldiv.c */
extern const struct interp_op interp_ops_bit[];      /* interp_bit.c */
extern const struct interp_op interp_ops_string[];   /* interp_string.c */
extern const struct interp_op interp_ops_data[];     /* interp_data.c */
extern const struct interp_op interp_ops_ctl[];      /* interp_ctl.c */
extern const struct interp_op interp_ops_sys[];      /* interp_sys.c */
extern const struct interp_op interp_ops_io[];       /* interp_io.c */
extern const struct interp_op interp_ops_intr[];     /* interp_intr.c */
extern const struct interp_op interp_ops_fpu[];      /* interp_fpu.c */
extern const struct interp_op interp_ops_sse_move[]; /* interp_sse_move.c */
extern const struct interp_op interp_ops_sse_int[];  /* interp_sse_int.c */
extern const struct interp_op interp_ops_sse_fp[];   /* interp_sse_fp.c */
extern const struct interp_op interp_ops_sse_str[];  /* interp_sse_str.c */
extern const struct interp_op interp_ops_xsave[];    /* interp_xsave.c */
extern const struct interp_op interp_ops_x87[];      /* interp_x87.c */
extern const struct interp_op interp_ops_seg[];      /* interp_seg.c */

/* ---- interp_fpu.c: x87, MMX and SSE state ------------------------- */

/*
 * An XMM register or a 128-bit memory operand.  MMX registers are the
 * low 8 bytes of the x87 registers' significands (c->fpu.st[], which
 * holds ST(i) relative to TOP as FXSAVE does: MMi is physical register
 * i, st[(i - TOP) & 7]; MMX instructions set TOP to 0).
 */
union interp_xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
};

/* MXCSR bits */
#define INTERP_MXCSR_FLAGS 0x3fu /* IE DE ZE OE UE PE */
#define INTERP_MXCSR_DAZ   0x40u
#define INTERP_MXCSR_MASKS 0x1f80u /* IM DM ZM OM UM PM */
#define INTERP_MXCSR_RC    0x6000u
#define INTERP_MXCSR_FZ    0x8000u
#define INTERP_MXCSR_MASK  0xffffu /* the bits MXCSR has (FXSAVE's mask) */
/* The CPU's (the lockstep tester sets the host's in mxcsr_mask). */
#define interp_mxcsr_mask(c)                                                   \
	((c)->mxcsr_mask != 0 ? (c)->mxcsr_mask : INTERP_MXCSR_MASK)

/* The checks before an SSE instruction (CR0.EM, CR4.OSFXSR: #UD; CR0.TS:
 * #NM); before an MMX instruction (EM: #UD, TS: #NM, a pending x87
 * exception: #MF); before an x87 instruction (EM or TS: #NM, and for
 * the waiting ones a pending unmasked exception: #MF). */
int interp_sse_check(struct interp_cpu *c);
int interp_mmx_check(struct interp_cpu *c);
int interp_x87_check(struct interp_cpu *c, bool waiting);
/* An MMX instruction's effect on the x87 state: TOP = 0, every
 * register valid (after interp_mmx_check). */
void interp_mmx_enter(struct interp_cpu *c);
uint64_t interp_mmx_get(const struct interp_cpu *c, unsigned int reg);
void interp_mmx_set(struct interp_cpu *c, unsigned int reg, uint64_t val);
/* x87 TOP (FSW bits 13:11). */
static inline unsigned int
interp_fpu_top(const struct interp_cpu *c)
{
	return (c->fpu.fsw >> 11) & 7;
}
/* Move TOP, keeping the physical registers (st[] is relative to TOP). */
void interp_fpu_set_top(struct interp_cpu *c, unsigned int top);
/* FSW.ES and B from the exception flags and the control word's masks. */
void interp_fpu_update_es(struct interp_cpu *c);
/* Operand i of an SSE/MMX instruction as 16 bytes: an XMM register, an
 * MMX or general register (zero-extended), or op->size bytes of memory
 * (zero-extended).  Legacy SSE requires 16-byte memory operands to be
 * aligned (#GP(0)) but for the unaligned moves. */
int interp_simd_read(struct interp_cpu *c, const struct x86_instr *insn, int i,
		     union interp_xmm *v);
/* Write operand i: an XMM register (all 16 bytes), an MMX register (low
 * 8), a general register (op->size with the width rules), or op->size
 * bytes of memory. */
int interp_simd_write(struct interp_cpu *c, const struct x86_instr *insn, int i,
		      const union interp_xmm *v);
/* The access type of a memory operand (X86_MEM_STACK through SS). */
int interp_simd_access(const struct x86_operand *op, int type);
/* The x87 part of an FXSAVE/XSAVE image (bytes 0-23 but for MXCSR, the
 * registers at 32-159): 'save' into a zeroed image, else load from it;
 * 'rexw': the 64-bit FIP/FDP format. */
void interp_fx_x87(struct interp_cpu *c, uint8_t *img, bool rexw, bool save);
/* The XSAVE state components in use (XINUSE, interp_xsave.c). */
uint64_t interp_xinuse(const struct interp_cpu *c);
/* Memory operand i's alignment to 'align' bytes (#GP(0) if not). */
int interp_simd_align(struct interp_cpu *c, const struct x86_instr *insn, int i,
		      unsigned int align);
/* XMM register n (0-15). */
static inline void
interp_xmm_get(const struct interp_cpu *c, unsigned int n, union interp_xmm *v)
{
	memcpy(v, c->fpu.xmm[n & 15], 16);
}

static inline void
interp_xmm_set(struct interp_cpu *c, unsigned int n, const union interp_xmm *v)
{
	memcpy(c->fpu.xmm[n & 15], v, 16);
}
/* SSE floating point runs on the host's SSE unit (the same IEEE
 * operations, so bit-exact): interp_sse_fp_begin() loads the guest's
 * rounding, DAZ and FZ with every exception masked and returns the host
 * MXCSR; interp_sse_fp_end() restores it and folds the exceptions the
 * operation raised into the guest's MXCSR, or raises #XM (#UD without
 * CR4.OSXMMEXCPT) for an unmasked one (then the caller writes nothing). */
uint32_t interp_sse_fp_begin(const struct interp_cpu *c);
int interp_sse_fp_end(struct interp_cpu *c, uint32_t host_mxcsr);

/* ---- vmm_interp.c: the engine ---------------------------------------- */

/* The MSRs the CPU keeps itself: 0, or ENOENT (kmod's or #GP). */
int interp_msr_get(struct interp_cpu *c, uint32_t msr, uint64_t *val);
int interp_msr_set(struct interp_cpu *c, uint32_t msr, uint64_t val);
/* The guest's TSC now. */
uint64_t interp_tsc(struct interp_cpu *c);
/* What CPUID can say about this CPU (interp_cpuid.c), as the engine op. */
int interp_cpuid_supported(void *cookie, struct vm_cpuid_entry *out, int max);

/* interp_sys.c: MOV to and from control and debug registers. */
int interp_mov_special(struct interp_cpu *c, const struct x86_instr *insn);

/* ---- interp_debug.c: debug registers, breakpoints, single-step ------ */

/* Recompute db_armed/db_watch (after DR7 or the host's state changed). */
void interp_db_update(struct interp_cpu *c);
/* A data access by linear address, or a port access (when db_watch). */
void interp_db_access(struct interp_cpu *c, uint64_t gla, size_t size,
		      bool write);
void interp_db_io(struct interp_cpu *c, uint16_t port, unsigned int size);
/* The host's instruction breakpoints at rip (DR6 bits; 0 with RF). */
uint64_t interp_db_exec_host(const struct interp_cpu *c);
/* The guest's instruction breakpoints at rip: *hit and the #DB fault
 * delivered (INTERP_OK, or what delivering came to). */
int interp_db_exec_guest(struct interp_cpu *c, bool *hit);
/* Around an instruction executed while db_armed or TF: clear its hits;
 * after it retired (tf: TF was set when it began), the traps it left in
 * db_pending / db_host_pending. */
void interp_db_begin(struct interp_cpu *c);
void interp_db_retire(struct interp_cpu *c, const struct x86_instr *insn,
		      bool tf);
/* Deliver the guest's pending #DB trap. */
int interp_db_trap(struct interp_cpu *c);
/* MOV to (to_dr) or from a debug register. */
int interp_db_mov(struct interp_cpu *c, const struct x86_instr *insn,
		  bool to_dr);

/* ---- interp_exec.c: the fetch-decode-execute loop ------------------- */

/* Virtual time: a retired instruction costs 1 ns, a port access 1 us
 * (an LPC bus cycle on a PC takes about that long). */
#define INTERP_NS_PER_INSN  1
#define INTERP_NS_PER_PIO   1000
#define INTERP_NS_PER_PAUSE 140
/* The VM's clock is brought up to date (and timers looked at) at every
 * exit and every INTERP_TIME_QUANTUM instructions. */
#define INTERP_TIME_QUANTUM 64

void interp_exec_init(void);
/*
 * Execute instructions until an exit (c->exit filled in) or until
 * 'budget' instructions have retired (then a BOGUS exit).  Delivers
 * c->event and exceptions on the way.
 */
void interp_exec(struct interp_cpu *c, struct vm_exit *vmexit, uint64_t budget);
/* Take what the monitor put in the last exit (an MMIO load's value, IN
 * data, an RDMSR's value) for the instruction's re-execution. */
void interp_take_results(struct interp_cpu *c, const struct vm_exit *vmexit);
/* The instruction's next MMIO store as an exit, if one is queued. */
bool interp_store_pending(struct interp_cpu *c);
/* Execute the one instruction left halfway by the last exit, with the
 * value the monitor put in *vmexit, and nothing more (complete_io). */
int interp_exec_complete(struct interp_cpu *c, struct vm_exit *vmexit);

/* ---- interp_jit.c: the block translator ---------------------------- */

/* Give the vCPU a translator (code buffer and block cache), or free it. */
int interp_jit_init(struct interp_cpu *c);
void interp_jit_free(struct interp_cpu *c);
/*
 * Run one translated block at rip if one may run now and all of it fits
 * in 'max' instructions and before the next point where the interpreter
 * stops (turn end, replay stop, due timer): the instructions it retired
 * (0: none ran, the interpreter goes on).  *side: it stopped before an
 * instruction only the interpreter runs (a TLB miss, MMIO, a fault), which
 * the caller executes next.
 */
uint64_t interp_jit_run(struct interp_cpu *c, uint64_t max, bool *side);
/* Instructions retired in translated blocks so far (for tests). */
uint64_t interp_jit_retired(const struct interp_cpu *c);

/* ---- interp_intr.c: interrupts and exceptions ----------------------- */

/*
 * Deliver vector through the IDT (IVT in real mode) as the CPU does for
 * an exception (has_ec: with its error code), an external interrupt or
 * NMI, or a software INT n ('soft': privilege check against the gate's
 * DPL, return address after the instruction).  A fault while delivering
 * becomes #DF, a fault while delivering #DF a triple fault.  Returns
 * INTERP_OK (rip at the handler), or INTERP_EXIT with a SUSPENDED exit
 * (triple fault), or INTERP_ERROR.
 */
int interp_deliver(struct interp_cpu *c, unsigned int vector, bool has_ec,
		   uint32_t ec, bool soft);

/* ---- interp_seg.c: segment loads ------------------------------------ */

/* Load a segment register as MOV/POP Sreg do in the current mode
 * (protected mode: descriptor checks, #GP/#SS/#NP with the selector). */
int interp_load_seg(struct interp_cpu *c, unsigned int seg, uint16_t sel);
/* Read the 8-byte (16 with 'wide') descriptor of selector 'sel' from the
 * GDT or LDT; INTERP_FAULT #GP(sel) past the limit. */
int interp_read_desc(struct interp_cpu *c, uint16_t sel, uint64_t *desc,
		     bool wide, uint64_t *hi);
/* Real-mode / VM86 style load: base = sel << 4, rest unchanged. */
void interp_set_seg_real(struct interp_cpu *c, unsigned int seg, uint16_t sel);
/* Descriptors for far transfers, checked but not loaded: a code segment;
 * a stack segment for privilege level 'cpl'. */
int interp_code_desc(struct interp_cpu *c, uint16_t sel, struct x86_segdesc *d);
int interp_stack_desc(struct interp_cpu *c, uint16_t sel, unsigned int cpl,
		      struct x86_segdesc *d);
/* A descriptor as the hidden part of a segment register keeps it. */
void interp_desc_to_seg(uint64_t desc, struct x86_segdesc *d);

/* ---- interp_task.c: hardware task switches -------------------------- */

/* Why a task switch happens: JMP leaves the old task, CALL and
 * interrupts nest (NT, back link), IRET returns through the link. */
enum { INTERP_TASK_JMP, INTERP_TASK_CALL, INTERP_TASK_INT, INTERP_TASK_IRET };
/* A far JMP/CALL (call) to system descriptor 'desc' of selector 'sel':
 * a TSS or a task gate.  Sets next_rip; once the switch has committed a
 * fault is the new task's (rip its EIP). */
int interp_task_far(struct interp_cpu *c, uint16_t sel, uint64_t desc,
		    bool call);
/* An interrupt or exception through IDT task gate 'gate' (soft: INT n),
 * the old task resuming at ret_ip; the error code is pushed on the new
 * task's stack.  Sets rip. */
int interp_task_gate(struct interp_cpu *c, uint64_t gate, bool soft,
		     bool has_ec, uint32_t ec, uint64_t ret_ip);
/* IRET with NT: back to the task of the current TSS's link. */
int interp_task_return(struct interp_cpu *c);

/* ---- interp_vm86.c: virtual-8086 mode ------------------------------- */

/* IRET from CPL 0 to virtual-8086 mode: the frame's EIP, CS, EFLAGS
 * (VM set) as op_iret read them; sets next_rip. */
int interp_vm86_enter(struct interp_cpu *c, uint64_t ip, uint64_t cs,
		      uint64_t fl);

#endif
