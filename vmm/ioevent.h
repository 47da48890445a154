/* SPDX-License-Identifier: MIT */
/*
 * KVM_IOEVENTFD: the VMM side of devices/ioevent.h. A guest write to a bound
 * PIO port or MMIO address signals an eventfd inside KVM instead of exiting
 * to userspace.
 *
 * Order: kvm_ioevent_init(vm fd) after the VM exists -> kvm_ioevent_sink()
 * handed to devices -> devices unbind everything they bound -> the VM fd is
 * closed (KVM drops any binding left over with the VM). `k` must outlive
 * every user of the sink.
 *
 * Thread safety: the sink may be called from any thread (each call is one
 * ioctl; KVM serialises them).
 */
#ifndef SLUICE_VMM_IOEVENT_H
#define SLUICE_VMM_IOEVENT_H

#include <stdbool.h>

#include "devices/ioevent.h"

struct kvm_ioevent {
    int vm_fd;          /* borrowed */
    bool any_length;    /* KVM_CAP_IOEVENTFD_ANY_LENGTH: len 0 on MMIO accepted */
};

/* Probe the VM's ioeventfd capabilities. Returns 0, or -EOPNOTSUPP when the
 * VM has no KVM_CAP_IOEVENTFD. */
int kvm_ioevent_init(struct kvm_ioevent *k, int vm_fd) __attribute__((warn_unused_result));

/* The sink's set(): len must be 1, 2, 4 or 8, or 0 (any length) on MMIO when
 * any_length; otherwise -EINVAL (-EOPNOTSUPP for len 0 without the cap).
 * No data match. Unbinding must repeat the parameters of the binding.
 * Returns 0 or -errno from KVM (-EEXIST: already bound, -ENOENT: not bound). */
int kvm_ioevent_set(struct kvm_ioevent *k, bool pio, uint64_t addr, unsigned len, int fd,
                    bool assign) __attribute__((warn_unused_result));

struct ioevent_sink kvm_ioevent_sink(struct kvm_ioevent *k);

#endif
