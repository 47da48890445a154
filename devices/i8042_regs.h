/* SPDX-License-Identifier: MIT */
/*
 * Intel 8042 keyboard controller as found in PC/AT-compatible systems: the
 * status register, controller commands, the controller configuration
 * ("command") byte and the output port. Names follow Linux's i8042 driver
 * and the IBM PC/AT technical reference.
 */
#ifndef SLUICE_DEVICES_I8042_REGS_H
#define SLUICE_DEVICES_I8042_REGS_H

#include "devices/bits.h"

/* Status register (read from the command port). */
#define I8042_STR_OBF BIT(0)      /* output buffer full (data for the host at 0x60) */
#define I8042_STR_IBF BIT(1)      /* input buffer full (controller busy) */
#define I8042_STR_SYSFLAG BIT(2)  /* system flag: self test passed */
#define I8042_STR_CMDDAT BIT(3)   /* last write was to the command port */
#define I8042_STR_KEYLOCK BIT(4)  /* 1: keyboard not inhibited */
#define I8042_STR_AUXDATA BIT(5)  /* output buffer holds aux (mouse) data */
#define I8042_STR_TIMEOUT BIT(6)
#define I8042_STR_PARITY BIT(7)

/* Controller configuration byte (CTR). */
#define I8042_CTR_KBDINT BIT(0)
#define I8042_CTR_AUXINT BIT(1)
#define I8042_CTR_SYSFLAG BIT(2)
#define I8042_CTR_IGNKEYLOCK BIT(3)
#define I8042_CTR_KBDDIS BIT(4)
#define I8042_CTR_AUXDIS BIT(5)
#define I8042_CTR_XLATE BIT(6)
#define I8042_CTR_RESET (I8042_CTR_SYSFLAG | I8042_CTR_XLATE)

/* Output port (commands 0xD0/0xD1). */
#define I8042_OUTPORT_RESET_N BIT(0) /* 0 = system reset asserted */
#define I8042_OUTPORT_A20 BIT(1)
#define I8042_OUTPORT_RESET (I8042_OUTPORT_RESET_N | I8042_OUTPORT_A20)

/* Input port (command 0xC0): bit 7 = keyboard not inhibited. */
#define I8042_INPORT_KBD_UNLOCKED BIT(7)
#define I8042_INPORT_VALUE I8042_INPORT_KBD_UNLOCKED

/* Controller commands (written to the command port). */
#define I8042_CMD_CTL_RCTR 0x20      /* read configuration byte */
#define I8042_CMD_CTL_WCTR 0x60      /* write configuration byte (next data byte) */
#define I8042_CMD_AUX_DISABLE 0xa7
#define I8042_CMD_AUX_ENABLE 0xa8
#define I8042_CMD_AUX_TEST 0xa9
#define I8042_CMD_CTL_TEST 0xaa
#define I8042_CMD_KBD_TEST 0xab
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE 0xae
#define I8042_CMD_READ_INPORT 0xc0
#define I8042_CMD_READ_OUTPORT 0xd0
#define I8042_CMD_WRITE_OUTPORT 0xd1 /* next data byte */
#define I8042_CMD_KBD_LOOP 0xd2      /* next data byte comes back as keyboard data */
#define I8042_CMD_AUX_LOOP 0xd3      /* next data byte comes back as aux data */
#define I8042_CMD_AUX_SEND 0xd4      /* next data byte goes to the aux device */
#define I8042_CMD_PULSE_FIRST 0xf0   /* 0xf0..0xff: pulse output port bits 3:0 ... */
#define I8042_CMD_PULSE_BITS GENMASK(3, 0) /* ... that are 0 in the command */
#define I8042_CMD_PULSE_RESET 0xfe   /* pulse reset line: what Linux's reboot=k sends */

/* Responses. */
#define I8042_RET_CTL_TEST 0x55      /* controller self test passed */
#define I8042_RET_PORT_TEST_OK 0x00  /* interface test: no error */

#define I8042_PORT_LEN 1             /* each port is its own 1-byte region */

#endif
