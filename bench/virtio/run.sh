#!/bin/bash
# run.sh [OPTIONS]: the virtio benchmark. In ONE boot of the nested test
# host (or directly where this CPU has vmx/svm), boots the same Debian
# kernel and initramfs under sluice and QEMU q35 (vhost off), each with one
# virtio-blk disk behind a PCIe root port (the same raw image on tmpfs) and
# one virtio-net NIC on a tap, RUNS rounds, interleaved. The guest measures
# 4 KiB O_DIRECT random-read IOPS at queue depth 1 and 8 (randread.c,
# built statically here), sequential O_DIRECT read MB/s (1 MiB reads, one
# pass), and TCP throughput guest->host (iperf3, as received by the host).
# Prints medians and sluice/QEMU ratios and appends a dated section to
# bench/virtio/results.md. No pass/fail.
#   --runs N          rounds (default 3)
#   --secs S          seconds per timed test (default 8)
#   --disk-mib N      disk image size (default 256)
#   --sluice PATH     sluice binary (default $SLUICE, else build/sluice)
#   --vmms LIST       comma-separated (default sluice,qemu-q35; one alone
#                     only to try the benchmark out: no ratios)
#   --results DIR     keep the raw results (runs.tsv, consoles) in DIR
#   --no-record       do not append to bench/virtio/results.md
#   --timeout SECONDS test host time limit (default 2400)
#   --summarize DIR   only print the report of an earlier --results DIR
# Needs gcc (static libc), iperf3, qemu-system-x86, busybox-static.
# Exit status: 0 when every run completed, 1 otherwise, 77 when the
# benchmark cannot run here.
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
# shellcheck source=SCRIPTDIR/../../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

command_line="bench/virtio/run.sh${*:+ $*}"
sluice=${SLUICE:-$ROOT/build/sluice}
runs=3 secs=8 disk_mib=256 vmms=sluice,qemu-q35 results="" record=1 timeout=2400 summarize=""
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--disk-mib) disk_mib=$2; shift 2 ;;
	--sluice) sluice=$2; shift 2 ;;
	--vmms) vmms=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--no-record) record=0; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	--summarize) summarize=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
for n in "$runs" "$secs" "$disk_mib"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "--runs, --secs and --disk-mib want positive numbers"
done

meta() { printf '%s=%q\n' "$1" "$2" >>"$results/meta.txt"; }

# guest_initrd OUT: busybox + bench/virtio/init + virtio_blk/virtio_net +
# randread (static) + iperf3 with its shared libraries.
guest_initrd() {
	local out=$1 stage=$results/stage lib extra=()
	rm -rf "$stage"
	mkdir -p "$stage"
	gcc -static -O2 -Wall -Wextra -Werror -pthread -o "$stage/randread" "$BENCH_DIR/randread.c" ||
		die "cannot build randread statically (needs gcc and libc6-dev)"
	extra+=("$stage/randread=bin/randread" "$(command -v iperf3)=usr/bin/iperf3")
	for lib in $(ldd "$(command -v iperf3)" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }'); do
		cp -L "$lib" "$stage/${lib##*/}"
		extra+=("$stage/${lib##*/}=${lib#/}")
	done
	"$ROOT/tests/e2e/initramfs.sh" "$out" "$BENCH_DIR/init" "$KROOT" "$KVER" \
		virtio_blk virtio_net -- "${extra[@]}"
}

if [ -n "$summarize" ]; then
	results=$(cd "$summarize" && pwd)
	[ -s "$results/runs.tsv" ] && [ -r "$results/meta.txt" ] || die "$summarize holds no benchmark results"
	record=0
