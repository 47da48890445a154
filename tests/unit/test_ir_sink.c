/* SPDX-License-Identifier: MIT */
/*
 * ir_sink against a fake downstream msi_sink and a fake remapper with a
 * mutable table (AMD-like: the IRTE index is MSI data[10:0]): passthrough of
 * unowned requesters, remapped and blocked send_msi, routes installed
 * translated, blocked routes removed then restored by an invalidation,
 * per-rid invalidation touching only that rid's routes, invalidate-all,
 * free_gsi forgetting, downstream failures retried, two remappers, the real
 * IOAPIC behind the sink (rid 00:14.0, RTE vector|delivery = IRTE index),
 * and set_route racing invalidations on threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "devices/ioapic.h"
#include "iommu/ir_sink.h"
#include "tests/unit/check.h"

#define RID_IOAPIC IRQ_SOURCE_ID_IOAPIC /* 00:14.0 */
#define RID_A 0x0108                    /* 01:01.0 */
#define RID_B 0x0110                    /* 01:02.0 */
#define RID_OTHER 0x0300                /* 03:00.0, behind no remapper */
#define NR_IRTE 64
#define GSI_DEV 100

/* ---- fake downstream ----------------------------------------------------- */

struct fake_route {
    bool installed;
    uint16_t rid;
    uint64_t addr;
    uint32_t data;
    unsigned calls;
};

struct fake_down {
    pthread_mutex_t lock;
    struct fake_route route[IR_SINK_MAX_GSI];
    unsigned route_calls;
    unsigned n_msi;
    uint16_t msi_rid;
    uint64_t msi_addr;
    uint32_t msi_data;
    int route_fail;   /* fail the next set_route with this */
    int next_gsi;
    unsigned n_free, n_irqfd;
};

static int down_send_msi(void *opaque, uint16_t rid, uint64_t addr, uint32_t data)
{
    struct fake_down *d = opaque;
    pthread_mutex_lock(&d->lock);
    d->n_msi++;
    d->msi_rid = rid;
    d->msi_addr = addr;
    d->msi_data = data;
    pthread_mutex_unlock(&d->lock);
    return 0;
}

static int down_set_route(void *opaque, unsigned gsi, bool enabled, uint16_t rid, uint64_t addr,
                          uint32_t data)
{
    struct fake_down *d = opaque;
    int ret = 0;
    pthread_mutex_lock(&d->lock);
    if (d->route_fail) {
        ret = d->route_fail;
        d->route_fail = 0;
        goto out;
    }
    struct fake_route *r = &d->route[gsi];
    r->installed = enabled;
    r->rid = rid;
    r->addr = enabled ? addr : 0;
    r->data = enabled ? data : 0;
    r->calls++;
    d->route_calls++;
out:
    pthread_mutex_unlock(&d->lock);
    return ret;
}

static int down_alloc_gsi(void *opaque)
{
    struct fake_down *d = opaque;
    return d->next_gsi++;
}

static void down_free_gsi(void *opaque, unsigned gsi)
{
    struct fake_down *d = opaque;
    d->n_free++;
    if (gsi < IR_SINK_MAX_GSI)
        d->route[gsi].installed = false;
}

static int down_irqfd(void *opaque, int fd, unsigned gsi, bool assign)
{
    struct fake_down *d = opaque;
    (void)fd, (void)gsi, (void)assign;
    d->n_irqfd++;
    return 0;
}

static void down_init(struct fake_down *d)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->lock, NULL);
    d->next_gsi = GSI_DEV;
}

static struct msi_sink down_sink(struct fake_down *d)
{
    return (struct msi_sink){ down_send_msi, down_set_route, down_alloc_gsi, down_free_gsi,
                              down_irqfd, d };
}

/* x2APIC destinations: dest[7:0] in address 19:12, dest[31:8] in 63:40 (KVM's
 * 32-bit-id encoding); the sink must carry all 64 bits. */
static uint64_t dest_addr(uint32_t dest)
{
    return MSI_ADDR_BASE | (uint64_t)(dest & 0xff) << MSI_ADDR_DEST_ID_SHIFT |
           (uint64_t)(dest >> 8) << 40;
}

/* ---- fake remapper ------------------------------------------------------- */

