/* SPDX-License-Identifier: MIT */
/*
 * A generic IOTLB: a bounded, thread-safe cache of successful IOMMU page
 * walks, shared by the vIOMMU models (AMD-Vi now, VT-d later).
 *
 * Key: (domain id, address-space tag, IOVA page). The tag separates address
 * spaces inside one domain (AMD-Vi: host "v1" tables vs guest "v2" tables of
 * a PASID); its meaning belongs to the model. Entries are never keyed by
 * requester id: two devices in one domain share entries, and nothing of one
 * domain is ever returned for another.
 *
 * Pages are any power of two from 4 KiB up (v1 tables encode arbitrary
 * sizes); a lookup probes every page size present in the cache, smallest
 * first. Replacement: set-associative (IOTLB_WAYS per set), round-robin
 * victim per set.
 *
 * Staleness: a miss path reads iotlb_generation() BEFORE walking the guest's
 * tables and passes it to iotlb_insert(), which refuses (-EAGAIN) when any
 * invalidation ran in between, so a walk that raced an invalidation never
 * leaves a stale entry behind. Invalidation is synchronous: once
 * iotlb_invalidate() returns no lookup returns a dropped entry.
 *
 * Thread safety: every call may run concurrently (an internal rwlock:
 * lookups share it, inserts and invalidations take it exclusively). The
 * IOTLB takes no other lock, so it is always innermost in a lock order.
 */
#ifndef SLUICE_IOMMU_IOTLB_H
#define SLUICE_IOMMU_IOTLB_H

#include <stdbool.h>
#include <stdint.h>

#define IOTLB_WAYS 4u
#define IOTLB_MIN_PAGE_SHIFT 12u
#define IOTLB_MAX_PAGE_SHIFT 63u
#define IOTLB_DEFAULT_CAPACITY 4096u
/* Wildcard for the domain or tag of an invalidation. */
#define IOTLB_ANY UINT32_MAX

struct iotlb;

struct iotlb_entry {
    uint32_t domain;
    uint32_t tag;          /* must not be IOTLB_ANY */
    uint64_t iova;         /* any address inside the page */
    uint64_t gpa;          /* translation of `iova` (page offset kept) */
    unsigned page_shift;   /* IOTLB_MIN_PAGE_SHIFT..IOTLB_MAX_PAGE_SHIFT */
    bool read, write;      /* permissions the walk granted */
};

struct iotlb_stats {
    uint64_t hits, misses, inserts, evictions, stale_inserts, invalidations;
};

/* A cache of about `capacity` entries (rounded up to a power-of-two number
 * of sets; 0 = IOTLB_DEFAULT_CAPACITY). Returns 0, -EINVAL or -ENOMEM. */
int iotlb_create(unsigned capacity, struct iotlb **out) __attribute__((warn_unused_result));
void iotlb_destroy(struct iotlb *t);

/* On a hit fill *out (gpa = translation of `iova` itself, iova = `iova`)
 * and return true. */
bool iotlb_lookup(struct iotlb *t, uint32_t domain, uint32_t tag, uint64_t iova,
                  struct iotlb_entry *out);

/* Current invalidation generation (see the staleness rule above). */
uint64_t iotlb_generation(struct iotlb *t);

/* Cache `e` unless an invalidation ran since `gen` was read. Replaces an
 * entry with the same key. Returns 0, -EAGAIN (stale: not cached) or -EINVAL. */
int iotlb_insert(struct iotlb *t, const struct iotlb_entry *e, uint64_t gen);

/* Drop every entry of `domain` (or IOTLB_ANY) and `tag` (or IOTLB_ANY) whose
 * page overlaps [first, last] (inclusive). */
void iotlb_invalidate(struct iotlb *t, uint32_t domain, uint32_t tag, uint64_t first,
                      uint64_t last);
static inline void iotlb_invalidate_domain(struct iotlb *t, uint32_t domain)
{
    iotlb_invalidate(t, domain, IOTLB_ANY, 0, UINT64_MAX);
}
static inline void iotlb_invalidate_all(struct iotlb *t)
{
    iotlb_invalidate(t, IOTLB_ANY, IOTLB_ANY, 0, UINT64_MAX);
}

/* Number of valid entries (tests, statistics). */
unsigned iotlb_count(struct iotlb *t);
void iotlb_get_stats(struct iotlb *t, struct iotlb_stats *s);

#endif
