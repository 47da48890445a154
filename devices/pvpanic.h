/* SPDX-License-Identifier: MIT */
/*
 * pvpanic: the guest tells the host it panicked.
 *
 *     bus_register(pio, LAYOUT_PORT_PVPANIC, PVPANIC_BUS_LEN, &pvpanic_bus_ops,
 *                  pvp, PVPANIC_BUS_SIZES, PVPANIC_BUS_ALIGNED, "pvpanic")
 *
 * Reads return PVPANIC_SUPPORTED (Linux's pvpanic driver only reports events
 * the device advertises). A write with PVPANIC_PANICKED logs "guest kernel
 * panicked" and requests VM_STOP_PANIC; PVPANIC_CRASH_LOADED logs "guest
 * crash kernel loaded" and the guest continues; other bits are ignored.
 *
 * Threads: callbacks on any vCPU thread; one mutex inside (guards the event
 * counters); request_stop is called with it held.
 */
#ifndef SLUICE_DEVICES_PVPANIC_H
#define SLUICE_DEVICES_PVPANIC_H

#include <stdint.h>

#include "devices/bus.h"
#include "devices/pvpanic_regs.h"
#include "devices/vm_control.h"

struct pvpanic;

/* `ctl` is copied (ctl->opaque must outlive the device). Returns 0 and *out,
 * or -EINVAL / -ENOMEM / -errno. */
int pvpanic_create(const struct vm_control *ctl, struct pvpanic **out)
    __attribute__((warn_unused_result));
/* Free it (unregistered from the bus first). NULL is a no-op. */
void pvpanic_destroy(struct pvpanic *pvp);

extern const struct bus_ops pvpanic_bus_ops;
#define PVPANIC_BUS_LEN PVPANIC_REG_LEN
#define PVPANIC_BUS_SIZES BUS_SIZE_1
#define PVPANIC_BUS_ALIGNED true

struct pvpanic_stats {
    uint64_t panicked;     /* writes with PVPANIC_PANICKED */
    uint64_t crash_loaded; /* writes with PVPANIC_CRASH_LOADED */
};
void pvpanic_get_stats(struct pvpanic *pvp, struct pvpanic_stats *stats);

#endif
