/*
 * Hardware task switches for the interp engine (Intel SDM vol. 3A ch. 7;
 * vol. 2 "JMP", "CALL", "INT n", "IRET"): a far JMP or CALL to a TSS
 * descriptor or a task gate, an interrupt or exception through a task
 * gate in the IDT, and IRET with EFLAGS.NT set.  Legacy protected mode
 * only: IA-32e mode has no task switches (#GP).
 *
 * A switch has two halves, as on the CPU.  Before it commits, every
 * check raises its exception in the old task with nothing changed but
 * the TSS memory already written (the old task's saved state, busy bits:
 * written again when the instruction is restarted).  Once TR points to
 * the new task, the rest (LDTR, CS, SS, the data segments, the error
 * code push, EIP against the limit) faults in the new task's context:
 * rip is the new task's EIP and the handler sees the new task.
 */
#include "interp.h"

#define TASK_NT      (1ULL << 14)
#define TSS_BUSY     0x2 /* in the descriptor's type */
#define TSS_32       0x8
#define TSS32_MIN    0x67 /* the smallest limit of a 32-bit TSS */
#define TSS16_MIN    0x2b
#define DESC_TYPE(d) ((unsigned int)((d) >> 40) & 0x1f) /* S included */
#define DESC_DPL(d)  ((unsigned int)((d) >> 45) & 3)
#define DESC_P(d)    (((d) >> 47) & 1)
#define DR6_BT       (1ULL << 15) /* #DB: the new task's T bit */

/* What the new task's TSS holds (both formats, widened). */
struct tss_image {
	uint32_t cr3, eip, eflags, gpr[8];
	uint16_t seg[6], ldt;
	bool trap; /* the T bit: #DB once the switch is done */
};

/* The descriptor of TSS 'sel' for a switch: in the GDT, a TSS, busy or
 * available as 'busy' says (else #GP, #TS for IRET), present (#NP). */
