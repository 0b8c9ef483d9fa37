/*
 * The interp engine's fetch-decode-execute loop: fetch through CS and the
 * page tables, decode with emul's decoder, dispatch on the mnemonic,
 * then retire the instruction, deliver the exception it raised, or end
 * in an exit.  Pending events (interrupts kmod injected, exceptions) are
 * delivered between instructions.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "interp.h"

static interp_op_fn interp_dispatch[X86_M_COUNT];
static pthread_once_t interp_dispatch_once = PTHREAD_ONCE_INIT;

static const struct interp_op *const interp_tables[] = {
	interp_ops_data,    interp_ops_ctl,    interp_ops_sys,
	interp_ops_io,      interp_ops_intr,   interp_ops_alu,
	interp_ops_shift,   interp_ops_muldiv, interp_ops_bit,
	interp_ops_string,  interp_ops_fpu,    interp_ops_sse_move,
	interp_ops_sse_int, interp_ops_sse_fp, interp_ops_x87,
	interp_ops_sse_str, interp_ops_xsave,  interp_ops_seg,
};

static void
dispatch_build(void)
{
	for (size_t t = 0; t < sizeof(interp_tables) / sizeof(interp_tables[0]);
	     t++)
		for (const struct interp_op *op = interp_tables[t];
		     op->fn != NULL; op++)
			interp_dispatch[op->mnem] = op->fn;
}

void
interp_exec_init(void)
{
	pthread_once(&interp_dispatch_once, dispatch_build);
}

/* ---- fetch ---------------------------------------------------------- */

struct fetch_ctx {
	struct interp_cpu *c;
	uint8_t bytes[15];
};

/* The linear address of CS:rip+off, or -1 when the segment refuses. */
static int
fetch_read(struct interp_cpu *c, uint64_t off, uint8_t *buf, size_t len)
{
	unsigned int asz = interp_code_mode(c) == X86_MODE_64   ? 8
			   : interp_code_mode(c) == X86_MODE_32 ? 4
								: 2;

	return interp_mem_read(c, X86_R_CS, c->rip + off, asz, buf, len,
			       X86_MEM_EXEC);
}

static int
fetch_cb(void *arg, uint64_t offset, uint8_t *buf, size_t len)
{
	struct fetch_ctx *fc = arg;
	struct interp_cpu *c = fc->c;
	size_t got;

	if (offset >= sizeof(fc->bytes))
		return -1;
	if (len > sizeof(fc->bytes) - offset)
		len = sizeof(fc->bytes) - offset;
	/* All of it, else byte by byte up to what faults. */
	if (fetch_read(c, offset, buf, len) == INTERP_OK) {
		got = len;
	} else {
		for (got = 0; got < len; got++)
			if (fetch_read(c, offset + got, buf + got, 1) !=
			    INTERP_OK)
				break;
	}
	memcpy(fc->bytes + offset, buf, got);
	return (int)got;
}

/* Decode the instruction at CS:rip.  INTERP_OK, FAULT or ERROR. */
static int
fetch_decode(struct interp_cpu *c, struct x86_instr *insn, uint8_t *bytes)
{
	struct fetch_ctx fc = { .c = c };
	uint8_t b;
	int st, rc;

	st = x86_decode_fetch(insn, interp_code_mode(c), fetch_cb, &fc);
	switch (st) {
	case X86_DEC_OK:
		memcpy(bytes, fc.bytes, insn->length);
		return INTERP_OK;
	case X86_DEC_UD:
		return interp_ud(c);
	case X86_DEC_GP:
		return interp_gp0(c);
	default:
		/* Fetch the byte again to get its exception. */
		rc = fetch_read(c, insn->fault_offset, &b, 1);
		if (rc == INTERP_OK)
			return interp_error(c,
					    "instruction fetch at 0x%llx "
					    "failed without a fault",
					    (unsigned long long)c->rip);
		return rc;
	}
}

/* Does memory at 'host' (a whole page behind it when 'page') still hold
 * the cached instruction's bytes? */
