/* SPDX-License-Identifier: MIT */
/*
 * One exit-free MSI vector: an eventfd connected by irqfd to a GSI whose
 * route holds the (address, data) the guest programmed, installed through
 * the msi_sink with the device's requester id (so interrupt remapping can
 * translate it at setup time). Firing the vector is one eventfd write.
 *
 * When the sink has no irqfd support (device tests), firing falls back to
 * msi_sink.send_msi with the stored message.
 *
 * Thread safety: irq_vector_fire may run on any thread concurrently with
 * irq_vector_route; the owner serialises route changes (the MSI/MSI-X
 * helpers call them under their lock).
 */
#ifndef SLUICE_DEVICES_IRQ_VECTOR_H
#define SLUICE_DEVICES_IRQ_VECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"

struct irq_vector {
    const struct msi_sink *sink; /* borrowed, outlives the vector */
    uint16_t source_id;
    int gsi;                     /* -1 without irqfd support */
    int fd;                      /* eventfd, -1 without irqfd support */
    bool ready;                  /* init succeeded (destroy is a no-op otherwise) */
    bool routed;                 /* route installed in the sink (irqfd path) */
    bool enabled;                /* last irq_vector_route(enabled) */
    uint64_t addr;
    uint32_t data;
};

/* Allocate a GSI and an eventfd and connect them. Returns 0 or -errno;
 * on failure nothing is left allocated. */
int irq_vector_init(struct irq_vector *v, const struct msi_sink *sink, uint16_t source_id)
    __attribute__((warn_unused_result));
/* Install (enabled) or remove the route; a no-op when nothing changed.
 * Returns 0, -EINVAL (vector not initialised) or -errno from the sink (then
 * the vector stays enabled but unrouted and fire falls back to send_msi, and
 * the next call retries the route). */
int irq_vector_route(struct irq_vector *v, bool enabled, uint64_t addr, uint32_t data);
/* Deliver the programmed message once (dropped when not enabled). */
void irq_vector_fire(struct irq_vector *v);
/* Disconnect and free. Safe on a zeroed or failed vector. */
void irq_vector_destroy(struct irq_vector *v);

#endif
