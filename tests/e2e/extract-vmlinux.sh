#!/bin/bash
# extract-vmlinux.sh BZIMAGE OUT: write the uncompressed vmlinux ELF inside a
# bzImage to OUT (sluice boots it directly, skipping the decompressor).
# Tries each compressed-stream signature the kernel supports that this
# machine can decompress, and keeps the first result that is an ELF file.
set -eu
. "$(dirname "$0")/lib.sh"
[ $# -eq 2 ] || die "usage: extract-vmlinux.sh BZIMAGE OUT"
in=$1 out=$2
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT

# try SIGNATURE(grep -P) DECOMPRESSOR...: decompress from each match offset.
try() {
	local sig=$1 off
	shift
	command -v "$1" >/dev/null || return 1
	for off in $(LC_ALL=C grep -obUaP "$sig" "$in" | cut -d: -f1); do
		# trailing data after the stream makes some tools complain: judge the output
		tail -c "+$((off + 1))" "$in" | "$@" >"$tmp" 2>/dev/null || true
		if [ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			chmod 644 "$tmp"
			mv "$tmp" "$out"
			return 0
		fi
	done
	return 1
}

try '\x28\xb5\x2f\xfd' zstd -dcq ||
	try '\xfd\x37\x7a\x58\x5a\x00' xz -dcq ||
	try '\x1f\x8b\x08' gzip -dcq ||
	die "no vmlinux ELF found in $in"
