/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi interrupt remapping (iommu/amd/amdvi_ir.h): EFR/Control/IntCapXT
 * advertisement, legacy 32-bit and GA 128-bit IRTE decode, XT (x2APIC)
 * destinations in KVM's 32-bit id encoding, IntTabLen bounds, IntCtl, the
 * pass bits for NMI/INIT/ExtINT, IV = 0 / IOMMU off / intremap off
 * passthrough, RemapEn = 0 events (I bit, devid, address) with SupIOPF and
 * rate limiting, GuestMode refused, the invalidation listener (exactly which
 * commands and control changes call it, outside the locks), the IOMMU's own
 * event interrupt through IntCapXT to an x2APIC destination, and malformed
 * or out-of-range tables never crashing.
 */
#include "iommu/amd/amdvi_ir.h"
#include "tests/unit/amdvi_fixture.h"

#define DEV 0x0123     /* 01:04.3 */
#define IRT 0x600000ULL
#define MSI(idx) ((uint32_t)(idx))  /* what Linux's fill_msi_msg writes: data = index */

static struct fx f;

static int ir_init(bool intremap)
{
    memset(&f, 0, sizeof(f));
    if (fake_ram_init(&f.ram, 0, FX_RAM_SIZE))
        return -ENOMEM;
    pthread_mutex_init(&f.sink_state.lock, NULL);
    f.sink = (struct msi_sink){ .send_msi = fx_send_msi, .opaque = &f.sink_state };
    struct amdvi_config cfg = {
        .mmio_base = FX_MMIO_BASE, .ram = &f.ram.region, .nram = 1, .sink = &f.sink,
        .intremap = intremap,
    };
    int ret = amdvi_create(&cfg, &f.a);
    if (ret) {
        fake_ram_free(&f.ram);
        return ret;
    }
    f.a->fault_dedup_ns = 0;
    f.pt_next = FX_PT_POOL;
    return 0;
}

static void setup(uint64_t extra_ctrl)
{
    CHECK_EQ(ir_init(true), 0);
    fx_enable(&f, extra_ctrl);
}

static uint64_t dte_q2(unsigned len, uint64_t root, unsigned intctl)
{
    return AMDVI_DTE_IV | FIELD_PREP(AMDVI_DTE_INT_TAB_LEN, len) |
           (root & AMDVI_DTE_INT_TABLE_ROOT) | FIELD_PREP(AMDVI_DTE_INT_CTL, intctl);
}

/* V=1, TV=0 DTE (DMA untranslated) with the interrupt fields. */
static void set_ir_dte(uint16_t devid, uint64_t q2)
{
    fx_set_dte(&f, devid, AMDVI_DTE_V, 0, q2);
    fx_inv_dte(&f, devid);
}

static uint32_t irte32(bool en, bool sup, unsigned type, bool dm, uint8_t dest, uint8_t vec)
{
    return (uint32_t)((en ? AMDVI_IRTE_REMAP_EN : 0) | (sup ? AMDVI_IRTE_SUP_IOPF : 0) |
                      FIELD_PREP(AMDVI_IRTE_INT_TYPE, type) | (dm ? AMDVI_IRTE_DM : 0) |
                      FIELD_PREP(AMDVI_IRTE_DEST, dest) | FIELD_PREP(AMDVI_IRTE_VECTOR, vec));
}

static void put_irte32(uint64_t root, unsigned idx, uint32_t e)
{
    uint32_t le = htole32(e);
    memcpy(fake_ram_ptr(&f.ram, root + idx * 4ULL, 4), &le, 4);
}

static void put_irte_ga(uint64_t root, unsigned idx, bool en, unsigned type, bool dm,
                        uint32_t dest, uint8_t vec, bool guest_mode)
{
    uint64_t lo = (en ? AMDVI_IRTE_GA_LO_REMAP_EN : 0) |
                  FIELD_PREP(AMDVI_IRTE_GA_LO_INT_TYPE, type) | (dm ? AMDVI_IRTE_GA_LO_DM : 0) |
                  (guest_mode ? AMDVI_IRTE_GA_LO_GUEST_MODE : 0) |
                  FIELD_PREP(AMDVI_IRTE_GA_LO_DEST_LO, dest & 0xffffff);
    uint64_t hi = FIELD_PREP(AMDVI_IRTE_GA_HI_VECTOR, vec) |
                  FIELD_PREP(AMDVI_IRTE_GA_HI_DEST_HI, dest >> 24);
    fake_ram_w64(&f.ram, root + idx * 16ULL, lo);
    fake_ram_w64(&f.ram, root + idx * 16ULL + 8, hi);
}

