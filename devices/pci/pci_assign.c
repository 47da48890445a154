/* SPDX-License-Identifier: MIT */
/*
 * Firmware-like resource assignment (pci_host_assign_resources in
 * pci_host.h): bus numbers for root ports, root-port windows sized to what
 * sits behind them, and a naturally aligned address for every BAR.
 *
 * Each host window is filled by a bump allocator over items sorted by
 * alignment, largest first; inside a root-port window the BARs are packed
 * largest first from the (max-BAR-aligned) window base, which leaves no gaps
 * because every size is a power of two.
 */
#define LOG_MODULE "pci"
#include <errno.h>
#include <stdlib.h>

#include "devices/pci/pci_host_internal.h"
#include "vmm/log.h"

/* The host windows. */
enum pci_res { PCI_RES_IO, PCI_RES_MEM32, PCI_RES_MEM64, PCI_RES_COUNT };
/* A root port's windows. */
enum pci_rp_win { PCI_RP_WIN_IO, PCI_RP_WIN_MEM, PCI_RP_WIN_PREF, PCI_RP_WIN_COUNT };

struct pci_res_item {
    uint64_t size, align;
    struct pci_device *dev;     /* a BAR of a bus-0 function ... */
    unsigned bar;
    struct pci_bridge *br;      /* ... or a root-port window */
    enum pci_rp_win win;
};

struct pci_res_list {
    struct pci_res_item *items;
    size_t count, capacity;
};

static uint64_t round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

static bool pci_host_has_mmio64(const struct pci_host *h)
{
    return h->cfg.mmio64_size != 0;
}

/* Which host window a BAR on bus 0 goes to. */
static enum pci_res pci_bar_host_res(const struct pci_host *h, const struct pci_bar *bar)
{
    if (bar->type == PCI_BAR_IO)
        return PCI_RES_IO;
    if (bar->type == PCI_BAR_MEM64 && pci_host_has_mmio64(h))
        return PCI_RES_MEM64;
    return PCI_RES_MEM32;
}

/* Which root-port window forwards a BAR: a bridge's non-prefetchable window
 * is 32-bit only, so only prefetchable 64-bit BARs go above 4 GiB. */
static enum pci_rp_win pci_bar_rp_win(const struct pci_host *h, const struct pci_bar *bar)
{
    if (bar->type == PCI_BAR_IO)
        return PCI_RP_WIN_IO;
    if (bar->type == PCI_BAR_MEM64 && bar->prefetchable && pci_host_has_mmio64(h))
        return PCI_RP_WIN_PREF;
    return PCI_RP_WIN_MEM;
}

static enum pci_res pci_rp_win_res(enum pci_rp_win win)
{
    static const enum pci_res map[PCI_RP_WIN_COUNT] = {
        [PCI_RP_WIN_IO] = PCI_RES_IO, [PCI_RP_WIN_MEM] = PCI_RES_MEM32,
        [PCI_RP_WIN_PREF] = PCI_RES_MEM64,
    };
    return map[win];
}

static void pci_res_window(const struct pci_host *h, enum pci_res res, uint64_t *base,
                           uint64_t *size)
{
    const struct pci_host_config *c = &h->cfg;
    switch (res) {
    case PCI_RES_IO:
        *base = c->io_base, *size = c->io_size;
        break;
    case PCI_RES_MEM32:
        *base = c->mmio32_base, *size = c->mmio32_size;
        break;
    default:
        *base = c->mmio64_base, *size = c->mmio64_size;
        break;
    }
}

