/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi map notifications (iommu/map_notify.h listeners) driven through
 * the real model: MMIO registers and a command buffer in fake guest RAM,
 * with a recording listener. Covers: the first sync at registration,
 * INVALIDATE_IOMMU_PAGES (map, unmap, other domain, GN, a 2 MiB page seen
 * through one 4 KiB address), INVALIDATE_DEVTAB_ENTRY / IOMMU_ALL / IOMMUEn
 * / device table base -> full syncs, identity cases (IOMMU off, V = 0,
 * Mode 0 with IR/IW), illegal DTEs, v2 tables, a mapping outside RAM (left
 * out + IO_PAGE_FAULT), the sync running before a following COMPLETION_WAIT,
 * sync errors, renumbered requesters and amdvi_map_snapshot.
 */
#include <stdlib.h>

#include "tests/unit/amdvi_fixture.h"

#define DEV_A 0x0010 /* 00:02.0 */
#define DEV_B 0x0018 /* 00:03.0 */
#define IOVA 0x40000000ULL
#define PG AMDVI_PAGE_SIZE
#define MAXW 64u
#define MIB_2 (2ULL << 20)

static struct fx f;

struct rec {
    uint16_t rid;
    int ret;                   /* what sync returns */
    unsigned calls;
    uint64_t first, last;
    size_t n;
    struct iommu_mapping w[MAXW];
    uint64_t sem_seen;         /* the COMPLETION_WAIT target when sync ran */
};

static uint16_t rec_rid(void *opaque)
{
    return ((struct rec *)opaque)->rid;
}

static int rec_sync(void *opaque, uint64_t first, uint64_t last, const struct iommu_mapping *want,
                    size_t n)
{
    struct rec *r = opaque;

    r->calls++;
    r->first = first;
    r->last = last;
    r->n = n;
    for (size_t i = 0; i < n && i < MAXW; i++)
        r->w[i] = want[i];
    r->sem_seen = fx_r64_ram(&f, FX_SEM);
    return r->ret;
}

static void add(struct rec *r, uint16_t rid)
{
    memset(r, 0, sizeof(*r));
    r->rid = rid;
    struct iommu_map_listener l = { .requester_id = rec_rid, .sync = rec_sync, .opaque = r };
    CHECK_EQ(amdvi_add_map_listener(f.a, &l), 0);
}

static void expect_w(const struct rec *r, size_t i, uint64_t iova, uint64_t size, uint64_t gpa,
                     bool rd, bool wr)
{
    CHECK(i < r->n);
    if (i >= r->n)
        return;
    CHECK_EQ(r->w[i].iova, iova);
    CHECK_EQ(r->w[i].size, size);
    CHECK_EQ(r->w[i].gpa, gpa);
    CHECK_EQ(r->w[i].read, rd);
    CHECK_EQ(r->w[i].write, wr);
}

/* A full sync whose want is all RAM 1:1 with these permissions. */
static void expect_all_ram(const struct rec *r, bool rd, bool wr)
{
    CHECK_EQ(r->first, 0);
    CHECK_EQ(r->last, UINT64_MAX);
    CHECK_EQ(r->n, 1);
    expect_w(r, 0, 0, FX_RAM_SIZE, 0, rd, wr);
}

static void expect_no_event(void)
{
    uint64_t q0, q1;
    CHECK(!fx_event(&f, &q0, &q1));
}

static void test_register(void)
{
    struct rec r[AMDVI_MAX_MAP_LISTENERS + 1];

    CHECK_EQ(fx_init(&f), 0);
    /* first sync at once: the IOMMU is off, everything is RAM 1:1 */
    add(&r[0], DEV_A);
    CHECK_EQ(r[0].calls, 1);
    expect_all_ram(&r[0], true, true);
    for (unsigned i = 1; i < AMDVI_MAX_MAP_LISTENERS; i++)
        add(&r[i], (uint16_t)(DEV_A + i));
    struct iommu_map_listener l = { .requester_id = rec_rid, .sync = rec_sync, .opaque = &r[16] };
    CHECK_EQ(amdvi_add_map_listener(f.a, &l), -ENOSPC);
    l.sync = NULL;
    CHECK_EQ(amdvi_add_map_listener(f.a, &l), -EINVAL);
    fx_fini(&f);
}

