# boot-1cpu: 1 vCPU, 256 MiB boots Linux to the initramfs /init and powers
# off. Serial input (formerly its own scenario, serial-input): text written
# to the VMM's stdin (--serial stdio) reaches the guest's ttyS0 - the host
# waits until the guest asks for input, then types a line that is new for
# every run; the guest echoes it back in a marker.
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M

guest() {
	local line=""
	mark BOOTED "$(nproc)"
	mark READY-FOR-INPUT 1
	read -r -t 60 line </dev/console || true
	mark GOT-INPUT "$line"
}

SERIAL_NONCE=$(date +%s%N)

host_feed() { # host_feed RAW_CONSOLE > guest stdin
	wait_marker "$1" READY-FOR-INPUT "$SCENARIO_TIMEOUT" || return 0
	echo "sluice-says-hello-$SERIAL_NONCE"
}

check() {
	expect_marker BOOTED 1 && expect_marker GOT-INPUT "sluice-says-hello-$SERIAL_NONCE" && expect_normal_run
}
