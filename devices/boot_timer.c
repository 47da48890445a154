/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "boot-timer"
#include "devices/boot_timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_USEC 1000ULL

struct boot_timer {
    pthread_mutex_t lock;
    uint64_t start_ns;
    struct boot_timer_event ring[BOOT_TIMER_HISTORY];
    uint64_t total; /* writes so far; ring slot = total % BOOT_TIMER_HISTORY */
};

static uint64_t boot_timer_ts_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

static void boot_timer_bus_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    memset(data, 0xff, size);
}

static void boot_timer_bus_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct boot_timer *bt = opaque;
    if (size != 1 || offset != 0) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "bad write of size %u at offset 0x%llx", size,
                        (unsigned long long)offset);
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t now_ns = boot_timer_ts_ns(&now);
    uint8_t val = *(const uint8_t *)data;

    pthread_mutex_lock(&bt->lock);
    uint64_t delta = now_ns > bt->start_ns ? now_ns - bt->start_ns : 0;
    bt->ring[bt->total % BOOT_TIMER_HISTORY] =
        (struct boot_timer_event){ .value = val, .ns_since_start = delta };
    bt->total++;
    pthread_mutex_unlock(&bt->lock);

    LOG_RATELIMITED(LOG_LEVEL_INFO, "guest wrote 0x%02x at %llu.%03llu ms since sluice start",
                    val, (unsigned long long)(delta / NSEC_PER_MSEC),
                    (unsigned long long)(delta % NSEC_PER_MSEC / NSEC_PER_USEC));
}

const struct bus_ops boot_timer_bus_ops = {
    .read = boot_timer_bus_read,
    .write = boot_timer_bus_write,
};

int boot_timer_create(const struct timespec *start, struct boot_timer **out)
{
    if (!start || !out)
        return -EINVAL;
    struct boot_timer *bt = calloc(1, sizeof(*bt));
    if (!bt)
        return -ENOMEM;
    int ret = -pthread_mutex_init(&bt->lock, NULL);
    if (ret) {
        free(bt);
        return ret;
    }
    bt->start_ns = boot_timer_ts_ns(start);
    *out = bt;
    return 0;
}

void boot_timer_destroy(struct boot_timer *bt)
{
    if (!bt)
        return;
    pthread_mutex_destroy(&bt->lock);
    free(bt);
}

size_t boot_timer_get_events(struct boot_timer *bt, struct boot_timer_event *events, size_t max,
                             uint64_t *total)
{
    pthread_mutex_lock(&bt->lock);
    uint64_t kept = bt->total < BOOT_TIMER_HISTORY ? bt->total : BOOT_TIMER_HISTORY;
    size_t n = kept < max ? (size_t)kept : max;
    /* The newest n events, oldest first. */
    uint64_t first = bt->total - n;
    for (size_t i = 0; i < n; i++)
        events[i] = bt->ring[(first + i) % BOOT_TIMER_HISTORY];
    if (total)
        *total = bt->total;
    pthread_mutex_unlock(&bt->lock);
    return n;
}
