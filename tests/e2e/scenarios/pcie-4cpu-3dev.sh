# pcie-4cpu-3dev: 4 vCPUs with virtio-blk, virtio-net and virtio-rng behind
# PCIe root ports: the guest boots cleanly (no firmware, ACPI or PCI
# complaints, no warnings) and all three devices work briefly.
SCENARIO_CPUS=4
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=300
SCENARIO_DISKS=data
SCENARIO_NETS=port
SCENARIO_RNG=port
SCENARIO_VMMS=sluice,qemu-q35

guest() {
	local d
	mark NPROC "$(nproc)"
	pci_list | while read -r line; do mark PCI-DEV "$line"; done
	d=$(disk_by_name data)
	mark READ "$([ -n "$d" ] && blk_read_check "$d" data 8192)"
	net_up 0 >/dev/null && mark PING-REPLIES "$(ping -c 3 -W 5 "$(host_ip 0)" 2>&1 | grep -c 'bytes from')"
	mark RNG-NONZERO-BYTES "$(timeout 60 dd if=/dev/hwrng bs=4096 count=1 iflag=fullblock 2>/dev/null | tr -d '\000' | wc -c)"
}

check() {
	expect_normal_run || return 1
	expect_marker NPROC 4 || return 1
	expect_pcie_virtio 3 || return 1
	expect_marker READ ok && expect_marker PING-REPLIES 3 || return 1
	[ "$(marker RNG-NONZERO-BYTES)" -gt 3000 ] || fail "/dev/hwrng gave $(marker RNG-NONZERO-BYTES) non-zero bytes of 4096" || return 1
	expect_clean_dmesg "$PCI_DMESG_BAD"
}