/* Map `n` pages at iova -> FX_DATA + salt pages in a mode-3 table. */
static void map_pages(uint64_t root, uint64_t iova, unsigned n, unsigned salt, bool rd, bool wr)
{
    for (unsigned i = 0; i < n; i++)
        fx_map_v1(&f, root, 3, iova + i * PG, FX_DATA + (salt + i) * PG, rd, wr);
}

static void test_v1_pages(void)
{
    struct rec ra, rb;

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    add(&ra, DEV_A);
    add(&rb, DEV_B);
    /* the table is empty first: the devtab invalidation says "nothing" */
    uint64_t root = fx_pt_alloc(&f);
    fx_dte_v1(&f, DEV_A, root, 3, 1, true, true);
    fx_dte_v1(&f, DEV_B, fx_pt_alloc(&f), 3, 2, true, true);
    fx_inv_dte(&f, DEV_A);
    CHECK_EQ(ra.calls, 2);
    CHECK_EQ(rb.calls, 1);
    CHECK_EQ(ra.first, 0);
    CHECK_EQ(ra.last, UINT64_MAX);
    CHECK_EQ(ra.n, 0);

    /* map 4 pages, invalidate them (16 KiB aligned): the 4 pages */
    map_pages(root, IOVA, 4, 0, true, true);
    fx_map_v1(&f, root, 3, IOVA + 2 * PG, FX_DATA + 2 * PG, true, false); /* page 2 read-only */
    fx_inv_pages(&f, 1, fx_inv_address(IOVA, 4 * PG), false, 0);
    CHECK_EQ(ra.calls, 3);
    CHECK_EQ(ra.first, IOVA);
    CHECK_EQ(ra.last, IOVA + 4 * PG - 1);
    CHECK_EQ(ra.n, 4);
    expect_w(&ra, 0, IOVA, PG, FX_DATA, true, true);
    expect_w(&ra, 2, IOVA + 2 * PG, PG, FX_DATA + 2 * PG, true, false);
    expect_w(&ra, 3, IOVA + 3 * PG, PG, FX_DATA + 3 * PG, true, true);
    /* other domain: A's listener is not called, B's is (for its own empty table) */
    fx_inv_pages(&f, 2, fx_inv_address(IOVA, 4 * PG), false, 0);
    CHECK_EQ(ra.calls, 3);
    CHECK_EQ(rb.calls, 2);
    CHECK_EQ(rb.n, 0);
    /* GN = 1 is about guest tables: a v1 requester is not synced */
    fx_inv_pages(&f, 1, fx_inv_address(IOVA, 4 * PG), true, 0);
    CHECK_EQ(ra.calls, 3);

    /* unmap page 1: one-page invalidation, want empty */
    fake_ram_w64(&f.ram, fx_v1_leaf(&f, root, 3, IOVA + PG), 0);
    fx_inv_pages(&f, 1, IOVA + PG, false, 0);
    CHECK_EQ(ra.calls, 4);
    CHECK_EQ(ra.first, IOVA + PG);
    CHECK_EQ(ra.last, IOVA + 2 * PG - 1);
    CHECK_EQ(ra.n, 0);
    /* the DTE's IR/IW are ANDed: IW = 0 leaves read-only pages; IR = IW = 0
     * leaves nothing */
    fx_dte_v1(&f, DEV_A, root, 3, 1, true, false);
    fx_inv_dte(&f, DEV_A);
    CHECK_EQ(ra.calls, 5);
    CHECK_EQ(ra.n, 3);
    expect_w(&ra, 0, IOVA, PG, FX_DATA, true, false);
    expect_w(&ra, 1, IOVA + 2 * PG, PG, FX_DATA + 2 * PG, true, false);
    fx_dte_v1(&f, DEV_A, root, 3, 1, false, false);
    fx_inv_dte(&f, DEV_A);
    CHECK_EQ(ra.n, 0);
    fx_dte_v1(&f, DEV_A, root, 3, 1, true, true);
    fx_inv_dte(&f, DEV_A);

    /* a 2 MiB page (level-2 NL 0) invalidated through one 4 KiB address:
     * listed whole */
    uint64_t l3e = fx_r64_ram(&f, root + amdvi_pt_index(IOVA, 3) * 8) & AMDVI_PTE_ADDR;
    fake_ram_w64(&f.ram, l3e + 5 * 8,
                 (FX_DATA + MIB_2) | AMDVI_PTE_PR | AMDVI_PTE_IR | AMDVI_PTE_IW);
    fx_inv_pages(&f, 1, IOVA + 5 * MIB_2 + 0x3000, false, 0);
    CHECK_EQ(ra.first, IOVA + 5 * MIB_2 + 0x3000);
    CHECK_EQ(ra.n, 1);
    expect_w(&ra, 0, IOVA + 5 * MIB_2, MIB_2, FX_DATA + MIB_2, true, true);

    /* a renumbered requester: the listener follows its new id */
    ra.rid = DEV_B;
    unsigned before = ra.calls;
    fx_inv_pages(&f, 1, IOVA, false, 0);
    CHECK_EQ(ra.calls, before);
    fx_inv_pages(&f, 2, IOVA, false, 0);
    CHECK_EQ(ra.calls, before + 1);
    ra.rid = DEV_A;
    expect_no_event();
    fx_fini(&f);
}

