/* SPDX-License-Identifier: MIT */
/*
 * Virtio 1.x PCI transport: lifetime, BAR 4 dispatch, doorbells (ioeventfd or
 * the bus callback), the I/O thread's queue handlers, MSI-X/INTx interrupts,
 * device reset and activation. The common configuration registers live in
 * virtio_pci_common.c, the capabilities in virtio_pci_caps.c.
 */
#define LOG_MODULE "virtio-pci"
#include "devices/virtio/virtio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/virtio_pci_internal.h"
#include "devices/virtio/virtio_pci_regs.h"
#include "vmm/log.h"

/* Width of a doorbell write (the 16-bit queue index, 4.1.5.2). */
#define VIRTIO_PCI_NOTIFY_WIDTH 2u

/* ---- interrupts ------------------------------------------------------------ */

static void raise_isr(struct virtio_pci *vp, uint8_t bit)
{
    pthread_mutex_lock(&vp->isr_lock);
    vp->isr |= bit;
    pci_set_intx(&vp->pci, true);
    pthread_mutex_unlock(&vp->isr_lock);
}

/* Read-and-clear (4.1.4.5): also deasserts INTx. */
static uint8_t ack_isr(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->isr_lock);
    uint8_t v = vp->isr;
    vp->isr = 0;
    pci_set_intx(&vp->pci, false);
    pthread_mutex_unlock(&vp->isr_lock);
    return v;
}

static void raise_vector_or_isr(struct virtio_pci *vp, uint16_t vec, uint8_t isr_bit)
{
    if (!pci_msix_enabled(&vp->msix)) {
        raise_isr(vp, isr_bit);
        return;
    }
    if (vec != VIRTIO_MSI_NO_VECTOR)
        pci_msix_notify(&vp->msix, vec);
}

/* Like QEMU, no config interrupt before DRIVER_OK (the driver reads the
 * config and the status when it gets there). */
static void raise_config(struct virtio_pci *vp)
{
    if (!atomic_load(&vp->driver_ok))
        return;
    raise_vector_or_isr(vp, atomic_load(&vp->msix_config), VIRTIO_PCI_ISR_CONFIG);
}

void virtio_pci_queue_interrupt(struct virtio_pci *vp, unsigned q)
{
    if (q >= vp->dev.nqueues || !virtqueue_should_notify(&vp->vqs[q]))
        return;
    raise_vector_or_isr(vp, atomic_load(&vp->queue_vector[q]), VIRTIO_PCI_ISR_QUEUE);
}

void virtio_pci_config_interrupt(struct virtio_pci *vp)
{
    atomic_fetch_add(&vp->config_generation, 1);
    raise_config(vp);
}

void virtio_pci_device_error(struct virtio_pci *vp, const char *why)
{
    LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: device error: %s (needs reset)", vp->name, why);
    atomic_store(&vp->running, false);
    if (!atomic_exchange(&vp->needs_reset, true))
        raise_config(vp);
}

/* MSI-X helper callbacks (its lock held): one irq_vector per table entry,
 * re-created when the guest has renumbered the function's bus. */
static void msix_vector_update(void *opaque, unsigned vec, bool deliverable, uint64_t addr,
                               uint32_t data)
{
    struct virtio_pci *vp = opaque;
    if (vec >= vp->nvec)
        return;
    struct irq_vector *v = &vp->vecs[vec];
    uint16_t rid = pci_requester_id(&vp->pci);
    if (!v->ready || v->source_id != rid) {
        irq_vector_destroy(v);
        int rc = irq_vector_init(v, vp->sink, rid);
        if (rc) {
            LOG_RATELIMITED(LOG_LEVEL_ERROR, "%s: MSI-X vector %u: no interrupt route: %s",
                            vp->name, vec, strerror(-rc));
            return;
        }
    }
    (void)irq_vector_route(v, deliverable, addr, data); /* failures logged there */
}

static void msix_fire(void *opaque, unsigned vec)
{
    struct virtio_pci *vp = opaque;
    if (vec < vp->nvec)
        irq_vector_fire(&vp->vecs[vec]);
}

static const struct pci_msix_ops virtio_pci_msix_ops = {
    .vector_update = msix_vector_update,
    .fire = msix_fire,
};

/* ---- queues, reset and activation --------------------------------------- */

static void queues_reset(struct virtio_pci *vp)
{
    for (unsigned q = 0; q < vp->dev.nqueues; q++) {
        virtqueue_init(&vp->vqs[q], &vp->dma);
        vp->vqs[q].size = vp->dev.queue_max_size;
    }
}

