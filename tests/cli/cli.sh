#!/usr/bin/env bash
# Command-line behaviour of rhyve(8): cli.sh CASE RHYVE GUEST_DIR
# Each case runs rhyve and checks its status and output.  Cases that boot a
# guest need /dev/kvm and exit 77 (skipped) without it.
set -u
case_name=$1 rhyve=$2 guests=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $case_name: $*"; echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"; exit 1; }

# run STATUS ARGS...: run rhyve, expect STATUS
run() {
	local want=$1; shift
	timeout 60 "$rhyve" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	local got=$?
	[ "$got" = "$want" ] || fail "status $got, expected $want (rhyve $*)"
}
out_has() { grep -qE -- "$1" "$tmp/out" || fail "stdout lacks /$1/"; }
err_has() { grep -qE -- "$1" "$tmp/err" || fail "stderr lacks /$1/"; }
# An error is exactly one line on stderr, starting with "rhyve:".
one_error_line() {
	[ "$(wc -l <"$tmp/err")" = 1 ] || fail "expected one stderr line"
	err_has '^rhyve: '
}
need_kvm() {
	if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		echo "SKIP: /dev/kvm not usable"; exit 77
	fi
}

case $case_name in
help)
	run 0 -h
	out_has '^Usage: rhyve'
	out_has -- '--kernel'
	;;
lpc-help)
	run 0 -l help
	out_has '^com1'
	out_has '^com4'
	out_has '^pc-testdev'
	;;
config-dump)
	printf 'memory.size=32M\nuser.note = from file\n' >"$tmp/vm.conf"
	run 0 -k "$tmp/vm.conf" -m 64M -c 2 -l com1,stdio -l pc-testdev \
		-o user.extra=1 -o config.dump=1 --kernel /k.elf vm0
	out_has '^name=vm0$'
	out_has '^memory.size=64M$'   # -m after -k overrides
	out_has '^user.note=from file$'
	out_has '^cpus=2$'
	out_has '^lpc.com1.path=stdio$'
	out_has '^loader.kernel=/k.elf$'
	out_has '^user.extra=1$'
	;;
bad-option)
	run 4 -Z vm0
	err_has 'Usage'
	;;
bad-memsize)
	run 4 -m lots --kernel /k.elf vm0
	one_error_line
	err_has 'lots'
	;;
bad-config-file)
	printf 'ok=1\nthis line is bad\n' >"$tmp/bad.conf"
	run 4 -k "$tmp/bad.conf" vm0
	one_error_line
	err_has 'bad.conf:2:'
	;;
no-kernel)
	run 4 -m 64M vm0
	one_error_line
	err_has -- '--kernel'
	;;
no-name)
	run 4 --kernel /k.elf
	err_has 'no VM name'
	;;
pci-refused)
	run 4 -s 3,virtio-net --kernel /k.elf vm0
	one_error_line
	err_has 'PCI'
	;;
bad-engine)
	run 4 --engine warp --kernel "$guests/hello.elf" vm0
	one_error_line
	err_has "unknown engine 'warp'"
	;;
strict-io)
	need_kvm
	run 4 -e -l com1,stdio -l pc-testdev --kernel "$guests/unclaimed.elf" vm0
	err_has 'unclaimed port 0x[0-9a-f]+ \(rip 0x[0-9a-f]+: in (al|ax|eax), dx\) with strict I/O'
	;;
file-console)
	need_kvm
	run 1 -l "com1,file:$tmp/console.log" -l pc-testdev \
		--kernel "$guests/hello.elf" vm0
	grep -q 'Hello from the rhyve hello guest' "$tmp/console.log" ||
		fail "console file lacks the greeting"
	[ ! -s "$tmp/out" ] || fail "guest output leaked to stdout"
	;;
no-console)
	# Without a COM1 backend the guest's output goes nowhere, but it runs.
	need_kvm
	run 1 -l pc-testdev --kernel "$guests/hello.elf" vm0
	[ ! -s "$tmp/out" ] || fail "output without a console"
	;;
unhandled-mmio)
	# Without pc-testdev the mmio guest's loads at 0xff000000 hit nothing.
	need_kvm
	run 4 -l com1,stdio --kernel "$guests/mmio.elf" vm0
	err_has 'unhandled MMIO (read|write) of [1248] bytes at gpa 0xff0000[0-9a-f]* \(rip 0x[0-9a-f]+: mov'
	;;
kvm-denied)
	# Without access to /dev/kvm: one clear line, status 4.  Needs root to
	# drop to an unprivileged user who cannot open it.
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
		echo "SKIP: needs root and setpriv"; exit 77
	fi
	# Copies, so that the build tree need not be readable by nobody.
	cp "$guests/hello.elf" "$rhyve" "$tmp/"
	chmod 755 "$tmp"
	timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$tmp/$(basename "$rhyve")" -l pc-testdev --kernel "$tmp/hello.elf" vm0 \
		</dev/null >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ -r /dev/kvm ] && setpriv --reuid=65534 --regid=65534 \
		--clear-groups test -w /dev/kvm; then
		echo "SKIP: nobody may use /dev/kvm here"; exit 77
	fi
	[ "$got" = 4 ] || fail "status $got, expected 4"
	one_error_line
	err_has '/dev/kvm'
	;;
*)
	echo "unknown case $case_name"; exit 2
	;;
esac
echo "PASS: $case_name"
