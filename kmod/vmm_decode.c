/*
 * The instruction behind every port-I/O and MMIO exit: fetched at the
 * guest rip through the guest's page tables, decoded by emul, and checked
 * against what the engine reported (port or address, size, direction).
 *
 * KVM's rip at such an exit is ambiguous: its hardware fast path reports
 * the instruction's own address, its instruction emulator the next one
 * after an OUT or an MMIO write (the emulator completes those before
 * exiting).  So the decode is tried at rip first and then backwards, and
 * only a decode that matches the report is taken; the exit's rip and
 * inst_length then name that instruction, whichever path KVM took.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm_impl.h"

/* The guest state a decode needs, read once per exit. */
struct decode_ctx {
	struct vcpu *vcpu;
	struct x86_paging pg;
	struct x86_mem mem;
	enum x86_mode mode;
	struct seg_desc cs;
	uint64_t rip;
	uint64_t start; /* rip of the candidate being decoded */
	bool fetch_failed;
};

static void *
decode_map(void *arg, uint64_t gpa, size_t len)
{
	return vm_map_gpa(arg, gpa, len);
}

/* Linear address of code offset 'eip' in CS. */
static uint64_t
code_linear(const struct decode_ctx *dc, uint64_t eip)
{
	if (dc->mode == X86_MODE_64)
		return eip;
	return (dc->cs.base + (eip & 0xffffffffULL)) & 0xffffffffULL;
}

/* Guest-virtual -> host bytes, a page at a time; returns bytes copied. */
static size_t
read_linear(struct decode_ctx *dc, uint64_t gla, uint8_t *buf, size_t len,
	    int access)
{
	struct x86_fault fault;
	size_t done = 0;

	while (done < len) {
		uint64_t gpa, la = gla + done;
		size_t chunk = 4096 - (la & 0xfff);
		void *host;

		if (chunk > len - done)
			chunk = len - done;
		if (x86_gla2gpa(&dc->pg, &dc->mem, la,
				access | X86_MEM_NOSIDE | X86_MEM_NOPERM, &gpa,
				&fault) != 0)
			break;
		host = vm_map_gpa(dc->vcpu->vm, gpa, chunk);
		if (host == NULL)
			break;
		memcpy(buf + done, host, chunk);
		done += chunk;
	}
	return done;
}

static int
decode_fetch(void *arg, uint64_t offset, uint8_t *buf, size_t len)
{
	struct decode_ctx *dc = arg;
	size_t n = read_linear(dc, code_linear(dc, dc->start + offset), buf,
			       len, X86_MEM_EXEC);

	return n == 0 ? -1 : (int)n;
}

static int
decode_read_state(struct decode_ctx *dc)
{
	struct vcpu *vcpu = dc->vcpu;
	struct seg_desc ss;
	uint64_t rflags;

	memset(&dc->pg, 0, sizeof(dc->pg));
	if (vm_get_register(vcpu, VM_REG_GUEST_CR0, &dc->pg.cr0) != 0 ||
	    vm_get_register(vcpu, VM_REG_GUEST_CR3, &dc->pg.cr3) != 0 ||
	    vm_get_register(vcpu, VM_REG_GUEST_CR4, &dc->pg.cr4) != 0 ||
	    vm_get_register(vcpu, VM_REG_GUEST_EFER, &dc->pg.efer) != 0 ||
	    vm_get_register(vcpu, VM_REG_GUEST_RFLAGS, &rflags) != 0 ||
	    vm_get_seg_desc(vcpu, VM_REG_GUEST_CS, &dc->cs) != 0 ||
	    vm_get_seg_desc(vcpu, VM_REG_GUEST_SS, &ss) != 0)
		return EIO;
	dc->pg.cpl = (ss.access >> 5) & 3;
	dc->pg.rflags_ac = (rflags & (1u << 18)) != 0;
	dc->mem.map = decode_map;
	dc->mem.arg = vcpu->vm;
	if ((dc->pg.efer & EFER_LMA) && (dc->cs.access & SEG_ACC_L))
		dc->mode = X86_MODE_64;
	else if ((dc->pg.cr0 & CR0_PE) && !(rflags & PSL_VM) &&
		 (dc->cs.access & SEG_ACC_DB))
		dc->mode = X86_MODE_32;
	else
		dc->mode = X86_MODE_16;
	return 0;
}

/* vm_reg_name of a GPR numbered as the ISA does (rax rcx rdx rbx ...). */
static const int gpr_regs[16] = {
	VM_REG_GUEST_RAX, VM_REG_GUEST_RCX, VM_REG_GUEST_RDX, VM_REG_GUEST_RBX,
	VM_REG_GUEST_RSP, VM_REG_GUEST_RBP, VM_REG_GUEST_RSI, VM_REG_GUEST_RDI,
	VM_REG_GUEST_R8,  VM_REG_GUEST_R9,  VM_REG_GUEST_R10, VM_REG_GUEST_R11,
	VM_REG_GUEST_R12, VM_REG_GUEST_R13, VM_REG_GUEST_R14, VM_REG_GUEST_R15,
};

