/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi range enumerators (amdvi_walk_range_v1/_v2) against the
 * single-address walkers: random v1 and v2 tables (the generator of
 * amdvi_ref_model.h: skipped levels, NL 7 pages, reserved bits, tables
 * outside RAM, 4K/2M/1G v2 pages, both canonical halves) and random ranges;
 * for every 4 KiB page of a range the walker translates it <=> exactly one
 * emitted block covers it, with the same gpa and permissions. Emitted
 * blocks are sorted, disjoint, touch the range, and are true as a whole
 * (checked at their ends). Plus hand-built cases: inconsistent NL 7
 * replicas, skip levels, the upper half, the work caps, emit errors.
 * The seed is printed; set SLUICE_TEST_SEED to replay one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "devices/bits.h"
#include "iommu/amd/amdvi_pgtable.h"
#include "iommu/amd/amdvi_walk.h"
#include "tests/unit/amdvi_ref_model.h"
#include "tests/unit/check.h"

#define KIB(x) ((uint64_t)(x) << 10)
#define MIB(x) ((uint64_t)(x) << 20)
#define GIB(x) ((uint64_t)(x) << 30)
#define PG 4096ULL

static struct ref_ram ram;
static struct amdvi_walk_mem mem;
static struct ref_tbl tbls[REF_MAX_TABLES];

struct blk {
    uint64_t iova, size, gpa;
    bool r, w;
};

#define MAX_BLKS 200000u

static struct blk blks[MAX_BLKS];
static unsigned nblks;
static int emit_fail_at = -1; /* return -EIO on this call (0-based) */

static int rec(void *ctx, uint64_t iova, uint64_t size, uint64_t gpa, bool r, bool w)
{
    (void)ctx;
    if (emit_fail_at >= 0 && (int)nblks == emit_fail_at)
        return -EIO;
    if (nblks >= MAX_BLKS)
        return -ENOSPC;
    blks[nblks++] = (struct blk){ iova, size, gpa, r, w };
    return 0;
}

/* The walker to compare with: v1 (mode) or v2 (glx, levels, pasid). */
struct tbl_desc {
    bool v2;
    uint64_t root;
    unsigned mode, glx, levels;
    uint32_t pasid;
};

static int walk1(const struct tbl_desc *d, uint64_t iova, struct amdvi_walk_result *r)
{
    if (d->v2)
        return amdvi_walk_v2_levels(&mem, d->root, d->glx, d->levels, d->pasid, iova, r);
    return amdvi_walk_v1(&mem, d->root, d->mode, iova, r);
}

static int enumerate(const struct tbl_desc *d, uint64_t first, uint64_t last)
{
    nblks = 0;
    if (d->v2)
        return amdvi_walk_range_v2(&mem, d->root, d->glx, d->levels, d->pasid, first, last, rec,
                                   NULL);
    return amdvi_walk_range_v1(&mem, d->root, d->mode, first, last, rec, NULL);
}

static unsigned failures_shown;

static void report(const char *what, uint64_t first, uint64_t last, uint64_t at)
{
    if (failures_shown++ < 10)
        fprintf(stderr, "  %s: range [0x%" PRIx64 ", 0x%" PRIx64 "] at 0x%" PRIx64 "\n", what,
                first, last, at);
}

/* Structure: sorted, disjoint, sizes powers of two >= 4 KiB, no wrap, each
 * block touches [first, last] and is true at its first and last page. */
static void check_blocks(const struct tbl_desc *d, uint64_t first, uint64_t last)
{
    for (unsigned i = 0; i < nblks; i++) {
        const struct blk *b = &blks[i];
        uint64_t b_last = b->iova + (b->size - 1);
        bool ok = b->size >= PG && !(b->size & (b->size - 1)) && !(b->iova & (b->size - 1)) &&
                  b_last >= b->iova && b_last >= first && b->iova <= last;

        if (i > 0)
            ok = ok && blks[i - 1].iova + (blks[i - 1].size - 1) < b->iova;
        CHECK(ok);
        if (!ok)
            report("bad block", first, last, b->iova);
        uint64_t ends[2] = { b->iova, b_last & ~(PG - 1) };
        for (unsigned k = 0; k < 2; k++) {
            struct amdvi_walk_result r;
            int st = walk1(d, ends[k] | 0x123, &r);
            bool same = st == AMDVI_WALK_OK && r.gpa == b->gpa + (ends[k] - b->iova) + 0x123 &&
                        r.read == b->r && r.write == b->w;
            CHECK(same);
            if (!same)
                report("block untrue", first, last, ends[k]);
        }
    }
}

