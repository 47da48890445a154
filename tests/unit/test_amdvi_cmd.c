/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi command buffer: every opcode, COMPLETION_WAIT store and interrupt,
 * S-bit range decoding and exact invalidation extents, all-pages,
 * per-domain isolation, illegal commands (reserved bits per opcode, unknown
 * and unsupported opcodes) -> ILLEGAL_COMMAND_ERROR + stop + head position,
 * restart, hardware errors, head/tail wrap and buffer resizing.
 */
#include "tests/unit/amdvi_fixture.h"

#define DEV_A 0x0010 /* 00:02.0 */
#define DEV_B 0x0018 /* 00:03.0 */
#define IOVA 0x40000000ULL
#define NPAGES 16u

static struct fx f;

static void expect_no_event(void)
{
    uint64_t q0 = 0, q1 = 0;
    CHECK(!fx_event(&f, &q0, &q1));
}

static void expect_event(unsigned code, uint64_t addr)
{
    uint64_t q0 = 0, q1 = 0;
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), code);
    CHECK_EQ(q1, addr);
}

static bool cmd_running(void)
{
    return fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_CMDBUF_RUN;
}

static uint64_t sem(void)
{
    return fx_r64_ram(&f, FX_SEM);
}

static void compl_wait_store(uint64_t data)
{
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | FX_SEM | AMDVI_CMD_COMPL_WAIT_S, data);
}

static void test_completion_wait(void)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    compl_wait_store(0x1122334455667788ULL);
    CHECK_EQ(sem(), 0x1122334455667788ULL);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), 16);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), fx_r64(&f, AMDVI_MMIO_CMD_TAIL));
    CHECK(!(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_COM_WAIT_INT));
    /* I without ComWaitIntEn: status only */
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I, 0);
    CHECK(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_COM_WAIT_INT);
    CHECK_EQ(fx_msis(&f), 0);
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_COM_WAIT_INT);
    /* with ComWaitIntEn but MSI disabled: no message */
    fx_w64(&f, AMDVI_MMIO_CONTROL, fx_r64(&f, AMDVI_MMIO_CONTROL) | AMDVI_CTRL_COM_WAIT_INT_EN);
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I, 0);
    CHECK_EQ(fx_msis(&f), 0);
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_COM_WAIT_INT);
    /* enabled: one MSI with the IOMMU's requester id */
    fx_enable_msi(&f);
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I | FX_SEM |
                   AMDVI_CMD_COMPL_WAIT_S | AMDVI_CMD_COMPL_WAIT_F, 7);
    CHECK_EQ(sem(), 7);
    CHECK_EQ(fx_msis(&f), 1);
    CHECK_EQ(f.sink_state.addr, FX_MSI_ADDR);
    CHECK_EQ(f.sink_state.data, FX_MSI_DATA);
    CHECK_EQ(f.sink_state.source, pci_requester_id(amdvi_pci_device(f.a)));
    /* still pending (not cleared): no second edge */
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I, 0);
    CHECK_EQ(fx_msis(&f), 1);
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_COM_WAIT_INT);
    fx_cmd(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_I, 0);
    CHECK_EQ(fx_msis(&f), 2);
    expect_no_event();
    /* a store outside RAM: COMMAND_HARDWARE_ERROR, buffer stops */
    uint64_t head = fx_r64(&f, AMDVI_MMIO_CMD_HEAD);
    fx_cmd_put(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | AMDVI_CMD_COMPL_WAIT_S | FX_RAM_SIZE, 1);
    compl_wait_store(99);
    fx_cmd_kick(&f);
    expect_event(AMDVI_EVT_COMMAND_HARDWARE_ERROR, FX_RAM_SIZE);
    CHECK(!cmd_running());
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), head);
    CHECK(sem() != 99);
    fx_fini(&f);
}

/* Map NPAGES pages at IOVA for device `dev` (domain `dom`) in a fresh 3-level
 * table pointing at FX_DATA + `salt` pages. Returns the root. */
static uint64_t map_range(uint16_t dev, uint16_t dom, unsigned salt)
{
    uint64_t root = fx_pt_alloc(&f);
    for (unsigned i = 0; i < NPAGES; i++)
        fx_map_v1(&f, root, 3, IOVA + i * AMDVI_PAGE_SIZE,
                  FX_DATA + (salt + i) * AMDVI_PAGE_SIZE, true, true);
    fx_dte_v1(&f, dev, root, 3, dom, true, true);
    return root;
}

