# pci-enumerate: a q35-like PCIe topology with virtio-blk, virtio-net and
# virtio-rng, each behind its own PCIe root port. The guest lists its PCI
# devices (sysfs) and its kernel log; the host checks the host bridge, one
# root port per device, the modern virtio IDs (1041 net, 1042 blk, 1044
# rng) on buses >= 1 with virtio-pci bound, ECAM in use, and no resource
# assignment, firmware or ACPI complaints.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_DISKS=data
SCENARIO_NETS=port
SCENARIO_RNG=port
SCENARIO_VMMS=sluice,qemu-q35

guest() {
	pci_list | while read -r line; do mark PCI-DEV "$line"; done
}

check() {
	local ids
	expect_normal_run || return 1
	expect_pcie_virtio 3 || return 1
	ids=$(markers PCI-DEV | awk '$2 ~ /^1af4:/ { print $2 }' | sort | tr '\n' ' ')
	[ "$ids" = "1af4:1041 1af4:1042 1af4:1044 " ] || fail "virtio IDs are '$ids', expected 1041 (net), 1042 (blk), 1044 (rng)" || return 1
	# 6.12: "PCI: ECAM [mem ...] (base ...) for domain 0000 [bus 00-ff]";
	# older kernels: "PCI: MMCONFIG for domain 0000 [bus 00-ff] at [mem ...]".
	guest_dmesg | grep -qE 'PCI: (ECAM|MMCONFIG) .*for domain 0000' ||
		fail "the guest log shows no MMCONFIG/ECAM region for domain 0000" || return 1
	expect_clean_dmesg "$PCI_DMESG_BAD" || return 1
	echo "$(markers PCI-DEV | wc -l) PCI functions"
}
