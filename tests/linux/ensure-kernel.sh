#!/usr/bin/env bash
# Print the path of Debian's kernel image: $RHYVE_LINUX_KERNEL, or the
# newest /boot/vmlinuz-*.  If there is none, install the package
# linux-image-amd64 first (as root with apt-get; one installer at a time,
# under a lock, for tests running in parallel).  Exits 77 (ctest's skip
# status) with a SKIP line on stderr where there is no kernel and none can
# be installed.  `make deps` installs the package too (DEBS).
set -u

newest() {
	ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1
}

if [ -n "${RHYVE_LINUX_KERNEL:-}" ]; then
	if [ -r "$RHYVE_LINUX_KERNEL" ]; then
		echo "$RHYVE_LINUX_KERNEL"
		exit 0
	fi
	echo "SKIP: RHYVE_LINUX_KERNEL=$RHYVE_LINUX_KERNEL is not readable" >&2
	exit 77
fi
kernel=$(newest)
if [ -z "$kernel" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "SKIP: no /boot/vmlinuz-*; install linux-image-amd64" \
		    "(needs root and apt-get)" >&2
		exit 77
	fi
	exec 9>"${TMPDIR:-/tmp}/rhyve-linux-image.lock"
	if ! flock -w 900 9; then
		echo "SKIP: timed out waiting for another installer" >&2
		exit 77
	fi
	kernel=$(newest) # installed by whoever held the lock
	if [ -z "$kernel" ]; then
		echo "installing linux-image-amd64 (Debian's kernel) ..." >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq --no-install-recommends \
		    linux-image-amd64 >&2 ||
		    { apt-get update -qq >&2 &&
			apt-get install -y -qq --no-install-recommends \
			    linux-image-amd64 >&2; }
		kernel=$(newest)
	fi
fi
if [ -z "$kernel" ]; then
	echo "SKIP: linux-image-amd64 could not be installed" >&2
	exit 77
fi
echo "$kernel"
