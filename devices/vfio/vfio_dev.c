/* SPDX-License-Identifier: MIT */
/*
 * An opened passthrough device (the VFIO device fd) and the real struct
 * vfio_dev_ops over it: regions (info with the sparse-mmap capability,
 * pread/pwrite, mmap), interrupts (VFIO_DEVICE_SET_IRQS with eventfds, the
 * INTx unmask eventfd) and reset.
 *
 * Region and irq information is read once at open and is immutable after
 * it, so region ops need no lock; interrupt state is under irq_lock.
 */
#define LOG_MODULE "vfio"

#include <errno.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/vfio/vfio_internal.h"
#include "vmm/log.h"

/* Regions past the fixed vfio-pci ones are device specific; keep a few. */
#define VFIO_DEV_MAX_REGIONS 16
/* A capability chain longer than this is malformed. */
#define VFIO_CAP_MAX_HOPS 32

struct vfio_dev_region {
    struct vfio_region r;
    uint64_t offset; /* in the device fd */
};

/* One irq index (VFIO_PCI_*_IRQ_INDEX). */
struct vfio_dev_irq {
    unsigned count;   /* vectors the device has */
    uint32_t flags;   /* VFIO_IRQ_INFO_* */
    unsigned enabled; /* vectors the kernel enabled the index with; 0: off */
    int *fds;         /* count entries: the eventfd of each vector, -1 none */
};

struct vfio_dev {
    struct vfio_domain *domain;
    struct vfio_group *group;
    int fd;
    char name[VFIO_PCI_NAME_LEN];
    uint32_t flags; /* VFIO_DEVICE_FLAGS_* */
    unsigned nregions;
    struct vfio_dev_region regions[VFIO_DEV_MAX_REGIONS];
    pthread_mutex_t irq_lock;
    struct vfio_dev_irq irqs[VFIO_PCI_NUM_IRQS];
    struct vfio_dev *next;
};

/* Every open device, to refuse one given twice. */
static struct vfio_dev *vfio_devs;

/* ---- region information ---- */

static void vfio_region_sparse(const void *info, size_t len, size_t off, struct vfio_region *out)
{
    const struct vfio_region_info_cap_sparse_mmap *cap =
        (const void *)((const char *)info + off);
    out->nmmap = 0; /* malformed: trap the whole region rather than guess */
    if (off + sizeof(*cap) > len ||
        cap->nr_areas > (len - off - sizeof(*cap)) / sizeof(cap->areas[0])) {
        LOG_WARN("region %u: sparse mmap capability runs past the region info", out->index);
        return;
    }
    for (uint32_t i = 0; i < cap->nr_areas; i++) {
        uint64_t o = cap->areas[i].offset, s = cap->areas[i].size;
        if (s == 0)
            continue;
        if (o > out->size || s > out->size - o) {
            LOG_WARN("region %u: mmap area 0x%llx+0x%llx outside the region, ignored",
                     out->index, (unsigned long long)o, (unsigned long long)s);
            continue;
        }
        if (out->nmmap == VFIO_REGION_MAX_MMAP_AREAS) {
            LOG_WARN("region %u: more than %d mmap areas; the rest is trapped", out->index,
                     VFIO_REGION_MAX_MMAP_AREAS);
            break;
        }
        out->mmap[out->nmmap].offset = o;
        out->mmap[out->nmmap].size = s;
        out->nmmap++;
    }
}

void vfio_region_from_info(const void *buf, size_t len, struct vfio_region *out,
                           uint64_t *offset)
{
    const struct vfio_region_info *info = buf;
    unsigned index = out->index;
    *out = (struct vfio_region){.index = index};
    *offset = 0;
    if (len < sizeof(*info))
        return;
    out->size = info->size;
    out->flags = info->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                                VFIO_REGION_INFO_FLAG_MMAP);
    *offset = info->offset;
    if ((info->flags & VFIO_REGION_INFO_FLAG_MMAP) && info->size) {
        out->nmmap = 1;
        out->mmap[0].offset = 0;
        out->mmap[0].size = info->size;
    }
    if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
        return;
    size_t off = info->cap_offset;
    for (int hop = 0; off && hop < VFIO_CAP_MAX_HOPS; hop++) {
        const struct vfio_info_cap_header *h = (const void *)((const char *)buf + off);
        if (off < sizeof(*info) || off % 4 || off + sizeof(*h) > len) {
            LOG_WARN("region %u: malformed capability chain; no mmap", index);
            out->nmmap = 0;
            break;
        }
        if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP && (info->flags & VFIO_REGION_INFO_FLAG_MMAP))
            vfio_region_sparse(buf, len, off, out);
        off = h->next;
    }
}

