/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi: creation, the PCI function (IOMMU capability block + MSI), the
 * feature registers and the IVHD fields derived from them.
 *
 * EFR advertises exactly what is implemented: PreFSup (prefetch is a no-op),
 * IASup (INVALIDATE_IOMMU_ALL), HESup (hardware event registers), HATS = 6
 * levels (v1 walker, Mode 1..6), and with guest tables GTSup + GIOSup with
 * GATS = 4-level, GLXSup = 0 and PASmax = 0 (PASID 0 only: requests carry no
 * PASID). With interrupt remapping (cfg->intremap) GASup (128-bit IRTEs)
 * and XTSup (x2APIC destinations, IntCapXT registers); GAMSup = 0 (no vAPIC
 * posting). No PPR, NX, PC, HA/HD.
 */
#define LOG_MODULE "amdvi"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/amd/amdvi_internal.h"
#include "vmm/log.h"

#define AMDVI_PCI_REVISION 0

static const struct pci_msix_ops amdvi_msi_ops = {
    .vector_update = amdvi_msi_vector_update,
    .fire = amdvi_msi_fire,
};

static void amdvi_config_written(struct pci_device *dev, unsigned off, unsigned size)
{
    struct amdvi *a = dev->opaque;

    pci_msi_config_written(&a->msi, off, size);
}

static const struct pci_device_ops amdvi_pci_ops = {
    .config_written = amdvi_config_written,
};

static uint64_t amdvi_make_efr(const struct amdvi_config *cfg)
{
    uint64_t efr = AMDVI_EFR_PREF_SUP | AMDVI_EFR_IA_SUP | AMDVI_EFR_HE_SUP |
                   FIELD_PREP(AMDVI_EFR_HATS, AMDVI_EFR_HATS_6_LEVEL);

    if (cfg->guest_tables)
        efr |= AMDVI_EFR_GT_SUP | AMDVI_EFR_GIO_SUP |
               FIELD_PREP(AMDVI_EFR_GATS, AMDVI_EFR_GATS_4_LEVEL);
    if (cfg->intremap)
        efr |= AMDVI_EFR_GA_SUP | AMDVI_EFR_XT_SUP;
    return efr;
}

