/*
 * What a checkpoint holds of a VM besides registers, memory and devices:
 * each vCPU's run state (CKPT_DEVICE "vcpu") and, with one vCPU running
 * at a time (vmm_sched.c), the scheduler's (CKPT_DEVICE "sched", on the
 * vCPU whose turn it is).  Layouts in docs/trace-format.md; integers
 * little-endian, as the host's (x86-64), like vmm_fpu_state.c's.
 *
 * A replay that starts at a checkpoint loads them: the application
 * processors still waiting for their SIPI wait again, each vCPU's exit
 * count is where the trace's injections expect it, and the turn is the
 * recorded vCPU's, which then hands it over where the trace says.  One
 * that passes a checkpoint compares what the replay decides the same way
 * as the recording: who waits for a SIPI (and which vector is pending),
 * the exit counts, and whose turn it is.  Whether a vCPU sleeps in HLT is
 * not compared: a replay does not sleep there, the trace hands the turn
 * on instead.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm_impl.h"

#define RUN_STATE_VERSION 1

/* "vcpu": flags at 4 */
#define VS_PARKED    0x01u /* wait-for-SIPI */
#define VS_INIT      0x02u /* an INIT not taken yet */
#define VS_HLT_NOINT 0x04u /* HLT with interrupts off */
#define VS_NMI       0x08u /* an NMI pending */
#define VS_EXTINT    0x10u /* the PIC asserts INTR */
#define VS_HALTED    0x20u /* asleep in HLT (informational) */
#define VS_KNOWN     0x1fu /* the flags a load sets */

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---- a vCPU's run state ----------------------------------------------- */

size_t
vm_vcpu_get_state(struct vcpu *vcpu, uint8_t *buf)
{
	uint32_t flags = 0;
	int sipi;

	pthread_mutex_lock(&vcpu->mtx);
	flags |= vcpu->parked ? VS_PARKED : 0;
	flags |= vcpu->init_pending ? VS_INIT : 0;
	flags |= vcpu->hlt_intr_off ? VS_HLT_NOINT : 0;
	flags |= vcpu->nmi_pending ? VS_NMI : 0;
	flags |= vcpu->extint_pending ? VS_EXTINT : 0;
	flags |= vcpu->halted ? VS_HALTED : 0;
	sipi = vcpu->sipi_vector;
	pthread_mutex_unlock(&vcpu->mtx);
	memset(buf, 0, VM_VCPU_STATE_SIZE);
	put32(buf, RUN_STATE_VERSION);
	put32(buf + 4, flags);
	put32(buf + 8, (uint32_t)sipi);
	put64(buf + 16, vcpu->exits);
	return VM_VCPU_STATE_SIZE;
}

static int
vcpu_state_check(const uint8_t *buf, size_t len)
{
	int32_t sipi;

	if (len != VM_VCPU_STATE_SIZE || get32(buf) != RUN_STATE_VERSION)
		return EINVAL;
	sipi = (int32_t)get32(buf + 8);
	return sipi < -1 || sipi > 0xff ? EINVAL : 0;
}

int
vm_vcpu_set_state(struct vcpu *vcpu, const uint8_t *buf, size_t len)
{
	uint64_t bit = 1ULL << vcpu->id;
	uint32_t flags;
	bool idle;
	int error;

	if ((error = vcpu_state_check(buf, len)) != 0)
		return error;
	flags = get32(buf + 4);
	pthread_mutex_lock(&vcpu->mtx);
	vcpu->parked = flags & VS_PARKED;
	vcpu->init_pending = flags & VS_INIT;
	vcpu->hlt_intr_off = flags & VS_HLT_NOINT;
	vcpu->nmi_pending = flags & VS_NMI;
	vcpu->extint_pending = flags & VS_EXTINT;
	vcpu->sipi_vector = (int32_t)get32(buf + 8);
	vcpu->exits = get64(buf + 16);
	/* Idle as vcpu_wait_idle() counts it: asleep with no wake-up due. */
	idle =
	    !vcpu->init_pending && ((vcpu->parked && vcpu->sipi_vector < 0) ||
				    (vcpu->hlt_intr_off && !vcpu->nmi_pending));
	pthread_mutex_unlock(&vcpu->mtx);
	if (idle)
		atomic_fetch_or(&vcpu->vm->idle_cpus, bit);
	else
		atomic_fetch_and(&vcpu->vm->idle_cpus, ~bit);
	return 0;
}

/*
 * Waiting for a SIPI: parked, or with an INIT not yet taken (which parks
 * it).  A vCPU's thread takes an INIT when it next has its turn, which a
 * replay may hand on before the thread got there: the two are one state.
 */
