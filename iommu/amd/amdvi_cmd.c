/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi command buffer (spec 2.4), processed synchronously on tail writes
 * (and when CmdBufEn is set) under the register lock: every command has
 * completed when the guest's MMIO write returns, so COMPLETION_WAIT only has
 * to store / interrupt.
 *
 * A command with reserved bits set, or an unknown / unsupported opcode,
 * logs ILLEGAL_COMMAND_ERROR with the command's address and stops the
 * buffer: CmdBufRun clears, head stays at the bad command. Software restarts
 * it by clearing and setting CmdBufEn. A command (or a COMPLETION_WAIT
 * store) outside RAM logs COMMAND_HARDWARE_ERROR and stops the same way.
 *
 * Invalidations also sync the map listeners (amdvi_map.c) inline, so a
 * shadow is up to date before a later COMPLETION_WAIT completes.
 */
#define LOG_MODULE "amdvi"
#include <endian.h>

#include "iommu/amd/amdvi_internal.h"
#include "vmm/log.h"

enum cmd_result { CMD_OK, CMD_ILLEGAL, CMD_HW_ERROR };

void amdvi_inv_range(uint64_t q1, uint64_t *first, uint64_t *last)
{
    uint64_t addr = q1 & AMDVI_CMD_INV_ADDR;

    if (!(q1 & AMDVI_CMD_INV_S)) {
        *first = addr;
        *last = addr + (AMDVI_PAGE_SIZE - 1);
        return;
    }
    /* S = 1: the lowest zero address bit z (>= 12) encodes 2^(z+1) bytes */
    uint64_t zeros = ~addr & AMDVI_CMD_INV_ADDR;
    unsigned z = zeros ? (unsigned)__builtin_ctzll(zeros) : 64u;
    if (z >= 63u) {
        *first = 0;
        *last = UINT64_MAX;
        return;
    }
    uint64_t size = 1ULL << (z + 1u);
    *first = addr & ~(size - 1);
    *last = *first + (size - 1);
}

static enum cmd_result completion_wait(struct amdvi *a, uint64_t q0, uint64_t q1,
                                       uint64_t *err_addr)
{
    if (q0 & AMDVI_CMD_COMPL_WAIT_RSVD0)
        return CMD_ILLEGAL;
    if (q0 & AMDVI_CMD_COMPL_WAIT_S) {
        uint64_t addr = q0 & AMDVI_CMD_COMPL_WAIT_ADDR;
        uint64_t data = htole64(q1);
        if (dma_write(&a->mem, addr, &data, sizeof(data))) {
            *err_addr = addr;
            return CMD_HW_ERROR;
        }
    }
    /* F (flush) needs nothing: every earlier command has completed. */
    if (q0 & AMDVI_CMD_COMPL_WAIT_I)
        amdvi_status_raise(a, AMDVI_STATUS_COM_WAIT_INT, AMDVI_CTRL_COM_WAIT_INT_EN);
    return CMD_OK;
}

static enum cmd_result inv_devtab_entry(struct amdvi *a, uint64_t q0, uint64_t q1)
{
    if ((q0 & AMDVI_CMD_DEVID_RSVD0) || (q1 & AMDVI_CMD_RSVD1_ALL))
        return CMD_ILLEGAL;
    amdvi_dte_invalidate(a, (uint16_t)FIELD_GET(AMDVI_CMD_DEVID, q0));
    /* the DTE holds IV, IntTabLen and the interrupt table root */
    amdvi_ir_note_invalidate(a, (uint16_t)FIELD_GET(AMDVI_CMD_DEVID, q0), false);
    /* ... and the mode, root and domain of its DMA translation */
    amdvi_map_notify_devid(a, (uint16_t)FIELD_GET(AMDVI_CMD_DEVID, q0));
    return CMD_OK;
}

static enum cmd_result inv_iommu_pages(struct amdvi *a, uint64_t q0, uint64_t q1)
{
    uint64_t first, last;

    if ((q0 & AMDVI_CMD_INV_PAGES_RSVD0) || (q1 & AMDVI_CMD_INV_RSVD1))
        return CMD_ILLEGAL;
    uint32_t domain = (uint32_t)FIELD_GET(AMDVI_CMD_INV_DOMAIN_ID, q0);
    uint32_t pasid = (uint32_t)FIELD_GET(AMDVI_CMD_INV_PASID, q0);
    amdvi_inv_range(q1, &first, &last);
    /* GN = 1: that PASID's guest translations. GN = 0: the domain's host
     * translations; its guest translations too, conservatively (a v2 domain
     * flushed without GN must not keep stale entries). PDE: no directory
     * entries are cached, leaf invalidation covers it. */
    uint32_t tag = (q1 & AMDVI_CMD_INV_GN) ? AMDVI_TAG_GUEST(pasid) : IOTLB_ANY;
    iotlb_invalidate(a->iotlb, domain, tag, first, last);
    amdvi_map_notify_pages(a, (uint16_t)domain, (q1 & AMDVI_CMD_INV_GN) != 0, pasid, first, last);
    return CMD_OK;
}

/* Device IOTLBs (ATS) are not implemented (IotlbSup = 0): nothing to do. */
static enum cmd_result inv_iotlb_pages(uint64_t q0, uint64_t q1)
{
    if ((q0 & AMDVI_CMD_IOTLB_RSVD0) || (q1 & AMDVI_CMD_IOTLB_RSVD1))
        return CMD_ILLEGAL;
    return CMD_OK;
}