/* The IOMMU capability block (spec 3.2.1): all read-only, firmware-programmed. */
static int amdvi_pci_setup(struct amdvi *a)
{
    struct pci_device *d = &a->pci;

    pci_device_init(d, "amd-iommu", AMDVI_PCI_VENDOR_ID, AMDVI_PCI_DEVICE_ID,
                    AMDVI_PCI_CLASS_CODE, AMDVI_PCI_REVISION, false, &amdvi_pci_ops, a);
    int cap = pci_add_capability(d, AMDVI_PCI_CAP_ID, AMDVI_CAP_LEN);
    if (cap < 0)
        return cap;
    a->cap = (uint8_t)cap;

    uint32_t hdr = pci_cfg_get32(d, a->cap + AMDVI_CAP_HEADER);
    hdr |= (uint32_t)(FIELD_PREP(AMDVI_CAP_HDR_TYPE, AMDVI_CAP_TYPE_IOMMU) |
                      FIELD_PREP(AMDVI_CAP_HDR_REV, AMDVI_CAP_REV_1) | AMDVI_CAP_HDR_EFR_SUP |
                      AMDVI_CAP_HDR_CAP_EXT);
    if (a->cfg.npcache)
        hdr |= (uint32_t)AMDVI_CAP_HDR_NP_CACHE;
    pci_cfg_set32(d, a->cap + AMDVI_CAP_HEADER, hdr);
    pci_cfg_set32(d, a->cap + AMDVI_CAP_BASE_LOW,
                  (uint32_t)((a->cfg.mmio_base & AMDVI_CAP_BASE_LOW_ADDR) |
                             AMDVI_CAP_BASE_LOW_ENABLE));
    pci_cfg_set32(d, a->cap + AMDVI_CAP_BASE_HIGH, (uint32_t)(a->cfg.mmio_base >> 32));
    pci_cfg_set32(d, a->cap + AMDVI_CAP_RANGE, 0); /* RngValid = 0: the IVHD describes devices */
    pci_cfg_set32(d, a->cap + AMDVI_CAP_MISC0,
                  (uint32_t)(FIELD_PREP(AMDVI_CAP_MISC0_MSI_NUM, 0) |
                             FIELD_PREP(AMDVI_CAP_MISC0_GVA_SIZE, AMDVI_GVA_SIZE_48) |
                             FIELD_PREP(AMDVI_CAP_MISC0_PA_SIZE, AMDVI_PA_SIZE) |
                             FIELD_PREP(AMDVI_CAP_MISC0_VA_SIZE, AMDVI_VA_SIZE)));
    pci_cfg_set32(d, a->cap + AMDVI_CAP_MISC1, 0);

    /* The IOMMU's own accesses (tables, logs, its MSI) are not gated by the
     * command register on AMD hardware: Bus Master reads 1, read-only. */
    d->cfg[PCI_COMMAND] |= PCI_COMMAND_MASTER;
    d->wmask[PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MASTER;

    return pci_msi_init(&a->msi, d, 1, true, false, &amdvi_msi_ops, a);
}

int amdvi_create(const struct amdvi_config *cfg, struct amdvi **out)
{
    struct amdvi *a;
    int ret;

    *out = NULL;
    if (!cfg || !cfg->ram || cfg->nram == 0 || cfg->nram > DMA_MAX_RAM_REGIONS ||
        (cfg->mmio_base & (AMDVI_MMIO_SIZE - 1)))
        return -EINVAL;
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->cfg = *cfg;
    memcpy(a->ram, cfg->ram, cfg->nram * sizeof(*cfg->ram));
    a->cfg.ram = a->ram;
    a->efr = amdvi_make_efr(cfg);
    a->efr2 = 0;
    a->ctrl_wmask = AMDVI_CTRL_WRITABLE | (cfg->guest_tables ? AMDVI_CTRL_GT_EN : 0) |
                    (cfg->intremap ? AMDVI_CTRL_IR_WRITABLE : 0);
    a->fault_dedup_ns = AMDVI_FAULT_DEDUP_NS;

    ret = dma_space_init(&a->mem, a->ram, cfg->nram, 0);
    if (ret)
        goto free_a;
    ret = iotlb_create(cfg->iotlb_entries, &a->iotlb);
    if (ret)
        goto free_a;
    ret = amdvi_dte_cache_init(&a->dtes);
    if (ret)
        goto destroy_iotlb;
    ret = -pthread_mutex_init(&a->lock, NULL);
    if (ret)
        goto destroy_dtes;
    ret = amdvi_pci_setup(a);
    if (ret)
        goto destroy_lock;
    amdvi_regs_reset(a);
    amdvi_dte_set_table(a, 0);
    *out = a;
    return 0;

destroy_lock:
    pthread_mutex_destroy(&a->lock);
destroy_dtes:
    amdvi_dte_cache_destroy(&a->dtes);
destroy_iotlb:
    iotlb_destroy(a->iotlb);
free_a:
    free(a);
    return ret;
}

static void amdvi_log_stats(struct amdvi *a);

void amdvi_destroy(struct amdvi *a)
{
    if (!a)
        return;
    amdvi_log_stats(a);
    pci_msi_destroy(&a->msi);
    amdvi_map_fini(a);
    pthread_mutex_destroy(&a->lock);
    amdvi_dte_cache_destroy(&a->dtes);
    iotlb_destroy(a->iotlb);
    free(a);
}

struct pci_device *amdvi_pci_device(struct amdvi *a)
{
    return &a->pci;
}

uint8_t amdvi_cap_offset(const struct amdvi *a)
{
    return a->cap;
}

struct dma_translator amdvi_translator(struct amdvi *a)
{
    return (struct dma_translator){ .translate = amdvi_translate, .opaque = a };
}

uint64_t amdvi_efr(const struct amdvi *a)
{
    return a->efr;
}

uint64_t amdvi_efr2(const struct amdvi *a)
{
    return a->efr2;
}

uint8_t amdvi_ivhd_flags(const struct amdvi *a)
{
    (void)a;
    return (uint8_t)AMDVI_IVHD_FLAG_COHERENT;
}

uint16_t amdvi_ivhd_info(const struct amdvi *a)
{
    (void)a;
    return (uint16_t)(FIELD_PREP(AMDVI_IVHD_INFO_MSI_NUM, 0) |
                      FIELD_PREP(AMDVI_IVHD_INFO_UNIT_ID, 0));
}

uint32_t amdvi_ivhd_feature_reporting(const struct amdvi *a)
{
    uint64_t efr = a->efr;
    uint32_t f = 0;

    if (efr & AMDVI_EFR_XT_SUP)
        f |= (uint32_t)AMDVI_IVHD_FEAT_XT_SUP;
    if (efr & AMDVI_EFR_NX_SUP)
        f |= (uint32_t)AMDVI_IVHD_FEAT_NX_SUP;
    if (efr & AMDVI_EFR_GT_SUP)
        f |= (uint32_t)AMDVI_IVHD_FEAT_GT_SUP;
    if (efr & AMDVI_EFR_IA_SUP)
        f |= (uint32_t)AMDVI_IVHD_FEAT_IA_SUP;
    if (efr & AMDVI_EFR_GA_SUP)
        f |= (uint32_t)AMDVI_IVHD_FEAT_GA_SUP;
    if (efr & AMDVI_EFR_HE_SUP)
        f |= (uint32_t)AMDVI_IVHD_FEAT_HE_SUP;
    f |= (uint32_t)FIELD_PREP(AMDVI_IVHD_FEAT_GLX_SUP, FIELD_GET(AMDVI_EFR_GLX_SUP, efr));
    f |= (uint32_t)FIELD_PREP(AMDVI_IVHD_FEAT_PAS_MAX, FIELD_GET(AMDVI_EFR_PAS_MAX, efr));
    f |= (uint32_t)FIELD_PREP(AMDVI_IVHD_FEAT_GATS, FIELD_GET(AMDVI_EFR_GATS, efr));
    f |= (uint32_t)FIELD_PREP(AMDVI_IVHD_FEAT_HATS, FIELD_GET(AMDVI_EFR_HATS, efr));
    return f;
}

void amdvi_get_stats(struct amdvi *a, struct amdvi_stats *s)
{
    s->translations = __atomic_load_n(&a->stats.translations, __ATOMIC_RELAXED);
    s->iotlb_hits = __atomic_load_n(&a->stats.iotlb_hits, __ATOMIC_RELAXED);
    s->iotlb_misses = __atomic_load_n(&a->stats.iotlb_misses, __ATOMIC_RELAXED);
    s->faults = __atomic_load_n(&a->stats.faults, __ATOMIC_RELAXED);
    s->events_logged = __atomic_load_n(&a->stats.events_logged, __ATOMIC_RELAXED);
    s->events_dropped = __atomic_load_n(&a->stats.events_dropped, __ATOMIC_RELAXED);
    s->commands = __atomic_load_n(&a->stats.commands, __ATOMIC_RELAXED);
    s->map_syncs = __atomic_load_n(&a->stats.map_syncs, __ATOMIC_RELAXED);
    s->map_faults = __atomic_load_n(&a->stats.map_faults, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < AMDVI_STAT_OPCODES; i++)
        s->commands_by_op[i] = __atomic_load_n(&a->stats.commands_by_op[i], __ATOMIC_RELAXED);
    s->mmio_reads = __atomic_load_n(&a->stats.mmio_reads, __ATOMIC_RELAXED);
    s->mmio_writes = __atomic_load_n(&a->stats.mmio_writes, __ATOMIC_RELAXED);
}

static void amdvi_log_stats(struct amdvi *a)
{
    struct amdvi_stats s;
    amdvi_get_stats(a, &s);
    const uint64_t *op = s.commands_by_op;
    LOG_INFO("%llu register reads, %llu writes; %llu commands (completion-wait %llu, "
             "inv-devtab %llu, inv-pages %llu, inv-iotlb %llu, inv-irt %llu, inv-all %llu, "
             "other %llu); %llu map syncs",
             (unsigned long long)s.mmio_reads, (unsigned long long)s.mmio_writes,
             (unsigned long long)s.commands,
             (unsigned long long)op[AMDVI_CMD_COMPLETION_WAIT],
             (unsigned long long)op[AMDVI_CMD_INVALIDATE_DEVTAB_ENTRY],
             (unsigned long long)op[AMDVI_CMD_INVALIDATE_IOMMU_PAGES],
             (unsigned long long)op[AMDVI_CMD_INVALIDATE_IOTLB_PAGES],
             (unsigned long long)op[AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE],
             (unsigned long long)op[AMDVI_CMD_INVALIDATE_IOMMU_ALL],
             (unsigned long long)(op[0] + op[AMDVI_CMD_PREFETCH_IOMMU_PAGES] +
                                  op[AMDVI_CMD_COMPLETE_PPR_REQUEST]),
             (unsigned long long)s.map_syncs);
}
