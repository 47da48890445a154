/* SPDX-License-Identifier: MIT */
/*
 * The shadow record (iommu/shadow.c) against a fake host container that
 * behaves like VFIO type1v2: overlapping maps are refused with -EEXIST, an
 * unmap that would split a mapping with -EINVAL, maps without access with
 * -EINVAL; failures can be injected. Every call is logged so tests can assert
 * the exact sequence, and a randomized run checks host and record against a
 * reference page model after every sync.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "iommu/shadow.h"
#include "vmm/log.h"

#define PG 0x1000ull
#define MB2 0x200000ull

/* ---- fake host ---- */

#define FAKE_MAX_MAPS 4096
#define FAKE_MAX_CALLS 4096

struct fake_call {
    bool map;
    uint64_t iova, size, gpa;
    bool read, write;
    int ret;
};

struct fake_host {
    struct iommu_mapping maps[FAKE_MAX_MAPS];
    size_t nmaps;
    struct fake_call calls[FAKE_MAX_CALLS];
    size_t ncalls;
    /* Fail the (n+1)-th map / unmap from now on (-1: never), with `fail_err`. */
    long fail_map_after, fail_unmap_after;
    int fail_err;
};

static void fake_log(struct fake_host *h, bool map, uint64_t iova, uint64_t size, uint64_t gpa,
                     bool r, bool w, int ret)
{
    if (h->ncalls < FAKE_MAX_CALLS)
        h->calls[h->ncalls] = (struct fake_call){ map, iova, size, gpa, r, w, ret };
    h->ncalls++;
}

static bool injected(long *after)
{
    if (*after < 0)
        return false;
    if (*after == 0) {
        *after = -1;
        return true;
    }
    (*after)--;
    return false;
}

static int fake_map(void *opaque, uint64_t iova, uint64_t size, uint64_t gpa, bool r, bool w)
{
    struct fake_host *h = opaque;
    uint64_t last = iova + size - 1;
    int ret = 0;

    if (!size || ((iova | size | gpa) & (PG - 1)) || last < iova || (!r && !w))
        ret = -EINVAL;
    for (size_t i = 0; !ret && i < h->nmaps; i++) {
        const struct iommu_mapping *m = &h->maps[i];

        if (m->iova <= last && iova <= m->iova + m->size - 1)
            ret = -EEXIST;
    }
    if (!ret && injected(&h->fail_map_after))
        ret = h->fail_err;
    if (!ret && h->nmaps == FAKE_MAX_MAPS)
        ret = -ENOSPC;
    if (!ret)
        h->maps[h->nmaps++] = (struct iommu_mapping){ iova, size, gpa, r, w };
    fake_log(h, true, iova, size, gpa, r, w, ret);
    return ret;
}

/* type1v2: every mapping touching the range must lie inside it. */
static int fake_unmap(void *opaque, uint64_t iova, uint64_t size)
{
    struct fake_host *h = opaque;
    uint64_t last = iova + size - 1;
    int ret = 0;

    for (size_t i = 0; i < h->nmaps; i++) {
        const struct iommu_mapping *m = &h->maps[i];
        uint64_t mlast = m->iova + m->size - 1;

        if (m->iova <= last && iova <= mlast && (m->iova < iova || mlast > last))
            ret = -EINVAL;
    }
    if (!ret && injected(&h->fail_unmap_after))
        ret = h->fail_err;
    if (!ret) {
        size_t kept = 0;

        for (size_t i = 0; i < h->nmaps; i++) {
            const struct iommu_mapping *m = &h->maps[i];

            if (!(m->iova >= iova && m->iova + m->size - 1 <= last))
                h->maps[kept++] = *m;
        }
        h->nmaps = kept;
    }
    fake_log(h, false, iova, size, 0, false, false, ret);
    return ret;
}

static void fake_init(struct fake_host *h)
{
    memset(h, 0, sizeof(*h));
    h->fail_map_after = -1;
    h->fail_unmap_after = -1;
    h->fail_err = -EIO;
}

static struct shadow *make_shadow(struct fake_host *h)
{
    struct shadow_host_ops ops = { .map = fake_map, .unmap = fake_unmap, .opaque = h };
    struct shadow *s = NULL;
    int ret;

    fake_init(h);
    ret = shadow_create(&ops, &s);
    CHECK_EQ(ret, 0);
    if (ret)
        exit(1);
    return s;
}

static int cmp_iova(const void *a, const void *b)
{
    const struct iommu_mapping *x = a, *y = b;

    return x->iova < y->iova ? -1 : x->iova > y->iova;
}

static bool same_mapping(const struct iommu_mapping *a, const struct iommu_mapping *b)
{
    return a->iova == b->iova && a->size == b->size && a->gpa == b->gpa && a->read == b->read &&
           a->write == b->write;
}

/* The record lists exactly the fake host's mappings, in iova order. */
static bool record_equals_host(const struct shadow *s, struct fake_host *h)
{
    qsort(h->maps, h->nmaps, sizeof(h->maps[0]), cmp_iova);
    if (shadow_count(s) != h->nmaps)
        return false;
    for (size_t i = 0; i < h->nmaps; i++) {
        struct iommu_mapping e;

        shadow_extent(s, i, &e);
        if (!same_mapping(&e, &h->maps[i]))
            return false;
    }
    return true;
}

