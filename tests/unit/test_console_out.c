/* SPDX-License-Identifier: MIT */
/* Buffered console output: coalescing timer, drain on destroy, ordering. */
#include <fcntl.h>
#include <sys/epoll.h>
#include <pthread.h>
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

int main(void)
{
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
