# Helpers shared by the guest (busybox sh: guest-init sources this as
# /lib/sluice-e2e.sh) and the host side (bash: check.sh, devices.sh).
# POSIX sh only. Sourced.

# Disk images hold a known pattern: 512-byte blocks, block N of a pattern
# tagged TAG is the text "TAG block N" padded with spaces to 511 bytes and a
# newline. Any misplaced, lost or stale block changes a checksum.
# pattern TAG FIRST COUNT: blocks FIRST..FIRST+COUNT-1 of pattern TAG on stdout.
pattern() {
	awk -v t="$1" -v f="$2" -v n="$3" \
		'BEGIN { for (i = f; i < f + n; i++) printf "%-511s\n", t " block " i }'
}
# pattern_sha TAG FIRST COUNT: its sha256.
pattern_sha() { pattern "$@" | sha256sum | cut -d' ' -f1; }

# Networking: NIC i of a scenario is on the host's tap $(tap_name i) with
# address 10.0.i.1/24; the guest takes 10.0.i.2.
tap_name() { echo "e2etap$1"; }
nic_mac() { printf '52:54:00:12:34:%02x\n' $((0x56 + $1)); }
host_ip() { echo "10.0.$1.1"; }
guest_ip() { echo "10.0.$1.2"; }

# VFIO test bed (testbed.sh --vfio): the passed-through e1000e is "NIC"
# VFIO_NET (MAC $(nic_mac VFIO_NET); the guest takes $(guest_ip VFIO_NET)
# with net_up), its peer is the test host's virtio-net with MAC
# $(nic_mac VFIO_NET+1) and address $(host_ip VFIO_NET).
VFIO_NET=100
# vfio_ids NAME: the PCI IDs (sysfs form) of a passthrough device of the
# VFIO test bed: nvme, nic, edu.
vfio_ids() {
	case $1 in
	nvme) echo "0x1b36 0x0010" ;;
	nic) echo "0x8086 0x10d3" ;;
	edu) echo "0x1234 0x11e8" ;;
	*) return 1 ;;
	esac
}

# ---- guest side -------------------------------------------------------------