/* The host holds exactly `exp` (sorted, in that segmentation). */
static bool host_is(struct fake_host *h, const struct iommu_mapping *exp, size_t n)
{
    qsort(h->maps, h->nmaps, sizeof(h->maps[0]), cmp_iova);
    if (h->nmaps != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!same_mapping(&h->maps[i], &exp[i]))
            return false;
    }
    return true;
}

static bool call_is(const struct fake_host *h, size_t i, bool map, uint64_t iova, uint64_t size,
                    uint64_t gpa)
{
    const struct fake_call *c = &h->calls[i];

    if (i >= h->ncalls || c->map != map || c->iova != iova || c->size != size)
        return false;
    return !map || c->gpa == gpa;
}

static struct iommu_mapping M(uint64_t iova, uint64_t size, uint64_t gpa)
{
    return (struct iommu_mapping){ iova, size, gpa, true, true };
}

static struct iommu_mapping MP(uint64_t iova, uint64_t size, uint64_t gpa, bool r, bool w)
{
    return (struct iommu_mapping){ iova, size, gpa, r, w };
}

static int sync1(struct shadow *s, uint64_t first, uint64_t last, struct iommu_mapping m)
{
    return shadow_sync(s, first, last, &m, 1);
}

/* ---- directed tests ---- */

static void test_single_pages(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    struct iommu_mapping a = M(0x10000, PG, 0x800000), b = M(0x20000, PG, 0x900000);
    struct iommu_mapping exp[2] = { a, b };
    struct shadow_stats st;

    CHECK_EQ(sync1(s, a.iova, a.iova + PG - 1, a), 0);
    CHECK_EQ(sync1(s, b.iova, b.iova + PG - 1, b), 0);
    CHECK_EQ(h.ncalls, 2);
    CHECK(call_is(&h, 0, true, 0x10000, PG, 0x800000));
    CHECK(call_is(&h, 1, true, 0x20000, PG, 0x900000));
    CHECK(host_is(&h, exp, 2));
    CHECK(record_equals_host(s, &h));
    CHECK(shadow_matches(s, exp, 2));
    CHECK(!shadow_matches(s, exp, 1));
    CHECK(!shadow_matches(s, &exp[1], 1));
    CHECK(!shadow_matches(s, NULL, 0));
    shadow_get_stats(s, &st);
    CHECK_EQ(st.syncs, 2);
    CHECK_EQ(st.maps, 2);
    CHECK_EQ(st.unmaps, 0);
    CHECK_EQ(st.remaps, 0);
    CHECK_EQ(st.errors, 0);
    shadow_destroy(s);
}

static void test_coalesce(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    struct iommu_mapping want[8], whole = M(0x100000, 8 * PG, 0x4000000);

    for (int i = 0; i < 8; i++)
        want[i] = M(0x100000 + i * PG, PG, 0x4000000 + i * PG);
    CHECK_EQ(shadow_sync(s, 0x100000, 0x100000 + 8 * PG - 1, want, 8), 0);
    CHECK_EQ(h.ncalls, 1);
    CHECK(call_is(&h, 0, true, 0x100000, 8 * PG, 0x4000000));
    CHECK(host_is(&h, &whole, 1));
    CHECK(record_equals_host(s, &h));
    CHECK(shadow_matches(s, want, 8));
    CHECK(shadow_matches(s, &whole, 1));

    /* Identical want again: nothing to do. */
    h.ncalls = 0;
    CHECK_EQ(shadow_sync(s, 0x100000, 0x100000 + 8 * PG - 1, want, 8), 0);
    CHECK_EQ(h.ncalls, 0);
    /* A one-page invalidation inside the extent with the same translation. */
    CHECK_EQ(sync1(s, 0x100000 + 3 * PG, 0x100000 + 4 * PG - 1, want[3]), 0);
    CHECK_EQ(h.ncalls, 0);
    CHECK_EQ(shadow_count(s), 1);
    shadow_destroy(s);
}

static void test_no_coalesce_gpa_gap(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    struct iommu_mapping want[3] = {
        M(0x100000, PG, 0x4000000),
        M(0x101000, PG, 0x4002000),  /* gpa not contiguous */
        MP(0x102000, PG, 0x4003000, true, false), /* gpa contiguous, access differs */
    };

    CHECK_EQ(shadow_sync(s, 0x100000, 0x102fff, want, 3), 0);
    CHECK_EQ(h.ncalls, 3);
    CHECK(host_is(&h, want, 3));
    CHECK(record_equals_host(s, &h));
    /* An iova gap with contiguous gpa is not coalesced either. */
    struct iommu_mapping gap[2] = { M(0x200000, PG, 0x5000000), M(0x202000, PG, 0x5001000) };

    h.ncalls = 0;
    CHECK_EQ(shadow_sync(s, 0x200000, 0x202fff, gap, 2), 0);
    CHECK_EQ(h.ncalls, 2);
    CHECK_EQ(shadow_count(s), 5);
    shadow_destroy(s);
}

