/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request path without the PCI transport: chains laid out in a
 * fake guest RAM, popped from a real virtqueue, parsed and executed
 * synchronously against a temporary image file.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "check.h"
#include "devices/bits.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/blk_request.h"
#include "devices/virtio/virtio_pci_regs.h"
#include "devices/virtio/virtqueue.h"
#include "fake_guest_ram.h"
#include "iommu/dma.h"

#define RAM_GPA 0x100000ull
#define RAM_SIZE (1ull << 20)
#define RING_GPA RAM_GPA
#define QSIZE 16
#define HDR_GPA (RAM_GPA + 0x10000)
#define DATA_GPA (RAM_GPA + 0x20000)
#define STATUS_GPA (RAM_GPA + 0x40000)
#define IMAGE_SECTORS 128
#define IMAGE_TAIL 100 /* bytes past the last whole sector, ignored */

struct desc {
    uint64_t addr;
    uint32_t len;
    bool write;
};

static struct fake_ram ram;
static struct dma_space as;
static struct virtqueue vq;
static struct fake_vring vr;
static struct virtqueue_chain chain;
static char image[] = "/tmp/sluice-blk-XXXXXX";

static void put_hdr(uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr h = { .type = htole32(type), .sector = htole64(sector) };

    fake_ram_write(&ram, HDR_GPA, &h, sizeof(h));
}

/* Publish descriptors 0..n-1 as one chain, pop it and run it. Returns what
 * blk_req_parse returned; *status (from guest RAM) and *used are set when 0. */
static int run(struct blk_disk *d, const struct desc *ds, unsigned n, uint8_t *status,
               uint32_t *used)
{
    struct blk_req r;
    uint32_t id = 0, len = 0;
    int ret;

    for (unsigned i = 0; i < n; i++)
        fake_vring_desc(&ram, &vr, (uint16_t)i, ds[i].addr, ds[i].len,
                        (uint16_t)((i + 1 < n ? VRING_DESC_F_NEXT : 0) |
                                   (ds[i].write ? VRING_DESC_F_WRITE : 0)),
                        (uint16_t)(i + 1));
    fake_vring_publish(&ram, &vr, 0);
    ram.region.host[STATUS_GPA - RAM_GPA] = 0xee;
    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    ret = blk_req_parse(d, &chain, &r);
    if (ret == 0) {
        blk_req_execute_sync(d, &r);
        *used = blk_req_finish(&r);
        CHECK_EQ(virtqueue_push(&vq, r.head, *used), 0);
        fake_vring_used_elem(&ram, &vr, (uint16_t)(fake_vring_used_idx(&ram, &vr) - 1), &id,
                             &len);
        CHECK_EQ(id, 0);
        CHECK_EQ(len, *used);
        *status = ram.region.host[STATUS_GPA - RAM_GPA];
    }
    blk_req_release(&r);
    return ret;
}

/* The usual three-descriptor request: header, data, status. */
static uint8_t simple(struct blk_disk *d, uint32_t type, uint64_t sector, uint32_t len,
                      bool data_write, uint32_t *used)
{
    struct desc ds[3] = {
        { HDR_GPA, sizeof(struct virtio_blk_outhdr), false },
        { DATA_GPA, len, data_write },
        { STATUS_GPA, 1, true },
    };
    uint8_t status = 0xff;
    uint32_t u = 0;

    put_hdr(type, sector);
    if (len)
        CHECK_EQ(run(d, ds, 3, &status, &u), 0);
    else
        CHECK_EQ(run(d, (struct desc[]){ ds[0], ds[2] }, 2, &status, &u), 0);
    if (used)
        *used = u;
    return status;
}

static void fill(uint64_t gpa, uint8_t seed, size_t len)
{
    for (size_t i = 0; i < len; i++)
        ram.region.host[gpa - RAM_GPA + i] = (uint8_t)(seed + i * 7);
}

