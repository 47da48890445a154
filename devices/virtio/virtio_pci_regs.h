/* SPDX-License-Identifier: MIT */
/*
 * sluice's virtio-pci function layout (virtio spec 1.2, 4.1). Structure and
 * field layouts come from <linux/virtio_pci.h> (struct virtio_pci_cap,
 * VIRTIO_PCI_COMMON_*, VIRTIO_PCI_CAP_*); this header only fixes where sluice
 * puts things and the PCI identity of a modern virtio function.
 *
 * BAR 4 (64-bit, prefetchable memory, 64 KiB), as QEMU lays it out:
 *   0x0000  common configuration          (VIRTIO_PCI_CAP_COMMON_CFG)
 *   0x1000  ISR status                    (VIRTIO_PCI_CAP_ISR_CFG)
 *   0x2000  device-specific configuration (VIRTIO_PCI_CAP_DEVICE_CFG)
 *   0x3000  notify doorbells, queue q at 0x3000 + 4 * q (VIRTIO_PCI_CAP_NOTIFY_CFG)
 *   0x8000  MSI-X table (16 bytes per vector)
 *   0xc000  MSI-X PBA
 */
#ifndef SLUICE_DEVICES_VIRTIO_VIRTIO_PCI_REGS_H
#define SLUICE_DEVICES_VIRTIO_VIRTIO_PCI_REGS_H

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

/* PCI identity of a modern (non-transitional) virtio function (4.1.2.1); the
 * vendor is PCI_VENDOR_ID_REDHAT_QUMRANET (devices/pci/pci_regs.h). */
#define VIRTIO_PCI_DEVICE_ID_MODERN_BASE 0x1040
#define VIRTIO_PCI_REVISION_MODERN 1
#define VIRTIO_PCI_INTX_PIN_A 1

/* BAR 4 layout. */
#define VIRTIO_PCI_BAR 4
#define VIRTIO_PCI_BAR_SIZE 0x10000ULL
#define VIRTIO_PCI_REGION_SIZE 0x1000u
#define VIRTIO_PCI_COMMON_OFF 0x0000u
#define VIRTIO_PCI_ISR_OFF 0x1000u
#define VIRTIO_PCI_DEVICE_OFF 0x2000u
#define VIRTIO_PCI_NOTIFY_OFF 0x3000u
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 4u
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x8000u
#define VIRTIO_PCI_MSIX_PBA_OFF 0xc000u

/* Bytes of the common configuration structure sluice implements: through
 * queue_reset (the last field of virtio 1.2's struct virtio_pci_common_cfg). */
#define VIRTIO_PCI_COMMON_CFG_LEN (VIRTIO_PCI_COMMON_Q_RESET + 2u)

/* ISR status bits (4.1.4.5); VIRTIO_PCI_ISR_CONFIG (0x2) is in <linux/virtio_pci.h>. */
#define VIRTIO_PCI_ISR_QUEUE 0x1u

/* The PCI configuration access capability (struct virtio_pci_cfg_cap):
 * offsets of its fields inside the capability. */
#define VIRTIO_PCI_CFG_CAP_DATA 16u
#define VIRTIO_PCI_CFG_CAP_DATA_LEN 4u

/* PCIe capability of the function: a v2 endpoint with a 2.5 GT/s x1 link, the
 * structure through Slot Status 2. */
#define VIRTIO_PCI_PCIE_CAP_VERSION 2u
#define VIRTIO_PCI_PCIE_CAP_LEN (PCI_EXP_SLTSTA2 + 2u)
#define VIRTIO_PCI_PCIE_LINK_WIDTH 1u /* lanes, in PCI_EXP_LNKCAP_MLW */

#endif
