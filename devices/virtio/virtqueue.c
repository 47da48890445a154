/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2, 2.7). Every ring access goes through the
 * queue's dma_space, looked up again on each access (a vIOMMU may remap the
 * rings at any time), little-endian, with the barriers of 2.7.13 / 2.7.7.
 */
#define LOG_MODULE "virtqueue"

#include "devices/virtio/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "vmm/log.h"

/* Virtio "4 GiB" limit: the used length is 32-bit, so is a chain's total. */
#define VQ_MAX_CHAIN_BYTES UINT32_MAX

#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* ---- ring layout ------------------------------------------------------------ */

static uint64_t avail_idx_addr(const struct virtqueue *vq)
{
    return vq->avail_addr + offsetof(struct vring_avail, idx);
}

static uint64_t avail_flags_addr(const struct virtqueue *vq)
{
    return vq->avail_addr + offsetof(struct vring_avail, flags);
}

static uint64_t avail_ring_addr(const struct virtqueue *vq, uint16_t i)
{
    return vq->avail_addr + offsetof(struct vring_avail, ring) +
           (uint64_t)(i & (vq->size - 1)) * sizeof(__virtio16);
}

/* used_event = avail->ring[size] */
static uint64_t used_event_addr(const struct virtqueue *vq)
{
    return vq->avail_addr + offsetof(struct vring_avail, ring) +
           (uint64_t)vq->size * sizeof(__virtio16);
}

static uint64_t used_idx_addr(const struct virtqueue *vq)
{
    return vq->used_addr + offsetof(struct vring_used, idx);
}

static uint64_t used_flags_addr(const struct virtqueue *vq)
{
    return vq->used_addr + offsetof(struct vring_used, flags);
}

static uint64_t used_elem_addr(const struct virtqueue *vq, uint16_t i)
{
    return vq->used_addr + offsetof(struct vring_used, ring) +
           (uint64_t)(i & (vq->size - 1)) * sizeof(struct vring_used_elem);
}

/* avail_event = used->ring[size] */
static uint64_t avail_event_addr(const struct virtqueue *vq)
{
    return vq->used_addr + offsetof(struct vring_used, ring) +
           (uint64_t)vq->size * sizeof(struct vring_used_elem);
}

/* ---- guest memory accessors ------------------------------------------------- */

/* 16-bit fields the driver updates concurrently are loaded atomically when
 * they map in one piece (always, given the ring alignment checks). */
static int load16(struct virtqueue *vq, uint64_t addr, uint16_t *val)
{
    uint64_t mapped = 0;
    int err = 0;
    uint16_t *p = dma_map(vq->dma, addr, sizeof(*p), false, &mapped, &err);
    uint16_t v;

    if (!p)
        return err;
    if (mapped == sizeof(*p) && ((uintptr_t)p & (sizeof(*p) - 1)) == 0) {
        v = __atomic_load_n(p, __ATOMIC_RELAXED);
    } else {
        err = dma_read(vq->dma, addr, &v, sizeof(v));
        if (err)
            return err;
    }
    *val = le16toh(v);
    return 0;
}

static int store16(struct virtqueue *vq, uint64_t addr, uint16_t val)
{
    uint64_t mapped = 0;
    int err = 0;
    uint16_t *p = dma_map(vq->dma, addr, sizeof(*p), true, &mapped, &err);
    uint16_t v = htole16(val);

    if (!p)
        return err;
    if (mapped == sizeof(*p) && ((uintptr_t)p & (sizeof(*p) - 1)) == 0) {
        __atomic_store_n(p, v, __ATOMIC_RELAXED);
        return 0;
    }
    return dma_write(vq->dma, addr, &v, sizeof(v));
}

/* ---- configuration ---------------------------------------------------------- */

void virtqueue_init(struct virtqueue *vq, struct dma_space *dma)
{
    memset(vq, 0, sizeof(*vq));
    vq->dma = dma;
}

static bool aligned(uint64_t addr, uint64_t align)
{
    return (addr & (align - 1)) == 0;
}

int virtqueue_start(struct virtqueue *vq, bool event_idx)
{
    uint16_t n = vq->size;

    if (!vq->dma || n == 0 || n > VIRTQUEUE_MAX_SIZE || (n & (n - 1)) != 0)
        return -EINVAL;
    if (!aligned(vq->desc_addr, VRING_DESC_ALIGN_SIZE) ||
        !aligned(vq->avail_addr, VRING_AVAIL_ALIGN_SIZE) ||
        !aligned(vq->used_addr, VRING_USED_ALIGN_SIZE))
        return -EINVAL;
    vq->event_idx = event_idx;
    vq->last_avail_idx = 0;
    vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->broken = false;
    vq->ready = true;
    return 0;
}

/* ---- pop -------------------------------------------------------------------- */

