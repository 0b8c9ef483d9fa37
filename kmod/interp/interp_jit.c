/*
 * The interp engine's block translator: hot guest code as host code.
 *
 * A block is a run of guest instructions in one page (64-bit mode only)
 * that interp_jit_ops.c can translate, ended by a branch, by the first
 * instruction it cannot, or at JIT_BLOCK_INSNS instructions.  Blocks are
 * kept in a direct-mapped cache by guest-physical address and the key
 * that changes what the code does (the TLB context: CPL 3, RFLAGS.AC)
 * together with a copy of their guest bytes; as with the decoded-
 * instruction cache (interp_exec.c) a block is used only while memory
 * still holds those bytes, so code written by the guest, DMA or a
 * debugger is translated again with no invalidation protocol, and a
 * change of paging (CR3, INVLPG, CR0/CR4/EFER) needs none either: the
 * lookup goes through the fetch TLB, which the guest's flushes keep
 * right.  A block's own stores into its page leave it at once (the rest
 * may be stale).
 *
 * Counting: a block runs only when all of it fits before the next point
 * where the interpreter would stop (the scheduler's yield_icount, a
 * replay's stop_icount, the caller's budget, the first 64-instruction
 * boundary at which a timer is due); it retires its instructions as the
 * interpreter would, and the VM's clock is brought up to date as the
 * interpreter's every-64-instructions syncs would have left it.  Anything
 * that needs an instruction at a time (TF, debug registers, the host's
 * debugger, an interrupt shadow, an interrupt window, an instruction to
 * complete) keeps the interpreter.
 *
 * The code buffer is one mapping per vCPU, writable while a block is
 * written and executable (not writable) while blocks run; when full it is
 * emptied with the cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "interp_jit.h"

#define JIT_CODE_SIZE (16u << 20)
#define JIT_NBLOCKS   4096
/* The most code one block can take (JIT_BLOCK_INSNS with their exits). */
#define JIT_WINDOW (64u << 10)

struct jit_block {
	uint64_t gpa; /* ~0: empty */
	uint8_t key;
	uint16_t ninsn; /* 0: the first instruction is not translatable */
	uint16_t len;
	jit_block_fn fn;
	uint8_t bytes[JIT_BLOCK_BYTES];
};

struct interp_jit {
	uint8_t *code;
	size_t used;
	uint64_t retired; /* instructions retired in blocks (tests) */
	struct jit_emit emit;
	struct jit_block blocks[JIT_NBLOCKS];
};

static void
cache_clear(struct interp_jit *j)
{
	for (int i = 0; i < JIT_NBLOCKS; i++)
		j->blocks[i].gpa = ~0ULL;
	j->used = 0;
}

