/* SPDX-License-Identifier: MIT */
/* Generic PCI config-space model (devices/pci/pci.h), driven through the guest
 * path pci_config_read/pci_config_write on functions not attached to a host. */
#include <errno.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "tests/unit/check.h"

#define TEST_VENDOR 0x1234
#define TEST_DEVICE 0x5678
#define TEST_CLASS 0x020000 /* ethernet */
#define TEST_REV 0x02

static void nop_read(void *opaque, uint64_t off, void *data, unsigned size)
{
    memset(data, 0, size);
}

static void nop_write(void *opaque, uint64_t off, const void *data, unsigned size)
{
}

static const struct bus_ops nop_ops = {.read = nop_read, .write = nop_write};

static uint32_t cfg_read(struct pci_device *d, unsigned off, unsigned size)
{
    uint32_t v = 0;
    pci_config_read(d, off, &v, size);
    return v;
}

static void cfg_write(struct pci_device *d, unsigned off, uint32_t v, unsigned size)
{
    pci_config_write(d, off, &v, size);
}

/* Write all-ones, read the mask back, restore: what a driver does to size a BAR. */
static uint32_t bar_probe(struct pci_device *d, unsigned idx)
{
    unsigned reg = PCI_BASE_ADDRESS_0 + 4 * idx;
    uint32_t saved = cfg_read(d, reg, 4);
    cfg_write(d, reg, 0xffffffff, 4);
    uint32_t mask = cfg_read(d, reg, 4);
    cfg_write(d, reg, saved, 4);
    CHECK_EQ(cfg_read(d, reg, 4), saved);
    return mask;
}

static void init_test_dev(struct pci_device *d, bool pcie)
{
    pci_device_init(d, "test", TEST_VENDOR, TEST_DEVICE, TEST_CLASS, TEST_REV, pcie, NULL, NULL);
}

