/* SPDX-License-Identifier: MIT */
/*
 * The IVRS built by acpi/ivrs.c, read back with ivrs_parse.h (Linux's rules):
 * one and two IOMMUs over a PCIe topology with gaps (functions on bus 0,
 * single devices behind root ports on buses 1..3), every expected devid
 * covered by exactly its IOMMU and nothing else covered, type 11h chosen,
 * identical 10h/11h entries, header fields, IVinfo, the EFR images, the
 * SPECIAL entry only on request; the machine-description checks; and the
 * parser itself against hand-made tables (so its verdicts can be trusted).
 */
#include <errno.h>
#include <stdlib.h>

#include "acpi/acpi.h"
#include "acpi/acpi_spec.h"
#include "check.h"
#include "ivrs_parse.h"
#include "vmm/layout.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DEVID(bus, dev, fn) ((uint16_t)((bus) << 8 | (dev) << 3 | (fn)))
#define RAM_END (6 * LAYOUT_GiB)

/* An EFR as the model might advertise it: PreFSup, GTSup, IASup, HESup,
 * HATS=2 (6 levels), GATS=0 (4 levels), GLXSup=1, PASmax=0xf, GIOSup. */
#define TEST_EFR (ACPI_IVHD_EFR_PREFSUP | ACPI_IVHD_EFR_GTSUP | ACPI_IVHD_EFR_IASUP |     \
                  ACPI_IVHD_EFR_HESUP | FIELD_PREP(ACPI_IVHD_EFR_HATS, 2) |             \
                  FIELD_PREP(ACPI_IVHD_EFR_GLXSUP, 1) |                                 \
                  FIELD_PREP(ACPI_IVHD_EFR_PASMAX, 0xf) | BIT(48))
#define TEST_EFR2 0x0000000000000010ULL
#define TEST_IOMMU_DEVID DEVID(0, 2, 0)
#define TEST_IOMMU_CAP 0x40
#define TEST_IOMMU2_BASE 0xfd000000ULL

static const uint32_t apic_ids[] = { 0, 1, 2, 3 };

/* Bus 0: host bridge 00:00.0, IOMMU 00:02.0, a 3-function device at 00:03,
 * a device at 00:05.0, root ports 00:1c.0-2; one device behind each port. */
static const uint16_t bus0_devids[] = {
    DEVID(0, 0, 0), DEVID(0, 2, 0), DEVID(0, 3, 0), DEVID(0, 3, 1), DEVID(0, 3, 2),
    DEVID(0, 5, 0), DEVID(0, 0x1c, 0), DEVID(0, 0x1c, 1), DEVID(0, 0x1c, 2),
};
static const uint16_t port_devids[] = { DEVID(1, 0, 0), DEVID(2, 0, 0), DEVID(3, 0, 0) };

struct built {
    uint8_t buf[LAYOUT_ACPI_SIZE];
    uint64_t rsdp;
};

static struct ivrs_parsed parsed; /* large: not on the stack */

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The table with `sig` listed in the XSDT, or NULL. */
static const uint8_t *find_table(const struct built *b, const char *sig)
{
    const uint8_t *rsdp = b->buf + (b->rsdp - LAYOUT_ACPI_ADDR);
    const uint8_t *xsdt =
        b->buf + (rd64(rsdp + offsetof(struct acpi_rsdp, xsdt_address)) - LAYOUT_ACPI_ADDR);
    uint32_t len = rd32(xsdt + offsetof(struct acpi_table_header, length));

    for (uint32_t off = sizeof(struct acpi_table_header); off < len; off += ACPI_XSDT_ENTRY_SIZE) {
        const uint8_t *t = b->buf + (rd64(xsdt + off) - LAYOUT_ACPI_ADDR);

        if (memcmp(t, sig, ACPI_SIG_LEN) == 0)
            return t;
    }
    return NULL;
}

static void machine_init(struct acpi_machine *m)
{
    acpi_machine_init(m, ARRAY_SIZE(apic_ids), apic_ids);
    acpi_machine_init_pci(m, RAM_END);
}

static void add_devids(struct acpi_amd_iommu *iommu, const uint16_t *devids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(acpi_amd_iommu_add_range(iommu, devids[i], devids[i]), 0);
}