static void test_full_syncs(void)
{
    struct rec ra;

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    add(&ra, DEV_A);
    /* enabled, DTE V = 0 (zeroed table): identity, all RAM read/write */
    CHECK_EQ(ra.calls, 1);
    expect_all_ram(&ra, true, true);

    uint64_t root = fx_pt_alloc(&f);
    map_pages(root, IOVA, 2, 0, true, true);
    fx_dte_v1(&f, DEV_A, root, 3, 1, true, true);
    /* INVALIDATE_IOMMU_ALL: full sync with the table's content */
    fx_cmd(&f, fx_op(AMDVI_CMD_INVALIDATE_IOMMU_ALL), 0);
    CHECK_EQ(ra.calls, 2);
    CHECK_EQ(ra.first, 0);
    CHECK_EQ(ra.last, UINT64_MAX);
    CHECK_EQ(ra.n, 2);
    expect_w(&ra, 1, IOVA + PG, PG, FX_DATA + PG, true, true);
    /* IOMMUEn off: all RAM */
    uint64_t ctrl = fx_r64(&f, AMDVI_MMIO_CONTROL);
    fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl & ~AMDVI_CTRL_IOMMU_EN);
    CHECK_EQ(ra.calls, 3);
    expect_all_ram(&ra, true, true);
    /* a write that does not change IOMMUEn: no sync */
    fx_w64(&f, AMDVI_MMIO_CONTROL, (ctrl & ~AMDVI_CTRL_IOMMU_EN) | AMDVI_CTRL_COM_WAIT_INT_EN);
    CHECK_EQ(ra.calls, 3);
    /* back on: the table again */
    fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl);
    CHECK_EQ(ra.calls, 4);
    CHECK_EQ(ra.n, 2);
    /* a new device table base (an empty table): identity */
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, (FX_DEV_TABLE + 0x200000) | FX_DEV_TABLE_SIZE_FIELD);
    CHECK_EQ(ra.calls, 5);
    expect_all_ram(&ra, true, true);
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, FX_DEV_TABLE | FX_DEV_TABLE_SIZE_FIELD);
    CHECK_EQ(ra.calls, 6);
    CHECK_EQ(ra.n, 2);

    /* Mode 0: identity with the DTE's permissions */
    fx_dte_v1(&f, DEV_A, 0, 0, 1, true, false);
    fx_inv_dte(&f, DEV_A);
    expect_all_ram(&ra, true, false);
    /* Mode 0 domain 1: page invalidations do not concern it */
    unsigned before = ra.calls;
    fx_inv_pages(&f, 1, IOVA, false, 0);
    CHECK_EQ(ra.calls, before);
    fx_dte_v1(&f, DEV_A, 0, 0, 1, false, false);
    fx_inv_dte(&f, DEV_A);
    CHECK_EQ(ra.n, 0);
    /* illegal DTE (reserved bit 2): nothing mapped */
    fx_set_dte(&f, DEV_A,
               AMDVI_DTE_V | AMDVI_DTE_TV | BIT(2) | FIELD_PREP(AMDVI_DTE_MODE, 3) | root |
                   AMDVI_DTE_IR | AMDVI_DTE_IW,
               FIELD_PREP(AMDVI_DTE_DOMAIN_ID, 1), 0);
    fx_inv_dte(&f, DEV_A);
    CHECK_EQ(ra.first, 0);
    CHECK_EQ(ra.n, 0);
    /* TV = 0: pass-through */
    fx_set_dte(&f, DEV_A, AMDVI_DTE_V, 0, 0);
    fx_inv_dte(&f, DEV_A);
    expect_all_ram(&ra, true, true);
    /* a devtab invalidation of another device does not concern it */
    before = ra.calls;
    fx_inv_dte(&f, DEV_B);
    CHECK_EQ(ra.calls, before);
    fx_fini(&f);
}

