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
 * Map notifications (VFIO shadowing, iommu/map_notify.h): listeners are
 * told what the guest's tables translate for their requester whenever the
 * guest invalidates (NpCache makes it invalidate on every map and unmap):
 *   INVALIDATE_IOMMU_PAGES(domain, range)  -> listeners whose DTE translates
 *       through that domain's v1 tables, or its v2 (GCR3, PASID 0) tables,
 *       are synced for the range (S = 1 ranges decoded as for the IOTLB);
 *   INVALIDATE_DEVTAB_ENTRY(devid)         -> full sync of that requester;
 *   INVALIDATE_IOMMU_ALL, Control writes changing IOMMUEn or GTEn, a new
 *   Device Table Base                      -> full sync of every listener.
 * sync() runs inline while the command is processed (register lock held),
 * so it has returned before a following COMPLETION_WAIT stores or
 * interrupts. What a requester translates mirrors amdvi_translate():
 * IOMMUEn = 0, DTE V = 0 or TV = 0 -> all guest RAM 1:1, read/write;
 * Mode 0 -> all RAM 1:1 with the DTE's IR/IW; Mode 1..6 -> v1 tables,
 * GV = GIOV = 1 -> v2 tables, walk permissions ANDed with IR/IW (pages with
 * neither left out); an illegal or unreadable DTE -> nothing. A walked page
 * not entirely inside one RAM region is left out and logged as an
 * IO_PAGE_FAULT event (rate-limited). If the tables cannot be enumerated
 * (hostile size caps, out of memory) the listener is told "nothing mapped"
 * for the range (fail closed) and a line is logged. Not covered: the
 * exclusion range (its identity window is not reported to listeners).
 */
#ifndef SLUICE_IOMMU_AMD_AMDVI_H
#define SLUICE_IOMMU_AMD_AMDVI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "iommu/amd/amdvi_regs.h"
#include "iommu/dma.h"
#include "iommu/map_notify.h"

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

/* ---- map notifications (see the header comment) ---- */
#define AMDVI_MAX_MAP_LISTENERS 16

/* Register a listener (copied; l->opaque borrowed until amdvi_destroy).
 * Register before the guest runs (not thread safe against guest MMIO
 * writes, though it takes the register lock). The listener gets a first
 * full sync at once, describing the current state (normally the IOMMU is
 * disabled: all RAM 1:1), so it must be ready for sync() calls. Returns 0,
 * -EINVAL (missing callbacks) or -ENOSPC (AMDVI_MAX_MAP_LISTENERS reached);
 * a failing first sync is only logged. */
int amdvi_add_map_listener(struct amdvi *a, const struct iommu_map_listener *l)
    __attribute__((warn_unused_result));

/* Everything the guest's tables currently translate for `rid`, over the
 * whole address space, in the map_notify.h `want` form, as a malloc'ed
 * array (*out, *n; the caller frees *out; *out is NULL when *n is 0). For
 * the consistency check at exit. Takes the register lock; logs no fault
 * events. Returns 0, -ENOMEM, or -E2BIG (tables beyond the enumeration
 * caps; *out NULL, *n 0). */
int amdvi_map_snapshot(struct amdvi *a, uint16_t rid, struct iommu_mapping **out, size_t *n)
    __attribute__((warn_unused_result));

/* Statistics (tests, benchmarks). */
#define AMDVI_STAT_OPCODES 9
struct amdvi_stats {
    uint64_t translations, iotlb_hits, iotlb_misses, faults, events_logged, events_dropped,
        commands;
    /* map notifications: listener sync() calls, and walked pages left out
     * because they are not RAM (not counted in `faults`) */
    uint64_t map_syncs, map_faults;
    /* commands by opcode (index = opcode, 0 and > 8 counted at 0), and
     * register accesses (each one an exit to sluice) */
    uint64_t commands_by_op[AMDVI_STAT_OPCODES];
    uint64_t mmio_reads, mmio_writes;
};
void amdvi_get_stats(struct amdvi *a, struct amdvi_stats *s);

#endif