/* Re-point every page to FX_DATA + (salt + i) pages (no invalidation). */
static void remap_range(uint64_t root, unsigned salt)
{
    for (unsigned i = 0; i < NPAGES; i++)
        fx_map_v1(&f, root, 3, IOVA + i * AMDVI_PAGE_SIZE,
                  FX_DATA + (salt + i) * AMDVI_PAGE_SIZE, true, true);
}

static uint64_t xlate(uint16_t dev, uint64_t iova)
{
    uint64_t gpa = 0;
    CHECK_EQ(fx_xlate(&f, dev, iova, false, &gpa, NULL), 0);
    return gpa;
}

static void warm(uint16_t dev)
{
    for (unsigned i = 0; i < NPAGES; i++)
        (void)xlate(dev, IOVA + i * AMDVI_PAGE_SIZE);
}

static void test_inv_range_decode(void)
{
    uint64_t first, last;
    amdvi_inv_range(0x1000, &first, &last);
    CHECK_EQ(first, 0x1000);
    CHECK_EQ(last, 0x1fff);
    amdvi_inv_range(0x0 | AMDVI_CMD_INV_S, &first, &last); /* bit 12 zero: 8 KiB */
    CHECK_EQ(first, 0);
    CHECK_EQ(last, 0x1fff);
    amdvi_inv_range(0x1000 | AMDVI_CMD_INV_S, &first, &last); /* bit 13 zero: 16 KiB */
    CHECK_EQ(first, 0);
    CHECK_EQ(last, 0x3fff);
    amdvi_inv_range(0x2ff000 | AMDVI_CMD_INV_S, &first, &last); /* bits 19:12 ones: 2 MiB */
    CHECK_EQ(first, 0x200000);
    CHECK_EQ(last, 0x3fffff);
    amdvi_inv_range(AMDVI_CMD_INV_ALL_PAGES_ADDR | AMDVI_CMD_INV_S, &first, &last);
    CHECK_EQ(first, 0);
    CHECK_EQ(last, UINT64_MAX);
    /* Linux's encoder round-trips to the smallest aligned cover */
    amdvi_inv_range(fx_inv_address(0x200000, 0x200000), &first, &last);
    CHECK_EQ(first, 0x200000);
    CHECK_EQ(last, 0x3fffff);
    amdvi_inv_range(fx_inv_address(0x3000, 0x2000), &first, &last); /* crosses 16K */
    CHECK_EQ(first, 0);
    CHECK_EQ(last, 0x7fff);
    amdvi_inv_range(fx_inv_address(0x5000, 0x1000), &first, &last);
    CHECK_EQ(first, 0x5000);
    CHECK_EQ(last, 0x5fff);
}

static void test_inv_pages_extent(void)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    uint64_t root = map_range(DEV_A, 1, 0);
    warm(DEV_A);
    remap_range(root, 100);
    /* cached translations survive until invalidated (what the spec allows) */
    CHECK_EQ(xlate(DEV_A, IOVA), FX_DATA);
    /* invalidate pages 4..7 (16 KiB aligned): exactly those change */
    fx_inv_pages(&f, 1, fx_inv_address(IOVA + 4 * AMDVI_PAGE_SIZE, 4 * AMDVI_PAGE_SIZE), false,
                 0);
    for (unsigned i = 0; i < NPAGES; i++) {
        unsigned salt = (i >= 4 && i < 8) ? 100 : 0;
        CHECK_EQ(xlate(DEV_A, IOVA + i * AMDVI_PAGE_SIZE + 0x10),
                 FX_DATA + (salt + i) * AMDVI_PAGE_SIZE + 0x10);
    }
    /* single page, no S */
    fx_inv_pages(&f, 1, IOVA + 9 * AMDVI_PAGE_SIZE, false, 0);
    CHECK_EQ(xlate(DEV_A, IOVA + 9 * AMDVI_PAGE_SIZE), FX_DATA + 109 * AMDVI_PAGE_SIZE);
    CHECK_EQ(xlate(DEV_A, IOVA + 8 * AMDVI_PAGE_SIZE), FX_DATA + 8 * AMDVI_PAGE_SIZE);
    CHECK_EQ(xlate(DEV_A, IOVA + 10 * AMDVI_PAGE_SIZE), FX_DATA + 10 * AMDVI_PAGE_SIZE);
    /* all pages */
    fx_inv_pages(&f, 1, AMDVI_CMD_INV_ALL_PAGES_ADDR | AMDVI_CMD_INV_S, false, 0);
    for (unsigned i = 0; i < NPAGES; i++)
        CHECK_EQ(xlate(DEV_A, IOVA + i * AMDVI_PAGE_SIZE), FX_DATA + (100 + i) * AMDVI_PAGE_SIZE);
    expect_no_event();
    fx_fini(&f);
}