/* Build and parse; returns the parse result (0) or -errno from either. */
static int build_and_parse(const struct acpi_machine *m, struct built *b)
{
    const uint8_t *ivrs;
    int ret = acpi_build(m, b->buf, LAYOUT_ACPI_ADDR, sizeof(b->buf), &b->rsdp);

    if (ret)
        return ret;
    ivrs = find_table(b, ACPI_SIG_IVRS);
    CHECK(ivrs != NULL);
    if (!ivrs)
        return -ENOENT;
    ret = ivrs_parse(ivrs, sizeof(b->buf) - (size_t)(ivrs - b->buf), &parsed);
    if (ret)
        fprintf(stderr, "ivrs_parse: %s\n", parsed.error);
    return ret;
}

/* Exactly the devids in `want` (n of them) are covered, each once, by `iommu`. */
static void check_owned(unsigned iommu, const uint16_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(parsed.owner[want[i]], iommu);
        CHECK_EQ(parsed.hits[want[i]], 1);
    }
}

static unsigned count_owned(void)
{
    unsigned n = 0;

    for (unsigned d = 0; d < IVRS_P_DEVIDS; d++)
        n += parsed.owner[d] != IVRS_P_NO_IOMMU;
    return n;
}

/* Entries of one type in a block. */
static unsigned count_entries(const struct ivrs_block *b, uint8_t type)
{
    unsigned n = 0;

    for (size_t off = 0; off < b->entries_len;) {
        size_t len = ivrs_p_entry_len(b->entries + off, b->entries_len - off);

        if (len == 0)
            break;
        n += b->entries[off] == type;
        off += len;
    }
    return n;
}

/* IOMMU i's 11h block and its 10h twin carry the same identity and entries. */
static void check_twins(unsigned i, const struct acpi_amd_iommu *want)
{
    const struct ivrs_block *b11 = &parsed.blocks[parsed.iommu_block[i]];
    const struct ivrs_block *b10 = ivrs_p_twin(&parsed, i, ACPI_IVHD_TYPE_10H);

    CHECK_EQ(b11->type, ACPI_IVHD_TYPE_11H);
    CHECK(b10 != NULL);
    if (!b10)
        return;
    /* 10h comes right before its 11h, so Linux's "last type" is 11h. */
    CHECK(b10 == b11 - 1);
    CHECK_EQ(b10->entries_len, b11->entries_len);
    CHECK(b10->entries_len == b11->entries_len &&
          memcmp(b10->entries, b11->entries, b10->entries_len) == 0);
    CHECK_EQ(b10->length, IVRS_P_IVHD10_LEN + b10->entries_len);
    CHECK_EQ(b11->length, IVRS_P_IVHD11_LEN + b11->entries_len);
    for (const struct ivrs_block *b = b10; b <= b11; b++) {
        CHECK_EQ(b->devid, want->devid);
        CHECK_EQ(b->cap_offset, want->cap_offset);
        CHECK_EQ(b->base, want->mmio_base);
        CHECK_EQ(b->segment, want->pci_segment);
        CHECK_EQ(b->info, want->iommu_info);
    }
    CHECK_EQ(b10->flags, want->flags);
    CHECK_EQ(b11->flags, want->flags & ACPI_IVHD11_FLAGS);
    CHECK_EQ(b10->feature_info, want->ivhd10_feature_reporting);
    CHECK_EQ(b11->feature_info & ACPI_IVHD11_ATTR_HATDIS, 0); /* host translation works */
    CHECK_EQ(b11->efr, want->efr);
    CHECK_EQ(b11->efr2, want->efr2);
}

static void check_ivinfo(void)
{
    CHECK(parsed.ivinfo & ACPI_IVINFO_EFRSUP);
    CHECK_EQ(FIELD_GET(ACPI_IVINFO_PASIZE, parsed.ivinfo), 48);
    CHECK_EQ(FIELD_GET(ACPI_IVINFO_VASIZE, parsed.ivinfo), 64);
    CHECK_EQ(FIELD_GET(ACPI_IVINFO_GVASIZE, parsed.ivinfo), ACPI_IVINFO_GVASIZE_48);
    CHECK_EQ(parsed.ivinfo & ACPI_IVINFO_DMA_REMAP, 0);
}

static void init_iommu0(struct acpi_amd_iommu *a)
{
    acpi_amd_iommu_init(a, TEST_IOMMU_DEVID, TEST_IOMMU_CAP, LAYOUT_AMDVI_MMIO_BASE, TEST_EFR,
                        TEST_EFR2);
}