/* Where the chain walk currently reads descriptors from. */
struct desc_table {
    uint64_t addr;     /* IOVA of entry 0 */
    uint32_t entries;  /* indices must be below this */
    bool indirect;
};

struct chain_walk {
    struct virtqueue *vq;
    struct virtqueue_chain *c;
    unsigned niov;
    bool seen_write;
};

static int malformed(struct virtqueue *vq, const char *why, uint64_t a, uint64_t b)
{
    if (!vq->broken)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "malformed queue (desc 0x%llx): %s (0x%llx, 0x%llx)",
                        (unsigned long long)vq->desc_addr, why, (unsigned long long)a,
                        (unsigned long long)b);
    vq->broken = true;
    return -EIO;
}

static int read_desc(struct virtqueue *vq, const struct desc_table *t, uint16_t i,
                     struct vring_desc *d)
{
    struct vring_desc raw;
    int err = dma_read(vq->dma, t->addr + (uint64_t)i * sizeof(raw), &raw, sizeof(raw));

    if (err)
        return malformed(vq, "descriptor not readable", t->addr, i);
    d->addr = le64toh(raw.addr);
    d->len = le32toh(raw.len);
    d->flags = le16toh(raw.flags);
    d->next = le16toh(raw.next);
    return 0;
}

/* Map one buffer descriptor as one or more iovecs. */
static int add_buffer(struct chain_walk *w, const struct vring_desc *d)
{
    struct virtqueue_chain *c = w->c;
    bool write = d->flags & VRING_DESC_F_WRITE;
    uint64_t addr = d->addr, left = d->len;

    if (d->len == 0)
        return 0; /* allowed; contributes nothing */
    if (!write && w->seen_write)
        return malformed(w->vq, "readable descriptor after a writable one", d->addr, d->len);
    w->seen_write |= write;
    if ((uint64_t)d->len > VQ_MAX_CHAIN_BYTES - c->out_len - c->in_len)
        return malformed(w->vq, "chain longer than 4 GiB", c->out_len, c->in_len);
    while (left) {
        uint64_t mapped = 0;
        int err = 0;
        void *p;

        if (w->niov >= VIRTQUEUE_MAX_IOV)
            return malformed(w->vq, "too many fragments", d->addr, d->len);
        p = dma_map(w->vq->dma, addr, left, write, &mapped, &err);
        if (!p)
            return malformed(w->vq, "buffer not mapped", addr, left);
        c->iov[w->niov++] = (struct iovec){ .iov_base = p, .iov_len = mapped };
        addr += mapped;
        left -= mapped;
    }
    if (write) {
        c->in_num = w->niov - c->out_num;
        c->in_len += d->len;
    } else {
        c->out_num = w->niov;
        c->out_len += d->len;
    }
    return 0;
}

/* Switch the walk to the indirect table described by `d`. */
static int enter_indirect(struct virtqueue *vq, const struct desc_table *cur,
                          const struct vring_desc *d, struct desc_table *next)
{
    if (cur->indirect)
        return malformed(vq, "indirect descriptor inside an indirect table", d->addr, d->len);
    if (d->flags & VRING_DESC_F_NEXT)
        return malformed(vq, "INDIRECT and NEXT both set", d->addr, d->len);
    if (d->len == 0 || d->len % sizeof(struct vring_desc) != 0 ||
        d->len / sizeof(struct vring_desc) > VIRTQUEUE_MAX_SIZE)
        return malformed(vq, "bad indirect table length", d->addr, d->len);
    *next = (struct desc_table){
        .addr = d->addr,
        .entries = d->len / sizeof(struct vring_desc),
        .indirect = true,
    };
    return 0;
}

static int walk_chain(struct virtqueue *vq, uint16_t head, struct virtqueue_chain *c)
{
    struct desc_table t = { .addr = vq->desc_addr, .entries = vq->size, .indirect = false };
    struct chain_walk w = { .vq = vq, .c = c };
    uint16_t i = head;
    uint32_t count = 0;

    c->head = head;
    c->out_num = c->in_num = 0;
    c->out_len = c->in_len = 0;
    for (;;) {
        struct vring_desc d = { 0 };
        int err;

        if (count++ >= t.entries)
            return malformed(vq, "descriptor chain loops or exceeds its table", head,
                             t.entries);
        err = read_desc(vq, &t, i, &d);
        if (err)
            return err;
        if (d.flags & VRING_DESC_F_INDIRECT) {
            err = enter_indirect(vq, &t, &d, &t);
            if (err)
                return err;
            i = 0;
            count = 0;
            continue;
        }
        err = add_buffer(&w, &d);
        if (err)
            return err;
        if (!(d.flags & VRING_DESC_F_NEXT))
            return 0;
        if (d.next >= t.entries)
            return malformed(vq, "next index out of range", d.next, t.entries);
        i = d.next;
    }
}

