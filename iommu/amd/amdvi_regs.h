/* SPDX-License-Identifier: MIT */
/*
 * AMD I/O Virtualization Technology (IOMMU) hardware layout, named after the
 * AMD IOMMU specification (pub. 48882, rev 3.x): the PCI capability block,
 * the MMIO register file, the control/status bits, the extended feature
 * registers, command and event formats and the device table entry.
 *
 * Commands and events are 128 bits; they are handled here as two
 * little-endian quadwords q0 (bytes 0-7) and q1 (bytes 8-15). The DTE is
 * 256 bits: q0..q3.
 */
#ifndef SLUICE_IOMMU_AMD_AMDVI_REGS_H
#define SLUICE_IOMMU_AMD_AMDVI_REGS_H

#include "devices/bits.h"

/* Translation granule. */
#define AMDVI_PAGE_SHIFT 12u
#define AMDVI_PAGE_SIZE (1ULL << AMDVI_PAGE_SHIFT)

/* ---- PCI function -------------------------------------------------------- */
#define AMDVI_PCI_VENDOR_ID 0x1022        /* AMD */
#define AMDVI_PCI_DEVICE_ID 0x1419        /* family 15h IOMMU, as QEMU's amd-iommu */
#define AMDVI_PCI_CLASS_CODE 0x080600     /* system peripheral, IOMMU */
#define AMDVI_PCI_CAP_ID 0x0f             /* PCI_CAP_ID_SECDEV: "Secure Device" = IOMMU */

/* IOMMU capability block (spec 3.2.1), offsets from the capability. */
#define AMDVI_CAP_HEADER 0x00
#define AMDVI_CAP_BASE_LOW 0x04
#define AMDVI_CAP_BASE_HIGH 0x08
#define AMDVI_CAP_RANGE 0x0c
#define AMDVI_CAP_MISC0 0x10
#define AMDVI_CAP_MISC1 0x14
#define AMDVI_CAP_LEN 0x18

#define AMDVI_CAP_HDR_TYPE GENMASK(18, 16)
#define AMDVI_CAP_HDR_REV GENMASK(23, 19)
#define AMDVI_CAP_HDR_IOTLB_SUP BIT(24)
#define AMDVI_CAP_HDR_HT_TUNNEL BIT(25)
#define AMDVI_CAP_HDR_NP_CACHE BIT(26)
#define AMDVI_CAP_HDR_EFR_SUP BIT(27)
#define AMDVI_CAP_HDR_CAP_EXT BIT(28)
#define AMDVI_CAP_TYPE_IOMMU 3u
#define AMDVI_CAP_REV_1 1u

#define AMDVI_CAP_BASE_LOW_ENABLE BIT(0)
#define AMDVI_CAP_BASE_LOW_ADDR GENMASK(31, 14)

#define AMDVI_CAP_RANGE_UNIT_ID GENMASK(4, 0)
#define AMDVI_CAP_RANGE_VALID BIT(7)
#define AMDVI_CAP_RANGE_BUS GENMASK(15, 8)
#define AMDVI_CAP_RANGE_FIRST_DEV GENMASK(23, 16)
#define AMDVI_CAP_RANGE_LAST_DEV GENMASK(31, 24)

#define AMDVI_CAP_MISC0_MSI_NUM GENMASK(4, 0)
#define AMDVI_CAP_MISC0_GVA_SIZE GENMASK(7, 5)
#define AMDVI_CAP_MISC0_PA_SIZE GENMASK(14, 8)
#define AMDVI_CAP_MISC0_VA_SIZE GENMASK(21, 15)
#define AMDVI_CAP_MISC0_HT_ATS_RESV BIT(22)
#define AMDVI_CAP_MISC0_MSI_NUM_PPR GENMASK(31, 27)
#define AMDVI_GVA_SIZE_48 2u              /* GVAsize 010b: 48-bit guest virtual addresses */
#define AMDVI_PA_SIZE 48u
#define AMDVI_VA_SIZE 64u                 /* 6-level v1 tables: 64-bit IOVAs */

