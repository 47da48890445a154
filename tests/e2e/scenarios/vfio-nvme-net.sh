# vfio-nvme-net: the VFIO test bed's NVMe controller and e1000e NIC passed
# through (no vIOMMU). The guest's nvme driver finds the namespace (the
# test bed's 64 MiB image, pattern "nvme"), the first 4 MiB read back as
# the pattern (O_DIRECT), 4 MiB of this scenario's pattern written at its
# own offset read back (O_DIRECT) and land in the image, which the check
# reads from the test host after the VMM exited. The e1000e gets a link,
# pings its peer (the test host's virtio-net) and sends 4 MiB over TCP to
# a sink on the test host, which confirms its sha256. Both drivers' MSI-X
# vectors fire (PCI-MSIX chips in /proc/interrupts). Afterwards both can be
# passed through again (vfio-probe.py).
SCENARIO_TESTBED=vfio
SCENARIO_VFIO="nvme nic"
SCENARIO_CPUS=2
# Guest RAM on 2 MiB pages: the test bed's QEMU 7.2 drops an e1000e TX
# buffer that crosses a page its emulated IOMMU maps with 4 KiB pages, which
# is what sluice's 4 KiB guest RAM gets from the test host's VFIO (docs/vfio.md).
SCENARIO_HUGEPAGES=1
SCENARIO_MEMORY=512M
SCENARIO_TIMEOUT=600
SCENARIO_VMMS=sluice,qemu-q35

VFIO_TAG=vfio-nvme-net VFIO_WRITE_AT=16384 # 4 MiB of its pattern at 8 MiB (each scenario its own)
VFIO_NET_PORT=5001 VFIO_NET_MIB=4

host_setup() { vfio_host_setup; }
host_teardown() { vfio_host_teardown; }
guest() { vfio_guest_nvme_net; }

check() {
	local got probe
	expect_normal_run || return 1
	got=$(vfio_expect_nvme_net PCI-MSIX) || { echo "$got"; return 1; }
	expect_clean_dmesg "$PCI_DMESG_BAD" || return 1
	probe=$(vfio_expect_still_bound nvme nic) || { echo "$probe"; return 1; }
	echo "$got; passable again: $(echo "$probe" | wc -l) devices"
}