static const int seg_regs[6] = {
	VM_REG_GUEST_ES, VM_REG_GUEST_CS, VM_REG_GUEST_SS,
	VM_REG_GUEST_DS, VM_REG_GUEST_FS, VM_REG_GUEST_GS,
};

static uint64_t
gpr_value(struct vcpu *vcpu, unsigned int reg)
{
	int num = x86_reg_gpr_num(reg);
	uint64_t v = 0;

	if (num >= 0 && num < 16)
		vm_get_register(vcpu, gpr_regs[num], &v);
	return v;
}

/* Linear address of a memory operand of the instruction at dc->start. */
static uint64_t
operand_linear(struct decode_ctx *dc, const struct x86_instr *insn,
	       const struct x86_operand *op)
{
	uint64_t mask = insn->addrsize == 8   ? ~0ULL
			: insn->addrsize == 4 ? 0xffffffffULL
					      : 0xffffULL;
	uint64_t ea = (uint64_t)op->disp;
	struct seg_desc sd = { 0 };

	if (op->base == X86_R_RIP || op->base == X86_R_EIP)
		ea += dc->start + insn->length;
	else if (op->base != X86_R_NONE)
		ea += gpr_value(dc->vcpu, op->base);
	if (op->index != X86_R_NONE)
		ea += gpr_value(dc->vcpu, op->index) * op->scale;
	if ((insn->mnem == X86_M_BT || insn->mnem == X86_M_BTS ||
	     insn->mnem == X86_M_BTR || insn->mnem == X86_M_BTC) &&
	    op == &insn->ops[0] && insn->nops == 2 &&
	    insn->ops[1].type == X86_OPND_REG) {
		/* A register bit offset is signed and reaches the
		 * operand-sized unit (offset >> log2(bits)) units away. */
		unsigned int sz = op->size, rbits = insn->ops[1].size * 8;
		uint64_t off = gpr_value(dc->vcpu, insn->ops[1].reg);
		int64_t so = rbits >= 64 ? (int64_t)off
					 : (int64_t)(off << (64 - rbits)) >>
					       (64 - rbits);

		if (sz == 2 || sz == 4 || sz == 8)
			ea += (uint64_t)((so >> __builtin_ctz(sz * 8)) *
					 (int64_t)sz);
	}
	ea &= mask;
	if (op->seg >= X86_R_ES && op->seg <= X86_R_GS)
		vm_get_seg_desc(dc->vcpu, seg_regs[op->seg - X86_R_ES], &sd);
	if (dc->mode == X86_MODE_64)
		return (op->seg == X86_R_FS || op->seg == X86_R_GS)
			   ? sd.base + ea
			   : ea;
	return (sd.base + ea) & 0xffffffffULL;
}

static bool
is_port_io(unsigned int mnem)
{
	switch (mnem) {
	case X86_M_IN:
	case X86_M_OUT:
	case X86_M_INS:
	case X86_M_INSB:
	case X86_M_INSW:
	case X86_M_INSD:
	case X86_M_OUTS:
	case X86_M_OUTSB:
	case X86_M_OUTSW:
	case X86_M_OUTSD:
		return true;
	default:
		return false;
	}
}

/* Does the instruction do what the INOUT exit says?  NULL: yes. */
static const char *
check_inout(struct decode_ctx *dc, const struct x86_instr *insn,
	    const struct vm_inout *io)
{
	bool in = insn->mnem == X86_M_IN || insn->mnem == X86_M_INS ||
		  insn->mnem == X86_M_INSB || insn->mnem == X86_M_INSW ||
		  insn->mnem == X86_M_INSD;
	const struct x86_operand *port, *data;
	unsigned int portnum;

	if (!is_port_io(insn->mnem) || insn->nops != 2)
		return "not a port I/O instruction";
	if (in != io->in)
		return "the other direction";
	/* OUT/OUTS: port, data; IN/INS: data, port (DX or imm8). */
	port = &insn->ops[in ? 1 : 0];
	data = &insn->ops[in ? 0 : 1];
	portnum = port->type == X86_OPND_IMM
		      ? (unsigned int)(port->imm & 0xff)
		      : (unsigned int)(gpr_value(dc->vcpu, port->reg) & 0xffff);
	if (portnum != io->port)
		return "another port";
	if (data->size != io->bytes)
		return "another access size";
	return NULL;
}