static inline bool
dcache_match(const struct interp_dcache_entry *e, const uint8_t *host,
	     uint64_t gpa, bool page)
{
	uint64_t w0, w1;

	if (!page || (gpa & 0xfff) > 4096 - 16)
		return memcmp(host, e->bytes, e->len) == 0;
	memcpy(&w0, host, 8);
	memcpy(&w1, host + 8, 8);
	return ((w0 ^ e->word[0]) & e->mask[0]) == 0 &&
	       ((w1 ^ e->word[1]) & e->mask[1]) == 0;
}

static void
dcache_fill(struct interp_dcache_entry *e, uint64_t gpa, enum x86_mode mode,
	    const uint8_t *bytes)
{
	uint8_t w[16] = { 0 }, m[16] = { 0 };

	e->gpa = gpa;
	e->mode = (uint8_t)mode;
	e->len = e->insn.length;
	memcpy(e->bytes, bytes, e->len);
	memcpy(w, bytes, e->len);
	memset(m, 0xff, e->len);
	memcpy(e->word, w, 16);
	memcpy(e->mask, m, 16);
}

/*
 * The instruction at rip from the decoded-instruction cache, or decoded
 * and cached; *bytesp its bytes.  Instructions that cross a page are not
 * cached.  'mode' is interp_code_mode().
 */
static int
fetch_cached(struct interp_cpu *c, enum x86_mode mode,
	     const struct x86_instr **insnp, const uint8_t **bytesp,
	     uint8_t *bytes)
{
	const struct interp_seg *cs = &c->seg[X86_R_CS - X86_R_ES];
	struct interp_dcache_entry *e;
	uint64_t lin = c->rip, gpa;
	const uint8_t *host;
	bool page = true;
	int rc;

	if (mode != X86_MODE_64)
		lin = (cs->desc.base + c->rip) & 0xffffffffULL;
	/* The TLB's host page, else the slow way (which raises what is
	 * due). */
	host = interp_tlb_host(c, lin, 1, X86_MEM_EXEC, &gpa);
	if (host == NULL) {
		page = false;
		if (interp_translate(c, lin, X86_MEM_EXEC, &gpa) != INTERP_OK ||
		    (host = interp_gpa_host(c->ivm, gpa, 1, false)) == NULL)
			goto slow;
	}
	e = &c->dcache[(gpa ^ (gpa >> 11)) % INTERP_DCACHE_SIZE];
	if (e->gpa == gpa && e->mode == mode &&
	    (gpa & 0xfff) + e->len <= 4096 &&
	    dcache_match(e, host, gpa, page) &&
	    (mode == X86_MODE_64 || c->rip + e->len - 1 <= cs->desc.limit)) {
		*bytesp = e->bytes;
		*insnp = &e->insn;
		return INTERP_OK;
	}
	*bytesp = bytes;
	rc = fetch_decode(c, &e->insn, bytes);
	if (rc != INTERP_OK) {
		e->gpa = ~0ULL;
		return rc;
	}
	if ((gpa & 0xfff) + e->insn.length <= 4096)
		dcache_fill(e, gpa, mode, bytes);
	else
		e->gpa = ~0ULL;
	*insnp = &e->insn;
	return INTERP_OK;
slow:
	*bytesp = bytes;
	c->slow_insn = (struct x86_instr){ 0 };
	rc = fetch_decode(c, &c->slow_insn, bytes);
	*insnp = &c->slow_insn;
	return rc;
}

/* ---- one instruction ------------------------------------------------ */

static uint64_t
ip_mask(enum x86_mode mode)
{
	switch (mode) {
	case X86_MODE_64:
		return ~0ULL;
	case X86_MODE_32:
		return 0xffffffffULL;
	default:
		return 0xffffULL;
	}
}

/* I/O exits name their instruction: rip is its start. */
static void
exit_set_insn(struct interp_cpu *c, uint64_t rip, const struct x86_instr *insn,
	      const uint8_t *bytes)
{
	struct vm_exit *e = c->exit;

	e->rip = rip;
	e->inst_length = insn->length;
	e->has_insn = true;
	e->insn = *insn;
	memcpy(e->insn_bytes, bytes, insn->length);
}

