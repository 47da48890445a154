/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the AMD IOMMU model (iommu/amd/, public API
 * amdvi.h only): the fuzz input is the guest driver. It owns the fake guest
 * RAM (device table, command buffer, event log, v1/v2 page tables and GCR3
 * tables all live there) and drives the model through its MMIO callbacks,
 * PCI config space (the MSI capability) and the DMA translator.
 *
 * Input layout (little-endian):
 *   bytes 0..3   header: byte 0 flags (bit 0 guest tables, bit 1 NpCache,
 *                bits 3:2 IOTLB size: default / 4 / 16 / 64 entries),
 *                byte 1 number of operations (0..FUZZ_MAX_OPS), 2..3 0
 *   then         that many FUZZ_OP_SIZE-byte operations (struct fuzz_op)
 *   then         the initial image of RAM region 0 (zero-padded)
 *
 * Guest RAM: region 0 is FUZZ_RAM0_SIZE bytes at gpa 0, region 1
 * FUZZ_RAM1_SIZE bytes at FUZZ_RAM1_GPA (so the model sees a hole). Both are
 * heap buffers of exactly that size: any access of the model outside them is
 * an ASan report.
 *
 * Operations are raw register accesses and RAM pokes, plus "driver helper"
 * operations that do what Linux's amd_iommu driver does in several steps
 * (program and enable the tables, queue one command and kick the tail,
 * write a DTE, map a page in v1 or v2 tables built from a bump allocator),
 * so the fuzzer reaches deep states from few bytes. Invariants checked (a
 * failure is __builtin_trap(), i.e. a finding):
 *   - translate returns 0, -EFAULT or -EPERM; on success len >= 1,
 *     gpa + len does not wrap, the page offset is kept (gpa - iova is a
 *     multiple of the smallest power of two >= len), a remapped result
 *     (gpa != iova) spans at most AMDVI_FUZZ_MAX_PAGE bytes, and with
 *     IOMMUEn clear the result is the identity up to 2^64;
 *   - the same successful translation asked again at once (nothing changed
 *     in between: an IOTLB hit now) gives the same gpa and len;
 *   - register reads show only implemented bits, EFR/EFR2 as the model
 *     reports them, unnamed offsets read 0;
 *   - commands run synchronously: while CmdBufRun is set, head == tail;
 *   - MSIs reach the sink only while the MSI capability is enabled, with
 *     the programmed message and the IOMMU's requester id;
 *   - the translation counter counts exactly the translations asked;
 *   - map listeners (requesters 00:02.0, 00:02.1, 00:06.0, 00:08.0) get
 *     well-formed `want` arrays (iommu/map_notify.h): sorted, disjoint,
 *     4 KiB multiples that do not wrap, each touching [first, last], inside
 *     one RAM region, granting read or write; and amdvi_map_snapshot of a
 *     listener's requester is well-formed too.
 */
#include <endian.h>
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/irq.h"
#include "devices/pci/pci.h"
#include "iommu/amd/amdvi.h"
#include "iommu/amd/amdvi_ir.h"
#include "iommu/amd/amdvi_pgtable.h"
#include "iommu/amd/amdvi_regs.h"
#include "iommu/dma.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define FUZZ_HDR_SIZE 4u
#define FUZZ_OP_SIZE 24u
#define FUZZ_MAX_OPS 255u /* the count is one byte */

#define FUZZ_FLAG_GUEST_TABLES 0x01u
#define FUZZ_FLAG_NPCACHE 0x02u
#define FUZZ_FLAG_IOTLB_SHIFT 2u
#define FUZZ_FLAG_IOTLB_MASK 0x3u
#define FUZZ_FLAG_INTREMAP 0x10u

#define FUZZ_RAM0_GPA 0x0ULL
#define FUZZ_RAM0_SIZE 0x100000ULL          /* 1 MiB */
#define FUZZ_RAM0_PAGES (FUZZ_RAM0_SIZE / AMDVI_PT_PAGE_SIZE)
#define FUZZ_RAM1_GPA 0x40000000ULL
#define FUZZ_RAM1_SIZE 0x10000ULL           /* 64 KiB */
#define FUZZ_NRAM 2u
/* Page tables built by the map helpers come from the upper half of region 0. */
#define FUZZ_POOL_START 0x80000ULL
#define FUZZ_POOL_END FUZZ_RAM0_SIZE

/* The largest page a v1 table encodes: Next Level 7 at level 5 (< 2^57). */
#define AMDVI_FUZZ_MAX_PAGE (1ULL << 56)

/* One operation: kind selects the handler, the rest are its arguments. */
struct fuzz_op {
    uint8_t kind;
    uint8_t sub;
    uint16_t a;
    uint32_t b;
    uint64_t x;
    uint64_t y;
};

enum fuzz_op_kind {
    OP_MMIO_WRITE,
    OP_MMIO_READ,
    OP_POKE,
    OP_TRANSLATE,
    OP_COMMAND,
    OP_DTE,
    OP_MAP_V1,
    OP_MAP_V2,
    OP_SETUP,
    OP_EVENT_DRAIN,
    OP_MSI,
    OP_STATS,
    OP_REMAP,
    OP_COUNT
};

