/* SPDX-License-Identifier: MIT */
/*
 * vCPU topology: which (x2)APIC ID each vCPU gets, and how those IDs split
 * into package / core / thread fields for the CPUID topology leaves.
 *
 * Pure computation, no KVM: the CLI fills a struct topology_request, then
 * topology_compute() produces the IDs the MADT, CPUID and KVM_CREATE_VCPU use.
 *
 * Sockets/cores/threads number the vCPUs the way real x86 does (Intel SDM
 * vol. 3 "Identifying topological relationships", AMD APM vol. 2 "Extended
 * APIC ID"): each field is as wide as its count rounded up to a power of two,
 *     APIC ID = socket << (core_bits + thread_bits) | core << thread_bits | thread
 * so sockets=2,cores=3 gives 0,1,2,4,5,6. `apic_id_stride` widens the socket
 * field's shift (a power of two >= the rounded cores*threads span): with
 * sockets=2,cores=2,apic_id_stride=256 the IDs are 0,1,256,257.
 *
 * An explicit list (e.g. 0,1,2,300) is described as one socket of single-
 * thread cores whose core field is wide enough for the largest ID. IDs up to
 * TOPOLOGY_XAPIC_MAX_ID must be among the first 255 entries: the MADT gives
 * xAPIC processors 8-bit UIDs (the vCPU index).
 */
#ifndef SLUICE_VMM_TOPOLOGY_H
#define SLUICE_VMM_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOPOLOGY_MAX_CPUS 1024
/* 0xffffffff is the x2APIC broadcast ID. */
#define TOPOLOGY_MAX_APIC_ID 0xfffffffeu
/* The largest ID an xAPIC (8-bit) destination can address: 0xff is the
 * xAPIC broadcast. Anything above needs x2APIC interrupt remapping. */
#define TOPOLOGY_XAPIC_MAX_ID 254u

enum topology_mode {
    TOPOLOGY_DENSE = 0, /* one socket of `ncpus` single-thread cores, IDs 0..n-1 */
    TOPOLOGY_SMP,       /* sockets * cores * threads */
    TOPOLOGY_LIST,      /* explicit IDs */
};

struct topology_request {
    enum topology_mode mode;
    unsigned ncpus;              /* DENSE and LIST: vCPU count (LIST: entries in ids) */
    unsigned sockets, cores, threads; /* SMP: each >= 1 */
    uint64_t apic_id_stride;     /* SMP: 0 = the rounded cores*threads span */
    const uint32_t *ids;         /* LIST: ncpus entries, borrowed */
};

struct topology {
    unsigned ncpus;
    unsigned threads_per_core;   /* CPUID SMT level count */
    unsigned cores_per_socket;
    unsigned smt_shift;          /* thread field width (CPUID 0xB level 0 EAX) */
    unsigned pkg_shift;          /* thread + core field width (CPUID 0xB level 1 EAX) */
    uint32_t max_apic_id;
    uint32_t apic_ids[TOPOLOGY_MAX_CPUS]; /* vCPU index order; [0] is the boot vCPU */
};

/*
 * Compute `out` from `req`. Returns 0, or -EINVAL with one line in err:
 * counts of 0, more than TOPOLOGY_MAX_CPUS vCPUs, a stride that is not a
 * power of two or narrower than the cores*threads span, an ID above
 * TOPOLOGY_MAX_APIC_ID, duplicate IDs, a listed ID below 255 after entry 254.
 */
int topology_compute(const struct topology_request *req, struct topology *out, char *err,
                     size_t errlen) __attribute__((warn_unused_result));

/* Bits needed to number `n` things (ceil(log2(n))), 0 for n <= 1. */
unsigned topology_bits(uint64_t n);

/* Does any vCPU have an APIC ID above TOPOLOGY_XAPIC_MAX_ID? */
static inline bool topology_needs_x2apic(const struct topology *t)
{
    return t->max_apic_id > TOPOLOGY_XAPIC_MAX_ID;
}

#endif
