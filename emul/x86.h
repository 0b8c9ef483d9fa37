/*
 * emul: the x86 architecture as rhyve's layers share it.  Today the
 * architectural constants and GDT descriptor packing; the instruction
 * decoder and the page-table walker come here next.
 */
#ifndef RHYVE_EMUL_X86_H
#define RHYVE_EMUL_X86_H

#include <stdint.h>

/* Control registers */
#define CR0_PE         (1ULL << 0)
#define CR0_MP         (1ULL << 1)
#define CR0_EM         (1ULL << 2)
#define CR0_TS         (1ULL << 3)
#define CR0_ET         (1ULL << 4)
#define CR0_NE         (1ULL << 5)
#define CR0_WP         (1ULL << 16)
#define CR0_AM         (1ULL << 18)
#define CR0_NW         (1ULL << 29)
#define CR0_CD         (1ULL << 30)
#define CR0_PG         (1ULL << 31)

#define CR4_PSE        (1ULL << 4)
#define CR4_PAE        (1ULL << 5)
#define CR4_PGE        (1ULL << 7)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)

/* MSRs */
#define MSR_EFER           0xc0000080
#define MSR_STAR           0xc0000081
#define MSR_LSTAR          0xc0000082
#define MSR_CSTAR          0xc0000083
#define MSR_SFMASK         0xc0000084
#define MSR_FS_BASE        0xc0000100
#define MSR_GS_BASE        0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC            0x00000010
#define MSR_APIC_BASE      0x0000001b
#define MSR_SYSENTER_CS    0x00000174
#define MSR_SYSENTER_ESP   0x00000175
#define MSR_SYSENTER_EIP   0x00000176
#define MSR_PAT            0x00000277

#define EFER_SCE           (1ULL << 0)
#define EFER_LME           (1ULL << 8)
#define EFER_LMA           (1ULL << 10)
#define EFER_NXE           (1ULL << 11)

/* RFLAGS */
#define PSL_C    (1ULL << 0)
#define PSL_1    (1ULL << 1) /* always set */
#define PSL_Z    (1ULL << 6)
#define PSL_T    (1ULL << 8)
#define PSL_I    (1ULL << 9)
#define PSL_D    (1ULL << 10)
#define PSL_V    (1ULL << 11)
#define PSL_IOPL (3ULL << 12)
#define PSL_RF   (1ULL << 16)
#define PSL_VM   (1ULL << 17)

/* Debug registers (SDM vol. 3B 17.2) */
#define DR6_B(n)         (1ULL << (n))       /* breakpoint n (0-3) matched */
#define DR6_BS           (1ULL << 14)        /* single step */
#define DR7_L(n)         (1ULL << (2 * (n))) /* local enable of n */
#define DR7_LE           (1ULL << 8)         /* exact data breakpoints */
#define DR7_RW_SHIFT(n)  (16 + 4 * (n))      /* 00 exec, 01 write, 11 rw */
#define DR7_LEN_SHIFT(n) (18 + 4 * (n))      /* 00 1, 01 2, 11 4, 10 8 bytes */

/* Page-table entries */
#define PG_V  (1ULL << 0)
#define PG_RW (1ULL << 1)
#define PG_U  (1ULL << 2)
#define PG_A  (1ULL << 5)
#define PG_M  (1ULL << 6)
#define PG_PS (1ULL << 7)
#define PG_G  (1ULL << 8)
#define PG_NX (1ULL << 63)

/* Segment descriptor types (the type field with S=1) */
#define SDT_MEMRWA 0x3 /* data, read/write, accessed */
#define SDT_MEMERA 0xb /* code, execute/read, accessed */
#define SDT_SYSLDT 0x2
#define SDT_SYSBSY 0xb /* busy 32/64-bit TSS */

/*
 * A GDT/LDT descriptor from base, limit and attributes given in the VMX
 * access-rights layout of struct seg_desc (type, S, DPL, P in bits 0-7;
 * AVL, L, D/B, G in bits 12-15).  'limit' is the byte limit; with G set its
 * low 12 bits are dropped.
 */
