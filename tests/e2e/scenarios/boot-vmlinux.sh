# boot-vmlinux: the uncompressed vmlinux ELF extracted from the same Debian
# bzImage boots to /init and powers off (sluice's ELF loader on a real kernel;
# QEMU's -kernel takes no plain vmlinux, so this is sluice only).
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_KERNEL=vmlinux
SCENARIO_VMMS=sluice

guest() {
	mark BOOTED "$(nproc)"
}

check() {
	expect_marker BOOTED 1 && expect_normal_run || return 1
	grep -q "boot: vmlinux .*: protocol" "$STDERR" ||
		fail "sluice did not report loading an ELF vmlinux"
}
