# virtio-blk: three disks. The host fills each with its own known pattern
# (common.sh).
# - "data", behind its own PCIe root port: the guest checks what it reads
#   (O_DIRECT), writes a new pattern at 8 MiB, syncs, drops its caches and
#   reads it back; the host then finds exactly that pattern in the image
#   file and the rest unchanged.
# - "ro", behind its own root port, read-only: the kernel sees it so,
#   writing fails, and the image stays as it was.
# - "onbus0", directly on bus 0 (formerly virtio-blk-bus0): it enumerates
#   at 0000:00:xx.0 as 1af4:1042, reads its pattern, and a write at block
#   8192 reads back and lands in the host image.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_DISKS="data ro:ro onbus0:bus0"
SCENARIO_VMMS=sluice,qemu-q35

BLK_READ=8192   # blocks of 512 bytes the guest checks: the first 4 MiB
BLK_WRITE_AT=16384 BLK_WRITE=2048 # the guest writes 1 MiB at 8 MiB
BUS0_WRITE_AT=8192 BUS0_WRITE=256 # pattern "bus0" on the bus-0 disk

guest() {
	guest_data
	guest_ro
	guest_bus0
}

guest_data() {
	local d
	d=$(disk_by_name data)
	mark DATA-DISK "${d:-none}"
	[ -n "$d" ] || return 0
	mark DATA-SECTORS "$(cat "/sys/block/$d/size")"
	mark DATA-RO "$(cat "/sys/block/$d/ro")"
	mark READ "$(blk_read_check "$d" data "$BLK_READ")"
	pattern guest "$BLK_WRITE_AT" "$BLK_WRITE" |
		dd of="/dev/$d" bs=512 seek="$BLK_WRITE_AT" iflag=fullblock conv=fsync 2>/tmp/dd.err
	mark WRITE-RC "$? $(tail -n 1 /tmp/dd.err)"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	if [ "$(disk_sha "$d" "$BLK_WRITE_AT" "$BLK_WRITE")" = "$(pattern_sha guest "$BLK_WRITE_AT" "$BLK_WRITE")" ]; then
		mark READBACK ok
	else
		mark READBACK "differs from what was written"
	fi
}

guest_ro() {
	local ro
	ro=$(disk_by_name ro)
	mark RO-DISK "${ro:-none}"
	[ -n "$ro" ] || return 0
	mark RO-SYSFS "$(cat "/sys/block/$ro/ro")"
	mark RO-READ "$(blk_read_check "$ro" ro 2048)"
	pattern guest 0 8 | dd of="/dev/$ro" bs=512 iflag=fullblock conv=fsync 2>/tmp/ro.err
	mark RO-WRITE-RC "$?"
	mark RO-WRITE-ERR "$(head -n 1 /tmp/ro.err)"
}

guest_bus0() {
	local d bdf
	d=$(disk_by_name onbus0)
	mark BUS0-DISK "${d:-none}"
	[ -n "$d" ] || return 0
	bdf=$(pci_of "/sys/block/$d/device")
	mark BUS0-PCI "$bdf"
	mark BUS0-PCI-ID "$(cat "/sys/bus/pci/devices/$bdf/vendor"):$(cat "/sys/bus/pci/devices/$bdf/device")"
	mark BUS0-READ "$(blk_read_check "$d" onbus0 8192)"
	pattern bus0 "$BUS0_WRITE_AT" "$BUS0_WRITE" | dd of="/dev/$d" bs=512 seek="$BUS0_WRITE_AT" iflag=fullblock conv=fsync 2>/dev/null
	mark BUS0-WRITE-RC "$?"
	echo 3 >/proc/sys/vm/drop_caches
	if [ "$(disk_sha "$d" "$BUS0_WRITE_AT" "$BUS0_WRITE")" = "$(pattern_sha bus0 "$BUS0_WRITE_AT" "$BUS0_WRITE")" ]; then
		mark BUS0-READBACK ok
	else
		mark BUS0-READBACK differs
	fi
}

check_data() {
	local data=$RUN_DIR/data.img rest=$((E2E_DISK_BLOCKS - BLK_WRITE_AT - BLK_WRITE))
	[ "$(marker DATA-DISK)" != none ] || fail "guest found no disk with pattern 'data'" || return 1
	expect_marker DATA-SECTORS "$E2E_DISK_BLOCKS" || return 1
	expect_marker DATA-RO 0 || return 1
	expect_marker READ ok || return 1
	[ "$(marker WRITE-RC | cut -d' ' -f1)" = 0 ] || fail "guest write failed: $(marker WRITE-RC)" || return 1
	expect_marker READBACK ok || return 1
	[ "$(img_sha "$data" "$BLK_WRITE_AT" "$BLK_WRITE")" = "$(pattern_sha guest "$BLK_WRITE_AT" "$BLK_WRITE")" ] ||
		fail "the host image does not hold what the guest wrote at block $BLK_WRITE_AT" || return 1
	[ "$(img_sha "$data" 0 "$BLK_WRITE_AT")" = "$(pattern_sha data 0 "$BLK_WRITE_AT")" ] &&
		[ "$(img_sha "$data" $((BLK_WRITE_AT + BLK_WRITE)) "$rest")" = "$(pattern_sha data $((BLK_WRITE_AT + BLK_WRITE)) "$rest")" ] ||
		fail "the host image changed outside the region the guest wrote" || return 1
}

check_ro() {
	[ "$(marker RO-DISK)" != none ] || fail "guest found no disk with pattern 'ro'" || return 1
	expect_marker RO-SYSFS 1 || return 1
	expect_marker RO-READ ok || return 1
	[ "$(marker RO-WRITE-RC)" != 0 ] || fail "writing the read-only disk succeeded in the guest" || return 1
	[ "$(img_sha "$RUN_DIR/ro.img" 0 "$E2E_DISK_BLOCKS")" = "$(pattern_sha ro 0 "$E2E_DISK_BLOCKS")" ] ||
		fail "the read-only disk's image changed" || return 1
}

check_bus0() {
	[ "$(marker BUS0-DISK)" != none ] || fail "guest found no disk with pattern 'onbus0'" || return 1
	marker BUS0-PCI | grep -qE '^0000:00:[0-9a-f]{2}\.0$' ||
		fail "the bus-0 disk is at PCI '$(marker BUS0-PCI)', expected 0000:00:xx.0 (bus 0)" || return 1
	expect_marker BUS0-PCI-ID 0x1af4:0x1042 || return 1
	expect_marker BUS0-READ ok && expect_marker BUS0-WRITE-RC 0 && expect_marker BUS0-READBACK ok || return 1
	[ "$(img_sha "$RUN_DIR/onbus0.img" "$BUS0_WRITE_AT" "$BUS0_WRITE")" = "$(pattern_sha bus0 "$BUS0_WRITE_AT" "$BUS0_WRITE")" ] ||
		fail "the bus-0 disk's host image does not hold what the guest wrote" || return 1
}

check() {
	expect_normal_run || return 1
	check_data && check_ro && check_bus0 || return 1
	echo "ro write: $(marker RO-WRITE-ERR); bus-0 disk at $(marker BUS0-PCI)"
}
