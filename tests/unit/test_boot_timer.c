/* SPDX-License-Identifier: MIT */
/* Boot timer port, driven through the bus callbacks. */
#include <time.h>

#include "devices/boot_timer.h"
#include "tests/unit/check.h"

int main(void)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct boot_timer *bt = NULL;
    CHECK_EQ(boot_timer_create(&start, &bt), 0);

    struct boot_timer_event ev[BOOT_TIMER_HISTORY + 4];
    uint64_t total = 99;
    CHECK_EQ(boot_timer_get_events(bt, ev, BOOT_TIMER_HISTORY, &total), 0);
    CHECK_EQ(total, 0);

    uint8_t v = 0;
    boot_timer_bus_ops.read(bt, 0, &v, 1);
    CHECK_EQ(v, 0xff);

    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    v = 0x10;
    boot_timer_bus_ops.write(bt, 0, &v, 1);
    clock_gettime(CLOCK_MONOTONIC, &after);
    CHECK_EQ(boot_timer_get_events(bt, ev, 4, &total), 1);
    CHECK_EQ(total, 1);
    CHECK_EQ(ev[0].value, 0x10);
    uint64_t lo = (uint64_t)(before.tv_sec - start.tv_sec) * 1000000000ULL +
                  (uint64_t)(before.tv_nsec - start.tv_nsec);
    uint64_t hi = (uint64_t)(after.tv_sec - start.tv_sec) * 1000000000ULL +
                  (uint64_t)(after.tv_nsec - start.tv_nsec);
    CHECK(ev[0].ns_since_start >= lo);
    CHECK(ev[0].ns_since_start <= hi);

    /* The ring keeps the newest BOOT_TIMER_HISTORY events, oldest first. */
    for (unsigned i = 1; i <= BOOT_TIMER_HISTORY + 2; i++) {
        v = (uint8_t)(0x10 + i);
        boot_timer_bus_ops.write(bt, 0, &v, 1);
    }
    size_t n = boot_timer_get_events(bt, ev, sizeof(ev) / sizeof(ev[0]), &total);
    CHECK_EQ(n, BOOT_TIMER_HISTORY);
    CHECK_EQ(total, BOOT_TIMER_HISTORY + 3);
    CHECK_EQ(ev[0].value, 0x10 + 3);
    CHECK_EQ(ev[n - 1].value, 0x10 + BOOT_TIMER_HISTORY + 2);
    for (size_t i = 1; i < n; i++)
        CHECK(ev[i].ns_since_start >= ev[i - 1].ns_since_start);
    /* Asking for fewer returns the newest ones. */
    CHECK_EQ(boot_timer_get_events(bt, ev, 2, NULL), 2);
    CHECK_EQ(ev[1].value, 0x10 + BOOT_TIMER_HISTORY + 2);
    CHECK_EQ(ev[0].value, 0x10 + BOOT_TIMER_HISTORY + 1);

    boot_timer_destroy(bt);
    return check_result("test_boot_timer");
}