static void test_permission_change(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    struct iommu_mapping rw = M(0x300000, 4 * PG, 0x6000000);
    struct iommu_mapping ro = MP(0x300000, 4 * PG, 0x6000000, true, false);
    struct shadow_stats st;

    CHECK_EQ(sync1(s, rw.iova, rw.iova + rw.size - 1, rw), 0);
    h.ncalls = 0;
    CHECK_EQ(sync1(s, ro.iova, ro.iova + ro.size - 1, ro), 0);
    CHECK_EQ(h.ncalls, 2);
    CHECK(call_is(&h, 0, false, rw.iova, rw.size, 0));
    CHECK(call_is(&h, 1, true, ro.iova, ro.size, ro.gpa));
    CHECK(!h.calls[1].write && h.calls[1].read);
    CHECK(host_is(&h, &ro, 1));
    CHECK(record_equals_host(s, &h));
    CHECK(shadow_matches(s, &ro, 1));
    CHECK(!shadow_matches(s, &rw, 1));
    shadow_get_stats(s, &st);
    CHECK_EQ(st.remaps, 0);

    /* An entry without access: unmapped, nothing mapped (a DMA must fault). */
    h.ncalls = 0;
    CHECK_EQ(sync1(s, ro.iova, ro.iova + ro.size - 1, MP(ro.iova, ro.size, ro.gpa, false, false)),
             0);
    CHECK_EQ(h.ncalls, 1);
    CHECK_EQ(h.nmaps, 0);
    CHECK_EQ(shadow_count(s), 0);
    shadow_destroy(s);
}

static void test_hole_in_large_page(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    struct iommu_mapping big = M(0x40000000, MB2, 0x80000000);
    uint64_t hole = big.iova + 5 * PG;
    struct iommu_mapping exp[2] = {
        M(big.iova, 5 * PG, big.gpa),
        M(hole + PG, MB2 - 6 * PG, big.gpa + 6 * PG),
    };
    struct shadow_stats st;

    CHECK_EQ(sync1(s, big.iova, big.iova + MB2 - 1, big), 0);
    h.ncalls = 0;
    CHECK_EQ(shadow_sync(s, hole, hole + PG - 1, NULL, 0), 0);
    CHECK_EQ(h.ncalls, 3);
    CHECK(call_is(&h, 0, false, big.iova, MB2, 0));
    CHECK(call_is(&h, 1, true, exp[0].iova, exp[0].size, exp[0].gpa));
    CHECK(call_is(&h, 2, true, exp[1].iova, exp[1].size, exp[1].gpa));
    CHECK(host_is(&h, exp, 2));
    CHECK(record_equals_host(s, &h));
    CHECK(shadow_matches(s, exp, 2));
    CHECK(!shadow_matches(s, &big, 1));
    shadow_get_stats(s, &st);
    CHECK_EQ(st.unmaps, 1);
    CHECK_EQ(st.maps, 3);
    CHECK_EQ(st.remaps, 2);

    /* The guest maps the page again: one map, the neighbours stay. */
    h.ncalls = 0;
    CHECK_EQ(sync1(s, hole, hole + PG - 1, M(hole, PG, big.gpa + 5 * PG)), 0);
    CHECK_EQ(h.ncalls, 1);
    CHECK(call_is(&h, 0, true, hole, PG, big.gpa + 5 * PG));
    CHECK_EQ(shadow_count(s), 3);
    CHECK(shadow_matches(s, &big, 1));
    CHECK(record_equals_host(s, &h));

    /* Invalidating through one 4 KiB address of the 2 MiB leaf, listed whole:
     * the three extents become one. */
    h.ncalls = 0;
    CHECK_EQ(sync1(s, hole, hole, big), 0);
    CHECK_EQ(h.ncalls, 4);
    CHECK(host_is(&h, &big, 1));
    CHECK(record_equals_host(s, &h));
    shadow_destroy(s);
}

/* A cut piece coalesced with a `want` entry that keeps the old translation:
 * the map restores part of the extent and counts as a remap. */
static void test_remap_coalesced_with_want(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    struct iommu_mapping big = M(0x40000000, MB2, 0x80000000);
    struct iommu_mapping exp[2] = { M(big.iova, 5 * PG, big.gpa),
                                    M(big.iova + 6 * PG, MB2 - 6 * PG, big.gpa + 6 * PG) };
    struct shadow_stats st;

    CHECK_EQ(sync1(s, big.iova, big.iova, big), 0);
    h.ncalls = 0;
    /* Pages 5..6 invalidated; page 5 gone, page 6 unchanged. */
    CHECK_EQ(sync1(s, big.iova + 5 * PG, big.iova + 7 * PG - 1,
                   M(big.iova + 6 * PG, PG, big.gpa + 6 * PG)), 0);
    CHECK_EQ(h.ncalls, 3);
    CHECK(host_is(&h, exp, 2));
    CHECK(record_equals_host(s, &h));
    shadow_get_stats(s, &st);
    CHECK_EQ(st.unmaps, 1);
    CHECK_EQ(st.remaps, 2);
    shadow_destroy(s);
}

/* Four extents of four pages, contiguous in iova, not in gpa. */
static void map_four(struct shadow *s, uint64_t base, struct iommu_mapping e[4])
{
    for (int i = 0; i < 4; i++) {
        e[i] = M(base + i * 4 * PG, 4 * PG, 0x10000000 + i * 0x100000);
        CHECK_EQ(sync1(s, e[i].iova, e[i].iova + e[i].size - 1, e[i]), 0);
    }
}

