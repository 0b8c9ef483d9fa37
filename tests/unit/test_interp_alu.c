/*
 * The interp engine's integer instructions (kmod/interp/interp_alu.c,
 * interp_shift.c, interp_muldiv.c, interp_bit.c, interp_string.c)
 * against the host CPU.
 *
 * The forms come from the decoder: every opcode of the one-byte, 0F,
 * 0F38 and VEX maps is tried with operand-size, address-size, REX, LOCK
 * and REP prefixes, register and memory ModRM forms and random
 * immediates, in 64-bit, 32-bit and 16-bit mode, and kept if emul
 * decodes it to a mnemonic these files implement.  Each form is then
 * executed 500 times with random and edge-value registers, flags and
 * memory, natively and in the interpreter, and the GPRs, the arithmetic
 * flags, DF and the data buffer must come out the same -- or both must
 * fault with the same exception.  Natively, 64-bit forms run between a
 * prologue that loads all GPRs and RFLAGS from a struct and an epilogue
 * that stores them back, in an executable buffer below 2 GiB; 32-bit
 * forms in a compatibility-mode code segment reached by a far call;
 * 16-bit forms in a 16-bit code segment of our own LDT, with DS/ES based
 * at the data buffer.  The interpreter's vCPU has one RAM slot, that
 * same buffer at guest-physical = host address, paging off.
 *
 * Flags the SDM leaves undefined are compared too on an AMD host (the
 * engine's reference) and masked elsewhere (sdm_undefined() lists them).
 * Also: the SDM's BCD examples, REP one element per execution, and LOCK
 * atomicity with several vCPU threads.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/ldt.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cunit.h"
#include "interp/interp.h"
#include "test_rng.h"

/* ---- the native side ------------------------------------------------- */

struct regs {
	uint64_t gpr[16];
	uint64_t rflags;
};

#define CODE_SIZE 4096
#define DATA_SIZE 8192
#define DATA_MID  4096

static uint8_t *code, *data;
static uint8_t data_in[DATA_SIZE], data_native[DATA_SIZE];
/* Random bytes (a quarter of them 0) the data buffer is filled from. */
static uint8_t pool[65536];

static sigjmp_buf native_jmp;
static volatile int native_sig;

static void
native_fault(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	native_sig = sig;
	siglongjmp(native_jmp, 1);
}

static size_t
emit(size_t n, const uint8_t *b, size_t len)
{
	memcpy(code + n, b, len);
	return n + len;
}

/* mov r64, [rdi + 8*num] / mov [rax + 8*num], r64 */
static size_t
emit_mov(size_t n, unsigned int num, bool store)
{
	uint8_t base = store ? 0 : 7;
	uint8_t b[4] = { (uint8_t)(num >= 8 ? 0x4c : 0x48), store ? 0x89 : 0x8b,
			 (uint8_t)(0x40 | (num & 7) << 3 | base),
			 (uint8_t)(8 * num) };

	return emit(n, b, 4);
}

/* The code buffer: prologue, the instruction, epilogue. */
static void
native_build(const uint8_t *insn, size_t len)
{
	static const uint8_t pro[] = {
		0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56,
		0x41, 0x57, 0x57,                         /* push rdi */
		0x48, 0x8b, 0x87, 0x80, 0x00, 0x00, 0x00, /* mov rax,[rdi+128]
							   */
		0x50, 0x9d,                               /* push rax; popfq */
	};
	static const uint8_t epi_a[] = {
		0x9c, 0x50,                   /* pushfq; push rax */
		0x48, 0x8b, 0x44, 0x24, 0x10, /* mov rax, [rsp+16] */
	};
	static const uint8_t epi_b[] = {
		0x59, 0x48, 0x89, 0x48, 0x00, /* pop rcx; mov [rax], rcx */
		0x59, 0x48, 0x89, 0x88, 0x80, 0x00, 0x00, 0x00, /* flags */
		0x5f, 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41,
		0x5c, 0x5d, 0x5b, 0xfc, 0xc3, /* pops, cld, ret */
	};
	size_t n = emit(0, pro, sizeof(pro));

	for (unsigned int r = 0; r < 16; r++)
		if (r != 4 && r != 7)
			n = emit_mov(n, r, false);
	n = emit_mov(n, 7, false);
	n = emit(n, insn, len);
	n = emit(n, epi_a, sizeof(epi_a));
	for (unsigned int r = 1; r < 16; r++)
		if (r != 4)
			n = emit_mov(n, r, true);
	emit(n, epi_b, sizeof(epi_b));
	__builtin___clear_cache((char *)code, (char *)code + CODE_SIZE);
}

/* Run it; returns 0 or the signal the instruction raised. */
static int
native_run(struct regs *r)
{
	void (*fn)(struct regs *) = (void (*)(struct regs *))(void *)code;

	native_sig = 0;
	if (sigsetjmp(native_jmp, 1) == 0)
		fn(r);
	return native_sig;
}

/*
 * 32-bit protected mode, natively: a far call from 64-bit code into a
 * compatibility-mode code segment (Linux's __USER32_CS, 0x23) on a stack
 * below 4 GiB.  The 32-bit side loads DS/ES with __USER_DS and the eight
 * GPRs and EFLAGS from a struct in the code page, runs the instruction,
 * stores them back and returns with a far return.
 */
#define USER32_CS  0x23
#define USER_DS    0x2b
#define C32_REGS   0x100 /* struct regs32 in the code page */
#define C32_FAR    0x180 /* m16:32 far pointer to the 32-bit code */
#define C32_RSP    0x190 /* the 64-bit RSP while in 32-bit code */
#define C32_CODE   0x200
#define STACK32    65536 /* room for a signal frame */
#define C16_CODE   0x800 /* 16-bit code, its segment's offset 0 */
#define C16_FAR    0x1a0
#define LDT_SEL(n) ((n) << 3 | 4 | 3)

struct regs32 {
	uint32_t gpr[8];
	uint32_t eflags;
};

static uint8_t *stack32;

static size_t
emit32(size_t n, uint8_t op, uint8_t modrm, uint32_t abs)
{
	uint8_t b[6] = { op, modrm };

	memcpy(b + 2, &abs, 4);
	return emit(n, b, 6);
}

static size_t
emit64imm(size_t n, uint8_t op2, uint64_t imm)
{
	uint8_t b[10] = { 0x48, op2 };

	memcpy(b + 2, &imm, 8);
	return emit(n, b, 10);
}

static void native_build16(const uint8_t *insn, size_t len);

/* The 64-bit side and (mode 32) the 32-bit code; mode 16: the 64-bit
 * side that calls native_build16()'s code. */