/* GET_REGION_INFO for `index`, growing the buffer when the kernel asks
 * (argsz) for room for its capabilities. */
static int vfio_dev_query_region(struct vfio_dev *dev, unsigned index,
                                 struct vfio_dev_region *out)
{
    size_t len = sizeof(struct vfio_region_info);
    struct vfio_region_info *info = NULL;
    int ret = 0;
    for (int tries = 0; tries < 3; tries++) {
        struct vfio_region_info *bigger = realloc(info, len);
        if (!bigger) {
            ret = -ENOMEM;
            break;
        }
        info = bigger;
        memset(info, 0, len);
        info->argsz = (uint32_t)len;
        info->index = index;
        if (ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, info) != 0) {
            ret = -errno;
            break;
        }
        if (info->argsz <= len) {
            out->r.index = index;
            vfio_region_from_info(info, len, &out->r, &out->offset);
            break;
        }
        len = info->argsz;
    }
    free(info);
    return ret;
}

/* ---- struct vfio_dev_ops ---- */

static int vfio_op_region_info(void *opaque, unsigned index, struct vfio_region *out)
{
    struct vfio_dev *dev = opaque;
    if (index >= dev->nregions) {
        *out = (struct vfio_region){.index = index};
        return 0;
    }
    *out = dev->regions[index].r;
    return 0;
}

/* The fd offset of [off, off + len) in region index, or -EINVAL outside it. */
static int vfio_region_pos(struct vfio_dev *dev, unsigned index, uint64_t off, uint64_t len,
                           uint32_t need, off_t *pos)
{
    if (index >= dev->nregions)
        return -EINVAL;
    const struct vfio_dev_region *r = &dev->regions[index];
    if (!(r->r.flags & need) || off > r->r.size || len > r->r.size - off)
        return -EINVAL;
    *pos = (off_t)(r->offset + off);
    return 0;
}

static int vfio_op_region_read(void *opaque, unsigned index, uint64_t off, void *buf, size_t len)
{
    struct vfio_dev *dev = opaque;
    off_t pos;
    ssize_t n;
    int ret = vfio_region_pos(dev, index, off, len, VFIO_REGION_INFO_FLAG_READ, &pos);
    if (ret)
        return ret;
    do
        n = pread(dev->fd, buf, len, pos);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
}

static int vfio_op_region_write(void *opaque, unsigned index, uint64_t off, const void *buf,
                                size_t len)
{
    struct vfio_dev *dev = opaque;
    off_t pos;
    ssize_t n;
    int ret = vfio_region_pos(dev, index, off, len, VFIO_REGION_INFO_FLAG_WRITE, &pos);
    if (ret)
        return ret;
    do
        n = pwrite(dev->fd, buf, len, pos);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
}

/* Does [off, off + size) lie inside one mmap area of region r? */
static bool vfio_region_mappable(const struct vfio_region *r, uint64_t off, uint64_t size)
{
    for (unsigned i = 0; i < r->nmmap; i++)
        if (off >= r->mmap[i].offset && off - r->mmap[i].offset <= r->mmap[i].size &&
            size <= r->mmap[i].size - (off - r->mmap[i].offset))
            return true;
    return false;
}

