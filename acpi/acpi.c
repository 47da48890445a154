/* SPDX-License-Identifier: MIT */
/* acpi_build(): validate the machine, run the table builders, then the XSDT,
 * the checksums and the RSDP. */
#define LOG_MODULE "acpi"
#include "acpi/acpi.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "acpi/acpi_internal.h"
#include "vmm/layout.h"
#include "vmm/log.h"

typedef int (*acpi_builder_fn)(struct acpi_ctx *ctx, const struct acpi_machine *m);

struct acpi_builder {
    const char *name;
    acpi_builder_fn build;
};

#define ACPI_BUILDER_ENTRY(n) { #n, acpi_build_##n },
static const struct acpi_builder acpi_builders[] = { ACPI_TABLE_LIST(ACPI_BUILDER_ENTRY) };
#undef ACPI_BUILDER_ENTRY

#define ACPI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ACPI_ISA_IRQS 16
#define ACPI_SLP_TYP_MAX 7
/* Largest ACPI Processor UID a Processor Local APIC structure can carry
 * (0xff means "all processors" in the NMI structure). */
#define ACPI_XAPIC_UID_MAX 0xfe
/* The IRQ0 -> GSI2 override needs IOAPIC pin 2. */
#define ACPI_IOAPIC_MIN_PINS 3
#define ACPI_4GIB (4 * LAYOUT_GiB)
#define ACPI_IO_SPACE_SIZE 0x10000u /* 16-bit port addresses */
/* IVinfo address widths sluice can describe (7-bit fields, in bits). */
#define ACPI_AMD_ADDR_BITS_MIN 32
#define ACPI_AMD_ADDR_BITS_MAX 64
#define ACPI_PCI_CAP_ALIGN 4 /* capabilities are dword aligned */
/* IVinfo defaults: 48-bit guest physical addresses, 64-bit IOVAs (6-level
 * v1 tables), 4-level v2 tables. */
#define ACPI_AMD_DEFAULT_PA_BITS 48
#define ACPI_AMD_DEFAULT_VA_BITS 64

void acpi_machine_init(struct acpi_machine *m, unsigned ncpus, const uint32_t *apic_ids)
{
    memset(m, 0, sizeof(*m));
    m->ncpus = ncpus;
    m->apic_ids = apic_ids;
    m->lapic_addr = (uint32_t)LAYOUT_LAPIC_BASE;
    m->ioapic.id = LAYOUT_IOAPIC_ID;
    m->ioapic.addr = (uint32_t)LAYOUT_IOAPIC_BASE;
    m->ioapic.gsi_base = LAYOUT_IOAPIC_GSI_BASE;
    m->ioapic.pins = LAYOUT_IOAPIC_PINS;
    m->nuarts = 1;
    m->uarts[0] = (struct acpi_uart){
        .port = LAYOUT_PORT_COM1, .port_len = LAYOUT_PORT_COM_LEN, .isa_irq = LAYOUT_IRQ_COM1,
    };
    m->rtc = (struct acpi_isa_dev){
        .present = true, .port = LAYOUT_PORT_RTC, .port_len = LAYOUT_PORT_RTC_LEN,
        .isa_irq = LAYOUT_IRQ_RTC,
    };
    m->rtc_century_index = LAYOUT_RTC_CENTURY_INDEX;
    m->pvpanic = (struct acpi_isa_dev){
        .present = true, .port = LAYOUT_PORT_PVPANIC, .port_len = LAYOUT_PORT_PVPANIC_LEN,
    };
    m->pm.sleep_ctl_port = LAYOUT_PORT_ACPI_SLEEP_CTL;
    m->pm.sleep_sts_port = LAYOUT_PORT_ACPI_SLEEP_STS;
    m->pm.reset_port = LAYOUT_PORT_ACPI_RESET;
    m->pm.reset_value = LAYOUT_ACPI_RESET_VALUE;
    m->pm.s5_slp_typ = LAYOUT_ACPI_S5_SLP_TYP;
    m->amd_ivinfo = (struct acpi_amd_ivinfo){
        .pa_bits = ACPI_AMD_DEFAULT_PA_BITS,
        .va_bits = ACPI_AMD_DEFAULT_VA_BITS,
        .gva_bits = ACPI_AMD_GVA_BITS_4LEVEL,
    };
}

