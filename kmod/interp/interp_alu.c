/*
 * The interp engine's integer ALU: ADD..CMP, TEST, INC/DEC/NEG/NOT, the
 * exchanges (XCHG, XADD, CMPXCHG*), the moves that extend or select
 * (MOVZX, MOVSX*, CBW.., CWD.., CMOVcc, SETcc, MOVBE), the flag
 * instructions (LAHF, SAHF, CLC, STC, CMC, SALC), BCD adjustment and the
 * BMI/ADX integer extensions.
 *
 * The common arithmetic records its flags lazily (interp_lf_set); the
 * rest computes them exactly.  Where the SDM leaves a flag undefined the
 * value is the one this engine's reference, an AMD EPYC host, produces
 * (tests/unit/test_interp_alu.c runs every form natively to compare).
 *
 * A locked read-modify-write of RAM (LOCK, XCHG with memory) is a
 * compare-and-swap on the host memory, so it is atomic against the other
 * vCPUs' threads as on hardware.
 */
#include <string.h>

#include "interp.h"

/* ---- locked read-modify-write --------------------------------------- */

uint64_t
interp_host_load(const void *hp, unsigned int size)
{
	switch (size) {
	case 1:
		return __atomic_load_n((const uint8_t *)hp, __ATOMIC_SEQ_CST);
	case 2:
		return __atomic_load_n((const uint16_t *)hp, __ATOMIC_SEQ_CST);
	case 4:
		return __atomic_load_n((const uint32_t *)hp, __ATOMIC_SEQ_CST);
	default:
		return __atomic_load_n((const uint64_t *)hp, __ATOMIC_SEQ_CST);
	}
}

#define HOST_CAS(type)                                                         \
	do {                                                                   \
		type o = (type)*old;                                           \
		bool ok = __atomic_compare_exchange_n(                         \
		    (type *)hp, &o, (type)val, false, __ATOMIC_SEQ_CST,        \
		    __ATOMIC_SEQ_CST);                                         \
		*old = o;                                                      \
		return ok;                                                     \
	} while (0)

bool
interp_host_cas(void *hp, unsigned int size, uint64_t *old, uint64_t val)
{
	switch (size) {
	case 1:
		HOST_CAS(uint8_t);
	case 2:
		HOST_CAS(uint16_t);
	case 4:
		HOST_CAS(uint32_t);
	default:
		HOST_CAS(uint64_t);
	}
}

/*
 * The host address of the destination (operand 0) when the instruction
 * is a locked read-modify-write of RAM, else NULL (registers, MMIO, a
 * misaligned or page-crossing operand: read and written as usual).
 */
static int
locked_host(struct interp_cpu *c, const struct x86_instr *insn, void **hp)
{
	*hp = NULL;
	if (insn->ops[0].type != X86_OPND_MEM ||
	    (!(insn->prefixes & X86_PFX_LOCK) && insn->mnem != X86_M_XCHG))
		return INTERP_OK;
	return interp_opnd_host(c, insn, 0, hp);
}

/* ---- ADD OR ADC SBB AND SUB XOR CMP TEST ----------------------------- */

static uint64_t
alu_calc(unsigned int mnem, uint64_t a, uint64_t b, uint64_t cf,
	 enum interp_lf_op *op)
{
	switch (mnem) {
	case X86_M_ADD:
		*op = INTERP_LF_ADD;
		return a + b;
	case X86_M_ADC:
		*op = INTERP_LF_ADC;
		return a + b + cf;
	case X86_M_SUB:
	case X86_M_CMP:
		*op = INTERP_LF_SUB;
		return a - b;
	case X86_M_SBB:
		*op = INTERP_LF_SBB;
		return a - b - cf;
	case X86_M_OR:
		*op = INTERP_LF_LOGIC;
		return a | b;
	case X86_M_XOR:
		*op = INTERP_LF_LOGIC;
		return a ^ b;
	default: /* AND, TEST */
		*op = INTERP_LF_LOGIC;
		return a & b;
	}
}

