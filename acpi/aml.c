/* SPDX-License-Identifier: MIT */
/* AML builder core: the growable buffer, names, data objects, nesting. */
#include "acpi/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AML_INITIAL_CAP 256
#define AML_INT_MAX_BYTES 9 /* prefix + QWord */
#define AML_EISAID_LEN 7
#define AML_EISAID_LETTERS 3
#define AML_EISAID_LETTER_BITS 5
#define AML_EISAID_LETTER_MASK 0x1f

void aml_init(struct aml *a)
{
    memset(a, 0, sizeof(*a));
    a->limit = AML_MAX_LEN;
}

void aml_free(struct aml *a)
{
    free(a->data);
    a->data = NULL;
    a->len = a->cap = 0;
}

int aml_finish(const struct aml *a)
{
    if (a->err)
        return a->err;
    return a->depth ? -EINVAL : 0;
}

void aml_fail(struct aml *a, int err)
{
    if (!a->err)
        a->err = err;
}

/* Make room for `n` more bytes. False (error latched) when impossible. */
static bool aml_reserve(struct aml *a, size_t n)
{
    size_t want, cap;
    uint8_t *p;

    if (a->err)
        return false;
    if (a->len > a->limit || n > a->limit - a->len) {
        aml_fail(a, -E2BIG);
        return false;
    }
    want = a->len + n;
    if (want <= a->cap)
        return true;
    cap = a->cap ? a->cap : AML_INITIAL_CAP;
    while (cap < want)
        cap *= 2;
    p = realloc(a->data, cap);
    if (!p) {
        aml_fail(a, -ENOMEM);
        return false;
    }
    a->data = p;
    a->cap = cap;
    return true;
}

void aml_append(struct aml *a, const void *data, size_t len)
{
    if (!aml_reserve(a, len))
        return;
    memcpy(a->data + a->len, data, len);
    a->len += len;
}

void aml_append_byte(struct aml *a, uint8_t byte)
{
    aml_append(a, &byte, 1);
}

/* Insert `len` bytes at offset `at`, moving what follows. */
static void aml_insert(struct aml *a, size_t at, const uint8_t *data, size_t len)
{
    if (!aml_reserve(a, len))
        return;
    memmove(a->data + at + len, a->data + at, a->len - at);
    memcpy(a->data + at, data, len);
    a->len += len;
}

/* --- PkgLength (20.2.4) ---------------------------------------------------- */

/* How many bytes the PkgLength takes when the contents are content_len bytes:
 * the encoded value counts the PkgLength bytes themselves. */
static size_t aml_pkglength_size(size_t content_len)
{
    static const size_t max_total[AML_PKGLEN_MAX_BYTES] = {
        AML_PKGLEN_1BYTE_MAX, AML_PKGLEN_2BYTE_MAX, AML_PKGLEN_3BYTE_MAX, AML_PKGLEN_4BYTE_MAX,
    };

    for (size_t n = 1; n <= AML_PKGLEN_MAX_BYTES; n++) {
        if (content_len <= max_total[n - 1] - n)
            return n;
    }
    return 0;
}

size_t aml_pkglength_encode(size_t content_len, uint8_t out[AML_PKGLEN_MAX_BYTES])
{
    size_t n = aml_pkglength_size(content_len);
    size_t total = content_len + n;

    if (n == 0)
        return 0;
    if (n == 1) {
        out[0] = (uint8_t)total;
        return 1;
    }
    /* Lead byte: bits 7:6 count the following bytes, bits 3:0 the low nibble. */
    out[0] = (uint8_t)(((n - 1) << AML_PKGLEN_BYTECOUNT_SHIFT) |
                       (total & AML_PKGLEN_LEAD_NIBBLE_MASK));
    total >>= AML_PKGLEN_LEAD_NIBBLE_BITS;
    for (size_t i = 1; i < n; i++) {
        out[i] = (uint8_t)total;
        total >>= 8;
    }
    return n;
}

/* --- Names (20.2.2) -------------------------------------------------------- */

static bool aml_lead_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool aml_name_char_ok(char c)
{
    return aml_lead_char_ok(c) || (c >= '0' && c <= '9');
}