/* Index of the block covering `iova`, -1 if none (blocks sorted). */
static int covering(uint64_t iova)
{
    unsigned lo = 0, hi = nblks;

    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (blks[mid].iova + (blks[mid].size - 1) < iova)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < nblks && blks[lo].iova <= iova)
        return (int)lo;
    return -1;
}

/* The equivalence, at one 4 KiB page. */
static bool check_page(const struct tbl_desc *d, uint64_t page, unsigned *ok_pages)
{
    struct amdvi_walk_result r;
    uint64_t iova = page | (ref_rnd() & (PG - 1));
    int st = walk1(d, iova, &r);
    int b = covering(iova);

    if (st != AMDVI_WALK_OK)
        return b < 0;
    ++*ok_pages;
    return b >= 0 && blks[b].gpa + (iova - blks[b].iova) == r.gpa && blks[b].r == r.read &&
           blks[b].w == r.write;
}

/* Every page of [first, last] (at most a few thousand). */
static void check_range(const struct tbl_desc *d, uint64_t first, uint64_t last,
                        unsigned *ok_pages)
{
    int ret = enumerate(d, first, last);

    CHECK_EQ(ret, 0);
    check_blocks(d, first, last);
    for (uint64_t p = first;; p += PG) {
        bool ok = check_page(d, p, ok_pages);
        CHECK(ok);
        if (!ok)
            report("page mismatch", first, last, p);
        if (last - p < PG)
            break;
    }
}

/* A random range around `iova`: 1..2048 pages, sometimes aligned. */
static void pick_range(uint64_t iova, uint64_t *first, uint64_t *last)
{
    uint64_t pages = 1 + ref_below(ref_chance(50) ? 16 : 2048);
    uint64_t start = (iova & ~(PG - 1)) - (ref_below((unsigned)pages) * PG);

    if (ref_chance(30)) {
        uint64_t align = PG << ref_below(10);
        start = iova & ~(align - 1);
    }
    if (start > iova) /* wrapped below 0 */
        start = 0;
    *first = start;
    *last = start + pages * PG - 1;
    if (*last < start)
        *last = UINT64_MAX;
}

/* Whole address space: structure, and the equivalence at sampled IOVAs. */
static void check_full(const struct tbl_desc *d, const struct ref_tbl *root, unsigned *ok_pages)
{
    CHECK_EQ(enumerate(d, 0, UINT64_MAX), 0);
    check_blocks(d, 0, UINT64_MAX);
    for (unsigned k = 0; k < 200; k++) {
        uint64_t iova = d->v2 ? ref_v2_pick_iova(root, d->levels) : ref_v1_pick_iova(root, d->mode);
        bool ok = check_page(d, iova & ~(PG - 1), ok_pages);
        CHECK(ok);
        if (!ok)
            report("full: mismatch", 0, UINT64_MAX, iova);
    }
}

static void test_v1_random(void)
{
    unsigned ok_pages = 0, tree, k, maxblk = 0;

    for (tree = 0; tree < 120; tree++) {
        unsigned mode = 1 + tree % 6;
        struct ref_gen g = { .ram = &ram, .tbls = tbls };
        struct ref_tbl *root;

        ref_ram_reset(&ram);
        root = ref_new_tbl(&g, mode);
        ref_v1_gen_table(&g, root);
        struct tbl_desc d = { .root = root->addr, .mode = mode };
        for (k = 0; k < 25; k++) {
            uint64_t first, last;
            pick_range(ref_v1_pick_iova(root, mode), &first, &last);
            check_range(&d, first, last, &ok_pages);
        }
        check_full(&d, root, &ok_pages);
        if (nblks > maxblk)
            maxblk = nblks;
    }
    fprintf(stderr, "v1 random: %u translated pages checked, up to %u blocks\n", ok_pages,
            maxblk);
    CHECK(ok_pages > 20000);
}

