/* SPDX-License-Identifier: MIT */
/*
 * AMD IOMMU specification 48882, 5.2 IVRS: the header with IVinfo, then per
 * IOMMU an IVHD type 10h block and a type 11h block carrying the same device
 * entries. Linux picks the last block type <= 40h among the blocks sharing the
 * first block's devid, so 10h goes first and 11h (with the EFR images) wins;
 * kernels that only know 10h still find every IOMMU. Absent (nothing added)
 * on a machine without an AMD IOMMU. The description was checked by
 * acpi_build() before this runs; only space can run out here.
 */
#include <errno.h>
#include <string.h>

#include "acpi/acpi_internal.h"

/* A range entry pair: RANGE_START + RANGE_END; a single devid: SELECT. */
static size_t ivrs_range_len(const struct acpi_devid_range *r)
{
    return (r->first == r->last ? 1 : 2) * sizeof(struct acpi_ivhd_entry4);
}

static bool ivrs_emits_special(const struct acpi_amd_iommu *iommu)
{
    return iommu->ioapic_present && iommu->emit_special;
}

/* Bytes of device entries in each of the IOMMU's two IVHD blocks. */
static size_t ivrs_entries_len(const struct acpi_amd_iommu *iommu)
{
    size_t len = ivrs_emits_special(iommu) ? sizeof(struct acpi_ivhd_special) : 0;

    for (unsigned i = 0; i < iommu->nranges; i++)
        len += ivrs_range_len(&iommu->ranges[i]);
    return len;
}

static void ivrs_put_entry4(struct acpi_ctx *ctx, size_t *pos, uint8_t type, uint16_t devid)
{
    struct acpi_ivhd_entry4 e = {
        .type = type,        /* Type */
        .device_id = devid,  /* DeviceID */
        .dte_setting = 0,    /* DTE Setting: nothing passed through */
    };

    acpi_ctx_write(ctx, *pos, &e, sizeof(e));
    *pos += sizeof(e);
}

/* The device entries, identical in both blocks; *pos advances past them. */
static void ivrs_put_entries(struct acpi_ctx *ctx, size_t *pos, const struct acpi_amd_iommu *iommu)
{
    for (unsigned i = 0; i < iommu->nranges; i++) {
        const struct acpi_devid_range *r = &iommu->ranges[i];

        if (r->first == r->last) {
            ivrs_put_entry4(ctx, pos, ACPI_IVHD_DEV_SELECT, r->first);
        } else {
            ivrs_put_entry4(ctx, pos, ACPI_IVHD_DEV_RANGE_START, r->first);
            ivrs_put_entry4(ctx, pos, ACPI_IVHD_DEV_RANGE_END, r->last);
        }
    }
    if (ivrs_emits_special(iommu)) {
        struct acpi_ivhd_special s = {
            .type = ACPI_IVHD_DEV_SPECIAL,           /* Type */
            .dte_setting = 0,                        /* DTE Setting */
            .handle = iommu->ioapic_handle,          /* Handle: MADT I/O APIC ID */
            .device_id = iommu->ioapic_devid,        /* DeviceID the IOAPIC's messages carry */
            .variety = ACPI_IVHD_SPECIAL_IOAPIC,     /* Variety */
        };

        acpi_ctx_write(ctx, *pos, &s, sizeof(s));
        *pos += sizeof(s);
    }
}

static struct acpi_ivhd_header ivrs_ivhd_header(const struct acpi_amd_iommu *iommu,
                                                uint8_t type, size_t length)
{
    bool is10 = type == ACPI_IVHD_TYPE_10H;

    return (struct acpi_ivhd_header){
        .type = type,                                   /* Type */
        .flags = is10 ? iommu->flags                    /* Flags */
                      : (uint8_t)(iommu->flags & ACPI_IVHD11_FLAGS),
        .length = (uint16_t)length,                     /* Length */
        .device_id = iommu->devid,                      /* DeviceID */
        .capability_offset = iommu->cap_offset,         /* Capability Offset */
        .iommu_base_address = iommu->mmio_base,         /* IOMMU Base Address */
        .pci_segment_group = iommu->pci_segment,        /* PCI Segment Group */
        .iommu_info = iommu->iommu_info,                /* IOMMU Info */
        /* 10h: IOMMU Feature Reporting; 11h: IOMMU Attributes (HATDis clear:
         * host translation works; no counters, no PPR log MSI) */
        .iommu_feature_info = is10 ? iommu->ivhd10_feature_reporting : 0,
    };
}

/* One IVHD block at *pos: header, then the device entries. */
static void ivrs_put_ivhd(struct acpi_ctx *ctx, size_t *pos, const struct acpi_amd_iommu *iommu,
                          uint8_t type)
{
    size_t hlen = type == ACPI_IVHD_TYPE_10H ? sizeof(struct acpi_ivhd_header)
                                             : sizeof(struct acpi_ivhd11);
    struct acpi_ivhd11 h = { .h = ivrs_ivhd_header(iommu, type, hlen + ivrs_entries_len(iommu)) };

    h.efr_register_image = iommu->efr;   /* EFR Register Image (11h) */
    h.efr2_register_image = iommu->efr2; /* EFR2 Register Image (11h) */
    acpi_ctx_write(ctx, *pos, &h, hlen);
    *pos += hlen;
    ivrs_put_entries(ctx, pos, iommu);
}