int
interp_jit_init(struct interp_cpu *c)
{
	struct interp_jit *j;

	if (c->jit != NULL)
		return 0;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return ENOMEM;
	j->code = mmap(NULL, JIT_CODE_SIZE, PROT_READ | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (j->code == MAP_FAILED) {
		free(j);
		return ENOMEM;
	}
	cache_clear(j);
	c->jit = j;
	return 0;
}

void
interp_jit_free(struct interp_cpu *c)
{
	if (c->jit == NULL)
		return;
	munmap(c->jit->code, JIT_CODE_SIZE);
	free(c->jit);
	c->jit = NULL;
}

/* One block's translation at the buffer's end; false if it did not fit. */
static bool
emit_block(struct interp_cpu *c, struct interp_jit *j, struct jit_block *b,
	   const uint8_t *host, uint8_t key, uint8_t *end)
{
	struct jit_emit *e = &j->emit;
	uint64_t rip = c->rip;
	size_t pos = 0, avail = 4096 - (b->gpa & 0xfff);
	unsigned int n = 0;
	bool ends = false;

	memset(e, 0, offsetof(struct jit_emit, exits));
	e->nexits = 0;
	e->buf = e->p = j->code + j->used;
	e->end = end;
	e->tlb_ctx = key;
	jit_byte(e, 0x50 + JR_BX);           /* push rbx */
	jit_rr(e, 8, 0x89, 1, JR_DI, JR_BX); /* mov rbx, rdi */
	while (n < JIT_BLOCK_INSNS && !ends) {
		struct x86_instr insn;
		size_t len = avail - pos < 15 ? avail - pos : 15;

		if (len == 0 || e->nexits + 8 > JIT_MAX_EXITS ||
		    x86_decode(&insn, X86_MODE_64, host + pos, len) !=
			X86_DEC_OK ||
		    pos + insn.length > JIT_BLOCK_BYTES)
			break;
		e->index = n;
		if (!jit_translate(e, &insn, rip, rip + insn.length, &ends)) {
			ends = false;
			break;
		}
		n++;
		pos += insn.length;
		rip += insn.length;
	}
	if (!ends) {
		/* Fall through to the instruction not translated. */
		e->index = n;
		jit_exit_to(e, 0xe9, 1, false, false, rip, true);
	}
	jit_finish(e);
	if (e->overflow)
		return false;
	b->key = key;
	b->ninsn = (uint16_t)n;
	/* (No instruction: the bytes of the first, so that new code there
	 * is looked at again.) */
	if (n == 0)
		pos = avail < 15 ? avail : 15;
	b->len = (uint16_t)pos;
	memcpy(b->bytes, host, pos);
	b->fn = (jit_block_fn)(void *)e->buf;
	j->used = ((size_t)(e->p - j->code) + 15) & ~(size_t)15;
	return true;
}

/*
 * Translate the block at c->rip (guest-physical gpa, host bytes 'host')
 * into cache slot b.  W^X: only the window a block may fill is made
 * writable, and only while it is written.
 */
static void
translate(struct interp_cpu *c, struct interp_jit *j, struct jit_block *b,
	  uint64_t gpa, const uint8_t *host, uint8_t key)
{
	bool ok = false;

	for (int pass = 0; pass < 2 && !ok; pass++) {
		size_t lo, hi;

		if (pass == 1)
			cache_clear(j); /* full: start again empty */
		lo = j->used & ~(size_t)4095;
		hi = lo + JIT_WINDOW < JIT_CODE_SIZE ? lo + JIT_WINDOW
						     : JIT_CODE_SIZE;
		mprotect(j->code + lo, hi - lo, PROT_READ | PROT_WRITE);
		b->gpa = gpa;
		ok = emit_block(c, j, b, host, key, j->code + hi);
		mprotect(j->code + lo, hi - lo, PROT_READ | PROT_EXEC);
	}
	if (!ok) {
		b->ninsn = 0;
		b->len = 0;
		b->key = key;
	}
}

/* Can translated code run now, rather than one instruction at a time? */
static bool
jit_may_run(const struct interp_cpu *c)
{
	return interp_code_mode(c) == X86_MODE_64 && !(c->cr4 & CR4_LA57) &&
	       !(c->rflags & (PSL_T | PSL_RF)) && !c->db_armed &&
	       c->db_shadow == 0 && !c->db_ss_shadow && (c->dr7 & 0xff) == 0 &&
	       !c->debug.enable && !c->intr_shadow &&
	       !(c->want_window && (c->rflags & PSL_I)) &&
	       c->nmmio_stores == 0 && c->nmmio_done == 0 && !c->io_done &&
	       !c->msr_done && !c->pending_restart;
}

/*
 * Instructions that may retire before the interpreter would stop: the
 * turn's end, a replay's stop, 'max', and the first 64-instruction
 * boundary where the interpreter's time check finds a timer due (the
 * clock runs 1 ns per instruction from now on).
 */
static uint64_t
jit_room(const struct interp_cpu *c, uint64_t max)
{
	struct vm *vm = c->ivm->vm;
	uint64_t rem = max;

	if (c->yield_icount != 0 && c->yield_icount - c->icount < rem)
		rem = c->yield_icount - c->icount;
	if (c->debug.stop_icount > c->icount &&
	    c->debug.stop_icount - c->icount < rem)
		rem = c->debug.stop_icount - c->icount;
	if (vm != NULL && vm_virtual_time(vm)) {
		uint64_t now = vm_clock_ns(vm) + c->vtime_pending;
		uint64_t dl = vm_callout_next(vm);
		uint64_t need = dl > now ? dl - now : 0;

		if (need < (1ULL << 40)) {
			uint64_t m = c->icount + (need ? need : 1);

			m = (m + INTERP_TIME_QUANTUM - 1) /
			    INTERP_TIME_QUANTUM * INTERP_TIME_QUANTUM;
			if (m - c->icount < rem)
				rem = m - c->icount;
		}
	}
	return rem;
}

uint64_t
interp_jit_run(struct interp_cpu *c, uint64_t max, bool *side)
{
	struct interp_jit *j = c->jit;
	struct vm *vm = c->ivm->vm;
	struct jit_block *b;
	const uint8_t *host;
	uint64_t gpa, before, last, n;
	uint32_t r;
	uint8_t key;

	*side = false;
	/* (A budget of one is the lockstep tester's: one step at a time.) */
	if (j == NULL || max < 2 || !jit_may_run(c))
		return 0;
	host = interp_tlb_host(c, c->rip, 1, X86_MEM_EXEC, &gpa);
	if (host == NULL)
		return 0;
	key = (uint8_t)(interp_tlb_tag(c, 0, X86_MEM_READ) & 0xf);
	b = &j->blocks[(gpa ^ (gpa >> 12)) % JIT_NBLOCKS];
	if (b->gpa != gpa || b->key != key ||
	    memcmp(host, b->bytes, b->len) != 0)
		translate(c, j, b, gpa, host, key);
	if (b->ninsn == 0 || b->ninsn > jit_room(c, max))
		return 0;

	/* The flags exact in rflags, then the host's view of them. */
	if (c->lf.op != INTERP_LF_NONE)
		(void)interp_rflags(c);
	c->jit_hf = (c->rflags & INTERP_ARITH_FLAGS) | PSL_1;
	c->jit_page = (uint64_t)(uintptr_t)(host - (gpa & 0xfff));
	before = c->icount;
	r = b->fn(c);
	c->rflags = (c->rflags & ~INTERP_ARITH_FLAGS) |
		    (c->jit_hf & INTERP_ARITH_FLAGS);
	n = r & 0xffff;
	*side = (r & JIT_RET_SIDE) != 0;
	c->icount += n;
	c->vtime_pending += n * INTERP_NS_PER_INSN;
	j->retired += n;
	/* The clock syncs of the 64-instruction boundaries passed (the one
	 * the block may end on is the caller's). */
	if (n > 0 && vm != NULL && vm_virtual_time(vm)) {
		last =
		    (c->icount - 1) / INTERP_TIME_QUANTUM * INTERP_TIME_QUANTUM;
		if (last > before) {
			uint64_t after =
			    (c->icount - last) * INTERP_NS_PER_INSN;

			vm_clock_advance(vm, c->vtime_pending - after);
			c->vtime_pending = after;
			c->deadline = vm_callout_next(vm);
		}
	}
	return n;
}

uint64_t
interp_jit_retired(const struct interp_cpu *c)
{
	return c->jit != NULL ? c->jit->retired : 0;
}
