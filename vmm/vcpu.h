/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: one KVM vCPU fd and one thread each.
 *
 * Order: vcpu_create() for every vCPU (CPUID and MSRs set), vcpu_set_registers()
 * on the boot vCPU, vcpu_start() for every vCPU, then eventually
 * vcpu_kick_all-style vcpu_kick() + vcpu_join(), and vcpu_destroy().
 * Application processors wait in KVM for INIT/SIPI from the boot vCPU.
 *
 * Exits are dispatched to the PIO/MMIO buses and the EOI handler in `env`;
 * anything fatal (triple fault, internal error, failed entry) logs the
 * registers and asks env->ctl to stop with VM_STOP_ERROR.
 */
#ifndef SLUICE_VMM_VCPU_H
#define SLUICE_VMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/vm_control.h"

struct kvm;
struct topology;
struct kvm_run;
struct kvm_regs;
struct kvm_sregs;

/* Shared by all vCPUs of a VM; owned by the VM, outlives every vCPU thread. */
struct vcpu_env {
    struct bus *pio;
    struct bus *mmio;
    void (*ioapic_eoi)(void *opaque, uint8_t vector);
    void *ioapic_opaque;
    struct vm_control ctl;
    atomic_bool stopping;   /* set once the VM is stopping: threads leave their loop */
};

struct vcpu {
    unsigned index;
    uint32_t apic_id;
    int fd;
    struct kvm_run *run;
    int run_size;
    pthread_t thread;
    bool started;
    struct vcpu_env *env;
    /* exits handled in userspace, and the time spent handling them */
    uint64_t exits_io, exits_mmio, exits_other, handle_ns;
};

/* Signal used to kick a vCPU thread out of KVM_RUN. */
#define VCPU_KICK_SIGNAL SIGUSR1

/* Install the (no-op) kick signal handler; call once before vcpu_start(). */
int vcpu_install_kick_handler(void) __attribute__((warn_unused_result));

/*
 * Create vCPU `index` of `topo` (vmm/topology.h, only read during the call):
 * KVM vCPU id = its APIC ID topo->apic_ids[index] (KVM makes the vCPU id the
 * x2APIC ID), CPUID describing the topology, initial MSRs. Returns 0 or
 * -errno (logged). On failure nothing is left open.
 */
int vcpu_create(struct vcpu *vcpu, struct kvm *kvm, int vm_fd, unsigned index,
                const struct topology *topo, struct vcpu_env *env)
    __attribute__((warn_unused_result));
/* Set general and special registers (boot vCPU). Returns 0 or -errno. */
int vcpu_set_registers(struct vcpu *vcpu, const struct kvm_regs *regs, const struct kvm_sregs *sregs)
    __attribute__((warn_unused_result));
/* Start the vCPU thread. Returns 0 or -errno. */
int vcpu_start(struct vcpu *vcpu) __attribute__((warn_unused_result));
/* Make the vCPU leave KVM_RUN soon (env->stopping should be set first). */
void vcpu_kick(struct vcpu *vcpu);
/* Wait for the thread to end (no-op if it never started). */
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

/* Log the vCPU's registers at error level (used on fatal exits). */
void vcpu_dump_registers(struct vcpu *vcpu);

#endif