static void *vfio_op_region_mmap(void *opaque, unsigned index, uint64_t off, uint64_t size)
{
    struct vfio_dev *dev = opaque;
    off_t pos;
    if (size == 0 ||
        vfio_region_pos(dev, index, off, size, VFIO_REGION_INFO_FLAG_MMAP, &pos) ||
        !vfio_region_mappable(&dev->regions[index].r, off, size)) {
        LOG_WARN("%s: region %u: 0x%llx+0x%llx is not mmappable", dev->name, index,
                 (unsigned long long)off, (unsigned long long)size);
        return NULL;
    }
    uint32_t flags = dev->regions[index].r.flags;
    int prot = (flags & VFIO_REGION_INFO_FLAG_READ ? PROT_READ : 0) |
               (flags & VFIO_REGION_INFO_FLAG_WRITE ? PROT_WRITE : 0);
    void *p = mmap(NULL, size, prot, MAP_SHARED, dev->fd, pos);
    if (p == MAP_FAILED) {
        LOG_WARN("%s: region %u: mmap 0x%llx+0x%llx: %s", dev->name, index,
                 (unsigned long long)off, (unsigned long long)size, strerror(errno));
        return NULL;
    }
    return p;
}

static void vfio_op_region_munmap(void *opaque, void *addr, uint64_t size)
{
    if (addr)
        munmap(addr, size);
}

static unsigned vfio_op_irq_count(void *opaque, unsigned index)
{
    struct vfio_dev *dev = opaque;
    return index < VFIO_PCI_NUM_IRQS ? dev->irqs[index].count : 0;
}

/* One VFIO_DEVICE_SET_IRQS; fds NULL: DATA_NONE. */
static int vfio_irq_ioctl(struct vfio_dev *dev, uint32_t action, unsigned index, unsigned start,
                          unsigned count, const int *fds)
{
    size_t data = fds ? count * sizeof(int32_t) : 0;
    struct vfio_irq_set *set = calloc(1, sizeof(*set) + data);
    if (!set)
        return -ENOMEM;
    set->argsz = (uint32_t)(sizeof(*set) + data);
    set->flags = action | (fds ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
    set->index = index;
    set->start = start;
    set->count = count;
    if (fds)
        memcpy(set->data, fds, data);
    int ret = ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set) == 0 ? 0 : -errno;
    free(set);
    if (ret)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: SET_IRQS index %u %u+%u: %s", dev->name, index,
                        start, count, strerror(-ret));
    return ret;
}

/* Turn an index off and forget its eventfds. */
static int vfio_irq_disable(struct vfio_dev *dev, unsigned index)
{
    struct vfio_dev_irq *irq = &dev->irqs[index];
    int ret = 0;
    if (irq->enabled)
        ret = vfio_irq_ioctl(dev, VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 0, NULL);
    irq->enabled = 0;
    for (unsigned i = 0; i < irq->count; i++)
        irq->fds[i] = -1;
    return ret;
}

/* INTx, MSI and MSI-X exclude each other: enabling one turns the others off,
 * as the kernel requires (the guest enabling MSI disables INTx likewise). */
static void vfio_irq_exclusive(struct vfio_dev *dev, unsigned index)
{
    static const unsigned types[] = {VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX,
                                     VFIO_PCI_MSIX_IRQ_INDEX};
    bool is_type = false;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        is_type |= types[i] == index;
    for (size_t i = 0; is_type && i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i] != index && dev->irqs[types[i]].enabled)
            (void)vfio_irq_disable(dev, types[i]);
}

/* Enable the index afresh with `n` vectors and the current eventfds. */
static int vfio_irq_enable(struct vfio_dev *dev, unsigned index, unsigned n)
{
    struct vfio_dev_irq *irq = &dev->irqs[index];
    int ret = 0;
    if (irq->enabled)
        ret = vfio_irq_ioctl(dev, VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 0, NULL);
    irq->enabled = 0;
    if (ret)
        return ret;
    vfio_irq_exclusive(dev, index);
    ret = vfio_irq_ioctl(dev, VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, n, irq->fds);
    if (!ret)
        irq->enabled = n;
    return ret;
}

static int vfio_irq_set_locked(struct vfio_dev *dev, unsigned index, unsigned start,
                               unsigned count, const int *fds)
{
    struct vfio_dev_irq *irq = &dev->irqs[index];
    if (count == 0)
        return vfio_irq_disable(dev, index);
    if (start > irq->count || count > irq->count - start)
        return -EINVAL;
    for (unsigned i = 0; i < count; i++)
        irq->fds[start + i] = fds[i];
    unsigned needed = start + count;
    /* Off: enable with the vectors named. A fixed-size index (NORESIZE:
     * every kernel for MSI, MSI-X before dynamic allocation) grows only by
     * disabling and re-enabling it with the larger count. */
    if (!irq->enabled || (needed > irq->enabled && (irq->flags & VFIO_IRQ_INFO_NORESIZE)))
        return vfio_irq_enable(dev, index, needed);
    int ret = vfio_irq_ioctl(dev, VFIO_IRQ_SET_ACTION_TRIGGER, index, start, count, fds);
    if (!ret && needed > irq->enabled)
        irq->enabled = needed;
    return ret;
}

