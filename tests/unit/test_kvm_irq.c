/* SPDX-License-Identifier: MIT */
/*
 * GSI routing and irqfd plumbing against the real /dev/kvm (SKIP without it):
 * split irqchip VM, IOAPIC-pin routes, GSI allocation, irqfd assign/deassign,
 * KVM_SIGNAL_MSI.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "vmm/irq_routing.h"
#include "vmm/kvm.h"

int main(void)
{
    struct kvm kvm;
    char err[256];
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("SKIP: /dev/kvm is not accessible\n");
        return CHECK_SKIP;
    }
    CHECK_EQ(kvm_open(&kvm, "/dev/kvm", err, sizeof(err)), 0);
    int vm_fd = kvm_vm_create(&kvm, err, sizeof(err));
    CHECK(vm_fd >= 0);
    if (vm_fd < 0) {
        fprintf(stderr, "%s\n", err);
        return check_result("test_kvm_irq");
    }

    struct irq_routing r;
    CHECK_EQ(irq_routing_init(&r, vm_fd), 0);
    /* IOAPIC pins are pre-allocated; a level-triggered route for pin 4 */
    CHECK_EQ(irq_routing_set(&r, 4, true, 0, MSI_ADDR_BASE, 0x30 | MSI_DATA_TRIGGER_LEVEL), 0);
    CHECK(r.routes[4].enabled);
    /* setting the same route again is a no-op that still succeeds */
    CHECK_EQ(irq_routing_set(&r, 4, true, 0, MSI_ADDR_BASE, 0x30 | MSI_DATA_TRIGGER_LEVEL), 0);

    int gsi = irq_routing_alloc_gsi(&r);
    CHECK(gsi >= KVM_SPLIT_IRQCHIP_IOAPIC_PINS);
    int gsi2 = irq_routing_alloc_gsi(&r);
    CHECK(gsi2 > gsi);
    /* unallocated GSIs are refused */
    CHECK_EQ(irq_routing_set(&r, IRQ_ROUTING_MAX_GSI - 1, true, 0, MSI_ADDR_BASE, 0x41), -EINVAL);
    CHECK_EQ(irq_routing_set(&r, IRQ_ROUTING_MAX_GSI, true, 0, MSI_ADDR_BASE, 0x41), -EINVAL);
    CHECK_EQ(irq_routing_set(&r, (unsigned)gsi, true, 0x10, MSI_ADDR_BASE | (1 << 12), 0x41), 0);

    int efd = eventfd(0, EFD_CLOEXEC);
    CHECK(efd >= 0);
    CHECK_EQ(irq_routing_irqfd(&r, efd, (unsigned)gsi, true), 0);
    CHECK_EQ(irq_routing_irqfd(&r, efd, (unsigned)gsi, false), 0);
    close(efd);

    /* masking (removing) a route and freeing GSIs */
    CHECK_EQ(irq_routing_set(&r, (unsigned)gsi, false, 0, 0, 0), 0);
    CHECK(!r.routes[gsi].enabled);
    irq_routing_free_gsi(&r, (unsigned)gsi);
    CHECK_EQ(irq_routing_alloc_gsi(&r), gsi); /* reused */
    irq_routing_free_gsi(&r, 3);             /* IOAPIC pins cannot be freed */
    CHECK(r.routes[3].allocated);

    /* direct MSI delivery: to nobody, then to the vCPU with APIC ID 0 */
    CHECK_EQ(irq_routing_send_msi(&r, 0, MSI_ADDR_BASE, 0x31), -ENXIO);
    int vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0UL);
    CHECK(vcpu_fd >= 0);
    CHECK_EQ(irq_routing_send_msi(&r, 0, MSI_ADDR_BASE, 0x31), 0);
    close(vcpu_fd);

    irq_routing_destroy(&r);
    close(vm_fd);
    kvm_close(&kvm);
    return check_result("test_kvm_irq");
}
