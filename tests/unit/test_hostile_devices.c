/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest against the legacy machine.
 *
 * Every legacy device is created and placed on a PIO and an MMIO bus the way
 * vmm/machine.c does it (same constructors, same bus_register arguments, the
 * UART's line wired to IOAPIC pin LAYOUT_IRQ_COM1), behind a transparent shim
 * that checks the bus honours each region's declared contract. A fake
 * msi_sink records MSIs and routes (and can fail every Nth call), a fake
 * vm_control records stop requests. A seeded PRNG then issues random reads
 * and writes of random (also invalid) sizes at addresses biased toward the
 * device ranges and their edges, interleaved with structured sequences
 * (IOAPIC index/window, UART DLAB/loopback/FIFO floods, RTC SET and garbage
 * BCD, EOIs, host-side UART input, IOAPIC input lines). Invariants are
 * checked as it goes; afterwards every device must still answer a
 * known-good sequence. Under ASan+UBSan any memory error or UB aborts.
 *
 * Regression RTC-1 (found here): a guest-written year >= 2262 overflowed the
 * RTC's signed nanosecond offset (a UBSan abort, i.e. a guest killing
 * sluice); a separate forked case keeps it fixed (see hostile_regression).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices/acpi_pm.h"
#include "devices/boot_timer.h"
#include "devices/bus.h"
#include "devices/i8042.h"
#include "devices/ioapic.h"
#include "devices/irq.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "devices/vm_control.h"
#include "tests/unit/fake_vm_control.h"
#include "tests/unit/hostile_common.h"
#include "vmm/layout.h"

#define DEFAULT_ITERS 200000ULL
static const uint64_t default_seeds[] = { 0x5111ce, 0xdeadbeef, 42 };

#define MSI_WINDOW_FIRST 0xfee00000ULL
#define MSI_WINDOW_LAST 0xfeefffffULL
#define TOP_SENTINEL_LEN 0x1000ULL

/* ---- fake msi_sink ---------------------------------------------------------- */

struct fake_route {
    bool set;
    bool enabled;
    uint64_t addr;
    uint32_t data;
};

struct fake_sink {
    unsigned fail_every;      /* 0: never fail; N: every Nth call fails with -EIO */
    unsigned long calls;
    unsigned long msis, msi_fail;
    unsigned long routes, route_fail;
    struct fake_route route[LAYOUT_IOAPIC_PINS];
    uint64_t last_addr;
    uint32_t last_data;
};

static bool sink_should_fail(struct fake_sink *s)
{
    s->calls++;
    return s->fail_every && s->calls % s->fail_every == 0;
}

static bool msi_addr_ok(uint64_t addr)
{
    return addr >= MSI_WINDOW_FIRST && addr <= MSI_WINDOW_LAST;
}

/* data = vector | delivery << 8 | assert << 14 | trigger << 15, nothing else */
static bool msi_data_ok(uint32_t data)
{
    return (data & ~(uint32_t)(MSI_DATA_VECTOR_MASK | (7u << MSI_DATA_DELIVERY_SHIFT) |
                               MSI_DATA_LEVEL_ASSERT | MSI_DATA_TRIGGER_LEVEL)) == 0;
}

static int fake_send_msi(void *opaque, uint16_t source_id, uint64_t addr, uint32_t data)
{
    struct fake_sink *s = opaque;
    HCHECK_EQ(source_id, IRQ_SOURCE_ID_IOAPIC);
    HCHECK(msi_addr_ok(addr));
    HCHECK(msi_data_ok(data));
    if (sink_should_fail(s)) {
        s->msi_fail++;
        return -EIO;
    }
    s->msis++;
    s->last_addr = addr;
    s->last_data = data;
    return 0;
}

static int fake_set_route(void *opaque, unsigned gsi, bool enabled, uint16_t source_id,
                          uint64_t addr, uint32_t data)
{
    struct fake_sink *s = opaque;
    HCHECK(gsi < LAYOUT_IOAPIC_PINS);
    HCHECK_EQ(source_id, IRQ_SOURCE_ID_IOAPIC);
    HCHECK(msi_addr_ok(addr));
    HCHECK(msi_data_ok(data));
    if (sink_should_fail(s)) {
        s->route_fail++;
        return -EIO;
    }
    s->routes++;
    if (gsi < LAYOUT_IOAPIC_PINS)
        s->route[gsi] = (struct fake_route){ true, enabled, addr, data };
    return 0;
}

/* ---- fake vm_control -------------------------------------------------------- */

struct stop_log {
    struct fake_ctl ctl;
    unsigned long by_reason[VM_STOP_SIGNAL + 1];
};

static void hostile_request_stop(void *opaque, enum vm_stop_reason reason)
{
    struct stop_log *l = opaque;
    /* Legacy devices may only ask for power-off, reset or panic. */
    HCHECK(reason == VM_STOP_POWEROFF || reason == VM_STOP_RESET || reason == VM_STOP_PANIC);
    if ((unsigned)reason <= VM_STOP_SIGNAL)
        l->by_reason[reason]++;
    fake_request_stop(&l->ctl, reason);
}

/* ---- bus contract shim ------------------------------------------------------- */

/* Sits between the bus and a device: checks that the bus only passes accesses
 * the region declared (size in the mask, aligned if asked, inside [0, len))
 * and that reads fill exactly `size` bytes, then forwards unchanged. */
struct shim {
    const char *name;
    uint64_t base, len;
    unsigned sizes;
    bool aligned;
    const struct bus_ops *ops;
    void *opaque;
    bool mmio;
    unsigned long reads, writes;
};

static void shim_check(struct shim *s, uint64_t offset, unsigned size)
{
    HCHECK(size == 1 || size == 2 || size == 4 || size == 8);
    HCHECK(s->sizes & size);
    HCHECK(offset < s->len && size <= s->len - offset);
    if (s->aligned)
        HCHECK((offset & (size - 1)) == 0);
}

static void shim_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    struct shim *s = opaque;
    shim_check(s, offset, size);
    s->reads++;
    if (s->ops)
        s->ops->read(s->opaque, offset, data, size);
    else
        memset(data, 0x5a, size); /* the top-of-space sentinel */
}

static void shim_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct shim *s = opaque;
    shim_check(s, offset, size);
    s->writes++;
    if (s->ops)
        s->ops->write(s->opaque, offset, data, size);
}

static const struct bus_ops shim_ops = { .read = shim_read, .write = shim_write };

/* ---- the machine --------------------------------------------------------------- */

enum { SH_IOAPIC, SH_COM1, SH_KBD_DATA, SH_KBD_CMD, SH_PM, SH_RTC, SH_BOOT_TIMER, SH_PVPANIC,
       SH_TOP, SH_COUNT };

