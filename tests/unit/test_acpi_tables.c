/* SPDX-License-Identifier: MIT */
/*
 * acpi_build(): the RSDP -> XSDT -> tables graph, checksums, lengths, FADT
 * and MADT fields against the machine description, and bad inputs (nothing
 * written outside the buffer, nothing half-built left inside it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "acpi/acpi_spec.h"
#include "check.h"
#include "vmm/layout.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define GUARD 0xa5

/* The guest buffer under test: [gpa, gpa + size). */
struct tables {
    uint8_t *buf;
    uint64_t gpa;
    size_t size;
    uint64_t rsdp;
};

static uint8_t sum8(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + b[i]);
    return s;
}

/* Host pointer for [gpa, gpa + len) inside the buffer, or NULL. */
static const uint8_t *at(const struct tables *t, uint64_t gpa, size_t len)
{
    if (gpa < t->gpa || gpa - t->gpa > t->size || len > t->size - (gpa - t->gpa))
        return NULL;
    return t->buf + (gpa - t->gpa);
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* A table at gpa: checks it lies in the buffer, its length and checksum. */
static const uint8_t *table_at(const struct tables *t, uint64_t gpa, const char *sig)
{
    const uint8_t *p = at(t, gpa, sizeof(struct acpi_table_header));
    uint32_t len;

    CHECK(p != NULL);
    if (!p)
        return NULL;
    len = rd32(p + offsetof(struct acpi_table_header, length));
    CHECK(memcmp(p, sig, ACPI_SIG_LEN) == 0);
    CHECK(len >= sizeof(struct acpi_table_header));
    CHECK(at(t, gpa, len) != NULL);
    if (!at(t, gpa, len))
        return NULL;
    CHECK_EQ(sum8(p, len), 0);
    CHECK(memcmp(p + offsetof(struct acpi_table_header, oem_id), "SLUICE", 6) == 0);
    CHECK(memcmp(p + offsetof(struct acpi_table_header, oem_table_id), "SLUICEVM", 8) == 0);
    return p;
}

static int build(struct tables *t, const struct acpi_machine *m, size_t size)
{
    t->gpa = LAYOUT_ACPI_ADDR;
    t->size = size;
    free(t->buf);
    t->buf = malloc(size ? size : 1);
    memset(t->buf, GUARD, size);
    return acpi_build(m, t->buf, t->gpa, t->size, &t->rsdp);
}

static const uint8_t *check_rsdp(const struct tables *t)
{
    struct acpi_rsdp r;
    const uint8_t *p = at(t, t->rsdp, sizeof(r));

    CHECK_EQ(t->rsdp, LAYOUT_ACPI_ADDR);
    CHECK(p != NULL);
    if (!p)
        return NULL;
    memcpy(&r, p, sizeof(r));
    CHECK(memcmp(r.signature, "RSD PTR ", 8) == 0);
    CHECK_EQ(sum8(p, ACPI_RSDP_V1_LEN), 0);
    CHECK_EQ(sum8(p, sizeof(r)), 0);
    CHECK_EQ(r.revision, 2);
    CHECK_EQ(r.rsdt_address, 0);
    CHECK_EQ(r.length, 36);
    CHECK(memcmp(r.oem_id, "SLUICE", 6) == 0);
    return table_at(t, r.xsdt_address, "XSDT");
}

/* The table the XSDT lists with `sig`, or NULL. Checks each entry on the way. */
static const uint8_t *xsdt_find(const struct tables *t, const uint8_t *xsdt, const char *sig)
{
    uint32_t len = rd32(xsdt + 4);

    for (uint32_t off = sizeof(struct acpi_table_header); off < len; off += 8) {
        const uint8_t *p = at(t, rd64(xsdt + off), sizeof(struct acpi_table_header));

        CHECK(p != NULL);
        if (p && memcmp(p, sig, ACPI_SIG_LEN) == 0)
            return table_at(t, rd64(xsdt + off), sig);
    }
    return NULL;
}

static void check_xsdt(const struct tables *t, const uint8_t *xsdt, bool pci)
{
    static const char *const expect[] = { "FACP", "APIC", "MCFG" };
    size_t n = pci ? 3 : 2;
    uint32_t len = rd32(xsdt + 4);

    CHECK_EQ(xsdt[8], 1);
    CHECK_EQ(len, sizeof(struct acpi_table_header) + 8 * n);
    for (size_t i = 0; i < n && 36 + 8 * i < len; i++) {
        const uint8_t *p = at(t, rd64(xsdt + 36 + 8 * i), 4);
        CHECK(p && memcmp(p, expect[i], 4) == 0);
    }
}

static void check_gas_io8(struct acpi_gas g, uint16_t port)
{
    CHECK_EQ(g.address_space_id, ACPI_GAS_SPACE_SYSTEM_IO);
    CHECK_EQ(g.register_bit_width, 8);
    CHECK_EQ(g.register_bit_offset, 0);
    CHECK_EQ(g.access_size, ACPI_GAS_ACCESS_BYTE);
    CHECK_EQ(g.address, port);
}

static const uint8_t *check_fadt(const struct tables *t, const uint8_t *xsdt,
                                 const struct acpi_machine *m)
{
    const uint8_t *p = xsdt_find(t, xsdt, "FACP");
    struct acpi_fadt f;

    CHECK(p != NULL);
    if (!p)
        return NULL;
    memcpy(&f, p, sizeof(f));
    CHECK_EQ(f.header.length, 276);
    CHECK_EQ(f.header.revision, 6);
    CHECK_EQ(f.minor_version, ACPI_FADT_MINOR_VERSION);
    CHECK_EQ(f.flags, ACPI_FADT_F_HW_REDUCED_ACPI | ACPI_FADT_F_RESET_REG_SUP);
    CHECK_EQ(f.iapc_boot_arch & ACPI_FADT_IAPC_8042, 0);
    CHECK_EQ(!!(f.iapc_boot_arch & ACPI_FADT_IAPC_CMOS_RTC_NOT_PRESENT), !m->rtc.present);
    CHECK_EQ(f.century, m->rtc.present ? 0x32 : 0);
    CHECK_EQ(f.iapc_boot_arch & ACPI_FADT_IAPC_MSI_NOT_SUPPORTED, 0);
    CHECK_EQ(f.sci_int, 0);
    CHECK_EQ(f.smi_cmd, 0);
    CHECK_EQ(f.pm1a_cnt_blk, 0);
    CHECK_EQ(f.pm_tmr_blk, 0);
    CHECK_EQ(f.firmware_ctrl, 0);
    CHECK_EQ(f.x_firmware_ctrl, 0);
    CHECK_EQ(f.dsdt, 0); /* X_DSDT is used */
    CHECK(f.x_dsdt != 0);
    check_gas_io8(f.reset_reg, LAYOUT_PORT_ACPI_RESET);
    CHECK_EQ(f.reset_value, LAYOUT_ACPI_RESET_VALUE);
    check_gas_io8(f.sleep_control_reg, LAYOUT_PORT_ACPI_SLEEP_CTL);
    check_gas_io8(f.sleep_status_reg, LAYOUT_PORT_ACPI_SLEEP_STS);
    CHECK(memcmp(p + offsetof(struct acpi_fadt, hypervisor_vendor_id), "SLUICEVM", 8) == 0);
    return table_at(t, f.x_dsdt, "DSDT");
}

static bool contains(const uint8_t *p, size_t len, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(p + i, needle, n) == 0)
            return true;
    }
    return false;
}

