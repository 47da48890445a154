/* SPDX-License-Identifier: MIT */
/*
 * Minimal assertions for unit tests. A failed CHECK prints the expression and
 * location and marks the test failed; the test's main returns check_result().
 * Return CHECK_SKIP (77) from main when a prerequisite is absent, after
 * printing why.
 */
#ifndef SLUICE_TESTS_CHECK_H
#define SLUICE_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CHECK_SKIP 77

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        check_count++;                                                                  \
        if (!(cond)) {                                                                  \
            check_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                               \
    } while (0)

#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        unsigned long long check_a_ = (unsigned long long)(a);                          \
        unsigned long long check_b_ = (unsigned long long)(b);                          \
        check_count++;                                                                  \
        if (check_a_ != check_b_) {                                                     \
            check_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (0x%llx != 0x%llx)\n",    \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);                    \
        }                                                                               \
    } while (0)

#define CHECK_STREQ(a, b) CHECK(strcmp((a), (b)) == 0)

static inline int check_result(const char *name)
{
    if (check_count == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    fprintf(stderr, "%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
