# Sourced by the scripts that feed rhyve bad kernels (tests/badelf,
# tests/linux): patching bytes, and running one case that must fail.
# The caller sets $work (a scratch directory), $timeout and $failed.

# Overwrite NBYTES bytes at OFFSET of FILE with VALUE, little-endian.
put_le() { # FILE OFFSET NBYTES VALUE
	local i esc=
	for ((i = 0; i < $3; i++)); do
		esc+=$(printf '\\x%02x' $((($4 >> (8 * i)) & 0xff)))
	done
	printf "$esc" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Run RHYVE ARGS... and require status 4 and exactly one line on stderr
# that names NAMED (unless it is -) and matches the extended regex
# REASON.  Prints PASS/FAIL CASE; a failure sets failed=1.
expect_error() { # CASE NAMED REASON RHYVE ARGS...
	local c=$1 named=$2 reason=$3 status lines bad=
	shift 3
	echo "+ $*"
	timeout -k 5 "$timeout" "$@" </dev/null >"$work/out" 2>"$work/err"
	status=$?
	echo "  exit status $status; stderr:"
	sed 's/^/  | /' "$work/err"
	if [ -s "$work/out" ]; then
		echo "  stdout:"
		sed 's/^/  | /' "$work/out"
	fi
	lines=$(wc -l <"$work/err")
	[ "$status" -eq 4 ] || bad="exit status $status, expected 4"
	[ "$lines" -eq 1 ] || bad="${bad:+$bad; }$lines lines on stderr, expected 1"
	if [ "$named" != - ] && ! grep -qF -- "$named" "$work/err"; then
		bad="${bad:+$bad; }stderr does not name $named"
	fi
	grep -qE -- "$reason" "$work/err" || bad="${bad:+$bad; }stderr does not say /$reason/"
	if [ -n "$bad" ]; then
		echo "FAIL $c: $bad"
		failed=1
	else
		echo "PASS $c"
	fi
}