static enum amdvi_ir_result xl(uint16_t devid, uint64_t addr, uint32_t data, uint64_t *oa,
                               uint32_t *od)
{
    uint64_t a = 0;
    uint32_t d = 0;
    enum amdvi_ir_result r = amdvi_ir_translate(f.a, devid, addr, data, &a, &d);
    if (oa)
        *oa = a;
    if (od)
        *od = d;
    return r;
}

static unsigned count_events(void)
{
    uint64_t q0, q1;
    unsigned n = 0;
    while (fx_event(&f, &q0, &q1))
        n++;
    return n;
}

static void test_advertise(void)
{
    CHECK_EQ(ir_init(false), 0);
    CHECK_EQ(amdvi_efr(f.a) & (AMDVI_EFR_GA_SUP | AMDVI_EFR_XT_SUP), 0);
    fx_w64(&f, AMDVI_MMIO_CONTROL, AMDVI_CTRL_IR_WRITABLE | AMDVI_CTRL_IOMMU_EN);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CONTROL) & AMDVI_CTRL_IR_WRITABLE, 0);
    fx_w64(&f, AMDVI_MMIO_INTCAPXT_EVT, AMDVI_INTCAPXT_WRITABLE);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_INTCAPXT_EVT), 0);
    CHECK(!amdvi_ir_enabled(f.a));
    uint64_t oa;
    uint32_t od;
    CHECK_EQ(xl(DEV, 0xfee00000, 5, &oa, &od), AMDVI_IR_PASSTHROUGH);
    CHECK_EQ(oa, 0xfee00000);
    CHECK_EQ(od, 5);
    fx_fini(&f);

    CHECK_EQ(ir_init(true), 0);
    uint64_t efr = amdvi_efr(f.a);
    CHECK(efr & AMDVI_EFR_GA_SUP);
    CHECK(efr & AMDVI_EFR_XT_SUP);
    CHECK_EQ(FIELD_GET(AMDVI_EFR_GAM_SUP, efr), 0);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EFR), efr);
    uint32_t feat = amdvi_ivhd_feature_reporting(f.a);
    CHECK(feat & AMDVI_IVHD_FEAT_XT_SUP);
    CHECK(feat & AMDVI_IVHD_FEAT_GA_SUP);
    CHECK(!amdvi_ir_enabled(f.a));
    fx_w64(&f, AMDVI_MMIO_CONTROL, AMDVI_CTRL_IR_WRITABLE | AMDVI_CTRL_IOMMU_EN);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CONTROL) & AMDVI_CTRL_IR_WRITABLE, AMDVI_CTRL_IR_WRITABLE);
    CHECK(amdvi_ir_enabled(f.a));
    fx_w64(&f, AMDVI_MMIO_INTCAPXT_EVT, UINT64_MAX);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_INTCAPXT_EVT), AMDVI_INTCAPXT_WRITABLE);
    fx_w64(&f, AMDVI_MMIO_INTCAPXT_GALOG, 0x1234ULL << 32);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_INTCAPXT_GALOG), 0x34ULL << 32);
    fx_fini(&f);
}

static void test_msi_addr(void)
{
    CHECK_EQ(amdvi_ir_msi_addr(3, false, false), 0xfee03000ULL);
    CHECK_EQ(amdvi_ir_msi_addr(0xff, true, false), 0xfeeff004ULL);
    CHECK_EQ(amdvi_ir_msi_addr(0x100, false, false), 0xfee00000ULL | (1ULL << 40));
    CHECK_EQ(amdvi_ir_msi_addr(0x12345678u, false, true),
             0xfee78008ULL | (0x123456ULL << 40));
}

