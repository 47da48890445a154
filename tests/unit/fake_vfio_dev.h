/* SPDX-License-Identifier: MIT */
/*
 * A fake VFIO PCI device behind struct vfio_dev_ops, for the vfio_pci
 * tests: a byte-array config space (an e1000e-like endpoint with the
 * capability chain PM 0x40 -> MSI 0x50 -> VPD 0x70 -> PCIe 0x80 -> MSI-X
 * 0xc0, and an AER extended capability at 0x100), BAR0 64-bit 64 KiB
 * mmappable with an in-memory backing (MSI-X table at 0x2000, PBA at
 * 0x3000), BAR2 a 32-byte I/O BAR, BAR3 a 256-byte non-mmappable 32-bit
 * BAR, and recorded set_irq_fds / unmask / reset calls with the eventfd
 * each vector currently signals.
 */
#ifndef SLUICE_TESTS_FAKE_VFIO_DEV_H
#define SLUICE_TESTS_FAKE_VFIO_DEV_H

#include <errno.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/pci/pci_regs.h"
#include "devices/vfio/vfio.h"

#define FAKE_CAP_PM 0x40
#define FAKE_CAP_MSI 0x50
#define FAKE_CAP_VPD 0x70
#define FAKE_CAP_EXP 0x80
#define FAKE_CAP_MSIX 0xc0
#define FAKE_BAR0_SIZE 0x10000u
#define FAKE_MSIX_TABLE 0x2000u
#define FAKE_MSIX_PBA 0x3000u
#define FAKE_MSIX_NVEC 8u
#define FAKE_MSI_NVEC 4u
#define FAKE_BAR2_SIZE 0x20u
#define FAKE_BAR3_SIZE 0x100u
#define FAKE_MAX_CALLS 64
#define FAKE_MAX_VEC 64
#define FAKE_IRQ_INDEXES 3 /* INTx, MSI, MSI-X */

struct fake_irq_call {
    unsigned index, start, count;
    int fds[FAKE_MAX_VEC];
};

struct fake_access {
    unsigned index;
    uint64_t off;
    unsigned len;
    uint64_t val;
};

struct fake_vfio_dev {
    uint8_t cfg[PCI_CFG_SIZE_EXP];
    uint8_t *bar0;                      /* mmap'd backing */
    uint8_t bar3[FAKE_BAR3_SIZE];
    uint8_t bar2[FAKE_BAR2_SIZE];
    unsigned irq_count[FAKE_IRQ_INDEXES];
    struct fake_irq_call calls[FAKE_MAX_CALLS];
    unsigned ncalls;
    int cur_fd[FAKE_IRQ_INDEXES][FAKE_MAX_VEC];   /* what each vector signals now */
    unsigned enabled[FAKE_IRQ_INDEXES];           /* vectors enabled per index */
    int unmask_fd;
    unsigned resets;
    struct fake_access cfg_writes[FAKE_MAX_CALLS];
    unsigned ncfg_writes;
    struct fake_access bar_reads[FAKE_MAX_CALLS], bar_writes[FAKE_MAX_CALLS];
    unsigned nbar_reads, nbar_writes;
    unsigned mmaps, munmaps;
};

static inline void fake_put(uint8_t *p, uint64_t val, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(val >> (8 * i));
}

static inline uint64_t fake_get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void fake_record(struct fake_access *log, unsigned *n, unsigned index,
                               uint64_t off, const void *buf, size_t len)
{
    if (*n >= FAKE_MAX_CALLS)
        return;
    log[*n] = (struct fake_access){ .index = index, .off = off, .len = (unsigned)len,
                                    .val = fake_get(buf, len > 8 ? 8 : (unsigned)len) };
    (*n)++;
}