void acpi_machine_init_pci(struct acpi_machine *m, uint64_t ram_end)
{
    m->pci = (struct acpi_pci){
        .present = true,
        .ecam_base = LAYOUT_ECAM_BASE,
        .segment = 0,
        .start_bus = 0,
        .end_bus = LAYOUT_ECAM_BUSES - 1,
        .config_port = LAYOUT_PORT_PCI_CONFIG_ADDR,
        .mmio32_base = (uint32_t)LAYOUT_PCI_MMIO32_START,
        .mmio32_size = (uint32_t)LAYOUT_PCI_MMIO32_SIZE,
        .mmio64_base = layout_pci_mmio64_start(ram_end),
        .mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
        .io_base = (uint16_t)LAYOUT_PCI_IO_START,
        .io_size = (uint32_t)LAYOUT_PCI_IO_SIZE,
        .intx_gsi_base = LAYOUT_PCI_INTX_GSI_BASE,
    };
}

/* vCPU i's APIC ID: describable, and not used by an earlier vCPU. */
static int acpi_check_apic_id(const struct acpi_machine *m, unsigned i)
{
    uint32_t id = m->apic_ids[i];

    if (id == ACPI_X2APIC_BROADCAST_ID) {
        LOG_ERR("vCPU %u: APIC ID 0x%x is the x2APIC broadcast ID", i, id);
        return -EINVAL;
    }
    if (id < ACPI_MADT_X2APIC_MIN_ID && i > ACPI_XAPIC_UID_MAX) {
        LOG_ERR("vCPU %u: an xAPIC ID (0x%x) needs a processor UID below 255", i, id);
        return -EINVAL;
    }
    for (unsigned j = 0; j < i; j++) {
        if (m->apic_ids[j] == id) {
            LOG_ERR("vCPUs %u and %u share APIC ID 0x%x", j, i, id);
            return -EINVAL;
        }
    }
    return 0;
}

static int acpi_check_cpus(const struct acpi_machine *m)
{
    int ret = 0;

    if (m->ncpus == 0 || !m->apic_ids) {
        LOG_ERR("no vCPUs to describe");
        return -EINVAL;
    }
    for (unsigned i = 0; i < m->ncpus && !ret; i++)
        ret = acpi_check_apic_id(m, i);
    return ret;
}

static int acpi_check_isa_dev(const char *what, uint8_t port_len, uint8_t isa_irq)
{
    if (port_len == 0 || isa_irq >= ACPI_ISA_IRQS) {
        LOG_ERR("%s: needs at least one I/O port and an ISA IRQ below %d", what, ACPI_ISA_IRQS);
        return -EINVAL;
    }
    return 0;
}

static int acpi_check_devices(const struct acpi_machine *m)
{
    int ret = 0;

    if (m->nuarts > ACPI_MAX_UARTS) {
        LOG_ERR("%u UARTs: at most %d can be described", m->nuarts, ACPI_MAX_UARTS);
        return -EINVAL;
    }
    for (unsigned i = 0; i < m->nuarts && !ret; i++)
        ret = acpi_check_isa_dev("UART", m->uarts[i].port_len, m->uarts[i].isa_irq);
    if (!ret && m->rtc.present)
        ret = acpi_check_isa_dev("RTC", m->rtc.port_len, m->rtc.isa_irq);
    if (!ret && m->pvpanic.present && m->pvpanic.port_len == 0) {
        LOG_ERR("pvpanic: needs one I/O port");
        ret = -EINVAL;
    }
    return ret;
}

