/* SPDX-License-Identifier: MIT */
/*
 * ACPI table layouts and field values, named after the ACPI 6.x specification
 * (chapter 5.2, "ACPI System Description Tables"). Hardware layout only: no
 * code. The builders and the unit tests include this same header.
 *
 * All structures are packed and little-endian, exactly as they sit in guest
 * memory. Never take the address of a member (it may be unaligned): fill a
 * local copy and memcpy it into place.
 */
#ifndef SLUICE_ACPI_ACPI_SPEC_H
#define SLUICE_ACPI_ACPI_SPEC_H

#include <stdint.h>

#include "devices/bits.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ACPI tables are little-endian; sluice builds them with host-order stores"
#endif

#define ACPI_BIT(n) (1u << (n))
#define ACPI_PACKED __attribute__((packed))

/* --- 5.2.5.3 Root System Description Pointer (RSDP) ----------------------- */
#define ACPI_RSDP_SIGNATURE "RSD PTR "
#define ACPI_RSDP_SIGNATURE_LEN 8
#define ACPI_RSDP_REVISION 2        /* ACPI 2.0+: XSDT present */
#define ACPI_RSDP_V1_LEN 20         /* bytes covered by the first checksum */
#define ACPI_RSDP_ALIGN 16          /* the legacy scan looks on 16-byte boundaries */

struct acpi_rsdp {
    char signature[ACPI_RSDP_SIGNATURE_LEN]; /* Signature */
    uint8_t checksum;                        /* Checksum (first 20 bytes) */
    char oem_id[6];                          /* OEMID */
    uint8_t revision;                        /* Revision */
    uint32_t rsdt_address;                   /* RsdtAddress */
    uint32_t length;                         /* Length */
    uint64_t xsdt_address;                   /* XsdtAddress */
    uint8_t extended_checksum;               /* Extended Checksum */
    uint8_t reserved[3];                     /* Reserved */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

/* --- 5.2.6 System Description Table Header ------------------------------- */
#define ACPI_SIG_LEN 4
#define ACPI_OEM_ID_LEN 6
#define ACPI_OEM_TABLE_ID_LEN 8
#define ACPI_TABLE_ALIGN 8

struct acpi_table_header {
    char signature[ACPI_SIG_LEN];             /* Signature */
    uint32_t length;                          /* Length */
    uint8_t revision;                         /* Revision */
    uint8_t checksum;                         /* Checksum */
    char oem_id[ACPI_OEM_ID_LEN];             /* OEMID */
    char oem_table_id[ACPI_OEM_TABLE_ID_LEN]; /* OEM Table ID */
    uint32_t oem_revision;                    /* OEM Revision */
    char creator_id[ACPI_SIG_LEN];            /* Creator ID */
    uint32_t creator_revision;                /* Creator Revision */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_table_header) == 36, "SDT header is 36 bytes");

/* Offset of the Checksum byte in any SDT header (and in the RSDP). */
#define ACPI_HEADER_CHECKSUM_OFFSET 9
#define ACPI_RSDP_CHECKSUM_OFFSET 8
#define ACPI_RSDP_EXT_CHECKSUM_OFFSET 32

/* --- 5.2.3.2 Generic Address Structure (GAS) ----------------------------- */
#define ACPI_GAS_SPACE_SYSTEM_MEMORY 0
#define ACPI_GAS_SPACE_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_UNDEFINED 0
#define ACPI_GAS_ACCESS_BYTE 1
#define ACPI_GAS_ACCESS_WORD 2
#define ACPI_GAS_ACCESS_DWORD 3
#define ACPI_GAS_ACCESS_QWORD 4

