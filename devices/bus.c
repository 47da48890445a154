/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "bus"
#include "devices/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

int bus_init(struct bus *bus, const char *name)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
    return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
    pthread_rwlock_wrlock(&bus->lock);
    free(bus->regions);
    bus->regions = NULL;
    bus->count = bus->capacity = 0;
    pthread_rwlock_unlock(&bus->lock);
    pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first region whose last >= addr (regions are sorted). */
static size_t bus_lower_bound(const struct bus *bus, uint64_t addr)
{
    size_t lo = 0, hi = bus->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bus->regions[mid].last < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int bus_grow(struct bus *bus)
{
    if (bus->count < bus->capacity)
        return 0;
    size_t cap = bus->capacity ? bus->capacity * 2 : 16;
    struct bus_region *r = realloc(bus->regions, cap * sizeof(*r));
    if (!r)
        return -ENOMEM;
    bus->regions = r;
    bus->capacity = cap;
    return 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
                 void *opaque, unsigned sizes, bool aligned, const char *name)
{
    if (len == 0 || base + (len - 1) < base || !ops || !ops->read || !ops->write ||
        (sizes & BUS_SIZE_ANY) == 0)
        return -EINVAL;
    uint64_t last = base + (len - 1);

    pthread_rwlock_wrlock(&bus->lock);
    int ret = bus_grow(bus);
    if (ret)
        goto out;
    size_t i = bus_lower_bound(bus, base);
    if (i < bus->count && bus->regions[i].base <= last) {
        ret = -EEXIST;
        goto out;
    }
    memmove(&bus->regions[i + 1], &bus->regions[i], (bus->count - i) * sizeof(bus->regions[0]));
    bus->regions[i] = (struct bus_region){
        .base = base, .last = last, .ops = ops, .opaque = opaque,
        .sizes = sizes, .aligned = aligned, .name = name,
    };
    bus->count++;
out:
    pthread_rwlock_unlock(&bus->lock);
    return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
    int ret = -ENOENT;
    pthread_rwlock_wrlock(&bus->lock);
    size_t i = bus_lower_bound(bus, base);
    if (i < bus->count && bus->regions[i].base == base) {
        memmove(&bus->regions[i], &bus->regions[i + 1],
                (bus->count - i - 1) * sizeof(bus->regions[0]));
        bus->count--;
        ret = 0;
    }
    pthread_rwlock_unlock(&bus->lock);
    return ret;
}

static bool bus_size_valid(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Finds the region that fully contains the access and accepts it, or NULL. */
static const struct bus_region *bus_find(const struct bus *bus, uint64_t addr, unsigned size)
{
    size_t i = bus_lower_bound(bus, addr);
    if (i >= bus->count)
        return NULL;
    const struct bus_region *r = &bus->regions[i];
    if (addr < r->base || addr + (size - 1) > r->last || addr + (size - 1) < addr)
        return NULL;
    if (!(r->sizes & size))
        return NULL;
    if (r->aligned && ((addr - r->base) & (size - 1)))
        return NULL;
    return r;
}

/*
 * The callback runs without the bus lock: the region is copied under the read
 * lock first, so a device may register/unregister regions from inside its
 * callback (PCI config writes re-place BARs). See the contract in bus.h.
 */
static bool bus_access(struct bus *bus, uint64_t addr, void *data, unsigned size, bool is_write)
{
    bool handled = false;
    if (bus_size_valid(size)) {
        struct bus_region copy;
        pthread_rwlock_rdlock(&bus->lock);
        const struct bus_region *r = bus_find(bus, addr, size);
        if (r) {
            copy = *r;
            handled = true;
        }
        pthread_rwlock_unlock(&bus->lock);
        if (handled) {
            if (is_write)
                copy.ops->write(copy.opaque, addr - copy.base, data, size);
            else
                copy.ops->read(copy.opaque, addr - copy.base, data, size);
        }
    }
    if (!handled) {
        if (!is_write)
            memset(data, 0xff, size <= 8 ? size : 8);
        LOG_RATELIMITED(LOG_LEVEL_INFO, "unhandled %s %s of size %u at 0x%llx", bus->name,
                        is_write ? "write" : "read", size, (unsigned long long)addr);
    }
    return handled;
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned size)
{
    return bus_access(bus, addr, data, size, false);
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned size)
{
    return bus_access(bus, addr, (void *)data, size, true);
}