static void test_domains(void)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    uint64_t root_a = map_range(DEV_A, 1, 0);
    uint64_t root_b = map_range(DEV_B, 2, 200);
    warm(DEV_A);
    warm(DEV_B);
    remap_range(root_a, 300);
    remap_range(root_b, 400);
    /* invalidating domain 1 leaves domain 2's cache alone */
    fx_inv_pages(&f, 1, AMDVI_CMD_INV_ALL_PAGES_ADDR | AMDVI_CMD_INV_S, false, 0);
    CHECK_EQ(xlate(DEV_A, IOVA), FX_DATA + 300 * AMDVI_PAGE_SIZE);
    CHECK_EQ(xlate(DEV_B, IOVA), FX_DATA + 200 * AMDVI_PAGE_SIZE);
    fx_inv_pages(&f, 2, AMDVI_CMD_INV_ALL_PAGES_ADDR | AMDVI_CMD_INV_S, false, 0);
    CHECK_EQ(xlate(DEV_B, IOVA), FX_DATA + 400 * AMDVI_PAGE_SIZE);

    /* two devices in one domain share IOTLB entries */
    fx_dte_v1(&f, DEV_B, root_a, 3, 1, true, true);
    fx_inv_dte(&f, DEV_B);
    struct amdvi_stats s0, s1;
    (void)xlate(DEV_A, IOVA + AMDVI_PAGE_SIZE);
    amdvi_get_stats(f.a, &s0);
    CHECK_EQ(xlate(DEV_B, IOVA + AMDVI_PAGE_SIZE), FX_DATA + 301 * AMDVI_PAGE_SIZE);
    amdvi_get_stats(f.a, &s1);
    CHECK_EQ(s1.iotlb_hits, s0.iotlb_hits + 1);
    CHECK_EQ(s1.iotlb_misses, s0.iotlb_misses);

    /* INVALIDATE_IOMMU_ALL drops everything */
    remap_range(root_a, 500);
    fx_cmd(&f, fx_op(AMDVI_CMD_INVALIDATE_IOMMU_ALL), 0);
    CHECK_EQ(xlate(DEV_A, IOVA), FX_DATA + 500 * AMDVI_PAGE_SIZE);
    expect_no_event();
    fx_fini(&f);
}

static void test_inv_devtab(void)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    uint64_t root = map_range(DEV_A, 1, 0);
    CHECK_EQ(xlate(DEV_A, IOVA), FX_DATA);
    /* block the device in memory: the cached DTE still translates */
    fx_dte_v1(&f, DEV_A, root, 3, 1, false, false);
    CHECK_EQ(fx_xlate(&f, DEV_A, IOVA, false, NULL, NULL), 0);
    fx_inv_dte(&f, DEV_A);
    CHECK_EQ(fx_xlate(&f, DEV_A, IOVA, false, NULL, NULL), -EPERM);
    expect_event(AMDVI_EVT_IO_PAGE_FAULT, IOVA);
    /* a new device table base drops the cache as well */
    fx_dte_v1(&f, DEV_A, root, 3, 1, true, true);
    CHECK_EQ(fx_xlate(&f, DEV_A, IOVA, false, NULL, NULL), -EPERM);
    expect_event(AMDVI_EVT_IO_PAGE_FAULT, IOVA);
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, FX_DEV_TABLE | (FX_DEV_TABLE_SIZE_FIELD - 1));
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, FX_DEV_TABLE | FX_DEV_TABLE_SIZE_FIELD);
    CHECK_EQ(fx_xlate(&f, DEV_A, IOVA, false, NULL, NULL), 0);
    fx_fini(&f);
}

