/* SPDX-License-Identifier: MIT */
/*
 * exit-cost [N]: what one VM exit costs this guest, measured from guest
 * userspace (bench/vfio uses it to split a vIOMMU's per-I/O cost).
 *
 *   cpuid  N CPUID instructions: an exit the hypervisor's kernel handles
 *          (KVM emulates CPUID) without going to the VMM process;
 *   mmio   N 32-bit reads of a page in the root bus's 32-bit PCI window
 *          that no device decodes (the top-most free page, from
 *          /proc/iomem), mapped through /dev/mem: an MMIO exit that KVM
 *          hands to the VMM process, which answers it as unassigned
 *          (sluice: all-ones, its log line rate-limited), the same kind of
 *          exit as a write to an emulated IOMMU's registers. (ECAM would be
 *          the natural target, but CONFIG_IO_STRICT_DEVMEM keeps /dev/mem
 *          off busy ranges.)
 *
 * Prints one line
 *     EXIT-COST n=N cpuid_ns=X mmio_ns=Y
 * (nanoseconds per operation, guest clock) and exits 0; 1 on failure, with
 * the reason on stderr. A read faster than a quarter of a CPUID exit did not
 * exit at all (the VMM backs that page with memory: QEMU q35 does for the
 * top of its window): mmio_ns=- then, and stderr says so.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ull
#define MAX_RANGES 512
#define FOUR_GIB (1ull << 32)

struct range {
    uint64_t start, end;
    unsigned depth; /* leading spaces / 2 in /proc/iomem */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t read_iomem(struct range *r, size_t max, char (*names)[64])
{
    FILE *f = fopen("/proc/iomem", "r");
    char line[256];
    size_t n = 0;
    if (!f)
        return 0;
    while (n < max && fgets(line, sizeof(line), f)) {
        unsigned long long start, end;
        unsigned spaces = 0;
        while (line[spaces] == ' ')
            spaces++;
        if (sscanf(line + spaces, "%llx-%llx", &start, &end) != 2)
            continue;
        const char *name = strstr(line, " : ");
        snprintf(names[n], sizeof(names[n]), "%s", name ? name + 3 : "");
        r[n++] = (struct range){ .start = start, .end = end, .depth = spaces / 2 };
    }
    fclose(f);
    return n;
}

/* Is [p, p + PAGE) clear of every range nested under window w? */
static int page_free(const struct range *r, size_t n, size_t w, uint64_t p)
{
    for (size_t i = w + 1; i < n && r[i].depth > r[w].depth; i++)
        if (r[i].start < p + PAGE && r[i].end >= p)
            return 0;
    return 1;
}

/* The top-most free page of the first 32-bit "PCI Bus 0000:00" window. */
static int free_window_page(uint64_t *page)
{
    static struct range r[MAX_RANGES];
    static char names[MAX_RANGES][64];
    size_t n = read_iomem(r, MAX_RANGES, names);
    for (size_t w = 0; w < n; w++) {
        if (!strstr(names[w], "PCI Bus 0000:00") || r[w].end >= FOUR_GIB ||
            r[w].end - r[w].start < 16 * PAGE)
            continue;
        for (uint64_t p = (r[w].end + 1 - PAGE) & ~(PAGE - 1); p >= r[w].start; p -= PAGE) {
            if (page_free(r, n, w, p)) {
                *page = p;
                return 0;
            }
        }
    }
    return -1;
}

static double per_op_cpuid(unsigned n)
{
    unsigned a, b, c, d, sink = 0;
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++) {
        __cpuid(0, a, b, c, d);
        sink += a + b + c + d;
    }
    uint64_t t1 = now_ns();
    if (sink == 1)
        fputc(' ', stderr); /* keep the loop */
    return (double)(t1 - t0) / n;
}

static int per_op_mmio(unsigned n, double *out)
{
    uint64_t base;
    if (free_window_page(&base)) {
        fprintf(stderr, "exit-cost: no free page in a 32-bit PCI window (/proc/iomem)\n");
        return -1;
    }
    int fd = open("/dev/mem", O_RDONLY | O_SYNC);
    if (fd < 0) {
        perror("exit-cost: /dev/mem");
        return -1;
    }
    void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, (off_t)base);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "exit-cost: mmap of /dev/mem at 0x%llx: %s\n",
                (unsigned long long)base, strerror(errno));
        return -1;
    }
    volatile const uint32_t *reg = p;
    uint32_t acc = *reg; /* the first access may log; keep it out */
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++)
        acc ^= *reg;
    uint64_t t1 = now_ns();
    munmap(p, PAGE);
    if (acc == 0x5a5a5a5a)
        fputc(' ', stderr); /* keep the loop */
    *out = (double)(t1 - t0) / n;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 2000;
    double mmio;
    if (n == 0) {
        fprintf(stderr, "usage: exit-cost [N > 0]\n");
        return 1;
    }
    (void)per_op_cpuid(n / 10 + 1); /* warm up */
    double cpuid = per_op_cpuid(n);
    if (per_op_mmio(n, &mmio))
        return 1;
    if (mmio < cpuid / 4) {
        fprintf(stderr, "exit-cost: the window page reads in %.0f ns: backed, not trapped\n", mmio);
        printf("EXIT-COST n=%u cpuid_ns=%.0f mmio_ns=-\n", n, cpuid);
    } else {
        printf("EXIT-COST n=%u cpuid_ns=%.0f mmio_ns=%.0f\n", n, cpuid, mmio);
    }
    return 0;
}
