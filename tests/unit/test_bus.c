/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>

#include "devices/bus.h"
#include "tests/unit/check.h"

struct fake_dev {
    uint64_t last_offset;
    unsigned last_size;
    unsigned reads, writes;
    uint8_t last_written[8];
};

static void fake_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    struct fake_dev *d = opaque;
    d->reads++;
    d->last_offset = offset;
    d->last_size = size;
    memset(data, 0x5a, size);
}

static void fake_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct fake_dev *d = opaque;
    d->writes++;
    d->last_offset = offset;
    d->last_size = size;
    memcpy(d->last_written, data, size);
}

static const struct bus_ops fake_ops = {.read = fake_read, .write = fake_write};

static void test_register_overlap(void)
{
    struct bus bus;
    struct fake_dev a = {0}, b = {0};
    CHECK_EQ(bus_init(&bus, "test"), 0);
    CHECK_EQ(bus_register(&bus, 0x100, 0x10, &fake_ops, &a, BUS_SIZE_ANY, false, "a"), 0);
    /* any overlap is refused: inside, straddling the start, straddling the end, enclosing */
    CHECK_EQ(bus_register(&bus, 0x108, 1, &fake_ops, &b, BUS_SIZE_ANY, false, "b"), -EEXIST);
    CHECK_EQ(bus_register(&bus, 0xff, 2, &fake_ops, &b, BUS_SIZE_ANY, false, "b"), -EEXIST);
    CHECK_EQ(bus_register(&bus, 0x10f, 2, &fake_ops, &b, BUS_SIZE_ANY, false, "b"), -EEXIST);
    CHECK_EQ(bus_register(&bus, 0x0, 0x1000, &fake_ops, &b, BUS_SIZE_ANY, false, "b"), -EEXIST);
    /* adjacent ranges are fine */
    CHECK_EQ(bus_register(&bus, 0xf0, 0x10, &fake_ops, &b, BUS_SIZE_ANY, false, "b"), 0);
    CHECK_EQ(bus_register(&bus, 0x110, 0x10, &fake_ops, &b, BUS_SIZE_ANY, false, "c"), 0);
    /* bad arguments */
    CHECK_EQ(bus_register(&bus, 0x200, 0, &fake_ops, &b, BUS_SIZE_ANY, false, "z"), -EINVAL);
    CHECK_EQ(bus_register(&bus, UINT64_MAX, 2, &fake_ops, &b, BUS_SIZE_ANY, false, "w"), -EINVAL);
    CHECK_EQ(bus_register(&bus, 0x300, 4, &fake_ops, &b, 0, false, "s"), -EINVAL);
    CHECK_EQ(bus_unregister(&bus, 0x100), 0);
    CHECK_EQ(bus_unregister(&bus, 0x100), -ENOENT);
    CHECK_EQ(bus_register(&bus, 0x108, 1, &fake_ops, &b, BUS_SIZE_ANY, false, "b"), 0);
    bus_destroy(&bus);
}

static void test_top_of_address_space(void)
{
    struct bus bus;
    struct fake_dev d = {0};
    uint8_t buf[8];
    CHECK_EQ(bus_init(&bus, "test"), 0);
    /* a region ending exactly at 2^64 - 1 does not overflow */
    CHECK_EQ(bus_register(&bus, UINT64_MAX - 0xfff, 0x1000, &fake_ops, &d, BUS_SIZE_ANY, false, "top"), 0);
    CHECK(bus_read(&bus, UINT64_MAX - 7, buf, 8));
    CHECK_EQ(d.last_offset, 0xff8);
    CHECK(bus_read(&bus, UINT64_MAX, buf, 1));
    CHECK_EQ(d.last_offset, 0xfff);
    /* an access wrapping past the top is not handled */
    CHECK(!bus_read(&bus, UINT64_MAX - 1, buf, 4));
    CHECK_EQ(buf[0], 0xff);
    bus_destroy(&bus);
}

static void test_dispatch(void)
{
    struct bus bus;
    struct fake_dev d = {0};
    uint8_t buf[8];
    uint32_t v = 0x12345678;
    CHECK_EQ(bus_init(&bus, "test"), 0);
    CHECK_EQ(bus_register(&bus, 0x1000, 0x100, &fake_ops, &d, BUS_SIZE_4, true, "dev"), 0);
    CHECK(bus_write(&bus, 0x1010, &v, 4));
    CHECK_EQ(d.writes, 1);
    CHECK_EQ(d.last_offset, 0x10);
    CHECK_EQ(d.last_written[0], 0x78);
    CHECK(bus_read(&bus, 0x10fc, buf, 4));
    CHECK_EQ(buf[3], 0x5a);
    /* undeclared size, misaligned, straddling the end, unowned: all-ones, not dispatched */
    unsigned reads = d.reads;
    CHECK(!bus_read(&bus, 0x1010, buf, 2));
    CHECK_EQ(buf[0], 0xff);
    CHECK_EQ(buf[1], 0xff);
    CHECK(!bus_read(&bus, 0x1012, buf, 4));
    CHECK(!bus_read(&bus, 0x10fe, buf, 4));
    CHECK(!bus_read(&bus, 0x2000, buf, 8));
    CHECK_EQ(buf[7], 0xff);
    CHECK(!bus_write(&bus, 0x1010, &v, 2));
    CHECK(!bus_read(&bus, 0x1010, buf, 3)); /* not a valid access size at all */
    CHECK_EQ(d.reads, reads);
    CHECK_EQ(d.writes, 1);
    bus_destroy(&bus);
}

static void test_many_regions(void)
{
    struct bus bus;
    struct fake_dev d = {0};
    uint8_t buf[1];
    CHECK_EQ(bus_init(&bus, "test"), 0);
    /* insert out of order so the table must stay sorted */
    for (unsigned i = 0; i < 100; i++) {
        uint64_t base = ((i * 37) % 100) * 0x10;
        CHECK_EQ(bus_register(&bus, base, 0x8, &fake_ops, &d, BUS_SIZE_1, false, "r"), 0);
    }
    for (unsigned i = 0; i < 100; i++) {
        CHECK(bus_read(&bus, i * 0x10 + 7, buf, 1));
        CHECK(!bus_read(&bus, i * 0x10 + 8, buf, 1));
    }
    bus_destroy(&bus);
}

int main(void)
{
    test_register_overlap();
    test_top_of_address_space();
    test_dispatch();
    test_many_regions();
    return check_result("test_bus");
}
