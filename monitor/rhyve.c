/*
 * rhyve(8): parse the config, build the VM and its devices, load the
 * kernel, run the vCPUs, and exit with the status the guest chose.
 */
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "rhyve.h"

static int
check_config(void)
{
	const struct config_node *pci = find_config_node("pci");

	if (get_config_value("name") == NULL) {
		rhyve_warnx("no VM name given");
		rhyve_usage(stderr);
		return -1;
	}
	if (pci != NULL) {
		rhyve_warnx("PCI slots (-s) are configured but rhyve has no "
			    "PCI device models yet");
		return -1;
	}
	if (get_config_value("loader.kernel") == NULL) {
		rhyve_warnx("no kernel: give --kernel PATH "
			    "(config loader.kernel)");
		return -1;
	}
	return 0;
}

static int
build_vm(struct vm **vmp)
{
	const char *memstr = get_config_value_default("memory.size", "256M");
	const char *cpustr = get_config_value_default("cpus", "1");
	char errbuf[256];
	size_t memsize;
	int ncpus, error;
	struct vm *vm;

	if (parse_memsize(memstr, &memsize) != 0 || (memsize & 0xfff) != 0) {
		rhyve_warnx("memory.size=%s: not a page-aligned size", memstr);
		return -1;
	}
	ncpus = atoi(cpustr);
	if (ncpus < 1 || ncpus > VM_MAXCPU) {
		rhyve_warnx("cpus=%s: need 1 to %d", cpustr, VM_MAXCPU);
		return -1;
	}
	error = vm_create(get_config_value("name"),
			  get_config_value_default("vm.engine", "kvm"), &vm,
			  errbuf, sizeof(errbuf));
	if (error != 0) {
		rhyve_warnx("cannot create VM: %s", errbuf);
		return -1;
	}
	*vmp = vm;
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
	init_inout();
	init_mem(ncpus);
	return 0;
}

int
main(int argc, char **argv)
{
	struct vm *vm = NULL;
	char errbuf[512];
	int status = RHYVE_EXIT_ERROR;

	rhyve_block_signals();
	init_config();
	if (rhyve_parse_args(argc, argv) != 0)
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
	if (lpc_init(vm) != 0)
		goto out;
	if (loader_boot(vm, get_config_value("loader.kernel"), errbuf,
			sizeof(errbuf)) != 0) {
		rhyve_warnx("%s", errbuf);
		goto out;
	}
	status = vcpu_run_all(vm);
out:
	lpc_deinit();
	mevent_stop();
	vm_destroy(vm);
	free_config();
	return status;
}
