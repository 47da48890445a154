#!/bin/bash
# run.sh [OPTIONS]: the boot benchmark. Boots the same Debian kernel and
# initramfs (whose /init notes the time and powers off at once) under
# sluice, QEMU q35 and QEMU microvm (1 vCPU, 256 MiB, as tests/e2e/vmm.sh
# starts them), RUNS times each, interleaved, in ONE boot of the nested
# test host (or directly when this CPU has vmx/svm). Reports per VMM the
# wall time of the VMM process from exec to exit (median, min, max), the
# ratios of sluice's median to QEMU's, the time to the guest's /init, and
# memory overhead. Prints a table and appends a dated section to
# bench/boot/results.md. No pass/fail: the issue's targets are stated as
# met / not met.
#   --runs N          timed runs per VMM and configuration (default 5)
#   --configs LIST    comma-separated: default (console=ttyS0 panic=-1),
#                     quiet (the same + quiet); default: default,quiet
#   --warmup N        untimed rounds first (quiet; default 1): page caches,
#                     first-use costs
#   --sluice PATH     sluice binary (default $SLUICE, else build/sluice)
#   --results DIR     keep the raw results (runs.tsv, consoles) in DIR
#   --no-record       do not append to bench/boot/results.md
#   --no-wait         do not wait for other qemu-system-x86_64 processes
#   --timeout SECONDS test host time limit (default 1800)
#   --summarize DIR   only print the report of an earlier --results DIR
# Exit status: 0 when every run powered off normally, 1 otherwise, 77 when
# the benchmark cannot run here.
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
# shellcheck source=SCRIPTDIR/../../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

command_line="bench/boot/run.sh${*:+ $*}"
sluice=${SLUICE:-$ROOT/build/sluice}
runs=5 configs=default,quiet warmup=1 results="" record=1 wait=1 timeout=1800 summarize=""
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--configs) configs=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--sluice) sluice=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--no-record) record=0; shift ;;
	--no-wait) wait=0; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	--summarize) summarize=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup wants a number"
for c in ${configs//,/ }; do
	case $c in default | quiet) ;; *) die "unknown config '$c' (default, quiet)" ;; esac
done

# meta KEY VALUE: remember a fact about this run in the results directory.
meta() { printf '%s=%q\n' "$1" "$2" >>"$results/meta.txt"; }

if [ -n "$summarize" ]; then
	results=$(cd "$summarize" && pwd)
	if [ ! -s "$results/runs.tsv" ] || [ ! -r "$results/meta.txt" ]; then
		die "$summarize holds no benchmark results"
	fi
	record=0
