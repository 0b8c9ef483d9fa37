/*
 * --record FILE: the trace around kmod's recorder.  The monitor writes the
 * header (what is needed to recreate the VM: the engine, the config tree,
 * the memory layout, and a description of the host) and closes the file;
 * everything inside comes from kmod.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "rhyve.h"
#include "trace.h"

#define RECORD_MAX_HEADER 1024

static struct trace_writer *record_writer;
static struct vm *record_vm;

struct header {
	struct trace_kv kv[RECORD_MAX_HEADER];
	char *owned[RECORD_MAX_HEADER];
	size_t n;
};

static void
header_add(struct header *h, const char *key, const char *value)
{
	char *k, *v;

	if (h->n == RECORD_MAX_HEADER || (k = strdup(key)) == NULL)
		return;
	if ((v = strdup(value)) == NULL) {
		free(k);
		return;
	}
	h->kv[h->n] = (struct trace_kv){ k, v };
	h->owned[h->n++] = k;
}

static void
header_free(struct header *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->owned[i]);
		free((char *)h->kv[i].value);
	}
}

static void
add_config_leaf(const char *path, const char *value, void *arg)
{
	char key[300];

	/* An empty node (-l pc-testdev) is a device too: "confignode.". */
	snprintf(key, sizeof(key), "%s.%s",
		 value != NULL ? "config" : "confignode", path);
	header_add(arg, key, value != NULL ? value : "");
}

static void
add_number(struct header *h, const char *key, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	header_add(h, key, buf);
}

/*
 * record.checkpoint.exits (default 0: not by exits) and
 * record.checkpoint.seconds (default 10; 0: not by time): how often the
 * recorder writes a checkpoint of the pages written since the last.
 */
static int
record_intervals(uint64_t *exits, uint64_t *ns)
{
	const char *e =
	    get_config_value_default("record.checkpoint.exits", "0");
	const char *t =
	    get_config_value_default("record.checkpoint.seconds", "10");
	char *end;
	double secs;

	errno = 0;
	*exits = strtoull(e, &end, 10);
	if (errno != 0 || end == e || *end != '\0' || e[0] == '-') {
		rhyve_warnx("record.checkpoint.exits=%s: not a count", e);
		return -1;
	}
	secs = strtod(t, &end);
	if (end == t || *end != '\0' || !(secs >= 0) || secs > 1e6) {
		rhyve_warnx("record.checkpoint.seconds=%s: not a number of "
			    "seconds",
			    t);
		return -1;
	}
	*ns = (uint64_t)(secs * 1e9);
	return 0;
}

int
rhyve_record_start(struct vm *vm)
{
	const char *path = get_config_value("record.file");
	struct header *h = calloc(1, sizeof(*h));
	struct utsname uts;
	uint64_t every_exits, every_ns;
	char err[256];
	int error;

	if (path == NULL || record_intervals(&every_exits, &every_ns) != 0) {
		free(h);
		return path == NULL ? 0 : -1;
	}
	if (h == NULL) {
		rhyve_warnx("out of memory");
		return -1;
	}
	header_add(h, "trace.engine", vm_engine_name(vm));
	if (uname(&uts) == 0) {
		header_add(h, "host.sysname", uts.sysname);
		header_add(h, "host.release", uts.release);
		header_add(h, "host.machine", uts.machine);
	}
	add_number(h, "mem.lowmem", vm_lowmem_size(vm));
	add_number(h, "mem.highmem", vm_highmem_size(vm));
	add_number(h, "mem.highmem_base", VM_HIGHMEM_BASE);
	config_foreach_leaf(add_config_leaf, h);
	record_writer =
	    trace_writer_open(path, h->kv, h->n, NULL, err, sizeof(err));
	header_free(h);
	free(h);
	if (record_writer == NULL) {
		rhyve_warnx("--record: %s", err);
		return -1;
	}
	error = vm_record_start(vm, record_writer);
	if (error == 0)
		error = vm_record_checkpoint(vm);
	if (error == 0 &&
	    vm_record_set_checkpoints(vm, every_exits, every_ns) == ENOTSUP) {
		/*
		 * kvm runs the vCPUs at once: no periodic checkpoints.  Asked
		 * for, that is an error; by default a note.
		 */
		if (get_config_value("record.checkpoint.exits") != NULL ||
		    get_config_value("record.checkpoint.seconds") != NULL) {
			rhyve_warnx(
			    "--record: periodic checkpoints "
			    "(record.checkpoint.*) of a VM with several "
			    "vCPUs need the interp engine (kvm runs "
			    "them at once)");
			return -1;
		}
		rhyve_warnx("--record: note: no checkpoints but the first and "
			    "the last (several vCPUs on kvm); --engine interp "
			    "records them");
		vm_record_set_checkpoints(vm, 0, 0);
	}
	if (error == 0)
		record_vm = vm;
	if (error != 0) {
		rhyve_warnx("--record: cannot start recording: %s",
			    strerror(error));
		return -1;
	}
	return 0;
}

void
rhyve_record_input(unsigned int source, const uint8_t *buf, size_t len)
{
	if (record_vm != NULL)
		vm_record_input(record_vm, source, buf, len);
}

int
rhyve_record_finish(struct vm *vm, int status)
{
	const char *path = get_config_value("record.file");
	uint64_t events;
	char err[256];

	if (record_writer == NULL)
		return 0;
	record_vm = NULL;
	vm_record_end(vm, status);
	vm_record_stop(vm);
	events = trace_writer_events(record_writer);
	if (trace_writer_close(record_writer, err, sizeof(err)) != 0) {
		record_writer = NULL;
		rhyve_warnx("--record: %s", err);
		return -1;
	}
	record_writer = NULL;
	fprintf(stderr, "rhyve: recorded %llu events to %s\n",
		(unsigned long long)events, path);
	return 0;
}