static int
alu_binop(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size;
	bool store = insn->mnem != X86_M_CMP && insn->mnem != X86_M_TEST;
	uint64_t a, b, res, cf = 0;
	enum interp_lf_op op;
	void *hp = NULL;
	int rc;

	rc = interp_opnd_read(c, insn, 1, &b);
	if (rc != INTERP_OK)
		return rc;
	if (insn->mnem == X86_M_ADC || insn->mnem == X86_M_SBB)
		cf = (interp_rflags(c) & PSL_C) != 0;
	if (store && (rc = locked_host(c, insn, &hp)) != INTERP_OK)
		return rc;
	if (hp != NULL) {
		a = interp_host_load(hp, size);
		do
			res = alu_calc(insn->mnem, a, b, cf, &op);
		while (!interp_host_cas(hp, size, &a, res));
	} else {
		rc = interp_opnd_read(c, insn, 0, &a);
		if (rc != INTERP_OK)
			return rc;
		res = alu_calc(insn->mnem, a, b, cf, &op);
		if (store &&
		    (rc = interp_opnd_write(c, insn, 0, res)) != INTERP_OK)
			return rc;
	}
	interp_lf_set(c, op, size, res, a, b, cf);
	return INTERP_OK;
}

/* ---- INC DEC NEG NOT ------------------------------------------------- */

static uint64_t
unop_calc(unsigned int mnem, uint64_t a)
{
	switch (mnem) {
	case X86_M_INC:
		return a + 1;
	case X86_M_DEC:
		return a - 1;
	case X86_M_NEG:
		return 0 - a;
	default:
		return ~a;
	}
}

static int
alu_unop(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size;
	uint64_t a, res, cf;
	void *hp;
	int rc;

	if ((rc = locked_host(c, insn, &hp)) != INTERP_OK)
		return rc;
	if (hp != NULL) {
		a = interp_host_load(hp, size);
		do
			res = unop_calc(insn->mnem, a);
		while (!interp_host_cas(hp, size, &a, res));
	} else {
		rc = interp_opnd_read(c, insn, 0, &a);
		if (rc != INTERP_OK)
			return rc;
		res = unop_calc(insn->mnem, a);
		rc = interp_opnd_write(c, insn, 0, res);
		if (rc != INTERP_OK)
			return rc;
	}
	switch (insn->mnem) {
	case X86_M_INC:
	case X86_M_DEC:
		/* INC and DEC keep CF: it goes into the record. */
		cf = (interp_rflags(c) & PSL_C) != 0;
		interp_lf_set(
		    c, insn->mnem == X86_M_INC ? INTERP_LF_INC : INTERP_LF_DEC,
		    size, res, a, 1, cf);
		break;
	case X86_M_NEG:
		interp_lf_set(c, INTERP_LF_NEG, size, res, a, 0, 0);
		break;
	default: /* NOT: no flags */
		break;
	}
	return INTERP_OK;
}

/* ---- XCHG XADD CMPXCHG CMPXCHG8B/16B --------------------------------- */

/*
 * An exchange's source (operand 1), then its destination's host memory
 * when the exchange is a locked one of RAM (locked_host(); with memory
 * XCHG is locked whether LOCK is there or not).
 */
static int
xchg_begin(struct interp_cpu *c, const struct x86_instr *insn, uint64_t *src,
	   void **hp)
{
	int rc = interp_opnd_read(c, insn, 1, src);

	*hp = NULL;
	return rc != INTERP_OK ? rc : locked_host(c, insn, hp);
}

static int
alu_xchg(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size;
	uint64_t a, b;
	void *hp;
	int rc;

	if ((rc = xchg_begin(c, insn, &b, &hp)) != INTERP_OK)
		return rc;
	if (hp != NULL) {
		a = interp_host_load(hp, size);
		while (!interp_host_cas(hp, size, &a, b))
			;
	} else {
		if ((rc = interp_opnd_read(c, insn, 0, &a)) != INTERP_OK ||
		    (rc = interp_opnd_write(c, insn, 0, b)) != INTERP_OK)
			return rc;
	}
	return interp_opnd_write(c, insn, 1, a);
}

static int
alu_xadd(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size;
	uint64_t a, b, res;
	void *hp;
	int rc;

	if ((rc = xchg_begin(c, insn, &b, &hp)) != INTERP_OK)
		return rc;
	if (hp != NULL) {
		a = interp_host_load(hp, size);
		do
			res = a + b;
		while (!interp_host_cas(hp, size, &a, res));
		rc = interp_opnd_write(c, insn, 1, a);
	} else {
		rc = interp_opnd_read(c, insn, 0, &a);
		if (rc != INTERP_OK)
			return rc;
		res = a + b;
		/* SRC <- DEST then DEST <- sum: "xadd eax, eax" doubles. */
		if (insn->ops[0].type == X86_OPND_MEM) {
			rc = interp_opnd_write(c, insn, 0, res);
			if (rc == INTERP_OK)
				rc = interp_opnd_write(c, insn, 1, a);
		} else {
			rc = interp_opnd_write(c, insn, 1, a);
			if (rc == INTERP_OK)
				rc = interp_opnd_write(c, insn, 0, res);
		}
	}
	if (rc != INTERP_OK)
		return rc;
	interp_lf_set(c, INTERP_LF_ADD, size, res, a, b, 0);
	return INTERP_OK;
}

