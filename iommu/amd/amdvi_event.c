/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi event log (spec 2.5) and the IOMMU's interrupt.
 *
 * Events are 16-byte entries written at the tail (guest-physical, through
 * the IOMMU's own untranslated access), the tail advancing with wrap. A full
 * log (tail + 16 == head) drops the event, sets EventOverflow and stops the
 * log (EventLogRun = 0) until software restarts it, as Linux expects
 * (amd_iommu_restart_event_logging). Each logged event sets EventLogInt;
 * the MSI is raised when EventLogInt (or ComWaitInt) goes 0 -> 1 while its
 * enable bit is set in Control.
 */
#define LOG_MODULE "amdvi"
#include <endian.h>
#include <errno.h>
#include <time.h>

#include "iommu/amd/amdvi_internal.h"
#include "vmm/log.h"

static const char *const amdvi_event_names[] = {
    [AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY] = "ILLEGAL_DEV_TABLE_ENTRY",
    [AMDVI_EVT_IO_PAGE_FAULT] = "IO_PAGE_FAULT",
    [AMDVI_EVT_DEV_TAB_HARDWARE_ERROR] = "DEV_TAB_HARDWARE_ERROR",
    [AMDVI_EVT_PAGE_TAB_HARDWARE_ERROR] = "PAGE_TAB_HARDWARE_ERROR",
    [AMDVI_EVT_ILLEGAL_COMMAND_ERROR] = "ILLEGAL_COMMAND_ERROR",
    [AMDVI_EVT_COMMAND_HARDWARE_ERROR] = "COMMAND_HARDWARE_ERROR",
    [AMDVI_EVT_IOTLB_INV_TIMEOUT] = "IOTLB_INV_TIMEOUT",
};

static const char *event_name(unsigned code)
{
    if (code < sizeof(amdvi_event_names) / sizeof(amdvi_event_names[0]) &&
        amdvi_event_names[code])
        return amdvi_event_names[code];
    return "UNKNOWN";
}

uint64_t amdvi_event_q0(unsigned code, uint16_t devid, uint32_t domain_or_pasid, unsigned flags)
{
    return FIELD_PREP(AMDVI_EVT_DEVID, devid) |
           FIELD_PREP(AMDVI_EVT_PASID_HI, domain_or_pasid >> 16) |
           FIELD_PREP(AMDVI_EVT_DOMAIN_PASID, domain_or_pasid & 0xffffu) |
           FIELD_PREP(AMDVI_EVT_FLAGS, flags) | FIELD_PREP(AMDVI_EVT_CODE, code);
}

/* ---- interrupt ---------------------------------------------------------------- */

void amdvi_msi_vector_update(void *opaque, unsigned vec, bool deliverable, uint64_t addr,
                             uint32_t data)
{
    struct amdvi *a = opaque;

    (void)vec;
    a->msi_deliverable = deliverable;
    a->msi_addr = addr;
    a->msi_data = data;
}

/* Runs under the MSI capability lock, like vector_update. */
void amdvi_msi_fire(void *opaque, unsigned vec)
{
    struct amdvi *a = opaque;
    int ret;

    (void)vec;
    if (a->pci.host)
        ret = pci_send_msi(&a->pci, a->msi_addr, a->msi_data);
    else if (a->cfg.sink && a->cfg.sink->send_msi)
        ret = a->cfg.sink->send_msi(a->cfg.sink->opaque, pci_requester_id(&a->pci), a->msi_addr,
                                    a->msi_data);
    else
        ret = -ENODEV;
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "interrupt not delivered: %d", ret);
}

void amdvi_status_raise(struct amdvi *a, uint64_t status_bit, uint64_t enable_bit)
{
    bool was = a->regs[AMDVI_REG_STATUS] & status_bit;

    a->regs[AMDVI_REG_STATUS] |= status_bit;
    if (was || !(a->regs[AMDVI_REG_CONTROL] & enable_bit))
        return;
    /* IntCapXTEn: the event/completion interrupt is described by the
     * IntCapXT event register (x2APIC destination), not the MSI capability */
    if (a->regs[AMDVI_REG_CONTROL] & AMDVI_CTRL_INTCAPXT_EN)
        amdvi_intcapxt_send(a, a->regs[AMDVI_REG_INTCAPXT_EVT]);
    else
        pci_msi_notify(&a->msi, 0);
}

/* ---- the log ------------------------------------------------------------------- */