static void test_legacy(void)
{
    uint64_t oa, q0, q1;
    uint32_t od;

    setup(0);
    set_ir_dte(DEV, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_REMAP));
    put_irte32(IRT, 5, irte32(true, false, 0, false, 3, 0x41));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(5), &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(oa, 0xfee03000ULL);
    CHECK_EQ(od, 0x41);
    /* arbitrated, logical destination */
    put_irte32(IRT, 6, irte32(true, false, 1, true, 0x0c, 0xef));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(6), &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(oa, 0xfee0c004ULL);
    CHECK_EQ(od, 0x1ef);
    /* index comes from data[10:0] only: the address and upper data bits are ignored */
    CHECK_EQ(xl(DEV, 0xfee12000, 0xffff0000u | MSI(5), &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(oa, 0xfee03000ULL);
    CHECK_EQ(od, 0x41);
    /* index 0x105: IOAPIC-style (vector = index[7:0], delivery = index[10:8] = 1) */
    put_irte32(IRT, 0x105, irte32(true, false, 0, false, 1, 0x22));
    CHECK_EQ(xl(DEV, 0xfee00000, 0x105, &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(od, 0x22);
    CHECK_EQ(oa, 0xfee01000ULL);
    CHECK_EQ(count_events(), 0);

    /* RemapEn = 0: IO_PAGE_FAULT with I = 1, devid, the MSI address */
    put_irte32(IRT, 7, irte32(false, false, 0, false, 3, 0x41));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(7), &oa, &od), AMDVI_IR_BLOCKED);
    CHECK_EQ(oa, 0xfee00000);
    CHECK_EQ(od, 7);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DEVID, q0), DEV);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_I);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_RW);
    CHECK_EQ(q1, 0xfee00000);
    CHECK(!fx_event(&f, &q0, &q1));
    /* SupIOPF: blocked silently */
    put_irte32(IRT, 8, irte32(false, true, 0, false, 3, 0x41));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(8), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK_EQ(count_events(), 0);
    /* reserved IntType (SMI in the IRTE) and GuestMode (no vAPIC) */
    put_irte32(IRT, 9, irte32(true, false, 2, false, 3, 0x41));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(9), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_RZ);
    put_irte32(IRT, 10, irte32(true, false, 0, false, 3, 0x41) | (uint32_t)AMDVI_IRTE_GUEST_MODE);
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(10), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_I);
    fx_fini(&f);
}

static void test_ga_xt(void)
{
    uint64_t oa, q0, q1;
    uint32_t od;

    setup(AMDVI_CTRL_GA_EN);
    set_ir_dte(DEV, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_REMAP));
    put_irte_ga(IRT, 3, true, 0, false, 0x78123456u, 0x55, false);
    /* GAEn without XTEn: 8-bit destination */
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(3), &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(oa, 0xfee56000ULL);
    CHECK_EQ(od, 0x55);
    /* the legacy 32-bit slot at the same place is not what is read */
    put_irte_ga(IRT, 4, true, 1, true, 0x21, 0x66, false);
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(4), &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(oa, 0xfee21004ULL);
    CHECK_EQ(od, 0x166);

    /* XTEn: 32-bit x2APIC destination, bits 31:8 in address 63:40 */
    fx_w64(&f, AMDVI_MMIO_CONTROL, fx_r64(&f, AMDVI_MMIO_CONTROL) | AMDVI_CTRL_XT_EN);
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(3), &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(oa, 0xfee56000ULL | (0x781234ULL << 40));
    CHECK_EQ(od, 0x55);
    put_irte_ga(IRT, 5, true, 0, false, 300, 0x31, false);
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(5), &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(oa, 0xfee00000ULL | ((300ULL & 0xff) << 12) | ((300ULL >> 8) << 40));
    CHECK_EQ(od, 0x31);

    /* GuestMode (vAPIC posting) refused: IO_PAGE_FAULT I = 1 */
    put_irte_ga(IRT, 6, true, 0, false, 1, 0x31, true);
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(6), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_I);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_RZ);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DEVID, q0), DEV);
    /* RemapEn = 0 in the GA format */
    put_irte_ga(IRT, 7, false, 0, false, 1, 0x31, false);
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(7), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    fx_fini(&f);
}

