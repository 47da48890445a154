/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "virtio-blk"

#include "devices/virtio/blk_request.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "vmm/log.h"

/* ---- the image ---- */

static int lock_image(int fd, bool readonly)
{
    struct flock fl = {
        .l_type = readonly ? F_RDLCK : F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = 0,
        .l_len = 0, /* whole file */
    };

    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Size in bytes of a regular file or block device; -ENOTBLK otherwise. */
static int image_size(int fd, uint64_t *bytes)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode)) {
        *bytes = (uint64_t)st.st_size;
        return 0;
    }
    if (S_ISBLK(st.st_mode))
        return ioctl(fd, BLKGETSIZE64, bytes) < 0 ? -errno : 0;
    return -ENOTBLK;
}

/* Does the file punch holes? Probed past the end, where it changes nothing. */
static bool probe_punch(int fd, uint64_t bytes)
{
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)bytes,
                     BLK_SECTOR_SIZE) == 0;
}

static const char *open_cause(int err)
{
    switch (err) {
    case ENOENT:
        return "no such file";
    case EACCES:
    case EPERM:
        return "permission denied (try readonly=on or fix the file's permissions)";
    case EROFS:
        return "read-only file system (use readonly=on)";
    case EISDIR:
        return "is a directory, not a regular file or block device";
    default:
        return strerror(err);
    }
}

int blk_disk_open(struct blk_disk *d, const char *path, bool readonly, const char *id, char *err,
                  size_t errlen)
{
    uint64_t bytes = 0;
    int ret;

    memset(d, 0, sizeof(*d));
    d->fd = -1;
    if (id && strlen(id) > VIRTIO_BLK_ID_BYTES) {
        snprintf(err, errlen, "disk %s: id '%s' is longer than %d bytes", path, id,
                 VIRTIO_BLK_ID_BYTES);
        return -EINVAL;
    }
    d->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (d->fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "disk %s: cannot open: %s", path, open_cause(-ret));
        return ret;
    }
    ret = image_size(d->fd, &bytes);
    if (ret < 0) {
        snprintf(err, errlen, "disk %s: %s", path,
                 ret == -ENOTBLK ? "not a regular file or block device" : strerror(-ret));
        goto close_fd;
    }
    ret = lock_image(d->fd, readonly);
    if (ret < 0) {
        if (ret == -EAGAIN || ret == -EACCES)
            snprintf(err, errlen, "disk %s: locked by another process (in use by another VM?)",
                     path);
        else
            snprintf(err, errlen, "disk %s: cannot lock: %s", path, strerror(-ret));
        goto close_fd;
    }
    if (bytes % BLK_SECTOR_SIZE)
        LOG_WARN("disk %s: size %llu is not a multiple of %u, the last %llu bytes are unused",
                 path, (unsigned long long)bytes, BLK_SECTOR_SIZE,
                 (unsigned long long)(bytes % BLK_SECTOR_SIZE));
    d->capacity = bytes >> BLK_SECTOR_SHIFT;
    d->readonly = readonly;
    d->can_punch = !readonly && probe_punch(d->fd, bytes);
    if (id)
        memcpy(d->id, id, strlen(id));
    return 0;

close_fd:
    close(d->fd);
    d->fd = -1;
    return ret;
}

void blk_disk_close(struct blk_disk *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

/* ---- chain helpers ---- */

/* The last byte of the chain's writable part, or NULL when it has none. */
static uint8_t *status_byte(const struct virtqueue_chain *c)
{
    for (unsigned i = c->in_num; i > 0; i--) {
        const struct iovec *v = &c->iov[c->out_num + i - 1];
        if (v->iov_len > 0)
            return (uint8_t *)v->iov_base + v->iov_len - 1;
    }
    return NULL;
}

/* Number of fragments of src covering [skip, skip + len). */
static unsigned count_iov(const struct iovec *src, unsigned n, uint64_t skip, uint64_t len)
{
    unsigned count = 0;

    for (unsigned i = 0; i < n && len > 0; i++) {
        uint64_t l = src[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        l -= skip;
        skip = 0;
        len -= l < len ? l : len;
        count++;
    }
    return count;
}

/* Point r->iov at the bytes [skip, skip + len) of src. Returns 0, -E2BIG
 * (more fragments than one preadv takes) or -ENOMEM. */
static int collect_iov(struct blk_req *r, const struct iovec *src, unsigned n, uint64_t skip,
                       uint64_t len)
{
    unsigned count = count_iov(src, n, skip, len);

    if (count > BLK_MAX_DATA_IOV)
        return -E2BIG;
    if (count > BLK_REQ_INLINE_IOV) {
        r->iov = calloc(count, sizeof(*r->iov));
        if (!r->iov) {
            r->iov = r->inline_iov;
            return -ENOMEM;
        }
    }
    r->niov = 0;
    for (unsigned i = 0; i < n && len > 0; i++) {
        uint64_t l = src[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        l -= skip;
        if (l > len)
            l = len;
        r->iov[r->niov].iov_base = (uint8_t *)src[i].iov_base + skip;
        r->iov[r->niov].iov_len = l;
        r->niov++;
        skip = 0;
        len -= l;
    }
    return 0;
}

/* [sector, sector + nsectors) inside the disk, without overflow. */
static bool range_ok(const struct blk_disk *d, uint64_t sector, uint64_t nsectors)
{
    return sector <= d->capacity && nsectors <= d->capacity - sector;
}

/* ---- parsing per request type ---- */

static void parse_rw(const struct blk_disk *d, const struct virtqueue_chain *c,
                     struct blk_req *r, uint64_t sector, bool write)
{
    const struct iovec *src = write ? c->iov : c->iov + c->out_num;
    unsigned n = write ? c->out_num : c->in_num;
    uint64_t skip = write ? sizeof(struct virtio_blk_outhdr) : 0;
    uint64_t len = write ? c->out_len - skip : c->in_len - 1;
    int ret;

    if (write && d->readonly) {
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "write to read-only disk refused");
        return;
    }
    if (len > BLK_MAX_REQUEST_BYTES || len % BLK_SECTOR_SIZE != 0 ||
        !range_ok(d, sector, len >> BLK_SECTOR_SHIFT)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s of %llu bytes at sector %llu: not whole sectors inside the disk",
                        write ? "write" : "read", (unsigned long long)len,
                        (unsigned long long)sector);
        return;
    }
    if (len == 0) {
        r->status = VIRTIO_BLK_S_OK;
        return;
    }
    ret = collect_iov(r, src, n, skip, len);
    if (ret < 0) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "request data in too many fragments: %s",
                        strerror(-ret));
        return;
    }
    r->op = write ? BLK_OP_WRITE : BLK_OP_READ;
    r->offset = sector << BLK_SECTOR_SHIFT;
    r->len = len;
}

