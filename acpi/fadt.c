/* SPDX-License-Identifier: MIT */
/*
 * 5.2.9 Fixed ACPI Description Table (FADT), revision 6, hardware-reduced:
 * no SCI, no PM1/PM2/PM timer/GPE blocks, no FACS. Power-off goes through
 * SLEEP_CONTROL_REG, reboot through RESET_REG. Requires the DSDT to be built.
 */
#include <errno.h>
#include <string.h>

#include "acpi/acpi_internal.h"

#define ACPI_FADT_FLAGS (ACPI_FADT_F_HW_REDUCED_ACPI | ACPI_FADT_F_RESET_REG_SUP)
#define ACPI_REG_BITS_8 8

_Static_assert(sizeof(ACPI_HYPERVISOR_VENDOR_ID) - 1 == sizeof(uint64_t),
               "Hypervisor Vendor Identity is 8 bytes");

/* An 8-bit register in system I/O space. */
static struct acpi_gas acpi_gas_io8(uint16_t port)
{
    struct acpi_gas g = {
        .address_space_id = ACPI_GAS_SPACE_SYSTEM_IO, /* Address Space ID */
        .register_bit_width = ACPI_REG_BITS_8,        /* Register Bit Width */
        .register_bit_offset = 0,                     /* Register Bit Offset */
        .access_size = ACPI_GAS_ACCESS_BYTE,          /* Access Size */
        .address = port,                              /* Address */
    };

    return g;
}

/* IAPC_BOOT_ARCH: no 8042 advertised (its reset port still works), no VGA,
 * MSI supported, no legacy (PnP BIOS) devices; CMOS RTC as described. */
static uint16_t acpi_fadt_boot_arch(const struct acpi_machine *m)
{
    uint16_t flags = ACPI_FADT_IAPC_VGA_NOT_PRESENT;

    if (!m->rtc.present)
        flags |= ACPI_FADT_IAPC_CMOS_RTC_NOT_PRESENT;
    return flags;
}

static void acpi_fadt_fill(struct acpi_fadt *f, const struct acpi_machine *m,
                           uint64_t dsdt_gpa)
{
    f->firmware_ctrl = 0;                     /* FIRMWARE_CTRL: no FACS */
    f->dsdt = 0;                              /* DSDT: 0 because X_DSDT is set */
    f->preferred_pm_profile = ACPI_FADT_PM_PROFILE_UNSPECIFIED; /* Preferred_PM_Profile */
    f->sci_int = 0;                           /* SCI_INT: none (hardware-reduced) */
    f->smi_cmd = 0;                           /* SMI_CMD: always in ACPI mode */
    f->century = m->rtc.present ? m->rtc_century_index : 0; /* CENTURY */
    f->iapc_boot_arch = acpi_fadt_boot_arch(m); /* IAPC_BOOT_ARCH */
    f->flags = ACPI_FADT_FLAGS;               /* Flags */
    f->reset_reg = acpi_gas_io8(m->pm.reset_port); /* RESET_REG */
    f->reset_value = m->pm.reset_value;       /* RESET_VALUE */
    f->arm_boot_arch = 0;                     /* ARM_BOOT_ARCH */
    f->minor_version = ACPI_FADT_MINOR_VERSION; /* FADT Minor Version */
    f->x_firmware_ctrl = 0;                   /* X_FIRMWARE_CTRL: no FACS */
    f->x_dsdt = dsdt_gpa;                     /* X_DSDT */
    f->sleep_control_reg = acpi_gas_io8(m->pm.sleep_ctl_port); /* SLEEP_CONTROL_REG */
    f->sleep_status_reg = acpi_gas_io8(m->pm.sleep_sts_port);  /* SLEEP_STATUS_REG */
    memcpy(&f->hypervisor_vendor_id, ACPI_HYPERVISOR_VENDOR_ID,
           sizeof(f->hypervisor_vendor_id));  /* Hypervisor Vendor Identity */
}

int acpi_build_fadt(struct acpi_ctx *ctx, const struct acpi_machine *m)
{
    const struct acpi_table *dsdt = acpi_table_find(ctx, ACPI_SIG_DSDT);
    const size_t hdr = sizeof(struct acpi_table_header);
    struct acpi_fadt f;
    size_t offset;
    int ret;

    if (!dsdt)
        return -EINVAL;
    ret = acpi_table_add(ctx, ACPI_SIG_FADT, ACPI_FADT_REVISION, sizeof(f), true, &offset);
    if (ret)
        return ret;
    memset(&f, 0, sizeof(f));
    acpi_fadt_fill(&f, m, acpi_ctx_gpa(ctx, dsdt->offset));
    /* The header was written by acpi_table_add(); copy only the body. */
    acpi_ctx_write(ctx, offset + hdr, (const uint8_t *)&f + hdr, sizeof(f) - hdr);
    return 0;
}