static void
native_build32(const uint8_t *insn, size_t len, enum x86_mode mode)
{
	static const uint8_t t_pro[] = { 0x53, 0x55, 0x41, 0x54, 0x41,
					 0x55, 0x41, 0x56, 0x41, 0x57 };
	static const uint8_t t_epi[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d,
					 0x41, 0x5c, 0x5d, 0x5b, 0xc3 };
	static const uint8_t ds[] = { 0xb8, USER_DS, 0,    0,   0,
				      0x8e, 0xd8,    0x8e, 0xc0 };
	uint32_t regs = (uint32_t)(uintptr_t)(code + C32_REGS);
	uint64_t top = (uint64_t)(uintptr_t)(stack32 + STACK32 - 64);
	uint32_t far[2] = { (uint32_t)(uintptr_t)(code + C32_CODE), USER32_CS };
	size_t n;

	/* 64-bit: save callee-saved registers and RSP, far call. */
	n = emit(0, t_pro, sizeof(t_pro));
	n = emit64imm(n, 0xb8, (uint64_t)(uintptr_t)(code + C32_RSP));
	n = emit(n, (const uint8_t[]){ 0x48, 0x89, 0x20 }, 3); /* [rax]=rsp */
	n = emit64imm(n, 0xbc, top);                           /* rsp = top */
	n = emit64imm(
	    n, 0xb8,
	    (uint64_t)(uintptr_t)(code +
				  (mode == X86_MODE_16 ? C16_FAR : C32_FAR)));
	n = emit(n, (const uint8_t[]){ 0xff, 0x18 }, 2); /* lcall [rax] */
	n = emit64imm(n, 0xb8, (uint64_t)(uintptr_t)(code + C32_RSP));
	n = emit(n, (const uint8_t[]){ 0x48, 0x8b, 0x20 }, 3); /* rsp=[rax] */
	emit(n, t_epi, sizeof(t_epi));
	memcpy(code + C32_FAR, far, sizeof(far));
	if (mode == X86_MODE_16) {
		native_build16(insn, len);
		return;
	}

	/* 32-bit: DS/ES, EFLAGS and GPRs in, the instruction, out. */
	n = emit(C32_CODE, ds, sizeof(ds));
	n = emit32(n, 0xff, 0x35, regs + 32); /* push dword [eflags] */
	n = emit(n, (const uint8_t[]){ 0x9d }, 1);
	for (unsigned int r = 0; r < 8; r++)
		if (r != 4)
			n = emit32(n, 0x8b, (uint8_t)(0x05 | r << 3),
				   regs + 4 * r);
	n = emit(n, insn, len);
	n = emit(n, (const uint8_t[]){ 0x9c }, 1); /* pushfd */
	for (unsigned int r = 0; r < 8; r++)
		if (r != 4)
			n = emit32(n, 0x89, (uint8_t)(0x05 | r << 3),
				   regs + 4 * r);
	n = emit32(n, 0x8f, 0x05, regs + 32);        /* pop dword [eflags] */
	emit(n, (const uint8_t[]){ 0xfc, 0xcb }, 2); /* cld; lret */
	__builtin___clear_cache((char *)code, (char *)code + CODE_SIZE);
}

/*
 * 16-bit protected mode, natively: LDT segments (modify_ldt) for a 16-bit
 * code segment based at the code, DS/ES based at the data buffer (limit
 * 64 KiB), and GS at the register struct; entered and left like the
 * 32-bit code.
 */
static bool
ldt_set(unsigned int n, const void *base, uint32_t limit, bool is_code)
{
	struct user_desc d = { 0 };

	d.entry_number = n;
	d.base_addr = (uint32_t)(uintptr_t)base;
	d.limit = limit;
	d.contents = is_code ? 2 : 0;
	d.useable = 1;
	return syscall(SYS_modify_ldt, 1, &d, sizeof(d)) == 0;
}

static size_t
emit16(size_t n, const uint8_t *pre, size_t npre, uint16_t disp)
{
	n = emit(n, pre, npre);
	return emit(n, (const uint8_t *)&disp, 2);
}

static void
native_build16(const uint8_t *insn, size_t len)
{
	static const uint8_t segs[] = {
		0xb8, LDT_SEL(1), 0, 0x8e, 0xd8, 0x8e, 0xc0, /* DS, ES */
		0xb8, LDT_SEL(2), 0, 0x8e, 0xe8,             /* GS */
	};
	static const uint8_t unsegs[] = {
		0xb8, USER_DS, 0,    0x8e, 0xd8, 0x8e, 0xc0,
		0x31, 0xc0,    0x8e, 0xe8, 0xfc, 0x66, 0xcb, /* o32 retf */
	};
	uint32_t far[2] = { 0, LDT_SEL(0) };
	size_t n;

	memcpy(code + C16_FAR, far, sizeof(far));
	n = emit(C16_CODE, segs, sizeof(segs));
	n = emit16(n, (const uint8_t[]){ 0x65, 0x66, 0xff, 0x36 }, 4, 32);
	n = emit(n, (const uint8_t[]){ 0x66, 0x9d }, 2); /* popfd */
	for (unsigned int r = 0; r < 8; r++)
		if (r != 4)
			n = emit16(
			    n,
			    (const uint8_t[]){ 0x65, 0x66, 0x8b,
					       (uint8_t)(0x06 | r << 3) },
			    4, (uint16_t)(4 * r));
	n = emit(n, insn, len);
	n = emit(n, (const uint8_t[]){ 0x66, 0x9c }, 2); /* pushfd */
	for (unsigned int r = 0; r < 8; r++)
		if (r != 4)
			n = emit16(
			    n,
			    (const uint8_t[]){ 0x65, 0x66, 0x89,
					       (uint8_t)(0x06 | r << 3) },
			    4, (uint16_t)(4 * r));
	n = emit16(n, (const uint8_t[]){ 0x65, 0x66, 0x8f, 0x06 }, 4, 32);
	emit(n, unsegs, sizeof(unsegs));
	__builtin___clear_cache((char *)code, (char *)code + CODE_SIZE);
}

static int
native_run32(struct regs *r)
{
	struct regs32 *r32 = (struct regs32 *)(void *)(code + C32_REGS);
	void (*fn)(void) = (void (*)(void))(void *)code;

	for (int i = 0; i < 8; i++)
		r32->gpr[i] = (uint32_t)r->gpr[i];
	r32->eflags = (uint32_t)r->rflags;
	native_sig = 0;
	if (sigsetjmp(native_jmp, 1) == 0)
		fn();
	if (native_sig == 0) {
		for (int i = 0; i < 8; i++)
			r->gpr[i] = r32->gpr[i];
		r->rflags = r32->eflags;
	}
	return native_sig;
}

