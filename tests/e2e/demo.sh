#!/bin/bash
# demo.sh [OPTIONS]: boot a Linux microVM under sluice with its console on
# this terminal: a busybox shell ('exit' or 'poweroff -f' ends it). When
# stdin is not a terminal, or with --command, the guest runs commands and
# powers off instead. Runs in the nested test host when this CPU has no
# vmx/svm (the test host adds ~10 s and the guest boot is slower there).
#   --sluice PATH    sluice binary (default $SLUICE, else build/sluice)
#   --vmm VMM        sluice (default), qemu-q35 or qemu-microvm
#   --cpus N         vCPUs (default 2)
#   --memory SIZE    guest RAM (default 512M)
#   --command CMD    run CMD (sh syntax) in the guest instead of a shell
# Exits with the VMM's status; 77 when the demo cannot run here.
set -eu
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/vmm.sh"

SLUICE=${SLUICE:-$(cd "$E2E_DIR/../.." && pwd)/build/sluice}
vmm=sluice cpus=2 memory=512M command=""
while [ $# -gt 0 ]; do
	case $1 in
	--sluice) SLUICE=$2; shift 2 ;;
	--vmm) vmm=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--memory) memory=$2; shift 2 ;;
	--command) command=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
case $SLUICE in /*) ;; *) SLUICE=$PWD/$SLUICE ;; esac
[ "$vmm" != sluice ] || [ -x "$SLUICE" ] || skip "no sluice binary at $SLUICE (build it first)"

mode=batch
if [ -z "$command" ] && [ -t 0 ] && [ -t 1 ]; then
	mode=interactive
fi

kinfo=$("$E2E_DIR/kernel.sh") || exit $?
eval "$kinfo"
# On the shared root: the test host reads it over 9p.
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "$command" ]; then
	printf '%s\n' "$command" >"$work/commands"
else
	cp "$E2E_DIR/demo/commands" "$work/commands"
fi
"$E2E_DIR/initramfs.sh" "$work/initrd.img" "$E2E_DIR/guest-init" "$KROOT" "$KVER" \
	pvpanic-mmio -- "$E2E_DIR/demo/shell.sh=scenarios/shell.sh" "$work/commands=demo-commands"

vmm_argv "$vmm" "$VMLINUZ" "$work/initrd.img" \
	"console=ttyS0 panic=-1 sluice.scenario=shell sluice.demo=$mode" "$cpus" "$memory"
[ "$vmm" != sluice ] || VMM_ARGV+=(--log-level warn)

rc=0
if have_hw_virt; then
	log "Linux $KVER under $vmm, $cpus CPUs, $memory ($mode)"
	"${VMM_ARGV[@]}" || rc=$?
else
	log "no vmx/svm here: booting the nested test host first; then Linux $KVER under $vmm, $cpus CPUs, $memory ($mode)"
	tb=(--timeout 600)
	[ "$mode" = batch ] || tb=(--interactive --timeout 86400)
	"$E2E_DIR/testbed.sh" "${tb[@]}" -- "${VMM_ARGV[@]}" || rc=$?
fi
log "$vmm exited with status $rc"
exit "$rc"
