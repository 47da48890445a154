/* SPDX-License-Identifier: MIT */
/* Load the boot CPU state computed by vmm/boot_cpu.h into a vCPU. */
#ifndef SLUICE_VMM_VCPU_BOOT_H
#define SLUICE_VMM_VCPU_BOOT_H

#include "vmm/boot_cpu.h"
#include "vmm/vcpu.h"

/* Returns 0 or -errno from KVM_SET_REGS/SREGS. */
int vcpu_load_boot_state(struct vcpu *vcpu, const struct boot_cpu_state *st)
    __attribute__((warn_unused_result));

#endif