static void test_one_iommu(struct built *b)
{
    static struct acpi_machine m;
    struct acpi_amd_iommu *a = &m.amd_iommus[0];

    machine_init(&m);
    m.n_amd_iommus = 1;
    init_iommu0(a);
    add_devids(a, bus0_devids, ARRAY_SIZE(bus0_devids));
    add_devids(a, port_devids, ARRAY_SIZE(port_devids));
    /* 00:03.0-2 and 00:1c.0-2 merge into ranges; the rest stay single. */
    CHECK_EQ(a->nranges, 8);
    CHECK_EQ(build_and_parse(&m, b), 0);

    CHECK_EQ(parsed.target_type, ACPI_IVHD_TYPE_11H);
    CHECK_EQ(parsed.nblocks, 2);
    CHECK_EQ(parsed.niommus, 1);
    CHECK_EQ(parsed.conflicts, 0);
    CHECK_EQ(parsed.nspecials, 0);
    CHECK(parsed.efr_consistent);
    CHECK_EQ(parsed.efr, TEST_EFR); /* what Linux compares with the MMIO EFR */
    CHECK_EQ(parsed.efr2, TEST_EFR2);
    check_ivinfo();
    check_twins(0, a);
    check_owned(0, bus0_devids, ARRAY_SIZE(bus0_devids));
    check_owned(0, port_devids, ARRAY_SIZE(port_devids));
    /* the gaps (00:01.0, 00:04.0, 00:03.3, 01:00.1, ...) are not covered */
    CHECK_EQ(count_owned(), ARRAY_SIZE(bus0_devids) + ARRAY_SIZE(port_devids));

    const struct ivrs_block *b11 = &parsed.blocks[parsed.iommu_block[0]];
    CHECK_EQ(count_entries(b11, ACPI_IVHD_DEV_SELECT), 6);
    CHECK_EQ(count_entries(b11, ACPI_IVHD_DEV_RANGE_START), 2);
    CHECK_EQ(count_entries(b11, ACPI_IVHD_DEV_RANGE_END), 2);
    CHECK_EQ(count_entries(b11, ACPI_IVHD_DEV_SPECIAL), 0);
    CHECK_EQ(count_entries(b11, ACPI_IVHD_DEV_ALL), 0);
}

/* The Feature Reporting field mirrors the EFR fields (spec 48882 IVHD 10h). */
static void test_feature_reporting(void)
{
    uint32_t f = acpi_amd_ivhd10_features(TEST_EFR);
    uint64_t all = ACPI_IVHD_EFR_XTSUP | ACPI_IVHD_EFR_NXSUP | ACPI_IVHD_EFR_GTSUP |
                   ACPI_IVHD_EFR_IASUP | ACPI_IVHD_EFR_GASUP | ACPI_IVHD_EFR_HESUP |
                   ACPI_IVHD_EFR_HATS | ACPI_IVHD_EFR_GATS | ACPI_IVHD_EFR_GLXSUP |
                   ACPI_IVHD_EFR_PASMAX;
    struct acpi_amd_iommu a;

    CHECK_EQ(FIELD_GET(ACPI_IVHD10_FEAT_HATS, f), 2);
    CHECK_EQ(FIELD_GET(ACPI_IVHD10_FEAT_GATS, f), 0);
    CHECK_EQ(FIELD_GET(ACPI_IVHD10_FEAT_GLXSUP, f), 1);
    CHECK_EQ(FIELD_GET(ACPI_IVHD10_FEAT_PASMAX, f), 0xf);
    CHECK(f & ACPI_IVHD10_FEAT_GTSUP);
    CHECK(f & ACPI_IVHD10_FEAT_IASUP);
    CHECK(f & ACPI_IVHD10_FEAT_HESUP);
    CHECK_EQ(f & (ACPI_IVHD10_FEAT_XTSUP | ACPI_IVHD10_FEAT_NXSUP | ACPI_IVHD10_FEAT_GASUP), 0);
    /* Linux reads PN counters/banks from here on 10h: none. */
    CHECK_EQ(f & (ACPI_IVHD10_FEAT_PNCOUNTERS | ACPI_IVHD10_FEAT_PNBANKS |
                  ACPI_IVHD10_FEAT_MSINUMPPR), 0);
    CHECK_EQ(acpi_amd_ivhd10_features(all),
             ACPI_IVHD10_FEAT_XTSUP | ACPI_IVHD10_FEAT_NXSUP | ACPI_IVHD10_FEAT_GTSUP |
                 ACPI_IVHD10_FEAT_GLXSUP | ACPI_IVHD10_FEAT_IASUP | ACPI_IVHD10_FEAT_GASUP |
                 ACPI_IVHD10_FEAT_HESUP | ACPI_IVHD10_FEAT_PASMAX | ACPI_IVHD10_FEAT_GATS |
                 ACPI_IVHD10_FEAT_HATS);
    CHECK_EQ(acpi_amd_ivhd10_features(~all), 0);

    acpi_amd_iommu_init(&a, 1, TEST_IOMMU_CAP, LAYOUT_AMDVI_MMIO_BASE, TEST_EFR, 0);
    CHECK_EQ(a.flags, ACPI_IVHD_F_COHERENT | ACPI_IVHD_F_PREFSUP);
    acpi_amd_iommu_init(&a, 1, TEST_IOMMU_CAP, LAYOUT_AMDVI_MMIO_BASE, ACPI_IVHD_EFR_PPRSUP, 0);
    CHECK_EQ(a.flags, ACPI_IVHD_F_COHERENT | ACPI_IVHD_F_PPRSUP);
    CHECK_EQ(a.nranges, 0);
    CHECK(!a.ioapic_present && !a.emit_special);
}

