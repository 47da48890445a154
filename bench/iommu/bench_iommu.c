/* SPDX-License-Identifier: MIT */
/*
 * Translation micro-benchmark for the AMD IOMMU model: nanoseconds per
 * translation through amdvi_translator() (the call every DMA behind the
 * IOMMU makes), single-threaded and with two threads, for
 *   - IOTLB hits: one page again and again, and a working set that fits the
 *     IOTLB;
 *   - misses with a 4-level v1 (host) walk: a working set 16x the IOTLB,
 *     visited in order, so (nearly) every translation walks;
 *   - misses with a 4-level v2 (guest, GCR3) walk, the same way;
 *   - the baseline: dma_map() on an identity dma_space (no IOMMU), and for
 *     reference dma_map() through the IOMMU on an IOTLB hit.
 * The IOMMU is programmed through its MMIO registers and guest RAM the way
 * a driver does it (public API only). Every case checks its first
 * translation and counts failures; the IOTLB hit rate actually seen is
 * printed beside each number. Results are medians of --runs runs.
 *
 * Usage: bench_iommu [--runs N] [--scale F]   (F multiplies iteration counts)
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iommu/amd/amdvi.h"
#include "iommu/amd/amdvi_pgtable.h"
#include "iommu/amd/amdvi_regs.h"
#include "iommu/dma.h"
#include "iommu/iotlb.h"
#include "vmm/layout.h"
#include "vmm/log.h"

/* Guest-physical layout of the fake RAM. */
#define RAM_SIZE (64ULL << 20)
#define DEV_TABLE 0x100000ULL
#define CMD_BUF 0x200000ULL
#define EVT_LOG 0x210000ULL
#define LOG_LEN 8ULL                        /* 256 entries */
#define DATA 0x400000ULL                    /* DATA_PAGES target pages */
#define DATA_PAGES 256u
#define PT_POOL 0x1000000ULL                /* page tables from here on */

#define DEV_V1 0x10u
#define DEV_V2 0x11u
#define DOMAIN_V1 1u
#define DOMAIN_V2 2u
#define V1_MODE 4u

#define HOT_IOVA 0x10000000ULL              /* working set that fits the IOTLB */
#define HOT_PAGES 1024u
#define COLD_IOVA 0x100000000ULL            /* working set 16x the IOTLB */
#define COLD_PAGES (16u * IOTLB_DEFAULT_CAPACITY)

#define MAX_THREADS 2u
#define MAX_RUNS 51u
#define HIT_ITERS 2000000ULL
#define MISS_ITERS 200000ULL

struct bench {
    uint8_t *ram;
    struct dma_ram_region region;
    struct amdvi *a;
    struct dma_translator tr;
    uint64_t pt_next;
};

/* ---- guest side: RAM, registers, tables ---------------------------------------- */

static void ram_w64(struct bench *b, uint64_t gpa, uint64_t v)
{
    v = htole64(v);
    memcpy(b->ram + gpa, &v, sizeof(v));
}

static uint64_t ram_r64(struct bench *b, uint64_t gpa)
{
    uint64_t v;

    memcpy(&v, b->ram + gpa, sizeof(v));
    return le64toh(v);
}

static void mmio_w64(struct bench *b, uint64_t off, uint64_t v)
{
    v = htole64(v);
    amdvi_mmio_ops.write(b->a, off, &v, sizeof(v));
}

static uint64_t pt_alloc(struct bench *b)
{
    uint64_t p = b->pt_next;

    b->pt_next += AMDVI_PT_PAGE_SIZE;
    if (b->pt_next > RAM_SIZE) {
        fprintf(stderr, "bench_iommu: page-table pool exhausted\n");
        abort();
    }
    return p; /* RAM is calloc'ed: already zero */
}

