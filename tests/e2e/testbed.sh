#!/bin/bash
# testbed.sh [OPTIONS] -- COMMAND [ARG...]
# Boot the nested test host (QEMU-TCG with an SVM CPU, Debian kernel with
# kvm-amd), run COMMAND inside it - chrooted into this machine's root over
# 9p, in the current directory - and exit with COMMAND's status.
# COMMAND's output (the test host console) goes to stdout.
#   --timeout SECONDS   kill the test host after this long (default 900)
#   --memory SIZE       test host RAM (default 8G: room for a 6 GiB L2 guest)
#   --log FILE          also write the console to FILE
#   --interactive       connect the terminal to the test host console
# Exits 77 (SKIP) when the test bed cannot run here, 124 on timeout,
# 125 when the test host did not report a result.
set -eu
. "$(dirname "$0")/lib.sh"

timeout=900 memory=8G logfile="" interactive=0
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) timeout=$2; shift 2 ;;
	--memory) memory=$2; shift 2 ;;
	--log) logfile=$2; shift 2 ;;
	--interactive) interactive=1; shift ;;
	--) shift; break ;;
	*) die "testbed.sh: unknown option $1" ;;
	esac
done
[ $# -gt 0 ] || die "usage: testbed.sh [--timeout S] [--memory SIZE] [--log FILE] [--interactive] -- COMMAND..."

qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
kinfo=$("$E2E_DIR/kernel.sh") || exit $?
eval "$kinfo"

# The test host initramfs depends only on the kernel, host-init and the
# module list below: cache it.
hostimg=$SLUICE_CACHE/testbed/host-$KVER.img
if [ ! -e "$hostimg" ] || [ "$E2E_DIR/host-init" -nt "$hostimg" ] ||
	[ "$E2E_DIR/initramfs.sh" -nt "$hostimg" ] || [ "$0" -nt "$hostimg" ]; then
	mkdir -p "$(dirname "$hostimg")"
	log "building test host initramfs $hostimg"
	"$E2E_DIR/initramfs.sh" "$hostimg" "$E2E_DIR/host-init" "$KROOT" "$KVER" \
		9p 9pnet_virtio kvm-amd virtio-rng tun
fi

# The command runs from a script on the shared root, named on the cmdline.
rundir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-testbed.XXXXXX")
trap 'rm -rf "$rundir"' EXIT
{
	# See kvm-keepalive.py: keeps the test host's kernel from patching KVM
	# code while guests start and stop.
	printf '%q >/dev/null 2>&1 &\n' "$E2E_DIR/kvm-keepalive.py"
	printf 'cd %q || exit 125\n' "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$rundir/cmd.sh"

qargs=(-accel tcg -M q35 -cpu max,-xsave -smp 4 -m "$memory"
	-nodefaults -no-reboot -display none
	-kernel "$VMLINUZ" -initrd "$hostimg"
	-append "console=ttyS0 quiet panic=-1 sluice.run=$rundir/cmd.sh"
	-virtfs local,path=/,mount_tag=host,security_model=none,multidevs=remap
	-device virtio-rng-pci)
console=$rundir/console.log
start=$(now)
set +e
if [ "$interactive" = 1 ]; then
	# signal=off: ^C goes to the test host (and on to the guest), not QEMU.
	timeout --foreground "$timeout" "$qemu" "${qargs[@]}" \
		-chardev stdio,id=con,signal=off,logfile="$console" -serial chardev:con
	status=$?
else
	timeout "$timeout" "$qemu" "${qargs[@]}" -serial stdio </dev/null |
		tr -d '\r' | tee "$console"
	status=${PIPESTATUS[0]}
fi
set -e
[ -z "$logfile" ] || tr -d '\r' <"$console" >"$logfile"

rc=$(tr -d '\r' <"$console" | sed -n 's/^SLUICE-E2E-RESULT=\([0-9]*\)$/\1/p' | tail -n 1)
up=$(tr -d '\r' <"$console" | sed -n 's/^SLUICE-E2E-HOST-UP uptime=//p' | tail -n 1)
log "test host: up after ${up:-?} s (its uptime at /init), whole run $(elapsed "$start") s"
if [ -n "$rc" ]; then
	exit "$rc"
fi
if [ "$status" = 124 ]; then
	log "test host timed out after $timeout s"
	exit 124
fi
log "test host ended (status $status) without reporting a result; its console ends:"
tr -d '\r' <"$console" | grep -E -A12 'Oops|Kernel panic|BUG:' | head -n 40 >&2 || true
tr -d '\r' <"$console" | tail -n 15 >&2
exit 125