uint64_t x86_desc_pack(uint32_t base, uint32_t limit, uint32_t access);
/* The reverse of x86_desc_pack(): base, byte limit and access rights. */
void x86_desc_unpack(uint64_t desc, uint32_t *base, uint32_t *limit,
		     uint32_t *access);

/* "#GP", "#PF", ... for vectors 0-31; NULL for others. */
const char *x86_exception_name(unsigned int vector);

/* ---- decoder ---- */
/*
 * The x86 instruction decoder (x86_decode*.c, x86_optab*.c, x86_format.c).
 * One call decodes one instruction into struct x86_instr: prefixes, map and
 * opcode, ModRM/SIB, displacement and immediates, operand/address size,
 * effective segment and up to four explicit operands with their access and
 * width, plus a mnemonic id an interpreter can switch on.  Bytes come from
 * a fetch callback, so an instruction straddling a page lets the caller
 * decide what a missing page means.
 */
#include <stdbool.h>
#include <stddef.h>

enum x86_mode {
	X86_MODE_16 = 0, /* real mode, 16-bit protected mode (CS.D=0) */
	X86_MODE_32 = 1, /* 32-bit protected mode (CS.D=1) */
	X86_MODE_64 = 2, /* 64-bit mode (CS.L=1, EFER.LMA=1) */
};

/* Registers.  GPRs by size are blocks of 16 (8-bit: 20, see below). */
enum x86_regid {
	X86_R_NONE = 0,
	/* 8-bit: AL CL DL BL AH CH DH BH, then SPL BPL SIL DIL R8B..R15B */
	X86_R_AL = 1,
	X86_R_AH = X86_R_AL + 4,
	X86_R_SPL = X86_R_AL + 8,
	X86_R_R8B = X86_R_AL + 12,
	X86_R_AX = X86_R_AL + 20, /* AX CX DX BX SP BP SI DI R8W..R15W */
	X86_R_EAX = X86_R_AX + 16,
	X86_R_RAX = X86_R_EAX + 16,
	X86_R_IP = X86_R_RAX + 16, /* IP EIP RIP */
	X86_R_EIP,
	X86_R_RIP,
	X86_R_ES, /* ES CS SS DS FS GS */
	X86_R_CS,
	X86_R_SS,
	X86_R_DS,
	X86_R_FS,
	X86_R_GS,
	X86_R_CR0 = X86_R_GS + 1,   /* CR0..CR15 */
	X86_R_DR0 = X86_R_CR0 + 16, /* DR0..DR15 */
	X86_R_MM0 = X86_R_DR0 + 16, /* MM0..MM7 */
	X86_R_ST0 = X86_R_MM0 + 8,  /* ST(0)..ST(7) */
	X86_R_XMM0 = X86_R_ST0 + 8, /* XMM0..XMM31 */
	X86_R_YMM0 = X86_R_XMM0 + 32,
	X86_R_ZMM0 = X86_R_YMM0 + 32,
	X86_R_K0 = X86_R_ZMM0 + 32, /* K0..K7 */
	X86_R_BND0 = X86_R_K0 + 8,  /* BND0..BND3 */
	X86_R_COUNT = X86_R_BND0 + 4,
};

enum x86_reg_class {
	X86_RC_NONE,
	X86_RC_GPR8, /* AL..BH, SPL..R15B */
	X86_RC_GPR16,
	X86_RC_GPR32,
	X86_RC_GPR64,
	X86_RC_IP,
	X86_RC_SEG,
	X86_RC_CR,
	X86_RC_DR,
	X86_RC_MMX,
	X86_RC_X87,
	X86_RC_XMM,
	X86_RC_YMM,
	X86_RC_ZMM,
	X86_RC_MASK,
	X86_RC_BND,
};

enum x86_reg_class x86_reg_class(unsigned int reg);
/* Size in bytes (ST(i): 10). */
unsigned int x86_reg_size(unsigned int reg);
/* Lower-case name as Intel syntax writes it ("eax", "st(1)"); "?" if bad. */
const char *x86_reg_name(unsigned int reg);
/* GPR number 0-15 of a GPR of any size (AH..BH: 4..7 as encoded); -1. */
int x86_reg_gpr_num(unsigned int reg);