static bool aml_seg_ok(const char *seg, size_t len)
{
    if (len == 0 || len > AML_NAMESEG_LEN || !aml_lead_char_ok(seg[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!aml_name_char_ok(seg[i]))
            return false;
    }
    return true;
}

/* Count the dot-separated segments of `path` (no prefix), validating them. */
static int aml_count_segs(const char *path, size_t *nsegs)
{
    size_t n = 0;

    while (*path) {
        size_t len = strcspn(path, ".");

        if (!aml_seg_ok(path, len))
            return -EINVAL;
        n++;
        path += len;
        if (*path && !*++path)
            return -EINVAL; /* trailing '.' */
    }
    if (n > AML_MULTI_NAME_MAX_SEGS)
        return -EINVAL;
    *nsegs = n;
    return 0;
}

static void aml_nameseg(struct aml *a, const char *seg, size_t len)
{
    char padded[AML_NAMESEG_LEN];

    memset(padded, AML_NAMESEG_PAD, sizeof(padded));
    memcpy(padded, seg, len);
    aml_append(a, padded, sizeof(padded));
}

static const char *aml_name_prefix(struct aml *a, const char *path)
{
    if (*path == AML_ROOT_CHAR) {
        aml_append_byte(a, AML_ROOT_CHAR);
        return path + 1;
    }
    while (*path == AML_PARENT_PREFIX_CHAR)
        aml_append_byte(a, *path++);
    return path;
}

void aml_namestring(struct aml *a, const char *path)
{
    size_t nsegs;

    if (a->err)
        return;
    path = aml_name_prefix(a, path);
    if (aml_count_segs(path, &nsegs)) {
        aml_fail(a, -EINVAL);
        return;
    }
    if (nsegs == 0)
        aml_append_byte(a, AML_NULL_NAME);
    else if (nsegs == 2)
        aml_append_byte(a, AML_DUAL_NAME_PREFIX);
    else if (nsegs > 2) {
        aml_append_byte(a, AML_MULTI_NAME_PREFIX);
        aml_append_byte(a, (uint8_t)nsegs);
    }
    while (nsegs--) {
        size_t len = strcspn(path, ".");

        aml_nameseg(a, path, len);
        path += len + (path[len] != '\0');
    }
}

/* --- Data objects (20.2.3) ------------------------------------------------- */

static size_t aml_encode_integer(uint64_t v, uint8_t out[AML_INT_MAX_BYTES])
{
    size_t width;

    if (v == 0 || v == 1 || v == UINT64_MAX) {
        out[0] = v == 0 ? AML_ZERO_OP : v == 1 ? AML_ONE_OP : AML_ONES_OP;
        return 1;
    }
    if (v <= UINT8_MAX) {
        out[0] = AML_BYTE_PREFIX;
        width = sizeof(uint8_t);
    } else if (v <= UINT16_MAX) {
        out[0] = AML_WORD_PREFIX;
        width = sizeof(uint16_t);
    } else if (v <= UINT32_MAX) {
        out[0] = AML_DWORD_PREFIX;
        width = sizeof(uint32_t);
    } else {
        out[0] = AML_QWORD_PREFIX;
        width = sizeof(uint64_t);
    }
    memcpy(out + 1, &v, width); /* little-endian host: the low bytes */
    return 1 + width;
}

void aml_integer(struct aml *a, uint64_t value)
{
    uint8_t enc[AML_INT_MAX_BYTES];
    size_t len = aml_encode_integer(value, enc);

    aml_append(a, enc, len);
}

void aml_string(struct aml *a, const char *s)
{
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < AML_STRING_CHAR_MIN || (unsigned char)*p > AML_STRING_CHAR_MAX) {
            aml_fail(a, -EINVAL);
            return;
        }
    }
    aml_append_byte(a, AML_STRING_PREFIX);
    aml_append(a, s, strlen(s) + 1); /* AsciiCharList NullChar */
}

static int aml_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* EISA ID: 3 letters, 5 bits each ('A' = 1), then 4 hex digits, big-endian
 * within the 32-bit value as stored in memory. */
static int aml_eisaid_encode(const char *id, uint8_t out[4])
{
    unsigned letters = 0;
    int digit[4];

    if (strlen(id) != AML_EISAID_LEN)
        return -EINVAL;
    for (int i = 0; i < AML_EISAID_LETTERS; i++) {
        if (id[i] < 'A' || id[i] > 'Z')
            return -EINVAL;
        letters = (letters << AML_EISAID_LETTER_BITS) | (id[i] & AML_EISAID_LETTER_MASK);
    }
    for (int i = 0; i < 4; i++) {
        digit[i] = aml_hex_digit(id[AML_EISAID_LETTERS + i]);
        if (digit[i] < 0)
            return -EINVAL;
    }
    out[0] = (uint8_t)(letters >> 8);
    out[1] = (uint8_t)letters;
    out[2] = (uint8_t)(digit[0] << 4 | digit[1]);
    out[3] = (uint8_t)(digit[2] << 4 | digit[3]);
    return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
    uint8_t enc[4];

    if (aml_eisaid_encode(id, enc)) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_append_byte(a, AML_DWORD_PREFIX); /* always a DWordConst, as iasl does */
    aml_append(a, enc, sizeof(enc));
}

