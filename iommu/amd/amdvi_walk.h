/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi I/O page-table walkers (AMD IOMMU spec, pub. 48882).
 *
 * Pure functions: they read guest memory only through `mem`, allocate
 * nothing, log nothing and keep no state, so they are safe to call from any
 * thread concurrently (the caller owns locking of whatever `mem` reads and
 * logs/records faults itself, e.g. as IO_PAGE_FAULT or
 * PAGE_TAB_HARDWARE_ERROR events).
 *
 * Return value: an enum amdvi_walk_status (>= 0), never -errno. On
 * AMDVI_WALK_OK, r->gpa/page_size/read/write describe the translation; the
 * permissions are those of the whole walk (the caller checks them against
 * the access: NO_PERM is never returned by the walkers themselves, it is
 * there for callers that fold the check into one status). On any other
 * status, r->fault_pte_addr is the guest-physical address of the entry that
 * failed (or could not be read) and r->fault_level its level (1 = the last
 * level, 0 = the GCR3 table entry for v2 walks); gpa/page_size are 0.
 */
#ifndef SLUICE_IOMMU_AMD_AMDVI_WALK_H
#define SLUICE_IOMMU_AMD_AMDVI_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* Guest memory reader: store the little-endian 8-byte word at `gpa` (8-byte
 * aligned) in *val and return 0, or return -EFAULT if it is not RAM. */
struct amdvi_walk_mem {
    int (*read64)(void *opaque, uint64_t gpa, uint64_t *val);
    void *opaque;
};

enum amdvi_walk_status {
    AMDVI_WALK_OK = 0,
    AMDVI_WALK_NOT_PRESENT, /* a non-present entry, or an IOVA beyond the table's reach */
    AMDVI_WALK_NO_PERM,     /* (caller use) access not permitted */
    AMDVI_WALK_RSVD,        /* a must-be-zero bit set / illegal level encoding */
    AMDVI_WALK_MEM_ERROR,   /* a table entry is not in RAM */
};

struct amdvi_walk_result {
    uint64_t gpa;       /* translated address: page base | offset of iova */
    uint64_t page_size; /* bytes, power of two; iova's page is [iova & ~(size-1), +size) */
    bool read, write;   /* permissions granted by the whole walk */
    uint64_t fault_pte_addr;
    unsigned fault_level;
};

/* DTE Mode values: 0 = no translation (not accepted here), 1..6 levels. */
#define AMDVI_WALK_V1_MODE_MIN 1u
#define AMDVI_WALK_V1_MODE_MAX 6u

/*
 * Host ("v1") page tables, spec 2.2.3. `pt_root` is the DTE PTRoot (guest-
 * physical, low 12 bits ignored), `mode` the DTE Mode (1..6; anything else
 * -> RSVD with fault_level 0, fault_pte_addr pt_root). Rules:
 *   - IOVA bits at and above 12 + 9 * mode (none for mode 6) must be zero,
 *     else NOT_PRESENT at level `mode` (address beyond the table's reach);
 *   - PR=0 -> NOT_PRESENT; bits 58:52 set -> RSVD; bits 8:1, U, FC and 63
 *     are ignored (A/D are not updated);
 *   - Next Level (NL) 1..L-1 in a level-L entry points to a level-NL table;
 *     NL < L-1 skips levels, whose IOVA index bits must be zero, else
 *     NOT_PRESENT at the skipping entry; NL L..6 -> RSVD;
 *   - NL 0 is a page of the level's default size (4 KiB << 9 * (L-1));
 *     NL 7 is a page of 2^(z+1) bytes, z the lowest zero bit of the address
 *     field (amdvi_pte_sized_shift), which must be bigger than the level's
 *     default size and smaller than the next level's (1 < pages < 512
 *     entries), else RSVD; a page at level 6 -> RSVD (spec: the top level
 *     cannot hold translations);
 *   - read = AND of IR, write = AND of IW over every entry of the walk.
 * A table read that fails -> MEM_ERROR with fault_pte_addr = that entry.
 */
int amdvi_walk_v1(const struct amdvi_walk_mem *mem, uint64_t pt_root, unsigned mode, uint64_t iova,
                  struct amdvi_walk_result *r) __attribute__((warn_unused_result));