/* INS/OUTS, MOVS, CMPS, STOS, LODS, SCAS */
static bool
is_string_op(const struct x86_instr *insn)
{
	uint8_t op = insn->opcode;

	return insn->map == X86_MAP_1BYTE &&
	       ((op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xa7) ||
		(op >= 0xaa && op <= 0xaf));
}

/* Is byte k of the operand at linear 'la' the guest-physical 'gpa'? */
static bool
operand_hits(struct decode_ctx *dc, uint64_t la, unsigned int size,
	     uint64_t gpa)
{
	struct x86_fault fault;
	uint64_t k = (gpa - la) & 0xfff, got;

	return k < size &&
	       x86_gla2gpa(&dc->pg, &dc->mem, la + k,
			   X86_MEM_READ | X86_MEM_NOSIDE | X86_MEM_NOPERM, &got,
			   &fault) == 0 &&
	       got == gpa;
}

/* Does the instruction access the MMIO exit's address that way? */
static const char *
check_mmio(struct decode_ctx *dc, const struct x86_instr *insn,
	   const struct vm_mmio *mmio)
{
	const char *why = "no memory operand";

	if (insn->mnem == X86_M_XLATB) {
		/* The decoder gives XLAT no operand: the byte at
		 * seg:[rBX + AL] (DS unless overridden). */
		struct x86_operand op = {
			.type = X86_OPND_MEM,
			.size = 1,
			.seg = insn->seg_override != X86_R_NONE
				   ? insn->seg_override
				   : X86_R_DS,
			.base = X86_R_NONE,
			.index = X86_R_NONE,
			.disp =
			    (int64_t)(gpr_value(dc->vcpu, X86_R_RAX + 3) +
				      (gpr_value(dc->vcpu, X86_R_RAX) & 0xff)),
		};

		return !mmio->write && mmio->bytes == 1 &&
			       operand_hits(dc, operand_linear(dc, insn, &op),
					    1, mmio->gpa)
			   ? NULL
			   : "another address";
	}

	for (int i = 0; i < insn->nops; i++) {
		const struct x86_operand *op = &insn->ops[i];
		uint64_t la;

		if (op->type != X86_OPND_MEM)
			continue;
		if (!(op->access & (mmio->write ? X86_ACC_W : X86_ACC_R))) {
			why = "the other direction";
			continue;
		}
		if (mmio->bytes > op->size) {
			why = "a narrower access";
			continue;
		}
		/*
		 * A string instruction's KVM exit may come after its
		 * registers moved on by one element (KVM's emulator
		 * completes a write before exiting).
		 */
		la = operand_linear(dc, insn, op);
		if (!operand_hits(dc, la, op->size, mmio->gpa) &&
		    !(is_string_op(insn) &&
		      (operand_hits(dc, la - op->size, op->size, mmio->gpa) ||
		       operand_hits(dc, la + op->size, op->size, mmio->gpa)))) {
			why = "another address";
			continue;
		}
		return NULL;
	}
	return why;
}

static const char *
check_exit(struct decode_ctx *dc, const struct x86_instr *insn,
	   const struct vm_exit *vmexit)
{
	if (vmexit->exitcode == VM_EXITCODE_INOUT)
		return check_inout(dc, insn, &vmexit->u.inout);
	return check_mmio(dc, insn, &vmexit->u.mmio);
}

static void
describe_exit(const struct vm_exit *vmexit, char *buf, size_t len)
{
	if (vmexit->exitcode == VM_EXITCODE_INOUT)
		snprintf(buf, len, "%s of %u bytes at port 0x%x",
			 vmexit->u.inout.in ? "IN" : "OUT",
			 vmexit->u.inout.bytes, vmexit->u.inout.port);
	else
		snprintf(buf, len, "MMIO %s of %u bytes at gpa 0x%llx",
			 vmexit->u.mmio.write ? "write" : "read",
			 vmexit->u.mmio.bytes,
			 (unsigned long long)vmexit->u.mmio.gpa);
}

static void
take_decode(struct vm_exit *vmexit, uint64_t start,
	    const struct x86_instr *insn, const uint8_t *bytes)
{
	vmexit->rip = start;
	vmexit->inst_length = insn->length;
	vmexit->insn = *insn;
	vmexit->has_insn = true;
	memcpy(vmexit->insn_bytes, bytes, insn->length);
}

static bool
cache_matches(const struct vm_decode_entry *e, const struct decode_ctx *dc)
{
	return e->valid && e->rip == dc->rip && e->cr0 == dc->pg.cr0 &&
	       e->cr3 == dc->pg.cr3 && e->cr4 == dc->pg.cr4 &&
	       e->efer == dc->pg.efer && e->cs_base == dc->cs.base &&
	       e->insn.mode == dc->mode;
}