static void test_partial_unmap_across_extents(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    const uint64_t base = 0x1000000;
    struct iommu_mapping e[4];
    struct shadow_stats st;

    map_four(s, base, e);
    h.ncalls = 0;
    /* Pages 2..13 of 16. */
    CHECK_EQ(shadow_sync(s, base + 2 * PG, base + 14 * PG - 1, NULL, 0), 0);
    {
        struct iommu_mapping exp[2] = { M(base, 2 * PG, e[0].gpa),
                                        M(base + 14 * PG, 2 * PG, e[3].gpa + 2 * PG) };

        CHECK_EQ(h.ncalls, 6);
        for (int i = 0; i < 4; i++)
            CHECK(call_is(&h, i, false, e[i].iova, e[i].size, 0));
        CHECK(call_is(&h, 4, true, exp[0].iova, exp[0].size, exp[0].gpa));
        CHECK(call_is(&h, 5, true, exp[1].iova, exp[1].size, exp[1].gpa));
        CHECK(host_is(&h, exp, 2));
        CHECK(record_equals_host(s, &h));
    }
    shadow_get_stats(s, &st);
    CHECK_EQ(st.remaps, 2);
    CHECK(shadow_clear(s) == 0);

    /* The same range with a new page inside, the edges exactly on extent
     * boundaries: the untouched outer extents stay. */
    map_four(s, base, e);
    h.ncalls = 0;
    CHECK_EQ(sync1(s, base + 4 * PG, base + 12 * PG - 1, M(base + 6 * PG, PG, 0x20000000)), 0);
    {
        struct iommu_mapping exp[3] = { e[0], M(base + 6 * PG, PG, 0x20000000), e[3] };

        CHECK_EQ(h.ncalls, 3);
        CHECK(host_is(&h, exp, 3));
        CHECK(record_equals_host(s, &h));
    }
    /* A range ending exactly on an extent's first byte still cuts it. */
    h.ncalls = 0;
    CHECK_EQ(shadow_sync(s, base + 11 * PG, base + 12 * PG, NULL, 0), 0);
    {
        struct iommu_mapping exp[3] = { e[0], M(base + 6 * PG, PG, 0x20000000),
                                        M(base + 13 * PG, 3 * PG, e[3].gpa + PG) };

        CHECK_EQ(h.ncalls, 2);
        CHECK(host_is(&h, exp, 3));
        CHECK(record_equals_host(s, &h));
    }
    shadow_destroy(s);
}

