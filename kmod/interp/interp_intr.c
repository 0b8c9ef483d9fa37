/*
 * Interrupts and exceptions for the interp engine: delivery through the
 * IVT (real mode), 32-bit IDT gates (protected mode) and 64-bit gates
 * (IA-32e mode) with stack switches from the TSS and IST, double and
 * triple faults; and the instructions that raise or end them (INT n,
 * INT3, INTO, INT1, IRET).  Intel SDM vol. 3A ch. 6.  Task gates and
 * IRET with NT switch tasks (interp_task.c); an interrupt from
 * virtual-8086 mode goes to a ring-0 handler with the 8086 segments on
 * its stack (SDM vol. 3B 20.3.1.1); IRET to and in virtual-8086 mode is
 * interp_vm86.c's.
 */
#include "interp.h"

#define GATE_TASK   0x5
#define GATE_INT16  0x6
#define GATE_TRAP16 0x7
#define GATE_INT    0xe /* 32-bit, or 64-bit in IA-32e mode */
#define GATE_TRAP   0xf

/* The frame is built in a buffer and written in one access. */
struct frame {
	uint64_t w[10]; /* from virtual-8086 mode: GS FS DS ES SS ESP EFLAGS
			 * CS EIP and the error code */
	unsigned int n, size;
};

static void
frame_push(struct frame *f, uint64_t v)
{
	f->w[f->n++] = v;
}

/* Write the frame below 'sp' (highest word pushed first). */
static int
frame_write(struct interp_cpu *c, const struct frame *f, uint64_t ss_base,
	    uint64_t sp, bool supervisor, bool wrap32)
{
	uint8_t buf[80];
	uint64_t lin;
	size_t len = (size_t)f->n * f->size;

	for (unsigned int i = 0; i < f->n; i++) {
		uint64_t v = f->w[i];

		/* w[0] is pushed first: it ends up highest. */
		for (unsigned int b = 0; b < f->size; b++)
			buf[len - (i + 1) * f->size + b] =
			    (uint8_t)(v >> (8 * b));
	}
	lin = ss_base + sp - len;
	if (wrap32)
		lin &= 0xffffffffULL;
	return interp_lin_write(c, lin, buf, len,
				X86_MEM_WRITE | X86_MEM_STACK |
				    (supervisor ? X86_MEM_IMPLICIT : 0));
}

static int
deliver_real(struct interp_cpu *c, unsigned int vector, uint64_t ret_ip)
{
	struct frame f = { .size = 2 };
	uint16_t ivt[2];
	int rc;

	if (vector * 4 + 3 > c->idtr.limit)
		return interp_gp0(c);
	rc =
	    interp_lin_read(c, c->idtr.base + vector * 4, ivt, 4, X86_MEM_READ);
	if (rc != INTERP_OK)
		return rc;
	frame_push(&f, interp_rflags(c));
	frame_push(&f, c->seg[X86_R_CS - X86_R_ES].sel);
	frame_push(&f, ret_ip);
	rc = frame_write(c, &f, c->seg[X86_R_SS - X86_R_ES].desc.base,
			 c->gpr[4] & 0xffff, false, true);
	if (rc != INTERP_OK)
		return rc;
	interp_gpr_write(c, 4, 2, c->gpr[4] - 6);
	interp_set_seg_real(c, X86_R_CS, ivt[1]);
	c->rip = ivt[0];
	c->rflags &= ~(PSL_I | PSL_T | PSL_AC | PSL_RF);
	return INTERP_OK;
}

