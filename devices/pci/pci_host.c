/* SPDX-License-Identifier: MIT */
/*
 * PCIe host bridge: topology, configuration routing (ECAM and mechanism #1),
 * BAR placement and INTx lines. See pci_host.h for the contract.
 */
#define LOG_MODULE "pci"
#include "devices/pci/pci_host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/pci_host_internal.h"
#include "vmm/log.h"

/* Header type bit 7: the function is part of a multi-function device. */
#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80
#define PCI_CONFIG_ACCESS_MAX 4
#define PCI_ECAM_MAX_BUSES 256u

/* --- topology --- */

const struct msi_sink *pci_host_sink(const struct pci_host *h)
{
    return h->cfg.sink;
}

struct pci_device *pci_bridge_device(struct pci_bridge *br)
{
    return &br->dev;
}

void pci_host_for_each_function(struct pci_host *h, pci_host_fn_cb cb, void *ctx)
{
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        struct pci_device *d = h->bus0[devfn];
        if (!d || d == &h->hostbridge)
            continue;
        cb(h, d, ctx);
        if (!d->bridge)
            continue;
        for (unsigned fn = 0; fn < PCI_FUNCS_PER_SLOT; fn++) {
            if (d->bridge->children[fn])
                cb(h, d->bridge->children[fn], ctx);
        }
    }
}

/* The function a configuration cycle for (bus, devfn) reaches, or NULL. */
static struct pci_device *pci_host_route(struct pci_host *h, uint8_t bus, uint8_t devfn)
{
    if (bus == 0)
        return h->bus0[devfn];
    for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
        struct pci_device *d = h->bus0[i];
        if (!d || !d->bridge)
            continue;
        uint8_t sec = pci_bridge_secondary(d->bridge), sub = pci_bridge_subordinate(d->bridge);
        if (bus < sec || bus > sub)
            continue;
        /* type-1 forwarding: only device 0 of the secondary bus exists */
        if (bus == sec && PCI_DEVFN_SLOT(devfn) == 0)
            return d->bridge->children[PCI_DEVFN_FN(devfn)];
        return NULL;
    }
    return NULL;
}

struct pci_device *pci_host_find(struct pci_host *h, uint8_t bus, uint8_t devfn)
{
    pthread_mutex_lock(&h->lock);
    struct pci_device *d = pci_host_route(h, bus, devfn);
    pthread_mutex_unlock(&h->lock);
    return d;
}

unsigned pci_host_root_ports(struct pci_host *h, struct pci_bridge **out, unsigned max)
{
    unsigned n = 0;
    pthread_mutex_lock(&h->lock);
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        struct pci_device *d = h->bus0[devfn];
        if (!d || !d->bridge)
            continue;
        if (n < max)
            out[n] = d->bridge;
        n++;
    }
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* --- INTx --- */

int pci_host_intx_index(const struct pci_device *dev)
{
    uint8_t pin = pci_cfg_get8(dev, PCI_INTERRUPT_PIN);
    if (!dev->host || pin == 0 || pin > LAYOUT_PCI_INTX_PINS)
        return -ENOENT;
    unsigned p = pin - 1u;
    const struct pci_device *d = dev;
    /* the standard bridge swizzle up to bus 0 */
    for (; d->parent; d = &d->parent->dev)
        p = (p + PCI_DEVFN_SLOT(d->devfn)) % LAYOUT_PCI_INTX_PINS;
    return (int)((PCI_DEVFN_SLOT(d->devfn) + p) % LAYOUT_PCI_INTX_PINS);
}

void pci_host_intx_wire_locked(struct pci_host *h, struct pci_device *dev, bool level)
{
    int idx = pci_host_intx_index(dev);
    if (idx < 0)
        return;
    /* wired-OR: the line is high while any function drives it */
    unsigned *count = &h->intx_count[idx];
    if (level) {
        if ((*count)++ == 0)
            irq_line_set(&h->cfg.intx[idx], true);
    } else if (*count > 0 && --(*count) == 0) {
        irq_line_set(&h->cfg.intx[idx], false);
    }
}

