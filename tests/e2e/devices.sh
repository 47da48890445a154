# Host side of a scenario's devices (SCENARIO_DISKS, SCENARIO_NETS; see
# vmm.sh's vmm_devices for their syntax). Sourced by scenarios-run.sh, in
# the machine the VMM runs on (the test host). Needs common.sh.
# shellcheck shell=bash

# Default disk image: 16 MiB of pattern NAME (the guest finds the disk by
# its first block, see disk_by_name in common.sh).
E2E_DISK_BLOCKS=32768

# dev_setup DIR DISKS NETS: create DIR/NAME.img for every disk and a tap
# with the host address for every NIC. Prints what failed and returns 1
# (call dev_teardown in any case).
dev_setup() {
	local dir=$1 disks=$2 nets=$3 spec name i=0 tap
	for spec in $disks; do
		name=${spec%%:*}
		pattern "$name" 0 "$E2E_DISK_BLOCKS" >"$dir/$name.img" ||
			{ echo "cannot create disk image $dir/$name.img"; return 1; }
	done
	for _ in $nets; do
		tap=$(tap_name "$i")
		ip link del "$tap" 2>/dev/null || true # a leftover from an aborted run
		ip tuntap add "$tap" mode tap 2>/dev/null ||
			{ echo "cannot create tap $tap (needs root and the tun module)"; return 1; }
		if ! ip addr add "$(host_ip "$i")/24" dev "$tap" || ! ip link set "$tap" up; then
			echo "cannot configure tap $tap"
			return 1
		fi
		i=$((i + 1))
	done
}

# dev_teardown NETS: delete the taps.
dev_teardown() {
	local i=0
	for _ in $1; do
		ip link del "$(tap_name "$i")" 2>/dev/null || true
		i=$((i + 1))
	done
}

# sink_start DIR I PORT: a TCP sink (tcp-sink.py) on NIC I's host address,
# writing "BYTES SHA256" of what it receives to DIR/sink-PORT; returns once
# it listens. sink_stop DIR PORT (after the VMM exited): wait up to 2 s for
# that result, then end the sink; prints the result ("" when none).
sink_start() {
	local dir=$1 out=$1/sink-$3 i
	"$E2E_DIR/tcp-sink.py" "$(host_ip "$2")" "$3" "$out" 600 >"$out.log" 2>&1 &
	echo $! >"$out.pid"
	for ((i = 0; i < 100; i++)); do
		[ ! -e "$out.ready" ] || return 0
		kill -0 "$(cat "$out.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "the TCP sink on $(host_ip "$2"):$3 did not start: $(cat "$out.log")"
	return 1
}
sink_stop() {
	local out=$1/sink-$2 pid i
	pid=$(cat "$out.pid" 2>/dev/null) || return 0
	for ((i = 0; i < 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	cat "$out" 2>/dev/null || true
}