/* The ECAM of the decoded buses: 1 MiB aligned, below 4 GiB (the
 * motherboard-resources device reserves it with a Memory32Fixed). */
static int acpi_check_pci_ecam(const struct acpi_pci *pci)
{
    uint64_t ecam_end = pci->ecam_base + ((uint64_t)(pci->end_bus + 1) << ACPI_ECAM_BUS_SHIFT);

    if (pci->start_bus > pci->end_bus) {
        LOG_ERR("PCI: bus range %u..%u is empty", pci->start_bus, pci->end_bus);
        return -EINVAL;
    }
    if (pci->ecam_base & ((1ull << ACPI_ECAM_BUS_SHIFT) - 1) || ecam_end > ACPI_4GIB) {
        LOG_ERR("PCI: ECAM at 0x%llx must be 1 MiB aligned and end below 4 GiB",
                (unsigned long long)pci->ecam_base);
        return -EINVAL;
    }
    return 0;
}

static int acpi_check_pci_windows(const struct acpi_pci *pci)
{
    if (pci->mmio32_size == 0 || (uint64_t)pci->mmio32_base + pci->mmio32_size > ACPI_4GIB) {
        LOG_ERR("PCI: the 32-bit window must be non-empty and below 4 GiB");
        return -EINVAL;
    }
    if (pci->mmio64_size && pci->mmio64_base + (pci->mmio64_size - 1) < pci->mmio64_base) {
        LOG_ERR("PCI: the 64-bit window wraps around");
        return -EINVAL;
    }
    if (pci->io_size == 0 || pci->io_base + pci->io_size > ACPI_IO_SPACE_SIZE ||
        pci->config_port == 0 || pci->config_port + ACPI_PCI_CONFIG_PORTS > pci->io_base) {
        LOG_ERR("PCI: the I/O window must be non-empty, end by 0xffff and lie above the "
                "config ports");
        return -EINVAL;
    }
    return 0;
}

static int acpi_check_pci(const struct acpi_machine *m)
{
    const struct acpi_pci *pci = &m->pci;
    uint64_t gsi_end = (uint64_t)m->ioapic.gsi_base + m->ioapic.pins;
    int ret;

    if (!pci->present)
        return 0;
    ret = acpi_check_pci_ecam(pci);
    if (!ret)
        ret = acpi_check_pci_windows(pci);
    if (ret)
        return ret;
    if (pci->intx_gsi_base < (uint64_t)m->ioapic.gsi_base + ACPI_ISA_IRQS ||
        (uint64_t)pci->intx_gsi_base + ACPI_PCI_INTX_PINS > gsi_end) {
        LOG_ERR("PCI: INTx GSIs %u..%u must be IOAPIC pins above the ISA IRQs",
                pci->intx_gsi_base, pci->intx_gsi_base + ACPI_PCI_INTX_PINS - 1);
        return -EINVAL;
    }
    return 0;
}

static int acpi_check_amd_ivinfo(const struct acpi_amd_ivinfo *info)
{
    if (info->pa_bits < ACPI_AMD_ADDR_BITS_MIN || info->pa_bits > ACPI_AMD_ADDR_BITS_MAX ||
        info->va_bits < ACPI_AMD_ADDR_BITS_MIN || info->va_bits > ACPI_AMD_ADDR_BITS_MAX) {
        LOG_ERR("AMD IOMMU: IVinfo address sizes (PA %u, VA %u bits) must be %d..%d bits",
                info->pa_bits, info->va_bits, ACPI_AMD_ADDR_BITS_MIN, ACPI_AMD_ADDR_BITS_MAX);
        return -EINVAL;
    }
    if (info->gva_bits != ACPI_AMD_GVA_BITS_4LEVEL && info->gva_bits != ACPI_AMD_GVA_BITS_5LEVEL) {
        LOG_ERR("AMD IOMMU: guest virtual address size %u: only %d or %d bits can be described",
                info->gva_bits, ACPI_AMD_GVA_BITS_4LEVEL, ACPI_AMD_GVA_BITS_5LEVEL);
        return -EINVAL;
    }
    return 0;
}

