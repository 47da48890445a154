/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "ioevent"
#include "vmm/ioevent.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/log.h"

int kvm_ioevent_init(struct kvm_ioevent *k, int vm_fd)
{
    *k = (struct kvm_ioevent){ .vm_fd = vm_fd };
    if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
        return -EOPNOTSUPP;
    k->any_length = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
    return 0;
}

static int kvm_ioevent_check_len(const struct kvm_ioevent *k, bool pio, unsigned len)
{
    switch (len) {
    case 1:
    case 2:
    case 4:
    case 8:
        return 0;
    case 0:
        if (pio)
            return -EINVAL;
        return k->any_length ? 0 : -EOPNOTSUPP;
    default:
        return -EINVAL;
    }
}

int kvm_ioevent_set(struct kvm_ioevent *k, bool pio, uint64_t addr, unsigned len, int fd,
                    bool assign)
{
    int ret = kvm_ioevent_check_len(k, pio, len);
    if (ret) {
        LOG_ERR("%s ioeventfd at 0x%llx: length %u not supported", pio ? "pio" : "mmio",
                (unsigned long long)addr, len);
        return ret;
    }
    struct kvm_ioeventfd io = {
        .addr = addr,
        .len = len,
        .fd = fd,
        .flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    if (ioctl(k->vm_fd, KVM_IOEVENTFD, &io) < 0) {
        ret = -errno;
        LOG_ERR("KVM_IOEVENTFD %s %s 0x%llx len %u fd %d failed: %s",
                assign ? "assign" : "deassign", pio ? "pio" : "mmio",
                (unsigned long long)addr, len, fd, strerror(-ret));
        return ret;
    }
    return 0;
}

static int kvm_ioevent_sink_set(void *opaque, bool pio, uint64_t addr, unsigned len, int fd,
                                bool assign)
{
    return kvm_ioevent_set(opaque, pio, addr, len, fd, assign);
}

struct ioevent_sink kvm_ioevent_sink(struct kvm_ioevent *k)
{
    return (struct ioevent_sink){ .set = kvm_ioevent_sink_set, .opaque = k };
}
