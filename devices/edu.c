/* SPDX-License-Identifier: MIT */
/*
 * The "edu" DMA test device (devices/edu.h): BAR 0 register file, factorial,
 * interrupt raise/acknowledge over INTx or MSI, and the synchronous DMA
 * engine between guest memory (through the function's dma_space) and the
 * 4 KiB internal buffer.
 */
#define LOG_MODULE "edu"
#include "devices/edu.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/edu_regs.h"
#include "devices/pci/msi.h"
#include "vmm/log.h"

#define EDU_MSI_VECTORS 1
#define EDU_MSI_VECTOR 0
#define EDU_INTX_PIN_A 1
#define EDU_LO32 GENMASK(31, 0)
#define EDU_DWORD_BITS 32
/* 34! is the first factorial with 32 factors of two (17 + 8 + 4 + 2 + 1):
 * from there on n! mod 2^32 is 0, so the 32-bit result is known without
 * looping up to four billion times inside a vCPU exit. */
#define EDU_FACT_ZERO_FROM 34u

struct edu {
    struct pci_device pci;
    struct pci_msi msi;
    struct dma_space dma;

    pthread_mutex_t lock;           /* everything below except msi_* */
    uint32_t liveness;              /* inverted on write */
    uint32_t fact;
    uint32_t status;                /* EDU_STATUS_* */
    uint32_t irq_status;
    uint64_t dma_src, dma_dst, dma_count, dma_cmd, dma_error;
    uint8_t buf[EDU_DMA_BUF_SIZE];
    uint8_t bounce[EDU_DMA_BUF_SIZE]; /* RAM -> EDU lands here first: all or nothing */

    /* The MSI message, kept by the helper's callbacks under msi.lock. */
    uint64_t msi_addr;
    uint32_t msi_data;
};

/* ---- interrupts (e->lock held) ----------------------------------------------- */

static void edu_irq_raise(struct edu *e, uint32_t bits)
{
    e->irq_status |= bits;
    if (!e->irq_status)
        return;
    if (pci_msi_enabled(&e->msi))
        pci_msi_notify(&e->msi, EDU_MSI_VECTOR);
    else
        pci_set_intx(&e->pci, true);
}

static void edu_irq_ack(struct edu *e, uint32_t bits)
{
    e->irq_status &= ~bits;
    if (!e->irq_status)
        pci_set_intx(&e->pci, false);
}

/* MSI helper callbacks (msi.lock held). */
static void edu_msi_vector_update(void *opaque, unsigned vec, bool deliverable, uint64_t addr,
                                  uint32_t data)
{
    struct edu *e = opaque;
    (void)vec;
    (void)deliverable;
    e->msi_addr = addr;
    e->msi_data = data;
}

static void edu_msi_fire(void *opaque, unsigned vec)
{
    struct edu *e = opaque;
    (void)vec;
    int rc = pci_send_msi(&e->pci, e->msi_addr, e->msi_data);
    if (rc)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: MSI not delivered: %s", e->pci.name, strerror(-rc));
}

static const struct pci_msix_ops edu_msi_ops = {
    .vector_update = edu_msi_vector_update,
    .fire = edu_msi_fire,
};

/* ---- factorial (e->lock held) ------------------------------------------------ */

/* n! modulo 2^32, as the 32-bit register holds it. */
static uint32_t edu_factorial(uint32_t n)
{
    uint32_t r = 1;

    if (n >= EDU_FACT_ZERO_FROM)
        return 0;
    for (; n > 1; n--)
        r *= n;
    return r;
}

static void edu_factorial_start(struct edu *e, uint32_t n)
{
    if (e->status & EDU_STATUS_COMPUTING)
        return; /* as documented: ignored while computing (never seen: synchronous) */
    e->status |= EDU_STATUS_COMPUTING;
    e->fact = edu_factorial(n);
    e->status &= ~(uint32_t)EDU_STATUS_COMPUTING;
    if (e->status & EDU_STATUS_IRQFACT)
        edu_irq_raise(e, EDU_IRQ_FACTORIAL);
}

/* ---- DMA (e->lock held) ------------------------------------------------------ */

/* Offset into the buffer of EDU-side [addr, addr + count), or false when the
 * range leaves the buffer (count 0 at the buffer's end is an empty range). */
