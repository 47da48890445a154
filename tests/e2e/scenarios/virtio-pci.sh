# virtio-pci: 1 vCPU with virtio-blk, virtio-net and virtio-rng, each
# behind its own PCIe root port, on a q35-like PCIe topology. One boot
# proves what were four scenarios:
# - PCI enumeration (formerly pci-enumerate): the guest lists its PCI
#   devices (sysfs); the host bridge 8086:29c0 at 00:00.0, one root port
#   1b36:000c per device, the modern virtio IDs (1041 net, 1042 blk, 1044
#   rng) on buses >= 1 with virtio-pci bound, ECAM in use (4 KiB config
#   space), and no resource assignment, _OSC, firmware or ACPI complaints.
# - virtio-rng (formerly virtio-rng): the hw_random core picks
#   virtio_rng.N, /dev/hwrng delivers 4 KiB, not all zeros, two reads
#   differ.
# - virtio-net (formerly virtio-net): the NIC on a tap of the host
#   (10.0.0.1/24); the guest takes 10.0.0.2, pings the host (3 replies) and
#   sends 8 MiB of random data over TCP (busybox nc) to a sink on the host,
#   which received exactly the bytes the guest sent (sha256).
# - MSI-X (formerly msix): after the guest used every device (disk read,
#   ping and upload, /dev/hwrng), its /proc/interrupts lines for virtio
#   show only MSI-X vectors (PCI-MSIX-<BDF>) for each of the 3 devices, and
#   each device's queue vectors fired.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_TIMEOUT=240
SCENARIO_DISKS=data
SCENARIO_NETS=port
SCENARIO_RNG=port
SCENARIO_VMMS=sluice,qemu-q35

NET_PORT=5001
NET_MIB=8

host_setup() { sink_start "$RUN_DIR" 0 "$NET_PORT"; }
host_teardown() { sink_stop "$RUN_DIR" "$NET_PORT"; }

guest() {
	local d nic
	pci_list | while read -r line; do mark PCI-DEV "$line"; done
	# virtio-rng
	mark RNG-CURRENT "$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	mark RNG-AVAILABLE "$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)"
	timeout 60 dd if=/dev/hwrng of=/tmp/rng1 bs=4096 count=1 iflag=fullblock 2>/dev/null
	timeout 60 dd if=/dev/hwrng of=/tmp/rng2 bs=4096 count=1 iflag=fullblock 2>/dev/null
	mark RNG-BYTES "$(wc -c </tmp/rng1)"
	mark RNG-NONZERO-BYTES "$(tr -d '\000' </tmp/rng1 | wc -c)"
	if cmp -s /tmp/rng1 /tmp/rng2; then mark RNG-READS-DIFFER 0; else mark RNG-READS-DIFFER 1; fi
	# virtio-blk: a read, so the disk's queue vector fires
	d=$(disk_by_name data)
	mark DATA-DISK "${d:-none}"
	[ -z "$d" ] || mark READ "$(blk_read_check "$d" data 2048)"
	# virtio-net
	nic=$(net_up 0)
	mark NIC "${nic:-none}"
	if [ -n "$nic" ]; then
		mark PING-REPLIES "$(ping -c 3 -W 5 "$(host_ip 0)" 2>&1 | grep -c 'bytes from')"
		dd if=/dev/urandom of=/tmp/blob bs=1M count="$NET_MIB" 2>/dev/null
		mark TX-SHA "$(sha256sum /tmp/blob | cut -d' ' -f1)"
		mark TX-START "$(kclock tx-start)"
		timeout 120 nc "$(host_ip 0)" "$NET_PORT" </tmp/blob
		mark TX-RC "$?"
		mark TX-END "$(kclock tx-end)"
	fi
	# MSI-X: after every device was used
	grep virtio /proc/interrupts | while read -r line; do mark IRQ "$line"; done
}

