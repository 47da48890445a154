# boot-1cpu: 1 vCPU, 256 MiB boots Linux to the initramfs /init and powers off.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M

guest() {
	mark BOOTED "$(nproc)"
}

check() {
	expect_marker BOOTED 1 && expect_normal_run
}
