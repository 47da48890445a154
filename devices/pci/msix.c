/* SPDX-License-Identifier: MIT */
/*
 * MSI-X (PCI Local Bus spec 3.0 6.8.2). The capability's Message Control
 * lives in the config shadow (pci.c merges guest writes through its masks:
 * Enable and Function Mask writable, table size read-only); the vector table
 * and PBA live here. Every state change funnels through msix_refresh(), which
 * reports deliverability/message changes to the owner and flushes pending
 * vectors that became deliverable.
 *
 * Locking: m->lock guards the table, the PBA and was_deliverable. Message
 * Control is read from the shadow under m->lock; a concurrent guest config
 * write merges first and then calls pci_msix_config_written(), which
 * refreshes every vector under the lock, so the final state always matches
 * what the guest wrote.
 */
#define LOG_MODULE "msix"
#include "devices/pci/msix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bits.h"
#include "vmm/log.h"

#define MSIX_PBA_QWORD_BYTES 8u
#define MSIX_PBA_BITS_PER_QWORD 64u
#define MSIX_ENTRY_ADDR_LO_MASK ((uint32_t)GENMASK(31, 2)) /* bits 1:0 read as 0 */
#define MSIX_DWORD_BYTES 4u
#define MSIX_DWORD_BITS 32u

static uint64_t msix_table_bytes(unsigned nvec)
{
    return (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
}

static uint64_t msix_pba_bytes(unsigned nvec)
{
    return (uint64_t)MSIX_PBA_QWORD_BYTES *
           ((nvec + MSIX_PBA_BITS_PER_QWORD - 1) / MSIX_PBA_BITS_PER_QWORD);
}

static bool msix_in(uint64_t off, uint64_t base, uint64_t len)
{
    return off >= base && off - base < len;
}

static int msix_check_layout(const struct pci_device *dev, unsigned nvec, unsigned bar,
                             uint32_t table_off, uint32_t pba_off)
{
    if (nvec == 0 || nvec > PCI_MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS)
        return -EINVAL;
    if ((table_off & PCI_MSIX_TABLE_BIR) || (pba_off & PCI_MSIX_PBA_BIR))
        return -EINVAL; /* low bits hold the BIR: offsets are 8-byte aligned */
    const struct pci_bar *b = &dev->bars[bar];
    if (b->type != PCI_BAR_MEM32 && b->type != PCI_BAR_MEM64)
        return -EINVAL;
    uint64_t tlen = msix_table_bytes(nvec), plen = msix_pba_bytes(nvec);
    if (table_off + tlen > b->size || pba_off + plen > b->size)
        return -EINVAL;
    if (table_off < pba_off + plen && pba_off < table_off + tlen)
        return -EINVAL; /* overlap */
    return 0;
}

/* ---- state (m->lock held) --------------------------------------------------- */

static uint16_t msix_control(const struct pci_msix *m)
{
    return pci_cfg_get16(m->dev, m->cap + PCI_MSIX_FLAGS);
}

static bool msix_function_open(const struct pci_msix *m)
{
    uint16_t ctrl = msix_control(m);
    return (ctrl & PCI_MSIX_FLAGS_ENABLE) && !(ctrl & PCI_MSIX_FLAGS_MASKALL);
}

static bool msix_pending(const struct pci_msix *m, unsigned vec)
{
    return m->pba[vec / MSIX_PBA_BITS_PER_QWORD] & BIT(vec % MSIX_PBA_BITS_PER_QWORD);
}

static void msix_set_pending(struct pci_msix *m, unsigned vec, bool pending)
{
    uint64_t bit = BIT(vec % MSIX_PBA_BITS_PER_QWORD);
    if (pending)
        m->pba[vec / MSIX_PBA_BITS_PER_QWORD] |= bit;
    else
        m->pba[vec / MSIX_PBA_BITS_PER_QWORD] &= ~bit;
}

static void msix_deliver(struct pci_msix *m, unsigned vec)
{
    if (!pci_bus_master(m->dev)) {
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "%s: vector %u dropped: bus mastering is off",
                        m->dev->name, vec);
        return;
    }
    m->ops->fire(m->opaque, vec);
}

