/*
 * SMP bring-up in kmod on the kvm engine: application processors start
 * parked, INIT and SIPI (vm_vcpu_init_signal(), vm_vcpu_sipi()) start them
 * in real mode at the SIPI's page, suspension and kicks wake a parked
 * vCPU, and the recorder sees INIT and SIPI as injections.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cunit.h"
#include "trace.h"
#include "vmm.h"
#include "vmm_impl.h" /* vm_vcpu_init_signal(), vm_vcpu_sipi() */
#include "x86.h"

#define AP_CODE_GPA 0x8000 /* SIPI vector 0x08 */

/*
 * The AP's code at 0x8000: report CS and the magic, then halt with
 * interrupts off (it sleeps until an NMI or INIT).
 */
static const uint8_t ap_code[] = {
	0xb0, 0x5a,       /* mov al, 0x5a */
	0xe6, 0xe5,       /* out 0xe5, al */
	0x8c, 0xc8,       /* mov ax, cs */
	0xe7, 0xe6,       /* out 0xe6, ax */
	0x0f, 0x20, 0xc0, /* mov eax, cr0 (66 prefix not needed: low 16) */
	0xe7, 0xe7,       /* out 0xe7, ax */
	0xf4,             /* hlt */
};

/* The NMI handler at 0900:0000 (IVT entry 2): report, halt again. */
#define NMI_CODE_GPA 0x9000
static const uint8_t nmi_code[] = {
	0xb0, 0x77, /* mov al, 0x77 */
	0xe6, 0xe8, /* out 0xe8, al */
	0xf4,       /* hlt */
};

/* The BSP's: one OUT at the reset vector's page, reached without SIPI. */
static const uint8_t bsp_code[] = {
	0xb0, 0x11, /* mov al, 0x11 */
	0xe6, 0xe0, /* out 0xe0, al */
	0xf4,       /* hlt */
};

/* vm_run() on a thread, so that the test can watch it wait. */
struct runner {
	struct vcpu *vcpu;
	struct vm_exit ex;
	pthread_t thread;
	int error;
	_Atomic bool done;
};

static void *
runner_main(void *arg)
{
	struct runner *r = arg;

	r->error = vm_run(r->vcpu, &r->ex);
	atomic_store(&r->done, true);
	return NULL;
}

static void
runner_start(struct runner *r)
{
	atomic_store(&r->done, false);
	pthread_create(&r->thread, NULL, runner_main, r);
}

/* Wait up to 'ms' for the runner to return; true if it did. */
static bool
runner_wait(struct runner *r, int ms)
{
	for (int i = 0; i < ms && !atomic_load(&r->done); i++)
		usleep(1000);
	if (!atomic_load(&r->done))
		return false;
	pthread_join(r->thread, NULL);
	return true;
}

static struct vm *
smp_vm(const char *name, struct vcpu **bsp, struct vcpu **ap)
{
	char err[256];
	struct vm *vm;

	if (vm_create(name, "kvm", &vm, err, sizeof(err)) != 0) {
		printf("vm_create: %s\n", err);
		return NULL;
	}
	if (vm_setup_memory(vm, 1 << 20) != 0 ||
	    vm_vcpu_create(vm, 0, bsp) != 0 || vm_vcpu_create(vm, 1, ap) != 0) {
		vm_destroy(vm);
		return NULL;
	}
	memcpy(vm_map_gpa(vm, AP_CODE_GPA, sizeof(ap_code)), ap_code,
	       sizeof(ap_code));
	memcpy(vm_map_gpa(vm, 0x1000, sizeof(bsp_code)), bsp_code,
	       sizeof(bsp_code));
	memcpy(vm_map_gpa(vm, NMI_CODE_GPA, sizeof(nmi_code)), nmi_code,
	       sizeof(nmi_code));
	memcpy(vm_map_gpa(vm, 2 * 4, 4),
	       &(uint32_t){ (NMI_CODE_GPA >> 4) << 16 }, 4);
	return vm;
}

/* The OUT exit's port and value, or port -1. */
static int
out_port(const struct vm_exit *ex, uint32_t *val)
{
	if (ex->exitcode != VM_EXITCODE_INOUT || ex->u.inout.in)
		return -1;
	*val = 0;
	memcpy(val, ex->u.inout.data, ex->u.inout.bytes);
	return ex->u.inout.port;
}

