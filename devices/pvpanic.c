/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "pvpanic"
#include "devices/pvpanic.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

struct pvpanic {
    pthread_mutex_t lock;
    struct vm_control ctl;
    struct pvpanic_stats stats;
};

static void pvpanic_bus_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    memset(data, 0xff, size);
    if (size != 1 || offset != 0) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "bad read of size %u at offset 0x%llx", size,
                        (unsigned long long)offset);
        return;
    }
    *(uint8_t *)data = PVPANIC_SUPPORTED;
}

static void pvpanic_bus_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct pvpanic *p = opaque;
    if (size != 1 || offset != 0) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "bad write of size %u at offset 0x%llx", size,
                        (unsigned long long)offset);
        return;
    }
    uint8_t val = *(const uint8_t *)data;
    pthread_mutex_lock(&p->lock);
    if (val & PVPANIC_CRASH_LOADED) {
        p->stats.crash_loaded++;
        LOG_RATELIMITED(LOG_LEVEL_WARN, "guest crash kernel loaded");
    }
    if (val & PVPANIC_PANICKED) {
        p->stats.panicked++;
        LOG_RATELIMITED(LOG_LEVEL_ERROR, "guest kernel panicked");
        vm_control_stop(&p->ctl, VM_STOP_PANIC);
    }
    if (val & ~PVPANIC_SUPPORTED)
        LOG_RATELIMITED(LOG_LEVEL_DEBUG, "unsupported event bits 0x%02x ignored",
                        (unsigned)(val & ~PVPANIC_SUPPORTED));
    pthread_mutex_unlock(&p->lock);
}

const struct bus_ops pvpanic_bus_ops = { .read = pvpanic_bus_read, .write = pvpanic_bus_write };

int pvpanic_create(const struct vm_control *ctl, struct pvpanic **out)
{
    if (!ctl || !out)
        return -EINVAL;
    struct pvpanic *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    int ret = -pthread_mutex_init(&p->lock, NULL);
    if (ret) {
        free(p);
        return ret;
    }
    p->ctl = *ctl;
    *out = p;
    return 0;
}

void pvpanic_destroy(struct pvpanic *pvp)
{
    if (!pvp)
        return;
    pthread_mutex_destroy(&pvp->lock);
    free(pvp);
}

void pvpanic_get_stats(struct pvpanic *pvp, struct pvpanic_stats *stats)
{
    pthread_mutex_lock(&pvp->lock);
    *stats = pvp->stats;
    pthread_mutex_unlock(&pvp->lock);
}
