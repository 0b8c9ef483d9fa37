/*
 * The kvm engine: vCPUs run on Linux /dev/kvm.
 *
 * No in-kernel irqchip is created: the local APIC, I/O APIC, PIC and PIT
 * are rhyve's own, so every interrupt the guest sees is decided (and can be
 * recorded) by rhyve.  Registers travel in the kvm_run page (sync regs), so
 * reading them at an exit costs no ioctl.
 *
 * Without an in-kernel local APIC, KVM would answer the APIC's MSRs
 * itself (IA32_APIC_BASE) or fault them (x2APIC, TSC deadline): an MSR
 * filter sends them to user space instead (KVM_CAP_X86_USER_SPACE_MSR),
 * where kmod's vlapic answers them.  Hosts without it get no x2APIC and
 * no TSC-deadline timer in CPUID; the xAPIC page works everywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "../vmm_impl.h"

#define KVM_PATH "/dev/kvm"
/* Where KVM may put its real-mode helper pages (VMX): below the BIOS. */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_TSS_ADDR          0xfffbd000ULL
#define KVM_SYNC_WANTED                                                        \
	(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct kvm_cpuid2 *cpuid;
	bool msr_exits; /* the APIC's MSRs exit to user space */
	/* The memory slots as set, for turning dirty logging on and off. */
	struct kvm_userspace_memory_region slots[VM_MAX_MEMMAP];
};

#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSCDL  (1u << 24)

struct kvm_vcpu {
	struct kvm_vm *kvm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread; /* valid while 'running' */
	_Atomic bool running;
	bool mmio_read_pending; /* complete an MMIO read on the next run */
	bool msr_pending;       /* complete an MSR access on the next run */
	bool msr_fault;         /* ... with #GP */
};

static int kvm_kick_signal;

static void
kvm_kick_handler(int sig)
{
	(void)sig; /* only here to make KVM_RUN return EINTR */
}

static void
kvm_install_kick_signal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kvm_kick_handler;
	sigemptyset(&sa.sa_mask);
	kvm_kick_signal = SIGRTMIN;
	sigaction(kvm_kick_signal, &sa, NULL);
}

static int
kvm_open(char *errbuf, size_t errlen)
{
	int fd, version;

	fd = open(KVM_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int error = errno;

		if (error == ENOENT || error == ENXIO || error == ENODEV)
			snprintf(
			    errbuf, errlen,
			    "%s is missing: load the kvm module and enable "
			    "hardware virtualization (or use another engine)",
			    KVM_PATH);
		else if (error == EACCES || error == EPERM)
			snprintf(
			    errbuf, errlen,
			    "%s: permission denied: run as root or join the "
			    "group that owns it (usually 'kvm')",
			    KVM_PATH);
		else
			snprintf(errbuf, errlen, "%s: %s", KVM_PATH,
				 strerror(error));
		return -error;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(errbuf, errlen, "%s: KVM API version %d, need %d",
			 KVM_PATH, version, KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}

/* The capabilities rhyve cannot run without, probed on /dev/kvm itself. */
static int
kvm_check_caps(int fd, char *errbuf, size_t errlen)
{
	int sync = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);

	if (sync < 0 || (sync & KVM_SYNC_WANTED) != KVM_SYNC_WANTED) {
		snprintf(errbuf, errlen, "%s lacks KVM_CAP_SYNC_REGS",
			 KVM_PATH);
		return ENOTSUP;
	}
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		snprintf(errbuf, errlen, "%s lacks KVM_CAP_IMMEDIATE_EXIT",
			 KVM_PATH);
		return ENOTSUP;
	}
	return 0;
}

/*
 * What KVM can give a guest (KVM_GET_SUPPORTED_CPUID), fetched once per
 * VM, with x2APIC and the TSC-deadline timer where the APIC's MSRs
 * reach kmod; kmod's vmm_cpuid.c decides the guest's table from it.
 */
static struct kvm_cpuid2 *
kvm_get_cpuid(int fd)
{
	struct kvm_cpuid2 *cpuid;
	int n = 64;

	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) +
				      n * sizeof(struct kvm_cpuid_entry2));
		if (cpuid == NULL)
			return NULL;
		cpuid->nent = n;
		if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			return cpuid;
		free(cpuid);
		if (errno != E2BIG || n >= 4096)
			return NULL;
		n *= 2;
	}
}