/*
 * The next queued MMIO store as an exit, named after the instruction that
 * made it (kept for the stores reported at later run() calls).  Stores
 * made while delivering an exception or interrupt (its frame) carry the
 * instruction that was interrupted, or none (length 0) after a fetch
 * fault.
 */
static void
exit_mmio_store(struct interp_cpu *c)
{
	struct interp_mmio_done *d = &c->mmio_stores[c->mmio_store_next++];
	struct vm_exit *e = c->exit;

	e->rip = c->store_rip;
	e->inst_length = c->store_insn.length;
	e->has_insn = true;
	e->insn = c->store_insn;
	memcpy(e->insn_bytes, c->store_bytes, sizeof(e->insn_bytes));

	e->exitcode = VM_EXITCODE_MMIO;
	e->u.mmio.gpa = d->gpa;
	e->u.mmio.bytes = d->bytes;
	e->u.mmio.write = true;
	e->u.mmio.data = d->value;
	if (c->mmio_store_next == c->nmmio_stores)
		c->nmmio_stores = c->mmio_store_next = 0;
}

/* Keep the instruction behind queued stores; report the first. */
static int
emit_stores(struct interp_cpu *c, uint64_t rip, const struct x86_instr *insn,
	    const uint8_t *bytes)
{
	if (c->nmmio_stores == 0)
		return INTERP_OK;
	c->store_rip = rip;
	memset(c->store_bytes, 0, sizeof(c->store_bytes));
	if (insn != NULL && insn->status == X86_DEC_OK) {
		c->store_insn = *insn;
		memcpy(c->store_bytes, bytes, insn->length);
	} else {
		memset(&c->store_insn, 0, sizeof(c->store_insn));
	}
	exit_mmio_store(c);
	return INTERP_EXIT;
}

bool
interp_store_pending(struct interp_cpu *c)
{
	if (c->mmio_store_next >= c->nmmio_stores)
		return false;
	exit_mmio_store(c);
	return true;
}

/* Exceptions of the fault class (not traps #DB #BP #OF, nor aborts). */
static bool
fault_class(unsigned int vector)
{
	switch (vector) {
	case 0:  /* #DE */
	case 5:  /* #BR */
	case 6:  /* #UD */
	case 7:  /* #NM */
	case 10: /* #TS */
	case 11: /* #NP */
	case 12: /* #SS */
	case 13: /* #GP */
	case 14: /* #PF */
	case 16: /* #MF */
	case 17: /* #AC */
	case 19: /* #XM */
	case 20: /* #VE */
	case 21: /* #CP */
		return true;
	default:
		return false;
	}
}

/*
 * Execute the instruction at rip.  Returns INTERP_OK (retired, nothing
 * to report), INTERP_EXIT (c->exit filled in: retired, or restarting
 * later), or INTERP_ERROR.
 */
