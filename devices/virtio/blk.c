/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk device: the virtio-pci glue and the io_uring engine around the
 * request path of blk_request.c. Everything but config_read runs on the
 * device's I/O thread.
 */
#define LOG_MODULE "virtio-blk"

#include "devices/virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <liburing.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "devices/bits.h"
#include "devices/virtio/blk_request.h"
#include "vmm/log.h"

/* Advertised limits (config space). */
#define BLK_SEG_MAX (VIRTIO_BLK_QUEUE_SIZE - 2) /* minus header and status */
#define BLK_DISCARD_ALIGN_SECTORS 8             /* 4 KiB: file system block */
#define BLK_REQ_QUEUE 0

struct virtio_blk {
    struct virtio_pci *vp;
    struct blk_disk disk;
    char name[32];
    struct virtio_blk_config cfg;   /* little endian, constant after create */

    struct io_uring ring;
    int efd;                        /* completion eventfd */

    struct blk_req reqs[VIRTIO_BLK_QUEUE_SIZE];
    uint16_t free_slot[VIRTIO_BLK_QUEUE_SIZE];
    unsigned nfree;
    unsigned inflight;              /* submitted to io_uring, not reaped */
    bool starved;                   /* stopped popping for lack of free slots */
    bool broken;                    /* device error reported: wait for reset */
    struct virtqueue_chain chain;   /* pop scratch */
};

static atomic_uint blk_count;

/* ---- request slots ---- */

static void slots_reset(struct virtio_blk *b)
{
    b->nfree = VIRTIO_BLK_QUEUE_SIZE;
    for (unsigned i = 0; i < VIRTIO_BLK_QUEUE_SIZE; i++)
        b->free_slot[i] = (uint16_t)(VIRTIO_BLK_QUEUE_SIZE - 1 - i);
}

static struct blk_req *slot_take(struct virtio_blk *b)
{
    return &b->reqs[b->free_slot[--b->nfree]];
}

static void slot_put(struct virtio_blk *b, struct blk_req *r)
{
    blk_req_release(r);
    b->free_slot[b->nfree++] = (uint16_t)(r - b->reqs);
}

static void fail(struct virtio_blk *b, const char *why)
{
    b->broken = true;
    virtio_pci_device_error(b->vp, why);
}

/* Status byte, used ring, slot back. */
static void complete(struct virtio_blk *b, struct virtqueue *vq, struct blk_req *r,
                     bool *pushed)
{
    uint32_t used = blk_req_finish(r);
    uint16_t head = r->head;

    slot_put(b, r);
    if (b->broken)
        return;
    if (virtqueue_push(vq, head, used) < 0) {
        fail(b, "used ring not writable");
        return;
    }
    *pushed = true;
}

/* ---- submission ---- */

/* Queue r's READ/WRITE/FLUSH on the ring. Returns 0 or -EBUSY. */
static int submit(struct virtio_blk *b, struct blk_req *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

    if (!sqe) {
        io_uring_submit(&b->ring);
        sqe = io_uring_get_sqe(&b->ring);
        if (!sqe)
            return -EBUSY;
    }
    switch (r->op) {
    case BLK_OP_READ:
        io_uring_prep_readv(sqe, b->disk.fd, r->iov, r->niov, r->offset);
        break;
    case BLK_OP_WRITE:
        io_uring_prep_writev(sqe, b->disk.fd, r->iov, r->niov, r->offset);
        break;
    default:
        io_uring_prep_fsync(sqe, b->disk.fd, IORING_FSYNC_DATASYNC);
        break;
    }
    io_uring_sqe_set_data(sqe, r);
    b->inflight++;
    return 0;
}

static bool is_async(enum blk_op op)
{
    return op == BLK_OP_READ || op == BLK_OP_WRITE || op == BLK_OP_FLUSH;
}

/* Pop and start requests until the queue is empty, the slots run out
 * (b->starved) or the device breaks. Returns the chains popped or -EIO. */
static int drain(struct virtio_blk *b, struct virtqueue *vq, bool *pushed)
{
    int popped = 0;

    while (b->nfree > 0) {
        struct blk_req *r;
        int ret = virtqueue_pop(vq, &b->chain);

        if (ret == 0)
            return popped;
        if (ret < 0) {
            fail(b, "malformed descriptor chain");
            return -EIO;
        }
        popped++;
        r = slot_take(b);
        if (blk_req_parse(&b->disk, &b->chain, r) < 0) {
            slot_put(b, r);
            fail(b, "malformed request");
            return -EIO;
        }
        if (is_async(r->op)) {
            ret = submit(b, r);
            if (ret == 0)
                continue;
            blk_req_complete_io(r, ret);
        } else {
            blk_req_execute_sync(&b->disk, r);
        }
        complete(b, vq, r, pushed);
    }
    b->starved = true;
    return popped;
}