/* Mnemonic ids: X86_M_ADD, X86_M_MOVAPS, ... (list in x86_optab_mnem.inc) */
enum x86_mnem {
	X86_M_INVALID = 0,
#define X86_MNEM_X(name) X86_M_##name,
#include "x86_optab_mnem.inc"
#undef X86_MNEM_X
	X86_M_COUNT
};
/* Lower-case mnemonic ("add"); "(bad)" for an out-of-range id. */
const char *x86_mnem_name(unsigned int mnem);

enum x86_opnd_type {
	X86_OPND_NONE = 0,
	X86_OPND_REG,
	X86_OPND_MEM,
	X86_OPND_IMM,
	X86_OPND_REL, /* relative branch target: imm = displacement */
	X86_OPND_FAR, /* ptr16:16/32: imm = offset, sel = selector */
};

enum x86_access {
	X86_ACC_NONE = 0, /* address only (LEA, NOP r/m, prefetch...) */
	X86_ACC_R = 1,
	X86_ACC_W = 2,
	X86_ACC_RW = 3,
};

struct x86_operand {
	uint8_t type;   /* enum x86_opnd_type */
	uint8_t access; /* enum x86_access */
	uint16_t size;  /* width in bytes (register or memory access) */
	uint8_t reg;    /* X86_OPND_REG */
	/* X86_OPND_MEM: seg:[base + index*scale + disp]; RIP-relative has
	 * base X86_R_RIP/EIP and disp relative to the next instruction. */
	uint8_t base, index, scale, seg;
	/* X86_OPND_MEM with EVEX embedded broadcast: the element (size) is
	 * repeated bcst times ({1to16}); 0 without broadcast */
	uint8_t bcst;
	uint16_t sel; /* X86_OPND_FAR */
	int64_t disp; /* X86_OPND_MEM */
	int64_t imm;  /* X86_OPND_IMM (sign/zero extended as the insn does),
			 X86_OPND_REL (displacement), X86_OPND_FAR (offset) */
};

/* Prefix bits (struct x86_instr.prefixes) */
#define X86_PFX_LOCK  0x0001
#define X86_PFX_REP   0x0002 /* F3 */
#define X86_PFX_REPNE 0x0004 /* F2 */
#define X86_PFX_OPSZ  0x0008 /* 66 */
#define X86_PFX_ADSZ  0x0010 /* 67 */
#define X86_PFX_SEG   0x0020 /* a segment override (which: seg_override) */
#define X86_PFX_REX   0x0040 /* REX in effect (rex holds it) */
#define X86_PFX_VEX   0x0080 /* C4/C5 */
#define X86_PFX_EVEX  0x0100 /* 62 */
#define X86_PFX_XOP   0x0200 /* 8F (AMD XOP) */

/* Opcode maps (struct x86_instr.map) */
enum x86_map {
	X86_MAP_1BYTE = 0,
	X86_MAP_0F = 1,
	X86_MAP_0F38 = 2,
	X86_MAP_0F3A = 3,
	X86_MAP_3DNOW = 4, /* 0F 0F modrm ... ib: opcode is the last byte */
	X86_MAP_X87 = 5,   /* D8-DF: opcode is D8-DF */
};

/* What a decode came to (return value of x86_decode*) */
enum x86_dec_status {
	X86_DEC_OK = 0,
	X86_DEC_UD = 1,    /* invalid encoding: the CPU raises #UD */
	X86_DEC_GP = 2,    /* longer than 15 bytes: the CPU raises #GP(0) */
	X86_DEC_FETCH = 3, /* byte insn->fault_offset could not be fetched */
};