static void event_trace(uint64_t q0, uint64_t q1, const char *what)
{
    unsigned code = (unsigned)FIELD_GET(AMDVI_EVT_CODE, q0);

    LOG_RATELIMITED(LOG_LEVEL_WARN,
                    "%s %s devid %02x:%02x.%u domain/pasid 0x%llx flags 0x%llx address 0x%llx",
                    what, event_name(code), (unsigned)(FIELD_GET(AMDVI_EVT_DEVID, q0) >> 8),
                    (unsigned)PCI_DEVFN_SLOT(FIELD_GET(AMDVI_EVT_DEVID, q0) & 0xff),
                    (unsigned)PCI_DEVFN_FN(FIELD_GET(AMDVI_EVT_DEVID, q0)),
                    (unsigned long long)FIELD_GET(AMDVI_EVT_DOMAIN_PASID, q0),
                    (unsigned long long)FIELD_GET(AMDVI_EVT_FLAGS, q0), (unsigned long long)q1);
}

void amdvi_event_log_locked(struct amdvi *a, uint64_t q0, uint64_t q1)
{
    uint64_t base_reg = a->regs[AMDVI_REG_EVENT_LOG_BASE];
    uint64_t bytes = amdvi_log_bytes(base_reg);

    if (!(a->regs[AMDVI_REG_CONTROL] & AMDVI_CTRL_EVENT_LOG_EN) ||
        !(a->regs[AMDVI_REG_STATUS] & AMDVI_STATUS_EVENT_LOG_RUN) || !bytes) {
        amdvi_stat_inc(&a->stats.events_dropped);
        event_trace(q0, q1, "event log off, dropped");
        return;
    }
    uint64_t tail = (a->regs[AMDVI_REG_EVENT_TAIL] & AMDVI_LOG_PTR) % bytes;
    uint64_t head = (a->regs[AMDVI_REG_EVENT_HEAD] & AMDVI_LOG_PTR) % bytes;
    uint64_t next = (tail + AMDVI_EVENT_ENTRY_SIZE) % bytes;
    if (next == head) {
        amdvi_stat_inc(&a->stats.events_dropped);
        event_trace(q0, q1, "event log full, dropped");
        a->regs[AMDVI_REG_STATUS] &= ~AMDVI_STATUS_EVENT_LOG_RUN;
        amdvi_status_raise(a, AMDVI_STATUS_EVENT_OVERFLOW, AMDVI_CTRL_EVENT_INT_EN);
        return;
    }
    uint64_t entry[2] = { htole64(q0), htole64(q1) };
    if (dma_write(&a->mem, (base_reg & AMDVI_EVENT_LOG_BASE_ADDR) + tail, entry,
                  sizeof(entry))) {
        amdvi_stat_inc(&a->stats.events_dropped);
        event_trace(q0, q1, "event log not in RAM, dropped");
        return;
    }
    a->regs[AMDVI_REG_EVENT_TAIL] = next;
    amdvi_stat_inc(&a->stats.events_logged);
    event_trace(q0, q1, "event");
    amdvi_status_raise(a, AMDVI_STATUS_EVENT_LOG_INT, AMDVI_CTRL_EVENT_INT_EN);
}

void amdvi_event_log(struct amdvi *a, uint64_t q0, uint64_t q1)
{
    pthread_mutex_lock(&a->lock);
    amdvi_event_log_locked(a, q0, q1);
    pthread_mutex_unlock(&a->lock);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* True when the same fault was logged less than fault_dedup_ns ago (lock held). */
static bool fault_repeated(struct amdvi *a, uint64_t q0, uint64_t page, uint64_t now)
{
    for (unsigned i = 0; i < AMDVI_FAULT_FILTER_SLOTS; i++) {
        const struct amdvi_fault_rec *r = &a->faults[i];
        if (r->when_ns && r->q0 == q0 && r->page == page && now - r->when_ns < a->fault_dedup_ns)
            return true;
    }
    return false;
}

void amdvi_event_fault(struct amdvi *a, uint64_t q0, uint64_t q1)
{
    amdvi_event_fault_keyed(a, q0, q1, q1 >> AMDVI_PAGE_SHIFT);
}

/* Log unless an identical fault was logged within the dedup window (lock held). */
static void fault_log_locked(struct amdvi *a, uint64_t q0, uint64_t q1, uint64_t page)
{
    uint64_t now = now_ns();

    if (a->fault_dedup_ns && fault_repeated(a, q0, page, now))
        return;
    a->faults[a->fault_next] = (struct amdvi_fault_rec){ .q0 = q0, .page = page, .when_ns = now };
    a->fault_next = (a->fault_next + 1) % AMDVI_FAULT_FILTER_SLOTS;
    amdvi_event_log_locked(a, q0, q1);
}

void amdvi_event_fault_keyed(struct amdvi *a, uint64_t q0, uint64_t q1, uint64_t page)
{
    amdvi_stat_inc(&a->stats.faults);
    pthread_mutex_lock(&a->lock);
    fault_log_locked(a, q0, q1, page);
    pthread_mutex_unlock(&a->lock);
}

void amdvi_event_fault_locked(struct amdvi *a, uint64_t q0, uint64_t q1)
{
    fault_log_locked(a, q0, q1, q1 >> AMDVI_PAGE_SHIFT);
}
