/* SPDX-License-Identifier: MIT */
/*
 * The KVM system and VM file descriptors: opening /dev/kvm, checking the API
 * version and every capability sluice relies on, creating the VM with a split
 * irqchip, and installing guest RAM as memory slots.
 *
 * Order: kvm_open() -> kvm_vm_create() -> kvm_vm_set_memory() -> vCPUs
 * (vmm/vcpu.h) -> run -> kvm_vm_destroy() -> kvm_close().
 */
#ifndef SLUICE_VMM_KVM_H
#define SLUICE_VMM_KVM_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

struct kvm_cpuid2;

struct kvm {
    int fd;                /* /dev/kvm */
    int vcpu_mmap_size;    /* size of struct kvm_run mapping */
    unsigned max_vcpus;    /* KVM_CAP_MAX_VCPUS */
    struct kvm_cpuid2 *supported_cpuid; /* KVM_GET_SUPPORTED_CPUID, owned */
};

/*
 * Open `path` (normally /dev/kvm) and check the API version and every
 * capability sluice needs. On failure returns -errno and writes one line
 * saying what is wrong and how to fix it into `err`; nothing stays open.
 */
int kvm_open(struct kvm *kvm, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void kvm_close(struct kvm *kvm);

/* Number of IOAPIC pins reserved as GSIs 0..N-1 in split-irqchip mode. */
#define KVM_SPLIT_IRQCHIP_IOAPIC_PINS 24

/*
 * Create a VM with local APICs in KVM and the IOAPIC in userspace (split
 * irqchip), TSS and identity-map pages placed per vmm/layout.h.
 * Returns the VM fd or -errno (message in err).
 */
int kvm_vm_create(struct kvm *kvm, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Register every guest_mem region as a KVM memory slot. Returns 0 or -errno. */
int kvm_vm_set_memory(int vm_fd, const struct guest_mem *gm) __attribute__((warn_unused_result));

#endif
