/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "ioapic"
#include "devices/ioapic.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

_Static_assert(IOAPIC_NUM_PINS <= 32, "line_level is a 32-bit bitmap");

/* The MSI route last handed to the sink for one pin. */
struct ioapic_route {
    bool installed;        /* the last set_route succeeded with these values */
    bool enabled;
    uint64_t addr;
    uint32_t data;
};

struct ioapic {
    pthread_mutex_t lock;
    struct msi_sink sink;
    uint32_t ioregsel;
    uint32_t id;                    /* IOAPICID register value */
    uint64_t rte[IOAPIC_NUM_PINS];
    uint32_t line_level;            /* bit n: input n asserted */
    struct ioapic_route route[IOAPIC_NUM_PINS];
    struct ioapic_eoi_listener eoi_listeners[IOAPIC_NUM_PINS][IOAPIC_EOI_LISTENERS_PER_PIN];
};

/* ---- RTE -> MSI --------------------------------------------------------- */

void ioapic_rte_to_msi(uint64_t rte, uint64_t *addr, uint32_t *data)
{
    uint64_t a = MSI_ADDR_BASE;
    a |= FIELD_GET(IOAPIC_RTE_DEST_ID, rte) << MSI_ADDR_DEST_ID_SHIFT;
    a |= FIELD_GET(IOAPIC_RTE_EXT_DEST_ID, rte) << MSI_ADDR_EXT_DEST_ID_SHIFT;
    if (rte & IOAPIC_RTE_FORMAT_REMAPPABLE)
        a |= IOAPIC_MSI_ADDR_FORMAT_REMAPPABLE;
    if (rte & IOAPIC_RTE_DEST_MODE_LOGICAL)
        a |= MSI_ADDR_DEST_MODE_LOGICAL;

    uint32_t d = (uint32_t)FIELD_GET(IOAPIC_RTE_VECTOR, rte);
    d |= (uint32_t)FIELD_GET(IOAPIC_RTE_DELIVERY_MODE, rte) << MSI_DATA_DELIVERY_SHIFT;
    if (rte & IOAPIC_RTE_TRIGGER_LEVEL)
        d |= MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT;

    *addr = a;
    *data = d;
}

/* ---- routes and delivery (lock held) ------------------------------------ */

static bool ioapic_rte_level(uint64_t rte)
{
    return rte & IOAPIC_RTE_TRIGGER_LEVEL;
}

/* Mirror entry `pin` into the sink's route table. force: send even if unchanged. */
static int ioapic_sync_route(struct ioapic *io, unsigned pin, bool force)
{
    uint64_t rte = io->rte[pin];
    struct ioapic_route want = { .installed = true };
    want.enabled = !(rte & IOAPIC_RTE_MASKED) ||
                   (ioapic_rte_level(rte) && (rte & IOAPIC_RTE_REMOTE_IRR));
    ioapic_rte_to_msi(rte, &want.addr, &want.data);

    struct ioapic_route *have = &io->route[pin];
    if (!force && have->installed && have->enabled == want.enabled &&
        (!want.enabled || (have->addr == want.addr && have->data == want.data)))
        return 0;

    int ret = io->sink.set_route(io->sink.opaque, LAYOUT_IOAPIC_GSI_BASE + pin, want.enabled,
                                 IRQ_SOURCE_ID_IOAPIC, want.addr, want.data);
    if (ret) {
        have->installed = false; /* retry on the next change */
        LOG_RATELIMITED(LOG_LEVEL_WARN, "pin %u: set_route failed: %s", pin, strerror(-ret));
        return ret;
    }
    *have = want;
    return 0;
}

static void ioapic_deliver(struct ioapic *io, unsigned pin)
{
    uint64_t addr;
    uint32_t data;
    ioapic_rte_to_msi(io->rte[pin], &addr, &data);
    int ret = io->sink.send_msi(io->sink.opaque, IRQ_SOURCE_ID_IOAPIC, addr, data);
    if (ret) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "pin %u: send_msi failed: %s", pin, strerror(-ret));
        return;
    }
    if (ioapic_rte_level(io->rte[pin]))
        io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

/* Deliver a level-triggered entry if its input asks for service. */
static void ioapic_service_level(struct ioapic *io, unsigned pin)
{
    uint64_t rte = io->rte[pin];
    if (!ioapic_rte_level(rte) || (rte & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)) ||
        !(io->line_level & (1u << pin)))
        return;
    ioapic_deliver(io, pin);
    if (io->rte[pin] & IOAPIC_RTE_REMOTE_IRR)
        ioapic_sync_route(io, pin, false);
}

