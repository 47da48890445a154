/* SPDX-License-Identifier: MIT */
/*
 * Logging with levels, a per-module prefix and rate limiting.
 *
 * Define LOG_MODULE ("uart", "kvm", ...) before including this header.
 * Lines go to stderr as "sluice: <module>: <message>". Anything a guest can
 * trigger repeatedly must use LOG_RATELIMITED so a guest cannot flood the host.
 */
#ifndef SLUICE_VMM_LOG_H
#define SLUICE_VMM_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

#ifndef LOG_MODULE
#define LOG_MODULE "sluice"
#endif

/* Global threshold; messages above it are dropped. Default LOG_LEVEL_WARN. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug". Returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Rate limit state: at most `burst` lines per `interval_ms`; callers keep one
 * static instance per call site (the LOG_RATELIMITED macro does that). */
struct log_ratelimit {
    uint64_t window_start_ms;
    unsigned printed;
    unsigned suppressed;
};
/* Also reports, at `level`, how many lines were suppressed in the last window. */
bool log_ratelimit_allow(struct log_ratelimit *rl, unsigned burst, unsigned interval_ms,
                         enum log_level level);

#define LOG_ERR(...) log_msg(LOG_LEVEL_ERROR, LOG_MODULE, __VA_ARGS__)
#define LOG_WARN(...) log_msg(LOG_LEVEL_WARN, LOG_MODULE, __VA_ARGS__)
#define LOG_INFO(...) log_msg(LOG_LEVEL_INFO, LOG_MODULE, __VA_ARGS__)
#define LOG_DEBUG(...) log_msg(LOG_LEVEL_DEBUG, LOG_MODULE, __VA_ARGS__)

/* 10 lines per 5 s per call site. */
#define LOG_RATELIMITED(level, ...)                                              \
    do {                                                                         \
        static struct log_ratelimit log_rl_;                                     \
        if ((level) <= log_get_level() &&                                        \
            log_ratelimit_allow(&log_rl_, 10, 5000, (level)))                    \
            log_msg((level), LOG_MODULE, __VA_ARGS__);                           \
    } while (0)

#endif
