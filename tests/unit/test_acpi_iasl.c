/* SPDX-License-Identifier: MIT */
/*
 * iasl (ACPICA) as an independent validator. Each table sluice builds is
 * dumped to a temporary directory and
 *   1. disassembled with `iasl -d`: exit status 0, no error or warning
 *      (checksum, length, unknown subtable, AML parse), no "****" markers;
 *   2. recompiled from the disassembly: "0 Errors, 0 Warnings, 0 Remarks",
 *      and the result must equal sluice's bytes (except the checksum and the
 *      compiler id/revision iasl stamps in), so every field decoded as meant.
 * The RSDP, which this iasl cannot disassemble, is compiled from source with
 * sluice's field values and zeroed checksums: iasl's bytes must equal ours.
 * A synthetic DSDT exercises every AML builder primitive the same way, and
 * acpiexec (when installed) loads the tables and evaluates the guest-visible
 * objects.
 * SKIP (77) when iasl is not installed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "acpi/acpi_spec.h"
#include "acpi/aml.h"
#include "check.h"
#include "vmm/layout.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define OUT_MAX 65536

static char tmpdir[] = "/tmp/sluice-acpi-iasl-XXXXXX";

/* Run a shell command in tmpdir; returns its exit status, output in out. */
static int run(const char *cmd, char *out, size_t outsz)
{
    char full[1024];
    size_t n = 0;
    FILE *p;
    int status;

    snprintf(full, sizeof(full), "cd '%s' && %s 2>&1", tmpdir, cmd);
    p = popen(full, "r");
    if (!p)
        return -1;
    while (n + 1 < outsz) {
        size_t r = fread(out + n, 1, outsz - 1 - n, p);
        if (r == 0)
            break;
        n += r;
    }
    out[n] = '\0';
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int write_file(const char *name, const void *data, size_t len)
{
    char path[512];
    FILE *f;
    size_t w;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    if (!f)
        return -errno;
    w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -EIO;
}

/* Read a whole file from tmpdir (NUL-terminated); caller frees. */
static char *read_file(const char *name, size_t *len)
{
    char path[512];
    char *data;
    long size;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    data = malloc((size_t)size + 1);
    if (data && fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (data) {
        data[size] = '\0';
        *len = (size_t)size;
    }
    return data;
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[512];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static bool has_problem_words(const char *s)
{
    return strcasestr(s, "error") || strcasestr(s, "warning") || strstr(s, "****");
}

/* Bytes iasl rewrites when compiling: Checksum, Creator ID, Creator Revision. */
static bool header_byte_ignored(size_t i)
{
    return i == offsetof(struct acpi_table_header, checksum) ||
           (i >= offsetof(struct acpi_table_header, creator_id) &&
            i < sizeof(struct acpi_table_header));
}

static void check_same_table(const char *what, const uint8_t *ours, size_t len,
                             const uint8_t *theirs, size_t theirs_len)
{
    CHECK_EQ(theirs_len, len);
    for (size_t i = 0; i < len && i < theirs_len; i++) {
        if (!header_byte_ignored(i) && ours[i] != theirs[i]) {
            fprintf(stderr, "%s: byte 0x%zx is 0x%02x, iasl recompiled 0x%02x\n", what, i,
                    ours[i], theirs[i]);
            CHECK(0);
            return;
        }
    }
}

/*
 * Dump `table` as <base>.dat, disassemble, recompile, compare. Returns the
 * disassembly (caller frees) for content checks, or NULL.
 */
static char *iasl_roundtrip(const char *base, const uint8_t *table)
{
    uint32_t len = 0;
    char name[64], cmd[256], *out = malloc(OUT_MAX), *dsl, *aml;
    size_t dsl_len, aml_len;
    int rc;

    memcpy(&len, table + offsetof(struct acpi_table_header, length), sizeof(len));
    snprintf(name, sizeof(name), "%s.dat", base);
    CHECK_EQ(write_file(name, table, len), 0);

    snprintf(cmd, sizeof(cmd), "iasl -d %s", name);
    rc = run(cmd, out, OUT_MAX);
    if (rc != 0 || has_problem_words(out))
        fprintf(stderr, "%s: iasl -d exited %d:\n%s\n", base, rc, out);
    CHECK_EQ(rc, 0);
    CHECK(!has_problem_words(out));

    snprintf(name, sizeof(name), "%s.dsl", base);
    dsl = read_file(name, &dsl_len);
    CHECK(dsl != NULL);
    CHECK(dsl && !strstr(dsl, "****"));

    snprintf(cmd, sizeof(cmd), "iasl -on -p %s-re %s.dsl", base, base);
    rc = run(cmd, out, OUT_MAX);
    if (rc != 0 || !strstr(out, "0 Errors, 0 Warnings, 0 Remarks"))
        fprintf(stderr, "%s: recompiling the disassembly exited %d:\n%s\n", base, rc, out);
    CHECK_EQ(rc, 0);
    CHECK(strstr(out, "0 Errors, 0 Warnings, 0 Remarks") != NULL);

    snprintf(name, sizeof(name), "%s-re.aml", base);
    aml = read_file(name, &aml_len);
    CHECK(aml != NULL);
    if (aml)
        check_same_table(base, table, len, (const uint8_t *)aml, aml_len);
    free(aml);
    free(out);
    return dsl;
}

struct built {
    uint8_t buf[LAYOUT_ACPI_SIZE];
    uint64_t rsdp;
};

static const uint8_t *at(const struct built *b, uint64_t gpa)
{
    return b->buf + (gpa - LAYOUT_ACPI_ADDR);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The table with `sig` from the XSDT (or the DSDT via the FADT). */
static const uint8_t *find(const struct built *b, const char *sig)
{
    const uint8_t *xsdt = at(b, rd64(at(b, b->rsdp) + offsetof(struct acpi_rsdp, xsdt_address)));
    uint32_t len;

    if (strcmp(sig, "XSDT") == 0)
        return xsdt;
    memcpy(&len, xsdt + 4, sizeof(len));
    for (uint32_t off = sizeof(struct acpi_table_header); off < len; off += 8) {
        const uint8_t *t = at(b, rd64(xsdt + off));

        if (memcmp(t, sig, 4) == 0)
            return t;
        if (strcmp(sig, "DSDT") == 0 && memcmp(t, "FACP", 4) == 0)
            return at(b, rd64(t + offsetof(struct acpi_fadt, x_dsdt)));
    }
    return NULL;
}

static void check_dsl_has(const char *dsl, const char *what, const char *const *needles,
                          size_t n)
{
    for (size_t i = 0; dsl && i < n; i++) {
        if (!strstr(dsl, needles[i]))
            fprintf(stderr, "%s: disassembly lacks \"%s\"\n", what, needles[i]);
        CHECK(strstr(dsl, needles[i]) != NULL);
    }
}

static void check_rsdp(const struct built *b)
{
    char src[1024], out[4096];
    struct acpi_rsdp r;
    size_t len;
    char *aml;

    memcpy(&r, at(b, b->rsdp), sizeof(r));
    snprintf(src, sizeof(src),
             "[0008] Signature : \"RSD PTR \"\n"
             "[0001] Checksum : 00\n"
             "[0006] Oem ID : \"%.6s\"\n"
             "[0001] Revision : %02X\n"
             "[0004] RSDT Address : %08X\n"
             "[0004] Length : %08X\n"
             "[0008] XSDT Address : %016llX\n"
             "[0001] Extended Checksum : 00\n"
             "[0003] Reserved : 000000\n",
             r.oem_id, r.revision, r.rsdt_address, r.length,
             (unsigned long long)r.xsdt_address);
    CHECK_EQ(write_file("rsdp.asl", src, strlen(src)), 0);
    int rc = run("iasl -p rsdp-re rsdp.asl", out, sizeof(out));
    if (rc != 0)
        fprintf(stderr, "rsdp: iasl exited %d:\n%s\n", rc, out);
    CHECK_EQ(rc, 0);
    aml = read_file("rsdp-re.aml", &len);
    CHECK(aml != NULL);
    CHECK_EQ(len, sizeof(r));
    CHECK(aml && len == sizeof(r) && memcmp(aml, &r, sizeof(r)) == 0);
    free(aml);
}

static int build(struct built *b, const uint32_t *ids, unsigned n)
{
    struct acpi_machine m;

    acpi_machine_init(&m, n, ids);
    return acpi_build(&m, b->buf, LAYOUT_ACPI_ADDR, sizeof(b->buf), &b->rsdp);
}

/* RAM end for the PCI machine: 6 GiB, so the 64-bit window starts at 64 GiB. */
#define PCI_TEST_RAM_END (6 * LAYOUT_GiB)

static int build_pci(struct built *b, const uint32_t *ids, unsigned n)
{
    struct acpi_machine m;

    acpi_machine_init(&m, n, ids);
    acpi_machine_init_pci(&m, PCI_TEST_RAM_END);
    return acpi_build(&m, b->buf, LAYOUT_ACPI_ADDR, sizeof(b->buf), &b->rsdp);
}

/* Occurrences of `needle` in `s`. */
static unsigned count(const char *s, const char *needle)
{
    unsigned n = 0;

    for (const char *p = s; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/*
 * The PCIe machine: MCFG and the DSDT with the host bridge, its interrupt
 * links and the motherboard resources disassemble, recompile to the same
 * bytes, and say what layout.h says.
 */
static void test_pci_tables(struct built *b)
{
    static const uint32_t ids[] = { 0, 1 };
    static const char *const mcfg_expect[] = {
        "Base Address : 00000000E0000000",
        "Segment Group Number : 0000",
        "Start Bus Number : 00",
        "End Bus Number : FF",
    };
    static const char *const dsdt_expect[] = {
        "Device (PCI0)",
        "Name (_HID, EisaId (\"PNP0A08\")",
        "Name (_CID, EisaId (\"PNP0A03\")",
        "Name (_SEG, Zero)",
        "Name (_BBN, Zero)",
        "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,",
        "0x00FF,             // Range Maximum",
        "0x0CF8,             // Range Minimum",
        "0x0CF7,             // Range Maximum",
        "0x0D00,             // Range Minimum",
        "0xFFFF,             // Range Maximum",
        "DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,",
        "0xC0000000,         // Range Minimum",
        "0xDFFFFFFF,         // Range Maximum",
        "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,",
        "0x0000001000000000, // Range Minimum",
        "0x0000001FFFFFFFFF, // Range Maximum",
        "Name (_PRT, Package (0x80)",
        "0x001FFFFF,",
        "Method (_OSC, 4, NotSerialized)",
        "ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\")",
        "Device (GSIA)",
        "Name (_HID, EisaId (\"PNP0C0F\")",
        "Interrupt (ResourceConsumer, Level, ActiveHigh, Shared, ,, )",
        "Method (_SRS, 1, NotSerialized)",
        "Device (MRES)",
        "Name (_HID, EisaId (\"PNP0C02\")",
        "Memory32Fixed (ReadWrite,",
        "0xE0000000,         // Address Base",
        "0x10000000,         // Address Length",
        "Device (COM1)",
    };
    char *dsl;

    CHECK_EQ(build_pci(b, ids, ARRAY_SIZE(ids)), 0);
    CHECK(find(b, "MCFG") != NULL);
    dsl = iasl_roundtrip("mcfg", find(b, "MCFG"));
    check_dsl_has(dsl, "mcfg", mcfg_expect, ARRAY_SIZE(mcfg_expect));
    free(dsl);
    dsl = iasl_roundtrip("dsdt-pci", find(b, "DSDT"));
    check_dsl_has(dsl, "dsdt-pci", dsdt_expect, ARRAY_SIZE(dsdt_expect));
    /* 128 _PRT entries, 32 per link; 4 links with _PRS and _CRS each. */
    CHECK_EQ(count(dsl, "\\_SB.GSIA,"), 32);
    CHECK_EQ(count(dsl, "\\_SB.GSID,"), 32);
    CHECK_EQ(count(dsl, "Interrupt (ResourceConsumer, Level, ActiveHigh, Shared, ,, )"), 8);
    for (unsigned gsi = LAYOUT_PCI_INTX_GSI_BASE;
         gsi < LAYOUT_PCI_INTX_GSI_BASE + LAYOUT_PCI_INTX_PINS; gsi++) {
        char want[32];

        snprintf(want, sizeof(want), "0x%08X,", gsi);
        CHECK_EQ(count(dsl, want), 2);
    }
    free(dsl);
    dsl = iasl_roundtrip("facp-pci", find(b, "FACP"));
    free(dsl);
    dsl = iasl_roundtrip("apic-pci", find(b, "APIC"));
    free(dsl);
    free(iasl_roundtrip("xsdt-pci", find(b, "XSDT")));
}

/*
 * ACPICA evaluates the PCI objects of the tables test_pci_tables() dumped;
 * an SSDT calls _OSC the way Linux does (a query, then the real request,
 * plus a foreign UUID and a future revision) and reads _PRT entries.
 */
static const char pci_ssdt[] =
    "DefinitionBlock (\"\", \"SSDT\", 2, \"SLUICE\", \"PCITEST\", 1)\n"
    "{\n"
    "    External (\\_SB.PCI0._OSC, MethodObj)\n"
    "    External (\\_SB.PCI0._PRT, PkgObj)\n"
    "    External (\\_SB.GSIA._SRS, MethodObj)\n"
    "    External (\\_SB.GSIA._CRS, BuffObj)\n"
    "    Method (OSCQ, 0) { Return (\\_SB.PCI0._OSC (ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\"),\n"
    "        1, 3, Buffer () { 1, 0, 0, 0, 0x1f, 0, 0, 0, 0xbf, 0, 0, 0 })) }\n"
    "    Method (OSCS, 0) { Return (\\_SB.PCI0._OSC (ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\"),\n"
    "        1, 3, Buffer () { 0, 0, 0, 0, 0x1f, 0, 0, 0, 0x3f, 0, 0, 0 })) }\n"
    "    Method (OSCU, 0) { Return (\\_SB.PCI0._OSC (ToUUID (\"0811b06e-4a27-44f9-8d60-3cbbc22e7b48\"),\n"
    "        1, 3, Buffer () { 0, 0, 0, 0, 0x1f, 0, 0, 0, 0x2f, 0, 0, 0 })) }\n"
    "    Method (OSCR, 0) { Return (\\_SB.PCI0._OSC (ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\"),\n"
    "        2, 3, Buffer () { 0, 0, 0, 0, 0x1f, 0, 0, 0, 0x1e, 0, 0, 0 })) }\n"
    "    Method (PRTN, 0) { Return (SizeOf (\\_SB.PCI0._PRT)) }\n"
    "    Method (PRTL, 0) { Return (DerefOf (\\_SB.PCI0._PRT [127])) }\n"
    "    Method (SRSA, 0) { \\_SB.GSIA._SRS (\\_SB.GSIA._CRS) Return (0x5A) }\n"
    "}\n";

static void test_acpiexec_pci(void)
{
    static const char *const expect[] = {
        /* PCI0._CRS: WordBusNumber 0..FF first, the EndTag at 0x80 */
        "0000: 88 0D 00 02 0C 00 00 00 00 00 FF 00 00 00 00 01",
        "0010: 47 01 F8 0C F8 0C 01 08 88 0D 00 01 0C 03 00 00",
        "0080: 79 00",
        /* GSIB._CRS: Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {17} */
        "89 06 00 09 01 11 00 00 00 79 00",
        /* MRES._CRS: Memory32Fixed (ReadWrite, 0xE0000000, 0x10000000) */
        "86 09 00 01 00 00 00 E0 00 00 00 10 79 00",
        /* query for more than granted: query flag kept, capabilities masked */
        "11 00 00 00 1F 00 00 00 3F 00 00 00",
        /* the request for exactly what was granted: no error */
        "00 00 00 00 1F 00 00 00 3F 00 00 00",
        /* another UUID: unrecognized, control untouched */
        "04 00 00 00 1F 00 00 00 2F 00 00 00",
        /* revision 2: unrecognized revision */
        "08 00 00 00 1F 00 00 00 1E 00 00 00",
        "[Integer] = 0000000000000080",
        /* slot 31 INTD -> (31 + 3) % 4 = link C */
        "[Integer] = 00000000001FFFFF",
        "[Integer] = 0000000000000003",
        "Name GSIC Device",
        "[Integer] = 000000000000005A",
    };
    char *out;
    int rc;

    if (system("command -v acpiexec >/dev/null 2>&1") != 0)
        return;
    out = malloc(OUT_MAX);
    CHECK_EQ(write_file("pcitest.asl", pci_ssdt, strlen(pci_ssdt)), 0);
    rc = run("iasl -p pcitest pcitest.asl", out, OUT_MAX);
    if (rc != 0 || !strstr(out, "0 Errors, 0 Warnings, 0 Remarks"))
        fprintf(stderr, "pcitest.asl: iasl exited %d:\n%s\n", rc, out);
    CHECK_EQ(rc, 0);
    rc = run("timeout 60 acpiexec -b '"
             "evaluate \\_SB.PCI0._CRS; evaluate \\_SB.GSIB._CRS; evaluate \\_SB.MRES._CRS; "
             "evaluate \\OSCQ; evaluate \\OSCS; evaluate \\OSCU; evaluate \\OSCR; "
             "evaluate \\PRTN; evaluate \\PRTL; evaluate \\SRSA' "
             "dsdt-pci.dat facp-pci.dat apic-pci.dat pcitest.aml",
             out, OUT_MAX);
    if (rc != 0 || strcasestr(out, "error") || strcasestr(out, "warning") ||
        strcasestr(out, "exception") || strstr(out, "failed"))
        fprintf(stderr, "acpiexec exited %d:\n%s\n", rc, out);
    CHECK_EQ(rc, 0);
    CHECK(!strcasestr(out, "error") && !strcasestr(out, "warning") &&
          !strcasestr(out, "exception") && !strstr(out, "failed"));
    check_dsl_has(out, "acpiexec-pci", expect, ARRAY_SIZE(expect));
    free(out);
}

static void test_default_tables(struct built *b)
{
    static const uint32_t ids[] = { 0, 1, 2, 3 };
    static const char *const dsdt_expect[] = {
        "Scope (_SB)",
        "Device (COM1)",
        "Name (_HID, EisaId (\"PNP0501\")",
        "Name (_UID, One)",
        "0x03F8,",
        "{4}",
        "Device (RTC)",
        "Name (_HID, EisaId (\"PNP0B00\")",
        "0x0070,",
        "{8}",
        "Device (PEVT)",
        "Name (_HID, \"QEMU0001\")",
        "Name (_STA, 0x0F)",
        "0x0505,",
        "Name (_S5, Package (0x04)",
    };
    static const char *const facp_expect[] = {
        "Hardware Reduced (V5) : 1",
        "Reset Register Supported (V2) : 1",
        "8042 Present on ports 60/64 (V2) : 0",
        "Hypervisor ID : 4D56454349554C53", /* "SLUICEVM" little-endian */
        "DSDT Address : 00000000000E",
        "Value to cause reset : 01",
        "RTC Century Index : 32",
    };
    static const char *const apic_expect[] = {
        "[Processor Local APIC]", "[I/O APIC]", "[Interrupt Source Override]",
        "[Local APIC NMI]", "Local Apic Address : FEE00000", "Address : FEC00000",
    };
    char *dsl;

    CHECK_EQ(build(b, ids, ARRAY_SIZE(ids)), 0);
    check_rsdp(b);
    free(iasl_roundtrip("xsdt", find(b, "XSDT")));
    dsl = iasl_roundtrip("facp", find(b, "FACP"));
    check_dsl_has(dsl, "facp", facp_expect, ARRAY_SIZE(facp_expect));
    free(dsl);
    dsl = iasl_roundtrip("apic", find(b, "APIC"));
    check_dsl_has(dsl, "apic", apic_expect, ARRAY_SIZE(apic_expect));
    CHECK(dsl && !strstr(dsl, "x2APIC"));
    free(dsl);
    dsl = iasl_roundtrip("dsdt", find(b, "DSDT"));
    check_dsl_has(dsl, "dsdt", dsdt_expect, ARRAY_SIZE(dsdt_expect));
    free(dsl);
}

/*
 * ACPICA's interpreter (the code Linux runs) loads the FADT, DSDT and MADT
 * dumped by test_default_tables() and evaluates the objects the guest uses.
 */
static void test_acpiexec(void)
{
    static const char *const expect[] = {
        "Evaluation of \\_S5 returned",
        "[Package] Contains 4 Elements:",
        "[Integer] = 0000000000000005",
        "47 01 F8 03 F8 03 01 08 22 10 00 79 00", /* COM1 _CRS */
        "47 01 70 00 70 00 01 02 22 00 01 79 00", /* RTC _CRS */
        "[String] Length 08 = \"QEMU0001\"",
        "[Integer] = 000000000000000F",
    };
    char *out;
    int rc;

    if (system("command -v acpiexec >/dev/null 2>&1") != 0) {
        fprintf(stderr, "acpiexec not found: namespace evaluation not checked\n");
        return;
    }
    out = malloc(OUT_MAX);
    rc = run("timeout 60 acpiexec -b '"
             "evaluate \\_S5; evaluate \\_SB.COM1._CRS; evaluate \\_SB.RTC._CRS; "
             "evaluate \\_SB.PEVT._HID; evaluate \\_SB.PEVT._STA' "
             "dsdt.dat facp.dat apic.dat",
             out, OUT_MAX);
    if (rc != 0 || strcasestr(out, "error") || strcasestr(out, "warning") ||
        strcasestr(out, "exception"))
        fprintf(stderr, "acpiexec exited %d:\n%s\n", rc, out);
    CHECK_EQ(rc, 0);
    CHECK(!strcasestr(out, "error") && !strcasestr(out, "warning") &&
          !strcasestr(out, "exception"));
    check_dsl_has(out, "acpiexec", expect, ARRAY_SIZE(expect));
    free(out);
}

static void test_x2apic_madt(struct built *b)
{
    static const uint32_t ids[] = { 0, 1, 0xff, 0x1234 };
    static const char *const expect[] = {
        "[Processor Local x2APIC]", "Processor x2Apic ID : 00001234", "[Local x2APIC NMI]",
    };
    char *dsl;

    CHECK_EQ(build(b, ids, ARRAY_SIZE(ids)), 0);
    dsl = iasl_roundtrip("apic-x2", find(b, "APIC"));
    check_dsl_has(dsl, "apic-x2", expect, ARRAY_SIZE(expect));
    free(dsl);

    /* a 4-vCPU machine with one APIC ID above 255 (--apic-ids 0,1,2,300) */
    static const uint32_t sparse[] = { 0, 1, 2, 300 };
    static const char *const expect_sparse[] = {
        "[Processor Local APIC]", "Local Apic ID : 02", "[Processor Local x2APIC]",
        "Processor x2Apic ID : 0000012C", "Processor UID : 00000003", "[Local x2APIC NMI]",
    };
    CHECK_EQ(build(b, sparse, ARRAY_SIZE(sparse)), 0);
    dsl = iasl_roundtrip("apic-sparse", find(b, "APIC"));
    check_dsl_has(dsl, "apic-sparse", expect_sparse, ARRAY_SIZE(expect_sparse));
    free(dsl);
}

/* Everything the AML builder can emit, with PkgLengths of 1, 2 and 3 bytes. */
static void build_synthetic_aml(struct aml *a)
{
    static uint8_t big[5000];
    struct aml_mark sb, dev, pkg, inner, crs, buf, meth, cond;

    sb = aml_scope_begin(a, "\\_SB");
    dev = aml_device_begin(a, "TST0");
    aml_name_eisaid(a, "_HID", "PNP0A08");
    aml_name_eisaid(a, "_CID", "PNP0A03");
    aml_name_integer(a, "_UID", 0);
    aml_name_string(a, "STR0", "sluice test device");
    aml_name(a, "BIG0");
    buf = aml_buffer_begin(a);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)i;
    aml_append(a, big, sizeof(big));
    aml_end(a, buf);
    aml_name(a, "PKG0");
    pkg = aml_package_begin(a, 40);
    for (uint64_t i = 0; i < 38; i++)
        aml_integer(a, i * 0x1111);
    inner = aml_package_begin(a, 3);
    aml_integer(a, UINT64_MAX);
    aml_string(a, "nested");
    aml_namestring(a, "\\_SB.TST0.BIG0");
    aml_end(a, inner);
    aml_integer(a, 0x100000000ull);
    aml_end(a, pkg);
    crs = aml_name_resource_template_begin(a, "_CRS");
    aml_res_io(a, 0xcf8, 0xcf8, 1, 8);
    aml_res_irq_noflags(a, 15);
    aml_res_interrupt(a, AML_RES_INT_CONSUMER | AML_RES_INT_EDGE | AML_RES_INT_ACTIVE_LOW |
                             AML_RES_INT_SHARED, 0x20);
    aml_res_interrupt(a, AML_RES_INT_CONSUMER, 0x10);
    aml_end(a, crs);
    meth = aml_method_begin(a, "TST1", 1, true);
    cond = aml_if_begin(a);
    aml_arg(a, 0);
    aml_return(a);
    aml_arg(a, 0);
    aml_end(a, cond);
    aml_return(a);
    aml_integer(a, 1);
    aml_end(a, meth);
    aml_end(a, dev);
    aml_end(a, sb);
}

static void test_synthetic_aml(void)
{
    static const char *const expect[] = {
        "Device (TST0)", "EisaId (\"PNP0A08\")", "EisaId (\"PNP0A03\")",
        "Name (BIG0, Buffer (0x1388)", "Name (PKG0, Package (0x28)", "Ones",
        "\"nested\"", "0x0000000100000000", "Interrupt (ResourceConsumer, Edge, ActiveLow, Shared, ,, )",
        "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )", "{15}",
        "Method (TST1, 1, Serialized)", "If (Arg0)", "Return (Arg0)", "Return (One)",
    };
    struct acpi_table_header h;
    struct aml a;
    uint8_t *table;
    char *dsl;

    aml_init(&a);
    build_synthetic_aml(&a);
    CHECK_EQ(aml_finish(&a), 0);
    table = calloc(1, sizeof(h) + a.len);
    memset(&h, 0, sizeof(h));
    memcpy(h.signature, "DSDT", 4);
    h.length = (uint32_t)(sizeof(h) + a.len);
    h.revision = 2;
    memcpy(h.oem_id, "SLUICE", 6);
    memcpy(h.oem_table_id, "AMLTEST ", 8);
    memcpy(table, &h, sizeof(h));
    memcpy(table + sizeof(h), a.data, a.len);
    uint8_t sum = 0;
    for (size_t i = 0; i < h.length; i++)
        sum = (uint8_t)(sum + table[i]);
    table[offsetof(struct acpi_table_header, checksum)] = (uint8_t)-sum;

    dsl = iasl_roundtrip("amltest", table);
    check_dsl_has(dsl, "amltest", expect, ARRAY_SIZE(expect));
    free(dsl);
    free(table);
    aml_free(&a);
}

/*
 * The IVRS of a PCIe machine with two AMD IOMMUs (one with the IOAPIC's
 * SPECIAL entry): iasl decodes both IVHD types, every device entry, and
 * recompiles the disassembly to the same bytes.
 */
static void test_ivrs_table(struct built *b)
{
    static const uint32_t ids[] = { 0, 1, 2, 3 };
    static const char *const expect[] = {
        "Signature : \"IVRS\"",
        "Virtualization Info : 00203041", /* EFRSup, GVA 48, PA 48, VA 64 */
        "Subtable Type : 10 [Hardware Definition Block",
        "Subtable Type : 11 [Hardware Definition Block",
        "DeviceId : 0010",
        "DeviceId : 0020",
        "Capability Offset : 0040",
        "Base Address : 00000000FED80000",
        "Base Address : 00000000FD000000",
        "EFR Image : 0001000000000951",
        "Entry Type : 02",
        "Entry Type : 03",
        "Entry Type : 04",
        "Entry Type : 48",
        "Source Used Device ID : 00A0",
        "Variety : 01",
    };
    /* PreFSup, GTSup, IASup, HESup, HATS 2 (6 levels), GATS 0 (4 levels), GIOSup */
    const uint64_t efr = 0x0001000000000951ULL;
    static struct acpi_machine m;
    char *dsl;

    acpi_machine_init(&m, ARRAY_SIZE(ids), ids);
    acpi_machine_init_pci(&m, PCI_TEST_RAM_END);
    m.n_amd_iommus = 2;
    acpi_amd_iommu_init(&m.amd_iommus[0], 0x0010, 0x40, LAYOUT_AMDVI_MMIO_BASE, efr, 0);
    CHECK_EQ(acpi_amd_iommu_add_range(&m.amd_iommus[0], 0x0000, 0x0000), 0);
    CHECK_EQ(acpi_amd_iommu_add_range(&m.amd_iommus[0], 0x0008, 0x001a), 0);
    CHECK_EQ(acpi_amd_iommu_add_range(&m.amd_iommus[0], 0x0100, 0x0100), 0);
    m.amd_iommus[0].ioapic_present = true;
    m.amd_iommus[0].ioapic_handle = m.ioapic.id;
    m.amd_iommus[0].ioapic_devid = 0x00a0; /* 00:14.0 */
    m.amd_iommus[0].emit_special = true;
    acpi_amd_iommu_init(&m.amd_iommus[1], 0x0020, 0x40, 0xfd000000ULL, efr, 0);
    CHECK_EQ(acpi_amd_iommu_add_range(&m.amd_iommus[1], 0x0200, 0x0200), 0);
    CHECK_EQ(acpi_amd_iommu_add_range(&m.amd_iommus[1], 0x0300, 0x03ff), 0);
    CHECK_EQ(acpi_build(&m, b->buf, LAYOUT_ACPI_ADDR, sizeof(b->buf), &b->rsdp), 0);
    CHECK(find(b, "IVRS") != NULL);
    if (!find(b, "IVRS"))
        return;
    dsl = iasl_roundtrip("ivrs", find(b, "IVRS"));
    check_dsl_has(dsl, "ivrs", expect, ARRAY_SIZE(expect));
    CHECK_EQ(count(dsl, "Subtable Type : 10 [Hardware Definition Block"), 2);
    CHECK_EQ(count(dsl, "Subtable Type : 11 [Hardware Definition Block"), 2);
    CHECK_EQ(count(dsl, "Entry Type : 48"), 2); /* in the 10h and the 11h block */
    free(dsl);
    free(iasl_roundtrip("xsdt-ivrs", find(b, "XSDT")));
}

int main(void)
{
    static struct built b;

    if (system("command -v iasl >/dev/null 2>&1") != 0) {
        fprintf(stderr, "iasl not found (install acpica-tools): skipping\n");
        return CHECK_SKIP;
    }
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_default_tables(&b);
    test_acpiexec();
    test_x2apic_madt(&b);
    test_synthetic_aml();
    test_pci_tables(&b);
    test_acpiexec_pci();
    test_ivrs_table(&b);
    if (check_failures)
        fprintf(stderr, "iasl files kept in %s\n", tmpdir);
    else
        remove_tmpdir();
    return check_result("test_acpi_iasl");
}
