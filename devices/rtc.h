/* SPDX-License-Identifier: MIT */
/*
 * CMOS RTC (MC146818A, devices/rtc_regs.h) at ports 0x70 (index) / 0x71 (data).
 *
 *     bus_register(pio, LAYOUT_PORT_RTC, RTC_BUS_LEN, &rtc_bus_ops, rtc,
 *                  RTC_BUS_SIZES, RTC_BUS_ALIGNED, "rtc")
 *
 * Time: the clock registers are computed at read time from the host's
 * CLOCK_REALTIME (UTC) plus an offset the guest controls, in BCD or binary
 * (register B DM) and 24- or 12-hour format (register B 24/12; 24h and BCD
 * after reset). Setting B.SET freezes the clock registers (and clears UIE);
 * guest writes then change the frozen time, and clearing SET makes it the
 * running time (offset = written time - host time). Writing a clock register
 * with SET clear applies at once. A written time that is not a valid date is
 * ignored (rate-limited log) and the clock keeps running.
 * Register A: UIP reads 1 during the last 244 us of every second (never while
 * SET is 1), so a reader that waits for UIP=0 never waits long; DV/RS are
 * writable but do not stop or change the clock. Register C: UF is set when a
 * second boundary passed since the last read of C; PF, AF and IRQF are never
 * set. Register D reads VRT. All other bytes are plain CMOS RAM (initially 0).
 *
 * Interrupts are NOT implemented: no irq line is wired, and the PIE/AIE/UIE
 * enable bits are stored but never fire. (Linux reads the time by polling;
 * its rtc-cmos alarm/UIE features will not see interrupts.)
 *
 * Threads: callbacks on any vCPU thread; one mutex inside.
 */
#ifndef SLUICE_DEVICES_RTC_H
#define SLUICE_DEVICES_RTC_H

#include "devices/bus.h"
#include "devices/rtc_regs.h"

struct rtc;

/* Create it running at host time (offset 0). Returns 0 and *out, or
 * -EINVAL / -ENOMEM / -errno. */
int rtc_create(struct rtc **out) __attribute__((warn_unused_result));
/* Free it (unregistered from the bus first). NULL is a no-op. */
void rtc_destroy(struct rtc *rtc);

extern const struct bus_ops rtc_bus_ops;
#define RTC_BUS_LEN RTC_PORTS_LEN
#define RTC_BUS_SIZES BUS_SIZE_1
#define RTC_BUS_ALIGNED true

#endif
