/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi MMIO register file: a table of implemented registers, each with a
 * writable mask, a write-1-to-clear mask and an optional side-effect handler.
 * Every guest write goes through one merge (for the bytes written):
 *     new = (old & ~wmask) | (val & wmask);  new &= ~(val & w1cmask)
 * then the register's handler runs (register lock held) with the old value.
 * Offsets in the window that name no register read 0 and ignore writes, as
 * hardware does for unimplemented registers. Any 1/2/4/8-byte naturally
 * aligned access works (the bus enforces natural alignment).
 */
#define LOG_MODULE "amdvi"
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "iommu/amd/amdvi_internal.h"
#include "vmm/log.h"

struct amdvi_reg_desc {
    uint16_t offset;
    uint64_t wmask, w1cmask;
    void (*written)(struct amdvi *a, uint64_t old);
};

static void dev_table_written(struct amdvi *a, uint64_t old);
static void cmd_base_written(struct amdvi *a, uint64_t old);
static void event_base_written(struct amdvi *a, uint64_t old);
static void control_written(struct amdvi *a, uint64_t old);
static void excl_written(struct amdvi *a, uint64_t old);
static void cmd_head_written(struct amdvi *a, uint64_t old);
static void cmd_tail_written(struct amdvi *a, uint64_t old);
static void event_tail_written(struct amdvi *a, uint64_t old);
static void intcapxt_written(struct amdvi *a, uint64_t old);

static const struct amdvi_reg_desc amdvi_regs[AMDVI_REG_COUNT] = {
    [AMDVI_REG_DEV_TABLE_BASE] = { AMDVI_MMIO_DEV_TABLE_BASE,
                                   AMDVI_DEV_TABLE_BASE_ADDR | AMDVI_DEV_TABLE_SIZE, 0,
                                   dev_table_written },
    [AMDVI_REG_CMD_BUF_BASE] = { AMDVI_MMIO_CMD_BUF_BASE,
                                 AMDVI_CMD_BUF_BASE_ADDR | AMDVI_CMD_BUF_LEN, 0,
                                 cmd_base_written },
    [AMDVI_REG_EVENT_LOG_BASE] = { AMDVI_MMIO_EVENT_LOG_BASE,
                                   AMDVI_EVENT_LOG_BASE_ADDR | AMDVI_EVENT_LOG_LEN, 0,
                                   event_base_written },
    /* GTEn / GAEn / XTEn / IntCapXTEn are dropped by the handler unless advertised */
    [AMDVI_REG_CONTROL] = { AMDVI_MMIO_CONTROL,
                            AMDVI_CTRL_WRITABLE | AMDVI_CTRL_GT_EN | AMDVI_CTRL_IR_WRITABLE, 0,
                            control_written },
    [AMDVI_REG_EXCL_BASE] = { AMDVI_MMIO_EXCL_BASE,
                              AMDVI_EXCL_ADDR | AMDVI_EXCL_BASE_EX_EN | AMDVI_EXCL_BASE_ALLOW, 0,
                              excl_written },
    [AMDVI_REG_EXCL_LIMIT] = { AMDVI_MMIO_EXCL_LIMIT, AMDVI_EXCL_ADDR, 0, excl_written },
    [AMDVI_REG_EFR] = { AMDVI_MMIO_EFR, 0, 0, NULL },
    [AMDVI_REG_HW_EVENT_HI] = { AMDVI_MMIO_HW_EVENT_HI, UINT64_MAX, 0, NULL },
    [AMDVI_REG_HW_EVENT_LO] = { AMDVI_MMIO_HW_EVENT_LO, UINT64_MAX, 0, NULL },
    [AMDVI_REG_HW_EVENT_STATUS] = { AMDVI_MMIO_HW_EVENT_STATUS, 0,
                                    AMDVI_HW_EVENT_STATUS_HEV | AMDVI_HW_EVENT_STATUS_HEO,
                                    NULL },
    [AMDVI_REG_EFR2] = { AMDVI_MMIO_EFR2, 0, 0, NULL },
    [AMDVI_REG_CMD_HEAD] = { AMDVI_MMIO_CMD_HEAD, AMDVI_LOG_PTR, 0, cmd_head_written },
    [AMDVI_REG_CMD_TAIL] = { AMDVI_MMIO_CMD_TAIL, AMDVI_LOG_PTR, 0, cmd_tail_written },
    [AMDVI_REG_EVENT_HEAD] = { AMDVI_MMIO_EVENT_HEAD, AMDVI_LOG_PTR, 0, NULL },
    [AMDVI_REG_EVENT_TAIL] = { AMDVI_MMIO_EVENT_TAIL, AMDVI_LOG_PTR, 0, event_tail_written },
    [AMDVI_REG_STATUS] = { AMDVI_MMIO_STATUS, 0, AMDVI_STATUS_W1C, NULL },
    /* IntCapXT: read as zero without XTSup (cleared by the handler) */
    [AMDVI_REG_INTCAPXT_EVT] = { AMDVI_MMIO_INTCAPXT_EVT, AMDVI_INTCAPXT_WRITABLE, 0,
                                 intcapxt_written },
    [AMDVI_REG_INTCAPXT_PPR] = { AMDVI_MMIO_INTCAPXT_PPR, AMDVI_INTCAPXT_WRITABLE, 0,
                                 intcapxt_written },
    [AMDVI_REG_INTCAPXT_GALOG] = { AMDVI_MMIO_INTCAPXT_GALOG, AMDVI_INTCAPXT_WRITABLE, 0,
                                   intcapxt_written },
};