static int
step(struct interp_cpu *c)
{
	const struct x86_instr *insn = NULL;
	const uint8_t *bytes = NULL;
	uint8_t buf[15];
	interp_op_fn fn;
	bool shadow = c->intr_shadow;
	uint64_t start = c->rip;
	enum x86_mode mode = interp_code_mode(c);
	/* Debug registers or TF in use (interp_debug.c): the slow way. */
	bool tf = (c->rflags & PSL_T) != 0;
	bool dbg = c->db_armed || tf || c->db_shadow != 0 || c->db_ss_shadow;
	int rc;

	c->mmio_used = 0;
	if (dbg)
		interp_db_begin(c);
	rc = fetch_cached(c, mode, &insn, &bytes, buf);
	c->last_insn = rc == INTERP_OK ? insn : NULL;
	if (rc == INTERP_OK) {
		c->next_rip = (c->rip + insn->length) & ip_mask(mode);
		fn = interp_dispatch[insn->mnem];
		if (fn == NULL &&
		    ((insn->prefixes &
		      (X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP)) ||
		     insn->map == X86_MAP_3DNOW || insn->mnem == X86_M_FEMMS)) {
			/* AVX, AVX-512, XOP, 3DNow!: not this CPU's (CPUID
			 * does not list them), so #UD as on such a CPU. */
			rc = interp_ud(c);
		} else if (fn == NULL) {
			char text[96];

			x86_format(insn, c->rip, text, sizeof(text));
			rc = interp_error(c,
					  "instruction '%s' is not implemented "
					  "yet",
					  text);
		} else {
			c->shadow_set = false;
			c->rflags &= ~PSL_RF;
			rc = fn(c, insn);
		}
	}
	switch (rc) {
	case INTERP_OK:
	case INTERP_EXIT:
		c->rip = c->next_rip;
		c->icount++;
		c->vtime_pending += INTERP_NS_PER_INSN;
		c->nmmio_done = c->mmio_used = 0;
		c->io_done = c->msr_done = false;
		/* STI / MOV SS block interrupts for one instruction. */
		c->intr_shadow = c->shadow_set && !shadow;
		if (dbg) {
			/*
			 * An iteration of a REP string instruction but the
			 * last leaves RF set: the next one is no new
			 * instruction for its breakpoint (SDM 17.3.1.1).
			 */
			if (c->next_rip == start &&
			    (insn->prefixes & (X86_PFX_REP | X86_PFX_REPNE)))
				c->rflags |= PSL_RF;
			interp_db_retire(c, insn, tf);
		}
		if (rc == INTERP_EXIT) {
			exit_set_insn(c, start, insn, bytes);
			return INTERP_EXIT;
		}
		return emit_stores(c, start, insn, bytes);
	case INTERP_RESTART:
		c->nmmio_stores = c->mmio_store_next = 0;
		c->pending_restart = true;
		exit_set_insn(c, start, insn, bytes);
		return INTERP_EXIT;
	case INTERP_FAULT:
		/* Its own stores are void; the frame's (below) are real. */
		c->nmmio_stores = c->mmio_store_next = 0;
		c->nmmio_done = c->mmio_used = 0;
		c->io_done = c->msr_done = false;
		/*
		 * A fault's frame holds RF = 1, so that the restarted
		 * instruction does not hit its instruction breakpoint again
		 * (Intel SDM vol. 3, 18.3.1.1); the handler runs with RF = 0.
		 */
		if (fault_class(c->exc.vector))
			c->rflags |= PSL_RF;
		/* Traps MOV SS / POP SS held come after the fault's. */
		if (dbg) {
			c->db_pending |= c->db_shadow;
			c->db_shadow = 0;
			c->db_ss_shadow = false;
		}
		rc = interp_deliver(c, c->exc.vector, c->exc.has_ec, c->exc.ec,
				    false);
		if (rc == INTERP_OK)
			return emit_stores(c, start, insn, bytes);
		c->nmmio_stores = c->mmio_store_next = 0;
		return rc;
	default:
		return INTERP_ERROR;
	}
}

/* A pending event kmod (or the engine) injected. */
static int
deliver_event(struct interp_cpu *c)
{
	struct interp_event ev = c->event;

	c->event.pending = false;
	if (ev.type == INTERP_EV_NMI)
		c->nmi_blocked = true;
	c->intr_shadow = false;
	/* An injected fault's frame holds RF = 1 too, as KVM's does. */
	if (ev.type == INTERP_EV_EXC && fault_class(ev.vector))
		c->rflags |= PSL_RF;
	return interp_deliver(c, ev.vector, ev.has_ec, ev.ec, false);
}

/*
 * Debug events due after an instruction (interp_debug.c): a data
 * breakpoint of the host's ends the run (the guest's trap, if any, waits
 * for the next one); the guest's #DB trap is delivered.  INTERP_OK or
 * INTERP_EXIT (c->exit filled in) or INTERP_ERROR.
 */