static bool edu_buf_range(uint64_t addr, uint64_t count, uint64_t *off)
{
    if (addr < EDU_DMA_BUF_BASE || addr - EDU_DMA_BUF_BASE > EDU_DMA_BUF_SIZE)
        return false;
    *off = addr - EDU_DMA_BUF_BASE;
    return count <= EDU_DMA_BUF_SIZE - *off;
}

/* Does all of [iova, iova + len) translate to guest RAM for this access?
 * Returns 0 or the first fragment's error (-EFAULT/-EPERM; the vIOMMU has
 * recorded the fault). */
static int edu_dma_probe(struct dma_space *as, uint64_t iova, uint64_t len, bool write)
{
    while (len) {
        uint64_t mapped = 0;
        int err = 0;

        if (!dma_map(as, iova, len, write, &mapped, &err))
            return err;
        iova += mapped;
        len -= mapped;
    }
    return 0;
}

static int edu_dma_from_ram(struct edu *e, uint64_t iova, uint8_t *dst, uint64_t len)
{
    int rc = dma_read(&e->dma, iova, e->bounce, len);
    if (rc)
        return rc;
    memcpy(dst, e->bounce, len);
    return 0;
}

static int edu_dma_to_ram(struct edu *e, uint64_t iova, const uint8_t *src, uint64_t len)
{
    int rc = edu_dma_probe(&e->dma, iova, len, true);
    if (rc)
        return rc;
    return dma_write(&e->dma, iova, src, len);
}

/* Run the programmed transfer; returns EDU_DMA_ERR_*. */
static uint64_t edu_dma_transfer(struct edu *e)
{
    bool to_ram = e->dma_cmd & EDU_DMA_CMD_TO_RAM;
    uint64_t edu_addr = to_ram ? e->dma_src : e->dma_dst;
    uint64_t ram_addr = to_ram ? e->dma_dst : e->dma_src;
    uint64_t off;

    dma_space_set_rid(&e->dma, pci_requester_id(&e->pci));
    if (!edu_buf_range(edu_addr, e->dma_count, &off)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN,
                        "%s: DMA refused: EDU range 0x%llx+0x%llx outside the buffer",
                        e->pci.name, (unsigned long long)edu_addr,
                        (unsigned long long)e->dma_count);
        return EDU_DMA_ERR_RANGE;
    }
    if (!pci_bus_master(&e->pci)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: DMA refused: bus mastering is off", e->pci.name);
        return EDU_DMA_ERR_NO_MASTER;
    }
    if (e->dma_count == 0)
        return EDU_DMA_ERR_NONE;

    int rc = to_ram ? edu_dma_to_ram(e, ram_addr, e->buf + off, e->dma_count)
                    : edu_dma_from_ram(e, ram_addr, e->buf + off, e->dma_count);
    if (rc) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: DMA %s 0x%llx+0x%llx aborted: %s", e->pci.name,
                        to_ram ? "to" : "from", (unsigned long long)ram_addr,
                        (unsigned long long)e->dma_count, strerror(-rc));
        return EDU_DMA_ERR_FAULT;
    }
    return EDU_DMA_ERR_NONE;
}

static void edu_dma_command(struct edu *e, uint64_t cmd)
{
    e->dma_cmd = cmd & EDU_DMA_CMD_MASK;
    if (!(e->dma_cmd & EDU_DMA_CMD_START))
        return;
    e->dma_error = edu_dma_transfer(e);
    e->dma_cmd &= ~EDU_DMA_CMD_START;
    if (e->dma_cmd & EDU_DMA_CMD_IRQ)
        edu_irq_raise(e, EDU_IRQ_DMA);
}

/* ---- BAR 0 ------------------------------------------------------------------- */

static uint64_t edu_load(const void *data, unsigned size)
{
    if (size == sizeof(uint64_t)) {
        uint64_t v;
        memcpy(&v, data, sizeof(v));
        return le64toh(v);
    }
    uint32_t v;
    memcpy(&v, data, sizeof(v));
    return le32toh(v);
}

static void edu_store(void *data, unsigned size, uint64_t val)
{
    if (size == sizeof(uint64_t)) {
        uint64_t v = htole64(val);
        memcpy(data, &v, sizeof(v));
        return;
    }
    uint32_t v = htole32((uint32_t)val);
    memcpy(data, &v, sizeof(v));
}

