/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi DMA remapping: the dma_translator every device behind the IOMMU
 * uses (the hot path, called from device I/O threads concurrently).
 *
 *   IOMMUEn = 0                         -> identity (pass-through)
 *   DTE V = 0 or TV = 0                 -> identity
 *   DTE reserved bits / bad encoding    -> ILLEGAL_DEV_TABLE_ENTRY, -EFAULT
 *   exclusion range hit (Allow or EX)   -> identity inside the range
 *   GV = 1, GIOV = 1 (v2, PASID 0)      -> GCR3 table -> x86-64 walk (Mode must be 0:
 *                                          nested v2-over-v1 is not implemented and
 *                                          is treated as an illegal DTE)
 *   Mode 0                              -> identity, subject to DTE IR/IW
 *   Mode 1..6                           -> v1 walk
 * Walked translations are cached in the IOTLB under (DomainID, host tables
 * or guest tables of the PASID, page) with the walk's permissions; the DTE's
 * IR/IW are ANDed at use. A denied access logs IO_PAGE_FAULT (rate-limited
 * per devid/page) and returns -EPERM (permission) or -EFAULT (not present,
 * reserved bits, table not in RAM: PAGE_TAB_HARDWARE_ERROR).
 *
 * Only the DTE cache and IOTLB locks are taken; the register lock only to
 * log a fault, with nothing else held.
 */
#include <endian.h>
#include <errno.h>

#include "iommu/amd/amdvi_internal.h"
#include "iommu/amd/amdvi_walk.h"

struct xlate {
    struct amdvi *a;
    uint16_t rid;
    uint64_t iova;
    bool write;
    const struct amdvi_dte *dte;
};

int amdvi_mem_read64(void *opaque, uint64_t gpa, uint64_t *val)
{
    struct amdvi *a = opaque;
    uint64_t v;

    if (dma_read(&a->mem, gpa, &v, sizeof(v)))
        return -EFAULT;
    *val = le64toh(v);
    return 0;
}

/* Bytes from `iova` to the top of the address space (0 means 2^64). */
static int identity(uint64_t iova, uint64_t *gpa, uint64_t *len)
{
    *gpa = iova;
    *len = iova ? (uint64_t)0 - iova : UINT64_MAX;
    return 0;
}

static int fault(const struct xlate *x, unsigned code, unsigned flags, uint32_t dom_or_pasid,
                 uint64_t addr, int err)
{
    if (x->write)
        flags |= AMDVI_EVT_FLAG_RW;
    amdvi_event_fault(x->a, amdvi_event_q0(code, x->rid, dom_or_pasid, flags), addr);
    return err;
}

static bool excluded(struct amdvi *a, const struct amdvi_dte *dte, uint64_t iova, uint64_t *len)
{
    if (!__atomic_load_n(&a->excl_en, __ATOMIC_ACQUIRE))
        return false;
    if (!__atomic_load_n(&a->excl_allow, __ATOMIC_RELAXED) && !dte->ex)
        return false;
    uint64_t base = __atomic_load_n(&a->excl_base, __ATOMIC_RELAXED);
    uint64_t last = __atomic_load_n(&a->excl_last, __ATOMIC_RELAXED);
    if (iova < base || iova > last)
        return false;
    *len = last - iova + 1; /* 0 only when last is 2^64 - 1 and iova 0 */
    if (*len == 0)
        *len = UINT64_MAX;
    return true;
}

static int walk(const struct xlate *x, bool guest, uint32_t tag, struct iotlb_entry *e)
{
    struct amdvi *a = x->a;
    const struct amdvi_dte *dte = x->dte;
    const struct amdvi_walk_mem mem = { .read64 = amdvi_mem_read64, .opaque = a };
    struct amdvi_walk_result r = { 0 };
    unsigned gn = guest ? AMDVI_EVT_FLAG_GN : 0;
    uint32_t id = guest ? 0 : dte->domain; /* GN = 1 events carry the PASID */
    uint64_t gen = iotlb_generation(a->iotlb);
    int st = guest ? amdvi_walk_v2(&mem, dte->gcr3_table, dte->glx, 0, x->iova, &r)
                   : amdvi_walk_v1(&mem, dte->pt_root, dte->mode, x->iova, &r);

    switch (st) {
    case AMDVI_WALK_OK:
        break;
    case AMDVI_WALK_NOT_PRESENT:
        return fault(x, AMDVI_EVT_IO_PAGE_FAULT, gn, id, x->iova, -EFAULT);
    case AMDVI_WALK_RSVD:
        return fault(x, AMDVI_EVT_IO_PAGE_FAULT, gn | AMDVI_EVT_FLAG_PR | AMDVI_EVT_FLAG_RZ, id,
                     x->iova, -EFAULT);
    case AMDVI_WALK_MEM_ERROR:
        return fault(x, AMDVI_EVT_PAGE_TAB_HARDWARE_ERROR,
                     gn | (unsigned)FIELD_PREP(AMDVI_EVT_FLAG_HW_TYPE, AMDVI_HW_ERR_MASTER_ABORT),
                     id, r.fault_pte_addr, -EFAULT);
    default:
        return fault(x, AMDVI_EVT_IO_PAGE_FAULT, gn, id, x->iova, -EFAULT);
    }
    unsigned shift = AMDVI_PAGE_SHIFT;
    if (r.page_size >= AMDVI_PAGE_SIZE && !(r.page_size & (r.page_size - 1)))
        shift = (unsigned)__builtin_ctzll(r.page_size);
    *e = (struct iotlb_entry){
        .domain = dte->domain, .tag = tag, .iova = x->iova, .gpa = r.gpa,
        .page_shift = shift, .read = r.read, .write = r.write,
    };
    (void)iotlb_insert(a->iotlb, e, gen); /* -EAGAIN: raced an invalidation, not cached */
    return 0;
}

