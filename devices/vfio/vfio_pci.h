/* SPDX-License-Identifier: MIT */
/*
 * A passthrough PCI function as the guest sees it: sluice's PCI core
 * (devices/pci/pci.h) in front of a host device reached only through
 * struct vfio_dev_ops (devices/vfio/vfio.h), so it runs against a fake in
 * tests.
 *
 * Config space. Every byte is either emulated (served from the shadow,
 * never forwarded) or passed through (reads live from the device, writes
 * forwarded), bit-exact where one register mixes both:
 *   emulated   BARs 0x10-0x27 (sluice places them; sizing by all-ones as on
 *              hardware), ROM BAR 0x30 (hidden: reads 0, not writable; the
 *              guest sees no option ROM), header type (multi-function bit
 *              cleared; only type-0 functions are accepted), capability
 *              pointer 0x34 and Status.CAP_LIST, Interrupt Line (writable),
 *              Interrupt Pin (the device's, read-only; 0 when the host has
 *              no INTx for it), the MSI and MSI-X capabilities (pci_msi /
 *              pci_msix helpers at the device's own offsets), the id/next
 *              bytes of the kept capabilities (list re-linked: PM, PCIe,
 *              MSI, MSI-X are kept; every other capability is hidden and
 *              its bytes read 0), and the whole extended space 0x100-0xfff
 *              (reads 0: no extended capability is exposed - a limitation:
 *              AER, SR-IOV, ATS... are invisible to the guest).
 *   both       Command: kept in the shadow (the host places BARs from it)
 *              and forwarded (memory/IO decode and bus master reach the
 *              device).
 *   dropped    Writes to the read-only identity registers (ids, revision,
 *              class, subsystem ids), which still read live.
 *   passed     everything else (status except CAP_LIST, cache line,
 *              latency, BIST, the PM and PCIe capability bodies, ...).
 *
 * BARs. Each BAR region is declared with its size (memory BARs rounded up
 * to 4 KiB) and type bits from the device. The parts VFIO lets us mmap are
 * mapped at create and, whenever the host places the BAR, added as memory
 * slots (no exit per access) except the 4 KiB pages holding the MSI-X table
 * and PBA; everything not covered by a slot traps (MMIO/PIO exit) and is
 * forwarded with region_read/region_write at the access's own size, except
 * the MSI-X table and PBA, which are emulated. I/O BARs always trap.
 * Accesses beyond the region read all-ones / are dropped.
 *
 * Interrupts. MSI-X and MSI vectors are irq_vectors (GSI route with the
 * function's requester id through the msi_sink, so interrupt remapping
 * translates them); a deliverable vector's device eventfd is the vector's
 * irqfd (exit-free), a masked one's is a per-vector eventfd watched by the
 * I/O thread, which sets the pending bit; on unmask the route comes back and
 * the pending vector is delivered. The guest enabling MSI/MSI-X turns the
 * device's INTx off and that index on (set_irq_fds), disabling it turns the
 * index off and INTx back on. INTx: the host's trigger eventfd is watched by
 * the I/O thread and raises the function's pin; the guest's EOI of that
 * IOAPIC pin lowers it and writes the host's unmask eventfd (the host
 * re-triggers if the device still asserts).
 *
 * Order: vfio_pci_create -> pci_host_attach(vfio_pci_pci_device(v)) ->
 * pci_host_assign_resources -> vfio_pci_start -> vCPUs run ->
 * vCPUs stopped -> vfio_pci_stop -> pci_host_destroy -> vfio_pci_destroy
 * -> the creator closes its vfio_dev.
 *
 * Thread safety: config hooks run under the PCI host lock; BAR accesses run
 * on vCPU threads concurrently (forwarding needs no lock; the MSI-X helper
 * locks); the I/O thread and EOI listeners take the device's irq lock.
 * create/start/stop/reset/destroy are not concurrent with each other.
 */
#ifndef SLUICE_DEVICES_VFIO_VFIO_PCI_H
#define SLUICE_DEVICES_VFIO_VFIO_PCI_H

#include <stddef.h>

#include "devices/ioapic.h"
#include "devices/irq.h"
#include "devices/mem_slot.h"
#include "devices/pci/pci.h"
#include "devices/vfio/vfio.h"

struct vfio_pci;

struct vfio_pci_config {
    struct vfio_dev_ops dev;        /* copied; dev.opaque outlives the vfio_pci */
    const char *name;               /* e.g. "0000:01:00.0"; copied */
    const struct msi_sink *sink;    /* borrowed; MSI/MSI-X vectors (irqfd + routes) */
    struct mem_slot_sink slots;     /* copied; BAR pages mapped into the guest */
    struct ioapic *ioapic;          /* borrowed, may be NULL: INTx EOIs (no INTx without) */
};

/*
 * Read the device's config space, regions and interrupt counts and build
 * the virtual function (BARs declared and mmapped, capabilities taken over,
 * vectors allocated). Returns 0 (*out set) or -errno with one line in `err`:
 * -EINVAL (bad config, not a type-0 header), -EIO (config region unreadable),
 * -ENOMEM, or an irq_vector/msix setup error. Nothing is left on failure.
 * The device is not reset here (the creator resets before start).
 */
int vfio_pci_create(const struct vfio_pci_config *cfg, struct vfio_pci **out, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/* The function to attach with pci_host_attach (lives as long as v). */
struct pci_device *vfio_pci_pci_device(struct vfio_pci *v);

/*
 * After resource assignment, before vCPUs run: start the I/O thread (INTx
 * trigger and masked-vector eventfds) and turn the device's INTx on (when it
 * has a pin, cfg->ioapic is set and the function is attached). Returns 0 or
 * -errno (nothing left started on failure).
 */
int vfio_pci_start(struct vfio_pci *v) __attribute__((warn_unused_result));

/* Interrupts off at the device (every index), EOI listener removed, I/O
 * thread joined. Idempotent; vCPUs must be stopped. */
void vfio_pci_stop(struct vfio_pci *v);

/* Stops if needed, removes every memory slot, munmaps the BARs, frees the
 * vectors. Does NOT close the vfio_dev (the creator owns it). NULL is a
 * no-op. Call after pci_host_destroy (or before attaching). */
void vfio_pci_destroy(struct vfio_pci *v);

/*
 * Guest reboot: dev.reset (VFIO_DEVICE_RESET), then the virtual state back
 * to power-on: MSI/MSI-X disabled and every vector masked (routes removed,
 * the device's MSI/MSI-X off, INTx back on when started), INTx deasserted.
 * BAR placement and the command register belong to the PCI host's reset.
 * Returns 0 or the reset's -errno (-ENOTTY: the device cannot be reset; the
 * virtual state is reset anyway).
 */
int vfio_pci_reset(struct vfio_pci *v) __attribute__((warn_unused_result));

#endif
