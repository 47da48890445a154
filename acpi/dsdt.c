/* SPDX-License-Identifier: MIT */
/*
 * 5.2.11.1 Differentiated System Description Table (DSDT): the AML namespace.
 *
 *   \_SB.COMn  PNP0501 16550 UART, _UID n, IO + IRQNoFlags
 *   \_SB.RTC   PNP0B00 CMOS RTC, IO + IRQNoFlags
 *   \_SB.PEVT  "QEMU0001" pvpanic, _STA present, IO
 *   \_S5       sleep type for soft-off (FADT SLEEP_CONTROL_REG)
 */
#include <errno.h>

#include "acpi/acpi_internal.h"
#include "acpi/aml.h"

#define ACPI_HID_UART "PNP0501"
#define ACPI_HID_RTC "PNP0B00"
#define ACPI_HID_PVPANIC "QEMU0001"
#define ACPI_UART_NAME_PREFIX "COM" /* COM1, COM2, ...: one digit */
#define ACPI_UART_FIRST_UID 1
_Static_assert(ACPI_UART_FIRST_UID + ACPI_MAX_UARTS - 1 <= 9, "UART names have one digit");

/* 6.3.7 _STA (Device Status) bits */
#define ACPI_STA_PRESENT ACPI_BIT(0)
#define ACPI_STA_ENABLED ACPI_BIT(1)
#define ACPI_STA_SHOW_IN_UI ACPI_BIT(2)
#define ACPI_STA_FUNCTIONING ACPI_BIT(3)
#define ACPI_STA_DEVICE_OK \
    (ACPI_STA_PRESENT | ACPI_STA_ENABLED | ACPI_STA_SHOW_IN_UI | ACPI_STA_FUNCTIONING)

/* The DSDT's top level is the namespace root, so these are \_SB and \_S5;
 * written without the root prefix, as iasl encodes them. */
#define ACPI_DSDT_SB "_SB"
#define ACPI_DSDT_S5 "_S5"

/* Fixed I/O ranges: _MIN == _MAX, so the alignment is just "any byte". */
#define ACPI_IO_ALIGN_ANY 1

/* 7.4.2 \_Sx package: SLP_TYPa, SLP_TYPb, then two reserved entries. */
#define ACPI_SX_PACKAGE_ELEMENTS 4

static void acpi_dsdt_fixed_io(struct aml *a, uint16_t port, uint8_t len)
{
    aml_res_io(a, port, port, ACPI_IO_ALIGN_ANY, len);
}

static void acpi_dsdt_uart(struct aml *a, const struct acpi_uart *u, unsigned uid)
{
    char name[AML_NAMESEG_LEN + 1] = ACPI_UART_NAME_PREFIX;
    struct aml_mark dev, crs;

    name[sizeof(ACPI_UART_NAME_PREFIX) - 1] = (char)('0' + uid);
    dev = aml_device_begin(a, name);
    aml_name_eisaid(a, "_HID", ACPI_HID_UART);
    aml_name_integer(a, "_UID", uid);
    crs = aml_name_resource_template_begin(a, "_CRS");
    acpi_dsdt_fixed_io(a, u->port, u->port_len);
    aml_res_irq_noflags(a, u->isa_irq);
    aml_end(a, crs);
    aml_end(a, dev);
}

static void acpi_dsdt_rtc(struct aml *a, const struct acpi_isa_dev *rtc)
{
    struct aml_mark dev, crs;

    dev = aml_device_begin(a, "RTC");
    aml_name_eisaid(a, "_HID", ACPI_HID_RTC);
    crs = aml_name_resource_template_begin(a, "_CRS");
    acpi_dsdt_fixed_io(a, rtc->port, rtc->port_len);
    aml_res_irq_noflags(a, rtc->isa_irq);
    aml_end(a, crs);
    aml_end(a, dev);
}

static void acpi_dsdt_pvpanic(struct aml *a, const struct acpi_isa_dev *pvpanic)
{
    struct aml_mark dev, crs;

    dev = aml_device_begin(a, "PEVT");
    aml_name_string(a, "_HID", ACPI_HID_PVPANIC);
    aml_name_integer(a, "_STA", ACPI_STA_DEVICE_OK);
    crs = aml_name_resource_template_begin(a, "_CRS");
    acpi_dsdt_fixed_io(a, pvpanic->port, pvpanic->port_len);
    aml_end(a, crs);
    aml_end(a, dev);
}

static void acpi_dsdt_sb(struct aml *a, const struct acpi_machine *m)
{
    struct aml_mark sb = aml_scope_begin(a, ACPI_DSDT_SB);

    for (unsigned i = 0; i < m->nuarts; i++)
        acpi_dsdt_uart(a, &m->uarts[i], ACPI_UART_FIRST_UID + i);
    if (m->rtc.present)
        acpi_dsdt_rtc(a, &m->rtc);
    if (m->pvpanic.present)
        acpi_dsdt_pvpanic(a, &m->pvpanic);
    aml_end(a, sb);
}

static void acpi_dsdt_s5(struct aml *a, const struct acpi_machine *m)
{
    struct aml_mark pkg;

    aml_name(a, ACPI_DSDT_S5);
    pkg = aml_package_begin(a, ACPI_SX_PACKAGE_ELEMENTS);
    aml_integer(a, m->pm.s5_slp_typ); /* SLP_TYPa */
    aml_integer(a, m->pm.s5_slp_typ); /* SLP_TYPb (unused: no PM1b) */
    aml_integer(a, 0);                /* Reserved */
    aml_integer(a, 0);                /* Reserved */
    aml_end(a, pkg);
}

int acpi_build_dsdt(struct acpi_ctx *ctx, const struct acpi_machine *m)
{
    const size_t hdr = sizeof(struct acpi_table_header);
    struct aml a;
    size_t offset;
    int ret;

    aml_init(&a);
    acpi_dsdt_sb(&a, m);
    acpi_dsdt_s5(&a, m);
    ret = aml_finish(&a);
    if (ret == -E2BIG)
        ret = -ENOSPC;
    if (ret)
        goto out_free_aml;
    ret = acpi_table_add(ctx, ACPI_SIG_DSDT, ACPI_DSDT_REVISION, hdr + a.len, false, &offset);
    if (ret)
        goto out_free_aml;
    acpi_ctx_write(ctx, offset + hdr, a.data, a.len); /* Definition Block */
out_free_aml:
    aml_free(&a);
    return ret;
}
