# reboot: the guest reboots (busybox "reboot -f", no init scripts) and the
# VMM exits 0 (sluice exits on a guest reboot, as Firecracker does; QEMU runs
# with -no-reboot). Linux on sluice's hardware-reduced ACPI machine without
# EFI reboots through its BIOS fallback, a jump to the reset vector, where
# sluice's stub writes the ACPI reset register: sluice's log must say so.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_CMDLINE="quiet"

guest() {
	mark REBOOT "$(kclock reboot)"
	reboot -f
	sleep 30
	mark STILL-RUNNING 1
}

check() {
	expect_marker INIT && expect_marker REBOOT || return 1
	! grep -q '^SLUICE-E2E-STILL-RUNNING=' "$CONSOLE" || fail "the guest still ran 30 s after reboot -f" || return 1
	! grep -q '^SLUICE-E2E-DONE=' "$CONSOLE" || fail "the guest powered off instead of rebooting" || return 1
	expect_status 0 "the VMM exits 0 when the guest reboots" || return 1
	if [ "$vmm" = sluice ]; then
		grep -q 'guest wrote the ACPI reset register' "$STDERR" ||
			fail "sluice's log does not show the ACPI reset register write" || return 1
	fi
	echo "rebooted at $(marker REBOOT) s (guest clock)"
}
