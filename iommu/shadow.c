/* SPDX-License-Identifier: MIT */
/*
 * The shadow record (iommu/shadow.h): a sorted array of extents, one per
 * successful host map call, and the sync that makes a range of the host
 * match the guest.
 *
 * A sync works on the "affected span": [first, last] (rounded out to pages)
 * joined with every `want` entry - together the hull [lo, hi] - and then with
 * every recorded extent overlapping [lo, hi]. Over that span it computes the
 * desired runs (the `want` entries, plus the parts of the extents cut at lo
 * or hi that lie outside [lo, hi], which keep their old translation),
 * coalesced. Extents equal to a desired run stay; every other affected
 * extent is unmapped; then every desired run not already present is mapped.
 * Scratch arrays live in the record and only grow, so a steady-state sync
 * allocates nothing; all memory is reserved before the first host call, so
 * -ENOMEM leaves host and record untouched.
 */
#define LOG_MODULE "shadow"

#include "iommu/shadow.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/clock.h"
#include "vmm/log.h"

#define SHADOW_PAGE_SIZE 4096ull
#define SHADOW_PAGE_MASK (SHADOW_PAGE_SIZE - 1)
#define SHADOW_MIN_CAP 16u

/* A desired run over the affected span. */
struct shadow_run {
    struct iommu_mapping m;
    bool restores; /* holds part of an extent cut at the span's edge */
    bool present;  /* equal to an extent that stays */
    bool mapped;   /* mapped by this sync */
};

struct shadow {
    struct shadow_host_ops ops;
    struct shadow_stats stats;
    struct iommu_mapping *ext; /* the record, sorted by iova, non-overlapping */
    size_t n, cap;
    struct shadow_run *runs;   /* scratch: desired runs of one sync */
    size_t runs_cap;
    struct iommu_mapping *stay; /* scratch: affected extents still mapped */
    size_t stay_cap;
};

static uint64_t map_last(const struct iommu_mapping *m)
{
    return m->iova + (m->size - 1);
}

static bool map_has_access(const struct iommu_mapping *m)
{
    return m->read || m->write;
}

static bool map_equal(const struct iommu_mapping *a, const struct iommu_mapping *b)
{
    return a->iova == b->iova && a->size == b->size && a->gpa == b->gpa && a->read == b->read &&
           a->write == b->write;
}

/* Grow *arr (elements of `elem` bytes) to hold at least `need`. */
static int reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : SHADOW_MIN_CAP;
    void *p;

    if (need <= *cap)
        return 0;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -ENOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return -ENOMEM;
    p = realloc(*arr, ncap * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

int shadow_create(const struct shadow_host_ops *ops, struct shadow **out)
{
    struct shadow *s;

    *out = NULL;
    if (!ops || !ops->map || !ops->unmap)
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ops = *ops;
    *out = s;
    return 0;
}

void shadow_destroy(struct shadow *s)
{
    if (!s)
        return;
    free(s->ext);
    free(s->runs);
    free(s->stay);
    free(s);
}

static bool mapping_valid(const struct iommu_mapping *m)
{
    if (m->size == 0 || ((m->iova | m->size | m->gpa) & SHADOW_PAGE_MASK))
        return false;
    return m->iova <= UINT64_MAX - (m->size - 1) && m->gpa <= UINT64_MAX - (m->size - 1);
}

/* Sorted, non-overlapping, aligned, non-wrapping, each touching [first, last]. */
static bool want_valid(uint64_t first, uint64_t last, const struct iommu_mapping *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!mapping_valid(&want[i]))
            return false;
        if (map_last(&want[i]) < first || want[i].iova > last)
            return false;
        if (i > 0 && want[i].iova <= map_last(&want[i - 1]))
            return false;
    }
    return true;
}

/* Index of the first extent whose last byte is >= iova (s->n if none). */
static size_t first_extent_from(const struct shadow *s, uint64_t iova)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (map_last(&s->ext[mid]) < iova)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Can `next` extend `run` (contiguous in iova and gpa, same access)? */
static bool run_joins(const struct iommu_mapping *run, const struct iommu_mapping *next)
{
    if (run->read != next->read || run->write != next->write)
        return false;
    if (run->size > UINT64_MAX - next->size)
        return false;
    return map_last(run) + 1 == next->iova && run->gpa + run->size == next->gpa &&
           run->gpa + (run->size - 1) < next->gpa;
}

/* Append `m` to the desired runs, coalescing; entries without access are
 * left unmapped (VFIO cannot map them; a DMA there must fault). */
