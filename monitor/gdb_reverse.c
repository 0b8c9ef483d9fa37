/*
 * Reverse execution for the gdb stub on a replay: bs (reverse-stepi) and
 * bc (reverse-continue).  A replay cannot run backwards, so going back is
 * going forward again from earlier: the replayer restarts from the
 * nearest checkpoint before the point wanted (rhyve_replay_rewind(),
 * vm_replay_restart()) and replays to it.
 *
 * Points are counted in the VM's exits, then in single steps: (E, k) is
 * the state right after exit E (its access complete, the injections that
 * follow it not yet done) and k single steps further.  A step that
 * crosses an exit lands right after it, (E + 1, 0), unless the replay
 * delivered an event on the way (the step then ends at the handler's
 * first instruction, (E + 1, 1)): gdb_replay_step().  Steps follow the
 * stub's forward steps, so bs has instruction granularity.  After a stop
 * other than a step (a breakpoint, Ctrl-C) the point is found again by
 * its registers, stepping from the exit before it (in a loop that repeats
 * a register state exactly, the first such state is taken).
 *
 * bc scans forward from the nearest checkpoint to the current point,
 * counting the hits of the debugger's breakpoints and watchpoints (in the
 * current point's own exit interval by single steps, so that a hit just
 * before it counts and the point itself does not), then replays again to
 * the last hit; with none it looks before the checkpoint, and at the
 * start of the recording stops with replaylog:begin.
 *
 * This runs on vCPU 0's thread (gdb_vcpu_before_run()) while the debugger
 * waits for the stop reply; device emulation is left out meanwhile (the
 * replayer answers every read from the trace), so the console does not
 * print again what the guest wrote before the point.
 *
 * A replay of several vCPUs (interp: one at a time, the trace hands the
 * turn on) is run the same way: exits are the VM's (all vCPUs', in the
 * trace's order; between two of them only one vCPU runs), and this thread
 * runs whichever vCPU has the turn (vm_turn_vcpu()), each vm_run()
 * returning when its turn ends (vm_vcpu_return_on_turn_end()), while the
 * vCPUs' own threads stay parked.  A point is then also whose turn it is:
 * the stop reply names that vCPU's thread, and its registers are the ones
 * compared when a point is found again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdb.h"
#include "rhyve.h"

/* Single steps looked through in one exit interval (~30 s here). */
#define REV_MAX_STEPS 1000000
#define REV_MAX_CKPTS 4096
#define RFLAGS_RF     (1ULL << 16)

/* What vm_run() came back with. */
enum rev_next {
	REV_STOPPED, /* at the replayer's stop point */
	REV_DEBUG,   /* a debug exit (a step, a breakpoint) */
	REV_OTHER,   /* an exit the replayer answers: go on */
	REV_FAILED,  /* diverged, or the replay ended */
};

/* A point, by the running vCPU and its registers (vm_point_regs). */
struct rev_sig {
	uint64_t vcpu;
	uint64_t v[VM_POINT_NREGS];
};

static struct gdb_reverse_softc {
	struct vcpu *vcpu; /* the one that ran last (whose turn it is) */
	struct vm *vm;
	struct gdb_replay_pos *pos;
	char err[320];
	char note[400];
} rv;

static void
sig_take(struct rev_sig *s)
{
	s->vcpu = (uint64_t)vcpu_id(rv.vcpu);
	for (size_t i = 0; i < VM_POINT_NREGS; i++) {
		s->v[i] = 0;
		vm_get_register(rv.vcpu, vm_point_regs[i], &s->v[i]);
		if (vm_point_regs[i] == VM_REG_GUEST_RFLAGS)
			s->v[i] &= ~RFLAGS_RF;
	}
}

