/* SPDX-License-Identifier: MIT */
/*
 * VFIO host side without VFIO: resolving --device vfio= specs and explaining
 * why a device cannot be passed through, against a fake sysfs tree in a temp
 * directory; the container's error lines; the memlock check; parsing of
 * region info with a sparse-mmap capability chain.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices/vfio/vfio.h"
#include "devices/vfio/vfio_internal.h"
#include "tests/unit/check.h"

static char root[256];
static char err[2048];

static void mkdirs(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    mkdir(path, 0755);
}

/* root/link -> root/target (absolute, like readlink shows enough of). */
static void symlink_in(const char *target, const char *link)
{
    char t[1024], l[1024];
    snprintf(t, sizeof(t), "%s/%s", root, target);
    snprintf(l, sizeof(l), "%s/%s", root, link);
    unlink(l);
    CHECK_EQ(symlink(t, l), 0);
}

/* A PCI device in the fake tree: group < 0 for none, drv NULL for unbound. */
static void add_device(const char *bdf, int group, const char *drv)
{
    char rel[256], link[512];
    snprintf(rel, sizeof(rel), "devices/pci0000:00/%s", bdf);
    mkdirs(rel);
    snprintf(link, sizeof(link), "bus/pci/devices/%s", bdf);
    symlink_in(rel, link);
    if (group >= 0) {
        char g[128];
        snprintf(g, sizeof(g), "kernel/iommu_groups/%d/devices", group);
        mkdirs(g);
        snprintf(g, sizeof(g), "kernel/iommu_groups/%d", group);
        snprintf(link, sizeof(link), "%s/iommu_group", rel);
        symlink_in(g, link);
        snprintf(link, sizeof(link), "kernel/iommu_groups/%d/devices/%s", group, bdf);
        symlink_in(rel, link);
    }
    if (drv) {
        char d[128];
        snprintf(d, sizeof(d), "bus/pci/drivers/%s", drv);
        mkdirs(d);
        snprintf(link, sizeof(link), "%s/driver", rel);
        symlink_in(d, link);
    }
}

static void bind(const char *bdf, const char *drv)
{
    char d[128], link[512];
    snprintf(d, sizeof(d), "bus/pci/drivers/%s", drv);
    mkdirs(d);
    snprintf(link, sizeof(link), "devices/pci0000:00/%s/driver", bdf);
    symlink_in(d, link);
}

static void build_tree(void)
{
    mkdirs("bus/pci/devices");
    mkdirs("bus/pci/drivers");
    add_device("0000:01:00.0", 7, "vfio-pci");
    add_device("0000:01:00.1", 7, "e1000e"); /* makes group 7 not viable */
    add_device("0000:00:01.0", 7, "pcieport"); /* a bridge: allowed */
    add_device("0000:02:00.0", -1, "nvme");   /* host IOMMU off */
    add_device("0000:03:00.0", 9, NULL);      /* not bound at all */
    add_device("0000:04:00.0", 10, "nvme");   /* bound to its host driver */
    add_device("0000:0a:1f.7", 11, "vfio-pci");
}

static int resolve(const char *spec, char *out)
{
    return vfio_resolve_device(root, spec, out, VFIO_PCI_NAME_LEN);
}

static void test_resolve(void)
{
    char out[VFIO_PCI_NAME_LEN], path[1024];
    CHECK_EQ(resolve("01:00.0", out), 0);
    CHECK_STREQ(out, "0000:01:00.0");
    CHECK_EQ(resolve("0000:01:00.1", out), 0);
    CHECK_STREQ(out, "0000:01:00.1");
    CHECK_EQ(resolve("0000:0A:1F.7", out), 0);
    CHECK_STREQ(out, "0000:0a:1f.7");

    snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:01:00.0", root);
    CHECK_EQ(resolve(path, out), 0);
    CHECK_STREQ(out, "0000:01:00.0");
    snprintf(path, sizeof(path), "%s/devices/pci0000:00/0000:03:00.0/", root);
    CHECK_EQ(resolve(path, out), 0);
    CHECK_STREQ(out, "0000:03:00.0");

    static const char *const garbage[] = {"", "hello", "01:00", "1:00.0", "0000:01:00.8",
                                          "01:20.0", "01:00.0.0", "000:01:00.0", "0x01:00.0",
                                          "01:00.0 ", "g1:00.0"};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
        CHECK_EQ(resolve(garbage[i], out), -EINVAL);
    CHECK_EQ(vfio_resolve_device(root, NULL, out, sizeof(out)), -EINVAL);
    CHECK_EQ(vfio_resolve_device(root, "01:00.0", out, 12), -EINVAL); /* no room */

    CHECK_EQ(resolve("05:00.0", out), -ENOENT);
    CHECK_EQ(resolve("0001:01:00.0", out), -ENOENT);
    snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:05:00.0", root);
    CHECK_EQ(resolve(path, out), -ENOENT);
    snprintf(path, sizeof(path), "%s/bus/pci", root); /* exists, not a device */
    CHECK_EQ(resolve(path, out), -EINVAL);
    /* a directory named like a device that is not the device */
    mkdirs("elsewhere/0000:01:00.0");
    snprintf(path, sizeof(path), "%s/elsewhere/0000:01:00.0", root);
    CHECK_EQ(resolve(path, out), -EINVAL);
}

