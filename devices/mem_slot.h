/* SPDX-License-Identifier: MIT */
/*
 * Memory slots for devices: host memory (a passthrough device's mmapped BAR)
 * the guest reaches directly, without an exit per access. vmm/ implements it
 * with KVM memory slots; device tests use a fake.
 *
 * add() maps [gpa, gpa + size) (both 4 KiB aligned, size > 0) to `host`
 * (page aligned, valid for size bytes until remove()) and returns a handle
 * >= 0, or -errno (-ENOSPC: no slot left, -EEXIST: overlaps RAM or another
 * slot). remove() takes the handle back; the guest sees the bus (MMIO
 * exits) there again. Both may run on any thread (vCPU threads placing
 * BARs); the implementation locks.
 */
#ifndef SLUICE_DEVICES_MEM_SLOT_H
#define SLUICE_DEVICES_MEM_SLOT_H

#include <stdint.h>

struct mem_slot_sink {
    int (*add)(void *opaque, uint64_t gpa, uint64_t size, void *host);
    void (*remove)(void *opaque, int handle);
    void *opaque;
};

#endif
