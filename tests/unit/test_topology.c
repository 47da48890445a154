/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "tests/unit/check.h"
#include "vmm/topology.h"

static char err[256];
static struct topology t;

static void check_ids(const uint32_t *want, unsigned n)
{
    CHECK_EQ(t.ncpus, n);
    for (unsigned i = 0; i < n && i < t.ncpus; i++) {
        if (t.apic_ids[i] != want[i])
            fprintf(stderr, "  vCPU %u: APIC ID %u, want %u\n", i, t.apic_ids[i], want[i]);
        CHECK_EQ(t.apic_ids[i], want[i]);
    }
}

static void expect_error(int ret, const char *needle)
{
    CHECK_EQ(ret, -EINVAL);
    CHECK(strstr(err, needle) != NULL);
    CHECK(strchr(err, '\n') == NULL);
    if (!strstr(err, needle))
        fprintf(stderr, "  message was: %s\n", err);
}

static void test_bits(void)
{
    CHECK_EQ(topology_bits(0), 0);
    CHECK_EQ(topology_bits(1), 0);
    CHECK_EQ(topology_bits(2), 1);
    CHECK_EQ(topology_bits(3), 2);
    CHECK_EQ(topology_bits(256), 8);
    CHECK_EQ(topology_bits(257), 9);
    CHECK_EQ(topology_bits(1ull << 32), 32);
}

static void test_dense(void)
{
    struct topology_request r = {.mode = TOPOLOGY_DENSE, .ncpus = 5};
    static const uint32_t want[] = {0, 1, 2, 3, 4};
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    check_ids(want, 5);
    CHECK_EQ(t.smt_shift, 0);
    CHECK_EQ(t.pkg_shift, 3);
    CHECK_EQ(t.threads_per_core, 1);
    CHECK_EQ(t.cores_per_socket, 5);
    CHECK_EQ(t.max_apic_id, 4);
    CHECK(!topology_needs_x2apic(&t));

    r.ncpus = 1024;
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    CHECK_EQ(t.apic_ids[1023], 1023);
    CHECK_EQ(t.max_apic_id, 1023);
    CHECK_EQ(t.pkg_shift, 10);
    CHECK(topology_needs_x2apic(&t));

    r.ncpus = 255; /* IDs 0..254: still xAPIC-addressable */
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    CHECK(!topology_needs_x2apic(&t));
    r.ncpus = 256; /* ID 255 is the xAPIC broadcast */
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    CHECK(topology_needs_x2apic(&t));

    r.ncpus = 0;
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "0 vCPUs");
    r.ncpus = 1025;
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "1025 vCPUs");
}

static void test_smp(void)
{
    /* the example of the x86 manuals: 3 cores take a 2-bit field */
    struct topology_request r = {.mode = TOPOLOGY_SMP, .sockets = 2, .cores = 3, .threads = 1};
    static const uint32_t s2c3[] = {0, 1, 2, 4, 5, 6};
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    check_ids(s2c3, 6);
    CHECK_EQ(t.smt_shift, 0);
    CHECK_EQ(t.pkg_shift, 2);
    CHECK_EQ(t.cores_per_socket, 3);
    CHECK_EQ(t.max_apic_id, 6);

    /* threads: 3 threads take 2 bits, 3 cores 2 more */
    r = (struct topology_request){.mode = TOPOLOGY_SMP, .sockets = 2, .cores = 3, .threads = 3};
    static const uint32_t s2c3t3[] = {0,  1,  2,  4,  5,  6,  8,  9,  10,
                                      16, 17, 18, 20, 21, 22, 24, 25, 26};
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    check_ids(s2c3t3, 18);
    CHECK_EQ(t.smt_shift, 2);
    CHECK_EQ(t.pkg_shift, 4);
    CHECK_EQ(t.threads_per_core, 3);

    /* a small VM with IDs above 255 through a wide socket field */
    r = (struct topology_request){.mode = TOPOLOGY_SMP, .sockets = 2, .cores = 2, .threads = 1,
                                  .apic_id_stride = 256};
    static const uint32_t wide[] = {0, 1, 256, 257};
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    check_ids(wide, 4);
    CHECK_EQ(t.pkg_shift, 8);
    CHECK_EQ(t.max_apic_id, 257);
    CHECK(topology_needs_x2apic(&t));

    r.apic_id_stride = 96;
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "power of two");
    r.apic_id_stride = 1; /* narrower than the 2 cores */
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "at least 2");
    r.apic_id_stride = 1ull << 31;
    r.sockets = 3; /* socket 2 would start at 2^32 */
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "x2APIC limit");
    r = (struct topology_request){.mode = TOPOLOGY_SMP, .sockets = 2, .cores = 0, .threads = 1};
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "0 vCPUs");
    r = (struct topology_request){.mode = TOPOLOGY_SMP, .sockets = 4, .cores = 16, .threads = 32};
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "2048 vCPUs");
    r = (struct topology_request){.mode = TOPOLOGY_SMP, .sockets = 1u << 31, .cores = 1u << 31,
                                  .threads = 4};
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "too many");
}

static void test_list(void)
{
    static const uint32_t ids[] = {0, 1, 2, 300};
    struct topology_request r = {.mode = TOPOLOGY_LIST, .ncpus = 4, .ids = ids};
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    check_ids(ids, 4);
    CHECK_EQ(t.max_apic_id, 300);
    CHECK_EQ(t.pkg_shift, 9); /* every ID in package 0 */
    CHECK_EQ(t.smt_shift, 0);
    CHECK_EQ(t.cores_per_socket, 4);
    CHECK(topology_needs_x2apic(&t));

    static const uint32_t boot_high[] = {7, 3};
    r = (struct topology_request){.mode = TOPOLOGY_LIST, .ncpus = 2, .ids = boot_high};
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    check_ids(boot_high, 2);
    CHECK_EQ(t.pkg_shift, 3);

    static const uint32_t dup[] = {0, 5, 5};
    r = (struct topology_request){.mode = TOPOLOGY_LIST, .ncpus = 3, .ids = dup};
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "APIC ID 5 is given twice");
    static const uint32_t bcast[] = {0, 0xffffffffu};
    r = (struct topology_request){.mode = TOPOLOGY_LIST, .ncpus = 2, .ids = bcast};
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "broadcast");
    static const uint32_t top[] = {0xfffffffeu};
    r = (struct topology_request){.mode = TOPOLOGY_LIST, .ncpus = 1, .ids = top};
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    CHECK_EQ(t.pkg_shift, 32);
    /* 255 high IDs, then a low one: its Local APIC entry would need UID 255 */
    static uint32_t late_low[256];
    for (unsigned i = 0; i < 255; i++)
        late_low[i] = 1000 + i;
    late_low[255] = 4;
    r = (struct topology_request){.mode = TOPOLOGY_LIST, .ncpus = 256, .ids = late_low};
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "APIC ID 4 is entry 255");
    late_low[255] = 255; /* an x2APIC ID is fine there */
    CHECK_EQ(topology_compute(&r, &t, err, sizeof(err)), 0);
    r = (struct topology_request){.mode = TOPOLOGY_LIST, .ncpus = 2, .ids = NULL};
    expect_error(topology_compute(&r, &t, err, sizeof(err)), "vCPUs");
}

int main(void)
{
    test_bits();
    test_dense();
    test_smp();
    test_list();
    return check_result("test_topology");
}
