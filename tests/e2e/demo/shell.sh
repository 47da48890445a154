# The demo "scenario": a busybox shell on the console when the demo runs on a
# terminal (sluice.demo=interactive), otherwise the commands in
# /demo-commands, then power-off.
guest() {
	dmesg -n 4 # an interactive console: show warnings and worse
	if grep -q 'sluice.demo=interactive' /proc/cmdline; then
		echo
		echo "sluice demo: busybox shell in a Linux $(uname -r) microVM, $(nproc) CPUs."
		echo "sluice demo: 'exit' or 'poweroff -f' ends it."
		setsid cttyhack sh -l
	else
		echo "sluice demo: running /demo-commands (stdin is not a terminal)"
		while read -r cmd; do
			echo "demo# $cmd"
			sh -c "$cmd" 2>&1
		done </demo-commands
	fi
	poweroff -f
}
