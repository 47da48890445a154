/* SPDX-License-Identifier: MIT */
/*
 * The edu DMA test device (devices/edu.h) behind a real PCIe host and root
 * port, driven the way a guest drives it: configuration through ECAM, BAR 0
 * through the MMIO bus at the address the resource assignment gave it, fake
 * guest RAM behind the device's dma_space, recording INTx lines and MSI sink.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/edu.h"
#include "devices/edu_regs.h"
#include "devices/pci/pci.h"
#include "devices/pci/pci_host.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_guest_ram.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE (1ULL << 20)
#define RAM_END (RAM_GPA + RAM_SIZE)
#define SRC_GPA (RAM_GPA + 0x10000)
#define DST_GPA (RAM_GPA + 0x20000)
#define PAGE 0x1000ULL
#define RP_DEVFN PCI_DEVFN_MAKE(2, 0)
#define EDU_BUS 1                       /* the root port's secondary bus after assignment */
#define EDU_DEVFN 0
#define RENUMBERED_BUS 5
#define MSI_ADDR 0xfee01000ULL
#define MSI_ADDR_HI 0x0ULL
#define MSI_DATA 0x4321
#define IOVA_BASE 0x80000000ULL         /* the fake translator maps RAM here */
#define FILL_RAM 0xa5
#define FILL_BUF 0x3c

/* ---- fakes ---------------------------------------------------------------- */

struct fake_line {
    bool level;
    unsigned changes;
};
static struct fake_line lines[LAYOUT_PCI_INTX_PINS];

static void fake_set_level(void *opaque, unsigned pin, bool level)
{
    (void)opaque;
    if (lines[pin].level != level)
        lines[pin].changes++;
    lines[pin].level = level;
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
    (void)opaque;
    msis.count++;
    msis.rid = rid;
    msis.addr = addr;
    msis.data = data;
    return 0;
}

static const struct msi_sink sink = { .send_msi = fake_send_msi };

/* A vIOMMU stand-in: IOVA_BASE + x -> RAM_GPA + x one page at a time, one
 * page refused (-EFAULT, counted as a fault). */
struct fake_tr {
    uint64_t refuse;        /* page-aligned IOVA refused, 0 for none */
    unsigned calls, faults;
    uint16_t last_rid;
    bool last_write;
};
static struct fake_tr tr;

static int fake_translate(void *opaque, uint16_t rid, uint64_t iova, bool write, uint64_t *gpa,
                          uint64_t *len)
{
    struct fake_tr *t = opaque;
    t->calls++;
    t->last_rid = rid;
    t->last_write = write;
    if (iova < IOVA_BASE || iova - IOVA_BASE >= RAM_SIZE ||
        (t->refuse && (iova & ~(PAGE - 1)) == t->refuse)) {
        t->faults++;
        return -EFAULT;
    }
    *gpa = RAM_GPA + (iova - IOVA_BASE);
    *len = PAGE - (iova & (PAGE - 1));
    return 0;
}

/* ---- the machine ---------------------------------------------------------- */

struct machine {
    struct bus pio, mmio;
    struct pci_host *host;
    struct pci_bridge *rp;
    struct fake_ram ram;
    struct edu *edu;
    struct pci_device *dev;
    uint8_t bus;            /* the edu's bus number as the guest numbers it */
    uint64_t bar;
    int intx;               /* index into lines[] */
};

static struct machine m;

static uint64_t ecam_addr(unsigned reg)
{
    return LAYOUT_ECAM_BASE + ((uint64_t)m.bus << PCI_ECAM_BUS_SHIFT) +
           ((uint64_t)EDU_DEVFN << PCI_ECAM_DEVFN_SHIFT) + reg;
}

static uint32_t cfg_read(unsigned reg, unsigned size)
{
    uint32_t v = 0;
    CHECK(bus_read(&m.mmio, ecam_addr(reg), &v, size));
    return v;
}

static void cfg_write(unsigned reg, uint32_t v, unsigned size)
{
    CHECK(bus_write(&m.mmio, ecam_addr(reg), &v, size));
}

static uint64_t mmio_read(uint64_t off, unsigned size)
{
    uint64_t v = 0;
    bus_read(&m.mmio, m.bar + off, &v, size);
    return v;
}

static void mmio_write(uint64_t off, uint64_t v, unsigned size)
{
    bus_write(&m.mmio, m.bar + off, &v, size);
}

static uint32_t r32(uint64_t off)
{
    return (uint32_t)mmio_read(off, 4);
}

static void w32(uint64_t off, uint32_t v)
{
    mmio_write(off, v, 4);
}

static uint64_t r64(uint64_t off)
{
    return mmio_read(off, 8);
}

static void w64(uint64_t off, uint64_t v)
{
    mmio_write(off, v, 8);
}

