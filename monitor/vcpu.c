/*
 * The run loop: one host thread per vCPU calls vm_run() and dispatches
 * each exit through a table of handlers, as bhyve's vmexit_handlers[].
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"
#include "x86.h"

typedef enum vmexit_ret (*vmexit_handler_t)(struct vcpu *vcpu,
					    struct vm_exit *vmexit);

/* The status rhyve exits with; the first one decided wins. */
static _Atomic int exit_status = -1;
static _Atomic int stop_signal; /* vcpu_stop_signal() */
static pthread_mutex_t halt_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t halt_cv = PTHREAD_COND_INITIALIZER;
static bool strict_io;

static int
suspend_status(enum vm_suspend_how how)
{
	switch (how) {
	case VM_SUSPEND_RESET:
		return RHYVE_EXIT_RESET;
	case VM_SUSPEND_POWEROFF:
		return RHYVE_EXIT_POWEROFF;
	case VM_SUSPEND_HALT:
		return RHYVE_EXIT_HALT;
	case VM_SUSPEND_TRIPLEFAULT:
		return RHYVE_EXIT_TRIPLEFAULT;
	default:
		return RHYVE_EXIT_ERROR;
	}
}

/* Stop every vCPU; 'status' is what rhyve will exit with. */
static void
stop_vm(struct vm *vm, enum vm_suspend_how how, int status)
{
	int none = -1;

	atomic_compare_exchange_strong(&exit_status, &none, status);
	vm_suspend(vm, how);
	pthread_mutex_lock(&halt_mtx);
	pthread_cond_broadcast(&halt_cv); /* wake halted vCPUs */
	pthread_mutex_unlock(&halt_mtx);
}

void
rhyve_request_exit(struct vm *vm, int status)
{
	stop_vm(vm,
		status == RHYVE_EXIT_ERROR ? VM_SUSPEND_HALT
					   : VM_SUSPEND_POWEROFF,
		status);
}

/* The instruction behind an exit as text, for error messages. */
const char *
vmexit_insn_text(const struct vm_exit *vmexit)
{
	static __thread char buf[96];

	if (!vmexit->has_insn)
		return "instruction not decoded";
	x86_format(&vmexit->insn, vmexit->rip, buf, sizeof(buf));
	return buf;
}

static enum vmexit_ret
vmexit_inout(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	if (emulate_inout(vcpu, vmexit, strict_io) != 0)
		return VMEXIT_ABORT;
	return VMEXIT_CONTINUE;
}

static enum vmexit_ret
vmexit_mmio(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm_mmio *mmio = &vmexit->u.mmio;
	int error = emulate_mem(vcpu, mmio);

	if (error == 0)
		return VMEXIT_CONTINUE;
	rhyve_warnx("vcpu %d: %s MMIO %s of %u bytes at gpa 0x%lx "
		    "(rip 0x%lx: %s)",
		    vcpu_id(vcpu),
		    error == ESRCH   ? "unhandled"
		    : error == EPERM ? "refused"
				     : "failed",
		    mmio->write ? "write" : "read", mmio->bytes,
		    (unsigned long)mmio->gpa, (unsigned long)vmexit->rip,
		    vmexit_insn_text(vmexit));
	return VMEXIT_ABORT;
}

static enum vmexit_ret
vmexit_hlt(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	struct vm *vm = vcpu_vm(vcpu);

	/*
	 * kmod sleeps a HLT inside vm_run() (with interrupts off until an
	 * NMI or INIT, and halts the VM once every vCPU sleeps so), so this
	 * is not reached today; should an engine hand one over, interrupts
	 * off halts the VM, and otherwise only the end of the VM wakes it.
	 */
	if (!(vmexit->u.hlt.rflags & PSL_I)) {
		stop_vm(vm, VM_SUSPEND_HALT, RHYVE_EXIT_HALT);
		return VMEXIT_CONTINUE;
	}
	pthread_mutex_lock(&halt_mtx);
	while (vm_suspended(vm) == VM_SUSPEND_NONE)
		pthread_cond_wait(&halt_cv, &halt_mtx);
	pthread_mutex_unlock(&halt_mtx);
	return VMEXIT_CONTINUE;
}

