/* SPDX-License-Identifier: MIT */
/*
 * Guest doorbell writes that never leave the kernel: an eventfd bound to a
 * PIO or MMIO address (KVM_IOEVENTFD). The VMM provides the sink; devices
 * (virtio notify) bind and unbind their doorbells when their BARs move.
 * A NULL `set` (device tests) means "not available": the device then sees
 * the write through its bus callback and must signal the eventfd itself.
 */
#ifndef SLUICE_DEVICES_IOEVENT_H
#define SLUICE_DEVICES_IOEVENT_H

#include <stdbool.h>
#include <stdint.h>

struct ioevent_sink {
    /* Bind (assign) or unbind `fd` to writes of `len` bytes (0: any length,
     * MMIO only) at `addr` on the PIO (pio) or MMIO bus. Returns 0 or -errno. */
    int (*set)(void *opaque, bool pio, uint64_t addr, unsigned len, int fd, bool assign);
    void *opaque;
};

#endif