static int
alu_cmpxchg(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size;
	uint64_t acc = interp_gpr_read(c, 0, size), dst, src;
	void *hp;
	int rc;

	if ((rc = xchg_begin(c, insn, &src, &hp)) != INTERP_OK)
		return rc;
	if (hp != NULL) {
		dst = acc;
		interp_host_cas(hp, size, &dst, src);
	} else {
		rc = interp_opnd_read(c, insn, 0, &dst);
		if (rc != INTERP_OK)
			return rc;
		/*
		 * Memory is written either way (the old value back when
		 * they differ), as the CPU's locked cycle does; a register
		 * destination is left alone when they differ.
		 */
		if (dst == acc)
			rc = interp_opnd_write(c, insn, 0, src);
		else if (insn->ops[0].type == X86_OPND_MEM)
			rc = interp_opnd_write(c, insn, 0, dst);
		if (rc != INTERP_OK)
			return rc;
	}
	if (dst != acc)
		interp_gpr_write(c, 0, size, dst);
	interp_lf_set(c, INTERP_LF_SUB, size, acc - dst, acc, dst, 0);
	return INTERP_OK;
}

/* 16-byte compare-and-swap; the caller checked the alignment. */
static bool
host_cas16(void *hp, uint64_t *lo, uint64_t *hi, uint64_t nlo, uint64_t nhi)
{
	bool ok;

	/* rhyve runs on x86-64 hosts only: the instruction itself. */

	__asm__ volatile("lock cmpxchg16b %2"
			 : "+a"(*lo), "+d"(*hi), "+m"(*(uint64_t(*)[2])hp),
			   "=@ccz"(ok)
			 : "b"(nlo), "c"(nhi)
			 : "memory");
	return ok;
}

/*
 * CMPXCHG8B / CMPXCHG16B: EDX:EAX (RDX:RAX) against m64 (m128); equal:
 * ECX:EBX (RCX:RBX) is stored and ZF set, else the memory value is loaded
 * and ZF cleared.  Only ZF changes.
 */
static int
alu_cmpxchg8b(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *op = &insn->ops[0];
	unsigned int half = op->size / 2;
	uint64_t m[2] = { 0, 0 }, lo, hi, off;
	bool eq;
	void *hp = NULL;
	int rc;

	if (op->type != X86_OPND_MEM)
		return interp_ud(c);
	off = interp_ea(c, insn, op);
	if (half == 8 && (off & 15) != 0)
		return interp_gp0(c); /* CMPXCHG16B: m128 must be aligned */
	lo = interp_gpr_read(c, 0, half);
	hi = interp_gpr_read(c, 2, half);
	if ((rc = locked_host(c, insn, &hp)) != INTERP_OK)
		return rc;
	if (hp != NULL && half == 8) {
		m[0] = lo;
		m[1] = hi;
		eq = host_cas16(hp, &m[0], &m[1], c->gpr[3], c->gpr[1]);
	} else if (hp != NULL) {
		m[0] = lo | hi << 32;
		eq = interp_host_cas(hp, 8, &m[0],
				     interp_gpr_read(c, 3, 4) |
					 interp_gpr_read(c, 1, 4) << 32);
		m[1] = m[0] >> 32;
		m[0] &= 0xffffffff;
	} else {
		uint64_t nv[2];

		rc = interp_mem_read(c, op->seg, off, insn->addrsize, m,
				     op->size, X86_MEM_READ);
		if (rc != INTERP_OK)
			return rc;
		if (half == 4) {
			m[1] = m[0] >> 32;
			m[0] &= 0xffffffff;
		}
		eq = m[0] == lo && m[1] == hi;
		nv[0] = eq ? interp_gpr_read(c, 3, half) : m[0];
		nv[1] = eq ? interp_gpr_read(c, 1, half) : m[1];
		if (half == 4)
			nv[0] |= nv[1] << 32;
		rc = interp_mem_write(c, op->seg, off, insn->addrsize, nv,
				      op->size, X86_MEM_WRITE);
		if (rc != INTERP_OK)
			return rc;
	}
	if (!eq) {
		interp_gpr_write(c, 0, half, m[0]);
		interp_gpr_write(c, 2, half, m[1]);
	}
	interp_set_flags(c, PSL_Z, eq ? PSL_Z : 0);
	return INTERP_OK;
}

