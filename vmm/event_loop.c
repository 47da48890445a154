/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "loop"
#include "vmm/event_loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vmm/log.h"

int event_loop_init(struct event_loop *loop)
{
    memset(loop, 0, sizeof(*loop));
    for (unsigned i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++)
        loop->handlers[i].fd = -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    return loop->epfd < 0 ? -errno : 0;
}

void event_loop_destroy(struct event_loop *loop)
{
    if (loop->epfd >= 0)
        close(loop->epfd);
    loop->epfd = -1;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_handler_fn fn,
                   void *opaque)
{
    struct event_handler *slot = NULL;
    for (unsigned i = 0; i < EVENT_LOOP_MAX_HANDLERS && !slot; i++)
        if (loop->handlers[i].fd < 0)
            slot = &loop->handlers[i];
    if (!slot)
        return -ENOSPC;
    struct epoll_event ev = {.events = events, .data.ptr = slot};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    *slot = (struct event_handler){.fd = fd, .fn = fn, .opaque = opaque};
    return 0;
}

static struct event_handler *event_loop_find(struct event_loop *loop, int fd)
{
    for (unsigned i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++)
        if (loop->handlers[i].fd == fd)
            return &loop->handlers[i];
    return NULL;
}

int event_loop_modify(struct event_loop *loop, int fd, uint32_t events)
{
    struct event_handler *h = event_loop_find(loop, fd);
    if (!h)
        return -ENOENT;
    struct epoll_event ev = {.events = events, .data.ptr = h};
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int event_loop_remove(struct event_loop *loop, int fd)
{
    struct event_handler *h = event_loop_find(loop, fd);
    if (!h)
        return -ENOENT;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    h->fd = -1;
    return 0;
}

int event_loop_run(struct event_loop *loop)
{
    struct epoll_event events[EVENT_LOOP_MAX_HANDLERS];
    while (!loop->quit) {
        int n = epoll_wait(loop->epfd, events, EVENT_LOOP_MAX_HANDLERS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            LOG_ERR("epoll_wait failed: %s", strerror(errno));
            return -errno;
        }
        for (int i = 0; i < n && !loop->quit; i++) {
            struct event_handler *h = events[i].data.ptr;
            if (h->fd >= 0)
                h->fn(h->opaque, events[i].events);
        }
    }
    return 0;
}

void event_loop_quit(struct event_loop *loop) { loop->quit = true; }
