/* SPDX-License-Identifier: MIT */
/*
 * Private state of the virtio-pci transport, shared by its three files:
 *   virtio_pci.c         lifetime, notifications, interrupts, reset/activation
 *   virtio_pci_common.c  the common configuration register file
 *   virtio_pci_caps.c    PCI capabilities and the VIRTIO_PCI_CAP_PCI_CFG window
 *
 * Locking:
 *   host config lock (pci_host) -> vp->lock -> msix lock. BAR accesses to the
 *   common configuration take vp->lock; the config-space window reaches the
 *   BAR callbacks with the host lock already held.
 *   The I/O thread never takes vp->lock: what it reads of the driver's
 *   programming (vectors, running, needs_reset, isr) is atomic. vCPU code
 *   holding vp->lock may wait for the I/O thread (io_thread_run_sync).
 *   isr_lock keeps the ISR bits and the INTx level in step (taken last).
 *   ioev_lock guards the ioeventfd bindings only (taken in bar_placed, under
 *   the host lock, and in destroy).
 */
#ifndef SLUICE_DEVICES_VIRTIO_VIRTIO_PCI_INTERNAL_H
#define SLUICE_DEVICES_VIRTIO_VIRTIO_PCI_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/io_thread.h"
#include "devices/irq_vector.h"
#include "devices/pci/msix.h"
#include "devices/pci/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/virtqueue.h"
#include "iommu/dma.h"

/* Config vector + one per queue. */
#define VIRTIO_PCI_MAX_VECTORS (VIRTIO_PCI_MAX_QUEUES + 1)

struct virtio_pci_queue_ctx {
    struct virtio_pci *vp;
    unsigned q;
};

struct virtio_pci {
    struct pci_device pci;
    struct virtio_device_desc dev;
    char name[32];
    const struct msi_sink *sink;
    const struct ioevent_sink *ioev;
    uint64_t offered;                  /* device + transport features */

    /* MSI-X: one irq_vector per table entry; touched only in the msix
     * helper's callbacks (under its lock) and at create/destroy. */
    struct pci_msix msix;
    unsigned nvec;
    struct irq_vector vecs[VIRTIO_PCI_MAX_VECTORS];

    /* Capability offsets in config space. */
    unsigned cfg_cap;                  /* VIRTIO_PCI_CAP_PCI_CFG */

    /* Common configuration, guarded by lock (vCPU threads). */
    pthread_mutex_t lock;
    uint32_t dfselect, gfselect;
    uint64_t driver_features;          /* as written, checked at FEATURES_OK */
    uint8_t status;                    /* driver-written bits (NEEDS_RESET lives below) */
    uint16_t queue_select;
    /* Read on the I/O thread without the lock. */
    _Atomic uint16_t msix_config;
    _Atomic uint16_t queue_vector[VIRTIO_PCI_MAX_QUEUES];
    _Atomic uint8_t config_generation;
    pthread_mutex_t isr_lock;          /* isr + INTx level change together */
    uint8_t isr;
    _Atomic uint64_t negotiated;       /* driver_features once FEATURES_OK held, else 0 */
    atomic_bool needs_reset;
    atomic_bool driver_ok;             /* DRIVER_OK written (config interrupts allowed) */
    atomic_bool running;               /* activated, queue_notify allowed */

    /* Queues: configured by vCPU threads (under lock) only while not running. */
    struct dma_space dma;
    struct virtqueue vqs[VIRTIO_PCI_MAX_QUEUES];

    /* Notifications. */
    struct io_thread io;
    bool io_ready;                     /* io_thread_init succeeded */
    int kick_fd[VIRTIO_PCI_MAX_QUEUES];
    struct virtio_pci_queue_ctx qctx[VIRTIO_PCI_MAX_QUEUES];
    pthread_mutex_t ioev_lock;
    bool ioev_bound[VIRTIO_PCI_MAX_QUEUES];
    uint64_t ioev_addr;                /* BAR base the doorbells are bound at */
};

/* virtio_pci_common.c: BAR accesses inside the common configuration. */
void virtio_pci_common_read(struct virtio_pci *vp, uint32_t off, void *data, unsigned size);
void virtio_pci_common_write(struct virtio_pci *vp, uint32_t off, const void *data,
                             unsigned size);
/* Forget the driver's programming (status write 0). Caller holds vp->lock. */
void virtio_pci_common_reset(struct virtio_pci *vp);

/* virtio_pci.c: called by the common configuration with vp->lock held. */
void virtio_pci_do_reset(struct virtio_pci *vp);
void virtio_pci_do_driver_ok(struct virtio_pci *vp);
/* BAR 4 accesses (also used by the config-space window). */
void virtio_pci_bar_read(void *opaque, uint64_t off, void *data, unsigned size);
void virtio_pci_bar_write(void *opaque, uint64_t off, const void *data, unsigned size);

/* virtio_pci_caps.c: build the function's capabilities (create time).
 * Returns 0 or -errno. */
int virtio_pci_add_caps(struct virtio_pci *vp) __attribute__((warn_unused_result));
/* Config-space hooks for the VIRTIO_PCI_CAP_PCI_CFG window. */
void virtio_pci_cfg_window_read(struct virtio_pci *vp, unsigned off, unsigned size);
void virtio_pci_cfg_window_written(struct virtio_pci *vp, unsigned off, unsigned size);

#endif
