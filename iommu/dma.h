/* SPDX-License-Identifier: MIT */
/*
 * DMA address spaces: the only way a device reaches guest memory.
 *
 * A dma_space belongs to one requester (PCI function). Without an IOMMU it is
 * the identity over guest RAM, bounds-checked against the RAM regions it was
 * given. Behind a vIOMMU a translator turns an IOVA into a guest-physical
 * address (recording faults in the vIOMMU's own event log) and the result is
 * then bounds-checked against RAM the same way. Translations can be
 * fragmented: dma_map returns the longest host-contiguous prefix and callers
 * loop.
 *
 * Ownership: the RAM regions' host mappings belong to vmm/ and outlive every
 * dma_space. Thread safety: all calls are safe concurrently (the translator
 * does its own locking).
 */
#ifndef SLUICE_IOMMU_DMA_H
#define SLUICE_IOMMU_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMA_MAX_RAM_REGIONS 4

struct dma_ram_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
};

struct dma_translator {
    /* Translate `iova` for a read (!write) or write by requester `rid`. On
     * success set *gpa and *len (bytes from iova on with the same mapping,
     * >= 1) and return 0; on failure record the fault and return -EFAULT
     * (not mapped) or -EPERM (not permitted). NULL: identity. */
    int (*translate)(void *opaque, uint16_t rid, uint64_t iova, bool write, uint64_t *gpa,
                     uint64_t *len);
    void *opaque;
};

struct dma_space {
    unsigned nram;
    struct dma_ram_region ram[DMA_MAX_RAM_REGIONS];
    uint16_t rid;
    struct dma_translator tr;
};

/* Identity space over `n` (<= DMA_MAX_RAM_REGIONS) RAM regions for `rid`.
 * Returns 0 or -EINVAL. */
int dma_space_init(struct dma_space *as, const struct dma_ram_region *ram, unsigned n,
                   uint16_t rid) __attribute__((warn_unused_result));
/* Put the space behind a translator (a copy is kept); NULL translate = identity. */
void dma_space_set_translator(struct dma_space *as, const struct dma_translator *tr);
void dma_space_set_rid(struct dma_space *as, uint16_t rid);

/*
 * Host pointer for the longest prefix of [iova, iova + len) that is mapped
 * and contiguous in host memory, with *mapped set to its length (1..len).
 * len 0 is an error. Returns NULL and sets *err to -EFAULT (not RAM, not
 * mapped, wraps) or -EPERM (not permitted) on failure.
 */
void *dma_map(struct dma_space *as, uint64_t iova, uint64_t len, bool write, uint64_t *mapped,
              int *err);
/* Copy the whole range or fail (-EFAULT/-EPERM) without a partial result
 * being reported as success (a write may have stored a prefix). */
int dma_read(struct dma_space *as, uint64_t iova, void *buf, uint64_t len)
    __attribute__((warn_unused_result));
int dma_write(struct dma_space *as, uint64_t iova, const void *buf, uint64_t len)
    __attribute__((warn_unused_result));

#endif
