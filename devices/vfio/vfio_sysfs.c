/* SPDX-License-Identifier: MIT */
/*
 * sysfs lookups for VFIO: resolve a --device vfio= spec to a PCI address,
 * and explain from /sys/bus/pci/devices and /sys/kernel/iommu_groups why a
 * device cannot be passed through (host IOMMU off, not bound to vfio-pci, a
 * group that is not viable). The kernel decides; this only names the cause
 * and the fix.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/vfio/vfio_internal.h"

/* Exactly `n` hex digits at s; value into *out. */
static int vfio_hex_field(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return -EINVAL;
        v = v * 16 + (unsigned)(isdigit((unsigned char)s[i]) ? s[i] - '0'
                                                               : tolower((unsigned char)s[i]) - 'a' + 10);
    }
    *out = v;
    return 0;
}

int vfio_pci_addr_parse(const char *s, char *out, size_t outlen)
{
    unsigned dom = 0, bus, dev, fn;
    size_t len = s ? strlen(s) : 0;
    if (len == 12) {
        if (vfio_hex_field(s, 4, &dom) || s[4] != ':')
            return -EINVAL;
        s += 5;
    } else if (len != 7) {
        return -EINVAL;
    }
    if (vfio_hex_field(s, 2, &bus) || s[2] != ':' || vfio_hex_field(s + 3, 2, &dev) ||
        s[5] != '.' || s[6] < '0' || s[6] > '7' || dev > 0x1f)
        return -EINVAL;
    fn = (unsigned)(s[6] - '0');
    if (outlen < VFIO_PCI_NAME_LEN)
        return -EINVAL;
    snprintf(out, outlen, "%04x:%02x:%02x.%u", dom, bus, dev, fn);
    return 0;
}

/* The last component of a path, ignoring trailing slashes, into buf. */
static int vfio_path_basename(const char *path, char *buf, size_t len)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    if (end - start >= len)
        return -EINVAL;
    memcpy(buf, path + start, end - start);
    buf[end - start] = '\0';
    return 0;
}

