# Host-side helpers for scenario check() functions. Sourced.
# shellcheck shell=bash
# A check() sees CONSOLE (the guest console, \r stripped), STDERR (the VMM's
# stderr) and STATUS (the VMM's exit status in sluice's terms). Helpers
# print one line saying what is wrong and return 1; checks chain them with &&.

fail() { echo "$*"; return 1; }

# marker KEY: the value of the last SLUICE-E2E-KEY=VALUE line.
marker() { sed -n "s/^SLUICE-E2E-$1=//p" "$CONSOLE" | tail -n 1; }

expect_status() {
	[ "$STATUS" = "$1" ] || fail "VMM exit status $STATUS, expected $1${2:+ ($2)}"
}

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