/* ---- the interpreter side -------------------------------------------- */

static interp_op_fn handlers[X86_M_COUNT];
static struct interp_vm ivm;
static struct interp_cpu cpu;
static struct vm_exit vmexit;

static void
handlers_init(void)
{
	const struct interp_op *tabs[] = { interp_ops_alu, interp_ops_shift,
					   interp_ops_muldiv, interp_ops_bit,
					   interp_ops_string };

	for (size_t t = 0; t < sizeof(tabs) / sizeof(tabs[0]); t++)
		for (const struct interp_op *op = tabs[t]; op->fn; op++) {
			CU_ASSERT_PTR_NULL(handlers[op->mnem]);
			handlers[op->mnem] = op->fn;
		}
}

/*
 * A vCPU in 'mode', paging off: 64-bit and 32-bit with flat segments;
 * 16-bit protected mode with DS and ES based at the data buffer (the
 * native side's LDT segments, see native_build16()).
 */
static void
cpu_reset(enum x86_mode mode)
{
	bool mode32 = mode != X86_MODE_64;

	memset(&cpu, 0, sizeof(cpu));
	cpu.ivm = &ivm;
	cpu.exit = &vmexit;
	cpu.cr0 = CR0_PE | CR0_ET;
	cpu.efer = mode32 ? 0 : EFER_LMA | EFER_LME;
	for (int s = 0; s < 6; s++) {
		cpu.seg[s].desc.base = 0;
		cpu.seg[s].desc.limit = 0xffffffff;
		cpu.seg[s].desc.access = 0x93 | X86_SEG_DB | 0x8000;
	}
	cpu.seg[X86_R_CS - X86_R_ES].desc.access =
	    0x9b | 0x8000 | (mode32 ? X86_SEG_DB : X86_SEG_L);
	if (mode == X86_MODE_16) {
		cpu.seg[X86_R_CS - X86_R_ES].desc.access = 0x9b;
		for (int s = 0; s < 6; s += 3) { /* ES, DS */
			cpu.seg[s].desc.base = (uint64_t)(uintptr_t)data;
			cpu.seg[s].desc.limit = 0xffff;
			cpu.seg[s].desc.access = 0x93;
		}
	}
	cpu.maxphyaddr = 48;
}

/*
 * Execute the decoded instruction with the state in *r; a REP string
 * instruction runs until it leaves rip.  Returns -1 done, else the
 * vector of the exception.
 */
static int
interp_run(const struct x86_instr *insn, struct regs *r)
{
	interp_op_fn fn = handlers[insn->mnem];
	int rc, iter = 0;

	memcpy(cpu.gpr, r->gpr, sizeof(cpu.gpr));
	interp_set_rflags(&cpu, r->rflags);
	cpu.rip = 0x1000;
	do {
		cpu.next_rip = cpu.rip + insn->length;
		rc = fn(&cpu, insn);
		if (rc != INTERP_OK)
			break;
	} while (cpu.next_rip == cpu.rip && ++iter < 100000);
	if (rc == INTERP_FAULT)
		return cpu.exc.vector;
	if (rc != INTERP_OK)
		return 256 + rc; /* an engine error: never native */
	memcpy(r->gpr, cpu.gpr, sizeof(cpu.gpr));
	r->rflags = interp_rflags(&cpu);
	return -1;
}

/* ---- forms ----------------------------------------------------------- */

struct form {
	uint8_t bytes[15];
	uint8_t len;
	uint8_t mode; /* enum x86_mode */
	struct x86_instr insn;
	unsigned int mem_base; /* GPR number of the memory base, or 16 */
	bool bt_mem;           /* BT* with a register bit offset */
};

#define MAX_FORMS 20000
static struct form *forms;
/* [0, nforms64) are 64-bit, then 32-bit up to nforms32, then 16-bit */
static unsigned int nforms, nforms64, nforms32;

static const uint64_t edges[] = {
	0,
	1,
	2,
	~0ULL,
	0x7f,
	0x80,
	0xff,
	0x7fff,
	0x8000,
	0xffff,
	0x7fffffff,
	0x80000000,
	0xffffffff,
	0x7fffffffffffffffULL,
	0x8000000000000000ULL,
	0x100000000ULL,
	31,
	32,
	63,
	64,
	0x99,
	0x0909,
};

static uint64_t
rnd_value(void)
{
	uint64_t v = rnd();

	switch (v % 8) {
	case 0:
	case 1:
	case 2:
		return edges[rnd() % (sizeof(edges) / sizeof(edges[0]))];
	case 3: /* small, either sign */
		return (uint64_t)((int64_t)(rnd() % 64) - 32);
	case 4: /* an edge with noise in the upper half */
		return edges[rnd() % (sizeof(edges) / sizeof(edges[0]))] ^
		       (rnd() << 32);
	default:
		return rnd();
	}
}

static bool
is_string(unsigned int m)
{
	switch (m) {
	case X86_M_MOVSB:
	case X86_M_MOVS:
	case X86_M_STOSB:
	case X86_M_STOS:
	case X86_M_LODSB:
	case X86_M_LODS:
	case X86_M_CMPSB:
	case X86_M_CMPS:
	case X86_M_SCASB:
	case X86_M_SCAS:
		return true;
	default:
		return false;
	}
}

/* Does the decoded instruction qualify as a test form? */
static bool
form_ok(struct form *f)
{
	const struct x86_instr *in = &f->insn;

	if (in->status != X86_DEC_OK || handlers[in->mnem] == NULL)
		return false;
	/* 16-bit addresses need a segment base: 16-bit mode only. */
	if (in->addrsize == 2 && in->mode != X86_MODE_16)
		return false;
	f->mem_base = 16;
	f->bt_mem = false;
	for (int i = 0; i < in->nops; i++) {
		const struct x86_operand *op = &in->ops[i];

		if (op->type == X86_OPND_REG) {
			/* RSP is the harness's: not an operand. */
			if (x86_reg_class(op->reg) >= X86_RC_GPR16 &&
			    x86_reg_class(op->reg) <= X86_RC_GPR64 &&
			    x86_reg_gpr_num(op->reg) == 4)
				return false;
			if (op->reg == X86_R_SPL)
				return false;
		}
		if (op->type == X86_OPND_MEM) {
			int b = x86_reg_gpr_num(op->base);

			/* No index; the base is none of the implicit
			 * operands (rAX, rCX, rDX) nor RSP. */
			if (op->index != X86_R_NONE || b < 0 || b == 4 ||
			    op->seg == X86_R_SS ||
			    (b <= 2 && !is_string(in->mnem)))
				return false;
			/* String operands are based on rSI/rDI. */
			if (!is_string(in->mnem))
				f->mem_base = (unsigned)b;
		}
	}
	if ((in->mnem == X86_M_BT || in->mnem == X86_M_BTS ||
	     in->mnem == X86_M_BTR || in->mnem == X86_M_BTC) &&
	    in->ops[0].type == X86_OPND_MEM &&
	    in->ops[1].type == X86_OPND_REG) {
		if (x86_reg_gpr_num(in->ops[1].reg) == (int)f->mem_base)
			return false;
		f->bt_mem = true;
	}
	return true;
}

