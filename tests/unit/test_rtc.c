/* SPDX-License-Identifier: MIT */
/* CMOS RTC model, driven through its bus callbacks and compared with the host clock. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "devices/rtc.h"
#include "tests/unit/check.h"

static uint8_t cmos_read(struct rtc *r, uint8_t index)
{
    uint8_t v = 0;
    rtc_bus_ops.write(r, RTC_PORT_INDEX, &index, 1);
    rtc_bus_ops.read(r, RTC_PORT_DATA, &v, 1);
    return v;
}

static void cmos_write(struct rtc *r, uint8_t index, uint8_t v)
{
    rtc_bus_ops.write(r, RTC_PORT_INDEX, &index, 1);
    rtc_bus_ops.write(r, RTC_PORT_DATA, &v, 1);
}

static int bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xf); }

/* Read the clock the way Linux's mc146818_get_time does: wait for UIP clear,
 * read everything, retry if the seconds changed meanwhile. */
static time_t read_clock(struct rtc *r, struct tm *out)
{
    for (int tries = 0; tries < 1000; tries++) {
        if (cmos_read(r, RTC_REG_A) & RTC_A_UIP)
            continue;
        uint8_t sec = cmos_read(r, RTC_SECONDS);
        uint8_t min = cmos_read(r, RTC_MINUTES);
        uint8_t hour = cmos_read(r, RTC_HOURS);
        uint8_t mday = cmos_read(r, RTC_DAY_OF_MONTH);
        uint8_t mon = cmos_read(r, RTC_MONTH);
        uint8_t year = cmos_read(r, RTC_YEAR);
        uint8_t cent = cmos_read(r, RTC_CENTURY);
        uint8_t wday = cmos_read(r, RTC_DAY_OF_WEEK);
        uint8_t b = cmos_read(r, RTC_REG_B);
        if (sec != cmos_read(r, RTC_SECONDS))
            continue;
        bool binary = b & RTC_B_DM_BINARY;
        int (*dec)(uint8_t) = binary ? NULL : bcd;
#define DEC(x) (dec ? dec(x) : (int)(x))
        struct tm tm = { 0 };
        tm.tm_sec = DEC(sec);
        tm.tm_min = DEC(min);
        if (b & RTC_B_24H) {
            tm.tm_hour = DEC(hour);
        } else {
            int h = DEC((uint8_t)(hour & ~RTC_HOURS_PM)) % 12;
            tm.tm_hour = h + ((hour & RTC_HOURS_PM) ? 12 : 0);
        }
        tm.tm_mday = DEC(mday);
        tm.tm_mon = DEC(mon) - 1;
        tm.tm_year = DEC(cent) * 100 + DEC(year) - 1900;
        tm.tm_wday = DEC(wday) - 1;
#undef DEC
        int wday_read = tm.tm_wday;
        time_t t = timegm(&tm);
        CHECK_EQ(tm.tm_wday, wday_read); /* day of week consistent with the date */
        if (out)
            *out = tm;
        return t;
    }
    CHECK(!"UIP stuck");
    return 0;
}

static void check_host_time(struct rtc *r)
{
    time_t before = time(NULL);
    time_t t = read_clock(r, NULL);
    time_t after = time(NULL);
    CHECK(t >= before - 1 && t <= after + 1);
}

