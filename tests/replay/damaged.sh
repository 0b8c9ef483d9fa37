#!/usr/bin/env bash
# A damaged trace never crashes or hangs a replay: record the hello guest,
# then replay copies cut at many points (each must exit 4 with a message)
# and copies with a flipped bit at many offsets (each must exit 4, or 1
# with the recorded console output where the damage is in a part the
# replay does not need, such as the footer index).
#
#   damaged.sh RHYVE WORKDIR GUEST-DIR
set -u
rhyve=$1 dir=$2 guests=$3

. "$(dirname "$0")/../lib/kvm.sh"
require_engine
mkdir -p "$dir"
"$rhyve" "${engine_args[@]}" --record "$dir/good.rtr" -m 64M -l com1,stdio -l pc-testdev \
	--kernel "$guests/hello.elf" hello </dev/null >"$dir/good.out" 2>/dev/null
[ $? = 1 ] || { echo "FAIL: recording the hello guest failed"; exit 1; }
size=$(stat -c %s "$dir/good.rtr")
fail=0

replay() { # FILE -> sets status, err
	timeout 60 "$rhyve" --replay "$1" </dev/null >"$dir/out" 2>"$dir/err"
	status=$?
}

for i in $(seq 1 24); do
	cut=$((size * i / 25))
	head -c "$cut" "$dir/good.rtr" >"$dir/cut.rtr"
	replay "$dir/cut.rtr"
	if [ $status != 4 ] || ! grep -q "^rhyve: " "$dir/err"; then
		echo "FAIL: cut at $cut of $size: status $status"
		cat "$dir/err"
		fail=1
	fi
done
for i in $(seq 1 40); do
	off=$(( (size * i / 41) ))
	cp "$dir/good.rtr" "$dir/flip.rtr"
	byte=$(od -An -tu1 -j "$off" -N1 "$dir/good.rtr" | tr -d ' ')
	printf "$(printf '\\%03o' $((byte ^ 0x10)))" |
		dd of="$dir/flip.rtr" bs=1 seek="$off" conv=notrunc 2>/dev/null
	replay "$dir/flip.rtr"
	case $status in
	4) grep -q "^rhyve: " "$dir/err" || {
		echo "FAIL: bit flip at $off: status 4 without a message"
		fail=1
	} ;;
	1) cmp -s "$dir/out" "$dir/good.out" || {
		echo "FAIL: bit flip at $off: status 1 with other output"
		fail=1
	} ;;
	*) echo "FAIL: bit flip at $off: status $status"
	   cat "$dir/err"
	   fail=1 ;;
	esac
done
[ $fail = 0 ] && echo "PASS: 24 cut and 40 flipped traces handled"
exit $fail
