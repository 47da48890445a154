/* SPDX-License-Identifier: MIT */
/*
 * 5.2.11.1 Differentiated System Description Table (DSDT): the AML namespace.
 *
 *   \_SB.COMn  PNP0501 16550 UART, _UID n, IO + IRQNoFlags
 *   \_SB.RTC   PNP0B00 CMOS RTC, IO + IRQNoFlags
 *   \_SB.PEVT  "QEMU0001" pvpanic, _STA present, IO
 *   \_SB.GSIA..GSID  PNP0C0F PCI interrupt links, one GSI each (level,
 *              active-high, shared), so Linux programs the IOAPIC pins the
 *              way sluice drives them (a _PRT entry naming a GSI directly
 *              would make Linux program level, active-low)
 *   \_SB.PCI0  PNP0A08 PCIe host bridge: _CRS windows, _PRT, _OSC
 *   \_SB.MRES  PNP0C02 motherboard resources: the ECAM, so Linux trusts MCFG
 *   \_S5       sleep type for soft-off (FADT SLEEP_CONTROL_REG)
 */
#include <errno.h>

#include "acpi/acpi_internal.h"
#include "acpi/aml.h"

#define ACPI_HID_UART "PNP0501"
#define ACPI_HID_RTC "PNP0B00"
#define ACPI_HID_PVPANIC "QEMU0001"
#define ACPI_HID_PCIE_HOST "PNP0A08"
#define ACPI_CID_PCI_HOST "PNP0A03"
#define ACPI_HID_PCI_LINK "PNP0C0F"
#define ACPI_HID_MOTHERBOARD "PNP0C02"
/* PCI interrupt link n is \_SB.GSIA + n: its name, and its path for _PRT. */
#define ACPI_PCI_LINK_NAME_PREFIX "GSI"
#define ACPI_PCI_LINK_PREFIX "\\_SB." ACPI_PCI_LINK_NAME_PREFIX
#define ACPI_PCI_LINK_INT_FLAGS (AML_RES_INT_CONSUMER | AML_RES_INT_SHARED) /* level, high */
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

/* 6.2.13 _PRT: 32 device slots x INTA..INTD, each entry Package (4)
 * { Address (slot << 16 | 0xFFFF: any function), Pin, Source, Source Index }. */
#define ACPI_PCI_SLOTS 32
#define ACPI_PRT_ENTRIES (ACPI_PCI_SLOTS * ACPI_PCI_INTX_PINS)
#define ACPI_PRT_ENTRY_ELEMENTS 4
#define ACPI_PRT_SLOT_SHIFT 16
#define ACPI_PRT_ANY_FUNCTION 0xffff
#define ACPI_PRT_LINK_INDEX 0 /* the link's first (only) interrupt */
_Static_assert(ACPI_PRT_ENTRIES <= AML_PACKAGE_MAX_ELEMENTS, "_PRT fits one Package");

/* The _OSC control bits sluice grants the OS: all it knows of except DPC. */
#define ACPI_PCI_OSC_GRANTED                                                        \
    (ACPI_PCI_OSC_CTRL_PCIE_HOTPLUG | ACPI_PCI_OSC_CTRL_SHPC_HOTPLUG |              \
     ACPI_PCI_OSC_CTRL_PCIE_PME | ACPI_PCI_OSC_CTRL_PCIE_AER | ACPI_PCI_OSC_CTRL_PCIE_CAP | \
     ACPI_PCI_OSC_CTRL_LTR)
/* _OSC (Arg0 UUID, Arg1 Revision, Arg2 Count, Arg3 Capabilities buffer): the
 * argument numbers, and names for DWORDs 1 and 3 of the buffer. */
#define ACPI_OSC_ARG_UUID 0
#define ACPI_OSC_ARG_REVISION 1
#define ACPI_OSC_ARG_CAPS 3
#define ACPI_OSC_ARGS 4
#define ACPI_OSC_CDW1 "CDW1"
#define ACPI_OSC_CDW3 "CDW3"
#define ACPI_OSC_LOCAL_GRANTED 0

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

/* \_SB.GSIx: a PCI interrupt link fixed to one GSI. Linux calls _SRS with
 * the only setting _PRS offers, so _SRS has nothing to do. */
