/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.x, 2.7) read and written through a DMA address
 * space, with indirect descriptors and event index.
 *
 * The device side pops descriptor chains as scatter lists of host pointers
 * (readable ones first, then writable ones), processes them, and pushes the
 * head back with the number of bytes written. Anything malformed (a
 * descriptor outside mapped memory, a loop, a chain longer than the queue or
 * the indirect table, an indirect descriptor inside an indirect table, a
 * readable descriptor after a writable one, a zero-length indirect table,
 * an avail index that jumps by more than the queue size) makes pop return
 * -EIO: the device then reports NEEDS_RESET and stops using the queue.
 *
 * Thread safety: one thread uses a queue at a time (the device's I/O thread);
 * the transport configures it only while the device is not running.
 */
#ifndef SLUICE_DEVICES_VIRTIO_VIRTQUEUE_H
#define SLUICE_DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "iommu/dma.h"

#define VIRTQUEUE_MAX_SIZE 1024
/* Host fragments one chain may map to (descriptors split by IOMMU pages). */
#define VIRTQUEUE_MAX_IOV 1024

struct virtqueue {
    /* programmed by the driver through the transport */
    uint16_t size;          /* power of two, <= VIRTQUEUE_MAX_SIZE */
    bool ready;
    uint64_t desc_addr, avail_addr, used_addr; /* IOVAs */
    /* negotiated */
    bool event_idx;
    /* device state */
    struct dma_space *dma;
    uint16_t last_avail_idx;  /* next avail entry to pop */
    uint16_t used_idx;        /* next used entry to fill */
    uint16_t signalled_used;  /* used_idx at the last notification */
    bool signalled_used_valid;
    bool broken;              /* a malformed chain was seen */
};

struct virtqueue_chain {
    uint16_t head;
    unsigned out_num, in_num; /* iov[0..out_num) readable, then in_num writable */
    uint64_t out_len, in_len; /* total bytes of each */
    struct iovec iov[VIRTQUEUE_MAX_IOV];
};

/* Reset to the unconfigured state, bound to `dma`. */
void virtqueue_init(struct virtqueue *vq, struct dma_space *dma);
/* Driver enabled the queue: check the addresses and size. Returns 0 or -EINVAL. */
int virtqueue_start(struct virtqueue *vq, bool event_idx) __attribute__((warn_unused_result));

/* Pop the next available chain: 1 with *c filled, 0 when the queue is empty,
 * -EIO when malformed (vq->broken set). */
int virtqueue_pop(struct virtqueue *vq, struct virtqueue_chain *c)
    __attribute__((warn_unused_result));
/* Return a chain with `written` bytes placed in its writable part.
 * Returns 0 or -EIO (used ring not writable: vq->broken set). */
int virtqueue_push(struct virtqueue *vq, uint16_t head, uint32_t written)
    __attribute__((warn_unused_result));
/* After pushes: does the driver want an interrupt (event index or
 * VRING_AVAIL_F_NO_INTERRUPT)? Updates the signalled state when true. */
bool virtqueue_should_notify(struct virtqueue *vq);
/* Ask the driver for (true) or not for (false) notifications of new buffers
 * (used flags, or avail_event with event index). After enabling, check for
 * buffers again before sleeping. */
void virtqueue_set_notification(struct virtqueue *vq, bool enable);

/* Copy out of the readable part / into the writable part of a chain, from
 * byte `off` of that part. Return the bytes copied (short at the end). */
size_t virtqueue_chain_read(const struct virtqueue_chain *c, size_t off, void *buf, size_t len);
size_t virtqueue_chain_write(const struct virtqueue_chain *c, size_t off, const void *buf,
                             size_t len);

#endif
