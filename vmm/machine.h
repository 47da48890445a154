/* SPDX-License-Identifier: MIT */
/*
 * The legacy machine: creates the platform devices, registers them on the
 * PIO/MMIO buses, wires their interrupt lines to the IOAPIC and connects COM1
 * to the host serial backend (input through the event loop).
 *
 * Order: machine_create() after buses, interrupt routing, serial backend and
 * event loop exist; machine_destroy() before them. machine_create() unwinds
 * on failure.
 */
#ifndef SLUICE_VMM_MACHINE_H
#define SLUICE_VMM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/vm_control.h"
#include "vmm/console_out.h"
#include "vmm/event_loop.h"
#include "vmm/serial_backend.h"

#define MACHINE_MAX_REGIONS 16
#define MACHINE_SERIAL_BUF 256

struct uart;
struct ioapic;
struct i8042;
struct rtc;
struct boot_timer;
struct pvpanic;
struct acpi_pm;

struct machine_config {
    struct bus *pio;
    struct bus *mmio;
    struct msi_sink sink;       /* copied */
    struct vm_control ctl;      /* copied */
    struct serial_backend *serial;
    struct event_loop *loop;
    struct timespec start;      /* process start (CLOCK_MONOTONIC), for the boot timer */
};

struct machine_region {
    struct bus *bus;
    uint64_t base;
};

struct machine {
    struct machine_config cfg;
    struct ioapic *ioapic;
    struct uart *com1;
    struct i8042 *i8042;
    struct acpi_pm *pm;
    struct rtc *rtc;
    struct boot_timer *boot_timer;
    struct pvpanic *pvpanic;
    struct console_out console; /* COM1 output, drained by the main loop */
    bool console_ready;
    struct machine_region regions[MACHINE_MAX_REGIONS];
    unsigned nregions;
    /* serial input not yet accepted by the UART */
    uint8_t serial_buf[MACHINE_SERIAL_BUF];
    size_t serial_len, serial_off;
    bool serial_in_watched, rx_space_watched;
    bool serial_in_unpollable; /* regular file or /dev/null: read when the UART has room */
    bool serial_in_eof;
};

/* Returns 0 or -errno with one line in err. */
int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void machine_destroy(struct machine *m);

/* KVM_EXIT_IOAPIC_EOI handler (opaque is the struct machine). */
void machine_ioapic_eoi(void *opaque, uint8_t vector);

#endif
