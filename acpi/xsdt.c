/* SPDX-License-Identifier: MIT */
/* 5.2.8 Extended System Description Table (XSDT): the header, then one
 * 64-bit pointer per table registered with in_xsdt, in build order. */
#include <errno.h>

#include "acpi/acpi_internal.h"

static unsigned acpi_xsdt_count(const struct acpi_ctx *ctx)
{
    unsigned n = 0;

    for (unsigned i = 0; i < ctx->ntables; i++)
        n += ctx->tables[i].in_xsdt;
    return n;
}

int acpi_build_xsdt(struct acpi_ctx *ctx, size_t *offset)
{
    unsigned nentries = acpi_xsdt_count(ctx);
    size_t length = sizeof(struct acpi_table_header) + (size_t)nentries * ACPI_XSDT_ENTRY_SIZE;
    size_t entry;
    int ret;

    ret = acpi_table_add(ctx, ACPI_SIG_XSDT, ACPI_XSDT_REVISION, length, false, offset);
    if (ret)
        return ret;
    entry = *offset + sizeof(struct acpi_table_header);
    for (unsigned i = 0; i < ctx->ntables; i++) {
        uint64_t gpa = acpi_ctx_gpa(ctx, ctx->tables[i].offset);

        if (!ctx->tables[i].in_xsdt)
            continue;
        acpi_ctx_write(ctx, entry, &gpa, sizeof(gpa)); /* Entry */
        entry += ACPI_XSDT_ENTRY_SIZE;
    }
    return 0;
}
