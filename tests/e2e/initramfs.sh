#!/bin/bash
# initramfs.sh OUT INIT KROOT KVER [MODULE...] [-- SRC=DEST...]
# Build a busybox-static initramfs (gzip cpio) at OUT with INIT as /init.
# Each MODULE is resolved with its dependencies from KROOT (a kernel from
# kernel.sh), decompressed (busybox insmod cannot read .ko.xz) into
# /lib/modules/, and listed in load order in /lib/modules/order; built-in
# ones are skipped. SRC=DEST pairs copy extra files or directories in.
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -ge 4 ] || die "usage: initramfs.sh OUT INIT KROOT KVER [MODULE...] [-- SRC=DEST...]"
out=$1 init=$2 kroot=$3 kver=$4
shift 4

busybox=$(command -v busybox) || skip "busybox not installed (apt-get install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then
	skip "$busybox is dynamically linked (apt-get install busybox-static)"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules,host}
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
install -m 755 "$init" "$stage/init"
: >"$stage/lib/modules/order"

while [ $# -gt 0 ] && [ "$1" != -- ]; do
	deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$1") ||
		die "module $1 not found in $kver"
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue # "builtin NAME": nothing to load
		name=$(basename "$path")
		name=${name%.xz}
		name=${name%.zst}
		grep -qx "$name" "$stage/lib/modules/order" && continue
		case $path in
		*.xz) xz -dc "$path" >"$stage/lib/modules/$name" ;;
		*.zst) zstd -qdc "$path" >"$stage/lib/modules/$name" ;;
		*) cp "$path" "$stage/lib/modules/$name" ;;
		esac
		echo "$name" >>"$stage/lib/modules/order"
	done <<<"$deps"
	shift
done
[ $# -gt 0 ] && shift # the --

for pair in "$@"; do
	src=${pair%%=*} dest=$stage/${pair#*=}
	mkdir -p "$(dirname "$dest")"
	cp -a "$src" "$dest"
done

(cd "$stage" && find . -print0 | sort -z | cpio --quiet -o -0 -H newc -R 0:0) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