static void test_dte_fields(void)
{
    uint64_t oa, q0, q1;
    uint32_t od;

    setup(0);
    put_irte32(IRT, 1, irte32(true, false, 0, false, 2, 0x40));
    put_irte32(IRT, 2, irte32(true, false, 0, false, 2, 0x41));
    /* IntTabLen = 1: two entries; index 2 is beyond the table */
    set_ir_dte(DEV, dte_q2(1, IRT, AMDVI_DTE_INT_CTL_REMAP));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(1), &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(od, 0x40);
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(2), &oa, &od), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_I);
    /* IntTabLen 12..15 reserved: illegal DTE */
    set_ir_dte(DEV, dte_q2(12, IRT, AMDVI_DTE_INT_CTL_REMAP));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(1), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY);
    /* IntTabLen 11 (2048 entries) is legal, but data[10:8] is also the
     * message type: only fixed/arbitrated requests (index < 512) reach the
     * table; index 0x7ff is an ExtINT request, blocked without EIntPass */
    set_ir_dte(DEV, dte_q2(11, IRT, AMDVI_DTE_INT_CTL_REMAP));
    put_irte32(IRT, 511, irte32(true, false, 0, false, 9, 0x99));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(511), &oa, &od), AMDVI_IR_REMAPPED);
    CHECK_EQ(od, 0x99);
    put_irte32(IRT, 2047, irte32(true, false, 0, false, 9, 0x99));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(2047), &oa, &od), AMDVI_IR_BLOCKED);
    CHECK_EQ(count_events(), 1);

    /* IntCtl: 0 abort (event), 1 forward unmapped, 3 reserved (illegal DTE) */
    set_ir_dte(DEV, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_ABORT));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(1), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    set_ir_dte(DEV, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_FORWARD));
    CHECK_EQ(xl(DEV, 0xfee05000, 0x4031, &oa, &od), AMDVI_IR_PASSTHROUGH);
    CHECK_EQ(oa, 0xfee05000);
    CHECK_EQ(od, 0x4031);
    set_ir_dte(DEV, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_RSVD));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(1), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY);

    /* IV = 0 (and V = 0): message unchanged */
    set_ir_dte(DEV, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_REMAP) & ~AMDVI_DTE_IV);
    CHECK_EQ(xl(DEV, 0xfee05000, MSI(1), &oa, &od), AMDVI_IR_PASSTHROUGH);
    CHECK_EQ(oa, 0xfee05000);
    CHECK_EQ(od, 1);
    fx_set_dte(&f, DEV, 0, 0, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_REMAP));
    fx_inv_dte(&f, DEV);
    CHECK_EQ(xl(DEV, 0xfee05000, MSI(1), NULL, NULL), AMDVI_IR_PASSTHROUGH);

    /* NMI / INIT / ExtINT pass only with their DTE pass bit; SMI never */
    uint64_t q2 = dte_q2(9, IRT, AMDVI_DTE_INT_CTL_REMAP);
    set_ir_dte(DEV, q2);
    CHECK_EQ(xl(DEV, 0xfee00000, 0x400, NULL, NULL), AMDVI_IR_BLOCKED);  /* NMI */
    CHECK_EQ(xl(DEV, 0xfee00000, 0x500, NULL, NULL), AMDVI_IR_BLOCKED);  /* INIT */
    CHECK_EQ(xl(DEV, 0xfee00000, 0x700, NULL, NULL), AMDVI_IR_BLOCKED);  /* ExtINT */
    CHECK_EQ(count_events(), 3);
    set_ir_dte(DEV, q2 | AMDVI_DTE_NMI_PASS | AMDVI_DTE_INIT_PASS | AMDVI_DTE_EINT_PASS);
    CHECK_EQ(xl(DEV, 0xfee00000, 0x400, &oa, &od), AMDVI_IR_PASSTHROUGH);
    CHECK_EQ(od, 0x400);
    CHECK_EQ(xl(DEV, 0xfee00000, 0x500, NULL, NULL), AMDVI_IR_PASSTHROUGH);
    CHECK_EQ(xl(DEV, 0xfee00000, 0x700, NULL, NULL), AMDVI_IR_PASSTHROUGH);
    CHECK_EQ(xl(DEV, 0xfee00000, 0x200, NULL, NULL), AMDVI_IR_BLOCKED);  /* SMI */
    CHECK_EQ(xl(DEV, 0xfee00000, 0x300, NULL, NULL), AMDVI_IR_BLOCKED);  /* reserved */
    CHECK_EQ(count_events(), 2);

    /* IOMMU off: everything passes unchanged */
    set_ir_dte(DEV, q2);
    fx_w64(&f, AMDVI_MMIO_CONTROL, fx_r64(&f, AMDVI_MMIO_CONTROL) & ~AMDVI_CTRL_IOMMU_EN);
    CHECK(!amdvi_ir_enabled(f.a));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(2047), &oa, &od), AMDVI_IR_PASSTHROUGH);
    CHECK_EQ(od, 2047);
    fx_fini(&f);
}