/* IOMMU i's own fields, and no other IOMMU with its identity or registers. */
static int acpi_check_amd_iommu_unit(const struct acpi_machine *m, unsigned i)
{
    const struct acpi_amd_iommu *a = &m->amd_iommus[i];

    if (a->mmio_base == 0 || a->mmio_base % ACPI_AMD_IOMMU_MMIO_ALIGN) {
        LOG_ERR("AMD IOMMU %u: register base 0x%llx must be non-zero and 16 KiB aligned", i,
                (unsigned long long)a->mmio_base);
        return -EINVAL;
    }
    if (a->cap_offset < PCI_STD_HEADER_SIZEOF || a->cap_offset % ACPI_PCI_CAP_ALIGN) {
        LOG_ERR("AMD IOMMU %u: capability offset 0x%x is not a capability position", i,
                a->cap_offset);
        return -EINVAL;
    }
    if (a->nranges > ACPI_AMD_IOMMU_MAX_RANGES) {
        LOG_ERR("AMD IOMMU %u: %u devid ranges, at most %d can be described", i, a->nranges,
                ACPI_AMD_IOMMU_MAX_RANGES);
        return -EINVAL;
    }
    if (a->emit_special && !a->ioapic_present) {
        LOG_ERR("AMD IOMMU %u: an IOAPIC SPECIAL entry was asked for without an IOAPIC", i);
        return -EINVAL;
    }
    for (unsigned j = 0; j < i; j++) {
        const struct acpi_amd_iommu *b = &m->amd_iommus[j];
        uint64_t gap = a->mmio_base > b->mmio_base ? a->mmio_base - b->mmio_base
                                                   : b->mmio_base - a->mmio_base;

        if ((a->pci_segment == b->pci_segment && a->devid == b->devid) ||
            gap < ACPI_AMD_IOMMU_MMIO_ALIGN) {
            LOG_ERR("AMD IOMMUs %u and %u share a devid or register window", j, i);
            return -EINVAL;
        }
    }
    return 0;
}

static bool acpi_ranges_overlap(const struct acpi_devid_range *a, const struct acpi_devid_range *b)
{
    return a->first <= b->last && b->first <= a->last;
}

/* Range r of IOMMU i is non-empty and overlaps no earlier range in its segment. */
static int acpi_check_amd_range(const struct acpi_machine *m, unsigned i, unsigned r)
{
    const struct acpi_devid_range *a = &m->amd_iommus[i].ranges[r];

    if (a->first > a->last) {
        LOG_ERR("AMD IOMMU %u: devid range 0x%04x..0x%04x is empty", i, a->first, a->last);
        return -EINVAL;
    }
    for (unsigned j = 0; j <= i; j++) {
        const struct acpi_amd_iommu *other = &m->amd_iommus[j];
        unsigned end = j == i ? r : other->nranges;

        if (other->pci_segment != m->amd_iommus[i].pci_segment)
            continue;
        for (unsigned k = 0; k < end; k++) {
            if (acpi_ranges_overlap(a, &other->ranges[k])) {
                LOG_ERR("AMD IOMMU %u: devids 0x%04x..0x%04x overlap 0x%04x..0x%04x of IOMMU %u",
                        i, a->first, a->last, other->ranges[k].first, other->ranges[k].last, j);
                return -EINVAL;
            }
        }
    }
    return 0;
}

