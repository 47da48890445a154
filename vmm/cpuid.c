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

/* Fill in the default topology (one package of single-thread cores) and clamp
 * the shifts to what the CPUID fields hold. */
static struct cpuid_topology cpuid_normalise(const struct cpuid_topology *in)
{
    struct cpuid_topology t = *in;
    if (t.threads_per_core == 0) {
        t.threads_per_core = 1;
        t.cores_per_socket = t.ncpus;
        t.smt_shift = 0;
        t.pkg_shift = cpuid_core_id_bits(t.ncpus);
    }
    if (t.cores_per_socket == 0)
        t.cores_per_socket = 1;
    if (t.pkg_shift > CPUID_TOPO_EAX_SHIFT_MASK)
        t.pkg_shift = CPUID_TOPO_EAX_SHIFT_MASK;
    if (t.smt_shift > t.pkg_shift)
        t.smt_shift = t.pkg_shift;
    return t;
}

static unsigned cpuid_min(unsigned a, unsigned b)
{
    return a < b ? a : b;
}

/* Logical processors in one package. */
static unsigned cpuid_logical_per_pkg(const struct cpuid_topology *t)
{
    return t->threads_per_core * t->cores_per_socket;
}

/* Largest field value (1 << bits) - 1, computed without overflowing at 32 bits. */
static uint64_t cpuid_field_max(unsigned bits)
{
    return (1ull << bits) - 1;
}

static void cpuid_patch_features(struct kvm_cpuid_entry2 *e, const struct cpuid_topology *t)
{
    /* addressable logical processor IDs per package: an 8-bit field */
    uint64_t logical = cpuid_field_max(t->pkg_shift) + 1;
    e->ebx &= ~(CPUID_1_EBX_APIC_ID_MASK | CPUID_1_EBX_LOGICAL_COUNT_MASK);
    /* the initial APIC ID is 8 bits: truncated for x2APIC IDs, as on hardware */
    e->ebx |= (t->apic_id & 0xffu) << CPUID_1_EBX_APIC_ID_SHIFT;
    e->ebx |= (uint32_t)(logical > 0xff ? 0xff : logical) << CPUID_1_EBX_LOGICAL_COUNT_SHIFT;
    e->ecx |= CPUID_1_ECX_HYPERVISOR;
    /* KVM's LAPIC emulates the TSC-deadline timer whatever the host CPU has,
     * but KVM_GET_SUPPORTED_CPUID only lists it when the host has it: the
     * VMM sets it from KVM_CAP_TSC_DEADLINE_TIMER (required, vmm/kvm.c), as
     * QEMU does. Without it Linux programs the one-shot LAPIC timer. */
    e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
    if (cpuid_logical_per_pkg(t) > 1)
        e->edx |= CPUID_1_EDX_HTT;
    else
        e->edx &= ~CPUID_1_EDX_HTT;
}

/* Intel leaf 4: core IDs per package, and which logical processors share each
 * cache: L1/L2 the threads of a core, L3 the whole package. */
static void cpuid_patch_cache_params(struct kvm_cpuid_entry2 *e, const struct cpuid_topology *t)
{
    uint64_t core_max = cpuid_field_max(t->pkg_shift - t->smt_shift);
    if ((e->eax & CPUID_4_EAX_CACHE_TYPE_MASK) == 0)
        return; /* no more caches */
    unsigned level = (e->eax & CPUID_4_EAX_CACHE_LEVEL_MASK) >> CPUID_4_EAX_CACHE_LEVEL_SHIFT;
    uint64_t sharing = cpuid_field_max(level >= 3 ? t->pkg_shift : t->smt_shift);
    e->eax &= (1u << CPUID_4_EAX_CORES_SHIFT) - 1;
    e->eax |= (uint32_t)(core_max > 0x3f ? 0x3f : core_max) << CPUID_4_EAX_CORES_SHIFT;
    e->eax &= ~CPUID_4_EAX_SHARING_MASK;
    e->eax |= (uint32_t)(sharing > 0xfff ? 0xfff : sharing) << CPUID_4_EAX_SHARING_SHIFT;
}

/* Leaves 0xB/0x1F: the SMT level, then the core level (the whole package). */
static void cpuid_patch_ext_topology(struct kvm_cpuid_entry2 *e, const struct cpuid_topology *t)
{
    e->edx = t->apic_id;
    e->ecx = e->index & 0xffu;
    switch (e->index) {
    case 0:
        e->eax = t->smt_shift;
        e->ebx = t->threads_per_core;
        e->ecx |= CPUID_TOPO_LEVEL_SMT << CPUID_TOPO_ECX_TYPE_SHIFT;
        break;
    case 1:
        e->eax = t->pkg_shift;
        e->ebx = cpuid_min(cpuid_logical_per_pkg(t), 0xffff);
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
    unsigned logical = cpuid_logical_per_pkg(t);
    switch (e->function) {
    case CPUID_LEAF_EXT_FEATURES:
        if (logical > 1)
            e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
        else
            e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
        break;
    case CPUID_LEAF_ADDR_SIZES:
        e->ecx &= ~(CPUID_80000008_ECX_NC_MASK | CPUID_80000008_ECX_CORE_ID_SIZE_MASK);
        e->ecx |= cpuid_min(logical - 1, CPUID_80000008_ECX_NC_MASK);
        e->ecx |= cpuid_min(t->pkg_shift, 0xf) << CPUID_80000008_ECX_CORE_ID_SIZE_SHIFT;
        break;
    case CPUID_LEAF_AMD_TOPOLOGY_EXT:
        e->eax = t->apic_id; /* extended APIC ID */
        /* compute unit (core) ID and threads per unit - 1 */
        e->ebx = (uint32_t)((t->apic_id >> t->smt_shift) &
                            cpuid_field_max(t->pkg_shift - t->smt_shift) & 0xff);
        e->ebx |= (cpuid_min(t->threads_per_core, 0x100) - 1) << CPUID_8000001E_EBX_THREADS_SHIFT;
        /* node ID: one node per package; nodes per processor - 1 = 0 */
        e->ecx = (t->apic_id >> t->pkg_shift) & 0xff; /* pkg_shift <= 31 */
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
    case CPUID_LEAF_KVM_FEATURES:
        e->eax &= ~CPUID_KVM_FEATURE_MSI_EXT_DEST_ID;
        break;
    case CPUID_LEAF_APM:
        /* A KVM guest's TSC is the host's plus a fixed offset, the same on
         * every vCPU, and sluice does not migrate: advertise it invariant
         * (as Cloud Hypervisor does) even when KVM's supported list lacks
         * the bit (a nested or emulated host CPU). Without it Linux on an
         * AMD-vendor CPU with more than one CPU marks the TSC unstable at
         * boot and runs sched_clock in its unstable mode. */
        e->edx |= CPUID_80000007_EDX_INVTSC;
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
    struct cpuid_topology t = cpuid_normalise(topo);
    for (unsigned i = 0; i < supported->nent; i++) {
        if (!cpuid_keep_entry(&supported->entries[i]))
            continue;
        struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
        *e = supported->entries[i];
        cpuid_patch_entry(e, &t, amd);
    }
    *out = c;
    return 0;
}
