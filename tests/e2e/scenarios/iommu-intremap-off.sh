# iommu-intremap-off: --iommu amd,intremap=off, 4 vCPUs, virtio-blk and
# virtio-net, and nothing on the guest command line. sluice then offers no
# interrupt remapping and its IVRS has no IOAPIC SPECIAL entry, so Linux
# says "[Firmware Bug]: : IOAPIC[0] not in IVRS table" and "[Firmware
# Bug]: : No southbridge IOAPIC found" (expected here, and only here:
# that is how 6.12 finds out there is no remapping for the IOAPIC) and "Disabling interrupt remapping", never "Interrupt remapping
# enabled". The guest runs without remapping: /proc/interrupts has plain
# IO-APIC (UART) and PCI-MSIX (virtio) chips and no IR- chip, DMA
# translation still works (disk pattern read, write + host image; ping).
SCENARIO_CPUS=4
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=300
SCENARIO_DISKS=data
SCENARIO_NETS=port
SCENARIO_IOMMU=amd,intremap=off
SCENARIO_VMMS=sluice

BLK_READ=8192
BLK_WRITE_AT=16384 BLK_WRITE=4096

guest() {
	local d
	mark NPROC "$(nproc)"
	grep -E 'ttyS0|virtio' /proc/interrupts | while read -r line; do mark IRQ-LINE "$line"; done
	mark IR-CHIPS "$(grep -c ' IR-' /proc/interrupts)"
	d=$(disk_by_name data)
	mark DATA-DISK "${d:-none}"
	if [ -n "$d" ]; then
		mark READ "$(blk_read_check "$d" data "$BLK_READ")"
		mark WRITE "$(blk_write_check "$d" guest "$BLK_WRITE_AT" "$BLK_WRITE")"
	fi
	net_up 0 >/dev/null && mark PING-REPLIES "$(ping -c 3 -W 5 "$(host_ip 0)" 2>&1 | grep -c 'bytes from')"
}

check() {
	local lines bad
	expect_normal_run || return 1
	expect_marker NPROC 4 || return 1
	guest_dmesg | grep -q 'AMD-Vi: Extended features' || fail "the guest found no AMD IOMMU" || return 1
	! guest_dmesg | grep -q 'Interrupt remapping enabled' || fail "the guest enabled interrupt remapping with intremap=off" || return 1
	guest_dmesg | grep -q 'Disabling interrupt remapping' ||
		fail "the guest does not say it runs without remapping: $(guest_dmesg | grep -E 'AMD-Vi|remapping' | head -n 5 | tr '\n' '|')" || return 1
	expect_marker IR-CHIPS 0 || return 1
	lines=$(markers IRQ-LINE)
	echo "$lines" | grep -E ' ttyS0$' | grep -q ' IO-APIC ' || fail "the UART's interrupt is not on IO-APIC: $(echo "$lines" | grep ttyS0)" || return 1
	! echo "$lines" | grep virtio | grep -q -v 'PCI-MSIX' || fail "virtio interrupts not on PCI-MSIX: $(echo "$lines" | tr '\n' '|')" || return 1
	[ "$(marker DATA-DISK)" != none ] || fail "guest found no disk with pattern 'data'" || return 1
	expect_marker READ ok && expect_marker WRITE ok || return 1
	expect_image_pattern "$RUN_DIR/data.img" guest "$BLK_WRITE_AT" "$BLK_WRITE" data || return 1
	expect_marker PING-REPLIES 3 || return 1
	# The firmware-bug lines are expected (see above); nothing else may show.
	bad=$(guest_dmesg | grep -E 'Firmware Bug' | grep -vE 'IOAPIC\[[0-9]+\] not in IVRS table|No southbridge IOAPIC found')
	[ -z "$bad" ] || fail "unexpected firmware complaint: $(echo "$bad" | head -n 2 | tr '\n' '|')" || return 1
	guest_dmesg | grep -vE 'Firmware Bug.*IOAPIC\[[0-9]+\] not in IVRS table|No southbridge IOAPIC found' >/tmp/.ir-off-dmesg.$$
	bad=$(grep -E "ACPI Error|ACPI BIOS Error|WARNING:|BUG:|Call Trace|$PCI_DMESG_BAD|$IOMMU_DMESG_BAD" /tmp/.ir-off-dmesg.$$)
	rm -f /tmp/.ir-off-dmesg.$$
	[ -z "$bad" ] || fail "dmesg has: $(echo "$bad" | head -n 5 | tr '\n' '|')" || return 1
	echo "$(guest_dmesg | grep -oE 'Firmware Bug.*|Disabling interrupt remapping' | sort -u | tr '\n' ';')"
}
