/* SPDX-License-Identifier: MIT */
/* PCIe host bridge, root ports, BAR placement and INTx routing
 * (devices/pci/pci_host.h), driven through fake pio/mmio buses: every guest
 * access goes through ECAM or 0xCF8/0xCFC exactly as a vCPU exit would. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "devices/pci/pci.h"
#include "devices/pci/pci_host.h"
#include "tests/unit/check.h"

#define MMIO64_BASE (64 * LAYOUT_GiB)
#define MAX_PLACED 64

/* ---- fakes ---------------------------------------------------------------- */

struct fake_line {
    bool level;
    unsigned changes;
};
static struct fake_line lines[LAYOUT_PCI_INTX_PINS];

static void fake_set_level(void *opaque, unsigned pin, bool level)
{
    struct fake_line *l = &lines[pin];
    if (l->level != level)
        l->changes++;
    l->level = level;
}

struct fake_msi {
    unsigned count;
    uint16_t rid;
    uint64_t addr;
    uint32_t data;
};
static struct fake_msi msis;

static int fake_send_msi(void *opaque, uint16_t rid, uint64_t addr, uint32_t data)
{
    msis.count++;
    msis.rid = rid;
    msis.addr = addr;
    msis.data = data;
    return 0;
}

static const struct msi_sink sink = {.send_msi = fake_send_msi};

struct placed {
    unsigned bar;
    bool mapped;
    uint64_t addr;
};

struct test_dev {
    struct pci_device pci;
    unsigned bar_accesses;
    uint64_t last_off;
    struct placed placed[MAX_PLACED];
    unsigned n_placed;
};

static void bar_read(void *opaque, uint64_t off, void *data, unsigned size)
{
    struct test_dev *t = opaque;
    t->bar_accesses++;
    t->last_off = off;
    memset(data, 0x5a, size);
}

static void bar_write(void *opaque, uint64_t off, const void *data, unsigned size)
{
    struct test_dev *t = opaque;
    t->bar_accesses++;
    t->last_off = off;
}

static const struct bus_ops bar_ops = {.read = bar_read, .write = bar_write};

static void bar_placed(struct pci_device *dev, unsigned bar, bool mapped, uint64_t addr)
{
    struct test_dev *t = dev->opaque;
    if (t->n_placed < MAX_PLACED)
        t->placed[t->n_placed] = (struct placed){bar, mapped, addr};
    t->n_placed++;
}

static const struct pci_device_ops dev_ops = {.bar_placed = bar_placed};

static void test_dev_init(struct test_dev *t, const char *name, uint16_t device_id, uint8_t pin)
{
    memset(t, 0, sizeof(*t));
    pci_device_init(&t->pci, name, 0x1af4, device_id, 0x020000, 0, true, &dev_ops, t);
    pci_set_intx_pin(&t->pci, pin);
}

static void declare(struct test_dev *t, unsigned idx, enum pci_bar_type type, bool pref,
                    uint64_t size)
{
    CHECK_EQ(pci_declare_bar(&t->pci, idx, type, pref, size, &bar_ops, t, BUS_SIZE_ANY, false), 0);
}

/* ---- the machine ---------------------------------------------------------- */

struct machine {
    struct bus pio, mmio;
    struct pci_host *host;
    struct pci_host_config cfg;
};

static void machine_init(struct machine *m, uint64_t mmio32_size)
{
    memset(lines, 0, sizeof(lines));
    memset(&msis, 0, sizeof(msis));
    CHECK_EQ(bus_init(&m->pio, "pio"), 0);
    CHECK_EQ(bus_init(&m->mmio, "mmio"), 0);
    m->cfg = (struct pci_host_config){
        .pio = &m->pio, .mmio = &m->mmio, .sink = &sink,
        .ecam_base = LAYOUT_ECAM_BASE, .ecam_buses = LAYOUT_ECAM_BUSES,
        .mmio32_base = LAYOUT_PCI_MMIO32_START, .mmio32_size = mmio32_size,
        .mmio64_base = MMIO64_BASE, .mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
        .io_base = LAYOUT_PCI_IO_START, .io_size = LAYOUT_PCI_IO_SIZE,
    };
    for (unsigned i = 0; i < LAYOUT_PCI_INTX_PINS; i++)
        m->cfg.intx[i] = (struct irq_line){.set_level = fake_set_level, .pin = i};
    CHECK_EQ(pci_host_create(&m->cfg, &m->host), 0);
}

static void machine_destroy(struct machine *m)
{
    pci_host_destroy(m->host);
    /* everything the host registered is gone */
    CHECK_EQ(m->pio.count, 0);
    CHECK_EQ(m->mmio.count, 0);
    bus_destroy(&m->pio);
    bus_destroy(&m->mmio);
}

static uint64_t ecam_addr(uint8_t bus, uint8_t devfn, unsigned reg)
{
    return LAYOUT_ECAM_BASE + ((uint64_t)bus << PCI_ECAM_BUS_SHIFT) +
           ((uint64_t)devfn << PCI_ECAM_DEVFN_SHIFT) + reg;
}

static uint32_t ecam_read(struct machine *m, uint8_t bus, uint8_t devfn, unsigned reg,
                          unsigned size)
{
    uint32_t v = 0;
    CHECK(bus_read(&m->mmio, ecam_addr(bus, devfn, reg), &v, size));
    return v;
}

static void ecam_write(struct machine *m, uint8_t bus, uint8_t devfn, unsigned reg, uint32_t v,
                       unsigned size)
{
    CHECK(bus_write(&m->mmio, ecam_addr(bus, devfn, reg), &v, size));
}

static uint32_t conf1_addr(uint8_t bus, uint8_t devfn, unsigned reg)
{
    return PCI_CONF1_ENABLE | (uint32_t)bus << PCI_CONF1_BUS_SHIFT |
           (uint32_t)devfn << PCI_CONF1_DEVFN_SHIFT | (reg & PCI_CONF1_REG_MASK);
}

static uint32_t cf8_read(struct machine *m, uint8_t bus, uint8_t devfn, unsigned reg,
                         unsigned size)
{
    uint32_t a = conf1_addr(bus, devfn, reg), v = 0;
    CHECK(bus_write(&m->pio, LAYOUT_PORT_PCI_CONFIG_ADDR, &a, 4));
    CHECK(bus_read(&m->pio, LAYOUT_PORT_PCI_CONFIG_DATA + (reg & 3), &v, size));
    return v;
}

