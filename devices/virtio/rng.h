/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng over virtio-pci (virtio 1.2, 5.4): one request queue; every
 * writable buffer the driver posts is filled from getrandom() (at most
 * VIRTIO_RNG_MAX_FILL bytes per buffer) on the device's I/O thread.
 *
 * Order: virtio_rng_create -> pci_host_attach(virtio_pci_pci_device(virtio_rng_virtio_pci())) ->
 * virtio_pci_start -> ... -> virtio_rng_destroy (after the vCPUs stopped).
 */
#ifndef SLUICE_DEVICES_VIRTIO_RNG_H
#define SLUICE_DEVICES_VIRTIO_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/virtqueue.h"

/* PCI class code: unassigned class (0xff), as QEMU presents virtio-rng. */
#define VIRTIO_RNG_PCI_CLASS_CODE 0xff0000
#define VIRTIO_RNG_QUEUE_SIZE 64
#define VIRTIO_RNG_MAX_FILL (64u * 1024)

struct virtio_rng_options {
    int unused;
};

struct virtio_rng;

/* Build the virtio-pci function from `transport` (.dev ignored and filled).
 * Returns 0 or -errno with one line in err; nothing left on failure. */
int virtio_rng_create(const struct virtio_rng_options *o, const struct virtio_pci_config *transport,
                      struct virtio_rng **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
struct virtio_pci *virtio_rng_virtio_pci(struct virtio_rng *r);
/* NULL ok. */
void virtio_rng_destroy(struct virtio_rng *r);

/* Fill the writable part of `c` with random bytes, up to VIRTIO_RNG_MAX_FILL.
 * Returns the bytes written (exposed for tests). */
uint32_t virtio_rng_fill(const struct virtqueue_chain *c);

#endif
