// randread: the block benchmark's guest-side load generator (bench/virtio).
// Built statically on the development machine and put in the guest's
// initramfs, where there is no fio.
//
//   randread rand DEV SECONDS THREADS   4 KiB O_DIRECT reads at random
//                                       4 KiB-aligned offsets, THREADS
//                                       synchronous readers (= queue depth)
//   randread seq DEV                    one pass over DEV, 1 MiB O_DIRECT
//                                       reads, one reader
//
// Prints one line: "ops=N bytes=N secs=S iops=N mbs=N" and exits 0, or a
// message on stderr and exits 1 (any read error ends the run).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { RAND_BS = 4096, SEQ_BS = 1 << 20, ALIGN = 4096, MAX_THREADS = 64 };

struct job {
	int fd;
	uint64_t blocks; // RAND_BS blocks on the device
	double deadline; // CLOCK_MONOTONIC seconds
	uint64_t seed;
	uint64_t ops;
	int err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

// xorshift64*: a different, reproducible offset stream per thread.
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void *rand_reader(void *arg)
{
	struct job *j = arg;
	void *buf;

	if (posix_memalign(&buf, ALIGN, RAND_BS)) {
		j->err = ENOMEM;
		return NULL;
	}
	while (now() < j->deadline) {
		// Check the clock every 64 reads only.
		for (int i = 0; i < 64; i++) {
			off_t off = (off_t)(next_rand(&j->seed) % j->blocks) * RAND_BS;

			if (pread(j->fd, buf, RAND_BS, off) != RAND_BS) {
				j->err = errno ? errno : EIO;
				goto out;
			}
			j->ops++;
		}
	}
out:
	free(buf);
	return NULL;
}

static int open_dev(const char *dev, uint64_t *bytes)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);

	if (fd < 0) {
		fprintf(stderr, "randread: %s: %s\n", dev, strerror(errno));
		return -1;
	}
	// Block devices and regular files alike.
	off_t end = lseek(fd, 0, SEEK_END);

	*bytes = end > 0 ? (uint64_t)end : 0;
	if (*bytes < SEQ_BS) {
		fprintf(stderr, "randread: %s: no usable size\n", dev);
		close(fd);
		return -1;
	}
	return fd;
}

static void report(uint64_t ops, uint64_t bytes, double secs)
{
	printf("ops=%llu bytes=%llu secs=%.3f iops=%.0f mbs=%.1f\n", (unsigned long long)ops,
	       (unsigned long long)bytes, secs, ops / secs, bytes / secs / 1e6);
}

static int run_rand(const char *dev, double secs, int threads)
{
	struct job jobs[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	uint64_t bytes, ops = 0;
	int fd = open_dev(dev, &bytes), err = 0;
	double t0;

	if (fd < 0)
		return 1;
	t0 = now();
	for (int i = 0; i < threads; i++) {
		jobs[i] = (struct job){ .fd = fd, .blocks = bytes / RAND_BS, .deadline = t0 + secs,
					.seed = 0x9E3779B97F4A7C15ULL * (i + 1) };
		if (pthread_create(&tids[i], NULL, rand_reader, &jobs[i])) {
			fprintf(stderr, "randread: cannot start thread %d\n", i);
			return 1;
		}
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		ops += jobs[i].ops;
		if (jobs[i].err)
			err = jobs[i].err;
	}
	secs = now() - t0;
	close(fd);
	if (err) {
		fprintf(stderr, "randread: read error: %s\n", strerror(err));
		return 1;
	}
	report(ops, ops * RAND_BS, secs);
	return 0;
}

static int run_seq(const char *dev)
{
	uint64_t bytes, done = 0, ops = 0;
	int fd = open_dev(dev, &bytes);
	void *buf;
	double t0;

	if (fd < 0 || posix_memalign(&buf, ALIGN, SEQ_BS))
		return 1;
	t0 = now();
	while (done + SEQ_BS <= bytes) {
		if (pread(fd, buf, SEQ_BS, (off_t)done) != SEQ_BS) {
			fprintf(stderr, "randread: read error at %llu: %s\n", (unsigned long long)done,
				strerror(errno));
			return 1;
		}
		done += SEQ_BS;
		ops++;
	}
	report(ops, done, now() - t0);
	free(buf);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "rand")) {
		int threads = atoi(argv[4]);
		double secs = atof(argv[3]);

		if (threads < 1 || threads > MAX_THREADS || secs <= 0) {
			fprintf(stderr, "randread: THREADS 1..%d, SECONDS > 0\n", MAX_THREADS);
			return 1;
		}
		return run_rand(argv[2], secs, threads);
	}
	if (argc == 3 && !strcmp(argv[1], "seq"))
		return run_seq(argv[2]);
	fprintf(stderr, "usage: randread rand DEV SECONDS THREADS | randread seq DEV\n");
	return 1;
}
