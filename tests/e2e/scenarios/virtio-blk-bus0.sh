# virtio-blk-bus0: a disk placed directly on bus 0 (no root port) enumerates
# at 0000:00:xx.0 and reads and writes correctly.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_DISKS="data:bus0"
SCENARIO_VMMS=sluice,qemu-q35

guest() {
	local d bdf
	d=$(disk_by_name data)
	mark DISK "${d:-none}"
	[ -n "$d" ] || return 0
	bdf=$(pci_of "/sys/block/$d/device")
	mark DISK-PCI "$bdf"
	mark DISK-PCI-ID "$(cat "/sys/bus/pci/devices/$bdf/vendor"):$(cat "/sys/bus/pci/devices/$bdf/device")"
	mark READ "$(blk_read_check "$d" data 8192)"
	pattern bus0 8192 256 | dd of="/dev/$d" bs=512 seek=8192 iflag=fullblock conv=fsync 2>/dev/null
	mark WRITE-RC "$?"
	echo 3 >/proc/sys/vm/drop_caches
	if [ "$(disk_sha "$d" 8192 256)" = "$(pattern_sha bus0 8192 256)" ]; then mark READBACK ok; else mark READBACK differs; fi
}

check() {
	expect_normal_run || return 1
	[ "$(marker DISK)" != none ] || fail "guest found no disk with pattern 'data'" || return 1
	marker DISK-PCI | grep -qE '^0000:00:[0-9a-f]{2}\.0$' ||
		fail "the disk is at PCI '$(marker DISK-PCI)', expected 0000:00:xx.0 (bus 0)" || return 1
	expect_marker DISK-PCI-ID 0x1af4:0x1042 || return 1
	expect_marker READ ok && expect_marker WRITE-RC 0 && expect_marker READBACK ok || return 1
	[ "$(dd if="$RUN_DIR/data.img" bs=512 skip=8192 count=256 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$(pattern_sha bus0 8192 256)" ] ||
		fail "the host image does not hold what the guest wrote" || return 1
	echo "disk at $(marker DISK-PCI)"
}
