/* SPDX-License-Identifier: MIT */
/*
 * virtio-net queue paths without the transport or a tap: receive buffers in a
 * fake guest RAM filled by virtio_net_rx_deliver (mergeable and not), transmit
 * chains written to a socketpair by virtio_net_tx_chain; the option checks of
 * virtio_net_create that come before any host resource; and virtio-rng's
 * buffer fill (the same kind of write-only queue).
 */
#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "check.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtqueue.h"
#include "fake_guest_ram.h"
#include "iommu/dma.h"

#define RAM_GPA 0x200000ull
#define RAM_SIZE (1ull << 20)
#define QSIZE 16
#define BUF_GPA (RAM_GPA + 0x10000)
#define BUF_STRIDE 0x1000

static struct fake_ram ram;
static struct dma_space as;
static struct virtqueue vq;
static struct fake_vring vr;
static struct virtio_net_rx_scratch scratch;
static uint16_t next_desc;

static void queue_setup(void)
{
    virtqueue_init(&vq, &as);
    fake_vring_init(&ram, &vr, RAM_GPA, QSIZE);
    vq.size = QSIZE;
    vq.desc_addr = vr.desc;
    vq.avail_addr = vr.avail;
    vq.used_addr = vr.used;
    vq.ready = true;
    CHECK_EQ(virtqueue_start(&vq, false), 0);
    next_desc = 0;
}

static uint8_t *gpa_ptr(uint64_t gpa)
{
    return ram.region.host + (gpa - RAM_GPA);
}

/* Post one single-descriptor buffer (writable or not) of len bytes; returns
 * its guest address. */
static uint64_t post(uint32_t len, bool writable)
{
    uint16_t i = next_desc++;
    uint64_t gpa = BUF_GPA + (uint64_t)i * BUF_STRIDE;

    fake_vring_desc(&ram, &vr, i, gpa, len, writable ? VRING_DESC_F_WRITE : 0, 0);
    fake_vring_publish(&ram, &vr, i);
    return gpa;
}

static void make_packet(uint8_t *pkt, size_t len)
{
    memset(pkt, 0, VIRTIO_NET_HDR_LEN);
    pkt[0] = VIRTIO_NET_HDR_F_DATA_VALID; /* flags survive the trip */
    for (size_t i = VIRTIO_NET_HDR_LEN; i < len; i++)
        pkt[i] = (uint8_t)(i * 13 + 1);
}

static uint16_t num_buffers_at(uint64_t gpa)
{
    return fake_ram_r16(&ram, gpa + offsetof(struct virtio_net_hdr_v1, num_buffers));
}

static void test_rx_mergeable(void)
{
    uint8_t pkt[212];
    uint64_t b0, b1, b2;
    uint32_t id, len;

    queue_setup();
    make_packet(pkt, sizeof(pkt));
    b0 = post(100, true);
    /* not enough room yet: nothing consumed */
    CHECK_EQ(virtio_net_rx_deliver(&vq, &scratch, pkt, sizeof(pkt), true), 0);
    CHECK_EQ(fake_vring_used_idx(&ram, &vr), 0);
    CHECK_EQ(vq.last_avail_idx, 0);

    b1 = post(100, true);
    b2 = post(100, true);
    CHECK_EQ(virtio_net_rx_deliver(&vq, &scratch, pkt, sizeof(pkt), true), 1);
    CHECK_EQ(fake_vring_used_idx(&ram, &vr), 3);
    CHECK_EQ(num_buffers_at(b0), 3);
    CHECK_EQ(gpa_ptr(b0)[0], VIRTIO_NET_HDR_F_DATA_VALID);
    CHECK(memcmp(gpa_ptr(b0) + VIRTIO_NET_HDR_LEN, pkt + VIRTIO_NET_HDR_LEN,
                 100 - VIRTIO_NET_HDR_LEN) == 0);
    CHECK(memcmp(gpa_ptr(b1), pkt + 100, 100) == 0);
    CHECK(memcmp(gpa_ptr(b2), pkt + 200, 12) == 0);
    fake_vring_used_elem(&ram, &vr, 0, &id, &len);
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 100);
    fake_vring_used_elem(&ram, &vr, 2, &id, &len);
    CHECK_EQ(id, 2);
    CHECK_EQ(len, 12);

    /* a small packet takes one buffer */
    b0 = post(1500, true);
    CHECK_EQ(virtio_net_rx_deliver(&vq, &scratch, pkt, 60, true), 1);
    CHECK_EQ(num_buffers_at(b0), 1);
    fake_vring_used_elem(&ram, &vr, 3, &id, &len);
    CHECK_EQ(len, 60);
}