static void reset_on_thread(void *opaque)
{
    struct virtio_pci *vp = opaque;
    vp->dev.ops->reset(vp->dev.opaque);
    queues_reset(vp);
}

void virtio_pci_do_reset(struct virtio_pci *vp)
{
    atomic_store(&vp->running, false);
    atomic_store(&vp->driver_ok, false);
    io_thread_run_sync(&vp->io, reset_on_thread, vp);
    virtio_pci_common_reset(vp);
    atomic_store(&vp->negotiated, 0);
    atomic_store(&vp->needs_reset, false);
    (void)ack_isr(vp);
}

static int start_queues(struct virtio_pci *vp)
{
    bool event_idx = atomic_load(&vp->negotiated) & (1ULL << VIRTIO_RING_F_EVENT_IDX);
    for (unsigned q = 0; q < vp->dev.nqueues; q++) {
        struct virtqueue *vq = &vp->vqs[q];
        if (vq->ready && virtqueue_start(vq, event_idx)) {
            LOG_RATELIMITED(LOG_LEVEL_WARN,
                            "%s: queue %u: bad configuration (size %u desc 0x%llx avail 0x%llx "
                            "used 0x%llx)",
                            vp->name, q, vq->size, (unsigned long long)vq->desc_addr,
                            (unsigned long long)vq->avail_addr,
                            (unsigned long long)vq->used_addr);
            return -EINVAL;
        }
    }
    return 0;
}

static void activate_on_thread(void *opaque)
{
    struct virtio_pci *vp = opaque;
    if (start_queues(vp)) {
        virtio_pci_device_error(vp, "invalid queue configuration");
        return;
    }
    int rc = vp->dev.ops->activate(vp->dev.opaque);
    if (rc) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: activation failed: %s", vp->name, strerror(-rc));
        virtio_pci_device_error(vp, "activation failed");
        return;
    }
    atomic_store(&vp->running, true);
    /* Buffers the driver made available (and kicked) before DRIVER_OK. */
    for (unsigned q = 0; q < vp->dev.nqueues; q++) {
        if (vp->vqs[q].ready && atomic_load(&vp->running))
            vp->dev.ops->queue_notify(vp->dev.opaque, q);
    }
}

void virtio_pci_do_driver_ok(struct virtio_pci *vp)
{
    if (!(vp->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        virtio_pci_device_error(vp, "DRIVER_OK without FEATURES_OK");
        return;
    }
    if (!pci_bus_master(&vp->pci)) {
        virtio_pci_device_error(vp, "bus mastering disabled");
        return;
    }
    dma_space_set_rid(&vp->dma, pci_requester_id(&vp->pci));
    io_thread_run_sync(&vp->io, activate_on_thread, vp);
}

/* I/O thread: a doorbell for queue ctx->q. */
static void kick_handler(void *opaque, uint32_t events)
{
    struct virtio_pci_queue_ctx *ctx = opaque;
    struct virtio_pci *vp = ctx->vp;
    eventfd_t cnt;
    (void)events;
    if (eventfd_read(vp->kick_fd[ctx->q], &cnt) < 0)
        return; /* EAGAIN: already consumed */
    if (atomic_load(&vp->running) && !atomic_load(&vp->needs_reset))
        vp->dev.ops->queue_notify(vp->dev.opaque, ctx->q);
}

/* ---- BAR 4 ------------------------------------------------------------------ */

static bool in_region(uint64_t off, uint32_t base, uint32_t len)
{
    return off >= base && off - base < len;
}

static void device_cfg_access(struct virtio_pci *vp, uint32_t off, void *rdata,
                              const void *wdata, unsigned size)
{
    bool ok = (size == 1 || size == 2 || size == 4) && off + size <= vp->dev.config_size;
    if (!ok) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: bad device config %s at 0x%x size %u", vp->name,
                        rdata ? "read" : "write", off, size);
        if (rdata)
            memset(rdata, 0xff, size);
        return;
    }
    if (rdata) {
        memset(rdata, 0, size);
        if (vp->dev.ops->config_read)
            vp->dev.ops->config_read(vp->dev.opaque, off, rdata, size);
    } else if (vp->dev.ops->config_write) {
        vp->dev.ops->config_write(vp->dev.opaque, off, wdata, size);
    }
}