static bool
waits_for_sipi(uint32_t flags)
{
	return (flags & (VS_PARKED | VS_INIT)) != 0;
}

bool
vm_vcpu_state_matches(struct vcpu *vcpu, const uint8_t *buf, size_t len,
		      char *why, size_t whylen)
{
	uint8_t have[VM_VCPU_STATE_SIZE];
	bool ww, wh;

	if (vcpu_state_check(buf, len) != 0) {
		snprintf(why, whylen,
			 "a %zu-byte vCPU state of an unknown layout", len);
		return false;
	}
	vm_vcpu_get_state(vcpu, have);
	ww = waits_for_sipi(get32(buf + 4));
	wh = waits_for_sipi(get32(have + 4));
	if (ww != wh) {
		snprintf(why, whylen, "the vCPU %s for a SIPI, the replay's %s",
			 ww ? "waits" : "does not wait",
			 wh ? "does" : "does not");
		return false;
	}
	if (get32(buf + 8) != get32(have + 8)) {
		snprintf(why, whylen, "SIPI vector %d pending, the replay's %d",
			 (int32_t)get32(buf + 8), (int32_t)get32(have + 8));
		return false;
	}
	if (get64(buf + 16) != get64(have + 16)) {
		snprintf(why, whylen, "%llu exits, the replay's %llu",
			 (unsigned long long)get64(buf + 16),
			 (unsigned long long)get64(have + 16));
		return false;
	}
	return true;
}

/* ---- the scheduler's ---------------------------------------------------- */

size_t
vm_sched_get_blob(struct vcpu *vcpu, uint8_t *buf)
{
	struct vm_sched_state st;

	if (vcpu->vm->sched == NULL)
		return 0;
	vm_sched_get_state(vcpu->vm, &st);
	memset(buf, 0, VM_SCHED_STATE_SIZE);
	put32(buf, RUN_STATE_VERSION);
	put32(buf + 4, (uint32_t)st.owner);
	put32(buf + 8, (uint32_t)st.last);
	put64(buf + 16, st.asleep);
	put64(buf + 24, st.last_icount);
	put64(buf + 32, st.turn_end);
	put64(buf + 40, st.quantum);
	put64(buf + 48, vm_clock_ns(vcpu->vm));
	return VM_SCHED_STATE_SIZE;
}

static int
sched_decode(const uint8_t *buf, size_t len, struct vm_sched_state *st)
{
	if (len != VM_SCHED_STATE_SIZE || get32(buf) != RUN_STATE_VERSION)
		return EINVAL;
	st->owner = (int32_t)get32(buf + 4);
	st->last = (int32_t)get32(buf + 8);
	st->asleep = get64(buf + 16);
	st->last_icount = get64(buf + 24);
	st->turn_end = get64(buf + 32);
	st->quantum = get64(buf + 40);
	return st->owner < -1 ? EINVAL : 0;
}

int
vm_sched_set_blob(struct vcpu *vcpu, const uint8_t *buf, size_t len)
{
	struct vm *vm = vcpu->vm;
	struct vm_sched_state st;
	int error;

	if ((error = sched_decode(buf, len, &st)) != 0)
		return error;
	/* A VM whose vCPUs run at once has no turns to set. */
	if (vm->sched == NULL)
		return 0;
	if ((error = vm_sched_set_state(vm, &st)) != 0)
		return error;
	/* The clock as it was (it only goes forward). */
	if (vm->virtual_time)
		vm_clock_set_at_least(vm, get64(buf + 48));
	return 0;
}

bool
vm_sched_blob_matches(struct vcpu *vcpu, const uint8_t *buf, size_t len,
		      char *why, size_t whylen)
{
	struct vm_sched_state want, have;

	if (sched_decode(buf, len, &want) != 0) {
		snprintf(why, whylen,
			 "a %zu-byte scheduler state of an unknown layout",
			 len);
		return false;
	}
	/*
	 * The last one, taken once the vCPUs have left, is nobody's turn
	 * (a replay compares it before they leave): only those taken while
	 * the VM ran compare.
	 */
	if (vcpu->vm->sched == NULL || want.owner < 0 ||
	    atomic_load(&vcpu->vm->suspend) != VM_SUSPEND_NONE)
		return true;
	vm_sched_get_state(vcpu->vm, &have);
	if (want.owner != have.owner) {
		snprintf(why, whylen, "vCPU %d's turn, the replay's vCPU %d's",
			 want.owner, have.owner);
		return false;
	}
	return true;
}
