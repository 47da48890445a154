/* SPDX-License-Identifier: MIT */
/*
 * 5.2.12 Multiple APIC Description Table (MADT). No 8259 (flags 0), then:
 *   one Processor Local APIC (APIC ID < 255) or Processor Local x2APIC per
 *   vCPU, the I/O APIC, the ISA IRQ0 -> GSI2 override, and LINT1 = NMI for
 *   all processors (Local APIC NMI, plus Local x2APIC NMI when any x2APIC
 *   structure is present).
 */
#include <errno.h>
#include <stdbool.h>

#include "acpi/acpi_internal.h"

/* The ISA timer (IRQ0) is wired to IOAPIC pin 2, as on every PC since the
 * IOAPIC; conforming polarity/trigger (edge, active-high), like QEMU. */
#define ACPI_ISA_TIMER_IRQ 0
#define ACPI_ISA_TIMER_GSI 2
#define ACPI_ISA_TIMER_FLAGS (ACPI_MPS_INTI_POLARITY_CONFORMS | ACPI_MPS_INTI_TRIGGER_CONFORMS)
/* NMI on LINT1: conforming to the bus (edge, active-high), like QEMU. */
#define ACPI_LINT_NMI_FLAGS (ACPI_MPS_INTI_POLARITY_CONFORMS | ACPI_MPS_INTI_TRIGGER_CONFORMS)

/* vCPU `cpu` needs an x2APIC structure: its APIC ID does not fit the 8-bit
 * Processor Local APIC field (0xff is the xAPIC broadcast ID). The ACPI
 * Processor UID is the vCPU index; acpi_build() rejects machines where an
 * xAPIC vCPU would need a UID above 254. */
static bool acpi_madt_cpu_is_x2apic(const struct acpi_machine *m, unsigned cpu)
{
    return m->apic_ids[cpu] >= ACPI_MADT_X2APIC_MIN_ID;
}

static bool acpi_madt_any_x2apic(const struct acpi_machine *m)
{
    for (unsigned i = 0; i < m->ncpus; i++) {
        if (acpi_madt_cpu_is_x2apic(m, i))
            return true;
    }
    return false;
}

static size_t acpi_madt_length(const struct acpi_machine *m)
{
    size_t len = sizeof(struct acpi_madt) + sizeof(struct acpi_madt_io_apic) +
                 sizeof(struct acpi_madt_int_src_override) +
                 sizeof(struct acpi_madt_local_apic_nmi);

    for (unsigned i = 0; i < m->ncpus; i++)
        len += acpi_madt_cpu_is_x2apic(m, i) ? sizeof(struct acpi_madt_local_x2apic)
                                             : sizeof(struct acpi_madt_local_apic);
    if (acpi_madt_any_x2apic(m))
        len += sizeof(struct acpi_madt_local_x2apic_nmi);
    return len;
}

/* Append one interrupt controller structure at *pos. */
static void acpi_madt_put(struct acpi_ctx *ctx, size_t *pos, const void *entry, size_t len)
{
    acpi_ctx_write(ctx, *pos, entry, len);
    *pos += len;
}

static void acpi_madt_cpu(struct acpi_ctx *ctx, size_t *pos, const struct acpi_machine *m,
                          unsigned cpu)
{
    if (acpi_madt_cpu_is_x2apic(m, cpu)) {
        struct acpi_madt_local_x2apic e = {
            .type = ACPI_MADT_TYPE_LOCAL_X2APIC,      /* Type */
            .length = sizeof(e),                      /* Length */
            .x2apic_id = m->apic_ids[cpu],            /* X2APIC ID */
            .flags = ACPI_MADT_LAPIC_ENABLED,         /* Flags */
            .processor_uid = cpu,                     /* ACPI Processor UID */
        };
        acpi_madt_put(ctx, pos, &e, sizeof(e));
    } else {
        struct acpi_madt_local_apic e = {
            .type = ACPI_MADT_TYPE_LOCAL_APIC,        /* Type */
            .length = sizeof(e),                      /* Length */
            .processor_uid = (uint8_t)cpu,            /* ACPI Processor UID */
            .apic_id = (uint8_t)m->apic_ids[cpu],     /* APIC ID */
            .flags = ACPI_MADT_LAPIC_ENABLED,         /* Flags */
        };
        acpi_madt_put(ctx, pos, &e, sizeof(e));
    }
}