static void runs_add(struct shadow_run *runs, size_t *nruns, const struct iommu_mapping *m,
                     bool restores)
{
    struct shadow_run *prev = *nruns ? &runs[*nruns - 1] : NULL;

    if (!map_has_access(m))
        return;
    if (prev && run_joins(&prev->m, m)) {
        prev->m.size += m->size;
        prev->restores |= restores;
        return;
    }
    runs[(*nruns)++] = (struct shadow_run){ .m = *m, .restores = restores };
}

/* The desired runs over the affected extents [i0, i1) and the hull [lo, hi]. */
static size_t build_runs(struct shadow *s, size_t i0, size_t i1, uint64_t lo, uint64_t hi,
                         const struct iommu_mapping *want, size_t n)
{
    size_t nruns = 0;

    if (i1 > i0 && s->ext[i0].iova < lo) {
        struct iommu_mapping head = s->ext[i0];

        head.size = lo - head.iova;
        runs_add(s->runs, &nruns, &head, true);
    }
    for (size_t i = 0; i < n; i++)
        runs_add(s->runs, &nruns, &want[i], false);
    if (i1 > i0 && map_last(&s->ext[i1 - 1]) > hi) {
        struct iommu_mapping tail = s->ext[i1 - 1];
        uint64_t cut = hi + 1 - tail.iova;

        tail.iova = hi + 1;
        tail.gpa += cut;
        tail.size -= cut;
        runs_add(s->runs, &nruns, &tail, true);
    }
    return nruns;
}

static int host_unmap(struct shadow *s, const struct iommu_mapping *m)
{
    uint64_t t0 = monotonic_ns();
    int ret = s->ops.unmap(s->ops.opaque, m->iova, m->size);

    s->stats.host_ns += monotonic_ns() - t0;

    if (ret) {
        s->stats.errors++;
        LOG_RATELIMITED(LOG_LEVEL_WARN, "host unmap of iova 0x%" PRIx64 "+0x%" PRIx64 " failed: %s",
                        m->iova, m->size, strerror(-ret));
        return ret;
    }
    s->stats.unmaps++;
    return 0;
}

static int host_map(struct shadow *s, const struct shadow_run *r)
{
    const struct iommu_mapping *m = &r->m;
    uint64_t t0 = monotonic_ns();
    int ret = s->ops.map(s->ops.opaque, m->iova, m->size, m->gpa, m->read, m->write);

    s->stats.host_ns += monotonic_ns() - t0;

    if (ret) {
        s->stats.errors++;
        LOG_RATELIMITED(LOG_LEVEL_WARN,
                        "host map of iova 0x%" PRIx64 "+0x%" PRIx64 " to gpa 0x%" PRIx64
                        " failed: %s",
                        m->iova, m->size, m->gpa, strerror(-ret));
        return ret;
    }
    s->stats.maps++;
    if (r->restores)
        s->stats.remaps++;
    return 0;
}

/* Phase 1: keep the affected extents equal to a desired run, unmap the
 * others. Extents still mapped afterwards (kept or failed) go to s->stay in
 * order; returns their count. *err gets the first error. */
static size_t unmap_changed(struct shadow *s, size_t i0, size_t i1, size_t nruns, int *err)
{
    size_t nstay = 0, r = 0;

    for (size_t i = i0; i < i1; i++) {
        const struct iommu_mapping *e = &s->ext[i];
        int ret;

        while (r < nruns && s->runs[r].m.iova < e->iova)
            r++;
        if (r < nruns && map_equal(&s->runs[r].m, e)) {
            s->runs[r].present = true;
            s->stay[nstay++] = *e;
            continue;
        }
        ret = host_unmap(s, e);
        if (ret) {
            if (!*err)
                *err = ret;
            s->stay[nstay++] = *e;
        }
    }
    return nstay;
}

/* Phase 2: map every desired run not present, except where an extent whose
 * unmap failed is still in the way (the host would refuse the overlap).
 * Returns how many runs were mapped. */
static size_t map_missing(struct shadow *s, size_t nruns, size_t nstay, int *err)
{
    size_t mapped = 0, j = 0;

    for (size_t r = 0; r < nruns; r++) {
        struct shadow_run *run = &s->runs[r];
        int ret;

        if (run->present)
            continue;
        while (j < nstay && map_last(&s->stay[j]) < run->m.iova)
            j++;
        if (j < nstay && s->stay[j].iova <= map_last(&run->m))
            continue;
        ret = host_map(s, run);
        if (ret) {
            if (!*err)
                *err = ret;
            continue;
        }
        run->mapped = true;
        mapped++;
    }
    return mapped;
}

/* Replace extents [i0, i1) by s->stay merged with the mapped runs. The
 * record's capacity was reserved beforehand. */
