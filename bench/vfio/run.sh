#!/bin/bash
# run.sh [OPTIONS]: 4 KiB random-read IOPS (O_DIRECT, queue depth 32) on a
# passed-through NVMe controller, with and without a vIOMMU, under sluice
# and QEMU 7.2, each as a fraction of its own VMM's no-vIOMMU run.
# In ONE boot of the VFIO test bed (tests/e2e/testbed.sh --vfio: QEMU-TCG
# test host with an emulated Intel IOMMU and an NVMe on a raw image,
# bound to vfio-pci there), boots the same Debian kernel and initramfs
# (bench/vfio/init + tests/e2e/guest-tools/nvme-randread) RUNS rounds of the
# configurations (inner.sh has the details), interleaved:
#   sluice-none, sluice-strict (--iommu amd, iommu.strict=1),
#   sluice-v2 (+ amd_iommu=pgtbl_v2), qemu-none, qemu-intel
#   (intel-iommu,caching-mode=on, guest intel_iommu=on iommu.strict=1),
#   qemu-virtio (virtio-iommu-pci, guest iommu.strict=1).
# Prints medians, each vIOMMU configuration as a fraction of its VMM's
# no-vIOMMU median, and sluice-strict's fraction against QEMU's best vIOMMU
# fraction (issue 6's target: at least 2x); appends a dated section to
# bench/vfio/results.md. No pass/fail.
#   --runs N          rounds (default 2)
#   --secs S          seconds of random reads per run (default 10)
#   --qd N            queue depth (default 32)
#   --configs LIST    comma-separated (default: all six above)
#   --sluice PATH     sluice binary (default $SLUICE, else build/sluice)
#   --results DIR     keep the raw results (runs.tsv, consoles) in DIR
#   --no-record       do not append to bench/vfio/results.md
#   --timeout SECONDS test host time limit (default 3600)
#   --summarize DIR   only print the report of an earlier --results DIR
# Needs gcc (static libc), qemu-system-x86 (test bed), busybox-static.
# Exit status: 0 when every run completed, 1 otherwise, 77 when the
# benchmark cannot run here.
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
# shellcheck source=SCRIPTDIR/../../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

ALL_CONFIGS="sluice-none,sluice-strict,sluice-v2,qemu-none,qemu-intel,qemu-virtio"
command_line="bench/vfio/run.sh${*:+ $*}"
sluice=${SLUICE:-$ROOT/build/sluice}
runs=2 secs=10 qd=32 configs=$ALL_CONFIGS results="" record=1 timeout=3600 summarize=""
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--qd) qd=$2; shift 2 ;;
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
for n in "$runs" "$secs" "$qd"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "--runs, --secs and --qd want positive numbers"
done

meta() { printf '%s=%q\n' "$1" "$2" >>"$results/meta.txt"; }

# guest_initrd OUT: busybox + bench/vfio/init + virtio_iommu (first) + nvme
# + nvme-randread + exit-cost.
guest_initrd() {
	local out=$1 tools
	tools=$("$ROOT/tests/e2e/guest-tools/build.sh" | grep -E '=bin/(nvme-randread|exit-cost)$')
	[ "$(echo "$tools" | wc -l)" = 2 ] ||
		die "cannot build nvme-randread and exit-cost statically (needs gcc and libc6-dev)"
	# shellcheck disable=SC2086 # one SRC=DEST word per tool
	"$ROOT/tests/e2e/initramfs.sh" "$out" "$BENCH_DIR/init" "$KROOT" "$KVER" \
		virtio_iommu nvme -- $tools
}

if [ -n "$summarize" ]; then
	results=$(cd "$summarize" && pwd)
	[ -s "$results/runs.tsv" ] && [ -r "$results/meta.txt" ] || die "$summarize holds no benchmark results"
	record=0
