/*
 * The replayer's view of the trace: the event cursor (markers and host
 * input passed over), comparing the vCPU's registers with recorded ones,
 * and the divergence report.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm_replay_impl.h"

/*
 * The next event the replay acts on.  Markers and host input are written
 * by other threads (signals, the console) wherever they fall, even
 * between an exit and its access; the guest never saw them, so they are
 * passed over here.
 */
struct trace_event *
replay_peek(struct vm_replayer *rp)
{
	while (!rp->have && !rp->at_end) {
		if (trace_next(rp->r, &rp->ev) != 1) {
			rp->at_end = true;
			break;
		}
		if (rp->ev.kind == TRACE_EV_MARKER ||
		    rp->ev.kind == TRACE_EV_INPUT)
			rp->st.events++;
		else
			rp->have = true;
	}
	return rp->have ? &rp->ev : NULL;
}

void
replay_consume(struct vm_replayer *rp)
{
	rp->have = false;
	rp->st.events++;
}

void
replay_reach_end(struct vm_replayer *rp, const struct trace_event *ev)
{
	rp->ended = true;
	rp->end_status = ev->u.end.status;
	rp->st.recorded_ns = ev->time_ns - rp->first_ns;
}

void
replay_report_add(struct vm_replayer *rp, const char *fmt, ...)
{
	size_t len = strlen(rp->report);
	va_list ap;

	if (len + 1 >= sizeof(rp->report))
		return;
	va_start(ap, fmt);
	vsnprintf(rp->report + len, sizeof(rp->report) - len, fmt, ap);
	va_end(ap);
}

static const char *
reg_id_name(uint64_t id, char *buf, size_t len)
{
	static const char *const parts[] = { "base", "limit", "access" };

	if (id & TRACE_REG_MSR(0))
		snprintf(buf, len, "msr 0x%x", (uint32_t)id);
	else if (id < 0x100)
		snprintf(buf, len, "%s", vm_reg_name((int)id));
	else if ((id - 0x100) % 4 < 3)
		snprintf(buf, len, "%s.%s",
			 vm_reg_name((int)((id - 0x100) / 4)),
			 parts[(id - 0x100) % 4]);
	else
		snprintf(buf, len, "reg 0x%llx", (unsigned long long)id);
	return buf;
}

static void
report_regs(struct vm_replayer *rp, struct vcpu *vcpu)
{
	/* A point's registers, then the mode: CS and EFER. */
	static const int mode[] = { VM_REG_GUEST_CS, VM_REG_GUEST_EFER };
	uint64_t v;

	replay_report_add(rp, "  registers (replay, vcpu %d):", vcpu->id);
	for (size_t i = 0; i < VM_POINT_NREGS + 2; i++) {
		int reg = i < VM_POINT_NREGS ? vm_point_regs[i]
					     : mode[i - VM_POINT_NREGS];

		if (vm_get_register(vcpu, reg, &v) != 0)
			continue;
		replay_report_add(rp, "%s%s=0x%llx",
				  i % 4 == 0 ? "\n    " : " ", vm_reg_name(reg),
				  (unsigned long long)v);
	}
	replay_report_add(rp, "\n");
}

/*
 * Divergence: the report's first line names the event and what was
 * recorded, the second what happened; then the registers.
 */
int
replay_diverge(struct vcpu *vcpu, uint64_t index, const char *recorded,
	       const char *replayed)
{
	struct vm_replayer *rp = vcpu->vm->replayer;

	if (rp->diverged)
		return -1;
	rp->diverged = true;
	replay_report_add(
	    rp,
	    "replay diverged at event %llu (vcpu %d, exit %llu):\n"
	    "  recorded: %s\n"
	    "  replayed: %s\n",
	    (unsigned long long)index, vcpu->id,
	    (unsigned long long)vcpu->exits, recorded, replayed);
	report_regs(rp, vcpu);
	return -1;
}

const char *
replay_exit_text(uint32_t code, uint64_t rip, char *buf, size_t len)
{
	snprintf(buf, len, "%s exit at rip 0x%llx", vm_exitcode_name(code),
		 (unsigned long long)rip);
	return buf;
}