/* Registers the fuzzer aims at most (the rest of the window is reachable too). */
static const uint16_t fuzz_regs[] = {
    AMDVI_MMIO_DEV_TABLE_BASE, AMDVI_MMIO_CMD_BUF_BASE, AMDVI_MMIO_EVENT_LOG_BASE,
    AMDVI_MMIO_CONTROL,        AMDVI_MMIO_EXCL_BASE,    AMDVI_MMIO_EXCL_LIMIT,
    AMDVI_MMIO_EFR,            AMDVI_MMIO_HW_EVENT_HI,  AMDVI_MMIO_HW_EVENT_LO,
    AMDVI_MMIO_HW_EVENT_STATUS, AMDVI_MMIO_EFR2,        AMDVI_MMIO_CMD_HEAD,
    AMDVI_MMIO_CMD_TAIL,       AMDVI_MMIO_EVENT_HEAD,   AMDVI_MMIO_EVENT_TAIL,
    AMDVI_MMIO_STATUS,         AMDVI_MMIO_PPR_LOG_BASE, AMDVI_MMIO_GA_LOG_BASE,
    AMDVI_MMIO_PPR_HEAD,       AMDVI_MMIO_GA_TAIL,
};
#define FUZZ_NREGS (sizeof(fuzz_regs) / sizeof(fuzz_regs[0]))

/* Every register offset the spec header names (all others must read 0). */
static const uint16_t named_regs[] = {
    AMDVI_MMIO_DEV_TABLE_BASE, AMDVI_MMIO_CMD_BUF_BASE,  AMDVI_MMIO_EVENT_LOG_BASE,
    AMDVI_MMIO_CONTROL,        AMDVI_MMIO_EXCL_BASE,     AMDVI_MMIO_EXCL_LIMIT,
    AMDVI_MMIO_EFR,            AMDVI_MMIO_PPR_LOG_BASE,  AMDVI_MMIO_HW_EVENT_HI,
    AMDVI_MMIO_HW_EVENT_LO,    AMDVI_MMIO_HW_EVENT_STATUS, AMDVI_MMIO_GA_LOG_BASE,
    AMDVI_MMIO_GA_LOG_TAIL_ADDR, AMDVI_MMIO_INTCAPXT_EVT, AMDVI_MMIO_INTCAPXT_PPR,
    AMDVI_MMIO_INTCAPXT_GALOG, AMDVI_MMIO_EFR2,          AMDVI_MMIO_CMD_HEAD,
    AMDVI_MMIO_CMD_TAIL,       AMDVI_MMIO_EVENT_HEAD,    AMDVI_MMIO_EVENT_TAIL,
    AMDVI_MMIO_STATUS,         AMDVI_MMIO_PPR_HEAD,      AMDVI_MMIO_PPR_TAIL,
    AMDVI_MMIO_GA_HEAD,        AMDVI_MMIO_GA_TAIL,
};

/* What the recording MSI sink saw. */
struct fuzz_sink {
    unsigned count;
    uint16_t source;
    uint64_t addr;
    uint32_t data;
};

struct fuzz {
    struct amdvi *a;
    bool guest_tables;
    bool intremap;
    uint64_t remaps;      /* amdvi_ir_translate calls */
    struct dma_ram_region ram[FUZZ_NRAM];
    struct dma_translator tr;
    struct fuzz_sink sink;
    bool msi_enabled;
    uint64_t msi_addr;
    uint32_t msi_data;
    uint64_t translations;
    uint64_t pool_next;
    uint64_t syncs;       /* listener sync() calls */
};

/* Requesters with a map listener (the corpus uses these devids). */
static const uint16_t listener_rids[] = { 0x10, 0x11, 0x30, 0x40 };
#define FUZZ_NLISTENERS (sizeof(listener_rids) / sizeof(listener_rids[0]))

static uint8_t *ram0, *ram1;
/* FUZZ_AMDVI_TRACE set: print every translation and the final statistics
 * (to check what a seed or a reproducer does). */
static bool trace;

#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "fuzz_amdvi: invariant failed at %s:%d: %s\n", __FILE__,       \
                    __LINE__, #cond);                                                     \
            __builtin_trap();                                                             \
        }                                                                                 \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_LEVEL_ERROR); /* guest-triggered warnings are expected */
    trace = getenv("FUZZ_AMDVI_TRACE") != NULL;
    ram0 = malloc(FUZZ_RAM0_SIZE);
    ram1 = malloc(FUZZ_RAM1_SIZE);
    if (!ram0 || !ram1) {
        perror("fuzz_amdvi: guest RAM");
        abort();
    }
    return 0;
}

/* ---- guest RAM as the driver sees it ---------------------------------------- */

/* Host pointer for [gpa, gpa + len) if it lies inside one region, else NULL. */
static uint8_t *ram_ptr(struct fuzz *f, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < FUZZ_NRAM; i++) {
        const struct dma_ram_region *r = &f->ram[i];
        if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
            return r->host + (gpa - r->gpa);
    }
    return NULL;
}

static void ram_w64(struct fuzz *f, uint64_t gpa, uint64_t val)
{
    uint8_t *p = ram_ptr(f, gpa, sizeof(val));

    val = htole64(val);
    if (p)
        memcpy(p, &val, sizeof(val));
}

/* Reads outside RAM return 0 (a non-present entry for the helpers). */
static uint64_t ram_r64(struct fuzz *f, uint64_t gpa)
{
    uint8_t *p = ram_ptr(f, gpa, sizeof(uint64_t));
    uint64_t val = 0;

    if (p)
        memcpy(&val, p, sizeof(val));
    return le64toh(val);
}

