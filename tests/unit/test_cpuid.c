/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>

#include "tests/unit/check.h"
#include "vmm/cpuid.h"

#define AMD_EBX 0x68747541u   /* "Auth" */
#define INTEL_EBX 0x756e6547u /* "Genu" */

static struct kvm_cpuid2 *fake_supported(uint32_t vendor_ebx)
{
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 16 * sizeof(c->entries[0]));
    struct kvm_cpuid_entry2 *e = c->entries;
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0, .eax = 0x1f, .ebx = vendor_ebx};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 1, .ebx = 0xaabb0800, .ecx = 1u << 24,
                                             .edx = 1u << 28};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 4, .index = 0, .eax = 0x121 | (7u << 26)};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 4, .index = 3, .eax = 0x163};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 0};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 1};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 2};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0x40000000, .eax = 0x40000001,
                                             .ebx = 0x4b4d564b};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0x40000001, .eax = 0x01007afb};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0x80000007, .edx = 1u << 9};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0x80000008, .ecx = 0xffff};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0x8000001e, .eax = 99};
    e[c->nent++] = (struct kvm_cpuid_entry2){.function = 0x80000026, .eax = 1};
    return c;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
    for (unsigned i = 0; i < c->nent; i++)
        if (c->entries[i].function == fn && c->entries[i].index == idx)
            return &c->entries[i];
    return NULL;
}

static struct kvm_cpuid_entry2 *find_mut(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
    return (struct kvm_cpuid_entry2 *)find(c, fn, idx);
}

static void test_core_bits(void)
{
    CHECK_EQ(cpuid_core_id_bits(1), 0);
    CHECK_EQ(cpuid_core_id_bits(2), 1);
    CHECK_EQ(cpuid_core_id_bits(3), 2);
    CHECK_EQ(cpuid_core_id_bits(4), 2);
    CHECK_EQ(cpuid_core_id_bits(5), 3);
    CHECK_EQ(cpuid_core_id_bits(255), 8);
}

static void test_amd_topology(void)
{
    struct kvm_cpuid2 *sup = fake_supported(AMD_EBX), *c = NULL;
    struct cpuid_topology t = {.ncpus = 4, .apic_id = 3};
    CHECK_EQ(cpuid_build(sup, &t, &c), 0);
    const struct kvm_cpuid_entry2 *e = find(c, 1, 0);
    CHECK_EQ(e->ebx >> 24, 3);                 /* initial APIC ID */
    CHECK_EQ((e->ebx >> 16) & 0xff, 4);        /* addressable logical processors */
    CHECK_EQ(e->ebx & 0xffff, 0x0800);         /* CLFLUSH etc. kept */
    CHECK(e->ecx & CPUID_1_ECX_HYPERVISOR);
    CHECK(e->ecx & CPUID_1_ECX_TSC_DEADLINE);  /* kept from KVM */
    free(c);
    c = NULL;
    /* KVM without the bit in its supported list (host CPU lacks it): set anyway */
    find_mut(sup, 1, 0)->ecx &= ~CPUID_1_ECX_TSC_DEADLINE;
    CHECK_EQ(cpuid_build(sup, &t, &c), 0);
    e = find(c, 1, 0);
    CHECK(e->ecx & CPUID_1_ECX_TSC_DEADLINE);
    CHECK(e->edx & CPUID_1_EDX_HTT);
    e = find(c, 0xb, 0);
    CHECK_EQ(e->eax, 0);
    CHECK_EQ(e->ebx, 1);
    CHECK_EQ(e->ecx, 0x100);
    CHECK_EQ(e->edx, 3);
    e = find(c, 0xb, 1);
    CHECK_EQ(e->eax, 2);
    CHECK_EQ(e->ebx, 4);
    CHECK_EQ(e->ecx, 0x201);
    CHECK_EQ(e->edx, 3);
    e = find(c, 0xb, 2);
    CHECK_EQ(e->eax, 0);
    CHECK_EQ(e->ebx, 0);
    CHECK_EQ(e->ecx, 2);
    e = find(c, 0x80000008, 0);
    CHECK_EQ(e->ecx & 0xff, 3);
    CHECK_EQ((e->ecx >> 12) & 0xf, 2);
    CHECK_EQ(find(c, 0x8000001e, 0)->eax, 3);
    /* invariant TSC set although KVM did not list it; other bits kept */
    CHECK_EQ(find(c, 0x80000007, 0)->edx, (1u << 8) | (1u << 9));
    CHECK(find(c, 0x80000026, 0) == NULL);     /* undescribed topology leaf dropped */
    CHECK_EQ(find(c, 0x40000000, 0)->ebx, 0x4b4d564b); /* KVM signature kept */
    /* Intel-only cache leaf untouched on AMD */
    CHECK_EQ(find(c, 4, 0)->eax, 0x121 | (7u << 26));
    free(c);
    free(sup);
}