static uint32_t ivrs_ivinfo(const struct acpi_amd_ivinfo *info)
{
    unsigned gva = info->gva_bits == ACPI_AMD_GVA_BITS_5LEVEL ? ACPI_IVINFO_GVASIZE_57
                                                              : ACPI_IVINFO_GVASIZE_48;

    return (uint32_t)(ACPI_IVINFO_EFRSUP |                            /* EFRSup */
                      FIELD_PREP(ACPI_IVINFO_GVASIZE, gva) |            /* GVAsize */
                      FIELD_PREP(ACPI_IVINFO_PASIZE, info->pa_bits) |   /* PAsize */
                      FIELD_PREP(ACPI_IVINFO_VASIZE, info->va_bits));   /* VAsize */
}

int acpi_build_ivrs(struct acpi_ctx *ctx, const struct acpi_machine *m)
{
    size_t length = sizeof(struct acpi_ivrs), offset, pos;
    uint32_t ivinfo;
    int ret;

    if (m->n_amd_iommus == 0)
        return 0;
    for (unsigned i = 0; i < m->n_amd_iommus; i++) {
        size_t entries = ivrs_entries_len(&m->amd_iommus[i]);

        /* IVHD Length is 16 bits */
        if (sizeof(struct acpi_ivhd11) + entries > UINT16_MAX)
            return -ENOSPC;
        length += sizeof(struct acpi_ivhd_header) + sizeof(struct acpi_ivhd11) + 2 * entries;
    }
    ret = acpi_table_add(ctx, ACPI_SIG_IVRS, ACPI_IVRS_REVISION, length, true, &offset);
    if (ret)
        return ret;
    ivinfo = ivrs_ivinfo(&m->amd_ivinfo);
    acpi_ctx_write(ctx, offset + offsetof(struct acpi_ivrs, ivinfo), &ivinfo, sizeof(ivinfo));
    pos = offset + sizeof(struct acpi_ivrs);
    for (unsigned i = 0; i < m->n_amd_iommus; i++) {
        ivrs_put_ivhd(ctx, &pos, &m->amd_iommus[i], ACPI_IVHD_TYPE_10H);
        ivrs_put_ivhd(ctx, &pos, &m->amd_iommus[i], ACPI_IVHD_TYPE_11H);
    }
    return 0;
}

uint32_t acpi_amd_ivhd10_features(uint64_t efr)
{
    uint64_t f = 0;

    if (efr & ACPI_IVHD_EFR_XTSUP)
        f |= ACPI_IVHD10_FEAT_XTSUP;
    if (efr & ACPI_IVHD_EFR_NXSUP)
        f |= ACPI_IVHD10_FEAT_NXSUP;
    if (efr & ACPI_IVHD_EFR_GTSUP)
        f |= ACPI_IVHD10_FEAT_GTSUP;
    if (efr & ACPI_IVHD_EFR_IASUP)
        f |= ACPI_IVHD10_FEAT_IASUP;
    if (efr & ACPI_IVHD_EFR_GASUP)
        f |= ACPI_IVHD10_FEAT_GASUP;
    if (efr & ACPI_IVHD_EFR_HESUP)
        f |= ACPI_IVHD10_FEAT_HESUP;
    f |= FIELD_PREP(ACPI_IVHD10_FEAT_GLXSUP, FIELD_GET(ACPI_IVHD_EFR_GLXSUP, efr));
    f |= FIELD_PREP(ACPI_IVHD10_FEAT_PASMAX, FIELD_GET(ACPI_IVHD_EFR_PASMAX, efr));
    f |= FIELD_PREP(ACPI_IVHD10_FEAT_GATS, FIELD_GET(ACPI_IVHD_EFR_GATS, efr));
    f |= FIELD_PREP(ACPI_IVHD10_FEAT_HATS, FIELD_GET(ACPI_IVHD_EFR_HATS, efr));
    return (uint32_t)f;
}

void acpi_amd_iommu_init(struct acpi_amd_iommu *iommu, uint16_t devid, uint8_t cap_offset,
                         uint64_t mmio_base, uint64_t efr, uint64_t efr2)
{
    memset(iommu, 0, sizeof(*iommu));
    iommu->devid = devid;
    iommu->cap_offset = cap_offset;
    iommu->mmio_base = mmio_base;
    iommu->efr = efr;
    iommu->efr2 = efr2;
    iommu->ivhd10_feature_reporting = acpi_amd_ivhd10_features(efr);
    /* Table walks snoop the CPU caches: sluice reads guest memory directly. */
    iommu->flags = ACPI_IVHD_F_COHERENT;
    if (efr & ACPI_IVHD_EFR_PREFSUP)
        iommu->flags |= ACPI_IVHD_F_PREFSUP;
    if (efr & ACPI_IVHD_EFR_PPRSUP)
        iommu->flags |= ACPI_IVHD_F_PPRSUP;
}

int acpi_amd_iommu_add_range(struct acpi_amd_iommu *iommu, uint16_t first, uint16_t last)
{
    struct acpi_devid_range *prev = iommu->nranges ? &iommu->ranges[iommu->nranges - 1] : NULL;

    if (first > last)
        return -EINVAL;
    if (prev && prev->last != UINT16_MAX && prev->last + 1 == first) {
        prev->last = last;
        return 0;
    }
    if (iommu->nranges >= ACPI_AMD_IOMMU_MAX_RANGES)
        return -ENOSPC;
    iommu->ranges[iommu->nranges++] = (struct acpi_devid_range){ .first = first, .last = last };
    return 0;
}
