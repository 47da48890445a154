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
 * shadow_sync(first, last, want, n) (see iommu/map_notify.h for `want`):
 *   - every recorded extent overlapping [first, last] whose translation is
 *     not exactly what `want` says is unmapped (whole; the parts of it
 *     outside [first, last] and outside every `want` entry are mapped back
 *     with their old translation);
 *   - every `want` entry not already recorded with the same iova, gpa and
 *     permissions is mapped; runs of entries contiguous in both iova and gpa
 *     with equal permissions are coalesced into one map call;
 *   - entries and extents that already match cause no host call.
 * On a host error the record still describes the host exactly (failed maps
 * are not recorded, failed unmaps stay recorded), the remaining work is
 * still attempted, and the first error is returned.
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

struct shadow_stats {
    uint64_t syncs, maps, unmaps, remaps, errors;
};

struct shadow;

/* Empty record over `ops` (copied). Returns 0 or -ENOMEM. */
int shadow_create(const struct shadow_host_ops *ops, struct shadow **out)
    __attribute__((warn_unused_result));
/* Free the record without touching the host. NULL accepted. */
void shadow_destroy(struct shadow *s);

int shadow_sync(struct shadow *s, uint64_t first, uint64_t last, const struct iommu_mapping *want,
                size_t n) __attribute__((warn_unused_result));
/* Unmap every recorded extent. Returns 0 or the first -errno. */
int shadow_clear(struct shadow *s) __attribute__((warn_unused_result));

/* The record, sorted by iova: extent i (i < shadow_count) in *out. */
size_t shadow_count(const struct shadow *s);
void shadow_extent(const struct shadow *s, size_t i, struct iommu_mapping *out);
void shadow_get_stats(const struct shadow *s, struct shadow_stats *out);

/* Does the record translate exactly `want` (the full address space, as the
 * vIOMMU enumerates it)? True when every byte maps identically and nothing
 * else is mapped; for the consistency check after a workload. */
bool shadow_matches(const struct shadow *s, const struct iommu_mapping *want, size_t n);

#endif
