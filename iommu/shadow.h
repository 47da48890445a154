/* SPDX-License-Identifier: MIT */
/*
 * The shadow of a guest I/O address space in a host IOMMU domain (VFIO
 * behind a vIOMMU): a record of exactly what was mapped in the host, and the
 * logic that makes the host match what the guest's tables hold.
 *
 * The host is reached through struct shadow_host_ops (a VFIO container in
 * sluice, a fake in tests). The record keeps one extent per host map call;
 * because a type1v2 container refuses to unmap part of a mapping, an extent
 * is only ever unmapped whole: making a hole in one means unmapping it and
 * mapping back what remains on either side.
 *
 * shadow_sync(first, last, want, n) (see iommu/map_notify.h for `want`;
 * [first, last] is rounded out to whole 4 KiB pages):
 *   - every recorded extent overlapping [first, last] or a `want` entry
 *     whose translation is not exactly what `want` says is unmapped
 *     (whole; the parts of it outside [first, last] and outside every
 *     `want` entry are mapped back with their old translation, coalesced
 *     with adjacent `want` entries that continue it);
 *   - every `want` entry not already recorded with the same iova, gpa and
 *     permissions is mapped; runs of entries contiguous in both iova and gpa
 *     with equal permissions are coalesced into one map call;
 *   - entries and extents that already match cause no host call.
 * All unmaps are issued before any map (the host refuses overlapping maps).
 * A `want` entry with neither read nor write is left unmapped (VFIO cannot
 * map it; a DMA there must fault).
 * Returns 0; -EINVAL, touching nothing, when first > last or `want` is not
 * sorted, non-overlapping, 4 KiB aligned (iova, size, gpa), of size > 0,
 * free of wrap-around (iova and gpa) and made of entries that each touch
 * [first, last]; -ENOMEM, touching nothing; or a host error.
 * On a host error the record still describes the host exactly (failed maps
 * are not recorded, failed unmaps stay recorded), the remaining work is
 * still attempted (except maps that would overlap an extent whose unmap
 * failed: the host would refuse them), and the first error is returned.
 * Cost: a binary search plus O(n + k), k the recorded extents touched (and
 * a memmove of the record's tail when the extent count changes); no
 * allocation once the record's arrays have grown to the working size.
 *
 * Not thread safe: the caller serialises (the vIOMMU calls it under its
 * register lock).
 */
#ifndef SLUICE_IOMMU_SHADOW_H
#define SLUICE_IOMMU_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommu/map_notify.h"

struct shadow_host_ops {
    /* Map [iova, iova + size) to guest-physical gpa (the implementation
     * turns it into host memory). 0 or -errno. */
    int (*map)(void *opaque, uint64_t iova, uint64_t size, uint64_t gpa, bool read, bool write);
    /* Unmap exactly one earlier map call's range. 0 or -errno. */
    int (*unmap)(void *opaque, uint64_t iova, uint64_t size);
    void *opaque;
};

/* syncs: accepted shadow_sync calls; maps / unmaps: successful host calls;
 * remaps: the maps among them that put back part of an extent cut by a sync
 * (its old translation outside the synced range); errors: failed host calls;
 * host_ns: time spent in host calls. */
struct shadow_stats {
    uint64_t syncs, maps, unmaps, remaps, errors;
    uint64_t host_ns; /* time spent in the host calls (map and unmap) */
};

struct shadow;

/* Empty record over `ops` (copied). Returns 0, -EINVAL (an op missing) or
 * -ENOMEM; *out is NULL on error. */
int shadow_create(const struct shadow_host_ops *ops, struct shadow **out)
    __attribute__((warn_unused_result));
/* Free the record without touching the host. NULL accepted. */
void shadow_destroy(struct shadow *s);

int shadow_sync(struct shadow *s, uint64_t first, uint64_t last, const struct iommu_mapping *want,
                size_t n) __attribute__((warn_unused_result));
/* Unmap every recorded extent (failed ones stay recorded). Returns 0 or the
 * first -errno. */
int shadow_clear(struct shadow *s) __attribute__((warn_unused_result));

/* The record, sorted by iova: extent i (i < shadow_count) in *out. */
size_t shadow_count(const struct shadow *s);
void shadow_extent(const struct shadow *s, size_t i, struct iommu_mapping *out);
void shadow_get_stats(const struct shadow *s, struct shadow_stats *out);

/* Does the record translate exactly `want` (the full address space, as the
 * vIOMMU enumerates it)? True when every byte maps identically and nothing
 * else is mapped; for the consistency check after a workload. `want` must be
 * sorted and valid as for shadow_sync (false otherwise); entries without
 * access count as unmapped. Segmentation does not matter. */
bool shadow_matches(const struct shadow *s, const struct iommu_mapping *want, size_t n);

#endif