struct fake_irte {
    bool valid;
    uint8_t vector;
    uint32_t dest;
};

struct fake_dev {
    uint16_t rid;
    bool passthrough; /* remapping off for this device: copy the message */
    struct fake_irte irte[NR_IRTE];
};

struct fake_remapper {
    pthread_mutex_t lock; /* taken by translate, like a real model's */
    struct fake_dev dev[3];
    unsigned n_translate;
};

static struct fake_dev *fr_dev(struct fake_remapper *f, uint16_t rid)
{
    for (unsigned i = 0; i < 3; i++)
        if (f->dev[i].rid == rid)
            return &f->dev[i];
    return NULL;
}

static bool fr_owns(void *opaque, uint16_t rid)
{
    return fr_dev(opaque, rid) != NULL;
}

static int fr_translate(void *opaque, uint16_t rid, uint64_t addr, uint32_t data,
                        uint64_t *out_addr, uint32_t *out_data)
{
    struct fake_remapper *f = opaque;
    int ret = 0;
    pthread_mutex_lock(&f->lock);
    f->n_translate++;
    struct fake_dev *dev = fr_dev(f, rid);
    if (!dev) {
        ret = -EPERM;
        goto out;
    }
    if (dev->passthrough) {
        *out_addr = addr;
        *out_data = data;
        goto out;
    }
    unsigned index = data & 0x7ffu;
    if (index >= NR_IRTE || !dev->irte[index].valid) {
        ret = -EPERM;
        goto out;
    }
    *out_addr = dest_addr(dev->irte[index].dest);
    *out_data = dev->irte[index].vector | (data & (MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT));
out:
    pthread_mutex_unlock(&f->lock);
    return ret;
}

static void fr_init(struct fake_remapper *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->dev[0].rid = RID_IOAPIC;
    f->dev[1].rid = RID_A;
    f->dev[2].rid = RID_B;
}

static void fr_set(struct fake_remapper *f, uint16_t rid, unsigned index, bool valid,
                   uint8_t vector, uint32_t dest)
{
    pthread_mutex_lock(&f->lock);
    fr_dev(f, rid)->irte[index] = (struct fake_irte){ valid, vector, dest };
    pthread_mutex_unlock(&f->lock);
}

static struct ir_remapper fr_remapper(struct fake_remapper *f)
{
    return (struct ir_remapper){ fr_translate, fr_owns, f };
}

/* ---- fixture ------------------------------------------------------------- */

struct fixture {
    struct fake_down down;
    struct fake_remapper fr;
    struct ir_sink sink;
    struct msi_sink ms;
    int idx;
};

static void fx_init(struct fixture *fx)
{
    down_init(&fx->down);
    fr_init(&fx->fr);
    struct msi_sink d = down_sink(&fx->down);
    CHECK_EQ(ir_sink_init(&fx->sink, &d), 0);
    struct ir_remapper r = fr_remapper(&fx->fr);
    fx->idx = ir_sink_add_remapper(&fx->sink, &r);
    CHECK_EQ(fx->idx, 0);
    fx->ms = ir_sink_msi_sink(&fx->sink);
}

static void fx_destroy(struct fixture *fx)
{
    ir_sink_destroy(&fx->sink);
    pthread_mutex_destroy(&fx->down.lock);
    pthread_mutex_destroy(&fx->fr.lock);
}

static int set_route(struct fixture *fx, unsigned gsi, bool en, uint16_t rid, uint32_t data)
{
    return fx->ms.set_route(fx->ms.opaque, gsi, en, rid, MSI_ADDR_BASE, data);
}


/* ---- tests --------------------------------------------------------------- */

