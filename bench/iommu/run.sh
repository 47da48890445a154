#!/bin/sh
# SPDX-License-Identifier: MIT
# Build and run the AMD IOMMU translation micro-benchmark (bench_iommu.c),
# and append its table, with the exact command, date, commit and machine,
# to bench/iommu/results.md.
#   bench/iommu/run.sh [--runs N] [--scale F] [--no-record]
# BUILD_DIR (default build-bench-iommu in the source tree): a Release build of
# sluice_core made here (never the developer's build directories).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-bench-iommu}
record=1
args=""
while [ $# -gt 0 ]; do
    case $1 in
    --no-record) record=0 ;;
    --runs|--scale)
        [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
        args="$args $1 $2"; shift ;;
    -h|--help) sed -n 3,8p "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSLUICE_E2E=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target sluice_core >/dev/null
${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror -D_GNU_SOURCE -I"$root" \
    "$here/bench_iommu.c" "$build/libsluice_core.a" $(pkg-config --libs liburing) -lpthread \
    -o "$build/bench_iommu"

out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM
# shellcheck disable=SC2086 # args is a list of words
"$build/bench_iommu" $args | tee "$out"

[ "$record" = 1 ] || exit 0
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain -- iommu 2>/dev/null)" ]; then
    commit="$commit (iommu/ has uncommitted changes)"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit"
    echo
    echo "Command: \`bench/iommu/run.sh$args\` (Release, ${CC:-cc} -O2)."
    echo "Machine: $cpu, $(nproc) CPUs online, load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    cat "$out"
} >> "$here/results.md"
echo "appended to $here/results.md"
