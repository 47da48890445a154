/* SPDX-License-Identifier: MIT */
/*
 * The PCIe part of the machine: the host bridge (ECAM + 0xCF8/0xCFC), one
 * PCIe root port per device that asked for one, and the virtio devices from
 * the command line, with bus numbers, windows and BARs assigned before boot
 * as firmware would.
 *
 * Slots on bus 0: 00:00.0 host bridge, then one slot per device in command
 * line order (disks, nets, rng, edu): a root port in that slot with the device at
 * 00.0 behind it, or the device itself when it asked for bus 0.
 *
 * Order: after the legacy machine (its IOAPIC takes the INTx lines), before
 * ACPI is built and vCPUs run: machine_pci_create -> machine_pci_start ->
 * (guest runs) -> vCPUs stopped -> machine_pci_destroy.
 */
#ifndef SLUICE_VMM_MACHINE_PCI_H
#define SLUICE_VMM_MACHINE_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/ioevent.h"
#include "devices/irq.h"
#include "devices/mem_slot.h"
#include "iommu/dma.h"
#include "vmm/cli.h"

struct ioapic;
struct pci_host;
struct virtio_blk;
struct virtio_net;
struct virtio_rng;
struct edu;
struct amdvi;
struct acpi_machine;
struct pci_bridge;
struct pci_device;
struct dma_space;

struct ir_sink;
struct machine_vfio;

struct machine_pci_config {
    struct bus *pio, *mmio;
    struct msi_sink sink;         /* copied; devices' MSIs go through it */
    struct ir_sink *ir;           /* the remapping sink behind `sink`, for the IOMMU */
    struct ioevent_sink ioev;     /* copied */
    struct mem_slot_sink slots;   /* copied; passthrough BARs */
    struct ioapic *ioapic;        /* INTx lines */
    unsigned nram;
    struct dma_ram_region ram[DMA_MAX_RAM_REGIONS];
    uint64_t mmio64_base;         /* from layout_pci_mmio64_start(RAM end) */
    const struct cli_options *opts;
};

/* One device placed on the PCI bus, as the IVRS needs to know it. */
struct machine_pci_slot {
    struct pci_device *dev;
    struct pci_bridge *port;      /* its root port, NULL on bus 0 */
    bool behind_iommu;
};

#define MACHINE_PCI_MAX_DEVICES (CLI_MAX_DISKS + CLI_MAX_NETS + CLI_MAX_VFIO + 3)

struct machine_pci {
    struct machine_pci_config cfg;
    struct pci_host *host;
    unsigned next_slot;
    struct amdvi *amdvi;          /* --iommu amd */
    bool amdvi_mmio_registered;
    int ir_index;                 /* the IOMMU's remapper in cfg.ir, -1 without */
    unsigned nslots;
    struct machine_pci_slot slots[MACHINE_PCI_MAX_DEVICES];
    unsigned ndisks, nnets;
    struct virtio_blk *disks[CLI_MAX_DISKS];
    struct virtio_net *nets[CLI_MAX_NETS];
    struct virtio_rng *rng;
    struct edu *edu;
    struct machine_vfio *vfio;    /* --device vfio (vmm/machine_vfio.h) */
};

/*
 * Build the topology and devices. Returns 0 or -errno with one line in err;
 * *user_error is set when the cause is the user's input or host setup (an
 * image that cannot be opened, a tap that cannot be attached). Unwinds on
 * failure.
 */
int machine_pci_create(struct machine_pci *p, const struct machine_pci_config *cfg,
                       bool *user_error, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Describe the IOMMU(s) for ACPI (IVRS): which devids sit behind which.
 * No-op without an IOMMU. Returns 0 or -errno with one line in err. */
int machine_pci_describe(struct machine_pci *p, struct acpi_machine *am, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Start the devices' I/O threads. Returns 0 or -errno with one line in err. */
int machine_pci_start(struct machine_pci *p, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Stop the devices and free everything. Safe on a zeroed or failed struct. */
void machine_pci_destroy(struct machine_pci *p);

#endif