/* The next-level table of `slot`, created with `dir_bits` when absent. */
static uint64_t next_table(struct bench *b, uint64_t slot, uint64_t present, uint64_t dir_bits,
                           uint64_t addr_mask)
{
    uint64_t e = ram_r64(b, slot);

    if (e & present)
        return e & addr_mask;
    uint64_t t = pt_alloc(b);
    ram_w64(b, slot, t | dir_bits);
    return t;
}

static void map_v1(struct bench *b, uint64_t root, uint64_t iova, uint64_t gpa)
{
    uint64_t table = root;

    for (unsigned level = V1_MODE; level > 1; level--) {
        uint64_t slot = table + amdvi_pt_index(iova, level) * AMDVI_PT_ENTRY_SIZE;
        table = next_table(b, slot, AMDVI_PTE_PR,
                           AMDVI_PTE_PR | FIELD_PREP(AMDVI_PTE_NEXT_LEVEL, level - 1) |
                               AMDVI_PTE_IR | AMDVI_PTE_IW,
                           AMDVI_PTE_ADDR);
    }
    ram_w64(b, table + amdvi_pt_index(iova, 1) * AMDVI_PT_ENTRY_SIZE,
            gpa | AMDVI_PTE_PR | AMDVI_PTE_IR | AMDVI_PTE_IW);
}

static void map_v2(struct bench *b, uint64_t cr3, uint64_t iova, uint64_t gpa)
{
    const uint64_t dir = AMDVI_GPTE_P | AMDVI_GPTE_RW | AMDVI_GPTE_US | AMDVI_GPTE_A;
    uint64_t table = cr3;

    for (unsigned level = AMDVI_V2_LEVELS_4; level > 1; level--) {
        uint64_t slot = table + amdvi_pt_index(iova, level) * AMDVI_PT_ENTRY_SIZE;
        table = next_table(b, slot, AMDVI_GPTE_P, dir, AMDVI_GPTE_ADDR);
    }
    ram_w64(b, table + amdvi_pt_index(iova, 1) * AMDVI_PT_ENTRY_SIZE,
            gpa | AMDVI_GPTE_P | AMDVI_GPTE_RW | AMDVI_GPTE_US | AMDVI_GPTE_A | AMDVI_GPTE_D);
}

static void set_dte(struct bench *b, uint16_t devid, uint64_t q0, uint64_t q1)
{
    uint64_t at = DEV_TABLE + (uint64_t)devid * AMDVI_DTE_SIZE;

    ram_w64(b, at, q0);
    ram_w64(b, at + 8, q1);
}

static uint64_t data_page(unsigned i)
{
    return DATA + (uint64_t)(i % DATA_PAGES) * AMDVI_PT_PAGE_SIZE;
}

/* Device DEV_V1: v1 4-level tables; DEV_V2: v2 tables of PASID 0. Both map
 * the hot and the cold working set. */
static void build_tables(struct bench *b)
{
    uint64_t root = pt_alloc(b), gcr3 = pt_alloc(b), cr3 = pt_alloc(b);

    set_dte(b, DEV_V1,
            AMDVI_DTE_V | AMDVI_DTE_TV | AMDVI_DTE_IR | AMDVI_DTE_IW |
                FIELD_PREP(AMDVI_DTE_MODE, V1_MODE) | root,
            FIELD_PREP(AMDVI_DTE_DOMAIN_ID, DOMAIN_V1));
    ram_w64(b, gcr3, cr3 | AMDVI_GCR3_V);
    set_dte(b, DEV_V2,
            AMDVI_DTE_V | AMDVI_DTE_TV | AMDVI_DTE_IR | AMDVI_DTE_IW | AMDVI_DTE_GV |
                AMDVI_DTE_GIOV | FIELD_PREP(AMDVI_DTE_GCR3_A, gcr3 >> AMDVI_GCR3_A_SHIFT),
            FIELD_PREP(AMDVI_DTE_DOMAIN_ID, DOMAIN_V2) |
                FIELD_PREP(AMDVI_DTE_GCR3_B, gcr3 >> AMDVI_GCR3_B_SHIFT) |
                FIELD_PREP(AMDVI_DTE_GCR3_C, gcr3 >> AMDVI_GCR3_C_SHIFT));
    for (unsigned i = 0; i < HOT_PAGES; i++) {
        map_v1(b, root, HOT_IOVA + (uint64_t)i * AMDVI_PAGE_SIZE, data_page(i));
        map_v2(b, cr3, HOT_IOVA + (uint64_t)i * AMDVI_PAGE_SIZE, data_page(i));
    }
    for (unsigned i = 0; i < COLD_PAGES; i++) {
        map_v1(b, root, COLD_IOVA + (uint64_t)i * AMDVI_PAGE_SIZE, data_page(i));
        map_v2(b, cr3, COLD_IOVA + (uint64_t)i * AMDVI_PAGE_SIZE, data_page(i));
    }
}

