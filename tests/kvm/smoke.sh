#!/bin/sh
# Smoke test of the sluice binary on this host's /dev/kvm with a tiny payload
# (tests/kvm/payload.S). Usage: smoke.sh SLUICE PAYLOAD
# Exits 77 (SKIP) when /dev/kvm is not usable here.
set -u
SLUICE=$1
PAYLOAD=$2
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo "SKIP: /dev/kvm is not accessible on this machine"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# run NAME EXPECTED_STATUS CMDLINE [EXTRA ARGS...]: boots the payload.
run() {
    name=$1 expected=$2 cmdline=$3
    shift 3
    timeout 60 "$SLUICE" --kernel "$PAYLOAD" --memory 64M --cmdline "$cmdline" \
        --serial "file=$tmp/$name.out" --log-level info "$@" </dev/null >"$tmp/$name.stdout" \
        2>"$tmp/$name.err"
    status=$?
    if [ "$status" -ne "$expected" ]; then
        echo "FAIL $name: exit status $status, expected $expected"
        sed 's/^/  stderr: /' "$tmp/$name.err"
        sed 's/^/  serial: /' "$tmp/$name.out" 2>/dev/null
        failures=$((failures + 1))
        return 1
    fi
    return 0
}

# expect NAME FILE PATTERN: FILE (out or err) of run NAME contains PATTERN.
expect() {
    if ! grep -q -- "$3" "$tmp/$1.$2"; then
        echo "FAIL $1: '$3' not found in $2"
        sed "s/^/  $2: /" "$tmp/$1.$2"
        failures=$((failures + 1))
    fi
}

if run poweroff 0 o; then
    expect poweroff out "sluice-smoke: OK"
    if grep -q "sluice-smoke: FAIL" "$tmp/poweroff.out"; then
        echo "FAIL poweroff: unknown PIO/MMIO did not read all-ones"
        failures=$((failures + 1))
    fi
    expect poweroff err "boot-timer"
    expect poweroff err "unhandled pio read of size 1 at 0x1234"
    expect poweroff err "unhandled mmio read of size 4 at 0xd0000000"
fi
run panic 3 p && expect panic err "panic"
run reset 0 r && expect reset err "reboot"
run kbd_reset 0 k && expect kbd_reset err "reboot"
# PVM hosts report the emulation failure as a KVM internal error instead.
run triple_fault 1 t && expect triple_fault err "triple fault\|internal error" && expect triple_fault err "rip="

# Serial input: bytes on stdin reach the guest, which echoes them back.
printf 'hello-sluice.' >"$tmp/input"
timeout 60 "$SLUICE" --kernel "$PAYLOAD" --memory 64M --cmdline e --serial stdio \
    <"$tmp/input" >"$tmp/echo.out" 2>"$tmp/echo.err"
status=$?
if [ "$status" -ne 0 ] || ! grep -q "hello-sluice\." "$tmp/echo.out"; then
    echo "FAIL echo: status $status"
    sed 's/^/  out: /' "$tmp/echo.out"
    sed 's/^/  err: /' "$tmp/echo.err"
    failures=$((failures + 1))
fi

# The other console backends: a pty (its path is announced) and none at all.
for mode in pty off; do
    timeout 60 "$SLUICE" --kernel "$PAYLOAD" --memory 64M --cmdline o --serial "$mode" \
        </dev/null >"$tmp/$mode.out" 2>"$tmp/$mode.err"
    status=$?
    if [ "$status" -ne 0 ] || [ -s "$tmp/$mode.out" ]; then
        echo "FAIL serial $mode: status $status, stdout must stay empty"
        sed 's/^/  err: /' "$tmp/$mode.err"
        failures=$((failures + 1))
    fi
done
grep -q "COM1 is connected to /dev/pts/" "$tmp/pty.err" ||
    { echo "FAIL serial pty: path not announced"; failures=$((failures + 1)); }

# More output than sluice buffers, into a pty nobody opened: dropped, counted,
# and the guest's power-off still ends sluice.
timeout -k 5 60 "$SLUICE" --kernel "$PAYLOAD" --memory 64M --cmdline f --serial pty \
    </dev/null >"$tmp/flood.out" 2>"$tmp/flood.err"
status=$?
if [ "$status" -ne 0 ] || ! grep -q "console bytes were dropped" "$tmp/flood.err"; then
    echo "FAIL flood into an unread pty: status $status"
    sed 's/^/  err: /' "$tmp/flood.err"
    failures=$((failures + 1))
fi

# SIGTERM while the guest waits for input: clean stop with status 128+15.
mkfifo "$tmp/term.in"
"$SLUICE" --kernel "$PAYLOAD" --memory 64M --cmdline e --serial stdio \
    --log-level info <"$tmp/term.in" >"$tmp/term.out" 2>"$tmp/term.err" &
pid=$!
exec 3>"$tmp/term.in" # keep the guest's input open (no EOF) until sluice is gone
for _ in 1 2 3 4 5 6 7 8 9 10; do
    grep -q "echo ready" "$tmp/term.out" 2>/dev/null && break
    sleep 0.5
done
kill -TERM "$pid"
wait "$pid"
status=$?
exec 3>&-
if [ "$status" -ne 143 ] || ! grep -q "received signal 15" "$tmp/term.err"; then
    echo "FAIL sigterm: status $status, expected 143"
    sed 's/^/  err: /' "$tmp/term.err"
    failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures smoke check(s) failed"
    exit 1
fi
echo "all smoke checks passed"