static void
test_bsp_runs(void)
{
	struct seg_desc cs = { .base = 0,
			       .limit = 0xffff,
			       .access = SEG_ACC_TYPE(SDT_MEMERA) | SEG_ACC_S |
					 SEG_ACC_P };
	struct vcpu *bsp, *ap;
	struct vm_exit ex;
	struct vm *vm;
	uint32_t v;

	if (!unit_have_kvm())
		return;
	vm = smp_vm("smp-bsp", &bsp, &ap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
	CU_ASSERT_EQUAL(vm_set_seg_desc(bsp, VM_REG_GUEST_CS, &cs), 0);
	CU_ASSERT_EQUAL(vm_set_register(bsp, VM_REG_GUEST_RIP, 0x1000), 0);
	memset(&ex, 0, sizeof(ex));
	CU_ASSERT_EQUAL_FATAL(vm_run(bsp, &ex), 0);
	CU_ASSERT_EQUAL(out_port(&ex, &v), 0xe0);
	CU_ASSERT_EQUAL(v, 0x11);
	/*
	 * It halts with interrupts off while the AP waits for a SIPI:
	 * nothing can wake either, so the VM halts.
	 */
	CU_ASSERT_EQUAL_FATAL(vm_run(bsp, &ex), 0);
	CU_ASSERT_EQUAL(ex.exitcode, VM_EXITCODE_SUSPENDED);
	CU_ASSERT_EQUAL(ex.u.suspended.how, VM_SUSPEND_HALT);
	CU_ASSERT_EQUAL(vm_suspended(vm), VM_SUSPEND_HALT);
	vm_destroy(vm);
}

static void
test_init_sipi(void)
{
	struct runner r = { 0 };
	struct vcpu *bsp, *ap;
	struct seg_desc d;
	struct vm *vm;
	uint64_t v64;
	uint32_t v;

	if (!unit_have_kvm())
		return;
	vm = smp_vm("smp-sipi", &bsp, &ap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
	r.vcpu = ap;

	/* Parked: vm_run() does not return until asked to. */
	runner_start(&r);
	CU_ASSERT_FALSE(runner_wait(&r, 200));
	vm_vcpu_kick(ap);
	CU_ASSERT_FATAL(runner_wait(&r, 5000));
	CU_ASSERT_EQUAL(r.error, 0);
	CU_ASSERT_EQUAL(r.ex.exitcode, VM_EXITCODE_BOGUS);

	/* Still parked after the kick; INIT-SIPI starts it at 0x0800:0000. */
	runner_start(&r);
	CU_ASSERT_FALSE(runner_wait(&r, 100));
	vm_vcpu_init_signal(ap);
	CU_ASSERT_FALSE(runner_wait(&r, 100));
	vm_vcpu_sipi(ap, AP_CODE_GPA >> 12);
	CU_ASSERT_FATAL(runner_wait(&r, 10000));
	CU_ASSERT_EQUAL(r.error, 0);
	CU_ASSERT_EQUAL(out_port(&r.ex, &v), 0xe5);
	CU_ASSERT_EQUAL(v, 0x5a);

	/* The second SIPI of INIT-SIPI-SIPI finds it running: ignored. */
	vm_vcpu_sipi(ap, 0x09);
	CU_ASSERT_EQUAL_FATAL(vm_run(ap, &r.ex), 0);
	CU_ASSERT_EQUAL(out_port(&r.ex, &v), 0xe6);
	CU_ASSERT_EQUAL(v, 0x0800); /* CS = vector << 8 */
	CU_ASSERT_EQUAL(vm_get_seg_desc(ap, VM_REG_GUEST_CS, &d), 0);
	CU_ASSERT_EQUAL(d.base, 0x8000);
	CU_ASSERT_EQUAL_FATAL(vm_run(ap, &r.ex), 0);
	CU_ASSERT_EQUAL(out_port(&r.ex, &v), 0xe7);
	CU_ASSERT_EQUAL(v, 0x0010); /* CR0.ET; PE off: real mode */

	/*
	 * HLT with interrupts off: it sleeps in vm_run() (the BSP is awake,
	 * so the VM goes on); a kick gets it out (BOGUS) and it sleeps on;
	 * an interrupt does not wake it, an NMI does: its handler reports.
	 */
	runner_start(&r);
	CU_ASSERT_FALSE(runner_wait(&r, 200));
	vm_vcpu_kick(ap);
	CU_ASSERT_FATAL(runner_wait(&r, 5000));
	CU_ASSERT_EQUAL(r.ex.exitcode, VM_EXITCODE_BOGUS);
	runner_start(&r);
	CU_ASSERT_FALSE(runner_wait(&r, 100));
	vm_inject_extint(ap);
	CU_ASSERT_FALSE(runner_wait(&r, 100));
	CU_ASSERT_EQUAL(vm_suspended(vm), VM_SUSPEND_NONE);
	vm_inject_nmi(ap);
	CU_ASSERT_FATAL(runner_wait(&r, 5000));
	CU_ASSERT_EQUAL(r.error, 0);
	CU_ASSERT_EQUAL(out_port(&r.ex, &v), 0xe8);
	CU_ASSERT_EQUAL(v, 0x77);

	/*
	 * INIT on a halted vCPU wakes it into the INIT state, where it
	 * waits for a SIPI; suspension gets it out.
	 */
	runner_start(&r);
	CU_ASSERT_FALSE(runner_wait(&r, 100));
	vm_vcpu_init_signal(ap);
	CU_ASSERT_FALSE(runner_wait(&r, 200));
	CU_ASSERT_EQUAL(vm_suspend(vm, VM_SUSPEND_POWEROFF), 0);
	CU_ASSERT_FATAL(runner_wait(&r, 5000));
	CU_ASSERT_EQUAL(r.error, 0);
	CU_ASSERT_EQUAL(r.ex.exitcode, VM_EXITCODE_SUSPENDED);
	CU_ASSERT_EQUAL(r.ex.u.suspended.how, VM_SUSPEND_POWEROFF);
	CU_ASSERT_EQUAL(vm_get_register(ap, VM_REG_GUEST_RIP, &v64), 0);
	CU_ASSERT_EQUAL(v64, 0xfff0);
	CU_ASSERT_EQUAL(vm_get_register(ap, VM_REG_GUEST_CR0, &v64), 0);
	CU_ASSERT_EQUAL(v64, 0x60000010);
	CU_ASSERT_EQUAL(vm_get_register(ap, VM_REG_GUEST_CS, &v64), 0);
	CU_ASSERT_EQUAL(v64, 0xf000);
	CU_ASSERT_EQUAL(vm_get_seg_desc(ap, VM_REG_GUEST_CS, &d), 0);
	CU_ASSERT_EQUAL(d.base, 0xffff0000);
	CU_ASSERT_EQUAL(vm_get_register(ap, VM_REG_GUEST_RFLAGS, &v64), 0);
	CU_ASSERT_EQUAL(v64, 0x2);
	vm_destroy(vm);
}

static void
test_parked_until_suspend(void)
{
	struct runner r = { 0 };
	struct vcpu *bsp, *ap;
	struct timespec t0, t1;
	struct vm *vm;
	double ms;

	if (!unit_have_kvm())
		return;
	vm = smp_vm("smp-park", &bsp, &ap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
	r.vcpu = ap;
	/* An INIT alone does not start it either. */
	vm_vcpu_init_signal(ap);
	runner_start(&r);
	CU_ASSERT_FALSE(runner_wait(&r, 300));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(vm_suspend(vm, VM_SUSPEND_RESET), 0);
	CU_ASSERT_FATAL(runner_wait(&r, 5000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	CU_ASSERT_TRUE(ms < 1000); /* woken, not polled on a long period */
	CU_ASSERT_EQUAL(r.ex.exitcode, VM_EXITCODE_SUSPENDED);
	CU_ASSERT_EQUAL(r.ex.u.suspended.how, VM_SUSPEND_RESET);
	/* A SIPI after the end does not start it. */
	vm_vcpu_sipi(ap, 0x08);
	CU_ASSERT_EQUAL(vm_run(ap, &r.ex), 0);
	CU_ASSERT_EQUAL(r.ex.exitcode, VM_EXITCODE_SUSPENDED);
	vm_destroy(vm);
}

/* The recorder sees INIT and SIPI as injections on the AP. */
static void
test_record(void)
{
	const char *path = unit_tmp_path("smp.rtr");
	struct trace_writer_opts o = { 0 };
	struct trace_writer *w;
	struct trace_reader *r;
	struct trace_event ev;
	struct vcpu *bsp, *ap;
	struct vm_exit ex;
	struct vm *vm;
	char err[256];
	int init = 0, sipi = 0, exits = 0;
	uint32_t v;

	if (!unit_have_kvm())
		return;
	vm = smp_vm("smp-rec", &bsp, &ap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
	w = trace_writer_open(path, NULL, 0, &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(vm_record_start(vm, w), 0);
	vm_vcpu_init_signal(ap);
	vm_vcpu_sipi(ap, AP_CODE_GPA >> 12);
	memset(&ex, 0, sizeof(ex));
	CU_ASSERT_EQUAL_FATAL(vm_run(ap, &ex), 0);
	CU_ASSERT_EQUAL(out_port(&ex, &v), 0xe5);
	vm_record_stop(vm);
	CU_ASSERT_EQUAL(trace_writer_close(w, err, sizeof(err)), 0);
	vm_destroy(vm);

	r = trace_open(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	while (trace_next(r, &ev) == 1) {
		/* (Kicks may add BOGUS exits before it.) */
		if (ev.kind == TRACE_EV_EXIT &&
		    ev.u.exit.exitcode == VM_EXITCODE_INOUT)
			exits++;
		if (ev.kind != TRACE_EV_INJECT)
			continue;
		CU_ASSERT_EQUAL(ev.vcpu, 1);
		if (ev.u.inject.type == TRACE_INJECT_INIT) {
			CU_ASSERT_EQUAL(sipi, 0); /* INIT first */
			init++;
		} else if (ev.u.inject.type == TRACE_INJECT_SIPI) {
			CU_ASSERT_EQUAL(ev.u.inject.vector, 0x08);
			sipi++;
		}
	}
	trace_close(r);
	CU_ASSERT_EQUAL(init, 1);
	CU_ASSERT_EQUAL(sipi, 1);
	CU_ASSERT_EQUAL(exits, 1);
}

static CU_TestInfo smp_tests[] = {
	{ "the BSP runs at once", test_bsp_runs },
	{ "INIT-SIPI starts an AP in real mode", test_init_sipi },
	{ "a parked AP waits until the VM stops", test_parked_until_suspend },
	{ "INIT and SIPI are recorded", test_record },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "kmod SMP bring-up", smp_tests },
	{ NULL, NULL },
};
