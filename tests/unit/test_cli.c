/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "tests/unit/check.h"
#include "vmm/cli.h"

#define ARGV(...) ((char *[]){"sluice", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"sluice", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), err, sizeof(err))

static char err[256];

static void test_good(void)
{
    struct cli_options o;
    CHECK_EQ(PARSE(&o, "--kernel", "k"), CLI_RUN);
    CHECK_STREQ(o.kernel, "k");
    CHECK_EQ(o.cpus, CLI_DEFAULT_CPUS);
    CHECK_EQ(o.memory, CLI_DEFAULT_MEMORY);
    CHECK_EQ(o.serial, CLI_SERIAL_STDIO);
    CHECK(o.initrd == NULL);

    CHECK_EQ(PARSE(&o, "--kernel", "k", "--initrd", "i", "--cmdline", "console=ttyS0 quiet",
                   "--cpus", "4", "--memory", "6G", "--serial", "file=/tmp/x", "--log-level",
                   "debug"), CLI_RUN);
    CHECK_STREQ(o.initrd, "i");
    CHECK_STREQ(o.cmdline, "console=ttyS0 quiet");
    CHECK_EQ(o.cpus, 4);
    CHECK_EQ(o.memory, 6ULL << 30);
    CHECK_EQ(o.serial, CLI_SERIAL_FILE);
    CHECK_STREQ(o.serial_path, "/tmp/x");
    CHECK_EQ(o.log_level, LOG_LEVEL_DEBUG);

    CHECK_EQ(PARSE(&o, "--kernel=k", "--memory=256M", "--serial=pty", "--cpus=255"), CLI_RUN);
    CHECK_EQ(o.memory, 256ULL << 20);
    CHECK_EQ(o.serial, CLI_SERIAL_PTY);
    CHECK_EQ(o.cpus, 255);
    CHECK_EQ(PARSE(&o, "--kernel", "k", "--serial", "off", "--hugepages", "--memory", "1G"),
             CLI_RUN);
    CHECK(o.hugepages);
    CHECK_EQ(o.serial, CLI_SERIAL_OFF);
    CHECK_EQ(PARSE(&o, "--help"), CLI_HELP);
    CHECK_EQ(PARSE(&o, "--version"), CLI_VERSION);
}

static void expect_error(int ret, const char *needle)
{
    CHECK_EQ(ret, -EINVAL);
    CHECK(strstr(err, needle) != NULL);
    CHECK(strchr(err, '\n') == NULL); /* one line */
    if (!strstr(err, needle))
        fprintf(stderr, "  message was: %s\n", err);
}

static void test_bad(void)
{
    struct cli_options o;
    expect_error(PARSE(&o, "--cpus", "2"), "--kernel");
    expect_error(PARSE(&o, "--kernel", "k", "--cpus", "0"), "--cpus 0");
    expect_error(PARSE(&o, "--kernel", "k", "--cpus", "1025"), "--cpus 1025");
    expect_error(PARSE(&o, "--kernel", "k", "--cpus", "2x"), "--cpus 2x");
    expect_error(PARSE(&o, "--kernel", "k", "--memory", "lots"), "--memory lots");
    expect_error(PARSE(&o, "--kernel", "k", "--memory", "1M"), "--memory 1M");
    expect_error(PARSE(&o, "--kernel", "k", "--memory", "2000T"), "--memory 2000T");
    expect_error(PARSE(&o, "--kernel", "k", "--memory", "-5G"), "--memory -5G");
    expect_error(PARSE(&o, "--kernel", "k", "--memory", "100000001"), "multiple of 4K");
    expect_error(PARSE(&o, "--kernel", "k", "--serial", "tcp"), "--serial tcp");
    expect_error(PARSE(&o, "--kernel", "k", "--serial", "file="), "--serial file=");
    expect_error(PARSE(&o, "--kernel", "k", "--log-level", "loud"), "--log-level loud");
    expect_error(PARSE(&o, "--kernel", "k", "--frobnicate"), "unknown option '--frobnicate'");
    expect_error(PARSE(&o, "--kernel"), "needs a value");
    expect_error(PARSE(&o, "--kernel", "k", "extra"), "unexpected argument 'extra'");
    expect_error(PARSE(&o, "--kernel", "k", "--hugepages", "--memory", "65M"), "multiple of 2M");
}

static void test_cpus_limits(void)
{
    struct cli_options o;
    CHECK_EQ(PARSE(&o, "--kernel", "k", "--cpus", "1024", "--iommu", "amd"), CLI_RUN);
    CHECK_EQ(o.cpus, 1024);
    CHECK_EQ(o.topo.mode, TOPOLOGY_DENSE);
    /* dense IDs 0..255: ID 255 is the xAPIC broadcast, so remapping is needed */
    expect_error(PARSE(&o, "--kernel", "k", "--cpus", "256"),
                 "APIC ID 255 needs interrupt remapping: add --iommu amd (intremap=on)");
    expect_error(PARSE(&o, "--kernel", "k", "--cpus", "300", "--iommu", "amd,intremap=off"),
                 "APIC ID 299 needs interrupt remapping");
    CHECK_EQ(PARSE(&o, "--kernel", "k", "--cpus", "255", "--iommu", "amd,intremap=off"), CLI_RUN);
}

