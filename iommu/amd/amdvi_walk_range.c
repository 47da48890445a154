/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi page-table range enumerators: every leaf translation of a v1 or v2
 * table intersecting an IOVA range (for map notifications / VFIO shadowing).
 * See iommu/amd/amdvi_walk.h for the contract. The validity rules are those
 * of amdvi_walk_v1.c / amdvi_walk_v2.c, applied per entry: whatever the
 * single-address walk would fault on is skipped here. Pure: no allocation,
 * no logging, no state; recursion depth is at most the table depth (6).
 */
#include <errno.h>

#include "devices/bits.h"
#include "iommu/amd/amdvi_pgtable.h"
#include "iommu/amd/amdvi_walk.h"

struct range_walk {
    const struct amdvi_walk_mem *mem;
    uint64_t first, last;
    amdvi_walk_emit_fn emit;
    void *ctx;
    unsigned reads, emitted;
};

/* Part of one table to visit: entry k (0 <= k < n) is at table index idx0 + k
 * and translates [base + (k << shift), + 2^shift). */
struct span {
    uint64_t table;
    unsigned level;
    uint64_t base;
    unsigned idx0, n;
};

/* 1: *val read; 0: not RAM (the walk would fault: skip); -E2BIG: read cap. */
static int rw_read(struct range_walk *w, uint64_t gpa, uint64_t *val)
{
    if (w->reads >= AMDVI_WALK_RANGE_MAX_READS)
        return -E2BIG;
    w->reads++;
    return w->mem->read64(w->mem->opaque, gpa, val) ? 0 : 1;
}

static int rw_emit(struct range_walk *w, uint64_t iova, unsigned shift, uint64_t gpa, bool read,
                   bool write)
{
    int ret;

    if (w->emitted >= AMDVI_WALK_RANGE_MAX_EMIT)
        return -E2BIG;
    w->emitted++;
    ret = w->emit(w->ctx, iova, 1ULL << shift, gpa, read, write);
    return ret < 0 ? ret : 0;
}

/* Entries [*lo, *hi] of `sp` that intersect [first, last]; false if none. */
static bool span_window(const struct range_walk *w, const struct span *sp, unsigned shift,
                        unsigned *lo, unsigned *hi)
{
    /* modulo 2^64: a span reaching the top of the address space ends at ~0 */
    uint64_t span_last = sp->base + (((uint64_t)sp->n << shift) - 1u);
    uint64_t h;

    if (w->last < sp->base || w->first > span_last)
        return false;
    *lo = w->first > sp->base ? (unsigned)((w->first - sp->base) >> shift) : 0u;
    h = (w->last - sp->base) >> shift;
    *hi = h >= sp->n ? sp->n - 1u : (unsigned)h;
    return true;
}

/* ---- v1 ------------------------------------------------------------------------ */

/* log2 of an NL 0 / NL 7 leaf's page at `level`, 0 if illegal (as the walker). */
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

/* The walker-relevant bits of a leaf: same page, same permissions. */
static uint64_t v1_leaf_key(uint64_t pte, unsigned shift)
{
    return (pte & (AMDVI_PTE_PR | AMDVI_PTE_RSVD | AMDVI_PTE_NEXT_LEVEL | AMDVI_PTE_IR |
                   AMDVI_PTE_IW)) |
           (pte & AMDVI_PTE_ADDR & ~((1ULL << shift) - 1u)) | shift;
}

/* Do all table entries [j0, j0 + count) hold the same NL 7 page as `pte`? */
static int v1_sized_whole(struct range_walk *w, uint64_t table, unsigned level, unsigned j0,
                          unsigned count, uint64_t pte, unsigned shift)
{
    uint64_t key = v1_leaf_key(pte, shift);

    for (unsigned j = j0; j < j0 + count; j++) {
        uint64_t e;
        int ret = rw_read(w, table + (uint64_t)j * AMDVI_PT_ENTRY_SIZE, &e);

        if (ret <= 0)
            return ret;
        if (!(e & AMDVI_PTE_PR) || v1_leaf_shift(e, level) != shift ||
            v1_leaf_key(e, shift) != key)
            return 0;
    }
    return 1;
}

/* A leaf at entry k of `sp`. An NL 7 page spanning several entries is
 * emitted whole (and *k moved to its last entry) when first met and all its
 * entries agree; otherwise each entry emits the part it translates. */