static void test_rate_limit(void)
{
    setup(0);
    f.a->fault_dedup_ns = AMDVI_FAULT_DEDUP_NS;
    set_ir_dte(DEV, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_REMAP));
    for (unsigned i = 0; i < 50; i++)
        CHECK_EQ(xl(DEV, 0xfee00000, MSI(7), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK_EQ(count_events(), 1);
    /* a different index is a different fault */
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(8), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK_EQ(xl(DEV + 1, 0xfee00000, MSI(7), NULL, NULL), AMDVI_IR_PASSTHROUGH); /* V=0 */
    CHECK_EQ(count_events(), 1);
    struct amdvi_stats st;
    amdvi_get_stats(f.a, &st);
    CHECK_EQ(st.faults, 51);
    fx_fini(&f);
}

/* ---- listener ---- */

struct inv_rec {
    unsigned calls, all;
    uint16_t devids[8];
    unsigned ndev;
    enum amdvi_ir_result last;    /* re-translation from inside the callback */
};

static void on_invalidate(void *opaque, uint16_t devid, bool all)
{
    struct inv_rec *r = opaque;
    r->calls++;
    if (all)
        r->all++;
    else if (r->ndev < 8)
        r->devids[r->ndev++] = devid;
    /* callers re-translate from here: no IOMMU lock may be held */
    r->last = xl(DEV, 0xfee00000, MSI(5), NULL, NULL);
    (void)fx_r64(&f, AMDVI_MMIO_STATUS);
}

static void test_listener(void)
{
    struct inv_rec r = { 0 };
    struct amdvi_ir_listener l = { on_invalidate, &r };

    setup(0);
    amdvi_ir_set_listener(f.a, &l);
    put_irte32(IRT, 5, irte32(true, false, 0, false, 3, 0x41));
    fx_set_dte(&f, DEV, AMDVI_DTE_V, 0, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_REMAP));

    /* INVALIDATE_INTERRUPT_TABLE(devid): exactly one call for that devid */
    fx_cmd(&f, fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE) | 0x42, 0);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.all, 0);
    CHECK_EQ(r.ndev, 1);
    CHECK_EQ(r.devids[0], 0x42);

    /* commands that do not touch interrupt state: no call */
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_S | FX_SEM, 1);
    fx_inv_pages(&f, 1, AMDVI_CMD_INV_ALL_PAGES_ADDR | AMDVI_CMD_INV_S, false, 0);
    fx_cmd(&f, fx_op(AMDVI_CMD_INVALIDATE_IOTLB_PAGES) | DEV, 0);
    CHECK_EQ(r.calls, 1);

    /* INVALIDATE_DEVTAB_ENTRY: the DTE carries the IR fields -> that devid */
    fx_inv_dte(&f, DEV);
    CHECK_EQ(r.calls, 2);
    CHECK_EQ(r.devids[1], DEV);
    CHECK_EQ(r.last, AMDVI_IR_REMAPPED);

    /* several in one batch: one call per distinct devid, after the batch */
    fx_cmd_put(&f, fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE) | 0x10, 0);
    fx_cmd_put(&f, fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE) | 0x11, 0);
    fx_cmd_put(&f, fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE) | 0x10, 0);
    fx_cmd_kick(&f);
    CHECK_EQ(r.calls, 4);
    CHECK_EQ(r.devids[2], 0x10);
    CHECK_EQ(r.devids[3], 0x11);

    /* INVALIDATE_IOMMU_ALL: all */
    fx_cmd(&f, fx_op(AMDVI_CMD_INVALIDATE_IOMMU_ALL), 0);
    CHECK_EQ(r.calls, 5);
    CHECK_EQ(r.all, 1);

    /* a reserved bit: illegal command, no call */
    fx_cmd(&f, fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE) | BIT(20) | 0x10, 0);
    CHECK_EQ(r.calls, 5);

    /* control changes: GAEn, XTEn, IOMMUEn; others do not call */
    uint64_t ctrl = fx_r64(&f, AMDVI_MMIO_CONTROL);
    fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl | AMDVI_CTRL_GA_EN);
    CHECK_EQ(r.all, 2);
    CHECK_EQ(r.last, AMDVI_IR_BLOCKED); /* now reads the (zero) 128-bit slot 5 */
    fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl | AMDVI_CTRL_GA_EN | AMDVI_CTRL_XT_EN);
    CHECK_EQ(r.all, 3);
    fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl | AMDVI_CTRL_GA_EN | AMDVI_CTRL_XT_EN |
                                       AMDVI_CTRL_COM_WAIT_INT_EN);
    CHECK_EQ(r.all, 3);
    fx_w64(&f, AMDVI_MMIO_CONTROL, 0);
    CHECK_EQ(r.all, 4);
    CHECK_EQ(r.last, AMDVI_IR_PASSTHROUGH);
    /* device table base change */
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, FX_DEV_TABLE | 1);
    CHECK_EQ(r.all, 5);
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, FX_DEV_TABLE | 1);
    CHECK_EQ(r.all, 5);
    CHECK_EQ(r.calls, 9);

    /* removed listener: no calls */
    amdvi_ir_set_listener(f.a, NULL);
    fx_w64(&f, AMDVI_MMIO_CONTROL, AMDVI_CTRL_IOMMU_EN);
    CHECK_EQ(r.calls, 9);
    fx_fini(&f);
}

