#!/bin/bash
# scenarios-run.sh KERNEL INITRD RESULTS VMMS SCENARIO...
# (environment: SLUICE=binary, E2E_GUEST_APPEND=extra guest command line)
# Runs where /dev/kvm is fast (inside the test host, or directly on a machine
# with vmx/svm). Boots each SCENARIO under each VMM of the comma-separated
# VMMS list and writes into RESULTS, per run NAME@VMM:
#   .console (guest console), .stderr (VMM stderr), .verdict (one line:
#   PASS|FAIL|SKIP SECONDS REASON), .host (output of the host-side hooks and
#   device setup). Prints the verdict lines as it goes.
# A scenario with devices (SCENARIO_DISKS, SCENARIO_NETS, SCENARIO_RNG;
# SCENARIO_IOMMU and SCENARIO_EDU need no host-side setup) gets
# them created here (disk images in RUN_DIR, taps) before its optional
# host_setup() runs; host_teardown() runs after the VMM exits, then check().
# Scenarios with SCENARIO_TESTBED=vfio need the VFIO test bed (E2E_VFIO=1,
# testbed.sh --vfio; elsewhere they SKIP): their SCENARIO_VFIO devices are
# bound to vfio-pci before the VMM starts (devices.sh's vfio_setup).
set -eu
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/vmm.sh"
. "$E2E_DIR/common.sh"
. "$E2E_DIR/devices.sh"