uint64_t amdvi_log_bytes(uint64_t base_reg)
{
    unsigned len = (unsigned)FIELD_GET(AMDVI_LOG_LEN, base_reg);

    if (len < AMDVI_LOG_LEN_MIN)
        return 0;
    return (1ULL << len) * AMDVI_CMD_ENTRY_SIZE;
}

void amdvi_regs_reset(struct amdvi *a)
{
    memset(a->regs, 0, sizeof(a->regs));
    a->regs[AMDVI_REG_EFR] = a->efr;
    a->regs[AMDVI_REG_EFR2] = a->efr2;
    __atomic_store_n(&a->iommu_en, false, __ATOMIC_RELEASE);
    __atomic_store_n(&a->gt_en, false, __ATOMIC_RELEASE);
    __atomic_store_n(&a->excl_en, false, __ATOMIC_RELEASE);
    __atomic_store_n(&a->ga_en, false, __ATOMIC_RELEASE);
    __atomic_store_n(&a->xt_en, false, __ATOMIC_RELEASE);
}

/* ---- side effects (register lock held) ------------------------------------------ */

static void dev_table_written(struct amdvi *a, uint64_t old)
{
    if (a->regs[AMDVI_REG_DEV_TABLE_BASE] != old) {
        amdvi_dte_set_table(a, a->regs[AMDVI_REG_DEV_TABLE_BASE]);
        amdvi_ir_note_invalidate(a, 0, true);
        amdvi_map_notify_all(a);
    }
}

/* A new buffer base restarts the buffer: head and tail return to 0. */
static void cmd_base_written(struct amdvi *a, uint64_t old)
{
    (void)old;
    a->regs[AMDVI_REG_CMD_HEAD] = 0;
    a->regs[AMDVI_REG_CMD_TAIL] = 0;
}

static void event_base_written(struct amdvi *a, uint64_t old)
{
    (void)old;
    a->regs[AMDVI_REG_EVENT_HEAD] = 0;
    a->regs[AMDVI_REG_EVENT_TAIL] = 0;
}

static void set_run(struct amdvi *a, uint64_t run_bit, bool run)
{
    if (run)
        a->regs[AMDVI_REG_STATUS] |= run_bit;
    else
        a->regs[AMDVI_REG_STATUS] &= ~run_bit;
}

