/* SPDX-License-Identifier: MIT */
/*
 * I/O APIC register layout: Intel 82093AA datasheet (IOREGSEL, IOWIN,
 * IOAPICID, IOAPICVER, IOAPICARB, IOREDTBL) plus the EOI register of the
 * version 0x20 IOAPIC found in ICH/PCH chipsets, and the RTE fields Linux and
 * Intel VT-d define on top (KVM extended destination id, remappable format).
 */
#ifndef SLUICE_DEVICES_IOAPIC_REGS_H
#define SLUICE_DEVICES_IOAPIC_REGS_H

#include "devices/bits.h"

/* Direct (MMIO) registers, all 32 bits wide. */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOI 0x40
#define IOAPIC_ACCESS_SIZE 4
#define IOAPIC_IOREGSEL_MASK GENMASK(7, 0)
#define IOAPIC_EOI_VECTOR GENMASK(7, 0)

/* Indirect registers, selected by IOREGSEL. */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10 /* entry n: low dword 0x10 + 2n, high dword 0x11 + 2n */
#define IOAPIC_REG_REDTBL_LO(n) (IOAPIC_REG_REDTBL + 2 * (n))
#define IOAPIC_REG_REDTBL_HI(n) (IOAPIC_REG_REDTBL + 2 * (n) + 1)

/* IOAPICID / IOAPICARB */
#define IOAPIC_ID_ID GENMASK(27, 24)
/* IOAPICVER */
#define IOAPIC_VER_VERSION GENMASK(7, 0)
#define IOAPIC_VER_MAX_REDIR GENMASK(23, 16) /* number of entries - 1 */
#define IOAPIC_VERSION_WITH_EOI 0x20          /* has the EOI register */

/* Redirection table entry (64 bits). */
#define IOAPIC_RTE_VECTOR GENMASK(7, 0)
#define IOAPIC_RTE_DELIVERY_MODE GENMASK(10, 8)
#define IOAPIC_RTE_DEST_MODE_LOGICAL BIT(11)
#define IOAPIC_RTE_DELIVERY_STATUS BIT(12)   /* read-only */
#define IOAPIC_RTE_POLARITY_LOW BIT(13)
#define IOAPIC_RTE_REMOTE_IRR BIT(14)        /* read-only */
#define IOAPIC_RTE_TRIGGER_LEVEL BIT(15)
#define IOAPIC_RTE_MASKED BIT(16)
#define IOAPIC_RTE_FORMAT_REMAPPABLE BIT(48) /* VT-d: interrupt format (index in 63:49, 11) */
#define IOAPIC_RTE_EXT_DEST_ID GENMASK(55, 49) /* KVM extended destination id (APIC id 14:8) */
#define IOAPIC_RTE_DEST_ID GENMASK(63, 56)
/* Bits 63:48 as a whole: they become MSI address bits 19:4 (see ioapic_rte_to_msi). */
#define IOAPIC_RTE_DEST_FIELD GENMASK(63, 48)
#define IOAPIC_RTE_RO (IOAPIC_RTE_DELIVERY_STATUS | IOAPIC_RTE_REMOTE_IRR)
/* Bits 47:17 are reserved (read as zero). */
#define IOAPIC_RTE_WRITABLE ((GENMASK(16, 0) & ~IOAPIC_RTE_RO) | IOAPIC_RTE_DEST_FIELD)
#define IOAPIC_RTE_RESET IOAPIC_RTE_MASKED

/* Delivery modes (RTE[10:8], carried to MSI data[10:8]). */
#define IOAPIC_DELIVERY_FIXED 0
#define IOAPIC_DELIVERY_LOWEST_PRIORITY 1
#define IOAPIC_DELIVERY_SMI 2
#define IOAPIC_DELIVERY_NMI 4
#define IOAPIC_DELIVERY_INIT 5
#define IOAPIC_DELIVERY_EXTINT 7

/* MSI address bit 4: interrupt format (remappable) on VT-d; where RTE bit 48
 * lands. The rest of the address/data layout is in devices/irq.h. */
#define IOAPIC_MSI_ADDR_FORMAT_REMAPPABLE BIT(4)

#endif