static int acpi_check_amd_iommus(const struct acpi_machine *m)
{
    int ret;

    if (m->n_amd_iommus == 0)
        return 0;
    if (m->n_amd_iommus > ACPI_MAX_AMD_IOMMUS) {
        LOG_ERR("%u AMD IOMMUs: at most %d can be described", m->n_amd_iommus,
                ACPI_MAX_AMD_IOMMUS);
        return -EINVAL;
    }
    ret = acpi_check_amd_ivinfo(&m->amd_ivinfo);
    for (unsigned i = 0; i < m->n_amd_iommus && !ret; i++) {
        ret = acpi_check_amd_iommu_unit(m, i);
        for (unsigned r = 0; r < m->amd_iommus[i].nranges && !ret; r++)
            ret = acpi_check_amd_range(m, i, r);
    }
    return ret;
}

static int acpi_check_machine(const struct acpi_machine *m)
{
    int ret = acpi_check_cpus(m);

    if (!ret)
        ret = acpi_check_devices(m);
    if (!ret)
        ret = acpi_check_pci(m);
    if (!ret)
        ret = acpi_check_amd_iommus(m);
    if (ret)
        return ret;
    if (m->ioapic.pins < ACPI_IOAPIC_MIN_PINS) {
        LOG_ERR("IOAPIC with %u pins: the ISA timer override needs GSI 2", m->ioapic.pins);
        return -EINVAL;
    }
    if (m->pm.s5_slp_typ > ACPI_SLP_TYP_MAX) {
        LOG_ERR("S5 SLP_TYP %u does not fit the 3-bit field", m->pm.s5_slp_typ);
        return -EINVAL;
    }
    return 0;
}

static void acpi_log_failure(const struct acpi_ctx *ctx, const char *table, int err)
{
    if (err == -ENOSPC)
        LOG_ERR("ACPI tables do not fit in the %zu-byte ACPI area (at the %s table)",
                ctx->size, table);
    else
        LOG_ERR("building the %s table: %s", table, strerror(-err));
}

static int acpi_run_builders(struct acpi_ctx *ctx, const struct acpi_machine *m)
{
    for (size_t i = 0; i < ACPI_ARRAY_SIZE(acpi_builders); i++) {
        int ret = acpi_builders[i].build(ctx, m);

        if (ret) {
            acpi_log_failure(ctx, acpi_builders[i].name, ret);
            return ret;
        }
    }
    return 0;
}

static int acpi_build_all(struct acpi_ctx *ctx, const struct acpi_machine *m,
                          size_t *rsdp_offset)
{
    size_t xsdt_offset;
    int ret;

    /* The RSDP goes first so the legacy scan finds it; it is filled last. */
    ret = acpi_ctx_alloc(ctx, sizeof(struct acpi_rsdp), ACPI_RSDP_ALIGN, rsdp_offset);
    if (ret) {
        acpi_log_failure(ctx, "RSDP", ret);
        return ret;
    }
    ret = acpi_run_builders(ctx, m);
    if (ret)
        return ret;
    ret = acpi_build_xsdt(ctx, &xsdt_offset);
    if (ret) {
        acpi_log_failure(ctx, "XSDT", ret);
        return ret;
    }
    acpi_tables_checksum(ctx);
    return acpi_build_rsdp(ctx, *rsdp_offset, xsdt_offset);
}

int acpi_build(const struct acpi_machine *m, void *buf, uint64_t buf_gpa, size_t buf_size,
               uint64_t *rsdp_gpa)
{
    struct acpi_ctx ctx = { .buf = buf, .buf_gpa = buf_gpa, .size = buf_size };
    size_t rsdp_offset;
    int ret;

    if (!m || !buf || !rsdp_gpa || buf_gpa % ACPI_RSDP_ALIGN ||
        buf_size > UINT64_MAX - buf_gpa)
        return -EINVAL;
    ret = acpi_check_machine(m);
    if (ret)
        return ret;
    ret = acpi_build_all(&ctx, m, &rsdp_offset);
    if (ret) {
        memset(buf, 0, ctx.used); /* leave no half-built table for the guest */
        return ret;
    }
    *rsdp_gpa = acpi_ctx_gpa(&ctx, rsdp_offset);
    return 0;
}