struct hmachine {
    struct bus pio, mmio;
    struct fake_sink sink;
    struct stop_log stops;
    struct msi_sink msi;
    struct vm_control ctl;
    struct ioapic *ioapic;
    struct uart *com1;
    struct i8042 *i8042;
    struct acpi_pm *pm;
    struct rtc *rtc;
    struct boot_timer *boot_timer;
    struct pvpanic *pvpanic;
    struct shim shims[SH_COUNT];

    /* UART output */
    unsigned long out_calls, out_dropped, out_refuse_every;

    /* What the guest did, as the test's own model sees it. */
    uint8_t rtc_index, rtc_b;
    unsigned long pvpanic_panicked, pvpanic_crash_loaded;
    unsigned long acpi_poweroffs, acpi_resets;
    unsigned long boot_timer_writes;
    unsigned long host_rx_offered, host_rx_accepted;
    unsigned long unowned_reads;
};

static size_t hm_uart_output(void *opaque, const uint8_t *buf, size_t len)
{
    struct hmachine *m = opaque;
    m->out_calls++;
    HCHECK_EQ(len, 1);
    if (m->out_refuse_every && m->out_calls % m->out_refuse_every == 0) {
        m->out_dropped++;
        return 0; /* a stuck console */
    }
    return len;
}

static void hm_shim(struct hmachine *m, int idx, const char *name, bool mmio, uint64_t base,
                    uint64_t len, const struct bus_ops *ops, void *opaque, unsigned sizes,
                    bool aligned)
{
    m->shims[idx] = (struct shim){ .name = name, .base = base, .len = len, .sizes = sizes,
                                   .aligned = aligned, .ops = ops, .opaque = opaque,
                                   .mmio = mmio };
    CHECK_EQ(bus_register(mmio ? &m->mmio : &m->pio, base, len, &shim_ops, &m->shims[idx], sizes,
                          aligned, name),
             0);
}

static int hm_create(struct hmachine *m)
{
    static struct timespec start;
    memset(m, 0, sizeof(*m));
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_EQ(bus_init(&m->pio, "pio"), 0);
    CHECK_EQ(bus_init(&m->mmio, "mmio"), 0);
    m->msi = (struct msi_sink){ .send_msi = fake_send_msi, .set_route = fake_set_route,
                                .opaque = &m->sink };
    m->ctl = (struct vm_control){ .request_stop = hostile_request_stop, .opaque = &m->stops };

    /* Same order and arguments as machine_create_devices(). */
    int ret;
    if ((ret = ioapic_create(&m->msi, &m->ioapic)))
        return ret;
    struct uart_config ucfg = {
        .irq = ioapic_irq_line(m->ioapic, LAYOUT_IRQ_COM1),
        .output = hm_uart_output,
        .output_opaque = m,
    };
    if ((ret = uart_create(&ucfg, &m->com1)) || (ret = i8042_create(&m->ctl, &m->i8042)) ||
        (ret = acpi_pm_create(&m->ctl, &m->pm)) || (ret = rtc_create(&m->rtc)) ||
        (ret = boot_timer_create(&start, &m->boot_timer)) ||
        (ret = pvpanic_create(&m->ctl, &m->pvpanic)))
        return ret;

    /* Same bases, lengths, sizes and alignment as machine_register_devices(). */
    hm_shim(m, SH_IOAPIC, "ioapic", true, LAYOUT_IOAPIC_BASE, LAYOUT_IOAPIC_SIZE, &ioapic_bus_ops,
            m->ioapic, IOAPIC_BUS_SIZES, IOAPIC_BUS_ALIGNED);
    hm_shim(m, SH_COM1, "com1", false, LAYOUT_PORT_COM1, UART_BUS_LEN, &uart_bus_ops, m->com1,
            UART_BUS_SIZES, UART_BUS_ALIGNED);
    hm_shim(m, SH_KBD_DATA, "i8042-data", false, LAYOUT_PORT_I8042_DATA, I8042_BUS_LEN,
            &i8042_data_bus_ops, m->i8042, I8042_BUS_SIZES, I8042_BUS_ALIGNED);
    hm_shim(m, SH_KBD_CMD, "i8042-cmd", false, LAYOUT_PORT_I8042_CMD, I8042_BUS_LEN,
            &i8042_cmd_bus_ops, m->i8042, I8042_BUS_SIZES, I8042_BUS_ALIGNED);
    hm_shim(m, SH_PM, "acpi-pm", false, LAYOUT_PORT_ACPI_PM, ACPI_PM_BUS_LEN, &acpi_pm_bus_ops,
            m->pm, ACPI_PM_BUS_SIZES, ACPI_PM_BUS_ALIGNED);
    hm_shim(m, SH_RTC, "rtc", false, LAYOUT_PORT_RTC, RTC_BUS_LEN, &rtc_bus_ops, m->rtc,
            RTC_BUS_SIZES, RTC_BUS_ALIGNED);
    hm_shim(m, SH_BOOT_TIMER, "boot-timer", false, LAYOUT_PORT_BOOT_TIMER, BOOT_TIMER_BUS_LEN,
            &boot_timer_bus_ops, m->boot_timer, BOOT_TIMER_BUS_SIZES, BOOT_TIMER_BUS_ALIGNED);
    hm_shim(m, SH_PVPANIC, "pvpanic", false, LAYOUT_PORT_PVPANIC, PVPANIC_BUS_LEN,
            &pvpanic_bus_ops, m->pvpanic, PVPANIC_BUS_SIZES, PVPANIC_BUS_ALIGNED);
    /* Not a machine.c device: a sentinel ending at 2^64 - 1, to exercise the
     * bus's wrap-around handling with accesses that cross the top. */
    hm_shim(m, SH_TOP, "top", true, UINT64_MAX - (TOP_SENTINEL_LEN - 1), TOP_SENTINEL_LEN, NULL,
            NULL, BUS_SIZE_ANY, false);
    m->rtc_b = (uint8_t)RTC_B_RESET;
    return 0;
}

static void hm_destroy(struct hmachine *m)
{
    for (int i = SH_COUNT - 1; i >= 0; i--)
        CHECK_EQ(bus_unregister(m->shims[i].mmio ? &m->mmio : &m->pio, m->shims[i].base), 0);
    pvpanic_destroy(m->pvpanic);
    boot_timer_destroy(m->boot_timer);
    rtc_destroy(m->rtc);
    acpi_pm_destroy(m->pm);
    i8042_destroy(m->i8042);
    uart_destroy(m->com1);
    ioapic_destroy(m->ioapic);
    bus_destroy(&m->pio);
    bus_destroy(&m->mmio);
}

/* Would the bus hand [addr, addr + size) to a device? The test's own model of
 * the documented bus rules. */