static bool ioapic_pin_has_listener(const struct ioapic *io, unsigned pin)
{
    for (unsigned i = 0; i < IOAPIC_EOI_LISTENERS_PER_PIN; i++) {
        if (io->eoi_listeners[pin][i].fn)
            return true;
    }
    return false;
}

/* Returns the pins whose EOI listeners must run (ioapic_eoi_finish): those
 * are not re-serviced here, the listeners may lower their input first. */
static uint32_t ioapic_eoi_locked(struct ioapic *io, uint8_t vector)
{
    uint32_t listen = 0;
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t rte = io->rte[pin];
        if (!ioapic_rte_level(rte) || !(rte & IOAPIC_RTE_REMOTE_IRR) ||
            FIELD_GET(IOAPIC_RTE_VECTOR, rte) != vector)
            continue;
        io->rte[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
        if (ioapic_pin_has_listener(io, pin))
            listen |= 1u << pin;
        else
            ioapic_service_level(io, pin);
        ioapic_sync_route(io, pin, false); /* a masked entry may drop its route now */
    }
    return listen;
}

/* Lock NOT held: run the listeners of `pins`, then re-service those pins
 * (an input still asserted after its listeners ran is delivered again). */
static void ioapic_eoi_finish(struct ioapic *io, uint32_t pins)
{
    for (unsigned pin = 0; pins && pin < IOAPIC_NUM_PINS; pin++) {
        if (!(pins & (1u << pin)))
            continue;
        struct ioapic_eoi_listener l[IOAPIC_EOI_LISTENERS_PER_PIN];
        pthread_mutex_lock(&io->lock);
        memcpy(l, io->eoi_listeners[pin], sizeof(l));
        pthread_mutex_unlock(&io->lock);
        for (unsigned i = 0; i < IOAPIC_EOI_LISTENERS_PER_PIN; i++) {
            if (l[i].fn)
                l[i].fn(l[i].opaque, pin);
        }
        pthread_mutex_lock(&io->lock);
        ioapic_service_level(io, pin);
        pthread_mutex_unlock(&io->lock);
    }
}

/* ---- indirect registers -------------------------------------------------- */

struct ioapic_reg {
    const char *name;
    uint32_t first, last;  /* IOREGSEL range */
    uint32_t (*read)(struct ioapic *io, uint32_t index);
    void (*write)(struct ioapic *io, uint32_t index, uint32_t val);
};

static uint32_t ioapic_id_read(struct ioapic *io, uint32_t index)
{
    return io->id;
}

static void ioapic_id_write(struct ioapic *io, uint32_t index, uint32_t val)
{
    io->id = val & IOAPIC_ID_ID;
}

static uint32_t ioapic_ver_read(struct ioapic *io, uint32_t index)
{
    return (uint32_t)(FIELD_PREP(IOAPIC_VER_VERSION, IOAPIC_VERSION_WITH_EOI) |
                      FIELD_PREP(IOAPIC_VER_MAX_REDIR, IOAPIC_NUM_PINS - 1));
}

static uint32_t ioapic_arb_read(struct ioapic *io, uint32_t index)
{
    return io->id; /* arbitration id = APIC id after reset */
}

static void ioapic_ro_write(struct ioapic *io, uint32_t index, uint32_t val)
{
    LOG_RATELIMITED(LOG_LEVEL_DEBUG, "write 0x%x to read-only register 0x%02x ignored", val,
                    index);
}

static unsigned ioapic_rte_pin(uint32_t index)
{
    return (index - IOAPIC_REG_REDTBL) / 2;
}

static bool ioapic_rte_is_high(uint32_t index)
{
    return (index - IOAPIC_REG_REDTBL) & 1;
}

static uint32_t ioapic_rte_read(struct ioapic *io, uint32_t index)
{
    uint64_t rte = io->rte[ioapic_rte_pin(index)];
    return (uint32_t)(ioapic_rte_is_high(index) ? rte >> 32 : rte);
}

