/* SPDX-License-Identifier: MIT */
/*
 * Buffered guest console output. The UART hands every transmitted byte to
 * console_out_push() on a vCPU thread; bytes are appended to a ring buffer and
 * the main loop writes them to the host fd in large chunks, so a vCPU never
 * waits on a slow terminal, pipe or (in the test bed) a 9p file, and the host
 * sees one write() per burst instead of one per character.
 *
 * Bytes that trickle out one exit at a time are coalesced: the first byte of
 * a burst arms a CONSOLE_OUT_FLUSH_MS timer and the loop drains once per
 * window; a half-full buffer wakes the loop at once.
 *
 * If the buffer is full the pushing vCPU waits at most CONSOLE_OUT_STALL_MS
 * for the loop to drain it. If the output (non-blocking, e.g. a pty nobody
 * has opened) takes nothing for CONSOLE_OUT_STALL_MS, buffered bytes are
 * dropped (counted) and, until a write succeeds again, new ones are dropped
 * without waiting: a stuck reader can never hang a vCPU or the main loop.
 */
#ifndef SLUICE_VMM_CONSOLE_OUT_H
#define SLUICE_VMM_CONSOLE_OUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/event_loop.h"

#define CONSOLE_OUT_BUF_SIZE (64 * 1024)
#define CONSOLE_OUT_STALL_MS 100
#define CONSOLE_OUT_FLUSH_MS 10

struct console_out {
    int out_fd;               /* not owned */
    int wake_fd;              /* eventfd: the buffer is half full */
    int timer_fd;             /* timerfd: a burst started CONSOLE_OUT_FLUSH_MS ago */
    struct event_loop *loop;
    pthread_mutex_t lock;
    pthread_cond_t drained;
    uint8_t buf[CONSOLE_OUT_BUF_SIZE];
    size_t head, len;         /* ring: bytes [head, head + len) */
    uint64_t dropped;
    int write_error;          /* first write error; output stops after it */
    bool stalled;             /* output took nothing for CONSOLE_OUT_STALL_MS */
};

/* Set up and watch the wake eventfd in `loop`. Returns 0 or -errno. */
int console_out_init(struct console_out *co, int out_fd, struct event_loop *loop)
    __attribute__((warn_unused_result));
/* Write out what is still buffered (blocking), then release everything. */
void console_out_destroy(struct console_out *co);

/* The UART output callback (opaque = struct console_out). Returns bytes taken. */
size_t console_out_push(void *opaque, const uint8_t *buf, size_t len);

#endif