struct acpi_gas {
    uint8_t address_space_id;    /* Address Space ID */
    uint8_t register_bit_width;  /* Register Bit Width */
    uint8_t register_bit_offset; /* Register Bit Offset */
    uint8_t access_size;         /* Access Size */
    uint64_t address;            /* Address */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

/* --- 5.2.8 Extended System Description Table (XSDT) ---------------------- */
#define ACPI_SIG_XSDT "XSDT"
#define ACPI_XSDT_REVISION 1
#define ACPI_XSDT_ENTRY_SIZE 8 /* Entry: 64-bit physical addresses */

/* --- 5.2.9 Fixed ACPI Description Table (FADT) --------------------------- */
#define ACPI_SIG_FADT "FACP"
#define ACPI_FADT_REVISION 6       /* Major Version: ACPI 6.x */
#define ACPI_FADT_MINOR_VERSION 5  /* FADT Minor Version: 6.5 */

/* Preferred_PM_Profile */
#define ACPI_FADT_PM_PROFILE_UNSPECIFIED 0

/* IA-PC Boot Architecture Flags (IAPC_BOOT_ARCH), table 5.11 */
#define ACPI_FADT_IAPC_LEGACY_DEVICES ACPI_BIT(0)
#define ACPI_FADT_IAPC_8042 ACPI_BIT(1)
#define ACPI_FADT_IAPC_VGA_NOT_PRESENT ACPI_BIT(2)
#define ACPI_FADT_IAPC_MSI_NOT_SUPPORTED ACPI_BIT(3)
#define ACPI_FADT_IAPC_PCIE_ASPM_CONTROLS ACPI_BIT(4)
#define ACPI_FADT_IAPC_CMOS_RTC_NOT_PRESENT ACPI_BIT(5)

/* Fixed Feature Flags (Flags), table 5.10 */
#define ACPI_FADT_F_WBINVD ACPI_BIT(0)
#define ACPI_FADT_F_RESET_REG_SUP ACPI_BIT(10)
#define ACPI_FADT_F_HW_REDUCED_ACPI ACPI_BIT(20)

/* The Sleep Control/Status Register bits (SLP_TYP, SLP_EN, WAK_STS) are the
 * device model's business: devices/acpi_pm_regs.h. */

struct acpi_fadt {
    struct acpi_table_header header;    /* Header, Signature "FACP" */
    uint32_t firmware_ctrl;             /* FIRMWARE_CTRL */
    uint32_t dsdt;                      /* DSDT */
    uint8_t reserved0;                  /* Reserved (was INT_MODEL) */
    uint8_t preferred_pm_profile;       /* Preferred_PM_Profile */
    uint16_t sci_int;                   /* SCI_INT */
    uint32_t smi_cmd;                   /* SMI_CMD */
    uint8_t acpi_enable;                /* ACPI_ENABLE */
    uint8_t acpi_disable;               /* ACPI_DISABLE */
    uint8_t s4bios_req;                 /* S4BIOS_REQ */
    uint8_t pstate_cnt;                 /* PSTATE_CNT */
    uint32_t pm1a_evt_blk;              /* PM1a_EVT_BLK */
    uint32_t pm1b_evt_blk;              /* PM1b_EVT_BLK */
    uint32_t pm1a_cnt_blk;              /* PM1a_CNT_BLK */
    uint32_t pm1b_cnt_blk;              /* PM1b_CNT_BLK */
    uint32_t pm2_cnt_blk;               /* PM2_CNT_BLK */
    uint32_t pm_tmr_blk;                /* PM_TMR_BLK */
    uint32_t gpe0_blk;                  /* GPE0_BLK */
    uint32_t gpe1_blk;                  /* GPE1_BLK */
    uint8_t pm1_evt_len;                /* PM1_EVT_LEN */
    uint8_t pm1_cnt_len;                /* PM1_CNT_LEN */
    uint8_t pm2_cnt_len;                /* PM2_CNT_LEN */
    uint8_t pm_tmr_len;                 /* PM_TMR_LEN */
    uint8_t gpe0_blk_len;               /* GPE0_BLK_LEN */
    uint8_t gpe1_blk_len;               /* GPE1_BLK_LEN */
    uint8_t gpe1_base;                  /* GPE1_BASE */
    uint8_t cst_cnt;                    /* CST_CNT */
    uint16_t p_lvl2_lat;                /* P_LVL2_LAT */
    uint16_t p_lvl3_lat;                /* P_LVL3_LAT */
    uint16_t flush_size;                /* FLUSH_SIZE */
    uint16_t flush_stride;              /* FLUSH_STRIDE */
    uint8_t duty_offset;                /* DUTY_OFFSET */
    uint8_t duty_width;                 /* DUTY_WIDTH */
    uint8_t day_alrm;                   /* DAY_ALRM */
    uint8_t mon_alrm;                   /* MON_ALRM */
    uint8_t century;                    /* CENTURY */
    uint16_t iapc_boot_arch;            /* IAPC_BOOT_ARCH */
    uint8_t reserved1;                  /* Reserved */
    uint32_t flags;                     /* Flags */
    struct acpi_gas reset_reg;          /* RESET_REG */
    uint8_t reset_value;                /* RESET_VALUE */
    uint16_t arm_boot_arch;             /* ARM_BOOT_ARCH */
    uint8_t minor_version;              /* FADT Minor Version */
    uint64_t x_firmware_ctrl;           /* X_FIRMWARE_CTRL */
    uint64_t x_dsdt;                    /* X_DSDT */
    struct acpi_gas x_pm1a_evt_blk;     /* X_PM1a_EVT_BLK */
    struct acpi_gas x_pm1b_evt_blk;     /* X_PM1b_EVT_BLK */
    struct acpi_gas x_pm1a_cnt_blk;     /* X_PM1a_CNT_BLK */
    struct acpi_gas x_pm1b_cnt_blk;     /* X_PM1b_CNT_BLK */
    struct acpi_gas x_pm2_cnt_blk;      /* X_PM2_CNT_BLK */
    struct acpi_gas x_pm_tmr_blk;       /* X_PM_TMR_BLK */
    struct acpi_gas x_gpe0_blk;         /* X_GPE0_BLK */
    struct acpi_gas x_gpe1_blk;         /* X_GPE1_BLK */
    struct acpi_gas sleep_control_reg;  /* SLEEP_CONTROL_REG */
    struct acpi_gas sleep_status_reg;   /* SLEEP_STATUS_REG */
    uint64_t hypervisor_vendor_id;      /* Hypervisor Vendor Identity */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");

/* --- 5.2.11.1 Differentiated System Description Table (DSDT) ------------- */
#define ACPI_SIG_DSDT "DSDT"
#define ACPI_DSDT_REVISION 2 /* 2+: AML integers are 64 bits wide */

/* --- 5.2.12 Multiple APIC Description Table (MADT) ----------------------- */
#define ACPI_SIG_MADT "APIC"
#define ACPI_MADT_REVISION 5 /* ACPI 6.3+ (Online Capable flag defined) */
#define ACPI_MADT_F_PCAT_COMPAT ACPI_BIT(0)

struct acpi_madt {
    struct acpi_table_header header; /* Header, Signature "APIC" */
    uint32_t local_apic_address;     /* Local Interrupt Controller Address */
    uint32_t flags;                  /* Flags */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT fixed part is 44 bytes");

/* Interrupt Controller Structure Types, table 5.21 */
#define ACPI_MADT_TYPE_LOCAL_APIC 0x00
#define ACPI_MADT_TYPE_IO_APIC 0x01
#define ACPI_MADT_TYPE_INT_SRC_OVERRIDE 0x02
#define ACPI_MADT_TYPE_LOCAL_APIC_NMI 0x04
#define ACPI_MADT_TYPE_LOCAL_X2APIC 0x09
#define ACPI_MADT_TYPE_LOCAL_X2APIC_NMI 0x0a

/* Local APIC Flags, table 5.23 */
#define ACPI_MADT_LAPIC_ENABLED ACPI_BIT(0)
#define ACPI_MADT_LAPIC_ONLINE_CAPABLE ACPI_BIT(1)

/* APIC IDs from this value up need a Processor Local x2APIC Structure. */
#define ACPI_MADT_X2APIC_MIN_ID 0xff
/* x2APIC ID reserved for broadcast: never a processor. */
#define ACPI_X2APIC_BROADCAST_ID 0xffffffffu
/* ACPI Processor UID meaning "all processors" in the NMI structures. */
#define ACPI_MADT_UID_ALL_XAPIC 0xff
#define ACPI_MADT_UID_ALL_X2APIC 0xffffffffu

/* MPS INTI Flags, table 5.26 */
#define ACPI_MPS_INTI_POLARITY_CONFORMS (0u << 0)
#define ACPI_MPS_INTI_POLARITY_HIGH (1u << 0)
#define ACPI_MPS_INTI_POLARITY_LOW (3u << 0)
#define ACPI_MPS_INTI_TRIGGER_CONFORMS (0u << 2)
#define ACPI_MPS_INTI_TRIGGER_EDGE (1u << 2)
#define ACPI_MPS_INTI_TRIGGER_LEVEL (3u << 2)

/* Interrupt Source Override: Bus */
#define ACPI_MADT_BUS_ISA 0

/* Local APIC input (LINTn) wired to NMI on PC-compatible systems. */
#define ACPI_LAPIC_LINT1 1

struct acpi_madt_local_apic {
    uint8_t type;             /* Type (0) */
    uint8_t length;           /* Length (8) */
    uint8_t processor_uid;    /* ACPI Processor UID */
    uint8_t apic_id;          /* APIC ID */
    uint32_t flags;           /* Flags */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_local_apic) == 8, "Processor Local APIC is 8 bytes");

struct acpi_madt_io_apic {
    uint8_t type;             /* Type (1) */
    uint8_t length;           /* Length (12) */
    uint8_t io_apic_id;       /* I/O APIC ID */
    uint8_t reserved;         /* Reserved */
    uint32_t io_apic_address; /* I/O APIC Address */
    uint32_t gsi_base;        /* Global System Interrupt Base */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_io_apic) == 12, "I/O APIC is 12 bytes");

struct acpi_madt_int_src_override {
    uint8_t type;             /* Type (2) */
    uint8_t length;           /* Length (10) */
    uint8_t bus;              /* Bus (0: ISA) */
    uint8_t source;           /* Source (bus-relative IRQ) */
    uint32_t gsi;             /* Global System Interrupt */
    uint16_t flags;           /* Flags (MPS INTI) */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_int_src_override) == 10, "ISO is 10 bytes");

