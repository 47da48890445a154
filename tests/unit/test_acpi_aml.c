/* SPDX-License-Identifier: MIT */
/*
 * AML builder encodings, checked byte for byte against hand-assembled
 * expectations from the ACPI 6.x AML grammar (chapter 20) and resource
 * descriptor layouts (6.4). iasl cross-checks live in test_acpi_iasl.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "acpi/aml.h"
#include "check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CHECK_BYTES(a, ...)                                                  \
    do {                                                                     \
        static const uint8_t expect_[] = { __VA_ARGS__ };                    \
        check_bytes(a, expect_, sizeof(expect_), __LINE__);                  \
    } while (0)

/* Compare the builder's output with `expect`, then reset it. */
static void check_bytes(struct aml *a, const uint8_t *expect, size_t len, int line)
{
    CHECK_EQ(aml_finish(a), 0);
    CHECK_EQ(a->len, len);
    if (a->len == len && memcmp(a->data, expect, len) != 0) {
        fprintf(stderr, "line %d: bytes differ:", line);
        for (size_t i = 0; i < len; i++)
            fprintf(stderr, " %02x/%02x", a->data[i], expect[i]);
        fprintf(stderr, "\n");
        CHECK(0);
    }
    aml_free(a);
    aml_init(a);
}

struct pkglen_case {
    size_t content;
    size_t nbytes;
    uint8_t enc[AML_PKGLEN_MAX_BYTES];
};

static void test_pkglength(void)
{
    /* PkgLength counts itself: the 1-byte form holds totals up to 63, the
     * 2-byte form up to 4095, the 3-byte form up to 2^20 - 1, the 4-byte form
     * up to 2^28 - 1. */
    static const struct pkglen_case cases[] = {
        { 0, 1, { 0x01 } },
        { 62, 1, { 0x3f } },                         /* total 63 */
        { 63, 2, { 0x41, 0x04 } },                   /* total 65 */
        { 64, 2, { 0x42, 0x04 } },                   /* total 66 */
        { 4093, 2, { 0x4f, 0xff } },                 /* total 4095 */
        { 4094, 3, { 0x81, 0x00, 0x01 } },           /* total 4097 */
        { 4096, 3, { 0x83, 0x00, 0x01 } },           /* total 4099 */
        { 0xffffc, 3, { 0x8f, 0xff, 0xff } },        /* total 2^20 - 1 */
        { 0xffffd, 4, { 0xc1, 0x00, 0x00, 0x01 } },  /* total 2^20 + 1 */
        { 0xffffffb, 4, { 0xcf, 0xff, 0xff, 0xff } }, /* total 2^28 - 1 */
    };
    uint8_t out[AML_PKGLEN_MAX_BYTES];

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        memset(out, 0, sizeof(out));
        CHECK_EQ(aml_pkglength_encode(cases[i].content, out), cases[i].nbytes);
        CHECK(memcmp(out, cases[i].enc, cases[i].nbytes) == 0);
    }
    CHECK_EQ(aml_pkglength_encode(0xffffffc, out), 0); /* too large */
}

/* Decode a PkgLength at p: returns the total it encodes, *n its size. */
static size_t decode_pkglength(const uint8_t *p, size_t *n)
{
    size_t follow = p[0] >> 6, total;

    if (follow == 0) {
        *n = 1;
        return p[0] & 0x3f;
    }
    total = p[0] & 0x0f;
    for (size_t i = 0; i < follow; i++)
        total |= (size_t)p[1 + i] << (4 + 8 * i);
    *n = 1 + follow;
    return total;
}

/* Scope(_SB) around padding so the contents hit each PkgLength boundary. */
static void test_pkglength_in_builder(void)
{
    static const size_t contents[] = { 62, 63, 4093, 4094, 5000, 0xffffc, 0xffffd };
    uint8_t *pad = calloc(1, 0xffffd);
    struct aml a;

    CHECK(pad != NULL);
    if (!pad)
        return;
    for (size_t i = 0; i < ARRAY_SIZE(contents); i++) {
        size_t n, total;

        aml_init(&a);
        struct aml_mark m = aml_scope_begin(&a, "_SB");
        aml_append(&a, pad, contents[i] - AML_NAMESEG_LEN);
        aml_end(&a, m);
        CHECK_EQ(aml_finish(&a), 0);
        CHECK_EQ(a.data[0], AML_SCOPE_OP);
        total = decode_pkglength(a.data + 1, &n);
        CHECK_EQ(total, contents[i] + n);
        CHECK_EQ(a.len, 1 + total);
        CHECK(memcmp(a.data + 1 + n, "_SB_", AML_NAMESEG_LEN) == 0);
        aml_free(&a);
    }
    free(pad);
}

