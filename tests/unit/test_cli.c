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
    expect_error(PARSE(&o, "--kernel", "k", "--cpus", "256"), "--cpus 256");
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
    test_sizes();
    return check_result("test_cli");
}
