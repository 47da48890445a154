/* SPDX-License-Identifier: MIT */
/*
 * Motorola MC146818A real-time clock / CMOS RAM as found in PCs (names as in
 * the datasheet and Linux's <linux/mc146818rtc.h>): an index port and a data
 * port in front of 128 bytes, of which 0x00..0x0D are the clock registers and
 * 0x32 is the century byte (the FADT's CENTURY field points at it).
 */
#ifndef SLUICE_DEVICES_RTC_REGS_H
#define SLUICE_DEVICES_RTC_REGS_H

#include "vmm/layout.h"
#include "devices/bits.h"

/* Ports, as offsets in the 2-byte region. */
#define RTC_PORT_INDEX 0
#define RTC_PORT_DATA 1
#define RTC_PORTS_LEN 2
#define RTC_INDEX_MASK GENMASK(6, 0)
#define RTC_INDEX_NMI_DISABLE BIT(7)  /* ignored: sluice has no NMI source here */

#define RTC_CMOS_SIZE 128

/* Clock registers. */
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06 /* 1..7, Sunday = 1 */
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09        /* 0..99 */
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY LAYOUT_RTC_CENTURY_INDEX /* IBM PC convention; ACPI FADT.CENTURY */

/* Register A */
#define RTC_A_UIP BIT(7)         /* update in progress (read-only) */
#define RTC_A_DV GENMASK(6, 4)   /* divider select */
#define RTC_A_RS GENMASK(3, 0)   /* periodic rate select */
#define RTC_A_WRITABLE (RTC_A_DV | RTC_A_RS)
#define RTC_A_DV_32KHZ 0x2
#define RTC_A_RS_1024HZ 0x6
#define RTC_A_RESET (FIELD_PREP(RTC_A_DV, RTC_A_DV_32KHZ) | FIELD_PREP(RTC_A_RS, RTC_A_RS_1024HZ))

/* Register B */
#define RTC_B_SET BIT(7)   /* inhibit updates; the guest may set the time */
#define RTC_B_PIE BIT(6)
#define RTC_B_AIE BIT(5)
#define RTC_B_UIE BIT(4)
#define RTC_B_SQWE BIT(3)
#define RTC_B_DM_BINARY BIT(2)
#define RTC_B_24H BIT(1)
#define RTC_B_DSE BIT(0)
#define RTC_B_RESET RTC_B_24H

/* Register C (read-only, cleared by reading) */
#define RTC_C_IRQF BIT(7)
#define RTC_C_PF BIT(6)
#define RTC_C_AF BIT(5)
#define RTC_C_UF BIT(4)

/* Register D (read-only) */
#define RTC_D_VRT BIT(7)   /* valid RAM and time: the battery is fine */

/* Hours register in 12-hour mode. */
#define RTC_HOURS_PM BIT(7)

/* Update timing: UIP rises this long before each update (datasheet t_BUC). */
#define RTC_UIP_LEAD_NS 244000

#endif
