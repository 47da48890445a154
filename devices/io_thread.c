/* SPDX-License-Identifier: MIT */
/*
 * Device I/O thread: an epoll loop plus an eventfd that wakes it for stop and
 * run_sync requests. The handler table is guarded by t->lock; handlers run
 * without the lock held, so they may add and remove handlers (their own
 * included). Each event is looked up in the table again right before its
 * handler runs, so a handler removed earlier in the same epoll batch is never
 * called. A handler removed from another thread may still be running (or
 * about to run) when io_thread_remove returns: quiesce with io_thread_run_sync
 * before freeing what its opaque points to.
 */
#define LOG_MODULE "io_thread"

#include "devices/io_thread.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"

#define IO_THREAD_BATCH 16
/* pthread_setname_np accepts 16 bytes including the terminating NUL. */
#define IO_THREAD_NAME_MAX 16

int io_thread_init(struct io_thread *t, const char *name)
{
    struct epoll_event ev = { .events = EPOLLIN };
    int ret;

    memset(t, 0, sizeof(*t));
    t->name = name ? name : "io";
    t->wake_fd = -1;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t->epfd < 0)
        return -errno;
    t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->wake_fd < 0) {
        ret = -errno;
        goto close_epoll;
    }
    ev.data.fd = t->wake_fd;
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake_fd, &ev) < 0) {
        ret = -errno;
        goto close_wake;
    }
    ret = pthread_mutex_init(&t->lock, NULL);
    if (ret) {
        ret = -ret;
        goto close_wake;
    }
    ret = pthread_cond_init(&t->cond, NULL);
    if (ret) {
        ret = -ret;
        goto destroy_mutex;
    }
    for (unsigned i = 0; i < IO_THREAD_MAX_HANDLERS; i++)
        t->handlers[i].fd = -1;
    return 0;

destroy_mutex:
    pthread_mutex_destroy(&t->lock);
close_wake:
    close(t->wake_fd);
close_epoll:
    close(t->epfd);
    t->epfd = t->wake_fd = -1;
    return ret;
}

/* Slot watching fd, or NULL. Caller holds t->lock. */
static struct io_handler *find_handler(struct io_thread *t, int fd)
{
    for (unsigned i = 0; i < IO_THREAD_MAX_HANDLERS; i++) {
        if (t->handlers[i].fd == fd)
            return &t->handlers[i];
    }
    return NULL;
}

int io_thread_add(struct io_thread *t, int fd, uint32_t events, io_handler_fn fn, void *opaque)
{
    struct epoll_event ev = { .events = events, .data.fd = fd };
    struct io_handler *h;
    int ret = 0;

    if (fd < 0 || !fn)
        return -EINVAL;
    if (fd == t->wake_fd)
        return -EEXIST;
    pthread_mutex_lock(&t->lock);
    if (find_handler(t, fd)) {
        ret = -EEXIST;
        goto unlock;
    }
    h = find_handler(t, -1);
    if (!h) {
        ret = -ENOSPC;
        goto unlock;
    }
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        ret = -errno;
        goto unlock;
    }
    *h = (struct io_handler){ .fd = fd, .fn = fn, .opaque = opaque };
unlock:
    pthread_mutex_unlock(&t->lock);
    return ret;
}

int io_thread_modify(struct io_thread *t, int fd, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.fd = fd };
    int ret = 0;

    pthread_mutex_lock(&t->lock);
    if (fd < 0 || !find_handler(t, fd))
        ret = -ENOENT;
    else if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        ret = -errno;
    pthread_mutex_unlock(&t->lock);
    return ret;
}

int io_thread_remove(struct io_thread *t, int fd)
{
    struct io_handler *h;
    int ret = 0;

    pthread_mutex_lock(&t->lock);
    h = fd < 0 ? NULL : find_handler(t, fd);
    if (!h) {
        ret = -ENOENT;
        goto unlock;
    }
    *h = (struct io_handler){ .fd = -1 };
    /* A closed fd has already left the epoll set: not an error. */
    if (epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF && errno != ENOENT)
        ret = -errno;
unlock:
    pthread_mutex_unlock(&t->lock);
    return ret;
}

/* Caller holds t->lock. */
static bool inline_only(struct io_thread *t)
{
    return !t->started || pthread_equal(pthread_self(), t->thread);
}

