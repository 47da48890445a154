#!/bin/bash
# guest-tools/build.sh: build the static guest tools (edu-dma, nvme-randread, nic-tso,
# exit-cost) once and
# print one SRC=DEST pair per tool for initramfs.sh (e.g.
# "/root/.cache/sluice/guest-tools/edu-dma-<hash>=bin/edu-dma").
# Cached in $SLUICE_CACHE/guest-tools/, keyed by the sha256 of the sources
# (edu-dma.c and the sluice headers it includes), so a warm cache never
# compiles. When a tool cannot be built (no gcc or no static libc) it is
# left out with a warning on stderr: the scenarios that need it skip.
set -eu
. "$(dirname "$0")/../lib.sh"

tools=$E2E_DIR/guest-tools
root=$(cd "$E2E_DIR/../.." && pwd)
cache=$SLUICE_CACHE/guest-tools
mkdir -p "$cache"

# build NAME SOURCE HEADER...: the cached static binary's path, or nothing.
build() {
	local name=$1 src=$2 key out tmp
	shift 2
	key=$(cat "$src" "$@" | sha256sum | cut -c1-16)
	out=$cache/$name-$key
	if [ ! -x "$out" ]; then
		command -v gcc >/dev/null || { log "gcc not installed: no $name in the guest"; return 0; }
		tmp=$out.tmp.$$
		if ! gcc -static -O2 -Wall -Wextra -Werror -o "$tmp" "$src" >&2; then
			rm -f "$tmp"
			log "cannot build $name statically (needs gcc and libc6-dev): no $name in the guest"
			return 0
		fi
		mv "$tmp" "$out"
		log "built guest tool $out"
	fi
	echo "$out"
}

edu=$(build edu-dma "$tools/edu-dma.c" "$root/devices/edu_regs.h" "$root/devices/bits.h")
[ -z "$edu" ] || echo "$edu=bin/edu-dma"
rr=$(build nvme-randread "$tools/nvme-randread.c")
[ -z "$rr" ] || echo "$rr=bin/nvme-randread"
tso=$(build nic-tso "$tools/nic-tso.c")
[ -z "$tso" ] || echo "$tso=bin/nic-tso"
ec=$(build exit-cost "$tools/exit-cost.c")
[ -z "$ec" ] || echo "$ec=bin/exit-cost"
