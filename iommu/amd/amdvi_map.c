/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi map notifications: the listener registry, what a requester's
 * translation is (mirroring amdvi_translate.c), the enumeration of it into
 * the map_notify.h `want` form, and the sync calls made from command
 * processing and register writes. See amdvi.h for the events that trigger a
 * sync and iommu/map_notify.h for the listener contract.
 *
 * Everything here runs with the register lock held (DTE-cache lock taken
 * briefly inside amdvi_dte_get, per the lock order); the enumeration reads
 * guest RAM through the IOMMU's own untranslated space.
 */
#define LOG_MODULE "amdvi"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iommu/amd/amdvi_internal.h"
#include "iommu/amd/amdvi_pgtable.h"
#include "iommu/amd/amdvi_walk.h"
#include "vmm/log.h"

#define WANT_INITIAL_CAP 64u

enum map_kind {
    MAP_NOTHING,  /* illegal / unreadable DTE: every access faults */
    MAP_IDENTITY, /* all RAM 1:1 with `read`/`write` */
    MAP_V1,       /* host tables (DTE Mode 1..6) */
    MAP_V2,       /* guest tables, PASID 0 (GV = GIOV = 1) */
};

/* What a requester's translation is now. */
struct map_view {
    enum map_kind kind;
    bool read, write; /* identity permissions, or the DTE IR/IW for walks */
    struct amdvi_dte dte;
};

/* A growable `want` array. */
struct want {
    struct iommu_mapping *v;
    size_t n, cap;
};

struct collect_ctx {
    struct amdvi *a;
    struct want *w;
    const struct map_view *view;
    uint16_t rid;
    bool log_faults;
    unsigned faults;
};

/* The same decisions, in the same order, as amdvi_translate(). */
static void map_view_get(struct amdvi *a, uint16_t rid, struct map_view *v)
{
    uint64_t err_addr = 0;
    const struct amdvi_dte *d = &v->dte;

    memset(v, 0, sizeof(*v));
    if (!__atomic_load_n(&a->iommu_en, __ATOMIC_ACQUIRE)) {
        *v = (struct map_view){ .kind = MAP_IDENTITY, .read = true, .write = true };
        return;
    }
    if (amdvi_dte_get(a, rid, &v->dte, &err_addr) != AMDVI_DTE_OK) {
        v->kind = MAP_NOTHING;
        return;
    }
    if (!d->v || !d->tv) {
        v->kind = MAP_IDENTITY;
        v->read = v->write = true;
        return;
    }
    if (amdvi_dte_illegal(a, d) || (d->gv && d->giov && d->mode != AMDVI_DTE_MODE_NONE)) {
        v->kind = MAP_NOTHING;
        return;
    }
    v->read = d->ir;
    v->write = d->iw;
    if (d->gv && d->giov)
        v->kind = MAP_V2;
    else if (d->mode == AMDVI_DTE_MODE_NONE)
        v->kind = MAP_IDENTITY;
    else
        v->kind = MAP_V1;
}

static int want_push(struct want *w, uint64_t iova, uint64_t size, uint64_t gpa, bool read,
                     bool write)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2u : WANT_INITIAL_CAP;
        struct iommu_mapping *v = realloc(w->v, cap * sizeof(*v));

        if (!v)
            return -ENOMEM;
        w->v = v;
        w->cap = cap;
    }
    w->v[w->n++] = (struct iommu_mapping){
        .iova = iova, .size = size, .gpa = gpa, .read = read, .write = write,
    };
    return 0;
}

/* Is [gpa, gpa + size) inside one RAM region? */
static bool in_one_ram_region(const struct amdvi *a, uint64_t gpa, uint64_t size)
{
    for (unsigned i = 0; i < a->cfg.nram; i++) {
        const struct dma_ram_region *r = &a->ram[i];

        if (gpa >= r->gpa && gpa - r->gpa < r->size && size <= r->size - (gpa - r->gpa))
            return true;
    }
    return false;
}

/* A walked page the device could use but that is not RAM: IO_PAGE_FAULT
 * (present) for the requester, as a DMA to it would have been refused. */
