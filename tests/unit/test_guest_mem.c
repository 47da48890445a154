/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "tests/unit/check.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

static void test_small(void)
{
    struct guest_mem gm;
    CHECK_EQ(guest_mem_create(&gm, 64 * LAYOUT_MiB, false), 0);
    CHECK_EQ(gm.nregions, 1);
    CHECK_EQ(guest_mem_end(&gm), 64 * LAYOUT_MiB);
    CHECK(guest_mem_ptr(&gm, 0, 64 * LAYOUT_MiB) != NULL);
    CHECK(guest_mem_ptr(&gm, 64 * LAYOUT_MiB - 1, 1) != NULL);
    CHECK(guest_mem_ptr(&gm, 64 * LAYOUT_MiB - 1, 2) == NULL);
    CHECK(guest_mem_ptr(&gm, 64 * LAYOUT_MiB, 1) == NULL);
    CHECK(guest_mem_ptr(&gm, UINT64_MAX, 2) == NULL);
    uint32_t v = 0xdeadbeef, r = 0;
    CHECK_EQ(guest_mem_write(&gm, 0x1000, &v, 4), 0);
    CHECK_EQ(guest_mem_read(&gm, 0x1000, &r, 4), 0);
    CHECK_EQ(r, v);
    CHECK_EQ(guest_mem_write(&gm, 64 * LAYOUT_MiB - 2, &v, 4), -EFAULT);
    guest_mem_destroy(&gm);
    guest_mem_destroy(&gm); /* idempotent */
}

static void test_split_around_hole(void)
{
    struct guest_mem gm;
    /* 6 GiB: 3 GiB below the hole, 3 GiB from 4 GiB (reserved address space only) */
    CHECK_EQ(guest_mem_create(&gm, 6 * LAYOUT_GiB, false), 0);
    CHECK_EQ(gm.nregions, 2);
    CHECK_EQ(gm.regions[0].size, LAYOUT_MMIO_HOLE_START);
    CHECK_EQ(gm.regions[1].gpa, LAYOUT_RAM_HIGH_START);
    CHECK_EQ(gm.regions[1].size, 6 * LAYOUT_GiB - LAYOUT_MMIO_HOLE_START);
    CHECK_EQ(guest_mem_end(&gm), LAYOUT_RAM_HIGH_START + 3 * LAYOUT_GiB);
    CHECK(guest_mem_ptr(&gm, LAYOUT_MMIO_HOLE_START - 4, 4) != NULL);
    CHECK(guest_mem_ptr(&gm, LAYOUT_MMIO_HOLE_START - 4, 8) == NULL); /* into the hole */
    CHECK(guest_mem_ptr(&gm, LAYOUT_IOAPIC_BASE, 4) == NULL);
    uint8_t *hi = guest_mem_ptr(&gm, LAYOUT_RAM_HIGH_START, 1);
    CHECK(hi == gm.base + LAYOUT_MMIO_HOLE_START); /* contiguous in the memfd */
    guest_mem_destroy(&gm);

    /* exactly 3 GiB: one region ending at the hole */
    CHECK_EQ(guest_mem_create(&gm, 3 * LAYOUT_GiB, false), 0);
    CHECK_EQ(gm.nregions, 1);
    guest_mem_destroy(&gm);
}

static void test_bad_sizes(void)
{
    struct guest_mem gm;
    CHECK_EQ(guest_mem_create(&gm, 0, false), -EINVAL);
    CHECK_EQ(guest_mem_create(&gm, 4097, false), -EINVAL);
    CHECK_EQ(guest_mem_create(&gm, 3 * LAYOUT_MiB, true), -EINVAL);
    CHECK_EQ(gm.fd, -1);
}

/* With hugepages, a pool too small must fail at create time, not SIGBUS later. */
static void test_hugepages(void)
{
    struct guest_mem gm;
    unsigned long free_pages = 0;
    FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
    if (!f || fscanf(f, "%lu", &free_pages) != 1) {
        if (f)
            fclose(f);
        fprintf(stderr, "note: no 2 MiB hugetlb pool information; hugepage case not run\n");
        return;
    }
    fclose(f);
    uint64_t size = (free_pages + 1) * 2 * LAYOUT_MiB; /* one page more than there is */
    CHECK_EQ(guest_mem_create(&gm, size, true), -ENOMEM);
    CHECK_EQ(gm.fd, -1);
    if (free_pages >= 2) {
        CHECK_EQ(guest_mem_create(&gm, 4 * LAYOUT_MiB, true), 0);
        memset(guest_mem_ptr(&gm, 0, 4 * LAYOUT_MiB), 0xa5, 4 * LAYOUT_MiB);
        guest_mem_destroy(&gm);
    }
}

int main(void)
{
    test_hugepages();
    test_small();
    test_split_around_hole();
    test_bad_sizes();
    return check_result("test_guest_mem");
}
