/* SPDX-License-Identifier: MIT */
/*
 * Hardware-reduced ACPI fixed registers (ACPI 6.5, 4.8.3.7 Sleep Control and
 * Status Registers, 4.8.3.6 Reset Register), as sluice places them: three
 * 8-bit registers at LAYOUT_PORT_ACPI_PM (the FADT's SLEEP_CONTROL_REG,
 * SLEEP_STATUS_REG and RESET_REG point here).
 */
#ifndef SLUICE_DEVICES_ACPI_PM_REGS_H
#define SLUICE_DEVICES_ACPI_PM_REGS_H

#include "devices/bits.h"
#include "vmm/layout.h"

/* Offsets inside the region. */
#define ACPI_PM_SLEEP_CONTROL (LAYOUT_PORT_ACPI_SLEEP_CTL - LAYOUT_PORT_ACPI_PM)
#define ACPI_PM_SLEEP_STATUS (LAYOUT_PORT_ACPI_SLEEP_STS - LAYOUT_PORT_ACPI_PM)
#define ACPI_PM_RESET (LAYOUT_PORT_ACPI_RESET - LAYOUT_PORT_ACPI_PM)
#define ACPI_PM_REGS_LEN LAYOUT_PORT_ACPI_PM_LEN

/* Sleep Control Register */
#define ACPI_SLEEP_CTL_SLP_TYP GENMASK(4, 2)
#define ACPI_SLEEP_CTL_SLP_EN BIT(5)            /* write-only, reads 0 */

/* Sleep Status Register */
#define ACPI_SLEEP_STS_WAK_STS BIT(7)           /* write 1 to clear */

#endif
