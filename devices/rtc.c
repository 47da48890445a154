/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "rtc"
#include "devices/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/log.h"

#define NSEC_PER_SEC 1000000000LL
#define RTC_HOURS_PER_HALF_DAY 12
#define RTC_MAX_SECOND 59
#define RTC_MAX_MINUTE 59
#define RTC_MAX_HOUR 23
#define RTC_MONTHS 12
#define RTC_BCD_TENS_SHIFT 4
#define RTC_BCD_DIGIT_MASK 0x0f
#define RTC_DECIMAL_BASE 10
#define RTC_YEARS_PER_CENTURY 100
#define RTC_TM_YEAR_BASE 1900
#define RTC_MIN_YEAR 1970
/* 2^63 ns after 1970 is April 2262: stay well below so the running clock
 * (host time + offset) cannot overflow either. */
#define RTC_MAX_YEAR 2200

/* Broken-down time with the registers' conventions (month 1..12, wday 1..7,
 * full year). */
struct rtc_time {
    int sec, min, hour, wday, mday, mon, year;
};

struct rtc {
    pthread_mutex_t lock;
    uint8_t index;
    uint8_t cmos[RTC_CMOS_SIZE];  /* RAM, alarms, A (without UIP) and B */
    int64_t offset_ns;            /* guest time - host CLOCK_REALTIME */
    struct rtc_time frozen;       /* the clock registers while B.SET is 1 */
    int64_t last_c_read_sec;      /* guest second when C was last read (UF) */
};

/* ---- clock ----------------------------------------------------------------- */

static int64_t rtc_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int64_t rtc_guest_ns(const struct rtc *r)
{
    return rtc_host_ns() + r->offset_ns;
}

static int64_t rtc_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static void rtc_time_from_sec(int64_t sec, struct rtc_time *t)
{
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    *t = (struct rtc_time){
        .sec = tm.tm_sec, .min = tm.tm_min, .hour = tm.tm_hour, .wday = tm.tm_wday + 1,
        .mday = tm.tm_mday, .mon = tm.tm_mon + 1, .year = tm.tm_year + RTC_TM_YEAR_BASE,
    };
}

/* The clock registers' current content. */
static void rtc_current(const struct rtc *r, struct rtc_time *t)
{
    if (r->cmos[RTC_REG_B] & RTC_B_SET)
        *t = r->frozen;
    else
        rtc_time_from_sec(rtc_floor_div(rtc_guest_ns(r), NSEC_PER_SEC), t);
}

static bool rtc_days_valid(const struct rtc_time *t)
{
    /* Longest month lengths; 29 February in a common year is caught by timegm(). */
    static const int days[RTC_MONTHS] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return t->mon >= 1 && t->mon <= RTC_MONTHS && t->mday >= 1 && t->mday <= days[t->mon - 1];
}

/* Make `t` the running time. */
static void rtc_commit(struct rtc *r, const struct rtc_time *t)
{
    if (t->sec < 0 || t->sec > RTC_MAX_SECOND || t->min < 0 || t->min > RTC_MAX_MINUTE ||
        t->hour < 0 || t->hour > RTC_MAX_HOUR || !rtc_days_valid(t) || t->year < RTC_MIN_YEAR || t->year > RTC_MAX_YEAR) {
        LOG_RATELIMITED(LOG_LEVEL_WARN,
                        "guest set an invalid time %04d-%02d-%02d %02d:%02d:%02d; ignored",
                        t->year, t->mon, t->mday, t->hour, t->min, t->sec);
        return;
    }
    struct tm tm = {
        .tm_sec = t->sec, .tm_min = t->min, .tm_hour = t->hour, .tm_mday = t->mday,
        .tm_mon = t->mon - 1, .tm_year = t->year - RTC_TM_YEAR_BASE,
    };
    time_t sec = timegm(&tm);
    if (tm.tm_mday != t->mday) { /* normalised: 29 Feb in a common year */
        LOG_RATELIMITED(LOG_LEVEL_WARN, "guest set a nonexistent date; ignored");
        return;
    }
    int64_t ns;
    if (__builtin_mul_overflow((int64_t)sec, (int64_t)NSEC_PER_SEC, &ns) ||
        __builtin_sub_overflow(ns, rtc_host_ns(), &r->offset_ns)) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "guest set a time sluice cannot represent; ignored");
        return;
    }
}