static const struct shim *hm_owner(const struct hmachine *m, bool mmio, uint64_t addr,
                                   unsigned size)
{
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return NULL;
    for (int i = 0; i < SH_COUNT; i++) {
        const struct shim *s = &m->shims[i];
        if (s->mmio != mmio || addr < s->base || addr - s->base >= s->len)
            continue;
        uint64_t off = addr - s->base;
        if (size > s->len - off || !(s->sizes & size) || (s->aligned && (off & (size - 1))))
            return NULL;
        return s;
    }
    return NULL;
}

/* ---- guest accesses -------------------------------------------------------------- */

/* Bytes a read may fill, plus a margin that must stay untouched. */
#define ACCESS_BUF 16
#define UNTOUCHED 0xa5

static void hm_note_pio_write(struct hmachine *m, uint64_t port, uint8_t *val)
{
    switch (port) {
    case LAYOUT_PORT_RTC:
        m->rtc_index = (uint8_t)(*val & RTC_INDEX_MASK);
        break;
    case LAYOUT_PORT_RTC + 1:
        if (m->rtc_index == RTC_REG_B) {
            m->rtc_b = *val;
        }
        break;
    case LAYOUT_PORT_PVPANIC:
        if (*val & PVPANIC_PANICKED)
            m->pvpanic_panicked++;
        if (*val & PVPANIC_CRASH_LOADED)
            m->pvpanic_crash_loaded++;
        break;
    case LAYOUT_PORT_ACPI_SLEEP_CTL:
        if ((*val & ACPI_SLEEP_CTL_SLP_EN) &&
            FIELD_GET(ACPI_SLEEP_CTL_SLP_TYP, *val) == LAYOUT_ACPI_S5_SLP_TYP)
            m->acpi_poweroffs++;
        break;
    case LAYOUT_PORT_ACPI_RESET:
        if (*val == LAYOUT_ACPI_RESET_VALUE)
            m->acpi_resets++;
        break;
    case LAYOUT_PORT_BOOT_TIMER:
        m->boot_timer_writes++;
        break;
    default:
        break;
    }
}

static void hm_write(struct hmachine *m, bool mmio, uint64_t addr, uint64_t value, unsigned size)
{
    uint8_t buf[ACCESS_BUF];
    memset(buf, UNTOUCHED, sizeof(buf));
    memcpy(buf, &value, 8);
    const struct shim *owner = hm_owner(m, mmio, addr, size);
    if (owner && !mmio && size == 1)
        hm_note_pio_write(m, addr, &buf[0]);
    bool handled = bus_write(mmio ? &m->mmio : &m->pio, addr, buf, size);
    HCHECK_EQ(handled, owner != NULL);
}

/* Reads and checks what every read must satisfy; returns the value. */
static uint64_t hm_read(struct hmachine *m, bool mmio, uint64_t addr, unsigned size)
{
    uint8_t buf[ACCESS_BUF];
    memset(buf, UNTOUCHED, sizeof(buf));
    const struct shim *owner = hm_owner(m, mmio, addr, size);
    bool handled = bus_read(mmio ? &m->mmio : &m->pio, addr, buf, size);
    HCHECK_EQ(handled, owner != NULL);
    unsigned filled = size <= 8 ? size : 8;
    for (unsigned i = filled; i < ACCESS_BUF; i++)
        HCHECK_EQ(buf[i], UNTOUCHED);
    uint64_t v = 0;
    memcpy(&v, buf, filled);
    uint64_t ones = filled == 8 ? UINT64_MAX : ((1ULL << (8 * filled)) - 1);
    if (!owner) {
        m->unowned_reads++;
        HCHECK_EQ(v, ones);
        return v;
    }
    /* Per-device read invariants. */
    uint64_t off = addr - owner->base;
    switch (owner - m->shims) {
    case SH_IOAPIC:
        /* Only 32-bit IOREGSEL/IOWIN reads return data; the rest is all-ones. */
        if (!(size == IOAPIC_ACCESS_SIZE && (off == IOAPIC_IOREGSEL || off == IOAPIC_IOWIN)))
            HCHECK_EQ(v, ones);
        else if (off == IOAPIC_IOREGSEL)
            HCHECK((v & ~(uint64_t)IOAPIC_IOREGSEL_MASK) == 0);
        break;
    case SH_COM1:
        if (off == UART_LSR)
            HCHECK((v & (UART_LSR_THRE | UART_LSR_TEMT)) == (UART_LSR_THRE | UART_LSR_TEMT));
        if (off == UART_IIR) {
            uint8_t id = (uint8_t)(v & 0x0f);
            HCHECK(id == UART_IIR_NO_INT || id == UART_IIR_ID_RLS || id == UART_IIR_ID_RDA ||
                   id == UART_IIR_ID_CTI || id == UART_IIR_ID_THRE || id == UART_IIR_ID_MS);
            HCHECK((v & 0x30) == 0);
        }
        break;
    case SH_KBD_CMD:
        HCHECK(!(v & I8042_STR_IBF));
        HCHECK(v & I8042_STR_KEYLOCK);
        break;
    case SH_PM:
        if (off == ACPI_PM_SLEEP_CONTROL)
            HCHECK((v & ~(uint64_t)ACPI_SLEEP_CTL_SLP_TYP) == 0);
        else
            HCHECK_EQ(v, 0); /* WAK_STS never set; reset register reads 0 */
        break;
    case SH_RTC:
        if (off == RTC_PORT_INDEX) {
            HCHECK_EQ(v, 0xff); /* write-only index port */
        } else if (m->rtc_index == RTC_REG_C) {
            HCHECK((v & ~(uint64_t)RTC_C_UF) == 0);
        } else if (m->rtc_index == RTC_REG_D) {
            HCHECK_EQ(v, RTC_D_VRT);
        } else if (m->rtc_index == RTC_REG_A && (m->rtc_b & RTC_B_SET)) {
            HCHECK(!(v & RTC_A_UIP));
        }
        break;
    case SH_BOOT_TIMER:
        HCHECK_EQ(v, 0xff);
        break;
    case SH_PVPANIC:
        HCHECK_EQ(v, PVPANIC_SUPPORTED);
        break;
    case SH_TOP:
        HCHECK_EQ(v, 0x5a5a5a5a5a5a5a5aULL & ones);
        break;
    default:
        break;
    }
    return v;
}

/* ---- the storm ---------------------------------------------------------------------- */

static unsigned pick_size(struct hostile_rng *r)
{
    static const unsigned sizes[] = { 1, 1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 3, 0, 5, 6, 7 };
    return sizes[hostile_below(r, sizeof(sizes) / sizeof(sizes[0]))];
}

