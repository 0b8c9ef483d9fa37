/*
 * rawkvm: the smallest KVM monitor that can run the port-I/O benchmark
 * guest, as the baseline rhyve is compared against.
 *
 * One VM, 64 MiB of RAM at guest-physical 0, one vCPU; the kernel is
 * loaded with rhyve's own loader (loader_elf_load + loader_x86_setup) and
 * the entry state applied with KVM_SET_SREGS/KVM_SET_REGS.  Then a tight
 * KVM_RUN loop: an OUT to port 0xe0 is handled by storing the value, an
 * OUT to port 0xf4 stops, anything else is an error.
 *
 * Only the run loop is timed (first KVM_RUN to the 0xf4 exit).  On success
 * the last line on stdout is machine readable:
 *
 *   rawkvm: exits=N outs=M loop_ns=T ns_per_exit=X
 *
 * Exit status: 0 success, 1 error, 77 /dev/kvm not usable.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "loader.h"

#define MEM_SIZE      (64ULL << 20)
#define TSS_ADDR      0xfffbd000ULL
#define IDENT_MAP     0xfffbc000ULL
#define PORT_SCRATCH  0xe0 /* pc-testdev scratch port */
#define PORT_EXIT     0xf4 /* isa-debug-exit */
#define EXIT_SKIP     77
#define CPUID_ENTRIES 256

struct guest_mem {
	uint8_t *base;
	size_t size;
};

/* The value the guest last wrote to the scratch port: "handled". */
static volatile uint32_t scratch;

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rawkvm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
map_gpa(void *arg, uint64_t gpa, size_t len)
{
	struct guest_mem *mem = arg;

	if (gpa > mem->size || len > mem->size - gpa)
		return NULL;
	return mem->base + gpa;
}

static void *
read_file(const char *path, size_t *lenp)
{
	struct stat st;
	uint8_t *buf;
	size_t done;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0)
		die("%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die("%s: not a regular file", path);
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (buf == NULL)
		die("%s: out of memory", path);
	for (done = 0; done < (size_t)st.st_size; done += (size_t)n) {
		n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0)
			die("%s: %s", path, strerror(errno));
		if (n == 0)
			die("%s: file shrank while reading", path);
	}
	close(fd);
	*lenp = done;
	return buf;
}

static void
to_kvm_seg(const struct seg_desc *s, uint16_t sel, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = sel;
	k->type = s->access & 0xf;
	k->s = (s->access >> 4) & 1;
	k->dpl = (s->access >> 5) & 3;
	k->present = (s->access >> 7) & 1;
	k->avl = (s->access >> 12) & 1;
	k->l = (s->access >> 13) & 1;
	k->db = (s->access >> 14) & 1;
	k->g = (s->access >> 15) & 1;
	k->unusable = (s->access >> 16) & 1;
}

