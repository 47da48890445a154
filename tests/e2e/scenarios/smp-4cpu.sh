# smp-4cpu: 4 vCPUs, 1 GiB: all four CPUs come online; the guest kernel log
# has no firmware/ACPI errors, warnings or oopses (formerly dmesg-clean);
# "poweroff -f" in the guest ends the VMM promptly with status 0 (formerly
# poweroff): the guest dumps its log and powers off itself, and must not
# still be running 30 s later.
SCENARIO_CPUS=4
SCENARIO_MEMORY=1G
SCENARIO_TIMEOUT=300

guest() {
	mark CPUS-ONLINE "$(cat /sys/devices/system/cpu/online)"
	mark NPROC "$(nproc)"
	mark UPTIME "$(kclock scenario)"
	# What guest-init would do after guest(): dump the kernel log; then
	# power off here instead of there.
	dump_dmesg
	mark POWEROFF-AT "$(kclock poweroff)"
	poweroff -f
	sleep 30
	mark STILL-RUNNING 1
}

check() {
	expect_marker INIT && expect_marker CPUS-ONLINE 0-3 && expect_marker NPROC 4 || return 1
	expect_marker POWEROFF-AT || return 1
	! grep -q '^SLUICE-E2E-STILL-RUNNING=' "$CONSOLE" || fail "guest kept running 30 s after poweroff -f" || return 1
	expect_status 0 "guest powered off" || return 1
	expect_clean_dmesg
}
