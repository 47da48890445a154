/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "mem"
#include "vmm/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/layout.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

static void guest_mem_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size,
                                 uint64_t fd_offset)
{
    struct guest_mem_region *r = &gm->regions[gm->nregions++];
    r->gpa = gpa;
    r->size = size;
    r->fd_offset = fd_offset;
    r->host = gm->base + fd_offset;
}

int guest_mem_create(struct guest_mem *gm, uint64_t size, bool hugepages)
{
    uint64_t align = hugepages ? 2 * LAYOUT_MiB : 4 * LAYOUT_KiB;
    int ret;

    memset(gm, 0, sizeof(*gm));
    gm->fd = -1;
    if (size == 0 || size % align)
        return -EINVAL;

    int fd = memfd_create("sluice-ram", MFD_CLOEXEC | (hugepages ? MFD_HUGETLB : 0));
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0) {
        ret = -errno;
        goto err_close;
    }
    /* Huge pages are reserved at mmap time, so a short pool fails here with
     * ENOMEM instead of a SIGBUS on first touch; normal RAM is overcommitted. */
    int flags = MAP_SHARED | (hugepages ? 0 : MAP_NORESERVE);
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (base == MAP_FAILED) {
        ret = -errno;
        goto err_close;
    }
    /* Guest RAM never belongs in a core dump of sluice. */
    madvise(base, size, MADV_DONTDUMP);

    gm->fd = fd;
    gm->base = base;
    gm->size = size;
    gm->hugepages = hugepages;
    uint64_t low = size < LAYOUT_MMIO_HOLE_START ? size : LAYOUT_MMIO_HOLE_START;
    guest_mem_add_region(gm, 0, low, 0);
    if (size > low)
        guest_mem_add_region(gm, LAYOUT_RAM_HIGH_START, size - low, low);
    return 0;

err_close:
    close(fd);
    return ret;
}

void guest_mem_destroy(struct guest_mem *gm)
{
    if (gm->base)
        munmap(gm->base, gm->size);
    if (gm->fd >= 0)
        close(gm->fd);
    memset(gm, 0, sizeof(*gm));
    gm->fd = -1;
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        len = 1;
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *r = &gm->regions[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r->host + (gpa - r->gpa);
    }
    return NULL;
}

int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, uint64_t len)
{
    void *p = guest_mem_ptr(gm, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, buf, len);
    return 0;
}

int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t len)
{
    const void *p = guest_mem_ptr(gm, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(buf, p, len);
    return 0;
}

uint64_t guest_mem_end(const struct guest_mem *gm)
{
    if (gm->nregions == 0)
        return 0;
    const struct guest_mem_region *r = &gm->regions[gm->nregions - 1];
    return r->gpa + r->size;
}
