#!/usr/bin/env bash
# rhyvetrace(1) against the traces mktrace writes:
#	rhyvetrace.sh CASE RHYVETRACE MKTRACE
# mktrace.c documents the trace's layout (630 events, 2 vCPUs) that the
# expected numbers below come from.  Exit 77 = skipped (no python3).
set -u
case_name=$1 rt=$2 mk=$3
here=$(cd "$(dirname "$0")" && pwd)
# Under sanitizers a finding must not pass for exit status 1 (damage).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=87"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $case_name: $*"
	echo "--- stdout"; head -c 20000 "$tmp/out"
	echo "--- stderr"; cat "$tmp/err"
	exit 1
}

# run STATUS ARGS...: run rhyvetrace, expect STATUS
run() {
	local want=$1; shift
	timeout 120 "$rt" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	local got=$?
	[ "$got" = "$want" ] || fail "status $got, expected $want (rhyvetrace $*)"
}
out_has() { grep -qE -- "$1" "$tmp/out" || fail "stdout lacks /$1/"; }
out_lacks() { ! grep -qE -- "$1" "$tmp/out" || fail "stdout has /$1/"; }
err_has() { grep -qE -- "$1" "$tmp/err" || fail "stderr lacks /$1/"; }
out_lines() {
	local n; n=$(wc -l <"$tmp/out")
	[ "$n" = "$1" ] || fail "stdout has $n lines, expected $1"
}
# An error is exactly one line on stderr, starting with "rhyvetrace:".
one_error_line() {
	[ "$(wc -l <"$tmp/err")" = 1 ] || fail "expected one stderr line"
	err_has '^rhyvetrace: '
}
need_python() {
	command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
}
mktrace() { "$mk" "$@" || fail "mktrace $* failed"; }
# A copy of $1 with one bit flipped at byte offset $2.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 0x10)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

T=$tmp/t.rtr
mktrace "$T"

case $case_name in
help)
	run 0 --help
	out_has '^Usage: rhyvetrace'
	for c in info dump stats disasm diff export verify; do
		out_has "^  $c "
	done
	run 0 --version
	out_has '^rhyvetrace .* trace format 1\.'
	for c in info dump stats disasm diff export verify; do
		run 0 "$c" --help
		out_has "^Usage: rhyvetrace $c"
		run 0 help "$c"
		out_has "^Usage: rhyvetrace $c"
	done
	;;
usage)
	run 2
	one_error_line
	run 2 frobnicate "$T"
	one_error_line
	err_has "unknown command 'frobnicate'"
	run 2 --bogus
	one_error_line
	run 2 info
	one_error_line
	run 2 info "$T" "$T"
	one_error_line
	run 2 dump --kind nosuch "$T"
	one_error_line
	err_has "unknown event kind 'nosuch'"
	run 2 dump --port 0x10000 "$T"
	one_error_line
	run 2 dump --vcpu x "$T"
	one_error_line
	run 2 dump --from 10 --to 5 "$T"
	one_error_line
	run 2 dump --kind
	one_error_line
	err_has "needs a value"
	run 2 dump --nope "$T"
	one_error_line
	err_has "unknown option '--nope'"
	run 2 stats --top 0 "$T"
	one_error_line
	run 2 stats --interval -1 "$T"
	one_error_line
	run 2 disasm --mode 8 "$T"
	one_error_line
	run 2 diff "$T"
	one_error_line
	run 2 export --format=svg "$T"
	one_error_line
	run 2 export --from 9 --to 8 "$T"
	one_error_line
	run 2 verify
	one_error_line
	;;
missing-file)
	for c in info dump stats disasm export verify; do
		run 3 "$c" "$tmp/nonexistent.rtr"
		one_error_line
		err_has 'nonexistent.rtr'
	done
	run 3 diff "$T" "$tmp/nonexistent.rtr"
	one_error_line
	echo "not a trace at all, just text" >"$tmp/junk"
	run 3 info "$tmp/junk"
	one_error_line
	run 1 verify "$tmp/junk"   # readable but not a trace: damage
	;;
info)
	run 0 info "$T"
	out_has '^format: rhyve trace 1\.'
	out_has 'trace\.engine = kvm'
	out_has 'config\.name = mkvm'
	out_has 'config\.memory\.size = 64M'
	out_has 'mem\.0 = 0x0-0x4000000 sysmem'
	out_has '^events: 630$'
	out_has '^  exit +203$'
	out_has '^  decode +201$'
	out_has '^  pio +100$'
	out_has '^  mmio +100$'
	out_has '^  inject +11$'
	out_has '^  regs +2$'
	out_has '^  marker +2$'
	out_has '^  end +1$'
	out_has '^checkpoints: 1$'
	out_has '^duration: 0\.000314500 s'
	out_has '^frames: [0-9]+'
	out_has '^compression: '
	out_has '^integrity: footer ok'
	;;