static void cf8_write(struct machine *m, uint8_t bus, uint8_t devfn, unsigned reg, uint32_t v,
                      unsigned size)
{
    uint32_t a = conf1_addr(bus, devfn, reg);
    CHECK(bus_write(&m->pio, LAYOUT_PORT_PCI_CONFIG_ADDR, &a, 4));
    CHECK(bus_write(&m->pio, LAYOUT_PORT_PCI_CONFIG_DATA + (reg & 3), &v, size));
}

/* Is there a handler at addr (memory or IO)? Counts the device access. */
static bool mmio_hits(struct machine *m, struct test_dev *t, uint64_t addr, uint64_t off)
{
    uint32_t v;
    unsigned before = t->bar_accesses;
    bool hit = bus_read(&m->mmio, addr, &v, 4);
    return hit && t->bar_accesses == before + 1 && t->last_off == off;
}

static bool pio_hits(struct machine *m, struct test_dev *t, uint64_t addr, uint64_t off)
{
    uint8_t v;
    unsigned before = t->bar_accesses;
    bool hit = bus_read(&m->pio, addr, &v, 1);
    return hit && t->bar_accesses == before + 1 && t->last_off == off;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_host_bridge_and_conf1(void)
{
    struct machine m;
    machine_init(&m, LAYOUT_PCI_MMIO32_SIZE);
    struct test_dev t;
    test_dev_init(&t, "ep", 0x1041, 1);
    CHECK_EQ(pci_host_attach(m.host, NULL, PCI_DEVFN_MAKE(3, 0), &t.pci), 0);

    /* 00:00.0 is the Q35 MCH, the same through ECAM and mechanism #1 */
    uint32_t id = (uint32_t)PCI_DEVICE_ID_INTEL_Q35_MCH << 16 | PCI_VENDOR_ID_INTEL;
    CHECK_EQ(ecam_read(&m, 0, 0, PCI_VENDOR_ID, 4), id);
    CHECK_EQ(cf8_read(&m, 0, 0, PCI_VENDOR_ID, 4), id);
    CHECK_EQ(ecam_read(&m, 0, 0, PCI_CLASS_REVISION, 4) >> 8, PCI_CLASS_CODE_HOST_BRIDGE);
    /* byte and word accesses at 0xCFD..0xCFF */
    CHECK_EQ(cf8_read(&m, 0, 0, PCI_VENDOR_ID + 1, 1), PCI_VENDOR_ID_INTEL >> 8);
    CHECK_EQ(cf8_read(&m, 0, 0, PCI_DEVICE_ID, 2), PCI_DEVICE_ID_INTEL_Q35_MCH);
    CHECK_EQ(cf8_read(&m, 0, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);

    /* writes through one mechanism are seen through the other */
    cf8_write(&m, 0, PCI_DEVFN_MAKE(3, 0), PCI_INTERRUPT_LINE, 0x0a, 1);
    CHECK_EQ(ecam_read(&m, 0, PCI_DEVFN_MAKE(3, 0), PCI_INTERRUPT_LINE, 1), 0x0a);
    ecam_write(&m, 0, PCI_DEVFN_MAKE(3, 0), PCI_INTERRUPT_LINE, 0x0b, 1);
    CHECK_EQ(cf8_read(&m, 0, PCI_DEVFN_MAKE(3, 0), PCI_INTERRUPT_LINE, 1), 0x0b);
    CHECK_EQ(cf8_read(&m, 0, PCI_DEVFN_MAKE(3, 0), PCI_INTERRUPT_PIN, 1), 1);

    /* nonexistent functions read all-ones; writes go nowhere */
    CHECK_EQ(ecam_read(&m, 0, PCI_DEVFN_MAKE(31, 0), PCI_VENDOR_ID, 4), 0xffffffff);
    CHECK_EQ(cf8_read(&m, 0, PCI_DEVFN_MAKE(3, 1), PCI_VENDOR_ID, 2), 0xffff);
    CHECK_EQ(ecam_read(&m, 7, 0, PCI_VENDOR_ID, 2), 0xffff);
    ecam_write(&m, 0, PCI_DEVFN_MAKE(31, 0), PCI_COMMAND, 0xffff, 2);

    /* the 0xCF8 latch reads back; enable bit clear: no config cycle */
    uint32_t a = 0x80000000, v = 0;
    CHECK(bus_write(&m.pio, LAYOUT_PORT_PCI_CONFIG_ADDR, &a, 4));
    CHECK(bus_read(&m.pio, LAYOUT_PORT_PCI_CONFIG_ADDR, &v, 4));
    CHECK_EQ(v, 0x80000000);
    uint8_t b = 0x01; /* Linux's type-1 probe pokes 0xCFB with a byte: ignored */
    CHECK(bus_write(&m.pio, LAYOUT_PORT_PCI_CONFIG_ADDR + 3, &b, 1));
    CHECK(bus_read(&m.pio, LAYOUT_PORT_PCI_CONFIG_ADDR, &v, 4));
    CHECK_EQ(v, 0x80000000);
    a = 0; /* bus 0 dev 0 reg 0, but disabled */
    CHECK(bus_write(&m.pio, LAYOUT_PORT_PCI_CONFIG_ADDR, &a, 4));
    CHECK(bus_read(&m.pio, LAYOUT_PORT_PCI_CONFIG_DATA, &v, 4));
    CHECK_EQ(v, 0xffffffff);
    /* extended register bits 27:24 are ignored: register 0 of 00:00.0 */
    a = PCI_CONF1_ENABLE | 0x0f000000;
    CHECK(bus_write(&m.pio, LAYOUT_PORT_PCI_CONFIG_ADDR, &a, 4));
    CHECK(bus_read(&m.pio, LAYOUT_PORT_PCI_CONFIG_DATA, &v, 4));
    CHECK_EQ(v, id);

    /* ECAM: 8-byte accesses split into dwords; the extended space of a PCIe
     * function is reachable only through ECAM */
    uint64_t q = 0;
    CHECK(bus_read(&m.mmio, ecam_addr(0, 0, 0), &q, 8));
    CHECK_EQ(q & 0xffffffff, id);
    CHECK_EQ(ecam_read(&m, 0, PCI_DEVFN_MAKE(3, 0), 0x100, 4), 0);
    /* misaligned ECAM access: not dispatched, all-ones */
    CHECK(!bus_read(&m.mmio, ecam_addr(0, 0, 1), &v, 4));
    CHECK_EQ(v, 0xffffffff);

    /* attach errors */
    struct test_dev u;
    test_dev_init(&u, "u", 0x1042, 0);
    CHECK_EQ(pci_host_attach(m.host, NULL, 0, &u.pci), -EEXIST);
    CHECK_EQ(pci_host_attach(m.host, NULL, PCI_DEVFN_MAKE(3, 0), &u.pci), -EEXIST);
    CHECK_EQ(pci_host_attach(m.host, NULL, PCI_DEVFN_MAKE(3, 0), &t.pci), -EINVAL);
    struct pci_bridge *rp;
    CHECK_EQ(pci_host_add_root_port(m.host, PCI_DEVFN_MAKE(3, 0), &rp), -EEXIST);
    CHECK_EQ(pci_host_add_root_port(m.host, PCI_DEVFN_MAKE(1, 0), &rp), 0);
    CHECK_EQ(pci_host_attach(m.host, rp, PCI_DEVFN_MAKE(1, 0), &u.pci), -EINVAL);
    /* a second function on slot 3 makes function 0 multi-function */
    CHECK_EQ(pci_host_attach(m.host, NULL, PCI_DEVFN_MAKE(3, 2), &u.pci), 0);
    CHECK_EQ(ecam_read(&m, 0, PCI_DEVFN_MAKE(3, 0), PCI_HEADER_TYPE, 1), 0x80);
    CHECK_EQ(ecam_read(&m, 0, PCI_DEVFN_MAKE(3, 2), PCI_DEVICE_ID, 2), 0x1042);
    machine_destroy(&m);
    CHECK(t.pci.host == NULL);
}

static void test_root_port_config(void)
{
    struct machine m;
    machine_init(&m, LAYOUT_PCI_MMIO32_SIZE);
    struct pci_bridge *rp;
    uint8_t devfn = PCI_DEVFN_MAKE(2, 0);
    CHECK_EQ(pci_host_add_root_port(m.host, devfn, &rp), 0);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_VENDOR_ID, 4),
             (uint32_t)PCI_DEVICE_ID_REDHAT_PCIE_RP << 16 | PCI_VENDOR_ID_REDHAT);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_CLASS_REVISION, 4) >> 8, PCI_CLASS_CODE_PCI_BRIDGE);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_BRIDGE);
    /* the PCIe capability: v2, root port, slot implemented, link up x1 */
    CHECK(ecam_read(&m, 0, devfn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    unsigned cap = ecam_read(&m, 0, devfn, PCI_CAPABILITY_LIST, 1);
    CHECK(cap >= 0x40);
    CHECK_EQ(ecam_read(&m, 0, devfn, cap + PCI_CAP_LIST_ID, 1), PCI_CAP_ID_EXP);
    uint16_t flags = ecam_read(&m, 0, devfn, cap + PCI_EXP_FLAGS, 2);
    CHECK_EQ(flags & PCI_EXP_FLAGS_VERS, 2);
    CHECK_EQ((flags & PCI_EXP_FLAGS_TYPE) >> 4, PCI_EXP_TYPE_ROOT_PORT);
    CHECK(flags & PCI_EXP_FLAGS_SLOT);
    uint16_t lnksta = ecam_read(&m, 0, devfn, cap + PCI_EXP_LNKSTA, 2);
    CHECK(lnksta & PCI_EXP_LNKSTA_DLLLA);
    CHECK_EQ(lnksta & PCI_EXP_LNKSTA_NLW, PCI_EXP_LNKSTA_NLW_X1);
    CHECK_EQ(lnksta & PCI_EXP_LNKSTA_CLS, PCI_EXP_LNKSTA_CLS_2_5GB);
    CHECK(ecam_read(&m, 0, devfn, cap + PCI_EXP_LNKCAP, 4) & PCI_EXP_LNKCAP_DLLLARC);
    /* empty slot: presence detect clear; attaching sets it */
    CHECK(!(ecam_read(&m, 0, devfn, cap + PCI_EXP_SLTSTA, 2) & PCI_EXP_SLTSTA_PDS));
    struct test_dev t;
    test_dev_init(&t, "ep", 0x1041, 1);
    CHECK_EQ(pci_host_attach(m.host, rp, 0, &t.pci), 0);
    CHECK(ecam_read(&m, 0, devfn, cap + PCI_EXP_SLTSTA, 2) & PCI_EXP_SLTSTA_PDS);
    /* extended config space exists (no extended capabilities: zero) */
    CHECK_EQ(ecam_read(&m, 0, devfn, 0x100, 4), 0);

    /* bridge registers: writable with their masks */
    ecam_write(&m, 0, devfn, PCI_PRIMARY_BUS, 0x00050400, 4);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_PRIMARY_BUS, 4), 0x00050400);
    ecam_write(&m, 0, devfn, PCI_IO_BASE, 0xffff, 2);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_IO_BASE, 2), 0xf0f0); /* 16-bit IO decode */
    ecam_write(&m, 0, devfn, PCI_IO_BASE_UPPER16, 0xffffffff, 4);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_IO_BASE_UPPER16, 4), 0);
    ecam_write(&m, 0, devfn, PCI_MEMORY_BASE, 0xffffffff, 4);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_MEMORY_BASE, 4), 0xfff0fff0);
    ecam_write(&m, 0, devfn, PCI_PREF_MEMORY_BASE, 0xffffffff, 4);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_PREF_MEMORY_BASE, 4), 0xfff1fff1); /* 64-bit */
    ecam_write(&m, 0, devfn, PCI_PREF_BASE_UPPER32, 0xffffffff, 4);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_PREF_BASE_UPPER32, 4), 0xffffffff);
    ecam_write(&m, 0, devfn, PCI_BRIDGE_CONTROL, 0xffff, 2);
    CHECK(ecam_read(&m, 0, devfn, PCI_BRIDGE_CONTROL, 2) & PCI_BRIDGE_CTL_SERR);
    /* no BARs and no ROM on the root port */
    ecam_write(&m, 0, devfn, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_BASE_ADDRESS_0, 4), 0);
    ecam_write(&m, 0, devfn, PCI_ROM_ADDRESS1, 0xffffffff, 4);
    CHECK_EQ(ecam_read(&m, 0, devfn, PCI_ROM_ADDRESS1, 4), 0);

    struct pci_bridge *list[4];
    CHECK_EQ(pci_host_root_ports(m.host, list, 4), 1);
    CHECK(list[0] == rp);
    CHECK_EQ(pci_bridge_device(rp)->devfn, devfn);
    machine_destroy(&m);
}

