/* SPDX-License-Identifier: MIT */
/*
 * The generic IOTLB: keys (domain, tag, page) for any page size, exact
 * range / domain / tag / all invalidation, the generation rule against
 * stale inserts, bounded size with eviction, concurrent lookups, inserts
 * and invalidations.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "iommu/iotlb.h"
#include "tests/unit/check.h"

#define K4 0x1000ULL
#define M2 0x200000ULL

static struct iotlb_entry ent(uint32_t dom, uint32_t tag, uint64_t iova, uint64_t gpa,
                              unsigned shift)
{
    return (struct iotlb_entry){ .domain = dom, .tag = tag, .iova = iova, .gpa = gpa,
                                 .page_shift = shift, .read = true, .write = shift != 12 };
}

static bool hit(struct iotlb *t, uint32_t dom, uint32_t tag, uint64_t iova, uint64_t *gpa)
{
    struct iotlb_entry e;
    if (!iotlb_lookup(t, dom, tag, iova, &e))
        return false;
    if (gpa)
        *gpa = e.gpa;
    return true;
}

static void test_basic(void)
{
    struct iotlb *t = NULL;
    uint64_t gpa = 0;

    CHECK_EQ(iotlb_create(1u << 30, &t), -EINVAL);
    CHECK(t == NULL);
    CHECK_EQ(iotlb_create(0, &t), 0);
    uint64_t gen = iotlb_generation(t);
    struct iotlb_entry e = ent(1, 0, 0x5123, 0x9000, 12);
    CHECK_EQ(iotlb_insert(t, &e, gen), 0);
    e = ent(1, 0, 0x400000, 0x1e00000, 21);
    CHECK_EQ(iotlb_insert(t, &e, gen), 0);
    e = ent(1, 0, 0x40000000, 0x80000000, 30);
    CHECK_EQ(iotlb_insert(t, &e, gen), 0);
    e = ent(1, 0, 0x80000, 0x10000, 15); /* 32 KiB: any power of two */
    CHECK_EQ(iotlb_insert(t, &e, gen), 0);
    /* bad entries */
    e = ent(1, 0, 0, 0, 11);
    CHECK_EQ(iotlb_insert(t, &e, gen), -EINVAL);
    e = ent(1, IOTLB_ANY, 0, 0, 12);
    CHECK_EQ(iotlb_insert(t, &e, gen), -EINVAL);
    CHECK_EQ(iotlb_count(t), 4);

    CHECK(hit(t, 1, 0, 0x5fff, &gpa));
    CHECK_EQ(gpa, 0x9fff);
    CHECK(!hit(t, 1, 0, 0x6000, NULL));
    CHECK(hit(t, 1, 0, 0x5fffff, &gpa));
    CHECK_EQ(gpa, 0x1ffffff);
    CHECK(hit(t, 1, 0, 0x7fffffff, &gpa));
    CHECK_EQ(gpa, 0xbfffffff);
    CHECK(hit(t, 1, 0, 0x87654, &gpa));
    CHECK_EQ(gpa, 0x17654);
    struct iotlb_entry got;
    CHECK(iotlb_lookup(t, 1, 0, 0x400010, &got));
    CHECK_EQ(got.page_shift, 21);
    CHECK(got.read && got.write);
    CHECK(iotlb_lookup(t, 1, 0, 0x5000, &got));
    CHECK(got.read && !got.write);
    /* other domain / tag: never shared */
    CHECK(!hit(t, 2, 0, 0x5000, NULL));
    CHECK(!hit(t, 1, 1, 0x5000, NULL));
    struct iotlb_stats s;
    iotlb_get_stats(t, &s);
    CHECK_EQ(s.inserts, 4);
    CHECK(s.hits >= 6);
    iotlb_destroy(t);
}

