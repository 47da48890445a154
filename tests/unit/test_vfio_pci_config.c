/* SPDX-License-Identifier: MIT */
/*
 * The VFIO PCI device model's config space and BARs against a fake device:
 * emulated vs passed-through bytes, BAR sizing, hidden ROM and
 * capabilities, forwarded writes, trapped BAR accesses and memory slots
 * with the MSI-X pages carved out.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "devices/bus.h"
#include "devices/pci/pci_host.h"
#include "devices/vfio/vfio_pci.h"
#include "vmm/layout.h"
#include "fake_vfio_dev.h"

static int sink_send(void *opaque, uint16_t rid, uint64_t addr, uint32_t data)
{
    (void)opaque; (void)rid; (void)addr; (void)data;
    return 0;
}

static int sink_route(void *opaque, unsigned gsi, bool en, uint16_t rid, uint64_t addr,
                      uint32_t data)
{
    (void)opaque; (void)gsi; (void)en; (void)rid; (void)addr; (void)data;
    return 0;
}

static const struct msi_sink sink = { .send_msi = sink_send, .set_route = sink_route };

struct fixture {
    struct fake_vfio_dev fake;
    struct fake_slots slots;
    struct vfio_pci *v;
    struct pci_device *dev;
};

static int fixture_create(struct fixture *fx)
{
    memset(&fx->slots, 0, sizeof(fx->slots));
    struct vfio_pci_config cfg = {
        .dev = fake_vfio_dev_ops(&fx->fake),
        .name = "0000:01:00.0",
        .sink = &sink,
        .slots = { .add = fake_slot_add, .remove = fake_slot_remove, .opaque = &fx->slots },
    };
    char err[256] = "";
    int ret = vfio_pci_create(&cfg, &fx->v, err, sizeof(err));
    if (ret)
        fprintf(stderr, "create: %s\n", err);
    fx->dev = ret ? NULL : vfio_pci_pci_device(fx->v);
    return ret;
}

static bool fixture_init(struct fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    if (fake_vfio_dev_init(&fx->fake))
        return false;
    return fixture_create(fx) == 0;
}

static void fixture_fini(struct fixture *fx)
{
    vfio_pci_destroy(fx->v);
    fake_vfio_dev_destroy(&fx->fake);
}

static uint32_t rd(struct pci_device *d, unsigned off, unsigned size)
{
    uint32_t v = 0;
    pci_config_read(d, off, &v, size);
    return v;
}

static void wr(struct pci_device *d, unsigned off, uint32_t val, unsigned size)
{
    pci_config_write(d, off, &val, size);
}

static bool fake_saw_cfg_write(const struct fake_vfio_dev *f, unsigned off)
{
    for (unsigned i = 0; i < f->ncfg_writes; i++) {
        if (f->cfg_writes[i].off <= off && off < f->cfg_writes[i].off + f->cfg_writes[i].len)
            return true;
    }
    return false;
}

static void test_header(void)
{
    struct fixture fx;
    CHECK(fixture_init(&fx));
    if (!fx.v)
        return;
    struct pci_device *d = fx.dev;
    /* ids read live from the device */
    CHECK_EQ(rd(d, PCI_VENDOR_ID, 4), 0x10d38086);
    fake_put(fx.fake.cfg + PCI_DEVICE_ID, 0x10d4, 2);
    CHECK_EQ(rd(d, PCI_DEVICE_ID, 2), 0x10d4);
    CHECK_EQ(rd(d, PCI_CLASS_REVISION, 4), 0x02000001);
    /* writes to ids are dropped, not forwarded */
    unsigned before = fx.fake.ncfg_writes;
    wr(d, PCI_VENDOR_ID, 0x12345678, 4);
    CHECK_EQ(fx.fake.ncfg_writes, before);
    CHECK_EQ(rd(d, PCI_VENDOR_ID, 2), 0x8086);
    /* header type: multi-function bit cleared */
    CHECK_EQ(rd(d, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
    /* command starts at 0 (the guest sees a powered-on function) */
    CHECK_EQ(rd(d, PCI_COMMAND, 2), 0);
    /* status: live except CAP_LIST */
    fake_put(fx.fake.cfg + PCI_STATUS, 0x0010 | PCI_STATUS_DETECTED_PARITY, 2);
    CHECK_EQ(rd(d, PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_DETECTED_PARITY);
    fake_put(fx.fake.cfg + PCI_STATUS, PCI_STATUS_SIG_TARGET_ABORT, 2); /* CAP_LIST 0 at device */
    CHECK_EQ(rd(d, PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_TARGET_ABORT);
    /* ROM hidden: 0, not writable, never forwarded */
    CHECK_EQ(rd(d, PCI_ROM_ADDRESS, 4), 0);
    before = fx.fake.ncfg_writes;
    wr(d, PCI_ROM_ADDRESS, 0xffffffff, 4);
    CHECK_EQ(rd(d, PCI_ROM_ADDRESS, 4), 0);
    CHECK_EQ(fx.fake.ncfg_writes, before);
    /* interrupt line writable, pin read-only (no ioapic: no INTx -> 0) */
    wr(d, PCI_INTERRUPT_LINE, 0x0a, 1);
    CHECK_EQ(rd(d, PCI_INTERRUPT_LINE, 1), 0x0a);
    wr(d, PCI_INTERRUPT_PIN, 0x03, 1);
    CHECK_EQ(rd(d, PCI_INTERRUPT_PIN, 1), 0);
    /* subsystem ids live */
    CHECK_EQ(rd(d, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00018086);
    fixture_fini(&fx);
}

static void test_command_forwarded(void)
{
    struct fixture fx;
    CHECK(fixture_init(&fx));
    if (!fx.v)
        return;
    struct pci_device *d = fx.dev;
    uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR;
    wr(d, PCI_COMMAND, cmd, 2);
    CHECK_EQ(fake_get(fx.fake.cfg + PCI_COMMAND, 2), cmd);      /* reached the device */
    CHECK_EQ(pci_cfg_get16(d, PCI_COMMAND), cmd);               /* kept for placement */
    CHECK_EQ(rd(d, PCI_COMMAND, 2), cmd);
    CHECK(pci_bus_master(d));
    /* a dword write: command forwarded, status W1C bits forwarded as written */
    fx.fake.ncfg_writes = 0;
    wr(d, PCI_COMMAND, (uint32_t)PCI_STATUS_DETECTED_PARITY << 16 | PCI_COMMAND_MEMORY, 4);
    CHECK(fake_saw_cfg_write(&fx.fake, PCI_COMMAND));
    CHECK(fake_saw_cfg_write(&fx.fake, PCI_STATUS + 1));
    CHECK_EQ(fake_get(fx.fake.cfg + PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
    CHECK_EQ(fake_get(fx.fake.cfg + PCI_STATUS, 2) & PCI_STATUS_DETECTED_PARITY,
             PCI_STATUS_DETECTED_PARITY);
    fixture_fini(&fx);
}

static void test_bars(void)
{
    struct fixture fx;
    CHECK(fixture_init(&fx));
    if (!fx.v)
        return;
    struct pci_device *d = fx.dev;
    /* BARs start at 0 with the device's type bits, never the host's address */
    CHECK_EQ(rd(d, PCI_BASE_ADDRESS_0, 4), PCI_BASE_ADDRESS_MEM_TYPE_64);
    CHECK_EQ(rd(d, PCI_BASE_ADDRESS_2, 4), PCI_BASE_ADDRESS_SPACE_IO);
    unsigned before = fx.fake.ncfg_writes;
    for (unsigned bar = 0; bar < PCI_NUM_BARS; bar++)
        wr(d, PCI_BASE_ADDRESS_0 + 4 * bar, 0xffffffff, 4);
    CHECK_EQ(fx.fake.ncfg_writes, before); /* sizing is never forwarded */
    CHECK_EQ(rd(d, PCI_BASE_ADDRESS_0, 4), (uint32_t)~(FAKE_BAR0_SIZE - 1) |
                                               PCI_BASE_ADDRESS_MEM_TYPE_64);
    CHECK_EQ(rd(d, PCI_BASE_ADDRESS_1, 4), 0xffffffff);
    CHECK_EQ(rd(d, PCI_BASE_ADDRESS_2, 4), 0xffe0 | PCI_BASE_ADDRESS_SPACE_IO);
    CHECK_EQ(rd(d, PCI_BASE_ADDRESS_3, 4), 0xfffff000);  /* 256 B region shown as a page */
    CHECK_EQ(rd(d, PCI_BASE_ADDRESS_4, 4), 0);
    CHECK_EQ(rd(d, PCI_BASE_ADDRESS_5, 4), 0);
    CHECK_EQ(d->bars[0].type, PCI_BAR_MEM64);
    CHECK_EQ(d->bars[2].type, PCI_BAR_IO);
    CHECK_EQ(d->bars[3].type, PCI_BAR_MEM32);
    CHECK_EQ(d->bars[3].size, 4096);
    /* program and read back */
    wr(d, PCI_BASE_ADDRESS_0, 0xc0000000, 4);
    wr(d, PCI_BASE_ADDRESS_1, 0x1, 4);
    CHECK_EQ(pci_bar_address(d, 0), 0x1c0000000ULL);
    CHECK_EQ(fx.fake.mmaps, 1);
    fixture_fini(&fx);
    CHECK_EQ(fx.fake.munmaps, 1);
}

static void test_capabilities(void)
{
    struct fixture fx;
    CHECK(fixture_init(&fx));
    if (!fx.v)
        return;
    struct pci_device *d = fx.dev;
    /* PM -> MSI -> PCIe -> MSI-X: VPD unlinked */
    CHECK_EQ(rd(d, PCI_CAPABILITY_LIST, 1), FAKE_CAP_PM);
    CHECK_EQ(rd(d, FAKE_CAP_PM, 2), PCI_CAP_ID_PM | FAKE_CAP_MSI << 8);
    CHECK_EQ(rd(d, FAKE_CAP_MSI, 2), PCI_CAP_ID_MSI | FAKE_CAP_EXP << 8);
    CHECK_EQ(rd(d, FAKE_CAP_EXP, 2), PCI_CAP_ID_EXP | FAKE_CAP_MSIX << 8);
    CHECK_EQ(rd(d, FAKE_CAP_MSIX, 2), PCI_CAP_ID_MSIX);
    CHECK_EQ(rd(d, FAKE_CAP_VPD, 4), 0);       /* hidden bytes read 0 */
    CHECK_EQ(pci_find_capability(d, PCI_CAP_ID_VPD), 0);
    /* extended space hidden */
    CHECK_EQ(rd(d, 0x100, 4), 0);
    CHECK(d->pcie);
    /* PM body passes through both ways */
    CHECK_EQ(rd(d, FAKE_CAP_PM + PCI_PM_PMC, 2), 0xc823);
    wr(d, FAKE_CAP_PM + PCI_PM_CTRL, 0x0003, 2);
    CHECK_EQ(fake_get(fx.fake.cfg + FAKE_CAP_PM + PCI_PM_CTRL, 2), 0x0003);
    fake_put(fx.fake.cfg + FAKE_CAP_PM + PCI_PM_CTRL, 0x0100, 2);
    CHECK_EQ(rd(d, FAKE_CAP_PM + PCI_PM_CTRL, 2), 0x0100);
    /* writing a next pointer does nothing */
    wr(d, FAKE_CAP_PM + PCI_CAP_LIST_NEXT, FAKE_CAP_VPD, 1);
    CHECK_EQ(rd(d, FAKE_CAP_PM + PCI_CAP_LIST_NEXT, 1), FAKE_CAP_MSI);
    /* PCIe capability body live */
    CHECK_EQ(rd(d, FAKE_CAP_EXP + PCI_EXP_DEVCAP, 4), 0x00008cc1);
    /* MSI emulated: 4 vectors, 64-bit, per-vector mask; not forwarded */
    uint16_t msi_ctrl = (uint16_t)rd(d, FAKE_CAP_MSI + PCI_MSI_FLAGS, 2);
    CHECK_EQ(msi_ctrl & PCI_MSI_FLAGS_QMASK, 2u << 1);
    CHECK(msi_ctrl & PCI_MSI_FLAGS_64BIT);
    CHECK(msi_ctrl & PCI_MSI_FLAGS_MASKBIT);
    unsigned before = fx.fake.ncfg_writes;
    wr(d, FAKE_CAP_MSI + PCI_MSI_ADDRESS_LO, 0xfee00000, 4);
    CHECK_EQ(rd(d, FAKE_CAP_MSI + PCI_MSI_ADDRESS_LO, 4), 0xfee00000);
    CHECK_EQ(fake_get(fx.fake.cfg + FAKE_CAP_MSI + PCI_MSI_ADDRESS_LO, 4), 0);
    /* MSI-X emulated, same layout as the device */
    CHECK_EQ(rd(d, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, 2), FAKE_MSIX_NVEC - 1);
    CHECK_EQ(rd(d, FAKE_CAP_MSIX + PCI_MSIX_TABLE, 4), FAKE_MSIX_TABLE);
    CHECK_EQ(rd(d, FAKE_CAP_MSIX + PCI_MSIX_PBA, 4), FAKE_MSIX_PBA);
    CHECK_EQ(fx.fake.ncfg_writes, before);
    fixture_fini(&fx);
}

static void test_hidden_when_host_has_no_vectors(void)
{
    struct fixture fx;
    memset(&fx, 0, sizeof(fx));
    CHECK_EQ(fake_vfio_dev_init(&fx.fake), 0);
    fx.fake.irq_count[VFIO_PCI_MSI_IRQ_INDEX] = 0;
    fx.fake.irq_count[VFIO_PCI_MSIX_IRQ_INDEX] = 2; /* fewer than the table has */
    CHECK_EQ(fixture_create(&fx), 0);
    if (fx.v) {
        CHECK_EQ(rd(fx.dev, FAKE_CAP_PM + PCI_CAP_LIST_NEXT, 1), FAKE_CAP_EXP);
        CHECK_EQ(rd(fx.dev, FAKE_CAP_MSI, 4), 0);
        CHECK_EQ(rd(fx.dev, FAKE_CAP_MSIX + PCI_MSIX_FLAGS, 2), 1); /* 2 vectors */
    }
    fixture_fini(&fx);
}

static void test_bridge_refused(void)
{
    struct fixture fx;
    memset(&fx, 0, sizeof(fx));
    CHECK_EQ(fake_vfio_dev_init(&fx.fake), 0);
    fx.fake.cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_BRIDGE;
    struct vfio_pci_config cfg = {
        .dev = fake_vfio_dev_ops(&fx.fake), .name = "0000:02:00.0", .sink = &sink,
    };
    char err[256] = "";
    CHECK_EQ(vfio_pci_create(&cfg, &fx.v, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "0000:02:00.0") != NULL);
    CHECK(strstr(err, "type-0") != NULL);
    fx.v = NULL;
    fixture_fini(&fx);
}

static uint64_t bar_rd(struct pci_device *d, unsigned bar, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    d->bars[bar].ops->read(d->bars[bar].opaque, off, &v, size);
    return v;
}

static void bar_wr(struct pci_device *d, unsigned bar, uint64_t off, uint64_t val, unsigned size)
{
    d->bars[bar].ops->write(d->bars[bar].opaque, off, &val, size);
}

static void test_trapped_bar_access(void)
{
    struct fixture fx;
    CHECK(fixture_init(&fx));
    if (!fx.v)
        return;
    struct pci_device *d = fx.dev;
    /* BAR3: not mmappable, forwarded at each size */
    fake_put(fx.fake.bar3 + 0x10, 0x1122334455667788ULL, 8);
    CHECK_EQ(bar_rd(d, 3, 0x10, 8), 0x1122334455667788ULL);
    CHECK_EQ(bar_rd(d, 3, 0x12, 2), 0x5566);
    CHECK_EQ(fx.fake.bar_reads[fx.fake.nbar_reads - 1].index, VFIO_PCI_BAR3_REGION_INDEX);
    CHECK_EQ(fx.fake.bar_reads[fx.fake.nbar_reads - 1].len, 2);
    bar_wr(d, 3, 0x20, 0xab, 1);
    CHECK_EQ(fx.fake.bar3[0x20], 0xab);
    CHECK_EQ(fx.fake.bar_writes[fx.fake.nbar_writes - 1].len, 1);
    /* beyond the 256-byte region, inside the 4 KiB BAR: all-ones, dropped */
    unsigned r = fx.fake.nbar_reads, w = fx.fake.nbar_writes;
    CHECK_EQ(bar_rd(d, 3, 0x800, 4), 0xffffffff);
    bar_wr(d, 3, 0xffc, 1, 4);
    CHECK_EQ(fx.fake.nbar_reads, r);
    CHECK_EQ(fx.fake.nbar_writes, w);
    /* I/O BAR */
    bar_wr(d, 2, 0x4, 0x1234, 2);
    CHECK_EQ(fake_get(fx.fake.bar2 + 4, 2), 0x1234);
    CHECK_EQ(bar_rd(d, 2, 0x4, 4), 0x1234);
    /* BAR0 outside the MSI-X table: forwarded */
    fake_put(fx.fake.bar0 + 0x100, 0xdeadbeef, 4);
    CHECK_EQ(bar_rd(d, 0, 0x100, 4), 0xdeadbeef);
    /* BAR0 MSI-X table: emulated, the device's table untouched */
    w = fx.fake.nbar_writes;
    bar_wr(d, 0, FAKE_MSIX_TABLE + PCI_MSIX_ENTRY_DATA, 0x4242, 4);
    CHECK_EQ(bar_rd(d, 0, FAKE_MSIX_TABLE + PCI_MSIX_ENTRY_DATA, 4), 0x4242);
    CHECK_EQ(fx.fake.nbar_writes, w);
    CHECK_EQ(fake_get(fx.fake.bar0 + FAKE_MSIX_TABLE + PCI_MSIX_ENTRY_DATA, 4), 0);
    /* vector control reads masked at power-on */
    CHECK_EQ(bar_rd(d, 0, FAKE_MSIX_TABLE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4),
             PCI_MSIX_ENTRY_CTRL_MASKBIT);
    /* PBA reads 0 */
    CHECK_EQ(bar_rd(d, 0, FAKE_MSIX_PBA, 8), 0);
    fixture_fini(&fx);
}

static void check_slot(struct fixture *fx, uint64_t gpa, uint64_t size, uint64_t bar_off)
{
    uint64_t got_size = 0;
    void *host = NULL;
    CHECK(fake_slot_find(&fx->slots, gpa, &got_size, &host) != NULL);
    CHECK_EQ(got_size, size);
    CHECK(host == fx->fake.bar0 + bar_off);
}

static void test_slots(void)
{
    struct fixture fx;
    CHECK(fixture_init(&fx));
    if (!fx.v)
        return;
    struct pci_device *d = fx.dev;
    const uint64_t base = 0x800000000ULL;
    d->ops->bar_placed(d, 0, true, base);
    /* [0, 0x2000) and [0x4000, 0x10000): the table and PBA pages stay trapped */
    CHECK_EQ(fake_slots_used(&fx.slots), 2);
    check_slot(&fx, base, FAKE_MSIX_TABLE, 0);
    check_slot(&fx, base + 0x4000, FAKE_BAR0_SIZE - 0x4000, 0x4000);
    /* moving it: old slots removed, new ones added */
    d->ops->bar_placed(d, 0, true, base + 0x100000);
    CHECK_EQ(fake_slots_used(&fx.slots), 2);
    CHECK_EQ(fx.slots.removes, 2);
    check_slot(&fx, base + 0x100000, FAKE_MSIX_TABLE, 0);
    /* disabled: gone */
    d->ops->bar_placed(d, 0, false, 0);
    CHECK_EQ(fake_slots_used(&fx.slots), 0);
    /* non-mmappable and I/O BARs never get slots */
    d->ops->bar_placed(d, 3, true, 0xc0000000);
    d->ops->bar_placed(d, 2, true, 0x1000);
    CHECK_EQ(fake_slots_used(&fx.slots), 0);
    /* destroy removes whatever is still mapped */
    d->ops->bar_placed(d, 0, true, base);
    CHECK_EQ(fake_slots_used(&fx.slots), 2);
    vfio_pci_destroy(fx.v);
    fx.v = NULL;
    CHECK_EQ(fake_slots_used(&fx.slots), 0);
    fixture_fini(&fx);
}

static void test_slots_msix_pages_adjacent_to_ends(void)
{
    /* table at 0 and PBA in the last page: one slot in the middle */
    struct fixture fx;
    memset(&fx, 0, sizeof(fx));
    CHECK_EQ(fake_vfio_dev_init(&fx.fake), 0);
    fake_put(fx.fake.cfg + FAKE_CAP_MSIX + PCI_MSIX_TABLE, 0x0, 4);
    fake_put(fx.fake.cfg + FAKE_CAP_MSIX + PCI_MSIX_PBA, FAKE_BAR0_SIZE - 0x800, 4);
    CHECK_EQ(fixture_create(&fx), 0);
    if (fx.v) {
        fx.dev->ops->bar_placed(fx.dev, 0, true, 0xd0000000);
        CHECK_EQ(fake_slots_used(&fx.slots), 1);
        check_slot(&fx, 0xd0001000, FAKE_BAR0_SIZE - 0x2000, 0x1000);
    }
    fixture_fini(&fx);
}

/* Through a real PCI host: resource assignment, the guest enabling memory
 * decode via ECAM, trapped accesses on the MMIO bus, slots following it. */
static void test_host_placement(void)
{
    struct bus pio, mmio;
    CHECK_EQ(bus_init(&pio, "pio"), 0);
    CHECK_EQ(bus_init(&mmio, "mmio"), 0);
    struct pci_host_config hc = {
        .pio = &pio, .mmio = &mmio, .sink = &sink,
        .ecam_base = LAYOUT_ECAM_BASE, .ecam_buses = LAYOUT_ECAM_BUSES,
        .mmio32_base = LAYOUT_PCI_MMIO32_START, .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
        .mmio64_base = LAYOUT_PCI_MMIO64_MIN_START, .mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
        .io_base = LAYOUT_PCI_IO_START, .io_size = 0x1000,
    };
    struct pci_host *h = NULL;
    CHECK_EQ(pci_host_create(&hc, &h), 0);
    struct fixture fx;
    CHECK(fixture_init(&fx));
    if (!fx.v || !h)
        return;
    const uint8_t devfn = 0x10;
    CHECK_EQ(pci_host_attach(h, NULL, devfn, fx.dev), 0);
    CHECK_EQ(pci_host_assign_resources(h), 0);
    uint64_t bar0 = pci_bar_address(fx.dev, 0), bar3 = pci_bar_address(fx.dev, 3);
    CHECK(bar0 >= LAYOUT_PCI_MMIO64_MIN_START);
    CHECK(bar3 >= LAYOUT_PCI_MMIO32_START && bar3 < LAYOUT_PCI_MMIO32_START + LAYOUT_PCI_MMIO32_SIZE);
    CHECK_EQ(fake_slots_used(&fx.slots), 0); /* decode off */

    uint64_t ecam = LAYOUT_ECAM_BASE + ((uint64_t)devfn << 12);
    uint16_t cmd = PCI_COMMAND_MEMORY;
    CHECK(bus_write(&mmio, ecam + PCI_COMMAND, &cmd, 2));
    CHECK_EQ(fake_get(fx.fake.cfg + PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
    CHECK_EQ(fake_slots_used(&fx.slots), 2);
    check_slot(&fx, bar0, FAKE_MSIX_TABLE, 0);
    /* the MSI-X page traps to the emulated table, other BAR3 bytes to the device */
    uint32_t val = 0x5151;
    CHECK(bus_write(&mmio, bar0 + FAKE_MSIX_TABLE + PCI_MSIX_ENTRY_DATA, &val, 4));
    val = 0;
    CHECK(bus_read(&mmio, bar0 + FAKE_MSIX_TABLE + PCI_MSIX_ENTRY_DATA, &val, 4));
    CHECK_EQ(val, 0x5151);
    fake_put(fx.fake.bar3 + 0x40, 0xcafe, 2);
    uint16_t v16 = 0;
    CHECK(bus_read(&mmio, bar3 + 0x40, &v16, 2));
    CHECK_EQ(v16, 0xcafe);
    /* vendor id through ECAM: live */
    uint16_t vid = 0;
    CHECK(bus_read(&mmio, ecam + PCI_VENDOR_ID, &vid, 2));
    CHECK_EQ(vid, 0x8086);

    cmd = 0;
    CHECK(bus_write(&mmio, ecam + PCI_COMMAND, &cmd, 2));
    CHECK_EQ(fake_slots_used(&fx.slots), 0);
    pci_host_destroy(h);
    fixture_fini(&fx);
    bus_destroy(&pio);
    bus_destroy(&mmio);
}

int main(void)
{
    test_host_placement();
    test_header();
    test_command_forwarded();
    test_bars();
    test_capabilities();
    test_hidden_when_host_has_no_vectors();
    test_bridge_refused();
    test_trapped_bar_access();
    test_slots();
    test_slots_msix_pages_adjacent_to_ends();
    return check_result("test_vfio_pci_config");
}
