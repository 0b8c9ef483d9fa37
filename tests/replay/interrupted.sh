#!/usr/bin/env bash
# A replay cut short by a signal (Ctrl-C, timeout(1)) says so: status 4
# and "the replay was stopped by ...", never a divergence report (and
# SIGTERM does not press the guest's power button, which in a replay is
# the trace's).  The mmio_insn guest replays for seconds; SIGTERM after 1.
#
#   interrupted.sh RHYVE WORKDIR GUEST-DIR
set -u
rhyve=$1 dir=$2 guests=$3

. "$(dirname "$0")/../lib/kvm.sh"
require_engine
mkdir -p "$dir"
"$rhyve" "${engine_args[@]}" --record "$dir/run.rtr" -m 64M -l com1,stdio \
	-l pc-testdev -l mem-testdev --kernel "$guests/mmio_insn.elf" \
	mmio_insn </dev/null >/dev/null 2>&1
[ $? = 1 ] || { echo "FAIL: recording mmio_insn failed"; exit 1; }
"$rhyve" --replay "$dir/run.rtr" </dev/null >/dev/null 2>"$dir/err" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
status=$?
cat "$dir/err"
[ $status = 4 ] || { echo "FAIL: status $status, expected 4"; exit 1; }
grep -q "^rhyve: the replay was stopped by Terminated after [0-9]* events" \
	"$dir/err" || { echo "FAIL: no 'stopped by' line"; exit 1; }
if grep -q "diverged" "$dir/err"; then
	echo "FAIL: a stopped replay reported a divergence"
	exit 1
fi
echo "PASS: the replay stopped by SIGTERM said so"
