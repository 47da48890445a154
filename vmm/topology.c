/* SPDX-License-Identifier: MIT */
#include "vmm/topology.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned topology_bits(uint64_t n)
{
    unsigned bits = 0;
    while (bits < 64 && (1ull << bits) < n)
        bits++;
    return bits;
}

static int topology_dense(unsigned ncpus, struct topology *t)
{
    t->threads_per_core = 1;
    t->cores_per_socket = ncpus;
    t->smt_shift = 0;
    t->pkg_shift = topology_bits(ncpus);
    for (unsigned i = 0; i < ncpus; i++)
        t->apic_ids[i] = i;
    return 0;
}

static int topology_smp(const struct topology_request *r, struct topology *t, char *err,
                        size_t errlen)
{
    unsigned tbits = topology_bits(r->threads), cbits = topology_bits(r->cores);
    uint64_t span = 1ull << (tbits + cbits);
    uint64_t stride = r->apic_id_stride ? r->apic_id_stride : span;

    if (stride & (stride - 1) || stride < span) {
        snprintf(err, errlen, "--topology: apic-id-stride=%llu must be a power of two of at least "
                 "%llu (cores x threads, each rounded up to a power of two)",
                 (unsigned long long)stride, (unsigned long long)span);
        return -EINVAL;
    }
    uint64_t last = (uint64_t)(r->sockets - 1) * stride + span - 1;
    if (last > TOPOLOGY_MAX_APIC_ID) {
        snprintf(err, errlen, "--topology: APIC IDs would reach %llu, above the x2APIC limit %u",
                 (unsigned long long)last, TOPOLOGY_MAX_APIC_ID);
        return -EINVAL;
    }
    t->threads_per_core = r->threads;
    t->cores_per_socket = r->cores;
    t->smt_shift = tbits;
    t->pkg_shift = topology_bits(stride);
    unsigned i = 0;
    for (unsigned s = 0; s < r->sockets; s++)
        for (unsigned c = 0; c < r->cores; c++)
            for (unsigned th = 0; th < r->threads; th++)
                t->apic_ids[i++] = (uint32_t)(s * stride + ((uint64_t)c << tbits) + th);
    return 0;
}

static int topology_list(const struct topology_request *r, struct topology *t, char *err,
                         size_t errlen)
{
    uint32_t max = 0;
    for (unsigned i = 0; i < r->ncpus; i++) {
        uint32_t id = r->ids[i];
        if (id > TOPOLOGY_MAX_APIC_ID) {
            snprintf(err, errlen, "--apic-ids: %u is the x2APIC broadcast ID; use %u or less", id,
                     TOPOLOGY_MAX_APIC_ID);
            return -EINVAL;
        }
        /* the MADT describes xAPIC IDs with 8-bit processor UIDs (the vCPU index) */
        if (id <= TOPOLOGY_XAPIC_MAX_ID && i > TOPOLOGY_XAPIC_MAX_ID) {
            snprintf(err, errlen, "--apic-ids: APIC ID %u is entry %u; IDs below 255 must be among "
                     "the first 255 entries", id, i);
            return -EINVAL;
        }
        for (unsigned j = 0; j < i; j++) {
            if (r->ids[j] == id) {
                snprintf(err, errlen, "--apic-ids: APIC ID %u is given twice", id);
                return -EINVAL;
            }
        }
        max = id > max ? id : max;
        t->apic_ids[i] = id;
    }
    t->threads_per_core = 1;
    t->cores_per_socket = r->ncpus;
    t->smt_shift = 0;
    t->pkg_shift = topology_bits((uint64_t)max + 1);
    return 0;
}

/* The vCPU count of a request (0 when a count is missing). */
static uint64_t topology_count(const struct topology_request *r)
{
    if (r->mode == TOPOLOGY_SMP) {
        if (r->sockets > TOPOLOGY_MAX_CPUS || r->cores > TOPOLOGY_MAX_CPUS ||
            r->threads > TOPOLOGY_MAX_CPUS)
            return UINT64_MAX; /* too many, and the product must not wrap */
        return (uint64_t)r->sockets * r->cores * r->threads;
    }
    return r->ncpus;
}

int topology_compute(const struct topology_request *r, struct topology *t, char *err,
                     size_t errlen)
{
    uint64_t n = topology_count(r);
    int ret;

    memset(t, 0, sizeof(*t));
    if (n == 0 || n > TOPOLOGY_MAX_CPUS || (r->mode == TOPOLOGY_LIST && !r->ids)) {
        if (n == UINT64_MAX)
            snprintf(err, errlen, "topology: too many vCPUs; use 1 to %d", TOPOLOGY_MAX_CPUS);
        else
            snprintf(err, errlen, "topology: %llu vCPUs; use 1 to %d", (unsigned long long)n,
                     TOPOLOGY_MAX_CPUS);
        return -EINVAL;
    }
    t->ncpus = (unsigned)n;
    switch (r->mode) {
    case TOPOLOGY_DENSE: ret = topology_dense(t->ncpus, t); break;
    case TOPOLOGY_SMP: ret = topology_smp(r, t, err, errlen); break;
    case TOPOLOGY_LIST: ret = topology_list(r, t, err, errlen); break;
    default:
        snprintf(err, errlen, "topology: unknown mode %d", (int)r->mode);
        ret = -EINVAL;
        break;
    }
    if (ret)
        return ret;
    for (unsigned i = 0; i < t->ncpus; i++)
        t->max_apic_id = t->apic_ids[i] > t->max_apic_id ? t->apic_ids[i] : t->max_apic_id;
    return 0;
}
