#!/usr/bin/env bash
# SIGUSR1 to a recording rhyve puts a user marker into the trace, and the
# trace still replays.
#
#   marker.sh RHYVE RHYVETRACE WORKDIR GUEST-DIR
set -u
rhyve=$1 rhyvetrace=$2 dir=$3 guests=$4

. "$(dirname "$0")/../lib/kvm.sh"
require_engine
mkdir -p "$dir"
# The rtc guest runs for several seconds (it waits for RTC seconds).
"$rhyve" "${engine_args[@]}" --record "$dir/marker.rtr" -m 64M -l com1,stdio -l pc-testdev \
	--kernel "$guests/rtc.elf" rtc </dev/null >"$dir/rec.out" 2>&1 &
pid=$!
sleep 1
kill -USR1 $pid
sleep 0.5
kill -USR1 $pid
wait $pid
status=$?
cat "$dir/rec.out"
[ $status = 1 ] || { echo "FAIL: the recording exited $status"; exit 1; }
markers=$("$rhyvetrace" dump "$dir/marker.rtr" --kind marker)
echo "$markers"
echo "$markers" | grep -q 'SIGUSR1 1' &&
	echo "$markers" | grep -q 'SIGUSR1 2' ||
	{ echo "FAIL: the two markers are not in the trace"; exit 1; }
"$rhyve" --replay "$dir/marker.rtr" </dev/null >/dev/null 2>"$dir/rep.err"
status=$?
cat "$dir/rep.err"
[ $status = 1 ] && grep -q "end state matches" "$dir/rep.err" ||
	{ echo "FAIL: the marked trace does not replay"; exit 1; }
echo "PASS: markers recorded and replayed over"