static int
kvm_cpuid_supported(void *cookie, struct vm_cpuid_entry *out, int max)
{
	const struct kvm_cpuid2 *cpuid = ((struct kvm_vm *)cookie)->cpuid;

	if (cpuid->nent > (uint32_t)max)
		return -E2BIG;
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		out[i] =
		    (struct vm_cpuid_entry){ e->function, e->index, e->eax,
					     e->ebx,      e->ecx,   e->edx };
		/* kmod's local APIC has them if its MSRs reach it. */
		if (e->function == 1)
			out[i].ecx = ((struct kvm_vm *)cookie)->msr_exits
					 ? out[i].ecx | CPUID1_ECX_X2APIC |
					       CPUID1_ECX_TSCDL
					 : out[i].ecx & ~(CPUID1_ECX_X2APIC |
							  CPUID1_ECX_TSCDL);
	}
	return (int)cpuid->nent;
}

static int
kvm_set_cpuid(void *vcookie, const struct vm_cpuid_entry *table, int n)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_cpuid2 *cpuid;
	int error = 0;

	cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
	if (cpuid == NULL)
		return ENOMEM;
	cpuid->nent = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		e->function = table[i].leaf;
		e->index = table[i].subleaf;
		e->flags = vm_cpuid_indexed(table[i].leaf)
			       ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX
			       : 0;
		e->eax = table[i].eax;
		e->ebx = table[i].ebx;
		e->ecx = table[i].ecx;
		e->edx = table[i].edx;
	}
	if (ioctl(vc->fd, KVM_SET_CPUID2, cpuid) < 0)
		error = errno;
	free(cpuid);
	return error;
}

/*
 * IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range exit to user
 * space (a clear bit in a filter range denies KVM the access), as do
 * MSRs KVM does not know or refuses, which the monitor faults as a CPU
 * would.  false: the host cannot do it (older than Linux 5.10).
 */
static bool
kvm_enable_msr_exits(struct kvm_vm *kvm)
{
	static uint8_t deny[256 / 8]; /* all zero: every MSR in range exits */
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_FILTER |
			   KVM_MSR_EXIT_REASON_UNKNOWN |
			   KVM_MSR_EXIT_REASON_INVAL,
	};
	struct kvm_msr_filter filter = { .flags =
					     KVM_MSR_FILTER_DEFAULT_ALLOW };
	const uint32_t flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;

	filter.ranges[0] =
	    (struct kvm_msr_filter_range){ flags, 1, 0x1b, deny };
	filter.ranges[1] =
	    (struct kvm_msr_filter_range){ flags, 1, 0x6e0, deny };
	filter.ranges[2] =
	    (struct kvm_msr_filter_range){ flags, 256, 0x800, deny };
	if (ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_X86_USER_SPACE_MSR) <= 0 ||
	    ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <=
		0 ||
	    ioctl(kvm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return false;
	if (ioctl(kvm->vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0) {
		/* Unknown MSRs still exit; the monitor faults them. */
		return false;
	}
	return true;
}

static int
kvm_vm_init(struct vm *vm, void **cookiep, char *errbuf, size_t errlen)
{
	struct kvm_vm *kvm;
	int fd, error;

	fd = kvm_open(errbuf, errlen);
	if (fd < 0)
		return -fd;
	error = kvm_check_caps(fd, errbuf, errlen);
	if (error != 0) {
		close(fd);
		return error;
	}
	kvm = calloc(1, sizeof(*kvm));
	if (kvm == NULL) {
		close(fd);
		return ENOMEM;
	}
	kvm->kvm_fd = fd;
	kvm->vm_fd = ioctl(fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		error = errno;
		snprintf(errbuf, errlen, "KVM_CREATE_VM: %s", strerror(error));
		goto fail;
	}
	kvm->run_size = (size_t)ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	kvm->cpuid = kvm_get_cpuid(fd);
	if (kvm->cpuid == NULL) {
		error = errno ? errno : ENOMEM;
		snprintf(errbuf, errlen, "KVM_GET_SUPPORTED_CPUID: %s",
			 strerror(error));
		goto fail;
	}
	/* Harmless where not needed (AMD, unrestricted guest). */
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR);
	kvm->msr_exits = kvm_enable_msr_exits(kvm);
	kvm_install_kick_signal();
	*cookiep = kvm;
	return 0;
fail:
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	close(kvm->kvm_fd);
	free(kvm->cpuid);
	free(kvm);
	return error;
}