static int
debug_pending(struct interp_cpu *c)
{
	uint64_t at = c->rip;
	int rc;

	if (c->db_host_pending != 0) {
		c->exit->exitcode = VM_EXITCODE_DEBUG;
		c->exit->u.debug.dr6 =
		    c->db_host_pending | (c->debug.singlestep ? DR6_BS : 0);
		c->db_host_pending = 0;
		return INTERP_EXIT;
	}
	if (c->db_pending == 0)
		return INTERP_OK;
	rc = interp_db_trap(c);
	if (rc == INTERP_OK)
		rc = emit_stores(c, at, NULL, NULL);
	return rc;
}

/*
 * Virtual time: add what has retired to the VM's clock.  Returns true when
 * a timer is due (kmod runs it between exits).  Called at points fixed by
 * the instruction count, so a run's timing does not depend on the host.
 */
static bool
time_sync(struct interp_cpu *c)
{
	struct vm *vm = c->ivm->vm;

	/* (Unit tests run a CPU without a VM: no clock then.) */
	if (vm == NULL || !vm_virtual_time(vm))
		return false;
	if (c->vtime_pending != 0) {
		vm_clock_advance(vm, c->vtime_pending);
		c->vtime_pending = 0;
	}
	c->deadline = vm_callout_next(vm);
	return vm_clock_ns(vm) >= c->deadline;
}

void
interp_exec(struct interp_cpu *c, struct vm_exit *vmexit, uint64_t budget)
{
	uint64_t n = 0, dr6;
	bool jit_side = false;
	int rc;

	c->exit = vmexit;
	/*
	 * The instruction behind the last exit completes first, whatever is
	 * pending (a kick, an interrupt), as KVM completes it on entry: an
	 * exit never falls between its two executions.
	 */
	if (c->io_done || c->msr_done || c->nmmio_done > 0) {
		rc = step(c);
		if (rc != INTERP_OK)
			goto out;
		/* It counts: a budget of 1 completes it and no more. */
		if (budget != 0 && ++n >= budget) {
			vmexit->exitcode = VM_EXITCODE_BOGUS;
			goto out;
		}
	}
	for (;;) {
		if ((c->db_pending | c->db_host_pending) != 0 &&
		    debug_pending(c) != INTERP_OK)
			break;
		if (!c->event.pending && c->nmi_queued && !c->nmi_blocked &&
		    !c->intr_shadow) {
			c->nmi_queued = false;
			c->event = (struct interp_event){ .pending = true,
							  .type = INTERP_EV_NMI,
							  .vector = 2 };
		}
		if (c->event.pending) {
			uint64_t at = c->rip;

			rc = deliver_event(c);
			if (rc == INTERP_OK)
				rc = emit_stores(c, at, NULL, NULL);
			if (rc != INTERP_OK)
				break;
		}
		if (atomic_load_explicit(&c->kicked, memory_order_relaxed) &&
		    atomic_exchange(&c->kicked, false)) {
			vmexit->exitcode = VM_EXITCODE_BOGUS;
			break;
		}
		/* The vCPU's turn is over (one vCPU runs at a time). */
		if (c->icount >= c->yield_icount && c->yield_icount != 0) {
			vmexit->exitcode = VM_EXITCODE_BOGUS;
			break;
		}
		/* A replay reaching an asynchronous exit: exactly here. */
		if (c->icount == c->debug.stop_icount && c->icount != 0) {
			vmexit->exitcode = VM_EXITCODE_DEBUG;
			vmexit->u.debug.dr6 = 0;
			break;
		}
		if ((dr6 = interp_db_exec_host(c)) != 0) {
			vmexit->exitcode = VM_EXITCODE_DEBUG;
			vmexit->u.debug.dr6 = dr6;
			break;
		}
		/*
		 * The guest's instruction breakpoint: its #DB, then the
		 * handler's first instruction in this same round (so that
		 * nothing can stop between them: a replay stops at counts).
		 */
		if ((c->dr7 & 0xff) != 0) {
			bool hit;

			rc = interp_db_exec_guest(c, &hit);
			if (rc == INTERP_OK && hit)
				rc = emit_stores(c, c->rip, NULL, NULL);
			if (rc != INTERP_OK)
				break;
			if (hit && (dr6 = interp_db_exec_host(c)) != 0) {
				vmexit->exitcode = VM_EXITCODE_DEBUG;
				vmexit->u.debug.dr6 = dr6;
				break;
			}
		}
		/* A translated block (interp_jit.c) when one may run here;
		 * after a side exit the interpreter runs the next one. */
		if (c->jit != NULL && !jit_side) {
			uint64_t r = interp_jit_run(
			    c, budget != 0 ? budget - n : UINT64_MAX,
			    &jit_side);

			if (r > 0) {
				n += r;
				if (c->icount % INTERP_TIME_QUANTUM == 0 &&
				    time_sync(c)) {
					vmexit->exitcode = VM_EXITCODE_BOGUS;
					break;
				}
				if (budget != 0 && n >= budget) {
					vmexit->exitcode = VM_EXITCODE_BOGUS;
					break;
				}
				continue;
			}
		}
		jit_side = false;
		rc = step(c);
		if (rc != INTERP_OK)
			break;
		if ((c->db_pending | c->db_host_pending) != 0 &&
		    debug_pending(c) != INTERP_OK)
			break;
		if (c->icount % INTERP_TIME_QUANTUM == 0 && time_sync(c)) {
			vmexit->exitcode = VM_EXITCODE_BOGUS;
			break;
		}
		if (c->debug.enable && c->debug.singlestep) {
			vmexit->exitcode = VM_EXITCODE_DEBUG;
			vmexit->u.debug.dr6 = DR6_BS;
			break;
		}
		/* kmod has an interrupt to inject: let it. */
		if (c->want_window && (c->rflags & PSL_I) && !c->intr_shadow) {
			c->want_window = false;
			vmexit->exitcode = VM_EXITCODE_BOGUS;
			break;
		}
		if (budget != 0 && ++n >= budget) {
			vmexit->exitcode = VM_EXITCODE_BOGUS;
			break;
		}
	}
out:
	time_sync(c);
	if (vmexit->exitcode != VM_EXITCODE_INOUT &&
	    vmexit->exitcode != VM_EXITCODE_MMIO)
		vmexit->rip = c->rip;
}

