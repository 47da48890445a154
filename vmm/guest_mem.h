/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one memfd (MAP_SHARED, so VFIO and vhost can map it later),
 * split around the 32-bit MMIO hole into at most two regions:
 *   low:  [0, min(size, LAYOUT_MMIO_HOLE_START))
 *   high: [LAYOUT_RAM_HIGH_START, ...) holding the remainder.
 *
 * Every guest-physical pointer goes through guest_mem_ptr(), which checks that
 * the whole range lies inside one region. Nothing else computes host pointers
 * from guest addresses.
 */
#ifndef SLUICE_VMM_GUEST_MEM_H
#define SLUICE_VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 2

struct guest_mem_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;        /* mapping of this region */
    uint64_t fd_offset;   /* offset of this region in the memfd */
};

struct guest_mem {
    int fd;               /* memfd backing all regions, -1 when empty */
    uint8_t *base;        /* mapping of the whole memfd */
    uint64_t size;        /* total RAM bytes */
    bool hugepages;
    unsigned nregions;
    struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
};

/*
 * Create `size` bytes of zeroed guest RAM (a multiple of 2 MiB when hugepages
 * is set, of 4 KiB otherwise). Returns 0, -EINVAL for a bad size, -ENOMEM /
 * other -errno from memfd_create/ftruncate/mmap (hugepages: -ENOMEM usually
 * means the hugetlb pool is too small). On failure nothing is left allocated.
 */
int guest_mem_create(struct guest_mem *gm, uint64_t size, bool hugepages)
    __attribute__((warn_unused_result));
/* Unmap and close. Safe on a zeroed or already destroyed struct. */
void guest_mem_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa + len) if it lies in one RAM region, else NULL.
 * len 0 is treated as 1. */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Copy to/from guest RAM; -EFAULT if the range is not RAM. */
int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, uint64_t len);
int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t len);

/* Highest guest-physical address + 1 of RAM. */
uint64_t guest_mem_end(const struct guest_mem *gm);

#endif