/*
 * How many forms of one kind (mnemonic, prefixes, operand types and
 * sizes) are kept: a few, with different registers and immediates.
 */
#define KIND_SLOTS 16384
static uint64_t kind_key[KIND_SLOTS];
static uint8_t kind_count[KIND_SLOTS];

static bool
kind_add(const struct x86_instr *in, unsigned int limit)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned int i;

#define MIX(v) (h = (h ^ (uint64_t)(v)) * 0x100000001b3ULL)
	MIX(in->mnem);
	MIX(in->mode);
	MIX(in->prefixes &
	    (X86_PFX_LOCK | X86_PFX_REP | X86_PFX_REPNE | X86_PFX_ADSZ));
	MIX(in->addrsize);
	for (int k = 0; k < in->nops; k++) {
		MIX(in->ops[k].type);
		MIX(in->ops[k].size);
	}
#undef MIX
	h |= 1;
	for (i = (unsigned int)(h % KIND_SLOTS);
	     kind_key[i] != 0 && kind_key[i] != h; i = (i + 1) % KIND_SLOTS)
		;
	kind_key[i] = h;
	if (kind_count[i] >= limit)
		return false;
	kind_count[i]++;
	return true;
}

static enum x86_mode forms_mode;

static void
form_try(const uint8_t *b, size_t len, size_t npfx, unsigned int map,
	 unsigned int opcode)
{
	struct form *f = &forms[nforms];
	unsigned int m;

	if (nforms == MAX_FORMS)
		return;
	memcpy(f->bytes, b, len);
	/* The opcode tried, not a prefix taken for one. */
	f->mode = (uint8_t)forms_mode;
	if (x86_decode(&f->insn, forms_mode, f->bytes, len) != X86_DEC_OK ||
	    f->insn.npfx != npfx || f->insn.map != map ||
	    f->insn.opcode != opcode || !form_ok(f))
		return;
	/* Shifts by an immediate: more forms, for more counts. */
	m = f->insn.mnem;
	if (!kind_add(&f->insn, (m >= X86_M_ROL && m <= X86_M_SAR) ||
					m == X86_M_SHLD || m == X86_M_SHRD ||
					m == X86_M_RORX
				    ? 24
				    : 4))
		return;
	f->len = f->insn.length;
	nforms++;
}

/*
 * ModRM bytes for an opcode: two register forms and a [base+disp8] form
 * with a random reg field, and with the reg field 0-7 (groups).
 */
static void
forms_opcode(const uint8_t *pfx, size_t npfx, unsigned int map,
	     const uint8_t *opc, size_t nopc)
{
	uint8_t b[15];
	size_t n;

	for (unsigned int reg = 0; reg < 8; reg++) {
		for (unsigned int k = 0; k < 3; k++) {
			unsigned int rm = (unsigned int)(rnd() % 8);

			if (rm == 4 || rm == 5)
				rm = 3 - (k & 1);
			n = 0;
			memcpy(b, pfx, npfx);
			n += npfx;
			memcpy(b + n, opc, nopc);
			n += nopc;
			b[n++] = (uint8_t)((k < 2 ? 0xc0 : 0x40) | reg << 3 |
					   (k == 0   ? rm
					    : k == 1 ? (rm ^ 1)
						     : rm));
			if (k == 2)
				b[n++] = (uint8_t)(rnd() % 16 * 8); /* disp8 */
			/* Immediates: random bytes. */
			while (n < sizeof(b))
				b[n++] = (uint8_t)rnd();
			form_try(b, sizeof(b), npfx, map, opc[nopc - 1]);
		}
	}
}

static void
forms_build(enum x86_mode mode)
{
	/* Prefix sets: none, 66, REX.W, REX (8-bit regs), REX.WRB, LOCK. */
	static const uint8_t pfx[][3] = {
		{ 0 },          { 0x66 },       { 0x48 },       { 0x40 },
		{ 0x4d },       { 0x45 },       { 0x66, 0x41 }, { 0xf0 },
		{ 0xf0, 0x48 }, { 0xf0, 0x66 }, { 0xf3 },       { 0xf2 },
		{ 0xf3, 0x48 }, { 0x67 },       { 0xf3, 0x67 }, { 0xf3, 0x66 },
		{ 0x66, 0x48 },
	};
	static const uint8_t npfx[] = { 0, 1, 1, 1, 1, 1, 2, 1, 2,
					2, 1, 1, 2, 1, 2, 2, 2 };

	forms_mode = mode;
	for (size_t p = 0; p < sizeof(npfx); p++) {
		/* REX bytes are INC/DEC outside 64-bit mode. */
		if (mode != X86_MODE_64 && npfx[p] > 0 &&
		    (pfx[p][npfx[p] - 1] & 0xf0) == 0x40)
			continue;
		for (unsigned int op = 0; op < 256; op++) {
			uint8_t o1[1] = { (uint8_t)op };
			uint8_t o2[2] = { 0x0f, (uint8_t)op };
			uint8_t o3[3] = { 0x0f, 0x38, (uint8_t)op };

			/* No-ModRM opcodes are tried as they are too. */
			forms_opcode(pfx[p], npfx[p], X86_MAP_1BYTE, o1, 1);
			forms_opcode(pfx[p], npfx[p], X86_MAP_0F, o2, 2);
			if (op >= 0xf0)
				forms_opcode(pfx[p], npfx[p], X86_MAP_0F38, o3,
					     3);
		}
	}
	/* VEX: BMI1/BMI2 in 0F38 F2-F7 and RORX in 0F3A F0, W0/W1. */
	for (unsigned int w = 0; w < 2; w++)
		for (unsigned int pp = 0; pp < 4; pp++)
			for (unsigned int op = 0xf0; op < 0xf8; op++)
				for (unsigned int map = 2; map <= 3; map++) {
					/* RORX wants VEX.vvvv 1111b. */
					unsigned int v =
					    map == 3 ? 15
						     : (unsigned)(rnd() % 16);
					uint8_t vex[5] = {
						0xc4, (uint8_t)(0xe0 | map),
						(uint8_t)(w << 7 |
							  (v == 11 ? 0 : v)
							      << 3 |
							  pp),
						(uint8_t)op
					};

					forms_opcode(vex, 0,
						     map == 2 ? X86_MAP_0F38
							      : X86_MAP_0F3A,
						     vex, 4);
				}
}