struct acpi_madt_local_apic_nmi {
    uint8_t type;             /* Type (4) */
    uint8_t length;           /* Length (6) */
    uint8_t processor_uid;    /* ACPI Processor UID */
    uint16_t flags;           /* Flags (MPS INTI) */
    uint8_t lint;             /* Local APIC LINT# */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_local_apic_nmi) == 6, "Local APIC NMI is 6 bytes");

struct acpi_madt_local_x2apic {
    uint8_t type;             /* Type (9) */
    uint8_t length;           /* Length (16) */
    uint16_t reserved;        /* Reserved */
    uint32_t x2apic_id;       /* X2APIC ID */
    uint32_t flags;           /* Flags */
    uint32_t processor_uid;   /* ACPI Processor UID */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_local_x2apic) == 16, "Local x2APIC is 16 bytes");

struct acpi_madt_local_x2apic_nmi {
    uint8_t type;             /* Type (0x0A) */
    uint8_t length;           /* Length (12) */
    uint16_t flags;           /* Flags (MPS INTI) */
    uint32_t processor_uid;   /* ACPI Processor UID */
    uint8_t lint;             /* Local x2APIC LINT# */
    uint8_t reserved[3];      /* Reserved */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_local_x2apic_nmi) == 12, "Local x2APIC NMI is 12 bytes");

