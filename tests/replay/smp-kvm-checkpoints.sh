#!/usr/bin/env bash
# Periodic checkpoints need the vCPUs stopped at once: the interp engine
# runs one at a time and takes them, kvm runs them in parallel and cannot.
# Asked for on kvm with several vCPUs, recording must fail with a clear
# error (status 4, before the guest runs); by default it says it takes
# none but the first and the last, and the recording works.
#
#   smp-kvm-checkpoints.sh RHYVE WORKDIR GUEST-DIR
set -u
rhyve=$1 dir=$2 guests=$3
. "$(dirname "$0")/../lib/kvm.sh"
require_kvm
mkdir -p "$dir"
"$rhyve" --record "$dir/smp.rtr" -m 64M -c 4 -l com1,stdio -l pc-testdev \
	-o record.checkpoint.exits=100 --kernel "$guests/smp.elf" smp \
	</dev/null >"$dir/out" 2>"$dir/err"
status=$?
cat "$dir/err"
[ $status = 4 ] && grep -q "need the interp engine" "$dir/err" || {
	echo "FAIL: record.checkpoint.exits on kvm with 4 vCPUs: status $status"
	exit 1
}
"$rhyve" --record "$dir/smp.rtr" -m 64M -c 4 -l com1,stdio -l pc-testdev \
	--kernel "$guests/smp.elf" smp </dev/null >"$dir/out" 2>"$dir/err"
status=$?
cat "$dir/err"
[ $status = 1 ] && grep -q "no checkpoints but the first and the last" \
	"$dir/err" || {
	echo "FAIL: a default kvm recording of 4 vCPUs: status $status"
	exit 1
}
echo "PASS: kvm refuses periodic checkpoints of several vCPUs, clearly"