static void splice_record(struct shadow *s, size_t i0, size_t i1, size_t nstay, size_t nruns,
                          size_t mapped)
{
    size_t count = nstay + mapped, out = i0, j = 0, r = 0;

    if (count != i1 - i0)
        memmove(&s->ext[i0 + count], &s->ext[i1], (s->n - i1) * sizeof(*s->ext));
    s->n = s->n - (i1 - i0) + count;
    while (j < nstay || r < nruns) {
        if (r < nruns && !s->runs[r].mapped) {
            r++;
            continue;
        }
        if (r >= nruns || (j < nstay && s->stay[j].iova < s->runs[r].m.iova))
            s->ext[out++] = s->stay[j++];
        else
            s->ext[out++] = s->runs[r++].m;
    }
}

int shadow_sync(struct shadow *s, uint64_t first, uint64_t last, const struct iommu_mapping *want,
                size_t n)
{
    uint64_t lo, hi;
    size_t i0, i1, nruns, nstay, mapped;
    int ret, err = 0;

    if (first > last || (n && !want))
        return -EINVAL;
    first &= ~SHADOW_PAGE_MASK;
    last |= SHADOW_PAGE_MASK;
    if (!want_valid(first, last, want, n))
        return -EINVAL;

    lo = n && want[0].iova < first ? want[0].iova : first;
    hi = n && map_last(&want[n - 1]) > last ? map_last(&want[n - 1]) : last;
    i0 = first_extent_from(s, lo);
    for (i1 = i0; i1 < s->n && s->ext[i1].iova <= hi; i1++)
        ;

    /* Everything that can be needed, before the first host call. */
    if (n > SIZE_MAX - 2 - s->n)
        return -ENOMEM;
    ret = reserve((void **)&s->runs, &s->runs_cap, n + 2, sizeof(*s->runs));
    if (!ret)
        ret = reserve((void **)&s->stay, &s->stay_cap, i1 - i0, sizeof(*s->stay));
    if (!ret)
        ret = reserve((void **)&s->ext, &s->cap, s->n + n + 2, sizeof(*s->ext));
    if (ret)
        return ret;

    s->stats.syncs++;
    nruns = build_runs(s, i0, i1, lo, hi, want, n);
    nstay = unmap_changed(s, i0, i1, nruns, &err);
    mapped = map_missing(s, nruns, nstay, &err);
    splice_record(s, i0, i1, nstay, nruns, mapped);
    return err;
}

int shadow_clear(struct shadow *s)
{
    size_t kept = 0;
    int err = 0;

    for (size_t i = 0; i < s->n; i++) {
        int ret = host_unmap(s, &s->ext[i]);

        if (ret) {
            if (!err)
                err = ret;
            s->ext[kept++] = s->ext[i];
        }
    }
    s->n = kept;
    return err;
}

size_t shadow_count(const struct shadow *s)
{
    return s->n;
}

void shadow_extent(const struct shadow *s, size_t i, struct iommu_mapping *out)
{
    *out = s->ext[i];
}

void shadow_get_stats(const struct shadow *s, struct shadow_stats *out)
{
    *out = s->stats;
}

/* Walks a sorted list of mappings byte range by byte range, skipping
 * entries without access. */
struct map_cursor {
    const struct iommu_mapping *m;
    size_t n, i;
    uint64_t off; /* bytes of m[i] already consumed */
};

static bool cursor_valid(struct map_cursor *c)
{
    while (c->i < c->n && !map_has_access(&c->m[c->i]))
        c->i++;
    return c->i < c->n;
}

static void cursor_advance(struct map_cursor *c, uint64_t bytes)
{
    c->off += bytes;
    if (c->off == c->m[c->i].size) {
        c->i++;
        c->off = 0;
    }
}

bool shadow_matches(const struct shadow *s, const struct iommu_mapping *want, size_t n)
{
    struct map_cursor a = { .m = s->ext, .n = s->n }, b = { .m = want, .n = n };

    if (n && !want)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!mapping_valid(&want[i]) || (i > 0 && want[i].iova <= map_last(&want[i - 1])))
            return false;
    }
    while (cursor_valid(&a) && cursor_valid(&b)) {
        const struct iommu_mapping *x = &a.m[a.i], *y = &b.m[b.i];
        uint64_t step;

        if (x->iova + a.off != y->iova + b.off || x->gpa + a.off != y->gpa + b.off ||
            x->read != y->read || x->write != y->write)
            return false;
        step = x->size - a.off < y->size - b.off ? x->size - a.off : y->size - b.off;
        cursor_advance(&a, step);
        cursor_advance(&b, step);
    }
    return !cursor_valid(&a) && !cursor_valid(&b);
}
