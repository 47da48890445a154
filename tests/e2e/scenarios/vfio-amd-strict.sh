# vfio-amd-strict: the VFIO test bed's NVMe and e1000e passed through
# behind sluice's AMD IOMMU (--iommu amd: sluice shadows the guest's I/O
# page tables into the host container), guest in strict invalidation mode
# (iommu.strict=1) with interrupt remapping on. The same workload as
# vfio-nvme-net (NVMe pattern write/read-back found in the test bed's image,
# e1000e link, ping and a 4 MiB TCP upload with its sha256), the MSI-X
# vectors of both on IR-PCI-MSIX chips, AMD-Vi with remapping enabled,
# every function in an IOMMU group, no fault events, and sluice's exit
# line per passthrough device: "vfio BDF: host mappings match the guest's
# I/O page tables".
# Isolation, in the same run: QEMU's edu device (1234:11e8, emulated by the
# test host's QEMU) is passed through behind the same IOMMU with no guest
# driver bound (so the guest mapped nothing for it: its default DMA domain
# is empty, and so is the host container sluice shadows it into). Guest
# userspace (edu-dma) first runs the edu's self-test through the
# passed-through BAR, then programs a RAM -> device DMA from IOVA 0x2345000
# (below QEMU's 28-bit edu DMA mask; guest RAM, which the guest never
# mapped for the device). The host IOMMU must refuse it: the test host's
# kernel logs a DMAR fault for the edu's host BDF at that address (QEMU's
# edu has no DMA_ERROR register or buffer window, so the guest cannot see
# the outcome: edu-dma --no-dma-error), and sluice keeps running.
SCENARIO_TESTBED=vfio
SCENARIO_VFIO="nvme nic edu"
SCENARIO_IOMMU=amd
SCENARIO_CMDLINE="iommu.strict=1"
SCENARIO_CPUS=1
# Guest RAM on 2 MiB pages: the test bed's QEMU 7.2 drops an e1000e TX
# buffer that crosses a page its emulated IOMMU maps with 4 KiB pages, which
# is what sluice's 4 KiB guest RAM gets from the test host's VFIO (docs/vfio.md).
SCENARIO_HUGEPAGES=1
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=600
# sluice only: QEMU 7.2's amd-iommu refuses VFIO devices.
SCENARIO_VMMS=sluice

VFIO_TAG=vfio-amd-strict VFIO_WRITE_AT=32768 # 4 MiB of its pattern at 16 MiB
VFIO_NET_PORT=5001 VFIO_NET_MIB=4
EDU_IOVA=0x2345000

host_setup() { vfio_host_setup; }
host_teardown() { vfio_host_teardown; }
# edu_guest: the self-test, then the DMA from EDU_IOVA the host must refuse.
edu_guest() {
	local edu
	edu=$(pci_find 0x1234 0x11e8 | head -n 1)
	mark EDU "${edu:-none}"
	[ -n "$edu" ] || return 0
	mark EDU-DRIVER "$([ -e "$edu/driver" ] && basename "$(readlink -f "$edu/driver")" || echo -)"
	command -v edu-dma >/dev/null || { mark EDU-TOOL none; return 0; }
	mark EDU-SELFTEST "$(edu-dma "$edu" 2>&1)"
	mark EDU-DMA "$(edu-dma "$edu" --dma-from "$EDU_IOVA" --expect-fault --no-dma-error 2>/tmp/edu.err)"
	mark EDU-RC "$?"
	mark EDU-ERR "$(tr '\n' ' ' </tmp/edu.err)"
	sleep 1
}

guest() {
	pci_groups | while read -r line; do mark PCI-GROUP "$line"; done
	vfio_guest_nvme_net
	edu_guest
}

# edu_check: the self-test passed, and the test host's IOMMU refused the
# DMA (Linux 6.12 intel/dmar.c: "DMAR: [DMA Read NO_PASID] Request device
# [00:03.0] fault addr 0x2345000 [fault reason 0x..] ...").
edu_check() {
	local bdf faults
	[ "$(marker EDU)" != none ] || fail "guest found no edu device (1234:11e8)" || return 1
	[ "$(marker EDU-TOOL)" != none ] || fail "edu-dma is not in the initramfs (no static gcc?)" || return 1
	expect_marker EDU-DRIVER - || return 1
	[[ $(marker EDU-SELFTEST) == "EDU-SELFTEST id=0x010000ed liveness=ok factorial=ok" ]] ||
		fail "edu self-test through the passed-through BAR: $(marker EDU-SELFTEST)" || return 1
	[[ $(marker EDU-DMA) == "EDU-DMA id=0x010000ed buffer=unknown"* ]] && [ "$(marker EDU-RC)" = 0 ] ||
		fail "edu-dma: '$(marker EDU-DMA)' exit $(marker EDU-RC) ($(marker EDU-ERR))" || return 1
	bdf=$(vfio_bdf edu) || fail "no edu in the test host" || return 1
	faults=$(vfio_host_dmesg | grep DMAR)
	echo "$faults" | grep -qE "Request device \[${bdf#0000:}\] fault addr $EDU_IOVA " ||
		fail "the test host logged no DMAR fault for the edu ($bdf) at $EDU_IOVA: $(echo "$faults" | head -n 3 | tr '\n' '|')" || return 1
	echo "edu: self-test ok, DMA from $EDU_IOVA refused by the test host's IOMMU"
}

check() {
	local iommu got ir edu
	expect_normal_run || return 1
	iommu=$(expect_amd_iommu strict) || { echo "$iommu"; return 1; }
	ir=$(vfio_expect_amd_ir) || { echo "$ir"; return 1; }
	got=$(vfio_expect_nvme_net IR-PCI-MSIX) || { echo "$got"; return 1; }
	edu=$(edu_check) || { echo "$edu"; return 1; }
	vfio_expect_shadow_consistent nvme nic edu || return 1
	expect_clean_dmesg "$PCI_DMESG_BAD|$IOMMU_DMESG_BAD" || return 1
	echo "$iommu; $ir; $got; $edu"
}