/* Nested objects: the outer PkgLength grows by the inner PkgLength bytes. */
static void test_nesting(void)
{
    uint8_t pad[100] = { 0 };
    struct aml a;
    size_t n_outer, n_inner, outer, inner;

    aml_init(&a);
    struct aml_mark s = aml_scope_begin(&a, "_SB");
    struct aml_mark d = aml_device_begin(&a, "DEV0");
    aml_append(&a, pad, sizeof(pad));
    aml_end(&a, d);
    aml_end(&a, s);
    CHECK_EQ(aml_finish(&a), 0);
    outer = decode_pkglength(a.data + 1, &n_outer);
    CHECK_EQ(1 + outer, a.len);
    /* Scope: 10 len _SB_ | Device: 5B 82 len DEV0 pad */
    CHECK_EQ(a.data[1 + n_outer + 4], AML_EXT_OP_PREFIX);
    CHECK_EQ(a.data[1 + n_outer + 5], AML_DEVICE_OP);
    inner = decode_pkglength(a.data + 1 + n_outer + 6, &n_inner);
    CHECK_EQ(inner, n_inner + 4 + sizeof(pad));
    CHECK_EQ(outer, n_outer + 4 + 2 + inner);
    aml_free(&a);
}

struct int_case {
    uint64_t value;
    size_t len;
    uint8_t enc[9];
};

static void test_integers(void)
{
    static const struct int_case cases[] = {
        { 0, 1, { 0x00 } },                                   /* ZeroOp */
        { 1, 1, { 0x01 } },                                   /* OneOp */
        { 2, 2, { 0x0a, 0x02 } },                             /* BytePrefix */
        { 0xff, 2, { 0x0a, 0xff } },
        { 0x100, 3, { 0x0b, 0x00, 0x01 } },                   /* WordPrefix */
        { 0xffff, 3, { 0x0b, 0xff, 0xff } },
        { 0x10000, 5, { 0x0c, 0x00, 0x00, 0x01, 0x00 } },     /* DWordPrefix */
        { 0xfee00000, 5, { 0x0c, 0x00, 0x00, 0xe0, 0xfe } },
        { 0xffffffff, 5, { 0x0c, 0xff, 0xff, 0xff, 0xff } },
        { 0x100000000ull, 9, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 } }, /* QWordPrefix */
        { UINT64_MAX - 1, 9, { 0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
        { UINT64_MAX, 1, { 0xff } },                          /* OnesOp (revision 2+) */
    };
    struct aml a;

    aml_init(&a);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        aml_integer(&a, cases[i].value);
        check_bytes(&a, cases[i].enc, cases[i].len, __LINE__);
    }
    aml_free(&a);
}

static void check_name_fails(const char *path)
{
    struct aml a;

    aml_init(&a);
    aml_namestring(&a, path);
    if (aml_finish(&a) != -EINVAL)
        fprintf(stderr, "name \"%s\" was accepted\n", path);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
}