/* --- PCI Firmware Specification 3.3, 4.1.2 MCFG -------------------------- */
#define ACPI_SIG_MCFG "MCFG"
#define ACPI_MCFG_REVISION 1
#define ACPI_ECAM_BUS_SHIFT 20 /* 1 MiB of configuration space per bus */

struct acpi_mcfg {
    struct acpi_table_header header; /* Header, Signature "MCFG" */
    uint8_t reserved[8];             /* Reserved */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG fixed part is 44 bytes");

/* Table 4-3: Configuration Space Base Address Allocation Structure */
struct acpi_mcfg_allocation {
    uint64_t base_address;  /* Base Address (of bus 0's ECAM) */
    uint16_t pci_segment;   /* PCI Segment Group Number */
    uint8_t start_bus;      /* Start Bus Number */
    uint8_t end_bus;        /* End Bus Number */
    uint32_t reserved;      /* Reserved */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_mcfg_allocation) == 16, "MCFG allocation is 16 bytes");

/* --- PCI Firmware Specification 3.3, 4.5 _OSC for PCI host bridges ------- */
#define ACPI_PCI_OSC_UUID "33DB4D5B-1FF7-401C-9657-7441C03DD766"
#define ACPI_PCI_OSC_REVISION 1
/* Capabilities buffer: DWORD offsets (6.2.11 _OSC) */
#define ACPI_OSC_DWORD_STATUS 0    /* Arg3 DWORD 1: query flag / errors */
#define ACPI_OSC_DWORD_SUPPORT 1   /* DWORD 2: Support Field */
#define ACPI_OSC_DWORD_CONTROL 2   /* DWORD 3: Control Field */
#define ACPI_OSC_DWORD_SIZE 4
/* 6.2.11 _OSC return: errors in DWORD 1 */
#define ACPI_OSC_QUERY_ENABLE ACPI_BIT(0)
#define ACPI_OSC_ERR_FAILURE ACPI_BIT(1)
#define ACPI_OSC_ERR_UNRECOGNIZED_UUID ACPI_BIT(2)
#define ACPI_OSC_ERR_UNRECOGNIZED_REVISION ACPI_BIT(3)
#define ACPI_OSC_ERR_CAPABILITIES_MASKED ACPI_BIT(4)
/* Table 4-5: Control Field */
#define ACPI_PCI_OSC_CTRL_PCIE_HOTPLUG ACPI_BIT(0)
#define ACPI_PCI_OSC_CTRL_SHPC_HOTPLUG ACPI_BIT(1)
#define ACPI_PCI_OSC_CTRL_PCIE_PME ACPI_BIT(2)
#define ACPI_PCI_OSC_CTRL_PCIE_AER ACPI_BIT(3)
#define ACPI_PCI_OSC_CTRL_PCIE_CAP ACPI_BIT(4)
#define ACPI_PCI_OSC_CTRL_LTR ACPI_BIT(5)
#define ACPI_PCI_OSC_CTRL_DPC ACPI_BIT(7)