static void test_listener_intremap_off(void)
{
    struct inv_rec r = { 0 };
    struct amdvi_ir_listener l = { on_invalidate, &r };

    CHECK_EQ(ir_init(false), 0);
    fx_enable(&f, 0);
    amdvi_ir_set_listener(f.a, &l);
    fx_cmd(&f, fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE) | 0x42, 0);
    fx_cmd(&f, fx_op(AMDVI_CMD_INVALIDATE_IOMMU_ALL), 0);
    CHECK_EQ(r.calls, 0);
    fx_fini(&f);
}

/* ---- IntCapXT ---- */

static void test_intcapxt(void)
{
    setup(0);
    fx_enable_msi(&f);
    /* x2APIC destination 0x12345, vector 0x30 */
    uint32_t dest = 0x12345;
    fx_w64(&f, AMDVI_MMIO_INTCAPXT_EVT,
           FIELD_PREP(AMDVI_INTCAPXT_DEST_LO, dest & 0xffffff) |
               FIELD_PREP(AMDVI_INTCAPXT_DEST_HI, dest >> 24) |
               FIELD_PREP(AMDVI_INTCAPXT_VECTOR, 0x30));
    fx_w64(&f, AMDVI_MMIO_CONTROL,
           fx_r64(&f, AMDVI_MMIO_CONTROL) | AMDVI_CTRL_EVENT_INT_EN | AMDVI_CTRL_COM_WAIT_INT_EN |
               AMDVI_CTRL_GA_EN | AMDVI_CTRL_XT_EN | AMDVI_CTRL_INTCAPXT_EN);
    CHECK_EQ(fx_msis(&f), 0);
    /* an event (IV=1 abort) raises EventLogInt -> IntCapXT interrupt */
    set_ir_dte(DEV, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_ABORT));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(1), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK_EQ(fx_msis(&f), 1);
    CHECK_EQ(f.sink_state.addr, 0xfee45000ULL | (0x123ULL << 40));
    CHECK_EQ(f.sink_state.data, 0x30);
    CHECK_EQ(f.sink_state.source, pci_requester_id(amdvi_pci_device(f.a)));
    /* completion wait interrupt through the same register */
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I, 0);
    CHECK_EQ(fx_msis(&f), 2);
    CHECK_EQ(f.sink_state.data, 0x30);
    /* logical destination mode */
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_COM_WAIT_INT);
    fx_w64(&f, AMDVI_MMIO_INTCAPXT_EVT,
           AMDVI_INTCAPXT_DM | FIELD_PREP(AMDVI_INTCAPXT_DEST_LO, 0x1) |
               FIELD_PREP(AMDVI_INTCAPXT_VECTOR, 0x31));
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I, 0);
    CHECK_EQ(fx_msis(&f), 3);
    CHECK_EQ(f.sink_state.addr, 0xfee01004ULL);
    CHECK_EQ(f.sink_state.data, 0x31);
    /* register 0 = masked (what Linux writes): nothing sent */
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_COM_WAIT_INT);
    fx_w64(&f, AMDVI_MMIO_INTCAPXT_EVT, 0);
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I, 0);
    CHECK_EQ(fx_msis(&f), 3);
    /* IntCapXTEn off: the MSI capability is used again */
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_COM_WAIT_INT);
    fx_w64(&f, AMDVI_MMIO_CONTROL, fx_r64(&f, AMDVI_MMIO_CONTROL) & ~AMDVI_CTRL_INTCAPXT_EN);
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I, 0);
    CHECK_EQ(fx_msis(&f), 4);
    CHECK_EQ(f.sink_state.addr, FX_MSI_ADDR);
    CHECK_EQ(f.sink_state.data, FX_MSI_DATA);
    fx_fini(&f);
}