static void check_dsdt(const uint8_t *dsdt, bool pvpanic, bool pci)
{
    uint32_t len = rd32(dsdt + 4);
    static const uint8_t com1_hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };

    CHECK_EQ(dsdt[8], 2);
    CHECK(len > sizeof(struct acpi_table_header));
    CHECK(contains(dsdt, len, "COM1", 4));
    CHECK(contains(dsdt, len, com1_hid, sizeof(com1_hid)));
    CHECK(contains(dsdt, len, "_S5_", 4));
    CHECK_EQ(contains(dsdt, len, "PCI0", 4), pci);
    CHECK_EQ(contains(dsdt, len, "_PRT", 4), pci);
    CHECK_EQ(contains(dsdt, len, "_OSC", 4), pci);
    CHECK_EQ(contains(dsdt, len, "MRES", 4), pci);
    CHECK_EQ(contains(dsdt, len, "GSIA", 4), pci);
    CHECK_EQ(contains(dsdt, len, "QEMU0001", 8), pvpanic);
}

/* What the MADT should hold, tallied while walking it. */
struct madt_walk {
    unsigned lapic, x2apic, ioapic, iso, nmi, x2nmi, other;
    bool ids_ok, bad_length;
};

static void madt_entry(const struct acpi_machine *m, const uint8_t *e, struct madt_walk *w)
{
    switch (e[0]) {
    case ACPI_MADT_TYPE_LOCAL_APIC: {
        struct acpi_madt_local_apic l;
        memcpy(&l, e, sizeof(l));
        w->bad_length |= l.length != sizeof(l);
        w->ids_ok &= l.processor_uid < m->ncpus && m->apic_ids[l.processor_uid] == l.apic_id &&
                     l.apic_id < 0xff && l.flags == ACPI_MADT_LAPIC_ENABLED;
        w->lapic++;
        break;
    }
    case ACPI_MADT_TYPE_LOCAL_X2APIC: {
        struct acpi_madt_local_x2apic x;
        memcpy(&x, e, sizeof(x));
        w->bad_length |= x.length != sizeof(x);
        w->ids_ok &= x.processor_uid < m->ncpus && m->apic_ids[x.processor_uid] == x.x2apic_id &&
                     x.x2apic_id >= 0xff && x.flags == ACPI_MADT_LAPIC_ENABLED;
        w->x2apic++;
        break;
    }
    case ACPI_MADT_TYPE_IO_APIC: {
        struct acpi_madt_io_apic io;
        memcpy(&io, e, sizeof(io));
        w->bad_length |= io.length != sizeof(io);
        CHECK_EQ(io.io_apic_id, LAYOUT_IOAPIC_ID);
        CHECK_EQ(io.io_apic_address, LAYOUT_IOAPIC_BASE);
        CHECK_EQ(io.gsi_base, LAYOUT_IOAPIC_GSI_BASE);
        w->ioapic++;
        break;
    }
    case ACPI_MADT_TYPE_INT_SRC_OVERRIDE: {
        struct acpi_madt_int_src_override o;
        memcpy(&o, e, sizeof(o));
        w->bad_length |= o.length != sizeof(o);
        CHECK_EQ(o.bus, 0);
        CHECK_EQ(o.source, 0);
        CHECK_EQ(o.gsi, 2);
        CHECK_EQ(o.flags, 0);
        w->iso++;
        break;
    }
    case ACPI_MADT_TYPE_LOCAL_APIC_NMI: {
        struct acpi_madt_local_apic_nmi n;
        memcpy(&n, e, sizeof(n));
        w->bad_length |= n.length != sizeof(n);
        CHECK_EQ(n.processor_uid, 0xff);
        CHECK_EQ(n.lint, 1);
        w->nmi++;
        break;
    }
    case ACPI_MADT_TYPE_LOCAL_X2APIC_NMI: {
        struct acpi_madt_local_x2apic_nmi n;
        memcpy(&n, e, sizeof(n));
        w->bad_length |= n.length != sizeof(n);
        CHECK_EQ(n.processor_uid, 0xffffffffu);
        CHECK_EQ(n.lint, 1);
        w->x2nmi++;
        break;
    }
    default:
        w->other++;
    }
}

