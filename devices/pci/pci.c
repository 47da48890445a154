/* SPDX-License-Identifier: MIT */
/*
 * Generic PCI function: shadow config space with per-byte writable and
 * write-1-to-clear masks, BAR declaration and sizing, capability lists, INTx
 * and the MSI entry point. See pci.h for the contract.
 */
#define LOG_MODULE "pci"
#include "devices/pci/pci.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "devices/pci/pci_host_internal.h"
#include "vmm/log.h"

/* Leaf lock for guest config reads/merges and INTx (pci_host_internal.h). */
static pthread_mutex_t pci_cfg_mutex = PTHREAD_MUTEX_INITIALIZER;

void pci_cfg_lock(void)
{
    pthread_mutex_lock(&pci_cfg_mutex);
}

void pci_cfg_unlock(void)
{
    pthread_mutex_unlock(&pci_cfg_mutex);
}

#define PCI_STD_CAP_ALIGN 4
#define PCI_CAP_MAX_WALK 48         /* (256 - 64) / 4: a longer walk is a loop */
#define PCI_EXT_CAP_NEXT_SHIFT 20
#define PCI_EXT_CAP_VER_SHIFT 16
#define PCI_EXT_CAP_VER_MAX 0xf
#define PCI_EXT_CAP_START PCI_CFG_SPACE_SIZE
#define PCI_EXT_CAP_HEADER_LEN 4
#define PCI_CAP_HEADER_LEN 2        /* id, next */
#define PCI_BAR_IO_MIN 4ULL
#define PCI_BAR_IO_MAX 256ULL       /* PCI 3.0 6.2.5.1: at most 256 bytes of IO */
#define PCI_BAR_MEM_MIN 4096ULL
#define PCI_BAR_MEM32_MAX (2ULL * LAYOUT_GiB)
#define PCI_BAR_IO_ADDR_MASK 0xfffcu /* 16-bit IO decode: upper half reads zero */