/*
 * Guest ("v2") page tables, spec 2.2.6. `gcr3_table` is the DTE GCR3 table
 * root (guest-physical; low 12 bits ignored) and `glx` the DTE GLX field
 * (DTE bits 57:56): the GCR3 table has glx + 1 levels of 512 8-byte entries,
 * each level indexed by 9 bits of the PASID, top bits first (glx 3 -> RSVD;
 * PASID bits above what glx + 1 levels index -> NOT_PRESENT). Entries:
 * AMDVI_GCR3_V (0 -> NOT_PRESENT), address 51:12, bits 63:52 must be zero
 * (else RSVD), bits 11:1 ignored.
 * The leaf entry for `pasid` holds the guest CR3: the root of an x86-64
 * 4-level table (amdvi_walk_v2) or `levels`-level table (amdvi_walk_v2_levels,
 * 4 or 5 from the DTE GuestPagingMode field, DTE bits 183:182: 0 = 4, 1 = 5).
 * Callers without PASID support pass pasid 0 (requests without a PASID prefix
 * use PASID 0's table when GIOV=1).
 *
 * Rules applied (documented choice, matching how Linux's io_pgtable_v2.c
 * builds tables: P|RW|U/S|A at every table level, leaf P|U/S|A|D [+RW][+PS]):
 *   - IOVA must be canonical for the depth (bits 63:47 resp. 63:56 equal
 *     to bit 47 resp. 56), else NOT_PRESENT at the top level;
 *   - P=0 anywhere -> NOT_PRESENT;
 *   - PS=1 at level 2 (2 MiB) or 3 (1 GiB) is a page whose address bits
 *     below the page size other than PAT (bit 12) must be zero, else RSVD;
 *     PS=1 at level 4/5 -> RSVD; at level 1 bit 7 is PAT (ignored);
 *   - DMA is a user-mode access: U/S=0 at any level -> read = write = false;
 *     R/W=0 at any level -> write = false; NX ignored (no execute requests);
 *   - A/D bits are not updated (tables built by Linux preset them).
 * fault_level is 1..5 for page-table entries and 0 for GCR3 table entries.
 */
int amdvi_walk_v2(const struct amdvi_walk_mem *mem, uint64_t gcr3_table, unsigned glx,
                  uint32_t pasid, uint64_t iova, struct amdvi_walk_result *r)
    __attribute__((warn_unused_result));

/* As amdvi_walk_v2 with a `levels`-deep (4 or 5; else RSVD) guest table. */
int amdvi_walk_v2_levels(const struct amdvi_walk_mem *mem, uint64_t gcr3_table, unsigned glx,
                         unsigned levels, uint32_t pasid, uint64_t iova,
                         struct amdvi_walk_result *r) __attribute__((warn_unused_result));

/*
 * Range enumeration (amdvi_walk_range.c): every leaf translation of a table
 * whose 4 KiB pages intersect [first, last] (inclusive), in ascending IOVA
 * order, non-overlapping, each reported once through `emit`:
 *     emit(ctx, iova, size, gpa, read, write)
 * with iova/gpa the start of the translated block and size its bytes (a
 * power of two >= 4 KiB; iova + size does not wrap). A leaf page is emitted
 * whole, so a block may reach outside [first, last]; a next-level-7 page
 * replicated over several entries is emitted whole when all its entries in
 * the table agree, else as one block per entry (what the single walk gives
 * for each). For every address the single-address walker (same arguments)
 * translates with AMDVI_WALK_OK, exactly one emitted block covers it with
 * the same gpa and permissions (which may both be false); nothing else is
 * emitted. Entries the single walk would fault on (not present, reserved
 * bits, bad encodings, skipped-level index bits, tables outside RAM) are
 * skipped silently.
 *
 * Bounded work for hostile tables (a table may be referenced from many
 * entries): at most AMDVI_WALK_RANGE_MAX_READS entry reads and
 * AMDVI_WALK_RANGE_MAX_EMIT blocks per call, else -E2BIG (what was emitted
 * so far stays emitted). Returns 0, -E2BIG, or the first negative value
 * `emit` returned (the enumeration stops there). Pure like the walkers.
 */
#define AMDVI_WALK_RANGE_MAX_READS (4u << 20)
#define AMDVI_WALK_RANGE_MAX_EMIT (1u << 20)

typedef int (*amdvi_walk_emit_fn)(void *ctx, uint64_t iova, uint64_t size, uint64_t gpa,
                                  bool read, bool write);

/* Host (v1) tables, rules as amdvi_walk_v1. */
int amdvi_walk_range_v1(const struct amdvi_walk_mem *mem, uint64_t pt_root, unsigned mode,
                        uint64_t first, uint64_t last, amdvi_walk_emit_fn emit, void *ctx)
    __attribute__((warn_unused_result));

/* Guest (v2) tables of `pasid`, `levels` 4 or 5, rules as
 * amdvi_walk_v2_levels. Both canonical halves are enumerated (the upper half
 * as the sign-extended IOVAs the single walker accepts). */
int amdvi_walk_range_v2(const struct amdvi_walk_mem *mem, uint64_t gcr3_table, unsigned glx,
                        unsigned levels, uint32_t pasid, uint64_t first, uint64_t last,
                        amdvi_walk_emit_fn emit, void *ctx) __attribute__((warn_unused_result));

#endif
