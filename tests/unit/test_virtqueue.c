/* SPDX-License-Identifier: MIT */
/* Split virtqueues over a fake guest RAM: good chains, indirect tables,
 * every kind of malformed chain, the used ring, notification suppression
 * and a translator that fragments every page. */
#include <errno.h>
#include <stdlib.h>

#include <linux/virtio_ring.h>

#include "devices/virtio/virtqueue.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_guest_ram.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE (8ULL << 20)
#define PAGE 0x1000ULL
#define RING_GPA RAM_GPA
#define BUF_GPA (RAM_GPA + 0x10000)   /* data buffers */
#define TABLE_GPA (RAM_GPA + 0x8000)  /* indirect tables */
#define QSIZE 16
#define DESC_SIZE sizeof(struct vring_desc)

static struct fake_ram ram;
static struct dma_space as;
static struct fake_vring vr;
static struct virtqueue vq;
static struct virtqueue_chain chain;

/* Fresh rings and a started queue of `size` entries at RING_GPA. */
static void setup(uint16_t size, bool event_idx)
{
    fake_vring_init(&ram, &vr, RING_GPA, size);
    virtqueue_init(&vq, &as);
    vq.size = size;
    vq.desc_addr = vr.desc;
    vq.avail_addr = vr.avail;
    vq.used_addr = vr.used;
    CHECK_EQ(virtqueue_start(&vq, event_idx), 0);
    CHECK(vq.ready);
}

/* Pop must reject the queue and leave last_avail_idx where it was. */
static void expect_malformed(const char *what)
{
    uint16_t before = vq.last_avail_idx;
    int ret = virtqueue_pop(&vq, &chain);

    if (ret != -EIO)
        fprintf(stderr, "malformed case '%s' not rejected (%d)\n", what, ret);
    CHECK_EQ(ret, -EIO);
    CHECK(vq.broken);
    CHECK_EQ(vq.last_avail_idx, before);
    CHECK_EQ(virtqueue_pop(&vq, &chain), -EIO); /* stays broken */
}

static void test_start(void)
{
    virtqueue_init(&vq, &as);
    CHECK(!vq.ready);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 0); /* unconfigured: nothing */

    vq.desc_addr = RING_GPA;
    vq.avail_addr = RING_GPA + 0x1000;
    vq.used_addr = RING_GPA + 0x2000;
    vq.size = 0;
    CHECK_EQ(virtqueue_start(&vq, false), -EINVAL);
    vq.size = 24;
    CHECK_EQ(virtqueue_start(&vq, false), -EINVAL);
    vq.size = VIRTQUEUE_MAX_SIZE * 2;
    CHECK_EQ(virtqueue_start(&vq, false), -EINVAL);
    vq.size = VIRTQUEUE_MAX_SIZE;
    CHECK_EQ(virtqueue_start(&vq, false), 0);
    vq.size = 1;
    CHECK_EQ(virtqueue_start(&vq, false), 0);

    vq.size = QSIZE;
    vq.desc_addr = RING_GPA + 8;
    CHECK_EQ(virtqueue_start(&vq, false), -EINVAL);
    vq.desc_addr = RING_GPA;
    vq.avail_addr = RING_GPA + 0x1001;
    CHECK_EQ(virtqueue_start(&vq, false), -EINVAL);
    vq.avail_addr = RING_GPA + 0x1002;
    vq.used_addr = RING_GPA + 0x2002;
    CHECK_EQ(virtqueue_start(&vq, false), -EINVAL);
    vq.used_addr = RING_GPA + 0x2004;
    CHECK_EQ(virtqueue_start(&vq, true), 0);
    CHECK(vq.event_idx);
}

