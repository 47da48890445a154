/* SPDX-License-Identifier: MIT */
/*
 * MSI capability helper (PCI spec 6.8.1): 32- or 64-bit address, 1..32
 * vectors (multiple message enable honoured: vector i sends data | i), with
 * optional per-vector masking and pending bits. Same owner contract as
 * msix.h: vector_update keeps routes in step, fire delivers, notify raises.
 */
#ifndef SLUICE_DEVICES_PCI_MSI_H
#define SLUICE_DEVICES_PCI_MSI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/msix.h"
#include "devices/pci/pci.h"

#define PCI_MSI_MAX_VECTORS 32

struct pci_msi {
    struct pci_device *dev;
    unsigned cap;
    unsigned nvec;          /* vectors the function asks for (power of two) */
    bool addr64, per_vector_mask;
    pthread_mutex_t lock;
    uint32_t was_deliverable; /* bitmap, last state reported */
    const struct pci_msix_ops *ops; /* same callback shape as MSI-X */
    void *opaque;
};

int pci_msi_init(struct pci_msi *m, struct pci_device *dev, unsigned nvec, bool addr64,
                 bool per_vector_mask, const struct pci_msix_ops *ops, void *opaque)
    __attribute__((warn_unused_result));
/* Same, but take over the MSI capability already at config offset `cap`
 * (id byte PCI_CAP_ID_MSI; id and next pointer kept, body and masks
 * rewritten for the given layout) - a passthrough function keeps the
 * device's own layout. -EINVAL for a bad `cap`. */
int pci_msi_init_at(struct pci_msi *m, struct pci_device *dev, unsigned cap, unsigned nvec,
                    bool addr64, bool per_vector_mask, const struct pci_msix_ops *ops,
                    void *opaque) __attribute__((warn_unused_result));
void pci_msi_destroy(struct pci_msi *m);
void pci_msi_config_written(struct pci_msi *m, unsigned off, unsigned size);
bool pci_msi_enabled(struct pci_msi *m);
/* Vectors the guest enabled (1 << Multiple Message Enable, capped at the
 * capable count), 0 while MSI is off. Read from the shadow: call from the
 * config_written hook (host config lock) for a stable answer. */
unsigned pci_msi_enabled_vectors(struct pci_msi *m);
void pci_msi_notify(struct pci_msi *m, unsigned vec);
void pci_msi_reset(struct pci_msi *m);

#endif
