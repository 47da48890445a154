/* SPDX-License-Identifier: MIT */
/*
 * The emulated AMD IOMMU (AMD-Vi, spec pub. 48882): a PCI function carrying
 * the IOMMU capability block and an MSI capability, an MMIO register file at
 * a fixed base, the command buffer, the event log, the device table (cached)
 * and DMA remapping through host ("v1") and guest ("v2", GCR3 / PASID 0)
 * page tables with an IOTLB.
 *
 * Order: amdvi_create -> the VMM attaches amdvi_pci_device() to the PCI host
 * (pci_host_attach), registers the MMIO window (bus_register(mmio,
 * cfg->mmio_base, AMDVI_MMIO_SIZE, &amdvi_mmio_ops, a, AMDVI_MMIO_BUS_SIZES,
 * AMDVI_MMIO_BUS_ALIGNED, "amd-iommu")) and puts every device's dma_space
 * behind amdvi_translator() -> guest runs -> all vCPUs and I/O threads
 * stopped -> bus/host torn down -> amdvi_destroy.
 *
 * The IOMMU's own accesses (device table, command buffer, event log,
 * COMPLETION_WAIT stores, page tables) are untranslated guest-physical
 * accesses to cfg->ram. Its interrupts (event log, completion wait) go out
 * through its MSI capability with its own requester id (pci_send_msi), or
 * through cfg->sink when the function is not attached to a host (tests).
 *
 * Thread safety: MMIO callbacks (vCPU threads) and translate (device I/O
 * threads) may run concurrently. Lock order, outermost first:
 *     amdvi register lock (registers, command buffer, event log)
 *       -> DTE cache lock -> IOTLB lock;
 *     amdvi register lock -> MSI capability lock -> the sink.
 * translate() takes only the DTE cache and IOTLB locks, each briefly, and
 * takes the register lock (alone) to write a fault event.
 *
 * Interrupt remapping (cfg->intremap): see iommu/amd/amdvi_ir.h.
 *
 * Reserved for later issues (designed for, not implemented): map notifications (a listener called on invalidations,
 * for VFIO shadowing; NpCache makes the guest invalidate on every map).
 */
#ifndef SLUICE_IOMMU_AMD_AMDVI_H
#define SLUICE_IOMMU_AMD_AMDVI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "iommu/amd/amdvi_regs.h"
#include "iommu/dma.h"

struct amdvi;
struct pci_device;

struct amdvi_config {
    uint64_t mmio_base;                 /* LAYOUT_AMDVI_MMIO_BASE; AMDVI_MMIO_SIZE aligned */
    const struct dma_ram_region *ram;   /* guest RAM (copied; host mappings borrowed) */
    unsigned nram;                      /* 1..DMA_MAX_RAM_REGIONS */
    const struct msi_sink *sink;        /* fallback when not attached to a PCI host */
    bool npcache;                       /* capability header NpCache bit */
    bool guest_tables;                  /* advertise GTSup + GIOSup, accept GV=1 DTEs (v2) */
    unsigned iotlb_entries;             /* 0 = IOTLB_DEFAULT_CAPACITY */
    bool intremap;                      /* interrupt remapping: advertise GASup + XTSup,
                                         * IntCapXT registers; see amdvi_ir.h */
};

/* Bus registration parameters for the MMIO window. */
#define AMDVI_MMIO_BUS_SIZES BUS_SIZE_ANY
#define AMDVI_MMIO_BUS_ALIGNED true

/* Create the IOMMU (disabled, as after reset). Returns 0, -EINVAL (bad
 * config: unaligned base, no RAM) or -ENOMEM; *out is NULL on failure. */
int amdvi_create(const struct amdvi_config *cfg, struct amdvi **out)
    __attribute__((warn_unused_result));
/* Free everything. Only after every user of the translator and the MMIO
 * window has stopped. NULL is accepted. */
void amdvi_destroy(struct amdvi *a);

/* The IOMMU's PCI function (owned by `a`; attach it, do not free it). */
struct pci_device *amdvi_pci_device(struct amdvi *a);
/* Config-space offset of the IOMMU capability (IVHD Capability Offset). */
uint8_t amdvi_cap_offset(const struct amdvi *a);

/* MMIO callbacks; opaque = the struct amdvi. Offsets inside the window that
 * name no implemented register read 0 and ignore writes. */
extern const struct bus_ops amdvi_mmio_ops;

/* The DMA translator for dma_space_set_translator (translate(opaque = a,
 * rid, iova, write, &gpa, &len), see iommu/dma.h). */
struct dma_translator amdvi_translator(struct amdvi *a);

/* Extended feature registers as MMIO reads them (IVHD 11h/40h images). */
uint64_t amdvi_efr(const struct amdvi *a);
uint64_t amdvi_efr2(const struct amdvi *a);
/* IVHD fields describing this IOMMU: flags byte (AMDVI_IVHD_FLAG_*),
 * IOMMU Info (AMDVI_IVHD_INFO_*), and the type-10h IOMMU Feature Reporting
 * word (AMDVI_IVHD_FEAT_*, derived from the EFR, no performance counters). */
uint8_t amdvi_ivhd_flags(const struct amdvi *a);
uint16_t amdvi_ivhd_info(const struct amdvi *a);
uint32_t amdvi_ivhd_feature_reporting(const struct amdvi *a);

/* Statistics (tests, benchmarks). */
struct amdvi_stats {
    uint64_t translations, iotlb_hits, iotlb_misses, faults, events_logged, events_dropped,
        commands;
};
void amdvi_get_stats(struct amdvi *a, struct amdvi_stats *s);

#endif