static void
kvm_vm_cleanup(void *cookie)
{
	struct kvm_vm *kvm = cookie;

	close(kvm->vm_fd);
	close(kvm->kvm_fd);
	free(kvm->cpuid);
	free(kvm);
}

static int
kvm_mem_map(void *cookie, int slot, uint64_t gpa, size_t len, void *host,
	    bool readonly)
{
	struct kvm_vm *kvm = cookie;
	struct kvm_userspace_memory_region region = {
		.slot = (uint32_t)slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = len,
		.userspace_addr = (uintptr_t)host,
	};

	if (slot < 0 || slot >= VM_MAX_MEMMAP)
		return EINVAL;
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return errno;
	kvm->slots[slot] = region;
	return 0;
}

static int
kvm_dirty_logging(void *cookie, int slot, bool on)
{
	struct kvm_vm *kvm = cookie;
	struct kvm_userspace_memory_region region;

	if (slot < 0 || slot >= VM_MAX_MEMMAP)
		return EINVAL;
	region = kvm->slots[slot];
	region.flags = on ? region.flags | KVM_MEM_LOG_DIRTY_PAGES
			  : region.flags & ~KVM_MEM_LOG_DIRTY_PAGES;
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return errno;
	kvm->slots[slot] = region;
	return 0;
}

static int
kvm_get_dirty(void *cookie, int slot, uint64_t *bitmap)
{
	struct kvm_vm *kvm = cookie;
	struct kvm_dirty_log log = { .slot = (uint32_t)slot,
				     .dirty_bitmap = bitmap };

	return ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) == 0 ? 0 : errno;
}

static int
kvm_mem_unmap(void *cookie, int slot)
{
	struct kvm_vm *kvm = cookie;
	struct kvm_userspace_memory_region region = { .slot = (uint32_t)slot };

	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return errno;
	return 0;
}

static int
kvm_vcpu_init(void *cookie, struct vcpu *vcpu, int id, void **vcookiep)
{
	struct kvm_vm *kvm = cookie;
	struct kvm_vcpu *vc;
	int error;

	vc = calloc(1, sizeof(*vc));
	if (vc == NULL)
		return ENOMEM;
	vc->kvm = kvm;
	vc->id = id;
	vc->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vc->fd < 0) {
		error = errno;
		free(vc);
		return error;
	}
	vc->run = mmap(NULL, kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vc->fd, 0);
	if (vc->run == MAP_FAILED) {
		error = errno;
		goto fail;
	}
	/* Until the first KVM_RUN fills the sync area, fill it ourselves. */
	if (ioctl(vc->fd, KVM_GET_REGS, &vc->run->s.regs.regs) < 0 ||
	    ioctl(vc->fd, KVM_GET_SREGS, &vc->run->s.regs.sregs) < 0 ||
	    ioctl(vc->fd, KVM_GET_VCPU_EVENTS, &vc->run->s.regs.events) < 0) {
		error = errno;
		goto fail;
	}
	vc->run->kvm_valid_regs = KVM_SYNC_WANTED;
	*vcookiep = vc;
	return 0;
fail:
	if (vc->run != MAP_FAILED && vc->run != NULL)
		munmap(vc->run, kvm->run_size);
	close(vc->fd);
	free(vc);
	return error;
}

static void
kvm_vcpu_cleanup(void *vcookie)
{
	struct kvm_vcpu *vc = vcookie;

	munmap(vc->run, vc->kvm->run_size);
	close(vc->fd);
	free(vc);
}

static void
kvm_exit_error(struct vm_exit *vmexit, uint32_t reason, uint32_t suberror,
	       const char *msg)
{
	vmexit->exitcode = VM_EXITCODE_ENGINE_ERROR;
	vmexit->u.error.reason = reason;
	vmexit->u.error.suberror = suberror;
	snprintf(vmexit->u.error.msg, sizeof(vmexit->u.error.msg), "%s", msg);
}

