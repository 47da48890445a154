/* SPDX-License-Identifier: MIT */
/*
 * MSI capability helper, driven through pci_config_read/write the way a guest
 * drives it: register layout and masks for the 32/64-bit and per-vector-mask
 * variants, enable gating, multi-message data, per-vector masks with pending
 * bits, bus mastering, reset. A recorder stands in for the owner.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/pci/msi.h"
#include "tests/unit/check.h"

#define MAX_UPDATES 256

struct update {
    unsigned vec;
    bool deliverable;
    uint64_t addr;
    uint32_t data;
};

struct fixture {
    struct pci_device dev;
    struct pci_msi msi;
    struct update upd[MAX_UPDATES];
    unsigned n_upd;
    unsigned fires[PCI_MSI_MAX_VECTORS];
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
    CHECK(vec < PCI_MSI_MAX_VECTORS);
    if (vec < PCI_MSI_MAX_VECTORS)
        f->fires[vec]++;
    f->n_fire++;
}

static const struct pci_msix_ops rec_ops = { .vector_update = rec_vector_update, .fire = rec_fire };

static void cfg_written(struct pci_device *dev, unsigned off, unsigned size)
{
    struct fixture *f = dev->opaque;
    pci_msi_config_written(&f->msi, off, size);
}

static const struct pci_device_ops dev_ops = { .config_written = cfg_written };

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

static int setup(unsigned nvec, bool addr64, bool pvm)
{
    memset(&fx, 0, sizeof(fx));
    pci_device_init(&fx.dev, "msi-test", 0x1af4, 0x1041, 0x020000, 1, false, &dev_ops, &fx);
    int ret = pci_msi_init(&fx.msi, &fx.dev, nvec, addr64, pvm, &rec_ops, &fx);
    cfg_w16(PCI_COMMAND, PCI_COMMAND_MASTER);
    return ret;
}

static unsigned cap(unsigned reg)
{
    return fx.msi.cap + reg;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_layout_32bit(void)
{
    CHECK_EQ(setup(1, false, false), 0);
    CHECK_EQ(pci_find_capability(&fx.dev, PCI_CAP_ID_MSI), fx.msi.cap);
    CHECK_EQ(cfg_r16(cap(PCI_MSI_FLAGS)), 0); /* 1 vector, 32-bit, no masking */
    /* only Enable and Multiple Message Enable are writable in control */
    cfg_w16(cap(PCI_MSI_FLAGS), 0xffff);
    CHECK_EQ(cfg_r16(cap(PCI_MSI_FLAGS)), PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    CHECK(pci_msi_enabled(&fx.msi));
    CHECK_EQ(fx.n_upd, 1);
    CHECK(fx.upd[0].deliverable);
    cfg_w16(cap(PCI_MSI_FLAGS), 0);
    CHECK(!pci_msi_enabled(&fx.msi));
    CHECK_EQ(fx.n_upd, 2);
    CHECK(!fx.upd[1].deliverable);
    /* address bits 1:0 are zero, data is 16 bits */
    cfg_w32(cap(PCI_MSI_ADDRESS_LO), 0xffffffff);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_ADDRESS_LO)), 0xfffffffc);
    cfg_w32(cap(PCI_MSI_DATA_32), 0xffffffff);
    CHECK_EQ(cfg_r16(cap(PCI_MSI_DATA_32)), 0xffff);
    CHECK_EQ(fx.n_upd, 2); /* message writes while disabled are not reported */
    pci_msi_destroy(&fx.msi);
}

static void test_layout_64bit_masked(void)
{
    CHECK_EQ(setup(8, true, true), 0);
    CHECK_EQ(cfg_r16(cap(PCI_MSI_FLAGS)),
             PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (3 << 1) /* MMC = log2(8) */);
    cfg_w32(cap(PCI_MSI_ADDRESS_HI), 0xffffffff);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_ADDRESS_HI)), 0xffffffff);
    cfg_w32(cap(PCI_MSI_DATA_64), 0xffffffff);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_DATA_64)), 0xffff);
    /* mask bits exist for the 8 vectors only; pending bits are read-only */
    cfg_w32(cap(PCI_MSI_MASK_64), 0xffffffff);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_MASK_64)), 0xff);
    cfg_w32(cap(PCI_MSI_PENDING_64), 0xffffffff);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_PENDING_64)), 0);
    pci_msi_destroy(&fx.msi);
}