static void test_large_replaces_small(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    const uint64_t base = 0x80000000, gbase = 0x100000000;
    static struct iommu_mapping small[512];
    struct iommu_mapping big = M(base, MB2, gbase + MB2), other = M(base + 2 * MB2, PG, gbase);

    /* 512 pages in reverse gpa order: 512 extents. */
    for (int i = 0; i < 512; i++)
        small[i] = M(base + i * PG, PG, gbase + (511 - i) * PG);
    CHECK_EQ(shadow_sync(s, base, base + MB2 - 1, small, 512), 0);
    CHECK_EQ(sync1(s, other.iova, other.iova, other), 0);
    CHECK_EQ(shadow_count(s), 513);
    CHECK(record_equals_host(s, &h));

    /* The guest installs a 2 MiB page and invalidates one 4 KiB address. */
    h.ncalls = 0;
    CHECK_EQ(sync1(s, base + 100 * PG, base + 100 * PG, big), 0);
    CHECK_EQ(h.ncalls, 513);
    CHECK(call_is(&h, 512, true, big.iova, MB2, big.gpa));
    CHECK_EQ(shadow_count(s), 2);
    {
        struct iommu_mapping exp[2] = { big, other };

        CHECK(host_is(&h, exp, 2));
        CHECK(shadow_matches(s, exp, 2));
    }
    CHECK(record_equals_host(s, &h));

    /* And back: the 2 MiB page split into 4 KiB pages. */
    h.ncalls = 0;
    CHECK_EQ(shadow_sync(s, base, base + MB2 - 1, small, 512), 0);
    CHECK_EQ(h.ncalls, 513);
    CHECK(call_is(&h, 0, false, big.iova, MB2, 0));
    CHECK_EQ(shadow_count(s), 513);
    CHECK(record_equals_host(s, &h));

    /* A 2 MiB page listed for a range touching only some small extents:
     * all small extents under it go, the unrelated one stays. */
    CHECK(shadow_clear(s) == 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(sync1(s, base + i * 2 * PG, base + i * 2 * PG, M(base + i * 2 * PG, PG, gbase)),
                 0);
    CHECK_EQ(sync1(s, other.iova, other.iova, other), 0);
    h.ncalls = 0;
    CHECK_EQ(sync1(s, base, base + PG - 1, big), 0);
    CHECK_EQ(h.ncalls, 5);
    {
        struct iommu_mapping exp[2] = { big, other };

        CHECK(host_is(&h, exp, 2));
    }
    CHECK(record_equals_host(s, &h));
    shadow_destroy(s);
}

static void test_full_range_and_clear(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    struct iommu_mapping top = M(UINT64_MAX - PG + 1, PG, 0x1000);
    struct iommu_mapping low = M(0, 3 * PG, 0x5000);
    struct iommu_mapping want[2] = { low, top };
    struct shadow_stats st;

    /* Both ends of the address space. */
    CHECK_EQ(shadow_sync(s, 0, UINT64_MAX, want, 2), 0);
    CHECK(host_is(&h, want, 2));
    CHECK(record_equals_host(s, &h));
    CHECK(shadow_matches(s, want, 2));
    h.ncalls = 0;
    CHECK_EQ(shadow_sync(s, 0, UINT64_MAX, want, 2), 0);
    CHECK_EQ(h.ncalls, 0);
    CHECK_EQ(sync1(s, UINT64_MAX, UINT64_MAX, top), 0);
    CHECK_EQ(h.ncalls, 0);
    CHECK_EQ(sync1(s, 0x400000, 0x400fff, M(0x400000, PG, 0x9000)), 0);
    CHECK_EQ(shadow_count(s), 3);

    CHECK_EQ(shadow_sync(s, 0, UINT64_MAX, NULL, 0), 0);
    CHECK_EQ(h.nmaps, 0);
    CHECK_EQ(shadow_count(s), 0);
    CHECK(shadow_matches(s, NULL, 0));

    /* shadow_clear unmaps everything; a failed unmap stays recorded. */
    CHECK_EQ(shadow_sync(s, 0, UINT64_MAX, want, 2), 0);
    CHECK_EQ(sync1(s, 0x400000, 0x400fff, M(0x400000, PG, 0x9000)), 0);
    h.ncalls = 0;
    h.fail_unmap_after = 1;
    CHECK_EQ(shadow_clear(s), -EIO);
    CHECK_EQ(h.ncalls, 3);
    CHECK_EQ(shadow_count(s), 1);
    CHECK(record_equals_host(s, &h));
    {
        struct iommu_mapping e;

        shadow_extent(s, 0, &e);
        CHECK_EQ(e.iova, 0x400000);
    }
    CHECK_EQ(shadow_clear(s), 0);
    CHECK_EQ(shadow_count(s), 0);
    CHECK_EQ(h.nmaps, 0);
    shadow_get_stats(s, &st);
    CHECK_EQ(st.errors, 1);
    shadow_destroy(s);
    shadow_destroy(NULL);
}

static void test_validation(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    struct iommu_mapping seed = M(0x100000, PG, 0x1000);
    struct shadow_stats before, after;
    struct shadow_host_ops bad_ops = { 0 };
    struct shadow *bad = s; /* must come back NULL */
    const uint64_t f = 0x100000, l = 0x1fffff;
    struct {
        struct iommu_mapping w[2];
        size_t n;
        uint64_t first, last;
    } cases[] = {
        { { M(0x102000, PG, 0), M(0x101000, PG, 0) }, 2, f, l },       /* unsorted */
        { { M(0x101000, 2 * PG, 0), M(0x102000, PG, 0) }, 2, f, l },   /* overlapping */
        { { M(0x101000, PG, 0), M(0x101000, PG, 0) }, 2, f, l },       /* duplicate */
        { { M(0x101800, PG, 0) }, 1, f, l },                           /* iova unaligned */
        { { M(0x101000, 0x1800, 0) }, 1, f, l },                       /* size unaligned */
        { { M(0x101000, PG, 0x800) }, 1, f, l },                       /* gpa unaligned */
        { { M(0x101000, 0, 0) }, 1, f, l },                            /* size 0 */
        { { M(UINT64_MAX - PG + 1, 2 * PG, 0) }, 1, 0, UINT64_MAX },   /* iova wraps */
        { { M(0x101000, 2 * PG, UINT64_MAX - PG + 1) }, 1, f, l },     /* gpa wraps */
        { { M(0x300000, PG, 0) }, 1, f, l },                           /* outside range */
        { { M(0x101000, PG, 0) }, 1, l, f },                           /* first > last */
    };

    CHECK_EQ(shadow_create(&bad_ops, &bad), -EINVAL);
    CHECK(bad == NULL);
    CHECK_EQ(sync1(s, seed.iova, seed.iova, seed), 0);
    shadow_get_stats(s, &before);
    h.ncalls = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int ret = shadow_sync(s, cases[i].first, cases[i].last, cases[i].w, cases[i].n);

        if (ret != -EINVAL)
            fprintf(stderr, "validation case %zu: %d\n", i, ret);
        CHECK_EQ(ret, -EINVAL);
        CHECK(!shadow_matches(s, cases[i].w, cases[i].n) || cases[i].n == 0);
    }
    CHECK_EQ(shadow_sync(s, f, l, NULL, 1), -EINVAL);
    CHECK_EQ(h.ncalls, 0);
    CHECK(host_is(&h, &seed, 1));
    CHECK(record_equals_host(s, &h));
    shadow_get_stats(s, &after);
    CHECK_EQ(after.syncs, before.syncs);

    /* Unaligned range bounds are rounded out to whole pages. */
    CHECK_EQ(shadow_sync(s, seed.iova + 0x800, seed.iova + 0x801, NULL, 0), 0);
    CHECK_EQ(h.nmaps, 0);
    CHECK_EQ(shadow_count(s), 0);
    shadow_destroy(s);
}

