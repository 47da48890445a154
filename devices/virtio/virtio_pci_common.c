/* SPDX-License-Identifier: MIT */
/*
 * The common configuration structure (virtio 1.2, 4.1.4.3): one table row per
 * field with its natural width and its read/write handlers. An access that
 * does not hit a field start with the field's width reads all-ones / is
 * dropped, with a rate-limited log line (4.1.3.1: drivers use natural widths,
 * 64-bit fields as two 32-bit halves).
 */
#define LOG_MODULE "virtio-pci"
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "devices/virtio/virtio_pci_internal.h"
#include "devices/virtio/virtio_pci_regs.h"
#include "vmm/log.h"

#define FEATURE_WORDS 2u
#define FEATURE_WORD_BITS 32u

struct common_field {
    uint16_t off;
    uint8_t width;
    uint32_t (*read)(struct virtio_pci *vp, unsigned off);
    void (*write)(struct virtio_pci *vp, unsigned off, uint32_t val); /* NULL: read-only */
};

/* The selected queue, or NULL when queue_select is out of range. */
static struct virtqueue *selected_vq(struct virtio_pci *vp)
{
    return vp->queue_select < vp->dev.nqueues ? &vp->vqs[vp->queue_select] : NULL;
}

/* Queue registers are writable until the queue is enabled or the device runs. */
static struct virtqueue *configurable_vq(struct virtio_pci *vp, const char *what)
{
    struct virtqueue *vq = selected_vq(vp);
    if (!vq || vq->ready || (vp->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: %s write to queue %u ignored (%s)", vp->name,
                        what, vp->queue_select,
                        !vq ? "no such queue" : "queue enabled or device running");
        return NULL;
    }
    return vq;
}

static uint16_t valid_vector(const struct virtio_pci *vp, uint32_t val)
{
    return val < vp->nvec ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
}

/* ---- device-wide fields ---- */

static uint32_t rd_dfselect(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    return vp->dfselect;
}

static void wr_dfselect(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    (void)off;
    vp->dfselect = val;
}

static uint32_t rd_df(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    if (vp->dfselect >= FEATURE_WORDS)
        return 0;
    return (uint32_t)(vp->offered >> (FEATURE_WORD_BITS * vp->dfselect));
}

static uint32_t rd_gfselect(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    return vp->gfselect;
}

static void wr_gfselect(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    (void)off;
    vp->gfselect = val;
}

static uint32_t rd_gf(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    if (vp->gfselect >= FEATURE_WORDS)
        return 0;
    return (uint32_t)(vp->driver_features >> (FEATURE_WORD_BITS * vp->gfselect));
}

static void wr_gf(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    (void)off;
    if (vp->status & VIRTIO_CONFIG_S_FEATURES_OK) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: driver_feature write after FEATURES_OK ignored",
                        vp->name);
        return;
    }
    if (vp->gfselect >= FEATURE_WORDS)
        return;
    unsigned shift = FEATURE_WORD_BITS * vp->gfselect;
    vp->driver_features &= ~((uint64_t)UINT32_MAX << shift);
    vp->driver_features |= (uint64_t)val << shift;
}

static uint32_t rd_msix_config(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    return atomic_load(&vp->msix_config);
}

static void wr_msix_config(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    (void)off;
    atomic_store(&vp->msix_config, valid_vector(vp, val));
}

static uint32_t rd_num_queues(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    return vp->dev.nqueues;
}

