/* SPDX-License-Identifier: MIT */
/*
 * A fake guest RAM for device tests: `size` bytes of anonymous memory that a
 * dma_space sees at guest-physical `gpa`, plus little-endian accessors and
 * helpers that lay out a split virtqueue (descriptor table, avail and used
 * rings) in it the way a driver would.
 *
 * Usage:
 *     struct fake_ram ram;
 *     if (fake_ram_init(&ram, 0x100000, 1 << 20)) return CHECK_SKIP;
 *     struct dma_space as;
 *     dma_space_init(&as, &ram.region, 1, 0);
 *     struct fake_vring vr;
 *     fake_vring_init(&ram, &vr, 0x100000, 256);   // desc/avail/used laid out
 *     vq.desc_addr = vr.desc; ...
 *     fake_vring_desc(&ram, &vr, 0, buf_gpa, 64, VRING_DESC_F_NEXT, 1);
 *     fake_vring_publish(&ram, &vr, 0);            // avail ring + idx
 *     ...
 *     fake_ram_free(&ram);
 *
 * Accessors abort() on an address outside the fake RAM: that is a bug in the
 * test, never something under test.
 */
#ifndef SLUICE_TESTS_FAKE_GUEST_RAM_H
#define SLUICE_TESTS_FAKE_GUEST_RAM_H

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/virtio_ring.h>

#include "iommu/dma.h"

struct fake_ram {
    struct dma_ram_region region; /* pass &region to dma_space_init */
};

/* Returns 0 or -errno; the memory is zero-filled. */
static inline int fake_ram_init(struct fake_ram *r, uint64_t gpa, uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED)
        return -errno;
    r->region = (struct dma_ram_region){ .gpa = gpa, .size = size, .host = p };
    return 0;
}

static inline void fake_ram_free(struct fake_ram *r)
{
    if (r->region.host)
        munmap(r->region.host, r->region.size);
    r->region.host = NULL;
}

/* Host pointer for [gpa, gpa + len) inside the fake RAM, or abort. */
static inline uint8_t *fake_ram_ptr(const struct fake_ram *r, uint64_t gpa, uint64_t len)
{
    if (gpa < r->region.gpa || gpa - r->region.gpa > r->region.size ||
        len > r->region.size - (gpa - r->region.gpa)) {
        fprintf(stderr, "fake_ram: 0x%llx+0x%llx outside the fake RAM\n",
                (unsigned long long)gpa, (unsigned long long)len);
        abort();
    }
    return r->region.host + (gpa - r->region.gpa);
}

static inline void fake_ram_write(struct fake_ram *r, uint64_t gpa, const void *buf, uint64_t len)
{
    memcpy(fake_ram_ptr(r, gpa, len), buf, len);
}

static inline void fake_ram_read(const struct fake_ram *r, uint64_t gpa, void *buf, uint64_t len)
{
    memcpy(buf, fake_ram_ptr(r, gpa, len), len);
}

static inline void fake_ram_w16(struct fake_ram *r, uint64_t gpa, uint16_t v)
{
    v = htole16(v);
    fake_ram_write(r, gpa, &v, sizeof(v));
}

static inline void fake_ram_w32(struct fake_ram *r, uint64_t gpa, uint32_t v)
{
    v = htole32(v);
    fake_ram_write(r, gpa, &v, sizeof(v));
}

static inline void fake_ram_w64(struct fake_ram *r, uint64_t gpa, uint64_t v)
{
    v = htole64(v);
    fake_ram_write(r, gpa, &v, sizeof(v));
}

static inline uint16_t fake_ram_r16(const struct fake_ram *r, uint64_t gpa)
{
    uint16_t v;
    fake_ram_read(r, gpa, &v, sizeof(v));
    return le16toh(v);
}

static inline uint32_t fake_ram_r32(const struct fake_ram *r, uint64_t gpa)
{
    uint32_t v;
    fake_ram_read(r, gpa, &v, sizeof(v));
    return le32toh(v);
}

/* ---- split virtqueue as a driver lays it out -------------------------------- */

struct fake_vring {
    uint16_t size;
    uint64_t desc, avail, used; /* guest-physical addresses of the three areas */
    uint16_t avail_idx;         /* the driver's next avail index */
};

/* Bytes the three areas take with event index fields included. */
static inline uint64_t fake_vring_desc_bytes(uint16_t size)
{
    return (uint64_t)size * sizeof(struct vring_desc);
}

static inline uint64_t fake_vring_avail_bytes(uint16_t size)
{
    return offsetof(struct vring_avail, ring) + (uint64_t)(size + 1) * sizeof(__virtio16);
}

static inline uint64_t fake_vring_used_bytes(uint16_t size)
{
    return offsetof(struct vring_used, ring) +
           (uint64_t)size * sizeof(struct vring_used_elem) + sizeof(__virtio16);
}