static void expect_line(int ret, int want, const char *const *needles, size_t n)
{
    CHECK_EQ(ret, want);
    for (size_t i = 0; i < n; i++) {
        if (!strstr(err, needles[i])) {
            fprintf(stderr, "missing '%s' in: %s\n", needles[i], err);
            CHECK(0);
        }
    }
    CHECK(strchr(err, '\n') == NULL);
}

#define EXPECT_LINE(ret, want, ...)                                                       \
    expect_line((ret), (want), (const char *const[]){__VA_ARGS__},                        \
                sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void test_diagnosis(void)
{
    int group = -1;
    err[0] = '\0';
    EXPECT_LINE(vfio_sysfs_check(root, "0000:01:00.0", &group, err, sizeof(err)), -EBUSY,
                "IOMMU group 7 is not viable", "0000:01:00.1 is bound to e1000e",
                "echo vfio-pci > ", "0000:01:00.1/driver_override",
                "echo 0000:01:00.1 > ", "drivers_probe", "unbind it",
                "0000:01:00.1/driver/unbind");
    CHECK(strstr(err, "pcieport") == NULL); /* the bridge is fine */
    CHECK_EQ(group, 7);
    EXPECT_LINE(vfio_sysfs_group_viable(root, 7, err, sizeof(err)), -EBUSY, "0000:01:00.1");

    /* rebinding the sibling to vfio-pci or pci-stub makes it viable */
    bind("0000:01:00.1", "pci-stub");
    group = -1;
    CHECK_EQ(vfio_sysfs_check(root, "0000:01:00.0", &group, err, sizeof(err)), 0);
    CHECK_EQ(group, 7);
    bind("0000:01:00.1", "vfio-pci");
    CHECK_EQ(vfio_sysfs_check(root, "0000:01:00.1", &group, err, sizeof(err)), 0);
    CHECK_EQ(vfio_sysfs_group_viable(root, 7, err, sizeof(err)), 0);
    CHECK_EQ(vfio_sysfs_group_viable(root, 12345, err, sizeof(err)), 0); /* nothing to tell */

    EXPECT_LINE(vfio_sysfs_check(root, "0000:03:00.0", &group, err, sizeof(err)), -EPERM,
                "0000:03:00.0 is not bound to vfio-pci", "0000:03:00.0/driver_override",
                "echo 0000:03:00.0 > ", "drivers_probe");
    CHECK(strstr(err, "unbind") == NULL);
    EXPECT_LINE(vfio_sysfs_check(root, "0000:04:00.0", &group, err, sizeof(err)), -EPERM,
                "0000:04:00.0 is bound to nvme, not vfio-pci", "driver/unbind",
                "driver_override", "drivers_probe");
    EXPECT_LINE(vfio_sysfs_check(root, "0000:02:00.0", &group, err, sizeof(err)), -ENODEV,
                "0000:02:00.0 has no IOMMU group", "host IOMMU is off",
                "intel_iommu=on or amd_iommu=on");
}

/* vfio_dev_open up to the group node: the sysfs reasons come first, then
 * /dev/vfio/N (absent on a host without VFIO). */
static void test_dev_open_errors(void)
{
    struct vfio_domain fake = {.container_fd = -1};
    struct vfio_dev *dev = NULL;
    char path[64];
    EXPECT_LINE(vfio_dev_open_at(&fake, root, "zz:00.0", &dev, err, sizeof(err)), -EINVAL,
                "vfio=zz:00.0: not a PCI address");
    EXPECT_LINE(vfio_dev_open_at(&fake, root, "06:00.0", &dev, err, sizeof(err)), -ENOENT,
                "vfio=06:00.0: no such PCI device");
    EXPECT_LINE(vfio_dev_open_at(&fake, root, "02:00.0", &dev, err, sizeof(err)), -ENODEV,
                "host IOMMU is off");
    EXPECT_LINE(vfio_dev_open_at(&fake, root, "04:00.0", &dev, err, sizeof(err)), -EPERM,
                "bound to nvme");
    CHECK(dev == NULL);
    snprintf(path, sizeof(path), "/dev/vfio/%d", 11);
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "note: %s exists; the missing group node case is skipped\n", path);
        return;
    }
    EXPECT_LINE(vfio_dev_open_at(&fake, root, "0a:1f.7", &dev, err, sizeof(err)), -ENOENT,
                "/dev/vfio/11 (IOMMU group of 0000:0a:1f.7) does not exist",
                "modprobe vfio-pci");
    CHECK(dev == NULL);
}

