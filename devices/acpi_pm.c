/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "acpi-pm"
#include "devices/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

struct acpi_pm {
    pthread_mutex_t lock;
    struct vm_control ctl;
    uint8_t regs[ACPI_PM_REGS_LEN]; /* shadow register file */
};

/*
 * One row per register: the shadow keeps `wmask` bits of a write and clears
 * the `w1c` bits written as 1; `after_write` sees the raw value written.
 */
struct acpi_pm_reg {
    const char *name;
    uint8_t wmask;
    uint8_t w1c;
    void (*after_write)(struct acpi_pm *pm, uint8_t val);
};

static void acpi_pm_sleep_control_write(struct acpi_pm *pm, uint8_t val)
{
    if (!(val & ACPI_SLEEP_CTL_SLP_EN))
        return;
    unsigned typ = (unsigned)FIELD_GET(ACPI_SLEEP_CTL_SLP_TYP, val);
    if (typ == LAYOUT_ACPI_S5_SLP_TYP) {
        LOG_INFO("guest entered S5: power off");
        vm_control_stop(&pm->ctl, VM_STOP_POWEROFF);
        return;
    }
    LOG_RATELIMITED(LOG_LEVEL_WARN, "sleep type %u requested: not supported, ignored", typ);
}

static void acpi_pm_reset_write(struct acpi_pm *pm, uint8_t val)
{
    if (val == LAYOUT_ACPI_RESET_VALUE) {
        LOG_INFO("guest wrote the ACPI reset register: reboot");
        vm_control_stop(&pm->ctl, VM_STOP_RESET);
        return;
    }
    LOG_RATELIMITED(LOG_LEVEL_WARN, "reset register write 0x%02x (expected 0x%02x) ignored", val,
                    LAYOUT_ACPI_RESET_VALUE);
}

static const struct acpi_pm_reg acpi_pm_regs[ACPI_PM_REGS_LEN] = {
    [ACPI_PM_SLEEP_CONTROL] = { "SLEEP_CONTROL", (uint8_t)ACPI_SLEEP_CTL_SLP_TYP, 0,
                                acpi_pm_sleep_control_write },
    [ACPI_PM_SLEEP_STATUS] = { "SLEEP_STATUS", 0, (uint8_t)ACPI_SLEEP_STS_WAK_STS, NULL },
    [ACPI_PM_RESET] = { "RESET", 0, 0, acpi_pm_reset_write },
};

static bool acpi_pm_access_ok(uint64_t offset, unsigned size)
{
    if (size == 1 && offset < ACPI_PM_REGS_LEN)
        return true;
    LOG_RATELIMITED(LOG_LEVEL_WARN, "bad access of size %u at offset 0x%llx", size,
                    (unsigned long long)offset);
    return false;
}

static void acpi_pm_bus_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    struct acpi_pm *pm = opaque;
    memset(data, 0xff, size);
    if (!acpi_pm_access_ok(offset, size))
        return;
    pthread_mutex_lock(&pm->lock);
    *(uint8_t *)data = pm->regs[offset];
    pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_bus_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct acpi_pm *pm = opaque;
    if (!acpi_pm_access_ok(offset, size))
        return;
    const struct acpi_pm_reg *r = &acpi_pm_regs[offset];
    uint8_t val = *(const uint8_t *)data;
    pthread_mutex_lock(&pm->lock);
    uint8_t v = (uint8_t)((pm->regs[offset] & ~r->wmask) | (val & r->wmask));
    v &= (uint8_t)~(val & r->w1c);
    pm->regs[offset] = v;
    if (r->after_write)
        r->after_write(pm, val);
    pthread_mutex_unlock(&pm->lock);
}

const struct bus_ops acpi_pm_bus_ops = { .read = acpi_pm_bus_read, .write = acpi_pm_bus_write };

int acpi_pm_create(const struct vm_control *ctl, struct acpi_pm **out)
{
    if (!ctl || !out)
        return -EINVAL;
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return -ENOMEM;
    int ret = -pthread_mutex_init(&pm->lock, NULL);
    if (ret) {
        free(pm);
        return ret;
    }
    pm->ctl = *ctl;
    *out = pm;
    return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
    if (!pm)
        return;
    pthread_mutex_destroy(&pm->lock);
    free(pm);
}