static void test_init_errors(void)
{
    struct ir_sink s;
    struct msi_sink none = { 0 };
    CHECK_EQ(ir_sink_init(&s, NULL), -EINVAL);
    CHECK_EQ(ir_sink_init(&s, &none), -EINVAL);

    struct fake_down d;
    down_init(&d);
    struct msi_sink ds = down_sink(&d);
    ds.alloc_gsi = NULL;
    ds.free_gsi = NULL;
    ds.irqfd = NULL;
    CHECK_EQ(ir_sink_init(&s, &ds), 0);
    struct msi_sink ms = ir_sink_msi_sink(&s);
    CHECK(ms.alloc_gsi == NULL && ms.free_gsi == NULL && ms.irqfd == NULL);
    struct ir_remapper bad = { 0 };
    CHECK_EQ(ir_sink_add_remapper(&s, &bad), -EINVAL);
    struct fake_remapper fr;
    fr_init(&fr);
    struct ir_remapper r = fr_remapper(&fr);
    for (int i = 0; i < IR_SINK_MAX_REMAPPERS; i++)
        CHECK_EQ(ir_sink_add_remapper(&s, &r), i);
    CHECK_EQ(ir_sink_add_remapper(&s, &r), -ENOSPC);
    CHECK(ir_sink_remapper_slot(&s, IR_SINK_MAX_REMAPPERS) == NULL);
    CHECK(ir_sink_remapper_slot(&s, -1) == NULL);
    CHECK_EQ(ir_sink_invalidate(&s, IR_SINK_MAX_REMAPPERS, 0, true), -EINVAL);
    CHECK_EQ(ms.set_route(ms.opaque, IR_SINK_MAX_GSI, true, RID_A, MSI_ADDR_BASE, 0), -EINVAL);
    CHECK_EQ(d.route_calls, 0);
    ir_sink_destroy(&s);
    pthread_mutex_destroy(&fr.lock);
    pthread_mutex_destroy(&d.lock);
}

static void test_send_msi(void)
{
    struct fixture fx;
    fx_init(&fx);
    /* Unowned requester: unchanged, the remapper never asked. */
    CHECK_EQ(fx.ms.send_msi(fx.ms.opaque, RID_OTHER, dest_addr(3), 0x41), 0);
    CHECK_EQ(fx.down.n_msi, 1);
    CHECK_EQ(fx.down.msi_rid, RID_OTHER);
    CHECK_EQ(fx.down.msi_addr, dest_addr(3));
    CHECK_EQ(fx.down.msi_data, 0x41);
    CHECK_EQ(fx.fr.n_translate, 0);

    /* Remapped: index 5 -> vector 0x31 on APIC 2. */
    fr_set(&fx.fr, RID_A, 5, true, 0x31, 2);
    CHECK_EQ(fx.ms.send_msi(fx.ms.opaque, RID_A, MSI_ADDR_BASE, 5), 0);
    CHECK_EQ(fx.down.n_msi, 2);
    CHECK_EQ(fx.down.msi_rid, RID_A);
    CHECK_EQ(fx.down.msi_addr, dest_addr(2));
    CHECK_EQ(fx.down.msi_data, 0x31);

    /* Blocked (index never set up): dropped, 0 returned. */
    CHECK_EQ(fx.ms.send_msi(fx.ms.opaque, RID_A, MSI_ADDR_BASE, 6), 0);
    CHECK_EQ(fx.down.n_msi, 2);

    /* Owned but remapping off: passthrough. */
    fx.fr.dev[2].passthrough = true;
    CHECK_EQ(fx.ms.send_msi(fx.ms.opaque, RID_B, dest_addr(1), 0x55), 0);
    CHECK_EQ(fx.down.n_msi, 3);
    CHECK_EQ(fx.down.msi_addr, dest_addr(1));
    CHECK_EQ(fx.down.msi_data, 0x55);

    struct ir_sink_stats st = ir_sink_get_stats(&fx.sink);
    CHECK_EQ(st.msis_passthrough, 1);
    CHECK_EQ(st.msis_remapped, 2);
    CHECK_EQ(st.msis_blocked, 1);
    fx_destroy(&fx);
}

