#!/usr/bin/env bash
# The ACPI power button: boot the pwrbtn guest, send rhyve SIGTERM once
# the guest says it is ready, and check that the guest saw the button
# (the SCI and PM1_STS.PWRBTN_STS) and powered itself off (status 1).
# With "record" the run is recorded and the trace replayed: the same
# console output and status, the end state confirmed, and the press in
# the trace as a marker.
#
#   run-pwrbtn.sh RHYVE GUEST-DIR WORKDIR [record]
set -u
rhyve=$1 guests=$2 dir=$3 mode=${4:-}

. "$(dirname "$0")/../lib/kvm.sh"
require_engine
mkdir -p "$dir"
out=$dir/pwrbtn.out
trace=$dir/pwrbtn.rtr
args=(-m 64M -l com1,stdio -l pc-testdev "${engine_args[@]}"
	--kernel "$guests/pwrbtn.elf")
[ "$mode" = record ] && args=(--record "$trace" "${args[@]}")

"$rhyve" "${args[@]}" pwrbtn </dev/null >"$out" 2>&1 &
pid=$!
for _ in $(seq 600); do
	grep -q '^pwrbtn: ready' "$out" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q '^pwrbtn: ready' "$out"; then
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	cat "$out"
	echo "FAIL: the guest did not get ready"
	exit 1
fi
kill -TERM "$pid"
# The guest powers itself off; a hang is a failure, not a wait forever.
for _ in $(seq 300); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
wait "$pid"
status=$?
cat "$out"
if [ "$status" != 1 ]; then
	echo "FAIL: rhyve exited with $status, expected 1 (power-off)"
	exit 1
fi
grep -q '^pwrbtn: power button pressed, powering off$' "$out" || {
	echo "FAIL: the guest did not see the power button"
	exit 1
}
case " ${RHYVE_ENGINE_ARGS:-} " in
*" --engine lockstep "*)
	grep -Eq '^lockstep: 1 vCPUs, 1 ran: .* no difference$' "$out" || {
		echo "FAIL: no lockstep summary without a difference"
		exit 1
	}
	;;
esac
if [ "$mode" = record ]; then
	rhyvetrace=$(dirname "$rhyve")/../tools/rhyvetrace/rhyvetrace
	"$rhyvetrace" dump "$trace" --kind marker | grep -q 'SIGTERM power button' || {
		echo "FAIL: the button press is not in the trace"
		exit 1
	}
	grep -v '^rhyve: recorded' "$out" >"$dir/pwrbtn.rec.out"
	"$rhyve" --replay "$trace" </dev/null >"$dir/pwrbtn.rep.out" \
		2>"$dir/pwrbtn.rep.err"
	status=$?
	cat "$dir/pwrbtn.rep.err"
	if [ "$status" != 1 ]; then
		echo "FAIL: the replay exited with $status, expected 1"
		exit 1
	fi
	cmp "$dir/pwrbtn.rec.out" "$dir/pwrbtn.rep.out" || {
		echo "FAIL: the replay's console output differs"
		diff "$dir/pwrbtn.rec.out" "$dir/pwrbtn.rep.out" | head -20
		exit 1
	}
	grep -q "end state matches: registers, memory" "$dir/pwrbtn.rep.err" || {
		echo "FAIL: the replay did not confirm the end state"
		exit 1
	}
fi
echo "PASS: the power button powered the guest off${mode:+ ($mode and replay)}"