/* Translate the kvm_run exit into a struct vm_exit. */
static void
kvm_translate_exit(struct kvm_vcpu *vc, struct vm_exit *vmexit)
{
	struct kvm_run *run = vc->run;
	char msg[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vmexit->exitcode = VM_EXITCODE_INOUT;
		vmexit->u.inout.port = run->io.port;
		vmexit->u.inout.bytes = run->io.size;
		vmexit->u.inout.in = run->io.direction == KVM_EXIT_IO_IN;
		vmexit->u.inout.count = run->io.count;
		/*
		 * KVM reports elements, not the instruction: several
		 * elements mean INS/OUTS with REP; one may still be a string
		 * instruction, which only the decoder can tell.
		 */
		vmexit->u.inout.string = run->io.count > 1;
		vmexit->u.inout.rep = run->io.count > 1;
		vmexit->u.inout.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		vmexit->exitcode = VM_EXITCODE_MMIO;
		vmexit->u.mmio.gpa = run->mmio.phys_addr;
		vmexit->u.mmio.bytes = (uint8_t)run->mmio.len;
		vmexit->u.mmio.write = run->mmio.is_write;
		vmexit->u.mmio.data = 0;
		if (run->mmio.len > 8) {
			kvm_exit_error(vmexit, KVM_EXIT_MMIO, run->mmio.len,
				       "MMIO access wider than 8 bytes");
			break;
		}
		if (run->mmio.is_write)
			memcpy(&vmexit->u.mmio.data, run->mmio.data,
			       run->mmio.len);
		else
			vc->mmio_read_pending = true;
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		vmexit->exitcode = run->exit_reason == KVM_EXIT_X86_RDMSR
				       ? VM_EXITCODE_RDMSR
				       : VM_EXITCODE_WRMSR;
		vmexit->u.msr.msr = run->msr.index;
		vmexit->u.msr.value =
		    run->exit_reason == KVM_EXIT_X86_WRMSR ? run->msr.data : 0;
		vc->msr_pending = true;
		vc->msr_fault = false;
		break;
	case KVM_EXIT_HLT:
		vmexit->exitcode = VM_EXITCODE_HLT;
		vmexit->u.hlt.rflags = run->s.regs.regs.rflags;
		break;
	case KVM_EXIT_SHUTDOWN:
		/* KVM's name for a triple fault. */
		vmexit->exitcode = VM_EXITCODE_SUSPENDED;
		vmexit->u.suspended.how = VM_SUSPEND_TRIPLEFAULT;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		vmexit->exitcode = VM_EXITCODE_SUSPENDED;
		vmexit->u.suspended.how =
		    run->system_event.type == KVM_SYSTEM_EVENT_RESET
			? VM_SUSPEND_RESET
			: VM_SUSPEND_POWEROFF;
		break;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN: /* kmod injects on the next entry */
		vmexit->exitcode = VM_EXITCODE_BOGUS;
		break;
	case KVM_EXIT_DEBUG:
		vmexit->exitcode = VM_EXITCODE_DEBUG;
		vmexit->u.debug.dr6 = run->debug.arch.dr6;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(msg, sizeof(msg),
			 "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)
			     run->fail_entry.hardware_entry_failure_reason);
		kvm_exit_error(vmexit, KVM_EXIT_FAIL_ENTRY, 0, msg);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(msg, sizeof(msg), "KVM internal error, suberror %u%s",
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
			     ? " (instruction emulation failed)"
			     : "");
		kvm_exit_error(vmexit, KVM_EXIT_INTERNAL_ERROR,
			       run->internal.suberror, msg);
		break;
	default:
		snprintf(msg, sizeof(msg), "unexpected KVM exit reason %u",
			 run->exit_reason);
		kvm_exit_error(vmexit, run->exit_reason, 0, msg);
		break;
	}
}

/*
 * What the last exit's instruction gets, for KVM to complete it at the
 * next KVM_RUN: an MMIO load's value, an RDMSR's value or a #GP.
 */
static void
kvm_give_results(struct kvm_vcpu *vc, const struct vm_exit *vmexit)
{
	struct kvm_run *run = vc->run;

	if (vc->mmio_read_pending) {
		memcpy(run->mmio.data, &vmexit->u.mmio.data, run->mmio.len);
		vc->mmio_read_pending = false;
	}
	if (vc->msr_pending) {
		/* KVM completes the RDMSR/WRMSR, or raises #GP(0). */
		run->msr.data = vmexit->u.msr.value;
		run->msr.error = vc->msr_fault;
		vc->msr_pending = false;
	}
}