/* ---- MMIO register file (spec 3.4) ------------------------------------------ */
#define AMDVI_MMIO_SIZE 0x4000ULL         /* 16 KiB: no performance counters (PCSup = 0) */
#define AMDVI_MMIO_DEV_TABLE_BASE 0x0000
#define AMDVI_MMIO_CMD_BUF_BASE 0x0008
#define AMDVI_MMIO_EVENT_LOG_BASE 0x0010
#define AMDVI_MMIO_CONTROL 0x0018
#define AMDVI_MMIO_EXCL_BASE 0x0020
#define AMDVI_MMIO_EXCL_LIMIT 0x0028
#define AMDVI_MMIO_EFR 0x0030
#define AMDVI_MMIO_PPR_LOG_BASE 0x0038
#define AMDVI_MMIO_HW_EVENT_HI 0x0040
#define AMDVI_MMIO_HW_EVENT_LO 0x0048
#define AMDVI_MMIO_HW_EVENT_STATUS 0x0050
#define AMDVI_MMIO_GA_LOG_BASE 0x00e0
#define AMDVI_MMIO_GA_LOG_TAIL_ADDR 0x00e8
#define AMDVI_MMIO_INTCAPXT_EVT 0x0170
#define AMDVI_MMIO_INTCAPXT_PPR 0x0178
#define AMDVI_MMIO_INTCAPXT_GALOG 0x0180
#define AMDVI_MMIO_EFR2 0x01a0
#define AMDVI_MMIO_CMD_HEAD 0x2000
#define AMDVI_MMIO_CMD_TAIL 0x2008
#define AMDVI_MMIO_EVENT_HEAD 0x2010
#define AMDVI_MMIO_EVENT_TAIL 0x2018
#define AMDVI_MMIO_STATUS 0x2020
#define AMDVI_MMIO_PPR_HEAD 0x2030
#define AMDVI_MMIO_PPR_TAIL 0x2038
#define AMDVI_MMIO_GA_HEAD 0x2040
#define AMDVI_MMIO_GA_TAIL 0x2048
#define AMDVI_MMIO_REG_SIZE 8u

/* Device Table Base Address Register */
#define AMDVI_DEV_TABLE_BASE_ADDR GENMASK(51, 12)
#define AMDVI_DEV_TABLE_SIZE GENMASK(8, 0)  /* (Size + 1) * 4 KiB */
#define AMDVI_DEV_TABLE_SIZE_UNIT 0x1000ULL

/* Command Buffer / Event Log Base Address Registers */
#define AMDVI_LOG_BASE_ADDR GENMASK(51, 12)
#define AMDVI_LOG_LEN GENMASK(59, 56)        /* 2^Len entries */
#define AMDVI_LOG_LEN_MIN 8u                 /* 0..7 reserved: 256 entries minimum */
#define AMDVI_LOG_LEN_MAX 15u                /* 32768 entries */
#define AMDVI_CMD_BUF_BASE_ADDR AMDVI_LOG_BASE_ADDR
#define AMDVI_CMD_BUF_LEN AMDVI_LOG_LEN
#define AMDVI_EVENT_LOG_BASE_ADDR AMDVI_LOG_BASE_ADDR
#define AMDVI_EVENT_LOG_LEN AMDVI_LOG_LEN

/* Head/tail pointers: byte offset of a 16-byte entry, bits 18:4. */
#define AMDVI_LOG_PTR GENMASK(18, 4)
#define AMDVI_CMD_ENTRY_SIZE 16u
#define AMDVI_EVENT_ENTRY_SIZE 16u