[ $# -ge 5 ] || die "usage: scenarios-run.sh KERNEL INITRD RESULTS VMMS SCENARIO..."
kernel=$1 initrd=$2 results=$3 vmms=$4
shift 4
export SLUICE=${SLUICE:-}
scratch=$(mktemp -d /dev/shm/sluice-e2e.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# run_one NAME VMM: one boot; runs in a subshell so scenarios cannot leak.
run_one() (
	name=$1 vmm=$2
	out=$results/$name@$vmm
	SCENARIO_CPUS=1 SCENARIO_MEMORY=256M SCENARIO_TIMEOUT=180 SCENARIO_CMDLINE=""
	SCENARIO_KERNEL=bzimage # or vmlinux: the uncompressed ELF next to it (kernel.sh)
	SCENARIO_VMMS=""        # comma-separated VMMs the scenario applies to (empty: all)
	SCENARIO_DISKS="" SCENARIO_NETS="" SCENARIO_RNG="" # devices, see vmm.sh
	SCENARIO_IOMMU="" SCENARIO_EDU=""                  # amd[,opts]; port|0 (vmm.sh)
	SCENARIO_SLUICE_ARGS="" # extra sluice options (e.g. --apic-ids): other VMMs skip
	SCENARIO_HUGEPAGES=""   # 1: sluice backs guest RAM with 2 MiB pages (--hugepages; the
	                        # host_setup reserves them: vfio_host_setup); QEMU keeps its THP
	SCENARIO_TESTBED=""     # vfio: needs testbed.sh --vfio (run.sh boots it separately)
	SCENARIO_VFIO=""        # passthrough devices: nvme nic edu [:iommu=off] (vmm.sh)
	. "$E2E_DIR/check.sh"
	. "$E2E_DIR/scenarios/$name.sh"
	verdict() { echo "$1 $2 $3" >"$out.verdict"; echo "SLUICE-E2E-VERDICT $name@$vmm $1 ${2}s $3"; }

	if ! why=$(vmm_check "$vmm"); then
		verdict SKIP 0 "$why"
		return 0
	fi
	if [ -n "$SCENARIO_VMMS" ] && [[ ",$SCENARIO_VMMS," != *",$vmm,"* ]]; then
		verdict SKIP 0 "scenario applies only to $SCENARIO_VMMS"
		return 0
	fi
	if [ "$SCENARIO_TESTBED" = vfio ] && [ "${E2E_VFIO:-}" != 1 ]; then
		verdict SKIP 0 "needs the VFIO test bed (tests/e2e/run.sh boots testbed.sh --vfio for it)"
		return 0
	fi
	if [ -n "$SCENARIO_SLUICE_ARGS" ] && [ "$vmm" != sluice ]; then
		verdict SKIP 0 "scenario needs sluice options ($SCENARIO_SLUICE_ARGS)"
		return 0
	fi
	# Per-run scratch (disk images, host-side hook files): tmpfs.
	RUN_DIR=$scratch/$name@$vmm.d
	mkdir -p "$RUN_DIR"
	: >"$out.host"
	devices_up=0 hooks_up=0
	# teardown_hooks: host_teardown, once (after the VMM, or on the way out).
	teardown_hooks() {
		[ "$hooks_up" = 1 ] || return 0
		hooks_up=0
		host_teardown >>"$out.host" 2>&1 || true
	}
	cleanup() {
		teardown_hooks
		[ "$devices_up" = 0 ] || dev_teardown "$SCENARIO_NETS" >>"$out.host" 2>&1
		rm -rf "$RUN_DIR"
	}
	trap cleanup EXIT
	local image=$kernel
	[ "$SCENARIO_KERNEL" != vmlinux ] || image=${kernel/\/vmlinuz-/\/vmlinux-}
	if ! why=$(vmm_devices "$vmm" "$RUN_DIR" "$SCENARIO_DISKS" "$SCENARIO_NETS" "$SCENARIO_RNG" "$SCENARIO_IOMMU" "$SCENARIO_EDU" "$SCENARIO_VFIO"); then
		verdict SKIP 0 "$why"
		return 0
	fi
	devices_up=1
	if ! why=$(dev_setup "$RUN_DIR" "$SCENARIO_DISKS" "$SCENARIO_NETS" 2>>"$out.host"); then
		verdict FAIL 0 "device setup: $why"
		return 0
	fi
	if [ -n "$SCENARIO_VFIO" ] && ! why=$(vfio_setup "$SCENARIO_VFIO" 2>&1); then
		verdict FAIL 0 "VFIO device setup: $why"
		return 0
	fi
	[ -z "$SCENARIO_VFIO" ] || echo "$why" >>"$out.host"
	declare -F host_teardown >/dev/null && hooks_up=1
	if declare -F host_setup >/dev/null && ! host_setup >>"$out.host" 2>&1; then
		verdict FAIL 0 "host_setup failed (see $name@$vmm.host)"
		return 0
	fi
	# After host_setup, which may add to SCENARIO_CMDLINE.
	cmdline="console=ttyS0 panic=-1 sluice.scenario=$name $SCENARIO_CMDLINE ${E2E_GUEST_APPEND:-}"
	vmm_argv "$vmm" "$image" "$initrd" "$cmdline" "$SCENARIO_CPUS" "$SCENARIO_MEMORY"
	vmm_devices "$vmm" "$RUN_DIR" "$SCENARIO_DISKS" "$SCENARIO_NETS" "$SCENARIO_RNG" "$SCENARIO_IOMMU" "$SCENARIO_EDU" "$SCENARIO_VFIO"
	# shellcheck disable=SC2206 # words on purpose
	[ "$vmm" != sluice ] || VMM_ARGV+=($SCENARIO_SLUICE_ARGS)
	[ "$vmm" != sluice ] || [ -z "$SCENARIO_HUGEPAGES" ] || VMM_ARGV+=(--hugepages)
	echo "${VMM_ARGV[*]}" >"$out.argv"

	# The VMM writes the console byte by byte: keep it off 9p (in the test
	# host, $results is on 9p) until the run ends.
	raw=$scratch/$name@$vmm.raw
	: >"$raw"
	# The guest console's input: what a scenario's host_feed writes, then
	# nothing; the pipe stays open so the VMM sees no EOF while the guest
	# runs. (A pipe, not a FIFO: 9p refuses special files.)
	feed() {
		if declare -F host_feed >/dev/null; then host_feed "$raw"; fi
		exec sleep infinity
	}
	exec {feedfd}< <(feed)
	feeder=$!
	start=$(now)
	rc=0
	timeout -k 5 "$SCENARIO_TIMEOUT" "${VMM_ARGV[@]}" <&"$feedfd" >"$raw" 2>"$raw.err" || rc=$?
	secs=$(elapsed "$start")
	kill "$feeder" 2>/dev/null || true
	exec {feedfd}<&-
	tr -d '\r' <"$raw" >"$out.console"
	mv "$raw.err" "$out.stderr"
	rm -f "$raw"
	teardown_hooks

	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		verdict FAIL "$secs" "timed out after ${SCENARIO_TIMEOUT}s"
		return 0
	fi
	CONSOLE=$out.console STDERR=$out.stderr STATUS=$(vmm_status "$vmm" "$rc" "$out.stderr")
	# sluice's boot timer: /init's write to port 0x440, in VMM wall time.
	timer=$(sed -n 's/.*boot-timer: .* at \([0-9.]*\) ms since.*/\1/p' "$out.stderr" | head -n 1)
	timer=${timer:+, boot-timer ${timer} ms}
	crc=0
	why=$(check) || crc=$?
	why=$(echo "$why" | tr '\n' ' ' | sed 's/ *$//')
	case $crc in
	0) verdict PASS "$secs" "status $STATUS, guest /init at $(marker INIT)s (guest clock)$timer${why:+; $why}" ;;
	77) verdict SKIP "$secs" "$why" ;;
	*) verdict FAIL "$secs" "$why" ;;
	esac
)

