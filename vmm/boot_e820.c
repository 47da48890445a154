/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "boot"
#include "vmm/boot_e820.h"

#include <errno.h>
#include <stdlib.h>

#include "vmm/guest_mem.h"
#include "vmm/layout.h"

/* The low region contributes up to three ranges, every other region one. */
#define BOOT_E820_LOW_REGION_RANGES 3U
#define BOOT_E820_MAX_BASE (BOOT_E820_LOW_REGION_RANGES + GUEST_MEM_MAX_REGIONS - 1)
#define BOOT_E820_MAX_RANGES (BOOT_E820_MAX_BASE + BOOT_E820_MAX_EXTRA)

/* [start, end): ends never wrap (extras are checked, RAM ends are real). */
struct e820_range {
    uint64_t start;
    uint64_t end;
    uint32_t type;
};

static void e820_add(struct e820_range *r, unsigned *n, uint64_t start, uint64_t end, uint32_t type)
{
    if (start >= end)
        return;
    r[*n].start = start;
    r[*n].end = end;
    r[*n].type = type;
    (*n)++;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The fixed map of guest RAM, in priority order (later entries win). */
static unsigned e820_base_ranges(const struct guest_mem *gm, struct e820_range *r)
{
    unsigned n = 0;

    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *reg = &gm->regions[i];
        uint64_t end = reg->gpa + reg->size;

        if (reg->gpa == 0) {
            e820_add(r, &n, 0, min_u64(end, LAYOUT_LOW_RAM_END), BP_E820_TYPE_RAM);
            /* The legacy hole is reserved whether or not RAM backs it. */
            if (end > LAYOUT_LOW_RAM_END)
                e820_add(r, &n, LAYOUT_LOW_RAM_END, LAYOUT_HIGH_MEM_START, BP_E820_TYPE_RESERVED);
            if (end > LAYOUT_HIGH_MEM_START)
                e820_add(r, &n, LAYOUT_HIGH_MEM_START, end, BP_E820_TYPE_RAM);
        } else {
            e820_add(r, &n, reg->gpa, end, BP_E820_TYPE_RAM);
        }
    }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int boot_e820_build(const struct guest_mem *gm, const struct boot_e820_extra *extra,
                    unsigned nextra, struct bp_e820_entry *out, unsigned max, unsigned *count)
{
    struct e820_range ranges[BOOT_E820_MAX_RANGES];
    uint64_t bounds[2 * BOOT_E820_MAX_RANGES];
    unsigned nranges, nbounds = 0, nout = 0;

    *count = 0;
    if (gm->nregions == 0 || nextra > BOOT_E820_MAX_EXTRA || (nextra && !extra))
        return -EINVAL;

    nranges = e820_base_ranges(gm, ranges);
    for (unsigned i = 0; i < nextra; i++) {
        const struct boot_e820_extra *x = &extra[i];
        if (x->size == 0 || x->type == 0 || x->size > UINT64_MAX - x->addr)
            return -EINVAL;
        e820_add(ranges, &nranges, x->addr, x->addr + x->size, x->type);
    }

    /* Every start and end is a boundary; between two consecutive boundaries
     * the covering set is constant, so the winning type is too. */
    for (unsigned i = 0; i < nranges; i++) {
        bounds[nbounds++] = ranges[i].start;
        bounds[nbounds++] = ranges[i].end;
    }
    qsort(bounds, nbounds, sizeof(bounds[0]), cmp_u64);

    for (unsigned b = 0; b + 1 < nbounds; b++) {
        uint64_t start = bounds[b], end = bounds[b + 1];
        uint32_t type = 0;

        if (start == end)
            continue;
        for (unsigned i = 0; i < nranges; i++)
            if (ranges[i].start <= start && end <= ranges[i].end)
                type = ranges[i].type;
        if (type == 0)
            continue; /* a gap: not in the map */

        if (nout > 0 && out[nout - 1].type == type &&
            out[nout - 1].addr + out[nout - 1].size == start) {
            out[nout - 1].size += end - start;
            continue;
        }
        if (nout == max)
            return -ENOSPC;
        out[nout].addr = start;
        out[nout].size = end - start;
        out[nout].type = type;
        nout++;
    }
    *count = nout;
    return 0;
}