/* --- BAR placement --- */

static bool pci_host_window_contains(uint64_t base, uint64_t size, uint64_t first, uint64_t last)
{
    return size != 0 && first >= base && last <= base + (size - 1);
}

/* Where BAR `idx` should be on the bus now, or false when it must be off. */
static bool pci_bar_target(const struct pci_host *h, const struct pci_device *dev, unsigned idx,
                           uint64_t *addr)
{
    const struct pci_bar *bar = &dev->bars[idx];
    if (bar->type == PCI_BAR_UNUSED || !pci_bar_decode_enabled(dev, idx))
        return false;
    uint64_t first = pci_bar_address(dev, idx), last = first + (bar->size - 1);
    if (first == 0 || last < first)
        return false;
    for (const struct pci_device *d = dev; d->parent; d = &d->parent->dev) {
        if (!pci_bridge_forwards(d->parent, bar, first, last))
            return false;
    }
    const struct pci_host_config *c = &h->cfg;
    bool inside = bar->type == PCI_BAR_IO
                      ? pci_host_window_contains(c->io_base, c->io_size, first, last)
                      : pci_host_window_contains(c->mmio32_base, c->mmio32_size, first, last) ||
                            pci_host_window_contains(c->mmio64_base, c->mmio64_size, first, last);
    if (!inside)
        return false;
    *addr = first;
    return true;
}

static struct bus *pci_bar_bus(const struct pci_host *h, const struct pci_bar *bar)
{
    return bar->type == PCI_BAR_IO ? h->cfg.pio : h->cfg.mmio;
}

static void pci_bar_notify(struct pci_device *dev, unsigned idx, bool mapped, uint64_t addr)
{
    if (dev->ops && dev->ops->bar_placed)
        dev->ops->bar_placed(dev, idx, mapped, addr);
}

/* Pass 1: take off the bus every BAR that must go or move. */
static void pci_unmap_stale(struct pci_host *h, struct pci_device *dev, void *ctx)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *bar = &dev->bars[i];
        uint64_t addr;
        if (!bar->mapped)
            continue;
        if (pci_bar_target(h, dev, i, &addr) && addr == bar->mapped_addr)
            continue;
        if (bus_unregister(pci_bar_bus(h, bar), bar->mapped_addr))
            LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: BAR%u at 0x%llx was not on the bus",
                            dev->name, i, (unsigned long long)bar->mapped_addr);
        bar->mapped = false;
        pci_bar_notify(dev, i, false, bar->mapped_addr);
    }
}

/* Pass 2: put on the bus every BAR that should be there and is not. */
static void pci_map_missing(struct pci_host *h, struct pci_device *dev, void *ctx)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *bar = &dev->bars[i];
        uint64_t addr;
        if (bar->mapped || !pci_bar_target(h, dev, i, &addr))
            continue;
        int ret = bus_register(pci_bar_bus(h, bar), addr, bar->size, bar->ops, bar->opaque,
                               bar->sizes, bar->aligned, dev->name);
        if (ret) {
            LOG_RATELIMITED(LOG_LEVEL_WARN,
                            "%s: BAR%u at 0x%llx overlaps another region, left unmapped (%d)",
                            dev->name, i, (unsigned long long)addr, ret);
            continue;
        }
        bar->mapped = true;
        bar->mapped_addr = addr;
        pci_bar_notify(dev, i, true, addr);
    }
}

void pci_host_config_changed_locked(struct pci_host *h)
{
    pci_host_for_each_function(h, pci_unmap_stale, NULL);
    pci_host_for_each_function(h, pci_map_missing, NULL);
}

/* --- configuration access --- */