static int translate_paged(const struct xlate *x, bool guest, uint64_t *gpa, uint64_t *len)
{
    struct amdvi *a = x->a;
    const struct amdvi_dte *dte = x->dte;
    uint32_t tag = guest ? AMDVI_TAG_GUEST(0) : AMDVI_TAG_HOST;
    struct iotlb_entry e;

    if (iotlb_lookup(a->iotlb, dte->domain, tag, x->iova, &e)) {
        amdvi_stat_inc(&a->stats.iotlb_hits);
    } else {
        amdvi_stat_inc(&a->stats.iotlb_misses);
        int ret = walk(x, guest, tag, &e);
        if (ret)
            return ret;
    }
    bool ok = x->write ? (e.write && dte->iw) : (e.read && dte->ir);
    if (!ok)
        return fault(x, AMDVI_EVT_IO_PAGE_FAULT,
                     (guest ? AMDVI_EVT_FLAG_GN : 0) | AMDVI_EVT_FLAG_PR | AMDVI_EVT_FLAG_PE,
                     guest ? 0 : dte->domain, x->iova, -EPERM);
    uint64_t page_mask = (1ULL << e.page_shift) - 1;
    *gpa = e.gpa;
    *len = (page_mask - (x->iova & page_mask)) + 1;
    return 0;
}

int amdvi_translate(void *opaque, uint16_t rid, uint64_t iova, bool write, uint64_t *gpa,
                    uint64_t *len)
{
    struct amdvi *a = opaque;
    struct amdvi_dte dte;
    uint64_t err_addr = 0;
    struct xlate x = { .a = a, .rid = rid, .iova = iova, .write = write, .dte = &dte };

    amdvi_stat_inc(&a->stats.translations);
    if (!__atomic_load_n(&a->iommu_en, __ATOMIC_ACQUIRE))
        return identity(iova, gpa, len);
    switch (amdvi_dte_get(a, rid, &dte, &err_addr)) {
    case AMDVI_DTE_OK:
        break;
    case AMDVI_DTE_OUT_OF_RANGE:
        return fault(&x, AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY, 0, 0, iova, -EFAULT);
    case AMDVI_DTE_READ_ERROR:
    default:
        return fault(&x, AMDVI_EVT_DEV_TAB_HARDWARE_ERROR,
                     (unsigned)FIELD_PREP(AMDVI_EVT_FLAG_HW_TYPE, AMDVI_HW_ERR_MASTER_ABORT), 0,
                     err_addr, -EFAULT);
    }
    if (!dte.v || !dte.tv)
        return identity(iova, gpa, len);
    if (amdvi_dte_illegal(a, &dte) || (dte.gv && dte.giov && dte.mode != AMDVI_DTE_MODE_NONE))
        return fault(&x, AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY, AMDVI_EVT_FLAG_RZ, 0, iova, -EFAULT);
    if (excluded(a, &dte, iova, len)) {
        *gpa = iova;
        return 0;
    }
    if (dte.gv && dte.giov)
        return translate_paged(&x, true, gpa, len);
    if (dte.mode == AMDVI_DTE_MODE_NONE) {
        if (write ? !dte.iw : !dte.ir)
            return fault(&x, AMDVI_EVT_IO_PAGE_FAULT, AMDVI_EVT_FLAG_PR | AMDVI_EVT_FLAG_PE,
                         dte.domain, iova, -EPERM);
        return identity(iova, gpa, len);
    }
    return translate_paged(&x, false, gpa, len);
}