static void acpi_dsdt_pci_link(struct aml *a, unsigned pin, uint32_t gsi)
{
    char name[AML_NAMESEG_LEN + 1] = ACPI_PCI_LINK_NAME_PREFIX;
    static const char *const res_names[] = { "_PRS", "_CRS" };
    struct aml_mark dev, res, srs;

    name[sizeof(ACPI_PCI_LINK_NAME_PREFIX) - 1] = (char)('A' + pin);
    dev = aml_device_begin(a, name);
    aml_name_eisaid(a, "_HID", ACPI_HID_PCI_LINK);
    aml_name_integer(a, "_UID", pin);
    for (size_t i = 0; i < sizeof(res_names) / sizeof(res_names[0]); i++) {
        res = aml_name_resource_template_begin(a, res_names[i]);
        aml_res_interrupt(a, ACPI_PCI_LINK_INT_FLAGS, gsi);
        aml_end(a, res);
    }
    srs = aml_method_begin(a, "_SRS", 1, false);
    aml_end(a, srs);
    aml_end(a, dev);
}

static void acpi_dsdt_pci_crs(struct aml *a, const struct acpi_pci *pci)
{
    struct aml_mark crs = aml_name_resource_template_begin(a, "_CRS");

    aml_res_word_bus_number(a, pci->start_bus, pci->end_bus);
    acpi_dsdt_fixed_io(a, pci->config_port, ACPI_PCI_CONFIG_PORTS);
    aml_res_word_io(a, 0, (uint16_t)(pci->config_port - 1));
    aml_res_word_io(a, (uint16_t)(pci->config_port + ACPI_PCI_CONFIG_PORTS),
                    (uint16_t)(pci->io_base + pci->io_size - 1));
    aml_res_dword_memory(a, AML_RES_MEM_RW | AML_RES_MEM_NON_CACHEABLE, pci->mmio32_base,
                         pci->mmio32_base + (pci->mmio32_size - 1));
    if (pci->mmio64_size)
        aml_res_qword_memory(a, AML_RES_MEM_RW | AML_RES_MEM_CACHEABLE, pci->mmio64_base,
                             pci->mmio64_base + (pci->mmio64_size - 1));
    aml_end(a, crs);
}

/* Slot s pin p -> link (s + p) % 4: the swizzle of layout.h. */
static void acpi_dsdt_pci_prt(struct aml *a)
{
    char link[] = ACPI_PCI_LINK_PREFIX "A";
    struct aml_mark prt, entry;

    aml_name(a, "_PRT");
    prt = aml_package_begin(a, ACPI_PRT_ENTRIES);
    for (unsigned slot = 0; slot < ACPI_PCI_SLOTS; slot++) {
        for (unsigned pin = 0; pin < ACPI_PCI_INTX_PINS; pin++) {
            link[sizeof(link) - 2] = (char)('A' + (slot + pin) % ACPI_PCI_INTX_PINS);
            entry = aml_package_begin(a, ACPI_PRT_ENTRY_ELEMENTS);
            aml_integer(a, (uint64_t)slot << ACPI_PRT_SLOT_SHIFT | ACPI_PRT_ANY_FUNCTION);
            aml_integer(a, pin);                 /* Pin: 0 = INTA */
            aml_namestring(a, link);             /* Source: the link device */
            aml_integer(a, ACPI_PRT_LINK_INDEX); /* Source Index */
            aml_end(a, entry);
        }
    }
    aml_end(a, prt);
}

/* Or (CDW1, bit, CDW1) */
static void acpi_dsdt_osc_set_status(struct aml *a, uint32_t bit)
{
    aml_or(a);
    aml_namestring(a, ACPI_OSC_CDW1);
    aml_integer(a, bit);
    aml_namestring(a, ACPI_OSC_CDW1);
}

/* The PCI host bridge UUID: grant the known controls, flag the rest. */
static void acpi_dsdt_osc_pci(struct aml *a)
{
    struct aml_mark cond;

    aml_create_dword_field(a, ACPI_OSC_ARG_CAPS, ACPI_OSC_DWORD_CONTROL * ACPI_OSC_DWORD_SIZE,
                           ACPI_OSC_CDW3);
    aml_and(a); /* Local0 = CDW3 & granted */
    aml_namestring(a, ACPI_OSC_CDW3);
    aml_integer(a, ACPI_PCI_OSC_GRANTED);
    aml_local(a, ACPI_OSC_LOCAL_GRANTED);
    cond = aml_if_begin(a); /* If (Arg1 != 1): unknown revision */
    aml_lnot(a);
    aml_lequal(a);
    aml_arg(a, ACPI_OSC_ARG_REVISION);
    aml_integer(a, ACPI_PCI_OSC_REVISION);
    acpi_dsdt_osc_set_status(a, ACPI_OSC_ERR_UNRECOGNIZED_REVISION);
    aml_end(a, cond);
    cond = aml_if_begin(a); /* If (CDW3 != Local0): some control refused */
    aml_lnot(a);
    aml_lequal(a);
    aml_namestring(a, ACPI_OSC_CDW3);
    aml_local(a, ACPI_OSC_LOCAL_GRANTED);
    acpi_dsdt_osc_set_status(a, ACPI_OSC_ERR_CAPABILITIES_MASKED);
    aml_end(a, cond);
    aml_store(a); /* CDW3 = Local0 */
    aml_local(a, ACPI_OSC_LOCAL_GRANTED);
    aml_namestring(a, ACPI_OSC_CDW3);
}