static inline uint8_t *fake_region_mem(struct fake_vfio_dev *f, unsigned index, uint64_t *size)
{
    switch (index) {
    case VFIO_PCI_BAR0_REGION_INDEX: *size = FAKE_BAR0_SIZE; return f->bar0;
    case VFIO_PCI_BAR2_REGION_INDEX: *size = FAKE_BAR2_SIZE; return f->bar2;
    case VFIO_PCI_BAR3_REGION_INDEX: *size = FAKE_BAR3_SIZE; return f->bar3;
    case VFIO_PCI_CONFIG_REGION_INDEX: *size = PCI_CFG_SIZE_EXP; return f->cfg;
    default: *size = 0; return NULL;
    }
}

static inline int fake_region_info(void *opaque, unsigned index, struct vfio_region *out)
{
    struct fake_vfio_dev *f = opaque;
    uint64_t size;
    memset(out, 0, sizeof(*out));
    out->index = index;
    if (!fake_region_mem(f, index, &size))
        return 0;
    out->size = size;
    out->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    if (index == VFIO_PCI_BAR0_REGION_INDEX) {
        out->flags |= VFIO_REGION_INFO_FLAG_MMAP;
        out->nmmap = 1;
        out->mmap[0].offset = 0;
        out->mmap[0].size = FAKE_BAR0_SIZE;
    }
    return 0;
}

static inline int fake_region_read(void *opaque, unsigned index, uint64_t off, void *buf, size_t len)
{
    struct fake_vfio_dev *f = opaque;
    uint64_t size;
    uint8_t *mem = fake_region_mem(f, index, &size);
    if (!mem || off > size || len > size - off)
        return -EINVAL;
    memcpy(buf, mem + off, len);
    if (index != VFIO_PCI_CONFIG_REGION_INDEX)
        fake_record(f->bar_reads, &f->nbar_reads, index, off, buf, len);
    return 0;
}

static inline int fake_region_write(void *opaque, unsigned index, uint64_t off, const void *buf,
                             size_t len)
{
    struct fake_vfio_dev *f = opaque;
    uint64_t size;
    uint8_t *mem = fake_region_mem(f, index, &size);
    if (!mem || off > size || len > size - off)
        return -EINVAL;
    if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
        fake_record(f->cfg_writes, &f->ncfg_writes, index, off, buf, len);
    } else {
        fake_record(f->bar_writes, &f->nbar_writes, index, off, buf, len);
    }
    memcpy(mem + off, buf, len);
    return 0;
}

static inline void *fake_region_mmap(void *opaque, unsigned index, uint64_t off, uint64_t size)
{
    struct fake_vfio_dev *f = opaque;
    if (index != VFIO_PCI_BAR0_REGION_INDEX || off + size > FAKE_BAR0_SIZE)
        return NULL;
    f->mmaps++;
    return f->bar0 + off;
}

static inline void fake_region_munmap(void *opaque, void *addr, uint64_t size)
{
    struct fake_vfio_dev *f = opaque;
    (void)addr;
    (void)size;
    f->munmaps++;
}

static inline unsigned fake_irq_count(void *opaque, unsigned index)
{
    struct fake_vfio_dev *f = opaque;
    return index < FAKE_IRQ_INDEXES ? f->irq_count[index] : 0;
}

static inline int fake_set_irq_fds(void *opaque, unsigned index, unsigned start, unsigned count,
                            const int *fds)
{
    struct fake_vfio_dev *f = opaque;
    if (index >= FAKE_IRQ_INDEXES || start + count > FAKE_MAX_VEC)
        return -EINVAL;
    if (f->ncalls < FAKE_MAX_CALLS) {
        struct fake_irq_call *c = &f->calls[f->ncalls++];
        c->index = index;
        c->start = start;
        c->count = count;
        for (unsigned i = 0; i < count; i++)
            c->fds[i] = fds[i];
    }
    if (count == 0) {
        f->enabled[index] = 0;
        for (unsigned i = 0; i < FAKE_MAX_VEC; i++)
            f->cur_fd[index][i] = -1;
        return 0;
    }
    /* like the kernel: another index must be off first */
    for (unsigned i = 0; i < FAKE_IRQ_INDEXES; i++) {
        if (i != index && f->enabled[i])
            return -EINVAL;
    }
    if (start + count > f->irq_count[index])
        return -EINVAL;
    if (f->enabled[index] < start + count)
        f->enabled[index] = start + count;
    for (unsigned i = 0; i < count; i++)
        f->cur_fd[index][start + i] = fds[i];
    return 0;
}