static void test_invalidate(void)
{
    struct iotlb *t = NULL;

    CHECK_EQ(iotlb_create(1024, &t), 0);
    uint64_t gen = iotlb_generation(t);
    for (uint32_t dom = 1; dom <= 2; dom++)
        for (uint32_t tag = 0; tag <= 1; tag++)
            for (unsigned i = 0; i < 16; i++) {
                struct iotlb_entry e = ent(dom, tag, i * K4, 0x100000 + i * K4, 12);
                CHECK_EQ(iotlb_insert(t, &e, gen), 0);
            }
    struct iotlb_entry big = ent(1, 0, M2, 0x400000, 21);
    CHECK_EQ(iotlb_insert(t, &big, gen), 0);
    CHECK_EQ(iotlb_count(t), 65);

    /* range [4K*4, 4K*8) of domain 1, tag 0: exactly 4 entries */
    iotlb_invalidate(t, 1, 0, 4 * K4, 8 * K4 - 1);
    for (unsigned i = 0; i < 16; i++) {
        CHECK_EQ(hit(t, 1, 0, i * K4, NULL), !(i >= 4 && i < 8));
        CHECK(hit(t, 1, 1, i * K4, NULL));
        CHECK(hit(t, 2, 0, i * K4, NULL));
    }
    CHECK_EQ(iotlb_count(t), 61);
    /* a range touching one byte of the large page drops it */
    iotlb_invalidate(t, 1, 0, 2 * M2 - 1, 2 * M2 - 1);
    CHECK(!hit(t, 1, 0, M2, NULL));
    /* any tag of a domain */
    iotlb_invalidate(t, 2, IOTLB_ANY, 0, 0);
    CHECK(!hit(t, 2, 0, 0, NULL));
    CHECK(!hit(t, 2, 1, 0, NULL));
    CHECK(hit(t, 2, 0, K4, NULL));
    iotlb_invalidate_domain(t, 2);
    CHECK(!hit(t, 2, 0, K4, NULL));
    CHECK(hit(t, 1, 1, K4, NULL));
    /* the generation moved: an insert based on an older walk is refused */
    struct iotlb_entry e = ent(3, 0, 0, 0, 12);
    CHECK_EQ(iotlb_insert(t, &e, gen), -EAGAIN);
    CHECK(!hit(t, 3, 0, 0, NULL));
    CHECK_EQ(iotlb_insert(t, &e, iotlb_generation(t)), 0);
    iotlb_invalidate_all(t);
    CHECK_EQ(iotlb_count(t), 0);
    CHECK(!hit(t, 1, 1, K4, NULL));
    /* replace in place */
    gen = iotlb_generation(t);
    e = ent(1, 0, 0, 0x1000, 12);
    CHECK_EQ(iotlb_insert(t, &e, gen), 0);
    e.gpa = 0x2000;
    CHECK_EQ(iotlb_insert(t, &e, gen), 0);
    uint64_t gpa = 0;
    CHECK(hit(t, 1, 0, 0, &gpa));
    CHECK_EQ(gpa, 0x2000);
    CHECK_EQ(iotlb_count(t), 1);
    iotlb_destroy(t);
}

static void test_eviction(void)
{
    struct iotlb *t = NULL;

    CHECK_EQ(iotlb_create(8, &t), 0);
    for (unsigned i = 0; i < 1000; i++) {
        struct iotlb_entry e = ent(1, 0, i * K4, i * K4, 12);
        CHECK_EQ(iotlb_insert(t, &e, iotlb_generation(t)), 0);
        CHECK(hit(t, 1, 0, i * K4, NULL)); /* the newest entry is always there */
    }
    CHECK(iotlb_count(t) <= 8);
    struct iotlb_stats s;
    iotlb_get_stats(t, &s);
    CHECK(s.evictions >= 992);
    iotlb_destroy(t);
}

/* Every entry maps iova -> iova + OFFSET(domain): any hit can be checked. */
#define CONC_PAGES 512u
#define CONC_OFFSET(dom) ((uint64_t)(dom) << 40)

struct conc {
    struct iotlb *t;
    bool stop;
    unsigned wrong;
    unsigned seed;
};

static void *conc_lookup(void *arg)
{
    struct conc *c = arg;
    unsigned seed = __atomic_fetch_add(&c->seed, 1, __ATOMIC_RELAXED);
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        uint32_t dom = (unsigned)rand_r(&seed) % 4;
        uint64_t iova = ((unsigned)rand_r(&seed) % CONC_PAGES) * K4 + 0x10;
        uint64_t gpa;
        if (hit(c->t, dom, 0, iova, &gpa) && gpa != iova + CONC_OFFSET(dom))
            __atomic_fetch_add(&c->wrong, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void *conc_insert(void *arg)
{
    struct conc *c = arg;
    unsigned seed = 99;
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        uint32_t dom = (unsigned)rand_r(&seed) % 4;
        uint64_t iova = ((unsigned)rand_r(&seed) % CONC_PAGES) * K4;
        struct iotlb_entry e = ent(dom, 0, iova, iova + CONC_OFFSET(dom), 12);
        (void)iotlb_insert(c->t, &e, iotlb_generation(c->t));
    }
    return NULL;
}

static void test_concurrent(void)
{
    struct conc c = { 0 };
    pthread_t look[4], ins;

    CHECK_EQ(iotlb_create(256, &c.t), 0);
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ(pthread_create(&look[i], NULL, conc_lookup, &c), 0);
    CHECK_EQ(pthread_create(&ins, NULL, conc_insert, &c), 0);
    for (unsigned i = 0; i < 3000; i++) {
        uint32_t dom = i % 4;
        if (i % 3 == 0)
            iotlb_invalidate(c.t, dom, 0, (i % CONC_PAGES) * K4, (i % CONC_PAGES + 7) * K4);
        else if (i % 3 == 1)
            iotlb_invalidate_domain(c.t, dom);
        else if (i % 100 == 2)
            iotlb_invalidate_all(c.t);
    }
    /* after invalidating a domain, nothing of it can be found */
    __atomic_store_n(&c.stop, true, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < 4; i++)
        pthread_join(look[i], NULL);
    pthread_join(ins, NULL);
    iotlb_invalidate_domain(c.t, 1);
    for (unsigned i = 0; i < CONC_PAGES; i++)
        CHECK(!hit(c.t, 1, 0, i * K4, NULL));
    CHECK_EQ(c.wrong, 0);
    struct iotlb_stats s;
    iotlb_get_stats(c.t, &s);
    CHECK(s.hits + s.misses > 0);
    iotlb_destroy(c.t);
}

int main(void)
{
    test_basic();
    test_invalidate();
    test_eviction();
    test_concurrent();
    return check_result("test_iotlb");
}