static int bench_init(struct bench *b)
{
    struct amdvi_config cfg = {
        .mmio_base = LAYOUT_AMDVI_MMIO_BASE, .nram = 1, .guest_tables = true,
    };

    memset(b, 0, sizeof(*b));
    b->ram = calloc(1, RAM_SIZE);
    if (!b->ram)
        return -ENOMEM;
    b->region = (struct dma_ram_region){ .gpa = 0, .size = RAM_SIZE, .host = b->ram };
    cfg.ram = &b->region;
    int ret = amdvi_create(&cfg, &b->a);
    if (ret) {
        free(b->ram);
        return ret;
    }
    b->tr = amdvi_translator(b->a);
    b->pt_next = PT_POOL;
    build_tables(b);
    /* what Linux does: tables and buffers, pointers zero, then Control */
    mmio_w64(b, AMDVI_MMIO_DEV_TABLE_BASE, DEV_TABLE);          /* 128 entries */
    mmio_w64(b, AMDVI_MMIO_CMD_BUF_BASE, CMD_BUF | FIELD_PREP(AMDVI_LOG_LEN, LOG_LEN));
    mmio_w64(b, AMDVI_MMIO_EVENT_LOG_BASE, EVT_LOG | FIELD_PREP(AMDVI_LOG_LEN, LOG_LEN));
    mmio_w64(b, AMDVI_MMIO_CONTROL,
             AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_EVENT_LOG_EN | AMDVI_CTRL_CMDBUF_EN |
                 AMDVI_CTRL_COHERENT | AMDVI_CTRL_GT_EN);
    return 0;
}

static void bench_fini(struct bench *b)
{
    amdvi_destroy(b->a);
    free(b->ram);
}

/* ---- cases -------------------------------------------------------------------------- */

enum kind { K_TRANSLATE, K_DMA_MAP };

struct bench_case {
    const char *name;
    enum kind kind;
    bool iommu;          /* K_DMA_MAP: through the IOMMU, else identity */
    uint16_t rid;
    uint64_t iova;
    unsigned pages;      /* working set, visited in order */
    uint64_t iters;
};