static void parse_get_id(const struct blk_disk *d, const struct virtqueue_chain *c,
                         struct blk_req *r)
{
    uint64_t room = c->in_len - 1;
    size_t n = room < VIRTIO_BLK_ID_BYTES ? (size_t)room : VIRTIO_BLK_ID_BYTES;

    r->in_written = (uint32_t)virtqueue_chain_write(c, 0, d->id, n);
    r->status = VIRTIO_BLK_S_OK;
}

/* One DISCARD/WRITE_ZEROES segment: VIRTIO_BLK_S_OK or the error status. */
static uint8_t check_segment(const struct blk_disk *d, uint32_t type,
                             const struct virtio_blk_discard_write_zeroes *s)
{
    uint32_t flags = le32toh(s->flags);
    uint32_t allowed = type == VIRTIO_BLK_T_WRITE_ZEROES ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
    uint32_t num = le32toh(s->num_sectors);

    if (flags & ~allowed)
        return VIRTIO_BLK_S_UNSUPP;
    if (num > BLK_MAX_DISCARD_SECTORS || !range_ok(d, le64toh(s->sector), num))
        return VIRTIO_BLK_S_IOERR;
    return VIRTIO_BLK_S_OK;
}

static void parse_segments(const struct blk_disk *d, const struct virtqueue_chain *c,
                           struct blk_req *r)
{
    bool supported = r->type == VIRTIO_BLK_T_DISCARD ? d->discard : d->write_zeroes;
    uint64_t bytes = c->out_len - sizeof(struct virtio_blk_outhdr);
    size_t segsz = sizeof(struct virtio_blk_discard_write_zeroes);
    uint64_t nseg = bytes / segsz;

    if (!supported) {
        r->status = VIRTIO_BLK_S_UNSUPP;
        return;
    }
    if (d->readonly)
        return;
    if (nseg == 0 || bytes % segsz != 0) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "discard/write-zeroes payload of %llu bytes",
                        (unsigned long long)bytes);
        return;
    }
    if (nseg > BLK_MAX_DISCARD_SEG) {
        r->status = VIRTIO_BLK_S_UNSUPP;
        return;
    }
    r->seg = calloc(nseg, segsz);
    if (!r->seg)
        return;
    r->nseg = (unsigned)nseg;
    virtqueue_chain_read(c, sizeof(struct virtio_blk_outhdr), r->seg, nseg * segsz);
    for (unsigned i = 0; i < r->nseg; i++) {
        uint8_t st = check_segment(d, r->type, &r->seg[i]);
        if (st != VIRTIO_BLK_S_OK) {
            r->status = st;
            return;
        }
    }
    r->op = r->type == VIRTIO_BLK_T_DISCARD ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
}