/*
 * _OSC (UUID, Revision, Count, Capabilities) per PCI Firmware 4.5 and ACPI
 * 6.2.11: returns the capabilities buffer with the granted controls in
 * DWORD 3 and the errors in DWORD 1.
 */
static void acpi_dsdt_pci_osc(struct aml *a)
{
    struct aml_mark meth, cond, other;

    meth = aml_method_begin(a, "_OSC", ACPI_OSC_ARGS, false);
    aml_create_dword_field(a, ACPI_OSC_ARG_CAPS, ACPI_OSC_DWORD_STATUS * ACPI_OSC_DWORD_SIZE,
                           ACPI_OSC_CDW1);
    cond = aml_if_begin(a);
    aml_lequal(a);
    aml_arg(a, ACPI_OSC_ARG_UUID);
    aml_touuid(a, ACPI_PCI_OSC_UUID);
    acpi_dsdt_osc_pci(a);
    aml_end(a, cond);
    other = aml_else_begin(a);
    acpi_dsdt_osc_set_status(a, ACPI_OSC_ERR_UNRECOGNIZED_UUID);
    aml_end(a, other);
    aml_return(a);
    aml_arg(a, ACPI_OSC_ARG_CAPS);
    aml_end(a, meth);
}

/* No _ADR: iasl rightly warns that a device has a _HID or an _ADR, not both. */
static void acpi_dsdt_pci_host(struct aml *a, const struct acpi_pci *pci)
{
    struct aml_mark dev = aml_device_begin(a, "PCI0");

    aml_name_eisaid(a, "_HID", ACPI_HID_PCIE_HOST);
    aml_name_eisaid(a, "_CID", ACPI_CID_PCI_HOST);
    aml_name_integer(a, "_UID", 0);
    aml_name_integer(a, "_SEG", pci->segment);
    aml_name_integer(a, "_BBN", pci->start_bus);
    acpi_dsdt_pci_crs(a, pci);
    acpi_dsdt_pci_prt(a);
    acpi_dsdt_pci_osc(a);
    aml_end(a, dev);
}

/* PNP0C02 reserving the ECAM of the decoded buses (Linux's MMCONFIG check). */
static void acpi_dsdt_motherboard(struct aml *a, const struct acpi_pci *pci)
{
    uint64_t base = pci->ecam_base + ((uint64_t)pci->start_bus << ACPI_ECAM_BUS_SHIFT);
    uint64_t len = (uint64_t)(pci->end_bus - pci->start_bus + 1) << ACPI_ECAM_BUS_SHIFT;
    struct aml_mark dev, crs;

    dev = aml_device_begin(a, "MRES");
    aml_name_eisaid(a, "_HID", ACPI_HID_MOTHERBOARD);
    aml_name_integer(a, "_UID", 0);
    crs = aml_name_resource_template_begin(a, "_CRS");
    aml_res_memory32_fixed(a, true, (uint32_t)base, (uint32_t)len); /* acpi_build() checked < 4 GiB */
    aml_end(a, crs);
    aml_end(a, dev);
}

static void acpi_dsdt_pci(struct aml *a, const struct acpi_pci *pci)
{
    for (unsigned pin = 0; pin < ACPI_PCI_INTX_PINS; pin++)
        acpi_dsdt_pci_link(a, pin, pci->intx_gsi_base + pin);
    acpi_dsdt_pci_host(a, pci);
    acpi_dsdt_motherboard(a, pci);
}

static void acpi_dsdt_sb(struct aml *a, const struct acpi_machine *m)
{
    struct aml_mark sb = aml_scope_begin(a, ACPI_DSDT_SB);

    if (m->pci.present)
        acpi_dsdt_pci(a, &m->pci);
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
