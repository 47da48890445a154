/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "serial"
#include "vmm/console_out.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

/* Waits at most CONSOLE_OUT_STALL_MS for the output to take bytes again.
 * Called with co->lock held; drops it while waiting. */
static bool console_out_wait_writable(struct console_out *co)
{
    struct pollfd p = {.fd = co->out_fd, .events = POLLOUT};
    pthread_mutex_unlock(&co->lock);
    int n = poll(&p, 1, CONSOLE_OUT_STALL_MS);
    pthread_mutex_lock(&co->lock);
    return n > 0 && (p.revents & POLLOUT);
}

/* Nobody reads the output (an unattached pty): drop what is buffered, and
 * until a write succeeds again, drop without waiting. */
static void console_out_stall_locked(struct console_out *co)
{
    if (!co->stalled)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "console output not read for %d ms; dropping it",
                        CONSOLE_OUT_STALL_MS);
    co->stalled = true;
    co->dropped += co->len;
    co->head = (co->head + co->len) % CONSOLE_OUT_BUF_SIZE;
    co->len = 0;
    pthread_cond_broadcast(&co->drained);
}

/* Writes the buffered bytes; called with co->lock held, drops it around write(). */
static void console_out_drain_locked(struct console_out *co)
{
    while (co->len > 0 && !co->write_error) {
        size_t chunk = co->len;
        if (co->head + chunk > CONSOLE_OUT_BUF_SIZE)
            chunk = CONSOLE_OUT_BUF_SIZE - co->head;
        const uint8_t *src = co->buf + co->head;
        pthread_mutex_unlock(&co->lock);
        ssize_t n = write(co->out_fd, src, chunk);
        int saved = errno;
        pthread_mutex_lock(&co->lock);
        if (n < 0) {
            if (saved == EINTR)
                continue;
            if (saved == EAGAIN) {
                if (!co->stalled && console_out_wait_writable(co))
                    continue;
                console_out_stall_locked(co);
                break;
            }
            co->write_error = saved;
            LOG_WARN("console output stopped: %s", strerror(saved));
            co->len = 0;
            break;
        }
        co->stalled = false;
        co->head = (co->head + (size_t)n) % CONSOLE_OUT_BUF_SIZE;
        co->len -= (size_t)n;
        pthread_cond_broadcast(&co->drained);
    }
}

static void console_out_drain(struct console_out *co)
{
    pthread_mutex_lock(&co->lock);
    console_out_drain_locked(co);
    pthread_mutex_unlock(&co->lock);
}

static void console_out_on_timer(void *opaque, uint32_t events)
{
    struct console_out *co = opaque;
    uint64_t v;
    (void)events;
    if (read(co->timer_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return;
    console_out_drain(co);
}

static void console_out_on_wake(void *opaque, uint32_t events)
{
    struct console_out *co = opaque;
    uint64_t v;
    (void)events;
    if (read(co->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&co->lock);
    console_out_drain_locked(co);
    pthread_mutex_unlock(&co->lock);
}

int console_out_init(struct console_out *co, int out_fd, struct event_loop *loop)
{
    memset(co, 0, sizeof(*co));
    co->out_fd = out_fd;
    co->loop = loop;
    co->timer_fd = -1;
    co->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (co->wake_fd < 0)
        return -errno;
    co->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (co->timer_fd < 0) {
        int ret = -errno;
        close(co->wake_fd);
        co->wake_fd = -1;
        return ret;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&co->lock, NULL);
    pthread_cond_init(&co->drained, &attr);
    pthread_condattr_destroy(&attr);
    int ret = event_loop_add(loop, co->wake_fd, EPOLLIN, console_out_on_wake, co);
    if (ret == 0) {
        ret = event_loop_add(loop, co->timer_fd, EPOLLIN, console_out_on_timer, co);
        if (ret)
            event_loop_remove(loop, co->wake_fd);
    }
    if (ret) {
        close(co->timer_fd);
        co->timer_fd = -1;
        close(co->wake_fd);
        co->wake_fd = -1;
        pthread_cond_destroy(&co->drained);
        pthread_mutex_destroy(&co->lock);
    }
    return ret;
}

void console_out_destroy(struct console_out *co)
{
    if (co->wake_fd < 0)
        return;
    event_loop_remove(co->loop, co->wake_fd);
    event_loop_remove(co->loop, co->timer_fd);
    console_out_drain(co);
    if (co->dropped)
        LOG_WARN("%llu console bytes were dropped because the output was not drained",
                 (unsigned long long)co->dropped);
    close(co->timer_fd);
    close(co->wake_fd);
    co->timer_fd = co->wake_fd = -1;
    pthread_cond_destroy(&co->drained);
    pthread_mutex_destroy(&co->lock);
}

static void console_out_deadline(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += (long)CONSOLE_OUT_STALL_MS * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

size_t console_out_push(void *opaque, const uint8_t *buf, size_t len)
{
    struct console_out *co = opaque;
    size_t taken = 0;
    bool burst_start = false, half_full = false;
    struct timespec deadline;
    bool have_deadline = false;

    pthread_mutex_lock(&co->lock);
    while (taken < len && !co->write_error) {
        if (co->len == CONSOLE_OUT_BUF_SIZE) {
            if (co->stalled)
                break;
            if (!have_deadline) {
                console_out_deadline(&deadline);
                have_deadline = true;
            }
            if (pthread_cond_timedwait(&co->drained, &co->lock, &deadline) == ETIMEDOUT)
                break;
            continue;
        }
        burst_start |= co->len == 0;
        co->buf[(co->head + co->len) % CONSOLE_OUT_BUF_SIZE] = buf[taken++];
        co->len++;
    }
    co->dropped += len - taken;
    half_full = co->len >= CONSOLE_OUT_BUF_SIZE / 2 && co->len - taken < CONSOLE_OUT_BUF_SIZE / 2;
    pthread_mutex_unlock(&co->lock);
    if (burst_start) {
        struct itimerspec flush = {.it_value.tv_nsec = CONSOLE_OUT_FLUSH_MS * 1000000L};
        if (timerfd_settime(co->timer_fd, 0, &flush, NULL) < 0)
            LOG_RATELIMITED(LOG_LEVEL_WARN, "arming the console flush timer: %s", strerror(errno));
    }
    if (half_full) {
        uint64_t one = 1;
        if (write(co->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            LOG_RATELIMITED(LOG_LEVEL_WARN, "waking the console writer: %s", strerror(errno));
    }
    return len;
}
