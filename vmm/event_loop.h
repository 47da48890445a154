/* SPDX-License-Identifier: MIT */
/*
 * A small epoll loop run by the main thread: host-side input (serial), signals
 * and the VM stop request. Handlers run on the loop thread only.
 */
#ifndef SLUICE_VMM_EVENT_LOOP_H
#define SLUICE_VMM_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define EVENT_LOOP_MAX_HANDLERS 16

/* Called with the epoll events that fired on fd. */
typedef void (*event_handler_fn)(void *opaque, uint32_t events);

struct event_handler {
    int fd;
    event_handler_fn fn;
    void *opaque;
};

struct event_loop {
    int epfd;
    bool quit;
    struct event_handler handlers[EVENT_LOOP_MAX_HANDLERS];
};

int event_loop_init(struct event_loop *loop) __attribute__((warn_unused_result));
void event_loop_destroy(struct event_loop *loop);
/* Watch fd for `events` (EPOLLIN, ...). Returns 0, -ENOSPC or -errno. */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_handler_fn fn,
                   void *opaque) __attribute__((warn_unused_result));
/* Change the events watched on fd (0 pauses it). */
int event_loop_modify(struct event_loop *loop, int fd, uint32_t events);
int event_loop_remove(struct event_loop *loop, int fd);
/* Run handlers until event_loop_quit() is called from a handler. */
int event_loop_run(struct event_loop *loop);
void event_loop_quit(struct event_loop *loop);

#endif