static int v1_leaf(struct range_walk *w, const struct span *sp, unsigned *k, unsigned lo,
                   uint64_t pte, bool read, bool write)
{
    unsigned dflt = amdvi_pt_level_shift(sp->level);
    unsigned shift = v1_leaf_shift(pte, sp->level);
    uint64_t iova = sp->base + ((uint64_t)*k << dflt);

    if (!shift)
        return 0;
    uint64_t size = 1ULL << shift;
    uint64_t page_gpa = pte & AMDVI_PTE_ADDR & ~(size - 1u);
    if (shift == dflt)
        return rw_emit(w, iova, shift, page_gpa, read, write);

    uint64_t page_iova = iova & ~(size - 1u);
    unsigned count = 1u << (shift - dflt);
    unsigned kfirst = *k & ~(count - 1u); /* the page's first entry (aligned group) */
    if ((*k == kfirst || *k == lo) && kfirst + count <= sp->n) {
        int ret = v1_sized_whole(w, sp->table, sp->level, sp->idx0 + kfirst, count, pte, shift);
        if (ret < 0)
            return ret;
        if (ret) {
            *k = kfirst + count - 1u;
            return rw_emit(w, page_iova, shift, page_gpa, read, write);
        }
    }
    return rw_emit(w, iova, dflt, page_gpa + (iova - page_iova), read, write);
}

static int v1_span(struct range_walk *w, const struct span *sp, bool read, bool write)
{
    unsigned shift = amdvi_pt_level_shift(sp->level), lo, hi;

    if (!span_window(w, sp, shift, &lo, &hi))
        return 0;
    for (unsigned k = lo; k <= hi; k++) {
        uint64_t iova = sp->base + ((uint64_t)k << shift), pte;
        int ret = rw_read(w, sp->table + (uint64_t)(sp->idx0 + k) * AMDVI_PT_ENTRY_SIZE, &pte);

        if (ret < 0)
            return ret;
        if (!ret || !(pte & AMDVI_PTE_PR) || (pte & AMDVI_PTE_RSVD))
            continue;
        ret = 0;
        bool r = read && (pte & AMDVI_PTE_IR);
        bool wr = write && (pte & AMDVI_PTE_IW);
        unsigned next = (unsigned)FIELD_GET(AMDVI_PTE_NEXT_LEVEL, pte);
        if (next == AMDVI_NL_PAGE || next == AMDVI_NL_SIZED) {
            ret = v1_leaf(w, sp, &k, lo, pte, r, wr);
        } else if (next < sp->level) {
            /* skipped levels: only the part whose skipped index bits are zero,
             * i.e. the 512 entries of the level-`next` table from `iova` on */
            struct span child = { .table = pte & AMDVI_PTE_ADDR, .level = next, .base = iova,
                                  .idx0 = 0, .n = AMDVI_PT_ENTRIES };
            ret = v1_span(w, &child, r, wr);
        }
        if (ret)
            return ret;
    }
    return 0;
}

int amdvi_walk_range_v1(const struct amdvi_walk_mem *mem, uint64_t pt_root, unsigned mode,
                        uint64_t first, uint64_t last, amdvi_walk_emit_fn emit, void *ctx)
{
    struct range_walk w = { .mem = mem, .first = first, .last = last, .emit = emit, .ctx = ctx };
    unsigned shift;

    if (mode < AMDVI_WALK_V1_MODE_MIN || mode > AMDVI_WALK_V1_MODE_MAX || first > last)
        return 0;
    shift = amdvi_pt_level_shift(mode);
    struct span top = { .table = pt_root & AMDVI_PTE_ADDR, .level = mode, .base = 0, .idx0 = 0,
                        .n = shift + AMDVI_PT_LEVEL_BITS > 64u ? 1u << (64u - shift)
                                                               : AMDVI_PT_ENTRIES };
    return v1_span(&w, &top, true, true);
}

/* ---- v2 ------------------------------------------------------------------------ */

/* The guest CR3 of `pasid` (GCR3 table lookup as the walker does it):
 * 1 found, 0 the walk would fault, -E2BIG read cap. */