static enum vmexit_ret
vmexit_suspended(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	enum vm_suspend_how how = vmexit->u.suspended.how;

	if (how == VM_SUSPEND_TRIPLEFAULT)
		rhyve_warnx("vcpu %d: triple fault (rip 0x%lx)", vcpu_id(vcpu),
			    (unsigned long)vmexit->rip);
	stop_vm(vcpu_vm(vcpu), how, suspend_status(how));
	return VMEXIT_CONTINUE;
}

static enum vmexit_ret
vmexit_bogus(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	return VMEXIT_CONTINUE;
}

static enum vmexit_ret
vmexit_debug(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	if (gdb_vcpu_debug_exit(vcpu, vmexit))
		return VMEXIT_CONTINUE;
	rhyve_warnx("vcpu %d: debug exit at rip 0x%lx with no debugger",
		    vcpu_id(vcpu), (unsigned long)vmexit->rip);
	return VMEXIT_ABORT;
}

static enum vmexit_ret
vmexit_engine_error(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	rhyve_warnx("vcpu %d: %s engine: %s (rip 0x%lx)", vcpu_id(vcpu),
		    vm_engine_name(vcpu_vm(vcpu)), vmexit->u.error.msg,
		    (unsigned long)vmexit->rip);
	return VMEXIT_ABORT;
}

/*
 * An MSR neither KVM nor kmod implements: #GP, as a CPU without it
 * would (bhyve's default without x86.strictmsr=false).
 */
static enum vmexit_ret
vmexit_msr(struct vcpu *vcpu, struct vm_exit *vmexit)
{
	int error = vm_inject_exception(vcpu, X86_VEC_GP, true, 0);

	if (error != 0) {
		rhyve_warnx(
		    "vcpu %d: cannot fault %s of MSR 0x%x: %s", vcpu_id(vcpu),
		    vmexit->exitcode == VM_EXITCODE_RDMSR ? "RDMSR" : "WRMSR",
		    vmexit->u.msr.msr, strerror(error));
		return VMEXIT_ABORT;
	}
	return VMEXIT_CONTINUE;
}

static const vmexit_handler_t vmexit_handlers[VM_EXITCODE_MAX] = {
	[VM_EXITCODE_INOUT] = vmexit_inout,
	[VM_EXITCODE_MMIO] = vmexit_mmio,
	[VM_EXITCODE_HLT] = vmexit_hlt,
	[VM_EXITCODE_SUSPENDED] = vmexit_suspended,
	[VM_EXITCODE_BOGUS] = vmexit_bogus,
	[VM_EXITCODE_DEBUG] = vmexit_debug,
	[VM_EXITCODE_ENGINE_ERROR] = vmexit_engine_error,
	[VM_EXITCODE_RDMSR] = vmexit_msr,
	[VM_EXITCODE_WRMSR] = vmexit_msr,
};

static void *
vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu_vm(vcpu);
	struct vm_exit vmexit;
	int error;

	memset(&vmexit, 0, sizeof(vmexit));
	while (vm_suspended(vm) == VM_SUSPEND_NONE) {
		gdb_vcpu_before_run(vcpu);
		error = vm_run(vcpu, &vmexit);
		if (error != 0) {
			rhyve_warnx("vcpu %d: vm_run: %s", vcpu_id(vcpu),
				    strerror(error));
			stop_vm(vm, VM_SUSPEND_HALT, RHYVE_EXIT_ERROR);
			break;
		}
		if ((unsigned)vmexit.exitcode >= VM_EXITCODE_MAX ||
		    vmexit_handlers[vmexit.exitcode] == NULL) {
			rhyve_warnx("vcpu %d: unexpected %s exit (rip 0x%lx)",
				    vcpu_id(vcpu),
				    vm_exitcode_name(vmexit.exitcode),
				    (unsigned long)vmexit.rip);
			stop_vm(vm, VM_SUSPEND_HALT, RHYVE_EXIT_ERROR);
		} else if (vmexit_handlers[vmexit.exitcode](vcpu, &vmexit) !=
			   VMEXIT_CONTINUE) {
			stop_vm(vm, VM_SUSPEND_HALT, RHYVE_EXIT_ERROR);
		}
	}
	gdb_vcpu_done(vcpu);
	return NULL;
}

