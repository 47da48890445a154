/* SPDX-License-Identifier: MIT */
/* DMA address spaces: identity bounds checks over RAM regions, and a
 * translator that fragments, relocates and faults. */
#include <errno.h>
#include <stdlib.h>

#include "iommu/dma.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_guest_ram.h"

#define RAM0_GPA 0x100000ULL
#define RAM0_SIZE 0x10000ULL
#define RAM1_GPA (RAM0_GPA + RAM0_SIZE) /* adjacent to RAM0 */
#define RAM1_SIZE 0x4000ULL
#define RAM2_GPA 0x100000000ULL        /* above a hole */
#define RAM2_SIZE 0x2000ULL
#define PAGE 0x1000ULL

static struct fake_ram ram0, ram1, ram2;

static void test_init(void)
{
    struct dma_space as;
    struct dma_ram_region bad[2] = { ram0.region, ram1.region };
    struct dma_ram_region many[DMA_MAX_RAM_REGIONS + 1];

    CHECK_EQ(dma_space_init(&as, &ram0.region, 1, 0x10), 0);
    CHECK_EQ(as.nram, 1);
    CHECK_EQ(as.rid, 0x10);
    dma_space_set_rid(&as, 0x20);
    CHECK_EQ(as.rid, 0x20);

    for (unsigned i = 0; i < DMA_MAX_RAM_REGIONS + 1; i++)
        many[i] = ram0.region;
    CHECK_EQ(dma_space_init(&as, many, DMA_MAX_RAM_REGIONS + 1, 0), -EINVAL);

    bad[1].size = 0;
    CHECK_EQ(dma_space_init(&as, bad, 2, 0), -EINVAL);
    bad[1] = ram1.region;
    bad[1].gpa = UINT64_MAX - 10; /* region itself wraps */
    CHECK_EQ(dma_space_init(&as, bad, 2, 0), -EINVAL);
    bad[1] = ram1.region;
    bad[1].host = NULL;
    CHECK_EQ(dma_space_init(&as, bad, 2, 0), -EINVAL);
}

static void test_identity_bounds(void)
{
    struct dma_space as;
    uint64_t mapped = 0;
    int err = 0;
    uint8_t *p;
    uint8_t buf[64];

    CHECK_EQ(dma_space_init(&as, &ram0.region, 1, 0), 0);

    /* inside */
    p = dma_map(&as, RAM0_GPA + 0x100, 0x200, false, &mapped, &err);
    CHECK(p == ram0.region.host + 0x100);
    CHECK_EQ(mapped, 0x200);
    CHECK_EQ(err, 0);

    /* first and last byte */
    p = dma_map(&as, RAM0_GPA, 1, true, &mapped, &err);
    CHECK(p == ram0.region.host);
    CHECK_EQ(mapped, 1);
    p = dma_map(&as, RAM0_GPA + RAM0_SIZE - 1, 1, true, &mapped, &err);
    CHECK(p == ram0.region.host + RAM0_SIZE - 1);
    CHECK_EQ(mapped, 1);
    p = dma_map(&as, RAM0_GPA, RAM0_SIZE, false, &mapped, &err);
    CHECK(p == ram0.region.host);
    CHECK_EQ(mapped, RAM0_SIZE);

    /* just outside on both sides */
    err = 0;
    CHECK(dma_map(&as, RAM0_GPA - 1, 1, false, &mapped, &err) == NULL);
    CHECK_EQ(err, -EFAULT);
    err = 0;
    CHECK(dma_map(&as, RAM0_GPA + RAM0_SIZE, 1, false, &mapped, &err) == NULL);
    CHECK_EQ(err, -EFAULT);

    /* across the end: map gives the prefix, copies fail */
    p = dma_map(&as, RAM0_GPA + RAM0_SIZE - 8, 16, false, &mapped, &err);
    CHECK(p == ram0.region.host + RAM0_SIZE - 8);
    CHECK_EQ(mapped, 8);
    CHECK_EQ(dma_read(&as, RAM0_GPA + RAM0_SIZE - 8, buf, 16), -EFAULT);
    CHECK_EQ(dma_write(&as, RAM0_GPA + RAM0_SIZE - 8, buf, 16), -EFAULT);
    CHECK_EQ(dma_read(&as, RAM0_GPA - 8, buf, 16), -EFAULT);

    /* wrapping iova */
    err = 0;
    CHECK(dma_map(&as, UINT64_MAX - 4, 16, false, &mapped, &err) == NULL);
    CHECK_EQ(err, -EFAULT);
    err = 0;
    CHECK(dma_map(&as, RAM0_GPA, UINT64_MAX, false, &mapped, &err) == NULL);
    CHECK_EQ(err, -EFAULT);
    CHECK_EQ(dma_read(&as, RAM0_GPA + 0x10, buf, UINT64_MAX), -EFAULT);

    /* len 0: map refuses, copies are a no-op */
    err = 0;
    CHECK(dma_map(&as, RAM0_GPA, 0, false, &mapped, &err) == NULL);
    CHECK_EQ(err, -EFAULT);
    CHECK_EQ(dma_read(&as, RAM0_GPA, buf, 0), 0);

    /* copies really move bytes */
    memset(buf, 0xa5, sizeof(buf));
    CHECK_EQ(dma_write(&as, RAM0_GPA + RAM0_SIZE - sizeof(buf), buf, sizeof(buf)), 0);
    CHECK_EQ(ram0.region.host[RAM0_SIZE - 1], 0xa5);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(dma_read(&as, RAM0_GPA + RAM0_SIZE - sizeof(buf), buf, sizeof(buf)), 0);
    CHECK_EQ(buf[0], 0xa5);
    CHECK_EQ(buf[sizeof(buf) - 1], 0xa5);
}

