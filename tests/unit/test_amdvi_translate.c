/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi DMA remapping: pass-through cases (IOMMUEn off, V=0, TV=0),
 * default-deny and IR/IW with Mode 0, v1 walks with permissions ANDed with
 * the DTE, large pages and lengths, IOTLB hits and stale-free invalidation,
 * exclusion range, v2 (GCR3, PASID 0) walks and GN invalidation, illegal
 * GV DTEs, a dma_space behind the IOMMU, concurrent translation vs
 * invalidation.
 */
#include <pthread.h>

#include "tests/unit/amdvi_fixture.h"

#define DEV 0x0020 /* 00:04.0 */
#define DOM 5
#define IOVA 0x7f0000000ULL

static struct fx f;

static void test_passthrough(void)
{
    uint64_t gpa, len;

    CHECK_EQ(fx_init(&f), 0);
    /* IOMMUEn = 0: identity, to the top of the address space */
    CHECK_EQ(fx_xlate(&f, DEV, 0x1234, true, &gpa, &len), 0);
    CHECK_EQ(gpa, 0x1234);
    CHECK_EQ(len, (uint64_t)0 - 0x1234);
    fx_enable(&f, AMDVI_CTRL_GT_EN);
    /* V = 0 */
    CHECK_EQ(fx_xlate(&f, DEV, 0x5000, true, &gpa, &len), 0);
    CHECK_EQ(gpa, 0x5000);
    /* TV = 0 */
    fx_set_dte(&f, DEV, AMDVI_DTE_V, FIELD_PREP(AMDVI_DTE_DOMAIN_ID, DOM), 0);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, 0x5000, true, &gpa, &len), 0);
    CHECK_EQ(gpa, 0x5000);
    /* default-deny: V=1 TV=1 Mode 0 IR=IW=0 */
    fx_dte_v1(&f, DEV, 0, 0, DOM, false, false);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, 0x5000, false, &gpa, &len), -EPERM);
    CHECK_EQ(fx_xlate(&f, DEV, 0x5000, true, &gpa, &len), -EPERM);
    uint64_t q0 = 0, q1 = 0;
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_RW);
    /* Mode 0 with IR only */
    fx_dte_v1(&f, DEV, 0, 0, DOM, true, false);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, 0x5000, false, &gpa, &len), 0);
    CHECK_EQ(gpa, 0x5000);
    CHECK_EQ(fx_xlate(&f, DEV, 0x5000, true, &gpa, &len), -EPERM);
    fx_fini(&f);
}

static void test_v1(void)
{
    uint64_t gpa = 0, len = 0;

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    uint64_t root = fx_pt_alloc(&f);
    fx_map_v1(&f, root, 4, IOVA, FX_DATA, true, true);
    fx_map_v1(&f, root, 4, IOVA + AMDVI_PAGE_SIZE, FX_DATA + 0x10000, true, false);
    fx_dte_v1(&f, DEV, root, 4, DOM, true, true);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA + 0x10, true, &gpa, &len), 0);
    CHECK_EQ(gpa, FX_DATA + 0x10);
    CHECK_EQ(len, AMDVI_PAGE_SIZE - 0x10);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA + AMDVI_PAGE_SIZE + 8, false, &gpa, &len), 0);
    CHECK_EQ(gpa, FX_DATA + 0x10008);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA + AMDVI_PAGE_SIZE, true, &gpa, &len), -EPERM);
    /* IOTLB: a second translation of the page is a hit */
    struct amdvi_stats s0, s1;
    amdvi_get_stats(f.a, &s0);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA + 0x800, false, &gpa, &len), 0);
    amdvi_get_stats(f.a, &s1);
    CHECK_EQ(s1.iotlb_hits, s0.iotlb_hits + 1);
    CHECK_EQ(gpa, FX_DATA + 0x800);
    /* DTE IW = 0 masks the walk's write permission, even on an IOTLB hit */
    fx_dte_v1(&f, DEV, root, 4, DOM, true, false);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA, false, &gpa, &len), 0);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA, true, &gpa, &len), -EPERM);
    fx_dte_v1(&f, DEV, root, 4, DOM, true, true);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA, true, &gpa, &len), 0); /* cached again */
    /* change the mapping: stale until INVALIDATE_IOMMU_PAGES, then new */
    fx_map_v1(&f, root, 4, IOVA, FX_DATA + 0x20000, true, true);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA, false, &gpa, &len), 0);
    CHECK_EQ(gpa, FX_DATA);
    fx_inv_pages(&f, DOM, IOVA, false, 0);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA, false, &gpa, &len), 0);
    CHECK_EQ(gpa, FX_DATA + 0x20000);
    /* unmap: not present after invalidation */
    fake_ram_w64(&f.ram, fx_v1_leaf(&f, root, 4, IOVA), 0);
    fx_inv_pages(&f, DOM, IOVA, false, 0);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA, false, &gpa, &len), -EFAULT);
    /* IOVA beyond a 3-level table's reach */
    fx_dte_v1(&f, DEV, root, 3, DOM, true, true);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, 1ULL << 40, false, &gpa, &len), -EFAULT);
    fx_fini(&f);
}