static void outside_ram(struct collect_ctx *c, uint64_t iova, uint64_t gpa)
{
    bool v2 = c->view->kind == MAP_V2;

    if (!c->log_faults)
        return;
    amdvi_stat_inc(&c->a->stats.map_faults);
    if (c->faults++ >= AMDVI_MAP_FAULTS_PER_SYNC)
        return;
    LOG_RATELIMITED(LOG_LEVEL_WARN,
                    "devid %02x:%02x.%u maps iova 0x%llx to 0x%llx, not RAM: left unmapped",
                    (unsigned)(c->rid >> 8), (unsigned)PCI_DEVFN_SLOT(c->rid & 0xff),
                    (unsigned)PCI_DEVFN_FN(c->rid), (unsigned long long)iova,
                    (unsigned long long)gpa);
    amdvi_event_fault_locked(c->a,
                 amdvi_event_q0(AMDVI_EVT_IO_PAGE_FAULT, c->rid, v2 ? 0 : c->view->dte.domain,
                                AMDVI_EVT_FLAG_PR | (v2 ? AMDVI_EVT_FLAG_GN : 0)),
                 iova);
}

static int collect_walked(void *opaque, uint64_t iova, uint64_t size, uint64_t gpa, bool read,
                          bool write)
{
    struct collect_ctx *c = opaque;

    read = read && c->view->read;
    write = write && c->view->write;
    if (!read && !write)
        return 0;
    if (!in_one_ram_region(c->a, gpa, size)) {
        outside_ram(c, iova, gpa);
        return 0;
    }
    return want_push(c->w, iova, size, gpa, read, write);
}

/* Every RAM region touching [first, last], 1:1, in ascending order. */
static int collect_identity(struct collect_ctx *c, uint64_t first, uint64_t last)
{
    const struct amdvi *a = c->a;
    uint64_t next = 0;
    bool more = true;

    while (more) { /* the lowest region at or above `next` (nram <= 4) */
        const struct dma_ram_region *best = NULL;

        for (unsigned i = 0; i < a->cfg.nram; i++) {
            const struct dma_ram_region *r = &a->ram[i];
            if (r->size && r->gpa >= next && (!best || r->gpa < best->gpa))
                best = r;
        }
        if (!best)
            break;
        more = best->gpa + best->size != 0; /* a region ending at 2^64 is the last */
        next = best->gpa + best->size;
        if (best->gpa > last || best->gpa + (best->size - 1) < first)
            continue;
        int ret = want_push(c->w, best->gpa, best->size, best->gpa, c->view->read,
                            c->view->write);
        if (ret)
            return ret;
    }
    return 0;
}

/* Fill `w` with what `view` translates in [first, last]. On an error `w` is
 * left empty (fail closed) and the error returned. */
static int collect(struct amdvi *a, uint16_t rid, const struct map_view *view, uint64_t first,
                   uint64_t last, struct want *w, bool log_faults)
{
    const struct amdvi_walk_mem mem = { .read64 = amdvi_mem_read64, .opaque = a };
    struct collect_ctx c = { .a = a, .w = w, .view = view, .rid = rid, .log_faults = log_faults };
    int ret = 0;

    w->n = 0;
    switch (view->kind) {
    case MAP_NOTHING:
        break;
    case MAP_IDENTITY:
        if (view->read || view->write)
            ret = collect_identity(&c, first, last);
        break;
    case MAP_V1:
        ret = amdvi_walk_range_v1(&mem, view->dte.pt_root, view->dte.mode, first, last,
                                  collect_walked, &c);
        break;
    case MAP_V2:
        ret = amdvi_walk_range_v2(&mem, view->dte.gcr3_table, view->dte.glx, AMDVI_V2_LEVELS_4,
                                  0, first, last, collect_walked, &c);
        break;
    }
    if (ret)
        w->n = 0;
    return ret;
}