static void
set_entry_state(int vcpufd, const struct loader_regs *r)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpufd, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS: %s", strerror(errno));
	to_kvm_seg(&r->cs, r->sel.cs, &sregs.cs);
	to_kvm_seg(&r->ds, r->sel.ds, &sregs.ds);
	to_kvm_seg(&r->es, r->sel.es, &sregs.es);
	to_kvm_seg(&r->fs, r->sel.fs, &sregs.fs);
	to_kvm_seg(&r->gs, r->sel.gs, &sregs.gs);
	to_kvm_seg(&r->ss, r->sel.ss, &sregs.ss);
	to_kvm_seg(&r->tr, r->sel.tr, &sregs.tr);
	to_kvm_seg(&r->ldtr, r->sel.ldtr, &sregs.ldt);
	sregs.gdt.base = r->gdtr.base;
	sregs.gdt.limit = (uint16_t)r->gdtr.limit;
	sregs.idt.base = r->idtr.base;
	sregs.idt.limit = (uint16_t)r->idtr.limit;
	sregs.cr0 = r->cr0;
	sregs.cr3 = r->cr3;
	sregs.cr4 = r->cr4;
	sregs.efer = r->efer;
	if (ioctl(vcpufd, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS: %s", strerror(errno));

	memset(&regs, 0, sizeof(regs));
	regs.rip = r->rip;
	regs.rsp = r->rsp;
	regs.rflags = r->rflags | 0x2; /* bit 1 is always set */
	if (ioctl(vcpufd, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS: %s", strerror(errno));
}

static void
set_cpuid(int kvmfd, int vcpufd)
{
	struct kvm_cpuid2 *cpuid;
	int nent;

	for (nent = CPUID_ENTRIES;; nent *= 2) {
		cpuid = calloc(1, sizeof(*cpuid) +
				      nent * sizeof(struct kvm_cpuid_entry2));
		if (cpuid == NULL)
			die("out of memory");
		cpuid->nent = nent;
		if (ioctl(kvmfd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG || nent >= 4096)
			die("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(cpuid);
	}
	if (ioctl(vcpufd, KVM_SET_CPUID2, cpuid) < 0)
		die("KVM_SET_CPUID2: %s", strerror(errno));
	free(cpuid);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	struct kvm_userspace_memory_region region;
	struct loader_image img;
	struct loader_regs regs;
	struct loader_mem lmem;
	struct guest_mem mem;
	struct kvm_run *run;
	uint64_t ident = IDENT_MAP, exits, outs, t0, t1;
	char err[256];
	size_t imglen;
	void *image;
	int kvmfd, vmfd, vcpufd, mmap_size, api;

	if (argc != 2) {
		fprintf(stderr, "usage: rawkvm KERNEL.elf\n");
		return 1;
	}

	kvmfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvmfd < 0) {
		printf("SKIP: /dev/kvm not usable: %s\n", strerror(errno));
		return EXIT_SKIP;
	}
	api = ioctl(kvmfd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		printf("SKIP: /dev/kvm not usable: API version %d\n", api);
		return EXIT_SKIP;
	}
	vmfd = ioctl(kvmfd, KVM_CREATE_VM, 0);
	if (vmfd < 0) {
		printf("SKIP: /dev/kvm not usable: KVM_CREATE_VM: %s\n",
		       strerror(errno));
		return EXIT_SKIP;
	}
	if (ioctl(vmfd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
		die("KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vmfd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		die("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));

	mem.size = MEM_SIZE;
	mem.base = mmap(NULL, mem.size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem.base == MAP_FAILED)
		die("mmap guest memory: %s", strerror(errno));
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = mem.size;
	region.userspace_addr = (uintptr_t)mem.base;
	if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

	vcpufd = ioctl(vmfd, KVM_CREATE_VCPU, 0);
	if (vcpufd < 0)
		die("KVM_CREATE_VCPU: %s", strerror(errno));
	mmap_size = ioctl(kvmfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(*run))
		die("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpufd, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run: %s", strerror(errno));
	set_cpuid(kvmfd, vcpufd);

	image = read_file(argv[1], &imglen);
	lmem.map = map_gpa;
	lmem.arg = &mem;
	if (loader_elf_load(image, imglen, &lmem, &img, err, sizeof(err)) != 0)
		die("%s: %s", argv[1], err);
	free(image);
	if (loader_x86_setup(&lmem, &img, &regs, err, sizeof(err)) != 0)
		die("%s: %s", argv[1], err);
	set_entry_state(vcpufd, &regs);

	exits = outs = 0;
	t0 = now_ns();
	for (;;) {
		if (ioctl(vcpufd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("KVM_RUN: %s", strerror(errno));
		}
		exits++;
		if (run->exit_reason != KVM_EXIT_IO) {
			if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
				die("exit %" PRIu64 ": entry failed, reason "
				    "0x%llx",
				    exits,
				    (unsigned long long)run->fail_entry
					.hardware_entry_failure_reason);
			if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
				die("exit %" PRIu64 ": internal error, "
				    "suberror %u",
				    exits, run->internal.suberror);
			die("exit %" PRIu64 ": unexpected exit reason %u",
			    exits, run->exit_reason);
		}
		if (run->io.direction != KVM_EXIT_IO_OUT || run->io.count != 1)
			die("exit %" PRIu64 ": unexpected %s port 0x%x size %u "
			    "count %u",
			    exits, run->io.direction ? "OUT" : "IN",
			    run->io.port, run->io.size, run->io.count);
		if (run->io.port == PORT_SCRATCH) {
			uint32_t v = 0;

			memcpy(&v, (uint8_t *)run + run->io.data_offset,
			       run->io.size <= 4 ? run->io.size : 4);
			scratch = v;
			outs++;
			continue;
		}
		if (run->io.port == PORT_EXIT)
			break;
		die("exit %" PRIu64 ": OUT to unexpected port 0x%x", exits,
		    run->io.port);
	}
	t1 = now_ns();

	printf("rawkvm: exits=%" PRIu64 " outs=%" PRIu64 " loop_ns=%" PRIu64
	       " ns_per_exit=%.1f\n",
	       exits, outs, t1 - t0, (double)(t1 - t0) / (double)exits);
	return 0;
}