static void test_intel_single_cpu(void)
{
    struct kvm_cpuid2 *sup = fake_supported(INTEL_EBX), *c = NULL;
    struct cpuid_topology t = {.ncpus = 1, .apic_id = 0};
    CHECK_EQ(cpuid_build(sup, &t, &c), 0);
    const struct kvm_cpuid_entry2 *e = find(c, 1, 0);
    CHECK_EQ(e->ebx >> 24, 0);
    CHECK_EQ((e->ebx >> 16) & 0xff, 1);
    CHECK(!(e->edx & CPUID_1_EDX_HTT));
    CHECK_EQ(find(c, 4, 0)->eax >> 26, 0);      /* one core */
    CHECK_EQ(find(c, 0x80000008, 0)->ecx, 0xffff); /* AMD-only fields untouched */
    free(c);
    t.ncpus = 6;
    t.apic_id = 5;
    CHECK_EQ(cpuid_build(sup, &t, &c), 0);
    CHECK_EQ(find(c, 4, 0)->eax >> 26, 7);      /* 8 addressable core ids - 1 */
    CHECK_EQ((find(c, 4, 3)->eax >> 14) & 0xfff, 7); /* L3 shared by all cores */
    CHECK_EQ((find(c, 4, 0)->eax >> 14) & 0xfff, 0); /* L1 per core */
    free(c);
    t.ncpus = 0;
    CHECK_EQ(cpuid_build(sup, &t, &c), -EINVAL);
    free(sup);
}

/* sockets=2,cores=3,threads=2: thread field 1 bit, core field 2 bits */
static void test_intel_smt_sockets(void)
{
    struct kvm_cpuid2 *sup = fake_supported(INTEL_EBX), *c = NULL;
    struct cpuid_topology t = {.ncpus = 12, .threads_per_core = 2, .cores_per_socket = 3,
                               .smt_shift = 1, .pkg_shift = 3,
                               .apic_id = 1u << 3 | 2u << 1 | 1}; /* socket 1, core 2, thread 1 */
    CHECK_EQ(cpuid_build(sup, &t, &c), 0);
    const struct kvm_cpuid_entry2 *e = find(c, 1, 0);
    CHECK_EQ(e->ebx >> 24, 13);
    CHECK_EQ((e->ebx >> 16) & 0xff, 8);          /* 2^3 addressable IDs per package */
    CHECK(e->edx & CPUID_1_EDX_HTT);
    e = find(c, 0xb, 0);
    CHECK_EQ(e->eax, 1);                         /* shift to the core ID */
    CHECK_EQ(e->ebx, 2);                         /* threads per core */
    CHECK_EQ(e->ecx, 0x100);
    CHECK_EQ(e->edx, 13);
    e = find(c, 0xb, 1);
    CHECK_EQ(e->eax, 3);                         /* shift to the package ID */
    CHECK_EQ(e->ebx, 6);                         /* logical processors per package */
    CHECK_EQ(e->ecx, 0x201);
    CHECK_EQ(e->edx, 13);
    CHECK_EQ(find(c, 4, 0)->eax >> 26, 3);       /* 4 addressable core IDs - 1 */
    CHECK_EQ((find(c, 4, 0)->eax >> 14) & 0xfff, 1); /* L1 shared by the 2 threads */
    CHECK_EQ((find(c, 4, 3)->eax >> 14) & 0xfff, 7); /* L3 by the package */
    CHECK_EQ(find(c, 0x40000001, 0)->eax, 0x01007afb & ~CPUID_KVM_FEATURE_MSI_EXT_DEST_ID);
    free(c);
    free(sup);
}

