/*
 * rhyve(8): parse the config, build the VM and its devices, load the
 * kernel, run the vCPUs, and exit with the status the guest chose.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loader.h"
#include "rhyve.h"

static int
check_config(void)
{
	if (get_config_value("name") == NULL) {
		rhyve_warnx("no VM name given");
		rhyve_usage(stderr);
		return -1;
	}
	if (pci_check_config() != 0 || fwcfg_check_config() != 0)
		return -1;
	if (get_config_value("loader.kernel") == NULL && !rhyve_replaying()) {
		rhyve_warnx("no kernel: give --kernel PATH "
			    "(config loader.kernel)");
		return -1;
	}
	return 0;
}

/*
 * The RTC, as bhyve's rtc_init(): its date is rtc.time (seconds since
 * 1970, which the RTC shows as UTC: a fixed date for reproducible runs)
 * or else the host's clock, in local time unless rtc.use_localtime is
 * false (bhyve's default and -u).  And the memory sizes firmware reads
 * from CMOS: 64 KiB units above 16 MiB (0x34-0x35) and above 4 GiB
 * (0x5b-0x5d).
 */
static int
setup_rtc(struct vm *vm)
{
	const char *s = get_config_value("rtc.time");
	uint64_t lomem = vm_lowmem_size(vm), himem = vm_highmem_size(vm);
	long long secs;
	char *end;
	int error;

	if (s != NULL) {
		errno = 0;
		secs = strtoll(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0') {
			rhyve_warnx("rtc.time=%s: not a number of seconds "
				    "since 1970-01-01 00:00:00 UTC",
				    s);
			return -1;
		}
	} else {
		time_t now = time(NULL);
		struct tm tm;

		secs = now;
		if (get_config_bool_default("rtc.use_localtime", true) &&
		    localtime_r(&now, &tm) != NULL)
			secs += tm.tm_gmtoff;
	}
	error = vm_rtc_set_time(vm, secs);
	if (error != 0) {
		rhyve_warnx("cannot set the RTC to %lld: %s", secs,
			    error == EINVAL ? "not within the years 0000-9999"
					    : strerror(error));
		return -1;
	}
	lomem = lomem > (16 << 20) ? (lomem - (16 << 20)) >> 16 : 0;
	himem >>= 16;
	if (lomem > 0xffff)
		lomem = 0xffff;
	if (himem > 0xffffff)
		himem = 0xffffff;
	vm_rtc_nvram_write(vm, 0x34, (uint8_t)lomem);
	vm_rtc_nvram_write(vm, 0x35, (uint8_t)(lomem >> 8));
	vm_rtc_nvram_write(vm, 0x5b, (uint8_t)himem);
	vm_rtc_nvram_write(vm, 0x5c, (uint8_t)(himem >> 8));
	vm_rtc_nvram_write(vm, 0x5d, (uint8_t)(himem >> 16));
	return 0;
}

/* vm.quantum: instructions in a vCPU's turn (interp). */
static int
quantum_config(struct vm *vm)
{
	const char *s = get_config_value("vm.quantum");
	unsigned long long n;
	char *end;

	if (s == NULL)
		return 0;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n == 0 ||
	    n > 1000000000ULL) {
		rhyve_warnx("vm.quantum=%s: not a number of instructions "
			    "from 1 to 1000000000",
			    s);
		return -1;
	}
	if (vm_set_quantum(vm, n) != 0) {
		rhyve_warnx("vm.quantum: only an engine with virtual time "
			    "(interp) runs the vCPUs in turns");
		return -1;
	}
	return 0;
}

static int
build_vm(struct vm **vmp)
{
	const char *memstr = get_config_value_default("memory.size", "256M");
	struct vm_topology_cfg topo;
	char errbuf[256];
	size_t memsize;
	int ncpus, error;
	struct vm *vm;

	if (parse_memsize(memstr, &memsize) != 0 || (memsize & 0xfff) != 0) {
		rhyve_warnx("memory.size=%s: not a page-aligned size", memstr);
		return -1;
	}
	if (topology_config(&topo) != 0 || pincpu_check_config(topo.cpus) != 0)
		return -1;
	ncpus = topo.cpus;
	error = vm_create(get_config_value("name"),
			  get_config_value_default("vm.engine", "kvm"), &vm,
			  errbuf, sizeof(errbuf));
	if (error != 0) {
		rhyve_warnx("cannot create VM: %s", errbuf);
		return -1;
	}
	*vmp = vm;
	vm_set_idle_skip(vm, get_config_bool_default("vm.idle_skip", true));
	if (quantum_config(vm) != 0)
		return -1;
	/* interp.jit: the interp engine's block translator (others have
	 * none: the key means nothing to them). */
	error = vm_set_jit(vm, get_config_bool_default("interp.jit", true));
	if (error != 0 && error != ENOTSUP) {
		rhyve_warnx("interp.jit: %s", strerror(error));
		return -1;
	}
	/* CPUID's view of the vCPUs, before they exist. */
	if ((error = vm_set_topology(vm, topo.sockets, topo.cores,
				     topo.threads)) != 0 ||
	    (error = vm_set_deterministic(
		 vm, get_config_bool_default("x86.deterministic", false))) !=
		0) {
		rhyve_warnx("cannot set the CPU topology: %s", strerror(error));
		return -1;
	}
	error = vm_setup_memory(vm, memsize);
	if (error != 0) {
		rhyve_warnx("cannot set up %zu bytes of guest memory: %s",
			    memsize, strerror(error));
		return -1;
	}
	for (int i = 0; i < ncpus; i++) {
		error = vm_vcpu_create(vm, i, NULL);
		if (error != 0) {
			rhyve_warnx("cannot create vCPU %d: %s", i,
				    strerror(error));
			return -1;
		}
	}
	if (setup_rtc(vm) != 0)
		return -1;
	init_inout();
	init_mem(ncpus);
	return 0;
}

