/* SPDX-License-Identifier: MIT */
/* --disk / --net / --rng parsing: values, defaults, and one-line errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/cli.h"

#define ARGV(...) ((char *[]){"sluice", "--kernel", "k", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"sluice", "--kernel", "k", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), err, sizeof(err))

static char err[512];
static struct cli_options o;

static void expect_error(int ret, const char *needle)
{
    CHECK_EQ(ret, -EINVAL);
    CHECK(strstr(err, needle) != NULL);
    CHECK(strchr(err, '\n') == NULL);
}

static void test_disks(void)
{
    CHECK_EQ(PARSE(&o, "--disk", "path=/a.img", "--disk", "path=/b.img,readonly=on,id=data,bus=0"),
             CLI_RUN);
    CHECK_EQ(o.ndisks, 2);
    CHECK_STREQ(o.disks[0].path, "/a.img");
    CHECK_STREQ(o.disks[0].id, "disk0");
    CHECK(!o.disks[0].readonly);
    CHECK_EQ(o.disks[0].place.bus, CLI_BUS_ROOT_PORT);
    CHECK_STREQ(o.disks[1].id, "data");
    CHECK(o.disks[1].readonly);
    CHECK_EQ(o.disks[1].place.bus, CLI_BUS_ZERO);
    /* an explicit id that looks like a default one: the default moves on */
    CHECK_EQ(PARSE(&o, "--disk", "path=/a,id=disk1", "--disk", "path=/b"), CLI_RUN);
    CHECK_STREQ(o.disks[1].id, "disk2");

    expect_error(PARSE(&o, "--disk", "readonly=on"), "path=FILE is required");
    expect_error(PARSE(&o, "--disk", "path=/a,colour=red"), "unknown key 'colour'");
    expect_error(PARSE(&o, "--disk", "path=/a,readonly=maybe"), "use on or off");
    expect_error(PARSE(&o, "--disk", "path=/a,id=x", "--disk", "path=/b,id=x"), "id 'x' is used twice");
    expect_error(PARSE(&o, "--disk", "path=/a", "--disk", "path=/a"), "given twice");
    expect_error(PARSE(&o, "--disk", "path=/a,path=/b"), "key 'path' given twice");
    expect_error(PARSE(&o, "--disk", "/a.img"), "not key=value");
    expect_error(PARSE(&o, "--disk", "path=/a,id=123456789012345678901"), "1 to 20 characters");
    expect_error(PARSE(&o, "--disk", "path=/a,bus=7"), "bus=port");
    expect_error(PARSE(&o, "--disk", "path="), "1 to 4095");
}

static void test_nets(void)
{
    CHECK_EQ(PARSE(&o, "--net", "tap=tap0", "--net", "tap=tap1,mac=52:54:00:ab:cd:ef,bus=0"),
             CLI_RUN);
    CHECK_EQ(o.nnets, 2);
    CHECK_STREQ(o.nets[0].tap, "tap0");
    CHECK(!o.nets[0].mac_set);
    CHECK(o.nets[1].mac_set);
    CHECK_EQ(o.nets[1].mac[0], 0x52);
    CHECK_EQ(o.nets[1].mac[5], 0xef);
    CHECK_EQ(o.nets[1].place.bus, CLI_BUS_ZERO);

    expect_error(PARSE(&o, "--net", "mac=52:54:00:ab:cd:ef"), "tap=NAME is required");
    expect_error(PARSE(&o, "--net", "tap=t,mac=01:00:00:00:00:01"), "unicast");
    expect_error(PARSE(&o, "--net", "tap=t,mac=52:54:00:ab:cd"), "unicast");
    expect_error(PARSE(&o, "--net", "tap=t,mac=52:54:00:ab:cd:ef0"), "unicast");
    expect_error(PARSE(&o, "--net", "tap=t", "--net", "tap=t"), "given twice");
    expect_error(PARSE(&o, "--net", "tap=a,mac=52:54:00:00:00:01", "--net",
                       "tap=b,mac=52:54:00:00:00:01"), "same mac");
    expect_error(PARSE(&o, "--net", "tap=0123456789abcdef"), "1 to 15 characters");
    expect_error(PARSE(&o, "--net", "tap=t,vhost=on"), "unknown key 'vhost'");
}

