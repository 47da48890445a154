/* SPDX-License-Identifier: MIT */
/* AML resource descriptors (ACPI 6.x section 6.4), emitted inside a
 * ResourceTemplate opened with aml_resource_template_begin(). */
#include <errno.h>

#include "acpi/aml.h"

static uint8_t aml_res_small_tag(uint8_t name, uint8_t len)
{
    return (uint8_t)(name << AML_RES_SMALL_NAME_SHIFT | (len & AML_RES_SMALL_LEN_MASK));
}

/* Large item: tag, then the 16-bit length of what follows. */
static void aml_res_large_header(struct aml *a, uint8_t name, uint16_t len)
{
    uint8_t hdr[] = { (uint8_t)(AML_RES_LARGE_BIT | name), (uint8_t)len, (uint8_t)(len >> 8) };

    aml_append(a, hdr, sizeof(hdr));
}

static void aml_append_le16(struct aml *a, uint16_t v)
{
    aml_append(a, &v, sizeof(v));
}

static void aml_append_le32(struct aml *a, uint32_t v)
{
    aml_append(a, &v, sizeof(v));
}

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    aml_append_byte(a, aml_res_small_tag(AML_RES_SMALL_IO, AML_RES_IO_LEN));
    aml_append_byte(a, AML_RES_IO_DECODE16); /* Information */
    aml_append_le16(a, min);                 /* Range minimum base address */
    aml_append_le16(a, max);                 /* Range maximum base address */
    aml_append_byte(a, align);               /* Base alignment */
    aml_append_byte(a, len);                 /* Range length */
}

void aml_res_irq_noflags(struct aml *a, unsigned irq)
{
    if (irq >= AML_RES_ISA_IRQS) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_append_byte(a, aml_res_small_tag(AML_RES_SMALL_IRQ, AML_RES_IRQ_NOFLAGS_LEN));
    aml_append_le16(a, (uint16_t)(1u << irq)); /* IRQ mask */
}

void aml_res_interrupt(struct aml *a, uint8_t flags, uint32_t gsi)
{
    const uint8_t count = 1;
    const uint16_t len = sizeof(flags) + sizeof(count) + count * sizeof(gsi);

    aml_res_large_header(a, AML_RES_LARGE_EXT_IRQ, len);
    aml_append_byte(a, flags);  /* Interrupt Vector Flags */
    aml_append_byte(a, count);  /* Interrupt table length */
    aml_append_le32(a, gsi);    /* Interrupt Number */
}

void aml_res_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t len)
{
    aml_res_large_header(a, AML_RES_LARGE_MEM32_FIXED, AML_RES_MEM32_FIXED_LEN);
    aml_append_byte(a, rw ? AML_RES_MEM_INFO_RW : 0); /* Information */
    aml_append_le32(a, base);                         /* Range base address */
    aml_append_le32(a, len);                          /* Range length */
}

/* The shape shared by the Word/DWord/QWord Address Space Descriptors. */
struct aml_res_addr {
    uint8_t tag;        /* AML_RES_LARGE_{WORD,DWORD,QWORD}_ADDR */
    unsigned width;     /* bytes per field: 2, 4 or 8 */
    uint8_t type;       /* Resource Type */
    uint8_t type_flags; /* Type Specific Flags */
    uint64_t min, max;  /* the window, inclusive */
};

static void aml_append_le(struct aml *a, uint64_t v, unsigned width)
{
    aml_append(a, &v, width); /* little-endian host: the low bytes */
}

/* A producer window [min, max] with fixed ends; _LEN must fit the width. */
static void aml_res_addr_window(struct aml *a, const struct aml_res_addr *d)
{
    const uint64_t field_max = d->width == sizeof(uint64_t) ? UINT64_MAX
                                                            : (1ull << (8 * d->width)) - 1;
    const uint16_t len = (uint16_t)(AML_RES_ADDR_FIXED_FIELDS +
                                    AML_RES_ADDR_WIDTH_FIELDS * d->width);
    uint64_t range_len = d->max - d->min + 1;

    if (d->min > d->max || range_len == 0 || range_len > field_max) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_res_large_header(a, d->tag, len);
    aml_append_byte(a, d->type);                                            /* Resource Type */
    aml_append_byte(a, AML_RES_ADDR_MIN_FIXED | AML_RES_ADDR_MAX_FIXED);  /* General Flags */
    aml_append_byte(a, d->type_flags);                                 /* Type Specific Flags */
    aml_append_le(a, 0, d->width);                                     /* _GRA */
    aml_append_le(a, d->min, d->width);                                /* _MIN */
    aml_append_le(a, d->max, d->width);                                /* _MAX */
    aml_append_le(a, 0, d->width);                                     /* _TRA */
    aml_append_le(a, range_len, d->width);                             /* _LEN */
}

void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max)
{
    struct aml_res_addr d = {
        .tag = AML_RES_LARGE_WORD_ADDR, .width = sizeof(uint16_t),
        .type = AML_RES_ADDR_TYPE_BUS, .type_flags = AML_RES_BUS_FLAGS, .min = min, .max = max,
    };

    aml_res_addr_window(a, &d);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
    struct aml_res_addr d = {
        .tag = AML_RES_LARGE_WORD_ADDR, .width = sizeof(uint16_t),
        .type = AML_RES_ADDR_TYPE_IO, .type_flags = AML_RES_IO_RANGE_ENTIRE, .min = min, .max = max,
    };

    aml_res_addr_window(a, &d);
}

void aml_res_dword_memory(struct aml *a, uint8_t mem_flags, uint32_t min, uint32_t max)
{
    struct aml_res_addr d = {
        .tag = AML_RES_LARGE_DWORD_ADDR, .width = sizeof(uint32_t),
        .type = AML_RES_ADDR_TYPE_MEMORY, .type_flags = mem_flags, .min = min, .max = max,
    };

    aml_res_addr_window(a, &d);
}

void aml_res_qword_memory(struct aml *a, uint8_t mem_flags, uint64_t min, uint64_t max)
{
    struct aml_res_addr d = {
        .tag = AML_RES_LARGE_QWORD_ADDR, .width = sizeof(uint64_t),
        .type = AML_RES_ADDR_TYPE_MEMORY, .type_flags = mem_flags, .min = min, .max = max,
    };

    aml_res_addr_window(a, &d);
}