static bool file_matches(int fd, uint64_t off, uint64_t gpa, size_t len)
{
    uint8_t buf[4096];

    if (len > sizeof(buf) || pread(fd, buf, len, (off_t)off) != (ssize_t)len)
        return false;
    return memcmp(buf, ram.region.host + (gpa - RAM_GPA), len) == 0;
}

static bool file_zero(int fd, uint64_t off, size_t len)
{
    uint8_t buf[4096];

    if (len > sizeof(buf) || pread(fd, buf, len, (off_t)off) != (ssize_t)len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (buf[i])
            return false;
    return true;
}

static void test_read_write(struct blk_disk *d)
{
    uint32_t used;

    fill(DATA_GPA, 1, 1024);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_OUT, 3, 1024, false, &used), VIRTIO_BLK_S_OK);
    CHECK_EQ(used, 1);
    CHECK(file_matches(d->fd, 3 * 512, DATA_GPA, 1024));

    memset(ram.region.host + (DATA_GPA - RAM_GPA), 0, 1024);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_IN, 3, 1024, true, &used), VIRTIO_BLK_S_OK);
    CHECK_EQ(used, 1025);
    CHECK(file_matches(d->fd, 3 * 512, DATA_GPA, 1024));

    /* the last sector of the disk is reachable */
    CHECK_EQ(simple(d, VIRTIO_BLK_T_IN, IMAGE_SECTORS - 1, 512, true, NULL), VIRTIO_BLK_S_OK);
}

/* Header and data sharing one descriptor, data and status sharing another,
 * data split over odd-sized fragments. */
static void test_fragmented(struct blk_disk *d)
{
    struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_OUT), .sector = htole64(20) };
    uint64_t buf = DATA_GPA + 0x2000;
    uint8_t status = 0;
    uint32_t used = 0;

    /* write: [hdr + 100 bytes] [412 bytes] [status] */
    fake_ram_write(&ram, buf, &h, sizeof(h));
    fill(buf + sizeof(h), 9, 512);
    CHECK_EQ(run(d, (struct desc[]){ { buf, sizeof(h) + 100, false },
                                     { buf + sizeof(h) + 100, 412, false },
                                     { STATUS_GPA, 1, true } },
                 3, &status, &used),
             0);
    CHECK_EQ(status, VIRTIO_BLK_S_OK);
    CHECK(file_matches(d->fd, 20 * 512, buf + sizeof(h), 512));

    /* read: [hdr] [300 bytes] [212 bytes + status in one descriptor] */
    put_hdr(VIRTIO_BLK_T_IN, 20);
    memset(ram.region.host + (DATA_GPA - RAM_GPA), 0, 1024);
    CHECK_EQ(run(d, (struct desc[]){ { HDR_GPA, sizeof(h), false },
                                     { DATA_GPA, 300, true },
                                     { DATA_GPA + 300, 213, true } },
                 3, &status, &used),
             0);
    CHECK_EQ(used, 513);
    CHECK(file_matches(d->fd, 20 * 512, DATA_GPA, 512));
    CHECK_EQ(ram.region.host[DATA_GPA - RAM_GPA + 512], VIRTIO_BLK_S_OK);
}

static void test_flush_get_id(struct blk_disk *d)
{
    uint8_t id[VIRTIO_BLK_ID_BYTES] = { 0 };
    uint32_t used;

    CHECK_EQ(simple(d, VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), VIRTIO_BLK_S_OK);
    CHECK_EQ(used, 1);

    memset(ram.region.host + (DATA_GPA - RAM_GPA), 0xaa, 64);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, &used),
             VIRTIO_BLK_S_OK);
    CHECK_EQ(used, VIRTIO_BLK_ID_BYTES + 1);
    memcpy(id, "test-disk-id", strlen("test-disk-id"));
    CHECK(memcmp(ram.region.host + (DATA_GPA - RAM_GPA), id, sizeof(id)) == 0);
    CHECK_EQ(ram.region.host[DATA_GPA - RAM_GPA + VIRTIO_BLK_ID_BYTES], 0xaa);

    /* a smaller buffer gets a prefix, nothing beyond it */
    memset(ram.region.host + (DATA_GPA - RAM_GPA), 0xaa, 64);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_GET_ID, 0, 4, true, &used), VIRTIO_BLK_S_OK);
    CHECK_EQ(used, 5);
    CHECK(memcmp(ram.region.host + (DATA_GPA - RAM_GPA), "test", 4) == 0);
    CHECK_EQ(ram.region.host[DATA_GPA - RAM_GPA + 4], 0xaa);
}

