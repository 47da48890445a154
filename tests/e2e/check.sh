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

# img_sha IMAGE FIRST COUNT: sha256 of 512-byte blocks of a host image.
img_sha() { dd if="$1" bs=512 skip="$2" count="$3" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# expect_image_pattern IMAGE TAG FIRST COUNT BASE: after the run, the host
# image (E2E_DISK_BLOCKS blocks) holds blocks FIRST..FIRST+COUNT-1 of
# pattern TAG (what the guest wrote) and pattern BASE everywhere else.
expect_image_pattern() {
	local img=$1 tag=$2 first=$3 count=$4 base=$5 rest
	rest=$((E2E_DISK_BLOCKS - first - count))
	[ "$(img_sha "$img" "$first" "$count")" = "$(pattern_sha "$tag" "$first" "$count")" ] ||
		fail "the host image ${img##*/} does not hold what the guest wrote at block $first" || return 1
	[ "$(img_sha "$img" 0 "$first")" = "$(pattern_sha "$base" 0 "$first")" ] &&
		[ "$(img_sha "$img" $((first + count)) "$rest")" = "$(pattern_sha "$base" $((first + count)) "$rest")" ] ||
		fail "the host image ${img##*/} changed outside the blocks the guest wrote" || return 1
}

# ---- IOMMU scenarios --------------------------------------------------------

# What an IOMMU scenario's guest log must not show (on top of
# expect_clean_dmesg's firmware/ACPI/warning list): fault events, a v2
# request the driver refused, command-buffer timeouts.
# shellcheck disable=SC2034 # used by scenarios
IOMMU_DMESG_BAD='Event logged|Fallback to v1|Completion-Wait loop timed out|IOMMU.*not responding|AMD-Vi: .*[Ff]ailed'

# expect_amd_iommu POLICY: the guest's AMD-Vi driver found the IOMMU
# ("Extended features (EFR, EFR2): NAMES" with PreF, GT, IA and HE), the
# DMA domains use POLICY (lazy|strict) invalidation, and every PCI function
# the guest listed (markers PCI-GROUP, from pci_groups) is in an IOMMU
# group - except the IOMMU's own function (1022, class 0x080600): Linux
# never lets an AMD IOMMU translate itself (init.c clears its devid from
# the lookup table, "The IVRS table tells us so, but this is a lie!"), so
# it has no group on real hardware either; it must be there, once.
# Prints "EFR=EFR,EFR2 ...".
expect_amd_iommu() {
	local policy=$1 feat groups none n
	feat=$(guest_dmesg | grep -oE 'AMD-Vi: Extended features \(0x[0-9a-f]+, 0x[0-9a-f]+\):.*' | head -n 1)
	[ -n "$feat" ] || fail "guest dmesg has no 'AMD-Vi: Extended features' line (IOMMU not found?)" || return 1
	for n in PreF GT IA HE; do
		[[ " ${feat#*:} " == *" $n "* ]] || fail "AMD-Vi feature $n missing: $feat" || return 1
	done
	guest_dmesg | grep -qE "iommu: DMA domain TLB invalidation policy: $policy mode" ||
		fail "guest dmesg does not say 'DMA domain TLB invalidation policy: $policy mode': $(guest_dmesg | grep -oE 'invalidation policy: .*|Using strict mode.*' | head -n 2 | tr '\n' '|')" || return 1
	groups=$(markers PCI-GROUP)
	n=$(echo "$groups" | grep -c .)
	[ "$n" -gt 0 ] || fail "guest listed no PCI functions" || return 1
	[ "$(echo "$groups" | awk '$2 ~ /^1022:/ && $3 == "0x080600"' | grep -c .)" = 1 ] ||
		fail "the guest does not list exactly one AMD IOMMU function (1022:xxxx, class 0x080600): $(echo "$groups" | tr '\n' '|')" || return 1
	groups=$(echo "$groups" | awk '!($2 ~ /^1022:/ && $3 == "0x080600")')
	none=$(echo "$groups" | awk '$4 == "none" { print $1 " (" $2 ")" }')
	[ -z "$none" ] || fail "PCI functions without an IOMMU group: $(echo "$none" | tr '\n' ' ')" || return 1
	echo "EFR=$(echo "$feat" | sed 's/.*features (\([^,]*\), \([^)]*\)).*/\1,\2/') $(echo "$groups" | grep -c .) functions in $(echo "$groups" | awk '{ print $4 }' | sort -u | grep -c .) IOMMU groups"
}

# ivrs_check HEX EFR: HEX is the guest's IVRS table (one hex string, from
# /sys/firmware/acpi/tables/IVRS); checks its length and checksum, IVinfo
# EFRSup, and that every IVHD type 11h/40h carries EFR (0x...) as its EFR
# image, as the MMIO register does. Prints the IVHD types and IVinfo.
ivrs_check() {
	local hex=$1 efr=$2 len sum i off type blen img types="" ivinfo
	# le OFFSET BYTES: little-endian value at byte OFFSET.
	le() {
		local v="" k
		for ((k = $2 - 1; k >= 0; k--)); do v=$v${hex:$((($1 + k) * 2)):2}; done
		echo $((16#$v))
	}
	[ -n "$hex" ] || fail "guest printed no IVRS table" || return 1
	[ "${hex:0:8}" = 49565253 ] || fail "the table does not start with 'IVRS': ${hex:0:8}" || return 1
	len=$(le 4 4)
	[ $((${#hex} / 2)) = "$len" ] || fail "IVRS length field $len, table has $((${#hex} / 2)) bytes" || return 1
	sum=0
	for ((i = 0; i < len; i++)); do sum=$((sum + 16#${hex:$((i * 2)):2})); done
	[ $((sum & 255)) = 0 ] || fail "IVRS checksum is off by $((sum & 255))" || return 1
	ivinfo=$(le 36 4)
	((ivinfo & 1)) || fail "IVinfo 0x$(printf %x "$ivinfo") lacks EFRSup (bit 0)" || return 1
	off=48
	while ((off < len)); do
		type=$(le "$off" 1) blen=$(le $((off + 2)) 2)
		((blen > 0)) || fail "IVRS block at $off has length 0" || return 1
		types="$types $(printf '%02x' "$type")h"
		if ((type == 0x11 || type == 0x40)); then
			img=$(printf '0x%x' "$(le $((off + 24)) 8)")
			[ "$img" = "$efr" ] || fail "IVHD $(printf '%02x' "$type")h EFR image $img differs from the MMIO EFR $efr" || return 1
		fi
		off=$((off + blen))
	done
	((off == len)) || fail "IVRS blocks overrun the table ($off > $len)" || return 1
	echo "IVRS:$types, IVinfo 0x$(printf %x "$ivinfo")"
}

# ---- VFIO scenarios ---------------------------------------------------------

# vfio_expect_nvme: the guest found the namespace (64 MiB, pattern nvme),
# read it right and read back what it wrote; the test bed's image (the
# check runs after the VMM exited) holds VFIO_TAG's blocks at VFIO_WRITE_AT
# and the base pattern in the first 4 MiB.
vfio_expect_nvme() {
	local img=${E2E_VFIO_NVME_IMG:-} n=${VFIO_WRITE:-8192}
	[ "$(marker NVME-DISK)" != none ] || fail "guest found no NVMe namespace with pattern 'nvme'" || return 1
	expect_marker NVME-SECTORS $((64 << 11)) || return 1
	expect_marker NVME-READ ok || return 1
	expect_marker NVME-WRITE ok || return 1
	[ -r "$img" ] || fail "no NVMe image to check (E2E_VFIO_NVME_IMG='$img')" || return 1
	[ "$(img_sha "$img" "$VFIO_WRITE_AT" "$n")" = "$(pattern_sha "$VFIO_TAG" "$VFIO_WRITE_AT" "$n")" ] ||
		fail "the NVMe image does not hold what the guest wrote at block $VFIO_WRITE_AT" || return 1
	[ "$(img_sha "$img" 0 8192)" = "$(pattern_sha nvme 0 8192)" ] ||
		fail "the NVMe image's first 4 MiB changed" || return 1
	echo "nvme $(marker NVME-DISK): read ok, $((n / 2)) KiB written at block $VFIO_WRITE_AT found in the image"
}

# vfio_expect_net: link, 3 ping replies, the TCP upload's sha256 confirmed
# by the test host's sink.
vfio_expect_net() {
	local got tcp
	[ "$(marker NIC)" != none ] || fail "guest has no interface with MAC $(nic_mac "$VFIO_NET")" || return 1
	[ "$(marker CARRIER)" != none ] || fail "the passed-through NIC $(marker NIC) never got a link" || return 1
	expect_marker NIC-TSO "NIC-TSO $(marker NIC) off" || return 1
	expect_marker PING-REPLIES 3 || return 1
	got=$(cat "$RUN_DIR/sink-$VFIO_NET_PORT" 2>/dev/null)
	[ "$(marker TX-RC)" = 0 ] && [ "$got" = "$((VFIO_NET_MIB << 20)) $(marker TX-SHA)" ] ||
		fail "the $VFIO_NET_MIB MiB TCP upload did not arrive whole: nc status $(marker TX-RC), the test host's sink got '${got:-nothing}' (NIC $(marker NIC-STATS))" || return 1
	tcp="$VFIO_NET_MIB MiB TCP sha256 ok"
	echo "$(marker NIC): link after $(marker CARRIER) s, 3 ping replies; $tcp"
}

# vfio_expect_irqs CHIP WHO...: for each WHO (nvme, nic) the guest has
# interrupt lines, all on chip CHIP (PCI-MSIX or IR-PCI-MSIX: the chip
# field reads CHIP-<BDF>), and together they fired.
vfio_expect_irqs() {
	local chip=$1 lines who re sel n bad
	shift
	lines=$(markers IRQ-LINE)
	for who in "$@"; do
		case $who in
		nvme) re='nvme[0-9]+q[0-9]+$' ;;
		nic) re="$(marker NIC)(-[rt]x-[0-9]+)?\$" ;;
		esac
		sel=$(echo "$lines" | grep -E " $re")
		[ -n "$sel" ] || fail "no $who interrupts in /proc/interrupts: $(echo "$lines" | tr '\n' '|')" || return 1
		bad=$(echo "$sel" | grep -vE "(^| )$chip-[0-9a-f]{4}:")
		[ -z "$bad" ] || fail "$who interrupts not on $chip: $(echo "$bad" | head -n 3 | tr '\n' '|')" || return 1
		n=$(echo "$sel" | awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break } END { print s + 0 }')
		[ "$n" -gt 0 ] || fail "$who's $chip interrupts never fired: $(echo "$sel" | tr '\n' '|')" || return 1
		echo "$who: $(echo "$sel" | grep -c .) $chip vectors, $n interrupts"
	done
}

# vfio_expect_nvme_net CHIP: the three above for nvme and nic.
vfio_expect_nvme_net() {
	local a b c
	a=$(vfio_expect_nvme) || { echo "$a"; return 1; }
	b=$(vfio_expect_net) || { echo "$b"; return 1; }
	c=$(vfio_expect_irqs "$1" nvme nic) || { echo "$c"; return 1; }
	echo "$a; $b; $(echo "$c" | tr '\n' ' ')"
}

# vfio_host_dmesg: the test host's kernel log since the scenario's
# host_setup (vfio_host_setup).
vfio_host_dmesg() { dmesg_since "$RUN_DIR/dmesg.mark"; }

# vfio_expect_still_bound NAME...: after the run, each device is still
# bound to vfio-pci, its /dev/vfio/GROUP exists and it can be passed
# through again: vfio-probe.py opens the group (viable, not held by anyone),
# attaches it to a container, gets the device, resets it and reads its IDs
# through the config region. Prints the probe lines.
vfio_expect_still_bound() {
	local name bdf g probe
	for name in "$@"; do
		bdf=$(vfio_bdf "$name") || fail "no $name in the test host any more" || return 1
		[ "$(vfio_driver "$bdf")" = vfio-pci ] || fail "$name $bdf is bound to '$(vfio_driver "$bdf")' after the run, not vfio-pci" || return 1
		g=$(vfio_group "$bdf")
		[ -e "/dev/vfio/$g" ] || fail "/dev/vfio/$g ($name $bdf) is gone after the run" || return 1
		probe=$("$E2E_DIR/vfio-probe.py" "$bdf" 2>&1) || fail "$name cannot be passed through again: $probe" || return 1
		echo "$probe"
	done
}

# vfio_expect_amd_ir: the guest's AMD-Vi driver enabled interrupt remapping
# and did not disable it. Prints the AMD-Vi remapping lines.
vfio_expect_amd_ir() {
	guest_dmesg | grep -q 'AMD-Vi: Interrupt remapping enabled' ||
		fail "guest dmesg lacks 'AMD-Vi: Interrupt remapping enabled': $(guest_dmesg | grep -E 'AMD-Vi|remapping' | head -n 5 | tr '\n' '|')" || return 1
	! guest_dmesg | grep -qE 'Disabling interrupt remapping|IRQ remapping.*(disabled|not)' ||
		fail "guest disabled interrupt remapping: $(guest_dmesg | grep -E 'remapping' | head -n 3 | tr '\n' '|')" || return 1
	guest_dmesg | grep -oE 'AMD-Vi: (Interrupt remapping enabled|X2APIC enabled)' | sort -u | tr '\n' ';'
}

# vfio_expect_shadow_consistent NAME...: sluice's stderr has, for each
# passthrough device behind its vIOMMU (host BDF), the line it prints at
# exit after comparing the host container's mappings with the guest's I/O
# page tables: "sluice: vfio: BDF: host mappings match the guest's I/O page
# tables (...)" (vmm/machine_vfio.c, at --log-level info).
vfio_expect_shadow_consistent() {
	local name bdf
	for name in "$@"; do
		bdf=$(vfio_bdf "$name") || fail "no $name in the test host" || return 1
		grep -qE "vfio:? (0000:)?${bdf#0000:}: host mappings match the guest's I/O page tables" "$STDERR" ||
			fail "sluice did not report 'vfio $bdf: host mappings match the guest's I/O page tables' ($name): $(grep -E "vfio.*${bdf#0000:}" "$STDERR" | tail -n 3 | tr '\n' '|')" || return 1
	done
}