static void test_two_iommus(struct built *b)
{
    static struct acpi_machine m;
    static const uint16_t iommu0_devids[] = { DEVID(0, 0, 0), DEVID(0, 3, 0), DEVID(0, 3, 1),
                                              DEVID(0, 3, 2), DEVID(0, 0x1c, 0),
                                              DEVID(1, 0, 0) };
    static const uint16_t iommu1_devids[] = { DEVID(0, 4, 0), DEVID(0, 5, 0),
                                              DEVID(0, 0x1c, 1), DEVID(0, 0x1c, 2),
                                              DEVID(2, 0, 0), DEVID(3, 0, 0) };

    machine_init(&m);
    m.n_amd_iommus = 2;
    init_iommu0(&m.amd_iommus[0]);
    add_devids(&m.amd_iommus[0], iommu0_devids, ARRAY_SIZE(iommu0_devids));
    acpi_amd_iommu_init(&m.amd_iommus[1], DEVID(0, 4, 0), 0x50, TEST_IOMMU2_BASE, TEST_EFR,
                        TEST_EFR2);
    m.amd_iommus[1].iommu_info = 1; /* MSInum 1 */
    add_devids(&m.amd_iommus[1], iommu1_devids, ARRAY_SIZE(iommu1_devids));
    CHECK_EQ(build_and_parse(&m, b), 0);

    CHECK_EQ(parsed.target_type, ACPI_IVHD_TYPE_11H);
    CHECK_EQ(parsed.nblocks, 4);
    CHECK_EQ(parsed.niommus, 2);
    CHECK_EQ(parsed.conflicts, 0);
    CHECK_EQ(parsed.other_segment_iommus, 0);
    CHECK(parsed.efr_consistent);
    check_ivinfo();
    for (unsigned i = 0; i < 2; i++)
        check_twins(i, &m.amd_iommus[i]);
    check_owned(0, iommu0_devids, ARRAY_SIZE(iommu0_devids));
    check_owned(1, iommu1_devids, ARRAY_SIZE(iommu1_devids));
    CHECK_EQ(count_owned(), ARRAY_SIZE(iommu0_devids) + ARRAY_SIZE(iommu1_devids));
    CHECK_EQ(parsed.blocks[0].type, ACPI_IVHD_TYPE_10H);
    CHECK_EQ(parsed.blocks[1].type, ACPI_IVHD_TYPE_11H);
    CHECK_EQ(parsed.blocks[2].type, ACPI_IVHD_TYPE_10H);
    CHECK_EQ(parsed.blocks[3].type, ACPI_IVHD_TYPE_11H);
}

