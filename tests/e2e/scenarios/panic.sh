# panic: the guest's pvpanic driver reports a kernel panic; the VMM exits
# with status 3. Debian 6.12 has the pvpanic core as a module (pvpanic.ko)
# with the ACPI/ISA/MMIO front end pvpanic-mmio (and pvpanic-pci); /init
# loads them when they are modules, and they may also be built in.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M

guest() {
	local drv
	for drv in /sys/bus/platform/drivers/pvpanic-mmio /sys/bus/pci/drivers/pvpanic-pci; do
		ls "$drv" 2>/dev/null | grep -q -E ':|QEMU0001' && mark PVPANIC-BOUND "${drv##*/}"
	done
	echo 1 >/proc/sys/kernel/sysrq
	mark PANIC-NOW 1
	echo c >/proc/sysrq-trigger
	sleep 10
	mark STILL-RUNNING 1
}

check() {
	expect_marker PVPANIC-BOUND || return 1
	expect_marker PANIC-NOW || return 1
	expect_console 'Kernel panic - not syncing' "kernel panic message" || return 1
	expect_status 3 "guest panic via pvpanic"
}
