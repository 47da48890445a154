/* SPDX-License-Identifier: MIT */
/* The e820 map: guest sizes around the 32-bit hole, extra reserved ranges,
 * overlaps, merging and the limits. */
#include <errno.h>
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/boot_e820.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#define MiB (1024ULL * 1024ULL)
#define GiB (1024ULL * MiB)
#define RAM 1
#define RES 2

static struct bp_e820_entry map[BP_E820_MAX_ENTRIES_ZEROPAGE];
static unsigned n;

static void expect(unsigned i, uint64_t addr, uint64_t end, uint32_t type)
{
    CHECK(i < n);
    if (i >= n)
        return;
    if (map[i].addr != addr || map[i].addr + map[i].size != end || map[i].type != type) {
        fprintf(stderr, "entry %u: got [0x%llx, 0x%llx) type %u, want [0x%llx, 0x%llx) type %u\n",
                i, (unsigned long long)map[i].addr,
                (unsigned long long)(map[i].addr + map[i].size), map[i].type,
                (unsigned long long)addr, (unsigned long long)end, type);
        CHECK(0);
    }
}

/* Sorted, non-empty, non-overlapping, and no mergeable neighbours. */
static void check_well_formed(void)
{
    for (unsigned i = 0; i < n; i++) {
        CHECK(map[i].size > 0);
        if (i > 0) {
            uint64_t prev_end = map[i - 1].addr + map[i - 1].size;
            CHECK(prev_end <= map[i].addr);
            CHECK(!(prev_end == map[i].addr && map[i - 1].type == map[i].type));
        }
    }
}

static int build(const struct guest_mem *gm, const struct boot_e820_extra *x, unsigned nx)
{
    memset(map, 0, sizeof(map));
    n = 0;
    int ret = boot_e820_build(gm, x, nx, map, BP_E820_MAX_ENTRIES_ZEROPAGE, &n);
    if (ret == 0)
        check_well_formed();
    return ret;
}