static void check_madt(const struct tables *t, const uint8_t *xsdt, const struct acpi_machine *m,
                       unsigned expect_x2apic)
{
    const uint8_t *p = xsdt_find(t, xsdt, "APIC");
    struct madt_walk w = { .ids_ok = true };
    struct acpi_madt h;
    uint32_t off;

    CHECK(p != NULL);
    if (!p)
        return;
    memcpy(&h, p, sizeof(h));
    CHECK_EQ(h.header.revision, ACPI_MADT_REVISION);
    CHECK_EQ(h.local_apic_address, LAYOUT_LAPIC_BASE);
    CHECK_EQ(h.flags & ACPI_MADT_F_PCAT_COMPAT, 0);
    for (off = sizeof(h); off + 2 <= h.header.length && p[off + 1] >= 2; off += p[off + 1])
        madt_entry(m, p + off, &w);
    CHECK_EQ(off, h.header.length); /* entries tile the table exactly */
    CHECK(!w.bad_length);
    CHECK(w.ids_ok);
    CHECK_EQ(w.lapic + w.x2apic, m->ncpus);
    CHECK_EQ(w.x2apic, expect_x2apic);
    CHECK_EQ(w.ioapic, 1);
    CHECK_EQ(w.iso, 1);
    CHECK_EQ(w.nmi, 1);
    CHECK_EQ(w.x2nmi, expect_x2apic ? 1 : 0);
    CHECK_EQ(w.other, 0);
}