/* An address near a region: edges, inside, misaligned, just outside. */
static uint64_t pick_near(struct hostile_rng *r, const struct shim *s)
{
    switch (hostile_below(r, 8)) {
    case 0: return s->base - 1;
    case 1: return s->base;
    case 2: return s->base + s->len - 1;
    case 3: return s->base + s->len; /* wraps to 0 for the top sentinel: fine */
    case 4: return s->base + s->len - 1 - hostile_below(r, 8);
    case 5: return s->base + (hostile_below(r, s->len) | 1);
    default: return s->base + hostile_below(r, s->len);
    }
}

static void pick_target(struct hostile_rng *r, const struct hmachine *m, bool *mmio, uint64_t *addr)
{
    uint64_t k = hostile_below(r, 20);
    if (k < 15) {
        const struct shim *s = &m->shims[hostile_below(r, SH_COUNT)];
        *mmio = s->mmio;
        *addr = pick_near(r, s);
        if (s - m->shims == SH_IOAPIC && hostile_chance(r, 1, 2)) {
            /* the three live IOAPIC registers and their neighbours */
            static const uint64_t offs[] = { 0x00, 0x10, 0x40, 0x04, 0x14, 0x3c, 0x44, 0x11 };
            *addr = s->base + offs[hostile_below(r, sizeof(offs) / sizeof(offs[0]))];
        }
    } else if (k < 17) {
        *mmio = false;
        *addr = hostile_below(r, 0x10000); /* any port */
    } else if (k < 18) {
        *mmio = true;
        *addr = LAYOUT_LAPIC_BASE + hostile_below(r, 0x1000); /* KVM's, not ours */
    } else {
        *mmio = hostile_chance(r, 1, 2);
        *addr = hostile_next(r); /* anywhere in 64 bits */
    }
}

static void random_access(struct hmachine *m, struct hostile_rng *r)
{
    bool mmio;
    uint64_t addr;
    pick_target(r, m, &mmio, &addr);
    unsigned size = pick_size(r);
    if (hostile_chance(r, 1, 2))
        hm_write(m, mmio, addr, hostile_next(r), size);
    else
        hm_read(m, mmio, addr, size);
}

static void pio8(struct hmachine *m, uint64_t port, uint8_t v) { hm_write(m, false, port, v, 1); }
static uint8_t pin8(struct hmachine *m, uint64_t port) { return (uint8_t)hm_read(m, false, port, 1); }

static void ioapic_wr(struct hmachine *m, uint64_t off, uint32_t v)
{
    hm_write(m, true, LAYOUT_IOAPIC_BASE + off, v, 4);
}

static uint32_t ioapic_rd(struct hmachine *m, uint64_t off)
{
    return (uint32_t)hm_read(m, true, LAYOUT_IOAPIC_BASE + off, 4);
}

static uint32_t ioapic_reg_read(struct hmachine *m, uint32_t index)
{
    ioapic_wr(m, IOAPIC_IOREGSEL, index);
    return ioapic_rd(m, IOAPIC_IOWIN);
}

static void seq_ioapic(struct hmachine *m, struct hostile_rng *r)
{
    uint32_t index;
    uint64_t k = hostile_below(r, 10);
    if (k < 6)
        index = IOAPIC_REG_REDTBL + (uint32_t)hostile_below(r, 2 * LAYOUT_IOAPIC_PINS);
    else if (k < 8)
        index = (uint32_t)hostile_below(r, 0x100);
    else
        index = (uint32_t)hostile_next(r); /* bits above 7 must be dropped */
    ioapic_wr(m, IOAPIC_IOREGSEL, index);
    uint32_t sel = ioapic_rd(m, IOAPIC_IOREGSEL);
    HCHECK_EQ(sel, index & IOAPIC_IOREGSEL_MASK);

    if (hostile_chance(r, 1, 2)) {
        uint32_t v = (uint32_t)hostile_next(r);
        if (hostile_chance(r, 1, 2))
            v &= ~(uint32_t)IOAPIC_RTE_MASKED; /* unmask more often than chance */
        if (hostile_chance(r, 1, 4))
            v = (v & ~0xffu) | (uint32_t)hostile_below(r, 256);
        ioapic_wr(m, IOAPIC_IOWIN, v);
    }
    uint32_t v = ioapic_rd(m, IOAPIC_IOWIN);
    if (sel == IOAPIC_REG_VER) {
        HCHECK_EQ(FIELD_GET(IOAPIC_VER_VERSION, v), IOAPIC_VERSION_WITH_EOI);
        HCHECK_EQ(FIELD_GET(IOAPIC_VER_MAX_REDIR, v), LAYOUT_IOAPIC_PINS - 1);
    } else if (sel == IOAPIC_REG_ID || sel == IOAPIC_REG_ARB) {
        HCHECK((v & ~(uint32_t)IOAPIC_ID_ID) == 0);
    } else if (sel >= IOAPIC_REG_REDTBL && sel < IOAPIC_REG_REDTBL + 2 * LAYOUT_IOAPIC_PINS) {
        if ((sel - IOAPIC_REG_REDTBL) & 1)
            HCHECK((v & 0xffffu) == 0);           /* RTE bits 47:32 reserved */
        else
            HCHECK((v & GENMASK(31, 17)) == 0);   /* RTE bits 31:17 reserved */
    } else {
        HCHECK_EQ(v, UINT32_MAX);                 /* no such register */
    }

    if (hostile_chance(r, 1, 3))
        ioapic_wr(m, IOAPIC_EOI, (uint32_t)hostile_next(r));
    if (hostile_chance(r, 1, 3))
        ioapic_eoi(m->ioapic, (uint8_t)hostile_next(r));
    if (hostile_chance(r, 1, 2))
        /* the host side: device lines, including pins that do not exist */
        ioapic_set_irq(m->ioapic, (unsigned)hostile_below(r, LAYOUT_IOAPIC_PINS + 8),
                       hostile_chance(r, 1, 2));
}