# testbed_crash NAME VMM: did the run fail with the nested test bed's known
# guest-crash signature? (QEMU-TCG's cross-modifying-code bug with several
# vCPUs: an int3 oops while the guest patches its own text, or a triple
# fault; see docs/machine.md. Also a guest kernel that hung during its boot:
# the run timed out before the guest's /init ran, as a 4-vCPU guest did once
# on 2026-12-07, its console stopped mid-line in PCI enumeration.) Nothing
# else counts.
testbed_crash() {
	local out=$results/$1@$2
	grep -q '^FAIL' "$out.verdict" 2>/dev/null || return 1
	grep -q 'Oops: int3' "$out.console" 2>/dev/null ||
		grep -q 'triple fault (KVM_EXIT_SHUTDOWN)' "$out.stderr" 2>/dev/null ||
		{ grep -q '^FAIL [0-9.]* timed out' "$out.verdict" &&
			! grep -q '^SLUICE-E2E-INIT=' "$out.console" 2>/dev/null; }
}

# The VFIO test bed's e1000e peer gets its address once per boot.
if [ "${E2E_VFIO:-}" = 1 ]; then
	why=$(vfio_testbed_up 2>&1) || why="FAILED: $why"
	log "VFIO test bed: $why; NVMe image ${E2E_VFIO_NVME_IMG:-none}"
fi

# Such a crash is retried once: the first attempt's files are kept as
# NAME@VMM.attempt1.*, and the retry's verdict (which then stands) says so.
for vmm in ${vmms//,/ }; do
	for name in "$@"; do
		run_one "$name" "$vmm"
		testbed_crash "$name" "$vmm" || continue
		for f in "$results/$name@$vmm".*; do
			case $f in *.attempt1.*) ;; *) mv "$f" "${f%.*}.attempt1.${f##*.}" ;; esac
		done
		echo "[e2e] $name@$vmm: guest crashed with the test bed's known signature; retrying once" >&2
		run_one "$name" "$vmm"
		v=$(cat "$results/$name@$vmm.verdict")
		echo "${v} (retried after a test-bed guest crash, see $name@$vmm.attempt1.console)" \
			>"$results/$name@$vmm.verdict"
	done
done