static void test_v2_random(void)
{
    unsigned ok_pages = 0, tree, k;

    for (tree = 0; tree < 120; tree++) {
        unsigned levels = tree % 2 ? 5 : 4, glx = tree % 3;
        struct ref_gen g = { .ram = &ram, .tbls = tbls };
        struct ref_gcr3 c = { .glx = glx, .bad_cr3 = REF_NONRAM | 0x5000 };
        struct ref_tbl *root;

        ref_ram_reset(&ram);
        root = ref_new_tbl(&g, levels);
        c.top = ref_new_tbl(&g, glx + 1);
        ref_v2_gen_table(&g, root);
        ref_gcr3_gen(&g, c.top, root, c.bad_cr3);
        for (k = 0; k < 25; k++) {
            struct tbl_desc d = { .v2 = true, .root = c.top->addr, .glx = glx, .levels = levels,
                                  .pasid = k % 5 ? 0 : ref_gcr3_pick_pasid(&c) };
            uint64_t first, last;
            pick_range(ref_v2_pick_iova(root, levels), &first, &last);
            check_range(&d, first, last, &ok_pages);
        }
        struct tbl_desc d0 = { .v2 = true, .root = c.top->addr, .glx = glx, .levels = levels };
        check_full(&d0, root, &ok_pages);
    }
    fprintf(stderr, "v2 random: %u translated pages checked\n", ok_pages);
    CHECK(ok_pages > 20000);
}

/* ---- hand-built tables ------------------------------------------------------ */

static uint64_t page(void)
{
    uint64_t p = ref_ram_page(&ram);

    if (!p)
        abort();
    return p;
}

static void put(uint64_t table, unsigned idx, uint64_t val)
{
    ref_ram_write64(&ram, table + idx * 8ULL, val);
}

static uint64_t v1_pde(uint64_t table, unsigned next)
{
    return AMDVI_PTE_PR | AMDVI_PTE_IR | AMDVI_PTE_IW | FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, next) |
           table;
}

static uint64_t v1_pte(uint64_t frame, bool r, bool w)
{
    return AMDVI_PTE_PR | (r ? AMDVI_PTE_IR : 0) | (w ? AMDVI_PTE_IW : 0) | frame;
}

static uint64_t v1_sized(uint64_t frame, unsigned shift)
{
    return AMDVI_PTE_PR | AMDVI_PTE_IR | AMDVI_PTE_IW |
           FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, AMDVI_NL_SIZED) | amdvi_pte_sized_addr(frame, shift);
}

static void expect_blk(unsigned i, uint64_t iova, uint64_t size, uint64_t gpa, bool r, bool w)
{
    CHECK(i < nblks);
    if (i >= nblks)
        return;
    CHECK_EQ(blks[i].iova, iova);
    CHECK_EQ(blks[i].size, size);
    CHECK_EQ(blks[i].gpa, gpa);
    CHECK_EQ(blks[i].r, r);
    CHECK_EQ(blks[i].w, w);
}