/* ---- register encoding -------------------------------------------------------- */

static bool rtc_binary(const struct rtc *r)
{
    return r->cmos[RTC_REG_B] & RTC_B_DM_BINARY;
}

static uint8_t rtc_encode(const struct rtc *r, int v)
{
    if (rtc_binary(r))
        return (uint8_t)v;
    return (uint8_t)(((v / RTC_DECIMAL_BASE) << RTC_BCD_TENS_SHIFT) | (v % RTC_DECIMAL_BASE));
}

static int rtc_decode(const struct rtc *r, uint8_t b)
{
    if (rtc_binary(r))
        return b;
    return (b >> RTC_BCD_TENS_SHIFT) * RTC_DECIMAL_BASE + (b & RTC_BCD_DIGIT_MASK);
}

enum rtc_field { RTC_F_SEC, RTC_F_MIN, RTC_F_HOUR, RTC_F_WDAY, RTC_F_MDAY, RTC_F_MON,
                 RTC_F_YEAR, RTC_F_CENTURY };

static uint8_t rtc_field_get(const struct rtc *r, const struct rtc_time *t, enum rtc_field f)
{
    switch (f) {
    case RTC_F_SEC: return rtc_encode(r, t->sec);
    case RTC_F_MIN: return rtc_encode(r, t->min);
    case RTC_F_WDAY: return rtc_encode(r, t->wday);
    case RTC_F_MDAY: return rtc_encode(r, t->mday);
    case RTC_F_MON: return rtc_encode(r, t->mon);
    case RTC_F_YEAR: return rtc_encode(r, t->year % RTC_YEARS_PER_CENTURY);
    case RTC_F_CENTURY: return rtc_encode(r, t->year / RTC_YEARS_PER_CENTURY);
    case RTC_F_HOUR:
        if (r->cmos[RTC_REG_B] & RTC_B_24H)
            return rtc_encode(r, t->hour);
        {
            int h12 = t->hour % RTC_HOURS_PER_HALF_DAY;
            uint8_t pm = t->hour >= RTC_HOURS_PER_HALF_DAY ? RTC_HOURS_PM : 0;
            return (uint8_t)(rtc_encode(r, h12 ? h12 : RTC_HOURS_PER_HALF_DAY) | pm);
        }
    }
    return 0;
}

static void rtc_field_set(const struct rtc *r, struct rtc_time *t, enum rtc_field f, uint8_t b)
{
    switch (f) {
    case RTC_F_SEC: t->sec = rtc_decode(r, b); break;
    case RTC_F_MIN: t->min = rtc_decode(r, b); break;
    case RTC_F_WDAY: t->wday = rtc_decode(r, b); break;
    case RTC_F_MDAY: t->mday = rtc_decode(r, b); break;
    case RTC_F_MON: t->mon = rtc_decode(r, b); break;
    case RTC_F_YEAR:
        t->year = t->year / RTC_YEARS_PER_CENTURY * RTC_YEARS_PER_CENTURY + rtc_decode(r, b);
        break;
    case RTC_F_CENTURY:
        t->year = rtc_decode(r, b) * RTC_YEARS_PER_CENTURY + t->year % RTC_YEARS_PER_CENTURY;
        break;
    case RTC_F_HOUR:
        if (r->cmos[RTC_REG_B] & RTC_B_24H) {
            t->hour = rtc_decode(r, b);
        } else {
            int h12 = rtc_decode(r, (uint8_t)(b & ~RTC_HOURS_PM)) % RTC_HOURS_PER_HALF_DAY;
            t->hour = h12 + ((b & RTC_HOURS_PM) ? RTC_HOURS_PER_HALF_DAY : 0);
        }
        break;
    }
}

