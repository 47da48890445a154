/* SPDX-License-Identifier: MIT */
/*
 * Result helpers shared by the AMD-Vi v1 and v2 walkers (private to
 * amdvi_walk_v1.c / amdvi_walk_v2.c).
 */
#ifndef SLUICE_IOMMU_AMD_AMDVI_WALK_INTERNAL_H
#define SLUICE_IOMMU_AMD_AMDVI_WALK_INTERNAL_H

#include <string.h>

#include "iommu/amd/amdvi_walk.h"

/* Start a walk: nothing translated, every permission still granted. */
static inline void amdvi_walk_reset(struct amdvi_walk_result *r)
{
    memset(r, 0, sizeof(*r));
    r->read = true;
    r->write = true;
}

/* Fail with `status` at the entry `addr` of a level-`level` table. */
static inline int amdvi_walk_fail(struct amdvi_walk_result *r, int status, uint64_t addr,
                                  unsigned level)
{
    r->gpa = 0;
    r->page_size = 0;
    r->read = false;
    r->write = false;
    r->fault_pte_addr = addr;
    r->fault_level = level;
    return status;
}

/* Succeed with the 2^shift page at `frame` (low bits below 2^shift ignored). */
static inline int amdvi_walk_page(struct amdvi_walk_result *r, uint64_t frame, unsigned shift,
                                  uint64_t iova)
{
    uint64_t size = 1ULL << shift;

    r->page_size = size;
    r->gpa = (frame & ~(size - 1u)) | (iova & (size - 1u));
    return AMDVI_WALK_OK;
}

#endif
