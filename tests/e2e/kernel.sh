#!/bin/bash
# kernel.sh [SERIES]: make a Debian kernel available in the cache and print
# where it is, as shell assignments for eval:
#   KVER=6.12.117+deb12-amd64  KROOT=<dir with boot/ and lib/modules/>
#   VMLINUZ=<KROOT>/boot/vmlinuz-KVER
#   VMLINUX=<KROOT>/boot/vmlinux-KVER (the uncompressed ELF inside it, extracted once)
# SERIES defaults to 6.12. The newest linux-image-SERIES.*+deb12-amd64-unsigned
# known to apt is used; it is downloaded once into $SLUICE_CACHE/kernel/ and
# never again. Without apt or network the newest cached version is used.
# Exits 77 when no kernel can be had.
set -eu
. "$(dirname "$0")/lib.sh"

series=${1:-6.12}
kdir=$SLUICE_CACHE/kernel
mkdir -p "$kdir"
exec 9>"$kdir/.lock"
flock 9

# newest_known: newest matching package name in apt's lists (no network).
newest_known() {
	command -v apt-cache >/dev/null || return 0
	apt-cache pkgnames "linux-image-$series." 2>/dev/null |
		grep -E "^linux-image-${series//./\\.}\.[0-9]+\+deb12-amd64-unsigned\$" |
		sort -V | tail -n 1
}

# newest_cached: newest KVER already extracted in the cache.
newest_cached() {
	local d
	for d in "$kdir/$series".*/.complete; do
		[ -e "$d" ] && basename "$(dirname "$d")"
	done | sort -V | tail -n 1
}

fetch() { # fetch PACKAGE KVER
	local pkg=$1 kver=$2 tmp
	tmp=$(mktemp -d "$kdir/.fetch.XXXXXX")
	chmod 755 "$tmp" # apt-get drops to user _apt
	trap 'rm -rf "$tmp"' RETURN
	log "downloading $pkg (once; cached in $kdir)"
	(cd "$tmp" && apt-get download -q "$pkg" >&2) || return 1
	mkdir "$tmp/root"
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	depmod -b "$tmp/root" "$kver"
	rm -rf "${kdir:?}/$kver"
	mv "$tmp/root" "$kdir/$kver"
	touch "$kdir/$kver/.complete"
}

kver=""
pkg=$(newest_known)
if [ -z "$pkg" ] && [ -z "$(newest_cached)" ] && command -v apt-get >/dev/null; then
	# Fresh machine whose package lists were never fetched: fetch them once.
	log "apt knows no linux-image-$series package; running apt-get update"
	apt-get update -q >&2 || true
	pkg=$(newest_known)
fi
if [ -n "$pkg" ]; then
	want=${pkg#linux-image-}
	want=${want%-unsigned}
	if [ -e "$kdir/$want/.complete" ] || fetch "$pkg" "$want"; then
		kver=$want
	else
		log "could not download $pkg; trying the cache"
	fi
fi
[ -n "$kver" ] || kver=$(newest_cached)
[ -n "$kver" ] || skip "no linux-image-$series kernel in apt's lists or in $kdir"

kroot=$kdir/$kver
[ -r "$kroot/boot/vmlinuz-$kver" ] || die "cache entry $kroot has no vmlinuz"
[ -r "$kroot/boot/vmlinux-$kver" ] ||
	"$E2E_DIR/extract-vmlinux.sh" "$kroot/boot/vmlinuz-$kver" "$kroot/boot/vmlinux-$kver"
printf 'KVER=%q\nKROOT=%q\nVMLINUZ=%q\nVMLINUX=%q\n' "$kver" "$kroot" \
	"$kroot/boot/vmlinuz-$kver" "$kroot/boot/vmlinux-$kver"
