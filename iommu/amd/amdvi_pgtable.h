/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi page-table entry layouts (AMD IOMMU spec, pub. 48882):
 *   - host ("v1") I/O page tables, spec 2.2.3: PDEs and PTEs;
 *   - GCR3 table entries (per-PASID guest CR3, spec 2.2.6);
 *   - guest ("v2") tables: ordinary x86-64 long-mode paging entries.
 * Header-only constants and tiny pure helpers, shared by the walkers
 * (amdvi_walk_v1.c / amdvi_walk_v2.c) and by tests that build tables.
 *
 * Levels are numbered as the spec does: level 1 is the last table (4 KiB
 * granule), level L maps 4 KiB << (9 * (L - 1)) per entry; the DTE Mode
 * (1..6) is the number of the top level.
 */
#ifndef SLUICE_IOMMU_AMD_AMDVI_PGTABLE_H
#define SLUICE_IOMMU_AMD_AMDVI_PGTABLE_H

#include <stdint.h>

#include "devices/bits.h"

/* Table geometry, common to v1, v2 and the GCR3 table. */
#define AMDVI_PT_PAGE_SHIFT 12u
#define AMDVI_PT_PAGE_SIZE (1ULL << AMDVI_PT_PAGE_SHIFT)
#define AMDVI_PT_LEVEL_BITS 9u
#define AMDVI_PT_ENTRIES (1u << AMDVI_PT_LEVEL_BITS)
#define AMDVI_PT_INDEX_MASK (AMDVI_PT_ENTRIES - 1u)
#define AMDVI_PT_ENTRY_SIZE 8u
#define AMDVI_PT_MAX_LEVELS 6u

/* log2 of the bytes one entry of a level-`level` table maps (level >= 1). */
static inline unsigned amdvi_pt_level_shift(unsigned level)
{
    return AMDVI_PT_PAGE_SHIFT + AMDVI_PT_LEVEL_BITS * (level - 1u);
}

/* Index of `iova` in a level-`level` table (level 6 sees only bits 63:57). */
static inline unsigned amdvi_pt_index(uint64_t iova, unsigned level)
{
    unsigned shift = amdvi_pt_level_shift(level);

    return shift >= 64 ? 0 : (unsigned)((iova >> shift) & AMDVI_PT_INDEX_MASK);
}

/* ---- v1 (host) PDE/PTE, spec 2.2.3 "I/O Page Tables for Host Translations" ---- */
#define AMDVI_PTE_PR BIT(0)               /* present */
#define AMDVI_PTE_IGN_4_1 GENMASK(4, 1)   /* ignored */
#define AMDVI_PTE_A BIT(5)                /* accessed (HAD; not updated here) */
#define AMDVI_PTE_D BIT(6)                /* dirty, PTE only (HAD; not updated here) */
#define AMDVI_PTE_IGN_8_7 GENMASK(8, 7)   /* ignored */
#define AMDVI_PTE_NEXT_LEVEL GENMASK(11, 9)
#define AMDVI_PTE_ADDR GENMASK(51, 12)    /* next table or page frame */
#define AMDVI_PTE_RSVD GENMASK(58, 52)    /* must be zero */
#define AMDVI_PTE_U BIT(59)               /* PTE: ATS "untranslated only" (ignored here) */
#define AMDVI_PTE_FC BIT(60)              /* PTE: force coherent (no effect here) */
#define AMDVI_PTE_IR BIT(61)              /* read permission (ANDed down the walk) */
#define AMDVI_PTE_IW BIT(62)              /* write permission (ANDed down the walk) */
#define AMDVI_PTE_IGN_63 BIT(63)          /* ignored */

/* Next Level values with special meaning. 1..6 name the next table's level. */
#define AMDVI_NL_PAGE 0u  /* PTE: page of the default size of this level */
#define AMDVI_NL_SIZED 7u /* PTE: page size encoded in the address field */

/*
 * Next Level 7: the page size is 2^(z + 1) where z is the lowest zero bit at
 * or above bit 12 of the address field (bits 12..z-1 are ones), e.g. bit 12
 * zero -> 8 KiB, bits 20:12 = 0x0ff -> 2 MiB. Returns the log2 of the size,
 * or 0 when bits 51:12 are all ones (no encoding).
 */
static inline unsigned amdvi_pte_sized_shift(uint64_t pte)
{
    uint64_t ones = ~pte & AMDVI_PTE_ADDR;

    return ones ? (unsigned)__builtin_ctzll(ones) + 1u : 0u;
}

/* Address field of a Next Level 7 entry encoding a page of 2^shift bytes
 * (shift 13..52) at `base` (2^shift aligned), as Linux builds it. */
static inline uint64_t amdvi_pte_sized_addr(uint64_t base, unsigned shift)
{
    return (base | ((1ULL << (shift - 1u)) - 1u)) & AMDVI_PTE_ADDR & ~(1ULL << (shift - 1u));
}

/* ---- GCR3 table entries (8 bytes, indexed by PASID, 9 bits per level) ---- */
#define AMDVI_GCR3_V BIT(0)               /* valid */
#define AMDVI_GCR3_IGN_11_1 GENMASK(11, 1) /* ignored */
#define AMDVI_GCR3_ADDR GENMASK(51, 12)   /* guest CR3 (leaf level) or next GCR3 table */
#define AMDVI_GCR3_RSVD GENMASK(63, 52)   /* must be zero */
#define AMDVI_GCR3_MAX_GLX 2u             /* DTE GLX: 1..3 table levels (20-bit PASID) */
#define AMDVI_PASID_BITS 20u

/* ---- v2 (guest) x86-64 paging entries ---- */
#define AMDVI_GPTE_P BIT(0)
#define AMDVI_GPTE_RW BIT(1)
#define AMDVI_GPTE_US BIT(2)
#define AMDVI_GPTE_PWT BIT(3)
#define AMDVI_GPTE_PCD BIT(4)
#define AMDVI_GPTE_A BIT(5)
#define AMDVI_GPTE_D BIT(6)
#define AMDVI_GPTE_PS BIT(7)              /* levels 2, 3: large page; level 1: PAT */
#define AMDVI_GPTE_G BIT(8)
#define AMDVI_GPTE_AVL_11_9 GENMASK(11, 9)
#define AMDVI_GPTE_ADDR GENMASK(51, 12)   /* 52-bit guest-physical address width */
#define AMDVI_GPTE_AVL_62_52 GENMASK(62, 52) /* ignored */
#define AMDVI_GPTE_NX BIT(63)             /* ignored: no execute requests */
/* In a large-page entry bit 12 is PAT; bits (shift-1):13 must be zero. */
#define AMDVI_GPTE_LARGE_PAT BIT(12)

/* v2 paging depths (DTE GuestPagingMode: 0 = 4-level, 1 = 5-level). */
#define AMDVI_V2_LEVELS_4 4u
#define AMDVI_V2_LEVELS_5 5u
#define AMDVI_V2_MAX_LEAF_LEVEL 3u /* 1 GiB pages; PS at level 4/5 is reserved */

#endif