static void test_domain_open_errors(void)
{
    struct vfio_domain *d = NULL;
    char path[512];
    if (access(VFIO_CONTAINER_PATH, F_OK) == 0) {
        fprintf(stderr, "note: %s exists; the missing-module case is skipped\n",
                VFIO_CONTAINER_PATH);
    } else {
        EXPECT_LINE(vfio_domain_open(&d, err, sizeof(err)), -ENOENT,
                    "/dev/vfio/vfio does not exist", "modprobe vfio-pci");
        CHECK(d == NULL);
    }
    EXPECT_LINE(vfio_domain_open_at("/dev/null", &d, err, sizeof(err)), -ENOTTY,
                "/dev/null is not a VFIO container");
    CHECK(d == NULL);
    snprintf(path, sizeof(path), "%s/no/such/vfio", root);
    EXPECT_LINE(vfio_domain_open_at(path, &d, err, sizeof(err)), -ENOENT, "modprobe vfio-pci");
    if (geteuid() != 0) { /* root opens anything */
        snprintf(path, sizeof(path), "%s/locked", root);
        int fd = open(path, O_CREAT | O_WRONLY, 0);
        CHECK(fd >= 0);
        close(fd);
        EXPECT_LINE(vfio_domain_open_at(path, &d, err, sizeof(err)), -EACCES,
                    "permission denied", "run as root or chown it");
    }
    vfio_domain_close(NULL);
}

/* capget/capset on this process (thread group leader; single-threaded). */
static int caps(bool set, struct __user_cap_data_struct data[2])
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    return (int)syscall(set ? SYS_capset : SYS_capget, &hdr, data);
}

static void test_memlock(void)
{
    struct __user_cap_data_struct saved[2], dropped[2];
    struct rlimit rl_saved, rl;
    CHECK_EQ(caps(false, saved), 0);
    CHECK_EQ(getrlimit(RLIMIT_MEMLOCK, &rl_saved), 0);
    bool had_cap = saved[0].effective & CAP_TO_MASK(CAP_IPC_LOCK);
    if (had_cap)
        CHECK_EQ(vfio_check_memlock(1ULL << 50, err, sizeof(err)), 0);
    memcpy(dropped, saved, sizeof(dropped));
    dropped[0].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
    if (had_cap && caps(true, dropped) != 0) {
        fprintf(stderr, "note: cannot drop CAP_IPC_LOCK; the rlimit cases are skipped\n");
        return;
    }
    rl = rl_saved;
    rl.rlim_cur = 64ULL << 20;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
        rl.rlim_cur = rl.rlim_max;
    CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
    char want[128];
    snprintf(want, sizeof(want), "memlock limit is %llu MiB but guest RAM needs 1024 MiB",
             (unsigned long long)(rl.rlim_cur >> 20));
    EXPECT_LINE(vfio_check_memlock(1ULL << 30, err, sizeof(err)), -ENOMEM, want,
                "ulimit -l", "LimitMEMLOCK=", "run as root");
    CHECK_EQ(vfio_check_memlock(rl.rlim_cur, err, sizeof(err)), 0);
    CHECK_EQ(vfio_check_memlock(0, err, sizeof(err)), 0);
    if (rl.rlim_max == RLIM_INFINITY) {
        rl.rlim_cur = RLIM_INFINITY;
        CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
        CHECK_EQ(vfio_check_memlock(1ULL << 50, err, sizeof(err)), 0);
    }
    CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl_saved), 0);
    if (had_cap)
        CHECK_EQ(caps(true, saved), 0);
}

/* A GET_REGION_INFO answer: the info, then capabilities at cap offsets. */
struct region_answer {
    struct vfio_region_info info;
    struct vfio_region_info_cap_sparse_mmap sparse;
    struct vfio_region_sparse_mmap_area areas[10];
};