static void acpi_madt_ioapic(struct acpi_ctx *ctx, size_t *pos, const struct acpi_ioapic *io)
{
    struct acpi_madt_io_apic e = {
        .type = ACPI_MADT_TYPE_IO_APIC,   /* Type */
        .length = sizeof(e),              /* Length */
        .io_apic_id = io->id,             /* I/O APIC ID */
        .io_apic_address = io->addr,      /* I/O APIC Address */
        .gsi_base = io->gsi_base,         /* Global System Interrupt Base */
    };

    acpi_madt_put(ctx, pos, &e, sizeof(e));
}

static void acpi_madt_timer_override(struct acpi_ctx *ctx, size_t *pos)
{
    struct acpi_madt_int_src_override e = {
        .type = ACPI_MADT_TYPE_INT_SRC_OVERRIDE, /* Type */
        .length = sizeof(e),                     /* Length */
        .bus = ACPI_MADT_BUS_ISA,                /* Bus */
        .source = ACPI_ISA_TIMER_IRQ,            /* Source */
        .gsi = ACPI_ISA_TIMER_GSI,               /* Global System Interrupt */
        .flags = ACPI_ISA_TIMER_FLAGS,           /* Flags */
    };

    acpi_madt_put(ctx, pos, &e, sizeof(e));
}

static void acpi_madt_nmi(struct acpi_ctx *ctx, size_t *pos, const struct acpi_machine *m)
{
    struct acpi_madt_local_apic_nmi e = {
        .type = ACPI_MADT_TYPE_LOCAL_APIC_NMI,  /* Type */
        .length = sizeof(e),                    /* Length */
        .processor_uid = ACPI_MADT_UID_ALL_XAPIC, /* ACPI Processor UID */
        .flags = ACPI_LINT_NMI_FLAGS,           /* Flags */
        .lint = ACPI_LAPIC_LINT1,               /* Local APIC LINT# */
    };
    struct acpi_madt_local_x2apic_nmi x = {
        .type = ACPI_MADT_TYPE_LOCAL_X2APIC_NMI,  /* Type */
        .length = sizeof(x),                      /* Length */
        .flags = ACPI_LINT_NMI_FLAGS,             /* Flags */
        .processor_uid = ACPI_MADT_UID_ALL_X2APIC, /* ACPI Processor UID */
        .lint = ACPI_LAPIC_LINT1,                 /* Local x2APIC LINT# */
    };

    acpi_madt_put(ctx, pos, &e, sizeof(e));
    if (acpi_madt_any_x2apic(m))
        acpi_madt_put(ctx, pos, &x, sizeof(x));
}

int acpi_build_madt(struct acpi_ctx *ctx, const struct acpi_machine *m)
{
    size_t length = acpi_madt_length(m);
    size_t offset, pos;
    uint32_t lapic_addr = m->lapic_addr;
    uint32_t flags = 0; /* Flags: no PCAT_COMPAT, there is no 8259 */
    int ret;

    ret = acpi_table_add(ctx, ACPI_SIG_MADT, ACPI_MADT_REVISION, length, true, &offset);
    if (ret)
        return ret;
    pos = offset + sizeof(struct acpi_table_header);
    acpi_madt_put(ctx, &pos, &lapic_addr, sizeof(lapic_addr)); /* Local Interrupt Controller Address */
    acpi_madt_put(ctx, &pos, &flags, sizeof(flags));           /* Flags */
    for (unsigned i = 0; i < m->ncpus; i++)
        acpi_madt_cpu(ctx, &pos, m, i);
    acpi_madt_ioapic(ctx, &pos, &m->ioapic);
    acpi_madt_timer_override(ctx, &pos);
    acpi_madt_nmi(ctx, &pos, m);
    return pos == offset + length ? 0 : -EINVAL;
}