static void control_written(struct amdvi *a, uint64_t old)
{
    uint64_t ctrl = a->regs[AMDVI_REG_CONTROL] & a->ctrl_wmask;
    uint64_t changed = ctrl ^ old;

    a->regs[AMDVI_REG_CONTROL] = ctrl;
    __atomic_store_n(&a->gt_en, (ctrl & AMDVI_CTRL_GT_EN) != 0, __ATOMIC_RELEASE);
    __atomic_store_n(&a->ga_en, (ctrl & AMDVI_CTRL_GA_EN) != 0, __ATOMIC_RELEASE);
    __atomic_store_n(&a->xt_en, (ctrl & AMDVI_CTRL_XT_EN) != 0, __ATOMIC_RELEASE);
    if (changed & AMDVI_CTRL_IOMMU_EN) {
        /* nothing cached while disabled may survive into the enabled state */
        amdvi_dte_invalidate_all(a);
        iotlb_invalidate_all(a->iotlb);
        __atomic_store_n(&a->iommu_en, (ctrl & AMDVI_CTRL_IOMMU_EN) != 0, __ATOMIC_RELEASE);
    }
    if (changed & (AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_GA_EN | AMDVI_CTRL_XT_EN))
        amdvi_ir_note_invalidate(a, 0, true);
    /* DMA translation changes with IOMMUEn, and GTEn decides whether GV = 1
     * DTEs are legal */
    if (changed & (AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_GT_EN))
        amdvi_map_notify_all(a);
    if (changed & AMDVI_CTRL_EVENT_LOG_EN) {
        bool on = (ctrl & AMDVI_CTRL_EVENT_LOG_EN) &&
                  amdvi_log_bytes(a->regs[AMDVI_REG_EVENT_LOG_BASE]);
        if ((ctrl & AMDVI_CTRL_EVENT_LOG_EN) && !on)
            LOG_RATELIMITED(LOG_LEVEL_WARN, "event log enabled with a reserved length: not running");
        set_run(a, AMDVI_STATUS_EVENT_LOG_RUN, on);
    }
    if (changed & AMDVI_CTRL_CMDBUF_EN) {
        bool on = (ctrl & AMDVI_CTRL_CMDBUF_EN) && amdvi_log_bytes(a->regs[AMDVI_REG_CMD_BUF_BASE]);
        if ((ctrl & AMDVI_CTRL_CMDBUF_EN) && !on)
            LOG_RATELIMITED(LOG_LEVEL_WARN,
                            "command buffer enabled with a reserved length: not running");
        set_run(a, AMDVI_STATUS_CMDBUF_RUN, on);
        amdvi_cmd_process(a);
    }
}

static void excl_written(struct amdvi *a, uint64_t old)
{
    uint64_t base = a->regs[AMDVI_REG_EXCL_BASE];
    uint64_t limit = a->regs[AMDVI_REG_EXCL_LIMIT];

    (void)old;
    __atomic_store_n(&a->excl_base, base & AMDVI_EXCL_ADDR, __ATOMIC_RELAXED);
    __atomic_store_n(&a->excl_last, (limit & AMDVI_EXCL_ADDR) | AMDVI_EXCL_LIMIT_LOW,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&a->excl_allow, (base & AMDVI_EXCL_BASE_ALLOW) != 0, __ATOMIC_RELAXED);
    __atomic_store_n(&a->excl_en, (base & AMDVI_EXCL_BASE_EX_EN) != 0, __ATOMIC_RELEASE);
}

/* The head belongs to the IOMMU while the buffer runs: guest writes then are
 * ignored (software resets it with CmdBufEn clear, as Linux does). */
static void cmd_head_written(struct amdvi *a, uint64_t old)
{
    if (a->regs[AMDVI_REG_STATUS] & AMDVI_STATUS_CMDBUF_RUN)
        a->regs[AMDVI_REG_CMD_HEAD] = old;
}

