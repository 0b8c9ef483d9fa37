#!/bin/sh
# verify.sh RHYVETRACE TEST_TRACE_ROBUST GEN_TRACE CASE
#
# `rhyvetrace verify` on one variant of a synthetic trace: exit status 0
# for the clean trace; for a damaged one non-zero (not a crash), and where
# a frame is damaged the report names its byte offset (decimal or hex).
set -u
rhyvetrace=$1 robust=$2 gen=$3 case=$4

dir=$(mktemp -d "${TMPDIR:-/tmp}/rhyve-verify.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
f=$dir/$case.trace

if [ "$case" = sigkill ]; then
	"$gen" "$f" --vcpus 2 --checkpoints --kill-after-ms 200 \
		>"$dir/gen.out" &
	pid=$!
	# wait for the announcement, then kill -9
	i=0
	while ! grep -q running "$dir/gen.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			kill -9 $pid
			echo "FAIL: gen_trace did not start"
			exit 1
		fi
		sleep 0.05
	done
	kill -9 $pid
	wait $pid 2>/dev/null
	want=-
else
	want=$("$robust" variant "$case" "$f" | sed -n 's/^offset //p')
	if [ -z "$want" ]; then
		echo "FAIL: could not make the $case variant"
		exit 1
	fi
fi

"$rhyvetrace" verify "$f" >"$dir/out" 2>&1
rc=$?
echo "rhyvetrace verify $case.trace: exit $rc"
sed 's/^/  | /' "$dir/out" | head -20

if [ $rc -ge 126 ]; then
	echo "FAIL: rhyvetrace verify crashed or could not run (status $rc)"
	exit 1
fi
if [ "$case" = clean ]; then
	[ $rc -eq 0 ] || { echo "FAIL: non-zero on the clean trace"; exit 1; }
	echo PASS
	exit 0
fi
[ $rc -ne 0 ] || { echo "FAIL: verify exits 0 on the $case trace"; exit 1; }
[ -s "$dir/out" ] || { echo "FAIL: verify says nothing about the damage"; exit 1; }
if [ "$want" != - ]; then
	hex=$(printf '%x' "$want")
	if ! grep -Eiq "(^|[^0-9a-fx])($want|0x0*$hex)([^0-9a-f]|$)" "$dir/out"; then
		echo "FAIL: the report does not name the damaged frame's offset $want (0x$hex)"
		exit 1
	fi
fi
echo PASS
