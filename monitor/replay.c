/*
 * --replay FILE: the VM a trace recorded, rebuilt from the trace alone.
 * The header's config tree says which devices and how much memory; the
 * first checkpoint gives memory and registers (no kernel file is read);
 * kmod's replayer then answers the guest from the trace and checks every
 * exit.  The guest's console output comes out of the devices as it did
 * when it was recorded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rhyve.h"
#include "trace.h"

static struct trace_reader *replay_reader;
static struct timespec replay_t0;

bool
rhyve_replaying(void)
{
	return replay_reader != NULL;
}

/*
 * Recorded config keys a replay does not take: it does not record again,
 * and fw_cfg files were host files whose contents the guest read from
 * the device; in the replay they come from the trace, the files may be
 * gone.  A debugger attached to the recording (gdb.*) is not the
 * replay's.
 */
static bool
replay_skips_key(const char *key)
{
	return strncmp(key, "record.", 7) == 0 ||
	       strncmp(key, "replay.", 7) == 0 ||
	       strncmp(key, "fwcfg.file.", 11) == 0 ||
	       strncmp(key, "gdb.", 4) == 0;
}

int
rhyve_replay_open(void)
{
	const char *path = get_config_value("replay.file");
	const struct trace_kv *kv;
	const char *engine;
	char err[256];
	size_t n;

	if (path == NULL)
		return 0;
	if (get_config_value("record.file") != NULL) {
		rhyve_warnx("--record and --replay exclude each other");
		return -1;
	}
	replay_reader = trace_open(path, err, sizeof(err));
	if (replay_reader == NULL) {
		rhyve_warnx("--replay: %s", err);
		return -1;
	}
	/* A trace replays on the engine that recorded it: exits differ. */
	engine = trace_header_get(replay_reader, "trace.engine");
	if (engine == NULL) {
		rhyve_warnx("--replay %s: the trace does not say which engine "
			    "recorded it",
			    path);
		return -1;
	}
	if (get_config_value("vm.engine") != NULL &&
	    strcmp(get_config_value("vm.engine"), engine) != 0) {
		rhyve_warnx("--replay %s: recorded on engine '%s', which "
			    "must replay it (not '%s')",
			    path, engine, get_config_value("vm.engine"));
		return -1;
	}
	if (set_config_value("vm.engine", engine) != 0)
		return -1;
	kv = trace_header(replay_reader, &n);
	for (size_t i = 0; i < n; i++) {
		const char *key = kv[i].key;

		if (strncmp(key, "confignode.", 11) == 0) {
			if (create_config_node(key + 11) == NULL)
				goto bad;
			continue;
		}
		if (strncmp(key, "config.", 7) != 0)
			continue;
		key += 7;
		if (replay_skips_key(key) || get_config_value(key) != NULL)
			continue;
		if (set_config_value(key, kv[i].value) != 0) {
		bad:
			rhyve_warnx("--replay %s: bad recorded config %s=%s",
				    path, key, kv[i].value);
			return -1;
		}
	}
	return 0;
}

int
rhyve_replay_start(struct vm *vm)
{
	const char *from = get_config_value_default("replay.checkpoint", "0");
	unsigned long long id;
	char err[256], *end;

	errno = 0;
	id = strtoull(from, &end, 10);
	if (errno != 0 || end == from || *end != '\0' || from[0] == '-') {
		rhyve_warnx("replay.checkpoint=%s: not a checkpoint number",
			    from);
		return -1;
	}
	if (vm_replay_start(vm, replay_reader, id, err, sizeof(err)) != 0) {
		rhyve_warnx("--replay: %s", err);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &replay_t0);
	return 0;
}

/*
 * Back to vCPU 0's exit 'exits' (reverse execution, gdb_reverse.c): the
 * trace is read again from its start by a new reader, the replayer
 * restarts from the nearest checkpoint, and vm_run() replays forward to
 * the point and returns there (vm_replay_at_stop()).
 */
int
rhyve_replay_rewind(struct vm *vm, uint64_t exits, char *errbuf, size_t errlen)
{
	struct trace_reader *r;
	int error;

	r = trace_open(get_config_value("replay.file"), errbuf, errlen);
	if (r == NULL)
		return -1;
	error = vm_replay_restart(vm, r, exits, errbuf, errlen);
	if (error == EBUSY) {
		trace_close(r); /* not taken */
		return -1;
	}
	trace_close(replay_reader);
	replay_reader = r;
	return error == 0 ? 0 : -1;
}

int
rhyve_replay_finish(struct vm *vm, int status)
{
	struct vm_replay_stats st;
	struct timespec t1;
	int recorded;
	double secs;

	if (replay_reader == NULL)
		return status;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - replay_t0.tv_sec) +
	       (double)(t1.tv_nsec - replay_t0.tv_nsec) / 1e9;
	/* Cut short (e.g. by timeout(1)): no verdict on the rest. */
	if (vcpu_stop_signal() != 0 && vm_replaying(vm)) {
		vm_replay_stats(vm, &st);
		fprintf(stderr,
			"rhyve: the replay was stopped by %s after %llu events "
			"in %.3f s, before the recording's end (no divergence "
			"up to there)\n",
			strsignal(vcpu_stop_signal()),
			(unsigned long long)st.events, secs);
		return RHYVE_EXIT_ERROR;
	}
	if (!vm_replaying(vm) || vm_replay_finish(vm, status, &recorded) != 0) {
		if (vm_replaying(vm))
			fprintf(stderr, "rhyve: %s", vm_replay_report(vm));
		status = RHYVE_EXIT_ERROR;
	} else {
		vm_replay_stats(vm, &st);
		fprintf(stderr,
			"rhyve: replayed %llu events (%llu exits, %llu "
			"asynchronous) in %.3f s (recorded in %.3f s); end "
			"state matches: registers, memory (hash %016llx), exit "
			"status %d\n",
			(unsigned long long)st.events,
			(unsigned long long)st.exits,
			(unsigned long long)st.async, secs,
			(double)st.recorded_ns / 1e9,
			(unsigned long long)st.mem_hash, recorded);
		status = recorded;
	}
	trace_close(replay_reader);
	replay_reader = NULL;
	return status;
}