/* Command bits the guest may set on every function. */
#define PCI_COMMAND_WRITABLE                                                             \
    (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |     \
     PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
/* Status error bits (write 1 to clear). */
#define PCI_STATUS_ERRORS                                                                \
    (PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_TARGET_ABORT |     \
     PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

/* --- shadow accessors (setup path, no lock) --- */

uint8_t pci_cfg_get8(const struct pci_device *dev, unsigned off)
{
    return dev->cfg[off];
}

uint16_t pci_cfg_get16(const struct pci_device *dev, unsigned off)
{
    return (uint16_t)(dev->cfg[off] | dev->cfg[off + 1] << 8);
}

uint32_t pci_cfg_get32(const struct pci_device *dev, unsigned off)
{
    return (uint32_t)pci_cfg_get16(dev, off) | (uint32_t)pci_cfg_get16(dev, off + 2) << 16;
}

static void put_le(uint8_t *p, uint64_t val, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(val >> (8 * i));
}

void pci_cfg_set8(struct pci_device *dev, unsigned off, uint8_t val)
{
    dev->cfg[off] = val;
}

void pci_cfg_set16(struct pci_device *dev, unsigned off, uint16_t val)
{
    put_le(&dev->cfg[off], val, 2);
}

void pci_cfg_set32(struct pci_device *dev, unsigned off, uint32_t val)
{
    put_le(&dev->cfg[off], val, 4);
}

void pci_cfg_set_wmask16(struct pci_device *dev, unsigned off, uint16_t mask)
{
    put_le(&dev->wmask[off], mask, 2);
}

void pci_cfg_set_wmask32(struct pci_device *dev, unsigned off, uint32_t mask)
{
    put_le(&dev->wmask[off], mask, 4);
}

void pci_cfg_set_w1cmask16(struct pci_device *dev, unsigned off, uint16_t mask)
{
    put_le(&dev->w1cmask[off], mask, 2);
}

static unsigned pci_cfg_size(const struct pci_device *dev)
{
    return dev->pcie ? PCI_CFG_SIZE_EXP : PCI_CFG_SIZE;
}

static bool pci_is_bridge_header(const struct pci_device *dev)
{
    return (dev->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE;
}

/* Runtime byte reads of registers other threads may merge concurrently. */
static uint8_t pci_cfg_load8(const struct pci_device *dev, unsigned off)
{
    return __atomic_load_n(&dev->cfg[off], __ATOMIC_RELAXED);
}

static uint16_t pci_cfg_load16(const struct pci_device *dev, unsigned off)
{
    return (uint16_t)(pci_cfg_load8(dev, off) | pci_cfg_load8(dev, off + 1) << 8);
}

/* --- init --- */

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor_id,
                     uint16_t device_id, uint32_t class_code, uint8_t revision, bool pcie,
                     const struct pci_device_ops *ops, void *opaque)
{
    memset(dev, 0, sizeof(*dev));
    dev->name = name;
    dev->pcie = pcie;
    dev->ops = ops;
    dev->opaque = opaque;
    dev->cap_free = PCI_STD_HEADER_SIZEOF;
    dev->ext_cap_free = PCI_EXT_CAP_START;

    pci_cfg_set16(dev, PCI_VENDOR_ID, vendor_id);
    pci_cfg_set16(dev, PCI_DEVICE_ID, device_id);
    pci_cfg_set8(dev, PCI_REVISION_ID, revision);
    put_le(&dev->cfg[PCI_CLASS_PROG], class_code, 3);
    pci_cfg_set8(dev, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL);
    pci_cfg_set_wmask16(dev, PCI_COMMAND, PCI_COMMAND_WRITABLE);
    pci_cfg_set_w1cmask16(dev, PCI_STATUS, PCI_STATUS_ERRORS);
    dev->wmask[PCI_INTERRUPT_LINE] = UINT8_MAX;
    dev->wmask[PCI_CACHE_LINE_SIZE] = UINT8_MAX;
}

void pci_set_subsystem(struct pci_device *dev, uint16_t vendor_id, uint16_t id)
{
    pci_cfg_set16(dev, PCI_SUBSYSTEM_VENDOR_ID, vendor_id);
    pci_cfg_set16(dev, PCI_SUBSYSTEM_ID, id);
}

void pci_set_intx_pin(struct pci_device *dev, uint8_t pin)
{
    pci_cfg_set8(dev, PCI_INTERRUPT_PIN, pin <= LAYOUT_PCI_INTX_PINS ? pin : 0);
}

/* --- BARs --- */

static unsigned pci_num_bars(const struct pci_device *dev)
{
    /* a type-1 header has BAR0/BAR1 only */
    return pci_is_bridge_header(dev) ? 2 : PCI_NUM_BARS;
}

static bool pci_bar_slot_free(const struct pci_device *dev, unsigned idx)
{
    return idx < pci_num_bars(dev) && dev->bars[idx].type == PCI_BAR_UNUSED &&
           !pci_bar_is_upper_half(dev, idx);
}

static bool pci_bar_size_valid(enum pci_bar_type type, bool prefetchable, uint64_t size)
{
    if (size == 0 || (size & (size - 1)))
        return false;
    switch (type) {
    case PCI_BAR_IO:
        return !prefetchable && size >= PCI_BAR_IO_MIN && size <= PCI_BAR_IO_MAX;
    case PCI_BAR_MEM32:
        return size >= PCI_BAR_MEM_MIN && size <= PCI_BAR_MEM32_MAX;
    case PCI_BAR_MEM64:
        return size >= PCI_BAR_MEM_MIN;
    default:
        return false;
    }
}

int pci_declare_bar(struct pci_device *dev, unsigned idx, enum pci_bar_type type,
                    bool prefetchable, uint64_t size, const struct bus_ops *ops, void *opaque,
                    unsigned sizes, bool aligned)
{
    if (!pci_bar_slot_free(dev, idx) || !pci_bar_size_valid(type, prefetchable, size) || !ops ||
        !ops->read || !ops->write || !(sizes & BUS_SIZE_ANY))
        return -EINVAL;
    if (type == PCI_BAR_MEM64 && !pci_bar_slot_free(dev, idx + 1))
        return -EINVAL;

    dev->bars[idx] = (struct pci_bar){
        .type = type, .prefetchable = prefetchable, .size = size, .ops = ops,
        .opaque = opaque, .sizes = sizes, .aligned = aligned,
    };
    unsigned reg = PCI_BAR_REG(idx);
    uint64_t addr_mask = ~(size - 1);
    switch (type) {
    case PCI_BAR_IO:
        pci_cfg_set32(dev, reg, PCI_BASE_ADDRESS_SPACE_IO);
        pci_cfg_set_wmask32(dev, reg, (uint32_t)addr_mask & PCI_BAR_IO_ADDR_MASK);
        break;
    case PCI_BAR_MEM32:
    case PCI_BAR_MEM64: {
        uint32_t flags = PCI_BASE_ADDRESS_SPACE_MEMORY |
                         (type == PCI_BAR_MEM64 ? PCI_BASE_ADDRESS_MEM_TYPE_64
                                                : PCI_BASE_ADDRESS_MEM_TYPE_32) |
                         (prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
        pci_cfg_set32(dev, reg, flags);
        pci_cfg_set_wmask32(dev, reg, (uint32_t)(addr_mask & PCI_BASE_ADDRESS_MEM_MASK));
        if (type == PCI_BAR_MEM64) {
            pci_cfg_set32(dev, reg + 4, 0);
            pci_cfg_set_wmask32(dev, reg + 4, (uint32_t)(addr_mask >> 32));
        }
        break;
    }
    default:
        break;
    }
    return 0;
}

uint64_t pci_bar_address(const struct pci_device *dev, unsigned idx)
{
    if (idx >= PCI_NUM_BARS)
        return 0;
    unsigned reg = PCI_BAR_REG(idx);
    uint32_t lo = (uint32_t)pci_cfg_load16(dev, reg) | (uint32_t)pci_cfg_load16(dev, reg + 2) << 16;
    switch (dev->bars[idx].type) {
    case PCI_BAR_IO:
        return lo & PCI_BASE_ADDRESS_IO_MASK;
    case PCI_BAR_MEM32:
        return lo & PCI_BASE_ADDRESS_MEM_MASK;
    case PCI_BAR_MEM64: {
        uint32_t hi = (uint32_t)pci_cfg_load16(dev, reg + 4) |
                      (uint32_t)pci_cfg_load16(dev, reg + 6) << 16;
        return (lo & PCI_BASE_ADDRESS_MEM_MASK) | (uint64_t)hi << 32;
    }
    default:
        return 0;
    }
}

bool pci_bar_decode_enabled(const struct pci_device *dev, unsigned idx)
{
    if (idx >= PCI_NUM_BARS || dev->bars[idx].type == PCI_BAR_UNUSED)
        return false;
    uint16_t cmd = pci_cfg_load16(dev, PCI_COMMAND);
    return dev->bars[idx].type == PCI_BAR_IO ? (cmd & PCI_COMMAND_IO) : (cmd & PCI_COMMAND_MEMORY);
}

/* --- capabilities --- */

static void pci_cfg_clear_range(struct pci_device *dev, unsigned off, unsigned len)
{
    memset(&dev->cfg[off], 0, len);
    memset(&dev->wmask[off], 0, len);
    memset(&dev->w1cmask[off], 0, len);
}

int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned len)
{
    unsigned off = (dev->cap_free + PCI_STD_CAP_ALIGN - 1) & ~(PCI_STD_CAP_ALIGN - 1u);
    if (len < PCI_CAP_HEADER_LEN || off + len > PCI_CFG_SIZE)
        return -ENOSPC;
    pci_cfg_clear_range(dev, off, len);
    dev->cfg[off + PCI_CAP_LIST_ID] = id;
    dev->cfg[off + PCI_CAP_LIST_NEXT] = 0;
    if (dev->cap_last)
        dev->cfg[dev->cap_last + PCI_CAP_LIST_NEXT] = (uint8_t)off;
    else
        dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
    pci_cfg_set16(dev, PCI_STATUS, pci_cfg_get16(dev, PCI_STATUS) | PCI_STATUS_CAP_LIST);
    dev->cap_last = (uint8_t)off;
    /* cap_free is a byte: a list ending at 256 saturates to 0xff, which still
     * makes the next add fail */
    unsigned end = off + len;
    dev->cap_free = (uint8_t)(end > UINT8_MAX ? UINT8_MAX : end);
    return (int)off;
}

int pci_add_ext_capability(struct pci_device *dev, uint16_t id, uint8_t version, unsigned len)
{
    if (!dev->pcie || version > PCI_EXT_CAP_VER_MAX || len < PCI_EXT_CAP_HEADER_LEN)
        return -EINVAL;
    unsigned off = (dev->ext_cap_free + PCI_STD_CAP_ALIGN - 1) & ~(PCI_STD_CAP_ALIGN - 1u);
    if (off + len > PCI_CFG_SIZE_EXP)
        return -ENOSPC;
    pci_cfg_clear_range(dev, off, len);
    pci_cfg_set32(dev, off, (uint32_t)id | (uint32_t)version << PCI_EXT_CAP_VER_SHIFT);
    if (dev->ext_cap_last) {
        uint32_t prev = pci_cfg_get32(dev, dev->ext_cap_last);
        prev = (prev & ((1u << PCI_EXT_CAP_NEXT_SHIFT) - 1)) | (uint32_t)off << PCI_EXT_CAP_NEXT_SHIFT;
        pci_cfg_set32(dev, dev->ext_cap_last, prev);
    }
    dev->ext_cap_last = (uint16_t)off;
    dev->ext_cap_free = (uint16_t)(off + len);
    return (int)off;
}

unsigned pci_find_capability(const struct pci_device *dev, uint8_t id)
{
    if (!(pci_cfg_get16(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    unsigned off = dev->cfg[PCI_CAPABILITY_LIST];
    for (unsigned n = 0; n < PCI_CAP_MAX_WALK && off >= PCI_STD_HEADER_SIZEOF; n++) {
        off &= ~(PCI_STD_CAP_ALIGN - 1u);
        if (dev->cfg[off + PCI_CAP_LIST_ID] == id)
            return off;
        off = dev->cfg[off + PCI_CAP_LIST_NEXT];
    }
    return 0;
}

/* --- guest config path --- */

static bool pci_access_valid(const struct pci_device *dev, unsigned off, unsigned size)
{
    if (size != 1 && size != 2 && size != 4)
        return false;
    return (off & (size - 1)) == 0 && off + size <= pci_cfg_size(dev);
}

void pci_config_read(struct pci_device *dev, unsigned off, void *data, unsigned size)
{
    if (!pci_access_valid(dev, off, size)) {
        memset(data, 0xff, size <= 4 ? size : 4);
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "%s: config read of %u bytes at 0x%x dropped",
                        dev->name, size, off);
        return;
    }
    if (dev->ops && dev->ops->config_read && dev->ops->config_read(dev, off, data, size))
        return;
    pci_cfg_lock();
    memcpy(data, &dev->cfg[off], size);
    pci_cfg_unlock();
}

bool pci_intx_wire_level_locked(const struct pci_device *dev)
{
    return dev->intx_asserted && dev->cfg[PCI_INTERRUPT_PIN] != 0 &&
           !(pci_cfg_get16(dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
}

/* The generic merge (pci.h), byte by byte; INTx follows Interrupt Disable. */
static void pci_config_merge(struct pci_device *dev, unsigned off, const uint8_t *val,
                             unsigned size)
{
    pci_cfg_lock();
    bool old_wire = pci_intx_wire_level_locked(dev);
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        uint8_t v = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) | (val[i] & dev->wmask[o]));
        v &= (uint8_t)~(val[i] & dev->w1cmask[o]);
        __atomic_store_n(&dev->cfg[o], v, __ATOMIC_RELAXED);
    }
    bool new_wire = pci_intx_wire_level_locked(dev);
    if (old_wire != new_wire && dev->host)
        pci_host_intx_wire_locked(dev->host, dev, new_wire);
    pci_cfg_unlock();
}

static bool ranges_overlap(unsigned off, unsigned size, unsigned start, unsigned end)
{
    return off < end && off + size > start;
}

/* Does a write of [off, off + size) change what the host places? */
static bool pci_write_affects_placement(const struct pci_device *dev, unsigned off, unsigned size)
{
    if (ranges_overlap(off, size, PCI_COMMAND, PCI_COMMAND + 2))
        return true;
    if (ranges_overlap(off, size, PCI_BASE_ADDRESS_0, PCI_BAR_REG(pci_num_bars(dev))))
        return true;
    if (!pci_is_bridge_header(dev))
        return false;
    return ranges_overlap(off, size, PCI_PRIMARY_BUS, PCI_SEC_LATENCY_TIMER) ||
           ranges_overlap(off, size, PCI_IO_BASE, PCI_SEC_STATUS) ||
           ranges_overlap(off, size, PCI_MEMORY_BASE, PCI_CAPABILITY_LIST) ||
           ranges_overlap(off, size, PCI_BRIDGE_CONTROL, PCI_BRIDGE_CONTROL + 2);
}

void pci_config_write(struct pci_device *dev, unsigned off, const void *data, unsigned size)
{
    if (!pci_access_valid(dev, off, size)) {
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "%s: config write of %u bytes at 0x%x dropped",
                        dev->name, size, off);
        return;
    }
    pci_config_merge(dev, off, data, size);
    if (dev->host && pci_write_affects_placement(dev, off, size))
        pci_host_config_changed_locked(dev->host);
    if (dev->ops && dev->ops->config_written)
        dev->ops->config_written(dev, off, size);
}

/* --- requester id, bus mastering, interrupts --- */

uint16_t pci_requester_id(const struct pci_device *dev)
{
    uint8_t bus = dev->parent ? pci_cfg_load8(&dev->parent->dev, PCI_SECONDARY_BUS) : 0;
    return PCI_RID_MAKE(bus, dev->devfn);
}

bool pci_bus_master(const struct pci_device *dev)
{
    /* a bridge without bus mastering does not forward upstream requests */
    for (const struct pci_device *d = dev; d; d = d->parent ? &d->parent->dev : NULL) {
        if (!(pci_cfg_load16(d, PCI_COMMAND) & PCI_COMMAND_MASTER))
            return false;
    }
    return true;
}

int pci_send_msi(struct pci_device *dev, uint64_t addr, uint32_t data)
{
    const struct msi_sink *sink = dev->host ? pci_host_sink(dev->host) : NULL;
    if (!sink || !sink->send_msi)
        return -ENODEV;
    return sink->send_msi(sink->opaque, pci_requester_id(dev), addr, data);
}

void pci_set_intx(struct pci_device *dev, bool level)
{
    if (dev->cfg[PCI_INTERRUPT_PIN] == 0)
        return;
    pci_cfg_lock();
    bool old_wire = pci_intx_wire_level_locked(dev);
    dev->intx_asserted = level;
    uint8_t status = dev->cfg[PCI_STATUS];
    status = level ? (uint8_t)(status | PCI_STATUS_INTERRUPT)
                   : (uint8_t)(status & ~PCI_STATUS_INTERRUPT);
    __atomic_store_n(&dev->cfg[PCI_STATUS], status, __ATOMIC_RELAXED);
    bool new_wire = pci_intx_wire_level_locked(dev);
    if (old_wire != new_wire && dev->host)
        pci_host_intx_wire_locked(dev->host, dev, new_wire);
    pci_cfg_unlock();
}
