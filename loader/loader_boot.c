/*
 * loader_boot(): kernel file (and initrd) -> VM.  Reads the files, loads
 * the kernel (ELF, Linux bzImage or multiboot) into the VM's memory
 * through vm_map_gpa(), builds the boot structures and sets up vCPU 0 to
 * enter the kernel.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

static int __attribute__((format(printf, 4, 5)))
boot_fail(char *errbuf, size_t errlen, const char *path, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (errbuf != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
		snprintf(errbuf, errlen, "%s: %s", path, reason);
	}
	return -1;
}

static void *
boot_map(void *arg, uint64_t gpa, size_t len)
{
	return vm_map_gpa(arg, gpa, len);
}

/* The whole file into a malloc'd buffer, at most 'limit' bytes. */
static int
boot_read(const char *path, size_t limit, unsigned char **bufp, size_t *lenp,
	  char *errbuf, size_t errlen)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t len, done = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return boot_fail(errbuf, errlen, path, "%s", strerror(errno));
	if (fstat(fd, &st) != 0) {
		boot_fail(errbuf, errlen, path, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return boot_fail(errbuf, errlen, path, "is a directory");
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return boot_fail(errbuf, errlen, path, "not a regular file");
	}
	if (st.st_size == 0) {
		close(fd);
		return boot_fail(errbuf, errlen, path, "empty file");
	}
	if ((unsigned long long)st.st_size > limit) {
		close(fd);
		return boot_fail(
		    errbuf, errlen, path,
		    "file is %lld bytes, larger than guest memory (%zu bytes)",
		    (long long)st.st_size, limit);
	}
	len = (size_t)st.st_size;
	buf = malloc(len);
	if (buf == NULL) {
		close(fd);
		return boot_fail(errbuf, errlen, path,
				 "out of memory reading %zu bytes", len);
	}
	while (done < len) {
		n = read(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			boot_fail(errbuf, errlen, path, "%s", strerror(errno));
			goto fail;
		}
		if (n == 0) {
			boot_fail(
			    errbuf, errlen, path,
			    "file shrank while being read (%zu of %zu bytes)",
			    done, len);
			goto fail;
		}
		done += (size_t)n;
	}
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

int
loader_boot_opts(struct vm *vm, const struct loader_boot_opts *opts,
		 char *errbuf, size_t errlen)
{
	struct loader_mem mem = { .map = boot_map, .arg = vm };
	struct loader_kernel_args args;
	struct loader_image img;
	struct loader_regs regs;
	struct vcpu *vcpu;
	unsigned char *buf = NULL, *initrd = NULL;
	const char *path;
	char reason[512];
	size_t len = 0, initrd_len = 0, memsize;
	int error;

	if (opts == NULL)
		return boot_fail(errbuf, errlen, "(null)", "no kernel");
	path = opts->kernel != NULL ? opts->kernel : "(null)";
	if (vm == NULL)
		return boot_fail(errbuf, errlen, path, "no VM");
	memsize = vm_lowmem_size(vm) + vm_highmem_size(vm);
	if (memsize == 0)
		return boot_fail(errbuf, errlen, path, "the VM has no memory");
	vcpu = vm_vcpu(vm, 0);
	if (vcpu == NULL)
		return boot_fail(errbuf, errlen, path, "the VM has no vCPU 0");

	if (boot_read(path, memsize, &buf, &len, errbuf, errlen) != 0)
		return -1;
	if (opts->initrd != NULL &&
	    boot_read(opts->initrd, memsize, &initrd, &initrd_len, errbuf,
		      errlen) != 0) {
		free(buf);
		return -1;
	}
	memset(&args, 0, sizeof(args));
	args.lowmem = vm_lowmem_size(vm);
	args.highmem = vm_highmem_size(vm);
	args.cmdline = opts->cmdline;
	args.initrd = initrd;
	args.initrd_len = initrd_len;
	args.initrd_name = opts->initrd;
	args.guest_decompress = opts->guest_decompress;
	args.acpi_rsdp = opts->acpi_rsdp;
	error = loader_kernel_load(buf, len, &mem, &args, &img, NULL, reason,
				   sizeof(reason));
	free(buf);
	free(initrd);
	if (error != 0)
		return boot_fail(errbuf, errlen, path, "%s", reason);
	if (loader_x86_setup(&mem, &img, &regs, reason, sizeof(reason)) != 0)
		return boot_fail(errbuf, errlen, path, "%s", reason);
	error = loader_set_regs(vcpu, &regs);
	if (error != 0)
		return boot_fail(errbuf, errlen, path,
				 "cannot set the registers of vCPU 0: %s",
				 strerror(error));
	return 0;
}

int
loader_boot(struct vm *vm, const char *path, char *errbuf, size_t errlen)
{
	struct loader_boot_opts opts = { .kernel = path };

	return loader_boot_opts(vm, &opts, errbuf, errlen);
}
