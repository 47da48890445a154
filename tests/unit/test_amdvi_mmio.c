/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi PCI function and MMIO register file: identity and capability block,
 * EFR contents, writable / read-only / write-1-to-clear masks, head/tail
 * masking and ownership rules, partial accesses, unimplemented offsets.
 */
#include "tests/unit/amdvi_fixture.h"

static struct fx f;

static void test_pci_identity(void)
{
    CHECK_EQ(fx_init(&f), 0);
    struct pci_device *d = amdvi_pci_device(f.a);
    CHECK_EQ(fx_cfg_r32(&f, PCI_VENDOR_ID), AMDVI_PCI_VENDOR_ID | (AMDVI_PCI_DEVICE_ID << 16));
    CHECK_EQ(fx_cfg_r32(&f, PCI_CLASS_REVISION) >> 8, AMDVI_PCI_CLASS_CODE);
    unsigned cap = amdvi_cap_offset(f.a);
    CHECK(cap >= PCI_STD_HEADER_SIZEOF);
    CHECK_EQ(pci_find_capability(d, AMDVI_PCI_CAP_ID), cap);
    uint32_t hdr = fx_cfg_r32(&f, cap + AMDVI_CAP_HEADER);
    CHECK_EQ(hdr & 0xff, AMDVI_PCI_CAP_ID);
    CHECK_EQ(FIELD_GET(AMDVI_CAP_HDR_TYPE, hdr), AMDVI_CAP_TYPE_IOMMU);
    CHECK_EQ(FIELD_GET(AMDVI_CAP_HDR_REV, hdr), AMDVI_CAP_REV_1);
    CHECK(hdr & AMDVI_CAP_HDR_EFR_SUP);
    CHECK(!(hdr & AMDVI_CAP_HDR_NP_CACHE));
    CHECK(!(hdr & AMDVI_CAP_HDR_IOTLB_SUP));
    /* MMIO base: firmware-programmed, enabled, read-only */
    CHECK_EQ(fx_cfg_r32(&f, cap + AMDVI_CAP_BASE_LOW),
             (uint32_t)FX_MMIO_BASE | AMDVI_CAP_BASE_LOW_ENABLE);
    CHECK_EQ(fx_cfg_r32(&f, cap + AMDVI_CAP_BASE_HIGH), 0);
    fx_cfg_w32(&f, cap + AMDVI_CAP_BASE_LOW, 0);
    fx_cfg_w32(&f, cap + AMDVI_CAP_BASE_HIGH, 0xffffffff);
    CHECK_EQ(fx_cfg_r32(&f, cap + AMDVI_CAP_BASE_LOW),
             (uint32_t)FX_MMIO_BASE | AMDVI_CAP_BASE_LOW_ENABLE);
    CHECK_EQ(fx_cfg_r32(&f, cap + AMDVI_CAP_BASE_HIGH), 0);
    uint32_t misc = fx_cfg_r32(&f, cap + AMDVI_CAP_MISC0);
    CHECK_EQ(FIELD_GET(AMDVI_CAP_MISC0_VA_SIZE, misc), AMDVI_VA_SIZE);
    CHECK_EQ(FIELD_GET(AMDVI_CAP_MISC0_PA_SIZE, misc), AMDVI_PA_SIZE);
    /* MSI capability, 64-bit, one vector */
    unsigned msi = pci_find_capability(d, PCI_CAP_ID_MSI);
    CHECK(msi != 0);
    CHECK(fx_cfg_r32(&f, msi) & (PCI_MSI_FLAGS_64BIT << 16));
    /* bus master hard-wired on */
    fx_cfg_w32(&f, PCI_COMMAND, 0);
    CHECK(fx_cfg_r32(&f, PCI_COMMAND) & PCI_COMMAND_MASTER);
    fx_fini(&f);

    /* NpCache only when asked for */
    struct fake_ram ram;
    CHECK_EQ(fake_ram_init(&ram, 0, 1 << 20), 0);
    struct amdvi *a = NULL;
    struct amdvi_config cfg = { .mmio_base = FX_MMIO_BASE, .ram = &ram.region, .nram = 1,
                                .npcache = true };
    CHECK_EQ(amdvi_create(&cfg, &a), 0);
    CHECK(pci_cfg_get32(amdvi_pci_device(a), amdvi_cap_offset(a)) & AMDVI_CAP_HDR_NP_CACHE);
    amdvi_destroy(a);
    /* bad configs */
    cfg.mmio_base = FX_MMIO_BASE + 0x1000;
    CHECK_EQ(amdvi_create(&cfg, &a), -EINVAL);
    CHECK(a == NULL);
    cfg.mmio_base = FX_MMIO_BASE;
    cfg.nram = 0;
    CHECK_EQ(amdvi_create(&cfg, &a), -EINVAL);
    fake_ram_free(&ram);
}