/* ---- registers ------------------------------------------------------------------ */

struct rtc_reg {
    const char *name;
    uint8_t (*read)(struct rtc *r, const struct rtc_reg *reg);
    void (*write)(struct rtc *r, const struct rtc_reg *reg, uint8_t val);
    enum rtc_field field; /* clock registers */
};

static uint8_t rtc_clock_read(struct rtc *r, const struct rtc_reg *reg)
{
    struct rtc_time t;
    rtc_current(r, &t);
    return rtc_field_get(r, &t, reg->field);
}

static void rtc_clock_write(struct rtc *r, const struct rtc_reg *reg, uint8_t val)
{
    if (r->cmos[RTC_REG_B] & RTC_B_SET) {
        rtc_field_set(r, &r->frozen, reg->field, val);
        return;
    }
    struct rtc_time t;
    rtc_current(r, &t);
    rtc_field_set(r, &t, reg->field, val);
    rtc_commit(r, &t);
}

static uint8_t rtc_a_read(struct rtc *r, const struct rtc_reg *reg)
{
    uint8_t v = r->cmos[RTC_REG_A];
    if (!(r->cmos[RTC_REG_B] & RTC_B_SET)) {
        int64_t now = rtc_guest_ns(r);
        int64_t frac = now - rtc_floor_div(now, NSEC_PER_SEC) * NSEC_PER_SEC;
        if (frac >= NSEC_PER_SEC - RTC_UIP_LEAD_NS)
            v |= RTC_A_UIP;
    }
    return v;
}

static void rtc_a_write(struct rtc *r, const struct rtc_reg *reg, uint8_t val)
{
    r->cmos[RTC_REG_A] = (uint8_t)(val & RTC_A_WRITABLE);
}

static uint8_t rtc_ram_read(struct rtc *r, const struct rtc_reg *reg)
{
    return r->cmos[r->index];
}

static void rtc_ram_write(struct rtc *r, const struct rtc_reg *reg, uint8_t val)
{
    r->cmos[r->index] = val;
}

static void rtc_b_write(struct rtc *r, const struct rtc_reg *reg, uint8_t val)
{
    uint8_t old = r->cmos[RTC_REG_B];
    if (val & RTC_B_SET) {
        val &= (uint8_t)~RTC_B_UIE; /* SET clears UIE */
        if (!(old & RTC_B_SET))
            rtc_current(r, &r->frozen); /* freeze what the registers show now */
    }
    r->cmos[RTC_REG_B] = val;
    if ((old & RTC_B_SET) && !(val & RTC_B_SET))
        rtc_commit(r, &r->frozen);
}

static uint8_t rtc_c_read(struct rtc *r, const struct rtc_reg *reg)
{
    uint8_t v = 0;
    if (!(r->cmos[RTC_REG_B] & RTC_B_SET)) {
        int64_t sec = rtc_floor_div(rtc_guest_ns(r), NSEC_PER_SEC);
        if (sec != r->last_c_read_sec)
            v |= RTC_C_UF;
        r->last_c_read_sec = sec;
    }
    return v;
}

static uint8_t rtc_d_read(struct rtc *r, const struct rtc_reg *reg)
{
    return RTC_D_VRT;
}

static void rtc_ro_write(struct rtc *r, const struct rtc_reg *reg, uint8_t val)
{
    LOG_RATELIMITED(LOG_LEVEL_DEBUG, "write 0x%02x to read-only %s ignored", val, reg->name);
}

#define RTC_CLOCK_REG(nm, f) { .name = nm, .read = rtc_clock_read, .write = rtc_clock_write, .field = f }

