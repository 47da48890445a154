/* SPDX-License-Identifier: MIT */
/*
 * The machine's passthrough devices (--device vfio=...): host VFIO domains,
 * the VFIO PCI functions placed on the PCI bus, and their DMA:
 *   - not behind the vIOMMU: one shared host domain for the VM in which all
 *     guest RAM is mapped once (IOVA = guest-physical);
 *   - behind the AMD vIOMMU: one host domain per device, holding a shadow
 *     (iommu/shadow.h) of what the guest's I/O page tables map for it, kept
 *     in step by the vIOMMU's map notifications (iommu/map_notify.h). The
 *     vIOMMU then advertises NpCache so the guest invalidates on every map.
 *
 * Part of machine_pci (vmm/machine_pci.h), which calls these in order:
 * machine_vfio_create (after the vIOMMU, with the other devices) ->
 * machine_vfio_start (after resource assignment: device reset, initial DMA
 * state, interrupt threads) -> guest runs -> vCPUs stopped ->
 * machine_vfio_stop (interrupts off, consistency check) -> the PCI host is
 * destroyed -> machine_vfio_destroy (slots, mappings, fds released; the
 * device reset so the host can pass it again).
 */
#ifndef SLUICE_VMM_MACHINE_VFIO_H
#define SLUICE_VMM_MACHINE_VFIO_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/cli.h"

struct machine_pci;
struct vfio_domain;
struct vfio_dev;
struct vfio_pci;
struct shadow;

struct machine_vfio_dev {
    struct machine_pci *p;
    struct vfio_domain *own_domain;   /* behind the vIOMMU: this device's domain */
    struct vfio_dev *dev;
    struct vfio_pci *pci;
    struct shadow *shadow;            /* behind the vIOMMU */
};

struct machine_vfio {
    struct vfio_domain *shared;       /* devices not behind the vIOMMU */
    bool shared_mapped;               /* all guest RAM mapped in it */
    unsigned n;
    struct machine_vfio_dev devs[CLI_MAX_VFIO];
};

/* Does the command line put a passthrough device behind the vIOMMU? */
bool machine_vfio_wants_npcache(const struct cli_options *o);

/* Open and place every --device vfio. Returns 0 or -errno with one line in
 * err (*user_error for host setup problems: group not viable, no vfio module,
 * memlock). The caller unwinds with machine_vfio_stop/destroy. */
int machine_vfio_create(struct machine_pci *p, bool *user_error, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int machine_vfio_start(struct machine_pci *p, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void machine_vfio_stop(struct machine_pci *p);
void machine_vfio_destroy(struct machine_pci *p);

#endif