static void seq_uart(struct hmachine *m, struct hostile_rng *r)
{
    const uint64_t b = LAYOUT_PORT_COM1;
    switch (hostile_below(r, 7)) {
    case 0: /* DLAB on, divisor garbage, maybe leave DLAB set */
        pio8(m, b + UART_LCR, (uint8_t)(hostile_next(r) | UART_LCR_DLAB));
        pio8(m, b + UART_DLL, (uint8_t)hostile_next(r));
        pio8(m, b + UART_DLM, (uint8_t)hostile_next(r));
        (void)pin8(m, b + UART_DLL);
        if (hostile_chance(r, 3, 4))
            pio8(m, b + UART_LCR, (uint8_t)(hostile_next(r) & ~UART_LCR_DLAB));
        break;
    case 1: { /* loopback flood: overruns must stay inside the FIFO */
        pio8(m, b + UART_LCR, 0x03);
        pio8(m, b + UART_MCR, (uint8_t)(hostile_next(r) | UART_MCR_LOOP));
        uint8_t in[8] = { 1, 2, 3 };
        HCHECK_EQ(uart_receive(m->com1, in, sizeof(in)), 0); /* input disconnected */
        HCHECK_EQ(uart_rx_space(m->com1), 0);
        unsigned n = (unsigned)hostile_below(r, 3 * UART_FIFO_SIZE);
        for (unsigned i = 0; i < n; i++)
            pio8(m, b + UART_THR, (uint8_t)hostile_next(r));
        unsigned reads = (unsigned)hostile_below(r, 2 * UART_FIFO_SIZE);
        for (unsigned i = 0; i < reads; i++) {
            (void)pin8(m, b + UART_LSR);
            (void)pin8(m, b + UART_RBR);
        }
        uint8_t msr = pin8(m, b + UART_MSR);
        (void)msr;
        if (hostile_chance(r, 1, 2))
            pio8(m, b + UART_MCR, (uint8_t)(hostile_next(r) & ~UART_MCR_LOOP));
        break;
    }
    case 2: /* FIFO enable/disable/reset with random trigger levels */
        pio8(m, b + UART_FCR, (uint8_t)hostile_next(r));
        (void)pin8(m, b + UART_IIR);
        break;
    case 3: /* interrupt enables, then read IIR/LSR/MSR the way a driver would */
        pio8(m, b + UART_LCR, (uint8_t)(hostile_next(r) & ~UART_LCR_DLAB));
        pio8(m, b + UART_IER, (uint8_t)hostile_next(r));
        for (int i = 0; i < 3; i++)
            (void)pin8(m, b + (uint64_t)(UART_IIR + hostile_below(r, 6)));
        break;
    case 4: /* transmit some bytes */
        for (unsigned i = 0, n = (unsigned)hostile_below(r, 20); i < n; i++)
            pio8(m, b + UART_THR, (uint8_t)hostile_next(r));
        break;
    default: { /* host input bursts: never more than the receiver has room for */
        uint8_t burst[64];
        size_t len = hostile_below(r, sizeof(burst) + 1);
        for (size_t i = 0; i < len; i++)
            burst[i] = (uint8_t)hostile_next(r);
        size_t space = uart_rx_space(m->com1);
        HCHECK(space <= UART_FIFO_SIZE);
        size_t got = uart_receive(m->com1, burst, len);
        HCHECK(got <= len);
        HCHECK(got <= space);
        HCHECK(got == (len < space ? len : space)); /* single-threaded: exactly the room */
        HCHECK_EQ(uart_rx_space(m->com1), space - got);
        m->host_rx_offered += len;
        m->host_rx_accepted += got;
        for (unsigned i = 0, n = (unsigned)hostile_below(r, 20); i < n; i++)
            (void)pin8(m, b + UART_RBR);
        break;
    }
    }
}

static uint8_t rand_bcdish(struct hostile_rng *r)
{
    /* mostly garbage, sometimes plausible BCD */
    if (hostile_chance(r, 1, 3))
        return (uint8_t)((hostile_below(r, 10) << 4) | hostile_below(r, 10));
    return (uint8_t)hostile_next(r);
}

static void rtc_wr(struct hmachine *m, uint8_t index, uint8_t v)
{
    pio8(m, LAYOUT_PORT_RTC, index);
    pio8(m, LAYOUT_PORT_RTC + 1, v);
}

static uint8_t rtc_rd(struct hmachine *m, uint8_t index)
{
    pio8(m, LAYOUT_PORT_RTC, index);
    return pin8(m, LAYOUT_PORT_RTC + 1);
}

static void seq_rtc(struct hmachine *m, struct hostile_rng *r)
{
    static const uint8_t clock_regs[] = { RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK,
                                          RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY };
    uint8_t bmode = (uint8_t)(hostile_next(r) & (RTC_B_DM_BINARY | RTC_B_24H | RTC_B_PIE |
                                                 RTC_B_AIE | RTC_B_UIE | RTC_B_DSE));
    bool set_first = hostile_chance(r, 2, 3);
    if (set_first)
        rtc_wr(m, RTC_REG_B, (uint8_t)(bmode | RTC_B_SET));
    for (unsigned i = 0, n = 1 + (unsigned)hostile_below(r, 8); i < n; i++) {
        uint8_t reg = clock_regs[hostile_below(r, sizeof(clock_regs))];
        rtc_wr(m, reg, rand_bcdish(r));
        if (hostile_chance(r, 1, 3))
            (void)rtc_rd(m, clock_regs[hostile_below(r, sizeof(clock_regs))]);
    }
    if (hostile_chance(r, 1, 4)) /* flip the mode while frozen / running */
        rtc_wr(m, RTC_REG_B, (uint8_t)(hostile_next(r) & ~RTC_B_SET) | (set_first ? RTC_B_SET : 0));
    if (set_first && hostile_chance(r, 3, 4))
        rtc_wr(m, RTC_REG_B, bmode); /* commit: valid dates run, garbage is ignored */
    for (unsigned i = 0, n = (unsigned)hostile_below(r, 4); i < n; i++)
        (void)rtc_rd(m, (uint8_t)hostile_below(r, 256)); /* NMI bit too */
    if (hostile_chance(r, 1, 4))
        rtc_wr(m, (uint8_t)hostile_next(r), (uint8_t)hostile_next(r));
}

static void seq_misc(struct hmachine *m, struct hostile_rng *r)
{
    switch (hostile_below(r, 4)) {
    case 0: { /* i8042 command, maybe followed by data, then drain */
        static const uint8_t cmds[] = { I8042_CMD_CTL_RCTR, I8042_CMD_CTL_WCTR, I8042_CMD_CTL_TEST,
                                        I8042_CMD_WRITE_OUTPORT, I8042_CMD_READ_OUTPORT,
                                        I8042_CMD_KBD_LOOP, I8042_CMD_AUX_LOOP, I8042_CMD_AUX_SEND,
                                        I8042_CMD_PULSE_RESET, 0xff, 0xf0, 0x00 };
        uint8_t c = hostile_chance(r, 3, 4) ? cmds[hostile_below(r, sizeof(cmds))]
                                            : (uint8_t)hostile_next(r);
        pio8(m, LAYOUT_PORT_I8042_CMD, c);
        if (hostile_chance(r, 1, 2))
            pio8(m, LAYOUT_PORT_I8042_DATA, (uint8_t)hostile_next(r));
        (void)pin8(m, LAYOUT_PORT_I8042_CMD);
        (void)pin8(m, LAYOUT_PORT_I8042_DATA);
        break;
    }
    case 1: /* ACPI PM: sleep types, S5, reset values */
        pio8(m, LAYOUT_PORT_ACPI_PM + hostile_below(r, ACPI_PM_REGS_LEN),
             hostile_chance(r, 1, 4) ? (uint8_t)(ACPI_SLEEP_CTL_SLP_EN |
                                                 FIELD_PREP(ACPI_SLEEP_CTL_SLP_TYP,
                                                            hostile_below(r, 8)))
                                     : (uint8_t)hostile_next(r));
        break;
    case 2:
        pio8(m, LAYOUT_PORT_PVPANIC, (uint8_t)hostile_next(r));
        break;
    default:
        pio8(m, LAYOUT_PORT_BOOT_TIMER, (uint8_t)hostile_next(r));
        break;
    }
}