static void test_v1_sized_and_skip(void)
{
    struct tbl_desc d = { .mode = 3 };
    uint64_t l3, l2, l1, l1b;

    ref_ram_reset(&ram);
    l3 = page(), l2 = page(), l1 = page(), l1b = page();
    d.root = l3;
    put(l3, 0, v1_pde(l2, 2));
    put(l2, 0, v1_pde(l1, 1));
    /* 32 KiB page at iova 0x8000 replicated consistently over entries 8..15 */
    for (unsigned i = 8; i < 16; i++)
        put(l1, i, v1_sized(0x5000000, 15) | (i & 1 ? AMDVI_PTE_A : 0)); /* ignored bits differ */
    /* 16 KiB page at 0x20000: entry 0x21 disagrees (other frame) */
    for (unsigned i = 0x20; i < 0x24; i++)
        put(l1, i, v1_sized(i == 0x21 ? 0x7000000 : 0x6000000, 14));
    /* 4 KiB page with no permissions at all: still emitted (walker: OK) */
    put(l1, 0x30, v1_pte(0x9000, false, false));
    /* level 3 entry 1 skips level 2: [1 GiB, 1 GiB + 2 MiB) only */
    put(l3, 1, v1_pde(l1b, 1));
    put(l1b, 5, v1_pte(0xa000, true, false));

    /* one page of the 32 KiB page: listed whole */
    CHECK_EQ(enumerate(&d, 0xa000, 0xafff), 0);
    CHECK_EQ(nblks, 1);
    expect_blk(0, 0x8000, KIB(32), 0x5000000, true, true);
    /* the inconsistent 16 KiB page: one block per entry as the walker sees it */
    CHECK_EQ(enumerate(&d, 0x20000, 0x23fff), 0);
    CHECK_EQ(nblks, 4);
    expect_blk(0, 0x20000, PG, 0x6000000, true, true);
    expect_blk(1, 0x21000, PG, 0x7001000, true, true);
    expect_blk(2, 0x22000, PG, 0x6002000, true, true);
    expect_blk(3, 0x23000, PG, 0x6003000, true, true);
    /* starting in the middle of the inconsistent page */
    CHECK_EQ(enumerate(&d, 0x22000, 0x22fff), 0);
    CHECK_EQ(nblks, 1);
    expect_blk(0, 0x22000, PG, 0x6002000, true, true);
    /* everything */
    CHECK_EQ(enumerate(&d, 0, UINT64_MAX), 0);
    CHECK_EQ(nblks, 7);
    expect_blk(0, 0x8000, KIB(32), 0x5000000, true, true);
    expect_blk(5, 0x30000, PG, 0x9000, false, false);
    expect_blk(6, GIB(1) + 0x5000, PG, 0xa000, true, false);
    /* the skipped-level window: nothing beyond its 2 MiB */
    CHECK_EQ(enumerate(&d, GIB(1) + MIB(2), GIB(2) - 1), 0);
    CHECK_EQ(nblks, 0);
    /* beyond a mode-3 table's 39 bits: nothing */
    CHECK_EQ(enumerate(&d, 1ULL << 39, UINT64_MAX), 0);
    CHECK_EQ(nblks, 0);
    /* empty or reversed range, bad mode */
    CHECK_EQ(enumerate(&d, 0x9000, 0x8000), 0);
    CHECK_EQ(nblks, 0);
    d.mode = 7;
    CHECK_EQ(enumerate(&d, 0, UINT64_MAX), 0);
    CHECK_EQ(nblks, 0);
    d.mode = 3;

    /* the emit callback's error stops the enumeration and is returned */
    emit_fail_at = 2;
    CHECK_EQ(enumerate(&d, 0, UINT64_MAX), -EIO);
    CHECK_EQ(nblks, 2);
    emit_fail_at = -1;
}

static void test_v1_mode6_top(void)
{
    struct tbl_desc d = { .mode = 6 };
    uint64_t l6, l5;

    ref_ram_reset(&ram);
    l6 = page(), l5 = page();
    d.root = l6;
    put(l6, 0x7f, v1_pde(l5, 5));
    put(l5, 0x1ff, v1_pte(0, true, true)); /* a 256 TiB page at the very top */
    CHECK_EQ(enumerate(&d, UINT64_MAX - 0xfff, UINT64_MAX), 0);
    CHECK_EQ(nblks, 1);
    expect_blk(0, 0xffff000000000000ULL, 1ULL << 48, 0, true, true);
}

/* A DAG: every entry of every level points at the same next table. */
static void test_caps(void)
{
    struct tbl_desc d = { .mode = 4 };
    uint64_t t[4];

    ref_ram_reset(&ram);
    for (unsigned l = 0; l < 4; l++)
        t[l] = page();
    for (unsigned i = 0; i < 512; i++) {
        put(t[3], i, v1_pde(t[2], 3));
        put(t[2], i, v1_pde(t[1], 2));
        put(t[1], i, v1_pde(t[0], 1));
    }
    d.root = t[3];
    /* empty leaves: 2^27 directory reads -> the read cap */
    clock_t t0 = clock();
    ram.reads = 0;
    CHECK_EQ(enumerate(&d, 0, UINT64_MAX), -E2BIG);
    CHECK_EQ(nblks, 0);
    CHECK(ram.reads <= AMDVI_WALK_RANGE_MAX_READS + 1u);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    fprintf(stderr, "caps: hostile tables cut off in %.2f s\n", secs);
    CHECK(secs < 5.0);
}

static int count_only(void *ctx, uint64_t iova, uint64_t size, uint64_t gpa, bool r, bool w)
{
    (void)iova, (void)size, (void)gpa, (void)r, (void)w;
    ++*(unsigned *)ctx;
    return 0;
}

