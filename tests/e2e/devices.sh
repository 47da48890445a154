# Host side of a scenario's devices (SCENARIO_DISKS, SCENARIO_NETS; see
# vmm.sh's vmm_devices for their syntax). Sourced by scenarios-run.sh, in
# the machine the VMM runs on (the test host). Needs common.sh.
# shellcheck shell=bash

# Default disk image: 16 MiB of pattern NAME (the guest finds the disk by
# its first block, see disk_by_name in common.sh).
E2E_DISK_BLOCKS=32768

# dev_setup DIR DISKS NETS: create DIR/NAME.img for every disk and a tap
# with the host address for every NIC. Prints what failed and returns 1
# (call dev_teardown in any case).
dev_setup() {
	local dir=$1 disks=$2 nets=$3 spec name i=0 tap
	for spec in $disks; do
		name=${spec%%:*}
		pattern "$name" 0 "$E2E_DISK_BLOCKS" >"$dir/$name.img" ||
			{ echo "cannot create disk image $dir/$name.img"; return 1; }
	done
	for _ in $nets; do
		tap=$(tap_name "$i")
		ip link del "$tap" 2>/dev/null || true # a leftover from an aborted run
		ip tuntap add "$tap" mode tap 2>/dev/null ||
			{ echo "cannot create tap $tap (needs root and the tun module)"; return 1; }
		if ! ip addr add "$(host_ip "$i")/24" dev "$tap" || ! ip link set "$tap" up; then
			echo "cannot configure tap $tap"
			return 1
		fi
		i=$((i + 1))
	done
}

# dev_teardown NETS: delete the taps.
dev_teardown() {
	local i=0
	for _ in $1; do
		ip link del "$(tap_name "$i")" 2>/dev/null || true
		i=$((i + 1))
	done
}

