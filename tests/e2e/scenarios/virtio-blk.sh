# virtio-blk: two disks behind their own PCIe root ports. The host fills
# both with a known pattern (common.sh). On "data" the guest checks what it
# reads (O_DIRECT), writes a new pattern at 8 MiB, syncs, drops its caches
# and reads it back; the host then finds exactly that pattern in the image
# file and the rest unchanged. "ro" is read-only: the kernel sees it so,
# writing fails, and the image stays as it was.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_DISKS="data ro:ro"
SCENARIO_VMMS=sluice,qemu-q35

BLK_READ=8192   # blocks of 512 bytes the guest checks: the first 4 MiB
BLK_WRITE_AT=16384 BLK_WRITE=2048 # the guest writes 1 MiB at 8 MiB

guest() {
	local d ro
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

	ro=$(disk_by_name ro)
	mark RO-DISK "${ro:-none}"
	[ -n "$ro" ] || return 0
	mark RO-SYSFS "$(cat "/sys/block/$ro/ro")"
	mark RO-READ "$(blk_read_check "$ro" ro 2048)"
	pattern guest 0 8 | dd of="/dev/$ro" bs=512 iflag=fullblock conv=fsync 2>/tmp/ro.err
	mark RO-WRITE-RC "$?"
	mark RO-WRITE-ERR "$(head -n 1 /tmp/ro.err)"
}

# img_sha IMAGE FIRST COUNT: sha256 of 512-byte blocks of a host image.
img_sha() { dd if="$1" bs=512 skip="$2" count="$3" 2>/dev/null | sha256sum | cut -d' ' -f1; }

check() {
	local data=$RUN_DIR/data.img rest=$((E2E_DISK_BLOCKS - BLK_WRITE_AT - BLK_WRITE))
	expect_normal_run || return 1
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

	[ "$(marker RO-DISK)" != none ] || fail "guest found no disk with pattern 'ro'" || return 1
	expect_marker RO-SYSFS 1 || return 1
	expect_marker RO-READ ok || return 1
	[ "$(marker RO-WRITE-RC)" != 0 ] || fail "writing the read-only disk succeeded in the guest" || return 1
	[ "$(img_sha "$RUN_DIR/ro.img" 0 "$E2E_DISK_BLOCKS")" = "$(pattern_sha ro 0 "$E2E_DISK_BLOCKS")" ] ||
		fail "the read-only disk's image changed" || return 1
	echo "ro write: $(marker RO-WRITE-ERR)"
}
