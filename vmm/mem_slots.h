/* SPDX-License-Identifier: MIT */
/*
 * KVM memory slots for devices (devices/mem_slot.h): the VMM side. Guest
 * RAM takes slots 0..nram-1 (vmm/kvm.c); device slots are handed out from
 * `first_slot` up to KVM_CAP_NR_MEMSLOTS.
 *
 * Order: kvm_mem_slots_init after guest RAM is registered -> the sink is
 * handed to devices -> devices remove what they added -> the VM fd is
 * closed. Thread safety: a mutex; add/remove may run on any thread.
 */
#ifndef SLUICE_VMM_MEM_SLOTS_H
#define SLUICE_VMM_MEM_SLOTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/mem_slot.h"

#define KVM_MEM_SLOTS_MAX_DEVICE 128

struct kvm_mem_slots {
    int vm_fd;                          /* borrowed */
    unsigned first_slot, nslots;        /* device slots: first_slot .. first_slot + nslots - 1 */
    pthread_mutex_t lock;
    bool used[KVM_MEM_SLOTS_MAX_DEVICE];
    uint64_t gpa[KVM_MEM_SLOTS_MAX_DEVICE], size[KVM_MEM_SLOTS_MAX_DEVICE];
};

/* Returns 0 or -errno. */
int kvm_mem_slots_init(struct kvm_mem_slots *s, int vm_fd, unsigned first_slot)
    __attribute__((warn_unused_result));
void kvm_mem_slots_destroy(struct kvm_mem_slots *s);
struct mem_slot_sink kvm_mem_slots_sink(struct kvm_mem_slots *s);

#endif
