/* SPDX-License-Identifier: MIT */
/*
 * DMA address spaces: identity over guest RAM, or a translator followed by
 * the same RAM bounds check. Every host pointer handed out lies inside one
 * RAM region; nothing here trusts a guest-supplied address or length.
 */
#include "iommu/dma.h"

#include <errno.h>
#include <string.h>

/* Last byte of [start, start + len); false when len is 0 or the range wraps. */
static bool range_last(uint64_t start, uint64_t len, uint64_t *last)
{
    if (len == 0)
        return false;
    *last = start + (len - 1);
    return *last >= start;
}

static int check_region(const struct dma_ram_region *r)
{
    uint64_t last;

    if (!r->host || !range_last(r->gpa, r->size, &last))
        return -EINVAL;
    return 0;
}

int dma_space_init(struct dma_space *as, const struct dma_ram_region *ram, unsigned n,
                   uint16_t rid)
{
    if (!as || n > DMA_MAX_RAM_REGIONS || (n && !ram))
        return -EINVAL;
    for (unsigned i = 0; i < n; i++) {
        if (check_region(&ram[i]))
            return -EINVAL;
    }
    memset(as, 0, sizeof(*as));
    as->nram = n;
    if (n)
        memcpy(as->ram, ram, n * sizeof(*ram));
    as->rid = rid;
    return 0;
}

void dma_space_set_translator(struct dma_space *as, const struct dma_translator *tr)
{
    if (tr)
        as->tr = *tr;
    else
        memset(&as->tr, 0, sizeof(as->tr));
}

void dma_space_set_rid(struct dma_space *as, uint16_t rid)
{
    as->rid = rid;
}

/*
 * Host pointer for the prefix of guest-physical [gpa, gpa + len) that lies in
 * one RAM region; *mapped = its length. len >= 1 and the range does not wrap
 * (checked by the caller). NULL when gpa is not RAM.
 */
static void *ram_lookup(const struct dma_space *as, uint64_t gpa, uint64_t len,
                        uint64_t *mapped)
{
    for (unsigned i = 0; i < as->nram; i++) {
        const struct dma_ram_region *r = &as->ram[i];
        uint64_t off;

        if (gpa < r->gpa)
            continue;
        off = gpa - r->gpa;
        if (off >= r->size)
            continue;
        *mapped = r->size - off < len ? r->size - off : len;
        return r->host + off;
    }
    return NULL;
}

void *dma_map(struct dma_space *as, uint64_t iova, uint64_t len, bool write, uint64_t *mapped,
              int *err)
{
    uint64_t last, gpa = iova, n = len;
    void *p;
    int ret;

    if (!range_last(iova, len, &last)) {
        *err = -EFAULT;
        return NULL;
    }
    if (as->tr.translate) {
        uint64_t tlen = 0;

        ret = as->tr.translate(as->tr.opaque, as->rid, iova, write, &gpa, &tlen);
        if (ret) {
            *err = ret < 0 ? ret : -EFAULT;
            return NULL;
        }
        if (tlen == 0) {
            *err = -EFAULT;
            return NULL;
        }
        if (tlen < n)
            n = tlen;
        if (!range_last(gpa, n, &last)) {
            *err = -EFAULT;
            return NULL;
        }
    }
    p = ram_lookup(as, gpa, n, mapped);
    if (!p) {
        *err = -EFAULT;
        return NULL;
    }
    *err = 0;
    return p;
}

/* Copy between guest [iova, iova + len) and buf, one mapped fragment at a time. */
static int dma_copy(struct dma_space *as, uint64_t iova, void *buf, uint64_t len, bool write)
{
    uint8_t *b = buf;
    uint64_t last;

    if (len == 0)
        return 0;
    if (!range_last(iova, len, &last))
        return -EFAULT;
    while (len) {
        uint64_t mapped = 0;
        int err = 0;
        void *p = dma_map(as, iova, len, write, &mapped, &err);

        if (!p)
            return err;
        if (write)
            memcpy(p, b, mapped);
        else
            memcpy(b, p, mapped);
        b += mapped;
        iova += mapped;
        len -= mapped;
    }
    return 0;
}

int dma_read(struct dma_space *as, uint64_t iova, void *buf, uint64_t len)
{
    return dma_copy(as, iova, buf, len, false);
}

int dma_write(struct dma_space *as, uint64_t iova, const void *buf, uint64_t len)
{
    return dma_copy(as, iova, (void *)buf, len, true);
}