static void test_names(void)
{
    struct aml a;

    aml_init(&a);
    aml_namestring(&a, "_HID");
    CHECK_BYTES(&a, '_', 'H', 'I', 'D');
    aml_namestring(&a, "RTC");
    CHECK_BYTES(&a, 'R', 'T', 'C', '_');
    aml_namestring(&a, "\\_SB");
    CHECK_BYTES(&a, '\\', '_', 'S', 'B', '_');
    aml_namestring(&a, "\\_SB.PCI0");
    CHECK_BYTES(&a, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
    aml_namestring(&a, "\\_SB.PCI0.S8");
    CHECK_BYTES(&a, '\\', 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '8', '_', '_');
    aml_namestring(&a, "^^PCI0");
    CHECK_BYTES(&a, '^', '^', 'P', 'C', 'I', '0');
    aml_namestring(&a, "\\");
    CHECK_BYTES(&a, '\\', 0x00);
    aml_free(&a);

    check_name_fails("abc");
    check_name_fails("1ABC");
    check_name_fails("ABCDE");
    check_name_fails("A..B");
    check_name_fails("A.");
    check_name_fails(".A");
    check_name_fails("\\^A");
    check_name_fails("A-B");
}

static void test_strings_eisaid(void)
{
    struct aml a;

    aml_init(&a);
    aml_string(&a, "QEMU0001");
    CHECK_BYTES(&a, 0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00);
    aml_string(&a, "");
    CHECK_BYTES(&a, 0x0d, 0x00);
    aml_eisaid(&a, "PNP0501");
    CHECK_BYTES(&a, 0x0c, 0x41, 0xd0, 0x05, 0x01);
    aml_eisaid(&a, "PNP0A08");
    CHECK_BYTES(&a, 0x0c, 0x41, 0xd0, 0x0a, 0x08);
    aml_eisaid(&a, "PNP0B00");
    CHECK_BYTES(&a, 0x0c, 0x41, 0xd0, 0x0b, 0x00);
    aml_name_eisaid(&a, "_HID", "PNP0501");
    CHECK_BYTES(&a, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01);
    aml_free(&a);

    static const char *const bad_ids[] = { "pnp0501", "PNP050", "PNP05G1", "PNP05011", "P1P0501" };
    for (size_t i = 0; i < ARRAY_SIZE(bad_ids); i++) {
        aml_init(&a);
        aml_eisaid(&a, bad_ids[i]);
        CHECK_EQ(aml_finish(&a), -EINVAL);
        aml_free(&a);
    }
    aml_init(&a);
    aml_string(&a, "caf\xc3\xa9");
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
}

static void test_objects(void)
{
    struct aml a;
    struct aml_mark m;

    aml_init(&a);
    /* Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero }) */
    aml_name(&a, "_S5");
    m = aml_package_begin(&a, 4);
    aml_integer(&a, 5);
    aml_integer(&a, 5);
    aml_integer(&a, 0);
    aml_integer(&a, 0);
    aml_end(&a, m);
    CHECK_BYTES(&a, 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00,
                0x00);

    /* Buffer () {} and Buffer () { 1, 2, 3 } */
    m = aml_buffer_begin(&a);
    aml_end(&a, m);
    CHECK_BYTES(&a, 0x11, 0x02, 0x00);
    m = aml_buffer_begin(&a);
    aml_append(&a, (const uint8_t[]){ 1, 2, 3 }, 3);
    aml_end(&a, m);
    CHECK_BYTES(&a, 0x11, 0x06, 0x0a, 0x03, 1, 2, 3);

    /* Method (_STA, 0, NotSerialized) { Return (0x0F) } */
    m = aml_method_begin(&a, "_STA", 0, false);
    aml_return(&a);
    aml_integer(&a, 0x0f);
    aml_end(&a, m);
    CHECK_BYTES(&a, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);

    /* Method (M2, 2, Serialized) { If (Arg1) { Return (Local7) } } */
    m = aml_method_begin(&a, "M2", 2, true);
    struct aml_mark i = aml_if_begin(&a);
    aml_arg(&a, 1);
    aml_return(&a);
    aml_local(&a, 7);
    aml_end(&a, i);
    aml_end(&a, m);
    CHECK_BYTES(&a, 0x14, 0x0b, 'M', '2', '_', '_', 0x0a, 0xa0, 0x04, 0x69, 0xa4, 0x67);

    /* Device (DEV0) {} */
    m = aml_device_begin(&a, "DEV0");
    aml_end(&a, m);
    CHECK_BYTES(&a, 0x5b, 0x82, 0x05, 'D', 'E', 'V', '0');
    aml_free(&a);
}

static void test_big_buffer(void)
{
    uint8_t data[300];
    struct aml a;
    size_t n;

    memset(data, 0xab, sizeof(data));
    aml_init(&a);
    struct aml_mark m = aml_buffer_begin(&a);
    aml_append(&a, data, sizeof(data));
    aml_end(&a, m);
    CHECK_EQ(aml_finish(&a), 0);
    CHECK_EQ(a.data[0], AML_BUFFER_OP);
    CHECK_EQ(decode_pkglength(a.data + 1, &n), n + 3 + sizeof(data));
    CHECK_EQ(n, 2);
    /* BufferSize: WordConst 300 */
    CHECK_EQ(a.data[1 + n], AML_WORD_PREFIX);
    CHECK_EQ(a.data[2 + n] | a.data[3 + n] << 8, sizeof(data));
    CHECK_EQ(a.len, 1 + n + 3 + sizeof(data));
    aml_free(&a);
}

static void test_resources(void)
{
    struct aml a;
    struct aml_mark m;

    aml_init(&a);
    aml_res_io(&a, 0x3f8, 0x3f8, 1, 8);
    CHECK_BYTES(&a, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08);
    aml_res_irq_noflags(&a, 4);
    CHECK_BYTES(&a, 0x22, 0x10, 0x00);
    aml_res_irq_noflags(&a, 15);
    CHECK_BYTES(&a, 0x22, 0x00, 0x80);
    /* Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { 5 } */
    aml_res_interrupt(&a, AML_RES_INT_CONSUMER, 5);
    CHECK_BYTES(&a, 0x89, 0x06, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00);
    aml_res_interrupt(&a, AML_RES_INT_CONSUMER | AML_RES_INT_EDGE | AML_RES_INT_ACTIVE_LOW |
                              AML_RES_INT_SHARED, 0x12345678);
    CHECK_BYTES(&a, 0x89, 0x06, 0x00, 0x0f, 0x01, 0x78, 0x56, 0x34, 0x12);

    /* Name (_CRS, ResourceTemplate () { IO (...), IRQNoFlags () {4} }) */
    m = aml_name_resource_template_begin(&a, "_CRS");
    aml_res_io(&a, 0x3f8, 0x3f8, 1, 8);
    aml_res_irq_noflags(&a, 4);
    aml_end(&a, m);
    CHECK_BYTES(&a, 0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03,
                0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00);
    /* An empty template is just the EndTag. */
    m = aml_resource_template_begin(&a);
    aml_end(&a, m);
    CHECK_BYTES(&a, 0x11, 0x05, 0x0a, 0x02, 0x79, 0x00);

    aml_res_irq_noflags(&a, 16);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
}

/* Bridge windows and fixed memory (6.4.3.4, 6.4.3.5): q35-like PCI0 values. */
static void test_bridge_resources(void)
{
    struct aml a;

    aml_init(&a);
    /* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0, 0x100) */
    aml_res_word_bus_number(&a, 0, 0xff);
    CHECK_BYTES(&a, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00,
                0x00, 0x00, 0x00, 0x01);
    /* WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
     *         0, 0x0D00, 0xFFFF, 0, 0xF300) */
    aml_res_word_io(&a, 0xd00, 0xffff);
    CHECK_BYTES(&a, 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff,
                0x00, 0x00, 0x00, 0xf3);
    /* DWordMemory (..., NonCacheable, ReadWrite, 0, 0xC0000000, 0xDFFFFFFF, 0, 0x20000000) */
    aml_res_dword_memory(&a, AML_RES_MEM_RW | AML_RES_MEM_NON_CACHEABLE, 0xc0000000u,
                         0xdfffffffu);
    CHECK_BYTES(&a, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xc0,
                0xff, 0xff, 0xff, 0xdf, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20);
    /* QWordMemory (..., Cacheable, ReadWrite, 0, 0x10_0000_0000, 0x1F_FFFF_FFFF, 0, 64 GiB) */
    aml_res_qword_memory(&a, AML_RES_MEM_RW | AML_RES_MEM_CACHEABLE, 0x1000000000ull,
                         0x1fffffffffull);
    CHECK_BYTES(&a, 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00,
                0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00, 0x00,
                0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00);
    /* Memory32Fixed (ReadWrite, 0xE0000000, 0x10000000) */
    aml_res_memory32_fixed(&a, true, 0xe0000000u, 0x10000000u);
    CHECK_BYTES(&a, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x10);
    aml_res_memory32_fixed(&a, false, 0x1000, 0x10);
    CHECK_BYTES(&a, 0x86, 0x09, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00);
    aml_free(&a);

    /* Empty windows and lengths the descriptor cannot hold are refused. */
    aml_init(&a);
    aml_res_word_io(&a, 5, 4);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_res_word_io(&a, 0, 0xffff); /* 0x10000 ports */
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_res_dword_memory(&a, AML_RES_MEM_RW, 0, 0xffffffffu);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_res_qword_memory(&a, AML_RES_MEM_RW, 0, UINT64_MAX);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
}

/* Method-body operators, fields, Else and ToUUID (20.2.5). */
static void test_operators(void)
{
    struct aml a;
    struct aml_mark m;

    aml_init(&a);
    /* CreateDWordField (Arg3, 0x08, CDW3) */
    aml_create_dword_field(&a, 3, 8, "CDW3");
    CHECK_BYTES(&a, 0x8a, 0x6b, 0x0a, 0x08, 'C', 'D', 'W', '3');
    /* Store (Local0, CDW3) */
    aml_store(&a);
    aml_local(&a, 0);
    aml_namestring(&a, "CDW3");
    CHECK_BYTES(&a, 0x70, 0x60, 'C', 'D', 'W', '3');
    /* And (Arg0, 0x3F, Local0); Or (Arg0, One, ) */
    aml_and(&a);
    aml_arg(&a, 0);
    aml_integer(&a, 0x3f);
    aml_local(&a, 0);
    aml_or(&a);
    aml_arg(&a, 0);
    aml_integer(&a, 1);
    aml_null_target(&a);
    CHECK_BYTES(&a, 0x7b, 0x68, 0x0a, 0x3f, 0x60, 0x7d, 0x68, 0x01, 0x00);
    /* LNot (LEqual (Arg1, One)), LAnd (Arg0, Arg1), LOr (Arg0, Arg1) */
    aml_lnot(&a);
    aml_lequal(&a);
    aml_arg(&a, 1);
    aml_integer(&a, 1);
    aml_land(&a);
    aml_arg(&a, 0);
    aml_arg(&a, 1);
    aml_lor(&a);
    aml_arg(&a, 0);
    aml_arg(&a, 1);
    CHECK_BYTES(&a, 0x92, 0x93, 0x69, 0x01, 0x90, 0x68, 0x69, 0x91, 0x68, 0x69);
    /* If (Arg0) {} Else { Return (One) } */
    m = aml_if_begin(&a);
    aml_arg(&a, 0);
    aml_end(&a, m);
    m = aml_else_begin(&a);
    aml_return(&a);
    aml_integer(&a, 1);
    aml_end(&a, m);
    CHECK_BYTES(&a, 0xa0, 0x02, 0x68, 0xa1, 0x03, 0xa4, 0x01);
    /* ToUUID: the first three groups little-endian, the rest as written. */
    aml_touuid(&a, "33DB4D5B-1FF7-401C-9657-7441C03DD766");
    CHECK_BYTES(&a, 0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
                0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66);
    aml_touuid(&a, "33db4d5b-1ff7-401c-9657-7441c03dd766");
    CHECK_BYTES(&a, 0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
                0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66);
    aml_free(&a);

    static const char *const bad_uuids[] = {
        "33DB4D5B-1FF7-401C-9657-7441C03DD76",   /* short */
        "33DB4D5B-1FF7-401C-9657-7441C03DD7666", /* long */
        "33DB4D5B+1FF7-401C-9657-7441C03DD766",  /* separator */
        "33DB4D5B-1FF7-401C-9657-7441C03DD7G6",  /* digit */
        "",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad_uuids); i++) {
        aml_init(&a);
        aml_touuid(&a, bad_uuids[i]);
        CHECK_EQ(aml_finish(&a), -EINVAL);
        CHECK_EQ(a.len, 0);
        aml_free(&a);
    }
    aml_init(&a);
    aml_create_dword_field(&a, 7, 0, "CDW1");
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
}