static void test_bar_sizing(void)
{
    struct pci_device d;
    init_test_dev(&d, true);
    CHECK_EQ(pci_declare_bar(&d, 0, PCI_BAR_IO, false, 32, &nop_ops, NULL, BUS_SIZE_ANY, false), 0);
    CHECK_EQ(pci_declare_bar(&d, 1, PCI_BAR_MEM32, false, 0x4000, &nop_ops, NULL, BUS_SIZE_4, true), 0);
    CHECK_EQ(pci_declare_bar(&d, 2, PCI_BAR_MEM64, true, 0x100000, &nop_ops, NULL, BUS_SIZE_4, true), 0);
    /* 8 GiB: every low address bit is below the size */
    CHECK_EQ(pci_declare_bar(&d, 4, PCI_BAR_MEM64, false, 8ULL << 30, &nop_ops, NULL, BUS_SIZE_4, true), 0);

    /* type bits */
    CHECK_EQ(cfg_read(&d, PCI_BASE_ADDRESS_0, 4), PCI_BASE_ADDRESS_SPACE_IO);
    CHECK_EQ(cfg_read(&d, PCI_BASE_ADDRESS_1, 4), 0);
    CHECK_EQ(cfg_read(&d, PCI_BASE_ADDRESS_2, 4),
             PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);

    /* IO: 16-bit decode, size 32 */
    CHECK_EQ(bar_probe(&d, 0), 0x0000ffe1);
    /* 32-bit memory, 16 KiB */
    CHECK_EQ(bar_probe(&d, 1), 0xffffc000);
    /* 64-bit prefetchable 1 MiB: low dword then the upper dword */
    CHECK_EQ(bar_probe(&d, 2), 0xfff00000 | PCI_BASE_ADDRESS_MEM_TYPE_64 |
                                   PCI_BASE_ADDRESS_MEM_PREFETCH);
    CHECK_EQ(bar_probe(&d, 3), 0xffffffff);
    /* 64-bit 8 GiB: the low dword keeps only type bits, upper has bit 0 clear */
    CHECK_EQ(bar_probe(&d, 4), PCI_BASE_ADDRESS_MEM_TYPE_64);
    CHECK_EQ(bar_probe(&d, 5), 0xfffffffe);

    /* a programmed address reads back and is decoded by pci_bar_address */
    cfg_write(&d, PCI_BASE_ADDRESS_2, 0xc0100000, 4);
    cfg_write(&d, PCI_BASE_ADDRESS_3, 0x10, 4);
    CHECK_EQ(pci_bar_address(&d, 2), 0x10c0100000ULL);
    cfg_write(&d, PCI_BASE_ADDRESS_0, 0x12345, 4); /* low bits below the size dropped */
    CHECK_EQ(pci_bar_address(&d, 0), 0x2340);
    CHECK_EQ(pci_bar_address(&d, 3), 0); /* upper half is not a BAR of its own */

    /* decode enable follows the command bits */
    CHECK(!pci_bar_decode_enabled(&d, 0));
    CHECK(!pci_bar_decode_enabled(&d, 1));
    cfg_write(&d, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    CHECK(!pci_bar_decode_enabled(&d, 0));
    CHECK(pci_bar_decode_enabled(&d, 1));
    cfg_write(&d, PCI_COMMAND, PCI_COMMAND_IO, 2);
    CHECK(pci_bar_decode_enabled(&d, 0));
    CHECK(!pci_bar_decode_enabled(&d, 2));
}

static void test_bar_declare_errors(void)
{
    struct pci_device d;
    init_test_dev(&d, false);
    CHECK_EQ(pci_declare_bar(&d, 0, PCI_BAR_MEM64, false, 0x1000, &nop_ops, NULL, BUS_SIZE_4, true), 0);
    /* the upper half and the slot itself are taken */
    CHECK_EQ(pci_declare_bar(&d, 1, PCI_BAR_MEM32, false, 0x1000, &nop_ops, NULL, BUS_SIZE_4, true), -EINVAL);
    CHECK_EQ(pci_declare_bar(&d, 0, PCI_BAR_MEM32, false, 0x1000, &nop_ops, NULL, BUS_SIZE_4, true), -EINVAL);
    /* a 64-bit BAR cannot start in the last slot */
    CHECK_EQ(pci_declare_bar(&d, 5, PCI_BAR_MEM64, false, 0x1000, &nop_ops, NULL, BUS_SIZE_4, true), -EINVAL);
    /* sizes: not a power of two, too small, IO too big, IO prefetchable */
    CHECK_EQ(pci_declare_bar(&d, 2, PCI_BAR_MEM32, false, 0x3000, &nop_ops, NULL, BUS_SIZE_4, true), -EINVAL);
    CHECK_EQ(pci_declare_bar(&d, 2, PCI_BAR_MEM32, false, 0x800, &nop_ops, NULL, BUS_SIZE_4, true), -EINVAL);
    CHECK_EQ(pci_declare_bar(&d, 2, PCI_BAR_IO, false, 0x1000, &nop_ops, NULL, BUS_SIZE_4, true), -EINVAL);
    CHECK_EQ(pci_declare_bar(&d, 2, PCI_BAR_IO, true, 0x10, &nop_ops, NULL, BUS_SIZE_4, true), -EINVAL);
    CHECK_EQ(pci_declare_bar(&d, 6, PCI_BAR_IO, false, 0x10, &nop_ops, NULL, BUS_SIZE_4, true), -EINVAL);
    CHECK_EQ(pci_declare_bar(&d, 2, PCI_BAR_IO, false, 0x10, NULL, NULL, BUS_SIZE_4, true), -EINVAL);
    CHECK_EQ(pci_declare_bar(&d, 2, PCI_BAR_IO, false, 0x10, &nop_ops, NULL, 0, true), -EINVAL);
    /* undeclared BARs are read-only zero */
    CHECK_EQ(bar_probe(&d, 3), 0);
    /* no expansion ROM: reads zero, writes ignored */
    cfg_write(&d, PCI_ROM_ADDRESS, 0xffffffff, 4);
    CHECK_EQ(cfg_read(&d, PCI_ROM_ADDRESS, 4), 0);
}

static void test_read_only_fields(void)
{
    struct pci_device d;
    init_test_dev(&d, false);
    CHECK_EQ(cfg_read(&d, PCI_VENDOR_ID, 4), (uint32_t)TEST_DEVICE << 16 | TEST_VENDOR);
    CHECK_EQ(cfg_read(&d, PCI_CLASS_REVISION, 4), (uint32_t)TEST_CLASS << 8 | TEST_REV);
    cfg_write(&d, PCI_VENDOR_ID, 0xffffffff, 4);
    cfg_write(&d, PCI_CLASS_REVISION, 0, 4);
    cfg_write(&d, PCI_HEADER_TYPE, 0xff, 1);
    CHECK_EQ(cfg_read(&d, PCI_VENDOR_ID, 2), TEST_VENDOR);
    CHECK_EQ(cfg_read(&d, PCI_DEVICE_ID, 2), TEST_DEVICE);
    CHECK_EQ(cfg_read(&d, PCI_CLASS_REVISION, 4), (uint32_t)TEST_CLASS << 8 | TEST_REV);
    CHECK_EQ(cfg_read(&d, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);

    /* command: only the implemented bits stick */
    cfg_write(&d, PCI_COMMAND, 0xffff, 2);
    CHECK_EQ(cfg_read(&d, PCI_COMMAND, 2),
             PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
                 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    CHECK(pci_bus_master(&d));
    cfg_write(&d, PCI_COMMAND, 0, 2);
    CHECK(!pci_bus_master(&d));

    /* interrupt pin read-only, line read-write */
    pci_set_intx_pin(&d, 2);
    cfg_write(&d, PCI_INTERRUPT_LINE, 0x0b0b, 2);
    CHECK_EQ(cfg_read(&d, PCI_INTERRUPT_LINE, 1), 0x0b);
    CHECK_EQ(cfg_read(&d, PCI_INTERRUPT_PIN, 1), 2);

    /* subsystem ids are read-only */
    pci_set_subsystem(&d, 0x1af4, 0x1100);
    cfg_write(&d, PCI_SUBSYSTEM_VENDOR_ID, 0, 4);
    CHECK_EQ(cfg_read(&d, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);

    /* not attached: no MSI path, but bus mastering is still reported */
    CHECK_EQ(pci_send_msi(&d, 0xfee00000, 0x30), -ENODEV);
    CHECK_EQ(pci_requester_id(&d), 0);
}

static void test_rw1c_status(void)
{
    struct pci_device d;
    init_test_dev(&d, false);
    CHECK_EQ(pci_add_capability(&d, PCI_CAP_ID_VNDR, 4), PCI_STD_HEADER_SIZEOF);
    /* the device model latches errors in the shadow */
    uint16_t errs = PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |
                    PCI_STATUS_DETECTED_PARITY;
    pci_cfg_set16(&d, PCI_STATUS, pci_cfg_get16(&d, PCI_STATUS) | errs);
    /* writing 0 clears nothing */
    cfg_write(&d, PCI_STATUS, 0, 2);
    CHECK_EQ(cfg_read(&d, PCI_STATUS, 2), PCI_STATUS_CAP_LIST | errs);
    /* writing 1 to one error bit clears only that bit */
    cfg_write(&d, PCI_STATUS, PCI_STATUS_REC_MASTER_ABORT, 2);
    CHECK_EQ(cfg_read(&d, PCI_STATUS, 2),
             PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_DETECTED_PARITY);
    /* all-ones clears every error bit but not the read-only capability bit */
    cfg_write(&d, PCI_STATUS, 0xffff, 2);
    CHECK_EQ(cfg_read(&d, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
    /* a dword write to command touches status too: command 0 kept, status RW1C */
    pci_cfg_set16(&d, PCI_STATUS, PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_SYSTEM_ERROR);
    cfg_write(&d, PCI_COMMAND, (uint32_t)PCI_STATUS_SIG_SYSTEM_ERROR << 16 | PCI_COMMAND_MEMORY, 4);
    CHECK_EQ(cfg_read(&d, PCI_COMMAND, 4), (uint32_t)PCI_STATUS_CAP_LIST << 16 | PCI_COMMAND_MEMORY);
}

static void test_capabilities(void)
{
    struct pci_device d;
    init_test_dev(&d, true);
    CHECK(!(cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST));
    CHECK_EQ(pci_find_capability(&d, PCI_CAP_ID_MSI), 0);
    int a = pci_add_capability(&d, PCI_CAP_ID_VNDR, 10);
    int b = pci_add_capability(&d, PCI_CAP_ID_MSI, 14);
    int c = pci_add_capability(&d, PCI_CAP_ID_EXP, 0x3c);
    CHECK_EQ(a, 0x40);
    CHECK_EQ(b, 0x4c); /* dword aligned after a 10-byte capability */
    CHECK_EQ(c, 0x5c);
    CHECK(cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    /* walk the list as a guest does */
    uint8_t expect_ids[] = {PCI_CAP_ID_VNDR, PCI_CAP_ID_MSI, PCI_CAP_ID_EXP};
    unsigned off = cfg_read(&d, PCI_CAPABILITY_LIST, 1), n = 0;
    while (off && n < 10) {
        CHECK_EQ(off & 3, 0);
        CHECK(n < sizeof(expect_ids));
        if (n < sizeof(expect_ids))
            CHECK_EQ(cfg_read(&d, off + PCI_CAP_LIST_ID, 1), expect_ids[n]);
        off = cfg_read(&d, off + PCI_CAP_LIST_NEXT, 1);
        n++;
    }
    CHECK_EQ(n, 3);
    CHECK_EQ(pci_find_capability(&d, PCI_CAP_ID_MSI), (unsigned)b);
    CHECK_EQ(pci_find_capability(&d, PCI_CAP_ID_MSIX), 0);
    /* capability bodies are read-only until the owner sets masks */
    cfg_write(&d, b + 2, 0xffff, 2);
    CHECK_EQ(cfg_read(&d, b + 2, 2), 0);
    pci_cfg_set_wmask16(&d, b + 2, 0x0001);
    cfg_write(&d, b + 2, 0xffff, 2);
    CHECK_EQ(cfg_read(&d, b + 2, 2), 1);
    /* the standard list ends at 0x100 */
    CHECK_EQ(pci_add_capability(&d, PCI_CAP_ID_VNDR, 0x100 - 0x98 + 4), -ENOSPC);
    CHECK_EQ(pci_add_capability(&d, PCI_CAP_ID_VNDR, 0x100 - 0x98), 0x98);
    CHECK_EQ(pci_add_capability(&d, PCI_CAP_ID_VNDR, 4), -ENOSPC);

    /* extended list from 0x100 */
    int e1 = pci_add_ext_capability(&d, PCI_EXT_CAP_ID_VNDR, 1, 8);
    int e2 = pci_add_ext_capability(&d, PCI_EXT_CAP_ID_DSN, 1, PCI_EXT_CAP_DSN_SIZEOF);
    int e3 = pci_add_ext_capability(&d, PCI_EXT_CAP_ID_ARI, 1, PCI_EXT_CAP_ARI_SIZEOF);
    CHECK_EQ(e1, 0x100);
    CHECK_EQ(e2, 0x108);
    CHECK_EQ(e3, 0x114);
    uint16_t expect_ext[] = {PCI_EXT_CAP_ID_VNDR, PCI_EXT_CAP_ID_DSN, PCI_EXT_CAP_ID_ARI};
    unsigned pos = PCI_CFG_SPACE_SIZE;
    n = 0;
    while (pos && n < 10) {
        uint32_t hdr = cfg_read(&d, pos, 4);
        CHECK(n < 3);
        if (n < 3)
            CHECK_EQ(PCI_EXT_CAP_ID(hdr), expect_ext[n]);
        CHECK_EQ(PCI_EXT_CAP_VER(hdr), 1);
        pos = PCI_EXT_CAP_NEXT(hdr);
        n++;
    }
    CHECK_EQ(n, 3);
    CHECK_EQ(pci_add_ext_capability(&d, PCI_EXT_CAP_ID_VNDR, 1, 0x1000), -ENOSPC);
    CHECK_EQ(pci_add_ext_capability(&d, PCI_EXT_CAP_ID_VNDR, 0x10, 8), -EINVAL);

    /* no extended capabilities on a conventional function */
    struct pci_device conv;
    init_test_dev(&conv, false);
    CHECK_EQ(pci_add_ext_capability(&conv, PCI_EXT_CAP_ID_VNDR, 1, 8), -EINVAL);
}

static void test_access_outside(void)
{
    struct pci_device conv, exp;
    init_test_dev(&conv, false);
    init_test_dev(&exp, true);
    /* conventional: 256 bytes */
    CHECK_EQ(cfg_read(&conv, 0x100, 4), 0xffffffff);
    CHECK_EQ(cfg_read(&conv, 0xfc, 4), 0);
    /* PCIe: 4 KiB; extended space without capabilities reads zero */
    CHECK_EQ(cfg_read(&exp, 0x100, 4), 0);
    CHECK_EQ(cfg_read(&exp, 0xffc, 4), 0);
    CHECK_EQ(cfg_read(&exp, 0x1000, 4), 0xffffffff);
    CHECK_EQ(cfg_read(&exp, 0xfff, 2), 0xffff);
    /* bad sizes and misaligned accesses read all-ones and drop writes */
    CHECK_EQ(cfg_read(&exp, PCI_VENDOR_ID, 3), 0xffffff);
    CHECK_EQ(cfg_read(&exp, PCI_COMMAND + 1, 2), 0xffff);
    CHECK_EQ(cfg_read(&exp, PCI_VENDOR_ID + 2, 4), 0xffffffff);
    cfg_write(&exp, PCI_COMMAND + 1, 0xffff, 2);
    cfg_write(&exp, PCI_COMMAND, 0xffffffff, 8);
    CHECK_EQ(cfg_read(&exp, PCI_COMMAND, 2), 0);
}

/* Hooks: config_written sees every merged write, config_read may override. */
struct hook_state {
    unsigned writes, last_off, last_size;
};

static void hook_written(struct pci_device *dev, unsigned off, unsigned size)
{
    struct hook_state *s = dev->opaque;
    s->writes++;
    s->last_off = off;
    s->last_size = size;
}

static bool hook_read(struct pci_device *dev, unsigned off, void *data, unsigned size)
{
    if (off != 0x80)
        return false;
    memset(data, 0xab, size);
    return true;
}

static void test_hooks_and_intx_status(void)
{
    static const struct pci_device_ops ops = {.config_written = hook_written,
                                              .config_read = hook_read};
    struct hook_state s = {0};
    struct pci_device d;
    pci_device_init(&d, "hooked", TEST_VENDOR, TEST_DEVICE, TEST_CLASS, 0, false, &ops, &s);
    cfg_write(&d, PCI_INTERRUPT_LINE, 5, 1);
    CHECK_EQ(s.writes, 1);
    CHECK_EQ(s.last_off, PCI_INTERRUPT_LINE);
    CHECK_EQ(s.last_size, 1);
    CHECK_EQ(cfg_read(&d, 0x80, 4), 0xabababab);
    CHECK_EQ(cfg_read(&d, PCI_VENDOR_ID, 2), TEST_VENDOR);

    /* INTx without a pin is ignored; with a pin the status bit follows the level,
     * also while Interrupt Disable is set */
    pci_set_intx(&d, true);
    CHECK(!(cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
    pci_set_intx_pin(&d, 1);
    pci_set_intx(&d, true);
    CHECK(cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    cfg_write(&d, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
    CHECK(cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    pci_set_intx(&d, false);
    CHECK(!(cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
    /* the interrupt status bit is not writable */
    cfg_write(&d, PCI_STATUS, PCI_STATUS_INTERRUPT, 2);
    CHECK(!(cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
}

int main(void)
{
    test_bar_sizing();
    test_bar_declare_errors();
    test_read_only_fields();
    test_rw1c_status();
    test_capabilities();
    test_access_outside();
    test_hooks_and_intx_status();
    return check_result("test_pci_config");
}
