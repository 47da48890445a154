/* SPDX-License-Identifier: MIT */
/*
 * A test-only IVRS reader that applies the rules of Linux's AMD IOMMU driver
 * (drivers/iommu/amd/init.c), written from the AMD IOMMU specification 48882
 * and that driver's behaviour, independently of acpi/ivrs.c (it decodes raw
 * bytes at the spec's offsets; it shares no structure with the builder):
 *
 *   - the whole table sums to 0 and its Length fits the bytes given;
 *   - the IVHD type used is the last type <= 40h met, walking from the first
 *     block, among blocks whose devid equals the first block's devid (Linux's
 *     get_highest_supported_ivhd_type(): "highest" only when firmware lists
 *     the types in increasing order, which is what real tables and sluice do);
 *   - every IOMMU is a block of exactly that type (init_iommu_all());
 *     header sizes 24 (10h) or 40 (11h, 40h); blocks of any type are skipped
 *     by Length, which must be non-zero and end inside the table;
 *   - device entries are 4 << (type >> 6) bytes for types < 80h; F0h (ACPI
 *     HID) is 22 + UID length bytes and only valid in 40h blocks (elsewhere
 *     Linux logs a firmware bug and skips it: counted in hid_in_wrong_block);
 *     any other type >= 80h has no length Linux can compute: refused;
 *     entries must end exactly at the block's end (Linux WARNs otherwise);
 *   - coverage, as set_dev_entry_from_acpi_range() fills rlookup_table:
 *     ALL = every devid, SELECT / EXT_SELECT one, RANGE_START / ALIAS_RANGE /
 *     EXT_RANGE ... RANGE_END a range (plus the alias target), ALIAS_SELECT
 *     the devid and its alias, SPECIAL the IOAPIC/HPET devid;
 *   - the EFR Linux uses with IVinfo EFRSup and type 11h/40h is the IVHD's
 *     image, ANDed across IOMMUs (get_global_efr()); efr_consistent says
 *     whether they all agreed.
 *
 * Stricter than Linux, because sluice must never produce these: RANGE_END
 * without a pending start, a start while one is pending, a range whose end
 * is below its start, a start left open at the end of the block.
 *
 * Coverage is kept for the PCI segment of the first IOMMU; IOMMUs of other
 * segments are counted in other_segment_iommus.
 */
#ifndef SLUICE_TESTS_IVRS_PARSE_H
#define SLUICE_TESTS_IVRS_PARSE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Offsets and values from spec 48882 section 5.2 (kept local on purpose). */
#define IVRS_P_HEADER_LEN 48         /* ACPI header (36), IVinfo (4), reserved (8) */
#define IVRS_P_LENGTH_OFF 4          /* ACPI header Length */
#define IVRS_P_IVINFO_OFF 36
#define IVRS_P_IVHD_MIN 4            /* Type, Flags, Length: enough to skip a block */
#define IVRS_P_IVHD10_LEN 24
#define IVRS_P_IVHD11_LEN 40
#define IVRS_P_TYPE_MAX_SUPPORTED 0x40
#define IVRS_P_DEV_ALL 0x01
#define IVRS_P_DEV_SELECT 0x02
#define IVRS_P_DEV_RANGE_START 0x03
#define IVRS_P_DEV_RANGE_END 0x04
#define IVRS_P_DEV_ALIAS 0x42
#define IVRS_P_DEV_ALIAS_RANGE 0x43
#define IVRS_P_DEV_EXT_SELECT 0x46
#define IVRS_P_DEV_EXT_RANGE 0x47
#define IVRS_P_DEV_SPECIAL 0x48
#define IVRS_P_DEV_ACPI_HID 0xf0
#define IVRS_P_HID_UIDLEN_OFF 21     /* F0h: UID Length byte */
#define IVRS_P_HID_FIXED_LEN 22
#define IVRS_P_VARLEN_TYPES 0x80