static void test_v2(void)
{
    struct rec ra;
    uint64_t cr3;

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, AMDVI_CTRL_GT_EN);
    add(&ra, DEV_A);
    uint64_t gcr3 = fx_v2_gcr3(&f, &cr3);
    fx_map_v2(&f, cr3, IOVA, FX_DATA, true);
    fx_map_v2(&f, cr3, IOVA + PG, FX_DATA + 7 * PG, false);
    fx_dte_v2(&f, DEV_A, gcr3, 3);
    fx_inv_dte(&f, DEV_A);
    CHECK_EQ(ra.calls, 2);
    CHECK_EQ(ra.n, 2);
    expect_w(&ra, 0, IOVA, PG, FX_DATA, true, true);
    expect_w(&ra, 1, IOVA + PG, PG, FX_DATA + 7 * PG, true, false);
    /* GN = 1, PASID 0 (Linux's v2 flush): synced */
    fx_map_v2(&f, cr3, IOVA + 2 * PG, FX_DATA + 9 * PG, true);
    fx_inv_pages(&f, 3, IOVA + 2 * PG, true, 0);
    CHECK_EQ(ra.calls, 3);
    CHECK_EQ(ra.first, IOVA + 2 * PG);
    CHECK_EQ(ra.n, 1);
    expect_w(&ra, 0, IOVA + 2 * PG, PG, FX_DATA + 9 * PG, true, true);
    /* GN = 1 for another PASID: not shadowed */
    fx_inv_pages(&f, 3, IOVA + 2 * PG, true, 1);
    CHECK_EQ(ra.calls, 3);
    /* GN = 0 for the domain: synced too (conservative) */
    fx_inv_pages(&f, 3, IOVA, false, 0);
    CHECK_EQ(ra.calls, 4);
    CHECK_EQ(ra.n, 1);
    /* GTEn cleared: a GV = 1 DTE becomes illegal -> nothing */
    fx_w64(&f, AMDVI_MMIO_CONTROL, fx_r64(&f, AMDVI_MMIO_CONTROL) & ~AMDVI_CTRL_GT_EN);
    CHECK_EQ(ra.calls, 5);
    CHECK_EQ(ra.first, 0);
    CHECK_EQ(ra.n, 0);
    fx_fini(&f);
}

static void test_outside_ram(void)
{
    struct rec ra;
    uint64_t q0 = 0, q1 = 0;

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    add(&ra, DEV_A);
    uint64_t root = fx_pt_alloc(&f);
    map_pages(root, IOVA, 3, 0, true, true);
    fx_map_v1(&f, root, 3, IOVA + PG, FX_RAM_SIZE + 0x5000, true, true); /* beyond RAM */
    fx_dte_v1(&f, DEV_A, root, 3, 4, true, true);
    fx_inv_dte(&f, DEV_A);
    CHECK_EQ(ra.n, 2);
    expect_w(&ra, 0, IOVA, PG, FX_DATA, true, true);
    expect_w(&ra, 1, IOVA + 2 * PG, PG, FX_DATA + 2 * PG, true, true);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DEVID, q0), DEV_A);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DOMAIN_PASID, q0), 4);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_PR);
    CHECK_EQ(q1, IOVA + PG);
    expect_no_event();
    struct amdvi_stats st;
    amdvi_get_stats(f.a, &st);
    CHECK_EQ(st.map_faults, 1);
    CHECK_EQ(st.faults, 0); /* translation faults only */
    CHECK_EQ(st.map_syncs, 2);
    /* a 2 MiB page just beyond RAM: left out as well */
    uint64_t l2 = fx_r64_ram(&f, root + amdvi_pt_index(IOVA, 3) * 8) & AMDVI_PTE_ADDR;
    fake_ram_w64(&f.ram, l2 + 8,
                 FX_RAM_SIZE | AMDVI_PTE_PR | AMDVI_PTE_IR | AMDVI_PTE_IW);
    fx_inv_pages(&f, 4, IOVA + MIB_2, false, 0);
    CHECK_EQ(ra.n, 0);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(q1, IOVA + MIB_2);
    fx_fini(&f);
}