/* Page `n` of region 0 (the helpers' way of naming a table). */
static uint64_t page_gpa(uint64_t n)
{
    return FUZZ_RAM0_GPA + (n % FUZZ_RAM0_PAGES) * AMDVI_PT_PAGE_SIZE;
}

/* A zeroed page-table page from the pool (wraps: old tables get reused). */
static uint64_t pool_alloc(struct fuzz *f)
{
    if (f->pool_next < FUZZ_POOL_START || f->pool_next >= FUZZ_POOL_END)
        f->pool_next = FUZZ_POOL_START;
    uint64_t p = f->pool_next;
    f->pool_next += AMDVI_PT_PAGE_SIZE;
    memset(ram_ptr(f, p, AMDVI_PT_PAGE_SIZE), 0, AMDVI_PT_PAGE_SIZE);
    return p;
}

/* ---- the recording sink ----------------------------------------------------- */

static int sink_send_msi(void *opaque, uint16_t source, uint64_t addr, uint32_t data)
{
    struct fuzz *f = opaque;

    FUZZ_CHECK(f->msi_enabled);
    FUZZ_CHECK(source == pci_requester_id(amdvi_pci_device(f->a)));
    FUZZ_CHECK(addr == f->msi_addr && data == f->msi_data);
    f->sink.count++;
    f->sink.source = source;
    f->sink.addr = addr;
    f->sink.data = data;
    return 0;
}

static int sink_set_route(void *opaque, unsigned gsi, bool enabled, uint16_t source,
                          uint64_t addr, uint32_t data)
{
    (void)opaque, (void)gsi, (void)enabled, (void)source, (void)addr, (void)data;
    return -ENOSYS;
}

/* ---- MMIO ----------------------------------------------------------------------- */

static uint64_t mmio_read(struct fuzz *f, uint64_t off, unsigned size)
{
    uint64_t v = 0;

    amdvi_mmio_ops.read(f->a, off, &v, size);
    return le64toh(v);
}

static void mmio_write(struct fuzz *f, uint64_t off, uint64_t val, unsigned size)
{
    val = htole64(val);
    amdvi_mmio_ops.write(f->a, off, &val, size);
}

static bool is_named_reg(uint64_t reg)
{
    for (size_t i = 0; i < sizeof(named_regs) / sizeof(named_regs[0]); i++)
        if (named_regs[i] == reg)
            return true;
    return false;
}

/* Bits a register may show (UINT64_MAX: anything). */
static uint64_t reg_valid_bits(const struct fuzz *f, uint64_t reg)
{
    switch (reg) {
    case AMDVI_MMIO_DEV_TABLE_BASE:
        return AMDVI_DEV_TABLE_BASE_ADDR | AMDVI_DEV_TABLE_SIZE;
    case AMDVI_MMIO_CMD_BUF_BASE:
    case AMDVI_MMIO_EVENT_LOG_BASE:
        return AMDVI_LOG_BASE_ADDR | AMDVI_LOG_LEN;
    case AMDVI_MMIO_CONTROL:
        return AMDVI_CTRL_WRITABLE | (f->guest_tables ? AMDVI_CTRL_GT_EN : 0) |
               (f->intremap ? AMDVI_CTRL_IR_WRITABLE : 0);
    case AMDVI_MMIO_EXCL_BASE:
        return AMDVI_EXCL_ADDR | AMDVI_EXCL_BASE_EX_EN | AMDVI_EXCL_BASE_ALLOW;
    case AMDVI_MMIO_EXCL_LIMIT:
        return AMDVI_EXCL_ADDR;
    case AMDVI_MMIO_CMD_HEAD:
    case AMDVI_MMIO_CMD_TAIL:
    case AMDVI_MMIO_EVENT_HEAD:
    case AMDVI_MMIO_EVENT_TAIL:
        return AMDVI_LOG_PTR;
    case AMDVI_MMIO_STATUS:
        return AMDVI_STATUS_W1C | AMDVI_STATUS_EVENT_LOG_RUN | AMDVI_STATUS_CMDBUF_RUN;
    default:
        return UINT64_MAX;
    }
}

/* Check a read of `size` bytes at `off` (naturally aligned) returning `val`. */
static void check_read(struct fuzz *f, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t reg = off & ~(uint64_t)(AMDVI_MMIO_REG_SIZE - 1);
    unsigned shift = (unsigned)(off - reg) * 8u;
    uint64_t lane = size == AMDVI_MMIO_REG_SIZE ? UINT64_MAX : (BIT(size * 8u) - 1);

    if (!is_named_reg(reg)) {
        FUZZ_CHECK(val == 0);
        return;
    }
    FUZZ_CHECK((val & ~((reg_valid_bits(f, reg) >> shift) & lane)) == 0);
    if (reg == AMDVI_MMIO_EFR)
        FUZZ_CHECK(val == ((amdvi_efr(f->a) >> shift) & lane));
    if (reg == AMDVI_MMIO_EFR2)
        FUZZ_CHECK(val == ((amdvi_efr2(f->a) >> shift) & lane));
}

/* Bytes of the buffer a base register describes (0: reserved length). */
static uint64_t log_bytes(uint64_t base_reg)
{
    unsigned len = (unsigned)FIELD_GET(AMDVI_LOG_LEN, base_reg);

    return len < AMDVI_LOG_LEN_MIN ? 0 : (1ULL << len) * AMDVI_CMD_ENTRY_SIZE;
}