/* Process the request queue; notifications stay off while starved so the
 * completion handler resumes instead. */
static void process_queue(struct virtio_blk *b)
{
    struct virtqueue *vq = virtio_pci_queue(b->vp, BLK_REQ_QUEUE);
    bool pushed = false;
    int n;

    if (b->broken || !vq || !vq->ready)
        return;
    b->starved = false;
    for (;;) {
        virtqueue_set_notification(vq, false);
        n = drain(b, vq, &pushed);
        if (n < 0 || b->starved)
            break;
        /* Re-enable, then look again: a buffer added in between would
         * otherwise wait for a notification that never comes. */
        virtqueue_set_notification(vq, true);
        n = drain(b, vq, &pushed);
        if (n <= 0 || b->starved)
            break;
    }
    if (b->inflight) {
        int ret = io_uring_submit(&b->ring);
        /* unsubmitted entries stay queued and go with the next submit */
        if (ret < 0)
            LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: io_uring_submit: %s", b->name, strerror(-ret));
    }
    if (pushed)
        virtio_pci_queue_interrupt(b->vp, BLK_REQ_QUEUE);
}

/* ---- completion ---- */

/* Reap every available completion; pushes unless the device is broken. */
static void reap(struct virtio_blk *b, bool *pushed)
{
    struct virtqueue *vq = virtio_pci_queue(b->vp, BLK_REQ_QUEUE);
    struct io_uring_cqe *cqe;

    while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
        struct blk_req *r = io_uring_cqe_get_data(cqe);

        blk_req_complete_io(r, cqe->res);
        io_uring_cqe_seen(&b->ring, cqe);
        b->inflight--;
        complete(b, vq, r, pushed);
    }
}

static void on_completion(void *opaque, uint32_t events)
{
    struct virtio_blk *b = opaque;
    eventfd_t count;
    bool pushed = false;

    (void)eventfd_read(b->efd, &count);
    reap(b, &pushed);
    if (pushed)
        virtio_pci_queue_interrupt(b->vp, BLK_REQ_QUEUE);
    if (b->starved && b->nfree > 0)
        process_queue(b);
}

/* Wait for everything submitted and drop it without touching the rings. */
static void wait_inflight(struct virtio_blk *b)
{
    struct io_uring_cqe *cqe;

    while (b->inflight > 0) {
        int ret = io_uring_wait_cqe(&b->ring, &cqe);

        if (ret == -EINTR)
            continue;
        if (ret < 0) {
            LOG_ERR("%s: waiting for in-flight I/O: %s", b->name, strerror(-ret));
            return;
        }
        slot_put(b, io_uring_cqe_get_data(cqe));
        io_uring_cqe_seen(&b->ring, cqe);
        b->inflight--;
    }
}

/* ---- virtio device ops ---- */

static void blk_config_read(void *opaque, uint32_t off, void *data, unsigned size)
{
    struct virtio_blk *b = opaque;

    if (off > sizeof(b->cfg) || size > sizeof(b->cfg) - off) {
        memset(data, 0xff, size);
        return;
    }
    memcpy(data, (const uint8_t *)&b->cfg + off, size);
}

static void blk_config_write(void *opaque, uint32_t off, const void *data, unsigned size)
{
    struct virtio_blk *b = opaque;

    /* Nothing writable without VIRTIO_BLK_F_CONFIG_WCE, which is not offered. */
    LOG_RATELIMITED(LOG_LEVEL_DEBUG, "%s: config write at 0x%x dropped", b->name, off);
}

static int blk_activate(void *opaque)
{
    struct virtio_blk *b = opaque;
    uint64_t f = virtio_pci_driver_features(b->vp);

    b->disk.discard = b->disk.can_punch && (f & BIT(VIRTIO_BLK_F_DISCARD));
    b->disk.write_zeroes = b->disk.can_punch && (f & BIT(VIRTIO_BLK_F_WRITE_ZEROES));
    b->broken = false;
    b->starved = false;
    return 0;
}

static void blk_queue_notify(void *opaque, unsigned q)
{
    struct virtio_blk *b = opaque;

    if (q == BLK_REQ_QUEUE)
        process_queue(b);
}

static void blk_reset(void *opaque)
{
    struct virtio_blk *b = opaque;

    wait_inflight(b);
    b->broken = false;
    b->starved = false;
    b->disk.discard = b->disk.write_zeroes = false;
}

static const struct virtio_device_ops blk_ops = {
    .config_read = blk_config_read,
    .config_write = blk_config_write,
    .activate = blk_activate,
    .queue_notify = blk_queue_notify,
    .reset = blk_reset,
};

/* ---- lifetime ---- */

static uint64_t blk_features(const struct blk_disk *d)
{
    uint64_t f = BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH);

    if (d->readonly)
        f |= BIT(VIRTIO_BLK_F_RO);
    if (d->can_punch)
        f |= BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    return f;
}

