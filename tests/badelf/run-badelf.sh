#!/usr/bin/env bash
# Bad kernels through rhyve, end to end: each must make rhyve exit with
# status 4 (error) and exactly one line on stderr that names the file.
#
#   run-badelf.sh RHYVE HELLO-ELF [CASE...]
#
# The bad inputs are made from the built hello guest (HELLO-ELF): cut
# short (head -c, truncate), patched with printf | dd (machine, type, byte
# order, load address), too little guest memory (-m 1M), plus an empty
# file, a missing file, a text file and one larger than guest memory.
# Without CASE every case runs; `run-badelf.sh list` prints the cases.
# rhyve creates the VM before it loads the kernel, so this needs /dev/kvm:
# without it the script prints SKIP and exits 77 (ctest SKIP_RETURN_CODE).
set -u

cases="truncated truncated-header wrong-machine not-exec big-endian
	outside-memory too-small-memory empty missing not-elf too-large"

if [ "${1:-}" = list ]; then
	echo $cases
	exit 0
fi
if [ $# -lt 2 ]; then
	echo "usage: $0 RHYVE HELLO-ELF [CASE...]  (cases: $(echo $cases))" >&2
	exit 2
fi
rhyve=$1
hello=$2
shift 2
[ $# -gt 0 ] && cases=$*

. "$(dirname "$0")/../lib/kvm.sh"
. "$(dirname "$0")/../lib/badinput.sh"
require_kvm "rhyve needs it before loading"
if [ ! -x "$rhyve" ]; then
	echo "FAIL: rhyve binary $rhyve not found or not executable"
	exit 1
fi
if [ ! -s "$hello" ]; then
	echo "FAIL: hello guest $hello not found (build the guests first)"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rhyve-badelf.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# Little-endian unsigned integer of NBYTES bytes at OFFSET of FILE.
get_le() { # FILE OFFSET NBYTES
	od -An -v -t u"$3" -j "$2" -N "$3" "$1" | tr -d ' \n'
}

# Offset of the first PT_LOAD program header of FILE (ELF32 or ELF64)
# that has file data.
first_load() { # FILE
	local phoff phentsize phnum i ph filesz
	if [ "$(get_le "$1" 4 1)" = 2 ]; then
		phoff=$(get_le "$1" 32 8)
		phentsize=$(get_le "$1" 54 2)
		phnum=$(get_le "$1" 56 2)
	else
		phoff=$(get_le "$1" 28 4)
		phentsize=$(get_le "$1" 42 2)
		phnum=$(get_le "$1" 44 2)
	fi
	for ((i = 0; i < phnum; i++)); do
		ph=$((phoff + i * phentsize))
		[ "$(get_le "$1" $ph 4)" = 1 ] || continue # PT_LOAD
		if [ "$(get_le "$1" 4 1)" = 2 ]; then
			filesz=$(get_le "$1" $((ph + 32)) 8)
		else
			filesz=$(get_le "$1" $((ph + 16)) 4)
		fi
		if [ "$filesz" -gt 0 ]; then
			echo $ph
			return 0
		fi
	done
	echo "FAIL: no PT_LOAD with file data in $1" >&2
	return 1
}

# Point the first PT_LOAD of FILE at physical address ADDR.
patch_first_load() { # FILE ADDR
	local ph
	ph=$(first_load "$1") || return 1
	if [ "$(get_le "$1" 4 1)" = 2 ]; then
		put_le "$1" $((ph + 24)) 8 "$2"
	else
		put_le "$1" $((ph + 12)) 4 "$2"
	fi
}

# Cut FILE in the middle of the file data of its first PT_LOAD (a cut in
# the debug sections after the segments would still load fine).
truncate_first_load() { # FILE
	local ph off filesz
	ph=$(first_load "$1") || return 1
	if [ "$(get_le "$1" 4 1)" = 2 ]; then
		off=$(get_le "$1" $((ph + 8)) 8)
		filesz=$(get_le "$1" $((ph + 32)) 8)
	else
		off=$(get_le "$1" $((ph + 4)) 4)
		filesz=$(get_le "$1" $((ph + 16)) 4)
	fi
	truncate -s $((off + filesz / 2)) "$1"
}

# Make the input for CASE; print its path, the reason regex and the memory
# size, tab-separated.
make_case() {
	local f=$work/$1.elf
	case $1 in
	truncated)
		cp "$hello" "$f" && truncate_first_load "$f"
		printf '%s\t%s\t%s\n' "$f" "truncated ELF file" 64M ;;
	truncated-header)
		head -c 30 "$hello" >"$f"
		printf '%s\t%s\t%s\n' "$f" "truncated ELF file" 64M ;;
	wrong-machine)
		cp "$hello" "$f" && put_le "$f" 18 2 183
		printf '%s\t%s\t%s\n' "$f" "unsupported machine 183" 64M ;;
	not-exec)
		cp "$hello" "$f" && put_le "$f" 16 2 3
		printf '%s\t%s\t%s\n' "$f" "not an executable" 64M ;;
	big-endian)
		cp "$hello" "$f" && put_le "$f" 5 1 2
		printf '%s\t%s\t%s\n' "$f" "big-endian" 64M ;;
	outside-memory)
		cp "$hello" "$f" && patch_first_load "$f" $((0x7fff0000))
		printf '%s\t%s\t%s\n' "$f" "lies outside guest memory" 64M ;;
	too-small-memory)
		# The unmodified guest, linked at 1 MiB, in 1 MiB of memory.
		cp "$hello" "$f"
		printf '%s\t%s\t%s\n' "$f" "lies outside guest memory" 1M ;;
	empty)
		: >"$f"
		printf '%s\t%s\t%s\n' "$f" "empty file" 64M ;;
	missing)
		printf '%s\t%s\t%s\n' "$work/missing.elf" \
		    "No such file or directory" 64M ;;
	not-elf)
		printf 'this is a text file, not a kernel\n' >"$f"
		printf '%s\t%s\t%s\n' "$f" "not an ELF file" 64M ;;
	too-large)
		truncate -s 128M "$f"
		printf '%s\t%s\t%s\n' "$f" "larger than guest memory" 64M ;;
	*)
		echo "FAIL: unknown case $1" >&2
		return 1 ;;
	esac
}

timeout=${RHYVE_GUEST_TIMEOUT:-60}
failed=0
for c in $cases; do
	spec=$(make_case "$c") || { failed=1; continue; }
	IFS=$'\t' read -r file reason mem <<<"$spec"
	expect_error "$c" "$file" "$reason" "$rhyve" -m "$mem" -l com1,stdio \
	    -l pc-testdev --kernel "$file" bad
done
exit $failed
