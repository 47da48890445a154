/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "machine"
#include "vmm/machine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "devices/acpi_pm.h"
#include "devices/boot_timer.h"
#include "devices/i8042.h"
#include "devices/ioapic.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "vmm/console_out.h"
#include "vmm/layout.h"
#include "vmm/log.h"

static int machine_register(struct machine *m, struct bus *bus, uint64_t base, uint64_t len,
                            const struct bus_ops *ops, void *opaque, unsigned sizes, bool aligned,
                            const char *name)
{
    if (m->nregions == MACHINE_MAX_REGIONS)
        return -ENOSPC;
    int ret = bus_register(bus, base, len, ops, opaque, sizes, aligned, name);
    if (ret)
        return ret;
    m->regions[m->nregions++] = (struct machine_region){.bus = bus, .base = base};
    return 0;
}

/* --- COM1 input: host fd -> UART, with back-pressure through rx_space_fd ---
 *
 * A pollable input (tty, pipe, pty) is read when epoll says so. A regular file
 * or /dev/null cannot be polled; it is always readable, so it is read whenever
 * the UART has room, and the rx_space eventfd paces it. */

static void machine_watch(struct machine *m, int fd, bool *watched, bool on)
{
    if (*watched == on)
        return;
    if (event_loop_modify(m->cfg.loop, fd, on ? EPOLLIN : 0) == 0)
        *watched = on;
}

/* Reads the next chunk of input. Returns false at EOF or on a read error. */
static bool machine_serial_read(struct machine *m)
{
    ssize_t n = read(m->cfg.serial->in_fd, m->serial_buf, sizeof(m->serial_buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0) {
        /* EOF or a broken input: the guest simply gets no more input */
        if (!m->serial_in_unpollable)
            event_loop_remove(m->cfg.loop, m->cfg.serial->in_fd);
        m->serial_in_watched = false;
        m->serial_in_eof = true;
        return false;
    }
    m->serial_len = (size_t)n;
    m->serial_off = 0;
    return true;
}

/* Pushes pending input into the UART and decides what to wait for next. */
static void machine_serial_flush(struct machine *m)
{
    for (;;) {
        m->serial_off += uart_receive(m->com1, m->serial_buf + m->serial_off,
                                      m->serial_len - m->serial_off);
        bool done = m->serial_off == m->serial_len;
        if (done && m->serial_in_unpollable && !m->serial_in_eof) {
            /* read on even when the UART is full: the short receive arms rx_space_fd */
            if (!machine_serial_read(m))
                break;
            continue;
        }
        if (!m->serial_in_unpollable && !m->serial_in_eof)
            machine_watch(m, m->cfg.serial->in_fd, &m->serial_in_watched, done);
        /* While bytes are pending (or a file has more), wait for the guest to make room. */
        bool want_space = !done || (m->serial_in_unpollable && !m->serial_in_eof);
        machine_watch(m, uart_rx_space_fd(m->com1), &m->rx_space_watched, want_space);
        break;
    }
}

static void machine_on_serial_input(void *opaque, uint32_t events)
{
    struct machine *m = opaque;
    (void)events;
    if (machine_serial_read(m))
        machine_serial_flush(m);
}

static void machine_on_rx_space(void *opaque, uint32_t events)
{
    struct machine *m = opaque;
    uint64_t v;
    (void)events;
    if (read(uart_rx_space_fd(m->com1), &v, sizeof(v)) < 0 && errno != EAGAIN)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "reading the UART space eventfd: %s", strerror(errno));
    machine_serial_flush(m);
}

static int machine_connect_serial_input(struct machine *m)
{
    int in_fd = m->cfg.serial->in_fd;
    if (in_fd < 0)
        return 0;
    int ret = event_loop_add(m->cfg.loop, uart_rx_space_fd(m->com1), 0, machine_on_rx_space, m);
    if (ret)
        return ret;
    ret = event_loop_add(m->cfg.loop, in_fd, EPOLLIN, machine_on_serial_input, m);
    if (ret == -EPERM) {
        m->serial_in_unpollable = true;
        machine_serial_flush(m);
        return 0;
    }
    if (ret == 0)
        m->serial_in_watched = true;
    return ret;
}

/* --- devices --- */

