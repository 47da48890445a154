/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers for the hostile-input tests (test_hostile_*.c): a seeded
 * xorshift64* PRNG, a bounded-noise check macro that names the seed and step
 * of the first failures, and the regression check for bugs they found.
 *
 * Environment:
 *   SLUICE_HOSTILE_SEED=N    run only seed N (decimal or 0x hex)
 *   SLUICE_HOSTILE_ITERS=N   operations / mutations per seed

 */
#ifndef SLUICE_TESTS_HOSTILE_COMMON_H
#define SLUICE_TESTS_HOSTILE_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/check.h"

struct hostile_rng {
    uint64_t s;
};

static inline void hostile_rng_seed(struct hostile_rng *r, uint64_t seed)
{
    /* splitmix64 of the seed, so small seeds give a well-mixed state; never 0 */
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    r->s = z ? z : 1;
}

static inline uint64_t hostile_next(struct hostile_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform-enough in [0, n); n > 0. */
static inline uint64_t hostile_below(struct hostile_rng *r, uint64_t n)
{
    return hostile_next(r) % n;
}

/* True with probability num/den. */
static inline bool hostile_chance(struct hostile_rng *r, unsigned num, unsigned den)
{
    return hostile_below(r, den) < num;
}

/* Where a failure happened: printed with the first few failed checks. */
static uint64_t hostile_cur_seed;
static uint64_t hostile_cur_step;
static const char *hostile_cur_what = "";
static unsigned hostile_printed;

#define HOSTILE_MAX_PRINTED 30

/* Like CHECK, but prints only the first HOSTILE_MAX_PRINTED failures (each
 * with seed, step and phase) so a broken invariant cannot flood the log. */
#define HCHECK(cond)                                                                    \
    do {                                                                                \
        check_count++;                                                                  \
        if (!(cond)) {                                                                  \
            check_failures++;                                                           \
            if (hostile_printed++ < HOSTILE_MAX_PRINTED)                                \
                fprintf(stderr, "%s:%d: CHECK failed: %s [seed 0x%llx step %llu %s]\n", \
                        __FILE__, __LINE__, #cond,                                      \
                        (unsigned long long)hostile_cur_seed,                           \
                        (unsigned long long)hostile_cur_step, hostile_cur_what);        \
        }                                                                               \
    } while (0)

#define HCHECK_EQ(a, b)                                                                 \
    do {                                                                                \
        unsigned long long hc_a_ = (unsigned long long)(a);                             \
        unsigned long long hc_b_ = (unsigned long long)(b);                             \
        check_count++;                                                                  \
        if (hc_a_ != hc_b_) {                                                           \
            check_failures++;                                                           \
            if (hostile_printed++ < HOSTILE_MAX_PRINTED)                                \
                fprintf(stderr,                                                         \
                        "%s:%d: CHECK_EQ failed: %s == %s (0x%llx != 0x%llx) "          \
                        "[seed 0x%llx step %llu %s]\n",                                 \
                        __FILE__, __LINE__, #a, #b, hc_a_, hc_b_,                       \
                        (unsigned long long)hostile_cur_seed,                           \
                        (unsigned long long)hostile_cur_step, hostile_cur_what);        \
        }                                                                               \
    } while (0)

static inline uint64_t hostile_env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    return strtoull(s, NULL, 0);
}

/* A bug these tests once found: it must stay fixed. */
static inline void hostile_regression(const char *id, bool reproduced, const char *what)
{
    if (reproduced)
        fprintf(stderr, "REGRESSION %s: %s\n", id, what);
    CHECK(!reproduced);
}

static inline double hostile_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