#define IVRS_P_MAX_BLOCKS 32
#define IVRS_P_MAX_IOMMUS 16
#define IVRS_P_MAX_SPECIALS 16
#define IVRS_P_MAX_ALIASES 16
#define IVRS_P_DEVIDS 65536
#define IVRS_P_NO_IOMMU 0xff

struct ivrs_block {
    uint8_t type, flags;
    uint16_t length, devid, cap_offset, segment, info;
    uint64_t base;
    uint32_t feature_info;        /* 10h Feature Reporting / 11h, 40h Attributes */
    uint64_t efr, efr2;           /* 11h/40h only */
    const uint8_t *entries;       /* device entries: entries_len bytes */
    size_t entries_len;
};

struct ivrs_special {
    unsigned iommu;
    uint8_t handle, variety;
    uint16_t devid;
};

struct ivrs_parsed {
    char error[200];              /* why ivrs_parse() refused the table */
    uint32_t length;
    uint32_t ivinfo;
    uint8_t target_type;
    unsigned nblocks;             /* every IVHD/IVMD block, in table order */
    struct ivrs_block blocks[IVRS_P_MAX_BLOCKS];
    unsigned niommus;             /* the blocks of target_type, in order */
    unsigned iommu_block[IVRS_P_MAX_IOMMUS];
    unsigned other_segment_iommus;
    uint8_t owner[IVRS_P_DEVIDS]; /* IOMMU index per devid, IVRS_P_NO_IOMMU if none */
    uint8_t hits[IVRS_P_DEVIDS];  /* entries naming the devid (saturating) */
    unsigned conflicts;           /* devids claimed by two different IOMMUs */
    unsigned nspecials;
    struct ivrs_special specials[IVRS_P_MAX_SPECIALS];
    unsigned naliases;
    struct { uint16_t devid, to; } aliases[IVRS_P_MAX_ALIASES];
    unsigned hid_in_wrong_block;
    uint64_t efr, efr2;           /* what Linux would use (ANDed over IOMMUs) */
    bool efr_consistent;
};

static inline uint16_t ivrs_p_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t ivrs_p_rd32(const uint8_t *p)
{
    return (uint32_t)ivrs_p_rd16(p) | (uint32_t)ivrs_p_rd16(p + 2) << 16;
}

static inline uint64_t ivrs_p_rd64(const uint8_t *p)
{
    return (uint64_t)ivrs_p_rd32(p) | (uint64_t)ivrs_p_rd32(p + 4) << 32;
}

