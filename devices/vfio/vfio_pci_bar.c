/* SPDX-License-Identifier: MIT */
/*
 * BARs of a passthrough function: declared from the device's region info
 * and BAR type bits, mmapped where VFIO allows, mapped into the guest as
 * memory slots wherever the host places them (minus the MSI-X table and
 * PBA pages), and trapped + forwarded everywhere else.
 */
#define LOG_MODULE "vfio-pci"
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>

#include "devices/vfio/vfio_pci_internal.h"
#include "vmm/log.h"

#define VFIO_PCI_IO_BAR_MIN 4ULL
#define VFIO_PCI_IO_BAR_MAX 256ULL

static uint64_t page_down(uint64_t x)
{
    return x & ~(VFIO_PCI_PAGE_SIZE - 1);
}

static uint64_t page_up(uint64_t x)
{
    return page_down(x + VFIO_PCI_PAGE_SIZE - 1);
}

static uint64_t pow2_up(uint64_t x)
{
    uint64_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

static bool in_region(const struct vfio_pci_bar *b, uint64_t off, unsigned size)
{
    return off < b->region.size && size <= b->region.size - off;
}

static bool bar_is_msix(const struct vfio_pci_bar *b)
{
    return b->v->cap_msix && b->v->msix_bir == b->idx;
}

/* ---- trapped accesses ------------------------------------------------------- */

static void vfio_pci_bar_read(void *opaque, uint64_t off, void *data, unsigned size)
{
    struct vfio_pci_bar *b = opaque;
    struct vfio_pci *v = b->v;
    __atomic_fetch_add(&b->trapped, 1, __ATOMIC_RELAXED);
    if (bar_is_msix(b) && pci_msix_bar_read(&v->msix, off, data, size))
        return;
    if (!in_region(b, off, size)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: BAR%u read of %u bytes at 0x%llx: beyond the "
                        "region", v->name, b->idx, size, (unsigned long long)off);
        memset(data, 0xff, size);
        return;
    }
    int ret = v->cfg.dev.region_read(v->cfg.dev.opaque, b->region.index, off, data, size);
    if (ret) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: BAR%u read at 0x%llx failed: %s", v->name, b->idx,
                        (unsigned long long)off, strerror(-ret));
        memset(data, 0xff, size);
    }
}

static void vfio_pci_bar_write(void *opaque, uint64_t off, const void *data, unsigned size)
{
    struct vfio_pci_bar *b = opaque;
    struct vfio_pci *v = b->v;
    __atomic_fetch_add(&b->trapped, 1, __ATOMIC_RELAXED);
    if (bar_is_msix(b) && pci_msix_bar_write(&v->msix, off, data, size))
        return;
    if (!in_region(b, off, size)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: BAR%u write of %u bytes at 0x%llx dropped: "
                        "beyond the region", v->name, b->idx, size, (unsigned long long)off);
        return;
    }
    int ret = v->cfg.dev.region_write(v->cfg.dev.opaque, b->region.index, off, data, size);
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: BAR%u write at 0x%llx failed: %s", v->name,
                        b->idx, (unsigned long long)off, strerror(-ret));
}

static const struct bus_ops vfio_pci_bar_ops = {
    .read = vfio_pci_bar_read,
    .write = vfio_pci_bar_write,
};

/* ---- setup ------------------------------------------------------------------ */

