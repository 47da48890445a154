/* SPDX-License-Identifier: MIT */
/*
 * Shared by the table builders inside acpi/: the build context (a bump
 * allocator over the guest buffer plus a registry of the tables placed in it)
 * and the list of table builders.
 *
 * Adding a table: write acpi/<name>.c defining
 *     int acpi_build_<name>(struct acpi_ctx *ctx, const struct acpi_machine *m)
 * and add one X(<name>) line to ACPI_TABLE_LIST below.
 */
#ifndef SLUICE_ACPI_ACPI_INTERNAL_H
#define SLUICE_ACPI_ACPI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi/acpi.h"
#include "acpi/acpi_spec.h"

#define ACPI_OEM_ID "SLUICE"
#define ACPI_OEM_TABLE_ID "SLUICEVM"
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "SLCE"
#define ACPI_CREATOR_REVISION 1
/* FADT Hypervisor Vendor Identity: these 8 ASCII bytes, little-endian. */
#define ACPI_HYPERVISOR_VENDOR_ID "SLUICEVM"

#define ACPI_MAX_TABLES 16

/*
 * Builders run in this order; a builder may look up tables built before it
 * (the FADT needs the DSDT). Every builder is
 *     int acpi_build_<name>(struct acpi_ctx *, const struct acpi_machine *)
 * returning 0 or -errno; a builder for an absent feature returns 0 and adds
 * nothing. The XSDT and RSDP are built after all of these by acpi_build().
 */
#define ACPI_TABLE_LIST(X) \
    X(dsdt)                \
    X(fadt)                \
    X(madt)                \
    X(mcfg)                \
    X(ivrs)

/* Where a table sits, for lookups and the final checksum pass. */
struct acpi_table {
    char signature[ACPI_SIG_LEN];
    size_t offset;      /* from the start of the buffer */
    size_t length;
    bool in_xsdt;       /* false for the DSDT (the FADT points at it) and the XSDT */
};

struct acpi_ctx {
    uint8_t *buf;
    uint64_t buf_gpa;
    size_t size;
    size_t used;        /* bump pointer: everything below was handed out */
    unsigned ntables;
    struct acpi_table tables[ACPI_MAX_TABLES];
};

/*
 * Reserve `len` zeroed bytes aligned to `align` (a power of two). Returns the
 * offset in *offset, or -ENOSPC when they do not fit.
 */
int acpi_ctx_alloc(struct acpi_ctx *ctx, size_t len, size_t align, size_t *offset)
    __attribute__((warn_unused_result));

static inline uint64_t acpi_ctx_gpa(const struct acpi_ctx *ctx, size_t offset)
{
    return ctx->buf_gpa + offset;
}

/*
 * Place a new table of `length` bytes (header included) and write its header
 * (signature, length, revision, OEM and creator fields; checksum 0). The body
 * is zero. Returns the table's offset in *offset; -ENOSPC, or -EINVAL when
 * the registry is full or length is smaller than a header.
 */
int acpi_table_add(struct acpi_ctx *ctx, const char *signature, uint8_t revision,
                   size_t length, bool in_xsdt, size_t *offset)
    __attribute__((warn_unused_result));

/* The table with `signature` placed earlier, or NULL. */
const struct acpi_table *acpi_table_find(const struct acpi_ctx *ctx, const char *signature);

/* Copy `len` bytes to buffer offset `offset` (inside an allocation). */
void acpi_ctx_write(struct acpi_ctx *ctx, size_t offset, const void *src, size_t len);

/* The value for a checksum byte that is currently 0 inside `data[0..len)`
 * so that all `len` bytes sum to zero (mod 256). */
uint8_t acpi_checksum(const void *data, size_t len);

/* Set the header checksum of every registered table. Call last. */
void acpi_tables_checksum(struct acpi_ctx *ctx);

/* Builders that are not part of the table list: they run last. */
int acpi_build_xsdt(struct acpi_ctx *ctx, size_t *offset) __attribute__((warn_unused_result));
int acpi_build_rsdp(struct acpi_ctx *ctx, size_t rsdp_offset, size_t xsdt_offset)
    __attribute__((warn_unused_result));

#define ACPI_DECLARE_BUILDER(name) \
    int acpi_build_##name(struct acpi_ctx *ctx, const struct acpi_machine *m);
ACPI_TABLE_LIST(ACPI_DECLARE_BUILDER)
#undef ACPI_DECLARE_BUILDER

#endif