int virtqueue_pop(struct virtqueue *vq, struct virtqueue_chain *c)
{
    uint16_t avail_idx, head;
    int err;

    if (vq->broken)
        return -EIO;
    if (!vq->ready || vq->size == 0)
        return 0;
    if (load16(vq, avail_idx_addr(vq), &avail_idx))
        return malformed(vq, "avail ring not readable", vq->avail_addr, 0);
    if (avail_idx == vq->last_avail_idx)
        return 0;
    if ((uint16_t)(avail_idx - vq->last_avail_idx) > vq->size)
        return malformed(vq, "avail index moved more than the queue size", avail_idx,
                         vq->last_avail_idx);
    /* Read the ring entry (and descriptors) only after seeing the index. */
    smp_rmb();
    if (load16(vq, avail_ring_addr(vq, vq->last_avail_idx), &head))
        return malformed(vq, "avail ring not readable", vq->avail_addr, 0);
    if (head >= vq->size)
        return malformed(vq, "head index out of range", head, vq->size);
    err = walk_chain(vq, head, c);
    if (err)
        return err;
    vq->last_avail_idx++;
    return 1;
}

/* ---- push / notify ---------------------------------------------------------- */

int virtqueue_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
    struct vring_used_elem e = { .id = htole32(head), .len = htole32(written) };

    if (!vq->ready || vq->size == 0)
        return -EIO;
    if (dma_write(vq->dma, used_elem_addr(vq, vq->used_idx), &e, sizeof(e)))
        return malformed(vq, "used ring not writable", vq->used_addr, vq->used_idx);
    /* The element must be visible before the index that publishes it. */
    smp_wmb();
    if (store16(vq, used_idx_addr(vq), (uint16_t)(vq->used_idx + 1)))
        return malformed(vq, "used ring not writable", vq->used_addr, vq->used_idx);
    vq->used_idx++;
    return 0;
}

bool virtqueue_should_notify(struct virtqueue *vq)
{
    uint16_t v;
    bool need;

    if (!vq->ready || vq->size == 0)
        return false;
    /* The used index must be visible before reading the driver's wish. */
    smp_mb();
    if (vq->event_idx) {
        if (load16(vq, used_event_addr(vq), &v)) {
            LOG_RATELIMITED(LOG_LEVEL_WARN, "used_event not readable (avail 0x%llx)",
                            (unsigned long long)vq->avail_addr);
            return true; /* an extra interrupt is harmless */
        }
        need = !vq->signalled_used_valid ||
               vring_need_event(v, vq->used_idx, vq->signalled_used);
    } else {
        if (load16(vq, avail_flags_addr(vq), &v)) {
            LOG_RATELIMITED(LOG_LEVEL_WARN, "avail flags not readable (avail 0x%llx)",
                            (unsigned long long)vq->avail_addr);
            return true;
        }
        need = !(v & VRING_AVAIL_F_NO_INTERRUPT);
    }
    if (need) {
        vq->signalled_used = vq->used_idx;
        vq->signalled_used_valid = true;
    }
    return need;
}

void virtqueue_set_notification(struct virtqueue *vq, bool enable)
{
    int err;

    if (!vq->ready || vq->size == 0)
        return;
    if (vq->event_idx) {
        /* Disabling needs no write: avail_event falls behind as we pop. */
        if (!enable)
            return;
        err = store16(vq, avail_event_addr(vq), vq->last_avail_idx);
    } else {
        err = store16(vq, used_flags_addr(vq), enable ? 0 : VRING_USED_F_NO_NOTIFY);
    }
    if (err)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "used ring not writable (used 0x%llx)",
                        (unsigned long long)vq->used_addr);
    /* Publish the wish before re-checking avail->idx. */
    smp_mb();
}

/* ---- chain copies ----------------------------------------------------------- */

static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len,
                       bool to_iov)
{
    uint8_t *b = buf;
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        size_t chunk;

        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        chunk = iov[i].iov_len - off;
        if (chunk > len - done)
            chunk = len - done;
        if (to_iov)
            memcpy((uint8_t *)iov[i].iov_base + off, b + done, chunk);
        else
            memcpy(b + done, (uint8_t *)iov[i].iov_base + off, chunk);
        done += chunk;
        off = 0;
    }
    return done;
}

size_t virtqueue_chain_read(const struct virtqueue_chain *c, size_t off, void *buf, size_t len)
{
    return iov_copy(c->iov, c->out_num, off, buf, len, false);
}

size_t virtqueue_chain_write(const struct virtqueue_chain *c, size_t off, const void *buf,
                             size_t len)
{
    return iov_copy(c->iov + c->out_num, c->in_num, off, (void *)buf, len, true);
}
