/* SPDX-License-Identifier: MIT */
#include "vmm/mem_report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int mem_report_field(const char *text, const char *name, uint64_t *out)
{
    size_t len = strlen(name);
    for (const char *line = text; *line;) {
        if (strncmp(line, name, len) == 0 && line[len] == ':')
            return sscanf(line + len + 1, " %" SCNu64, out) == 1 ? 0 : -EINVAL;
        const char *eol = strchr(line, '\n');
        if (!eol)
            break;
        line = eol + 1;
    }
    return -EINVAL;
}

int mem_report_parse(const char *status_text, struct mem_report *out)
{
    if (mem_report_field(status_text, "VmHWM", &out->peak_rss_kib))
        return -EINVAL;
    if (mem_report_field(status_text, "RssShmem", &out->rss_shmem_kib))
        return -EINVAL;
    return 0;
}

int mem_report_read(struct mem_report *out)
{
    char buf[8192];
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return mem_report_parse(buf, out);
}