static void test_rx_single(void)
{
    uint8_t pkt[300];
    uint64_t small, big;
    uint32_t id, len;

    queue_setup();
    make_packet(pkt, sizeof(pkt));
    small = post(200, true);
    /* without mergeable buffers the packet must fit one buffer: dropped, and
     * the buffer stays available for the next packet */
    CHECK_EQ(virtio_net_rx_deliver(&vq, &scratch, pkt, sizeof(pkt), false), -EMSGSIZE);
    CHECK_EQ(fake_vring_used_idx(&ram, &vr), 0);
    CHECK_EQ(virtio_net_rx_deliver(&vq, &scratch, pkt, 150, false), 1);
    CHECK_EQ(num_buffers_at(small), 1);
    CHECK(memcmp(gpa_ptr(small) + VIRTIO_NET_HDR_LEN, pkt + VIRTIO_NET_HDR_LEN,
                 150 - VIRTIO_NET_HDR_LEN) == 0);
    big = post(2048, true);
    CHECK_EQ(virtio_net_rx_deliver(&vq, &scratch, pkt, sizeof(pkt), false), 1);
    CHECK(memcmp(gpa_ptr(big) + VIRTIO_NET_HDR_LEN, pkt + VIRTIO_NET_HDR_LEN,
                 sizeof(pkt) - VIRTIO_NET_HDR_LEN) == 0);
    fake_vring_used_elem(&ram, &vr, 1, &id, &len);
    CHECK_EQ(id, 1);
    CHECK_EQ(len, sizeof(pkt));
}

static void test_rx_malformed(void)
{
    uint8_t pkt[64];

    make_packet(pkt, sizeof(pkt));
    /* a first buffer too small for the header */
    queue_setup();
    post(8, true);
    CHECK_EQ(virtio_net_rx_deliver(&vq, &scratch, pkt, sizeof(pkt), true), -EIO);
    /* a receive buffer with no writable part */
    queue_setup();
    post(100, false);
    CHECK_EQ(virtio_net_rx_deliver(&vq, &scratch, pkt, sizeof(pkt), true), -EIO);
    /* a descriptor outside guest RAM */
    queue_setup();
    fake_vring_desc(&ram, &vr, 0, RAM_GPA + RAM_SIZE, 100, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&ram, &vr, 0);
    CHECK_EQ(virtio_net_rx_deliver(&vq, &scratch, pkt, sizeof(pkt), true), -EIO);
}

