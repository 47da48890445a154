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
