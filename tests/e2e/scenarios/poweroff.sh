# poweroff: "poweroff -f" in the guest ends the VMM promptly with status 0.
SCENARIO_CPUS=2
SCENARIO_MEMORY=256M

guest() {
	mark POWEROFF-AT "$(kclock poweroff)"
	poweroff -f
	sleep 30
	mark STILL-RUNNING 1
}

check() {
	expect_marker POWEROFF-AT || return 1
	! grep -q '^SLUICE-E2E-STILL-RUNNING=' "$CONSOLE" || fail "guest kept running 30 s after poweroff -f" || return 1
	expect_status 0 "guest powered off"
}
