#!/usr/bin/env bash
# A changed input must be caught: record the pio guest, flip one bit of
# a value it read (it writes every value back), replay, and expect status
# 4 with a report naming the first exit after the edited read.
#
#   diverge.sh RHYVE TRACE_EDIT WORKDIR GUEST-DIR
set -u
rhyve=$1 edit=$2 dir=$3 guests=$4

. "$(dirname "$0")/../lib/kvm.sh"
require_engine
mkdir -p "$dir"
"$rhyve" "${engine_args[@]}" --record "$dir/orig.rtr" -m 64M -l com1,stdio -l pc-testdev \
	--kernel "$guests/pio.elf" pio </dev/null >/dev/null 2>&1
[ $? = 1 ] || { echo "FAIL: recording the pio guest failed"; exit 1; }
# The first read of the scratch port 0xe0 (which the guest compares with
# what it wrote there): "pio in port=0xe0".
rhyvetrace=$(dirname "$rhyve")/../tools/rhyvetrace/rhyvetrace
index=$("$rhyvetrace" dump "$dir/orig.rtr" |
	awk '/ pio in port=0xe0 /{ sub("#", "", $1); print $1; exit }')
[ -n "$index" ] || { echo "FAIL: no read of port 0xe0 in the trace"; exit 1; }
expect=$("$edit" "$dir/orig.rtr" "$dir/edited.rtr" "$index") ||
	{ echo "FAIL: trace_edit failed"; exit 1; }
"$rhyve" --replay "$dir/edited.rtr" </dev/null >"$dir/out" 2>"$dir/err"
status=$?
cat "$dir/err"
[ $status = 4 ] || { echo "FAIL: replay exited $status, expected 4"; exit 1; }
grep -q "^rhyve: replay diverged at event $expect " "$dir/err" || {
	echo "FAIL: no divergence report at event $expect (read at $index)"
	exit 1
}
echo "PASS: edited read at event $index diverged at event $expect"