static void test_rng(void)
{
    CHECK_EQ(PARSE(&o, "--rng"), CLI_RUN);
    CHECK(o.rng);
    CHECK_EQ(o.rng_place.bus, CLI_BUS_ROOT_PORT);
    CHECK_EQ(PARSE(&o, "--rng=bus=0"), CLI_RUN);
    CHECK_EQ(o.rng_place.bus, CLI_BUS_ZERO);
    expect_error(PARSE(&o, "--rng", "--rng"), "given twice");
    expect_error(PARSE(&o, "--rng=speed=fast"), "unknown key 'speed'");
}

static void test_iommu(void)
{
    CHECK_EQ(PARSE(&o, "--disk", "path=/a"), CLI_RUN);
    CHECK_EQ(o.iommu.model, CLI_IOMMU_NONE);
    CHECK(!cli_behind_iommu(&o, &o.disks[0].place));

    CHECK_EQ(PARSE(&o, "--iommu", "amd", "--disk", "path=/a", "--disk", "path=/b,iommu=off",
                   "--device", "edu", "--rng=iommu=on,bus=0"), CLI_RUN);
    CHECK_EQ(o.iommu.model, CLI_IOMMU_AMD);
    CHECK(o.iommu.guest_tables);
    CHECK(!o.iommu.npcache);
    CHECK(o.iommu.intremap); /* on by default */
    CHECK(cli_behind_iommu(&o, &o.disks[0].place));
    CHECK(!cli_behind_iommu(&o, &o.disks[1].place));
    CHECK(o.edu);
    CHECK(cli_behind_iommu(&o, &o.edu_place));
    CHECK(cli_behind_iommu(&o, &o.rng_place));
    CHECK_EQ(o.rng_place.bus, CLI_BUS_ZERO);

    CHECK_EQ(PARSE(&o, "--iommu", "amd,pgtbl=v1,npcache=on", "--device", "edu,bus=0,iommu=off"),
             CLI_RUN);
    CHECK(!o.iommu.guest_tables);
    CHECK(o.iommu.npcache);
    CHECK_EQ(o.edu_place.bus, CLI_BUS_ZERO);
    CHECK(!cli_behind_iommu(&o, &o.edu_place));

    CHECK_EQ(PARSE(&o, "--iommu", "amd,intremap=off"), CLI_RUN);
    CHECK(!o.iommu.intremap);
    CHECK(o.iommu.guest_tables);
    CHECK_EQ(PARSE(&o, "--iommu", "amd,intremap=on,npcache=on"), CLI_RUN);
    CHECK(o.iommu.intremap);
    expect_error(PARSE(&o, "--iommu", "amd,intremap=maybe"), "intremap=maybe: use on or off");
    expect_error(PARSE(&o, "--iommu", "intel"), "unknown IOMMU model");
    expect_error(PARSE(&o, "--iommu", "amd,pgtbl=v3"), "pgtbl=v3");
    expect_error(PARSE(&o, "--iommu", "amd,colour=red"), "unknown key 'colour' (known: pgtbl, npcache, intremap)");
    expect_error(PARSE(&o, "--disk", "path=/a,iommu=on"), "add --iommu amd");
    expect_error(PARSE(&o, "--disk", "path=/a,iommu=perhaps"), "use on or off");
    expect_error(PARSE(&o, "--device", "gpu"), "unknown device");
    expect_error(PARSE(&o, "--device", "edu", "--device", "edu"), "given twice");
    expect_error(PARSE(&o, "--device", "edu,speed=1"), "unknown key 'speed'");
}

