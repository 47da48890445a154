/* SPDX-License-Identifier: MIT */
/*
 * Hardware-reduced ACPI power management registers (devices/acpi_pm_regs.h):
 * sleep control, sleep status and reset, one byte each.
 *
 *     bus_register(pio, LAYOUT_PORT_ACPI_PM, ACPI_PM_BUS_LEN, &acpi_pm_bus_ops,
 *                  pm, ACPI_PM_BUS_SIZES, ACPI_PM_BUS_ALIGNED, "acpi-pm")
 *
 * Writing SLP_EN with SLP_TYP == LAYOUT_ACPI_S5_SLP_TYP requests
 * VM_STOP_POWEROFF; other sleep types are logged and ignored (sleep states
 * are not supported, so the DSDT should only offer \_S5). WAK_STS is
 * write-1-to-clear and is never set (the machine never wakes from sleep).
 * Writing LAYOUT_ACPI_RESET_VALUE to the reset register requests
 * VM_STOP_RESET; other values are ignored. SLP_EN and the reset register
 * read as 0.
 *
 * Threads: callbacks on any vCPU thread; one mutex inside; request_stop is
 * called with it held.
 */
#ifndef SLUICE_DEVICES_ACPI_PM_H
#define SLUICE_DEVICES_ACPI_PM_H

#include "devices/acpi_pm_regs.h"
#include "devices/bus.h"
#include "devices/vm_control.h"

struct acpi_pm;

/* `ctl` is copied (ctl->opaque must outlive the device). Returns 0 and *out,
 * or -EINVAL / -ENOMEM / -errno. */
int acpi_pm_create(const struct vm_control *ctl, struct acpi_pm **out)
    __attribute__((warn_unused_result));
/* Free it (unregistered from the bus first). NULL is a no-op. */
void acpi_pm_destroy(struct acpi_pm *pm);

extern const struct bus_ops acpi_pm_bus_ops;
#define ACPI_PM_BUS_LEN ACPI_PM_REGS_LEN
#define ACPI_PM_BUS_SIZES BUS_SIZE_1
#define ACPI_PM_BUS_ALIGNED true

#endif