int main(void)
{
    struct guest_mem gm;
    const struct boot_e820_extra ecam = { LAYOUT_ECAM_BASE, LAYOUT_ECAM_SIZE, RES };

    /* 256 MiB */
    CHECK_EQ(guest_mem_create(&gm, 256 * MiB, false), 0);
    CHECK_EQ(build(&gm, NULL, 0), 0);
    CHECK_EQ(n, 3);
    expect(0, 0, 0x9fc00, RAM);
    expect(1, 0x9fc00, 0x100000, RES);
    expect(2, 0x100000, 256 * MiB, RAM);

    /* Reserved range carved out of RAM. */
    struct boot_e820_extra hole = { 32 * MiB, 1 * MiB, RES };
    CHECK_EQ(build(&gm, &hole, 1), 0);
    CHECK_EQ(n, 5);
    expect(2, 0x100000, 32 * MiB, RAM);
    expect(3, 32 * MiB, 33 * MiB, RES);
    expect(4, 33 * MiB, 256 * MiB, RAM);

    /* Adjacent/overlapping the legacy reserved range: merged into one. */
    struct boot_e820_extra edge = { 0xf0000, 0x11000, RES };
    CHECK_EQ(build(&gm, &edge, 1), 0);
    CHECK_EQ(n, 3);
    expect(1, 0x9fc00, 0x101000, RES);
    expect(2, 0x101000, 256 * MiB, RAM);

    /* A non-reserved type (ACPI) wins over the base reserved range it overlaps. */
    struct boot_e820_extra acpi = { LAYOUT_ACPI_ADDR, LAYOUT_ACPI_SIZE, 3 };
    CHECK_EQ(build(&gm, &acpi, 1), 0);
    CHECK_EQ(n, 5);
    expect(1, 0x9fc00, LAYOUT_ACPI_ADDR, RES);
    expect(2, LAYOUT_ACPI_ADDR, LAYOUT_ACPI_ADDR + LAYOUT_ACPI_SIZE, 3);
    /* the reset vector's page stays reserved (not ACPI-reclaimable) */
    expect(3, LAYOUT_ACPI_ADDR + LAYOUT_ACPI_SIZE, 0x100000, RES);
    CHECK(LAYOUT_RESET_VECTOR_ADDR >= LAYOUT_ACPI_ADDR + LAYOUT_ACPI_SIZE);
    expect(4, 0x100000, 256 * MiB, RAM);

    /* Overlapping extras: the later one wins where they overlap. */
    struct boot_e820_extra two[2] = { { 0x20000000, 0x2000, RES }, { 0x20001000, 0x2000, 4 } };
    CHECK_EQ(build(&gm, two, 2), 0);
    CHECK_EQ(n, 5);
    expect(3, 0x20000000, 0x20001000, RES);
    expect(4, 0x20001000, 0x20003000, 4);

    /* Limits and bad input. */
    CHECK_EQ(boot_e820_build(&gm, NULL, 0, map, 2, &n), -ENOSPC);
    struct boot_e820_extra bad = { 0x1000, 0, RES };
    CHECK_EQ(build(&gm, &bad, 1), -EINVAL);
    bad = (struct boot_e820_extra){ UINT64_MAX - 0xfff, 0x1000, RES };
    CHECK_EQ(build(&gm, &bad, 1), -EINVAL);
    bad = (struct boot_e820_extra){ UINT64_MAX - 0xfff, 0xfff, RES }; /* ends at 2^64 - 1 */
    CHECK_EQ(build(&gm, &bad, 1), 0);
    expect(n - 1, UINT64_MAX - 0xfff, UINT64_MAX, RES);
    bad = (struct boot_e820_extra){ 0x1000, 0x1000, 0 };
    CHECK_EQ(build(&gm, &bad, 1), -EINVAL);
    CHECK_EQ(build(&gm, NULL, 1), -EINVAL);
    static struct boot_e820_extra many[BOOT_E820_MAX_EXTRA + 1];
    CHECK_EQ(build(&gm, many, BOOT_E820_MAX_EXTRA + 1), -EINVAL);
    /* 128 disjoint reserved pages in the hole: 3 + 128 entries do not fit. */
    for (unsigned i = 0; i < BOOT_E820_MAX_EXTRA; i++)
        many[i] = (struct boot_e820_extra){ LAYOUT_PCI_MMIO32_START + 2 * i * 0x1000, 0x1000, RES };
    CHECK_EQ(build(&gm, many, BOOT_E820_MAX_EXTRA), -ENOSPC);
    CHECK_EQ(build(&gm, many, BOOT_E820_MAX_EXTRA - 3), 0);
    CHECK_EQ(n, BP_E820_MAX_ENTRIES_ZEROPAGE);
    guest_mem_destroy(&gm);

    struct guest_mem empty;
    memset(&empty, 0, sizeof(empty));
    CHECK_EQ(build(&empty, NULL, 0), -EINVAL);

    /* Exactly 3 GiB: all of it below the hole, no high region. */
    CHECK_EQ(guest_mem_create(&gm, 3 * GiB, false), 0);
    CHECK_EQ(gm.nregions, 1);
    CHECK_EQ(build(&gm, &ecam, 1), 0);
    CHECK_EQ(n, 4);
    expect(2, 0x100000, 3 * GiB, RAM);
    expect(3, LAYOUT_ECAM_BASE, LAYOUT_ECAM_BASE + LAYOUT_ECAM_SIZE, RES);
    guest_mem_destroy(&gm);

    /* 6 GiB: 3 GiB low, 3 GiB from 4 GiB up; ECAM in between. */
    CHECK_EQ(guest_mem_create(&gm, 6 * GiB, false), 0);
    CHECK_EQ(build(&gm, NULL, 0), 0);
    CHECK_EQ(n, 4);
    expect(2, 0x100000, LAYOUT_MMIO_HOLE_START, RAM);
    expect(3, 4 * GiB, 7 * GiB, RAM);
    CHECK_EQ(build(&gm, &ecam, 1), 0);
    CHECK_EQ(n, 5);
    expect(0, 0, 0x9fc00, RAM);
    expect(1, 0x9fc00, 0x100000, RES);
    expect(2, 0x100000, LAYOUT_MMIO_HOLE_START, RAM);
    expect(3, LAYOUT_ECAM_BASE, LAYOUT_ECAM_BASE + LAYOUT_ECAM_SIZE, RES);
    expect(4, 4 * GiB, 7 * GiB, RAM);
    guest_mem_destroy(&gm);

    return check_result("test_boot_e820");
}