static uint32_t rd_status(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    return vp->status | (atomic_load(&vp->needs_reset) ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
}

/* FEATURES_OK (3.1.1 step 5): only a subset of what was offered, VERSION_1 included. */
static bool features_acceptable(const struct virtio_pci *vp)
{
    if (!(vp->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: FEATURES_OK refused: VERSION_1 not accepted",
                        vp->name);
        return false;
    }
    if (vp->driver_features & ~vp->offered) {
        LOG_RATELIMITED(LOG_LEVEL_WARN,
                        "%s: FEATURES_OK refused: features 0x%llx were not offered", vp->name,
                        (unsigned long long)(vp->driver_features & ~vp->offered));
        return false;
    }
    return true;
}

static void wr_status(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    (void)off;
    uint8_t old = vp->status;
    uint8_t set = (uint8_t)val & ~VIRTIO_CONFIG_S_NEEDS_RESET; /* device-owned bit */
    if (set == 0) {
        virtio_pci_do_reset(vp);
        return;
    }
    if ((set & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !features_acceptable(vp))
        set &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    if ((set & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK))
        atomic_store(&vp->negotiated, vp->driver_features);
    /* Bits only come and go through reset (the driver never clears one). */
    vp->status = old | set;
    if ((set & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
        atomic_store(&vp->driver_ok, true);
        virtio_pci_do_driver_ok(vp);
    }
}

static uint32_t rd_generation(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    return atomic_load(&vp->config_generation);
}

/* ---- queue fields (of the queue selected by queue_select) ---- */

static uint32_t rd_qselect(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    return vp->queue_select;
}

static void wr_qselect(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    (void)off;
    vp->queue_select = (uint16_t)val;
}

static uint32_t rd_qsize(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    struct virtqueue *vq = selected_vq(vp);
    return vq ? vq->size : 0; /* 0: queue not available (4.1.4.3.2) */
}

static void wr_qsize(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    (void)off;
    struct virtqueue *vq = configurable_vq(vp, "queue_size");
    if (!vq)
        return;
    if (val == 0 || (val & (val - 1)) || val > vp->dev.queue_max_size) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: queue %u: bad size %u (max %u) ignored", vp->name,
                        vp->queue_select, val, vp->dev.queue_max_size);
        return;
    }
    vq->size = (uint16_t)val;
}

static uint32_t rd_qvector(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    return selected_vq(vp) ? atomic_load(&vp->queue_vector[vp->queue_select])
                           : VIRTIO_MSI_NO_VECTOR;
}

static void wr_qvector(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    (void)off;
    if (selected_vq(vp))
        atomic_store(&vp->queue_vector[vp->queue_select], valid_vector(vp, val));
}

static uint32_t rd_qenable(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    struct virtqueue *vq = selected_vq(vp);
    return vq && vq->ready;
}

static void wr_qenable(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    (void)off;
    if (val != 1) /* 0 would need VIRTIO_F_RING_RESET, which is not offered */
        return;
    struct virtqueue *vq = configurable_vq(vp, "queue_enable");
    if (vq)
        vq->ready = true;
}

static uint32_t rd_qnotify_off(struct virtio_pci *vp, unsigned off)
{
    (void)off;
    return selected_vq(vp) ? vp->queue_select : 0;
}

/* The 64-bit address registers, each as lo/hi dwords: the hi dword sits 4
 * bytes above the lo one. */
static unsigned queue_addr_shift(unsigned off)
{
    return (off & 4u) ? FEATURE_WORD_BITS : 0;
}

static uint64_t *queue_addr(struct virtqueue *vq, unsigned off)
{
    switch (off & ~4u) {
    case VIRTIO_PCI_COMMON_Q_DESCLO:
        return &vq->desc_addr;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
        return &vq->avail_addr;
    default:
        return &vq->used_addr;
    }
}

static uint32_t rd_qaddr(struct virtio_pci *vp, unsigned off)
{
    struct virtqueue *vq = selected_vq(vp);
    if (!vq)
        return 0;
    return (uint32_t)(*queue_addr(vq, off) >> queue_addr_shift(off));
}

static void wr_qaddr(struct virtio_pci *vp, unsigned off, uint32_t val)
{
    struct virtqueue *vq = configurable_vq(vp, "queue address");
    if (!vq)
        return;
    uint64_t *addr = queue_addr(vq, off);
    unsigned shift = queue_addr_shift(off);
    *addr = (*addr & ~((uint64_t)UINT32_MAX << shift)) | ((uint64_t)val << shift);
}

static uint32_t rd_zero(struct virtio_pci *vp, unsigned off)
{
    (void)vp;
    (void)off;
    return 0;
}

static const struct common_field common_fields[] = {
    {VIRTIO_PCI_COMMON_DFSELECT, 4, rd_dfselect, wr_dfselect},
    {VIRTIO_PCI_COMMON_DF, 4, rd_df, NULL},
    {VIRTIO_PCI_COMMON_GFSELECT, 4, rd_gfselect, wr_gfselect},
    {VIRTIO_PCI_COMMON_GF, 4, rd_gf, wr_gf},
    {VIRTIO_PCI_COMMON_MSIX, 2, rd_msix_config, wr_msix_config},
    {VIRTIO_PCI_COMMON_NUMQ, 2, rd_num_queues, NULL},
    {VIRTIO_PCI_COMMON_STATUS, 1, rd_status, wr_status},
    {VIRTIO_PCI_COMMON_CFGGENERATION, 1, rd_generation, NULL},
    {VIRTIO_PCI_COMMON_Q_SELECT, 2, rd_qselect, wr_qselect},
    {VIRTIO_PCI_COMMON_Q_SIZE, 2, rd_qsize, wr_qsize},
    {VIRTIO_PCI_COMMON_Q_MSIX, 2, rd_qvector, wr_qvector},
    {VIRTIO_PCI_COMMON_Q_ENABLE, 2, rd_qenable, wr_qenable},
    {VIRTIO_PCI_COMMON_Q_NOFF, 2, rd_qnotify_off, NULL},
    {VIRTIO_PCI_COMMON_Q_DESCLO, 4, rd_qaddr, wr_qaddr},
    {VIRTIO_PCI_COMMON_Q_DESCHI, 4, rd_qaddr, wr_qaddr},
    {VIRTIO_PCI_COMMON_Q_AVAILLO, 4, rd_qaddr, wr_qaddr},
    {VIRTIO_PCI_COMMON_Q_AVAILHI, 4, rd_qaddr, wr_qaddr},
    {VIRTIO_PCI_COMMON_Q_USEDLO, 4, rd_qaddr, wr_qaddr},
    {VIRTIO_PCI_COMMON_Q_USEDHI, 4, rd_qaddr, wr_qaddr},
    /* Without NOTIFICATION_DATA / RING_RESET these read 0 and ignore writes. */
    {VIRTIO_PCI_COMMON_Q_NDATA, 2, rd_zero, NULL},
    {VIRTIO_PCI_COMMON_Q_RESET, 2, rd_zero, NULL},
};

static const struct common_field *find_field(struct virtio_pci *vp, uint32_t off,
                                             unsigned size, const char *dir)
{
    for (size_t i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++) {
        if (common_fields[i].off == off && common_fields[i].width == size)
            return &common_fields[i];
    }
    LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: bad common config %s at 0x%x size %u", vp->name, dir,
                    off, size);
    return NULL;
}