static int pci_res_push(struct pci_res_list *l, struct pci_res_item item)
{
    if (l->count == l->capacity) {
        size_t cap = l->capacity ? l->capacity * 2 : 32;
        struct pci_res_item *n = realloc(l->items, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        l->items = n;
        l->capacity = cap;
    }
    l->items[l->count++] = item;
    return 0;
}

static int pci_res_item_cmp(const void *a, const void *b)
{
    const struct pci_res_item *x = a, *y = b;
    if (x->align != y->align)
        return x->align > y->align ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return 0;
}

/* Write a BAR's base, keeping its read-only type bits. */
static void pci_bar_set_address(struct pci_device *dev, unsigned idx, uint64_t addr)
{
    unsigned reg = PCI_BAR_REG(idx);
    uint32_t flags_mask = dev->bars[idx].type == PCI_BAR_IO ? (uint32_t)~PCI_BASE_ADDRESS_IO_MASK
                                                            : (uint32_t)~PCI_BASE_ADDRESS_MEM_MASK;
    uint32_t lo = pci_cfg_get32(dev, reg);
    pci_cfg_set32(dev, reg, (lo & flags_mask) | ((uint32_t)addr & ~flags_mask));
    if (dev->bars[idx].type == PCI_BAR_MEM64)
        pci_cfg_set32(dev, reg + 4, (uint32_t)(addr >> 32));
}

/* Bump-allocate sorted items from [base, base + size). */
static int pci_res_allocate(struct pci_res_list *l, uint64_t base, uint64_t size,
                            uint64_t *addrs)
{
    qsort(l->items, l->count, sizeof(l->items[0]), pci_res_item_cmp);
    uint64_t cursor = base, end = base + size; /* size 0: nothing fits */
    for (size_t i = 0; i < l->count; i++) {
        uint64_t a = round_up(cursor, l->items[i].align);
        if (a < cursor || a + l->items[i].size > end || a + l->items[i].size < a)
            return -ENOSPC;
        addrs[i] = a;
        cursor = a + l->items[i].size;
    }
    return 0;
}

/* Collect the BARs behind `br` that its window `win` forwards. */
static int pci_rp_collect(const struct pci_host *h, struct pci_bridge *br, enum pci_rp_win win,
                          struct pci_res_list *l)
{
    for (unsigned fn = 0; fn < PCI_FUNCS_PER_SLOT; fn++) {
        struct pci_device *c = br->children[fn];
        for (unsigned i = 0; c && i < PCI_NUM_BARS; i++) {
            const struct pci_bar *bar = &c->bars[i];
            if (bar->type == PCI_BAR_UNUSED || pci_bar_rp_win(h, bar) != win)
                continue;
            int ret = pci_res_push(l, (struct pci_res_item){
                                          .size = bar->size, .align = bar->size, .dev = c,
                                          .bar = i});
            if (ret)
                return ret;
        }
    }
    return 0;
}

static uint64_t pci_rp_granularity(enum pci_rp_win win)
{
    return win == PCI_RP_WIN_IO ? PCI_BRIDGE_IO_GRANULARITY : PCI_BRIDGE_MEM_GRANULARITY;
}

/* The window item a root port needs for `win` (size 0: nothing behind it). */
static int pci_rp_window_item(const struct pci_host *h, struct pci_bridge *br,
                              enum pci_rp_win win, struct pci_res_item *out)
{
    struct pci_res_list l = {0};
    int ret = pci_rp_collect(h, br, win, &l);
    uint64_t sum = 0, max = 0;
    for (size_t i = 0; i < l.count; i++) {
        sum += l.items[i].size;
        max = l.items[i].size > max ? l.items[i].size : max;
    }
    free(l.items);
    uint64_t gran = pci_rp_granularity(win);
    *out = (struct pci_res_item){
        .size = sum ? round_up(sum, gran) : 0, .align = max > gran ? max : gran,
        .br = br, .win = win,
    };
    return ret;
}

static void pci_rp_set_window(struct pci_bridge *br, enum pci_rp_win win, struct pci_window w)
{
    switch (win) {
    case PCI_RP_WIN_IO:
        pci_bridge_set_io_window(br, w);
        break;
    case PCI_RP_WIN_MEM:
        pci_bridge_set_mem_window(br, w);
        break;
    default:
        pci_bridge_set_pref_window(br, w);
        break;
    }
}

/* Open window `win` of `br` at [base, base + size) and pack its BARs. */
static int pci_rp_fill_window(const struct pci_host *h, struct pci_bridge *br,
                              enum pci_rp_win win, uint64_t base, uint64_t size)
{
    pci_rp_set_window(br, win, (struct pci_window){.base = base, .limit = base + size - 1});
    struct pci_res_list l = {0};
    int ret = pci_rp_collect(h, br, win, &l);
    uint64_t *addrs = ret ? NULL : calloc(l.count ? l.count : 1, sizeof(*addrs));
    if (!ret && !addrs)
        ret = -ENOMEM;
    if (!ret)
        ret = pci_res_allocate(&l, base, size, addrs);
    for (size_t i = 0; !ret && i < l.count; i++)
        pci_bar_set_address(l.items[i].dev, l.items[i].bar, addrs[i]);
    free(addrs);
    free(l.items);
    return ret;
}

static struct pci_window pci_window_closed(void)
{
    return (struct pci_window){.base = 1, .limit = 0};
}

/* Bus numbers, commands and closed windows for every root port; collects
 * the root-port window items into the per-host-window lists. */
static int pci_assign_root_ports(struct pci_host *h, struct pci_res_list *lists)
{
    unsigned next_bus = 1;
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        struct pci_device *d = h->bus0[devfn];
        if (!d || !d->bridge)
            continue;
        if (next_bus >= h->cfg.ecam_buses)
            return -ENOSPC;
        pci_bridge_set_buses(d->bridge, 0, (uint8_t)next_bus, (uint8_t)next_bus);
        next_bus++;
        pci_cfg_set16(d, PCI_COMMAND,
                      pci_cfg_get16(d, PCI_COMMAND) | PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
                          PCI_COMMAND_MASTER);
        for (unsigned w = 0; w < PCI_RP_WIN_COUNT; w++) {
            struct pci_res_item item;
            int ret = pci_rp_window_item(h, d->bridge, w, &item);
            if (ret)
                return ret;
            pci_rp_set_window(d->bridge, w, pci_window_closed());
            if (item.size)
                ret = pci_res_push(&lists[pci_rp_win_res(w)], item);
            if (ret)
                return ret;
        }
    }
    return 0;
}

