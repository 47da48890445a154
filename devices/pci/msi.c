/* SPDX-License-Identifier: MIT */
/*
 * MSI (PCI Local Bus spec 3.0 6.8.1). All registers live in the config
 * shadow; pci.c merges guest writes through the masks set here (Enable and
 * Multiple Message Enable, address, data and mask bits writable; capability
 * bits and pending bits read-only). msi_refresh() recomputes which vectors
 * are deliverable after every write to the capability, reports changes to
 * the owner and delivers pending vectors that became deliverable.
 *
 * Locking: m->lock guards was_deliverable and the pending bits. Guest
 * writes merge under the host config lock and then call
 * pci_msi_config_written(), which refreshes under m->lock, so the final
 * state always matches what the guest wrote even when a notify raced it.
 */
#define LOG_MODULE "msi"
#include "devices/pci/msi.h"

#include <errno.h>
#include <string.h>

#include "devices/bits.h"
#include "vmm/log.h"

#define MSI_ADDR_LO_MASK ((uint32_t)GENMASK(31, 2)) /* bits 1:0 are zero */
#define MSI_DATA_MASK 0xffffu                         /* 16-bit message data */
#define MSI_DWORD_BITS 32u

static unsigned msi_data_off(const struct pci_msi *m)
{
    return m->cap + (m->addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
}

static unsigned msi_mask_off(const struct pci_msi *m)
{
    return m->cap + (m->addr64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned msi_pending_off(const struct pci_msi *m)
{
    return m->cap + (m->addr64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
}

/* Capability length: up to the data register, or through the pending bits. */
static unsigned msi_cap_len(bool addr64, bool per_vector_mask)
{
    if (per_vector_mask)
        return (addr64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32) + sizeof(uint32_t);
    return (addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32) + sizeof(uint16_t);
}

static uint32_t msi_vec_bits(unsigned nvec)
{
    return nvec >= MSI_DWORD_BITS ? UINT32_MAX : (uint32_t)(BIT(nvec) - 1);
}

/* ---- state (m->lock or the host config lock held) ------------------------------ */

/* Vectors the guest enabled (0 when MSI is off). A Multiple Message Enable
 * above Multiple Message Capable is undefined; treat it as the capable count. */
static unsigned msi_enabled_count(const struct pci_msi *m)
{
    uint16_t ctrl = pci_cfg_get16(m->dev, m->cap + PCI_MSI_FLAGS);
    if (!(ctrl & PCI_MSI_FLAGS_ENABLE))
        return 0;
    unsigned mme = (unsigned)FIELD_GET(PCI_MSI_FLAGS_QSIZE, ctrl);
    unsigned mmc = (unsigned)FIELD_GET(PCI_MSI_FLAGS_QMASK, ctrl);
    return 1u << (mme > mmc ? mmc : mme);
}

static uint64_t msi_addr(const struct pci_msi *m)
{
    uint64_t addr = pci_cfg_get32(m->dev, m->cap + PCI_MSI_ADDRESS_LO);
    if (m->addr64)
        addr |= (uint64_t)pci_cfg_get32(m->dev, m->cap + PCI_MSI_ADDRESS_HI) << MSI_DWORD_BITS;
    return addr;
}

/* Vector `vec` of `count` enabled sends the data with its low log2(count)
 * bits replaced by vec. */
static uint32_t msi_vec_data(const struct pci_msi *m, unsigned vec, unsigned count)
{
    uint32_t data = pci_cfg_get16(m->dev, msi_data_off(m));
    return (data & ~(count - 1)) | vec;
}

static bool msi_vec_masked(const struct pci_msi *m, unsigned vec)
{
    return m->per_vector_mask && (pci_cfg_get32(m->dev, msi_mask_off(m)) & BIT(vec));
}

static bool msi_pending(const struct pci_msi *m, unsigned vec)
{
    return m->per_vector_mask && (pci_cfg_get32(m->dev, msi_pending_off(m)) & BIT(vec));
}

static void msi_set_pending(struct pci_msi *m, unsigned vec, bool pending)
{
    uint32_t bits = pci_cfg_get32(m->dev, msi_pending_off(m));
    bits = pending ? bits | (uint32_t)BIT(vec) : bits & ~(uint32_t)BIT(vec);
    pci_cfg_set32(m->dev, msi_pending_off(m), bits);
}

static void msi_deliver(struct pci_msi *m, unsigned vec)
{
    if (!pci_bus_master(m->dev)) {
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "%s: vector %u dropped: bus mastering is off",
                        m->dev->name, vec);
        return;
    }
    m->ops->fire(m->opaque, vec);
}

static void msi_refresh(struct pci_msi *m, bool msg_changed)
{
    unsigned count = msi_enabled_count(m);
    uint64_t addr = msi_addr(m);
    for (unsigned vec = 0; vec < m->nvec; vec++) {
        bool deliverable = vec < count && !msi_vec_masked(m, vec);
        bool was = m->was_deliverable & BIT(vec);
        if (deliverable != was || (deliverable && msg_changed)) {
            m->was_deliverable = deliverable ? m->was_deliverable | (uint32_t)BIT(vec)
                                             : m->was_deliverable & ~(uint32_t)BIT(vec);
            if (m->ops->vector_update)
                m->ops->vector_update(m->opaque, vec, deliverable, addr,
                                      deliverable ? msi_vec_data(m, vec, count) : 0);
        }
        if (deliverable && msi_pending(m, vec)) {
            msi_set_pending(m, vec, false);
            msi_deliver(m, vec);
        }
    }
}

/* ---- setup --------------------------------------------------------------------- */

/* Common setup; at < 0: append a capability, else take over the one there. */
static int msi_setup(struct pci_msi *m, struct pci_device *dev, int at, unsigned nvec,
                     bool addr64, bool per_vector_mask, const struct pci_msix_ops *ops,
                     void *opaque)
{
    memset(m, 0, sizeof(*m));
    unsigned len = msi_cap_len(addr64, per_vector_mask);
    if (!dev || !ops || !ops->fire || nvec == 0 || nvec > PCI_MSI_MAX_VECTORS ||
        (nvec & (nvec - 1)))
        return -EINVAL;
    if (at >= 0 && (at < PCI_STD_HEADER_SIZEOF || at + len > PCI_CFG_SIZE ||
                    dev->cfg[at + PCI_CAP_LIST_ID] != PCI_CAP_ID_MSI))
        return -EINVAL;
    int ret = -pthread_mutex_init(&m->lock, NULL);
    if (ret)
        return ret;
    int cap = at;
    if (cap < 0) {
        cap = pci_add_capability(dev, PCI_CAP_ID_MSI, len);
        if (cap < 0) {
            pthread_mutex_destroy(&m->lock);
            return cap;
        }
    } else {
        /* the body becomes ours: clear it and its masks, keep id/next */
        unsigned body = (unsigned)cap + PCI_MSI_FLAGS;
        memset(&dev->cfg[body], 0, len - PCI_MSI_FLAGS);
        memset(&dev->wmask[body], 0, len - PCI_MSI_FLAGS);
        memset(&dev->w1cmask[body], 0, len - PCI_MSI_FLAGS);
    }

    m->dev = dev;
    m->cap = (unsigned)cap;
    m->nvec = nvec;
    m->addr64 = addr64;
    m->per_vector_mask = per_vector_mask;
    m->ops = ops;
    m->opaque = opaque;

    uint16_t ctrl = (uint16_t)FIELD_PREP(PCI_MSI_FLAGS_QMASK, __builtin_ctz(nvec));
    if (addr64)
        ctrl |= PCI_MSI_FLAGS_64BIT;
    if (per_vector_mask)
        ctrl |= PCI_MSI_FLAGS_MASKBIT;
    pci_cfg_set16(dev, m->cap + PCI_MSI_FLAGS, ctrl);
    pci_cfg_set_wmask16(dev, m->cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    pci_cfg_set_wmask32(dev, m->cap + PCI_MSI_ADDRESS_LO, MSI_ADDR_LO_MASK);
    if (addr64)
        pci_cfg_set_wmask32(dev, m->cap + PCI_MSI_ADDRESS_HI, UINT32_MAX);
    pci_cfg_set_wmask16(dev, msi_data_off(m), MSI_DATA_MASK);
    if (per_vector_mask)
        pci_cfg_set_wmask32(dev, msi_mask_off(m), msi_vec_bits(nvec));
    return 0;
}

int pci_msi_init(struct pci_msi *m, struct pci_device *dev, unsigned nvec, bool addr64,
                 bool per_vector_mask, const struct pci_msix_ops *ops, void *opaque)
{
    return msi_setup(m, dev, -1, nvec, addr64, per_vector_mask, ops, opaque);
}

int pci_msi_init_at(struct pci_msi *m, struct pci_device *dev, unsigned cap, unsigned nvec,
                    bool addr64, bool per_vector_mask, const struct pci_msix_ops *ops,
                    void *opaque)
{
    if (cap > PCI_CFG_SIZE) {
        memset(m, 0, sizeof(*m));
        return -EINVAL;
    }
    return msi_setup(m, dev, (int)cap, nvec, addr64, per_vector_mask, ops, opaque);
}

unsigned pci_msi_enabled_vectors(struct pci_msi *m)
{
    return m->dev ? msi_enabled_count(m) : 0;
}

void pci_msi_destroy(struct pci_msi *m)
{
    if (!m->dev)
        return;
    pthread_mutex_destroy(&m->lock);
    memset(m, 0, sizeof(*m));
}

void pci_msi_config_written(struct pci_msi *m, unsigned off, unsigned size)
{
    if (!m->dev || off >= m->cap + msi_cap_len(m->addr64, m->per_vector_mask) ||
        off + size <= m->cap)
        return;
    /* control (Multiple Message Enable), address and data change messages;
     * the mask and pending registers do not */
    unsigned msg_end = msi_data_off(m) + sizeof(uint16_t);
    bool msg_changed = off < msg_end && off + size > m->cap + PCI_MSI_FLAGS;
    pthread_mutex_lock(&m->lock);
    msi_refresh(m, msg_changed);
    pthread_mutex_unlock(&m->lock);
}

bool pci_msi_enabled(struct pci_msi *m)
{
    return m->dev && (pci_cfg_get16(m->dev, m->cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE);
}

void pci_msi_notify(struct pci_msi *m, unsigned vec)
{
    if (!m->dev || vec >= m->nvec)
        return;
    pthread_mutex_lock(&m->lock);
    if (m->was_deliverable & BIT(vec))
        msi_deliver(m, vec);
    else if (m->per_vector_mask && vec < msi_enabled_count(m))
        msi_set_pending(m, vec, true); /* enabled but masked */
    else
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "%s: vector %u dropped: MSI vector not enabled",
                        m->dev->name, vec);
    pthread_mutex_unlock(&m->lock);
}

void pci_msi_reset(struct pci_msi *m)
{
    if (!m->dev)
        return;
    pthread_mutex_lock(&m->lock);
    uint16_t ctrl = pci_cfg_get16(m->dev, m->cap + PCI_MSI_FLAGS);
    ctrl &= (uint16_t)~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    pci_cfg_set16(m->dev, m->cap + PCI_MSI_FLAGS, ctrl);
    pci_cfg_set32(m->dev, m->cap + PCI_MSI_ADDRESS_LO, 0);
    if (m->addr64)
        pci_cfg_set32(m->dev, m->cap + PCI_MSI_ADDRESS_HI, 0);
    pci_cfg_set16(m->dev, msi_data_off(m), 0);
    if (m->per_vector_mask) {
        pci_cfg_set32(m->dev, msi_mask_off(m), 0);
        pci_cfg_set32(m->dev, msi_pending_off(m), 0);
    }
    msi_refresh(m, false);
    pthread_mutex_unlock(&m->lock);
}