/* Commands run synchronously: a running buffer has no pending command. */
static void check_cmd_drained(struct fuzz *f)
{
    uint64_t status = mmio_read(f, AMDVI_MMIO_STATUS, 8);
    uint64_t bytes = log_bytes(mmio_read(f, AMDVI_MMIO_CMD_BUF_BASE, 8));

    if (!(status & AMDVI_STATUS_CMDBUF_RUN) || !bytes)
        return;
    uint64_t head = mmio_read(f, AMDVI_MMIO_CMD_HEAD, 8) & AMDVI_LOG_PTR;
    uint64_t tail = mmio_read(f, AMDVI_MMIO_CMD_TAIL, 8) & AMDVI_LOG_PTR;
    FUZZ_CHECK(head % bytes == tail % bytes);
}

/* sub bits 6:5: access size 8, 4, 2 or 1 bytes (naturally aligned, as the
 * bus guarantees); bit 7: any offset in the window (a), else one of
 * fuzz_regs (bits 4:0) plus the byte offset a % 8. */
static void op_offset(const struct fuzz_op *op, uint64_t *off, unsigned *size)
{
    *size = AMDVI_MMIO_REG_SIZE >> ((op->sub >> 5) & 3u);
    if (op->sub & 0x80)
        *off = op->a % AMDVI_MMIO_SIZE;
    else
        *off = fuzz_regs[(op->sub & 0x1fu) % FUZZ_NREGS] + op->a % AMDVI_MMIO_REG_SIZE;
    *off &= ~(uint64_t)(*size - 1);
}

static void op_mmio_write(struct fuzz *f, const struct fuzz_op *op)
{
    uint64_t off;
    unsigned size;

    op_offset(op, &off, &size);
    mmio_write(f, off, op->x, size);
}

static void op_mmio_read(struct fuzz *f, const struct fuzz_op *op)
{
    uint64_t off;
    unsigned size;

    op_offset(op, &off, &size);
    check_read(f, off, size, mmio_read(f, off, size));
}

/* sub bit 0: region 1; bit 1: also y at +8. */
static void op_poke(struct fuzz *f, const struct fuzz_op *op)
{
    const struct dma_ram_region *r = &f->ram[op->sub & 1u];
    uint64_t gpa = r->gpa + ((uint64_t)op->b * sizeof(uint64_t)) % r->size;

    ram_w64(f, gpa, op->x);
    if (op->sub & 2u)
        ram_w64(f, gpa + sizeof(uint64_t), op->y);
}

/* ---- translation --------------------------------------------------------------- */

static int translate(struct fuzz *f, uint16_t rid, uint64_t iova, bool write, uint64_t *gpa,
                     uint64_t *len)
{
    f->translations++;
    return f->tr.translate(f->tr.opaque, rid, iova, write, gpa, len);
}

static void check_translation(uint64_t iova, uint64_t gpa, uint64_t len, bool iommu_en)
{
    FUZZ_CHECK(len >= 1);
    FUZZ_CHECK(len - 1 <= UINT64_MAX - gpa);
    /* the offset inside the page is kept: the page is a power of two >= len */
    unsigned k = 64u - (unsigned)__builtin_clzll(len);   /* 2^k > len */
    if (len == (1ULL << (k - 1)))
        k--;
    if (k < 64)
        FUZZ_CHECK(((gpa - iova) & ((1ULL << k) - 1)) == 0);
    if (gpa != iova)
        FUZZ_CHECK(len <= AMDVI_FUZZ_MAX_PAGE);
    if (!iommu_en) {
        FUZZ_CHECK(gpa == iova);
        FUZZ_CHECK(len == (iova ? 0 - iova : UINT64_MAX));
    }
}

/* IOVA shapes (sub bits 2:1): raw, 32-bit, low 2 MiB, 48-bit. */
static uint64_t op_iova(const struct fuzz_op *op)
{
    switch ((op->sub >> 1) & 3u) {
    case 1:
        return op->x & 0xffffffffULL;
    case 2:
        return op->x & 0x1fffffULL;
    case 3:
        return op->x & GENMASK(47, 0);
    default:
        return op->x;
    }
}

/* sub bit 0: write; bit 3: do not ask twice. */
static void op_translate(struct fuzz *f, const struct fuzz_op *op)
{
    bool write = op->sub & 1u;
    uint64_t iova = op_iova(op), gpa = 0, len = 0, gpa2 = 0, len2 = 0;
    bool iommu_en = mmio_read(f, AMDVI_MMIO_CONTROL, 8) & AMDVI_CTRL_IOMMU_EN;
    int ret = translate(f, op->a, iova, write, &gpa, &len);

    if (trace)
        fprintf(stderr, "translate rid %04x iova %#llx %s -> %d gpa %#llx len %#llx\n", op->a,
                (unsigned long long)iova, write ? "w" : "r", ret, (unsigned long long)gpa,
                (unsigned long long)len);
    FUZZ_CHECK(ret == 0 || ret == -EFAULT || ret == -EPERM);
    if (ret)
        return;
    check_translation(iova, gpa, len, iommu_en);
    if (op->sub & 8u)
        return;
    /* nothing changed (a success logs no event): same answer, from the IOTLB now */
    ret = translate(f, op->a, iova, write, &gpa2, &len2);
    FUZZ_CHECK(ret == 0);
    FUZZ_CHECK(gpa2 == gpa && len2 == len);
}

/* Remap one MSI from requester op->a: the answer is one of the three results;
 * pass-through leaves the message alone; a remapped message is an MSI. */
