# msix: virtio-blk, virtio-net and virtio-rng interrupt through MSI-X. The
# guest uses each device (disk read, ping, /dev/hwrng) and prints its
# /proc/interrupts lines for virtio; every device must have only MSI-X
# vectors (PCI-MSIX-<BDF>), and its queue vectors must have fired.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_DISKS=data
SCENARIO_NETS=port
SCENARIO_RNG=port
SCENARIO_VMMS=sluice,qemu-q35

guest() {
	local d
	d=$(disk_by_name data)
	[ -z "$d" ] || mark READ "$(blk_read_check "$d" data 2048)"
	net_up 0 >/dev/null && mark PING-REPLIES "$(ping -c 3 -W 5 "$(host_ip 0)" 2>&1 | grep -c 'bytes from')"
	mark RNG-BYTES "$(timeout 60 dd if=/dev/hwrng bs=512 count=1 2>/dev/null | wc -c)"
	grep virtio /proc/interrupts | while read -r line; do mark IRQ "$line"; done
}

check() {
	local irqs devs dev lines n=0
	expect_normal_run || return 1
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
	expect_marker READ ok && expect_marker PING-REPLIES 3 && expect_marker RNG-BYTES 512 || return 1
	echo "$(echo "$irqs" | wc -l) MSI-X vectors for 3 virtio devices"
}
