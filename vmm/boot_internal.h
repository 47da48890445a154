/* SPDX-License-Identifier: MIT */
/* Helpers shared by the boot_*.c files; not part of the boot API. */
#ifndef SLUICE_VMM_BOOT_INTERNAL_H
#define SLUICE_VMM_BOOT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem;

/* Format a one-line error into err[0..errlen) (no-op if err is NULL). */
void boot_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* End (exclusive) of the RAM region at guest-physical 0, or 0 if none. */
uint64_t boot_low_ram_end(const struct guest_mem *gm);

#endif