struct x86_instr {
	uint16_t mnem;        /* enum x86_mnem */
	uint8_t length;       /* bytes, prefixes included */
	uint8_t mode;         /* enum x86_mode */
	uint8_t status;       /* enum x86_dec_status */
	uint8_t fault_offset; /* X86_DEC_FETCH: the byte that failed */
	uint16_t prefixes;    /* X86_PFX_* */
	uint8_t map;          /* enum x86_map */
	uint8_t opcode;       /* the opcode byte within the map */
	uint8_t opsize;       /* operand size: 2, 4, 8 */
	uint8_t addrsize;     /* address size: 2, 4, 8 */
	uint8_t seg;          /* effective segment of the memory operand */
	uint8_t seg_override; /* last segment prefix, X86_R_NONE if none */
	uint8_t rex;          /* REX byte (0x40-0x4f) or 0 */
	uint8_t npfx;         /* legacy + REX prefix bytes before the opcode */
	bool has_modrm, has_sib;
	uint8_t modrm, sib;
	uint8_t mod, reg, rm; /* ModRM fields, reg/rm with REX/VEX */
	uint8_t disp_size;    /* 0, 1, 2, 4 (bytes in the encoding) */
	uint8_t imm_size[2];  /* bytes of the (up to) two immediates */
	/* VEX/EVEX/XOP fields (vvvv already inverted, 0-31 with V') */
	uint8_t vex_l; /* VEX.L / EVEX.L'L */
	uint8_t vex_w;
	uint8_t vvvv;
	/* EVEX.aaa (opmask k0-k7 of the destination; 0: none), EVEX.z
	 * (zeroing), EVEX.b.  EVEX.b in a register form (SDM Vol. 2A 2.6.8,
	 * table 2-36) is either static rounding, evex_rc 1-4 = rn/rd/ru/rz-sae
	 * (EVEX.L'L + 1; the vector length is then 512 bits), or evex_sae. */
	uint8_t evex_aaa : 3, evex_z : 1, evex_b : 1, evex_sae : 1;
	uint8_t evex_rc;
	int64_t disp;   /* sign-extended, uncompressed (EVEX disp8*N applied) */
	int64_t imm[2]; /* raw immediates, sign-extended from their size */
	uint8_t nops;
	struct x86_operand ops[4];
};

/*
 * Fetches len bytes of the instruction at offset (from its first byte) into
 * buf.  Returns the number of bytes fetched (0..len, fewer at the end of
 * what is there: a missing page) or -1: all bytes at offset+return value
 * onwards are unavailable.  The decoder asks for more than it needs at most
 * up to the 15-byte limit and fails only if it needs a byte it did not get.
 */
typedef int (*x86_fetch_fn)(void *arg, uint64_t offset, uint8_t *buf,
			    size_t len);

/* Decode from a callback.  Returns enum x86_dec_status (also in insn). */
int x86_decode_fetch(struct x86_instr *insn, enum x86_mode mode,
		     x86_fetch_fn fetch, void *arg);
/* Decode from a buffer of len bytes (bytes past len: X86_DEC_FETCH). */
int x86_decode(struct x86_instr *insn, enum x86_mode mode, const uint8_t *buf,
	       size_t len);

/*
 * Intel syntax as capstone writes it: "mov eax, dword ptr [rbx + 8]".
 * Branch targets are printed as absolute addresses when the address of the
 * instruction (ip) is given.  Always NUL-terminates (if size > 0); returns
 * the length it wanted as snprintf does.
 */
int x86_format(const struct x86_instr *insn, uint64_t ip, char *buf,
	       size_t size);
/* "(bad)" style one-liners for a failed decode: "#UD", "#GP", "fetch fault
 * at byte 3". */
const char *x86_dec_status_name(int status);
/* ---- end decoder ---- */

/* ---- page-table walker ---- */
/*
 * Guest linear -> guest physical translation (x86_walk.c) and segment
 * base/limit/type checks (x86_seg.c), as the CPU does them (Intel SDM
 * vol. 3A ch. 3.4-3.5, 5.3-5.4 and ch. 4), for the gdb stub, the decode
 * behind every exit and the interp engine.  Faults come back as the
 * exception the CPU would raise, never as a host error; a host error is
 * only what rhyve cannot model (see x86_walk()).
 */