static void test_large_page(void)
{
    uint64_t gpa = 0, len = 0;

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    uint64_t root = fx_pt_alloc(&f), l2 = fx_pt_alloc(&f);
    /* 2-level table: a level-2 entry with Next Level 0 maps 2 MiB */
    fake_ram_w64(&f.ram, root + amdvi_pt_index(0x400000, 2) * 8,
                 0x1e00000ULL | AMDVI_PTE_PR | AMDVI_PTE_IR | AMDVI_PTE_IW);
    (void)l2;
    fx_dte_v1(&f, DEV, root, 2, DOM, true, true);
    CHECK_EQ(fx_xlate(&f, DEV, 0x400000 + 0x12345, true, &gpa, &len), 0);
    CHECK_EQ(gpa, 0x1e00000 + 0x12345);
    CHECK_EQ(len, 0x200000 - 0x12345);
    /* the IOTLB holds the 2 MiB page: another offset hits */
    struct amdvi_stats s0, s1;
    amdvi_get_stats(f.a, &s0);
    CHECK_EQ(fx_xlate(&f, DEV, 0x5fffff, false, &gpa, &len), 0);
    amdvi_get_stats(f.a, &s1);
    CHECK_EQ(gpa, 0x1ffffff);
    CHECK_EQ(len, 1);
    CHECK_EQ(s1.iotlb_hits, s0.iotlb_hits + 1);
    /* invalidating one 4 KiB page inside drops the whole large page */
    fake_ram_w64(&f.ram, root + amdvi_pt_index(0x400000, 2) * 8, 0);
    fx_inv_pages(&f, DOM, 0x480000, false, 0);
    CHECK_EQ(fx_xlate(&f, DEV, 0x400000, false, &gpa, &len), -EFAULT);
    fx_fini(&f);
}

static void test_exclusion(void)
{
    uint64_t gpa = 0, len = 0;

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    fx_dte_v1(&f, DEV, 0, 0, DOM, false, false); /* blocked */
    fx_w64(&f, AMDVI_MMIO_EXCL_LIMIT, 0x3000);
    fx_w64(&f, AMDVI_MMIO_EXCL_BASE, 0x2000 | AMDVI_EXCL_BASE_EX_EN);
    /* neither Allow nor DTE.EX: still blocked */
    CHECK_EQ(fx_xlate(&f, DEV, 0x2000, false, &gpa, &len), -EPERM);
    fx_w64(&f, AMDVI_MMIO_EXCL_BASE, 0x2000 | AMDVI_EXCL_BASE_EX_EN | AMDVI_EXCL_BASE_ALLOW);
    CHECK_EQ(fx_xlate(&f, DEV, 0x2800, true, &gpa, &len), 0);
    CHECK_EQ(gpa, 0x2800);
    CHECK_EQ(len, 0x3fff - 0x2800 + 1);
    CHECK_EQ(fx_xlate(&f, DEV, 0x4000, false, &gpa, &len), -EPERM);
    CHECK_EQ(fx_xlate(&f, DEV, 0x1fff, false, &gpa, &len), -EPERM);
    fx_w64(&f, AMDVI_MMIO_EXCL_BASE, 0x2000);
    CHECK_EQ(fx_xlate(&f, DEV, 0x2800, true, &gpa, &len), -EPERM);
    fx_fini(&f);
}

