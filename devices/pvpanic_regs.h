/* SPDX-License-Identifier: MIT */
/*
 * pvpanic ISA device (QEMU's pvpanic specification, docs/specs/pvpanic.rst;
 * Linux include/uapi/misc/pvpanic.h): one 8-bit register. Reading returns the
 * events the device supports; writing reports events.
 */
#ifndef SLUICE_DEVICES_PVPANIC_REGS_H
#define SLUICE_DEVICES_PVPANIC_REGS_H

#include "vmm/layout.h"
#include "devices/bits.h"

#define PVPANIC_PANICKED BIT(0)     /* guest kernel panicked */
#define PVPANIC_CRASH_LOADED BIT(1) /* guest crash (kdump) kernel loaded */
#define PVPANIC_SUPPORTED (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)
#define PVPANIC_REG_LEN LAYOUT_PORT_PVPANIC_LEN

#endif