/* The topology used by the placement tests:
 *   00:01.0 root port A -> a: MEM32 16K, IO 32, MEM64 pref 1M, MEM64 8K (non-pref)
 *   00:02.0 root port B -> b: MEM64 pref 4M, MEM32 4K
 *   00:02.1 root port C (empty)
 *   00:03.0 c: MEM32 4K, IO 16, MEM64 pref 64K */
struct topo {
    struct machine m;
    struct pci_bridge *rpa, *rpb, *rpc;
    struct test_dev a, b, c;
};

static void topo_init(struct topo *t, uint64_t mmio32_size)
{
    machine_init(&t->m, mmio32_size);
    CHECK_EQ(pci_host_add_root_port(t->m.host, PCI_DEVFN_MAKE(1, 0), &t->rpa), 0);
    CHECK_EQ(pci_host_add_root_port(t->m.host, PCI_DEVFN_MAKE(2, 0), &t->rpb), 0);
    CHECK_EQ(pci_host_add_root_port(t->m.host, PCI_DEVFN_MAKE(2, 1), &t->rpc), 0);
    test_dev_init(&t->a, "a", 0x1041, 1);
    declare(&t->a, 0, PCI_BAR_MEM32, false, 0x4000);
    declare(&t->a, 1, PCI_BAR_IO, false, 32);
    declare(&t->a, 2, PCI_BAR_MEM64, true, LAYOUT_MiB);
    declare(&t->a, 4, PCI_BAR_MEM64, false, 0x2000);
    test_dev_init(&t->b, "b", 0x1042, 2);
    declare(&t->b, 0, PCI_BAR_MEM64, true, 4 * LAYOUT_MiB);
    declare(&t->b, 2, PCI_BAR_MEM32, false, 0x1000);
    test_dev_init(&t->c, "c", 0x1043, 1);
    declare(&t->c, 0, PCI_BAR_MEM32, false, 0x1000);
    declare(&t->c, 1, PCI_BAR_IO, false, 16);
    declare(&t->c, 2, PCI_BAR_MEM64, true, 0x10000);
    CHECK_EQ(pci_host_attach(t->m.host, t->rpa, 0, &t->a.pci), 0);
    CHECK_EQ(pci_host_attach(t->m.host, t->rpb, 0, &t->b.pci), 0);
    CHECK_EQ(pci_host_attach(t->m.host, NULL, PCI_DEVFN_MAKE(3, 0), &t->c.pci), 0);
}