/* IOMMU Control Register */
#define AMDVI_CTRL_IOMMU_EN BIT(0)
#define AMDVI_CTRL_HT_TUN_EN BIT(1)
#define AMDVI_CTRL_EVENT_LOG_EN BIT(2)
#define AMDVI_CTRL_EVENT_INT_EN BIT(3)
#define AMDVI_CTRL_COM_WAIT_INT_EN BIT(4)
#define AMDVI_CTRL_INV_TIMEOUT GENMASK(7, 5)
#define AMDVI_CTRL_PASS_PW BIT(8)
#define AMDVI_CTRL_RES_PASS_PW BIT(9)
#define AMDVI_CTRL_COHERENT BIT(10)
#define AMDVI_CTRL_ISOC BIT(11)
#define AMDVI_CTRL_CMDBUF_EN BIT(12)
#define AMDVI_CTRL_PPR_LOG_EN BIT(13)
#define AMDVI_CTRL_PPR_INT_EN BIT(14)
#define AMDVI_CTRL_PPR_EN BIT(15)
#define AMDVI_CTRL_GT_EN BIT(16)
#define AMDVI_CTRL_GA_EN BIT(17)
#define AMDVI_CTRL_GAM_EN BIT(25)
#define AMDVI_CTRL_GALOG_EN BIT(28)
#define AMDVI_CTRL_GAINT_EN BIT(29)
#define AMDVI_CTRL_XT_EN BIT(50)
#define AMDVI_CTRL_INTCAPXT_EN BIT(51)
/* Bits this model implements (others read as zero). Guest-tables adds GTEn. */
#define AMDVI_CTRL_WRITABLE                                                                   \
    (AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_HT_TUN_EN | AMDVI_CTRL_EVENT_LOG_EN |                   \
     AMDVI_CTRL_EVENT_INT_EN | AMDVI_CTRL_COM_WAIT_INT_EN | AMDVI_CTRL_INV_TIMEOUT |          \
     AMDVI_CTRL_PASS_PW | AMDVI_CTRL_RES_PASS_PW | AMDVI_CTRL_COHERENT | AMDVI_CTRL_ISOC |     \
     AMDVI_CTRL_CMDBUF_EN)

/* Exclusion Base / Limit */
#define AMDVI_EXCL_BASE_EX_EN BIT(0)
#define AMDVI_EXCL_BASE_ALLOW BIT(1)          /* exclusion applies to every device */
#define AMDVI_EXCL_ADDR GENMASK(51, 12)
#define AMDVI_EXCL_LIMIT_LOW GENMASK(11, 0)   /* the limit is inclusive of its 4 KiB page */

/* Extended Feature Register (EFR) */
#define AMDVI_EFR_PREF_SUP BIT(0)
#define AMDVI_EFR_PPR_SUP BIT(1)
#define AMDVI_EFR_XT_SUP BIT(2)
#define AMDVI_EFR_NX_SUP BIT(3)
#define AMDVI_EFR_GT_SUP BIT(4)
#define AMDVI_EFR_IA_SUP BIT(6)
#define AMDVI_EFR_GA_SUP BIT(7)
#define AMDVI_EFR_HE_SUP BIT(8)
#define AMDVI_EFR_PC_SUP BIT(9)
#define AMDVI_EFR_HATS GENMASK(11, 10)
#define AMDVI_EFR_GATS GENMASK(13, 12)
#define AMDVI_EFR_GLX_SUP GENMASK(15, 14)
#define AMDVI_EFR_SMIF_SUP GENMASK(17, 16)
#define AMDVI_EFR_SMIF_RC GENMASK(20, 18)
#define AMDVI_EFR_GAM_SUP GENMASK(23, 21)
#define AMDVI_EFR_PAS_MAX GENMASK(36, 32)
#define AMDVI_EFR_US_SUP BIT(37)
#define AMDVI_EFR_GIO_SUP BIT(48)
#define AMDVI_EFR_HA_SUP BIT(49)
#define AMDVI_EFR_EPH_SUP BIT(50)
#define AMDVI_EFR_HD_SUP BIT(52)
#define AMDVI_EFR_HATS_6_LEVEL 2u             /* host tables up to 6 levels */
#define AMDVI_EFR_GATS_4_LEVEL 0u             /* guest tables: 4-level x86-64 */

/* Hardware Event Status */
#define AMDVI_HW_EVENT_STATUS_HEV BIT(0)
#define AMDVI_HW_EVENT_STATUS_HEO BIT(1)