/* Registers below EDU_REG_WIDE_BASE take 4-byte accesses only (the bus has
 * already enforced 4 or 8 bytes, naturally aligned). */
static bool edu_access_ok(uint64_t off, unsigned size)
{
    return size == sizeof(uint32_t) || off >= EDU_REG_WIDE_BASE;
}

/* Does a `size`-byte access at `off` fall inside the buffer window? */
static bool edu_in_buf(uint64_t off, unsigned size)
{
    return off >= EDU_DMA_BUF_BASE && off - EDU_DMA_BUF_BASE < EDU_DMA_BUF_SIZE &&
           size <= EDU_DMA_BUF_SIZE - (off - EDU_DMA_BUF_BASE);
}

/* The 64-bit register holding `off` (either half), or NULL. */
static uint64_t *edu_reg64(struct edu *e, uint64_t off)
{
    switch (off & ~(uint64_t)EDU_REG_HI_HALF) {
    case EDU_REG_DMA_SRC:
        return &e->dma_src;
    case EDU_REG_DMA_DST:
        return &e->dma_dst;
    case EDU_REG_DMA_COUNT:
        return &e->dma_count;
    case EDU_REG_DMA_CMD:
        return &e->dma_cmd;
    case EDU_REG_DMA_ERROR:
        return &e->dma_error;
    default:
        return NULL;
    }
}

/* Value of a 4- or 8-byte read of a 64-bit register at `off`. */
static uint64_t edu_read64(uint64_t reg, uint64_t off, unsigned size)
{
    if (size == sizeof(uint64_t))
        return reg;
    return (off & EDU_REG_HI_HALF) ? reg >> EDU_DWORD_BITS : reg & EDU_LO32;
}

/* New value of a 64-bit register after a 4- or 8-byte write at `off`. As in
 * QEMU, a 4-byte write to the low half replaces the whole register; writing
 * the upper half (extension) keeps the low half. */
static uint64_t edu_merge64(uint64_t old, uint64_t off, unsigned size, uint64_t val)
{
    if (size == sizeof(uint64_t))
        return val;
    if (off & EDU_REG_HI_HALF)
        return (old & EDU_LO32) | (val << EDU_DWORD_BITS);
    return val & EDU_LO32;
}

/* Returns false for an offset nothing decodes. */
static bool edu_reg_read(struct edu *e, uint64_t off, unsigned size, uint64_t *val)
{
    uint64_t *r64;

    if (edu_in_buf(off, size)) {
        uint8_t tmp[sizeof(uint64_t)];
        memcpy(tmp, e->buf + (off - EDU_DMA_BUF_BASE), size);
        *val = edu_load(tmp, size);
        return true;
    }
    if ((r64 = edu_reg64(e, off))) {
        *val = edu_read64(*r64, off, size);
        return true;
    }
    switch (off) {
    case EDU_REG_ID:
        *val = EDU_ID_VALUE;
        return true;
    case EDU_REG_LIVENESS:
        *val = e->liveness;
        return true;
    case EDU_REG_FACTORIAL:
        *val = e->fact;
        return true;
    case EDU_REG_STATUS:
        *val = e->status;
        return true;
    case EDU_REG_IRQ_STATUS:
        *val = e->irq_status;
        return true;
    default:
        return false;
    }
}

static void edu_write64(struct edu *e, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t base = off & ~(uint64_t)EDU_REG_HI_HALF;
    uint64_t *r64 = edu_reg64(e, off);

    if (base == EDU_REG_DMA_ERROR)
        return; /* read-only */
    if (base == EDU_REG_DMA_CMD) {
        if (!(off & EDU_REG_HI_HALF))
            edu_dma_command(e, val); /* the command bits live in the low half */
        return;
    }
    *r64 = edu_merge64(*r64, off, size, val);
}