static void op_remap(struct fuzz *f, const struct fuzz_op *op)
{
    uint64_t addr = MSI_ADDR_BASE | (op->x & 0xffff0ULL), out_addr = 0;
    uint32_t data = op->b, out_data = 0;
    enum amdvi_ir_result r = amdvi_ir_translate(f->a, op->a, addr, data, &out_addr, &out_data);
    f->remaps++;

    FUZZ_CHECK(r == AMDVI_IR_REMAPPED || r == AMDVI_IR_PASSTHROUGH || r == AMDVI_IR_BLOCKED);
    if (r == AMDVI_IR_PASSTHROUGH)
        FUZZ_CHECK(out_addr == addr && out_data == data);
    if (r == AMDVI_IR_REMAPPED)
        FUZZ_CHECK((out_addr & 0xfff00000ULL) == MSI_ADDR_BASE);
}

/* ---- driver helpers --------------------------------------------------------------- */

/* Queue one command at the tail and kick it. sub bit 7 clear: the opcode is
 * sub % 9 (0 is invalid) in place of q0's. */
static void op_command(struct fuzz *f, const struct fuzz_op *op)
{
    uint64_t base_reg = mmio_read(f, AMDVI_MMIO_CMD_BUF_BASE, 8);
    uint64_t bytes = log_bytes(base_reg);
    uint64_t q0 = op->x, q1 = op->y;

    if (!(op->sub & 0x80))
        q0 = (q0 & ~AMDVI_CMD_OPCODE) | FIELD_PREP(AMDVI_CMD_OPCODE, op->sub % 9u);
    if (!bytes)
        return;
    uint64_t tail = (mmio_read(f, AMDVI_MMIO_CMD_TAIL, 8) & AMDVI_LOG_PTR) % bytes;
    uint64_t at = (base_reg & AMDVI_CMD_BUF_BASE_ADDR) + tail;
    ram_w64(f, at, q0);
    ram_w64(f, at + sizeof(uint64_t), q1);
    mmio_write(f, AMDVI_MMIO_CMD_TAIL, (tail + AMDVI_CMD_ENTRY_SIZE) % bytes, 8);
}

/* Write the DTE of devid a: q0 = x, q1 = y. sub bit 0: V|TV; bit 1: clear
 * reserved bits; bit 2: v1 (PTRoot = page b, Mode = 1 + bits 6:4 % 6, IR|IW);
 * bit 3: v2 (GV|GIOV, Mode 0, GLX 0, GCR3 root = page b). */
static void op_dte(struct fuzz *f, const struct fuzz_op *op)
{
    uint64_t dt = mmio_read(f, AMDVI_MMIO_DEV_TABLE_BASE, 8) & AMDVI_DEV_TABLE_BASE_ADDR;
    uint64_t at = dt + (uint64_t)op->a * AMDVI_DTE_SIZE;
    uint64_t q0 = op->x, q1 = op->y, root = page_gpa(op->b);

    if (op->sub & 1u)
        q0 |= AMDVI_DTE_V | AMDVI_DTE_TV;
    if (op->sub & 2u)
        q0 &= ~(AMDVI_DTE_RSVD0_6_2 | AMDVI_DTE_HAD | AMDVI_DTE_RSVD0_63);
    if (op->sub & 4u) {
        q0 &= ~(AMDVI_DTE_PT_ROOT | AMDVI_DTE_MODE | AMDVI_DTE_GV);
        q0 |= root | FIELD_PREP(AMDVI_DTE_MODE, 1u + ((op->sub >> 4) & 7u) % 6u) | AMDVI_DTE_IR |
              AMDVI_DTE_IW;
    }
    if (op->sub & 8u) {
        q0 &= ~(AMDVI_DTE_MODE | AMDVI_DTE_GLX | AMDVI_DTE_GCR3_A);
        q0 |= AMDVI_DTE_GV | AMDVI_DTE_GIOV | AMDVI_DTE_IR | AMDVI_DTE_IW |
              FIELD_PREP(AMDVI_DTE_GCR3_A, root >> AMDVI_GCR3_A_SHIFT);
        q1 &= ~(AMDVI_DTE_GCR3_B | AMDVI_DTE_GCR3_C);
        q1 |= FIELD_PREP(AMDVI_DTE_GCR3_B, root >> AMDVI_GCR3_B_SHIFT) |
              FIELD_PREP(AMDVI_DTE_GCR3_C, root >> AMDVI_GCR3_C_SHIFT);
    }
    ram_w64(f, at, q0);
    ram_w64(f, at + 8, q1);
    ram_w64(f, at + 16, 0);
    ram_w64(f, at + 24, 0);
}

/* The table an entry points to, allocating one (written with `dir_bits`)
 * unless the entry is present and points into RAM. */
static uint64_t next_table(struct fuzz *f, uint64_t slot, uint64_t present, uint64_t dir_bits,
                           uint64_t addr_mask)
{
    uint64_t e = ram_r64(f, slot);

    if ((e & present) && ram_ptr(f, e & addr_mask, AMDVI_PT_PAGE_SIZE) &&
        (e & dir_bits) == dir_bits)
        return e & addr_mask;
    uint64_t t = pool_alloc(f);
    ram_w64(f, slot, t | dir_bits);
    return t;
}

/* Map iova x -> gpa y in the v1 table rooted at page b. sub bits 2:0 mode
 * (1 + % 6), 4:3 leaf level (1 + % mode, at most 5), 5 IR, 6 IW, 7 encode
 * the page with Next Level 7 (twice the level's default size). */
