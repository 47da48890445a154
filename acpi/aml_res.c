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
