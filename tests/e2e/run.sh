#!/bin/bash
# run.sh [OPTIONS] [SCENARIO...]: run e2e scenarios (default: all) and print
# a verdict per scenario, the console of failing ones, and timings.
#   --sluice PATH     sluice binary (default $SLUICE, else build/sluice)
#   --vmm LIST        comma-separated: sluice,qemu-q35,qemu-microvm (default sluice)
#   --results DIR     keep consoles and verdicts in DIR (default: a temp dir, removed)
#   --timeout SECONDS test host time limit (default 2400)
#   --guest-append S  add S to every guest kernel command line (e.g. quiet)
#   --collect         exit 0 once every run has a verdict, whatever it is
#                     (ctest judges them one by one with verdict.sh)
#   --list            list the scenarios
# When this CPU has vmx/svm and /dev/kvm works, the VMM runs right here;
# otherwise all scenarios run in one boot of the nested test host
# (testbed.sh). Scenarios that say SCENARIO_TESTBED=vfio (passthrough)
# run in a second boot, of the VFIO test bed (testbed.sh --vfio), only when
# any is selected; where the VMM runs directly they SKIP. Exit 0 when all
# pass, 1 when any fails, 77 (SKIP) when none failed but some could not run.
set -eu
. "$(dirname "$0")/lib.sh"

sluice=${SLUICE:-$(cd "$E2E_DIR/../.." && pwd)/build/sluice}
vmms=sluice results="" timeout=2400 append="" collect=0
while [ $# -gt 0 ]; do
	case $1 in
	--sluice) sluice=$2; shift 2 ;;
	--vmm) vmms=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--guest-append) append=$2; shift 2 ;;
	--collect) collect=1; shift ;;
	--list) for f in "$E2E_DIR"/scenarios/*.sh; do basename "$f" .sh; done; exit 0 ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
done
if [ $# -eq 0 ]; then
	set -- $("$0" --list)
fi
for name in "$@"; do
	[ -r "$E2E_DIR/scenarios/$name.sh" ] || die "no scenario '$name' (see --list)"
done
scenarios=("$@")
case $sluice in /*) ;; *) sluice=$PWD/$sluice ;; esac

if [ -z "$results" ]; then
	results=$(mktemp -d "${TMPDIR:-/tmp}/sluice-e2e.XXXXXX")
	trap 'rm -rf "$results"' EXIT
else
	mkdir -p "$results"
	results=$(cd "$results" && pwd)
	rm -f "$results"/*.verdict
fi

# skip_all REASON: every run gets a SKIP verdict; exit 77.
skip_all() {
	local vmm name
	for vmm in ${vmms//,/ }; do
		for name in "${scenarios[@]}"; do echo "SKIP 0 $1" >"$results/$name@$vmm.verdict"; done
	done
	skip "$1"
}

if ! have_hw_virt && ! command -v qemu-system-x86_64 >/dev/null; then
	skip_all "no vmx/svm on this CPU and no qemu-system-x86_64 for the nested test host"
fi
kinfo=$("$E2E_DIR/kernel.sh") || skip_all "no guest kernel obtainable (see kernel.sh)"
eval "$kinfo"
initrd=$results/guest-initrd.img
# Static guest tools (edu-dma), built once and cached (guest-tools/build.sh).
mapfile -t tools < <("$E2E_DIR/guest-tools/build.sh")
"$E2E_DIR/initramfs.sh" "$initrd" "$E2E_DIR/guest-init" "$KROOT" "$KVER" \
	pvpanic-mmio pvpanic-pci virtio_blk virtio_net virtio_rng nvme e1000e -- \
	"$E2E_DIR/scenarios=scenarios" "$E2E_DIR/common.sh=lib/sluice-e2e.sh" "${tools[@]}"

# The scenarios that need the VFIO test bed get a boot of their own.
plain=() vfio=()
for name in "$@"; do
	if grep -qE "^SCENARIO_TESTBED=[\"']?vfio" "$E2E_DIR/scenarios/$name.sh"; then
		vfio+=("$name")
	else
		plain+=("$name")
	fi
done
inner=(env SLUICE="$sluice" E2E_GUEST_APPEND="$append" "$E2E_DIR/scenarios-run.sh" "$VMLINUZ" "$initrd" "$results" "$vmms")

# testbed_run [TESTBED_OPTION...] -- NAME...: the scenarios in one boot of
# the test host. When the test host dies before every run has a verdict
# (QEMU-TCG's cross-modifying-code trouble can oops the test host kernel
# itself: testbed.sh exits 125), the scenarios left without one get a
# second boot, once.
testbed_run() {
	local opts=() missing=() name vmm rc=0
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	"$E2E_DIR/testbed.sh" "${opts[@]}" --timeout "$timeout" -- "${inner[@]}" "$@" || rc=$?
	[ "$rc" = 125 ] || return "$rc"
	for name in "$@"; do
		for vmm in ${vmms//,/ }; do
			[ -e "$results/$name@$vmm.verdict" ] || { missing+=("$name"); break; }
		done
	done
	[ ${#missing[@]} -gt 0 ] || return "$rc"
	log "the test host died before ${missing[*]} had a verdict: one more boot for them"
	rc=0
	"$E2E_DIR/testbed.sh" "${opts[@]}" --timeout "$timeout" -- "${inner[@]}" "${missing[@]}" || rc=$?
	return "$rc"
}
start=$(now)
rc=0
if have_hw_virt; then
	log "this CPU has vmx/svm: running the VMM directly (guest kernel $KVER)"
	[ ${#plain[@]} = 0 ] || "${inner[@]}" "${plain[@]}" || rc=$?
	for name in "${vfio[@]}"; do
		for vmm in ${vmms//,/ }; do
			echo "SKIP 0 VFIO scenarios run in the nested VFIO test bed only (its emulated NVMe, e1000e and edu); this machine runs the VMM directly" >"$results/$name@$vmm.verdict"
		done
	done
else
	log "no vmx/svm here: running in the nested test host (guest kernel $KVER)"
	if [ ${#plain[@]} -gt 0 ]; then
		testbed_run -- "${plain[@]}" || rc=$?
		[ "$rc" != "$E2E_SKIP" ] || skip_all "the nested test host cannot run here (see above)"
	fi
	if [ ${#vfio[@]} -gt 0 ]; then
		log "VFIO scenarios (${vfio[*]}): a second boot, of the VFIO test bed"
		vrc=0
		testbed_run --vfio -- "${vfio[@]}" || vrc=$?
		[ "$vrc" != "$E2E_SKIP" ] || skip_all "the nested test host cannot run here (see above)"
		[ "$rc" != 0 ] || rc=$vrc
	fi
fi
echo
echo "=== e2e verdicts (guest kernel $KVER, total $(elapsed "$start") s)"
pass=0 failed=0 skipped=0 missing=0
for vmm in ${vmms//,/ }; do
	for name in "$@"; do
		[ -r "$results/$name@$vmm.verdict" ] || missing=$((missing + 1))
		vrc=0
		"$E2E_DIR/verdict.sh" "$results" "$name@$vmm" || vrc=$?
		case $vrc in
		0) pass=$((pass + 1)) ;;
		"$E2E_SKIP") skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done
done
echo "=== $pass passed, $failed failed, $skipped skipped"
if [ "$collect" = 1 ] && [ "$missing" = 0 ]; then
	exit 0
elif [ "$failed" -gt 0 ]; then
	exit 1
elif [ "$skipped" -gt 0 ]; then
	exit "$E2E_SKIP"
fi