static void test_topology(void)
{
    struct cli_options o;
    struct topology_request req;
    CHECK_EQ(PARSE(&o, "--kernel", "k", "--topology", "sockets=2,cores=3"), CLI_RUN);
    CHECK_EQ(o.cpus, 6);
    cli_topology_request(&o, &req);
    CHECK_EQ(req.mode, TOPOLOGY_SMP);
    CHECK_EQ(req.sockets, 2);
    CHECK_EQ(req.cores, 3);
    CHECK_EQ(req.threads, 1);

    /* cores derived from --cpus, as QEMU's -smp does */
    CHECK_EQ(PARSE(&o, "--kernel", "k", "--cpus", "8", "--topology", "sockets=2,threads=2"),
             CLI_RUN);
    CHECK_EQ(o.cpus, 8);
    cli_topology_request(&o, &req);
    CHECK_EQ(req.cores, 2);

    /* a 4-vCPU VM with APIC IDs 0,1,256,257 */
    expect_error(PARSE(&o, "--kernel", "k", "--topology", "sockets=2,cores=2,apic-id-stride=256"),
                 "APIC ID 257 needs interrupt remapping: add --iommu amd (intremap=on)");
    CHECK_EQ(PARSE(&o, "--kernel", "k", "--topology", "sockets=2,cores=2,apic-id-stride=256",
                   "--iommu", "amd"), CLI_RUN);
    CHECK_EQ(o.cpus, 4);
    cli_topology_request(&o, &req);
    CHECK_EQ(req.apic_id_stride, 256);

    expect_error(PARSE(&o, "--kernel", "k", "--topology", "sockets=2,cores=3", "--cpus", "5"),
                 "--topology makes 6 vCPUs");
    expect_error(PARSE(&o, "--kernel", "k", "--topology", "sockets=2", "--cpus", "5"),
                 "--topology makes 2 vCPUs");
    expect_error(PARSE(&o, "--kernel", "k", "--topology", "sockets=0"), "sockets=0");
    expect_error(PARSE(&o, "--kernel", "k", "--topology", "cores=1025"), "cores=1025");
    expect_error(PARSE(&o, "--kernel", "k", "--topology", "sockets=32,cores=32,threads=2"),
                 "2048 vCPUs");
    expect_error(PARSE(&o, "--kernel", "k", "--topology", "dies=2"), "unknown key 'dies'");
    expect_error(PARSE(&o, "--kernel", "k", "--topology", "cores=2,apic-id-stride=3"),
                 "power of two");
    expect_error(PARSE(&o, "--kernel", "k", "--topology", "cores=2,apic-id-stride=x"),
                 "apic-id-stride=x");
    expect_error(PARSE(&o, "--kernel", "k", "--topology", "cores=2", "--topology", "cores=4"),
                 "already given");
}

static void test_apic_ids(void)
{
    struct cli_options o;
    struct topology_request req;
    CHECK_EQ(PARSE(&o, "--kernel", "k", "--apic-ids", "0,1,2,300", "--iommu", "amd"), CLI_RUN);
    CHECK_EQ(o.cpus, 4);
    cli_topology_request(&o, &req);
    CHECK_EQ(req.mode, TOPOLOGY_LIST);
    CHECK_EQ(req.ncpus, 4);
    CHECK_EQ(req.ids[3], 300);
    CHECK_EQ(PARSE(&o, "--kernel", "k", "--apic-ids", "0,4", "--cpus", "2"), CLI_RUN);
    CHECK_EQ(o.cpus, 2);

    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", "0,1,2,300"),
                 "APIC ID 300 needs interrupt remapping: add --iommu amd (intremap=on)");
    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", "0,1,2,300", "--iommu",
                       "amd,intremap=off"), "APIC ID 300 needs interrupt remapping");
    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", "0,1", "--cpus", "3"),
                 "--apic-ids lists 2 IDs but --cpus is 3");
    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", "0,7,7"), "APIC ID 7 is given twice");
    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", "0,x"), "'x' is not an APIC ID");
    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", "0,-1"), "'-1' is not an APIC ID");
    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", "0,4294967295", "--iommu", "amd"),
                 "'4294967295' is not an APIC ID");
    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", ","), "comma-separated list");
    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", "0", "--topology", "cores=1"),
                 "already given");

    /* 1025 IDs are refused; 1024 fit */
    static char list[1025 * 6];
    size_t pos = 0;
    for (unsigned i = 0; i < 1025; i++)
        pos += (size_t)snprintf(list + pos, sizeof(list) - pos, "%s%u", i ? "," : "", i);
    expect_error(PARSE(&o, "--kernel", "k", "--apic-ids", list, "--iommu", "amd"),
                 "more than 1024 IDs");
    *strrchr(list, ',') = '\0';
    CHECK_EQ(PARSE(&o, "--kernel", "k", "--apic-ids", list, "--iommu", "amd"), CLI_RUN);
    CHECK_EQ(o.cpus, 1024);
}

static void test_sizes(void)
{
    uint64_t v = 0;
    CHECK_EQ(cli_parse_size("4096", &v), 0);
    CHECK_EQ(v, 4096);
    CHECK_EQ(cli_parse_size("512K", &v), 0);
    CHECK_EQ(v, 512 << 10);
    CHECK_EQ(cli_parse_size("2MiB", &v), 0);
    CHECK_EQ(v, 2 << 20);
    CHECK_EQ(cli_parse_size("1g", &v), 0);
    CHECK_EQ(v, 1ULL << 30);
    CHECK_EQ(cli_parse_size("", &v), -EINVAL);
    CHECK_EQ(cli_parse_size("1Q", &v), -EINVAL);
    CHECK_EQ(cli_parse_size("99999999999999999999", &v), -EINVAL);
    CHECK_EQ(cli_parse_size("99999999999T", &v), -ERANGE);
}

int main(void)
{
    test_good();
    test_bad();
    test_cpus_limits();
    test_topology();
    test_apic_ids();
    test_sizes();
    return check_result("test_cli");
}