/*
 * A cached decode is used only if the same bytes are still where they
 * were and it still matches this exit; anything else takes the slow path.
 */
static bool
decode_cached(struct decode_ctx *dc, struct vm_exit *vmexit)
{
	for (int i = 0; i < VM_DECODE_CACHE; i++) {
		struct vm_decode_entry *e = &dc->vcpu->dcache[i];
		const uint8_t *host;

		if (!cache_matches(e, dc))
			continue;
		host = vm_map_gpa(dc->vcpu->vm, e->gpa, e->insn.length);
		dc->start = e->start;
		if (host == NULL ||
		    memcmp(host, e->bytes, e->insn.length) != 0 ||
		    check_exit(dc, &e->insn, vmexit) != NULL)
			return false;
		take_decode(vmexit, e->start, &e->insn, e->bytes);
		return true;
	}
	return false;
}

static void
cache_insert(struct decode_ctx *dc, const struct vm_exit *vmexit)
{
	struct vm_decode_entry *e =
	    &dc->vcpu->dcache[dc->vcpu->dcache_next++ % VM_DECODE_CACHE];
	struct x86_fault fault;
	uint64_t la = code_linear(dc, vmexit->rip);

	e->valid = false;
	/* Only instructions within one page: one gpa names all bytes. */
	if ((la & 0xfff) + (uint64_t)vmexit->inst_length > 0x1000 ||
	    x86_gla2gpa(&dc->pg, &dc->mem, la,
			X86_MEM_EXEC | X86_MEM_NOSIDE | X86_MEM_NOPERM, &e->gpa,
			&fault) != 0)
		return;
	e->rip = dc->rip;
	e->cr0 = dc->pg.cr0;
	e->cr3 = dc->pg.cr3;
	e->cr4 = dc->pg.cr4;
	e->efer = dc->pg.efer;
	e->cs_base = dc->cs.base;
	e->start = vmexit->rip;
	e->insn = vmexit->insn;
	memcpy(e->bytes, vmexit->insn_bytes, vmexit->inst_length);
	e->valid = true;
}

int
vm_exit_decode(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct decode_ctx dc = { .vcpu = vcpu, .rip = vmexit->rip };
	struct x86_instr insn;
	uint8_t bytes[15];
	char what[96], text[96];
	const char *why;

	if (decode_read_state(&dc) != 0)
		return EIO;
	if (decode_cached(&dc, vmexit))
		return 0;
	/* At rip (the instruction itself), then ending at rip. */
	for (int back = 0; back <= 15; back++) {
		dc.start = dc.rip - (uint64_t)back;
		if (x86_decode_fetch(&insn, dc.mode, decode_fetch, &dc) !=
			X86_DEC_OK ||
		    (back != 0 && insn.length != back) ||
		    check_exit(&dc, &insn, vmexit) != NULL)
			continue;
		read_linear(&dc, code_linear(&dc, dc.start), bytes, insn.length,
			    X86_MEM_EXEC);
		take_decode(vmexit, dc.start, &insn, bytes);
		cache_insert(&dc, vmexit);
		return 0;
	}

	/* Nothing matches: name both sides. */
	describe_exit(vmexit, what, sizeof(what));
	dc.start = dc.rip;
	if (x86_decode_fetch(&insn, dc.mode, decode_fetch, &dc) == X86_DEC_OK) {
		x86_format(&insn, dc.rip, text, sizeof(text));
		why = check_exit(&dc, &insn, vmexit);
	} else {
		snprintf(text, sizeof(text), "(%s)",
			 x86_dec_status_name(insn.status));
		why = "it does not decode";
	}
	vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
	snprintf(vmexit->u.error.msg, sizeof(vmexit->u.error.msg),
		 "decode disagrees with the engine: %.60s reported, but the "
		 "instruction at rip 0x%llx is '%.64s' (%.32s)",
		 what, (unsigned long long)dc.rip, text, why);
	return 0;
}

/*
 * bhyve's vm_gla2gpa_nofault(): a linear address through the vCPU's
 * paging state as it is now (for debuggers: pass X86_MEM_PEEK, or a
 * write with X86_MEM_NOSIDE | X86_MEM_NOPERM).
 */
int
vm_gla2gpa_nofault(struct vcpu *vcpu, uint64_t gla, int access, uint64_t *gpa,
		   bool *fault)
{
	struct decode_ctx dc = { .vcpu = vcpu };
	struct x86_fault f;
	int rc;

	if (decode_read_state(&dc) != 0)
		return EIO;
	rc = x86_gla2gpa(&dc.pg, &dc.mem, gla, access, gpa, &f);
	*fault = rc != 0;
	return 0;
}