# sink_start DIR I PORT: a TCP sink (tcp-sink.py) on NIC I's host address,
# writing "BYTES SHA256" of what it receives to DIR/sink-PORT; returns once
# it listens. sink_stop DIR PORT (after the VMM exited): wait up to 2 s for
# that result, then end the sink; prints the result ("" when none).
sink_start() {
	local dir=$1 out=$1/sink-$3 i
	"$E2E_DIR/tcp-sink.py" "$(host_ip "$2")" "$3" "$out" 600 >"$out.log" 2>&1 &
	echo $! >"$out.pid"
	for ((i = 0; i < 100; i++)); do
		[ ! -e "$out.ready" ] || return 0
		kill -0 "$(cat "$out.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "the TCP sink on $(host_ip "$2"):$3 did not start: $(cat "$out.log")"
	return 1
}
sink_stop() {
	local out=$1/sink-$2 pid i
	pid=$(cat "$out.pid" 2>/dev/null) || return 0
	for ((i = 0; i < 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	cat "$out" 2>/dev/null || true
}

# ---- VFIO test bed (testbed.sh --vfio) ---------------------------------------

# vfio_bdf NAME: the PCI address (0000:00:03.0) of passthrough device NAME
# (nvme, nic, edu: see vfio_ids) in this machine; fails when there is none.
vfio_bdf() {
	local ids d
	ids=$(vfio_ids "$1") || return 1
	# shellcheck disable=SC2086 # two words on purpose
	d=$(pci_find $ids | head -n 1)
	[ -n "$d" ] || return 1
	echo "${d##*/}"
}

# vfio_group BDF: its IOMMU group number (nothing when it has none).
vfio_group() {
	local g=/sys/bus/pci/devices/$1/iommu_group
	[ -e "$g" ] && basename "$(readlink -f "$g")"
}

# vfio_driver BDF: the driver bound to it, "-" when none.
vfio_driver() {
	local d=/sys/bus/pci/devices/$1/driver
	if [ -e "$d" ]; then basename "$(readlink -f "$d")"; else echo -; fi
}

# vfio_bind BDF: bind it to vfio-pci (driver_override + drivers_probe; a
# no-op when it already is) and check that /dev/vfio/GROUP appeared.
# Prints "BDF vfio-pci group N" or what went wrong (then fails). The device
# stays bound to vfio-pci: every scenario reopens it.
vfio_bind() {
	local bdf=$1 dev=/sys/bus/pci/devices/$1 drv group i
	[ -e "$dev" ] || { echo "no PCI device $bdf"; return 1; }
	[ -e /sys/bus/pci/drivers/vfio-pci ] || modprobe vfio-pci 2>/dev/null ||
		{ echo "vfio-pci is not loaded (the test host's initramfs lacks it?)"; return 1; }
	drv=$(vfio_driver "$bdf")
	if [ "$drv" != vfio-pci ]; then
		echo vfio-pci >"$dev/driver_override" || { echo "cannot set $bdf's driver_override"; return 1; }
		[ "$drv" = - ] || echo "$bdf" >"$dev/driver/unbind" || { echo "cannot unbind $bdf from $drv"; return 1; }
		echo "$bdf" >/sys/bus/pci/drivers_probe 2>/dev/null || true
		drv=$(vfio_driver "$bdf")
		[ "$drv" = vfio-pci ] || { echo "$bdf did not bind to vfio-pci (driver: $drv)"; return 1; }
	fi
	group=$(vfio_group "$bdf")
	[ -n "$group" ] || { echo "$bdf has no IOMMU group (no intel_iommu=on?)"; return 1; }
	for ((i = 0; i < 50; i++)); do
		[ -e "/dev/vfio/$group" ] && break
		sleep 0.1
	done
	[ -e "/dev/vfio/$group" ] || { echo "$bdf is bound to vfio-pci but /dev/vfio/$group did not appear"; return 1; }
	echo "$bdf vfio-pci group $group"
}

# vfio_setup VFIO: bind every device of a scenario's SCENARIO_VFIO (words
# NAME[:OPTS]) to vfio-pci; prints one line per device, or what failed.
vfio_setup() {
	local spec bdf
	for spec in $1; do
		bdf=$(vfio_bdf "${spec%%:*}") || { echo "no passthrough device '${spec%%:*}' here"; return 1; }
		vfio_bind "$bdf" || return 1
	done
}

# vfio_testbed_up: once per test-host boot, give the e1000e's peer (the
# test host's virtio-net, MAC $(nic_mac VFIO_NET+1)) its address
# $(host_ip VFIO_NET)/24. Prints what it did or what failed.
vfio_testbed_up() {
	local nic
	nic=$(nic_by_mac "$(nic_mac $((VFIO_NET + 1)))")
	[ -n "$nic" ] || { echo "no peer NIC with MAC $(nic_mac $((VFIO_NET + 1))) (virtio_net not loaded?)"; return 1; }
	ip addr show dev "$nic" | grep -q "inet $(host_ip "$VFIO_NET")/" ||
		ip addr add "$(host_ip "$VFIO_NET")/24" dev "$nic" || { echo "cannot address $nic"; return 1; }
	ip link set "$nic" up || { echo "cannot bring up $nic"; return 1; }
	echo "peer NIC $nic $(host_ip "$VFIO_NET")/24"
}

# dmesg_mark FILE / dmesg_since FILE: the test host's kernel log lines
# logged after dmesg_mark wrote FILE.
dmesg_mark() { dmesg | wc -l >"$1"; }
dmesg_since() { dmesg | tail -n +$(($(cat "$1" 2>/dev/null || echo 0) + 1)); }

# reserve_hugepages SIZE: at least SIZE (512M, 1G) of 2 MiB huge pages in
# the test host's pool (for sluice --hugepages), or say why not.
reserve_hugepages() {
	local mib pages have
	case $1 in
	*G) mib=$((${1%G} * 1024)) ;;
	*M) mib=${1%M} ;;
	*) echo "reserve_hugepages: size '$1' is not NNNM or NNNG"; return 1 ;;
	esac
	pages=$(((mib + 1) / 2 + 8))
	have=$(cat /proc/sys/vm/nr_hugepages)
	[ "$have" -ge "$pages" ] || echo "$pages" >/proc/sys/vm/nr_hugepages
	have=$(cat /proc/sys/vm/nr_hugepages)
	[ "$have" -ge "$pages" ] || { echo "only $have of $pages huge pages could be reserved"; return 1; }
}

# vfio_host_setup: a VFIO scenario's host_setup (after vfio_setup bound its
# devices): resets the blocks it writes in the NVMe image (E2E_VFIO_NVME_IMG)
# to the base pattern "nvme" so the check sees this run's write, notes where
# the test host's kernel log stands (dmesg_since), reserves huge pages for
# a SCENARIO_HUGEPAGES guest, and starts the TCP sink on the e1000e's peer
# when the scenario passes the NIC through.
vfio_host_setup() {
	local n=${VFIO_WRITE:-8192}
	dmesg_mark "$RUN_DIR/dmesg.mark"
	[ -z "${SCENARIO_HUGEPAGES:-}" ] || reserve_hugepages "$SCENARIO_MEMORY" || return 1
	if [[ " $SCENARIO_VFIO " == *" nvme"[\ :]* ]] && [ -n "${VFIO_WRITE_AT:-}" ]; then
		[ -w "${E2E_VFIO_NVME_IMG:-}" ] || { echo "no NVMe image (E2E_VFIO_NVME_IMG='${E2E_VFIO_NVME_IMG:-}')"; return 1; }
		pattern nvme "$VFIO_WRITE_AT" "$n" |
			dd of="$E2E_VFIO_NVME_IMG" bs=512 seek="$VFIO_WRITE_AT" conv=notrunc,fsync status=none || return 1
	fi
	if [[ " $SCENARIO_VFIO " == *" nic"[\ :]* ]]; then
		sink_start "$RUN_DIR" "$VFIO_NET" "$VFIO_NET_PORT" || return 1
	fi
}
vfio_host_teardown() {
	[[ " $SCENARIO_VFIO " != *" nic"[\ :]* ]] || sink_stop "$RUN_DIR" "$VFIO_NET_PORT"
}
