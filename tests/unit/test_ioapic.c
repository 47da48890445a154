/* SPDX-License-Identifier: MIT */
/* IOAPIC model, driven through its MMIO callbacks and public API with a fake
 * msi_sink that records every call. */
#include <errno.h>
#include <stdlib.h>

#include "devices/ioapic.h"
#include "tests/unit/check.h"

/* ---- fake sink ---------------------------------------------------------------- */

#define MAX_CALLS 256

struct msi_call {
    uint16_t source_id;
    uint64_t addr;
    uint32_t data;
};

struct route_call {
    unsigned gsi;
    bool enabled;
    uint16_t source_id;
    uint64_t addr;
    uint32_t data;
};

struct fake_sink {
    struct msi_call msi[MAX_CALLS];
    unsigned n_msi;
    struct route_call route[MAX_CALLS];
    unsigned n_route;
    int fail_routes; /* fail this many set_route calls with -EIO */
};

static int fake_send_msi(void *opaque, uint16_t source_id, uint64_t addr, uint32_t data)
{
    struct fake_sink *s = opaque;
    if (s->n_msi < MAX_CALLS)
        s->msi[s->n_msi] = (struct msi_call){ source_id, addr, data };
    s->n_msi++;
    return 0;
}

static int fake_set_route(void *opaque, unsigned gsi, bool enabled, uint16_t source_id,
                          uint64_t addr, uint32_t data)
{
    struct fake_sink *s = opaque;
    if (s->fail_routes) {
        s->fail_routes--;
        return -EIO;
    }
    if (s->n_route < MAX_CALLS)
        s->route[s->n_route] = (struct route_call){ gsi, enabled, source_id, addr, data };
    s->n_route++;
    return 0;
}

static struct fake_sink sink;

static struct ioapic *make_ioapic(void)
{
    memset(&sink, 0, sizeof(sink));
    struct msi_sink ms = { .send_msi = fake_send_msi, .set_route = fake_set_route, .opaque = &sink };
    struct ioapic *io = NULL;
    CHECK_EQ(ioapic_create(&ms, &io), 0);
    return io;
}

/* ---- accessors ---------------------------------------------------------------- */

static void w32(struct ioapic *io, uint64_t off, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    ioapic_bus_ops.write(io, off, b, 4);
}

