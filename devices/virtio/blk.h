/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk over virtio-pci (virtio 1.2, 5.2): a raw image file or block
 * device, one request queue, asynchronous reads, writes and flushes through
 * io_uring; GET_ID, DISCARD and WRITE_ZEROES (when the host file punches
 * holes) complete on the I/O thread. Request parsing lives in blk_request.h.
 *
 * Order: virtio_blk_create -> pci_host_attach(virtio_pci_pci_device(virtio_blk_virtio_pci())) ->
 * virtio_pci_start (before the guest runs) -> ... -> virtio_blk_destroy
 * (after the vCPUs stopped). The device owns the image fd, its lock, the
 * io_uring and the virtio_pci function.
 */
#ifndef SLUICE_DEVICES_VIRTIO_BLK_H
#define SLUICE_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio_pci.h"

/* PCI class code (class/subclass/prog-if) of virtio-blk: mass storage, SCSI,
 * as QEMU presents it. */
#define VIRTIO_BLK_PCI_CLASS_CODE 0x010000
/* Requests the device keeps in flight: the largest queue it accepts. */
#define VIRTIO_BLK_QUEUE_SIZE 256

struct virtio_blk_options {
    const char *path;
    bool readonly;
    const char *id; /* serial for GET_ID, <= VIRTIO_BLK_ID_BYTES (20) bytes, may be NULL */
};

struct virtio_blk;

/*
 * Open the image (O_RDWR, or O_RDONLY when readonly; O_CLOEXEC), lock it
 * (OFD lock: shared when readonly, exclusive otherwise), set up io_uring with
 * an eventfd for completions watched on the device's I/O thread, and build
 * the virtio-pci function from `transport` (its .dev is ignored and filled
 * here). Returns 0, or -errno with one line in err naming the file and the
 * cause (missing file, permission, locked by another process, not a regular
 * file or block device, io_uring unavailable) and nothing left open.
 */
int virtio_blk_create(const struct virtio_blk_options *o, const struct virtio_pci_config *transport,
                      struct virtio_blk **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The transport: its PCI function, DMA space (for a vIOMMU) and start. */
struct virtio_pci *virtio_blk_virtio_pci(struct virtio_blk *b);
/* Stop the thread, wait for in-flight I/O, close and free everything. NULL ok. */
void virtio_blk_destroy(struct virtio_blk *b);

#endif
