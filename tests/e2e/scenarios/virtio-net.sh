# virtio-net: a NIC behind a PCIe root port on a tap of the host
# (10.0.0.1/24). The guest takes 10.0.0.2, pings the host (3 replies) and
# sends 8 MiB of random data over TCP (busybox nc) to a sink on the host;
# the host received exactly the bytes the guest sent (sha256).
SCENARIO_CPUS=1
SCENARIO_MEMORY=256M
SCENARIO_NETS=port
SCENARIO_VMMS=sluice,qemu-q35

NET_PORT=5001
NET_MIB=8

host_setup() { sink_start "$RUN_DIR" 0 "$NET_PORT"; }
host_teardown() { sink_stop "$RUN_DIR" "$NET_PORT"; }

guest() {
	local nic
	nic=$(net_up 0)
	mark NIC "${nic:-none}"
	[ -n "$nic" ] || return 0
	mark PING-REPLIES "$(ping -c 3 -W 5 "$(host_ip 0)" 2>&1 | grep -c 'bytes from')"
	dd if=/dev/urandom of=/tmp/blob bs=1M count="$NET_MIB" 2>/dev/null
	mark TX-SHA "$(sha256sum /tmp/blob | cut -d' ' -f1)"
	mark TX-START "$(kclock tx-start)"
	timeout 120 nc "$(host_ip 0)" "$NET_PORT" </tmp/blob
	mark TX-RC "$?"
	mark TX-END "$(kclock tx-end)"
}

check() {
	local got secs
	expect_normal_run || return 1
	[ "$(marker NIC)" != none ] || fail "guest has no interface with MAC $(nic_mac 0)" || return 1
	expect_marker PING-REPLIES 3 || return 1
	expect_marker TX-RC 0 || return 1
	got=$(cat "$RUN_DIR/sink-$NET_PORT" 2>/dev/null)
	[ "$got" = "$((NET_MIB << 20)) $(marker TX-SHA)" ] ||
		fail "the host received '${got:-nothing}', the guest sent $((NET_MIB << 20)) bytes with sha256 $(marker TX-SHA)" || return 1
	secs=$(awk -v a="$(marker TX-START)" -v b="$(marker TX-END)" 'BEGIN { printf "%.2f", b - a }')
	echo "$NET_MIB MiB guest->host in $secs s (guest clock)"
}
