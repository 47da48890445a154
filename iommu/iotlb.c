/* SPDX-License-Identifier: MIT */
/*
 * Set-associative IOTLB with a per-size presence mask (lookups probe only
 * the page sizes that were ever inserted since the last full flush) and a
 * generation counter that makes racing inserts harmless.
 */
#include "iommu/iotlb.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bits.h"

#define IOTLB_HASH_MUL 0x9e3779b97f4a7c15ULL /* golden-ratio multiplicative hash */
#define IOTLB_HASH_SHIFT 32u

struct iotlb_slot {
    bool valid;
    uint8_t shift;
    bool read, write;
    uint32_t domain, tag;
    uint64_t page;      /* iova >> shift */
    uint64_t gpa_base;  /* translation of the page's first byte */
};

struct iotlb {
    pthread_rwlock_t lock;
    unsigned nsets;              /* power of two */
    struct iotlb_slot *slots;    /* nsets * IOTLB_WAYS */
    uint8_t *victim;             /* per set, round-robin (write lock) */
    uint64_t shift_mask;         /* page shifts present (atomic) */
    uint64_t gen;                /* invalidation generation (atomic) */
    uint64_t hits, misses, inserts, evictions, stale_inserts, invalidations; /* atomic */
};

static void stat_inc(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static unsigned iotlb_set(const struct iotlb *t, uint32_t domain, uint32_t tag, uint64_t page,
                          unsigned shift)
{
    uint64_t h = page ^ ((uint64_t)domain << IOTLB_HASH_SHIFT) ^ ((uint64_t)tag * IOTLB_HASH_MUL) ^
                 shift;

    h *= IOTLB_HASH_MUL;
    return (unsigned)(h >> IOTLB_HASH_SHIFT) & (t->nsets - 1);
}

int iotlb_create(unsigned capacity, struct iotlb **out)
{
    struct iotlb *t;
    unsigned nsets = 1;
    int ret;

    *out = NULL;
    if (capacity == 0)
        capacity = IOTLB_DEFAULT_CAPACITY;
    if (capacity > (1u << 24))
        return -EINVAL;
    while (nsets * IOTLB_WAYS < capacity)
        nsets <<= 1;
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->nsets = nsets;
    t->slots = calloc((size_t)nsets * IOTLB_WAYS, sizeof(*t->slots));
    t->victim = calloc(nsets, sizeof(*t->victim));
    if (!t->slots || !t->victim) {
        ret = -ENOMEM;
        goto free_tables;
    }
    ret = -pthread_rwlock_init(&t->lock, NULL);
    if (ret)
        goto free_tables;
    *out = t;
    return 0;

free_tables:
    free(t->slots);
    free(t->victim);
    free(t);
    return ret;
}

void iotlb_destroy(struct iotlb *t)
{
    if (!t)
        return;
    pthread_rwlock_destroy(&t->lock);
    free(t->slots);
    free(t->victim);
    free(t);
}

static struct iotlb_slot *find_slot(struct iotlb *t, uint32_t domain, uint32_t tag,
                                    uint64_t page, unsigned shift)
{
    struct iotlb_slot *set = &t->slots[(size_t)iotlb_set(t, domain, tag, page, shift) * IOTLB_WAYS];

    for (unsigned w = 0; w < IOTLB_WAYS; w++) {
        struct iotlb_slot *s = &set[w];
        if (s->valid && s->shift == shift && s->page == page && s->domain == domain &&
            s->tag == tag)
            return s;
    }
    return NULL;
}

bool iotlb_lookup(struct iotlb *t, uint32_t domain, uint32_t tag, uint64_t iova,
                  struct iotlb_entry *out)
{
    bool hit = false;

    pthread_rwlock_rdlock(&t->lock);
    uint64_t mask = __atomic_load_n(&t->shift_mask, __ATOMIC_RELAXED);
    while (mask) {
        unsigned shift = (unsigned)__builtin_ctzll(mask);
        mask &= mask - 1;
        struct iotlb_slot *s = find_slot(t, domain, tag, iova >> shift, shift);
        if (!s)
            continue;
        *out = (struct iotlb_entry){
            .domain = domain, .tag = tag, .iova = iova, .page_shift = shift,
            .gpa = s->gpa_base + (iova & (BIT(shift) - 1)), .read = s->read, .write = s->write,
        };
        hit = true;
        break;
    }
    pthread_rwlock_unlock(&t->lock);
    stat_inc(hit ? &t->hits : &t->misses);
    return hit;
}

uint64_t iotlb_generation(struct iotlb *t)
{
    return __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
}

static struct iotlb_slot *pick_victim(struct iotlb *t, unsigned set_idx)
{
    struct iotlb_slot *set = &t->slots[(size_t)set_idx * IOTLB_WAYS];

    for (unsigned w = 0; w < IOTLB_WAYS; w++) {
        if (!set[w].valid)
            return &set[w];
    }
    unsigned w = t->victim[set_idx]++ % IOTLB_WAYS;
    stat_inc(&t->evictions);
    return &set[w];
}

int iotlb_insert(struct iotlb *t, const struct iotlb_entry *e, uint64_t gen)
{
    if (e->page_shift < IOTLB_MIN_PAGE_SHIFT || e->page_shift > IOTLB_MAX_PAGE_SHIFT ||
        e->tag == IOTLB_ANY || e->domain == IOTLB_ANY)
        return -EINVAL;
    unsigned shift = e->page_shift;
    uint64_t page = e->iova >> shift;
    uint64_t off_mask = BIT(shift) - 1;

    pthread_rwlock_wrlock(&t->lock);
    if (__atomic_load_n(&t->gen, __ATOMIC_RELAXED) != gen) {
        pthread_rwlock_unlock(&t->lock);
        stat_inc(&t->stale_inserts);
        return -EAGAIN;
    }
    struct iotlb_slot *s = find_slot(t, e->domain, e->tag, page, shift);
    if (!s)
        s = pick_victim(t, iotlb_set(t, e->domain, e->tag, page, shift));
    *s = (struct iotlb_slot){
        .valid = true, .shift = (uint8_t)shift, .read = e->read, .write = e->write,
        .domain = e->domain, .tag = e->tag, .page = page, .gpa_base = e->gpa & ~off_mask,
    };
    __atomic_fetch_or(&t->shift_mask, BIT(shift), __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&t->lock);
    stat_inc(&t->inserts);
    return 0;
}

static bool slot_overlaps(const struct iotlb_slot *s, uint64_t first, uint64_t last)
{
    uint64_t start = s->page << s->shift;
    uint64_t end = start + (BIT(s->shift) - 1);

    return start <= last && end >= first;
}

void iotlb_invalidate(struct iotlb *t, uint32_t domain, uint32_t tag, uint64_t first,
                      uint64_t last)
{
    bool everything = domain == IOTLB_ANY && tag == IOTLB_ANY && first == 0 && last == UINT64_MAX;
    size_t n = (size_t)t->nsets * IOTLB_WAYS;

    pthread_rwlock_wrlock(&t->lock);
    __atomic_fetch_add(&t->gen, 1, __ATOMIC_RELEASE);
    if (everything) {
        memset(t->slots, 0, n * sizeof(*t->slots));
        __atomic_store_n(&t->shift_mask, 0, __ATOMIC_RELAXED);
    } else {
        for (size_t i = 0; i < n; i++) {
            struct iotlb_slot *s = &t->slots[i];
            if (!s->valid || (domain != IOTLB_ANY && s->domain != domain) ||
                (tag != IOTLB_ANY && s->tag != tag) || !slot_overlaps(s, first, last))
                continue;
            s->valid = false;
        }
    }
    pthread_rwlock_unlock(&t->lock);
    stat_inc(&t->invalidations);
}

unsigned iotlb_count(struct iotlb *t)
{
    unsigned count = 0;

    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < (size_t)t->nsets * IOTLB_WAYS; i++)
        count += t->slots[i].valid;
    pthread_rwlock_unlock(&t->lock);
    return count;
}

void iotlb_get_stats(struct iotlb *t, struct iotlb_stats *s)
{
    s->hits = __atomic_load_n(&t->hits, __ATOMIC_RELAXED);
    s->misses = __atomic_load_n(&t->misses, __ATOMIC_RELAXED);
    s->inserts = __atomic_load_n(&t->inserts, __ATOMIC_RELAXED);
    s->evictions = __atomic_load_n(&t->evictions, __ATOMIC_RELAXED);
    s->stale_inserts = __atomic_load_n(&t->stale_inserts, __ATOMIC_RELAXED);
    s->invalidations = __atomic_load_n(&t->invalidations, __ATOMIC_RELAXED);
}
