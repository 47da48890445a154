/* SPDX-License-Identifier: MIT */
/*
 * Boot timer: a 1-byte port the guest writes to mark boot milestones. Every
 * write is logged at info level (rate-limited) as
 *     "boot-timer: guest wrote 0xNN at N.NNN ms since sluice start"
 * and the last BOOT_TIMER_HISTORY events are kept for benchmarks and tests.
 * Reads return all-ones.
 *
 *     bus_register(pio, LAYOUT_PORT_BOOT_TIMER, BOOT_TIMER_BUS_LEN, &boot_timer_bus_ops,
 *                  bt, BOOT_TIMER_BUS_SIZES, BOOT_TIMER_BUS_ALIGNED, "boot-timer")
 *
 * Threads: callbacks and queries on any thread; one mutex inside.
 */
#ifndef SLUICE_DEVICES_BOOT_TIMER_H
#define SLUICE_DEVICES_BOOT_TIMER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "devices/bus.h"

struct boot_timer;

#define BOOT_TIMER_REG_LEN 1
#define BOOT_TIMER_HISTORY 16

struct boot_timer_event {
    uint8_t value;          /* the byte the guest wrote */
    uint64_t ns_since_start; /* CLOCK_MONOTONIC time since `start` */
};

/* `start` is sluice's start time on CLOCK_MONOTONIC (copied). Returns 0 and
 * *out, or -EINVAL / -ENOMEM / -errno. */
int boot_timer_create(const struct timespec *start, struct boot_timer **out)
    __attribute__((warn_unused_result));
/* Free it (unregistered from the bus first). NULL is a no-op. */
void boot_timer_destroy(struct boot_timer *bt);

extern const struct bus_ops boot_timer_bus_ops;
#define BOOT_TIMER_BUS_LEN BOOT_TIMER_REG_LEN
#define BOOT_TIMER_BUS_SIZES BUS_SIZE_1
#define BOOT_TIMER_BUS_ALIGNED true

/*
 * Copy up to `max` of the most recent events, oldest first, into `events`.
 * Returns how many were copied (at most BOOT_TIMER_HISTORY). If `total` is not
 * NULL it receives the number of writes since create (older ones are gone).
 */
size_t boot_timer_get_events(struct boot_timer *bt, struct boot_timer_event *events, size_t max,
                             uint64_t *total);

#endif
