# mem-6g: 6 GiB; the RAM above 4 GiB is visible to the guest.
SCENARIO_CPUS=1
SCENARIO_MEMORY=6G
SCENARIO_TIMEOUT=240

guest() {
	mark MEMTOTAL-KB "$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo)"
	mark E820-TOP "$(dmesg | sed -n 's/.*BIOS-e820: \[mem [^-]*-\(0x[0-9a-f]*\)\] usable.*/\1/p' | tail -n 1)"
}

check() {
	local kb
	kb=$(marker MEMTOTAL-KB)
	expect_marker MEMTOTAL-KB && expect_normal_run || return 1
	# 5 GiB = 5242880 kB; the kernel reserves some of the 6 GiB for itself.
	[ "$kb" -gt 5242880 ] || fail "MemTotal is $kb kB, expected > 5 GiB (highest usable e820 end $(marker E820-TOP))"
	echo "MemTotal $kb kB"
}