void
interp_take_results(struct interp_cpu *c, const struct vm_exit *vmexit)
{
	struct interp_mmio_done *d;

	if (!c->pending_restart)
		return;
	c->pending_restart = false;
	switch (vmexit->exitcode) {
	case VM_EXITCODE_MMIO:
		if (c->nmmio_done < INTERP_MMIO_DONE_MAX) {
			d = &c->mmio_done[c->nmmio_done++];
			d->gpa = vmexit->u.mmio.gpa;
			d->bytes = vmexit->u.mmio.bytes;
			d->value = vmexit->u.mmio.data;
		}
		break;
	case VM_EXITCODE_INOUT:
		c->io_done = true; /* io_buf holds the data */
		break;
	case VM_EXITCODE_RDMSR:
	case VM_EXITCODE_WRMSR:
		c->msr_done = true;
		c->msr_value = vmexit->u.msr.value;
		break;
	case VM_EXITCODE_RANDOM:
		c->msr_done = true;
		c->msr_value = vmexit->u.random.value;
		break;
	default:
		break;
	}
}

int
interp_exec_complete(struct interp_cpu *c, struct vm_exit *vmexit)
{
	struct vm_exit scratch;
	int rc;

	interp_take_results(c, vmexit);
	if (!c->io_done && !c->msr_done && c->nmmio_done == 0)
		return 0;
	/* The re-execution ends the instruction; vmexit stays as it was. */
	memset(&scratch, 0, sizeof(scratch));
	c->exit = &scratch;
	rc = step(c);
	c->nmmio_stores = c->mmio_store_next = 0;
	if (rc == INTERP_ERROR)
		return EIO;
	return 0;
}
