/* SPDX-License-Identifier: MIT */
/*
 * Map notifications (architecture.md, interface 4): a vIOMMU tells a
 * listener - the VFIO shadow of one passthrough device - what the guest
 * maps for that device, so the host IOMMU can hold the same translations.
 *
 * The vIOMMU calls sync() whenever the guest tells it (invalidation
 * commands, device table changes, the IOMMU being enabled or disabled) that
 * translations of the listener's requester may have changed in [first, last]
 * (inclusive; [0, UINT64_MAX] after a full change). `want` lists, sorted by
 * iova and non-overlapping, every translation the guest's tables hold that
 * touches [first, last]: a leaf page or identity range is listed whole, so
 * an entry may reach outside [first, last] (a 2 MiB page invalidated through
 * one 4 KiB address). Entries always lie in guest RAM: the vIOMMU reports a
 * mapping of anything else as a fault event of its own and leaves it out.
 * After sync() returns, the host must translate exactly `want` inside
 * [first, last] and the union of [first, last] with the listed entries.
 *
 * sync() runs on the thread that processes the guest's commands (a vCPU),
 * with the vIOMMU's register lock held, before the command that follows
 * (COMPLETION_WAIT) runs: it must not call back into the vIOMMU. Returns 0
 * or -errno (the vIOMMU logs it, rate-limited; the guest is not told).
 */
#ifndef SLUICE_IOMMU_MAP_NOTIFY_H
#define SLUICE_IOMMU_MAP_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iommu_mapping {
    uint64_t iova;
    uint64_t size;          /* > 0, 4 KiB multiple; iova + size does not wrap */
    uint64_t gpa;           /* guest-physical, inside one RAM region */
    bool read, write;
};

struct iommu_map_listener {
    /* The requester id (bus << 8 | devfn) the device has now (the guest may
     * renumber buses, so it is asked every time). */
    uint16_t (*requester_id)(void *opaque);
    int (*sync)(void *opaque, uint64_t first, uint64_t last, const struct iommu_mapping *want,
                size_t n);
    void *opaque;
};

#endif