/* Lay the rings out from `base` (16-byte aligned): desc, avail, then used at
 * the next 4-byte boundary. Zeroes them. Returns the first free gpa after. */
static inline uint64_t fake_vring_init(struct fake_ram *r, struct fake_vring *vr, uint64_t base,
                                       uint16_t size)
{
    vr->size = size;
    vr->desc = base;
    vr->avail = vr->desc + fake_vring_desc_bytes(size);
    vr->used = (vr->avail + fake_vring_avail_bytes(size) + VRING_USED_ALIGN_SIZE - 1) &
               ~(uint64_t)(VRING_USED_ALIGN_SIZE - 1);
    vr->avail_idx = 0;
    memset(fake_ram_ptr(r, base, vr->used + fake_vring_used_bytes(size) - base), 0,
           vr->used + fake_vring_used_bytes(size) - base);
    return vr->used + fake_vring_used_bytes(size);
}

/* Write one descriptor at `table` (a descriptor table or an indirect table). */
static inline void fake_desc_at(struct fake_ram *r, uint64_t table, uint16_t i, uint64_t addr,
                                uint32_t len, uint16_t flags, uint16_t next)
{
    uint64_t d = table + (uint64_t)i * sizeof(struct vring_desc);

    fake_ram_w64(r, d + offsetof(struct vring_desc, addr), addr);
    fake_ram_w32(r, d + offsetof(struct vring_desc, len), len);
    fake_ram_w16(r, d + offsetof(struct vring_desc, flags), flags);
    fake_ram_w16(r, d + offsetof(struct vring_desc, next), next);
}

static inline void fake_vring_desc(struct fake_ram *r, const struct fake_vring *vr, uint16_t i,
                                   uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    fake_desc_at(r, vr->desc, i, addr, len, flags, next);
}

/* Put `head` in the avail ring and bump avail->idx (as the driver does). */
static inline void fake_vring_publish(struct fake_ram *r, struct fake_vring *vr, uint16_t head)
{
    uint64_t slot = vr->avail + offsetof(struct vring_avail, ring) +
                    (uint64_t)(vr->avail_idx & (vr->size - 1)) * sizeof(__virtio16);

    fake_ram_w16(r, slot, head);
    vr->avail_idx++;
    fake_ram_w16(r, vr->avail + offsetof(struct vring_avail, idx), vr->avail_idx);
}

/* Set avail->idx directly (for malformed-index tests). */
static inline void fake_vring_set_avail_idx(struct fake_ram *r, struct fake_vring *vr,
                                            uint16_t idx)
{
    vr->avail_idx = idx;
    fake_ram_w16(r, vr->avail + offsetof(struct vring_avail, idx), idx);
}

static inline void fake_vring_set_avail_flags(struct fake_ram *r, const struct fake_vring *vr,
                                              uint16_t flags)
{
    fake_ram_w16(r, vr->avail + offsetof(struct vring_avail, flags), flags);
}

/* used_event lives after the avail ring: avail->ring[size]. */
static inline void fake_vring_set_used_event(struct fake_ram *r, const struct fake_vring *vr,
                                             uint16_t ev)
{
    fake_ram_w16(r, vr->avail + offsetof(struct vring_avail, ring) +
                        (uint64_t)vr->size * sizeof(__virtio16), ev);
}

static inline uint16_t fake_vring_used_idx(const struct fake_ram *r, const struct fake_vring *vr)
{
    return fake_ram_r16(r, vr->used + offsetof(struct vring_used, idx));
}

static inline uint16_t fake_vring_used_flags(const struct fake_ram *r,
                                             const struct fake_vring *vr)
{
    return fake_ram_r16(r, vr->used + offsetof(struct vring_used, flags));
}

/* Used ring entry i (taken modulo size). */
static inline void fake_vring_used_elem(const struct fake_ram *r, const struct fake_vring *vr,
                                        uint16_t i, uint32_t *id, uint32_t *len)
{
    uint64_t e = vr->used + offsetof(struct vring_used, ring) +
                 (uint64_t)(i & (vr->size - 1)) * sizeof(struct vring_used_elem);

    *id = fake_ram_r32(r, e + offsetof(struct vring_used_elem, id));
    *len = fake_ram_r32(r, e + offsetof(struct vring_used_elem, len));
}

/* avail_event lives after the used ring: used->ring[size]. */
static inline uint16_t fake_vring_avail_event(const struct fake_ram *r,
                                              const struct fake_vring *vr)
{
    return fake_ram_r16(r, vr->used + offsetof(struct vring_used, ring) +
                               (uint64_t)vr->size * sizeof(struct vring_used_elem));
}

#endif