static void test_before_completion_wait(void)
{
    struct rec ra;

    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    add(&ra, DEV_A);
    uint64_t root = fx_pt_alloc(&f);
    fx_dte_v1(&f, DEV_A, root, 3, 1, true, true);
    fx_inv_dte(&f, DEV_A);
    fake_ram_w64(&f.ram, FX_SEM, 0x11);
    map_pages(root, IOVA, 1, 0, true, true);
    /* Linux's sequence: invalidate, then COMPLETION_WAIT, one tail write */
    fx_cmd_put(&f, fx_op(AMDVI_CMD_INVALIDATE_IOMMU_PAGES) |
                       FIELD_PREP(AMDVI_CMD_INV_DOMAIN_ID, 1),
               IOVA | AMDVI_CMD_INV_PDE);
    fx_cmd_put(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | FX_SEM | AMDVI_CMD_COMPL_WAIT_S, 0x22);
    fx_cmd_kick(&f);
    CHECK_EQ(ra.calls, 3);
    CHECK_EQ(ra.n, 1);
    CHECK_EQ(ra.sem_seen, 0x11); /* the store had not happened yet */
    CHECK_EQ(fx_r64_ram(&f, FX_SEM), 0x22);

    /* a failing sync is logged; the guest's commands go on */
    ra.ret = -ENOMEM;
    fx_cmd_put(&f, fx_op(AMDVI_CMD_INVALIDATE_IOMMU_PAGES) |
                       FIELD_PREP(AMDVI_CMD_INV_DOMAIN_ID, 1),
               IOVA | AMDVI_CMD_INV_PDE);
    fx_cmd_put(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | FX_SEM | AMDVI_CMD_COMPL_WAIT_S, 0x33);
    fx_cmd_kick(&f);
    CHECK_EQ(ra.calls, 4);
    CHECK_EQ(fx_r64_ram(&f, FX_SEM), 0x33);
    CHECK(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_CMDBUF_RUN);
    expect_no_event();
    fx_fini(&f);
}

static void test_snapshot(void)
{
    struct iommu_mapping *m = NULL;
    size_t n = 99;

    CHECK_EQ(fx_init(&f), 0);
    /* off: all RAM */
    CHECK_EQ(amdvi_map_snapshot(f.a, DEV_A, &m, &n), 0);
    CHECK_EQ(n, 1);
    CHECK(m && m[0].iova == 0 && m[0].size == FX_RAM_SIZE && m[0].gpa == 0 && m[0].read &&
          m[0].write);
    free(m);
    fx_enable(&f, 0);
    uint64_t root = fx_pt_alloc(&f);
    map_pages(root, IOVA, 5, 10, true, false);
    fx_map_v1(&f, root, 3, IOVA + 4 * PG, FX_RAM_SIZE + PG, true, true); /* not RAM */
    fx_dte_v1(&f, DEV_A, root, 3, 1, true, true);
    /* no invalidation needed: the snapshot reads the tables as they are */
    CHECK_EQ(amdvi_map_snapshot(f.a, DEV_A, &m, &n), 0);
    CHECK_EQ(n, 4);
    for (size_t i = 0; i < n && m; i++) {
        CHECK_EQ(m[i].iova, IOVA + i * PG);
        CHECK_EQ(m[i].gpa, FX_DATA + (10 + i) * PG);
        CHECK(m[i].read && !m[i].write);
    }
    free(m);
    expect_no_event(); /* the snapshot logs no fault events */
    /* illegal DTE: nothing, NULL */
    fx_set_dte(&f, DEV_A, AMDVI_DTE_V | AMDVI_DTE_TV | BIT(63), 0, 0);
    fx_inv_dte(&f, DEV_A);
    CHECK_EQ(amdvi_map_snapshot(f.a, DEV_A, &m, &n), 0);
    CHECK_EQ(n, 0);
    CHECK(m == NULL);
    fx_fini(&f);
}

int main(void)
{
    test_register();
    test_v1_pages();
    test_full_syncs();
    test_v2();
    test_outside_ram();
    test_before_completion_wait();
    test_snapshot();
    return check_result("test_amdvi_map");
}
