# iommu-edu-isolation: the edu DMA test device behind sluice's AMD IOMMU,
# with no driver bound (so the guest mapped nothing for it). Guest
# userspace (edu-dma, through sysfs) fills the edu's buffer and programs a
# RAM -> device DMA from IOVA 0x12345000, which the guest never mapped. The
# IOMMU refuses it: the buffer is unchanged, the device reports a DMA
# fault, the guest's AMD-Vi driver logs an IO_PAGE_FAULT event for the
# edu's device id and that address (and no other event), and the guest
# keeps running: disk I/O through the IOMMU still works afterwards and it
# powers off normally. (intremap=off: see iommu-amd.sh.)
SCENARIO_CPUS=4
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=300
SCENARIO_DISKS=data
SCENARIO_EDU=port
SCENARIO_IOMMU=amd
SCENARIO_CMDLINE="intremap=off"
# sluice only: QEMU 7.2's amd-iommu (vmm.sh gives it -device amd-iommu and
# iommu_platform=on) hung this guest right after /init in the test bed
# (timed out after 300 s, 2026-11-21), and it has no GIOSup for pgtbl_v2.
SCENARIO_VMMS=sluice

EDU_IOVA=0x12345000

guest() {
	local edu i d
	edu=$(pci_find 0x1234 0x11e8 | head -n 1)
	mark EDU "${edu:-none}"
	[ -n "$edu" ] || return 0
	mark EDU-BDF "${edu##*/}"
	command -v edu-dma >/dev/null || { mark EDU-TOOL none; return 0; }
	mark EDU-DMA "$(edu-dma "$edu" --dma-from "$EDU_IOVA" --expect-fault 2>/tmp/edu.err)"
	mark EDU-RC "$?"
	mark EDU-ERR "$(tr '\n' ' ' </tmp/edu.err)"
	# The event reaches the log through the IOMMU's MSI: give it a moment.
	i=0
	while [ "$i" -lt 50 ] && ! dmesg | grep -q IO_PAGE_FAULT; do
		sleep 0.1
		i=$((i + 1))
	done
	d=$(disk_by_name data)
	mark READ-AFTER "$([ -n "$d" ] && blk_read_check "$d" data 8192)"
}

check() {
	local bdf faults other
	expect_normal_run || return 1
	[ "$(marker EDU)" != none ] || fail "guest found no edu device (1234:11e8)" || return 1
	[ "$(marker EDU-TOOL)" != none ] || { echo "edu-dma is not in the initramfs (no static gcc?)"; return 77; }
	bdf=$(marker EDU-BDF)
	[[ $(marker EDU-DMA) == "EDU-DMA id=0x010000ed buffer=unchanged dma_error="* ]] ||
		fail "edu-dma: '$(marker EDU-DMA)' ($(marker EDU-ERR))" || return 1
	[ "$(marker EDU-RC)" = 0 ] || fail "edu-dma exited $(marker EDU-RC): $(marker EDU-ERR)" || return 1
	[ "$(marker EDU-DMA | sed 's/.*dma_error=//')" != 0 ] || fail "the edu reports no DMA error: $(marker EDU-DMA)" || return 1
	# 6.12 prints either "<dev>: AMD-Vi: Event logged [IO_PAGE_FAULT domain=..."
	# (device known to the driver) or "AMD-Vi: Event logged [IO_PAGE_FAULT
	# device=<bdf> domain=...".
	faults=$(guest_dmesg | grep -E "Event logged \[IO_PAGE_FAULT" )
	echo "$faults" | grep -qE "($bdf: AMD-Vi: Event logged \[IO_PAGE_FAULT domain=0x[0-9a-f]+|AMD-Vi: Event logged \[IO_PAGE_FAULT device=$bdf domain=0x[0-9a-f]+) address=$EDU_IOVA " ||
		fail "no IO_PAGE_FAULT event for $bdf at $EDU_IOVA in the guest log: $(echo "$faults" | head -n 3 | tr '\n' '|')" || return 1
	other=$(guest_dmesg | grep -E 'Event logged' | grep -vE "$bdf.*address=$EDU_IOVA |device=$bdf .*address=$EDU_IOVA ")
	[ -z "$other" ] || fail "other IOMMU events: $(echo "$other" | head -n 3 | tr '\n' '|')" || return 1
	expect_marker READ-AFTER ok || return 1
	expect_clean_dmesg "$PCI_DMESG_BAD|Fallback to v1|Completion-Wait loop timed out" || return 1
	echo "$(marker EDU-DMA); $(echo "$faults" | head -n 1 | sed 's/^\[ *[0-9.]*\] //')"
}
