#!/usr/bin/env bash
# Boot Debian's kernel (linux-image-amd64) under rhyve on kvm and wait for
# its first console lines, then stop rhyve (SIGTERM): on hosts that
# emulate guest kernel code (PVM) a boot to user space takes too long for
# the suite (linux.interp-smp boots to user space on interp), so the test
# passes when these lines have appeared on COM1:
#   Linux version ...                      the banner (earlyprintk=serial)
#   Command line: <ours>                   the command line arrived
#   BIOS-e820: [mem 0x...100000-0x...1fffffff] usable   our e820 map
#   RAMDISK: [mem 0x...-0x1fffffff]        (--initrd) where rhyve put it
# and prints how long the banner took.
#
#   run-linux.sh RHYVE [initrd] [guest]
#
# initrd: also pass /boot/initrd.img-VERSION (or a small generated one);
# guest: -o loader.decompress=guest (the kernel decompresses itself; slow
# on hosts that emulate guest kernel code, so skipped unless
# RHYVE_LINUX_SLOW=1).  RHYVE_LINUX_TIMEOUT (seconds, default 600, or
# 3600 with guest) bounds the wait.  Exits 77 (skipped) without /dev/kvm or
# where Debian's kernel is not installed and cannot be.
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
	echo "usage: $0 RHYVE [initrd] [guest]" >&2
	exit 2
fi
rhyve=$1
shift
use_initrd=
decompress=host
for a in "$@"; do
	case $a in
	initrd) use_initrd=1 ;;
	guest) decompress=guest ;;
	*) echo "unknown argument $a" >&2; exit 2 ;;
	esac
done

if [ "$decompress" = guest ] && [ "${RHYVE_LINUX_SLOW:-0}" != 1 ]; then
	echo "SKIP: the kernel decompressing itself takes very long where" \
	    "guest kernel code is emulated; set RHYVE_LINUX_SLOW=1 to run it"
	exit 77
fi
. "$(dirname "$0")/../lib/kvm.sh"
require_kvm
if [ ! -x "$rhyve" ]; then
	echo "FAIL: rhyve binary $rhyve not found or not executable"
	exit 1
fi
kernel=$(bash "$here/ensure-kernel.sh") || exit 77

work=$(mktemp -d "${TMPDIR:-/tmp}/rhyve-linux.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

mem_mb=512
cmdline="earlyprintk=serial console=ttyS0 rhyve.test=$$"
args=(-m ${mem_mb}M -l com1,stdio -o loader.decompress=$decompress
	--kernel "$kernel" --cmdline "$cmdline")
want=("Linux version "
	"Command line: $cmdline"
	"BIOS-e820: [mem 0x0000000000100000-0x000000001fffffff] usable")
if [ -n "$use_initrd" ]; then
	initrd=/boot/initrd.img-${kernel#/boot/vmlinuz-}
	if [ ! -r "$initrd" ]; then
		initrd=$work/initrd
		head -c 3000000 /dev/urandom >"$initrd"
	fi
	size=$(stat -c %s "$initrd")
	# The highest page-aligned place below the end of memory.
	start=$(((mem_mb * 1024 * 1024 - size) & ~0xfff))
	args+=(--initrd "$initrd")
	want+=("$(printf 'RAMDISK: [mem 0x%08x-0x%08x]' $start \
	    $((mem_mb * 1024 * 1024 - 1)))")
fi

timeout=${RHYVE_LINUX_TIMEOUT:-600}
[ "$decompress" = guest ] && timeout=${RHYVE_LINUX_TIMEOUT:-3600}
echo "+ $rhyve ${args[*]} linux"
start_ns=$(date +%s%N)
"$rhyve" "${args[@]}" linux </dev/null >"$work/out" 2>&1 &
pid=$!

elapsed() { # seconds since the start, one decimal
	local now
	now=$(date +%s%N)
	echo "$(((now - start_ns) / 1000000000)).$((((now - start_ns) / 100000000) % 10))"
}

banner=
status=
while :; do
	if [ -z "$banner" ] && grep -q "Linux version " "$work/out"; then
		banner=$(elapsed)
		echo "\"Linux version\" after $banner s"
	fi
	missing=
	for w in "${want[@]}"; do
		grep -qF -- "$w" "$work/out" || { missing=$w; break; }
	done
	[ -z "$missing" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		status=$?
		pid=
		break
	fi
	if [ "$(((($(date +%s%N) - start_ns) / 1000000000)))" -ge "$timeout" ]; then
		status=timeout
		break
	fi
	sleep 0.2
done
total=$(elapsed)
if [ -n "$pid" ]; then
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
fi

echo "---- console (first 40 lines) ----"
head -n 40 "$work/out"
echo "---- end of console ----"
if [ -n "$missing" ]; then
	if [ "$status" = timeout ]; then
		echo "FAIL: no \"$missing\" within $timeout s"
	else
		echo "FAIL: rhyve exited with status $status before \"$missing\""
	fi
	exit 1
fi
echo "PASS: Debian's kernel ($kernel, decompressed by the $decompress)" \
    "printed its banner after $banner s, all expected lines after $total s"
exit 0