static void test_emit_cap(void)
{
    uint64_t t[3];
    unsigned count = 0;

    ref_ram_reset(&ram);
    for (unsigned l = 0; l < 3; l++)
        t[l] = page();
    for (unsigned i = 0; i < 512; i++) {
        put(t[2], i, v1_pde(t[1], 2));
        put(t[1], i, v1_pde(t[0], 1));
        put(t[0], i, v1_pte((uint64_t)i << 12, true, true));
    }
    /* 2^27 pages mapped through shared tables: cut off at the emit cap */
    CHECK_EQ(amdvi_walk_range_v1(&mem, t[2], 3, 0, UINT64_MAX, count_only, &count), -E2BIG);
    CHECK_EQ(count, AMDVI_WALK_RANGE_MAX_EMIT);
}

#define LX_V2_TABLE (AMDVI_GPTE_P | AMDVI_GPTE_RW | AMDVI_GPTE_US | AMDVI_GPTE_A)
#define LX_V2_LEAF (AMDVI_GPTE_P | AMDVI_GPTE_US | AMDVI_GPTE_A | AMDVI_GPTE_D)

static void test_v2_halves(void)
{
    struct tbl_desc d = { .v2 = true, .glx = 0, .levels = 4 };
    uint64_t gcr3, cr3, l3a, l3b, l2;

    ref_ram_reset(&ram);
    gcr3 = page(), cr3 = page(), l3a = page(), l3b = page(), l2 = page();
    d.root = gcr3;
    put(gcr3, 0, cr3 | AMDVI_GCR3_V);
    put(cr3, 0, l3a | LX_V2_TABLE);
    put(cr3, 0x1ff, l3b | LX_V2_TABLE);
    put(l3a, 1, GIB(2) | LX_V2_LEAF | AMDVI_GPTE_PS | AMDVI_GPTE_RW);       /* 1 GiB */
    put(l3a, 2, l2 | LX_V2_TABLE);
    put(l2, 3, MIB(8) | AMDVI_GPTE_LARGE_PAT | LX_V2_LEAF | AMDVI_GPTE_PS); /* 2 MiB, RO */
    put(l2, 4, MIB(8) | KIB(8) | LX_V2_LEAF | AMDVI_GPTE_PS);               /* misaligned */
    put(l3b, 0x1ff, GIB(3) | LX_V2_LEAF | AMDVI_GPTE_PS | AMDVI_GPTE_RW);   /* top 1 GiB */

    CHECK_EQ(enumerate(&d, 0, UINT64_MAX), 0);
    CHECK_EQ(nblks, 3);
    expect_blk(0, GIB(1), GIB(1), GIB(2), true, true);
    expect_blk(1, GIB(2) + MIB(6), MIB(2), MIB(8), true, false);
    expect_blk(2, 0xffffffffc0000000ULL, GIB(1), GIB(3), true, true);
    /* only the upper half */
    CHECK_EQ(enumerate(&d, 1ULL << 47, UINT64_MAX), 0);
    CHECK_EQ(nblks, 1);
    expect_blk(0, 0xffffffffc0000000ULL, GIB(1), GIB(3), true, true);
    /* the non-canonical hole translates nothing */
    CHECK_EQ(enumerate(&d, 1ULL << 47, 0xffff7fffffffffffULL), 0);
    CHECK_EQ(nblks, 0);
    /* PASID 1 has no GCR3 entry; 5 levels is another table shape */
    d.pasid = 1;
    CHECK_EQ(enumerate(&d, 0, UINT64_MAX), 0);
    CHECK_EQ(nblks, 0);
    d.pasid = 0;
    d.levels = 3;
    CHECK_EQ(enumerate(&d, 0, UINT64_MAX), 0);
    CHECK_EQ(nblks, 0);
}

int main(void)
{
    const char *env = getenv("SLUICE_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();

    fprintf(stderr, "test_amdvi_walk_range: seed %" PRIu64 " (SLUICE_TEST_SEED to replay)\n",
            seed);
    ref_seed(seed);
    if (ref_ram_init(&ram))
        return CHECK_SKIP;
    mem = ref_ram_mem(&ram);
    test_v1_sized_and_skip();
    test_v1_mode6_top();
    test_v2_halves();
    test_caps();
    test_emit_cap();
    test_v1_random();
    test_v2_random();
    ref_ram_free(&ram);
    return check_result("test_amdvi_walk_range");
}
