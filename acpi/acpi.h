/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for a sluice guest: hardware-reduced ACPI (no SCI, no PM timer,
 * no 8259), RSDP revision 2 -> XSDT -> FADT (-> DSDT), MADT, MCFG, ...
 *
 * acpi/ only describes a machine; it never reaches into device state. vmm/
 * fills a struct acpi_machine (start from acpi_machine_init(), which takes
 * every address and port from vmm/layout.h), then calls acpi_build() once,
 * before the first vCPU runs, on the host mapping of
 * [LAYOUT_ACPI_ADDR, LAYOUT_ACPI_ADDR + LAYOUT_ACPI_SIZE).
 */
#ifndef SLUICE_ACPI_ACPI_H
#define SLUICE_ACPI_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_UARTS 4

/* A 16550 UART, described as PNP0501 \_SB.COMn with _UID n. */
struct acpi_uart {
    uint16_t port;      /* first I/O port */
    uint8_t port_len;   /* number of ports */
    uint8_t isa_irq;    /* ISA IRQ 0..15 (identity-mapped to a GSI) */
};

/* A legacy ISA device at a fixed I/O range; `present` false omits it. */
struct acpi_isa_dev {
    bool present;
    uint16_t port;
    uint8_t port_len;
    uint8_t isa_irq;    /* ignored for devices without an interrupt */
};

/* Hardware-reduced ACPI power management registers (8-bit, system I/O). */
struct acpi_pm_regs {
    uint16_t sleep_ctl_port;  /* FADT SLEEP_CONTROL_REG */
    uint16_t sleep_sts_port;  /* FADT SLEEP_STATUS_REG */
    uint16_t reset_port;      /* FADT RESET_REG */
    uint8_t reset_value;      /* FADT RESET_VALUE */
    uint8_t s5_slp_typ;       /* SLP_TYP in \_S5 (0..7) */
};

struct acpi_ioapic {
    uint8_t id;         /* MADT I/O APIC ID */
    uint32_t addr;      /* MMIO base */
    uint32_t gsi_base;  /* first GSI of pin 0 */
    unsigned pins;      /* number of redirection entries */
};

/*
 * The PCIe host bridge (\_SB.PCI0, PNP0A08) and its ECAM (MCFG). One PCI
 * segment. Windows are [base, base + size); the bridge's _CRS forwards:
 *   buses start_bus..end_bus; the legacy I/O ports below config_port and
 *   from config_port + ACPI_PCI_CONFIG_PORTS up to the end of the I/O
 *   window (as on q35: Linux never places PCI I/O BARs below io_base, the
 *   legacy range is there for the platform devices); the 32-bit window;
 *   the 64-bit window (size 0: none).
 * INTx of slot s pin p (0 = INTA) reaches GSI intx_gsi_base + (s + p) % 4,
 * level-triggered, active-high, through interrupt link devices
 * \_SB.GSIA..GSID (PNP0C0F).
 */
#define ACPI_PCI_INTX_PINS 4
#define ACPI_PCI_CONFIG_PORTS 8 /* CONFIG_ADDRESS + CONFIG_DATA */

struct acpi_pci {
    bool present;            /* false: no PCI0, no MCFG (all else below ignored) */
    uint64_t ecam_base;      /* MCFG Base Address: the ECAM address of bus 0 */
    uint16_t segment;        /* PCI Segment Group (_SEG) */
    uint8_t start_bus;       /* first bus decoded (_BBN) */
    uint8_t end_bus;         /* last bus decoded */
    uint16_t config_port;    /* configuration mechanism #1 ports (0xcf8..0xcff) */
    uint32_t mmio32_base;    /* 32-bit memory window, below 4 GiB */
    uint32_t mmio32_size;
    uint64_t mmio64_base;    /* 64-bit memory window, above RAM */
    uint64_t mmio64_size;
    uint16_t io_base;        /* I/O window for BARs and bridge windows */
    uint32_t io_size;        /* io_base + io_size <= 0x10000 */
    uint32_t intx_gsi_base;  /* GSI of INTA at slot 0; ACPI_PCI_INTX_PINS consecutive GSIs */
};

