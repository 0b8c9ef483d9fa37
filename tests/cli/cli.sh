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
	out_has '^acpi_tables=true$'  # the default, shown
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
bad-pci)
	# bad_s REGEX ARGS...: one clear line, status 4, before any VM.
	bad_s() {
		local re=$1; shift
		run 4 "$@" --kernel /k.elf vm0
		one_error_line
		err_has "$re"
	}
	bad_s 'unknown PCI model .virtio-net.' -s 3,virtio-net
	bad_s "bad slot '32'" -s 32,lpc
	bad_s "bad slot '1:8'" -s 1:8,lpc
	bad_s "bad slot 'x'" -s x,hostbridge
	bad_s 'expected slot\[:func\],model' -s 3
	bad_s 'only PCI bus 0' -s 1:0:0,lpc
	bad_s 'slot 0:0 is already configured' -s 0,hostbridge -s 0:0,lpc
	bad_s "'device' names the model" -s 3,hostbridge,device=lpc
	bad_s 'without function 0' -s 3:1,hostbridge
	bad_s 'unknown PCI model' -o pci.0.3.0.device=nope
	bad_s 'only PCI bus 0' -o pci.2.0.0.device=lpc
	;;
bad-cpus)
	# bad_c REGEX ARGS...: one clear line, status 4, before any VM.
	bad_c() {
		local re=$1; shift
		run 4 "$@" --kernel /k.elf vm0
		one_error_line
		err_has "$re"
	}
	bad_c "-c: '0' is not a count from 1 to 64" -c 0
	bad_c "-c: '65' is not a count from 1 to 64" -c 65
	bad_c "-c: 'x' is not a count from 1 to 64" -c x
	bad_c "-c: '' is not a count from 1 to 64" -c cpus=
	bad_c "-c: '2x' is not a count from 1 to 64" -c 2x
	bad_c "-c: '-1' is not a count from 1 to 64" -c sockets=-1
	bad_c "-c: unknown topology key 'dies'" -c 4,dies=2
	;;
bad-lpc)
	bad_l() {
		local re=$1; shift
		run 4 "$@" --kernel "$guests/hello.elf" vm0
		one_error_line
		err_has "$re"
	}
	bad_l "unknown LPC device 'com5' \\(-l help lists them\\)" -l com5,stdio
	bad_l "unknown LPC device 'nosuch'" -l nosuch
	bad_l "-l pc-testdev: invalid option name 'x.y'" -l pc-testdev,x.y=1
	bad_l "unknown LPC device 'lpc.nosuch' in the configuration" \
		-o lpc.nosuch.x=1
	# Backends are opened when the VM is built: still one line, status 4.
	need_kvm
	bad_l "com1: unknown console backend 'tty9'" -l com1,tty9
	bad_l "com1: cannot open /nonexistent/dir/x" -l com1,file:/nonexistent/dir/x
	;;
pci-help)
	run 0 -s help
	out_has '^hostbridge '
	out_has '^amd_hostbridge '
	out_has '^lpc '
	;;
bad-fwcfg)
	bad_f() {
		local re=$1; shift
		run 4 "$@" --kernel /k.elf vm0
		one_error_line
		err_has "$re"
	}
	bad_f 'expected \[name=\]NAME,string=TEXT' -f opt/x
	bad_f 'expected \[name=\]NAME,string=TEXT' -f opt/x,blob=1
	bad_f '1 to 55 bytes, not 56' \
		-f "opt/$(printf 'x%.0s' $(seq 52)),string=1"
	bad_f "'opt/x' is given twice" -f opt/x,string=1 -f name=opt/x,string=2
	bad_f 'cannot open /nonexistent/x: No such file' \
		-f opt/x,file=/nonexistent/x
	bad_f 'is not a regular file' -f "opt/x,file=$tmp"
	bad_f 'unknown fw_cfg setting' -o fwcfg.size=1
	;;
bad-topology)
	bad_c() {
		local re=$1; shift
		run 4 "$@" --kernel /k.elf vm0
		one_error_line
		err_has "$re"
	}
	bad_c "'0' is not a count from 1 to 64" -c 0
	bad_c "unknown topology key 'dies'" -c cpus=2,dies=2
	bad_c 'topology \(2 sockets, 2 cores, 1 threads\) does not match 2 vCPUs' \
		-c cpus=2,sockets=2,cores=2
	bad_c 'topology \(4 sockets, 1 cores, 1 threads\) does not match 2 vCPUs' \
		-c 2 -o sockets=4
	bad_c 'makes 128 vCPUs, more than 64' -c sockets=8,cores=4,threads=4
	bad_c 'cores=x: need a count from 1 to 64' -o cores=x
	;;
