/* SPDX-License-Identifier: MIT */
/*
 * A minimal i8042 keyboard controller with no keyboard or mouse attached.
 * Its job: let Linux reboot through the controller (command 0xFE, or any
 * pulse/write of the output port that drives the reset line low, requests
 * VM_STOP_RESET) and answer probes plausibly: the status register is never
 * busy, controller commands (configuration byte, self tests, port
 * enable/disable, output port, loop-back) return what a real controller
 * returns, bytes meant for the (absent) keyboard or mouse are dropped. It
 * raises no interrupts (IRQ 1/12 are not wired).
 *
 * Two separate 1-byte PIO regions, each with its own ops:
 *     bus_register(pio, LAYOUT_PORT_I8042_DATA, I8042_BUS_LEN, &i8042_data_bus_ops,
 *                  kbc, I8042_BUS_SIZES, I8042_BUS_ALIGNED, "i8042-data")
 *     bus_register(pio, LAYOUT_PORT_I8042_CMD, I8042_BUS_LEN, &i8042_cmd_bus_ops,
 *                  kbc, I8042_BUS_SIZES, I8042_BUS_ALIGNED, "i8042-cmd")
 *
 * Threads: callbacks on any vCPU thread; one mutex inside. vm_control's
 * request_stop is called with it held.
 */
#ifndef SLUICE_DEVICES_I8042_H
#define SLUICE_DEVICES_I8042_H

#include "devices/bus.h"
#include "devices/i8042_regs.h"
#include "devices/vm_control.h"

struct i8042;

/* Create one in its reset state. `ctl` is copied (ctl->opaque must outlive
 * it). Returns 0 and *out, or -EINVAL / -ENOMEM / -errno. */
int i8042_create(const struct vm_control *ctl, struct i8042 **out)
    __attribute__((warn_unused_result));
/* Free it (unregistered from the bus first). NULL is a no-op. */
void i8042_destroy(struct i8042 *kbc);

extern const struct bus_ops i8042_data_bus_ops; /* port 0x60 */
extern const struct bus_ops i8042_cmd_bus_ops;  /* port 0x64 */
#define I8042_BUS_LEN I8042_PORT_LEN
#define I8042_BUS_SIZES BUS_SIZE_1
#define I8042_BUS_ALIGNED true

#endif