static void test_single_vector_delivery(void)
{
    CHECK_EQ(setup(1, true, false), 0);
    cfg_w32(cap(PCI_MSI_ADDRESS_LO), 0xfee01000);
    cfg_w32(cap(PCI_MSI_ADDRESS_HI), 0);
    cfg_w16(cap(PCI_MSI_DATA_64), 0x4041);
    CHECK_EQ(fx.n_upd, 0);

    /* disabled: dropped, nothing pends (no pending bits without masking) */
    pci_msi_notify(&fx.msi, 0);
    CHECK_EQ(fx.n_fire, 0);

    cfg_w16(cap(PCI_MSI_FLAGS), PCI_MSI_FLAGS_ENABLE);
    CHECK_EQ(fx.n_upd, 1);
    CHECK_EQ(fx.upd[0].vec, 0);
    CHECK(fx.upd[0].deliverable);
    CHECK_EQ(fx.upd[0].addr, 0xfee01000);
    CHECK_EQ(fx.upd[0].data, 0x4041);
    CHECK_EQ(fx.n_fire, 0); /* the dropped notify did not pend */
    pci_msi_notify(&fx.msi, 0);
    CHECK_EQ(fx.fires[0], 1);
    pci_msi_notify(&fx.msi, 1); /* out of range */
    CHECK_EQ(fx.n_fire, 1);

    /* a new message while enabled is reported (Linux retargets MSI this way) */
    cfg_w32(cap(PCI_MSI_ADDRESS_LO), 0xfee02000);
    CHECK_EQ(fx.n_upd, 2);
    CHECK(fx.upd[1].deliverable);
    CHECK_EQ(fx.upd[1].addr, 0xfee02000);
    cfg_w32(cap(PCI_MSI_ADDRESS_HI), 1);
    CHECK_EQ(fx.n_upd, 3);
    CHECK_EQ(fx.upd[2].addr, 0x1fee02000ULL);
    /* unrelated config writes are not */
    cfg_w16(PCI_COMMAND, PCI_COMMAND_MASTER);
    CHECK_EQ(fx.n_upd, 3);

    /* bus mastering off: dropped */
    cfg_w16(PCI_COMMAND, 0);
    pci_msi_notify(&fx.msi, 0);
    CHECK_EQ(fx.fires[0], 1);
    cfg_w16(PCI_COMMAND, PCI_COMMAND_MASTER);

    /* disable */
    cfg_w16(cap(PCI_MSI_FLAGS), 0);
    CHECK_EQ(fx.n_upd, 4);
    CHECK(!fx.upd[3].deliverable);
    pci_msi_notify(&fx.msi, 0);
    CHECK_EQ(fx.fires[0], 1);
    pci_msi_destroy(&fx.msi);
}

static void test_multi_message(void)
{
    CHECK_EQ(setup(8, false, false), 0);
    cfg_w32(cap(PCI_MSI_ADDRESS_LO), 0xfee00000);
    cfg_w16(cap(PCI_MSI_DATA_32), 0x405f); /* low bits get replaced by the vector */

    /* enable 4 of 8 (MME = 2) */
    cfg_w16(cap(PCI_MSI_FLAGS), PCI_MSI_FLAGS_ENABLE | (2 << 4));
    CHECK_EQ(fx.n_upd, 4);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(fx.upd[i].vec, i);
        CHECK(fx.upd[i].deliverable);
        CHECK_EQ(fx.upd[i].addr, 0xfee00000);
        CHECK_EQ(fx.upd[i].data, 0x405c | i);
    }
    pci_msi_notify(&fx.msi, 3);
    CHECK_EQ(fx.fires[3], 1);
    pci_msi_notify(&fx.msi, 4); /* not enabled: dropped */
    CHECK_EQ(fx.n_fire, 1);

    /* MME above MMC (undefined) is clamped to the capable count */
    fx.n_upd = 0;
    cfg_w16(cap(PCI_MSI_FLAGS), PCI_MSI_FLAGS_ENABLE | (5 << 4));
    unsigned newly = 0;
    for (unsigned i = 0; i < fx.n_upd; i++) {
        CHECK(fx.upd[i].deliverable);
        CHECK_EQ(fx.upd[i].data, 0x4058 | fx.upd[i].vec); /* 8 vectors: 3 low bits */
        newly += fx.upd[i].vec >= 4;
    }
    CHECK_EQ(newly, 4);
    pci_msi_notify(&fx.msi, 7);
    CHECK_EQ(fx.fires[7], 1);
    pci_msi_destroy(&fx.msi);
}