/* ---- MOVZX MOVSX MOVSXD CBW.. CWD.. MOVBE ----------------------------- */

static int
alu_movx(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v;
	int rc;

	rc = interp_opnd_read(c, insn, 1, &v);
	if (rc != INTERP_OK)
		return rc;
	if (insn->mnem != X86_M_MOVZX)
		v = (uint64_t)interp_sext(v, insn->ops[1].size);
	return interp_opnd_write(c, insn, 0, v);
}

/* CBW / CWDE / CDQE: the low half of rAX sign-extended into all of it. */
static int
alu_cbw(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int sz = insn->opsize;

	interp_gpr_write(c, 0, sz, (uint64_t)interp_sext(c->gpr[0], sz / 2));
	return INTERP_OK;
}

/* CWD / CDQ / CQO: rDX <- the sign of rAX. */
static int
alu_cwd(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int sz = insn->opsize;

	interp_gpr_write(c, 2, sz, interp_sext(c->gpr[0], sz) < 0 ? ~0ULL : 0);
	return INTERP_OK;
}

static uint64_t
bswap(uint64_t v, unsigned int size)
{
	switch (size) {
	case 2:
		return __builtin_bswap16((uint16_t)v);
	case 4:
		return __builtin_bswap32((uint32_t)v);
	default:
		return __builtin_bswap64(v);
	}
}

static int
alu_movbe(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v;
	int rc;

	/* (F3 0F 38 F0/F1, no instruction, is #UD in the decoder) */
	rc = interp_opnd_read(c, insn, 1, &v);
	if (rc != INTERP_OK)
		return rc;
	return interp_opnd_write(c, insn, 0, bswap(v, insn->ops[0].size));
}

/* ---- CMOVcc SETcc ---------------------------------------------------- */

_Static_assert(X86_M_CMOVG - X86_M_CMOVO == 15, "CMOVcc ids in cc order");
_Static_assert(X86_M_SETG - X86_M_SETO == 15, "SETcc ids in cc order");

static int
alu_cmov(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t v;
	int rc;

	/* The source is read (and may fault) whatever the condition. */
	rc = interp_opnd_read(c, insn, 1, &v);
	if (rc != INTERP_OK)
		return rc;
	/* Not moving still writes a 32-bit destination: the upper half of
	 * the 64-bit register is cleared. */
	if (!interp_cond(c, insn->mnem - X86_M_CMOVO))
		v = interp_reg_read(c, insn->ops[0].reg);
	return interp_opnd_write(c, insn, 0, v);
}

static int
alu_setcc(struct interp_cpu *c, const struct x86_instr *insn)
{
	return interp_opnd_write(c, insn, 0,
				 interp_cond(c, insn->mnem - X86_M_SETO));
}

/* ---- LAHF SAHF CLC STC CMC SALC --------------------------------------- */

#define LAHF_FLAGS (INTERP_PSL_S | PSL_Z | INTERP_PSL_A | INTERP_PSL_P | PSL_C)

static int
alu_lahf(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	interp_reg_write(c, X86_R_AH, (interp_rflags(c) & LAHF_FLAGS) | PSL_1);
	return INTERP_OK;
}

static int
alu_sahf(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	interp_set_flags(c, LAHF_FLAGS, interp_reg_read(c, X86_R_AH));
	return INTERP_OK;
}

static int
alu_cflag(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t cf = interp_rflags(c) & PSL_C;

	switch (insn->mnem) {
	case X86_M_CLC:
		cf = 0;
		break;
	case X86_M_STC:
		cf = PSL_C;
		break;
	default: /* CMC */
		cf ^= PSL_C;
		break;
	}
	interp_set_flags(c, PSL_C, cf);
	return INTERP_OK;
}

