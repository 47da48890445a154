/* SPDX-License-Identifier: MIT */
/*
 * How a device asks the VMM to stop the machine (power-off, reset, guest
 * panic). The VMM implements request(); it records the first reason, kicks
 * the vCPUs and returns at once, so it is safe to call from a vCPU thread
 * inside a bus callback, with device locks held.
 */
#ifndef SLUICE_DEVICES_VM_CONTROL_H
#define SLUICE_DEVICES_VM_CONTROL_H

enum vm_stop_reason {
    VM_STOP_POWEROFF,    /* ACPI S5: exit status 0 */
    VM_STOP_RESET,       /* ACPI reset register, i8042 reset line: exit status 0 */
    VM_STOP_PANIC,       /* pvpanic "panicked": exit status SLUICE_EXIT_GUEST_PANIC */
    VM_STOP_ERROR,       /* triple fault, internal error: exit status SLUICE_EXIT_ERROR */
    VM_STOP_SIGNAL,      /* SIGINT/SIGTERM from the host */
};

/* Process exit statuses (documented in the README). */
#define SLUICE_EXIT_OK 0
#define SLUICE_EXIT_ERROR 1
#define SLUICE_EXIT_USAGE 2
#define SLUICE_EXIT_GUEST_PANIC 3

struct vm_control {
    void (*request_stop)(void *opaque, enum vm_stop_reason reason);
    void *opaque;
};

static inline void vm_control_stop(const struct vm_control *ctl, enum vm_stop_reason reason)
{
    if (ctl && ctl->request_stop)
        ctl->request_stop(ctl->opaque, reason);
}

#endif
