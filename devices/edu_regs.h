/* SPDX-License-Identifier: MIT */
/*
 * Register layout of the "edu" educational PCI device, as documented in
 * QEMU's docs/specs/edu.rst (1234:11e8): BAR 0 is 1 MiB of MMIO; registers
 * below EDU_REG_WIDE_BASE take 4-byte accesses only, registers from there on
 * 4- or 8-byte accesses. A 4 KiB DMA buffer sits at device address
 * EDU_DMA_BUF_BASE.
 *
 * sluice extensions at offsets QEMU leaves unused (marked "extension"): the
 * upper halves of the 64-bit DMA registers take 4-byte accesses, the DMA
 * buffer is also readable and writable through BAR 0 at EDU_DMA_BUF_BASE,
 * and EDU_REG_DMA_ERROR tells why the last transfer did not happen.
 *
 * This header is shared with the guest program tests/e2e/guest-tools/edu-dma.c,
 * which is built without include paths: it includes only "bits.h" (found next
 * to it, devices/bits.h) and must stay free of other project headers.
 */
#ifndef SLUICE_DEVICES_EDU_REGS_H
#define SLUICE_DEVICES_EDU_REGS_H

#include "bits.h"

/* PCI identity (as QEMU's edu: conventional PCI, class "other", rev 0x10). */
#define EDU_PCI_VENDOR_ID 0x1234
#define EDU_PCI_DEVICE_ID 0x11e8
#define EDU_PCI_REVISION 0x10
#define EDU_PCI_CLASS_CODE 0x00ff00 /* base class 0xff (unassigned), subclass 0 */
#define EDU_PCI_SUBSYSTEM_ID 0x1100 /* QEMU's default, vendor 1af4 (Red Hat/Qumranet) */
#define EDU_PCI_BAR 0
#define EDU_BAR_SIZE (1ULL << 20)   /* 1 MiB */

/* Registers (byte offsets in BAR 0). */
#define EDU_REG_ID 0x00             /* RO identification */
#define EDU_REG_LIVENESS 0x04       /* RW: reads the inverse of the last write */
#define EDU_REG_FACTORIAL 0x08      /* RW: write n, read n! once COMPUTING clears */
#define EDU_REG_STATUS 0x20         /* RW: EDU_STATUS_* */
#define EDU_REG_IRQ_STATUS 0x24     /* RO: bits that raised the interrupt */
#define EDU_REG_IRQ_RAISE 0x60      /* WO: OR into IRQ_STATUS and raise */
#define EDU_REG_IRQ_ACK 0x64        /* WO: clear bits of IRQ_STATUS, lower when 0 */
#define EDU_REG_WIDE_BASE 0x80      /* from here on 8-byte accesses are allowed too */
#define EDU_REG_DMA_SRC 0x80        /* RW 64-bit: source address */
#define EDU_REG_DMA_DST 0x88        /* RW 64-bit: destination address */
#define EDU_REG_DMA_COUNT 0x90      /* RW 64-bit: bytes to transfer */
#define EDU_REG_DMA_CMD 0x98        /* RW: EDU_DMA_CMD_* */
#define EDU_REG_DMA_ERROR 0xa0      /* RO, extension: EDU_DMA_ERR_* of the last start */
#define EDU_REG_HI_HALF 0x4         /* extension: 4-byte access to a 64-bit register's upper half */

/* EDU_REG_ID: 0xRRrr00ed, RR major, rr minor version. */
#define EDU_ID_MAJOR GENMASK(31, 24)
#define EDU_ID_MINOR GENMASK(23, 16)
#define EDU_ID_MAGIC GENMASK(7, 0)
#define EDU_ID_MAGIC_VALUE 0xed
#define EDU_ID_VALUE                                                                      \
    ((unsigned)(FIELD_PREP(EDU_ID_MAJOR, 1) | FIELD_PREP(EDU_ID_MINOR, 0) |               \
                FIELD_PREP(EDU_ID_MAGIC, EDU_ID_MAGIC_VALUE)))

/* EDU_REG_STATUS */
#define EDU_STATUS_COMPUTING BIT(0) /* RO: factorial in progress */
#define EDU_STATUS_IRQFACT BIT(7)   /* RW: raise EDU_IRQ_FACTORIAL when done */

/* Values a completion ORs into EDU_REG_IRQ_STATUS. */
#define EDU_IRQ_FACTORIAL 0x00000001u
#define EDU_IRQ_DMA 0x00000100u

/* EDU_REG_DMA_CMD */
#define EDU_DMA_CMD_START BIT(0)    /* set by the driver, cleared on completion */
#define EDU_DMA_CMD_TO_RAM BIT(1)   /* direction: 0 RAM -> EDU, 1 EDU -> RAM */
#define EDU_DMA_CMD_IRQ BIT(2)      /* raise EDU_IRQ_DMA when done */
#define EDU_DMA_CMD_MASK (EDU_DMA_CMD_START | EDU_DMA_CMD_TO_RAM | EDU_DMA_CMD_IRQ)

/* The device's DMA buffer, in device address space (the EDU side of a
 * transfer) and, as an extension, at the same offset in BAR 0. */
#define EDU_DMA_BUF_BASE 0x40000ULL
#define EDU_DMA_BUF_SIZE 0x1000ULL

/* EDU_REG_DMA_ERROR (extension): why the last started transfer did not happen. */
#define EDU_DMA_ERR_NONE 0
#define EDU_DMA_ERR_RANGE 1         /* EDU-side address/count outside the buffer */
#define EDU_DMA_ERR_NO_MASTER 2     /* bus mastering disabled in PCI_COMMAND */
#define EDU_DMA_ERR_FAULT 3         /* the RAM side faulted (IOMMU or not RAM) */

#endif
