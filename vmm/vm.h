/* SPDX-License-Identifier: MIT */
/*
 * The virtual machine: KVM VM, guest RAM, buses, interrupt routing, devices
 * (vmm/machine.h), vCPUs, host console and the main event loop.
 *
 * Order: vm_create() -> vm_run() -> vm_destroy(). vm_create() unwinds
 * everything it made on failure; vm_destroy() is safe after a failed create.
 */
#ifndef SLUICE_VMM_VM_H
#define SLUICE_VMM_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "vmm/cli.h"
#include "vmm/event_loop.h"
#include "vmm/guest_mem.h"
#include "vmm/irq_routing.h"
#include "vmm/kvm.h"
#include "iommu/ir_sink.h"
#include "vmm/ioevent.h"
#include "vmm/machine.h"
#include "vmm/machine_pci.h"
#include "vmm/mem_slots.h"
#include "vmm/serial_backend.h"
#include "vmm/vcpu.h"

#define VM_NO_STOP (-1)

struct vm {
    const struct cli_options *opts;
    struct timespec start;  /* process start, for the boot timer */
    struct kvm kvm;
    int vm_fd;
    struct guest_mem mem;
    struct kvm_mem_slots slots;  /* device memory slots (passthrough BARs) */
    bool slots_ready;
    struct bus pio, mmio;
    bool buses_ready;
    struct irq_routing irq;
    bool irq_ready;
    struct ir_sink ir;      /* every MSI and GSI route passes here (interrupt remapping) */
    bool ir_ready;
    struct vcpu_env env;
    struct vcpu *vcpus;
    unsigned nvcpus_created;
    struct serial_backend serial;
    struct machine machine;
    bool machine_ready;
    struct kvm_ioevent ioevent;
    struct machine_pci pci;
    bool pci_ready;
    struct event_loop loop;
    int stop_fd;            /* eventfd written by vm_request_stop */
    int signal_fd;          /* SIGINT/SIGTERM/SIGHUP */
    atomic_int stop_reason; /* enum vm_stop_reason or VM_NO_STOP; first one wins */
    int stop_signal;
};

/*
 * Build the whole machine from validated options; `start` is the process
 * start (CLOCK_MONOTONIC) the boot timer counts from. On failure returns -errno,
 * writes one line into err and sets *user_error when the cause is the user's
 * input or host setup (bad kernel file, /dev/kvm missing, memory too large...).
 */
int vm_create(struct vm *vm, const struct cli_options *opts, const struct timespec *start,
              bool *user_error, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Start the vCPUs and run until the guest or the host stops the VM.
 * Returns the process exit status (SLUICE_EXIT_*, or 128+signal). */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* The vm_control callback: record `reason` (first wins) and wake vm_run. */
void vm_request_stop(void *opaque, enum vm_stop_reason reason);

#endif