/* IOMMU Status Register */
#define AMDVI_STATUS_EVENT_OVERFLOW BIT(0)
#define AMDVI_STATUS_EVENT_LOG_INT BIT(1)
#define AMDVI_STATUS_COM_WAIT_INT BIT(2)
#define AMDVI_STATUS_EVENT_LOG_RUN BIT(3)
#define AMDVI_STATUS_CMDBUF_RUN BIT(4)
#define AMDVI_STATUS_W1C \
    (AMDVI_STATUS_EVENT_OVERFLOW | AMDVI_STATUS_EVENT_LOG_INT | AMDVI_STATUS_COM_WAIT_INT)

/* ---- Commands (spec 2.4) -------------------------------------------------- */
#define AMDVI_CMD_OPCODE GENMASK(63, 60)      /* in q0 */
#define AMDVI_CMD_COMPLETION_WAIT 0x1u
#define AMDVI_CMD_INVALIDATE_DEVTAB_ENTRY 0x2u
#define AMDVI_CMD_INVALIDATE_IOMMU_PAGES 0x3u
#define AMDVI_CMD_INVALIDATE_IOTLB_PAGES 0x4u
#define AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE 0x5u
#define AMDVI_CMD_PREFETCH_IOMMU_PAGES 0x6u
#define AMDVI_CMD_COMPLETE_PPR_REQUEST 0x7u
#define AMDVI_CMD_INVALIDATE_IOMMU_ALL 0x8u

/* COMPLETION_WAIT: q0 = s | i | f | store address[51:3]; q1 = store data. */
#define AMDVI_CMD_COMPL_WAIT_S BIT(0)
#define AMDVI_CMD_COMPL_WAIT_I BIT(1)
#define AMDVI_CMD_COMPL_WAIT_F BIT(2)
#define AMDVI_CMD_COMPL_WAIT_ADDR GENMASK(51, 3)
#define AMDVI_CMD_COMPL_WAIT_RSVD0 GENMASK(59, 52)

/* INVALIDATE_DEVTAB_ENTRY / INVALIDATE_INTERRUPT_TABLE: q0 = DeviceID. */
#define AMDVI_CMD_DEVID GENMASK(15, 0)
#define AMDVI_CMD_DEVID_RSVD0 GENMASK(59, 16)
#define AMDVI_CMD_RSVD1_ALL GENMASK(63, 0)

/* INVALIDATE_IOMMU_PAGES: q0 = PASID | DomainID; q1 = S | PDE | GN | address. */
#define AMDVI_CMD_INV_PASID GENMASK(19, 0)
#define AMDVI_CMD_INV_DOMAIN_ID GENMASK(47, 32)
#define AMDVI_CMD_INV_PAGES_RSVD0 (GENMASK(31, 20) | GENMASK(59, 48))
#define AMDVI_CMD_INV_S BIT(0)
#define AMDVI_CMD_INV_PDE BIT(1)
#define AMDVI_CMD_INV_GN BIT(2)
#define AMDVI_CMD_INV_RSVD1 GENMASK(11, 3)
#define AMDVI_CMD_INV_ADDR GENMASK(63, 12)
/* S = 1 with every address bit below 63 set: all pages. */
#define AMDVI_CMD_INV_ALL_PAGES_ADDR 0x7ffffffffffff000ULL

/* INVALIDATE_IOTLB_PAGES (device IOTLB, ATS): q0 = DeviceID | PASID[15:8] |
 * MaxPend | QueueId/PASID[7:0]; q1 = S | GN | address. */
#define AMDVI_CMD_IOTLB_RSVD0 GENMASK(59, 56)
#define AMDVI_CMD_IOTLB_RSVD1 (BIT(1) | GENMASK(11, 3))

/* INVALIDATE_IOMMU_ALL: everything but the opcode is reserved. */
#define AMDVI_CMD_INV_ALL_RSVD0 GENMASK(59, 0)

