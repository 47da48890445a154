#!/bin/bash
# inner.sh KERNEL INITRD RESULTS RUNS SECS DISK_MIB VMMS  (environment: SLUICE)
# The part of the virtio benchmark that runs where /dev/kvm is fast: inside
# the nested test host (bench/virtio/run.sh starts it there), or directly
# on a machine with vmx/svm. Creates one raw disk image (DISK_MIB, on
# tmpfs) and the tap e2etap0 (10.0.0.1/24) with an iperf3 server on it,
# then boots the same guest RUNS rounds, interleaved (VMMS, comma-separated,
# normally sluice,qemu-q35: sluice, qemu-q35, sluice, ...), each VMM with the same virtio-blk (behind a PCIe root port)
# and virtio-net, started as tests/e2e/vmm.sh starts them. Writes into
# RESULTS:
#   runs.tsv   one line per run (header first)
#   facts.txt  KEY=VALUE facts about the machine the VMMs ran on
#   raw/       console and stderr of every run
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../../tests/e2e/lib.sh
. "$BENCH_DIR/../../tests/e2e/lib.sh"
. "$E2E_DIR/vmm.sh"
. "$E2E_DIR/common.sh"
. "$E2E_DIR/devices.sh"

[ $# -eq 7 ] || die "usage: inner.sh KERNEL INITRD RESULTS RUNS SECS DISK_MIB VMMS"
kernel=$1 initrd=$2 results=$3 runs=$4 secs=$5 disk_mib=$6 VMMS_BENCH=${7//,/ }
export SLUICE=${SLUICE:-}
CPUS=1 MEMORY=512M NETS=port DISKS=bench
RUN_TIMEOUT=$((secs * 6 + 240))
CMDLINE="console=ttyS0 panic=-1 quiet bench.secs=$secs bench.qd=1,8"

for vmm in $VMMS_BENCH; do
	why=$(vmm_check "$vmm") || die "$vmm cannot run here: $why"
done
command -v iperf3 >/dev/null || die "iperf3 is not installed (apt-get install iperf3)"

# Everything the VMMs read or write lives on tmpfs (in the test host the
# shared root is 9p): kernel, initrd, console, and the disk image.
scratch=$(mktemp -d /dev/shm/sluice-bench-virtio.XXXXXX 2>/dev/null || mktemp -d)
iperf=""
cleanup() {
	[ -z "$iperf" ] || kill "$iperf" 2>/dev/null || true
	dev_teardown "$NETS"
	rm -rf "$scratch"
}
trap cleanup EXIT
cp "$kernel" "$scratch/vmlinuz"
cp "$initrd" "$scratch/initrd.img"
# Written, not sparse: every read hits real page-cache pages.
head -c "$((disk_mib << 20))" /dev/zero >"$scratch/bench.img"
mkdir -p "$results/raw"
dev_setup "$scratch" "" "$NETS" || die "cannot set up the tap"
# TMPDIR on tmpfs: iperf3 backs each stream with an unlinked temporary
# file, which 9p (the test host's /tmp) cannot truncate ("unable to create
# a new stream: Bad file descriptor").
TMPDIR=$scratch iperf3 -s -B "$(host_ip 0)" >"$results/raw/iperf3-server.log" 2>&1 &
iperf=$!

fact() { printf '%s=%q\n' "$1" "$2" >>"$results/facts.txt"; }
: >"$results/facts.txt"
fact VMM_HOST_NPROC "$(nproc)"
fact VMM_HOST_KERNEL "$(uname -r)"
fact VMM_HOST_CPU "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
fact QEMU_VERSION "$(qemu-system-x86_64 -version | head -n 1)"
fact SLUICE_VERSION "$("$SLUICE" --version 2>&1 | head -n 1)"
fact IPERF3_VERSION "$(iperf3 --version 2>&1 | head -n 1)"

# The consoles' input: an open pipe that never delivers anything.
exec {feedfd}< <(exec sleep infinity)

# field LINE KEY: the value of KEY=VALUE in a randread output line.
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# run_one ROUND VMM: one boot; appends to runs.tsv.
run_one() {
	local round=$1 vmm=$2 con=$scratch/console err=$scratch/stderr rc=0
	vmm_argv "$vmm" "$scratch/vmlinuz" "$scratch/initrd.img" "$CMDLINE" "$CPUS" "$MEMORY"
	vmm_devices "$vmm" "$scratch" "$DISKS" "$NETS" ""
	echo "${VMM_ARGV[*]}" >"$results/raw/$round-$vmm.argv"
	timeout -k 5 "$RUN_TIMEOUT" "${VMM_ARGV[@]}" <&"$feedfd" >"$con" 2>"$err" || rc=$?
	tr -d '\r' <"$con" >"$results/raw/$round-$vmm.console"
	cp "$err" "$results/raw/$round-$vmm.stderr"
	local status m q1 q8 seq net
	status=$(vmm_status "$vmm" "$rc" "$err")
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || status=timeout
	m() { sed -n "s/^SLUICE-BENCH-$1=//p" "$results/raw/$round-$vmm.console" | tail -n 1; }
	q1=$(field "$(m RANDREAD-QD1)" iops)
	q8=$(field "$(m RANDREAD-QD8)" iops)
	seq=$(field "$(m SEQREAD)" mbs)
	net=$(m NET-MBITS)
	echo "SLUICE-BENCH-RUN $round-$vmm status=$status randread-qd1=${q1:--} randread-qd8=${q8:--} seqread=${seq:--}MB/s net=${net:--}Mbit/s"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$vmm" "$status" "${q1:--}" "${q8:--}" "${seq:--}" "${net:--}" >>"$results/runs.tsv"
}

printf 'round\tvmm\tstatus\trandread_qd1_iops\trandread_qd8_iops\tseqread_mbs\tnet_mbits\n' >"$results/runs.tsv"
start=$(now)
for ((round = 1; round <= runs; round++)); do
	for vmm in $VMMS_BENCH; do run_one "$round" "$vmm"; done
done
echo "SLUICE-BENCH-DONE $(elapsed "$start") s"
