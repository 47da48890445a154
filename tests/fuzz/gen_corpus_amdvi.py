#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_amdvi (see the input layout in
tests/fuzz/fuzz_amdvi.c): driver sequences the model accepts, so fuzzing
starts from enabled IOMMUs with mapped pages, running command buffers and
event logs. Usage: gen_corpus_amdvi.py OUTDIR

Constants mirror iommu/amd/amdvi_regs.h and amdvi_pgtable.h (spec names)."""
import os
import struct
import sys

# operation kinds (enum fuzz_op_kind)
(MMIO_WRITE, MMIO_READ, POKE, TRANSLATE, COMMAND, DTE, MAP_V1, MAP_V2, SETUP,
 EVENT_DRAIN, MSI, STATS) = range(12)

# header flags
GUEST_TABLES, NPCACHE = 0x1, 0x2
IOTLB_4, IOTLB_16 = 0x1 << 2, 0x2 << 2

# MMIO offsets (index into fuzz_regs[] for the biased form)
REG = dict(DEV_TABLE_BASE=0, CMD_BUF_BASE=1, EVENT_LOG_BASE=2, CONTROL=3, EXCL_BASE=4,
           EXCL_LIMIT=5, EFR=6, HW_EVENT_HI=7, HW_EVENT_LO=8, HW_EVENT_STATUS=9, EFR2=10,
           CMD_HEAD=11, CMD_TAIL=12, EVENT_HEAD=13, EVENT_TAIL=14, STATUS=15)
CTRL_IOMMU_EN, CTRL_EVENT_LOG_EN, CTRL_CMDBUF_EN = 1 << 0, 1 << 2, 1 << 12
CTRL_EVENT_INT_EN, CTRL_COM_WAIT_INT_EN = 1 << 3, 1 << 4
EXCL_EX_EN, EXCL_ALLOW = 1 << 0, 1 << 1

# commands
CMD_COMPLETION_WAIT, CMD_INV_DEVTAB, CMD_INV_PAGES, CMD_INV_IOTLB = 1, 2, 3, 4
CMD_INV_INTR, CMD_INV_ALL = 5, 8
CW_S, CW_I = 1 << 0, 1 << 1
INV_S, INV_PDE, INV_GN = 1 << 0, 1 << 1, 1 << 2
INV_ALL_PAGES = 0x7ffffffffffff000

# DTE / PTE bits
DTE_V, DTE_TV, DTE_IR, DTE_IW = 1 << 0, 1 << 1, 1 << 61, 1 << 62
PTE_PR, PTE_IR, PTE_IW = 1 << 0, 1 << 61, 1 << 62

PAGE = 0x1000
# guest layout used by the helper seeds (page numbers of RAM region 0)
P_CMD, P_EVT, P_DEVTAB, P_SEM, P_ROOT, P_GCR3, P_DATA = 8, 12, 16, 24, 32, 40, 80


def op(kind, sub=0, a=0, b=0, x=0, y=0):
    return struct.pack('<BBHIQQ', kind, sub, a, b, x & (2**64 - 1), y & (2**64 - 1))


SIZE_BITS = {8: 0x00, 4: 0x20, 2: 0x40, 1: 0x60}


def mmio_w(reg, val, size=8, byte=0):
    return op(MMIO_WRITE, REG[reg] | SIZE_BITS[size], a=byte, x=val)


def mmio_r(reg, size=8, byte=0):
    return op(MMIO_READ, REG[reg] | SIZE_BITS[size], a=byte)


def raw_r(off, size=8):
    return op(MMIO_READ, 0x80 | SIZE_BITS[size], a=off)


def cmd(opcode, q0=0, q1=0):
    return op(COMMAND, opcode, x=q0, y=q1)


def setup(sub=0, devtab_size=1):
    return op(SETUP, sub, a=devtab_size, b=P_DEVTAB, x=P_CMD, y=P_EVT)


def msi():
    return op(MSI, 1, b=0x4041, x=0)


def dte_v1(devid, mode, domain, root_page=P_ROOT):
    # sub: V|TV, clean reserved, v1 with Mode = 1 + ((sub >> 4) % 6)
    return op(DTE, 0x7 | ((mode - 1) << 4), a=devid, b=root_page, y=domain)


def dte_v2(devid, domain, gcr3_page=P_GCR3):
    return op(DTE, 0x1 | 0x2 | 0x8, a=devid, b=gcr3_page, y=domain)


def map_v1(iova, gpa, mode=3, leaf=1, ir=True, iw=True, sized=False, root_page=P_ROOT):
    sub = (mode - 1) | ((leaf - 1) << 3) | (0x20 if ir else 0) | (0x40 if iw else 0)
    return op(MAP_V1, sub | (0x80 if sized else 0), b=root_page, x=iova, y=gpa)


def map_v2(iova, gpa, leaf=1, rw=True, user=True, gcr3_page=P_GCR3):
    sub = (leaf - 1) | (0x4 if rw else 0) | (0x8 if user else 0)
    return op(MAP_V2, sub, b=gcr3_page, x=iova, y=gpa)


def xlate(rid, iova, write=False, once=False):
    return op(TRANSLATE, (1 if write else 0) | (8 if once else 0), a=rid, x=iova)


def inv_pages(domain, addr=INV_ALL_PAGES | INV_S, gn=False):
    return cmd(CMD_INV_PAGES, domain << 32, addr | INV_PDE | (INV_GN if gn else 0))


def compl_wait(store=P_SEM * PAGE, data=0x1234, irq=True):
    return cmd(CMD_COMPLETION_WAIT, store | CW_S | (CW_I if irq else 0), data)


def seed(flags, ops, image=b''):
    assert len(ops) <= 255
    return bytes([flags, len(ops), 0, 0]) + b''.join(ops) + image


def v1_basic():
    dev, dom = 0x10, 0x22
    return seed(0, [
        msi(), setup(sub=2), dte_v1(dev, 3, dom),
        map_v1(0x100000, P_DATA * PAGE), map_v1(0x101000, (P_DATA + 1) * PAGE, iw=False),
        xlate(dev, 0x100123), xlate(dev, 0x100456, write=True), xlate(dev, 0x101000),
        xlate(dev, 0x101000, write=True),                    # permission fault
        xlate(dev, 0x200000),                                # not present
        xlate(dev, 1 << 40),                                 # beyond a 3-level table
        compl_wait(), mmio_r('STATUS'), op(EVENT_DRAIN, 1),
        inv_pages(dom, 0x100000), xlate(dev, 0x100000, once=True),
        cmd(CMD_INV_DEVTAB, dev), cmd(CMD_INV_ALL), xlate(dev, 0x100000),
        mmio_r('EVENT_TAIL'), mmio_r('CMD_HEAD'), op(STATS),
    ])


def v1_levels():
    """Every mode, a 2 MiB and a 1 GiB page, Next Level 7 pages, skipping."""
    ops = [setup(), msi()]
    for mode in range(1, 7):
        root = P_ROOT + mode
        ops += [dte_v1(0x20 + mode, mode, 0x30 + mode, root_page=root),
                map_v1(0x3000, P_DATA * PAGE, mode=mode, root_page=root),
                xlate(0x20 + mode, 0x3010)]
    ops += [map_v1(0x40000000, 0x200000, mode=4, leaf=2, root_page=P_ROOT + 4),
            xlate(0x24, 0x40012345, write=True),
            map_v1(0x80000000, 0x40000000, mode=4, leaf=3, root_page=P_ROOT + 4),
            xlate(0x24, 0x80000000 + 0x1234567),
            map_v1(0x6000, 0x8000, mode=4, leaf=1, sized=True, root_page=P_ROOT + 4),
            xlate(0x24, 0x7ff8), xlate(0x24, 0x6000, write=True),
            map_v1(0x400000, 0x800000, mode=3, leaf=2, sized=True, root_page=P_ROOT + 3),
            xlate(0x23, 0x5fffff), op(STATS)]
    return seed(IOTLB_16, ops)


def v2_basic():
    dev, dom = 0x18, 0x40
    return seed(GUEST_TABLES, [
        msi(), setup(sub=4 | 2), dte_v2(dev, dom),
        map_v2(0x7f0000001000, P_DATA * PAGE), map_v2(0x2000, (P_DATA + 1) * PAGE, rw=False),
        map_v2(0x40000000, 0x200000, leaf=2), map_v2(0x80000000, 0x40000000, leaf=3),
        map_v2(0x5000, P_DATA * PAGE, user=False),
        xlate(dev, 0x7f0000001234, write=True), xlate(dev, 0x2000), xlate(dev, 0x2000, write=True),
        xlate(dev, 0x40123456), xlate(dev, 0x80000000 + 0x3456789), xlate(dev, 0x5000),
        xlate(dev, 0xffff800000000000), xlate(dev, 0x0000800000000000),   # non-canonical
        inv_pages(0, 0x2000, gn=True), compl_wait(), op(EVENT_DRAIN, 3), op(STATS),
        # GCR3 table outside RAM (root 2 GiB): PAGE_TAB_HARDWARE_ERROR
        op(DTE, 0x3, a=dev + 1, x=DTE_IR | DTE_IW | (1 << 55) | (1 << 54), y=(1 << 43) | dom),
        xlate(dev + 1, 0x1000), mmio_r('EVENT_TAIL'),
    ])


def v2_without_gten():
    """GV=1 DTE while GTEn is clear (and guest tables not advertised)."""
    return seed(0, [setup(), dte_v2(0x18, 1), map_v2(0x1000, P_DATA * PAGE),
                    xlate(0x18, 0x1000), mmio_r('EVENT_TAIL')])


def raw_image():
    """No helpers: tables, DTE and commands in the RAM image, raw MMIO."""
    ram = bytearray(0x9000)
    devtab, cmdbuf, evt, root, data = 0x1000, 0x2000, 0x3000, 0x4000, 0x8000
    l2, l1 = 0x5000, 0x6000
    dev, dom = 0x8, 0x5

    def put(addr, *qs):
        for i, q in enumerate(qs):
            ram[addr + 8 * i:addr + 8 * i + 8] = struct.pack('<Q', q)
    put(devtab + dev * 32, DTE_V | DTE_TV | DTE_IR | DTE_IW | (3 << 9) | root, dom)
    put(root, PTE_PR | (2 << 9) | l2 | PTE_IR | PTE_IW)
    put(l2, PTE_PR | (1 << 9) | l1 | PTE_IR | PTE_IW)
    put(l1 + 8 * 5, PTE_PR | data | PTE_IR)
    put(cmdbuf, (CMD_COMPLETION_WAIT << 60) | 0x7000 | CW_S, 0xfeed)
    put(cmdbuf + 16, (CMD_INV_PAGES << 60) | (dom << 32), INV_ALL_PAGES | INV_S)
    put(cmdbuf + 32, (CMD_INV_IOTLB << 60) | dev, 0x1000)
    put(cmdbuf + 48, (CMD_INV_INTR << 60) | dev, 0)
    put(cmdbuf + 64, (0xf << 60), 0)                        # illegal opcode
    ops = [
        mmio_w('DEV_TABLE_BASE', devtab | 0), mmio_w('CMD_BUF_BASE', cmdbuf | (8 << 56)),
        mmio_w('EVENT_LOG_BASE', evt | (8 << 56)),
        mmio_w('CONTROL', CTRL_IOMMU_EN | CTRL_EVENT_LOG_EN | CTRL_CMDBUF_EN),
        mmio_w('CMD_TAIL', 64), mmio_r('CMD_HEAD'),
        op(TRANSLATE, 0, a=dev, x=0x5abc), op(TRANSLATE, 1, a=dev, x=0x5abc),
        op(TRANSLATE, 0, a=0x200, x=0x1000),                 # beyond the 128-entry table
        mmio_w('CMD_TAIL', 80), mmio_r('STATUS'),             # stops at the illegal command
        mmio_w('CONTROL', CTRL_IOMMU_EN | CTRL_EVENT_LOG_EN),
        mmio_w('CMD_HEAD', 80 + 16),
        mmio_w('CONTROL', CTRL_IOMMU_EN | CTRL_EVENT_LOG_EN | CTRL_CMDBUF_EN),
        mmio_r('EVENT_TAIL'), raw_r(0x2004, 4), raw_r(0x30), raw_r(0x1a0), raw_r(0x3ff8),
        raw_r(0x2021, 1), mmio_r('CONTROL', 2, 2), mmio_w('CONTROL', 0x10, 1, 1),  # CmdBufEn off
        mmio_r('CONTROL', 4, 4), mmio_w('EXCL_BASE', 0x3, 1),
        op(MMIO_WRITE, 0x80, a=0x2020, x=0x7),                # W1C status
    ]
    return seed(0, ops, bytes(ram))


def exclusion():
    dev = 0x30
    return seed(0, [
        setup(), dte_v1(dev, 3, 9), map_v1(0x1000, P_DATA * PAGE),
        mmio_w('EXCL_BASE', 0x10000000 | EXCL_EX_EN), mmio_w('EXCL_LIMIT', 0x1fffffff),
        xlate(dev, 0x10000000), xlate(dev, 0x1000),
        mmio_w('EXCL_BASE', 0x10000000 | EXCL_EX_EN | EXCL_ALLOW),
        xlate(dev, 0x1fffffff, write=True), xlate(dev, 0x20000000),
        mmio_w('EXCL_LIMIT', 0xfffffffffffff000), mmio_w('EXCL_BASE', EXCL_EX_EN | EXCL_ALLOW),
        xlate(dev, 0xffffffffffffffff), mmio_r('EXCL_LIMIT'),
    ])


def event_overflow():
    """More faults than the log has room for (the guest's head is 16 entries
    on, so the 16th event overflows), then Linux's restart."""
    dev = 0x11
    ops = [msi(), setup(sub=2), dte_v1(dev, 3, 3), mmio_w('EVENT_HEAD', 16 * 16)]
    ops += [xlate(dev, 0x100000 + i * PAGE, once=True) for i in range(40)]
    ops += [mmio_r('STATUS'), op(EVENT_DRAIN, 3), xlate(dev, 0x9000000), mmio_r('EVENT_TAIL'),
            op(STATS)]
    return seed(0, ops)