static void test_injected_map_failure(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    struct iommu_mapping big = M(0x40000000, MB2, 0x80000000);
    uint64_t hole = big.iova + 5 * PG;
    struct iommu_mapping want[3] = { M(0x1000000, PG, 0x1000), M(0x1002000, PG, 0x2000),
                                     M(0x1004000, PG, 0x3000) };
    struct shadow_stats st;

    /* The first of three maps fails: the other two are still made. */
    h.fail_map_after = 0;
    CHECK_EQ(shadow_sync(s, 0x1000000, 0x1004fff, want, 3), -EIO);
    CHECK_EQ(h.ncalls, 3);
    CHECK(host_is(&h, &want[1], 2));
    CHECK(record_equals_host(s, &h));
    /* A retry maps only what is missing. */
    h.ncalls = 0;
    CHECK_EQ(shadow_sync(s, 0x1000000, 0x1004fff, want, 3), 0);
    CHECK_EQ(h.ncalls, 1);
    CHECK(host_is(&h, want, 3));
    CHECK(shadow_clear(s) == 0);

    /* A hole in a 2 MiB extent whose second remap fails. */
    CHECK_EQ(sync1(s, big.iova, big.iova, big), 0);
    h.fail_map_after = 1;
    h.fail_err = -ENOMEM;
    CHECK_EQ(shadow_sync(s, hole, hole + PG - 1, NULL, 0), -ENOMEM);
    {
        struct iommu_mapping exp = M(big.iova, 5 * PG, big.gpa);

        CHECK(host_is(&h, &exp, 1));
    }
    CHECK(record_equals_host(s, &h));
    shadow_get_stats(s, &st);
    CHECK_EQ(st.errors, 2);
    /* A full resync repairs it. */
    CHECK_EQ(sync1(s, 0, UINT64_MAX, big), 0);
    CHECK(host_is(&h, &big, 1));
    CHECK(record_equals_host(s, &h));
    shadow_destroy(s);
}

static void test_injected_unmap_failure(void)
{
    struct fake_host h;
    struct shadow *s = make_shadow(&h);
    const uint64_t base = 0x1000000;
    struct iommu_mapping e[4], rw = M(0x300000, 4 * PG, 0x6000000);

    /* The permission change whose unmap fails: the extent stays recorded and
     * the overlapping map is not attempted. */
    CHECK_EQ(sync1(s, rw.iova, rw.iova, rw), 0);
    h.ncalls = 0;
    h.fail_unmap_after = 0;
    CHECK_EQ(sync1(s, rw.iova, rw.iova, MP(rw.iova, rw.size, rw.gpa, true, false)), -EIO);
    CHECK_EQ(h.ncalls, 1);
    CHECK(host_is(&h, &rw, 1));
    CHECK(record_equals_host(s, &h));
    CHECK(shadow_clear(s) == 0);

    /* Across four extents the second unmap fails: the rest proceeds, the
     * remap next to the stuck extent is made, and record equals host. */
    map_four(s, base, e);
    h.ncalls = 0;
    h.fail_unmap_after = 1;
    CHECK_EQ(shadow_sync(s, base + 2 * PG, base + 14 * PG - 1, NULL, 0), -EIO);
    {
        struct iommu_mapping exp[3] = { M(base, 2 * PG, e[0].gpa), e[1],
                                        M(base + 14 * PG, 2 * PG, e[3].gpa + 2 * PG) };

        CHECK_EQ(h.ncalls, 6);
        CHECK(host_is(&h, exp, 3));
    }
    CHECK(record_equals_host(s, &h));
    /* Retrying finishes the job. */
    CHECK_EQ(shadow_sync(s, base + 2 * PG, base + 14 * PG - 1, NULL, 0), 0);
    CHECK_EQ(shadow_count(s), 2);
    CHECK(record_equals_host(s, &h));
    shadow_destroy(s);
}

/* ---- randomized test against a reference page model ---- */

#define RND_PAGES 64
#define RND_BASE 0x7f000000ull
#define RND_GPA_BASE 0x100000000ull
#define RND_GPA_PAGES 1024

struct page_state {
    bool mapped;
    uint64_t gpa;
    bool read, write;
};

struct leaf {
    int first, npages;
    uint64_t gpa;
    bool read, write;
};

struct rnd {
    uint64_t state;
    struct leaf leaves[RND_PAGES];
    int nleaves;
    int leaf_at[RND_PAGES]; /* index into leaves, -1 when unmapped */
    struct page_state ref[RND_PAGES];
};

static uint64_t rnd_next(struct rnd *r)
{
    uint64_t x = r->state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return r->state = x;
}

static unsigned rnd_below(struct rnd *r, unsigned n)
{
    return (unsigned)(rnd_next(r) % n);
}

static void leaves_reindex(struct rnd *r)
{
    for (int p = 0; p < RND_PAGES; p++)
        r->leaf_at[p] = -1;
    for (int i = 0; i < r->nleaves; i++) {
        for (int p = r->leaves[i].first; p < r->leaves[i].first + r->leaves[i].npages; p++)
            r->leaf_at[p] = i;
    }
}

static bool leaf_touches(const struct leaf *lf, int f, int l)
{
    return lf->first <= l && lf->first + lf->npages - 1 >= f;
}

static void remove_leaf(struct rnd *r, int i)
{
    r->leaves[i] = r->leaves[--r->nleaves];
}

static void add_random_leaf(struct rnd *r, int f, int l)
{
    static const int sizes[] = { 1, 1, 1, 2, 4, 8, 16 };
    int np = sizes[rnd_below(r, sizeof(sizes) / sizeof(sizes[0]))];
    int p = f + (int)rnd_below(r, (unsigned)(l - f + 1));
    int start = p & ~(np - 1);
    struct leaf lf = { .first = start, .npages = np };
    unsigned perm = rnd_below(r, 20);

    if (start + np > RND_PAGES)
        return;
    for (int q = start; q < start + np; q++) {
        if (r->leaf_at[q] >= 0)
            return;
    }
    lf.read = perm != 0 && perm != 1;
    lf.write = perm != 0 && perm != 2;
    if (start > 0 && r->leaf_at[start - 1] >= 0 && rnd_below(r, 10) < 4) {
        const struct leaf *prev = &r->leaves[r->leaf_at[start - 1]];

        lf.gpa = prev->gpa + (uint64_t)prev->npages * PG;
        lf.read = prev->read;
        lf.write = prev->write;
    } else if (r->ref[start].mapped && rnd_below(r, 10) < 3) {
        lf.gpa = r->ref[start].gpa; /* same as the host holds */
    } else {
        lf.gpa = RND_GPA_BASE + (uint64_t)(rnd_below(r, RND_GPA_PAGES / np) * np) * PG;
    }
    r->leaves[r->nleaves++] = lf;
    leaves_reindex(r);
}