static void doorbell(struct virtio_pci *vp, uint32_t off, unsigned size)
{
    unsigned q = off / VIRTIO_PCI_NOTIFY_MULTIPLIER;
    if (off % VIRTIO_PCI_NOTIFY_MULTIPLIER || q >= vp->dev.nqueues ||
        (size != VIRTIO_PCI_NOTIFY_WIDTH && size != sizeof(uint32_t))) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: bad doorbell write at 0x%x size %u", vp->name, off,
                        size);
        return;
    }
    if (eventfd_write(vp->kick_fd[q], 1) < 0)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: queue %u doorbell: %s", vp->name, q,
                        strerror(errno));
}

void virtio_pci_bar_read(void *opaque, uint64_t off, void *data, unsigned size)
{
    struct virtio_pci *vp = opaque;
    if (pci_msix_bar_read(&vp->msix, off, data, size))
        return;
    if (in_region(off, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_REGION_SIZE)) {
        virtio_pci_common_read(vp, (uint32_t)(off - VIRTIO_PCI_COMMON_OFF), data, size);
    } else if (in_region(off, VIRTIO_PCI_ISR_OFF, VIRTIO_PCI_REGION_SIZE)) {
        memset(data, 0, size);
        if (off == VIRTIO_PCI_ISR_OFF)
            *(uint8_t *)data = ack_isr(vp);
    } else if (in_region(off, VIRTIO_PCI_DEVICE_OFF, VIRTIO_PCI_REGION_SIZE)) {
        device_cfg_access(vp, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF), data, NULL, size);
    } else if (in_region(off, VIRTIO_PCI_NOTIFY_OFF, VIRTIO_PCI_REGION_SIZE)) {
        memset(data, 0, size); /* doorbells are write-only */
    } else {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: read of unused BAR offset 0x%llx", vp->name,
                        (unsigned long long)off);
        memset(data, 0xff, size);
    }
}

void virtio_pci_bar_write(void *opaque, uint64_t off, const void *data, unsigned size)
{
    struct virtio_pci *vp = opaque;
    if (pci_msix_bar_write(&vp->msix, off, data, size))
        return;
    if (in_region(off, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_REGION_SIZE))
        virtio_pci_common_write(vp, (uint32_t)(off - VIRTIO_PCI_COMMON_OFF), data, size);
    else if (in_region(off, VIRTIO_PCI_DEVICE_OFF, VIRTIO_PCI_REGION_SIZE))
        device_cfg_access(vp, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF), NULL, data, size);
    else if (in_region(off, VIRTIO_PCI_NOTIFY_OFF, VIRTIO_PCI_REGION_SIZE))
        doorbell(vp, (uint32_t)(off - VIRTIO_PCI_NOTIFY_OFF), size);
    else
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: write to read-only/unused BAR offset 0x%llx",
                        vp->name, (unsigned long long)off);
}

static const struct bus_ops virtio_pci_bar_ops = {
    .read = virtio_pci_bar_read,
    .write = virtio_pci_bar_write,
};

/* ---- ioeventfd binding ------------------------------------------------------- */

static uint64_t doorbell_addr(uint64_t bar_base, unsigned q)
{
    return bar_base + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULTIPLIER;
}

/* Caller holds ioev_lock. */
static void ioev_unbind_all(struct virtio_pci *vp)
{
    for (unsigned q = 0; q < vp->dev.nqueues; q++) {
        if (!vp->ioev_bound[q])
            continue;
        int rc = vp->ioev->set(vp->ioev->opaque, false, doorbell_addr(vp->ioev_addr, q),
                               VIRTIO_PCI_NOTIFY_WIDTH, vp->kick_fd[q], false);
        if (rc)
            LOG_WARN("%s: queue %u: unbinding ioeventfd: %s", vp->name, q, strerror(-rc));
        vp->ioev_bound[q] = false;
    }
}

/* Caller holds ioev_lock. A doorbell that cannot be bound keeps working
 * through the bus callback. */
static void ioev_bind_all(struct virtio_pci *vp, uint64_t base)
{
    vp->ioev_addr = base;
    if (!vp->ioev || !vp->ioev->set)
        return;
    for (unsigned q = 0; q < vp->dev.nqueues; q++) {
        int rc = vp->ioev->set(vp->ioev->opaque, false, doorbell_addr(base, q),
                               VIRTIO_PCI_NOTIFY_WIDTH, vp->kick_fd[q], true);
        vp->ioev_bound[q] = rc == 0;
        if (rc)
            LOG_WARN("%s: queue %u: ioeventfd unavailable (%s), doorbell exits to sluice",
                     vp->name, q, strerror(-rc));
    }
}