else
	case $sluice in /*) ;; *) sluice=$PWD/$sluice ;; esac
	[[ ,$vmms, != *,sluice,* ]] || [ -x "$sluice" ] || skip "no sluice binary at $sluice (scripts/build.sh)"
	command -v iperf3 >/dev/null || skip "iperf3 is not installed (apt-get install iperf3)"
	if [ -z "$results" ]; then
		results=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-virtio.XXXXXX")
		trap 'rm -rf "$results"' EXIT
	else
		mkdir -p "$results"
		results=$(cd "$results" && pwd)
		rm -rf "$results/raw" "$results/runs.tsv" "$results/facts.txt" "$results/meta.txt"
	fi
	# Freeze the binary under test and HEAD at the start.
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] ||
		commit="$commit (with uncommitted changes)"
	if [ -x "$sluice" ]; then
		cp "$sluice" "$results/sluice"
		sluice=$results/sluice
	fi

	kinfo=$("$ROOT/tests/e2e/kernel.sh") || exit $?
	eval "$kinfo"
	guest_initrd "$results/initrd.img"
	inner=(env SLUICE="$sluice" "$BENCH_DIR/inner.sh" "$VMLINUZ" "$results/initrd.img" "$results"
		"$runs" "$secs" "$disk_mib" "$vmms")
	date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
	start=$(now)
	rc=0
	if have_hw_virt; then
		bed="direct on this machine's KVM (vmx/svm)"
		"${inner[@]}" || rc=$?
	else
		bed="nested TCG test bed: QEMU-TCG test host (tests/e2e/testbed.sh: q35, -cpu max,-xsave, -smp 4, 4 GiB) with nested KVM (kvm-amd); the VMMs, the disk image (tmpfs) and the iperf3 server run inside it"
		"$ROOT/tests/e2e/testbed.sh" --timeout "$timeout" --memory 4G -- "${inner[@]}" || rc=$?
	fi
	total=$(elapsed "$start")
	[ "$rc" != "$E2E_SKIP" ] || skip "the benchmark cannot run here (see above)"
	[ -s "$results/runs.tsv" ] || die "no results (status $rc)"
	: >"$results/meta.txt"
	meta command_line "$command_line"
	meta date_utc "$date_utc"
	meta bed "$bed"
	meta total "$total"
	meta KVER "$KVER"
	meta runs "$runs"
	meta secs "$secs"
	meta disk_mib "$disk_mib"
	meta vmms "$vmms"
	meta rc "$rc"
	meta commit "$commit"
fi
# shellcheck disable=SC1091
. "$results/meta.txt"
SLUICE_VERSION=unknown QEMU_VERSION=unknown IPERF3_VERSION=unknown VMM_HOST_NPROC=? VMM_HOST_CPU=? VMM_HOST_KERNEL=?
# shellcheck disable=SC1091
[ ! -r "$results/facts.txt" ] || . "$results/facts.txt"
tsv=$results/runs.tsv

# stat VMM COLUMN: "median min max n" over runs with a value.
stat() {
	local c
	c=$(head -n 1 "$tsv" | tr '\t' '\n' | grep -nx "$2" | cut -d: -f1)
	awk -F'\t' -v vmm="$1" -v c="$c" 'NR > 1 && $2 == vmm && $c != "-" { print $c }' "$tsv" |
		sort -g | awk '{ v[NR] = $1 }
			END {
				if (NR == 0) { print "- - - 0"; exit }
				m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				print m, v[1], v[NR], NR
			}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a / b }'; }
failed=$(awk -F'\t' 'NR > 1 && $3 != "0"' "$tsv" | wc -l)

report() {
	local col what s q
	echo "One guest (Linux $KVER, 1 vCPU, 512 MiB, busybox initramfs) per run, booted by each VMM"
	echo "with one virtio-blk disk behind a PCIe root port (raw ${disk_mib} MiB image on tmpfs in the"
	echo "machine the VMMs ran on; sluice --disk, QEMU -drive format=raw + virtio-blk-pci) and one"
	echo "virtio-net NIC on a tap (sluice --net, QEMU -netdev tap,vhost=off + virtio-net-pci);"
	echo "$runs rounds, interleaved; ${secs} s per timed test. Higher is better. Only ratios within"
	echo "this run mean anything (see bench/README.md)."
	echo
	echo "| measure | sluice median (min-max) | QEMU q35 median (min-max) | sluice/QEMU |"
	echo "| --- | ---: | ---: | ---: |"
	for col in randread_qd1_iops randread_qd8_iops seqread_mbs net_mbits; do
		case $col in
		randread_qd1_iops) what="virtio-blk 4 KiB random read, QD 1 (IOPS)" ;;
		randread_qd8_iops) what="virtio-blk 4 KiB random read, QD 8 (IOPS)" ;;
		seqread_mbs) what="virtio-blk sequential read, 1 MiB O_DIRECT (MB/s)" ;;
		net_mbits) what="virtio-net TCP guest->host, iperf3 (Mbit/s)" ;;
		esac
		read -r s smin smax sn < <(stat sluice "$col")
		read -r q qmin qmax qn < <(stat qemu-q35 "$col")
		printf '| %s | %s (%s-%s, n=%s) | %s (%s-%s, n=%s) | **%s** |\n' "$what" \
			"$s" "$smin" "$smax" "$sn" "$q" "$qmin" "$qmax" "$qn" "$(ratio "$s" "$q")"
	done
}

facts() {
	echo "- command: \`$command_line\`"
	echo "- date: $date_utc; git commit: ${commit:-unknown}; sluice: $SLUICE_VERSION"
	echo "- guest kernel: Debian $KVER (tests/e2e/kernel.sh); initramfs: busybox + bench/virtio/init + randread + iperf3"
	echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
	echo "- where the VMMs ran: $bed"
	echo "- test host as the VMMs saw it: $VMM_HOST_NPROC CPUs ($VMM_HOST_CPU), kernel $VMM_HOST_KERNEL"
	echo "- $QEMU_VERSION; $IPERF3_VERSION"
	echo "- whole benchmark: $total s wall; runs that did not complete: $failed"
}

summary=$(report)
info=$(facts)
echo
echo "=== virtio benchmark"
echo "$info"
echo
echo "$summary"
if [ "$record" = 1 ]; then
	out=$BENCH_DIR/results.md
	[ -e "$out" ] || printf '# virtio benchmark results\n\nAppended by bench/virtio/run.sh, newest last. See bench/README.md for what is measured and the caveats.\n' >"$out"
	{
		echo
		echo "## $date_utc"
		echo
		echo "$info"
		echo
		echo "$summary"
		echo
		echo "<details><summary>every run (runs.tsv)</summary>"
		echo
		echo '```'
		column -t -s $'\t' "$tsv" 2>/dev/null || cat "$tsv"
		echo '```'
		echo
		echo "</details>"
	} >>"$out"
	log "appended to $out"
fi
[ "$failed" = 0 ] && [ "$rc" = 0 ] || exit 1