/* --- Named objects --------------------------------------------------------- */

void aml_name(struct aml *a, const char *name)
{
    aml_append_byte(a, AML_NAME_OP);
    aml_namestring(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t value)
{
    aml_name(a, name);
    aml_integer(a, value);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
    aml_name(a, name);
    aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
    aml_name(a, name);
    aml_eisaid(a, id);
}

/* --- Nesting --------------------------------------------------------------- */

/* End Tag (6.4.2.9), closing a resource template. */
static void aml_end_tag(struct aml *a)
{
    static const uint8_t tag[] = {
        AML_RES_SMALL_END_TAG << AML_RES_SMALL_NAME_SHIFT | AML_RES_END_TAG_LEN,
        AML_RES_END_TAG_CHECKSUM,
    };

    aml_append(a, tag, sizeof(tag));
}

/* Open an object whose opcode was just emitted: its PkgLength goes here. */
static struct aml_mark aml_open(struct aml *a, enum aml_mark_kind kind)
{
    struct aml_mark m = { .start = a->len, .depth = ++a->depth, .kind = kind };

    return m;
}

void aml_end(struct aml *a, struct aml_mark mark)
{
    uint8_t head[AML_PKGLEN_MAX_BYTES + AML_INT_MAX_BYTES];
    size_t nint = 0, npkg, content;

    if (a->err)
        return;
    if (mark.depth != a->depth || mark.start > a->len) {
        aml_fail(a, -EINVAL);
        return;
    }
    if (mark.kind == AML_MARK_RESOURCE_TEMPLATE)
        aml_end_tag(a);
    content = a->len - mark.start;
    if (mark.kind != AML_MARK_PKG) /* Buffer: PkgLength BufferSize ByteList */
        nint = aml_encode_integer(content, head + AML_PKGLEN_MAX_BYTES);
    npkg = aml_pkglength_encode(content + nint, head);
    if (npkg == 0) {
        aml_fail(a, -E2BIG);
        return;
    }
    memmove(head + npkg, head + AML_PKGLEN_MAX_BYTES, nint);
    aml_insert(a, mark.start, head, npkg + nint);
    a->depth--;
}

struct aml_mark aml_scope_begin(struct aml *a, const char *path)
{
    struct aml_mark m;

    aml_append_byte(a, AML_SCOPE_OP);
    m = aml_open(a, AML_MARK_PKG);
    aml_namestring(a, path);
    return m;
}

struct aml_mark aml_device_begin(struct aml *a, const char *name)
{
    static const uint8_t op[] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
    struct aml_mark m;

    aml_append(a, op, sizeof(op));
    m = aml_open(a, AML_MARK_PKG);
    aml_namestring(a, name);
    return m;
}

struct aml_mark aml_package_begin(struct aml *a, unsigned nelements)
{
    struct aml_mark m;

    if (nelements > AML_PACKAGE_MAX_ELEMENTS)
        aml_fail(a, -EINVAL);
    aml_append_byte(a, AML_PACKAGE_OP);
    m = aml_open(a, AML_MARK_PKG);
    aml_append_byte(a, (uint8_t)nelements); /* NumElements */
    return m;
}

struct aml_mark aml_buffer_begin(struct aml *a)
{
    aml_append_byte(a, AML_BUFFER_OP);
    return aml_open(a, AML_MARK_BUFFER);
}

struct aml_mark aml_method_begin(struct aml *a, const char *name, unsigned nargs,
                                 bool serialized)
{
    struct aml_mark m;

    if (nargs > AML_METHOD_ARGS_MAX)
        aml_fail(a, -EINVAL);
    aml_append_byte(a, AML_METHOD_OP);
    m = aml_open(a, AML_MARK_PKG);
    aml_namestring(a, name);
    aml_append_byte(a, (uint8_t)(nargs | (serialized ? AML_METHOD_SERIALIZED : 0)));
    return m;
}

struct aml_mark aml_if_begin(struct aml *a)
{
    aml_append_byte(a, AML_IF_OP);
    return aml_open(a, AML_MARK_PKG);
}

struct aml_mark aml_else_begin(struct aml *a)
{
    aml_append_byte(a, AML_ELSE_OP);
    return aml_open(a, AML_MARK_PKG);
}

struct aml_mark aml_resource_template_begin(struct aml *a)
{
    aml_append_byte(a, AML_BUFFER_OP);
    return aml_open(a, AML_MARK_RESOURCE_TEMPLATE);
}

struct aml_mark aml_name_resource_template_begin(struct aml *a, const char *name)
{
    aml_name(a, name);
    return aml_resource_template_begin(a);
}

/* --- Method terms ---------------------------------------------------------- */

void aml_return(struct aml *a)
{
    aml_append_byte(a, AML_RETURN_OP);
}

void aml_arg(struct aml *a, unsigned n)
{
    if (n >= AML_METHOD_ARGS_MAX) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_append_byte(a, (uint8_t)(AML_ARG0_OP + n));
}

void aml_local(struct aml *a, unsigned n)
{
    if (n >= AML_LOCALS_MAX) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_append_byte(a, (uint8_t)(AML_LOCAL0_OP + n));
}

void aml_store(struct aml *a)
{
    aml_append_byte(a, AML_STORE_OP);
}

void aml_and(struct aml *a)
{
    aml_append_byte(a, AML_AND_OP);
}

void aml_or(struct aml *a)
{
    aml_append_byte(a, AML_OR_OP);
}

void aml_lequal(struct aml *a)
{
    aml_append_byte(a, AML_LEQUAL_OP);
}

void aml_land(struct aml *a)
{
    aml_append_byte(a, AML_LAND_OP);
}

void aml_lor(struct aml *a)
{
    aml_append_byte(a, AML_LOR_OP);
}

void aml_lnot(struct aml *a)
{
    aml_append_byte(a, AML_LNOT_OP);
}

void aml_null_target(struct aml *a)
{
    aml_append_byte(a, AML_NULL_TARGET);
}

void aml_create_dword_field(struct aml *a, unsigned argn, uint64_t byte_index, const char *name)
{
    aml_append_byte(a, AML_CREATE_DWORD_FIELD_OP);
    aml_arg(a, argn);            /* SourceBuff */
    aml_integer(a, byte_index);  /* ByteIndex */
    aml_namestring(a, name);     /* NameString */
}

/* --- ToUUID ---------------------------------------------------------------- */

/* One byte from two hex digits of either case, or -1. */
static int aml_hex_byte(const char *p)
{
    int digit[2];

    for (int i = 0; i < 2; i++) {
        char c = p[i];

        digit[i] = (c >= 'a' && c <= 'f') ? c - 'a' + 10 : aml_hex_digit(c);
        if (digit[i] < 0)
            return -1;
    }
    return digit[0] << 4 | digit[1];
}

/*
 * The UUID string's byte groups in string order (offset of each byte pair),
 * and where each lands in the buffer: the first three groups are stored
 * little-endian, the last two as written (ACPI 19.6.142).
 */
static const uint8_t aml_uuid_str_offset[AML_UUID_LEN] = {
    0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34,
};
static const uint8_t aml_uuid_buf_index[AML_UUID_LEN] = {
    3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15,
};
static const uint8_t aml_uuid_dash_offset[] = { 8, 13, 18, 23 };

static int aml_uuid_encode(const char *uuid, uint8_t out[AML_UUID_LEN])
{
    if (strlen(uuid) != AML_UUID_STRING_LEN)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(aml_uuid_dash_offset); i++) {
        if (uuid[aml_uuid_dash_offset[i]] != '-')
            return -EINVAL;
    }
    for (size_t i = 0; i < AML_UUID_LEN; i++) {
        int byte = aml_hex_byte(uuid + aml_uuid_str_offset[i]);

        if (byte < 0)
            return -EINVAL;
        out[aml_uuid_buf_index[i]] = (uint8_t)byte;
    }
    return 0;
}

void aml_touuid(struct aml *a, const char *uuid)
{
    uint8_t bytes[AML_UUID_LEN];
    struct aml_mark buf;

    if (aml_uuid_encode(uuid, bytes)) {
        aml_fail(a, -EINVAL);
        return;
    }
    buf = aml_buffer_begin(a);
    aml_append(a, bytes, sizeof(bytes));
    aml_end(a, buf);
}
