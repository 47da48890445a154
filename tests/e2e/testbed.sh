#!/bin/bash
# testbed.sh [OPTIONS] -- COMMAND [ARG...]
# Boot the nested test host (QEMU-TCG with an SVM CPU, Debian kernel with
# kvm-amd), run COMMAND inside it - chrooted into this machine's root over
# 9p, in the current directory - and exit with COMMAND's status.
# COMMAND's output (the test host console) goes to stdout.
#   --timeout SECONDS   kill the test host after this long (default 900)
#   --memory SIZE       test host RAM (default 8G: room for a 6 GiB L2 guest)
#   --log FILE          also write the console to FILE
#   --interactive       connect the terminal to the test host console
#   --vfio              give the test host devices to pass through (see below)
# With --vfio the test host gets QEMU's emulated Intel IOMMU (intremap=on;
# its kernel runs with intel_iommu=on iommu=pt) and, behind it, an NVMe
# controller (1b36:0010) on a 64 MiB raw image created here and filled with
# the disk pattern "nvme" (common.sh), an e1000e NIC (8086:10d3) whose
# backend is a UDP socket pair to a virtio-net NIC of the test host itself
# (MACs: see vfio_qargs; devices.sh's vfio_testbed_up gives the peer
# 10.0.100.1/24, the guest takes 10.0.100.2 with net_up 100),
# and QEMU's edu device (1234:11e8). Its initramfs adds vfio-pci,
# vfio_iommu_type1 and virtio_net. COMMAND sees E2E_VFIO=1 and
# E2E_VFIO_NVME_IMG (the image's path, the same inside and outside).
# For debugging the passthrough NIC, TESTBED_NET_DUMP=DIR (with --vfio)
# records every frame through the e1000e's and its peer's socket backends
# in DIR/pt0.pcap and DIR/peer0.pcap (QEMU's filter-dump).
# Exits 77 (SKIP) when the test bed cannot run here, 124 on timeout,
# 125 when the test host did not report a result.
set -eu
. "$(dirname "$0")/lib.sh"

timeout=900 memory=8G logfile="" interactive=0 vfio=0
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) timeout=$2; shift 2 ;;
	--memory) memory=$2; shift 2 ;;
	--log) logfile=$2; shift 2 ;;
	--interactive) interactive=1; shift ;;
	--vfio) vfio=1; shift ;;
	--) shift; break ;;
	*) die "testbed.sh: unknown option $1" ;;
	esac
done
[ $# -gt 0 ] || die "usage: testbed.sh [--timeout S] [--memory SIZE] [--log FILE] [--interactive] [--vfio] -- COMMAND..."

# shellcheck source=common.sh
. "$E2E_DIR/common.sh"

# free_udp_port: a UDP port on 127.0.0.1 nobody listens on.
free_udp_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		ss -Hnul "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
	done
}

# vfio_qargs DIR: the --vfio devices (appended to qargs, append); the NVMe
# image is DIR/nvme.img. intel-iommu comes first so it translates them all;
# TCG has no kernel irqchip, so intremap=on needs no kernel-irqchip=split.
vfio_qargs() {
	local img=$1/nvme.img p1 p2
	pattern nvme 0 $((64 << 11)) >"$img" || die "cannot create the NVMe image $img"
	p1=$(free_udp_port)
	p2=$(free_udp_port)
	[ "$p1" != "$p2" ] || p2=$((p1 + 1))
	# shellcheck disable=SC2054 # QEMU options hold commas
	qargs+=(-device intel-iommu,intremap=on
		-drive "file=$img,if=none,id=nv0,format=raw"
		-device nvme,drive=nv0,serial=sluice-nvme
		-netdev "socket,id=pt0,udp=127.0.0.1:$p1,localaddr=127.0.0.1:$p2"
		-device "e1000e,netdev=pt0,mac=$(nic_mac "$VFIO_NET")"
		-netdev "socket,id=peer0,udp=127.0.0.1:$p2,localaddr=127.0.0.1:$p1"
		-device "virtio-net-pci,netdev=peer0,mac=$(nic_mac $((VFIO_NET + 1)))"
		-device edu)
	if [ -n "${TESTBED_NET_DUMP:-}" ]; then
		mkdir -p "$TESTBED_NET_DUMP" || die "cannot create TESTBED_NET_DUMP=$TESTBED_NET_DUMP"
		qargs+=(-object "filter-dump,id=dump0,netdev=pt0,file=$TESTBED_NET_DUMP/pt0.pcap"
			-object "filter-dump,id=dump1,netdev=peer0,file=$TESTBED_NET_DUMP/peer0.pcap")
	fi
	append="$append intel_iommu=on iommu=pt"
}

qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
kinfo=$("$E2E_DIR/kernel.sh") || exit $?
eval "$kinfo"

# The test host initramfs depends only on the kernel, host-init and the
# module list below: cache it (the --vfio one separately).
modules=(9p 9pnet_virtio kvm-amd virtio-rng tun)
hostimg=$SLUICE_CACHE/testbed/host-$KVER.img
if [ "$vfio" = 1 ]; then
	modules+=(vfio-pci vfio_iommu_type1 virtio_net)
	hostimg=$SLUICE_CACHE/testbed/host-vfio-$KVER.img
fi
if [ ! -e "$hostimg" ] || [ "$E2E_DIR/host-init" -nt "$hostimg" ] ||
	[ "$E2E_DIR/initramfs.sh" -nt "$hostimg" ] || [ "$0" -nt "$hostimg" ]; then
	mkdir -p "$(dirname "$hostimg")"
	log "building test host initramfs $hostimg"
	"$E2E_DIR/initramfs.sh" "$hostimg" "$E2E_DIR/host-init" "$KROOT" "$KVER" "${modules[@]}"
fi

# The command runs from a script on the shared root, named on the cmdline.
rundir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-testbed.XXXXXX")
trap 'rm -rf "$rundir"' EXIT
{
	# See kvm-keepalive.py: keeps the test host's kernel from patching KVM
	# code while guests start and stop.
	printf '%q >/dev/null 2>&1 &\n' "$E2E_DIR/kvm-keepalive.py"
	printf 'cd %q || exit 125\n' "$PWD"
	[ "$vfio" = 0 ] || printf 'export E2E_VFIO=1 E2E_VFIO_NVME_IMG=%q\n' "$rundir/nvme.img"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$rundir/cmd.sh"

append="console=ttyS0 quiet panic=-1 sluice.run=$rundir/cmd.sh"
qargs=(-accel tcg -M q35 -cpu max,-xsave -smp 4 -m "$memory"
	-nodefaults -no-reboot -display none
	-kernel "$VMLINUZ" -initrd "$hostimg")
[ "$vfio" = 0 ] || vfio_qargs "$rundir"
# shellcheck disable=SC2054 # QEMU options hold commas
qargs+=(-append "$append"
	-virtfs local,path=/,mount_tag=host,security_model=none,multidevs=remap
	-device virtio-rng-pci)
console=$rundir/console.log
start=$(now)
set +e
if [ "$interactive" = 1 ]; then
	# signal=off: ^C goes to the test host (and on to the guest), not QEMU.
	timeout --foreground "$timeout" "$qemu" "${qargs[@]}" \
		-chardev stdio,id=con,signal=off,logfile="$console" -serial chardev:con
	status=$?
else
	# A test host that dies during its own boot, before its /init ran the
	# command (QEMU-TCG's cross-modifying-code trouble: "Oops: int3" in
	# the test host kernel, seen at about 1 boot in 30), is booted once more.
	for attempt in 1 2; do
		timeout "$timeout" "$qemu" "${qargs[@]}" -serial stdio </dev/null |
			stdbuf -oL tr -d '\r' | tee "$console"
		status=${PIPESTATUS[0]}
		[ "$status" != 124 ] && ! grep -q '^SLUICE-E2E-HOST-UP' "$console" || break
		[ "$attempt" = 1 ] || break
		mv "$console" "$rundir/console.attempt1.log"
		log "test host died during its boot (status $status, before running the command): booting it again"
	done
fi
set -e
[ -z "$logfile" ] || tr -d '\r' <"$console" >"$logfile"

rc=$(tr -d '\r' <"$console" | sed -n 's/^SLUICE-E2E-RESULT=\([0-9]*\)$/\1/p' | tail -n 1)
up=$(tr -d '\r' <"$console" | sed -n 's/^SLUICE-E2E-HOST-UP uptime=//p' | tail -n 1)
log "test host: up after ${up:-?} s (its uptime at /init), whole run $(elapsed "$start") s"
if [ -n "$rc" ]; then
	exit "$rc"
fi
if [ "$status" = 124 ]; then
	log "test host timed out after $timeout s"
	exit 124
fi
log "test host ended (status $status) without reporting a result; its console ends:"
tr -d '\r' <"$console" | grep -E -A12 'Oops|Kernel panic|BUG:' | head -n 40 >&2 || true
tr -d '\r' <"$console" | tail -n 15 >&2
exit 125
