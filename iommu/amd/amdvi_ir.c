/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi interrupt remapping (spec 2.2.5): DTE interrupt fields, legacy and
 * GA IRTEs, x2APIC destinations, the invalidation listener and the IOMMU's
 * own IntCapXT interrupts. The contract is in amdvi_ir.h.
 *
 * IRTEs are never cached: every translation reads the entry from guest RAM
 * (translation happens at route setup, not per interrupt), so an
 * invalidation only has to reach the listener.
 */
#define LOG_MODULE "amdvi"
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "iommu/amd/amdvi_internal.h"
#include "vmm/log.h"

/* One decoded IRTE, either format. */
struct amdvi_irte {
    bool remap_en, sup_iopf, guest_mode, dm;
    unsigned int_type;
    uint32_t dest;
    uint8_t vector;
};

/* One interrupt request being translated. */
struct ir_req {
    struct amdvi *a;
    uint16_t devid;
    uint64_t addr;
    uint32_t data;
    unsigned index;
};

uint64_t amdvi_ir_msi_addr(uint32_t dest, bool logical, bool redir_hint)
{
    return MSI_ADDR_BASE | ((uint64_t)(dest & MSI_ADDR_DEST_ID_MASK) << MSI_ADDR_DEST_ID_SHIFT) |
           (logical ? MSI_ADDR_DEST_MODE_LOGICAL : 0) | (redir_hint ? MSI_ADDR_REDIR_HINT : 0) |
           ((uint64_t)(dest >> 8) << 40);
}

bool amdvi_ir_enabled(struct amdvi *a)
{
    return a->cfg.intremap && __atomic_load_n(&a->iommu_en, __ATOMIC_ACQUIRE);
}

/* ---- faults ----------------------------------------------------------------- */

/* Log `code` for the request (I = 1, RW = 1), deduplicated per
 * (devid, code, flags, index); returns BLOCKED. */
static enum amdvi_ir_result ir_block(const struct ir_req *r, unsigned code, unsigned flags,
                                     uint64_t address)
{
    uint64_t q0 = amdvi_event_q0(code, r->devid, 0,
                                 flags | AMDVI_EVT_FLAG_I | AMDVI_EVT_FLAG_RW);

    amdvi_event_fault_keyed(r->a, q0, address, r->index);
    return AMDVI_IR_BLOCKED;
}

static enum amdvi_ir_result ir_block_iopf(const struct ir_req *r, unsigned flags)
{
    return ir_block(r, AMDVI_EVT_IO_PAGE_FAULT, flags, r->addr);
}

/* ---- IRTE ------------------------------------------------------------------- */

static void irte_decode_legacy(uint32_t e, struct amdvi_irte *t)
{
    t->remap_en = e & AMDVI_IRTE_REMAP_EN;
    t->sup_iopf = e & AMDVI_IRTE_SUP_IOPF;
    t->int_type = (unsigned)FIELD_GET(AMDVI_IRTE_INT_TYPE, e);
    t->dm = e & AMDVI_IRTE_DM;
    t->guest_mode = e & AMDVI_IRTE_GUEST_MODE;
    t->dest = (uint32_t)FIELD_GET(AMDVI_IRTE_DEST, e);
    t->vector = (uint8_t)FIELD_GET(AMDVI_IRTE_VECTOR, e);
}

static void irte_decode_ga(uint64_t lo, uint64_t hi, bool xt, struct amdvi_irte *t)
{
    t->remap_en = lo & AMDVI_IRTE_GA_LO_REMAP_EN;
    t->sup_iopf = lo & AMDVI_IRTE_GA_LO_SUP_IOPF;
    t->int_type = (unsigned)FIELD_GET(AMDVI_IRTE_GA_LO_INT_TYPE, lo);
    t->dm = lo & AMDVI_IRTE_GA_LO_DM;
    t->guest_mode = lo & AMDVI_IRTE_GA_LO_GUEST_MODE;
    t->dest = (uint32_t)FIELD_GET(AMDVI_IRTE_GA_LO_DEST_LO, lo);
    if (xt)
        t->dest |= (uint32_t)FIELD_GET(AMDVI_IRTE_GA_HI_DEST_HI, hi)
                   << AMDVI_IRTE_GA_DEST_HI_SHIFT;
    else
        t->dest &= MSI_ADDR_DEST_ID_MASK;
    t->vector = (uint8_t)FIELD_GET(AMDVI_IRTE_GA_HI_VECTOR, hi);
}

/* Read entry r->index of the table at `root` in the current format.
 * Returns false (and *err_addr) when the entry is not in RAM. */