bad-pin)
	bad_p() {
		local re=$1; shift
		run 4 "$@" --kernel /k.elf vm0
		one_error_line
		err_has "$re"
	}
	bad_p 'want vcpu:hostcpu' -p 0
	bad_p 'want vcpu:hostcpu' -p x:1
	bad_p 'want vcpu:hostcpu with vcpu 0 to 63' -p 64:0
	bad_p 'hostcpu must be a CPU number' -p 0:
	bad_p 'hostcpu must be a CPU number' -p 0:1x
	bad_p 'this host has CPUs 0 to' -p 0:1000
	bad_p 'vcpu.1.cpuset: the VM has 1 vCPUs' -p 1:0
	bad_p "'3-1' is not a CPU or CPU range" -o vcpu.0.cpuset=3-1
	;;
pin)
	need_kvm
	# vCPU 0 pinned to host CPU 0 runs the guest; -p fills vcpu.N.cpuset.
	run 1 -p 0:0 -l com1,stdio -l pc-testdev --kernel "$guests/hello.elf" vm0
	out_has 'Hello from the rhyve hello guest'
	"$rhyve" -p 0:0 -c 2 -l com1,stdio -l pc-testdev -o config.dump=1 \
		--kernel "$guests/hello.elf" vm0 >"$tmp/out" 2>"$tmp/err"
	out_has '^vcpu.0.cpuset=0$'
	;;
pci-fwcfg-dump)
	run 0 -s 0,hostbridge -s 1,amd_hostbridge -s 2,hostbridge,vendor=0x8086 \
		-s 31,lpc -f opt/x,string=a,b -f name=opt/y,file=/etc/passwd \
		-o config.dump=1 --kernel /k.elf vm0
	out_has '^pci\.0\.0\.0\.device=hostbridge$'
	out_has '^pci\.0\.1\.0\.device=hostbridge$'
	out_has '^pci\.0\.1\.0\.vendor=0x1022$'
	out_has '^pci\.0\.2\.0\.vendor=0x8086$'
	out_has '^pci\.0\.31\.0\.device=lpc$'
	out_has '^fwcfg\.file\.0\.name=opt/x$'
	out_has '^fwcfg\.file\.0\.string=a,b$'
	out_has '^fwcfg\.file\.1\.path=/etc/passwd$'
	;;
bad-engine)
	run 4 --engine warp --kernel "$guests/hello.elf" vm0
	one_error_line
	err_has "unknown engine 'warp'"
	;;
bad-quantum)
	# vm.quantum: a count of instructions, and only where vCPUs take turns.
	for q in 0 -5 1e3 10x 1000000001 99999999999999999999; do
		run 4 --engine interp -o vm.quantum=$q --kernel "$guests/hello.elf" vm0
		one_error_line
		err_has "vm.quantum=.*: not a number of instructions from 1 to 1000000000"
	done
	need_kvm
	run 4 -o vm.quantum=1000 --kernel "$guests/hello.elf" vm0
	one_error_line
	err_has "vm.quantum: only an engine with virtual time \(interp\) runs the vCPUs in turns"
	;;
strict-io)
	need_kvm
	run 4 -e -l com1,stdio -l pc-testdev --kernel "$guests/unclaimed.elf" vm0
	err_has 'unclaimed port 0x[0-9a-f]+ \(rip 0x[0-9a-f]+: in (al|ax|eax), dx\) with strict I/O'
	;;
no-acpi)
	# -o acpi_tables=false: the acpi guest finds no RSDP, so its
	# assertion fails and, without pc-testdev, the vCPU halts (status 2).
	need_kvm
	run 2 -o acpi_tables=false -c 4 -l com1,stdio --kernel "$guests/acpi.elf" vm0
	out_has 'ASSERTION FAILED: acpi\.c:[0-9]+: found != NULL'
	;;
tiny-memory-acpi)
	# The tables need RAM at 0xf2400: 512 KiB of it is an error.
	need_kvm
	run 4 -m 512K -l com1,stdio --kernel "$guests/hello.elf" vm0
	one_error_line
	err_has 'no guest RAM at 0xf2400'
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
replay-cpuid)
	# The first checkpoint carries each vCPU's CPUID table and a replay
	# installs it: replayed with x86.deterministic=false, a table rebuilt
	# from the config would show the invariant TSC where this host has
	# it, and the guest would take another path (a divergence).
	need_kvm
	rt=$(dirname "$rhyve")/../tools/rhyvetrace/rhyvetrace
	run 1 -l com1,stdio -l pc-testdev -c cpus=4,sockets=1,cores=2,threads=2 \
		--deterministic --record "$tmp/c.rtr" \
		--kernel "$guests/cpuid_det.elf" vm0
	out_has '^cpuid: (AMD|Intel), deterministic: ok$'
	n=$("$rt" dump "$tmp/c.rtr" --kind cpuid | grep -c 'cpuid')
	[ "$n" -gt 40 ] || fail "only $n CPUID events recorded"
	"$rt" dump "$tmp/c.rtr" --kind cpuid | grep -q 'vcpu3 cpuid leaf=0x1 ' ||
		fail "no CPUID table of vCPU 3"
	run 1 --replay "$tmp/c.rtr" -l com1,stdio -o x86.deterministic=false
	out_has '^cpuid: (AMD|Intel), deterministic: ok$'
	err_has 'end state matches'
	;;
