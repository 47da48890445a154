#!/bin/bash
# inner.sh KERNEL INITRD RESULTS RUNS CONFIGS WARMUP  (environment: SLUICE)
# The part of the boot benchmark that runs where /dev/kvm is fast: inside
# the nested test host (bench/boot/run.sh starts it there), or directly on
# a machine with vmx/svm. Boots the same kernel and initramfs under each VMM
# of tests/e2e/vmm.sh, RUNS rounds, interleaved (round 1: sluice, q35,
# microvm for each config; round 2: ...), after WARMUP untimed rounds.
# CONFIGS is a comma-separated list of "default" (console=ttyS0 panic=-1)
# and "quiet" (the same plus quiet). Writes into RESULTS:
#   runs.tsv   one line per timed run (header first)
#   facts.txt  KEY=VALUE facts about the machine the VMMs ran on
#   raw/       console and stderr of every run
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../../tests/e2e/lib.sh
. "$BENCH_DIR/../../tests/e2e/lib.sh"
# shellcheck source=SCRIPTDIR/../../tests/e2e/vmm.sh
. "$E2E_DIR/vmm.sh"

[ $# -eq 6 ] || die "usage: inner.sh KERNEL INITRD RESULTS RUNS CONFIGS WARMUP"
kernel=$1 initrd=$2 results=$3 runs=$4 configs=$5 warmup=$6
export SLUICE=${SLUICE:-}
CPUS=1 MEMORY=256M RUN_TIMEOUT=300
BASE_CMDLINE="console=ttyS0 panic=-1"
timebin=/usr/bin/time
[ -x "$timebin" ] && "$timebin" -f '%M' -o /dev/null true 2>/dev/null || timebin=""

for vmm in $VMMS; do
	why=$(vmm_check "$vmm") || die "$vmm cannot run here: $why"
done

# Everything the VMMs read or write per run lives on tmpfs: in the test
# host the shared root is 9p, and reading the kernel or writing the console
# byte by byte over 9p would be measured too.
scratch=$(mktemp -d /dev/shm/sluice-bench.XXXXXX 2>/dev/null || mktemp -d)
feeder=""
trap 'rm -rf "$scratch"; [ -z "$feeder" ] || kill "$feeder" 2>/dev/null || true' EXIT
cp "$kernel" "$scratch/vmlinuz"
cp "$initrd" "$scratch/initrd.img"
# The same kernel as an uncompressed ELF (tests/e2e/kernel.sh extracts it):
# sluice boots it directly, without the bzImage decompressor. QEMU's -kernel
# cannot, so it is an extra sluice row, not part of the like-for-like ratios.
BENCH_VMMS=$VMMS
vmlinux=${kernel/\/vmlinuz-/\/vmlinux-}
if [ "$vmlinux" != "$kernel" ] && [ -r "$vmlinux" ]; then
	cp "$vmlinux" "$scratch/vmlinux"
	BENCH_VMMS="$VMMS sluice-vmlinux"
fi
mkdir -p "$results/raw"

fact() { printf '%s=%q\n' "$1" "$2" >>"$results/facts.txt"; }
: >"$results/facts.txt"
fact VMM_HOST_NPROC "$(nproc)"
fact VMM_HOST_KERNEL "$(uname -r)"
fact VMM_HOST_CPU "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
fact VMM_HOST_MEM_KIB "$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
fact QEMU_VERSION "$(qemu-system-x86_64 -version | head -n 1)"
fact SLUICE_VERSION "$("$SLUICE" --version 2>&1 | head -n 1)"
fact GNU_TIME "${timebin:-none}"

# The consoles' input: an open pipe that never delivers anything, shared by
# all runs (no EOF while a guest runs).
exec {feedfd}< <(exec sleep infinity)
feeder=$!

# Microseconds from two $EPOCHREALTIME readings (bash, no fork).
us_between() { local a=${1/[.,]/} b=${2/[.,]/}; echo $((10#$b - 10#$a)); }

# exec_cost VMM: microseconds for the VMM binary to print its version
# (exec, dynamic linking, exit): the part of a run that is no boot at all.
exec_cost() {
	local vmm=$1 t0 t1 best=""
	local argv=("$SLUICE" --version)
	[ "$vmm" = sluice ] || argv=(qemu-system-x86_64 -version)
	for _ in 1 2 3; do
		t0=$EPOCHREALTIME
		"${argv[@]}" >/dev/null 2>&1 || true
		t1=$EPOCHREALTIME
		t1=$(us_between "$t0" "$t1")
		[ -n "$best" ] && [ "$best" -le "$t1" ] || best=$t1
	done
	echo "$best"
}

# run_one CONFIG ROUND VMM: one boot to power-off; appends to runs.tsv
# unless ROUND is "warmup".
run_one() {
	local cfg=$1 round=$2 vmm=$3
	local cmdline=$BASE_CMDLINE
	[ "$cfg" = default ] || cmdline="$cmdline $cfg"
	local image=$scratch/vmlinuz real=$vmm
	[ "$vmm" != sluice-vmlinux ] || { image=$scratch/vmlinux real=sluice; }
	vmm_argv "$real" "$image" "$scratch/initrd.img" "$cmdline" "$CPUS" "$MEMORY"
	local con=$scratch/console err=$scratch/stderr tf=$scratch/time
	local wrap=()
	[ -z "$timebin" ] || wrap=("$timebin" -o "$tf" -f '%e %M')
	: >"$con"
	: >"$tf"
	local rc=0 t0 t1
	t0=$EPOCHREALTIME
	timeout -k 5 "$RUN_TIMEOUT" "${wrap[@]}" "${VMM_ARGV[@]}" <&"$feedfd" >"$con" 2>"$err" || rc=$?
	t1=$EPOCHREALTIME

	local wall_ms status elapsed maxrss timer ginit bytes peak res over
	wall_ms=$(awk -v u="$(us_between "$t0" "$t1")" 'BEGIN { printf "%.1f", u / 1000 }')
	status=$(vmm_status "$real" "$rc" "$err")
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || status=timeout
	read -r elapsed maxrss < <(tail -n 1 "$tf"; echo) || true
	timer=$(sed -n 's/.*boot-timer: .* at \([0-9.]*\) ms since.*/\1/p' "$err" | head -n 1)
	ginit=$(tr -d '\r' <"$con" | sed -n 's/^SLUICE-BENCH-INIT=\([0-9.]*\)$/\1/p' | tail -n 1)
	bytes=$(wc -c <"$con")
	read -r peak res over < <(sed -n 's/.*memory: peak RSS \([0-9]*\) KiB, guest RAM resident \([0-9]*\) KiB, overhead \(-\{0,1\}[0-9]*\) KiB.*/\1 \2 \3/p' "$err" | tail -n 1; echo) || true

	local tag=$cfg-$round-$vmm
	tr -d '\r' <"$con" >"$results/raw/$tag.console"
	cp "$err" "$results/raw/$tag.stderr"
	echo "SLUICE-BENCH-RUN $tag status=$status wall=${wall_ms}ms boot-timer=${timer:--}ms guest-init=${ginit:--}s console=${bytes}B maxrss=${maxrss:--}KiB${over:+ sluice-overhead=${over}KiB}"
	[ "$round" != warmup ] || return 0
	printf '%s\t' "$cfg" "$round" "$vmm" "$status" "$wall_ms" "${elapsed:--}" "${maxrss:--}" \
		"${timer:--}" "${ginit:--}" "$bytes" "${peak:--}" "${res:--}" >>"$results/runs.tsv"
	printf '%s\n' "${over:--}" >>"$results/runs.tsv"
}

printf '%s\t' config round vmm status wall_ms time_elapsed_s maxrss_kib boot_timer_ms \
	guest_init_s console_bytes sluice_peak_rss_kib sluice_guest_ram_kib >"$results/runs.tsv"
printf '%s\n' sluice_overhead_kib >>"$results/runs.tsv"

start=$(now)
for ((w = 1; w <= warmup; w++)); do
	for vmm in $BENCH_VMMS; do run_one quiet warmup "$vmm"; done
done
# After the warm-up: right after the test host starts, its own start-up
# work (kvm-keepalive.py) still competes for the CPUs.
for vmm in sluice qemu; do
	fact "EXEC_US_$vmm" "$(exec_cost "$vmm")"
done
for ((round = 1; round <= runs; round++)); do
	for cfg in ${configs//,/ }; do
		for vmm in $BENCH_VMMS; do run_one "$cfg" "$round" "$vmm"; done
	done
done
echo "SLUICE-BENCH-DONE $(elapsed "$start") s"
