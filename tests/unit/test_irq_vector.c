/* SPDX-License-Identifier: MIT */
/*
 * irq_vector against a fake msi_sink: the irqfd path (GSI allocation, eventfd
 * connected, routes installed only on change, fire = one eventfd write,
 * teardown in order), init failures unwinding, the send_msi fallback, and
 * destroy on zeroed/failed vectors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "devices/irq_vector.h"
#include "tests/unit/check.h"

#define MAX_CALLS 64
#define FAKE_GSI 42
#define SRC_ID 0x0108

struct route_call {
    unsigned gsi;
    bool enabled;
    uint16_t source_id;
    uint64_t addr;
    uint32_t data;
};

struct fake_sink {
    struct route_call route[MAX_CALLS];
    unsigned n_route;
    struct route_call msi[MAX_CALLS];
    unsigned n_msi;
    int alloc_ret;           /* next alloc_gsi result */
    unsigned n_alloc, n_free, freed_gsi;
    int irqfd_fd, irqfd_gsi; /* last assigned */
    bool irqfd_assigned;
    unsigned n_irqfd_assign, n_irqfd_deassign;
    int irqfd_fail;          /* fail assign with this (negative) */
    int route_fail;          /* fail set_route with this once */
    char order[16];          /* teardown order: 'i' irqfd off, 'r' route off, 'f' free */
    unsigned n_order;
};

static void order_push(struct fake_sink *s, char c)
{
    if (s->n_order + 1 < sizeof(s->order))
        s->order[s->n_order++] = c;
}

static int fake_send_msi(void *opaque, uint16_t source_id, uint64_t addr, uint32_t data)
{
    struct fake_sink *s = opaque;
    if (s->n_msi < MAX_CALLS)
        s->msi[s->n_msi] = (struct route_call){ 0, true, source_id, addr, data };
    s->n_msi++;
    return 0;
}

static int fake_set_route(void *opaque, unsigned gsi, bool enabled, uint16_t source_id,
                          uint64_t addr, uint32_t data)
{
    struct fake_sink *s = opaque;
    if (s->route_fail) {
        int ret = s->route_fail;
        s->route_fail = 0;
        return ret;
    }
    if (s->n_route < MAX_CALLS)
        s->route[s->n_route] = (struct route_call){ gsi, enabled, source_id, addr, data };
    s->n_route++;
    if (!enabled)
        order_push(s, 'r');
    return 0;
}

static int fake_alloc_gsi(void *opaque)
{
    struct fake_sink *s = opaque;
    s->n_alloc++;
    return s->alloc_ret;
}

static void fake_free_gsi(void *opaque, unsigned gsi)
{
    struct fake_sink *s = opaque;
    s->n_free++;
    s->freed_gsi = gsi;
    order_push(s, 'f');
}

static int fake_irqfd(void *opaque, int fd, unsigned gsi, bool assign)
{
    struct fake_sink *s = opaque;
    if (assign) {
        if (s->irqfd_fail)
            return s->irqfd_fail;
        s->n_irqfd_assign++;
        s->irqfd_fd = fd;
        s->irqfd_gsi = (int)gsi;
        s->irqfd_assigned = true;
    } else {
        s->n_irqfd_deassign++;
        CHECK_EQ(fd, s->irqfd_fd);
        CHECK_EQ(gsi, (unsigned)s->irqfd_gsi);
        s->irqfd_assigned = false;
        order_push(s, 'i');
    }
    return 0;
}

/* Drain the eventfd: the count of fires since the last read (0 when none). */
static uint64_t eventfd_count(int fd)
{
    uint64_t val = 0;
    if (read(fd, &val, sizeof(val)) != (ssize_t)sizeof(val))
        return 0;
    return val;
}