static int pci_assign_bus0_bars(struct pci_host *h, struct pci_res_list *lists)
{
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        struct pci_device *d = h->bus0[devfn];
        for (unsigned i = 0; d && i < PCI_NUM_BARS; i++) {
            const struct pci_bar *bar = &d->bars[i];
            if (bar->type == PCI_BAR_UNUSED)
                continue;
            int ret = pci_res_push(&lists[pci_bar_host_res(h, bar)],
                                   (struct pci_res_item){
                                       .size = bar->size, .align = bar->size, .dev = d, .bar = i});
            if (ret)
                return ret;
        }
    }
    return 0;
}

/* Allocate one host window's items and program what they stand for. */
static int pci_assign_host_window(struct pci_host *h, enum pci_res res, struct pci_res_list *l)
{
    if (l->count == 0)
        return 0;
    uint64_t base, size;
    pci_res_window(h, res, &base, &size);
    uint64_t *addrs = calloc(l->count, sizeof(*addrs));
    if (!addrs)
        return -ENOMEM;
    int ret = pci_res_allocate(l, base, size, addrs);
    for (size_t i = 0; !ret && i < l->count; i++) {
        const struct pci_res_item *it = &l->items[i];
        if (it->br)
            ret = pci_rp_fill_window(h, it->br, it->win, addrs[i], it->size);
        else
            pci_bar_set_address(it->dev, it->bar, addrs[i]);
    }
    free(addrs);
    if (ret == -ENOSPC)
        LOG_ERR("PCI resource window %d too small for the devices", (int)res);
    return ret;
}

int pci_assign_resources_locked(struct pci_host *h)
{
    struct pci_res_list lists[PCI_RES_COUNT] = {{0}};
    int ret = pci_assign_root_ports(h, lists);
    if (!ret)
        ret = pci_assign_bus0_bars(h, lists);
    for (unsigned r = 0; !ret && r < PCI_RES_COUNT; r++)
        ret = pci_assign_host_window(h, r, &lists[r]);
    for (unsigned r = 0; r < PCI_RES_COUNT; r++)
        free(lists[r].items);
    return ret;
}