/* The guest changes its tables inside [f, l] (pages). */
static void mutate(struct rnd *r, int f, int l)
{
    unsigned adds = rnd_below(r, 4);

    for (int i = 0; i < r->nleaves;) {
        if (leaf_touches(&r->leaves[i], f, l) && rnd_below(r, 2))
            remove_leaf(r, i);
        else
            i++;
    }
    leaves_reindex(r);
    while (adds--)
        add_random_leaf(r, f, l);
}

static int cmp_leaf(const void *a, const void *b)
{
    const struct leaf *x = a, *y = b;

    return x->first - y->first;
}

/* The leaves touching [f, l], as the vIOMMU lists them. */
static size_t list_want(struct rnd *r, int f, int l, struct iommu_mapping *want)
{
    size_t n = 0;

    qsort(r->leaves, (size_t)r->nleaves, sizeof(r->leaves[0]), cmp_leaf);
    leaves_reindex(r);
    for (int i = 0; i < r->nleaves; i++) {
        const struct leaf *lf = &r->leaves[i];

        if (leaf_touches(lf, f, l))
            want[n++] = MP(RND_BASE + (uint64_t)lf->first * PG, (uint64_t)lf->npages * PG,
                           lf->gpa, lf->read, lf->write);
    }
    return n;
}

/* After a successful sync the host translates the guest's state in [f, l]
 * and under every listed leaf; everything else is as before. */
static void ref_apply(struct rnd *r, int f, int l)
{
    for (int p = 0; p < RND_PAGES; p++) {
        int li = r->leaf_at[p];
        const struct leaf *lf = li >= 0 ? &r->leaves[li] : NULL;

        if (!(p >= f && p <= l) && !(lf && leaf_touches(lf, f, l)))
            continue;
        if (lf && (lf->read || lf->write))
            r->ref[p] = (struct page_state){ true, lf->gpa + (uint64_t)(p - lf->first) * PG,
                                             lf->read, lf->write };
        else
            r->ref[p] = (struct page_state){ 0 };
    }
}

static bool host_equals_ref(const struct rnd *r, const struct fake_host *h)
{
    uint64_t host_pages = 0, ref_pages = 0;

    for (size_t i = 0; i < h->nmaps; i++)
        host_pages += h->maps[i].size / PG;
    for (int p = 0; p < RND_PAGES; p++) {
        uint64_t iova = RND_BASE + (uint64_t)p * PG;
        const struct iommu_mapping *m = NULL;

        for (size_t i = 0; i < h->nmaps; i++) {
            if (iova >= h->maps[i].iova && iova - h->maps[i].iova < h->maps[i].size)
                m = &h->maps[i];
        }
        if (!r->ref[p].mapped) {
            if (m)
                return false;
            continue;
        }
        ref_pages++;
        if (!m || m->gpa + (iova - m->iova) != r->ref[p].gpa || m->read != r->ref[p].read ||
            m->write != r->ref[p].write)
            return false;
    }
    return host_pages == ref_pages;
}

static size_t ref_list(const struct rnd *r, struct iommu_mapping *out)
{
    size_t n = 0;

    for (int p = 0; p < RND_PAGES; p++) {
        if (r->ref[p].mapped)
            out[n++] = MP(RND_BASE + (uint64_t)p * PG, PG, r->ref[p].gpa, r->ref[p].read,
                          r->ref[p].write);
    }
    return n;
}

/* A sync over pages [f, l], sometimes given with unaligned byte bounds, or
 * over the whole address space when `full`. */
static int rnd_sync(struct rnd *r, struct shadow *s, int f, int l, bool full,
                    const struct iommu_mapping *want, size_t n)
{
    uint64_t first = RND_BASE + (uint64_t)f * PG, last = RND_BASE + (uint64_t)l * PG + PG - 1;

    if (full)
        return shadow_sync(s, 0, UINT64_MAX, want, n);
    if (rnd_below(r, 2))
        first += rnd_below(r, PG / 2);
    if (rnd_below(r, 2))
        last -= rnd_below(r, PG / 2);
    return shadow_sync(s, first, last, want, n);
}

static void pick_range(struct rnd *r, int *f, int *l, bool *full)
{
    unsigned kind = rnd_below(r, 100);
    int len = kind < 70 ? 1 + (int)rnd_below(r, 4) : 1 + (int)rnd_below(r, 24);

    *full = kind >= 97;
    *f = (int)rnd_below(r, RND_PAGES);
    *l = *f + len - 1 < RND_PAGES ? *f + len - 1 : RND_PAGES - 1;
    if (*full) {
        *f = 0;
        *l = RND_PAGES - 1;
    }
}