else
	case $sluice in /*) ;; *) sluice=$PWD/$sluice ;; esac
	[ -x "$sluice" ] || skip "no sluice binary at $sluice (scripts/build.sh)"

	if [ -z "$results" ]; then
		results=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
		trap 'rm -rf "$results"' EXIT
	else
		mkdir -p "$results"
		results=$(cd "$results" && pwd)
		rm -rf "$results/raw" "$results/runs.tsv" "$results/facts.txt" "$results/meta.txt"
	fi

	# Other VMs on this machine (the e2e suite, another benchmark) would be
	# measured too. (The process name is cut to 15 characters: qemu-system-x86.)
	if [ "$wait" = 1 ]; then
		if pgrep -x 'qemu-system-x86(_64)?' >/dev/null 2>&1; then
			log "another qemu-system-x86_64 is running; waiting for it to end (polling every 30 s; --no-wait to skip)"
			while pgrep -x 'qemu-system-x86(_64)?' >/dev/null 2>&1; do sleep 30; done
		fi
	fi

	# Freeze the binary under test (a rebuild during the run must not mix two
	# sluices) and HEAD at the start; the copy stays on the shared root
	# (9p in the test host), like QEMU.
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] ||
		commit="$commit (with uncommitted changes)"
	cp "$sluice" "$results/sluice"
	sluice=$results/sluice

	kinfo=$("$ROOT/tests/e2e/kernel.sh") || exit $?
	eval "$kinfo"
	: "${KVER:?}" "${KROOT:?}" "${VMLINUZ:?}"
	"$ROOT/tests/e2e/initramfs.sh" "$results/initrd.img" "$BENCH_DIR/init" "$KROOT" "$KVER"

	inner=(env SLUICE="$sluice" "$BENCH_DIR/inner.sh" "$VMLINUZ" "$results/initrd.img" "$results"
		"$runs" "$configs" "$warmup")
	date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
	start=$(now)
	rc=0
	if have_hw_virt; then
		bed="direct on this machine's KVM (vmx/svm)"
		"${inner[@]}" || rc=$?
	else
		bed="nested TCG test bed: QEMU-TCG test host (tests/e2e/testbed.sh: q35, -cpu max,-xsave, -smp 4, 2 GiB) with nested KVM (kvm-amd); the VMMs run inside it"
		"$ROOT/tests/e2e/testbed.sh" --timeout "$timeout" --memory 2G -- "${inner[@]}" || rc=$?
	fi
	total=$(elapsed "$start")
	[ "$rc" != "$E2E_SKIP" ] || skip "the benchmark cannot run here (see above)"
	[ -s "$results/runs.tsv" ] || die "no results (status $rc)"
	[ "$rc" = 0 ] || log "the benchmark run ended with status $rc; reporting what it measured"
	: >"$results/meta.txt"
	meta command_line "$command_line"
	meta date_utc "$date_utc"
	meta bed "$bed"
	meta total "$total"
	meta KVER "$KVER"
	meta runs "$runs"
	meta configs "$configs"
	meta warmup "$warmup"
	meta rc "$rc"
	meta commit "$commit"
fi
# shellcheck disable=SC1091
. "$results/meta.txt"

# ---- summary ----------------------------------------------------------------
SLUICE_VERSION="unknown" QEMU_VERSION="unknown" GNU_TIME="unknown" EXEC_US_sluice=- EXEC_US_qemu=-
VMM_HOST_NPROC="unknown" VMM_HOST_CPU="unknown" VMM_HOST_MEM_KIB=0 VMM_HOST_KERNEL="unknown"
# shellcheck disable=SC1091
[ ! -r "$results/facts.txt" ] || . "$results/facts.txt"
tsv=$results/runs.tsv
# col NAME: the column number of NAME in runs.tsv.
col() { head -n 1 "$tsv" | tr '\t' '\n' | grep -nx "$1" | cut -d: -f1; }
# stat CONFIG VMM COLUMN: "median min max n" over the runs that powered off
# normally (status 0); "- - - 0" when there are none.
stat() {
	local c
	c=$(col "$3")
	awk -F'\t' -v cfg="$1" -v vmm="$2" -v c="$c" \
		'NR > 1 && $1 == cfg && $3 == vmm && $4 == "0" && $c != "-" { print $c }' "$tsv" |
		sort -g | awk '{ v[NR] = $1 }
			END {
				if (NR == 0) { print "- - - 0"; exit }
				m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				print m, v[1], v[NR], NR
			}'
}
median() { stat "$@" | cut -d' ' -f1; }
# fmt VALUE SCALE DECIMALS: VALUE/SCALE, or "-".
fmt() { awk -v v="$1" -v s="$2" -v d="$3" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.*f\n", d, v / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a / b }'; }
# le A B: A <= B (numbers), for the targets.
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
verdict() { if [ "$1" = - ] || [ "$2" = - ]; then echo "not measured"; elif le "$1" "$2"; then echo "**met**"; else echo "**not met**"; fi; }

name() { case $1 in sluice) echo sluice ;; sluice-vmlinux) echo "sluice, vmlinux ELF" ;; qemu-q35) echo "QEMU q35" ;; qemu-microvm) echo "QEMU microvm" ;; esac; }
GUEST_RAM_KIB=$((256 * 1024))
failed=$(awk -F'\t' 'NR > 1 && $4 != "0"' "$tsv" | wc -l)

report() {
	local cfg vmm s med mn mx n cmd
	echo "Each VMM boots Linux $KVER with the same initramfs (its /init powers off at once),"
	echo "1 vCPU, 256 MiB, console on ttyS0 to a file on tmpfs; $runs timed runs per VMM and"
	echo "configuration, interleaved, after $warmup untimed warm-up round(s); one test-host boot."
	echo "Wall = the VMM process from exec to exit, measured in the machine the VMMs ran on."
	echo "Only ratios within this run mean anything (see bench/README.md)."
	for cfg in ${configs//,/ }; do
		cmd="console=ttyS0 panic=-1"
		[ "$cfg" = default ] || cmd="$cmd $cfg"
		echo
		echo "### Boot to power-off, guest command line \`$cmd\`"
		echo
		echo "| VMM | ok runs | wall median (s) | min (s) | max (s) | VMM start to /init, boot-timer (s) | guest clock at /init (s) | wall - guest clock at /init (s, of the medians) | console bytes | peak RSS (MiB) |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for vmm in sluice sluice-vmlinux qemu-q35 qemu-microvm; do
			read -r med mn mx n < <(stat "$cfg" "$vmm" wall_ms)
			[ "$vmm" != sluice-vmlinux ] || [ "$med" != - ] || continue
			local gi
			gi=$(median "$cfg" "$vmm" guest_init_s)
			echo "| $(name "$vmm") | $n | $(fmt "$med" 1000 2) | $(fmt "$mn" 1000 2) | $(fmt "$mx" 1000 2)" \
				"| $(fmt "$(median "$cfg" "$vmm" boot_timer_ms)" 1000 2) | $(fmt "$gi" 1 2)" \
				"| $(awk -v w="$med" -v g="$gi" 'BEGIN { if (w == "-" || g == "-") print "-"; else printf "%.2f\n", w / 1000 - g }')" \
				"| $(median "$cfg" "$vmm" console_bytes) | $(fmt "$(median "$cfg" "$vmm" maxrss_kib)" 1024 1) |"
		done
		local s_med q_med m_med
		s_med=$(median "$cfg" sluice wall_ms)
		q_med=$(median "$cfg" qemu-q35 wall_ms)
		m_med=$(median "$cfg" qemu-microvm wall_ms)
		echo
		echo "Ratios of medians: sluice/q35 = **$(ratio "$s_med" "$q_med")**, sluice/microvm = **$(ratio "$s_med" "$m_med")**;" \
			"guest clock at /init sluice/q35 = $(ratio "$(median "$cfg" sluice guest_init_s)" "$(median "$cfg" qemu-q35 guest_init_s)")," \
			"sluice/microvm = $(ratio "$(median "$cfg" sluice guest_init_s)" "$(median "$cfg" qemu-microvm guest_init_s)")."
		local v_med
		v_med=$(median "$cfg" sluice-vmlinux wall_ms)
		if [ "$v_med" != - ]; then
			echo "The same kernel booted by sluice as its uncompressed vmlinux ELF (no decompressor;" \
				"QEMU's -kernel cannot do this): sluice-vmlinux/q35 = **$(ratio "$v_med" "$q_med")**," \
				"sluice-vmlinux/microvm = **$(ratio "$v_med" "$m_med")**, sluice-vmlinux/sluice = $(ratio "$v_med" "$s_med")."
		fi
		# The same with each binary's bare exec cost (its --version run) taken
		# off: how much of the ratio is process start-up in this test bed.
		local xs=${EXEC_US_sluice:--} xq=${EXEC_US_qemu:--}
		if [ "$xs" != - ] && [ "$xq" != - ] && [ "$s_med" != - ]; then
			sub() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-") print "-"; else print a - b / 1000 }'; }
			echo "With each binary's exec cost (\`--version\`: sluice $(fmt "$xs" 1000 0) ms, QEMU $(fmt "$xq" 1000 0) ms) taken off:" \
				"sluice/q35 = $(ratio "$(sub "$s_med" "$xs")" "$(sub "$q_med" "$xq")")," \
				"sluice/microvm = $(ratio "$(sub "$s_med" "$xs")" "$(sub "$m_med" "$xq")")."
		fi
	done

	echo
	echo "### Memory"
	echo
	echo "| measure | ${configs//,/ | } |"
	echo "| --- |$(for _ in ${configs//,/ }; do printf ' ---: |'; done)"
	row() { # row LABEL VMM COLUMN  (KiB, median)
		printf '| %s |' "$1"
		for cfg in ${configs//,/ }; do printf ' %s |' "$(median "$cfg" "$2" "$3")"; done
		echo
	}
	row "sluice overhead: peak RSS - guest RAM resident (KiB, its own exit report)" sluice sluice_overhead_kib
	row "sluice peak RSS (KiB, its own report)" sluice sluice_peak_rss_kib
	row "sluice guest RAM resident (KiB, its own report)" sluice sluice_guest_ram_kib
	for vmm in sluice qemu-q35 qemu-microvm; do
		row "$(name "$vmm") peak RSS (KiB, GNU time)" "$vmm" maxrss_kib
	done
	for vmm in qemu-q35 qemu-microvm; do
		printf '| %s |' "approx. $(name "$vmm") overhead: peak RSS - sluice's guest RAM resident (KiB)"
		for cfg in ${configs//,/ }; do
			printf ' %s |' "$(awk -v a="$(median "$cfg" "$vmm" maxrss_kib)" -v b="$(median "$cfg" sluice sluice_guest_ram_kib)" \
				'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%d", a - b }')"
		done
		echo
		printf '| %s |' "approx. $(name "$vmm") overhead: peak RSS - 256 MiB (KiB)"
		for cfg in ${configs//,/ }; do
			printf ' %s |' "$(awk -v a="$(median "$cfg" "$vmm" maxrss_kib)" -v b="$GUEST_RAM_KIB" \
				'BEGIN { if (a == "-") print "-"; else printf "%d", a - b }')"
		done
		echo
	done
	echo
	echo "QEMU's lines are approximations: QEMU does not report the guest RAM it touched, so"
	echo "its overhead is its peak RSS minus the guest RAM that sluice found resident for the"
	echo "same guest (QEMU's firmware and devices touch somewhat different pages), or minus"
	echo "the whole 256 MiB (an underestimate: the guest does not touch all of it)."

	echo
	echo "### Targets (from the issue; stated, not enforced)"
	echo
	for cfg in ${configs//,/ }; do
		local s q m
		s=$(median "$cfg" sluice wall_ms)
		q=$(median "$cfg" qemu-q35 wall_ms)
		m=$(median "$cfg" qemu-microvm wall_ms)
		echo "- [$cfg] sluice boot-to-poweroff at most 0.5x QEMU q35: $(verdict "$s" "$(awk -v q="$q" 'BEGIN { print (q == "-") ? "-" : q / 2 }')") (ratio $(ratio "$s" "$q"))"
		echo "- [$cfg] sluice no slower than QEMU microvm: $(verdict "$s" "$m") (ratio $(ratio "$s" "$m"))"
		local v
		v=$(median "$cfg" sluice-vmlinux wall_ms)
		[ "$v" = - ] || echo "- [$cfg] (not like for like) sluice booting the vmlinux ELF at most 0.5x QEMU q35 booting the bzImage: $(verdict "$v" "$(awk -v q="$q" 'BEGIN { print (q == "-") ? "-" : q / 2 }')") (ratio $(ratio "$v" "$q"))"
	done
	local o
	for cfg in ${configs//,/ }; do
		o=$(median "$cfg" sluice sluice_overhead_kib)
		echo "- [$cfg] sluice memory overhead at most 5 MiB (5120 KiB): $(verdict "$o" 5120) (median $o KiB)"
	done
}

facts() {
	echo "- command: \`$command_line\`"
	echo "- date: $date_utc; git commit: ${commit:-unknown}; sluice: $SLUICE_VERSION"
	echo "- guest kernel: Debian $KVER (tests/e2e/kernel.sh); initramfs: busybox + bench/boot/init"
	echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
		"$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
	echo "- where the VMMs ran: $bed"
	echo "- test host as the VMMs saw it: $VMM_HOST_NPROC CPUs ($VMM_HOST_CPU), $((VMM_HOST_MEM_KIB / 1024)) MiB, kernel $VMM_HOST_KERNEL"
	echo "- $QEMU_VERSION; peak RSS via $GNU_TIME"
	echo "- exec cost (best of 3 \`--version\` runs): sluice $(fmt "$EXEC_US_sluice" 1000 1) ms, QEMU $(fmt "$EXEC_US_qemu" 1000 1) ms"
	echo "- whole benchmark: $total s wall; runs not ending in a normal power-off: $failed"
}

summary=$(report)
info=$(facts)
echo
echo "=== boot benchmark"
echo "$info"
echo
echo "$summary"

if [ "$record" = 1 ]; then
	out=$BENCH_DIR/results.md
	if [ ! -e "$out" ]; then
		printf '# Boot benchmark results\n\nAppended by bench/boot/run.sh, newest last. See bench/README.md for what is measured and the caveats.\n' >"$out"
	fi
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
