/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "irqvec"
#include "devices/irq_vector.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"

static bool irq_vector_has_irqfd(const struct msi_sink *sink)
{
    return sink->alloc_gsi && sink->irqfd;
}

int irq_vector_init(struct irq_vector *v, const struct msi_sink *sink, uint16_t source_id)
{
    *v = (struct irq_vector){ .sink = sink, .source_id = source_id, .gsi = -1, .fd = -1 };
    if (!sink)
        return -EINVAL;
    if (!irq_vector_has_irqfd(sink)) {
        v->ready = true; /* fallback: fire sends the message directly */
        return 0;
    }

    int gsi = sink->alloc_gsi(sink->opaque);
    if (gsi < 0)
        return gsi;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int ret;
    if (fd < 0) {
        ret = -errno;
        goto free_gsi;
    }
    ret = sink->irqfd(sink->opaque, fd, (unsigned)gsi, true);
    if (ret)
        goto close_fd;

    v->gsi = gsi;
    v->fd = fd;
    v->ready = true;
    return 0;

close_fd:
    close(fd);
free_gsi:
    if (sink->free_gsi)
        sink->free_gsi(sink->opaque, (unsigned)gsi);
    return ret;
}

/* irqfd path: keep the sink's route for our GSI in step. */
static int irq_vector_route_gsi(struct irq_vector *v, bool enabled, uint64_t addr,
                                uint32_t data)
{
    const struct msi_sink *sink = v->sink;
    bool same_msg = v->addr == addr && v->data == data;
    if (v->routed == enabled && (!enabled || same_msg))
        return 0;
    if (!sink->set_route)
        return -EOPNOTSUPP;
    int ret = sink->set_route(sink->opaque, (unsigned)v->gsi, enabled, v->source_id, addr, data);
    if (ret) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "gsi %d: %s route 0x%llx/0x%x failed: %s", v->gsi,
                        enabled ? "installing" : "removing", (unsigned long long)addr, data,
                        strerror(-ret));
        if (enabled)
            __atomic_store_n(&v->routed, false, __ATOMIC_RELEASE);
        return ret;
    }
    __atomic_store_n(&v->routed, enabled, __ATOMIC_RELEASE);
    return 0;
}

int irq_vector_route(struct irq_vector *v, bool enabled, uint64_t addr, uint32_t data)
{
    if (!v->ready)
        return -EINVAL;
    int ret = 0;
    if (v->gsi >= 0)
        ret = irq_vector_route_gsi(v, enabled, addr, data);
    v->addr = addr;
    v->data = data;
    __atomic_store_n(&v->enabled, enabled, __ATOMIC_RELEASE);
    return ret;
}

void irq_vector_fire(struct irq_vector *v)
{
    if (!v->ready || !__atomic_load_n(&v->enabled, __ATOMIC_ACQUIRE))
        return;
    if (v->fd >= 0 && __atomic_load_n(&v->routed, __ATOMIC_ACQUIRE)) {
        uint64_t one = 1;
        if (write(v->fd, &one, sizeof(one)) != (ssize_t)sizeof(one) && errno != EAGAIN)
            LOG_RATELIMITED(LOG_LEVEL_WARN, "gsi %d: eventfd write failed: %s", v->gsi,
                            strerror(errno));
        return;
    }
    /* No irqfd (device tests) or the route could not be installed. */
    if (v->sink->send_msi)
        (void)v->sink->send_msi(v->sink->opaque, v->source_id, v->addr, v->data);
}

void irq_vector_destroy(struct irq_vector *v)
{
    if (!v->ready)
        return;
    const struct msi_sink *sink = v->sink;
    if (v->gsi >= 0) {
        (void)sink->irqfd(sink->opaque, v->fd, (unsigned)v->gsi, false);
        if (v->routed && sink->set_route)
            (void)sink->set_route(sink->opaque, (unsigned)v->gsi, false, v->source_id, 0, 0);
        if (sink->free_gsi)
            sink->free_gsi(sink->opaque, (unsigned)v->gsi);
    }
    if (v->fd >= 0)
        close(v->fd);
    *v = (struct irq_vector){ .gsi = -1, .fd = -1 };
}