static int
tss_desc(struct interp_cpu *c, uint16_t sel, bool busy, bool iret, uint32_t ext,
	 uint64_t *desc)
{
	unsigned int vec = iret ? 10 : X86_VEC_GP, t;
	int rc;

	if ((sel & 4) || (sel & ~7u) == 0 ||
	    (uint64_t)(sel & ~7u) + 7 > c->gdtr.limit)
		return interp_raise(c, vec, true, (sel & ~3u) | ext);
	rc = interp_read_desc(c, sel, desc, false, NULL);
	if (rc != INTERP_OK)
		return rc;
	t = DESC_TYPE(*desc);
	if ((t & 0x15) != 0x1 || ((t & TSS_BUSY) != 0) != busy)
		return interp_raise(c, vec, true, (sel & ~3u) | ext);
	if (!DESC_P(*desc))
		return interp_raise(c, 11, true, (sel & ~3u) | ext);
	return INTERP_OK;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

/* Read the new task's TSS (under the old CR3, as the CPU does). */
static int
tss_read(struct interp_cpu *c, uint64_t base, bool tss32, struct tss_image *t)
{
	uint8_t b[0x68];
	int rc;

	rc = interp_lin_read(c, base, b, tss32 ? 0x68 : 0x2c,
			     X86_MEM_READ | X86_MEM_IMPLICIT);
	if (rc != INTERP_OK)
		return rc;
	*t = (struct tss_image){ 0 };
	if (tss32) {
		t->cr3 = le32(b + 0x1c);
		t->eip = le32(b + 0x20);
		t->eflags = le32(b + 0x24);
		for (unsigned int i = 0; i < 8; i++)
			t->gpr[i] = le32(b + 0x28 + 4 * i);
		for (unsigned int i = 0; i < 6; i++)
			t->seg[i] = le16(b + 0x48 + 4 * i);
		t->ldt = le16(b + 0x60);
		t->trap = b[0x64] & 1;
		return INTERP_OK;
	}
	/* A 16-bit TSS: the upper halves of the registers become ones (as
	 * Bochs has it), FS and GS null, no CR3. */
	t->eip = le16(b + 0x0e);
	t->eflags = le16(b + 0x10);
	for (unsigned int i = 0; i < 8; i++)
		t->gpr[i] = 0xffff0000u | le16(b + 0x12 + 2 * i);
	for (unsigned int i = 0; i < 4; i++)
		t->seg[i] = le16(b + 0x22 + 2 * i);
	t->ldt = le16(b + 0x2a);
	return INTERP_OK;
}

/* Save the old task's dynamic state in its TSS. */
static int
tss_save(struct interp_cpu *c, uint32_t eip, uint32_t eflags)
{
	bool tss32 = X86_SEG_TYPE(c->tr.desc.access) & TSS_32;
	uint64_t base = c->tr.desc.base;
	uint8_t b[0x40];

	if (c->tr.desc.limit < (tss32 ? 0x5fu : 0x29u))
		return interp_raise(c, 10, true, c->tr.sel & ~3u);
	if (tss32) {
		int rc = interp_lin_read(c, base + 0x20, b, sizeof(b),
					 X86_MEM_READ | X86_MEM_IMPLICIT);

		if (rc != INTERP_OK)
			return rc;
		put32(b, eip);
		put32(b + 4, eflags);
		for (unsigned int i = 0; i < 8; i++)
			put32(b + 8 + 4 * i, (uint32_t)c->gpr[i]);
		for (unsigned int i = 0; i < 6; i++)
			put16(b + 0x28 + 4 * i, c->seg[i].sel);
		return interp_lin_write(c, base + 0x20, b, sizeof(b),
					X86_MEM_WRITE | X86_MEM_IMPLICIT);
	}
	put16(b, eip);
	put16(b + 2, eflags);
	for (unsigned int i = 0; i < 8; i++)
		put16(b + 4 + 2 * i, (uint32_t)c->gpr[i]);
	for (unsigned int i = 0; i < 4; i++)
		put16(b + 20 + 2 * i, c->seg[i].sel);
	return interp_lin_write(c, base + 0x0e, b, 28,
				X86_MEM_WRITE | X86_MEM_IMPLICIT);
}

/* Set or clear the busy bit of GDT descriptor 'sel'. */
static int
set_busy(struct interp_cpu *c, uint16_t sel, uint64_t desc, bool busy)
{
	uint8_t acc = (uint8_t)(desc >> 40);

	acc = busy ? acc | TSS_BUSY : acc & ~TSS_BUSY;
	return interp_lin_write(c, c->gdtr.base + (sel & ~7u) + 5, &acc, 1,
				X86_MEM_WRITE | X86_MEM_IMPLICIT);
}

/* A fault in the new task's context: #GP(sel) from the table lookup
 * becomes #TS(sel) (table 7-1), the rest stands. */
static int
new_desc(struct interp_cpu *c, uint16_t sel, uint64_t *desc)
{
	int rc = interp_read_desc(c, sel, desc, false, NULL);

	if (rc == INTERP_FAULT && c->exc.vector == X86_VEC_GP)
		c->exc.vector = 10;
	return rc;
}

static int
ts(struct interp_cpu *c, uint16_t sel)
{
	return interp_raise(c, 10, true, sel & ~3u);
}

/* The new task's LDTR: null, or an LDT in the GDT, present. */
static int
load_ldt(struct interp_cpu *c, uint16_t sel)
{
	uint64_t desc;
	int rc;

	c->ldtr.sel = sel;
	c->ldtr.desc = (struct x86_segdesc){ 0, 0, X86_SEG_UNUSABLE };
	if ((sel & ~3u) == 0)
		return INTERP_OK;
	if (sel & 4)
		return ts(c, sel);
	if ((rc = new_desc(c, sel, &desc)) != INTERP_OK)
		return rc;
	if (DESC_TYPE(desc) != SDT_SYSLDT || !DESC_P(desc))
		return ts(c, sel);
	interp_desc_to_seg(desc, &c->ldtr.desc);
	return INTERP_OK;
}

/* The new task's CS, SS and data segments with their checks (table 7-1);
 * CPL is CS's RPL. */
static int
load_segs(struct interp_cpu *c, const struct tss_image *t)
{
	unsigned int cpl = t->seg[X86_R_CS - X86_R_ES] & 3;
	uint64_t desc;
	int rc;

	/* In the order of table 7-1: CS, SS, then the data segments. */
	static const unsigned int order[6] = { X86_R_CS, X86_R_SS, X86_R_DS,
					       X86_R_ES, X86_R_FS, X86_R_GS };

	for (unsigned int i = 0; i < 6; i++) {
		unsigned int s = order[i], ty, dpl;
		uint16_t sel = t->seg[s - X86_R_ES];
		struct interp_seg *sg = &c->seg[s - X86_R_ES];
		bool null = (sel & ~3u) == 0 && !(sel & 4);

		if (s == X86_R_CS || s == X86_R_SS) {
			if (null)
				return ts(c, sel);
		} else if (null) {
			continue; /* stays unusable */
		}
		if ((rc = new_desc(c, sel, &desc)) != INTERP_OK)
			return rc;
		ty = DESC_TYPE(desc);
		dpl = DESC_DPL(desc);
		if (s == X86_R_CS) {
			/* Code; non-conforming: DPL = RPL; conforming:
			 * DPL <= RPL. */
			if ((ty & 0x18) != 0x18 ||
			    ((ty & 4) ? dpl > cpl : dpl != cpl))
				return ts(c, sel);
			if (!DESC_P(desc))
				return interp_raise(c, 11, true, sel & ~3u);
		} else if (s == X86_R_SS) {
			/* Writable data at CPL. */
			if ((ty & 0x1a) != 0x12 || (sel & 3) != cpl ||
			    dpl != cpl)
				return ts(c, sel);
			if (!DESC_P(desc))
				return interp_raise(c, X86_VEC_SS, true,
						    sel & ~3u);
		} else {
			/* Data or readable code; privilege unless
			 * conforming code. */
			if (!(ty & 0x10) || (ty & 0x1a) == 0x18)
				return ts(c, sel);
			if ((ty & 0x1c) != 0x1c &&
			    (dpl < cpl || dpl < (sel & 3u)))
				return ts(c, sel);
			if (!DESC_P(desc))
				return interp_raise(c, 11, true, sel & ~3u);
		}
		interp_desc_to_seg(desc, &sg->desc);
	}
	return INTERP_OK;
}

/*
 * Switch to the task of TSS 'sel' (descriptor 'desc', checked by
 * tss_desc()).  'why': JMP, CALL (and interrupts: nesting) or IRET;
 * 'eip': where the old task resumes.  On INTERP_OK the new task's state
 * is loaded with rip and next_rip its EIP.
 */
static int
switch_tasks(struct interp_cpu *c, uint16_t sel, uint64_t desc, int why,
	     uint32_t eip, uint32_t ext)
{
	bool nest = why == INTERP_TASK_CALL || why == INTERP_TASK_INT;
	bool tss32 = DESC_TYPE(desc) & TSS_32;
	uint64_t old_desc = 0, flags;
	struct x86_segdesc nd;
	struct tss_image t;
	uint16_t old_sel = c->tr.sel;
	int rc;

	interp_desc_to_seg(desc, &nd);
	if (nd.limit < (tss32 ? TSS32_MIN : TSS16_MIN))
		return interp_raise(c, 10, true, (sel & ~3u) | ext);
	if ((rc = tss_read(c, nd.base, tss32, &t)) != INTERP_OK)
		return rc;
	/* The old task: not busy any more after JMP and IRET; its state;
	 * IRET leaves it with NT clear. */
	flags = interp_rflags(c);
	if (why == INTERP_TASK_IRET)
		flags &= ~TASK_NT;
	if (why == INTERP_TASK_JMP || why == INTERP_TASK_IRET) {
		if ((rc = interp_read_desc(c, old_sel, &old_desc, false,
					   NULL)) != INTERP_OK ||
		    (rc = set_busy(c, old_sel, old_desc, false)) != INTERP_OK)
			return rc;
	}
	if ((rc = tss_save(c, eip, (uint32_t)flags)) != INTERP_OK)
		return rc;
	/* The new task: its back link to the old one, busy. */
	if (nest) {
		uint8_t link[2];

		put16(link, old_sel);
		rc = interp_lin_write(c, nd.base, link, 2,
				      X86_MEM_WRITE | X86_MEM_IMPLICIT);
		if (rc != INTERP_OK)
			return rc;
	}
	if (why != INTERP_TASK_IRET &&
	    (rc = set_busy(c, sel, desc, true)) != INTERP_OK)
		return rc;

	/* Commit: from here on faults are the new task's. */
	c->tr.sel = sel;
	c->tr.desc = nd;
	c->tr.desc.access |= TSS_BUSY;
	c->cr0 |= CR0_TS;
	if (tss32 && (c->cr0 & CR0_PG)) {
		/* The walker reads PAE's PDPTEs from memory at each walk:
		 * there are no PDPTE registers to load. */
		c->cr3 = t.cr3;
		interp_tlb_flush(c);
	}
	for (unsigned int i = 0; i < 8; i++)
		c->gpr[i] = t.gpr[i];
	c->lf.op = INTERP_LF_NONE;
	interp_set_rflags(c, t.eflags | (nest ? TASK_NT : 0));
	c->rip = c->next_rip = t.eip;
	/* The selectors first, unusable until checked, SS with the new CPL
	 * so that a fault is delivered at the new task's privilege. */
	for (unsigned int i = 0; i < 6; i++) {
		c->seg[i].sel = t.seg[i];
		c->seg[i].desc = (struct x86_segdesc){ 0, 0, X86_SEG_UNUSABLE };
	}
	c->seg[X86_R_SS - X86_R_ES].desc.access |=
	    SEG_ACC_DPL(t.seg[X86_R_CS - X86_R_ES] & 3);
	/* Local breakpoints belong to the old task (SDM 17.2.4). */
	c->dr7 &= ~(DR7_L(0) | DR7_L(1) | DR7_L(2) | DR7_L(3) | DR7_LE);
	interp_db_update(c);

	if ((rc = load_ldt(c, t.ldt)) != INTERP_OK)
		return rc;
	if (c->rflags & PSL_VM) {
		/* A virtual-8086 task: real-mode style segments, CPL 3. */
		for (unsigned int s = X86_R_ES; s <= X86_R_GS; s++)
			interp_set_seg_real(c, s, t.seg[s - X86_R_ES]);
	} else if ((rc = load_segs(c, &t)) != INTERP_OK) {
		return rc;
	}
	if (t.trap)
		c->db_pending |= DR6_BT;
	return INTERP_OK;
}

/* After the switch: EIP within the new CS limit (#GP(0) in the new
 * task). */
static int
check_eip(struct interp_cpu *c)
{
	if (c->rip > c->seg[X86_R_CS - X86_R_ES].desc.limit)
		return interp_gp0(c);
	return INTERP_OK;
}

int
interp_task_far(struct interp_cpu *c, uint16_t sel, uint64_t desc, bool call)
{
	unsigned int cpl = interp_cpl(c), type = DESC_TYPE(desc);
	uint16_t tss = sel;
	int rc, why = call ? INTERP_TASK_CALL : INTERP_TASK_JMP;

	if (c->efer & EFER_LMA)
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	/* The TSS descriptor's or the gate's DPL guards the switch. */
	if (DESC_DPL(desc) < cpl || DESC_DPL(desc) < (sel & 3u))
		return interp_raise(c, X86_VEC_GP, true, sel & ~3u);
	if (type == 0x5) { /* a task gate: the TSS it names */
		if (!DESC_P(desc))
			return interp_raise(c, 11, true, sel & ~3u);
		tss = (uint16_t)(desc >> 16);
	} else if ((type & 0x15) != 0x1) {
		return interp_error(c,
				    "far transfer through system descriptor "
				    "type %u (call gates are not modelled)",
				    type & 0xf);
	}
	if ((rc = tss_desc(c, tss, false, false, 0, &desc)) != INTERP_OK)
		return rc;
	rc = switch_tasks(c, tss, desc, why, (uint32_t)c->next_rip, 0);
	if (rc == INTERP_OK)
		rc = check_eip(c);
	return rc;
}

int
interp_task_gate(struct interp_cpu *c, uint64_t gate, bool soft, bool has_ec,
		 uint32_t ec, uint64_t ret_ip)
{
	uint16_t sel = (uint16_t)(gate >> 16);
	uint32_t ext = soft ? 0 : 1;
	uint64_t desc;
	int rc;

	if ((rc = tss_desc(c, sel, false, false, ext, &desc)) != INTERP_OK)
		return rc;
	rc = switch_tasks(c, sel, desc, INTERP_TASK_INT, (uint32_t)ret_ip, ext);
	/* The exception's error code goes on the new task's stack. */
	if (rc == INTERP_OK && has_ec)
		rc = interp_push(c, ec, (DESC_TYPE(desc) & TSS_32) ? 4 : 2);
	if (rc == INTERP_OK)
		rc = check_eip(c);
	return rc;
}

int
interp_task_return(struct interp_cpu *c)
{
	uint8_t link[2];
	uint64_t desc;
	uint16_t sel;
	int rc;

	if (c->efer & EFER_LMA)
		return interp_gp0(c);
	rc = interp_lin_read(c, c->tr.desc.base, link, 2,
			     X86_MEM_READ | X86_MEM_IMPLICIT);
	if (rc != INTERP_OK)
		return rc;
	sel = le16(link);
	if ((rc = tss_desc(c, sel, true, true, 0, &desc)) != INTERP_OK)
		return rc;
	rc = switch_tasks(c, sel, desc, INTERP_TASK_IRET, (uint32_t)c->next_rip,
			  0);
	if (rc == INTERP_OK)
		rc = check_eip(c);
	return rc;
}