static int vfio_sysfs_dev_path(const char *root, const char *bdf, const char *leaf, char *buf,
                               size_t len)
{
    int n = snprintf(buf, len, "%s/bus/pci/devices/%s%s%s", root, bdf, leaf ? "/" : "",
                     leaf ? leaf : "");
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int vfio_resolve_device(const char *sysfs_root, const char *spec, char *out, size_t outlen)
{
    char name[64], path[PATH_MAX];
    struct stat want, have;
    if (!spec || !*spec)
        return -EINVAL;
    if (outlen < VFIO_PCI_NAME_LEN)
        return -EINVAL;
    if (spec[0] != '/') {
        if (vfio_pci_addr_parse(spec, name, sizeof(name)))
            return -EINVAL;
        if (vfio_sysfs_dev_path(sysfs_root, name, NULL, path, sizeof(path)) || stat(path, &have))
            return -ENOENT;
        snprintf(out, outlen, "%s", name);
        return 0;
    }
    /* a sysfs directory: its name is the address, and it must be that device */
    if (vfio_path_basename(spec, path, sizeof(path)) ||
        vfio_pci_addr_parse(path, name, sizeof(name)) || strlen(path) != VFIO_PCI_NAME_LEN - 1)
        return -EINVAL;
    if (stat(spec, &want))
        return -ENOENT;
    if (vfio_sysfs_dev_path(sysfs_root, name, NULL, path, sizeof(path)) || stat(path, &have))
        return -ENOENT;
    if (want.st_dev != have.st_dev || want.st_ino != have.st_ino)
        return -EINVAL;
    snprintf(out, outlen, "%s", name);
    return 0;
}

/* Basename of the symlink target at `link` into buf; -ENOENT when absent. */
static int vfio_read_link_name(const char *link, char *buf, size_t len)
{
    char target[PATH_MAX];
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    return vfio_path_basename(target, buf, len);
}

/* The driver `bdf` is bound to into drv ("" when none). */
static void vfio_sysfs_driver(const char *root, const char *bdf, char *drv, size_t len)
{
    char link[PATH_MAX];
    drv[0] = '\0';
    if (vfio_sysfs_dev_path(root, bdf, "driver", link, sizeof(link)) == 0 &&
        vfio_read_link_name(link, drv, len) != 0)
        drv[0] = '\0';
}

/* vfio-pci and its variant drivers (mlx5_vfio_pci, ...). */
static bool vfio_driver_is_vfio(const char *drv)
{
    return strstr(drv, "vfio") != NULL;
}

/* Drivers the kernel lets share a viable group with a vfio device. */
static bool vfio_driver_allowed(const char *drv)
{
    return !drv[0] || vfio_driver_is_vfio(drv) || strcmp(drv, "pci-stub") == 0 ||
           strcmp(drv, "pcieport") == 0;
}

void vfio_sysfs_bind_hint(const char *root, const char *bdf, char *buf, size_t len)
{
    snprintf(buf, len, "echo vfio-pci > %s/bus/pci/devices/%s/driver_override; echo %s > "
             "%s/bus/pci/drivers_probe", root, bdf, bdf, root);
}

static int vfio_sysfs_group_of(const char *root, const char *bdf, int *group, char *err,
                               size_t errlen)
{
    char link[PATH_MAX], name[32], *end;
    if (vfio_sysfs_dev_path(root, bdf, "iommu_group", link, sizeof(link)) ||
        vfio_read_link_name(link, name, sizeof(name))) {
        snprintf(err, errlen, "%s has no IOMMU group: the host IOMMU is off (boot the host "
                 "with intel_iommu=on or amd_iommu=on)", bdf);
        return -ENODEV;
    }
    errno = 0;
    long n = strtol(name, &end, 10);
    if (errno || end == name || *end || n < 0 || n > INT_MAX) {
        snprintf(err, errlen, "%s: IOMMU group link %s points to '%s', not a group number",
                 bdf, link, name);
        return -ENODEV;
    }
    *group = (int)n;
    return 0;
}

static int vfio_sysfs_check_bound(const char *root, const char *bdf, char *err, size_t errlen)
{
    char drv[64], hint[2 * PATH_MAX];
    vfio_sysfs_driver(root, bdf, drv, sizeof(drv));
    if (vfio_driver_is_vfio(drv))
        return 0;
    vfio_sysfs_bind_hint(root, bdf, hint, sizeof(hint));
    if (drv[0])
        snprintf(err, errlen, "%s is bound to %s, not vfio-pci: bind it to vfio-pci (modprobe "
                 "vfio-pci; echo %s > %s/bus/pci/devices/%s/driver/unbind; %s)", bdf, drv, bdf,
                 root, bdf, hint);
    else
        snprintf(err, errlen, "%s is not bound to vfio-pci: bind it (modprobe vfio-pci; %s)",
                 bdf, hint);
    return -EPERM;
}

static int vfio_dirent_is_device(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int vfio_sysfs_group_viable(const char *root, int group, char *err, size_t errlen)
{
    char dir[PATH_MAX], drv[64], hint[2 * PATH_MAX];
    struct dirent **names;
    int ret = 0;
    snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%d/devices", root, group);
    int n = scandir(dir, &names, vfio_dirent_is_device, alphasort);
    if (n < 0)
        return 0; /* nothing to tell; the kernel's answer stands */
    for (int i = 0; i < n; i++) {
        const char *bdf = names[i]->d_name;
        vfio_sysfs_driver(root, bdf, drv, sizeof(drv));
        if (!ret && !vfio_driver_allowed(drv)) {
            vfio_sysfs_bind_hint(root, bdf, hint, sizeof(hint));
            snprintf(err, errlen, "IOMMU group %d is not viable: %s is bound to %s; unbind it "
                     "(echo %s > %s/bus/pci/devices/%s/driver/unbind), and to pass it through "
                     "as well bind it to vfio-pci (%s)", group, bdf, drv, bdf, root, bdf, hint);
            ret = -EBUSY;
        }
        free(names[i]);
    }
    free(names);
    return ret;
}

int vfio_sysfs_check(const char *root, const char *bdf, int *group, char *err, size_t errlen)
{
    int ret = vfio_sysfs_group_of(root, bdf, group, err, errlen);
    if (!ret)
        ret = vfio_sysfs_check_bound(root, bdf, err, errlen);
    if (!ret)
        ret = vfio_sysfs_group_viable(root, *group, err, errlen);
    return ret;
}