# disk_by_name NAME: the block device (vda, ...) whose first block is block 0
# of pattern NAME (the host wrote it); nothing when there is none.
disk_by_name() {
	local d
	for d in /sys/block/vd*; do
		[ -e "$d" ] || continue
		d=${d##*/}
		if dd if="/dev/$d" bs=512 count=1 2>/dev/null | head -n 1 | grep -q "^$1 block 0 "; then
			echo "$d"
			return 0
		fi
	done
}

# nvme_by_name NAME: like disk_by_name, among the NVMe namespaces (nvme0n1...).
nvme_by_name() {
	local d
	for d in /sys/block/nvme*n*; do
		[ -e "$d" ] || continue
		d=${d##*/}
		if dd if="/dev/$d" bs=512 count=1 2>/dev/null | head -n 1 | grep -q "^$1 block 0 "; then
			echo "$d"
			return 0
		fi
	done
}

# wait_carrier IFACE SECONDS: wait until IFACE reports a link; prints
# the seconds it took, or fails.
wait_carrier() {
	local i=0
	while [ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" != 1 ]; do
		i=$((i + 1))
		[ "$i" -le $(($2 * 10)) ] || return 1
		sleep 0.1
	done
	echo "$((i / 10)).$((i % 10))"
}

# nic_by_mac MAC: the network interface with that MAC.
nic_by_mac() {
	local n
	for n in /sys/class/net/*; do
		[ "$(cat "$n/address" 2>/dev/null)" = "$1" ] && { echo "${n##*/}"; return 0; }
	done
}

# net_up I: bring up NIC I (found by its MAC) with the guest address;
# prints the interface name.
net_up() {
	local nic
	nic=$(nic_by_mac "$(nic_mac "$1")")
	[ -n "$nic" ] || return 1
	ip link set lo up
	ip addr add "$(guest_ip "$1")/24" dev "$nic" && ip link set "$nic" up || return 1
	echo "$nic"
}

# disk_sha DEV FIRST COUNT: sha256 of 512-byte blocks FIRST.. of /dev/DEV,
# read with O_DIRECT (from the device, not the page cache). FIRST and COUNT
# are multiples of 8.
disk_sha() {
	dd if="/dev/$1" bs=4096 skip=$(($2 / 8)) count=$(($3 / 8)) iflag=direct 2>/dev/null |
		sha256sum | cut -d' ' -f1
}

# blk_read_check DEV TAG COUNT: "ok" when the first COUNT blocks of DEV are
# pattern TAG, else what differs.
blk_read_check() {
	local got exp
	got=$(disk_sha "$1" 0 "$3")
	exp=$(pattern_sha "$2" 0 "$3")
	if [ "$got" = "$exp" ]; then echo ok; else echo "sha256 $got, expected $exp"; fi
}

# blk_write_check DEV TAG FIRST COUNT: write blocks FIRST..FIRST+COUNT-1 of
# pattern TAG to /dev/DEV (fsync), drop the page cache and read them back
# with O_DIRECT; prints "ok", or what went wrong. FIRST and COUNT are
# multiples of 8.
blk_write_check() {
	pattern "$2" "$3" "$4" |
		dd of="/dev/$1" bs=512 seek="$3" iflag=fullblock conv=fsync 2>/tmp/blk-write.err ||
		{ echo "write failed: $(tail -n 1 /tmp/blk-write.err)"; return 0; }
	sync
	echo 3 >/proc/sys/vm/drop_caches
	if [ "$(disk_sha "$1" "$3" "$4")" = "$(pattern_sha "$2" "$3" "$4")" ]; then
		echo ok
	else
		echo "read-back of blocks $3+$4 differs from what was written"
	fi
}

# ---- VFIO scenarios, guest side ---------------------------------------------
# A scenario sets VFIO_TAG (its pattern tag), VFIO_WRITE_AT (block where it
# writes VFIO_WRITE blocks, default 8192 = 4 MiB) and VFIO_NET_PORT, VFIO_NET_MIB.

# vfio_wait_nvme SECONDS: wait for the namespace with pattern "nvme" (the
# controller probes asynchronously); prints it (nvme0n1) or nothing.
vfio_wait_nvme() {
	local i=0 d
	while [ "$i" -le $(($1 * 10)) ]; do
		d=$(nvme_by_name nvme)
		[ -z "$d" ] || { echo "$d"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
}

# vfio_guest_nvme: marks NVME-DISK, NVME-SECTORS, NVME-READ (first 4 MiB
# are pattern nvme) and NVME-WRITE (VFIO_TAG's blocks written at
# VFIO_WRITE_AT read back with O_DIRECT).
vfio_guest_nvme() {
	local d
	d=$(vfio_wait_nvme 30)
	mark NVME-DISK "${d:-none}"
	[ -n "$d" ] || return 0
	mark NVME-SECTORS "$(cat "/sys/block/$d/size")"
	mark NVME-READ "$(blk_read_check "$d" nvme 8192)"
	mark NVME-WRITE "$(blk_write_check "$d" "$VFIO_TAG" "$VFIO_WRITE_AT" "${VFIO_WRITE:-8192}")"
}

# vfio_guest_net: the passed-through e1000e (MAC nic_mac VFIO_NET) up;
# marks NIC, CARRIER (seconds to link), NIC-TSO (TSO switched off, see
# guest-tools/nic-tso.c), PING-REPLIES, TX-SHA, TX-RC,
# NIC-STATS (packet and error counters after the upload).
vfio_guest_net() {
	local nic
	nic=$(net_up "$VFIO_NET")
	mark NIC "${nic:-none}"
	[ -n "$nic" ] || return 0
	mark CARRIER "$(wait_carrier "$nic" 30 || echo none)"
	# The test bed's e1000e model mangles TSO frames (guest-tools/nic-tso.c).
	mark NIC-TSO "$(nic-tso "$nic" off 2>&1)"
	mark PING-REPLIES "$(ping -c 3 -W 5 "$(host_ip "$VFIO_NET")" 2>&1 | grep -c 'bytes from')"
	dd if=/dev/urandom of=/tmp/blob bs=1M count="$VFIO_NET_MIB" 2>/dev/null
	mark TX-SHA "$(sha256sum /tmp/blob | cut -d' ' -f1)"
	timeout 60 nc "$(host_ip "$VFIO_NET")" "$VFIO_NET_PORT" </tmp/blob
	mark TX-RC "$?"
	rm -f /tmp/blob
	mark NIC-STATS "$(for f in tx_packets rx_packets tx_errors rx_errors rx_dropped; do
		printf '%s=%s ' "$f" "$(cat "/sys/class/net/$nic/statistics/$f")"; done)"
}

# vfio_guest_irqs: marks IRQ-LINE for every nvme and NIC interrupt line.
vfio_guest_irqs() {
	local nic
	nic=$(nic_by_mac "$(nic_mac "$VFIO_NET")")
	grep -E "nvme[0-9]|${nic:-no-nic}" /proc/interrupts | while read -r line; do mark IRQ-LINE "$line"; done
}

vfio_guest_nvme_net() {
	pci_list | while read -r line; do mark PCI-DEV "$line"; done
	vfio_guest_nvme
	vfio_guest_net
	vfio_guest_irqs
}

# pci_find VENDOR DEVICE: the sysfs directories of the PCI functions with
# these IDs (0x1234 0x11e8).
pci_find() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor" 2>/dev/null)" = "$1" ] && [ "$(cat "$d/device" 2>/dev/null)" = "$2" ] && echo "$d"
	done
}

