#!/usr/bin/env bash
# Malformed Linux bzImages and multiboot kernels through rhyve, end to
# end: each must make rhyve exit with status 4 (error) and exactly one
# line on stderr that names the file at fault and says what is wrong.
#
#   run-badkernel.sh RHYVE HELLO-ELF [CASE...]
#
# The images are made here (printf | dd into a zero-filled file): a
# minimal bzImage header (protocol 2.15, 64-bit, relocatable) and a
# minimal multiboot image with address fields, each then broken in one
# way; HELLO-ELF (a plain ELF test guest) is given a command line.
# Without CASE every case runs; `run-badkernel.sh list` prints the cases.
# rhyve creates the VM before it loads the kernel, so on kvm this needs
# /dev/kvm: without it the script prints SKIP and exits 77 (ctest
# SKIP_RETURN_CODE).  RHYVE_ENGINE_ARGS="--engine interp" runs it on interp.
set -u

cases="bz-truncated bz-old-protocol bz-32bit bz-zimage bz-init-size
	bz-payload bz-corrupt-payload bz-cmdline bz-initrd-missing
	bz-initrd-too-big mb-checksum mb-flags mb-truncated mb-boot-area
	mb-not-elf elf-cmdline decompress-option"

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
require_engine "rhyve needs it before loading"
if [ ! -x "$rhyve" ]; then
	echo "FAIL: rhyve binary $rhyve not found or not executable"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rhyve-badkernel.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