static void test_good_chain(void)
{
    static const char hdr[16] = "0123456789abcdef";
    static const char body[8] = "BODYbody";
    char out[32] = { 0 };
    char in[40];
    uint32_t id, len;

    setup(QSIZE, false);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 0); /* empty */

    fake_ram_write(&ram, BUF_GPA, hdr, sizeof(hdr));
    fake_ram_write(&ram, BUF_GPA + 0x100, body, sizeof(body));
    /* chain 3 -> 7 -> 1: readable, readable, writable */
    fake_vring_desc(&ram, &vr, 3, BUF_GPA, sizeof(hdr), VRING_DESC_F_NEXT, 7);
    fake_vring_desc(&ram, &vr, 7, BUF_GPA + 0x100, sizeof(body), VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&ram, &vr, 1, BUF_GPA + 0x200, 32, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&ram, &vr, 3);

    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(chain.head, 3);
    CHECK_EQ(chain.out_num, 2);
    CHECK_EQ(chain.in_num, 1);
    CHECK_EQ(chain.out_len, sizeof(hdr) + sizeof(body));
    CHECK_EQ(chain.in_len, 32);
    CHECK(chain.iov[0].iov_base == fake_ram_ptr(&ram, BUF_GPA, 1));
    CHECK(chain.iov[2].iov_base == fake_ram_ptr(&ram, BUF_GPA + 0x200, 1));
    CHECK_EQ(vq.last_avail_idx, 1);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 0);

    /* a read across the two readable descriptors, and past the end */
    CHECK_EQ(virtqueue_chain_read(&chain, 10, out, 10), 10);
    CHECK(memcmp(out, "abcdefBODY", 10) == 0);
    CHECK_EQ(virtqueue_chain_read(&chain, 20, out, sizeof(out)), 4);
    CHECK(memcmp(out, "body", 4) == 0);
    CHECK_EQ(virtqueue_chain_read(&chain, 100, out, sizeof(out)), 0);

    /* writes only land in the writable part and stop at its end */
    memset(in, 'w', sizeof(in));
    CHECK_EQ(virtqueue_chain_write(&chain, 0, in, sizeof(in)), 32);
    CHECK_EQ(*fake_ram_ptr(&ram, BUF_GPA + 0x200 + 31, 1), 'w');
    CHECK_EQ(*fake_ram_ptr(&ram, BUF_GPA + 0x200 + 32, 1), 0);
    CHECK_EQ(virtqueue_chain_write(&chain, 30, "xyz", 3), 2);
    CHECK_EQ(*fake_ram_ptr(&ram, BUF_GPA + 0x200 + 30, 1), 'x');
    CHECK_EQ(*fake_ram_ptr(&ram, BUF_GPA, 1), '0'); /* readable part untouched */

    CHECK_EQ(virtqueue_push(&vq, chain.head, 32), 0);
    CHECK_EQ(fake_vring_used_idx(&ram, &vr), 1);
    fake_vring_used_elem(&ram, &vr, 0, &id, &len);
    CHECK_EQ(id, 3);
    CHECK_EQ(len, 32);
}