static void command(uint16_t bits)
{
    cfg_write(PCI_COMMAND, bits, 2);
}

static int machine_init(void)
{
    memset(&m, 0, sizeof(m));
    memset(lines, 0, sizeof(lines));
    memset(&msis, 0, sizeof(msis));
    memset(&tr, 0, sizeof(tr));
    if (fake_ram_init(&m.ram, RAM_GPA, RAM_SIZE))
        return -ENOMEM;
    memset(m.ram.region.host, FILL_RAM, RAM_SIZE);
    CHECK_EQ(bus_init(&m.pio, "pio"), 0);
    CHECK_EQ(bus_init(&m.mmio, "mmio"), 0);
    struct pci_host_config cfg = {
        .pio = &m.pio, .mmio = &m.mmio, .sink = &sink,
        .ecam_base = LAYOUT_ECAM_BASE, .ecam_buses = LAYOUT_ECAM_BUSES,
        .mmio32_base = LAYOUT_PCI_MMIO32_START, .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
        .mmio64_base = LAYOUT_PCI_MMIO64_MIN_START, .mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
        .io_base = LAYOUT_PCI_IO_START, .io_size = LAYOUT_PCI_IO_SIZE,
    };
    for (unsigned i = 0; i < LAYOUT_PCI_INTX_PINS; i++)
        cfg.intx[i] = (struct irq_line){ .set_level = fake_set_level, .pin = i };
    CHECK_EQ(pci_host_create(&cfg, &m.host), 0);
    CHECK_EQ(pci_host_add_root_port(m.host, RP_DEVFN, &m.rp), 0);

    struct edu_config ecfg = { .ram = &m.ram.region, .nram = 1 };
    CHECK_EQ(edu_create(&ecfg, &m.edu), 0);
    m.dev = edu_pci_device(m.edu);
    CHECK_EQ(pci_host_attach(m.host, m.rp, EDU_DEVFN, m.dev), 0);
    CHECK_EQ(pci_host_assign_resources(m.host), 0);
    m.bus = EDU_BUS;
    m.bar = pci_bar_address(m.dev, EDU_PCI_BAR);
    m.intx = pci_host_intx_index(m.dev);
    CHECK(m.bar != 0);
    CHECK(m.intx >= 0 && m.intx < LAYOUT_PCI_INTX_PINS);
    command(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    return 0;
}

static void machine_destroy(void)
{
    pci_host_destroy(m.host);
    edu_destroy(m.edu);
    bus_destroy(&m.mmio);
    bus_destroy(&m.pio);
    fake_ram_free(&m.ram);
}

static uint8_t *ram(uint64_t gpa)
{
    return fake_ram_ptr(&m.ram, gpa, 1);
}

static bool all_bytes(const uint8_t *p, uint64_t len, uint8_t v)
{
    for (uint64_t i = 0; i < len; i++) {
        if (p[i] != v)
            return false;
    }
    return true;
}

/* Fill the EDU buffer with `v` through BAR 0. */
static void buf_fill(uint8_t v)
{
    uint32_t word = v * 0x01010101u;
    for (uint64_t i = 0; i < EDU_DMA_BUF_SIZE; i += 4)
        w32(EDU_DMA_BUF_BASE + i, word);
}

/* Read the EDU buffer back through BAR 0 (8-byte reads). */
static void buf_read(uint8_t *out)
{
    for (uint64_t i = 0; i < EDU_DMA_BUF_SIZE; i += 8) {
        uint64_t v = r64(EDU_DMA_BUF_BASE + i);
        memcpy(out + i, &v, 8);
    }
}

static bool buf_is(uint8_t v)
{
    uint8_t b[EDU_DMA_BUF_SIZE];
    buf_read(b);
    return all_bytes(b, sizeof(b), v);
}

static void pattern(uint8_t *p, uint64_t len, uint8_t seed)
{
    for (uint64_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* Program and start one transfer; returns the DMA error register. */
static uint64_t dma(uint64_t src, uint64_t dst, uint64_t count, uint32_t cmd)
{
    w64(EDU_REG_DMA_SRC, src);
    w64(EDU_REG_DMA_DST, dst);
    w64(EDU_REG_DMA_COUNT, count);
    w32(EDU_REG_DMA_CMD, cmd | (uint32_t)EDU_DMA_CMD_START);
    CHECK_EQ(r32(EDU_REG_DMA_CMD) & EDU_DMA_CMD_START, 0); /* synchronous completion */
    return r64(EDU_REG_DMA_ERROR);
}

static void enable_msi(void)
{
    unsigned cap = pci_find_capability(m.dev, PCI_CAP_ID_MSI);
    CHECK(cap != 0);
    cfg_write(cap + PCI_MSI_ADDRESS_LO, (uint32_t)MSI_ADDR, 4);
    cfg_write(cap + PCI_MSI_ADDRESS_HI, (uint32_t)MSI_ADDR_HI, 4);
    cfg_write(cap + PCI_MSI_DATA_64, MSI_DATA, 2);
    cfg_write(cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_pci_identity(void)
{
    CHECK_EQ(cfg_read(PCI_VENDOR_ID, 2), EDU_PCI_VENDOR_ID);
    CHECK_EQ(cfg_read(PCI_DEVICE_ID, 2), EDU_PCI_DEVICE_ID);
    CHECK_EQ(cfg_read(PCI_CLASS_REVISION, 4), (EDU_PCI_CLASS_CODE << 8) | EDU_PCI_REVISION);
    CHECK_EQ(cfg_read(PCI_SUBSYSTEM_VENDOR_ID, 2), PCI_VENDOR_ID_REDHAT_QUMRANET);
    CHECK_EQ(cfg_read(PCI_SUBSYSTEM_ID, 2), EDU_PCI_SUBSYSTEM_ID);
    CHECK_EQ(cfg_read(PCI_INTERRUPT_PIN, 1), 1);
    CHECK_EQ(cfg_read(PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
    /* BAR 0: 32-bit non-prefetchable memory, 1 MiB */
    uint32_t bar = cfg_read(PCI_BASE_ADDRESS_0, 4);
    CHECK_EQ(bar & ~PCI_BASE_ADDRESS_MEM_MASK, PCI_BASE_ADDRESS_SPACE_MEMORY |
                                                   PCI_BASE_ADDRESS_MEM_TYPE_32);
    CHECK_EQ(bar & PCI_BASE_ADDRESS_MEM_MASK, m.bar);
    CHECK_EQ(m.bar % EDU_BAR_SIZE, 0);
    command(0);
    cfg_write(PCI_BASE_ADDRESS_0, UINT32_MAX, 4);
    CHECK_EQ(cfg_read(PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_MEM_MASK,
             (uint32_t)~(EDU_BAR_SIZE - 1));
    cfg_write(PCI_BASE_ADDRESS_0, (uint32_t)m.bar, 4);
    for (unsigned b = 1; b < PCI_NUM_BARS; b++)
        CHECK_EQ(cfg_read(PCI_BASE_ADDRESS_0 + 4 * b, 4), 0);
    command(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    /* one-vector 64-bit MSI without per-vector masking */
    unsigned cap = pci_find_capability(m.dev, PCI_CAP_ID_MSI);
    CHECK(cap != 0);
    uint16_t flags = (uint16_t)cfg_read(cap + PCI_MSI_FLAGS, 2);
    CHECK(flags & PCI_MSI_FLAGS_64BIT);
    CHECK(!(flags & PCI_MSI_FLAGS_MASKBIT));
    CHECK_EQ(flags & PCI_MSI_FLAGS_QMASK, 0);
    CHECK_EQ(pci_requester_id(m.dev), PCI_RID_MAKE(EDU_BUS, EDU_DEVFN));
}

static void test_id_liveness(void)
{
    CHECK_EQ(r32(EDU_REG_ID), 0x010000ed);
    CHECK_EQ(r32(EDU_REG_ID), EDU_ID_VALUE);
    w32(EDU_REG_ID, 0);                    /* read-only */
    CHECK_EQ(r32(EDU_REG_ID), EDU_ID_VALUE);
    w32(EDU_REG_LIVENESS, 0x12345678);
    CHECK_EQ(r32(EDU_REG_LIVENESS), 0xedcba987);
    w32(EDU_REG_LIVENESS, 0);
    CHECK_EQ(r32(EDU_REG_LIVENESS), 0xffffffff);
    /* memory decoding off: the BAR is not on the bus */
    command(PCI_COMMAND_MASTER);
    CHECK_EQ(r32(EDU_REG_ID), 0xffffffff);
    command(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK_EQ(r32(EDU_REG_ID), EDU_ID_VALUE);
}

static uint32_t factorial32(uint32_t n)
{
    uint32_t r = 1;
    for (uint32_t i = 2; i <= n; i++)
        r *= i;
    return r;
}

static void test_factorial(void)
{
    static const uint32_t cases[] = { 0, 1, 5, 12, 13, 20, 33, 34, 35, 100 };
    CHECK_EQ(r32(EDU_REG_STATUS), 0);
    w32(EDU_REG_FACTORIAL, 5);
    CHECK_EQ(r32(EDU_REG_STATUS) & EDU_STATUS_COMPUTING, 0);
    CHECK_EQ(r32(EDU_REG_FACTORIAL), 120);
    w32(EDU_REG_FACTORIAL, 12);
    CHECK_EQ(r32(EDU_REG_FACTORIAL), 479001600);
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        w32(EDU_REG_FACTORIAL, cases[i]);
        CHECK_EQ(r32(EDU_REG_FACTORIAL), factorial32(cases[i]));
    }
    CHECK(factorial32(33) != 0);
    /* huge n: answered at once (the register wraps to 0) */
    w32(EDU_REG_FACTORIAL, 0xffffffff);
    CHECK_EQ(r32(EDU_REG_STATUS) & EDU_STATUS_COMPUTING, 0);
    CHECK_EQ(r32(EDU_REG_FACTORIAL), 0);
    /* only the IRQFACT bit of status is writable */
    w32(EDU_REG_STATUS, 0xffffffff);
    CHECK_EQ(r32(EDU_REG_STATUS), EDU_STATUS_IRQFACT);
    w32(EDU_REG_STATUS, 0);
    CHECK_EQ(r32(EDU_REG_STATUS), 0);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), 0); /* no interrupt without IRQFACT */
    CHECK(!lines[m.intx].level);
}

static void test_intx(void)
{
    w32(EDU_REG_IRQ_RAISE, 0x1230);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), 0x1230);
    CHECK(lines[m.intx].level);
    CHECK(cfg_read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    w32(EDU_REG_IRQ_RAISE, 0x4);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), 0x1234);
    w32(EDU_REG_IRQ_ACK, 0x1000);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), 0x234);
    CHECK(lines[m.intx].level);
    w32(EDU_REG_IRQ_ACK, 0xffffffff);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), 0);
    CHECK(!lines[m.intx].level);
    CHECK(!(cfg_read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
    /* write-only registers read all-ones */
    CHECK_EQ(r32(EDU_REG_IRQ_RAISE), 0xffffffff);
    CHECK_EQ(r32(EDU_REG_IRQ_ACK), 0xffffffff);

    /* factorial completion with IRQFACT */
    w32(EDU_REG_STATUS, EDU_STATUS_IRQFACT);
    w32(EDU_REG_FACTORIAL, 4);
    CHECK_EQ(r32(EDU_REG_FACTORIAL), 24);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), EDU_IRQ_FACTORIAL);
    CHECK(lines[m.intx].level);
    w32(EDU_REG_IRQ_ACK, EDU_IRQ_FACTORIAL);
    CHECK(!lines[m.intx].level);

    /* Interrupt Disable masks the wire, not the device's status */
    command(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    w32(EDU_REG_IRQ_RAISE, 1);
    CHECK(!lines[m.intx].level);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), 1);
    command(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK(lines[m.intx].level);
    w32(EDU_REG_IRQ_ACK, 1);
    CHECK(!lines[m.intx].level);
    CHECK_EQ(msis.count, 0);
}

