#!/usr/bin/env bash
# Debug a test guest in rhyve with the real gdb.
#
#   run-gdb.sh RHYVE GUEST TRANSPORT SCRIPT STATUS REGEX [RHYVE-ARGS...]
#
# Starts RHYVE with -G w0 (TRANSPORT tcp: a free port, read back from
# rhyve's "listening on" line), -G 0 (tcp-nowait: the guest runs until
# gdb attaches) or -G wpty:LINK (TRANSPORT pty), COM1 in a
# file and the pc-testdev, then runs
#   gdb -batch -nx -ex 'target remote ...' -x SCRIPT GUEST
# SCRIPT (Python in gdb, tests/gdb/gdbtest.py) checks what gdb sees and
# prints "GDBTEST PASS" at its end.  Fails unless it did, rhyve then
# exited with STATUS and a line of the guest's console matches REGEX
# (and none matches $RHYVE_GDB_NOT_REGEX, if set).
# RHYVE_GDB_REPLAY=1: the guest is first recorded without a debugger
# (--record, same arguments), then gdb debugs the replay (--replay with
# -G); the replay must still end with "end state matches".
# Exits 77 (skipped) without a usable /dev/kvm (unless the arguments
# say --engine interp) or without gdb.
set -u

if [ $# -lt 6 ]; then
	echo "usage: $0 RHYVE GUEST tcp|tcp-nowait|pty SCRIPT STATUS REGEX [ARGS...]" >&2
	exit 2
fi
rhyve=$1 guest=$2 transport=$3 script=$4 expect=$5 regex=$6
shift 6

. "$(dirname "$0")/../lib/kvm.sh"
# The interp engine (--engine interp among the arguments) needs no kvm.
case " $* " in
*" --engine interp "*) ;;
*) require_kvm ;;
esac
if ! command -v gdb >/dev/null; then
	echo "SKIP: no gdb"
	exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/rhyve-gdb.XXXXXX") || exit 1
rpid=
cleanup() {
	[ -n "$rpid" ] && kill -9 "$rpid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

case $transport in
tcp) gopt=w0 ;;
tcp-nowait) gopt=0 ;; # attach to a guest that is already running
pty) gopt=wpty:$dir/gdb-pty ;;
*)
	echo "FAIL: unknown transport $transport"
	exit 1
	;;
esac

if [ -n "${RHYVE_GDB_REPLAY:-}" ]; then
	echo "+ $rhyve --record $dir/run.rtr -l com1,file:$dir/console.rec -l pc-testdev $* --kernel $guest gdbtest"
	# (conin.elf polls for 30 s of its time: minutes on interp under load)
	timeout -k 5 300 "$rhyve" --record "$dir/run.rtr" \
		-l "com1,file:$dir/console.rec" -l pc-testdev "$@" \
		--kernel "$guest" gdbtest </dev/null >"$dir/record.out" 2>&1
	echo "recorded with status $?"
	cat "$dir/record.out" "$dir/console.rec"
	echo "+ $rhyve --replay $dir/run.rtr -G $gopt -l com1,file:$dir/console"
	"$rhyve" --replay "$dir/run.rtr" -G "$gopt" \
		-l "com1,file:$dir/console" </dev/null >"$dir/rhyve.out" 2>&1 &
	rpid=$!
else
	echo "+ $rhyve -G $gopt -l com1,file:$dir/console -l pc-testdev $* --kernel $guest gdbtest"
	[ -n "${RHYVE_GDB_RECORD:-}" ] && set -- --record "$dir/run.rtr" "$@"
	"$rhyve" -G "$gopt" -l "com1,file:$dir/console" -l pc-testdev "$@" \
		--kernel "$guest" gdbtest </dev/null >"$dir/rhyve.out" 2>&1 &
	rpid=$!
fi

