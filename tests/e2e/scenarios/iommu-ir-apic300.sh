# iommu-ir-apic300: 4 vCPUs with x2APIC IDs 0, 1, 2 and 300 (sluice
# --apic-ids; an ID above 255 needs x2APIC interrupt remapping, so --iommu
# amd with intremap on), a virtio-blk disk and a virtio-net NIC. All four
# CPUs come online, the guest reports remapping in x2APIC mode ("AMD-Vi:
# Interrupt remapping enabled", "AMD-Vi: X2APIC enabled"), and the NIC's
# receive interrupt, steered through /proc/irq/N/smp_affinity to the CPU
# whose APIC ID is 300, arrives there under traffic (its count on that CPU
# grows; effective affinity is that CPU). The disk still reads its pattern.
# sluice only (QEMU has no --apic-ids).
SCENARIO_CPUS=4
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=300
SCENARIO_DISKS=data
SCENARIO_NETS=port
SCENARIO_IOMMU=amd
SCENARIO_SLUICE_ARGS="--apic-ids 0,1,2,300"
SCENARIO_VMMS=sluice

guest() {
	local cpu irq before d
	mark NPROC "$(nproc)"
	mark ONLINE "$(cat /sys/devices/system/cpu/online)"
	mark APICIDS "$(awk '/^apicid/ { printf "%s%s", s, $NF; s = "," }' /proc/cpuinfo)"
	cpu=$(cpu_of_apicid 300)
	mark CPU-300 "${cpu:-none}"
	d=$(disk_by_name data)
	mark READ "$([ -n "$d" ] && blk_read_check "$d" data 8192)"
	net_up 0 >/dev/null || { mark NIC none; return 0; }
	irq=$(irq_of 'virtio[0-9]+-input\.0')
	mark NET-IRQ "${irq:-none}"
	[ -n "$cpu" ] && [ -n "$irq" ] || return 0
	before=$(irq_on_cpu "$irq" "$cpu")
	mark STEER "$(irq_steer "$irq" "$cpu")"
	mark PING-REPLIES "$(ping -c 20 -i 0.1 -W 5 "$(host_ip 0)" 2>&1 | grep -c 'bytes from')"
	mark ON-CPU-300 "$before $(irq_on_cpu "$irq" "$cpu") $(cat "/proc/irq/$irq/effective_affinity_list" 2>/dev/null)"
	mark IRQ-LINE "$(grep -E "^ *$irq:" /proc/interrupts)"
}

check() {
	local cpu before after eff
	expect_normal_run || return 1
	expect_marker NPROC 4 && expect_marker ONLINE 0-3 || return 1
	[[ ",$(marker APICIDS)," == *,300,* ]] || fail "no CPU with APIC ID 300 in /proc/cpuinfo: $(marker APICIDS)" || return 1
	guest_dmesg | grep -q 'AMD-Vi: Interrupt remapping enabled' ||
		fail "guest dmesg lacks 'AMD-Vi: Interrupt remapping enabled': $(guest_dmesg | grep -E 'AMD-Vi|remapping' | head -n 5 | tr '\n' '|')" || return 1
	guest_dmesg | grep -q 'AMD-Vi: X2APIC enabled' || fail "guest dmesg lacks 'AMD-Vi: X2APIC enabled'" || return 1
	expect_marker READ ok || return 1
	[ "$(marker NIC)" != none ] || fail "guest has no interface with MAC $(nic_mac 0)" || return 1
	[ "$(marker NET-IRQ)" != none ] || fail "no virtio-net input.0 interrupt in /proc/interrupts" || return 1
	cpu=$(marker CPU-300)
	expect_marker STEER ok || return 1
	expect_marker PING-REPLIES 20 || return 1
	# shellcheck disable=SC2046 # split on purpose
	set -- $(marker ON-CPU-300)
	before=${1:-} after=${2:-} eff=${3:-}
	[ "$eff" = "$cpu" ] || fail "IRQ $(marker NET-IRQ) effective affinity '$eff', steered to CPU $cpu (APIC ID 300)" || return 1
	[ -n "$after" ] && [ "$after" -gt "$before" ] ||
		fail "IRQ $(marker NET-IRQ) did not arrive on CPU $cpu (APIC ID 300): count $before -> $after; $(marker IRQ-LINE)" || return 1
	expect_marker IRQ-LINE >/dev/null
	echo "$(marker IRQ-LINE)" | grep -q IR-PCI-MSIX || fail "the NIC's interrupt is not remapped: $(marker IRQ-LINE)" || return 1
	expect_clean_dmesg "$PCI_DMESG_BAD|$IOMMU_DMESG_BAD|No irq handler" || return 1
	echo "APIC IDs $(marker APICIDS); IRQ $(marker NET-IRQ) on CPU $cpu (APIC ID 300): $before -> $after"
}