/* IRTEs are not cached (read at every translation); users that translated
 * at setup (KVM routes) are told through the IR listener. */
static enum cmd_result inv_interrupt_table(struct amdvi *a, uint64_t q0, uint64_t q1)
{
    if ((q0 & AMDVI_CMD_DEVID_RSVD0) || (q1 & AMDVI_CMD_RSVD1_ALL))
        return CMD_ILLEGAL;
    amdvi_ir_note_invalidate(a, (uint16_t)FIELD_GET(AMDVI_CMD_DEVID, q0), false);
    return CMD_OK;
}

static enum cmd_result inv_iommu_all(struct amdvi *a, uint64_t q0, uint64_t q1)
{
    if (!(a->efr & AMDVI_EFR_IA_SUP) || (q0 & AMDVI_CMD_INV_ALL_RSVD0) ||
        (q1 & AMDVI_CMD_RSVD1_ALL))
        return CMD_ILLEGAL;
    amdvi_dte_invalidate_all(a);
    iotlb_invalidate_all(a->iotlb);
    amdvi_ir_note_invalidate(a, 0, true);
    amdvi_map_notify_all(a);
    return CMD_OK;
}

static enum cmd_result cmd_exec(struct amdvi *a, uint64_t q0, uint64_t q1, uint64_t *err_addr)
{
    unsigned opcode = (unsigned)FIELD_GET(AMDVI_CMD_OPCODE, q0);
    amdvi_stat_inc(&a->stats.commands);
    amdvi_stat_inc(&a->stats.commands_by_op[opcode < AMDVI_STAT_OPCODES ? opcode : 0]);
    switch (opcode) {
    case AMDVI_CMD_COMPLETION_WAIT:
        return completion_wait(a, q0, q1, err_addr);
    case AMDVI_CMD_INVALIDATE_DEVTAB_ENTRY:
        return inv_devtab_entry(a, q0, q1);
    case AMDVI_CMD_INVALIDATE_IOMMU_PAGES:
        return inv_iommu_pages(a, q0, q1);
    case AMDVI_CMD_INVALIDATE_IOTLB_PAGES:
        return inv_iotlb_pages(q0, q1);
    case AMDVI_CMD_INVALIDATE_INTERRUPT_TABLE:
        return inv_interrupt_table(a, q0, q1);
    case AMDVI_CMD_INVALIDATE_IOMMU_ALL:
        return inv_iommu_all(a, q0, q1);
    case AMDVI_CMD_COMPLETE_PPR_REQUEST: /* PPRSup = 0 */
    case AMDVI_CMD_PREFETCH_IOMMU_PAGES: /* not defined by rev 3.x */
    default:
        return CMD_ILLEGAL;
    }
}

static void cmd_stop(struct amdvi *a, unsigned code, uint64_t addr)
{
    a->regs[AMDVI_REG_STATUS] &= ~AMDVI_STATUS_CMDBUF_RUN;
    amdvi_event_log_locked(a, amdvi_event_q0(code, 0, 0, 0), addr);
}

void amdvi_cmd_process(struct amdvi *a)
{
    if (!(a->regs[AMDVI_REG_STATUS] & AMDVI_STATUS_CMDBUF_RUN))
        return;
    uint64_t base_reg = a->regs[AMDVI_REG_CMD_BUF_BASE];
    uint64_t bytes = amdvi_log_bytes(base_reg);
    if (!bytes) {
        a->regs[AMDVI_REG_STATUS] &= ~AMDVI_STATUS_CMDBUF_RUN;
        return;
    }
    uint64_t base = base_reg & AMDVI_CMD_BUF_BASE_ADDR;
    uint64_t head = (a->regs[AMDVI_REG_CMD_HEAD] & AMDVI_LOG_PTR) % bytes;
    uint64_t tail = (a->regs[AMDVI_REG_CMD_TAIL] & AMDVI_LOG_PTR) % bytes;

    /* at most one lap: head reaches tail within bytes / 16 steps */
    while (head != tail) {
        uint64_t cmd[2], err_addr = base + head;

        a->regs[AMDVI_REG_CMD_HEAD] = head;
        if (dma_read(&a->mem, base + head, cmd, sizeof(cmd))) {
            LOG_RATELIMITED(LOG_LEVEL_WARN, "command at 0x%llx not in RAM",
                            (unsigned long long)(base + head));
            cmd_stop(a, AMDVI_EVT_COMMAND_HARDWARE_ERROR, base + head);
            return;
        }
        enum cmd_result r = cmd_exec(a, le64toh(cmd[0]), le64toh(cmd[1]), &err_addr);
        if (r == CMD_ILLEGAL) {
            LOG_RATELIMITED(LOG_LEVEL_WARN, "illegal command %016llx %016llx at 0x%llx",
                            (unsigned long long)le64toh(cmd[0]),
                            (unsigned long long)le64toh(cmd[1]),
                            (unsigned long long)(base + head));
            cmd_stop(a, AMDVI_EVT_ILLEGAL_COMMAND_ERROR, base + head);
            return;
        }
        if (r == CMD_HW_ERROR) {
            cmd_stop(a, AMDVI_EVT_COMMAND_HARDWARE_ERROR, err_addr);
            return;
        }
        head = (head + AMDVI_CMD_ENTRY_SIZE) % bytes;
    }
    a->regs[AMDVI_REG_CMD_HEAD] = head;
}