static void test_route_translated_blocked_restored(void)
{
    struct fixture fx;
    fx_init(&fx);
    struct fake_route *r = &fx.down.route[GSI_DEV];

    fr_set(&fx.fr, RID_A, 1, true, 0x40, 1);
    CHECK_EQ(set_route(&fx, GSI_DEV, true, RID_A, 1), 0);
    CHECK(r->installed);
    CHECK_EQ(r->rid, RID_A);
    CHECK_EQ(r->addr, dest_addr(1));
    CHECK_EQ(r->data, 0x40);
    CHECK_EQ(r->calls, 1);

    /* Same message again: nothing sent downstream. */
    CHECK_EQ(set_route(&fx, GSI_DEV, true, RID_A, 1), 0);
    CHECK_EQ(r->calls, 1);

    /* The device points at an index that is not set up: route removed. */
    CHECK_EQ(set_route(&fx, GSI_DEV, true, RID_A, 2), 0);
    CHECK(!r->installed);
    CHECK_EQ(r->calls, 2);

    /* An invalidation with the table unchanged: nothing to do. */
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, RID_A, false), 0);
    CHECK_EQ(r->calls, 2);

    /* The guest fills IRTE 2 and invalidates: the route comes back. */
    fr_set(&fx.fr, RID_A, 2, true, 0x42, 3);
    CHECK(!r->installed); /* not before the invalidation */
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, RID_A, false), 0);
    CHECK(r->installed);
    CHECK_EQ(r->addr, dest_addr(3));
    CHECK_EQ(r->data, 0x42);
    CHECK_EQ(r->calls, 3);

    /* Retargeted IRTE (affinity change): re-installed with the new dest. */
    fr_set(&fx.fr, RID_A, 2, true, 0x42, 7);
    ir_sink_remapper_invalidated(ir_sink_remapper_slot(&fx.sink, fx.idx), RID_A, false);
    CHECK_EQ(r->addr, dest_addr(7));
    CHECK_EQ(r->calls, 4);

    /* An x2APIC destination above 255 travels in the high address bits. */
    fr_set(&fx.fr, RID_A, 2, true, 0x42, 0x1234);
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, RID_A, false), 0);
    CHECK_EQ(r->addr, 0x1200fee34000ull);
    CHECK_EQ(r->calls, 5);
    CHECK_EQ(fx.ms.send_msi(fx.ms.opaque, RID_A, MSI_ADDR_BASE, 2), 0);
    CHECK_EQ(fx.down.msi_addr, 0x1200fee34000ull);

    /* IRTE cleared: removed again; the device disabling it: no call (already out). */
    fr_set(&fx.fr, RID_A, 2, false, 0, 0);
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, RID_A, false), 0);
    CHECK(!r->installed);
    CHECK_EQ(r->calls, 6);
    CHECK_EQ(set_route(&fx, GSI_DEV, false, RID_A, 2), 0);
    CHECK_EQ(r->calls, 6);
    /* ...and a disabled route stays out whatever the table says. */
    fr_set(&fx.fr, RID_A, 2, true, 0x42, 7);
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, 0, true), 0);
    CHECK(!r->installed);
    CHECK_EQ(r->calls, 6);
    fx_destroy(&fx);
}

static void test_invalidate_scope(void)
{
    struct fixture fx;
    fx_init(&fx);
    for (unsigned i = 0; i < 4; i++) {
        fr_set(&fx.fr, RID_A, i, true, (uint8_t)(0x50 + i), 0);
        fr_set(&fx.fr, RID_B, i, true, (uint8_t)(0x60 + i), 0);
        CHECK_EQ(set_route(&fx, GSI_DEV + i, true, RID_A, i), 0);
        CHECK_EQ(set_route(&fx, GSI_DEV + 10 + i, true, RID_B, i), 0);
    }
    /* An unowned device's route is passed through unchanged. */
    CHECK_EQ(fx.ms.set_route(fx.ms.opaque, GSI_DEV + 20, true, RID_OTHER, dest_addr(9), 0x77), 0);
    CHECK(fx.down.route[GSI_DEV + 20].installed);
    CHECK_EQ(fx.down.route[GSI_DEV + 20].addr, dest_addr(9));
    CHECK_EQ(fx.down.route[GSI_DEV + 20].data, 0x77);
    CHECK_EQ(fx.down.route_calls, 9);

    /* Retarget everything, invalidate only RID_A: only its 4 routes move. */
    for (unsigned i = 0; i < 4; i++) {
        fr_set(&fx.fr, RID_A, i, true, (uint8_t)(0x50 + i), 5);
        fr_set(&fx.fr, RID_B, i, true, (uint8_t)(0x60 + i), 6);
    }
    unsigned before = fx.fr.n_translate;
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, RID_A, false), 0);
    CHECK_EQ(fx.fr.n_translate - before, 4);
    CHECK_EQ(fx.down.route_calls, 13);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(fx.down.route[GSI_DEV + i].addr, dest_addr(5));
        CHECK_EQ(fx.down.route[GSI_DEV + i].calls, 2);
        CHECK_EQ(fx.down.route[GSI_DEV + 10 + i].addr, dest_addr(0));
        CHECK_EQ(fx.down.route[GSI_DEV + 10 + i].calls, 1);
    }

    /* Invalidate all: RID_B's routes move now, RID_A's are unchanged (no
     * call), the unowned route is not the remapper's business. */
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, 0, true), 0);
    CHECK_EQ(fx.down.route_calls, 17);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(fx.down.route[GSI_DEV + i].calls, 2);
        CHECK_EQ(fx.down.route[GSI_DEV + 10 + i].addr, dest_addr(6));
        CHECK_EQ(fx.down.route[GSI_DEV + 10 + i].data, 0x60 + i);
    }
    CHECK_EQ(fx.down.route[GSI_DEV + 20].calls, 1);

    /* A rid with no routes: nothing. */
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, RID_IOAPIC, false), 0);
    CHECK_EQ(fx.down.route_calls, 17);
    struct ir_sink_stats st = ir_sink_get_stats(&fx.sink);
    CHECK_EQ(st.retranslations, 4 + 8);
    fx_destroy(&fx);
}

