#!/bin/sh
# SPDX-License-Identifier: MIT
# Run one libFuzzer harness for a bounded time over a copy of its seed corpus.
#   run.sh FUZZER SEED_DIR
# FUZZ_SECONDS (default 60): total fuzzing time. FUZZ_ARTIFACTS (default: the
# current directory, i.e. the build tree under ctest): where crashing inputs
# are written. Exit status: 0 no finding, non-zero otherwise (libFuzzer's).
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 FUZZER SEED_DIR" >&2
    exit 2
fi
fuzzer=$1
seeds=$2
seconds=${FUZZ_SECONDS:-60}
artifacts=${FUZZ_ARTIFACTS:-$PWD}

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cp "$seeds"/* "$work"/
mkdir -p "$artifacts"

"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=70000 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work"