static void test_accepted_opcodes(void)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    fx_cmd_put(&f, fx_op(AMDVI_CMD_INVALIDATE_IOTLB_PAGES) | DEV_A | (32ULL << 24),
               fx_inv_address(IOVA, AMDVI_PAGE_SIZE));
    fx_cmd_put(&f, fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE) | DEV_A, 0);
    fx_cmd_put(&f, fx_op(AMDVI_CMD_INVALIDATE_DEVTAB_ENTRY) | 0xffff, 0);
    fx_cmd_put(&f, fx_op(AMDVI_CMD_INVALIDATE_IOMMU_PAGES) | FIELD_PREP(AMDVI_CMD_INV_PASID, 5),
               AMDVI_CMD_INV_GN | AMDVI_CMD_INV_PDE | 0x5000);
    compl_wait_store(42);
    fx_cmd_kick(&f);
    CHECK_EQ(sem(), 42);
    CHECK(cmd_running());
    expect_no_event();
    struct amdvi_stats s;
    amdvi_get_stats(f.a, &s);
    CHECK_EQ(s.commands, 5);
    /* one of each, counted by opcode; the kick was one register write */
    CHECK_EQ(s.commands_by_op[AMDVI_CMD_COMPLETION_WAIT], 1);
    CHECK_EQ(s.commands_by_op[AMDVI_CMD_INVALIDATE_DEVTAB_ENTRY], 1);
    CHECK_EQ(s.commands_by_op[AMDVI_CMD_INVALIDATE_IOMMU_PAGES], 1);
    CHECK_EQ(s.commands_by_op[AMDVI_CMD_INVALIDATE_IOTLB_PAGES], 1);
    CHECK_EQ(s.commands_by_op[AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE], 1);
    CHECK_EQ(s.commands_by_op[AMDVI_CMD_INVALIDATE_IOMMU_ALL], 0);
    uint64_t writes = s.mmio_writes, reads = s.mmio_reads;
    (void)fx_r64(&f, AMDVI_MMIO_CMD_HEAD);
    fx_cmd_kick(&f); /* head == tail: no command runs */
    amdvi_get_stats(f.a, &s);
    CHECK_EQ(s.mmio_reads, reads + 1);
    CHECK_EQ(s.mmio_writes, writes + 1);
    CHECK_EQ(s.commands, 5);
    fx_fini(&f);
}

struct bad_cmd {
    const char *what;
    uint64_t q0, q1;
};

static void test_illegal_commands(void)
{
    const struct bad_cmd bad[] = {
        { "opcode 0", 0, 0 },
        { "opcode 6", fx_op(AMDVI_CMD_PREFETCH_IOMMU_PAGES), 0 },
        { "COMPLETE_PPR_REQUEST without PPRSup", fx_op(AMDVI_CMD_COMPLETE_PPR_REQUEST), 0 },
        { "opcode 9", fx_op(9), 0 },
        { "opcode 15", fx_op(15), 0 },
        { "COMPLETION_WAIT rsvd", fx_op(AMDVI_CMD_COMPLETION_WAIT) | BIT(52), 0 },
        { "INV_DEVTAB rsvd q0", fx_op(AMDVI_CMD_INVALIDATE_DEVTAB_ENTRY) | BIT(16), 0 },
        { "INV_DEVTAB rsvd q1", fx_op(AMDVI_CMD_INVALIDATE_DEVTAB_ENTRY), BIT(0) },
        { "INV_PAGES rsvd q0 low", fx_op(AMDVI_CMD_INVALIDATE_IOMMU_PAGES) | BIT(20), 0 },
        { "INV_PAGES rsvd q0 high", fx_op(AMDVI_CMD_INVALIDATE_IOMMU_PAGES) | BIT(48), 0 },
        { "INV_PAGES rsvd q1", fx_op(AMDVI_CMD_INVALIDATE_IOMMU_PAGES), BIT(3) },
        { "INV_IOTLB rsvd q0", fx_op(AMDVI_CMD_INVALIDATE_IOTLB_PAGES) | BIT(56), 0 },
        { "INV_IOTLB rsvd q1", fx_op(AMDVI_CMD_INVALIDATE_IOTLB_PAGES), BIT(1) },
        { "INV_INTR rsvd q0", fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE) | BIT(59), 0 },
        { "INV_INTR rsvd q1", fx_op(AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE), BIT(63) },
        { "INV_ALL rsvd q0", fx_op(AMDVI_CMD_INVALIDATE_IOMMU_ALL) | BIT(0), 0 },
        { "INV_ALL rsvd q1", fx_op(AMDVI_CMD_INVALIDATE_IOMMU_ALL), BIT(32) },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(fx_init(&f), 0);
        fx_enable(&f, 0);
        compl_wait_store(1);           /* head 0 -> 16 */
        uint64_t bad_at = f.cmd_tail;  /* 16 */
        fx_cmd_put(&f, bad[i].q0, bad[i].q1);
        compl_wait_store(2);           /* must not run */
        uint64_t q0 = 0, q1 = 0;
        bool got = fx_event(&f, &q0, &q1);
        if (!got || fx_evt_code(q0) != AMDVI_EVT_ILLEGAL_COMMAND_ERROR || q1 != FX_CMD_BUF + bad_at)
            fprintf(stderr, "illegal command case failed: %s\n", bad[i].what);
        CHECK(got);
        CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_ILLEGAL_COMMAND_ERROR);
        CHECK_EQ(q1, FX_CMD_BUF + bad_at);
        CHECK(!cmd_running());
        CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), bad_at);
        CHECK_EQ(sem(), 1);
        /* a further tail write does nothing while stopped */
        fx_cmd_kick(&f);
        CHECK_EQ(sem(), 1);
        expect_no_event();
        /* fix the command, restart by toggling CmdBufEn: the rest runs */
        fake_ram_w64(&f.ram, FX_CMD_BUF + bad_at, fx_op(AMDVI_CMD_COMPLETION_WAIT));
        fake_ram_w64(&f.ram, FX_CMD_BUF + bad_at + 8, 0);
        uint64_t ctrl = fx_r64(&f, AMDVI_MMIO_CONTROL);
        fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl & ~AMDVI_CTRL_CMDBUF_EN);
        fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl);
        CHECK(cmd_running());
        CHECK_EQ(sem(), 2);
        CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), f.cmd_tail);
        fx_fini(&f);
    }
}