/* The SPECIAL (IOAPIC) entry appears only when asked for. */
static void test_special(struct built *b)
{
    static struct acpi_machine m;
    struct acpi_amd_iommu *a = &m.amd_iommus[0];
    const uint16_t ioapic_devid = DEVID(0, 0x14, 0);

    machine_init(&m);
    m.n_amd_iommus = 1;
    init_iommu0(a);
    add_devids(a, bus0_devids, ARRAY_SIZE(bus0_devids));
    a->ioapic_present = true;
    a->ioapic_handle = m.ioapic.id;
    a->ioapic_devid = ioapic_devid;
    CHECK_EQ(build_and_parse(&m, b), 0);
    CHECK_EQ(parsed.nspecials, 0);
    CHECK_EQ(parsed.owner[ioapic_devid], IVRS_P_NO_IOMMU);

    a->emit_special = true;
    CHECK_EQ(build_and_parse(&m, b), 0);
    CHECK_EQ(parsed.nspecials, 1);
    CHECK_EQ(parsed.specials[0].iommu, 0);
    CHECK_EQ(parsed.specials[0].handle, m.ioapic.id);
    CHECK_EQ(parsed.specials[0].devid, ioapic_devid);
    CHECK_EQ(parsed.specials[0].variety, ACPI_IVHD_SPECIAL_IOAPIC);
    CHECK_EQ(parsed.owner[ioapic_devid], 0);
    check_twins(0, a); /* the SPECIAL entry is in both blocks */
    check_owned(0, bus0_devids, ARRAY_SIZE(bus0_devids));
    CHECK_EQ(count_entries(&parsed.blocks[1], ACPI_IVHD_DEV_SPECIAL), 1);
}

/* Four IOMMUs with full range tables fit and parse. */
static void test_full_tables(struct built *b)
{
    static struct acpi_machine m;

    machine_init(&m);
    m.n_amd_iommus = ACPI_MAX_AMD_IOMMUS;
    for (unsigned i = 0; i < ACPI_MAX_AMD_IOMMUS; i++) {
        struct acpi_amd_iommu *a = &m.amd_iommus[i];

        acpi_amd_iommu_init(a, DEVID(0xff, i, 0), TEST_IOMMU_CAP,
                            LAYOUT_AMDVI_MMIO_BASE + i * ACPI_AMD_IOMMU_MMIO_ALIGN, TEST_EFR, 0);
        /* every other devid of buses 2i and 2i+1: no merging */
        for (unsigned k = 0; k < ACPI_AMD_IOMMU_MAX_RANGES; k++)
            CHECK_EQ(acpi_amd_iommu_add_range(a, (uint16_t)(i * 0x200 + 2 * k),
                                              (uint16_t)(i * 0x200 + 2 * k)), 0);
        CHECK_EQ(acpi_amd_iommu_add_range(a, 0xfe00, 0xfe00), -ENOSPC);
        CHECK_EQ(a->nranges, ACPI_AMD_IOMMU_MAX_RANGES);
    }
    CHECK_EQ(build_and_parse(&m, b), 0);
    CHECK_EQ(parsed.niommus, ACPI_MAX_AMD_IOMMUS);
    CHECK_EQ(parsed.conflicts, 0);
    CHECK_EQ(count_owned(), ACPI_MAX_AMD_IOMMUS * ACPI_AMD_IOMMU_MAX_RANGES);
    for (unsigned i = 0; i < ACPI_MAX_AMD_IOMMUS; i++) {
        CHECK_EQ(parsed.owner[i * 0x200], i);
        CHECK_EQ(parsed.owner[i * 0x200 + 1], IVRS_P_NO_IOMMU);
        CHECK_EQ(parsed.owner[i * 0x200 + 0x1fe], i);
        check_twins(i, &m.amd_iommus[i]);
    }
}

static void test_add_range(void)
{
    struct acpi_amd_iommu a;

    acpi_amd_iommu_init(&a, 0x10, TEST_IOMMU_CAP, LAYOUT_AMDVI_MMIO_BASE, 0, 0);
    CHECK_EQ(acpi_amd_iommu_add_range(&a, 5, 4), -EINVAL);
    CHECK_EQ(a.nranges, 0);
    CHECK_EQ(acpi_amd_iommu_add_range(&a, 0xfff0, 0xffff), 0);
    CHECK_EQ(acpi_amd_iommu_add_range(&a, 0, 0), 0); /* no merging across the top */
    CHECK_EQ(a.nranges, 2);
    CHECK_EQ(acpi_amd_iommu_add_range(&a, 1, 7), 0); /* continues 0..0 */
    CHECK_EQ(a.nranges, 2);
    CHECK_EQ(a.ranges[1].first, 0);
    CHECK_EQ(a.ranges[1].last, 7);
}