record)
	# --record writes a trace that rhyvetrace reads: the first checkpoint
	# (registers and the loaded kernel's pages), every exit with its
	# decode and its port access with the value, and the end status.
	need_kvm
	rt=$(dirname "$rhyve")/../tools/rhyvetrace/rhyvetrace
	run 1 -l com1,stdio -l pc-testdev --record "$tmp/pio.rtr" \
		--kernel "$guests/pio.elf" vm0
	out_has '^pio: ok$'
	err_has "^rhyve: recorded [0-9]+ events to $tmp/pio.rtr$"
	"$rt" verify "$tmp/pio.rtr" >"$tmp/verify" 2>&1 ||
		fail "rhyvetrace verify: $(cat "$tmp/verify")"
	"$rt" info "$tmp/pio.rtr" >"$tmp/info" || fail "rhyvetrace info"
	exits=$(awk '$1 == "exit" { print $2 }' "$tmp/info")
	pios=$(awk '$1 == "pio" { print $2 }' "$tmp/info")
	decodes=$(awk '$1 == "decode" { print $2 }' "$tmp/info")
	[ "${exits:-0}" -gt 100 ] || fail "only ${exits:-0} exits recorded"
	[ "$exits" = "$pios" ] || fail "$exits exits but $pios port accesses"
	[ "$exits" = "$decodes" ] || fail "$exits exits but $decodes decodes"
	grep -q '^  config.loader.kernel = ' "$tmp/info" ||
		fail "the header lacks the config tree"
	"$rt" dump "$tmp/pio.rtr" --kind ckpt_pages --addr 0x100000 |
		grep -q 'gpa=0x100000' || fail "no checkpoint of the kernel's pages"
	# The guest wrote 0x11223344 to the scratch port and read byte 0xe2.
	"$rt" dump "$tmp/pio.rtr" --port 0xe2 |
		grep -q 'pio in port=0xe2 bytes=1 data=22' ||
		fail "the IN value of port 0xe2 is not in the trace"
	"$rt" dump "$tmp/pio.rtr" --kind end | grep -q 'end status=1' ||
		fail "no end event with status 1"
	;;
record-interrupts)
	# Interrupts injected by kmod are recorded with their exit index.
	need_kvm
	rt=$(dirname "$rhyve")/../tools/rhyvetrace/rhyvetrace
	run 1 -l com1,stdio -l pc-testdev --record "$tmp/pic.rtr" \
		--kernel "$guests/pic.elf" vm0
	"$rt" dump "$tmp/pic.rtr" --kind inject >"$tmp/inj" ||
		fail "rhyvetrace dump"
	# The guest takes 200 IRQ0 (vector 32) from the PIT, and others.
	[ "$(grep -c 'inject extint vector=32 at=exit:[0-9]' "$tmp/inj")" \
		-ge 200 ] ||
		fail "fewer than 200 timer interrupts recorded: $(head -3 "$tmp/inj")"
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
gdb-options)
	# -G as bhyve: [w][addr:]port, [v6addr]:port, [w]pty[:link]
	run 0 -G 'w[::1]:1234' -o config.dump=1 --kernel /k.elf vm0
	out_has '^gdb.wait=true$'
	out_has '^gdb.address=::1$'
	out_has '^gdb.port=1234$'
	run 0 -G 127.0.0.1:0 -o config.dump=1 --kernel /k.elf vm0
	out_has '^gdb.address=127.0.0.1$'
	out_has '^gdb.port=0$'
	run 0 -G wpty:/tmp/vm0-gdb -o config.dump=1 --kernel /k.elf vm0
	out_has '^gdb.port=pty$'
	out_has '^gdb.link=/tmp/vm0-gdb$'
	;;
bad-gdb)
	for g in notaport 70000 '[::1' 'pty:' ':1234' -1; do
		run 4 -G "$g" --kernel /k.elf vm0
		one_error_line
		err_has '^rhyve: [-]G '
	done
	;;
gdb-replay)
	# A replay with a stub no debugger attaches to runs as without it.
	need_kvm
	run 1 -l pc-testdev --record "$tmp/hello.rtr" \
		--kernel "$guests/hello.elf" vm0
	run 1 --replay "$tmp/hello.rtr" -G 0
	err_has 'gdb: listening on'
	err_has 'end state matches'
	;;
gdb-ipv6-nowait)
	# Without w the guest runs as if no debugger were there; rhyve says
	# where it listens (IPv6 loopback, a free port).
	need_kvm
	run 1 -G '[::1]:0' -l com1,stdio -l pc-testdev \
		--kernel "$guests/hello.elf" vm0
	err_has '^rhyve: gdb: listening on ::1 port [0-9]+$'
	out_has '^Hello from the rhyve hello guest'
	;;
*)
	echo "unknown case $case_name"; exit 2
	;;
esac
echo "PASS: $case_name"
