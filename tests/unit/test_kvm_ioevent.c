/* SPDX-License-Identifier: MIT */
/*
 * The VMM-side sinks against the real /dev/kvm (SKIP without it):
 * KVM_IOEVENTFD binding/unbinding through the ioevent_sink (PIO and MMIO,
 * length rules, double bind/unbind errors), and an irq_vector on the
 * irq_routing sink (GSI allocated above the IOAPIC pins, irqfd connected,
 * route installed in KVM, torn down).
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/irq_vector.h"
#include "tests/unit/check.h"
#include "vmm/ioevent.h"
#include "vmm/irq_routing.h"
#include "vmm/kvm.h"

#define TEST_PORT 0x1000
#define TEST_MMIO 0xd0000000ULL

static void test_ioevent(int vm_fd)
{
    struct kvm_ioevent k;
    CHECK_EQ(kvm_ioevent_init(&k, vm_fd), 0);
    struct ioevent_sink sink = kvm_ioevent_sink(&k);
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK(fd >= 0);

    CHECK_EQ(sink.set(sink.opaque, true, TEST_PORT, 2, fd, true), 0);
    CHECK_EQ(sink.set(sink.opaque, true, TEST_PORT, 2, fd, true), -EEXIST);
    CHECK_EQ(sink.set(sink.opaque, true, TEST_PORT, 2, fd, false), 0);
    CHECK_EQ(sink.set(sink.opaque, true, TEST_PORT, 2, fd, false), -ENOENT);

    CHECK_EQ(sink.set(sink.opaque, false, TEST_MMIO, 4, fd, true), 0);
    CHECK_EQ(sink.set(sink.opaque, false, TEST_MMIO, 4, fd, false), 0);

    /* lengths: 0 only on MMIO and only with the capability; never 3 */
    CHECK_EQ(sink.set(sink.opaque, true, TEST_PORT, 0, fd, true), -EINVAL);
    CHECK_EQ(sink.set(sink.opaque, false, TEST_MMIO, 3, fd, true), -EINVAL);
    if (k.any_length) {
        CHECK_EQ(sink.set(sink.opaque, false, TEST_MMIO + 8, 0, fd, true), 0);
        CHECK_EQ(sink.set(sink.opaque, false, TEST_MMIO + 8, 0, fd, false), 0);
    } else {
        CHECK_EQ(sink.set(sink.opaque, false, TEST_MMIO + 8, 0, fd, true), -EOPNOTSUPP);
    }
    close(fd);
}

static void test_irq_vector_on_kvm(int vm_fd)
{
    struct irq_routing r;
    CHECK_EQ(irq_routing_init(&r, vm_fd), 0);
    struct msi_sink sink = irq_routing_sink(&r);
    CHECK(sink.alloc_gsi && sink.free_gsi && sink.irqfd);

    struct irq_vector v;
    CHECK_EQ(irq_vector_init(&v, &sink, 0x0008), 0);
    CHECK(v.gsi >= KVM_SPLIT_IRQCHIP_IOAPIC_PINS);
    CHECK(v.fd >= 0);
    CHECK(r.routes[v.gsi].allocated);
    CHECK_EQ(irq_vector_route(&v, true, MSI_ADDR_BASE, 0x41), 0);
    CHECK(r.routes[v.gsi].enabled);
    CHECK_EQ(r.routes[v.gsi].data, 0x41);
    irq_vector_fire(&v); /* consumed by KVM's irqfd (no vCPU: no target) */
    int gsi = v.gsi;
    irq_vector_destroy(&v);
    CHECK(!r.routes[gsi].allocated);
    CHECK(!r.routes[gsi].enabled);
    irq_routing_destroy(&r);
}

int main(void)
{
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("SKIP: /dev/kvm is not accessible\n");
        return CHECK_SKIP;
    }
    struct kvm kvm;
    char err[256];
    if (kvm_open(&kvm, "/dev/kvm", err, sizeof(err)) != 0) {
        printf("SKIP: %s\n", err);
        return CHECK_SKIP;
    }
    int vm_fd = kvm_vm_create(&kvm, err, sizeof(err));
    CHECK(vm_fd >= 0);
    if (vm_fd < 0) {
        fprintf(stderr, "%s\n", err);
        kvm_close(&kvm);
        return check_result("test_kvm_ioevent");
    }
    test_ioevent(vm_fd);
    test_irq_vector_on_kvm(vm_fd);
    close(vm_fd);
    kvm_close(&kvm);
    return check_result("test_kvm_ioevent");
}