/*
 * AMD IOMMUs (AMD-Vi), described by the IVRS. vmm/ fills one entry per
 * IOMMU: start from acpi_amd_iommu_init() (which derives the type-10h
 * Feature Reporting field and the IVHD flags from the EFR), then list the
 * devids behind it with acpi_amd_iommu_add_range(). Each IOMMU becomes an
 * IVHD type 10h block followed by a type 11h block with identical device
 * entries (Linux uses the last type <= 40h among the blocks sharing the
 * first block's devid: 11h; older kernels read 10h). A single devid becomes
 * a SELECT entry, a longer range a RANGE_START/RANGE_END pair, all with DTE
 * setting 0.
 */
#define ACPI_MAX_AMD_IOMMUS 4
#define ACPI_AMD_IOMMU_MAX_RANGES 256
#define ACPI_AMD_IOMMU_MMIO_ALIGN 0x4000u /* 16 KiB: the register window's alignment */

struct acpi_devid_range {
    uint16_t first, last;    /* requester ids (bus << 8 | devfn), first <= last */
};

struct acpi_amd_iommu {
    uint16_t devid;          /* the IOMMU's own PCI requester id */
    uint8_t cap_offset;      /* config-space offset of its IOMMU capability (ID 0Fh) */
    uint64_t mmio_base;      /* register window, 16 KiB aligned, non-zero */
    uint16_t pci_segment;    /* PCI Segment Group */
    uint64_t efr, efr2;      /* the 11h EFR/EFR2 images: equal to the MMIO EFR/EFR2 */
    uint16_t iommu_info;     /* IOMMU Info: MSInum / UnitID (0 is fine) */
    uint32_t ivhd10_feature_reporting; /* 10h IOMMU Feature Reporting (acpi_amd_iommu_init()
                                          derives it from efr) */
    uint8_t flags;           /* ACPI_IVHD_F_*; 11h gets only the bits it defines */
    unsigned nranges;        /* 0..ACPI_AMD_IOMMU_MAX_RANGES */
    struct acpi_devid_range ranges[ACPI_AMD_IOMMU_MAX_RANGES]; /* no overlaps, in any IOMMU */
    /* The IOAPIC's requester id (00:14.0 is what Linux expects). Reserved for
     * interrupt remapping: the SPECIAL (48h) entry, handle = MADT IOAPIC ID,
     * is emitted only when both ioapic_present and emit_special are set. */
    bool ioapic_present;
    uint8_t ioapic_handle;
    uint16_t ioapic_devid;
    bool emit_special;
};

/* IVinfo: address widths, common to all IOMMUs (EFRSup is always set). */
#define ACPI_AMD_GVA_BITS_4LEVEL 48 /* v2 tables with 4 levels */
#define ACPI_AMD_GVA_BITS_5LEVEL 57 /* v2 tables with 5 levels */
struct acpi_amd_ivinfo {
    uint8_t pa_bits;         /* PAsize: guest physical address bits, 32..64 */
    uint8_t va_bits;         /* VAsize: largest IOVA width, 32..64 (64: 6-level v1) */
    uint8_t gva_bits;        /* GVAsize: ACPI_AMD_GVA_BITS_4LEVEL or _5LEVEL */
};

/*
 * Plain description of the machine. The caller owns `apic_ids` (ncpus
 * entries, vCPU index order); it is only read during acpi_build().
 * vCPU i gets ACPI Processor UID i.
 */
