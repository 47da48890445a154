/* SPDX-License-Identifier: MIT */
/* Hardware-reduced ACPI PM registers, driven through the bus callbacks. */
#include "devices/acpi_pm.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_vm_control.h"


static uint8_t rd(struct acpi_pm *pm, unsigned off)
{
    uint8_t v = 0;
    acpi_pm_bus_ops.read(pm, off, &v, 1);
    return v;
}

static void wr(struct acpi_pm *pm, unsigned off, uint8_t v) { acpi_pm_bus_ops.write(pm, off, &v, 1); }

static uint8_t slp(unsigned typ, bool en)
{
    return (uint8_t)(FIELD_PREP(ACPI_SLEEP_CTL_SLP_TYP, typ) | (en ? ACPI_SLEEP_CTL_SLP_EN : 0));
}

int main(void)
{
    struct fake_ctl c = { 0 };
    struct vm_control ctl = { .request_stop = fake_request_stop, .opaque = &c };
    struct acpi_pm *pm = NULL;
    CHECK_EQ(acpi_pm_create(&ctl, &pm), 0);
    CHECK_EQ(ACPI_PM_BUS_LEN, 3);

    CHECK_EQ(rd(pm, ACPI_PM_SLEEP_CONTROL), 0);
    CHECK_EQ(rd(pm, ACPI_PM_SLEEP_STATUS), 0);
    CHECK_EQ(rd(pm, ACPI_PM_RESET), 0);

    /* SLP_TYP alone does nothing; SLP_EN reads back 0. */
    wr(pm, ACPI_PM_SLEEP_CONTROL, slp(LAYOUT_ACPI_S5_SLP_TYP, false));
    CHECK_EQ(c.calls, 0);
    CHECK_EQ(rd(pm, ACPI_PM_SLEEP_CONTROL), slp(LAYOUT_ACPI_S5_SLP_TYP, false));

    /* Other sleep states are not supported: ignored. */
    for (unsigned typ = 0; typ < 8; typ++) {
        if (typ != LAYOUT_ACPI_S5_SLP_TYP)
            wr(pm, ACPI_PM_SLEEP_CONTROL, slp(typ, true));
    }
    CHECK_EQ(c.calls, 0);

    /* WAK_STS is write-1-to-clear (and never set here). */
    wr(pm, ACPI_PM_SLEEP_STATUS, 0xff);
    CHECK_EQ(rd(pm, ACPI_PM_SLEEP_STATUS), 0);

    /* Linux: clear WAK_STS, then SLP_TYP | SLP_EN. */
    wr(pm, ACPI_PM_SLEEP_STATUS, ACPI_SLEEP_STS_WAK_STS);
    wr(pm, ACPI_PM_SLEEP_CONTROL, slp(LAYOUT_ACPI_S5_SLP_TYP, true));
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(c.last, VM_STOP_POWEROFF);

    /* Reset register: only the FADT's RESET_VALUE resets. */
    wr(pm, ACPI_PM_RESET, LAYOUT_ACPI_RESET_VALUE + 1);
    CHECK_EQ(c.calls, 1);
    wr(pm, ACPI_PM_RESET, LAYOUT_ACPI_RESET_VALUE);
    CHECK_EQ(c.calls, 2);
    CHECK_EQ(c.last, VM_STOP_RESET);
    CHECK_EQ(rd(pm, ACPI_PM_RESET), 0);

    /* Bad accesses. */
    uint16_t w = LAYOUT_ACPI_RESET_VALUE;
    acpi_pm_bus_ops.write(pm, ACPI_PM_RESET, &w, 2);
    CHECK_EQ(c.calls, 2);
    acpi_pm_bus_ops.read(pm, 0, &w, 2);
    CHECK_EQ(w, 0xffff);
    uint8_t b = 0;
    acpi_pm_bus_ops.read(pm, ACPI_PM_REGS_LEN, &b, 1);
    CHECK_EQ(b, 0xff);

    acpi_pm_destroy(pm);
    return check_result("test_acpi_pm");
}