static void test_errors(struct blk_disk *d)
{
    uint32_t used;

    /* crosses the end, starts past the end, wraps around */
    CHECK_EQ(simple(d, VIRTIO_BLK_T_IN, IMAGE_SECTORS - 1, 1024, true, &used),
             VIRTIO_BLK_S_IOERR);
    CHECK_EQ(used, 1);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_OUT, IMAGE_SECTORS, 512, false, NULL), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_IN, UINT64_MAX, 512, true, NULL), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_OUT, UINT64_MAX >> 9, 512, false, NULL),
             VIRTIO_BLK_S_IOERR);
    /* not a whole number of sectors */
    CHECK_EQ(simple(d, VIRTIO_BLK_T_IN, 0, 100, true, NULL), VIRTIO_BLK_S_IOERR);
    /* unknown and legacy types */
    CHECK_EQ(simple(d, 99, 0, 512, true, NULL), VIRTIO_BLK_S_UNSUPP);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_SCSI_CMD, 0, 512, true, NULL), VIRTIO_BLK_S_UNSUPP);
    /* discard not negotiated */
    CHECK_EQ(simple(d, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
}

static void test_malformed(struct blk_disk *d)
{
    uint8_t status;
    uint32_t used;
    uint16_t used_before;

    /* no writable part: no status byte */
    put_hdr(VIRTIO_BLK_T_IN, 0);
    used_before = fake_vring_used_idx(&ram, &vr);
    CHECK_EQ(run(d, (struct desc[]){ { HDR_GPA, 16, false }, { DATA_GPA, 512, false } }, 2,
                 &status, &used),
             -EIO);
    /* header too short */
    CHECK_EQ(run(d, (struct desc[]){ { HDR_GPA, 8, false }, { STATUS_GPA, 1, true } }, 2, &status,
                 &used),
             -EIO);
    /* no readable part at all */
    CHECK_EQ(run(d, (struct desc[]){ { DATA_GPA, 512, true }, { STATUS_GPA, 1, true } }, 2,
                 &status, &used),
             -EIO);
    CHECK_EQ(ram.region.host[STATUS_GPA - RAM_GPA], 0xee); /* untouched */
    CHECK_EQ(fake_vring_used_idx(&ram, &vr), used_before);  /* nothing pushed */
}

static void put_seg(uint64_t gpa, uint64_t sector, uint32_t num, uint32_t flags)
{
    struct virtio_blk_discard_write_zeroes s = {
        .sector = htole64(sector), .num_sectors = htole32(num), .flags = htole32(flags)
    };

    fake_ram_write(&ram, gpa, &s, sizeof(s));
}

static void test_discard(struct blk_disk *d)
{
    struct stat st;

    if (!d->can_punch) {
        fprintf(stderr, "image file system cannot punch holes: discard checks skipped\n");
        return;
    }
    d->discard = d->write_zeroes = true;
    fill(DATA_GPA, 3, 4096);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_OUT, 40, 4096, false, NULL), VIRTIO_BLK_S_OK);
    CHECK(!file_zero(d->fd, 40 * 512, 4096));

    /* two segments: discard sectors 40..43 and 46..47 */
    put_seg(DATA_GPA, 40, 4, 0);
    put_seg(DATA_GPA + 16, 46, 2, 0);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_DISCARD, 0, 32, false, NULL), VIRTIO_BLK_S_OK);
    CHECK(file_zero(d->fd, 40 * 512, 2048));
    CHECK(!file_zero(d->fd, 44 * 512, 1024));
    CHECK(file_zero(d->fd, 46 * 512, 1024));

    /* write zeroes without and with unmap */
    fill(DATA_GPA, 5, 4096);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_OUT, 40, 4096, false, NULL), VIRTIO_BLK_S_OK);
    put_seg(DATA_GPA, 41, 1, 0);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL), VIRTIO_BLK_S_OK);
    CHECK(file_zero(d->fd, 41 * 512, 512));
    CHECK(!file_zero(d->fd, 40 * 512, 512));
    CHECK(!file_zero(d->fd, 42 * 512, 512));
    put_seg(DATA_GPA, 44, 4, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL), VIRTIO_BLK_S_OK);
    CHECK(file_zero(d->fd, 44 * 512, 2048));
    CHECK(fstat(d->fd, &st) == 0 && st.st_size == IMAGE_SECTORS * 512 + IMAGE_TAIL);

    /* the unmap flag is for write zeroes only; unknown flags; out of range */
    put_seg(DATA_GPA, 40, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
    put_seg(DATA_GPA, 40, 1, 0x80);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
    put_seg(DATA_GPA, IMAGE_SECTORS - 1, 2, 0);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL), VIRTIO_BLK_S_IOERR);
    put_seg(DATA_GPA, UINT64_MAX, 2, 0);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL), VIRTIO_BLK_S_IOERR);
    /* payload not a whole number of segments, or too many segments */
    CHECK_EQ(simple(d, VIRTIO_BLK_T_DISCARD, 0, 24, false, NULL), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(simple(d, VIRTIO_BLK_T_DISCARD, 0, 16 * (BLK_MAX_DISCARD_SEG + 1), false, NULL),
             VIRTIO_BLK_S_UNSUPP);
    d->discard = d->write_zeroes = false;
}