static void region_answer_init(struct region_answer *a, uint32_t nr_areas)
{
    memset(a, 0, sizeof(*a));
    a->info.argsz = sizeof(*a);
    a->info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                    VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS;
    a->info.index = 0;
    a->info.cap_offset = offsetof(struct region_answer, sparse);
    a->info.size = 0x4000;
    a->info.offset = 1ULL << 40;
    a->sparse.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
    a->sparse.header.version = 1;
    a->sparse.nr_areas = nr_areas;
}

static void test_region_info(void)
{
    struct region_answer a;
    struct vfio_region r = {.index = 0};
    uint64_t off;

    /* the MSI-X page (0x2000) carved out: two areas */
    region_answer_init(&a, 2);
    a.areas[0] = (struct vfio_region_sparse_mmap_area){0, 0x2000};
    a.areas[1] = (struct vfio_region_sparse_mmap_area){0x3000, 0x1000};
    vfio_region_from_info(&a, sizeof(a), &r, &off);
    CHECK_EQ(r.size, 0x4000);
    CHECK_EQ(off, 1ULL << 40);
    CHECK_EQ(r.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                          VFIO_REGION_INFO_FLAG_MMAP);
    CHECK_EQ(r.nmmap, 2);
    CHECK_EQ(r.mmap[0].offset, 0);
    CHECK_EQ(r.mmap[0].size, 0x2000);
    CHECK_EQ(r.mmap[1].offset, 0x3000);
    CHECK_EQ(r.mmap[1].size, 0x1000);

    /* empty and out-of-region areas are dropped; zero areas: trap all */
    region_answer_init(&a, 3);
    a.areas[0] = (struct vfio_region_sparse_mmap_area){0x1000, 0};
    a.areas[1] = (struct vfio_region_sparse_mmap_area){0x3000, 0x2000};
    a.areas[2] = (struct vfio_region_sparse_mmap_area){0x1000, 0x1000};
    vfio_region_from_info(&a, sizeof(a), &r, &off);
    CHECK_EQ(r.nmmap, 1);
    CHECK_EQ(r.mmap[0].offset, 0x1000);
    region_answer_init(&a, 0);
    vfio_region_from_info(&a, sizeof(a), &r, &off);
    CHECK_EQ(r.nmmap, 0);

    /* more areas than fit: the first VFIO_REGION_MAX_MMAP_AREAS */
    region_answer_init(&a, 10);
    a.info.size = 0x10000;
    for (int i = 0; i < 10; i++)
        a.areas[i] = (struct vfio_region_sparse_mmap_area){(uint64_t)i * 0x1000, 0x1000};
    vfio_region_from_info(&a, sizeof(a), &r, &off);
    CHECK_EQ(r.nmmap, VFIO_REGION_MAX_MMAP_AREAS);

    /* no capability: an mmappable region is one area; not mmappable: none */
    region_answer_init(&a, 0);
    a.info.flags &= ~VFIO_REGION_INFO_FLAG_CAPS;
    vfio_region_from_info(&a, sizeof(a.info), &r, &off);
    CHECK_EQ(r.nmmap, 1);
    CHECK_EQ(r.mmap[0].size, 0x4000);
    a.info.flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
    vfio_region_from_info(&a, sizeof(a.info), &r, &off);
    CHECK_EQ(r.nmmap, 0);

    /* malformed chains: areas past the answer, a loop, an offset inside
     * the info; none may hang or map anything */
    region_answer_init(&a, 10);
    vfio_region_from_info(&a, offsetof(struct region_answer, areas[2]), &r, &off);
    CHECK_EQ(r.nmmap, 0);
    region_answer_init(&a, 1);
    a.areas[0] = (struct vfio_region_sparse_mmap_area){0, 0x1000};
    a.sparse.header.next = a.info.cap_offset; /* points at itself */
    vfio_region_from_info(&a, sizeof(a), &r, &off);
    CHECK_EQ(r.nmmap, 1);
    region_answer_init(&a, 1);
    a.info.cap_offset = 4;
    vfio_region_from_info(&a, sizeof(a), &r, &off);
    CHECK_EQ(r.nmmap, 0);
    /* a short answer: nothing */
    vfio_region_from_info(&a, 8, &r, &off);
    CHECK_EQ(r.size, 0);
    CHECK_EQ(r.nmmap, 0);
}

static int rm_tree(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd);
}

int main(void)
{
    snprintf(root, sizeof(root), "%s/sluice-vfio-sysfs-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    build_tree();
    test_resolve();
    test_diagnosis();
    test_dev_open_errors();
    test_domain_open_errors();
    test_memlock();
    test_region_info();
    CHECK_EQ(rm_tree(), 0);
    return check_result("test_vfio_sysfs");
}