static bool irte_read(const struct ir_req *r, uint64_t root, struct amdvi_irte *t,
                      uint64_t *err_addr)
{
    struct amdvi *a = r->a;

    if (__atomic_load_n(&a->ga_en, __ATOMIC_ACQUIRE)) {
        uint64_t at = root + (uint64_t)r->index * AMDVI_IRTE_GA_SIZE, e[2];
        if (dma_read(&a->mem, at, e, sizeof(e))) {
            *err_addr = at;
            return false;
        }
        irte_decode_ga(le64toh(e[0]), le64toh(e[1]),
                       __atomic_load_n(&a->xt_en, __ATOMIC_ACQUIRE), t);
        return true;
    }
    uint64_t at = root + (uint64_t)r->index * AMDVI_IRTE_SIZE;
    uint32_t e;
    if (dma_read(&a->mem, at, &e, sizeof(e))) {
        *err_addr = at;
        return false;
    }
    irte_decode_legacy(le32toh(e), t);
    return true;
}

/* IntCtl = 2: look the request up in the interrupt table. */
static enum amdvi_ir_result ir_remap(const struct ir_req *r, uint64_t q2, uint64_t *out_addr,
                                     uint32_t *out_data)
{
    unsigned len = (unsigned)FIELD_GET(AMDVI_DTE_INT_TAB_LEN, q2);
    struct amdvi_irte t;
    uint64_t err_addr = 0;

    if (len > AMDVI_DTE_INT_TAB_LEN_MAX)
        return ir_block(r, AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY, AMDVI_EVT_FLAG_RZ, r->addr);
    if (r->index >= (1u << len))
        return ir_block_iopf(r, 0);
    if (!irte_read(r, q2 & AMDVI_DTE_INT_TABLE_ROOT, &t, &err_addr))
        return ir_block(r, AMDVI_EVT_PAGE_TAB_HARDWARE_ERROR,
                        (unsigned)FIELD_PREP(AMDVI_EVT_FLAG_HW_TYPE, AMDVI_HW_ERR_MASTER_ABORT),
                        err_addr);
    if (!t.remap_en) {
        if (t.sup_iopf)
            return AMDVI_IR_BLOCKED;
        return ir_block_iopf(r, 0);
    }
    /* vAPIC posting (GAMSup = 0) and reserved interrupt types */
    if (t.guest_mode || t.int_type > AMDVI_IR_TYPE_ARBITRATED)
        return ir_block_iopf(r, AMDVI_EVT_FLAG_PR | AMDVI_EVT_FLAG_RZ);
    *out_addr = amdvi_ir_msi_addr(t.dest, t.dm, false);
    *out_data = t.vector | (uint32_t)(t.int_type << MSI_DATA_DELIVERY_SHIFT);
    return AMDVI_IR_REMAPPED;
}

/* Fixed / arbitrated requests: the DTE's IntCtl decides. */
static enum amdvi_ir_result ir_intctl(const struct ir_req *r, uint64_t q2, uint64_t *out_addr,
                                      uint32_t *out_data)
{
    switch ((unsigned)FIELD_GET(AMDVI_DTE_INT_CTL, q2)) {
    case AMDVI_DTE_INT_CTL_FORWARD:
        return AMDVI_IR_PASSTHROUGH;
    case AMDVI_DTE_INT_CTL_REMAP:
        return ir_remap(r, q2, out_addr, out_data);
    case AMDVI_DTE_INT_CTL_ABORT:
        return ir_block_iopf(r, 0);
    default:
        return ir_block(r, AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY, AMDVI_EVT_FLAG_RZ, r->addr);
    }
}

/* NMI / INIT / ExtINT: passed unchanged when the DTE allows it. */
static enum amdvi_ir_result ir_special(const struct ir_req *r, unsigned type, uint64_t q2)
{
    uint64_t pass = 0;

    switch (type) {
    case AMDVI_IR_TYPE_NMI:
        pass = q2 & AMDVI_DTE_NMI_PASS;
        break;
    case AMDVI_IR_TYPE_INIT:
        pass = q2 & AMDVI_DTE_INIT_PASS;
        break;
    case AMDVI_IR_TYPE_EXTINT:
        pass = q2 & AMDVI_DTE_EINT_PASS;
        break;
    default: /* SMI, reserved */
        break;
    }
    return pass ? AMDVI_IR_PASSTHROUGH : ir_block_iopf(r, 0);
}