static void test_efr(void)
{
    CHECK_EQ(fx_init_cfg(&f, true, 0), 0);
    uint64_t efr = fx_r64(&f, AMDVI_MMIO_EFR);
    CHECK_EQ(efr, amdvi_efr(f.a));
    CHECK(efr & AMDVI_EFR_PREF_SUP);
    CHECK(efr & AMDVI_EFR_IA_SUP);
    CHECK(efr & AMDVI_EFR_HE_SUP);
    CHECK(efr & AMDVI_EFR_GT_SUP);
    CHECK(efr & AMDVI_EFR_GIO_SUP);
    CHECK_EQ(FIELD_GET(AMDVI_EFR_HATS, efr), AMDVI_EFR_HATS_6_LEVEL);
    CHECK_EQ(FIELD_GET(AMDVI_EFR_GATS, efr), AMDVI_EFR_GATS_4_LEVEL);
    CHECK(!(efr & (AMDVI_EFR_PPR_SUP | AMDVI_EFR_XT_SUP | AMDVI_EFR_NX_SUP | AMDVI_EFR_GA_SUP |
                   AMDVI_EFR_PC_SUP | AMDVI_EFR_HA_SUP | AMDVI_EFR_HD_SUP)));
    fx_w64(&f, AMDVI_MMIO_EFR, 0);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EFR), efr);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EFR2), 0);
    CHECK_EQ(amdvi_efr2(f.a), 0);
    uint32_t feat = amdvi_ivhd_feature_reporting(f.a);
    CHECK(feat & AMDVI_IVHD_FEAT_GT_SUP);
    CHECK(feat & AMDVI_IVHD_FEAT_IA_SUP);
    CHECK(feat & AMDVI_IVHD_FEAT_HE_SUP);
    CHECK_EQ(FIELD_GET(AMDVI_IVHD_FEAT_HATS, feat), AMDVI_EFR_HATS_6_LEVEL);
    CHECK_EQ(FIELD_GET(AMDVI_IVHD_FEAT_PN_COUNTERS, feat), 0);
    CHECK(amdvi_ivhd_flags(f.a) & AMDVI_IVHD_FLAG_COHERENT);
    fx_fini(&f);

    CHECK_EQ(fx_init_cfg(&f, false, 0), 0);
    efr = fx_r64(&f, AMDVI_MMIO_EFR);
    CHECK(!(efr & (AMDVI_EFR_GT_SUP | AMDVI_EFR_GIO_SUP)));
    CHECK(!(amdvi_ivhd_feature_reporting(f.a) & AMDVI_IVHD_FEAT_GT_SUP));
    /* GTEn is not writable without guest tables */
    fx_w64(&f, AMDVI_MMIO_CONTROL, AMDVI_CTRL_GT_EN);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CONTROL), 0);
    fx_fini(&f);
}

static void test_masks(void)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_DEV_TABLE_BASE),
             AMDVI_DEV_TABLE_BASE_ADDR | AMDVI_DEV_TABLE_SIZE);
    fx_w64(&f, AMDVI_MMIO_CMD_BUF_BASE, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_BUF_BASE), AMDVI_LOG_BASE_ADDR | AMDVI_LOG_LEN);
    fx_w64(&f, AMDVI_MMIO_EVENT_LOG_BASE, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_LOG_BASE), AMDVI_LOG_BASE_ADDR | AMDVI_LOG_LEN);
    fx_w64(&f, AMDVI_MMIO_EXCL_BASE, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EXCL_BASE),
             AMDVI_EXCL_ADDR | AMDVI_EXCL_BASE_EX_EN | AMDVI_EXCL_BASE_ALLOW);
    fx_w64(&f, AMDVI_MMIO_EXCL_BASE, 0);
    fx_w64(&f, AMDVI_MMIO_EXCL_LIMIT, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EXCL_LIMIT), AMDVI_EXCL_ADDR);

    /* head/tail: bits 18:4 only (buffers off, so the guest owns them) */
    fx_w64(&f, AMDVI_MMIO_CMD_HEAD, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), AMDVI_LOG_PTR);
    fx_w64(&f, AMDVI_MMIO_EVENT_HEAD, 0x123f);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_HEAD), 0x1230);
    fx_w64(&f, AMDVI_MMIO_EVENT_TAIL, 0x45678);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_TAIL), 0x45670);

    /* control: only implemented bits stick (GTEn with guest tables) */
    fx_w64(&f, AMDVI_MMIO_CMD_BUF_BASE, FX_CMD_BUF | (FX_LOG_LEN << 56));
    fx_w64(&f, AMDVI_MMIO_EVENT_LOG_BASE, FX_EVT_LOG | (FX_LOG_LEN << 56));
    fx_w64(&f, AMDVI_MMIO_CONTROL, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CONTROL), AMDVI_CTRL_WRITABLE | AMDVI_CTRL_GT_EN);
    uint64_t st = fx_r64(&f, AMDVI_MMIO_STATUS);
    CHECK(st & AMDVI_STATUS_CMDBUF_RUN);
    CHECK(st & AMDVI_STATUS_EVENT_LOG_RUN);
    /* run bits are read-only mirrors */
    fx_w64(&f, AMDVI_MMIO_STATUS, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_STATUS) & (AMDVI_STATUS_CMDBUF_RUN | AMDVI_STATUS_EVENT_LOG_RUN),
             AMDVI_STATUS_CMDBUF_RUN | AMDVI_STATUS_EVENT_LOG_RUN);
    fx_w64(&f, AMDVI_MMIO_CONTROL, 0);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_STATUS), 0);

    /* hardware event registers: data RW, status W1C */
    fx_w64(&f, AMDVI_MMIO_HW_EVENT_HI, 0x1122334455667788ULL);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_HW_EVENT_HI), 0x1122334455667788ULL);
    fx_w64(&f, AMDVI_MMIO_HW_EVENT_STATUS, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_HW_EVENT_STATUS), 0);

    /* unimplemented offsets read 0, writes vanish */
    const uint64_t holes[] = { AMDVI_MMIO_PPR_LOG_BASE, AMDVI_MMIO_GA_LOG_BASE,
                               AMDVI_MMIO_INTCAPXT_EVT, AMDVI_MMIO_PPR_HEAD, 0x1000, 0x3ff8 };
    for (unsigned i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
        fx_w64(&f, holes[i], UINT64_MAX);
        CHECK_EQ(fx_r64(&f, holes[i]), 0);
    }
    fx_fini(&f);
}

