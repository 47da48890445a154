# dmesg-clean: the guest kernel log has no firmware/ACPI errors, warnings or
# oopses.
SCENARIO_CPUS=2
SCENARIO_MEMORY=512M

guest() {
	mark UPTIME "$(kclock scenario)"
}

check() {
	local bad
	expect_normal_run || return 1
	[ -n "$(guest_dmesg)" ] || fail "guest dumped no dmesg" || return 1
	bad=$(guest_dmesg | grep -E 'Firmware Bug|ACPI Error|ACPI BIOS Error|WARNING:|BUG:|Call Trace')
	[ -z "$bad" ] || fail "dmesg has: $(echo "$bad" | head -n 8 | sed 's/$/ |/')"
}
