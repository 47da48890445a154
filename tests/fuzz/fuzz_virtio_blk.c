/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the split virtqueue + virtio-blk request path: the
 * fuzz input is the guest. Its first FUZZ_HDR_BYTES set up the queue, the rest
 * is a FUZZ_RAM_SIZE guest RAM image (zero-padded) holding descriptors, rings
 * and request data:
 *
 *   byte 0      log2 of the queue size (taken modulo 9: 1..256 entries)
 *   byte 1      bit 0 event index, bit 1 read-only disk, bit 2 DISCARD and
 *               WRITE_ZEROES negotiated
 *   bytes 2..7  descriptor table, avail ring, used ring offsets (le16) in RAM
 *   bytes 8..   RAM image, guest-physical FUZZ_RAM_GPA on
 *
 * Every chain popped is parsed and executed synchronously (preadv/pwritev/
 * fdatasync/fallocate instead of io_uring: the request path is the same code
 * the device uses, only the I/O engine differs) against a small image in a
 * memfd, and pushed back. A malformed chain or request must only end the
 * round (the device would report NEEDS_RESET); anything else that goes wrong
 * (a crash, a sanitizer report, an invariant below) is a finding.
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/blk_request.h"
#include "devices/virtio/virtqueue.h"
#include "iommu/dma.h"
#include "vmm/log.h"

#define FUZZ_HDR_BYTES 8
#define FUZZ_RAM_GPA 0x0
#define FUZZ_RAM_SIZE 0x10000
#define FUZZ_MAX_QSIZE_LOG2 9
#define FUZZ_IMAGE_SECTORS 64

#define FUZZ_FLAG_EVENT_IDX 0x1
#define FUZZ_FLAG_READONLY 0x2
#define FUZZ_FLAG_DISCARD 0x4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct blk_disk disk;
static struct virtqueue_chain chain;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[64], err[256];
    int fd = memfd_create("sluice-fuzz-blk", MFD_CLOEXEC);

    (void)argc;
    (void)argv;
    log_set_level(LOG_LEVEL_ERROR); /* guest-triggered warnings are expected */
    if (fd < 0 || ftruncate(fd, FUZZ_IMAGE_SECTORS * BLK_SECTOR_SIZE) < 0) {
        perror("fuzz_virtio_blk: memfd image");
        abort();
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (blk_disk_open(&disk, path, false, "fuzz-disk", err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz_virtio_blk: %s\n", err);
        abort();
    }
    close(fd); /* the disk holds its own open file description */
    return 0;
}

static uint16_t le16_at(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return le16toh(v);
}

/* Is [p, p + len) inside the RAM image? */
static int in_ram(const uint8_t *ram, const void *p, uint64_t len)
{
    const uint8_t *b = p;

    return b >= ram && b <= ram + FUZZ_RAM_SIZE && len <= (uint64_t)(ram + FUZZ_RAM_SIZE - b);
}

/* Check what the device is about to rely on: every fragment inside guest
 * RAM, the status byte inside the chain's writable part. */
static void check_invariants(const uint8_t *ram, const struct blk_req *r)
{
    for (unsigned i = 0; i < chain.out_num + chain.in_num; i++)
        if (!in_ram(ram, chain.iov[i].iov_base, chain.iov[i].iov_len))
            __builtin_trap();
    for (unsigned i = 0; i < r->niov; i++)
        if (!in_ram(ram, r->iov[i].iov_base, r->iov[i].iov_len))
            __builtin_trap();
    if (!r->status_ptr || !in_ram(ram, r->status_ptr, 1))
        __builtin_trap();
    if ((uint64_t)r->in_written + 1 > chain.in_len)
        __builtin_trap();
}

/* Run one chain; returns 0 to go on, -1 when the device would stop. */
static int run_chain(struct virtqueue *vq, const struct blk_disk *d, const uint8_t *ram)
{
    struct blk_req r;
    uint32_t used;

    if (blk_req_parse(d, &chain, &r) < 0) {
        blk_req_release(&r);
        return -1;
    }
    if (r.op == BLK_OP_READ || r.op == BLK_OP_WRITE) {
        if (r.offset + r.len > d->capacity * BLK_SECTOR_SIZE || r.len > chain.in_len + chain.out_len)
            __builtin_trap();
    }
    check_invariants(ram, &r);
    blk_req_execute_sync(d, &r);
    used = blk_req_finish(&r);
    blk_req_release(&r);
    if (virtqueue_push(vq, chain.head, used) < 0)
        return -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dma_space as;
    struct dma_ram_region region;
    struct virtqueue vq;
    struct blk_disk d = disk;
    uint8_t *ram;
    unsigned budget;

    if (size < FUZZ_HDR_BYTES)
        return 0;
    ram = calloc(1, FUZZ_RAM_SIZE);
    if (!ram)
        return 0;
    memcpy(ram, data + FUZZ_HDR_BYTES,
           size - FUZZ_HDR_BYTES < FUZZ_RAM_SIZE ? size - FUZZ_HDR_BYTES : FUZZ_RAM_SIZE);
    region = (struct dma_ram_region){ .gpa = FUZZ_RAM_GPA, .size = FUZZ_RAM_SIZE, .host = ram };
    if (dma_space_init(&as, &region, 1, 0) < 0)
        goto free_ram;

    d.readonly = data[1] & FUZZ_FLAG_READONLY;
    d.discard = d.write_zeroes = d.can_punch && (data[1] & FUZZ_FLAG_DISCARD);
    virtqueue_init(&vq, &as);
    vq.size = (uint16_t)(1u << (data[0] % FUZZ_MAX_QSIZE_LOG2));
    vq.desc_addr = FUZZ_RAM_GPA + le16_at(data + 2);
    vq.avail_addr = FUZZ_RAM_GPA + le16_at(data + 4);
    vq.used_addr = FUZZ_RAM_GPA + le16_at(data + 6);
    vq.ready = true;
    if (virtqueue_start(&vq, data[1] & FUZZ_FLAG_EVENT_IDX) < 0)
        goto free_ram;

    /* Two rounds, as a device that re-enables notifications and looks again. */
    for (int round = 0; round < 2; round++) {
        virtqueue_set_notification(&vq, round == 1);
        for (budget = 2u * vq.size; budget > 0; budget--) {
            int ret = virtqueue_pop(&vq, &chain);

            if (ret <= 0)
                break;
            if (chain.out_num + chain.in_num > VIRTQUEUE_MAX_IOV)
                __builtin_trap();
            if (run_chain(&vq, &d, ram) < 0)
                goto free_ram;
        }
        (void)virtqueue_should_notify(&vq);
    }

free_ram:
    free(ram);
    return 0;
}