dump-text)
	run 0 dump "$T"
	out_lines 630
	out_has '^#0 t=0\.000001000 vcpu0 ckpt_begin id=1 nvcpus=2$'
	out_has '^#7 t=[0-9.]+ vcpu0 exit inout rip=0x100040 len=1 exit#=0$'
	out_has '^#8 t=[0-9.]+ vcpu0 decode bytes=ee$'
	out_has '^#9 t=[0-9.]+ vcpu0 pio out port=0x3f8 bytes=1 data=41$'
	out_has '^#12 t=[0-9.]+ vcpu1 mmio read gpa=0xfee00030 bytes=4 value=0x50014$'
	out_has '^#13 t=[0-9.]+ vcpu0 inject extint vector=32 at=exit:1$'
	out_has 'vcpu0 regs count=7 rax=0x1234 rip=0x100000 cr0=0x80000011 efer=0x500 cs.access=0xa09b cs.base=0x0 msr:0xc0000080=0x500$'
	out_has 'vcpu1 marker text="done \\"q\\" \\\\ \\x01 \\xc3\\xbc"$'
	out_has 'vcpu1 exit engine-error rip=0x200020 len=0 exit#=100 error_reason=0x11 suberror=0x3 msg="KVM_RUN: \\"internal\\" error"$'
	out_has 'vcpu0 exit hlt rip=0x100050 len=1 exit#=100 rflags=0x202$'
	out_has 'vcpu0 exit suspended rip=0x100051 len=0 exit#=101 how=poweroff$'
	out_has 'vcpu0 input source=0 len=3 data="hi\\n"$'
	out_has 'vcpu0 inject exception vector=14 error=0x2 at=icount:12345$'
	out_has '^#629 .* vcpu0 end status=1$'
	;;
dump-json)
	need_python
	run 0 dump --json "$T"
	out_lines 630
	python3 - "$tmp/out" <<'EOF' || fail "JSON lines check"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert [e["index"] for e in evs] == list(range(630)), "indexes"
kinds = {}
for e in evs:
    kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
assert kinds["exit"] == 203 and kinds["pio"] == 100, kinds
e = evs[7]
assert e["kind"] == "exit" and e["reason"] == "inout" and e["rip"] == "0x100040", e
assert evs[9]["data"] == "41" and evs[9]["port"] == "0x3f8", evs[9]
assert evs[8]["bytes"] == "ee", evs[8]
m = [e for e in evs if e["kind"] == "marker"]
assert m[1]["text"] == 'done "q" \\ \x01 \u00fc', repr(m[1]["text"])
err = [e for e in evs if e["kind"] == "exit" and e["reason"] == "engine-error"]
assert err[0]["msg"] == 'KVM_RUN: "internal" error', err
assert err[0]["error_reason"] == "0x11" and err[0]["info"][1] == "0x3", err
s = [e for e in evs if e["kind"] == "exit" and e["reason"] == "suspended"]
assert s[0]["how"] == "poweroff", s
d = [e for e in evs if e["kind"] == "dma"][0]
assert d["data"] == "d0d1d2d3d4d5d6d7", d
r = [e for e in evs if e["kind"] == "regs"][0]
assert r["regs"]["cs.access"] == "0xa09b", r
EOF
	;;
dump-filters)
	# Known answers from mktrace's layout ...
	run 0 dump --kind exit "$T"
	out_lines 203
	out_lacks ' pio '
	run 0 dump --kind exit,pio --vcpu 0 "$T"
	out_lines 202     # 102 exits and 100 port writes of vCPU 0
	run 0 dump --from 7 --to 12 "$T"
	out_lines 6
	out_has '^#7 '
	out_has '^#12 '
	run 0 dump --port 0x3f8 "$T"
	out_lines 100
	run 0 dump --port 0x3f0-0x3f7 "$T"
	out_lines 0
	run 0 dump --port 0x3f0-0x3ff "$T"
	out_lines 100
	run 0 dump --addr 0xfee00030 "$T"
	out_lines 100
	run 0 dump --addr 0x300004-0x300100 "$T"   # inside the 8-byte DMA
	out_lines 1
	out_has ' dma gpa=0x300000 len=8 data=d0d1d2d3d4d5d6d7$'
	run 0 dump --addr 0x101fff "$T"            # last byte of the pages
	out_lines 1
	out_has ' ckpt_pages gpa=0x100000 npages=2$'
	run 0 dump --rip 0x200000-0x2fffff "$T"
	out_lines 101
	run 0 dump --limit 5 "$T"
	out_lines 5
	run 0 dump --from 600 --limit 3 "$T"
	out_lines 3
	out_has '^#600 '
	out_has '^#602 '
	run 0 dump --kind ckpt-begin,MARKER "$T"
	out_lines 3
	run 0 dump --from 630 "$T"
	out_lines 0
	run 0 dump --from 5000 "$T"
	out_lines 0
	# ... and filter combinations against python's reading of the
	# unfiltered JSON dump.
	need_python
	run 0 dump --json "$T"
	cp "$tmp/out" "$tmp/all.json"
	while read -r args; do
		# shellcheck disable=SC2086
		run 0 dump --json $args "$T"
		# shellcheck disable=SC2086
		python3 "$here/filtercheck.py" "$tmp/all.json" "$tmp/out" $args ||
			fail "filter $args"
	done <<'ARGS'