/* ---- Events (spec 2.5) ------------------------------------------------------ */
#define AMDVI_EVT_DEVID GENMASK(15, 0)        /* q0 */
#define AMDVI_EVT_PASID_HI GENMASK(19, 16)    /* q0: PASID[19:16] */
#define AMDVI_EVT_DOMAIN_PASID GENMASK(47, 32) /* q0: DomainID, or PASID[15:0] when GN */
#define AMDVI_EVT_FLAGS GENMASK(59, 48)       /* q0 */
#define AMDVI_EVT_CODE GENMASK(63, 60)        /* q0 */
/* q1 is the address (IOVA, DTE, PTE or command address). */
#define AMDVI_EVT_ILLEGAL_DEV_TABLE_ENTRY 0x1u
#define AMDVI_EVT_IO_PAGE_FAULT 0x2u
#define AMDVI_EVT_DEV_TAB_HARDWARE_ERROR 0x3u
#define AMDVI_EVT_PAGE_TAB_HARDWARE_ERROR 0x4u
#define AMDVI_EVT_ILLEGAL_COMMAND_ERROR 0x5u
#define AMDVI_EVT_COMMAND_HARDWARE_ERROR 0x6u
#define AMDVI_EVT_IOTLB_INV_TIMEOUT 0x7u
/* Flag bits, relative to AMDVI_EVT_FLAGS. */
#define AMDVI_EVT_FLAG_GN BIT(0)
#define AMDVI_EVT_FLAG_NX BIT(1)
#define AMDVI_EVT_FLAG_US BIT(2)
#define AMDVI_EVT_FLAG_I BIT(3)
#define AMDVI_EVT_FLAG_PR BIT(4)
#define AMDVI_EVT_FLAG_RW BIT(5)
#define AMDVI_EVT_FLAG_PE BIT(6)
#define AMDVI_EVT_FLAG_RZ BIT(7)
#define AMDVI_EVT_FLAG_TR BIT(8)
#define AMDVI_EVT_FLAG_HW_TYPE GENMASK(10, 9) /* hardware errors */
#define AMDVI_HW_ERR_MASTER_ABORT 0u
#define AMDVI_HW_ERR_TARGET_ABORT 1u
#define AMDVI_HW_ERR_DATA_ERROR 2u

/* ---- Device table entry (spec 2.2.2), 256 bits ---------------------------------- */
#define AMDVI_DTE_SIZE 32u
#define AMDVI_DTE_QWORDS 4u
/* q0 */
#define AMDVI_DTE_V BIT(0)
#define AMDVI_DTE_TV BIT(1)
#define AMDVI_DTE_RSVD0_6_2 GENMASK(6, 2)
#define AMDVI_DTE_HAD GENMASK(8, 7)
#define AMDVI_DTE_MODE GENMASK(11, 9)
#define AMDVI_DTE_PT_ROOT GENMASK(51, 12)
#define AMDVI_DTE_PPR BIT(52)
#define AMDVI_DTE_GPRP BIT(53)
#define AMDVI_DTE_GIOV BIT(54)
#define AMDVI_DTE_GV BIT(55)
#define AMDVI_DTE_GLX GENMASK(57, 56)
#define AMDVI_DTE_GCR3_A GENMASK(60, 58)     /* GCR3 table root [14:12] */
#define AMDVI_DTE_IR BIT(61)
#define AMDVI_DTE_IW BIT(62)
#define AMDVI_DTE_RSVD0_63 BIT(63)
/* q1 */
#define AMDVI_DTE_DOMAIN_ID GENMASK(15, 0)
#define AMDVI_DTE_GCR3_B GENMASK(31, 16)     /* GCR3 table root [30:15] */
#define AMDVI_DTE_I BIT(32)                  /* device IOTLB enable (ATS) */
#define AMDVI_DTE_SE BIT(33)
#define AMDVI_DTE_SA BIT(34)
#define AMDVI_DTE_IOCTL GENMASK(36, 35)
#define AMDVI_DTE_CACHE BIT(37)
#define AMDVI_DTE_SD BIT(38)
#define AMDVI_DTE_EX BIT(39)                 /* exclusion range applies */
#define AMDVI_DTE_SYS_MGT GENMASK(41, 40)
#define AMDVI_DTE_GCR3_C GENMASK(63, 43)     /* GCR3 table root [51:31] */
/* q2 (interrupt remapping: decoded by the interrupt-remapping unit) */
#define AMDVI_DTE_IV BIT(0)
#define AMDVI_DTE_INT_TAB_LEN GENMASK(4, 1)
#define AMDVI_DTE_IG BIT(5)
#define AMDVI_DTE_INT_TABLE_ROOT GENMASK(51, 6)
#define AMDVI_DTE_GUEST_PAGING_MODE GENMASK(55, 54) /* 0 = 4-level, 1 = 5-level */
#define AMDVI_DTE_INIT_PASS BIT(56)
#define AMDVI_DTE_EINT_PASS BIT(57)
#define AMDVI_DTE_NMI_PASS BIT(58)
#define AMDVI_DTE_INT_CTL GENMASK(61, 60)
#define AMDVI_DTE_LINT0_PASS BIT(62)
#define AMDVI_DTE_LINT1_PASS BIT(63)
/* GCR3 table root pieces: bit positions inside the address. */
#define AMDVI_GCR3_A_SHIFT 12u
#define AMDVI_GCR3_B_SHIFT 15u
#define AMDVI_GCR3_C_SHIFT 31u