/* ---- PCI function hooks ------------------------------------------------------ */

static void vp_config_written(struct pci_device *dev, unsigned off, unsigned size)
{
    struct virtio_pci *vp = dev->opaque;
    pci_msix_config_written(&vp->msix, off, size);
    virtio_pci_cfg_window_written(vp, off, size);
}

static bool vp_config_read(struct pci_device *dev, unsigned off, void *data, unsigned size)
{
    (void)data;
    virtio_pci_cfg_window_read(dev->opaque, off, size);
    return false; /* the shadow (window data refreshed above) answers */
}

static void vp_bar_placed(struct pci_device *dev, unsigned bar, bool mapped, uint64_t addr)
{
    struct virtio_pci *vp = dev->opaque;
    if (bar != VIRTIO_PCI_BAR)
        return;
    pthread_mutex_lock(&vp->ioev_lock);
    ioev_unbind_all(vp);
    if (mapped)
        ioev_bind_all(vp, addr);
    pthread_mutex_unlock(&vp->ioev_lock);
}

static const struct pci_device_ops virtio_pci_dev_ops = {
    .config_written = vp_config_written,
    .config_read = vp_config_read,
    .bar_placed = vp_bar_placed,
};

/* ---- lifetime ------------------------------------------------------------------ */

static bool is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

static int check_config(const struct virtio_pci_config *cfg)
{
    const struct virtio_device_desc *d = &cfg->dev;
    if (!cfg->sink || !d->ops || !d->ops->activate || !d->ops->queue_notify ||
        !d->ops->reset)
        return -EINVAL;
    if (d->nqueues < 1 || d->nqueues > VIRTIO_PCI_MAX_QUEUES ||
        !is_pow2(d->queue_max_size) || d->queue_max_size > VIRTQUEUE_MAX_SIZE ||
        d->config_size > VIRTIO_PCI_REGION_SIZE || cfg->nram > DMA_MAX_RAM_REGIONS)
        return -EINVAL;
    return 0;
}

static uint64_t offered_features(const struct virtio_pci_config *cfg)
{
    uint64_t f = cfg->dev.features | (1ULL << VIRTIO_F_VERSION_1) |
                 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    if (cfg->behind_iommu)
        f |= 1ULL << VIRTIO_F_ACCESS_PLATFORM;
    return f;
}

static void init_function(struct virtio_pci *vp)
{
    struct pci_device *d = &vp->pci;
    uint16_t id = vp->dev.device_id;
    pci_device_init(d, vp->name, PCI_VENDOR_ID_REDHAT_QUMRANET,
                    (uint16_t)(VIRTIO_PCI_DEVICE_ID_MODERN_BASE + id), vp->dev.class_code,
                    VIRTIO_PCI_REVISION_MODERN, true, &virtio_pci_dev_ops, vp);
    pci_set_subsystem(d, PCI_VENDOR_ID_REDHAT_QUMRANET, id);
    pci_set_intx_pin(d, VIRTIO_PCI_INTX_PIN_A);
}

static int init_vectors(struct virtio_pci *vp)
{
    uint16_t rid = pci_requester_id(&vp->pci);
    for (unsigned i = 0; i < vp->nvec; i++) {
        int rc = irq_vector_init(&vp->vecs[i], vp->sink, rid);
        if (rc) {
            while (i--)
                irq_vector_destroy(&vp->vecs[i]);
            return rc;
        }
    }
    return 0;
}

static void destroy_vectors(struct virtio_pci *vp)
{
    for (unsigned i = 0; i < vp->nvec; i++)
        irq_vector_destroy(&vp->vecs[i]);
}

static void close_kick_fds(struct virtio_pci *vp)
{
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
        if (vp->kick_fd[q] >= 0)
            close(vp->kick_fd[q]);
        vp->kick_fd[q] = -1;
    }
}

static int init_kicks(struct virtio_pci *vp)
{
    for (unsigned q = 0; q < vp->dev.nqueues; q++) {
        vp->kick_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (vp->kick_fd[q] < 0)
            return -errno;
        vp->qctx[q] = (struct virtio_pci_queue_ctx){.vp = vp, .q = q};
        int rc = io_thread_add(&vp->io, vp->kick_fd[q], EPOLLIN, kick_handler, &vp->qctx[q]);
        if (rc)
            return rc;
    }
    return 0;
}

