/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi event log: entry formats (IO_PAGE_FAULT, ILLEGAL_DEV_TABLE_ENTRY,
 * DEV_TAB_HARDWARE_ERROR, PAGE_TAB_HARDWARE_ERROR), wrap, overflow and the
 * Linux-style restart, interrupts only when enabled (edge on EventLogInt),
 * log disabled / not in RAM, per-fault rate limiting.
 */
#include "tests/unit/amdvi_fixture.h"

#define DEV 0x0123     /* 01:04.3 */
#define DOMAIN 0x77
#define IOVA 0x10000000ULL

static struct fx f;

static uint64_t root;

static void setup(uint64_t extra_ctrl)
{
    CHECK_EQ(fx_init(&f), 0);
    fx_enable(&f, extra_ctrl);
    root = fx_pt_alloc(&f);
    fx_map_v1(&f, root, 4, IOVA, FX_DATA, true, false); /* read-only page */
    fx_dte_v1(&f, DEV, root, 4, DOMAIN, true, true);
}

/* A not-present fault at a distinct page each time. */
static void fault_at(unsigned i)
{
    CHECK_EQ(fx_xlate(&f, DEV, IOVA + (1 + i) * AMDVI_PAGE_SIZE, false, NULL, NULL), -EFAULT);
}

static void test_formats(void)
{
    uint64_t q0 = 0, q1 = 0;

    setup(0);
    /* write to a read-only page: permission fault */
    CHECK_EQ(fx_xlate(&f, DEV, IOVA + 0x123, true, NULL, NULL), -EPERM);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DEVID, q0), DEV);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DOMAIN_PASID, q0), DOMAIN);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_FLAGS, q0),
             AMDVI_EVT_FLAG_PR | AMDVI_EVT_FLAG_PE | AMDVI_EVT_FLAG_RW);
    CHECK_EQ(q1, IOVA + 0x123);
    /* read of an unmapped page: not present, read */
    CHECK_EQ(fx_xlate(&f, DEV, IOVA + 0x5000, false, NULL, NULL), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(q0, amdvi_event_q0(AMDVI_EVT_IO_PAGE_FAULT, DEV, DOMAIN, 0));
    CHECK_EQ(q1, IOVA + 0x5000);
    /* reserved bit in a PTE: RZ */
    uint64_t leaf = fx_v1_leaf(&f, root, 4, IOVA);
    fake_ram_w64(&f.ram, leaf, fx_r64_ram(&f, leaf) | BIT(52));
    fx_inv_pages(&f, DOMAIN, IOVA, false, 0);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA, false, NULL, NULL), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_IO_PAGE_FAULT);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_RZ);
    /* page table outside RAM: PAGE_TAB_HARDWARE_ERROR with the entry address */
    fx_dte_v1(&f, DEV, FX_RAM_SIZE, 4, DOMAIN, true, true);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, 0, true, NULL, NULL), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_PAGE_TAB_HARDWARE_ERROR);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DEVID, q0), DEV);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_RW);
    CHECK_EQ(q1, FX_RAM_SIZE);
    /* illegal DTE: reserved bit 2 */
    fx_set_dte(&f, DEV, AMDVI_DTE_V | AMDVI_DTE_TV | BIT(2) | AMDVI_DTE_IR, 0, 0);
    fx_inv_dte(&f, DEV);
    CHECK_EQ(fx_xlate(&f, DEV, 0x4000, false, NULL, NULL), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY);
    CHECK_EQ(FIELD_GET(AMDVI_EVT_DEVID, q0), DEV);
    CHECK(FIELD_GET(AMDVI_EVT_FLAGS, q0) & AMDVI_EVT_FLAG_RZ);
    CHECK_EQ(q1, 0x4000);
    /* device table outside RAM: DEV_TAB_HARDWARE_ERROR with the DTE address */
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, FX_RAM_SIZE | FX_DEV_TABLE_SIZE_FIELD);
    CHECK_EQ(fx_xlate(&f, DEV, 0x4000, false, NULL, NULL), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_DEV_TAB_HARDWARE_ERROR);
    CHECK_EQ(q1, FX_RAM_SIZE + (uint64_t)DEV * AMDVI_DTE_SIZE);
    /* devid beyond a small device table: ILLEGAL_DEV_TABLE_ENTRY */
    fx_w64(&f, AMDVI_MMIO_DEV_TABLE_BASE, FX_DEV_TABLE | 0); /* 4 KiB = 128 entries */
    CHECK_EQ(fx_xlate(&f, DEV, 0x4000, false, NULL, NULL), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(fx_evt_code(q0), AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY);
    CHECK(!fx_event(&f, &q0, &q1));
    fx_fini(&f);
}