#include <stdbool.h>
#include <stddef.h>

#define CR4_LA57     (1ULL << 12)
#define CR4_PCIDE    (1ULL << 17)
#define CR4_SMEP     (1ULL << 20)
#define CR4_SMAP     (1ULL << 21)
#define CR4_PKE      (1ULL << 22)

#define PSL_AC       (1ULL << 18)

#define PG_PWT       (1ULL << 3)
#define PG_PCD       (1ULL << 4)
#define PG_PKEY(pte) ((unsigned int)((pte) >> 59) & 0xf) /* 4/5-level leaf */

/* Exception vectors the walker and segment checks raise */
#define X86_VEC_SS 12
#define X86_VEC_GP 13
#define X86_VEC_PF 14

/* #PF error code bits */
#define X86_PF_P    0x01 /* 0: not present; 1: protection or reserved bit */
#define X86_PF_W    0x02 /* the access was a write */
#define X86_PF_U    0x04 /* user-mode access (CPL 3, not implicit) */
#define X86_PF_RSVD 0x08 /* a reserved bit was set in a paging entry */
#define X86_PF_I    0x10 /* instruction fetch (if SMEP or PAE+NXE) */
#define X86_PF_PK   0x20 /* protection-key violation */

/*
 * What an access is (the low two bits) and how it is made (flags), for
 * x86_walk()/x86_gla2gpa() and x86_seg_linear().  A read-modify-write is a
 * write.
 */
#define X86_MEM_READ  0
#define X86_MEM_WRITE 1
#define X86_MEM_EXEC  2 /* instruction fetch */
#define X86_MEM_TYPE  3 /* mask of the above; 3 is invalid */
/* Implicit supervisor-mode access (GDT/LDT/IDT/TSS, also when made at
 * CPL 3): supervisor rights, and SMAP applies whatever RFLAGS.AC is. */
#define X86_MEM_IMPLICIT 0x04
/* No side effects: no accessed/dirty bit updates (debuggers, tools). */
#define X86_MEM_NOSIDE 0x08
/* Stack-segment relative (push/pop, SS: or RSP/RBP based): a
 * non-canonical address raises #SS(0) rather than #GP(0). */
#define X86_MEM_STACK 0x10
/* Translate only: skip U/S, R/W, NX, SMEP, SMAP and protection-key checks
 * (present and reserved bits still fault).  With X86_MEM_NOSIDE, what a
 * debugger wants: X86_MEM_PEEK. */
#define X86_MEM_NOPERM 0x20
#define X86_MEM_PEEK   (X86_MEM_READ | X86_MEM_NOSIDE | X86_MEM_NOPERM)

/* The vCPU state that decides a translation. */
struct x86_paging {
	uint64_t cr0, cr3, cr4;
	uint64_t efer;    /* LMA (long mode) and NXE matter */
	unsigned int cpl; /* 0-3 */
	bool rflags_ac;   /* RFLAGS.AC (SMAP) */
	uint32_t pkru;    /* protection keys for user pages (CR4.PKE) */
	/* CPUID.80000008H:EAX[7:0]; 0 means 52.  Taken as 32 at least. */
	unsigned int maxphyaddr;
	/* CPUID.80000001H:EDX.Page1GB[26] clear: PS in a PDPTE is reserved. */
	bool no_page1gb;
	/*
	 * PAE paging: a CPU loads the four PDPTEs into registers when CR3 is
	 * loaded (or paging/PAE is switched on) and checks them then (#GP);
	 * it does not read them during a walk.  With pdpte_valid the walker
	 * uses pdpte[] (KVM_GET_SREGS2 gives them) and is exact; without it
	 * the walker reads them from memory at CR3 and reports reserved bits
	 * in them as #PF(RSVD) -- the CPU would have raised #GP(0) at the CR3
	 * load instead.
	 */
	bool pdpte_valid;
	uint64_t pdpte[4];
};