static void test_irqfd_path(void)
{
    struct fake_sink s = { .alloc_ret = FAKE_GSI };
    const struct msi_sink sink = {
        .send_msi = fake_send_msi, .set_route = fake_set_route, .alloc_gsi = fake_alloc_gsi,
        .free_gsi = fake_free_gsi, .irqfd = fake_irqfd, .opaque = &s,
    };
    struct irq_vector v;
    CHECK_EQ(irq_vector_init(&v, &sink, SRC_ID), 0);
    CHECK(v.ready);
    CHECK_EQ(v.gsi, FAKE_GSI);
    CHECK(v.fd >= 0);
    CHECK(s.irqfd_assigned);
    CHECK_EQ(s.irqfd_fd, v.fd);
    CHECK_EQ(s.irqfd_gsi, FAKE_GSI);
    CHECK(fcntl(v.fd, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(v.fd, F_GETFD) & FD_CLOEXEC);
    CHECK_EQ(s.n_route, 0);

    /* not enabled: fire is dropped */
    irq_vector_fire(&v);
    CHECK_EQ(eventfd_count(v.fd), 0);

    /* route installed with the source id, once */
    CHECK_EQ(irq_vector_route(&v, true, 0xfee01000, 0x4041), 0);
    CHECK_EQ(s.n_route, 1);
    CHECK_EQ(s.route[0].gsi, FAKE_GSI);
    CHECK(s.route[0].enabled);
    CHECK_EQ(s.route[0].source_id, SRC_ID);
    CHECK_EQ(s.route[0].addr, 0xfee01000);
    CHECK_EQ(s.route[0].data, 0x4041);
    CHECK_EQ(irq_vector_route(&v, true, 0xfee01000, 0x4041), 0);
    CHECK_EQ(s.n_route, 1); /* unchanged: no sink call */

    /* fire = eventfd write, never send_msi */
    irq_vector_fire(&v);
    irq_vector_fire(&v);
    CHECK_EQ(eventfd_count(v.fd), 2);
    CHECK_EQ(s.n_msi, 0);

    /* new message -> new route */
    CHECK_EQ(irq_vector_route(&v, true, 0xfee02000, 0x4042), 0);
    CHECK_EQ(s.n_route, 2);
    CHECK_EQ(s.route[1].addr, 0xfee02000);
    CHECK_EQ(s.route[1].data, 0x4042);

    /* disable: route removed once, fire dropped */
    CHECK_EQ(irq_vector_route(&v, false, 0xfee02000, 0x4042), 0);
    CHECK_EQ(s.n_route, 3);
    CHECK(!s.route[2].enabled);
    CHECK_EQ(irq_vector_route(&v, false, 0, 0), 0);
    CHECK_EQ(s.n_route, 3);
    irq_vector_fire(&v);
    CHECK_EQ(eventfd_count(v.fd), 0);

    /* a failed route install is reported; fire falls back to send_msi; the
     * next route call retries */
    s.route_fail = -EIO;
    CHECK_EQ(irq_vector_route(&v, true, 0xfee03000, 0x43), -EIO);
    CHECK_EQ(s.n_route, 3);
    irq_vector_fire(&v);
    CHECK_EQ(eventfd_count(v.fd), 0);
    CHECK_EQ(s.n_msi, 1);
    CHECK_EQ(s.msi[0].source_id, SRC_ID);
    CHECK_EQ(s.msi[0].addr, 0xfee03000);
    CHECK_EQ(s.msi[0].data, 0x43);
    CHECK_EQ(irq_vector_route(&v, true, 0xfee03000, 0x43), 0);
    CHECK_EQ(s.n_route, 4);
    irq_vector_fire(&v);
    CHECK_EQ(eventfd_count(v.fd), 1);
    CHECK_EQ(s.n_msi, 1);

    /* teardown: irqfd off, route removed, GSI freed, fd closed */
    memset(s.order, 0, sizeof(s.order));
    s.n_order = 0;
    int fd = v.fd;
    irq_vector_destroy(&v);
    CHECK_EQ(s.n_irqfd_deassign, 1);
    CHECK(!s.irqfd_assigned);
    CHECK_EQ(s.n_route, 5);
    CHECK(!s.route[4].enabled);
    CHECK_EQ(s.route[4].gsi, FAKE_GSI);
    CHECK_EQ(s.n_free, 1);
    CHECK_EQ(s.freed_gsi, FAKE_GSI);
    CHECK_STREQ(s.order, "irf");
    CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
    CHECK(!v.ready);
    CHECK_EQ(v.fd, -1);
    /* twice is harmless */
    irq_vector_destroy(&v);
    CHECK_EQ(s.n_free, 1);
    CHECK_EQ(s.n_irqfd_deassign, 1);
}

static void test_destroy_unrouted(void)
{
    struct fake_sink s = { .alloc_ret = FAKE_GSI };
    const struct msi_sink sink = {
        .send_msi = fake_send_msi, .set_route = fake_set_route, .alloc_gsi = fake_alloc_gsi,
        .free_gsi = fake_free_gsi, .irqfd = fake_irqfd, .opaque = &s,
    };
    struct irq_vector v;
    CHECK_EQ(irq_vector_init(&v, &sink, SRC_ID), 0);
    irq_vector_destroy(&v);
    CHECK_EQ(s.n_route, 0); /* nothing to remove */
    CHECK_STREQ(s.order, "if");
}

static void test_init_failures(void)
{
    /* no GSI left: nothing allocated */
    struct fake_sink s = { .alloc_ret = -ENOSPC };
    const struct msi_sink sink = {
        .send_msi = fake_send_msi, .set_route = fake_set_route, .alloc_gsi = fake_alloc_gsi,
        .free_gsi = fake_free_gsi, .irqfd = fake_irqfd, .opaque = &s,
    };
    struct irq_vector v;
    CHECK_EQ(irq_vector_init(&v, &sink, SRC_ID), -ENOSPC);
    CHECK(!v.ready);
    CHECK_EQ(v.fd, -1);
    CHECK_EQ(s.n_free, 0);
    irq_vector_destroy(&v);
    CHECK_EQ(s.n_free, 0);
    CHECK_EQ(irq_vector_route(&v, true, 0xfee00000, 0x30), -EINVAL);
    irq_vector_fire(&v);
    CHECK_EQ(s.n_msi, 0);

    /* irqfd refused: the GSI is given back */
    s = (struct fake_sink){ .alloc_ret = FAKE_GSI, .irqfd_fail = -EINVAL };
    CHECK_EQ(irq_vector_init(&v, &sink, SRC_ID), -EINVAL);
    CHECK(!v.ready);
    CHECK_EQ(s.n_alloc, 1);
    CHECK_EQ(s.n_free, 1);
    CHECK_EQ(s.freed_gsi, FAKE_GSI);
    irq_vector_destroy(&v);
    CHECK_EQ(s.n_free, 1);

    /* a zeroed vector is safe to destroy */
    struct irq_vector zero = { 0 };
    irq_vector_destroy(&zero);
    CHECK_EQ(irq_vector_route(&zero, true, 0xfee00000, 0x30), -EINVAL);
}

static void test_fallback_path(void)
{
    struct fake_sink s = { 0 };
    const struct msi_sink sink = {
        .send_msi = fake_send_msi, .set_route = fake_set_route, .opaque = &s,
    };
    struct irq_vector v;
    CHECK_EQ(irq_vector_init(&v, &sink, SRC_ID), 0);
    CHECK(v.ready);
    CHECK_EQ(v.gsi, -1);
    CHECK_EQ(v.fd, -1);

    irq_vector_fire(&v); /* not enabled */
    CHECK_EQ(s.n_msi, 0);
    CHECK_EQ(irq_vector_route(&v, true, 0xfee00000 | (3 << 12), 0x51), 0);
    CHECK_EQ(s.n_route, 0); /* no GSI: nothing to route */
    irq_vector_fire(&v);
    CHECK_EQ(s.n_msi, 1);
    CHECK_EQ(s.msi[0].source_id, SRC_ID);
    CHECK_EQ(s.msi[0].addr, 0xfee00000 | (3 << 12));
    CHECK_EQ(s.msi[0].data, 0x51);
    CHECK_EQ(irq_vector_route(&v, false, 0, 0), 0);
    irq_vector_fire(&v);
    CHECK_EQ(s.n_msi, 1);
    irq_vector_destroy(&v);
    CHECK_EQ(s.n_free, 0);
    CHECK(!v.ready);
}

int main(void)
{
    test_irqfd_path();
    test_destroy_unrouted();
    test_init_failures();
    test_fallback_path();
    return check_result("test_irq_vector");
}
