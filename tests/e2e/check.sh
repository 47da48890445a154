# Host-side helpers for scenario check() functions. Sourced.
# shellcheck shell=bash
# A check() sees CONSOLE (the guest console, \r stripped), STDERR (the VMM's
# stderr) and STATUS (the VMM's exit status in sluice's terms). Helpers
# print one line saying what is wrong and return 1; checks chain them with &&.

fail() { echo "$*"; return 1; }

# The pattern and network helpers the guest uses too.
# shellcheck source=common.sh
. "$E2E_DIR/common.sh"

# marker KEY: the value of the last SLUICE-E2E-KEY=VALUE line.
marker() { sed -n "s/^SLUICE-E2E-$1=//p" "$CONSOLE" | tail -n 1; }

expect_status() {
	[ "$STATUS" = "$1" ] || fail "VMM exit status $STATUS, expected $1${2:+ ($2)}"
}

# markers KEY: the values of all SLUICE-E2E-KEY=VALUE lines, in order.
markers() { sed -n "s/^SLUICE-E2E-$1=//p" "$CONSOLE"; }

# expect_marker KEY [VALUE]: the guest printed KEY (with VALUE).
expect_marker() {
	local v
	v=$(marker "$1")
	grep -q "^SLUICE-E2E-$1=" "$CONSOLE" || fail "guest never printed marker $1"
	[ $# -lt 2 ] || [ "$v" = "$2" ] || fail "marker $1 is '$v', expected '$2'"
}

# expect_console EREGEX WHAT: some console line matches EREGEX.
expect_console() { grep -qE -- "$1" "$CONSOLE" || fail "console shows no $2"; }

# guest_dmesg: the guest kernel's log: the boot messages printed before
# /init started, and what /init dumped at its end.
guest_dmesg() {
	sed -n '/^SLUICE-E2E-INIT=/q; p' "$CONSOLE"
	sed -n '/^SLUICE-E2E-DMESG-BEGIN$/,/^SLUICE-E2E-DMESG-END$/p' "$CONSOLE"
}

# wait_marker FILE KEY SECONDS: wait until FILE (a growing console) has KEY.
wait_marker() {
	local i=0
	while ! grep -q "SLUICE-E2E-$2=" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}

# A normal boot: init reached, scenario ran to its end, clean power-off.
expect_normal_run() {
	expect_marker INIT && expect_marker DONE && expect_status 0 "guest powered off"
}

# expect_clean_dmesg [EXTRA_EREGEX]: the guest kernel log has no firmware or
# ACPI errors, warnings or oopses (nor lines matching EXTRA_EREGEX).
expect_clean_dmesg() {
	local bad re='Firmware Bug|ACPI Error|ACPI BIOS Error|WARNING:|BUG:|Call Trace'
	[ -z "${1:-}" ] || re="$re|$1"
	[ -n "$(guest_dmesg)" ] || fail "guest dumped no dmesg" || return 1
	bad=$(guest_dmesg | grep -E -- "$re")
	[ -z "$bad" ] || fail "dmesg has: $(echo "$bad" | head -n 8 | sed 's/$/ |/')"
}

# expect_pcie_virtio N: the guest's PCI list (markers PCI-DEV, from
# pci_list) has the q35 host bridge at 00:00.0 and N virtio-pci devices
# (modern IDs 1af4:104x), each bound to virtio-pci, on a bus >= 1 behind
# its own PCIe root port (1b36:000c) whose extended config space (ECAM) is
# reachable, and exactly N root ports.
expect_pcie_virtio() {
	local n=$1 devs virtio ports bdf id parent drv pline
	devs=$(markers PCI-DEV)
	[ -n "$devs" ] || fail "guest listed no PCI devices" || return 1
	echo "$devs" | grep -q '^0000:00:00\.0 8086:29c0 0x060000 ' ||
		fail "no q35 host bridge 8086:29c0 at 00:00.0: $(echo "$devs" | head -n 1)" || return 1
	virtio=$(echo "$devs" | awk '$2 ~ /^1af4:10[4-7][0-9a-f]$/')
	ports=$(echo "$devs" | awk '$2 == "1b36:000c"')
	[ "$(echo "$virtio" | grep -c .)" = "$n" ] ||
		fail "$(echo "$virtio" | grep -c .) modern virtio-pci devices, expected $n: $(echo "$devs" | tr '\n' '|')" || return 1
	[ "$(echo "$ports" | grep -c .)" = "$n" ] ||
		fail "$(echo "$ports" | grep -c .) root ports 1b36:000c, expected $n (one per device): $(echo "$devs" | tr '\n' '|')" || return 1
	while read -r bdf id _ parent drv _; do
		[ "${bdf:5:2}" != 00 ] || fail "virtio device $bdf ($id) is on bus 0, expected behind a root port" || return 1
		[ "$drv" = virtio-pci ] || fail "virtio device $bdf ($id) has driver '$drv', expected virtio-pci" || return 1
		pline=$(echo "$ports" | awk -v p="$parent" '$1 == p')
		[ -n "$pline" ] || fail "virtio device $bdf ($id) sits behind '$parent', not a root port" || return 1
		[ "$(echo "$pline" | awk '{ print $3 }')" = 0x060400 ] || fail "root port $parent has class $(echo "$pline" | awk '{ print $3 }'), expected 0x060400" || return 1
		[ "$(echo "$pline" | awk '{ print $6 }')" = 4096 ] ||
			fail "root port $parent has only $(echo "$pline" | awk '{ print $6 }') bytes of config space (no ECAM?)" || return 1
	done <<<"$virtio"
}

# The PCI/ACPI problems a PCIe machine must not show in the guest's log.
# shellcheck disable=SC2034 # used by scenarios
PCI_DMESG_BAD='BAR [0-9]+.*(failed to assign|can.t assign)|bridge window.*can.t assign|_OSC failed|No config space access function found|not using ECAM|not using MMCONFIG|MMCONFIG.*not reserved'
