/* SPDX-License-Identifier: MIT */
/*
 * Per-vCPU CPUID: KVM_GET_SUPPORTED_CPUID patched for sluice's topology
 * (packages of cores of threads, sparse APIC IDs as given) and for
 * what a guest must see under a hypervisor (hypervisor bit, KVM paravirt
 * leaves for kvm-clock kept as KVM reports them).
 *
 * Pure data transformation: no ioctls, so unit tests drive it with a fake
 * supported table.
 */
#ifndef SLUICE_VMM_CPUID_H
#define SLUICE_VMM_CPUID_H

#include <stdint.h>

struct kvm_cpuid2;

/*
 * The machine's topology as CPUID describes it (vmm/topology.h computes it):
 * x2APIC ID = package << pkg_shift | core << smt_shift | thread.
 * threads_per_core 0 means the old default: one package of `ncpus`
 * single-thread cores, pkg_shift = ceil(log2(ncpus)).
 */
struct cpuid_topology {
    unsigned ncpus;             /* vCPUs in the machine */
    unsigned threads_per_core;  /* 0: default topology (see above) */
    unsigned cores_per_socket;
    unsigned smt_shift;         /* thread field width */
    unsigned pkg_shift;         /* thread + core field width (clamped to 31) */
    uint32_t apic_id;           /* this vCPU's (x2)APIC ID */
};

/*
 * Build this vCPU's CPUID table from `supported`. On success *out is a
 * malloc'd table the caller frees. Returns 0, -EINVAL (ncpus 0) or -ENOMEM.
 */
int cpuid_build(const struct kvm_cpuid2 *supported, const struct cpuid_topology *topo,
                struct kvm_cpuid2 **out) __attribute__((warn_unused_result));

/* Bits needed to number `n` cores (ceil(log2(n))), 0 for n <= 1. */
unsigned cpuid_core_id_bits(unsigned n);

/* Leaves and fields touched (Intel SDM vol. 2 CPUID, AMD APM vol. 3 appendix E). */
#define CPUID_LEAF_FEATURES 0x1
#define CPUID_1_EBX_APIC_ID_SHIFT 24
#define CPUID_1_EBX_LOGICAL_COUNT_SHIFT 16
#define CPUID_1_EBX_LOGICAL_COUNT_MASK (0xffu << CPUID_1_EBX_LOGICAL_COUNT_SHIFT)
#define CPUID_1_EBX_APIC_ID_MASK (0xffu << CPUID_1_EBX_APIC_ID_SHIFT)
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_LEAF_CACHE_PARAMS 0x4
#define CPUID_4_EAX_CORES_SHIFT 26
#define CPUID_4_EAX_SHARING_SHIFT 14
#define CPUID_4_EAX_SHARING_MASK (0xfffu << CPUID_4_EAX_SHARING_SHIFT)
#define CPUID_4_EAX_CACHE_LEVEL_SHIFT 5
#define CPUID_4_EAX_CACHE_LEVEL_MASK (0x7u << CPUID_4_EAX_CACHE_LEVEL_SHIFT)
#define CPUID_4_EAX_CACHE_TYPE_MASK 0x1fu
#define CPUID_LEAF_THERMAL 0x6
#define CPUID_6_EAX_ARAT (1u << 2)
#define CPUID_LEAF_EXT_TOPOLOGY 0xb
#define CPUID_LEAF_V2_EXT_TOPOLOGY 0x1f
#define CPUID_TOPO_LEVEL_SMT 1
#define CPUID_TOPO_LEVEL_CORE 2
#define CPUID_TOPO_ECX_TYPE_SHIFT 8
#define CPUID_TOPO_EAX_SHIFT_MASK 0x1fu
#define CPUID_8000001E_EBX_THREADS_SHIFT 8
#define CPUID_LEAF_EXT_FEATURES 0x80000001
#define CPUID_80000001_ECX_CMP_LEGACY (1u << 1)
/* Invariant TSC (AMD APM vol. 3 E.4.8, Intel SDM 17.17.1). */
#define CPUID_LEAF_APM 0x80000007
#define CPUID_80000007_EDX_INVTSC (1u << 8)
#define CPUID_LEAF_ADDR_SIZES 0x80000008
#define CPUID_80000008_ECX_NC_MASK 0xffu
#define CPUID_80000008_ECX_CORE_ID_SIZE_SHIFT 12
#define CPUID_80000008_ECX_CORE_ID_SIZE_MASK (0xfu << CPUID_80000008_ECX_CORE_ID_SIZE_SHIFT)
#define CPUID_LEAF_AMD_TOPOLOGY_EXT 0x8000001e
#define CPUID_LEAF_AMD_EXT_TOPOLOGY_V2 0x80000026
#define CPUID_LEAF_VENDOR 0x0
/* KVM paravirt features (Documentation/virt/kvm/x86/cpuid.rst). sluice does
 * not translate the extended destination ID (MSI address bits 11:5) into
 * KVM's x2APIC format, so the feature is hidden: APIC IDs above 254 are
 * reached through x2APIC interrupt remapping instead. */
#define CPUID_LEAF_KVM_FEATURES 0x40000001
#define CPUID_KVM_FEATURE_MSI_EXT_DEST_ID (1u << 15)

#endif