/* ---- malformed / out of range ---- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void test_malformed(void)
{
    uint64_t q0, q1, oa;
    uint32_t od;

    setup(0);
    /* IRT root beyond RAM: PAGE_TAB_HARDWARE_ERROR at the IRTE address */
    uint64_t far = 0xfff00000000ULL;
    set_ir_dte(DEV, dte_q2(9, far, AMDVI_DTE_INT_CTL_REMAP));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(3), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_PAGE_TAB_HARDWARE_ERROR);
    CHECK_EQ(q1, far + 12);
    /* IRT root straddling the end of RAM */
    set_ir_dte(DEV, dte_q2(11, FX_RAM_SIZE - 64, AMDVI_DTE_INT_CTL_REMAP));
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(2047), NULL, NULL), AMDVI_IR_BLOCKED);
    /* device table too small for the devid: ILLEGAL_DEV_TABLE_ENTRY */
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, FX_DEV_TABLE | 0); /* 128 entries */
    count_events();
    CHECK_EQ(xl(0x8000, 0xfee00000, MSI(1), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DEVID, q0), 0x8000);
    /* device table outside RAM: DEV_TAB_HARDWARE_ERROR */
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, far | FX_DEV_TABLE_SIZE_FIELD);
    CHECK_EQ(xl(DEV, 0xfee00000, MSI(1), NULL, NULL), AMDVI_IR_BLOCKED);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_DEV_TAB_HARDWARE_ERROR);
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, FX_DEV_TABLE | FX_DEV_TABLE_SIZE_FIELD);

    /* the IOMMU's own requester id is never remapped */
    uint16_t own = pci_requester_id(amdvi_pci_device(f.a));
    set_ir_dte(own, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_ABORT));
    CHECK_EQ(xl(own, 0xfee00000, MSI(1), NULL, NULL), AMDVI_IR_PASSTHROUGH);

    /* random DTE interrupt fields, IRTEs, formats and messages */
    unsigned counts[3] = { 0 };
    for (unsigned i = 0; i < 20000; i++) {
        uint64_t q2 = rnd();
        uint32_t data = (uint32_t)rnd();
        if (i & 1) /* keep the table root in RAM half the time */
            q2 = (q2 & ~AMDVI_DTE_INT_TABLE_ROOT) | (IRT & AMDVI_DTE_INT_TABLE_ROOT);
        if (i % 4 == 1) { /* plausible fields, random entries */
            q2 = (q2 & ~(AMDVI_DTE_INT_TAB_LEN | AMDVI_DTE_INT_CTL)) | AMDVI_DTE_IV |
                 FIELD_PREP(AMDVI_DTE_INT_TAB_LEN, 9) |
                 FIELD_PREP(AMDVI_DTE_INT_CTL, AMDVI_DTE_INT_CTL_REMAP);
            data &= 0x1ffu;
            uint64_t at = IRT + (uint64_t)data * ((i & 8) ? 16 : 4);
            fake_ram_w64(&f.ram, at, rnd() | 1);
        }
        fx_set_dte(&f, DEV, AMDVI_DTE_V | (rnd() & ~AMDVI_DTE_V), rnd(), q2);
        if (i % 4 == 1 || i % 64 == 0)
            fx_inv_dte(&f, DEV);
        if (i % 64 == 0) {
            fx_w64(&f, AMDVI_MMIO_CONTROL,
                   (fx_r64(&f, AMDVI_MMIO_CONTROL) & ~AMDVI_CTRL_IR_WRITABLE) |
                       (rnd() & AMDVI_CTRL_IR_WRITABLE));
        }
        fake_ram_w64(&f.ram, IRT + (rnd() % (2048 * 16)) / 8 * 8, rnd());
        enum amdvi_ir_result res = xl(DEV, rnd(), data, &oa, &od);
        CHECK(res <= AMDVI_IR_BLOCKED);
        counts[res]++;
        if (i % 128 == 0)
            count_events();
    }
    CHECK(counts[AMDVI_IR_REMAPPED] > 0);
    CHECK(counts[AMDVI_IR_BLOCKED] > 0);
    CHECK(counts[AMDVI_IR_PASSTHROUGH] > 0);
    fx_fini(&f);
}