/* Returns false for an offset nothing decodes (or a read-only register). */
static bool edu_reg_write(struct edu *e, uint64_t off, unsigned size, uint64_t val)
{
    if (edu_in_buf(off, size)) {
        edu_store(e->buf + (off - EDU_DMA_BUF_BASE), size, val);
        return true;
    }
    if (edu_reg64(e, off)) {
        edu_write64(e, off, size, val);
        return true;
    }
    switch (off) {
    case EDU_REG_LIVENESS:
        e->liveness = ~(uint32_t)val;
        return true;
    case EDU_REG_FACTORIAL:
        edu_factorial_start(e, (uint32_t)val);
        return true;
    case EDU_REG_STATUS:
        e->status = (e->status & ~(uint32_t)EDU_STATUS_IRQFACT) |
                    ((uint32_t)val & (uint32_t)EDU_STATUS_IRQFACT);
        return true;
    case EDU_REG_IRQ_RAISE:
        edu_irq_raise(e, (uint32_t)val);
        return true;
    case EDU_REG_IRQ_ACK:
        edu_irq_ack(e, (uint32_t)val);
        return true;
    default:
        return false;
    }
}

static void edu_mmio_read(void *opaque, uint64_t off, void *data, unsigned size)
{
    struct edu *e = opaque;
    uint64_t val = UINT64_MAX;
    bool ok = false;

    if (edu_access_ok(off, size)) {
        pthread_mutex_lock(&e->lock);
        ok = edu_reg_read(e, off, size, &val);
        pthread_mutex_unlock(&e->lock);
    }
    if (!ok) {
        val = UINT64_MAX;
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "%s: read of %u bytes at 0x%llx: all-ones",
                        e->pci.name, size, (unsigned long long)off);
    }
    edu_store(data, size, val);
}

static void edu_mmio_write(void *opaque, uint64_t off, const void *data, unsigned size)
{
    struct edu *e = opaque;
    bool ok = false;

    if (edu_access_ok(off, size)) {
        uint64_t val = edu_load(data, size);
        pthread_mutex_lock(&e->lock);
        ok = edu_reg_write(e, off, size, val);
        pthread_mutex_unlock(&e->lock);
    }
    if (!ok)
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "%s: write of %u bytes at 0x%llx dropped",
                        e->pci.name, size, (unsigned long long)off);
}

static const struct bus_ops edu_bar_ops = {
    .read = edu_mmio_read,
    .write = edu_mmio_write,
};

/* ---- PCI function and lifetime ----------------------------------------------- */

static void edu_config_written(struct pci_device *dev, unsigned off, unsigned size)
{
    struct edu *e = dev->opaque;
    pci_msi_config_written(&e->msi, off, size);
}

static const struct pci_device_ops edu_pci_ops = {
    .config_written = edu_config_written,
};

int edu_create(const struct edu_config *cfg, struct edu **out)
{
    if (!cfg || !out)
        return -EINVAL;
    struct edu *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    int rc = dma_space_init(&e->dma, cfg->ram, cfg->nram, 0);
    if (rc)
        goto free_edu;
    rc = -pthread_mutex_init(&e->lock, NULL);
    if (rc)
        goto free_edu;

    pci_device_init(&e->pci, "edu", EDU_PCI_VENDOR_ID, EDU_PCI_DEVICE_ID, EDU_PCI_CLASS_CODE,
                    EDU_PCI_REVISION, false, &edu_pci_ops, e);
    /* QEMU's default subsystem ids for its own devices */
    pci_set_subsystem(&e->pci, PCI_VENDOR_ID_REDHAT_QUMRANET, EDU_PCI_SUBSYSTEM_ID);
    pci_set_intx_pin(&e->pci, EDU_INTX_PIN_A);
    rc = pci_declare_bar(&e->pci, EDU_PCI_BAR, PCI_BAR_MEM32, false, EDU_BAR_SIZE, &edu_bar_ops,
                         e, BUS_SIZE_4 | BUS_SIZE_8, true);
    if (rc)
        goto destroy_lock;
    rc = pci_msi_init(&e->msi, &e->pci, EDU_MSI_VECTORS, true, false, &edu_msi_ops, e);
    if (rc)
        goto destroy_lock;
    *out = e;
    return 0;

destroy_lock:
    pthread_mutex_destroy(&e->lock);
free_edu:
    free(e);
    return rc;
}

struct pci_device *edu_pci_device(struct edu *e)
{
    return &e->pci;
}

struct dma_space *edu_dma(struct edu *e)
{
    return &e->dma;
}

void edu_destroy(struct edu *e)
{
    if (!e)
        return;
    pci_msi_destroy(&e->msi);
    pthread_mutex_destroy(&e->lock);
    free(e);
}