#define AMDVI_DTE_MODE_NONE 0u
#define AMDVI_DTE_MODE_MAX 6u
#define AMDVI_DTE_GLX_MAX 2u                /* GLX 3 is reserved */

/* ---- Interrupt remapping (spec 2.2.5) ------------------------------------------- */
/* DTE q2 fields: see AMDVI_DTE_IV .. AMDVI_DTE_LINT1_PASS above. */
#define AMDVI_DTE_INT_TAB_LEN_MAX 11u       /* 2^11 = 2048 entries; 12..15 reserved */
#define AMDVI_DTE_INT_CTL_ABORT 0u          /* target abort fixed/arbitrated interrupts */
#define AMDVI_DTE_INT_CTL_FORWARD 1u        /* forward them unmapped */
#define AMDVI_DTE_INT_CTL_REMAP 2u          /* remap them through the IRTE */
#define AMDVI_DTE_INT_CTL_RSVD 3u
#define AMDVI_IRT_ALIGN 128u                /* IntTableRootPtr is bits 51:6; Linux aligns 128 */

/* Interrupt request as the IOMMU sees it: MSI data[10:0] indexes the table,
 * data[10:8] is the upstream message type (spec Table 19). */
#define AMDVI_IR_MSI_INDEX GENMASK(10, 0)
#define AMDVI_IR_MSI_TYPE GENMASK(10, 8)
#define AMDVI_IR_TYPE_FIXED 0u
#define AMDVI_IR_TYPE_ARBITRATED 1u
#define AMDVI_IR_TYPE_SMI 2u
#define AMDVI_IR_TYPE_NMI 4u
#define AMDVI_IR_TYPE_INIT 5u
#define AMDVI_IR_TYPE_EXTINT 7u

/* Legacy 32-bit IRTE (GAEn = 0). */
#define AMDVI_IRTE_SIZE 4u
#define AMDVI_IRTE_REMAP_EN BIT(0)
#define AMDVI_IRTE_SUP_IOPF BIT(1)
#define AMDVI_IRTE_INT_TYPE GENMASK(4, 2)
#define AMDVI_IRTE_RQ_EOI BIT(5)
#define AMDVI_IRTE_DM BIT(6)
#define AMDVI_IRTE_GUEST_MODE BIT(7)
#define AMDVI_IRTE_DEST GENMASK(15, 8)
#define AMDVI_IRTE_VECTOR GENMASK(23, 16)

