#!/bin/sh
# Bad user input to the sluice binary: each case must exit with status 2 and
# print exactly one line on stderr naming the problem, and leave nothing
# behind (an existing --serial file keeps its content).
# Usage: errors.sh SLUICE. Cases that need /dev/kvm are skipped without it.
set -u
SLUICE=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 ran=0 skipped=0

# expect_usage_error PATTERN ARGS...: status 2, one stderr line matching PATTERN.
expect_usage_error() {
    pattern=$1
    shift
    ran=$((ran + 1))
    "$SLUICE" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
    status=$?
    lines=$(wc -l <"$tmp/err")
    if [ "$status" -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -q -- "$pattern" "$tmp/err"; then
        echo "FAIL: sluice $*"
        echo "  status $status (want 2), $lines stderr line(s) (want 1), want /$pattern/:"
        sed 's/^/  | /' "$tmp/err"
        failures=$((failures + 1))
    fi
}

have_kvm() { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

# A bzImage-shaped file: boot_flag, "HdrS", the given protocol version.
make_bzimage() {
    dd if=/dev/zero of="$1" bs=1024 count=4 2>/dev/null
    printf '\001' | dd of="$1" bs=1 seek=$((0x1f1)) conv=notrunc 2>/dev/null
    printf '\125\252' | dd of="$1" bs=1 seek=$((0x1fe)) conv=notrunc 2>/dev/null
    printf '\353\142' | dd of="$1" bs=1 seek=$((0x200)) conv=notrunc 2>/dev/null # jmp: header to 0x264
    printf 'HdrS' | dd of="$1" bs=1 seek=$((0x202)) conv=notrunc 2>/dev/null
    printf "$2" | dd of="$1" bs=1 seek=$((0x206)) conv=notrunc 2>/dev/null
}

echo "not a kernel" >"$tmp/text"
make_bzimage "$tmp/old-bzimage" '\012\002' # protocol 2.10

expect_usage_error "no kernel given"
expect_usage_error "unknown option '--frob'" --kernel "$tmp/text" --frob
expect_usage_error "no such file" --kernel "$tmp/missing"
expect_usage_error "--initrd .*no such file" --kernel "$tmp/text" --initrd "$tmp/missing"
expect_usage_error "--cpus 0" --kernel "$tmp/text" --cpus 0
expect_usage_error "--cpus 1025" --kernel "$tmp/text" --cpus 1025
expect_usage_error "APIC ID 255 needs interrupt remapping: add --iommu amd" --kernel "$tmp/text" \
    --cpus 256
expect_usage_error "APIC ID 300 needs interrupt remapping" --kernel "$tmp/text" \
    --apic-ids 0,1,2,300 --iommu amd,intremap=off
expect_usage_error "APIC ID 7 is given twice" --kernel "$tmp/text" --apic-ids 0,7,7
expect_usage_error "--topology makes 6 vCPUs" --kernel "$tmp/text" --topology sockets=2,cores=3 \
    --cpus 4
expect_usage_error "--memory 1M" --kernel "$tmp/text" --memory 1M
expect_usage_error "more than this host" --kernel "$tmp/text" --memory 1000G
expect_usage_error "does not exist.*modprobe" --kernel "$tmp/text" --kvm-device "$tmp/missing"
expect_usage_error "not a KVM device" --kernel "$tmp/text" --kvm-device /dev/null
expect_usage_error "--disk .*no such file" --kernel "$tmp/text" --disk "path=$tmp/missing.img"
expect_usage_error "unknown key 'cache'" --kernel "$tmp/text" --disk "path=$tmp/text,cache=none"
expect_usage_error "id 'a' is used twice" --kernel "$tmp/text" --disk "path=$tmp/text,id=a" \
    --disk "path=$tmp/old-bzimage,id=a"
expect_usage_error "--net: tap=NAME is required" --kernel "$tmp/text" --net mac=52:54:00:00:00:01
expect_usage_error "--rng: unknown key" --kernel "$tmp/text" --rng=colour=blue
expect_usage_error "vfio=01:00: not a PCI address" --kernel "$tmp/text" --device vfio=01:00
expect_usage_error "vfio=0000:01:00.0: given twice" --kernel "$tmp/text" \
    --device vfio=01:00.0 --device vfio=0000:01:00.0
expect_usage_error "iommu=on but there is no IOMMU" --kernel "$tmp/text" \
    --device vfio=01:00.0,iommu=on

if have_kvm; then
    echo "keep me" >"$tmp/console"
    expect_usage_error "not a bzImage or ELF" --kernel "$tmp/text" --serial "file=$tmp/console"
    if [ "$(cat "$tmp/console")" != "keep me" ]; then
        echo "FAIL: a failed start clobbered the --serial file"
        failures=$((failures + 1))
    fi
    expect_usage_error "too old for 64-bit entry" --kernel "$tmp/old-bzimage"
    expect_usage_error "--serial file=.*cannot open" --kernel "$SLUICE_PAYLOAD" \
        --serial "file=$tmp/no/such/dir/console"
    # a tap that cannot be attached: a name no interface has, without CAP_NET_ADMIN
    # to create it, or a name that is not a tap at all (the loopback device)
    expect_usage_error "tap lo: .*not a tap" --kernel "$SLUICE_PAYLOAD" --serial off --net tap=lo
    # an APIC ID beyond KVM_CAP_MAX_VCPU_ID (a few thousand on any host)
    expect_usage_error "APIC ID 4000000: this host's KVM allows vCPU (APIC) IDs below" \
        --kernel "$tmp/text" --apic-ids 0,4000000 --iommu amd
else
    skipped=5
    echo "note: 5 cases need /dev/kvm and were skipped"
fi

echo "$ran cases, $failures failed, $skipped skipped"
[ "$failures" -eq 0 ]