/* ---- the comparison --------------------------------------------------- */

#define CMP_FLAGS (INTERP_ARITH_FLAGS | PSL_D)

/*
 * The engine's undefined flags are those of the reference host, an AMD
 * CPU: there the comparison is exact.  Other CPUs (Intel) differ in
 * what the SDM leaves undefined; there those flags -- and the results
 * the SDM leaves undefined -- are not compared.
 */
static bool reference_host;

static bool
host_is_amd(void)
{
	unsigned int a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "0"(0));
	return b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;
}

#define F_C   PSL_C
#define F_P   INTERP_PSL_P
#define F_A   INTERP_PSL_A
#define F_Z   PSL_Z
#define F_S   INTERP_PSL_S
#define F_V   PSL_V
#define F_ALL INTERP_ARITH_FLAGS

/* The shift count the form's execution used (masked), or -1. */
static int
shift_count_of(const struct x86_instr *in, const struct regs *r)
{
	const struct x86_operand *cnt = &in->ops[in->nops - 1];
	uint64_t n;

	if (in->nops < 2)
		return -1;
	if (cnt->type == X86_OPND_IMM)
		n = (uint64_t)cnt->imm;
	else if (cnt->type == X86_OPND_REG && cnt->reg == X86_R_AL + 1)
		n = r->gpr[1];
	else
		return -1;
	return (int)(n & (in->ops[0].size == 8 ? 0x3f : 0x1f));
}

/*
 * The flags the SDM leaves undefined after this execution; *dst_too is
 * set when the result is undefined as well (SHLD/SHRD past 16 bits,
 * BSWAP of 16 bits).
 */
static uint64_t
sdm_undefined(const struct x86_instr *in, const struct regs *r, bool *dst_too)
{
	unsigned int bits = in->ops[0].size * 8;
	int n;

	*dst_too = false;
	switch (in->mnem) {
	case X86_M_MUL:
	case X86_M_IMUL:
		return F_S | F_Z | F_A | F_P;
	case X86_M_DIV:
	case X86_M_IDIV:
		return F_ALL;
	case X86_M_SHL:
	case X86_M_SAL:
	case X86_M_SHR:
	case X86_M_SAR:
		n = shift_count_of(in, r);
		if (n == 0)
			return 0;
		return F_A | (n != 1 ? F_V : 0) | (n >= (int)bits ? F_C : 0);
	case X86_M_ROL:
	case X86_M_ROR:
	case X86_M_RCL:
	case X86_M_RCR:
		n = shift_count_of(in, r);
		return n > 1 ? F_V : 0;
	case X86_M_SHLD:
	case X86_M_SHRD:
		n = shift_count_of(in, r);
		if (n == 0)
			return 0;
		if (n > (int)bits) {
			*dst_too = true;
			return F_ALL;
		}
		return F_A | (n != 1 ? F_V : 0);
	case X86_M_BT:
	case X86_M_BTS:
	case X86_M_BTR:
	case X86_M_BTC:
		return F_V | F_S | F_A | F_P;
	case X86_M_BSF:
	case X86_M_BSR:
		*dst_too = true; /* unchanged for 0 on both, but upper half */
		return F_C | F_V | F_S | F_A | F_P;
	case X86_M_TZCNT:
	case X86_M_LZCNT:
		return F_V | F_S | F_A | F_P;
	case X86_M_ANDN:
	case X86_M_BLSI:
	case X86_M_BLSMSK:
	case X86_M_BLSR:
	case X86_M_BZHI:
		return F_A | F_P;
	case X86_M_BEXTR:
		return F_A | F_S | F_P;
	case X86_M_DAA:
	case X86_M_DAS:
		return F_V;
	case X86_M_AAA:
	case X86_M_AAS:
		return F_V | F_S | F_Z | F_P;
	case X86_M_AAM:
	case X86_M_AAD:
		return F_V | F_A | F_C;
	case X86_M_BSWAP:
		*dst_too = in->ops[0].size == 2;
		return 0;
	default:
		return 0;
	}
}

static unsigned int nruns, nfail, mnem_fail[X86_M_COUNT];

/* Random registers for a form, with its memory operand in the buffer. */
static void
regs_random(const struct form *f, struct regs *r)
{
	const struct x86_instr *in = &f->insn;
	/* 16-bit mode addresses the buffer from DS/ES's base. */
	uint64_t base = f->mode == X86_MODE_16 ? 0 : (uint64_t)(uintptr_t)data;

	for (int i = 0; i < 16; i++)
		r->gpr[i] = rnd_value();
	r->gpr[4] = 0;
	r->rflags = PSL_1 | (rnd() & INTERP_ARITH_FLAGS);
	if (f->mem_base < 16)
		r->gpr[f->mem_base] = base + DATA_MID - 128 + rnd() % 256;
	if (f->bt_mem) /* a bit offset within +-1 KiB */
		r->gpr[x86_reg_gpr_num(in->ops[1].reg)] =
		    (uint64_t)((int64_t)(rnd() % 16384) - 8192);
	if (is_string(in->mnem)) {
		/* Strings: rSI/rDI in the buffer (upper bits noise with a
		 * 32-bit address size), a short count, either direction. */
		uint64_t hi = in->addrsize == 4 && f->mode == X86_MODE_64
				  ? rnd() << 32
			      : in->addrsize == 2 ? (rnd() & 0xffff) << 16
						  : 0;
		uint64_t si = 1024 + rnd() % (DATA_SIZE - 2048);
		uint64_t di = 1024 + rnd() % (DATA_SIZE - 2048);

		r->gpr[6] = hi | (base + si);
		r->gpr[7] = hi | (base + di);
		r->gpr[1] = hi | rnd() % 20;
		if (rnd() % 4 == 0) /* REPNE SCAS finds it */
			memcpy(&r->gpr[0], data + di + (rnd() % 4) * 8, 8);
		r->rflags |= rnd() % 2 ? PSL_D : 0;
	}
	if (in->mnem == X86_M_CMPXCHG16B && rnd() % 8)
		r->gpr[f->mem_base] &= ~15ULL;
	/* CMPXCHG*: often equal, so that both paths run. */
	if ((in->mnem == X86_M_CMPXCHG8B || in->mnem == X86_M_CMPXCHG16B ||
	     in->mnem == X86_M_CMPXCHG) &&
	    rnd() % 2 && f->mem_base < 16) {
		uint64_t off =
		    r->gpr[f->mem_base] - base + (uint64_t)in->ops[0].disp;

		memcpy(&r->gpr[0], data + off, 8);
		memcpy(&r->gpr[2], data + off + 8, 8);
		if (in->mnem == X86_M_CMPXCHG8B) {
			r->gpr[2] = r->gpr[0] >> 32;
			r->gpr[0] &= 0xffffffff;
		}
	}
	if (f->mode != X86_MODE_64)
		for (int i = 0; i < 16; i++)
			r->gpr[i] = i < 8 ? (uint32_t)r->gpr[i] : 0;
}