struct win {
    uint64_t base, limit;
};

struct range {
    uint64_t first, last;
};

static struct win bridge_window(struct topo *t, uint8_t devfn, int kind)
{
    struct machine *m = &t->m;
    struct win w;
    if (kind == 0) {
        uint16_t r = ecam_read(m, 0, devfn, PCI_IO_BASE, 2);
        w.base = (uint64_t)(r & 0xf0) << 8;
        w.limit = (uint64_t)(r & 0xf000) | 0xfff;
    } else if (kind == 1) {
        uint32_t r = ecam_read(m, 0, devfn, PCI_MEMORY_BASE, 4);
        w.base = (uint64_t)(r & 0xfff0) << 16;
        w.limit = (uint64_t)(r & 0xfff00000) | 0xfffff;
    } else {
        uint32_t r = ecam_read(m, 0, devfn, PCI_PREF_MEMORY_BASE, 4);
        uint64_t bh = ecam_read(m, 0, devfn, PCI_PREF_BASE_UPPER32, 4);
        uint64_t lh = ecam_read(m, 0, devfn, PCI_PREF_LIMIT_UPPER32, 4);
        w.base = bh << 32 | (uint64_t)(r & 0xfff0) << 16;
        w.limit = lh << 32 | (uint64_t)(r & 0xfff00000) | 0xfffff;
    }
    return w;
}

static bool in_window(struct win w, uint64_t first, uint64_t size)
{
    return w.base <= w.limit && first >= w.base && first + size - 1 <= w.limit;
}

/* Read a BAR's address through ECAM as the guest does. */
static uint64_t guest_bar(struct topo *t, uint8_t bus, uint8_t devfn, unsigned idx, bool is64)
{
    uint32_t lo = ecam_read(&t->m, bus, devfn, PCI_BASE_ADDRESS_0 + 4 * idx, 4);
    uint64_t addr = (lo & PCI_BASE_ADDRESS_SPACE_IO) ? (lo & ~3u) : (lo & ~0xfu);
    if (is64)
        addr |= (uint64_t)ecam_read(&t->m, bus, devfn, PCI_BASE_ADDRESS_0 + 4 * idx + 4, 4) << 32;
    return addr;
}

