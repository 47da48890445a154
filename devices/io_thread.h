/* SPDX-License-Identifier: MIT */
/*
 * A device I/O thread: one epoll loop on its own thread, so device work
 * (virtqueue processing, completions, tap reads) never runs on a vCPU thread.
 *
 * Order: io_thread_init -> io_thread_add (any number) -> io_thread_start ->
 * ... -> io_thread_stop -> io_thread_destroy. io_thread_add/remove may also be
 * called from handlers running on the thread itself. io_thread_run_sync runs a
 * function on the thread and waits for it (to quiesce a device for reset).
 */
#ifndef SLUICE_DEVICES_IO_THREAD_H
#define SLUICE_DEVICES_IO_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IO_THREAD_MAX_HANDLERS 64

typedef void (*io_handler_fn)(void *opaque, uint32_t events);

struct io_handler {
    int fd;
    io_handler_fn fn;
    void *opaque;
};

struct io_thread {
    const char *name;
    int epfd;
    int wake_fd;            /* eventfd: stop and run_sync requests */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    void (*sync_fn)(void *opaque);
    void *sync_opaque;
    unsigned long sync_seq, sync_done;
    struct io_handler handlers[IO_THREAD_MAX_HANDLERS];
};

int io_thread_init(struct io_thread *t, const char *name) __attribute__((warn_unused_result));
/* Watch fd for `events` (EPOLLIN...). Returns 0, -ENOSPC, -EEXIST or -errno. */
int io_thread_add(struct io_thread *t, int fd, uint32_t events, io_handler_fn fn, void *opaque)
    __attribute__((warn_unused_result));
int io_thread_modify(struct io_thread *t, int fd, uint32_t events);
int io_thread_remove(struct io_thread *t, int fd);
int io_thread_start(struct io_thread *t) __attribute__((warn_unused_result));
/* Run fn(opaque) on the thread and wait for it; runs inline when not started
 * or when called from the thread itself. */
void io_thread_run_sync(struct io_thread *t, void (*fn)(void *opaque), void *opaque);
/* Stop and join the thread (idempotent). */
void io_thread_stop(struct io_thread *t);
void io_thread_destroy(struct io_thread *t);

#endif
