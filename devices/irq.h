/* SPDX-License-Identifier: MIT */
/*
 * The interrupt interface between devices and the VMM.
 *
 * Devices raise MSIs as (source requester id, address, data); the sink
 * (vmm/, later through an interrupt-remapping unit) delivers them. Routes are
 * the irqfd/EOI side: a device that wants exit-free delivery, or the IOAPIC
 * that needs KVM to report EOIs of level-triggered vectors, installs the
 * message for a GSI it owns with set_route; the sink re-installs the table.
 *
 * Legacy devices do not see MSIs: they drive an irq_line (a pin of the
 * IOAPIC) high or low.
 */
#ifndef SLUICE_DEVICES_IRQ_H
#define SLUICE_DEVICES_IRQ_H

#include <stdbool.h>
#include <stdint.h>

/* Requester id used for interrupts from the IOAPIC (00:14.0, as AMD-Vi expects). */
#define IRQ_SOURCE_ID_IOAPIC ((0u << 8) | (0x14u << 3) | 0u)

struct msi_sink {
    /* Deliver one MSI now. Returns 0 or -errno (logged by the sink). */
    int (*send_msi)(void *opaque, uint16_t source_id, uint64_t addr, uint32_t data);
    /* Install (enabled) or remove (!enabled) the MSI route of `gsi`.
     * Returns 0 or -errno. */
    int (*set_route)(void *opaque, unsigned gsi, bool enabled, uint16_t source_id,
                     uint64_t addr, uint32_t data);
    /* Exit-free delivery (optional: NULL in device tests, then devices fall
     * back to send_msi). alloc_gsi returns a free GSI or -ENOSPC; irqfd
     * connects (assign) or disconnects an eventfd to a GSI. */
    int (*alloc_gsi)(void *opaque);
    void (*free_gsi)(void *opaque, unsigned gsi);
    int (*irqfd)(void *opaque, int fd, unsigned gsi, bool assign);
    void *opaque;
};

/* A wire from a legacy device to an interrupt controller input. */
struct irq_line {
    void (*set_level)(void *opaque, unsigned pin, bool level);
    void *opaque;
    unsigned pin;
};

static inline void irq_line_set(const struct irq_line *line, bool level)
{
    if (line && line->set_level)
        line->set_level(line->opaque, line->pin, level);
}

/* x86 MSI address/data fields (Intel SDM vol. 3 10.11), shared by the IOAPIC,
 * PCI MSI and the IOMMUs. */
#define MSI_ADDR_BASE 0xfee00000ULL
#define MSI_ADDR_DEST_ID_SHIFT 12         /* bits 19:12 */
#define MSI_ADDR_DEST_ID_MASK 0xffULL
#define MSI_ADDR_EXT_DEST_ID_SHIFT 5      /* bits 11:5, KVM extended destination id */
#define MSI_ADDR_EXT_DEST_ID_MASK 0x7fULL
#define MSI_ADDR_DEST_MODE_LOGICAL (1ULL << 2)
#define MSI_ADDR_REDIR_HINT (1ULL << 3)
#define MSI_DATA_VECTOR_MASK 0xffu
#define MSI_DATA_DELIVERY_SHIFT 8         /* bits 10:8 */
#define MSI_DATA_LEVEL_ASSERT (1u << 14)
#define MSI_DATA_TRIGGER_LEVEL (1u << 15)

#endif
