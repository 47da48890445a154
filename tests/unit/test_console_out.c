/* SPDX-License-Identifier: MIT */
/* Buffered console output: coalescing timer, drain on destroy, ordering. */
#include <fcntl.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "vmm/console_out.h"

static void on_quit(void *opaque, uint32_t events)
{
    (void)events;
    event_loop_quit(opaque);
}

static void *run_loop(void *arg)
{
    event_loop_run(arg);
    return NULL;
}

static size_t read_all(int fd, char *buf, size_t max)
{
    size_t n = 0;
    ssize_t r;
    while (n < max && (r = read(fd, buf + n, max - n)) > 0)
        n += (size_t)r;
    return n;
}

/* A console writing into a non-blocking pipe, drained by a loop on its own
 * thread that stops when `quit` is written. */
struct fixture {
    int out[2], quit[2];
    struct event_loop loop;
    struct console_out co;
    pthread_t thread;
};

static void fixture_start(struct fixture *f, int pipe_size)
{
    CHECK_EQ(pipe2(f->out, O_NONBLOCK), 0);
    if (pipe_size)
        fcntl(f->out[1], F_SETPIPE_SZ, pipe_size);
    CHECK_EQ(pipe(f->quit), 0);
    CHECK_EQ(event_loop_init(&f->loop), 0);
    CHECK_EQ(event_loop_add(&f->loop, f->quit[0], EPOLLIN, on_quit, &f->loop), 0);
    CHECK_EQ(console_out_init(&f->co, f->out[1], &f->loop), 0);
    pthread_create(&f->thread, NULL, run_loop, &f->loop);
}

/* Ends the loop (it must still answer), then the console. */
static void fixture_stop_loop(struct fixture *f)
{
    CHECK(write(f->quit[1], "q", 1) == 1);
    pthread_join(f->thread, NULL);
}

static void fixture_close(struct fixture *f)
{
    event_loop_destroy(&f->loop);
    close(f->out[0]);
    close(f->out[1]);
    close(f->quit[0]);
    close(f->quit[1]);
}

/*
 * Nobody reads the output (a pty with no terminal attached): the main loop
 * must keep serving other events, pushing vCPUs must not wait more than one
 * stall, and every byte ends up either written or counted as dropped.
 */
static void test_stuck_reader(void)
{
    struct fixture f;
    static uint8_t burst[3 * CONSOLE_OUT_BUF_SIZE];

    fixture_start(&f, 4096);
    memset(burst, 'z', sizeof(burst));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t off = 0; off < sizeof(burst); off += 512)
        CHECK_EQ(console_out_push(&f.co, burst + off, 512), 512);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double pushed_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(pushed_s < 2.0); /* a stall or two, then immediate drops */

    fixture_stop_loop(&f);
    console_out_destroy(&f.co); /* must not block on the full pipe either */
    static char chunk[sizeof(burst)];
    uint64_t in_pipe = read_all(f.out[0], chunk, sizeof(chunk));
    CHECK(f.co.dropped > 0);
    CHECK_EQ(in_pipe + f.co.dropped, sizeof(burst));
    fixture_close(&f);
}

/* Bytes pushed one by one are written together by the loop after the timer;
 * what is still buffered when the VM stops is written on destroy, in order. */
static void test_coalesce_and_final_drain(void)
{
    struct fixture f;
    char buf[256];

    fixture_start(&f, 0);
    const char *msg = "hello, console\n";
    for (const char *c = msg; *c; c++)
        CHECK_EQ(console_out_push(&f.co, (const uint8_t *)c, 1), 1);
    usleep(5 * CONSOLE_OUT_FLUSH_MS * 1000);
    size_t n = read_all(f.out[0], buf, sizeof(buf));
    CHECK_EQ(n, strlen(msg));
    CHECK(memcmp(buf, msg, n) == 0);
    fixture_stop_loop(&f);

    CHECK_EQ(console_out_push(&f.co, (const uint8_t *)"abc", 3), 3);
    CHECK_EQ(console_out_push(&f.co, (const uint8_t *)"def", 3), 3);
    console_out_destroy(&f.co);
    n = read_all(f.out[0], buf, sizeof(buf));
    CHECK_EQ(n, 6);
    CHECK(memcmp(buf, "abcdef", 6) == 0);
    CHECK_EQ(f.co.dropped, 0);
    fixture_close(&f);
}

int main(void)
{
    test_stuck_reader();
    test_coalesce_and_final_drain();
    return check_result("test_console_out");
}
