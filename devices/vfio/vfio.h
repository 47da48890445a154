/* SPDX-License-Identifier: MIT */
/*
 * VFIO, host side: host DMA domains and opened passthrough devices.
 *
 * A vfio_domain is one host I/O address space that devices are attached to
 * and that IOVA -> host memory mappings are made in. Today it is a VFIO
 * type1 container (/dev/vfio/vfio, VFIO_TYPE1v2_IOMMU) and devices are
 * opened through their IOMMU group (/dev/vfio/N). The backend sits behind
 * this header only: an iommufd backend (/dev/iommu, an IOAS per domain,
 * devices through /dev/vfio/devices/vfioX cdevs) can be added in its own
 * file and chosen in vfio_domain_open() when the host has it, without
 * touching the device model (vfio_pci.h), which sees a device only through
 * struct vfio_dev_ops.
 *
 * Order: vfio_domain_open -> vfio_dev_open (one or more; the first one
 * attached to a type1 container sets its IOMMU type, so maps come after it)
 * -> vfio_domain_map/unmap ... -> vfio_dev_close (every device) ->
 * vfio_domain_close. All functions return 0 or -errno; on failure those
 * with an `err` buffer write one line there that names the cause and the
 * fix, and leave nothing open.
 *
 * Thread safety: map/unmap may be called from any thread (the kernel
 * serialises); a vfio_dev's ops are safe concurrently for different
 * regions/irq indexes; open/close are not concurrent with anything.
 */
#ifndef SLUICE_DEVICES_VFIO_VFIO_H
#define SLUICE_DEVICES_VFIO_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vfio_domain;
struct vfio_dev;

/* Sparse mmap areas of one region (VFIO_REGION_INFO_CAP_SPARSE_MMAP, or the
 * whole region when it is mmappable without that capability). */
#define VFIO_REGION_MAX_MMAP_AREAS 8

struct vfio_region {
    unsigned index;          /* VFIO_PCI_*_REGION_INDEX */
    uint32_t flags;          /* VFIO_REGION_INFO_FLAG_{READ,WRITE,MMAP} */
    uint64_t size;           /* 0: the region does not exist */
    unsigned nmmap;
    struct { uint64_t offset, size; } mmap[VFIO_REGION_MAX_MMAP_AREAS];
};

/* What the PCI device model needs from a device. The real implementation
 * (vfio_dev_ops_of) issues ioctls/pread/pwrite/mmap on the device fd;
 * tests provide a fake. */
struct vfio_dev_ops {
    /* Region `index` (0 and size 0 when it does not exist). */
    int (*region_info)(void *opaque, unsigned index, struct vfio_region *out);
    /* Access len bytes at `off` inside region `index`; return 0 or -errno
     * (a short transfer is -EIO). */
    int (*region_read)(void *opaque, unsigned index, uint64_t off, void *buf, size_t len);
    int (*region_write)(void *opaque, unsigned index, uint64_t off, const void *buf, size_t len);
    /* mmap [off, off + size) of region `index` shared read/write; NULL on
     * failure. region_munmap undoes it. */
    void *(*region_mmap)(void *opaque, unsigned index, uint64_t off, uint64_t size);
    void (*region_munmap)(void *opaque, void *addr, uint64_t size);
    /* Number of interrupts of irq index `index` (VFIO_PCI_{INTX,MSI,MSIX}_IRQ_INDEX),
     * 0 when the device has none. */
    unsigned (*irq_count)(void *opaque, unsigned index);
    /* VFIO_DEVICE_SET_IRQS, ACTION_TRIGGER with eventfds: vectors start ..
     * start + count - 1 signal fds[i] (-1: that vector off). count 0 turns
     * the whole index off (DATA_NONE). Enabling an index (MSI/MSI-X) with a
     * different vector count than it has now is done by the implementation
     * as the kernel requires. */
    int (*set_irq_fds)(void *opaque, unsigned index, unsigned start, unsigned count,
                       const int *fds);
    /* INTx: ACTION_UNMASK with an eventfd (-1: remove): a write to `fd`
     * unmasks the host's INTx after the guest's EOI. */
    int (*set_intx_unmask_fd)(void *opaque, int fd);
    /* VFIO_DEVICE_RESET (function-level or bus reset, whatever the host
     * offers). -ENOTTY when the device cannot be reset. */
    int (*reset)(void *opaque);
    void *opaque;
};

/* Open a host DMA domain (a type1 container). Errors: /dev/vfio/vfio
 * missing (vfio module not loaded: "modprobe vfio-pci"), permission
 * denied, unsupported API or no type1v2 support. */
int vfio_domain_open(struct vfio_domain **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Close; the kernel drops every mapping. NULL accepted. Devices first. */
void vfio_domain_close(struct vfio_domain *d);

/* Map [iova, iova + size) to host memory at `vaddr` (pinned by the kernel)
 * with the given permissions. -EEXIST: overlaps a mapping; -ENOMEM: pinning
 * failed (memlock). size and addresses 4 KiB aligned. */
int vfio_domain_map(struct vfio_domain *d, uint64_t iova, uint64_t size, void *vaddr, bool read,
                    bool write) __attribute__((warn_unused_result));
/* Unmap exactly a range that earlier maps cover whole (type1v2 refuses to
 * split a mapping). */
int vfio_domain_unmap(struct vfio_domain *d, uint64_t iova, uint64_t size)
    __attribute__((warn_unused_result));

/* Would pinning `bytes` more fit the memlock limit (RLIMIT_MEMLOCK, or
 * CAP_IPC_LOCK)? 0, or -ENOMEM with a line saying the limit and the fix
 * ("ulimit -l" / run with CAP_IPC_LOCK). */
int vfio_check_memlock(uint64_t bytes, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Open the device `spec` - a PCI address "DDDD:BB:DD.F" or "BB:DD.F", or
 * its sysfs directory (/sys/bus/pci/devices/...) - attach its group to `d`
 * and get the device fd. Errors, each naming the device: no such device;
 * no IOMMU group (host IOMMU off: "intel_iommu=on / amd_iommu=on"); not
 * bound to vfio-pci (how to bind it); group not viable (which other device
 * of the group is bound to which driver); /dev/vfio/N missing or not
 * accessible; device or group already in use (-EBUSY).
 */
int vfio_dev_open(struct vfio_domain *d, const char *spec, struct vfio_dev **out, char *err,
                  size_t errlen) __attribute__((warn_unused_result));
void vfio_dev_close(struct vfio_dev *dev);
/* "0000:01:00.0" */
const char *vfio_dev_name(const struct vfio_dev *dev);
/* The device's ops (opaque = dev). */
struct vfio_dev_ops vfio_dev_ops_of(struct vfio_dev *dev);

/* Resolve `spec` (see vfio_dev_open) under `sysfs_root` ("/sys" normally)
 * to the canonical "DDDD:BB:DD.F" name in out (>= 13 bytes). Returns 0,
 * -EINVAL (not a PCI address or path) or -ENOENT (no such device). Exposed
 * for tests, which pass a fake sysfs tree. */
int vfio_resolve_device(const char *sysfs_root, const char *spec, char *out, size_t outlen)
    __attribute__((warn_unused_result));

#endif
