/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "virtio-rng"

#include "devices/virtio/rng.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <linux/virtio_ids.h>

#include "vmm/log.h"

#define RNG_QUEUE 0

struct virtio_rng {
    struct virtio_pci *vp;
    char name[32];
    bool broken;
    struct virtqueue_chain chain;   /* pop scratch */
};

static atomic_uint rng_count;

uint32_t virtio_rng_fill(const struct virtqueue_chain *c)
{
    uint32_t done = 0;

    for (unsigned i = 0; i < c->in_num && done < VIRTIO_RNG_MAX_FILL; i++) {
        const struct iovec *v = &c->iov[c->out_num + i];
        size_t want = v->iov_len;
        size_t got = 0;

        if (want > VIRTIO_RNG_MAX_FILL - done)
            want = VIRTIO_RNG_MAX_FILL - done;
        while (got < want) {
            ssize_t n = getrandom((uint8_t *)v->iov_base + got, want - got, 0);

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                LOG_RATELIMITED(LOG_LEVEL_WARN, "getrandom: %s", strerror(errno));
                return done + (uint32_t)got;
            }
            got += (size_t)n;
        }
        done += (uint32_t)got;
    }
    return done;
}

static void rng_fail(struct virtio_rng *r, const char *why)
{
    r->broken = true;
    virtio_pci_device_error(r->vp, why);
}

static void rng_process(struct virtio_rng *r)
{
    struct virtqueue *vq = virtio_pci_queue(r->vp, RNG_QUEUE);
    bool pushed = false;
    int ret;

    if (r->broken || !vq || !vq->ready)
        return;
    for (;;) {
        virtqueue_set_notification(vq, false);
        while ((ret = virtqueue_pop(vq, &r->chain)) > 0) {
            if (virtqueue_push(vq, r->chain.head, virtio_rng_fill(&r->chain)) < 0) {
                ret = -EIO;
                break;
            }
            pushed = true;
        }
        if (ret < 0) {
            rng_fail(r, "malformed descriptor chain");
            break;
        }
        /* re-enable, then look again so no buffer waits without a kick */
        virtqueue_set_notification(vq, true);
        ret = virtqueue_pop(vq, &r->chain);
        if (ret == 0)
            break;
        if (ret < 0) {
            rng_fail(r, "malformed descriptor chain");
            break;
        }
        if (virtqueue_push(vq, r->chain.head, virtio_rng_fill(&r->chain)) < 0) {
            rng_fail(r, "used ring not writable");
            break;
        }
        pushed = true;
    }
    if (pushed)
        virtio_pci_queue_interrupt(r->vp, RNG_QUEUE);
}

static void rng_config_read(void *opaque, uint32_t off, void *data, unsigned size)
{
    memset(data, 0xff, size); /* no device-specific configuration */
}

static void rng_config_write(void *opaque, uint32_t off, const void *data, unsigned size)
{
}

static int rng_activate(void *opaque)
{
    struct virtio_rng *r = opaque;

    r->broken = false;
    return 0;
}

static void rng_queue_notify(void *opaque, unsigned q)
{
    if (q == RNG_QUEUE)
        rng_process(opaque);
}

static void rng_reset(void *opaque)
{
    struct virtio_rng *r = opaque;

    r->broken = false; /* nothing is ever in flight */
}

static const struct virtio_device_ops rng_ops = {
    .config_read = rng_config_read,
    .config_write = rng_config_write,
    .activate = rng_activate,
    .queue_notify = rng_queue_notify,
    .reset = rng_reset,
};

int virtio_rng_create(const struct virtio_rng_options *o, const struct virtio_pci_config *transport,
                      struct virtio_rng **out, char *err, size_t errlen)
{
    struct virtio_pci_config cfg = *transport;
    struct virtio_rng *r = calloc(1, sizeof(*r));
    int ret;

    if (!r) {
        snprintf(err, errlen, "rng: out of memory");
        return -ENOMEM;
    }
    snprintf(r->name, sizeof(r->name), "virtio-rng%u", atomic_fetch_add(&rng_count, 1));
    cfg.dev = (struct virtio_device_desc){
        .name = r->name,
        .device_id = VIRTIO_ID_RNG,
        .class_code = VIRTIO_RNG_PCI_CLASS_CODE,
        .features = 0,
        .nqueues = 1,
        .queue_max_size = VIRTIO_RNG_QUEUE_SIZE,
        .config_size = 0,
        .ops = &rng_ops,
        .opaque = r,
    };
    ret = virtio_pci_create(&cfg, &r->vp);
    if (ret < 0) {
        snprintf(err, errlen, "rng: cannot create the virtio-pci function: %s", strerror(-ret));
        free(r);
        return ret;
    }
    *out = r;
    return 0;
}

struct virtio_pci *virtio_rng_virtio_pci(struct virtio_rng *r)
{
    return r->vp;
}

void virtio_rng_destroy(struct virtio_rng *r)
{
    if (!r)
        return;
    virtio_pci_destroy(r->vp);
    free(r);
}