static void op_map_v1(struct fuzz *f, const struct fuzz_op *op)
{
    unsigned mode = 1u + (op->sub & 7u) % AMDVI_PT_MAX_LEVELS;
    unsigned leaf = 1u + ((op->sub >> 3) & 3u) % mode;
    uint64_t table = page_gpa(op->b), iova = op->x;

    if (leaf >= AMDVI_PT_MAX_LEVELS)
        leaf = AMDVI_PT_MAX_LEVELS - 1u;
    for (unsigned level = mode; level > leaf; level--) {
        uint64_t slot = table + amdvi_pt_index(iova, level) * AMDVI_PT_ENTRY_SIZE;
        uint64_t dir = AMDVI_PTE_PR | FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, level - 1u) |
                       AMDVI_PTE_IR | AMDVI_PTE_IW;
        table = next_table(f, slot, AMDVI_PTE_PR, dir, AMDVI_PTE_ADDR);
    }
    unsigned shift = amdvi_pt_level_shift(leaf);
    uint64_t pte = AMDVI_PTE_PR | ((op->sub & 0x20) ? AMDVI_PTE_IR : 0) |
                   ((op->sub & 0x40) ? AMDVI_PTE_IW : 0);
    if (op->sub & 0x80) {
        shift++;
        pte |= FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, AMDVI_NL_SIZED) |
               amdvi_pte_sized_addr(op->y & ~((1ULL << shift) - 1), shift);
    } else {
        pte |= op->y & AMDVI_PTE_ADDR & ~((1ULL << shift) - 1);
    }
    /* a Next Level 7 page is repeated in every entry it covers (as Linux does) */
    unsigned copies = 1u << (shift - amdvi_pt_level_shift(leaf));
    unsigned first = amdvi_pt_index(iova, leaf) & ~(copies - 1u);
    for (unsigned i = 0; i < copies; i++)
        ram_w64(f, table + (first + i) * AMDVI_PT_ENTRY_SIZE, pte);
}

/* Map iova x -> gpa y in the v2 (x86-64, 4-level) table of PASID 0 whose
 * one-level GCR3 table is page b. sub bits 1:0 leaf level (1..3), bit 2
 * writable, bit 3 user (DMA needs it), bit 4 large-page PAT bit. */
static void op_map_v2(struct fuzz *f, const struct fuzz_op *op)
{
    const uint64_t dir = AMDVI_GPTE_P | AMDVI_GPTE_RW | AMDVI_GPTE_US | AMDVI_GPTE_A;
    unsigned leaf = 1u + (op->sub & 3u) % AMDVI_V2_MAX_LEAF_LEVEL;
    uint64_t gcr3 = page_gpa(op->b), iova = op->x;
    uint64_t table = next_table(f, gcr3, AMDVI_GCR3_V, AMDVI_GCR3_V, AMDVI_GCR3_ADDR);

    for (unsigned level = AMDVI_V2_LEVELS_4; level > leaf; level--) {
        uint64_t slot = table + amdvi_pt_index(iova, level) * AMDVI_PT_ENTRY_SIZE;
        table = next_table(f, slot, AMDVI_GPTE_P, dir, AMDVI_GPTE_ADDR);
    }
    unsigned shift = amdvi_pt_level_shift(leaf);
    uint64_t pte = (op->y & AMDVI_GPTE_ADDR & ~((1ULL << shift) - 1)) | AMDVI_GPTE_P |
                   AMDVI_GPTE_A | AMDVI_GPTE_D | ((op->sub & 4u) ? AMDVI_GPTE_RW : 0) |
                   ((op->sub & 8u) ? AMDVI_GPTE_US : 0);
    if (leaf > 1u)
        pte |= AMDVI_GPTE_PS | ((op->sub & 0x10) ? AMDVI_GPTE_LARGE_PAT : 0);
    ram_w64(f, table + amdvi_pt_index(iova, leaf) * AMDVI_PT_ENTRY_SIZE, pte);
}

/* What Linux does at init: device table at page b (size field a), command
 * buffer at page x, event log at page y, pointers zeroed, then Control.
 * sub bit 0: 512-entry buffers (else 256); 1: event/completion interrupts;
 * 2: GTEn; 3: leave the IOMMU disabled; 4: no event log. */
static void op_setup(struct fuzz *f, const struct fuzz_op *op)
{
    uint64_t len = AMDVI_LOG_LEN_MIN + (op->sub & 1u);
    uint64_t ctrl = AMDVI_CTRL_CMDBUF_EN | AMDVI_CTRL_COHERENT;

    mmio_write(f, AMDVI_MMIO_CONTROL, 0, 8);
    mmio_write(f, AMDVI_MMIO_DEV_TABLE_BASE,
               page_gpa(op->b) | FIELD_PREP(AMDVI_DEV_TABLE_SIZE, op->a), 8);
    mmio_write(f, AMDVI_MMIO_CMD_BUF_BASE, page_gpa(op->x) | FIELD_PREP(AMDVI_LOG_LEN, len), 8);
    mmio_write(f, AMDVI_MMIO_EVENT_LOG_BASE, page_gpa(op->y) | FIELD_PREP(AMDVI_LOG_LEN, len), 8);
    mmio_write(f, AMDVI_MMIO_CMD_HEAD, 0, 8);
    mmio_write(f, AMDVI_MMIO_CMD_TAIL, 0, 8);
    mmio_write(f, AMDVI_MMIO_EVENT_HEAD, 0, 8);
    mmio_write(f, AMDVI_MMIO_EVENT_TAIL, 0, 8);
    if (op->sub & 2u)
        ctrl |= AMDVI_CTRL_EVENT_INT_EN | AMDVI_CTRL_COM_WAIT_INT_EN;
    if (op->sub & 4u)
        ctrl |= AMDVI_CTRL_GT_EN;
    if (!(op->sub & 8u))
        ctrl |= AMDVI_CTRL_IOMMU_EN;
    if (!(op->sub & 0x10))
        ctrl |= AMDVI_CTRL_EVENT_LOG_EN;
    mmio_write(f, AMDVI_MMIO_CONTROL, ctrl, 8);
}