/* A valid one-IOMMU machine for the validation cases to break. */
static void valid_machine(struct acpi_machine *m)
{
    machine_init(m);
    m->n_amd_iommus = 2;
    init_iommu0(&m->amd_iommus[0]);
    add_devids(&m->amd_iommus[0], bus0_devids, ARRAY_SIZE(bus0_devids));
    acpi_amd_iommu_init(&m->amd_iommus[1], DEVID(0, 4, 0), TEST_IOMMU_CAP, TEST_IOMMU2_BASE,
                        TEST_EFR, 0);
    add_devids(&m->amd_iommus[1], port_devids, ARRAY_SIZE(port_devids));
}

static int build_only(const struct acpi_machine *m, struct built *b)
{
    return acpi_build(m, b->buf, LAYOUT_ACPI_ADDR, sizeof(b->buf), &b->rsdp);
}

static void test_validation(struct built *b)
{
    static struct acpi_machine m;

    valid_machine(&m);
    CHECK_EQ(build_only(&m, b), 0);

    valid_machine(&m); /* overlap inside one IOMMU */
    m.amd_iommus[0].ranges[m.amd_iommus[0].nranges++] = (struct acpi_devid_range){ 0x18, 0x20 };
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m); /* overlap across IOMMUs */
    m.amd_iommus[1].ranges[0] = (struct acpi_devid_range){ DEVID(0, 5, 0), DEVID(1, 0, 0) };
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m); /* ... but not across PCI segments */
    m.amd_iommus[1].ranges[0] = (struct acpi_devid_range){ DEVID(0, 5, 0), DEVID(1, 0, 0) };
    m.amd_iommus[1].pci_segment = 1;
    CHECK_EQ(build_only(&m, b), 0);
    valid_machine(&m); /* first > last */
    m.amd_iommus[1].ranges[1] = (struct acpi_devid_range){ DEVID(2, 0, 1), DEVID(2, 0, 0) };
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m);
    m.amd_iommus[0].mmio_base = 0;
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m);
    m.amd_iommus[0].mmio_base = LAYOUT_AMDVI_MMIO_BASE + 0x1000;
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m); /* register windows overlap */
    m.amd_iommus[1].mmio_base = m.amd_iommus[0].mmio_base;
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m); /* same identity twice */
    m.amd_iommus[1].devid = m.amd_iommus[0].devid;
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m);
    m.amd_iommus[0].cap_offset = 0x3c;
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m);
    m.amd_iommus[0].nranges = ACPI_AMD_IOMMU_MAX_RANGES + 1;
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m);
    m.amd_iommus[0].emit_special = true; /* without an IOAPIC */
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m);
    m.n_amd_iommus = ACPI_MAX_AMD_IOMMUS + 1;
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m);
    m.amd_ivinfo.gva_bits = 50;
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m);
    m.amd_ivinfo.pa_bits = 65;
    CHECK_EQ(build_only(&m, b), -EINVAL);
    valid_machine(&m);
    m.amd_ivinfo.gva_bits = 57;
    CHECK_EQ(build_and_parse(&m, b), 0);
    CHECK_EQ(FIELD_GET(ACPI_IVINFO_GVASIZE, parsed.ivinfo), ACPI_IVINFO_GVASIZE_57);
}

/* No IOMMU: no IVRS. A buffer too small for it: -ENOSPC and nothing left. */
static void test_absent_and_nospace(struct built *b)
{
    static struct acpi_machine m;
    static uint8_t small[4096];
    uint64_t rsdp;
    size_t need = 0;

    machine_init(&m);
    CHECK_EQ(build_only(&m, b), 0);
    CHECK(find_table(b, ACPI_SIG_IVRS) == NULL);

    /* find the smallest buffer the machine without IVRS needs */
    for (size_t sz = 256; sz <= sizeof(b->buf) && !need; sz += 256)
        if (acpi_build(&m, b->buf, LAYOUT_ACPI_ADDR, sz, &rsdp) == 0)
            need = sz;
    CHECK(need != 0);
    valid_machine(&m);
    memset(b->buf, 0, sizeof(b->buf)); /* what the failed build writes must be undone */
    CHECK_EQ(acpi_build(&m, b->buf, LAYOUT_ACPI_ADDR, need, &rsdp), -ENOSPC);
    for (size_t i = 0; i < need; i++) {
        if (b->buf[i]) {
            CHECK_EQ(b->buf[i], 0);
            break;
        }
    }
    CHECK_EQ(acpi_build(&m, small, LAYOUT_ACPI_ADDR, sizeof(small), &rsdp), -ENOSPC);
}