static void storm(struct hmachine *m, uint64_t seed, uint64_t iters)
{
    struct hostile_rng r;
    hostile_rng_seed(&r, seed);
    hostile_cur_seed = seed;
    hostile_cur_what = "storm";
    for (uint64_t i = 0; i < iters; i++) {
        hostile_cur_step = i;
        /* Switch sink/console failure modes now and then. */
        if (i % 4096 == 0) {
            static const unsigned modes[] = { 0, 0, 1, 2, 3, 7, 97 };
            m->sink.fail_every = modes[hostile_below(&r, sizeof(modes) / sizeof(modes[0]))];
            m->out_refuse_every = (unsigned long)hostile_below(&r, 4);
        }
        uint64_t k = hostile_below(&r, 100);
        if (k < 55)
            random_access(m, &r);
        else if (k < 70)
            seq_ioapic(m, &r);
        else if (k < 83)
            seq_uart(m, &r);
        else if (k < 92)
            seq_rtc(m, &r);
        else
            seq_misc(m, &r);
    }
    m->sink.fail_every = 0;
    m->out_refuse_every = 0;
}

/* ---- after the storm: everything still works --------------------------------------- */

static void check_routes_mirror(struct hmachine *m)
{
    hostile_cur_what = "route mirror";
    for (unsigned pin = 0; pin < LAYOUT_IOAPIC_PINS; pin++) {
        uint32_t lo = ioapic_reg_read(m, IOAPIC_REG_REDTBL_LO(pin));
        ioapic_wr(m, IOAPIC_IOWIN, lo); /* same value: re-sends a route a failure left stale */
        lo = ioapic_reg_read(m, IOAPIC_REG_REDTBL_LO(pin));
        uint32_t hi = ioapic_reg_read(m, IOAPIC_REG_REDTBL_HI(pin));
        uint64_t rte = (uint64_t)hi << 32 | lo;
        bool enabled = !(rte & IOAPIC_RTE_MASKED) ||
                       ((rte & IOAPIC_RTE_TRIGGER_LEVEL) && (rte & IOAPIC_RTE_REMOTE_IRR));
        uint64_t addr;
        uint32_t data;
        ioapic_rte_to_msi(rte, &addr, &data);
        const struct fake_route *fr = &m->sink.route[pin];
        HCHECK(fr->set);
        HCHECK_EQ(fr->enabled, enabled);
        if (enabled) {
            HCHECK_EQ(fr->addr, addr);
            HCHECK_EQ(fr->data, data);
        }
    }
}

