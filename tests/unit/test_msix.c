/* SPDX-License-Identifier: MIT */
/*
 * MSI-X capability helper, driven the way a guest drives it: config space
 * through pci_config_read/write, the table and PBA through the BAR
 * (pci_msix_bar_read/write), raising vectors with pci_msix_notify. A recorder
 * stands in for the owner (vector_update and fire).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/pci/msix.h"
#include "tests/unit/check.h"

#define NVEC 70             /* two PBA qwords */
#define MSIX_BAR 2
#define BAR_SIZE 0x2000
#define TABLE_OFF 0x0
#define PBA_OFF 0x1000
#define MAX_UPDATES 256

struct update {
    unsigned vec;
    bool deliverable;
    uint64_t addr;
    uint32_t data;
};

struct fixture {
    struct pci_device dev;
    struct pci_msix msix;
    struct update upd[MAX_UPDATES];
    unsigned n_upd;
    unsigned fires[NVEC];
    unsigned n_fire;
};

static struct fixture fx;

static void rec_vector_update(void *opaque, unsigned vec, bool deliverable, uint64_t addr,
                              uint32_t data)
{
    struct fixture *f = opaque;
    if (f->n_upd < MAX_UPDATES)
        f->upd[f->n_upd] = (struct update){ vec, deliverable, addr, data };
    f->n_upd++;
}

static void rec_fire(void *opaque, unsigned vec)
{
    struct fixture *f = opaque;
    CHECK(vec < NVEC);
    if (vec < NVEC)
        f->fires[vec]++;
    f->n_fire++;
}

static const struct pci_msix_ops rec_ops = { .vector_update = rec_vector_update, .fire = rec_fire };

static void cfg_written(struct pci_device *dev, unsigned off, unsigned size)
{
    struct fixture *f = dev->opaque;
    pci_msix_config_written(&f->msix, off, size);
}

static const struct pci_device_ops dev_ops = { .config_written = cfg_written };

static void bar_read(void *opaque, uint64_t off, void *data, unsigned size)
{
    struct fixture *f = opaque;
    if (!pci_msix_bar_read(&f->msix, off, data, size))
        memset(data, 0, size);
}

static void bar_write(void *opaque, uint64_t off, const void *data, unsigned size)
{
    struct fixture *f = opaque;
    (void)pci_msix_bar_write(&f->msix, off, data, size);
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

/* ---- guest-side helpers ------------------------------------------------------ */

static uint16_t cfg_r16(unsigned off)
{
    uint16_t v = 0;
    pci_config_read(&fx.dev, off, &v, sizeof(v));
    return v;
}

static uint32_t cfg_r32(unsigned off)
{
    uint32_t v = 0;
    pci_config_read(&fx.dev, off, &v, sizeof(v));
    return v;
}

static void cfg_w16(unsigned off, uint16_t v)
{
    pci_config_write(&fx.dev, off, &v, sizeof(v));
}

static void cfg_w32(unsigned off, uint32_t v)
{
    pci_config_write(&fx.dev, off, &v, sizeof(v));
}

static uint64_t entry_off(unsigned vec, unsigned field)
{
    return TABLE_OFF + (uint64_t)vec * PCI_MSIX_ENTRY_SIZE + field;
}

static uint32_t tbl_r32(unsigned vec, unsigned field)
{
    uint32_t v = 0;
    CHECK(pci_msix_bar_read(&fx.msix, entry_off(vec, field), &v, sizeof(v)));
    return v;
}

static void tbl_w32(unsigned vec, unsigned field, uint32_t v)
{
    CHECK(pci_msix_bar_write(&fx.msix, entry_off(vec, field), &v, sizeof(v)));
}

static uint64_t pba_r64(unsigned qword)
{
    uint64_t v = 0;
    CHECK(pci_msix_bar_read(&fx.msix, PBA_OFF + 8 * qword, &v, sizeof(v)));
    return v;
}

static unsigned ctrl_off(void)
{
    return fx.msix.cap + PCI_MSIX_FLAGS;
}

static void program(unsigned vec, uint64_t addr, uint32_t data)
{
    tbl_w32(vec, PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)addr);
    tbl_w32(vec, PCI_MSIX_ENTRY_UPPER_ADDR, (uint32_t)(addr >> 32));
    tbl_w32(vec, PCI_MSIX_ENTRY_DATA, data);
}

