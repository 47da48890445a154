/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "kvm"
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "vmm/log.h"

#define KVM_CPUID_MAX_ENTRIES 256

/* Every capability sluice relies on, with the reason, checked at start-up. */
static const struct kvm_required_cap {
    int cap;
    const char *name;
} kvm_required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_TSC_DEADLINE_TIMER, "KVM_CAP_TSC_DEADLINE_TIMER"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_X2APIC_API, "KVM_CAP_X2APIC_API"},
};

static int kvm_get_supported_cpuid(struct kvm *kvm)
{
    size_t bytes = sizeof(struct kvm_cpuid2) + KVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *cpuid = calloc(1, bytes);
    if (!cpuid)
        return -ENOMEM;
    cpuid->nent = KVM_CPUID_MAX_ENTRIES;
    if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
        int ret = -errno;
        free(cpuid);
        return ret;
    }
    kvm->supported_cpuid = cpuid;
    return 0;
}

static int kvm_open_device(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0)
        return fd;
    int ret = -errno;
    if (ret == -ENOENT)
        snprintf(err, errlen, "%s does not exist: load the kvm module (modprobe kvm_intel or kvm_amd) "
                 "or run sluice inside the test bed (tests/e2e/run.sh)", path);
    else if (ret == -EACCES || ret == -EPERM)
        snprintf(err, errlen, "%s is not accessible: add your user to the 'kvm' group "
                 "(sudo usermod -aG kvm $USER, then log in again) or run as root", path);
    else
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(-ret));
    return ret;
}

static int kvm_check_caps(struct kvm *kvm, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]); i++) {
        if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
            snprintf(err, errlen, "KVM lacks capability %s, which sluice requires: use a newer host kernel",
                     kvm_required_caps[i].name);
            return -ENOTSUP;
        }
    }
    int max = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max <= 0)
        max = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    kvm->max_vcpus = max > 0 ? (unsigned)max : 1;
    return 0;
}

int kvm_open(struct kvm *kvm, const char *path, char *err, size_t errlen)
{
    int ret;
    memset(kvm, 0, sizeof(*kvm));
    kvm->fd = kvm_open_device(path, err, errlen);
    if (kvm->fd < 0)
        return kvm->fd;

    int version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
    if (version < 0) {
        snprintf(err, errlen, "%s is not a KVM device (KVM_GET_API_VERSION: %s); use /dev/kvm",
                 path, strerror(errno));
        ret = -ENOTTY;
        goto err_close;
    }
    if (version != KVM_API_VERSION) {
        snprintf(err, errlen, "%s speaks KVM API version %d, sluice needs %d", path, version,
                 KVM_API_VERSION);
        ret = -ENOTSUP;
        goto err_close;
    }
    ret = kvm_check_caps(kvm, err, errlen);
    if (ret)
        goto err_close;
    kvm->vcpu_mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (kvm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
        ret = -ENOTSUP;
        snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE returned %d", kvm->vcpu_mmap_size);
        goto err_close;
    }
    ret = kvm_get_supported_cpuid(kvm);
    if (ret) {
        snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-ret));
        goto err_close;
    }
    return 0;

err_close:
    close(kvm->fd);
    kvm->fd = -1;
    return ret;
}

void kvm_close(struct kvm *kvm)
{
    free(kvm->supported_cpuid);
    kvm->supported_cpuid = NULL;
    if (kvm->fd >= 0)
        close(kvm->fd);
    kvm->fd = -1;
}

int kvm_vm_create(struct kvm *kvm, char *err, size_t errlen)
{
    int vm_fd = ioctl(kvm->fd, KVM_CREATE_VM, 0);
    if (vm_fd < 0) {
        int ret = -errno;
        snprintf(err, errlen, "KVM_CREATE_VM failed: %s", strerror(errno));
        return ret;
    }
    const char *step = "KVM_SET_TSS_ADDR";
    if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS_ADDR) < 0)
        goto err;
    uint64_t identity = LAYOUT_KVM_IDENTITY_MAP_ADDR;
    step = "KVM_SET_IDENTITY_MAP_ADDR";
    if (ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
        goto err;
    struct kvm_enable_cap split = {
        .cap = KVM_CAP_SPLIT_IRQCHIP,
        .args = {KVM_SPLIT_IRQCHIP_IOAPIC_PINS},
    };
    step = "enabling KVM_CAP_SPLIT_IRQCHIP";
    if (ioctl(vm_fd, KVM_ENABLE_CAP, &split) < 0)
        goto err;
    /* x2APIC guests: 32-bit destination ids in MSIs and routes, and no
     * legacy "destination 0xff is a broadcast" quirk. */
    struct kvm_enable_cap x2apic = {
        .cap = KVM_CAP_X2APIC_API,
        .args = {KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK},
    };
    step = "enabling KVM_CAP_X2APIC_API";
    if (ioctl(vm_fd, KVM_ENABLE_CAP, &x2apic) < 0)
        goto err;
    return vm_fd;

err:;
    int ret = -errno;
    snprintf(err, errlen, "%s failed: %s", step, strerror(errno));
    close(vm_fd);
    return ret;
}

int kvm_vm_set_memory(int vm_fd, const struct guest_mem *gm)
{
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *r = &gm->regions[i];
        struct kvm_userspace_memory_region slot = {
            .slot = i,
            .guest_phys_addr = r->gpa,
            .memory_size = r->size,
            .userspace_addr = (uint64_t)(uintptr_t)r->host,
        };
        if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
            int ret = -errno;
            LOG_ERR("KVM_SET_USER_MEMORY_REGION slot %u failed: %s", i, strerror(errno));
            return ret;
        }
    }
    return 0;
}