/* ---- concurrency: translations racing invalidations ---- */

static volatile bool stop_threads;
static unsigned bad_results;

static void *xlate_thread(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop_threads, __ATOMIC_ACQUIRE)) {
        uint64_t oa;
        uint32_t od;
        if (amdvi_ir_translate(f.a, DEV, 0xfee00000, MSI(5), &oa, &od) != AMDVI_IR_REMAPPED ||
            od != 0x41)
            __atomic_fetch_add(&bad_results, 1, __ATOMIC_RELAXED);
        if (amdvi_ir_translate(f.a, DEV, 0xfee00000, MSI(7), &oa, &od) != AMDVI_IR_BLOCKED)
            __atomic_fetch_add(&bad_results, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_concurrent(void)
{
    struct inv_rec r = { 0 };
    struct amdvi_ir_listener l = { on_invalidate, &r };
    pthread_t t;

    setup(0);
    f.a->fault_dedup_ns = AMDVI_FAULT_DEDUP_NS;
    amdvi_ir_set_listener(f.a, &l);
    put_irte32(IRT, 5, irte32(true, false, 0, false, 3, 0x41));
    set_ir_dte(DEV, dte_q2(9, IRT, AMDVI_DTE_INT_CTL_REMAP));
    stop_threads = false;
    CHECK_EQ(pthread_create(&t, NULL, xlate_thread, NULL), 0);
    for (unsigned i = 0; i < 2000; i++) {
        fx_cmd(&f, fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE) | DEV, 0);
        if (i % 100 == 0)
            count_events();
    }
    __atomic_store_n(&stop_threads, true, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK_EQ(r.calls, 2001); /* + the set_ir_dte DTE invalidation */
    CHECK_EQ(bad_results, 0);
    CHECK_EQ(r.last, AMDVI_IR_REMAPPED);
    fx_fini(&f);
}

int main(void)
{
    test_advertise();
    test_msi_addr();
    test_legacy();
    test_ga_xt();
    test_dte_fields();
    test_rate_limit();
    test_listener();
    test_listener_intremap_off();
    test_intcapxt();
    test_malformed();
    test_concurrent();
    return check_result("test_amdvi_ir");
}