static void ioapic_rte_write(struct ioapic *io, uint32_t index, uint32_t val)
{
    unsigned pin = ioapic_rte_pin(index);
    uint64_t part_mask = ioapic_rte_is_high(index) ? GENMASK(63, 32) : GENMASK(31, 0);
    uint64_t part = ioapic_rte_is_high(index) ? (uint64_t)val << 32 : val;
    uint64_t wmask = IOAPIC_RTE_WRITABLE & part_mask;
    uint64_t rte = (io->rte[pin] & ~wmask) | (part & wmask);
    if (!ioapic_rte_level(rte))
        rte &= ~IOAPIC_RTE_REMOTE_IRR; /* edge entries have no Remote IRR */
    io->rte[pin] = rte;
    ioapic_sync_route(io, pin, false);
    ioapic_service_level(io, pin);     /* e.g. unmasking an asserted level pin */
}

static const struct ioapic_reg ioapic_regs[] = {
    { "IOAPICID", IOAPIC_REG_ID, IOAPIC_REG_ID, ioapic_id_read, ioapic_id_write },
    { "IOAPICVER", IOAPIC_REG_VER, IOAPIC_REG_VER, ioapic_ver_read, ioapic_ro_write },
    { "IOAPICARB", IOAPIC_REG_ARB, IOAPIC_REG_ARB, ioapic_arb_read, ioapic_ro_write },
    { "IOREDTBL", IOAPIC_REG_REDTBL_LO(0), IOAPIC_REG_REDTBL_HI(IOAPIC_NUM_PINS - 1),
      ioapic_rte_read, ioapic_rte_write },
};

static const struct ioapic_reg *ioapic_reg_find(uint32_t index)
{
    for (size_t i = 0; i < sizeof(ioapic_regs) / sizeof(ioapic_regs[0]); i++)
        if (index >= ioapic_regs[i].first && index <= ioapic_regs[i].last)
            return &ioapic_regs[i];
    return NULL;
}

/* ---- MMIO ------------------------------------------------------------------ */

static bool ioapic_access_ok(uint64_t offset, unsigned size, bool is_write)
{
    if (size == IOAPIC_ACCESS_SIZE &&
        (offset == IOAPIC_IOREGSEL || offset == IOAPIC_IOWIN || (offset == IOAPIC_EOI && is_write)))
        return true;
    LOG_RATELIMITED(LOG_LEVEL_WARN, "bad %s of size %u at offset 0x%llx",
                    is_write ? "write" : "read", size, (unsigned long long)offset);
    return false;
}

static void ioapic_bus_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    struct ioapic *io = opaque;
    memset(data, 0xff, size);
    if (!ioapic_access_ok(offset, size, false))
        return;

    uint32_t val = UINT32_MAX;
    pthread_mutex_lock(&io->lock);
    if (offset == IOAPIC_IOREGSEL) {
        val = io->ioregsel;
    } else {
        const struct ioapic_reg *r = ioapic_reg_find(io->ioregsel);
        if (r)
            val = r->read(io, io->ioregsel);
        else
            LOG_RATELIMITED(LOG_LEVEL_WARN, "read of unknown register 0x%02x", io->ioregsel);
    }
    pthread_mutex_unlock(&io->lock);

    uint8_t *b = data;
    for (unsigned i = 0; i < IOAPIC_ACCESS_SIZE; i++)
        b[i] = (uint8_t)(val >> (8 * i));
}

static void ioapic_bus_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct ioapic *io = opaque;
    if (!ioapic_access_ok(offset, size, true))
        return;

    const uint8_t *b = data;
    uint32_t val = 0;
    for (unsigned i = 0; i < IOAPIC_ACCESS_SIZE; i++)
        val |= (uint32_t)b[i] << (8 * i);

    uint32_t eoi_pins = 0;
    pthread_mutex_lock(&io->lock);
    if (offset == IOAPIC_IOREGSEL) {
        io->ioregsel = val & IOAPIC_IOREGSEL_MASK;
    } else if (offset == IOAPIC_EOI) {
        eoi_pins = ioapic_eoi_locked(io, (uint8_t)FIELD_GET(IOAPIC_EOI_VECTOR, val));
    } else {
        const struct ioapic_reg *r = ioapic_reg_find(io->ioregsel);
        if (r)
            r->write(io, io->ioregsel, val);
        else
            LOG_RATELIMITED(LOG_LEVEL_WARN, "write of unknown register 0x%02x", io->ioregsel);
    }
    pthread_mutex_unlock(&io->lock);
    ioapic_eoi_finish(io, eoi_pins);
}

const struct bus_ops ioapic_bus_ops = {
    .read = ioapic_bus_read,
    .write = ioapic_bus_write,
};

/* ---- public API -------------------------------------------------------------- */