static void known_good(struct hmachine *m)
{
    const uint64_t b = LAYOUT_PORT_COM1;
    hostile_cur_what = "known-good";

    /* Bus: nobody owns these. */
    HCHECK_EQ(hm_read(m, false, 0x1234, 1), 0xff);
    HCHECK_EQ(hm_read(m, true, 0x1000, 8), UINT64_MAX);
    HCHECK_EQ(hm_read(m, false, LAYOUT_PORT_COM1, 3), 0xffffff);

    /* UART: registers, divisor latch, loopback, host input. */
    pio8(m, b + UART_LCR, 0x03);
    pio8(m, b + UART_MCR, 0x00);
    pio8(m, b + UART_IER, 0x00);
    pio8(m, b + UART_FCR, UART_FCR_FIFO_ENABLE | UART_FCR_RCVR_RESET | UART_FCR_XMIT_RESET);
    pio8(m, b + UART_SCR, 0x5a);
    HCHECK_EQ(pin8(m, b + UART_SCR), 0x5a);
    pio8(m, b + UART_SCR, 0xa5);
    HCHECK_EQ(pin8(m, b + UART_SCR), 0xa5);
    pio8(m, b + UART_LCR, 0x83);
    pio8(m, b + UART_DLL, 0x0c);
    pio8(m, b + UART_DLM, 0x00);
    HCHECK_EQ(pin8(m, b + UART_DLL), 0x0c);
    HCHECK_EQ(pin8(m, b + UART_DLM), 0x00);
    pio8(m, b + UART_LCR, 0x03);
    HCHECK_EQ(pin8(m, b + UART_LCR), 0x03);
    HCHECK_EQ(pin8(m, b + UART_IIR) & 0xcf, UART_IIR_FIFOS_ENABLED | UART_IIR_NO_INT);
    (void)pin8(m, b + UART_LSR); /* clear sticky errors */
    HCHECK_EQ(pin8(m, b + UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
    HCHECK_EQ(uart_rx_space(m->com1), UART_FIFO_SIZE);
    pio8(m, b + UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
    pio8(m, b + UART_THR, 'A');
    HCHECK_EQ(pin8(m, b + UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    HCHECK_EQ(pin8(m, b + UART_RBR), 'A');
    HCHECK(pin8(m, b + UART_MSR) & UART_MSR_CTS);
    pio8(m, b + UART_MCR, 0x00);
    unsigned long tx_before = m->out_calls;
    pio8(m, b + UART_THR, 'z');
    HCHECK_EQ(m->out_calls, tx_before + 1);
    HCHECK_EQ(uart_receive(m->com1, (const uint8_t *)"hi", 2), 2);
    HCHECK_EQ(pin8(m, b + UART_RBR), 'h');
    HCHECK_EQ(pin8(m, b + UART_RBR), 'i');
    HCHECK_EQ(pin8(m, b + UART_LSR) & UART_LSR_DR, 0);
    struct uart_stats st;
    uart_get_stats(m->com1, &st);
    HCHECK_EQ(st.tx_bytes, m->out_calls);
    HCHECK_EQ(st.tx_dropped, m->out_dropped);
    HCHECK_EQ(st.rx_bytes, m->host_rx_accepted + 2);

    /* IOAPIC: version, reset, one edge interrupt end to end. */
    uint32_t ver = ioapic_reg_read(m, IOAPIC_REG_VER);
    HCHECK_EQ(ver, 0x00170020);
    HCHECK_EQ(ioapic_reset(m->ioapic), 0);
    for (unsigned pin = 0; pin < LAYOUT_IOAPIC_PINS; pin++) {
        HCHECK(m->sink.route[pin].set && !m->sink.route[pin].enabled);
        HCHECK_EQ(ioapic_reg_read(m, IOAPIC_REG_REDTBL_LO(pin)), IOAPIC_RTE_RESET);
    }
    for (unsigned pin = 0; pin < LAYOUT_IOAPIC_PINS + 4; pin++)
        ioapic_set_irq(m->ioapic, pin, false);
    ioapic_wr(m, IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL_HI(5));
    ioapic_wr(m, IOAPIC_IOWIN, 0x01000000); /* destination APIC 1 */
    ioapic_wr(m, IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL_LO(5));
    ioapic_wr(m, IOAPIC_IOWIN, 0x31);        /* vector 0x31, fixed, edge, unmasked */
    HCHECK_EQ(ioapic_rd(m, IOAPIC_IOWIN), 0x31);
    HCHECK(m->sink.route[5].enabled);
    unsigned long msis = m->sink.msis;
    ioapic_set_irq(m->ioapic, 5, true);
    HCHECK_EQ(m->sink.msis, msis + 1);
    HCHECK_EQ(m->sink.last_addr, MSI_ADDR_BASE | (1ULL << MSI_ADDR_DEST_ID_SHIFT));
    HCHECK_EQ(m->sink.last_data, 0x31);
    ioapic_set_irq(m->ioapic, 5, false);
    /* The UART's line reaches pin 4: THRE interrupt with the entry unmasked. */
    ioapic_wr(m, IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL_LO(LAYOUT_IRQ_COM1));
    ioapic_wr(m, IOAPIC_IOWIN, 0x24);
    msis = m->sink.msis;
    pio8(m, b + UART_IER, UART_IER_ETBEI);
    HCHECK_EQ(m->sink.msis, msis + 1);
    HCHECK_EQ(m->sink.last_data, 0x24);
    HCHECK_EQ(pin8(m, b + UART_IIR) & 0x0f, UART_IIR_ID_THRE);
    pio8(m, b + UART_IER, 0);

    /* RTC: a running clock with sane registers, RAM round trip. */
    rtc_wr(m, RTC_REG_B, RTC_B_24H);
    HCHECK_EQ(rtc_rd(m, RTC_REG_B), RTC_B_24H);
    uint8_t sec = rtc_rd(m, RTC_SECONDS);
    HCHECK((sec & 0x0f) <= 9 && sec <= 0x59);
    uint8_t min = rtc_rd(m, RTC_MINUTES);
    HCHECK((min & 0x0f) <= 9 && min <= 0x59);
    uint8_t hour = rtc_rd(m, RTC_HOURS);
    HCHECK((hour & 0x0f) <= 9 && hour <= 0x23);
    uint8_t mon = rtc_rd(m, RTC_MONTH);
    HCHECK(mon >= 0x01 && mon <= 0x12 && (mon & 0x0f) <= 9);
    HCHECK_EQ(rtc_rd(m, RTC_REG_D), RTC_D_VRT);
    rtc_wr(m, 0x40, 0xc3);
    HCHECK_EQ(rtc_rd(m, 0x40), 0xc3);
    /* A valid time set through SET sticks. */
    rtc_wr(m, RTC_REG_B, RTC_B_24H | RTC_B_SET);
    rtc_wr(m, RTC_CENTURY, 0x20);
    rtc_wr(m, RTC_YEAR, 0x31);
    rtc_wr(m, RTC_MONTH, 0x07);
    rtc_wr(m, RTC_DAY_OF_MONTH, 0x04);
    rtc_wr(m, RTC_HOURS, 0x12);
    rtc_wr(m, RTC_MINUTES, 0x00);
    rtc_wr(m, RTC_SECONDS, 0x00);
    rtc_wr(m, RTC_REG_B, RTC_B_24H);
    HCHECK_EQ(rtc_rd(m, RTC_YEAR), 0x31);
    HCHECK_EQ(rtc_rd(m, RTC_CENTURY), 0x20);
    HCHECK_EQ(rtc_rd(m, RTC_MONTH), 0x07);
    HCHECK_EQ(rtc_rd(m, RTC_DAY_OF_MONTH), 0x04);

    /* i8042: self test and the configuration byte. */
    pio8(m, LAYOUT_PORT_I8042_CMD, I8042_CMD_CTL_TEST);
    HCHECK(pin8(m, LAYOUT_PORT_I8042_CMD) & I8042_STR_OBF);
    HCHECK_EQ(pin8(m, LAYOUT_PORT_I8042_DATA), I8042_RET_CTL_TEST);
    pio8(m, LAYOUT_PORT_I8042_CMD, I8042_CMD_CTL_WCTR);
    pio8(m, LAYOUT_PORT_I8042_DATA, 0x47);
    pio8(m, LAYOUT_PORT_I8042_CMD, I8042_CMD_CTL_RCTR);
    HCHECK_EQ(pin8(m, LAYOUT_PORT_I8042_DATA), 0x47);

    /* Stops: the counts the guest's writes call for. */
    unsigned long resets = m->stops.by_reason[VM_STOP_RESET];
    pio8(m, LAYOUT_PORT_I8042_CMD, I8042_CMD_PULSE_RESET);
    HCHECK_EQ(m->stops.by_reason[VM_STOP_RESET], resets + 1);
    HCHECK_EQ(m->stops.ctl.last, VM_STOP_RESET);
    HCHECK_EQ(pin8(m, LAYOUT_PORT_PVPANIC), PVPANIC_SUPPORTED);
    pio8(m, LAYOUT_PORT_PVPANIC, PVPANIC_PANICKED);
    HCHECK_EQ(m->stops.ctl.last, VM_STOP_PANIC);
    pio8(m, LAYOUT_PORT_ACPI_SLEEP_CTL,
         (uint8_t)(ACPI_SLEEP_CTL_SLP_EN | FIELD_PREP(ACPI_SLEEP_CTL_SLP_TYP, LAYOUT_ACPI_S5_SLP_TYP)));
    HCHECK_EQ(m->stops.ctl.last, VM_STOP_POWEROFF);

    struct pvpanic_stats ps;
    pvpanic_get_stats(m->pvpanic, &ps);
    HCHECK_EQ(ps.panicked, m->pvpanic_panicked);
    HCHECK_EQ(ps.crash_loaded, m->pvpanic_crash_loaded);
    HCHECK_EQ(m->stops.by_reason[VM_STOP_PANIC], m->pvpanic_panicked);
    HCHECK_EQ(m->stops.by_reason[VM_STOP_POWEROFF], m->acpi_poweroffs);
    HCHECK(m->stops.by_reason[VM_STOP_RESET] >= m->acpi_resets);
    HCHECK_EQ(m->stops.by_reason[VM_STOP_ERROR], 0);
    HCHECK_EQ(m->stops.by_reason[VM_STOP_SIGNAL], 0);
    HCHECK_EQ(m->stops.ctl.calls, m->stops.by_reason[VM_STOP_POWEROFF] +
                                      m->stops.by_reason[VM_STOP_RESET] +
                                      m->stops.by_reason[VM_STOP_PANIC]);
    uint64_t total = 0;
    struct boot_timer_event ev[BOOT_TIMER_HISTORY];
    (void)boot_timer_get_events(m->boot_timer, ev, BOOT_TIMER_HISTORY, &total);
    HCHECK_EQ(total, m->boot_timer_writes);
}

/* ---- IOAPIC creation against a failing sink: clean unwinding ------------------------ */

static void test_ioapic_create_failures(void)
{
    hostile_cur_what = "ioapic_create vs failing sink";
    for (unsigned n = 1; n <= LAYOUT_IOAPIC_PINS + 1; n++) {
        struct fake_sink s = { .fail_every = n };
        struct msi_sink sink = { .send_msi = fake_send_msi, .set_route = fake_set_route,
                                 .opaque = &s };
        struct ioapic *io = NULL;
        int ret = ioapic_create(&sink, &io);
        if (n <= LAYOUT_IOAPIC_PINS) {
            HCHECK_EQ(ret, -EIO); /* LeakSanitizer checks nothing was left behind */
            HCHECK(io == NULL);
        } else {
            HCHECK_EQ(ret, 0);
            ioapic_destroy(io);
        }
    }
}

/* ---- regression RTC-1: years >= 2262 overflowed the nanosecond offset ------------------ */

/*
 * devices/rtc.c rtc_commit():
 *     r->offset_ns = (int64_t)sec * NSEC_PER_SEC - rtc_host_ns();
 * accepts years up to RTC_MAX_YEAR (9999), but int64 nanoseconds since 1970
 * end in April 2262. A guest that sets a year >= 2262 makes this a signed
 * overflow: under UBSan sluice aborts (the guest crashed the VMM); a normal
 * build wraps and the clock then reads some year in the 1700s. Expected: the
 * write applies (the new year reads back) or is ignored as invalid (the old
 * one does). Two ways in, each run in a child so a sanitizer abort is
 * observed rather than suffered:
 *   A: index 0x32 (century) <- 0x23                         (year 23xx)
 *   B: index 0x09 (year) <- 0xff, then again <- 0xff (BCD):
 *      0xff decodes to 165, carrying into the century: 2025 -> 2165 -> 2265.
 */
struct rtc1_variant {
    const char *name;
    uint8_t index;
    uint8_t value;
    unsigned writes;
};

static uint8_t rtc1_read(struct rtc *rtc, uint8_t index)
{
    uint8_t v = index, out;
    rtc_bus_ops.write(rtc, RTC_PORT_INDEX, &v, 1);
    rtc_bus_ops.read(rtc, RTC_PORT_DATA, &out, 1);
    return out;
}

static void rtc1_child(const struct rtc1_variant *var)
{
    struct rtc *rtc;
    if (rtc_create(&rtc))
        _exit(2);
    uint8_t cent_before = rtc1_read(rtc, RTC_CENTURY);
    for (unsigned i = 0; i < var->writes; i++) {
        uint8_t v = var->index;
        rtc_bus_ops.write(rtc, RTC_PORT_INDEX, &v, 1);
        v = var->value;
        rtc_bus_ops.write(rtc, RTC_PORT_DATA, &v, 1);
    }
    uint8_t cent_after = rtc1_read(rtc, RTC_CENTURY);
    uint8_t year_after = rtc1_read(rtc, RTC_YEAR);
    fprintf(stderr, "RTC-1 %s (child): century 0x%02x before, reads %02x%02x after\n", var->name,
            cent_before, cent_after, year_after);
    rtc_destroy(rtc);
    /* Applied means century 0x2x or higher; a 17xx/18xx century is the wrap. */
    _exit(cent_after >= cent_before ? 0 : 3);
}

static void test_regression_rtc_year_overflow(void)
{
    static const struct rtc1_variant variants[] = {
        { "A: century <- 0x23", RTC_CENTURY, 0x23, 1 },
        { "B: year <- 0xff twice (BCD)", RTC_YEAR, 0xff, 2 },
    };
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            CHECK(0);
            return;
        }
        if (pid == 0)
            rtc1_child(&variants[i]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        char what[300];
        snprintf(what, sizeof(what),
                 "%s -> %s (devices/rtc.c rtc_commit: int64 ns overflow for years >= 2262; "
                 "was accepted up to year 9999)",
                 variants[i].name,
                 WIFSIGNALED(status) ? "child killed by a signal"
                 : WIFEXITED(status) && WEXITSTATUS(status) == 3 ? "clock reads back a 17xx year"
                 : ok ? "ok"
                      : "child died (sanitizer report above)");
        hostile_regression("RTC-1", !ok, what);
    }
}

int main(void)
{
    uint64_t iters = hostile_env_u64("SLUICE_HOSTILE_ITERS", DEFAULT_ITERS);
    uint64_t only = hostile_env_u64("SLUICE_HOSTILE_SEED", 0);
    size_t nseeds = only ? 1 : sizeof(default_seeds) / sizeof(default_seeds[0]);
    double t0 = hostile_now_s();

    test_ioapic_create_failures();
    for (size_t i = 0; i < nseeds; i++) {
        uint64_t seed = only ? only : default_seeds[i];
        struct hmachine m;
        double ts = hostile_now_s();
        CHECK_EQ(hm_create(&m), 0);
        storm(&m, seed, iters);
        check_routes_mirror(&m);
        known_good(&m);
        fprintf(stderr,
                "seed 0x%llx: %llu ops in %.2f s; %lu MSIs (%lu refused), %lu route updates "
                "(%lu refused), stops poweroff/reset/panic %lu/%lu/%lu, %lu unowned reads, "
                "uart tx %lu (dropped %lu), host rx %lu/%lu accepted\n",
                (unsigned long long)seed, (unsigned long long)iters, hostile_now_s() - ts,
                m.sink.msis, m.sink.msi_fail, m.sink.routes, m.sink.route_fail,
                m.stops.by_reason[VM_STOP_POWEROFF], m.stops.by_reason[VM_STOP_RESET],
                m.stops.by_reason[VM_STOP_PANIC], m.unowned_reads, m.out_calls, m.out_dropped,
                m.host_rx_accepted, m.host_rx_offered);
        hm_destroy(&m);
    }
    test_regression_rtc_year_overflow();
    fprintf(stderr, "total %.2f s\n", hostile_now_s() - t0);
    return check_result("test_hostile_devices");
}