static int
kvm_run(void *vcookie, struct vm_exit *vmexit)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_run *run = vc->run;
	int rc;

	kvm_give_results(vc, vmexit);
	vc->thread = pthread_self();
	atomic_store(&vc->running, true);
	rc = ioctl(vc->fd, KVM_RUN, 0);
	atomic_store(&vc->running, false);
	run->kvm_dirty_regs = 0;
	/*
	 * The interrupt window is asked for per entry: kmod's injection
	 * point asks again before the next one if it still has something
	 * to deliver.  Left set with nothing pending, KVM would exit at once
	 * on every entry with interrupts enabled.
	 */
	run->request_interrupt_window = 0;

	memset(vmexit, 0, sizeof(*vmexit));
	vmexit->rip = run->s.regs.regs.rip;
	if (rc < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			run->immediate_exit = 0;
			vmexit->exitcode = VM_EXITCODE_BOGUS;
			return 0;
		}
		kvm_exit_error(vmexit, 0, (uint32_t)errno, strerror(errno));
		return 0;
	}
	kvm_translate_exit(vc, vmexit);
	return 0;
}

static void
kvm_kick(void *vcookie)
{
	struct kvm_vcpu *vc = vcookie;

	/*
	 * immediate_exit covers a vCPU about to enter; the signal one that
	 * is inside KVM_RUN.
	 */
	vc->run->immediate_exit = 1;
	if (atomic_load(&vc->running))
		pthread_kill(vc->thread, kvm_kick_signal);
}

static __u64 *
kvm_gpr(struct kvm_regs *r, int reg)
{
	switch (reg) {
	case VM_REG_GUEST_RAX:
		return &r->rax;
	case VM_REG_GUEST_RBX:
		return &r->rbx;
	case VM_REG_GUEST_RCX:
		return &r->rcx;
	case VM_REG_GUEST_RDX:
		return &r->rdx;
	case VM_REG_GUEST_RSI:
		return &r->rsi;
	case VM_REG_GUEST_RDI:
		return &r->rdi;
	case VM_REG_GUEST_RBP:
		return &r->rbp;
	case VM_REG_GUEST_R8:
		return &r->r8;
	case VM_REG_GUEST_R9:
		return &r->r9;
	case VM_REG_GUEST_R10:
		return &r->r10;
	case VM_REG_GUEST_R11:
		return &r->r11;
	case VM_REG_GUEST_R12:
		return &r->r12;
	case VM_REG_GUEST_R13:
		return &r->r13;
	case VM_REG_GUEST_R14:
		return &r->r14;
	case VM_REG_GUEST_R15:
		return &r->r15;
	case VM_REG_GUEST_RSP:
		return &r->rsp;
	case VM_REG_GUEST_RIP:
		return &r->rip;
	case VM_REG_GUEST_RFLAGS:
		return &r->rflags;
	default:
		return NULL;
	}
}

static struct kvm_segment *kvm_segreg(struct kvm_sregs *s, int reg);

static __u64 *
kvm_creg(struct kvm_sregs *s, int reg)
{
	switch (reg) {
	case VM_REG_GUEST_CR0:
		return &s->cr0;
	case VM_REG_GUEST_CR2:
		return &s->cr2;
	case VM_REG_GUEST_CR3:
		return &s->cr3;
	case VM_REG_GUEST_CR4:
		return &s->cr4;
	case VM_REG_GUEST_CR8:
		return &s->cr8;
	case VM_REG_GUEST_EFER:
		return &s->efer;
	default:
		return NULL;
	}
}

static int
kvm_debugreg(struct kvm_vcpu *vc, int reg, uint64_t *val, bool set)
{
	struct kvm_debugregs dr;
	__u64 *p;

	if (ioctl(vc->fd, KVM_GET_DEBUGREGS, &dr) < 0)
		return errno;
	switch (reg) {
	case VM_REG_GUEST_DR0:
	case VM_REG_GUEST_DR1:
	case VM_REG_GUEST_DR2:
	case VM_REG_GUEST_DR3:
		p = &dr.db[reg - VM_REG_GUEST_DR0];
		break;
	case VM_REG_GUEST_DR6:
		p = &dr.dr6;
		break;
	case VM_REG_GUEST_DR7:
		p = &dr.dr7;
		break;
	default:
		return EINVAL;
	}
	if (!set) {
		*val = *p;
		return 0;
	}
	*p = *val;
	if (ioctl(vc->fd, KVM_SET_DEBUGREGS, &dr) < 0)
		return errno;
	return 0;
}