static void test_msi(void)
{
    enable_msi();
    w32(EDU_REG_IRQ_RAISE, 0x10);
    CHECK_EQ(msis.count, 1);
    CHECK_EQ(msis.rid, PCI_RID_MAKE(EDU_BUS, EDU_DEVFN));
    CHECK_EQ(msis.addr, MSI_ADDR);
    CHECK_EQ(msis.data, MSI_DATA);
    CHECK(!lines[m.intx].level);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), 0x10);
    w32(EDU_REG_IRQ_ACK, 0x10);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), 0);
    CHECK_EQ(msis.count, 1);

    /* DMA completion over MSI */
    uint64_t err = dma(SRC_GPA, EDU_DMA_BUF_BASE, 64, EDU_DMA_CMD_IRQ);
    CHECK_EQ(err, EDU_DMA_ERR_NONE);
    CHECK_EQ(msis.count, 2);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), EDU_IRQ_DMA);
    w32(EDU_REG_IRQ_ACK, EDU_IRQ_DMA);

    /* factorial completion over MSI */
    w32(EDU_REG_STATUS, EDU_STATUS_IRQFACT);
    w32(EDU_REG_FACTORIAL, 3);
    CHECK_EQ(msis.count, 3);
    w32(EDU_REG_IRQ_ACK, EDU_IRQ_FACTORIAL);

    /* without bus mastering an MSI is not sent */
    command(PCI_COMMAND_MEMORY);
    w32(EDU_REG_IRQ_RAISE, 1);
    CHECK_EQ(msis.count, 3);
    w32(EDU_REG_IRQ_ACK, 1);
    command(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

    /* MSI off again: back to INTx */
    unsigned cap = pci_find_capability(m.dev, PCI_CAP_ID_MSI);
    cfg_write(cap + PCI_MSI_FLAGS, 0, 2);
    w32(EDU_REG_IRQ_RAISE, 2);
    CHECK_EQ(msis.count, 3);
    CHECK(lines[m.intx].level);
    w32(EDU_REG_IRQ_ACK, 2);
    CHECK(!lines[m.intx].level);
}