enum amdvi_ir_result amdvi_ir_translate(struct amdvi *a, uint16_t devid, uint64_t addr,
                                        uint32_t data, uint64_t *out_addr, uint32_t *out_data)
{
    struct ir_req r = { .a = a, .devid = devid, .addr = addr, .data = data,
                        .index = (unsigned)FIELD_GET(AMDVI_IR_MSI_INDEX, data) };
    struct amdvi_dte dte;
    uint64_t err_addr = 0;

    *out_addr = addr;
    *out_data = data;
    if (!amdvi_ir_enabled(a))
        return AMDVI_IR_PASSTHROUGH;
    /* the IOMMU's own interrupts are never remapped (Linux does not set up
     * an interrupt table for it); this also keeps its event interrupt,
     * sent under the register lock, out of this path */
    if (devid == pci_requester_id(&a->pci))
        return AMDVI_IR_PASSTHROUGH;
    switch (amdvi_dte_get(a, devid, &dte, &err_addr)) {
    case AMDVI_DTE_OK:
        break;
    case AMDVI_DTE_OUT_OF_RANGE:
        return ir_block(&r, AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY, 0, addr);
    case AMDVI_DTE_READ_ERROR:
    default:
        return ir_block(&r, AMDVI_EVT_DEV_TAB_HARDWARE_ERROR,
                        (unsigned)FIELD_PREP(AMDVI_EVT_FLAG_HW_TYPE, AMDVI_HW_ERR_MASTER_ABORT),
                        err_addr);
    }
    uint64_t q2 = dte.q[2];
    if (!dte.v || !(q2 & AMDVI_DTE_IV))
        return AMDVI_IR_PASSTHROUGH;

    unsigned type = (unsigned)FIELD_GET(AMDVI_IR_MSI_TYPE, data);
    if (type == AMDVI_IR_TYPE_FIXED || type == AMDVI_IR_TYPE_ARBITRATED)
        return ir_intctl(&r, q2, out_addr, out_data);
    return ir_special(&r, type, q2);
}

/* ---- invalidation listener --------------------------------------------------- */

void amdvi_ir_set_listener(struct amdvi *a, const struct amdvi_ir_listener *l)
{
    pthread_mutex_lock(&a->lock);
    if (l)
        a->ir_listener = *l;
    else
        memset(&a->ir_listener, 0, sizeof(a->ir_listener));
    pthread_mutex_unlock(&a->lock);
}

void amdvi_ir_note_invalidate(struct amdvi *a, uint16_t devid, bool all)
{
    if (!a->cfg.intremap || !a->ir_listener.invalidate)
        return;
    if (all || a->ir_pending_all) {
        a->ir_pending_all = true;
        return;
    }
    for (unsigned i = 0; i < a->ir_pending_n; i++)
        if (a->ir_pending[i] == devid)
            return;
    if (a->ir_pending_n == AMDVI_IR_PENDING_MAX) {
        a->ir_pending_all = true;
        return;
    }
    a->ir_pending[a->ir_pending_n++] = devid;
}

void amdvi_ir_flush_pending(struct amdvi *a)
{
    uint16_t devids[AMDVI_IR_PENDING_MAX];
    struct amdvi_ir_listener l;

    pthread_mutex_lock(&a->lock);
    bool all = a->ir_pending_all;
    unsigned n = a->ir_pending_n;
    memcpy(devids, a->ir_pending, n * sizeof(devids[0]));
    a->ir_pending_all = false;
    a->ir_pending_n = 0;
    l = a->ir_listener;
    pthread_mutex_unlock(&a->lock);

    if (!l.invalidate)
        return;
    if (all) {
        l.invalidate(l.opaque, 0, true);
        return;
    }
    for (unsigned i = 0; i < n; i++)
        l.invalidate(l.opaque, devids[i], false);
}

/* ---- IntCapXT ---------------------------------------------------------------- */

void amdvi_intcapxt_send(struct amdvi *a, uint64_t reg)
{
    uint32_t dest = (uint32_t)FIELD_GET(AMDVI_INTCAPXT_DEST_LO, reg) |
                    ((uint32_t)FIELD_GET(AMDVI_INTCAPXT_DEST_HI, reg) << 24);
    uint64_t addr = amdvi_ir_msi_addr(dest, (reg & AMDVI_INTCAPXT_DM) != 0, false);
    uint32_t data = (uint32_t)FIELD_GET(AMDVI_INTCAPXT_VECTOR, reg); /* fixed, edge */
    int ret;

    /* Linux masks an IntCapXT interrupt by writing 0 (intcapxt_mask_irq):
     * vectors 0..15 are not deliverable, drop them */
    if (data < 16) {
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "IntCapXT vector %u: interrupt dropped", data);
        return;
    }
    if (a->pci.host)
        ret = pci_send_msi(&a->pci, addr, data);
    else if (a->cfg.sink && a->cfg.sink->send_msi)
        ret = a->cfg.sink->send_msi(a->cfg.sink->opaque, pci_requester_id(&a->pci), addr, data);
    else
        ret = -ENODEV;
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "IntCapXT interrupt not delivered: %d", ret);
}
