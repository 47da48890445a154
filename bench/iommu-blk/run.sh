#!/bin/bash
# run.sh [OPTIONS]: virtio-blk 4 KiB random-read IOPS through sluice's
# emulated AMD IOMMU, as a fraction of the same guest without an IOMMU.
# In ONE boot of the nested test host (or directly where this CPU has
# vmx/svm), boots the same Debian kernel and initramfs (bench/virtio's
# /init and randread.c, built statically here) under sluice with one
# virtio-blk disk behind a PCIe root port (raw image on tmpfs), RUNS
# rounds of three configurations, interleaved: no IOMMU; --iommu amd with
# the guest's default lazy invalidation; --iommu amd with iommu.strict=1.
# The guest measures 4 KiB O_DIRECT random-read IOPS at queue depth 1 and
# 8, and one sequential O_DIRECT pass. Prints medians and the ratios
# lazy/none and strict/none against the issue's targets (>= 0.90 lazy,
# >= 0.75 strict) and appends a dated section to bench/iommu-blk/results.md.
# No pass/fail.
#   --runs N          rounds (default 3)
#   --secs S          seconds per timed test (default 8)
#   --disk-mib N      disk image size (default 64)
#   --configs LIST    comma-separated (default none,lazy,strict)
#   --sluice PATH     sluice binary (default $SLUICE, else build/sluice)
#   --results DIR     keep the raw results (runs.tsv, consoles) in DIR
#   --no-record       do not append to bench/iommu-blk/results.md
#   --timeout SECONDS test host time limit (default 2400)
#   --summarize DIR   only print the report of an earlier --results DIR
# Needs gcc (static libc), qemu-system-x86 (test bed), busybox-static.
# Exit status: 0 when every run completed, 1 otherwise, 77 when the
# benchmark cannot run here.
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
VIRTIO_DIR=$ROOT/bench/virtio
# shellcheck source=SCRIPTDIR/../../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

command_line="bench/iommu-blk/run.sh${*:+ $*}"
sluice=${SLUICE:-$ROOT/build/sluice}
runs=3 secs=8 disk_mib=64 configs=none,lazy,strict results="" record=1 timeout=2400 summarize=""
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--disk-mib) disk_mib=$2; shift 2 ;;
	--configs) configs=$2; shift 2 ;;
	--sluice) sluice=$2; shift 2 ;;
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

# guest_initrd OUT: busybox + bench/virtio/init + virtio_blk + randread.
guest_initrd() {
	local out=$1 stage=$results/stage
	rm -rf "$stage"
	mkdir -p "$stage"
	gcc -static -O2 -Wall -Wextra -Werror -pthread -o "$stage/randread" "$VIRTIO_DIR/randread.c" ||
		die "cannot build randread statically (needs gcc and libc6-dev)"
	"$ROOT/tests/e2e/initramfs.sh" "$out" "$VIRTIO_DIR/init" "$KROOT" "$KVER" \
		virtio_blk -- "$stage/randread=bin/randread"
}

if [ -n "$summarize" ]; then
	results=$(cd "$summarize" && pwd)
	[ -s "$results/runs.tsv" ] && [ -r "$results/meta.txt" ] || die "$summarize holds no benchmark results"
	record=0