/* Indexes without a row are plain CMOS RAM (alarms included). */
static const struct rtc_reg rtc_regs[RTC_CMOS_SIZE] = {
    [RTC_SECONDS] = RTC_CLOCK_REG("seconds", RTC_F_SEC),
    [RTC_MINUTES] = RTC_CLOCK_REG("minutes", RTC_F_MIN),
    [RTC_HOURS] = RTC_CLOCK_REG("hours", RTC_F_HOUR),
    [RTC_DAY_OF_WEEK] = RTC_CLOCK_REG("day of week", RTC_F_WDAY),
    [RTC_DAY_OF_MONTH] = RTC_CLOCK_REG("day of month", RTC_F_MDAY),
    [RTC_MONTH] = RTC_CLOCK_REG("month", RTC_F_MON),
    [RTC_YEAR] = RTC_CLOCK_REG("year", RTC_F_YEAR),
    [RTC_CENTURY] = RTC_CLOCK_REG("century", RTC_F_CENTURY),
    [RTC_REG_A] = { .name = "A", .read = rtc_a_read, .write = rtc_a_write },
    [RTC_REG_B] = { .name = "B", .read = rtc_ram_read, .write = rtc_b_write },
    [RTC_REG_C] = { .name = "C", .read = rtc_c_read, .write = rtc_ro_write },
    [RTC_REG_D] = { .name = "D", .read = rtc_d_read, .write = rtc_ro_write },
};

static const struct rtc_reg rtc_ram_reg = { .name = "RAM", .read = rtc_ram_read,
                                            .write = rtc_ram_write };

static const struct rtc_reg *rtc_reg_at(uint8_t index)
{
    return rtc_regs[index].read ? &rtc_regs[index] : &rtc_ram_reg;
}

/* ---- bus callbacks ------------------------------------------------------------------ */

static bool rtc_access_ok(uint64_t offset, unsigned size)
{
    if (size == 1 && offset < RTC_PORTS_LEN)
        return true;
    LOG_RATELIMITED(LOG_LEVEL_WARN, "bad access of size %u at offset 0x%llx", size,
                    (unsigned long long)offset);
    return false;
}

static void rtc_bus_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    struct rtc *r = opaque;
    memset(data, 0xff, size);
    /* The index port is write-only: it reads all-ones. */
    if (!rtc_access_ok(offset, size) || offset == RTC_PORT_INDEX)
        return;
    pthread_mutex_lock(&r->lock);
    const struct rtc_reg *reg = rtc_reg_at(r->index);
    *(uint8_t *)data = reg->read(r, reg);
    pthread_mutex_unlock(&r->lock);
}

static void rtc_bus_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct rtc *r = opaque;
    if (!rtc_access_ok(offset, size))
        return;
    uint8_t val = *(const uint8_t *)data;
    pthread_mutex_lock(&r->lock);
    if (offset == RTC_PORT_INDEX) {
        r->index = (uint8_t)(val & RTC_INDEX_MASK);
    } else {
        const struct rtc_reg *reg = rtc_reg_at(r->index);
        reg->write(r, reg, val);
    }
    pthread_mutex_unlock(&r->lock);
}

const struct bus_ops rtc_bus_ops = { .read = rtc_bus_read, .write = rtc_bus_write };

/* ---- public API ------------------------------------------------------------------------ */

int rtc_create(struct rtc **out)
{
    if (!out)
        return -EINVAL;
    struct rtc *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    int ret = -pthread_mutex_init(&r->lock, NULL);
    if (ret) {
        free(r);
        return ret;
    }
    r->cmos[RTC_REG_A] = (uint8_t)RTC_A_RESET;
    r->cmos[RTC_REG_B] = (uint8_t)RTC_B_RESET;
    r->last_c_read_sec = rtc_floor_div(rtc_guest_ns(r), NSEC_PER_SEC);
    *out = r;
    return 0;
}

void rtc_destroy(struct rtc *rtc)
{
    if (!rtc)
        return;
    pthread_mutex_destroy(&rtc->lock);
    free(rtc);
}
