/* SPDX-License-Identifier: MIT */
/* A vm_control that records stop requests, for device tests. */
#ifndef SLUICE_TESTS_FAKE_VM_CONTROL_H
#define SLUICE_TESTS_FAKE_VM_CONTROL_H

#include "devices/vm_control.h"

struct fake_ctl {
    unsigned calls;
    enum vm_stop_reason last;
};

static inline void fake_request_stop(void *opaque, enum vm_stop_reason reason)
{
    struct fake_ctl *c = opaque;
    c->calls++;
    c->last = reason;
}

#endif