static void test_partial_access(void)
{
    CHECK_EQ(fx_init(&f), 0);
    /* 32-bit halves, as a driver using writel does */
    fx_w32(&f, AMDVI_MMIO_DEV_TABLE_BASE, 0x12345fff);
    fx_w32(&f, AMDVI_MMIO_DEV_TABLE_BASE + 4, 0x000abcde);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_DEV_TABLE_BASE), 0x000abcde123451ffULL);
    CHECK_EQ(fx_r32(&f, AMDVI_MMIO_DEV_TABLE_BASE + 4), 0x000abcde);
    /* a byte write only touches its byte */
    uint8_t b = 0;
    amdvi_mmio_ops.write(f.a, AMDVI_MMIO_DEV_TABLE_BASE + 1, &b, 1);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_DEV_TABLE_BASE), 0x000abcde123400ffULL);
    uint16_t h = 0;
    amdvi_mmio_ops.read(f.a, AMDVI_MMIO_DEV_TABLE_BASE + 6, &h, 2);
    CHECK_EQ(h, 0x000a);
    /* status W1C through a byte write */
    fx_enable(&f, AMDVI_CTRL_COM_WAIT_INT_EN);
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I, 0);
    CHECK(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_COM_WAIT_INT);
    b = (uint8_t)AMDVI_STATUS_EVENT_LOG_INT; /* the wrong bit: no effect */
    amdvi_mmio_ops.write(f.a, AMDVI_MMIO_STATUS, &b, 1);
    CHECK(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_COM_WAIT_INT);
    b = (uint8_t)AMDVI_STATUS_COM_WAIT_INT;
    amdvi_mmio_ops.write(f.a, AMDVI_MMIO_STATUS, &b, 1);
    CHECK(!(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_COM_WAIT_INT));
    /* an access that does not fit the register reads all-ones */
    uint64_t v = 0;
    amdvi_mmio_ops.read(f.a, AMDVI_MMIO_SIZE, &v, 8);
    CHECK_EQ(v, UINT64_MAX);
    fx_fini(&f);
}

static void test_pointer_ownership(void)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    /* while running the IOMMU owns the command head and the event tail */
    fx_w64(&f, AMDVI_MMIO_CMD_HEAD, 0x100);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), 0);
    fx_w64(&f, AMDVI_MMIO_EVENT_TAIL, 0x100);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_TAIL), 0);
    /* stopped, software may reset them */
    fx_w64(&f, AMDVI_MMIO_CONTROL, AMDVI_CTRL_IOMMU_EN);
    fx_w64(&f, AMDVI_MMIO_CMD_HEAD, 0x100);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), 0x100);
    fx_w64(&f, AMDVI_MMIO_EVENT_TAIL, 0x100);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_TAIL), 0x100);
    /* a new base resets head and tail */
    fx_w64(&f, AMDVI_MMIO_CMD_TAIL, 0x200);
    fx_w64(&f, AMDVI_MMIO_CMD_BUF_BASE, FX_CMD_BUF | (FX_LOG_LEN << 56));
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), 0);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_TAIL), 0);
    fx_w64(&f, AMDVI_MMIO_EVENT_LOG_BASE, FX_EVT_LOG | (FX_LOG_LEN << 56));
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_TAIL), 0);
    /* a reserved length (< 256 entries) never runs */
    fx_w64(&f, AMDVI_MMIO_CMD_BUF_BASE, FX_CMD_BUF | (7ULL << 56));
    fx_w64(&f, AMDVI_MMIO_CONTROL, AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_CMDBUF_EN);
    CHECK(!(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_CMDBUF_RUN));
    fx_fini(&f);
}

int main(void)
{
    test_pci_identity();
    test_efr();
    test_masks();
    test_partial_access();
    test_pointer_ownership();
    return check_result("test_amdvi_mmio");
}
