/* SPDX-License-Identifier: MIT */
/*
 * KVM GSI routing and MSI delivery: the VMM side of devices/irq.h.
 *
 * GSIs 0..KVM_SPLIT_IRQCHIP_IOAPIC_PINS-1 belong to the IOAPIC pins (KVM
 * derives its EOI-exit bitmap for level-triggered vectors from their MSI
 * routes); higher GSIs are handed out to devices for irqfd delivery.
 * Every change re-installs the whole table with KVM_SET_GSI_ROUTING.
 *
 * Thread safety: all calls may run on any thread (internal mutex).
 */
#ifndef SLUICE_VMM_IRQ_ROUTING_H
#define SLUICE_VMM_IRQ_ROUTING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"

#define IRQ_ROUTING_MAX_GSI 1024

struct irq_route {
    bool allocated;   /* GSI handed out (IOAPIC pins are always allocated) */
    bool enabled;     /* route installed in KVM */
    uint16_t source_id;
    uint64_t addr;
    uint32_t data;
};

struct irq_routing {
    int vm_fd;
    pthread_mutex_t lock;
    struct irq_route routes[IRQ_ROUTING_MAX_GSI];
};

/* Returns 0 or -errno. The VM must have its split irqchip enabled. */
int irq_routing_init(struct irq_routing *r, int vm_fd) __attribute__((warn_unused_result));
void irq_routing_destroy(struct irq_routing *r);

/* Hand out a free GSI above the IOAPIC pins; returns it or -ENOSPC. */
int irq_routing_alloc_gsi(struct irq_routing *r);
/* Release a GSI from irq_routing_alloc_gsi (its route is removed). */
void irq_routing_free_gsi(struct irq_routing *r, unsigned gsi);

/* Install (enabled) or remove the MSI route of an allocated GSI and commit.
 * Returns 0, -EINVAL (GSI not allocated) or -errno from KVM. */
int irq_routing_set(struct irq_routing *r, unsigned gsi, bool enabled, uint16_t source_id,
                    uint64_t addr, uint32_t data);

/* Deliver one MSI now (KVM_SIGNAL_MSI). Returns 0, -ENXIO when no vCPU matched
 * the destination (dropped, as hardware would), or -errno. */
int irq_routing_send_msi(struct irq_routing *r, uint16_t source_id, uint64_t addr, uint32_t data);

/* Connect an eventfd to a GSI (KVM_IRQFD) or disconnect it. */
int irq_routing_irqfd(struct irq_routing *r, int fd, unsigned gsi, bool assign);

/* The msi_sink devices use, backed by this routing table: send_msi, set_route,
 * and the exit-free trio alloc_gsi/free_gsi/irqfd (so irq_vector uses irqfd).
 * `r` must outlive every user of the sink. */
struct msi_sink irq_routing_sink(struct irq_routing *r);

#endif