/* Consume every event (head = tail). sub bit 0: clear the status bits
 * (W1C); bit 1: restart a stopped log the way Linux does. */
static void op_event_drain(struct fuzz *f, const struct fuzz_op *op)
{
    mmio_write(f, AMDVI_MMIO_EVENT_HEAD, mmio_read(f, AMDVI_MMIO_EVENT_TAIL, 8), 8);
    if (op->sub & 1u)
        mmio_write(f, AMDVI_MMIO_STATUS, AMDVI_STATUS_W1C, 8);
    if (op->sub & 2u) {
        uint64_t ctrl = mmio_read(f, AMDVI_MMIO_CONTROL, 8);
        mmio_write(f, AMDVI_MMIO_CONTROL, ctrl & ~AMDVI_CTRL_EVENT_LOG_EN, 8);
        mmio_write(f, AMDVI_MMIO_STATUS, AMDVI_STATUS_EVENT_OVERFLOW, 8);
        mmio_write(f, AMDVI_MMIO_CONTROL, ctrl | AMDVI_CTRL_EVENT_LOG_EN, 8);
    }
}

/* Program the MSI capability: address from x, data from b; sub bit 0 enables. */
static void op_msi(struct fuzz *f, const struct fuzz_op *op)
{
    struct pci_device *d = amdvi_pci_device(f->a);
    unsigned cap = pci_find_capability(d, PCI_CAP_ID_MSI);
    uint32_t lo = (uint32_t)MSI_ADDR_BASE | ((uint32_t)op->x & 0xffffcu), hi = 0;
    uint16_t data = (uint16_t)op->b, flags = (op->sub & 1u) ? PCI_MSI_FLAGS_ENABLE : 0;

    FUZZ_CHECK(cap != 0);
    pci_config_write(d, cap + PCI_MSI_ADDRESS_LO, &lo, sizeof(lo));
    pci_config_write(d, cap + PCI_MSI_ADDRESS_HI, &hi, sizeof(hi));
    pci_config_write(d, cap + PCI_MSI_DATA_64, &data, sizeof(data));
    pci_config_write(d, cap + PCI_MSI_FLAGS, &flags, sizeof(flags));
    f->msi_enabled = flags != 0;
    f->msi_addr = lo;
    f->msi_data = data;
}

/* ---- map listeners ------------------------------------------------------------- */

static uint16_t listener_rid(void *opaque)
{
    return *(const uint16_t *)opaque;
}

static bool in_one_region(const struct fuzz *f, uint64_t gpa, uint64_t size)
{
    for (unsigned i = 0; i < FUZZ_NRAM; i++) {
        const struct dma_ram_region *r = &f->ram[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size && size <= r->size - (gpa - r->gpa))
            return true;
    }
    return false;
}

/* `want` as map_notify.h promises it; `first`/`last` 0/~0 for snapshots. */
static void check_want(const struct fuzz *f, uint64_t first, uint64_t last,
                       const struct iommu_mapping *want, size_t n)
{
    FUZZ_CHECK(first <= last);
    for (size_t i = 0; i < n; i++) {
        const struct iommu_mapping *m = &want[i];
        FUZZ_CHECK(m->size > 0 && !(m->size & (AMDVI_PT_PAGE_SIZE - 1)));
        FUZZ_CHECK(!(m->iova & (AMDVI_PT_PAGE_SIZE - 1)));
        FUZZ_CHECK(m->size - 1 <= UINT64_MAX - m->iova);
        FUZZ_CHECK(m->iova <= last && m->iova + (m->size - 1) >= first);
        FUZZ_CHECK(in_one_region(f, m->gpa, m->size));
        FUZZ_CHECK(m->read || m->write);
        if (i > 0)
            FUZZ_CHECK(want[i - 1].iova + (want[i - 1].size - 1) < m->iova);
    }
}

static struct fuzz *listener_fuzz; /* the instance the listeners belong to */

static int listener_sync(void *opaque, uint64_t first, uint64_t last,
                         const struct iommu_mapping *want, size_t n)
{
    (void)opaque;
    listener_fuzz->syncs++;
    check_want(listener_fuzz, first, last, want, n);
    return 0;
}

static void add_listeners(struct fuzz *f)
{
    listener_fuzz = f;
    for (unsigned i = 0; i < FUZZ_NLISTENERS; i++) {
        struct iommu_map_listener l = { .requester_id = listener_rid, .sync = listener_sync,
                                        .opaque = (void *)&listener_rids[i] };
        FUZZ_CHECK(amdvi_add_map_listener(f->a, &l) == 0);
    }
}

static void check_snapshots(struct fuzz *f)
{
    for (unsigned i = 0; i < FUZZ_NLISTENERS; i++) {
        struct iommu_mapping *m = NULL;
        size_t n = 0;
        int ret = amdvi_map_snapshot(f->a, listener_rids[i], &m, &n);
        FUZZ_CHECK(ret == 0 || ret == -E2BIG);
        FUZZ_CHECK((m == NULL) == (n == 0));
        check_want(f, 0, UINT64_MAX, m, n);
        free(m);
    }
}