else
	case $sluice in /*) ;; *) sluice=$PWD/$sluice ;; esac
	[ -x "$sluice" ] || skip "no sluice binary at $sluice (scripts/build.sh)"
	if [ -z "$results" ]; then
		results=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-iommu-blk.XXXXXX")
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
	cp "$sluice" "$results/sluice"
	sluice=$results/sluice

	kinfo=$("$ROOT/tests/e2e/kernel.sh") || exit $?
	eval "$kinfo"
	guest_initrd "$results/initrd.img"
	inner=(env SLUICE="$sluice" "$BENCH_DIR/inner.sh" "$VMLINUZ" "$results/initrd.img" "$results"
		"$runs" "$secs" "$disk_mib" "$configs")
	date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
	start=$(now)
	rc=0
	if have_hw_virt; then
		bed="direct on this machine's KVM (vmx/svm)"
		"${inner[@]}" || rc=$?
	else
		bed="nested TCG test bed: QEMU-TCG test host (tests/e2e/testbed.sh: q35, -cpu max,-xsave, -smp 4, 4 GiB) with nested KVM (kvm-amd); sluice and the disk image (tmpfs) run inside it"
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
	meta configs "$configs"
	meta rc "$rc"
	meta commit "$commit"
fi
# shellcheck disable=SC1091
. "$results/meta.txt"
SLUICE_VERSION=unknown VMM_HOST_NPROC=? VMM_HOST_CPU=? VMM_HOST_KERNEL=?
# shellcheck disable=SC1091
[ ! -r "$results/facts.txt" ] || . "$results/facts.txt"
tsv=$results/runs.tsv

# stat CONFIG COLUMN: "median min max n" over completed runs with a value.
stat() {
	local c
	c=$(head -n 1 "$tsv" | tr '\t' '\n' | grep -nx "$2" | cut -d: -f1)
	awk -F'\t' -v cfg="$1" -v c="$c" 'NR > 1 && $2 == cfg && $3 == "0" && $c != "-" { print $c }' "$tsv" |
		sort -g | awk '{ v[NR] = $1 }
			END {
				if (NR == 0) { print "- - - 0"; exit }
				m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				print m, v[1], v[NR], NR
			}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a / b }'; }
# verdict RATIO TARGET: "met" or "NOT met" (or "-").
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { if (r == "-") print "-"; else if (r + 0 >= t) print "met"; else print "NOT met" }'; }
failed=$(awk -F'\t' 'NR > 1 && $3 != "0"' "$tsv" | wc -l)

report() {
	local col what n nmin nmax nn l lmin lmax ln s smin smax sn rl rs
	echo "One guest (Linux $KVER, 1 vCPU, 512 MiB, busybox initramfs, command line with quiet and"
	echo "intremap=off) per run under sluice, one virtio-blk disk behind a PCIe root port (raw"
	echo "${disk_mib} MiB image on tmpfs); configurations: **none** (no IOMMU), **lazy** (--iommu amd,"
	echo "guest default lazy invalidation), **strict** (--iommu amd, guest iommu.strict=1); $runs rounds,"
	echo "interleaved; ${secs} s per timed test. Higher is better. Only ratios within this run mean"
	echo "anything (see bench/README.md). Targets (issue 4): lazy >= 0.90 and strict >= 0.75 of none."
	echo
	echo "| measure | none median (min-max) | lazy median (min-max) | strict median (min-max) | lazy/none | strict/none |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	for col in randread_qd1_iops randread_qd8_iops seqread_mbs; do
		case $col in
		randread_qd1_iops) what="4 KiB random read, QD 1 (IOPS)" ;;
		randread_qd8_iops) what="4 KiB random read, QD 8 (IOPS)" ;;
		seqread_mbs) what="sequential read, 1 MiB O_DIRECT (MB/s)" ;;
		esac
		read -r n nmin nmax nn < <(stat none "$col")
		read -r l lmin lmax ln < <(stat lazy "$col")
		read -r s smin smax sn < <(stat strict "$col")
		rl=$(ratio "$l" "$n") rs=$(ratio "$s" "$n")
		printf '| %s | %s (%s-%s, n=%s) | %s (%s-%s, n=%s) | %s (%s-%s, n=%s) | **%s** | **%s** |\n' "$what" \
			"$n" "$nmin" "$nmax" "$nn" "$l" "$lmin" "$lmax" "$ln" "$s" "$smin" "$smax" "$sn" "$rl" "$rs"
	done
	echo
	for col in randread_qd1_iops randread_qd8_iops; do
		read -r n _ < <(stat none "$col")
		read -r l _ < <(stat lazy "$col")
		read -r s _ < <(stat strict "$col")
		rl=$(ratio "$l" "$n") rs=$(ratio "$s" "$n")
		echo "- $col: lazy/none $rl (target 0.90: $(verdict "$rl" 0.90)), strict/none $rs (target 0.75: $(verdict "$rs" 0.75))"
	done
}

facts() {
	echo "- command: \`$command_line\`"
	echo "- date: $date_utc; git commit: ${commit:-unknown}; sluice: $SLUICE_VERSION"
	echo "- guest kernel: Debian $KVER (tests/e2e/kernel.sh); initramfs: busybox + bench/virtio/init + randread"
	echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
	echo "- where sluice ran: $bed"
	echo "- test host as sluice saw it: $VMM_HOST_NPROC CPUs ($VMM_HOST_CPU), kernel $VMM_HOST_KERNEL"
	echo "- whole benchmark: $total s wall; runs that did not complete: $failed"
}

summary=$(report)
info=$(facts)
echo
echo "=== IOMMU virtio-blk benchmark"
echo "$info"
echo
echo "$summary"
if [ "$record" = 1 ]; then
	out=$BENCH_DIR/results.md
	[ -e "$out" ] || printf '# IOMMU virtio-blk benchmark results\n\nAppended by bench/iommu-blk/run.sh, newest last. See bench/README.md for what is measured and the caveats.\n' >"$out"
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