static void test_dma_both_ways(void)
{
    uint8_t src[EDU_DMA_BUF_SIZE], got[EDU_DMA_BUF_SIZE];
    pattern(src, sizeof(src), 0x11);
    fake_ram_write(&m.ram, SRC_GPA, src, sizeof(src));
    buf_fill(FILL_BUF);

    /* RAM -> EDU: 256 bytes at buffer offset 16 */
    CHECK_EQ(dma(SRC_GPA, EDU_DMA_BUF_BASE + 16, 256, 0), EDU_DMA_ERR_NONE);
    buf_read(got);
    CHECK(all_bytes(got, 16, FILL_BUF));
    CHECK(memcmp(got + 16, src, 256) == 0);
    CHECK(all_bytes(got + 16 + 256, EDU_DMA_BUF_SIZE - 16 - 256, FILL_BUF));
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), 0); /* no IRQ bit, no interrupt */

    /* EDU -> RAM: those 256 bytes to DST_GPA + 3 (unaligned) */
    CHECK_EQ(dma(EDU_DMA_BUF_BASE + 16, DST_GPA + 3, 256, EDU_DMA_CMD_TO_RAM),
             EDU_DMA_ERR_NONE);
    CHECK(memcmp(ram(DST_GPA + 3), src, 256) == 0);
    CHECK(all_bytes(ram(DST_GPA), 3, FILL_RAM));
    CHECK(all_bytes(ram(DST_GPA + 3 + 256), 64, FILL_RAM));
    CHECK_EQ(r32(EDU_REG_DMA_CMD), EDU_DMA_CMD_TO_RAM); /* START cleared, rest kept */

    /* the whole buffer both ways */
    CHECK_EQ(dma(SRC_GPA, EDU_DMA_BUF_BASE, EDU_DMA_BUF_SIZE, 0), EDU_DMA_ERR_NONE);
    buf_read(got);
    CHECK(memcmp(got, src, sizeof(src)) == 0);
    CHECK_EQ(dma(EDU_DMA_BUF_BASE, DST_GPA + PAGE, EDU_DMA_BUF_SIZE, EDU_DMA_CMD_TO_RAM),
             EDU_DMA_ERR_NONE);
    CHECK(memcmp(ram(DST_GPA + PAGE), src, sizeof(src)) == 0);

    /* INTx completion with the IRQ bit */
    CHECK_EQ(dma(SRC_GPA, EDU_DMA_BUF_BASE, 8, EDU_DMA_CMD_IRQ), EDU_DMA_ERR_NONE);
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), EDU_IRQ_DMA);
    CHECK(lines[m.intx].level);
    w32(EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
    CHECK(!lines[m.intx].level);

    /* count 0: completes, touches nothing */
    buf_fill(FILL_BUF);
    CHECK_EQ(dma(SRC_GPA, EDU_DMA_BUF_BASE, 0, 0), EDU_DMA_ERR_NONE);
    CHECK(buf_is(FILL_BUF));
}