/* MCFG parsed by hand (PCI Firmware 4.1.2): one allocation, the machine's ECAM. */
static void check_mcfg(const struct tables *t, const uint8_t *xsdt, const struct acpi_machine *m)
{
    const uint8_t *p = xsdt_find(t, xsdt, "MCFG");
    static const uint8_t zero[8];

    CHECK_EQ(p != NULL, m->pci.present);
    if (!p)
        return;
    /* Header: length 44 + 16, revision 1; table_at() checked the checksum. */
    CHECK_EQ(rd32(p + 4), 60);
    CHECK_EQ(p[8], 1);
    CHECK(memcmp(p + 36, zero, 8) == 0);         /* Reserved */
    CHECK_EQ(rd64(p + 44), m->pci.ecam_base);     /* Base Address */
    CHECK_EQ(p[52] | p[53] << 8, m->pci.segment); /* PCI Segment Group Number */
    CHECK_EQ(p[54], m->pci.start_bus);            /* Start Bus Number */
    CHECK_EQ(p[55], m->pci.end_bus);              /* End Bus Number */
    CHECK_EQ(rd32(p + 56), 0);                    /* Reserved */
}

static void check_machine(const struct acpi_machine *m, unsigned expect_x2apic)
{
    struct tables t = { 0 };

    CHECK_EQ(build(&t, m, LAYOUT_ACPI_SIZE), 0);
    const uint8_t *xsdt = check_rsdp(&t);
    CHECK(xsdt != NULL);
    if (xsdt) {
        check_xsdt(&t, xsdt, m->pci.present);
        const uint8_t *dsdt = check_fadt(&t, xsdt, m);
        CHECK(dsdt != NULL);
        if (dsdt)
            check_dsdt(dsdt, m->pvpanic.present, m->pci.present);
        check_madt(&t, xsdt, m, expect_x2apic);
        check_mcfg(&t, xsdt, m);
    }
    free(t.buf);
}

static void test_default_machine(void)
{
    static const uint32_t ids[] = { 0, 1 };
    struct acpi_machine m;

    acpi_machine_init(&m, ARRAY_SIZE(ids), ids);
    CHECK_EQ(m.lapic_addr, LAYOUT_LAPIC_BASE);
    CHECK_EQ(m.ioapic.addr, LAYOUT_IOAPIC_BASE);
    CHECK_EQ(m.ioapic.pins, LAYOUT_IOAPIC_PINS);
    CHECK_EQ(m.nuarts, 1);
    CHECK_EQ(m.uarts[0].port, LAYOUT_PORT_COM1);
    CHECK_EQ(m.uarts[0].isa_irq, LAYOUT_IRQ_COM1);
    CHECK_EQ(m.rtc.port, LAYOUT_PORT_RTC);
    CHECK_EQ(m.pvpanic.port, LAYOUT_PORT_PVPANIC);
    CHECK_EQ(m.pm.s5_slp_typ, LAYOUT_ACPI_S5_SLP_TYP);
    check_machine(&m, 0);

    m.pvpanic.present = false;
    m.rtc.present = false;
    check_machine(&m, 0);
}

