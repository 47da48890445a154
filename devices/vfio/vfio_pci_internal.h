/* SPDX-License-Identifier: MIT */
/*
 * Internals of the VFIO PCI device model, shared by vfio_pci.c (lifecycle),
 * vfio_pci_config.c (config virtualisation), vfio_pci_bar.c (BARs and
 * memory slots) and vfio_pci_irq.c (MSI-X, MSI, INTx). Not for other users:
 * they use vfio_pci.h.
 *
 * Locks, outermost first: PCI host lock (config hooks, bar_placed) ->
 * pci_msix / pci_msi lock (vector_update, fire) -> v->irq_lock (what the
 * device is told: enabled index, per-vector eventfds, INTx state) ->
 * pci_cfg_lock -> ioapic lock (pci_set_intx).
 */
#ifndef SLUICE_DEVICES_VFIO_VFIO_PCI_INTERNAL_H
#define SLUICE_DEVICES_VFIO_VFIO_PCI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/io_thread.h"
#include "devices/irq_vector.h"
#include "devices/pci/msi.h"
#include "devices/pci/msix.h"
#include "devices/vfio/vfio_pci.h"

#define VFIO_PCI_PAGE_SIZE 4096ULL
/* Each mmap area splits into at most 3 pieces around the MSI-X table and PBA pages. */
#define VFIO_PCI_MAX_BAR_SLOTS (3 * VFIO_REGION_MAX_MMAP_AREAS)
#define VFIO_PCI_NAME_MAX 64

struct vfio_pci;

struct vfio_pci_bar {
    struct vfio_pci *v;
    unsigned idx;
    struct vfio_region region;                  /* size 0: BAR unused */
    void *map[VFIO_REGION_MAX_MMAP_AREAS];      /* NULL: that area stays trapped */
    int slot[VFIO_PCI_MAX_BAR_SLOTS];           /* handles of the current slots */
    unsigned nslots;
    uint64_t trapped;                           /* accesses that exited (atomic) */
};

/* A page-aligned part of a BAR to map as a memory slot. */
struct vfio_pci_piece {
    uint64_t off, size;  /* inside the BAR */
    void *host;
};

struct vfio_pci_vec {
    struct irq_vector iv;    /* GSI route + irqfd eventfd (fd -1 without irqfd) */
    int user_fd;             /* eventfd the device signals while the vector is masked */
    int dev_fd;              /* eventfd the device was given (-1: none); irq_lock */
    bool deliverable;        /* last vector_update; under irq_lock */
    uint64_t addr;           /* last message (fallback delivery); helper lock */
    uint32_t data;
};

/* MSI or MSI-X at the device. */
struct vfio_pci_irqs {
    struct vfio_pci *v;
    unsigned index;          /* VFIO_PCI_MSI_IRQ_INDEX or VFIO_PCI_MSIX_IRQ_INDEX */
    unsigned nvec;           /* 0: capability hidden */
    struct vfio_pci_vec *vecs;
    unsigned dev_count;      /* vectors enabled at the device, 0: off; under irq_lock */
};

struct vfio_pci {
    struct pci_device pdev;
    struct vfio_pci_config cfg;
    char name[VFIO_PCI_NAME_MAX];

    /* config space */
    unsigned cfg_size;                 /* the device's config region (256 or 4096) */
    uint8_t raw[PCI_CFG_SIZE_EXP];     /* the device's config as read at create */
    uint8_t emu[PCI_CFG_SIZE_EXP];     /* bits served from the shadow */
    uint8_t fwd[PCI_CFG_SIZE_EXP];     /* 1: writes of this byte reach the device */
    unsigned cap_pm, cap_exp, cap_msi, cap_msix; /* device offsets, 0: absent/hidden */

    /* BARs */
    struct vfio_pci_bar bars[PCI_NUM_BARS];
    unsigned msix_bir;                 /* MSI-X layout as the device has it */
    uint64_t msix_table_off, msix_table_len, msix_pba_off, msix_pba_len;

    /* interrupts */
    pthread_mutex_t irq_lock;
    bool irq_lock_ready;
    struct pci_msix msix;
    struct pci_msi msi;
    struct vfio_pci_irqs msix_irqs, msi_irqs;
    uint8_t intx_pin_cfg;              /* Interrupt Pin shown (0: no INTx) */
    int intx_trigger_fd, intx_unmask_fd;
    int intx_ioapic_pin;               /* -1 until started with a pin */
    bool intx_on;                      /* trigger installed at the device; irq_lock */
    bool intx_asserted;                /* irq_lock */
    bool started;
    uint64_t thread_irqs;              /* interrupts seen by the I/O thread (atomic) */
    int epfd;                          /* every eventfd the I/O thread watches */
    struct io_thread io;
    bool io_ready;
};

/* vfio_pci_config.c */
int vfio_pci_config_load(struct vfio_pci *v, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void vfio_pci_config_caps(struct vfio_pci *v);
extern const struct pci_device_ops vfio_pci_device_ops;

/* vfio_pci_bar.c */
int vfio_pci_bars_init(struct vfio_pci *v, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void vfio_pci_bars_destroy(struct vfio_pci *v);
void vfio_pci_bar_placed(struct vfio_pci *v, unsigned bar, bool mapped, uint64_t addr);
/* Slot pieces of BAR `b` (exposed for tests through the slot sink). */
unsigned vfio_pci_bar_pieces(const struct vfio_pci *v, const struct vfio_pci_bar *b,
                             struct vfio_pci_piece *out, unsigned max);

/* vfio_pci_irq.c */
/* Decide whether MSI / MSI-X stay visible (host vectors, sane layout). */
void vfio_pci_irqs_probe(struct vfio_pci *v);
int vfio_pci_irqs_init(struct vfio_pci *v, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void vfio_pci_irqs_destroy(struct vfio_pci *v);
void vfio_pci_irq_config_written(struct vfio_pci *v, unsigned off, unsigned size);
int vfio_pci_irqs_start(struct vfio_pci *v) __attribute__((warn_unused_result));
void vfio_pci_irqs_stop(struct vfio_pci *v);
/* Guest reset: helpers back to power-on, every index off at the device
 * (before dev.reset); resume re-enables what applies (INTx when started). */
void vfio_pci_irqs_reset(struct vfio_pci *v);
void vfio_pci_irqs_resume(struct vfio_pci *v);

#endif
