#!/bin/sh
# Install everything sluice needs to build and test on Debian 12 (apt only).
# Skips apt entirely when every package is already installed.
set -eu
PACKAGES="build-essential cmake pkg-config linux-libc-dev
qemu-system-x86 busybox-static cpio xz-utils kmod acpica-tools zstd python3
liburing-dev clang libclang-rt-14-dev iproute2 iperf3"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