static void test_cmd_buffer_not_in_ram(void)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    fx_w64(&f, AMDVI_MMIO_CONTROL, AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_EVENT_LOG_EN);
    fx_w64(&f, AMDVI_MMIO_CMD_BUF_BASE, FX_RAM_SIZE | (FX_LOG_LEN << 56));
    fx_w64(&f, AMDVI_MMIO_CONTROL,
           AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_EVENT_LOG_EN | AMDVI_CTRL_CMDBUF_EN);
    fx_w64(&f, AMDVI_MMIO_CMD_TAIL, 16);
    expect_event(AMDVI_EVT_COMMAND_HARDWARE_ERROR, FX_RAM_SIZE);
    CHECK(!cmd_running());
    fx_fini(&f);
}

static void test_wrap_and_resize(void)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, 0);
    /* 600 commands in batches of 100 through a 256-entry ring: wraps twice */
    uint64_t n = 0;
    for (unsigned batch = 0; batch < 6; batch++) {
        for (unsigned i = 0; i < 100; i++)
            fx_cmd_put(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | FX_SEM | AMDVI_CMD_COMPL_WAIT_S,
                       ++n);
        fx_cmd_kick(&f);
        CHECK_EQ(sem(), n);
        CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), f.cmd_tail);
    }
    CHECK_EQ(f.cmd_tail, (600 * 16) % FX_LOG_BYTES);
    /* a full ring minus one entry in a single kick */
    for (unsigned i = 0; i < 255; i++)
        fx_cmd_put(&f, fx_op(AMDVI_CMD_COMPLETION_WAIT) | FX_SEM | AMDVI_CMD_COMPL_WAIT_S, ++n);
    fx_cmd_kick(&f);
    CHECK_EQ(sem(), n);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), f.cmd_tail);

    /* resize to 512 entries: stop, new base, head/tail reset, restart */
    uint64_t ctrl = fx_r64(&f, AMDVI_MMIO_CONTROL);
    fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl & ~AMDVI_CTRL_CMDBUF_EN);
    fx_w64(&f, AMDVI_MMIO_CMD_BUF_BASE, FX_CMD_BUF | (9ULL << 56));
    fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), 0);
    uint64_t tail = 0;
    for (unsigned i = 0; i < 300; i++) { /* past the old 4 KiB end, no wrap */
        fake_ram_w64(&f.ram, FX_CMD_BUF + tail,
                     fx_op(AMDVI_CMD_COMPLETION_WAIT) | FX_SEM | AMDVI_CMD_COMPL_WAIT_S);
        fake_ram_w64(&f.ram, FX_CMD_BUF + tail + 8, 5000 + i);
        tail += 16;
    }
    fx_w64(&f, AMDVI_MMIO_CMD_TAIL, tail);
    CHECK_EQ(sem(), 5299);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), 300 * 16);
    /* a tail beyond the buffer is taken modulo its size: here == head, a no-op */
    fx_w64(&f, AMDVI_MMIO_CMD_TAIL, 512 * 16 + tail);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_CMD_HEAD), tail);
    CHECK(cmd_running());
    expect_no_event();
    fx_fini(&f);
}

int main(void)
{
    test_completion_wait();
    test_inv_range_decode();
    test_inv_pages_extent();
    test_domains();
    test_inv_devtab();
    test_accepted_opcodes();
    test_illegal_commands();
    test_cmd_buffer_not_in_ram();
    test_wrap_and_resize();
    return check_result("test_amdvi_cmd");
}