static void test_readonly(void)
{
    struct blk_disk ro;
    char err[256] = "";
    uint8_t before[512];
    int fd;

    CHECK_EQ(blk_disk_open(&ro, image, true, NULL, err, sizeof(err)), 0);
    CHECK(!ro.can_punch);
    fd = open(image, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && pread(fd, before, sizeof(before), 0) == sizeof(before));
    fill(DATA_GPA, 77, 512);
    CHECK_EQ(simple(&ro, VIRTIO_BLK_T_OUT, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR);
    ro.discard = ro.write_zeroes = true; /* even if negotiated, refused */
    put_seg(DATA_GPA, 0, 1, 0);
    CHECK_EQ(simple(&ro, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(simple(&ro, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
    CHECK(memcmp(before, ram.region.host + (DATA_GPA - RAM_GPA), 512) == 0);
    if (fd >= 0)
        close(fd);
    blk_disk_close(&ro);
}

static void test_open_errors(struct blk_disk *d)
{
    struct blk_disk other;
    char err[256] = "";

    /* an exclusive lock is held by d */
    CHECK_EQ(blk_disk_open(&other, image, false, NULL, err, sizeof(err)), -EAGAIN);
    CHECK(strstr(err, "locked") && strstr(err, image));
    CHECK_EQ(other.fd, -1);
    CHECK_EQ(blk_disk_open(&other, image, true, NULL, err, sizeof(err)), -EAGAIN);
    CHECK_EQ(blk_disk_open(&other, "/nonexistent/sluice.img", false, NULL, err, sizeof(err)),
             -ENOENT);
    CHECK(strstr(err, "/nonexistent/sluice.img") && strstr(err, "no such file"));
    CHECK(blk_disk_open(&other, "/tmp", true, NULL, err, sizeof(err)) < 0);
    CHECK(strstr(err, "not a regular file or block device") != NULL);
    CHECK(blk_disk_open(&other, "/dev/null", true, NULL, err, sizeof(err)) < 0);
    CHECK_EQ(blk_disk_open(&other, image, true, "123456789012345678901", err, sizeof(err)),
             -EINVAL);
    CHECK(strstr(err, "id") != NULL);
}

/* ---- the whole device through the transport, with io_uring ---- */

#define DEV_RING_GPA (RAM_GPA + 0x80000)
#define DEV_BAR4 0x800000000ull
#define WAIT_MS 5000

static atomic_uint msis;

static int sink_send_msi(void *opaque, uint16_t source_id, uint64_t addr, uint32_t data)
{
    atomic_fetch_add(&msis, 1);
    return 0;
}

static int sink_set_route(void *opaque, unsigned gsi, bool enabled, uint16_t source_id,
                          uint64_t addr, uint32_t data)
{
    return 0;
}

static struct pci_device *dev;

static uint64_t bar_rd(uint64_t off, unsigned size)
{
    uint64_t v = 0;
    const struct pci_bar *b = &dev->bars[VIRTIO_PCI_BAR];

    b->ops->read(b->opaque, off, &v, size);
    return v;
}

static void bar_wr(uint64_t off, uint64_t v, unsigned size)
{
    const struct pci_bar *b = &dev->bars[VIRTIO_PCI_BAR];

    b->ops->write(b->opaque, off, &v, size);
}

static void cfg_wr(unsigned off, uint32_t v, unsigned size)
{
    pci_config_write(dev, off, &v, size);
}

static uint64_t dev_features(void)
{
    bar_wr(VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    uint64_t lo = bar_rd(VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_DF, 4);
    bar_wr(VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
    return lo | bar_rd(VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_DF, 4) << 32;
}

static void common_wr(unsigned field, uint64_t v, unsigned size)
{
    bar_wr(VIRTIO_PCI_COMMON_OFF + field, v, size);
}

static uint8_t dev_status(void)
{
    return (uint8_t)bar_rd(VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_STATUS, 1);
}

static void driver_up(uint64_t features, struct fake_vring *r)
{
    uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    common_wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    common_wr(VIRTIO_PCI_COMMON_STATUS, st, 1);
    common_wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    common_wr(VIRTIO_PCI_COMMON_GF, (uint32_t)features, 4);
    common_wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    common_wr(VIRTIO_PCI_COMMON_GF, features >> 32, 4);
    st |= VIRTIO_CONFIG_S_FEATURES_OK;
    common_wr(VIRTIO_PCI_COMMON_STATUS, st, 1);
    CHECK(dev_status() & VIRTIO_CONFIG_S_FEATURES_OK);
    common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    common_wr(VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
    fake_vring_init(&ram, r, DEV_RING_GPA, QSIZE);
    common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, r->desc, 4);
    common_wr(VIRTIO_PCI_COMMON_Q_DESCHI, r->desc >> 32, 4);
    common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, r->avail, 4);
    common_wr(VIRTIO_PCI_COMMON_Q_AVAILHI, r->avail >> 32, 4);
    common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, r->used, 4);
    common_wr(VIRTIO_PCI_COMMON_Q_USEDHI, r->used >> 32, 4);
    common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    common_wr(VIRTIO_PCI_COMMON_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

static void kick(void)
{
    uint64_t noff;

    common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    noff = bar_rd(VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_Q_NOFF, 2);
    bar_wr(VIRTIO_PCI_NOTIFY_OFF + noff * VIRTIO_PCI_NOTIFY_MULTIPLIER, 0, 2);
}

static bool wait_used(const struct fake_vring *r, uint16_t idx)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (fake_vring_used_idx(&ram, r) == idx)
            return true;
        usleep(1000);
    }
    return false;
}

/* Request i of a batch: descriptors 3i..3i+2, header/status slots of its own. */
static void post_rw(struct fake_vring *r, unsigned i, uint32_t type, uint64_t sector,
                    uint64_t data, uint32_t len)
{
    uint64_t hdr = HDR_GPA + i * 16, status = STATUS_GPA + i;
    struct virtio_blk_outhdr h = { .type = htole32(type), .sector = htole64(sector) };
    uint16_t d = (uint16_t)(3 * i);

    fake_ram_write(&ram, hdr, &h, sizeof(h));
    ram.region.host[status - RAM_GPA] = 0xee;
    fake_vring_desc(&ram, r, d, hdr, sizeof(h), VRING_DESC_F_NEXT, d + 1);
    fake_vring_desc(&ram, r, d + 1, data, len,
                    VRING_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0),
                    d + 2);
    fake_vring_desc(&ram, r, d + 2, status, 1, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&ram, r, d);
}

static void test_device(void)
{
    char path[] = "/tmp/sluice-blkdev-XXXXXX";
    struct msi_sink sink = { .send_msi = sink_send_msi, .set_route = sink_set_route };
    struct virtio_pci_config t = { .sink = &sink, .ram = &ram.region, .nram = 1 };
    struct virtio_blk *b = NULL, *other = NULL;
    struct fake_vring r;
    char err[256] = "";
    uint64_t f;
    uint32_t id, len;
    int fd = mkstemp(path);

    CHECK(fd >= 0 && ftruncate(fd, IMAGE_SECTORS * 512) == 0);
    close(fd);
    CHECK_EQ(virtio_blk_create(&(struct virtio_blk_options){ .path = path, .id = "dev" }, &t, &b,
                               err, sizeof(err)),
             0);
    if (!b) {
        fprintf(stderr, "virtio_blk_create: %s\n", err);
        unlink(path);
        return;
    }
    /* a second device on the same image is refused, cleanly */
    CHECK_EQ(virtio_blk_create(&(struct virtio_blk_options){ .path = path }, &t, &other, err,
                               sizeof(err)),
             -EAGAIN);
    CHECK(strstr(err, "locked") != NULL);
    dev = virtio_pci_pci_device(virtio_blk_virtio_pci(b));
    CHECK_EQ(virtio_pci_start(virtio_blk_virtio_pci(b)), 0);
    cfg_wr(PCI_BASE_ADDRESS_4, (uint32_t)DEV_BAR4, 4);
    cfg_wr(PCI_BASE_ADDRESS_5, (uint32_t)(DEV_BAR4 >> 32), 4);
    cfg_wr(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);

    f = dev_features();
    CHECK(f & BIT(VIRTIO_F_VERSION_1));
    CHECK(f & BIT(VIRTIO_BLK_F_FLUSH));
    CHECK(f & BIT(VIRTIO_BLK_F_SEG_MAX));
    CHECK(!(f & BIT(VIRTIO_BLK_F_RO)));
    CHECK_EQ(bar_rd(VIRTIO_PCI_DEVICE_OFF + offsetof(struct virtio_blk_config, capacity), 4),
             IMAGE_SECTORS);
    CHECK_EQ(bar_rd(VIRTIO_PCI_DEVICE_OFF + offsetof(struct virtio_blk_config, blk_size), 4),
             BLK_SECTOR_SIZE);

    driver_up(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_FLUSH), &r);
    CHECK(dev_status() & VIRTIO_CONFIG_S_DRIVER_OK);

    /* one write, then a batch of reads in flight together */
    fill(DATA_GPA, 11, 4096);
    post_rw(&r, 0, VIRTIO_BLK_T_OUT, 8, DATA_GPA, 4096);
    kick();
    CHECK(wait_used(&r, 1));
    CHECK_EQ(ram.region.host[STATUS_GPA - RAM_GPA], VIRTIO_BLK_S_OK);
    {
        int img = open(path, O_RDONLY | O_CLOEXEC);
        CHECK(img >= 0 && file_matches(img, 8 * 512, DATA_GPA, 4096));
        if (img >= 0)
            close(img);
    }
    for (unsigned i = 0; i < 4; i++)
        post_rw(&r, i, VIRTIO_BLK_T_IN, 8 + i * 2, DATA_GPA + 0x2000 + i * 0x1000, 1024);
    kick();
    CHECK(wait_used(&r, 5));
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(ram.region.host[STATUS_GPA - RAM_GPA + i], VIRTIO_BLK_S_OK);
        CHECK(memcmp(ram.region.host + (DATA_GPA - RAM_GPA) + i * 1024,
                     ram.region.host + (DATA_GPA - RAM_GPA) + 0x2000 + i * 0x1000, 1024) == 0);
        fake_vring_used_elem(&ram, &r, (uint16_t)(1 + i), &id, &len);
        CHECK_EQ(len, 1025);
    }
    /* flush and an out-of-range read complete with their statuses */
    post_rw(&r, 0, VIRTIO_BLK_T_OUT, IMAGE_SECTORS, DATA_GPA, 512);
    kick();
    CHECK(wait_used(&r, 6));
    CHECK_EQ(ram.region.host[STATUS_GPA - RAM_GPA], VIRTIO_BLK_S_IOERR);

    /* a malformed request: the device asks for a reset, stays alive */
    fake_vring_desc(&ram, &r, 0, HDR_GPA, 8, VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&ram, &r, 1, STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&ram, &r, 0);
    kick();
    for (int i = 0; i < WAIT_MS && !(dev_status() & VIRTIO_CONFIG_S_NEEDS_RESET); i++)
        usleep(1000);
    CHECK(dev_status() & VIRTIO_CONFIG_S_NEEDS_RESET);
    CHECK_EQ(fake_vring_used_idx(&ram, &r), 6);

    /* reset and bring it up again: it works */
    driver_up(BIT(VIRTIO_F_VERSION_1), &r);
    CHECK(!(dev_status() & VIRTIO_CONFIG_S_NEEDS_RESET));
    post_rw(&r, 0, VIRTIO_BLK_T_IN, 8, DATA_GPA + 0x8000, 512);
    kick();
    CHECK(wait_used(&r, 1));
    CHECK_EQ(ram.region.host[STATUS_GPA - RAM_GPA], VIRTIO_BLK_S_OK);

    virtio_blk_destroy(b);
    unlink(path);
}

int main(void)
{
    struct blk_disk d;
    char err[256] = "";
    int fd;

    if (fake_ram_init(&ram, RAM_GPA, RAM_SIZE) < 0 || dma_space_init(&as, &ram.region, 1, 0)) {
        fprintf(stderr, "no memory for the fake guest RAM\n");
        return CHECK_SKIP;
    }
    virtqueue_init(&vq, &as);
    fake_vring_init(&ram, &vr, RING_GPA, QSIZE);
    vq.size = QSIZE;
    vq.desc_addr = vr.desc;
    vq.avail_addr = vr.avail;
    vq.used_addr = vr.used;
    vq.ready = true;
    CHECK_EQ(virtqueue_start(&vq, false), 0);

    fd = mkstemp(image);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, IMAGE_SECTORS * 512 + IMAGE_TAIL) == 0);
    close(fd);
    CHECK_EQ(blk_disk_open(&d, image, false, "test-disk-id", err, sizeof(err)), 0);
    CHECK_EQ(d.capacity, IMAGE_SECTORS);

    test_read_write(&d);
    test_fragmented(&d);
    test_flush_get_id(&d);
    test_errors(&d);
    test_malformed(&d);
    test_discard(&d);
    test_open_errors(&d);
    blk_disk_close(&d);
    test_readonly();
    test_device();

    unlink(image);
    fake_ram_free(&ram);
    return check_result("test_virtio_blk");
}
