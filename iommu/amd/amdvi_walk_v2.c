/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi guest ("v2") page-table walker: GCR3 table lookup by PASID, then an
 * x86-64 4- or 5-level walk. See iommu/amd/amdvi_walk.h for the contract and
 * the rules applied. Pure: no allocation, no logging, no state.
 */
#include "iommu/amd/amdvi_walk.h"

#include "devices/bits.h"
#include "iommu/amd/amdvi_pgtable.h"
#include "iommu/amd/amdvi_walk_internal.h"

/* PASID bits that `glx` + 1 GCR3 levels cannot index must be zero. */
static bool v2_pasid_in_reach(uint32_t pasid, unsigned glx)
{
    unsigned reach = AMDVI_PT_LEVEL_BITS * (glx + 1u);

    if (reach > AMDVI_PASID_BITS)
        reach = AMDVI_PASID_BITS;
    return ((uint64_t)pasid >> reach) == 0;
}

/* Look up `pasid` in the GCR3 table; on success store the guest CR3 entry
 * in *cr3 and return AMDVI_WALK_OK. Faults report fault_level 0. */
static int v2_gcr3_lookup(const struct amdvi_walk_mem *mem, uint64_t gcr3_table, unsigned glx,
                          uint32_t pasid, uint64_t *cr3, struct amdvi_walk_result *r)
{
    uint64_t table = gcr3_table & AMDVI_GCR3_ADDR;
    unsigned lvl = glx + 1u;

    if (glx > AMDVI_GCR3_MAX_GLX)
        return amdvi_walk_fail(r, AMDVI_WALK_RSVD, gcr3_table, 0);
    if (!v2_pasid_in_reach(pasid, glx))
        return amdvi_walk_fail(r, AMDVI_WALK_NOT_PRESENT, gcr3_table, 0);

    while (lvl-- > 0) {
        unsigned idx = (unsigned)(pasid >> (AMDVI_PT_LEVEL_BITS * lvl)) & AMDVI_PT_INDEX_MASK;
        uint64_t addr = table + (uint64_t)idx * AMDVI_PT_ENTRY_SIZE;
        uint64_t ent;

        if (mem->read64(mem->opaque, addr, &ent))
            return amdvi_walk_fail(r, AMDVI_WALK_MEM_ERROR, addr, 0);
        if (!(ent & AMDVI_GCR3_V))
            return amdvi_walk_fail(r, AMDVI_WALK_NOT_PRESENT, addr, 0);
        if (ent & AMDVI_GCR3_RSVD)
            return amdvi_walk_fail(r, AMDVI_WALK_RSVD, addr, 0);
        table = ent & AMDVI_GCR3_ADDR;
    }
    *cr3 = table;
    return AMDVI_WALK_OK;
}

/* Bits above the top level's reach must copy its highest bit. */
static bool v2_iova_canonical(uint64_t iova, unsigned levels)
{
    unsigned top = amdvi_pt_level_shift(levels) + AMDVI_PT_LEVEL_BITS - 1u;
    int64_t sext = (int64_t)(iova << (63u - top)) >> (63u - top);

    return (uint64_t)sext == iova;
}

/* A PS=1 entry at `level`: legal only at levels 2 and 3 with the frame
 * aligned to the page (bit 12 is PAT). Returns the page shift or 0. */
static unsigned v2_large_shift(uint64_t pte, unsigned level)
{
    unsigned shift = amdvi_pt_level_shift(level);

    if (level > AMDVI_V2_MAX_LEAF_LEVEL)
        return 0;
    if (pte & AMDVI_GPTE_ADDR & GENMASK(shift - 1u, AMDVI_PT_PAGE_SHIFT + 1u))
        return 0;
    return shift;
}

static int v2_walk_table(const struct amdvi_walk_mem *mem, uint64_t cr3, unsigned levels,
                         uint64_t iova, struct amdvi_walk_result *r)
{
    uint64_t table = cr3 & AMDVI_GPTE_ADDR;
    unsigned level;

    if (!v2_iova_canonical(iova, levels))
        return amdvi_walk_fail(r, AMDVI_WALK_NOT_PRESENT, table, levels);

    for (level = levels;; level--) {
        uint64_t pte_addr = table + (uint64_t)amdvi_pt_index(iova, level) * AMDVI_PT_ENTRY_SIZE;
        uint64_t pte;
        unsigned shift;

        if (mem->read64(mem->opaque, pte_addr, &pte))
            return amdvi_walk_fail(r, AMDVI_WALK_MEM_ERROR, pte_addr, level);
        if (!(pte & AMDVI_GPTE_P))
            return amdvi_walk_fail(r, AMDVI_WALK_NOT_PRESENT, pte_addr, level);
        r->read = r->read && (pte & AMDVI_GPTE_US);
        r->write = r->write && (pte & AMDVI_GPTE_US) && (pte & AMDVI_GPTE_RW);

        if (level == 1)
            return amdvi_walk_page(r, pte & AMDVI_GPTE_ADDR, AMDVI_PT_PAGE_SHIFT, iova);
        if (pte & AMDVI_GPTE_PS) {
            shift = v2_large_shift(pte, level);
            if (!shift)
                return amdvi_walk_fail(r, AMDVI_WALK_RSVD, pte_addr, level);
            return amdvi_walk_page(r, pte & AMDVI_GPTE_ADDR, shift, iova);
        }
        table = pte & AMDVI_GPTE_ADDR;
    }
}

int amdvi_walk_v2_levels(const struct amdvi_walk_mem *mem, uint64_t gcr3_table, unsigned glx,
                         unsigned levels, uint32_t pasid, uint64_t iova,
                         struct amdvi_walk_result *r)
{
    uint64_t cr3 = 0;
    int st;

    amdvi_walk_reset(r);
    if (levels != AMDVI_V2_LEVELS_4 && levels != AMDVI_V2_LEVELS_5)
        return amdvi_walk_fail(r, AMDVI_WALK_RSVD, gcr3_table, 0);
    st = v2_gcr3_lookup(mem, gcr3_table, glx, pasid, &cr3, r);
    if (st != AMDVI_WALK_OK)
        return st;
    return v2_walk_table(mem, cr3, levels, iova, r);
}

int amdvi_walk_v2(const struct amdvi_walk_mem *mem, uint64_t gcr3_table, unsigned glx,
                  uint32_t pasid, uint64_t iova, struct amdvi_walk_result *r)
{
    return amdvi_walk_v2_levels(mem, gcr3_table, glx, AMDVI_V2_LEVELS_4, pasid, iova, r);
}
