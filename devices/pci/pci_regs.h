/* SPDX-License-Identifier: MIT */
/*
 * PCI/PCIe configuration register layout. The standard names come from
 * <linux/pci_regs.h> (linux-libc-dev, the PCI spec's layout); sluice adds the
 * few it needs that the kernel header lacks.
 */
#ifndef SLUICE_DEVICES_PCI_PCI_REGS_H
#define SLUICE_DEVICES_PCI_PCI_REGS_H

#include <linux/pci_regs.h>

#define PCI_DEVFN_MAKE(slot, fn) ((uint8_t)(((slot) << 3) | ((fn) & 7)))
#define PCI_DEVFN_SLOT(devfn) (((devfn) >> 3) & 0x1f)
#define PCI_DEVFN_FN(devfn) ((devfn) & 7)
#define PCI_RID_MAKE(bus, devfn) ((uint16_t)(((bus) << 8) | (devfn)))

/* Vendor/device ids sluice uses for its own functions (as QEMU's q35 does). */
#define PCI_VENDOR_ID_INTEL 0x8086
#define PCI_VENDOR_ID_REDHAT 0x1b36
#define PCI_VENDOR_ID_REDHAT_QUMRANET 0x1af4
#define PCI_DEVICE_ID_INTEL_Q35_MCH 0x29c0      /* host bridge at 00:00.0 */
#define PCI_DEVICE_ID_REDHAT_PCIE_RP 0x000c     /* pcie-root-port */
#define PCI_CLASS_CODE_HOST_BRIDGE 0x060000
#define PCI_CLASS_CODE_PCI_BRIDGE 0x060400

#endif