static void test_no_bus_master(void)
{
    uint8_t src[256];
    pattern(src, sizeof(src), 0x40);
    fake_ram_write(&m.ram, SRC_GPA, src, sizeof(src));
    buf_fill(FILL_BUF);
    command(PCI_COMMAND_MEMORY);
    CHECK_EQ(dma(SRC_GPA, EDU_DMA_BUF_BASE, sizeof(src), EDU_DMA_CMD_IRQ),
             EDU_DMA_ERR_NO_MASTER);
    CHECK(buf_is(FILL_BUF));
    /* the command still completes, with its interrupt */
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), EDU_IRQ_DMA);
    CHECK(lines[m.intx].level);
    w32(EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
    CHECK_EQ(dma(EDU_DMA_BUF_BASE, DST_GPA, sizeof(src), EDU_DMA_CMD_TO_RAM),
             EDU_DMA_ERR_NO_MASTER);
    CHECK(all_bytes(ram(DST_GPA), PAGE, FILL_RAM));
    /* a root port without bus mastering does not forward the request either */
    command(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    struct pci_device *rp = pci_bridge_device(m.rp);
    uint16_t rp_cmd = pci_cfg_get16(rp, PCI_COMMAND);
    uint16_t off = (uint16_t)(rp_cmd & ~PCI_COMMAND_MASTER);
    CHECK(bus_write(&m.mmio, LAYOUT_ECAM_BASE + ((uint64_t)RP_DEVFN << PCI_ECAM_DEVFN_SHIFT) +
                                 PCI_COMMAND, &off, 2));
    CHECK_EQ(dma(SRC_GPA, EDU_DMA_BUF_BASE, sizeof(src), 0), EDU_DMA_ERR_NO_MASTER);
    CHECK(buf_is(FILL_BUF));
    CHECK(bus_write(&m.mmio, LAYOUT_ECAM_BASE + ((uint64_t)RP_DEVFN << PCI_ECAM_DEVFN_SHIFT) +
                                 PCI_COMMAND, &rp_cmd, 2));
    CHECK_EQ(dma(SRC_GPA, EDU_DMA_BUF_BASE, sizeof(src), 0), EDU_DMA_ERR_NONE);
    CHECK(!buf_is(FILL_BUF));
    /* a later good transfer clears the error */
    CHECK_EQ(r64(EDU_REG_DMA_ERROR), EDU_DMA_ERR_NONE);
}

static void test_edu_range_refused(void)
{
    static const struct {
        uint64_t addr, count;
    } bad[] = {
        { EDU_DMA_BUF_BASE - 1, 1 },
        { EDU_DMA_BUF_BASE - 1, 2 },
        { EDU_DMA_BUF_BASE + EDU_DMA_BUF_SIZE, 1 },
        { EDU_DMA_BUF_BASE + 0x800, 0x801 },
        { EDU_DMA_BUF_BASE, EDU_DMA_BUF_SIZE + 1 },
        { EDU_DMA_BUF_BASE + 8, UINT64_MAX },       /* wraps */
        { UINT64_MAX, 2 },
        { 0, 16 },
    };
    buf_fill(FILL_BUF);
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* RAM -> EDU with a bad destination */
        CHECK_EQ(dma(SRC_GPA, bad[i].addr, bad[i].count, EDU_DMA_CMD_IRQ), EDU_DMA_ERR_RANGE);
        CHECK_EQ(r32(EDU_REG_IRQ_STATUS), EDU_IRQ_DMA);
        w32(EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
        /* EDU -> RAM with a bad source */
        CHECK_EQ(dma(bad[i].addr, DST_GPA, bad[i].count, EDU_DMA_CMD_TO_RAM), EDU_DMA_ERR_RANGE);
    }
    CHECK(buf_is(FILL_BUF));
    CHECK(all_bytes(ram(DST_GPA), 2 * PAGE, FILL_RAM));
    /* the last byte of the buffer is in range */
    CHECK_EQ(dma(SRC_GPA, EDU_DMA_BUF_BASE + EDU_DMA_BUF_SIZE - 1, 1, 0), EDU_DMA_ERR_NONE);
}

static void test_non_ram_refused(void)
{
    uint8_t got[EDU_DMA_BUF_SIZE];
    buf_fill(FILL_BUF);
    /* RAM -> EDU from below RAM, beyond it, straddling its end, wrapping */
    CHECK_EQ(dma(0, EDU_DMA_BUF_BASE, 64, 0), EDU_DMA_ERR_FAULT);
    CHECK_EQ(dma(RAM_END, EDU_DMA_BUF_BASE, 64, 0), EDU_DMA_ERR_FAULT);
    CHECK_EQ(dma(RAM_END - 32, EDU_DMA_BUF_BASE, 64, 0), EDU_DMA_ERR_FAULT);
    CHECK_EQ(dma(MSI_ADDR_BASE, EDU_DMA_BUF_BASE, 64, 0), EDU_DMA_ERR_FAULT);
    CHECK_EQ(dma(UINT64_MAX - 16, EDU_DMA_BUF_BASE, 64, 0), EDU_DMA_ERR_FAULT);
    buf_read(got);
    CHECK(all_bytes(got, sizeof(got), FILL_BUF)); /* not even the RAM prefix */

    /* EDU -> RAM: nothing written, not even the part that is RAM */
    CHECK_EQ(dma(EDU_DMA_BUF_BASE, RAM_END - 32, 64, EDU_DMA_CMD_TO_RAM | EDU_DMA_CMD_IRQ),
             EDU_DMA_ERR_FAULT);
    CHECK(all_bytes(ram(RAM_END - PAGE), PAGE, FILL_RAM));
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), EDU_IRQ_DMA); /* the abort still completes */
    w32(EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
    CHECK_EQ(dma(EDU_DMA_BUF_BASE, RAM_GPA - 8, 64, EDU_DMA_CMD_TO_RAM), EDU_DMA_ERR_FAULT);
    CHECK(all_bytes(ram(RAM_GPA), 64, FILL_RAM));
    CHECK_EQ(dma(EDU_DMA_BUF_BASE, UINT64_MAX - 8, 64, EDU_DMA_CMD_TO_RAM), EDU_DMA_ERR_FAULT);
    CHECK(all_bytes(ram(RAM_GPA), PAGE, FILL_RAM));
}

