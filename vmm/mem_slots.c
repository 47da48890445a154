/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "kvm"
#include "vmm/mem_slots.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/log.h"

#define PAGE_MASK_4K 0xfffULL

static int set_region(struct kvm_mem_slots *s, unsigned idx, uint64_t gpa, uint64_t size,
                      void *host)
{
    struct kvm_userspace_memory_region r = {
        .slot = s->first_slot + idx,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    return ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static int slots_add(void *opaque, uint64_t gpa, uint64_t size, void *host)
{
    struct kvm_mem_slots *s = opaque;
    if (!size || (gpa & PAGE_MASK_4K) || (size & PAGE_MASK_4K) ||
        ((uintptr_t)host & PAGE_MASK_4K) || gpa + size < gpa)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    int ret = -ENOSPC;
    for (unsigned i = 0; i < s->nslots; i++) {
        if (s->used[i])
            continue;
        ret = set_region(s, i, gpa, size, host);
        if (ret == 0) {
            s->used[i] = true;
            s->gpa[i] = gpa;
            s->size[i] = size;
            ret = (int)i;
        }
        break;
    }
    pthread_mutex_unlock(&s->lock);
    if (ret < 0)
        LOG_WARN("cannot add a memory slot at 0x%llx (+0x%llx): %s", (unsigned long long)gpa,
                 (unsigned long long)size, strerror(-ret));
    return ret;
}

static void slots_remove(void *opaque, int handle)
{
    struct kvm_mem_slots *s = opaque;
    if (handle < 0 || (unsigned)handle >= s->nslots)
        return;
    pthread_mutex_lock(&s->lock);
    if (s->used[handle]) {
        int ret = set_region(s, (unsigned)handle, s->gpa[handle], 0, NULL);
        if (ret)
            LOG_WARN("cannot remove memory slot %u: %s", s->first_slot + (unsigned)handle,
                     strerror(-ret));
        s->used[handle] = false;
    }
    pthread_mutex_unlock(&s->lock);
}

int kvm_mem_slots_init(struct kvm_mem_slots *s, int vm_fd, unsigned first_slot)
{
    memset(s, 0, sizeof(*s));
    s->vm_fd = vm_fd;
    s->first_slot = first_slot;
    int max = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
    if (max <= 0)
        max = 32; /* KVM's historical minimum */
    s->nslots = (unsigned)max > first_slot ? (unsigned)max - first_slot : 0;
    if (s->nslots > KVM_MEM_SLOTS_MAX_DEVICE)
        s->nslots = KVM_MEM_SLOTS_MAX_DEVICE;
    return -pthread_mutex_init(&s->lock, NULL);
}

void kvm_mem_slots_destroy(struct kvm_mem_slots *s)
{
    for (unsigned i = 0; i < s->nslots; i++)
        slots_remove(s, (int)i);
    pthread_mutex_destroy(&s->lock);
}

struct mem_slot_sink kvm_mem_slots_sink(struct kvm_mem_slots *s)
{
    return (struct mem_slot_sink){.add = slots_add, .remove = slots_remove, .opaque = s};
}