else
	case $sluice in /*) ;; *) sluice=$PWD/$sluice ;; esac
	if [[ ",$configs," == *,sluice-* ]]; then
		[ -x "$sluice" ] || skip "no sluice binary at $sluice (scripts/build.sh), or leave out the sluice-* configurations"
	fi
	have_hw_virt && skip "the VFIO benchmark runs in the nested VFIO test bed only (its emulated NVMe); this machine has vmx/svm"
	if [ -z "$results" ]; then
		results=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-vfio.XXXXXX")
		trap 'rm -rf "$results"' EXIT
	else
		mkdir -p "$results"
		results=$(cd "$results" && pwd)
		rm -rf "$results/raw" "$results/runs.tsv" "$results/facts.txt" "$results/meta.txt"
	fi
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] ||
		commit="$commit (with uncommitted changes)"
	# Freeze the binary under test at the start.
	if [ -x "$sluice" ]; then cp "$sluice" "$results/sluice"; sluice=$results/sluice; fi

	kinfo=$("$ROOT/tests/e2e/kernel.sh") || exit $?
	eval "$kinfo"
	guest_initrd "$results/initrd.img"
	inner=(env SLUICE="$sluice" "$BENCH_DIR/inner.sh" "$VMLINUZ" "$results/initrd.img" "$results"
		"$runs" "$secs" "$qd" "$configs")
	date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
	start=$(now)
	rc=0
	bed="nested VFIO test bed: QEMU-TCG test host (tests/e2e/testbed.sh --vfio: q35, -cpu max,-xsave, -smp 4, 8 GiB, intel-iommu intremap=on, host intel_iommu=on iommu=pt) with nested KVM (kvm-amd); its NVMe (QEMU nvme, 64 MiB raw image on this machine's disk) bound to vfio-pci and passed to the guest"
	"$ROOT/tests/e2e/testbed.sh" --vfio --timeout "$timeout" -- "${inner[@]}" || rc=$?
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
	meta qd "$qd"
	meta configs "$configs"
	meta rc "$rc"
	meta commit "$commit"
fi
# shellcheck disable=SC1091
. "$results/meta.txt"
SLUICE_VERSION=unknown QEMU_VERSION=unknown VMM_HOST_NPROC="?" VMM_HOST_CPU="?" VMM_HOST_KERNEL="?"
# shellcheck disable=SC1091
[ ! -r "$results/facts.txt" ] || . "$results/facts.txt"
tsv=$results/runs.tsv

# stat CONFIG: "median min max n" of the IOPS of its completed runs.
stat() {
	awk -F'\t' -v cfg="$1" 'NR > 1 && $2 == cfg && $3 == "0" && $4 != "-" { print $4 }' "$tsv" |
		sort -g | awk '{ v[NR] = $1 }
			END {
				if (NR == 0) { print "- - - 0"; exit }
				m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				print m, v[1], v[NR], NR
			}'
}
# median_col CONFIG COLUMN: the median of a numeric runs.tsv column over
# CONFIG's completed runs, or "-".
median_col() {
	awk -F'\t' -v cfg="$1" -v col="$2" 'NR > 1 && $2 == cfg && $3 == "0" && $col ~ /^[0-9.]+$/ { print $col }' "$tsv" |
		sort -g | awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "-"; exit }
			print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
us() { awk -v ns="$1" 'BEGIN { if (ns == "-") print "-"; else printf "%.1f\n", ns / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3f\n", a / b }'; }
domains() { awk -F'\t' -v cfg="$1" 'NR > 1 && $2 == cfg && $5 != "-" { print $5 }' "$tsv" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
failed=$(awk -F'\t' 'NR > 1 && $3 != "0" && $3 != "skip"' "$tsv" | wc -l)

report() {
	local c base m mn mx n fr best=- bestc="" sb
	echo "One guest per run (Linux $KVER, 1 vCPU, 512 MiB, busybox initramfs, quiet) with the"
	echo "test bed's NVMe passed through with VFIO; nvme-randread: 4 KiB O_DIRECT random reads,"
	echo "queue depth $qd (io_uring), ${secs} s per run; $runs rounds, configurations interleaved."
	echo "Fraction = median IOPS / the same VMM's no-vIOMMU median. Higher is better. Only ratios"
	echo "within this run mean anything (TCG test host; see bench/README.md)."
	echo
	echo "| configuration | IOPS median (min-max, n) | fraction of own no-vIOMMU | guest DMA domain | exit: CPUID / MMIO (us) |"
	echo "| --- | ---: | ---: | --- | ---: |"
	for c in ${configs//,/ }; do
		case $c in sluice-*) base="sluice-none" ;; *) base="qemu-none" ;; esac
		read -r m mn mx n < <(stat "$c")
		read -r b _ < <(stat "$base")
		fr=$(ratio "$m" "$b")
		printf '| %s | %s (%s-%s, n=%s) | **%s** | %s | %s / %s |\n' "$c" "$m" "$mn" "$mx" "$n" "$fr" \
			"$(domains "$c")" "$(us "$(median_col "$c" 7)")" "$(us "$(median_col "$c" 8)")"
		case $c in qemu-intel | qemu-virtio)
			if [ "$fr" != - ] && { [ "$best" = - ] || awk -v a="$fr" -v b="$best" 'BEGIN { exit !(a > b) }'; }; then
				best=$fr bestc=$c
			fi ;;
		esac
	done
	echo
	read -r m _ < <(stat sluice-strict)
	read -r b _ < <(stat sluice-none)
	sb=$(ratio "$m" "$b")
	echo "- QEMU's best vIOMMU fraction: $best (${bestc:-none})"
	echo "- sluice-strict fraction $sb vs QEMU's best: $(ratio "$sb" "$best")x (issue 6 target: >= 2x; the seed design reached 0.725 of passthrough on real hardware)"
}

facts() {
	echo "- command: \`$command_line\`"
	echo "- date: $date_utc; git commit: ${commit:-unknown}; sluice: $SLUICE_VERSION; $QEMU_VERSION"
	echo "- guest kernel: Debian $KVER (tests/e2e/kernel.sh); initramfs: busybox + bench/vfio/init + nvme-randread + exit-cost"
	echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
	echo "- where the VMMs ran: $bed"
	echo "- test host as the VMMs saw it: $VMM_HOST_NPROC CPUs ($VMM_HOST_CPU), kernel $VMM_HOST_KERNEL"
	echo "- whole benchmark: $total s wall; runs that did not complete: $failed"
}

summary=$(report)
info=$(facts)
echo
echo "=== VFIO NVMe benchmark"
echo "$info"
echo
echo "$summary"
if [ "$record" = 1 ]; then
	out=$BENCH_DIR/results.md
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