static void pci_host_config_access(struct pci_host *h, uint8_t bus, uint8_t devfn, unsigned reg,
                                   void *data, unsigned size, bool is_write)
{
    struct pci_device *d = pci_host_route(h, bus, devfn);
    if (!d) {
        /* master abort: reads all-ones, writes dropped */
        if (!is_write)
            memset(data, 0xff, size);
        return;
    }
    if (is_write)
        pci_config_write(d, reg, data, size);
    else
        pci_config_read(d, reg, data, size);
}

static void pci_ecam_access(struct pci_host *h, uint64_t off, void *data, unsigned size,
                            bool is_write)
{
    uint8_t bus = (uint8_t)(off >> PCI_ECAM_BUS_SHIFT);
    uint8_t devfn = (uint8_t)(off >> PCI_ECAM_DEVFN_SHIFT);
    unsigned reg = (unsigned)(off & PCI_ECAM_REG_MASK);
    pthread_mutex_lock(&h->lock);
    if (size > PCI_CONFIG_ACCESS_MAX) {
        /* a naturally aligned 8-byte access is split into two dwords */
        uint8_t *p = data;
        pci_host_config_access(h, bus, devfn, reg, p, PCI_CONFIG_ACCESS_MAX, is_write);
        pci_host_config_access(h, bus, devfn, reg + PCI_CONFIG_ACCESS_MAX,
                               p + PCI_CONFIG_ACCESS_MAX, PCI_CONFIG_ACCESS_MAX, is_write);
    } else {
        pci_host_config_access(h, bus, devfn, reg, data, size, is_write);
    }
    pthread_mutex_unlock(&h->lock);
}

static void pci_ecam_read(void *opaque, uint64_t off, void *data, unsigned size)
{
    pci_ecam_access(opaque, off, data, size, false);
}

static void pci_ecam_write(void *opaque, uint64_t off, const void *data, unsigned size)
{
    pci_ecam_access(opaque, off, (void *)data, size, true);
}

static const struct bus_ops pci_ecam_ops = {.read = pci_ecam_read, .write = pci_ecam_write};

/* 0xCF8: only a dword access at 0xCF8 is the address latch; byte/word
 * accesses (Linux probes 0xCFB) read all-ones and are dropped. */
static void pci_conf1_addr_read(void *opaque, uint64_t off, void *data, unsigned size)
{
    struct pci_host *h = opaque;
    if (off != 0 || size != sizeof(uint32_t)) {
        memset(data, 0xff, size);
        return;
    }
    pthread_mutex_lock(&h->lock);
    uint32_t v = h->conf1_addr;
    pthread_mutex_unlock(&h->lock);
    memcpy(data, &v, sizeof(v));
}

static void pci_conf1_addr_write(void *opaque, uint64_t off, const void *data, unsigned size)
{
    struct pci_host *h = opaque;
    if (off != 0 || size != sizeof(uint32_t)) {
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "ignored %u-byte write to port 0x%llx", size,
                        (unsigned long long)(LAYOUT_PORT_PCI_CONFIG_ADDR + off));
        return;
    }
    uint32_t v;
    memcpy(&v, data, sizeof(v));
    pthread_mutex_lock(&h->lock);
    h->conf1_addr = v & PCI_CONF1_ADDR_WRITABLE;
    pthread_mutex_unlock(&h->lock);
}

static const struct bus_ops pci_conf1_addr_ops = {
    .read = pci_conf1_addr_read, .write = pci_conf1_addr_write,
};

static void pci_conf1_data_access(struct pci_host *h, uint64_t off, void *data, unsigned size,
                                  bool is_write)
{
    pthread_mutex_lock(&h->lock);
    uint32_t a = h->conf1_addr;
    if (a & PCI_CONF1_ENABLE) {
        pci_host_config_access(h, (uint8_t)(a >> PCI_CONF1_BUS_SHIFT),
                               (uint8_t)(a >> PCI_CONF1_DEVFN_SHIFT),
                               (a & PCI_CONF1_REG_MASK) + (unsigned)off, data, size, is_write);
    } else if (!is_write) {
        memset(data, 0xff, size);
    }
    pthread_mutex_unlock(&h->lock);
}