static int
kvm_getreg(void *vcookie, int reg, uint64_t *val)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_sync_regs *s = &vc->run->s.regs;
	struct kvm_segment *seg;
	__u64 *p;

	/* Without an in-kernel APIC, KVM keeps CR8 in kvm_run->cr8. */
	if (reg == VM_REG_GUEST_CR8) {
		*val = vc->run->cr8;
		return 0;
	}
	if ((p = kvm_gpr(&s->regs, reg)) != NULL ||
	    (p = kvm_creg(&s->sregs, reg)) != NULL) {
		*val = *p;
		return 0;
	}
	if (reg == VM_REG_GUEST_INTR_SHADOW) {
		*val = s->events.interrupt.shadow != 0;
		return 0;
	}
	if ((seg = kvm_segreg(&s->sregs, reg)) != NULL) {
		*val = seg->selector;
		return 0;
	}
	return kvm_debugreg(vc, reg, val, false);
}

static int
kvm_setreg(void *vcookie, int reg, uint64_t val)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_sync_regs *s = &vc->run->s.regs;
	struct kvm_segment *seg;
	__u64 *p;

	if ((p = kvm_gpr(&s->regs, reg)) != NULL) {
		*p = val;
		vc->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		return 0;
	}
	/* KVM_RUN sets CR8 from kvm_run->cr8 after the sync area. */
	if (reg == VM_REG_GUEST_CR8) {
		vc->run->cr8 = val;
		s->sregs.cr8 = val;
		return 0;
	}
	if ((p = kvm_creg(&s->sregs, reg)) != NULL) {
		*p = val;
		vc->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		return 0;
	}
	if (reg == VM_REG_GUEST_INTR_SHADOW) {
		s->events.interrupt.shadow =
		    val ? KVM_X86_SHADOW_INT_MOV_SS : 0;
		s->events.flags = 0;
		vc->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
		return 0;
	}
	if ((seg = kvm_segreg(&s->sregs, reg)) != NULL) {
		seg->selector = (uint16_t)val;
		vc->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		return 0;
	}
	return kvm_debugreg(vc, reg, &val, true);
}

static struct kvm_segment *
kvm_segreg(struct kvm_sregs *s, int reg)
{
	switch (reg) {
	case VM_REG_GUEST_ES:
		return &s->es;
	case VM_REG_GUEST_CS:
		return &s->cs;
	case VM_REG_GUEST_SS:
		return &s->ss;
	case VM_REG_GUEST_DS:
		return &s->ds;
	case VM_REG_GUEST_FS:
		return &s->fs;
	case VM_REG_GUEST_GS:
		return &s->gs;
	case VM_REG_GUEST_LDTR:
		return &s->ldt;
	case VM_REG_GUEST_TR:
		return &s->tr;
	default:
		return NULL;
	}
}

static int
kvm_getdesc(void *vcookie, int reg, struct seg_desc *desc)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_sregs *s = &vc->run->s.regs.sregs;
	struct kvm_segment *seg = kvm_segreg(s, reg);
	struct kvm_dtable *dt;

	if (seg != NULL) {
		desc->base = seg->base;
		desc->limit = seg->limit;
		desc->access =
		    SEG_ACC_TYPE(seg->type) | (seg->s ? SEG_ACC_S : 0) |
		    SEG_ACC_DPL(seg->dpl) | (seg->present ? SEG_ACC_P : 0) |
		    (uint32_t)seg->avl << 12 | (seg->l ? SEG_ACC_L : 0) |
		    (seg->db ? SEG_ACC_DB : 0) | (seg->g ? SEG_ACC_G : 0) |
		    (seg->unusable ? SEG_ACC_UNUSABLE : 0);
		return 0;
	}
	dt = reg == VM_REG_GUEST_GDTR ? &s->gdt : &s->idt;
	desc->base = dt->base;
	desc->limit = dt->limit;
	desc->access = 0;
	return 0;
}