static void test_per_vector_mask(void)
{
    CHECK_EQ(setup(2, true, true), 0);
    cfg_w32(cap(PCI_MSI_ADDRESS_LO), 0xfee00000);
    cfg_w16(cap(PCI_MSI_DATA_64), 0x60);
    cfg_w32(cap(PCI_MSI_MASK_64), 0x3); /* both masked */
    cfg_w16(cap(PCI_MSI_FLAGS), PCI_MSI_FLAGS_ENABLE | (1 << 4));
    CHECK_EQ(fx.n_upd, 0);

    pci_msi_notify(&fx.msi, 1);
    CHECK_EQ(fx.n_fire, 0);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_PENDING_64)), 0x2);

    /* unmask vector 0: reported, nothing pending for it */
    cfg_w32(cap(PCI_MSI_MASK_64), 0x2);
    CHECK_EQ(fx.n_upd, 1);
    CHECK_EQ(fx.upd[0].vec, 0);
    CHECK(fx.upd[0].deliverable);
    CHECK_EQ(fx.upd[0].data, 0x60);
    CHECK_EQ(fx.n_fire, 0);
    /* unmask vector 1: reported, pending delivered and cleared */
    cfg_w32(cap(PCI_MSI_MASK_64), 0);
    CHECK_EQ(fx.n_upd, 2);
    CHECK_EQ(fx.upd[1].vec, 1);
    CHECK_EQ(fx.upd[1].data, 0x61);
    CHECK_EQ(fx.fires[1], 1);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_PENDING_64)), 0);
    /* rewriting the mask with the same value reports nothing */
    cfg_w32(cap(PCI_MSI_MASK_64), 0);
    CHECK_EQ(fx.n_upd, 2);

    /* mask again: reported undeliverable */
    cfg_w32(cap(PCI_MSI_MASK_64), 0x1);
    CHECK_EQ(fx.n_upd, 3);
    CHECK_EQ(fx.upd[2].vec, 0);
    CHECK(!fx.upd[2].deliverable);
    pci_msi_notify(&fx.msi, 0);
    CHECK_EQ(fx.fires[0], 0);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_PENDING_64)), 0x1);

    /* reset: everything cleared, vector 1 reported undeliverable */
    pci_msi_reset(&fx.msi);
    CHECK_EQ(fx.n_upd, 4);
    CHECK_EQ(fx.upd[3].vec, 1);
    CHECK(!fx.upd[3].deliverable);
    CHECK_EQ(cfg_r16(cap(PCI_MSI_FLAGS)),
             PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (1 << 1));
    CHECK_EQ(cfg_r32(cap(PCI_MSI_PENDING_64)), 0);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_MASK_64)), 0);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_ADDRESS_LO)), 0);
    CHECK_EQ(fx.n_fire, 1);
    pci_msi_destroy(&fx.msi);
}

static void test_init_errors(void)
{
    struct pci_msi m;
    memset(&fx, 0, sizeof(fx));
    pci_device_init(&fx.dev, "msi-bad", 0x1af4, 0x1041, 0x020000, 1, false, &dev_ops, &fx);
    CHECK_EQ(pci_msi_init(&m, &fx.dev, 0, false, false, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msi_init(&m, &fx.dev, 3, false, false, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msi_init(&m, &fx.dev, 64, false, false, &rec_ops, &fx), -EINVAL);
    CHECK_EQ(pci_msi_init(&m, &fx.dev, 1, false, false, NULL, &fx), -EINVAL);
    CHECK_EQ(pci_find_capability(&fx.dev, PCI_CAP_ID_MSI), 0);
    pci_msi_destroy(&m);
    /* 32 vectors: all mask bits writable */
    CHECK_EQ(pci_msi_init(&fx.msi, &fx.dev, 32, false, true, &rec_ops, &fx), 0);
    CHECK_EQ(cfg_r16(cap(PCI_MSI_FLAGS)), PCI_MSI_FLAGS_MASKBIT | (5 << 1));
    cfg_w32(cap(PCI_MSI_MASK_32), 0xffffffff);
    CHECK_EQ(cfg_r32(cap(PCI_MSI_MASK_32)), 0xffffffff);
    pci_msi_destroy(&fx.msi);
}

int main(void)
{
    test_layout_32bit();
    test_layout_64bit_masked();
    test_single_vector_delivery();
    test_multi_message();
    test_per_vector_mask();
    test_init_errors();
    return check_result("test_msi");
}
