/* SPDX-License-Identifier: MIT */
/*
 * Interrupt-remapping sink: see iommu/ir_sink.h for the contract.
 */
#define LOG_MODULE "ir-sink"

#include "iommu/ir_sink.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

_Static_assert(IR_SINK_MAX_GSI == 1024, "keep in step with IRQ_ROUTING_MAX_GSI");

static void ir_sink_count(uint64_t *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* ---- remappers (array fixed once the sink is in use: no lock) ----------- */

static int ir_sink_owner(const struct ir_sink *s, uint16_t rid)
{
    for (unsigned i = 0; i < s->nr_remappers; i++) {
        const struct ir_remapper *r = &s->slots[i].r;
        if (r->owns(r->opaque, rid))
            return (int)i;
    }
    return -1;
}

/* Translate through remapper `owner` (-1: identity). Returns true when the
 * message may be delivered (out_* filled), false when it is blocked. */
static bool ir_sink_translate(const struct ir_sink *s, int owner, uint16_t rid, uint64_t addr,
                              uint32_t data, uint64_t *out_addr, uint32_t *out_data)
{
    *out_addr = addr;
    *out_data = data;
    if (owner < 0)
        return true;
    const struct ir_remapper *r = &s->slots[owner].r;
    uint64_t a = 0;
    uint32_t d = 0;
    if (r->translate(r->opaque, rid, addr, data, &a, &d) != 0)
        return false;
    *out_addr = a;
    *out_data = d;
    return true;
}

/* ---- routes (lock held) -------------------------------------------------- */

/* Bring the downstream route of `gsi` in line with its record: install the
 * translated message, or remove the route when disabled or blocked. Nothing
 * is sent downstream when the result equals what is installed, unless
 * `force`. Returns 0 or the downstream error (the route is then marked not
 * dirty so the next sync sends it whatever the result). */
static int ir_sink_sync_route(struct ir_sink *s, unsigned gsi, bool force)
{
    struct ir_sink_route *rt = &s->routes[gsi];
    uint64_t addr = rt->addr;
    uint32_t data = rt->data;
    bool want = rt->enabled &&
                ir_sink_translate(s, rt->owner, rt->rid, rt->addr, rt->data, &addr, &data);

    if (!force && !rt->dirty && want == rt->installed &&
        (!want || (addr == rt->out_addr && data == rt->out_data)))
        return 0;

    /* A removed route keeps the untranslated message: the downstream only
     * needs the GSI, and the record alone decides what comes back. */
    int ret = s->down.set_route(s->down.opaque, gsi, want, rt->rid, want ? addr : rt->addr,
                                want ? data : rt->data);
    if (ret) {
        rt->installed = false;
        rt->dirty = true;
        return ret;
    }
    rt->dirty = false;
    rt->installed = want;
    rt->out_addr = want ? addr : 0;
    rt->out_data = want ? data : 0;
    if (want)
        s->stats.routes_installed++;
    else
        s->stats.routes_removed++;
    return 0;
}

/* ---- msi_sink callbacks -------------------------------------------------- */

static int ir_sink_send_msi(void *opaque, uint16_t rid, uint64_t addr, uint32_t data)
{
    struct ir_sink *s = opaque;
    int owner = ir_sink_owner(s, rid);
    uint64_t out_addr;
    uint32_t out_data;

    if (!ir_sink_translate(s, owner, rid, addr, data, &out_addr, &out_data)) {
        ir_sink_count(&s->stats.msis_blocked);
        return 0; /* dropped, as hardware does; the remapper logged it */
    }
    ir_sink_count(owner < 0 ? &s->stats.msis_passthrough : &s->stats.msis_remapped);
    return s->down.send_msi(s->down.opaque, rid, out_addr, out_data);
}

static int ir_sink_set_route(void *opaque, unsigned gsi, bool enabled, uint16_t rid,
                             uint64_t addr, uint32_t data)
{
    struct ir_sink *s = opaque;
    if (gsi >= IR_SINK_MAX_GSI)
        return -EINVAL;

    int owner = ir_sink_owner(s, rid);
    pthread_mutex_lock(&s->lock);
    struct ir_sink_route *rt = &s->routes[gsi];
    /* A first record is always sent: the downstream's state is unknown. */
    bool force = !rt->recorded;
    rt->recorded = true;
    rt->enabled = enabled;
    rt->owner = owner;
    rt->rid = rid;
    rt->addr = addr;
    rt->data = data;
    int ret = ir_sink_sync_route(s, gsi, force);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int ir_sink_alloc_gsi(void *opaque)
{
    struct ir_sink *s = opaque;
    return s->down.alloc_gsi(s->down.opaque);
}

static void ir_sink_forget(struct ir_sink *s, unsigned gsi)
{
    if (gsi >= IR_SINK_MAX_GSI)
        return;
    pthread_mutex_lock(&s->lock);
    memset(&s->routes[gsi], 0, sizeof(s->routes[gsi]));
    s->routes[gsi].owner = -1;
    pthread_mutex_unlock(&s->lock);
}

static void ir_sink_free_gsi(void *opaque, unsigned gsi)
{
    struct ir_sink *s = opaque;
    ir_sink_forget(s, gsi);
    s->down.free_gsi(s->down.opaque, gsi);
}

static int ir_sink_irqfd(void *opaque, int fd, unsigned gsi, bool assign)
{
    struct ir_sink *s = opaque;
    return s->down.irqfd(s->down.opaque, fd, gsi, assign);
}

/* ---- public API ---------------------------------------------------------- */

int ir_sink_init(struct ir_sink *s, const struct msi_sink *down)
{
    if (!s || !down || !down->send_msi || !down->set_route)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    s->down = *down;
    int ret = pthread_mutex_init(&s->lock, NULL);
    if (ret)
        return -ret;
    for (unsigned gsi = 0; gsi < IR_SINK_MAX_GSI; gsi++)
        s->routes[gsi].owner = -1;
    return 0;
}

void ir_sink_destroy(struct ir_sink *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
}

int ir_sink_add_remapper(struct ir_sink *s, const struct ir_remapper *r)
{
    if (!s || !r || !r->translate || !r->owns)
        return -EINVAL;
    if (s->nr_remappers >= IR_SINK_MAX_REMAPPERS)
        return -ENOSPC;
    int index = (int)s->nr_remappers;
    s->slots[index] = (struct ir_sink_slot){ .sink = s, .index = index, .r = *r };
    s->nr_remappers++;
    return index;
}

void *ir_sink_remapper_slot(struct ir_sink *s, int index)
{
    if (!s || index < 0 || (unsigned)index >= s->nr_remappers)
        return NULL;
    return &s->slots[index];
}

struct msi_sink ir_sink_msi_sink(struct ir_sink *s)
{
    return (struct msi_sink){
        .send_msi = ir_sink_send_msi,
        .set_route = ir_sink_set_route,
        .alloc_gsi = s->down.alloc_gsi ? ir_sink_alloc_gsi : NULL,
        .free_gsi = s->down.free_gsi ? ir_sink_free_gsi : NULL,
        .irqfd = s->down.irqfd ? ir_sink_irqfd : NULL,
        .opaque = s,
    };
}

int ir_sink_invalidate(struct ir_sink *s, int index, uint16_t rid, bool all)
{
    if (!s || index < 0 || (unsigned)index >= s->nr_remappers)
        return -EINVAL;

    int first_err = 0;
    pthread_mutex_lock(&s->lock);
    for (unsigned gsi = 0; gsi < IR_SINK_MAX_GSI; gsi++) {
        struct ir_sink_route *rt = &s->routes[gsi];
        if (!rt->recorded || rt->owner != index || (!all && rt->rid != rid))
            continue;
        s->stats.retranslations++;
        int ret = ir_sink_sync_route(s, gsi, false);
        if (ret && !first_err)
            first_err = ret;
    }
    pthread_mutex_unlock(&s->lock);
    return first_err;
}

void ir_sink_remapper_invalidated(void *slot, uint16_t rid, bool all)
{
    struct ir_sink_slot *sl = slot;
    if (!sl)
        return;
    int ret = ir_sink_invalidate(sl->sink, sl->index, rid, all);
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "re-installing routes of %02x:%02x.%u failed: %s",
                        rid >> 8, (rid >> 3) & 0x1f, rid & 7u, strerror(-ret));
}

struct ir_sink_stats ir_sink_get_stats(struct ir_sink *s)
{
    struct ir_sink_stats st;
    pthread_mutex_lock(&s->lock);
    st.routes_installed = s->stats.routes_installed;
    st.routes_removed = s->stats.routes_removed;
    st.retranslations = s->stats.retranslations;
    pthread_mutex_unlock(&s->lock);
    st.msis_remapped = __atomic_load_n(&s->stats.msis_remapped, __ATOMIC_RELAXED);
    st.msis_blocked = __atomic_load_n(&s->stats.msis_blocked, __ATOMIC_RELAXED);
    st.msis_passthrough = __atomic_load_n(&s->stats.msis_passthrough, __ATOMIC_RELAXED);
    return st;
}