static void pci_conf1_data_read(void *opaque, uint64_t off, void *data, unsigned size)
{
    pci_conf1_data_access(opaque, off, data, size, false);
}

static void pci_conf1_data_write(void *opaque, uint64_t off, const void *data, unsigned size)
{
    pci_conf1_data_access(opaque, off, (void *)data, size, true);
}

static const struct bus_ops pci_conf1_data_ops = {
    .read = pci_conf1_data_read, .write = pci_conf1_data_write,
};

/* --- create / attach / destroy --- */

static bool pci_host_config_valid(const struct pci_host_config *c)
{
    if (!c->pio || !c->mmio || c->ecam_buses == 0 || c->ecam_buses > PCI_ECAM_MAX_BUSES ||
        (c->ecam_base & (PCI_ECAM_BUS_SIZE - 1)))
        return false;
    if (c->io_base + c->io_size > PCI_BRIDGE_IO_MAX + 1 || c->io_base + c->io_size < c->io_base)
        return false;
    if (c->mmio32_base + c->mmio32_size < c->mmio32_base ||
        c->mmio32_base + c->mmio32_size > LAYOUT_RAM_HIGH_START)
        return false;
    return c->mmio64_size == 0 || c->mmio64_base + (c->mmio64_size - 1) >= c->mmio64_base;
}

static void pci_host_unregister_config(struct pci_host *h)
{
    if (h->conf1_data_registered)
        bus_unregister(h->cfg.pio, LAYOUT_PORT_PCI_CONFIG_DATA);
    if (h->conf1_addr_registered)
        bus_unregister(h->cfg.pio, LAYOUT_PORT_PCI_CONFIG_ADDR);
    if (h->ecam_registered)
        bus_unregister(h->cfg.mmio, h->cfg.ecam_base);
    h->conf1_data_registered = h->conf1_addr_registered = h->ecam_registered = false;
}

static int pci_host_register_config(struct pci_host *h)
{
    int ret = bus_register(h->cfg.mmio, h->cfg.ecam_base,
                           (uint64_t)h->cfg.ecam_buses << PCI_ECAM_BUS_SHIFT, &pci_ecam_ops, h,
                           BUS_SIZE_ANY, true, "pci-ecam");
    if (ret)
        return ret;
    h->ecam_registered = true;
    ret = bus_register(h->cfg.pio, LAYOUT_PORT_PCI_CONFIG_ADDR, PCI_CONF1_PORT_LEN,
                       &pci_conf1_addr_ops, h, BUS_SIZE_1 | BUS_SIZE_2 | BUS_SIZE_4, false,
                       "pci-conf1-addr");
    if (ret)
        goto unregister;
    h->conf1_addr_registered = true;
    ret = bus_register(h->cfg.pio, LAYOUT_PORT_PCI_CONFIG_DATA, PCI_CONF1_PORT_LEN,
                       &pci_conf1_data_ops, h, BUS_SIZE_1 | BUS_SIZE_2 | BUS_SIZE_4, true,
                       "pci-conf1-data");
    if (ret)
        goto unregister;
    h->conf1_data_registered = true;
    return 0;
unregister:
    pci_host_unregister_config(h);
    return ret;
}

int pci_host_create(const struct pci_host_config *cfg, struct pci_host **out)
{
    if (!cfg || !out || !pci_host_config_valid(cfg))
        return -EINVAL;
    struct pci_host *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->cfg = *cfg;
    int ret = -pthread_mutex_init(&h->lock, NULL);
    if (ret)
        goto free_host;
    pci_device_init(&h->hostbridge, "q35-mch", PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_Q35_MCH,
                    PCI_CLASS_CODE_HOST_BRIDGE, 0, true, NULL, NULL);
    h->hostbridge.host = h;
    h->bus0[0] = &h->hostbridge;
    ret = pci_host_register_config(h);
    if (ret)
        goto destroy_lock;
    *out = h;
    return 0;
destroy_lock:
    pthread_mutex_destroy(&h->lock);
free_host:
    free(h);
    return ret;
}