static void test_zero_length_and_full_chain(void)
{
    setup(QSIZE, false);
    /* zero-length descriptors are accepted and add no iov */
    fake_vring_desc(&ram, &vr, 0, BUF_GPA, 0, VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&ram, &vr, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 2);
    fake_vring_desc(&ram, &vr, 2, 0, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    fake_vring_desc(&ram, &vr, 3, BUF_GPA + 8, 8, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&ram, &vr, 0);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(chain.out_num, 1);
    CHECK_EQ(chain.in_num, 1);
    CHECK_EQ(chain.out_len, 8);
    CHECK_EQ(chain.in_len, 8);

    /* a chain using every descriptor of the table once is fine */
    for (uint16_t i = 0; i < QSIZE; i++)
        fake_vring_desc(&ram, &vr, i, BUF_GPA + i * 16, 16,
                        i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    fake_vring_publish(&ram, &vr, 0);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(chain.out_num, QSIZE);
    CHECK_EQ(chain.out_len, QSIZE * 16);
}

static void test_indirect(void)
{
    setup(QSIZE, false);
    fake_desc_at(&ram, TABLE_GPA, 0, BUF_GPA, 12, VRING_DESC_F_NEXT, 2);
    fake_desc_at(&ram, TABLE_GPA, 2, BUF_GPA + 0x40, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
                 1);
    fake_desc_at(&ram, TABLE_GPA, 1, BUF_GPA + 0x100, 1, VRING_DESC_F_WRITE, 0);
    /* WRITE on the indirect descriptor itself is ignored (2.7.5.3.2) */
    fake_vring_desc(&ram, &vr, 5, TABLE_GPA, 3 * DESC_SIZE,
                    VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&ram, &vr, 5);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(chain.head, 5);
    CHECK_EQ(chain.out_num, 1);
    CHECK_EQ(chain.in_num, 2);
    CHECK_EQ(chain.out_len, 12);
    CHECK_EQ(chain.in_len, 101);
    CHECK(chain.iov[2].iov_base == fake_ram_ptr(&ram, BUF_GPA + 0x100, 1));

    /* a direct descriptor, then an indirect table at the end of the chain */
    fake_vring_desc(&ram, &vr, 6, BUF_GPA + 0x200, 4, VRING_DESC_F_NEXT, 8);
    fake_vring_desc(&ram, &vr, 8, TABLE_GPA, 3 * DESC_SIZE, VRING_DESC_F_INDIRECT, 0);
    fake_vring_publish(&ram, &vr, 6);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(chain.out_num, 2);
    CHECK_EQ(chain.in_num, 2);
    CHECK_EQ(chain.out_len, 16);
}

/* One malformed chain at descriptor 0 per case, each on a fresh queue. */
static void test_malformed(void)
{
    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&ram, &vr, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("descriptor loop");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, QSIZE);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("next out of range");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, 0x1000, 8, 0, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("address below RAM");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, RAM_GPA + RAM_SIZE - 4, 8, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("buffer across the end of RAM");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, UINT64_MAX - 3, 8, 0, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("address wraps");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&ram, &vr, 1, BUF_GPA + 8, 8, 0, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("readable after writable");

    setup(QSIZE, false);
    fake_vring_publish(&ram, &vr, QSIZE);
    expect_malformed("head out of range");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, BUF_GPA, 8, 0, 0);
    fake_vring_set_avail_idx(&ram, &vr, QSIZE + 1);
    expect_malformed("avail idx jumps by more than size");

    /* exactly `size` ahead is legal */
    setup(QSIZE, false);
    for (uint16_t i = 0; i < QSIZE; i++)
        fake_vring_publish(&ram, &vr, 0);
    for (uint16_t i = 0; i < QSIZE; i++)
        CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 0);
    CHECK(!vq.broken);

    setup(QSIZE, false);
    vq.avail_addr = RAM_GPA + RAM_SIZE; /* ring outside RAM */
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("avail ring not in RAM");

    setup(QSIZE, false);
    vq.desc_addr = RAM_GPA + RAM_SIZE - 4 * DESC_SIZE; /* table runs off RAM */
    fake_vring_desc(&ram, &vr, 0, BUF_GPA, 8, 0, 0);
    fake_vring_publish(&ram, &vr, 5);
    expect_malformed("descriptor table not in RAM");
}

