/* SPDX-License-Identifier: MIT */
/* Buffered console output: coalescing timer, drain on destroy, ordering. */
#include <fcntl.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "vmm/console_out.h"

struct loop_thread {
    struct event_loop *loop;
    int quit_fd;
};

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

/*
 * Nobody reads the output (a pty with no terminal attached): the main loop
 * must keep serving other events, pushing vCPUs must not wait more than one
 * stall, and every byte ends up either written or counted as dropped.
 */
static void test_stuck_reader(void)
{
    int p[2], quit[2];
    struct event_loop loop;
    struct console_out co;
    static uint8_t burst[3 * CONSOLE_OUT_BUF_SIZE];

    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    CHECK_EQ(pipe(quit), 0);
    CHECK_EQ(event_loop_init(&loop), 0);
    CHECK_EQ(event_loop_add(&loop, quit[0], EPOLLIN, on_quit, &loop), 0);
    CHECK_EQ(console_out_init(&co, p[1], &loop), 0);
    pthread_t t;
    pthread_create(&t, NULL, run_loop, &loop);

    memset(burst, 'z', sizeof(burst));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t off = 0; off < sizeof(burst); off += 512)
        CHECK_EQ(console_out_push(&co, burst + off, 512), 512);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double pushed_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(pushed_s < 2.0); /* a stall or two, then immediate drops */

    /* the loop still answers: the quit request ends it */
    CHECK(write(quit[1], "q", 1) == 1);
    pthread_join(t, NULL);
    console_out_destroy(&co); /* must not block on the full pipe either */

    char chunk[4096];
    uint64_t in_pipe = 0;
    ssize_t n;
    while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
        in_pipe += (uint64_t)n;
    CHECK(co.dropped > 0);
    CHECK_EQ(in_pipe + co.dropped, sizeof(burst));

    event_loop_destroy(&loop);
    close(p[0]);
    close(p[1]);
    close(quit[0]);
    close(quit[1]);
}

int main(void)
{
    test_stuck_reader();
    int p[2], quit[2];
    char buf[256];
    struct event_loop loop;
    struct console_out co;

    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    CHECK_EQ(pipe(quit), 0);
    CHECK_EQ(event_loop_init(&loop), 0);
    CHECK_EQ(event_loop_add(&loop, quit[0], EPOLLIN, on_quit, &loop), 0);
    CHECK_EQ(console_out_init(&co, p[1], &loop), 0);

    /* bytes pushed one by one are written together by the loop after the timer */
    pthread_t t;
    pthread_create(&t, NULL, run_loop, &loop);
    const char *msg = "hello, console\n";
    for (const char *c = msg; *c; c++)
        CHECK_EQ(console_out_push(&co, (const uint8_t *)c, 1), 1);
    usleep(5 * CONSOLE_OUT_FLUSH_MS * 1000);
    size_t n = read_all(p[0], buf, sizeof(buf));
    CHECK_EQ(n, strlen(msg));
    CHECK(memcmp(buf, msg, n) == 0);
    CHECK(write(quit[1], "q", 1) == 1);
    pthread_join(t, NULL);

    /* what is still buffered when the VM stops is written on destroy, in order */
    CHECK_EQ(console_out_push(&co, (const uint8_t *)"abc", 3), 3);
    CHECK_EQ(console_out_push(&co, (const uint8_t *)"def", 3), 3);
    console_out_destroy(&co);
    n = read_all(p[0], buf, sizeof(buf));
    CHECK_EQ(n, 6);
    CHECK(memcmp(buf, "abcdef", 6) == 0);
    CHECK_EQ(co.dropped, 0);

    event_loop_destroy(&loop);
    close(p[0]);
    close(p[1]);
    close(quit[0]);
    close(quit[1]);
    return check_result("test_console_out");
}
