/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request parsing and execution (virtio 1.2, 5.2.6), independent of
 * the PCI transport and of io_uring so unit tests and the fuzz harness can
 * drive it with a fake guest RAM.
 *
 * A request is one popped descriptor chain: the readable part starts with a
 * struct virtio_blk_outhdr (type, reserved, sector), OUT/DISCARD/WRITE_ZEROES
 * data follows it; the writable part holds IN/GET_ID data and ends with one
 * status byte.
 *
 * Life of a request (all on the device's I/O thread):
 *   blk_req_parse      chain -> plan (op + data iovecs) or a final status
 *   one of:
 *     op READ/WRITE/FLUSH: the caller submits the I/O (io_uring) and reports
 *                        the result with blk_req_complete_io, or calls
 *                        blk_req_execute_sync (tests, fuzzing);
 *     op DISCARD/WRITE_ZEROES: blk_req_execute_sync (fallocate);
 *     op NONE: the status is already final (GET_ID done, errors)
 *   blk_req_finish     writes the status byte, returns the used length
 *   blk_req_release    frees what parse allocated (always, also after -EIO)
 *
 * The iovecs and the status pointer point into guest RAM (host mappings owned
 * by vmm/, stable for the VM's life); a blk_req owns only its own arrays.
 */
#ifndef SLUICE_DEVICES_VIRTIO_BLK_REQUEST_H
#define SLUICE_DEVICES_VIRTIO_BLK_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_blk.h>

#include "devices/virtio/virtqueue.h"

/* virtio-blk addresses the disk in 512-byte sectors whatever blk_size is. */
#define BLK_SECTOR_SHIFT 9
#define BLK_SECTOR_SIZE (1u << BLK_SECTOR_SHIFT)

/* Limits advertised in the config space and enforced on requests. */
#define BLK_MAX_DISCARD_SEG 32
#define BLK_MAX_DISCARD_SECTORS (UINT32_MAX >> BLK_SECTOR_SHIFT)
/* Largest data transfer of one request (fits the used length and one
 * io_uring result); Linux guests stay far below it. */
#define BLK_MAX_REQUEST_BYTES (1u << 30)
/* A request's data iovecs must fit one preadv/pwritev (IOV_MAX). */
#define BLK_MAX_DATA_IOV 1024

#define BLK_REQ_INLINE_IOV 8

/* The backing image as the request path sees it. */
struct blk_disk {
    int fd;
    uint64_t capacity;       /* 512-byte sectors */
    bool readonly;
    bool can_punch;          /* host file supports FALLOC_FL_PUNCH_HOLE */
    bool discard;            /* DISCARD accepted (host supports, negotiated) */
    bool write_zeroes;       /* WRITE_ZEROES accepted (host supports, negotiated) */
    char id[VIRTIO_BLK_ID_BYTES]; /* GET_ID answer, zero padded */
};

/*
 * Open the image `path` for the disk: O_RDWR (O_RDONLY when readonly) with
 * O_CLOEXEC, an OFD lock on the whole file (shared when readonly, exclusive
 * otherwise) so two VMs cannot write one image, capacity from the size (a size
 * not a multiple of 512 is truncated down, with a warning), the punch-hole
 * probe, and the GET_ID answer from `id` (NULL: empty; at most
 * VIRTIO_BLK_ID_BYTES bytes). discard/write_zeroes start false (the device
 * sets them from the negotiated features). Returns 0, or -errno with one line
 * in err naming the file and the cause and nothing left open.
 */
int blk_disk_open(struct blk_disk *d, const char *path, bool readonly, const char *id, char *err,
                  size_t errlen) __attribute__((warn_unused_result));
/* Close the image (drops the lock) and set fd to -1; no-op when fd < 0. */
void blk_disk_close(struct blk_disk *d);

enum blk_op {
    BLK_OP_NONE,          /* nothing to do: status is final */
    BLK_OP_READ,
    BLK_OP_WRITE,
    BLK_OP_FLUSH,
    BLK_OP_DISCARD,
    BLK_OP_WRITE_ZEROES,
};

struct blk_req {
    uint16_t head;           /* descriptor chain head, for virtqueue_push */
    uint32_t type;           /* VIRTIO_BLK_T_* from the header */
    enum blk_op op;
    uint8_t status;          /* VIRTIO_BLK_S_* */
    uint8_t *status_ptr;     /* the status byte in guest RAM */
    uint64_t offset;         /* byte offset in the image (READ/WRITE) */
    uint64_t len;            /* data bytes (READ/WRITE) */
    uint32_t in_written;     /* data bytes placed in the writable part */
    unsigned niov;
    struct iovec *iov;       /* data: inline_iov or heap */
    struct iovec inline_iov[BLK_REQ_INLINE_IOV];
    unsigned nseg;           /* DISCARD/WRITE_ZEROES segments (heap) */
    struct virtio_blk_discard_write_zeroes *seg;
};

/*
 * Parse the popped chain `c` into `r` (whose previous content is ignored).
 * Returns 0 with r->op set (BLK_OP_NONE: r->status is final, e.g. UNSUPP,
 * IOERR for out-of-range or read-only writes, OK for GET_ID which is done
 * here), or -EIO when the chain is malformed (header shorter than
 * virtio_blk_outhdr, no writable status byte): the caller reports a device
 * error and does not push the chain. -ENOMEM: r->status is IOERR and the
 * request can still be finished. Call blk_req_release in every case.
 */
int blk_req_parse(const struct blk_disk *d, const struct virtqueue_chain *c, struct blk_req *r)
    __attribute__((warn_unused_result));

/* Perform r->op synchronously (preadv/pwritev/fdatasync/fallocate) and set
 * r->status. No-op for BLK_OP_NONE. */
void blk_req_execute_sync(const struct blk_disk *d, struct blk_req *r);

/* Record the result of an asynchronous READ/WRITE/FLUSH: `res` is the byte
 * count transferred or -errno. Short transfers are I/O errors. */
void blk_req_complete_io(struct blk_req *r, int64_t res);

/* Write the status byte; returns the used length for virtqueue_push. */
uint32_t blk_req_finish(struct blk_req *r);

void blk_req_release(struct blk_req *r);

#endif