static int
sig_vector(int sig)
{
	switch (sig) {
	case 0:
		return -1;
	case SIGFPE:
		return 0;
	case SIGILL:
		return 6;
	default:
		return 13; /* SIGSEGV/SIGBUS: #GP */
	}
}

static void
report(const struct form *f, const struct regs *in, const struct regs *nat,
       const struct regs *emu, int vn, int ve, const char *what)
{
	char txt[96];

	nfail++;
	if (mnem_fail[f->insn.mnem]++ >= 2)
		return;
	x86_format(&f->insn, 0, txt, sizeof(txt));
	printf("\n%s: %s (", what, txt);
	for (unsigned int i = 0; i < f->len; i++)
		printf("%02x", f->bytes[i]);
	printf(") native #%d interp #%d%s%s\n", vn, ve, ve > 255 ? ": " : "",
	       ve > 255 ? vmexit.u.error.msg : "");
	for (int i = 0; i < 16; i++)
		if (nat->gpr[i] != emu->gpr[i] || i == 0)
			printf("  r%-2d in %016llx native %016llx interp "
			       "%016llx\n",
			       i, (unsigned long long)in->gpr[i],
			       (unsigned long long)nat->gpr[i],
			       (unsigned long long)emu->gpr[i]);
	printf("  flags in %03llx native %03llx interp %03llx\n",
	       (unsigned long long)(in->rflags & CMP_FLAGS),
	       (unsigned long long)(nat->rflags & CMP_FLAGS),
	       (unsigned long long)(emu->rflags & CMP_FLAGS));
}

static void
run_form(const struct form *f, unsigned int iters)
{
	struct regs in, nat, emu;
	int vn, ve;

	if (f->mode != X86_MODE_64)
		native_build32(f->bytes, f->len, (enum x86_mode)f->mode);
	else
		native_build(f->bytes, f->len);
	for (unsigned int it = 0; it < iters; it++) {
		memcpy(data, pool + rnd() % (sizeof(pool) - DATA_SIZE),
		       DATA_SIZE);
		regs_random(f, &in);
		memcpy(data_in, data, DATA_SIZE);
		nat = in;
		vn = sig_vector(f->mode != X86_MODE_64 ? native_run32(&nat)
						       : native_run(&nat));
		memcpy(data_native, data, DATA_SIZE);
		memcpy(data, data_in, DATA_SIZE);
		emu = in;
		ve = interp_run(&f->insn, &emu);
		nruns++;
		if (vn != ve) {
			report(f, &in, &nat, &emu, vn, ve, "exception");
			continue;
		}
		if (vn >= 0) {
			/* A fault changes nothing. */
			if (memcmp(data, data_in, DATA_SIZE) != 0 ||
			    memcmp(cpu.gpr, in.gpr, sizeof(in.gpr)) != 0)
				report(f, &in, &in, &emu, vn, ve,
				       "state changed by a fault");
			continue;
		}
		nat.gpr[4] = emu.gpr[4] = 0;
		if (!reference_host) {
			bool dst;
			uint64_t u = sdm_undefined(&f->insn, &in, &dst);

			nat.rflags &= ~u;
			emu.rflags &= ~u;
			if (dst && f->insn.ops[0].type == X86_OPND_REG) {
				int g = x86_reg_gpr_num(f->insn.ops[0].reg);

				nat.gpr[g] = emu.gpr[g] = 0;
			}
		}
		if (memcmp(nat.gpr, emu.gpr, sizeof(nat.gpr)) != 0 ||
		    (nat.rflags & CMP_FLAGS) != (emu.rflags & CMP_FLAGS))
			report(f, &in, &nat, &emu, vn, ve, "registers");
		else if (memcmp(data, data_native, DATA_SIZE) != 0)
			report(f, &in, &nat, &emu, vn, ve, "memory");
	}
}

