/* SPDX-License-Identifier: MIT */
/*
 * Bit-field helpers for register layouts (*_regs.h), in the style of Linux's
 * <linux/bits.h> and <linux/bitfield.h>. Masks are 64-bit (unsigned long long)
 * so one set of helpers serves 8-, 32- and 64-bit registers; narrow them at the
 * use site. FIELD_GET/FIELD_PREP take a constant, non-zero, contiguous mask.
 *
 * Each macro is guarded so a second definition elsewhere (an identical helper
 * header in another module) does not clash.
 */
#ifndef SLUICE_DEVICES_BITS_H
#define SLUICE_DEVICES_BITS_H

#ifndef BIT
#define BIT(n) (1ULL << (n))
#endif

/* Bits h..l inclusive, h >= l, h <= 63. */
#ifndef GENMASK
#define GENMASK(h, l) ((~0ULL << (l)) & (~0ULL >> (63 - (h))))
#endif

#ifndef FIELD_GET
#define FIELD_GET(mask, reg) \
    (((unsigned long long)(reg) & (mask)) >> __builtin_ctzll(mask))
#endif

#ifndef FIELD_PREP
#define FIELD_PREP(mask, val) \
    (((unsigned long long)(val) << __builtin_ctzll(mask)) & (mask))
#endif

#endif