# check_enumeration: the PCIe topology and the guest's PCI/ACPI log.
check_enumeration() {
	local ids
	expect_pcie_virtio 3 || return 1
	ids=$(markers PCI-DEV | awk '$2 ~ /^1af4:/ { print $2 }' | sort | tr '\n' ' ')
	[ "$ids" = "1af4:1041 1af4:1042 1af4:1044 " ] || fail "virtio IDs are '$ids', expected 1041 (net), 1042 (blk), 1044 (rng)" || return 1
	# 6.12: "PCI: ECAM [mem ...] (base ...) for domain 0000 [bus 00-ff]";
	# older kernels: "PCI: MMCONFIG for domain 0000 [bus 00-ff] at [mem ...]".
	guest_dmesg | grep -qE 'PCI: (ECAM|MMCONFIG) .*for domain 0000' ||
		fail "the guest log shows no MMCONFIG/ECAM region for domain 0000" || return 1
	expect_clean_dmesg "$PCI_DMESG_BAD"
}

check_rng() {
	marker RNG-CURRENT | grep -q '^virtio_rng\.' ||
		fail "rng_current is '$(marker RNG-CURRENT)' (available: $(marker RNG-AVAILABLE)), expected virtio_rng.N" || return 1
	expect_marker RNG-BYTES 4096 || return 1
	[ "$(marker RNG-NONZERO-BYTES)" -gt 3000 ] ||
		fail "only $(marker RNG-NONZERO-BYTES) of 4096 bytes from /dev/hwrng are non-zero" || return 1
	expect_marker RNG-READS-DIFFER 1
}

# check_net: prints the upload's speed.
check_net() {
	local got secs
	[ "$(marker NIC)" != none ] || fail "guest has no interface with MAC $(nic_mac 0)" || return 1
	expect_marker PING-REPLIES 3 || return 1
	expect_marker TX-RC 0 || return 1
	got=$(cat "$RUN_DIR/sink-$NET_PORT" 2>/dev/null)
	[ "$got" = "$((NET_MIB << 20)) $(marker TX-SHA)" ] ||
		fail "the host received '${got:-nothing}', the guest sent $((NET_MIB << 20)) bytes with sha256 $(marker TX-SHA)" || return 1
	secs=$(awk -v a="$(marker TX-START)" -v b="$(marker TX-END)" 'BEGIN { printf "%.2f", b - a }')
	echo "$NET_MIB MiB guest->host in $secs s (guest clock)"
}

# check_msix: prints the vector count.
check_msix() {
	local irqs devs dev lines n=0
	irqs=$(markers IRQ)
	[ -n "$irqs" ] || fail "/proc/interrupts has no virtio lines" || return 1
	devs=$(echo "$irqs" | awk '{ print $NF }' | sed -n 's/^\(virtio[0-9]*\)-.*/\1/p' | sort -u)
	for dev in $devs; do
		n=$((n + 1))
		lines=$(echo "$irqs" | awk -v d="$dev" 'index($NF, d "-") == 1')
		! echo "$lines" | grep -vqE 'PCI-MSI-?X' ||
			fail "$dev has non-MSI-X interrupts: $(echo "$lines" | grep -vE 'PCI-MSI-?X' | head -n 2 | tr '\n' '|')" || return 1
		[ "$(echo "$lines" | awk '$NF !~ /-config$/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break } END { print s + 0 }')" -gt 0 ] ||
			fail "no queue interrupt of $dev fired: $(echo "$lines" | tr '\n' '|')" || return 1
	done
	[ "$n" = 3 ] || fail "interrupts of $n virtio devices, expected 3 (blk, net, rng): $(echo "$irqs" | tr '\n' '|')" || return 1
	[ "$(marker DATA-DISK)" != none ] || fail "guest found no disk with pattern 'data'" || return 1
	expect_marker READ ok || return 1
	echo "$(echo "$irqs" | wc -l) MSI-X vectors for 3 virtio devices"
}

check() {
	local net msix
	expect_normal_run || return 1
	check_enumeration || return 1
	check_rng || return 1
	net=$(check_net) || { echo "$net"; return 1; }
	msix=$(check_msix) || { echo "$msix"; return 1; }
	echo "$(markers PCI-DEV | wc -l) PCI functions; $msix; $net"
}
