/* SPDX-License-Identifier: MIT */
/* The device I/O thread: handlers and run_sync functions run on the thread,
 * handlers can add and remove handlers (their own included) safely, and
 * stop/destroy are idempotent. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/io_thread.h"
#include "tests/unit/check.h"

#define LONG_NAME "sluice-io-virtio-blk0"   /* longer than 15 characters */
#define WAIT_MS 5000

static unsigned load(const unsigned *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void bump(unsigned *p)
{
    __atomic_fetch_add(p, 1, __ATOMIC_SEQ_CST);
}

/* Checks made on the I/O thread: counted atomically, reported from main. */
static unsigned thread_errors;
#define TCHECK(cond)                                                                    \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            bump(&thread_errors);                                                       \
            fprintf(stderr, "%s:%d: TCHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                               \
    } while (0)

/* Wait until *p >= want, at most WAIT_MS. */
static bool wait_for(const unsigned *p, unsigned want)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (load(p) >= want)
            return true;
        usleep(1000);
    }
    return load(p) >= want;
}

static void kick(int fd)
{
    uint64_t one = 1;
    TCHECK(write(fd, &one, sizeof(one)) == sizeof(one));
}

static void drain(int fd)
{
    uint64_t v;
    TCHECK(read(fd, &v, sizeof(v)) == sizeof(v) || errno == EAGAIN);
}

/* ---- handlers run on the thread ------------------------------------------- */

struct probe {
    int fd;
    unsigned calls;
    pthread_t ran_on;
    char name[16];
    uint32_t events;
};

static void probe_handler(void *opaque, uint32_t events)
{
    struct probe *p = opaque;

    drain(p->fd);
    p->ran_on = pthread_self();
    p->events = events;
    pthread_getname_np(pthread_self(), p->name, sizeof(p->name));
    bump(&p->calls);
}

static void test_handler_on_thread(void)
{
    struct io_thread t;
    struct probe p = { 0 };

    CHECK_EQ(io_thread_init(&t, LONG_NAME), 0);
    p.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(p.fd >= 0);
    CHECK_EQ(io_thread_add(&t, p.fd, EPOLLIN, probe_handler, &p), 0);
    CHECK_EQ(io_thread_start(&t), 0);
    CHECK_EQ(io_thread_start(&t), -EBUSY);

    kick(p.fd);
    CHECK(wait_for(&p.calls, 1));
    CHECK(!pthread_equal(p.ran_on, pthread_self()));
    CHECK(pthread_equal(p.ran_on, t.thread));
    CHECK(p.events & EPOLLIN);
    CHECK_STREQ(p.name, "sluice-io-virti"); /* 15 characters kept */

    kick(p.fd);
    CHECK(wait_for(&p.calls, 2));

    io_thread_stop(&t);
    io_thread_stop(&t); /* idempotent */
    CHECK(!t.started);
    io_thread_destroy(&t);
    io_thread_destroy(&t); /* idempotent */
    close(p.fd);
}

/* ---- table management -------------------------------------------------------- */

static void nop_handler(void *opaque, uint32_t events)
{
}

