/*
 * The debug facilities of the interp engine's CPU (Intel SDM vol. 3B
 * ch. 17), for the guest and for the host's debugger.
 *
 * The guest's: DR0-DR3, DR6, DR7 as MOV DRn reads and writes them (CPL 0,
 * DR4/DR5 aliasing DR6/DR7 unless CR4.DE, DR7.GD general detect);
 * instruction breakpoints (a fault before the instruction, not while RF
 * is set nor right after MOV SS / POP SS); data breakpoints (R/W 01
 * write, 11 read or write; LEN 1, 2, 4 or 8 bytes, the address masked to
 * the length) and I/O breakpoints (R/W 10 with CR4.DE), a trap after the
 * access's instruction; single-step by TF (a trap after an instruction
 * that began with TF set, none after INT n, INT3, INTO and INT1, which
 * clear it); debug traps of MOV SS / POP SS held until after the next
 * instruction.  A #DB clears DR6.B0-B3 (as KVM does for the #DB it
 * reflects), sets the bits of its conditions and clears DR7.GD.
 *
 * The host's (struct vm_guest_debug, gdb): the same matching on its own
 * four registers, checked first; a hit ends the run with a debug exit and
 * leaves the guest's state alone, so the guest's own breakpoints stay in
 * effect and a debugged guest behaves as an undebugged one.  Data
 * breakpoints are checked on every access the engine makes for an
 * instruction, so the host's watchpoints need no single steps here
 * (vmm_engine.data_breakpoints).
 *
 * Not modelled: the accesses of an event's delivery outside an
 * instruction (an interrupt's stack frame) do not hit data breakpoints.
 * A task switch's T-bit trap (DR6.BT) is interp_task.c's.
 */
#include "interp.h"

#define CR4_DE  (1ULL << 3)
#define DR6_BD  (1ULL << 13)
#define DR7_GD  (1ULL << 13)
#define DR6_ONE 0xffff0ff0ULL /* reads as 1 (no RTM, no bus-lock #DB) */
/* DR6 bits software can write, DR7 bits that exist (KVM's masks). */
#define DR6_VOLATILE 0xe00fULL
#define DR7_VOLATILE 0xffff2bffULL
#define DR7_ONE      0x400ULL

/* Breakpoint n's R/W field: 0 exec, 1 write, 2 I/O, 3 read or write. */
static unsigned int
bp_rw(uint64_t dr7, int n)
{
	return (dr7 >> DR7_RW_SHIFT(n)) & 3;
}

/* Breakpoint n's length in bytes (LEN 00 1, 01 2, 11 4, 10 8). */
static uint64_t
bp_len(uint64_t dr7, int n)
{
	static const uint64_t len[4] = { 1, 2, 8, 4 };

	return len[(dr7 >> DR7_LEN_SHIFT(n)) & 3];
}

static bool
bp_enabled(uint64_t dr7, int n)
{
	return (dr7 >> (2 * n)) & 3;
}

/*
 * The B0-B3 bits of the enabled breakpoints of kind 'rw' (a read matches
 * R/W 11, a write 01 and 11, port I/O 10) that [addr, addr + size)
 * overlaps.
 */
static uint64_t
bp_match(uint64_t dr7, const uint64_t *dr, uint64_t addr, uint64_t size,
	 unsigned int rw)
{
	uint64_t hits = 0;

	for (int n = 0; n < 4; n++) {
		unsigned int k = bp_rw(dr7, n);
		uint64_t len = bp_len(dr7, n), lo = dr[n] & ~(len - 1);

		if (!bp_enabled(dr7, n) || k == 0)
			continue;
		if (rw == 1 ? k == 2 : k != rw)
			continue;
		if (addr < lo + len && lo < addr + size)
			hits |= DR6_B(n);
	}
	return hits;
}

/* Any data or I/O breakpoint enabled in dr7. */
static bool
data_armed(uint64_t dr7)
{
	for (int n = 0; n < 4; n++)
		if (bp_enabled(dr7, n) && bp_rw(dr7, n) != 0)
			return true;
	return false;
}

void
interp_db_update(struct interp_cpu *c)
{
	c->db_watch =
	    data_armed(c->dr7) || (c->debug.enable && data_armed(c->debug.dr7));
	c->db_armed = (c->dr7 & 0xff) != 0 || c->db_watch;
}

void
interp_db_access(struct interp_cpu *c, uint64_t gla, size_t size, bool write)
{
	unsigned int rw = write ? 1 : 3;

	c->db_hits |= bp_match(c->dr7, c->dr, gla, size, rw);
	if (c->debug.enable)
		c->db_host_hits |=
		    bp_match(c->debug.dr7, c->debug.dr, gla, size, rw);
}

void
interp_db_io(struct interp_cpu *c, uint16_t port, unsigned int size)
{
	/* R/W 10 is an I/O breakpoint only with CR4.DE (else undefined). */
	if (c->cr4 & CR4_DE)
		c->db_hits |= bp_match(c->dr7, c->dr, port, size, 2);
}