--vcpu 1
--vcpu 1 --kind mmio --from 100 --to 200
--kind exit --vcpu 0 --rip 0x100040
--kind decode,inject --from 300
--from 17 --to 18
--port 0x3f8 --vcpu 1
--addr 0xfee00000-0xfee00fff --from 400
--kind exit,pio,mmio --limit 17 --from 250
--vcpu 0 --to 40
ARGS
	;;
stats)
	run 0 stats "$T"
	out_has '^events: 630, exits: 203$'
	out_has '^  inout +100 +49\.26%$'
	out_has '^  mmio +100 '
	out_has '^  hlt +1 '
	out_has '^  suspended +1 '
	out_has '^  engine-error +1 '
	out_has '^  0 +[0-9]+ +102 +100 +0 +1 +1 +0$'   # vcpu events exits inout mmio hlt susp err
	out_has '^  1 +[0-9]+ +101 +0 +100 +0 +0 +1$'
	out_has '^top ports \(100 accesses\):$'
	out_has '^  0x3f8 +100 +100\.00% +0 +100$'
	out_has '^top MMIO addresses \(100 accesses\):$'
	out_has '^  0xfee00030 +100 +100\.00% +100 +0$'
	out_has '^exits over time \(interval '
	# the histogram rows add up to the exits
	sum=$(sed -n '/^exits over time/,$p' "$tmp/out" | awk 'NR > 1 { s += $3 } END { print s }')
	[ "$sum" = 203 ] || fail "histogram sums to $sum, not 203"
	run 0 stats --interval 0.1 --mmio-page --top 1 "$T"
	out_has '^exits over time \(interval 0\.1 ms'
	rows=$(sed -n '/^exits over time/,$p' "$tmp/out" | awk 'NR > 1' | wc -l)
	[ "$rows" = 4 ] || fail "$rows histogram rows at 0.1 ms, expected 4"
	out_has '^top MMIO pages '
	out_has '^  0xfee00000 +100 '
	;;
disasm)
	run 0 disasm "$T"
	out_has '^201 decode events, 3 distinct instructions$'
	out_has '^ +100 +49\.75% +0x100040 +64 +ee +out dx, al$'
	out_has '^ +100 +49\.75% +0x200010 +64 +8b 03 +mov eax, dword ptr \[rbx\]$'
	out_has '^ +1 +0\.50% +0x100050 +64 +f4 +hlt$'
	out_has '^ +100 +49\.75% +out$'
	run 0 disasm --att "$T"
	out_has ' ee +outb? %al, %dx$'
	out_has ' 8b 03 +movl \(%rbx\), %eax$'
	run 0 disasm --mode 32 --top 1 "$T"
	out_has '^ +100 +49\.75% +0x100040 +32 +ee +out dx, al$'
	out_has '\(2 more\)'
	mktrace --change "$tmp/c.rtr"
	run 0 disasm "$tmp/c.rtr"
	out_has '^ +99 .* 0x100040 .* out dx, al$'
	out_has '^ +1 .* 0x100044 .* out dx, al$'
	;;
disasm-none)
	mktrace --no-decode "$tmp/n.rtr"
	run 0 disasm "$tmp/n.rtr"
	out_has '^no DECODE events'
	;;
diff)
	mktrace "$tmp/same.rtr"
	run 0 diff "$T" "$tmp/same.rtr"
	out_has '^identical \(630 events\)$'
	out_lacks '^note'
	mktrace --change "$tmp/c.rtr"
	run 1 diff "$T" "$tmp/c.rtr"
	out_has '^traces differ at event 264 \(vcpu 0 exit #42\): rip 0x100040 vs 0x100044$'
	out_has '^  A: #264 .* rip=0x100040 '
	out_has '^  B: #264 .* rip=0x100044 '
	run 1 diff "$tmp/c.rtr" "$T"
	out_has '^traces differ at event 264 .*: rip 0x100044 vs 0x100040$'
	mktrace --short "$tmp/s.rtr"
	run 1 diff "$T" "$tmp/s.rtr"
	out_has '^traces differ at event 319: B ends after 319 events, A goes on$'
	out_has '^  A: #319 '
	run 1 diff "$tmp/s.rtr" "$T"
	out_has '^traces differ at event 319: A ends after 319 events, B goes on$'
	mktrace --name other "$tmp/h.rtr"
	run 0 diff "$T" "$tmp/h.rtr"
	out_has '^note: header config\.name differs: mkvm vs other$'
	out_has '^identical \(630 events\)$'
	run 0 diff --time "$T" "$tmp/same.rtr"
	mktrace --slow "$tmp/slow.rtr"
	run 0 diff "$T" "$tmp/slow.rtr"       # times are ignored ...
	run 1 diff --time "$T" "$tmp/slow.rtr" # ... unless asked for
	out_has '^traces differ at event 1 \(vcpu 0 regs\): time 1500 vs 1600 ns$'
	;;