static void test_pci_machine(void)
{
    static const uint32_t ids[] = { 0, 1, 2, 3 };
    struct acpi_machine m;

    acpi_machine_init(&m, ARRAY_SIZE(ids), ids);
    CHECK(!m.pci.present);
    acpi_machine_init_pci(&m, 2 * LAYOUT_GiB);
    CHECK(m.pci.present);
    CHECK_EQ(m.pci.ecam_base, LAYOUT_ECAM_BASE);
    CHECK_EQ(m.pci.segment, 0);
    CHECK_EQ(m.pci.start_bus, 0);
    CHECK_EQ(m.pci.end_bus, LAYOUT_ECAM_BUSES - 1);
    CHECK_EQ(m.pci.config_port, LAYOUT_PORT_PCI_CONFIG_ADDR);
    CHECK_EQ(m.pci.mmio32_base, LAYOUT_PCI_MMIO32_START);
    CHECK_EQ(m.pci.mmio32_size, LAYOUT_PCI_MMIO32_SIZE);
    CHECK_EQ(m.pci.mmio64_base, LAYOUT_PCI_MMIO64_MIN_START);
    CHECK_EQ(m.pci.mmio64_size, LAYOUT_PCI_MMIO64_SIZE);
    CHECK_EQ(m.pci.io_base, LAYOUT_PCI_IO_START);
    CHECK_EQ(m.pci.io_size, LAYOUT_PCI_IO_SIZE);
    CHECK_EQ(m.pci.intx_gsi_base, LAYOUT_PCI_INTX_GSI_BASE);
    check_machine(&m, 0);

    /* The 64-bit window moves above RAM that ends past 64 GiB, 1 GiB aligned. */
    acpi_machine_init_pci(&m, 100 * LAYOUT_GiB + 1);
    CHECK_EQ(m.pci.mmio64_base, 101 * LAYOUT_GiB);
    check_machine(&m, 0);

    /* Fewer buses, no 64-bit window, a later segment: still described. */
    m.pci.end_bus = 63;
    m.pci.mmio64_size = 0;
    m.pci.segment = 1;
    check_machine(&m, 0);
    m.pci.start_bus = 63;
    check_machine(&m, 0);

    /* Without PCI the machine is what it was: no MCFG, no PCI0. */
    m.pci.present = false;
    check_machine(&m, 0);
}

static void test_cpu_counts(void)
{
    static const unsigned counts[] = { 1, 2, 7, 64, 254, 255 };
    uint32_t ids[255];
    struct acpi_machine m;

    for (unsigned i = 0; i < ARRAY_SIZE(ids); i++)
        ids[i] = i;
    for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
        acpi_machine_init(&m, counts[i], ids);
        check_machine(&m, 0);
    }
}

static void test_x2apic(void)
{
    static const uint32_t ids[] = { 0, 1, 0xfe, 0xff, 0x100, 0x12345 };
    struct acpi_machine m;

    acpi_machine_init(&m, ARRAY_SIZE(ids), ids);
    check_machine(&m, 3);

    static const uint32_t sparse[] = { 0, 2, 4, 6 };
    acpi_machine_init(&m, ARRAY_SIZE(sparse), sparse);
    check_machine(&m, 0);

    /* --apic-ids 0,1,2,300 and --topology sockets=2,cores=2,apic-id-stride=256 */
    static const uint32_t list[] = { 0, 1, 2, 300 };
    acpi_machine_init(&m, ARRAY_SIZE(list), list);
    check_machine(&m, 1);
    static const uint32_t strided[] = { 0, 1, 256, 257 };
    acpi_machine_init(&m, ARRAY_SIZE(strided), strided);
    check_machine(&m, 2);

    /* --cpus 1024: IDs 0..254 as Local APIC (UIDs 0..254), 255..1023 as x2APIC */
    static uint32_t dense[1024];
    for (unsigned i = 0; i < ARRAY_SIZE(dense); i++)
        dense[i] = i;
    acpi_machine_init(&m, 256, dense);
    check_machine(&m, 1);
    acpi_machine_init(&m, ARRAY_SIZE(dense), dense);
    check_machine(&m, 1024 - 255);
}

