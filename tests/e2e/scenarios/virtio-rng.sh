# virtio-rng: the guest's hw_random core picks the virtio-rng device behind
# a PCIe root port, and /dev/hwrng delivers data (4 KiB, not all zeros, two
# reads differ).
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_RNG=port
SCENARIO_VMMS=sluice,qemu-q35

guest() {
	mark RNG-CURRENT "$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	mark RNG-AVAILABLE "$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)"
	timeout 60 dd if=/dev/hwrng of=/tmp/rng1 bs=4096 count=1 iflag=fullblock 2>/dev/null
	timeout 60 dd if=/dev/hwrng of=/tmp/rng2 bs=4096 count=1 iflag=fullblock 2>/dev/null
	mark RNG-BYTES "$(cat /tmp/rng1 | wc -c)"
	mark RNG-NONZERO-BYTES "$(tr -d '\000' </tmp/rng1 | wc -c)"
	if cmp -s /tmp/rng1 /tmp/rng2; then mark RNG-READS-DIFFER 0; else mark RNG-READS-DIFFER 1; fi
}

check() {
	expect_normal_run || return 1
	marker RNG-CURRENT | grep -q '^virtio_rng\.' ||
		fail "rng_current is '$(marker RNG-CURRENT)' (available: $(marker RNG-AVAILABLE)), expected virtio_rng.N" || return 1
	expect_marker RNG-BYTES 4096 || return 1
	[ "$(marker RNG-NONZERO-BYTES)" -gt 3000 ] ||
		fail "only $(marker RNG-NONZERO-BYTES) of 4096 bytes from /dev/hwrng are non-zero" || return 1
	expect_marker RNG-READS-DIFFER 1
}
