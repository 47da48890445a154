/* SPDX-License-Identifier: MIT */
#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level log_threshold = LOG_LEVEL_WARN;
static pthread_mutex_t log_rl_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level level) { log_threshold = level; }
enum log_level log_get_level(void) { return log_threshold; }

int log_parse_level(const char *s, enum log_level *out)
{
    for (unsigned i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
        if (strcmp(s, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    if (level > log_threshold)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from different threads do not interleave. */
    fprintf(stderr, "sluice: %s: %s%s\n", module,
            level == LOG_LEVEL_ERROR ? "error: " : level == LOG_LEVEL_WARN ? "warning: " : "",
            line);
}

static uint64_t log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool log_ratelimit_allow(struct log_ratelimit *rl, unsigned burst, unsigned interval_ms,
                         enum log_level level)
{
    uint64_t now = log_now_ms();
    bool allow;
    unsigned dropped = 0;

    pthread_mutex_lock(&log_rl_lock);
    if (now - rl->window_start_ms >= interval_ms) {
        dropped = rl->suppressed;
        rl->window_start_ms = now;
        rl->printed = 0;
        rl->suppressed = 0;
    }
    allow = rl->printed < burst;
    if (allow)
        rl->printed++;
    else
        rl->suppressed++;
    pthread_mutex_unlock(&log_rl_lock);

    if (dropped)
        log_msg(level, "log", "%u similar messages suppressed", dropped);
    return allow;
}