static int
kvm_setdesc(void *vcookie, int reg, const struct seg_desc *desc)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_sregs *s = &vc->run->s.regs.sregs;
	struct kvm_segment *seg = kvm_segreg(s, reg);
	struct kvm_dtable *dt;
	uint32_t a = desc->access;

	if (seg != NULL) {
		seg->base = desc->base;
		seg->limit = desc->limit;
		seg->type = a & 0xf;
		seg->s = (a >> 4) & 1;
		seg->dpl = (a >> 5) & 3;
		seg->present = (a >> 7) & 1;
		seg->avl = (a >> 12) & 1;
		seg->l = (a >> 13) & 1;
		seg->db = (a >> 14) & 1;
		seg->g = (a >> 15) & 1;
		seg->unusable = (a >> 16) & 1;
	} else {
		dt = reg == VM_REG_GUEST_GDTR ? &s->gdt : &s->idt;
		dt->base = desc->base;
		dt->limit = (uint16_t)desc->limit;
	}
	vc->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	return 0;
}

static int
kvm_msr_io(struct kvm_vcpu *vc, uint32_t msr, uint64_t *val, bool set)
{
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) +
			      sizeof(struct kvm_msr_entry)];
	} req;
	struct kvm_msr_entry *entry = &req.hdr.entries[0];

	memset(&req, 0, sizeof(req));
	req.hdr.nmsrs = 1;
	entry->index = msr;
	entry->data = set ? *val : 0;
	/* The ioctl returns how many MSRs it did: 0 means not supported. */
	if (ioctl(vc->fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &req) != 1)
		return EINVAL;
	if (!set)
		*val = entry->data;
	return 0;
}

static int
kvm_getmsr(void *vcookie, uint32_t msr, uint64_t *val)
{
	return kvm_msr_io(vcookie, msr, val, false);
}

static int
kvm_setmsr(void *vcookie, uint32_t msr, uint64_t val)
{
	return kvm_msr_io(vcookie, msr, &val, true);
}

/*
 * Without an in-kernel irqchip, KVM takes an interrupt only when the
 * vCPU can accept it at once; otherwise ask for an exit when it can.
 */
static int
kvm_inject_intr(void *vcookie, int vector)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_run *run = vc->run;
	struct kvm_interrupt irq = { .irq = (uint32_t)vector };

	if (run->ready_for_interrupt_injection &&
	    (run->s.regs.regs.rflags & (1u << 9)) &&
	    ioctl(vc->fd, KVM_INTERRUPT, &irq) == 0) {
		run->request_interrupt_window = 0;
		return 0;
	}
	run->request_interrupt_window = 1;
	return EBUSY;
}

static int
kvm_inject_exception(void *vcookie, int vector, bool has_ec, uint32_t ec)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_vcpu_events events;

	/* The MSR access behind the exit faults instead of completing. */
	if (vc->msr_pending && vector == 13 && ec == 0) {
		vc->msr_fault = true;
		return 0;
	}
	/*
	 * Not through the sync area: its events, applied at KVM_RUN, would
	 * undo an interrupt queued since the exit with KVM_INTERRUPT.
	 */
	if (ioctl(vc->fd, KVM_GET_VCPU_EVENTS, &events) < 0)
		return errno;
	events.flags = 0;
	events.exception.injected = 1;
	events.exception.nr = (uint8_t)vector;
	events.exception.has_error_code = has_ec;
	events.exception.error_code = ec;
	if (ioctl(vc->fd, KVM_SET_VCPU_EVENTS, &events) < 0)
		return errno;
	return 0;
}

static int
kvm_tsc_hz(void *vcookie, uint64_t *hz)
{
	struct kvm_vcpu *vc = vcookie;
	int khz = ioctl(vc->fd, KVM_GET_TSC_KHZ, 0);

	if (khz <= 0)
		return khz < 0 ? errno : ENOTSUP;
	*hz = (uint64_t)khz * 1000;
	return 0;
}

static int
kvm_inject_nmi(void *vcookie)
{
	struct kvm_vcpu *vc = vcookie;

	/* KVM keeps the NMI pending until the guest can take it. */
	return ioctl(vc->fd, KVM_NMI) == 0 ? 0 : errno;
}

/*
 * Finish the instruction of the last exit now (an IN's register, an MMIO
 * load's destination, the rip past it): KVM completes it at the start of
 * KVM_RUN, before it looks at immediate_exit, so this enters nothing.
 * Registers read afterwards are a state the vCPU can be restored to.
 */
