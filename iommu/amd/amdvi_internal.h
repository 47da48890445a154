/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi model internals shared by amdvi*.c (not for other modules; tests
 * include it to reach state the guest cannot see, e.g. the fault filter).
 *
 * Locks (see amdvi.h for the order): `lock` guards regs[], the command
 * buffer and event log processing and the fault filter; dtes.lock guards the
 * DTE cache and the device table base it was filled from; the IOTLB locks
 * itself. Fields marked "atomic" are written under `lock` and read without
 * it by the translation path.
 */
#ifndef SLUICE_IOMMU_AMD_AMDVI_INTERNAL_H
#define SLUICE_IOMMU_AMD_AMDVI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/msi.h"
#include "devices/pci/pci.h"
#include "iommu/amd/amdvi.h"
#include "iommu/amd/amdvi_ir.h"
#include "iommu/dma.h"
#include "iommu/iotlb.h"
#include "iommu/map_notify.h"

/* Shadow registers (one u64 each), in the order of the descriptor table. */
enum amdvi_reg {
    AMDVI_REG_DEV_TABLE_BASE,
    AMDVI_REG_CMD_BUF_BASE,
    AMDVI_REG_EVENT_LOG_BASE,
    AMDVI_REG_CONTROL,
    AMDVI_REG_EXCL_BASE,
    AMDVI_REG_EXCL_LIMIT,
    AMDVI_REG_EFR,
    AMDVI_REG_HW_EVENT_HI,
    AMDVI_REG_HW_EVENT_LO,
    AMDVI_REG_HW_EVENT_STATUS,
    AMDVI_REG_EFR2,
    AMDVI_REG_CMD_HEAD,
    AMDVI_REG_CMD_TAIL,
    AMDVI_REG_EVENT_HEAD,
    AMDVI_REG_EVENT_TAIL,
    AMDVI_REG_STATUS,
    AMDVI_REG_INTCAPXT_EVT,
    AMDVI_REG_INTCAPXT_PPR,
    AMDVI_REG_INTCAPXT_GALOG,
    AMDVI_REG_COUNT
};

/* A decoded device table entry. */
struct amdvi_dte {
    uint64_t q[AMDVI_DTE_QWORDS];
    bool v, tv, ir, iw, gv, giov, ex;
    unsigned mode, glx, guest_paging_mode;
    uint64_t pt_root, gcr3_table;
    uint16_t domain;
};

#define AMDVI_DTE_CACHE_SLOTS 256u   /* direct-mapped by devid */

struct amdvi_dte_slot {
    bool valid;
    uint16_t devid;
    uint64_t q[AMDVI_DTE_QWORDS];
};

struct amdvi_dte_cache {
    pthread_mutex_t lock;
    uint64_t base, size;             /* device table, bytes */
    uint64_t gen;                    /* bumped by every invalidation (lock held) */
    struct amdvi_dte_slot slots[AMDVI_DTE_CACHE_SLOTS];
};

/* Fault suppression: an identical fault (devid, page, event) repeated within
 * fault_dedup_ns is counted, not logged again. */
#define AMDVI_FAULT_FILTER_SLOTS 16u
#define AMDVI_FAULT_DEDUP_NS 100000000ULL /* 100 ms */

/* Distinct devids queued for the IR listener before falling back to "all". */
#define AMDVI_IR_PENDING_MAX 16u

struct amdvi_fault_rec {
    uint64_t q0, page;
    uint64_t when_ns;
};

/* IOTLB address-space tags: host tables, or the guest tables of a PASID. */
#define AMDVI_TAG_HOST 0u
#define AMDVI_TAG_GUEST_BIT 0x80000000u
#define AMDVI_TAG_GUEST(pasid) (AMDVI_TAG_GUEST_BIT | (uint32_t)(pasid))

/* Map listeners (amdvi_map.c), all under the register lock. `want` is a
 * scratch array reused by every sync (grown, never shrunk; freed at
 * destroy). */
struct amdvi_map_state {
    struct iommu_map_listener listeners[AMDVI_MAX_MAP_LISTENERS];
    unsigned n;
    struct iommu_mapping *want;
    size_t want_cap;
};

/* Fault events one sync may log (the rest are counted, not logged). */
#define AMDVI_MAP_FAULTS_PER_SYNC 16u

struct amdvi {
    struct amdvi_config cfg;
    struct dma_ram_region ram[DMA_MAX_RAM_REGIONS];
    struct dma_space mem;            /* identity over RAM: the IOMMU's own accesses */
    struct pci_device pci;
    struct pci_msi msi;
    uint8_t cap;

    pthread_mutex_t lock;
    uint64_t regs[AMDVI_REG_COUNT];
    uint64_t efr, efr2, ctrl_wmask;

    /* MSI message of vector 0 (written by vector_update under the MSI lock). */
    pthread_mutex_t msi_msg_lock;
    bool msi_deliverable;
    uint64_t msi_addr;
    uint32_t msi_data;

    /* atomic snapshots for the translation path */
    bool iommu_en, gt_en, excl_en, excl_allow;
    uint64_t excl_base, excl_last;

    struct amdvi_dte_cache dtes;
    struct iotlb *iotlb;

    struct amdvi_fault_rec faults[AMDVI_FAULT_FILTER_SLOTS];
    unsigned fault_next;
    uint64_t fault_dedup_ns;

    struct amdvi_stats stats;        /* atomic counters */

    /* Interrupt remapping (amdvi_ir.c). ga_en / xt_en: atomic snapshots of
     * Control. Invalidations noted while commands run under `lock` are
     * queued here and delivered to the listener after the lock is dropped
     * (amdvi_ir_flush_pending, at the end of every MMIO write). */
    bool ga_en, xt_en;
    struct amdvi_ir_listener ir_listener;     /* under `lock` */
    bool ir_pending_all;
    unsigned ir_pending_n;
    uint16_t ir_pending[AMDVI_IR_PENDING_MAX];