/* The stack pointer for privilege level 'dpl' (or IST n) from the TSS. */
static int
tss_stack(struct interp_cpu *c, unsigned int dpl, unsigned int ist,
	  uint64_t *sp, uint16_t *ss)
{
	bool lm = (c->efer & EFER_LMA) != 0;
	uint64_t off =
	    lm ? (ist ? 36 + 8 * (ist - 1) : 4 + 8 * dpl) : 4 + 8 * dpl;
	unsigned int len = lm ? 8 : 6;
	uint8_t b[8] = { 0 };
	int rc;

	if (c->tr.desc.access & X86_SEG_UNUSABLE ||
	    off + len - 1 > c->tr.desc.limit)
		return interp_raise(c, 10, true, c->tr.sel & ~3u);
	rc = interp_lin_read(c, c->tr.desc.base + off, b, len,
			     X86_MEM_READ | X86_MEM_IMPLICIT);
	if (rc != INTERP_OK)
		return rc;
	if (lm) {
		*sp = (uint64_t)b[0] | (uint64_t)b[1] << 8 |
		      (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24 |
		      (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 |
		      (uint64_t)b[6] << 48 | (uint64_t)b[7] << 56;
		*ss = (uint16_t)dpl;
	} else {
		*sp = (uint32_t)(b[0] | b[1] << 8 | b[2] << 16 |
				 (uint32_t)b[3] << 24);
		*ss = (uint16_t)(b[4] | b[5] << 8);
	}
	return INTERP_OK;
}

/* Protected and IA-32e mode delivery through an IDT gate. */
static int
deliver_prot(struct interp_cpu *c, unsigned int vector, bool has_ec,
	     uint32_t ec, bool soft, uint64_t ret_ip)
{
	bool lm = (c->efer & EFER_LMA) != 0;
	unsigned int gsize = lm ? 16 : 8, cpl = interp_cpl(c), type, dpl, ist;
	uint32_t idt_ec = vector * 8 + 2 + (soft ? 0 : 1);
	uint64_t gate[2] = { 0, 0 }, off, sp, old_sp = c->gpr[4];
	struct interp_seg *cs = &c->seg[X86_R_CS - X86_R_ES];
	struct interp_seg *ss = &c->seg[X86_R_SS - X86_R_ES];
	struct x86_segdesc csd, ssd = ss->desc;
	uint16_t sel, ss_sel = ss->sel;
	struct frame f;
	bool outer, gate32, vm86 = (c->rflags & PSL_VM) != 0;
	int rc;

	if (vector * gsize + gsize - 1 > c->idtr.limit)
		return interp_raise(c, X86_VEC_GP, true, idt_ec);
	rc = interp_lin_read(c, c->idtr.base + vector * gsize, gate, gsize,
			     X86_MEM_READ | X86_MEM_IMPLICIT);
	if (rc != INTERP_OK)
		return rc;
	type = (gate[0] >> 40) & 0x1f; /* S bit included: must be 0 */
	dpl = (gate[0] >> 45) & 3;
	ist = lm ? (gate[0] >> 32) & 7 : 0;
	if (!(type == GATE_INT || type == GATE_TRAP ||
	      (!lm && (type == GATE_INT16 || type == GATE_TRAP16 ||
		       type == GATE_TASK))))
		return interp_raise(c, X86_VEC_GP, true, idt_ec);
	if (soft && dpl < cpl)
		return interp_raise(c, X86_VEC_GP, true, idt_ec);
	if (!((gate[0] >> 47) & 1))
		return interp_raise(c, 11, true, idt_ec);
	if (type == GATE_TASK)
		return interp_task_gate(c, gate[0], soft, has_ec, ec, ret_ip);
	sel = (uint16_t)(gate[0] >> 16);
	off = (gate[0] & 0xffff) | ((gate[0] >> 32) & 0xffff0000ULL);
	if (lm)
		off |= gate[1] << 32;
	rc = interp_code_desc(c, sel, &csd);
	if (rc != INTERP_OK)
		return rc;
	if (lm && !(csd.access & X86_SEG_L))
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	dpl = (csd.access >> 5) & 3; /* the handler's privilege */
	if (X86_SEG_TYPE(csd.access) & 0x4)
		dpl = cpl; /* conforming: stays at CPL */
	/* From virtual-8086 mode only to ring 0 (its monitor). */
	if (dpl > cpl || (vm86 && dpl != 0))
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	outer = dpl < cpl;
	gate32 = lm || type == GATE_INT || type == GATE_TRAP;

	sp = c->gpr[4];
	if (outer || ist != 0) {
		rc = tss_stack(c, dpl, ist, &sp, &ss_sel);
		if (rc != INTERP_OK)
			return rc;
		if (outer) {
			if (lm)
				ss_sel = (uint16_t)dpl;
			rc = interp_stack_desc(c, ss_sel, dpl, &ssd);
			if (rc != INTERP_OK)
				return rc;
		}
	}
	if (lm)
		sp &= ~0xfULL;
	else if (!(ssd.access & X86_SEG_DB))
		sp &= 0xffff;
	else
		sp &= 0xffffffffULL;

	f = (struct frame){ .size = lm ? 8 : gate32 ? 4 : 2 };
	if (vm86) {
		frame_push(&f, c->seg[X86_R_GS - X86_R_ES].sel);
		frame_push(&f, c->seg[X86_R_FS - X86_R_ES].sel);
		frame_push(&f, c->seg[X86_R_DS - X86_R_ES].sel);
		frame_push(&f, c->seg[X86_R_ES - X86_R_ES].sel);
	}
	if (lm || outer) {
		frame_push(&f, ss->sel);
		frame_push(&f, old_sp);
	}
	frame_push(&f, interp_rflags(c));
	frame_push(&f, cs->sel);
	frame_push(&f, ret_ip);
	if (has_ec)
		frame_push(&f, ec);
	for (unsigned int i = 0; i < f.n && f.size < 8; i++)
		f.w[i] &= interp_mask(f.size);
	rc = frame_write(c, &f, lm ? 0 : ssd.base, sp, dpl < 3, !lm);
	if (rc != INTERP_OK)
		return rc;

	/* Commit. */
	sp -= (uint64_t)f.n * f.size;
	if (outer || (lm && ist != 0)) {
		if (outer) {
			ss->sel = lm ? (uint16_t)dpl : ss_sel;
			ss->desc = ssd;
		}
	}
	if (lm || (ssd.access & X86_SEG_DB))
		c->gpr[4] = sp;
	else
		interp_gpr_write(c, 4, 2, sp);
	cs->sel = (uint16_t)((sel & ~3u) | dpl);
	cs->desc = csd;
	/* The 8086 segments, saved above, mean nothing to the handler. */
	for (unsigned int s = X86_R_ES; vm86 && s <= X86_R_GS; s++) {
		if (s == X86_R_CS || s == X86_R_SS)
			continue;
		c->seg[s - X86_R_ES].sel = 0;
		c->seg[s - X86_R_ES].desc =
		    (struct x86_segdesc){ 0, 0, X86_SEG_UNUSABLE };
	}
	c->rip = lm ? off : gate32 ? (uint32_t)off : (uint16_t)off;
	c->rflags &= ~(PSL_T | PSL_RF | PSL_VM | (1ULL << 14) /* NT */);
	if ((type & 1) == 0) /* interrupt gate */
		c->rflags &= ~PSL_I;
	return INTERP_OK;
}

static int
deliver_once(struct interp_cpu *c, unsigned int vector, bool has_ec,
	     uint32_t ec, bool soft)
{
	/* Faults return to the instruction, traps and INT n after it. */
	uint64_t ret = soft ? c->next_rip : c->rip;

	if (!(c->cr0 & CR0_PE))
		return deliver_real(c, vector, ret);
	return deliver_prot(c, vector, has_ec, ec, soft, ret);
}

/* Contributory exceptions (SDM vol. 3A table 6-4). */
static bool
contributory(unsigned int v)
{
	return v == 0 || (v >= 10 && v <= 13);
}

int
interp_deliver(struct interp_cpu *c, unsigned int vector, bool has_ec,
	       uint32_t ec, bool soft)
{
	for (int depth = 0; depth < 3; depth++) {
		int rc;

		if (vector == 14 && !soft)
			c->cr2 = c->exc.cr2;
		rc = deliver_once(c, vector, has_ec, ec, soft);
		if (rc != INTERP_FAULT)
			return rc;
		/* A fault while delivering. */
		if (vector == 8)
			break;
		if ((contributory(vector) && contributory(c->exc.vector)) ||
		    (vector == 14 &&
		     (contributory(c->exc.vector) || c->exc.vector == 14))) {
			vector = 8;
			has_ec = true;
			ec = 0;
		} else {
			vector = c->exc.vector;
			has_ec = c->exc.has_ec;
			ec = c->exc.ec;
		}
		soft = false;
	}
	c->exit->exitcode = VM_EXITCODE_SUSPENDED;
	c->exit->u.suspended.how = VM_SUSPEND_TRIPLEFAULT;
	return INTERP_EXIT;
}

/* ---- instructions --------------------------------------------------- */

/* INT n, INT3, INTO, INT1 deliver at once; nothing else to retire. */
static int
soft_int(struct interp_cpu *c, unsigned int vector, bool soft)
{
	uint64_t rip = c->rip;
	uint16_t tr = c->tr.sel;
	int rc;

	/*
	 * The return address is next_rip (trap-like): deliver_once() takes
	 * it for INT n, INT3, INTO ('soft'), and for INT1 from rip, which
	 * points past the instruction meanwhile.
	 */
	if (!soft)
		c->rip = c->next_rip;
	c->soft_int = true; /* it clears TF: no single-step trap after */
	rc = deliver_once(c, vector, false, 0, soft);
	if (rc != INTERP_OK) {
		/* A fault after a task gate's switch committed (TR changed:
		 * the new TSS was not busy, the old one is) is the new
		 * task's, at its rip. */
		if (c->tr.sel == tr)
			c->rip = rip;
		return rc;
	}
	/* deliver_once set rip to the handler: keep it as next_rip. */
	c->next_rip = c->rip;
	return INTERP_OK;
}

static int
op_int(struct interp_cpu *c, const struct x86_instr *insn)
{
	if ((c->rflags & PSL_VM) && ((c->rflags & PSL_IOPL) >> 12) < 3)
		return interp_gp0(c);
	return soft_int(c, (unsigned int)insn->ops[0].imm & 0xff, true);
}

static int
op_int3(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	return soft_int(c, 3, true);
}

static int
op_into(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	if (interp_code_mode(c) == X86_MODE_64)
		return interp_ud(c);
	if (!interp_cond(c, 0))
		return INTERP_OK;
	return soft_int(c, 4, true);
}

static int
op_int1(struct interp_cpu *c, const struct x86_instr *insn)
{
	(void)insn;
	/* ICEBP: a #DB as a hardware event (no gate DPL check). */
	return soft_int(c, 1, false);
}

/* RFLAGS bits IRET may change, by privilege (SDM vol. 2 "IRET"). */
static uint64_t
iret_flags(struct interp_cpu *c, uint64_t newf, unsigned int size,
	   unsigned int cpl)
{
	uint64_t old = interp_rflags(c);
	uint64_t mask = 0x3f7fd5ULL; /* all defined bits but bit 1 */
	unsigned int iopl = (old & PSL_IOPL) >> 12;

	if (size == 2)
		mask &= 0xffff;
	else if (size == 4)
		mask &= ~(PSL_VM | (3ULL << 19)); /* VM VIF VIP: below */
	if (cpl > 0)
		mask &= ~(PSL_IOPL | PSL_VM | (3ULL << 19));
	if (cpl > iopl)
		mask &= ~PSL_I;
	return (old & ~mask) | (newf & mask);
}

/* IRET in real mode, and in virtual-8086 mode with IOPL 3 (cpl 3: IOPL,
 * VM, VIF and VIP stay). */
static int
iret_real(struct interp_cpu *c, unsigned int size, unsigned int cpl)
{
	uint64_t ip, cs, fl;
	int rc;

	if ((rc = interp_stack_peek(c, 0, &ip, size)) != INTERP_OK ||
	    (rc = interp_stack_peek(c, size, &cs, size)) != INTERP_OK ||
	    (rc = interp_stack_peek(c, 2 * size, &fl, size)) != INTERP_OK)
		return rc;
	if (size == 2)
		ip = (uint16_t)ip;
	if (ip > c->seg[X86_R_CS - X86_R_ES].desc.limit)
		return interp_gp0(c);
	interp_sp_add(c, 3 * size);
	interp_set_seg_real(c, X86_R_CS, (uint16_t)cs);
	interp_set_rflags(c, iret_flags(c, fl, size, cpl));
	c->next_rip = (uint32_t)ip;
	c->nmi_blocked = false;
	return INTERP_OK;
}

static int
op_iret(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->opsize, cpl = interp_cpl(c), rpl;
	bool lm64 = interp_code_mode(c) == X86_MODE_64;
	struct interp_seg *cs = &c->seg[X86_R_CS - X86_R_ES];
	struct interp_seg *ss = &c->seg[X86_R_SS - X86_R_ES];
	struct x86_segdesc csd, ssd;
	uint64_t ip, sel, fl, sp = 0, ss_sel = 0;
	bool outer;
	int rc;

	if (!(c->cr0 & CR0_PE))
		return iret_real(c, size, 0);
	if (c->rflags & PSL_VM) {
		/* IOPL-sensitive in virtual-8086 mode (SDM vol. 3B 20.2.7):
		 * the monitor emulates it below IOPL 3. */
		if (((c->rflags & PSL_IOPL) >> 12) < 3)
			return interp_gp0(c);
		return iret_real(c, size, 3);
	}
	if (c->rflags & (1ULL << 14)) {
		/* A nested task's return (#GP(0) in IA-32e mode). */
		rc = interp_task_return(c);
		if (rc == INTERP_OK)
			c->nmi_blocked = false;
		return rc;
	}
	if ((rc = interp_stack_peek(c, 0, &ip, size)) != INTERP_OK ||
	    (rc = interp_stack_peek(c, size, &sel, size)) != INTERP_OK ||
	    (rc = interp_stack_peek(c, 2 * size, &fl, size)) != INTERP_OK)
		return rc;
	if ((fl & PSL_VM) && cpl == 0 && !(c->efer & EFER_LMA) && size == 4) {
		rc = interp_vm86_enter(c, ip, sel, fl);
		if (rc == INTERP_OK)
			c->nmi_blocked = false;
		return rc;
	}
	rpl = sel & 3;
	if (rpl < cpl)
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	rc = interp_code_desc(c, (uint16_t)sel, &csd);
	if (rc != INTERP_OK)
		return rc;
	if (!(X86_SEG_TYPE(csd.access) & 0x4) && ((csd.access >> 5) & 3) != rpl)
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	outer = rpl > cpl;
	/* 64-bit mode always pops SS:RSP; otherwise only going outward. */
	if (lm64 || outer) {
		if ((rc = interp_stack_peek(c, 3 * size, &sp, size)) !=
			INTERP_OK ||
		    (rc = interp_stack_peek(c, 4 * size, &ss_sel, size)) !=
			INTERP_OK)
			return rc;
		rc = interp_stack_desc(c, (uint16_t)ss_sel, rpl, &ssd);
		if (rc != INTERP_OK)
			return rc;
	}
	if ((c->efer & EFER_LMA) && !(csd.access & X86_SEG_L))
		ip &= 0xffffffffULL;
	/* Commit. */
	interp_set_rflags(c, iret_flags(c, fl, size, cpl));
	cs->sel = (uint16_t)sel;
	cs->desc = csd;
	if (lm64 || outer) {
		ss->sel = (uint16_t)ss_sel;
		ss->desc = ssd;
		c->gpr[4] = size == 2 ? (c->gpr[4] & ~0xffffULL) | (uint16_t)sp
			    : size == 4 && !lm64 ? (uint32_t)sp
						 : sp;
	} else {
		interp_sp_add(c, 3 * size);
	}
	/* Data segments the new privilege may not use become null. */
	if (outer) {
		for (unsigned int s = X86_R_ES; s <= X86_R_GS; s++) {
			struct interp_seg *d = &c->seg[s - X86_R_ES];
			unsigned int t = X86_SEG_TYPE(d->desc.access);

			if (s == X86_R_CS || s == X86_R_SS)
				continue;
			if (((d->desc.access >> 5) & 3) < rpl &&
			    ((t & X86_SEG_TYPE_CODE) == 0 || !(t & 0x4))) {
				d->sel = 0;
				d->desc.access |= X86_SEG_UNUSABLE;
			}
		}
	}
	c->next_rip = size == 2 ? (uint16_t)ip : ip;
	c->nmi_blocked = false;
	return INTERP_OK;
}

const struct interp_op interp_ops_intr[] = {
	{ X86_M_INT, op_int },   { X86_M_INT3, op_int3 },
	{ X86_M_INTO, op_into }, { X86_M_INT1, op_int1 },
	{ X86_M_IRET, op_iret }, { 0, NULL },
};
