/* SPDX-License-Identifier: MIT */
/*
 * The e820 memory map handed to Linux in boot_params, built from the guest
 * RAM regions and the fixed layout:
 *
 *   [0, LAYOUT_LOW_RAM_END)                 RAM
 *   [LAYOUT_LOW_RAM_END, 1 MiB)             reserved (EBDA, BIOS area, ACPI tables
 *                                           at LAYOUT_ACPI_ADDR)
 *   [1 MiB, end of the low region)          RAM
 *   [LAYOUT_RAM_HIGH_START, end)            RAM, if the high region exists
 *
 * plus caller-supplied extra ranges (e.g. the PCIe ECAM window as reserved).
 * An extra range overrides whatever it overlaps (RAM or the base reserved
 * range); where extras overlap each other the later one in the array wins.
 * The output is sorted by address, non-overlapping, and adjacent entries of
 * the same type are merged.
 */
#ifndef SLUICE_VMM_BOOT_E820_H
#define SLUICE_VMM_BOOT_E820_H

#include <stdint.h>

#include "vmm/bootparam.h"

struct guest_mem;

/* At most this many extra ranges per call. */
#define BOOT_E820_MAX_EXTRA BP_E820_MAX_ENTRIES_ZEROPAGE

struct boot_e820_extra {
    uint64_t addr;
    uint64_t size;     /* > 0; addr + size must not wrap past 2^64 */
    uint32_t type;     /* BP_E820_TYPE_*; usually BP_E820_TYPE_RESERVED */
};

/*
 * Pure: build the map for `gm` plus `extra[0..nextra)` into out[0..max).
 * On success *count is the number of entries written.
 * Returns 0, -EINVAL (gm has no regions, an extra has size 0, type 0 or wraps,
 * or nextra > BOOT_E820_MAX_EXTRA) or -ENOSPC (more than `max` entries needed).
 */
int boot_e820_build(const struct guest_mem *gm, const struct boot_e820_extra *extra,
                    unsigned nextra, struct bp_e820_entry *out, unsigned max, unsigned *count)
    __attribute__((warn_unused_result));

#endif