static void test_translator(void)
{
    uint8_t src[2 * PAGE];
    pattern(src, sizeof(src), 0x77);
    fake_ram_write(&m.ram, SRC_GPA, src, sizeof(src));
    struct dma_translator t = { .translate = fake_translate, .opaque = &tr };
    dma_space_set_translator(edu_dma(m.edu), &t);

    /* a mapped IOVA works and carries the function's requester id */
    const uint64_t src_iova = IOVA_BASE + (SRC_GPA - RAM_GPA);
    const uint64_t dst_iova = IOVA_BASE + (DST_GPA - RAM_GPA);
    CHECK_EQ(dma(src_iova + PAGE - 16, EDU_DMA_BUF_BASE, 64, 0), EDU_DMA_ERR_NONE);
    uint8_t got[EDU_DMA_BUF_SIZE];
    buf_read(got);
    CHECK(memcmp(got, src + PAGE - 16, 64) == 0);
    CHECK(tr.calls >= 2); /* two pages, two fragments */
    CHECK_EQ(tr.last_rid, PCI_RID_MAKE(EDU_BUS, EDU_DEVFN));
    CHECK(!tr.last_write);
    CHECK_EQ(tr.faults, 0);

    /* the raw GPA is not an IOVA any more */
    buf_fill(FILL_BUF);
    CHECK_EQ(dma(SRC_GPA, EDU_DMA_BUF_BASE, 64, 0), EDU_DMA_ERR_FAULT);
    CHECK_EQ(tr.faults, 1);
    CHECK(buf_is(FILL_BUF));

    /* RAM -> EDU over a refused second page: the buffer keeps its contents */
    tr.refuse = src_iova + PAGE;
    CHECK_EQ(dma(src_iova + PAGE - 16, EDU_DMA_BUF_BASE, 64, EDU_DMA_CMD_IRQ),
             EDU_DMA_ERR_FAULT);
    CHECK(buf_is(FILL_BUF));
    CHECK_EQ(r32(EDU_REG_IRQ_STATUS), EDU_IRQ_DMA);
    w32(EDU_REG_IRQ_ACK, EDU_IRQ_DMA);

    /* EDU -> RAM over a refused second page: the first page is not written */
    tr.refuse = dst_iova + PAGE;
    unsigned faults = tr.faults;
    CHECK_EQ(dma(EDU_DMA_BUF_BASE, dst_iova + PAGE - 16, 64, EDU_DMA_CMD_TO_RAM),
             EDU_DMA_ERR_FAULT);
    CHECK(tr.last_write);
    CHECK_EQ(tr.faults, faults + 1); /* one fault recorded per aborted transfer */
    CHECK(all_bytes(ram(DST_GPA), 2 * PAGE, FILL_RAM));

    /* the requester id follows the guest's bus numbering */
    tr.refuse = 0;
    uint8_t busnr = RENUMBERED_BUS;
    uint64_t rp_cfg = LAYOUT_ECAM_BASE + ((uint64_t)RP_DEVFN << PCI_ECAM_DEVFN_SHIFT);
    CHECK(bus_write(&m.mmio, rp_cfg + PCI_SUBORDINATE_BUS, &busnr, 1));
    CHECK(bus_write(&m.mmio, rp_cfg + PCI_SECONDARY_BUS, &busnr, 1));
    m.bus = RENUMBERED_BUS;
    CHECK_EQ(cfg_read(PCI_VENDOR_ID, 2), EDU_PCI_VENDOR_ID);
    CHECK_EQ(pci_requester_id(m.dev), PCI_RID_MAKE(RENUMBERED_BUS, EDU_DEVFN));
    CHECK_EQ(dma(EDU_DMA_BUF_BASE, dst_iova, 32, EDU_DMA_CMD_TO_RAM), EDU_DMA_ERR_NONE);
    CHECK_EQ(tr.last_rid, PCI_RID_MAKE(RENUMBERED_BUS, EDU_DEVFN));
    CHECK_EQ(edu_dma(m.edu)->rid, PCI_RID_MAKE(RENUMBERED_BUS, EDU_DEVFN));
    CHECK(all_bytes(ram(DST_GPA), 32, FILL_BUF));
    dma_space_set_translator(edu_dma(m.edu), NULL);
}