static void test_wrap(void)
{
    uint64_t q0 = 0, q1 = 0;

    setup(0);
    /* 600 events consumed in batches of 50: the ring wraps twice */
    for (unsigned i = 0; i < 600; i++) {
        fault_at(i);
        if (i % 50 == 49) {
            for (unsigned j = i - 49; j <= i; j++) {
                CHECK(fx_event(&f, &q0, &q1));
                CHECK_EQ(q1, IOVA + (1 + j) * AMDVI_PAGE_SIZE);
            }
        }
    }
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_TAIL), (600 * 16) % FX_LOG_BYTES);
    CHECK(!(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_EVENT_OVERFLOW));
    fx_fini(&f);
}

static void test_overflow(void)
{
    uint64_t q0 = 0, q1 = 0;

    setup(AMDVI_CTRL_EVENT_INT_EN);
    fx_enable_msi(&f);
    /* 255 entries fit a 256-entry log (one slot stays empty) */
    for (unsigned i = 0; i < 255; i++)
        fault_at(i);
    uint64_t st = fx_r64(&f, AMDVI_MMIO_STATUS);
    CHECK(!(st & AMDVI_STATUS_EVENT_OVERFLOW));
    CHECK(st & AMDVI_STATUS_EVENT_LOG_RUN);
    CHECK_EQ(fx_msis(&f), 1); /* one edge: EventLogInt was never cleared */
    fault_at(255);
    st = fx_r64(&f, AMDVI_MMIO_STATUS);
    CHECK(st & AMDVI_STATUS_EVENT_OVERFLOW);
    CHECK(!(st & AMDVI_STATUS_EVENT_LOG_RUN));
    CHECK_EQ(fx_msis(&f), 2); /* overflow raises the interrupt */
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_TAIL), 255 * 16);
    /* stopped: further events are dropped even once space is free */
    CHECK(fx_event(&f, &q0, &q1));
    fault_at(256);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_TAIL), 255 * 16);
    struct amdvi_stats s;
    amdvi_get_stats(f.a, &s);
    CHECK_EQ(s.events_logged, 255);
    CHECK_EQ(s.events_dropped, 2);
    /* drain, then restart as Linux does */
    while (fx_event(&f, &q0, &q1))
        ;
    uint64_t ctrl = fx_r64(&f, AMDVI_MMIO_CONTROL);
    fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl & ~(AMDVI_CTRL_EVENT_LOG_EN | AMDVI_CTRL_EVENT_INT_EN));
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_EVENT_OVERFLOW | AMDVI_STATUS_EVENT_LOG_INT);
    fx_w64(&f, AMDVI_MMIO_CONTROL, ctrl);
    st = fx_r64(&f, AMDVI_MMIO_STATUS);
    CHECK(st & AMDVI_STATUS_EVENT_LOG_RUN);
    CHECK(!(st & AMDVI_STATUS_EVENT_OVERFLOW));
    fault_at(300);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK_EQ(q1, IOVA + 301 * AMDVI_PAGE_SIZE);
    CHECK_EQ(fx_msis(&f), 3);
    fx_fini(&f);
}