static void test_two_regions(void)
{
    struct dma_ram_region regions[3] = { ram0.region, ram1.region, ram2.region };
    struct dma_space as;
    uint64_t mapped = 0;
    int err = 0;
    uint8_t *p;
    uint8_t buf[32];

    CHECK_EQ(dma_space_init(&as, regions, 3, 0), 0);

    /* spanning the adjacent RAM0/RAM1 boundary: the first region's part */
    p = dma_map(&as, RAM1_GPA - 16, 32, false, &mapped, &err);
    CHECK(p == ram0.region.host + RAM0_SIZE - 16);
    CHECK_EQ(mapped, 16);
    p = dma_map(&as, RAM1_GPA, 32, false, &mapped, &err);
    CHECK(p == ram1.region.host);
    CHECK_EQ(mapped, 32);

    /* a copy across the boundary loops over both regions */
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)i;
    CHECK_EQ(dma_write(&as, RAM1_GPA - 16, buf, sizeof(buf)), 0);
    CHECK_EQ(ram0.region.host[RAM0_SIZE - 1], 15);
    CHECK_EQ(ram1.region.host[0], 16);
    CHECK_EQ(ram1.region.host[15], 31);

    /* the high region, and the hole between */
    p = dma_map(&as, RAM2_GPA + 0x10, 0x10, true, &mapped, &err);
    CHECK(p == ram2.region.host + 0x10);
    err = 0;
    CHECK(dma_map(&as, RAM1_GPA + RAM1_SIZE, 1, false, &mapped, &err) == NULL);
    CHECK_EQ(err, -EFAULT);
    CHECK_EQ(dma_read(&as, RAM1_GPA + RAM1_SIZE - 4, buf, 8), -EFAULT);
    CHECK_EQ(dma_read(&as, RAM2_GPA + RAM2_SIZE - 4, buf, 8), -EFAULT);
}

/* ---- translators ------------------------------------------------------------ */

/* IOVA page n maps to RAM0 page (npages - 1 - n): contiguous in IOVA space,
 * reversed in host memory, so every page is a separate fragment. IOVAs at or
 * beyond `limit` fault: -EPERM for writes in the "read-only" page, -EFAULT
 * otherwise. Also maps one page outside RAM to prove the RAM check follows
 * translation. */
#define TR_IOVA_BASE 0x40000000ULL
#define TR_PAGES (RAM0_SIZE / PAGE)
#define TR_RO_IOVA (TR_IOVA_BASE + TR_PAGES * PAGE)
#define TR_NOT_RAM_IOVA (TR_RO_IOVA + PAGE)

struct fake_tr {
    unsigned calls;
    uint16_t last_rid;
    bool last_write;
};

static int reverse_translate(void *opaque, uint16_t rid, uint64_t iova, bool write,
                             uint64_t *gpa, uint64_t *len)
{
    struct fake_tr *f = opaque;
    uint64_t page, off = iova % PAGE;

    f->calls++;
    f->last_rid = rid;
    f->last_write = write;
    if (iova >= TR_IOVA_BASE && iova < TR_RO_IOVA) {
        page = (iova - TR_IOVA_BASE) / PAGE;
        *gpa = RAM0_GPA + (TR_PAGES - 1 - page) * PAGE + off;
        *len = PAGE - off;
        return 0;
    }
    if (iova >= TR_RO_IOVA && iova < TR_RO_IOVA + PAGE) {
        if (write)
            return -EPERM;
        *gpa = RAM0_GPA + off; /* RAM0 page 0 again, read-only */
        *len = PAGE - off;
        return 0;
    }
    if (iova >= TR_NOT_RAM_IOVA && iova < TR_NOT_RAM_IOVA + PAGE) {
        *gpa = 0xfee00000ULL + off; /* the MSI window: never RAM */
        *len = PAGE - off;
        return 0;
    }
    return -EFAULT;
}

