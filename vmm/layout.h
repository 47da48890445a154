/* SPDX-License-Identifier: MIT */
/*
 * The guest physical memory map and every fixed address sluice uses.
 * This header is the single source of truth: devices, boot code and ACPI
 * builders take their addresses from here and nowhere else.
 *
 *   0x0000_0000  real-mode IVT/BDA (RAM, unused by a 64-bit entry)
 *   0x0000_0500  GDT built by sluice for 64-bit entry
 *   0x0000_7000  boot_params ("zero page")
 *   0x0000_9000  PML4, PDPT, 4 page directories (identity map of 4 GiB, 2 MiB pages)
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  end of low RAM; EBDA and BIOS area reserved up to 1 MiB
 *   0x000e_0000  ACPI tables (RSDP first, so the legacy scan finds it too)
 *   0x000f_fff0  reset vector: a stub that writes the ACPI reset register
 *   0x0010_0000  kernel (bzImage protected-mode part / ELF segments by paddr)
 *   ...          RAM up to min(memory, LAYOUT_MMIO_HOLE_START)
 *   0xc000_0000  32-bit PCI MMIO window
 *   0xe000_0000  PCIe ECAM (256 buses x 1 MiB)
 *   0xfec0_0000  IOAPIC
 *   0xfed8_0000  AMD IOMMU registers (--iommu amd)
 *   0xfee0_0000  local APIC (in KVM)
 *   0xfffb_c000  KVM identity-map page and TSS (Intel VMX needs them)
 *   4 GiB        the rest of RAM
 *   max(64 GiB, RAM end rounded up to 1 GiB): 64-bit PCI MMIO window, 64 GiB
 */
#ifndef SLUICE_VMM_LAYOUT_H
#define SLUICE_VMM_LAYOUT_H

#include <stdint.h>

#define LAYOUT_KiB 0x400ULL
#define LAYOUT_MiB 0x100000ULL
#define LAYOUT_GiB 0x40000000ULL

/* Boot structures in low memory. */
#define LAYOUT_GDT_ADDR 0x500ULL
#define LAYOUT_BOOT_PARAMS_ADDR 0x7000ULL
#define LAYOUT_PML4_ADDR 0x9000ULL
#define LAYOUT_PDPT_ADDR 0xa000ULL
#define LAYOUT_PD_ADDR 0xb000ULL /* 4 pages: 0xb000..0xefff */
#define LAYOUT_IDENTITY_MAP_SIZE (4 * LAYOUT_GiB)
#define LAYOUT_CMDLINE_ADDR 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_LOW_RAM_END 0x9fc00ULL   /* first byte not usable below 1 MiB */
#define LAYOUT_ACPI_ADDR 0xe0000ULL     /* RSDP + tables, e820-reserved */
#define LAYOUT_ACPI_SIZE 0x1f000ULL     /* up to the reset vector's page */
#define LAYOUT_RESET_VECTOR_ADDR 0xffff0ULL /* F000:FFF0 (vmm/reset_vector.h), e820-reserved */
#define LAYOUT_KERNEL_ADDR 0x100000ULL  /* 1 MiB: default protected-mode load address */
#define LAYOUT_HIGH_MEM_START LAYOUT_KERNEL_ADDR

/* The 32-bit hole: everything from here to 4 GiB is MMIO, never RAM. */
#define LAYOUT_MMIO_HOLE_START 0xc0000000ULL
#define LAYOUT_MMIO_HOLE_END (4 * LAYOUT_GiB)
#define LAYOUT_PCI_MMIO32_START 0xc0000000ULL
#define LAYOUT_PCI_MMIO32_SIZE 0x20000000ULL
#define LAYOUT_ECAM_BASE 0xe0000000ULL
#define LAYOUT_ECAM_SIZE 0x10000000ULL /* buses 0..255, 1 MiB each */
#define LAYOUT_ECAM_BUSES 256
/* 64-bit PCI MMIO window: above all RAM, 1 GiB aligned, never below this. */
#define LAYOUT_PCI_MMIO64_MIN_START (64 * LAYOUT_GiB)
#define LAYOUT_PCI_MMIO64_ALIGN LAYOUT_GiB
#define LAYOUT_PCI_MMIO64_SIZE (64 * LAYOUT_GiB)
/* PCI I/O port window handed to devices and root ports (legacy ports stay below). */
#define LAYOUT_PCI_IO_START 0x1000ULL
#define LAYOUT_PCI_IO_SIZE 0xf000ULL
/* Legacy PCI configuration mechanism #1 (address at 0xcf8, data at 0xcfc..0xcff). */
#define LAYOUT_PORT_PCI_CONFIG_ADDR 0xcf8
#define LAYOUT_PORT_PCI_CONFIG_DATA 0xcfc
/* PCI INTA..INTD of bus 0 (after swizzling behind root ports) reach these
 * IOAPIC pins: slot s, pin p (0 = INTA) -> LAYOUT_PCI_INTX_GSI_BASE + (s + p) % 4,
 * level-triggered, active high (sluice's IOAPIC has no polarity inversion). */
