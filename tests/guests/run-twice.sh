#!/usr/bin/env bash
# Run one test guest twice and check that both runs print the same bytes
# and end with the expected status: a run's course must not depend on the
# host (the interp engine's virtual time and one-vCPU-at-a-time turns).
#
#   run-twice.sh RHYVE EXPECTED-STATUS [RHYVE-ARGS...]
set -u
rhyve=$1 expect=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
timeout=${RHYVE_GUEST_TIMEOUT:-60}
for run in 1 2; do
	timeout "$timeout" "$rhyve" "$@" </dev/null >"$dir/out$run" 2>&1
	status=$?
	cat "$dir/out$run"
	if [ "$status" != "$expect" ]; then
		echo "FAIL: run $run exited with $status, expected $expect"
		exit 1
	fi
done
if ! cmp "$dir/out1" "$dir/out2"; then
	echo "FAIL: the two runs printed different bytes:"
	diff "$dir/out1" "$dir/out2" | head -20
	exit 1
fi
echo "PASS: two runs, the same $(wc -c <"$dir/out1") bytes"