static void test_add_remove_errors(void)
{
    struct io_thread t;
    int fds[IO_THREAD_MAX_HANDLERS + 1];

    CHECK_EQ(io_thread_init(&t, "tbl"), 0);
    for (unsigned i = 0; i <= IO_THREAD_MAX_HANDLERS; i++) {
        fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        CHECK(fds[i] >= 0);
    }
    CHECK_EQ(io_thread_add(&t, -1, EPOLLIN, nop_handler, NULL), -EINVAL);
    CHECK_EQ(io_thread_add(&t, fds[0], EPOLLIN, NULL, NULL), -EINVAL);
    CHECK_EQ(io_thread_add(&t, t.wake_fd, EPOLLIN, nop_handler, NULL), -EEXIST);
    for (unsigned i = 0; i < IO_THREAD_MAX_HANDLERS; i++)
        CHECK_EQ(io_thread_add(&t, fds[i], EPOLLIN, nop_handler, NULL), 0);
    CHECK_EQ(io_thread_add(&t, fds[0], EPOLLIN, nop_handler, NULL), -EEXIST);
    CHECK_EQ(io_thread_add(&t, fds[IO_THREAD_MAX_HANDLERS], EPOLLIN, nop_handler, NULL),
             -ENOSPC);
    CHECK_EQ(io_thread_modify(&t, fds[1], EPOLLIN | EPOLLOUT), 0);
    CHECK_EQ(io_thread_modify(&t, fds[IO_THREAD_MAX_HANDLERS], EPOLLIN), -ENOENT);
    CHECK_EQ(io_thread_remove(&t, fds[1]), 0);
    CHECK_EQ(io_thread_remove(&t, fds[1]), -ENOENT);
    CHECK_EQ(io_thread_add(&t, fds[IO_THREAD_MAX_HANDLERS], EPOLLIN, nop_handler, NULL), 0);
    /* an fd closed before removal is still removed cleanly */
    close(fds[2]);
    CHECK_EQ(io_thread_remove(&t, fds[2]), 0);
    fds[2] = -1;
    /* not an fd at all */
    CHECK_EQ(io_thread_add(&t, 1000000, EPOLLIN, nop_handler, NULL), -EBADF);

    io_thread_stop(&t); /* never started: nothing to do */
    io_thread_destroy(&t);
    for (unsigned i = 0; i <= IO_THREAD_MAX_HANDLERS; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
}

/* ---- removal and addition from inside handlers -------------------------------- */

struct pair {
    struct io_thread *t;
    int fd[2];
    unsigned calls[2];
    unsigned total;
};

struct pair_arg {
    struct pair *pair;
    int me;
};

/* Removes the other fd of the pair without draining it: if the other were
 * called later in the same batch, or at all, its count would show it. */
static void pair_handler(void *opaque, uint32_t events)
{
    struct pair_arg *a = opaque;
    struct pair *p = a->pair;

    drain(p->fd[a->me]);
    TCHECK(io_thread_remove(p->t, p->fd[1 - a->me]) == 0);
    bump(&p->calls[a->me]);
    bump(&p->total);
}

/* Removes itself without draining its (level-triggered, still ready) fd. */
static void self_remove_handler(void *opaque, uint32_t events)
{
    struct pair *p = opaque;

    TCHECK(io_thread_remove(p->t, p->fd[0]) == 0);
    bump(&p->total);
}

struct adder {
    struct io_thread *t;
    int trigger, added;
    struct probe probe;
    unsigned done;
};

static void adder_handler(void *opaque, uint32_t events)
{
    struct adder *a = opaque;

    drain(a->trigger);
    TCHECK(io_thread_add(a->t, a->added, EPOLLIN, probe_handler, &a->probe) == 0);
    kick(a->added);
    bump(&a->done);
}

static void barrier_fn(void *opaque)
{
    bump(opaque);
}

static void test_remove_from_handler(void)
{
    struct io_thread t;
    struct pair p = { .t = &t };
    struct pair_arg args[2] = { { &p, 0 }, { &p, 1 } };
    struct adder ad = { .t = &t };
    unsigned barrier = 0;

    CHECK_EQ(io_thread_init(&t, "rm"), 0);
    p.fd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p.fd[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(p.fd[0] >= 0 && p.fd[1] >= 0);
    CHECK_EQ(io_thread_add(&t, p.fd[0], EPOLLIN, pair_handler, &args[0]), 0);
    CHECK_EQ(io_thread_add(&t, p.fd[1], EPOLLIN, pair_handler, &args[1]), 0);
    /* both ready before the thread starts: one epoll batch holds both */
    kick(p.fd[0]);
    kick(p.fd[1]);
    CHECK_EQ(io_thread_start(&t), 0);
    CHECK(wait_for(&p.total, 1));
    io_thread_run_sync(&t, barrier_fn, &barrier);
    usleep(50 * 1000);
    io_thread_run_sync(&t, barrier_fn, &barrier);
    CHECK_EQ(load(&p.total), 1);
    CHECK_EQ(load(&p.calls[0]) + load(&p.calls[1]), 1);
    io_thread_remove(&t, p.fd[0]); /* the survivor (one of the two) */
    io_thread_remove(&t, p.fd[1]);

    /* a handler removing itself is not called again though its fd stays ready */
    p.total = 0;
    CHECK_EQ(io_thread_add(&t, p.fd[0], EPOLLIN, self_remove_handler, &p), 0);
    kick(p.fd[0]);
    CHECK(wait_for(&p.total, 1));
    usleep(50 * 1000);
    io_thread_run_sync(&t, barrier_fn, &barrier);
    CHECK_EQ(load(&p.total), 1);

    /* a handler adding a handler: the new one runs */
    ad.trigger = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ad.added = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ad.probe.fd = ad.added;
    CHECK_EQ(io_thread_add(&t, ad.trigger, EPOLLIN, adder_handler, &ad), 0);
    kick(ad.trigger);
    CHECK(wait_for(&ad.done, 1));
    CHECK(wait_for(&ad.probe.calls, 1));
    CHECK(pthread_equal(ad.probe.ran_on, t.thread));

    CHECK_EQ(load(&barrier), 3);
    io_thread_destroy(&t); /* stops and joins */
    close(p.fd[0]);
    close(p.fd[1]);
    close(ad.trigger);
    close(ad.added);
}

/* ---- run_sync ------------------------------------------------------------------ */

#define SYNC_CALLERS 3
#define SYNC_ROUNDS 300

struct sync_state {
    struct io_thread *t;
    unsigned counter;   /* only touched by sync functions */
    unsigned off_thread; /* sync functions that ran elsewhere */
    unsigned errors;
};

struct sync_req {
    struct sync_state *s;
    unsigned seen;
};

static void sync_fn(void *opaque)
{
    struct sync_req *r = opaque;

    if (!pthread_equal(pthread_self(), r->s->t->thread))
        bump(&r->s->off_thread);
    r->seen = ++r->s->counter;
}

static void *sync_caller(void *arg)
{
    struct sync_state *s = arg;
    unsigned last = 0;

    for (unsigned i = 0; i < SYNC_ROUNDS; i++) {
        struct sync_req r = { .s = s };

        io_thread_run_sync(s->t, sync_fn, &r);
        /* the function ran before run_sync returned, after our previous one */
        if (r.seen == 0 || r.seen <= last)
            bump(&s->errors);
        last = r.seen;
    }
    return NULL;
}

struct nested {
    struct io_thread *t;
    int fd;
    unsigned inner, done;
};

static void inner_fn(void *opaque)
{
    struct nested *n = opaque;
    if (pthread_equal(pthread_self(), n->t->thread))
        bump(&n->inner);
}

/* run_sync from a handler runs inline instead of deadlocking */
static void nested_handler(void *opaque, uint32_t events)
{
    struct nested *n = opaque;

    drain(n->fd);
    io_thread_run_sync(n->t, inner_fn, n);
    bump(&n->done);
}

static void caller_fn(void *opaque)
{
    *(pthread_t *)opaque = pthread_self();
}

static void test_run_sync(void)
{
    struct io_thread t;
    struct sync_state s = { .t = &t };
    struct nested n = { .t = &t };
    pthread_t callers[SYNC_CALLERS], ran_on;

    CHECK_EQ(io_thread_init(&t, "sync"), 0);
    /* not started: runs inline on the caller */
    io_thread_run_sync(&t, caller_fn, &ran_on);
    CHECK(pthread_equal(ran_on, pthread_self()));

    n.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK_EQ(io_thread_add(&t, n.fd, EPOLLIN, nested_handler, &n), 0);
    CHECK_EQ(io_thread_start(&t), 0);

    io_thread_run_sync(&t, caller_fn, &ran_on);
    CHECK(pthread_equal(ran_on, t.thread));

    for (unsigned i = 0; i < SYNC_CALLERS; i++)
        CHECK_EQ(pthread_create(&callers[i], NULL, sync_caller, &s), 0);
    for (unsigned i = 0; i < SYNC_CALLERS; i++)
        pthread_join(callers[i], NULL);
    CHECK_EQ(s.counter, SYNC_CALLERS * SYNC_ROUNDS);
    CHECK_EQ(load(&s.off_thread), 0);
    CHECK_EQ(load(&s.errors), 0);

    kick(n.fd);
    CHECK(wait_for(&n.done, 1));
    CHECK_EQ(load(&n.inner), 1);

    io_thread_stop(&t);
    /* stopped: inline again */
    io_thread_run_sync(&t, caller_fn, &ran_on);
    CHECK(pthread_equal(ran_on, pthread_self()));
    /* and it can be started again */
    CHECK_EQ(io_thread_start(&t), 0);
    io_thread_run_sync(&t, caller_fn, &ran_on);
    CHECK(!pthread_equal(ran_on, pthread_self()));
    io_thread_stop(&t);
    io_thread_destroy(&t);
    close(n.fd);
}

int main(void)
{
    test_handler_on_thread();
    test_add_remove_errors();
    test_remove_from_handler();
    test_run_sync();
    CHECK_EQ(load(&thread_errors), 0);
    return check_result("test_io_thread");
}