static void cmd_tail_written(struct amdvi *a, uint64_t old)
{
    (void)old;
    amdvi_cmd_process(a);
}

/* Likewise the event tail belongs to the IOMMU while the log runs. */
static void event_tail_written(struct amdvi *a, uint64_t old)
{
    if (a->regs[AMDVI_REG_STATUS] & AMDVI_STATUS_EVENT_LOG_RUN)
        a->regs[AMDVI_REG_EVENT_TAIL] = old;
}

static void intcapxt_written(struct amdvi *a, uint64_t old)
{
    (void)old;
    if (!(a->efr & AMDVI_EFR_XT_SUP)) {
        for (unsigned r = AMDVI_REG_INTCAPXT_EVT; r <= AMDVI_REG_INTCAPXT_GALOG; r++)
            a->regs[r] = 0;
    }
}

/* ---- bus callbacks ------------------------------------------------------------ */

static const struct amdvi_reg_desc *reg_find(uint64_t offset, enum amdvi_reg *id)
{
    for (unsigned i = 0; i < AMDVI_REG_COUNT; i++) {
        if (amdvi_regs[i].offset == offset) {
            *id = (enum amdvi_reg)i;
            return &amdvi_regs[i];
        }
    }
    return NULL;
}

/* Bytes of a 64-bit register touched by an access of `size` at `offset`. */
static bool access_shape(uint64_t offset, unsigned size, unsigned *shift, uint64_t *bytes)
{
    unsigned in_reg = (unsigned)(offset % AMDVI_MMIO_REG_SIZE);

    if (size == 0 || size > AMDVI_MMIO_REG_SIZE || in_reg + size > AMDVI_MMIO_REG_SIZE ||
        offset >= AMDVI_MMIO_SIZE)
        return false;
    *shift = in_reg * 8u;
    *bytes = (size == AMDVI_MMIO_REG_SIZE ? UINT64_MAX : BIT(size * 8u) - 1) << *shift;
    return true;
}

static void amdvi_mmio_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    struct amdvi *a = opaque;
    uint64_t val = 0, bytes;
    unsigned shift;
    enum amdvi_reg id;

    amdvi_stat_inc(&a->stats.mmio_reads);
    if (!access_shape(offset, size, &shift, &bytes)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "bad MMIO read at 0x%llx size %u",
                        (unsigned long long)offset, size);
        memset(data, 0xff, size);
        return;
    }
    const struct amdvi_reg_desc *d = reg_find(offset - shift / 8u, &id);
    if (d) {
        pthread_mutex_lock(&a->lock);
        val = a->regs[id] >> shift;
        pthread_mutex_unlock(&a->lock);
    }
    val = htole64(val);
    memcpy(data, &val, size);
}

static void amdvi_mmio_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct amdvi *a = opaque;
    uint64_t val = 0, bytes;
    unsigned shift;
    enum amdvi_reg id;

    amdvi_stat_inc(&a->stats.mmio_writes);
    if (!access_shape(offset, size, &shift, &bytes)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "bad MMIO write at 0x%llx size %u",
                        (unsigned long long)offset, size);
        return;
    }
    const struct amdvi_reg_desc *d = reg_find(offset - shift / 8u, &id);
    if (!d) {
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "write to unimplemented register 0x%llx ignored",
                        (unsigned long long)offset);
        return;
    }
    memcpy(&val, data, size);
    val = le64toh(val) << shift;

    pthread_mutex_lock(&a->lock);
    uint64_t old = a->regs[id];
    uint64_t wmask = d->wmask & bytes, w1c = d->w1cmask & bytes;
    uint64_t new = (old & ~wmask) | (val & wmask);
    new &= ~(val & w1c);
    a->regs[id] = new;
    if (d->written)
        d->written(a, old);
    pthread_mutex_unlock(&a->lock);
    amdvi_ir_flush_pending(a);
}

const struct bus_ops amdvi_mmio_ops = {
    .read = amdvi_mmio_read,
    .write = amdvi_mmio_write,
};