struct worker {
    struct bench *b;
    const struct bench_case *c;
    unsigned start;      /* first page of this thread */
    uint64_t iters;
    uint64_t errors;
    uint64_t sum;
    pthread_barrier_t *go;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void run_translate(struct worker *w)
{
    const struct bench_case *c = w->c;
    struct dma_translator tr = w->b->tr;
    unsigned page = w->start;

    for (uint64_t i = 0; i < w->iters; i++) {
        uint64_t gpa, len;
        if (tr.translate(tr.opaque, c->rid, c->iova + (uint64_t)page * AMDVI_PAGE_SIZE, false,
                         &gpa, &len))
            w->errors++;
        w->sum += gpa;
        if (++page == c->pages)
            page = 0;
    }
}

static void run_dma_map(struct worker *w)
{
    const struct bench_case *c = w->c;
    struct dma_space as;
    unsigned page = w->start;

    if (dma_space_init(&as, &w->b->region, 1, c->rid)) {
        w->errors = w->iters;
        return;
    }
    if (c->iommu)
        dma_space_set_translator(&as, &w->b->tr);
    for (uint64_t i = 0; i < w->iters; i++) {
        uint64_t mapped;
        int err;
        void *p = dma_map(&as, c->iova + (uint64_t)page * AMDVI_PAGE_SIZE, AMDVI_PAGE_SIZE,
                          false, &mapped, &err);
        if (!p)
            w->errors++;
        w->sum += (uintptr_t)p;
        if (++page == c->pages)
            page = 0;
    }
}

static void *worker_main(void *opaque)
{
    struct worker *w = opaque;

    pthread_barrier_wait(w->go);
    if (w->c->kind == K_TRANSLATE)
        run_translate(w);
    else
        run_dma_map(w);
    pthread_barrier_wait(w->go);
    return NULL;
}

struct sample {
    double ns_per_op;    /* wall time / iterations of one thread */
    double mops;         /* all threads' iterations / wall time */
    double hit_rate;     /* IOTLB hits / lookups during the run (-1: none) */
    uint64_t errors;
};

/* One timed run of `c` with `nthreads` threads (thread t starts at page
 * t * pages / nthreads so threads do not walk in lockstep). */
static int run_once(struct bench *b, const struct bench_case *c, unsigned nthreads,
                    struct sample *s)
{
    pthread_t th[MAX_THREADS];
    struct worker w[MAX_THREADS];
    pthread_barrier_t go;
    struct amdvi_stats st0, st1;
    unsigned started = 0;

    if (pthread_barrier_init(&go, NULL, nthreads + 1))
        return -1;
    for (unsigned t = 0; t < nthreads; t++) {
        w[t] = (struct worker){ .b = b, .c = c, .start = t * c->pages / nthreads,
                                .iters = c->iters, .go = &go };
        if (pthread_create(&th[t], NULL, worker_main, &w[t]))
            break;
        started++;
    }
    if (started != nthreads) {
        fprintf(stderr, "bench_iommu: cannot start threads\n");
        abort(); /* the barrier would never open */
    }
    amdvi_get_stats(b->a, &st0);
    pthread_barrier_wait(&go);
    uint64_t t0 = now_ns();
    pthread_barrier_wait(&go);
    uint64_t t1 = now_ns();
    amdvi_get_stats(b->a, &st1);
    for (unsigned t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&go);