/* Claims an endless mapping that runs off the end of the address space. */
static int wrapping_translate(void *opaque, uint16_t rid, uint64_t iova, bool write,
                              uint64_t *gpa, uint64_t *len)
{
    *gpa = UINT64_MAX - 0xff;
    *len = UINT64_MAX;
    return 0;
}

static void test_translator(void)
{
    struct fake_tr f = { 0 };
    struct dma_translator tr = { .translate = reverse_translate, .opaque = &f };
    struct dma_space as;
    uint64_t mapped = 0;
    int err = 0;
    uint8_t *p;
    uint8_t *buf = malloc(3 * PAGE);

    CHECK(buf != NULL);
    if (!buf)
        return;
    CHECK_EQ(dma_space_init(&as, &ram0.region, 1, 0x0108), 0);
    dma_space_set_translator(&as, &tr);

    /* identity addresses no longer work */
    err = 0;
    CHECK(dma_map(&as, RAM0_GPA, 4, false, &mapped, &err) == NULL);
    CHECK_EQ(err, -EFAULT);
    CHECK_EQ(f.last_rid, 0x0108);

    /* a map is clamped to the translation's fragment */
    p = dma_map(&as, TR_IOVA_BASE + 0x10, 3 * PAGE, true, &mapped, &err);
    CHECK(p == ram0.region.host + (TR_PAGES - 1) * PAGE + 0x10);
    CHECK_EQ(mapped, PAGE - 0x10);
    CHECK(f.last_write);

    /* a read across three pages loops over three fragments */
    for (unsigned pg = 0; pg < 3; pg++)
        memset(ram0.region.host + (TR_PAGES - 1 - pg) * PAGE, 0x10 + pg, PAGE);
    f.calls = 0;
    CHECK_EQ(dma_read(&as, TR_IOVA_BASE + PAGE / 2, buf, 2 * PAGE), 0);
    CHECK_EQ(f.calls, 3);
    CHECK_EQ(buf[0], 0x10);
    CHECK_EQ(buf[PAGE / 2 - 1], 0x10);
    CHECK_EQ(buf[PAGE / 2], 0x11);
    CHECK_EQ(buf[PAGE / 2 + PAGE], 0x12);
    CHECK_EQ(buf[2 * PAGE - 1], 0x12);
    CHECK(!f.last_write);

    /* and a write the same way */
    memset(buf, 0x77, 2 * PAGE);
    CHECK_EQ(dma_write(&as, TR_IOVA_BASE + PAGE - 1, buf, 2), 0);
    CHECK_EQ(ram0.region.host[(TR_PAGES - 1) * PAGE + PAGE - 1], 0x77);
    CHECK_EQ(ram0.region.host[(TR_PAGES - 2) * PAGE], 0x77);

    /* translator faults pass through unchanged */
    err = 0;
    CHECK(dma_map(&as, TR_RO_IOVA, 4, true, &mapped, &err) == NULL);
    CHECK_EQ(err, -EPERM);
    CHECK_EQ(dma_write(&as, TR_RO_IOVA, buf, 4), -EPERM);
    CHECK_EQ(dma_read(&as, TR_RO_IOVA, buf, 4), 0);
    CHECK_EQ(dma_read(&as, 0x10, buf, 4), -EFAULT);
    /* a read running from mapped into unmapped IOVA space fails */
    CHECK_EQ(dma_read(&as, TR_NOT_RAM_IOVA - 8, buf, 16), -EFAULT);

    /* a translation that lands outside RAM is refused */
    err = 0;
    CHECK(dma_map(&as, TR_NOT_RAM_IOVA, 4, false, &mapped, &err) == NULL);
    CHECK_EQ(err, -EFAULT);

    /* a translation whose gpa range would wrap is refused */
    tr.translate = wrapping_translate;
    dma_space_set_translator(&as, &tr);
    err = 0;
    CHECK(dma_map(&as, 0, PAGE, false, &mapped, &err) == NULL);
    CHECK_EQ(err, -EFAULT);

    /* NULL translator: identity again */
    dma_space_set_translator(&as, NULL);
    p = dma_map(&as, RAM0_GPA, 4, false, &mapped, &err);
    CHECK(p == ram0.region.host);
    free(buf);
}

int main(void)
{
    if (fake_ram_init(&ram0, RAM0_GPA, RAM0_SIZE) || fake_ram_init(&ram1, RAM1_GPA, RAM1_SIZE) ||
        fake_ram_init(&ram2, RAM2_GPA, RAM2_SIZE)) {
        fprintf(stderr, "test_dma: cannot allocate fake RAM\n");
        return 1;
    }
    test_init();
    test_identity_bounds();
    test_two_regions();
    test_translator();
    fake_ram_free(&ram0);
    fake_ram_free(&ram1);
    fake_ram_free(&ram2);
    return check_result("test_dma");
}