/* --- the parser on hand-made tables ------------------------------------- */

struct mk {
    uint8_t t[512];
    size_t len;
};

static void mk_put(struct mk *k, const void *p, size_t n)
{
    memcpy(k->t + k->len, p, n);
    k->len += n;
}

static void mk_begin(struct mk *k)
{
    struct acpi_ivrs h = { .ivinfo = ACPI_IVINFO_EFRSUP };

    memcpy(h.header.signature, ACPI_SIG_IVRS, ACPI_SIG_LEN);
    k->len = 0;
    mk_put(k, &h, sizeof(h));
}

/* An IVHD of `type` for devid with the given entries. */
static void mk_ivhd(struct mk *k, uint8_t type, uint16_t devid, const void *entries, size_t n)
{
    struct acpi_ivhd11 h = { .h = { .type = type, .device_id = devid,
                                    .iommu_base_address = LAYOUT_AMDVI_MMIO_BASE } };
    size_t hlen = type == ACPI_IVHD_TYPE_10H ? sizeof(h.h) : sizeof(h);

    h.h.length = (uint16_t)(hlen + n);
    h.efr_register_image = type;
    mk_put(k, &h, hlen);
    mk_put(k, entries, n);
}

static void mk_finish(struct mk *k)
{
    uint32_t len = (uint32_t)k->len;
    uint8_t sum = 0;

    memcpy(k->t + offsetof(struct acpi_table_header, length), &len, sizeof(len));
    k->t[ACPI_HEADER_CHECKSUM_OFFSET] = 0;
    for (size_t i = 0; i < k->len; i++)
        sum = (uint8_t)(sum + k->t[i]);
    k->t[ACPI_HEADER_CHECKSUM_OFFSET] = (uint8_t)-sum;
}