static int
kvm_complete_io(void *vcookie, struct vm_exit *vmexit)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_run *run = vc->run;
	int rc, error = 0;

	kvm_give_results(vc, vmexit);
	run->immediate_exit = 1;
	rc = ioctl(vc->fd, KVM_RUN, 0);
	if (rc == 0 || (errno != EINTR && errno != EAGAIN))
		error = rc == 0 ? EIO : errno;
	run->immediate_exit = 0;
	run->kvm_dirty_regs = 0;
	return error;
}

/* KVM's own queue (KVM_INTERRUPT, KVM_NMI, KVM_SET_VCPU_EVENTS), as the
 * last exit left it in the sync area. */
static bool
kvm_event_queued(void *vcookie)
{
	struct kvm_vcpu *vc = vcookie;
	const struct kvm_vcpu_events *ev = &vc->run->s.regs.events;

	return ev->interrupt.injected || ev->nmi.injected ||
	       ev->exception.injected || ev->exception.pending;
}

static int
kvm_set_debug(void *vcookie, const struct vm_guest_debug *dbg)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_guest_debug kd = { 0 };

	if (dbg->enable) {
		kd.control = KVM_GUESTDBG_ENABLE;
		if (dbg->singlestep)
			kd.control |= KVM_GUESTDBG_SINGLESTEP;
		if (dbg->dr7 & 0xff) {
			kd.control |= KVM_GUESTDBG_USE_HW_BP;
			for (int i = 0; i < 4; i++)
				kd.arch.debugreg[i] = dbg->dr[i];
			kd.arch.debugreg[7] = dbg->dr7;
		}
	}
	return ioctl(vc->fd, KVM_SET_GUEST_DEBUG, &kd) == 0 ? 0 : errno;
}

/* KVM_GET_FPU / KVM_SET_FPU: the FXSAVE image, field by field. */
static int
kvm_getfpu(void *vcookie, struct vm_fpu *fpu)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_fpu kf;

	if (ioctl(vc->fd, KVM_GET_FPU, &kf) < 0)
		return errno;
	memcpy(fpu->st, kf.fpr, sizeof(fpu->st));
	fpu->fcw = kf.fcw;
	fpu->fsw = kf.fsw;
	fpu->ftw = kf.ftwx;
	fpu->fop = kf.last_opcode;
	fpu->fip = kf.last_ip;
	fpu->fdp = kf.last_dp;
	memcpy(fpu->xmm, kf.xmm, sizeof(fpu->xmm));
	fpu->mxcsr = kf.mxcsr;
	return 0;
}

static int
kvm_setfpu(void *vcookie, const struct vm_fpu *fpu)
{
	struct kvm_vcpu *vc = vcookie;
	struct kvm_fpu kf = { 0 };

	memcpy(kf.fpr, fpu->st, sizeof(fpu->st));
	kf.fcw = fpu->fcw;
	kf.fsw = fpu->fsw;
	kf.ftwx = fpu->ftw;
	kf.last_opcode = fpu->fop;
	kf.last_ip = fpu->fip;
	kf.last_dp = fpu->fdp;
	memcpy(kf.xmm, fpu->xmm, sizeof(kf.xmm));
	kf.mxcsr = fpu->mxcsr;
	return ioctl(vc->fd, KVM_SET_FPU, &kf) == 0 ? 0 : errno;
}

const struct vmm_engine vmm_engine_kvm = {
	.name = "kvm",
	.vm_init = kvm_vm_init,
	.vm_cleanup = kvm_vm_cleanup,
	.mem_map = kvm_mem_map,
	.mem_unmap = kvm_mem_unmap,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_cleanup = kvm_vcpu_cleanup,
	.run = kvm_run,
	.kick = kvm_kick,
	.getreg = kvm_getreg,
	.setreg = kvm_setreg,
	.getdesc = kvm_getdesc,
	.setdesc = kvm_setdesc,
	.getmsr = kvm_getmsr,
	.setmsr = kvm_setmsr,
	.inject_intr = kvm_inject_intr,
	.inject_nmi = kvm_inject_nmi,
	.inject_exception = kvm_inject_exception,
	.tsc_hz = kvm_tsc_hz,
	.set_debug = kvm_set_debug,
	.complete_io = kvm_complete_io,
	.event_queued = kvm_event_queued,
	.dirty_logging = kvm_dirty_logging,
	.get_dirty = kvm_get_dirty,
	.cpuid_supported = kvm_cpuid_supported,
	.set_cpuid = kvm_set_cpuid,
	.getfpu = kvm_getfpu,
	.setfpu = kvm_setfpu,
};