def command_errors():
    return seed(0, [
        msi(), setup(sub=2),
        cmd(CMD_COMPLETION_WAIT, (1 << 52) | CW_S, 0),          # reserved bit
        mmio_r('STATUS'), mmio_w('CONTROL', CTRL_IOMMU_EN | CTRL_EVENT_LOG_EN),
        mmio_w('CMD_HEAD', 0), mmio_w('CMD_TAIL', 0),
        mmio_w('CONTROL', CTRL_IOMMU_EN | CTRL_EVENT_LOG_EN | CTRL_CMDBUF_EN |
               CTRL_COM_WAIT_INT_EN),
        compl_wait(store=0x80000000),                          # store outside RAM
        mmio_w('CMD_BUF_BASE', 0x7ffff000 | (8 << 56)),        # buffer outside RAM
        mmio_w('CONTROL', CTRL_IOMMU_EN | CTRL_EVENT_LOG_EN | CTRL_CMDBUF_EN),
        mmio_w('CMD_TAIL', 16), mmio_w('CMD_BUF_BASE', P_CMD * PAGE | (3 << 56)),  # reserved len
        mmio_w('CONTROL', CTRL_IOMMU_EN | CTRL_CMDBUF_EN), mmio_r('STATUS'),
        op(EVENT_DRAIN, 1), op(STATS),
    ])