static void test_host_time_formats(void)
{
    struct rtc *r = NULL;
    CHECK_EQ(rtc_create(&r), 0);
    /* Reset: BCD, 24h, register D valid, A with the 32 kHz divider. */
    CHECK_EQ(cmos_read(r, RTC_REG_B), RTC_B_24H);
    CHECK_EQ(cmos_read(r, RTC_REG_D), RTC_D_VRT);
    CHECK_EQ(cmos_read(r, RTC_REG_A) & RTC_A_WRITABLE, RTC_A_RESET);
    check_host_time(r);            /* BCD, 24h */
    struct tm tm;
    read_clock(r, &tm);
    uint8_t cent = cmos_read(r, RTC_CENTURY);
    CHECK_EQ(bcd(cent), (tm.tm_year + 1900) / 100);
    CHECK(cent == 0x20 || cent == 0x21);

    cmos_write(r, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
    check_host_time(r);            /* binary, 24h */
    CHECK_EQ(cmos_read(r, RTC_CENTURY), (tm.tm_year + 1900) / 100);
    cmos_write(r, RTC_REG_B, RTC_B_DM_BINARY);
    check_host_time(r);            /* binary, 12h */
    cmos_write(r, RTC_REG_B, 0);
    check_host_time(r);            /* BCD, 12h */
    rtc_destroy(r);
}

static void test_set_bit(void)
{
    struct rtc *r = NULL;
    CHECK_EQ(rtc_create(&r), 0);
    /* Linux mc146818_set_time: SET (and UIE cleared by it), write, clear SET. */
    cmos_write(r, RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_UIE);
    CHECK_EQ(cmos_read(r, RTC_REG_B), RTC_B_SET | RTC_B_24H);
    cmos_write(r, RTC_SECONDS, 0x07);
    cmos_write(r, RTC_MINUTES, 0x05);
    cmos_write(r, RTC_HOURS, 0x13);
    cmos_write(r, RTC_DAY_OF_MONTH, 0x15);
    cmos_write(r, RTC_MONTH, 0x07);
    cmos_write(r, RTC_YEAR, 0x31);
    cmos_write(r, RTC_CENTURY, 0x20);
    /* Frozen: the registers read what was written, UIP stays clear. */
    usleep(20000);
    CHECK_EQ(cmos_read(r, RTC_SECONDS), 0x07);
    CHECK_EQ(cmos_read(r, RTC_HOURS), 0x13);
    CHECK_EQ(cmos_read(r, RTC_YEAR), 0x31);
    CHECK_EQ(cmos_read(r, RTC_REG_A) & RTC_A_UIP, 0);
    cmos_write(r, RTC_REG_B, RTC_B_24H);

    struct tm want = { .tm_sec = 7, .tm_min = 5, .tm_hour = 13, .tm_mday = 15, .tm_mon = 6,
                       .tm_year = 2031 - 1900 };
    time_t expect = timegm(&want);
    struct tm got;
    time_t t = read_clock(r, &got);
    CHECK(t >= expect && t <= expect + 1);
    CHECK_EQ(got.tm_wday, want.tm_wday); /* computed by timegm: a Tuesday */

    /* 12-hour mode shows 1 PM. */
    cmos_write(r, RTC_REG_B, 0);
    CHECK_EQ(cmos_read(r, RTC_HOURS), RTC_HOURS_PM | 0x01);
    cmos_write(r, RTC_REG_B, RTC_B_DM_BINARY);
    CHECK_EQ(cmos_read(r, RTC_HOURS), RTC_HOURS_PM | 1);
    CHECK_EQ(cmos_read(r, RTC_YEAR), 31);

    /* Writing with SET clear applies at once: midnight in 12h binary = 12 AM. */
    cmos_write(r, RTC_HOURS, 12);
    CHECK_EQ(cmos_read(r, RTC_HOURS), 12);
    cmos_write(r, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
    CHECK_EQ(cmos_read(r, RTC_HOURS), 0);
    CHECK_EQ(cmos_read(r, RTC_MINUTES), 5);
    /* 12 PM is noon. */
    cmos_write(r, RTC_REG_B, RTC_B_DM_BINARY);
    cmos_write(r, RTC_HOURS, RTC_HOURS_PM | 12);
    cmos_write(r, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
    CHECK_EQ(cmos_read(r, RTC_HOURS), 12);

    /* An invalid date is refused; the clock keeps its time. */
    cmos_write(r, RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_DM_BINARY);
    cmos_write(r, RTC_MONTH, 2);
    cmos_write(r, RTC_DAY_OF_MONTH, 30);
    cmos_write(r, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
    CHECK_EQ(cmos_read(r, RTC_MONTH), 7);
    CHECK_EQ(cmos_read(r, RTC_DAY_OF_MONTH), 15);
    CHECK_EQ(cmos_read(r, RTC_YEAR), 31);

    /* Back to host time. */
    time_t now = time(NULL);
    struct tm h;
    gmtime_r(&now, &h);
    cmos_write(r, RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_DM_BINARY);
    cmos_write(r, RTC_SECONDS, (uint8_t)h.tm_sec);
    cmos_write(r, RTC_MINUTES, (uint8_t)h.tm_min);
    cmos_write(r, RTC_HOURS, (uint8_t)h.tm_hour);
    cmos_write(r, RTC_DAY_OF_MONTH, (uint8_t)h.tm_mday);
    cmos_write(r, RTC_MONTH, (uint8_t)(h.tm_mon + 1));
    cmos_write(r, RTC_YEAR, (uint8_t)(h.tm_year % 100));
    cmos_write(r, RTC_CENTURY, (uint8_t)((h.tm_year + 1900) / 100));
    cmos_write(r, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
    check_host_time(r);
    rtc_destroy(r);
}

static void test_other_registers(void)
{
    struct rtc *r = NULL;
    CHECK_EQ(rtc_create(&r), 0);
    /* Register A: UIP read-only, never stuck; divider/rate writable. */
    cmos_write(r, RTC_REG_A, 0xff);
    CHECK_EQ(cmos_read(r, RTC_REG_A) & RTC_A_WRITABLE, RTC_A_WRITABLE);
    unsigned uip = 0, reads = 0;
    for (; reads < 20000; reads++)
        if (cmos_read(r, RTC_REG_A) & RTC_A_UIP)
            uip++;
    CHECK(uip < reads / 2);
    cmos_write(r, RTC_REG_A, (uint8_t)RTC_A_RESET);

    /* Register C: read clears; UF after a second boundary. */
    (void)cmos_read(r, RTC_REG_C);
    CHECK_EQ(cmos_read(r, RTC_REG_C) & RTC_C_IRQF, 0);
    usleep(1100000);
    uint8_t c = cmos_read(r, RTC_REG_C);
    CHECK_EQ(c, RTC_C_UF);
    CHECK_EQ(cmos_read(r, RTC_REG_C) & (RTC_C_PF | RTC_C_AF | RTC_C_IRQF), 0);
    cmos_write(r, RTC_REG_C, 0xff);
    cmos_write(r, RTC_REG_D, 0x00);
    CHECK_EQ(cmos_read(r, RTC_REG_D), RTC_D_VRT);

    /* Alarm registers and RAM are plain storage; the index NMI bit is ignored. */
    cmos_write(r, RTC_SECONDS_ALARM, 0x42);
    CHECK_EQ(cmos_read(r, RTC_SECONDS_ALARM), 0x42);
    cmos_write(r, RTC_INDEX_NMI_DISABLE | 0x40, 0x99);
    CHECK_EQ(cmos_read(r, 0x40), 0x99);
    cmos_write(r, 0x7f, 0x12);
    CHECK_EQ(cmos_read(r, 0x7f), 0x12);

    /* The index port is write-only; bad sizes read all-ones. */
    uint8_t v = 0;
    rtc_bus_ops.read(r, RTC_PORT_INDEX, &v, 1);
    CHECK_EQ(v, 0xff);
    uint16_t w = 0;
    rtc_bus_ops.read(r, RTC_PORT_INDEX, &w, 2);
    CHECK_EQ(w, 0xffff);
    rtc_destroy(r);
}

int main(void)
{
    test_host_time_formats();
    test_set_bit();
    test_other_registers();
    return check_result("test_rtc");
}
