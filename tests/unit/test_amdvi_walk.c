/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi v1/v2 page-table walkers: hand-written cases for each rule of the
 * contract in iommu/amd/amdvi_walk.h, tables built the way Linux's
 * io_pgtable.c / io_pgtable_v2.c build them, and thousands of random IOVAs
 * over random tables compared with the reference model in amdvi_ref_model.h.
 * The seed is printed; set SLUICE_TEST_SEED to replay one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "devices/bits.h"
#include "iommu/amd/amdvi_pgtable.h"
#include "iommu/amd/amdvi_walk.h"
#include "tests/unit/amdvi_ref_model.h"
#include "tests/unit/check.h"

#define KIB(x) ((uint64_t)(x) << 10)
#define MIB(x) ((uint64_t)(x) << 20)
#define GIB(x) ((uint64_t)(x) << 30)

static struct ref_ram ram;
static struct amdvi_walk_mem mem;

static uint64_t page(void)
{
    uint64_t p = ref_ram_page(&ram);

    if (!p)
        abort(); /* test bug: RAM too small */
    return p;
}

static void put(uint64_t table, unsigned idx, uint64_t val)
{
    ref_ram_write64(&ram, table + idx * 8ULL, val);
}

/* ---- v1 entry builders ---------------------------------------------------- */

static uint64_t v1_pde(uint64_t table, unsigned next)
{
    return AMDVI_PTE_PR | AMDVI_PTE_IR | AMDVI_PTE_IW | FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, next) |
           table;
}

static uint64_t v1_pte(uint64_t frame, bool r, bool w)
{
    return AMDVI_PTE_PR | (r ? AMDVI_PTE_IR : 0) | (w ? AMDVI_PTE_IW : 0) | frame;
}

/* NL 7 page of 2^shift bytes at `frame`. */
static uint64_t v1_sized(uint64_t frame, unsigned shift)
{
    return AMDVI_PTE_PR | AMDVI_PTE_IR | AMDVI_PTE_IW |
           FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, AMDVI_NL_SIZED) | amdvi_pte_sized_addr(frame, shift);
}

static int w1(uint64_t root, unsigned mode, uint64_t iova, struct amdvi_walk_result *r)
{
    return amdvi_walk_v1(&mem, root, mode, iova, r);
}