/*
 * loader.kernel, loader.initrd, loader.cmdline; loader.decompress=guest
 * leaves a bzImage's decompression to the kernel (default: host).
 */
static int
boot_kernel(struct vm *vm, char *errbuf, size_t errlen)
{
	const char *how = get_config_value_default("loader.decompress", "host");
	struct loader_boot_opts opts = {
		.kernel = get_config_value("loader.kernel"),
		.initrd = get_config_value("loader.initrd"),
		.cmdline = get_config_value("loader.cmdline"),
		.guest_decompress = strcmp(how, "guest") == 0,
		.acpi_rsdp = acpi_rsdp_addr(),
	};

	if (strcmp(how, "host") != 0 && strcmp(how, "guest") != 0) {
		snprintf(errbuf, errlen,
			 "loader.decompress=%s: want host or guest", how);
		return -1;
	}
	return loader_boot_opts(vm, &opts, errbuf, errlen);
}

/*
 * vm.report_icount: each vCPU's retired instructions on stderr at the
 * end, on engines that count them (interp); the CPU benchmark divides
 * them by the run time.
 */
static void
report_icount(struct vm *vm)
{
	uint64_t n;

	for (int i = 0; i < VM_MAXCPU; i++) {
		struct vcpu *vcpu = vm_vcpu(vm, i);

		if (vcpu != NULL &&
		    vm_get_register(vcpu, VM_REG_ICOUNT, &n) == 0)
			fprintf(stderr, "rhyve: vcpu %d: %llu instructions\n",
				i, (unsigned long long)n);
	}
}

int
main(int argc, char **argv)
{
	struct vm *vm = NULL;
	char errbuf[512];
	int status = RHYVE_EXIT_ERROR;

	rhyve_block_signals();
	init_config();
	/* Defaults the config dump shows, as bhyve sets them in main(). */
	set_config_bool("acpi_tables", true);
	if (rhyve_parse_args(argc, argv) != 0 || rhyve_replay_open() != 0)
		return RHYVE_EXIT_ERROR;
	if (get_config_bool_default("config.dump", false)) {
		dump_config(stdout);
		return 0;
	}
	if (check_config() != 0)
		return RHYVE_EXIT_ERROR;
	if (build_vm(&vm) != 0)
		goto out;
	if (mevent_start() != 0) {
		rhyve_warnx("cannot start the event thread");
		goto out;
	}
	if (lpc_init(vm) != 0 || pci_init(vm) != 0 || fwcfg_init(vm) != 0 ||
	    pm_init(vm) != 0 || acpi_init(vm) != 0)
		goto out;
	if (rhyve_replaying()) {
		/* The trace's first checkpoint is the loaded kernel. */
		if (rhyve_replay_start(vm) != 0)
			goto out;
	} else if (boot_kernel(vm, errbuf, sizeof(errbuf)) != 0) {
		rhyve_warnx("%s", errbuf);
		goto out;
	}
	if (rhyve_record_start(vm) != 0 || gdb_server_init(vm) != 0)
		goto out;
	status = vcpu_run_all(vm);
	if (get_config_bool_default("vm.report_icount", false))
		report_icount(vm);
	gdb_server_vm_ended(status);
	if (rhyve_record_finish(vm, status) != 0)
		status = RHYVE_EXIT_ERROR;
	status = rhyve_replay_finish(vm, status);
out:
	gdb_server_fini();
	pm_deinit();
	fwcfg_deinit();
	pci_deinit();
	lpc_deinit();
	mevent_stop();
	vm_destroy(vm);
	free_config();
	return status;
}
