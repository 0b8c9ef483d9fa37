#!/usr/bin/env bash
# A replay can start at any checkpoint: record a guest with a checkpoint
# every 200 exits, then replay from the second, a middle and the second
# to last one.  Each must end with the recorded status and end state, and
# print the tail of the recorded console output.
#
#   from-checkpoint.sh RHYVE RHYVETRACE WORKDIR GUEST-DIR NAME [ARGS...]
set -u
rhyve=$1 rhyvetrace=$2 dir=$3 guests=$4 name=$5
shift 5
. "$(dirname "$0")/../lib/kvm.sh"
require_engine
mkdir -p "$dir"
"$rhyve" "${engine_args[@]}" --record "$dir/$name.rtr" -m 64M -l com1,stdio -l pc-testdev "$@" \
	-o record.checkpoint.exits=200 --kernel "$guests/$name.elf" "$name" \
	</dev/null >"$dir/rec.out" 2>/dev/null
[ $? = 1 ] || { echo "FAIL: recording $name failed"; exit 1; }
n=$("$rhyvetrace" info "$dir/$name.rtr" | awk '/^checkpoints:/ { print $2 }')
[ "${n:-0}" -ge 4 ] || { echo "FAIL: only ${n:-no} checkpoints"; exit 1; }
for from in 1 $((n / 2)) $((n - 2)); do
	"$rhyve" --replay "$dir/$name.rtr" -o replay.checkpoint=$from \
		</dev/null >"$dir/rep.out" 2>"$dir/rep.err"
	status=$?
	cat "$dir/rep.err"
	[ $status = 1 ] && grep -q "end state matches" "$dir/rep.err" || {
		echo "FAIL: replay from checkpoint $from of $n: status $status"
		exit 1
	}
	tail -c "$(stat -c %s "$dir/rep.out")" "$dir/rec.out" |
		cmp -s - "$dir/rep.out" || {
		echo "FAIL: from checkpoint $from the output is not the" \
			"recording's tail"
		exit 1
	}
done
"$rhyve" --replay "$dir/$name.rtr" -o replay.checkpoint=$((n + 5)) \
	</dev/null >/dev/null 2>"$dir/rep.err"
[ $? = 4 ] && grep -q "has no checkpoint" "$dir/rep.err" ||
	{ echo "FAIL: a checkpoint past the end is not refused"; exit 1; }
echo "PASS: $name replayed from checkpoints 1, $((n / 2)) and $((n - 2)) of $n"