/* Report a deliverability change (or a new message of a deliverable vector)
 * and deliver a pending vector that became deliverable. */
static void msix_refresh(struct pci_msix *m, unsigned vec, bool open, bool msg_changed)
{
    const struct pci_msix_entry *e = &m->table[vec];
    bool deliverable = open && !(e->ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
    if (deliverable != m->was_deliverable[vec] || (deliverable && msg_changed)) {
        m->was_deliverable[vec] = deliverable;
        if (m->ops->vector_update)
            m->ops->vector_update(m->opaque, vec, deliverable, e->addr, e->data);
    }
    if (deliverable && msix_pending(m, vec)) {
        msix_set_pending(m, vec, false);
        msix_deliver(m, vec);
    }
}

static void msix_refresh_all(struct pci_msix *m)
{
    bool open = msix_function_open(m);
    for (unsigned vec = 0; vec < m->nvec; vec++)
        msix_refresh(m, vec, open, false);
}

/* ---- setup ------------------------------------------------------------------ */

/* Common setup; `cap` < 0: append a capability, else take over the one at
 * that offset (its id and next pointer are kept). */
static int msix_setup(struct pci_msix *m, struct pci_device *dev, int at, unsigned nvec,
                      unsigned bar, uint32_t table_off, uint32_t pba_off,
                      const struct pci_msix_ops *ops, void *opaque)
{
    memset(m, 0, sizeof(*m));
    if (!dev || !ops || !ops->fire)
        return -EINVAL;
    if (at >= 0 && (at < PCI_STD_HEADER_SIZEOF || at + PCI_CAP_MSIX_SIZEOF > PCI_CFG_SIZE ||
                    dev->cfg[at + PCI_CAP_LIST_ID] != PCI_CAP_ID_MSIX))
        return -EINVAL;
    int ret = msix_check_layout(dev, nvec, bar, table_off, pba_off);
    if (ret)
        return ret;

    m->table = calloc(nvec, sizeof(*m->table));
    m->pba = calloc(msix_pba_bytes(nvec) / MSIX_PBA_QWORD_BYTES, sizeof(*m->pba));
    m->was_deliverable = calloc(nvec, sizeof(*m->was_deliverable));
    ret = -ENOMEM;
    if (!m->table || !m->pba || !m->was_deliverable)
        goto free_arrays;
    ret = -pthread_mutex_init(&m->lock, NULL);
    if (ret)
        goto free_arrays;
    int cap = at;
    if (cap < 0) {
        cap = pci_add_capability(dev, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
        if (cap < 0) {
            ret = cap;
            goto destroy_lock;
        }
    } else {
        /* the body becomes ours: clear it and its masks, keep id/next */
        unsigned body = (unsigned)cap + PCI_CAP_FLAGS;
        unsigned len = PCI_CAP_MSIX_SIZEOF - PCI_CAP_FLAGS;
        memset(&dev->cfg[body], 0, len);
        memset(&dev->wmask[body], 0, len);
        memset(&dev->w1cmask[body], 0, len);
    }

    m->dev = dev;
    m->cap = (unsigned)cap;
    m->nvec = nvec;
    m->bar = bar;
    m->table_off = table_off;
    m->pba_off = pba_off;
    m->ops = ops;
    m->opaque = opaque;
    for (unsigned vec = 0; vec < nvec; vec++)
        m->table[vec].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;

    pci_cfg_set16(dev, m->cap + PCI_MSIX_FLAGS, (uint16_t)(nvec - 1));
    pci_cfg_set_wmask16(dev, m->cap + PCI_MSIX_FLAGS,
                        PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    pci_cfg_set32(dev, m->cap + PCI_MSIX_TABLE, table_off | bar);
    pci_cfg_set32(dev, m->cap + PCI_MSIX_PBA, pba_off | bar);
    return 0;

destroy_lock:
    pthread_mutex_destroy(&m->lock);
free_arrays:
    free(m->table);
    free(m->pba);
    free(m->was_deliverable);
    memset(m, 0, sizeof(*m));
    return ret;
}

int pci_msix_init(struct pci_msix *m, struct pci_device *dev, unsigned nvec, unsigned bar,
                  uint32_t table_off, uint32_t pba_off, const struct pci_msix_ops *ops,
                  void *opaque)
{
    return msix_setup(m, dev, -1, nvec, bar, table_off, pba_off, ops, opaque);
}

int pci_msix_init_at(struct pci_msix *m, struct pci_device *dev, unsigned cap, unsigned nvec,
                     unsigned bar, uint32_t table_off, uint32_t pba_off,
                     const struct pci_msix_ops *ops, void *opaque)
{
    if (cap > PCI_CFG_SIZE) {
        memset(m, 0, sizeof(*m));
        return -EINVAL;
    }
    return msix_setup(m, dev, (int)cap, nvec, bar, table_off, pba_off, ops, opaque);
}

void pci_msix_destroy(struct pci_msix *m)
{
    if (!m->table)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->table);
    free(m->pba);
    free(m->was_deliverable);
    memset(m, 0, sizeof(*m));
}

void pci_msix_config_written(struct pci_msix *m, unsigned off, unsigned size)
{
    unsigned ctrl = m->cap + PCI_MSIX_FLAGS;
    if (!m->table || off >= ctrl + sizeof(uint16_t) || off + size <= ctrl)
        return;
    pthread_mutex_lock(&m->lock);
    msix_refresh_all(m);
    pthread_mutex_unlock(&m->lock);
}

bool pci_msix_enabled(struct pci_msix *m)
{
    return m->table && (msix_control(m) & PCI_MSIX_FLAGS_ENABLE);
}

void pci_msix_notify(struct pci_msix *m, unsigned vec)
{
    if (!m->table || vec >= m->nvec)
        return;
    pthread_mutex_lock(&m->lock);
    if (m->was_deliverable[vec])
        msix_deliver(m, vec);
    else
        msix_set_pending(m, vec, true);
    pthread_mutex_unlock(&m->lock);
}

void pci_msix_reset(struct pci_msix *m)
{
    if (!m->table)
        return;
    pthread_mutex_lock(&m->lock);
    pci_cfg_set16(m->dev, m->cap + PCI_MSIX_FLAGS, (uint16_t)(m->nvec - 1));
    for (unsigned vec = 0; vec < m->nvec; vec++)
        m->table[vec] = (struct pci_msix_entry){ .ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT };
    memset(m->pba, 0, msix_pba_bytes(m->nvec));
    msix_refresh_all(m);
    pthread_mutex_unlock(&m->lock);
}

/* ---- table and PBA accesses --------------------------------------------------- */

static bool msix_access_ok(uint64_t off, unsigned size)
{
    return (size == MSIX_DWORD_BYTES || size == 2 * MSIX_DWORD_BYTES) && !(off & (size - 1));
}

/* `off` relative to the table, dword aligned. */
static uint32_t msix_table_read32(const struct pci_msix *m, uint64_t off)
{
    const struct pci_msix_entry *e = &m->table[off / PCI_MSIX_ENTRY_SIZE];
    switch (off % PCI_MSIX_ENTRY_SIZE) {
    case PCI_MSIX_ENTRY_LOWER_ADDR:
        return (uint32_t)e->addr;
    case PCI_MSIX_ENTRY_UPPER_ADDR:
        return (uint32_t)(e->addr >> MSIX_DWORD_BITS);
    case PCI_MSIX_ENTRY_DATA:
        return e->data;
    default: /* PCI_MSIX_ENTRY_VECTOR_CTRL */
        return e->ctrl;
    }
}

/* Returns whether the message (address/data) changed. */
static bool msix_table_write32(struct pci_msix *m, uint64_t off, uint32_t val)
{
    struct pci_msix_entry *e = &m->table[off / PCI_MSIX_ENTRY_SIZE];
    struct pci_msix_entry old = *e;
    switch (off % PCI_MSIX_ENTRY_SIZE) {
    case PCI_MSIX_ENTRY_LOWER_ADDR:
        e->addr = (e->addr & ~(uint64_t)UINT32_MAX) | (val & MSIX_ENTRY_ADDR_LO_MASK);
        break;
    case PCI_MSIX_ENTRY_UPPER_ADDR:
        e->addr = (uint32_t)e->addr | ((uint64_t)val << MSIX_DWORD_BITS);
        break;
    case PCI_MSIX_ENTRY_DATA:
        e->data = val;
        break;
    default: /* PCI_MSIX_ENTRY_VECTOR_CTRL: other bits reserved */
        e->ctrl = val & PCI_MSIX_ENTRY_CTRL_MASKBIT;
        break;
    }
    return e->addr != old.addr || e->data != old.data;
}

static void msix_table_read(struct pci_msix *m, uint64_t off, void *data, unsigned size)
{
    pthread_mutex_lock(&m->lock);
    for (unsigned i = 0; i < size; i += MSIX_DWORD_BYTES) {
        uint32_t val = msix_table_read32(m, off + i);
        memcpy((uint8_t *)data + i, &val, sizeof(val));
    }
    pthread_mutex_unlock(&m->lock);
}

static void msix_table_write(struct pci_msix *m, uint64_t off, const void *data, unsigned size)
{
    /* an aligned 8-byte access stays inside one entry: apply it whole, then
     * report once */
    bool msg_changed = false;
    pthread_mutex_lock(&m->lock);
    for (unsigned i = 0; i < size; i += MSIX_DWORD_BYTES) {
        uint32_t val;
        memcpy(&val, (const uint8_t *)data + i, sizeof(val));
        msg_changed |= msix_table_write32(m, off + i, val);
    }
    msix_refresh(m, (unsigned)(off / PCI_MSIX_ENTRY_SIZE), msix_function_open(m), msg_changed);
    pthread_mutex_unlock(&m->lock);
}

static void msix_pba_read(struct pci_msix *m, uint64_t off, void *data, unsigned size)
{
    pthread_mutex_lock(&m->lock);
    uint64_t qword = m->pba[off / MSIX_PBA_QWORD_BYTES];
    pthread_mutex_unlock(&m->lock);
    if (size == MSIX_DWORD_BYTES) {
        uint32_t val = (uint32_t)(qword >> (MSIX_DWORD_BITS * ((off % MSIX_PBA_QWORD_BYTES) /
                                                               MSIX_DWORD_BYTES)));
        memcpy(data, &val, sizeof(val));
    } else {
        memcpy(data, &qword, sizeof(qword));
    }
}

bool pci_msix_bar_read(struct pci_msix *m, uint64_t off, void *data, unsigned size)
{
    bool table = msix_in(off, m->table_off, msix_table_bytes(m->nvec));
    bool pba = msix_in(off, m->pba_off, msix_pba_bytes(m->nvec));
    if (!m->table || (!table && !pba))
        return false;
    if (!msix_access_ok(off, size)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: %u-byte read at BAR offset 0x%llx: not a "
                        "naturally aligned 4/8-byte access", m->dev->name, size,
                        (unsigned long long)off);
        memset(data, 0xff, size);
        return true;
    }
    if (table)
        msix_table_read(m, off - m->table_off, data, size);
    else
        msix_pba_read(m, off - m->pba_off, data, size);
    return true;
}

bool pci_msix_bar_write(struct pci_msix *m, uint64_t off, const void *data, unsigned size)
{
    bool table = msix_in(off, m->table_off, msix_table_bytes(m->nvec));
    bool pba = msix_in(off, m->pba_off, msix_pba_bytes(m->nvec));
    if (!m->table || (!table && !pba))
        return false;
    if (!msix_access_ok(off, size)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: %u-byte write at BAR offset 0x%llx dropped: not "
                        "a naturally aligned 4/8-byte access", m->dev->name, size,
                        (unsigned long long)off);
        return true;
    }
    if (pba) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: write to the read-only MSI-X PBA at BAR offset "
                        "0x%llx dropped", m->dev->name, (unsigned long long)off);
        return true;
    }
    msix_table_write(m, off - m->table_off, data, size);
    return true;
}