/* 128-bit IRTE (GAEn = 1), guest mode 0: lo quadword and hi quadword. */
#define AMDVI_IRTE_GA_SIZE 16u
#define AMDVI_IRTE_GA_LO_REMAP_EN BIT(0)
#define AMDVI_IRTE_GA_LO_SUP_IOPF BIT(1)
#define AMDVI_IRTE_GA_LO_INT_TYPE GENMASK(4, 2)
#define AMDVI_IRTE_GA_LO_RQ_EOI BIT(5)
#define AMDVI_IRTE_GA_LO_DM BIT(6)
#define AMDVI_IRTE_GA_LO_GUEST_MODE BIT(7)
#define AMDVI_IRTE_GA_LO_DEST_LO GENMASK(31, 8)    /* Destination[23:0] */
#define AMDVI_IRTE_GA_HI_VECTOR GENMASK(7, 0)
#define AMDVI_IRTE_GA_HI_DEST_HI GENMASK(63, 56)   /* Destination[31:24] */
#define AMDVI_IRTE_GA_DEST_HI_SHIFT 24u

/* IntCapXT registers (0x170 event/completion, 0x178 PPR, 0x180 GA log):
 * the IOMMU's own interrupts when Control.IntCapXTEn = 1 (needs XTSup). */
#define AMDVI_INTCAPXT_DM BIT(2)
#define AMDVI_INTCAPXT_DEST_LO GENMASK(31, 8)       /* Destination[23:0] */
#define AMDVI_INTCAPXT_VECTOR GENMASK(39, 32)
#define AMDVI_INTCAPXT_DEST_HI GENMASK(63, 56)      /* Destination[31:24] */
#define AMDVI_INTCAPXT_WRITABLE \
    (AMDVI_INTCAPXT_DM | AMDVI_INTCAPXT_DEST_LO | AMDVI_INTCAPXT_VECTOR | AMDVI_INTCAPXT_DEST_HI)

/* Control bits that exist only with interrupt remapping advertised. */
#define AMDVI_CTRL_IR_WRITABLE (AMDVI_CTRL_GA_EN | AMDVI_CTRL_XT_EN | AMDVI_CTRL_INTCAPXT_EN)

/* ---- IVHD image fields (ACPI IVRS, spec 5.2.2) -------------------------------------- */
/* IVHD flags byte (types 10h/11h). */
#define AMDVI_IVHD_FLAG_HT_TUN_EN BIT(0)
#define AMDVI_IVHD_FLAG_PASS_PW BIT(1)
#define AMDVI_IVHD_FLAG_RES_PASS_PW BIT(2)
#define AMDVI_IVHD_FLAG_ISOC BIT(3)
#define AMDVI_IVHD_FLAG_IOTLB_SUP BIT(4)
#define AMDVI_IVHD_FLAG_COHERENT BIT(5)
#define AMDVI_IVHD_FLAG_PREF_SUP BIT(6)      /* type 10h only */
#define AMDVI_IVHD_FLAG_PPR_SUP BIT(7)       /* type 10h only */
/* IOMMU Info (types 10h/11h). */
#define AMDVI_IVHD_INFO_MSI_NUM GENMASK(4, 0)
#define AMDVI_IVHD_INFO_UNIT_ID GENMASK(12, 8)
/* IOMMU Feature Reporting (type 10h). */
#define AMDVI_IVHD_FEAT_XT_SUP BIT(0)
#define AMDVI_IVHD_FEAT_NX_SUP BIT(1)
#define AMDVI_IVHD_FEAT_GT_SUP BIT(2)
#define AMDVI_IVHD_FEAT_GLX_SUP GENMASK(4, 3)
#define AMDVI_IVHD_FEAT_IA_SUP BIT(5)
#define AMDVI_IVHD_FEAT_GA_SUP BIT(6)
#define AMDVI_IVHD_FEAT_HE_SUP BIT(7)
#define AMDVI_IVHD_FEAT_PAS_MAX GENMASK(12, 8)
#define AMDVI_IVHD_FEAT_PN_COUNTERS GENMASK(16, 13)
#define AMDVI_IVHD_FEAT_PN_BANKS GENMASK(22, 17)
#define AMDVI_IVHD_FEAT_MSI_NUM_PPR GENMASK(27, 23)
#define AMDVI_IVHD_FEAT_GATS GENMASK(29, 28)
#define AMDVI_IVHD_FEAT_HATS GENMASK(31, 30)

#endif
