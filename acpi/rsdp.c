/* SPDX-License-Identifier: MIT */
/* 5.2.5.3 Root System Description Pointer (RSDP), revision 2: XSDT only. */
#include <string.h>

#include "acpi/acpi_internal.h"

_Static_assert(sizeof(ACPI_OEM_ID) - 1 == ACPI_OEM_ID_LEN, "RSDP OEMID is exactly 6 bytes");

int acpi_build_rsdp(struct acpi_ctx *ctx, size_t rsdp_offset, size_t xsdt_offset)
{
    struct acpi_rsdp r;

    memset(&r, 0, sizeof(r));
    memcpy(r.signature, ACPI_RSDP_SIGNATURE, ACPI_RSDP_SIGNATURE_LEN); /* Signature */
    memcpy(r.oem_id, ACPI_OEM_ID, ACPI_OEM_ID_LEN);                    /* OEMID */
    r.revision = ACPI_RSDP_REVISION;                                   /* Revision */
    r.rsdt_address = 0;                           /* RsdtAddress: no RSDT */
    r.length = sizeof(r);                         /* Length */
    r.xsdt_address = acpi_ctx_gpa(ctx, xsdt_offset); /* XsdtAddress */
    /* Checksums last: the first covers bytes 0..19, the extended all 36. */
    r.checksum = acpi_checksum(&r, ACPI_RSDP_V1_LEN);        /* Checksum */
    r.extended_checksum = acpi_checksum(&r, sizeof(r));      /* Extended Checksum */
    acpi_ctx_write(ctx, rsdp_offset, &r, sizeof(r));
    return 0;
}
