/* SPDX-License-Identifier: MIT */
/*
 * nvme-randread: 4 KiB random reads with O_DIRECT at a fixed queue depth on
 * a block device for a number of seconds; prints the IOPS. The VFIO
 * benchmark's (bench/vfio) and the VFIO scenarios' load generator, for the
 * busybox guest, where there is no fio.
 *
 *   nvme-randread DEV [SECONDS [QD]]      defaults: 10 s, queue depth 32
 *
 * One thread keeps QD reads in flight through io_uring (raw syscalls, no
 * liburing): IORING_OP_READ on 4 KiB-aligned random offsets (xorshift64*,
 * fixed seed: the same offset stream every run), one buffer per slot, each
 * completion resubmits its slot until the time is up. When io_uring is not
 * available (ENOSYS, EPERM: kernel.io_uring_disabled) it falls back to QD
 * threads doing synchronous pread and says so ("engine=threads").
 *
 * Prints one line on stdout and exits 0:
 *     NVME-RANDREAD engine=io_uring qd=32 secs=10.00 ops=N iops=N
 * Any read error or short read ends the run: a message on stderr, exit 1
 * (usage: 2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/io_uring.h>

#define BS 4096u
#define MAX_QD 256u
#define DEFAULT_SECS 10.0
#define DEFAULT_QD 32u
#define EXIT_USAGE 2
#define SEED 0x9e3779b97f4a7c15ULL

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: a reproducible offset stream. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

struct target {
    int fd;
    uint64_t blocks; /* BS blocks on the device */
    double secs;
    unsigned qd;
};

/* ---- io_uring (raw syscalls) --------------------------------------------- */

struct ring {
    int fd;
    void *sq_ptr, *cq_ptr;
    size_t sq_len, cq_len;
    struct io_uring_sqe *sqes;
    size_t sqes_len;
    _Atomic unsigned *sq_head, *sq_tail, *cq_head, *cq_tail;
    unsigned *sq_mask, *sq_array, *cq_mask;
    struct io_uring_cqe *cqes;
};