static inline int fake_set_intx_unmask_fd(void *opaque, int fd)
{
    struct fake_vfio_dev *f = opaque;
    f->unmask_fd = fd;
    return 0;
}

static inline int fake_reset(void *opaque)
{
    struct fake_vfio_dev *f = opaque;
    f->resets++;
    return 0;
}

static inline void fake_cap(struct fake_vfio_dev *f, unsigned off, uint8_t id, uint8_t next)
{
    f->cfg[off] = id;
    f->cfg[off + 1] = next;
}

/* Build the device. Returns 0 or -ENOMEM. */
static inline int fake_vfio_dev_init(struct fake_vfio_dev *f)
{
    memset(f, 0, sizeof(*f));
    void *bar0 = mmap(NULL, FAKE_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (bar0 == MAP_FAILED)
        return -ENOMEM;
    f->bar0 = bar0;
    f->unmask_fd = -1;
    for (unsigned i = 0; i < FAKE_IRQ_INDEXES; i++)
        for (unsigned j = 0; j < FAKE_MAX_VEC; j++)
            f->cur_fd[i][j] = -1;
    f->irq_count[VFIO_PCI_INTX_IRQ_INDEX] = 1;
    f->irq_count[VFIO_PCI_MSI_IRQ_INDEX] = FAKE_MSI_NVEC;
    f->irq_count[VFIO_PCI_MSIX_IRQ_INDEX] = FAKE_MSIX_NVEC;

    uint8_t *c = f->cfg;
    fake_put(c + PCI_VENDOR_ID, 0x8086, 2);
    fake_put(c + PCI_DEVICE_ID, 0x10d3, 2);
    fake_put(c + PCI_COMMAND, PCI_COMMAND_MEMORY, 2);  /* left on by the host */
    fake_put(c + PCI_STATUS, PCI_STATUS_CAP_LIST | 0x0010, 2);
    c[PCI_REVISION_ID] = 0x01;
    fake_put(c + PCI_CLASS_PROG, 0x020000, 3);
    c[PCI_HEADER_TYPE] = 0x80;                          /* multi-function */
    fake_put(c + PCI_BASE_ADDRESS_0, 0xfe000000 | PCI_BASE_ADDRESS_MEM_TYPE_64, 4);
    fake_put(c + PCI_BASE_ADDRESS_1, 0, 4);
    fake_put(c + PCI_BASE_ADDRESS_2, 0xe001, 4);        /* I/O */
    fake_put(c + PCI_BASE_ADDRESS_3, 0xfe100000, 4);    /* 32-bit memory */
    fake_put(c + PCI_SUBSYSTEM_VENDOR_ID, 0x8086, 2);
    fake_put(c + PCI_SUBSYSTEM_ID, 0x0001, 2);
    fake_put(c + PCI_ROM_ADDRESS, 0xfe200001, 4);
    c[PCI_CAPABILITY_LIST] = FAKE_CAP_PM;
    c[PCI_INTERRUPT_LINE] = 11;
    c[PCI_INTERRUPT_PIN] = 1;

    fake_cap(f, FAKE_CAP_PM, PCI_CAP_ID_PM, FAKE_CAP_MSI);
    fake_put(c + FAKE_CAP_PM + PCI_PM_PMC, 0xc823, 2);
    fake_cap(f, FAKE_CAP_MSI, PCI_CAP_ID_MSI, FAKE_CAP_VPD);
    fake_put(c + FAKE_CAP_MSI + PCI_MSI_FLAGS,
             PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (2u << 1) /* 4 vectors */, 2);
    fake_cap(f, FAKE_CAP_VPD, PCI_CAP_ID_VPD, FAKE_CAP_EXP);
    fake_put(c + FAKE_CAP_VPD + 2, 0x1234, 2);
    fake_cap(f, FAKE_CAP_EXP, PCI_CAP_ID_EXP, FAKE_CAP_MSIX);
    fake_put(c + FAKE_CAP_EXP + PCI_EXP_FLAGS, 0x0002 | (PCI_EXP_TYPE_ENDPOINT << 4), 2);
    fake_put(c + FAKE_CAP_EXP + PCI_EXP_DEVCAP, 0x00008cc1, 4);
    fake_cap(f, FAKE_CAP_MSIX, PCI_CAP_ID_MSIX, 0);
    fake_put(c + FAKE_CAP_MSIX + PCI_MSIX_FLAGS, FAKE_MSIX_NVEC - 1, 2);
    fake_put(c + FAKE_CAP_MSIX + PCI_MSIX_TABLE, FAKE_MSIX_TABLE | 0, 4);
    fake_put(c + FAKE_CAP_MSIX + PCI_MSIX_PBA, FAKE_MSIX_PBA | 0, 4);
    fake_put(c + 0x100, PCI_EXT_CAP_ID_ERR | 1u << 16, 4); /* AER, hidden from the guest */
    return 0;
}

static inline void fake_vfio_dev_destroy(struct fake_vfio_dev *f)
{
    if (f->bar0)
        munmap(f->bar0, FAKE_BAR0_SIZE);
    f->bar0 = NULL;
}

static inline struct vfio_dev_ops fake_vfio_dev_ops(struct fake_vfio_dev *f)
{
    return (struct vfio_dev_ops){
        .region_info = fake_region_info,
        .region_read = fake_region_read,
        .region_write = fake_region_write,
        .region_mmap = fake_region_mmap,
        .region_munmap = fake_region_munmap,
        .irq_count = fake_irq_count,
        .set_irq_fds = fake_set_irq_fds,
        .set_intx_unmask_fd = fake_set_intx_unmask_fd,
        .reset = fake_reset,
        .opaque = f,
    };
}

/* A recording memory-slot sink. */
#define FAKE_MAX_SLOTS 32
struct fake_slots {
    struct { bool used; uint64_t gpa, size; void *host; } slot[FAKE_MAX_SLOTS];
    unsigned adds, removes;
};

static inline int fake_slot_add(void *opaque, uint64_t gpa, uint64_t size, void *host)
{
    struct fake_slots *s = opaque;
    for (int i = 0; i < FAKE_MAX_SLOTS; i++) {
        if (!s->slot[i].used) {
            s->slot[i].used = true;
            s->slot[i].gpa = gpa;
            s->slot[i].size = size;
            s->slot[i].host = host;
            s->adds++;
            return i;
        }
    }
    return -ENOSPC;
}

static inline void fake_slot_remove(void *opaque, int handle)
{
    struct fake_slots *s = opaque;
    if (handle >= 0 && handle < FAKE_MAX_SLOTS && s->slot[handle].used) {
        s->slot[handle].used = false;
        s->removes++;
    }
}

static inline unsigned fake_slots_used(const struct fake_slots *s)
{
    unsigned n = 0;
    for (int i = 0; i < FAKE_MAX_SLOTS; i++)
        n += s->slot[i].used;
    return n;
}

/* The used slot at `gpa`, or NULL. */
static inline const void *fake_slot_find(const struct fake_slots *s, uint64_t gpa,
                                         uint64_t *size, void **host)
{
    for (int i = 0; i < FAKE_MAX_SLOTS; i++) {
        if (s->slot[i].used && s->slot[i].gpa == gpa) {
            *size = s->slot[i].size;
            *host = s->slot[i].host;
            return &s->slot[i];
        }
    }
    return NULL;
}

#endif