static void wake(struct io_thread *t)
{
    uint64_t one = 1;

    /* EAGAIN means the counter is already non-zero: the thread wakes anyway. */
    if (write(t->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        LOG_ERR("%s: wake failed: %s", t->name, strerror(errno));
}

/* Run a pending run_sync request, if any. Caller holds t->lock. */
static void run_pending_sync(struct io_thread *t)
{
    void (*fn)(void *opaque) = t->sync_fn;
    void *opaque = t->sync_opaque;

    if (!fn)
        return;
    pthread_mutex_unlock(&t->lock);
    fn(opaque);
    pthread_mutex_lock(&t->lock);
    t->sync_fn = NULL;
    t->sync_done = t->sync_seq;
    pthread_cond_broadcast(&t->cond);
}

/* Wake fd readable: drain it, serve run_sync; true when asked to stop. */
static bool handle_wake(struct io_thread *t)
{
    uint64_t v;
    bool stop;

    if (read(t->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        LOG_ERR("%s: wake read failed: %s", t->name, strerror(errno));
    pthread_mutex_lock(&t->lock);
    run_pending_sync(t);
    stop = t->stop;
    pthread_mutex_unlock(&t->lock);
    return stop;
}

static void dispatch(struct io_thread *t, int fd, uint32_t events)
{
    struct io_handler *h, copy = { .fd = -1 };

    pthread_mutex_lock(&t->lock);
    h = find_handler(t, fd);
    if (h)
        copy = *h;
    pthread_mutex_unlock(&t->lock);
    if (copy.fd >= 0)
        copy.fn(copy.opaque, events);
}

static void *io_thread_main(void *arg)
{
    struct io_thread *t = arg;
    char name[IO_THREAD_NAME_MAX];
    bool stop = false;

    snprintf(name, sizeof(name), "%s", t->name);
    pthread_setname_np(pthread_self(), name);
    while (!stop) {
        struct epoll_event ev[IO_THREAD_BATCH];
        int n = epoll_wait(t->epfd, ev, IO_THREAD_BATCH, -1);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            LOG_ERR("%s: epoll_wait failed: %s", t->name, strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd == t->wake_fd)
                stop |= handle_wake(t);
            else
                dispatch(t, ev[i].data.fd, ev[i].events);
        }
    }
    /* Never leave a run_sync caller waiting on a thread that is gone. */
    pthread_mutex_lock(&t->lock);
    run_pending_sync(t);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int io_thread_start(struct io_thread *t)
{
    sigset_t all, old;
    int ret;

    if (t->started)
        return -EBUSY;
    t->stop = false;
    /* Asynchronous signals belong to the main and vCPU threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ret = pthread_create(&t->thread, NULL, io_thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret)
        return -ret;
    pthread_mutex_lock(&t->lock);
    t->started = true;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

void io_thread_run_sync(struct io_thread *t, void (*fn)(void *opaque), void *opaque)
{
    unsigned long seq;

    pthread_mutex_lock(&t->lock);
    for (;;) {
        if (inline_only(t)) {
            pthread_mutex_unlock(&t->lock);
            fn(opaque);
            return;
        }
        if (!t->sync_fn)
            break;
        pthread_cond_wait(&t->cond, &t->lock); /* one request at a time */
    }
    t->sync_fn = fn;
    t->sync_opaque = opaque;
    seq = ++t->sync_seq;
    pthread_mutex_unlock(&t->lock);
    wake(t);
    pthread_mutex_lock(&t->lock);
    while (t->sync_done < seq)
        pthread_cond_wait(&t->cond, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

void io_thread_stop(struct io_thread *t)
{
    pthread_mutex_lock(&t->lock);
    if (!t->started) {
        pthread_mutex_unlock(&t->lock);
        return;
    }
    t->stop = true;
    if (pthread_equal(pthread_self(), t->thread)) {
        /* Cannot join ourselves: the loop ends after this handler returns and a
         * later io_thread_stop from another thread joins it. */
        pthread_mutex_unlock(&t->lock);
        wake(t);
        return;
    }
    pthread_mutex_unlock(&t->lock);
    wake(t);
    pthread_join(t->thread, NULL);
    pthread_mutex_lock(&t->lock);
    t->started = false;
    /* A request queued after the loop's last look runs here, the thread gone. */
    run_pending_sync(t);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

void io_thread_destroy(struct io_thread *t)
{
    if (t->epfd < 0 && t->wake_fd < 0)
        return;
    io_thread_stop(t);
    close(t->wake_fd);
    close(t->epfd);
    t->wake_fd = t->epfd = -1;
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
}