static void check_einval(const struct acpi_machine *m, const char *what)
{
    uint8_t buf[4096];
    uint64_t rsdp = 0;

    memset(buf, GUARD, sizeof(buf));
    int ret = acpi_build(m, buf, LAYOUT_ACPI_ADDR, sizeof(buf), &rsdp);
    if (ret != -EINVAL)
        fprintf(stderr, "%s: got %d\n", what, ret);
    CHECK_EQ(ret, -EINVAL);
    for (size_t i = 0; i < sizeof(buf); i++) {
        if (buf[i] != GUARD) {
            fprintf(stderr, "%s: rejected machine wrote to the buffer\n", what);
            CHECK(0);
            break;
        }
    }
}

static void test_bad_machines(void)
{
    static const uint32_t ids[] = { 0, 1, 2 };
    static const uint32_t dup[] = { 0, 1, 1 };
    static const uint32_t bcast[] = { 0, 0xffffffffu };
    struct acpi_machine m;

    acpi_machine_init(&m, 0, ids);
    check_einval(&m, "ncpus 0");
    acpi_machine_init(&m, 1, NULL);
    check_einval(&m, "no apic ids");
    acpi_machine_init(&m, 3, dup);
    check_einval(&m, "duplicate apic id");
    acpi_machine_init(&m, 2, bcast);
    check_einval(&m, "broadcast apic id");
    acpi_machine_init(&m, 3, ids);
    m.uarts[0].isa_irq = 16;
    check_einval(&m, "uart irq 16");
    acpi_machine_init(&m, 3, ids);
    m.nuarts = ACPI_MAX_UARTS + 1;
    check_einval(&m, "too many uarts");
    acpi_machine_init(&m, 3, ids);
    m.rtc.port_len = 0;
    check_einval(&m, "rtc without ports");
    acpi_machine_init(&m, 3, ids);
    m.pm.s5_slp_typ = 8;
    check_einval(&m, "SLP_TYP 8");
    acpi_machine_init(&m, 3, ids);
    m.ioapic.pins = 2;
    check_einval(&m, "IOAPIC without pin 2");

    /* vCPU 255 with a small APIC ID would need an xAPIC Processor UID of 255. */
    uint32_t *many = calloc(256, sizeof(*many));
    for (unsigned i = 0; i < 255; i++)
        many[i] = 0x100 + i;
    many[255] = 0;
    acpi_machine_init(&m, 256, many);
    check_einval(&m, "xAPIC vCPU with UID 255");
    free(many);
}

static void test_bad_pci_machines(void)
{
    static const uint32_t ids[] = { 0 };
    struct acpi_machine m;

#define BAD_PCI(field_assignment, what)                  \
    do {                                                 \
        acpi_machine_init(&m, ARRAY_SIZE(ids), ids);     \
        acpi_machine_init_pci(&m, LAYOUT_GiB);           \
        m.pci.field_assignment;                          \
        check_einval(&m, what);                          \
    } while (0)
    BAD_PCI(start_bus = 1; m.pci.end_bus = 0, "bus range 1..0");
    BAD_PCI(ecam_base = LAYOUT_ECAM_BASE + 0x1000, "ECAM not 1 MiB aligned");
    BAD_PCI(ecam_base = 4 * LAYOUT_GiB, "ECAM above 4 GiB");
    BAD_PCI(ecam_base = 0xf8000000ull, "ECAM crossing 4 GiB");
    BAD_PCI(mmio32_size = 0, "empty 32-bit window");
    BAD_PCI(mmio32_base = 0xf0000000u, "32-bit window crossing 4 GiB");
    BAD_PCI(mmio64_base = UINT64_MAX - LAYOUT_GiB, "64-bit window wrapping");
    BAD_PCI(io_size = 0, "empty I/O window");
    BAD_PCI(io_size = 0x10000, "I/O window past 0xffff");
    BAD_PCI(io_base = 0xcfc, "I/O window over the config ports");
    BAD_PCI(config_port = 0, "config ports at 0");
    BAD_PCI(intx_gsi_base = 8, "INTx on ISA GSIs");
    BAD_PCI(intx_gsi_base = LAYOUT_IOAPIC_PINS - 3, "INTx past the IOAPIC");
#undef BAD_PCI
}