static int ring_setup(struct ring *r, unsigned entries)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
    if (r->fd < 0)
        return -errno;
    r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sq_ptr = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                     IORING_OFF_SQ_RING);
    r->cq_ptr = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                     IORING_OFF_CQ_RING);
    r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                   IORING_OFF_SQES);
    if (r->sq_ptr == MAP_FAILED || r->cq_ptr == MAP_FAILED || r->sqes == MAP_FAILED) {
        int err = errno;
        close(r->fd);
        return -err;
    }
    char *sq = r->sq_ptr, *cq = r->cq_ptr;
    r->sq_head = (_Atomic unsigned *)(sq + p.sq_off.head);
    r->sq_tail = (_Atomic unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (_Atomic unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (_Atomic unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return 0;
}

static void ring_free(struct ring *r)
{
    munmap(r->sqes, r->sqes_len);
    munmap(r->cq_ptr, r->cq_len);
    munmap(r->sq_ptr, r->sq_len);
    close(r->fd);
}

/* Queue a read of a random block into slot's buffer (not yet submitted). */
static void ring_queue_read(struct ring *r, const struct target *t, void *buf, unsigned slot,
                            uint64_t *seed)
{
    unsigned tail = atomic_load_explicit(r->sq_tail, memory_order_relaxed);
    unsigned idx = tail & *r->sq_mask;
    struct io_uring_sqe *sqe = &r->sqes[idx];
    memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = IORING_OP_READ;
    sqe->fd = t->fd;
    sqe->addr = (uint64_t)(uintptr_t)buf;
    sqe->len = BS;
    sqe->off = (next_rand(seed) % t->blocks) * BS;
    sqe->user_data = slot;
    r->sq_array[idx] = idx;
    atomic_store_explicit(r->sq_tail, tail + 1, memory_order_release);
}

static int ring_enter(struct ring *r, unsigned submit, unsigned wait)
{
    for (;;) {
        long n = syscall(__NR_io_uring_enter, r->fd, submit, wait,
                         wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
        if (n >= 0)
            return (int)n;
        if (errno != EINTR)
            return -errno;
    }
}

/* Returns ops done, or -1 after printing why. */
static int64_t run_uring(struct ring *r, const struct target *t, char *bufs)
{
    uint64_t seed = SEED;
    int64_t ops = 0;
    unsigned inflight = 0;
    double deadline = now() + t->secs;
    bool stop = false;

    for (unsigned i = 0; i < t->qd; i++)
        ring_queue_read(r, t, bufs + (size_t)i * BS, i, &seed);
    unsigned to_submit = t->qd;
    while (!stop || inflight) {
        int n = ring_enter(r, to_submit, 1);
        if (n < 0) {
            fprintf(stderr, "nvme-randread: io_uring_enter: %s\n", strerror(-n));
            return -1;
        }
        inflight += (unsigned)n;
        to_submit -= (unsigned)n;
        unsigned head = atomic_load_explicit(r->cq_head, memory_order_relaxed);
        unsigned tail = atomic_load_explicit(r->cq_tail, memory_order_acquire);
        stop = stop || now() >= deadline;
        for (; head != tail; head++) {
            struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
            if (cqe->res != (int)BS) {
                fprintf(stderr, "nvme-randread: read: %s\n",
                        cqe->res < 0 ? strerror(-cqe->res) : "short read");
                return -1;
            }
            inflight--;
            ops++;
            if (!stop) {
                unsigned slot = (unsigned)cqe->user_data;
                ring_queue_read(r, t, bufs + (size_t)slot * BS, slot, &seed);
                to_submit++;
            }
        }
        atomic_store_explicit(r->cq_head, head, memory_order_release);
    }
    return ops;
}

/* ---- fallback: QD threads doing pread ------------------------------------ */

struct worker {
    pthread_t tid;
    const struct target *t;
    double deadline;
    uint64_t seed;
    int64_t ops;
    int err; /* errno, or -1 for a short read */
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    void *buf;
    if (posix_memalign(&buf, BS, BS)) {
        w->err = ENOMEM;
        return NULL;
    }
    while (now() < w->deadline) {
        off_t off = (off_t)((next_rand(&w->seed) % w->t->blocks) * BS);
        ssize_t n = pread(w->t->fd, buf, BS, off);
        if (n != (ssize_t)BS) {
            w->err = n < 0 ? errno : -1;
            break;
        }
        w->ops++;
    }
    free(buf);
    return NULL;
}

static int64_t run_threads(const struct target *t)
{
    static struct worker w[MAX_QD];
    double deadline = now() + t->secs;
    int64_t ops = 0;
    int bad = 0;
    for (unsigned i = 0; i < t->qd; i++) {
        w[i] = (struct worker){ .t = t, .deadline = deadline, .seed = SEED + i };
        if (pthread_create(&w[i].tid, NULL, worker_run, &w[i])) {
            fprintf(stderr, "nvme-randread: cannot start thread %u\n", i);
            return -1;
        }
    }
    for (unsigned i = 0; i < t->qd; i++) {
        pthread_join(w[i].tid, NULL);
        ops += w[i].ops;
        if (w[i].err && !bad) {
            fprintf(stderr, "nvme-randread: read: %s\n",
                    w[i].err < 0 ? "short read" : strerror(w[i].err));
            bad = 1;
        }
    }
    return bad ? -1 : ops;
}

/* ---- main ---------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: nvme-randread DEV [SECONDS [QD]]  (QD 1..%u, default %u)\n", MAX_QD,
            DEFAULT_QD);
    return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct target *t)
{
    char *end;
    t->secs = DEFAULT_SECS;
    t->qd = DEFAULT_QD;
    if (argc < 2 || argc > 4)
        return -1;
    if (argc > 2) {
        t->secs = strtod(argv[2], &end);
        if (*end || !(t->secs > 0))
            return -1;
    }
    if (argc > 3) {
        unsigned long qd = strtoul(argv[3], &end, 10);
        if (*end || qd < 1 || qd > MAX_QD)
            return -1;
        t->qd = (unsigned)qd;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct target t;
    if (parse_args(argc, argv, &t))
        return usage();
    t.fd = open(argv[1], O_RDONLY | O_DIRECT);
    if (t.fd < 0) {
        fprintf(stderr, "nvme-randread: open %s: %s\n", argv[1], strerror(errno));
        return EXIT_FAILURE;
    }
    uint64_t bytes = 0;
    struct stat st;
    if (fstat(t.fd, &st) == 0 && S_ISREG(st.st_mode))
        bytes = (uint64_t)st.st_size; /* a file: for trying the tool out */
    else if (ioctl(t.fd, BLKGETSIZE64, &bytes))
        bytes = 0;
    if (bytes < BS) {
        fprintf(stderr, "nvme-randread: %s: not a block device of at least 4 KiB\n", argv[1]);
        return EXIT_FAILURE;
    }
    t.blocks = bytes / BS;

    const char *engine = "io_uring";
    int64_t ops;
    double start = now();
    struct ring r;
    int err = ring_setup(&r, t.qd);
    if (!err) {
        char *bufs = NULL;
        if (posix_memalign((void **)&bufs, BS, (size_t)t.qd * BS)) {
            fprintf(stderr, "nvme-randread: out of memory\n");
            return EXIT_FAILURE;
        }
        start = now();
        ops = run_uring(&r, &t, bufs);
        ring_free(&r);
        free(bufs);
    } else {
        engine = "threads";
        fprintf(stderr, "nvme-randread: io_uring unavailable (%s): %u threads doing pread\n",
                strerror(-err), t.qd);
        start = now();
        ops = run_threads(&t);
    }
    double secs = now() - start;
    close(t.fd);
    if (ops < 0)
        return EXIT_FAILURE;
    printf("NVME-RANDREAD engine=%s qd=%u secs=%.2f ops=%" PRId64 " iops=%.0f\n", engine, t.qd,
           secs, ops, (double)ops / secs);
    return EXIT_SUCCESS;
}