/* --apic-ids 0,1,2,300: one package, a 9-bit core field */
static void test_amd_sparse_x2apic(void)
{
    struct kvm_cpuid2 *sup = fake_supported(AMD_EBX), *c = NULL;
    struct cpuid_topology t = {.ncpus = 4, .threads_per_core = 1, .cores_per_socket = 4,
                               .smt_shift = 0, .pkg_shift = 9, .apic_id = 300};
    CHECK_EQ(cpuid_build(sup, &t, &c), 0);
    const struct kvm_cpuid_entry2 *e = find(c, 1, 0);
    CHECK_EQ(e->ebx >> 24, 300 & 0xff);          /* 8-bit initial APIC ID, truncated */
    CHECK_EQ((e->ebx >> 16) & 0xff, 0xff);       /* 512 addressable IDs: saturated */
    CHECK_EQ(find(c, 0xb, 0)->edx, 300);         /* the full x2APIC ID */
    CHECK_EQ(find(c, 0xb, 0)->eax, 0);
    CHECK_EQ(find(c, 0xb, 0)->ebx, 1);
    CHECK_EQ(find(c, 0xb, 1)->eax, 9);
    CHECK_EQ(find(c, 0xb, 1)->ebx, 4);
    CHECK_EQ(find(c, 0xb, 1)->edx, 300);
    e = find(c, 0x80000008, 0);
    CHECK_EQ(e->ecx & 0xff, 3);                  /* NC: 4 cores - 1 */
    CHECK_EQ((e->ecx >> 12) & 0xf, 9);           /* ApicIdCoreIdSize */
    e = find(c, 0x8000001e, 0);
    CHECK_EQ(e->eax, 300);                       /* extended APIC ID */
    CHECK_EQ(e->ebx, 300 & 0xff);                /* core ID, 1 thread per core */
    CHECK_EQ(e->ecx, 0);                         /* node 0 */
    free(c);

    /* sockets=2,cores=2,apic-id-stride=256: vCPU 3 is socket 1 core 1 = 257 */
    t = (struct cpuid_topology){.ncpus = 4, .threads_per_core = 1, .cores_per_socket = 2,
                                .smt_shift = 0, .pkg_shift = 8, .apic_id = 257};
    CHECK_EQ(cpuid_build(sup, &t, &c), 0);
    CHECK_EQ(find(c, 1, 0)->ebx >> 24, 1);
    CHECK_EQ(find(c, 0xb, 1)->eax, 8);
    CHECK_EQ(find(c, 0xb, 1)->ebx, 2);
    CHECK_EQ(find(c, 0x80000008, 0)->ecx & 0xff, 1);
    CHECK_EQ(find(c, 0x8000001e, 0)->ebx & 0xff, 1); /* core 1 */
    CHECK_EQ(find(c, 0x8000001e, 0)->ecx & 0xff, 1); /* package (node) 1 */
    free(c);

    /* an absurd shift is clamped to the 5-bit field, never shifted by 32 */
    t.pkg_shift = 40;
    t.apic_id = 0xfffffffe;
    CHECK_EQ(cpuid_build(sup, &t, &c), 0);
    CHECK_EQ(find(c, 0xb, 1)->eax, 31);
    CHECK_EQ(find(c, 0x8000001e, 0)->ecx, 1);
    free(c);
    free(sup);
}

int main(void)
{
    test_core_bits();
    test_amd_topology();
    test_intel_single_cpu();
    test_intel_smt_sockets();
    test_amd_sparse_x2apic();
    return check_result("test_cpuid");
}
