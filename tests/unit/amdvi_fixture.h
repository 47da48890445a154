/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture for the AMD-Vi device tests: fake guest RAM, a recording
 * MSI sink, an IOMMU driven through its MMIO callbacks and PCI config space
 * the way Linux's amd_iommu driver drives it, and builders for the device
 * table, commands and v1/v2 page tables.
 *
 * Guest-physical layout (all inside the fake RAM at 0):
 *   FX_DEV_TABLE  device table (65536 entries)
 *   FX_CMD_BUF    command buffer (256 entries)
 *   FX_EVT_LOG    event log (256 entries)
 *   FX_SEM        COMPLETION_WAIT store target
 *   FX_PT_POOL    page-table pages (bump allocator)
 *   FX_DATA       data pages that translations point at
 */
#ifndef SLUICE_TESTS_AMDVI_FIXTURE_H
#define SLUICE_TESTS_AMDVI_FIXTURE_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "iommu/amd/amdvi.h"
#include "iommu/amd/amdvi_internal.h"
#include "iommu/amd/amdvi_pgtable.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_guest_ram.h"

#define FX_RAM_SIZE (64ULL << 20)
#define FX_DEV_TABLE 0x100000ULL
#define FX_DEV_TABLE_SIZE_FIELD 511ULL          /* (511 + 1) * 4 KiB = 2 MiB */
#define FX_CMD_BUF 0x400000ULL
#define FX_EVT_LOG 0x410000ULL
#define FX_LOG_LEN 8ULL                         /* 256 entries */
#define FX_LOG_BYTES (256ULL * 16)
#define FX_SEM 0x420000ULL
#define FX_PT_POOL 0x800000ULL
#define FX_DATA 0x2000000ULL
#define FX_MMIO_BASE 0xfed80000ULL
#define FX_MSI_ADDR 0xfee00000ULL
#define FX_MSI_DATA 0x4041u

struct fx_sink {
    pthread_mutex_t lock;
    unsigned count;
    uint16_t source;
    uint64_t addr;
    uint32_t data;
};

struct fx {
    struct fake_ram ram;
    struct fx_sink sink_state;
    struct msi_sink sink;
    struct amdvi *a;
    uint64_t pt_next;
    uint64_t cmd_tail;
    uint64_t evt_head;
};