static void test_randomized(void)
{
    static struct fake_host h;
    struct shadow *s = make_shadow(&h);
    static struct rnd r;
    struct iommu_mapping want[RND_PAGES], list[RND_PAGES];
    struct shadow_stats st;
    int bad_rounds = 0;

    memset(&r, 0, sizeof(r));
    r.state = 0x5eed5eed12345678ull;
    leaves_reindex(&r);
    for (int round = 0; round < 5000; round++) {
        int f, l, ret;
        bool full;
        size_t n, calls;

        pick_range(&r, &f, &l, &full);
        if (rnd_below(&r, 10) < 8)
            mutate(&r, f, l);
        n = list_want(&r, f, l, want);
        ref_apply(&r, f, l);
        h.ncalls = 0;
        ret = rnd_sync(&r, s, f, l, full, want, n);
        calls = h.ncalls;
        if (ret || !host_equals_ref(&r, &h) || !record_equals_host(s, &h) ||
            !shadow_matches(s, list, ref_list(&r, list))) {
            if (bad_rounds++ < 5)
                fprintf(stderr, "random round %d [%d, %d]%s: ret %d, %zu calls\n", round, f, l,
                        full ? " full" : "", ret, calls);
        }
        /* The same sync again changes nothing. */
        h.ncalls = 0;
        ret = rnd_sync(&r, s, f, l, full, want, n);
        if (ret || h.ncalls) {
            if (bad_rounds++ < 5)
                fprintf(stderr, "random round %d not idempotent: ret %d, %zu calls\n", round, ret,
                        h.ncalls);
        }
        if (round % 50 == 0) {
            size_t m = ref_list(&r, list);

            if (m) {
                CHECK(!shadow_matches(s, list, m - 1));
                list[m / 2].gpa += PG;
                CHECK(!shadow_matches(s, list, m));
                m = ref_list(&r, list);
                list[m / 2].read = !list[m / 2].read;
                if (!list[m / 2].read && !list[m / 2].write)
                    list[m / 2].write = true;
                CHECK(!shadow_matches(s, list, m));
            }
            if (m < RND_PAGES) {
                m = ref_list(&r, list);
                list[m] = M(RND_BASE + RND_PAGES * PG, PG, RND_GPA_BASE);
                CHECK(!shadow_matches(s, list, m + 1));
            }
        }
    }
    CHECK_EQ(bad_rounds, 0);
    shadow_get_stats(s, &st);
    fprintf(stderr, "randomized: %" PRIu64 " syncs, %" PRIu64 " maps (%" PRIu64 " remaps), %" PRIu64
            " unmaps\n", st.syncs, st.maps, st.remaps, st.unmaps);
    CHECK(st.remaps > 100 && st.unmaps > 1000);
    shadow_destroy(s);
}

/* Random host failures: the record always equals the host, and a full
 * resync afterwards brings the host to exactly the guest's state. */
static void test_randomized_failures(void)
{
    static struct fake_host h;
    struct shadow *s = make_shadow(&h);
    static struct rnd r;
    struct iommu_mapping want[RND_PAGES];
    int bad_rounds = 0, failures = 0;

    log_set_level(LOG_LEVEL_ERROR); /* the injected failures are logged */
    memset(&r, 0, sizeof(r));
    r.state = 0xfa11fa11cafef00dull;
    leaves_reindex(&r);
    for (int round = 0; round < 3000; round++) {
        int f, l, ret;
        bool full, map_armed, unmap_armed, reached;
        size_t n;

        pick_range(&r, &f, &l, &full);
        mutate(&r, f, l);
        n = list_want(&r, f, l, want);
        h.fail_map_after = rnd_below(&r, 4) == 0 ? (long)rnd_below(&r, 3) : -1;
        h.fail_unmap_after = rnd_below(&r, 4) == 0 ? (long)rnd_below(&r, 3) : -1;
        map_armed = h.fail_map_after >= 0;
        unmap_armed = h.fail_unmap_after >= 0;
        ret = rnd_sync(&r, s, f, l, full, want, n);
        /* The fake disarms an injection when it fires. */
        reached = (map_armed && h.fail_map_after < 0) || (unmap_armed && h.fail_unmap_after < 0);
        if (ret == 0)
            ref_apply(&r, f, l);
        else
            failures++;
        if (ret != (reached ? -EIO : 0) || !record_equals_host(s, &h) ||
            (ret == 0 && !host_equals_ref(&r, &h))) {
            if (bad_rounds++ < 5)
                fprintf(stderr, "failure round %d: ret %d\n", round, ret);
        }
        h.fail_map_after = h.fail_unmap_after = -1;
        if (ret) {
            n = list_want(&r, 0, RND_PAGES - 1, want);
            ret = shadow_sync(s, 0, UINT64_MAX, want, n);
            ref_apply(&r, 0, RND_PAGES - 1);
            if (ret || !host_equals_ref(&r, &h) || !record_equals_host(s, &h)) {
                if (bad_rounds++ < 5)
                    fprintf(stderr, "failure round %d: resync ret %d\n", round, ret);
            }
        }
    }
    CHECK_EQ(bad_rounds, 0);
    CHECK(failures > 100);
    shadow_destroy(s);
}

int main(void)
{
    test_single_pages();
    test_coalesce();
    test_no_coalesce_gpa_gap();
    test_permission_change();
    test_hole_in_large_page();
    test_remap_coalesced_with_want();
    test_partial_unmap_across_extents();
    test_large_replaces_small();
    test_full_range_and_clear();
    test_validation();
    test_injected_map_failure();
    test_injected_unmap_failure();
    test_randomized();
    test_randomized_failures();
    return check_result("test_shadow");
}