    struct amdvi_map_state map;               /* under `lock` */
};

static inline void amdvi_stat_inc(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* ---- amdvi_mmio.c (lock held unless noted) ---- */
void amdvi_regs_reset(struct amdvi *a);
/* Bytes of a log/buffer whose base register is `base_reg` (2^Len * 16), 0
 * when Len is reserved (< AMDVI_LOG_LEN_MIN). */
uint64_t amdvi_log_bytes(uint64_t base_reg);

/* ---- amdvi_cmd.c ---- */
/* Process commands from head to tail while CmdBufRun (lock held). */
void amdvi_cmd_process(struct amdvi *a);
/* INVALIDATE_IOMMU_PAGES q1 (address | S) -> inclusive IOVA range. */
void amdvi_inv_range(uint64_t q1, uint64_t *first, uint64_t *last);

/* ---- amdvi_event.c ---- */
uint64_t amdvi_event_q0(unsigned code, uint16_t devid, uint32_t domain_or_pasid, unsigned flags);
/* Append an event (lock held / taking the lock). Dropped when the log is not
 * running; full log: EventOverflow, EventLogRun cleared. */
void amdvi_event_log_locked(struct amdvi *a, uint64_t q0, uint64_t q1);
void amdvi_event_log(struct amdvi *a, uint64_t q0, uint64_t q1);
/* A fault from the translation path: rate-limited per (devid, page, kind). */
void amdvi_event_fault(struct amdvi *a, uint64_t q0, uint64_t q1);
/* The same with an explicit dedup key in place of the page (interrupt
 * remapping faults use the IRTE index). */
void amdvi_event_fault_keyed(struct amdvi *a, uint64_t q0, uint64_t q1, uint64_t key);
/* The same filter for a fault found with the register lock held (map
 * notifications); not counted in stats.faults. */
void amdvi_event_fault_locked(struct amdvi *a, uint64_t q0, uint64_t q1);
/* Set a status interrupt bit (EventLogInt / ComWaitInt); raise the MSI on a
 * 0 -> 1 transition when `enable_bit` is set in Control (lock held). */
void amdvi_status_raise(struct amdvi *a, uint64_t status_bit, uint64_t enable_bit);
void amdvi_msi_fire(void *opaque, unsigned vec);
void amdvi_msi_vector_update(void *opaque, unsigned vec, bool deliverable, uint64_t addr,
                             uint32_t data);

/* ---- amdvi_dte.c ---- */
int amdvi_dte_cache_init(struct amdvi_dte_cache *c) __attribute__((warn_unused_result));
void amdvi_dte_cache_destroy(struct amdvi_dte_cache *c);
/* New device table base register value: flushes the cache. */
void amdvi_dte_set_table(struct amdvi *a, uint64_t dev_table_base_reg);
void amdvi_dte_invalidate(struct amdvi *a, uint16_t devid);
void amdvi_dte_invalidate_all(struct amdvi *a);
enum amdvi_dte_status {
    AMDVI_DTE_OK = 0,
    AMDVI_DTE_OUT_OF_RANGE,          /* devid beyond the table: illegal DTE */
    AMDVI_DTE_READ_ERROR,            /* table not in RAM: *err_addr = DTE address */
};
/* Fetch (cached) and decode the DTE of `devid`. */
enum amdvi_dte_status amdvi_dte_get(struct amdvi *a, uint16_t devid, struct amdvi_dte *out,
                                    uint64_t *err_addr);
void amdvi_dte_decode(struct amdvi_dte *d);
/* Reserved-bit / illegal-encoding check of a V=1, TV=1 DTE for DMA. */
bool amdvi_dte_illegal(const struct amdvi *a, const struct amdvi_dte *d);

/* ---- amdvi_ir.c ---- */
/* Queue an interrupt-table invalidation for the listener (lock held). */
void amdvi_ir_note_invalidate(struct amdvi *a, uint16_t devid, bool all);
/* Deliver queued invalidations to the listener (no IOMMU lock held). */
void amdvi_ir_flush_pending(struct amdvi *a);
/* Send the IOMMU's own event/completion interrupt as IntCapXT register
 * `reg` describes (lock held; x2APIC destination, fixed, edge). */
void amdvi_intcapxt_send(struct amdvi *a, uint64_t reg);

/* ---- amdvi_map.c (lock held) ---- */
/* INVALIDATE_IOMMU_PAGES: sync [first, last] of every listener whose DTE
 * translates through tables of `domain` (GN = 1: guest tables of `pasid`,
 * only PASID 0 is shadowed; GN = 0: host or guest tables). */
void amdvi_map_notify_pages(struct amdvi *a, uint16_t domain, bool gn, uint32_t pasid,
                            uint64_t first, uint64_t last);
/* INVALIDATE_DEVTAB_ENTRY: full sync of the listeners with requester `devid`. */
void amdvi_map_notify_devid(struct amdvi *a, uint16_t devid);
/* INVALIDATE_IOMMU_ALL, IOMMUEn / GTEn changes, a new device table: full
 * sync of every listener. */
void amdvi_map_notify_all(struct amdvi *a);
/* Free the scratch array (amdvi_destroy; no lock needed). */
void amdvi_map_fini(struct amdvi *a);

/* ---- amdvi_translate.c ---- */
int amdvi_translate(void *opaque, uint16_t rid, uint64_t iova, bool write, uint64_t *gpa,
                    uint64_t *len);
int amdvi_mem_read64(void *opaque, uint64_t gpa, uint64_t *val);

#endif