static void test_assignment(void)
{
    struct topo t;
    topo_init(&t, LAYOUT_PCI_MMIO32_SIZE);
    CHECK_EQ(pci_host_assign_resources(t.m.host), 0);
    struct machine *m = &t.m;
    uint8_t A = PCI_DEVFN_MAKE(1, 0), B = PCI_DEVFN_MAKE(2, 0), C = PCI_DEVFN_MAKE(2, 1);

    /* bus numbers in devfn order */
    CHECK_EQ(ecam_read(m, 0, A, PCI_PRIMARY_BUS, 4) & 0xffffff, 0x010100);
    CHECK_EQ(ecam_read(m, 0, B, PCI_PRIMARY_BUS, 4) & 0xffffff, 0x020200);
    CHECK_EQ(ecam_read(m, 0, C, PCI_PRIMARY_BUS, 4) & 0xffffff, 0x030300);
    /* the devices answer on their buses, only as device 0 */
    CHECK_EQ(ecam_read(m, 1, 0, PCI_DEVICE_ID, 2), 0x1041);
    CHECK_EQ(ecam_read(m, 2, 0, PCI_DEVICE_ID, 2), 0x1042);
    CHECK_EQ(ecam_read(m, 1, PCI_DEVFN_MAKE(1, 0), PCI_DEVICE_ID, 2), 0xffff);
    CHECK_EQ(ecam_read(m, 3, 0, PCI_VENDOR_ID, 2), 0xffff);
    CHECK_EQ(ecam_read(m, 4, 0, PCI_VENDOR_ID, 2), 0xffff);
    CHECK_EQ(pci_requester_id(&t.a.pci), 0x0100);
    CHECK_EQ(pci_requester_id(&t.c.pci), PCI_DEVFN_MAKE(3, 0));
    CHECK(pci_host_find(m->host, 2, 0) == &t.b.pci);
    /* 00:02.0 is multi-function (02.1 exists) */
    CHECK_EQ(ecam_read(m, 0, B, PCI_HEADER_TYPE, 1), 0x80 | PCI_HEADER_TYPE_BRIDGE);

    /* commands: root ports forward, endpoints stay off */
    uint16_t fwd = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    CHECK_EQ(ecam_read(m, 0, A, PCI_COMMAND, 2), fwd);
    CHECK_EQ(ecam_read(m, 0, C, PCI_COMMAND, 2), fwd);
    CHECK_EQ(ecam_read(m, 1, 0, PCI_COMMAND, 2), 0);
    CHECK_EQ(ecam_read(m, 0, PCI_DEVFN_MAKE(3, 0), PCI_COMMAND, 2), 0);

    /* every BAR: naturally aligned, inside the right window, no overlaps */
    struct {
        struct test_dev *d;
        uint8_t bus, devfn;
        unsigned idx;
        uint8_t rp; /* 0: bus 0 */
    } bars[] = {
        {&t.a, 1, 0, 0, A}, {&t.a, 1, 0, 1, A}, {&t.a, 1, 0, 2, A}, {&t.a, 1, 0, 4, A},
        {&t.b, 2, 0, 0, B}, {&t.b, 2, 0, 2, B},
        {&t.c, 0, PCI_DEVFN_MAKE(3, 0), 0, 0}, {&t.c, 0, PCI_DEVFN_MAKE(3, 0), 1, 0},
        {&t.c, 0, PCI_DEVFN_MAKE(3, 0), 2, 0},
    };
    enum { NB = sizeof(bars) / sizeof(bars[0]) };
    struct range r[NB];
    for (unsigned i = 0; i < NB; i++) {
        const struct pci_bar *bar = &bars[i].d->pci.bars[bars[i].idx];
        uint64_t addr = guest_bar(&t, bars[i].bus, bars[i].devfn, bars[i].idx,
                                  bar->type == PCI_BAR_MEM64);
        CHECK(addr != 0);
        CHECK_EQ(addr & (bar->size - 1), 0);
        r[i] = (struct range){addr, addr + bar->size - 1};
        if (bar->type == PCI_BAR_IO) {
            CHECK(addr >= LAYOUT_PCI_IO_START && r[i].last < LAYOUT_PCI_IO_START + LAYOUT_PCI_IO_SIZE);
        } else if (bar->type == PCI_BAR_MEM64 && bar->prefetchable) {
            CHECK(addr >= MMIO64_BASE && r[i].last < MMIO64_BASE + LAYOUT_PCI_MMIO64_SIZE);
        } else if (bar->type == PCI_BAR_MEM32 || bars[i].rp) {
            CHECK(addr >= LAYOUT_PCI_MMIO32_START &&
                  r[i].last < LAYOUT_PCI_MMIO32_START + LAYOUT_PCI_MMIO32_SIZE);
        }
        if (bars[i].rp) {
            int kind = bar->type == PCI_BAR_IO ? 0
                       : (bar->type == PCI_BAR_MEM64 && bar->prefetchable) ? 2 : 1;
            CHECK(in_window(bridge_window(&t, bars[i].rp, kind), addr, bar->size));
        }
        for (unsigned j = 0; j < i; j++) {
            bool same_space = (bar->type == PCI_BAR_IO) ==
                              (bars[j].d->pci.bars[bars[j].idx].type == PCI_BAR_IO);
            CHECK(!same_space || r[i].last < r[j].first || r[j].last < r[i].first);
        }
    }

    /* windows cover exactly what sits behind (1 MiB / 4 KiB granularity) */
    struct win w = bridge_window(&t, A, 1);
    CHECK_EQ(w.limit - w.base + 1, LAYOUT_MiB); /* 16K + 8K rounded up */
    CHECK_EQ(w.base & (LAYOUT_MiB - 1), 0);
    w = bridge_window(&t, A, 0);
    CHECK_EQ(w.limit - w.base + 1, 0x1000);
    w = bridge_window(&t, A, 2);
    CHECK_EQ(w.limit - w.base + 1, LAYOUT_MiB);
    w = bridge_window(&t, B, 2);
    CHECK_EQ(w.limit - w.base + 1, 4 * LAYOUT_MiB);
    CHECK_EQ(w.base & (4 * LAYOUT_MiB - 1), 0);
    /* B has no IO: closed; C has nothing: everything closed */
    w = bridge_window(&t, B, 0);
    CHECK(w.limit < w.base);
    for (int k = 0; k < 3; k++) {
        w = bridge_window(&t, C, k);
        CHECK(w.limit < w.base);
    }
    /* root-port windows do not overlap each other or bus-0 BARs */
    struct win wa = bridge_window(&t, A, 1), wb = bridge_window(&t, B, 1);
    CHECK(wa.limit < wb.base || wb.limit < wa.base);
    CHECK(r[6].last < wa.base || r[6].first > wa.limit);
    CHECK(r[6].last < wb.base || r[6].first > wb.limit);

    /* decoding is off: nothing is on the bus yet */
    CHECK(!mmio_hits(m, &t.a, r[0].first, 0));
    CHECK_EQ(t.a.n_placed, 0);
    machine_destroy(m);
}

/* The last bar_placed call for `bar` of t. */
static const struct placed *last_placed(struct test_dev *t, unsigned bar)
{
    for (unsigned i = t->n_placed < MAX_PLACED ? t->n_placed : MAX_PLACED; i-- > 0;)
        if (t->placed[i].bar == bar)
            return &t->placed[i];
    return NULL;
}

