#!/usr/bin/env bash
# Debian's kernel on the interp engine, SMP, to user space and back, then
# replayed: record a boot with two vCPUs into an initramfs whose /init
# (init.c) prints the CPU count and powers off (ACPI S5, status 1); replay
# the trace: the same console output, status and end state.  Prints how
# long each took.
#
#   run-linux-interp.sh RHYVE INIT
#
# RHYVE_LINUX_TIMEOUT (seconds, default 1800) bounds each run.  Exits 77
# (skipped) where Debian's kernel is not installed and cannot be.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rhyve=$1 init=$2
kernel=$(bash "$here/ensure-kernel.sh") || exit 77
work=$(mktemp -d "${TMPDIR:-/tmp}/rhyve-linux-interp.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
timeout=${RHYVE_LINUX_TIMEOUT:-1800}

mkdir -p "$work/root/proc" "$work/root/dev"
cp "$init" "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip) \
	>"$work/initrd.gz" || { echo "FAIL: cannot build the initramfs"; exit 1; }

start=$(date +%s)
timeout "$timeout" "$rhyve" --record "$work/linux.rtr" -m 512M -c 2 \
	-l com1,stdio --engine interp --kernel "$kernel" \
	--initrd "$work/initrd.gz" --cmdline "console=ttyS0 panic=-1" linux \
	</dev/null >"$work/rec.out" 2>"$work/rec.err"
status=$?
tail -n 5 "$work/rec.out"
cat "$work/rec.err"
[ $status = 1 ] || { echo "FAIL: the recording exited $status, expected 1"; exit 1; }
grep -q '^rhyve-init: user space with 2 cpus' "$work/rec.out" ||
	{ echo "FAIL: /init did not report 2 CPUs"; exit 1; }
echo "boot to user space and power-off: $(($(date +%s) - start)) s"

start=$(date +%s)
timeout "$timeout" "$rhyve" --replay "$work/linux.rtr" \
	</dev/null >"$work/rep.out" 2>"$work/rep.err"
status=$?
cat "$work/rep.err"
[ $status = 1 ] || { echo "FAIL: the replay exited $status, expected 1"; exit 1; }
cmp -s "$work/rec.out" "$work/rep.out" ||
	{ echo "FAIL: the replay's console output differs"; exit 1; }
grep -q "end state matches" "$work/rep.err" ||
	{ echo "FAIL: the replay did not confirm the end state"; exit 1; }
echo "replay: $(($(date +%s) - start)) s"
echo "PASS: Linux on interp with 2 vCPUs recorded and replayed"