static void test_malformed_indirect(void)
{
    setup(QSIZE, false);
    fake_desc_at(&ram, TABLE_GPA, 0, BUF_GPA, 8, 0, 0);
    fake_desc_at(&ram, TABLE_GPA + 0x100, 0, TABLE_GPA, DESC_SIZE, VRING_DESC_F_INDIRECT, 0);
    fake_vring_desc(&ram, &vr, 0, TABLE_GPA + 0x100, DESC_SIZE, VRING_DESC_F_INDIRECT, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("indirect inside indirect");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, TABLE_GPA, DESC_SIZE,
                    VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&ram, &vr, 1, BUF_GPA, 8, 0, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("INDIRECT|NEXT");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("zero-length indirect table");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, TABLE_GPA, DESC_SIZE + 8, VRING_DESC_F_INDIRECT, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("indirect table length not a multiple of 16");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, TABLE_GPA, (VIRTQUEUE_MAX_SIZE + 1) * DESC_SIZE,
                    VRING_DESC_F_INDIRECT, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("indirect table too long");

    /* a loop inside the table: longer than the table */
    setup(QSIZE, false);
    for (uint16_t i = 0; i < 4; i++)
        fake_desc_at(&ram, TABLE_GPA, i, BUF_GPA, 8, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % 4));
    fake_vring_desc(&ram, &vr, 0, TABLE_GPA, 4 * DESC_SIZE, VRING_DESC_F_INDIRECT, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("loop in indirect table");

    setup(QSIZE, false);
    fake_desc_at(&ram, TABLE_GPA, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 4);
    fake_vring_desc(&ram, &vr, 0, TABLE_GPA, 4 * DESC_SIZE, VRING_DESC_F_INDIRECT, 0);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("next outside indirect table");

    setup(QSIZE, false);
    fake_vring_desc(&ram, &vr, 0, RAM_GPA + RAM_SIZE - DESC_SIZE, 2 * DESC_SIZE,
                    VRING_DESC_F_INDIRECT, 0);
    fake_desc_at(&ram, RAM_GPA + RAM_SIZE - DESC_SIZE, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
    fake_vring_publish(&ram, &vr, 0);
    expect_malformed("indirect table runs off RAM");
}

/* A chain whose total exceeds 4 GiB, in a sparse RAM big enough to map it. */
static void test_chain_over_4g(void)
{
    struct fake_ram big;
    struct dma_space big_as;
    struct fake_vring bvr;
    const uint64_t big_size = (4ULL << 30) + 2 * PAGE;

    if (fake_ram_init(&big, RAM_GPA, big_size)) {
        fprintf(stderr, "test_virtqueue: no 4 GiB sparse mapping, 4 GiB case not run\n");
        return;
    }
    CHECK_EQ(dma_space_init(&big_as, &big.region, 1, 0), 0);
    fake_vring_init(&big, &bvr, RAM_GPA, QSIZE);
    virtqueue_init(&vq, &big_as);
    vq.size = QSIZE;
    vq.desc_addr = bvr.desc;
    vq.avail_addr = bvr.avail;
    vq.used_addr = bvr.used;
    CHECK_EQ(virtqueue_start(&vq, false), 0);
    fake_vring_desc(&big, &bvr, 0, RAM_GPA + PAGE, UINT32_MAX, VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&big, &bvr, 1, RAM_GPA + PAGE, 1, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&big, &bvr, 0);
    expect_malformed("chain longer than 4 GiB");

    /* the same first descriptor alone is fine */
    fake_vring_init(&big, &bvr, RAM_GPA, QSIZE);
    CHECK_EQ(virtqueue_start(&vq, false), 0);
    fake_vring_desc(&big, &bvr, 0, RAM_GPA + PAGE, UINT32_MAX, 0, 0);
    fake_vring_publish(&big, &bvr, 0);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(chain.out_len, UINT32_MAX);
    fake_ram_free(&big);
}

static void test_used_ring(void)
{
    uint32_t id, len;

    setup(QSIZE, false);
    /* pushes wrap the ring; the index keeps counting */
    for (uint16_t i = 0; i < QSIZE + 3; i++)
        CHECK_EQ(virtqueue_push(&vq, (uint16_t)(i % QSIZE), 100u + i), 0);
    CHECK_EQ(fake_vring_used_idx(&ram, &vr), QSIZE + 3);
    CHECK_EQ(vq.used_idx, QSIZE + 3);
    fake_vring_used_elem(&ram, &vr, 2, &id, &len); /* overwritten by push #18 */
    CHECK_EQ(id, 2);
    CHECK_EQ(len, 100 + QSIZE + 2);
    fake_vring_used_elem(&ram, &vr, 5, &id, &len);
    CHECK_EQ(id, 5);
    CHECK_EQ(len, 105);

    /* used ring outside RAM: push fails and breaks the queue */
    setup(QSIZE, false);
    vq.used_addr = RAM_GPA + RAM_SIZE;
    CHECK_EQ(virtqueue_push(&vq, 0, 0), -EIO);
    CHECK(vq.broken);
}

static void test_notify_flags(void)
{
    setup(QSIZE, false);
    CHECK_EQ(virtqueue_push(&vq, 0, 0), 0);
    CHECK(virtqueue_should_notify(&vq));
    fake_vring_set_avail_flags(&ram, &vr, VRING_AVAIL_F_NO_INTERRUPT);
    CHECK_EQ(virtqueue_push(&vq, 0, 0), 0);
    CHECK(!virtqueue_should_notify(&vq));
    fake_vring_set_avail_flags(&ram, &vr, 0);
    CHECK(virtqueue_should_notify(&vq));

    /* notification suppression towards the driver: used->flags */
    virtqueue_set_notification(&vq, false);
    CHECK_EQ(fake_vring_used_flags(&ram, &vr), VRING_USED_F_NO_NOTIFY);
    virtqueue_set_notification(&vq, true);
    CHECK_EQ(fake_vring_used_flags(&ram, &vr), 0);
}

static void test_event_idx(void)
{
    setup(QSIZE, true);
    fake_vring_set_used_event(&ram, &vr, 0);
    CHECK_EQ(virtqueue_push(&vq, 0, 0), 0);
    /* nothing signalled yet: always notify */
    CHECK(virtqueue_should_notify(&vq));
    CHECK(vq.signalled_used_valid);
    CHECK_EQ(vq.signalled_used, 1);

    /* the driver wants an interrupt once used entry 3 is filled (idx -> 4) */
    fake_vring_set_used_event(&ram, &vr, 3);
    CHECK_EQ(virtqueue_push(&vq, 0, 0), 0); /* used idx 2 */
    CHECK(!virtqueue_should_notify(&vq));
    CHECK_EQ(virtqueue_push(&vq, 0, 0), 0); /* 3 */
    CHECK(!virtqueue_should_notify(&vq));
    CHECK_EQ(virtqueue_push(&vq, 0, 0), 0); /* 4: crosses the event */
    CHECK(virtqueue_should_notify(&vq));
    CHECK_EQ(vq.signalled_used, 4);
    CHECK_EQ(virtqueue_push(&vq, 0, 0), 0); /* 5: event already passed */
    CHECK(!virtqueue_should_notify(&vq));

    /* several pushes at once crossing the event still notify once */
    fake_vring_set_used_event(&ram, &vr, 6);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(virtqueue_push(&vq, 0, 0), 0); /* 6, 7, 8 */
    CHECK(virtqueue_should_notify(&vq));
    CHECK(!virtqueue_should_notify(&vq));

    /* NO_INTERRUPT is ignored with event index */
    fake_vring_set_avail_flags(&ram, &vr, VRING_AVAIL_F_NO_INTERRUPT);
    fake_vring_set_used_event(&ram, &vr, 8);
    CHECK_EQ(virtqueue_push(&vq, 0, 0), 0); /* 9 */
    CHECK(virtqueue_should_notify(&vq));

    /* avail_event follows last_avail_idx when notifications are enabled */
    fake_vring_desc(&ram, &vr, 0, BUF_GPA, 8, 0, 0);
    fake_vring_publish(&ram, &vr, 0);
    fake_vring_publish(&ram, &vr, 0);
    virtqueue_set_notification(&vq, false);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(fake_vring_avail_event(&ram, &vr), 0);
    virtqueue_set_notification(&vq, true);
    CHECK_EQ(fake_vring_avail_event(&ram, &vr), 2);
    CHECK_EQ(fake_vring_used_flags(&ram, &vr), 0); /* flags unused with event idx */
}

/* ---- a vIOMMU-like translator that splits and shuffles every page ---------- */

/* IOVA page n maps to RAM page n ^ 1 (pages swapped in pairs), so every page
 * of a buffer is a separate, non-adjacent host fragment. */
static int swap_translate(void *opaque, uint16_t rid, uint64_t iova, bool write, uint64_t *gpa,
                          uint64_t *len)
{
    if (iova < RAM_GPA || iova >= RAM_GPA + RAM_SIZE)
        return -EFAULT;
    *gpa = iova ^ PAGE;
    *len = PAGE - (iova & (PAGE - 1));
    return 0;
}

static void test_fragmented(void)
{
    struct dma_translator tr = { .translate = swap_translate };
    struct dma_space frag_as;
    const uint64_t buf_iova = BUF_GPA + 0x800; /* starts mid-page */
    const uint32_t buf_len = 3 * PAGE;
    uint8_t *src = malloc(buf_len), *dst = malloc(buf_len);

    CHECK(src && dst);
    if (!src || !dst)
        goto free_bufs;
    CHECK_EQ(dma_space_init(&frag_as, &ram.region, 1, 0), 0);
    dma_space_set_translator(&frag_as, &tr);

    /* the rings sit in RAM page 0, i.e. IOVA page 1 */
    fake_vring_init(&ram, &vr, RING_GPA, QSIZE);
    virtqueue_init(&vq, &frag_as);
    vq.size = QSIZE;
    vq.desc_addr = vr.desc ^ PAGE;
    vq.avail_addr = vr.avail ^ PAGE;
    vq.used_addr = vr.used ^ PAGE;
    CHECK_EQ(virtqueue_start(&vq, true), 0);

    for (uint32_t i = 0; i < buf_len; i++)
        src[i] = (uint8_t)(i * 7 + i / PAGE);
    CHECK_EQ(dma_write(&frag_as, buf_iova, src, buf_len), 0);
    fake_vring_desc(&ram, &vr, 0, buf_iova, buf_len, VRING_DESC_F_NEXT, 1);
    fake_vring_desc(&ram, &vr, 1, buf_iova + buf_len, 2 * PAGE, VRING_DESC_F_WRITE, 0);
    fake_vring_publish(&ram, &vr, 0);

    CHECK_EQ(virtqueue_pop(&vq, &chain), 1);
    CHECK_EQ(chain.out_num, 4); /* half page, two pages, half page */
    CHECK_EQ(chain.in_num, 3);
    CHECK_EQ(chain.iov[0].iov_len, PAGE - 0x800);
    CHECK_EQ(chain.iov[1].iov_len, PAGE);
    CHECK_EQ(chain.out_len, buf_len);
    CHECK_EQ(virtqueue_chain_read(&chain, 0, dst, buf_len), buf_len);
    CHECK(memcmp(src, dst, buf_len) == 0);

    /* chain_write lands where the driver will read it through the IOMMU */
    CHECK_EQ(virtqueue_chain_write(&chain, 0x100, src, PAGE), PAGE);
    CHECK_EQ(dma_read(&frag_as, buf_iova + buf_len + 0x100, dst, PAGE), 0);
    CHECK(memcmp(src, dst, PAGE) == 0);

    /* the used ring is written through the translator too */
    CHECK_EQ(virtqueue_push(&vq, chain.head, PAGE + 0x100), 0);
    CHECK_EQ(fake_vring_used_idx(&ram, &vr), 1);

    /* more fragments than VIRTQUEUE_MAX_IOV is malformed */
    fake_vring_desc(&ram, &vr, 2, BUF_GPA, (VIRTQUEUE_MAX_IOV + 1) * PAGE, 0, 0);
    fake_vring_publish(&ram, &vr, 2);
    expect_malformed("too many fragments");

free_bufs:
    free(src);
    free(dst);
}

int main(void)
{
    if (fake_ram_init(&ram, RAM_GPA, RAM_SIZE)) {
        fprintf(stderr, "test_virtqueue: cannot allocate fake RAM\n");
        return 1;
    }
    if (dma_space_init(&as, &ram.region, 1, 0)) {
        fprintf(stderr, "test_virtqueue: dma_space_init failed\n");
        return 1;
    }
    test_start();
    test_good_chain();
    test_zero_length_and_full_chain();
    test_indirect();
    test_malformed();
    test_malformed_indirect();
    test_chain_over_4g();
    test_used_ring();
    test_notify_flags();
    test_event_idx();
    test_fragmented();
    fake_ram_free(&ram);
    return check_result("test_virtqueue");
}
