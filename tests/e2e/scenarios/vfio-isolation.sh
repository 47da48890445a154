# vfio-isolation: QEMU's edu device (1234:11e8, emulated by the test host's
# QEMU) passed through behind sluice's AMD IOMMU, with no guest driver bound
# (so the guest mapped nothing for it: its default DMA domain is empty, and
# so is the host container sluice shadows it into). Guest userspace
# (edu-dma) first runs the edu's self-test through the passed-through BAR,
# then programs a RAM -> device DMA from IOVA 0x2345000 (below QEMU's
# 28-bit edu DMA mask; guest RAM, which the guest never mapped for the
# device). The host IOMMU must refuse it: the test host's kernel logs a
# DMAR fault for the edu's host BDF at that address (QEMU's edu has no
# DMA_ERROR register or buffer window, so the guest cannot see the outcome:
# edu-dma --no-dma-error), sluice keeps running, the guest powers off
# normally, and sluice reports the edu's host mappings consistent with the
# guest's page tables.
SCENARIO_TESTBED=vfio
SCENARIO_VFIO=edu
SCENARIO_IOMMU=amd
SCENARIO_CPUS=1
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=600
# sluice only: QEMU 7.2's amd-iommu refuses VFIO devices.
SCENARIO_VMMS=sluice

EDU_IOVA=0x2345000

host_setup() { vfio_host_setup; }

guest() {
	local edu
	pci_groups | while read -r line; do mark PCI-GROUP "$line"; done
	edu=$(pci_find 0x1234 0x11e8 | head -n 1)
	mark EDU "${edu:-none}"
	[ -n "$edu" ] || return 0
	mark EDU-BDF "${edu##*/}"
	mark EDU-DRIVER "$([ -e "$edu/driver" ] && basename "$(readlink -f "$edu/driver")" || echo -)"
	command -v edu-dma >/dev/null || { mark EDU-TOOL none; return 0; }
	mark EDU-SELFTEST "$(edu-dma "$edu" 2>&1)"
	mark EDU-DMA "$(edu-dma "$edu" --dma-from "$EDU_IOVA" --expect-fault --no-dma-error 2>/tmp/edu.err)"
	mark EDU-RC "$?"
	mark EDU-ERR "$(tr '\n' ' ' </tmp/edu.err)"
	sleep 1
}

check() {
	local bdf faults
	expect_normal_run || return 1
	[ "$(marker EDU)" != none ] || fail "guest found no edu device (1234:11e8)" || return 1
	[ "$(marker EDU-TOOL)" != none ] || { echo "edu-dma is not in the initramfs (no static gcc?)"; return 77; }
	expect_marker EDU-DRIVER - || return 1
	[[ $(marker EDU-SELFTEST) == "EDU-SELFTEST id=0x010000ed liveness=ok factorial=ok" ]] ||
		fail "edu self-test through the passed-through BAR: $(marker EDU-SELFTEST)" || return 1
	[[ $(marker EDU-DMA) == "EDU-DMA id=0x010000ed buffer=unknown"* ]] && [ "$(marker EDU-RC)" = 0 ] ||
		fail "edu-dma: '$(marker EDU-DMA)' exit $(marker EDU-RC) ($(marker EDU-ERR))" || return 1
	bdf=$(vfio_bdf edu) || fail "no edu in the test host" || return 1
	# Linux 6.12 (intel/dmar.c): "DMAR: [DMA Read NO_PASID] Request device
	# [00:03.0] fault addr 0x2345000 [fault reason 0x..] ..."
	faults=$(vfio_host_dmesg | grep DMAR)
	echo "$faults" | grep -qE "Request device \[${bdf#0000:}\] fault addr $EDU_IOVA " ||
		fail "the test host logged no DMAR fault for the edu ($bdf) at $EDU_IOVA: $(echo "$faults" | head -n 3 | tr '\n' '|')" || return 1
	vfio_expect_shadow_consistent edu || return 1
	expect_clean_dmesg "$PCI_DMESG_BAD|Fallback to v1|Completion-Wait loop timed out" || return 1
	echo "$(marker EDU-SELFTEST); test host: $(echo "$faults" | grep -E "fault addr $EDU_IOVA " | head -n 1 | sed 's/^\[ *[0-9.]*\] //')"
}