__attribute__((format(printf, 2, 3)))
static inline int ivrs_p_fail(struct ivrs_parsed *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(p->error, sizeof(p->error), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Header size Linux's get_ivhd_header_size() knows, 0 for other types. */
static inline unsigned ivrs_p_header_len(uint8_t type)
{
    switch (type) {
    case 0x10:
        return IVRS_P_IVHD10_LEN;
    case 0x11:
    case 0x40:
        return IVRS_P_IVHD11_LEN;
    default:
        return 0;
    }
}

/* Length of the device entry at e (left bytes remain), 0 if unknown or truncated. */
static inline size_t ivrs_p_entry_len(const uint8_t *e, size_t left)
{
    size_t len;

    if (left < 1)
        return 0;
    if (e[0] < IVRS_P_VARLEN_TYPES)
        len = (size_t)4 << (e[0] >> 6);
    else if (e[0] == IVRS_P_DEV_ACPI_HID && left > IVRS_P_HID_UIDLEN_OFF)
        len = IVRS_P_HID_FIXED_LEN + e[IVRS_P_HID_UIDLEN_OFF];
    else
        return 0;
    return len <= left ? len : 0;
}

/* get_highest_supported_ivhd_type(), with bounds checks Linux leaves out. */
static inline uint8_t ivrs_p_target_type(const uint8_t *t, uint32_t length)
{
    const uint8_t *first = t + IVRS_P_HEADER_LEN;
    uint8_t last_type = first[0];
    uint16_t devid = ivrs_p_rd16(first + 4);

    for (uint32_t off = IVRS_P_HEADER_LEN; off + IVRS_P_IVHD10_LEN <= length;) {
        const uint8_t *h = t + off;
        uint16_t len = ivrs_p_rd16(h + 2);

        if (h[0] > IVRS_P_TYPE_MAX_SUPPORTED || len == 0)
            break;
        if (ivrs_p_rd16(h + 4) == devid)
            last_type = h[0];
        off += len;
    }
    return last_type;
}

static inline void ivrs_p_cover(struct ivrs_parsed *p, unsigned iommu, uint32_t first,
                                uint32_t last)
{
    for (uint32_t d = first; d <= last && d < IVRS_P_DEVIDS; d++) {
        if (p->owner[d] != IVRS_P_NO_IOMMU && p->owner[d] != iommu)
            p->conflicts++;
        p->owner[d] = (uint8_t)iommu; /* Linux: the last block wins */
        if (p->hits[d] < UINT8_MAX)
            p->hits[d]++;
    }
}

static inline void ivrs_p_alias(struct ivrs_parsed *p, uint16_t devid, uint16_t to)
{
    if (p->naliases < IVRS_P_MAX_ALIASES) {
        p->aliases[p->naliases].devid = devid;
        p->aliases[p->naliases].to = to;
        p->naliases++;
    }
}

/* Range state across the entries of one block (init_iommu_from_acpi()). */
struct ivrs_p_range {
    bool open, alias;
    uint16_t start, to;
};

static inline int ivrs_p_range_end(struct ivrs_parsed *p, unsigned iommu,
                                   struct ivrs_p_range *r, uint16_t devid)
{
    if (!r->open)
        return ivrs_p_fail(p, "RANGE_END 0x%04x without a range start", devid);
    if (devid < r->start)
        return ivrs_p_fail(p, "range 0x%04x..0x%04x ends below its start", r->start, devid);
    if (r->alias) {
        ivrs_p_alias(p, r->start, r->to);
        ivrs_p_cover(p, iommu, r->to, r->to);
    }
    ivrs_p_cover(p, iommu, r->start, devid);
    r->open = false;
    return 0;
}

static inline int ivrs_p_range_start(struct ivrs_parsed *p, struct ivrs_p_range *r,
                                     const uint8_t *e, bool alias)
{
    if (r->open)
        return ivrs_p_fail(p, "range start 0x%04x while 0x%04x is open", ivrs_p_rd16(e + 1),
                           r->start);
    r->open = true;
    r->alias = alias;
    r->start = ivrs_p_rd16(e + 1);
    r->to = alias ? ivrs_p_rd16(e + 5) : 0;
    return 0;
}

static inline void ivrs_p_special(struct ivrs_parsed *p, unsigned iommu, const uint8_t *e)
{
    uint16_t devid = ivrs_p_rd16(e + 5);

    if (p->nspecials < IVRS_P_MAX_SPECIALS) {
        p->specials[p->nspecials] = (struct ivrs_special){
            .iommu = iommu, .handle = e[4], .devid = devid, .variety = e[7],
        };
        p->nspecials++;
    }
    ivrs_p_cover(p, iommu, devid, devid);
}

/* One device entry of IOMMU `iommu` (whose block has type `btype`). */
static inline int ivrs_p_entry(struct ivrs_parsed *p, unsigned iommu, uint8_t btype,
                               struct ivrs_p_range *r, const uint8_t *e)
{
    uint16_t devid = ivrs_p_rd16(e + 1);

    switch (e[0]) {
    case IVRS_P_DEV_ALL:
        ivrs_p_cover(p, iommu, 0, IVRS_P_DEVIDS - 1);
        return 0;
    case IVRS_P_DEV_SELECT:
    case IVRS_P_DEV_EXT_SELECT:
        ivrs_p_cover(p, iommu, devid, devid);
        return 0;
    case IVRS_P_DEV_RANGE_START:
    case IVRS_P_DEV_EXT_RANGE:
        return ivrs_p_range_start(p, r, e, false);
    case IVRS_P_DEV_ALIAS_RANGE:
        return ivrs_p_range_start(p, r, e, true);
    case IVRS_P_DEV_RANGE_END:
        return ivrs_p_range_end(p, iommu, r, devid);
    case IVRS_P_DEV_ALIAS:
        ivrs_p_alias(p, devid, ivrs_p_rd16(e + 5));
        ivrs_p_cover(p, iommu, devid, devid);
        ivrs_p_cover(p, iommu, ivrs_p_rd16(e + 5), ivrs_p_rd16(e + 5));
        return 0;
    case IVRS_P_DEV_SPECIAL:
        ivrs_p_special(p, iommu, e);
        return 0;
    case IVRS_P_DEV_ACPI_HID:
        if (btype != 0x40)
            p->hid_in_wrong_block++;
        else
            ivrs_p_cover(p, iommu, devid, devid);
        return 0;
    default:
        return 0; /* reserved 4/8-byte types: skipped, as Linux does */
    }
}

/* Check the entries of block b walk exactly to its end; apply them if iommu >= 0. */
static inline int ivrs_p_entries(struct ivrs_parsed *p, const struct ivrs_block *b, int iommu)
{
    struct ivrs_p_range r = { 0 };
    size_t off = 0;
    int ret;

    while (off < b->entries_len) {
        size_t len = ivrs_p_entry_len(b->entries + off, b->entries_len - off);

        if (len == 0)
            return ivrs_p_fail(p, "IVHD %02xh: entry type 0x%02x at +%zu has no valid length",
                               b->type, b->entries[off], off);
        if (iommu >= 0) {
            ret = ivrs_p_entry(p, (unsigned)iommu, b->type, &r, b->entries + off);
            if (ret)
                return ret;
        }
        off += len;
    }
    if (r.open)
        return ivrs_p_fail(p, "IVHD %02xh: range from 0x%04x never ends", b->type, r.start);
    return 0;
}

/* Decode the block header at t + off into p->blocks[p->nblocks]. */
static inline int ivrs_p_block(struct ivrs_parsed *p, const uint8_t *t, uint32_t off)
{
    const uint8_t *h = t + off;
    struct ivrs_block *b = &p->blocks[p->nblocks];
    unsigned hlen;

    if (p->length - off < IVRS_P_IVHD_MIN)
        return ivrs_p_fail(p, "truncated block at 0x%x", off);
    memset(b, 0, sizeof(*b));
    b->type = h[0];
    b->flags = h[1];
    b->length = ivrs_p_rd16(h + 2);
    if (b->length < IVRS_P_IVHD_MIN || b->length > p->length - off)
        return ivrs_p_fail(p, "block at 0x%x: length %u does not fit", off, b->length);
    hlen = ivrs_p_header_len(b->type);
    if (hlen == 0)
        return 0; /* IVMD or unknown: skipped by length */
    if (b->length < hlen)
        return ivrs_p_fail(p, "IVHD %02xh at 0x%x: length %u below header size %u", b->type,
                           off, b->length, hlen);
    b->devid = ivrs_p_rd16(h + 4);
    b->cap_offset = ivrs_p_rd16(h + 6);
    b->base = ivrs_p_rd64(h + 8);
    b->segment = ivrs_p_rd16(h + 16);
    b->info = ivrs_p_rd16(h + 18);
    b->feature_info = ivrs_p_rd32(h + 20);
    if (hlen == IVRS_P_IVHD11_LEN) {
        b->efr = ivrs_p_rd64(h + 24);
        b->efr2 = ivrs_p_rd64(h + 32);
    }
    b->entries = h + hlen;
    b->entries_len = b->length - hlen;
    return 0;
}

/* Make block index bi an IOMMU of the target type: coverage, EFR. */
static inline int ivrs_p_iommu(struct ivrs_parsed *p, unsigned bi)
{
    const struct ivrs_block *b = &p->blocks[bi];
    unsigned idx = p->niommus;
    bool same_segment = idx == 0 || b->segment == p->blocks[p->iommu_block[0]].segment;

    if (idx == IVRS_P_MAX_IOMMUS)
        return ivrs_p_fail(p, "more than %d IOMMUs", IVRS_P_MAX_IOMMUS);
    p->iommu_block[p->niommus++] = bi;
    if (!same_segment)
        p->other_segment_iommus++;
    if (idx == 0) {
        p->efr = b->efr;
        p->efr2 = b->efr2;
    } else if (b->efr != p->efr || b->efr2 != p->efr2) {
        p->efr_consistent = false;
        p->efr &= b->efr;
        p->efr2 &= b->efr2;
    }
    return ivrs_p_entries(p, b, same_segment ? (int)idx : -1);
}

/*
 * Parse the IVRS at `table`, of which `avail` bytes are readable. Returns 0
 * and fills *p, or -EINVAL with p->error saying why Linux (or sluice's
 * stricter rules above) would refuse it.
 */
static inline int ivrs_parse(const void *table, size_t avail, struct ivrs_parsed *p)
{
    const uint8_t *t = table;
    uint8_t sum = 0;
    int ret;

    memset(p, 0, sizeof(*p));
    memset(p->owner, IVRS_P_NO_IOMMU, sizeof(p->owner));
    p->efr_consistent = true;
    if (avail < IVRS_P_HEADER_LEN + IVRS_P_IVHD10_LEN || memcmp(t, "IVRS", 4) != 0)
        return ivrs_p_fail(p, "not an IVRS with at least one IVHD");
    p->length = ivrs_p_rd32(t + IVRS_P_LENGTH_OFF);
    if (p->length < IVRS_P_HEADER_LEN + IVRS_P_IVHD10_LEN || p->length > avail)
        return ivrs_p_fail(p, "table length %u outside %d..%zu", p->length,
                           IVRS_P_HEADER_LEN + IVRS_P_IVHD10_LEN, avail);
    for (uint32_t i = 0; i < p->length; i++)
        sum = (uint8_t)(sum + t[i]);
    if (sum != 0)
        return ivrs_p_fail(p, "IVRS invalid checksum");
    p->ivinfo = ivrs_p_rd32(t + IVRS_P_IVINFO_OFF);
    p->target_type = ivrs_p_target_type(t, p->length);
    for (uint32_t off = IVRS_P_HEADER_LEN; off < p->length; off += p->blocks[p->nblocks++].length) {
        if (p->nblocks == IVRS_P_MAX_BLOCKS)
            return ivrs_p_fail(p, "more than %d blocks", IVRS_P_MAX_BLOCKS);
        ret = ivrs_p_block(p, t, off);
        if (ret)
            return ret;
    }
    for (unsigned i = 0; i < p->nblocks; i++) {
        const struct ivrs_block *b = &p->blocks[i];

        if (!ivrs_p_header_len(b->type))
            continue;
        ret = b->type == p->target_type ? ivrs_p_iommu(p, i) : ivrs_p_entries(p, b, -1);
        if (ret)
            return ret;
    }
    if (p->niommus == 0)
        return ivrs_p_fail(p, "no IVHD of type %02xh", p->target_type);
    return 0;
}

/* The block of IOMMU i of the other type (same devid and base), or NULL. */
static inline const struct ivrs_block *ivrs_p_twin(const struct ivrs_parsed *p, unsigned i,
                                                   uint8_t type)
{
    const struct ivrs_block *b = &p->blocks[p->iommu_block[i]];

    for (unsigned k = 0; k < p->nblocks; k++) {
        const struct ivrs_block *o = &p->blocks[k];

        if (o->type == type && o->devid == b->devid && o->segment == b->segment &&
            o->base == b->base)
            return o;
    }
    return NULL;
}

#endif
