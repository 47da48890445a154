/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "tests/unit/check.h"
#include "vmm/mem_report.h"

int main(void)
{
    struct mem_report r;
    const char *text = "Name:\tsluice\nVmPeak:\t  100 kB\nVmHWM:\t    5120 kB\nVmRSS:\t 4000 kB\n"
                       "RssAnon:\t 1000 kB\nRssFile:\t 500 kB\nRssShmem:\t    2048 kB\n";
    CHECK_EQ(mem_report_parse(text, &r), 0);
    CHECK_EQ(r.peak_rss_kib, 5120);
    CHECK_EQ(r.rss_shmem_kib, 2048);
    CHECK_EQ(mem_report_parse("VmHWM:\t1 kB\n", &r), -EINVAL);
    CHECK_EQ(mem_report_parse("", &r), -EINVAL);
    CHECK_EQ(mem_report_parse("VmHWMx: 5 kB\nRssShmem: 1 kB\n", &r), -EINVAL);
    CHECK_EQ(mem_report_read(&r), 0);
    CHECK(r.peak_rss_kib > 0);
    return check_result("test_mem_report");
}