enum x86_paging_mode {
	X86_PAGING_NONE, /* CR0.PG=0: linear = physical (32-bit) */
	X86_PAGING_32,   /* CR4.PAE=0: 2 levels, 4 KiB and (CR4.PSE) 4 MiB */
	X86_PAGING_PAE,  /* CR4.PAE=1, EFER.LMA=0: PDPTEs, 4 KiB, 2 MiB */
	X86_PAGING_4LVL, /* EFER.LMA=1: 4 KiB, 2 MiB, 1 GiB */
	X86_PAGING_5LVL, /* EFER.LMA=1 and CR4.LA57=1 */
};
enum x86_paging_mode x86_paging_mode(const struct x86_paging *pg);
/* "none", "32-bit", "PAE", "4-level", "5-level". */
const char *x86_paging_mode_name(enum x86_paging_mode mode);

/* Guest-physical memory: host address of [gpa, gpa+len), NULL if not RAM
 * (the loader's map callback has the same shape). */
typedef void *(*x86_map_fn)(void *arg, uint64_t gpa, size_t len);
struct x86_mem {
	x86_map_fn map;
	void *arg;
};

/* Why a translation could not be done (return -1). */
enum x86_host_error {
	X86_HOST_OK = 0,
	X86_HOST_NOT_RAM,    /* a paging-structure entry is not in guest RAM */
	X86_HOST_MISALIGNED, /* map() gave a misaligned pointer for it */
	X86_HOST_CONTENDED, /* A/D update lost its compare-and-swap too often */
	X86_HOST_BAD_ACCESS, /* access type 3 */
};

/* An exception the access raises (return 1), or a host error (-1). */
struct x86_fault {
	unsigned int vector; /* X86_VEC_PF, X86_VEC_GP or X86_VEC_SS */
	uint32_t error_code; /* #PF: X86_PF_*; #GP/#SS: 0 */
	uint64_t cr2;        /* #PF: the linear address (as CR2 gets it) */
	/* return -1: what went wrong, and the guest-physical address of the
	 * paging-structure entry concerned (NOT_RAM, MISALIGNED) */
	enum x86_host_error host;
	uint64_t host_gpa;
};

/* The full result of a walk. */
struct x86_walk {
	uint64_t gla;       /* as walked (32-bit modes: truncated) */
	uint64_t gpa;       /* translation (return 0) */
	uint64_t page_size; /* 4 KiB, 2 MiB, 4 MiB or 1 GiB; 0 without paging */
	/* Entries read, top level first, values as read (before A/D). */
	unsigned int nent;
	struct {
		uint64_t gpa; /* where the entry is (PAE with pdpte_valid:
			       * where it would be) */
		uint64_t pte; /* its value (32-bit paging: zero-extended) */
		unsigned int level; /* 5 PML5 .. 1 PT (PAE PDPT: 3) */
	} ent[5];
	/* Combined rights over all levels (leaf reached). */
	bool user, writable, nx;
	unsigned int pkey; /* 4/5-level leaf with CR4.PKE */
	struct x86_fault fault;
};

/*
 * Translate the linear address 'gla' for an 'access' (X86_MEM_*).
 * Returns 0 with w->gpa; 1 if the access raises an exception, in
 * w->fault (#PF with error code and CR2; #GP(0), or #SS(0) with
 * X86_MEM_STACK, for a non-canonical address in 4/5-level paging); -1 for
 * a host error in w->fault.host.
 *
 * Accessed bits are set in every entry used and the dirty bit in the leaf
 * on a write, each with a compare-and-swap on guest memory (the walk is
 * redone if an entry changed under it), only when the translation
 * succeeds -- a faulting access leaves the tables untouched (the SDM
 * leaves A bits on a fault implementation-specific; KVM does the same).
 * No updates with X86_MEM_NOSIDE.
 *
 * A paging-structure entry outside guest RAM (map() NULL) is a host error
 * (X86_HOST_NOT_RAM, with its address): a CPU would read it from the
 * device or get all-ones/#MC, which rhyve cannot model without device
 * side effects; the caller reports it and stops the vCPU (bhyve: EFAULT).
 * The final gpa may be anything (RAM or MMIO): that is the caller's.
 *
 * Not modelled: PKS (supervisor keys), CET shadow-stack accesses, LAM,
 * HLAT, SGX, EPT/NPT (the walker gives guest-physical addresses), memory
 * types (PAT/PCD/PWT), TLBs and paging-structure caches (a walk always
 * reads memory).
 */