static void test_interrupts(void)
{
    setup(0);
    fx_enable_msi(&f);
    fault_at(0);
    CHECK(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_EVENT_LOG_INT);
    CHECK_EQ(fx_msis(&f), 0); /* EventIntEn off */
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_EVENT_LOG_INT);
    fx_w64(&f, AMDVI_MMIO_CONTROL, fx_r64(&f, AMDVI_MMIO_CONTROL) | AMDVI_CTRL_EVENT_INT_EN);
    fault_at(1);
    CHECK_EQ(fx_msis(&f), 1);
    CHECK_EQ(f.sink_state.source, pci_requester_id(amdvi_pci_device(f.a)));
    fault_at(2);
    CHECK_EQ(fx_msis(&f), 1);
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_EVENT_LOG_INT);
    fault_at(3);
    CHECK_EQ(fx_msis(&f), 2);
    /* MSI disabled in config space: status still set, no message */
    unsigned cap = pci_find_capability(amdvi_pci_device(f.a), PCI_CAP_ID_MSI);
    fx_cfg_w16(&f, cap + PCI_MSI_FLAGS, 0);
    fx_w64(&f, AMDVI_MMIO_STATUS, AMDVI_STATUS_EVENT_LOG_INT);
    fault_at(4);
    CHECK(fx_r64(&f, AMDVI_MMIO_STATUS) & AMDVI_STATUS_EVENT_LOG_INT);
    CHECK_EQ(fx_msis(&f), 2);
    fx_fini(&f);
}

static void test_log_off_and_bad_log(void)
{
    uint64_t q0 = 0, q1 = 0;

    setup(0);
    fx_w64(&f, AMDVI_MMIO_CONTROL, fx_r64(&f, AMDVI_MMIO_CONTROL) & ~AMDVI_CTRL_EVENT_LOG_EN);
    fault_at(0);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_TAIL), 0);
    CHECK(!fx_event(&f, &q0, &q1));
    /* a log outside RAM: events dropped, nothing breaks */
    fx_w64(&f, AMDVI_MMIO_EVENT_LOG_BASE, FX_RAM_SIZE | (FX_LOG_LEN << 56));
    fx_w64(&f, AMDVI_MMIO_CONTROL, fx_r64(&f, AMDVI_MMIO_CONTROL) | AMDVI_CTRL_EVENT_LOG_EN);
    fault_at(1);
    CHECK_EQ(fx_r64(&f, AMDVI_MMIO_EVENT_TAIL), 0);
    struct amdvi_stats s;
    amdvi_get_stats(f.a, &s);
    CHECK_EQ(s.events_logged, 0);
    CHECK_EQ(s.events_dropped, 2);
    fx_fini(&f);
}

static void test_rate_limit(void)
{
    uint64_t q0 = 0, q1 = 0;

    setup(0);
    f.a->fault_dedup_ns = 60ULL * 1000000000ULL;
    for (unsigned i = 0; i < 100; i++) /* a device retrying the same DMA */
        CHECK_EQ(fx_xlate(&f, DEV, IOVA + 0x5008, false, NULL, NULL), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK(!fx_event(&f, &q0, &q1));
    /* another page, or a write to the same page, is a different fault */
    CHECK_EQ(fx_xlate(&f, DEV, IOVA + 0x6000, false, NULL, NULL), -EFAULT);
    CHECK_EQ(fx_xlate(&f, DEV, IOVA + 0x5000, true, NULL, NULL), -EFAULT);
    CHECK(fx_event(&f, &q0, &q1));
    CHECK(fx_event(&f, &q0, &q1));
    CHECK(!fx_event(&f, &q0, &q1));
    struct amdvi_stats s;
    amdvi_get_stats(f.a, &s);
    CHECK_EQ(s.faults, 102);
    fx_fini(&f);
}

int main(void)
{
    test_formats();
    test_wrap();
    test_overflow();
    test_interrupts();
    test_log_off_and_bad_log();
    test_rate_limit();
    return check_result("test_amdvi_event");
}