static void set_vector_mask(unsigned vec, bool masked)
{
    tbl_w32(vec, PCI_MSIX_ENTRY_VECTOR_CTRL, masked ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    pci_device_init(&fx.dev, "msix-test", 0x1af4, 0x1041, 0x020000, 1, true, &dev_ops, &fx);
    CHECK_EQ(pci_declare_bar(&fx.dev, MSIX_BAR, PCI_BAR_MEM32, false, BAR_SIZE, &bar_ops, &fx,
                             BUS_SIZE_ANY, false),
             0);
    CHECK_EQ(pci_msix_init(&fx.msix, &fx.dev, NVEC, MSIX_BAR, TABLE_OFF, PBA_OFF, &rec_ops, &fx),
             0);
    cfg_w16(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static void teardown(void)
{
    pci_msix_destroy(&fx.msix);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_capability_layout(void)
{
    setup();
    CHECK_EQ(pci_find_capability(&fx.dev, PCI_CAP_ID_MSIX), fx.msix.cap);
    CHECK(cfg_r16(PCI_STATUS) & PCI_STATUS_CAP_LIST);
    CHECK_EQ(cfg_r16(ctrl_off()), NVEC - 1);
    CHECK_EQ(cfg_r32(fx.msix.cap + PCI_MSIX_TABLE), TABLE_OFF | MSIX_BAR);
    CHECK_EQ(cfg_r32(fx.msix.cap + PCI_MSIX_PBA), PBA_OFF | MSIX_BAR);

    /* only Enable and Function Mask are writable */
    cfg_w16(ctrl_off(), 0xffff);
    CHECK_EQ(cfg_r16(ctrl_off()), PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | (NVEC - 1));
    CHECK(pci_msix_enabled(&fx.msix));
    cfg_w16(ctrl_off(), 0);
    CHECK_EQ(cfg_r16(ctrl_off()), NVEC - 1);
    CHECK(!pci_msix_enabled(&fx.msix));
    /* table offset/BIR and PBA offset/BIR are read-only */
    cfg_w32(fx.msix.cap + PCI_MSIX_TABLE, 0x12345678);
    cfg_w32(fx.msix.cap + PCI_MSIX_PBA, 0x9abcdef0);
    CHECK_EQ(cfg_r32(fx.msix.cap + PCI_MSIX_TABLE), TABLE_OFF | MSIX_BAR);
    CHECK_EQ(cfg_r32(fx.msix.cap + PCI_MSIX_PBA), PBA_OFF | MSIX_BAR);
    /* nothing became deliverable: every vector starts masked */
    CHECK_EQ(fx.n_upd, 0);
    for (unsigned vec = 0; vec < NVEC; vec++)
        CHECK_EQ(tbl_r32(vec, PCI_MSIX_ENTRY_VECTOR_CTRL), PCI_MSIX_ENTRY_CTRL_MASKBIT);
    teardown();
}

static void test_table_fields(void)
{
    setup();
    program(3, 0x00000001fee01003ULL, 0x4041);
    CHECK_EQ(tbl_r32(3, PCI_MSIX_ENTRY_LOWER_ADDR), 0xfee01000); /* bits 1:0 read 0 */
    CHECK_EQ(tbl_r32(3, PCI_MSIX_ENTRY_UPPER_ADDR), 1);
    CHECK_EQ(tbl_r32(3, PCI_MSIX_ENTRY_DATA), 0x4041);
    /* vector control: only the mask bit is implemented */
    tbl_w32(3, PCI_MSIX_ENTRY_VECTOR_CTRL, 0xffffffff);
    CHECK_EQ(tbl_r32(3, PCI_MSIX_ENTRY_VECTOR_CTRL), PCI_MSIX_ENTRY_CTRL_MASKBIT);
    tbl_w32(3, PCI_MSIX_ENTRY_VECTOR_CTRL, 0xfffffffe);
    CHECK_EQ(tbl_r32(3, PCI_MSIX_ENTRY_VECTOR_CTRL), 0);

    /* 8-byte accesses: address as one qword, data+control as another */
    uint64_t q = 0x00000002fee02000ULL;
    CHECK(pci_msix_bar_write(&fx.msix, entry_off(4, 0), &q, sizeof(q)));
    q = 0;
    CHECK(pci_msix_bar_read(&fx.msix, entry_off(4, 0), &q, sizeof(q)));
    CHECK_EQ(q, 0x00000002fee02000ULL);
    CHECK(pci_msix_bar_read(&fx.msix, entry_off(4, PCI_MSIX_ENTRY_DATA), &q, sizeof(q)));
    CHECK_EQ(q, (uint64_t)PCI_MSIX_ENTRY_CTRL_MASKBIT << 32);
    /* the MSI-X function is disabled: no update for any of this */
    CHECK_EQ(fx.n_upd, 0);
    teardown();
}

static void test_bad_accesses(void)
{
    setup();
    program(1, 0xfee00000, 0x30);
    uint8_t buf[8];
    /* 1- and 2-byte accesses read all-ones, writes are dropped */
    memset(buf, 0, sizeof(buf));
    CHECK(pci_msix_bar_read(&fx.msix, entry_off(1, PCI_MSIX_ENTRY_DATA), buf, 2));
    CHECK_EQ(buf[0], 0xff);
    CHECK_EQ(buf[1], 0xff);
    uint16_t w = 0x5555;
    CHECK(pci_msix_bar_write(&fx.msix, entry_off(1, PCI_MSIX_ENTRY_DATA), &w, sizeof(w)));
    uint8_t b = 0;
    CHECK(pci_msix_bar_write(&fx.msix, entry_off(1, PCI_MSIX_ENTRY_VECTOR_CTRL), &b, 1));
    CHECK_EQ(tbl_r32(1, PCI_MSIX_ENTRY_DATA), 0x30);
    CHECK_EQ(tbl_r32(1, PCI_MSIX_ENTRY_VECTOR_CTRL), PCI_MSIX_ENTRY_CTRL_MASKBIT);
    /* unaligned 4- and 8-byte accesses */
    uint32_t d = 0;
    CHECK(pci_msix_bar_read(&fx.msix, entry_off(1, 2), &d, sizeof(d)));
    CHECK_EQ(d, 0xffffffff);
    uint64_t q = 0;
    CHECK(pci_msix_bar_read(&fx.msix, entry_off(1, PCI_MSIX_ENTRY_UPPER_ADDR), &q, sizeof(q)));
    CHECK_EQ(q, UINT64_MAX);
    q = 0;
    CHECK(pci_msix_bar_write(&fx.msix, entry_off(1, PCI_MSIX_ENTRY_UPPER_ADDR), &q, sizeof(q)));
    CHECK_EQ(tbl_r32(1, PCI_MSIX_ENTRY_DATA), 0x30);
    CHECK_EQ(tbl_r32(1, PCI_MSIX_ENTRY_VECTOR_CTRL), PCI_MSIX_ENTRY_CTRL_MASKBIT);
    /* PBA: bad sizes too */
    CHECK(pci_msix_bar_read(&fx.msix, PBA_OFF + 1, buf, 1));
    CHECK_EQ(buf[0], 0xff);
    /* outside the table and PBA: not ours */
    CHECK(!pci_msix_bar_read(&fx.msix, entry_off(NVEC, 0), &d, sizeof(d)));
    CHECK(!pci_msix_bar_write(&fx.msix, entry_off(NVEC, 0), &d, sizeof(d)));
    CHECK(!pci_msix_bar_read(&fx.msix, PBA_OFF + 16, &d, sizeof(d)));
    CHECK(!pci_msix_bar_read(&fx.msix, BAR_SIZE - 4, &d, sizeof(d)));
    CHECK_EQ(fx.n_upd, 0);
    teardown();
}

static void test_delivery_and_masks(void)
{
    setup();
    program(0, 0xfee01000, 0x4041);
    CHECK_EQ(fx.n_upd, 0);

    /* enabled with the function masked: still not deliverable, notify pends */
    cfg_w16(ctrl_off(), PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    set_vector_mask(0, false);
    CHECK_EQ(fx.n_upd, 0);
    pci_msix_notify(&fx.msix, 0);
    CHECK_EQ(fx.n_fire, 0);
    CHECK_EQ(pba_r64(0), 1);

    /* PBA is read-only */
    uint64_t zero = 0;
    CHECK(pci_msix_bar_write(&fx.msix, PBA_OFF, &zero, sizeof(zero)));
    CHECK_EQ(pba_r64(0), 1);

    /* function unmasked: route update, then the pending vector fires */
    cfg_w16(ctrl_off(), PCI_MSIX_FLAGS_ENABLE);
    CHECK_EQ(fx.n_upd, 1);
    CHECK_EQ(fx.upd[0].vec, 0);
    CHECK(fx.upd[0].deliverable);
    CHECK_EQ(fx.upd[0].addr, 0xfee01000);
    CHECK_EQ(fx.upd[0].data, 0x4041);
    CHECK_EQ(fx.fires[0], 1);
    CHECK_EQ(pba_r64(0), 0);

    /* deliverable: notify fires at once */
    pci_msix_notify(&fx.msix, 0);
    CHECK_EQ(fx.fires[0], 2);
    CHECK_EQ(pba_r64(0), 0);
    /* out-of-range vectors are ignored */
    pci_msix_notify(&fx.msix, NVEC);
    CHECK_EQ(fx.n_fire, 2);

    /* a config write that changes nothing: no update */
    cfg_w16(ctrl_off(), PCI_MSIX_FLAGS_ENABLE);
    cfg_w16(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK_EQ(fx.n_upd, 1);

    /* the same data again: no update; new data: one update */
    tbl_w32(0, PCI_MSIX_ENTRY_DATA, 0x4041);
    set_vector_mask(0, false);
    CHECK_EQ(fx.n_upd, 1);
    tbl_w32(0, PCI_MSIX_ENTRY_DATA, 0x4042);
    CHECK_EQ(fx.n_upd, 2);
    CHECK(fx.upd[1].deliverable);
    CHECK_EQ(fx.upd[1].data, 0x4042);
    /* an 8-byte address write: one update with the whole address */
    uint64_t addr = 0x00000003fee03000ULL;
    CHECK(pci_msix_bar_write(&fx.msix, entry_off(0, 0), &addr, sizeof(addr)));
    CHECK_EQ(fx.n_upd, 3);
    CHECK_EQ(fx.upd[2].addr, 0x00000003fee03000ULL);
    CHECK_EQ(fx.upd[2].data, 0x4042);

    /* per-vector mask gates delivery and pends */
    set_vector_mask(0, true);
    CHECK_EQ(fx.n_upd, 4);
    CHECK(!fx.upd[3].deliverable);
    pci_msix_notify(&fx.msix, 0);
    pci_msix_notify(&fx.msix, 0);
    CHECK_EQ(fx.fires[0], 2);
    CHECK_EQ(pba_r64(0), 1);
    /* message changes of a masked vector are not reported */
    tbl_w32(0, PCI_MSIX_ENTRY_DATA, 0x4043);
    CHECK_EQ(fx.n_upd, 4);
    set_vector_mask(0, false);
    CHECK_EQ(fx.n_upd, 5);
    CHECK(fx.upd[4].deliverable);
    CHECK_EQ(fx.upd[4].data, 0x4043);
    CHECK_EQ(fx.fires[0], 3); /* one pending bit, one delivery */
    CHECK_EQ(pba_r64(0), 0);

    /* function mask gates every vector */
    cfg_w16(ctrl_off(), PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    CHECK_EQ(fx.n_upd, 6);
    CHECK(!fx.upd[5].deliverable);
    pci_msix_notify(&fx.msix, 0);
    CHECK_EQ(fx.fires[0], 3);
    cfg_w16(ctrl_off(), PCI_MSIX_FLAGS_ENABLE);
    CHECK_EQ(fx.n_upd, 7);
    CHECK_EQ(fx.fires[0], 4);

    /* enable off: nothing delivered */
    cfg_w16(ctrl_off(), 0);
    CHECK_EQ(fx.n_upd, 8);
    CHECK(!fx.upd[7].deliverable);
    CHECK(!pci_msix_enabled(&fx.msix));
    pci_msix_notify(&fx.msix, 0);
    CHECK_EQ(fx.fires[0], 4);
    CHECK_EQ(fx.n_fire, 4);
    teardown();
}

static void test_bus_master_off(void)
{
    setup();
    program(5, 0xfee00000, 0x55);
    set_vector_mask(5, false);
    cfg_w16(ctrl_off(), PCI_MSIX_FLAGS_ENABLE);
    CHECK_EQ(fx.n_upd, 1);
    cfg_w16(PCI_COMMAND, PCI_COMMAND_MEMORY);
    pci_msix_notify(&fx.msix, 5);
    CHECK_EQ(fx.n_fire, 0);
    CHECK_EQ(pba_r64(0), 0); /* dropped, not pending */
    cfg_w16(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK_EQ(fx.n_fire, 0);
    pci_msix_notify(&fx.msix, 5);
    CHECK_EQ(fx.fires[5], 1);
    teardown();
}

static void test_high_vectors_and_reset(void)
{
    setup();
    cfg_w16(ctrl_off(), PCI_MSIX_FLAGS_ENABLE);
    program(65, 0xfee00000, 0x65);
    program(2, 0xfee00000, 0x22);
    set_vector_mask(2, false);
    CHECK_EQ(fx.n_upd, 1);
    pci_msix_notify(&fx.msix, 65);
    pci_msix_notify(&fx.msix, 69);
    CHECK_EQ(pba_r64(0), 0);
    CHECK_EQ(pba_r64(1), (1ULL << 1) | (1ULL << 5));
    uint32_t d = 0;
    CHECK(pci_msix_bar_read(&fx.msix, PBA_OFF + 8, &d, sizeof(d)));
    CHECK_EQ(d, (1u << 1) | (1u << 5));
    CHECK(pci_msix_bar_read(&fx.msix, PBA_OFF + 12, &d, sizeof(d)));
    CHECK_EQ(d, 0);
    set_vector_mask(65, false);
    CHECK_EQ(fx.n_upd, 2);
    CHECK_EQ(fx.upd[1].vec, 65);
    CHECK_EQ(fx.upd[1].data, 0x65);
    CHECK_EQ(fx.fires[65], 1);
    CHECK_EQ(pba_r64(1), 1ULL << 5);

    /* reset: control cleared, all vectors masked and zeroed, PBA cleared, the
     * deliverable vectors reported undeliverable */
    pci_msix_reset(&fx.msix);
    CHECK_EQ(fx.n_upd, 4);
    CHECK(!fx.upd[2].deliverable);
    CHECK(!fx.upd[3].deliverable);
    CHECK_EQ(fx.upd[2].vec + fx.upd[3].vec, 2 + 65);
    CHECK_EQ(cfg_r16(ctrl_off()), NVEC - 1);
    CHECK_EQ(pba_r64(1), 0);
    CHECK_EQ(tbl_r32(65, PCI_MSIX_ENTRY_VECTOR_CTRL), PCI_MSIX_ENTRY_CTRL_MASKBIT);
    CHECK_EQ(tbl_r32(65, PCI_MSIX_ENTRY_DATA), 0);
    CHECK_EQ(fx.n_fire, 1);
    teardown();
}

static void test_init_errors(void)
{
    memset(&fx, 0, sizeof(fx));
    pci_device_init(&fx.dev, "msix-bad", 0x1af4, 0x1041, 0x020000, 1, true, &dev_ops, &fx);
    CHECK_EQ(pci_declare_bar(&fx.dev, 0, PCI_BAR_IO, false, 0x100, &bar_ops, &fx, BUS_SIZE_ANY,
                             false),
             0);
    CHECK_EQ(pci_declare_bar(&fx.dev, MSIX_BAR, PCI_BAR_MEM32, false, 0x1000, &bar_ops, &fx,
                             BUS_SIZE_ANY, false),
             0);
    struct pci_msix m;
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 0, MSIX_BAR, 0, 0x800, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msix_init(&m, &fx.dev, PCI_MSIX_MAX_VECTORS + 1, MSIX_BAR, 0, 0x800, &rec_ops,
                           &fx),
             -EINVAL);
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, 0, 0, 0x80, &rec_ops, &fx), -EINVAL);  /* IO BAR */
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, 1, 0, 0x80, &rec_ops, &fx), -EINVAL);  /* unused */
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, PCI_NUM_BARS, 0, 0x80, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, MSIX_BAR, 4, 0x80, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, MSIX_BAR, 0, 0x84, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, MSIX_BAR, 0, 0x38, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, MSIX_BAR, 0xff8, 0x80, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, MSIX_BAR, 0, 0x1000, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, MSIX_BAR, 0, 0x80, NULL, &fx), -EINVAL);
    /* nothing was added to config space by the failures */
    CHECK_EQ(pci_find_capability(&fx.dev, PCI_CAP_ID_MSIX), 0);
    /* destroy of a failed/zeroed helper is harmless */
    pci_msix_destroy(&m);
    /* the PBA may sit right after the table */
    CHECK_EQ(pci_msix_init(&m, &fx.dev, 4, MSIX_BAR, 0, 0x40, &rec_ops, &fx), 0);
    CHECK(pci_find_capability(&fx.dev, PCI_CAP_ID_MSIX) != 0);
    pci_msix_destroy(&m);
}

int main(void)
{
    test_capability_layout();
    test_table_fields();
    test_bad_accesses();
    test_delivery_and_masks();
    test_bus_master_off();
    test_high_vectors_and_reset();
    test_init_errors();
    return check_result("test_msix");
}