static void
setup(void)
{
	struct sigaction sa = { 0 };

	if (code != NULL)
		return;
	code = mmap(NULL, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	data = mmap(NULL, DATA_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	CU_ASSERT_FATAL(code != MAP_FAILED && data != MAP_FAILED);
	ivm.slots[0] = (struct interp_slot){ .used = true,
					     .gpa = (uint64_t)(uintptr_t)data,
					     .len = DATA_SIZE,
					     .host = data };
	sa.sa_sigaction = native_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	stack32 = mmap(NULL, STACK32, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	CU_ASSERT_FATAL(stack32 != MAP_FAILED);
	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)(rnd() % 4 ? rnd() : 0);
	handlers_init();
	forms = calloc(MAX_FORMS, sizeof(*forms));
	CU_ASSERT_PTR_NOT_NULL_FATAL(forms);
	forms_build(X86_MODE_64);
	nforms64 = nforms;
	forms_build(X86_MODE_32);
	nforms32 = nforms;
	CU_ASSERT_FATAL(ldt_set(0, code + C16_CODE, 0xffff, true) &&
			ldt_set(1, data, 0xffff, false) &&
			ldt_set(2, code + C32_REGS, 0xff, false));
	forms_build(X86_MODE_16);
}

static void
test_native(void)
{
	unsigned int covered[X86_M_COUNT] = { 0 }, nmnem = 0;

	setup();
	reference_host = host_is_amd() && getenv("INTERP_ALU_MASK") == NULL;
	printf("\n%u forms (64-bit mode %u, 32-bit %u, 16-bit %u); %s\n",
	       nforms, nforms64, nforms32 - nforms64, nforms - nforms32,
	       reference_host ? "AMD host: undefined flags compared too"
			      : "undefined flags not compared");
	CU_ASSERT(nforms > 1000);
	for (unsigned int i = 0; i < nforms; i++) {
		cpu_reset(forms[i].mode);
		run_form(&forms[i], 500);
		covered[forms[i].insn.mnem]++;
	}
	for (unsigned int m = 0; m < X86_M_COUNT; m++)
		if (handlers[m] != NULL && covered[m] == 0)
			printf("not covered: %s\n", x86_mnem_name(m));
		else if (covered[m])
			nmnem++;
	for (unsigned int m = 0; m < X86_M_COUNT; m++)
		if (mnem_fail[m])
			printf("%s: %u mismatches\n", x86_mnem_name(m),
			       mnem_fail[m]);
	printf("%u mnemonics, %u runs, %u mismatches\n", nmnem, nruns, nfail);
	CU_ASSERT_EQUAL(nfail, 0);
}

/* ---- LOCK: atomic against other vCPU threads --------------------------- */

#define LOCK_ITERS 200000

struct lock_thread {
	struct interp_cpu c;
	struct x86_instr insn[4];
	uint64_t mem; /* guest address of the counters */
	int bad;
};

/*
 * Each thread is a vCPU that runs LOCK ADD, LOCK XADD, XCHG-as-spinlock
 * and LOCK CMPXCHG loops on shared counters; lost updates show up as
 * wrong totals.
 */
static void *
lock_thread_run(void *arg)
{
	struct lock_thread *t = arg;
	struct interp_cpu *c = &t->c;
	uint64_t *ctr = (uint64_t *)(uintptr_t)t->mem;

	for (unsigned int i = 0; i < LOCK_ITERS; i++) {
		uint64_t old;

		c->gpr[3] = t->mem;
		c->gpr[1] = 1;
		/* lock add qword [rbx], rcx */
		if (handlers[t->insn[0].mnem](c, &t->insn[0]) != INTERP_OK)
			t->bad++;
		/* lock xadd qword [rbx+8], rcx: rcx gets the old value */
		c->gpr[1] = 2;
		if (handlers[t->insn[1].mnem](c, &t->insn[1]) != INTERP_OK)
			t->bad++;
		/* lock cmpxchg [rbx+16], rcx until it succeeds: +3 */
		do {
			c->gpr[0] = __atomic_load_n(&ctr[2], __ATOMIC_RELAXED);
			old = c->gpr[0];
			c->gpr[1] = old + 3;
			if (handlers[t->insn[2].mnem](c, &t->insn[2]) !=
			    INTERP_OK)
				t->bad++;
		} while (c->gpr[0] != old || !(interp_rflags(c) & PSL_Z));
		/* lock btc [rbx+24], 5 flips bit 5: an even count of
		 * flips in all leaves it clear. */
		if (handlers[t->insn[3].mnem](c, &t->insn[3]) != INTERP_OK)
			t->bad++;
	}
	return NULL;
}

static void
test_lock(void)
{
	static const uint8_t code_add[] = { 0xf0, 0x48, 0x01, 0x0b };
	static const uint8_t code_xadd[] = {
		0xf0, 0x48, 0x0f, 0xc1, 0x4b, 0x08
	};
	static const uint8_t code_cx[] = { 0xf0, 0x48, 0x0f, 0xb1, 0x4b, 0x10 };
	static const uint8_t code_btc[] = { 0xf0, 0x48, 0x0f, 0xba,
					    0x7b, 0x18, 0x05 };
	struct lock_thread t[3];
	pthread_t th[3];
	uint64_t *ctr;

	setup();
	ctr = (uint64_t *)(void *)(data + 64);
	memset(ctr, 0, 32);
	for (int i = 0; i < 3; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		cpu_reset(X86_MODE_64);
		t[i].c = cpu;
		t[i].mem = (uint64_t)(uintptr_t)ctr;
		CU_ASSERT_EQUAL(x86_decode(&t[i].insn[0], X86_MODE_64, code_add,
					   sizeof(code_add)),
				X86_DEC_OK);
		CU_ASSERT_EQUAL(x86_decode(&t[i].insn[1], X86_MODE_64,
					   code_xadd, sizeof(code_xadd)),
				X86_DEC_OK);
		CU_ASSERT_EQUAL(x86_decode(&t[i].insn[2], X86_MODE_64, code_cx,
					   sizeof(code_cx)),
				X86_DEC_OK);
		CU_ASSERT_EQUAL(x86_decode(&t[i].insn[3], X86_MODE_64, code_btc,
					   sizeof(code_btc)),
				X86_DEC_OK);
	}
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL_FATAL(
		    pthread_create(&th[i], NULL, lock_thread_run, &t[i]), 0);
	/* The host takes part too, with its own locked adds. */
	for (unsigned int i = 0; i < LOCK_ITERS; i++)
		__atomic_fetch_add(&ctr[0], 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(t[i].bad, 0);
	}
	CU_ASSERT_EQUAL(ctr[0], 4ULL * LOCK_ITERS);
	CU_ASSERT_EQUAL(ctr[1], 3ULL * 2 * LOCK_ITERS);
	CU_ASSERT_EQUAL(ctr[2], 3ULL * 3 * LOCK_ITERS);
	CU_ASSERT_EQUAL(ctr[3], (3 * LOCK_ITERS) % 2 ? 0x20 : 0);
}

/* ---- BCD by the SDM's examples; REP one element at a time ------------- */

/* Decode 'hex' in 'mode', run it once with AX = ax and the flags;
 * returns the handler's result. */
static int
run_once(enum x86_mode mode, const uint8_t *b, size_t len, uint64_t *ax,
	 uint64_t *flags)
{
	struct x86_instr insn;
	int rc;

	CU_ASSERT_EQUAL_FATAL(x86_decode(&insn, mode, b, len), X86_DEC_OK);
	cpu_reset(mode);
	cpu.gpr[0] = *ax;
	interp_set_rflags(&cpu, *flags | PSL_1);
	cpu.rip = 0x1000;
	cpu.next_rip = cpu.rip + insn.length;
	rc = handlers[insn.mnem](&cpu, &insn);
	*ax = cpu.gpr[0];
	*flags = interp_rflags(&cpu) & (INTERP_ARITH_FLAGS & ~PSL_V);
	return rc;
}

static void
test_bcd(void)
{
	/* AX in, flags in, AX out, the defined flags out, from the SDM's
	 * DAA/DAS examples and its AAA/AAS/AAM/AAD text. */
#define SZAPC (INTERP_ARITH_FLAGS & ~PSL_V)
#define AC    (INTERP_PSL_A | PSL_C)
#define SZP   (INTERP_PSL_S | PSL_Z | INTERP_PSL_P)
	static const struct {
		uint8_t op[2], len;
		uint64_t ax, f, ax_out, f_out, defined;
	} v[] = {
		/* DAA after 79h + 35h: AL=AEh, SF */
		{ { 0x27 },
		  1,
		  0xae,
		  INTERP_PSL_S,
		  0x14,
		  INTERP_PSL_A | INTERP_PSL_P | PSL_C,
		  SZAPC },
		/* DAS after 35h - 47h: AL=EEh, SF AF PF CF */
		{ { 0x2f },
		  1,
		  0xee,
		  SZAPC & ~PSL_Z,
		  0x88,
		  SZAPC & ~PSL_Z,
		  SZAPC },
		/* AAA after 9 + 8 = 11h (AF): 17 -> AH=1, AL=7 */
		{ { 0x37 }, 1, 0x0011, INTERP_PSL_A, 0x0107, AC, AC },
		/* AAS after 3 - 8 = FBh (AF): AH=FFh, AL=5 */
		{ { 0x3f }, 1, 0x00fb, AC, 0xff05, AC, AC },
		/* AAM: 79 -> 7, 9; AAD: 7, 9 -> 79 */
		{ { 0xd4, 0x0a }, 2, 0x004f, 0, 0x0709, INTERP_PSL_P, SZP },
		{ { 0xd5, 0x0a }, 2, 0x0709, 0, 0x004f, 0, SZP },
		/* AAM base 16 splits nibbles */
		{ { 0xd4, 0x10 }, 2, 0x00a7, 0, 0x0a07, 0, SZP },
		/* SALC: AL <- CF ? FFh : 0 */
		{ { 0xd6 }, 1, 0x1234, PSL_C, 0x12ff, PSL_C, SZAPC },
		{ { 0xd6 }, 1, 0x1234, 0, 0x1200, 0, SZAPC },
	};
#undef SZAPC
#undef AC
#undef SZP
	static const uint8_t aam0[] = { 0xd4, 0x00 };
	uint64_t ax, f;

	setup();
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ax = v[i].ax;
		f = v[i].f;
		CU_ASSERT_EQUAL(
		    run_once(X86_MODE_32, v[i].op, v[i].len, &ax, &f),
		    INTERP_OK);
		f &= v[i].defined;
		CU_ASSERT_EQUAL(ax, v[i].ax_out);
		CU_ASSERT_EQUAL(f, v[i].f_out);
		if (ax != v[i].ax_out || f != v[i].f_out)
			printf("\nvector %zu: ax %llx flags %llx\n", i,
			       (unsigned long long)ax, (unsigned long long)f);
	}
	/* AAM 0 is a divide error, and changes nothing. */
	ax = 0x1234;
	f = 0;
	CU_ASSERT_EQUAL(run_once(X86_MODE_32, aam0, 2, &ax, &f), INTERP_FAULT);
	CU_ASSERT_EQUAL(cpu.exc.vector, 0);
	CU_ASSERT_EQUAL(ax, 0x1234);
}

static void
test_rep(void)
{
	static const uint8_t rep_stosb[] = { 0xf3, 0xaa };
	static const uint8_t repe_cmpsb[] = { 0xf3, 0xa6 };
	static const uint8_t rep_movsq_a32[] = { 0xf3, 0x67, 0x48, 0xa5 };
	uint64_t base = (uint64_t)(uintptr_t)data;
	struct x86_instr insn;

	setup();
	memset(data, 0, DATA_SIZE);
	cpu_reset(X86_MODE_64);
	/* REP STOSB, 3 bytes: one per execution, rip stays until the
	 * last. */
	CU_ASSERT_EQUAL(x86_decode(&insn, X86_MODE_64, rep_stosb, 2),
			X86_DEC_OK);
	cpu.gpr[0] = 0x5a;
	cpu.gpr[1] = 3;
	cpu.gpr[7] = base + 100;
	for (int i = 0; i < 3; i++) {
		cpu.rip = 0x1000;
		cpu.next_rip = 0x1002;
		CU_ASSERT_EQUAL(handlers[insn.mnem](&cpu, &insn), INTERP_OK);
		CU_ASSERT_EQUAL(cpu.gpr[1], 2 - (unsigned)i);
		CU_ASSERT_EQUAL(cpu.next_rip, i < 2 ? 0x1000 : 0x1002);
		CU_ASSERT_EQUAL(data[100 + i], 0x5a);
		CU_ASSERT_EQUAL(data[101 + i], 0);
	}
	/* RCX = 0: nothing at all. */
	cpu.next_rip = 0x1002;
	CU_ASSERT_EQUAL(handlers[insn.mnem](&cpu, &insn), INTERP_OK);
	CU_ASSERT_EQUAL(cpu.gpr[7], base + 103);
	CU_ASSERT_EQUAL(data[103], 0);
	CU_ASSERT_EQUAL(cpu.next_rip, 0x1002);

	/* REPE CMPSB stops at the first difference, count left. */
	CU_ASSERT_EQUAL(x86_decode(&insn, X86_MODE_64, repe_cmpsb, 2),
			X86_DEC_OK);
	memcpy(data + 200, "abcX", 4);
	memcpy(data + 300, "abcY", 4);
	cpu.gpr[1] = 10;
	cpu.gpr[6] = base + 200;
	cpu.gpr[7] = base + 300;
	for (int i = 0; i < 4; i++) {
		cpu.rip = 0x1000;
		cpu.next_rip = 0x1002;
		CU_ASSERT_EQUAL(handlers[insn.mnem](&cpu, &insn), INTERP_OK);
		CU_ASSERT_EQUAL(cpu.next_rip, i < 3 ? 0x1000 : 0x1002);
	}
	CU_ASSERT_EQUAL(cpu.gpr[1], 6);
	CU_ASSERT_EQUAL(cpu.gpr[6], base + 204);
	CU_ASSERT_FALSE(interp_rflags(&cpu) & PSL_Z);

	/* 32-bit addresses with DF: ESI/EDI/ECX wrap at 32 bits, the upper
	 * halves are cleared; memory moves down. */
	CU_ASSERT_EQUAL(x86_decode(&insn, X86_MODE_64, rep_movsq_a32, 4),
			X86_DEC_OK);
	memcpy(data + 400, "01234567", 8);
	cpu.gpr[1] = 0xffffffff00000002ULL;
	cpu.gpr[6] = 0xabcd000000000000ULL | (base + 400);
	cpu.gpr[7] = base + 500;
	interp_set_rflags(&cpu, PSL_D | PSL_1);
	cpu.rip = 0x1000;
	cpu.next_rip = 0x1004;
	CU_ASSERT_EQUAL(handlers[insn.mnem](&cpu, &insn), INTERP_OK);
	CU_ASSERT_EQUAL(cpu.next_rip, 0x1000);
	CU_ASSERT_EQUAL(cpu.gpr[1], 1);
	CU_ASSERT_EQUAL(cpu.gpr[6], base + 392);
	CU_ASSERT_EQUAL(cpu.gpr[7], base + 492);
	CU_ASSERT_EQUAL(memcmp(data + 500, "01234567", 8), 0);
}

static CU_TestInfo tests[] = {
	{ "BCD and SALC by the SDM", test_bcd },
	{ "REP: one element per execution", test_rep },
	{ "forms vs native", test_native },
	{ "LOCK is atomic across vCPU threads", test_lock },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "interp_alu", tests },
	{ NULL, NULL },
};