static int ioapic_reset_locked(struct ioapic *io)
{
    int first_err = 0;
    io->ioregsel = 0;
    io->id = (uint32_t)FIELD_PREP(IOAPIC_ID_ID, LAYOUT_IOAPIC_ID);
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        io->rte[pin] = IOAPIC_RTE_RESET;
        int ret = ioapic_sync_route(io, pin, true);
        if (ret && !first_err)
            first_err = ret;
    }
    return first_err;
}

int ioapic_create(const struct msi_sink *sink, struct ioapic **out)
{
    int ret;
    if (!sink || !sink->send_msi || !sink->set_route || !out)
        return -EINVAL;

    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io)
        return -ENOMEM;
    io->sink = *sink;
    ret = -pthread_mutex_init(&io->lock, NULL);
    if (ret)
        goto free_ioapic;
    ret = ioapic_reset_locked(io); /* not shared yet: no lock needed */
    if (ret)
        goto destroy_lock;

    *out = io;
    return 0;

destroy_lock:
    pthread_mutex_destroy(&io->lock);
free_ioapic:
    free(io);
    return ret;
}

void ioapic_destroy(struct ioapic *ioapic)
{
    if (!ioapic)
        return;
    pthread_mutex_destroy(&ioapic->lock);
    free(ioapic);
}

int ioapic_reset(struct ioapic *ioapic)
{
    pthread_mutex_lock(&ioapic->lock);
    int ret = ioapic_reset_locked(ioapic);
    pthread_mutex_unlock(&ioapic->lock);
    return ret;
}

void ioapic_set_irq(struct ioapic *ioapic, unsigned pin, bool level)
{
    if (pin >= IOAPIC_NUM_PINS) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "set_irq on nonexistent pin %u ignored", pin);
        return;
    }
    uint32_t bit = 1u << pin;
    pthread_mutex_lock(&ioapic->lock);
    bool was = ioapic->line_level & bit;
    if (level)
        ioapic->line_level |= bit;
    else
        ioapic->line_level &= ~bit;

    uint64_t rte = ioapic->rte[pin];
    if (ioapic_rte_level(rte))
        ioapic_service_level(ioapic, pin);
    else if (level && !was && !(rte & IOAPIC_RTE_MASKED))
        ioapic_deliver(ioapic, pin);
    pthread_mutex_unlock(&ioapic->lock);
}

static void ioapic_line_set_level(void *opaque, unsigned pin, bool level)
{
    ioapic_set_irq(opaque, pin, level);
}

struct irq_line ioapic_irq_line(struct ioapic *ioapic, unsigned pin)
{
    return (struct irq_line){ .set_level = ioapic_line_set_level, .opaque = ioapic, .pin = pin };
}

void ioapic_eoi(struct ioapic *ioapic, uint8_t vector)
{
    pthread_mutex_lock(&ioapic->lock);
    uint32_t pins = ioapic_eoi_locked(ioapic, vector);
    pthread_mutex_unlock(&ioapic->lock);
    ioapic_eoi_finish(ioapic, pins);
}

int ioapic_add_eoi_listener(struct ioapic *ioapic, unsigned pin, ioapic_eoi_fn fn, void *opaque)
{
    if (!ioapic || !fn || pin >= IOAPIC_NUM_PINS)
        return -EINVAL;
    int ret = -ENOSPC;
    pthread_mutex_lock(&ioapic->lock);
    for (unsigned i = 0; i < IOAPIC_EOI_LISTENERS_PER_PIN; i++) {
        struct ioapic_eoi_listener *l = &ioapic->eoi_listeners[pin][i];
        if (!l->fn) {
            *l = (struct ioapic_eoi_listener){ .fn = fn, .opaque = opaque };
            ret = 0;
            break;
        }
    }
    pthread_mutex_unlock(&ioapic->lock);
    return ret;
}

void ioapic_remove_eoi_listener(struct ioapic *ioapic, unsigned pin, ioapic_eoi_fn fn,
                                void *opaque)
{
    if (!ioapic || pin >= IOAPIC_NUM_PINS)
        return;
    pthread_mutex_lock(&ioapic->lock);
    for (unsigned i = 0; i < IOAPIC_EOI_LISTENERS_PER_PIN; i++) {
        struct ioapic_eoi_listener *l = &ioapic->eoi_listeners[pin][i];
        if (l->fn == fn && l->opaque == opaque) {
            *l = (struct ioapic_eoi_listener){ 0 };
            break;
        }
    }
    pthread_mutex_unlock(&ioapic->lock);
}