void virtio_pci_common_read(struct virtio_pci *vp, uint32_t off, void *data, unsigned size)
{
    const struct common_field *f = find_field(vp, off, size, "read");
    uint32_t val = UINT32_MAX;
    if (f) {
        pthread_mutex_lock(&vp->lock);
        val = f->read(vp, off);
        pthread_mutex_unlock(&vp->lock);
    }
    memset(data, 0xff, size);
    memcpy(data, &val, size < sizeof(val) ? size : sizeof(val)); /* x86: little-endian */
}

void virtio_pci_common_write(struct virtio_pci *vp, uint32_t off, const void *data,
                             unsigned size)
{
    const struct common_field *f = find_field(vp, off, size, "write");
    uint32_t val = 0;
    if (!f)
        return;
    if (!f->write) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: write to read-only common config 0x%x dropped",
                        vp->name, off);
        return;
    }
    memcpy(&val, data, size);
    pthread_mutex_lock(&vp->lock);
    f->write(vp, off, val);
    pthread_mutex_unlock(&vp->lock);
}

void virtio_pci_common_reset(struct virtio_pci *vp)
{
    vp->dfselect = 0;
    vp->gfselect = 0;
    vp->driver_features = 0;
    vp->status = 0;
    vp->queue_select = 0;
    atomic_store(&vp->msix_config, VIRTIO_MSI_NO_VECTOR);
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
        atomic_store(&vp->queue_vector[q], VIRTIO_MSI_NO_VECTOR);
}
