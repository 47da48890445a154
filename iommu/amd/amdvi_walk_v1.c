/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi host ("v1") I/O page-table walker: see iommu/amd/amdvi_walk.h for
 * the contract and the rules. Pure: no allocation, no logging, no state.
 */
#include "iommu/amd/amdvi_walk.h"

#include "devices/bits.h"
#include "iommu/amd/amdvi_pgtable.h"
#include "iommu/amd/amdvi_walk_internal.h"

/* Bits of `iova` that a `mode`-level table cannot translate must be zero. */
static bool v1_iova_in_reach(uint64_t iova, unsigned mode)
{
    unsigned reach = amdvi_pt_level_shift(mode + 1u);

    return reach >= 64 || (iova >> reach) == 0;
}

/* The index bits of the levels skipped between `level` and `next` (exclusive)
 * must be zero: they select nothing. */
static bool v1_skipped_bits_zero(uint64_t iova, unsigned level, unsigned next)
{
    unsigned lo = amdvi_pt_level_shift(next + 1u);
    unsigned hi = amdvi_pt_level_shift(level);

    if (lo >= hi)
        return true;
    return (iova & GENMASK(hi - 1u, lo)) == 0;
}

/* log2 of the page a leaf entry at `level` maps, or 0 if its encoding is
 * illegal there. */
static unsigned v1_leaf_shift(uint64_t pte, unsigned level)
{
    unsigned dflt = amdvi_pt_level_shift(level);
    unsigned shift;

    if (level >= AMDVI_PT_MAX_LEVELS)
        return 0;
    if (FIELD_GET(AMDVI_PTE_NEXT_LEVEL, pte) == AMDVI_NL_PAGE)
        return dflt;
    shift = amdvi_pte_sized_shift(pte);
    if (shift <= dflt || shift >= dflt + AMDVI_PT_LEVEL_BITS)
        return 0;
    return shift;
}

static int v1_leaf(uint64_t pte, uint64_t pte_addr, unsigned level, uint64_t iova,
                   struct amdvi_walk_result *r)
{
    unsigned shift = v1_leaf_shift(pte, level);

    if (!shift)
        return amdvi_walk_fail(r, AMDVI_WALK_RSVD, pte_addr, level);
    return amdvi_walk_page(r, pte & AMDVI_PTE_ADDR, shift, iova);
}

int amdvi_walk_v1(const struct amdvi_walk_mem *mem, uint64_t pt_root, unsigned mode, uint64_t iova,
                  struct amdvi_walk_result *r)
{
    uint64_t table = pt_root & AMDVI_PTE_ADDR;
    unsigned level = mode;

    amdvi_walk_reset(r);
    if (mode < AMDVI_WALK_V1_MODE_MIN || mode > AMDVI_WALK_V1_MODE_MAX)
        return amdvi_walk_fail(r, AMDVI_WALK_RSVD, pt_root, 0);
    if (!v1_iova_in_reach(iova, mode))
        return amdvi_walk_fail(r, AMDVI_WALK_NOT_PRESENT, pt_root, mode);

    for (;;) {
        uint64_t pte_addr = table + (uint64_t)amdvi_pt_index(iova, level) * AMDVI_PT_ENTRY_SIZE;
        uint64_t pte;
        unsigned next;

        if (mem->read64(mem->opaque, pte_addr, &pte))
            return amdvi_walk_fail(r, AMDVI_WALK_MEM_ERROR, pte_addr, level);
        if (!(pte & AMDVI_PTE_PR))
            return amdvi_walk_fail(r, AMDVI_WALK_NOT_PRESENT, pte_addr, level);
        if (pte & AMDVI_PTE_RSVD)
            return amdvi_walk_fail(r, AMDVI_WALK_RSVD, pte_addr, level);
        r->read = r->read && (pte & AMDVI_PTE_IR);
        r->write = r->write && (pte & AMDVI_PTE_IW);

        next = (unsigned)FIELD_GET(AMDVI_PTE_NEXT_LEVEL, pte);
        if (next == AMDVI_NL_PAGE || next == AMDVI_NL_SIZED)
            return v1_leaf(pte, pte_addr, level, iova, r);
        if (next >= level)
            return amdvi_walk_fail(r, AMDVI_WALK_RSVD, pte_addr, level);
        if (!v1_skipped_bits_zero(iova, level, next))
            return amdvi_walk_fail(r, AMDVI_WALK_NOT_PRESENT, pte_addr, level);
        table = pte & AMDVI_PTE_ADDR;
        level = next;
    }
}