static int vfio_op_set_irq_fds(void *opaque, unsigned index, unsigned start, unsigned count,
                               const int *fds)
{
    struct vfio_dev *dev = opaque;
    if (index >= VFIO_PCI_NUM_IRQS || !dev->irqs[index].count || (count && !fds))
        return -EINVAL;
    pthread_mutex_lock(&dev->irq_lock);
    int ret = vfio_irq_set_locked(dev, index, start, count, fds);
    pthread_mutex_unlock(&dev->irq_lock);
    return ret;
}

static int vfio_op_set_intx_unmask_fd(void *opaque, int fd)
{
    struct vfio_dev *dev = opaque;
    int32_t data = fd;
    if (!dev->irqs[VFIO_PCI_INTX_IRQ_INDEX].count)
        return -EINVAL;
    pthread_mutex_lock(&dev->irq_lock);
    int ret = vfio_irq_ioctl(dev, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
                             &data);
    pthread_mutex_unlock(&dev->irq_lock);
    return ret;
}

static int vfio_op_reset(void *opaque)
{
    struct vfio_dev *dev = opaque;
    if (!(dev->flags & VFIO_DEVICE_FLAGS_RESET))
        return -ENOTTY;
    return ioctl(dev->fd, VFIO_DEVICE_RESET) == 0 ? 0 : -errno;
}

struct vfio_dev_ops vfio_dev_ops_of(struct vfio_dev *dev)
{
    return (struct vfio_dev_ops){
        .region_info = vfio_op_region_info,
        .region_read = vfio_op_region_read,
        .region_write = vfio_op_region_write,
        .region_mmap = vfio_op_region_mmap,
        .region_munmap = vfio_op_region_munmap,
        .irq_count = vfio_op_irq_count,
        .set_irq_fds = vfio_op_set_irq_fds,
        .set_intx_unmask_fd = vfio_op_set_intx_unmask_fd,
        .reset = vfio_op_reset,
        .opaque = dev,
    };
}

/* ---- open / close ---- */

static int vfio_dev_query_irqs(struct vfio_dev *dev)
{
    for (unsigned i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
        struct vfio_irq_info info = {.argsz = sizeof(info), .index = i};
        struct vfio_dev_irq *irq = &dev->irqs[i];
        if (ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &info) != 0 || !info.count)
            continue; /* an index the device (or kernel) does not have */
        irq->fds = malloc(info.count * sizeof(int));
        if (!irq->fds)
            return -ENOMEM;
        irq->count = info.count;
        irq->flags = info.flags;
        for (unsigned v = 0; v < irq->count; v++)
            irq->fds[v] = -1;
    }
    return 0;
}

