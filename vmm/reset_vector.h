/* SPDX-License-Identifier: MIT */
/*
 * The x86 reset vector (real mode F000:FFF0, guest-physical 0xFFFF0).
 *
 * sluice has no firmware, yet guests jump there to reboot: Linux on a
 * hardware-reduced ACPI machine without EFI picks reboot_type BOOT_EFI,
 * finds no EFI runtime and falls through to BOOT_BIOS, which switches to
 * real mode and jumps to the reset vector, as firmware-reset code would be
 * found there on hardware (the path "reboot -f" and "panic=-1" take). What
 * the vector holds here is what hardware does after a reset request: a stub
 * that writes the ACPI reset register (FADT RESET_REG / RESET_VALUE), so
 * the jump restarts the machine, then halts.
 */
#ifndef SLUICE_VMM_RESET_VECTOR_H
#define SLUICE_VMM_RESET_VECTOR_H

#include <stddef.h>
#include <stdint.h>

#define RESET_VECTOR_LEN 16 /* 0xFFFF0..0xFFFFF */

/*
 * Fill `out` with the 16-bit stub: cli; mov dx, port; mov al, value;
 * out dx, al; then hlt in a loop; the rest is filled with hlt. Returns the
 * number of code bytes (always <= RESET_VECTOR_LEN).
 */
size_t reset_vector_build(uint8_t out[RESET_VECTOR_LEN], uint16_t reset_port,
                          uint8_t reset_value);

#endif