export)
	need_python
	run 0 export --format=chrome "$T"
	cp "$tmp/out" "$tmp/stdout.json"
	run 0 export -o "$tmp/t.json" "$T"
	[ -s "$tmp/out" ] && fail "stdout not empty with -o"
	cmp -s "$tmp/t.json" "$tmp/stdout.json" || fail "-o and stdout differ"
	python3 "$here/chromecheck.py" "$tmp/t.json" || fail "chrome JSON check"
	# a window of events 20..30: exits 20, 23, 26, 29
	run 0 export --from 20 --to 30 "$T"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
x = [e["args"]["index"] for e in d["traceEvents"] if e["ph"] == "X"]
assert x == [20, 23, 26, 29], x' "$tmp/out" || fail "export window"
	;;
verify)
	run 0 verify "$T"
	out_has '^ok: 630 events in [0-9]+ frames, footer ok$'
	out_lines 1
	;;
verify-truncated)
	size=$(stat -c %s "$T")
	head -c $((size / 2)) "$T" >"$tmp/cut.rtr"
	run 1 verify "$tmp/cut.rtr"
	out_has '^no usable footer index \(cut off or damaged\); [0-9]+ events readable$'
	out_has 'damage at offset [0-9]+: '
	run 1 dump "$tmp/cut.rtr"
	err_has '^rhyvetrace: damage at offset [0-9]+: '
	n=$(wc -l <"$tmp/out")
	[ "$n" -gt 0 ] && [ "$n" -lt 630 ] || fail "$n events dumped from half a trace"
	run 0 info "$T"   # sanity: the original is fine
	run 1 info "$tmp/cut.rtr"
	out_has '^integrity: damage at offset [0-9]+'
	need_python
	run 1 dump --json "$tmp/cut.rtr"
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' \
		"$tmp/out" || fail "dump --json of a damaged trace"
	run 1 export "$tmp/cut.rtr"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" ||
		fail "export of a damaged trace is not whole JSON"
	;;
verify-bitflip)
	size=$(stat -c %s "$T")
	cp "$T" "$tmp/flip.rtr"
	flip "$tmp/flip.rtr" $((size / 2))
	run 1 verify "$tmp/flip.rtr"
	out_has '^damage at offset [0-9]+: '
	out_has '^damaged: '
	run 1 dump "$tmp/flip.rtr"
	err_has '^rhyvetrace: damage at offset [0-9]+: '
	run 1 stats "$tmp/flip.rtr"
	err_has '^rhyvetrace: damage at offset [0-9]+: '
	run 1 diff "$T" "$tmp/flip.rtr"
	;;
verify-sweep)
	# A flipped bit anywhere (header, frames, footer) is found by verify;
	# no subcommand crashes on it.
	size=$(stat -c %s "$T")
	step=$((size / 60 + 1))
	for ((off = 0; off < size; off += step)); do
		cp "$T" "$tmp/f.rtr"
		flip "$tmp/f.rtr" "$off"
		timeout 60 "$rt" verify "$tmp/f.rtr" >"$tmp/out" 2>"$tmp/err"
		st=$?
		[ "$st" = 1 ] || fail "verify status $st with a bit flipped at $off"
		for c in info dump stats disasm export; do
			timeout 60 "$rt" "$c" "$tmp/f.rtr" >"$tmp/out" 2>"$tmp/err"
			st=$?
			case $st in 0|1|3) ;; *) fail "$c status $st, bit flipped at $off";; esac
		done
	done
	;;
verify-nofooter)
	mktrace --no-footer "$tmp/nf.rtr"
	run 1 verify "$tmp/nf.rtr"
	out_has '^no footer index \(the recording did not close cleanly\); 630 events readable$'
	out_lacks 'damage at'
	run 0 info "$tmp/nf.rtr"
	out_has '^events: 630$'
	out_has '^integrity: no footer index'
	run 0 dump "$tmp/nf.rtr"
	out_lines 630
	;;
*)
	fail "unknown case"
	;;
esac
exit 0