static void build_config(struct virtio_blk *b)
{
    struct virtio_blk_config *c = &b->cfg;

    memset(c, 0, sizeof(*c));
    c->capacity = htole64(b->disk.capacity);
    c->seg_max = htole32(BLK_SEG_MAX);
    c->blk_size = htole32(BLK_SECTOR_SIZE);
    if (b->disk.can_punch) {
        c->max_discard_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
        c->max_discard_seg = htole32(BLK_MAX_DISCARD_SEG);
        c->discard_sector_alignment = htole32(BLK_DISCARD_ALIGN_SECTORS);
        c->max_write_zeroes_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
        c->max_write_zeroes_seg = htole32(BLK_MAX_DISCARD_SEG);
        c->write_zeroes_may_unmap = 1;
    }
}

static int setup_ring(struct virtio_blk *b, const char *path, char *err, size_t errlen)
{
    int ret;

    b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->efd < 0) {
        ret = -errno;
        snprintf(err, errlen, "disk %s: eventfd: %s", path, strerror(-ret));
        return ret;
    }
    ret = io_uring_queue_init(VIRTIO_BLK_QUEUE_SIZE, &b->ring, 0);
    if (ret < 0) {
        snprintf(err, errlen,
                 "disk %s: io_uring unavailable: %s (needs Linux >= 5.6 and io_uring not "
                 "disabled by sysctl kernel.io_uring_disabled or seccomp)",
                 path, strerror(-ret));
        goto close_efd;
    }
    ret = io_uring_register_eventfd(&b->ring, b->efd);
    if (ret < 0) {
        snprintf(err, errlen, "disk %s: io_uring eventfd registration: %s", path,
                 strerror(-ret));
        goto exit_ring;
    }
    return 0;

exit_ring:
    io_uring_queue_exit(&b->ring);
close_efd:
    close(b->efd);
    b->efd = -1;
    return ret;
}

static void teardown_ring(struct virtio_blk *b)
{
    io_uring_queue_exit(&b->ring);
    close(b->efd);
    b->efd = -1;
}

int virtio_blk_create(const struct virtio_blk_options *o, const struct virtio_pci_config *transport,
                      struct virtio_blk **out, char *err, size_t errlen)
{
    struct virtio_pci_config cfg = *transport;
    struct virtio_blk *b;
    int ret;

    b = calloc(1, sizeof(*b));
    if (!b) {
        snprintf(err, errlen, "disk %s: out of memory", o->path);
        return -ENOMEM;
    }
    snprintf(b->name, sizeof(b->name), "virtio-blk%u", atomic_fetch_add(&blk_count, 1));
    ret = blk_disk_open(&b->disk, o->path, o->readonly, o->id, err, errlen);
    if (ret < 0)
        goto free_b;
    ret = setup_ring(b, o->path, err, errlen);
    if (ret < 0)
        goto close_disk;
    slots_reset(b);
    build_config(b);

    cfg.dev = (struct virtio_device_desc){
        .name = b->name,
        .device_id = VIRTIO_ID_BLOCK,
        .class_code = VIRTIO_BLK_PCI_CLASS_CODE,
        .features = blk_features(&b->disk),
        .nqueues = 1,
        .queue_max_size = VIRTIO_BLK_QUEUE_SIZE,
        .config_size = sizeof(b->cfg),
        .ops = &blk_ops,
        .opaque = b,
    };
    ret = virtio_pci_create(&cfg, &b->vp);
    if (ret < 0) {
        snprintf(err, errlen, "disk %s: cannot create the virtio-pci function: %s", o->path,
                 strerror(-ret));
        goto teardown_ring;
    }
    ret = io_thread_add(virtio_pci_io_thread(b->vp), b->efd, EPOLLIN, on_completion, b);
    if (ret < 0) {
        snprintf(err, errlen, "disk %s: cannot watch io_uring completions: %s", o->path,
                 strerror(-ret));
        goto destroy_vp;
    }
    LOG_INFO("%s: %s, %llu sectors%s%s", b->name, o->path,
             (unsigned long long)b->disk.capacity, o->readonly ? ", read-only" : "",
             b->disk.can_punch ? ", discard" : "");
    *out = b;
    return 0;

destroy_vp:
    virtio_pci_destroy(b->vp);
teardown_ring:
    teardown_ring(b);
close_disk:
    blk_disk_close(&b->disk);
free_b:
    free(b);
    return ret;
}

struct virtio_pci *virtio_blk_virtio_pci(struct virtio_blk *b)
{
    return b->vp;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
    if (!b)
        return;
    virtio_pci_destroy(b->vp); /* joins the I/O thread */
    wait_inflight(b);
    teardown_ring(b);
    blk_disk_close(&b->disk);
    free(b);
}
