/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi device table (spec 2.2.2): fetch, decode, legality check and a
 * small direct-mapped cache of valid entries.
 *
 * Cache rules: only V=1 entries are cached (a V=0 entry is re-read, so a
 * guest that fills an entry is seen at once); INVALIDATE_DEVTAB_ENTRY /
 * INVALIDATE_IOMMU_ALL, a new device table base and IOMMUEn changes drop
 * entries. A miss reads memory without the lock and fills the slot only if
 * no invalidation ran meanwhile (generation check), so an entry fetched
 * before an invalidation is never cached after it.
 */
#include <endian.h>
#include <string.h>

#include "iommu/amd/amdvi_internal.h"

int amdvi_dte_cache_init(struct amdvi_dte_cache *c)
{
    memset(c, 0, sizeof(*c));
    return -pthread_mutex_init(&c->lock, NULL);
}

void amdvi_dte_cache_destroy(struct amdvi_dte_cache *c)
{
    pthread_mutex_destroy(&c->lock);
}

void amdvi_dte_set_table(struct amdvi *a, uint64_t reg)
{
    struct amdvi_dte_cache *c = &a->dtes;

    pthread_mutex_lock(&c->lock);
    c->base = reg & AMDVI_DEV_TABLE_BASE_ADDR;
    c->size = (FIELD_GET(AMDVI_DEV_TABLE_SIZE, reg) + 1) * AMDVI_DEV_TABLE_SIZE_UNIT;
    c->gen++;
    for (unsigned i = 0; i < AMDVI_DTE_CACHE_SLOTS; i++)
        c->slots[i].valid = false;
    pthread_mutex_unlock(&c->lock);
}

void amdvi_dte_invalidate(struct amdvi *a, uint16_t devid)
{
    struct amdvi_dte_cache *c = &a->dtes;
    struct amdvi_dte_slot *s = &c->slots[devid % AMDVI_DTE_CACHE_SLOTS];
    bool had_domain = false;
    uint16_t domain = 0;

    pthread_mutex_lock(&c->lock);
    c->gen++;
    if (s->valid && s->devid == devid) {
        had_domain = (s->q[0] & AMDVI_DTE_TV) != 0;
        domain = (uint16_t)FIELD_GET(AMDVI_DTE_DOMAIN_ID, s->q[1]);
        s->valid = false;
    }
    pthread_mutex_unlock(&c->lock);
    /* Beyond the spec (it leaves IOTLB entries to INVALIDATE_IOMMU_PAGES):
     * drop what the old entry's domain cached; over-invalidation is safe. */
    if (had_domain)
        iotlb_invalidate_domain(a->iotlb, domain);
}

void amdvi_dte_invalidate_all(struct amdvi *a)
{
    struct amdvi_dte_cache *c = &a->dtes;

    pthread_mutex_lock(&c->lock);
    c->gen++;
    for (unsigned i = 0; i < AMDVI_DTE_CACHE_SLOTS; i++)
        c->slots[i].valid = false;
    pthread_mutex_unlock(&c->lock);
}

void amdvi_dte_decode(struct amdvi_dte *d)
{
    uint64_t q0 = d->q[0], q1 = d->q[1], q2 = d->q[2];

    d->v = q0 & AMDVI_DTE_V;
    d->tv = q0 & AMDVI_DTE_TV;
    d->mode = (unsigned)FIELD_GET(AMDVI_DTE_MODE, q0);
    d->pt_root = q0 & AMDVI_DTE_PT_ROOT;
    d->giov = q0 & AMDVI_DTE_GIOV;
    d->gv = q0 & AMDVI_DTE_GV;
    d->glx = (unsigned)FIELD_GET(AMDVI_DTE_GLX, q0);
    d->ir = q0 & AMDVI_DTE_IR;
    d->iw = q0 & AMDVI_DTE_IW;
    d->gcr3_table = (FIELD_GET(AMDVI_DTE_GCR3_A, q0) << AMDVI_GCR3_A_SHIFT) |
                    (FIELD_GET(AMDVI_DTE_GCR3_B, q1) << AMDVI_GCR3_B_SHIFT) |
                    (FIELD_GET(AMDVI_DTE_GCR3_C, q1) << AMDVI_GCR3_C_SHIFT);
    d->domain = (uint16_t)FIELD_GET(AMDVI_DTE_DOMAIN_ID, q1);
    d->ex = q1 & AMDVI_DTE_EX;
    d->guest_paging_mode = (unsigned)FIELD_GET(AMDVI_DTE_GUEST_PAGING_MODE, q2);
}

bool amdvi_dte_illegal(const struct amdvi *a, const struct amdvi_dte *d)
{
    uint64_t q0 = d->q[0];

    /* bits 6:2 and 63 reserved; HAD needs HASup/HDSup (not advertised) */
    if (q0 & (AMDVI_DTE_RSVD0_6_2 | AMDVI_DTE_HAD | AMDVI_DTE_RSVD0_63))
        return true;
    if (d->mode > AMDVI_DTE_MODE_MAX)
        return true;
    if (d->gv) {
        if (!a->cfg.guest_tables || !__atomic_load_n(&a->gt_en, __ATOMIC_ACQUIRE))
            return true;
        /* GLX 3 is reserved; only 4-level guest tables are advertised (GATS 0) */
        if (d->glx > AMDVI_DTE_GLX_MAX || d->guest_paging_mode != 0)
            return true;
    }
    return false;
}

enum amdvi_dte_status amdvi_dte_get(struct amdvi *a, uint16_t devid, struct amdvi_dte *out,
                                    uint64_t *err_addr)
{
    struct amdvi_dte_cache *c = &a->dtes;
    struct amdvi_dte_slot *s = &c->slots[devid % AMDVI_DTE_CACHE_SLOTS];
    uint64_t q[AMDVI_DTE_QWORDS];

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->lock);
    if (s->valid && s->devid == devid) {
        memcpy(out->q, s->q, sizeof(out->q));
        pthread_mutex_unlock(&c->lock);
        amdvi_dte_decode(out);
        return AMDVI_DTE_OK;
    }
    uint64_t gen = c->gen, base = c->base, size = c->size;
    pthread_mutex_unlock(&c->lock);

    uint64_t off = (uint64_t)devid * AMDVI_DTE_SIZE;
    if (off + AMDVI_DTE_SIZE > size)
        return AMDVI_DTE_OUT_OF_RANGE;
    if (dma_read(&a->mem, base + off, q, sizeof(q))) {
        *err_addr = base + off;
        return AMDVI_DTE_READ_ERROR;
    }
    for (unsigned i = 0; i < AMDVI_DTE_QWORDS; i++)
        out->q[i] = le64toh(q[i]);
    amdvi_dte_decode(out);
    if (out->v) {
        pthread_mutex_lock(&c->lock);
        if (c->gen == gen) {
            s->valid = true;
            s->devid = devid;
            memcpy(s->q, out->q, sizeof(s->q));
        }
        pthread_mutex_unlock(&c->lock);
    }
    return AMDVI_DTE_OK;
}