static void test_errors(void)
{
    struct aml a;
    struct aml_mark outer, inner;

    /* -E2BIG is latched; later calls change nothing. */
    aml_init(&a);
    a.limit = 8;
    aml_name_integer(&a, "_UID", 1);
    CHECK_EQ(aml_finish(&a), 0);
    aml_name_integer(&a, "_ADR", 0x12345678);
    CHECK_EQ(aml_finish(&a), -E2BIG);
    size_t len = a.len;
    aml_integer(&a, 0);
    outer = aml_device_begin(&a, "DEV0");
    aml_end(&a, outer);
    CHECK_EQ(a.len, len);
    CHECK_EQ(aml_finish(&a), -E2BIG);
    aml_free(&a);

    /* Closing the outer object before the inner one. */
    aml_init(&a);
    outer = aml_scope_begin(&a, "_SB");
    inner = aml_device_begin(&a, "DEV0");
    aml_end(&a, outer);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    (void)inner;
    aml_free(&a);

    /* An object left open. */
    aml_init(&a);
    outer = aml_scope_begin(&a, "_SB");
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_end(&a, outer);
    CHECK_EQ(aml_finish(&a), 0);
    aml_free(&a);

    /* Bad arguments. */
    aml_init(&a);
    outer = aml_package_begin(&a, 256);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
    aml_init(&a);
    outer = aml_method_begin(&a, "M8", 8, false);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_arg(&a, 7);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_local(&a, 8);
    CHECK_EQ(aml_finish(&a), -EINVAL);
    aml_free(&a);
}

int main(void)
{
    test_pkglength();
    test_pkglength_in_builder();
    test_nesting();
    test_integers();
    test_names();
    test_strings_eisaid();
    test_objects();
    test_big_buffer();
    test_resources();
    test_bridge_resources();
    test_operators();
    test_errors();
    return check_result("test_acpi_aml");
}