# Wait for the stub to be there.
target=
for _ in $(seq 1 100); do
	if [ "$transport" != pty ]; then
		port=$(sed -n 's/.*gdb: listening on .* port \([0-9]*\)$/\1/p' "$dir/rhyve.out")
		[ -n "$port" ] && target=127.0.0.1:$port
	elif [ -L "$dir/gdb-pty" ]; then
		target=$dir/gdb-pty
	fi
	[ -n "$target" ] && break
	kill -0 "$rpid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$target" ]; then
	echo "FAIL: no gdb stub came up"
	cat "$dir/rhyve.out"
	exit 1
fi

echo "+ gdb -batch -nx -ex 'target remote $target' -x $script $guest"
RHYVE_GDB_TARGET=$target RHYVE_CONSOLE=$dir/console RHYVE_PID=$rpid \
	timeout -k 5 120 gdb -batch -nx -ex "set pagination off" \
	-ex "target remote $target" -x "$script" "$guest" \
	</dev/null >"$dir/gdb.out" 2>&1
gstatus=$?
echo "---- gdb (exit status $gstatus) ----"
cat "$dir/gdb.out"

# rhyve goes on to the guest's end (detach) or is ended (kill); conin's
# 30 s of polling take longer than that on a loaded host on interp.
for _ in $(seq 1 1800); do
	kill -0 "$rpid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$rpid" 2>/dev/null; then
	echo "FAIL: rhyve still runs 180 s after gdb ended"
	cat "$dir/rhyve.out" "$dir/console"
	exit 1
fi
wait "$rpid"
status=$?
rpid=
echo "---- rhyve (exit status $status) ----"
cat "$dir/rhyve.out"
echo "---- console ----"
cat "$dir/console" 2>/dev/null

fail=0
if ! grep -q '^GDBTEST PASS$' "$dir/gdb.out"; then
	echo "FAIL: the gdb script did not pass"
	fail=1
fi
if [ "$status" -ne "$expect" ]; then
	echo "FAIL: rhyve exit status $status, expected $expect"
	fail=1
fi
if ! grep -Eq -- "$regex" "$dir/console" 2>/dev/null; then
	echo "FAIL: no console line matches /$regex/"
	fail=1
fi
if [ -n "${RHYVE_GDB_NOT_REGEX:-}" ] &&
	grep -Eq -- "$RHYVE_GDB_NOT_REGEX" "$dir/console" 2>/dev/null; then
	echo "FAIL: a console line matches /$RHYVE_GDB_NOT_REGEX/"
	fail=1
fi
if [ -n "${RHYVE_GDB_REPLAY:-}" ] &&
	! grep -q 'end state matches' "$dir/rhyve.out"; then
	echo "FAIL: the debugged replay did not end as recorded"
	fail=1
fi
# RHYVE_GDB_RECORD=RHYVETRACE: rhyve recorded the debugged run
# (--record $dir/run.rtr is added); the trace must hold the marker the
# script wrote ("monitor marker gdbtest") and replay to the same end.
if [ $fail -eq 0 ] && [ -n "${RHYVE_GDB_RECORD:-}" ]; then
	if ! "$RHYVE_GDB_RECORD" dump "$dir/run.rtr" | grep -q 'marker text="gdbtest"'; then
		echo "FAIL: no marker \"gdbtest\" in the trace"
		fail=1
	fi
	echo "+ $rhyve --replay $dir/run.rtr -l com1,file:$dir/console.replay"
	timeout -k 5 120 "$rhyve" --replay "$dir/run.rtr" \
		-l "com1,file:$dir/console.replay" </dev/null >"$dir/replay.out" 2>&1
	rstatus=$?
	cat "$dir/replay.out"
	if [ "$rstatus" -ne "$status" ] ||
		! grep -q 'end state matches' "$dir/replay.out" ||
		! cmp -s "$dir/console" "$dir/console.replay"; then
		echo "FAIL: the replay (status $rstatus) is not the debugged run"
		fail=1
	fi
fi
[ $fail -eq 0 ] || exit 1
echo PASS