/* Keep the multi-function bit of function 0 in step with its siblings. */
static void pci_update_multifunction(struct pci_device **slot_fns)
{
    if (!slot_fns[0])
        return;
    bool others = false;
    for (unsigned fn = 1; fn < PCI_FUNCS_PER_SLOT; fn++)
        others |= slot_fns[fn] != NULL;
    uint8_t ht = pci_cfg_get8(slot_fns[0], PCI_HEADER_TYPE);
    ht = others ? (uint8_t)(ht | PCI_HEADER_TYPE_MULTI_FUNCTION)
                : (uint8_t)(ht & ~PCI_HEADER_TYPE_MULTI_FUNCTION);
    pci_cfg_set8(slot_fns[0], PCI_HEADER_TYPE, ht);
}

static int pci_host_attach_locked(struct pci_host *h, struct pci_bridge *parent, uint8_t devfn,
                                  struct pci_device *dev)
{
    if (dev->host || (parent && parent->dev.host != h))
        return -EINVAL;
    struct pci_device **table = parent ? parent->children : h->bus0;
    if (parent && PCI_DEVFN_SLOT(devfn) != 0)
        return -EINVAL;
    if (table[devfn])
        return -EEXIST;
    table[devfn] = dev;
    dev->host = h;
    dev->parent = parent;
    dev->devfn = devfn;
    pci_update_multifunction(&table[devfn & ~(PCI_FUNCS_PER_SLOT - 1u)]);
    if (parent)
        pci_root_port_set_presence(parent, true);
    /* a function that raised INTx before it was attached reaches its line now */
    pci_cfg_lock();
    if (pci_intx_wire_level_locked(dev))
        pci_host_intx_wire_locked(h, dev, true);
    pci_cfg_unlock();
    return 0;
}

int pci_host_attach(struct pci_host *h, struct pci_bridge *parent, uint8_t devfn,
                    struct pci_device *dev)
{
    pthread_mutex_lock(&h->lock);
    int ret = pci_host_attach_locked(h, parent, devfn, dev);
    if (!ret)
        pci_host_config_changed_locked(h);
    pthread_mutex_unlock(&h->lock);
    return ret;
}

int pci_host_add_root_port(struct pci_host *h, uint8_t devfn, struct pci_bridge **out)
{
    struct pci_bridge *br = calloc(1, sizeof(*br));
    if (!br)
        return -ENOMEM;
    pci_root_port_init(br, devfn);
    pthread_mutex_lock(&h->lock);
    int ret = pci_host_attach_locked(h, NULL, devfn, &br->dev);
    pthread_mutex_unlock(&h->lock);
    if (ret) {
        free(br);
        return ret;
    }
    *out = br;
    return 0;
}

int pci_host_assign_resources(struct pci_host *h)
{
    pthread_mutex_lock(&h->lock);
    int ret = pci_assign_resources_locked(h);
    pci_host_config_changed_locked(h);
    pthread_mutex_unlock(&h->lock);
    return ret;
}

static void pci_detach_function(struct pci_host *h, struct pci_device *dev, void *ctx)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *bar = &dev->bars[i];
        if (bar->mapped)
            bus_unregister(pci_bar_bus(h, bar), bar->mapped_addr);
        bar->mapped = false;
    }
}

void pci_host_destroy(struct pci_host *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    pci_host_unregister_config(h);
    pci_host_for_each_function(h, pci_detach_function, NULL);
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        struct pci_device *d = h->bus0[devfn];
        if (!d || d == &h->hostbridge)
            continue;
        if (d->bridge) {
            for (unsigned fn = 0; fn < PCI_FUNCS_PER_SLOT; fn++) {
                struct pci_device *c = d->bridge->children[fn];
                if (c)
                    c->host = NULL, c->parent = NULL;
            }
            free(d->bridge);
        } else {
            d->host = NULL;
        }
        h->bus0[devfn] = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