/* --- AMD I/O Virtualization Technology (IOMMU) Specification 48882, ------
 * --- 5.2 "I/O Virtualization Reporting Structure (IVRS)" ----------------- */
#define ACPI_SIG_IVRS "IVRS"
/* Revision: 1 = fixed-length IVHD types (10h, 11h) only; 2 = also 40h. */
#define ACPI_IVRS_REVISION 1

/* IVinfo, at offset 36 */
#define ACPI_IVINFO_EFRSUP BIT(0)          /* EFRSup: IVHD 11h/40h carry the EFR image */
#define ACPI_IVINFO_DMA_REMAP BIT(1)       /* DMA remap support (pre-boot DMA protection) */
#define ACPI_IVINFO_GVASIZE GENMASK(7, 5)  /* GVAsize: guest virtual address width code */
#define ACPI_IVINFO_PASIZE GENMASK(14, 8)  /* PAsize: physical address width, in bits */
#define ACPI_IVINFO_VASIZE GENMASK(21, 15) /* VAsize: virtual address width, in bits */
#define ACPI_IVINFO_HTATSRESV BIT(22)      /* HtAtsResv: ATS response range reserved */
#define ACPI_IVINFO_GVASIZE_48 2           /* GVAsize 010b: 48 bits (4-level guest tables) */
#define ACPI_IVINFO_GVASIZE_57 3           /* GVAsize 011b: 57 bits (5-level guest tables) */

struct acpi_ivrs {
    struct acpi_table_header header; /* Header, Signature "IVRS" */
    uint32_t ivinfo;                 /* IVinfo */
    uint8_t reserved[8];             /* Reserved */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_ivrs) == 48, "IVRS header is 48 bytes");

/* IVHD (I/O Virtualization Hardware Definition) block types */
#define ACPI_IVHD_TYPE_10H 0x10 /* fixed-length device entries, Feature Reporting */
#define ACPI_IVHD_TYPE_11H 0x11 /* fixed-length device entries, EFR image */
#define ACPI_IVHD_TYPE_40H 0x40 /* 11h plus variable-length (ACPI HID) entries */

