#!/usr/bin/env bash
# Run one test guest in rhyve and check how it ended.
#
#   run-guest.sh RHYVE EXPECTED-STATUS REGEX [RHYVE-ARGS...]
#
# Runs RHYVE RHYVE-ARGS with stdin from /dev/null (or the file
# RHYVE_GUEST_INPUT, a second after the start) and a timeout
# (RHYVE_GUEST_TIMEOUT seconds, default 60), prints everything it wrote on
# stdout and stderr, and fails unless it exited with EXPECTED-STATUS (any
# status but a timeout or a signal if that is "any") and some line of that
# output matches the extended regex REGEX (grep -E).
# Exits 77 (skipped, for ctest's SKIP_RETURN_CODE) where /dev/kvm cannot
# be opened for reading and writing -- unless RHYVE-ARGS choose the interp
# engine (--engine interp), which needs no /dev/kvm.
set -u

if [ $# -lt 3 ]; then
	echo "usage: $0 RHYVE EXPECTED-STATUS REGEX [RHYVE-ARGS...]" >&2
	exit 2
fi
rhyve=$1
expect=$2
regex=$3
shift 3

. "$(dirname "$0")/../lib/kvm.sh"
case " $* " in
*" --engine interp "*) ;;
*) require_kvm ;;
esac
if [ ! -x "$rhyve" ]; then
	echo "FAIL: rhyve binary $rhyve not found or not executable"
	exit 1
fi

status_name() {
	case $1 in
	0) echo "reset" ;;
	1) echo "power-off / guest_exit(0)" ;;
	2) echo "halt" ;;
	3) echo "triple fault" ;;
	4) echo "error" ;;
	124) echo "timed out" ;;
	125) echo "guest: unhandled exception" ;;
	127) echo "guest: assertion failed" ;;
	*)
		if [ "$1" -gt 128 ] && [ "$1" -lt 160 ]; then
			echo "killed by signal $(($1 - 128))?"
		elif [ $(($1 & 1)) -eq 1 ]; then
			echo "guest_exit($((($1 - 1) / 2)))"
		else
			echo "?"
		fi
		;;
	esac
}

timeout=${RHYVE_GUEST_TIMEOUT:-60}
out=$(mktemp "${TMPDIR:-/tmp}/rhyve-guest.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

echo "+ timeout $timeout $rhyve $*"
if [ -n "${RHYVE_GUEST_INPUT:-}" ]; then
	# The console's input: this file, typed a second after the start.
	{ sleep 1 && cat "$RHYVE_GUEST_INPUT"; } |
		timeout -k 5 "$timeout" "$rhyve" "$@" >"$out" 2>&1
	status=${PIPESTATUS[1]}
else
	timeout -k 5 "$timeout" "$rhyve" "$@" </dev/null >"$out" 2>&1
	status=$?
fi

echo "---- output ----"
cat "$out"
echo "---- end of output (exit status $status: $(status_name "$status")) ----"

fail=0
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "FAIL: rhyve did not finish within $timeout s"
	fail=1
elif [ "$expect" = any ] && [ "$status" -le 128 ]; then
	:
elif [ "$expect" = any ]; then
	echo "FAIL: exit status $status ($(status_name "$status")), expected a normal exit"
	fail=1
elif [ "$status" -ne "$expect" ]; then
	echo "FAIL: exit status $status ($(status_name "$status")), expected $expect ($(status_name "$expect"))"
	fail=1
fi
if ! grep -Eq -- "$regex" "$out"; then
	echo "FAIL: no line of the output matches /$regex/"
	fail=1
fi
if [ $fail -ne 0 ]; then
	exit 1
fi
echo "PASS"
exit 0
