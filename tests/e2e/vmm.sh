# The VMMs the test bed can drive, behind one shape. Sourced.
# shellcheck shell=bash
#   sluice        the VMM under test ($SLUICE, default build/sluice)
#   qemu-q35      QEMU, q35 machine, direct kernel boot (reference)
#   qemu-microvm  QEMU microvm machine (reference)
# All get the console on stdin/stdout (UART ttyS0) and a pvpanic device at
# I/O port 0x505, and exit with sluice's statuses: 0 power-off/reboot,
# 1 VM error, 3 guest panic (QEMU statuses are translated).

VMMS="sluice qemu-q35 qemu-microvm"

# vmm_check VMM: print why VMM cannot run here and fail, or succeed.
vmm_check() {
	case $1 in
	sluice)
		[ -x "${SLUICE:-}" ] || { echo "no sluice binary at '${SLUICE:-}' (build it first)"; return 1; } ;;
	qemu-q35 | qemu-microvm)
		command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not installed"; return 1; } ;;
	*) echo "unknown VMM '$1' (known: $VMMS)"; return 1 ;;
	esac
	[ -w /dev/kvm ] || { echo "/dev/kvm is not usable"; return 1; }
}

# vmm_argv VMM KERNEL INITRD CMDLINE CPUS MEMORY: set VMM_ARGV.
vmm_argv() {
	local vmm=$1 kernel=$2 initrd=$3 cmdline=$4 cpus=$5 mem=$6
	local qemu=(qemu-system-x86_64 -accel kvm -cpu host -smp "$cpus" -m "$mem"
		-nodefaults -no-reboot -display none -serial stdio
		-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
		-device pvpanic -action panic=exit-failure)
	case $vmm in
	sluice)
		VMM_ARGV=("$SLUICE" --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline"
			--cpus "$cpus" --memory "$mem" --serial stdio --log-level "${SLUICE_LOG_LEVEL:-info}") ;;
	qemu-q35) VMM_ARGV=("${qemu[@]}" -M q35) ;;
	qemu-microvm) VMM_ARGV=("${qemu[@]}" -M microvm,rtc=on) ;;
	esac
}

