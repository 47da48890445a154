#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine:
#   1. install dependencies (apt), 2. build normally and with ASan+UBSan,
#   3. unit tests + KVM smoke test in both builds, 4. the libFuzzer harnesses
#      for a bounded time (clang, ASan+UBSan; FUZZ_SECONDS each, default 30),
#   5. the end-to-end scenarios with real Linux guests (nested test bed when
#      the CPU lacks vmx/svm).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install-deps.sh"

"$ROOT/scripts/build.sh" "$ROOT/build"
"$ROOT/scripts/build.sh" "$ROOT/build-asan" -DSLUICE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

CC=clang cmake -S "$ROOT" -B "$ROOT/build-fuzz" -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON \
    -DSLUICE_E2E=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$ROOT/build-fuzz" -j "$(nproc)" --target fuzz_virtio_blk fuzz_amdvi

status=0
echo "== fuzzing (clang, ASan+UBSan) =="
FUZZ_SECONDS=${FUZZ_SECONDS:-30} ctest --test-dir "$ROOT/build-fuzz" -R '^fuzz/' \
    --output-on-failure || status=1
echo "== unit and smoke tests (ASan+UBSan build) =="
ctest --test-dir "$ROOT/build-asan" --output-on-failure -j 2 || status=1
echo "== unit, smoke and end-to-end tests (release build) =="
ctest --test-dir "$ROOT/build" --output-on-failure || status=1
exit $status