static void test_access_sizes(void)
{
    /* 8-byte registers: whole, and their 4-byte halves */
    w64(EDU_REG_DMA_SRC, 0x1122334455667788ULL);
    CHECK_EQ(r64(EDU_REG_DMA_SRC), 0x1122334455667788ULL);
    CHECK_EQ(r32(EDU_REG_DMA_SRC), 0x55667788);
    CHECK_EQ(r32(EDU_REG_DMA_SRC + EDU_REG_HI_HALF), 0x11223344);
    w32(EDU_REG_DMA_SRC + EDU_REG_HI_HALF, 0xaabbccdd);
    CHECK_EQ(r64(EDU_REG_DMA_SRC), 0xaabbccdd55667788ULL);
    w32(EDU_REG_DMA_SRC, 0x01020304);     /* QEMU: replaces the whole register */
    CHECK_EQ(r64(EDU_REG_DMA_SRC), 0x01020304ULL);
    w64(EDU_REG_DMA_DST, UINT64_MAX);
    CHECK_EQ(r64(EDU_REG_DMA_DST), UINT64_MAX);
    w64(EDU_REG_DMA_COUNT, 0x100000000ULL);
    CHECK_EQ(r64(EDU_REG_DMA_COUNT), 0x100000000ULL);
    w64(EDU_REG_DMA_CMD, EDU_DMA_CMD_TO_RAM | EDU_DMA_CMD_IRQ | 0xf0);
    CHECK_EQ(r64(EDU_REG_DMA_CMD), EDU_DMA_CMD_TO_RAM | EDU_DMA_CMD_IRQ);
    w32(EDU_REG_DMA_CMD, 0);
    /* the error register is read-only */
    w64(EDU_REG_DMA_ERROR, 7);
    CHECK_EQ(r64(EDU_REG_DMA_ERROR), EDU_DMA_ERR_NONE);

    /* below 0x80: 4-byte only; 8-byte reads all-ones, 8-byte writes dropped */
    CHECK_EQ(r64(EDU_REG_ID), UINT64_MAX);
    w32(EDU_REG_LIVENESS, 0);
    w64(EDU_REG_LIVENESS - 4, 0);
    CHECK_EQ(r32(EDU_REG_LIVENESS), 0xffffffff);
    w64(EDU_REG_FACTORIAL, 5);
    CHECK_EQ(r32(EDU_REG_FACTORIAL), 0);
    /* 1- and 2-byte accesses are refused by the bus */
    CHECK_EQ(mmio_read(EDU_REG_ID, 2), 0xffff);
    CHECK_EQ(mmio_read(EDU_REG_ID, 1), 0xff);
    mmio_write(EDU_REG_LIVENESS, 0x55, 1);
    CHECK_EQ(r32(EDU_REG_LIVENESS), 0xffffffff);
    /* unaligned accesses too */
    CHECK_EQ(mmio_read(EDU_REG_DMA_SRC + 4, 8), UINT64_MAX);
    /* nothing decodes at unused offsets */
    CHECK_EQ(r32(0x10), 0xffffffff);
    CHECK_EQ(r64(0xa8), UINT64_MAX);
    CHECK_EQ(r32(EDU_BAR_SIZE - 4), 0xffffffff);
    CHECK_EQ(r32(EDU_DMA_BUF_BASE + EDU_DMA_BUF_SIZE), 0xffffffff);

    /* the buffer through BAR 0: 4 and 8 bytes */
    w64(EDU_DMA_BUF_BASE, 0x0807060504030201ULL);
    CHECK_EQ(r32(EDU_DMA_BUF_BASE), 0x04030201);
    CHECK_EQ(r32(EDU_DMA_BUF_BASE + 4), 0x08070605);
    w32(EDU_DMA_BUF_BASE + EDU_DMA_BUF_SIZE - 4, 0xdeadbeef);
    CHECK_EQ(r64(EDU_DMA_BUF_BASE + EDU_DMA_BUF_SIZE - 8) >> 32, 0xdeadbeef);
}