static void test_free_gsi_and_passthrough_calls(void)
{
    struct fixture fx;
    fx_init(&fx);
    int gsi = fx.ms.alloc_gsi(fx.ms.opaque);
    CHECK_EQ(gsi, GSI_DEV);
    CHECK_EQ(fx.ms.irqfd(fx.ms.opaque, 5, (unsigned)gsi, true), 0);
    CHECK_EQ(fx.down.n_irqfd, 1);

    fr_set(&fx.fr, RID_A, 3, true, 0x33, 1);
    CHECK_EQ(set_route(&fx, (unsigned)gsi, true, RID_A, 3), 0);
    CHECK_EQ(fx.down.route[gsi].calls, 1);
    fx.ms.free_gsi(fx.ms.opaque, (unsigned)gsi);
    CHECK_EQ(fx.down.n_free, 1);
    CHECK(!fx.down.route[gsi].installed);

    /* Forgotten: a table change + invalidation re-installs nothing. */
    fr_set(&fx.fr, RID_A, 3, true, 0x34, 2);
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, 0, true), 0);
    CHECK_EQ(fx.down.route[gsi].calls, 1);
    CHECK(!fx.down.route[gsi].installed);

    /* Reused GSI: the first set_route is always sent (even disabled). */
    CHECK_EQ(set_route(&fx, (unsigned)gsi, false, RID_B, 0), 0);
    CHECK_EQ(fx.down.route[gsi].calls, 2);
    fx.ms.free_gsi(fx.ms.opaque, IR_SINK_MAX_GSI + 5); /* ignored by the sink */
    fx_destroy(&fx);
}

static void test_downstream_failure_retried(void)
{
    struct fixture fx;
    fx_init(&fx);
    fr_set(&fx.fr, RID_A, 1, true, 0x40, 1);
    fx.down.route_fail = -ENOMEM;
    CHECK_EQ(set_route(&fx, GSI_DEV, true, RID_A, 1), -ENOMEM);
    CHECK_EQ(fx.down.route[GSI_DEV].calls, 0);
    /* The same request again is sent (the downstream state is unknown). */
    CHECK_EQ(set_route(&fx, GSI_DEV, true, RID_A, 1), 0);
    CHECK(fx.down.route[GSI_DEV].installed);
    CHECK_EQ(fx.down.route[GSI_DEV].calls, 1);

    /* A failing re-translation is reported and retried by the next one. */
    fr_set(&fx.fr, RID_A, 1, true, 0x41, 1);
    fx.down.route_fail = -EIO;
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, RID_A, false), -EIO);
    CHECK_EQ(fx.down.route[GSI_DEV].data, 0x40);
    ir_sink_remapper_invalidated(ir_sink_remapper_slot(&fx.sink, fx.idx), RID_A, false);
    CHECK_EQ(fx.down.route[GSI_DEV].data, 0x41);
    CHECK_EQ(fx.down.route[GSI_DEV].calls, 2);
    fx_destroy(&fx);
}

