/* SPDX-License-Identifier: MIT */
/*
 * Userspace I/O APIC for KVM's split irqchip (local APICs in KVM): a version
 * 0x20 IOAPIC with LAYOUT_IOAPIC_PINS (24) redirection entries and the EOI
 * register. Registers in devices/ioapic_regs.h.
 *
 * Register it on the MMIO bus with
 *     bus_register(mmio, LAYOUT_IOAPIC_BASE, IOAPIC_BUS_LEN, &ioapic_bus_ops,
 *                  ioapic, IOAPIC_BUS_SIZES, IOAPIC_BUS_ALIGNED, "ioapic")
 * The bus passes every aligned size through; the model itself answers
 * anything but a 32-bit access to IOREGSEL (0x00), IOWIN (0x10) or EOI (0x40)
 * with all-ones / a dropped write and a rate-limited log line.
 *
 * Interrupts leave as MSIs through the msi_sink with source id
 * IRQ_SOURCE_ID_IOAPIC. The sink's routes for GSIs 0..23 mirror the
 * redirection table (KVM derives its EOI-exit bitmap for level-triggered
 * vectors from them): every entry change calls set_route(pin, enabled, ...)
 * with the entry's message; enabled = !masked, except that a level entry
 * whose Remote IRR is set keeps its route until the EOI arrives (otherwise a
 * guest masking a pin while its interrupt is in service would never get the
 * EOI exit and the pin would stay blocked). Unchanged routes are not re-sent.
 *
 * Inputs: ioapic_set_irq(pin, level) with level = asserted (polarity is not
 * modelled, as in KVM and QEMU). Edge entries deliver on a rising edge of an
 * unmasked pin; an edge on a masked pin is lost (82093AA behaviour). Level
 * entries deliver while the pin is asserted, unmasked and Remote IRR is
 * clear, and set Remote IRR; ioapic_eoi() / the EOI register clear it for
 * every level entry with that vector and re-deliver if still asserted.
 * Switching an entry to edge clears its Remote IRR.
 *
 * Threads: everything may run on any thread; one mutex inside. The msi_sink
 * is called with it held (lock order: device -> ioapic -> sink) and must not
 * call back into the ioapic.
 */
#ifndef SLUICE_DEVICES_IOAPIC_H
#define SLUICE_DEVICES_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/ioapic_regs.h"
#include "devices/irq.h"
#include "vmm/layout.h"

struct ioapic;

#define IOAPIC_NUM_PINS LAYOUT_IOAPIC_PINS

/*
 * Create an IOAPIC in its reset state (ID LAYOUT_IOAPIC_ID, every entry
 * masked) and install the 24 (disabled) routes through sink->set_route.
 * `sink` is copied; sink->opaque must outlive the ioapic. On success stores it
 * in *out and returns 0; returns -EINVAL (NULL argument or missing sink
 * callback), -ENOMEM, or the first error set_route returned (nothing is left
 * allocated then).
 */
int ioapic_create(const struct msi_sink *sink, struct ioapic **out)
    __attribute__((warn_unused_result));

/* Free it. It must be unregistered from the bus and no device may still drive
 * one of its lines. Routes are left to the sink's owner. NULL is a no-op. */
void ioapic_destroy(struct ioapic *ioapic);

/* Back to the reset state: IOREGSEL 0, ID LAYOUT_IOAPIC_ID, all entries masked,
 * routes re-installed (all of them, unconditionally). Input line levels are
 * kept (they belong to the devices). Returns 0 or the first set_route error. */
int ioapic_reset(struct ioapic *ioapic) __attribute__((warn_unused_result));

/* Bus callbacks; opaque is the struct ioapic *. */
extern const struct bus_ops ioapic_bus_ops;
#define IOAPIC_BUS_LEN LAYOUT_IOAPIC_SIZE
#define IOAPIC_BUS_SIZES BUS_SIZE_ANY
#define IOAPIC_BUS_ALIGNED true

/* Drive input `pin` (0..23) to `level` (true = asserted). Out-of-range pins are
 * ignored with a rate-limited log line. */
void ioapic_set_irq(struct ioapic *ioapic, unsigned pin, bool level);

/* An irq_line for `pin` that calls ioapic_set_irq(); valid while the ioapic
 * lives. */
struct irq_line ioapic_irq_line(struct ioapic *ioapic, unsigned pin);

/* End of interrupt for `vector` (KVM_EXIT_IOAPIC_EOI, or the EOI register). */
void ioapic_eoi(struct ioapic *ioapic, uint8_t vector);

/*
 * EOI listeners (a passthrough device's INTx resampling): when an EOI clears
 * Remote IRR of a level-triggered entry of `pin`, every listener of that pin
 * runs - on the EOI's thread, WITHOUT the ioapic lock, so it may drive the
 * pin (ioapic_set_irq, pci_set_intx) - and only then is the pin re-evaluated
 * (delivered again if its input is still asserted). Pins without listeners
 * behave as before. At most IOAPIC_EOI_LISTENERS_PER_PIN per pin (shared
 * lines). add returns 0, -EINVAL or -ENOSPC. After remove returns, a call
 * that already started may still be running: remove with vCPUs stopped, or
 * keep `opaque` valid until they are.
 */
#define IOAPIC_EOI_LISTENERS_PER_PIN 4
typedef void (*ioapic_eoi_fn)(void *opaque, unsigned pin);
struct ioapic_eoi_listener {
    ioapic_eoi_fn fn;
    void *opaque;
};
int ioapic_add_eoi_listener(struct ioapic *ioapic, unsigned pin, ioapic_eoi_fn fn, void *opaque)
    __attribute__((warn_unused_result));
void ioapic_remove_eoi_listener(struct ioapic *ioapic, unsigned pin, ioapic_eoi_fn fn,
                                void *opaque);

/*
 * The one RTE -> MSI conversion (what KVM's split irqchip and QEMU expect):
 *   address = MSI_ADDR_BASE | RTE[63:48] << 4 | RTE[11] << 2, i.e. destination
 *             id in 19:12, KVM extended destination id in 11:5, the VT-d
 *             remappable-format bit in 4 and the destination mode in 2 (for a
 *             remappable-format entry this carries the handle unchanged);
 *   data    = vector | delivery mode << 8 | trigger << 15, plus the assert bit
 *             (14) for level-triggered entries.
 * Delivery status, polarity, Remote IRR and mask do not travel.
 */
void ioapic_rte_to_msi(uint64_t rte, uint64_t *addr, uint32_t *data);

#endif