static void test_vfio(void)
{
    CHECK_EQ(PARSE(&o, "--device", "vfio=0000:01:00.0"), CLI_RUN);
    CHECK_EQ(o.nvfio, 1);
    CHECK_STREQ(o.vfio[0].spec, "0000:01:00.0");
    CHECK_EQ(o.vfio[0].place.bus, CLI_BUS_ROOT_PORT);
    CHECK_EQ(o.vfio[0].place.iommu, CLI_IOMMU_DEFAULT);
    CHECK(!o.edu);

    /* short and upper-case addresses are made canonical; paths kept */
    CHECK_EQ(PARSE(&o, "--iommu", "amd", "--device", "vfio=0A:1f.7,bus=0",
                   "--device", "vfio=/sys/bus/pci/devices/0000:03:00.0,iommu=off",
                   "--device", "edu", "--device", "vfio=0001:02:00.1,iommu=on"), CLI_RUN);
    CHECK_EQ(o.nvfio, 3);
    CHECK_STREQ(o.vfio[0].spec, "0000:0a:1f.7");
    CHECK_EQ(o.vfio[0].place.bus, CLI_BUS_ZERO);
    CHECK(cli_behind_iommu(&o, &o.vfio[0].place));
    CHECK_STREQ(o.vfio[1].spec, "/sys/bus/pci/devices/0000:03:00.0");
    CHECK(!cli_behind_iommu(&o, &o.vfio[1].place));
    CHECK_STREQ(o.vfio[2].spec, "0001:02:00.1");
    CHECK(cli_behind_iommu(&o, &o.vfio[2].place));
    CHECK(o.edu);

    expect_error(PARSE(&o, "--device", "vfio=01:00.0,iommu=on"), "add --iommu amd");
    expect_error(PARSE(&o, "--device", "vfio=01:00.0", "--device", "vfio=0000:01:00.0"),
                 "vfio=0000:01:00.0: given twice");
    expect_error(PARSE(&o, "--device", "vfio=/a/b", "--device", "vfio=/a/b,bus=0"),
                 "given twice");
    static char *const bad[] = {"vfio=01:00", "vfio=1:0.0", "vfio=01:00.8",
                                "vfio=01:20.0", "vfio=eth0", "vfio=0000:01:00.0x",
                                "vfio=sys/bus/pci/devices/0000:01:00.0", "vfio= 01:00.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(PARSE(&o, "--device", bad[i]), "not a PCI address (DDDD:BB:DD.F");
    expect_error(PARSE(&o, "--device", "vfio="), "give a host PCI device");
    expect_error(PARSE(&o, "--device", "vfio"), "name the host device");
    expect_error(PARSE(&o, "--device", "vfio=01:00.0,speed=1"), "unknown key 'speed'");
    expect_error(PARSE(&o, "--device", "vfio=01:00.0,bus=7"), "bus=7");

    char *argv[32] = {"sluice", "--kernel", "k"};
    char specs[CLI_MAX_VFIO + 1][32];
    int argc = 3;
    for (int i = 0; i <= CLI_MAX_VFIO; i++) {
        snprintf(specs[i], sizeof(specs[i]), "vfio=%02x:00.0", i + 1);
        argv[argc++] = "--device";
        argv[argc++] = specs[i];
    }
    CHECK_EQ(cli_parse(argc - 2, argv, &o, err, sizeof(err)), CLI_RUN);
    CHECK_EQ(o.nvfio, CLI_MAX_VFIO);
    expect_error(cli_parse(argc, argv, &o, err, sizeof(err)), "at most 8 passthrough devices");
}

static void test_limits(void)
{
    char *argv[32] = {"sluice", "--kernel", "k"};
    char paths[CLI_MAX_DISKS + 1][32];
    int argc = 3;
    for (int i = 0; i <= CLI_MAX_DISKS; i++) {
        snprintf(paths[i], sizeof(paths[i]), "path=/d%d", i);
        argv[argc++] = "--disk";
        argv[argc++] = paths[i];
    }
    expect_error(cli_parse(argc, argv, &o, err, sizeof(err)), "at most 8 disks");
}

int main(void)
{
    test_disks();
    test_nets();
    test_rng();
    test_limits();
    test_iommu();
    test_vfio();
    return check_result("test_cli_devices");
}
