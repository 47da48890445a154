# vfio-amd-v2: vfio-amd-strict with the guest using v2 (x86-64 format,
# under a GCR3 table) I/O page tables: amd_iommu=pgtbl_v2 ("V2 page table
# enabled", no "Fallback to v1"). The NVMe and e1000e passed through behind
# sluice's AMD IOMMU (--iommu amd: sluice shadows the guest's I/O
# page tables into the host container), guest in strict invalidation mode
# (iommu.strict=1) with interrupt remapping on. The same workload as
# vfio-nvme-net (NVMe pattern write/read-back found in the test bed's image,
# e1000e link, ping and a 4 MiB TCP upload with its sha256), the MSI-X
# vectors of both on IR-PCI-MSIX chips, AMD-Vi with remapping enabled,
# every function in an IOMMU group, no fault events, and sluice's exit
# line per passthrough device: "vfio BDF: host mappings match the guest's
# I/O page tables".
SCENARIO_TESTBED=vfio
SCENARIO_VFIO="nvme nic"
SCENARIO_IOMMU=amd
SCENARIO_CMDLINE="iommu.strict=1 amd_iommu=pgtbl_v2"
SCENARIO_CPUS=1
# Guest RAM on 2 MiB pages: the test bed's QEMU 7.2 drops an e1000e TX
# buffer that crosses a page its emulated IOMMU maps with 4 KiB pages, which
# is what sluice's 4 KiB guest RAM gets from the test host's VFIO (docs/vfio.md).
SCENARIO_HUGEPAGES=1
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=600
# sluice only: QEMU 7.2's amd-iommu refuses VFIO devices.
SCENARIO_VMMS=sluice

VFIO_TAG=vfio-amd-v2 VFIO_WRITE_AT=49152 # 4 MiB of its pattern at 24 MiB
VFIO_NET_PORT=5001 VFIO_NET_MIB=4

host_setup() { vfio_host_setup; }
host_teardown() { vfio_host_teardown; }
guest() {
	pci_groups | while read -r line; do mark PCI-GROUP "$line"; done
	vfio_guest_nvme_net
}

check() {
	local iommu got ir
	expect_normal_run || return 1
	iommu=$(expect_amd_iommu strict) || { echo "$iommu"; return 1; }
	ir=$(vfio_expect_amd_ir) || { echo "$ir"; return 1; }
	guest_dmesg | grep -q "V2 page table enabled" ||
		fail "guest dmesg lacks 'V2 page table enabled': $(guest_dmesg | grep -E 'AMD-Vi: .*(V2|v2|page table)' | head -n 3 | tr '\n' '|')" || return 1
	got=$(vfio_expect_nvme_net IR-PCI-MSIX) || { echo "$got"; return 1; }
	vfio_expect_shadow_consistent nvme nic || return 1
	expect_clean_dmesg "$PCI_DMESG_BAD|$IOMMU_DMESG_BAD" || return 1
	echo "$iommu; $ir; $got"
}