int blk_req_parse(const struct blk_disk *d, const struct virtqueue_chain *c, struct blk_req *r)
{
    struct virtio_blk_outhdr hdr;
    uint64_t sector;

    r->head = c->head;
    r->type = 0;
    r->op = BLK_OP_NONE;
    r->status = VIRTIO_BLK_S_IOERR;
    r->offset = r->len = 0;
    r->in_written = 0;
    r->niov = 0;
    r->iov = r->inline_iov;
    r->nseg = 0;
    r->seg = NULL;
    r->status_ptr = status_byte(c);
    if (!r->status_ptr) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "request without a writable status byte");
        return -EIO;
    }
    if (virtqueue_chain_read(c, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "request header shorter than %zu bytes", sizeof(hdr));
        r->status_ptr = NULL;
        return -EIO;
    }
    r->type = le32toh(hdr.type);
    sector = le64toh(hdr.sector);
    switch (r->type) {
    case VIRTIO_BLK_T_IN:
        parse_rw(d, c, r, sector, false);
        break;
    case VIRTIO_BLK_T_OUT:
        parse_rw(d, c, r, sector, true);
        break;
    case VIRTIO_BLK_T_FLUSH:
        r->op = BLK_OP_FLUSH;
        break;
    case VIRTIO_BLK_T_GET_ID:
        parse_get_id(d, c, r);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        parse_segments(d, c, r);
        break;
    default:
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "unsupported request type %u", r->type);
        r->status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    return 0;
}

/* ---- synchronous execution ---- */

/* Skip `done` bytes of the iovec array in place. */
static void iov_advance(struct iovec **iov, unsigned *n, size_t done)
{
    while (*n > 0 && done >= (*iov)->iov_len) {
        done -= (*iov)->iov_len;
        (*iov)++;
        (*n)--;
    }
    if (*n > 0 && done > 0) {
        (*iov)->iov_base = (uint8_t *)(*iov)->iov_base + done;
        (*iov)->iov_len -= done;
    }
}

/* Transfer all of r's data; 0 or -errno (-EIO for an unexpected EOF). */
static int rw_full(int fd, struct blk_req *r, bool write)
{
    struct iovec *iov = r->iov;
    unsigned n = r->niov;
    uint64_t off = r->offset, left = r->len;

    while (left > 0) {
        ssize_t got = write ? pwritev(fd, iov, (int)n, (off_t)off)
                            : preadv(fd, iov, (int)n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            return -EIO;
        off += (uint64_t)got;
        left -= (uint64_t)got;
        iov_advance(&iov, &n, (size_t)got);
    }
    return 0;
}

static int punch(int fd, uint64_t off, uint64_t len)
{
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0
               ? -errno
               : 0;
}

static int zero_range(int fd, uint64_t off, uint64_t len)
{
    if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    /* Not every file system zeroes ranges; a punched hole reads as zeroes. */
    if (errno == EOPNOTSUPP)
        return punch(fd, off, len);
    return -errno;
}

static int do_segments(int fd, const struct blk_req *r)
{
    for (unsigned i = 0; i < r->nseg; i++) {
        uint64_t off = le64toh(r->seg[i].sector) << BLK_SECTOR_SHIFT;
        uint64_t len = (uint64_t)le32toh(r->seg[i].num_sectors) << BLK_SECTOR_SHIFT;
        bool unmap = le32toh(r->seg[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
        int ret;

        if (len == 0)
            continue;
        if (r->op == BLK_OP_DISCARD || unmap)
            ret = punch(fd, off, len);
        else
            ret = zero_range(fd, off, len);
        if (ret < 0)
            return ret;
    }
    return 0;
}

void blk_req_execute_sync(const struct blk_disk *d, struct blk_req *r)
{
    int ret = 0;

    switch (r->op) {
    case BLK_OP_NONE:
        return;
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        ret = rw_full(d->fd, r, r->op == BLK_OP_WRITE);
        blk_req_complete_io(r, ret < 0 ? ret : (int64_t)r->len);
        return;
    case BLK_OP_FLUSH:
        ret = fdatasync(d->fd) < 0 ? -errno : 0;
        break;
    case BLK_OP_DISCARD:
    case BLK_OP_WRITE_ZEROES:
        ret = do_segments(d->fd, r);
        break;
    }
    if (ret < 0)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "request type %u failed: %s", r->type, strerror(-ret));
    r->status = ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

void blk_req_complete_io(struct blk_req *r, int64_t res)
{
    int64_t want = r->op == BLK_OP_FLUSH ? 0 : (int64_t)r->len;

    if (res == want) {
        r->status = VIRTIO_BLK_S_OK;
        if (r->op == BLK_OP_READ)
            r->in_written = (uint32_t)r->len;
        return;
    }
    if (res < 0)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "request type %u at byte %llu failed: %s", r->type,
                        (unsigned long long)r->offset, strerror((int)-res));
    else
        LOG_RATELIMITED(LOG_LEVEL_WARN, "short transfer (%lld of %llu bytes) at byte %llu",
                        (long long)res, (unsigned long long)r->len,
                        (unsigned long long)r->offset);
    r->status = VIRTIO_BLK_S_IOERR;
}

uint32_t blk_req_finish(struct blk_req *r)
{
    if (r->status_ptr)
        *r->status_ptr = r->status;
    return r->in_written + 1;
}

void blk_req_release(struct blk_req *r)
{
    if (r->iov != r->inline_iov)
        free(r->iov);
    r->iov = r->inline_iov;
    r->niov = 0;
    free(r->seg);
    r->seg = NULL;
    r->nseg = 0;
}
