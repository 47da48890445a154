/* SPDX-License-Identifier: MIT */
/*
 * Virtio 1.x over PCI, modern transport only (virtio spec 4.1): common,
 * notify, ISR and device-config structures in one 64-bit prefetchable memory
 * BAR (BAR 4, as QEMU does), MSI-X (one vector per queue plus config, table
 * and PBA in BAR 4 too), INTx as the fallback when MSI-X is off. The function
 * is a PCIe endpoint (1af4:1040+id, revision 1); the BAR layout is in
 * virtio_pci_regs.h. The config-space window (VIRTIO_PCI_CAP_PCI_CFG) reaches
 * BAR 4 as well.
 *
 * Queue notifications arrive through ioeventfd (bound when BAR 4 is placed,
 * rebound when the guest moves it); a doorbell write that reaches the bus
 * callback (no ioeventfd support) signals the same eventfd. Each device has
 * one I/O thread that waits on the queue eventfds and on any fd the device
 * adds (io_uring completions, tap); all device work runs there. Interrupts
 * leave through irq_vector (irqfd) with the function's requester id.
 *
 * Feature bits offered: the device's own, plus VERSION_1, RING_EVENT_IDX,
 * RING_INDIRECT_DESC, and ACCESS_PLATFORM when `behind_iommu`.
 *
 * Order: virtio_pci_create (builds the PCI function) -> pci_host_attach of
 * virtio_pci_pci_device() -> virtio_pci_start (starts the I/O thread, before
 * the guest runs) -> ... -> virtio_pci_destroy (after vCPUs stopped: joins the
 * thread, frees everything).
 */
#ifndef SLUICE_DEVICES_VIRTIO_VIRTIO_PCI_H
#define SLUICE_DEVICES_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/io_thread.h"
#include "devices/ioevent.h"
#include "devices/irq.h"
#include "devices/pci/pci.h"
#include "devices/virtio/virtqueue.h"
#include "iommu/dma.h"

#define VIRTIO_PCI_MAX_QUEUES 16

struct virtio_pci;

/* What a virtio device (blk, net, rng) provides to the transport. All
 * callbacks except config_read/config_write run on the device's I/O thread. */
struct virtio_device_ops {
    /* Device-specific configuration (offsets inside it); vCPU thread. */
    void (*config_read)(void *opaque, uint32_t off, void *data, unsigned size);
    void (*config_write)(void *opaque, uint32_t off, const void *data, unsigned size);
    /* DRIVER_OK was set: features are final, queues are started.
     * Return 0, or -errno to make the transport report NEEDS_RESET. */
    int (*activate)(void *opaque);
    /* Queue `q` was notified (doorbell). */
    void (*queue_notify)(void *opaque, unsigned q);
    /* The driver reset the device: forget in-flight work (completions of
     * requests already submitted must be waited for or discarded here). */
    void (*reset)(void *opaque);
};

struct virtio_device_desc {
    const char *name;            /* for logs, e.g. "virtio-blk0" */
    uint16_t device_id;          /* VIRTIO_ID_* (linux/virtio_ids.h) */
    uint32_t class_code;         /* PCI class code */
    uint64_t features;           /* device-specific feature bits */
    unsigned nqueues;            /* 1..VIRTIO_PCI_MAX_QUEUES */
    uint16_t queue_max_size;     /* power of two <= VIRTQUEUE_MAX_SIZE */
    uint32_t config_size;        /* device-specific config bytes */
    const struct virtio_device_ops *ops;
    void *opaque;
};

struct virtio_pci_config {
    struct virtio_device_desc dev;
    const struct msi_sink *sink;       /* borrowed */
    const struct ioevent_sink *ioev;   /* borrowed */
    const struct dma_ram_region *ram;  /* guest RAM for the DMA space (copied) */
    unsigned nram;
    bool behind_iommu;                 /* offer VIRTIO_F_ACCESS_PLATFORM */
};

/* Build the PCI function. Returns 0 or -errno; nothing left on failure. */
int virtio_pci_create(const struct virtio_pci_config *cfg, struct virtio_pci **out)
    __attribute__((warn_unused_result));
struct pci_device *virtio_pci_pci_device(struct virtio_pci *vp);
/* The device's DMA space (a vIOMMU installs its translator here). */
struct dma_space *virtio_pci_dma(struct virtio_pci *vp);
/* The device's I/O thread, for extra fds (io_thread_add) before or after start. */
struct io_thread *virtio_pci_io_thread(struct virtio_pci *vp);
int virtio_pci_start(struct virtio_pci *vp) __attribute__((warn_unused_result));
void virtio_pci_destroy(struct virtio_pci *vp);

/* For device implementations, on the I/O thread. */
struct virtqueue *virtio_pci_queue(struct virtio_pci *vp, unsigned q);
uint64_t virtio_pci_driver_features(struct virtio_pci *vp);
/* Interrupt the driver for queue q if it wants one (event index / flags):
 * the queue's MSI-X vector, or ISR bit 0 + INTx when MSI-X is off. Call it
 * after pushing used entries (a call without new entries may still interrupt). */
void virtio_pci_queue_interrupt(struct virtio_pci *vp, unsigned q);
/* Device config changed: config_generation moves on; the config interrupt
 * (MSI-X config vector, or ISR bit 1 + INTx) is raised once DRIVER_OK is set. */
void virtio_pci_config_interrupt(struct virtio_pci *vp);
/* Device error: set DEVICE_NEEDS_RESET, config interrupt, stop processing
 * (queue_notify is not called again until the driver resets the device). */
void virtio_pci_device_error(struct virtio_pci *vp, const char *why);

#endif