static void test_v2(void)
{
    uint64_t gpa = 0, len = 0, cr3, q0 = 0, q1 = 0;

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, AMDVI_CTRL_GT_EN);
    uint64_t gcr3 = fx_v2_gcr3(&f, &cr3);
    fx_map_v2(&f, cr3, 0x1000, FX_DATA + 0x3000, true);
    fx_map_v2(&f, cr3, 0x2000, FX_DATA + 0x4000, false);
    fx_dte_v2(&f, DEV, gcr3, DOM);
    CHECK_EQ(fx_xlate(&f, DEV, 0x1010, true, &gpa, &len), 0);
    CHECK_EQ(gpa, FX_DATA + 0x3010);
    CHECK_EQ(len, AMDVI_PAGE_SIZE - 0x10);
    CHECK_EQ(fx_xlate(&f, DEV, 0x2000, false, &gpa, &len), 0);
    CHECK_EQ(gpa, FX_DATA + 0x4000);
    CHECK_EQ(fx_xlate(&f, DEV, 0x2000, true, &gpa, &len), -EPERM);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_GN);
    CHECK_EQ(q1, 0x2000);
    /* remap; GN invalidation of PASID 0 picks it up */
    fx_map_v2(&f, cr3, 0x1000, FX_DATA + 0x5000, true);
    CHECK_EQ(fx_xlate(&f, DEV, 0x1000, false, &gpa, &len), 0);
    CHECK_EQ(gpa, FX_DATA + 0x3000);
    fx_inv_pages(&f, DOM, 0x1000, true, 0);
    CHECK_EQ(fx_xlate(&f, DEV, 0x1000, false, &gpa, &len), 0);
    CHECK_EQ(gpa, FX_DATA + 0x5000);
    /* GN for another PASID leaves PASID 0 alone */
    fx_map_v2(&f, cr3, 0x1000, FX_DATA + 0x6000, true);
    fx_inv_pages(&f, DOM, 0x1000, true, 1);
    CHECK_EQ(fx_xlate(&f, DEV, 0x1000, false, &gpa, &len), 0);
    CHECK_EQ(gpa, FX_DATA + 0x5000);
    /* non-present */
    CHECK_EQ(fx_xlate(&f, DEV, 0x9000, false, &gpa, &len), -EFAULT);
    /* GV=1, GIOV=0: requests without PASID use the host table (Mode 0 here) */
    fx_set_dte(&f, DEV, AMDVI_DTE_V | AMDVI_DTE_TV | AMDVI_DTE_GV | AMDVI_DTE_IR, DOM, 0);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, 0x1000, false, &gpa, &len), 0);
    CHECK_EQ(gpa, 0x1000);
    /* nested (GV + GIOV with Mode != 0) is not implemented: illegal DTE */
    fx_set_dte(&f, DEV, AMDVI_DTE_V | AMDVI_DTE_TV | AMDVI_DTE_GV | AMDVI_DTE_GIOV |
                            FIELD_PREP(AMDVI_DTE_MODE, 3) | AMDVI_DTE_IR, DOM, 0);
    fx_inv_dte(&f, DEV);
    while (fx_event(&f, &q0, &q1))
        ;
    CHECK_EQ(fx_xlate(&f, DEV, 0x1000, false, &gpa, &len), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY);
    /* GV=1 with GTEn clear is illegal */
    fx_dte_v2(&f, DEV, gcr3, DOM);
    fx_w64(&f, AMDVI_MMIO_CONTROL, fx_r64(&f, AMDVI_MMIO_CONTROL) & ~AMDVI_CTRL_GT_EN);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, 0x1000, false, &gpa, &len), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY);
    fx_fini(&f);

    /* without guest tables advertised, GV=1 is illegal even with GTEn written */
    CHECK_EQ(fx_init_cfg(&f, false, 0), 0);
    fx_enable(&f, AMDVI_CTRL_GT_EN);
    gcr3 = fx_v2_gcr3(&f, &cr3);
    fx_map_v2(&f, cr3, 0x1000, FX_DATA, true);
    fx_dte_v2(&f, DEV, gcr3, DOM);
    CHECK_EQ(fx_xlate(&f, DEV, 0x1000, false, &gpa, &len), -EFAULT);
    fx_fini(&f);
}

