/* SPDX-License-Identifier: MIT */
/*
 * The VFIO type1 backend of a vfio_domain: a container (/dev/vfio/vfio) with
 * the VFIO_TYPE1v2_IOMMU model, the IOMMU groups attached to it, DMA maps
 * and unmaps, and the memlock check that pinning guest RAM needs.
 */
#define LOG_MODULE "vfio"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices/vfio/vfio_internal.h"
#include "vmm/log.h"

/* Every open group of the process: a group belongs to one container, so a
 * second domain asking for it is told so instead of getting EBUSY. Changed
 * only by open/close, which are not concurrent (vfio.h). */
static struct vfio_group *vfio_groups;

/* The access error of a /dev/vfio node, as one line. */
static int vfio_node_error(const char *path, const char *what, int e, char *err, size_t errlen)
{
    if (e == ENOENT)
        snprintf(err, errlen, "%s%s does not exist: the vfio-pci module is not loaded "
                 "(modprobe vfio-pci)", path, what);
    else if (e == EACCES || e == EPERM)
        snprintf(err, errlen, "%s%s: permission denied: run as root or chown it to this user",
                 path, what);
    else if (e == EBUSY)
        snprintf(err, errlen, "%s%s is in use by another process (another VMM?)", path, what);
    else
        snprintf(err, errlen, "%s%s: cannot open: %s", path, what, strerror(e));
    return -e;
}

/* Check the API version and type1v2 support of an open container. */
static int vfio_container_check(int fd, const char *path, char *err, size_t errlen)
{
    int v = ioctl(fd, VFIO_GET_API_VERSION);
    if (v < 0) {
        snprintf(err, errlen, "%s is not a VFIO container device (VFIO_GET_API_VERSION: %s)",
                 path, strerror(errno));
        return -ENOTTY;
    }
    if (v != VFIO_API_VERSION) {
        snprintf(err, errlen, "%s speaks VFIO API %d, sluice needs %d: update the host kernel",
                 path, v, VFIO_API_VERSION);
        return -EINVAL;
    }
    if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
        snprintf(err, errlen, "%s lacks the type1v2 IOMMU model: load vfio_iommu_type1 "
                 "(modprobe vfio_iommu_type1) on a host with its IOMMU on", path);
        return -EOPNOTSUPP;
    }
    return 0;
}

int vfio_domain_open_at(const char *path, struct vfio_domain **out, char *err, size_t errlen)
{
    /*
     * Backend seam: an iommufd backend (an IOAS per domain, devices through
     * /dev/vfio/devices/vfioX cdevs) would be chosen here when /dev/iommu
     * exists, behind the same vfio.h functions.
     */
    if (access(VFIO_IOMMUFD_PATH, F_OK) == 0)
        LOG_DEBUG("%s present, but the iommufd backend is not implemented: using VFIO type1",
                  VFIO_IOMMUFD_PATH);
    struct vfio_domain *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "vfio: out of memory");
        return -ENOMEM;
    }
    int ret;
    d->container_fd = open(path, O_RDWR | O_CLOEXEC);
    if (d->container_fd < 0) {
        ret = vfio_node_error(path, "", errno, err, errlen);
        goto free_domain;
    }
    ret = vfio_container_check(d->container_fd, path, err, errlen);
    if (ret)
        goto close_container;
    *out = d;
    return 0;

close_container:
    close(d->container_fd);
free_domain:
    free(d);
    return ret;
}

int vfio_domain_open(struct vfio_domain **out, char *err, size_t errlen)
{
    return vfio_domain_open_at(VFIO_CONTAINER_PATH, out, err, errlen);
}

void vfio_domain_close(struct vfio_domain *d)
{
    if (!d)
        return;
    if (d->ngroups)
        LOG_WARN("domain closed with %u IOMMU group(s) still attached", d->ngroups);
    close(d->container_fd);
    free(d);
}

int vfio_domain_map(struct vfio_domain *d, uint64_t iova, uint64_t size, void *vaddr, bool read,
                    bool write)
{
    if (!d->iommu_set)
        return -ENODEV; /* no device attached yet: the container has no IOMMU */
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = (read ? VFIO_DMA_MAP_FLAG_READ : 0) | (write ? VFIO_DMA_MAP_FLAG_WRITE : 0),
        .vaddr = (uint64_t)(uintptr_t)vaddr,
        .iova = iova,
        .size = size,
    };
    if (ioctl(d->container_fd, VFIO_IOMMU_MAP_DMA, &map) == 0)
        return 0;
    int e = errno;
    LOG_RATELIMITED(LOG_LEVEL_WARN, "MAP_DMA iova 0x%llx size 0x%llx: %s",
                    (unsigned long long)iova, (unsigned long long)size, strerror(e));
    return -e;
}

