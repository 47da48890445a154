/* SPDX-License-Identifier: MIT */
/* The build context: bump allocation in the guest buffer, table registry,
 * standard headers and checksums. */
#include <errno.h>
#include <string.h>

#include "acpi/acpi_internal.h"

int acpi_ctx_alloc(struct acpi_ctx *ctx, size_t len, size_t align, size_t *offset)
{
    size_t start = (ctx->used + align - 1) & ~(align - 1);

    if (start < ctx->used || start > ctx->size || len > ctx->size - start)
        return -ENOSPC;
    memset(ctx->buf + start, 0, len);
    ctx->used = start + len;
    *offset = start;
    return 0;
}

void acpi_ctx_write(struct acpi_ctx *ctx, size_t offset, const void *src, size_t len)
{
    memcpy(ctx->buf + offset, src, len);
}

/* Fixed-width ACPI strings are padded with spaces, never NUL-terminated. */
static void acpi_copy_id(char *dst, size_t width, const char *src)
{
    size_t n = strnlen(src, width);

    memset(dst, ' ', width);
    memcpy(dst, src, n);
}

static void acpi_header_fill(struct acpi_table_header *h, const char *signature,
                             uint8_t revision, size_t length)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->signature, signature, ACPI_SIG_LEN);        /* Signature */
    h->length = (uint32_t)length;                         /* Length */
    h->revision = revision;                               /* Revision */
    h->checksum = 0;                                      /* Checksum: acpi_tables_checksum() */
    acpi_copy_id(h->oem_id, ACPI_OEM_ID_LEN, ACPI_OEM_ID);                   /* OEMID */
    acpi_copy_id(h->oem_table_id, ACPI_OEM_TABLE_ID_LEN, ACPI_OEM_TABLE_ID); /* OEM Table ID */
    h->oem_revision = ACPI_OEM_REVISION;                  /* OEM Revision */
    memcpy(h->creator_id, ACPI_CREATOR_ID, ACPI_SIG_LEN); /* Creator ID */
    h->creator_revision = ACPI_CREATOR_REVISION;          /* Creator Revision */
}

int acpi_table_add(struct acpi_ctx *ctx, const char *signature, uint8_t revision,
                   size_t length, bool in_xsdt, size_t *offset)
{
    struct acpi_table_header h;
    struct acpi_table *t;
    int ret;

    if (ctx->ntables == ACPI_MAX_TABLES || length < sizeof(h) || length > UINT32_MAX)
        return -EINVAL;
    ret = acpi_ctx_alloc(ctx, length, ACPI_TABLE_ALIGN, offset);
    if (ret)
        return ret;
    acpi_header_fill(&h, signature, revision, length);
    acpi_ctx_write(ctx, *offset, &h, sizeof(h));

    t = &ctx->tables[ctx->ntables++];
    memcpy(t->signature, signature, ACPI_SIG_LEN);
    t->offset = *offset;
    t->length = length;
    t->in_xsdt = in_xsdt;
    return 0;
}

const struct acpi_table *acpi_table_find(const struct acpi_ctx *ctx, const char *signature)
{
    for (unsigned i = 0; i < ctx->ntables; i++) {
        if (memcmp(ctx->tables[i].signature, signature, ACPI_SIG_LEN) == 0)
            return &ctx->tables[i];
    }
    return NULL;
}

uint8_t acpi_checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0 - sum);
}

void acpi_tables_checksum(struct acpi_ctx *ctx)
{
    for (unsigned i = 0; i < ctx->ntables; i++) {
        uint8_t *table = ctx->buf + ctx->tables[i].offset;

        table[ACPI_HEADER_CHECKSUM_OFFSET] = 0;
        table[ACPI_HEADER_CHECKSUM_OFFSET] = acpi_checksum(table, ctx->tables[i].length);
    }
}