static int v2_gcr3(struct range_walk *w, uint64_t gcr3_table, unsigned glx, uint32_t pasid,
                   uint64_t *cr3)
{
    uint64_t table = gcr3_table & AMDVI_GCR3_ADDR;
    unsigned reach = AMDVI_PT_LEVEL_BITS * (glx + 1u), lvl = glx + 1u;

    if (glx > AMDVI_GCR3_MAX_GLX)
        return 0;
    if (reach < AMDVI_PASID_BITS && ((uint64_t)pasid >> reach))
        return 0;
    if ((uint64_t)pasid >> AMDVI_PASID_BITS)
        return 0;
    while (lvl-- > 0) {
        unsigned idx = (unsigned)(pasid >> (AMDVI_PT_LEVEL_BITS * lvl)) & AMDVI_PT_INDEX_MASK;
        uint64_t ent;
        int ret = rw_read(w, table + (uint64_t)idx * AMDVI_PT_ENTRY_SIZE, &ent);

        if (ret <= 0)
            return ret;
        if (!(ent & AMDVI_GCR3_V) || (ent & AMDVI_GCR3_RSVD))
            return 0;
        table = ent & AMDVI_GCR3_ADDR;
    }
    *cr3 = table;
    return 1;
}

/* log2 of a PS=1 page at `level`, 0 if illegal (as the walker). */
static unsigned v2_large_shift(uint64_t pte, unsigned level)
{
    unsigned shift = amdvi_pt_level_shift(level);

    if (level > AMDVI_V2_MAX_LEAF_LEVEL)
        return 0;
    if (pte & AMDVI_GPTE_ADDR & GENMASK(shift - 1u, AMDVI_PT_PAGE_SHIFT + 1u))
        return 0;
    return shift;
}

static int v2_span(struct range_walk *w, const struct span *sp, bool read, bool write)
{
    unsigned shift = amdvi_pt_level_shift(sp->level), lo, hi;

    if (!span_window(w, sp, shift, &lo, &hi))
        return 0;
    for (unsigned k = lo; k <= hi; k++) {
        uint64_t iova = sp->base + ((uint64_t)k << shift), pte;
        int ret = rw_read(w, sp->table + (uint64_t)(sp->idx0 + k) * AMDVI_PT_ENTRY_SIZE, &pte);

        if (ret < 0)
            return ret;
        if (!ret || !(pte & AMDVI_GPTE_P))
            continue;
        ret = 0;
        bool r = read && (pte & AMDVI_GPTE_US);
        bool wr = write && (pte & AMDVI_GPTE_US) && (pte & AMDVI_GPTE_RW);
        if (sp->level == 1) {
            ret = rw_emit(w, iova, shift, pte & AMDVI_GPTE_ADDR, r, wr);
        } else if (pte & AMDVI_GPTE_PS) {
            unsigned s = v2_large_shift(pte, sp->level);
            if (s)
                ret = rw_emit(w, iova, s, pte & AMDVI_GPTE_ADDR & ~((1ULL << s) - 1u), r, wr);
        } else {
            struct span child = { .table = pte & AMDVI_GPTE_ADDR, .level = sp->level - 1u,
                                  .base = iova, .idx0 = 0, .n = AMDVI_PT_ENTRIES };
            ret = v2_span(w, &child, r, wr);
        }
        if (ret)
            return ret;
    }
    return 0;
}

int amdvi_walk_range_v2(const struct amdvi_walk_mem *mem, uint64_t gcr3_table, unsigned glx,
                        unsigned levels, uint32_t pasid, uint64_t first, uint64_t last,
                        amdvi_walk_emit_fn emit, void *ctx)
{
    struct range_walk w = { .mem = mem, .first = first, .last = last, .emit = emit, .ctx = ctx };
    uint64_t cr3 = 0;
    int ret;

    if ((levels != AMDVI_V2_LEVELS_4 && levels != AMDVI_V2_LEVELS_5) || first > last)
        return 0;
    ret = v2_gcr3(&w, gcr3_table, glx, pasid, &cr3);
    if (ret <= 0)
        return ret;

    /* canonical halves: top-level entries 0..255 from IOVA 0 up, 256..511
     * from the sign-extended -2^(top bit) up */
    unsigned shift = amdvi_pt_level_shift(levels);
    unsigned half = AMDVI_PT_ENTRIES / 2u;
    struct span lower = { .table = cr3 & AMDVI_GPTE_ADDR, .level = levels, .base = 0,
                          .idx0 = 0, .n = half };
    struct span upper = lower;
    upper.base = (uint64_t)0 - ((uint64_t)half << shift);
    upper.idx0 = half;
    ret = v2_span(&w, &lower, true, true);
    if (ret)
        return ret;
    return v2_span(&w, &upper, true, true);
}