void
rhyve_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * The first SIGTERM presses the ACPI power button, as bhyve's does, when
 * the guest listens for it (PM1_EN.PWRBTN_EN): the guest shuts itself
 * down.  SIGINT, SIGHUP, a second SIGTERM, or a SIGTERM the guest does
 * not listen for power the VM off at once.  SIGUSR1 puts a user marker
 * into the recording ("SIGUSR1 1", ...); the button press is one too
 * (what reaches the guest, the SCI and the PM1_STS it reads, is recorded
 * as any interrupt and port read).  A replay's button presses are the
 * trace's: there a signal stops the replay.
 */
static void *
signal_thread(void *arg)
{
	struct vm *vm = arg;
	sigset_t set;
	int sig, markers = 0;
	bool pressed = false;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	while (sigwait(&set, &sig) == 0) {
		char text[32];

		if (sig == SIGTERM && !pressed && !vm_replaying(vm) &&
		    vm_suspended(vm) == VM_SUSPEND_NONE && pm_power_button()) {
			pressed = true;
			vm_record_marker(vm, "SIGTERM power button");
			continue;
		}
		if (sig != SIGUSR1)
			break;
		snprintf(text, sizeof(text), "SIGUSR1 %d", ++markers);
		vm_record_marker(vm, text);
	}
	if (vm_suspended(vm) == VM_SUSPEND_NONE) {
		atomic_store(&stop_signal, sig);
		stop_vm(vm, VM_SUSPEND_POWEROFF, RHYVE_EXIT_POWEROFF);
	}
	return NULL;
}

int
vcpu_stop_signal(void)
{
	return atomic_load(&stop_signal);
}

int
vcpu_run_all(struct vm *vm)
{
	pthread_t threads[VM_MAXCPU], sigthr;
	int status, ncpu;

	strict_io = get_config_bool_default("x86.strictio", false);
	/* main() blocked the signals before it started any thread. */
	pthread_create(&sigthr, NULL, signal_thread, vm);
	/*
	 * A thread for every vCPU: kmod parks the application processors
	 * in vm_run() until the local APIC delivers INIT-SIPI-SIPI.
	 */
	ncpu = 0;
	for (int i = 0; i < VM_MAXCPU; i++) {
		struct vcpu *vcpu = vm_vcpu(vm, i);
		pthread_attr_t attr;
		int error;

		if (vcpu == NULL)
			continue;
		/* -p: pinned from the start, as bhyve pins. */
		if (vcpu_thread_attr(i, &attr) != 0) {
			stop_vm(vm, VM_SUSPEND_HALT, RHYVE_EXIT_ERROR);
			break;
		}
		error =
		    pthread_create(&threads[ncpu], &attr, vcpu_thread, vcpu);
		pthread_attr_destroy(&attr);
		if (error != 0) {
			rhyve_warnx("cannot start the thread of vcpu %d: %s", i,
				    strerror(error));
			stop_vm(vm, VM_SUSPEND_HALT, RHYVE_EXIT_ERROR);
			break;
		}
		ncpu++;
	}
	for (int i = 0; i < ncpu; i++)
		pthread_join(threads[i], NULL);
	/* Wake the signal thread so it can be joined. */
	pthread_kill(sigthr, SIGHUP);
	pthread_join(sigthr, NULL);

	status = atomic_load(&exit_status);
	return status >= 0 ? status : suspend_status(vm_suspended(vm));
}