static void test_tx(void)
{
    struct virtqueue_chain *c = &scratch.chain;
    uint8_t frame[VIRTIO_NET_HDR_LEN + 60], got[256];
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        CHECK(0 && "socketpair");
        return;
    }
    make_packet(frame, sizeof(frame));
    queue_setup();
    /* header + start of the frame in one descriptor, the rest in another */
    memcpy(gpa_ptr(BUF_GPA), frame, 30);
    memcpy(gpa_ptr(BUF_GPA + BUF_STRIDE), frame + 30, sizeof(frame) - 30);
    fake_vring_desc(&ram, &vr, 0, BUF_GPA, 30, VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&ram, &vr, 1, BUF_GPA + BUF_STRIDE, sizeof(frame) - 30, 0, 0);
    fake_vring_publish(&ram, &vr, 0);
    CHECK_EQ(virtqueue_pop(&vq, c), 1);
    CHECK_EQ(virtio_net_tx_chain(sv[0], c), 0);
    CHECK_EQ(recv(sv[1], got, sizeof(got), MSG_DONTWAIT), sizeof(frame));
    CHECK(memcmp(got, frame, sizeof(frame)) == 0);

    /* shorter than the vnet header: dropped, nothing sent */
    fake_vring_desc(&ram, &vr, 2, BUF_GPA, 8, 0, 0);
    fake_vring_publish(&ram, &vr, 2);
    CHECK_EQ(virtqueue_pop(&vq, c), 1);
    CHECK_EQ(virtio_net_tx_chain(sv[0], c), -EINVAL);
    CHECK(recv(sv[1], got, sizeof(got), MSG_DONTWAIT) < 0 && errno == EAGAIN);

    /* the peer is gone: an error, not a crash */
    close(sv[1]);
    fake_vring_desc(&ram, &vr, 3, BUF_GPA, sizeof(frame), 0, 0);
    fake_vring_publish(&ram, &vr, 3);
    CHECK_EQ(virtqueue_pop(&vq, c), 1);
    CHECK(virtio_net_tx_chain(sv[0], c) < 0);
    close(sv[0]);
}

static void test_create_options(void)
{
    struct virtio_pci_config transport;
    struct virtio_net *n = NULL;
    char err[256] = "";

    memset(&transport, 0, sizeof(transport));
    CHECK_EQ(virtio_net_create(&(struct virtio_net_options){ .tap = "tap0", .queue_pairs = 4 },
                               &transport, &n, err, sizeof(err)),
             -EINVAL);
    CHECK(strstr(err, "tap0") && strstr(err, "queue pairs"));
    CHECK_EQ(virtio_net_create(&(struct virtio_net_options){ .tap = "a-name-far-too-long-for-a-tap" },
                               &transport, &n, err, sizeof(err)),
             -EINVAL);
    CHECK(strstr(err, "name") != NULL);
    CHECK(n == NULL);
}

static void test_rng_fill(void)
{
    struct virtqueue_chain *c = &scratch.chain;
    uint64_t a, b;
    size_t nonzero = 0;

    queue_setup();
    memset(gpa_ptr(BUF_GPA), 0, 4 * BUF_STRIDE);
    a = BUF_GPA;
    b = BUF_GPA + 2 * BUF_STRIDE;
    fake_vring_desc(&ram, &vr, 0, BUF_GPA + BUF_STRIDE, 16, VRING_DESC_F_NEXT, 1); /* readable */
    fake_vring_desc(&ram, &vr, 1, a, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    fake_vring_desc(&ram, &vr, 2, b, 156, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&ram, &vr, 0);
    CHECK_EQ(virtqueue_pop(&vq, c), 1);
    CHECK_EQ(virtio_rng_fill(c), 256);
    for (size_t i = 0; i < 100; i++)
        nonzero += gpa_ptr(a)[i] != 0;
    for (size_t i = 0; i < 156; i++)
        nonzero += gpa_ptr(b)[i] != 0;
    CHECK(nonzero > 200); /* 256 random bytes are not mostly zero */
    CHECK_EQ(gpa_ptr(b)[156], 0);                  /* nothing past the buffer */
    CHECK_EQ(gpa_ptr(BUF_GPA + BUF_STRIDE)[0], 0); /* readable part untouched */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* test_tx writes to a closed socket */
    if (fake_ram_init(&ram, RAM_GPA, RAM_SIZE) < 0 || dma_space_init(&as, &ram.region, 1, 0)) {
        fprintf(stderr, "no memory for the fake guest RAM\n");
        return CHECK_SKIP;
    }
    test_rx_mergeable();
    test_rx_single();
    test_rx_malformed();
    test_tx();
    test_create_options();
    test_rng_fill();
    fake_ram_free(&ram);
    return check_result("test_virtio_net");
}