static void test_create_errors(void)
{
    struct edu *e = NULL;
    struct dma_ram_region bad = { .gpa = 0, .size = 0x1000, .host = NULL };
    struct edu_config cfg = { .ram = &bad, .nram = 1 };
    CHECK_EQ(edu_create(&cfg, &e), -EINVAL);
    CHECK(e == NULL);
    cfg.nram = DMA_MAX_RAM_REGIONS + 1;
    CHECK_EQ(edu_create(&cfg, &e), -EINVAL);
    CHECK_EQ(edu_create(NULL, &e), -EINVAL);
    /* no RAM at all: every DMA faults */
    cfg = (struct edu_config){ 0 };
    CHECK_EQ(edu_create(&cfg, &e), 0);
    CHECK(e != NULL);
    CHECK_EQ(edu_dma(e)->nram, 0);
    edu_destroy(e);
    edu_destroy(NULL);
}

typedef void (*test_fn)(void);

int main(void)
{
    static const test_fn tests[] = {
        test_pci_identity, test_id_liveness, test_factorial, test_intx, test_msi,
        test_dma_both_ways, test_no_bus_master, test_edu_range_refused, test_non_ram_refused,
        test_translator, test_access_sizes,
    };
    for (unsigned i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (machine_init()) {
            fprintf(stderr, "test_edu: cannot map the fake guest RAM\n");
            return CHECK_SKIP;
        }
        tests[i]();
        machine_destroy();
    }
    test_create_errors();
    return check_result("test_edu");
}
