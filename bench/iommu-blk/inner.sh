#!/bin/bash
# inner.sh KERNEL INITRD RESULTS RUNS SECS DISK_MIB CONFIGS  (environment: SLUICE)
# The part of the IOMMU block benchmark that runs where /dev/kvm is fast:
# inside the nested test host (bench/iommu-blk/run.sh starts it there), or
# directly on a machine with vmx/svm. Creates one raw disk image (DISK_MIB,
# on tmpfs), then boots the same guest under sluice RUNS rounds, the
# CONFIGS (comma-separated, normally none,lazy,strict) interleaved in each
# round, with that one virtio-blk disk behind a PCIe root port:
#   none    no IOMMU
#   lazy    --iommu amd, guest default (lazy) invalidation
#   strict  --iommu amd, guest iommu.strict=1
# Every configuration's guest command line carries intremap=off (sluice has
# no interrupt remapping yet: see tests/e2e/scenarios/iommu-amd.sh), so the
# three differ only in the IOMMU and the invalidation policy.
# Writes into RESULTS:
#   runs.tsv   one line per run (header first)
#   facts.txt  KEY=VALUE facts about the machine the VMM ran on
#   raw/       console, stderr and argv of every run
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../../tests/e2e/lib.sh
. "$BENCH_DIR/../../tests/e2e/lib.sh"
. "$E2E_DIR/vmm.sh"
. "$E2E_DIR/common.sh"

[ $# -eq 7 ] || die "usage: inner.sh KERNEL INITRD RESULTS RUNS SECS DISK_MIB CONFIGS"
kernel=$1 initrd=$2 results=$3 runs=$4 secs=$5 disk_mib=$6 configs=${7//,/ }
export SLUICE=${SLUICE:-}
CPUS=1 MEMORY=512M DISKS=bench
RUN_TIMEOUT=$((secs * 6 + 240))
CMDLINE="console=ttyS0 panic=-1 quiet intremap=off bench.secs=$secs bench.qd=1,8"

why=$(vmm_check sluice) || die "sluice cannot run here: $why"

# Everything the VMM reads or writes lives on tmpfs (in the test host the
# shared root is 9p): kernel, initrd, console, and the disk image.
scratch=$(mktemp -d /dev/shm/sluice-bench-iommu-blk.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$kernel" "$scratch/vmlinuz"
cp "$initrd" "$scratch/initrd.img"
# Written, not sparse: every read hits real page-cache pages.
head -c "$((disk_mib << 20))" /dev/zero >"$scratch/bench.img"
mkdir -p "$results/raw"

fact() { printf '%s=%q\n' "$1" "$2" >>"$results/facts.txt"; }
: >"$results/facts.txt"
fact VMM_HOST_NPROC "$(nproc)"
fact VMM_HOST_KERNEL "$(uname -r)"
fact VMM_HOST_CPU "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
fact SLUICE_VERSION "$("$SLUICE" --version 2>&1 | head -n 1)"

# The consoles' input: an open pipe that never delivers anything.
exec {feedfd}< <(exec sleep infinity)

# field LINE KEY: the value of KEY=VALUE in a randread output line.
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# run_one ROUND CONFIG: one boot; appends to runs.tsv.
run_one() {
	local round=$1 config=$2 con=$scratch/console err=$scratch/stderr rc=0
	local iommu="" cmdline=$CMDLINE name=$1-$2
	case $config in
	none) ;;
	lazy) iommu=amd ;;
	strict) iommu=amd cmdline="$cmdline iommu.strict=1" ;;
	*) die "unknown configuration '$config' (none, lazy, strict)" ;;
	esac
	vmm_argv sluice "$scratch/vmlinuz" "$scratch/initrd.img" "$cmdline" "$CPUS" "$MEMORY"
	vmm_devices sluice "$scratch" "$DISKS" "" "" "$iommu" ""
	echo "${VMM_ARGV[*]}" >"$results/raw/$name.argv"
	timeout -k 5 "$RUN_TIMEOUT" "${VMM_ARGV[@]}" <&"$feedfd" >"$con" 2>"$err" || rc=$?
	tr -d '\r' <"$con" >"$results/raw/$name.console"
	cp "$err" "$results/raw/$name.stderr"
	local status q1 q8 seq
	status=$(vmm_status sluice "$rc" "$err")
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || status=timeout
	m() { sed -n "s/^SLUICE-BENCH-$1=//p" "$results/raw/$name.console" | tail -n 1; }
	q1=$(field "$(m RANDREAD-QD1)" iops)
	q8=$(field "$(m RANDREAD-QD8)" iops)
	seq=$(field "$(m SEQREAD)" mbs)
	echo "SLUICE-BENCH-RUN $name status=$status randread-qd1=${q1:--} randread-qd8=${q8:--} seqread=${seq:--}MB/s"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$config" "$status" "${q1:--}" "${q8:--}" "${seq:--}" >>"$results/runs.tsv"
}

printf 'round\tconfig\tstatus\trandread_qd1_iops\trandread_qd8_iops\tseqread_mbs\n' >"$results/runs.tsv"
start=$(now)
for ((round = 1; round <= runs; round++)); do
	for config in $configs; do run_one "$round" "$config"; done
done
echo "SLUICE-BENCH-DONE $(elapsed "$start") s"