static enum pci_bar_type bar_type(uint32_t reg)
{
    if (reg & PCI_BASE_ADDRESS_SPACE_IO)
        return PCI_BAR_IO;
    if ((reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64)
        return PCI_BAR_MEM64;
    return PCI_BAR_MEM32;
}

/* mmap the areas VFIO allows that start on a page; the rest stays trapped. */
static void bar_mmap(struct vfio_pci_bar *b)
{
    struct vfio_pci *v = b->v;
    if (!(b->region.flags & VFIO_REGION_INFO_FLAG_MMAP) || !v->cfg.dev.region_mmap)
        return;
    for (unsigned i = 0; i < b->region.nmmap && i < VFIO_REGION_MAX_MMAP_AREAS; i++) {
        uint64_t off = b->region.mmap[i].offset, size = b->region.mmap[i].size;
        if ((off % VFIO_PCI_PAGE_SIZE) || size < VFIO_PCI_PAGE_SIZE || off > b->region.size ||
            size > b->region.size - off)
            continue;
        b->map[i] = v->cfg.dev.region_mmap(v->cfg.dev.opaque, b->region.index, off, size);
        if (!b->map[i])
            LOG_WARN("%s: BAR%u: mmap of [0x%llx, +0x%llx) failed; those accesses will exit",
                     v->name, b->idx, (unsigned long long)off, (unsigned long long)size);
    }
}

static int bar_declare(struct vfio_pci *v, unsigned idx, enum pci_bar_type type, char *err,
                       size_t errlen)
{
    struct vfio_pci_bar *b = &v->bars[idx];
    uint32_t reg = (uint32_t)v->raw[PCI_BASE_ADDRESS_0 + 4 * idx] |
                   (uint32_t)v->raw[PCI_BASE_ADDRESS_0 + 4 * idx + 1] << 8;
    bool pref = type != PCI_BAR_IO && (reg & PCI_BASE_ADDRESS_MEM_PREFETCH);
    uint64_t size = pow2_up(b->region.size);
    if (type == PCI_BAR_IO) {
        if (size < VFIO_PCI_IO_BAR_MIN)
            size = VFIO_PCI_IO_BAR_MIN;
    } else if (size < VFIO_PCI_PAGE_SIZE) {
        size = VFIO_PCI_PAGE_SIZE; /* the guest sees a whole page; the rest reads all-ones */
    }
    if (type == PCI_BAR_IO && size > VFIO_PCI_IO_BAR_MAX) {
        snprintf(err, errlen, "%s: I/O BAR%u of %llu bytes is larger than 256 bytes", v->name,
                 idx, (unsigned long long)size);
        return -EINVAL;
    }
    int ret = pci_declare_bar(&v->pdev, idx, type, pref, size, &vfio_pci_bar_ops, b,
                              BUS_SIZE_ANY, false);
    if (ret) {
        snprintf(err, errlen, "%s: BAR%u (%llu bytes) cannot be declared: %s", v->name, idx,
                 (unsigned long long)size, strerror(-ret));
        return ret;
    }
    if (type != PCI_BAR_IO)
        bar_mmap(b);
    return 0;
}

int vfio_pci_bars_init(struct vfio_pci *v, char *err, size_t errlen)
{
    for (unsigned idx = 0; idx < PCI_NUM_BARS; idx++) {
        struct vfio_pci_bar *b = &v->bars[idx];
        b->v = v;
        b->idx = idx;
    }
    for (unsigned idx = 0; idx < PCI_NUM_BARS; idx++) {
        struct vfio_pci_bar *b = &v->bars[idx];
        int ret = v->cfg.dev.region_info(v->cfg.dev.opaque, VFIO_PCI_BAR0_REGION_INDEX + idx,
                                         &b->region);
        if (ret || b->region.size == 0) {
            memset(&b->region, 0, sizeof(b->region));
            continue;
        }
        b->region.index = VFIO_PCI_BAR0_REGION_INDEX + idx;
        uint32_t reg = 0;
        memcpy(&reg, &v->raw[PCI_BASE_ADDRESS_0 + 4 * idx], sizeof(reg));
        enum pci_bar_type type = bar_type(reg);
        if (type == PCI_BAR_MEM64 && idx + 1 >= PCI_NUM_BARS) {
            snprintf(err, errlen, "%s: BAR5 claims to be 64-bit", v->name);
            return -EINVAL;
        }
        ret = bar_declare(v, idx, type, err, errlen);
        if (ret)
            return ret;
        if (type == PCI_BAR_MEM64)
            idx++; /* the upper half */
    }
    return 0;
}

static void bar_remove_slots(struct vfio_pci_bar *b)
{
    struct vfio_pci *v = b->v;
    for (unsigned i = 0; i < b->nslots; i++)
        v->cfg.slots.remove(v->cfg.slots.opaque, b->slot[i]);
    b->nslots = 0;
}

void vfio_pci_bars_destroy(struct vfio_pci *v)
{
    for (unsigned idx = 0; idx < PCI_NUM_BARS; idx++) {
        struct vfio_pci_bar *b = &v->bars[idx];
        if (!b->v)
            continue;
        bar_remove_slots(b);
        for (unsigned i = 0; i < VFIO_REGION_MAX_MMAP_AREAS; i++) {
            if (b->map[i] && v->cfg.dev.region_munmap)
                v->cfg.dev.region_munmap(v->cfg.dev.opaque, b->map[i], b->region.mmap[i].size);
            b->map[i] = NULL;
        }
    }
}

/* ---- memory slots ----------------------------------------------------------- */

/* Cut [s, e) around the hole [hs, he): up to two parts into out. */
static unsigned cut_hole(uint64_t s, uint64_t e, uint64_t hs, uint64_t he, uint64_t out[2][2])
{
    if (he <= s || hs >= e) {
        out[0][0] = s;
        out[0][1] = e;
        return 1;
    }
    unsigned n = 0;
    if (hs > s) {
        out[n][0] = s;
        out[n][1] = hs;
        n++;
    }
    if (he < e) {
        out[n][0] = he;
        out[n][1] = e;
        n++;
    }
    return n;
}

unsigned vfio_pci_bar_pieces(const struct vfio_pci *v, const struct vfio_pci_bar *b,
                             struct vfio_pci_piece *out, unsigned max)
{
    /* the MSI-X pages, lower first */
    uint64_t holes[2][2] = { { 0, 0 }, { 0, 0 } };
    if (bar_is_msix(b)) {
        holes[0][0] = page_down(v->msix_table_off);
        holes[0][1] = page_up(v->msix_table_off + v->msix_table_len);
        holes[1][0] = page_down(v->msix_pba_off);
        holes[1][1] = page_up(v->msix_pba_off + v->msix_pba_len);
        if (holes[1][0] < holes[0][0]) {
            uint64_t t0 = holes[0][0], t1 = holes[0][1];
            holes[0][0] = holes[1][0];
            holes[0][1] = holes[1][1];
            holes[1][0] = t0;
            holes[1][1] = t1;
        }
    }
    unsigned n = 0;
    for (unsigned i = 0; i < b->region.nmmap && i < VFIO_REGION_MAX_MMAP_AREAS; i++) {
        if (!b->map[i])
            continue;
        uint64_t aoff = b->region.mmap[i].offset;
        uint64_t s = aoff, e = page_down(aoff + b->region.mmap[i].size);
        uint64_t first[2][2], second[2][2];
        unsigned n1 = cut_hole(s, e, holes[0][0], holes[0][1], first);
        for (unsigned j = 0; j < n1; j++) {
            unsigned n2 = cut_hole(first[j][0], first[j][1], holes[1][0], holes[1][1], second);
            for (unsigned k = 0; k < n2 && n < max; k++) {
                if (second[k][1] <= second[k][0])
                    continue;
                out[n++] = (struct vfio_pci_piece){
                    .off = second[k][0],
                    .size = second[k][1] - second[k][0],
                    .host = (uint8_t *)b->map[i] + (second[k][0] - aoff),
                };
            }
        }
    }
    return n;
}

void vfio_pci_bar_placed(struct vfio_pci *v, unsigned bar, bool mapped, uint64_t addr)
{
    if (bar >= PCI_NUM_BARS || !v->cfg.slots.add || !v->cfg.slots.remove)
        return;
    struct vfio_pci_bar *b = &v->bars[bar];
    bar_remove_slots(b);
    if (!mapped || v->pdev.bars[bar].type == PCI_BAR_IO)
        return;
    struct vfio_pci_piece pieces[VFIO_PCI_MAX_BAR_SLOTS];
    unsigned n = vfio_pci_bar_pieces(v, b, pieces, VFIO_PCI_MAX_BAR_SLOTS);
    for (unsigned i = 0; i < n; i++) {
        int h = v->cfg.slots.add(v->cfg.slots.opaque, addr + pieces[i].off, pieces[i].size,
                                 pieces[i].host);
        if (h < 0) {
            LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: BAR%u: memory slot at 0x%llx (+0x%llx) "
                            "failed: %s; accesses there will exit", v->name, bar,
                            (unsigned long long)(addr + pieces[i].off),
                            (unsigned long long)pieces[i].size, strerror(-h));
            continue;
        }
        b->slot[b->nslots++] = h;
    }
}
