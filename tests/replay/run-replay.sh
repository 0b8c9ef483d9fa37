#!/usr/bin/env bash
# Record a test guest, replay the trace, and check that the replay is the
# same run: the same exit status, the same console output byte for byte,
# and the replayer's own verdict that the end state (registers, memory)
# matches the recording's.
#
#   run-replay.sh RHYVE WORKDIR NAME STATUS [RHYVE-ARGS...]
#
# RHYVE-ARGS are the recording's (after RHYVE_ENGINE_ARGS, tests/lib/kvm.sh);
# the replay gets only --replay TRACE.
# REPLAY_RUNS (default 1) replays the same trace that many times;
# REPLAY_INPUT names a file the recording gets on stdin (the console).
# Exits 77 (skipped) where /dev/kvm cannot be used.
set -u
rhyve=$1 dir=$2 name=$3 expect=$4
shift 4

. "$(dirname "$0")/../lib/kvm.sh"
require_engine
mkdir -p "$dir"
trace=$dir/$name.rtr
timeout=${RHYVE_GUEST_TIMEOUT:-120}

# A pipe (the stdio console does not read from a regular file), fed once
# the guest is up: input before it sets up the UART is lost, as on a PC.
{ [ -n "${REPLAY_INPUT:-}" ] && sleep 1 && cat "$REPLAY_INPUT"; } |
	timeout "$timeout" "$rhyve" --record "$trace" "${engine_args[@]}" "$@" \
		>"$dir/$name.rec.out" 2>"$dir/$name.rec.err"
status=$?
cat "$dir/$name.rec.out" "$dir/$name.rec.err"
if [ "$status" != "$expect" ]; then
	echo "FAIL: the recording exited with $status, expected $expect"
	exit 1
fi
# The host input is in the trace as it came (INPUT events).
if [ -n "${REPLAY_INPUT:-}" ]; then
	rhyvetrace=$(dirname "$rhyve")/../tools/rhyvetrace/rhyvetrace
	"$rhyvetrace" dump "$trace" --kind input | tee "$dir/$name.trace-input"
	first=$(head -n 1 "$REPLAY_INPUT")
	grep -qF "$first" "$dir/$name.trace-input" || {
		echo "FAIL: the console input is not in the trace"
		exit 1
	}
fi
for run in $(seq "${REPLAY_RUNS:-1}"); do
	timeout "$timeout" "$rhyve" --replay "$trace" \
		</dev/null >"$dir/$name.rep.out" 2>"$dir/$name.rep.err"
	status=$?
	cat "$dir/$name.rep.err"
	if [ "$status" != "$expect" ]; then
		echo "FAIL: replay $run exited with $status, expected $expect"
		exit 1
	fi
	if ! cmp "$dir/$name.rec.out" "$dir/$name.rep.out"; then
		echo "FAIL: replay $run's console output differs:"
		diff "$dir/$name.rec.out" "$dir/$name.rep.out" | head -20
		exit 1
	fi
	if ! grep -q "end state matches: registers, memory" \
		"$dir/$name.rep.err"; then
		echo "FAIL: replay $run did not confirm the end state"
		exit 1
	fi
done
echo "PASS: $name recorded and replayed ${REPLAY_RUNS:-1} time(s)"
