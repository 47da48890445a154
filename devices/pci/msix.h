/* SPDX-License-Identifier: MIT */
/*
 * MSI-X capability helper: the capability in config space, the vector table
 * and the PBA inside one of the function's BARs, function and per-vector
 * masks and pending bits (PCI spec 6.8.2).
 *
 * The owner keeps delivery: `vector_update` tells it whenever a vector's
 * message or deliverability changes (deliverable = MSI-X enabled, function
 * not masked, vector not masked), so it can keep a GSI route in step
 * (irq_vector_route); `fire` asks it to deliver a vector now. The owner calls
 * pci_msix_notify() to raise a vector: delivered at once when deliverable,
 * else its pending bit is set and it is delivered (and the bit cleared) when
 * it becomes deliverable.
 *
 * The owner's BAR callbacks forward accesses in [table_off, table_off +
 * 16 * nvec) and [pba_off, pba_off + 8 * ceil(nvec / 64)) to
 * pci_msix_bar_read/write (offsets relative to the BAR).
 *
 * Thread safety: an internal mutex; callbacks run with it held and must not
 * call back into this helper.
 */
#ifndef SLUICE_DEVICES_PCI_MSIX_H
#define SLUICE_DEVICES_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/pci.h"

#define PCI_MSIX_MAX_VECTORS 2048
#define PCI_MSIX_ENTRY_BYTES 16

struct pci_msix_ops {
    void (*vector_update)(void *opaque, unsigned vec, bool deliverable, uint64_t addr,
                          uint32_t data);
    void (*fire)(void *opaque, unsigned vec);
};

struct pci_msix_entry {
    uint64_t addr;
    uint32_t data;
    uint32_t ctrl;          /* bit 0: vector masked */
};

struct pci_msix {
    struct pci_device *dev;
    unsigned cap;           /* config offset of the capability */
    unsigned nvec;
    unsigned bar;
    uint32_t table_off, pba_off;
    pthread_mutex_t lock;
    struct pci_msix_entry *table;
    uint64_t *pba;
    bool *was_deliverable;  /* last state reported through vector_update */
    const struct pci_msix_ops *ops;
    void *opaque;
};

/* Add the capability to `dev` (table in BAR `bar` at table_off, PBA at
 * pba_off, both 8-byte aligned, inside the BAR, not overlapping). All vectors
 * start masked. Returns 0, -EINVAL or -ENOMEM/-ENOSPC. */
int pci_msix_init(struct pci_msix *m, struct pci_device *dev, unsigned nvec, unsigned bar,
                  uint32_t table_off, uint32_t pba_off, const struct pci_msix_ops *ops,
                  void *opaque) __attribute__((warn_unused_result));
/* Same, but take over the MSI-X capability already at config offset `cap`
 * (its id byte must be PCI_CAP_ID_MSIX; id and next pointer are kept, the
 * body and its masks are rewritten) - a passthrough function keeps the
 * device's own layout. Same return values (-EINVAL for a bad `cap`). */
int pci_msix_init_at(struct pci_msix *m, struct pci_device *dev, unsigned cap, unsigned nvec,
                     unsigned bar, uint32_t table_off, uint32_t pba_off,
                     const struct pci_msix_ops *ops, void *opaque)
    __attribute__((warn_unused_result));
void pci_msix_destroy(struct pci_msix *m);
/* Config-space hook: call from the device's config_written for every write. */
void pci_msix_config_written(struct pci_msix *m, unsigned off, unsigned size);
/* BAR accesses (offset relative to the BAR). Return true when the offset was
 * inside the table or PBA (and was handled), false otherwise. */
bool pci_msix_bar_read(struct pci_msix *m, uint64_t off, void *data, unsigned size);
bool pci_msix_bar_write(struct pci_msix *m, uint64_t off, const void *data, unsigned size);
bool pci_msix_enabled(struct pci_msix *m);
/* Raise vector `vec` (ignored when out of range). */
void pci_msix_notify(struct pci_msix *m, unsigned vec);
/* Device reset: capability control cleared, all vectors masked, PBA cleared. */
void pci_msix_reset(struct pci_msix *m);

#endif