    uint64_t hits = st1.iotlb_hits - st0.iotlb_hits, misses = st1.iotlb_misses - st0.iotlb_misses;
    double wall = (double)(t1 - t0);
    s->ns_per_op = wall / (double)c->iters;
    s->mops = (double)c->iters * nthreads / wall * 1e3;
    s->hit_rate = hits + misses ? (double)hits / (double)(hits + misses) : -1.0;
    s->errors = 0;
    for (unsigned t = 0; t < nthreads; t++)
        s->errors += w[t].errors;
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return (a > b) - (a < b);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Check the case translates at all before timing it. */
static bool case_works(struct bench *b, const struct bench_case *c)
{
    uint64_t gpa = 0, len = 0;

    if (c->kind == K_DMA_MAP && !c->iommu)
        return true;
    if (b->tr.translate(b->tr.opaque, c->rid, c->iova, false, &gpa, &len) || gpa != data_page(0)) {
        fprintf(stderr, "bench_iommu: %s: first translation failed (gpa %#llx)\n", c->name,
                (unsigned long long)gpa);
        return false;
    }
    return true;
}

static int run_case(struct bench *b, const struct bench_case *c, unsigned nthreads,
                    unsigned runs)
{
    double ns[MAX_RUNS], mops[MAX_RUNS], hit[MAX_RUNS];
    uint64_t errors = 0;
    struct sample s;

    if (!case_works(b, c))
        return -1;
    for (unsigned r = 0; r < runs; r++) {
        if (run_once(b, c, nthreads, &s))
            return -1;
        ns[r] = s.ns_per_op;
        mops[r] = s.mops;
        hit[r] = s.hit_rate;
        errors += s.errors;
    }
    double min = ns[0], max = ns[0];
    for (unsigned r = 1; r < runs; r++) {
        min = ns[r] < min ? ns[r] : min;
        max = ns[r] > max ? ns[r] : max;
    }
    double h = median(hit, runs);
    char hitbuf[16] = "-";
    if (h >= 0)
        snprintf(hitbuf, sizeof(hitbuf), "%.1f%%", h * 100.0);
    printf("| %-40s | %7u | %9.1f | %7.1f-%-7.1f | %8.2f | %7s | %6llu |\n", c->name, nthreads,
           median(ns, runs), min, max, median(mops, runs), hitbuf, (unsigned long long)errors);
    fflush(stdout);
    return errors ? -1 : 0;
}

static int parse_args(int argc, char **argv, unsigned *runs, double *scale)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            *runs = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            *scale = strtod(argv[++i], NULL);
        else {
            fprintf(stderr, "usage: %s [--runs N (1..%u)] [--scale F]\n", argv[0], MAX_RUNS);
            return -1;
        }
    }
    if (*runs < 1 || *runs > MAX_RUNS || !(*scale > 0)) {
        fprintf(stderr, "bench_iommu: --runs must be 1..%u and --scale positive\n", MAX_RUNS);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned runs = 7;
    double scale = 1.0;
    struct bench b;
    int failed = 0;

    if (parse_args(argc, argv, &runs, &scale))
        return 2;
    uint64_t hit_iters = (uint64_t)(HIT_ITERS * scale), miss_iters = (uint64_t)(MISS_ITERS * scale);
    if (!hit_iters || !miss_iters)
        hit_iters = miss_iters = 1;
    const struct bench_case cases[] = {
        { "IOTLB hit, one page (v1)", K_TRANSLATE, true, DEV_V1, HOT_IOVA, 1, hit_iters },
        { "IOTLB hit, 1024-page set (v1)", K_TRANSLATE, true, DEV_V1, HOT_IOVA, HOT_PAGES,
          hit_iters },
        { "IOTLB hit, 1024-page set (v2)", K_TRANSLATE, true, DEV_V2, HOT_IOVA, HOT_PAGES,
          hit_iters },
        { "miss + v1 4-level walk (64Ki pages)", K_TRANSLATE, true, DEV_V1, COLD_IOVA,
          COLD_PAGES, miss_iters },
        { "miss + v2 4-level walk (64Ki pages)", K_TRANSLATE, true, DEV_V2, COLD_IOVA,
          COLD_PAGES, miss_iters },
        { "identity dma_map (no IOMMU), 1024 pages", K_DMA_MAP, false, DEV_V1, DATA, HOT_PAGES,
          hit_iters },
        { "dma_map via IOMMU, IOTLB hit (v1)", K_DMA_MAP, true, DEV_V1, HOT_IOVA, HOT_PAGES,
          hit_iters },
    };

    log_set_level(LOG_LEVEL_ERROR);
    if (bench_init(&b)) {
        fprintf(stderr, "bench_iommu: cannot create the IOMMU\n");
        return 1;
    }
    printf("runs per row: %u (median; min-max of ns/op)  IOTLB: %u entries  v1 mode %u, "
           "v2 4-level\n\n",
           runs, IOTLB_DEFAULT_CAPACITY, V1_MODE);
    printf("| %-40s | %7s | %9s | %-15s | %8s | %7s | %6s |\n", "case", "threads", "ns/op",
           "min-max", "Mops/s", "hit", "errors");
    printf("|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------------------------", "---------",
           "-----------", "-----------------", "----------", "---------", "--------");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (unsigned t = 1; t <= MAX_THREADS; t++)
            if (run_case(&b, &cases[i], t, runs))
                failed = 1;
    bench_fini(&b);
    return failed;
}