static void test_two_remappers(void)
{
    struct fixture fx;
    fx_init(&fx);
    struct fake_remapper fr2;
    fr_init(&fr2);
    fr2.dev[0].rid = 0x0400;
    fr2.dev[1].rid = 0x0408;
    fr2.dev[2].rid = 0x0410;
    struct ir_remapper r2 = fr_remapper(&fr2);
    int idx2 = ir_sink_add_remapper(&fx.sink, &r2);
    CHECK_EQ(idx2, 1);

    fr_set(&fx.fr, RID_A, 0, true, 0x21, 1);
    fr_set(&fr2, 0x0400, 0, true, 0x22, 2);
    CHECK_EQ(set_route(&fx, GSI_DEV, true, RID_A, 0), 0);
    CHECK_EQ(set_route(&fx, GSI_DEV + 1, true, 0x0400, 0), 0);
    CHECK_EQ(fx.down.route[GSI_DEV + 1].data, 0x22);

    fr_set(&fx.fr, RID_A, 0, true, 0x23, 1);
    fr_set(&fr2, 0x0400, 0, true, 0x24, 2);
    /* Remapper 1's invalidate-all leaves remapper 0's routes alone. */
    ir_sink_remapper_invalidated(ir_sink_remapper_slot(&fx.sink, idx2), 0, true);
    CHECK_EQ(fx.down.route[GSI_DEV].data, 0x21);
    CHECK_EQ(fx.down.route[GSI_DEV + 1].data, 0x24);
    fx_destroy(&fx);
    pthread_mutex_destroy(&fr2.lock);
}

/* The real IOAPIC behind the sink: its routes (GSI = pin) and interrupts carry
 * rid 00:14.0; under AMD interrupt remapping Linux writes the IRTE index into
 * the RTE's vector (7:0) and delivery mode (10:8) fields, which must arrive
 * as MSI data[10:0]. */
static void ioapic_write_reg(struct ioapic *io, uint32_t reg, uint32_t val)
{
    ioapic_bus_ops.write(io, IOAPIC_IOREGSEL, &reg, 4);
    ioapic_bus_ops.write(io, IOAPIC_IOWIN, &val, 4);
}

static void test_ioapic_behind_sink(void)
{
    uint64_t addr;
    uint32_t data;
    /* Index 0x2a5: vector field 0xa5, delivery mode field 2, level. */
    uint64_t rte = 0xa5 | (2ull << 8) | IOAPIC_RTE_TRIGGER_LEVEL | (0x12ull << 56);
    ioapic_rte_to_msi(rte, &addr, &data);
    CHECK_EQ(data & 0x7ffu, 0x2a5);
    CHECK(data & MSI_DATA_TRIGGER_LEVEL);

    struct fixture fx;
    fx_init(&fx);
    struct ioapic *io = NULL;
    CHECK_EQ(ioapic_create(&fx.ms, &io), 0);
    if (!io) {
        fx_destroy(&fx);
        return;
    }
    /* 24 disabled routes recorded and passed down. */
    CHECK_EQ(fx.down.route_calls, IOAPIC_NUM_PINS);
    CHECK(!fx.down.route[4].installed);

    /* Pin 4 (the UART): edge, IRTE index 4 (Linux uses the pin number). */
    fr_set(&fx.fr, RID_IOAPIC, 4, true, 0x24, 1);
    ioapic_write_reg(io, IOAPIC_REG_REDTBL_HI(4), 0);
    ioapic_write_reg(io, IOAPIC_REG_REDTBL_LO(4), 4);
    CHECK(fx.down.route[4].installed);
    CHECK_EQ(fx.down.route[4].rid, RID_IOAPIC);
    CHECK_EQ(fx.down.route[4].addr, dest_addr(1));
    CHECK_EQ(fx.down.route[4].data, 0x24);

    ioapic_set_irq(io, 4, true);
    CHECK_EQ(fx.down.n_msi, 1);
    CHECK_EQ(fx.down.msi_rid, RID_IOAPIC);
    CHECK_EQ(fx.down.msi_data, 0x24);
    ioapic_set_irq(io, 4, false);

    /* Pin 9 (level, SCI) at index 9, not set up yet: route removed, the
     * interrupt dropped; after the guest fills the IRTE and invalidates, the
     * route carries the translated vector (what KVM's EOI bitmap needs). */
    ioapic_write_reg(io, IOAPIC_REG_REDTBL_LO(9), 9 | IOAPIC_RTE_TRIGGER_LEVEL);
    CHECK(!fx.down.route[9].installed);
    ioapic_set_irq(io, 9, true);
    CHECK_EQ(fx.down.n_msi, 1);
    fr_set(&fx.fr, RID_IOAPIC, 9, true, 0x29, 2);
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, RID_IOAPIC, false), 0);
    CHECK(fx.down.route[9].installed);
    CHECK_EQ(fx.down.route[9].data, 0x29 | MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT);
    CHECK_EQ(fx.down.route[9].addr, dest_addr(2));
    ioapic_destroy(io);
    fx_destroy(&fx);
}