static bool
sig_eq(const struct rev_sig *a, const struct rev_sig *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

void
gdb_replay_step(struct gdb_replay_pos *pos, const struct vm_exit *vmexit,
		uint64_t exits)
{
	bool delivered = (vmexit->u.debug.dr6 & DR6_B(3)) != 0;

	if (exits != pos->exits) {
		pos->known = true;
		pos->steps = delivered ? 1 : 0;
	} else if (pos->known) {
		pos->steps++;
	}
	pos->exits = exits;
}

/* The debugger's debug state (gdb_target_load_debug()) on every vCPU. */
static void
rev_load(bool bps, bool watch, bool step)
{
	for (int i = 0; i < vm_vcpu_count(rv.vm); i++) {
		struct vcpu *v = vm_vcpu(rv.vm, i);

		if (v != NULL)
			gdb_target_load_debug(v, bps, watch, step);
	}
}

/*
 * Run the vCPU whose turn it is until vm_run() returns: an exit, a stop,
 * or the end of its turn (the next call runs the next vCPU).  An exit the
 * monitor would serve keeps the turn, so 'vmexit' is the same vCPU's at
 * the next call.
 */
static enum rev_next
rev_next(struct vm_exit *vmexit)
{
	int error;

	rv.vcpu = vm_turn_vcpu(rv.vm);
	error = vm_run(rv.vcpu, vmexit);

	if (error != 0) {
		snprintf(rv.err, sizeof(rv.err), "vm_run: %s", strerror(error));
		return REV_FAILED;
	}
	switch (vmexit->exitcode) {
	case VM_EXITCODE_BOGUS:
		return vm_replay_at_stop(rv.vcpu) ? REV_STOPPED : REV_OTHER;
	case VM_EXITCODE_DEBUG:
		return REV_DEBUG;
	case VM_EXITCODE_ENGINE_ERROR:
		snprintf(rv.err, sizeof(rv.err), "%s", vmexit->u.error.msg);
		return REV_FAILED;
	case VM_EXITCODE_SUSPENDED:
		snprintf(rv.err, sizeof(rv.err), "the replay ended");
		return REV_FAILED;
	default:
		return REV_OTHER;
	}
}

/*
 * Run until vm_run() comes back with 'want' (REV_DEBUG: the end of a
 * single step, DR6.BS); the other exits are the replayer's to answer.
 */
static int
rev_run_until(enum rev_next want, struct vm_exit *vmexit)
{
	for (;;) {
		enum rev_next got = rev_next(vmexit);

		if (got == REV_FAILED)
			return -1;
		if (got == want &&
		    (want != REV_DEBUG || (vmexit->u.debug.dr6 & DR6_BS)))
			return 0;
	}
}

/* Run until the replayer's stop point. */
static int
rev_run_to_stop(void)
{
	struct vm_exit vmexit;

	return rev_run_until(REV_STOPPED, &vmexit);
}

/* Back to (exits, 0). */
static int
rev_goto(uint64_t exits)
{
	char buf[256];

	rev_load(false, false, false);
	if (rhyve_replay_rewind(rv.vm, exits, buf, sizeof(buf)) != 0) {
		snprintf(rv.err, sizeof(rv.err), "%s", buf);
		return -1;
	}
	if (rev_run_to_stop() != 0)
		return -1;
	*rv.pos = (struct gdb_replay_pos){ .known = true, .exits = exits };
	return 0;
}

/* One single step (the debug state already has the step on). */
static int
rev_step(struct vm_exit *vmexit)
{
	if (rev_run_until(REV_DEBUG, vmexit) != 0)
		return -1;
	gdb_replay_step(rv.pos, vmexit, vm_replay_exits(rv.vcpu));
	return 0;
}

/* From (E, 0): 'n' steps, to (E, n). */
static int
rev_steps(uint64_t n)
{
	struct vm_exit vmexit;

	rev_load(false, false, true);
	for (uint64_t i = 0; i < n; i++)
		if (rev_step(&vmexit) != 0)
			return -1;
	rev_load(false, false, false);
	return 0;
}

/*
 * How many steps after exit E the current point 'now' is: from (E, 0)
 * step until the registers are 'now'; -1 when the interval ends first.
 */
static int64_t
rev_find(uint64_t exits, const struct rev_sig *now)
{
	struct vm_exit vmexit;
	struct rev_sig s;
	int64_t found = -1;

	if (rev_goto(exits) != 0)
		return -1;
	rev_load(false, false, true);
	for (uint64_t i = 0; i <= REV_MAX_STEPS; i++) {
		sig_take(&s);
		if (sig_eq(&s, now)) {
			found = (int64_t)rv.pos->steps;
			break;
		}
		if (rev_step(&vmexit) != 0 || rv.pos->exits != exits)
			break;
	}
	rev_load(false, false, false);
	if (found < 0 && rv.err[0] == '\0')
		snprintf(rv.err, sizeof(rv.err),
			 "the current point is not found again after exit "
			 "%llu",
			 (unsigned long long)exits);
	return found;
}

/* Where we are now: (E, k); k from the stub's count or found again. */
static int
rev_where(uint64_t *exits, uint64_t *steps)
{
	struct rev_sig now;
	int64_t k;

	*exits = vm_replay_exits(rv.vcpu);
	if (rv.pos->known && rv.pos->exits == *exits) {
		*steps = rv.pos->steps;
		return 0;
	}
	sig_take(&now);
	k = rev_find(*exits, &now);
	if (k < 0)
		return -1;
	*steps = (uint64_t)k;
	return 0;
}

/* bs: the state one instruction earlier. */
static int
rev_stepi(struct gdb_stop *st)
{
	struct gdb_replay_pos before;
	struct vm_exit vmexit;
	uint64_t e, k, n = 0;

	if (rev_where(&e, &k) != 0)
		return -1;
	if (k > 0) {
		if (rev_goto(e) != 0 || rev_steps(k - 1) != 0)
			return -1;
		return 0;
	}
	if (e == 0) {
		st->replay_begin = true; /* already at the start */
		return rev_goto(0);
	}
	/* The last point after exit e - 1, before the step that makes e. */
	if (rev_goto(e - 1) != 0)
		return -1;
	rev_load(false, false, true);
	before = *rv.pos;
	while (vm_replay_exits(rv.vcpu) < e) {
		before = *rv.pos;
		if (n++ > REV_MAX_STEPS) {
			snprintf(rv.err, sizeof(rv.err),
				 "more than %d steps between exits %llu and "
				 "%llu",
				 REV_MAX_STEPS, (unsigned long long)e - 1,
				 (unsigned long long)e);
			return -1;
		}
		if (rev_step(&vmexit) != 0)
			return -1;
	}
	if (rev_goto(e - 1) != 0 || rev_steps(before.steps) != 0)
		return -1;
	return 0;
}

/* A hit found by a scan: the n-th of phase 1, or after k steps. */
struct rev_hit {
	bool found;
	bool stepped; /* in the current point's interval, by steps */
	uint64_t n;   /* phase 1: its ordinal (1..) */
	uint64_t k;   /* stepped: the steps after the exit */
	struct gdb_stop st;
};

/*
 * Replay with the debugger's breakpoints from (from, 0) until the n-th hit
 * (n > 0), or until (to, 0) counting them (n == 0).  The last hit is in
 * *hit; returns the number of hits, or -1.  'coarse': write watchpoints
 * are not stepped but their bytes compared after every exit, *changed
 * the last exit interval in which they changed (-1: none) and *hit_exit
 * the exit interval of the last hit.
 */
static int64_t
rev_scan_run(uint64_t from, uint64_t to, uint64_t n, bool coarse,
	     struct rev_hit *hit, int64_t *changed, uint64_t *hit_exit)
{
	struct vm_exit vmexit;
	struct gdb_stop st;
	uint64_t hits = 0, e;

	*changed = -1;
	if (rev_goto(from) != 0)
		return -1;
	if (from == to && n == 0)
		return 0;
	vm_replay_set_stop(rv.vcpu, coarse && n == 0 ? from + 1 : to);
	rev_load(true, !coarse, false);
	gdb_target_watch_snapshot();
	for (;;) {
		switch (rev_next(&vmexit)) {
		case REV_STOPPED:
			e = vm_replay_exits(rv.vcpu);
			if (coarse && n == 0 && gdb_target_watch_changed())
				*changed = (int64_t)e - 1;
			if (e >= to || !coarse || n != 0)
				return (int64_t)hits;
			vm_replay_set_stop(rv.vcpu, e + 1);
			break;
		case REV_FAILED:
			return -1;
		case REV_DEBUG:
			if (!gdb_target_hit(&vmexit, &st))
				break;
			hits++;
			hit->found = true;
			hit->stepped = false;
			hit->n = hits;
			hit->st = st;
			*hit_exit = vm_replay_exits(rv.vcpu);
			if (hits == n) {
				vm_replay_set_stop(rv.vcpu, UINT64_MAX);
				rv.pos->known = false;
				rv.pos->exits = vm_replay_exits(rv.vcpu);
				rev_load(false, false, false);
				return (int64_t)hits;
			}
			if (vmexit.u.debug.dr6 & DR6_BS)
				break; /* a watch's step: run on */
			/* Past the breakpoint by a step without it. */
			rev_load(false, false, true);
			if (rev_step(&vmexit) != 0)
				return -1;
			rev_load(true, !coarse, false);
			if (!coarse)
				gdb_target_watch_snapshot();
			break;
		default:
			break;
		}
	}
}

/*
 * The current point's own interval: from (e, 0) by single steps up to
 * (e, k), each state before it checked for a breakpoint at its rip and
 * each step for a write watchpoint's bytes changing.
 */
static int
rev_scan_steps(uint64_t e, uint64_t k, struct rev_hit *hit)
{
	struct vm_exit vmexit;
	struct seg_desc cs;
	struct gdb_stop st;
	uint64_t rip;

	if (rev_goto(e) != 0)
		return -1;
	rev_load(false, false, true);
	gdb_target_watch_snapshot();
	while (rv.pos->exits == e && rv.pos->steps < k) {
		if (vm_get_register(rv.vcpu, VM_REG_GUEST_RIP, &rip) == 0 &&
		    vm_get_seg_desc(rv.vcpu, VM_REG_GUEST_CS, &cs) == 0 &&
		    gdb_target_bp_at(rip + cs.base, &st))
			*hit = (struct rev_hit){ true, true, 0, rv.pos->steps,
						 st };
		if (rev_step(&vmexit) != 0)
			return -1;
		if (gdb_target_watch_stepping()) {
			/*
			 * The watch's bytes, checked as by a forward step;
			 * going backwards gdb stops before the write (the
			 * value it shows is the one before).
			 */
			vmexit.u.debug.dr6 = DR6_BS;
			if (gdb_target_hit(&vmexit, &st) &&
			    rv.pos->exits == e && rv.pos->steps < k)
				*hit =
				    (struct rev_hit){ true, true, 0,
						      rv.pos->steps - 1, st };
		}
	}
	rev_load(false, false, false);
	return 0;
}

/* bc: back to the last breakpoint or watchpoint hit before here. */
static int
rev_continue(struct gdb_stop *st)
{
	uint64_t ck[REV_MAX_CKPTS], e, k, hi, hit_exit = 0;
	struct rev_hit hit = { .found = false };
	int64_t n, changed;
	size_t nck;
	bool coarse;

	if (rev_where(&e, &k) != 0)
		return -1;
	nck = vm_replay_checkpoints(rv.vm, ck, REV_MAX_CKPTS);
	if (nck == 0)
		ck[nck++] = 0;
	/* The current interval first (by steps), then the run before it. */
	if (gdb_target_have_bps() && k > 0 && rev_scan_steps(e, k, &hit) != 0)
		return -1;
	if (hit.found) {
		if (rev_goto(e) != 0 || rev_steps(hit.k) != 0)
			return -1;
		*st = hit.st;
		return 0;
	}
	/*
	 * Write watchpoints are found by their bytes changing between exits,
	 * then by single steps in the last interval where they changed.
	 */
	coarse = gdb_target_watch_stepping();
	hi = e;
	for (size_t i = nck; gdb_target_have_bps() && i-- > 0;) {
		if (ck[i] > hi)
			continue;
		n = rev_scan_run(ck[i], hi, 0, coarse, &hit, &changed,
				 &hit_exit);
		if (n < 0)
			return -1;
		if (changed >= 0 && (n == 0 || hit_exit <= (uint64_t)changed)) {
			struct rev_hit h2 = { .found = false };

			if (rev_scan_steps((uint64_t)changed, UINT64_MAX,
					   &h2) != 0)
				return -1;
			if (h2.found) {
				if (rev_goto((uint64_t)changed) != 0 ||
				    rev_steps(h2.k) != 0)
					return -1;
				*st = h2.st;
				return 0;
			}
		}
		if (n > 0) {
			if (rev_scan_run(ck[i], hi, (uint64_t)n, coarse, &hit,
					 &changed, &hit_exit) != n)
				return -1;
			*st = hit.st;
			return 0;
		}
		hi = ck[i];
	}
	st->replay_begin = true;
	return rev_goto(0);
}

/* Every vCPU's vm_run() returns at its turn's end (or not again). */
static void
rev_drive(bool on)
{
	for (int i = 0; i < vm_vcpu_count(rv.vm); i++) {
		struct vcpu *v = vm_vcpu(rv.vm, i);

		if (v != NULL)
			vm_vcpu_return_on_turn_end(v, on);
	}
}

void
gdb_reverse(struct vcpu *vcpu, bool step, struct gdb_replay_pos *pos,
	    struct gdb_stop *st)
{
	int error;

	rv.vm = vcpu_vm(vcpu);
	rv.vcpu = vm_turn_vcpu(rv.vm);
	rv.pos = pos;
	rv.err[0] = '\0';
	*st = (struct gdb_stop){ .reason = GDB_STOP_STEP,
				 .signo = GDB_SIGTRAP,
				 .thread = 1 };
	if (!step)
		st->reason = GDB_STOP_SIGNAL;
	rev_drive(true);
	error = step ? rev_stepi(st) : rev_continue(st);
	rev_drive(false);
	/* The vCPU that stopped there: whose turn it is. */
	st->thread = vcpu_id(rv.vcpu) + 1;
	if (error == 0)
		return;
	/* Wherever it got to: say why, and that the point is unknown. */
	rhyve_warnx("gdb: reverse execution failed: %s", rv.err);
	snprintf(rv.note, sizeof(rv.note),
		 "rhyve: reverse execution failed: %s\n", rv.err);
	*st = (struct gdb_stop){ .reason = GDB_STOP_SIGNAL,
				 .signo = GDB_SIGTRAP,
				 .thread = vcpu_id(rv.vcpu) + 1,
				 .note = rv.note };
	pos->known = false;
	pos->exits = vm_replay_exits(vcpu);
}