def iotlb_pressure():
    """A 4-entry IOTLB, two devices in one domain, invalidations of all shapes."""
    ops = [setup(), dte_v1(0x40, 4, 7), dte_v1(0x41, 4, 7)]
    for i in range(24):
        ops.append(map_v1(i * 0x201000, (P_DATA + i % 8) * PAGE, mode=4))
    for i in range(24):
        ops.append(xlate(0x40 + (i & 1), i * 0x201000 + 0x10))
    ops += [inv_pages(7, 0x201000), inv_pages(7, 0x3fffff000 | INV_S), inv_pages(8),
            cmd(CMD_INV_DEVTAB, 0x40)]
    ops += [xlate(0x40 + (i & 1), i * 0x201000, write=True) for i in range(24)]
    ops += [op(POKE, 0, b=(P_ROOT * PAGE) // 8, x=0),          # unmap everything, stale IOTLB
            xlate(0x40, 0x10), cmd(CMD_INV_ALL), xlate(0x41, 0x10)]
    return seed(IOTLB_4 | NPCACHE, ops)


def second_region():
    """Tables in the second RAM region (gpa 1 GiB), poked raw."""
    r1 = 0x40000000
    ops = [setup(),
           op(DTE, 0x3, a=0x50, x=DTE_IR | DTE_IW | (1 << 9) | r1, y=4),
           op(POKE, 1, b=1, x=PTE_PR | PTE_IR | PTE_IW | (P_DATA * PAGE)),
           xlate(0x50, 0x1000), xlate(0x50, 0x1fff, write=True),
           op(POKE, 1, b=1, x=PTE_PR | PTE_IR | PTE_IW | (1 << 52)),   # reserved bit
           inv_pages(4), xlate(0x50, 0x1000),
           op(DTE, 0x3, a=0x51, x=DTE_IR | (1 << 9) | 0x80000000, y=4),  # root not in RAM
           xlate(0x51, 0x1000), mmio_r('EVENT_TAIL')]
    return seed(0, ops)


def disabled():
    """IOMMU off: identity; then on with nothing else programmed."""
    return seed(0, [xlate(0, 0), xlate(0xffff, 0xfffffffffffff000, write=True),
                    setup(sub=8), xlate(1, 0x1234),
                    mmio_w('CONTROL', CTRL_IOMMU_EN), xlate(1, 0x1234), xlate(0x8000, 0x1),
                    raw_r(0x4000 - 8), op(MMIO_READ, 0x80, a=0x1008)])


SEEDS = dict(v1_basic=v1_basic, v1_levels=v1_levels, v2_basic=v2_basic,
             v2_without_gten=v2_without_gten, raw_image=raw_image, exclusion=exclusion,
             event_overflow=event_overflow, command_errors=command_errors,
             iotlb_pressure=iotlb_pressure, second_region=second_region, disabled=disabled)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, make in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as fh:
            fh.write(make())


if __name__ == '__main__':
    main()