static int init_locks(struct virtio_pci *vp)
{
    int rc = -pthread_mutex_init(&vp->lock, NULL);
    if (rc)
        return rc;
    rc = -pthread_mutex_init(&vp->isr_lock, NULL);
    if (rc)
        goto destroy_lock;
    rc = -pthread_mutex_init(&vp->ioev_lock, NULL);
    if (rc)
        goto destroy_isr_lock;
    return 0;

destroy_isr_lock:
    pthread_mutex_destroy(&vp->isr_lock);
destroy_lock:
    pthread_mutex_destroy(&vp->lock);
    return rc;
}

static void destroy_locks(struct virtio_pci *vp)
{
    pthread_mutex_destroy(&vp->ioev_lock);
    pthread_mutex_destroy(&vp->isr_lock);
    pthread_mutex_destroy(&vp->lock);
}

int virtio_pci_create(const struct virtio_pci_config *cfg, struct virtio_pci **out)
{
    if (!cfg || !out)
        return -EINVAL;
    int rc = check_config(cfg);
    if (rc)
        return rc;
    struct virtio_pci *vp = calloc(1, sizeof(*vp));
    if (!vp)
        return -ENOMEM;
    vp->dev = cfg->dev;
    snprintf(vp->name, sizeof(vp->name), "%s", cfg->dev.name ? cfg->dev.name : "virtio");
    vp->sink = cfg->sink;
    vp->ioev = cfg->ioev;
    vp->offered = offered_features(cfg);
    vp->nvec = cfg->dev.nqueues + 1;
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
        vp->kick_fd[q] = -1;
    rc = init_locks(vp);
    if (rc)
        goto free_vp;

    init_function(vp);
    rc = pci_declare_bar(&vp->pci, VIRTIO_PCI_BAR, PCI_BAR_MEM64, true, VIRTIO_PCI_BAR_SIZE,
                         &virtio_pci_bar_ops, vp, BUS_SIZE_ANY, true);
    if (rc)
        goto destroy_locks;
    rc = virtio_pci_add_caps(vp);
    if (rc)
        goto destroy_locks;
    rc = pci_msix_init(&vp->msix, &vp->pci, vp->nvec, VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_TABLE_OFF,
                       VIRTIO_PCI_MSIX_PBA_OFF, &virtio_pci_msix_ops, vp);
    if (rc)
        goto destroy_locks;
    rc = init_vectors(vp);
    if (rc)
        goto destroy_msix;
    rc = dma_space_init(&vp->dma, cfg->ram, cfg->nram, pci_requester_id(&vp->pci));
    if (rc)
        goto destroy_vectors;
    queues_reset(vp);
    virtio_pci_common_reset(vp);

    rc = io_thread_init(&vp->io, vp->name);
    if (rc)
        goto destroy_vectors;
    rc = init_kicks(vp);
    if (rc)
        goto destroy_io_thread;
    *out = vp;
    return 0;

destroy_io_thread:
    io_thread_destroy(&vp->io);
    close_kick_fds(vp);
destroy_vectors:
    destroy_vectors(vp);
destroy_msix:
    pci_msix_destroy(&vp->msix);
destroy_locks:
    destroy_locks(vp);
free_vp:
    free(vp);
    return rc;
}

int virtio_pci_start(struct virtio_pci *vp)
{
    return io_thread_start(&vp->io);
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
    if (!vp)
        return;
    io_thread_stop(&vp->io);
    pthread_mutex_lock(&vp->ioev_lock);
    ioev_unbind_all(vp);
    pthread_mutex_unlock(&vp->ioev_lock);
    io_thread_destroy(&vp->io);
    close_kick_fds(vp);
    destroy_vectors(vp);
    pci_msix_destroy(&vp->msix);
    destroy_locks(vp);
    free(vp);
}

/* ---- accessors ------------------------------------------------------------------ */

struct pci_device *virtio_pci_pci_device(struct virtio_pci *vp)
{
    return &vp->pci;
}

struct dma_space *virtio_pci_dma(struct virtio_pci *vp)
{
    return &vp->dma;
}

struct io_thread *virtio_pci_io_thread(struct virtio_pci *vp)
{
    return &vp->io;
}

struct virtqueue *virtio_pci_queue(struct virtio_pci *vp, unsigned q)
{
    return q < vp->dev.nqueues ? &vp->vqs[q] : NULL;
}

uint64_t virtio_pci_driver_features(struct virtio_pci *vp)
{
    return atomic_load(&vp->negotiated);
}
