/* SPDX-License-Identifier: MIT */
/*
 * VFIO host side, private to devices/vfio/: the type1 container, its IOMMU
 * groups and opened devices (vfio_type1.c, vfio_dev.c), and the sysfs
 * lookups that explain why a device cannot be opened (vfio_sysfs.c).
 *
 * Threading: groups and the device list change only in open/close, which
 * are never concurrent with anything (see vfio.h).
 */
#ifndef SLUICE_DEVICES_VFIO_VFIO_INTERNAL_H
#define SLUICE_DEVICES_VFIO_VFIO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/vfio/vfio.h"

#define VFIO_SYSFS_ROOT "/sys"
#define VFIO_CONTAINER_PATH "/dev/vfio/vfio"
#define VFIO_IOMMUFD_PATH "/dev/iommu"
/* "DDDD:BB:DD.F" and its NUL */
#define VFIO_PCI_NAME_LEN 13

/* One opened IOMMU group (/dev/vfio/N), shared by the devices of the group
 * that sluice opens; attached to exactly one domain. */
struct vfio_group {
    int number;
    int fd;
    unsigned refs;
    struct vfio_domain *domain;
    struct vfio_group *next;
};

struct vfio_domain {
    int container_fd;
    bool iommu_set;  /* VFIO_SET_IOMMU done: the first group is attached */
    unsigned ngroups;
};

/*
 * Attach IOMMU group `number` to `d`: open /dev/vfio/N (or take another
 * reference when a device of the group is already open), check it is
 * viable, set its container and, for the first group, the IOMMU type.
 * `bdf` and `sysfs_root` only serve the error line. Returns the group or
 * NULL with -errno in *ret and one line in err.
 */
struct vfio_group *vfio_group_get(struct vfio_domain *d, int number, const char *sysfs_root,
                                  const char *bdf, int *ret, char *err, size_t errlen);
/* Drop a reference; the last one detaches the group from its container. */
void vfio_group_put(struct vfio_group *g);

/*
 * Open with the container node at `path` (VFIO_CONTAINER_PATH normally;
 * tests pass other files to reach the error paths). See vfio_domain_open.
 */
int vfio_domain_open_at(const char *path, struct vfio_domain **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* vfio_dev_open with the sysfs tree at `sysfs_root`. */
int vfio_dev_open_at(struct vfio_domain *d, const char *sysfs_root, const char *spec,
                     struct vfio_dev **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Parse a PCI address "DDDD:BB:DD.F" or "BB:DD.F" (hex, either case) into
 * the canonical lower-case "DDDD:BB:DD.F" (out >= VFIO_PCI_NAME_LEN).
 * Returns 0 or -EINVAL.
 */
int vfio_pci_addr_parse(const char *s, char *out, size_t outlen)
    __attribute__((warn_unused_result));

/*
 * Everything sysfs can tell before /dev/vfio/N is opened, for device `bdf`
 * (canonical) under `sysfs_root`: its IOMMU group number into *group, that
 * it is bound to a vfio driver, and that every other device of the group is
 * bound to a vfio driver, pci-stub or pcieport, or to nothing. Returns 0, or
 * with one line in err: -ENODEV no iommu_group link (host IOMMU off),
 * -EPERM device not bound to vfio-pci, -EBUSY group not viable (names the
 * device and its driver).
 */
int vfio_sysfs_check(const char *sysfs_root, const char *bdf, int *group, char *err,
                     size_t errlen) __attribute__((warn_unused_result));

/*
 * Only the viability part of vfio_sysfs_check, for group `group`: 0 when
 * sysfs finds nothing wrong, else -EBUSY with one line naming the device.
 */
int vfio_sysfs_group_viable(const char *sysfs_root, int group, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Fill `out` (index already set) from a VFIO_DEVICE_GET_REGION_INFO answer
 * of `len` bytes at `info` (struct vfio_region_info and its capability
 * chain): size, flags, and the mmap areas - the sparse mmap capability's
 * areas that lie inside the region (at most VFIO_REGION_MAX_MMAP_AREAS), or
 * the whole region when it is mmappable without one. A malformed chain or
 * sparse capability leaves no mmap areas (the whole region is trapped). *offset gets the region's offset in the device fd.
 */
void vfio_region_from_info(const void *info, size_t len, struct vfio_region *out,
                           uint64_t *offset);

/* The commands that bind an unbound `bdf` to vfio-pci (driver_override,
 * drivers_probe), for error lines. */
void vfio_sysfs_bind_hint(const char *sysfs_root, const char *bdf, char *buf, size_t len);

#endif
