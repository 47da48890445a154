/* SPDX-License-Identifier: MIT */
#include "vmm/cpuid.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* "AuthenticAMD" / "HygonGenuine" in EBX of leaf 0 */
#define CPUID_VENDOR_AMD_EBX 0x68747541u
#define CPUID_VENDOR_HYGON_EBX 0x6f677948u

unsigned cpuid_core_id_bits(unsigned n)
{
    unsigned bits = 0;
    while ((1u << bits) < n)
        bits++;
    return bits;
}

static bool cpuid_is_amd(const struct kvm_cpuid2 *c)
{
    for (unsigned i = 0; i < c->nent; i++)
        if (c->entries[i].function == CPUID_LEAF_VENDOR)
            return c->entries[i].ebx == CPUID_VENDOR_AMD_EBX ||
                   c->entries[i].ebx == CPUID_VENDOR_HYGON_EBX;
    return false;
}

static void cpuid_patch_features(struct kvm_cpuid_entry2 *e, const struct cpuid_topology *t)
{
    unsigned logical = 1u << cpuid_core_id_bits(t->ncpus);
    e->ebx &= ~(CPUID_1_EBX_APIC_ID_MASK | CPUID_1_EBX_LOGICAL_COUNT_MASK);
    e->ebx |= (t->apic_id & 0xffu) << CPUID_1_EBX_APIC_ID_SHIFT;
    e->ebx |= (logical > 0xff ? 0xffu : logical) << CPUID_1_EBX_LOGICAL_COUNT_SHIFT;
    e->ecx |= CPUID_1_ECX_HYPERVISOR;
    if (t->ncpus > 1)
        e->edx |= CPUID_1_EDX_HTT;
    else
        e->edx &= ~CPUID_1_EDX_HTT;
}

/* Intel leaf 4: cores per package, and which caches are shared by all cores. */
static void cpuid_patch_cache_params(struct kvm_cpuid_entry2 *e, const struct cpuid_topology *t)
{
    unsigned core_max = (1u << cpuid_core_id_bits(t->ncpus)) - 1;
    if ((e->eax & CPUID_4_EAX_CACHE_TYPE_MASK) == 0)
        return; /* no more caches */
    unsigned level = (e->eax & CPUID_4_EAX_CACHE_LEVEL_MASK) >> CPUID_4_EAX_CACHE_LEVEL_SHIFT;
    e->eax &= (1u << CPUID_4_EAX_CORES_SHIFT) - 1;
    e->eax |= core_max << CPUID_4_EAX_CORES_SHIFT;
    e->eax &= ~CPUID_4_EAX_SHARING_MASK;
    if (level >= 3)
        e->eax |= (core_max & 0xfffu) << CPUID_4_EAX_SHARING_SHIFT;
}

/* Leaves 0xB/0x1F: SMT level (1 thread per core) then core level (ncpus). */
static void cpuid_patch_ext_topology(struct kvm_cpuid_entry2 *e, const struct cpuid_topology *t)
{
    e->edx = t->apic_id;
    e->ecx = e->index & 0xffu;
    switch (e->index) {
    case 0:
        e->eax = 0;
        e->ebx = 1;
        e->ecx |= CPUID_TOPO_LEVEL_SMT << CPUID_TOPO_ECX_TYPE_SHIFT;
        break;
    case 1:
        e->eax = cpuid_core_id_bits(t->ncpus);
        e->ebx = t->ncpus;
        e->ecx |= CPUID_TOPO_LEVEL_CORE << CPUID_TOPO_ECX_TYPE_SHIFT;
        break;
    default:
        e->eax = 0;
        e->ebx = 0;
        break;
    }
}

static void cpuid_patch_amd(struct kvm_cpuid_entry2 *e, const struct cpuid_topology *t)
{
    switch (e->function) {
    case CPUID_LEAF_EXT_FEATURES:
        if (t->ncpus > 1)
            e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
        else
            e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
        break;
    case CPUID_LEAF_ADDR_SIZES:
        e->ecx &= ~(CPUID_80000008_ECX_NC_MASK | CPUID_80000008_ECX_CORE_ID_SIZE_MASK);
        e->ecx |= (t->ncpus - 1) & CPUID_80000008_ECX_NC_MASK;
        e->ecx |= cpuid_core_id_bits(t->ncpus) << CPUID_80000008_ECX_CORE_ID_SIZE_SHIFT;
        break;
    case CPUID_LEAF_AMD_TOPOLOGY_EXT:
        e->eax = t->apic_id;       /* extended APIC ID */
        e->ebx = t->apic_id & 0xff; /* compute unit id; threads per unit - 1 = 0 */
        e->ecx = 0;                 /* node 0, one node per package */
        e->edx = 0;
        break;
    default:
        break;
    }
}

static void cpuid_patch_entry(struct kvm_cpuid_entry2 *e, const struct cpuid_topology *t, bool amd)
{
    switch (e->function) {
    case CPUID_LEAF_FEATURES:
        cpuid_patch_features(e, t);
        break;
    case CPUID_LEAF_CACHE_PARAMS:
        if (!amd)
            cpuid_patch_cache_params(e, t);
        break;
    case CPUID_LEAF_EXT_TOPOLOGY:
    case CPUID_LEAF_V2_EXT_TOPOLOGY:
        cpuid_patch_ext_topology(e, t);
        break;
    default:
        if (amd)
            cpuid_patch_amd(e, t);
        break;
    }
}

/* The topology leaves sluice does not describe (AMD 0x80000026) are dropped so
 * the guest falls back to the leaves it does describe. */
static bool cpuid_keep_entry(const struct kvm_cpuid_entry2 *e)
{
    return e->function != CPUID_LEAF_AMD_EXT_TOPOLOGY_V2;
}

int cpuid_build(const struct kvm_cpuid2 *supported, const struct cpuid_topology *topo,
                struct kvm_cpuid2 **out)
{
    if (topo->ncpus == 0)
        return -EINVAL;
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + supported->nent * sizeof(c->entries[0]));
    if (!c)
        return -ENOMEM;
    bool amd = cpuid_is_amd(supported);
    for (unsigned i = 0; i < supported->nent; i++) {
        if (!cpuid_keep_entry(&supported->entries[i]))
            continue;
        struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
        *e = supported->entries[i];
        cpuid_patch_entry(e, topo, amd);
    }
    *out = c;
    return 0;
}