/* The instruction breakpoints of (dr7, dr) at linear address lin. */
static uint64_t
exec_match(uint64_t dr7, const uint64_t *dr, uint64_t lin)
{
	uint64_t hits = 0;

	for (int n = 0; n < 4; n++)
		if (bp_enabled(dr7, n) && bp_rw(dr7, n) == 0 && dr[n] == lin)
			hits |= DR6_B(n);
	return hits;
}

static uint64_t
rip_linear(const struct interp_cpu *c)
{
	uint64_t lin = c->seg[X86_R_CS - X86_R_ES].desc.base + c->rip;

	return interp_code_mode(c) == X86_MODE_64 ? lin : lin & 0xffffffffULL;
}

uint64_t
interp_db_exec_host(const struct interp_cpu *c)
{
	if (!c->debug.enable || (c->rflags & PSL_RF))
		return 0;
	return exec_match(c->debug.dr7, c->debug.dr, rip_linear(c));
}

/* A #DB for the guest with 'bits' (DR6 B0-B3, BD, BS) as the CPU
 * reports it; rip is where it returns to. */
static int
db_deliver(struct interp_cpu *c, uint64_t bits)
{
	c->dr6 = (c->dr6 & ~0xfULL) | bits | DR6_ONE;
	c->dr7 &= ~DR7_GD;
	interp_db_update(c);
	return interp_deliver(c, 1, false, 0, false);
}

int
interp_db_exec_guest(struct interp_cpu *c, bool *hit)
{
	uint64_t bits;

	*hit = false;
	if ((c->dr7 & 0xff) == 0 || (c->rflags & PSL_RF) || c->db_ss_shadow)
		return INTERP_OK;
	bits = exec_match(c->dr7, c->dr, rip_linear(c));
	if (bits == 0)
		return INTERP_OK;
	/* A fault: the frame holds this rip and RF as it is (0). */
	*hit = true;
	return db_deliver(c, bits);
}

void
interp_db_begin(struct interp_cpu *c)
{
	c->db_hits = c->db_host_hits = 0;
	c->soft_int = false;
}

void
interp_db_retire(struct interp_cpu *c, const struct x86_instr *insn, bool tf)
{
	uint64_t bits = c->db_hits;
	bool ss = (insn->mnem == X86_M_MOV || insn->mnem == X86_M_POP) &&
		  insn->ops[0].type == X86_OPND_REG &&
		  insn->ops[0].reg == X86_R_SS;
	bool shadowed = c->db_ss_shadow;

	/* INT n, INT3, INTO, INT1 clear TF as they deliver: no step trap. */
	if (tf && !c->soft_int)
		bits |= DR6_BS;
	if (c->db_host_hits != 0)
		c->db_host_pending |= c->db_host_hits;
	c->db_ss_shadow = ss && !shadowed;
	if (c->db_ss_shadow) {
		/* MOV SS / POP SS: its traps come after the next one. */
		c->db_shadow = bits;
		return;
	}
	bits |= c->db_shadow;
	c->db_shadow = 0;
	c->db_pending |= bits;
}

int
interp_db_trap(struct interp_cpu *c)
{
	uint64_t bits = c->db_pending;

	c->db_pending = 0;
	return db_deliver(c, bits);
}

int
interp_db_mov(struct interp_cpu *c, const struct x86_instr *insn, bool to_dr)
{
	unsigned int dr =
	    (to_dr ? insn->ops[0].reg : insn->ops[1].reg) - X86_R_DR0;
	uint64_t v;

	if (interp_cpl(c) != 0)
		return interp_gp0(c);
	if (dr > 7 || ((dr == 4 || dr == 5) && (c->cr4 & CR4_DE)))
		return interp_ud(c);
	if (c->dr7 & DR7_GD) {
		/* General detect: a fault before the MOV, RF = 1 pushed as
		 * for every fault but an instruction breakpoint's. */
		c->rflags |= PSL_RF;
		c->dr6 = (c->dr6 & ~0xfULL) | DR6_BD | DR6_ONE;
		c->dr7 &= ~DR7_GD;
		interp_db_update(c);
		return interp_raise(c, 1, false, 0);
	}
	if (dr == 4 || dr == 5)
		dr += 2; /* aliases of DR6 and DR7 without CR4.DE */
	if (!to_dr) {
		v = dr < 4 ? c->dr[dr] : dr == 6 ? c->dr6 : c->dr7;
		return interp_opnd_write(c, insn, 0, v);
	}
	v = interp_reg_read(c, insn->ops[1].reg);
	if (interp_code_mode(c) != X86_MODE_64)
		v &= 0xffffffffULL;
	if (dr >= 6 && (v >> 32) != 0)
		return interp_gp0(c);
	if (dr < 4)
		c->dr[dr] = v;
	else if (dr == 6)
		c->dr6 = (v & DR6_VOLATILE) | DR6_ONE;
	else
		c->dr7 = (v & DR7_VOLATILE) | DR7_ONE;
	interp_db_update(c);
	return INTERP_OK;
}
