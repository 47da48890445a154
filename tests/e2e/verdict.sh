#!/bin/bash
# verdict.sh RESULTS NAME@VMM: print one scenario run's verdict from a
# results directory written by run.sh, with the guest console and VMM
# stderr when it failed. Exits 0 PASS, 1 FAIL (or no verdict), 77 SKIP.
set -eu
[ $# -eq 2 ] || { echo "usage: verdict.sh RESULTS NAME@VMM" >&2; exit 2; }
out=$1/$2

if [ -r "$out.verdict" ]; then
	read -r verdict secs reason <"$out.verdict"
else
	verdict=FAIL secs=- reason="no verdict in $1 (see the test bed output)"
fi
printf '%-4s %-28s %6ss  %s\n' "$verdict" "$2" "$secs" "$reason"
case $verdict in
PASS) exit 0 ;;
SKIP) exit 77 ;;
esac
if [ -r "$out.console" ]; then
	echo "--- $2: guest console (last 100 lines, dmesg dump omitted)"
	sed '/^SLUICE-E2E-DMESG-BEGIN$/,/^SLUICE-E2E-DMESG-END$/d; $a\' "$out.console" | tail -n 100
	echo "--- $2: VMM stderr (last 30 lines)"
	tail -n 30 "$out.stderr"
	echo "--- $2: command: $(cat "$out.argv")"
fi
exit 1
