# iommu-ir-isolation: interrupt isolation through sluice's AMD IOMMU. The
# edu device has no driver, so the guest never gave it an interrupt table
# (its DTE blocks interrupts). Guest userspace (edu-dma --msi-index)
# programs the edu's MSI capability through sysfs with address 0xfee00000
# and data 427 (an IRTE index nobody set up; unremapped, it would be
# vector 0xab on CPU 0) and raises the edu interrupt. The interrupt is not
# delivered (no "No irq handler for vector"), the guest's AMD-Vi driver logs
# an IO_PAGE_FAULT event for the edu's BDF with the interrupt flag (I, bit 3)
# set, sluice keeps running: the disk still reads its pattern and the guest
# powers off normally.
SCENARIO_CPUS=4
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=300
SCENARIO_DISKS=data
SCENARIO_EDU=port
SCENARIO_IOMMU=amd
SCENARIO_VMMS=sluice

MSI_INDEX=427

guest() {
	local edu i d
	edu=$(pci_find 0x1234 0x11e8 | head -n 1)
	mark EDU "${edu:-none}"
	[ -n "$edu" ] || return 0
	mark EDU-BDF "${edu##*/}"
	command -v edu-dma >/dev/null || { mark EDU-TOOL none; return 0; }
	mark EDU-MSI "$(edu-dma "$edu" --msi-index "$MSI_INDEX" 2>/tmp/edu.err)"
	mark EDU-RC "$?"
	mark EDU-ERR "$(tr '\n' ' ' </tmp/edu.err)"
	i=0
	while [ "$i" -lt 50 ] && ! dmesg | grep -q 'Event logged'; do
		sleep 0.1
		i=$((i + 1))
	done
	d=$(disk_by_name data)
	mark READ-AFTER "$([ -n "$d" ] && blk_read_check "$d" data 8192)"
}

check() {
	local bdf faults other flags
	expect_normal_run || return 1
	[ "$(marker EDU)" != none ] || fail "guest found no edu device (1234:11e8)" || return 1
	[ "$(marker EDU-TOOL)" != none ] || { echo "edu-dma is not in the initramfs (no static gcc?)"; return 77; }
	bdf=$(marker EDU-BDF)
	expect_marker EDU-RC 0 || { echo "($(marker EDU-ERR))"; return 1; }
	[[ $(marker EDU-MSI) == "EDU-MSI id=0x010000ed cap=0x"*" index=$MSI_INDEX irq_status=0x1" ]] ||
		fail "edu-dma: '$(marker EDU-MSI)' ($(marker EDU-ERR))" || return 1
	guest_dmesg | grep -q 'AMD-Vi: Interrupt remapping enabled' || fail "guest did not enable interrupt remapping" || return 1
	faults=$(guest_dmesg | grep -E "Event logged \[IO_PAGE_FAULT" | grep -E "$bdf: AMD-Vi: Event logged|device=$bdf ")
	[ -n "$faults" ] || fail "no IO_PAGE_FAULT event for $bdf: $(guest_dmesg | grep 'Event logged' | head -n 3 | tr '\n' '|')" || return 1
	flags=$(echo "$faults" | sed -n 's/.*flags=\(0x[0-9a-f]*\).*/\1/p' | head -n 1)
	[ -n "$flags" ] && [ $((flags & 8)) != 0 ] || fail "the IO_PAGE_FAULT for $bdf lacks the interrupt flag (I, 0x8): $(echo "$faults" | head -n 1)" || return 1
	other=$(guest_dmesg | grep -E 'Event logged' | grep -vE "$bdf: AMD-Vi: Event logged|device=$bdf ")
	[ -z "$other" ] || fail "other IOMMU events: $(echo "$other" | head -n 3 | tr '\n' '|')" || return 1
	! guest_dmesg | grep -qE 'No irq handler|spurious' || fail "the blocked MSI reached a CPU: $(guest_dmesg | grep -E 'No irq handler|spurious' | head -n 2)" || return 1
	expect_marker READ-AFTER ok || return 1
	expect_clean_dmesg "$PCI_DMESG_BAD|Fallback to v1|Completion-Wait loop timed out" || return 1
	echo "$(marker EDU-MSI); $(echo "$faults" | head -n 1 | sed 's/^\[ *[0-9.]*\] //')"
}