static void test_dma_space(void)
{
    struct dma_space as;
    uint8_t buf[64], pattern[64];

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    uint64_t root = fx_pt_alloc(&f);
    fx_map_v1(&f, root, 3, 0x10000, FX_DATA + 0x7000, true, true);
    fx_map_v1(&f, root, 3, 0x11000, FX_DATA + 0x3000, true, true); /* not contiguous */
    fx_dte_v1(&f, DEV, root, 3, DOM, true, true);
    CHECK_EQ(dma_space_init(&as, &f.ram.region, 1, DEV), 0);
    struct dma_translator tr = amdvi_translator(f.a);
    dma_space_set_translator(&as, &tr);
    for (unsigned i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 7 + 1);
    /* a write straddling two IOVA pages lands in two unrelated GPA pages */
    CHECK_EQ(dma_write(&as, 0x11000 - 32, pattern, sizeof(pattern)), 0);
    fake_ram_read(&f.ram, FX_DATA + 0x8000 - 32, buf, 32);
    CHECK(memcmp(buf, pattern, 32) == 0);
    fake_ram_read(&f.ram, FX_DATA + 0x3000, buf, 32);
    CHECK(memcmp(buf, pattern + 32, 32) == 0);
    CHECK_EQ(dma_read(&as, 0x11000 - 32, buf, sizeof(buf)), 0);
    CHECK(memcmp(buf, pattern, sizeof(buf)) == 0);
    /* an unmapped IOVA fails and touches nothing */
    uint8_t before[64];
    fake_ram_read(&f.ram, 0x12000, before, sizeof(before));
    CHECK_EQ(dma_write(&as, 0x12000, pattern, sizeof(pattern)), -EFAULT);
    fake_ram_read(&f.ram, 0x12000, buf, sizeof(buf));
    CHECK(memcmp(buf, before, sizeof(buf)) == 0);
    uint64_t q0 = 0, q1 = 0;
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DEVID, q0), DEV);
    CHECK_EQ(q1, 0x12000);
    fx_fini(&f);
}

/* ---- concurrency: translations racing remaps + invalidations ---- */

#define RACE_PAGES 8u
#define RACE_ITERS 20000u

struct racer {
    bool stop;
    unsigned bad;
};

static void *race_translate(void *arg)
{
    struct racer *r = arg;
    unsigned n = 0;
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) || n < 1000) {
        uint64_t iova = (n % RACE_PAGES) * AMDVI_PAGE_SIZE, gpa = 0, len = 0;
        int ret = fx_xlate(&f, DEV, iova, false, &gpa, &len);
        /* every answer is one of the two mappings the page ever had */
        uint64_t a = FX_DATA + iova, b = FX_DATA + 0x100000 + iova;
        if (ret != 0 || (gpa != a && gpa != b))
            __atomic_fetch_add(&r->bad, 1, __ATOMIC_RELAXED);
        n++;
    }
    return NULL;
}

static void test_concurrency(void)
{
    struct racer r = { 0 };
    pthread_t t[3];

    CHECK_EQ(fx_init_cfg(&f, true, 64), 0);
    fx_enable(&f, 0);
    uint64_t root = fx_pt_alloc(&f);
    for (unsigned i = 0; i < RACE_PAGES; i++)
        fx_map_v1(&f, root, 3, i * AMDVI_PAGE_SIZE, FX_DATA + i * AMDVI_PAGE_SIZE, true, true);
    fx_dte_v1(&f, DEV, root, 3, DOM, true, true);
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, race_translate, &r), 0);
    for (unsigned it = 0; it < RACE_ITERS / 10; it++) {
        unsigned page = it % RACE_PAGES;
        uint64_t target = (it / RACE_PAGES) % 2 ? 0x100000 : 0;
        fx_map_v1(&f, root, 3, page * AMDVI_PAGE_SIZE,
                  FX_DATA + target + page * AMDVI_PAGE_SIZE, true, true);
        fx_inv_pages(&f, DOM, page * AMDVI_PAGE_SIZE, false, 0);
        if (it % 97 == 0)
            fx_inv_dte(&f, DEV);
    }
    __atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(r.bad, 0);
    /* once quiet, every page reads its final mapping */
    for (unsigned i = 0; i < RACE_PAGES; i++) {
        uint64_t leaf = fx_r64_ram(&f, fx_v1_leaf(&f, root, 3, i * AMDVI_PAGE_SIZE));
        uint64_t gpa = 0;
        CHECK_EQ(fx_xlate(&f, DEV, i * AMDVI_PAGE_SIZE, false, &gpa, NULL), 0);
        CHECK_EQ(gpa, leaf & AMDVI_PTE_ADDR);
    }
    fx_fini(&f);
}

int main(void)
{
    test_passthrough();
    test_v1();
    test_large_page();
    test_exclusion();
    test_v2();
    test_dma_space();
    test_concurrency();
    return check_result("test_amdvi_translate");
}