static int machine_create_devices(struct machine *m)
{
    int ret;
    if ((ret = ioapic_create(&m->cfg.sink, &m->ioapic)))
        return ret;
    struct uart_config ucfg = {
        .irq = ioapic_irq_line(m->ioapic, LAYOUT_IRQ_COM1),
    };
    if (m->cfg.serial->out_fd >= 0) {
        if ((ret = console_out_init(&m->console, m->cfg.serial->out_fd, m->cfg.loop)))
            return ret;
        m->console_ready = true;
        ucfg.output = console_out_push;
        ucfg.output_opaque = &m->console;
    }
    if ((ret = uart_create(&ucfg, &m->com1)) || (ret = i8042_create(&m->cfg.ctl, &m->i8042)) ||
        (ret = acpi_pm_create(&m->cfg.ctl, &m->pm)) || (ret = rtc_create(&m->rtc)) ||
        (ret = boot_timer_create(&m->cfg.start, &m->boot_timer)) ||
        (ret = pvpanic_create(&m->cfg.ctl, &m->pvpanic)))
        return ret;
    return 0;
}

static int machine_register_devices(struct machine *m)
{
    struct bus *pio = m->cfg.pio, *mmio = m->cfg.mmio;
    int ret;
    if ((ret = machine_register(m, mmio, LAYOUT_IOAPIC_BASE, LAYOUT_IOAPIC_SIZE, &ioapic_bus_ops,
                                m->ioapic, IOAPIC_BUS_SIZES, IOAPIC_BUS_ALIGNED, "ioapic")) ||
        (ret = machine_register(m, pio, LAYOUT_PORT_COM1, UART_BUS_LEN, &uart_bus_ops, m->com1,
                                UART_BUS_SIZES, UART_BUS_ALIGNED, "com1")) ||
        (ret = machine_register(m, pio, LAYOUT_PORT_I8042_DATA, I8042_BUS_LEN, &i8042_data_bus_ops,
                                m->i8042, I8042_BUS_SIZES, I8042_BUS_ALIGNED, "i8042-data")) ||
        (ret = machine_register(m, pio, LAYOUT_PORT_I8042_CMD, I8042_BUS_LEN, &i8042_cmd_bus_ops,
                                m->i8042, I8042_BUS_SIZES, I8042_BUS_ALIGNED, "i8042-cmd")) ||
        (ret = machine_register(m, pio, LAYOUT_PORT_ACPI_PM, ACPI_PM_BUS_LEN, &acpi_pm_bus_ops,
                                m->pm, ACPI_PM_BUS_SIZES, ACPI_PM_BUS_ALIGNED, "acpi-pm")) ||
        (ret = machine_register(m, pio, LAYOUT_PORT_RTC, RTC_BUS_LEN, &rtc_bus_ops, m->rtc,
                                RTC_BUS_SIZES, RTC_BUS_ALIGNED, "rtc")) ||
        (ret = machine_register(m, pio, LAYOUT_PORT_BOOT_TIMER, BOOT_TIMER_BUS_LEN,
                                &boot_timer_bus_ops, m->boot_timer, BOOT_TIMER_BUS_SIZES,
                                BOOT_TIMER_BUS_ALIGNED, "boot-timer")) ||
        (ret = machine_register(m, pio, LAYOUT_PORT_PVPANIC, PVPANIC_BUS_LEN, &pvpanic_bus_ops,
                                m->pvpanic, PVPANIC_BUS_SIZES, PVPANIC_BUS_ALIGNED, "pvpanic")))
        return ret;
    return 0;
}

int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    const char *step = "creating the devices";
    int ret = machine_create_devices(m);
    if (ret)
        goto err;
    step = "placing the devices on the bus";
    ret = machine_register_devices(m);
    if (ret)
        goto err;
    step = "connecting serial input";
    ret = machine_connect_serial_input(m);
    if (ret)
        goto err;
    return 0;
err:
    snprintf(err, errlen, "%s failed: %s", step, strerror(-ret));
    machine_destroy(m);
    return ret;
}

void machine_destroy(struct machine *m)
{
    if (m->cfg.loop && m->com1) {
        if (m->cfg.serial && m->cfg.serial->in_fd >= 0 && !m->serial_in_unpollable)
            event_loop_remove(m->cfg.loop, m->cfg.serial->in_fd);
        event_loop_remove(m->cfg.loop, uart_rx_space_fd(m->com1));
    }
    while (m->nregions > 0) {
        struct machine_region *r = &m->regions[--m->nregions];
        (void)bus_unregister(r->bus, r->base);
    }
    pvpanic_destroy(m->pvpanic);
    boot_timer_destroy(m->boot_timer);
    rtc_destroy(m->rtc);
    acpi_pm_destroy(m->pm);
    i8042_destroy(m->i8042);
    uart_destroy(m->com1);
    if (m->console_ready)
        console_out_destroy(&m->console);
    ioapic_destroy(m->ioapic);
    memset(m, 0, sizeof(*m));
}

void machine_ioapic_eoi(void *opaque, uint8_t vector)
{
    struct machine *m = opaque;
    ioapic_eoi(m->ioapic, vector);
}
