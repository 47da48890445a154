/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "irq"
#include "vmm/irq_routing.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/kvm.h"
#include "vmm/log.h"

int irq_routing_init(struct irq_routing *r, int vm_fd)
{
    memset(r, 0, sizeof(*r));
    r->vm_fd = vm_fd;
    for (unsigned gsi = 0; gsi < KVM_SPLIT_IRQCHIP_IOAPIC_PINS; gsi++)
        r->routes[gsi].allocated = true;
    return -pthread_mutex_init(&r->lock, NULL);
}

void irq_routing_destroy(struct irq_routing *r)
{
    pthread_mutex_destroy(&r->lock);
}

/* Caller holds r->lock. */
static int irq_routing_commit(struct irq_routing *r)
{
    unsigned n = 0;
    for (unsigned gsi = 0; gsi < IRQ_ROUTING_MAX_GSI; gsi++)
        n += r->routes[gsi].enabled;

    struct kvm_irq_routing *table =
        calloc(1, sizeof(*table) + n * sizeof(struct kvm_irq_routing_entry));
    if (!table)
        return -ENOMEM;
    for (unsigned gsi = 0; gsi < IRQ_ROUTING_MAX_GSI; gsi++) {
        const struct irq_route *route = &r->routes[gsi];
        if (!route->enabled)
            continue;
        struct kvm_irq_routing_entry *e = &table->entries[table->nr++];
        e->gsi = gsi;
        e->type = KVM_IRQ_ROUTING_MSI;
        e->u.msi.address_lo = (uint32_t)route->addr;
        e->u.msi.address_hi = (uint32_t)(route->addr >> 32);
        e->u.msi.data = route->data;
    }
    int ret = ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, table) < 0 ? -errno : 0;
    if (ret)
        LOG_ERR("KVM_SET_GSI_ROUTING with %u routes failed: %s", n, strerror(-ret));
    free(table);
    return ret;
}

int irq_routing_alloc_gsi(struct irq_routing *r)
{
    int ret = -ENOSPC;
    pthread_mutex_lock(&r->lock);
    for (unsigned gsi = KVM_SPLIT_IRQCHIP_IOAPIC_PINS; gsi < IRQ_ROUTING_MAX_GSI; gsi++) {
        if (!r->routes[gsi].allocated) {
            r->routes[gsi].allocated = true;
            ret = (int)gsi;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return ret;
}

void irq_routing_free_gsi(struct irq_routing *r, unsigned gsi)
{
    if (gsi < KVM_SPLIT_IRQCHIP_IOAPIC_PINS || gsi >= IRQ_ROUTING_MAX_GSI)
        return;
    pthread_mutex_lock(&r->lock);
    bool was_enabled = r->routes[gsi].enabled;
    memset(&r->routes[gsi], 0, sizeof(r->routes[gsi]));
    if (was_enabled)
        (void)irq_routing_commit(r);
    pthread_mutex_unlock(&r->lock);
}

int irq_routing_set(struct irq_routing *r, unsigned gsi, bool enabled, uint16_t source_id,
                    uint64_t addr, uint32_t data)
{
    if (gsi >= IRQ_ROUTING_MAX_GSI)
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    struct irq_route *route = &r->routes[gsi];
    int ret = -EINVAL;
    if (!route->allocated)
        goto out;
    ret = 0;
    if (route->enabled == enabled &&
        (!enabled || (route->source_id == source_id && route->addr == addr && route->data == data)))
        goto out; /* nothing changed: spare KVM a table rebuild */
    route->enabled = enabled;
    route->source_id = source_id;
    route->addr = addr;
    route->data = data;
    ret = irq_routing_commit(r);
out:
    pthread_mutex_unlock(&r->lock);
    return ret;
}

int irq_routing_send_msi(struct irq_routing *r, uint16_t source_id, uint64_t addr, uint32_t data)
{
    struct kvm_msi msi = {
        .address_lo = (uint32_t)addr,
        .address_hi = (uint32_t)(addr >> 32),
        .data = data,
    };
    (void)source_id; /* x86 KVM does not take a device id; IR uses it before this point */
    if (ioctl(r->vm_fd, KVM_SIGNAL_MSI, &msi) < 0) {
        if (errno == EPERM) {
            /* KVM's "no vCPU matched the destination": the guest's business */
            LOG_RATELIMITED(LOG_LEVEL_INFO, "MSI addr 0x%llx data 0x%x matched no vCPU",
                            (unsigned long long)addr, data);
            return -ENXIO;
        }
        int ret = -errno;
        LOG_RATELIMITED(LOG_LEVEL_WARN, "KVM_SIGNAL_MSI addr 0x%llx data 0x%x failed: %s",
                        (unsigned long long)addr, data, strerror(errno));
        return ret;
    }
    return 0;
}

int irq_routing_irqfd(struct irq_routing *r, int fd, unsigned gsi, bool assign)
{
    struct kvm_irqfd irqfd = {
        .fd = (uint32_t)fd,
        .gsi = gsi,
        .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
    };
    return ioctl(r->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

static int irq_routing_sink_send(void *opaque, uint16_t source_id, uint64_t addr, uint32_t data)
{
    return irq_routing_send_msi(opaque, source_id, addr, data);
}

static int irq_routing_sink_route(void *opaque, unsigned gsi, bool enabled, uint16_t source_id,
                                  uint64_t addr, uint32_t data)
{
    return irq_routing_set(opaque, gsi, enabled, source_id, addr, data);
}

static int irq_routing_sink_alloc_gsi(void *opaque)
{
    return irq_routing_alloc_gsi(opaque);
}

static void irq_routing_sink_free_gsi(void *opaque, unsigned gsi)
{
    irq_routing_free_gsi(opaque, gsi);
}

static int irq_routing_sink_irqfd(void *opaque, int fd, unsigned gsi, bool assign)
{
    int ret = irq_routing_irqfd(opaque, fd, gsi, assign);
    if (ret)
        LOG_ERR("KVM_IRQFD %s fd %d gsi %u failed: %s", assign ? "assign" : "deassign", fd,
                gsi, strerror(-ret));
    return ret;
}

struct msi_sink irq_routing_sink(struct irq_routing *r)
{
    return (struct msi_sink){
        .send_msi = irq_routing_sink_send,
        .set_route = irq_routing_sink_route,
        .alloc_gsi = irq_routing_sink_alloc_gsi,
        .free_gsi = irq_routing_sink_free_gsi,
        .irqfd = irq_routing_sink_irqfd,
        .opaque = r,
    };
}