int vfio_domain_unmap(struct vfio_domain *d, uint64_t iova, uint64_t size)
{
    if (!d->iommu_set)
        return -ENODEV;
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .iova = iova,
        .size = size,
    };
    if (ioctl(d->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) != 0) {
        int e = errno;
        LOG_RATELIMITED(LOG_LEVEL_WARN, "UNMAP_DMA iova 0x%llx size 0x%llx: %s",
                        (unsigned long long)iova, (unsigned long long)size, strerror(e));
        return -e;
    }
    if (unmap.size != size) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "UNMAP_DMA iova 0x%llx size 0x%llx unmapped 0x%llx",
                        (unsigned long long)iova, (unsigned long long)size,
                        (unsigned long long)unmap.size);
        return -EINVAL;
    }
    return 0;
}

/* Does the process hold CAP_IPC_LOCK in its effective set? */
static bool vfio_has_ipc_lock(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &hdr, data) != 0)
        return false;
    return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK);
}

int vfio_check_memlock(uint64_t bytes, char *err, size_t errlen)
{
    struct rlimit rl;
    if (vfio_has_ipc_lock())
        return 0;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        bytes <= rl.rlim_cur)
        return 0;
    snprintf(err, errlen, "memlock limit is %llu MiB but guest RAM needs %llu MiB pinned for "
             "VFIO: raise it (ulimit -l / LimitMEMLOCK=) or run as root",
             (unsigned long long)(rl.rlim_cur >> 20), (unsigned long long)((bytes + (1 << 20) - 1) >> 20));
    return -ENOMEM;
}

/* The kernel refuses non-viable groups; say which device makes it so. */
static int vfio_group_check_viable(int fd, int number, const char *root, const char *bdf,
                                   char *err, size_t errlen)
{
    struct vfio_group_status st = {.argsz = sizeof(st)};
    if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "IOMMU group %d of %s: VFIO_GROUP_GET_STATUS: %s", number, bdf,
                 strerror(e));
        return -e;
    }
    if (st.flags & VFIO_GROUP_FLAGS_VIABLE)
        return 0;
    if (vfio_sysfs_group_viable(root, number, err, errlen) == 0)
        snprintf(err, errlen, "IOMMU group %d of %s is not viable: bind every device in "
                 "%s/kernel/iommu_groups/%d/devices to vfio-pci or unbind it", number, bdf, root,
                 number);
    return -EBUSY;
}

/* Attach an opened group to d's container; the first one sets the IOMMU. */
static int vfio_group_attach(struct vfio_domain *d, int fd, int number, const char *bdf,
                             char *err, size_t errlen)
{
    if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &d->container_fd) != 0) {
        int e = errno;
        if (e == EBUSY)
            snprintf(err, errlen, "IOMMU group %d of %s is in use by another process "
                     "(another VMM?)", number, bdf);
        else
            snprintf(err, errlen, "IOMMU group %d of %s: VFIO_GROUP_SET_CONTAINER: %s", number,
                     bdf, strerror(e));
        return -e;
    }
    if (d->iommu_set)
        return 0;
    if (ioctl(d->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: VFIO_SET_IOMMU(type1v2): %s", bdf, strerror(e));
        ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
        return -e;
    }
    d->iommu_set = true;
    return 0;
}

static struct vfio_group *vfio_group_find(int number)
{
    for (struct vfio_group *g = vfio_groups; g; g = g->next)
        if (g->number == number)
            return g;
    return NULL;
}

struct vfio_group *vfio_group_get(struct vfio_domain *d, int number, const char *root,
                                  const char *bdf, int *ret, char *err, size_t errlen)
{
    char path[64], what[96];
    struct vfio_group *g = vfio_group_find(number);
    if (g && g->domain != d) {
        snprintf(err, errlen, "%s shares IOMMU group %d with a device in another DMA domain: "
                 "devices of one group must share one (same iommu= setting)", bdf, number);
        *ret = -EBUSY;
        return NULL;
    }
    if (g) {
        g->refs++;
        return g;
    }
    g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "vfio: out of memory");
        *ret = -ENOMEM;
        return NULL;
    }
    snprintf(path, sizeof(path), "/dev/vfio/%d", number);
    snprintf(what, sizeof(what), " (IOMMU group of %s)", bdf);
    g->fd = open(path, O_RDWR | O_CLOEXEC);
    if (g->fd < 0) {
        *ret = vfio_node_error(path, what, errno, err, errlen);
        goto free_group;
    }
    *ret = vfio_group_check_viable(g->fd, number, root, bdf, err, errlen);
    if (!*ret)
        *ret = vfio_group_attach(d, g->fd, number, bdf, err, errlen);
    if (*ret)
        goto close_group;
    g->number = number;
    g->refs = 1;
    g->domain = d;
    g->next = vfio_groups;
    vfio_groups = g;
    d->ngroups++;
    return g;

close_group:
    close(g->fd);
free_group:
    free(g);
    return NULL;
}

void vfio_group_put(struct vfio_group *g)
{
    if (!g || --g->refs)
        return;
    for (struct vfio_group **pp = &vfio_groups; *pp; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    }
    struct vfio_domain *d = g->domain;
    if (ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER) != 0)
        LOG_WARN("IOMMU group %d: VFIO_GROUP_UNSET_CONTAINER: %s", g->number, strerror(errno));
    close(g->fd);
    free(g);
    /* the last group out takes the container's IOMMU (and mappings) with it */
    if (--d->ngroups == 0)
        d->iommu_set = false;
}