put_str() { # FILE OFFSET STRING
	printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# A bzImage: 1 setup sector after the boot sector, 3 KiB of kernel with
# a 256-byte payload at 0x400 of it, to run at 16 MiB in 4 MiB.
make_bz() { # FILE
	truncate -s 0 "$1"
	truncate -s 4096 "$1"
	put_le "$1" $((0x1f1)) 1 1           # setup_sects
	put_le "$1" $((0x1f4)) 4 $((3072 / 16)) # syssize
	put_le "$1" $((0x1fe)) 2 $((0xaa55)) # boot_flag
	put_le "$1" $((0x200)) 2 $((0x6aeb)) # jmp: header ends at 0x26c
	put_str "$1" $((0x202)) HdrS
	put_le "$1" $((0x206)) 2 $((0x020f)) # protocol 2.15
	put_le "$1" $((0x211)) 1 1           # LOADED_HIGH
	put_le "$1" $((0x22c)) 4 $((0x7fffffff)) # initrd_addr_max
	put_le "$1" $((0x230)) 4 $((0x200000))   # kernel_alignment
	put_le "$1" $((0x234)) 1 1           # relocatable
	put_le "$1" $((0x236)) 2 $((0x7f))   # XLF_KERNEL_64 ...
	put_le "$1" $((0x238)) 4 $((0x7ff))  # cmdline_size
	put_le "$1" $((0x248)) 4 $((0x400))  # payload_offset
	put_le "$1" $((0x24c)) 4 $((0x100))  # payload_length
	put_le "$1" $((0x258)) 8 $((0x1000000)) # pref_address
	put_le "$1" $((0x260)) 4 $((0x400000))  # init_size
}

# A multiboot image with address fields: header at 0, loaded at 1 MiB.
make_mb() { # FILE FLAGS
	local flags=${2:-$((0x10003))}
	truncate -s 0 "$1"
	truncate -s 512 "$1"
	put_le "$1" 0 4 $((0x1badb002))
	put_le "$1" 4 4 "$flags"
	put_le "$1" 8 4 $(((-(0x1badb002 + flags)) & 0xffffffff))
	put_le "$1" 12 4 $((0x100000)) # header_addr
	put_le "$1" 16 4 $((0x100000)) # load_addr
	put_le "$1" 20 4 $((0x100200)) # load_end_addr
	put_le "$1" 24 4 $((0x101000)) # bss_end_addr
	put_le "$1" 28 4 $((0x100020)) # entry_addr
	put_le "$1" 32 4 $((0xfdebf4fa)) # cli; hlt; jmp .-1
}

# Make the input for CASE; print the kernel's path, the path stderr must
# name, the reason regex, the memory size and an extra argument,
# tab-separated ("-" for none: read merges empty fields).
make_case() {
	local f=$work/$1.img
	case $1 in
	bz-truncated)
		make_bz "$f" && truncate -s $((0x240)) "$f"
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "truncated bzImage: the setup header ends at 0x26c" 64M - ;;
	bz-old-protocol)
		make_bz "$f" && put_le "$f" $((0x206)) 2 $((0x0204))
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "Linux boot protocol 2.04 is too old" 64M - ;;
	bz-32bit)
		make_bz "$f" && put_le "$f" $((0x236)) 2 0
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "no 64-bit entry point" 64M - ;;
	bz-zimage)
		make_bz "$f" && put_le "$f" $((0x211)) 1 0
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "without LOADED_HIGH" 64M - ;;
	bz-init-size)
		make_bz "$f" && put_le "$f" $((0x260)) 4 $((0x10000000))
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "init_size 0x10000000 at 0x1000000\\), beyond low guest memory" \
		    64M - ;;
	bz-payload)
		make_bz "$f" && put_le "$f" $((0x248)) 4 $((0x7fff0000))
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "the payload \\[0x7fff0000, 0x7fff0100\\) lies outside the kernel" \
		    64M - ;;
	bz-corrupt-payload)
		make_bz "$f" && put_le "$f" $((1024 + 0x400)) 6 $((0x005a587a37fd))
		put_le "$f" $((1024 + 0x406)) 8 $((0x1234567812345678))
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "the xz payload cannot be decompressed" 64M - ;;
	bz-cmdline)
		make_bz "$f" && put_le "$f" $((0x238)) 4 8
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "the command line has 19 bytes, the kernel takes at most 8" \
		    64M "--cmdline=console=ttyS0 quiet" ;;
	bz-initrd-missing)
		make_bz "$f"
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$work/none.cpio" \
		    "No such file or directory" 64M "--initrd=$work/none.cpio" ;;
	bz-initrd-too-big)
		make_bz "$f" && truncate -s 50M "$work/big.cpio"
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "the initrd \\(52428800 bytes\\) does not fit between the kernel's end" \
		    64M "--initrd=$work/big.cpio" ;;
	mb-checksum)
		make_mb "$f" && put_le "$f" 8 4 0x12345678
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "multiboot header at 0x0: bad checksum 0x12345678" 64M - ;;
	mb-flags)
		make_mb "$f" $((0x10013))
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "requires features rhyve does not provide" 64M - ;;
	mb-truncated)
		make_mb "$f" && put_le "$f" 20 4 $((0x100400))
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "truncated multiboot kernel" 64M - ;;
	mb-boot-area)
		make_mb "$f" && put_le "$f" 12 4 $((0x8000)) &&
		    put_le "$f" 16 4 $((0x8000)) &&
		    put_le "$f" 20 4 $((0x8200)) && put_le "$f" 24 4 0 &&
		    put_le "$f" 28 4 $((0x8020))
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "overlaps the loader's boot area" 64M - ;;
	mb-not-elf)
		make_mb "$f" 3
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$f" \
		    "no address fields \\(flag 16\\) and not an ELF file" 64M - ;;
	elf-cmdline)
		printf '%s\t%s\t%s\t%s\t%s\n' "$hello" "$hello" \
		    "a plain ELF kernel takes no command line or initrd" 64M \
		    "--cmdline=hello" ;;
	decompress-option)
		make_bz "$f"
		printf '%s\t%s\t%s\t%s\t%s\n' "$f" - \
		    "loader.decompress=maybe: want host or guest" 64M \
		    "-oloader.decompress=maybe" ;;
	*)
		echo "FAIL: unknown case $1" >&2
		return 1 ;;
	esac
}

timeout=${RHYVE_GUEST_TIMEOUT:-60}
failed=0
for c in $cases; do
	spec=$(make_case "$c") || { failed=1; continue; }
	IFS=$'\t' read -r file named reason mem extra <<<"$spec"
	args=(-m "$mem" -l com1,stdio "${engine_args[@]}")
	[ "$extra" != - ] && args+=("$extra")
	expect_error "$c" "$named" "$reason" "$rhyve" "${args[@]}" \
	    --kernel "$file" bad
done
exit $failed
