# Shared helpers for the e2e test bed. Sourced, not executed.
# shellcheck shell=bash

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLUICE_CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
E2E_SKIP=77

log() { printf '[e2e] %s\n' "$*" >&2; }
die() { printf '[e2e] error: %s\n' "$*" >&2; exit 1; }
# skip REASON: the test bed cannot run here; never a PASS.
skip() { printf '[e2e] SKIP: %s\n' "$*" >&2; exit "$E2E_SKIP"; }

now() { date +%s.%N; }
# elapsed START: seconds since START (from now()), one decimal.
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# True when this machine's CPU can run KVM guests at native speed.
have_hw_virt() {
	grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]
}