static int fx_send_msi(void *opaque, uint16_t source, uint64_t addr, uint32_t data)
{
    struct fx_sink *s = opaque;
    pthread_mutex_lock(&s->lock);
    s->count++;
    s->source = source;
    s->addr = addr;
    s->data = data;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static inline unsigned fx_msis(struct fx *f)
{
    pthread_mutex_lock(&f->sink_state.lock);
    unsigned n = f->sink_state.count;
    pthread_mutex_unlock(&f->sink_state.lock);
    return n;
}

/* ---- MMIO and config space ---- */
static inline uint64_t fx_r64(struct fx *f, uint64_t off)
{
    uint64_t v = 0;
    amdvi_mmio_ops.read(f->a, off, &v, 8);
    return v;
}

static inline uint32_t fx_r32(struct fx *f, uint64_t off)
{
    uint32_t v = 0;
    amdvi_mmio_ops.read(f->a, off, &v, 4);
    return v;
}

static inline void fx_w64(struct fx *f, uint64_t off, uint64_t v)
{
    amdvi_mmio_ops.write(f->a, off, &v, 8);
}

static inline void fx_w32(struct fx *f, uint64_t off, uint32_t v)
{
    amdvi_mmio_ops.write(f->a, off, &v, 4);
}

static inline uint32_t fx_cfg_r32(struct fx *f, unsigned off)
{
    uint32_t v = 0;
    pci_config_read(amdvi_pci_device(f->a), off, &v, 4);
    return v;
}

static inline void fx_cfg_w32(struct fx *f, unsigned off, uint32_t v)
{
    pci_config_write(amdvi_pci_device(f->a), off, &v, 4);
}

static inline void fx_cfg_w16(struct fx *f, unsigned off, uint16_t v)
{
    pci_config_write(amdvi_pci_device(f->a), off, &v, 2);
}

/* Program and enable the IOMMU's MSI (64-bit capability). */
static inline void fx_enable_msi(struct fx *f)
{
    unsigned cap = pci_find_capability(amdvi_pci_device(f->a), PCI_CAP_ID_MSI);
    fx_cfg_w32(f, cap + PCI_MSI_ADDRESS_LO, (uint32_t)FX_MSI_ADDR);
    fx_cfg_w32(f, cap + PCI_MSI_ADDRESS_HI, 0);
    fx_cfg_w16(f, cap + PCI_MSI_DATA_64, FX_MSI_DATA);
    fx_cfg_w16(f, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE);
}

/* ---- lifecycle ---- */
static inline int fx_init_cfg(struct fx *f, bool guest_tables, unsigned iotlb_entries)
{
    memset(f, 0, sizeof(*f));
    if (fake_ram_init(&f->ram, 0, FX_RAM_SIZE))
        return -ENOMEM;
    pthread_mutex_init(&f->sink_state.lock, NULL);
    f->sink = (struct msi_sink){ .send_msi = fx_send_msi, .opaque = &f->sink_state };
    struct amdvi_config cfg = {
        .mmio_base = FX_MMIO_BASE, .ram = &f->ram.region, .nram = 1, .sink = &f->sink,
        .guest_tables = guest_tables, .iotlb_entries = iotlb_entries,
    };
    int ret = amdvi_create(&cfg, &f->a);
    if (ret) {
        fake_ram_free(&f->ram);
        return ret;
    }
    f->a->fault_dedup_ns = 0; /* every fault logged unless a test says otherwise */
    f->pt_next = FX_PT_POOL;
    return 0;
}

static inline int fx_init(struct fx *f)
{
    return fx_init_cfg(f, true, 0);
}

static inline void fx_fini(struct fx *f)
{
    amdvi_destroy(f->a);
    fake_ram_free(&f->ram);
    pthread_mutex_destroy(&f->sink_state.lock);
}

/* What Linux does: tables and buffers, head/tail zero, then enables. */
static inline void fx_enable(struct fx *f, uint64_t extra_ctrl)
{
    fx_w64(f, AMDVI_MMIO_DEV_TABLE_BASE, FX_DEV_TABLE | FX_DEV_TABLE_SIZE_FIELD);
    fx_w64(f, AMDVI_MMIO_CMD_BUF_BASE, FX_CMD_BUF | (FX_LOG_LEN << 56));
    fx_w64(f, AMDVI_MMIO_EVENT_LOG_BASE, FX_EVT_LOG | (FX_LOG_LEN << 56));
    fx_w64(f, AMDVI_MMIO_CMD_HEAD, 0);
    fx_w64(f, AMDVI_MMIO_CMD_TAIL, 0);
    fx_w64(f, AMDVI_MMIO_EVENT_HEAD, 0);
    fx_w64(f, AMDVI_MMIO_EVENT_TAIL, 0);
    fx_w64(f, AMDVI_MMIO_CONTROL,
           AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_EVENT_LOG_EN | AMDVI_CTRL_CMDBUF_EN |
               AMDVI_CTRL_COHERENT | extra_ctrl);
    f->cmd_tail = 0;
    f->evt_head = 0;
}

/* ---- commands ---- */
static inline void fx_cmd_put(struct fx *f, uint64_t q0, uint64_t q1)
{
    fake_ram_w64(&f->ram, FX_CMD_BUF + f->cmd_tail, q0);
    fake_ram_w64(&f->ram, FX_CMD_BUF + f->cmd_tail + 8, q1);
    f->cmd_tail = (f->cmd_tail + 16) % FX_LOG_BYTES;
}

static inline void fx_cmd_kick(struct fx *f)
{
    fx_w64(f, AMDVI_MMIO_CMD_TAIL, f->cmd_tail);
}

static inline void fx_cmd(struct fx *f, uint64_t q0, uint64_t q1)
{
    fx_cmd_put(f, q0, q1);
    fx_cmd_kick(f);
}

static inline uint64_t fx_op(unsigned opcode)
{
    return FIELD_PREP(AMDVI_CMD_OPCODE, opcode);
}

/* Linux's build_inv_address: one page without S, else the smallest aligned
 * power-of-two range covering [addr, addr + size) with S set. */
static inline uint64_t fx_inv_address(uint64_t addr, uint64_t size)
{
    uint64_t end = addr + size - 1;
    if (size <= AMDVI_PAGE_SIZE && (addr >> 12) == (end >> 12))
        return addr & ~(AMDVI_PAGE_SIZE - 1);
    unsigned msb_diff = 63u - (unsigned)__builtin_clzll(end ^ addr);
    if (msb_diff > 51)
        return AMDVI_CMD_INV_ALL_PAGES_ADDR | AMDVI_CMD_INV_S;
    addr |= (1ULL << msb_diff) - 1;
    addr &= ~(AMDVI_PAGE_SIZE - 1);
    return addr | AMDVI_CMD_INV_S;
}

static inline void fx_inv_pages(struct fx *f, uint16_t domain, uint64_t addr_s, bool gn,
                                uint32_t pasid)
{
    fx_cmd(f, fx_op(AMDVI_CMD_INVALIDATE_IOMMU_PAGES) |
                  FIELD_PREP(AMDVI_CMD_INV_DOMAIN_ID, domain) |
                  FIELD_PREP(AMDVI_CMD_INV_PASID, pasid),
           addr_s | AMDVI_CMD_INV_PDE | (gn ? AMDVI_CMD_INV_GN : 0));
}

static inline void fx_inv_dte(struct fx *f, uint16_t devid)
{
    fx_cmd(f, fx_op(AMDVI_CMD_INVALIDATE_DEVTAB_ENTRY) | devid, 0);
}

/* ---- events ---- */
/* Next unread event (returns false when none); advances the guest's head. */
static inline bool fx_event(struct fx *f, uint64_t *q0, uint64_t *q1)
{
    uint64_t tail = fx_r64(f, AMDVI_MMIO_EVENT_TAIL);
    if (f->evt_head == tail)
        return false;
    uint64_t e0, e1;
    fake_ram_read(&f->ram, FX_EVT_LOG + f->evt_head, &e0, 8);
    fake_ram_read(&f->ram, FX_EVT_LOG + f->evt_head + 8, &e1, 8);
    *q0 = le64toh(e0);
    *q1 = le64toh(e1);
    f->evt_head = (f->evt_head + 16) % FX_LOG_BYTES;
    fx_w64(f, AMDVI_MMIO_EVENT_HEAD, f->evt_head);
    return true;
}

static inline unsigned fx_evt_code(uint64_t q0)
{
    return (unsigned)FIELD_GET(AMDVI_EVT_CODE, q0);
}

/* ---- device table ---- */
static inline void fx_set_dte(struct fx *f, uint16_t devid, uint64_t q0, uint64_t q1,
                              uint64_t q2)
{
    uint64_t at = FX_DEV_TABLE + (uint64_t)devid * AMDVI_DTE_SIZE;
    fake_ram_w64(&f->ram, at, q0);
    fake_ram_w64(&f->ram, at + 8, q1);
    fake_ram_w64(&f->ram, at + 16, q2);
    fake_ram_w64(&f->ram, at + 24, 0);
}

/* V=1 TV=1 v1 DTE: root, mode, domain, IR/IW. */
static inline void fx_dte_v1(struct fx *f, uint16_t devid, uint64_t root, unsigned mode,
                             uint16_t domain, bool ir, bool iw)
{
    fx_set_dte(f, devid,
               AMDVI_DTE_V | AMDVI_DTE_TV | FIELD_PREP(AMDVI_DTE_MODE, mode) |
                   (root & AMDVI_DTE_PT_ROOT) | (ir ? AMDVI_DTE_IR : 0) |
                   (iw ? AMDVI_DTE_IW : 0),
               FIELD_PREP(AMDVI_DTE_DOMAIN_ID, domain), 0);
}

/* GV=1 GIOV=1 Mode 0 DTE with a one-level GCR3 table (as Linux's pgtbl_v2). */
static inline void fx_dte_v2(struct fx *f, uint16_t devid, uint64_t gcr3_table, uint16_t domain)
{
    uint64_t q0 = AMDVI_DTE_V | AMDVI_DTE_TV | AMDVI_DTE_GV | AMDVI_DTE_GIOV | AMDVI_DTE_IR |
                  AMDVI_DTE_IW |
                  FIELD_PREP(AMDVI_DTE_GCR3_A, (gcr3_table >> AMDVI_GCR3_A_SHIFT) & 0x7);
    uint64_t q1 = FIELD_PREP(AMDVI_DTE_DOMAIN_ID, domain) |
                  FIELD_PREP(AMDVI_DTE_GCR3_B, (gcr3_table >> AMDVI_GCR3_B_SHIFT) & 0xffff) |
                  FIELD_PREP(AMDVI_DTE_GCR3_C, gcr3_table >> AMDVI_GCR3_C_SHIFT);
    fx_set_dte(f, devid, q0, q1, 0);
}

/* ---- page tables ---- */
static inline uint64_t fx_pt_alloc(struct fx *f)
{
    uint64_t p = f->pt_next;
    f->pt_next += AMDVI_PT_PAGE_SIZE;
    memset(fake_ram_ptr(&f->ram, p, AMDVI_PT_PAGE_SIZE), 0, AMDVI_PT_PAGE_SIZE);
    return p;
}

static inline uint64_t fx_r64_ram(struct fx *f, uint64_t gpa)
{
    uint64_t v;
    fake_ram_read(&f->ram, gpa, &v, 8);
    return le64toh(v);
}

/* Map one 4 KiB page in a v1 table of `mode` levels (all directory
 * entries IR|IW, the leaf's permissions as given). */
static inline void fx_map_v1(struct fx *f, uint64_t root, unsigned mode, uint64_t iova,
                             uint64_t gpa, bool ir, bool iw)
{
    uint64_t table = root;
    for (unsigned level = mode; level > 1; level--) {
        uint64_t slot = table + amdvi_pt_index(iova, level) * AMDVI_PT_ENTRY_SIZE;
        uint64_t e = fx_r64_ram(f, slot);
        if (!(e & AMDVI_PTE_PR)) {
            e = fx_pt_alloc(f) | AMDVI_PTE_PR | FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, level - 1) |
                AMDVI_PTE_IR | AMDVI_PTE_IW;
            fake_ram_w64(&f->ram, slot, e);
        }
        table = e & AMDVI_PTE_ADDR;
    }
    fake_ram_w64(&f->ram, table + amdvi_pt_index(iova, 1) * AMDVI_PT_ENTRY_SIZE,
                 (gpa & AMDVI_PTE_ADDR) | AMDVI_PTE_PR | (ir ? AMDVI_PTE_IR : 0) |
                     (iw ? AMDVI_PTE_IW : 0));
}

