#!/usr/bin/env python3
"""vfio-probe.py BDF: can this PCI device be passed through right now?

Does what a VMM does first, through the VFIO container/group interface:
opens /dev/vfio/vfio and the device's group (/dev/vfio/N, from sysfs),
checks the group is viable, attaches it to a new type1 container, gets the
device fd, resets the device when it supports it and reads its vendor and
device IDs through the config-space region. Everything is released at
exit. Prints one line

    VFIO-PROBE 0000:00:01.0 group=1 viable ids=1b36:0010 reset=ok

and exits 0, or prints what failed (e.g. the group is still held by a VMM
that did not release it: EBUSY) and exits 1. Used by the VFIO scenarios'
checks (check.sh, vfio_expect_still_bound) after the VMM exited.
"""
import errno
import fcntl
import os
import struct
import sys

VFIO_TYPE = ord(";")
VFIO_BASE = 100


def _io(nr):
    return (VFIO_TYPE << 8) | (VFIO_BASE + nr)


VFIO_GET_API_VERSION = _io(0)
VFIO_CHECK_EXTENSION = _io(1)
VFIO_SET_IOMMU = _io(2)
VFIO_GROUP_GET_STATUS = _io(3)
VFIO_GROUP_SET_CONTAINER = _io(4)
VFIO_GROUP_GET_DEVICE_FD = _io(6)
VFIO_DEVICE_GET_INFO = _io(7)
VFIO_DEVICE_GET_REGION_INFO = _io(8)
VFIO_DEVICE_RESET = _io(11)
VFIO_API_VERSION = 0
VFIO_TYPE1_IOMMU = 1
VFIO_GROUP_FLAGS_VIABLE = 1
VFIO_DEVICE_FLAGS_RESET = 1
VFIO_PCI_CONFIG_REGION_INDEX = 7


def probe(bdf):
    link = f"/sys/bus/pci/devices/{bdf}/iommu_group"
    if not os.path.exists(link):
        return f"{bdf}: no IOMMU group"
    group = os.path.basename(os.readlink(link))
    fds = []
    try:
        container = os.open("/dev/vfio/vfio", os.O_RDWR)
        fds.append(container)
        if fcntl.ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION:
            return f"{bdf}: unknown VFIO API version"
        if not fcntl.ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU):
            return f"{bdf}: no type1 IOMMU support"
        gfd = os.open(f"/dev/vfio/{group}", os.O_RDWR)
        fds.append(gfd)
        status = bytearray(struct.pack("II", 8, 0))
        fcntl.ioctl(gfd, VFIO_GROUP_GET_STATUS, status)
        if not struct.unpack("II", status)[1] & VFIO_GROUP_FLAGS_VIABLE:
            return f"{bdf}: group {group} is not viable (a device in it is bound to a host driver)"
        fcntl.ioctl(gfd, VFIO_GROUP_SET_CONTAINER, struct.pack("i", container))
        fcntl.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)
        # A mutable buffer makes fcntl.ioctl return the ioctl's result (the
        # device fd); with bytes it would return a copy of the buffer.
        dfd = fcntl.ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bytearray(bdf.encode() + b"\0"))
        fds.append(dfd)
        info = bytearray(struct.pack("IIIIII", 24, 0, 0, 0, 0, 0))
        fcntl.ioctl(dfd, VFIO_DEVICE_GET_INFO, info)
        flags = struct.unpack("IIIIII", info)[1]
        reset = "unsupported"
        if flags & VFIO_DEVICE_FLAGS_RESET:
            fcntl.ioctl(dfd, VFIO_DEVICE_RESET)
            reset = "ok"
        region = bytearray(struct.pack("IIIIQQ", 32, 0, VFIO_PCI_CONFIG_REGION_INDEX, 0, 0, 0))
        fcntl.ioctl(dfd, VFIO_DEVICE_GET_REGION_INFO, region)
        offset = struct.unpack("IIIIQQ", region)[5]
        vendor, device = struct.unpack("<HH", os.pread(dfd, 4, offset))
        return (f"VFIO-PROBE {bdf} group={group} viable ids={vendor:04x}:{device:04x} "
                f"reset={reset}")
    except OSError as e:
        hint = " (still held by another process?)" if e.errno == errno.EBUSY else ""
        return f"{bdf}: {e.strerror or e}{hint}"
    finally:
        for fd in reversed(fds):
            os.close(fd)


def main():
    if len(sys.argv) != 2:
        print("usage: vfio-probe.py BDF (e.g. 0000:00:01.0)", file=sys.stderr)
        return 2
    line = probe(sys.argv[1])
    print(line)
    return 0 if line.startswith("VFIO-PROBE ") else 1


if __name__ == "__main__":
    sys.exit(main())
