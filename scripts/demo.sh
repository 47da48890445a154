#!/bin/sh
# Quick start: install dependencies, build sluice, fetch a Debian kernel once
# and boot a Linux microVM with its console on this terminal (inside the
# nested test bed when this CPU has no vmx/svm). Options: tests/e2e/demo.sh --help.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh" "$ROOT/build" >/dev/null
exec "$ROOT/tests/e2e/demo.sh" "$@"