struct acpi_machine {
    unsigned ncpus;                /* 1.. */
    const uint32_t *apic_ids;      /* unique, never 0xffffffff */
    uint32_t lapic_addr;           /* MADT Local Interrupt Controller Address */
    struct acpi_ioapic ioapic;
    unsigned nuarts;               /* 0..ACPI_MAX_UARTS */
    struct acpi_uart uarts[ACPI_MAX_UARTS];
    struct acpi_isa_dev rtc;       /* CMOS RTC, PNP0B00 */
    uint8_t rtc_century_index;     /* FADT CENTURY: CMOS index of the century byte, 0 none */
    struct acpi_isa_dev pvpanic;   /* pvpanic, _HID "QEMU0001", no IRQ */
    struct acpi_pm_regs pm;
    struct acpi_pci pci;           /* zeroed by acpi_machine_init(): no PCI */
    unsigned n_amd_iommus;         /* 0 (no IVRS)..ACPI_MAX_AMD_IOMMUS */
    struct acpi_amd_ivinfo amd_ivinfo; /* acpi_machine_init(): 48/64/48 bits */
    struct acpi_amd_iommu amd_iommus[ACPI_MAX_AMD_IOMMUS];
};

/*
 * Fill `m` with the standard sluice machine from vmm/layout.h: the IOAPIC,
 * the local APIC base, COM1, the CMOS RTC, pvpanic and the PM ports, for
 * `ncpus` vCPUs whose APIC IDs are `apic_ids` (borrowed, see above).
 */
void acpi_machine_init(struct acpi_machine *m, unsigned ncpus, const uint32_t *apic_ids);

/*
 * Describe sluice's PCIe host bridge in `m` (after acpi_machine_init()): the
 * ECAM, windows, config ports and INTx GSIs from vmm/layout.h, the 64-bit
 * window placed by layout_pci_mmio64_start(ram_end), where `ram_end` is the
 * first guest-physical byte above all RAM.
 */
void acpi_machine_init_pci(struct acpi_machine *m, uint64_t ram_end);

/*
 * Start the description of one AMD IOMMU: the given identity and EFR images,
 * PCI segment 0, IOMMU Info 0, no devids, no IOAPIC; the 10h Feature
 * Reporting field from acpi_amd_ivhd10_features(efr); flags Coherent, plus
 * PreFSup/PPRSup when the EFR advertises them. Does not touch any machine.
 */
void acpi_amd_iommu_init(struct acpi_amd_iommu *iommu, uint16_t devid, uint8_t cap_offset,
                         uint64_t mmio_base, uint64_t efr, uint64_t efr2);

/* The type-10h IOMMU Feature Reporting field for an EFR value: XTSup, NXSup,
 * GTSup, GLXSup, IASup, GASup, HESup, PASmax, GATS and HATS copied; the
 * performance-counter and PPR-MSI fields 0. */
uint32_t acpi_amd_ivhd10_features(uint64_t efr);

/*
 * Put devids first..last behind `iommu`, merged into the previous range when
 * it continues it. -EINVAL when first > last, -ENOSPC when the table of
 * ranges is full. Overlaps are found later by acpi_build().
 */
int acpi_amd_iommu_add_range(struct acpi_amd_iommu *iommu, uint16_t first, uint16_t last)
    __attribute__((warn_unused_result));

/*
 * Write the RSDP and all tables into `buf`, which represents guest-physical
 * [buf_gpa, buf_gpa + buf_size). The RSDP is placed first (at buf_gpa, which
 * must be 16-byte aligned), so the legacy 0xe0000..0xfffff scan finds it.
 *
 * Returns 0 and sets *rsdp_gpa, or:
 *   -EINVAL  a bad machine description (ncpus 0, duplicate or reserved APIC
 *            ids, IRQ out of range, AMD IOMMU devid ranges that are empty or
 *            overlap, an IOMMU register base that is 0 or not 16 KiB aligned,
 *            ...) or bad arguments;
 *   -ENOSPC  the tables do not fit in buf_size;
 *   -ENOMEM  out of memory while building AML.
 * Nothing is ever written outside `buf`; on failure the bytes written so far
 * are zeroed again, so the guest can never find a half-built table.
 */
int acpi_build(const struct acpi_machine *m, void *buf, uint64_t buf_gpa, size_t buf_size,
               uint64_t *rsdp_gpa) __attribute__((warn_unused_result));

#endif
