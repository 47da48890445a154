/* SPDX-License-Identifier: MIT */
/* pvpanic model, driven through the bus callbacks. */
#include "devices/pvpanic.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_vm_control.h"


int main(void)
{
    struct fake_ctl c = { 0 };
    struct vm_control ctl = { .request_stop = fake_request_stop, .opaque = &c };
    struct pvpanic *p = NULL;
    CHECK_EQ(pvpanic_create(&ctl, &p), 0);

    uint8_t v = 0;
    pvpanic_bus_ops.read(p, 0, &v, 1);
    CHECK_EQ(v, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);

    v = PVPANIC_CRASH_LOADED;
    pvpanic_bus_ops.write(p, 0, &v, 1);
    CHECK_EQ(c.calls, 0);
    v = 0x80; /* unsupported event */
    pvpanic_bus_ops.write(p, 0, &v, 1);
    CHECK_EQ(c.calls, 0);

    v = PVPANIC_PANICKED;
    pvpanic_bus_ops.write(p, 0, &v, 1);
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(c.last, VM_STOP_PANIC);

    struct pvpanic_stats st;
    pvpanic_get_stats(p, &st);
    CHECK_EQ(st.panicked, 1);
    CHECK_EQ(st.crash_loaded, 1);

    uint16_t w = PVPANIC_PANICKED;
    pvpanic_bus_ops.write(p, 0, &w, 2);
    CHECK_EQ(c.calls, 1);
    pvpanic_bus_ops.read(p, 0, &w, 2);
    CHECK_EQ(w, 0xffff);

    pvpanic_destroy(p);
    return check_result("test_pvpanic");
}