/* IVHD Flags */
#define ACPI_IVHD_F_HTTUNEN BIT(0)   /* HtTunEn */
#define ACPI_IVHD_F_PASSPW BIT(1)    /* PassPW */
#define ACPI_IVHD_F_RESPASSPW BIT(2) /* ResPassPW */
#define ACPI_IVHD_F_ISOC BIT(3)      /* Isoc */
#define ACPI_IVHD_F_IOTLBSUP BIT(4)  /* IotlbSup */
#define ACPI_IVHD_F_COHERENT BIT(5)  /* Coherent */
#define ACPI_IVHD_F_PREFSUP BIT(6)   /* PreFSup (type 10h only; reserved in 11h/40h) */
#define ACPI_IVHD_F_PPRSUP BIT(7)    /* PPRSup (type 10h only; reserved in 11h/40h) */
#define ACPI_IVHD11_FLAGS GENMASK(5, 0) /* the flags types 11h/40h define */

/* IOMMU Info */
#define ACPI_IVHD_INFO_MSINUM GENMASK(4, 0)  /* MSInum */
#define ACPI_IVHD_INFO_UNITID GENMASK(12, 8) /* UnitID */

/* IOMMU Feature Reporting (type 10h): copies of EFR fields */
#define ACPI_IVHD10_FEAT_XTSUP BIT(0)              /* XTSup */
#define ACPI_IVHD10_FEAT_NXSUP BIT(1)              /* NXSup */
#define ACPI_IVHD10_FEAT_GTSUP BIT(2)              /* GTSup */
#define ACPI_IVHD10_FEAT_GLXSUP GENMASK(4, 3)      /* GLXSup */
#define ACPI_IVHD10_FEAT_IASUP BIT(5)              /* IASup */
#define ACPI_IVHD10_FEAT_GASUP BIT(6)              /* GASup */
#define ACPI_IVHD10_FEAT_HESUP BIT(7)              /* HESup */
#define ACPI_IVHD10_FEAT_PASMAX GENMASK(12, 8)     /* PASmax */
#define ACPI_IVHD10_FEAT_PNCOUNTERS GENMASK(16, 13) /* PNCounters */
#define ACPI_IVHD10_FEAT_PNBANKS GENMASK(22, 17)   /* PNBanks */
#define ACPI_IVHD10_FEAT_MSINUMPPR GENMASK(27, 23) /* MSINumPPR */
#define ACPI_IVHD10_FEAT_GATS GENMASK(29, 28)      /* GATS */
#define ACPI_IVHD10_FEAT_HATS GENMASK(31, 30)      /* HATS */

/* IOMMU Attributes (types 11h/40h) */
#define ACPI_IVHD11_ATTR_HATDIS BIT(0)              /* HATDis: no host (v1) translation */
#define ACPI_IVHD11_ATTR_PNCOUNTERS GENMASK(16, 13) /* PNCounters */
#define ACPI_IVHD11_ATTR_PNBANKS GENMASK(22, 17)    /* PNBanks */
#define ACPI_IVHD11_ATTR_MSINUMPPR GENMASK(27, 23)  /* MSINumPPR */

/*
 * The fields of the IOMMU Extended Feature Register (MMIO 0030h) that the
 * type-10h Feature Reporting field mirrors. Named for the IVRS so acpi/ does
 * not depend on the IOMMU model's register header.
 */
#define ACPI_IVHD_EFR_PREFSUP BIT(0)        /* PreFSup */
#define ACPI_IVHD_EFR_PPRSUP BIT(1)         /* PPRSup */
#define ACPI_IVHD_EFR_XTSUP BIT(2)          /* XTSup */
#define ACPI_IVHD_EFR_NXSUP BIT(3)          /* NXSup */
#define ACPI_IVHD_EFR_GTSUP BIT(4)          /* GTSup */
#define ACPI_IVHD_EFR_IASUP BIT(6)          /* IASup */
#define ACPI_IVHD_EFR_GASUP BIT(7)          /* GASup */
#define ACPI_IVHD_EFR_HESUP BIT(8)          /* HESup */
#define ACPI_IVHD_EFR_HATS GENMASK(11, 10)  /* HATS */
#define ACPI_IVHD_EFR_GATS GENMASK(13, 12)  /* GATS */
#define ACPI_IVHD_EFR_GLXSUP GENMASK(15, 14) /* GLXSup */
#define ACPI_IVHD_EFR_PASMAX GENMASK(36, 32) /* PASmax */

