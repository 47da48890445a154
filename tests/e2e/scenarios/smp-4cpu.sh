# smp-4cpu: 4 vCPUs, 1 GiB: all four CPUs come online.
SCENARIO_CPUS=4
SCENARIO_MEMORY=1G
SCENARIO_TIMEOUT=300

guest() {
	mark CPUS-ONLINE "$(cat /sys/devices/system/cpu/online)"
	mark NPROC "$(nproc)"
}

check() {
	expect_marker CPUS-ONLINE 0-3 && expect_marker NPROC 4 && expect_normal_run
}