static void test_bad_args(void)
{
    static const uint32_t ids[] = { 0 };
    struct acpi_machine m;
    uint8_t buf[4096];
    uint64_t rsdp;

    acpi_machine_init(&m, 1, ids);
    CHECK_EQ(acpi_build(NULL, buf, LAYOUT_ACPI_ADDR, sizeof(buf), &rsdp), -EINVAL);
    CHECK_EQ(acpi_build(&m, NULL, LAYOUT_ACPI_ADDR, sizeof(buf), &rsdp), -EINVAL);
    CHECK_EQ(acpi_build(&m, buf, LAYOUT_ACPI_ADDR, sizeof(buf), NULL), -EINVAL);
    CHECK_EQ(acpi_build(&m, buf, LAYOUT_ACPI_ADDR + 8, sizeof(buf), &rsdp), -EINVAL);
    CHECK_EQ(acpi_build(&m, buf, UINT64_MAX - 15, sizeof(buf), &rsdp), -EINVAL);
}

/* Silence stderr (acpi_build logs one line per refusal) around a loop. */
static int stderr_mute(void)
{
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);

    fflush(stderr);
    if (null >= 0) {
        dup2(null, STDERR_FILENO);
        close(null);
    }
    return saved;
}

static void stderr_restore(int saved)
{
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
}

/* A failed build into `size` bytes: -ENOSPC, nothing touched beyond `size`,
 * nothing but zeroes left behind inside it, no RSDP signature to find. */
static bool refused_cleanly(const struct acpi_machine *m, uint8_t *big, size_t big_len,
                            size_t size)
{
    uint64_t rsdp = 0;
    bool clean = true;

    memset(big, GUARD, big_len);
    if (acpi_build(m, big, LAYOUT_ACPI_ADDR, size, &rsdp) != -ENOSPC)
        return false;
    for (size_t i = 0; i < big_len; i++)
        clean &= i < size ? (big[i] == 0 || big[i] == GUARD) : big[i] == GUARD;
    return clean && !contains(big, big_len, "RSD PTR ", 8);
}

static void test_small_buffers(bool pci)
{
    static const uint32_t ids[] = { 0, 1, 2, 3 };
    struct acpi_machine m;
    struct tables t = { 0 };
    size_t need = 0, first_bad = SIZE_MAX;

    acpi_machine_init(&m, ARRAY_SIZE(ids), ids);
    if (pci)
        acpi_machine_init_pci(&m, LAYOUT_GiB);
    CHECK_EQ(build(&t, &m, LAYOUT_ACPI_SIZE), 0);
    for (size_t i = 0; i < t.size; i++) {
        if (t.buf[i] != GUARD)
            need = i + 1;
    }
    CHECK(need > 0 && need < (pci ? 8192 : 4096));

    size_t big_len = need + 64;
    uint8_t *big = malloc(big_len);
    int saved = stderr_mute();
    for (size_t size = 0; size < need && first_bad == SIZE_MAX; size++) {
        if (!refused_cleanly(&m, big, big_len, size))
            first_bad = size;
    }
    stderr_restore(saved);
    if (first_bad != SIZE_MAX)
        fprintf(stderr, "buffer of %zu bytes: not refused cleanly\n", first_bad);
    CHECK_EQ(first_bad, SIZE_MAX);
    CHECK_EQ(build(&t, &m, need), 0); /* exactly enough */
    CHECK(check_rsdp(&t) != NULL);
    free(big);
    free(t.buf);
}

int main(void)
{
    test_default_machine();
    test_cpu_counts();
    test_x2apic();
    test_bad_machines();
    test_bad_args();
    test_pci_machine();
    test_bad_pci_machines();
    test_small_buffers(false);
    test_small_buffers(true);
    return check_result("test_acpi_tables");
}