static void sync_one(struct amdvi *a, const struct iommu_map_listener *l, uint16_t rid,
                     const struct map_view *view, uint64_t first, uint64_t last)
{
    struct want w = { .v = a->map.want, .n = 0, .cap = a->map.want_cap };
    int ret = collect(a, rid, view, first, last, &w, true);

    a->map.want = w.v;
    a->map.want_cap = w.cap;
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN,
                        "devid %02x:%02x.%u: guest mappings in [0x%llx, 0x%llx] not enumerated "
                        "(%s): shadowing none of them",
                        (unsigned)(rid >> 8), (unsigned)PCI_DEVFN_SLOT(rid & 0xff),
                        (unsigned)PCI_DEVFN_FN(rid), (unsigned long long)first,
                        (unsigned long long)last,
                        ret == -E2BIG ? "tables too large" : strerror(-ret));
    amdvi_stat_inc(&a->stats.map_syncs);
    ret = l->sync(l->opaque, first, last, w.v, w.n);
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN,
                        "devid %02x:%02x.%u: map sync of [0x%llx, 0x%llx] failed: %s",
                        (unsigned)(rid >> 8), (unsigned)PCI_DEVFN_SLOT(rid & 0xff),
                        (unsigned)PCI_DEVFN_FN(rid), (unsigned long long)first,
                        (unsigned long long)last, strerror(ret < 0 ? -ret : ret));
}

static void sync_full(struct amdvi *a, const struct iommu_map_listener *l, uint16_t rid)
{
    struct map_view view;

    map_view_get(a, rid, &view);
    sync_one(a, l, rid, &view, 0, UINT64_MAX);
}

void amdvi_map_notify_pages(struct amdvi *a, uint16_t domain, bool gn, uint32_t pasid,
                            uint64_t first, uint64_t last)
{
    for (unsigned i = 0; i < a->map.n; i++) {
        const struct iommu_map_listener *l = &a->map.listeners[i];
        uint16_t rid = l->requester_id(l->opaque);
        struct map_view view;

        map_view_get(a, rid, &view);
        if ((view.kind != MAP_V1 && view.kind != MAP_V2) || view.dte.domain != domain)
            continue;
        if (gn && (view.kind != MAP_V2 || pasid != 0))
            continue;
        sync_one(a, l, rid, &view, first, last);
    }
}

void amdvi_map_notify_devid(struct amdvi *a, uint16_t devid)
{
    for (unsigned i = 0; i < a->map.n; i++) {
        const struct iommu_map_listener *l = &a->map.listeners[i];
        uint16_t rid = l->requester_id(l->opaque);

        if (rid == devid)
            sync_full(a, l, rid);
    }
}

void amdvi_map_notify_all(struct amdvi *a)
{
    for (unsigned i = 0; i < a->map.n; i++) {
        const struct iommu_map_listener *l = &a->map.listeners[i];

        sync_full(a, l, l->requester_id(l->opaque));
    }
}

void amdvi_map_fini(struct amdvi *a)
{
    free(a->map.want);
    a->map.want = NULL;
    a->map.want_cap = 0;
}

int amdvi_add_map_listener(struct amdvi *a, const struct iommu_map_listener *l)
{
    if (!l || !l->requester_id || !l->sync)
        return -EINVAL;
    pthread_mutex_lock(&a->lock);
    if (a->map.n >= AMDVI_MAX_MAP_LISTENERS) {
        pthread_mutex_unlock(&a->lock);
        return -ENOSPC;
    }
    a->map.listeners[a->map.n] = *l;
    sync_full(a, &a->map.listeners[a->map.n], l->requester_id(l->opaque));
    a->map.n++;
    pthread_mutex_unlock(&a->lock);
    return 0;
}

int amdvi_map_snapshot(struct amdvi *a, uint16_t rid, struct iommu_mapping **out, size_t *n)
{
    struct want w = { 0 };
    struct map_view view;
    int ret;

    pthread_mutex_lock(&a->lock);
    map_view_get(a, rid, &view);
    ret = collect(a, rid, &view, 0, UINT64_MAX, &w, false);
    pthread_mutex_unlock(&a->lock);
    if (ret || w.n == 0) {
        free(w.v);
        w.v = NULL;
        w.n = 0;
    }
    *out = w.v;
    *n = w.n;
    return ret;
}