static void test_parser(void)
{
    static struct mk k;
    static const uint8_t sel[] = { ACPI_IVHD_DEV_SELECT, 0x08, 0x00, 0 };
    static const uint8_t all[] = { ACPI_IVHD_DEV_ALL, 0, 0, 0 };
    static const uint8_t alias[] = { ACPI_IVHD_DEV_ALIAS_SELECT, 0x10, 0x00, 0, 0, 0x18, 0x00, 0 };
    static const uint8_t end_only[] = { ACPI_IVHD_DEV_RANGE_END, 0x10, 0x00, 0 };
    static const uint8_t open_range[] = { ACPI_IVHD_DEV_RANGE_START, 0x10, 0x00, 0 };
    static const uint8_t bad_type[] = { 0x85, 0, 0, 0 };
    static const uint8_t short_sel[] = { ACPI_IVHD_DEV_SELECT, 0x08 };
    static uint8_t hid[IVRS_P_HID_FIXED_LEN] = { ACPI_IVHD_DEV_ACPI_HID, 0x20, 0x00 };

    /* Linux takes the LAST type among blocks with the first devid: 11h then
     * 10h makes it use 10h (this is why the builder emits 10h first). */
    mk_begin(&k);
    mk_ivhd(&k, ACPI_IVHD_TYPE_11H, 0x10, sel, sizeof(sel));
    mk_ivhd(&k, ACPI_IVHD_TYPE_10H, 0x10, sel, sizeof(sel));
    mk_finish(&k);
    CHECK_EQ(ivrs_parse(k.t, k.len, &parsed), 0);
    CHECK_EQ(parsed.target_type, ACPI_IVHD_TYPE_10H);
    CHECK_EQ(parsed.efr, 0); /* 10h carries no EFR image */

    /* a 40h block after the 11h wins; other devids do not vote */
    mk_begin(&k);
    mk_ivhd(&k, ACPI_IVHD_TYPE_10H, 0x10, sel, sizeof(sel));
    mk_ivhd(&k, ACPI_IVHD_TYPE_11H, 0x20, all, sizeof(all));
    mk_ivhd(&k, ACPI_IVHD_TYPE_40H, 0x10, alias, sizeof(alias));
    mk_finish(&k);
    CHECK_EQ(ivrs_parse(k.t, k.len, &parsed), 0);
    CHECK_EQ(parsed.target_type, ACPI_IVHD_TYPE_40H);
    CHECK_EQ(parsed.niommus, 1);
    CHECK_EQ(parsed.efr, ACPI_IVHD_TYPE_40H);
    CHECK_EQ(parsed.naliases, 1);
    CHECK_EQ(parsed.owner[0x10], 0);
    CHECK_EQ(parsed.owner[0x18], 0);
    CHECK_EQ(parsed.owner[0x08], IVRS_P_NO_IOMMU);

    /* ALL covers everything; two IOMMUs claiming a devid is a conflict */
    mk_begin(&k);
    mk_ivhd(&k, ACPI_IVHD_TYPE_11H, 0x10, all, sizeof(all));
    mk_ivhd(&k, ACPI_IVHD_TYPE_11H, 0x20, sel, sizeof(sel));
    k.t[sizeof(struct acpi_ivrs) + sizeof(struct acpi_ivhd11) + sizeof(all) +
        offsetof(struct acpi_ivhd11, efr_register_image)] |= 0x80; /* a different EFR */
    mk_finish(&k);
    CHECK_EQ(ivrs_parse(k.t, k.len, &parsed), 0);
    CHECK_EQ(parsed.niommus, 2);
    CHECK_EQ(parsed.efr, ACPI_IVHD_TYPE_11H); /* ANDed, as get_global_efr() does */
    CHECK_EQ(parsed.owner[0xffff], 0);
    CHECK_EQ(parsed.owner[0x08], 1);
    CHECK_EQ(parsed.conflicts, 1);
    CHECK(!parsed.efr_consistent);

    /* ACPI HID entries belong in 40h only; Linux skips them elsewhere */
    mk_begin(&k);
    mk_ivhd(&k, ACPI_IVHD_TYPE_11H, 0x10, hid, sizeof(hid));
    mk_finish(&k);
    CHECK_EQ(ivrs_parse(k.t, k.len, &parsed), 0);
    CHECK_EQ(parsed.hid_in_wrong_block, 1);
    CHECK_EQ(parsed.owner[0x20], IVRS_P_NO_IOMMU);

    /* refused: bad checksum, truncated, unknown variable type, entries
     * overrunning the block, a range end without a start, an open range */
    mk_begin(&k);
    mk_ivhd(&k, ACPI_IVHD_TYPE_11H, 0x10, sel, sizeof(sel));
    mk_finish(&k);
    CHECK_EQ(ivrs_parse(k.t, k.len, &parsed), 0);
    k.t[k.len - 1] ^= 1;
    CHECK_EQ(ivrs_parse(k.t, k.len, &parsed), -EINVAL);
    k.t[k.len - 1] ^= 1;
    CHECK_EQ(ivrs_parse(k.t, k.len - 1, &parsed), -EINVAL);

    const struct { const uint8_t *e; size_t n; } bad[] = {
        { bad_type, sizeof(bad_type) }, { short_sel, sizeof(short_sel) },
        { end_only, sizeof(end_only) }, { open_range, sizeof(open_range) },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        mk_begin(&k);
        mk_ivhd(&k, ACPI_IVHD_TYPE_11H, 0x10, bad[i].e, bad[i].n);
        mk_finish(&k);
        CHECK_EQ(ivrs_parse(k.t, k.len, &parsed), -EINVAL);
        CHECK(parsed.error[0] != '\0');
    }

    /* a block whose Length runs past the table */
    mk_begin(&k);
    mk_ivhd(&k, ACPI_IVHD_TYPE_11H, 0x10, sel, sizeof(sel));
    k.t[sizeof(struct acpi_ivrs) + offsetof(struct acpi_ivhd_header, length)] += 4;
    mk_finish(&k);
    CHECK_EQ(ivrs_parse(k.t, k.len, &parsed), -EINVAL);
}

int main(void)
{
    static struct built b;

    test_feature_reporting();
    test_add_range();
    test_parser();
    test_one_iommu(&b);
    test_two_iommus(&b);
    test_special(&b);
    test_full_tables(&b);
    test_validation(&b);
    test_absent_and_nospace(&b);
    return check_result("test_acpi_ivrs");
}
