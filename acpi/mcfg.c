/* SPDX-License-Identifier: MIT */
/*
 * PCI Firmware Specification 3.3, 4.1.2 MCFG: the header, 8 reserved bytes,
 * and one Configuration Space Base Address Allocation Structure for the one
 * PCI segment sluice has. Absent (nothing added) on a machine without PCI.
 */
#include <errno.h>

#include "acpi/acpi_internal.h"

int acpi_build_mcfg(struct acpi_ctx *ctx, const struct acpi_machine *m)
{
    const struct acpi_pci *pci = &m->pci;
    struct acpi_mcfg_allocation e = {
        .base_address = pci->ecam_base, /* Base Address */
        .pci_segment = pci->segment,    /* PCI Segment Group Number */
        .start_bus = pci->start_bus,    /* Start Bus Number */
        .end_bus = pci->end_bus,        /* End Bus Number */
    };
    size_t offset;
    int ret;

    if (!pci->present)
        return 0;
    ret = acpi_table_add(ctx, ACPI_SIG_MCFG, ACPI_MCFG_REVISION,
                         sizeof(struct acpi_mcfg) + sizeof(e), true, &offset);
    if (ret)
        return ret;
    acpi_ctx_write(ctx, offset + sizeof(struct acpi_mcfg), &e, sizeof(e));
    return 0;
}