/* Mode 3: root -> l2 -> l1 mapping iova 0x12345000 etc. */
static void test_v1_basic(void)
{
    struct amdvi_walk_result r;
    uint64_t l3, l2, l1;

    ref_ram_reset(&ram);
    l3 = page(), l2 = page(), l1 = page();
    put(l3, 0, v1_pde(l2, 2));
    put(l2, 0x91, v1_pde(l1, 1));                     /* iova bits 29:21 = 0x91 */
    put(l1, 0x145, v1_pte(0x7654321000ULL, true, true)); /* bits 20:12 = 0x145 */
    put(l1, 0x146, v1_pte(0x1000ULL, true, false));
    put(l1, 0x147, v1_pte(0x2000ULL, false, true));

    CHECK_EQ(w1(l3, 3, 0x12345678, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0x7654321678ULL);
    CHECK_EQ(r.page_size, KIB(4));
    CHECK(r.read && r.write);
    CHECK_EQ(w1(l3 | 0xabc, 3, 0x12346fff, &r), AMDVI_WALK_OK); /* PTRoot low bits ignored */
    CHECK_EQ(r.gpa, 0x1fffULL);
    CHECK(r.read && !r.write);
    CHECK_EQ(w1(l3, 3, 0x12347000, &r), AMDVI_WALK_OK);
    CHECK(!r.read && r.write);

    /* not present leaf: fault at the PTE */
    CHECK_EQ(w1(l3, 3, 0x12348000, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(r.fault_pte_addr, l1 + 0x148 * 8);
    CHECK_EQ(r.fault_level, 1);
    CHECK_EQ(r.gpa, 0);
    /* not present PDE */
    CHECK_EQ(w1(l3, 3, 0x40000000, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(r.fault_pte_addr, l3 + 1 * 8);
    CHECK_EQ(r.fault_level, 3);
    /* beyond the reach of 3 levels (39 bits) */
    CHECK_EQ(w1(l3, 3, 1ULL << 39 | 0x12345678, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(r.fault_level, 3);
    CHECK_EQ(r.fault_pte_addr, l3);
    /* bad modes */
    CHECK_EQ(w1(l3, 0, 0x12345678, &r), AMDVI_WALK_RSVD);
    CHECK_EQ(w1(l3, 7, 0x12345678, &r), AMDVI_WALK_RSVD);
    CHECK_EQ(r.fault_level, 0);
}

static void test_v1_perms_and_bits(void)
{
    struct amdvi_walk_result r;
    uint64_t l2, l1;

    ref_ram_reset(&ram);
    l2 = page(), l1 = page();
    /* PDE without IR blocks reads below even when the PTE grants them */
    put(l2, 0, v1_pde(l1, 1) & ~AMDVI_PTE_IR);
    put(l1, 0, v1_pte(0x5000, true, true));
    CHECK_EQ(w1(l2, 2, 0x10, &r), AMDVI_WALK_OK);
    CHECK(!r.read && r.write);
    /* PDE without IW */
    put(l2, 0, v1_pde(l1, 1) & ~AMDVI_PTE_IW);
    CHECK_EQ(w1(l2, 2, 0x10, &r), AMDVI_WALK_OK);
    CHECK(r.read && !r.write);
    CHECK_EQ(r.gpa, 0x5010);

    /* ignored bits (4:1, A, D, 8:7, U, FC, 63) change nothing */
    put(l2, 0, v1_pde(l1, 1) | AMDVI_PTE_IGN_4_1 | AMDVI_PTE_IGN_8_7 | AMDVI_PTE_A |
                   AMDVI_PTE_IGN_63 | AMDVI_PTE_U | AMDVI_PTE_FC);
    put(l1, 0, v1_pte(0x5000, true, true) | AMDVI_PTE_D | AMDVI_PTE_FC | AMDVI_PTE_U |
                   AMDVI_PTE_IGN_63 | AMDVI_PTE_IGN_4_1);
    CHECK_EQ(w1(l2, 2, 0x10, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0x5010);
    CHECK(r.read && r.write);

    /* reserved bits 58:52, in a PDE and in a PTE */
    put(l2, 0, v1_pde(l1, 1) | BIT(52));
    CHECK_EQ(w1(l2, 2, 0x10, &r), AMDVI_WALK_RSVD);
    CHECK_EQ(r.fault_pte_addr, l2);
    CHECK_EQ(r.fault_level, 2);
    put(l2, 0, v1_pde(l1, 1));
    put(l1, 0, v1_pte(0x5000, true, true) | BIT(58));
    CHECK_EQ(w1(l2, 2, 0x10, &r), AMDVI_WALK_RSVD);
    CHECK_EQ(r.fault_level, 1);
    /* ...but only once the entry is present */
    put(l1, 0, (v1_pte(0x5000, true, true) | BIT(58)) & ~AMDVI_PTE_PR);
    CHECK_EQ(w1(l2, 2, 0x10, &r), AMDVI_WALK_NOT_PRESENT);

    /* next level >= current level is illegal */
    put(l2, 0, v1_pde(l1, 2));
    CHECK_EQ(w1(l2, 2, 0x10, &r), AMDVI_WALK_RSVD);
    put(l2, 0, v1_pde(l1, 5));
    CHECK_EQ(w1(l2, 2, 0x10, &r), AMDVI_WALK_RSVD);
    /* at level 1 only 0 and 7 are legal */
    put(l2, 0, v1_pde(l1, 1));
    put(l1, 0, v1_pte(0x5000, true, true) | FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, 1));
    CHECK_EQ(w1(l2, 2, 0x10, &r), AMDVI_WALK_RSVD);

    /* table outside RAM: MEM_ERROR at the entry that could not be read */
    put(l2, 0, v1_pde(REF_NONRAM, 1));
    CHECK_EQ(w1(l2, 2, 0x3010, &r), AMDVI_WALK_MEM_ERROR);
    CHECK_EQ(r.fault_pte_addr, REF_NONRAM + 3 * 8);
    CHECK_EQ(r.fault_level, 1);
    CHECK_EQ(w1(REF_NONRAM, 4, 1ULL << 39, &r), AMDVI_WALK_MEM_ERROR);
    CHECK_EQ(r.fault_pte_addr, REF_NONRAM + 8);
    CHECK_EQ(r.fault_level, 4);
}

static void test_v1_large_pages(void)
{
    struct amdvi_walk_result r;
    uint64_t l4, l3, l2, l1;

    ref_ram_reset(&ram);
    l4 = page(), l3 = page(), l2 = page(), l1 = page();
    put(l4, 0, v1_pde(l3, 3));
    put(l3, 0, v1_pde(l2, 2));
    put(l2, 0, v1_pde(l1, 1));
    /* default-size pages: NL 0 at levels 2, 3, 4 */
    put(l2, 1, v1_pte(0xaa00000ULL, true, true));
    put(l3, 1, v1_pte(GIB(7), true, false));
    put(l4, 1, v1_pte(1ULL << 40, false, true));
    CHECK_EQ(w1(l4, 4, MIB(2) + 0x12345, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.page_size, MIB(2));
    CHECK_EQ(r.gpa, 0xaa00000ULL + 0x12345);
    CHECK_EQ(w1(l4, 4, GIB(1) + 0x3456789, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.page_size, GIB(1));
    CHECK_EQ(r.gpa, GIB(7) + 0x3456789);
    CHECK(r.read && !r.write);
    CHECK_EQ(w1(l4, 4, (1ULL << 39) + 0x123456789ULL, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.page_size, 1ULL << 39);
    CHECK_EQ(r.gpa, (1ULL << 40) + 0x123456789ULL);

    /* NL 7 at level 1: 8 KiB (bit 12 zero) and 64 KiB, replicated like Linux */
    put(l1, 2, v1_sized(0x100000, 13));
    put(l1, 3, v1_sized(0x100000, 13));
    CHECK_EQ(w1(l4, 4, 0x3abc, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.page_size, KIB(8));
    CHECK_EQ(r.gpa, 0x101abc);
    CHECK_EQ(w1(l4, 4, 0x2abc, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0x100abc);
    put(l1, 0x10, v1_sized(0x7770000, 16));
    CHECK_EQ(w1(l4, 4, 0x1f123, &r), AMDVI_WALK_NOT_PRESENT); /* not replicated: idx 0x1f */
    CHECK_EQ(w1(l4, 4, 0x10123, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.page_size, KIB(64));
    CHECK_EQ(r.gpa, 0x7770123);
    /* NL 7 at level 2: 4 MiB */
    put(l2, 4, v1_sized(GIB(3), 22));
    CHECK_EQ(w1(l4, 4, MIB(8) + 0x1234, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.page_size, MIB(4));
    CHECK_EQ(r.gpa, GIB(3) + 0x1234);
    CHECK_EQ(w1(l4, 4, MIB(9) + 0x1234, &r), AMDVI_WALK_OK); /* same entry (idx 4) */
    CHECK_EQ(r.gpa, GIB(3) + MIB(1) + 0x1234);
    /* NL 7 sizes that do not fit the level */
    put(l2, 5, v1_sized(0x200000, 13));   /* 8 KiB in a level-2 entry */
    CHECK_EQ(w1(l4, 4, MIB(10), &r), AMDVI_WALK_RSVD);
    CHECK_EQ(r.fault_pte_addr, l2 + 5 * 8);
    put(l2, 5, v1_sized(0, 21));          /* default size with NL 7 */
    CHECK_EQ(w1(l4, 4, MIB(10), &r), AMDVI_WALK_RSVD);
    put(l1, 0x20, v1_sized(0, 21));       /* 2 MiB in a level-1 entry */
    CHECK_EQ(w1(l4, 4, 0x20000, &r), AMDVI_WALK_RSVD);
    put(l1, 0x20, v1_sized(0, 20));       /* 1 MiB: 256 entries, legal */
    CHECK_EQ(w1(l4, 4, 0x20000, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.page_size, MIB(1));
    put(l1, 0x21, AMDVI_PTE_PR | FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, 7) | AMDVI_PTE_ADDR);
    CHECK_EQ(w1(l4, 4, 0x21000, &r), AMDVI_WALK_RSVD); /* all ones: no size */
}

static void test_v1_skip_and_mode6(void)
{
    struct amdvi_walk_result r;
    uint64_t l6, l5, l1, l3;

    ref_ram_reset(&ram);
    l6 = page(), l5 = page(), l3 = page(), l1 = page();
    /* mode 6: top index is bits 63:57 */
    put(l6, 0x7f, v1_pde(l5, 5));
    /* level 5 skips to level 1: bits 47:21 must be zero */
    put(l5, 0x3, v1_pde(l1, 1));
    put(l1, 0x9, v1_pte(0xabc000, true, true));
    /* level 5 skips to level 3: bits 47:39 must be zero */
    put(l5, 0x4, v1_pde(l3, 3));
    put(l3, 0x2, v1_pte(GIB(5), true, true));

    uint64_t base = 0xfe00000000000000ULL | (3ULL << 48);
    CHECK_EQ(w1(l6, 6, base | 0x9123, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0xabc123);
    CHECK_EQ(w1(l6, 6, base | 1ULL << 21 | 0x9123, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(r.fault_pte_addr, l5 + 3 * 8);
    CHECK_EQ(r.fault_level, 5);
    CHECK_EQ(w1(l6, 6, base | 1ULL << 47 | 0x9123, &r), AMDVI_WALK_NOT_PRESENT);

    base = 0xfe00000000000000ULL | (4ULL << 48);
    CHECK_EQ(w1(l6, 6, base | GIB(2) | 0x123, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, GIB(5) + 0x123);
    CHECK_EQ(r.page_size, GIB(1));
    CHECK_EQ(w1(l6, 6, base | 1ULL << 39 | GIB(2), &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(w1(l6, 6, base | 1ULL << 38 | GIB(2), &r), AMDVI_WALK_NOT_PRESENT); /* l3 idx 0x102 */
    CHECK_EQ(r.fault_level, 3);

    /* a page in the top level (6) is illegal */
    put(l6, 0x1, v1_pte(0, true, true));
    CHECK_EQ(w1(l6, 6, 1ULL << 57, &r), AMDVI_WALK_RSVD);
    CHECK_EQ(r.fault_level, 6);
    /* ... but a default page at level 5 is a 256 TiB page */
    put(l5, 0x5, v1_pte(0, true, true));
    CHECK_EQ(w1(l6, 6, 0xfe00000000000000ULL | 5ULL << 48 | 0x123456789aULL, &r),
             AMDVI_WALK_OK);
    CHECK_EQ(r.page_size, 1ULL << 48);
    CHECK_EQ(r.gpa, 0x123456789aULL);
    /* mode 1: a single level-1 table covering 2 MiB */
    CHECK_EQ(w1(l1, 1, 0x9fff, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0xabcfff);
    CHECK_EQ(w1(l1, 1, MIB(2) | 0x9fff, &r), AMDVI_WALK_NOT_PRESENT);
}

/* ---- Linux-shaped v1 tables (io_pgtable.c): PDEs PR|IR|IW|NL=level-1,
 * PTEs PR|FC|IR/IW, non-default sizes as replicated NL 7 entries, the
 * table grown from mode 3 as the IOVA needs more bits. -------------------- */

struct lx_v1 {
    uint64_t root;
    unsigned mode;
};

static void lx_v1_grow(struct lx_v1 *d, uint64_t iova)
{
    while (d->mode < 6 && (iova >> (12 + 9 * d->mode))) {
        uint64_t top = page();

        put(top, 0, v1_pde(d->root, d->mode));
        d->root = top;
        d->mode++;
    }
}

/* Map `size` (power of two >= 4 KiB) at iova -> paddr. */
static void lx_v1_map(struct lx_v1 *d, uint64_t iova, uint64_t paddr, uint64_t size, bool r,
                      bool w)
{
    unsigned shift = (unsigned)__builtin_ctzll(size), level, i, n = 1;
    uint64_t table, pte;

    lx_v1_grow(d, iova);
    level = d->mode;
    table = d->root;
    while (amdvi_pt_level_shift(level) > shift) {
        uint64_t addr = table + amdvi_pt_index(iova, level) * 8ULL, e = 0;

        ref_ram_read64(&ram, addr, &e);
        if (!(e & AMDVI_PTE_PR)) {
            e = v1_pde(page(), level - 1);
            ref_ram_write64(&ram, addr, e);
        }
        table = e & AMDVI_PTE_ADDR;
        level--;
    }
    pte = AMDVI_PTE_PR | AMDVI_PTE_FC | (r ? AMDVI_PTE_IR : 0) | (w ? AMDVI_PTE_IW : 0);
    if (shift == amdvi_pt_level_shift(level)) {
        pte |= paddr;
    } else {
        pte |= FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, 7) | paddr |
               ((size / 2 - 1) & ~(AMDVI_PT_PAGE_SIZE - 1));
        n = 1u << (shift - amdvi_pt_level_shift(level));
    }
    for (i = 0; i < n; i++)
        put(table, amdvi_pt_index(iova, level) + i, pte);
}

static void test_v1_linux_shaped(void)
{
    static const struct {
        uint64_t iova, paddr, size;
        bool r, w;
    } maps[] = {
        { 0x1000, 0x80001000, KIB(4), true, true },
        { 0x4000, 0x90004000, KIB(8), true, false },
        { 0x100000, 0x7000000, KIB(64), false, true },
        { MIB(4), GIB(2), MIB(2), true, true },
        { MIB(8), GIB(4), MIB(8), true, true },
        { GIB(1), GIB(8), GIB(1), true, true },
        { GIB(64), GIB(128), GIB(4), true, true },
        { 1ULL << 40, 0x123456000, KIB(4), true, true }, /* grows to mode 4 */
        { 1ULL << 50, MIB(6), MIB(2), true, true },      /* grows to mode 5 */
    };
    struct lx_v1 d;
    struct amdvi_walk_result r;
    unsigned i;

    ref_ram_reset(&ram);
    d.root = page();
    d.mode = 3;
    for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
        lx_v1_map(&d, maps[i].iova, maps[i].paddr, maps[i].size, maps[i].r, maps[i].w);
    CHECK_EQ(d.mode, 5);
    for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        uint64_t offs[3] = { 0, maps[i].size / 2 + 0x10, maps[i].size - 1 };

        for (unsigned k = 0; k < 3; k++) {
            CHECK_EQ(w1(d.root, d.mode, maps[i].iova + offs[k], &r), AMDVI_WALK_OK);
            CHECK_EQ(r.gpa, maps[i].paddr + offs[k]);
            CHECK_EQ(r.page_size, maps[i].size);
            CHECK_EQ(r.read, maps[i].r);
            CHECK_EQ(r.write, maps[i].w);
        }
    }
    CHECK_EQ(w1(d.root, d.mode, 0x2000, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(w1(d.root, d.mode, 0x110000, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(w1(d.root, d.mode, 1ULL << 57, &r), AMDVI_WALK_NOT_PRESENT);
}

/* ---- v2 ---------------------------------------------------------------------- */

#define LX_V2_TABLE (AMDVI_GPTE_P | AMDVI_GPTE_RW | AMDVI_GPTE_US | AMDVI_GPTE_A)
#define LX_V2_LEAF (AMDVI_GPTE_P | AMDVI_GPTE_US | AMDVI_GPTE_A | AMDVI_GPTE_D)

/* Map like io_pgtable_v2.c: 4K, 2M (PS at level 2) or 1G (PS at level 3). */
static void lx_v2_map(uint64_t cr3, unsigned levels, uint64_t iova, uint64_t paddr,
                      uint64_t size, bool w)
{
    unsigned shift = (unsigned)__builtin_ctzll(size), level = levels;
    uint64_t table = cr3, pte;

    while (amdvi_pt_level_shift(level) > shift) {
        uint64_t addr = table + amdvi_pt_index(iova, level) * 8ULL, e = 0;

        ref_ram_read64(&ram, addr, &e);
        if (!(e & AMDVI_GPTE_P)) {
            e = page() | LX_V2_TABLE;
            ref_ram_write64(&ram, addr, e);
        }
        table = e & AMDVI_GPTE_ADDR;
        level--;
    }
    pte = paddr | LX_V2_LEAF | (w ? AMDVI_GPTE_RW : 0) | (level > 1 ? AMDVI_GPTE_PS : 0);
    put(table, amdvi_pt_index(iova, level), pte);
}

static int w2(uint64_t gcr3, unsigned glx, uint32_t pasid, uint64_t iova,
              struct amdvi_walk_result *r)
{
    return amdvi_walk_v2(&mem, gcr3, glx, pasid, iova, r);
}

static void test_v2_linux_shaped(void)
{
    struct amdvi_walk_result r;
    uint64_t gcr3, gcr3_l0, cr3;

    ref_ram_reset(&ram);
    /* two-level GCR3 table (GLX 1) as Linux builds for 2^16 PASIDs */
    gcr3 = page(), gcr3_l0 = page(), cr3 = page();
    put(gcr3, 0, gcr3_l0 | AMDVI_GCR3_V);
    put(gcr3_l0, 0, cr3 | AMDVI_GCR3_V);
    lx_v2_map(cr3, 4, 0x1000, 0x80001000, KIB(4), true);
    lx_v2_map(cr3, 4, 0x2000, 0x80002000, KIB(4), false);
    lx_v2_map(cr3, 4, MIB(2), GIB(3), MIB(2), true);
    lx_v2_map(cr3, 4, GIB(1), GIB(5), GIB(1), true);
    lx_v2_map(cr3, 4, (1ULL << 47) - KIB(4), 0xfffff000ULL, KIB(4), true);

    CHECK_EQ(w2(gcr3, 1, 0, 0x1234, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0x80001234);
    CHECK_EQ(r.page_size, KIB(4));
    CHECK(r.read && r.write);
    CHECK_EQ(w2(gcr3, 1, 0, 0x2234, &r), AMDVI_WALK_OK);
    CHECK(r.read && !r.write);
    CHECK_EQ(w2(gcr3, 1, 0, MIB(3) + 5, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, GIB(3) + MIB(1) + 5);
    CHECK_EQ(r.page_size, MIB(2));
    CHECK_EQ(w2(gcr3, 1, 0, GIB(1) + 0x3ffffff0, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, GIB(5) + 0x3ffffff0);
    CHECK_EQ(r.page_size, GIB(1));
    CHECK_EQ(w2(gcr3, 1, 0, (1ULL << 47) - 1, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0xffffffffULL);
    CHECK_EQ(w2(gcr3, 1, 0, 0x3000, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(r.fault_level, 1);
    /* PASID 1 has no entry; PASID 512 indexes the top GCR3 level */
    CHECK_EQ(w2(gcr3, 1, 1, 0x1234, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(r.fault_pte_addr, gcr3_l0 + 8);
    CHECK_EQ(r.fault_level, 0);
    CHECK_EQ(w2(gcr3, 1, 512, 0x1234, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(r.fault_pte_addr, gcr3 + 8);
    /* one-level GCR3 table (GLX 0) pointing straight at the CR3 */
    CHECK_EQ(w2(gcr3_l0, 0, 0, 0x1234, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0x80001234);
    CHECK_EQ(w2(gcr3_l0, 0, 512, 0x1234, &r), AMDVI_WALK_NOT_PRESENT); /* beyond 9 bits */
    CHECK_EQ(r.fault_pte_addr, gcr3_l0);
    CHECK_EQ(w2(gcr3_l0, 3, 0, 0x1234, &r), AMDVI_WALK_RSVD);            /* GLX 3 */
    CHECK_EQ(amdvi_walk_v2_levels(&mem, gcr3_l0, 0, 3, 0, 0x1234, &r), AMDVI_WALK_RSVD);
    /* non-canonical for 4 levels */
    CHECK_EQ(w2(gcr3, 1, 0, 1ULL << 47 | 0x1234, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(r.fault_level, 4);
    CHECK_EQ(r.fault_pte_addr, cr3);
}

static void test_v2_rules(void)
{
    struct amdvi_walk_result r;
    uint64_t gcr3, cr3, l4, l3, l2, l1;

    ref_ram_reset(&ram);
    gcr3 = page(), cr3 = page(), l4 = page(), l3 = page(), l2 = page(), l1 = page();
    put(gcr3, 0, cr3 | AMDVI_GCR3_V);
    /* 5-level: cr3 is the level-5 table */
    put(cr3, 0x1ff, l4 | LX_V2_TABLE);
    put(l4, 0x1ff, l3 | LX_V2_TABLE);
    put(l3, 0, l2 | LX_V2_TABLE);
    put(l2, 0, l1 | LX_V2_TABLE);
    put(l1, 0, 0x5000 | LX_V2_LEAF | AMDVI_GPTE_RW);
    uint64_t hi = 0xffff800000000000ULL | 0x1ffULL << 39; /* top half, canonical at 57 bits */

    CHECK_EQ(amdvi_walk_v2_levels(&mem, gcr3, 0, 5, 0, hi | 0x77, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0x5077);
    CHECK(r.read && r.write);
    /* the same IOVA is non-canonical for a 4-level walk of a 4-level root */
    put(gcr3, 1, l4 | AMDVI_GCR3_V);
    CHECK_EQ(w2(gcr3, 0, 1, 0x00ff800000000000ULL | 0x77, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(w2(gcr3, 0, 1, 0xffffff8000000000ULL | 0x77, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0x5077);

    /* U/S = 0 at a table level: no access at all; RW = 0: read only */
    put(l3, 0, (l2 | LX_V2_TABLE) & ~AMDVI_GPTE_US);
    CHECK_EQ(w2(gcr3, 0, 1, 0xffffff8000000000ULL, &r), AMDVI_WALK_OK);
    CHECK(!r.read && !r.write);
    put(l3, 0, (l2 | LX_V2_TABLE) & ~AMDVI_GPTE_RW);
    CHECK_EQ(w2(gcr3, 0, 1, 0xffffff8000000000ULL, &r), AMDVI_WALK_OK);
    CHECK(r.read && !r.write);
    put(l3, 0, l2 | LX_V2_TABLE);
    /* NX, 62:52, G, PWT/PCD, A/D: ignored; PS at level 1 is PAT */
    put(l1, 0, 0x5000 | LX_V2_LEAF | AMDVI_GPTE_RW | AMDVI_GPTE_NX | AMDVI_GPTE_AVL_62_52 |
                   AMDVI_GPTE_G | AMDVI_GPTE_PWT | AMDVI_GPTE_PCD | AMDVI_GPTE_PS);
    CHECK_EQ(w2(gcr3, 0, 1, 0xffffff8000000123ULL, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, 0x5123);
    CHECK(r.read && r.write);

    /* PS at level 4 (and 5) is reserved */
    put(l4, 0x1fe, GIB(512) | LX_V2_LEAF | AMDVI_GPTE_PS);
    CHECK_EQ(w2(gcr3, 0, 1, 0xffffff0000000000ULL, &r), AMDVI_WALK_RSVD);
    CHECK_EQ(r.fault_level, 4);
    CHECK_EQ(r.fault_pte_addr, l4 + 0x1fe * 8);
    put(cr3, 0x1fe, LX_V2_LEAF | AMDVI_GPTE_PS);
    CHECK_EQ(amdvi_walk_v2_levels(&mem, gcr3, 0, 5, 0, 0xfffe000000000000ULL, &r),
             AMDVI_WALK_RSVD);
    CHECK_EQ(r.fault_level, 5);
    /* 2 MiB page: bit 12 is PAT (fine), bits 20:13 must be zero */
    put(l2, 1, MIB(4) | AMDVI_GPTE_LARGE_PAT | LX_V2_LEAF | AMDVI_GPTE_PS);
    CHECK_EQ(w2(gcr3, 0, 1, 0xffffff8000200000ULL | 0x1234, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, MIB(4) + 0x1234);
    CHECK_EQ(r.page_size, MIB(2));
    put(l2, 1, MIB(4) | KIB(8) | LX_V2_LEAF | AMDVI_GPTE_PS);
    CHECK_EQ(w2(gcr3, 0, 1, 0xffffff8000200000ULL, &r), AMDVI_WALK_RSVD);
    CHECK_EQ(r.fault_level, 2);
    /* 1 GiB page: bits 29:13 must be zero */
    put(l3, 1, GIB(2) | MIB(512) | LX_V2_LEAF | AMDVI_GPTE_PS);
    CHECK_EQ(w2(gcr3, 0, 1, 0xffffff8040000000ULL, &r), AMDVI_WALK_RSVD);
    put(l3, 1, GIB(2) | LX_V2_LEAF | AMDVI_GPTE_PS);
    CHECK_EQ(w2(gcr3, 0, 1, 0xffffff8040000000ULL | 0x3456789, &r), AMDVI_WALK_OK);
    CHECK_EQ(r.gpa, GIB(2) + 0x3456789);
    CHECK_EQ(r.page_size, GIB(1));

    /* GCR3 entry: V = 0, reserved bits 63:52, CR3 outside RAM, table outside RAM */
    put(gcr3, 2, l4);
    CHECK_EQ(w2(gcr3, 0, 2, 0, &r), AMDVI_WALK_NOT_PRESENT);
    CHECK_EQ(r.fault_pte_addr, gcr3 + 16);
    CHECK_EQ(r.fault_level, 0);
    put(gcr3, 2, l4 | AMDVI_GCR3_V | BIT(60));
    CHECK_EQ(w2(gcr3, 0, 2, 0, &r), AMDVI_WALK_RSVD);
    put(gcr3, 2, l4 | AMDVI_GCR3_V | AMDVI_GCR3_IGN_11_1);
    CHECK_EQ(w2(gcr3, 0, 2, 0xffffff8000000000ULL, &r), AMDVI_WALK_OK);
    put(gcr3, 3, REF_NONRAM | AMDVI_GCR3_V);
    CHECK_EQ(w2(gcr3, 0, 3, 0x1000, &r), AMDVI_WALK_MEM_ERROR);
    CHECK_EQ(r.fault_pte_addr, REF_NONRAM);
    CHECK_EQ(r.fault_level, 4);
    CHECK_EQ(w2(REF_NONRAM, 0, 5, 0x1000, &r), AMDVI_WALK_MEM_ERROR);
    CHECK_EQ(r.fault_pte_addr, REF_NONRAM + 40);
    CHECK_EQ(r.fault_level, 0);
    /* PASID beyond 20 bits */
    CHECK_EQ(w2(gcr3, 2, 1u << 20, 0x1000, &r), AMDVI_WALK_NOT_PRESENT);
}

/* ---- random tables vs the reference model ---------------------------------------------- */

static unsigned mismatches;

static void compare(const char *what, unsigned sel, uint64_t iova, int st,
                    const struct amdvi_walk_result *r, const struct ref_expect *x,
                    unsigned *hist)
{
    bool ok = st == x->status;

    if (ok && st == AMDVI_WALK_OK)
        ok = r->gpa == x->gpa && r->page_size == x->page_size && r->read == x->read &&
             r->write == x->write;
    else if (ok)
        ok = r->fault_pte_addr == x->fault_pte_addr && r->fault_level == x->fault_level;
    CHECK(ok);
    if (st >= 0 && st <= AMDVI_WALK_MEM_ERROR)
        hist[st]++;
    if (!ok && mismatches++ < 10)
        fprintf(stderr,
                "%s sel %u iova 0x%" PRIx64 ": walker st %d gpa 0x%" PRIx64 " size 0x%" PRIx64
                " r%d w%d fault 0x%" PRIx64 "/%u; model st %d gpa 0x%" PRIx64 " size 0x%" PRIx64
                " r%d w%d fault 0x%" PRIx64 "/%u\n",
                what, sel, iova, st, r->gpa, r->page_size, r->read, r->write, r->fault_pte_addr,
                r->fault_level, x->status, x->gpa, x->page_size, x->read, x->write,
                x->fault_pte_addr, x->fault_level);
}

static struct ref_tbl tbls[REF_MAX_TABLES];

static void test_v1_random(void)
{
    unsigned hist[5] = { 0 }, sizes[64] = { 0 }, tree, k, nsizes = 0;

    for (tree = 0; tree < 120; tree++) {
        unsigned mode = 1 + tree % 6;
        struct ref_gen g = { .ram = &ram, .tbls = tbls };
        struct ref_tbl *root;

        ref_ram_reset(&ram);
        root = ref_new_tbl(&g, mode);
        ref_v1_gen_table(&g, root);
        for (k = 0; k < 400; k++) {
            uint64_t iova = ref_v1_pick_iova(root, mode);
            struct ref_expect x = ref_v1_model(root, mode, iova);
            struct amdvi_walk_result r;
            int st = amdvi_walk_v1(&mem, root->addr, mode, iova, &r);

            compare("v1", mode, iova, st, &r, &x, hist);
            if (st == AMDVI_WALK_OK)
                sizes[__builtin_ctzll(r.page_size)]++;
        }
    }
    for (k = 0; k < 64; k++)
        nsizes += sizes[k] != 0;
    fprintf(stderr, "v1 random: ok %u not-present %u rsvd %u mem-error %u, %u page sizes\n",
            hist[0], hist[1], hist[3], hist[4], nsizes);
    /* every outcome and a spread of page sizes were exercised */
    CHECK(hist[AMDVI_WALK_OK] > 5000);
    CHECK(hist[AMDVI_WALK_NOT_PRESENT] > 500);
    CHECK(hist[AMDVI_WALK_RSVD] > 200);
    CHECK(hist[AMDVI_WALK_MEM_ERROR] > 10);
    CHECK(sizes[12] && sizes[13] && sizes[21] && sizes[30] && sizes[39]);
    CHECK(nsizes >= 20);
}

static void test_v2_random(void)
{
    unsigned hist[5] = { 0 }, sizes[64] = { 0 }, tree, k;

    for (tree = 0; tree < 120; tree++) {
        unsigned levels = tree % 2 ? 5 : 4, glx = tree % 3;
        struct ref_gen g = { .ram = &ram, .tbls = tbls };
        struct ref_gcr3 c = { .glx = glx, .bad_cr3 = REF_NONRAM | 0x5000 };
        struct ref_tbl *root;

        ref_ram_reset(&ram);
        root = ref_new_tbl(&g, levels);
        c.top = ref_new_tbl(&g, glx + 1);
        ref_v2_gen_table(&g, root);
        ref_gcr3_gen(&g, c.top, root, c.bad_cr3);
        for (k = 0; k < 400; k++) {
            uint64_t iova = ref_v2_pick_iova(root, levels);
            uint32_t pasid = ref_gcr3_pick_pasid(&c);
            struct ref_expect x = ref_v2_model(&c, c.top->addr, levels, pasid, iova);
            struct amdvi_walk_result r;
            int st = amdvi_walk_v2_levels(&mem, c.top->addr, glx, levels, pasid, iova, &r);

            compare("v2", levels * 10 + glx, iova, st, &r, &x, hist);
            if (st == AMDVI_WALK_OK)
                sizes[__builtin_ctzll(r.page_size)]++;
        }
    }
    fprintf(stderr, "v2 random: ok %u not-present %u rsvd %u mem-error %u\n", hist[0], hist[1],
            hist[3], hist[4]);
    CHECK(hist[AMDVI_WALK_OK] > 5000);
    CHECK(hist[AMDVI_WALK_NOT_PRESENT] > 500);
    CHECK(hist[AMDVI_WALK_RSVD] > 200);
    CHECK(hist[AMDVI_WALK_MEM_ERROR] > 10);
    CHECK(sizes[12] && sizes[21] && sizes[30]);
}

int main(void)
{
    const char *env = getenv("SLUICE_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();

    fprintf(stderr, "test_amdvi_walk: seed %" PRIu64 " (SLUICE_TEST_SEED to replay)\n", seed);
    ref_seed(seed);
    if (ref_ram_init(&ram)) {
        fprintf(stderr, "no memory\n");
        return 1;
    }
    mem = ref_ram_mem(&ram);

    test_v1_basic();
    test_v1_perms_and_bits();
    test_v1_large_pages();
    test_v1_skip_and_mode6();
    test_v1_linux_shaped();
    test_v2_linux_shaped();
    test_v2_rules();
    test_v1_random();
    test_v2_random();

    ref_ram_free(&ram);
    return check_result("test_amdvi_walk");
}