/* IVHD header shared by all types: type 10h ends after iommu_feature_info. */
struct acpi_ivhd_header {
    uint8_t type;                /* Type */
    uint8_t flags;               /* Flags */
    uint16_t length;             /* Length (header and device entries) */
    uint16_t device_id;          /* DeviceID: the IOMMU's own requester ID */
    uint16_t capability_offset;  /* Capability Offset (of the IOMMU capability block) */
    uint64_t iommu_base_address; /* IOMMU Base Address (MMIO registers) */
    uint16_t pci_segment_group;  /* PCI Segment Group */
    uint16_t iommu_info;         /* IOMMU Info */
    uint32_t iommu_feature_info; /* 10h: IOMMU Feature Reporting; 11h/40h: IOMMU Attributes */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_ivhd_header) == 24, "IVHD type 10h header is 24 bytes");

struct acpi_ivhd11 {
    struct acpi_ivhd_header h;   /* as type 10h, with IOMMU Attributes */
    uint64_t efr_register_image; /* EFR Register Image (MMIO 0030h) */
    uint64_t efr2_register_image; /* EFR2 Register Image (MMIO 01A0h) */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_ivhd11) == 40, "IVHD type 11h header is 40 bytes");

/* IVHD device entry types. Types below 80h are 4 << (type >> 6) bytes long. */
#define ACPI_IVHD_DEV_ALL 0x01          /* 4 bytes: every devid */
#define ACPI_IVHD_DEV_SELECT 0x02       /* 4 bytes: one devid */
#define ACPI_IVHD_DEV_RANGE_START 0x03  /* 4 bytes: first devid of a range */
#define ACPI_IVHD_DEV_RANGE_END 0x04    /* 4 bytes: last devid of a range */
#define ACPI_IVHD_DEV_ALIAS_SELECT 0x42 /* 8 bytes */
#define ACPI_IVHD_DEV_ALIAS_RANGE 0x43  /* 8 bytes */
#define ACPI_IVHD_DEV_EXT_SELECT 0x46   /* 8 bytes */
#define ACPI_IVHD_DEV_EXT_RANGE 0x47    /* 8 bytes */
#define ACPI_IVHD_DEV_SPECIAL 0x48      /* 8 bytes: IOAPIC / HPET */
#define ACPI_IVHD_DEV_ACPI_HID 0xf0     /* variable: ACPI namespace device (40h only) */

/* DTE Setting (byte 3 of every device entry) */
#define ACPI_IVHD_DTE_INITPASS BIT(0)
#define ACPI_IVHD_DTE_EINTPASS BIT(1)
#define ACPI_IVHD_DTE_NMIPASS BIT(2)
#define ACPI_IVHD_DTE_SYSMGT GENMASK(5, 4)
#define ACPI_IVHD_DTE_LINT0PASS BIT(6)
#define ACPI_IVHD_DTE_LINT1PASS BIT(7)

/* 4-byte entries: ALL, SELECT, RANGE_START, RANGE_END */
struct acpi_ivhd_entry4 {
    uint8_t type;        /* Type */
    uint16_t device_id;  /* DeviceID */
    uint8_t dte_setting; /* DTE Setting */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_ivhd_entry4) == 4, "IVHD 4-byte entry");

/* Special Variety */
#define ACPI_IVHD_SPECIAL_IOAPIC 1
#define ACPI_IVHD_SPECIAL_HPET 2

/* Type 48h: special device (IOAPIC or HPET) and the devid it uses */
struct acpi_ivhd_special {
    uint8_t type;        /* Type (48h) */
    uint16_t reserved;   /* Reserved */
    uint8_t dte_setting; /* DTE Setting */
    uint8_t handle;      /* Handle: the MADT IOAPIC ID / HPET number */
    uint16_t device_id;  /* Variety-specific DeviceID (the requester ID it uses) */
    uint8_t variety;     /* Variety */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_ivhd_special) == 8, "IVHD special entry is 8 bytes");

#endif