const char *
replay_event_text(const struct trace_event *ev, char *buf, size_t len)
{
	if (ev == NULL)
		snprintf(buf, len, "the end of the trace");
	else if (ev->kind == TRACE_EV_EXIT)
		replay_exit_text(ev->u.exit.exitcode, ev->u.exit.rip, buf, len);
	else
		snprintf(buf, len, "a %s event (vcpu %u)",
			 trace_kind_name(ev->kind), ev->vcpu);
	return buf;
}

void
vm_replay_diverged_exit(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_replayer *rp = vcpu->vm->replayer;
	uint64_t rip = vmexit->rip;

	memset(vmexit, 0, sizeof(*vmexit));
	vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
	vmexit->rip = rip;
	snprintf(vmexit->u.error.msg, sizeof(vmexit->u.error.msg), "%.*s",
		 (int)strcspn(rp->report, ":"), rp->report);
}

/*
 * Registers that are not part of the guest's deterministic state: the TSC
 * runs on, and the debug status/control registers are rhyve's own while
 * it places breakpoints.
 */
static bool
reg_compared(uint64_t id)
{
	return id != TRACE_REG_MSR(MSR_TSC) && id != VM_REG_GUEST_DR6 &&
	       id != VM_REG_GUEST_DR7;
}

static uint64_t
reg_value_masked(uint64_t id, uint64_t v)
{
	/* RF only says whether an instruction breakpoint may fire now. */
	return id == VM_REG_GUEST_RFLAGS ? v & ~RFLAGS_RF : v;
}

/*
 * Compare a recorded register list with the vCPU's state.  With 'why'
 * the first differences are described there.
 */
bool
replay_regs_match(struct vcpu *vcpu, const struct trace_reg *regs, uint32_t n,
		  char *why, size_t whylen)
{
	struct trace_reg now[VM_STATE_MAX_REGS];
	uint32_t nnow;
	int ndiff = 0;
	char name[48];
	size_t off = 0;
	uint64_t v;

	/*
	 * The general registers first, which the engine has at hand: at a
	 * breakpoint in a loop they differ on every hit but the last, and
	 * the whole state costs ioctls.
	 */
	for (uint32_t i = 0; why == NULL && i < n; i++)
		if (regs[i].id <= VM_REG_GUEST_RFLAGS &&
		    (regs[i].id <= VM_REG_GUEST_R15 ||
		     regs[i].id >= VM_REG_GUEST_RSP) &&
		    vm_get_register(vcpu, (int)regs[i].id, &v) == 0 &&
		    reg_value_masked(regs[i].id, v) !=
			reg_value_masked(regs[i].id, regs[i].value))
			return false;
	nnow = vm_collect_regs(vcpu, now);
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j;

		if (!reg_compared(regs[i].id))
			continue;
		for (j = 0; j < nnow && now[j].id != regs[i].id; j++)
			;
		if (j < nnow && reg_value_masked(regs[i].id, now[j].value) ==
				    reg_value_masked(regs[i].id, regs[i].value))
			continue;
		if (why == NULL)
			return false;
		if (ndiff++ < 6 && off < whylen)
			off += (size_t)snprintf(
			    why + off, whylen - off,
			    "%s%s 0x%llx (replay 0x%llx)",
			    ndiff > 1 ? ", " : "",
			    reg_id_name(regs[i].id, name, sizeof(name)),
			    (unsigned long long)regs[i].value,
			    j < nnow ? (unsigned long long)now[j].value : 0ULL);
	}
	return ndiff == 0;
}

/* A hash of the general registers, rip and rflags (less RF). */
uint64_t
replay_regs_signature(struct vcpu *vcpu)
{
	uint64_t h = 0xcbf29ce484222325ULL, v;

	for (int r = VM_REG_GUEST_RAX; r <= VM_REG_GUEST_RFLAGS; r++) {
		if ((r > VM_REG_GUEST_R15 && r < VM_REG_GUEST_RSP) ||
		    vm_get_register(vcpu, r, &v) != 0)
			continue;
		v = reg_value_masked((uint64_t)r, v);
		h = (h ^ v) * 0x100000001b3ULL;
	}
	return h;
}