static uint32_t r32(struct ioapic *io, uint64_t off)
{
    uint8_t b[4];
    ioapic_bus_ops.read(io, off, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void reg_w(struct ioapic *io, uint32_t index, uint32_t v)
{
    w32(io, IOAPIC_IOREGSEL, index);
    w32(io, IOAPIC_IOWIN, v);
}

static uint32_t reg_r(struct ioapic *io, uint32_t index)
{
    w32(io, IOAPIC_IOREGSEL, index);
    return r32(io, IOAPIC_IOWIN);
}

/* Linux writes the high dword first, then the low one. */
static void rte_w(struct ioapic *io, unsigned pin, uint64_t rte)
{
    reg_w(io, IOAPIC_REG_REDTBL_HI(pin), (uint32_t)(rte >> 32));
    reg_w(io, IOAPIC_REG_REDTBL_LO(pin), (uint32_t)rte);
}

static uint64_t rte_r(struct ioapic *io, unsigned pin)
{
    uint64_t lo = reg_r(io, IOAPIC_REG_REDTBL_LO(pin));
    uint64_t hi = reg_r(io, IOAPIC_REG_REDTBL_HI(pin));
    return hi << 32 | lo;
}

static uint64_t make_rte(uint8_t vector, unsigned mode, bool logical, bool level, bool masked,
                         uint8_t dest)
{
    return FIELD_PREP(IOAPIC_RTE_VECTOR, vector) | FIELD_PREP(IOAPIC_RTE_DELIVERY_MODE, mode) |
           (logical ? IOAPIC_RTE_DEST_MODE_LOGICAL : 0) | (level ? IOAPIC_RTE_TRIGGER_LEVEL : 0) |
           (masked ? IOAPIC_RTE_MASKED : 0) | FIELD_PREP(IOAPIC_RTE_DEST_ID, dest);
}

static const struct route_call *last_route(void)
{
    return sink.n_route ? &sink.route[sink.n_route - 1] : NULL;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_create_and_id_registers(void)
{
    struct ioapic *io = make_ioapic();
    CHECK_EQ(sink.n_route, IOAPIC_NUM_PINS);
    for (unsigned i = 0; i < IOAPIC_NUM_PINS && i < sink.n_route; i++) {
        CHECK_EQ(sink.route[i].gsi, i);
        CHECK(!sink.route[i].enabled);
        CHECK_EQ(sink.route[i].source_id, IRQ_SOURCE_ID_IOAPIC);
        CHECK_EQ(sink.route[i].addr, MSI_ADDR_BASE);
    }
    CHECK_EQ(sink.n_msi, 0);

    CHECK_EQ(reg_r(io, IOAPIC_REG_ID), (uint32_t)LAYOUT_IOAPIC_ID << 24);
    CHECK_EQ(reg_r(io, IOAPIC_REG_VER), 0x00170020);
    reg_w(io, IOAPIC_REG_VER, 0);
    CHECK_EQ(reg_r(io, IOAPIC_REG_VER), 0x00170020);
    reg_w(io, IOAPIC_REG_ID, 0xffffffff);
    CHECK_EQ(reg_r(io, IOAPIC_REG_ID), 0x0f000000);
    CHECK_EQ(reg_r(io, IOAPIC_REG_ARB), 0x0f000000);
    w32(io, IOAPIC_IOREGSEL, 0x123);
    CHECK_EQ(r32(io, IOAPIC_IOREGSEL), 0x23);
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
        CHECK_EQ(rte_r(io, pin), IOAPIC_RTE_MASKED);

    /* Reset masks everything and reinstalls every route. */
    rte_w(io, 1, make_rte(0x30, 0, false, false, false, 1));
    unsigned before = sink.n_route;
    CHECK_EQ(ioapic_reset(io), 0);
    CHECK_EQ(sink.n_route, before + IOAPIC_NUM_PINS);
    CHECK_EQ(rte_r(io, 1), IOAPIC_RTE_MASKED);
    CHECK_EQ(reg_r(io, IOAPIC_REG_ID), (uint32_t)LAYOUT_IOAPIC_ID << 24);
    ioapic_destroy(io);
}

static void test_rte_read_only_bits(void)
{
    struct ioapic *io = make_ioapic();
    reg_w(io, IOAPIC_REG_REDTBL_LO(7), 0xffffffff);
    /* Delivery status (12) and Remote IRR (14) are read-only, 31:17 reserved. */
    CHECK_EQ(reg_r(io, IOAPIC_REG_REDTBL_LO(7)), 0x0001afff);
    reg_w(io, IOAPIC_REG_REDTBL_HI(7), 0xffffffff);
    CHECK_EQ(reg_r(io, IOAPIC_REG_REDTBL_HI(7)), 0xffff0000);
    /* The other pins are untouched. */
    CHECK_EQ(rte_r(io, 6), IOAPIC_RTE_MASKED);
    CHECK_EQ(rte_r(io, 8), IOAPIC_RTE_MASKED);
    ioapic_destroy(io);
}

static void test_route_mirrors_rte(void)
{
    struct ioapic *io = make_ioapic();
    unsigned n = sink.n_route;
    rte_w(io, 3, make_rte(0x31, IOAPIC_DELIVERY_FIXED, false, false, false, 0x05));
    /* The high-dword write on a masked entry changes nothing visible to KVM. */
    CHECK_EQ(sink.n_route, n + 1);
    const struct route_call *rc = last_route();
    CHECK_EQ(rc->gsi, 3);
    CHECK(rc->enabled);
    CHECK_EQ(rc->source_id, IRQ_SOURCE_ID_IOAPIC);
    CHECK_EQ(rc->addr, 0xfee05000ULL);
    CHECK_EQ(rc->data, 0x31);

    /* Same value again: no new route. */
    rte_w(io, 3, make_rte(0x31, IOAPIC_DELIVERY_FIXED, false, false, false, 0x05));
    CHECK_EQ(sink.n_route, n + 1);

    /* Level, logical, lowest priority. */
    rte_w(io, 3, make_rte(0x41, IOAPIC_DELIVERY_LOWEST_PRIORITY, true, true, false, 0x0f));
    rc = last_route();
    CHECK(rc->enabled);
    CHECK_EQ(rc->addr, 0xfee0f004ULL);
    CHECK_EQ(rc->data, 0x41 | 1u << 8 | MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT);

    /* Masking removes the route. */
    rte_w(io, 3, make_rte(0x41, IOAPIC_DELIVERY_LOWEST_PRIORITY, true, true, true, 0x0f));
    rc = last_route();
    CHECK_EQ(rc->gsi, 3);
    CHECK(!rc->enabled);

    /* A failed set_route is retried on the next write even if nothing changed. */
    sink.fail_routes = 1;
    n = sink.n_route;
    rte_w(io, 4, make_rte(0x50, 0, false, false, false, 1));
    CHECK_EQ(sink.n_route, n); /* the failing call was not recorded */
    rte_w(io, 4, make_rte(0x50, 0, false, false, false, 1));
    CHECK_EQ(sink.n_route, n + 1);
    CHECK(last_route()->enabled);
    CHECK_EQ(last_route()->gsi, 4);
    ioapic_destroy(io);
}

static void test_msi_encoding(void)
{
    uint64_t addr;
    uint32_t data;
    ioapic_rte_to_msi(make_rte(0x20, IOAPIC_DELIVERY_FIXED, false, false, false, 0xab), &addr,
                      &data);
    CHECK_EQ(addr, 0xfeeab000ULL);
    CHECK_EQ(data, 0x20);
    ioapic_rte_to_msi(make_rte(0x02, IOAPIC_DELIVERY_NMI, true, false, true, 0x01), &addr, &data);
    CHECK_EQ(addr, 0xfee01004ULL);
    CHECK_EQ(data, 0x402); /* the mask bit does not travel */
    ioapic_rte_to_msi(make_rte(0x99, IOAPIC_DELIVERY_FIXED, false, true, false, 0) |
                          IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_POLARITY_LOW |
                          IOAPIC_RTE_DELIVERY_STATUS,
                      &addr, &data);
    CHECK_EQ(addr, 0xfee00000ULL);
    CHECK_EQ(data, 0x99 | MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT);
    /* KVM extended destination id: RTE 55:49 -> address 11:5 (APIC id 0x7f23). */
    ioapic_rte_to_msi(make_rte(0x30, 0, false, false, false, 0x23) |
                          FIELD_PREP(IOAPIC_RTE_EXT_DEST_ID, 0x7f),
                      &addr, &data);
    CHECK_EQ(addr, 0xfee23fe0ULL);
    /* VT-d remappable format: handle bits travel unchanged (63:49 -> 19:5,
     * 48 -> 4, 11 -> 2). */
    uint64_t rte = IOAPIC_RTE_FORMAT_REMAPPABLE | FIELD_PREP(GENMASK(63, 49), 0x1234) |
                   IOAPIC_RTE_DEST_MODE_LOGICAL | 0x40;
    ioapic_rte_to_msi(rte, &addr, &data);
    CHECK_EQ(addr, MSI_ADDR_BASE | (0x1234ULL << 5) | BIT(4) | BIT(2));
    CHECK_EQ(data, 0x40);
}

static void test_edge_delivery(void)
{
    struct ioapic *io = make_ioapic();
    rte_w(io, 4, make_rte(0x34, IOAPIC_DELIVERY_FIXED, false, false, false, 0x02));
    ioapic_set_irq(io, 4, true);
    CHECK_EQ(sink.n_msi, 1);
    CHECK_EQ(sink.msi[0].source_id, IRQ_SOURCE_ID_IOAPIC);
    CHECK_EQ(sink.msi[0].addr, 0xfee02000ULL);
    CHECK_EQ(sink.msi[0].data, 0x34);
    ioapic_set_irq(io, 4, true); /* no edge */
    CHECK_EQ(sink.n_msi, 1);
    ioapic_set_irq(io, 4, false);
    CHECK_EQ(sink.n_msi, 1);
    ioapic_set_irq(io, 4, true);
    CHECK_EQ(sink.n_msi, 2);
    CHECK_EQ(rte_r(io, 4) & IOAPIC_RTE_REMOTE_IRR, 0); /* edge: never Remote IRR */
    ioapic_eoi(io, 0x34);
    CHECK_EQ(sink.n_msi, 2);

    /* Masked: the edge is lost, and unmasking does not replay it. */
    ioapic_set_irq(io, 4, false);
    rte_w(io, 4, make_rte(0x34, IOAPIC_DELIVERY_FIXED, false, false, true, 0x02));
    ioapic_set_irq(io, 4, true);
    CHECK_EQ(sink.n_msi, 2);
    rte_w(io, 4, make_rte(0x34, IOAPIC_DELIVERY_FIXED, false, false, false, 0x02));
    CHECK_EQ(sink.n_msi, 2);

    /* The irq_line helper drives the same input. */
    struct irq_line line = ioapic_irq_line(io, 4);
    irq_line_set(&line, false);
    irq_line_set(&line, true);
    CHECK_EQ(sink.n_msi, 3);

    /* Pins out of range are ignored. */
    ioapic_set_irq(io, IOAPIC_NUM_PINS, true);
    CHECK_EQ(sink.n_msi, 3);
    ioapic_destroy(io);
}

static void test_level_delivery_and_eoi(void)
{
    struct ioapic *io = make_ioapic();
    uint64_t rte = make_rte(0x45, IOAPIC_DELIVERY_FIXED, false, true, false, 0x01);
    rte_w(io, 9, rte);
    ioapic_set_irq(io, 9, true);
    CHECK_EQ(sink.n_msi, 1);
    CHECK_EQ(sink.msi[0].data, 0x45 | MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT);
    CHECK_EQ(sink.msi[0].addr, 0xfee01000ULL);
    CHECK(rte_r(io, 9) & IOAPIC_RTE_REMOTE_IRR);

    /* Remote IRR is read-only: a guest write does not clear it. */
    reg_w(io, IOAPIC_REG_REDTBL_LO(9), (uint32_t)rte);
    CHECK(rte_r(io, 9) & IOAPIC_RTE_REMOTE_IRR);
    /* Still asserted, Remote IRR set: nothing more. */
    ioapic_set_irq(io, 9, true);
    CHECK_EQ(sink.n_msi, 1);
    /* EOI of another vector: nothing. */
    ioapic_eoi(io, 0x46);
    CHECK(rte_r(io, 9) & IOAPIC_RTE_REMOTE_IRR);
    CHECK_EQ(sink.n_msi, 1);
    /* EOI while still asserted: delivered again. */
    ioapic_eoi(io, 0x45);
    CHECK_EQ(sink.n_msi, 2);
    CHECK(rte_r(io, 9) & IOAPIC_RTE_REMOTE_IRR);
    /* Deassert, EOI: Remote IRR clears, nothing delivered. */
    ioapic_set_irq(io, 9, false);
    ioapic_eoi(io, 0x45);
    CHECK_EQ(rte_r(io, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
    CHECK_EQ(sink.n_msi, 2);

    /* The EOI register does the same as ioapic_eoi(). */
    ioapic_set_irq(io, 9, true);
    CHECK_EQ(sink.n_msi, 3);
    w32(io, IOAPIC_EOI, 0x45);
    CHECK_EQ(sink.n_msi, 4);
    ioapic_set_irq(io, 9, false);
    w32(io, IOAPIC_EOI, 0x45);
    CHECK_EQ(rte_r(io, 9) & IOAPIC_RTE_REMOTE_IRR, 0);

    /* Two level pins sharing a vector are both EOId. */
    rte_w(io, 10, make_rte(0x45, IOAPIC_DELIVERY_FIXED, false, true, false, 0x01));
    ioapic_set_irq(io, 9, true);
    ioapic_set_irq(io, 10, true);
    CHECK_EQ(sink.n_msi, 6);
    ioapic_set_irq(io, 9, false);
    ioapic_set_irq(io, 10, false);
    ioapic_eoi(io, 0x45);
    CHECK_EQ(rte_r(io, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
    CHECK_EQ(rte_r(io, 10) & IOAPIC_RTE_REMOTE_IRR, 0);

    /* Switching to edge clears Remote IRR. */
    ioapic_set_irq(io, 9, true);
    CHECK(rte_r(io, 9) & IOAPIC_RTE_REMOTE_IRR);
    rte_w(io, 9, make_rte(0x45, IOAPIC_DELIVERY_FIXED, false, false, false, 0x01));
    CHECK_EQ(rte_r(io, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
    ioapic_destroy(io);
}

static void test_level_masked(void)
{
    struct ioapic *io = make_ioapic();
    rte_w(io, 11, make_rte(0x51, IOAPIC_DELIVERY_FIXED, false, true, true, 0x03));
    ioapic_set_irq(io, 11, true);
    CHECK_EQ(sink.n_msi, 0);
    /* Unmasking an asserted level pin delivers. */
    rte_w(io, 11, make_rte(0x51, IOAPIC_DELIVERY_FIXED, false, true, false, 0x03));
    CHECK_EQ(sink.n_msi, 1);
    CHECK(last_route()->enabled);

    /* Masked while in service: the route (and so KVM's EOI exit) stays until
     * the EOI, then goes. */
    unsigned n = sink.n_route;
    rte_w(io, 11, make_rte(0x51, IOAPIC_DELIVERY_FIXED, false, true, true, 0x03));
    CHECK_EQ(sink.n_route, n);
    ioapic_eoi(io, 0x51);
    CHECK_EQ(sink.n_msi, 1); /* masked: not re-delivered */
    CHECK_EQ(sink.n_route, n + 1);
    CHECK(!last_route()->enabled);
    CHECK_EQ(last_route()->gsi, 11);
    /* Unmask while still asserted: delivered. */
    rte_w(io, 11, make_rte(0x51, IOAPIC_DELIVERY_FIXED, false, true, false, 0x03));
    CHECK_EQ(sink.n_msi, 2);
    CHECK(last_route()->enabled);
    ioapic_destroy(io);
}

static void test_bad_accesses(void)
{
    struct ioapic *io = make_ioapic();
    unsigned routes = sink.n_route;
    uint8_t b1 = 0;
    ioapic_bus_ops.read(io, IOAPIC_IOREGSEL, &b1, 1);
    CHECK_EQ(b1, 0xff);
    uint64_t q = 0;
    ioapic_bus_ops.read(io, IOAPIC_IOWIN, &q, 8);
    CHECK_EQ(q, UINT64_MAX);
    q = 0;
    ioapic_bus_ops.write(io, IOAPIC_IOREGSEL, &q, 8);
    CHECK_EQ(r32(io, 0x20), UINT32_MAX);
    CHECK_EQ(r32(io, IOAPIC_EOI), UINT32_MAX); /* EOI is write-only */
    w32(io, 0x20, 0x12345678);
    /* Index past the redirection table. */
    CHECK_EQ(reg_r(io, IOAPIC_REG_REDTBL_HI(IOAPIC_NUM_PINS - 1) + 1), UINT32_MAX);
    CHECK_EQ(reg_r(io, 0x03), UINT32_MAX);
    reg_w(io, 0xff, 0);
    CHECK_EQ(sink.n_route, routes);
    /* A byte write to IOREGSEL did not change the selection. */
    w32(io, IOAPIC_IOREGSEL, IOAPIC_REG_VER);
    uint8_t sel = IOAPIC_REG_ID;
    ioapic_bus_ops.write(io, IOAPIC_IOREGSEL, &sel, 1);
    CHECK_EQ(r32(io, IOAPIC_IOWIN), 0x00170020);
    ioapic_destroy(io);
}

int main(void)
{
    test_create_and_id_registers();
    test_rte_read_only_bits();
    test_route_mirrors_rte();
    test_msi_encoding();
    test_edge_delivery();
    test_level_delivery_and_eoi();
    test_level_masked();
    test_bad_accesses();
    return check_result("test_ioapic");
}
