# vfio-reboot: the VFIO test bed's NVMe passed through (no vIOMMU); the
# guest reads the first 4 MiB of the namespace (pattern "nvme", O_DIRECT)
# and reboots (reboot -f). The VMM exits 0 on the reboot (sluice exits on
# reboot; QEMU runs with -no-reboot), and afterwards the device can be
# passed through again: still bound to vfio-pci, /dev/vfio/N there, and
# vfio-probe.py opens its group (viable, released), attaches it to a
# container, resets the device and reads its IDs. (Later scenarios of the
# same test-host boot reuse the device too.)
SCENARIO_TESTBED=vfio
SCENARIO_VFIO=nvme
SCENARIO_CPUS=1
# Guest RAM on 2 MiB pages: the test bed's QEMU 7.2 drops an e1000e TX
# buffer that crosses a page its emulated IOMMU maps with 4 KiB pages, which
# is what sluice's 4 KiB guest RAM gets from the test host's VFIO (docs/vfio.md).
SCENARIO_HUGEPAGES=1
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=600
SCENARIO_VMMS=sluice,qemu-q35

host_setup() { vfio_host_setup; }

guest() {
	local d
	d=$(vfio_wait_nvme 30)
	mark NVME-DISK "${d:-none}"
	[ -z "$d" ] || mark NVME-READ "$(blk_read_check "$d" nvme 8192)"
	dump_dmesg
	mark REBOOT "$(kclock reboot)"
	reboot -f
	sleep 30
	mark ERROR "still running 30 s after reboot -f"
}

check() {
	local probe
	expect_marker INIT && expect_marker REBOOT || return 1
	! grep -q '^SLUICE-E2E-DONE=' "$CONSOLE" || fail "the guest powered off instead of rebooting" || return 1
	expect_status 0 "the VMM exits 0 when the guest reboots" || return 1
	[ "$(marker NVME-DISK)" != none ] || fail "guest found no NVMe namespace with pattern 'nvme'" || return 1
	expect_marker NVME-READ ok || return 1
	probe=$(vfio_expect_still_bound nvme) || { echo "$probe"; return 1; }
	expect_clean_dmesg "$PCI_DMESG_BAD" || return 1
	echo "rebooted after reading $(marker NVME-DISK); $probe"
}