static void check_stats(struct fuzz *f, bool final)
{
    struct amdvi_stats s;

    amdvi_get_stats(f->a, &s);
    if (trace && final)
        fprintf(stderr,
                "stats: translations %llu hits %llu misses %llu faults %llu events %llu "
                "dropped %llu commands %llu msis %u\n",
                (unsigned long long)s.translations, (unsigned long long)s.iotlb_hits,
                (unsigned long long)s.iotlb_misses, (unsigned long long)s.faults,
                (unsigned long long)s.events_logged, (unsigned long long)s.events_dropped,
                (unsigned long long)s.commands, f->sink.count);
    FUZZ_CHECK(s.translations == f->translations);
    FUZZ_CHECK(s.iotlb_hits + s.iotlb_misses <= s.translations);
    FUZZ_CHECK(s.faults <= s.translations + f->remaps); /* interrupt faults count too */
    FUZZ_CHECK(s.map_syncs == f->syncs);
}

static void run_op(struct fuzz *f, const struct fuzz_op *op)
{
    static void (*const handlers[OP_COUNT])(struct fuzz *, const struct fuzz_op *) = {
        [OP_MMIO_WRITE] = op_mmio_write, [OP_MMIO_READ] = op_mmio_read,
        [OP_POKE] = op_poke,             [OP_TRANSLATE] = op_translate,
        [OP_COMMAND] = op_command,       [OP_DTE] = op_dte,
        [OP_MAP_V1] = op_map_v1,         [OP_MAP_V2] = op_map_v2,
        [OP_SETUP] = op_setup,           [OP_EVENT_DRAIN] = op_event_drain,
        [OP_MSI] = op_msi,               [OP_STATS] = NULL,
        [OP_REMAP] = op_remap,
    };
    unsigned kind = op->kind % OP_COUNT;

    if (handlers[kind])
        handlers[kind](f, op);
    check_cmd_drained(f);
    check_stats(f, false);
}

static void decode_op(const uint8_t *p, struct fuzz_op *op)
{
    op->kind = p[0];
    op->sub = p[1];
    memcpy(&op->a, p + 2, sizeof(op->a));
    memcpy(&op->b, p + 4, sizeof(op->b));
    memcpy(&op->x, p + 8, sizeof(op->x));
    memcpy(&op->y, p + 16, sizeof(op->y));
    op->a = le16toh(op->a);
    op->b = le32toh(op->b);
    op->x = le64toh(op->x);
    op->y = le64toh(op->y);
}

static int fuzz_create(struct fuzz *f, uint8_t flags, const struct msi_sink *sink)
{
    static const unsigned iotlb_sizes[] = { 0, 4, 16, 64 };
    struct amdvi_config cfg = {
        .mmio_base = LAYOUT_AMDVI_MMIO_BASE,
        .ram = f->ram,
        .nram = FUZZ_NRAM,
        .sink = sink,
        .npcache = flags & FUZZ_FLAG_NPCACHE,
        .guest_tables = flags & FUZZ_FLAG_GUEST_TABLES,
        .intremap = flags & FUZZ_FLAG_INTREMAP,
        .iotlb_entries = iotlb_sizes[(flags >> FUZZ_FLAG_IOTLB_SHIFT) & FUZZ_FLAG_IOTLB_MASK],
    };

    f->guest_tables = cfg.guest_tables;
    f->intremap = cfg.intremap;
    f->ram[0] = (struct dma_ram_region){ .gpa = FUZZ_RAM0_GPA, .size = FUZZ_RAM0_SIZE,
                                         .host = ram0 };
    f->ram[1] = (struct dma_ram_region){ .gpa = FUZZ_RAM1_GPA, .size = FUZZ_RAM1_SIZE,
                                         .host = ram1 };
    return amdvi_create(&cfg, &f->a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz f;
    struct msi_sink sink = { .send_msi = sink_send_msi, .set_route = sink_set_route,
                             .opaque = &f };
    struct fuzz_op op;

    if (size < FUZZ_HDR_SIZE)
        return 0;
    memset(&f, 0, sizeof(f));
    size_t nops = data[1];
    if (nops > (size - FUZZ_HDR_SIZE) / FUZZ_OP_SIZE)
        nops = (size - FUZZ_HDR_SIZE) / FUZZ_OP_SIZE;
    const uint8_t *ops = data + FUZZ_HDR_SIZE, *image = ops + nops * FUZZ_OP_SIZE;
    size_t image_len = size - FUZZ_HDR_SIZE - nops * FUZZ_OP_SIZE;

    memset(ram0, 0, FUZZ_RAM0_SIZE);
    memset(ram1, 0, FUZZ_RAM1_SIZE);
    memcpy(ram0, image, image_len < FUZZ_RAM0_SIZE ? image_len : FUZZ_RAM0_SIZE);
    if (fuzz_create(&f, data[0], &sink))
        return 0;
    f.tr = amdvi_translator(f.a);
    add_listeners(&f);
    for (size_t i = 0; i < nops; i++) {
        decode_op(ops + i * FUZZ_OP_SIZE, &op);
        run_op(&f, &op);
    }
    check_stats(&f, true);
    check_snapshots(&f);
    amdvi_destroy(f.a);
    return 0;
}
