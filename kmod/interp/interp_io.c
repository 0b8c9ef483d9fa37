/*
 * Port I/O for the interp engine: IN, OUT, INS, OUTS.  An IN exits first
 * and is executed again with the monitor's data; an OUT exits after it
 * has completed.  String forms move one element per execution (a REP
 * prefix repeats the instruction), so every element is one exit.
 * Permission: CPL <= IOPL, else the TSS I/O bitmap (SDM vol. 1 19.5).
 */
#include <string.h>

#include "interp.h"

static int
io_allowed(struct interp_cpu *c, uint16_t port, unsigned int size)
{
	unsigned int iopl = (unsigned int)((c->rflags & PSL_IOPL) >> 12);
	const struct x86_segdesc *tr = &c->tr.desc;
	unsigned int type = X86_SEG_TYPE(tr->access);
	uint16_t base, bits;
	uint64_t off;
	int rc;

	if (!(c->cr0 & CR0_PE) ||
	    (!(c->rflags & PSL_VM) && interp_cpl(c) <= iopl))
		return INTERP_OK;
	if ((type != 0x9 && type != 0xb) || tr->limit < 0x67)
		return interp_gp0(c);
	rc = interp_lin_read(c, tr->base + 0x66, &base, 2,
			     X86_MEM_READ | X86_MEM_IMPLICIT);
	if (rc != INTERP_OK)
		return rc;
	off = (uint64_t)base + port / 8;
	if (off + 1 > tr->limit)
		return interp_gp0(c);
	rc = interp_lin_read(c, tr->base + off, &bits, 2,
			     X86_MEM_READ | X86_MEM_IMPLICIT);
	if (rc != INTERP_OK)
		return rc;
	if ((bits >> (port % 8)) & ((1u << size) - 1))
		return interp_gp0(c);
	return INTERP_OK;
}

/* May the port be accessed; an I/O breakpoint on it then hits. */
static int
io_permitted(struct interp_cpu *c, uint16_t port, unsigned int size)
{
	int rc = io_allowed(c, port, size);

	if (rc == INTERP_OK && c->db_watch)
		interp_db_io(c, port, size);
	return rc;
}

static void
io_exit(struct interp_cpu *c, uint16_t port, unsigned int size, bool in,
	bool string, bool rep)
{
	struct vm_inout *io = &c->exit->u.inout;

	c->exit->exitcode = VM_EXITCODE_INOUT;
	io->port = port;
	io->bytes = (uint8_t)size;
	io->in = in;
	io->string = string;
	io->rep = rep;
	io->count = 1;
}

/* The port operand: an immediate or DX. */
static uint16_t
io_port(struct interp_cpu *c, const struct x86_operand *op)
{
	if (op->type == X86_OPND_IMM)
		return (uint16_t)(op->imm & 0xff);
	return (uint16_t)c->gpr[2];
}

static int
op_in(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[0].size;
	uint16_t port = io_port(c, &insn->ops[1]);
	uint64_t v = 0;
	int rc;

	if ((rc = io_permitted(c, port, size)) != INTERP_OK)
		return rc;
	if (!c->io_done) {
		io_exit(c, port, size, true, false, false);
		return INTERP_RESTART;
	}
	memcpy(&v, c->io_buf, size);
	interp_reg_write(c, insn->ops[0].reg, v);
	c->vtime_pending += INTERP_NS_PER_PIO;
	return INTERP_OK;
}

static int
op_out(struct interp_cpu *c, const struct x86_instr *insn)
{
	unsigned int size = insn->ops[1].size;
	uint16_t port = io_port(c, &insn->ops[0]);
	uint64_t v = interp_reg_read(c, insn->ops[1].reg);
	int rc;

	if ((rc = io_permitted(c, port, size)) != INTERP_OK)
		return rc;
	memcpy(c->io_buf, &v, size);
	io_exit(c, port, size, false, false, false);
	c->vtime_pending += INTERP_NS_PER_PIO;
	return INTERP_EXIT;
}

/* After one element: move the index register, count down under REP. */
static void
string_advance(struct interp_cpu *c, const struct x86_instr *insn,
	       unsigned int idx, unsigned int size, bool rep)
{
	unsigned int asz = insn->addrsize;
	uint64_t step = (c->rflags & PSL_D) ? -(uint64_t)size : size;

	interp_gpr_write(c, idx, asz, c->gpr[idx] + step);
	if (rep) {
		uint64_t cx = (c->gpr[1] - 1) & interp_mask(asz);

		interp_gpr_write(c, 1, asz, cx);
		if (cx != 0)
			c->next_rip = c->rip; /* again */
	}
}

static bool
string_rep(const struct x86_instr *insn)
{
	return (insn->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) != 0;
}

static int
op_ins(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = &insn->ops[0];
	unsigned int size = m->size;
	uint16_t port = (uint16_t)c->gpr[2];
	bool rep = string_rep(insn);
	uint64_t off = interp_ea(c, insn, m);
	int rc;

	if (rep && (c->gpr[1] & interp_mask(insn->addrsize)) == 0)
		return INTERP_OK;
	if ((rc = io_permitted(c, port, size)) != INTERP_OK)
		return rc;
	if (!c->io_done) {
		/* The destination must be writable before the port is read. */
		rc = interp_mem_probe(c, X86_R_ES, off, insn->addrsize, size,
				      X86_MEM_WRITE);
		if (rc != INTERP_OK)
			return rc;
		io_exit(c, port, size, true, true, rep);
		return INTERP_RESTART;
	}
	rc = interp_mem_write(c, X86_R_ES, off, insn->addrsize, c->io_buf, size,
			      X86_MEM_WRITE);
	if (rc != INTERP_OK)
		return rc;
	string_advance(c, insn, 7, size, rep);
	c->vtime_pending += INTERP_NS_PER_PIO;
	return INTERP_OK;
}

static int
op_outs(struct interp_cpu *c, const struct x86_instr *insn)
{
	const struct x86_operand *m = &insn->ops[1];
	unsigned int size = m->size;
	uint16_t port = (uint16_t)c->gpr[2];
	bool rep = string_rep(insn);
	int rc;

	if (rep && (c->gpr[1] & interp_mask(insn->addrsize)) == 0)
		return INTERP_OK;
	if ((rc = io_permitted(c, port, size)) != INTERP_OK)
		return rc;
	rc = interp_mem_read(c, m->seg, interp_ea(c, insn, m), insn->addrsize,
			     c->io_buf, size, X86_MEM_READ);
	if (rc != INTERP_OK)
		return rc;
	string_advance(c, insn, 6, size, rep);
	io_exit(c, port, size, false, true, rep);
	c->vtime_pending += INTERP_NS_PER_PIO;
	return INTERP_EXIT;
}

const struct interp_op interp_ops_io[] = {
	{ X86_M_IN, op_in },
	{ X86_M_OUT, op_out },
	{ X86_M_INSB, op_ins },
	{ X86_M_INS, op_ins },
	{ X86_M_OUTSB, op_outs },
	{ X86_M_OUTS, op_outs },
	{ 0, NULL },
};
