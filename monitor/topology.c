/*
 * The vCPUs the config asks for: their count and topology (-c, bhyve's
 * calc_topology()) and the host CPUs they are pinned to (-p, bhyve's
 * vcpu.N.cpuset).
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rhyve.h"

/* A count from 1 to 'max' in config key 'key', or 'def' if unset. */
static int
topology_value(const char *key, int def, int max, int *valp)
{
	const char *s = get_config_value(key);
	char *end;
	long n;

	if (s == NULL) {
		*valp = def;
		return 0;
	}
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || n < 1 || n > max) {
		rhyve_warnx("%s=%s: need a count from 1 to %d", key, s, max);
		return -1;
	}
	*valp = (int)n;
	return 0;
}

/*
 * As bhyve: cpus alone makes that many single-core sockets; sockets,
 * cores and threads alone make their product; given both, the product
 * must be cpus exactly.
 */
int
topology_config(struct vm_topology_cfg *t)
{
	bool explicit_cpus = get_config_value("cpus") != NULL;
	long product;

	if (topology_value("cpus", 1, VM_MAXCPU, &t->cpus) != 0 ||
	    topology_value("sockets", t->cpus, VM_MAXCPU, &t->sockets) != 0 ||
	    topology_value("cores", 1, VM_MAXCPU, &t->cores) != 0 ||
	    topology_value("threads", 1, VM_MAXCPU, &t->threads) != 0)
		return -1;
	product = (long)t->sockets * t->cores * t->threads;
	if (product > VM_MAXCPU) {
		rhyve_warnx("topology (%d sockets, %d cores, %d threads) "
			    "makes %ld vCPUs, more than %d",
			    t->sockets, t->cores, t->threads, product,
			    VM_MAXCPU);
		return -1;
	}
	if (explicit_cpus && product != t->cpus) {
		rhyve_warnx("topology (%d sockets, %d cores, %d threads) "
			    "does not match %d vCPUs",
			    t->sockets, t->cores, t->threads, t->cpus);
		return -1;
	}
	t->cpus = (int)product;
	return 0;
}

/* -p vcpu:hostcpu, as bhyve: adds hostcpu to vcpu.N.cpuset. */
int
pincpu_parse(const char *opt)
{
	char key[32], *end, *list;
	const char *old;
	long vcpu, pcpu;
	int error;

	vcpu = strtol(opt, &end, 10);
	if (end == opt || *end != ':' || vcpu < 0 || vcpu >= VM_MAXCPU) {
		rhyve_warnx("-p %s: want vcpu:hostcpu with vcpu 0 to %d", opt,
			    VM_MAXCPU - 1);
		return -1;
	}
	opt = end + 1;
	pcpu = strtol(opt, &end, 10);
	if (end == opt || *end != '\0' || pcpu < 0 || pcpu >= CPU_SETSIZE) {
		rhyve_warnx("-p %ld:%s: hostcpu must be a CPU number", vcpu,
			    opt);
		return -1;
	}
	snprintf(key, sizeof(key), "vcpu.%ld.cpuset", vcpu);
	old = get_config_value(key);
	if (old == NULL ? asprintf(&list, "%ld", pcpu) < 0
			: asprintf(&list, "%s,%ld", old, pcpu) < 0)
		return -1;
	error = set_config_value(key, list);
	free(list);
	if (error != 0)
		rhyve_warnx("cannot set %s", key);
	return error != 0 ? -1 : 0;
}

/*
 * vcpu.N.cpuset: host CPUs and ranges ("0-3,6"), as bhyve's
 * parse_cpuset().  *pinned is false if the key is unset.  Every CPU must
 * exist on this host.
 */
static int
vcpu_cpuset(int vcpu, cpu_set_t *set, bool *pinned)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	char key[32], *copy, *tok, *save = NULL;
	const char *val;
	int error = 0;

	snprintf(key, sizeof(key), "vcpu.%d.cpuset", vcpu);
	CPU_ZERO(set);
	*pinned = false;
	if ((val = get_config_value(key)) == NULL)
		return 0;
	if ((copy = strdup(val)) == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL && error == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *end, *dash = strchr(tok, '-');
		long lo, hi;

		lo = strtol(tok, &end, 10);
		hi = lo;
		if (end == tok || (dash != NULL && end != dash) ||
		    (dash == NULL && *end != '\0'))
			error = -1;
		else if (dash != NULL) {
			hi = strtol(dash + 1, &end, 10);
			if (end == dash + 1 || *end != '\0')
				error = -1;
		}
		if (error != 0 || lo < 0 || hi < lo || hi >= CPU_SETSIZE) {
			rhyve_warnx("%s=%s: '%s' is not a CPU or CPU range",
				    key, val, tok);
			error = -1;
			break;
		}
		if (hi >= ncpus) {
			rhyve_warnx("%s=%s: this host has CPUs 0 to %ld", key,
				    val, ncpus - 1);
			error = -1;
			break;
		}
		for (long c = lo; c <= hi; c++)
			CPU_SET((int)c, set);
	}
	free(copy);
	if (error == 0 && CPU_COUNT(set) == 0) {
		rhyve_warnx("%s is empty", key);
		error = -1;
	}
	*pinned = error == 0;
	return error;
}

/* Check every vcpu.N.cpuset before the VM is built. */
int
pincpu_check_config(int ncpus)
{
	cpu_set_t set;
	bool pinned;

	for (int i = 0; i < VM_MAXCPU; i++) {
		if (vcpu_cpuset(i, &set, &pinned) != 0)
			return -1;
		if (pinned && i >= ncpus) {
			rhyve_warnx("vcpu.%d.cpuset: the VM has %d vCPUs", i,
				    ncpus);
			return -1;
		}
	}
	return 0;
}

/*
 * Thread attributes that pin a vCPU's thread from its start as
 * vcpu.N.cpuset says (no key: not pinned).
 */
int
vcpu_thread_attr(int vcpu, pthread_attr_t *attr)
{
	cpu_set_t set;
	bool pinned;
	int error;

	if (vcpu_cpuset(vcpu, &set, &pinned) != 0)
		return -1;
	pthread_attr_init(attr);
	if (!pinned)
		return 0;
	error = pthread_attr_setaffinity_np(attr, sizeof(set), &set);
	if (error != 0) {
		rhyve_warnx("vcpu %d: cannot pin to its cpuset: %s", vcpu,
			    strerror(error));
		pthread_attr_destroy(attr);
		return -1;
	}
	return 0;
}
