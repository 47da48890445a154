#!/usr/bin/env python3
"""Hold one idle KVM vCPU (in-kernel LAPIC, never run) until killed.

Test-host workaround. KVM flips the static keys apic_sw_disabled and
apic_hw_disabled (jump labels in vcpu_enter_guest) whenever their counts go
0 <-> 1, i.e. around every VM start and exit. The kernel patches such jump
labels with int3 (text_poke_bp), and under multi-threaded QEMU-TCG a vCPU of
the test host sometimes executes the stale int3: "Oops: int3 ... RIP:
kvm_arch_vcpu_ioctl_run" and a test-host panic. A vCPU whose APIC is
software-disabled (its reset state) keeps apic_sw_disabled above zero, so
starting and stopping guests no longer patches kernel text.
"""
import fcntl
import os
import signal

KVM_CREATE_VM = 0xAE01
KVM_CREATE_VCPU = 0xAE41
KVM_CREATE_IRQCHIP = 0xAE60

kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
fcntl.ioctl(vm, KVM_CREATE_IRQCHIP, 0)
vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
print("kvm-keepalive: idle vCPU created", flush=True)
while True:
    signal.pause()