/* SALC (undocumented, not in 64-bit mode): AL <- CF ? 0xff : 0. */
static int
alu_salc(struct interp_cpu *c, const struct x86_instr *insn)
{
	if (insn->mode == X86_MODE_64)
		return interp_ud(c);
	interp_gpr_write(c, 0, 1, (interp_rflags(c) & PSL_C) ? 0xff : 0);
	return INTERP_OK;
}

/* ---- DAA DAS AAA AAS AAM AAD (not in 64-bit mode) --------------------- */

/* SF, ZF and PF of an 8-bit result. */
static uint64_t
szp8(uint64_t v)
{
	v &= 0xff;
	return (v & 0x80 ? INTERP_PSL_S : 0) | (v == 0 ? PSL_Z : 0) |
	       (interp_parity(v) ? INTERP_PSL_P : 0);
}

/*
 * The SDM's pseudo-code.  OF is undefined after all six; so are SF, ZF,
 * PF after AAA/AAS and CF, AF after AAM/AAD.  This host computes them as
 * the arithmetic behind each: DAA/DAS the signed overflow of the whole
 * adjustment, AAA/AAS the 16-bit AX +- 0x106 (or 0), AAD the 8-bit add
 * AL + AH * imm8; AAM clears OF, AF, CF.
 */
static int
alu_bcd(struct interp_cpu *c, const struct x86_instr *insn)
{
	uint64_t f, al = c->gpr[0] & 0xff, ah = (c->gpr[0] >> 8) & 0xff;
	uint64_t old_al = al, nf = 0;
	bool cf, af;

	if (insn->mode == X86_MODE_64)
		return interp_ud(c);
	f = interp_rflags(c);
	cf = f & PSL_C;
	af = f & INTERP_PSL_A;
	switch (insn->mnem) {
	case X86_M_DAA:
	case X86_M_DAS: {
		bool sub = insn->mnem == X86_M_DAS, ncf = false;

		if ((al & 0xf) > 9 || af) {
			ncf = cf || (sub ? al < 6 : al + 6 > 0xff);
			al = (sub ? al - 6 : al + 6) & 0xff;
			nf |= INTERP_PSL_A;
		}
		if (old_al > 0x99 || cf) {
			al = (sub ? al - 0x60 : al + 0x60) & 0xff;
			ncf = true;
		}
		nf |= (ncf ? PSL_C : 0) | szp8(al);
		/* OF (undefined): this host's is the signed overflow of
		 * adding (subtracting) the whole adjustment. */
		if (sub ? (old_al ^ al) & (old_al ^ (old_al - al)) & 0x80
			: (old_al ^ al) & ~(old_al ^ (al - old_al)) & 0x80)
			nf |= PSL_V;
		break;
	}
	case X86_M_AAA:
	case X86_M_AAS: {
		/* AX +- 0x106 when adjusting; this host's SF ZF PF OF are
		 * those of that 16-bit add (subtract), also of +- 0. */
		bool adj = (al & 0xf) > 9 || af, sub = insn->mnem == X86_M_AAS;
		uint64_t ax = ah << 8 | al, d = adj ? 0x106 : 0;
		uint64_t t = (sub ? ax - d : ax + d) & 0xffff;

		if (adj)
			nf |= PSL_C | INTERP_PSL_A;
		if (sub ? (ax ^ d) & (ax ^ t) & 0x8000
			: ~(ax ^ d) & (ax ^ t) & 0x8000)
			nf |= PSL_V;
		nf |= (t & 0x8000 ? INTERP_PSL_S : 0) | (t == 0 ? PSL_Z : 0) |
		      (interp_parity(t) ? INTERP_PSL_P : 0);
		ah = t >> 8;
		al = t & 0xf;
		break;
	}
	case X86_M_AAM: {
		uint64_t base = (uint64_t)insn->imm[0] & 0xff;

		if (base == 0)
			return interp_raise(c, 0, false, 0); /* #DE */
		ah = al / base;
		al = al % base;
		nf |= szp8(al);
		break;
	}
	default: { /* AAD: the flags of the add, on this host */
		uint64_t p = (ah * ((uint64_t)insn->imm[0] & 0xff)) & 0xff;

		interp_gpr_write(c, 0, 2, (al + p) & 0xff);
		interp_lf_set(c, INTERP_LF_ADD, 1, al + p, al, p, 0);
		return INTERP_OK;
	}
	}
	interp_gpr_write(c, 0, 2, ah << 8 | al);
	interp_set_flags(c, INTERP_ARITH_FLAGS, nf);
	return INTERP_OK;
}