# Devices, described the same way for every VMM (see devices.sh):
#   disks   words NAME[:ro][:bus0]: virtio-blk on the raw image DIR/NAME.img,
#           read-only with :ro, directly on bus 0 with :bus0, otherwise
#           behind its own PCIe root port
#   nets    words port|bus0, one per virtio-net NIC; NIC i uses the tap
#           $(tap_name i) (devices.sh) and MAC $(nic_mac i)
#   rng     port, bus0 or empty: one virtio-rng
#   iommu   empty (none) or amd[,OPTS]: an emulated AMD IOMMU with every PCI
#           device behind it (sluice --iommu amd[,OPTS]; QEMU: -device
#           amd-iommu, the first device, OPTS ignored, and the virtio devices
#           get iommu_platform=on so that their DMA is translated)
#   edu     empty (none), port or 0: the QEMU-compatible edu DMA test device
#           (1234:11e8) behind its own root port or on bus 0
#   vfio    words NAME[:iommu=off]: host PCI devices passed through with
#           VFIO (testbed.sh --vfio: nvme, nic, edu; see vfio_ids in
#           common.sh), found by their IDs and bound to vfio-pci by
#           devices.sh's vfio_setup; sluice --device vfio=BDF[,iommu=off]
#           (behind its IOMMU when there is one, unless iommu=off), QEMU
#           -device vfio-pci,host=BDF behind its own pcie-root-port
# vmm_devices VMM DIR DISKS NETS RNG [IOMMU [EDU [VFIO]]]: append the VMM's
# arguments for them to VMM_ARGV (after vmm_argv). qemu-microvm has no PCI:
# fails with a reason, as when a VFIO device is not in this machine.
vmm_devices() {
	local vmm=$1 dir=$2 disks=$3 nets=$4 rng=$5 iommu=${6:-} edu=${7:-} vfio=${8:-}
	local spec name opts bus arg i=0 vopt="" bdf
	# shellcheck disable=SC2034 # counted through _qemu_pci_device's nameref
	local port=0
	[ -n "$disks$nets$rng$iommu$edu$vfio" ] || return 0
	[ "$vmm" != qemu-microvm ] || { echo "qemu-microvm has no PCI for virtio-pci or IOMMU devices"; return 1; }
	case $iommu in
	"") ;;
	amd | amd,*)
		if [ "$vmm" = sluice ]; then
			VMM_ARGV+=(--iommu "$iommu")
		else
			# QEMU wants the IOMMU before every PCI device it translates.
			VMM_ARGV+=(-device amd-iommu)
			vopt=",iommu_platform=on"
		fi ;;
	*) echo "unknown IOMMU '$iommu' (amd[,OPTS])"; return 1 ;;
	esac
	for spec in $disks; do
		name=${spec%%:*} opts=":${spec#"$name"}:"
		bus=port
		[[ $opts != *:bus0:* ]] || bus=bus0
		if [ "$vmm" = sluice ]; then
			arg="path=$dir/$name.img,id=$name"
			[[ $opts != *:ro:* ]] || arg="$arg,readonly=on"
			[ "$bus" = port ] || arg="$arg,bus=0"
			VMM_ARGV+=(--disk "$arg")
		else
			local drive="file=$dir/$name.img,if=none,id=drive-$name,format=raw"
			[[ $opts != *:ro:* ]] || drive="$drive,readonly=on"
			VMM_ARGV+=(-drive "$drive")
			_qemu_pci_device port "$bus" "virtio-blk-pci,drive=drive-$name$vopt"
		fi
	done
	for bus in $nets; do
		if [ "$vmm" = sluice ]; then
			arg="tap=$(tap_name "$i"),mac=$(nic_mac "$i")"
			[ "$bus" = port ] || arg="$arg,bus=0"
			VMM_ARGV+=(--net "$arg")
		else
			VMM_ARGV+=(-netdev "tap,id=net$i,ifname=$(tap_name "$i"),script=no,downscript=no,vhost=off")
			_qemu_pci_device port "$bus" "virtio-net-pci,netdev=net$i,mac=$(nic_mac "$i")$vopt"
		fi
		i=$((i + 1))
	done
	if [ -n "$rng" ]; then
		if [ "$vmm" = sluice ]; then
			if [ "$rng" = port ]; then VMM_ARGV+=(--rng); else VMM_ARGV+=(--rng=bus=0); fi
		else
			_qemu_pci_device port "$rng" "virtio-rng-pci$vopt"
		fi
	fi
	case $edu in
	"") ;;
	port | 0)
		if [ "$vmm" = sluice ]; then
			VMM_ARGV+=(--device "edu,bus=$edu")
		elif [ "$edu" = 0 ]; then
			VMM_ARGV+=(-device "edu,bus=pcie.0")
		else
			port=$((port + 1))
			VMM_ARGV+=(-device "pcie-root-port,id=rp$port,chassis=$port,slot=$port" -device "edu,bus=rp$port")
		fi ;;
	*) echo "bad edu placement '$edu' (port or 0)"; return 1 ;;
	esac
	for spec in $vfio; do
		name=${spec%%:*} opts=${spec#"$name"}
		case $opts in "" | :iommu=off) ;; *) echo "bad VFIO option '$opts' in '$spec' (:iommu=off)"; return 1 ;; esac
		bdf=$(vfio_bdf "$name") ||
			{ echo "no passthrough device '$name' ($(vfio_ids "$name" || echo "unknown; known: nvme nic edu")) here: VFIO scenarios need the VFIO test bed (testbed.sh --vfio)"; return 1; }
		if [ "$vmm" = sluice ]; then
			VMM_ARGV+=(--device "vfio=$bdf${opts:+,${opts#:}}")
		else
			port=$((port + 1))
			VMM_ARGV+=(-device "pcie-root-port,id=rp$port,chassis=$port,slot=$port"
				-device "vfio-pci,host=$bdf,bus=rp$port")
		fi
	done
}

# _qemu_pci_device PORTVAR BUS DEVICE: add a QEMU -device, behind a new
# pcie-root-port (1b36:000c, like sluice's) or on pcie.0 (bus0). Modern-only
# (disable-legacy=on): on pcie.0 QEMU would otherwise make a transitional
# device (1af4:10xx) where sluice has a modern one (1af4:104x).
_qemu_pci_device() {
	local -n _port=$1
	local bus=$2 dev=$3
	case $bus in
	bus0) VMM_ARGV+=(-device "$dev,bus=pcie.0,disable-legacy=on") ;;
	port)
		_port=$((_port + 1))
		VMM_ARGV+=(-device "pcie-root-port,id=rp$_port,chassis=$_port,slot=$_port"
			-device "$dev,bus=rp$_port,disable-legacy=on") ;;
	*) die "bad bus '$bus' (port or bus0)" ;;
	esac
}

# vmm_status VMM RC STDERR_FILE: print RC in sluice's terms.
vmm_status() {
	local vmm=$1 rc=$2 errfile=$3
	# QEMU exits 1 both for a guest panic (-action panic=exit-failure) and
	# for its own errors, which it reports on stderr.
	if [ "$vmm" != sluice ] && [ "$rc" = 1 ] && ! grep -q '^qemu-system-x86_64:' "$errfile"; then
		rc=3
	fi
	echo "$rc"
}
