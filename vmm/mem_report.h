/* SPDX-License-Identifier: MIT */
/*
 * sluice's own memory footprint, for the boot benchmark: peak resident set
 * (VmHWM) and the part of it that is guest RAM (shared memfd pages,
 * RssShmem), read from /proc/self/status.
 */
#ifndef SLUICE_VMM_MEM_REPORT_H
#define SLUICE_VMM_MEM_REPORT_H

#include <stdint.h>

struct mem_report {
    uint64_t peak_rss_kib;     /* VmHWM */
    uint64_t rss_shmem_kib;    /* RssShmem: guest RAM the guest touched */
};

/* Parse a /proc/<pid>/status text. Returns 0 or -EINVAL if a field is missing. */
int mem_report_parse(const char *status_text, struct mem_report *out);
/* Read /proc/self/status. Returns 0 or -errno. */
int mem_report_read(struct mem_report *out);

#endif