/* ---- ADCX ADOX ------------------------------------------------------- */

/* Add with carry through CF (ADCX) or OF (ADOX) only. */
static int
alu_adcx(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size;
	uint64_t flag = insn->mnem == X86_M_ADCX ? PSL_C : PSL_V;
	uint64_t a, b, res, m = interp_mask(size), cin;
	bool cout;
	int rc;

	if ((rc = interp_opnd_read(c, insn, 1, &b)) != INTERP_OK ||
	    (rc = interp_opnd_read(c, insn, 0, &a)) != INTERP_OK)
		return rc;
	cin = (interp_rflags(c) & flag) != 0;
	res = (a + b + cin) & m;
	cout = cin ? res <= a : res < a;
	if ((rc = interp_opnd_write(c, insn, 0, res)) != INTERP_OK)
		return rc;
	interp_set_flags(c, flag, cout ? flag : 0);
	return INTERP_OK;
}

/* ---- BMI1/BMI2 ------------------------------------------------------- */

/* SF ZF from the result; PF (undefined in the SDM) too, as this host. */
static uint64_t
sz_flags(uint64_t res, unsigned int size)
{
	return ((res & interp_mask(size)) == 0 ? PSL_Z : 0) |
	       (res & interp_sign(size) ? INTERP_PSL_S : 0) |
	       (interp_parity(res) ? INTERP_PSL_P : 0);
}

/*
 * The VEX-encoded integer instructions.  Flags: ANDN, BLSI, BLSMSK, BLSR
 * and BZHI set SF and ZF from the result, BEXTR only ZF, OF is cleared,
 * CF as each defines it.  AF, PF (and SF after BEXTR) are undefined:
 * this host sets PF from the result, clears SF after BEXTR and sets AF
 * after BEXTR only.
 * PDEP, PEXT, MULX, RORX, SARX, SHLX, SHRX leave the flags alone.
 */
static int
alu_bmi(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size, bits = size * 8;
	uint64_t m = interp_mask(size), a = 0, b = 0, res = 0, f = 0;
	uint64_t fmask = INTERP_ARITH_FLAGS;
	int rc;

	if ((rc = interp_opnd_read(c, insn, 1, &a)) != INTERP_OK)
		return rc;
	if (insn->nops > 2 &&
	    (rc = interp_opnd_read(c, insn, 2, &b)) != INTERP_OK)
		return rc;
	switch (insn->mnem) {
	case X86_M_ANDN:
		res = ~a & b & m;
		f = sz_flags(res, size);
		break;
	case X86_M_BEXTR: {
		unsigned int start = b & 0xff, len = (b >> 8) & 0xff;

		res = start >= 64 ? 0 : a >> start;
		if (len < 64)
			res &= (1ULL << len) - 1;
		res &= m;
		f = (sz_flags(res, size) & ~INTERP_PSL_S) | INTERP_PSL_A;
		break;
	}
	case X86_M_BLSI:
		res = a & (0 - a) & m;
		f = sz_flags(res, size) | (a != 0 ? PSL_C : 0);
		break;
	case X86_M_BLSMSK:
		res = (a ^ (a - 1)) & m;
		f = sz_flags(res, size) | (a == 0 ? PSL_C : 0);
		break;
	case X86_M_BLSR:
		res = a & (a - 1) & m;
		f = sz_flags(res, size) | (a == 0 ? PSL_C : 0);
		break;
	case X86_M_BZHI: {
		unsigned int n = b & 0xff;

		res = n < bits ? a & ((1ULL << n) - 1) : a;
		res &= m;
		f = sz_flags(res, size) | (n > bits - 1 ? PSL_C : 0);
		break;
	}
	case X86_M_PDEP:
	case X86_M_PEXT: {
		uint64_t k = 0;

		/* op1 the source, op2 the mask */
		for (unsigned int i = 0; i < bits; i++) {
			if (!(b >> i & 1))
				continue;
			if (insn->mnem == X86_M_PDEP)
				res |= (a >> k & 1) << i;
			else
				res |= (a >> i & 1) << k;
			k++;
		}
		fmask = 0;
		break;
	}
	case X86_M_SARX:
	case X86_M_SHLX:
	case X86_M_SHRX: {
		unsigned int n = b & (bits - 1);

		if (insn->mnem == X86_M_SHLX)
			res = a << n;
		else if (insn->mnem == X86_M_SHRX)
			res = a >> n;
		else
			res = (uint64_t)(interp_sext(a, size) >> n);
		res &= m;
		fmask = 0;
		break;
	}
	case X86_M_RORX: {
		unsigned int n = b & (bits - 1);

		res = n ? (a >> n | a << (bits - n)) & m : a;
		fmask = 0;
		break;
	}
	default: { /* MULX: op0 high, op1 low <- rDX * src (op2) */
		uint64_t d = interp_gpr_read(c, 2, size), lo, hi;

		if (size == 8) {
			unsigned __int128 p = (unsigned __int128)d * b;

			lo = (uint64_t)p;
			hi = (uint64_t)(p >> 64);
		} else {
			lo = (d * b) & m;
			hi = (d * b) >> 32;
		}
		/* Both the same register: the high half wins. */
		if ((rc = interp_opnd_write(c, insn, 1, lo)) != INTERP_OK)
			return rc;
		return interp_opnd_write(c, insn, 0, hi);
	}
	}
	if ((rc = interp_opnd_write(c, insn, 0, res)) != INTERP_OK)
		return rc;
	if (fmask != 0)
		interp_set_flags(c, fmask, f);
	return INTERP_OK;
}