/* The leaf entry address of `iova` in a v1 table built by fx_map_v1. */
static inline uint64_t fx_v1_leaf(struct fx *f, uint64_t root, unsigned mode, uint64_t iova)
{
    uint64_t table = root;
    for (unsigned level = mode; level > 1; level--)
        table = fx_r64_ram(f, table + amdvi_pt_index(iova, level) * AMDVI_PT_ENTRY_SIZE) &
                AMDVI_PTE_ADDR;
    return table + amdvi_pt_index(iova, 1) * AMDVI_PT_ENTRY_SIZE;
}

/* v2: GCR3 table (one level) whose PASID 0 entry points at a fresh CR3. */
static inline uint64_t fx_v2_gcr3(struct fx *f, uint64_t *cr3)
{
    uint64_t gcr3 = fx_pt_alloc(f);
    *cr3 = fx_pt_alloc(f);
    fake_ram_w64(&f->ram, gcr3, *cr3 | AMDVI_GCR3_V);
    return gcr3;
}

static inline void fx_map_v2(struct fx *f, uint64_t cr3, uint64_t iova, uint64_t gpa, bool rw)
{
    uint64_t table = cr3;
    uint64_t dir = AMDVI_GPTE_P | AMDVI_GPTE_RW | AMDVI_GPTE_US | AMDVI_GPTE_A;
    for (unsigned level = AMDVI_V2_LEVELS_4; level > 1; level--) {
        uint64_t slot = table + amdvi_pt_index(iova, level) * AMDVI_PT_ENTRY_SIZE;
        uint64_t e = fx_r64_ram(f, slot);
        if (!(e & AMDVI_GPTE_P)) {
            e = fx_pt_alloc(f) | dir;
            fake_ram_w64(&f->ram, slot, e);
        }
        table = e & AMDVI_GPTE_ADDR;
    }
    fake_ram_w64(&f->ram, table + amdvi_pt_index(iova, 1) * AMDVI_PT_ENTRY_SIZE,
                 (gpa & AMDVI_GPTE_ADDR) | AMDVI_GPTE_P | AMDVI_GPTE_US | AMDVI_GPTE_A |
                     AMDVI_GPTE_D | (rw ? AMDVI_GPTE_RW : 0));
}

/* Translate through the IOMMU (what a dma_space does). */
static inline int fx_xlate(struct fx *f, uint16_t rid, uint64_t iova, bool write, uint64_t *gpa,
                           uint64_t *len)
{
    struct dma_translator tr = amdvi_translator(f->a);
    uint64_t g = 0, l = 0;
    int ret = tr.translate(tr.opaque, rid, iova, write, &g, &l);
    if (gpa)
        *gpa = g;
    if (len)
        *len = l;
    return ret;
}

#endif