/* ---- threads: set_route racing invalidations (run under ASan/TSan) ------- */

#define RACE_ROUNDS 2000
#define RACE_GSIS 8

struct race_arg {
    struct fixture *fx;
    unsigned id;
};

static void *race_router(void *p)
{
    struct race_arg *a = p;
    for (unsigned n = 0; n < RACE_ROUNDS; n++) {
        unsigned gsi = GSI_DEV + a->id * RACE_GSIS + n % RACE_GSIS;
        uint16_t rid = (a->id & 1) ? RID_A : RID_B;
        (void)set_route(a->fx, gsi, n % 7 != 0, rid, n % 4);
        (void)a->fx->ms.send_msi(a->fx->ms.opaque, rid, MSI_ADDR_BASE, n % 4);
    }
    return NULL;
}

static void *race_guest(void *p)
{
    struct race_arg *a = p;
    for (unsigned n = 0; n < RACE_ROUNDS; n++) {
        uint16_t rid = (n & 1) ? RID_A : RID_B;
        fr_set(&a->fx->fr, rid, n % 4, n % 3 != 0, (uint8_t)(0x30 + n % 4), n % 8);
        (void)ir_sink_invalidate(&a->fx->sink, a->fx->idx, rid, n % 16 == 0);
    }
    return NULL;
}

static void test_concurrent(void)
{
    struct fixture fx;
    fx_init(&fx);
    pthread_t th[4];
    struct race_arg args[4];
    for (unsigned i = 0; i < 4; i++) {
        args[i] = (struct race_arg){ &fx, i };
        CHECK_EQ(pthread_create(&th[i], NULL, i < 3 ? race_router : race_guest, &args[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++)
        pthread_join(th[i], NULL);

    /* Quiesce: a final table + invalidate-all makes every enabled route
     * match the table exactly. */
    for (unsigned i = 0; i < 4; i++) {
        fr_set(&fx.fr, RID_A, i, true, (uint8_t)(0x70 + i), 1);
        fr_set(&fx.fr, RID_B, i, true, (uint8_t)(0x78 + i), 2);
    }
    CHECK_EQ(ir_sink_invalidate(&fx.sink, fx.idx, 0, true), 0);
    for (unsigned i = 0; i < 3; i++) {
        for (unsigned g = 0; g < RACE_GSIS; g++) {
            unsigned gsi = GSI_DEV + i * RACE_GSIS + g;
            unsigned last_n = RACE_ROUNDS - RACE_GSIS + g; /* last round that touched gsi */
            bool en = last_n % 7 != 0;
            const struct fake_route *r = &fx.down.route[gsi];
            CHECK_EQ(r->installed, en);
            if (en)
                CHECK_EQ(r->data, ((i & 1) ? 0x70u : 0x78u) + last_n % 4);
        }
    }
    fx_destroy(&fx);
}

int main(void)
{
    test_init_errors();
    test_send_msi();
    test_route_translated_blocked_restored();
    test_invalidate_scope();
    test_free_gsi_and_passthrough_calls();
    test_downstream_failure_retried();
    test_two_remappers();
    test_ioapic_behind_sink();
    test_concurrent();
    return check_result("test_ir_sink");
}
