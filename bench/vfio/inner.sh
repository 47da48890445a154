#!/bin/bash
# inner.sh KERNEL INITRD RESULTS RUNS SECS QD CONFIGS  (environment: SLUICE)
# The part of the VFIO benchmark that runs inside the VFIO test bed
# (bench/vfio/run.sh starts it there with tests/e2e/testbed.sh --vfio).
# Binds the test bed's NVMe controller to vfio-pci, then boots the same
# guest RUNS rounds, the CONFIGS (comma-separated) interleaved in each
# round, with that NVMe passed through:
#   sluice-none     sluice, no vIOMMU
#   sluice-strict   sluice --iommu amd, guest iommu.strict=1
#   sluice-v2       sluice --iommu amd, guest iommu.strict=1 amd_iommu=pgtbl_v2
#   qemu-none       QEMU 7.2 q35, vfio-pci, no vIOMMU
#   qemu-intel      + -device intel-iommu,intremap=on,caching-mode=on
#                   (kernel-irqchip=split), guest intel_iommu=on iommu.strict=1
#   qemu-virtio     + -device virtio-iommu-pci, guest iommu.strict=1
# Every guest: 1 vCPU, 512 MiB, the same kernel and initramfs (bench/vfio/init,
# nvme-randread), command line "console=ttyS0 panic=-1 quiet" + the above.
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
. "$E2E_DIR/devices.sh"

[ $# -eq 7 ] || die "usage: inner.sh KERNEL INITRD RESULTS RUNS SECS QD CONFIGS"
kernel=$1 initrd=$2 results=$3 runs=$4 secs=$5 qd=$6 configs=${7//,/ }
export SLUICE=${SLUICE:-}
CPUS=1 MEMORY=512M
RUN_TIMEOUT=$((secs + 300))
CMDLINE="console=ttyS0 panic=-1 quiet bench.secs=$secs bench.qd=$qd"

bdf=$(vfio_bdf nvme) || die "no NVMe (1b36:0010) here: run inside testbed.sh --vfio"
bound=$(vfio_bind "$bdf") || die "binding the NVMe to vfio-pci: $bound"
log "$bound"

# Kernel, initrd and consoles on tmpfs (in the test host the shared root is 9p).
scratch=$(mktemp -d /dev/shm/sluice-bench-vfio.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$kernel" "$scratch/vmlinuz"
cp "$initrd" "$scratch/initrd.img"
mkdir -p "$results/raw"

fact() { printf '%s=%q\n' "$1" "$2" >>"$results/facts.txt"; }
: >"$results/facts.txt"
fact VMM_HOST_NPROC "$(nproc)"
fact VMM_HOST_KERNEL "$(uname -r)"
fact VMM_HOST_CPU "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
fact NVME_BDF "$bdf"
fact QEMU_VERSION "$(qemu-system-x86_64 --version | head -n 1)"
fact SLUICE_VERSION "$( [ -x "$SLUICE" ] && "$SLUICE" --version 2>&1 | head -n 1 || echo none)"

exec {feedfd}< <(exec sleep infinity)

# field LINE KEY: the value of KEY=VALUE in a nvme-randread output line.
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# config_argv CONFIG: set VMM_ARGV and VMM for CONFIG.
config_argv() {
	local cmdline=$CMDLINE iommu=""
	case $1 in
	sluice-none) VMM=sluice ;;
	sluice-strict) VMM=sluice iommu=amd cmdline="$cmdline iommu.strict=1" ;;
	sluice-v2) VMM=sluice iommu=amd cmdline="$cmdline iommu.strict=1 amd_iommu=pgtbl_v2" ;;
	qemu-none) VMM="qemu-q35" ;;
	qemu-intel) VMM="qemu-q35" cmdline="$cmdline intel_iommu=on iommu.strict=1" ;;
	qemu-virtio) VMM="qemu-q35" cmdline="$cmdline iommu.strict=1" ;;
	*) die "unknown configuration '$1' (sluice-none, sluice-strict, sluice-v2, qemu-none, qemu-intel, qemu-virtio)" ;;
	esac
	vmm_argv "$VMM" "$scratch/vmlinuz" "$scratch/initrd.img" "$cmdline" "$CPUS" "$MEMORY"
	case $1 in
	sluice-*) [ -z "$iommu" ] || VMM_ARGV+=(--iommu "$iommu") ;;
	# QEMU wants its vIOMMU before the devices it translates.
	qemu-intel)
		# shellcheck disable=SC2054 # QEMU options hold commas
		VMM_ARGV+=(-M q35,kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on) ;;
	qemu-virtio) VMM_ARGV+=(-device virtio-iommu-pci) ;;
	esac
	vmm_devices "$VMM" "$scratch" "" "" "" "" "" nvme >/dev/null ||
		die "$1: $(vmm_devices "$VMM" "$scratch" "" "" "" "" "" nvme)"
}

# run_one ROUND CONFIG: one boot; appends to runs.tsv.
run_one() {
	local round=$1 config=$2 con=$scratch/console err=$scratch/stderr rc=0 name=$1-$2
	local status rr iops domain engine ec cpuid_ns mmio_ns
	config_argv "$config"
	if ! why=$(vmm_check "$VMM"); then
		echo "SLUICE-BENCH-RUN $name skipped: $why"
		printf '%s\t%s\t%s\t-\t-\t-\t-\t-\n' "$round" "$config" "skip" >>"$results/runs.tsv"
		return 0
	fi
	echo "${VMM_ARGV[*]}" >"$results/raw/$name.argv"
	timeout -k 5 "$RUN_TIMEOUT" "${VMM_ARGV[@]}" <&"$feedfd" >"$con" 2>"$err" || rc=$?
	tr -d '\r' <"$con" >"$results/raw/$name.console"
	cp "$err" "$results/raw/$name.stderr"
	status=$(vmm_status "$VMM" "$rc" "$err")
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || status=timeout
	m() { sed -n "s/^SLUICE-BENCH-$1=//p" "$results/raw/$name.console" | tail -n 1; }
	rr=$(m RANDREAD)
	iops=$(field "$rr" iops) engine=$(field "$rr" engine) domain=$(m DOMAIN)
	ec=$(m EXIT-COST)
	cpuid_ns=$(field "$ec" cpuid_ns) mmio_ns=$(field "$ec" mmio_ns)
	echo "SLUICE-BENCH-RUN $name status=$status iops=${iops:--} domain=${domain:--} engine=${engine:--} faults=$(m FAULTS) exit-cost=${ec:--} ${iops:+}$([ -n "$iops" ] || echo "($rr)")"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$config" "$status" "${iops:--}" "${domain:--}" \
		"${engine:--}" "${cpuid_ns:--}" "${mmio_ns:--}" >>"$results/runs.tsv"
}

printf 'round\tconfig\tstatus\tiops\tdomain\tengine\tcpuid_ns\tmmio_ns\n' >"$results/runs.tsv"
start=$(now)
for ((round = 1; round <= runs; round++)); do
	for config in $configs; do run_one "$round" "$config"; done
done
echo "SLUICE-BENCH-DONE $(elapsed "$start") s"