static void test_decode_and_move(void)
{
    struct topo t;
    topo_init(&t, LAYOUT_PCI_MMIO32_SIZE);
    CHECK_EQ(pci_host_assign_resources(t.m.host), 0);
    struct machine *m = &t.m;
    uint64_t bar0 = guest_bar(&t, 1, 0, 0, false);
    uint64_t io = guest_bar(&t, 1, 0, 1, false);
    uint64_t pref = guest_bar(&t, 1, 0, 2, true);
    const struct placed *p;

    /* MEM on: the three memory BARs go on the bus, IO stays off */
    ecam_write(m, 1, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    CHECK(mmio_hits(m, &t.a, bar0 + 0x10, 0x10));
    CHECK(mmio_hits(m, &t.a, pref + 0x100, 0x100));
    CHECK(!pio_hits(m, &t.a, io, 0));
    CHECK_EQ(t.a.n_placed, 3);
    p = last_placed(&t.a, 0);
    CHECK(p && p->mapped && p->addr == bar0);
    CHECK(t.a.pci.bars[0].mapped);
    CHECK(!t.a.pci.bars[1].mapped);
    /* IO on (through 0xCF8/0xCFC this time) */
    cf8_write(m, 1, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
    CHECK(pio_hits(m, &t.a, io + 3, 3));
    /* MEM off: memory BARs leave the bus, IO stays */
    ecam_write(m, 1, 0, PCI_COMMAND, PCI_COMMAND_IO, 2);
    CHECK(!mmio_hits(m, &t.a, bar0, 0));
    CHECK(pio_hits(m, &t.a, io, 0));
    p = last_placed(&t.a, 0);
    CHECK(p && !p->mapped && p->addr == bar0);
    ecam_write(m, 1, 0, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);

    /* moving a BAR (inside the root port's window) moves the bus region */
    struct win w = bridge_window(&t, PCI_DEVFN_MAKE(1, 0), 1);
    uint64_t moved = w.limit + 1 - 0x4000; /* last 16K of the window */
    CHECK(moved != bar0);
    unsigned before = t.a.n_placed;
    ecam_write(m, 1, 0, PCI_BASE_ADDRESS_0, (uint32_t)moved, 4);
    CHECK(!mmio_hits(m, &t.a, bar0, 0));
    CHECK(mmio_hits(m, &t.a, moved + 4, 4));
    CHECK_EQ(t.a.n_placed, before + 2); /* off at the old address, on at the new */
    CHECK(!t.a.placed[before].mapped && t.a.placed[before].addr == bar0);
    CHECK(t.a.placed[before + 1].mapped && t.a.placed[before + 1].addr == moved);

    /* sizing with decode on: all-ones lands outside every window: off the bus */
    ecam_write(m, 1, 0, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
    CHECK_EQ(ecam_read(m, 1, 0, PCI_BASE_ADDRESS_0, 4), 0xffffc000);
    CHECK(!t.a.pci.bars[0].mapped);
    ecam_write(m, 1, 0, PCI_BASE_ADDRESS_0, (uint32_t)bar0, 4);
    CHECK(mmio_hits(m, &t.a, bar0, 0));

    /* a BAR moved outside the root port's windows is not forwarded */
    uint64_t outside = bridge_window(&t, PCI_DEVFN_MAKE(2, 0), 1).base;
    ecam_write(m, 1, 0, PCI_BASE_ADDRESS_0, (uint32_t)outside, 4);
    CHECK(!t.a.pci.bars[0].mapped);
    CHECK(!bus_read(&m->mmio, outside, &(uint32_t){0}, 4));
    ecam_write(m, 1, 0, PCI_BASE_ADDRESS_0, (uint32_t)bar0, 4);
    CHECK(mmio_hits(m, &t.a, bar0, 0));

    /* 64-bit BAR: moving the upper dword moves it */
    ecam_write(m, 0, PCI_DEVFN_MAKE(3, 0), PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    uint64_t cpref = guest_bar(&t, 0, PCI_DEVFN_MAKE(3, 0), 2, true);
    CHECK(mmio_hits(m, &t.c, cpref, 0));
    uint64_t cpref2 = cpref + LAYOUT_GiB * 4;
    ecam_write(m, 0, PCI_DEVFN_MAKE(3, 0), PCI_BASE_ADDRESS_3, (uint32_t)(cpref2 >> 32), 4);
    CHECK(!mmio_hits(m, &t.c, cpref, 0));
    CHECK(mmio_hits(m, &t.c, cpref2, 0));
    /* a BAR at address 0 is never placed */
    ecam_write(m, 0, PCI_DEVFN_MAKE(3, 0), PCI_BASE_ADDRESS_0, 0, 4);
    CHECK(!t.c.pci.bars[0].mapped);
    machine_destroy(m);
}

static void test_bridge_gating(void)
{
    struct topo t;
    topo_init(&t, LAYOUT_PCI_MMIO32_SIZE);
    CHECK_EQ(pci_host_assign_resources(t.m.host), 0);
    struct machine *m = &t.m;
    uint8_t A = PCI_DEVFN_MAKE(1, 0);
    uint64_t bar0 = guest_bar(&t, 1, 0, 0, false);
    uint64_t io = guest_bar(&t, 1, 0, 1, false);
    uint64_t pref = guest_bar(&t, 1, 0, 2, true);
    ecam_write(m, 1, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
    CHECK(mmio_hits(m, &t.a, bar0, 0));
    CHECK(pio_hits(m, &t.a, io, 0));

    /* the root port's MEM bit off: its memory windows forward nothing */
    ecam_write(m, 0, A, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
    CHECK(!mmio_hits(m, &t.a, bar0, 0));
    CHECK(!mmio_hits(m, &t.a, pref, 0));
    CHECK(pio_hits(m, &t.a, io, 0));
    CHECK(pci_bar_decode_enabled(&t.a.pci, 0)); /* the device itself still decodes */
    ecam_write(m, 0, A, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    CHECK(mmio_hits(m, &t.a, bar0, 0));
    CHECK(mmio_hits(m, &t.a, pref, 0));
    /* IO bit off: the IO window is gated */
    ecam_write(m, 0, A, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    CHECK(!pio_hits(m, &t.a, io, 0));
    ecam_write(m, 0, A, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    CHECK(pio_hits(m, &t.a, io, 0));

    /* shrink the memory window below the BAR: off; restore: back */
    uint32_t memwin = ecam_read(m, 0, A, PCI_MEMORY_BASE, 4);
    ecam_write(m, 0, A, PCI_MEMORY_LIMIT, 0, 2); /* limit < base: closed */
    CHECK(!mmio_hits(m, &t.a, bar0, 0));
    CHECK(!t.a.pci.bars[4].mapped); /* the non-prefetchable 64-bit BAR too */
    CHECK(mmio_hits(m, &t.a, pref, 0)); /* the prefetchable window is separate */
    ecam_write(m, 0, A, PCI_MEMORY_BASE, memwin, 4);
    CHECK(mmio_hits(m, &t.a, bar0, 0));
    CHECK(t.a.pci.bars[4].mapped);

    /* close the prefetchable window: the prefetchable BAR goes off */
    uint32_t prefwin = ecam_read(m, 0, A, PCI_PREF_MEMORY_BASE, 4);
    ecam_write(m, 0, A, PCI_PREF_MEMORY_BASE, 0x0001fff1, 4);
    CHECK(!mmio_hits(m, &t.a, pref, 0));
    ecam_write(m, 0, A, PCI_PREF_MEMORY_BASE, prefwin, 4);
    CHECK(mmio_hits(m, &t.a, pref, 0));
    /* upper 32 bits of the prefetchable window matter */
    ecam_write(m, 0, A, PCI_PREF_BASE_UPPER32, 0x100, 4);
    CHECK(!mmio_hits(m, &t.a, pref, 0));
    ecam_write(m, 0, A, PCI_PREF_BASE_UPPER32, (uint32_t)(pref >> 32), 4);
    CHECK(mmio_hits(m, &t.a, pref, 0));

    /* IO window moved away from the BAR */
    uint16_t iowin = ecam_read(m, 0, A, PCI_IO_BASE, 2);
    ecam_write(m, 0, A, PCI_IO_BASE, 0xf0f0, 2);
    CHECK(!pio_hits(m, &t.a, io, 0));
    ecam_write(m, 0, A, PCI_IO_BASE, iowin, 2);
    CHECK(pio_hits(m, &t.a, io, 0));

    /* ISA enable: IO addresses with bits 9:8 set are not forwarded */
    if (io & 0x300) {
        ecam_write(m, 0, A, PCI_BRIDGE_CONTROL, PCI_BRIDGE_CTL_ISA, 2);
        CHECK(!pio_hits(m, &t.a, io, 0));
        ecam_write(m, 0, A, PCI_BRIDGE_CONTROL, 0, 2);
        CHECK(pio_hits(m, &t.a, io, 0));
    } else {
        ecam_write(m, 0, A, PCI_BRIDGE_CONTROL, PCI_BRIDGE_CTL_ISA, 2);
        CHECK(pio_hits(m, &t.a, io, 0));
        ecam_write(m, 1, 0, PCI_BASE_ADDRESS_1, (uint32_t)(io + 0x100), 4);
        CHECK(!pio_hits(m, &t.a, io + 0x100, 0));
        ecam_write(m, 0, A, PCI_BRIDGE_CONTROL, 0, 2);
        CHECK(pio_hits(m, &t.a, io + 0x100, 0));
    }

    /* a bus-0 BAR on top of a forwarded one: the later one stays unmapped */
    ecam_write(m, 0, PCI_DEVFN_MAKE(3, 0), PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    uint64_t c0 = guest_bar(&t, 0, PCI_DEVFN_MAKE(3, 0), 0, false);
    CHECK(mmio_hits(m, &t.c, c0, 0));
    ecam_write(m, 0, PCI_DEVFN_MAKE(3, 0), PCI_BASE_ADDRESS_0, (uint32_t)bar0, 4);
    CHECK(!t.c.pci.bars[0].mapped);
    CHECK(mmio_hits(m, &t.a, bar0, 0));
    /* the conflict goes away when the other BAR moves off */
    ecam_write(m, 1, 0, PCI_COMMAND, PCI_COMMAND_IO, 2);
    CHECK(t.c.pci.bars[0].mapped);
    CHECK(mmio_hits(m, &t.c, bar0, 0));
    machine_destroy(m);
}

static void test_renumbering(void)
{
    struct topo t;
    topo_init(&t, LAYOUT_PCI_MMIO32_SIZE);
    CHECK_EQ(pci_host_assign_resources(t.m.host), 0);
    struct machine *m = &t.m;
    uint8_t A = PCI_DEVFN_MAKE(1, 0);
    CHECK_EQ(pci_send_msi(&t.a.pci, 0xfee00000, 0x41), 0);
    CHECK_EQ(msis.rid, 0x0100);
    CHECK_EQ(msis.addr, 0xfee00000);
    CHECK_EQ(msis.data, 0x41);

    /* bus 1 -> 5..7 */
    ecam_write(m, 0, A, PCI_PRIMARY_BUS, 0x00070500, 4);
    CHECK_EQ(ecam_read(m, 1, 0, PCI_VENDOR_ID, 2), 0xffff);
    CHECK_EQ(ecam_read(m, 5, 0, PCI_DEVICE_ID, 2), 0x1041);
    CHECK_EQ(ecam_read(m, 6, 0, PCI_VENDOR_ID, 2), 0xffff); /* no bridge below */
    CHECK_EQ(cf8_read(m, 5, 0, PCI_DEVICE_ID, 2), 0x1041);
    CHECK_EQ(pci_requester_id(&t.a.pci), 0x0500);
    CHECK_EQ(pci_send_msi(&t.a.pci, 0xfee01000, 0x42), 0);
    CHECK_EQ(msis.rid, 0x0500);
    CHECK_EQ(msis.count, 2);
    /* config writes reach the device at its new number */
    ecam_write(m, 5, 0, PCI_INTERRUPT_LINE, 0x33, 1);
    CHECK_EQ(pci_cfg_get8(&t.a.pci, PCI_INTERRUPT_LINE), 0x33);
    /* secondary 0: the device is unreachable */
    ecam_write(m, 0, A, PCI_SECONDARY_BUS, 0, 1);
    CHECK_EQ(ecam_read(m, 5, 0, PCI_VENDOR_ID, 2), 0xffff);

    /* bus master is gated by the root port's master bit too */
    ecam_write(m, 0, A, PCI_PRIMARY_BUS, 0x00010100, 4);
    ecam_write(m, 1, 0, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
    CHECK(pci_bus_master(&t.a.pci));
    ecam_write(m, 0, A, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    CHECK(!pci_bus_master(&t.a.pci));
    machine_destroy(m);
}

static void test_intx(void)
{
    struct topo t;
    topo_init(&t, LAYOUT_PCI_MMIO32_SIZE);
    CHECK_EQ(pci_host_assign_resources(t.m.host), 0);
    struct machine *m = &t.m;
    /* a: INTA behind the root port at slot 1 -> (1 + 0) % 4 = 1
     * b: INTB behind the root port at slot 2 -> (2 + 1) % 4 = 3
     * c: INTA on bus 0 slot 3          -> (3 + 0) % 4 = 3 (shares with b) */
    CHECK_EQ(pci_host_intx_index(&t.a.pci), 1);
    CHECK_EQ(pci_host_intx_index(&t.b.pci), 3);
    CHECK_EQ(pci_host_intx_index(&t.c.pci), 3);
    CHECK_EQ(pci_host_intx_index(pci_bridge_device(t.rpc)), (2 + 0) % 4);

    pci_set_intx(&t.a.pci, true);
    CHECK(lines[1].level);
    CHECK(ecam_read(m, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    pci_set_intx(&t.a.pci, false);
    CHECK(!lines[1].level);
    CHECK(!(ecam_read(m, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));

    /* wired-OR on line 3 */
    pci_set_intx(&t.b.pci, true);
    pci_set_intx(&t.c.pci, true);
    CHECK(lines[3].level);
    CHECK_EQ(lines[3].changes, 1);
    pci_set_intx(&t.b.pci, true); /* repeated level: no double count */
    pci_set_intx(&t.b.pci, false);
    CHECK(lines[3].level);
    pci_set_intx(&t.c.pci, false);
    CHECK(!lines[3].level);
    pci_set_intx(&t.c.pci, false);
    CHECK(!lines[3].level);
    pci_set_intx(&t.b.pci, true);
    CHECK(lines[3].level);
    pci_set_intx(&t.b.pci, false);
    CHECK(!lines[3].level);

    /* Interrupt Disable drops the wire but not the status; clearing restores it */
    pci_set_intx(&t.c.pci, true);
    CHECK(lines[3].level);
    ecam_write(m, 0, PCI_DEVFN_MAKE(3, 0), PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
    CHECK(!lines[3].level);
    CHECK(ecam_read(m, 0, PCI_DEVFN_MAKE(3, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    pci_set_intx(&t.c.pci, false);
    pci_set_intx(&t.c.pci, true);
    CHECK(!lines[3].level);
    ecam_write(m, 0, PCI_DEVFN_MAKE(3, 0), PCI_COMMAND, 0, 2);
    CHECK(lines[3].level);
    pci_set_intx(&t.c.pci, false);
    CHECK(!lines[3].level);
    CHECK(!lines[0].level && !lines[2].level);
    machine_destroy(m);
}

static void test_assign_nospace(void)
{
    struct machine m;
    machine_init(&m, 16 * LAYOUT_MiB);
    struct pci_bridge *rp;
    CHECK_EQ(pci_host_add_root_port(m.host, PCI_DEVFN_MAKE(1, 0), &rp), 0);
    struct test_dev big;
    test_dev_init(&big, "big", 0x1050, 0);
    declare(&big, 0, PCI_BAR_MEM32, false, 32 * LAYOUT_MiB);
    CHECK_EQ(pci_host_attach(m.host, rp, 0, &big.pci), 0);
    CHECK_EQ(pci_host_assign_resources(m.host), -ENOSPC);
    machine_destroy(&m);

    /* bad host configurations */
    struct bus pio, mmio;
    CHECK_EQ(bus_init(&pio, "pio"), 0);
    CHECK_EQ(bus_init(&mmio, "mmio"), 0);
    struct pci_host_config c = {.pio = &pio, .mmio = &mmio, .ecam_base = LAYOUT_ECAM_BASE,
                                .ecam_buses = 0};
    struct pci_host *h;
    CHECK_EQ(pci_host_create(&c, &h), -EINVAL);
    c.ecam_buses = 1;
    c.io_base = 0xf000;
    c.io_size = 0x2000; /* past 64 KiB */
    CHECK_EQ(pci_host_create(&c, &h), -EINVAL);
    c.io_size = 0x1000;
    /* a taken port range: nothing is left registered */
    CHECK_EQ(bus_register(&pio, LAYOUT_PORT_PCI_CONFIG_DATA, 1, &bar_ops, NULL, BUS_SIZE_1,
                          false, "squatter"), 0);
    CHECK_EQ(pci_host_create(&c, &h), -EEXIST);
    CHECK_EQ(mmio.count, 0);
    CHECK_EQ(pio.count, 1);
    bus_destroy(&pio);
    bus_destroy(&mmio);
}

#define STRESS_ROUNDS 2000

struct stress {
    struct topo *t;
    uint64_t bar0;
};

static void *stress_config(void *arg)
{
    struct stress *s = arg;
    for (unsigned i = 0; i < STRESS_ROUNDS; i++) {
        uint32_t cmd = (i & 1) ? PCI_COMMAND_MEMORY : PCI_COMMAND_INTX_DISABLE;
        bus_write(&s->t->m.mmio, ecam_addr(1, 0, PCI_COMMAND), &cmd, 2);
    }
    uint32_t cmd = PCI_COMMAND_MEMORY;
    bus_write(&s->t->m.mmio, ecam_addr(1, 0, PCI_COMMAND), &cmd, 2);
    return NULL;
}

static void *stress_bar(void *arg)
{
    struct stress *s = arg;
    for (unsigned i = 0; i < STRESS_ROUNDS; i++) {
        uint32_t v;
        bus_read(&s->t->m.mmio, s->bar0, &v, 4);
        pci_set_intx(&s->t->a.pci, i & 1);
    }
    pci_set_intx(&s->t->a.pci, false);
    return NULL;
}

/* Config writes re-placing BARs from one vCPU while another accesses the BAR
 * and a device thread toggles INTx: no deadlock, consistent final state. */
static void test_concurrent(void)
{
    struct topo t;
    topo_init(&t, LAYOUT_PCI_MMIO32_SIZE);
    CHECK_EQ(pci_host_assign_resources(t.m.host), 0);
    struct stress s = {.t = &t, .bar0 = guest_bar(&t, 1, 0, 0, false)};
    pthread_t a, b;
    CHECK_EQ(pthread_create(&a, NULL, stress_config, &s), 0);
    CHECK_EQ(pthread_create(&b, NULL, stress_bar, &s), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(mmio_hits(&t.m, &t.a, s.bar0, 0));
    CHECK(!lines[1].level);
    CHECK(!(ecam_read(&t.m, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
    machine_destroy(&t.m);
}

int main(void)
{
    test_host_bridge_and_conf1();
    test_root_port_config();
    test_assignment();
    test_decode_and_move();
    test_bridge_gating();
    test_renumbering();
    test_intx();
    test_assign_nospace();
    test_concurrent();
    return check_result("test_pci_host");
}
