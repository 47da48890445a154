/* SPDX-License-Identifier: MIT */
/*
 * Reference model for the AMD-Vi page-table walkers (test only).
 *
 * A random generator builds a *logical* tree of tables (what each entry is
 * meant to be: table, page, not present, reserved-bit error, table outside
 * RAM) and serializes it into fake guest RAM, encoding bits on its own (it
 * does not use iommu/amd/amdvi_pgtable.h helpers). The model evaluates a
 * translation by recursing over the logical tree, never decoding the bits,
 * so a walker that decodes the bits wrongly disagrees with it.
 *
 * Level numbering as in the spec: level 1 = 4 KiB granule.
 */
#ifndef SLUICE_TESTS_AMDVI_REF_MODEL_H
#define SLUICE_TESTS_AMDVI_REF_MODEL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/amd/amdvi_walk.h"

/* ---- RNG (xorshift64*) ---------------------------------------------------- */

static uint64_t ref_rng_state = 1;

static inline void ref_seed(uint64_t seed)
{
    ref_rng_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

static inline uint64_t ref_rnd(void)
{
    uint64_t x = ref_rng_state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ref_rng_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static inline unsigned ref_below(unsigned n)
{
    return (unsigned)(ref_rnd() % n);
}

static inline bool ref_chance(unsigned pct)
{
    return ref_below(100) < pct;
}

/* ---- fake RAM: one contiguous block, tables handed out a page at a time ---- */

#define REF_RAM_BASE 0x40000000ULL
#define REF_RAM_PAGES 2048u
#define REF_PAGE_BYTES 4096ULL
/* A page-aligned address in the 52-bit space that is never RAM. */
#define REF_NONRAM 0x000f000000000000ULL

struct ref_ram {
    uint8_t *mem;
    unsigned used; /* pages handed out */
    unsigned reads;
};

static inline int ref_ram_init(struct ref_ram *r)
{
    r->mem = calloc(REF_RAM_PAGES, REF_PAGE_BYTES);
    r->used = 0;
    r->reads = 0;
    return r->mem ? 0 : -ENOMEM;
}

static inline void ref_ram_reset(struct ref_ram *r)
{
    memset(r->mem, 0, (size_t)r->used * REF_PAGE_BYTES);
    r->used = 0;
}

static inline void ref_ram_free(struct ref_ram *r)
{
    free(r->mem);
    r->mem = NULL;
}

/* A zeroed page, or 0 when RAM is exhausted. */
static inline uint64_t ref_ram_page(struct ref_ram *r)
{
    if (r->used >= REF_RAM_PAGES)
        return 0;
    return REF_RAM_BASE + (uint64_t)r->used++ * REF_PAGE_BYTES;
}

static inline bool ref_ram_has(uint64_t gpa)
{
    return gpa >= REF_RAM_BASE && gpa - REF_RAM_BASE < REF_RAM_PAGES * REF_PAGE_BYTES && !(gpa & 7);
}

static inline void ref_ram_write64(struct ref_ram *r, uint64_t gpa, uint64_t val)
{
    if (!ref_ram_has(gpa))
        abort(); /* test bug */
    memcpy(r->mem + (gpa - REF_RAM_BASE), &val, sizeof(val));
}

static inline int ref_ram_read64(void *opaque, uint64_t gpa, uint64_t *val)
{
    struct ref_ram *r = opaque;

    r->reads++;
    if (!ref_ram_has(gpa))
        return -EFAULT;
    memcpy(val, r->mem + (gpa - REF_RAM_BASE), sizeof(*val));
    return 0;
}

static inline struct amdvi_walk_mem ref_ram_mem(struct ref_ram *r)
{
    return (struct amdvi_walk_mem){ .read64 = ref_ram_read64, .opaque = r };
}

/* ---- logical tree ----------------------------------------------------------- */

enum ref_kind {
    REF_NONE = 0, /* not present (PR/P/V clear, other bits random) */
    REF_TABLE,    /* points to `child` (a level-`nl` table) */
    REF_PAGE,     /* maps a 2^shift page at `frame` */
    REF_RSVD,     /* present but illegal: reserved bits / bad level or size */
    REF_MEMERR,   /* table pointer outside RAM (at `child_addr`) */
};

struct ref_tbl;

struct ref_ent {
    uint8_t kind;
    uint8_t nl;        /* level of the child table */
    bool r, w;         /* v1: IR/IW; v2: US and RW folded below */
    bool us;           /* v2 only */
    unsigned shift;    /* REF_PAGE */
    uint64_t frame;    /* REF_PAGE, 2^shift aligned */
    struct ref_tbl *child;
    uint64_t child_addr;
};

struct ref_tbl {
    uint64_t addr;
    unsigned level;
    unsigned nused;
    uint16_t used[512];
    struct ref_ent e[512];
};

#define REF_MAX_TABLES 160u

struct ref_gen {
    struct ref_ram *ram;
    struct ref_tbl *tbls; /* REF_MAX_TABLES */
    unsigned ntbl;
};

static inline unsigned ref_shift(unsigned level)
{
    return 12u + 9u * (level - 1u);
}

static inline uint64_t ref_mask_below(unsigned bit)
{
    return bit >= 64 ? ~0ULL : (1ULL << bit) - 1u;
}

/* Number of index values a level-`level` table has (level 6: bits 63:57). */
static inline unsigned ref_nidx(unsigned level)
{
    unsigned s = ref_shift(level);

    return s + 9u > 64u ? 1u << (64u - s) : 512u;
}

static inline unsigned ref_idx(uint64_t iova, unsigned level)
{
    return (unsigned)((iova >> ref_shift(level)) & 511u);
}

static inline struct ref_tbl *ref_new_tbl(struct ref_gen *g, unsigned level)
{
    struct ref_tbl *t;
    uint64_t addr;

    if (g->ntbl >= REF_MAX_TABLES)
        return NULL;
    addr = ref_ram_page(g->ram);
    if (!addr)
        return NULL;
    t = &g->tbls[g->ntbl++];
    memset(t, 0, sizeof(*t));
    t->addr = addr;
    t->level = level;
    return t;
}

static inline void ref_mark(struct ref_tbl *t, unsigned idx, const struct ref_ent *e)
{
    t->e[idx] = *e;
    t->used[t->nused++] = (uint16_t)idx;
}

struct ref_expect {
    int status;
    uint64_t gpa, page_size;
    bool read, write;
    uint64_t fault_pte_addr;
    unsigned fault_level;
};

static inline struct ref_expect ref_fail(int st, uint64_t addr, unsigned level)
{
    return (struct ref_expect){ .status = st, .fault_pte_addr = addr, .fault_level = level };
}

static inline struct ref_expect ref_page(const struct ref_ent *e, uint64_t iova, bool r, bool w)
{
    uint64_t m = ref_mask_below(e->shift);

    return (struct ref_expect){ .status = AMDVI_WALK_OK,
                                .gpa = e->frame | (iova & m),
                                .page_size = m + 1u,
                                .read = r,
                                .write = w };
}

/* ================================ v1 ======================================== */

/* Bits the v1 walker must ignore in any entry: 4:1, A, D, 8:7, U, FC, 63. */
#define REF_V1_NOISE 0x98000000000001feULL

static inline uint64_t ref_v1_noise(void)
{
    return ref_chance(50) ? ref_rnd() & REF_V1_NOISE : 0;
}

static inline uint64_t ref_v1_bits(unsigned nl, uint64_t addr, bool r, bool w)
{
    return 1ULL | ((uint64_t)nl << 9) | addr | ((uint64_t)r << 61) | ((uint64_t)w << 62) |
           ref_v1_noise();
}

static inline bool ref_perm(void)
{
    return ref_chance(85);
}

/* Random 2^shift-aligned frame in the 52-bit space. */
static inline uint64_t ref_frame(unsigned shift)
{
    return ref_rnd() & ref_mask_below(52) & ~ref_mask_below(shift);
}

static void ref_v1_gen_table(struct ref_gen *g, struct ref_tbl *t);

/* A table entry at `idx`, possibly skipping levels, or a MEMERR one. */
static inline void ref_v1_gen_pde(struct ref_gen *g, struct ref_tbl *t, unsigned idx, bool memerr)
{
    unsigned L = t->level;
    struct ref_ent e = { .kind = REF_TABLE, .r = ref_perm(), .w = ref_perm() };

    e.nl = (uint8_t)(ref_chance(70) || L == 2 ? L - 1 : 1 + ref_below(L - 1));
    if (memerr) {
        e.kind = REF_MEMERR;
        e.child_addr = REF_NONRAM | (ref_rnd() & 0xffffff000ULL);
    } else {
        e.child = ref_new_tbl(g, e.nl);
        if (!e.child)
            return;
        e.child_addr = e.child->addr;
    }
    ref_mark(t, idx, &e);
    ref_ram_write64(g->ram, t->addr + idx * 8ULL, ref_v1_bits(e.nl, e.child_addr, e.r, e.w));
    if (e.child)
        ref_v1_gen_table(g, e.child);
}

/* A page of the default size (NL 0) or an NL 7 page replicated over its
 * aligned group of entries, if the group is still free. */
static inline void ref_v1_gen_page(struct ref_gen *g, struct ref_tbl *t, unsigned idx, bool sized)
{
    unsigned L = t->level, dflt = ref_shift(L), n = 1, first = idx, i;
    struct ref_ent e = { .kind = REF_PAGE, .r = ref_perm(), .w = ref_perm(), .shift = dflt };
    uint64_t addrbits;

    if (sized) {
        e.shift = dflt + 1u + ref_below(8);
        if (e.shift > 52)
            e.shift = 52;
        n = 1u << (e.shift - dflt);
        first = idx & ~(n - 1u);
        if (first + n > ref_nidx(L))
            return;
    }
    for (i = first; i < first + n; i++)
        if (t->e[i].kind != REF_NONE)
            return;
    e.frame = ref_frame(e.shift);
    addrbits = e.frame;
    if (sized) /* ones at bits 12 .. shift-2, zero at shift-1 */
        addrbits |= ref_mask_below(e.shift - 1u) & ~0xfffULL;
    for (i = first; i < first + n; i++) {
        ref_mark(t, i, &e);
        ref_ram_write64(g->ram, t->addr + i * 8ULL, ref_v1_bits(sized ? 7 : 0, addrbits, e.r, e.w));
    }
}

/* Address field of an NL 7 entry whose size is illegal at level L: no zero
 * bit at all, a size not above the level's default (8 KiB .. default), or
 * one of 512 entries or more. Bits 12 .. z-1 are ones, z is zero. */
static inline uint64_t ref_v1_bad_size_addr(unsigned L)
{
    unsigned dflt = ref_shift(L), z;

    if (ref_chance(30) || dflt + 8u >= 52u)
        return 0x000ffffffffff000ULL;
    if (L > 1 && ref_chance(50)) /* size 2^(z+1) <= default */
        z = ref_chance(50) ? dflt - 1u : 12u + ref_below(dflt - 12u);
    else /* size >= 512 entries */
        z = dflt + 8u + (ref_chance(50) ? 0 : ref_below(52u - dflt - 8u));
    return ref_mask_below(z) & ~0xfffULL;
}

/* A present entry the spec makes illegal at this level. */
static inline void ref_v1_gen_rsvd(struct ref_gen *g, struct ref_tbl *t, unsigned idx)
{
    unsigned L = t->level;
    struct ref_ent e = { .kind = REF_RSVD };
    uint64_t bits;

    switch (ref_below(4)) {
    case 0: /* reserved bits 58:52 on an otherwise fine page */
        bits = ref_v1_bits(0, ref_frame(12), true, true) | (1ULL << (52 + ref_below(7)));
        break;
    case 1: /* next level L..6 */
        bits = ref_v1_bits(L + ref_below(7 - L), ref_frame(12), true, true);
        break;
    case 2: /* NL 7 with a size that does not belong to this level */
        bits = ref_v1_bits(7, ref_v1_bad_size_addr(L), true, true);
        break;
    default: /* leaf at level 6, else reserved bits on a table pointer */
        bits = L == 6 ? ref_v1_bits(ref_chance(50) ? 0 : 7, ref_frame(12), true, true)
                      : ref_v1_bits(L - 1, ref_frame(12), true, true) | (1ULL << 58);
        break;
    }
    ref_mark(t, idx, &e);
    ref_ram_write64(g->ram, t->addr + idx * 8ULL, bits);
}

static inline void ref_v1_gen_entry(struct ref_gen *g, struct ref_tbl *t, unsigned idx)
{
    unsigned L = t->level, roll = ref_below(100);

    if (t->e[idx].kind != REF_NONE)
        return;
    if (L > 1 && roll < 45)
        ref_v1_gen_pde(g, t, idx, ref_chance(4));
    else if (roll < 65 && L < 6)
        ref_v1_gen_page(g, t, idx, false);
    else if (roll < 82 && L < 6)
        ref_v1_gen_page(g, t, idx, true);
    else if (roll < 90)
        ref_v1_gen_rsvd(g, t, idx);
    else /* not present with garbage elsewhere */
        ref_ram_write64(g->ram, t->addr + idx * 8ULL, ref_rnd() & ~1ULL);
}

static void ref_v1_gen_table(struct ref_gen *g, struct ref_tbl *t)
{
    unsigned n = 1 + ref_below(6), k;

    for (k = 0; k < n; k++)
        ref_v1_gen_entry(g, t, ref_below(ref_nidx(t->level)));
}

/* Model: translate `iova` through the logical tree rooted at `t`. */
static inline struct ref_expect ref_v1_eval(const struct ref_tbl *t, uint64_t iova, bool r, bool w)
{
    for (;;) {
        unsigned L = t->level, idx = ref_idx(iova, L);
        const struct ref_ent *e = &t->e[idx];
        uint64_t addr = t->addr + idx * 8ULL, skipped;

        switch (e->kind) {
        case REF_NONE:
            return ref_fail(AMDVI_WALK_NOT_PRESENT, addr, L);
        case REF_RSVD:
            return ref_fail(AMDVI_WALK_RSVD, addr, L);
        case REF_PAGE:
            return ref_page(e, iova, r && e->r, w && e->w);
        default:
            break;
        }
        skipped = ref_mask_below(ref_shift(L)) & ~ref_mask_below(ref_shift(e->nl + 1u));
        if (iova & skipped)
            return ref_fail(AMDVI_WALK_NOT_PRESENT, addr, L);
        if (e->kind == REF_MEMERR)
            return ref_fail(AMDVI_WALK_MEM_ERROR, e->child_addr + ref_idx(iova, e->nl) * 8ULL,
                            e->nl);
        r = r && e->r;
        w = w && e->w;
        t = e->child;
    }
}

static inline struct ref_expect ref_v1_model(const struct ref_tbl *root, unsigned mode,
                                             uint64_t iova)
{
    if (mode < 6 && (iova >> (12 + 9 * mode)))
        return ref_fail(AMDVI_WALK_NOT_PRESENT, root->addr, mode);
    return ref_v1_eval(root, iova, true, true);
}

/* Random IOVA, mostly following populated entries so walks go deep. */
static inline uint64_t ref_v1_pick_iova(const struct ref_tbl *t, unsigned mode)
{
    uint64_t iova = 0;
    unsigned L = mode;

    for (;;) {
        unsigned idx = t->nused && ref_chance(88) ? t->used[ref_below(t->nused)]
                                                  : ref_below(ref_nidx(L));
        const struct ref_ent *e = &t->e[idx];

        iova |= (uint64_t)idx << ref_shift(L);
        if (e->kind != REF_TABLE && e->kind != REF_MEMERR)
            break;
        if (e->nl + 1u < L && ref_chance(8)) { /* a non-zero skipped index */
            unsigned lo = ref_shift(e->nl + 1u);

            iova |= 1ULL << (lo + ref_below(ref_shift(L) - lo));
        }
        if (e->kind == REF_MEMERR) {
            L = e->nl;
            break;
        }
        t = e->child;
        L = t->level;
    }
    iova |= ref_rnd() & ref_mask_below(ref_shift(L));
    if (mode < 6 && ref_chance(3))
        iova |= 1ULL << (12 + 9 * mode + ref_below(64 - 12 - 9 * mode));
    return iova;
}

/* ================================ v2 ======================================== */

/* Bits the v2 walker must ignore in any entry: PWT, PCD, A, D, G, 11:9,
 * 62:52, NX. */
#define REF_V2_NOISE 0xfff0000000000f78ULL

static inline uint64_t ref_v2_bits(uint64_t addr, bool rw, bool us, bool ps)
{
    uint64_t noise = ref_chance(50) ? ref_rnd() & REF_V2_NOISE : 0;

    return 1ULL | ((uint64_t)rw << 1) | ((uint64_t)us << 2) | ((uint64_t)ps << 7) | addr | noise;
}

static void ref_v2_gen_table(struct ref_gen *g, struct ref_tbl *t);

static inline void ref_v2_gen_entry(struct ref_gen *g, struct ref_tbl *t, unsigned idx)
{
    unsigned L = t->level, roll = ref_below(100);
    struct ref_ent e = { .kind = REF_NONE };
    uint64_t bits;

    if (t->e[idx].kind != REF_NONE)
        return;
    e.us = ref_chance(90);
    e.w = ref_chance(80);
    if (L > 1 && roll < (L > 3 ? 75u : 50u)) {
        e.kind = REF_TABLE;
        e.nl = (uint8_t)(L - 1);
        if (ref_chance(4)) {
            e.kind = REF_MEMERR;
            e.child_addr = REF_NONRAM | (ref_rnd() & 0xffffff000ULL);
        } else {
            e.child = ref_new_tbl(g, L - 1);
            if (!e.child)
                return;
            e.child_addr = e.child->addr;
        }
        bits = ref_v2_bits(e.child_addr, e.w, e.us, false);
    } else if (roll < 80 && L <= 3) {
        e.kind = REF_PAGE;
        e.shift = ref_shift(L);
        e.frame = ref_frame(e.shift);
        /* level 1: bit 7 is PAT; larger pages: bit 12 is PAT */
        bits = ref_v2_bits(e.frame, e.w, e.us, L > 1) |
               (ref_chance(30) ? (L > 1 ? 1ULL << 12 : 1ULL << 7) : 0);
    } else if (roll < (L > 3 ? 82u : 92u) && L > 1) {
        e.kind = REF_RSVD;
        if (L > 3) /* PS at level 4/5 */
            bits = ref_v2_bits(ref_frame(ref_shift(L)), true, true, true);
        else /* large page whose frame is not aligned above the PAT bit */
            bits = ref_v2_bits(ref_frame(ref_shift(L)) |
                                   (1ULL << (13 + ref_below(ref_shift(L) - 13))),
                               true, true, true);
    } else {
        bits = ref_rnd() & ~1ULL;
    }
    if (e.kind != REF_NONE)
        ref_mark(t, idx, &e);
    ref_ram_write64(g->ram, t->addr + idx * 8ULL, bits);
    if (e.child)
        ref_v2_gen_table(g, e.child);
}

static void ref_v2_gen_table(struct ref_gen *g, struct ref_tbl *t)
{
    unsigned n = 1 + ref_below(6), k;

    for (k = 0; k < n; k++)
        ref_v2_gen_entry(g, t, ref_below(512));
}

static inline struct ref_expect ref_v2_eval(const struct ref_tbl *t, uint64_t iova)
{
    bool us = true, rw = true;

    for (;;) {
        unsigned L = t->level, idx = ref_idx(iova, L);
        const struct ref_ent *e = &t->e[idx];
        uint64_t addr = t->addr + idx * 8ULL;

        if (e->kind == REF_NONE)
            return ref_fail(AMDVI_WALK_NOT_PRESENT, addr, L);
        if (e->kind == REF_RSVD)
            return ref_fail(AMDVI_WALK_RSVD, addr, L);
        us = us && e->us;
        rw = rw && e->w;
        if (e->kind == REF_PAGE)
            return ref_page(e, iova, us, us && rw);
        if (e->kind == REF_MEMERR)
            return ref_fail(AMDVI_WALK_MEM_ERROR, e->child_addr + ref_idx(iova, e->nl) * 8ULL,
                            e->nl);
        t = e->child;
    }
}

/* GCR3 side: a tree of glx + 1 levels whose leaves point at `root` (or
 * outside RAM). Table levels here are glx..0, stored as level + 1. */
struct ref_gcr3 {
    struct ref_tbl *top;
    unsigned glx;
    uint64_t bad_cr3; /* CR3 value of MEMERR leaves */
};

static inline void ref_gcr3_gen(struct ref_gen *g, struct ref_tbl *t, struct ref_tbl *root,
                                uint64_t bad_cr3)
{
    unsigned n = 1 + ref_below(3), k;

    for (k = 0; k < n; k++) {
        unsigned idx = k == 0 ? 0 : ref_below(512), roll = ref_below(100);
        struct ref_ent e = { .kind = REF_TABLE };
        uint64_t bits;

        if (t->e[idx].kind != REF_NONE)
            continue;
        if (roll < 8) {
            e.kind = REF_RSVD;
            bits = 1ULL | root->addr | (1ULL << (52 + ref_below(12)));
        } else if (roll < 14) {
            ref_ram_write64(g->ram, t->addr + idx * 8ULL, ref_rnd() & ~1ULL);
            continue;
        } else if (t->level == 1) { /* leaf: guest CR3 */
            e.child = ref_chance(92) ? root : NULL;
            e.child_addr = e.child ? root->addr : bad_cr3;
            bits = 1ULL | e.child_addr | (ref_rnd() & 0xffeULL);
        } else {
            e.child = ref_new_tbl(g, t->level - 1);
            if (!e.child)
                continue;
            e.child_addr = e.child->addr;
            bits = 1ULL | e.child_addr | (ref_rnd() & 0xffeULL);
        }
        ref_mark(t, idx, &e);
        ref_ram_write64(g->ram, t->addr + idx * 8ULL, bits);
        if (e.kind == REF_TABLE && t->level > 1)
            ref_gcr3_gen(g, e.child, root, bad_cr3);
    }
}

static inline uint32_t ref_gcr3_pick_pasid(const struct ref_gcr3 *c)
{
    const struct ref_tbl *t = c->top;
    uint32_t pasid = 0;

    if (ref_chance(10))
        return (uint32_t)ref_rnd() & 0xfffffu;
    while (t) {
        unsigned idx = t->nused && ref_chance(90) ? t->used[ref_below(t->nused)] : ref_below(512);

        pasid |= (uint32_t)idx << (9 * (t->level - 1));
        t = t->level > 1 ? t->e[idx].child : NULL;
    }
    return pasid & 0xfffffu;
}

static inline uint64_t ref_v2_pick_iova(const struct ref_tbl *t, unsigned levels)
{
    uint64_t iova = 0;
    unsigned L = levels, top = 12 + 9 * levels - 1;

    for (;;) {
        unsigned idx = t->nused && ref_chance(93) ? t->used[ref_below(t->nused)] : ref_below(512);
        const struct ref_ent *e = &t->e[idx];

        iova |= (uint64_t)idx << ref_shift(L);
        if (e->kind != REF_TABLE)
            break;
        t = e->child;
        L = t->level;
    }
    iova |= ref_rnd() & ref_mask_below(ref_shift(L));
    if (iova >> top) /* canonical: sign-extend */
        iova |= ~ref_mask_below(top);
    if (ref_chance(3)) /* break canonicality */
        iova ^= 1ULL << (top + 1 + ref_below(63 - top));
    return iova;
}

static inline struct ref_expect ref_v2_model(const struct ref_gcr3 *c, uint64_t gcr3_root,
                                             unsigned levels, uint32_t pasid, uint64_t iova)
{
    const struct ref_tbl *t = c->top;
    unsigned top = 12 + 9 * levels - 1;
    uint64_t hi = iova >> top, cr3 = 0;
    const struct ref_tbl *root = NULL;

    if (pasid >> (9 * (c->glx + 1) > 20 ? 20 : 9 * (c->glx + 1)))
        return ref_fail(AMDVI_WALK_NOT_PRESENT, gcr3_root, 0);
    while (t) {
        unsigned idx = (pasid >> (9 * (t->level - 1))) & 511u;
        const struct ref_ent *e = &t->e[idx];
        uint64_t addr = t->addr + idx * 8ULL;

        if (e->kind == REF_NONE)
            return ref_fail(AMDVI_WALK_NOT_PRESENT, addr, 0);
        if (e->kind == REF_RSVD)
            return ref_fail(AMDVI_WALK_RSVD, addr, 0);
        if (t->level == 1) {
            root = e->child;
            cr3 = e->child_addr;
            break;
        }
        t = e->child;
    }
    if (hi != 0 && hi != (~0ULL >> top))
        return ref_fail(AMDVI_WALK_NOT_PRESENT, cr3, levels);
    if (!root)
        return ref_fail(AMDVI_WALK_MEM_ERROR, cr3 + ref_idx(iova, levels) * 8ULL, levels);
    return ref_v2_eval(root, iova);
}

#endif