#define LAYOUT_PCI_INTX_GSI_BASE 16
#define LAYOUT_PCI_INTX_PINS 4
#define LAYOUT_AMDVI_MMIO_BASE 0xfed80000ULL /* AMD IOMMU register window (as QEMU places it) */
#define LAYOUT_AMDVI_MMIO_SIZE 0x80000ULL    /* space reserved; the model decodes what it implements */
#define LAYOUT_IOAPIC_BASE 0xfec00000ULL
#define LAYOUT_IOAPIC_SIZE 0x1000ULL
#define LAYOUT_LAPIC_BASE 0xfee00000ULL
#define LAYOUT_KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL /* 1 page */
#define LAYOUT_KVM_TSS_ADDR 0xfffbd000ULL          /* 3 pages */
#define LAYOUT_RAM_HIGH_START (4 * LAYOUT_GiB)

/* Start of the 64-bit PCI window for a guest whose RAM ends at ram_end. */
static inline uint64_t layout_pci_mmio64_start(uint64_t ram_end)
{
    uint64_t start = (ram_end + LAYOUT_PCI_MMIO64_ALIGN - 1) & ~(LAYOUT_PCI_MMIO64_ALIGN - 1);
    return start < LAYOUT_PCI_MMIO64_MIN_START ? LAYOUT_PCI_MMIO64_MIN_START : start;
}

/* Guest memory size limits accepted by the CLI. */
#define LAYOUT_MIN_MEMORY (64 * LAYOUT_MiB)
#define LAYOUT_MAX_MEMORY (1024 * LAYOUT_GiB)

/* Interrupt controller. */
#define LAYOUT_IOAPIC_ID 0   /* MADT IOAPIC ID; APIC IDs of vCPUs start at 0 too (separate spaces) */
#define LAYOUT_IOAPIC_PINS 24
#define LAYOUT_IOAPIC_GSI_BASE 0

/* Legacy I/O ports and their IOAPIC pins (ISA IRQ == GSI, no overrides but IRQ0->GSI2). */
#define LAYOUT_PORT_I8042_DATA 0x60
#define LAYOUT_PORT_I8042_CMD 0x64
#define LAYOUT_PORT_RTC 0x70 /* index 0x70, data 0x71 */
#define LAYOUT_PORT_RTC_LEN 2
#define LAYOUT_IRQ_RTC 8
#define LAYOUT_RTC_CENTURY_INDEX 0x32 /* CMOS byte holding the century (FADT.CENTURY) */
#define LAYOUT_PORT_COM1 0x3f8
#define LAYOUT_PORT_COM_LEN 8
#define LAYOUT_IRQ_COM1 4
#define LAYOUT_PORT_BOOT_TIMER 0x440 /* guest writes a byte: sluice logs time since start */
#define LAYOUT_PORT_PVPANIC 0x505
#define LAYOUT_PORT_PVPANIC_LEN 1
#define LAYOUT_PORT_ACPI_PM 0x600    /* hardware-reduced ACPI: sleep control/status, reset */
#define LAYOUT_PORT_ACPI_SLEEP_CTL (LAYOUT_PORT_ACPI_PM + 0)
#define LAYOUT_PORT_ACPI_SLEEP_STS (LAYOUT_PORT_ACPI_PM + 1)
#define LAYOUT_PORT_ACPI_RESET (LAYOUT_PORT_ACPI_PM + 2)
#define LAYOUT_PORT_ACPI_PM_LEN 3
#define LAYOUT_ACPI_RESET_VALUE 0x1
#define LAYOUT_ACPI_S5_SLP_TYP 5

#endif