# pci_groups: one line per PCI function: "BDF VENDOR:DEVICE CLASS GROUP",
# GROUP the number of its IOMMU group or "none".
pci_groups() {
	local d g
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d" ] || continue
		g=none
		[ ! -e "$d/iommu_group" ] || g=$(basename "$(readlink -f "$d/iommu_group")")
		echo "${d##*/} $(cut -c3- "$d/vendor"):$(cut -c3- "$d/device") $(cat "$d/class") $g"
	done
}

# pci_of DEVPATH: the PCI address (0000:bb:dd.f) a sysfs device sits on.
pci_of() {
	readlink -f "$1" | tr '/' '\n' | grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' | tail -n 1
}

# irq_count NAME_EREGEX: the total count (all CPUs) of the /proc/interrupts
# lines whose action name matches.
irq_count() {
	awk -v re="$1" '$NF ~ re { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break }
		END { print s + 0 }' /proc/interrupts
}

# pci_list: one line per PCI device:
#   BDF VENDOR:DEVICE CLASS PARENT DRIVER CONFIG_BYTES
# (PARENT: the bridge it sits behind, "-" on a root bus; DRIVER "-" when
# none; CONFIG_BYTES 4096 when the extended config space is reachable).
pci_list() {
	local d bdf parent drv
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d" ] || continue
		bdf=${d##*/}
		parent=$(basename "$(dirname "$(readlink -f "$d")")")
		case $parent in pci*) parent=- ;; esac
		drv=-
		[ ! -e "$d/driver" ] || drv=$(basename "$(readlink -f "$d/driver")")
		echo "$bdf $(cut -c3- "$d/vendor"):$(cut -c3- "$d/device") $(cat "$d/class") $parent $drv $(wc -c <"$d/config")"
	done
}

# irq_of NAME_EREGEX: the number of the first /proc/interrupts line whose
# action name matches (e.g. 'virtio[0-9]+-input\.0').
irq_of() {
	awk -v re="$1" '$NF ~ re { sub(":", "", $1); print $1; exit }' /proc/interrupts
}

# irq_on_cpu IRQ CPU: IRQ's count on CPU (its /proc/interrupts column).
irq_on_cpu() {
	awk -v irq="$1:" -v c="$2" '$1 == irq { print $(c + 2); exit }' /proc/interrupts
}

# irq_busiest IRQ: the CPU that has handled most of IRQ's interrupts.
irq_busiest() {
	awk -v irq="$1:" 'NR == 1 { n = NF } $1 == irq {
		b = 0; for (i = 1; i <= n; i++) if ($(i + 1) > $(b + 2)) b = i - 1; print b; exit }' /proc/interrupts
}

# irq_steer IRQ CPU: route IRQ to CPU alone through /proc/irq/IRQ/smp_affinity;
# prints "ok" or what went wrong.
irq_steer() {
	printf '%x\n' $((1 << $2)) >"/proc/irq/$1/smp_affinity" 2>/tmp/irq-steer.err ||
		{ echo "smp_affinity write failed: $(cat /tmp/irq-steer.err)"; return 0; }
	echo ok
}

# cpu_of_apicid ID: the logical CPU whose (x2)APIC ID is ID (/proc/cpuinfo).
cpu_of_apicid() {
	awk -v id="$1" '/^processor/ { p = $NF } /^apicid/ && $NF == id { print p; exit }' /proc/cpuinfo
}