/* Device info, regions and irqs of a freshly opened device fd. */
static int vfio_dev_query(struct vfio_dev *dev, char *err, size_t errlen)
{
    struct vfio_device_info info = {.argsz = sizeof(info)};
    if (ioctl(dev->fd, VFIO_DEVICE_GET_INFO, &info) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: VFIO_DEVICE_GET_INFO: %s", dev->name, strerror(e));
        return -e;
    }
    if (!(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
        snprintf(err, errlen, "%s is not a PCI device to VFIO (flags 0x%x)", dev->name,
                 info.flags);
        return -ENODEV;
    }
    dev->flags = info.flags;
    dev->nregions = info.num_regions < VFIO_DEV_MAX_REGIONS ? info.num_regions
                                                            : VFIO_DEV_MAX_REGIONS;
    for (unsigned i = 0; i < dev->nregions; i++) {
        int ret = vfio_dev_query_region(dev, i, &dev->regions[i]);
        if (ret == -ENOMEM) {
            snprintf(err, errlen, "vfio: out of memory");
            return ret;
        }
        if (ret) /* a region the device lacks (e.g. VGA): size 0 */
            dev->regions[i].r = (struct vfio_region){.index = i};
    }
    if (vfio_dev_query_irqs(dev)) {
        snprintf(err, errlen, "vfio: out of memory");
        return -ENOMEM;
    }
    return 0;
}

static void vfio_dev_free(struct vfio_dev *dev)
{
    for (unsigned i = 0; i < VFIO_PCI_NUM_IRQS; i++)
        free(dev->irqs[i].fds);
    pthread_mutex_destroy(&dev->irq_lock);
    free(dev);
}

/* Resolve spec to a device name, refusing one already open. */
static int vfio_dev_name_of(const char *root, const char *spec, char *name, char *err,
                            size_t errlen)
{
    int ret = vfio_resolve_device(root, spec, name, VFIO_PCI_NAME_LEN);
    if (ret == -EINVAL) {
        snprintf(err, errlen, "vfio=%s: not a PCI address (DDDD:BB:DD.F or BB:DD.F) or a PCI "
                 "device directory under %s/bus/pci/devices", spec, root);
        return ret;
    }
    if (ret) {
        snprintf(err, errlen, "vfio=%s: no such PCI device on this host (lspci -D lists them)",
                 spec);
        return ret;
    }
    for (struct vfio_dev *d = vfio_devs; d; d = d->next) {
        if (strcmp(d->name, name) == 0) {
            snprintf(err, errlen, "vfio=%s: %s is already passed through; give it once", spec,
                     name);
            return -EEXIST;
        }
    }
    return 0;
}

static int vfio_dev_get_fd(struct vfio_dev *dev, char *err, size_t errlen)
{
    dev->fd = ioctl(dev->group->fd, VFIO_GROUP_GET_DEVICE_FD, dev->name);
    if (dev->fd >= 0)
        return 0;
    int e = errno;
    if (e == EBUSY)
        snprintf(err, errlen, "%s is in use by another process (another VMM?)", dev->name);
    else
        snprintf(err, errlen, "%s: VFIO_GROUP_GET_DEVICE_FD: %s", dev->name, strerror(e));
    return -e;
}

int vfio_dev_open_at(struct vfio_domain *d, const char *root, const char *spec,
                     struct vfio_dev **out, char *err, size_t errlen)
{
    int group, ret;
    struct vfio_dev *dev = calloc(1, sizeof(*dev));
    if (!dev) {
        snprintf(err, errlen, "vfio: out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&dev->irq_lock, NULL);
    dev->domain = d;
    dev->fd = -1;
    ret = vfio_dev_name_of(root, spec, dev->name, err, errlen);
    if (!ret)
        ret = vfio_sysfs_check(root, dev->name, &group, err, errlen);
    if (ret)
        goto free_dev;
    dev->group = vfio_group_get(d, group, root, dev->name, &ret, err, errlen);
    if (!dev->group)
        goto free_dev;
    ret = vfio_dev_get_fd(dev, err, errlen);
    if (ret)
        goto put_group;
    ret = vfio_dev_query(dev, err, errlen);
    if (ret)
        goto close_fd;
    dev->next = vfio_devs;
    vfio_devs = dev;
    *out = dev;
    return 0;

close_fd:
    close(dev->fd);
put_group:
    vfio_group_put(dev->group);
free_dev:
    vfio_dev_free(dev);
    return ret;
}

int vfio_dev_open(struct vfio_domain *d, const char *spec, struct vfio_dev **out, char *err,
                  size_t errlen)
{
    return vfio_dev_open_at(d, VFIO_SYSFS_ROOT, spec, out, err, errlen);
}

void vfio_dev_close(struct vfio_dev *dev)
{
    if (!dev)
        return;
    for (struct vfio_dev **pp = &vfio_devs; *pp; pp = &(*pp)->next) {
        if (*pp == dev) {
            *pp = dev->next;
            break;
        }
    }
    /* closing the fd releases the device's interrupts in the kernel */
    close(dev->fd);
    vfio_group_put(dev->group);
    vfio_dev_free(dev);
}

const char *vfio_dev_name(const struct vfio_dev *dev)
{
    return dev->name;
}