int x86_walk(const struct x86_paging *pg, const struct x86_mem *mem,
	     uint64_t gla, int access, struct x86_walk *w);
/* x86_walk() reduced to its answer: *gpa (0) or *fault (1, -1). */
int x86_gla2gpa(const struct x86_paging *pg, const struct x86_mem *mem,
		uint64_t gla, int access, uint64_t *gpa,
		struct x86_fault *fault);

/* True if 'gla' is canonical for 48-bit (or with la57 57-bit) addresses. */
bool x86_canonical(uint64_t gla, bool la57);

/* "#PF(0x6) cr2=0x..."; "#GP(0)"; "paging entry at gpa 0x... not RAM". */
int x86_fault_format(const struct x86_fault *fault, char *buf, size_t size);

/*
 * Segmentation: a segment register's hidden part, laid out as kmod's
 * struct seg_desc (base, byte limit, VMX access rights: type in bits 0-3,
 * S 4, DPL 5-6, P 7, L 13, D/B 14, G 15, unusable 16).
 */
struct x86_segdesc {
	uint64_t base;
	uint32_t limit;
	uint32_t access;
};
#define X86_SEG_TYPE(a)    ((a)&0xf)
#define X86_SEG_S          (1u << 4)
#define X86_SEG_P          (1u << 7)
#define X86_SEG_L          (1u << 13)
#define X86_SEG_DB         (1u << 14)
#define X86_SEG_UNUSABLE   (1u << 16)
#define X86_SEG_TYPE_CODE  0x8 /* S=1: code (else data) */
#define X86_SEG_TYPE_EXPDN 0x4 /* data: expand-down */
#define X86_SEG_TYPE_WR    0x2 /* data: writable */
#define X86_SEG_TYPE_RD    0x2 /* code: readable */

enum x86_seg_mode {
	X86_SEGM_REAL,   /* real-address and virtual-8086 mode */
	X86_SEGM_PROT,   /* protected mode, incl. compatibility mode */
	X86_SEGM_64,     /* 64-bit mode, 48-bit linear addresses */
	X86_SEGM_64_LA57 /* 64-bit mode with CR4.LA57 */
};
/* The mode from CR0, CR4, EFER, RFLAGS and CS's access rights. */
enum x86_seg_mode x86_seg_mode_of(uint64_t cr0, uint64_t cr4, uint64_t efer,
				  uint64_t rflags, uint32_t cs_access);

/*
 * The linear address of 'size' bytes (1 or more) at 'offset' in segment
 * 'seg' (X86_R_ES .. X86_R_GS) with descriptor 'desc', for an access
 * X86_MEM_READ/WRITE/EXEC; 'addrsize' (2, 4, 8) truncates the offset.
 * Returns 0 with *gla, or 1 with *fault: #GP(0), or #SS(0) for SS.
 *
 * Real and protected mode: a null/unusable or not-present segment faults
 * (protected mode), a write to code or to read-only data faults (a write to
 * code is allowed in real mode, as in KVM), a read of execute-only code
 * faults, and every byte must lie within the limit: [0, limit] expand-up,
 * [limit+1, 0xffff or with D/B 0xffffffff] expand-down, no wrap-around.
 * The linear address is (base + offset) mod 2^32.  64-bit mode: only FS
 * and GS have a base, no limit or type checks, the address must be
 * canonical (a fault with X86_MEM_STACK or SS is #SS).
 */
int x86_seg_linear(const struct x86_segdesc *desc, unsigned int seg,
		   enum x86_seg_mode mode, unsigned int addrsize,
		   uint64_t offset, size_t size, int access, uint64_t *gla,
		   struct x86_fault *fault);
/* ---- end page-table walker ---- */

#endif