const struct interp_op interp_ops_alu[] = {
	{ X86_M_ADD, alu_binop },
	{ X86_M_OR, alu_binop },
	{ X86_M_ADC, alu_binop },
	{ X86_M_SBB, alu_binop },
	{ X86_M_AND, alu_binop },
	{ X86_M_SUB, alu_binop },
	{ X86_M_XOR, alu_binop },
	{ X86_M_CMP, alu_binop },
	{ X86_M_TEST, alu_binop },
	{ X86_M_INC, alu_unop },
	{ X86_M_DEC, alu_unop },
	{ X86_M_NEG, alu_unop },
	{ X86_M_NOT, alu_unop },
	{ X86_M_XCHG, alu_xchg },
	{ X86_M_XADD, alu_xadd },
	{ X86_M_CMPXCHG, alu_cmpxchg },
	{ X86_M_CMPXCHG8B, alu_cmpxchg8b },
	{ X86_M_CMPXCHG16B, alu_cmpxchg8b },
	{ X86_M_MOVZX, alu_movx },
	{ X86_M_MOVSX, alu_movx },
	{ X86_M_MOVSXD, alu_movx },
	{ X86_M_CBW, alu_cbw },
	{ X86_M_CWD, alu_cwd },
	{ X86_M_MOVBE, alu_movbe },
#define CC(x)                                                                  \
	{ X86_M_CMOV##x, alu_cmov },                                           \
	{                                                                      \
		X86_M_SET##x, alu_setcc                                        \
	}
	CC(O),
	CC(NO),
	CC(B),
	CC(AE),
	CC(E),
	CC(NE),
	CC(BE),
	CC(A),
	CC(S),
	CC(NS),
	CC(P),
	CC(NP),
	CC(L),
	CC(GE),
	CC(LE),
	CC(G),
#undef CC
	{ X86_M_LAHF, alu_lahf },
	{ X86_M_SAHF, alu_sahf },
	{ X86_M_CLC, alu_cflag },
	{ X86_M_STC, alu_cflag },
	{ X86_M_CMC, alu_cflag },
	{ X86_M_SALC, alu_salc },
	{ X86_M_DAA, alu_bcd },
	{ X86_M_DAS, alu_bcd },
	{ X86_M_AAA, alu_bcd },
	{ X86_M_AAS, alu_bcd },
	{ X86_M_AAM, alu_bcd },
	{ X86_M_AAD, alu_bcd },
	{ X86_M_ADCX, alu_adcx },
	{ X86_M_ADOX, alu_adcx },
	{ X86_M_ANDN, alu_bmi },
	{ X86_M_BEXTR, alu_bmi },
	{ X86_M_BLSI, alu_bmi },
	{ X86_M_BLSMSK, alu_bmi },
	{ X86_M_BLSR, alu_bmi },
	{ X86_M_BZHI, alu_bmi },
	{ X86_M_PDEP, alu_bmi },
	{ X86_M_PEXT, alu_bmi },
	{ X86_M_SARX, alu_bmi },
	{ X86_M_SHLX, alu_bmi },
	{ X86_M_SHRX, alu_bmi },
	{ X86_M_RORX, alu_bmi },
	{ X86_M_MULX, alu_bmi },
	{ 0, NULL },
};
